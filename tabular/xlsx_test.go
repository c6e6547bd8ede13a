package tabular

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

func TestXLSXSheets(t *testing.T) {
	data := readTestdata(t, "title.xlsx")
	res := readAll(t, data, Options{Format: XLSX, Sheet: "说明"})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if want := []string{"字段", "说明"}; !slices.Equal(res.header, want) || res.headerRow != 1 {
		t.Errorf("header %q on row %d, want %q on row 1", res.header, res.headerRow, want)
	}
	if want := [][]string{{"成立日期", "营业执照上的成立日期"}}; !slices.EqualFunc(res.rows, want, slices.Equal) {
		t.Errorf("rows = %q, want %q", res.rows, want)
	}

	_, err := Open(bytes.NewReader(data), int64(len(data)), Options{Format: XLSX, Sheet: "Sheet1"})
	if cityhub.ErrorCode(err) != cityhub.EINVALID || !strings.Contains(err.Error(), "企业名录、说明") {
		t.Errorf("missing sheet: err = %v, want EINVALID naming the sheets", err)
	}

	// Without items, the title row (one cell) is still passed over.
	res = readAll(t, data, Options{Format: XLSX})
	if res.err != nil || res.headerRow != 2 {
		t.Errorf("without items: header row %d, %v; want 2", res.headerRow, res.err)
	}
	// A header row given.
	res = readAll(t, data, Options{Format: XLSX, HeaderRow: 1})
	if res.err != nil || !slices.Equal(res.header, []string{"宁波市市场主体名录（2026年1月）"}) || len(res.rows) != 6 {
		t.Errorf("header row 1: header %q, %d rows, %v", res.header, len(res.rows), res.err)
	}
	if len(res.problems) != 6 || res.problems[0].Kind != KindExtraValues {
		t.Errorf("header row 1: problems %v, want 6 of extra values (row 2 and 5 rows below)", res.problems)
	}
}

func TestXLSXFirstVisibleSheet(t *testing.T) {
	f := excelize.NewFile()
	must(f.SetCellValue("Sheet1", "A1", "hidden"))
	idx, err := f.NewSheet("数据")
	must(err)
	f.SetActiveSheet(idx) // the selected sheet cannot be hidden
	must(f.SetSheetRow("数据", "A1", &[]any{"姓名", "年龄"}))
	must(f.SetSheetRow("数据", "A3", &[]any{"张三", 30}))
	must(f.SetSheetRow("数据", "B5", &[]any{"", "多余"}))
	must(f.SetSheetVisible("Sheet1", false))
	var buf bytes.Buffer
	_, err = f.WriteTo(&buf)
	must(err)
	res := readAll(t, buf.Bytes(), Options{Format: XLSX})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !slices.Equal(res.header, []string{"姓名", "年龄"}) || !slices.Equal(res.lines, []int{3, 5}) {
		t.Errorf("header %q, lines %v", res.header, res.lines)
	}
	if len(res.problems) != 1 || res.problems[0].Row != 5 || res.problems[0].Kind != KindExtraValues {
		t.Errorf("problems = %v, want extra values on row 5", res.problems)
	}
}

func TestXLSXValues(t *testing.T) {
	f := excelize.NewFile()
	header := []any{"格式", "值"}
	must(f.SetSheetRow("Sheet1", "A1", &header))
	when := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		value  any
		numFmt int
		custom string
		want   string
	}{
		{"general number", 1234.5, 0, "", "1234.5"},
		{"float noise", 0.1 + 0.2, 0, "", "0.3"},
		{"mobile as number", 13805741234, 0, "", "13805741234"},
		{"text", "0574-87654321", 0, "", "0574-87654321"},
		{"thousands", 1234567.891, 4, "", "1,234,567.89"},
		{"percent", 0.125, 10, "", "12.50%"},
		{"zero padded", 1234, 0, "000000", "001234"},
		{"built-in short date", when, 14, "", "2026-01-02"},
		{"built-in date-time", when, 22, "", "2026-01-02 15:04:05"},
		{"built-in time", when, 21, "", "15:04:05"},
		{"Chinese date 31", when, 31, "", "2026-01-02"},
		{"Chinese date 57", when, 57, "", "2026-01-02"},
		{"custom Chinese date", when, 0, `yyyy"年"m"月"d"日"`, "2026-01-02"},
		{"custom slashes", when, 0, "yyyy/m/d", "2026-01-02"},
		{"custom date-time", when, 0, "yyyy-mm-dd hh:mm", "2026-01-02 15:04:05"},
		{"custom with locale", when, 0, "[$-804]yyyy年m月d日 dddd", "2026-01-02"},
		{"duration stays", 1.5, 0, "[h]:mm:ss", "36:00:00"},
		{"date text stays text", "2026/1/2", 0, "", "2026/1/2"},
		{"boolean", true, 0, "", "TRUE"},
	}
	for i, tt := range tests {
		row := i + 2
		must(f.SetCellValue("Sheet1", cellName(1, row), tt.name))
		cell := cellName(2, row)
		must(f.SetCellValue("Sheet1", cell, tt.value))
		if tt.numFmt != 0 || tt.custom != "" {
			st := &excelize.Style{NumFmt: tt.numFmt}
			if tt.custom != "" {
				st.CustomNumFmt = &tt.custom
			}
			id, err := f.NewStyle(st)
			must(err)
			must(f.SetCellStyle("Sheet1", cell, cell, id))
		}
	}
	var buf bytes.Buffer
	_, err := f.WriteTo(&buf)
	must(err)
	res := readAll(t, buf.Bytes(), Options{Format: XLSX})
	if res.err != nil {
		t.Fatal(res.err)
	}
	for i, tt := range tests {
		if i >= len(res.rows) {
			t.Fatalf("only %d rows", len(res.rows))
		}
		if got := res.rows[i][1]; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func cellName(col, row int) string {
	name, err := excelize.CoordinatesToCellName(col, row)
	must(err)
	return name
}

func TestFormatKind(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"General", notDate},
		{"0.00", notDate},
		{"#,##0.00_);[Red](#,##0.00)", notDate},
		{"0.00E+00", notDate},
		{"@", notDate},
		{`"¥"#,##0`, notDate},
		{"000000", notDate},
		{"yyyy-mm-dd", dateOnly},
		{`yyyy"年"m"月"d"日"`, dateOnly},
		{"m/d/yy", dateOnly},
		{"mmm-yy", dateOnly},
		{"mmmm", dateOnly},
		{"[$-F800]dddd, mmmm dd, yyyy", dateOnly},
		{"yyyy/m/d h:mm", dateTime},
		{"yyyy-mm-dd hh:mm:ss.000", dateTime},
		{"h:mm AM/PM", timeOnly},
		{"hh:mm:ss", timeOnly},
		{"mm:ss.0", timeOnly},
		{"[h]:mm:ss", notDate},
		{"[mm]:ss", notDate},
		{`"Date: "0`, notDate},
		{"yyyy-mm-dd;@", dateOnly},
		{`上午/下午h"时"mm"分"`, timeOnly},
	}
	for _, tt := range tests {
		if got := formatKind(tt.code); got != tt.want {
			t.Errorf("formatKind(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestXLSXNotXLSX(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"xls", append(slices.Clone(oleMagic), make([]byte, 600)...), ".xls"},
		{"text", []byte("a,b\n1,2\n"), "not an XLSX"},
		{"empty", nil, "empty"},
		{"zip without a workbook", zipOf(t, "hello.txt"), "not an Excel workbook"},
		{"zip bomb", readTestdata(t, "title.xlsx"), "unpacks to more than 4096 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Format: XLSX}
			if tt.name == "zip bomb" {
				opts.MaxUnzipBytes = 4 << 10
			}
			_, err := Open(bytes.NewReader(tt.data), int64(len(tt.data)), opts)
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a ParseError saying %q", err, tt.want)
			}
		})
	}
}

func TestXLSXCleansUp(t *testing.T) {
	dir := t.TempDir()
	data := readTestdata(t, "title.xlsx")
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Format: XLSX, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left := dirEntries(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// And after a failed open.
	bad := readTestdata(t, "truncated.xlsx")
	if _, err := Open(bytes.NewReader(bad), -1, Options{Format: XLSX, TempDir: dir}); err == nil {
		t.Fatal("no error")
	}
	if left := dirEntries(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// writeSSTWorkbook writes a minimal workbook as Excel does: every string in
// the shared strings table; rows of 3 distinct strings and 2 numbers.
func writeSSTWorkbook(path string, rows int) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	put := func(name, s string) {
		w, _ := zw.Create(name)
		io.WriteString(w, s)
	}
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	put("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	put("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`)
	w, _ := zw.Create("xl/worksheets/sheet1.xml")
	bw := bufio.NewWriter(w)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	fmt.Fprintf(bw, `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>`)
	for i := range rows {
		r := i + 2
		s := 5 + 3*i
		fmt.Fprintf(bw, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c><c r="D%d"><v>%d</v></c><c r="E%d"><v>%d.5</v></c></row>`, r, r, s, r, s+1, r, s+2, r, 13805741234+i, r, i)
	}
	bw.WriteString(`</sheetData></worksheet>`)
	bw.Flush()
	w, _ = zw.Create("xl/sharedStrings.xml")
	bw = bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, 5+3*rows, 5+3*rows)
	for _, h := range []string{"姓名", "公民身份号码", "地址", "手机号码", "金额"} {
		fmt.Fprintf(bw, "<si><t>%s</t></si>", h)
	}
	for i := range rows {
		fmt.Fprintf(bw, "<si><t>张三%d</t></si><si><t>3302031985%08d</t></si><si><t>宁波市海曙区中山西路%d号</t></si>", i, i, i)
	}
	bw.WriteString("</sst>")
	bw.Flush()
	return zw.Close()
}

// TestXLSXSharedStrings reads a workbook whose strings are all shared, as
// Excel writes them, with the worksheet and the table in temporary files,
// and refuses one with too many.
func TestXLSXSharedStrings(t *testing.T) {
	defer func(n int64) { unzipXMLLimit = n }(unzipXMLLimit)
	unzipXMLLimit = 4 << 10 // unpack the sheet and the shared strings to files
	dir := t.TempDir()
	path := filepath.Join(dir, "sst.xlsx")
	must(writeSSTWorkbook(path, 2000))
	data, err := os.ReadFile(path)
	must(err)
	tmp := t.TempDir()
	res := readAll(t, data, Options{Format: XLSX, TempDir: tmp})
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []string{"张三1999", "330203198500001999", "宁波市海曙区中山西路1999号", "13805743233", "1999.5"}
	if len(res.rows) != 2000 || !slices.Equal(res.rows[1999], want) || res.lines[1999] != 2001 {
		t.Errorf("%d rows, last %q on row %d; want 2000, %q on row 2001", len(res.rows), res.rows[len(res.rows)-1], res.lines[len(res.lines)-1], want)
	}
	if left := dirEntries(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	_, err = Open(bytes.NewReader(data), int64(len(data)), Options{Format: XLSX, MaxSharedStrings: 5000})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "6005 distinct texts") {
		t.Errorf("err = %v, want a ParseError about 6005 distinct texts", err)
	}
}

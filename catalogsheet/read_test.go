package catalogsheet

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// pad adds the required columns that a test's CSV leaves out, blank.
func pad(text string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		body, nl := strings.CutSuffix(l, "\n")
		switch {
		case i == 0:
			lines[i] = body + ",信息资源分类,信息资源摘要,信息资源格式,共享类型,是否向社会开放,更新周期\n"
		case body != "":
			lines[i] = body + ",,,,,,"
			if nl {
				lines[i] += "\n"
			}
		}
	}
	return strings.Join(lines, "")
}

func TestParseDate(t *testing.T) {
	for _, tt := range []struct {
		in      string
		serials bool
		want    string
		ok      bool
	}{
		{"2026-01-02", false, "2026-01-02", true},
		{"2026/1/2", false, "2026-01-02", true},
		{"2026年1月2日", false, "2026-01-02", true},
		{"2026 年 1 月 2 日", false, "2026-01-02", true},
		{"2026.01.02", false, "2026-01-02", true},
		{"20260102", false, "2026-01-02", true},
		{"2026-01-02 00:00:00", false, "2026-01-02", true},
		{"2026-01-02T00:00:00Z", false, "2026-01-02", true},
		{"", false, "", true},
		{"46024", true, "2026-01-02", true},
		{"46024.75", true, "2026-01-02", true},
		{"1", true, "1900-01-01", true},
		{"61", true, "1900-03-01", true},
		{"46024", false, "", false},
		{"0", true, "", false},
		{"-5", true, "", false},
		{"1e300", true, "", false},
		{"2026-02-29", false, "", false},
		{"2026-13-01", false, "", false},
		{"1/2/2026", false, "", false},
		{"明天", false, "", false},
	} {
		got, ok := parseDate(tt.in, tt.serials, false)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDate(%q, %v) = %q, %v; want %q, %v", tt.in, tt.serials, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := parseDate("44927", true, true); got != "2027-01-02" {
		t.Errorf("1904 serial 44927 = %s, want 2027-01-02", got)
	}
}

func TestLookupTerm(t *testing.T) {
	for _, tt := range []struct {
		terms  []cityhub.Term
		in     string
		suffix string
		want   string
	}{
		{cityhub.ItemTypes, "C", "", "C"},
		{cityhub.ItemTypes, "c", "", "C"},
		{cityhub.ItemTypes, "字符型", "", "C"},
		{cityhub.ItemTypes, "character", "", "C"},
		{cityhub.ItemTypes, "C 字符型", "", "C"},
		{cityhub.ItemTypes, "字符型(C)", "", "C"},
		{cityhub.ItemTypes, "字符型（C）", "", "C"},
		{cityhub.ItemTypes, "C 数值型", "", ""},
		{cityhub.ItemTypes, "字符串", "", ""},
		{cityhub.ShareTypes, "有条件", "共享", cityhub.Conditional},
		{cityhub.ShareTypes, "Unconditional", "共享", cityhub.Unconditional},
		{cityhub.ShareTypes, " 不予共享 ", "共享", cityhub.NotShared},
		{cityhub.Formats, "数据库", "", cityhub.FormatDatabase},
		{cityhub.Formats, "SHEET", "", cityhub.FormatSheet},
		{cityhub.UpdateCycles, "每季度", "", cityhub.CycleQuarterly},
		{cityhub.Statuses, "已发布", "", cityhub.StatusPublished},
		{cityhub.Statuses, "", "", ""},
	} {
		got, _ := lookupTerm(tt.terms, tt.in, tt.suffix)
		if got.Code != tt.want {
			t.Errorf("lookupTerm(%q) = %q, want %q", tt.in, got.Code, tt.want)
		}
	}
}

func TestSmallParsers(t *testing.T) {
	for in, want := range map[string]bool{"是": true, "Y": true, "yes": true, "TRUE": true, "1": true, "√": true,
		"否": false, "n": false, "False": false, "0": false, "": false, "×": false} {
		if got, ok := parseBool(in); !ok || got != want {
			t.Errorf("parseBool(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"必须", "2", "yes!"} {
		if _, ok := parseBool(in); ok {
			t.Errorf("parseBool(%q) ok, want not", in)
		}
	}
	for in, want := range map[string]int{"": 0, "18": 18, " 20 ": 20, "20.0": 20, "-1": -1} {
		if got, ok := parseLength(in); !ok || got != want {
			t.Errorf("parseLength(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"十八", "18.5", "1e20", "NaN", "Inf"} {
		if _, ok := parseLength(in); ok {
			t.Errorf("parseLength(%q) ok, want not", in)
		}
	}
	for in, want := range map[string]string{"101": "101", "101 人口": "101", "101人口": "101", " 2 主题": "2", "人口": "", "": ""} {
		if got, _ := leadingDigits(in); got != want {
			t.Errorf("leadingDigits(%q) = %q, want %q", in, got, want)
		}
	}
	got := splitList("a; b；c,d，e、f\ng\r\nh;;a")
	if want := []string{"a", "b", "c", "d", "e", "f", "g", "h"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("splitList = %q, want %q", got, want)
	}
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := columnName(i); got != want {
			t.Errorf("columnName(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	for in, want := range map[string]int{
		"信息资源名称": colName, " 信息资源 名称\n": colName, "*信息资源名称": colName, "信息资源名称（必填）": colName,
		"＊信息资源名称(必填)": colName, "Resource Name": colName, "RESOURCE  NAME": colName, "resource_name": colName,
		"name": colName, "Item Name": colItemName, "item_name": colItemName, "信息项名称": colItemName,
		"code": colCode, "item code": colItemCode, "开放类型": colOpenType, "是否向社会开放": colOpenType,
		"provider_id": colProvider, "Provider Code": colProviderCode, "share_basis": colShareBasis,
		"序号": colIgnored, "No.": colIgnored, "": colBlank, "  ": colBlank, "备注": colUnknown, "共享类别": colUnknown,
	} {
		if got := lookupHeader(in); got != want {
			t.Errorf("lookupHeader(%q) = %d, want %d", in, got, want)
		}
	}
	// Every header, English header and field name is unambiguous.
	seen := map[string]int{}
	for k, c := range columns {
		for _, h := range append([]string{c.Header, c.English}, c.aliases...) {
			if other, ok := seen[normHeader(h)]; ok && other != k {
				t.Errorf("header %q names columns %d and %d", h, other, k)
			}
			seen[normHeader(h)] = k
			if got := lookupHeader(h); got != k {
				t.Errorf("lookupHeader(%q) = %d, want %d", h, got, k)
			}
		}
	}
}

func TestColumnOf(t *testing.T) {
	for field, want := range map[string]string{
		"name": "信息资源名称", "code": "信息资源代码", "classification_code": "信息资源分类", "provider_id": "信息资源提供方",
		"provider_name": "信息资源提供方", "provider_code": "提供方代码", "abstract": "信息资源摘要", "format": "信息资源格式",
		"items": "信息项名称", "items[0].name": "信息项名称", "items[3].type": "数据类型", "items[12].code": "信息项英文名",
		"items[1].length": "数据长度", "items[1].description": "信息项描述", "items[1].required": "是否必填",
		"items[1].primary_key": "是否主键", "items[1].sensitivity": "敏感级别", "share_type": "共享类型",
		"share_condition": "共享条件", "share_method": "共享方式", "share_basis": "共享依据", "open_type": "是否向社会开放",
		"open_condition": "开放条件", "open_basis": "开放依据", "update_cycle": "更新周期", "publish_date": "发布日期",
		"related_codes": "关联资源代码", "domain": "开放领域", "tags": "标签", "status": "状态",
		"status_reason": "", "": "", "items[x].type": "", "items[1]": "", "version": "",
	} {
		if got := ColumnOf(field); got != want {
			t.Errorf("ColumnOf(%q) = %q, want %q", field, got, want)
		}
	}
	// Every field the domain's validation names has a column.
	e := &cityhub.CatalogEntry{ShareType: cityhub.Conditional, OpenType: cityhub.Conditional,
		Items: []cityhub.DataItem{{Code: "1x", Length: -1, Sensitivity: "x"}, {Code: "1x"}}, RelatedCodes: []string{"x"}}
	var fe *cityhub.Error
	if err := e.Validate(false); !errors.As(err, &fe) {
		t.Fatalf("validate: %v", err)
	}
	for field := range fe.Fields {
		if ColumnOf(field) == "" {
			t.Errorf("field %q of Validate has no column", field)
		}
	}
}

// Locate puts store-side problems at the item's own row and the file's
// own header, also when an entry's rows are not together.
func TestLocate(t *testing.T) {
	csv := "Classification,Resource Name,Resource Code,Provider,Abstract,Format,Item Name,Data Type,Share Type,Share Basis,Open Type,Update Cycle\n" +
		"101,甲,101/000001,宁波市公安局,摘要,数据库,a,C,无条件共享,,不予开放,每月\n" +
		"101,乙,101/000002,宁波市公安局,摘要,数据库,x,C,无条件共享,,不予开放,每月\n" +
		",,101/000001,,,,b,C,有条件共享,,,\n" +
		",,101/000001,,,,c,C,,依据,,\n"
	s, err := DecodeCSV(strings.NewReader(csv), resolver{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 2 {
		t.Fatalf("got %d entries, want 2", len(s.Rows))
	}
	if items := s.Rows[0].Entry.Items; len(items) != 3 || items[2].Name != "c" {
		t.Fatalf("items of the scattered entry: %+v", items)
	}
	wantProblems(t, s.Problems, []Problem{{Row: 4, Column: "Share Type", Reason: "differs from", Entry: 2}})
	for _, tt := range []struct {
		p    cityhub.ImportProblem
		want Problem
	}{
		{cityhub.ImportProblem{Row: 2, Field: "items[2].type", Reason: "bad"}, Problem{Row: 5, Column: "Data Type", Reason: "bad", Entry: 2}},
		{cityhub.ImportProblem{Row: 2, Field: "items[0].name", Reason: "bad"}, Problem{Row: 2, Column: "Item Name", Reason: "bad", Entry: 2}},
		{cityhub.ImportProblem{Row: 2, Field: "items[9].name", Reason: "bad"}, Problem{Row: 2, Column: "Item Name", Reason: "bad", Entry: 2}},
		{cityhub.ImportProblem{Row: 2, Field: "share_basis", Reason: "bad"}, Problem{Row: 5, Column: "Share Basis", Reason: "bad", Entry: 2}},
		{cityhub.ImportProblem{Row: 2, Field: "name", Reason: "bad"}, Problem{Row: 2, Column: "Resource Name", Reason: "bad", Entry: 2}},
		{cityhub.ImportProblem{Row: 3, Field: "provider_id", Reason: "bad"}, Problem{Row: 3, Column: "Provider", Reason: "bad", Entry: 3}},
		{cityhub.ImportProblem{Row: 3, Field: "domain", Reason: "bad"}, Problem{Row: 3, Column: "开放领域", Reason: "bad", Entry: 3}},
		{cityhub.ImportProblem{Row: 3, Field: "status_reason", Reason: "bad"}, Problem{Row: 3, Reason: "status_reason: bad", Entry: 3}},
		{cityhub.ImportProblem{Row: 3, Field: "", Reason: "bad"}, Problem{Row: 3, Reason: "bad", Entry: 3}},
		{cityhub.ImportProblem{Row: 99, Field: "name", Reason: "bad"}, Problem{Row: 99, Column: "Resource Name", Reason: "bad", Entry: 99}},
	} {
		if got := s.Locate(tt.p); got != tt.want {
			t.Errorf("Locate(%+v) = %+v, want %+v", tt.p, got, tt.want)
		}
	}
}

// Rows group into entries by code, else by name and provider, else by a
// blank name.
func TestGrouping(t *testing.T) {
	head := "信息资源名称,信息资源代码,信息资源提供方,信息项名称,数据类型\n"
	for _, tt := range []struct {
		name string
		rows string
		want []string // entry name: item names
	}{
		{"blank continuation", "甲,,宁波市公安局,a,C\n,,,b,C\n乙,,宁波市公安局,c,C\n", []string{"甲:a,b", "乙:c"}},
		{"repeated name", "甲,,宁波市公安局,a,C\n甲,,宁波市公安局,b,C\n甲,,宁波市交通运输局,c,C\n", []string{"甲:a,b", "甲:c"}},
		{"same name, new code", "甲,1/1,宁波市公安局,a,C\n甲,1/2,宁波市公安局,b,C\n", []string{"甲:a", "甲:b"}},
		{"code on a later row", "甲,,宁波市公安局,a,C\n,1/1,,b,C\n", []string{"甲:a,b"}},
		{"scattered code", "甲,1/1,宁波市公安局,a,C\n乙,1/2,宁波市公安局,b,C\n,1/1,,c,C\n", []string{"甲:a,c", "乙:b"}},
		{"blank rows between", "甲,,宁波市公安局,a,C\n,,,,\n\n,,,b,C\n", []string{"甲:a,b"}},
		{"entry row without item", "甲,,宁波市公安局,,\n,,,a,C\n", []string{"甲:a"}},
		{"first row blank name", ",,宁波市公安局,a,C\n", []string{":a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems, err := ReadCSV(strings.NewReader(pad(head+tt.rows)), resolver{})
			if err != nil {
				t.Fatal(err)
			}
			noProblems(t, problems)
			var got []string
			for _, r := range rows {
				var items []string
				for _, it := range r.Entry.Items {
					items = append(items, it.Name)
				}
				got = append(got, r.Entry.Name+":"+strings.Join(items, ","))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	// ASCII first, GB18030 only far into the file: still told apart.
	text := pad("Resource Name,Provider,Item Name,Data Type,Item Description\n" +
		strings.Repeat("abc,11330200002600123A,b,C,plain ascii text\n", 500) +
		"abc,,c,C,描述\n")
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	u16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(strings.ReplaceAll(text, ",", "\t"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"utf-8": text, "gb18030": gb, "utf-16 tabbed": u16} {
		rows, problems, err := ReadCSV(strings.NewReader(data), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, problems)
		items := rows[0].Entry.Items
		if len(rows) != 1 || len(items) != 501 || items[500].Description != "描述" {
			t.Errorf("%s: got %d entries, last item %+v", name, len(rows), items[len(items)-1])
		}
	}
	// UTF-8 that turns invalid later is reported, not guessed.
	mixed := pad("信息资源名称,信息资源提供方,信息项名称,数据类型\n甲,宁波市公安局,a,C\n甲,,b\xb2\xe2,C\n")
	_, problems, err := ReadCSV(strings.NewReader(mixed), resolver{})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, problems, []Problem{{Row: 3, Column: "信息项名称", Reason: "not valid UTF-8", Entry: 2}})
}

func TestCSVMalformed(t *testing.T) {
	text := pad("信息资源名称,信息资源提供方,信息项名称,数据类型\n甲,宁波市公安局,a,C\n甲,,b\"c,C\n甲,,d,C\n")
	rows, problems, err := ReadCSV(strings.NewReader(text), resolver{})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, problems, []Problem{{Row: 3, Reason: "not valid CSV (line 3"}})
	if rows != nil {
		t.Errorf("got entries from a file read only in part")
	}
}

type failingReader struct{ n int }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 0 {
		f.n--
		return copy(p, "信息资源名称,信息资源提供方,信息项名称\n"), nil
	}
	return 0, errDisk
}

func TestReadErrorsPassThrough(t *testing.T) {
	if _, _, err := ReadCSV(&failingReader{n: 1}, resolver{}); !errors.Is(err, errDisk) {
		t.Errorf("csv: got %v, want the reader's error", err)
	}
	if _, _, err := ReadXLSX(&failingReader{}, "", resolver{}); !errors.Is(err, errDisk) {
		t.Errorf("xlsx: got %v, want the reader's error", err)
	}
}

func TestNotXLSX(t *testing.T) {
	for name, data := range map[string]string{
		"empty":    "",
		"csv":      "信息资源名称,信息项名称\n",
		"xls":      "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 600),
		"zip only": "PK\x05\x06" + strings.Repeat("\x00", 18),
		"junk zip": "PK\x03\x04 junk",
	} {
		_, _, err := ReadXLSX(strings.NewReader(data), "", resolver{})
		if cityhub.ErrorCode(err) != cityhub.EINVALID || !strings.Contains(cityhub.ErrorMessage(err), "not a readable XLSX file") {
			t.Errorf("%s: got %v, want an invalid-file error", name, err)
		}
	}
}

func TestNoHeader(t *testing.T) {
	for name, text := range map[string]string{
		"empty":       "",
		"data only":   "甲,宁波市公安局,a,C\n",
		"header late": strings.Repeat("标题\n", 20) + "信息资源名称,信息资源提供方,信息项名称\n",
	} {
		rows, problems, err := ReadCSV(strings.NewReader(text), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		if rows != nil || len(problems) != 1 || problems[0].Row != 0 || !strings.Contains(problems[0].Reason, "no header row") {
			t.Errorf("%s: got %v, %v; want one no-header problem", name, rows, problems)
		}
	}
}

// Without a resolver, providers and domains stay as written.
func TestNilResolver(t *testing.T) {
	text := header + "\n101,甲,,某局,,摘要,数据库,a,,C,,,,,,无条件共享,,,,不予开放,,,每月,,,某领域,,\n"
	rows, problems, err := ReadCSV(strings.NewReader(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	noProblems(t, problems)
	if e := rows[0].Entry; e.ProviderID != 0 || e.ProviderName != "某局" || e.Domain != "某领域" {
		t.Errorf("got provider %d %q, domain %q", e.ProviderID, e.ProviderName, e.Domain)
	}
}

func TestMaxProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("信息资源名称,信息资源提供方,信息项名称,数据类型\n")
	for i := range 2 * MaxProblems {
		fmt.Fprintf(&b, "甲%d,宁波市公安局,a,X\n", i)
	}
	rows, problems, err := ReadCSV(strings.NewReader(pad(b.String())), resolver{})
	if err != nil {
		t.Fatal(err)
	}
	if rows != nil || len(problems) != MaxProblems+1 || !strings.Contains(problems[MaxProblems].Reason, "reading stopped") {
		t.Errorf("got %d rows, %d problems ending in %s; want none and %d", len(rows), len(problems), problems[len(problems)-1], MaxProblems+1)
	}
}

// Problems print with their place.
func TestProblemString(t *testing.T) {
	for p, want := range map[Problem]string{
		{Row: 3, Column: "数据类型", Reason: "x"}: "row 3, 数据类型: x",
		{Row: 3, Reason: "x"}:                 "row 3: x",
		{Column: "共享类型", Reason: "x"}:         "共享类型: x",
		{Reason: "x"}:                         "x",
	} {
		if got := p.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

package catalogsheet

import (
	"bytes"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

func TestRoundTripXLSX(t *testing.T) {
	for _, opts := range []WriteOptions{
		{},
		{Merge: true},
		{Title: "宁波市政务信息资源目录（2026年）", Sheet: "目录", Merge: true},
		{Title: "宁波市政务信息资源目录（2026年）"},
	} {
		t.Run(opts.Title+opts.Sheet, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteXLSX(&buf, sampleEntries(), opts); err != nil {
				t.Fatal(err)
			}
			rows, problems, err := ReadXLSX(bytes.NewReader(buf.Bytes()), opts.Sheet, resolver{})
			if err != nil {
				t.Fatal(err)
			}
			noProblems(t, problems)
			sameEntries(t, rows, sampleEntries())
			first := 2
			if opts.Title != "" {
				first = 3
			}
			wantRows := []int{first, first + 4, first + 8, first + 9}
			for i, r := range rows {
				if r.Row != wantRows[i] {
					t.Errorf("entry %d: row %d, want %d", i, r.Row, wantRows[i])
				}
			}
		})
	}
}

// Entries without codes group by name and provider, and in merged form by
// their blank continuation rows.
func TestRoundTripWithoutCodes(t *testing.T) {
	want := append(append([]*cityhub.CatalogEntry{}, bomWant...), titleWant[1])
	for _, merge := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteXLSX(&buf, want, WriteOptions{Merge: merge}); err != nil {
			t.Fatal(err)
		}
		rows, problems, err := ReadXLSX(&buf, "", resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, problems)
		sameEntries(t, rows, want)
	}
}

func TestRoundTripCSV(t *testing.T) {
	for _, bom := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, sampleEntries(), bom); err != nil {
			t.Fatal(err)
		}
		if got := bytes.HasPrefix(buf.Bytes(), []byte("\uFEFF")); got != bom {
			t.Errorf("bom %v: file starts with a BOM: %v", bom, got)
		}
		if !bytes.Contains(buf.Bytes(), []byte(`"'=HYPERLINK(""http://x"")"`)) {
			t.Error("a formula was not defused")
		}
		rows, problems, err := ReadCSV(bytes.NewReader(buf.Bytes()), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, problems)
		sameEntries(t, rows, sampleEntries())
		// The abstract's line break stays in its row: rows count as Excel shows them.
		for i, want := range []int{2, 6, 10, 11} {
			if rows[i].Row != want {
				t.Errorf("bom %v, entry %d: row %d, want %d", bom, i, rows[i].Row, want)
			}
		}
	}
}

// A blank template reads back as nothing, without problems.
func TestTemplate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, nil, WriteOptions{Title: "模板"}); err != nil {
		t.Fatal(err)
	}
	s, err := DecodeXLSX(&buf, "", resolver{})
	if err != nil {
		t.Fatal(err)
	}
	noProblems(t, s.Problems)
	if len(s.Rows) != 0 || s.Rows == nil || s.HeaderRow != 2 {
		t.Errorf("got rows %v, header row %d; want none, 2", s.Rows, s.HeaderRow)
	}
}

// The written workbook looks as departments expect: Chinese labels, a
// frozen bold header, drop-down lists, merged cells when asked.
func TestWriteXLSXLooks(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, sampleEntries(), WriteOptions{Title: "宁波市政务信息资源目录（2026年）", Merge: true}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if sheet != DefaultSheet {
		t.Errorf("sheet %q, want %q", sheet, DefaultSheet)
	}
	for cell, want := range map[string]string{
		"A1": "宁波市政务信息资源目录（2026年）", "A2": "信息资源分类", "H2": "信息项名称", "AB2": "状态",
		"B3": "常住人口基本信息", "G3": "数据库", "J3": "字符型", "M3": "是", "O3": "涉密", "P3": "无条件共享",
		"T3": "不予开放", "W3": "每月", "Y3": "101002/000003；101003/000001", "AB3": "已发布",
		"H4": "姓名", "K4": "50", "B7": "市场主体登记信息",
	} {
		if got, _ := f.GetCellValue(sheet, cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("panes %+v, %v; want the header row frozen", panes, err)
	}
	style, _ := f.GetCellStyle(sheet, "A2")
	if s, err := f.GetStyle(style); err != nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("header style %+v, %v; want bold", s, err)
	}
	merged, _ := f.GetMergeCells(sheet)
	if len(merged) < 2 {
		t.Errorf("got %d merged ranges, want the title and the entries' cells", len(merged))
	}
	dvs, _ := f.GetDataValidations(sheet)
	if len(dvs) != 9 {
		t.Errorf("got %d drop-down lists, want 9", len(dvs))
	}
	if w, _ := f.GetColWidth(sheet, "F"); w < 30 {
		t.Errorf("abstract column width %v, want a wide one", w)
	}
}

// Entries with no items still write a row and read back.
func TestEntryWithoutItems(t *testing.T) {
	e := &cityhub.CatalogEntry{ClassificationCode: "101", Name: "空", ProviderName: "宁波市公安局", Format: cityhub.FormatFile,
		ShareType: cityhub.Unconditional, OpenType: cityhub.NotShared, UpdateCycle: cityhub.CycleYearly, ProviderID: 1, Abstract: "x"}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []*cityhub.CatalogEntry{e, nil}, false); err != nil {
		t.Fatal(err)
	}
	rows, problems, err := ReadCSV(&buf, resolver{})
	if err != nil {
		t.Fatal(err)
	}
	noProblems(t, problems)
	sameEntries(t, rows, []*cityhub.CatalogEntry{e})
	if rows[0].Entry.Items == nil {
		t.Error("items nil, want an empty list")
	}
}

package tabular

import (
	"archive/zip"
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/cityhub/cityhub"
)

func TestMap(t *testing.T) {
	items := []cityhub.DataItem{
		{Name: "统一社会信用代码", Code: "credit_code", PrimaryKey: true, Required: true},
		{Name: "企业名称", Code: "name", Required: true},
		{Name: "注册资本(万元)", Code: "reg_capital"},
		{Name: "成立日期", Code: "established"},
		{Name: "联系电话", Code: "phone"},
		{Name: "备注", Code: "remark"},
	}
	tests := []struct {
		name     string
		header   []string
		explicit map[string]string
		columns  []int
		problems []Problem
	}{
		{
			name:    "names and codes",
			header:  []string{"统一社会信用代码", "name", "注册资本(万元)", "ESTABLISHED"},
			columns: []int{0, 1, 2, 3},
		},
		{
			name:    "spaces, underscores, width, brackets, required marks",
			header:  []string{" 统一社会 信用代码 ", "*企业名称", "注册资本（万元）", "Established", "ＰＨＯＮＥ", "Re_Mark"},
			columns: []int{0, 1, 2, 3, 4, 5},
		},
		{
			name:    "other bracket kinds and codes spelled differently",
			header:  []string{"Credit Code", "企业名称", "注册资本【万元】", "成立日期", "联系电话"},
			columns: []int{0, 1, 2, 3, 4},
		},
		{
			name:    "remark on one side only",
			header:  []string{"统一社会信用代码(18位)", "企业名称（全称）", "注册资本", "成立日期"},
			columns: []int{0, 1, 2, 3},
		},
		{
			name:    "different remarks do not match",
			header:  []string{"统一社会信用代码", "企业名称", "注册资本(万美元)"},
			columns: []int{0, 1, -1},
			problems: []Problem{
				{Column: "注册资本(万美元)", Kind: KindUnknownColumn, Reason: "no data item has this name or code: its values are ignored"},
			},
		},
		{
			name:    "unknown and blank columns",
			header:  []string{"序号", "统一社会信用代码", "", "企业名称"},
			columns: []int{-1, 0, -1, 1},
			problems: []Problem{
				{Column: "序号", Kind: KindUnknownColumn, Reason: "no data item has this name or code: its values are ignored"},
				{Kind: KindUnknownColumn, Reason: "column C has no header: its values are ignored"},
			},
		},
		{
			name:    "required items missing",
			header:  []string{"成立日期"},
			columns: []int{3},
			problems: []Problem{
				{Column: "统一社会信用代码", Kind: KindMissingItem, Reason: "the file has no column for this primary key", Fatal: true},
				{Column: "企业名称", Kind: KindMissingItem, Reason: "the file has no column for this required data item", Fatal: true},
			},
		},
		{
			name:    "two columns for one item",
			header:  []string{"统一社会信用代码", "企业名称", "name"},
			columns: []int{0, 1, -1},
			problems: []Problem{
				{Column: "name", Kind: KindDuplicateColumn, Reason: `columns "企业名称" and "name" both name data item 企业名称`, Fatal: true},
			},
		},
		{
			name:     "explicit mapping",
			header:   []string{"信用代码", "单位名称", "电话", "序号"},
			explicit: map[string]string{"信用代码": "统一社会信用代码", "单位名称": "NAME", "电话 ": "phone", "序号": ""},
			columns:  []int{0, 1, 4, -1},
		},
		{
			name:     "explicit mapping wins over names",
			header:   []string{"统一社会信用代码", "名称", "企业名称"},
			explicit: map[string]string{"名称": "企业名称"},
			columns:  []int{0, 1, -1},
			problems: []Problem{
				{Column: "企业名称", Kind: KindUnknownColumn, Reason: `data item 企业名称 comes from column "名称" by the mapping: this column is ignored`},
			},
		},
		{
			name:     "bad explicit mappings",
			header:   []string{"统一社会信用代码", "企业名称", "电话"},
			explicit: map[string]string{"传真": "phone", "电话": "mobile"},
			columns:  []int{0, 1, -1},
			problems: []Problem{
				{Column: "传真", Kind: KindBadMapping, Reason: `the mapping names this column, but the file has no column "传真"`, Fatal: true},
				{Column: "电话", Kind: KindBadMapping, Reason: `the mapping sends this column to "mobile", which is not a data item of the entry`, Fatal: true},
			},
		},
		{
			name:     "explicit mapping of two columns to one item",
			header:   []string{"统一社会信用代码", "企业名称", "a", "b"},
			explicit: map[string]string{"a": "phone", "b": "联系电话"},
			columns:  []int{0, 1, 4, -1},
			problems: []Problem{
				{Column: "b", Kind: KindDuplicateColumn, Reason: `columns "a" and "b" are both mapped to data item 联系电话`, Fatal: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, problems := Map(tt.header, items, tt.explicit)
			if !slices.Equal(m.Columns, tt.columns) {
				t.Errorf("columns = %v, want %v", m.Columns, tt.columns)
			}
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems = %v\nwant       %v", problems, tt.problems)
			}
			for c, i := range m.Columns {
				if i >= 0 && m.Items[i] != c {
					t.Errorf("Items[%d] = %d, want %d", i, m.Items[i], c)
				}
			}
		})
	}
}

func TestMapRow(t *testing.T) {
	items := []cityhub.DataItem{{Name: "a"}, {Name: "b"}, {Name: "c", Code: "c_code"}}
	m, _ := Map([]string{"c", "x", "a"}, items, nil)
	got := m.Row([]string{"3", "?", "1"}, nil)
	if want := []string{"1", "", "3"}; !slices.Equal(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
	if m.Items[1] != -1 {
		t.Errorf("Items[1] = %d, want -1", m.Items[1])
	}
	for name, want := range map[string]int{"a": 2, "b": -1, "c": 0, "c_code": 0, "x": -1} {
		if got := m.Column(name); got != want {
			t.Errorf("Column(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestAmbiguousItems(t *testing.T) {
	items := []cityhub.DataItem{{Name: "电话(办公)", Code: "office_phone"}, {Name: "电话(手机)", Code: "mobile"}}
	m, problems := Map([]string{"电话", "电话（手机）"}, items, nil)
	if !slices.Equal(m.Columns, []int{-1, 1}) || len(problems) != 1 || problems[0].Reason != "it names several data items: its values are ignored" {
		t.Errorf("columns %v, problems %v", m.Columns, problems)
	}
}

func TestDetectFormat(t *testing.T) {
	xlsx := []byte("PK\x03\x04rest")
	tests := []struct {
		filename, contentType string
		head                  []byte
		want                  Format
		err                   bool
	}{
		{"data.csv", "", []byte("a,b\n"), CSV, false},
		{"DATA.CSV", "", nil, CSV, false},
		{"data.csv", "", []byte("a\tb\n"), CSV, false}, // Open finds the tabs
		{"data.tsv", "", nil, TSV, false},
		{"data.txt", "text/plain", []byte("a\tb\n1\t2\n"), TSV, false},
		{"data.txt", "", []byte("title\na,b\n"), CSV, false},
		{"data.xlsx", "", xlsx, XLSX, false},
		{"data.csv", "", xlsx, XLSX, false},
		{"upload", "application/octet-stream", xlsx, XLSX, false},
		{"data.xlsx", "", []byte("a,b\n"), "", true},
		{"data.xls", "", nil, "", true},
		{"data.csv", "", append(slices.Clone(oleMagic), 0), "", true},
		{"data.ods", "", xlsx, "", true},
		{"data.json", "", []byte(" [{}]"), JSON, false},
		{"data.json", "", []byte("{}\n{}\n"), NDJSON, false},
		{"data.jsonl", "", []byte("{}"), NDJSON, false},
		{"data.ndjson", "", nil, NDJSON, false},
		{"", "application/json; charset=utf-8", []byte("[]"), JSON, false},
		{"", "application/x-ndjson", nil, NDJSON, false},
		{"", "text/csv", nil, CSV, false},
		{"data.csv", "application/vnd.ms-excel", []byte("a,b"), CSV, false},
		{"", "application/vnd.ms-excel", []byte("a,b"), CSV, false},
		{"", "", []byte("\uFEFF[{\"a\":1}]"), JSON, false},
		{"", "", []byte("\uFEFF姓名,年龄\n"), CSV, false},
		{"", "", []byte{0xFF, 0xFE, 'a', 0, '\t', 0}, TSV, false},
		{"", "", []byte("\x00\x01\x02binary"), "", true},
		{"", "", nil, "", true},
	}
	for _, tt := range tests {
		got, err := DetectFormat(tt.filename, tt.contentType, tt.head)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("DetectFormat(%q, %q, %q) = %q, %v; want %q, error %t", tt.filename, tt.contentType, tt.head, got, err, tt.want, tt.err)
		}
		if err != nil && cityhub.ErrorCode(err) != cityhub.EINVALID {
			t.Errorf("error %v is not EINVALID", err)
		}
	}
}

// zipOf returns a zip archive holding empty files of the given names.
func zipOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		if _, err := zw.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

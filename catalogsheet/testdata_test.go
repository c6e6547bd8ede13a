package catalogsheet

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// go test ./catalogsheet -run TestTestdata -update rewrites testdata/.
var update = flag.Bool("update", false, "rewrite the files in testdata/")

const header = "信息资源分类,信息资源名称,信息资源代码,信息资源提供方,提供方代码,信息资源摘要,信息资源格式,信息项名称,信息项英文名,数据类型,数据长度,信息项描述,是否必填,是否主键,敏感级别,共享类型,共享条件,共享方式,共享依据,是否向社会开放,开放条件,开放依据,更新周期,发布日期,关联资源代码,开放领域,标签,状态"

// gb18030CSV is saved as Excel on Chinese Windows saves "CSV": GB18030,
// CRLF, a title row above the header, blank continuation rows.
var gb18030CSV = strings.ReplaceAll(`宁波市政务信息资源目录（2026年）,,,,,,,,,,,,,,,,,,,,,,,,,,,
`+header+`
101 人口,常住人口基本信息,101001/000001,宁波市公安局,11330200002600123A,"全市常住人口的身份、户籍与居住信息，按月汇总。",数据库,公民身份号码,id_no,C,18,"GB 11643, ""18位""",是,是,涉密,无条件共享,,接口,,不予开放,,涉及个人隐私,每月,2026/1/2,101002/000003；101003/000001,,人口、户籍,已发布
,,,,,,,姓名,name,字符型,50,,是,否,敏感,,,,,,,,,,,,,
,,,,,,,"出生
日期",birth_date,D,,,否,否,内部,,,,,,,,,,,,,
202001 市场主体,市场主体登记信息,202001/000007,宁波市市场监督管理局,,企业、个体工商户登记信息,电子表格,统一社会信用代码,credit_code,C,18,,是,是,公开,有条件共享,仅用于监管执法,库表交换,《市场主体登记管理条例》,有条件开放,申请后开放,宁波市公共数据开放管理办法,每日,2025年12月31日,,市场监管,企业；登记,草稿
`, "\n", "\r\n")

var gb18030Want = []*cityhub.CatalogEntry{
	{
		Code: "101001/000001", ClassificationCode: "101", Name: "常住人口基本信息",
		ProviderID: 1, ProviderName: "宁波市公安局", ProviderCode: "11330200002600123A",
		Abstract: "全市常住人口的身份、户籍与居住信息，按月汇总。", Format: cityhub.FormatDatabase,
		Items: []cityhub.DataItem{
			{Name: "公民身份号码", Code: "id_no", Type: "C", Length: 18, Description: `GB 11643, "18位"`, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensSecret},
			{Name: "姓名", Code: "name", Type: "C", Length: 50, Required: true, Sensitivity: cityhub.SensSensitive},
			{Name: "出生\n日期", Code: "birth_date", Type: "D", Sensitivity: cityhub.SensInternal},
		},
		ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.NotShared, OpenBasis: "涉及个人隐私",
		UpdateCycle: cityhub.CycleMonthly, PublishDate: "2026-01-02",
		RelatedCodes: []string{"101002/000003", "101003/000001"}, Tags: []string{"人口", "户籍"}, Status: cityhub.StatusPublished,
	},
	{
		Code: "202001/000007", ClassificationCode: "202001", Name: "市场主体登记信息",
		ProviderID: 2, ProviderName: "宁波市市场监督管理局", Abstract: "企业、个体工商户登记信息", Format: cityhub.FormatSheet,
		Items:     []cityhub.DataItem{{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensPublic}},
		ShareType: cityhub.Conditional, ShareCondition: "仅用于监管执法", ShareMethod: "库表交换", ShareBasis: "《市场主体登记管理条例》",
		OpenType: cityhub.Conditional, OpenCondition: "申请后开放", OpenBasis: "宁波市公共数据开放管理办法",
		UpdateCycle: cityhub.CycleDaily, PublishDate: "2025-12-31", Domain: "market", Tags: []string{"企业", "登记"}, Status: cityhub.StatusDraft,
	},
}

// bomCSV has English headers in an order of its own, in any case and
// spacing, codes instead of labels, the entry's columns repeated on every
// row, no 信息资源代码, and a running number to ignore.
const bomCSV = "\uFEFF" + `No.,  resource NAME ,CLASSIFICATION,Provider   Code,abstract,format,Item Name,item_code,Data Type,length,required,Primary Key,sensitivity,share_type,Share Method,Share Basis,Open Type,Open Condition,Update Cycle,Publish Date,Related Codes,Domain,Tags,Status
1,公交实时到站,216 公共交通,113302000026001591,公交车辆到站预测,stream,线路,line,N,4,Y,1,public,unconditional,接口,,是,,realtime,20260315,,交通状况,"公交，实时",published
2,公交实时到站,216 公共交通,113302000026001591,公交车辆到站预测,stream,站点,stop,character,,true,0,internal,unconditional,接口,,是,,realtime,20260315,,交通状况,"公交，实时",published
3,公交线路客流,216,113302000026001591,按线路统计的客流,sheet,线路,line,C,8,N,false,,conditional,文件下载,宁波市公共数据管理办法,Y,经审批后开放,weekly,2026-3-1,"216/000001
216/000002",traffic,客流,submitted
`

var bomWant = []*cityhub.CatalogEntry{
	{
		ClassificationCode: "216", Name: "公交实时到站", ProviderID: 3, ProviderCode: "113302000026001591",
		Abstract: "公交车辆到站预测", Format: cityhub.FormatStream,
		Items: []cityhub.DataItem{
			{Name: "线路", Code: "line", Type: "N", Length: 4, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "站点", Code: "stop", Type: "C", Required: true, Sensitivity: cityhub.SensInternal},
		},
		ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.Unconditional,
		UpdateCycle: cityhub.CycleRealtime, PublishDate: "2026-03-15", Domain: "traffic", Tags: []string{"公交", "实时"},
		Status: cityhub.StatusPublished,
	},
	{
		ClassificationCode: "216", Name: "公交线路客流", ProviderID: 3, ProviderCode: "113302000026001591",
		Abstract: "按线路统计的客流", Format: cityhub.FormatSheet,
		Items:     []cityhub.DataItem{{Name: "线路", Code: "line", Type: "C", Length: 8}},
		ShareType: cityhub.Conditional, ShareMethod: "文件下载", ShareBasis: "宁波市公共数据管理办法",
		OpenType: cityhub.Conditional, OpenCondition: "经审批后开放", UpdateCycle: cityhub.CycleWeekly, PublishDate: "2026-03-01",
		RelatedCodes: []string{"216/000001", "216/000002"}, Domain: "traffic", Tags: []string{"客流"}, Status: cityhub.StatusSubmitted,
	},
}

// badCSV has a problem in nearly every column; badWant lists them.
var badCSV = header + `
人口,常住人口,,宁波市公安局,,摘要,纸质,姓名,name,字符串,20,,是,否,内部,无条件共享,,接口,,不予开放,,隐私,每月,,,,,
,,,,,,,性别,sex,C,十八,,必须,否,绝密,,,,,,,,,,,,,
,,,,,,,民族,nation,C,2,,否,否,内部,有条件共享,,,,,,,,,,,,
101,登记信息,,宁波市不存在局,,摘要,数据库,编号,no,C,10,,是,是,公开,无条件共享,,接口,,无条件开放,,,每半年,2026-02-30,,不存在领域,,作废
101,证照信息,,,91110000600037341L,摘要,数据库,编号,no,C,10,,是,是,公开,无条件共享,,接口,,部分开放,,,每月,1/2/2026,,,,
101,车辆信息,101/000009,宁波市公安局,,摘要,数据库,号牌,plate,C,10,,是,是,公开,无条件共享,,接口,,不予开放,,隐私,每月,,,,,,多余
101,驾驶人信息,101/000010,宁波市公安局,11330200MB1234567X,摘要,数据库,姓名,name,C,10,,是,否,公开,无条件共享,,接口,,不予开放,,隐私,每月,,,,,
,车辆登记信息,101/000009,,,,,车主,owner,C,50,,是,否,敏感,,,,,,,,,,,,,
`

var badWant = []Problem{
	{Row: 2, Column: "信息资源分类", Reason: "classification code", Entry: 2},
	{Row: 2, Column: "信息资源格式", Reason: `"纸质" is not one of 电子文件、电子表格`, Entry: 2},
	{Row: 2, Column: "数据类型", Reason: `"字符串" is not a data type`, Entry: 2},
	{Row: 3, Column: "数据长度", Reason: "not a whole number", Entry: 2},
	{Row: 3, Column: "是否必填", Reason: "not 是 or 否", Entry: 2},
	{Row: 3, Column: "敏感级别", Reason: `"绝密" is not one of 公开`, Entry: 2},
	{Row: 4, Column: "共享类型", Reason: `"有条件共享" differs from "无条件共享" on row 2`, Entry: 2},
	{Row: 5, Column: "信息资源提供方", Reason: `no department named "宁波市不存在局"`, Entry: 5},
	{Row: 5, Column: "更新周期", Reason: "is not one of 实时", Entry: 5},
	{Row: 5, Column: "发布日期", Reason: "not a date", Entry: 5},
	{Row: 5, Column: "开放领域", Reason: "no open-data domain", Entry: 5},
	{Row: 5, Column: "状态", Reason: `"作废" is not one of 草稿`, Entry: 5},
	{Row: 6, Column: "提供方代码", Reason: "no department with 统一社会信用代码", Entry: 6},
	{Row: 6, Column: "是否向社会开放", Reason: "(or 是/否)", Entry: 6},
	{Row: 6, Column: "发布日期", Reason: "write it as 2026-01-02", Entry: 6},
	{Row: 7, Column: "AC", Reason: `which has no header: "多余"`, Entry: 7},
	{Row: 8, Column: "信息资源提供方", Reason: "is not the department with 提供方代码", Entry: 8},
	{Row: 9, Column: "信息资源名称", Reason: `"车辆登记信息" differs from "车辆信息" on row 7`, Entry: 7},
}

// headerCSV has a wrong header: an unknown column, a missing one, a
// repeated one.
const headerCSV = `信息资源分类,信息资源名称,信息资源提供方,信息资源摘要,信息资源格式,信息项名称,数据类型,共享类别,是否向社会开放,更新周期,信息项名称
101,名称,宁波市公安局,摘要,数据库,姓名,C,无条件共享,不予开放,每月,姓名
`

var headerWant = []Problem{
	{Row: 1, Column: "信息项名称", Reason: "column K repeats column F"},
	{Row: 1, Column: "共享类别", Reason: `unknown column H "共享类别"`},
	{Row: 1, Column: "共享类型", Reason: "required column missing"},
}

// writeTitleXLSX builds a workbook as departments keep them: a sheet of
// instructions first; then a title row merged across, decorated headers,
// a running number, merged entry cells with blank continuation rows, real
// Excel dates and booleans, a blank row and a footnote.
func writeTitleXLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "填表说明"); err != nil {
		return nil, err
	}
	_ = f.SetCellValue("填表说明", "A1", "请按《政务信息资源目录编制指南》填写，每个信息项一行。")
	const s = "目录"
	if _, err := f.NewSheet(s); err != nil {
		return nil, err
	}
	heads := append([]string{"序号"}, strings.Split(header, ",")...)
	heads[1] = "信息资源分类（必填）"
	heads[2] = "*信息资源名称"
	set := func(cell string, v any) {
		if err := f.SetCellValue(s, cell, v); err != nil {
			panic(err)
		}
	}
	last, _ := excelize.ColumnNumberToName(len(heads))
	set("A1", "宁波市政务信息资源目录（2026年）")
	_ = f.MergeCell(s, "A1", last+"1")
	for i, h := range heads {
		c, _ := excelize.CoordinatesToCellName(i+1, 2)
		set(c, h)
	}
	col := func(name string) string {
		for i, h := range heads {
			if strings.Contains(h, name) {
				n, _ := excelize.ColumnNumberToName(i + 1)
				return n
			}
		}
		panic(name)
	}
	type row map[string]any
	put := func(r int, values row) {
		for k, v := range values {
			set(col(k)+strconv.Itoa(r), v)
		}
	}
	// Entry 1, rows 3–5; entry-level cells merged down.
	put(3, row{"序号": 1, "信息资源分类": "101001 人口基本信息", "信息资源名称": "常住人口基本信息", "信息资源代码": "101001/000001",
		"信息资源提供方": "宁波市公安局", "信息资源摘要": "全市常住人口", "信息资源格式": "数据库", "共享类型": "无条件共享",
		"共享方式": "接口", "是否向社会开放": "否", "开放依据": "涉及个人隐私", "更新周期": "每月",
		"发布日期": time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), "标签": "人口\n户籍", "状态": "已发布"})
	for _, k := range []string{"序号", "信息资源分类", "信息资源名称", "信息资源代码", "信息资源提供方", "信息资源摘要", "信息资源格式",
		"共享类型", "共享方式", "是否向社会开放", "开放依据", "更新周期", "发布日期", "标签", "状态"} {
		_ = f.MergeCell(s, col(k)+"3", col(k)+"5")
	}
	put(3, row{"信息项名称": "公民身份号码", "信息项英文名": "id_no", "数据类型": "字符型", "数据长度": 18, "是否必填": true, "是否主键": true, "敏感级别": "涉密"})
	put(4, row{"信息项名称": "姓名", "信息项英文名": "name", "数据类型": "C", "数据长度": 50, "是否必填": true, "是否主键": false, "敏感级别": "敏感"})
	put(5, row{"信息项名称": "出生日期", "信息项英文名": "birth_date", "数据类型": "日期型", "是否必填": false, "敏感级别": "内部"})
	// Row 6 blank; entry 2 at rows 7–8, its code left blank, 开放领域 by name.
	put(7, row{"序号": 2, "信息资源分类": 216, "信息资源名称": "公交实时到站", "信息资源提供方": "宁波市交通运输局",
		"提供方代码": "113302000026001591", "信息资源摘要": "公交车辆到站预测", "信息资源格式": "流媒体", "共享类型": "无条件共享",
		"共享方式": "接口", "是否向社会开放": "无条件开放", "更新周期": "实时", "开放领域": "交通状况", "关联资源代码": "216/000001"})
	for _, k := range []string{"序号", "信息资源分类", "信息资源名称", "信息资源提供方", "提供方代码", "信息资源摘要", "信息资源格式",
		"共享类型", "共享方式", "是否向社会开放", "更新周期", "开放领域", "关联资源代码"} {
		_ = f.MergeCell(s, col(k)+"7", col(k)+"8")
	}
	put(7, row{"信息项名称": "线路", "数据类型": "数值型", "数据长度": 4, "是否必填": "是", "是否主键": "是"})
	put(8, row{"信息项名称": "到站时间", "数据类型": "日期时间型", "是否必填": "是", "是否主键": "否"})
	set("A10", "注：敏感级别按《宁波市公共数据分类分级指南》填写。")
	f.SetActiveSheet(1)
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var titleWant = []*cityhub.CatalogEntry{
	{
		Code: "101001/000001", ClassificationCode: "101001", Name: "常住人口基本信息", ProviderID: 1, ProviderName: "宁波市公安局",
		Abstract: "全市常住人口", Format: cityhub.FormatDatabase,
		Items: []cityhub.DataItem{
			{Name: "公民身份号码", Code: "id_no", Type: "C", Length: 18, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensSecret},
			{Name: "姓名", Code: "name", Type: "C", Length: 50, Required: true, Sensitivity: cityhub.SensSensitive},
			{Name: "出生日期", Code: "birth_date", Type: "D", Sensitivity: cityhub.SensInternal},
		},
		ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.NotShared, OpenBasis: "涉及个人隐私",
		UpdateCycle: cityhub.CycleMonthly, PublishDate: "2026-01-02", Tags: []string{"人口", "户籍"}, Status: cityhub.StatusPublished,
	},
	{
		ClassificationCode: "216", Name: "公交实时到站", ProviderID: 3, ProviderName: "宁波市交通运输局", ProviderCode: "113302000026001591",
		Abstract: "公交车辆到站预测", Format: cityhub.FormatStream,
		Items: []cityhub.DataItem{
			{Name: "线路", Type: "N", Length: 4, Required: true, PrimaryKey: true},
			{Name: "到站时间", Type: "T", Required: true},
		},
		ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.Unconditional, UpdateCycle: cityhub.CycleRealtime,
		Domain: "traffic", RelatedCodes: []string{"216/000001"},
	},
}

// TestTestdata writes (with -update) and reads the files of testdata/.
func TestTestdata(t *testing.T) {
	if *update {
		gb, err := simplifiedchinese.GB18030.NewEncoder().String(gb18030CSV)
		if err != nil {
			t.Fatal(err)
		}
		title, err := writeTitleXLSX()
		if err != nil {
			t.Fatal(err)
		}
		var full bytes.Buffer
		if err := WriteXLSX(&full, sampleEntries(), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{
			"gb18030.csv":    []byte(gb),
			"utf8bom.csv":    []byte(bomCSV),
			"bad_rows.csv":   []byte(badCSV),
			"bad_header.csv": []byte(headerCSV),
			"title.xlsx":     title,
			"truncated.xlsx": full.Bytes()[:full.Len()/2],
			"sample.xlsx":    full.Bytes(),
		} {
			if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(t *testing.T, name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("gb18030.csv", func(t *testing.T) {
		b := read(t, "gb18030.csv")
		if utf8.Valid(b) || !bytes.Contains(b, []byte("\r\n")) {
			t.Fatal("the fixture is not GB18030 with CRLF")
		}
		s, err := DecodeCSV(bytes.NewReader(b), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, s.Problems)
		sameEntries(t, s.Rows, gb18030Want)
		if s.HeaderRow != 2 || s.Rows[0].Row != 3 || s.Rows[1].Row != 6 {
			t.Errorf("header row %d, entries at rows %d, %d; want 2, 3, 6", s.HeaderRow, s.Rows[0].Row, s.Rows[1].Row)
		}
	})
	t.Run("utf8bom.csv", func(t *testing.T) {
		s, err := DecodeCSV(bytes.NewReader(read(t, "utf8bom.csv")), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, s.Problems)
		sameEntries(t, s.Rows, bomWant)
		if s.Rows[0].Row != 2 || s.Rows[1].Row != 4 {
			t.Errorf("entries at rows %d, %d; want 2, 4", s.Rows[0].Row, s.Rows[1].Row)
		}
		if got := s.Header("items[1].sensitivity"); got != "sensitivity" {
			t.Errorf("header of sensitivity %q, want the file's own", got)
		}
		// The file names its providers by code only.
		want := Problem{Row: 2, Column: "Provider   Code", Reason: "no such department", Entry: 2}
		if got := s.Locate(cityhub.ImportProblem{Row: 2, Field: "provider_id", Reason: "no such department"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("title.xlsx", func(t *testing.T) {
		b := read(t, "title.xlsx")
		s, err := DecodeXLSX(bytes.NewReader(b), "", resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, s.Problems)
		sameEntries(t, s.Rows, titleWant)
		if s.HeaderRow != 2 || s.Rows[0].Row != 3 || s.Rows[1].Row != 7 {
			t.Errorf("header row %d, entries at rows %d, %d; want 2, 3, 7", s.HeaderRow, s.Rows[0].Row, s.Rows[1].Row)
		}
		// The instructions sheet, asked for by name, has no header row.
		rows, problems, err := ReadXLSX(bytes.NewReader(b), "填表说明", resolver{})
		if err != nil || rows != nil {
			t.Fatalf("got %v, %v; want no rows and a problem", rows, err)
		}
		wantProblems(t, problems, []Problem{{Row: 0, Reason: "no header row in the first 20 rows"}})
		// A sheet that is not there is the caller's error.
		_, _, err = ReadXLSX(bytes.NewReader(b), "Sheet9", resolver{})
		if cityhub.ErrorCode(err) != cityhub.EINVALID || !strings.Contains(err.Error(), "填表说明、目录") {
			t.Errorf("got %v, want an invalid error naming the sheets", err)
		}
	})
	t.Run("bad_rows.csv", func(t *testing.T) {
		s, err := DecodeCSV(bytes.NewReader(read(t, "bad_rows.csv")), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		wantProblems(t, s.Problems, badWant)
		if len(s.Rows) != 5 {
			t.Errorf("got %d entries, want 5 (problems spoil their entries, not the file)", len(s.Rows))
		}
	})
	t.Run("bad_header.csv", func(t *testing.T) {
		rows, problems, err := ReadCSV(bytes.NewReader(read(t, "bad_header.csv")), resolver{})
		if err != nil {
			t.Fatal(err)
		}
		wantProblems(t, problems, headerWant)
		if rows != nil {
			t.Errorf("got %d entries under a wrong header, want none", len(rows))
		}
	})
	t.Run("truncated.xlsx", func(t *testing.T) {
		_, _, err := ReadXLSX(bytes.NewReader(read(t, "truncated.xlsx")), "", resolver{})
		var e *cityhub.Error
		if !errors.As(err, &e) || e.Code != cityhub.EINVALID || !strings.Contains(e.Message, "not a readable XLSX file") {
			t.Errorf("got %v, want an invalid-file error", err)
		}
	})
	t.Run("sample.xlsx", func(t *testing.T) {
		rows, problems, err := ReadXLSX(bytes.NewReader(read(t, "sample.xlsx")), "", resolver{})
		if err != nil {
			t.Fatal(err)
		}
		noProblems(t, problems)
		sameEntries(t, rows, sampleEntries())
	})
}

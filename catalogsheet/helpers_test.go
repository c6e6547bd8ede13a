package catalogsheet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// resolver is a fake of the store's departments and domains.
type resolver struct{}

var testDepts = []struct {
	id         int64
	name, code string
}{
	{1, "宁波市公安局", "11330200002600123A"},
	{2, "宁波市市场监督管理局", "11330200MB1234567X"},
	{3, "宁波市交通运输局", "113302000026001591"},
}

var testDomains = map[string]string{"traffic": "交通状况", "market": "市场监管", "health": "医疗卫生", "safety": "公共安全"}

func (resolver) DepartmentID(s string) (int64, bool) {
	for _, d := range testDepts {
		if s == d.name || strings.EqualFold(s, d.code) {
			return d.id, true
		}
	}
	return 0, false
}

func (resolver) DomainCode(s string) (string, bool) {
	for code, name := range testDomains {
		if s == code || s == name {
			return code, true
		}
	}
	return "", false
}

// sampleEntries covers every field of the layout.
func sampleEntries() []*cityhub.CatalogEntry {
	return []*cityhub.CatalogEntry{
		{
			Code: "101001/000001", ClassificationCode: "101001", Name: "常住人口基本信息",
			ProviderID: 1, ProviderName: "宁波市公安局", ProviderCode: "11330200002600123A",
			Abstract: "全市常住人口的身份、户籍与居住信息，\n按月汇总。", Format: cityhub.FormatDatabase,
			Items: []cityhub.DataItem{
				{Name: "公民身份号码", Code: "id_no", Type: "C", Length: 18, Description: "GB 11643", Required: true, PrimaryKey: true, Sensitivity: cityhub.SensSecret},
				{Name: "姓名", Code: "name", Type: "C", Length: 50, Required: true, Sensitivity: cityhub.SensSensitive},
				{Name: "出生日期", Code: "birth_date", Type: "D", Sensitivity: cityhub.SensInternal},
				{Name: "户籍地址", Code: "address", Type: "M", Description: "省市区县街道, \"门牌\"", Sensitivity: cityhub.SensSensitive},
			},
			ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.NotShared, OpenBasis: "涉及个人隐私",
			UpdateCycle: cityhub.CycleMonthly, PublishDate: "2026-01-02",
			RelatedCodes: []string{"101002/000003", "101003/000001"}, Tags: []string{"人口", "户籍"},
			Status: cityhub.StatusPublished,
		},
		{
			Code: "202001/000007", ClassificationCode: "202001", Name: "市场主体登记信息",
			ProviderID: 2, ProviderName: "宁波市市场监督管理局", ProviderCode: "11330200MB1234567X",
			Abstract: "企业、个体工商户登记信息", Format: cityhub.FormatSheet,
			Items: []cityhub.DataItem{
				{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
				{Name: "注册资本", Code: "capital", Type: "Y", Length: 20, Sensitivity: cityhub.SensPublic},
				{Name: "成立时间", Code: "founded", Type: "T", Sensitivity: cityhub.SensPublic},
				{Name: "是否存续", Code: "active", Type: "L", Sensitivity: cityhub.SensPublic},
			},
			ShareType: cityhub.Conditional, ShareCondition: "仅用于监管执法", ShareMethod: "库表交换", ShareBasis: "《市场主体登记管理条例》",
			OpenType: cityhub.Conditional, OpenCondition: "申请后开放", OpenBasis: "宁波市公共数据开放管理办法",
			UpdateCycle: cityhub.CycleDaily, PublishDate: "2025-12-31", Domain: "market",
			Tags: []string{"企业", "登记", "市场"}, Status: cityhub.StatusDraft,
		},
		{
			// A new entry: no code yet, one item, no date, no status.
			ClassificationCode: "216", Name: "公交实时到站", ProviderID: 3, ProviderName: "宁波市交通运输局",
			ProviderCode: "113302000026001591", Abstract: "公交车辆到站预测", Format: cityhub.FormatStream,
			Items:     []cityhub.DataItem{{Name: "线路", Code: "line", Type: "N", Length: 4, Required: true}},
			ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.Unconditional,
			UpdateCycle: cityhub.CycleRealtime, Domain: "traffic",
		},
		{
			// Items of every type, and an entry with the same name as the
			// last one's neighbour to keep grouping honest.
			Code: "301002/000010", ClassificationCode: "301002", Name: "影像资料", ProviderID: 3,
			ProviderName: "宁波市交通运输局", ProviderCode: "113302000026001591", Abstract: "道路监控截图",
			Format: cityhub.FormatImage, ShareType: cityhub.NotShared, ShareBasis: "国家安全", OpenType: cityhub.NotShared,
			OpenBasis: "不予开放", UpdateCycle: cityhub.CycleIrregular, Status: cityhub.StatusWithdrawn,
			Items: []cityhub.DataItem{
				{Name: "G", Type: "G", Description: "=HYPERLINK(\"http://x\")"}, {Name: "B", Type: "B", Sensitivity: cityhub.SensPublic}, {Name: "I", Type: "I"},
				{Name: "F", Type: "F", Length: 1000000}, {Name: "Y", Type: "Y"}, {Name: "N", Type: "N", Length: 10},
			},
			RelatedCodes: []string{"101001/000001"}, Tags: []string{"视频"},
		},
	}
}

// layoutOnly keeps the fields the layout carries, with empty lists as nil.
func layoutOnly(e *cityhub.CatalogEntry) cityhub.CatalogEntry {
	c := cityhub.CatalogEntry{
		Code: e.Code, ClassificationCode: e.ClassificationCode, Name: e.Name, ProviderID: e.ProviderID,
		ProviderName: e.ProviderName, ProviderCode: e.ProviderCode, Abstract: e.Abstract, Format: e.Format,
		Items: e.Items, ShareType: e.ShareType, ShareCondition: e.ShareCondition, ShareMethod: e.ShareMethod,
		ShareBasis: e.ShareBasis, OpenType: e.OpenType, OpenCondition: e.OpenCondition, OpenBasis: e.OpenBasis,
		UpdateCycle: e.UpdateCycle, PublishDate: e.PublishDate, RelatedCodes: e.RelatedCodes, Tags: e.Tags,
		Domain: e.Domain, Status: e.Status,
	}
	if len(c.Items) == 0 {
		c.Items = nil
	}
	if len(c.RelatedCodes) == 0 {
		c.RelatedCodes = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c
}

// sameEntries compares what the layout carries.
func sameEntries(t *testing.T, got []cityhub.ImportRow, want []*cityhub.CatalogEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := layoutOnly(got[i].Entry), layoutOnly(want[i])
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d (row %d):\n got %s\nwant %s", i, got[i].Row, dump(g), dump(w))
		}
	}
}

func dump(e cityhub.CatalogEntry) string { return fmt.Sprintf("%+v", e) }

// noProblems fails on any problem.
func noProblems(t *testing.T, problems []Problem) {
	t.Helper()
	for _, p := range problems {
		t.Errorf("unexpected problem: %s", p)
	}
}

// wantProblems checks problems by row and column; reasons must contain
// the given text.
func wantProblems(t *testing.T, got []Problem, want []Problem) {
	t.Helper()
	if len(got) != len(want) {
		for _, p := range got {
			t.Logf("got: %s", p)
		}
		t.Fatalf("got %d problems, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Row != w.Row || g.Column != w.Column || !strings.Contains(g.Reason, w.Reason) || w.Entry != 0 && g.Entry != w.Entry {
			t.Errorf("problem %d: got %s (entry %d), want row %d, %s: …%s… (entry %d)", i, g, g.Entry, w.Row, w.Column, w.Reason, w.Entry)
		}
	}
}

func entriesOf(s *Sheet) []*cityhub.CatalogEntry {
	out := make([]*cityhub.CatalogEntry, len(s.Rows))
	for i, r := range s.Rows {
		out[i] = r.Entry
	}
	return out
}

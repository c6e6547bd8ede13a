package cityhub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// validEntry is a complete, valid entry of a 主题 classification.
func validEntry() *cityhub.CatalogEntry {
	return &cityhub.CatalogEntry{
		ClassificationCode: "209",
		Name:               "城市路灯设施",
		ProviderID:         7,
		Abstract:           "全市路灯的位置、型号和运行状态",
		Format:             cityhub.FormatDatabase,
		Items: []cityhub.DataItem{
			{Name: "路灯编号", Code: "lamp_id", Type: "C", Length: 32, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "安装日期", Code: "installed_on", Type: "D", Sensitivity: cityhub.SensPublic},
		},
		ShareType:   cityhub.Unconditional,
		ShareMethod: "接口",
		OpenType:    cityhub.Unconditional,
		UpdateCycle: cityhub.CycleMonthly,
		Domain:      "urban",
		Tags:        []string{"市政"},
	}
}

// fieldsOf returns the field names of a validation error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *cityhub.Error
	if !errors.As(err, &e) || e.Code != cityhub.EINVALID {
		t.Fatalf("error: got %v, want an EINVALID *cityhub.Error", err)
	}
	var out []string
	for f := range e.Fields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func TestCatalogEntryValidate(t *testing.T) {
	tests := []struct {
		name   string
		base   bool // classification under 基础信息资源
		mod    func(e *cityhub.CatalogEntry)
		fields []string // nil: valid
	}{
		{name: "valid", mod: func(e *cityhub.CatalogEntry) {}},
		{name: "conditional share with basis and condition", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareBasis, e.ShareCondition = cityhub.Conditional, "《条例》第十条", "用于路灯维护"
		}},
		{name: "not shared, not open, no method, no domain", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareBasis, e.ShareMethod = cityhub.NotShared, "涉及国家秘密", ""
			e.OpenType, e.OpenBasis, e.Domain = cityhub.NotShared, "涉及国家秘密", ""
		}},
		{name: "conditional open with basis and condition", mod: func(e *cityhub.CatalogEntry) {
			e.OpenType, e.OpenBasis, e.OpenCondition = cityhub.Conditional, "《开放办法》", "签署协议"
		}},
		{name: "base classification shared unconditionally", base: true, mod: func(e *cityhub.CatalogEntry) { e.ClassificationCode = "101" }},
		{name: "publish date", mod: func(e *cityhub.CatalogEntry) { e.PublishDate = "2025-10-09" }},
		{name: "related code", mod: func(e *cityhub.CatalogEntry) { e.RelatedCodes = []string{"209/000001"} }},

		{name: "name required", mod: func(e *cityhub.CatalogEntry) { e.Name = "  " }, fields: []string{"name"}},
		{name: "name too long", mod: func(e *cityhub.CatalogEntry) { e.Name = strings.Repeat("灯", 201) }, fields: []string{"name"}},
		{name: "abstract required", mod: func(e *cityhub.CatalogEntry) { e.Abstract = "" }, fields: []string{"abstract"}},
		{name: "classification required", mod: func(e *cityhub.CatalogEntry) { e.ClassificationCode = "" }, fields: []string{"classification_code"}},
		{name: "provider required", mod: func(e *cityhub.CatalogEntry) { e.ProviderID = 0 }, fields: []string{"provider_id"}},
		{name: "bad format", mod: func(e *cityhub.CatalogEntry) { e.Format = "pdf" }, fields: []string{"format"}},
		{name: "bad cycle", mod: func(e *cityhub.CatalogEntry) { e.UpdateCycle = "hourly" }, fields: []string{"update_cycle"}},
		{name: "bad publish date", mod: func(e *cityhub.CatalogEntry) { e.PublishDate = "2025-02-30" }, fields: []string{"publish_date"}},
		{name: "publish date with slashes", mod: func(e *cityhub.CatalogEntry) { e.PublishDate = "2025/10/09" }, fields: []string{"publish_date"}},
		{name: "malformed related code", mod: func(e *cityhub.CatalogEntry) { e.RelatedCodes = []string{"209-000001"} }, fields: []string{"related_codes"}},
		{name: "self relation", mod: func(e *cityhub.CatalogEntry) { e.Code, e.RelatedCodes = "209/000003", []string{"209/000003"} }, fields: []string{"related_codes"}},
		{name: "too many tags", mod: func(e *cityhub.CatalogEntry) {
			e.Tags = nil
			for i := range 21 {
				e.Tags = append(e.Tags, strings.Repeat("标", i+1))
			}
		}, fields: []string{"tags"}},
		{name: "tag too long", mod: func(e *cityhub.CatalogEntry) { e.Tags = []string{strings.Repeat("标", 31)} }, fields: []string{"tags"}},

		{name: "bad share type", mod: func(e *cityhub.CatalogEntry) { e.ShareType = "partial" }, fields: []string{"share_type"}},
		{name: "conditional share needs basis", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareCondition = cityhub.Conditional, "用于路灯维护"
		}, fields: []string{"share_basis"}},
		{name: "conditional share needs condition", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareBasis = cityhub.Conditional, "《条例》"
		}, fields: []string{"share_condition"}},
		{name: "not shared needs basis", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.OpenType, e.OpenBasis, e.Domain = cityhub.NotShared, cityhub.NotShared, "涉密", ""
		}, fields: []string{"share_basis"}},
		{name: "shared needs a method", mod: func(e *cityhub.CatalogEntry) { e.ShareMethod = "" }, fields: []string{"share_method"}},
		{name: "base classification conditional", base: true, mod: func(e *cityhub.CatalogEntry) {
			e.ClassificationCode, e.ShareType, e.ShareBasis, e.ShareCondition = "101", cityhub.Conditional, "《条例》", "用途"
		}, fields: []string{"share_type"}},
		{name: "base classification not shared", base: true, mod: func(e *cityhub.CatalogEntry) {
			e.ClassificationCode, e.ShareType, e.ShareBasis = "104", cityhub.NotShared, "涉密"
			e.OpenType, e.OpenBasis, e.Domain = cityhub.NotShared, "涉密", ""
		}, fields: []string{"share_type"}},
		{name: "bad open type", mod: func(e *cityhub.CatalogEntry) { e.OpenType = "public" }, fields: []string{"open_type"}},
		{name: "not shared must not open", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareBasis = cityhub.NotShared, "涉密"
		}, fields: []string{"open_type"}},
		{name: "not shared must not open on conditions", mod: func(e *cityhub.CatalogEntry) {
			e.ShareType, e.ShareBasis = cityhub.NotShared, "涉密"
			e.OpenType, e.OpenBasis, e.OpenCondition = cityhub.Conditional, "办法", "协议"
		}, fields: []string{"open_type"}},
		{name: "conditional open needs basis", mod: func(e *cityhub.CatalogEntry) {
			e.OpenType, e.OpenCondition = cityhub.Conditional, "签署协议"
		}, fields: []string{"open_basis"}},
		{name: "conditional open needs condition", mod: func(e *cityhub.CatalogEntry) {
			e.OpenType, e.OpenBasis = cityhub.Conditional, "《开放办法》"
		}, fields: []string{"open_condition"}},
		{name: "not open needs basis", mod: func(e *cityhub.CatalogEntry) {
			e.OpenType, e.Domain = cityhub.NotShared, ""
		}, fields: []string{"open_basis"}},
		{name: "openable needs a domain", mod: func(e *cityhub.CatalogEntry) { e.Domain = " " }, fields: []string{"domain"}},

		{name: "no items", mod: func(e *cityhub.CatalogEntry) { e.Items = nil }, fields: []string{"items"}},
		{name: "too many items", mod: func(e *cityhub.CatalogEntry) {
			e.Items = make([]cityhub.DataItem, 501)
			for i := range e.Items {
				e.Items[i] = cityhub.DataItem{Name: "项" + strings.Repeat("x", i%50) + string(rune('A'+i/50)), Type: "C"}
			}
		}, fields: []string{"items"}},
		{name: "item name required", mod: func(e *cityhub.CatalogEntry) { e.Items[1].Name = " " }, fields: []string{"items[1].name"}},
		{name: "duplicate item names", mod: func(e *cityhub.CatalogEntry) { e.Items[1].Name = " 路灯编号" }, fields: []string{"items[1].name"}},
		{name: "duplicate item codes ignore case", mod: func(e *cityhub.CatalogEntry) { e.Items[1].Code = "LAMP_ID" }, fields: []string{"items[1].code"}},
		{name: "bad item code", mod: func(e *cityhub.CatalogEntry) { e.Items[0].Code = "1lamp" }, fields: []string{"items[0].code"}},
		{name: "bad item type", mod: func(e *cityhub.CatalogEntry) { e.Items[0].Type = "X" }, fields: []string{"items[0].type"}},
		{name: "bad item length", mod: func(e *cityhub.CatalogEntry) { e.Items[0].Length = -1 }, fields: []string{"items[0].length"}},
		{name: "bad sensitivity", mod: func(e *cityhub.CatalogEntry) { e.Items[1].Sensitivity = "top" }, fields: []string{"items[1].sensitivity"}},
		{name: "several problems at once", mod: func(e *cityhub.CatalogEntry) {
			e.Name, e.Format, e.Items[0].Type = "", "pdf", "?"
		}, fields: []string{"format", "items[0].type", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEntry()
			tt.mod(e)
			err := e.Validate(tt.base)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("validate: got %v, want no error", err)
				}
				return
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields: got %q (%v), want %q", got, err, tt.fields)
			}
		})
	}
}

func TestCatalogEntryNormalize(t *testing.T) {
	e := validEntry()
	e.Name, e.Abstract, e.Domain = "  城市路灯设施 ", "\t摘要 ", " urban "
	e.Tags = []string{" 市政", "", "市政", "照明 ", "  "}
	e.RelatedCodes = []string{" 209/000001", "209/000001", ""}
	e.Items = []cityhub.DataItem{{Name: " 编号 ", Code: " id ", Type: " c ", PrimaryKey: true}}
	if err := e.Validate(false); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if e.Name != "城市路灯设施" || e.Abstract != "摘要" || e.Domain != "urban" {
		t.Errorf("trimmed: got %q %q %q", e.Name, e.Abstract, e.Domain)
	}
	if want := []string{"市政", "照明"}; !slices.Equal(e.Tags, want) {
		t.Errorf("tags: got %q, want %q", e.Tags, want)
	}
	if want := []string{"209/000001"}; !slices.Equal(e.RelatedCodes, want) {
		t.Errorf("related codes: got %q, want %q", e.RelatedCodes, want)
	}
	want := cityhub.DataItem{Name: "编号", Code: "id", Type: "C", PrimaryKey: true, Required: true, Sensitivity: cityhub.SensInternal}
	if e.Items[0] != want {
		t.Errorf("item: got %+v, want %+v", e.Items[0], want)
	}
}

func TestNextStatus(t *testing.T) {
	tests := []struct {
		from   string
		action cityhub.Transition
		reason string
		want   string // next status; "" when refused
		code   string
		field  string
	}{
		{cityhub.StatusDraft, cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{cityhub.StatusRejected, cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{cityhub.StatusWithdrawn, cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{cityhub.StatusSubmitted, cityhub.ActApprove, "", cityhub.StatusApproved, "", ""},
		{cityhub.StatusSubmitted, cityhub.ActReject, "缺少依据", cityhub.StatusRejected, "", ""},
		{cityhub.StatusApproved, cityhub.ActReject, "发现问题", cityhub.StatusRejected, "", ""},
		{cityhub.StatusApproved, cityhub.ActPublish, "", cityhub.StatusPublished, "", ""},
		{cityhub.StatusPublished, cityhub.ActWithdraw, "数据停止更新", cityhub.StatusWithdrawn, "", ""},

		{cityhub.StatusSubmitted, cityhub.ActReject, "  ", "", cityhub.EINVALID, "reason"},
		{cityhub.StatusPublished, cityhub.ActWithdraw, "", "", cityhub.EINVALID, "reason"},
		{cityhub.StatusDraft, "archive", "", "", cityhub.EINVALID, "action"},

		{cityhub.StatusDraft, cityhub.ActApprove, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusDraft, cityhub.ActPublish, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusDraft, cityhub.ActReject, "x", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusDraft, cityhub.ActWithdraw, "x", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusSubmitted, cityhub.ActSubmit, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusSubmitted, cityhub.ActPublish, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusSubmitted, cityhub.ActWithdraw, "x", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusApproved, cityhub.ActSubmit, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusApproved, cityhub.ActApprove, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusApproved, cityhub.ActWithdraw, "x", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusRejected, cityhub.ActApprove, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusRejected, cityhub.ActPublish, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusPublished, cityhub.ActSubmit, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusPublished, cityhub.ActPublish, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusPublished, cityhub.ActReject, "x", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusWithdrawn, cityhub.ActPublish, "", "", cityhub.ECONFLICT, ""},
		{cityhub.StatusWithdrawn, cityhub.ActWithdraw, "x", "", cityhub.ECONFLICT, ""},
		// A wrong status is reported before a missing reason.
		{cityhub.StatusDraft, cityhub.ActReject, "", "", cityhub.ECONFLICT, ""},
	}
	for _, tt := range tests {
		e := &cityhub.CatalogEntry{Status: tt.from}
		got, err := e.NextStatus(tt.action, tt.reason)
		if got != tt.want || cityhub.ErrorCode(err) != tt.code {
			t.Errorf("%s from %s (reason %q): got %q, %v; want %q, code %q", tt.action, tt.from, tt.reason, got, err, tt.want, tt.code)
			continue
		}
		if tt.field != "" {
			if f := fieldsOf(t, err); !slices.Equal(f, []string{tt.field}) {
				t.Errorf("%s from %s: got fields %q, want %q", tt.action, tt.from, f, tt.field)
			}
		}
	}
}

func TestEditable(t *testing.T) {
	for _, s := range cityhub.Statuses {
		e := &cityhub.CatalogEntry{Status: s.Code}
		want := s.Code != cityhub.StatusSubmitted && s.Code != cityhub.StatusApproved
		if got := e.Editable(); got != want {
			t.Errorf("Editable() when %s: got %v, want %v", s.Code, got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	a := validEntry()
	a.Code = "209/000001"
	if got := cityhub.Diff(a, a); len(got) != 0 {
		t.Fatalf("diff of an entry with itself: got %+v, want none", got)
	}

	// Items are compared by name: the same items in another order differ in nothing.
	b := *a
	b.Items = []cityhub.DataItem{a.Items[1], a.Items[0]}
	if got := cityhub.Diff(a, &b); len(got) != 0 {
		t.Fatalf("diff after reordering items: got %+v, want none", got)
	}

	c := *a
	c.Name = "城市路灯"
	c.Tags = []string{"市政", "照明"}
	c.ShareType, c.ShareBasis, c.ShareCondition = cityhub.Conditional, "《条例》", "维护"
	c.Items = []cityhub.DataItem{
		{Name: "安装日期", Code: "installed_on", Type: "T", Sensitivity: cityhub.SensPublic}, // type changed
		{Name: "功率", Type: "N", Length: 8, Sensitivity: cityhub.SensInternal},            // added
		// 路灯编号 removed
	}
	got := cityhub.Diff(a, &c)
	byField := map[string]cityhub.Change{}
	var fields []string
	for _, ch := range got {
		byField[ch.Field] = ch
		fields = append(fields, ch.Field)
	}
	wantFields := []string{"name", "share_type", "share_condition", "share_basis", "tags",
		"items[安装日期]", "items[功率]", "items[路灯编号]"}
	if !slices.Equal(fields, wantFields) {
		t.Fatalf("changed fields: got %q, want %q", fields, wantFields)
	}
	for _, w := range []cityhub.Change{
		{Field: "name", Before: "城市路灯设施", After: "城市路灯"},
		{Field: "share_type", Before: cityhub.Unconditional, After: cityhub.Conditional},
		{Field: "tags", Before: "市政", After: "市政, 照明"},
		{Field: "items[安装日期]", Before: "安装日期 D(0) public code=installed_on", After: "安装日期 T(0) public code=installed_on"},
		{Field: "items[功率]", Before: "", After: "功率 N(8) internal"},
		{Field: "items[路灯编号]", Before: "路灯编号 C(32) public code=lamp_id primary-key", After: ""},
	} {
		if g := byField[w.Field]; g != w {
			t.Errorf("change of %s: got %+v, want %+v", w.Field, g, w)
		}
	}

	d := *a
	d.Status, d.Code, d.ClassificationCode = cityhub.StatusPublished, "210/000001", "210"
	got = cityhub.Diff(a, &d)
	wantFields = []string{"code", "classification_code", "status"}
	fields = fields[:0]
	for _, ch := range got {
		fields = append(fields, ch.Field)
	}
	if !slices.Equal(fields, wantFields) {
		t.Errorf("changed fields: got %q, want %q", fields, wantFields)
	}
}

func TestClassificationValidate(t *testing.T) {
	tests := []struct {
		code, name string
		parent     string
		fields     []string
	}{
		{"4", "宏观经济", "", nil},
		{" 213 ", "宏观经济", "2", nil},
		{"209001", "市政设施", "209", nil},
		{"2090011", "路灯", "209001", nil},
		{"12345678901234567890", "深", "123456", nil},
		{"", "x", "", []string{"code"}},
		{"12", "x", "", []string{"code"}},
		{"1234", "x", "", []string{"code"}},
		{"12345", "x", "", []string{"code"}},
		{"123456789012345678901", "x", "", []string{"code"}},
		{"20a", "x", "", []string{"code"}},
		{"２０１", "x", "", []string{"code"}}, // fullwidth digits
		{"213", " ", "", []string{"name"}},
		{"213", strings.Repeat("名", 101), "", []string{"name"}},
	}
	for _, tt := range tests {
		c := &cityhub.Classification{Code: tt.code, Name: tt.name}
		err := c.Validate()
		if tt.fields == nil {
			if err != nil || c.Parent != tt.parent {
				t.Errorf("Validate(%q): got %v, parent %q; want no error, parent %q", tt.code, err, c.Parent, tt.parent)
			}
			continue
		}
		if err == nil {
			t.Errorf("Validate(%q, %q): got no error, want one for %q", tt.code, tt.name, tt.fields)
			continue
		}
		if got := fieldsOf(t, err); !slices.Equal(got, tt.fields) {
			t.Errorf("Validate(%q, %q): got fields %q, want %q", tt.code, tt.name, got, tt.fields)
		}
	}
	for code, base := range map[string]bool{"1": true, "101": true, "105001": true, "2": false, "201": false, "3": false} {
		if got := cityhub.IsBaseClassification(code); got != base {
			t.Errorf("IsBaseClassification(%q): got %v, want %v", code, got, base)
		}
	}
}

func TestTermByLabel(t *testing.T) {
	tests := []struct {
		terms []cityhub.Term
		in    string
		want  string
	}{
		{cityhub.ShareTypes, "有条件共享", cityhub.Conditional},
		{cityhub.ShareTypes, " conditional ", cityhub.Conditional},
		{cityhub.OpenTypes, "不予开放", cityhub.NotShared},
		{cityhub.Formats, "Spreadsheet", cityhub.FormatSheet},
		{cityhub.UpdateCycles, "每季度", cityhub.CycleQuarterly},
		{cityhub.Statuses, "已发布", cityhub.StatusPublished},
		{cityhub.ItemTypes, "日期时间型", "T"},
		{cityhub.ShareTypes, "不予开放", ""}, // the open label is not a share type
		{cityhub.Formats, "", ""},
	}
	for _, tt := range tests {
		got, ok := cityhub.TermByLabel(tt.terms, tt.in)
		if ok != (tt.want != "") || got.Code != tt.want {
			t.Errorf("TermByLabel(%q): got %q, %v; want %q", tt.in, got.Code, ok, tt.want)
		}
	}
}

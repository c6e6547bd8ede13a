package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// catalogTests are the "Catalog" group of the suite.
var catalogTests = []subtest{
	{"Seed", testCatalogSeed},
	{"CreateClassification", testCatalogCreateClassification},
	{"CreateEntry", testCatalogCreateEntry},
	{"CreateEntryConcurrently", testCatalogCreateConcurrently},
	{"EntryValidation", testCatalogEntryValidation},
	{"UpdateEntry", testCatalogUpdateEntry},
	{"Lifecycle", testCatalogLifecycle},
	{"RefusedTransitions", testCatalogRefusedTransitions},
	{"DeleteEntry", testCatalogDeleteEntry},
	{"Audit", testCatalogAudit},
	{"SearchText", testCatalogSearchText},
	{"SearchFilters", testCatalogSearchFilters},
	{"SearchSortPaging", testCatalogSearchSortPaging},
	{"Facets", testCatalogFacets},
	{"ClassificationCounts", testCatalogClassificationCounts},
	{"Import", testCatalogImport},
	{"ChangeRequests", testCatalogChangeRequests},
	{"Stats", testCatalogStats},
}

// catalogEntry returns a valid, unsaved entry of provider in 201 公共服务,
// shared and open unconditionally, changed by mods.
func (e *env) catalogEntry(provider *cityhub.Department, mods ...func(*cityhub.CatalogEntry)) *cityhub.CatalogEntry {
	e.n++
	c := &cityhub.CatalogEntry{
		ClassificationCode: "201",
		Name:               fmt.Sprintf("测试资源%03d", e.n),
		ProviderID:         provider.ID,
		Abstract:           "用于测试的信息资源",
		Format:             cityhub.FormatSheet,
		Items: []cityhub.DataItem{
			{Name: "编号", Code: "id", Type: "C", Length: 32, PrimaryKey: true, Required: true, Sensitivity: cityhub.SensPublic},
			{Name: "名称", Code: "title", Type: "C", Length: 200, Sensitivity: cityhub.SensPublic},
		},
		ShareType:   cityhub.Unconditional,
		ShareMethod: "接口调用",
		OpenType:    cityhub.Unconditional,
		UpdateCycle: cityhub.CycleMonthly,
		Tags:        []string{"测试"},
		Domain:      "urban",
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

// Mods of catalogEntry.
func inClass(code string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.ClassificationCode = code }
}

func named(name, abstract string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.Name, c.Abstract = name, abstract }
}

func tagged(tags ...string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.Tags = tags }
}

func shareConditional(c *cityhub.CatalogEntry) {
	c.ShareType, c.ShareBasis, c.ShareCondition = cityhub.Conditional, "《公共数据管理办法》第十二条", "仅用于履行法定职责"
}

func openConditional(c *cityhub.CatalogEntry) {
	c.OpenType, c.OpenBasis, c.OpenCondition = cityhub.Conditional, "《公共数据开放办法》", "签署开放协议"
}

func openNone(c *cityhub.CatalogEntry) {
	c.OpenType, c.OpenBasis, c.Domain = cityhub.NotShared, "涉及个人信息", ""
}

func notShared(c *cityhub.CatalogEntry) {
	c.ShareType, c.ShareBasis, c.ShareMethod = cityhub.NotShared, "涉及国家秘密", ""
	openNone(c)
}

func (e *env) createEntry(t *testing.T, provider *cityhub.Department, mods ...func(*cityhub.CatalogEntry)) *cityhub.CatalogEntry {
	t.Helper()
	c := e.catalogEntry(provider, mods...)
	if err := e.Store.CreateEntry(e.ctx, c); err != nil {
		t.Fatalf("create entry %q: %v", c.Name, err)
	}
	return c
}

var toPublished = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish}

// transition takes actions on the entry in turn (with a reason where one is
// needed) and returns the entry after the last.
func (e *env) transition(t *testing.T, id int64, actions ...cityhub.Transition) *cityhub.CatalogEntry {
	t.Helper()
	var got *cityhub.CatalogEntry
	for _, a := range actions {
		reason := ""
		if a == cityhub.ActReject || a == cityhub.ActWithdraw {
			reason = "测试原因"
		}
		var err error
		if got, err = e.Store.TransitionEntry(e.ctx, id, a, reason); err != nil {
			t.Fatalf("%s entry %d: %v", a, id, err)
		}
	}
	return got
}

// pathTo lists the actions that take a new draft to status.
func pathTo(status string) []cityhub.Transition {
	switch status {
	case cityhub.StatusSubmitted:
		return []cityhub.Transition{cityhub.ActSubmit}
	case cityhub.StatusApproved:
		return []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove}
	case cityhub.StatusRejected:
		return []cityhub.Transition{cityhub.ActSubmit, cityhub.ActReject}
	case cityhub.StatusPublished:
		return toPublished
	case cityhub.StatusWithdrawn:
		return append(slices.Clone(toPublished), cityhub.ActWithdraw)
	}
	return nil
}

// entryIn creates an entry and takes it to status.
func (e *env) entryIn(t *testing.T, status string, provider *cityhub.Department, mods ...func(*cityhub.CatalogEntry)) *cityhub.CatalogEntry {
	t.Helper()
	c := e.createEntry(t, provider, mods...)
	if path := pathTo(status); len(path) > 0 {
		c = e.transition(t, c.ID, path...)
	}
	return c
}

func (e *env) entry(t *testing.T, id int64) *cityhub.CatalogEntry {
	t.Helper()
	c, err := e.Store.Entry(e.ctx, id)
	if err != nil {
		t.Fatalf("entry %d: %v", id, err)
	}
	return c
}

func (e *env) versions(t *testing.T, id int64) []*cityhub.CatalogVersion {
	t.Helper()
	vs, err := e.Store.EntryVersions(e.ctx, id)
	if err != nil {
		t.Fatalf("versions of entry %d: %v", id, err)
	}
	return vs
}

func (e *env) search(t *testing.T, q cityhub.CatalogQuery) *cityhub.CatalogResult {
	t.Helper()
	res, err := e.Store.SearchCatalog(e.ctx, q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	if res.Total < len(res.Entries) {
		t.Fatalf("search %+v: got total %d below the %d entries returned", q, res.Total, len(res.Entries))
	}
	return res
}

// all is the scope that sees every entry.
var all = cityhub.CatalogScope{All: true}

func names(entries []*cityhub.CatalogEntry) []string {
	out := make([]string, len(entries))
	for i, c := range entries {
		out[i] = c.Name
	}
	return out
}

func sortedNames(entries []*cityhub.CatalogEntry) []string {
	out := names(entries)
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) { // nil and empty alike
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func testCatalogSeed(t *testing.T, open Opener) {
	e := newEnv(t, open)
	cls, err := e.Store.Classifications(e.ctx, all)
	if err != nil {
		t.Fatalf("classifications: %v", err)
	}
	want := []*cityhub.Classification{{Code: "1", Name: "基础信息资源"}}
	for i, n := range []string{"人口", "法人单位", "自然资源和空间地理", "社会信用", "电子证照"} {
		want = append(want, &cityhub.Classification{Code: fmt.Sprintf("1%02d", i+1), Name: n, Parent: "1"})
	}
	want = append(want, &cityhub.Classification{Code: "2", Name: "主题信息资源"})
	for i, n := range []string{"公共服务", "健康保障", "社会保障", "食品药品安全", "安全生产", "价格监管",
		"能源安全", "信用体系", "城乡建设", "社区治理", "生态环保", "应急维稳"} {
		want = append(want, &cityhub.Classification{Code: fmt.Sprintf("2%02d", i+1), Name: n, Parent: "2"})
	}
	want = append(want, &cityhub.Classification{Code: "3", Name: "部门信息资源"})
	wantSame(t, "seeded classifications", cls, want)

	domains, err := e.Store.Domains(e.ctx)
	if err != nil {
		t.Fatalf("domains: %v", err)
	}
	var wantDomains []*cityhub.Domain
	for _, d := range []struct {
		code, name, en string
		key            bool
	}{
		{"geo", "地理位置", "Geography", false},
		{"market", "市场监管", "Market regulation", true},
		{"traffic", "交通状况", "Traffic", true},
		{"environment", "环境监测", "Environment", true},
		{"economy", "经济发展", "Economy", false},
		{"education", "教育科技", "Education and science", true},
		{"health", "医疗卫生", "Health", true},
		{"social", "社会保障", "Social security", true},
		{"safety", "公共安全", "Public safety", false},
		{"urban", "城市建设", "Urban construction", true},
		{"culture", "文化旅游", "Culture and tourism", false},
		{"credit", "信用服务", "Credit", true},
		{"organisations", "机构团体", "Organisations", false},
		{"agriculture", "农业农村", "Agriculture", false},
		{"weather", "气象服务", "Weather", false},
		{"energy", "能源环境", "Energy", false},
	} {
		wantDomains = append(wantDomains, &cityhub.Domain{Code: d.code, Name: d.name, EN: d.en, Key: d.key})
	}
	wantSame(t, "seeded domains", domains, wantDomains)
	// Seeding is not a change anyone made.
	if recs := e.records(t); len(recs) != 0 {
		t.Fatalf("audit records after opening: got %d, want 0", len(recs))
	}
}

func testCatalogCreateClassification(t *testing.T, open Opener) {
	e := newEnv(t, open)
	valid := []struct {
		code, name, parent string
	}{
		{"213", "宏观经济", "2"},
		{" 4 ", " 地方特色 ", ""},
		{"401", "港航物流", "4"},
		{"209001", "市政设施", "209"},
		{"2090011", "城市照明", "209001"},
	}
	for _, v := range valid {
		c := &cityhub.Classification{Code: v.code, Name: v.name}
		if err := e.Store.CreateClassification(e.ctx, c); err != nil {
			t.Fatalf("create classification %q: %v", v.code, err)
		}
		if c.Code != strings.TrimSpace(v.code) || c.Name != strings.TrimSpace(v.name) || c.Parent != v.parent {
			t.Fatalf("created: got %+v, want code %q name %q parent %q", c, strings.TrimSpace(v.code), strings.TrimSpace(v.name), v.parent)
		}
	}
	invalid := []struct {
		name, code, label string
		errCode           string
		field             string
	}{
		{"unknown parent", "501", "x", cityhub.EINVALID, "code"},
		{"unknown 目 parent", "2099991", "x", cityhub.EINVALID, "code"},
		{"two digits", "21", "x", cityhub.EINVALID, "code"},
		{"four digits", "2131", "x", cityhub.EINVALID, "code"},
		{"letters", "2a1", "x", cityhub.EINVALID, "code"},
		{"empty code", "", "x", cityhub.EINVALID, "code"},
		{"empty name", "214", " ", cityhub.EINVALID, "name"},
		{"duplicate", "213", "又一个", cityhub.ECONFLICT, ""},
		{"duplicate of the seed", "101", "人口", cityhub.ECONFLICT, ""},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Store.CreateClassification(e.ctx, &cityhub.Classification{Code: tt.code, Name: tt.label})
			if tt.field != "" {
				wantErr(t, err, tt.errCode, tt.field)
			} else {
				wantErr(t, err, tt.errCode)
			}
		})
	}
	cls, err := e.Store.Classifications(e.ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	byCode := map[string]*cityhub.Classification{}
	for _, c := range cls {
		codes = append(codes, c.Code)
		byCode[c.Code] = c
	}
	if len(cls) != 20+len(valid) {
		t.Fatalf("classifications: got %d %q, want %d", len(cls), codes, 20+len(valid))
	}
	if !slices.IsSorted(codes) {
		t.Errorf("classifications: got %q, want them in code order", codes)
	}
	if c := byCode["2090011"]; c == nil || c.Parent != "209001" || c.Name != "城市照明" {
		t.Errorf("classification 2090011: got %+v, want 城市照明 under 209001", c)
	}
	// Entries go anywhere in the tree, the code following their node.
	d := e.createDepartment(t)
	for _, class := range []string{"2090011", "4", "213"} {
		c := e.createEntry(t, d, inClass(class))
		if want := class + "/000001"; c.Code != want {
			t.Errorf("entry in %s: got code %q, want %q", class, c.Code, want)
		}
	}
	recs := e.records(t)
	for i, r := range recs[:len(valid)] {
		if want := "classification:" + strings.TrimSpace(valid[i].code); r.Action != "classification.create" || r.Object != want {
			t.Errorf("record %d: got %s on %s, want classification.create on %s", r.Seq, r.Action, r.Object, want)
		}
	}
	e.wantIntact(t, int64(len(valid)+1+3))
}

func testCatalogCreateEntry(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	before := time.Now().Add(-time.Second)
	tests := []struct {
		class string
		want  string
	}{
		{"201", "201/000001"},
		{"201", "201/000002"},
		{"209", "209/000001"},
		{"101", "101/000001"},
		{"201", "201/000003"},
		{"3", "3/000001"},
	}
	var first *cityhub.CatalogEntry
	for _, tt := range tests {
		c := e.createEntry(t, d, inClass(tt.class))
		if c.Code != tt.want {
			t.Errorf("code in %s: got %q, want %q", tt.class, c.Code, tt.want)
		}
		if c.ID <= 0 || c.Version != 1 || c.Status != cityhub.StatusDraft || c.EverPublished || c.DataUpdatedAt != nil {
			t.Errorf("created: got id %d version %d status %s ever published %v data updated %v; want an id, 1, draft, false, nil",
				c.ID, c.Version, c.Status, c.EverPublished, c.DataUpdatedAt)
		}
		if c.ProviderCode != d.CreditCode || c.ProviderName != d.Name {
			t.Errorf("provider: got code %q name %q, want %q %q", c.ProviderCode, c.ProviderName, d.CreditCode, d.Name)
		}
		if c.CreatedAt.Before(before) || c.CreatedAt.After(time.Now().Add(time.Second)) || !c.UpdatedAt.Equal(c.CreatedAt) {
			t.Errorf("times: got created %v updated %v, want about now and equal", c.CreatedAt, c.UpdatedAt)
		}
		if first == nil {
			first = c
		}
	}

	// Every field survives the round trip; what the store owns is reset.
	other := e.createDepartment(t)
	full := e.catalogEntry(other, inClass("209"), shareConditional, openConditional, func(c *cityhub.CatalogEntry) {
		c.Name, c.Abstract = "城市路灯设施全量", "全市路灯的位置、型号、功率和运行状态，按月更新。"
		c.Format, c.UpdateCycle, c.Domain = cityhub.FormatDatabase, cityhub.CycleQuarterly, "traffic"
		c.ShareMethod, c.PublishDate = "数据库交换", "2025-10-09"
		c.Items = []cityhub.DataItem{
			{Name: "路灯编号", Code: "lamp_id", Type: "C", Length: 32, Description: "唯一编号", Required: true, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "安装日期", Code: "installed_on", Type: "D", Description: "竣工验收日期", Sensitivity: cityhub.SensInternal},
			{Name: "功率", Code: "watts", Type: "N", Length: 8, Required: true, Sensitivity: cityhub.SensSensitive},
			{Name: "养护单位联系人", Type: "C", Length: 50, Sensitivity: cityhub.SensSecret},
			{Name: "照片", Code: "photo", Type: "I", Sensitivity: cityhub.SensPublic},
		}
		c.RelatedCodes = []string{first.Code, "209/000001"}
		c.Tags = []string{"市政设施", "照明", "Streetlight"}
		// Fields the store owns: ignored on create.
		c.ID, c.Code, c.Status, c.StatusReason, c.Version = 999, "209/999999", cityhub.StatusPublished, "x", 7
		c.EverPublished, c.ProviderCode, c.ProviderName = true, "not-the-credit-code", "别的名字"
		c.DataUpdatedAt = ptr(time.Now())
	})
	if err := e.Store.CreateEntry(e.ctx, full); err != nil {
		t.Fatalf("create full entry: %v", err)
	}
	if full.Code != "209/000002" || full.Status != cityhub.StatusDraft || full.StatusReason != "" || full.Version != 1 ||
		full.EverPublished || full.DataUpdatedAt != nil || full.ProviderCode != other.CreditCode || full.ProviderName != other.Name {
		t.Fatalf("full entry: got code %q status %q reason %q version %d ever published %v data updated %v provider %q %q; "+
			"want 209/000002, a draft of version 1 with the store's values and provider %q %q",
			full.Code, full.Status, full.StatusReason, full.Version, full.EverPublished, full.DataUpdatedAt,
			full.ProviderCode, full.ProviderName, other.CreditCode, other.Name)
	}
	got := e.entry(t, full.ID)
	wantSame(t, "entry by id", got, full)
	if len(got.Items) != 5 || got.Items[3].Sensitivity != cityhub.SensSecret || !got.Items[0].PrimaryKey || got.Items[2].Length != 8 {
		t.Fatalf("items: got %+v", got.Items)
	}
	byCode, err := e.Store.EntryByCode(e.ctx, full.Code)
	if err != nil {
		t.Fatalf("entry by code: %v", err)
	}
	wantSame(t, "entry by code", byCode, full)
	vs := e.versions(t, full.ID)
	if len(vs) != 1 || vs[0].Version != 1 || vs[0].Action != "create" || vs[0].Actor != adminActor.Username || vs[0].EntryID != full.ID {
		t.Fatalf("versions: got %+v, want one create by %s", vs, adminActor.Username)
	}
	wantSame(t, "version 1 snapshot", vs[0].Entry, full)

	_, err = e.Store.Entry(e.ctx, full.ID+1000)
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.EntryByCode(e.ctx, "209/999999")
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.EntryVersions(e.ctx, full.ID+1000)
	wantErr(t, err, cityhub.ENOTFOUND)
}

func testCatalogCreateConcurrently(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	const n = 8
	entries := make([]*cityhub.CatalogEntry, n)
	for i := range entries {
		entries[i] = e.catalogEntry(d, inClass("205"))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = e.Store.CreateEntry(e.ctx, entries[i]) })
	}
	wg.Wait()
	var codes []string
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		codes = append(codes, entries[i].Code)
	}
	slices.Sort(codes)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("205/%06d", i+1))
	}
	wantStrings(t, "codes of concurrent creates", codes, want)
	e.wantIntact(t, n+1)
}

func testCatalogEntryValidation(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	target := e.createEntry(t, d)
	tests := []struct {
		name   string
		mod    func(c *cityhub.CatalogEntry)
		field  string // "" when valid
		reason string // part of the reason, if set
	}{
		{name: "conditional share with basis and condition", mod: shareConditional},
		{name: "not shared and not open", mod: notShared},
		{name: "open on conditions", mod: openConditional},
		{name: "not open, no domain", mod: openNone},
		{name: "base resource shared unconditionally", mod: inClass("101")},
		{name: "related code of an existing entry", mod: func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{target.Code} }},

		{name: "name required", mod: func(c *cityhub.CatalogEntry) { c.Name = " " }, field: "name"},
		{name: "abstract required", mod: func(c *cityhub.CatalogEntry) { c.Abstract = "" }, field: "abstract"},
		{name: "conditional share needs a basis", mod: func(c *cityhub.CatalogEntry) {
			shareConditional(c)
			c.ShareBasis = ""
		}, field: "share_basis"},
		{name: "not shared needs a basis", mod: func(c *cityhub.CatalogEntry) {
			notShared(c)
			c.ShareBasis = " "
		}, field: "share_basis"},
		{name: "conditional share needs its condition", mod: func(c *cityhub.CatalogEntry) {
			shareConditional(c)
			c.ShareCondition = ""
		}, field: "share_condition"},
		{name: "base resource shared on conditions", mod: func(c *cityhub.CatalogEntry) {
			shareConditional(c)
			c.ClassificationCode = "102"
		}, field: "share_type", reason: "基础信息资源"},
		{name: "base resource not shared", mod: func(c *cityhub.CatalogEntry) {
			notShared(c)
			c.ClassificationCode = "105"
		}, field: "share_type", reason: "基础信息资源"},
		{name: "not shared but open", mod: func(c *cityhub.CatalogEntry) {
			c.ShareType, c.ShareBasis = cityhub.NotShared, "涉密"
		}, field: "open_type"},
		{name: "not shared but open on conditions", mod: func(c *cityhub.CatalogEntry) {
			c.ShareType, c.ShareBasis = cityhub.NotShared, "涉密"
			openConditional(c)
		}, field: "open_type"},
		{name: "conditional open needs a basis", mod: func(c *cityhub.CatalogEntry) {
			openConditional(c)
			c.OpenBasis = ""
		}, field: "open_basis"},
		{name: "not open needs a basis", mod: func(c *cityhub.CatalogEntry) {
			openNone(c)
			c.OpenBasis = ""
		}, field: "open_basis"},
		{name: "conditional open needs its condition", mod: func(c *cityhub.CatalogEntry) {
			openConditional(c)
			c.OpenCondition = ""
		}, field: "open_condition"},
		{name: "openable needs a domain", mod: func(c *cityhub.CatalogEntry) { c.Domain = "" }, field: "domain"},
		{name: "bad share type", mod: func(c *cityhub.CatalogEntry) { c.ShareType = "有条件" }, field: "share_type"},
		{name: "bad open type", mod: func(c *cityhub.CatalogEntry) { c.OpenType = "open" }, field: "open_type"},
		{name: "bad format", mod: func(c *cityhub.CatalogEntry) { c.Format = "csv" }, field: "format"},
		{name: "bad update cycle", mod: func(c *cityhub.CatalogEntry) { c.UpdateCycle = "hourly" }, field: "update_cycle"},
		{name: "bad item type", mod: func(c *cityhub.CatalogEntry) { c.Items[0].Type = "S" }, field: "items[0].type"},
		{name: "bad sensitivity", mod: func(c *cityhub.CatalogEntry) { c.Items[1].Sensitivity = "confidential" }, field: "items[1].sensitivity"},
		{name: "duplicate item names", mod: func(c *cityhub.CatalogEntry) { c.Items[1].Name = c.Items[0].Name }, field: "items[1].name"},
		{name: "no items", mod: func(c *cityhub.CatalogEntry) { c.Items = nil }, field: "items"},
		{name: "bad publish date", mod: func(c *cityhub.CatalogEntry) { c.PublishDate = "2025-9-1" }, field: "publish_date"},
		{name: "unknown classification", mod: inClass("299"), field: "classification_code"},
		{name: "malformed classification", mod: inClass("二零一"), field: "classification_code"},
		{name: "unknown provider", mod: func(c *cityhub.CatalogEntry) { c.ProviderID = d.ID + 1000 }, field: "provider_id"},
		{name: "no provider", mod: func(c *cityhub.CatalogEntry) { c.ProviderID = 0 }, field: "provider_id"},
		{name: "unknown domain", mod: func(c *cityhub.CatalogEntry) { c.Domain = "space" }, field: "domain"},
		{name: "unknown related code", mod: func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{target.Code, "201/999999"} }, field: "related_codes", reason: "201/999999"},
		{name: "malformed related code", mod: func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{"201-000001"} }, field: "related_codes"},
	}
	created := 1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.catalogEntry(d, tt.mod)
			err := e.Store.CreateEntry(e.ctx, c)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("create: got %v, want no error", err)
				}
				created++
				return
			}
			wantErr(t, err, cityhub.EINVALID, tt.field)
			if reason := err.(*cityhub.Error).Fields[tt.field]; !strings.Contains(reason, tt.reason) {
				t.Errorf("reason for %s: got %q, want it to mention %q", tt.field, reason, tt.reason)
			}
			// The same rules hold on update.
			u := e.catalogEntry(d, tt.mod)
			u.ID = target.ID
			wantErr(t, e.Store.UpdateEntry(e.ctx, u, ""), cityhub.EINVALID, tt.field)
		})
	}
	res := e.search(t, cityhub.CatalogQuery{Scope: all})
	if res.Total != created {
		t.Errorf("entries after the invalid ones: got %d, want %d", res.Total, created)
	}
	wantSame(t, "entry refused updates", e.entry(t, target.ID), target)
	// Department, then every valid create; failures appended nothing.
	e.wantIntact(t, int64(1+created))
}

func testCatalogUpdateEntry(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	orig := e.createEntry(t, d, inClass("201"))

	c := e.entry(t, orig.ID)
	c.Name = "更新后的名称"
	c.Tags = []string{"测试", "更新"}
	c.Items = append(c.Items, cityhub.DataItem{Name: "新增项", Type: "N", Length: 10, Sensitivity: cityhub.SensPublic})
	c.Status, c.Version, c.EverPublished = cityhub.StatusPublished, 40, true // the store's to set
	if err := e.Store.UpdateEntry(e.ctx, c, "补充信息项"); err != nil {
		t.Fatalf("update: %v", err)
	}
	if c.Version != 2 || c.Code != orig.Code || c.Status != cityhub.StatusDraft || c.EverPublished ||
		!c.CreatedAt.Equal(orig.CreatedAt) || c.UpdatedAt.Before(orig.UpdatedAt) {
		t.Fatalf("updated: got version %d code %s status %s ever published %v created %v updated %v; "+
			"want version 2, code %s, a draft, created %v, updated later",
			c.Version, c.Code, c.Status, c.EverPublished, c.CreatedAt, c.UpdatedAt, orig.Code, orig.CreatedAt)
	}
	wantSame(t, "entry after update", e.entry(t, c.ID), c)
	vs := e.versions(t, c.ID)
	if len(vs) != 2 || vs[1].Version != 2 || vs[1].Action != "update" || vs[1].Note != "补充信息项" || vs[1].Actor != adminActor.Username {
		t.Fatalf("versions: got %d, last %+v; want 2, the last an update noted 补充信息项", len(vs), vs[len(vs)-1])
	}
	var fields []string
	for _, ch := range cityhub.Diff(vs[0].Entry, vs[1].Entry) {
		fields = append(fields, ch.Field)
	}
	wantStrings(t, "diff of versions 1 and 2", fields, []string{"name", "tags", "items[新增项]"})

	// Before the first publication a new classification takes a new code;
	// the old sequence number is not reused.
	c.ClassificationCode = "202"
	if err := e.Store.UpdateEntry(e.ctx, c, ""); err != nil {
		t.Fatalf("reclassify: %v", err)
	}
	if c.Code != "202/000001" || c.Version != 3 {
		t.Fatalf("reclassified: got code %s version %d, want 202/000001 version 3", c.Code, c.Version)
	}
	if _, err := e.Store.EntryByCode(e.ctx, orig.Code); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Fatalf("old code %s: got %v, want not found", orig.Code, err)
	}
	if got, err := e.Store.EntryByCode(e.ctx, "202/000001"); err != nil || got.ID != c.ID {
		t.Fatalf("new code: got %v, %v; want entry %d", got, err, c.ID)
	}
	if next := e.createEntry(t, d, inClass("201")); next.Code != "201/000002" {
		t.Fatalf("next code in 201: got %s, want 201/000002", next.Code)
	}
	vs = e.versions(t, c.ID)
	fields = fields[:0]
	for _, ch := range cityhub.Diff(vs[1].Entry, vs[2].Entry) {
		fields = append(fields, ch.Field)
	}
	wantStrings(t, "diff of versions 2 and 3", fields, []string{"code", "classification_code"})

	// Not editable while under review.
	for _, status := range []string{cityhub.StatusSubmitted, cityhub.StatusApproved} {
		action := cityhub.ActSubmit
		if status == cityhub.StatusApproved {
			action = cityhub.ActApprove
		}
		e.transition(t, c.ID, action)
		u := e.entry(t, c.ID)
		u.Abstract = "审核中修改"
		wantErr(t, e.Store.UpdateEntry(e.ctx, u, ""), cityhub.ECONFLICT)
		if got := e.entry(t, c.ID); got.Abstract == "审核中修改" || got.Status != status {
			t.Fatalf("after a refused update while %s: got abstract %q status %s", status, got.Abstract, got.Status)
		}
	}
	published := e.transition(t, c.ID, cityhub.ActPublish)

	// Once published the classification, and so the code, is fixed.
	u := e.entry(t, c.ID)
	u.ClassificationCode = "203"
	wantErr(t, e.Store.UpdateEntry(e.ctx, u, ""), cityhub.EINVALID, "classification_code")
	wantSame(t, "entry after a refused reclassification", e.entry(t, c.ID), published)

	// A published entry stays published through updates.
	u = e.entry(t, c.ID)
	u.Abstract, u.PublishDate = "发布后更新摘要", "" // a form or sheet leaving the date out keeps it
	if err := e.Store.UpdateEntry(e.ctx, u, "更新摘要"); err != nil {
		t.Fatalf("update published: %v", err)
	}
	if u.Status != cityhub.StatusPublished || !u.EverPublished || u.Code != "202/000001" || u.Version != published.Version+1 ||
		u.PublishDate != published.PublishDate || !u.DataUpdatedAt.Equal(*published.DataUpdatedAt) {
		t.Fatalf("updated published: got %+v", u)
	}
	// Withdrawn, then reclassified: still refused.
	e.transition(t, c.ID, cityhub.ActWithdraw)
	u = e.entry(t, c.ID)
	u.ClassificationCode = "203"
	wantErr(t, e.Store.UpdateEntry(e.ctx, u, ""), cityhub.EINVALID, "classification_code")

	// A code another entry names cannot change either.
	target := e.createEntry(t, d, inClass("204"))
	e.createEntry(t, d, func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{target.Code} })
	target.ClassificationCode = "205"
	wantErr(t, e.Store.UpdateEntry(e.ctx, target, ""), cityhub.EINVALID, "classification_code")
	if got := e.entry(t, target.ID); got.Code != "204/000001" || got.Version != 1 {
		t.Fatalf("referenced entry: got code %s version %d, want 204/000001 version 1", got.Code, got.Version)
	}

	missing := e.catalogEntry(d)
	missing.ID = target.ID + 1000
	wantErr(t, e.Store.UpdateEntry(e.ctx, missing, ""), cityhub.ENOTFOUND)
}

func testCatalogLifecycle(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	as := func(username string) context.Context {
		return cityhub.WithActor(e.ctx, cityhub.Actor{UserID: int64(len(username)), Username: username})
	}
	c := e.catalogEntry(d)
	if err := e.Store.CreateEntry(as("steward.li"), c); err != nil {
		t.Fatal(err)
	}
	type step struct {
		by     string
		action cityhub.Transition
		reason string
		status string // "" when refused
		code   string
		field  string
	}
	steps := []step{
		{"steward.li", cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{"reviewer.wang", cityhub.ActReject, "  ", "", cityhub.EINVALID, "reason"},
		{"reviewer.wang", cityhub.ActReject, " 缺少共享依据 ", cityhub.StatusRejected, "", ""},
		{"steward.li", cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{"reviewer.wang", cityhub.ActApprove, "", cityhub.StatusApproved, "", ""},
		{"reviewer.wang", cityhub.ActPublish, "", cityhub.StatusPublished, "", ""},
		{"steward.li", cityhub.ActWithdraw, "", "", cityhub.EINVALID, "reason"},
		{"steward.li", cityhub.ActWithdraw, "数据停止更新", cityhub.StatusWithdrawn, "", ""},
		{"steward.li", cityhub.ActSubmit, "", cityhub.StatusSubmitted, "", ""},
		{"reviewer.wang", cityhub.ActApprove, "", cityhub.StatusApproved, "", ""},
		{"reviewer.wang", cityhub.ActPublish, "", cityhub.StatusPublished, "", ""},
	}
	wantActions := []string{"create"}
	wantActors := []string{"steward.li"}
	wantNotes := []string{""}
	version := 1
	var firstPublish *cityhub.CatalogEntry
	for i, s := range steps {
		got, err := e.Store.TransitionEntry(as(s.by), c.ID, s.action, s.reason)
		if s.status == "" {
			wantErr(t, err, s.code, s.field)
			if now := e.entry(t, c.ID); now.Version != version {
				t.Fatalf("step %d: a refused %s changed the version to %d", i, s.action, now.Version)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", i, s.action, err)
		}
		version++
		wantReason := ""
		if s.action == cityhub.ActReject || s.action == cityhub.ActWithdraw {
			wantReason = strings.TrimSpace(s.reason)
		}
		if got.Status != s.status || got.Version != version || got.StatusReason != wantReason {
			t.Fatalf("step %d %s: got status %s version %d reason %q, want %s %d %q",
				i, s.action, got.Status, got.Version, got.StatusReason, s.status, version, wantReason)
		}
		wantSame(t, fmt.Sprintf("step %d: stored entry", i), e.entry(t, c.ID), got)
		wantActions = append(wantActions, string(s.action))
		wantActors = append(wantActors, s.by)
		wantNotes = append(wantNotes, wantReason)
		if s.action != cityhub.ActPublish {
			continue
		}
		if !got.EverPublished || got.DataUpdatedAt == nil {
			t.Fatalf("published: got ever published %v, data updated %v; want true and set", got.EverPublished, got.DataUpdatedAt)
		}
		if firstPublish == nil {
			firstPublish = got
			if want := got.UpdatedAt.UTC().Format("2006-01-02"); got.PublishDate != want {
				t.Fatalf("publish date: got %q, want the day of publication %s", got.PublishDate, want)
			}
			if !got.DataUpdatedAt.Equal(got.UpdatedAt) {
				t.Fatalf("data updated: got %v, want the publication time %v", got.DataUpdatedAt, got.UpdatedAt)
			}
		} else if got.PublishDate != firstPublish.PublishDate || !got.DataUpdatedAt.Equal(*firstPublish.DataUpdatedAt) {
			t.Fatalf("republished: got publish date %q data updated %v, want the first publication's %q %v",
				got.PublishDate, got.DataUpdatedAt, firstPublish.PublishDate, firstPublish.DataUpdatedAt)
		}
	}
	vs := e.versions(t, c.ID)
	var actions, actors, notes []string
	for i, v := range vs {
		actions, actors, notes = append(actions, v.Action), append(actors, v.Actor), append(notes, v.Note)
		if v.Version != i+1 || v.Entry == nil || v.Entry.Version != i+1 || v.EntryID != c.ID || !v.At.Equal(v.Entry.UpdatedAt) {
			t.Fatalf("version %d: got %+v", i+1, v)
		}
	}
	wantStrings(t, "version actions", actions, wantActions)
	wantStrings(t, "version actors", actors, wantActors)
	wantStrings(t, "version notes", notes, wantNotes)
	if vs[2].Entry.Status != cityhub.StatusRejected || vs[2].Entry.StatusReason != "缺少共享依据" {
		t.Fatalf("snapshot of the rejection: got %s %q", vs[2].Entry.Status, vs[2].Entry.StatusReason)
	}
	wantSame(t, "last snapshot", vs[len(vs)-1].Entry, e.entry(t, c.ID))

	// A publish date set by the provider is kept.
	dated := e.createEntry(t, d, func(c *cityhub.CatalogEntry) { c.PublishDate = "2024-05-01" })
	if got := e.transition(t, dated.ID, toPublished...); got.PublishDate != "2024-05-01" {
		t.Fatalf("publish date: got %q, want 2024-05-01 kept", got.PublishDate)
	}
	_, err := e.Store.TransitionEntry(e.ctx, dated.ID+1000, cityhub.ActSubmit, "")
	wantErr(t, err, cityhub.ENOTFOUND)
}

func testCatalogRefusedTransitions(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	allowed := map[string][]cityhub.Transition{
		cityhub.StatusDraft:     {cityhub.ActSubmit},
		cityhub.StatusSubmitted: {cityhub.ActApprove, cityhub.ActReject},
		cityhub.StatusApproved:  {cityhub.ActReject, cityhub.ActPublish},
		cityhub.StatusRejected:  {cityhub.ActSubmit},
		cityhub.StatusPublished: {cityhub.ActWithdraw},
		cityhub.StatusWithdrawn: {cityhub.ActSubmit},
	}
	actions := []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActReject, cityhub.ActPublish, cityhub.ActWithdraw}
	for _, st := range cityhub.Statuses {
		c := e.entryIn(t, st.Code, d)
		before := len(e.records(t))
		for _, a := range actions {
			if slices.Contains(allowed[st.Code], a) {
				continue
			}
			_, err := e.Store.TransitionEntry(e.ctx, c.ID, a, "原因")
			wantErr(t, err, cityhub.ECONFLICT)
		}
		_, err := e.Store.TransitionEntry(e.ctx, c.ID, "archive", "原因")
		wantErr(t, err, cityhub.EINVALID, "action")
		wantSame(t, "entry "+st.Code+" after refused transitions", e.entry(t, c.ID), c)
		if n := len(e.records(t)); n != before {
			t.Fatalf("%s: refused transitions appended %d audit records, want none", st.Code, n-before)
		}
	}
}

func testCatalogDeleteEntry(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	draft := e.createEntry(t, d, named("待删除草稿资源", "草稿"))
	if err := e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: draft.ID, Reason: "请补充"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.DeleteEntry(e.ctx, draft.ID); err != nil {
		t.Fatalf("delete draft: %v", err)
	}
	_, err := e.Store.Entry(e.ctx, draft.ID)
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.EntryByCode(e.ctx, draft.Code)
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.EntryVersions(e.ctx, draft.ID)
	wantErr(t, err, cityhub.ENOTFOUND)
	if crs, err := e.Store.ChangeRequests(e.ctx, draft.ID); err != nil || len(crs) != 0 {
		t.Fatalf("change requests of a deleted entry: got %v, %v; want none", crs, err)
	}
	if res := e.search(t, cityhub.CatalogQuery{Q: "删除草稿", Scope: all, Facets: true}); res.Total != 0 || len(res.Facets["tag"]) != 0 {
		t.Fatalf("search after delete: got %d entries, tag facet %v; want none", res.Total, res.Facets["tag"])
	}
	wantErr(t, e.Store.DeleteEntry(e.ctx, draft.ID), cityhub.ENOTFOUND)

	rejected := e.entryIn(t, cityhub.StatusRejected, d)
	if err := e.Store.DeleteEntry(e.ctx, rejected.ID); err != nil {
		t.Fatalf("delete rejected: %v", err)
	}
	// Anything published once, or under review, stays.
	for _, status := range []string{cityhub.StatusSubmitted, cityhub.StatusApproved, cityhub.StatusPublished, cityhub.StatusWithdrawn} {
		c := e.entryIn(t, status, d)
		wantErr(t, e.Store.DeleteEntry(e.ctx, c.ID), cityhub.ECONFLICT)
	}
	once := e.entryIn(t, cityhub.StatusWithdrawn, d)
	once = e.transition(t, once.ID, cityhub.ActSubmit, cityhub.ActReject)
	wantErr(t, e.Store.DeleteEntry(e.ctx, once.ID), cityhub.ECONFLICT)
	wantSame(t, "rejected entry published once", e.entry(t, once.ID), once)

	// An entry another one names is kept until the reference goes.
	target := e.createEntry(t, d)
	ref := e.createEntry(t, d, func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{target.Code} })
	wantErr(t, e.Store.DeleteEntry(e.ctx, target.ID), cityhub.ECONFLICT)
	ref.RelatedCodes = nil
	if err := e.Store.UpdateEntry(e.ctx, ref, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.DeleteEntry(e.ctx, target.ID); err != nil {
		t.Fatalf("delete after the reference went: %v", err)
	}
}

func testCatalogAudit(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	var a, b, gone *cityhub.CatalogEntry
	obj := func(c **cityhub.CatalogEntry) func() string {
		return func() string { return "catalog:" + itoa((*c).ID) }
	}
	ops := []struct {
		action string
		do     func(ctx cityhub.Actor) error
		object func() string
	}{
		{"catalog.create", func(ac cityhub.Actor) error {
			a = e.catalogEntry(d)
			return e.Store.CreateEntry(cityhub.WithActor(e.ctx, ac), a)
		}, obj(&a)},
		{"catalog.create", func(ac cityhub.Actor) error {
			b = e.catalogEntry(d, func(c *cityhub.CatalogEntry) { c.RelatedCodes = []string{a.Code} })
			return e.Store.CreateEntry(cityhub.WithActor(e.ctx, ac), b)
		}, obj(&b)},
		{"catalog.update", func(ac cityhub.Actor) error {
			a.Abstract = "改过的摘要"
			return e.Store.UpdateEntry(cityhub.WithActor(e.ctx, ac), a, "改摘要")
		}, obj(&a)},
		{"catalog.submit", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActSubmit, "")
			return err
		}, obj(&a)},
		{"catalog.reject", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActReject, "缺依据")
			return err
		}, obj(&a)},
		{"catalog.submit", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActSubmit, "")
			return err
		}, obj(&a)},
		{"catalog.approve", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActApprove, "")
			return err
		}, obj(&a)},
		{"catalog.publish", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActPublish, "")
			return err
		}, obj(&a)},
		{"catalog.change_request", func(ac cityhub.Actor) error {
			return e.Store.CreateChangeRequest(cityhub.WithActor(e.ctx, ac), &cityhub.ChangeRequest{EntryID: a.ID, Reason: "字段有误"})
		}, obj(&a)},
		{"catalog.withdraw", func(ac cityhub.Actor) error {
			_, err := e.Store.TransitionEntry(cityhub.WithActor(e.ctx, ac), a.ID, cityhub.ActWithdraw, "停止更新")
			return err
		}, obj(&a)},
		{"catalog.import", func(ac cityhub.Actor) error {
			rep, err := e.Store.ImportEntries(cityhub.WithActor(e.ctx, ac), []cityhub.ImportRow{
				{Row: 2, Entry: e.catalogEntry(d)}, {Row: 3, Entry: e.catalogEntry(d)}}, cityhub.ImportOptions{})
			if err == nil && rep.Created != 2 {
				err = fmt.Errorf("import: got %+v, want 2 created", rep)
			}
			return err
		}, func() string { return "catalog" }},
		{"catalog.create", func(ac cityhub.Actor) error {
			gone = e.catalogEntry(d)
			return e.Store.CreateEntry(cityhub.WithActor(e.ctx, ac), gone)
		}, obj(&gone)},
		{"catalog.delete", func(ac cityhub.Actor) error {
			return e.Store.DeleteEntry(cityhub.WithActor(e.ctx, ac), gone.ID)
		}, obj(&gone)},
	}
	base := len(e.records(t))
	for i, op := range ops {
		actor := cityhub.Actor{UserID: int64(200 + i), Username: fmt.Sprintf("catalog%02d", i),
			ClientAddr: fmt.Sprintf("203.0.113.%d:443", i+1), RequestID: fmt.Sprintf("req-cat-%02d", i)}
		if err := op.do(actor); err != nil {
			t.Fatalf("op %d %s: %v", i, op.action, err)
		}
		recs := e.records(t)
		if len(recs) != base+i+1 {
			t.Fatalf("op %d %s: got %d records, want %d (exactly one per change)", i, op.action, len(recs), base+i+1)
		}
		r := recs[len(recs)-1]
		got := cityhub.Actor{UserID: r.ActorID, Username: r.Actor, ClientAddr: r.ClientAddr, RequestID: r.RequestID}
		if r.Action != op.action || r.Object != op.object() || r.Outcome != cityhub.OutcomeSuccess || got != actor {
			t.Fatalf("op %d: got %s on %s (%s) by %+v, want %s on %s (success) by %+v",
				i, r.Action, r.Object, r.Outcome, got, op.action, op.object(), actor)
		}
		if r.Details != "" && !json.Valid([]byte(r.Details)) {
			t.Fatalf("op %d: details %q are not JSON", i, r.Details)
		}
	}
	// Failures append nothing, and neither does news that the data behind
	// an entry changed (not a change of the catalog anybody made).
	failures := []struct {
		name string
		do   func() error
	}{
		{"invalid create", func() error { return e.Store.CreateEntry(e.ctx, e.catalogEntry(d, named("", ""))) }},
		{"invalid update", func() error {
			c := e.entry(t, b.ID)
			c.Format = "pdf"
			return e.Store.UpdateEntry(e.ctx, c, "")
		}},
		{"refused transition", func() error {
			_, err := e.Store.TransitionEntry(e.ctx, b.ID, cityhub.ActPublish, "")
			return err
		}},
		{"refused delete", func() error { return e.Store.DeleteEntry(e.ctx, a.ID) }},
		{"refused change request", func() error {
			return e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: b.ID})
		}},
		{"data updated", func() error { return e.Store.MarkDataUpdated(e.ctx, b.ID, time.Now()) }},
		{"data of a missing entry updated", func() error { return e.Store.MarkDataUpdated(e.ctx, b.ID+1000, time.Now()) }},
		{"import with problems", func() error {
			rep, err := e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d, named("", ""))}}, cityhub.ImportOptions{})
			if err == nil && len(rep.Problems) == 0 {
				return nil
			}
			return fmt.Errorf("import: %+v, %v", rep, err)
		}},
		{"dry run", func() error {
			_, err := e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d)}}, cityhub.ImportOptions{DryRun: true})
			return err
		}},
		{"invalid classification", func() error {
			return e.Store.CreateClassification(e.ctx, &cityhub.Classification{Code: "12", Name: "x"})
		}},
	}
	for _, f := range failures {
		f.do()
	}
	if n := len(e.records(t)); n != base+len(ops) {
		t.Fatalf("failures appended %d records, want none", n-base-len(ops))
	}
	e.wantIntact(t, int64(base+len(ops)))
}

func testCatalogSearchText(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d1, d2 := e.createDepartment(t), e.createDepartment(t)
	pub := func(mods ...func(*cityhub.CatalogEntry)) *cityhub.CatalogEntry {
		return e.entryIn(t, cityhub.StatusPublished, d1, mods...)
	}
	const (
		lamps   = "智慧路灯管理信息"
		covers  = "窨井盖监测"
		water   = "供水管网压力"
		english = "Streetlight Inventory"
		air     = "空气质量监测"
		firms   = "企业登记信息"
		works   = "道路照明工程"
		draft   = "路灯巡检草稿"
	)
	pub(named(lamps, "全市道路照明设施的运行状态"), inClass("209"), tagged("市政设施"))
	pub(named(covers, "井盖位移与水位告警"), inClass("209"))
	pub(named(water, "城市供水管网压力 pressure readings"), inClass("207"))
	pub(named(english, "Lamp posts of the city, refreshed MONTHLY"), inClass("209"))
	pub(named(air, "PM2.5、PM10 与臭氧浓度"), inClass("211"), func(c *cityhub.CatalogEntry) {
		c.Items = []cityhub.DataItem{{Name: "监测站点", Type: "C"}, {Name: "PM2.5浓度", Code: "pm25", Type: "N"}}
	})
	pub(named(firms, "市场主体登记"), inClass("102"), tagged("营商环境"), func(c *cityhub.CatalogEntry) {
		c.Items = []cityhub.DataItem{{Name: "统一社会信用代码", Code: "uscc", Type: "C", Length: 18}, {Name: "法定代表人", Type: "C"}}
	})
	pub(named(works, "新建路灯工程的审批记录"), inClass("209"))
	e.createEntry(t, d2, named(draft, "草稿"))

	everyone := []string{lamps, covers, water, english, air, firms, works, draft}
	published := []string{lamps, covers, water, english, air, firms, works}
	tests := []struct {
		q     string
		scope cityhub.CatalogScope
		want  []string
	}{
		{"路灯", all, []string{lamps, works, draft}},
		{"路灯", cityhub.CatalogScope{}, []string{lamps, works}},
		{"路灯", cityhub.CatalogScope{Departments: []int64{d1.ID}}, []string{lamps, works}},
		{"路灯", cityhub.CatalogScope{Departments: []int64{d2.ID}}, []string{lamps, works, draft}},
		{"井盖", all, []string{covers}},
		{"路灯管理", all, []string{lamps}},
		{"水", all, []string{covers, water}},
		{"灯", all, []string{lamps, works, draft}},
		{"供水", all, []string{water}},
		{"监测", all, []string{covers, air}},
		{"路灯 审批", all, []string{works}},
		{"路灯   工程  新建", all, []string{works}},
		{"路灯 井盖", all, nil},
		{"streetlight", all, []string{english}},
		{"STREETLIGHT", all, []string{english}},
		{"StreetLight inventory", all, []string{english}},
		{"monthly", all, []string{english}},
		{"street", all, nil}, // English matches whole words
		{"pressure", all, []string{water}},
		{"PM2.5", all, []string{air}},
		{"pm2.5浓度", all, []string{air}},
		{"pm25", all, []string{air}},
		{"信用代码", all, []string{firms}},
		{"法定代表", all, []string{firms}},
		{"uscc", all, []string{firms}},
		{"营商", all, []string{firms}},
		{"市政设施", all, []string{lamps}},
		{d1.Name, all, published}, // the provider's name
		{"   ", all, everyone},
		{"！？。，", all, nil},
		{"…", all, nil},
		{"路灯，", all, []string{lamps, works, draft}},
		{"“路灯”", all, []string{lamps, works, draft}},
		{`"路灯"`, all, []string{lamps, works, draft}},
		{`路灯*`, all, []string{lamps, works, draft}},
		{`(路灯)`, all, []string{lamps, works, draft}},
		{`-路灯`, all, []string{lamps, works, draft}},
		{`路灯 OR 井盖`, all, nil},
		{`路灯 NOT 井盖`, all, nil},
		{`路灯 AND`, all, nil},
	}
	for _, tt := range tests {
		res := e.search(t, cityhub.CatalogQuery{Q: tt.q, Scope: tt.scope})
		if got, want := sortedNames(res.Entries), sorted(tt.want...); !slices.Equal(got, want) || res.Total != len(want) {
			t.Errorf("search %q in %+v: got %d %q, want %q", tt.q, tt.scope, res.Total, got, want)
		}
	}
	// Quotes, operators and SQL never break the query.
	for _, q := range []string{`"`, `'`, `''`, `:`, `*`, `AND`, `OR`, `NOT`, `NEAR(`, `NEAR(路灯 井盖, 2)`, `name:路灯`,
		`{name body}: 路灯`, `^路灯`, `路灯"`, `"路灯`, `'路灯'`, `\`, `\"`, `'; DROP TABLE catalog_entries; --`, `$1`, `?`, `%`, `_`,
		`<->`, `!`, `&`, `|`, `!!路灯`, `路灯 & 井盖`, `路灯:*`, `(`, `)`, `[`, `]`, `+`, `-`, `~`, "\x00", "路\x00灯", "\xff",
		`⺛`, `🚦`, strings.Repeat("路灯 ", 40), strings.Repeat("智", 3000)} {
		if _, err := e.Store.SearchCatalog(e.ctx, cityhub.CatalogQuery{Q: q, Scope: all, Facets: true}); err != nil {
			t.Errorf("search %q: got %v, want no error", q, err)
		}
		if _, err := e.Store.SearchCatalog(e.ctx, cityhub.CatalogQuery{Q: q, Scope: all, Sort: "name"}); err != nil {
			t.Errorf("search %q sorted by name: got %v, want no error", q, err)
		}
	}
	if res := e.search(t, cityhub.CatalogQuery{Scope: all}); res.Total != len(everyone) {
		t.Fatalf("entries after the hostile queries: got %d, want %d", res.Total, len(everyone))
	}

	// A match in the name ranks above a match in the abstract only.
	for _, sort := range []string{"", "relevance"} {
		res := e.search(t, cityhub.CatalogQuery{Q: "路灯", Sort: sort})
		wantStrings(t, "relevance order (sort "+sort+")", names(res.Entries), []string{lamps, works})
	}
	res := e.search(t, cityhub.CatalogQuery{Q: "照明", Scope: all})
	wantStrings(t, "relevance order of 照明", names(res.Entries), []string{works, lamps})
}

// filterCorpus creates six entries that differ in every filtered field,
// in two departments.
func filterCorpus(t *testing.T, e *env) (d1, d2 *cityhub.Department, entries []*cityhub.CatalogEntry) {
	t.Helper()
	d1, d2 = e.createDepartment(t), e.createDepartment(t)
	if err := e.Store.CreateClassification(e.ctx, &cityhub.Classification{Code: "209001", Name: "地下管线"}); err != nil {
		t.Fatal(err)
	}
	attrs := func(format, cycle, domain string) func(*cityhub.CatalogEntry) {
		return func(c *cityhub.CatalogEntry) { c.Format, c.UpdateCycle, c.Domain = format, cycle, domain }
	}
	entries = []*cityhub.CatalogEntry{
		e.entryIn(t, cityhub.StatusPublished, d1, named("人口基础库", "户籍人口"), inClass("101"),
			attrs(cityhub.FormatDatabase, cityhub.CycleDaily, "geo"), tagged("人口", "基础")),
		e.entryIn(t, cityhub.StatusPublished, d1, named("法人单位库", "法人"), inClass("102"), openConditional,
			attrs(cityhub.FormatSheet, cityhub.CycleMonthly, "market"), tagged("法人")),
		e.entryIn(t, cityhub.StatusDraft, d1, named("市政道路台账", "道路"), inClass("209"), shareConditional, openNone,
			attrs(cityhub.FormatFile, cityhub.CycleYearly, ""), tagged("市政")),
		e.entryIn(t, cityhub.StatusPublished, d2, named("地下管线图", "管线"), inClass("209001"), notShared,
			attrs(cityhub.FormatImage, cityhub.CycleIrregular, ""), tagged("市政", "涉密")),
		e.entryIn(t, cityhub.StatusSubmitted, d2, named("水质在线监测视频", "水质"), inClass("211"),
			attrs(cityhub.FormatStream, cityhub.CycleRealtime, "environment"), tagged("环境")),
		e.entryIn(t, cityhub.StatusWithdrawn, d2, named("交通卡口过车", "卡口"), inClass("3"), shareConditional, openConditional,
			attrs(cityhub.FormatSelfDesc, cityhub.CycleWeekly, "traffic"), tagged()),
	}
	return d1, d2, entries
}

func testCatalogSearchFilters(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d1, d2, entries := filterCorpus(t, e)
	tests := []struct {
		name string
		q    cityhub.CatalogQuery
		want []int // indexes into entries
	}{
		{"published only", cityhub.CatalogQuery{}, []int{0, 1, 3}},
		{"own department", cityhub.CatalogQuery{Scope: cityhub.CatalogScope{Departments: []int64{d1.ID}}}, []int{0, 1, 2, 3}},
		{"other department", cityhub.CatalogQuery{Scope: cityhub.CatalogScope{Departments: []int64{d2.ID}}}, []int{0, 1, 3, 4, 5}},
		{"both departments", cityhub.CatalogQuery{Scope: cityhub.CatalogScope{Departments: []int64{d1.ID, d2.ID}}}, []int{0, 1, 2, 3, 4, 5}},
		{"all", cityhub.CatalogQuery{Scope: all}, []int{0, 1, 2, 3, 4, 5}},
		{"类 1", cityhub.CatalogQuery{Scope: all, Classification: "1"}, []int{0, 1}},
		{"项 101", cityhub.CatalogQuery{Scope: all, Classification: "101"}, []int{0}},
		{"类 2", cityhub.CatalogQuery{Scope: all, Classification: "2"}, []int{2, 3, 4}},
		{"项 209 with its 目", cityhub.CatalogQuery{Scope: all, Classification: "209"}, []int{2, 3}},
		{"目 209001", cityhub.CatalogQuery{Scope: all, Classification: "209001"}, []int{3}},
		{"类 3", cityhub.CatalogQuery{Scope: all, Classification: "3"}, []int{5}},
		{"classification prefix", cityhub.CatalogQuery{Scope: all, Classification: "20"}, []int{2, 3}},
		{"no such classification", cityhub.CatalogQuery{Scope: all, Classification: "9"}, nil},
		{"provider", cityhub.CatalogQuery{Scope: all, ProviderID: d2.ID}, []int{3, 4, 5}},
		{"unconditional share", cityhub.CatalogQuery{Scope: all, ShareType: cityhub.Unconditional}, []int{0, 1, 4}},
		{"conditional share", cityhub.CatalogQuery{Scope: all, ShareType: cityhub.Conditional}, []int{2, 5}},
		{"not shared", cityhub.CatalogQuery{Scope: all, ShareType: cityhub.NotShared}, []int{3}},
		{"open", cityhub.CatalogQuery{Scope: all, OpenType: cityhub.Unconditional}, []int{0, 4}},
		{"open on conditions", cityhub.CatalogQuery{Scope: all, OpenType: cityhub.Conditional}, []int{1, 5}},
		{"not open", cityhub.CatalogQuery{Scope: all, OpenType: cityhub.NotShared}, []int{2, 3}},
		{"format", cityhub.CatalogQuery{Scope: all, Format: cityhub.FormatSheet}, []int{1}},
		{"format image", cityhub.CatalogQuery{Scope: all, Format: cityhub.FormatImage}, []int{3}},
		{"update cycle", cityhub.CatalogQuery{Scope: all, UpdateCycle: cityhub.CycleDaily}, []int{0}},
		{"irregular", cityhub.CatalogQuery{Scope: all, UpdateCycle: cityhub.CycleIrregular}, []int{3}},
		{"domain", cityhub.CatalogQuery{Scope: all, Domain: "traffic"}, []int{5}},
		{"unknown domain", cityhub.CatalogQuery{Scope: all, Domain: "space"}, nil},
		{"tag", cityhub.CatalogQuery{Scope: all, Tag: "市政"}, []int{2, 3}},
		{"tag matches whole", cityhub.CatalogQuery{Scope: all, Tag: "市"}, nil},
		{"status", cityhub.CatalogQuery{Scope: all, Status: cityhub.StatusPublished}, []int{0, 1, 3}},
		{"withdrawn", cityhub.CatalogQuery{Scope: all, Status: cityhub.StatusWithdrawn}, []int{5}},
		{"draft", cityhub.CatalogQuery{Scope: all, Status: cityhub.StatusDraft}, []int{2}},
		{"draft outside the scope", cityhub.CatalogQuery{Status: cityhub.StatusDraft}, nil},
		{"类 and status", cityhub.CatalogQuery{Scope: all, Classification: "2", Status: cityhub.StatusPublished}, []int{3}},
		{"public: published and open", cityhub.CatalogQuery{Public: true}, []int{0, 1}},
		{"public whatever the scope", cityhub.CatalogQuery{Public: true, Scope: all}, []int{0, 1}},
		{"public and open unconditionally", cityhub.CatalogQuery{Public: true, OpenType: cityhub.Unconditional}, []int{0}},
		{"public drafts: none", cityhub.CatalogQuery{Public: true, Scope: all, Status: cityhub.StatusDraft}, nil},
		{"share and format", cityhub.CatalogQuery{Scope: all, ShareType: cityhub.Unconditional, Format: cityhub.FormatStream}, []int{4}},
		{"tag and provider", cityhub.CatalogQuery{Scope: all, Tag: "市政", ProviderID: d1.ID}, []int{2}},
		{"tag in a department's scope", cityhub.CatalogQuery{Scope: cityhub.CatalogScope{Departments: []int64{d1.ID}}, Tag: "市政"}, []int{2, 3}},
		{"text and filter", cityhub.CatalogQuery{Scope: all, Q: "库", Classification: "102"}, []int{1}},
		{"text in scope", cityhub.CatalogQuery{Q: "水质"}, nil},
	}
	for _, tt := range tests {
		res := e.search(t, tt.q)
		var want []string
		for _, i := range tt.want {
			want = append(want, entries[i].Name)
		}
		if got := sortedNames(res.Entries); !slices.Equal(got, sorted(want...)) || res.Total != len(want) {
			t.Errorf("%s: got %d %q, want %q", tt.name, res.Total, got, sorted(want...))
		}
	}
}

func testCatalogSearchSortPaging(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	// Created in this order, so code, name and time orders all differ.
	for _, c := range []struct{ name, class string }{
		{"Charlie 井", "209"}, {"Alpha 井", "211"}, {"Echo 井", "201"}, {"Bravo 井", "209"}, {"Delta 井", "101"},
	} {
		e.createEntry(t, d, named(c.name, "排序测试"), inClass(c.class))
	}
	byName := []string{"Alpha 井", "Bravo 井", "Charlie 井", "Delta 井", "Echo 井"}
	tests := []struct {
		sort string
		q    string
		want []string
	}{
		{"name", "", byName},
		{"name", "井", byName},
		{"code", "", []string{"Delta 井", "Echo 井", "Charlie 井", "Bravo 井", "Alpha 井"}},
		{"updated", "", []string{"Delta 井", "Bravo 井", "Echo 井", "Alpha 井", "Charlie 井"}},
		{"", "", []string{"Delta 井", "Bravo 井", "Echo 井", "Alpha 井", "Charlie 井"}},
	}
	for _, tt := range tests {
		res := e.search(t, cityhub.CatalogQuery{Scope: all, Q: tt.q, Sort: tt.sort})
		wantStrings(t, fmt.Sprintf("sort %q, q %q", tt.sort, tt.q), names(res.Entries), tt.want)
	}
	charlie := e.search(t, cityhub.CatalogQuery{Scope: all, Q: "Charlie"}).Entries[0]
	charlie.Abstract = "最近更新"
	if err := e.Store.UpdateEntry(e.ctx, charlie, ""); err != nil {
		t.Fatal(err)
	}
	res := e.search(t, cityhub.CatalogQuery{Scope: all})
	wantStrings(t, "after an update", names(res.Entries), []string{"Charlie 井", "Delta 井", "Bravo 井", "Echo 井", "Alpha 井"})

	pages := []struct {
		limit, offset int
		want          []string
	}{
		{2, 0, byName[0:2]},
		{2, 2, byName[2:4]},
		{2, 4, byName[4:]},
		{2, 6, nil},
		{0, 0, byName}, // no limit: the default page
		{-1, -5, byName},
		{3, 1, byName[1:4]},
	}
	for _, p := range pages {
		res := e.search(t, cityhub.CatalogQuery{Scope: all, Sort: "name", Limit: p.limit, Offset: p.offset})
		if res.Total != 5 {
			t.Errorf("page %d+%d: got total %d, want 5", p.offset, p.limit, res.Total)
		}
		wantStrings(t, fmt.Sprintf("page %d+%d", p.offset, p.limit), names(res.Entries), p.want)
	}
	if res := e.search(t, cityhub.CatalogQuery{Scope: all, Q: "井", Sort: "name", Limit: 2, Offset: 2}); res.Total != 5 || len(res.Entries) != 2 {
		t.Errorf("page of a text search: got total %d, %d entries; want 5, 2", res.Total, len(res.Entries))
	}
	if res := e.search(t, cityhub.CatalogQuery{Scope: all}); res.Entries == nil || res.Facets != nil {
		t.Errorf("result: got entries %v, facets %v; want a list and no facets unless asked", res.Entries, res.Facets)
	}
	if res := e.search(t, cityhub.CatalogQuery{Q: "不存在的词"}); res.Entries == nil || len(res.Entries) != 0 {
		t.Errorf("empty result: got %#v, want an empty list", res.Entries)
	}
}

// wantFacet compares one facet with counts by value; values are ordered by
// count, most first, then by value.
func wantFacet(t *testing.T, what string, got []cityhub.FacetValue, want map[string]int) {
	t.Helper()
	gotMap := map[string]int{}
	for _, v := range got {
		gotMap[v.Value] = v.Count
	}
	if len(got) != len(want) || fmt.Sprint(gotMap) != fmt.Sprint(want) {
		t.Errorf("facet %s:\ngot  %v\nwant %v", what, gotMap, want)
		return
	}
	if !slices.IsSortedFunc(got, func(a, b cityhub.FacetValue) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	}) {
		t.Errorf("facet %s: got %+v, want the largest count first, then by value", what, got)
	}
}

func testCatalogFacets(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d1, d2, _ := filterCorpus(t, e)
	res := e.search(t, cityhub.CatalogQuery{Scope: all, Facets: true, Limit: 1})
	if res.Total != 6 || len(res.Entries) != 1 {
		t.Fatalf("search: got total %d, %d entries; want 6, 1", res.Total, len(res.Entries))
	}
	if len(res.Facets) != len(cityhub.FacetNames) {
		t.Errorf("facets: got %d, want %d (%v)", len(res.Facets), len(cityhub.FacetNames), cityhub.FacetNames)
	}
	want := map[string]map[string]int{
		"classification": {"1": 2, "101": 1, "102": 1, "2": 3, "209": 2, "211": 1, "3": 1},
		"provider":       {itoa(d1.ID): 3, itoa(d2.ID): 3},
		"share_type":     {cityhub.Unconditional: 3, cityhub.Conditional: 2, cityhub.NotShared: 1},
		"open_type":      {cityhub.Unconditional: 2, cityhub.Conditional: 2, cityhub.NotShared: 2},
		"format": {cityhub.FormatDatabase: 1, cityhub.FormatSheet: 1, cityhub.FormatFile: 1, cityhub.FormatImage: 1,
			cityhub.FormatStream: 1, cityhub.FormatSelfDesc: 1},
		"update_cycle": {cityhub.CycleDaily: 1, cityhub.CycleMonthly: 1, cityhub.CycleYearly: 1, cityhub.CycleIrregular: 1,
			cityhub.CycleRealtime: 1, cityhub.CycleWeekly: 1},
		"domain": {"geo": 1, "market": 1, "environment": 1, "traffic": 1},
		"tag":    {"人口": 1, "基础": 1, "法人": 1, "市政": 2, "涉密": 1, "环境": 1},
		"status": {cityhub.StatusPublished: 3, cityhub.StatusDraft: 1, cityhub.StatusSubmitted: 1, cityhub.StatusWithdrawn: 1},
	}
	for _, name := range cityhub.FacetNames {
		wantFacet(t, name, res.Facets[name], want[name])
	}

	// Facets count what the query matches: the scope, filters and text.
	res = e.search(t, cityhub.CatalogQuery{Facets: true})
	wantFacet(t, "classification, published", res.Facets["classification"], map[string]int{"1": 2, "101": 1, "102": 1, "2": 1, "209": 1})
	wantFacet(t, "tag, published", res.Facets["tag"], map[string]int{"人口": 1, "基础": 1, "法人": 1, "市政": 1, "涉密": 1})
	wantFacet(t, "status, published", res.Facets["status"], map[string]int{cityhub.StatusPublished: 3})
	res = e.search(t, cityhub.CatalogQuery{Scope: all, Tag: "市政", Facets: true})
	wantFacet(t, "tag, tag 市政", res.Facets["tag"], map[string]int{"市政": 2, "涉密": 1})
	wantFacet(t, "provider, tag 市政", res.Facets["provider"], map[string]int{itoa(d1.ID): 1, itoa(d2.ID): 1})
	res = e.search(t, cityhub.CatalogQuery{Scope: all, Q: "库", Facets: true})
	wantFacet(t, "classification, q 库", res.Facets["classification"], map[string]int{"1": 2, "101": 1, "102": 1})
	wantFacet(t, "domain, q 库", res.Facets["domain"], map[string]int{"geo": 1, "market": 1})
	res = e.search(t, cityhub.CatalogQuery{Scope: all, Q: "不存在的词", Facets: true})
	for _, name := range cityhub.FacetNames {
		wantFacet(t, name+", no match", res.Facets[name], map[string]int{})
	}
}

func testCatalogClassificationCounts(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d1, d2, _ := filterCorpus(t, e)
	tests := []struct {
		name  string
		scope cityhub.CatalogScope
		want  map[string]int // codes not listed count 0
	}{
		{"published", cityhub.CatalogScope{}, map[string]int{"1": 2, "101": 1, "102": 1, "2": 1, "209": 1, "209001": 1}},
		{"all", all, map[string]int{"1": 2, "101": 1, "102": 1, "2": 3, "209": 2, "209001": 1, "211": 1, "3": 1}},
		{"department 1", cityhub.CatalogScope{Departments: []int64{d1.ID}}, map[string]int{"1": 2, "101": 1, "102": 1, "2": 2, "209": 2, "209001": 1}},
		{"department 2", cityhub.CatalogScope{Departments: []int64{d2.ID}},
			map[string]int{"1": 2, "101": 1, "102": 1, "2": 2, "209": 1, "209001": 1, "211": 1, "3": 1}},
	}
	for _, tt := range tests {
		cls, err := e.Store.Classifications(e.ctx, tt.scope)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(cls) != 21 {
			t.Fatalf("%s: got %d classifications, want 21", tt.name, len(cls))
		}
		got := map[string]int{}
		for _, c := range cls {
			if c.Count != 0 {
				got[c.Code] = c.Count
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got counts %v, want %v", tt.name, got, tt.want)
		}
	}
}

// wantImport compares a report with want, problems by row and field.
func wantImport(t *testing.T, what string, rep *cityhub.ImportReport, err error, want cityhub.ImportReport) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: import: %v", what, err)
	}
	var got, wantProblems []string
	for _, p := range rep.Problems {
		if p.Reason == "" {
			t.Errorf("%s: problem %+v has no reason", what, p)
		}
		got = append(got, fmt.Sprintf("%d:%s", p.Row, p.Field))
	}
	for _, p := range want.Problems {
		wantProblems = append(wantProblems, fmt.Sprintf("%d:%s", p.Row, p.Field))
	}
	slices.Sort(got)
	slices.Sort(wantProblems)
	if !slices.IsSortedFunc(rep.Problems, func(a, b cityhub.ImportProblem) int { return a.Row - b.Row }) {
		t.Errorf("%s: problems %+v are not in row order", what, rep.Problems)
	}
	gotCounts := fmt.Sprintf("received %d created %d updated %d skipped %d rows %v dry run %v",
		rep.Received, rep.Created, rep.Updated, rep.Skipped, rep.SkippedRows, rep.DryRun)
	wantCounts := fmt.Sprintf("received %d created %d updated %d skipped %d rows %v dry run %v",
		want.Received, want.Created, want.Updated, want.Skipped, want.SkippedRows, want.DryRun)
	if gotCounts != wantCounts || !slices.Equal(got, wantProblems) {
		t.Fatalf("%s:\ngot  %s, problems %q (%+v)\nwant %s, problems %q", what, gotCounts, got, rep.Problems, wantCounts, wantProblems)
	}
}

func problems(rowFields ...any) []cityhub.ImportProblem {
	var out []cityhub.ImportProblem
	for i := 0; i < len(rowFields); i += 2 {
		out = append(out, cityhub.ImportProblem{Row: rowFields[i].(int), Field: rowFields[i+1].(string)})
	}
	return out
}

func withCode(code string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.Code = code }
}

func relatedTo(codes ...string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.RelatedCodes = codes }
}

func withStatus(status string) func(*cityhub.CatalogEntry) {
	return func(c *cityhub.CatalogEntry) { c.Status = status }
}

func (e *env) entryByCode(t *testing.T, code string) *cityhub.CatalogEntry {
	t.Helper()
	c, err := e.Store.EntryByCode(e.ctx, code)
	if err != nil {
		t.Fatalf("entry %s: %v", code, err)
	}
	return c
}

func (e *env) total(t *testing.T) int {
	t.Helper()
	return e.search(t, cityhub.CatalogQuery{Scope: all}).Total
}

func testCatalogImport(t *testing.T, open Opener) {
	t.Run("AllValid", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		rows := []cityhub.ImportRow{
			{Row: 2, Entry: e.catalogEntry(d, named("无代码一", "x"))}, // before the kept codes: must not take one
			{Row: 3, Entry: e.catalogEntry(d, withCode("201/000001"))},
			{Row: 5, Entry: e.catalogEntry(d, withCode(" 201/000007 "))},
			{Row: 9, Entry: e.catalogEntry(d, withCode("209/000002"), inClass("209"), relatedTo("201/000007"))},
			{Row: 12, Entry: e.catalogEntry(d, named("无代码二", "x"), inClass("209"))},
		}
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{})
		wantImport(t, "import", rep, err, cityhub.ImportReport{Received: 5, Created: 5})
		res := e.search(t, cityhub.CatalogQuery{Scope: all, Sort: "code"})
		var codes []string
		for _, c := range res.Entries {
			codes = append(codes, c.Code)
			if c.Status != cityhub.StatusDraft || c.Version != 1 || c.EverPublished || c.ProviderCode != d.CreditCode {
				t.Errorf("imported %s: got status %s version %d ever published %v provider code %s; want a draft of version 1 with %s",
					c.Code, c.Status, c.Version, c.EverPublished, c.ProviderCode, d.CreditCode)
			}
			if vs := e.versions(t, c.ID); len(vs) != 1 || vs[0].Action != "import" {
				t.Errorf("versions of %s: got %+v, want one import", c.Code, vs)
			}
		}
		wantStrings(t, "codes", codes, []string{"201/000001", "201/000007", "201/000008", "209/000002", "209/000003"})
		if got := e.entryByCode(t, "201/000008"); got.Name != "无代码一" {
			t.Errorf("201/000008: got %q, want the row without a code", got.Name)
		}
		if got := e.entryByCode(t, "209/000002"); !slices.Equal(got.RelatedCodes, []string{"201/000007"}) {
			t.Errorf("related codes: got %q, want 201/000007 (a row of the same file)", got.RelatedCodes)
		}
		// New codes continue after the highest imported one.
		if c := e.createEntry(t, d); c.Code != "201/000009" {
			t.Errorf("next code in 201: got %s, want 201/000009", c.Code)
		}
		if c := e.createEntry(t, d, inClass("209")); c.Code != "209/000004" {
			t.Errorf("next code in 209: got %s, want 209/000004", c.Code)
		}
		recs := e.records(t)
		if r := recs[1]; r.Action != "catalog.import" || r.Object != "catalog" {
			t.Errorf("record: got %s on %s, want catalog.import on catalog", r.Action, r.Object)
		}
		e.wantIntact(t, 4)
	})

	t.Run("KeepStatus", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		statuses := []string{cityhub.StatusPublished, "已发布", cityhub.StatusWithdrawn, cityhub.StatusDraft, "", cityhub.StatusApproved}
		want := []string{cityhub.StatusPublished, cityhub.StatusPublished, cityhub.StatusWithdrawn, cityhub.StatusDraft, cityhub.StatusDraft, cityhub.StatusApproved}
		var rows []cityhub.ImportRow
		for i, s := range statuses {
			rows = append(rows, cityhub.ImportRow{Row: i + 2, Entry: e.catalogEntry(d, withCode(fmt.Sprintf("201/%06d", i+1)), withStatus(s))})
		}
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{KeepStatus: true})
		wantImport(t, "import keeping status", rep, err, cityhub.ImportReport{Received: 6, Created: 6})
		for i := range rows {
			c := e.entryByCode(t, fmt.Sprintf("201/%06d", i+1))
			everPublished := want[i] == cityhub.StatusPublished || want[i] == cityhub.StatusWithdrawn
			if c.Status != want[i] || c.EverPublished != everPublished {
				t.Errorf("row %d (%q): got status %s ever published %v, want %s %v", i+2, statuses[i], c.Status, c.EverPublished, want[i], everPublished)
			}
		}
		if res := e.search(t, cityhub.CatalogQuery{}); res.Total != 2 {
			t.Errorf("published entries: got %d, want 2", res.Total)
		}
		// Published once: the classification is fixed and it cannot be deleted.
		wantErr(t, e.Store.DeleteEntry(e.ctx, e.entryByCode(t, "201/000003").ID), cityhub.ECONFLICT)

		// Without KeepStatus every new entry is a draft.
		rep, err = e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d, withStatus(cityhub.StatusPublished))}}, cityhub.ImportOptions{})
		wantImport(t, "import ignoring status", rep, err, cityhub.ImportReport{Received: 1, Created: 1})
		if c := e.entryByCode(t, "201/000007"); c.Status != cityhub.StatusDraft || c.EverPublished {
			t.Errorf("imported without KeepStatus: got %s, ever published %v; want a draft", c.Status, c.EverPublished)
		}
		rep, err = e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 4, Entry: e.catalogEntry(d, withStatus("archived"))}}, cityhub.ImportOptions{KeepStatus: true})
		wantImport(t, "unknown status", rep, err, cityhub.ImportReport{Received: 1, Skipped: 1, SkippedRows: []int{4}, Problems: problems(4, "status")})
	})

	// badRows is a file with one valid row and problems in every other.
	badRows := func(e *env, d *cityhub.Department, existing string) []cityhub.ImportRow {
		return []cityhub.ImportRow{
			{Row: 2, Entry: e.catalogEntry(d, relatedTo(existing))},
			{Row: 3, Entry: e.catalogEntry(d, named("", "摘要"))},
			{Row: 4, Entry: e.catalogEntry(d, shareConditional, func(c *cityhub.CatalogEntry) { c.ShareBasis = "" })},
			{Row: 5, Entry: e.catalogEntry(d, withCode("202/000001"))},
			{Row: 6, Entry: e.catalogEntry(d, inClass("299"))},
			{Row: 7, Entry: e.catalogEntry(d, func(c *cityhub.CatalogEntry) { c.ProviderID = d.ID + 1000 })},
			{Row: 8, Entry: e.catalogEntry(d, relatedTo("201/000099"))},
			{Row: 9, Entry: e.catalogEntry(d, withCode("201/000050"), named("", "摘要"))},
			{Row: 10, Entry: e.catalogEntry(d, relatedTo("201/000050"))}, // names a row that cannot be imported
			{Row: 11, Entry: e.catalogEntry(d, withCode("201/-1"))},
		}
	}
	badProblems := problems(3, "name", 4, "share_basis", 5, "code", 6, "classification_code", 7, "provider_id",
		8, "related_codes", 9, "name", 10, "related_codes", 11, "code")

	t.Run("ProblemsImportNothing", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		existing := e.createEntry(t, d)
		rep, err := e.Store.ImportEntries(e.ctx, badRows(e, d, existing.Code), cityhub.ImportOptions{})
		wantImport(t, "import", rep, err, cityhub.ImportReport{Received: 10, Skipped: 10,
			SkippedRows: []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Problems: badProblems})
		if n := e.total(t); n != 1 {
			t.Errorf("entries: got %d, want 1 (nothing imported)", n)
		}
		if c := e.createEntry(t, d); c.Code != "201/000002" {
			t.Errorf("next code: got %s, want 201/000002 (no sequence used)", c.Code)
		}
		e.wantIntact(t, 3)
	})

	t.Run("SkipInvalid", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		existing := e.createEntry(t, d)
		rows := badRows(e, d, existing.Code)
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{SkipInvalid: true})
		wantImport(t, "import", rep, err, cityhub.ImportReport{Received: 10, Created: 1, Skipped: 9,
			SkippedRows: []int{3, 4, 5, 6, 7, 8, 9, 10, 11}, Problems: badProblems})
		if n := e.total(t); n != 2 {
			t.Errorf("entries: got %d, want 2", n)
		}
		if c := e.entryByCode(t, "201/000002"); c.Name != rows[0].Entry.Name || !slices.Equal(c.RelatedCodes, []string{existing.Code}) {
			t.Errorf("imported row: got %q related %q, want %q related %s", c.Name, c.RelatedCodes, rows[0].Entry.Name, existing.Code)
		}
		e.wantIntact(t, 3)
	})

	t.Run("DryRun", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		rows := []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d, withCode("201/000007"))}, {Row: 3, Entry: e.catalogEntry(d)}}
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{DryRun: true})
		wantImport(t, "dry run", rep, err, cityhub.ImportReport{Received: 2, Created: 2, DryRun: true})
		rows = append(rows, cityhub.ImportRow{Row: 4, Entry: e.catalogEntry(d, inClass("299"))})
		rep, err = e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{DryRun: true, SkipInvalid: true})
		wantImport(t, "dry run with a problem", rep, err, cityhub.ImportReport{Received: 3, Created: 2, Skipped: 1, SkippedRows: []int{4},
			Problems: problems(4, "classification_code"), DryRun: true})
		if n := e.total(t); n != 0 {
			t.Errorf("entries after dry runs: got %d, want 0", n)
		}
		if c := e.createEntry(t, d); c.Code != "201/000001" {
			t.Errorf("next code after dry runs: got %s, want 201/000001", c.Code)
		}
		e.wantIntact(t, 2)
	})

	t.Run("Codes", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		rows := []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d, withCode("201/000004"))}, {Row: 3, Entry: e.catalogEntry(d, withCode("201/000004"))}}
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{})
		wantImport(t, "duplicate code", rep, err, cityhub.ImportReport{Received: 2, Skipped: 2, SkippedRows: []int{2, 3}, Problems: problems(3, "code")})
		if reason := rep.Problems[0].Reason; !strings.Contains(reason, "row 2") {
			t.Errorf("reason: got %q, want it to name row 2", reason)
		}
		for _, code := range []string{"202/000001", "20/000001", "201/-1", "201/+5", "201/abc", "201/", "/5", "201",
			"201/1/2", "201/ 5", "201/1e3", "201/1000000000", "201/000000000001", "201/99999999999999999999999"} {
			rep, err := e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 7, Entry: e.catalogEntry(d, withCode(code))}}, cityhub.ImportOptions{})
			wantImport(t, "code "+code, rep, err, cityhub.ImportReport{Received: 1, Skipped: 1, SkippedRows: []int{7}, Problems: problems(7, "code")})
		}
		if n := e.total(t); n != 0 {
			t.Fatalf("entries after refused imports: got %d, want 0", n)
		}
		// The largest sequence number accepted; the next one follows it.
		rep, err = e.Store.ImportEntries(e.ctx, []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d, withCode("201/999999999"))}}, cityhub.ImportOptions{})
		wantImport(t, "largest code", rep, err, cityhub.ImportReport{Received: 1, Created: 1})
		if c := e.createEntry(t, d); c.Code != "201/1000000000" {
			t.Errorf("next code: got %s, want 201/1000000000", c.Code)
		}
	})

	t.Run("UpdatesExisting", func(t *testing.T) {
		e := newEnv(t, open)
		d := e.createDepartment(t)
		pub := e.entryIn(t, cityhub.StatusPublished, d)
		review := e.entryIn(t, cityhub.StatusSubmitted, d)
		if err := e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: pub.ID, Reason: "名称不准确"}); err != nil {
			t.Fatal(err)
		}
		rows := []cityhub.ImportRow{
			{Row: 2, Entry: e.catalogEntry(d, withCode(pub.Code), named("导入更新的名称", "导入更新的摘要"))},
			{Row: 3, Entry: e.catalogEntry(d, withCode(review.Code))},
		}
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{})
		wantImport(t, "import", rep, err, cityhub.ImportReport{Received: 2, Skipped: 2, SkippedRows: []int{2, 3},
			Problems: problems(3, "code")})
		wantSame(t, "published entry after a refused import", e.entry(t, pub.ID), pub)

		rep, err = e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{SkipInvalid: true})
		wantImport(t, "import skipping", rep, err, cityhub.ImportReport{Received: 2, Updated: 1, Skipped: 1, SkippedRows: []int{3},
			Problems: problems(3, "code")})
		got := e.entry(t, pub.ID)
		if got.Name != "导入更新的名称" || got.Code != pub.Code || got.Version != pub.Version+1 || got.Status != cityhub.StatusPublished ||
			!got.EverPublished || got.PublishDate != pub.PublishDate {
			t.Fatalf("updated by import: got %+v", got)
		}
		vs := e.versions(t, pub.ID)
		if last := vs[len(vs)-1]; last.Action != "import" || last.Note != "bulk import" || last.Version != got.Version {
			t.Errorf("last version: got %s %q v%d, want import \"bulk import\" v%d", last.Action, last.Note, last.Version, got.Version)
		}
		crs, err := e.Store.ChangeRequests(e.ctx, pub.ID)
		if err != nil || len(crs) != 1 || crs[0].ResolvedAt == nil || crs[0].ResolvedVer != got.Version {
			t.Errorf("change requests: got %+v, %v; want one resolved by version %d", crs, err, got.Version)
		}
		wantSame(t, "entry under review", e.entry(t, review.ID), review)
		if n := e.total(t); n != 2 {
			t.Errorf("entries: got %d, want 2 (an update creates none)", n)
		}
	})

	t.Run("CanEdit", func(t *testing.T) {
		e := newEnv(t, open)
		d1, d2 := e.createDepartment(t), e.createDepartment(t)
		rows := []cityhub.ImportRow{{Row: 2, Entry: e.catalogEntry(d1)}, {Row: 3, Entry: e.catalogEntry(d2)}, {Row: 4, Entry: e.catalogEntry(d1)}}
		own := func(id int64) bool { return id == d1.ID }
		rep, err := e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{CanEdit: own})
		wantImport(t, "import", rep, err, cityhub.ImportReport{Received: 3, Skipped: 3, SkippedRows: []int{2, 3, 4}, Problems: problems(3, "provider_id")})
		rep, err = e.Store.ImportEntries(e.ctx, rows, cityhub.ImportOptions{CanEdit: own, SkipInvalid: true})
		wantImport(t, "import skipping", rep, err, cityhub.ImportReport{Received: 3, Created: 2, Skipped: 1, SkippedRows: []int{3}, Problems: problems(3, "provider_id")})
		if res := e.search(t, cityhub.CatalogQuery{Scope: all, ProviderID: d2.ID}); res.Total != 0 {
			t.Errorf("entries of the refused provider: got %d, want 0", res.Total)
		}
	})
}

func testCatalogChangeRequests(t *testing.T, open Opener) {
	e := newEnv(t, open)
	d := e.createDepartment(t)
	c := e.entryIn(t, cityhub.StatusPublished, d)
	other := e.entryIn(t, cityhub.StatusPublished, d)
	consumer := cityhub.WithActor(e.ctx, cityhub.Actor{UserID: 31, Username: "consumer.zhao"})
	before := time.Now().Add(-time.Second)
	var created []*cityhub.ChangeRequest
	for _, reason := range []string{" 缺少字段说明 ", "更新周期不符"} {
		cr := &cityhub.ChangeRequest{EntryID: c.ID, Reason: reason, Requester: "someone else"}
		if err := e.Store.CreateChangeRequest(consumer, cr); err != nil {
			t.Fatalf("create change request: %v", err)
		}
		if cr.ID <= 0 || cr.Requester != "consumer.zhao" || cr.Reason != strings.TrimSpace(reason) || cr.CreatedAt.Before(before) || cr.ResolvedAt != nil {
			t.Fatalf("created: got %+v, want an id, requester consumer.zhao, the trimmed reason, created now, open", cr)
		}
		created = append(created, cr)
	}
	crs, err := e.Store.ChangeRequests(e.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "change requests, newest first", crs, []*cityhub.ChangeRequest{created[1], created[0]})
	if crs, err := e.Store.ChangeRequests(e.ctx, other.ID); err != nil || len(crs) != 0 {
		t.Fatalf("change requests of another entry: got %v, %v; want none", crs, err)
	}

	wantErr(t, e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: c.ID, Reason: "  "}), cityhub.EINVALID, "reason")
	wantErr(t, e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: c.ID, Reason: strings.Repeat("长", 2001)}), cityhub.EINVALID, "reason")
	wantErr(t, e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: other.ID + 1000, Reason: "x"}), cityhub.ENOTFOUND)

	// A transition answers nothing; an update answers every open request.
	e.transition(t, c.ID, cityhub.ActWithdraw)
	if crs, _ := e.Store.ChangeRequests(e.ctx, c.ID); crs[0].ResolvedAt != nil || crs[1].ResolvedAt != nil {
		t.Fatalf("after a withdrawal: got %+v, want the requests open", crs)
	}
	u := e.entry(t, c.ID)
	u.Abstract = "补充了字段说明"
	if err := e.Store.UpdateEntry(e.ctx, u, "答复变更请求"); err != nil {
		t.Fatal(err)
	}
	crs, err = e.Store.ChangeRequests(e.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range crs {
		if cr.ResolvedAt == nil || !cr.ResolvedAt.Equal(u.UpdatedAt) || cr.ResolvedVer != u.Version {
			t.Errorf("request %d: got resolved at %v by version %d, want %v by %d", cr.ID, cr.ResolvedAt, cr.ResolvedVer, u.UpdatedAt, u.Version)
		}
	}
	// A later request stays open, and a later update leaves the answered ones alone.
	late := &cityhub.ChangeRequest{EntryID: c.ID, Reason: "又发现问题"}
	if err := e.Store.CreateChangeRequest(consumer, late); err != nil {
		t.Fatal(err)
	}
	crs, _ = e.Store.ChangeRequests(e.ctx, c.ID)
	if len(crs) != 3 || crs[0].ID != late.ID || crs[0].ResolvedAt != nil {
		t.Fatalf("after a new request: got %+v, want it first and open", crs)
	}
	u2 := e.entry(t, c.ID)
	u2.Abstract = "再次更新"
	if err := e.Store.UpdateEntry(e.ctx, u2, ""); err != nil {
		t.Fatal(err)
	}
	crs, _ = e.Store.ChangeRequests(e.ctx, c.ID)
	if crs[0].ResolvedVer != u2.Version || crs[1].ResolvedVer != u.Version || crs[2].ResolvedVer != u.Version {
		t.Fatalf("resolved versions: got %d %d %d, want %d %d %d", crs[0].ResolvedVer, crs[1].ResolvedVer, crs[2].ResolvedVer, u2.Version, u.Version, u.Version)
	}
}

func testCatalogStats(t *testing.T, open Opener) {
	e := newEnv(t, open)
	da, db := e.createDepartment(t), e.createDepartment(t)
	now := time.Now()
	cycle := func(c string) func(*cityhub.CatalogEntry) {
		return func(e *cityhub.CatalogEntry) { e.UpdateCycle = c }
	}
	domain := func(d string) func(*cityhub.CatalogEntry) {
		return func(e *cityhub.CatalogEntry) { e.Domain = d }
	}
	a1 := e.entryIn(t, cityhub.StatusPublished, da, domain("traffic"), cycle(cityhub.CycleMonthly))
	e.entryIn(t, cityhub.StatusDraft, da, domain("traffic"), openConditional, cycle(cityhub.CycleWeekly))
	e.entryIn(t, cityhub.StatusPublished, da, inClass("209"), shareConditional, openNone, cycle(cityhub.CycleYearly))
	e.entryIn(t, cityhub.StatusWithdrawn, da, domain("traffic"), cycle(cityhub.CycleDaily))
	b1 := e.entryIn(t, cityhub.StatusPublished, db, inClass("211"), domain("environment"), cycle(cityhub.CycleDaily))
	e.entryIn(t, cityhub.StatusDraft, db, inClass("209"), notShared)
	e.entryIn(t, cityhub.StatusPublished, db, inClass("211"), domain("environment"), cycle(cityhub.CycleIrregular))

	stats := func(provider int64, at time.Time, deadline time.Time) *cityhub.CatalogStats {
		t.Helper()
		st, err := e.Store.CatalogStats(e.ctx, cityhub.StatsQuery{ProviderID: provider, Now: at, ChangeDeadline: deadline})
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		return st
	}
	st := stats(0, now, now.Add(-time.Hour))
	if st.Entries != 7 || st.OverdueUpdates != 0 || st.OverdueChanges != 0 {
		t.Fatalf("city: got %d entries, %d overdue updates, %d overdue changes; want 7, 0, 0", st.Entries, st.OverdueUpdates, st.OverdueChanges)
	}
	wantSame(t, "by status", st.ByStatus, map[string]int{cityhub.StatusPublished: 4, cityhub.StatusDraft: 2, cityhub.StatusWithdrawn: 1})
	wantSame(t, "share types", st.ShareTypes, map[string]int{cityhub.Unconditional: 5, cityhub.Conditional: 1, cityhub.NotShared: 1})
	wantSame(t, "open types", st.OpenTypes, map[string]int{cityhub.Unconditional: 4, cityhub.Conditional: 1, cityhub.NotShared: 2})
	domains, err := e.Store.Domains(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Domains) != len(domains) {
		t.Fatalf("domain rates: got %d, want one for each of the %d domains", len(st.Domains), len(domains))
	}
	rates := map[string]cityhub.DomainRate{}
	for i, dr := range st.Domains {
		if dr.Domain != domains[i].Code || dr.Name != domains[i].Name || dr.Key != domains[i].Key {
			t.Fatalf("domain rate %d: got %s %s key %v, want %s %s key %v (in domain order)",
				i, dr.Domain, dr.Name, dr.Key, domains[i].Code, domains[i].Name, domains[i].Key)
		}
		rates[dr.Domain] = dr
	}
	// The withdrawn traffic entry does not count; the draft one does.
	wantSame(t, "traffic", rates["traffic"], cityhub.DomainRate{Domain: "traffic", Name: "交通状况", Key: true, Openable: 2, Published: 1, Rate: 0.5})
	wantSame(t, "environment", rates["environment"], cityhub.DomainRate{Domain: "environment", Name: "环境监测", Key: true, Openable: 2, Published: 2, Rate: 1})
	wantSame(t, "urban", rates["urban"], cityhub.DomainRate{Domain: "urban", Name: "城市建设", Key: true})
	wantSame(t, "departments", st.Departments, []cityhub.DepartmentCatalogs{
		{ProviderID: da.ID, Name: da.Name, Entries: 4, Published: 2, Openable: 2, PublishedOpen: 1, OpenRate: 0.5},
		{ProviderID: db.ID, Name: db.Name, Entries: 3, Published: 2, Openable: 2, PublishedOpen: 2, OpenRate: 1},
	})

	one := stats(da.ID, now, now.Add(-time.Hour))
	if one.Entries != 4 || len(one.Departments) != 1 || one.Departments[0].ProviderID != da.ID {
		t.Fatalf("department: got %d entries, departments %+v; want 4 and only %d", one.Entries, one.Departments, da.ID)
	}
	wantSame(t, "department by status", one.ByStatus, map[string]int{cityhub.StatusPublished: 2, cityhub.StatusDraft: 1, cityhub.StatusWithdrawn: 1})
	for _, dr := range one.Domains {
		if dr.Domain == "environment" && (dr.Openable != 0 || dr.Published != 0) {
			t.Errorf("department's environment rate: got %+v, want nothing of the other department", dr)
		}
		if dr.Domain == "traffic" && (dr.Openable != 2 || dr.Published != 1 || dr.Rate != 0.5) {
			t.Errorf("department's traffic rate: got %+v, want 1 of 2", dr)
		}
	}

	// Data older than its cycle is overdue: only published entries, and
	// never for irregular ones.
	day := 24 * time.Hour
	overdue := []struct {
		after      time.Duration
		city, a, b int
	}{
		{0, 0, 0, 0},
		{2 * day, 1, 0, 1},    // b1 daily
		{40 * day, 2, 1, 1},   // + a1 monthly
		{400 * day, 3, 2, 1},  // + the yearly one
		{4000 * day, 3, 2, 1}, // irregular, drafts and withdrawn never
	}
	for _, o := range overdue {
		at := now.Add(o.after)
		if got := stats(0, at, at.Add(-time.Hour)); got.OverdueUpdates != o.city {
			t.Errorf("overdue updates after %v: got %d, want %d", o.after, got.OverdueUpdates, o.city)
		}
		if got := stats(da.ID, at, at).OverdueUpdates; got != o.a {
			t.Errorf("department a overdue after %v: got %d, want %d", o.after, got, o.a)
		}
		if got := stats(db.ID, at, at).OverdueUpdates; got != o.b {
			t.Errorf("department b overdue after %v: got %d, want %d", o.after, got, o.b)
		}
	}
	marked := now.Add(40 * day).Truncate(time.Microsecond)
	if err := e.Store.MarkDataUpdated(e.ctx, b1.ID, marked); err != nil {
		t.Fatalf("mark data updated: %v", err)
	}
	if got := e.entry(t, b1.ID).DataUpdatedAt; got == nil || !got.Equal(marked) {
		t.Fatalf("data updated at: got %v, want %v", got, marked)
	}
	if got := stats(0, now.Add(40*day), now).OverdueUpdates; got != 1 {
		t.Errorf("overdue after marking b1 updated: got %d, want 1 (a1 only)", got)
	}
	wantErr(t, e.Store.MarkDataUpdated(e.ctx, b1.ID+1000, now), cityhub.ENOTFOUND)

	// Open change requests created before the deadline are overdue, once per entry.
	for _, id := range []int64{a1.ID, b1.ID, b1.ID} {
		if err := e.Store.CreateChangeRequest(e.ctx, &cityhub.ChangeRequest{EntryID: id, Reason: "请更新"}); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Hour)
	if got := stats(0, later, later); got.OverdueChanges != 2 || got.Departments[0].OverdueChanges != 1 || got.Departments[1].OverdueChanges != 1 {
		t.Fatalf("overdue changes: got %d (%+v), want 2, one per department", got.OverdueChanges, got.Departments)
	}
	if got := stats(db.ID, later, later).OverdueChanges; got != 1 {
		t.Errorf("department b overdue changes: got %d, want 1", got)
	}
	if got := stats(0, later, now.Add(-time.Hour)).OverdueChanges; got != 0 {
		t.Errorf("overdue changes before the deadline: got %d, want 0", got)
	}
	u := e.entry(t, a1.ID)
	u.Abstract = "已按请求更新"
	if err := e.Store.UpdateEntry(e.ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	if got := stats(0, later, later).OverdueChanges; got != 1 {
		t.Errorf("overdue changes after answering a1: got %d, want 1", got)
	}
}

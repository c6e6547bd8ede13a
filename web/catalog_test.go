package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/web"
)

// entryOpts shape a test catalog entry.
type entryOpts func(e *cityhub.CatalogEntry)

// entry creates a draft catalog entry of provider under class, with two
// data items, shared and opened unconditionally in the urban domain.
func (s *stack) entry(provider *cityhub.Department, class, name string, opts ...entryOpts) *cityhub.CatalogEntry {
	s.t.Helper()
	e := &cityhub.CatalogEntry{ClassificationCode: class, Name: name, ProviderID: provider.ID,
		Abstract: name + "的台账与运行状态。", Format: cityhub.FormatDatabase, UpdateCycle: cityhub.CycleDaily,
		ShareType: cityhub.Unconditional, ShareMethod: "接口调用", OpenType: cityhub.Unconditional, Domain: "urban",
		Tags: []string{"市政设施"},
		Items: []cityhub.DataItem{
			{Name: "编号", Code: "no", Type: "C", Length: 30, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "经度", Code: "lon", Type: "N", Length: 12, Sensitivity: cityhub.SensPublic},
		}}
	for _, o := range opts {
		o(e)
	}
	if err := s.store.CreateEntry(context.Background(), e); err != nil {
		s.t.Fatalf("create entry %s: %v", name, err)
	}
	return e
}

// move takes e along the lifecycle in the store.
func (s *stack) move(e *cityhub.CatalogEntry, actions ...cityhub.Transition) {
	s.t.Helper()
	for _, a := range actions {
		reason := ""
		if a == cityhub.ActReject || a == cityhub.ActWithdraw {
			reason = "测试原因"
		}
		got, err := s.store.TransitionEntry(context.Background(), e.ID, a, reason)
		if err != nil {
			s.t.Fatalf("%s %s: %v", a, e.Name, err)
		}
		*e = *got
	}
}

func (s *stack) publish(e *cityhub.CatalogEntry) {
	s.t.Helper()
	s.move(e, cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish)
}

// rawKey finds message keys shown as themselves: a missing translation.
var rawKey = regexp.MustCompile(`\b(?:catalog|facet|stats|field|hint|action|reason|done|common|nav)\.[a-z_]+\b`)

func wantNoRawKeys(t *testing.T, path string, r *response) {
	t.Helper()
	if m := rawKey.FindString(r.body); m != "" {
		t.Errorf("%s shows the raw message key %q", path, m)
	}
}

func TestCatalogSearchAndFacets(t *testing.T) {
	s := newStack(t)
	s.user("reader", s.city, cityhub.RoleConsumer)
	lamps := s.entry(s.city, "209", "智慧路灯设施信息", func(e *cityhub.CatalogEntry) { e.Tags = []string{"路灯", "照明"} })
	air := s.entry(s.district, "211", "空气质量监测数据", func(e *cityhub.CatalogEntry) {
		e.Format, e.UpdateCycle, e.Domain, e.Tags = cityhub.FormatStream, cityhub.CycleRealtime, "environment", []string{"空气质量"}
		e.Items = append(e.Items, cityhub.DataItem{Name: "空气质量指数", Code: "aqi", Type: "N", Length: 4, Sensitivity: cityhub.SensPublic})
	})
	covers := s.entry(s.city, "209", "窨井盖设施信息")
	s.entry(s.district, "209", "海曙区路灯改造计划") // another department's draft
	for _, e := range []*cityhub.CatalogEntry{lamps, air, covers} {
		s.publish(e)
	}
	c := s.client()
	c.signIn("reader")

	// A two-character Chinese word finds the entry, not the draft of
	// another department that holds it too.
	r := c.get("/catalog?q=" + url.QueryEscape("路灯"))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="catalog-search"`, "智慧路灯设施信息", lamps.Code, "共 1 条", `value="路灯"`,
		`<option value="relevance" selected>`, `id="active-filters"`)
	wantNotBody(t, r, "海曙区路灯改造计划", "空气质量监测数据", "窨井盖设施信息")
	// English words in data item codes are found as well.
	r = c.get("/catalog?q=AQI")
	wantBody(t, r, "空气质量监测数据", "共 1 条")
	wantNotBody(t, r, "智慧路灯设施信息")

	// Facets count the results, with department and classification names.
	all := c.get("/catalog")
	wantStatus(t, all, http.StatusOK)
	wantBody(t, all, "共 3 条", `id="facet-format"`, `id="facet-provider"`, `id="facet-classification"`,
		"主题信息资源", "城乡建设", "生态环保", s.city.Name, s.district.Name, "环境监测", "城市建设")
	wantNotBody(t, all, "海曙区路灯改造计划")
	if got := facetCount(all.body, "数据库"); got != "2" {
		t.Errorf("format facet 数据库 counts %q, want 2", got)
	}
	// Following a facet narrows the results and shows a removable chip.
	stream := facetHref(t, all.body, "流媒体")
	r = c.get(stream)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "空气质量监测数据", "共 1 条", `class="chip"`, `<input type="hidden" name="format" value="stream">`)
	wantNotBody(t, r, "智慧路灯设施信息", "窨井盖设施信息")
	wantBody(t, r, `href="/catalog" id="clear-filters"`)
	// The chip removes the filter: back to everything.
	chip := regexp.MustCompile(`<a class="chip" href="([^"]*)"`).FindStringSubmatch(r.body)
	if chip == nil || html.UnescapeString(chip[1]) != "/catalog" {
		t.Errorf("chip link %v, want /catalog", chip)
	}

	// Filters combine with the words; the classification facet rolls up.
	r = c.get("/catalog?classification=209&q=" + url.QueryEscape("设施"))
	wantBody(t, r, "智慧路灯设施信息", "窨井盖设施信息", "共 2 条")
	wantNotBody(t, r, "空气质量监测数据")
	r = c.get("/catalog?classification=2&sort=name")
	wantBody(t, r, "共 3 条", `<option value="name" selected>`)

	// A malformed filter is reported, not a crash.
	r = c.get("/catalog?format=bogus")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="error-summary"`)

	// The classification tree links into the search.
	tree := c.get("/catalog/tree")
	wantStatus(t, tree, http.StatusOK)
	wantBody(t, tree, "基础信息资源", "主题信息资源", "部门信息资源", `href="/catalog?classification=209"`,
		`href="/catalog?classification=1"`)

	home := c.get("/")
	wantBody(t, home, `href="/catalog"`, `href="/catalog/stats"`, `href="/catalog/tree"`, "资源目录")
	wantNotBody(t, home, `href="/catalog/new"`)
	s.noErrorLogs()
}

// facetLink matches a facet's link and count by its label.
var facetLink = regexp.MustCompile(`<a href="([^"]*)" class="facet-link[^"]*"[^>]*><span class="facet-label">([^<]*)</span><span class="count">(\d+)</span>`)

func facetHref(t *testing.T, body, label string) string {
	t.Helper()
	for _, m := range facetLink.FindAllStringSubmatch(body, -1) {
		if m[2] == label {
			return html.UnescapeString(m[1])
		}
	}
	t.Fatalf("no facet value %q", label)
	return ""
}

func facetCount(body, label string) string {
	for _, m := range facetLink.FindAllStringSubmatch(body, -1) {
		if m[2] == label {
			return m[3]
		}
	}
	return ""
}

// entryForm is a complete, valid entry form but for what the test changes.
func entryForm(csrf string, provider int64) url.Values {
	return url.Values{"csrf": {csrf}, "classification_code": {"209"}, "name": {"智慧井盖监测信息"},
		"provider_id": {id(provider)}, "abstract": {"井盖位移、倾斜和水位传感器的实时告警。"}, "format": {"stream"},
		"share_type": {"conditional"}, "share_condition": {"仅限城市管理和应急部门履职使用。"}, "share_method": {"接口订阅"},
		"share_basis": {"《政务信息资源共享管理暂行办法》第九条"},
		"open_type":   {"none"}, "open_basis": {"涉及城市生命线安全。"},
		"update_cycle": {"realtime"}, "publish_date": {""}, "tags": {"井盖，物联网、告警"}, "related_codes": {""},
		"items[0].name": {"井盖编号"}, "items[0].code": {"cover_no"}, "items[0].type": {"C"}, "items[0].length": {"30"},
		"items[0].sensitivity": {"internal"}, "items[0].primary_key": {"1"},
		// rows 1 to 4 are left empty, as the form offers them
		"items[1].name": {""}, "items[1].type": {"C"}, "items[1].sensitivity": {"internal"},
		"items[5].name": {"倾角"}, "items[5].code": {"tilt"}, "items[5].type": {"N"}, "items[5].length": {"6"},
		"items[5].sensitivity": {"public"}, "items[5].description": {"单位：度"},
	}
}

func TestCatalogStewardCreatesEntry(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	c := s.client()
	c.signIn("steward")
	csrf := c.csrf()

	form := c.get("/catalog/new")
	wantStatus(t, form, http.StatusOK)
	wantBody(t, form, `id="entry-form"`, `<option value="`+id(s.city.ID)+`" selected>`+s.city.Name,
		`name="items[0].name"`, `<option value="C" selected>C 字符型</option>`, "有条件共享", "城乡建设", "每季度",
		"重点领域", `name="csrf"`)
	wantNotBody(t, form, s.district.Name) // only the steward's own department
	wantBody(t, c.get("/"), `href="/catalog/new"`)

	// A conditional share without its basis, and a bad data item: every
	// problem shows beside its input, and what was typed stays.
	bad := entryForm(csrf, s.city.ID)
	bad.Set("share_basis", "")
	bad.Set("items[5].type", "X")
	bad.Set("items[5].length", "six")
	r := c.post("/catalog/new", bad)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="error-summary"`,
		`id="share_basis-error"`, "有条件共享和不予共享须写明法律、法规或政策依据",
		`aria-invalid="true" aria-describedby="share_basis-error"`,
		// the sixth form row is the second item: the domain's items[1]
		`id="items[1].type-error"`, `id="items[1].length-error"`, `href="#items%5b1%5d.type"`, "第 2 个信息项的数据类型",
		`value="智慧井盖监测信息"`, `value="井盖编号"`, `value="cover_no"`, `value="倾角"`, `value="six"`,
		`<option value="X" selected data-invalid>X</option>`,
		`<option value="conditional" selected>有条件共享</option>`, `<option value="stream" selected>流媒体</option>`,
		"仅限城市管理和应急部门履职使用。", `value="井盖，物联网、告警"`)
	wantNotBody(t, r, `id="items[5].type-error"`)
	if res, _ := s.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}}); res.Total != 0 {
		t.Fatalf("%d entries after a refused form", res.Total)
	}

	// "Add rows" keeps everything and saves nothing.
	more := entryForm(csrf, s.city.ID)
	more.Set("add_rows", "1")
	r = c.post("/catalog/new", more)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `value="倾角"`, `name="items[4].name"`)
	wantNotBody(t, r, `id="error-summary"`)
	// Ticking "remove" drops a row.
	rm := entryForm(csrf, s.city.ID)
	rm.Set("items[5].remove", "1")
	rm.Set("add_rows", "1")
	wantNotBody(t, c.post("/catalog/new", rm), `value="倾角"`)

	// Another department's catalog is not the steward's to write.
	wantStatus(t, c.post("/catalog/new", entryForm(csrf, s.district.ID)), http.StatusForbidden)

	r = c.post("/catalog/new", entryForm(csrf, s.city.ID))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/catalog/entries/") {
		t.Fatalf("Location %q", loc)
	}
	page := c.get(loc)
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, "目录条目已创建为草稿", "智慧井盖监测信息", "209/", "草稿", "有条件共享", "不予开放",
		"《政务信息资源共享管理暂行办法》第九条", "井盖编号", "cover_no", "倾角", "单位：度", "数值型", ">PK<",
		`href="/catalog?tag=%e4%ba%95%e7%9b%96"`, "物联网", s.city.CreditCode, `id="entry-edit"`, `value="submit"`,
		`id="entry-delete"`)
	res, err := s.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}})
	if err != nil || res.Total != 1 {
		t.Fatalf("search after create: %v, %v", res, err)
	}
	e := res.Entries[0]
	if len(e.Items) != 2 || e.Items[1].Name != "倾角" || e.Items[1].Length != 6 || !e.Items[0].PrimaryKey ||
		len(e.Tags) != 3 || e.ShareType != cityhub.Conditional || e.Status != cityhub.StatusDraft {
		t.Errorf("stored entry %+v", e)
	}

	// The edit form holds the entry; a draft may be deleted.
	edit := c.get(loc[:strings.Index(loc, "?")] + "/edit")
	wantStatus(t, edit, http.StatusOK)
	wantBody(t, edit, `value="智慧井盖监测信息"`, `value="cover_no"`, `value="井盖, 物联网, 告警"`, e.Code, `id="note"`)
	r = c.post("/catalog/entries/"+id(e.ID)+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	wantBody(t, c.get(r.header.Get("Location")), "草稿已删除")
	s.noErrorLogs()
}

func TestCatalogReviewWorkflow(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	s.user("reviewer", s.city, cityhub.RoleReviewer)
	s.user("reader", s.district, cityhub.RoleConsumer)
	e := s.entry(s.city, "209", "智慧路灯设施信息")
	path := "/catalog/entries/" + id(e.ID)

	st := s.client()
	st.signIn("steward")
	stCSRF := st.csrf()
	r := st.get(path)
	wantBody(t, r, `name="action" value="submit"`, `id="entry-edit"`)
	wantNotBody(t, r, `value="approve"`, `value="publish"`)
	wantStatus(t, st.post(path+"/transition", url.Values{"csrf": {stCSRF}, "action": {"approve"}}), http.StatusForbidden)
	r = st.post(path+"/transition", url.Values{"csrf": {stCSRF}, "action": {"submit"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = st.get(r.header.Get("Location"))
	wantBody(t, r, "已提交审核。", `id="entry-status">待审核`, `id="edit-blocked"`, "审核期间不能修改")
	wantNotBody(t, r, `id="entry-edit"`, `value="submit"`)
	// Under review the form explains itself instead of offering changes.
	r = st.get(path + "/edit")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="entry-locked"`)
	wantNotBody(t, r, `id="entry-form"`)
	r = st.post(path+"/edit", entryForm(stCSRF, s.city.ID))
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, `id="entry-locked"`)

	rv := s.client()
	rv.signIn("reviewer")
	rvCSRF := rv.csrf()
	r = rv.get(path)
	wantBody(t, r, `name="action" value="approve"`, `name="action" value="reject"`, `id="reason"`)
	wantNotBody(t, r, `value="publish"`, `id="entry-edit"`)
	// A rejection needs its reason.
	r = rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"reject"}, "reason": {"  "}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="reason-error"`, "请说明原因")
	r = rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"approve"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = rv.get(r.header.Get("Location"))
	wantBody(t, r, "已审核通过。", `name="action" value="publish"`, `name="action" value="reject"`)
	// A stale button (approving twice) is a clear conflict.
	r = rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"approve"}})
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "无法审核通过")
	r = rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"publish"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = rv.get(r.header.Get("Location"))
	wantBody(t, r, "已发布。", `id="entry-status">已发布`, `name="action" value="withdraw"`,
		"<del>已审核</del>", "<ins>已发布</ins>", "审核通过", "提交审核")
	wantStatus(t, rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"fly"}}), http.StatusBadRequest)

	// Published, the steward may change it: a new version with its diff.
	form := entryForm(stCSRF, s.city.ID)
	form.Set("name", "智慧路灯设施信息（2026版）")
	form.Set("note", "补充井盖传感器字段")
	r = st.post(path+"/edit", form)
	wantStatus(t, r, http.StatusSeeOther)
	r = st.get(r.header.Get("Location"))
	wantBody(t, r, "目录条目已保存为新版本。", "智慧路灯设施信息（2026版）", "补充井盖传感器字段",
		"<del>智慧路灯设施信息</del>", "<ins>智慧路灯设施信息（2026版）</ins>", "信息项“倾角”", "<ins>倾角 (tilt) · 数值型(6) · 公开 · 单位：度</ins>",
		"<del>无条件共享</del>", "<ins>有条件共享</ins>", "第 5 版")

	// Anyone who sees it may ask for a change; the reason is required.
	rd := s.client()
	rd.signIn("reader")
	rdCSRF := rd.csrf()
	r = rd.get(path)
	wantStatus(t, r, http.StatusOK)
	wantNotBody(t, r, `id="entry-edit"`, `id="entry-actions"`)
	r = rd.post(path+"/change-requests", url.Values{"csrf": {rdCSRF}, "change_reason": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="change_reason-error"`, "必填，最多 2000 个字符")
	r = rd.post(path+"/change-requests", url.Values{"csrf": {rdCSRF}, "change_reason": {"灯杆编号规则已调整"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = rd.get(r.header.Get("Location"))
	wantBody(t, r, "变更申请已提交", "灯杆编号规则已调整", "reader", "待处理")

	// A reviewer withdraws with a reason, shown on the entry.
	r = rv.post(path+"/transition", url.Values{"csrf": {rvCSRF}, "action": {"withdraw"}, "reason": {"数据来源停用"}})
	wantStatus(t, r, http.StatusSeeOther)
	wantBody(t, rv.get(path), `id="status-reason"`, "数据来源停用", "已撤回")
	s.noErrorLogs()
}

func TestCatalogVisibility(t *testing.T) {
	s := newStack(t)
	s.user("reader", s.district, cityhub.RoleConsumer)
	s.user("haishu-steward", s.district, cityhub.RoleSteward)
	draft := s.entry(s.city, "209", "城管内部巡查草稿")
	published := s.entry(s.city, "209", "智慧路灯设施信息")
	s.publish(published)

	c := s.client()
	c.signIn("reader")
	csrf := c.csrf()
	// Another department's draft looks absent everywhere.
	wantStatus(t, c.get("/catalog/entries/"+id(draft.ID)), http.StatusNotFound)
	wantStatus(t, c.get("/catalog/entries/"+id(draft.ID)+"/edit"), http.StatusNotFound)
	wantStatus(t, c.post("/catalog/entries/"+id(draft.ID)+"/transition", url.Values{"csrf": {csrf}, "action": {"submit"}}),
		http.StatusNotFound)
	wantStatus(t, c.post("/catalog/entries/"+id(draft.ID)+"/change-requests", url.Values{"csrf": {csrf}, "change_reason": {"x"}}),
		http.StatusNotFound)
	wantNotBody(t, c.get("/catalog?q="+url.QueryEscape("巡查")), "城管内部巡查草稿")
	wantNotBody(t, c.get("/catalog"), "城管内部巡查草稿")
	wantStatus(t, c.get("/catalog/entries/999999"), http.StatusNotFound)
	wantStatus(t, c.get("/catalog/entries/abc"), http.StatusNotFound)

	// A published entry is everyone's to read, nobody else's to change.
	r := c.get("/catalog/entries/" + id(published.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "智慧路灯设施信息", `id="change-request-form"`)
	wantNotBody(t, r, `id="entry-edit"`, `id="entry-actions"`, `id="entry-delete"`, `id="edit-blocked"`)
	wantStatus(t, c.get("/catalog/entries/"+id(published.ID)+"/edit"), http.StatusForbidden)
	wantStatus(t, c.get("/catalog/new"), http.StatusForbidden)
	wantStatus(t, c.post("/catalog/new", entryForm(csrf, s.district.ID)), http.StatusForbidden)
	wantNotBody(t, c.get("/catalog"), `id="catalog-new"`)

	// A steward of another department cannot edit or move it either.
	h := s.client()
	h.signIn("haishu-steward")
	hCSRF := h.csrf()
	r = h.get("/catalog/entries/" + id(published.ID))
	wantNotBody(t, r, `id="entry-edit"`, `value="withdraw"`)
	wantStatus(t, h.post("/catalog/entries/"+id(published.ID)+"/edit", entryForm(hCSRF, s.district.ID)), http.StatusForbidden)
	wantStatus(t, h.post("/catalog/entries/"+id(published.ID)+"/transition", url.Values{"csrf": {hCSRF}, "action": {"withdraw"}}),
		http.StatusForbidden)
	wantStatus(t, h.post("/catalog/entries/"+id(published.ID)+"/delete", url.Values{"csrf": {hCSRF}}), http.StatusForbidden)
	s.noErrorLogs()
}

func TestCatalogStats(t *testing.T) {
	s := newStack(t)
	s.user("reader", s.district, cityhub.RoleConsumer)
	// Six weeks ago: published daily data never updated since, and a
	// change request nobody answered.
	s.skew.Store(int64(-42 * 24 * time.Hour))
	stale := s.entry(s.city, "209", "智慧路灯设施信息")
	s.publish(stale)
	if err := s.store.CreateChangeRequest(context.Background(), &cityhub.ChangeRequest{EntryID: stale.ID, Reason: "字段说明缺失"}); err != nil {
		t.Fatal(err)
	}
	s.skew.Store(0)
	fresh := s.entry(s.city, "211", "空气质量监测数据", func(e *cityhub.CatalogEntry) { e.Domain = "environment" })
	s.publish(fresh)
	waiting := s.entry(s.district, "209", "海曙区窨井盖设施信息") // openable, not yet published
	s.move(waiting, cityhub.ActSubmit)
	s.entry(s.district, "203", "低保对象信息", func(e *cityhub.CatalogEntry) {
		e.ShareType, e.ShareCondition, e.ShareBasis, e.OpenType, e.OpenBasis, e.Domain =
			cityhub.Conditional, "仅限民政救助", "个人信息保护法", cityhub.NotShared, "个人信息保护法", ""
	})

	c := s.client()
	c.signIn("reader")
	r := c.get("/catalog/stats")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="kpi-entries">4<`, `id="kpi-published">2<`, `id="kpi-open-rate">67%<`,
		`<span id="open-rate-target">目标 80%</span>`, `id="kpi-overdue-updates">1<`, `id="kpi-overdue-changes">1<`,
		"重点领域目标不低于 80%", "城市建设", "环境监测", `class="key-domain below-target"`, ">50%<", ">100%<",
		`href="/catalog/departments/`+id(s.city.ID)+`"`, `href="/catalog/departments/`+id(s.district.ID)+`"`,
		"无条件共享", "有条件共享", `class="bar-fill share-unconditional" width="75.0"`, `x1="80.0"`)
	wantNoRawKeys(t, "/catalog/stats", r)

	dept := c.get("/catalog/departments/" + id(s.city.ID))
	wantStatus(t, dept, http.StatusOK)
	wantBody(t, dept, s.city.Name, `id="kpi-entries">2<`, `id="kpi-open-rate">100%<`, `id="kpi-overdue-changes">1<`,
		"智慧路灯设施信息", "空气质量监测数据", `href="/catalog?provider_id=`+id(s.city.ID)+`"`)
	// The district's own draft counts in its statistics; the list shows
	// only what the reader may see.
	own := c.get("/catalog/departments/" + id(s.district.ID))
	wantBody(t, own, `id="kpi-entries">2<`, "海曙区窨井盖设施信息", "低保对象信息")
	wantStatus(t, c.get("/catalog/departments/999999"), http.StatusNotFound)

	// The entry marks its overdue change request.
	wantBody(t, c.get("/catalog/entries/"+id(stale.ID)), `class="overdue"`, "逾期未更新", "字段说明缺失")
	s.noErrorLogs()
}

func TestCatalogPagesInEnglish(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	e := s.entry(s.city, "209", "智慧路灯设施信息")
	s.publish(e)
	draft := s.entry(s.district, "101", "人口基本信息", func(e *cityhub.CatalogEntry) {
		e.Domain = ""
		e.OpenType = cityhub.NotShared
		e.OpenBasis = "个人信息"
	})
	c := s.client()
	c.signIn("admin")
	paths := []string{"/catalog", "/catalog?q=" + url.QueryEscape("路灯") + "&format=database", "/catalog/tree", "/catalog/stats",
		"/catalog/new", "/catalog/entries/" + id(e.ID), "/catalog/entries/" + id(e.ID) + "/edit",
		"/catalog/entries/" + id(draft.ID), "/catalog/departments/" + id(s.city.ID)}
	for _, lang := range []string{"zh", "en"} {
		c.get("/?lang=" + lang)
		for _, p := range paths {
			r := c.get(p)
			wantStatus(t, r, http.StatusOK)
			wantNoRawKeys(t, lang+" "+p, r)
		}
	}
	r := c.get("/catalog/entries/" + id(e.ID))
	wantBody(t, r, `lang="en"`, "Core metadata", "Shared unconditionally", "Published", "Version history", "Data items",
		"Character", "Public")
	r = c.get("/catalog")
	wantBody(t, r, "Resource catalog", "Filters", "Classification", "Database")
	// A platform administrator may catalog for any department.
	wantBody(t, c.get("/catalog/new"), s.city.Name, s.district.Name)
	s.noErrorLogs()
}

func TestCatalogStatsTarget(t *testing.T) {
	s := newStack(t, func(c *web.Console) { c.Policy.OpenRateTarget = 0.5 })
	s.user("reader", s.city, cityhub.RoleConsumer)
	s.publish(s.entry(s.city, "209", "智慧路灯设施信息"))
	s.move(s.entry(s.city, "209", "窨井盖设施信息"), cityhub.ActSubmit)
	c := s.client()
	c.signIn("reader")
	r := c.get("/catalog/stats")
	wantStatus(t, r, http.StatusOK)
	// 1 of 2 open: on target at 50%, so nothing is red.
	wantBody(t, r, `<span id="open-rate-target">目标 50%</span>`, `id="kpi-open-rate">50%<`, `x1="50.0"`, "重点领域 0 / 8 个未达标")
	wantNotBody(t, r, "below-target", `class="kpi bad"`)
}

package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
)

// transitionBody is a lifecycle action for POST …/transition.
func transitionBody(a cityhub.Transition, reason string) map[string]string {
	return map[string]string{"action": string(a), "reason": reason}
}

// wantStatus fails the test unless res has status want; for errors it
// checks the error shape and, when field is set, that fields name it.
func wantStatus(t *testing.T, res *response, want int, field string) {
	t.Helper()
	if res.status != want {
		t.Fatalf("got %v, want %d", res, want)
	}
	if want >= 400 {
		if apiErr := res.apiErr(t); field != "" && apiErr.Fields[field] == "" {
			t.Errorf("%v: got fields %v, want one naming %q", res, apiErr.Fields, field)
		}
	}
}

// TestCatalogLifecycle follows one entry through its life over the API:
// drafting, review with a rejection, publication, a change request, an
// update, withdrawal and resubmission; then its history.
func TestCatalogLifecycle(t *testing.T) {
	e := newEnv(t)
	st, rv, co, cob, stb := e.tokens[rST], e.tokens[rRV], e.tokens[rCO], e.tokens[rCOB], e.tokens[rSTB]

	body := e.entryBody(0)
	delete(body, "provider_id") // a steward's own department by default
	res := e.do("POST", "/api/v1/catalog/entries", st, body)
	wantStatus(t, res, 201, "")
	en := decodeEntry(t, res)
	path := entryPath(en.ID, "")
	move := func(token string, a cityhub.Transition, reason string, want int, field string) *cityhub.CatalogEntry {
		t.Helper()
		res := e.do("POST", entryPath(en.ID, "/transition"), token, transitionBody(a, reason))
		wantStatus(t, res, want, field)
		if want != 200 {
			return nil
		}
		return decodeEntry(t, res)
	}
	update := func(want int) *cityhub.CatalogEntry {
		t.Helper()
		res := e.do("PUT", path, st, body)
		wantStatus(t, res, want, "")
		if want != 200 {
			return nil
		}
		return decodeEntry(t, res)
	}

	if en.ProviderID != e.deptA.ID || en.Status != cityhub.StatusDraft {
		t.Fatalf("got %+v, want a draft of department A", en)
	}
	wantStatus(t, e.do("GET", path, co, nil), 200, "")
	wantStatus(t, e.do("GET", path, cob, nil), 404, "")

	// Drafts change freely; each change is a version with its note.
	body["provider_id"] = e.deptA.ID
	body["abstract"], body["note"] = "城市建设项目的编号、进度与投资额", "补充摘要"
	if got := update(200); got.Version != 2 || got.Abstract != body["abstract"] {
		t.Errorf("update: got %+v, want version 2 with the new abstract", got)
	}

	// Under review the content is frozen and the entry cannot be deleted.
	if got := move(st, cityhub.ActSubmit, "", 200, ""); got.Status != cityhub.StatusSubmitted {
		t.Fatalf("submit: got %+v", got)
	}
	update(409)
	wantStatus(t, e.do("DELETE", path, st, nil), 409, "")
	move(st, cityhub.ActApprove, "", 403, "")
	move(stb, cityhub.ActWithdraw, "x", 404, "") // another department's draft looks absent
	move(rv, cityhub.ActReject, "", 400, "reason")
	move(rv, "archive", "", 400, "action")
	if got := move(rv, cityhub.ActReject, "共享方式不明确", 200, ""); got.Status != cityhub.StatusRejected || got.StatusReason != "共享方式不明确" {
		t.Errorf("reject: got %+v, want rejected with the reason", got)
	}

	// A rejected entry is edited and goes round again.
	body["share_method"], body["note"] = "接口调用（每日增量）", "按审核意见修改"
	update(200)
	move(st, cityhub.ActSubmit, "", 200, "")
	move(rv, cityhub.ActApprove, "", 200, "")
	move(rv, cityhub.ActApprove, "", 409, "")
	pub := move(rv, cityhub.ActPublish, "", 200, "")
	if pub.Status != cityhub.StatusPublished || !pub.EverPublished || pub.PublishDate == "" || pub.StatusReason != "" {
		t.Fatalf("publish: got %+v, want published with a date and no reason left over", pub)
	}

	// Everyone sees it now; a consumer of B asks for a change.
	wantStatus(t, e.do("GET", path, cob, nil), 200, "")
	wantStatus(t, e.do("POST", entryPath(en.ID, "/change-requests"), cob, map[string]string{"reason": " "}), 400, "reason")
	res = e.do("POST", entryPath(en.ID, "/change-requests"), cob, map[string]string{"reason": "请增加项目地址信息项"})
	wantStatus(t, res, 201, "")
	var cr cityhub.ChangeRequest
	res.decode(t, &cr)

	// The provider's update answers it; the entry stays published.
	body["items"] = []map[string]any{{"name": "编号", "type": "C", "sensitivity": "public"},
		{"name": "项目地址", "code": "address", "type": "C", "length": 200, "sensitivity": "internal"}}
	body["note"] = "增加项目地址"
	upd := update(200)
	if upd.Status != cityhub.StatusPublished || upd.PublishDate != pub.PublishDate || upd.Version != pub.Version+1 || len(upd.Items) != 2 {
		t.Errorf("update of the published entry: got %+v, want it published on %s at version %d with 2 items", upd, pub.PublishDate, pub.Version+1)
	}
	var crs listOf[cityhub.ChangeRequest]
	e.do("GET", entryPath(en.ID, "/change-requests"), st, nil).decode(t, &crs)
	if len(crs.Items) != 1 || crs.Items[0].ID != cr.ID || crs.Items[0].ResolvedAt == nil || crs.Items[0].ResolvedVer != upd.Version {
		t.Errorf("change requests after the update: got %+v, want request %d resolved by version %d", crs.Items, cr.ID, upd.Version)
	}

	// Withdrawal needs a reason and hides the entry again; once published,
	// it can never be deleted, but it can come back.
	move(st, cityhub.ActWithdraw, "", 400, "reason")
	if got := move(st, cityhub.ActWithdraw, "数据源停用", 200, ""); got.Status != cityhub.StatusWithdrawn || got.StatusReason != "数据源停用" {
		t.Errorf("withdraw: got %+v", got)
	}
	wantStatus(t, e.do("GET", path, cob, nil), 404, "")
	wantStatus(t, e.do("DELETE", path, st, nil), 409, "")
	move(st, cityhub.ActSubmit, "", 200, "")

	// The history, as anyone who may see the entry reads it.
	var vs listOf[versionView]
	e.do("GET", entryPath(en.ID, "/versions"), co, nil).decode(t, &vs)
	var actions, actors []string
	for i, v := range vs.Items {
		actions = append(actions, v.Action)
		actors = append(actors, v.Actor)
		if v.Version != i+1 || v.Entry == nil || v.Entry.Version != i+1 {
			t.Errorf("version %d: got %+v", i+1, v)
		}
	}
	want := "create update submit reject update submit approve publish update withdraw submit"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("got actions %q, want %q", got, want)
	}
	if got := strings.Join(actors, " "); got != "steward-a steward-a steward-a reviewer steward-a steward-a reviewer reviewer steward-a steward-a steward-a" {
		t.Errorf("got actors %q", got)
	}
	changed := func(v versionView) string {
		var fields []string
		for _, c := range v.Changes {
			fields = append(fields, c.Field)
		}
		return strings.Join(fields, " ")
	}
	if got := changed(vs.Items[1]); got != "abstract" || vs.Items[1].Note != "补充摘要" {
		t.Errorf("version 2: got changes %q note %q, want abstract, 补充摘要", got, vs.Items[1].Note)
	}
	if got := changed(vs.Items[3]); got != "status" || vs.Items[3].Note != "共享方式不明确" {
		t.Errorf("version 4: got changes %q note %q, want status with the rejection reason", got, vs.Items[3].Note)
	}
	if got := changed(vs.Items[8]); got != "items[项目地址]" {
		t.Errorf("version 9: got changes %q, want the new item", got)
	}

	// Every step is in the audit log under the entry, by its actor.
	recs, err := e.store.AuditRecords(context.Background(), cityhub.AuditFilter{Object: fmt.Sprintf("catalog:%d", en.ID), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, r := range recs {
		audited = append(audited, r.Action+"/"+r.Actor)
	}
	slices.Reverse(audited)
	if got := strings.Join(audited, " "); !strings.HasPrefix(got, "catalog.create/steward-a catalog.update/steward-a catalog.submit/steward-a catalog.reject/reviewer") ||
		!strings.Contains(got, "catalog.change_request/consumer-b") || !strings.HasSuffix(got, "catalog.withdraw/steward-a catalog.submit/steward-a") {
		t.Errorf("got audit trail %s", got)
	}
}

// TestCatalogSearch covers the search parameters, full text in Chinese and
// English, facets and what each caller may find.
func TestCatalogSearch(t *testing.T) {
	e := newEnv(t)
	mk := func(name string, dept *cityhub.Department, status string, change func(*cityhub.CatalogEntry)) *cityhub.CatalogEntry {
		en := testEntry(name, dept.ID)
		en.Tags = []string{"路灯"}
		if change != nil {
			change(en)
		}
		return e.saveEntry(en, status)
	}
	pubA := mk("城市路灯运行监测", e.deptA, cityhub.StatusPublished, func(en *cityhub.CatalogEntry) {
		en.Items = append(en.Items, cityhub.DataItem{Name: "灯杆编号", Code: "lamp_pole_id", Type: "C", Sensitivity: cityhub.SensPublic})
	})
	draftA := mk("路灯维修工单", e.deptA, cityhub.StatusDraft, nil)
	pubB := mk("海曙区路灯台账", e.deptB, cityhub.StatusPublished, func(en *cityhub.CatalogEntry) {
		en.ShareType, en.ShareCondition, en.ShareBasis = cityhub.Conditional, "用于城市管理", "《宁波市公共数据管理办法》"
		en.OpenType, en.OpenBasis, en.Domain = cityhub.NotShared, "涉及设施安全", ""
	})
	draftB := mk("海曙区路灯改造计划", e.deptB, cityhub.StatusDraft, nil)
	wellB := mk("海曙区井盖监测", e.deptB, cityhub.StatusDraft, func(en *cityhub.CatalogEntry) { en.Tags = nil })

	search := func(t *testing.T, role, query string) *cityhub.CatalogResult {
		t.Helper()
		res := e.do("GET", "/api/v1/catalog/entries?"+query, e.tokens[role], nil)
		wantStatus(t, res, 200, "")
		var out cityhub.CatalogResult
		res.decode(t, &out)
		return &out
	}
	ids := func(r *cityhub.CatalogResult) []int64 {
		var out []int64
		for _, en := range r.Entries {
			out = append(out, en.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ens ...*cityhub.CatalogEntry) []int64 {
		var out []int64
		for _, en := range ens {
			out = append(out, en.ID)
		}
		slices.Sort(out)
		return out
	}
	facet := func(r *cityhub.CatalogResult, name string) map[string]int {
		m := map[string]int{}
		for _, v := range r.Facets[name] {
			m[v.Value] = v.Count
		}
		return m
	}

	t.Run("a Chinese two-character word, as each caller may see", func(t *testing.T) {
		q := "q=" + url.QueryEscape("路灯") + "&facets=true"
		for _, tc := range []struct {
			role string
			want []int64
		}{
			{rCO, sorted(pubA, draftA, pubB)},
			{rCOB, sorted(pubA, pubB, draftB)},
			{rRV, sorted(pubA, draftA, pubB, draftB)},
			{rAUD, sorted(pubA, draftA, pubB, draftB)},
			{rOP, sorted(pubA, draftA, pubB)},
		} {
			r := search(t, tc.role, q)
			if got := ids(r); !slices.Equal(got, tc.want) || r.Total != len(tc.want) {
				t.Errorf("%s: got ids %v total %d, want %v", tc.role, got, r.Total, tc.want)
			}
			checkSearchScope(t, r, e.visibleEntries(t, e.users[tc.role], cityhub.CatalogQuery{Q: "路灯"}))
		}
		// A consumer of A: B's draft is in no count.
		r := search(t, rCO, q)
		if got := facet(r, "status"); got[cityhub.StatusDraft] != 1 || got[cityhub.StatusPublished] != 2 {
			t.Errorf("status facet: got %v, want 1 draft (A's own) and 2 published", got)
		}
		if got := facet(r, "provider"); got[fmt.Sprint(e.deptA.ID)] != 2 || got[fmt.Sprint(e.deptB.ID)] != 1 {
			t.Errorf("provider facet: got %v, want A 2 and B 1 (its published entry only)", got)
		}
		if got := facet(r, "tag"); got["路灯"] != 3 {
			t.Errorf("tag facet: got %v, want 路灯 3", got)
		}
		for _, name := range cityhub.FacetNames {
			if _, ok := r.Facets[name]; !ok {
				t.Errorf("got facets %v, want %s among them", keys(r.Facets), name)
			}
		}
	})

	t.Run("other words", func(t *testing.T) {
		for _, tc := range []struct {
			role, q string
			want    []int64
		}{
			{rCO, "监测", sorted(pubA)}, // B's 井盖监测 is a draft
			{rCOB, "监测", sorted(pubA, wellB)},
			{rRV, "海曙 路灯", sorted(pubB, draftB)},
			{rRV, "Lamp", sorted(pubA)},                      // an item's English code, any case
			{rRV, "灯杆编号", sorted(pubA)},                      // an item's name
			{rRV, e.deptB.Name, sorted(pubB, draftB, wellB)}, // the provider
			{rRV, "路灯台", sorted(pubB)},
			{rRV, "灯路", nil},
			{rRV, "！？", nil},
		} {
			r := search(t, tc.role, "q="+url.QueryEscape(tc.q))
			if got := ids(r); !slices.Equal(got, tc.want) {
				t.Errorf("%s q=%q: got %v, want %v", tc.role, tc.q, got, tc.want)
			}
		}
	})

	t.Run("facets only when asked", func(t *testing.T) {
		res := e.do("GET", "/api/v1/catalog/entries?q="+url.QueryEscape("路灯"), e.tokens[rCO], nil)
		var raw map[string]json.RawMessage
		res.decode(t, &raw)
		if _, ok := raw["facets"]; ok {
			t.Errorf("got %s, want no facets without facets=true", res.body)
		}
		if r := search(t, rCO, "facets=1&limit=1"); r.Facets == nil || len(r.Entries) != 1 {
			t.Errorf("facets=1&limit=1: got %d entries, facets %v, want 1 entry and facets", len(r.Entries), r.Facets)
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			role, query string
			want        []int64
		}{
			{rCO, "share_type=conditional", sorted(pubB)},
			{rCO, "open_type=none", sorted(pubB)},
			{rCO, fmt.Sprintf("provider_id=%d", e.deptB.ID), sorted(pubB)},
			{rCO, fmt.Sprintf("provider_id=%d&status=draft", e.deptB.ID), nil},
			{rCOB, fmt.Sprintf("provider_id=%d&status=draft", e.deptB.ID), sorted(draftB, wellB)},
			{rRV, "status=draft&q=" + url.QueryEscape("海曙"), sorted(draftB, wellB)},
			{rCO, "tag=" + url.QueryEscape("路灯"), sorted(pubA, draftA, pubB)},
			{rCO, "classification=21", nil},
			{rCO, "domain=urban&q=" + url.QueryEscape("路灯"), sorted(pubA, draftA)},
		} {
			if got := ids(search(t, tc.role, tc.query)); !slices.Equal(got, tc.want) {
				t.Errorf("%s %s: got %v, want %v", tc.role, tc.query, got, tc.want)
			}
		}
	})

	t.Run("sorting and paging", func(t *testing.T) {
		all := search(t, rRV, "q="+url.QueryEscape("路灯")+"&sort=name")
		var names []string
		for _, en := range all.Entries {
			names = append(names, en.Name)
		}
		if !sort.StringsAreSorted(names) || len(names) != 4 {
			t.Errorf("sort=name: got %q, want 4 names in order", names)
		}
		byCode := search(t, rRV, "sort=code&limit=1000")
		for i := 1; i < len(byCode.Entries); i++ {
			if byCode.Entries[i-1].Code > byCode.Entries[i].Code {
				t.Errorf("sort=code: %s before %s", byCode.Entries[i-1].Code, byCode.Entries[i].Code)
			}
		}
		page := search(t, rRV, "q="+url.QueryEscape("路灯")+"&sort=name&limit=2&offset=1")
		if page.Total != 4 || len(page.Entries) != 2 || page.Entries[0].ID != all.Entries[1].ID || page.Entries[1].ID != all.Entries[2].ID {
			t.Errorf("limit=2&offset=1: got total %d, %d entries, want entries 2 and 3 of 4", page.Total, len(page.Entries))
		}
		if r := search(t, rRV, "q="+url.QueryEscape("路灯")+"&offset=10"); r.Total != 4 || len(r.Entries) != 0 {
			t.Errorf("offset past the end: got total %d, %d entries, want 4 and none", r.Total, len(r.Entries))
		}
		// Relevance: the entry named after the words first.
		if r := search(t, rRV, "q="+url.QueryEscape("路灯台账")); len(r.Entries) == 0 || r.Entries[0].ID != pubB.ID {
			t.Errorf("relevance: got %v, want %d first", ids(r), pubB.ID)
		}
	})

	t.Run("bad parameters name the field", func(t *testing.T) {
		for _, tc := range []struct{ query, field string }{
			{"sort=popular", "sort"},
			{"share_type=shared", "share_type"},
			{"share_type=" + url.QueryEscape("无条件共享"), "share_type"}, // codes, not labels
			{"open_type=open", "open_type"},
			{"format=csv", "format"},
			{"update_cycle=hourly", "update_cycle"},
			{"status=deleted", "status"},
			{"limit=1001", "limit"},
			{"limit=-1", "limit"},
			{"limit=ten", "limit"},
			{"offset=-1", "offset"},
			{"provider_id=0", "provider_id"},
			{"provider_id=A", "provider_id"},
			{"q=" + strings.Repeat("a", 201), "q"},
			{"q=" + url.QueryEscape(strings.Repeat("路", 201)), "q"},
		} {
			res := e.do("GET", "/api/v1/catalog/entries?"+tc.query, e.tokens[rCO], nil)
			if res.status != 400 || res.apiErr(t).Fields[tc.field] == "" {
				t.Errorf("%.40s: got %v, want 400 naming %s", tc.query, res, tc.field)
			}
		}
		// 200 characters are fine, in any script.
		for _, q := range []string{strings.Repeat("a", 200), strings.Repeat("路", 200), strings.Repeat("灯", 100)} {
			if res := e.do("GET", "/api/v1/catalog/entries?q="+url.QueryEscape(q), e.tokens[rCO], nil); res.status != 200 {
				t.Errorf("q of %d characters: got %v, want 200", len([]rune(q)), res)
			}
		}
	})
}

// TestCatalogEntryInput: malformed and invalid entry bodies are refused
// with the field named, and nothing is written.
func TestCatalogEntryInput(t *testing.T) {
	e := newEnv(t)
	st := e.tokens[rST]
	draft := entryPath(e.draftA.ID, "")
	with := func(field string, value any) map[string]any {
		b := e.entryBody(e.deptA.ID)
		if value == nil {
			delete(b, field)
		} else {
			b[field] = value
		}
		return b
	}
	before, err := e.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		body  any
		want  int
		field string
	}{
		{"unknown field", `{"nmae":"x"}`, 400, "nmae"},
		{"platform's code", with("code", "209/000001"), 400, "code"},
		{"platform's status", with("status", "published"), 400, "status"},
		{"platform's version", with("version", 9), 400, "version"},
		{"items not an array", with("items", "编号"), 400, "items"},
		{"items an object", with("items", map[string]any{"name": "编号", "type": "C"}), 400, "items"},
		{"items of numbers", with("items", []int{1, 2}), 400, "items"},
		{"item type a number", with("items", []map[string]any{{"name": "编号", "type": 5}}), 400, "items.type"},
		{"item length a string", with("items", []map[string]any{{"name": "编号", "type": "C", "length": "ten"}}), 400, "items.length"},
		{"unknown item field", with("items", []map[string]any{{"name": "编号", "type": "C", "size": 3}}), 400, "size"},
		{"provider_id a string", with("provider_id", "A"), 400, "provider_id"},
		{"tags a string", with("tags", "城建"), 400, "tags"},
		{"array body", `[]`, 400, "(body)"},
		{"truncated", `{"name":"x",`, 400, ""},
		{"empty object", `{}`, 400, "name"},
		{"no items", with("items", []any{}), 400, "items"},
		{"bad item type code", with("items", []map[string]any{{"name": "编号", "type": "X"}}), 400, "items[0].type"},
		{"repeated item names", with("items", []map[string]any{{"name": "编号", "type": "C"}, {"name": "编号", "type": "N"}}), 400, "items[1].name"},
		{"unknown format", with("format", "pdf"), 400, "format"},
		{"unknown classification", with("classification_code", "299"), 400, "classification_code"},
		{"unknown domain", with("domain", "space"), 400, "domain"},
		{"open without a domain", with("domain", nil), 400, "domain"},
		{"conditional without a basis", with("share_type", "conditional"), 400, "share_basis"},
		{"bad publish date", with("publish_date", "2026/01/02"), 400, "publish_date"},
		{"related code missing", with("related_codes", []string{"209/999999"}), 400, "related_codes"},
		{"another department's provider", with("provider_id", e.deptB.ID), 403, ""},
		{"missing provider", with("provider_id", 424242), 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.do("POST", "/api/v1/catalog/entries", st, tc.body), tc.want, tc.field)
			wantStatus(t, e.do("PUT", draft, st, tc.body), tc.want, tc.field)
		})
	}
	t.Run("base resources are shared unconditionally", func(t *testing.T) {
		b := with("classification_code", "101")
		b["share_type"], b["share_basis"], b["share_condition"] = "conditional", "《人口信息管理条例》", "仅限公安"
		wantStatus(t, e.do("POST", "/api/v1/catalog/entries", st, b), 400, "share_type")
	})
	t.Run("content type", func(t *testing.T) {
		res := e.do("POST", "/api/v1/catalog/entries", st, e.entryBody(e.deptA.ID), "Content-Type", "text/plain")
		wantStatus(t, res, 400, "")
	})
	after, err := e.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total {
		t.Errorf("entries: got %d after bad input, want %d", after.Total, before.Total)
	}
	if got, err := e.store.Entry(context.Background(), e.draftA.ID); err != nil || got.Version != 1 {
		t.Errorf("draft after bad updates: got %+v, %v, want version 1", got, err)
	}
	t.Run("classification input", func(t *testing.T) {
		pa := e.tokens[rPA]
		for _, tc := range []struct {
			body  any
			want  int
			field string
		}{
			{`{"code":"209001"}`, 400, "name"},
			{`{"code":"2090","name":"x"}`, 400, "code"},
			{`{"code":"209a01","name":"x"}`, 400, "code"},
			{`{"code":"299001","name":"x"}`, 400, "code"}, // no parent 299
			{`{"code":"209","name":"重复"}`, 409, ""},
			{`{"code":209001,"name":"x"}`, 400, "code"},
		} {
			res := e.do("POST", "/api/v1/catalog/classifications", pa, tc.body)
			if res.status != tc.want || tc.field != "" && res.apiErr(t).Fields[tc.field] == "" {
				t.Errorf("%v: got %v, want %d naming %q", tc.body, res, tc.want, tc.field)
			}
		}
		// Parent and count are the platform's: sending them is an error.
		for _, field := range []string{"count", "parent"} {
			res := e.do("POST", "/api/v1/catalog/classifications", pa, `{"code":"209001","name":"x","`+field+`":"1"}`)
			if res.status != 400 || res.apiErr(t).Fields[field] != "unknown field" {
				t.Errorf("sending %s: got %v, want 400 naming it", field, res)
			}
		}
		res := e.do("POST", "/api/v1/catalog/classifications", pa, `{"code":"209001","name":" 城市更新 "}`)
		var c cityhub.Classification
		res.decode(t, &c)
		if res.status != 201 || c.Code != "209001" || c.Name != "城市更新" || c.Parent != "209" || c.Count != 0 {
			t.Errorf("got %v, want 209001 城市更新 under 209 with count 0", res)
		}
	})
}

// TestCatalogStats: the open rate per key domain against the configured
// target, per provider, with overdue updates.
func TestCatalogStats(t *testing.T) {
	e := newEnv(t)
	co := e.tokens[rCO]
	type stats struct {
		cityhub.CatalogStats
		OpenRateTarget float64 `json:"open_rate_target"`
	}
	get := func(t *testing.T, query string) stats {
		t.Helper()
		res := e.do("GET", "/api/v1/catalog/stats"+query, co, nil)
		wantStatus(t, res, 200, "")
		var st stats
		res.decode(t, &st)
		return st
	}
	// B: one published, one approved (openable, not yet open), one never to be opened.
	pub := e.newEntry(e.deptB, cityhub.StatusPublished)
	e.newEntry(e.deptB, cityhub.StatusApproved)
	closed := testEntry("海曙区涉密管网数据", e.deptB.ID)
	closed.ShareType, closed.ShareBasis, closed.OpenType, closed.OpenBasis, closed.Domain = cityhub.NotShared, "涉密", cityhub.NotShared, "涉密", ""
	e.saveEntry(closed, cityhub.StatusDraft)
	if err := e.store.MarkDataUpdated(systemCtx(), pub.ID, time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}

	st := get(t, fmt.Sprintf("?provider_id=%d", e.deptB.ID))
	var urban cityhub.DomainRate
	for _, d := range st.Domains {
		if d.Domain == "urban" {
			urban = d
		}
	}
	if st.Entries != 3 || st.ByStatus[cityhub.StatusPublished] != 1 || st.ShareTypes[cityhub.NotShared] != 1 ||
		st.OpenTypes[cityhub.Unconditional] != 2 || st.OverdueUpdates != 1 || st.OverdueChanges != 0 {
		t.Errorf("got %+v, want 3 entries, 1 published, 1 not shared, 2 open, 1 overdue (daily data 3 days old)", st.CatalogStats)
	}
	if !urban.Key || urban.Openable != 2 || urban.Published != 1 || urban.Rate != 0.5 {
		t.Errorf("urban: got %+v, want a key domain, 1 of 2 openable published: rate 0.5", urban)
	}
	if len(st.Departments) != 1 || st.Departments[0].ProviderID != e.deptB.ID || st.Departments[0].OpenRate != 0.5 {
		t.Errorf("departments: got %+v, want only B at 0.5", st.Departments)
	}
	if st.OpenRateTarget != 0.8 {
		t.Errorf("target: got %v, want the default 0.8", st.OpenRateTarget)
	}

	// City-wide, with A's seeded entries; the target is configurable.
	e.srv.Policy.OpenRateTarget = 0.9
	defer func() { e.srv.Policy.OpenRateTarget = 0 }()
	all := get(t, "")
	if all.Entries != 5 || len(all.Departments) != 2 || all.OpenRateTarget != 0.9 {
		t.Errorf("city-wide: got %d entries, %d departments, target %v, want 5, 2, 0.9", all.Entries, len(all.Departments), all.OpenRateTarget)
	}
	for _, q := range []string{"?provider_id=0", "?provider_id=x", "?provider_id=-1"} {
		res := e.do("GET", "/api/v1/catalog/stats"+q, co, nil)
		wantStatus(t, res, 400, "provider_id")
	}
	if none := get(t, "?provider_id=424242"); none.Entries != 0 || len(none.Departments) != 0 {
		t.Errorf("unknown provider: got %+v, want nothing", none.CatalogStats)
	}
}

// FuzzSearchParams sends arbitrary query strings to the search: never a
// 5xx, the error shape on refusal, and only what the caller may see.
func FuzzSearchParams(f *testing.F) {
	e := newEnv(f)
	e.saveEntry(testEntry("城市路灯运行监测", e.deptA.ID), cityhub.StatusPublished)
	e.saveEntry(testEntry("海曙区路灯改造计划", e.deptB.ID), cityhub.StatusDraft)
	for _, s := range []string{
		"", "q=路灯", "q=%E8%B7%AF%E7%81%AF&facets=true", "q=路&sort=relevance", "q=lamp+pole&sort=name&limit=1&offset=1",
		"sort=code&facets=1", "share_type=unconditional&open_type=none&format=sheet&update_cycle=daily&status=draft",
		"share_type=无条件共享", "provider_id=1&status=published", "classification=2%25_%5C", "tag=路灯", "domain=urban",
		"limit=0", "limit=1000", "limit=1001", "limit=-1", "offset=9223372036854775807", "offset=99999999999999999999",
		"provider_id=9223372036854775808", "q=" + strings.Repeat("路", 200), "q=" + strings.Repeat("a", 201),
		`q="`, "q=*", "q=a%00b", "q=AND OR NOT", "q=NEAR(a b)", "q=name:x", "q=-x", "q=^x", "q=%F0%9F%92%A9", "q=%FF%FE",
		"q=⺛㊣", "q=\u3000", "q=a&q=b", "facets=true&facets=false", "sort=", "sort=name%00", "%zz", "q=%", "&&&=&=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, _ := url.ParseQuery(raw) // what parses; the server sees the same
		for _, role := range []string{rCO, rCOB, rRV} {
			res := doRequest(t, e.ts, "GET", "/api/v1/catalog/entries?"+vals.Encode(), e.tokens[role], nil)
			if res.status >= 500 {
				t.Fatalf("%q as %s: got %v, want < 500", raw, role, res)
			}
			if res.status >= 400 {
				if _, err := checkErrorShape(res); err != nil {
					t.Fatalf("%q as %s: got %v: %v", raw, role, res, err)
				}
				continue
			}
			var r cityhub.CatalogResult
			if err := json.Unmarshal(res.body, &r); err != nil {
				t.Fatalf("%q as %s: got %v: %v", raw, role, res, err)
			}
			limit := 100
			if n, err := fmt.Sscan(vals.Get("limit"), &limit); n == 1 && err == nil && limit == 0 {
				limit = 100
			}
			if len(r.Entries) > limit || len(r.Entries) > r.Total {
				t.Fatalf("%q as %s: got %d entries of %d, want at most limit %d", raw, role, len(r.Entries), r.Total, limit)
			}
			for _, en := range r.Entries {
				if !e.users[role].CanSeeEntry(en) {
					t.Fatalf("%q as %s: got entry %d (%s of %d), want it hidden", raw, role, en.ID, en.Status, en.ProviderID)
				}
			}
		}
	})
}

// TestCatalogImportExport covers the spreadsheet endpoints: the round trip,
// dry runs, all-or-nothing imports, skipping, updates by code, uploads as
// raw bodies and multipart forms, and the refusals.
func TestCatalogImportExport(t *testing.T) {
	e := newEnv(t)
	pa, st, rv, cob := e.tokens[rPA], e.tokens[rST], e.tokens[rRV], e.tokens[rCOB]
	row := func(name string, dept *cityhub.Department) *cityhub.CatalogEntry {
		en := testEntry(name, dept.ID)
		en.ProviderName, en.ProviderCode = dept.Name, dept.CreditCode
		return en
	}
	imp := func(t *testing.T, token, query string, body any, want int, hdr ...string) *catalogsheet.Report {
		t.Helper()
		res := e.do("POST", "/api/v1/catalog/import"+query, token, body, hdr...)
		wantStatus(t, res, want, "")
		if want != 200 {
			return nil
		}
		var rep catalogsheet.Report
		res.decode(t, &rep)
		return &rep
	}
	csvType := []string{"Content-Type", "text/csv"}

	t.Run("round trip changes nothing", func(t *testing.T) {
		for _, file := range []string{"csv", "xlsx"} {
			res := e.do("GET", "/api/v1/catalog/export?file="+file, rv, nil)
			wantStatus(t, res, 200, "")
			rep := imp(t, pa, "?file="+file, res.body, 200)
			if rep.Received != 2 || rep.Unchanged != 2 || rep.Created+rep.Updated+rep.Skipped != 0 || len(rep.Problems) != 0 {
				t.Errorf("%s: got %+v, want both entries unchanged", file, rep)
			}
		}
		if got, _ := e.store.Entry(context.Background(), e.pubA.ID); got.Version != 4 || got.Status != cityhub.StatusPublished {
			t.Errorf("published entry after the round trip: got version %d %s, want 4 published", got.Version, got.Status)
		}
		res := e.do("GET", "/api/v1/catalog/export", rv, nil)
		if res.header.Get("Content-Type") != xlsxType || !strings.HasPrefix(string(res.body), "PK") {
			t.Errorf("default export: got Content-Type %q, want XLSX", res.header.Get("Content-Type"))
		}
	})

	t.Run("dry run writes nothing", func(t *testing.T) {
		en := row("导入试算台账", e.deptA)
		rep := imp(t, st, "?dry_run=true", sheetCSV(t, en), 200, csvType...)
		if !rep.DryRun || rep.Created != 1 || len(e.entriesNamed(t, en.Name)) != 0 {
			t.Errorf("got %+v, want a dry run that would create 1 and stores none", rep)
		}
	})

	t.Run("one bad row stops the file unless skipped", func(t *testing.T) {
		good, bad := row("导入台账甲", e.deptA), row("导入台账乙", e.deptA)
		bad.Abstract = ""
		file := sheetCSV(t, good, bad)
		rep := imp(t, st, "", file, 200, csvType...)
		if rep.Created != 0 || rep.Skipped != 2 || len(rep.Problems) != 1 || rep.Problems[0].Row != 3 ||
			rep.Problems[0].Column != "信息资源摘要" || len(e.entriesNamed(t, good.Name)) != 0 {
			t.Fatalf("got %+v, want nothing imported and the abstract of row 3 named", rep)
		}
		rep = imp(t, st, "?skip_invalid=true", file, 200, csvType...)
		if rep.Created != 1 || rep.Skipped != 1 || !slices.Equal(rep.SkippedRows, []int{3}) || len(e.entriesNamed(t, good.Name)) != 1 {
			t.Errorf("skip_invalid: got %+v, want row 2 created and row 3 skipped", rep)
		}
	})

	t.Run("a row with an existing code updates that entry", func(t *testing.T) {
		en := row(e.draftA.Name, e.deptA)
		en.Code, en.Abstract = e.draftA.Code, "按导入更新的摘要"
		rep := imp(t, st, "", sheetCSV(t, en), 200, csvType...)
		got, err := e.store.Entry(context.Background(), e.draftA.ID)
		if rep.Updated != 1 || err != nil || got.Abstract != en.Abstract || got.Version != 2 {
			t.Fatalf("got %+v and entry %+v (%v), want the draft updated to version 2", rep, got, err)
		}
		e.checkLastVersion(t, got.ID, 2, "import", "steward-a")
	})

	t.Run("multipart upload", func(t *testing.T) {
		en := row("表单上传台账", e.deptA)
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "目录.csv")
		fw.Write([]byte(sheetCSV(t, en)))
		mw.Close()
		rep := imp(t, st, "", b.String(), 200, "Content-Type", mw.FormDataContentType())
		if rep.Created != 1 || len(e.entriesNamed(t, en.Name)) != 1 {
			t.Errorf("got %+v, want the uploaded entry created", rep)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		file := sheetCSV(t, row("被拒绝的台账", e.deptA))
		wantStatus(t, e.do("POST", "/api/v1/catalog/import?file=csv", e.tokens[rCO], file), 403, "")
		wantStatus(t, e.do("POST", "/api/v1/catalog/import?file=csv&keep_status=true", st, file), 403, "")
		wantStatus(t, e.do("POST", "/api/v1/catalog/import?file=csv&skip_invalid=maybe", st, file), 400, "skip_invalid")
		wantStatus(t, e.do("POST", "/api/v1/catalog/import", st, file), 400, "file")
		wantStatus(t, e.do("POST", "/api/v1/catalog/import?file=pdf", st, file), 400, "file")
		wantStatus(t, e.do("POST", "/api/v1/catalog/import?file=xlsx", st, file), 400, "")
		if got := e.entriesNamed(t, "被拒绝的台账"); len(got) != 0 {
			t.Errorf("got %d entries, want none stored", len(got))
		}
	})

	t.Run("export follows the search and the caller's scope", func(t *testing.T) {
		e.newEntry(e.deptB, cityhub.StatusDraft)
		res := e.do("GET", "/api/v1/catalog/export?file=csv&bom=true&status=draft", cob, nil)
		wantStatus(t, res, 200, "")
		if !strings.HasPrefix(string(res.body), "\uFEFF") {
			t.Errorf("bom=true: got %q…, want a byte order mark first", res.body[:8])
		}
		rows := csvRows(t, res.body)
		provider := slices.Index(rows[0], catalogsheet.ColumnOf("provider_id"))
		if len(rows) != 2 || provider < 0 || rows[1][provider] != e.deptB.Name {
			t.Errorf("got rows %q, want B's one draft only", rows)
		}
		wantStatus(t, e.do("GET", "/api/v1/catalog/export?sort=best", cob, nil), 400, "sort")
		wantStatus(t, e.do("GET", "/api/v1/catalog/export?bom=maybe", cob, nil), 400, "bom")
	})
}

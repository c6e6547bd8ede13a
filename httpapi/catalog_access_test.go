package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
)

// Role labels of the matrix, for the catalog cases.
const (
	rPA  = cityhub.RolePlatformAdmin
	rAUD = cityhub.RoleAuditor
	rDA  = cityhub.RoleDeptAdmin
	rST  = cityhub.RoleSteward
	rCO  = cityhub.RoleConsumer
	rOP  = cityhub.RoleOperator
	rDAB = deptAdminB
	rRV  = cityhub.RoleReviewer
	rSTB = stewardB
	rCOB = consumerB
)

// inDeptA is statuses for an unpublished entry of department A: callers of
// department B do not see it, so it looks absent to them.
func inDeptA(def int, pairs ...any) (int, map[string]int) {
	d, w := statuses(def, pairs...)
	for _, r := range []string{rDAB, rSTB, rCOB} {
		if _, ok := w[r]; !ok {
			w[r] = http.StatusNotFound
		}
	}
	return d, w
}

// entryID is the id in a /api/v1/catalog/entries/{id}… path.
func entryID(t *testing.T, path string) int64 {
	t.Helper()
	rest := strings.TrimPrefix(path, "/api/v1/catalog/entries/")
	rest, _, _ = strings.Cut(rest, "/")
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		t.Fatalf("no entry id in %s", path)
	}
	return id
}

func decodeEntry(t *testing.T, res *response) *cityhub.CatalogEntry {
	t.Helper()
	var en cityhub.CatalogEntry
	res.decode(t, &en)
	return &en
}

// storedVersions reads an entry's versions from the store.
func (e *env) storedVersions(t *testing.T, id int64) []*cityhub.CatalogVersion {
	t.Helper()
	vs, err := e.store.EntryVersions(context.Background(), id)
	if err != nil {
		t.Fatalf("EntryVersions(%d): %v", id, err)
	}
	return vs
}

// checkLastVersion asserts the entry's newest stored version is v, made
// by action of username.
func (e *env) checkLastVersion(t *testing.T, id int64, v int, action, username string) {
	t.Helper()
	vs := e.storedVersions(t, id)
	last := vs[len(vs)-1]
	if last.Version != v || last.Action != action || last.Actor != username {
		t.Errorf("entry %d: got newest version %d %s by %s, want %d %s by %s", id, last.Version, last.Action, last.Actor, v, action, username)
	}
}

// visibleEntries are the stored entries matching q that u may see by the
// domain rule CanSeeEntry: what a search with u's scope must return.
func (e *env) visibleEntries(t *testing.T, u *cityhub.User, q cityhub.CatalogQuery) map[int64]*cityhub.CatalogEntry {
	t.Helper()
	q.Scope, q.Limit = cityhub.CatalogScope{All: true}, 1000
	res, err := e.store.SearchCatalog(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchCatalog: %v", err)
	}
	if res.Total > len(res.Entries) {
		t.Fatalf("SearchCatalog: %d entries, more than a page", res.Total)
	}
	out := map[int64]*cityhub.CatalogEntry{}
	for _, en := range res.Entries {
		if u.CanSeeEntry(en) {
			out[en.ID] = en
		}
	}
	return out
}

// facetCounts are the facet values the entries make, as value → count.
func facetCounts(entries map[int64]*cityhub.CatalogEntry) map[string]map[string]int {
	out := map[string]map[string]int{}
	add := func(facet, value string) {
		if value == "" {
			return
		}
		if out[facet] == nil {
			out[facet] = map[string]int{}
		}
		out[facet][value]++
	}
	for _, en := range entries {
		add("status", en.Status)
		add("provider", strconv.FormatInt(en.ProviderID, 10))
		add("share_type", en.ShareType)
		add("open_type", en.OpenType)
		add("format", en.Format)
		add("update_cycle", en.UpdateCycle)
		add("domain", en.Domain)
		for _, tag := range en.Tags {
			add("tag", tag)
		}
	}
	return out
}

// checkSearchScope asserts a search result holds exactly the entries the
// caller may see, with facet counts made of those entries only.
func checkSearchScope(t *testing.T, got *cityhub.CatalogResult, want map[int64]*cityhub.CatalogEntry) {
	t.Helper()
	if got.Total != len(want) || len(got.Entries) != len(want) {
		t.Errorf("got total %d, %d entries, want %d visible entries", got.Total, len(got.Entries), len(want))
	}
	for _, en := range got.Entries {
		if want[en.ID] == nil {
			t.Errorf("got entry %d (%s, %s of provider %d), want it hidden from this caller", en.ID, en.Name, en.Status, en.ProviderID)
		}
	}
	if got.Facets == nil {
		return
	}
	wantFacets := facetCounts(want)
	for _, name := range []string{"status", "provider", "share_type", "open_type", "format", "update_cycle", "domain", "tag"} {
		counts := map[string]int{}
		for _, v := range got.Facets[name] {
			counts[v.Value] = v.Count
		}
		if fmt.Sprint(counts) != fmt.Sprint(nonNilCounts(wantFacets[name])) {
			t.Errorf("facet %s: got %v, want %v (only what the caller may see)", name, counts, nonNilCounts(wantFacets[name]))
		}
	}
}

func nonNilCounts(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// catalogMatrixCases are the role-matrix cases of the catalog API. Entries
// a call changes are made fresh for every caller.
func catalogMatrixCases() []matrixCase {
	var cases []matrixCase
	add := func(name, pattern string, prepare func(*env, string) call, def int, want map[string]int,
		check func(*testing.T, *env, string, call, *response)) {
		cases = append(cases, matrixCase{name, pattern, prepare, def, want, check})
	}
	fresh := func(dept func(*env) *cityhub.Department, status, suffix string, body func(*env) any) func(*env, string) call {
		return func(e *env, _ string) call {
			en := e.newEntry(dept(e), status)
			c := call{path: entryPath(en.ID, suffix)}
			if body != nil {
				c.body = body(e)
			}
			return c
		}
	}
	deptA := func(e *env) *cityhub.Department { return e.deptA }
	deptB := func(e *env) *cityhub.Department { return e.deptB }
	action := func(a cityhub.Transition, reason string) func(*env) any {
		return func(*env) any { return map[string]string{"action": string(a), "reason": reason} }
	}

	// Vocabularies, classifications, domains: everyone signed in reads.
	add("catalog vocabularies", "GET /api/v1/catalog/vocabularies", fixed("/api/v1/catalog/vocabularies", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var v vocabularies
			res.decode(t, &v)
			if len(v.Formats) != 6 || len(v.ShareTypes) != 3 || len(v.OpenTypes) != 3 || len(v.UpdateCycles) != 7 ||
				len(v.Statuses) != 6 || len(v.Sensitivities) != 4 || len(v.ItemTypes) != 11 {
				t.Errorf("got %s, want the guideline's vocabularies whole", res.body)
			}
			if term, ok := cityhub.TermByLabel(v.ShareTypes, "有条件共享"); !ok || term.Code != cityhub.Conditional {
				t.Errorf("share types %+v: want 有条件共享 labelling %q", v.ShareTypes, cityhub.Conditional)
			}
		})
	add("catalog classifications", "GET /api/v1/catalog/classifications", fixed("/api/v1/catalog/classifications", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.Classification]
			res.decode(t, &l)
			byCode := map[string]cityhub.Classification{}
			for _, cl := range l.Items {
				byCode[cl.Code] = cl
			}
			if cl := byCode["209"]; cl.Name != "城乡建设" || cl.Parent != "2" || l.Total != len(l.Items) {
				t.Fatalf("got 209 = %+v, total %d of %d, want 城乡建设 under 2", cl, l.Total, len(l.Items))
			}
			// Counts cover only the entries the caller may see.
			for _, code := range []string{"2", "209"} {
				want := len(e.visibleEntries(t, e.users[role], cityhub.CatalogQuery{Classification: code}))
				if got := byCode[code].Count; got != want {
					t.Errorf("count of %s: got %d, want %d (the entries this caller may see)", code, got, want)
				}
			}
		})
	d, w := statuses(403, rPA, 201)
	add("create a classification", "POST /api/v1/catalog/classifications", func(e *env, _ string) call {
		n := e.next()
		return call{path: "/api/v1/catalog/classifications",
			body: map[string]string{"code": fmt.Sprintf("209%03d", n), "name": fmt.Sprintf("城市更新 %d", n)}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Classification
		res.decode(t, &got)
		want := c.body.(map[string]string)
		if got.Code != want["code"] || got.Name != want["name"] || got.Parent != "209" || got.Count != 0 {
			t.Errorf("got %+v, want %s %s under 209", got, want["code"], want["name"])
		}
		cs, err := e.store.Classifications(context.Background(), cityhub.CatalogScope{All: true})
		found := false
		for _, cl := range cs {
			found = found || cl.Code == want["code"]
		}
		if err != nil || !found {
			t.Errorf("stored classifications: %v, want %s among them", err, want["code"])
		}
	})
	add("catalog domains", "GET /api/v1/catalog/domains", fixed("/api/v1/catalog/domains", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.Domain]
			res.decode(t, &l)
			found := false
			for _, d := range l.Items {
				found = found || d.Code == "urban" && d.Name == "城市建设" && d.Key
			}
			if !found || l.Total != len(l.Items) {
				t.Errorf("got %s, want the urban key domain among them", res.body)
			}
		})

	// Search: every caller gets exactly what they may see, facets too.
	add("search the catalog", "GET /api/v1/catalog/entries", fixed("/api/v1/catalog/entries?facets=true&limit=1000", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var got cityhub.CatalogResult
			res.decode(t, &got)
			if got.Facets == nil {
				t.Fatalf("got %s, want facets", res.body)
			}
			want := e.visibleEntries(t, e.users[role], cityhub.CatalogQuery{})
			if want[e.pubA.ID] == nil {
				t.Fatalf("the published entry is not visible to %s", role)
			}
			checkSearchScope(t, &got, want)
		})

	// Create: stewards for their own department, platform admins for any.
	checkCreated := func(dept func(*env) *cityhub.Department) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			got := decodeEntry(t, res)
			d := dept(e)
			if role == rSTB {
				d = e.deptB
			}
			body := c.body.(map[string]any)
			if got.ID == 0 || got.Name != body["name"] || got.Status != cityhub.StatusDraft || got.Version != 1 ||
				!strings.HasPrefix(got.Code, "209/") || got.ProviderID != d.ID || got.ProviderName != d.Name ||
				got.ProviderCode != d.CreditCode || got.EverPublished {
				t.Fatalf("got %+v, want a new draft %v of %s (%s) with a 209/… code", got, body["name"], d.Name, d.CreditCode)
			}
			stored, err := e.store.Entry(context.Background(), got.ID)
			if err != nil || stored.Code != got.Code || stored.Name != got.Name || len(stored.Items) != 1 || stored.Items[0].Name != "编号" {
				t.Errorf("stored entry: got %+v, %v, want it as answered", stored, err)
			}
			e.checkLastVersion(t, got.ID, 1, "create", e.users[role].Username)
			if rec := e.lastAudit(cityhub.AuditFilter{Action: "catalog.create"}); rec == nil ||
				rec.Object != fmt.Sprintf("catalog:%d", got.ID) || rec.Actor != e.users[role].Username ||
				rec.RequestID != res.header.Get("X-Request-ID") {
				t.Errorf("got catalog.create record %+v, want one for entry %d by %s", rec, got.ID, e.users[role].Username)
			}
		}
	}
	d, w = statuses(403, rPA, 201, rST, 201)
	add("create an entry of A", "POST /api/v1/catalog/entries", func(e *env, _ string) call {
		return call{path: "/api/v1/catalog/entries", body: e.entryBody(e.deptA.ID)}
	}, d, w, checkCreated(deptA))
	d, w = statuses(403, rPA, 201, rSTB, 201)
	add("create an entry of B", "POST /api/v1/catalog/entries", func(e *env, _ string) call {
		return call{path: "/api/v1/catalog/entries", body: e.entryBody(e.deptB.ID)}
	}, d, w, checkCreated(deptB))
	// Without provider_id a steward writes for their own department; a
	// caller without a department must name one.
	d, w = statuses(403, rPA, 400, rAUD, 400, rST, 201, rSTB, 201)
	add("create an entry naming no provider", "POST /api/v1/catalog/entries", func(e *env, _ string) call {
		body := e.entryBody(0)
		delete(body, "provider_id")
		return call{path: "/api/v1/catalog/entries", body: body}
	}, d, w, checkCreated(deptA))

	// Read one entry.
	add("get a published entry", "GET /api/v1/catalog/entries/{id}", func(e *env, _ string) call {
		return call{path: entryPath(e.pubA.ID, "")}
	}, 200, nil, func(t *testing.T, e *env, role string, c call, res *response) {
		got := decodeEntry(t, res)
		if got.ID != e.pubA.ID || got.Code != e.pubA.Code || got.Status != cityhub.StatusPublished || !got.EverPublished ||
			got.PublishDate == "" || got.Version != 4 || got.ProviderName != e.deptA.Name {
			t.Errorf("got %+v, want published entry %d at version 4", got, e.pubA.ID)
		}
	})
	d, w = inDeptA(200)
	add("get a draft of A", "GET /api/v1/catalog/entries/{id}", func(e *env, _ string) call {
		return call{path: entryPath(e.draftA.ID, "")}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		if got := decodeEntry(t, res); got.ID != e.draftA.ID || got.Status != cityhub.StatusDraft {
			t.Errorf("got %+v, want draft %d", got, e.draftA.ID)
		}
	})
	add("get a missing entry", "GET /api/v1/catalog/entries/{id}", fixed(entryPath(987654, ""), nil), 404, nil, nil)

	// Update: the provider's stewards (and platform admins), never while under review.
	checkUpdated := func(version int, status string) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			got := decodeEntry(t, res)
			id := entryID(t, c.path)
			before := e.storedVersions(t, id)[0].Entry
			if got.ID != id || got.Name != c.body.(map[string]any)["name"] || got.Version != version || got.Status != status ||
				got.Code != before.Code {
				t.Errorf("got %+v, want entry %d renamed at version %d, still %s with code %s", got, id, version, status, before.Code)
			}
			stored, err := e.store.Entry(context.Background(), id)
			if err != nil || stored.Name != got.Name || stored.Version != version {
				t.Errorf("stored: got %+v, %v, want the new name at version %d", stored, err, version)
			}
			if status == cityhub.StatusPublished && (!stored.EverPublished || stored.PublishDate == "") {
				t.Errorf("stored: got %+v, want it still published with its publish date", stored)
			}
			e.checkLastVersion(t, id, version, "update", e.users[role].Username)
		}
	}
	entryBodyOf := func(dept func(*env) *cityhub.Department) func(*env) any {
		return func(e *env) any { return e.entryBody(dept(e).ID) }
	}
	d, w = inDeptA(403, rPA, 200, rST, 200)
	add("update a draft of A", "PUT /api/v1/catalog/entries/{id}", fresh(deptA, cityhub.StatusDraft, "", entryBodyOf(deptA)),
		d, w, checkUpdated(2, cityhub.StatusDraft))
	d, w = statuses(403, rPA, 200, rST, 200)
	add("update a published entry of A", "PUT /api/v1/catalog/entries/{id}",
		fresh(deptA, cityhub.StatusPublished, "", entryBodyOf(deptA)), d, w, checkUpdated(5, cityhub.StatusPublished))
	d, w = inDeptA(403, rPA, 409, rST, 409)
	add("update a submitted entry of A", "PUT /api/v1/catalog/entries/{id}",
		fresh(deptA, cityhub.StatusSubmitted, "", entryBodyOf(deptA)), d, w, nil)
	d, w = statuses(403, rPA, 200)
	add("move a published entry of A to B", "PUT /api/v1/catalog/entries/{id}",
		fresh(deptA, cityhub.StatusPublished, "", entryBodyOf(deptB)), d, w, nil)

	// Delete: only drafts that were never published.
	d, w = inDeptA(403, rPA, 204, rST, 204)
	add("delete a draft of A", "DELETE /api/v1/catalog/entries/{id}", fresh(deptA, cityhub.StatusDraft, "", nil), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			if _, err := e.store.Entry(context.Background(), entryID(t, c.path)); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
				t.Errorf("after delete: got %v, want not found", err)
			}
			if got := e.do("GET", c.path, e.tokens[rPA], nil); got.status != http.StatusNotFound {
				t.Errorf("after delete: GET %s got %d, want 404", c.path, got.status)
			}
		})
	for _, status := range []string{cityhub.StatusSubmitted, cityhub.StatusWithdrawn} {
		d, w = inDeptA(403, rPA, 409, rST, 409)
		add("delete a "+status+" entry of A", "DELETE /api/v1/catalog/entries/{id}", fresh(deptA, status, "", nil), d, w, nil)
	}
	d, w = statuses(403, rPA, 409, rST, 409)
	add("delete a published entry of A", "DELETE /api/v1/catalog/entries/{id}", fresh(deptA, cityhub.StatusPublished, "", nil), d, w, nil)

	// Transitions: stewards submit and withdraw their own; reviewers approve,
	// reject, publish and withdraw.
	checkMoved := func(a cityhub.Transition, status string, version int) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			got := decodeEntry(t, res)
			reason := c.body.(map[string]string)["reason"]
			if a != cityhub.ActReject && a != cityhub.ActWithdraw {
				reason = ""
			}
			if got.ID != entryID(t, c.path) || got.Status != status || got.Version != version || got.StatusReason != reason {
				t.Errorf("got %+v, want status %s at version %d with reason %q", got, status, version, reason)
			}
			e.checkLastVersion(t, got.ID, version, string(a), e.users[role].Username)
			if rec := e.lastAudit(cityhub.AuditFilter{Action: "catalog." + string(a)}); rec == nil ||
				rec.Object != fmt.Sprintf("catalog:%d", got.ID) || rec.Actor != e.users[role].Username {
				t.Errorf("got catalog.%s record %+v, want one for entry %d by %s", a, rec, got.ID, e.users[role].Username)
			}
			// Publication shows the entry to everyone; withdrawal hides it again.
			seen := e.do("GET", entryPath(got.ID, ""), e.tokens[rCOB], nil).status
			switch {
			case status == cityhub.StatusPublished && seen != http.StatusOK:
				t.Errorf("published: GET as a consumer of B got %d, want 200", seen)
			case status == cityhub.StatusPublished && (!got.EverPublished || got.PublishDate != time.Now().UTC().Format("2006-01-02")):
				t.Errorf("got %+v, want ever_published and today's publish date", got)
			case status == cityhub.StatusWithdrawn && seen != http.StatusNotFound:
				t.Errorf("withdrawn: GET as a consumer of B got %d, want 404", seen)
			}
		}
	}
	transition := "POST /api/v1/catalog/entries/{id}/transition"
	d, w = inDeptA(403, rPA, 200, rST, 200)
	add("submit a draft of A", transition, fresh(deptA, cityhub.StatusDraft, "/transition", action(cityhub.ActSubmit, "")),
		d, w, checkMoved(cityhub.ActSubmit, cityhub.StatusSubmitted, 2))
	d, w = statuses(403, rPA, 200, rSTB, 200, rDA, 404, rST, 404, rCO, 404, rOP, 404)
	add("submit a draft of B", transition, fresh(deptB, cityhub.StatusDraft, "/transition", action(cityhub.ActSubmit, "")),
		d, w, checkMoved(cityhub.ActSubmit, cityhub.StatusSubmitted, 2))
	d, w = inDeptA(403, rPA, 200, rRV, 200)
	add("approve a submitted entry of A", transition,
		fresh(deptA, cityhub.StatusSubmitted, "/transition", action(cityhub.ActApprove, "")),
		d, w, checkMoved(cityhub.ActApprove, cityhub.StatusApproved, 3))
	d, w = inDeptA(403, rPA, 200, rRV, 200)
	add("reject a submitted entry of A", transition,
		fresh(deptA, cityhub.StatusSubmitted, "/transition", action(cityhub.ActReject, "共享方式不明确")),
		d, w, checkMoved(cityhub.ActReject, cityhub.StatusRejected, 3))
	d, w = inDeptA(403, rPA, 400, rRV, 400)
	add("reject without a reason", transition,
		fresh(deptA, cityhub.StatusSubmitted, "/transition", action(cityhub.ActReject, "  ")), d, w, nil)
	d, w = inDeptA(403, rPA, 200, rRV, 200)
	add("publish an approved entry of A", transition,
		fresh(deptA, cityhub.StatusApproved, "/transition", action(cityhub.ActPublish, "")),
		d, w, checkMoved(cityhub.ActPublish, cityhub.StatusPublished, 4))
	d, w = inDeptA(403, rPA, 409, rRV, 409)
	add("publish a draft", transition, fresh(deptA, cityhub.StatusDraft, "/transition", action(cityhub.ActPublish, "")), d, w, nil)
	d, w = statuses(403, rPA, 200, rST, 200, rRV, 200)
	add("withdraw a published entry of A", transition,
		fresh(deptA, cityhub.StatusPublished, "/transition", action(cityhub.ActWithdraw, "数据源停用")),
		d, w, checkMoved(cityhub.ActWithdraw, cityhub.StatusWithdrawn, 5))
	add("unknown action", transition, func(e *env, _ string) call {
		return call{path: entryPath(e.pubA.ID, "/transition"), body: map[string]string{"action": "archive"}}
	}, 400, nil, nil)

	// Versions and change requests: whoever may see the entry.
	add("versions of a published entry", "GET /api/v1/catalog/entries/{id}/versions", func(e *env, _ string) call {
		return call{path: entryPath(e.pubA.ID, "/versions")}
	}, 200, nil, func(t *testing.T, e *env, role string, c call, res *response) {
		var l struct {
			Items []struct {
				Version int                   `json:"version"`
				Action  string                `json:"action"`
				Actor   string                `json:"actor"`
				Changes []cityhub.Change      `json:"changes"`
				Entry   *cityhub.CatalogEntry `json:"entry"`
			} `json:"items"`
			Total int `json:"total"`
		}
		res.decode(t, &l)
		if !strings.Contains(string(res.body), `"entry":{`) {
			t.Errorf("got %.200s…, want each version's entry under \"entry\"", res.body)
		}
		var actions []string
		for i, v := range l.Items {
			actions = append(actions, v.Action)
			if v.Version != i+1 || v.Actor != "seed" || len(v.Changes) == 0 || v.Entry == nil || v.Entry.Version != v.Version {
				t.Errorf("version %d: got %+v, want version %d by seed with changes and the entry as it was", i, v, i+1)
			}
		}
		if got := strings.Join(actions, " "); got != "create submit approve publish" || l.Total != 4 {
			t.Fatalf("got actions %q (total %d), want create submit approve publish", got, l.Total)
		}
		last := l.Items[3]
		if last.Entry.Status != cityhub.StatusPublished || !strings.Contains(fmt.Sprint(last.Changes), "status approved published") {
			t.Errorf("publish version: got %+v, changes %v, want status approved → published", last.Entry, last.Changes)
		}
	})
	d, w = inDeptA(200)
	add("versions of a draft of A", "GET /api/v1/catalog/entries/{id}/versions", func(e *env, _ string) call {
		return call{path: entryPath(e.draftA.ID, "/versions")}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[versionView]
		res.decode(t, &l)
		if l.Total != 1 || len(l.Items) != 1 || l.Items[0].Action != "create" {
			t.Errorf("got %s, want the one create version", res.body)
		}
	})
	checkRequests := func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[cityhub.ChangeRequest]
		res.decode(t, &l)
		for _, cr := range l.Items {
			if cr.EntryID != entryID(t, c.path) {
				t.Errorf("got change request %+v, want only requests on entry %d", cr, entryID(t, c.path))
			}
		}
		if l.Total != len(l.Items) {
			t.Errorf("got total %d with %d items", l.Total, len(l.Items))
		}
	}
	add("change requests of a published entry", "GET /api/v1/catalog/entries/{id}/change-requests", func(e *env, _ string) call {
		return call{path: entryPath(e.pubA.ID, "/change-requests")}
	}, 200, nil, checkRequests)
	d, w = inDeptA(200)
	add("change requests of a draft of A", "GET /api/v1/catalog/entries/{id}/change-requests", func(e *env, _ string) call {
		return call{path: entryPath(e.draftA.ID, "/change-requests")}
	}, d, w, checkRequests)
	checkRequested := func(t *testing.T, e *env, role string, c call, res *response) {
		var cr cityhub.ChangeRequest
		res.decode(t, &cr)
		id := entryID(t, c.path)
		if cr.ID == 0 || cr.EntryID != id || cr.Requester != e.users[role].Username || cr.ResolvedAt != nil ||
			cr.Reason != c.body.(map[string]string)["reason"] {
			t.Fatalf("got %+v, want an open request on entry %d by %s", cr, id, e.users[role].Username)
		}
		stored, err := e.store.ChangeRequests(context.Background(), id)
		if err != nil || len(stored) == 0 || stored[0].ID != cr.ID {
			t.Errorf("stored requests: got %v, %v, want %d newest", stored, err, cr.ID)
		}
	}
	crBody := func(e *env, path string) call {
		return call{path: path, body: map[string]string{"reason": fmt.Sprintf("请补充字段说明 %d", e.next())}}
	}
	add("request a change of a published entry", "POST /api/v1/catalog/entries/{id}/change-requests", func(e *env, _ string) call {
		return crBody(e, entryPath(e.pubA.ID, "/change-requests"))
	}, 201, nil, checkRequested)
	d, w = inDeptA(201)
	add("request a change of a draft of A", "POST /api/v1/catalog/entries/{id}/change-requests", func(e *env, _ string) call {
		return crBody(e, entryPath(e.draftA.ID, "/change-requests"))
	}, d, w, checkRequested)

	// Statistics: every signed-in caller, city-wide or per provider.
	checkStats := func(provider func(*env) int64) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			var st struct {
				cityhub.CatalogStats
				OpenRateTarget float64   `json:"open_rate_target"`
				ChangeDeadline time.Time `json:"change_deadline"`
				AsOf           time.Time `json:"as_of"`
			}
			res.decode(t, &st)
			p := provider(e)
			all, err := e.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{ProviderID: p,
				Scope: cityhub.CatalogScope{All: true}, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			published := 0
			for _, en := range all.Entries {
				if en.Status == cityhub.StatusPublished {
					published++
				}
			}
			if st.OpenRateTarget != 0.8 || st.Entries != all.Total || st.ByStatus[cityhub.StatusPublished] != published {
				t.Errorf("got target %v, %d entries, %d published, want 0.8, %d, %d", st.OpenRateTarget, st.Entries,
					st.ByStatus[cityhub.StatusPublished], all.Total, published)
			}
			if !st.ChangeDeadline.Before(st.AsOf) || time.Since(st.AsOf) > time.Minute {
				t.Errorf("got change deadline %v as of %v, want a deadline before now", st.ChangeDeadline, st.AsOf)
			}
			found := false
			for _, d := range st.Domains {
				found = found || d.Domain == "urban" && d.Key && d.Openable > 0 && d.Rate > 0 && d.Rate <= 1
			}
			if !found {
				t.Errorf("got domains %+v, want urban, a key domain, with a rate", st.Domains)
			}
			for _, d := range st.Departments {
				if p != 0 && d.ProviderID != p {
					t.Errorf("got department line %+v, want only provider %d", d, p)
				}
			}
		}
	}
	add("catalog statistics", "GET /api/v1/catalog/stats", fixed("/api/v1/catalog/stats", nil), 200, nil,
		checkStats(func(*env) int64 { return 0 }))
	add("catalog statistics of A", "GET /api/v1/catalog/stats", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/catalog/stats?provider_id=%d", e.deptA.ID)}
	}, 200, nil, checkStats(func(e *env) int64 { return e.deptA.ID }))

	// Import: stewards (for their own department) and platform admins.
	d, w = statuses(403, rPA, 200, rST, 200, rSTB, 200)
	add("import a new entry of A", "POST /api/v1/catalog/import", func(e *env, _ string) call {
		en := testEntry(fmt.Sprintf("城市建设项目台账 %d", e.next()), e.deptA.ID)
		en.ProviderName, en.ProviderCode = e.deptA.Name, e.deptA.CreditCode
		return call{path: "/api/v1/catalog/import?file=csv", body: sheetCSV(e.t, en)}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var rep catalogsheet.Report
		res.decode(t, &rep)
		name := csvRows(t, []byte(c.body.(string)))[1][1]
		got := e.entriesNamed(t, name)
		if role == rSTB {
			// Another department's entry is refused row by row; nothing is written.
			if rep.Received != 1 || rep.Created != 0 || rep.Skipped != 1 || len(rep.Problems) == 0 ||
				!strings.Contains(rep.Problems[0].Column, "提供方") || len(got) != 0 {
				t.Errorf("got report %+v and %d stored entries named %s, want the row skipped for its provider and nothing stored",
					rep, len(got), name)
			}
			return
		}
		if rep.Received != 1 || rep.Created != 1 || rep.Skipped != 0 || len(rep.Problems) != 0 {
			t.Fatalf("got report %+v, want 1 entry created", rep)
		}
		if len(got) != 1 || got[0].ProviderID != e.deptA.ID || got[0].Status != cityhub.StatusDraft || !strings.HasPrefix(got[0].Code, "209/") {
			t.Fatalf("got stored entries %+v, want one new draft of A named %s", got, name)
		}
		e.checkLastVersion(t, got[0].ID, 1, "import", e.users[role].Username)
	})

	// Export: what the caller may see, as a spreadsheet.
	add("export the catalog as CSV", "GET /api/v1/catalog/export", fixed("/api/v1/catalog/export?file=csv", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") ||
				!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") {
				t.Fatalf("got Content-Type %q, Content-Disposition %q, want a CSV attachment", ct, res.header.Get("Content-Disposition"))
			}
			rows := csvRows(t, res.body)
			col := slices.Index(rows[0], catalogsheet.ColumnOf("code"))
			if col < 0 {
				t.Fatalf("got header %v, want a %s column", rows[0], catalogsheet.ColumnOf("code"))
			}
			got := map[string]bool{}
			for _, row := range rows[1:] {
				got[row[col]] = true
			}
			want := map[string]bool{}
			for _, en := range e.visibleEntries(t, e.users[role], cityhub.CatalogQuery{}) {
				want[en.Code] = true
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("exported codes: got %d, want the %d entries this caller may see (got %v, want %v)", len(got), len(want), got, want)
			}
			if rec := e.lastAudit(cityhub.AuditFilter{Action: "catalog.export"}); rec == nil || rec.Actor != e.users[role].Username ||
				rec.RequestID != res.header.Get("X-Request-ID") {
				t.Errorf("got catalog.export record %+v, want one of this request by %s", rec, e.users[role].Username)
			}
		})
	add("export in an unknown format", "GET /api/v1/catalog/export", fixed("/api/v1/catalog/export?file=pdf", nil), 400, nil, nil)
	return cases
}

// sheetCSV is entries as a CSV catalog file.
func sheetCSV(t testing.TB, entries ...*cityhub.CatalogEntry) string {
	t.Helper()
	var b strings.Builder
	if err := catalogsheet.WriteCSV(&b, entries, false); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	return b.String()
}

// csvRows parses a CSV file whole.
func csvRows(t testing.TB, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("got CSV %q: %v, want a header row at least", data, err)
	}
	return rows
}

// entriesNamed are the stored entries with this name.
func (e *env) entriesNamed(t testing.TB, name string) []*cityhub.CatalogEntry {
	t.Helper()
	res, err := e.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Q: name, Limit: 1000,
		Scope: cityhub.CatalogScope{All: true}})
	if err != nil {
		t.Fatalf("SearchCatalog: %v", err)
	}
	var out []*cityhub.CatalogEntry
	for _, en := range res.Entries {
		if en.Name == name {
			out = append(out, en)
		}
	}
	return out
}

package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// publicLabel is the public account that calls the engagement matrix in
// TestEngagementPublicMatrix; the staff callers run in TestRoleMatrix.
const publicLabel = "public"

// openFixture is what the engagement tests share within one env: entries
// of department A in each open state and a public account with a session.
type openFixture struct {
	cond, uncond, closed, draft *cityhub.CatalogEntry
	pub                         *cityhub.User
	pubToken                    string
}

var openFixtures sync.Map // *env → *openFixture

func (e *env) openFixture() *openFixture {
	e.t.Helper()
	if f, ok := openFixtures.Load(e); ok {
		return f.(*openFixture)
	}
	f := &openFixture{cond: e.openEntry(e.deptA, cityhub.StatusPublished, cityhub.Conditional),
		uncond: e.openEntry(e.deptA, cityhub.StatusPublished, cityhub.Unconditional),
		closed: e.openEntry(e.deptA, cityhub.StatusPublished, cityhub.NotShared),
		draft:  e.openEntry(e.deptA, cityhub.StatusDraft, cityhub.Conditional)}
	f.pub, f.pubToken = e.publicUser()
	actual, _ := openFixtures.LoadOrStore(e, f)
	e.t.Cleanup(func() { openFixtures.Delete(e) })
	return actual.(*openFixture)
}

// openEntry creates an entry of dept in status with the open type.
func (e *env) openEntry(dept *cityhub.Department, status, openType string) *cityhub.CatalogEntry {
	e.t.Helper()
	en := testEntry(fmt.Sprintf("公交线路客流 %d", e.next()), dept.ID)
	switch openType {
	case cityhub.Conditional:
		en.OpenType, en.OpenBasis, en.OpenCondition = cityhub.Conditional, "《公共数据开放办法》", "签署开放协议"
	case cityhub.NotShared:
		en.OpenType, en.OpenBasis, en.Domain = cityhub.NotShared, "涉及个人信息", ""
	}
	return e.saveEntry(en, status)
}

// publicUser creates a public account through the store and signs it in.
func (e *env) publicUser() (*cityhub.User, string) {
	e.t.Helper()
	u := e.newUser(cityhub.RolePublic, nil)
	return u, e.login(u.Username, testPassword)
}

// actingAs is a context in which u changes the store.
func actingAs(u *cityhub.User) context.Context {
	return cityhub.WithActor(context.Background(), cityhub.Actor{UserID: u.ID, Username: u.Username})
}

func datasetPath(en *cityhub.CatalogEntry, suffix string) string {
	return "/api/v1/open/datasets/" + en.PackageName() + suffix
}

// application has a new public account apply for en through the store.
func (e *env) application(en *cityhub.CatalogEntry) (*cityhub.AccessApplication, *cityhub.User) {
	e.t.Helper()
	u := e.newUser(cityhub.RolePublic, nil)
	a := &cityhub.AccessApplication{EntryID: en.ID, Purpose: "开发公交到站提醒应用"}
	if err := e.store.CreateAccessApplication(actingAs(u), a); err != nil {
		e.t.Fatalf("apply: %v", err)
	}
	return a, u
}

func (e *env) approved(en *cityhub.CatalogEntry) (*cityhub.AccessApplication, *cityhub.User) {
	e.t.Helper()
	a, u := e.application(en)
	if _, err := e.store.DecideAccessApplication(actingAs(e.users[cityhub.RoleSteward]), a.ID,
		cityhub.ApplicationDecision{Action: cityhub.DecideApprove}); err != nil {
		e.t.Fatalf("approve: %v", err)
	}
	return a, u
}

func (e *env) dataRequest(provider *int64) *cityhub.DataRequest {
	e.t.Helper()
	r := &cityhub.DataRequest{Title: fmt.Sprintf("停车场实时泊位 %d", e.next()), Description: "希望开放各停车场的实时空余泊位", ProviderID: provider}
	if err := e.store.CreateDataRequest(actingAs(e.newUser(cityhub.RolePublic, nil)), r); err != nil {
		e.t.Fatalf("create data request: %v", err)
	}
	return r
}

func (e *env) comment(en *cityhub.CatalogEntry) *cityhub.Comment {
	e.t.Helper()
	c := &cityhub.Comment{EntryID: en.ID, Body: fmt.Sprintf("希望按日更新 %d", e.next())}
	if err := e.store.CreateComment(actingAs(e.newUser(cityhub.RolePublic, nil)), c); err != nil {
		e.t.Fatalf("comment: %v", err)
	}
	return c
}

// showcaseItem is a pending item of a new public account, or of u.
func (e *env) showcaseItem(u *cityhub.User) *cityhub.ShowcaseItem {
	e.t.Helper()
	if u == nil {
		u = e.newUser(cityhub.RolePublic, nil)
	}
	it := &cityhub.ShowcaseItem{Title: fmt.Sprintf("宁波公交通 %d", e.next()), Description: "公交到站提醒",
		URL: "https://bus.example.cn/", EntryIDs: []int64{e.openFixture().uncond.ID}}
	if err := e.store.CreateShowcaseItem(actingAs(u), it); err != nil {
		e.t.Fatalf("submit showcase item: %v", err)
	}
	return it
}

func (e *env) granted(u *cityhub.User, en *cityhub.CatalogEntry) bool {
	e.t.Helper()
	ok, err := e.store.AccessGranted(context.Background(), u.ID, en.ID)
	if err != nil {
		e.t.Fatalf("AccessGranted: %v", err)
	}
	return ok
}

// engagementMatrixCases are the role-matrix cases of the engagement API.
// Every case names the public account's status too (publicLabel).
func engagementMatrixCases() []matrixCase {
	const (
		PA, ST, STB, PUB = cityhub.RolePlatformAdmin, cityhub.RoleSteward, stewardB, publicLabel
	)
	var cases []matrixCase
	add := func(name, pattern string, prepare func(*env, string) call, def int, want map[string]int,
		check func(*testing.T, *env, string, call, *response)) {
		cases = append(cases, matrixCase{name, pattern, prepare, def, want, check})
	}
	applicationPath := func(make func(e *env) *cityhub.AccessApplication, suffix string, body any) func(*env, string) call {
		return func(e *env, _ string) call {
			return call{path: fmt.Sprintf("/api/v1/applications/%d%s", make(e).ID, suffix), body: body}
		}
	}
	pending := func(e *env) *cityhub.AccessApplication { a, _ := e.application(e.openFixture().cond); return a }
	approvedApp := func(e *env) *cityhub.AccessApplication { a, _ := e.approved(e.openFixture().cond); return a }
	checkApp := func(status string) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			var a cityhub.AccessApplication
			res.decode(t, &a)
			if a.Status != status || a.DecidedBy != roleUsername(e, role) {
				t.Errorf("got %+v, want %s by %s", a, status, roleUsername(e, role))
			}
			u, err := e.store.User(context.Background(), a.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.granted(u, e.openFixture().cond); got != (status == cityhub.ApplicationApproved) {
				t.Errorf("access after %s: got %v", status, got)
			}
			rec := e.lastAudit(cityhub.AuditFilter{Object: fmt.Sprintf("open_application:%d", a.ID)})
			if rec == nil || !strings.HasPrefix(rec.Action, "open.application.") || rec.Actor != roleUsername(e, role) ||
				rec.RequestID != res.header.Get("X-Request-ID") {
				t.Errorf("audit: got %+v, want this decision by %s", rec, roleUsername(e, role))
			}
		}
	}

	// Applications for 有条件开放 data.
	d, w := statuses(403, PUB, 201)
	add("apply for a 有条件开放 dataset", "POST /api/v1/open/datasets/{name}/applications", func(e *env, role string) call {
		en := e.openFixture().cond
		if role == PUB {
			en = e.openEntry(e.deptA, cityhub.StatusPublished, cityhub.Conditional) // one open application per dataset
		}
		return call{path: datasetPath(en, "/applications"), body: map[string]string{"purpose": "交通研究", "organization": "宁波大学"}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var a cityhub.AccessApplication
		res.decode(t, &a)
		if a.Status != cityhub.ApplicationPending || a.UserID != e.openFixture().pub.ID || a.Organization != "宁波大学" {
			t.Errorf("got %+v, want the caller's pending application", a)
		}
	})
	d, w = statuses(200, PUB, 200)
	add("own applications", "GET /api/v1/me/applications", fixed("/api/v1/me/applications", nil), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.AccessApplication]
			res.decode(t, &l)
			me := roleUserID(e, role)
			for _, a := range l.Items {
				if a.UserID != me {
					t.Errorf("got application %d of user %d, want only the caller's (%d)", a.ID, a.UserID, me)
				}
			}
			if role == PUB && l.Total == 0 {
				t.Error("got no applications, want the public account's")
			}
		})
	d, w = statuses(403, PA, 200, ST, 200, STB, 200, PUB, 403)
	add("applications to decide", "GET /api/v1/applications", func(e *env, _ string) call {
		pending(e)
		return call{path: "/api/v1/applications?status=pending"}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[cityhub.AccessApplication]
		res.decode(t, &l)
		for _, a := range l.Items {
			if a.Status != cityhub.ApplicationPending || role != PA && a.ProviderID != *e.users[role].DepartmentID {
				t.Errorf("%s got application %+v, want only pending ones of their department", role, a)
			}
		}
		if role != STB && l.Total == 0 {
			t.Errorf("%s got none, want A's pending applications", role)
		}
	})
	d, w = statuses(404, PA, 200, ST, 200, PUB, 404)
	add("an application for A's data", "GET /api/v1/applications/{id}", applicationPath(pending, "", nil), d, w, nil)
	d, w = statuses(404, PA, 200, ST, 200, PUB, 403)
	add("approve an application", "POST /api/v1/applications/{id}/approve",
		applicationPath(pending, "/approve", map[string]any{"expires_at": time.Now().Add(90 * 24 * time.Hour)}), d, w,
		checkApp(cityhub.ApplicationApproved))
	add("refuse an application", "POST /api/v1/applications/{id}/refuse",
		applicationPath(pending, "/refuse", map[string]string{"reason": "用途与数据无关"}), d, w, checkApp(cityhub.ApplicationRefused))
	add("revoke an approval", "POST /api/v1/applications/{id}/revoke",
		applicationPath(approvedApp, "/revoke", map[string]string{"reason": "违反开放协议"}), d, w, checkApp(cityhub.ApplicationRevoked))

	// Dataset requests.
	d, w = statuses(200, anon, 200, PUB, 200)
	add("dataset requests", "GET /api/v1/open/requests", func(e *env, _ string) call {
		e.dataRequest(nil)
		return call{path: "/api/v1/open/requests?status=open"}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[cityhub.DataRequest]
		res.decode(t, &l)
		if l.Total == 0 || l.Items[0].Status != cityhub.RequestOpen || l.Items[0].Requester == "" {
			t.Errorf("got %s, want open requests with their requesters", res.body)
		}
	})
	d, w = statuses(403, PUB, 201)
	add("file a dataset request", "POST /api/v1/open/requests", func(e *env, _ string) call {
		return call{path: "/api/v1/open/requests", body: map[string]any{"title": "共享单车停放点", "description": "各停放点位置与容量",
			"provider_id": e.deptA.ID, "domain": "urban"}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var r cityhub.DataRequest
		res.decode(t, &r)
		if r.Status != cityhub.RequestOpen || r.ProviderName != e.deptA.Name || r.Title != "共享单车停放点" {
			t.Errorf("got %+v, want an open request to %s", r, e.deptA.Name)
		}
	})
	d, w = statuses(200, anon, 200, PUB, 200)
	add("one dataset request", "GET /api/v1/open/requests/{id}", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/requests/%d", e.dataRequest(nil).ID)}
	}, d, w, nil)
	d, w = statuses(403, PA, 200, ST, 200, PUB, 403)
	add("answer a request to A", "POST /api/v1/open/requests/{id}/answer", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/requests/%d/answer", e.dataRequest(&e.deptA.ID).ID),
			body: map[string]any{"status": cityhub.RequestFulfilled, "entry_id": e.openFixture().uncond.ID}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var r cityhub.DataRequest
		res.decode(t, &r)
		if r.Status != cityhub.RequestFulfilled || r.PackageName != e.openFixture().uncond.PackageName() || r.AnsweredBy != roleUsername(e, role) {
			t.Errorf("got %+v, want fulfilled by %s with the dataset", r, roleUsername(e, role))
		}
	})
	d, w = statuses(200, PUB, 200)
	add("own dataset requests", "GET /api/v1/me/requests", fixed("/api/v1/me/requests", nil), d, w, nil)

	// Ratings and comments.
	d, w = statuses(200, anon, 200, PUB, 200)
	add("a dataset's rating", "GET /api/v1/open/datasets/{name}/rating", func(e *env, _ string) call {
		return call{path: datasetPath(e.openFixture().uncond, "/rating")}
	}, d, w, nil)
	d, w = statuses(403, PUB, 200)
	add("rate a dataset", "PUT /api/v1/open/datasets/{name}/rating", func(e *env, _ string) call {
		return call{path: datasetPath(e.openFixture().uncond, "/rating"), body: map[string]int{"stars": 4}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var v ratingView
		res.decode(t, &v)
		if v.Mine != 4 || v.Count == 0 {
			t.Errorf("got %+v, want the caller's 4 stars counted", v)
		}
	})
	d, w = statuses(200, anon, 200, PUB, 200)
	add("a dataset's comments", "GET /api/v1/open/datasets/{name}/comments", func(e *env, _ string) call {
		e.comment(e.openFixture().uncond)
		return call{path: datasetPath(e.openFixture().uncond, "/comments")}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[cityhub.Comment]
		res.decode(t, &l)
		if l.Total == 0 || l.Items[0].Author == "" {
			t.Errorf("got %s, want comments with authors", res.body)
		}
	})
	d, w = statuses(403, PUB, 201)
	add("comment on a dataset", "POST /api/v1/open/datasets/{name}/comments", func(e *env, _ string) call {
		return call{path: datasetPath(e.openFixture().cond, "/comments"), body: map[string]string{"body": "申请流程清楚"}}
	}, d, w, nil)
	d, w = statuses(403, PA, 201, ST, 201, PUB, 403)
	add("reply to a comment on A's dataset", "POST /api/v1/open/datasets/{name}/comments", func(e *env, _ string) call {
		c := e.comment(e.openFixture().uncond)
		return call{path: datasetPath(e.openFixture().uncond, "/comments"), body: map[string]any{"body": "感谢建议，已安排", "parent_id": c.ID}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Comment
		res.decode(t, &got)
		if !got.Official || got.ParentID == nil {
			t.Errorf("got %+v, want an official reply", got)
		}
	})
	d, w = statuses(403, PA, 200, PUB, 403)
	add("hide a comment", "POST /api/v1/comments/{id}/hide", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/comments/%d/hide", e.comment(e.openFixture().uncond).ID),
			body: map[string]string{"reason": "人身攻击"}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Comment
		res.decode(t, &got)
		pub := e.do("GET", datasetPath(e.openFixture().uncond, "/comments?limit=1000"), "", nil)
		if !got.Hidden || strings.Contains(string(pub.body), got.Body) {
			t.Errorf("got %+v; public listing %s; want it hidden from the public", got, pub.body)
		}
	})

	// The showcase.
	d, w = statuses(200, anon, 200, PUB, 200)
	add("the showcase", "GET /api/v1/open/showcase", fixed("/api/v1/open/showcase", nil), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.ShowcaseItem]
			res.decode(t, &l)
			for _, it := range l.Items {
				if it.Status != cityhub.ShowcaseApproved {
					t.Errorf("got item %+v, want only approved ones", it)
				}
			}
		})
	d, w = statuses(403, PA, 200, anon, 401, PUB, 403)
	add("pending showcase items", "GET /api/v1/open/showcase", fixed("/api/v1/open/showcase?status=pending", nil), d, w, nil)
	d, w = statuses(403, PA, 201, PUB, 201)
	add("submit to the showcase", "POST /api/v1/open/showcase", func(e *env, _ string) call {
		return call{path: "/api/v1/open/showcase", body: map[string]any{"title": "城市停车通", "description": "找车位",
			"url": "https://parking.example.cn", "entry_ids": []int64{e.openFixture().uncond.ID, e.openFixture().cond.ID}}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var it cityhub.ShowcaseItem
		res.decode(t, &it)
		want := map[string]string{PA: cityhub.ShowcaseApproved, PUB: cityhub.ShowcasePending}[role]
		if it.Status != want || len(it.Datasets) != 2 {
			t.Errorf("got %+v, want %s with 2 datasets", it, want)
		}
	})
	d, w = statuses(404, PA, 200, anon, 404, PUB, 404)
	add("a pending showcase item", "GET /api/v1/open/showcase/{id}", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/showcase/%d", e.showcaseItem(nil).ID)}
	}, d, w, nil)
	d, w = statuses(200, anon, 200, PUB, 200)
	add("an approved showcase item", "GET /api/v1/open/showcase/{id}", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/showcase/%d", e.showcaseItem(e.users[PA]).ID)}
	}, d, w, nil)
	d, w = statuses(403, PA, 200, PUB, 403)
	add("approve a showcase item", "POST /api/v1/open/showcase/{id}/approve", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/showcase/%d/approve", e.showcaseItem(nil).ID)}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var it cityhub.ShowcaseItem
		res.decode(t, &it)
		if got := e.do("GET", fmt.Sprintf("/api/v1/open/showcase/%d", it.ID), "", nil); it.Status != cityhub.ShowcaseApproved || got.status != 200 {
			t.Errorf("got %+v and anonymous %v, want it approved and shown", it, got)
		}
	})
	add("reject a showcase item", "POST /api/v1/open/showcase/{id}/reject", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/open/showcase/%d/reject", e.showcaseItem(nil).ID), body: map[string]string{"reason": "链接失效"}}
	}, d, w, nil)
	d, w = statuses(200, PUB, 200)
	add("own showcase items", "GET /api/v1/me/showcase", fixed("/api/v1/me/showcase", nil), d, w, nil)
	return cases
}

func roleUsername(e *env, role string) string {
	if role == publicLabel {
		return e.openFixture().pub.Username
	}
	return e.users[role].Username
}

func roleUserID(e *env, role string) int64 {
	if role == publicLabel {
		return e.openFixture().pub.ID
	}
	return e.users[role].ID
}

// TestEngagementPublicMatrix runs the engagement cases of the role matrix
// as a public account, whose status every case names.
func TestEngagementPublicMatrix(t *testing.T) {
	e := newEnv(t)
	f := e.openFixture()
	for _, tc := range engagementMatrixCases() {
		method, _, _ := strings.Cut(tc.pattern, " ")
		t.Run(tc.name, func(t *testing.T) {
			want, ok := tc.want[publicLabel]
			if !ok {
				t.Fatalf("%s: names no status for a public account", tc.pattern)
			}
			c := tc.prepare(e, publicLabel)
			res := e.do(method, c.path, f.pubToken, c.body)
			if res.status != want {
				t.Fatalf("%s as a public account: got %v, want %d", tc.pattern, res, want)
			}
			switch {
			case want == http.StatusForbidden:
				res.apiErr(t)
				checkDeniedAudit(t, e, f.pub.Username, res)
			case want >= 400:
				res.apiErr(t)
			case tc.check != nil:
				tc.check(t, e, publicLabel, c, res)
			}
		})
	}
}

// TestEngagementApplications follows applications through the API: apply,
// the applicant's view, the steward's decision, access, re-application.
func TestEngagementApplications(t *testing.T) {
	e := newEnv(t)
	f := e.openFixture()
	st, stB, pa := e.tokens[cityhub.RoleSteward], e.tokens[stewardB], e.tokens[cityhub.RolePlatformAdmin]
	other, otherToken := e.publicUser()

	apply := func(token, name string, body any) *response {
		return e.do("POST", "/api/v1/open/datasets/"+name+"/applications", token, body)
	}
	body := map[string]string{"purpose": "研究公交客流", "intended_use": "论文", "organization": "宁波大学"}
	res := apply(f.pubToken, f.cond.PackageName(), body)
	if res.status != 201 {
		t.Fatalf("apply: got %v, want 201", res)
	}
	var a cityhub.AccessApplication
	res.decode(t, &a)
	if a.PackageName != f.cond.PackageName() || a.ProviderName != e.deptA.Name || a.IntendedUse != "论文" {
		t.Errorf("got %+v", a)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "open.application.create"}); rec == nil || rec.Actor != f.pub.Username ||
		rec.Object != fmt.Sprintf("open_application:%d", a.ID) || rec.RequestID != res.header.Get("X-Request-ID") {
		t.Errorf("audit: got %+v", rec)
	}

	for _, tc := range []struct {
		name, token, dataset string
		body                 any
		want                 int
		field                string
	}{
		{"twice", f.pubToken, f.cond.PackageName(), body, 409, "entry_id"},
		{"by CKAN package id", f.pubToken, cityhub.PackageID(f.cond.ID), body, 409, "entry_id"},
		{"无条件开放", otherToken, f.uncond.PackageName(), body, 409, ""},
		{"不予开放", otherToken, f.closed.PackageName(), body, 404, ""},
		{"a draft", otherToken, f.draft.PackageName(), body, 404, ""},
		{"a missing dataset", otherToken, "999-999999", body, 404, ""},
		{"no purpose", otherToken, f.cond.PackageName(), map[string]string{"organization": "x"}, 400, "purpose"},
		{"an unknown field", otherToken, f.cond.PackageName(), map[string]string{"purpose": "x", "phone": "1"}, 400, "phone"},
	} {
		t.Run("apply "+tc.name, func(t *testing.T) {
			res := apply(tc.token, tc.dataset, tc.body)
			if res.status != tc.want {
				t.Fatalf("got %v, want %d", res, tc.want)
			}
			if apiErr := res.apiErr(t); tc.field != "" && apiErr.Fields[tc.field] == "" {
				t.Errorf("got fields %v, want %s named", apiErr.Fields, tc.field)
			}
		})
	}

	path := fmt.Sprintf("/api/v1/applications/%d", a.ID)
	if res := e.do("GET", path, f.pubToken, nil); res.status != 200 {
		t.Errorf("applicant reads the application: got %v", res)
	}
	if res := e.do("GET", path, otherToken, nil); res.status != 404 {
		t.Errorf("another public account reads it: got %v, want 404", res)
	}
	if res := e.do("GET", "/api/v1/applications", stB, nil); strings.Contains(string(res.body), fmt.Sprintf(`"id":%d,`, a.ID)) {
		t.Errorf("B's steward lists A's application: %s", res.body)
	}
	if res := e.do("POST", path+"/approve", stB, map[string]any{}); res.status != 404 {
		t.Errorf("B's steward approves: got %v, want 404", res)
	}
	if res := e.do("POST", path+"/refuse", st, map[string]any{}); res.status != 400 || res.apiErr(t).Fields["reason"] == "" {
		t.Errorf("refuse without reason: got %v, want 400 naming reason", res)
	}
	if res := e.do("POST", path+"/approve", st, map[string]any{"expires_at": "2020-01-01T00:00:00Z"}); res.status != 400 {
		t.Errorf("approve until the past: got %v, want 400", res)
	}
	if e.granted(f.pub, f.cond) {
		t.Fatal("access before approval")
	}
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	res = e.do("POST", path+"/approve", st, map[string]any{"reason": "材料齐全", "expires_at": until})
	if res.status != 200 {
		t.Fatalf("approve: got %v", res)
	}
	res.decode(t, &a)
	if a.Status != cityhub.ApplicationApproved || a.ExpiresAt == nil || !a.ExpiresAt.Equal(until) || !e.granted(f.pub, f.cond) {
		t.Errorf("approved: got %+v, access %v", a, e.granted(f.pub, f.cond))
	}
	if e.granted(other, f.cond) {
		t.Error("access for another public account")
	}
	if res := e.do("POST", path+"/approve", pa, map[string]any{}); res.status != 409 {
		t.Errorf("approve twice: got %v, want 409", res)
	}
	var mine listOf[cityhub.AccessApplication]
	e.do("GET", "/api/v1/me/applications?status=approved", f.pubToken, nil).decode(t, &mine)
	if mine.Total != 1 || mine.Items[0].ID != a.ID {
		t.Errorf("own approved applications: got %+v", mine)
	}
	if res := e.do("GET", "/api/v1/me/applications?status=granted", f.pubToken, nil); res.status != 400 {
		t.Errorf("unknown status: got %v, want 400", res)
	}
	if res := e.do("GET", fmt.Sprintf("/api/v1/applications?provider_id=%d", e.deptB.ID), st, nil); res.status != 403 {
		t.Errorf("A's steward lists B's applications: got %v, want 403", res)
	}
	// Revoked: no access; the user may apply again.
	if res := e.do("POST", path+"/revoke", pa, map[string]string{"reason": "违反开放协议"}); res.status != 200 {
		t.Fatalf("revoke: got %v", res)
	}
	if e.granted(f.pub, f.cond) {
		t.Error("access after revocation")
	}
	if res := apply(f.pubToken, f.cond.PackageName(), body); res.status != 201 {
		t.Errorf("apply again after revocation: got %v, want 201", res)
	}
}

func TestEngagementRequestsRatingsComments(t *testing.T) {
	e := newEnv(t)
	f := e.openFixture()
	st, pa := e.tokens[cityhub.RoleSteward], e.tokens[cityhub.RolePlatformAdmin]

	// A request, answered by the platform, public throughout.
	res := e.do("POST", "/api/v1/open/requests", f.pubToken, map[string]any{"title": "公厕位置", "description": "全市公厕位置与开放时间"})
	if res.status != 201 {
		t.Fatalf("create request: got %v", res)
	}
	var r cityhub.DataRequest
	res.decode(t, &r)
	for _, bad := range []map[string]any{{"title": "x"}, {"title": "x", "description": "y", "domain": "nowhere"},
		{"title": "x", "description": "y", "provider_id": 424242}} {
		if res := e.do("POST", "/api/v1/open/requests", f.pubToken, bad); res.status != 400 {
			t.Errorf("request %v: got %v, want 400", bad, res)
		}
	}
	answer := fmt.Sprintf("/api/v1/open/requests/%d/answer", r.ID)
	if res := e.do("POST", answer, st, map[string]string{"status": "planned", "reply": "x"}); res.status != 403 {
		t.Errorf("a steward answers a request naming no department: got %v, want 403", res)
	}
	if res := e.do("POST", answer, pa, map[string]any{"status": "fulfilled", "entry_id": f.draft.ID}); res.status != 400 {
		t.Errorf("fulfilled by a draft: got %v, want 400", res)
	}
	if res := e.do("POST", answer, pa, map[string]string{"status": "planned", "reply": "已列入计划"}); res.status != 200 {
		t.Fatalf("answer: got %v", res)
	}
	res = e.do("GET", fmt.Sprintf("/api/v1/open/requests/%d", r.ID), "", nil)
	res.decode(t, &r)
	if r.Status != cityhub.RequestPlanned || r.Reply != "已列入计划" {
		t.Errorf("public view of the answer: got %+v", r)
	}
	var l listOf[cityhub.DataRequest]
	e.do("GET", "/api/v1/open/requests?q=公厕&status=planned", "", nil).decode(t, &l)
	if l.Total != 1 || l.Items[0].ID != r.ID {
		t.Errorf("search requests: got %+v", l)
	}
	if res := e.do("GET", "/api/v1/open/requests?status=maybe", "", nil); res.status != 400 {
		t.Errorf("unknown status: got %v, want 400", res)
	}

	// Ratings.
	rating := datasetPath(f.uncond, "/rating")
	other, otherToken := e.publicUser()
	for token, stars := range map[string]int{f.pubToken: 5, otherToken: 2} {
		if res := e.do("PUT", rating, token, map[string]int{"stars": stars}); res.status != 200 {
			t.Fatalf("rate: got %v", res)
		}
	}
	e.do("PUT", rating, f.pubToken, map[string]int{"stars": 3}) // changed
	var v ratingView
	e.do("GET", rating, "", nil).decode(t, &v)
	if v.Count != 2 || v.Average != 2.5 || v.Mine != 0 || v.Stars != [5]int{0, 1, 1, 0, 0} {
		t.Errorf("anonymous view: got %+v, want 2 ratings averaging 2.5", v)
	}
	e.do("GET", rating, otherToken, nil).decode(t, &v)
	if v.Mine != 2 {
		t.Errorf("%s's own rating: got %d, want 2", other.Username, v.Mine)
	}
	for _, stars := range []int{0, 6} {
		if res := e.do("PUT", rating, f.pubToken, map[string]int{"stars": stars}); res.status != 400 || res.apiErr(t).Fields["stars"] == "" {
			t.Errorf("%d stars: got %v, want 400", stars, res)
		}
	}
	if res := e.do("GET", datasetPath(f.closed, "/rating"), "", nil); res.status != 404 {
		t.Errorf("rating of a closed dataset: got %v, want 404", res)
	}

	// Comments: a comment, the steward's reply, moderation.
	comments := datasetPath(f.uncond, "/comments")
	var c cityhub.Comment
	res = e.do("POST", comments, f.pubToken, map[string]string{"body": "希望增加区县字段"})
	if res.status != 201 {
		t.Fatalf("comment: got %v", res)
	}
	res.decode(t, &c)
	if c.Stars != 3 {
		t.Errorf("comment: got stars %d, want the author's 3", c.Stars)
	}
	if res := e.do("POST", comments, st, map[string]any{"body": "下月增加", "parent_id": c.ID}); res.status != 201 {
		t.Fatalf("reply: got %v", res)
	}
	if res := e.do("POST", comments, e.tokens[stewardB], map[string]any{"body": "x", "parent_id": c.ID}); res.status != 403 {
		t.Errorf("B's steward replies on A's dataset: got %v, want 403", res)
	}
	var cl listOf[cityhub.Comment]
	e.do("GET", comments, "", nil).decode(t, &cl)
	if cl.Total != 1 || len(cl.Items[0].Replies) != 1 || !cl.Items[0].Replies[0].Official {
		t.Fatalf("public comments: got %+v, want the comment with the official reply", cl)
	}
	hide := fmt.Sprintf("/api/v1/comments/%d/hide", c.ID)
	if res := e.do("POST", hide, st, map[string]string{"reason": "x"}); res.status != 403 {
		t.Errorf("a steward hides: got %v, want 403", res)
	}
	if res := e.do("POST", hide, pa, map[string]string{"reason": " "}); res.status != 400 {
		t.Errorf("hide without reason: got %v, want 400", res)
	}
	if res := e.do("POST", hide, pa, map[string]string{"reason": "泄露他人电话"}); res.status != 200 {
		t.Fatalf("hide: got %v", res)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "open.comment.hide"}); rec == nil || rec.Actor != "admin" || !strings.Contains(rec.Details, "泄露他人电话") {
		t.Errorf("audit of hiding: got %+v", rec)
	}
	for _, token := range []string{"", f.pubToken} {
		e.do("GET", comments+"?include_hidden=true", token, nil).decode(t, &cl)
		if cl.Total != 0 || len(cl.Items) != 0 {
			t.Errorf("comments after hiding (token %.8s): got %+v, want none", token, cl)
		}
	}
	e.do("GET", comments+"?include_hidden=true", pa, nil).decode(t, &cl)
	if cl.Total != 1 || !cl.Items[0].Hidden || cl.Items[0].HiddenReason != "泄露他人电话" {
		t.Errorf("moderator's view: got %+v, want the hidden comment marked", cl)
	}
}

func TestEngagementShowcase(t *testing.T) {
	e := newEnv(t)
	f := e.openFixture()
	pa := e.tokens[cityhub.RolePlatformAdmin]
	body := func(url string, ids ...int64) map[string]any {
		return map[string]any{"title": "宁波公交通", "description": "公交到站提醒", "url": url, "entry_ids": ids}
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"javascript URL", body("javascript:alert(1)", f.uncond.ID), "url"},
		{"closed dataset", body("https://bus.example.cn", f.closed.ID), "entry_ids"},
		{"draft dataset", body("https://bus.example.cn", f.draft.ID), "entry_ids"},
		{"no dataset", body("https://bus.example.cn"), "entry_ids"},
	} {
		if res := e.do("POST", "/api/v1/open/showcase", f.pubToken, tc.body); res.status != 400 || res.apiErr(t).Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want 400 naming %s", tc.name, res, tc.field)
		}
	}
	res := e.do("POST", "/api/v1/open/showcase", f.pubToken, body("https://bus.example.cn", f.uncond.ID, f.cond.ID))
	if res.status != 201 {
		t.Fatalf("submit: got %v", res)
	}
	var it cityhub.ShowcaseItem
	res.decode(t, &it)
	path := fmt.Sprintf("/api/v1/open/showcase/%d", it.ID)
	listed := func() int {
		var l listOf[cityhub.ShowcaseItem]
		e.do("GET", "/api/v1/open/showcase", "", nil).decode(t, &l)
		return l.Total
	}
	if n := listed(); n != 0 {
		t.Errorf("before approval: %d listed, want none", n)
	}
	if res := e.do("GET", path, "", nil); res.status != 404 {
		t.Errorf("anonymous reads a pending item: got %v, want 404", res)
	}
	if res := e.do("GET", path, f.pubToken, nil); res.status != 200 {
		t.Errorf("the submitter reads it: got %v, want 200", res)
	}
	var mine listOf[cityhub.ShowcaseItem]
	e.do("GET", "/api/v1/me/showcase", f.pubToken, nil).decode(t, &mine)
	if mine.Total != 1 || mine.Items[0].Status != cityhub.ShowcasePending {
		t.Errorf("own items: got %+v", mine)
	}
	var pending listOf[cityhub.ShowcaseItem]
	e.do("GET", "/api/v1/open/showcase?status=pending", pa, nil).decode(t, &pending)
	if pending.Total != 1 {
		t.Errorf("admin's pending list: got %+v", pending)
	}
	if res := e.do("POST", path+"/approve", pa, nil); res.status != 200 {
		t.Fatalf("approve: got %v", res)
	}
	if n := listed(); n != 1 {
		t.Errorf("after approval: %d listed, want 1", n)
	}
	e.do("GET", path, "", nil).decode(t, &it)
	if it.Status != cityhub.ShowcaseApproved || len(it.Datasets) != 2 || it.Datasets[0].PackageName == "" {
		t.Errorf("approved item: got %+v", it)
	}
	if res := e.do("POST", path+"/reject", pa, map[string]string{"reason": "应用已下线"}); res.status != 200 {
		t.Fatalf("take down: got %v", res)
	}
	if n := listed(); n != 0 {
		t.Errorf("after taking it down: %d listed, want none", n)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "open.showcase.reject"}); rec == nil || rec.Object != fmt.Sprintf("open_showcase:%d", it.ID) {
		t.Errorf("audit: got %+v", rec)
	}
}

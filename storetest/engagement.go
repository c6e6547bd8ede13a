package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// engagementTests are the "Engagement" group: the public side of the
// open-data portal.
var engagementTests = []subtest{
	{"Applications", testApplications},
	{"ApplicationRights", testApplicationRights},
	{"ApplicationGrants", testApplicationGrants},
	{"ApplicationsConcurrently", testApplicationsConcurrently},
	{"ApplicationListing", testApplicationListing},
	{"DataRequests", testDataRequests},
	{"Ratings", testRatings},
	{"Comments", testComments},
	{"Showcase", testShowcase},
}

// engagementWorld is a small city: two providers with a steward each, a
// platform administrator, a consumer, two public users, and entries of
// provider A in each open state.
type engagementWorld struct {
	a, b                    *cityhub.Department
	stewardA, stewardB      *cityhub.User
	admin, consumer, deptAd *cityhub.User
	pub1, pub2              *cityhub.User
	cond, uncond, closed    *cityhub.CatalogEntry
	draftCond, condB        *cityhub.CatalogEntry
}

func (e *env) engagementWorld(t *testing.T) *engagementWorld {
	t.Helper()
	w := &engagementWorld{a: e.createDepartment(t), b: e.createDepartment(t)}
	w.stewardA = e.createUser(t, &w.a.ID, cityhub.RoleSteward)
	w.stewardB = e.createUser(t, &w.b.ID, cityhub.RoleSteward)
	w.admin = e.createUser(t, nil, cityhub.RolePlatformAdmin)
	w.consumer = e.createUser(t, &w.a.ID, cityhub.RoleConsumer)
	w.deptAd = e.createUser(t, &w.a.ID, cityhub.RoleDeptAdmin)
	w.pub1 = e.createUser(t, nil, cityhub.RolePublic)
	w.pub2 = e.createUser(t, nil, cityhub.RolePublic)
	w.cond = e.entryIn(t, cityhub.StatusPublished, w.a, openConditional)
	w.uncond = e.entryIn(t, cityhub.StatusPublished, w.a)
	w.closed = e.entryIn(t, cityhub.StatusPublished, w.a, openNone)
	w.draftCond = e.entryIn(t, cityhub.StatusDraft, w.a, openConditional)
	w.condB = e.entryIn(t, cityhub.StatusPublished, w.b, openConditional)
	return w
}

// as is a context in which u acts.
func (e *env) as(u *cityhub.User) context.Context {
	return cityhub.WithActor(e.ctx, cityhub.Actor{UserID: u.ID, Username: u.Username, ClientAddr: "198.51.100.7:5000",
		RequestID: "req-" + u.Username})
}

// nobody is a context without a signed-in user.
func (e *env) nobody() context.Context {
	return cityhub.WithActor(e.ctx, cityhub.Actor{Username: "system"})
}

func (e *env) apply(t *testing.T, u *cityhub.User, entry *cityhub.CatalogEntry) *cityhub.AccessApplication {
	t.Helper()
	a := &cityhub.AccessApplication{EntryID: entry.ID, Purpose: "研究城市交通拥堵规律", Organization: "宁波大学"}
	if err := e.Store.CreateAccessApplication(e.as(u), a); err != nil {
		t.Fatalf("%s applies for entry %d: %v", u.Username, entry.ID, err)
	}
	return a
}

func (e *env) decide(t *testing.T, u *cityhub.User, id int64, d cityhub.ApplicationDecision) *cityhub.AccessApplication {
	t.Helper()
	a, err := e.Store.DecideAccessApplication(e.as(u), id, d)
	if err != nil {
		t.Fatalf("%s: %s application %d: %v", u.Username, d.Action, id, err)
	}
	return a
}

func (e *env) granted(t *testing.T, u *cityhub.User, entry *cityhub.CatalogEntry) bool {
	t.Helper()
	ok, err := e.Store.AccessGranted(e.ctx, u.ID, entry.ID)
	if err != nil {
		t.Fatalf("AccessGranted(%d, %d): %v", u.ID, entry.ID, err)
	}
	return ok
}

// lastRecord is the newest audit record matching f; it fails without one.
func (e *env) lastRecord(t *testing.T, f cityhub.AuditFilter) *cityhub.AuditRecord {
	t.Helper()
	f.Limit = 1
	recs, err := e.Store.AuditRecords(e.ctx, f)
	if err != nil {
		t.Fatalf("audit records: %v", err)
	}
	if len(recs) == 0 {
		t.Fatalf("got no audit record matching %+v, want one", f)
	}
	return recs[0]
}

// wantRecord asserts the newest record of action names object and actor.
func (e *env) wantRecord(t *testing.T, action, object string, actor *cityhub.User, detail string) {
	t.Helper()
	r := e.lastRecord(t, cityhub.AuditFilter{Action: action})
	if r.Object != object || r.Actor != actor.Username || r.ActorID != actor.ID || r.Outcome != cityhub.OutcomeSuccess ||
		r.RequestID != "req-"+actor.Username || !strings.Contains(r.Details, detail) {
		t.Errorf("newest %s record: got object %q actor %q (%d) outcome %q request %q details %s; want %q by %s with %q in the details",
			action, r.Object, r.Actor, r.ActorID, r.Outcome, r.RequestID, r.Details, object, actor.Username, detail)
	}
}

func (e *env) auditCount(t *testing.T) int {
	t.Helper()
	return len(e.records(t))
}

func testApplications(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)

	a := e.apply(t, w.pub1, w.cond)
	if a.ID == 0 || a.UserID != w.pub1.ID || a.Status != cityhub.ApplicationPending || a.Applicant != w.pub1.Username ||
		a.PackageName != w.cond.PackageName() || a.ProviderID != w.a.ID || a.ProviderName != w.a.Name || a.EntryName != w.cond.Name ||
		a.Purpose != "研究城市交通拥堵规律" || a.CreatedAt.IsZero() {
		t.Fatalf("got %+v, want a pending application of %s for %s", a, w.pub1.Username, w.cond.PackageName())
	}
	e.wantRecord(t, "open.application.create", "open_application:"+itoa(a.ID), w.pub1, "研究城市交通拥堵规律")
	got, err := e.Store.AccessApplication(e.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "stored application", got, a)

	withdrawn := e.entryIn(t, cityhub.StatusWithdrawn, w.a, openConditional)
	// One open application per user and entry.
	before := e.auditCount(t)
	err = e.Store.CreateAccessApplication(e.as(w.pub1), &cityhub.AccessApplication{EntryID: w.cond.ID, Purpose: "再次申请"})
	wantErr(t, err, cityhub.ECONFLICT, "entry_id")
	// Another user, and another entry, are no obstacle.
	e.apply(t, w.pub2, w.cond)
	e.apply(t, w.pub1, w.condB)

	// Only 有条件开放 entries take applications; others are not public or need none.
	for _, tc := range []struct {
		name  string
		entry int64
		code  string
	}{
		{"无条件开放", w.uncond.ID, cityhub.ECONFLICT},
		{"不予开放", w.closed.ID, cityhub.ENOTFOUND},
		{"draft", w.draftCond.ID, cityhub.ENOTFOUND},
		{"missing", 987654, cityhub.ENOTFOUND},
	} {
		err := e.Store.CreateAccessApplication(e.as(w.pub2), &cityhub.AccessApplication{EntryID: tc.entry, Purpose: "用途"})
		if cityhub.ErrorCode(err) != tc.code {
			t.Errorf("apply for a %s entry: got %v, want %s", tc.name, err, tc.code)
		}
	}
	wantErr(t, e.Store.CreateAccessApplication(e.as(w.pub2), &cityhub.AccessApplication{EntryID: withdrawn.ID, Purpose: "用途"}), cityhub.ENOTFOUND)

	// Staff do not apply on the portal; nor does nobody.
	for _, u := range []*cityhub.User{w.consumer, w.stewardA, w.admin} {
		wantErr(t, e.Store.CreateAccessApplication(e.as(u), &cityhub.AccessApplication{EntryID: w.cond.ID, Purpose: "用途"}), cityhub.EFORBIDDEN)
	}
	wantErr(t, e.Store.CreateAccessApplication(e.nobody(), &cityhub.AccessApplication{EntryID: w.cond.ID, Purpose: "用途"}), cityhub.EUNAUTHORIZED)
	// Validation.
	wantErr(t, e.Store.CreateAccessApplication(e.as(w.pub2), &cityhub.AccessApplication{EntryID: w.uncond.ID, Purpose: " "}), cityhub.EINVALID, "purpose")
	wantErr(t, e.Store.CreateAccessApplication(e.as(w.pub2), &cityhub.AccessApplication{EntryID: w.cond.ID,
		Purpose: strings.Repeat("长", cityhub.MaxPurposeLen+1)}), cityhub.EINVALID, "purpose")
	if after := e.auditCount(t); after != before+2 {
		t.Errorf("audit records: got %d new, want 2 (the two applications that were made)", after-before)
	}

	// A disabled account no longer acts.
	w.pub2.Disabled = true
	if err := e.Store.UpdateUser(e.ctx, w.pub2); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.Store.CreateAccessApplication(e.as(w.pub2), &cityhub.AccessApplication{EntryID: w.condB.ID, Purpose: "用途"}), cityhub.EUNAUTHORIZED)
	e.wantIntact(t, int64(len(e.records(t))))
}

func testApplicationRights(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	a := e.apply(t, w.pub1, w.cond)

	// Only the provider's stewards and platform administrators decide.
	before := e.auditCount(t)
	for _, u := range []*cityhub.User{w.stewardB, w.consumer, w.deptAd, w.pub1, w.pub2} {
		for _, action := range []string{cityhub.DecideApprove, cityhub.DecideRefuse} {
			_, err := e.Store.DecideAccessApplication(e.as(u), a.ID, cityhub.ApplicationDecision{Action: action, Reason: "理由"})
			if cityhub.ErrorCode(err) != cityhub.EFORBIDDEN {
				t.Errorf("%s (%v) %ss: got %v, want forbidden", u.Username, u.Roles, action, err)
			}
		}
	}
	_, err := e.Store.DecideAccessApplication(e.nobody(), a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	wantErr(t, err, cityhub.EUNAUTHORIZED)
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), 987654, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), a.ID, cityhub.ApplicationDecision{Action: "grant"})
	wantErr(t, err, cityhub.EINVALID, "action")
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRefuse, Reason: "  "})
	wantErr(t, err, cityhub.EINVALID, "reason")
	if after := e.auditCount(t); after != before {
		t.Errorf("refused decisions wrote %d audit records, want none", after-before)
	}
	if got, _ := e.Store.AccessApplication(e.ctx, a.ID); got.Status != cityhub.ApplicationPending {
		t.Fatalf("after refused decisions: got status %s, want pending", got.Status)
	}

	// The provider's steward refuses, with a reason; the user may apply again.
	got := e.decide(t, w.stewardA, a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRefuse, Reason: "  用途与数据无关 "})
	if got.Status != cityhub.ApplicationRefused || got.Reason != "用途与数据无关" || got.DecidedBy != w.stewardA.Username || got.DecidedAt == nil {
		t.Errorf("refused: got %+v", got)
	}
	e.wantRecord(t, "open.application.refuse", "open_application:"+itoa(a.ID), w.stewardA, "用途与数据无关")
	wantSame(t, "stored refusal", mustApplication(t, e, a.ID), got)
	if e.granted(t, w.pub1, w.cond) {
		t.Error("a refusal grants access")
	}
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	wantErr(t, err, cityhub.ECONFLICT)

	again := e.apply(t, w.pub1, w.cond)
	// A platform administrator decides for any provider.
	approved := e.decide(t, w.admin, again.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove, Reason: "符合条件"})
	if approved.Status != cityhub.ApplicationApproved || approved.DecidedBy != w.admin.Username || approved.ExpiresAt != nil {
		t.Errorf("approved: got %+v", approved)
	}
	e.wantRecord(t, "open.application.approve", "open_application:"+itoa(again.ID), w.admin, "符合条件")
	// The steward of B decides B's entries, not A's.
	b := e.apply(t, w.pub2, w.condB)
	e.decide(t, w.stewardB, b.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	if !e.granted(t, w.pub2, w.condB) {
		t.Error("approval by B's steward: no access")
	}
	e.wantIntact(t, int64(len(e.records(t))))
}

func mustApplication(t *testing.T, e *env, id int64) *cityhub.AccessApplication {
	t.Helper()
	a, err := e.Store.AccessApplication(e.ctx, id)
	if err != nil {
		t.Fatalf("application %d: %v", id, err)
	}
	return a
}

func testApplicationGrants(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)

	// Pending: no access. Approved: access, for that user and entry only.
	a := e.apply(t, w.pub1, w.cond)
	if e.granted(t, w.pub1, w.cond) {
		t.Error("a pending application grants access")
	}
	e.decide(t, w.stewardA, a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	if !e.granted(t, w.pub1, w.cond) {
		t.Error("an approval grants no access")
	}
	if e.granted(t, w.pub2, w.cond) || e.granted(t, w.pub1, w.condB) || e.granted(t, w.pub1, w.uncond) {
		t.Error("an approval grants access beyond its user and entry")
	}
	// An open approval stands in the way of a new application.
	err := e.Store.CreateAccessApplication(e.as(w.pub1), &cityhub.AccessApplication{EntryID: w.cond.ID, Purpose: "续期"})
	wantErr(t, err, cityhub.ECONFLICT)

	// Revoked: no access, with the reason recorded.
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRevoke})
	wantErr(t, err, cityhub.EINVALID, "reason")
	rev := e.decide(t, w.stewardA, a.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRevoke, Reason: "违反开放协议"})
	if rev.Status != cityhub.ApplicationRevoked || e.granted(t, w.pub1, w.cond) {
		t.Errorf("revoked: got %+v, access %v; want revoked without access", rev, e.granted(t, w.pub1, w.cond))
	}
	e.wantRecord(t, "open.application.revoke", "open_application:"+itoa(a.ID), w.stewardA, "违反开放协议")

	// Expiry: not in the past; access until then; none after; then a new application.
	b := e.apply(t, w.pub2, w.cond)
	past := time.Now().Add(-time.Hour)
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardA), b.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove, ExpiresAt: &past})
	wantErr(t, err, cityhub.EINVALID, "expires_at")
	until := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	got := e.decide(t, w.stewardA, b.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove, ExpiresAt: &until})
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(until) || got.Expired {
		t.Errorf("approved until %v: got %+v", until, got)
	}
	if !e.granted(t, w.pub2, w.cond) {
		t.Error("an approval before its expiry grants no access")
	}
	e.exec(t, "UPDATE open_applications SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UnixMicro(), b.ID)
	if e.granted(t, w.pub2, w.cond) {
		t.Error("an expired approval grants access")
	}
	if got := mustApplication(t, e, b.ID); !got.Expired || got.Status != cityhub.ApplicationApproved {
		t.Errorf("expired approval: got %+v, want approved and expired", got)
	}
	renewed := e.apply(t, w.pub2, w.cond)
	if renewed.ID == b.ID {
		t.Error("re-application after expiry reused the id")
	}

	// Access follows the entry and the account: withdrawn, or the user disabled, no access.
	c := e.apply(t, w.pub1, w.condB)
	e.decide(t, w.stewardB, c.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	if !e.granted(t, w.pub1, w.condB) {
		t.Fatal("approved: no access")
	}
	e.transition(t, w.condB.ID, cityhub.ActWithdraw)
	if e.granted(t, w.pub1, w.condB) {
		t.Error("the entry was withdrawn: access remains")
	}
	e.transition(t, w.condB.ID, cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish)
	if !e.granted(t, w.pub1, w.condB) {
		t.Error("the entry was published again: the approval no longer counts")
	}
	w.pub1.Disabled = true
	if err := e.Store.UpdateUser(e.ctx, w.pub1); err != nil {
		t.Fatal(err)
	}
	if e.granted(t, w.pub1, w.condB) {
		t.Error("the account was disabled: access remains")
	}

	// An entry that left 有条件开放 takes no approvals.
	d := e.apply(t, w.pub2, w.condB)
	e.transition(t, w.condB.ID, cityhub.ActWithdraw)
	_, err = e.Store.DecideAccessApplication(e.as(w.stewardB), d.ID, cityhub.ApplicationDecision{Action: cityhub.DecideApprove})
	wantErr(t, err, cityhub.ECONFLICT)
	e.decide(t, w.stewardB, d.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRefuse, Reason: "数据已撤回"})
}

func testApplicationsConcurrently(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.Store.CreateAccessApplication(e.as(w.pub1), &cityhub.AccessApplication{EntryID: w.cond.ID, Purpose: "并发申请"})
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch cityhub.ErrorCode(err) {
		case "":
			made++
		case cityhub.ECONFLICT:
		default:
			t.Errorf("concurrent application: got %v, want success or conflict", err)
		}
	}
	apps, total, err := e.Store.AccessApplications(e.ctx, cityhub.ApplicationFilter{Scope: cityhub.CatalogScope{All: true}, UserID: w.pub1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if made != 1 || total != 1 || len(apps) != 1 {
		t.Errorf("got %d made, %d stored, want exactly one", made, total)
	}
}

func testApplicationListing(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	a1 := e.apply(t, w.pub1, w.cond)
	a2 := e.apply(t, w.pub2, w.cond)
	b1 := e.apply(t, w.pub1, w.condB)
	e.decide(t, w.stewardA, a2.ID, cityhub.ApplicationDecision{Action: cityhub.DecideRefuse, Reason: "材料不全"})

	list := func(f cityhub.ApplicationFilter) ([]int64, int) {
		t.Helper()
		apps, total, err := e.Store.AccessApplications(e.ctx, f)
		if err != nil {
			t.Fatalf("AccessApplications(%+v): %v", f, err)
		}
		ids := []int64{}
		for _, a := range apps {
			ids = append(ids, a.ID)
		}
		return ids, total
	}
	all := cityhub.CatalogScope{All: true}
	for _, tc := range []struct {
		name string
		f    cityhub.ApplicationFilter
		want []int64
	}{
		{"all, newest first", cityhub.ApplicationFilter{Scope: all}, []int64{b1.ID, a2.ID, a1.ID}},
		{"the steward of A", cityhub.ApplicationFilter{Scope: cityhub.DecisionScope(w.stewardA)}, []int64{a2.ID, a1.ID}},
		{"the steward of B", cityhub.ApplicationFilter{Scope: cityhub.DecisionScope(w.stewardB)}, []int64{b1.ID}},
		{"a consumer decides nothing", cityhub.ApplicationFilter{Scope: cityhub.DecisionScope(w.consumer)}, []int64{}},
		{"one applicant", cityhub.ApplicationFilter{Scope: all, UserID: w.pub1.ID}, []int64{b1.ID, a1.ID}},
		{"one entry", cityhub.ApplicationFilter{Scope: all, EntryID: w.cond.ID}, []int64{a2.ID, a1.ID}},
		{"pending of A", cityhub.ApplicationFilter{Scope: cityhub.DecisionScope(w.stewardA), Status: cityhub.ApplicationPending}, []int64{a1.ID}},
		{"paged", cityhub.ApplicationFilter{Scope: all, Limit: 1, Offset: 1}, []int64{a2.ID}},
	} {
		ids, total := list(tc.f)
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
		if tc.f.Limit == 0 && total != len(tc.want) {
			t.Errorf("%s: got total %d, want %d", tc.name, total, len(tc.want))
		}
		if tc.f.Limit == 1 && total != 3 {
			t.Errorf("%s: got total %d, want 3", tc.name, total)
		}
	}
	// Deleting a public account removes its applications.
	if err := e.Store.DeleteUser(e.ctx, w.pub2.ID); err != nil {
		t.Fatal(err)
	}
	if ids, _ := list(cityhub.ApplicationFilter{Scope: all}); !slices.Equal(ids, []int64{b1.ID, a1.ID}) {
		t.Errorf("after deleting %s: got %v", w.pub2.Username, ids)
	}
}

func testDataRequests(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)

	r := &cityhub.DataRequest{Title: " 公交车辆实时位置 ", Description: "希望开放公交车辆的实时位置，便于开发到站提醒。", ProviderID: &w.a.ID, Domain: "urban"}
	if err := e.Store.CreateDataRequest(e.as(w.pub1), r); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.Title != "公交车辆实时位置" || r.Status != cityhub.RequestOpen || r.Requester == "" ||
		r.ProviderName != w.a.Name || r.DomainName == "" || r.UserID != w.pub1.ID {
		t.Fatalf("got %+v, want an open request to %s", r, w.a.Name)
	}
	e.wantRecord(t, "open.request.create", "open_request:"+itoa(r.ID), w.pub1, "公交车辆实时位置")
	anyone := &cityhub.DataRequest{Title: "空气质量小时数据", Description: "各监测站逐小时数据"}
	if err := e.Store.CreateDataRequest(e.as(w.pub2), anyone); err != nil {
		t.Fatal(err)
	}

	// Only public accounts file requests; the fields are checked.
	for _, u := range []*cityhub.User{w.stewardA, w.admin, w.consumer} {
		wantErr(t, e.Store.CreateDataRequest(e.as(u), &cityhub.DataRequest{Title: "t", Description: "d"}), cityhub.EFORBIDDEN)
	}
	wantErr(t, e.Store.CreateDataRequest(e.nobody(), &cityhub.DataRequest{Title: "t", Description: "d"}), cityhub.EUNAUTHORIZED)
	wantErr(t, e.Store.CreateDataRequest(e.as(w.pub1), &cityhub.DataRequest{Title: "", Description: ""}), cityhub.EINVALID, "title", "description")
	wantErr(t, e.Store.CreateDataRequest(e.as(w.pub1), &cityhub.DataRequest{Title: "t", Description: "d", ProviderID: ptr(int64(987654))}),
		cityhub.EINVALID, "provider_id")
	wantErr(t, e.Store.CreateDataRequest(e.as(w.pub1), &cityhub.DataRequest{Title: "t", Description: "d", Domain: "nowhere"}),
		cityhub.EINVALID, "domain")

	// Answers: the department asked, or the platform.
	plan := cityhub.RequestAnswer{Status: cityhub.RequestPlanned, Reply: "已列入下季度开放计划"}
	for _, u := range []*cityhub.User{w.stewardB, w.consumer, w.deptAd, w.pub1} {
		_, err := e.Store.AnswerDataRequest(e.as(u), r.ID, plan)
		wantErr(t, err, cityhub.EFORBIDDEN)
	}
	_, err := e.Store.AnswerDataRequest(e.as(w.stewardA), anyone.ID, plan)
	wantErr(t, err, cityhub.EFORBIDDEN) // names no department: the platform's to answer
	_, err = e.Store.AnswerDataRequest(e.as(w.stewardA), 987654, plan)
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.AnswerDataRequest(e.as(w.stewardA), r.ID, cityhub.RequestAnswer{Status: cityhub.RequestDeclined})
	wantErr(t, err, cityhub.EINVALID, "reply")

	got, err := e.Store.AnswerDataRequest(e.as(w.stewardA), r.ID, plan)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != cityhub.RequestPlanned || got.Reply != plan.Reply || got.AnsweredBy != w.stewardA.Username || got.AnsweredAt == nil {
		t.Errorf("planned: got %+v", got)
	}
	e.wantRecord(t, "open.request.answer", "open_request:"+itoa(r.ID), w.stewardA, "已列入下季度开放计划")

	// Fulfilled links a public entry, nothing else.
	for _, bad := range []int64{w.draftCond.ID, w.closed.ID, 987654} {
		_, err = e.Store.AnswerDataRequest(e.as(w.stewardA), r.ID, cityhub.RequestAnswer{Status: cityhub.RequestFulfilled, EntryID: &bad})
		wantErr(t, err, cityhub.EINVALID, "entry_id")
	}
	got, err = e.Store.AnswerDataRequest(e.as(w.stewardA), r.ID, cityhub.RequestAnswer{Status: cityhub.RequestFulfilled, EntryID: &w.uncond.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != cityhub.RequestFulfilled || got.EntryID == nil || *got.EntryID != w.uncond.ID || got.PackageName != w.uncond.PackageName() {
		t.Errorf("fulfilled: got %+v, want a link to %s", got, w.uncond.PackageName())
	}
	_, err = e.Store.AnswerDataRequest(e.as(w.admin), r.ID, plan)
	wantErr(t, err, cityhub.ECONFLICT)
	declined, err := e.Store.AnswerDataRequest(e.as(w.admin), anyone.ID, cityhub.RequestAnswer{Status: cityhub.RequestDeclined, Reply: "涉及个人信息"})
	if err != nil || declined.Status != cityhub.RequestDeclined || declined.Reply != "涉及个人信息" {
		t.Fatalf("declined by the platform: got %+v, %v", declined, err)
	}

	// Public listing, with filters.
	list := func(f cityhub.DataRequestFilter) []int64 {
		t.Helper()
		rs, total, err := e.Store.DataRequests(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if total != len(ids) {
			t.Errorf("%+v: got total %d for %d requests", f, total, len(ids))
		}
		return ids
	}
	for _, tc := range []struct {
		f    cityhub.DataRequestFilter
		want []int64
	}{
		{cityhub.DataRequestFilter{}, []int64{anyone.ID, r.ID}},
		{cityhub.DataRequestFilter{Status: cityhub.RequestFulfilled}, []int64{r.ID}},
		{cityhub.DataRequestFilter{ProviderID: w.a.ID}, []int64{r.ID}},
		{cityhub.DataRequestFilter{ProviderID: w.b.ID}, []int64{}},
		{cityhub.DataRequestFilter{Domain: "urban"}, []int64{r.ID}},
		{cityhub.DataRequestFilter{UserID: w.pub2.ID}, []int64{anyone.ID}},
		{cityhub.DataRequestFilter{Query: "空气"}, []int64{anyone.ID}},
		{cityhub.DataRequestFilter{Query: "100%"}, []int64{}},
	} {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
		}
	}
	stored, err := e.Store.DataRequest(e.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "stored request", stored, got)

	// The link lasts while the entry is public.
	e.transition(t, w.uncond.ID, cityhub.ActWithdraw)
	if stored, _ := e.Store.DataRequest(e.ctx, r.ID); stored.EntryID != nil || stored.PackageName != "" {
		t.Errorf("entry withdrawn: got link %v %q, want none", stored.EntryID, stored.PackageName)
	}
	e.wantIntact(t, int64(len(e.records(t))))
}

func testRatings(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	rate := func(u *cityhub.User, entry *cityhub.CatalogEntry, stars int) *cityhub.RatingSummary {
		t.Helper()
		sum, err := e.Store.RateEntry(e.as(u), entry.ID, stars)
		if err != nil {
			t.Fatalf("%s rates %d: %v", u.Username, stars, err)
		}
		return sum
	}
	if sum := rate(w.pub1, w.uncond, 4); sum.Count != 1 || sum.Average != 4 || sum.Stars != [5]int{0, 0, 0, 1, 0} {
		t.Errorf("one rating: got %+v", sum)
	}
	e.wantRecord(t, "open.rating.set", "catalog:"+itoa(w.uncond.ID), w.pub1, `"stars":4`)
	// Changing one's rating replaces it.
	if sum := rate(w.pub1, w.uncond, 2); sum.Count != 1 || sum.Average != 2 {
		t.Errorf("changed rating: got %+v, want one rating of 2", sum)
	}
	sum := rate(w.pub2, w.uncond, 5)
	if sum.Count != 2 || sum.Average != 3.5 || sum.Stars != [5]int{0, 1, 0, 0, 1} || sum.EntryID != w.uncond.ID {
		t.Errorf("two ratings: got %+v, want 2 ratings averaging 3.5", sum)
	}
	rate(w.pub1, w.cond, 1) // 有条件开放 entries are public too
	if stars, err := e.Store.UserRating(e.ctx, w.uncond.ID, w.pub1.ID); err != nil || stars != 2 {
		t.Errorf("own rating: got %d, %v, want 2", stars, err)
	}
	if stars, err := e.Store.UserRating(e.ctx, w.condB.ID, w.pub1.ID); err != nil || stars != 0 {
		t.Errorf("no rating: got %d, %v, want 0", stars, err)
	}
	sums, err := e.Store.RatingSummaries(e.ctx, []int64{w.uncond.ID, w.cond.ID, w.condB.ID, w.uncond.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 || sums[w.uncond.ID].Count != 2 || sums[w.cond.ID].Average != 1 || sums[w.condB.ID].Count != 0 ||
		sums[w.condB.ID].EntryID != w.condB.ID {
		t.Errorf("summaries: got %v", sums)
	}
	if sums, err := e.Store.RatingSummaries(e.ctx, nil); err != nil || len(sums) != 0 {
		t.Errorf("no entries: got %v, %v", sums, err)
	}

	before := e.auditCount(t)
	for _, stars := range []int{0, 6, -1} {
		_, err := e.Store.RateEntry(e.as(w.pub1), w.uncond.ID, stars)
		wantErr(t, err, cityhub.EINVALID, "stars")
	}
	for _, u := range []*cityhub.User{w.stewardA, w.admin, w.consumer} {
		_, err := e.Store.RateEntry(e.as(u), w.uncond.ID, 5)
		wantErr(t, err, cityhub.EFORBIDDEN)
	}
	for _, entry := range []*cityhub.CatalogEntry{w.closed, w.draftCond} {
		_, err := e.Store.RateEntry(e.as(w.pub1), entry.ID, 5)
		wantErr(t, err, cityhub.ENOTFOUND)
	}
	if after := e.auditCount(t); after != before {
		t.Errorf("refused ratings wrote %d records", after-before)
	}
}

func testComments(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	post := func(u *cityhub.User, entry *cityhub.CatalogEntry, parent *int64, body string) (*cityhub.Comment, error) {
		c := &cityhub.Comment{EntryID: entry.ID, ParentID: parent, Body: body}
		err := e.Store.CreateComment(e.as(u), c)
		return c, err
	}
	mustPost := func(u *cityhub.User, entry *cityhub.CatalogEntry, parent *int64, body string) *cityhub.Comment {
		t.Helper()
		c, err := post(u, entry, parent, body)
		if err != nil {
			t.Fatalf("%s posts %q: %v", u.Username, body, err)
		}
		return c
	}
	if _, err := e.Store.RateEntry(e.as(w.pub1), w.uncond.ID, 4); err != nil {
		t.Fatal(err)
	}
	c1 := mustPost(w.pub1, w.uncond, nil, "  数据很实用，希望增加历史数据。 ")
	if c1.ID == 0 || c1.Body != "数据很实用，希望增加历史数据。" || c1.Official || c1.Stars != 4 || c1.Author == "" || c1.UserID != w.pub1.ID {
		t.Fatalf("got %+v, want a comment with the author's 4 stars", c1)
	}
	e.wantRecord(t, "open.comment.create", "open_comment:"+itoa(c1.ID), w.pub1, "希望增加历史数据")
	c2 := mustPost(w.pub2, w.uncond, nil, "字段说明不够清楚")
	abuse := mustPost(w.pub2, w.uncond, nil, "垃圾广告 http://spam.example")
	reply := mustPost(w.stewardA, w.uncond, &c1.ID, "已列入计划，下月补充2020年以来的数据。")
	if !reply.Official || reply.ParentID == nil || *reply.ParentID != c1.ID || reply.Stars != 0 {
		t.Errorf("steward's reply: got %+v, want an official reply to %d", reply, c1.ID)
	}
	mustPost(w.admin, w.uncond, &c2.ID, "已转交提供部门")
	toAbuse := mustPost(w.stewardA, w.uncond, &abuse.ID, "请勿发布广告")
	mustPost(w.pub1, w.cond, nil, "有条件开放的数据也能评论")

	// Who may post what.
	before := e.auditCount(t)
	for _, tc := range []struct {
		name   string
		u      *cityhub.User
		entry  *cityhub.CatalogEntry
		parent *int64
		code   string
		field  string
	}{
		{"staff comment", w.stewardA, w.uncond, nil, cityhub.EFORBIDDEN, ""},
		{"admin comment", w.admin, w.uncond, nil, cityhub.EFORBIDDEN, ""},
		{"public reply", w.pub2, w.uncond, &c1.ID, cityhub.EFORBIDDEN, ""},
		{"other provider's reply", w.stewardB, w.uncond, &c1.ID, cityhub.EFORBIDDEN, ""},
		{"consumer reply", w.consumer, w.uncond, &c1.ID, cityhub.EFORBIDDEN, ""},
		{"reply to a reply", w.stewardA, w.uncond, &reply.ID, cityhub.EINVALID, "parent_id"},
		{"reply to a missing comment", w.stewardA, w.uncond, ptr(int64(987654)), cityhub.EINVALID, "parent_id"},
		{"reply on the wrong entry", w.stewardA, w.cond, &c1.ID, cityhub.EINVALID, "parent_id"},
		{"comment on a closed entry", w.pub1, w.closed, nil, cityhub.ENOTFOUND, ""},
		{"comment on a draft", w.pub1, w.draftCond, nil, cityhub.ENOTFOUND, ""},
	} {
		_, err := post(tc.u, tc.entry, tc.parent, "内容")
		if tc.field != "" {
			wantErr(t, err, tc.code, tc.field)
		} else if cityhub.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	_, err := post(w.pub1, w.uncond, nil, " ")
	wantErr(t, err, cityhub.EINVALID, "body")
	_, err = post(w.pub1, w.uncond, nil, strings.Repeat("长", cityhub.MaxCommentLen+1))
	wantErr(t, err, cityhub.EINVALID, "body")
	if after := e.auditCount(t); after != before {
		t.Errorf("refused comments wrote %d records", after-before)
	}

	list := func(includeHidden bool) ([]*cityhub.Comment, int) {
		t.Helper()
		cs, total, err := e.Store.Comments(e.ctx, cityhub.CommentFilter{EntryID: w.uncond.ID, IncludeHidden: includeHidden})
		if err != nil {
			t.Fatal(err)
		}
		return cs, total
	}
	shape := func(cs []*cityhub.Comment) map[int64][]int64 {
		out := map[int64][]int64{}
		for _, c := range cs {
			out[c.ID] = []int64{}
			for _, r := range c.Replies {
				out[c.ID] = append(out[c.ID], r.ID)
			}
		}
		return out
	}
	cs, total := list(false)
	if total != 3 || len(cs) != 3 || cs[0].ID != abuse.ID || cs[2].ID != c1.ID || len(cs[2].Replies) != 1 || cs[2].Replies[0].ID != reply.ID {
		t.Fatalf("comments: got total %d, %v; want 3 newest first, each with its replies", total, shape(cs))
	}

	// Only platform administrators hide, with a reason; hidden comments and
	// their replies leave the public listing.
	for _, u := range []*cityhub.User{w.stewardA, w.pub1, w.deptAd} {
		_, err := e.Store.HideComment(e.as(u), abuse.ID, "广告")
		wantErr(t, err, cityhub.EFORBIDDEN)
	}
	_, err = e.Store.HideComment(e.as(w.admin), abuse.ID, " ")
	wantErr(t, err, cityhub.EINVALID, "reason")
	_, err = e.Store.HideComment(e.as(w.admin), 987654, "广告")
	wantErr(t, err, cityhub.ENOTFOUND)
	hidden, err := e.Store.HideComment(e.as(w.admin), abuse.ID, "广告信息")
	if err != nil {
		t.Fatal(err)
	}
	if !hidden.Hidden || hidden.HiddenBy != w.admin.Username || hidden.HiddenReason != "广告信息" || hidden.HiddenAt == nil {
		t.Errorf("hidden: got %+v", hidden)
	}
	e.wantRecord(t, "open.comment.hide", "open_comment:"+itoa(abuse.ID), w.admin, "广告信息")
	_, err = e.Store.HideComment(e.as(w.admin), abuse.ID, "again")
	wantErr(t, err, cityhub.ECONFLICT)
	cs, total = list(false)
	if total != 2 || len(cs) != 2 || slices.ContainsFunc(cs, func(c *cityhub.Comment) bool { return c.ID == abuse.ID }) {
		t.Errorf("public comments after hiding: got total %d, %v; want %d gone", total, shape(cs), abuse.ID)
	}
	cs, total = list(true)
	if total != 3 || cs[0].ID != abuse.ID || !cs[0].Hidden || len(cs[0].Replies) != 1 || cs[0].Replies[0].ID != toAbuse.ID {
		t.Errorf("moderators' listing: got total %d, %v; want the hidden one marked, with its reply", total, shape(cs))
	}
	// A hidden reply leaves too; a hidden comment takes no replies.
	if _, err := e.Store.HideComment(e.as(w.admin), reply.ID, "误发"); err != nil {
		t.Fatal(err)
	}
	if cs, _ = list(false); len(cs[1].Replies) != 0 {
		t.Errorf("hidden reply listed: %v", shape(cs))
	}
	_, err = post(w.stewardA, w.uncond, &abuse.ID, "再回复")
	wantErr(t, err, cityhub.EINVALID, "parent_id")

	// Paging counts top-level comments.
	cs, total, err = e.Store.Comments(e.ctx, cityhub.CommentFilter{EntryID: w.uncond.ID, Limit: 1, Offset: 1})
	if err != nil || total != 2 || len(cs) != 1 || cs[0].ID != c1.ID {
		t.Errorf("page 2 of 1: got %d of %d, %v", len(cs), total, err)
	}
	got, err := e.Store.Comment(e.ctx, c2.ID)
	if err != nil || got.Body != "字段说明不够清楚" {
		t.Errorf("comment %d: got %+v, %v", c2.ID, got, err)
	}
	e.wantIntact(t, int64(len(e.records(t))))
}

func testShowcase(t *testing.T, open Opener) {
	e := newEnv(t, open)
	w := e.engagementWorld(t)
	submit := func(u *cityhub.User, ids ...int64) (*cityhub.ShowcaseItem, error) {
		it := &cityhub.ShowcaseItem{Title: "宁波出行助手", Description: "基于公交与停车开放数据的出行应用", URL: "https://app.example.cn/", EntryIDs: ids}
		return it, e.Store.CreateShowcaseItem(e.as(u), it)
	}
	approved := func() []int64 {
		t.Helper()
		items, total, err := e.Store.ShowcaseItems(e.ctx, cityhub.ShowcaseFilter{Status: cityhub.ShowcaseApproved})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if total != len(ids) {
			t.Errorf("approved items: total %d for %d", total, len(ids))
		}
		return ids
	}

	it, err := submit(w.pub1, w.uncond.ID, w.cond.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID == 0 || it.Status != cityhub.ShowcasePending || it.Submitter == "" || it.SubmitterID != w.pub1.ID ||
		!slices.Equal(it.EntryIDs, []int64{w.cond.ID, w.uncond.ID}) && !slices.Equal(it.EntryIDs, []int64{w.uncond.ID, w.cond.ID}) ||
		len(it.Datasets) != 2 || it.Datasets[0].PackageName == "" {
		t.Fatalf("got %+v, want a pending item using both datasets", it)
	}
	e.wantRecord(t, "open.showcase.create", "open_showcase:"+itoa(it.ID), w.pub1, "宁波出行助手")
	if got := approved(); len(got) != 0 {
		t.Errorf("before approval: got %v listed, want none", got)
	}

	// Only public datasets; only public users and administrators submit.
	before := e.auditCount(t)
	for _, bad := range []int64{w.closed.ID, w.draftCond.ID, 987654} {
		_, err := submit(w.pub1, w.uncond.ID, bad)
		wantErr(t, err, cityhub.EINVALID, "entry_ids")
	}
	_, err = submit(w.pub1)
	wantErr(t, err, cityhub.EINVALID, "entry_ids")
	bad := &cityhub.ShowcaseItem{Title: "x", Description: "y", URL: "javascript:alert(1)", EntryIDs: []int64{w.uncond.ID}}
	wantErr(t, e.Store.CreateShowcaseItem(e.as(w.pub1), bad), cityhub.EINVALID, "url")
	for _, u := range []*cityhub.User{w.stewardA, w.consumer} {
		_, err := submit(u, w.uncond.ID)
		wantErr(t, err, cityhub.EFORBIDDEN)
	}
	// Only administrators decide.
	for _, u := range []*cityhub.User{w.stewardA, w.pub1, w.pub2} {
		_, err := e.Store.DecideShowcaseItem(e.as(u), it.ID, true, "")
		wantErr(t, err, cityhub.EFORBIDDEN)
	}
	_, err = e.Store.DecideShowcaseItem(e.as(w.admin), it.ID, false, " ")
	wantErr(t, err, cityhub.EINVALID, "reason")
	_, err = e.Store.DecideShowcaseItem(e.as(w.admin), 987654, true, "")
	wantErr(t, err, cityhub.ENOTFOUND)
	if after := e.auditCount(t); after != before {
		t.Errorf("refused submissions and decisions wrote %d records", after-before)
	}

	got, err := e.Store.DecideShowcaseItem(e.as(w.admin), it.ID, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != cityhub.ShowcaseApproved || got.DecidedBy != w.admin.Username || got.DecidedAt == nil {
		t.Errorf("approved: got %+v", got)
	}
	e.wantRecord(t, "open.showcase.approve", "open_showcase:"+itoa(it.ID), w.admin, cityhub.ShowcaseApproved)
	if ids := approved(); !slices.Equal(ids, []int64{it.ID}) {
		t.Errorf("after approval: got %v, want [%d]", ids, it.ID)
	}
	_, err = e.Store.DecideShowcaseItem(e.as(w.admin), it.ID, true, "")
	wantErr(t, err, cityhub.ECONFLICT)

	// An administrator's own item is shown at once.
	own, err := submit(w.admin, w.condB.ID)
	if err != nil || own.Status != cityhub.ShowcaseApproved || own.DecidedBy != w.admin.Username {
		t.Fatalf("administrator's item: got %+v, %v; want approved", own, err)
	}
	// A pending item of another user, then rejected: never listed.
	other, err := submit(w.pub2, w.uncond.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ids := approved(); !slices.Equal(ids, []int64{own.ID, it.ID}) {
		t.Errorf("listing: got %v, want [%d %d]", ids, own.ID, it.ID)
	}
	rejected, err := e.Store.DecideShowcaseItem(e.as(w.admin), other.ID, false, "链接无法访问")
	if err != nil || rejected.Status != cityhub.ShowcaseRejected || rejected.Reason != "链接无法访问" {
		t.Fatalf("rejected: got %+v, %v", rejected, err)
	}
	e.wantRecord(t, "open.showcase.reject", "open_showcase:"+itoa(other.ID), w.admin, "链接无法访问")
	// Taken down after approval.
	if _, err := e.Store.DecideShowcaseItem(e.as(w.admin), own.ID, false, "应用已下线"); err != nil {
		t.Fatal(err)
	}
	if ids := approved(); !slices.Equal(ids, []int64{it.ID}) {
		t.Errorf("after taking one down: got %v, want [%d]", ids, it.ID)
	}

	// Filters: by submitter, by dataset, every status.
	for _, tc := range []struct {
		f    cityhub.ShowcaseFilter
		want int
	}{
		{cityhub.ShowcaseFilter{}, 3},
		{cityhub.ShowcaseFilter{SubmitterID: w.pub2.ID}, 1},
		{cityhub.ShowcaseFilter{EntryID: w.uncond.ID}, 2},
		{cityhub.ShowcaseFilter{EntryID: w.cond.ID, Status: cityhub.ShowcaseApproved}, 1},
		{cityhub.ShowcaseFilter{Status: cityhub.ShowcaseRejected}, 2},
	} {
		items, total, err := e.Store.ShowcaseItems(e.ctx, tc.f)
		if err != nil || total != tc.want || len(items) != tc.want {
			t.Errorf("%+v: got %d items (total %d), %v; want %d", tc.f, len(items), total, err, tc.want)
		}
	}

	// A dataset that leaves the portal leaves the item's list.
	e.transition(t, w.cond.ID, cityhub.ActWithdraw)
	shown, err := e.Store.ShowcaseItem(e.ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shown.EntryIDs, []int64{w.uncond.ID}) || len(shown.Datasets) != 1 || shown.Datasets[0].EntryID != w.uncond.ID ||
		shown.Datasets[0].Name != w.uncond.Name || shown.Datasets[0].ProviderName != w.a.Name {
		t.Errorf("after withdrawing %d: got %+v %+v, want only %d", w.cond.ID, shown.EntryIDs, shown.Datasets, w.uncond.ID)
	}
	e.wantIntact(t, int64(len(e.records(t))))
}

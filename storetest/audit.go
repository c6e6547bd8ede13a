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

func testAuditEveryChange(t *testing.T, open Opener) {
	e := newEnv(t, open)
	var (
		dept, child *cityhub.Department
		u           *cityhub.User
		tok         *cityhub.Token
	)
	deptObject := func(d **cityhub.Department) func() string {
		return func() string { return "department:" + itoa((*d).ID) }
	}
	userObject := func() string { return "user:" + itoa(u.ID) }
	tokenObject := func() string { return "token:" + itoa(tok.ID) }
	ops := []struct {
		action string
		do     func(ctx context.Context) error
		object func() string // after do, which may assign the id
	}{
		{"department.create", func(ctx context.Context) error {
			dept = e.department()
			dept.Level, dept.Division = cityhub.LevelCity, "330200"
			return e.Store.CreateDepartment(ctx, dept)
		}, deptObject(&dept)},
		{"department.create", func(ctx context.Context) error {
			child = e.department()
			child.ParentID = &dept.ID
			return e.Store.CreateDepartment(ctx, child)
		}, deptObject(&child)},
		{"department.update", func(ctx context.Context) error {
			dept.ShortName = "改名"
			return e.Store.UpdateDepartment(ctx, dept)
		}, deptObject(&dept)},
		{"user.create", func(ctx context.Context) error {
			u = e.user(&child.ID, cityhub.RoleSteward)
			return e.Store.CreateUser(ctx, u, "secret-hash")
		}, userObject},
		{"user.update", func(ctx context.Context) error {
			u.Roles = append(u.Roles, cityhub.RoleConsumer)
			return e.Store.UpdateUser(ctx, u)
		}, userObject},
		{"user.password", func(ctx context.Context) error {
			return e.Store.SetPasswordHash(ctx, u.ID, "new-secret-hash")
		}, userObject},
		{"token.create", func(ctx context.Context) error {
			_, hash := cityhub.NewSecret()
			tok = &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenPersonal, Name: "etl", Scopes: []string{cityhub.ScopeRead},
				Hint: "chp_abcd", ExpiresAt: time.Now().Add(time.Hour)}
			return e.Store.CreateToken(ctx, tok, hash)
		}, tokenObject},
		{"token.revoke", func(ctx context.Context) error {
			return e.Store.RevokeToken(ctx, tok.ID)
		}, tokenObject},
		{"user.delete", func(ctx context.Context) error {
			return e.Store.DeleteUser(ctx, u.ID)
		}, userObject},
		{"department.delete", func(ctx context.Context) error {
			return e.Store.DeleteDepartment(ctx, child.ID)
		}, deptObject(&child)},
	}
	prev := &cityhub.AuditRecord{Hash: cityhub.GenesisHash}
	for i, op := range ops {
		actor := cityhub.Actor{
			UserID:     int64(100 + i),
			Username:   fmt.Sprintf("actor%02d", i),
			ClientAddr: fmt.Sprintf("203.0.113.%d:%d", i+1, 50000+i),
			RequestID:  fmt.Sprintf("req-%02d", i),
		}
		ok := t.Run(fmt.Sprintf("%02d %s", i, op.action), func(t *testing.T) {
			before := time.Now()
			if err := op.do(cityhub.WithActor(e.ctx, actor)); err != nil {
				t.Fatalf("%s: %v", op.action, err)
			}
			object := op.object()
			recs := e.records(t)
			if len(recs) != i+1 {
				t.Fatalf("records: got %d, want %d (exactly one per change)", len(recs), i+1)
			}
			r := recs[i]
			got := cityhub.Actor{UserID: r.ActorID, Username: r.Actor, ClientAddr: r.ClientAddr, RequestID: r.RequestID}
			if got != actor {
				t.Errorf("actor: got %+v, want %+v", got, actor)
			}
			if r.Seq != int64(i+1) || r.Action != op.action || r.Object != object || r.Outcome != cityhub.OutcomeSuccess {
				t.Errorf("record: got seq %d %s on %q (%s), want seq %d %s on %q (success)",
					r.Seq, r.Action, r.Object, r.Outcome, i+1, op.action, object)
			}
			if r.PrevHash != prev.Hash || r.Hash != r.ComputeHash() {
				t.Errorf("links: got prev %s hash %s, want prev %s hash %s", r.PrevHash, r.Hash, prev.Hash, r.ComputeHash())
			}
			if r.At.Before(before.Add(-time.Second)) || r.At.After(time.Now().Add(time.Second)) {
				t.Errorf("at: got %v, want about %v", r.At, before)
			}
			if r.Details != "" && !json.Valid([]byte(r.Details)) {
				t.Errorf("details: got %q, want JSON", r.Details)
			}
			if strings.Contains(r.Details, "secret-hash") {
				t.Errorf("details: got %s, which holds a password hash", r.Details)
			}
			h := e.head(t)
			if h.Seq != r.Seq || h.Hash != r.Hash || !h.VerifySignature(e.Key.Public()) {
				t.Errorf("head: got seq %d hash %s (signature ok: %v), want seq %d hash %s, signed",
					h.Seq, h.Hash, h.VerifySignature(e.Key.Public()), r.Seq, r.Hash)
			}
			prev = r
		})
		if !ok {
			t.FailNow() // later steps build on this one
		}
	}

	t.Run("without actor", func(t *testing.T) {
		if err := e.Store.CreateDepartment(t.Context(), e.department()); err != nil {
			t.Fatal(err)
		}
		recs := e.records(t)
		r := recs[len(recs)-1]
		if r.Actor != "system" || r.ActorID != 0 || r.ClientAddr != "" || r.RequestID != "" {
			t.Fatalf("actor: got %d %q %q %q, want the system actor", r.ActorID, r.Actor, r.ClientAddr, r.RequestID)
		}
	})
	e.wantIntact(t, int64(len(ops)+1))
}

func testAuditNoRecordWithoutChange(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	tok, secret := e.createToken(t, u.ID, cityhub.TokenPersonal)
	const base = 3
	tests := []struct {
		name string
		do   func() error
	}{
		{"invalid department", func() error { d := e.department(); d.Division = "330204"; return e.Store.CreateDepartment(e.ctx, d) }},
		{"conflicting department", func() error { d := e.department(); d.Name = dept.Name; return e.Store.CreateDepartment(e.ctx, d) }},
		{"missing department", func() error { d := *dept; d.ID += 1000; return e.Store.UpdateDepartment(e.ctx, &d) }},
		{"refused delete", func() error { return e.Store.DeleteDepartment(e.ctx, dept.ID) }},
		{"invalid user", func() error { x := e.user(&dept.ID); x.Roles = nil; return e.Store.CreateUser(e.ctx, x, "h") }},
		{"password of missing user", func() error { return e.Store.SetPasswordHash(e.ctx, u.ID+1000, "h") }},
		{"revoke missing token", func() error { return e.Store.RevokeToken(e.ctx, tok.ID+1000) }},
		{"reads", func() error {
			_, err1 := e.Store.Department(e.ctx, dept.ID)
			_, _, err2 := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{})
			_, err3 := e.Store.User(e.ctx, u.ID)
			_, _, err4 := e.Store.UserByUsername(e.ctx, u.Username)
			_, _, err5 := e.Store.Users(e.ctx, cityhub.UserFilter{})
			_, err6 := e.Store.TokenByHash(e.ctx, cityhub.HashSecret(secret))
			_, err7 := e.Store.Tokens(e.ctx, u.ID, "")
			_, err8 := e.Store.AuditRecords(e.ctx, cityhub.AuditFilter{})
			for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8} {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"session token", func() error {
			_, hash := cityhub.NewSecret()
			return e.Store.CreateToken(e.ctx, &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenSession,
				Scopes: []string{cityhub.ScopeWrite}, Hint: "chp_x", ExpiresAt: time.Now().Add(time.Hour)}, hash)
		}},
		{"touch token", func() error { return e.Store.TouchToken(e.ctx, tok.ID, time.Now()) }},
		{"record login", func() error { return e.Store.RecordLogin(e.ctx, u.ID, time.Now()) }},
		{"login guard", func() error {
			if _, err := e.Store.RecordLoginFailure(e.ctx, "k", time.Now(), time.Now().Add(-time.Hour)); err != nil {
				return err
			}
			if err := e.Store.Lock(e.ctx, "k", time.Now().Add(time.Hour)); err != nil {
				return err
			}
			return e.Store.ClearLoginFailures(e.ctx, "k")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if c := cityhub.ErrorCode(err); c == cityhub.EINTERNAL {
				t.Fatalf("got internal error %v, want a domain error or none", err)
			}
			if n := len(e.records(t)); n != base {
				t.Fatalf("records: got %d, want %d", n, base)
			}
		})
	}
	e.wantIntact(t, base)
}

func testAppendAudit(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := cityhub.WithActor(e.ctx, cityhub.Actor{UserID: 7, Username: "li.wei", ClientAddr: "198.51.100.7:443", RequestID: "req-login"})
	r1 := cityhub.NewAuditRecord(ctx, "auth.login", "user:7", cityhub.OutcomeFailure, `{"reason":"bad password"}`)
	if err := e.Store.AppendAudit(ctx, r1); err != nil {
		t.Fatalf("append: %v", err)
	}
	if r1.Seq != 1 || r1.PrevHash != cityhub.GenesisHash || r1.Hash != r1.ComputeHash() || r1.At.IsZero() {
		t.Fatalf("first record: got seq %d prev %s hash %s at %v, want seq 1 from genesis, hashed, timed",
			r1.Seq, r1.PrevHash, r1.Hash, r1.At)
	}
	r2 := cityhub.NewAuditRecord(ctx, "auth.login", "user:7", cityhub.OutcomeDenied, "")
	if err := e.Store.AppendAudit(ctx, r2); err != nil {
		t.Fatalf("append: %v", err)
	}
	if r2.Seq != 2 || r2.PrevHash != r1.Hash {
		t.Fatalf("second record: got seq %d prev %s, want seq 2 after %s", r2.Seq, r2.PrevHash, r1.Hash)
	}
	wantSame(t, "stored records", e.records(t), []*cityhub.AuditRecord{r1, r2})

	for _, bad := range []*cityhub.AuditRecord{
		cityhub.NewAuditRecord(ctx, "", "user:7", cityhub.OutcomeSuccess, ""),
		cityhub.NewAuditRecord(ctx, "auth.login", "user:7", "", ""),
	} {
		wantErr(t, e.Store.AppendAudit(ctx, bad), cityhub.EINVALID)
	}
	e.wantIntact(t, 2)
}

// appendAll appends one record per spec, as that actor, and returns them.
func (e *env) appendAll(t *testing.T, specs [][4]string) []*cityhub.AuditRecord {
	t.Helper()
	var out []*cityhub.AuditRecord
	for _, s := range specs {
		ctx := cityhub.WithActor(e.ctx, cityhub.Actor{Username: s[0]})
		r := cityhub.NewAuditRecord(ctx, s[1], s[2], s[3], "")
		if err := e.Store.AppendAudit(ctx, r); err != nil {
			t.Fatalf("append %v: %v", s, err)
		}
		out = append(out, r)
	}
	return out
}

func seqs(recs []*cityhub.AuditRecord) []int64 {
	out := []int64{}
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

// newestFirst returns the seqs of the records that match, newest first.
func newestFirst(recs []*cityhub.AuditRecord, match func(r *cityhub.AuditRecord) bool) []int64 {
	out := []int64{}
	for i := len(recs) - 1; i >= 0; i-- {
		if match(recs[i]) {
			out = append(out, recs[i].Seq)
		}
	}
	return out
}

func testAuditFilters(t *testing.T, open Opener) {
	e := newEnv(t, open)
	const ok, failed, denied = cityhub.OutcomeSuccess, cityhub.OutcomeFailure, cityhub.OutcomeDenied
	recs := e.appendAll(t, [][4]string{
		{"li.wei", "auth.login", "user:1", ok},
		{"li.wei", "user.update", "user:1", ok},
		{"wang", "user.create", "user:2", ok},
		{"wang", "users.list", "", ok},
		{"wang", "auth.login", "user:2", failed},
		{"zhao", "department.create", "department:1", ok},
		{"zhao", "user.delete", "user:2", denied},
		{"li.wei", "data_set.read", "dataset:9", ok},
		{"li.wei", "dataXset.read", "dataset:9", ok},
		{"user", "user", "user:1", ok},
	})
	tests := []struct {
		name   string
		filter cityhub.AuditFilter
		match  func(r *cityhub.AuditRecord) bool
	}{
		{"all", cityhub.AuditFilter{}, func(*cityhub.AuditRecord) bool { return true }},
		{"actor", cityhub.AuditFilter{Actor: "li.wei"}, func(r *cityhub.AuditRecord) bool { return r.Actor == "li.wei" }},
		{"action exact", cityhub.AuditFilter{Action: "auth.login"}, func(r *cityhub.AuditRecord) bool { return r.Action == "auth.login" }},
		{"action exact without dot", cityhub.AuditFilter{Action: "user"}, func(r *cityhub.AuditRecord) bool { return r.Action == "user" }},
		{"action prefix", cityhub.AuditFilter{Action: "user."}, func(r *cityhub.AuditRecord) bool { return strings.HasPrefix(r.Action, "user.") }},
		{"action prefix is literal", cityhub.AuditFilter{Action: "data_set."}, func(r *cityhub.AuditRecord) bool { return r.Action == "data_set.read" }},
		{"object", cityhub.AuditFilter{Object: "user:2"}, func(r *cityhub.AuditRecord) bool { return r.Object == "user:2" }},
		{"outcome failure", cityhub.AuditFilter{Outcome: failed}, func(r *cityhub.AuditRecord) bool { return r.Outcome == failed }},
		{"outcome denied", cityhub.AuditFilter{Outcome: denied}, func(r *cityhub.AuditRecord) bool { return r.Outcome == denied }},
		{"actor and action prefix", cityhub.AuditFilter{Actor: "wang", Action: "user."}, func(r *cityhub.AuditRecord) bool {
			return r.Actor == "wang" && strings.HasPrefix(r.Action, "user.")
		}},
		{"object and outcome", cityhub.AuditFilter{Object: "user:2", Outcome: ok}, func(r *cityhub.AuditRecord) bool {
			return r.Object == "user:2" && r.Outcome == ok
		}},
		{"unknown actor", cityhub.AuditFilter{Actor: "nobody"}, func(*cityhub.AuditRecord) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Store.AuditRecords(e.ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := seqs(got), newestFirst(recs, tt.match); !slices.Equal(g, w) {
				t.Fatalf("seqs: got %v, want %v", g, w)
			}
		})
	}
	t.Run("limit keeps the newest", func(t *testing.T) {
		got, err := e.Store.AuditRecords(e.ctx, cityhub.AuditFilter{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := seqs(got), []int64{10, 9, 8}; !slices.Equal(g, w) {
			t.Fatalf("seqs: got %v, want %v", g, w)
		}
	})
	t.Run("records complete", func(t *testing.T) {
		got, err := e.Store.AuditRecords(e.ctx, cityhub.AuditFilter{Object: "department:1"})
		if err != nil {
			t.Fatal(err)
		}
		wantSame(t, "filtered record", got, []*cityhub.AuditRecord{recs[5]})
	})
}

func testAuditPaging(t *testing.T, open Opener) {
	e := newEnv(t, open)
	var specs [][4]string
	for i := range 12 {
		actor := "even"
		if i%2 == 1 {
			actor = "odd"
		}
		specs = append(specs, [4]string{actor, "data.read", fmt.Sprintf("dataset:%d", i), cityhub.OutcomeSuccess})
	}
	e.appendAll(t, specs)
	tests := []struct {
		name   string
		filter cityhub.AuditFilter
		pages  [][]int64
	}{
		{"all", cityhub.AuditFilter{Limit: 5}, [][]int64{{12, 11, 10, 9, 8}, {7, 6, 5, 4, 3}, {2, 1}}},
		{"filtered", cityhub.AuditFilter{Actor: "odd", Limit: 4}, [][]int64{{12, 10, 8, 6}, {4, 2}}},
		{"exact pages", cityhub.AuditFilter{Actor: "even", Limit: 3}, [][]int64{{11, 9, 7}, {5, 3, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.filter
			var pages [][]int64
			for range 10 {
				got, err := e.Store.AuditRecords(e.ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				pages = append(pages, seqs(got))
				f.BeforeSeq = got[len(got)-1].Seq
			}
			if fmt.Sprint(pages) != fmt.Sprint(tt.pages) {
				t.Fatalf("pages: got %v, want %v", pages, tt.pages)
			}
		})
	}
	got, err := e.Store.AuditRecords(e.ctx, cityhub.AuditFilter{BeforeSeq: 1})
	if err != nil || len(got) != 0 {
		t.Fatalf("before seq 1: got %v, %v; want none", seqs(got), err)
	}
	got, err = e.Store.AuditRecords(e.ctx, cityhub.AuditFilter{BeforeSeq: 4})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := seqs(got), []int64{3, 2, 1}; !slices.Equal(g, w) {
		t.Fatalf("before seq 4: got %v, want %v", g, w)
	}
}

func testAuditTimeRange(t *testing.T, open Opener) {
	e := newEnv(t, open)
	var recs []*cityhub.AuditRecord
	for i := range 6 {
		if i > 0 {
			time.Sleep(2 * time.Millisecond) // distinct times
		}
		recs = append(recs, e.appendAll(t, [][4]string{{"li.wei", "data.read", "", cityhub.OutcomeSuccess}})...)
	}
	for i := 1; i < len(recs); i++ {
		if !recs[i].At.After(recs[i-1].At) {
			t.Fatalf("record %d at %v is not after record %d at %v", recs[i].Seq, recs[i].At, recs[i-1].Seq, recs[i-1].At)
		}
	}
	cst := time.FixedZone("CST", 8*60*60) // the filter compares instants, whatever the zone
	since, until := recs[1].At.In(cst), recs[4].At
	tests := []struct {
		name   string
		filter cityhub.AuditFilter
		want   []int64
	}{
		{"since is inclusive", cityhub.AuditFilter{Since: since}, []int64{6, 5, 4, 3, 2}},
		{"until is exclusive", cityhub.AuditFilter{Until: until}, []int64{4, 3, 2, 1}},
		{"both", cityhub.AuditFilter{Since: since, Until: until}, []int64{4, 3, 2}},
		{"empty range", cityhub.AuditFilter{Since: until, Until: since}, []int64{}},
		{"after the last", cityhub.AuditFilter{Since: recs[5].At.Add(time.Microsecond)}, []int64{}},
		{"with paging", cityhub.AuditFilter{Since: since, Until: until, BeforeSeq: 4}, []int64{3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Store.AuditRecords(e.ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := seqs(got); !slices.Equal(g, tt.want) {
				t.Fatalf("seqs: got %v, want %v", g, tt.want)
			}
		})
	}
}

func testVerifyIntact(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.wantIntact(t, 0) // an empty chain needs no head
	if _, err := e.Store.AuditHead(e.ctx); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Fatalf("head of an empty chain: got %v, want %s", err, cityhub.ENOTFOUND)
	}
	e.chain(t)
	e.wantIntact(t, 6)
	h := e.head(t)
	if h.Seq != 6 || !h.VerifySignature(e.Key.Public()) || string(h.PublicKey) != string(e.Key.Public()) {
		t.Fatalf("head: got seq %d (signature ok: %v), want seq 6 signed with the store's key", h.Seq, h.VerifySignature(e.Key.Public()))
	}
	rep, err := cityhub.VerifyChain(e.ctx, e.Store, otherKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Problem != cityhub.ProblemHead {
		t.Fatalf("verify with another key: got ok=%v problem %q, want %q", rep.OK, rep.Problem, cityhub.ProblemHead)
	}
	// Appends after an anchor keep the anchor valid.
	e.appendAll(t, [][4]string{{"li.wei", "auth.logout", "", cityhub.OutcomeSuccess}})
	e.wantIntact(t, 7, h)
}

// chain makes six records: three created departments, an update and two
// appended events.
func (e *env) chain(t *testing.T) {
	t.Helper()
	a := e.createDepartment(t)
	e.createDepartment(t)
	e.createDepartment(t)
	a.ShortName = "改"
	if err := e.Store.UpdateDepartment(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	e.appendAll(t, [][4]string{
		{"li.wei", "auth.login", "user:1", cityhub.OutcomeSuccess},
		{"li.wei", "data.read", "dataset:1", cityhub.OutcomeSuccess},
	})
	if n := len(e.records(t)); n != 6 {
		t.Fatalf("chain: got %d records, want 6", n)
	}
}

// writeRecord overwrites every column of the record at seq with r's values.
func (e *env) writeRecord(t *testing.T, seq int64, r *cityhub.AuditRecord) {
	t.Helper()
	n := e.exec(t, `UPDATE audit_records SET at = ?, actor_id = ?, actor = ?, client_addr = ?, action = ?, object = ?,
		request_id = ?, outcome = ?, details = ?, prev_hash = ?, hash = ? WHERE seq = ?`,
		r.At.UnixMicro(), r.ActorID, r.Actor, r.ClientAddr, r.Action, r.Object, r.RequestID, r.Outcome, r.Details,
		r.PrevHash, r.Hash, seq)
	if n != 1 {
		t.Fatalf("rewrite record %d: %d rows changed, want 1", seq, n)
	}
}

// writeHead overwrites the stored head.
func (e *env) writeHead(t *testing.T, h *cityhub.AuditHead) {
	t.Helper()
	if n := e.exec(t, "UPDATE audit_head SET seq = ?, hash = ?, signed_at = ?, signature = ?, public_key = ? WHERE id = 1",
		h.Seq, h.Hash, h.SignedAt.UnixMicro(), h.Signature, []byte(h.PublicKey)); n != 1 {
		t.Fatalf("rewrite head: %d rows changed, want 1", n)
	}
}

// rewriteFrom edits the record at seq and relinks every later one, as an
// intruder holding the audit key would, then signs a new head with key.
func (e *env) rewriteFrom(t *testing.T, seq int64, edit func(r *cityhub.AuditRecord), key *cityhub.AuditKey) {
	t.Helper()
	recs := e.records(t)
	prev := cityhub.GenesisHash
	for _, r := range recs {
		if r.Seq < seq {
			prev = r.Hash
			continue
		}
		if r.Seq == seq {
			edit(r)
		}
		r.PrevHash = prev
		r.Hash = r.ComputeHash()
		e.writeRecord(t, r.Seq, r)
		prev = r.Hash
	}
	last := recs[len(recs)-1]
	e.writeHead(t, key.SignHead(last.Seq, last.Hash, time.Now()))
}

func testVerifyTampered(t *testing.T, open Opener) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, e *env)
		problem string
		seq     int64
	}{
		{"edited details", func(t *testing.T, e *env) {
			e.exec(t, "UPDATE audit_records SET details = ? WHERE seq = ?", `{"name":"forged"}`, 3)
		}, cityhub.ProblemAltered, 3},
		{"edited actor", func(t *testing.T, e *env) {
			e.exec(t, "UPDATE audit_records SET actor = ? WHERE seq = ?", "someone.else", 2)
		}, cityhub.ProblemAltered, 2},
		{"edited time", func(t *testing.T, e *env) {
			e.exec(t, "UPDATE audit_records SET at = at + 1 WHERE seq = ?", 5)
		}, cityhub.ProblemAltered, 5},
		{"edited and rehashed", func(t *testing.T, e *env) {
			// Without the key the next link still points at the old hash.
			r := e.records(t)[2]
			r.Outcome = cityhub.OutcomeDenied
			r.Hash = r.ComputeHash()
			e.writeRecord(t, r.Seq, r)
		}, cityhub.ProblemRemoved, 4},
		{"deleted middle", func(t *testing.T, e *env) {
			e.exec(t, "DELETE FROM audit_records WHERE seq = ?", 3)
		}, cityhub.ProblemRemoved, 3},
		{"deleted first", func(t *testing.T, e *env) {
			e.exec(t, "DELETE FROM audit_records WHERE seq = ?", 1)
		}, cityhub.ProblemRemoved, 1},
		{"deleted last", func(t *testing.T, e *env) {
			e.exec(t, "DELETE FROM audit_records WHERE seq = ?", 6)
		}, cityhub.ProblemRemoved, 6},
		{"deleted middle and renumbered", func(t *testing.T, e *env) {
			e.exec(t, "DELETE FROM audit_records WHERE seq = ?", 3)
			for seq := 4; seq <= 6; seq++ {
				e.exec(t, "UPDATE audit_records SET seq = ? WHERE seq = ?", seq-1, seq)
			}
		}, cityhub.ProblemRemoved, 3},
		{"swapped", func(t *testing.T, e *env) {
			recs := e.records(t)
			e.writeRecord(t, 2, recs[3])
			e.writeRecord(t, 4, recs[1])
		}, cityhub.ProblemReordered, 2},
		{"swapped neighbours", func(t *testing.T, e *env) {
			recs := e.records(t)
			e.writeRecord(t, 3, recs[3])
			e.writeRecord(t, 4, recs[2])
		}, cityhub.ProblemReordered, 3},
		{"forged head", func(t *testing.T, e *env) {
			h := e.head(t)
			e.writeHead(t, otherKey(t).SignHead(h.Seq, h.Hash, time.Now()))
		}, cityhub.ProblemHead, 6},
		{"forged head over a rewritten chain", func(t *testing.T, e *env) {
			e.rewriteFrom(t, 2, func(r *cityhub.AuditRecord) { r.Actor = "nobody" }, otherKey(t))
		}, cityhub.ProblemHead, 6},
		{"last record edited and rehashed", func(t *testing.T, e *env) {
			r := e.records(t)[5]
			r.Details = `{"forged":true}`
			r.Hash = r.ComputeHash()
			e.writeRecord(t, r.Seq, r)
		}, cityhub.ProblemHead, 6},
		{"head removed", func(t *testing.T, e *env) {
			e.exec(t, "DELETE FROM audit_head")
		}, cityhub.ProblemHead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, open)
			e.chain(t)
			e.wantIntact(t, 6)
			tt.tamper(t, e)
			rep := e.verify(t)
			if rep.OK || rep.Problem != tt.problem || rep.Seq != tt.seq {
				t.Fatalf("verify: got ok=%v problem %q at %d (%s), want problem %q at %d",
					rep.OK, rep.Problem, rep.Seq, rep.Message, tt.problem, tt.seq)
			}
			if rep.Message == "" {
				t.Error("verify: got no message")
			}
		})
	}
}

func testVerifyAnchors(t *testing.T, open Opener) {
	t.Run("history rewritten with the key", func(t *testing.T) {
		e := newEnv(t, open)
		e.chain(t)
		early := e.head(t) // exported at seq 6
		e.appendAll(t, [][4]string{
			{"li.wei", "data.read", "dataset:2", cityhub.OutcomeSuccess},
			{"li.wei", "data.read", "dataset:3", cityhub.OutcomeSuccess},
		})
		recs := e.records(t)
		older := &cityhub.AuditHead{Seq: 3, Hash: recs[2].Hash} // an anchor needs only seq and hash
		e.wantIntact(t, 8, early, older)

		// Someone with the key rewrites record 5 onwards and re-signs.
		e.rewriteFrom(t, 5, func(r *cityhub.AuditRecord) { r.Outcome = cityhub.OutcomeFailure }, e.Key)
		e.wantIntact(t, 8)        // consistent in itself ...
		e.wantIntact(t, 8, older) // ... and before record 5 ...
		rep := e.verify(t, older, early)
		if rep.OK || rep.Problem != cityhub.ProblemAltered || rep.Seq != 6 {
			t.Fatalf("verify with the anchor at 6: got ok=%v problem %q at %d (%s), want %q at 6",
				rep.OK, rep.Problem, rep.Seq, rep.Message, cityhub.ProblemAltered)
		}
	})
	t.Run("history cut with the key", func(t *testing.T) {
		e := newEnv(t, open)
		e.chain(t)
		early := e.head(t)
		e.exec(t, "DELETE FROM audit_records WHERE seq > ?", 4)
		recs := e.records(t)
		e.writeHead(t, e.Key.SignHead(4, recs[3].Hash, time.Now()))
		e.wantIntact(t, 4)
		rep := e.verify(t, early)
		if rep.OK || rep.Problem != cityhub.ProblemRemoved || rep.Seq != 6 {
			t.Fatalf("verify with the anchor at 6: got ok=%v problem %q at %d (%s), want %q at 6",
				rep.OK, rep.Problem, rep.Seq, rep.Message, cityhub.ProblemRemoved)
		}
	})
}

func testReadOnly(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	tok, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	ro := e.Reopen(t, nil)
	tests := []struct {
		name string
		do   func() error
	}{
		{"create department", func() error { return ro.CreateDepartment(e.ctx, e.department()) }},
		{"update department", func() error { d := *dept; d.ShortName = "x"; return ro.UpdateDepartment(e.ctx, &d) }},
		{"delete department", func() error { return ro.DeleteDepartment(e.ctx, dept.ID) }},
		{"create user", func() error { return ro.CreateUser(e.ctx, e.user(&dept.ID), "h") }},
		{"update user", func() error { x := *u; x.Disabled = true; return ro.UpdateUser(e.ctx, &x) }},
		{"set password", func() error { return ro.SetPasswordHash(e.ctx, u.ID, "h") }},
		{"delete user", func() error { return ro.DeleteUser(e.ctx, u.ID) }},
		{"create personal token", func() error {
			_, hash := cityhub.NewSecret()
			return ro.CreateToken(e.ctx, &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenPersonal, Name: "x",
				Scopes: []string{cityhub.ScopeRead}, Hint: "chp_x", ExpiresAt: time.Now().Add(time.Hour)}, hash)
		}},
		{"revoke token", func() error { return ro.RevokeToken(e.ctx, tok.ID) }},
		{"append audit", func() error {
			return ro.AppendAudit(e.ctx, cityhub.NewAuditRecord(e.ctx, "auth.login", "", cityhub.OutcomeSuccess, ""))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.do(), cityhub.EUNAVAILABLE)
		})
	}
	// It still reads, and what it refused left no trace.
	got, err := ro.Department(e.ctx, dept.ID)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	wantSame(t, "department read without key", got, dept)
	if got := e.token(t, tok.ID); got.RevokedAt != nil {
		t.Fatal("token: got revoked, want active")
	}
	rep, err := cityhub.VerifyChain(e.ctx, ro, e.Key.Public())
	if err != nil || !rep.OK || rep.Records != 3 {
		t.Fatalf("verify through the keyless store: got %+v, %v; want ok with 3 records", rep, err)
	}
}

// concurrentChanges runs workers goroutines, spread over stores, each
// creating each departments and appending as many events, and checks the
// chain holds them all in order. With a parent, odd workers create
// departments under it, so their changes read before they write.
func (e *env) concurrentChanges(t *testing.T, stores []cityhub.Store, workers, each int, parent *cityhub.Department) {
	t.Helper()
	before := int64(len(e.records(t)))
	_, depts, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		store := stores[w%len(stores)]
		wg.Go(func() {
			ctx := cityhub.WithActor(e.ctx, cityhub.Actor{UserID: int64(w + 1), Username: fmt.Sprintf("worker%d", w)})
			for i := range each {
				d := &cityhub.Department{
					Name:       fmt.Sprintf("并发测试局 %d-%d", w, i),
					CreditCode: creditCode(10000 + w*1000 + i),
					Division:   "330212",
					Level:      cityhub.LevelDistrict,
				}
				if parent != nil && w%2 == 1 {
					d.ParentID = &parent.ID
				}
				if err := store.CreateDepartment(ctx, d); err != nil {
					errs <- fmt.Errorf("worker %d, department %d: %w", w, i, err)
					return
				}
				r := cityhub.NewAuditRecord(ctx, "data.read", fmt.Sprintf("dataset:%d", i), cityhub.OutcomeSuccess, "")
				if err := store.AppendAudit(ctx, r); err != nil {
					errs <- fmt.Errorf("worker %d, event %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	n := workers * each
	_, total, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != depts+n {
		t.Fatalf("departments: got %d, want %d", total, depts+n)
	}
	recs := e.records(t)
	if want := before + int64(2*n); int64(len(recs)) != want {
		t.Fatalf("records: got %d, want %d", len(recs), want)
	}
	perActor := map[string]int{}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d: got seq %d, want %d (no gaps)", i, r.Seq, i+1)
		}
		perActor[r.Actor+" "+r.Action]++
	}
	for w := range workers {
		for _, action := range []string{"department.create", "data.read"} {
			if got := perActor[fmt.Sprintf("worker%d %s", w, action)]; got != each {
				t.Errorf("%s records of worker%d: got %d, want %d", action, w, got, each)
			}
		}
	}
	e.wantIntact(t, int64(len(recs)))
}

// Starts from an empty chain, so the first appends race too.
func testConcurrentAppends(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.concurrentChanges(t, []cityhub.Store{e.Store}, 8, 25, nil)
}

// Two stores on one database stand for two nodes sharing it.
func testConcurrentAppendsTwoStores(t *testing.T, open Opener) {
	e := newEnv(t, open)
	parent := e.createDepartment(t, func(d *cityhub.Department) { d.Level, d.Division = cityhub.LevelCity, "330200" })
	e.concurrentChanges(t, []cityhub.Store{e.Store, e.Reopen(t, e.Key)}, 6, 10, parent)
}

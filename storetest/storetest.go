// Package storetest is the conformance suite of cityhub.Store. Every store
// implementation runs it against a real database (SQLite always, PostgreSQL
// when one is at hand), so the implementations cannot drift apart.
//
// A store package wires it up in its own tests:
//
//	func TestSQLite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Opened { … })
//	}
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// Opened is a freshly opened, empty store for one test, with what the suite
// needs to go around it.
type Opened struct {
	// Store is the store under test, opened with Key.
	Store cityhub.Store
	// Key is the audit key Store signs chain heads with.
	Key *cityhub.AuditKey
	// Exec runs raw SQL with ? placeholders on the database under Store.
	// Tamper tests edit its tables directly.
	Exec func(ctx context.Context, query string, args ...any) (sql.Result, error)
	// Reopen opens another store on the same database with key; a nil key
	// gives a store without an audit key. The opener closes it when t ends.
	Reopen func(t *testing.T, key *cityhub.AuditKey) cityhub.Store
}

// Opener opens an empty store for t and closes it (and removes its data)
// when t ends.
type Opener func(t *testing.T) Opened

type subtest struct {
	name string
	fn   func(t *testing.T, open Opener)
}

// Run runs the whole conformance suite; each subtest opens its own store.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Store", []subtest{
			{"SchemaVersion", testSchemaVersion},
			{"ReadOnlyWithoutAuditKey", testReadOnly},
		}},
		{"Departments", []subtest{
			{"CRUD", testDepartmentCRUD},
			{"Validation", testDepartmentValidation},
			{"UniqueConflicts", testDepartmentConflicts},
			{"ParentLoops", testDepartmentParentLoops},
			{"DeleteRefused", testDepartmentDeleteRefused},
			{"List", testDepartmentList},
		}},
		{"Users", []subtest{
			{"CRUD", testUserCRUD},
			{"Validation", testUserValidation},
			{"List", testUserList},
			{"DisableRevokesTokens", testUserDisableRevokesTokens},
			{"SetPasswordHash", testUserSetPasswordHash},
		}},
		{"Tokens", []subtest{
			{"CRUD", testTokenCRUD},
			{"List", testTokenList},
		}},
		{"LoginGuard", []subtest{
			{"Failures", testLoginFailures},
			{"Lock", testLock},
		}},
		{"Audit", []subtest{
			{"EveryChangeOneRecord", testAuditEveryChange},
			{"NoRecordWithoutChange", testAuditNoRecordWithoutChange},
			{"AppendAudit", testAppendAudit},
			{"Filters", testAuditFilters},
			{"Paging", testAuditPaging},
			{"TimeRange", testAuditTimeRange},
			{"VerifyIntact", testVerifyIntact},
			{"VerifyTampered", testVerifyTampered},
			{"VerifyAnchors", testVerifyAnchors},
			{"ConcurrentAppends", testConcurrentAppends},
			{"ConcurrentAppendsTwoStores", testConcurrentAppendsTwoStores},
		}},
		{"Catalog", catalogTests},
		{"Tables", tableTests},
		{"Devices", deviceTests},
		{"IoTCatalog", iotCatalogTests},
		{"Engagement", engagementTests},
		{"OpenAccess", openAccessTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) { st.fn(t, open) })
			}
		})
	}
}

// env is one test's store with helpers.
type env struct {
	Opened
	ctx context.Context // acts as adminActor
	n   int             // makes names unique
}

var adminActor = cityhub.Actor{UserID: 1, Username: "admin", ClientAddr: "192.0.2.1:40000", RequestID: "req-admin"}

func newEnv(t *testing.T, open Opener) *env {
	t.Helper()
	o := open(t)
	if o.Store == nil || o.Key == nil || o.Exec == nil || o.Reopen == nil {
		t.Fatalf("opener returned an incomplete Opened: %+v", o)
	}
	return &env{Opened: o, ctx: cityhub.WithActor(t.Context(), adminActor)}
}

// exec runs raw SQL (with ? placeholders) on the database under the store
// and returns the number of rows affected.
func (e *env) exec(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	res, err := e.Exec(e.ctx, query, args...)
	if err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.Fatalf("exec %q: rows affected: %v", query, err)
	}
	return n
}

// creditCode returns a valid unified social credit code unique for n.
func creditCode(n int) string {
	first := fmt.Sprintf("913302%011d", n)
	c, err := cityhub.CreditCodeCheckChar(first)
	if err != nil {
		panic(err)
	}
	return first + string(c)
}

// department returns a valid, unsaved district department unique in e.
func (e *env) department() *cityhub.Department {
	e.n++
	return &cityhub.Department{
		Name:       fmt.Sprintf("鄞州区测试局%03d", e.n),
		ShortName:  fmt.Sprintf("测试%03d", e.n),
		CreditCode: creditCode(e.n),
		Division:   "330212",
		Level:      cityhub.LevelDistrict,
	}
}

// createDepartment saves a new department, changed by mods first.
func (e *env) createDepartment(t *testing.T, mods ...func(*cityhub.Department)) *cityhub.Department {
	t.Helper()
	d := e.department()
	for _, m := range mods {
		m(d)
	}
	if err := e.Store.CreateDepartment(e.ctx, d); err != nil {
		t.Fatalf("create department %q: %v", d.Name, err)
	}
	return d
}

// user returns a valid, unsaved user unique in e.
func (e *env) user(deptID *int64, roles ...string) *cityhub.User {
	e.n++
	if len(roles) == 0 {
		roles = []string{cityhub.RoleConsumer}
	}
	return &cityhub.User{
		Username:     fmt.Sprintf("user%03d", e.n),
		DisplayName:  fmt.Sprintf("测试用户%03d", e.n),
		Email:        fmt.Sprintf("user%03d@example.gov.cn", e.n),
		DepartmentID: deptID,
		Roles:        roles,
	}
}

func (e *env) createUser(t *testing.T, deptID *int64, roles ...string) *cityhub.User {
	t.Helper()
	u := e.user(deptID, roles...)
	if err := e.Store.CreateUser(e.ctx, u, "hash-of-"+u.Username); err != nil {
		t.Fatalf("create user %q: %v", u.Username, err)
	}
	return u
}

// createToken saves a token of kind for userID and returns it with its secret.
func (e *env) createToken(t *testing.T, userID int64, kind string, scopes ...string) (*cityhub.Token, string) {
	t.Helper()
	secret, hash := cityhub.NewSecret()
	if len(scopes) == 0 {
		scopes = []string{cityhub.ScopeRead, cityhub.ScopeWrite}
	}
	e.n++
	tok := &cityhub.Token{
		UserID:    userID,
		Kind:      kind,
		Name:      fmt.Sprintf("token %d", e.n),
		Scopes:    scopes,
		Hint:      secret[:8],
		CSRF:      "csrf-" + strconv.Itoa(e.n),
		ExpiresAt: time.Now().Add(24 * time.Hour),
	}
	if err := e.Store.CreateToken(e.ctx, tok, hash); err != nil {
		t.Fatalf("create %s token: %v", kind, err)
	}
	return tok, secret
}

func (e *env) token(t *testing.T, id int64) *cityhub.Token {
	t.Helper()
	tok, err := e.Store.Token(e.ctx, id)
	if err != nil {
		t.Fatalf("token %d: %v", id, err)
	}
	return tok
}

// records returns the whole chain in seq order.
func (e *env) records(t *testing.T) []*cityhub.AuditRecord {
	t.Helper()
	var out []*cityhub.AuditRecord
	if err := e.Store.WalkAudit(e.ctx, 1, func(r *cityhub.AuditRecord) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("walk audit: %v", err)
	}
	return out
}

func (e *env) head(t *testing.T) *cityhub.AuditHead {
	t.Helper()
	h, err := e.Store.AuditHead(e.ctx)
	if err != nil {
		t.Fatalf("audit head: %v", err)
	}
	return h
}

func (e *env) verify(t *testing.T, anchors ...*cityhub.AuditHead) *cityhub.ChainReport {
	t.Helper()
	rep, err := cityhub.VerifyChain(e.ctx, e.Store, e.Key.Public(), anchors...)
	if err != nil {
		t.Fatalf("verify chain: %v", err)
	}
	return rep
}

// wantIntact fails unless the chain verifies with n records.
func (e *env) wantIntact(t *testing.T, n int64, anchors ...*cityhub.AuditHead) {
	t.Helper()
	rep := e.verify(t, anchors...)
	if !rep.OK || rep.Records != n || rep.LastSeq != n {
		t.Fatalf("verify: got ok=%v records=%d last=%d (%s %d: %s), want ok with %d records",
			rep.OK, rep.Records, rep.LastSeq, rep.Problem, rep.Seq, rep.Message, n)
	}
}

// wantErr fails unless err has code and a reason for each of fields.
func wantErr(t *testing.T, err error, code string, fields ...string) {
	t.Helper()
	if got := cityhub.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
	var e *cityhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("error: got %T, want *cityhub.Error", err)
	}
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Fatalf("error fields: got %v, want a reason for %q", e.Fields, f)
		}
	}
}

// wantSame compares two values by their JSON, which shows the differences
// readably and compares times by instant.
func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// otherKey returns a fresh audit key that is not the store's.
func otherKey(t *testing.T) *cityhub.AuditKey {
	t.Helper()
	k, err := cityhub.LoadAuditKey(filepath.Join(t.TempDir(), "other.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

// listed is what ids accepts.
type listed interface {
	*cityhub.Department | *cityhub.User
}

func ids[T listed](items []T) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		switch v := any(it).(type) {
		case *cityhub.Department:
			out[i] = v.ID
		case *cityhub.User:
			out[i] = v.ID
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

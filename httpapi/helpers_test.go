package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tsdb"
)

// testPassword is every seeded user's password.
const testPassword = "correct-horse-42"

// Role labels of the seeded callers. anon sends no credentials; deptAdminB,
// stewardB and consumerB belong to the other department.
const (
	anon       = "anonymous"
	deptAdminB = "dept_admin_b"
	stewardB   = "data_steward_b"
	consumerB  = "data_consumer_b"
)

// roleLabels lists every caller of the role matrix in display order.
var roleLabels = []string{anon, cityhub.RolePlatformAdmin, cityhub.RoleAuditor, cityhub.RoleDeptAdmin,
	cityhub.RoleSteward, cityhub.RoleConsumer, cityhub.RoleOperator, deptAdminB, cityhub.RoleReviewer, stewardB, consumerB}

// seedUsers are the seeded accounts: label, username, roles, department
// ("A", "B" or none).
var seedUsers = []struct{ label, username, role, dept string }{
	{cityhub.RolePlatformAdmin, "admin", cityhub.RolePlatformAdmin, ""},
	{cityhub.RoleAuditor, "auditor", cityhub.RoleAuditor, ""},
	{cityhub.RoleDeptAdmin, "deptadmin-a", cityhub.RoleDeptAdmin, "A"},
	{cityhub.RoleSteward, "steward-a", cityhub.RoleSteward, "A"},
	{cityhub.RoleConsumer, "consumer-a", cityhub.RoleConsumer, "A"},
	{cityhub.RoleOperator, "operator-a", cityhub.RoleOperator, "A"},
	{deptAdminB, "deptadmin-b", cityhub.RoleDeptAdmin, "B"},
	// The catalog reviewer sits at the big-data bureau, department A.
	{cityhub.RoleReviewer, "reviewer", cityhub.RoleReviewer, "A"},
	{stewardB, "steward-b", cityhub.RoleSteward, "B"},
	{consumerB, "consumer-b", cityhub.RoleConsumer, "B"},
}

// clock is the auth service's clock; tests move it forward to expire tokens.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Set puts the clock d ahead of real time; undo puts it back.
func (c *clock) Set(d time.Duration) (undo func()) {
	old := c.offset.Swap(int64(d))
	return func() { c.offset.Store(old) }
}

// env is the real stack: a SQLite store in a temp dir, the auth service, the
// API server behind its middleware on a loopback port, and seeded callers.
type env struct {
	t      testing.TB
	store  *sqlstore.Store
	auth   *auth.Service
	srv    *Server
	mux    *http.ServeMux
	ts     *httptest.Server
	clock  *clock
	deptA  *cityhub.Department
	deptB  *cityhub.Department
	users  map[string]*cityhub.User // by role label
	tokens map[string]string        // session secrets by role label
	// draftA and pubA are department A's seeded catalog entries: a draft and
	// a published entry (versions create, submit, approve, publish), both
	// spreadsheets with the data items of tableItems. Their rows are loaded
	// on first use (see env.tables).
	draftA *cityhub.CatalogEntry
	pubA   *cityhub.CatalogEntry
	data   *tableFixture

	mu  sync.Mutex
	seq int // for unique names
}

// tLogWriter sends the server's warnings and errors to the test log, so an
// internal error shows up next to the failing assertion.
type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func systemCtx() context.Context {
	return cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
}

// creditCode returns a valid unified social credit code of a government
// body (prefix 11), numbered n.
func creditCode(t testing.TB, n int) string {
	t.Helper()
	first := fmt.Sprintf("113302%011d", n)
	c, err := cityhub.CreditCodeCheckChar(first)
	if err != nil {
		t.Fatalf("CreditCodeCheckChar(%q): %v", first, err)
	}
	return first + string(c)
}

// newEnv builds the stack and seeds two departments and one user per role,
// each signed in through the API.
func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatalf("LoadAuditKey: %v", err)
	}
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "db.sqlite"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })

	clk := &clock{}
	authn := auth.New(store)
	authn.Params = auth.Params{Memory: 1024, Time: 1, Threads: 1}
	authn.Now = clk.Now
	logger := slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	series, err := tsdb.Open(ctx, filepath.Join(dir, "series.db"), tsdb.Options{})
	if err != nil {
		t.Fatalf("tsdb.Open: %v", err)
	}
	pipeline := ingest.New(series, store, ingest.Options{})
	runCtx, stopPipeline := context.WithCancel(ctx)
	pipelineDone := make(chan struct{})
	go func() { pipeline.Run(runCtx); close(pipelineDone) }()
	t.Cleanup(func() { stopPipeline(); <-pipelineDone; series.Close() })
	srv := &Server{Store: store, Auth: authn, AuditKey: key.Public(), Logger: logger,
		Metrics: NewMetrics(), Version: "test", MaxBody: 1 << 20, SpoolDir: t.TempDir(), Series: series, Ingest: pipeline}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(srv.Handler(mux, false))
	t.Cleanup(ts.Close)
	// Loads answered with 202 record their outcome before the store closes.
	t.Cleanup(srv.WaitLoads)

	e := &env{t: t, store: store, auth: authn, srv: srv, mux: mux, ts: ts, clock: clk,
		users: map[string]*cityhub.User{}, tokens: map[string]string{}}

	sys := systemCtx()
	e.deptA = &cityhub.Department{Name: "宁波市大数据发展管理局", ShortName: "市大数据局",
		CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	if err := store.CreateDepartment(sys, e.deptA); err != nil {
		t.Fatalf("create department A: %v", err)
	}
	e.deptB = &cityhub.Department{Name: "海曙区大数据发展管理局", ShortName: "海曙大数据局",
		CreditCode: creditCode(t, 1), Division: "330203", Level: cityhub.LevelDistrict, ParentID: &e.deptA.ID}
	if err := store.CreateDepartment(sys, e.deptB); err != nil {
		t.Fatalf("create department B: %v", err)
	}
	for _, su := range seedUsers {
		u := &cityhub.User{Username: su.username, DisplayName: su.username, Roles: []string{su.role}}
		switch su.dept {
		case "A":
			u.DepartmentID = &e.deptA.ID
		case "B":
			u.DepartmentID = &e.deptB.ID
		}
		if err := store.CreateUser(sys, u, authn.Hash(testPassword)); err != nil {
			t.Fatalf("create user %s: %v", su.username, err)
		}
		e.users[su.label] = u
		e.tokens[su.label] = e.login(su.username, testPassword)
	}
	e.draftA = e.newTableEntry(e.deptA, cityhub.StatusDraft)
	e.pubA = e.newTableEntry(e.deptA, cityhub.StatusPublished)
	return e
}

// login signs in through the API and returns the session secret.
func (e *env) login(username, password string) string {
	e.t.Helper()
	res := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
	if res.status != http.StatusOK {
		e.t.Fatalf("login %s: got status %d, want 200: %s", username, res.status, res.body)
	}
	var out struct {
		Token string        `json:"token"`
		User  *cityhub.User `json:"user"`
	}
	res.decode(e.t, &out)
	if !strings.HasPrefix(out.Token, cityhub.TokenPrefix) || out.User == nil || out.User.Username != username {
		e.t.Fatalf("login %s: got token %q user %+v, want a %s… token for %s", username, out.Token, out.User, cityhub.TokenPrefix, username)
	}
	return out.Token
}

// next returns a number unique within the env.
func (e *env) next() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return e.seq
}

// newUser creates a user through the store (not the API) in dept with role.
func (e *env) newUser(role string, dept *cityhub.Department) *cityhub.User {
	e.t.Helper()
	u := &cityhub.User{Username: fmt.Sprintf("user-%d", e.next()), Roles: []string{role}}
	if dept != nil {
		u.DepartmentID = &dept.ID
	}
	if err := e.store.CreateUser(systemCtx(), u, e.auth.Hash(testPassword)); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// newDepartment creates a childless, empty district department through the store.
func (e *env) newDepartment() *cityhub.Department {
	e.t.Helper()
	n := e.next()
	d := &cityhub.Department{Name: fmt.Sprintf("临时部门 %d", n), CreditCode: creditCode(e.t, 1000+n),
		Division: "330212", Level: cityhub.LevelDistrict}
	if err := e.store.CreateDepartment(systemCtx(), d); err != nil {
		e.t.Fatalf("create department: %v", err)
	}
	return d
}

// departmentBody is a valid new department for POST /api/v1/departments.
func (e *env) departmentBody() map[string]any {
	n := e.next()
	return map[string]any{"name": fmt.Sprintf("新部门 %d", n), "credit_code": creditCode(e.t, 5000+n),
		"division_code": "330211", "level": "district"}
}

// newPersonalToken stores a personal token for u directly and returns it with its secret.
func (e *env) newPersonalToken(u *cityhub.User, scopes ...string) (*cityhub.Token, string) {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{cityhub.ScopeWrite}
	}
	secret, hash := cityhub.NewSecret()
	tok := &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenPersonal, Name: fmt.Sprintf("script %d", e.next()),
		Scopes: scopes, Hint: secret[:8], ExpiresAt: time.Now().Add(24 * time.Hour)}
	if err := e.store.CreateToken(systemCtx(), tok, hash); err != nil {
		e.t.Fatalf("create token: %v", err)
	}
	return tok, secret
}

// lastAudit returns the newest audit record matching f, or nil.
func (e *env) lastAudit(f cityhub.AuditFilter) *cityhub.AuditRecord {
	e.t.Helper()
	f.Limit = 1
	recs, err := e.store.AuditRecords(context.Background(), f)
	if err != nil {
		e.t.Fatalf("AuditRecords: %v", err)
	}
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// response is a finished HTTP exchange.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

// do sends a request. body is nil (none), a string or []byte (sent as is),
// or a value marshalled to JSON. hdr holds extra header name/value pairs;
// Content-Type defaults to application/json when there is a body. Every
// response must carry an X-Request-ID.
func (e *env) do(method, path, token string, body any, hdr ...string) *response {
	e.t.Helper()
	return doRequest(e.t, e.ts, method, path, token, body, hdr...)
}

func doRequest(t testing.TB, ts *httptest.Server, method, path, token string, body any, hdr ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case []byte:
			rd = bytes.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatalf("marshal request body: %v", err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatalf("NewRequest %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if res.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: got no X-Request-ID header, want one on every response", method, path)
	}
	return &response{method: method, path: path, status: res.StatusCode, header: res.Header, body: data}
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.method, r.path, r.status, bytes.TrimSpace(r.body))
}

// isJSON reports whether the response says it is JSON.
func (r *response) isJSON() bool {
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	return mt == "application/json"
}

// decode unmarshals a JSON response body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if !r.isJSON() {
		t.Fatalf("%v: got Content-Type %q, want application/json", r, r.header.Get("Content-Type"))
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: body is not valid JSON: %v", r, err)
	}
}

// apiError is the one error shape.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// checkErrorShape reports why the body is not {"error":{"code","message"[,"fields"]}}.
func checkErrorShape(r *response) (apiError, error) {
	if !r.isJSON() {
		return apiError{}, fmt.Errorf("got Content-Type %q, want application/json", r.header.Get("Content-Type"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		return apiError{}, fmt.Errorf("body is not a JSON object: %v", err)
	}
	if len(raw) != 1 || raw["error"] == nil {
		return apiError{}, fmt.Errorf("got top-level keys %v, want only \"error\"", keys(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw["error"]))
	dec.DisallowUnknownFields()
	var e apiError
	if err := dec.Decode(&e); err != nil {
		return apiError{}, fmt.Errorf("error object does not have the shape {code, message, fields}: %v", err)
	}
	if e.Code == "" || e.Message == "" {
		return e, fmt.Errorf("got code %q message %q, want both set", e.Code, e.Message)
	}
	if _, ok := statusOf[e.Code]; !ok {
		return e, fmt.Errorf("got code %q, want one of the domain codes", e.Code)
	}
	if want := statusOf[e.Code]; want != r.status {
		return e, fmt.Errorf("got status %d with code %q, want status %d for that code", r.status, e.Code, want)
	}
	return e, nil
}

// apiErr asserts the error shape and returns the error.
func (r *response) apiErr(t testing.TB) apiError {
	t.Helper()
	e, err := checkErrorShape(r)
	if err != nil {
		t.Fatalf("%v: %v", r, err)
	}
	return e
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// testEntry is a valid catalog entry of provider: a spreadsheet under 209
// 城乡建设, shared and opened unconditionally in the urban domain.
func testEntry(name string, provider int64) *cityhub.CatalogEntry {
	return &cityhub.CatalogEntry{ClassificationCode: "209", Name: name, ProviderID: provider, Abstract: name + "：编号与进度",
		Format: cityhub.FormatSheet, UpdateCycle: cityhub.CycleDaily, ShareType: cityhub.Unconditional, ShareMethod: "接口调用",
		OpenType: cityhub.Unconditional, Domain: "urban",
		Items: []cityhub.DataItem{{Name: "编号", Type: "C", Sensitivity: cityhub.SensPublic}}}
}

// entryBody is a valid body for POST and PUT /api/v1/catalog/entries, with
// a unique name.
func (e *env) entryBody(provider int64) map[string]any {
	return map[string]any{"classification_code": "209", "name": fmt.Sprintf("城市建设项目台账 %d", e.next()),
		"provider_id": provider, "abstract": "城市建设项目的编号与进度", "format": cityhub.FormatSheet,
		"update_cycle": cityhub.CycleDaily, "share_type": cityhub.Unconditional, "share_method": "接口调用",
		"open_type": cityhub.Unconditional, "domain": "urban",
		"items": []map[string]any{{"name": "编号", "type": "C", "sensitivity": cityhub.SensPublic}}}
}

// lifecycleTo lists the actions that take a new draft to a status.
var lifecycleTo = map[string][]cityhub.Transition{
	cityhub.StatusDraft:     nil,
	cityhub.StatusSubmitted: {cityhub.ActSubmit},
	cityhub.StatusApproved:  {cityhub.ActSubmit, cityhub.ActApprove},
	cityhub.StatusRejected:  {cityhub.ActSubmit, cityhub.ActReject},
	cityhub.StatusPublished: {cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish},
	cityhub.StatusWithdrawn: {cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish, cityhub.ActWithdraw},
}

// saveEntry creates en through the store and moves it along its lifecycle
// to status; it returns the entry as stored.
func (e *env) saveEntry(en *cityhub.CatalogEntry, status string) *cityhub.CatalogEntry {
	e.t.Helper()
	steps, ok := lifecycleTo[status]
	if !ok {
		e.t.Fatalf("saveEntry: no way to status %q", status)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "seed"})
	if err := e.store.CreateEntry(ctx, en); err != nil {
		e.t.Fatalf("create entry %q: %v", en.Name, err)
	}
	for _, a := range steps {
		reason := ""
		if a == cityhub.ActReject || a == cityhub.ActWithdraw {
			reason = "测试：" + string(a)
		}
		if _, err := e.store.TransitionEntry(ctx, en.ID, a, reason); err != nil {
			e.t.Fatalf("%s entry %d: %v", a, en.ID, err)
		}
	}
	got, err := e.store.Entry(ctx, en.ID)
	if err != nil || got.Status != status {
		e.t.Fatalf("entry %d: got %+v, %v, want status %s", en.ID, got, err, status)
	}
	return got
}

// newEntry creates a valid entry of dept in status through the store.
func (e *env) newEntry(dept *cityhub.Department, status string) *cityhub.CatalogEntry {
	e.t.Helper()
	return e.saveEntry(testEntry(fmt.Sprintf("城市建设项目台账 %d", e.next()), dept.ID), status)
}

func entryPath(id int64, suffix string) string {
	return fmt.Sprintf("/api/v1/catalog/entries/%d%s", id, suffix)
}

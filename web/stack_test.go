package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/httpapi"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/web"
)

// testPassword satisfies the password policy.
const testPassword = "Correct-horse-42"

// stack is the whole platform as cmd/cityhub wires it, on a real loopback
// listener and a SQLite store in a temp dir.
type stack struct {
	t        *testing.T
	store    *sqlstore.Store
	auth     *auth.Service
	srv      *httptest.Server
	logs     *syncBuffer
	console  *web.Console
	city     *cityhub.Department
	district *cityhub.Department
	// skew shifts the store's clock, to make records that look old.
	skew *atomic.Int64
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newStack builds the platform; opts adjust the console before it serves.
func newStack(t *testing.T, opts ...func(*web.Console)) *stack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	skew := &atomic.Int64{}
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "db.sqlite"), sqlstore.Options{AuditKey: key,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a := auth.New(store)
	a.Params = auth.Params{Memory: 1024, Time: 1, Threads: 1}

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	api := &httpapi.Server{Store: store, Auth: a, AuditKey: key.Public(), Logger: logger,
		Metrics: httpapi.NewMetrics(), Version: "test", MaxBody: 1 << 20}
	console := &web.Console{Store: store, Auth: a, AuditKey: key.Public(), Logger: logger, Version: "test",
		SpoolDir: filepath.Join(dir, "spool")}
	for _, o := range opts {
		o(console)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	console.Register(mux)
	srv := httptest.NewServer(api.Handler(mux, false))

	s := &stack{t: t, store: store, auth: a, srv: srv, logs: logs, skew: skew, console: console}
	t.Cleanup(func() {
		srv.Close()
		console.WaitLoads() // loads record their outcome before the store closes
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	s.city = s.department("宁波市大数据发展管理局", "大数据局", creditCode(t, 1), "330200", cityhub.LevelCity, nil)
	s.district = s.department("海曙区大数据中心", "海曙数据", creditCode(t, 2), "330203", cityhub.LevelDistrict, &s.city.ID)
	return s
}

// creditCode returns a valid unified social credit code numbered n.
func creditCode(t testing.TB, n int) string {
	t.Helper()
	first := fmt.Sprintf("11330200MB%07d", n)
	check, err := cityhub.CreditCodeCheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(check)
}

func (s *stack) department(name, short, code, division, level string, parent *int64) *cityhub.Department {
	s.t.Helper()
	d := &cityhub.Department{Name: name, ShortName: short, CreditCode: code, Division: division, Level: level, ParentID: parent}
	if err := s.store.CreateDepartment(context.Background(), d); err != nil {
		s.t.Fatal(err)
	}
	return d
}

func (s *stack) user(username string, dept *cityhub.Department, roles ...string) *cityhub.User {
	s.t.Helper()
	u := &cityhub.User{Username: username, DisplayName: strings.ToUpper(username[:1]) + username[1:], Roles: roles}
	if dept != nil {
		u.DepartmentID = &dept.ID
	}
	if err := s.store.CreateUser(context.Background(), u, s.auth.Hash(testPassword)); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// noErrorLogs fails the test if the server logged an error.
func (s *stack) noErrorLogs() {
	s.t.Helper()
	if strings.Contains(s.logs.String(), "level=ERROR") {
		s.t.Errorf("server logged errors:\n%s", s.logs.String())
	}
}

// client is a browser stand-in: a cookie jar and no redirect following.
type client struct {
	t    *testing.T
	s    *stack
	http *http.Client
}

func (s *stack) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &client{t: s.t, s: s, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.s.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var hiddenField = regexp.MustCompile(`name="(csrf|login_csrf)" value="([^"]*)"`)

func hidden(body, name string) string {
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// login goes through the login form as a browser would.
func (c *client) login(username, password string) *response {
	c.t.Helper()
	form := c.get("/login")
	if form.status != http.StatusOK {
		c.t.Fatalf("GET /login: status %d", form.status)
	}
	return c.post("/login", url.Values{"username": {username}, "password": {password},
		"login_csrf": {hidden(form.body, "login_csrf")}, "next": {"/"}})
}

// signIn logs in and fails the test unless it worked.
func (c *client) signIn(username string) {
	c.t.Helper()
	if r := c.login(username, testPassword); r.status != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d, want 303\n%s", username, r.status, r.body)
	}
}

// csrf reads the session's CSRF value from a page's forms.
func (c *client) csrf() string {
	c.t.Helper()
	r := c.get("/")
	v := hidden(r.body, "csrf")
	if v == "" {
		c.t.Fatalf("no csrf field on the home page (status %d)", r.status)
	}
	return v
}

func wantStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d\n%s", r.status, want, r.body)
	}
}

func wantBody(t *testing.T, r *response, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(r.body, sub) {
			t.Errorf("page lacks %q\n%s", sub, r.body)
		}
	}
}

func wantNotBody(t *testing.T, r *response, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(r.body, sub) {
			t.Errorf("page holds %q but should not", sub)
		}
	}
}

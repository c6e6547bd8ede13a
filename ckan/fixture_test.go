package ckan_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/ckan"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tabular"
)

// usage records what the API counts.
type usage struct {
	mu     sync.Mutex
	counts map[string]int
}

func (u *usage) Record(entryID int64, kind string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.counts == nil {
		u.counts = map[string]int{}
	}
	u.counts[fmt.Sprintf("%d/%s", entryID, kind)]++
}

func (u *usage) count(entryID int64, kind string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[fmt.Sprintf("%d/%s", entryID, kind)]
}

// searchSpy passes searches on and remembers the last query.
type searchSpy struct {
	next cityhub.CatalogSearcher
	mu   sync.Mutex
	last []cityhub.CatalogQuery
}

func (s *searchSpy) SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	s.mu.Lock()
	s.last = append(s.last, q)
	s.mu.Unlock()
	return s.next.SearchCatalog(ctx, q)
}

func (s *searchSpy) reset() {
	s.mu.Lock()
	s.last = nil
	s.mu.Unlock()
}

func (s *searchSpy) queries() []cityhub.CatalogQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]cityhub.CatalogQuery(nil), s.last...)
}

// fixture is the demo city plus entries made for the contract: one open
// unconditionally with sensitive and secret items and 250 rows, one open
// on conditions with rows, a draft with rows, a published 不予开放 entry
// with rows, and an open entry without a table.
type fixture struct {
	store   *sqlstore.Store
	ctx     context.Context
	srv     *httptest.Server
	api     *ckan.Server
	spy     *searchSpy
	usage   *usage
	open    *cityhub.CatalogEntry
	cond    *cityhub.CatalogEntry
	draft   *cityhub.CatalogEntry
	closed  *cityhub.CatalogEntry
	file    *cityhub.CatalogEntry
	empty   *cityhub.CatalogEntry // keeps rows, none loaded yet
	dept    *cityhub.Department
	granted sync.Map // entry id → true: CanRead says yes
}

var (
	sharedOnce sync.Once
	shared     *fixture
	sharedErr  error
)

// newFixture builds the demo city and the contract's entries once for the
// package's tests (they only read).
func newFixture(t testing.TB) *fixture {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = buildFixture() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func buildFixture() (*fixture, error) {
	dir, err := mkdirTemp()
	if err != nil {
		return nil, err
	}
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		return nil, err
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		return nil, err
	}
	if _, err := demo.Load(ctx, store, func(string) string { return "x" }); err != nil {
		return nil, err
	}
	f := &fixture{store: store, ctx: ctx, usage: &usage{}}
	depts, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		if d.ShortName == "市交通委" {
			f.dept = d
		}
	}
	if f.dept == nil {
		return nil, fmt.Errorf("no 市交通委 in the demo")
	}
	if f.open, err = f.entry("停车收费记录", cityhub.FormatDatabase, cityhub.Unconditional, cityhub.StatusPublished,
		[]string{"停车", "收费"}, 250); err != nil {
		return nil, err
	}
	if f.cond, err = f.entry("停车违法处理记录", cityhub.FormatSheet, cityhub.Conditional, cityhub.StatusPublished,
		[]string{"停车", "违法"}, 30); err != nil {
		return nil, err
	}
	if f.draft, err = f.entry("草稿停车数据", cityhub.FormatDatabase, cityhub.Unconditional, cityhub.StatusDraft,
		[]string{"草稿专用标签"}, 10); err != nil {
		return nil, err
	}
	if f.closed, err = f.entry("不予开放停车数据", cityhub.FormatDatabase, cityhub.NotShared, cityhub.StatusPublished,
		[]string{"不开放专用标签"}, 10); err != nil {
		return nil, err
	}
	if f.file, err = f.entry("停车场规划文件", cityhub.FormatFile, cityhub.Unconditional, cityhub.StatusPublished,
		[]string{"停车"}, 0); err != nil {
		return nil, err
	}
	if f.empty, err = f.entry("停车泊位预约记录", cityhub.FormatSheet, cityhub.Unconditional, cityhub.StatusPublished,
		[]string{"停车"}, 0); err != nil {
		return nil, err
	}
	idx := catalogindex.New(store)
	idx.Start(ctx)
	<-idx.Ready()
	if err := idx.Err(); err != nil {
		return nil, err
	}
	f.spy = &searchSpy{next: idx}
	f.api = &ckan.Server{Store: store, Search: f.spy, Usage: f.usage,
		CanRead: func(r *http.Request, id int64) bool {
			_, ok := f.granted.Load(id)
			return ok && r.Header.Get("X-API-Key") == "approved"
		}}
	mux := http.NewServeMux()
	f.api.Register(mux)
	f.srv = httptest.NewServer(mux)
	return f, nil
}

// entry creates an entry of the parking domain with items of every
// sensitivity, takes it to status and loads rows into it.
func (f *fixture) entry(name, format, open, status string, tags []string, rows int) (*cityhub.CatalogEntry, error) {
	e := &cityhub.CatalogEntry{ClassificationCode: "211", Name: name, ProviderID: f.dept.ID,
		Abstract: name + "：全市公共停车场的收费与违法记录。", Format: format, UpdateCycle: cityhub.CycleDaily,
		ShareType: cityhub.Unconditional, ShareMethod: "接口调用", OpenType: open, Domain: "traffic", Tags: tags,
		Items: []cityhub.DataItem{
			{Name: "记录编号", Code: "record_no", Type: "C", Length: 20, Sensitivity: cityhub.SensPublic, PrimaryKey: true},
			{Name: "停车场名称", Code: "lot", Type: "C", Length: 100, Sensitivity: cityhub.SensPublic},
			{Name: "收费金额", Code: "amount", Type: "N", Length: 10, Sensitivity: cityhub.SensPublic},
			{Name: "停车日期", Code: "day", Type: "D", Sensitivity: cityhub.SensInternal},
			{Name: "已缴费", Code: "paid", Type: "L", Sensitivity: cityhub.SensPublic},
			{Name: "备注", Type: "M", Sensitivity: cityhub.SensPublic, Description: "收费员填写"},
			{Name: "车主手机", Code: "mobile", Type: "C", Length: 11, Sensitivity: cityhub.SensSensitive},
			{Name: "车主身份证号码", Code: "citizen_id", Type: "C", Length: 18, Sensitivity: cityhub.SensSecret},
		}}
	if open != cityhub.Unconditional {
		e.OpenBasis = "《公共数据开放管理办法》第十条"
	}
	if open == cityhub.Conditional {
		e.OpenCondition = "注册用户说明用途，经提供部门同意后开放。"
	}
	if open == cityhub.NotShared {
		e.Domain = ""
	}
	if err := f.store.CreateEntry(f.ctx, e); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if rows > 0 {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"记录编号", "停车场名称", "收费金额", "停车日期", "已缴费", "备注", "车主手机", "车主身份证号码"})
		for i := 1; i <= rows; i++ {
			w.Write(row(i))
		}
		w.Flush()
		job, err := loader.Load(f.ctx, f.store, e, &buf, int64(buf.Len()), loader.Options{Mode: cityhub.LoadReplace,
			Source: "test.csv", Read: tabular.Options{Format: tabular.CSV}})
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		if job.Status != cityhub.JobSucceeded || job.Rejected > 0 {
			problems, _ := f.store.RejectedRows(f.ctx, job.ID)
			return nil, fmt.Errorf("load %s: %s, %d rejected: %v %s", name, job.Status, job.Rejected, problems, job.Error)
		}
	}
	if status == cityhub.StatusPublished {
		for _, step := range []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish} {
			if _, err := f.store.TransitionEntry(f.ctx, e.ID, step, ""); err != nil {
				return nil, fmt.Errorf("%s %s: %w", step, name, err)
			}
		}
	}
	return f.store.Entry(f.ctx, e.ID)
}

// Secrets of the rows: they must never come out.
func mobileOf(i int) string { return fmt.Sprintf("139%08d", 55500000+i) }

func citizenIDOf(i int) string {
	first := fmt.Sprintf("330203199001%02d%03d", 1+i%28, i%1000)
	c, _ := cityhub.CitizenIDCheckChar(first)
	return first + string(c)
}

func row(i int) []string {
	lot := []string{"天一广场停车场", "鼓楼地下停车场", "东部新城停车场"}[i%3]
	return []string{fmt.Sprintf("R%05d", i), lot, fmt.Sprintf("%d.5", i%40), fmt.Sprintf("2026-01-%02d", 1+i%28),
		[]string{"true", "false"}[i%2], fmt.Sprintf("备注%d", i), mobileOf(i), citizenIDOf(i)}
}

// call is one API answer.
type answer struct {
	status int
	header http.Header
	body   []byte
	env    map[string]any
}

func (a *answer) result() any               { return a.env["result"] }
func (a *answer) resultMap() map[string]any { m, _ := a.env["result"].(map[string]any); return m }
func (a *answer) errorMap() map[string]any  { m, _ := a.env["error"].(map[string]any); return m }

// get calls an action by GET with query parameters.
func (f *fixture) get(t testing.TB, action string, q url.Values) *answer {
	t.Helper()
	u := f.srv.URL + "/api/3/action/" + action
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return f.do(t, http.MethodGet, u, "", nil, nil)
}

// post calls an action by POST with a JSON body.
func (f *fixture) post(t testing.TB, action string, body any) *answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, http.MethodPost, f.srv.URL+"/api/3/action/"+action, "application/json", bytes.NewReader(b), nil)
}

func (f *fixture) do(t testing.TB, method, u, ct string, body io.Reader, header http.Header) *answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: invalid JSON: %v\n%s", method, u, err, b)
		}
		a.env, _ = v.(map[string]any)
	}
	return a
}

// ok checks a successful envelope.
func (a *answer) ok(t testing.TB) *answer {
	t.Helper()
	if a.status != http.StatusOK || a.env["success"] != true {
		t.Fatalf("status %d, want 200 success: %s", a.status, a.body)
	}
	return a
}

// failed checks an error envelope: status, __type and, for errors with a
// message, its start.
func (a *answer) failed(t testing.TB, status int, typ, messagePrefix string) map[string]any {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if a.env["success"] != false {
		t.Fatalf("success = %v, want false: %s", a.env["success"], a.body)
	}
	if _, ok := a.env["help"].(string); !ok {
		t.Fatalf("no help in the error envelope: %s", a.body)
	}
	e := a.errorMap()
	if e["__type"] != typ {
		t.Fatalf("__type = %v, want %q: %s", e["__type"], typ, a.body)
	}
	if messagePrefix != "" {
		if msg, _ := e["message"].(string); !strings.HasPrefix(msg, messagePrefix) {
			t.Fatalf("message = %q, want it to start with %q", msg, messagePrefix)
		}
	}
	return e
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var tempDir string

func mkdirTemp() (string, error) {
	d, err := os.MkdirTemp("", "cityhub-ckan-*")
	tempDir = d
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.srv.Close()
		shared.store.Close()
	}
	if tempDir != "" {
		os.RemoveAll(tempDir)
	}
	os.Exit(code)
}

func newRecorder(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

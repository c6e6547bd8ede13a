package portal_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/portal"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tabular"
)

// city is the demo city on a real SQLite store, loaded once for every test
// of the package (they only read it, but for TestHistoryFollowsUpdates'
// own entry), with one more open dataset whose items include sensitive
// and secret ones.
type city struct {
	store *sqlstore.Store
	ctx   context.Context

	rows        *cityhub.CatalogEntry // open, published, with 2,000 rows (宁波市企业登记基本信息)
	lamps       *cityhub.CatalogEntry // open, published, with rows and numbers (宁波市智慧路灯设施信息)
	mixed       *cityhub.CatalogEntry // open, published, rows with sensitive and secret items
	conditional *cityhub.CatalogEntry // 有条件开放, published
	closed      *cityhub.CatalogEntry // 不予开放, published
	draft       *cityhub.CatalogEntry // open, but a draft
	submitted   *cityhub.CatalogEntry // open, waiting for review
}

// Markers of the mixed dataset's values that must never be served.
const (
	secretMarker    = "SECRET-VALUE-"
	sensitiveMarker = "SENSITIVE-VALUE-"
	secretItem      = "内部核查编号"
	sensitiveItem   = "联系人备注"
	mixedRows       = 137
)

var (
	fixture     *city
	fixtureErr  error
	fixtureOnce sync.Once
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.store.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// demoCity returns the shared demo city, loading it on first use.
func demoCity(t testing.TB) *city {
	t.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = loadCity() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func loadCity() (*city, error) {
	dir, err := os.MkdirTemp("", "portal-test-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "db.sqlite"), sqlstore.Options{AuditKey: key})
	if err != nil {
		return nil, err
	}
	c := &city{store: store, ctx: ctx}
	if _, err := demo.Load(ctx, store, func(string) string { return "not-a-real-hash" }); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	all, err := cityhub.AllEntries(ctx, store, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}}, nil)
	if err != nil {
		return nil, err
	}
	var indicators *cityhub.CatalogEntry
	for _, e := range all {
		switch {
		case e.Name == "宁波市企业登记基本信息":
			c.rows = e
		case e.Name == "宁波市智慧路灯设施信息":
			c.lamps = e
		case e.Name == "宁波市国民经济主要指标":
			indicators = e
		case c.conditional == nil && e.Status == cityhub.StatusPublished && e.OpenType == cityhub.Conditional:
			c.conditional = e
		case c.closed == nil && e.Status == cityhub.StatusPublished && e.OpenType == cityhub.NotShared:
			c.closed = e
		case c.draft == nil && e.Status == cityhub.StatusDraft && e.OpenType == cityhub.Unconditional:
			c.draft = e
		case c.submitted == nil && e.Status == cityhub.StatusSubmitted && e.OpenType == cityhub.Unconditional:
			c.submitted = e
		}
	}
	for name, e := range map[string]*cityhub.CatalogEntry{"rows": c.rows, "lamps": c.lamps, "indicators": indicators, "conditional": c.conditional,
		"closed": c.closed, "draft": c.draft, "submitted": c.submitted} {
		if e == nil {
			return nil, fmt.Errorf("the demo city has no %s entry", name)
		}
	}
	// The demo city keeps its three tables with rows in review (a draft,
	// an approved and a submitted entry): publish them.
	for _, e := range []**cityhub.CatalogEntry{&c.rows, &c.lamps, &indicators} {
		if *e, err = publish(ctx, store, *e); err != nil {
			return nil, err
		}
	}
	if c.mixed, err = addMarkets(ctx, store, c.rows.ProviderID, "宁波市农贸市场名录"); err != nil {
		return nil, fmt.Errorf("mixed entry: %w", err)
	}
	return c, nil
}

// addMarkets publishes an open dataset whose items include a sensitive and
// a secret one, and loads rows into it whose values carry markers.
func addMarkets(ctx context.Context, store *sqlstore.Store, provider int64, name string) (*cityhub.CatalogEntry, error) {
	e := &cityhub.CatalogEntry{ClassificationCode: "204", Name: name, ProviderID: provider,
		Abstract: "全市农贸市场的名称、地址、摊位数和开业日期。", Format: cityhub.FormatSheet,
		UpdateCycle: cityhub.CycleMonthly, ShareType: cityhub.Unconditional, ShareMethod: "文件下载",
		OpenType: cityhub.Unconditional, Domain: "market", Tags: []string{"农贸市场", "菜场"},
		Items: []cityhub.DataItem{
			{Name: "市场编号", Code: "market_no", Type: "C", Length: 20, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "市场名称", Code: "name", Type: "C", Length: 100, Sensitivity: cityhub.SensPublic},
			{Name: secretItem, Code: "audit_no", Type: "C", Length: 40, Sensitivity: cityhub.SensSecret},
			{Name: "摊位数", Code: "stalls", Type: "N", Length: 6, Sensitivity: cityhub.SensInternal},
			{Name: sensitiveItem, Code: "contact_note", Type: "C", Length: 40, Sensitivity: cityhub.SensSensitive,
				Description: "负责人联系方式"},
			{Name: "开业日期", Code: "opened", Type: "D", Sensitivity: cityhub.SensPublic},
		}}
	if err := store.CreateEntry(ctx, e); err != nil {
		return nil, err
	}
	e, err := publish(ctx, store, e)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("市场编号,市场名称," + secretItem + ",摊位数," + sensitiveItem + ",开业日期\n")
	for i := 1; i <= mixedRows; i++ {
		fmt.Fprintf(&b, "SC%04d,第%d农贸市场,%s%04d,%d,%s%04d,20%02d-%02d-%02d\n", i, i, secretMarker, i, 40+i%60,
			sensitiveMarker, i, 10+i%15, 1+i%12, 1+i%28)
	}
	job, err := loader.Load(ctx, store, e, strings.NewReader(b.String()), int64(b.Len()),
		loader.Options{Mode: cityhub.LoadReplace, Source: "markets.csv", Read: tabular.Options{Format: tabular.CSV}})
	if err != nil {
		return nil, err
	}
	if job.Status != cityhub.JobSucceeded || job.Stored != mixedRows {
		return nil, fmt.Errorf("load: %s, %d stored, %d rejected", job.Status, job.Stored, job.Rejected)
	}
	return store.Entry(ctx, e.ID)
}

// publish takes an entry through review to published, from where it is.
func publish(ctx context.Context, store *sqlstore.Store, e *cityhub.CatalogEntry) (*cityhub.CatalogEntry, error) {
	steps := map[string][]cityhub.Transition{
		cityhub.StatusDraft:     {cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish},
		cityhub.StatusRejected:  {cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish},
		cityhub.StatusSubmitted: {cityhub.ActApprove, cityhub.ActPublish},
		cityhub.StatusApproved:  {cityhub.ActPublish},
	}[e.Status]
	for _, step := range steps {
		var err error
		if e, err = store.TransitionEntry(ctx, e.ID, step, ""); err != nil {
			return nil, fmt.Errorf("%s %s: %w", step, e.Name, err)
		}
	}
	return e, nil
}

// usage is a hand-written recorder and reader of open-data use.
type usage struct {
	mu     sync.Mutex
	counts map[int64]map[string]int
	most   []cityhub.UsageCount
	since  time.Time
}

func (u *usage) Record(id int64, kind string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.counts == nil {
		u.counts = map[int64]map[string]int{}
	}
	if u.counts[id] == nil {
		u.counts[id] = map[string]int{}
	}
	u.counts[id][kind]++
}

func (u *usage) count(id int64, kind string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[id][kind]
}

func (u *usage) MostUsed(ctx context.Context, since time.Time, limit int) ([]cityhub.UsageCount, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.since = since
	return u.most[:min(limit, len(u.most))], nil
}

func (u *usage) DailyUsage(ctx context.Context, entryID int64, from, to time.Time) ([]cityhub.UsageDay, error) {
	return nil, nil
}

// server is the portal alone on a mux, as cmd/cityhub registers it.
type server struct {
	t      *testing.T
	c      *city
	portal *portal.Portal
	mux    *http.ServeMux
	logs   *strings.Builder
	logMu  *sync.Mutex
}

func newServer(t *testing.T, opts ...func(*portal.Portal)) *server {
	t.Helper()
	c := demoCity(t)
	logs, mu := &strings.Builder{}, &sync.Mutex{}
	p := &portal.Portal{Store: c.store, Version: "test", Location: time.FixedZone("CST", 8*3600),
		Logger: slog.New(slog.NewTextHandler(lockedWriter{mu, logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, o := range opts {
		o(p)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	s := &server{t: t, c: c, portal: p, mux: mux, logs: logs, logMu: mu}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if logs.Len() > 0 {
			t.Errorf("the portal logged:\n%s", logs.String())
		}
	})
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type response struct {
	status int
	header http.Header
	body   string
}

// get requests path, with a cookie header when given.
func (s *server) get(path string, cookies ...*http.Cookie) response {
	s.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://portal.test"+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// ok requests path and wants 200.
func (s *server) ok(path string) response {
	s.t.Helper()
	res := s.get(path)
	if res.status != http.StatusOK {
		s.t.Fatalf("GET %s: status %d, want 200\n%s", path, res.status, excerptOf(res.body))
	}
	return res
}

func excerptOf(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

func datasetPath(e *cityhub.CatalogEntry) string { return "/open/dataset/" + e.PackageName() }

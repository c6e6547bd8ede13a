package portal_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/portal"
)

// chromiumPath is Debian's chromium; the test drives it headless.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserPortal walks the portal in a real browser as a citizen
// would: searches from the home page, opens a dataset, pages its preview,
// watches the chart draw, downloads the CSV and checks the file, switches
// to English, and then, at a phone's viewport, checks that no page is
// wider than the screen. It fails on any JavaScript exception, console
// error or failed load. Set CITYHUB_SCREENSHOT_DIR to keep screenshots.
func TestBrowserPortal(t *testing.T) {
	requireBrowser(t)
	c := demoCity(t)
	u := &usage{}
	p := &portal.Portal{Store: c.store, Usage: u, UsageStats: u, Version: "test", Location: time.FixedZone("CST", 8*3600),
		Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	p.Register(mux)
	// The console serves ECharts and its other assets under /static/.
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.Dir(filepath.Join("..", "web", "static")))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL
	e := c.rows
	info, err := c.store.Table(c.ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, 90*time.Second)
	start := time.Now()
	b.step("home", chromedp.Navigate(base+"/open/"), chromedp.WaitVisible(chromedp.ID("home-search")))
	b.wantText("home", "#home-stats", "开放数据集")
	b.snap("home")
	b.step("search",
		chromedp.SendKeys(chromedp.ID("q"), "企业登记"),
		chromedp.Click(chromedp.ID("home-search-submit")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	b.wantText("search", "#active-filters", "企业登记")
	b.wantText("search", "#results", e.Name)
	b.snap("search")
	b.step("facet",
		chromedp.Click(chromedp.CSS(`#facet-format a[data-value="database"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#facet-format a.active`)),
	)
	b.wantText("facet", "#active-filters", "数据库")

	link := fmt.Sprintf(`#results a[href="/open/dataset/%s"]`, e.PackageName())
	b.step("open the dataset", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("preview-table")))
	b.stepWithin(15*time.Second, "chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
	b.wantText("dataset", "#dataset-name", e.Name)
	b.wantText("dataset", "#preview-status", "共 "+commas(info.Rows)+" 行 · 第 1–20 行")
	b.wantText("dataset", "#api-url", "resource_id="+cityhub.ResourceID(e.ID))
	if n := b.eval(`Number(document.getElementById("chart").getAttribute("data-points"))`); n <= 0 {
		t.Errorf("the chart drew %v points", n)
	}
	b.wantText("chart", "#chart-status", "个数据点")
	b.snap("dataset")

	b.step("next page",
		chromedp.Click(chromedp.ID("preview-pager-next")),
		chromedp.WaitVisible(chromedp.ID("preview-pager-prev")),
		chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")),
	)
	b.wantText("next page", "#preview-status", "第 21–40 行")
	b.wantText("next page", "#api-url", "offset=20")
	b.step("previous page",
		chromedp.Click(chromedp.ID("preview-pager-prev")),
		chromedp.WaitVisible(chromedp.CSS(`#preview-pager span.disabled`)),
		chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")),
	)
	b.wantText("previous page", "#preview-status", "第 1–20 行")

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.step("download CSV", chromedp.Click(chromedp.ID("download-csv")))
	var saved []byte
	var savedName string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && saved == nil; time.Sleep(100 * time.Millisecond) {
		names, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
		for _, name := range names {
			if data, err := os.ReadFile(name); err == nil && len(data) > 0 {
				saved, savedName = data, filepath.Base(name)
			}
		}
	}
	if saved == nil {
		t.Fatal("the CSV was not downloaded")
	}
	if !strings.Contains(savedName, e.PackageName()) {
		t.Errorf("downloaded as %q", savedName)
	}
	if strings.HasPrefix(string(saved), "\uFEFF") {
		t.Error("the plain CSV starts with a BOM")
	}
	recs, err := csv.NewReader(strings.NewReader(string(saved))).ReadAll()
	if err != nil {
		t.Fatalf("downloaded CSV: %v", err)
	}
	var public []string
	for _, it := range e.PublicItems() {
		public = append(public, it.Name)
	}
	if !slices.Equal(recs[0], public) || int64(len(recs)-1) != info.Rows {
		t.Errorf("downloaded CSV: header %v and %d rows, want %v and %d", recs[0], len(recs)-1, public, info.Rows)
	}
	if u.count(e.ID, cityhub.UseDownload) != 1 {
		t.Errorf("downloads recorded %d", u.count(e.ID, cityhub.UseDownload))
	}

	b.step("english",
		chromedp.Click(chromedp.ID("lang-switch")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #preview-table`)),
	)
	b.stepWithin(15*time.Second, "english chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
	b.wantText("english", "#preview-status", "rows 1–20")
	b.wantText("english", "#downloads", "CSV (Excel)")
	b.snap("dataset-en")
	b.step("conditional", chromedp.Navigate(base+datasetPath(c.conditional)+"?lang=zh"), chromedp.WaitVisible(chromedp.ID("apply-link")))
	b.snap("conditional")
	// A citizen registers on the way to applying, applies, signs out and
	// signs in again to see the application.
	b.step("apply: sign in first", chromedp.Click(chromedp.ID("apply-link")), chromedp.WaitVisible(chromedp.ID("login-form")))
	b.step("apply: register",
		chromedp.Click(chromedp.ID("register-link")),
		chromedp.WaitVisible(chromedp.ID("register-form")),
		chromedp.SendKeys(chromedp.ID("username"), "browser-citizen"),
		chromedp.SendKeys(chromedp.ID("email"), "browser@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "open-data-2024"),
		chromedp.SendKeys(chromedp.ID("password2"), "open-data-2024"),
		chromedp.Click(chromedp.ID("register-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-form")),
	)
	b.step("apply",
		chromedp.SendKeys(chromedp.ID("purpose"), "交通出行研究"),
		chromedp.Click(chromedp.ID("apply-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-status")),
	)
	b.wantText("apply", "#apply-status", "待审核")
	b.snap("applied")
	b.step("sign out",
		chromedp.Navigate(base+"/open/account"),
		chromedp.WaitVisible(chromedp.ID("apps-table")),
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("nav-login")),
	)
	b.step("sign in",
		chromedp.Navigate(base+datasetPath(c.conditional)+"/apply"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("username"), "browser-citizen"),
		chromedp.SendKeys(chromedp.ID("password"), "open-data-2024"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-status")),
	)
	b.wantText("sign in", "#apply-status", "待审核")
	b.step("providers", chromedp.Navigate(base+"/open/orgs"), chromedp.WaitVisible(chromedp.ID("orgs")))
	b.snap("orgs")

	// A phone: every page fits the screen's width; wide tables scroll in
	// their frames.
	b.step("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, pg := range []struct{ name, path, wait string }{
		{"home-phone", "/open/", "home-search"},
		{"search-phone", "/open/datasets?q=" + url.QueryEscape("许可"), "results"},
		{"dataset-phone", datasetPath(e), "preview-table"},
		{"dataset-mixed-phone", datasetPath(c.mixed) + "?lang=en", "preview-table"},
		{"conditional-phone", datasetPath(c.conditional) + "?lang=zh", "apply-link"},
		{"orgs-phone", "/open/orgs", "orgs"},
		{"org-phone", "/open/org/" + fmt.Sprint(e.ProviderID), "results"},
		{"notfound-phone", "/open/dataset/999-999999", "error"},
	} {
		if pg.name == "notfound-phone" {
			b.expectRefused(base + pg.path)
		}
		b.step(pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.ID(pg.wait)))
		if pg.wait == "preview-table" {
			b.stepWithin(15*time.Second, pg.name+" chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
		}
		over := b.eval(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`)
		if over > 0 {
			wide := b.evalString(`Array.from(document.querySelectorAll("body *")).filter(function (el) {
				var r = el.getBoundingClientRect(); return r.right > window.innerWidth + 1 && !el.closest(".table-wrap, pre, .chart");
			}).slice(0, 5).map(function (el) { return el.tagName + "#" + el.id + "." + el.className; }).join(", ")`)
			t.Errorf("%s: the page is %vpx wider than the phone's screen (%s)", pg.name, over, wide)
		}
		b.snap(pg.name)
	}
	t.Logf("portal walk took %s", time.Since(start).Round(time.Millisecond))
}

// requireBrowser skips the test without Debian's chromium, except in CI.
func requireBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no browser at %s (install Debian's chromium); skipped outside CI", chromiumPath)
		}
		t.Fatalf("no browser at %s: %v", chromiumPath, err)
	}
}

// browser is a headless chromium that collects the pages' problems:
// script exceptions, console.error calls and error entries of the browser
// log (CSP violations, failed loads of assets).
type browser struct {
	t       *testing.T
	ctx     context.Context
	shotDir string

	mu          sync.Mutex
	problems    []string
	refusedPage string // a page expected to answer 4xx, which Chrome logs
}

func startBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	b := &browser{t: t, ctx: bctx, shotDir: os.Getenv("CITYHUB_SCREENSHOT_DIR")}
	report := func(format string, args ...any) {
		b.mu.Lock()
		b.problems = append(b.problems, fmt.Sprintf(format, args...))
		b.mu.Unlock()
	}
	err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			report("JavaScript exception at %s:%d: %s", d.URL, d.LineNumber, msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				report("console.error: %s", strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.mu.Lock()
				expected := ev.Entry.Source == log.EntrySourceNetwork && b.refusedPage != "" && ev.Entry.URL == b.refusedPage
				b.mu.Unlock()
				if !expected {
					report("browser log error (%s) %s: %s", ev.Entry.Source, ev.Entry.URL, ev.Entry.Text)
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return b
}

func (b *browser) expectRefused(url string) {
	b.mu.Lock()
	b.refusedPage = url
	b.mu.Unlock()
}

// snap keeps a screenshot of the page when CITYHUB_SCREENSHOT_DIR is set.
func (b *browser) snap(name string) {
	b.t.Helper()
	if b.shotDir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shotDir, "portal-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// step runs actions and fails the test if they fail or a page reported a
// problem.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.stepWithin(30*time.Second, name, actions...)
}

func (b *browser) stepWithin(d time.Duration, name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Fatalf("%s: the page reported problems:\n%s", name, strings.Join(b.problems, "\n"))
	}
}

func (b *browser) wantText(name, sel, want string) {
	b.t.Helper()
	var got string
	var err error
	// A node read while the page's script changes the document can be
	// gone by the time it is read: read it again.
	for try := 0; try < 5; try++ {
		if got, err = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "No node") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("%s: read %s: %v", name, sel, err)
	}
	if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
		b.t.Errorf("%s: %s shows %q, want it to contain %q", name, sel, got, want)
	}
}

func (b *browser) eval(expr string) float64 {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) evalString(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate: %v", err)
	}
	return v
}

package portal_test

import (
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
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/internal/browsertest"
	"github.com/cityhub/cityhub/portal"
)

// TestBrowserPortal walks the portal in a real browser as a citizen
// would: searches from the home page, opens a dataset, pages its preview,
// watches the chart draw, downloads the CSV and checks the file, switches
// to English, and then, at a phone's viewport, checks that no page is
// wider than the screen. It fails on any JavaScript exception, console
// error or failed load. Set CITYHUB_SCREENSHOT_DIR to keep screenshots.
func TestBrowserPortal(t *testing.T) {
	browsertest.Require(t)
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

	b := browsertest.Start(t, 90*time.Second, "portal-")
	start := time.Now()
	b.Step("home", chromedp.Navigate(base+"/open/"), chromedp.WaitVisible(chromedp.ID("home-search")))
	b.WantText("home", "#home-stats", "开放数据集")
	b.Snap("home")
	b.Step("search",
		chromedp.SendKeys(chromedp.ID("q"), "企业登记"),
		chromedp.Click(chromedp.ID("home-search-submit")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	b.WantText("search", "#active-filters", "企业登记")
	b.WantText("search", "#results", e.Name)
	b.Snap("search")
	b.Step("facet",
		chromedp.Click(chromedp.CSS(`#facet-format a[data-value="database"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#facet-format a.active`)),
	)
	b.WantText("facet", "#active-filters", "数据库")

	link := fmt.Sprintf(`#results a[href="/open/dataset/%s"]`, e.PackageName())
	b.Step("open the dataset", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("preview-table")))
	b.StepWithin(15*time.Second, "chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
	b.WantText("dataset", "#dataset-name", e.Name)
	b.WantText("dataset", "#preview-status", "共 "+commas(info.Rows)+" 行 · 第 1–20 行")
	b.WantText("dataset", "#api-url", "resource_id="+cityhub.ResourceID(e.ID))
	if n := b.Eval(`Number(document.getElementById("chart").getAttribute("data-points"))`); n <= 0 {
		t.Errorf("the chart drew %v points", n)
	}
	b.WantText("chart", "#chart-status", "个数据点")
	b.Snap("dataset")

	b.Step("next page",
		chromedp.Click(chromedp.ID("preview-pager-next")),
		chromedp.WaitVisible(chromedp.ID("preview-pager-prev")),
		chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")),
	)
	b.WantText("next page", "#preview-status", "第 21–40 行")
	b.WantText("next page", "#api-url", "offset=20")
	b.Step("previous page",
		chromedp.Click(chromedp.ID("preview-pager-prev")),
		chromedp.WaitVisible(chromedp.CSS(`#preview-pager span.disabled`)),
		chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")),
	)
	b.WantText("previous page", "#preview-status", "第 1–20 行")

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.Ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.Step("download CSV", chromedp.Click(chromedp.ID("download-csv")))
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

	b.Step("english",
		chromedp.Click(chromedp.ID("lang-switch")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #preview-table`)),
	)
	b.StepWithin(15*time.Second, "english chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
	b.WantText("english", "#preview-status", "rows 1–20")
	b.WantText("english", "#downloads", "CSV (Excel)")
	b.Snap("dataset-en")
	b.Step("conditional", chromedp.Navigate(base+datasetPath(c.conditional)+"?lang=zh"), chromedp.WaitVisible(chromedp.ID("apply-link")))
	b.Snap("conditional")
	// A citizen registers on the way to applying, applies, signs out and
	// signs in again to see the application.
	b.Step("apply: sign in first", chromedp.Click(chromedp.ID("apply-link")), chromedp.WaitVisible(chromedp.ID("login-form")))
	b.Step("apply: register",
		chromedp.Click(chromedp.ID("register-link")),
		chromedp.WaitVisible(chromedp.ID("register-form")),
		chromedp.SendKeys(chromedp.ID("username"), "browser-citizen"),
		chromedp.SendKeys(chromedp.ID("email"), "browser@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "open-data-2024"),
		chromedp.SendKeys(chromedp.ID("password2"), "open-data-2024"),
		chromedp.Click(chromedp.ID("register-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-form")),
	)
	b.Step("apply",
		chromedp.SendKeys(chromedp.ID("purpose"), "交通出行研究"),
		chromedp.Click(chromedp.ID("apply-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-status")),
	)
	b.WantText("apply", "#apply-status", "待审核")
	b.Snap("applied")
	b.Step("sign out",
		chromedp.Navigate(base+"/open/account"),
		chromedp.WaitVisible(chromedp.ID("apps-table")),
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("nav-login")),
	)
	b.Step("sign in",
		chromedp.Navigate(base+datasetPath(c.conditional)+"/apply"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("username"), "browser-citizen"),
		chromedp.SendKeys(chromedp.ID("password"), "open-data-2024"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("apply-status")),
	)
	b.WantText("sign in", "#apply-status", "待审核")
	b.Step("providers", chromedp.Navigate(base+"/open/orgs"), chromedp.WaitVisible(chromedp.ID("orgs")))
	b.Snap("orgs")

	// A phone: every page fits the screen's width; wide tables scroll in
	// their frames.
	b.Step("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
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
			b.ExpectRefused(base + pg.path)
		}
		b.Step(pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.ID(pg.wait)))
		if pg.wait == "preview-table" {
			b.StepWithin(15*time.Second, pg.name+" chart", chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
		}
		over := b.Eval(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`)
		if over > 0 {
			wide := b.EvalString(`Array.from(document.querySelectorAll("body *")).filter(function (el) {
				var r = el.getBoundingClientRect(); return r.right > window.innerWidth + 1 && !el.closest(".table-wrap, pre, .chart");
			}).slice(0, 5).map(function (el) { return el.tagName + "#" + el.id + "." + el.className; }).join(", ")`)
			t.Errorf("%s: the page is %vpx wider than the phone's screen (%s)", pg.name, over, wide)
		}
		b.Snap(pg.name)
	}
	t.Logf("portal walk took %s", time.Since(start).Round(time.Millisecond))
}

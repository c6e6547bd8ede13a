package web_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/internal/browsertest"
)

// TestBrowser signs in through the form in a real browser, opens every
// page, creates a department, searches the catalog, creates an entry,
// imports a CSV file and switches to English, failing on any JavaScript
// exception or console error. Set CITYHUB_SCREENSHOT_DIR to keep
// screenshots of the pages (desktop and phone).
func TestBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	lamps := s.entry(s.city, "209", "智慧路灯设施信息", func(e *cityhub.CatalogEntry) {
		e.Abstract = "城市道路照明路灯、灯杆、控制箱设施台账及运行状态。"
		e.Tags = []string{"路灯", "照明", "市政设施"}
		e.Items = []cityhub.DataItem{
			{Name: "灯杆编号", Code: "pole_no", Type: "C", Length: 30, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "所在道路", Code: "road", Type: "C", Length: 100, Sensitivity: cityhub.SensPublic},
			{Name: "功率(瓦)", Code: "power", Type: "N", Length: 6, Sensitivity: cityhub.SensInternal},
		}
	})
	s.publish(lamps)
	s.publish(s.entry(s.district, "209", "海曙区智慧路灯设施信息", func(e *cityhub.CatalogEntry) { e.Tags = []string{"路灯"} }))
	s.entry(s.district, "211", "空气质量监测数据", func(e *cityhub.CatalogEntry) {
		e.Format, e.UpdateCycle, e.Domain = cityhub.FormatStream, cityhub.CycleRealtime, "environment"
	})

	b := browsertest.Start(t, 60*time.Second, "")
	bctx, shotDir := b.Ctx, b.ShotDir
	step, snap, wantText := b.Step, b.Snap, b.WantText
	base := s.srv.URL

	start := time.Now()
	step("login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	snap("login")
	step("sign in",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("home")),
	)
	wantText("home", "#home-username", "admin")
	wantText("home", "#home-roles", "平台管理员")
	wantText("home", "#home-version", "test")
	snap("home")

	step("departments",
		chromedp.Navigate(base+"/departments"),
		chromedp.WaitVisible(chromedp.ID("departments-table")),
	)
	wantText("departments", "#departments-table", "海曙区大数据中心")
	wantText("departments", "#departments-table", "330203 海曙区")

	code := creditCode(t, 21)
	step("create department",
		chromedp.SendKeys(chromedp.ID("name"), "江北区数据资源局"),
		chromedp.SendKeys(chromedp.ID("short_name"), "江北数据"),
		chromedp.SendKeys(chromedp.ID("credit_code"), code),
		chromedp.SendKeys(chromedp.ID("division_code"), "330205"),
		chromedp.SetValue(chromedp.ID("level"), "district"),
		chromedp.SetValue(chromedp.ID("parent_id"), id(s.city.ID)),
		chromedp.Click(chromedp.ID("department-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	wantText("create department", "#flash", "部门已创建")
	wantText("create department", "#departments-table", "江北区数据资源局")
	wantText("create department", "#departments-table", code)

	step("departments again", chromedp.Navigate(base+"/departments"), chromedp.WaitVisible(chromedp.ID("department-create")))
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := shotDir
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "departments.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(dir, "departments.png"))

	step("users", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(chromedp.ID("users-table")))
	wantText("users", "#users-table", "admin")
	wantText("users", "#users-scope", "全部用户")
	snap("users")

	step("tokens", chromedp.Navigate(base+"/tokens"), chromedp.WaitVisible(chromedp.ID("tokens-page")))
	wantText("tokens", "#tokens-table", "您还没有个人令牌")
	step("create token",
		chromedp.SendKeys(chromedp.ID("name"), "浏览器测试"),
		chromedp.Click(chromedp.ID("token-submit")),
		chromedp.WaitVisible(chromedp.ID("token-secret")),
		// app.js reveals the copy button: proof the script ran.
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="token-secret"]`)),
	)
	wantText("create token", "#token-secret", cityhub.TokenPrefix)
	snap("tokens")

	step("audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.ID("audit-table")))
	wantText("audit", "#audit-table", "department.create")
	step("verify chain",
		chromedp.Click(chromedp.ID("verify-chain")),
		chromedp.WaitVisible(chromedp.ID("verify-result")),
	)
	wantText("verify chain", "#verify-result", "审计链完整")
	snap("audit")

	step("catalog search",
		chromedp.Navigate(base+"/catalog"),
		chromedp.WaitVisible(chromedp.ID("catalog-search-form")),
		chromedp.SendKeys(chromedp.ID("q"), "路灯"),
		chromedp.Click(chromedp.ID("catalog-search-submit")),
		chromedp.WaitVisible(chromedp.ID("active-filters")),
	)
	wantText("catalog search", "#catalog-count", "共 2 条")
	wantText("catalog search", "#results", "智慧路灯设施信息")
	wantText("catalog search", "#facet-provider", s.city.Name)
	snap("catalog")
	step("catalog facet",
		chromedp.Click(chromedp.CSS("#facet-provider .facet-link")),
		chromedp.WaitVisible(chromedp.CSS("#active-filters a.chip + a.chip")),
	)
	wantText("catalog facet", "#catalog-count", "共 1 条")
	step("catalog entry",
		chromedp.Click(chromedp.CSS("#results .result-title")),
		chromedp.WaitVisible(chromedp.ID("entry-metadata")),
	)
	wantText("catalog entry", "#entry-name", "智慧路灯设施信息")
	wantText("catalog entry", "#items-table", "灯杆编号")
	wantText("catalog entry", "#entry-share", "无条件共享")
	wantText("catalog entry", "#versions", "发布")
	snap("catalog-entry")
	step("catalog tree", chromedp.Navigate(base+"/catalog/tree"), chromedp.WaitVisible(chromedp.ID("catalog-tree")))
	wantText("catalog tree", "#class-2", "城乡建设")
	snap("catalog-tree")
	step("catalog stats", chromedp.Navigate(base+"/catalog/stats"), chromedp.WaitVisible(chromedp.ID("domains-table")))
	wantText("catalog stats", "#open-rate-target", "80%")
	wantText("catalog stats", "#department-stats-table", s.city.Name)
	snap("catalog-stats")

	// The entry form: app.js adds a data item row, the entry saves.
	step("catalog form",
		chromedp.Navigate(base+"/catalog/new"),
		chromedp.WaitVisible(chromedp.ID("entry-form")),
		chromedp.Click(chromedp.ID("add-item-row")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="items[5].name"]`)),
	)
	snap("catalog-form")
	step("catalog create",
		chromedp.SetValue(chromedp.ID("classification_code"), "209"),
		chromedp.SendKeys(chromedp.ID("name"), "智慧井盖监测信息"),
		chromedp.SetValue(chromedp.ID("provider_id"), id(s.city.ID)),
		chromedp.SetValue(chromedp.ID("format"), "stream"),
		chromedp.SendKeys(chromedp.ID("abstract"), "井盖位移和水位传感器的实时告警。"),
		chromedp.SendKeys(chromedp.CSS(`input[name="items[0].name"]`), "井盖编号"),
		chromedp.SendKeys(chromedp.CSS(`input[name="items[5].name"]`), "倾角"),
		chromedp.SetValue(chromedp.CSS(`select[name="items[5].type"]`), "N"),
		chromedp.SetValue(chromedp.ID("share_type"), "unconditional"),
		chromedp.SendKeys(chromedp.ID("share_method"), "接口订阅"),
		chromedp.SetValue(chromedp.ID("open_type"), "unconditional"),
		chromedp.SetValue(chromedp.ID("domain"), "urban"),
		chromedp.SetValue(chromedp.ID("update_cycle"), "realtime"),
		chromedp.Click(chromedp.ID("entry-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	wantText("catalog create", "#flash", "目录条目已创建为草稿")
	wantText("catalog create", "#items-table", "倾角")
	wantText("catalog create", "#items-table", "数值型")

	// Catalog files: the search offers its results for download; the
	// import page checks an uploaded CSV, then imports it skipping the bad
	// entry; app.js refuses a file over the limit before sending it.
	step("catalog export links", chromedp.Navigate(base+"/catalog"), chromedp.WaitVisible(chromedp.ID("catalog-export")))
	wantText("catalog export links", "#export-xlsx", "导出 Excel")
	wantText("catalog export links", "#export-csv", "导出 CSV")
	files := t.TempDir()
	csvPath := filepath.Join(files, "目录.csv")
	if err := os.WriteFile(csvPath, csvOf(t, sheetEntry(s.city, "209", "桥梁健康监测信息"),
		sheetEntry(s.city, "209", "隧道通风设施信息", func(e *cityhub.CatalogEntry) { e.Format = "软盘" })), 0o644); err != nil {
		t.Fatal(err)
	}
	step("catalog import form",
		chromedp.Navigate(base+"/catalog"),
		chromedp.Click(chromedp.ID("catalog-import")),
		chromedp.WaitVisible(chromedp.ID("import-form")),
	)
	snap("catalog-import")
	step("catalog import check",
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("import-check")),
		chromedp.WaitVisible(chromedp.ID("import-report")),
	)
	wantText("catalog import check", "#import-outcome", "检查发现 2 个问题，涉及 1 个条目")
	wantText("catalog import check", "#import-problems", "信息资源格式")
	wantText("catalog import check", "#count-received", "2")
	wantText("catalog import check", "#import-dry-run", "仅检查")
	step("catalog import",
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("skip_invalid")),
		chromedp.Click(chromedp.ID("import-submit")),
		chromedp.WaitVisible(chromedp.CSS("#import-outcome.partial")),
	)
	wantText("catalog import", "#import-outcome", "已导入有效条目")
	wantText("catalog import", "#count-created", "1")
	wantText("catalog import", "#count-skipped", "1")
	wantText("catalog import", "#import-skipped-rows", "第 4 行")
	snap("catalog-import-report")
	bigPath := filepath.Join(files, "big.csv")
	if err := os.WriteFile(bigPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(bigPath, 65<<20); err != nil { // sparse: the browser only asks its size
		t.Fatal(err)
	}
	step("catalog import too large",
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{bigPath}),
		chromedp.Click(chromedp.ID("import-check")),
		chromedp.WaitVisible(chromedp.ID("file-error")),
	)
	wantText("catalog import too large", "#file-error", "64 MiB")
	wantText("catalog import too large", "#import-outcome", "已导入有效条目") // still the last page: nothing was sent

	step("english",
		chromedp.Navigate(base+"/departments"),
		chromedp.WaitVisible(chromedp.ID("departments-table")),
		chromedp.Click(chromedp.ID("lang-switch")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #departments-table`)),
	)
	wantText("english", "h1", "Departments")
	wantText("english", "#departments-table", "Unified social credit code")
	step("english home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("home")))
	wantText("english home", "h1", "Welcome")
	wantText("english home", "#home-roles", "Platform administrator")
	snap("home-en")

	b.ExpectRefused(base + "/departments")
	step("refused form",
		chromedp.Navigate(base+"/departments?lang=zh"),
		chromedp.WaitVisible(chromedp.ID("department-form")),
		chromedp.SendKeys(chromedp.ID("name"), "错误示例"),
		chromedp.SendKeys(chromedp.ID("credit_code"), code[:17]+"0"),
		chromedp.Click(chromedp.ID("department-submit")),
		chromedp.WaitVisible(chromedp.ID("credit_code-error")),
	)
	wantText("refused form", "#credit_code-error", "不是有效的统一社会信用代码")
	b.ExpectRefused("")
	snap("departments-error")

	if shotDir != "" {
		step("phone",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+"/departments"),
			chromedp.WaitVisible(chromedp.ID("departments-table")),
		)
		snap("departments-phone")
		step("phone audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.ID("audit-table")))
		snap("audit-phone")
		step("phone catalog", chromedp.Navigate(base+"/catalog?q="+url.QueryEscape("路灯")), chromedp.WaitVisible(chromedp.ID("results")))
		snap("catalog-phone")
		step("phone catalog entry", chromedp.Navigate(base+"/catalog/entries/"+id(lamps.ID)), chromedp.WaitVisible(chromedp.ID("entry-metadata")))
		snap("catalog-entry-phone")
		step("phone catalog stats", chromedp.Navigate(base+"/catalog/stats"), chromedp.WaitVisible(chromedp.ID("domains-table")))
		snap("catalog-stats-phone")
		step("phone catalog form", chromedp.Navigate(base+"/catalog/new"), chromedp.WaitVisible(chromedp.ID("entry-form")))
		snap("catalog-form-phone")
		step("phone catalog import", chromedp.Navigate(base+"/catalog/import"), chromedp.WaitVisible(chromedp.ID("import-form")))
		snap("catalog-import-phone")
	}
	t.Logf("browser walk took %s", time.Since(start).Round(time.Millisecond))
	s.noErrorLogs()
}

// TestBrowserData walks the data pages of the demo city's enterprise
// register (2,000 rows) as its steward: the entry's data section, the
// preview with a filter and the next page, the upload of a small CSV with
// one bad row, its job page until it has succeeded, and the quality
// report, failing on any JavaScript exception or console error.
func TestBrowserData(t *testing.T) {
	browsertest.Require(t)
	s := newStack(t)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	start := time.Now()
	if _, err := demo.Load(ctx, s.store, s.auth.Hash); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo city loaded in %s", time.Since(start).Round(time.Millisecond))
	res, err := s.store.SearchCatalog(ctx, cityhub.CatalogQuery{Q: "企业登记基本信息", Scope: cityhub.CatalogScope{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	var e *cityhub.CatalogEntry
	for _, r := range res.Entries {
		if r.Name == "宁波市企业登记基本信息" {
			e = r
		}
	}
	if e == nil {
		t.Fatal("no demo entry 宁波市企业登记基本信息")
	}
	files := t.TempDir()
	csvPath := filepath.Join(files, "新设企业.csv")
	header := "统一社会信用代码,企业名称,企业类型,法定代表人,注册资本(万元),成立日期,经营范围,登记状态,住所\n"
	rows := creditCode(t, 901) + ",宁波甬江新设科技有限公司,有限责任公司,张伟,500,2026-03-01,软件开发,存续,浙江省宁波市鄞州区院士路1号\n" +
		"91330200MA2XXXXXX1,宁波代码有误贸易有限公司,有限责任公司,李芳,100,2026-03-02,贸易,存续,浙江省宁波市海曙区中山西路2号\n" +
		creditCode(t, 903) + ",宁波三江新设物流有限公司,有限责任公司,王磊,\"1,200\",2026年3月3日,物流,存续,浙江省宁波市江北区通途路3号\n"
	if err := os.WriteFile(csvPath, []byte(header+rows), 0o644); err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t, 60*time.Second, "")
	base := s.srv.URL
	walk := time.Now()
	b.Step("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("username"), "scjg.steward"),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("home")),
	)
	b.Step("entry", chromedp.Navigate(base+"/catalog/entries/"+id(e.ID)), chromedp.WaitVisible(chromedp.ID("entry-data")))
	b.WantText("entry", "#entry-data-rows", "2,000")
	b.WantText("entry", "#entry-data-version", "第 1 版")
	b.WantText("entry", "#entry-tabs", "数据质量")
	b.Snap("data-entry")

	b.Step("data page", chromedp.Click(chromedp.ID("entry-data-link")), chromedp.WaitVisible(chromedp.ID("data-table")))
	b.WantText("data page", "#data-total", "共 2,000 行")
	b.WantText("data page", "#data-table thead", "统一社会信用代码")
	b.Snap("data-preview")
	b.Step("data next page", chromedp.Click(chromedp.ID("data-next")), chromedp.WaitVisible(chromedp.ID("data-first")))
	b.WantText("data next page", "#data-total", "共 2,000 行")
	b.Step("data filter",
		chromedp.SetValue(chromedp.ID("item"), "登记状态"),
		chromedp.SendKeys(chromedp.ID("value"), "注销"),
		chromedp.Click(chromedp.ID("data-filter-submit")),
		chromedp.WaitVisible(chromedp.ID("data-clear")),
	)
	b.WantText("data filter", "#data-table tbody", "注销")
	if got := b.Text("data filter", "#data-total"); got == "共 2,000 行" || !strings.HasPrefix(got, "共 ") {
		t.Errorf("filtered total %q", got)
	}
	b.Snap("data-filtered")

	b.Step("upload",
		chromedp.Click(chromedp.ID("data-clear")),
		chromedp.WaitVisible(chromedp.ID("load-form")),
		chromedp.SetUploadFiles(chromedp.ID("data_file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("mode-upsert")),
		chromedp.Click(chromedp.ID("load-submit")),
		chromedp.WaitVisible(chromedp.ID("load-page")),
	)
	// The job page refreshes itself until the load is done.
	b.StepWithin(20*time.Second, "job succeeds", chromedp.WaitVisible(chromedp.CSS(`#load-status[data-status="succeeded"]`)))
	b.WantText("job", "#count-received", "3")
	b.WantText("job", "#count-stored", "2")
	b.WantText("job", "#count-rejected", "1")
	b.WantText("job", "#load-sum", "接收 = 入库 + 拒绝 + 舍弃")
	b.WantText("job", "#rejects-table", "统一社会信用代码")
	b.WantText("job", "#rejects-table", "91330200MA2XXXXXX1")
	b.Snap("data-job")

	b.Step("after the load", chromedp.Click(chromedp.ID("load-data-link")), chromedp.WaitVisible(chromedp.ID("data-table")))
	b.WantText("after the load", "#data-total", "共 2,002 行")
	b.WantText("after the load", "#versions-table", "第 2 版")
	b.Step("quality", chromedp.Click(chromedp.ID("tab-quality")), chromedp.WaitVisible(chromedp.ID("quality-table")))
	b.WantText("quality", "#quality-duplicates", "0")
	b.WantText("quality", "#quality-table", "住所")
	b.WantText("quality", "#quality-check-bars", "统一社会信用代码（GB 32100）")
	b.Snap("data-quality")
	b.Step("quality in English", chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #quality-table`)))
	b.WantText("quality in English", "#quality-columns", "Completeness")
	b.Snap("data-quality-en")

	if b.ShotDir != "" {
		b.Step("phone",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+"/catalog/entries/"+id(e.ID)+"/data?lang=zh"),
			chromedp.WaitVisible(chromedp.ID("data-table")),
		)
		b.Snap("data-preview-phone")
		b.Step("phone quality", chromedp.Navigate(base+"/catalog/entries/"+id(e.ID)+"/quality"), chromedp.WaitVisible(chromedp.ID("quality-table")))
		b.Snap("data-quality-phone")
	}
	t.Logf("data walk took %s", time.Since(walk).Round(time.Millisecond))
	s.noErrorLogs()
}

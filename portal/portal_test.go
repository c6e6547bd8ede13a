package portal_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/portal"
	"github.com/xuri/excelize/v2"
)

// messageKey finds a message key shown instead of its text.
var messageKey = regexp.MustCompile(`>\s*(app|nav|home|search|sort|facet|pager|meta|conditional|download|preview|chart|api|items|history|mode|field|orgs|org|error|footer|data|common)\.[a-z_]+\s*<`)

func TestEveryPageRendersInBothLanguages(t *testing.T) {
	s := newServer(t, func(p *portal.Portal) { p.UsageStats = &usage{} })
	c := s.c
	pages := []string{
		"/open/",
		"/open/datasets",
		"/open/datasets?q=" + url.QueryEscape("企业"),
		"/open/datasets?domain=environment&sort=name&page=1",
		datasetPath(c.rows),
		datasetPath(c.rows) + "?page=3",
		datasetPath(c.rows) + "?q=" + url.QueryEscape("注销"),
		datasetPath(c.lamps),
		datasetPath(c.mixed),
		datasetPath(c.conditional),
		"/open/orgs",
		"/open/org/" + strconv.FormatInt(c.rows.ProviderID, 10),
	}
	want := map[string][]string{
		"zh": {`<html lang="zh-CN">`, "公共数据开放平台", `id="lang-switch">English</a>`},
		"en": {`<html lang="en">`, "Open Data Portal", `id="lang-switch">中文</a>`},
	}
	for _, lang := range []string{"zh", "en"} {
		for _, path := range pages {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			res := s.ok(path + sep + "lang=" + lang)
			for _, w := range want[lang] {
				if !strings.Contains(res.body, w) {
					t.Errorf("%s in %s: no %q", path, lang, w)
				}
			}
			if m := messageKey.FindString(res.body); m != "" {
				t.Errorf("%s in %s: shows the message key %s", path, lang, m)
			}
			if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("%s: Content-Security-Policy %q", path, csp)
			}
		}
	}
	// The choice is kept in a cookie the console shares.
	res := s.get("/open/?lang=en")
	var lang *http.Cookie
	for _, ck := range (&http.Response{Header: res.header}).Cookies() {
		if ck.Name == "lang" {
			lang = ck
		}
	}
	if lang == nil || lang.Value != "en" || lang.Path != "/" {
		t.Fatalf("?lang=en set cookie %+v", lang)
	}
	if res := s.get("/open/datasets", lang); !strings.Contains(res.body, `<html lang="en">`) {
		t.Error("the language cookie is not followed")
	}
	if res := s.get("/open/datasets"); !strings.Contains(res.body, `<html lang="zh-CN">`) {
		t.Error("Chinese is not the default")
	}
}

func TestHome(t *testing.T) {
	c := demoCity(t)
	u := &usage{most: []cityhub.UsageCount{
		{EntryID: c.closed.ID, Views: 99}, // not public: left out
		{EntryID: c.lamps.ID, Views: 50, Downloads: 7, APICalls: 3},
		{EntryID: c.conditional.ID, Views: 20},
		{EntryID: 987654, Views: 10}, // gone
	}}
	s := newServer(t, func(p *portal.Portal) { p.UsageStats = u })
	res := s.ok("/open/")
	public, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Facets: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := textOf(t, res.body, "stat-datasets"), strconv.Itoa(public.Total); got != want {
		t.Errorf("datasets %s, want %s", got, want)
	}
	if got, want := textOf(t, res.body, "stat-providers"), strconv.Itoa(len(public.Facets["provider"])); got != want {
		t.Errorf("providers %s, want %s", got, want)
	}
	if got, want := textOf(t, res.body, "stat-domains"), strconv.Itoa(len(public.Facets["domain"])); got != want {
		t.Errorf("domains %s, want %s", got, want)
	}
	// Rows: the enterprises, the lamps, the indicators and the markets.
	var rows int64
	for _, e := range []string{"宁波市企业登记基本信息", "宁波市智慧路灯设施信息", "宁波市国民经济主要指标", "宁波市农贸市场名录"} {
		res, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Q: e, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range res.Entries {
			if x.Name == e && x.PublicData() {
				info, err := c.store.Table(c.ctx, x.ID)
				if err != nil {
					t.Fatal(err)
				}
				rows += info.Rows
			}
		}
	}
	if got := textOf(t, res.body, "stat-rows"); got != commas(rows) {
		t.Errorf("rows %s, want %s", got, commas(rows))
	}
	most := sectionOf(t, res.body, "most-used")
	if !strings.Contains(most, c.lamps.Name) || !strings.Contains(most, c.conditional.Name) {
		t.Errorf("most used lacks the public datasets:\n%s", most)
	}
	if strings.Contains(most, c.closed.Name) {
		t.Error("most used shows a dataset that is not open")
	}
	if u.since.IsZero() {
		t.Error("MostUsed was not asked")
	}
	for _, id := range []string{"newest", "domain-tiles", "home-search", "providers"} {
		if !strings.Contains(res.body, `id="`+id+`"`) {
			t.Errorf("home has no #%s", id)
		}
	}
	if !strings.Contains(res.body, `href="/open/datasets?domain=environment"`) {
		t.Error("no tile for the environment domain")
	}

	// Without a usage reader the block is left out.
	plain := newServer(t).ok("/open/")
	if strings.Contains(plain.body, `id="most-used"`) {
		t.Error("most used shows without a usage reader")
	}
}

func TestSearchFacets(t *testing.T) {
	s := newServer(t)
	c := s.c
	all := s.ok("/open/datasets")
	public, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Facets: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, all.body, "result-count"); got != "共 "+commas(int64(public.Total))+" 个数据集" {
		t.Errorf("count %q, want %d", got, public.Total)
	}
	for _, f := range []string{"domain", "provider", "format", "update_cycle", "open_type", "tag"} {
		if !strings.Contains(all.body, `id="facet-`+f+`"`) {
			t.Errorf("no facet %s", f)
		}
	}
	tests := []struct {
		param, value string
		query        cityhub.CatalogQuery
	}{
		{"domain", "environment", cityhub.CatalogQuery{Domain: "environment"}},
		{"provider", strconv.FormatInt(c.rows.ProviderID, 10), cityhub.CatalogQuery{ProviderID: c.rows.ProviderID}},
		{"format", cityhub.FormatSheet, cityhub.CatalogQuery{Format: cityhub.FormatSheet}},
		{"cycle", cityhub.CycleMonthly, cityhub.CatalogQuery{UpdateCycle: cityhub.CycleMonthly}},
		{"open", cityhub.Conditional, cityhub.CatalogQuery{OpenType: cityhub.Conditional}},
		{"tag", "路灯", cityhub.CatalogQuery{Tag: "路灯"}},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			want := tt.query
			want.Public, want.Limit, want.Facets = true, 100, true
			exp, err := c.store.SearchCatalog(c.ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if exp.Total == 0 {
				t.Fatalf("the demo city has no dataset with %s=%s", tt.param, tt.value)
			}
			// The facet value is offered on the unfiltered page with its count.
			link := `href="/open/datasets?` + url.Values{tt.param: {tt.value}}.Encode() + `"`
			if !strings.Contains(html.UnescapeString(all.body), html.UnescapeString(link)) {
				t.Errorf("no facet link %s", link)
			}
			res := s.ok("/open/datasets?" + url.Values{tt.param: {tt.value}}.Encode())
			if got := textOf(t, res.body, "result-count"); got != "共 "+commas(int64(exp.Total))+" 个数据集" {
				t.Errorf("%s=%s: %q, want %d", tt.param, tt.value, got, exp.Total)
			}
			if !strings.Contains(res.body, `class="facet-link active"`) || !strings.Contains(res.body, `id="active-filters"`) {
				t.Error("the active facet is not marked")
			}
			results := sectionOf(t, res.body, "results")
			for _, e := range exp.Entries[:min(len(exp.Entries), 20)] {
				if !strings.Contains(results, html.EscapeString(e.Name)) {
					t.Errorf("%s=%s: %s is missing", tt.param, tt.value, e.Name)
				}
			}
		})
	}
	// Facets combine, and words narrow them.
	res := s.ok("/open/datasets?domain=urban&format=database&q=" + url.QueryEscape("许可"))
	exp, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Domain: "urban", Format: "database", Q: "许可"})
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, res.body, "result-count"); got != "共 "+commas(int64(exp.Total))+" 个数据集" {
		t.Errorf("combined: %q, want %d", got, exp.Total)
	}
	// Paging and sorting.
	page2 := s.ok("/open/datasets?sort=name&page=2")
	if !strings.Contains(page2.body, `id="pager-prev"`) || !strings.Contains(page2.body, "第 2 / ") {
		t.Error("page 2 has no way back or no status")
	}
	byName, _ := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Sort: "name", Limit: 20, Offset: 20})
	if first := byName.Entries[0]; !strings.Contains(sectionOf(t, page2.body, "results"), html.EscapeString(first.Name)) {
		t.Errorf("page 2 by name lacks %s", first.Name)
	}
	// Nothing that is not public shows, whatever the filter.
	for _, q := range []string{"", "?q=" + url.QueryEscape(c.closed.Name), "?open=none", "?q=" + url.QueryEscape(c.draft.Name)} {
		res := s.ok("/open/datasets" + q)
		for _, e := range []*cityhub.CatalogEntry{c.closed, c.draft, c.submitted} {
			if strings.Contains(res.body, datasetPath(e)+`"`) {
				t.Errorf("search %q links %s (%s, %s)", q, e.Name, e.Status, e.OpenType)
			}
		}
	}
}

func TestDatasetPage(t *testing.T) {
	u := &usage{}
	s := newServer(t, func(p *portal.Portal) { p.Usage = u })
	c := s.c
	res := s.ok(datasetPath(c.rows))
	info, err := c.store.Table(c.ctx, c.rows.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		c.rows.Name, c.rows.Code, c.rows.ProviderName, "无条件开放", "每日", "市场监管",
		`id="preview-table"`, `id="download-csv"`, `id="download-csv-bom"`, `id="download-json"`, `id="download-xlsx"`,
		"/api/3/action/datastore_search?resource_id=" + cityhub.ResourceID(c.rows.ID) + "&amp;limit=20",
		"curl -s &#39;http://portal.test/api/3/action/datastore_search?resource_id=" + cityhub.ResourceID(c.rows.ID),
		`id="catalog-history"`, `id="data-history"`, `id="chart-form"`, "/static/echarts/echarts.min.js",
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("dataset page lacks %q", want)
		}
	}
	if got := textOf(t, res.body, "preview-status"); got != "共 "+commas(info.Rows)+" 行 · 第 1–20 行" {
		t.Errorf("preview status %q", got)
	}
	if n := strings.Count(sectionOf(t, res.body, "preview-table"), "<tr>"); n != 21 {
		t.Errorf("preview shows %d rows with its header, want 21", n)
	}
	for _, it := range c.rows.Items {
		if !strings.Contains(sectionOf(t, res.body, "items-table"), html.EscapeString(it.Name)) {
			t.Errorf("items lack %s", it.Name)
		}
	}
	if u.count(c.rows.ID, cityhub.UseView) != 1 {
		t.Errorf("views %d, want 1", u.count(c.rows.ID, cityhub.UseView))
	}

	// The next page, its API call, and the same call for a search.
	p2 := s.ok(datasetPath(c.rows) + "?page=2")
	if got := textOf(t, p2.body, "preview-status"); got != "共 "+commas(info.Rows)+" 行 · 第 21–40 行" {
		t.Errorf("page 2 status %q", got)
	}
	if !strings.Contains(p2.body, "resource_id="+cityhub.ResourceID(c.rows.ID)+"&amp;limit=20&amp;offset=20") {
		t.Error("page 2's API call has no offset")
	}
	if !strings.Contains(p2.body, `id="preview-pager-prev"`) || !strings.Contains(p2.body, `href="`+datasetPath(c.rows)+`?page=3#preview"`) {
		t.Error("page 2 has no previous and next links")
	}
	if u.count(c.rows.ID, cityhub.UseView) != 1 {
		t.Error("paging the preview counted as a view")
	}
	q := s.ok(datasetPath(c.rows) + "?q=" + url.QueryEscape("注销"))
	filtered, err := c.store.QueryRows(c.ctx, cityhub.RowQuery{EntryID: c.rows.ID, Q: "注销", Total: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, q.body, "preview-status"); !strings.HasPrefix(got, "共 "+commas(*filtered.Total)+" 行") {
		t.Errorf("search in rows: %q, want %d rows", got, *filtered.Total)
	}
	if !strings.Contains(q.body, "&amp;q=%E6%B3%A8%E9%94%80") {
		t.Error("the API call drops the search")
	}
	// Far pages stop at the preview's depth.
	deep := s.ok(datasetPath(c.rows) + "?page=100000")
	if !strings.Contains(deep.body, `id="preview-too-deep"`) {
		t.Error("a page past 10,000 rows is not refused")
	}

	// The CKAN package id leads to the page.
	redirect := s.get("/open/dataset/" + cityhub.PackageID(c.rows.ID) + "?lang=en")
	if redirect.status != http.StatusMovedPermanently || redirect.header.Get("Location") != datasetPath(c.rows)+"?lang=en" {
		t.Errorf("package id: %d to %q", redirect.status, redirect.header.Get("Location"))
	}
}

func TestConditionalShowsMetadataAndApplyOnly(t *testing.T) {
	u := &usage{}
	s := newServer(t, func(p *portal.Portal) { p.Usage = u })
	c := s.c
	e := c.conditional
	res := s.ok(datasetPath(e))
	apply := `href="` + datasetPath(e) + `/apply" id="apply-link"`
	if !strings.Contains(res.body, apply) {
		t.Errorf("no apply link %s", apply)
	}
	for _, want := range []string{e.Name, "有条件开放", e.OpenCondition, `id="items-table"`, `id="catalog-history"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("conditional page lacks %q", want)
		}
	}
	for _, never := range []string{`id="preview"`, `id="downloads"`, `id="download-`, "datastore_search", `id="chart`, `id="data-history"`} {
		if strings.Contains(res.body, never) {
			t.Errorf("conditional page shows %q", never)
		}
	}
	for _, f := range []string{"csv", "csv-bom", "json", "xlsx"} {
		if r := s.get(datasetPath(e) + "/download/" + f); r.status != http.StatusNotFound {
			t.Errorf("conditional download %s: %d", f, r.status)
		}
	}
	if r := s.get(datasetPath(e) + "/chart.json?y=x"); r.status != http.StatusNotFound {
		t.Errorf("conditional chart: %d", r.status)
	}
	if u.count(e.ID, cityhub.UseView) != 1 || u.count(e.ID, cityhub.UseDownload) != 0 {
		t.Errorf("conditional use %v", u.counts[e.ID])
	}
}

func TestNotPublicIs404(t *testing.T) {
	u := &usage{}
	s := newServer(t, func(p *portal.Portal) { p.Usage = u })
	c := s.c
	unknown := s.get("/open/dataset/999-999999")
	if unknown.status != http.StatusNotFound {
		t.Fatalf("unknown dataset: %d", unknown.status)
	}
	for _, e := range []*cityhub.CatalogEntry{c.closed, c.draft, c.submitted} {
		for _, path := range []string{
			datasetPath(e), datasetPath(e) + "?page=2", datasetPath(e) + "/download/csv", datasetPath(e) + "/download/xlsx",
			datasetPath(e) + "/chart.json?y=" + url.QueryEscape(e.Items[0].Name),
			"/open/dataset/" + cityhub.PackageID(e.ID),
		} {
			res := s.get(path)
			if res.status != http.StatusNotFound {
				t.Errorf("%s (%s, %s): %d, want 404", path, e.Status, e.OpenType, res.status)
			}
			if withoutLangLink(res.body) != withoutLangLink(unknown.body) {
				t.Errorf("%s: the 404 differs from an unknown dataset's", path)
			}
			if strings.Contains(res.body, e.Name) || strings.Contains(res.body, e.Code) {
				t.Errorf("%s: the 404 names the entry", path)
			}
		}
		if len(u.counts[e.ID]) > 0 {
			t.Errorf("%s: use recorded %v", e.Name, u.counts[e.ID])
		}
	}
	for _, path := range []string{"/open/dataset/abc", "/open/dataset/..%2f..%2fetc", "/open/nothing", "/open/org/0",
		"/open/org/999999", "/open/dataset/" + cityhub.ResourceID(c.rows.ID), datasetPath(c.rows) + "/download/xml",
		datasetPath(c.rows) + "/nothing"} {
		if res := s.get(path); res.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.status)
		}
	}
	// A department that provides no public dataset has no provider page.
	all, err := cityhub.AllEntries(c.ctx, c.store, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	providers := map[int64]bool{}
	for _, e := range all {
		if e.PublicMetadata() {
			providers[e.ProviderID] = true
		}
	}
	for _, e := range all {
		if !providers[e.ProviderID] {
			if res := s.get("/open/org/" + strconv.FormatInt(e.ProviderID, 10)); res.status != http.StatusNotFound {
				t.Errorf("provider %d without public datasets: %d", e.ProviderID, res.status)
			}
			break
		}
	}
	// Pages that list datasets never name the hidden ones.
	for _, path := range []string{"/open/", "/open/datasets", "/open/orgs", "/open/org/" + strconv.FormatInt(c.closed.ProviderID, 10)} {
		res := s.get(path)
		for _, e := range []*cityhub.CatalogEntry{c.closed, c.draft, c.submitted} {
			if strings.Contains(res.body, datasetPath(e)+`"`) {
				t.Errorf("%s links %s", path, e.Name)
			}
		}
	}
}

// neverServed are the mixed dataset's strings the public may never get.
var neverServed = []string{secretItem, sensitiveItem, secretMarker, sensitiveMarker, "audit_no", "contact_note", "负责人联系方式"}

func TestSensitiveItemsNeverServed(t *testing.T) {
	s := newServer(t)
	c := s.c
	e := c.mixed
	check := func(what string, body []byte) {
		t.Helper()
		for _, never := range neverServed {
			if bytes.Contains(body, []byte(never)) {
				t.Errorf("%s contains %q", what, never)
			}
		}
	}
	pages := []string{datasetPath(e), datasetPath(e) + "?page=2", datasetPath(e) + "?q=SC00", datasetPath(e) + "?lang=en",
		"/open/datasets?q=" + url.QueryEscape("农贸市场"), "/open/"}
	for _, path := range pages {
		check(path, []byte(s.ok(path).body))
	}
	page := s.ok(datasetPath(e))
	for _, want := range []string{"市场编号", "市场名称", "摊位数", "开业日期", "SC0001"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the page lacks the public %q", want)
		}
	}
	// Searching the rows for a secret value finds nothing.
	if got := textOf(t, s.ok(datasetPath(e)+"?q="+secretMarker).body, "preview-status"); got != "共 0 行" {
		t.Errorf("search for a secret value: %q", got)
	}
	for _, f := range []string{"csv", "csv-bom", "json", "xlsx"} {
		res := s.get(datasetPath(e) + "/download/" + f)
		if res.status != http.StatusOK {
			t.Fatalf("download %s: %d", f, res.status)
		}
		body := []byte(res.body)
		if f == "xlsx" {
			body = xlsxText(t, body)
		}
		check("download "+f, body)
	}
	for _, q := range []string{"?y=" + url.QueryEscape(secretItem), "?y=" + url.QueryEscape(sensitiveItem),
		"?y=" + url.QueryEscape("摊位数") + "&x=" + url.QueryEscape(secretItem), "?y=" + url.QueryEscape("摊位数") + "&q=" + secretMarker} {
		res := s.get(datasetPath(e) + "/chart.json" + q)
		check("chart "+q, []byte(res.body))
		if strings.Contains(q, "q=") {
			var series struct{ Y []float64 }
			if err := json.Unmarshal([]byte(res.body), &series); err != nil || len(series.Y) != 0 {
				t.Errorf("chart searching a secret value: %v, %d points", err, len(series.Y))
			}
		} else if res.status != http.StatusBadRequest {
			t.Errorf("chart %s: %d, want 400", q, res.status)
		}
	}
}

func TestDownloads(t *testing.T) {
	u := &usage{}
	s := newServer(t, func(p *portal.Portal) { p.Usage = u })
	c := s.c
	for _, e := range []*cityhub.CatalogEntry{c.rows, c.mixed} {
		info, err := c.store.Table(c.ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var public []string
		for _, it := range e.PublicItems() {
			public = append(public, it.Name)
		}
		t.Run(e.Name, func(t *testing.T) {
			for _, f := range []string{"csv", "csv-bom"} {
				res := s.ok(datasetPath(e) + "/download/" + f)
				bom := strings.HasPrefix(res.body, "\uFEFF")
				if bom != (f == "csv-bom") {
					t.Errorf("%s: BOM %v", f, bom)
				}
				if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", f, ct)
				}
				cd := res.header.Get("Content-Disposition")
				if !strings.HasPrefix(cd, `attachment; filename="`+e.PackageName()) || !strings.Contains(cd, "filename*=UTF-8''") {
					t.Errorf("%s: Content-Disposition %q", f, cd)
				}
				recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\uFEFF"))).ReadAll()
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if !slices.Equal(recs[0], public) {
					t.Errorf("%s header %v, want %v", f, recs[0], public)
				}
				if got := int64(len(recs) - 1); got != info.Rows {
					t.Errorf("%s: %d rows, want %d", f, got, info.Rows)
				}
			}
			res := s.ok(datasetPath(e) + "/download/json")
			var rows []map[string]any
			if err := json.Unmarshal([]byte(res.body), &rows); err != nil {
				t.Fatalf("json: %v", err)
			}
			if int64(len(rows)) != info.Rows {
				t.Errorf("json: %d rows, want %d", len(rows), info.Rows)
			}
			for k := range rows[0] {
				if !slices.Contains(public, k) {
					t.Errorf("json has the field %q", k)
				}
			}
			// Keys keep the columns' order.
			if first := strings.Index(res.body, `"`+public[0]+`"`); first < 0 || first > strings.Index(res.body, `"`+public[1]+`"`) {
				t.Error("json keys are not in the columns' order")
			}

			res = s.ok(datasetPath(e) + "/download/xlsx")
			if ct := res.header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
				t.Errorf("xlsx Content-Type %q", ct)
			}
			f, err := excelize.OpenReader(strings.NewReader(res.body))
			if err != nil {
				t.Fatalf("xlsx: %v", err)
			}
			defer f.Close()
			sheet := f.GetSheetName(0)
			xr, err := f.GetRows(sheet)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(xr[0], public) {
				t.Errorf("xlsx header %v", xr[0])
			}
			if got := int64(len(xr) - 1); got != info.Rows {
				t.Errorf("xlsx: %d rows, want %d", got, info.Rows)
			}
			if n := u.count(e.ID, cityhub.UseDownload); n != 4 {
				t.Errorf("downloads recorded %d, want 4", n)
			}
		})
	}
	// Numbers are numbers in the workbook and the JSON.
	res := s.ok(datasetPath(c.mixed) + "/download/json")
	if !regexp.MustCompile(`"摊位数":\d+`).MatchString(res.body) {
		t.Error("json numbers are not numbers")
	}
}

func TestChartJSON(t *testing.T) {
	s := newServer(t)
	c := s.c
	var series struct {
		Axis      string
		X         []any
		Y         []float64
		Total     int64
		Truncated bool
	}
	get := func(path string) {
		t.Helper()
		res := s.ok(path)
		if err := json.Unmarshal([]byte(res.body), &series); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	get(datasetPath(c.lamps) + "/chart.json?y=" + url.QueryEscape("功率(瓦)"))
	if series.Axis != "value" || len(series.Y) != 1500 || series.Truncated || series.Total != 1500 {
		t.Errorf("lamps by row: axis %s, %d points, total %d, truncated %v", series.Axis, len(series.Y), series.Total, series.Truncated)
	}
	get(datasetPath(c.mixed) + "/chart.json?y=" + url.QueryEscape("摊位数") + "&x=" + url.QueryEscape("开业日期"))
	if series.Axis != "time" || len(series.Y) != mixedRows || series.Truncated {
		t.Errorf("markets by date: axis %s, %d points", series.Axis, len(series.Y))
	}
	for i := 1; i < len(series.X); i++ {
		if series.X[i].(float64) < series.X[i-1].(float64) {
			t.Fatal("time axis not in order")
		}
	}
	get(datasetPath(c.mixed) + "/chart.json?y=" + url.QueryEscape("摊位数") + "&x=" + url.QueryEscape("市场名称") + "&q=SC000")
	if series.Axis != "category" || len(series.Y) != 9 {
		t.Errorf("markets by name, searched: axis %s, %d points", series.Axis, len(series.Y))
	}
	if res := s.get(datasetPath(c.mixed) + "/chart.json?y=" + url.QueryEscape("市场名称")); res.status != http.StatusBadRequest {
		t.Errorf("a text column as values: %d", res.status)
	}
}

func TestProviders(t *testing.T) {
	s := newServer(t)
	c := s.c
	res := s.ok("/open/orgs")
	public, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Facets: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range public.Facets["provider"] {
		if !strings.Contains(res.body, `id="org-`+v.Value+`"`) {
			t.Errorf("provider %s is not listed", v.Value)
		}
	}
	id := strconv.FormatInt(c.rows.ProviderID, 10)
	org := s.ok("/open/org/" + id)
	want, err := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, ProviderID: c.rows.ProviderID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, org.body, "org-datasets"); got != strconv.Itoa(want.Total) {
		t.Errorf("provider's datasets %s, want %d", got, want.Total)
	}
	if !strings.Contains(org.body, c.rows.ProviderName) || !strings.Contains(org.body, `action="/open/org/`+id+`"`) {
		t.Error("the provider page lacks its name or its own search")
	}
	if strings.Contains(org.body, `id="facet-provider"`) {
		t.Error("the provider page offers the provider facet")
	}
	// Its facets keep to the provider.
	f := s.ok("/open/org/" + id + "?format=sheet")
	exp, _ := c.store.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, ProviderID: c.rows.ProviderID, Format: "sheet"})
	if got := textOf(t, f.body, "result-count"); got != "共 "+strconv.Itoa(exp.Total)+" 个数据集" {
		t.Errorf("provider's sheets: %q, want %d", got, exp.Total)
	}
}

func TestHistoryFollowsUpdates(t *testing.T) {
	s := newServer(t)
	c := s.c
	// An entry of its own: the others' stays as it is.
	e, err := addMarkets(c.ctx, c.store, c.mixed.ProviderID, "宁波市农贸市场名录（历史）")
	if err != nil {
		t.Fatal(err)
	}
	before := s.ok(datasetPath(e))
	if !strings.Contains(sectionOf(t, before.body, "catalog-history"), "发布") {
		t.Error("the history lacks the publication")
	}
	if strings.Contains(before.body, "提交") || strings.Contains(before.body, "system") {
		t.Error("the history shows the review or its actors")
	}
	e.Abstract += "（每月更新）"
	items := slices.Clone(e.Items)
	items[4].Description = "只改了敏感数据项的说明"
	e.Items = items
	if err := c.store.UpdateEntry(c.ctx, e, "内部备注：不公开"); err != nil {
		t.Fatal(err)
	}
	after := s.ok(datasetPath(e))
	hist := sectionOf(t, after.body, "catalog-history")
	if !strings.Contains(hist, "更新") || !strings.Contains(hist, "摘要") {
		t.Errorf("the history lacks the update of the abstract:\n%s", hist)
	}
	if strings.Contains(hist, "数据项") || strings.Contains(after.body, "内部备注") || strings.Contains(after.body, "只改了") {
		t.Errorf("the history shows what the public does not see:\n%s", hist)
	}
	if !strings.Contains(sectionOf(t, after.body, "data-history"), "全量替换") {
		t.Error("the data history lacks the load")
	}
}

func TestLimitWrapsRowReads(t *testing.T) {
	limited := map[string]bool{}
	s := newServer(t, func(p *portal.Portal) {
		p.Limit = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				limited[r.URL.Path] = true
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			})
		}
	})
	c := s.c
	for _, path := range []string{datasetPath(c.rows) + "/download/csv", datasetPath(c.rows) + "/chart.json"} {
		if res := s.get(path); res.status != http.StatusTooManyRequests || !limited[strings.Split(path, "?")[0]] {
			t.Errorf("%s: %d, not limited", path, res.status)
		}
	}
	for _, path := range []string{"/open/", "/open/datasets", datasetPath(c.rows), "/open/orgs"} {
		s.ok(path)
	}
}

func TestStaticAssets(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/open/static/portal.css", "/open/static/portal.js", "/open/static/logo.svg"} {
		res := s.ok(path)
		if res.header.Get("Cache-Control") == "" || len(res.body) < 100 {
			t.Errorf("%s: %d bytes, Cache-Control %q", path, len(res.body), res.header.Get("Cache-Control"))
		}
	}
	if res := s.get("/open/static/"); res.status != http.StatusNotFound {
		t.Errorf("directory listing: %d", res.status)
	}
	if res := s.get("/open"); res.status != http.StatusMovedPermanently || res.header.Get("Location") != "/open/" {
		t.Errorf("/open: %d %s", res.status, res.header.Get("Location"))
	}
}

// The portal registers only /open/ paths: it sits beside the console's "/"
// and /static/.
func TestRegistersOnlyOpenPaths(t *testing.T) {
	c := demoCity(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	(&portal.Portal{Store: c.store}).Register(mux)
	for _, path := range []string{"/", "/catalog", "/static/style.css", "/opendata", "/api/3/action/package_list"} {
		rec := newRecorder(mux, path)
		if rec != http.StatusTeapot {
			t.Errorf("%s went to the portal (%d)", path, rec)
		}
	}
}

func newRecorder(h http.Handler, path string) int {
	req, _ := http.NewRequest(http.MethodGet, "http://portal.test"+path, nil)
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	return rec.status
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(s int) { r.status = s }

// ----- helpers -----

// langLink is the language switch, which links the page's own address.
var langLink = regexp.MustCompile(`<a class="lang" href="[^"]*"`)

func withoutLangLink(body string) string { return langLink.ReplaceAllString(body, "") }

// textOf is the text of the element with id, tags removed.
func textOf(t *testing.T, body, id string) string {
	t.Helper()
	return strings.Join(strings.Fields(html.UnescapeString(stripTags(sectionOf(t, body, id)))), " ")
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return tagPattern.ReplaceAllString(s, " ") }

// sectionOf is the element with id, from its start tag to its end tag
// (elements of the same name nested inside are counted).
func sectionOf(t *testing.T, body, id string) string {
	t.Helper()
	at := strings.Index(body, `id="`+id+`"`)
	if at < 0 {
		t.Fatalf("no element #%s", id)
	}
	start := strings.LastIndex(body[:at], "<")
	name := body[start+1:]
	name = name[:strings.IndexAny(name, " >")]
	depth, i := 0, start
	for i < len(body) {
		open := strings.Index(body[i:], "<"+name)
		end := strings.Index(body[i:], "</"+name+">")
		if end < 0 {
			return body[start:]
		}
		if open >= 0 && open < end {
			next := body[i+open+1+len(name)]
			if next == ' ' || next == '>' {
				depth++
			}
			i += open + 1
			continue
		}
		depth--
		i += end + len(name) + 3
		if depth == 0 {
			return body[start:i]
		}
	}
	return body[start:]
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// xlsxText is every cell of a workbook, for byte checks.
func xlsxText(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer f.Close()
	var b bytes.Buffer
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			fmt.Fprintln(&b, strings.Join(r, "\t"))
		}
	}
	// The raw bytes too (compressed, but shared strings could hide there).
	b.Write(data)
	return b.Bytes()
}

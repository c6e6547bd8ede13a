package web_test

import (
	"bytes"
	"cmp"
	"context"
	"html"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
)

// upload posts a multipart form as a browser does, the file under "file"
// (none when name is empty).
func (c *client) upload(path string, fields url.Values, name string, content []byte) *response {
	c.t.Helper()
	return c.postFile(path, fields, "file", name, content)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// postFile posts fields and a file under fileField as multipart form data,
// the csrf field first as the console's forms have it.
func (c *client) postFile(path string, fields url.Values, fileField, name string, content []byte) *response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	keys := slices.SortedFunc(maps.Keys(fields), func(a, b string) int {
		return cmp.Or(-cmp.Compare(boolInt(a == "csrf"), boolInt(b == "csrf")), cmp.Compare(a, b))
	})
	for _, k := range keys {
		for _, v := range fields[k] {
			if err := mw.WriteField(k, v); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile(fileField, name)
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", c.s.srv.URL+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// sheetEntry is a catalog entry as a department writes it into a file:
// no code, the provider by name.
func sheetEntry(provider *cityhub.Department, class, name string, opts ...entryOpts) *cityhub.CatalogEntry {
	e := &cityhub.CatalogEntry{ClassificationCode: class, Name: name, ProviderName: provider.Name,
		Abstract: name + "的台账与运行状态。", Format: cityhub.FormatDatabase, UpdateCycle: cityhub.CycleDaily,
		ShareType: cityhub.Unconditional, ShareMethod: "接口调用", OpenType: cityhub.Unconditional, Domain: "urban",
		Tags: []string{"市政设施"},
		Items: []cityhub.DataItem{
			{Name: "编号", Code: "no", Type: "C", Length: 30, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
			{Name: "经度", Code: "lon", Type: "N", Length: 12, Sensitivity: cityhub.SensPublic},
		}}
	for _, o := range opts {
		o(e)
	}
	return e
}

func csvOf(t *testing.T, entries ...*cityhub.CatalogEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := catalogsheet.WriteCSV(&buf, entries, true); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var countPattern = regexp.MustCompile(`id="count-(received|created|updated|unchanged|skipped)">(\d+)<`)

// importCounts reads the report's counts and checks that they add up.
func importCounts(t *testing.T, r *response) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range countPattern.FindAllStringSubmatch(r.body, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) != 5 {
		t.Fatalf("report shows counts %v, want all five\n%s", got, r.body)
	}
	if got["created"]+got["updated"]+got["unchanged"]+got["skipped"] != got["received"] {
		t.Errorf("counts %v do not add up", got)
	}
	return got
}

func wantCounts(t *testing.T, r *response, received, created, updated, unchanged, skipped int) {
	t.Helper()
	got := importCounts(t, r)
	want := map[string]int{"received": received, "created": created, "updated": updated, "unchanged": unchanged, "skipped": skipped}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func (s *stack) catalogNames() []string {
	s.t.Helper()
	res, err := s.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Sort: "code", Limit: 1000})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

func TestCatalogImport(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	c := s.client()
	c.signIn("steward")

	form := c.get("/catalog/import")
	wantStatus(t, form, http.StatusOK)
	wantBody(t, form, `id="import-form"`, `enctype="multipart/form-data"`, `name="csrf"`, `type="file"`,
		`href="/catalog/template.xlsx"`, `id="import-check"`, `id="import-submit"`, `name="skip_invalid"`,
		`id="catalog-import" aria-current="page"`)
	wantNotBody(t, form, `name="keep_status"`) // stewards are no reviewers
	wantNoRawKeys(t, "/catalog/import", form)
	wantBody(t, c.get("/catalog"), `href="/catalog/import"`)
	wantBody(t, c.get("/"), `href="/catalog/import"`)

	// Rows 2–3, 4–5 (a format that does not exist) and 6–7.
	file := csvOf(t,
		sheetEntry(s.city, "209", "智慧路灯设施信息"),
		sheetEntry(s.city, "209", "窨井盖设施信息", func(e *cityhub.CatalogEntry) { e.Format = "软盘" }),
		sheetEntry(s.city, "211", "空气质量监测数据", func(e *cityhub.CatalogEntry) { e.Domain = "environment" }))
	csrf := hidden(form.body, "csrf")

	// Checking first writes nothing and names the row and column.
	r := c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}}, "目录.csv", file)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="import-report"`, `id="import-dry-run"`, `id="import-problems"`, "信息资源格式", "软盘",
		"<td class=\"nowrap\" data-label=\"行\">4</td>", "检查发现 2 个问题，涉及 1 个条目；其余 2 个条目没有问题", "目录.csv")
	wantCounts(t, r, 3, 0, 0, 0, 3)
	wantNoRawKeys(t, "import check", r)
	if got := s.catalogNames(); len(got) != 0 {
		t.Fatalf("a check wrote entries: %v", got)
	}

	// Importing without skipping imports nothing and says how to go on.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}}, "目录.csv", file)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "没有导入任何条目", "跳过有问题的条目", "信息资源格式", `data-label="行">4</td>`, `class="import-outcome none"`)
	wantNotBody(t, r, `id="import-dry-run"`)
	wantCounts(t, r, 3, 0, 0, 0, 3)
	if got := s.catalogNames(); len(got) != 0 {
		t.Fatalf("an import with problems wrote entries: %v", got)
	}

	// A check with skipping tells what an import would do; the options stay.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}, "skip_invalid": {"1"}}, "目录.csv", file)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "将跳过 1 个有问题的条目", `name="skip_invalid" id="skip_invalid" value="1" checked`)
	wantCounts(t, r, 3, 2, 0, 0, 1)
	if got := s.catalogNames(); len(got) != 0 {
		t.Fatalf("a check wrote entries: %v", got)
	}

	// Skipping imports the valid entries.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}, "skip_invalid": {"1"}}, "目录.csv", file)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "已导入有效条目", `id="import-skipped-rows"`, "第 4 行", `class="import-outcome partial"`)
	wantCounts(t, r, 3, 2, 0, 0, 1)
	if got, want := s.catalogNames(), []string{"智慧路灯设施信息", "空气质量监测数据"}; !slices.Equal(got, want) {
		t.Fatalf("entries after the import: %v, want %v", got, want)
	}

	// The same file again: those two are unchanged, the fixed one is new.
	fixed := csvOf(t, sheetEntry(s.city, "209", "窨井盖设施信息"))
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}}, "fixed.CSV", fixed)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "导入完成：新建 1 个", `class="import-outcome ok"`)
	wantCounts(t, r, 1, 1, 0, 0, 0)

	// Another department's entry is not the steward's to import.
	other := csvOf(t, sheetEntry(s.district, "209", "海曙区路灯改造计划"))
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}, "skip_invalid": {"1"}}, "other.csv", other)
	wantStatus(t, r, http.StatusOK)
	wantCounts(t, r, 1, 0, 0, 0, 1)
	wantBody(t, r, `id="import-problems"`, "全部 1 个条目都有问题")
	if slices.Contains(s.catalogNames(), "海曙区路灯改造计划") {
		t.Error("a steward imported another department's entry")
	}

	// Form problems: no file, a file of another kind, a missing sheet, an unreadable workbook.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}}, "", nil)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="file-error"`, "请选择要导入的", `id="error-summary"`, `href="#file"`)
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}}, "目录.txt", file)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="file-error"`, "只能导入")
	var book bytes.Buffer
	if err := catalogsheet.WriteXLSX(&book, nil, catalogsheet.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}, "sheet": {"Sheet9"}}, "目录.xlsx", book.Bytes())
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="sheet-error"`, "Sheet9", `value="Sheet9"`)
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}}, "目录.xlsx", file)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="file-error"`, "无法读取该文件")

	// Keeping statuses is for reviewers.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"check"}, "keep_status": {"1"}}, "目录.csv", fixed)
	wantStatus(t, r, http.StatusForbidden)

	// The upload needs the session's CSRF value like any other post.
	r = c.upload("/catalog/import", url.Values{"action": {"import"}}, "目录.csv", fixed)
	wantStatus(t, r, http.StatusForbidden)
	r = c.upload("/catalog/import", url.Values{"csrf": {"wrong"}, "action": {"import"}}, "目录.csv", fixed)
	wantStatus(t, r, http.StatusForbidden)

	// In English too.
	en := c.get("/catalog/import?lang=en")
	wantStatus(t, en, http.StatusOK)
	wantBody(t, en, "Import catalog", "Check first", "Download the template", "at most 64 MiB")
	wantNoRawKeys(t, "/catalog/import?lang=en", en)
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}}, "目录.csv", file)
	wantBody(t, r, "Nothing was imported: the file has 2 problems in 1 entries", "Problems (2)")
	wantNoRawKeys(t, "import report in English", r)
	// A file without the header row is refused as a whole.
	r = c.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}, "skip_invalid": {"1"}}, "x.csv",
		[]byte("甲,乙,丙\r\n1,2,3\r\n"))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "The file as a whole has a problem", `data-label="Row">Whole file</td>`)
	wantCounts(t, r, 0, 0, 0, 0, 0)
	s.noErrorLogs()
}

func TestCatalogImportLimits(t *testing.T) {
	s := newStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	s.user("reader", s.city, cityhub.RoleConsumer)

	// Consumers may not import: no link, 403 on the page and the post.
	reader := s.client()
	reader.signIn("reader")
	wantNotBody(t, reader.get("/catalog"), `href="/catalog/import"`)
	wantNotBody(t, reader.get("/"), `href="/catalog/import"`)
	wantStatus(t, reader.get("/catalog/import"), http.StatusForbidden)
	csrf := reader.csrf()
	r := reader.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}}, "目录.csv",
		csvOf(t, sheetEntry(s.city, "209", "智慧路灯设施信息")))
	wantStatus(t, r, http.StatusForbidden)
	if got := s.catalogNames(); len(got) != 0 {
		t.Fatalf("a consumer imported %v", got)
	}

	// Administrators may keep statuses.
	admin := s.client()
	admin.signIn("admin")
	form := admin.get("/catalog/import")
	wantStatus(t, form, http.StatusOK)
	wantBody(t, form, `name="keep_status"`)
	csrf = hidden(form.body, "csrf")
	published := sheetEntry(s.district, "209", "海曙区智慧路灯设施信息", func(e *cityhub.CatalogEntry) {
		e.Status, e.PublishDate = cityhub.StatusPublished, "2026-01-05"
	})
	r = admin.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}, "keep_status": {"1"}},
		"目录.csv", csvOf(t, published))
	wantStatus(t, r, http.StatusOK)
	wantCounts(t, r, 1, 1, 0, 0, 0)
	res, err := s.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 || res.Entries[0].Status != cityhub.StatusPublished {
		t.Errorf("kept status: %+v", res.Entries)
	}

	// Over 64 MiB is refused before anything is read into the catalog: with
	// a session by the CSRF check, which reads the form…
	big := bytes.Repeat([]byte("x"), 65<<20)
	r = admin.upload("/catalog/import", url.Values{"csrf": {csrf}, "action": {"import"}}, "big.csv", big)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.body, "64 MiB") {
		t.Errorf("the refusal does not name the limit: %s", r.body)
	}

	// …and with a token by the page, which says so in the console's words.
	r = admin.post("/tokens", url.Values{"csrf": {csrf}, "name": {"目录同步"}, "days": {"30"}, "scopes": {"read", "write"}})
	wantStatus(t, r, http.StatusOK)
	secret := between(r.body, `<code id="token-secret">`, `</code>`)
	bearer := s.client()
	tokenUpload := func(name string, content []byte) *response {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("action", "check")
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(content)
		mw.Close()
		req, _ := http.NewRequest("POST", s.srv.URL+"/catalog/import", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+secret)
		return bearer.do(req)
	}
	r = tokenUpload("big.csv", big)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	wantBody(t, r, "文件超过 64 MiB 的上限", `id="import-form"`)
	// A file larger than a form's 64 KiB is fine.
	padded := append(csvOf(t, sheetEntry(s.city, "209", "智慧路灯设施信息")), bytes.Repeat([]byte(",,,\r\n"), 50_000)...)
	r = tokenUpload("目录.csv", padded)
	wantStatus(t, r, http.StatusOK)
	wantCounts(t, r, 1, 1, 0, 0, 0)
	s.noErrorLogs()
}

func TestCatalogExport(t *testing.T) {
	s := newStack(t)
	s.user("reader", s.city, cityhub.RoleConsumer)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	lamps := s.entry(s.city, "209", "智慧路灯设施信息", func(e *cityhub.CatalogEntry) { e.Abstract = "=HYPERLINK(\"x\")" })
	air := s.entry(s.district, "211", "空气质量监测数据", func(e *cityhub.CatalogEntry) {
		e.Format, e.Domain = cityhub.FormatStream, "environment"
	})
	s.publish(lamps)
	s.publish(air)
	cityDraft := s.entry(s.city, "209", "窨井盖设施信息")
	s.entry(s.district, "209", "海曙区路灯改造计划") // another department's draft
	c := s.client()
	c.signIn("reader")

	// The search page offers both files with its filters.
	page := c.get("/catalog?format=stream&sort=name&q=" + url.QueryEscape("空气"))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, `id="export-xlsx"`, `id="export-csv"`, "导出 Excel", "导出 CSV")
	href := regexp.MustCompile(`href="([^"]*)" id="export-csv"`).FindStringSubmatch(page.body)
	if href == nil {
		t.Fatal("no CSV export link")
	}
	link, err := url.Parse(html.UnescapeString(href[1]))
	if err != nil {
		t.Fatal(err)
	}
	if link.Path != "/catalog/export.csv" || link.Query().Get("format") != "stream" || link.Query().Get("q") != "空气" {
		t.Errorf("export link %s does not keep the filters", link)
	}
	r := c.get(link.String())
	wantStatus(t, r, http.StatusOK)
	if names := csvNames(t, r); !slices.Equal(names, []string{"空气质量监测数据"}) {
		t.Errorf("filtered export holds %v", names)
	}

	// Everything the reader may see, and nothing else.
	r = c.get("/catalog/export.csv")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(r.body, "\uFEFF信息资源分类,") {
		t.Errorf("CSV does not start with a BOM and the header: %q", r.body[:min(len(r.body), 40)])
	}
	if !strings.Contains(r.body, `'=HYPERLINK`) {
		t.Error("a formula-like value is not defused")
	}
	want := visibleNames(t, s, "reader")
	if got := csvNames(t, r); !slices.Equal(got, want) {
		t.Errorf("export holds %v, want what the reader sees: %v", got, want)
	}
	if !slices.Contains(want, cityDraft.Name) || slices.Contains(want, "海曙区路灯改造计划") {
		t.Errorf("the reader sees %v: want the own department's draft, not another's", want)
	}

	// The workbook holds the same and reads back as it was written.
	r = c.get("/catalog/export.xlsx")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type %q", ct)
	}
	rows, problems, err := catalogsheet.ReadXLSX(strings.NewReader(r.body), "", nil)
	if err != nil || len(problems) > 0 {
		t.Fatalf("read the export: %v %v", err, problems)
	}
	var got []string
	for _, row := range rows {
		got = append(got, row.Entry.Name)
		stored, err := s.store.EntryByCode(context.Background(), row.Entry.Code)
		if err != nil {
			t.Fatalf("exported code %q: %v", row.Entry.Code, err)
		}
		if row.Entry.Abstract != stored.Abstract || len(row.Entry.Items) != len(stored.Items) ||
			row.Entry.Items[0].Name != stored.Items[0].Name || row.Entry.Format != stored.Format {
			t.Errorf("%s does not round-trip: %+v", stored.Name, row.Entry)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("workbook holds %v, want %v", got, want)
	}

	// Imported again, the whole catalog is unchanged.
	admin := s.client()
	admin.signIn("admin")
	all := admin.get("/catalog/export.xlsx")
	wantStatus(t, all, http.StatusOK)
	imp := admin.upload("/catalog/import", url.Values{"csrf": {admin.csrf()}, "action": {"check"}, "keep_status": {"1"}},
		"catalog.xlsx", []byte(all.body))
	wantStatus(t, imp, http.StatusOK)
	wantCounts(t, imp, 4, 0, 0, 4, 0)
	wantNotBody(t, imp, `id="import-problems"`)

	// Each export is audited.
	recs, err := s.store.AuditRecords(context.Background(), cityhub.AuditFilter{Action: "catalog.export", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[len(recs)-1].Actor != "reader" {
		t.Errorf("catalog.export records: %d (%+v)", len(recs), recs)
	}

	// A malformed filter is a clear 400, not a file.
	r = c.get("/catalog/export.csv?format=bogus")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "bogus")

	// The template is a blank workbook with the header row.
	r = c.get("/catalog/template.xlsx")
	wantStatus(t, r, http.StatusOK)
	sheet, err := catalogsheet.DecodeXLSX(strings.NewReader(r.body), "", nil)
	if err != nil || len(sheet.Rows) != 0 || len(sheet.Problems) != 0 || sheet.HeaderRow != 1 {
		t.Errorf("template: %v, %+v", err, sheet)
	}

	// Signed out, there is nothing to download.
	wantStatus(t, s.client().get("/catalog/export.csv"), http.StatusSeeOther)
	s.noErrorLogs()
}

func csvNames(t *testing.T, r *response) []string {
	t.Helper()
	rows, problems, err := catalogsheet.ReadCSV(strings.NewReader(r.body), nil)
	if err != nil || len(problems) > 0 {
		t.Fatalf("read the CSV: %v %v", err, problems)
	}
	var out []string
	for _, row := range rows {
		out = append(out, row.Entry.Name)
	}
	slices.Sort(out)
	return out
}

// visibleNames are the names of the entries username may see.
func visibleNames(t *testing.T, s *stack, username string) []string {
	t.Helper()
	u, _, err := s.store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.SearchCatalog(context.Background(), cityhub.CatalogQuery{Scope: cityhub.ScopeOf(u), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

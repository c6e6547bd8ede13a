package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// companyItems are the data items of the test tables: a public key, a
// required name, a sensitive mobile number, a secret citizen ID and a
// number.
var companyItems = []cityhub.DataItem{
	{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
	{Name: "企业名称", Code: "name", Type: "C", Length: 100, Required: true, Sensitivity: cityhub.SensPublic},
	{Name: "联系手机", Code: "mobile", Type: "C", Length: 11, Sensitivity: cityhub.SensSensitive},
	{Name: "法定代表人身份号码", Code: "legal_rep_id", Type: "C", Length: 18, Sensitivity: cityhub.SensSecret},
	{Name: "注册资本", Code: "capital", Type: "N", Length: 18, Sensitivity: cityhub.SensPublic},
}

const companyHeader = "统一社会信用代码,企业名称,联系手机,法定代表人身份号码,注册资本\n"

// citizenID makes a valid 18-digit citizen ID numbered n.
func citizenID(t testing.TB, n int) string {
	t.Helper()
	first := fmt.Sprintf("33020319850612%03d", n%1000)
	c, err := cityhub.CitizenIDCheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

// companyRow is one valid CSV line of the test tables.
func companyRow(t testing.TB, n int) string {
	return fmt.Sprintf("%s,企业%03d,13805741%03d,%s,%d\n", creditCode(t, 1000+n), n, n%1000, citizenID(t, n), 100+n)
}

func companyCSV(t testing.TB, from, to int) string {
	var b strings.Builder
	b.WriteString(companyHeader)
	for i := from; i < to; i++ {
		b.WriteString(companyRow(t, i))
	}
	return b.String()
}

// tableEntry is a published 数据库 entry of the city with companyItems.
func (s *stack) tableEntry(name string) *cityhub.CatalogEntry {
	s.t.Helper()
	e := s.entry(s.city, "102", name, func(e *cityhub.CatalogEntry) {
		e.Items = append([]cityhub.DataItem(nil), companyItems...)
		e.Domain = "market"
	})
	s.publish(e)
	return e
}

// load loads CSV text into e through the loader, as a department's file.
func (s *stack) load(e *cityhub.CatalogEntry, mode, text string) *cityhub.LoadJob {
	s.t.Helper()
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "loader-test"})
	job, err := loader.Load(ctx, s.store, e, strings.NewReader(text), int64(len(text)),
		loader.Options{Mode: mode, Source: "test.csv", Read: tabular.Options{Format: tabular.CSV}})
	if err != nil {
		s.t.Fatalf("load %s: %v", e.Name, err)
	}
	return job
}

// uploadData posts the data page's load form with a file under "data_file".
func (c *client) uploadData(path string, fields url.Values, name string, content []byte) *response {
	c.t.Helper()
	return c.postFile(path, fields, "data_file", name, content)
}

// rawDataKey finds the data pages' message keys shown as themselves.
var rawDataKey = regexp.MustCompile(`\b(?:data|load|quality|mode|job|op|validator|encoding)\.[a-z_]+\b`)

func wantNoRawDataKeys(t *testing.T, path string, r *response) {
	t.Helper()
	wantNoRawKeys(t, path, r)
	for _, m := range rawDataKey.FindAllString(r.body, -1) {
		if m == "data.csv" || strings.HasPrefix(m, "data.go") {
			continue
		}
		t.Errorf("%s shows the raw message key %q", path, m)
	}
}

// text is the page's text content within the element with id, roughly:
// tags dropped, entities decoded, space collapsed.
func text(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	rest = rest[strings.Index(rest, ">")+1:]
	if end := strings.Index(rest, "</"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(rest, " "))), " ")
}

var dataRowRe = regexp.MustCompile(`(?s)<tbody>.*?</tbody>`)

// dataRows counts the preview table's rows.
func dataRows(body string) int {
	i := strings.Index(body, `id="data-table"`)
	if i < 0 {
		return -1
	}
	tb := dataRowRe.FindString(body[i:])
	if strings.Contains(tb, `id="data-empty"`) {
		return 0
	}
	return strings.Count(tb, "<tr")
}

func TestDataPreviewScope(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	s.user("reader", s.district, cityhub.RoleConsumer)
	e := s.tableEntry("企业联系信息")
	s.load(e, cityhub.LoadReplace, companyCSV(t, 0, 120))
	path := "/catalog/entries/" + id(e.ID) + "/data"

	// The provider's steward reads everything in the clear.
	st := s.client()
	st.signIn("steward")
	r := st.get(path)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="data-table"`, "法定代表人身份号码", citizenID(t, 0), "13805741000", "共 120 行", `id="load-form"`,
		`id="kpi-version">第 1 版<`)
	wantNotBody(t, r, `id="data-scope"`, "138****1000")
	wantNoRawDataKeys(t, path, r)

	// Someone outside the provider: the mobile masked, the secret column absent.
	c := s.client()
	c.signIn("reader")
	r = c.get(path)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "企业000", "138****1000", `id="data-scope"`, "脱敏", "共 120 行", "显示第 1–50 行")
	wantNotBody(t, r, "法定代表人身份号码", citizenID(t, 0), "13805741000", `id="load-form"`, "回滚到此版本")
	if n := dataRows(r.body); n != 50 {
		t.Errorf("first page shows %d rows, want 50", n)
	}
	// The masked item is no filter choice.
	if strings.Contains(between(r.body, `id="item"`, "</select>"), "联系手机") {
		t.Error("the masked item is offered as a filter")
	}

	// Keyset paging follows next_after.
	next := html.UnescapeString(regexp.MustCompile(`href="([^"]*)" rel="next" id="data-next"`).FindStringSubmatch(r.body)[1])
	if !strings.Contains(next, "after=50") {
		t.Errorf("next link %q, want after=50", next)
	}
	r = c.get(next)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "企业050", "企业099", `id="data-first"`)
	wantNotBody(t, r, "企业049<", "企业100")
	r = c.get(path + "?after=100")
	if n := dataRows(r.body); n != 20 {
		t.Errorf("last page shows %d rows, want 20", n)
	}
	wantNotBody(t, r, `id="data-next"`)

	// One condition and the text search; the total follows.
	r = c.get(path + "?" + url.Values{"item": {"注册资本"}, "op": {"gte"}, "value": {"210"}}.Encode())
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "共 10 行", "企业119", `<option value="注册资本" selected>`, `<option value="gte" selected>`)
	r = c.get(path + "?q=" + url.QueryEscape("企业01"))
	wantBody(t, r, "共 10 行")
	// The downloads carry the filters and answer the session's cookie.
	q := url.Values{"item": {"企业名称"}, "op": {"in"}, "value": {"企业001|企业002"}}
	r = c.get(path + "?" + q.Encode())
	wantBody(t, r, "共 2 行")
	csvHref := html.UnescapeString(regexp.MustCompile(`href="([^"]*)" id="download-csv"`).FindStringSubmatch(r.body)[1])
	for _, want := range []string{"/api/v1/catalog/entries/" + id(e.ID) + "/rows/export?", "file=csv", "bom=true",
		"filter=" + url.QueryEscape("企业名称:in:企业001|企业002")} {
		if !strings.Contains(csvHref, want) {
			t.Errorf("CSV link %q lacks %q", csvHref, want)
		}
	}
	for _, link := range []string{"download-xlsx", "download-json"} {
		if !strings.Contains(r.body, `id="`+link+`"`) {
			t.Errorf("no %s link", link)
		}
	}
	dl := c.get(csvHref)
	wantStatus(t, dl, http.StatusOK)
	if !strings.HasPrefix(dl.body, "\uFEFF") || strings.Count(dl.body, "\n") != 3 || !strings.Contains(dl.body, "138****1001") ||
		strings.Contains(dl.body, "身份号码") || strings.Contains(dl.body, "13805741001") {
		t.Errorf("export for the outsider:\n%s", dl.body)
	}
	// Filtering on a masked item is refused, with the page still there.
	r = c.get(path + "?" + url.Values{"filter": {"联系手机:eq:13805741001"}}.Encode())
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="error-summary"`, "无法按此条件查询", `id="data-filter"`)

	// The reads are audited.
	recs, err := s.store.AuditRecords(context.Background(), cityhub.AuditFilter{Action: "data.read", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	console := 0
	for _, rec := range recs {
		if strings.Contains(rec.Details, `"via":"console"`) && rec.Actor == "reader" {
			console++
		}
	}
	if console < 5 {
		t.Errorf("%d data.read audit records of the reader's pages, want one a page", console)
	}

	// The entry page has the data section; an entry of another format has none.
	r = c.get("/catalog/entries/" + id(e.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="entry-data"`, `id="entry-tabs"`, `href="/catalog/entries/`+id(e.ID)+`/data"`,
		`href="/catalog/entries/`+id(e.ID)+`/quality"`, `id="entry-data-rows">120<`, "第 1 版")
	wantNotBody(t, r, `id="entry-load-link"`)
	wantNoRawDataKeys(t, "entry", r)
	stream := s.entry(s.city, "209", "视频监控流", func(e *cityhub.CatalogEntry) { e.Format = cityhub.FormatStream })
	s.publish(stream)
	r = c.get("/catalog/entries/" + id(stream.ID))
	wantStatus(t, r, http.StatusOK)
	wantNotBody(t, r, `id="entry-data"`, `id="entry-tabs"`, "/data")
	wantStatus(t, c.get("/catalog/entries/"+id(stream.ID)+"/data"), http.StatusNotFound)
	wantStatus(t, c.get("/catalog/entries/"+id(stream.ID)+"/quality"), http.StatusNotFound)

	// English.
	r = c.get(path + "?lang=en")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Data preview", "120 rows", "masked")
	wantNoRawDataKeys(t, path, r)
	s.noErrorLogs()
}

// loadVia posts a file through the load form and follows the redirect to
// the job's page once the load is done; it returns the page and its path.
func loadVia(t *testing.T, c *client, e *cityhub.CatalogEntry, fields url.Values, name, content string) (*response, string) {
	t.Helper()
	fields.Set("csrf", c.csrf())
	r := c.uploadData("/catalog/entries/"+id(e.ID)+"/data/load", fields, name, []byte(content))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	if !regexp.MustCompile(`^/catalog/loads/\d+\?done=load_started$`).MatchString(loc) {
		t.Fatalf("after the upload Location %q, want the job's page", loc)
	}
	c.s.console.WaitLoads()
	page := c.get(loc)
	wantStatus(t, page, http.StatusOK)
	wantNotBody(t, page, `http-equiv="refresh"`)
	return page, strings.TrimSuffix(loc, "?done=load_started")
}

func TestDataUploadWithBadRow(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	s.user("reader", s.district, cityhub.RoleConsumer)
	e := s.tableEntry("企业联系信息")
	st := s.client()
	st.signIn("steward")

	r := st.get("/catalog/entries/" + id(e.ID) + "/data")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="load-form"`, "尚未加载数据", `id="mode-append" checked`)

	bad := companyHeader + companyRow(t, 1) + creditCode(t, 2002) + ",坏企业,12345," + citizenID(t, 2) + ",5\n" + companyRow(t, 3)
	job, jobPath := loadVia(t, st, e, url.Values{"mode": {"append"}}, "企业.csv", bad)
	wantBody(t, job, "加载成功", `data-status="succeeded"`, `id="count-received">3<`, `id="count-stored">2<`,
		`id="count-rejected">1<`, `id="count-discarded">0<`, "企业.csv", "第 1 版")
	if got := text(job.body, "load-sum"); got != "✓ 接收 = 入库 + 拒绝 + 舍弃" {
		t.Errorf("load-sum %q", got)
	}
	rejects := between(job.body, `id="rejects-table"`, "</table>")
	for _, want := range []string{">3<", "联系手机", "12345"} {
		if !strings.Contains(rejects, want) {
			t.Errorf("rejected rows lack %q:\n%s", want, rejects)
		}
	}
	csvHref := html.UnescapeString(regexp.MustCompile(`href="([^"]*)" id="rejects-csv"`).FindStringSubmatch(job.body)[1])
	if !regexp.MustCompile(`^/api/v1/loads/\d+/rejects\?file=csv$`).MatchString(csvHref) {
		t.Errorf("rejects link %q", csvHref)
	}
	dl := st.get(csvHref)
	wantStatus(t, dl, http.StatusOK)
	if !strings.Contains(dl.body, "12345") || !strings.Contains(dl.body, "联系手机") {
		t.Errorf("rejects CSV:\n%s", dl.body)
	}
	wantNoRawDataKeys(t, "job", job)

	// Outside the provider the rejected value of a sensitive item is masked.
	c := s.client()
	c.signIn("reader")
	other := c.get(jobPath)
	wantStatus(t, other, http.StatusOK)
	wantBody(t, other, `id="rejects-table"`, "联系手机")
	wantNotBody(t, other, "12345")
	en := c.get(jobPath + "?lang=en")
	wantBody(t, en, "Load job #", "Rejected rows", "received = stored &#43; rejected &#43; discarded", "Mobile number")
	wantNoRawDataKeys(t, jobPath, en)

	// The table holds the two good rows as version 1.
	r = st.get("/catalog/entries/" + id(e.ID) + "/data")
	wantBody(t, r, "共 2 行", "企业001", "企业003", `id="kpi-version">第 1 版<`, `id="version-1"`)
	wantNotBody(t, r, "坏企业")

	// The quality report counts the rejected value against the mobile check.
	q := st.get("/catalog/entries/" + id(e.ID) + "/quality")
	wantStatus(t, q, http.StatusOK)
	wantBody(t, q, `id="quality-table"`, "联系手机", "手机号码", "66.7%", `id="quality-duplicates">0<`, "按时更新",
		`id="quality-check-bars"`, "统一社会信用代码（GB 32100）")
	wantNoRawDataKeys(t, "quality", q)
	q = st.get("/catalog/entries/" + id(e.ID) + "/quality?lang=en")
	wantBody(t, q, "Completeness", "Up to date")
	wantNoRawDataKeys(t, "quality", q)
	s.noErrorLogs()
}

func TestDataUploadBlockOnErrors(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	e := s.tableEntry("企业联系信息")
	s.load(e, cityhub.LoadReplace, companyCSV(t, 0, 2))
	st := s.client()
	st.signIn("steward")

	bad := companyHeader + companyRow(t, 10) + creditCode(t, 2011) + ",,13805741011,,1\n" + companyRow(t, 12)
	job, _ := loadVia(t, st, e, url.Values{"mode": {"replace"}, "block_on_errors": {"1"}}, "替换.csv", bad)
	wantBody(t, job, `data-status="failed"`, "加载失败，数据没有任何改变", `id="count-received">3<`, `id="count-stored">0<`,
		`id="count-rejected">1<`, `id="count-discarded">2<`, "有 1 行被拒绝",
		`id="load-block">是<`, "未生成版本", "企业名称", "必填")
	if got := text(job.body, "load-sum"); got != "✓ 接收 = 入库 + 拒绝 + 舍弃" {
		t.Errorf("load-sum %q", got)
	}

	// The table is unchanged: the two rows of version 1.
	r := st.get("/catalog/entries/" + id(e.ID) + "/data")
	wantBody(t, r, "共 2 行", "企业000", "企业001", `id="kpi-version">第 1 版<`, `<a href="/catalog/loads/`, "失败")
	wantNotBody(t, r, "企业010", "企业012")
	s.noErrorLogs()
}

func TestDataUploadRefusals(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	s.user("reader", s.city, cityhub.RoleConsumer)
	s.user("other", s.district, cityhub.RoleSteward)
	e := s.tableEntry("企业联系信息")
	path := "/catalog/entries/" + id(e.ID) + "/data/load"
	file := []byte(companyCSV(t, 0, 2))

	// A consumer, even of the provider, and another department's steward
	// may not load.
	for _, who := range []string{"reader", "other"} {
		c := s.client()
		c.signIn(who)
		r := c.get("/catalog/entries/" + id(e.ID) + "/data")
		wantStatus(t, r, http.StatusOK)
		wantNotBody(t, r, `id="load-form"`)
		r = c.uploadData(path, url.Values{"csrf": {c.csrf()}, "mode": {"append"}}, "a.csv", file)
		wantStatus(t, r, http.StatusForbidden)
	}
	jobs, err := s.store.LoadJobs(context.Background(), e.ID)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("refused uploads made jobs: %v %v", jobs, err)
	}

	st := s.client()
	st.signIn("steward")
	csrf := st.csrf()
	// No file; no mode.
	r := st.uploadData(path, url.Values{"csrf": {csrf}, "mode": {"append"}}, "", nil)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="data_file-error"`, "请选择要加载的数据文件", `href="#data_file"`)
	r = st.uploadData(path, url.Values{"csrf": {csrf}, "header_row": {"0"}}, "a.csv", file)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="mode-error"`, `id="header_row-error"`, "加载方式", "表头所在行")
	// Columns that fit no item.
	r = st.uploadData(path, url.Values{"csrf": {csrf}, "mode": {"append"}, "sheet": {"Sheet9"}}, "b.csv", []byte("甲,乙\n1,2\n"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="data_file-error"`, "文件的列与信息项对不上", `value="Sheet9"`)
	// An old Excel file.
	r = st.uploadData(path, url.Values{"csrf": {csrf}, "mode": {"append"}}, "c.xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "无法读取该文件", ".xlsx")
	wantNoRawDataKeys(t, path, r)
	// Without the CSRF field the middleware refuses.
	r = st.uploadData(path, url.Values{"mode": {"append"}}, "a.csv", file)
	wantStatus(t, r, http.StatusForbidden)
	if jobs, _ := s.store.LoadJobs(context.Background(), e.ID); len(jobs) != 0 {
		t.Errorf("refused uploads made %d jobs", len(jobs))
	}

	// Upsert needs a primary key.
	nokey := s.entry(s.city, "102", "无主键表", func(e *cityhub.CatalogEntry) {
		e.Items = []cityhub.DataItem{{Name: "名称", Code: "name", Type: "C", Length: 20, Sensitivity: cityhub.SensPublic}}
	})
	r = st.uploadData("/catalog/entries/"+id(nokey.ID)+"/data/load", url.Values{"csrf": {csrf}, "mode": {"upsert"}}, "n.csv", []byte("名称\n甲\n"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "不能按主键更新", `id="mode-upsert" checked`)
	s.noErrorLogs()
}

func TestDataRollback(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	s.user("reader", s.city, cityhub.RoleConsumer)
	e := s.tableEntry("企业联系信息")
	s.load(e, cityhub.LoadReplace, companyCSV(t, 0, 2))
	s.load(e, cityhub.LoadAppend, companyCSV(t, 2, 5))
	path := "/catalog/entries/" + id(e.ID) + "/data"

	st := s.client()
	st.signIn("steward")
	r := st.get(path)
	wantBody(t, r, "共 5 行", `id="rollback-1"`, `id="version-2" class="current"`, `data-confirm="确定把数据回滚到第 1 版吗？`)
	wantNotBody(t, r, `id="rollback-2"`)

	// An earlier version can be read.
	r = st.get(path + "?version=1")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "共 2 行", `id="viewing-version"`, "第 1 版的数据", "version=1")

	// A consumer sees the versions but may not roll back.
	c := s.client()
	c.signIn("reader")
	r = c.get(path)
	wantBody(t, r, `id="versions-table"`)
	wantNotBody(t, r, `id="rollback-1"`)
	wantStatus(t, c.post(path+"/rollback", url.Values{"csrf": {c.csrf()}, "version": {"1"}}), http.StatusForbidden)

	// Rolling back to the current version is refused on the page.
	csrf := st.csrf()
	r = st.post(path+"/rollback", url.Values{"csrf": {csrf}, "version": {"2"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "无法回滚到第 2 版", `id="versions-table"`)

	r = st.post(path+"/rollback", url.Values{"csrf": {csrf}, "version": {"1"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != path+"?done=data_rolled_back" {
		t.Fatalf("Location %q", loc)
	}
	r = st.get(r.header.Get("Location"))
	wantBody(t, r, "已回滚", "共 2 行", `id="kpi-version">第 3 版<`, `id="version-3" class="current"`, "回滚到第 1 版", `id="rollback-2"`)
	info, err := s.store.Table(context.Background(), e.ID)
	if err != nil || info.Version != 3 || info.Rows != 2 {
		t.Errorf("after rollback: %+v %v", info, err)
	}
	wantNoRawDataKeys(t, path, r)
	s.noErrorLogs()
}

func TestDataJobPageRefreshesWhileRunning(t *testing.T) {
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	e := s.tableEntry("企业联系信息")
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "loader-test"})
	if _, err := s.store.PrepareTable(ctx, e); err != nil {
		t.Fatal(err)
	}
	job := &cityhub.LoadJob{EntryID: e.ID, Mode: cityhub.LoadAppend, Source: "big.csv", Format: "csv", BytesTotal: 4 << 20}
	if err := s.store.StartLoad(ctx, job); err != nil {
		t.Fatal(err)
	}
	job.Received, job.Stored, job.BytesRead = 10000, 10000, 1<<20
	if err := s.store.WriteRows(ctx, job, nil); err != nil {
		t.Fatal(err)
	}
	st := s.client()
	st.signIn("steward")
	r := st.get("/catalog/loads/" + id(job.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<meta http-equiv="refresh" content="2">`, `data-status="running"`, "正在加载", "1.0 MiB / 4.0 MiB · 25%",
		`width="25.0"`)
	wantNotBody(t, r, `id="load-rejects"`)
	wantNoRawDataKeys(t, "running job", r)

	// Meanwhile another load or a rollback is refused on the data page.
	path := "/catalog/entries/" + id(e.ID) + "/data"
	csrf := st.csrf()
	r = st.uploadData(path+"/load", url.Values{"csrf": {csrf}, "mode": {"append"}}, "a.csv", []byte(companyCSV(t, 0, 1)))
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "该表正有另一个加载在进行", `id="load-form"`, `<a href="/catalog/loads/`+id(job.ID)+`">进行中</a>`)
	r = st.post(path+"/rollback", url.Values{"csrf": {csrf}, "version": {"1"}})
	if r.status != http.StatusConflict && r.status != http.StatusBadRequest {
		t.Errorf("rollback during a load: status %d", r.status)
	}
	wantBody(t, r, "无法回滚到第 1 版")

	if err := s.store.FinishLoad(ctx, job, nil, "cancelled: test"); err != nil {
		t.Fatal(err)
	}
	r = st.get("/catalog/loads/" + id(job.ID))
	wantNotBody(t, r, `http-equiv="refresh"`)
	wantBody(t, r, `data-status="failed"`, "cancelled: test")
	wantStatus(t, st.get("/catalog/loads/999999"), http.StatusNotFound)
	s.noErrorLogs()
}

// A file over the old 64 MiB form limit streams through the console: the
// CSRF field is read from the body's head and the file goes on to disk.
func TestDataUploadLargerThanAForm(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 65 MiB")
	}
	s := newStack(t)
	s.user("steward", s.city, cityhub.RoleSteward)
	e := s.tableEntry("企业联系信息")
	st := s.client()
	st.signIn("steward")
	var b strings.Builder
	b.WriteString(companyHeader)
	rows := 0
	for b.Len() <= 65<<20 {
		b.WriteString(companyRow(t, rows))
		rows++
	}
	job, _ := loadVia(t, st, e, url.Values{"mode": {"append"}}, "大文件.csv", b.String())
	wantBody(t, job, `data-status="succeeded"`, fmt.Sprintf(`id="count-stored">%d<`, rows))
}

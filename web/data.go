package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/httpapi"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// The data behind catalog entries of format 电子表格 and 数据库: a preview of
// the rows within the caller's scope, downloads through the API's export,
// loads of files as background jobs, the table's versions with rollback
// and its quality report. The rules are the API's (httpapi/tables.go and
// loads.go): whoever sees the entry reads its rows in their scope
// (httpapi.RowScopeOf: outside the provider, secret items are left out and
// sensitive ones masked); the provider's stewards load and roll back.

// dataPageRows is the rows a preview page shows.
const dataPageRows = 50

// maxShownRejects bounds the rejected rows a job page lists; the CSV has
// them all.
const maxShownRejects = 500

// maxCellRunes shortens long texts in the preview.
const maxCellRunes = 80

// hasTable says whether an entry keeps rows: 电子表格 and 数据库.
func hasTable(e *cityhub.CatalogEntry) bool {
	return e.Format == cityhub.FormatSheet || e.Format == cityhub.FormatDatabase
}

func dataPath(id int64) string    { return entryPath(id) + "/data" }
func qualityPath(id int64) string { return entryPath(id) + "/quality" }
func loadPath(id int64) string    { return "/catalog/loads/" + strconv.FormatInt(id, 10) }

// dataEntryFromPath loads the {id} entry if the caller may see it and it
// keeps rows; other entries have no data pages.
func (c *Console) dataEntryFromPath(r *http.Request, u *cityhub.User) (*cityhub.CatalogEntry, error) {
	e, err := c.entryFromPath(r, u)
	if err != nil {
		return nil, err
	}
	if !hasTable(e) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d keeps no rows (format %s)", e.ID, e.Format)
	}
	return e, nil
}

// background is the context loads run in.
func (c *Console) background() context.Context {
	if c.Background != nil {
		return c.Background
	}
	return context.Background()
}

// WaitLoads blocks until every load started from the console has recorded
// its outcome.
func (c *Console) WaitLoads() { c.loads.Wait() }

// entryTabs are the tabs of an entry that keeps rows: the catalog entry,
// its data and its quality report.
type entryTabs struct {
	EntryTab string
	HasData  bool
}

// dataSummary is the state of an entry's table, for the entry page and the
// head of the data pages.
type dataSummary struct {
	Loaded  bool
	Version int
	Rows    int64
	Columns int
	LastJob *cityhub.LoadJob
	Jobs    []*cityhub.LoadJob
	CanLoad bool
}

func (c *Console) dataSummary(r *http.Request, e *cityhub.CatalogEntry, u *cityhub.User) (dataSummary, error) {
	s := dataSummary{CanLoad: u.CanEditCatalog(e.ProviderID)}
	info, err := c.Store.Table(r.Context(), e.ID)
	switch {
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
	case err != nil:
		return s, err
	default:
		s.Loaded, s.Version, s.Rows, s.Columns = true, info.Version, info.Rows, len(info.Columns)
	}
	jobs, err := c.Store.LoadJobs(r.Context(), e.ID)
	if err != nil {
		return s, err
	}
	if len(jobs) > 0 {
		s.LastJob = jobs[0]
	}
	s.Jobs = jobs[:min(len(jobs), 10)]
	return s, nil
}

// ----- page helpers -----

// JobStatus, ModeName and OpName name a load's status, a load mode and a
// filter operator in the page's language.
func (p *page) JobStatus(s string) string { return p.named("job.", s) }
func (p *page) ModeName(m string) string  { return p.named("mode.", m) }

// Count writes a whole number with thousands separators.
func (p *page) Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Bytes writes a size for people.
func (p *page) Bytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// ----- the data page: preview, downloads, loads, versions -----

type dataColumn struct {
	Name    string
	Code    string
	Masked  bool
	Numeric bool
}

type dataCell struct {
	Text  string
	Title string // the whole text when Text is shortened
	Null  bool
}

type versionLine struct {
	cityhub.TableVersion
	Current     bool
	CanRollback bool
}

// uploadForm is what the load form holds, kept when it is refused.
type uploadForm struct {
	Mode      string
	Block     bool
	Encoding  string
	Sheet     string
	HeaderRow string
}

type dataPageData struct {
	catalogTab
	entryTabs
	dataSummary
	E           *cityhub.CatalogEntry
	ViewVersion int // an earlier version being read; 0 is the current one
	Columns     []dataColumn
	Lines       [][]dataCell // the preview's rows
	Total       int64
	From, To    int64 // the rows shown, counted from the first page when known
	NextHref    string
	FirstHref   string
	// The filter form: one condition and a text search; further filter=
	// parameters (from a link) ride along as hidden fields.
	FilterItems  []option
	Ops          []option
	Item, Op     string
	Value        string
	ExtraFilters []string
	Q            string
	Filtered     bool
	ClearHref    string
	Hidden       []string // secret items left out for the caller
	Masked       []string // items shown masked
	CSV, JSON    string
	XLSX         string
	Versions     []versionLine
	MoreVersions int
	Upload       uploadForm
	Encodings    []option
	Modes        []option
	HasKey       bool
	MaxMiB       int
	MaxBytes     int64
}

// filterOps are the operators the form offers, as the rows API names them.
var filterOps = []string{cityhub.OpEq, cityhub.OpIn, cityhub.OpGte, cityhub.OpLte, cityhub.OpGt, cityhub.OpLt}

// loadEncodings are the encodings a file may be declared in; "" detects.
var loadEncodings = []string{"", "utf-8", "gb18030", "utf-16"}

var loadModes = []string{cityhub.LoadAppend, cityhub.LoadUpsert, cityhub.LoadReplace}

// dataParams reads the page's query: the form's one condition (item, op,
// value) and any filter= parameters as the rows API takes them, the text
// search and the version. The result is what links carry.
func dataParams(in url.Values) url.Values {
	out := url.Values{}
	if item, value := strings.TrimSpace(in.Get("item")), strings.TrimSpace(in.Get("value")); item != "" && value != "" {
		op := in.Get("op")
		if op == "" {
			op = cityhub.OpEq
		}
		out.Add("filter", item+":"+op+":"+value)
	}
	for _, f := range in["filter"] {
		if f = strings.TrimSpace(f); f != "" {
			out.Add("filter", f)
		}
	}
	if q := strings.TrimSpace(in.Get("q")); q != "" {
		out.Set("q", q)
	}
	if v := strings.TrimSpace(in.Get("version")); v != "" {
		out.Set("version", v)
	}
	return out
}

func withQuery(p string, q url.Values) string {
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

func (c *Console) entryData(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.dataEntryFromPath(r, p.User)
	if err != nil {
		return err
	}
	return c.renderData(w, r, p, http.StatusOK, e, uploadForm{Mode: cityhub.LoadAppend})
}

// renderData shows the data page; form is the load form's content. On a
// refused post the preview is the first page, unfiltered.
func (c *Console) renderData(w http.ResponseWriter, r *http.Request, p *page, status int, e *cityhub.CatalogEntry, form uploadForm) error {
	u := p.User
	sum, err := c.dataSummary(r, e, u)
	if err != nil {
		return err
	}
	d := dataPageData{catalogTab: catalogTabFor("", u), entryTabs: entryTabs{EntryTab: "data", HasData: true},
		dataSummary: sum, E: e, Upload: form, MaxMiB: maxLoadBytes >> 20, MaxBytes: maxLoadBytes}
	for _, it := range e.Items {
		if it.PrimaryKey {
			d.HasKey = true
		}
	}
	in := url.Values{}
	if r.Method == http.MethodGet {
		in = r.URL.Query()
	} else {
		p.url = &url.URL{Path: dataPath(e.ID)} // the language switch leads to the page, not the post
	}
	params := dataParams(in)
	allowed, masks := httpapi.RowScopeOf(u, e)
	for _, it := range e.Items {
		switch {
		case allowed != nil && !slices.Contains(allowed, it.Name):
			d.Hidden = append(d.Hidden, it.Name)
		case masks[it.Name] != "":
			d.Masked = append(d.Masked, it.Name)
		default:
			d.FilterItems = append(d.FilterItems, option{it.Name, it.Name})
		}
	}
	for _, op := range filterOps {
		d.Ops = append(d.Ops, option{op, p.named("op.", op)})
	}
	for _, enc := range loadEncodings {
		label := p.T("data.encoding_auto")
		if enc != "" {
			label = p.named("encoding.", enc)
		}
		d.Encodings = append(d.Encodings, option{enc, label})
	}
	for _, m := range loadModes {
		d.Modes = append(d.Modes, option{m, p.ModeName(m)})
	}
	d.Op = cityhub.OpEq
	for i, f := range params["filter"] {
		if i > 0 {
			d.ExtraFilters = append(d.ExtraFilters, f)
			continue
		}
		parts := strings.SplitN(f, ":", 3)
		if len(parts) == 3 {
			d.Item, d.Op, d.Value = parts[0], parts[1], parts[2]
		}
	}
	d.Q = params.Get("q")
	d.Filtered = len(params["filter"]) > 0 || d.Q != ""
	d.ClearHref = dataPath(e.ID)
	if v := params.Get("version"); v != "" {
		d.ClearHref = withQuery(dataPath(e.ID), url.Values{"version": {v}})
	}

	refused, err := c.previewRows(r, p, e, &d, params, in.Get("after"), allowed, masks)
	if err != nil {
		return err
	}
	if refused && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	if d.ViewVersion != 0 && d.ViewVersion == d.Version {
		d.ViewVersion = 0
	}

	vs, err := c.Store.TableVersions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	for i, v := range vs {
		if i == 30 {
			d.MoreVersions = len(vs) - i
			break
		}
		d.Versions = append(d.Versions, versionLine{TableVersion: v, Current: v.Version == d.Version,
			CanRollback: d.CanLoad && v.Version != d.Version})
	}
	p.formOrder = []string{"value", "data_file", "mode", "encoding", "sheet", "header_row", "version"}
	p.Title, p.Nav, p.Data = p.T("data.title")+" · "+e.Name, "catalog", d
	return c.render(w, r, p, status, "catalog_data")
}

// previewRows reads one page of rows in the caller's scope into d; a query
// the store refuses shows as the page's error, with no rows (refused).
func (c *Console) previewRows(r *http.Request, p *page, e *cityhub.CatalogEntry, d *dataPageData, params url.Values,
	after string, allowed []string, masks map[string]string) (refused bool, err error) {
	items := map[string]cityhub.DataItem{}
	for _, it := range e.Items {
		items[it.Name] = it
	}
	column := func(name string) dataColumn {
		it := items[name]
		return dataColumn{Name: name, Code: it.Code, Masked: masks[name] != "", Numeric: it.Type == "N" || it.Type == "Y"}
	}
	if !d.Loaded {
		for _, it := range e.Items {
			if allowed == nil || slices.Contains(allowed, it.Name) {
				d.Columns = append(d.Columns, column(it.Name))
			}
		}
		return false, nil
	}
	qv := maps.Clone(params)
	if after != "" {
		qv.Set("after", after)
	}
	qr := r.Clone(r.Context())
	qr.URL = &url.URL{Path: dataPath(e.ID), RawQuery: qv.Encode()}
	rq, err := httpapi.RowQueryFromRequest(qr, e.ID)
	if err == nil && rq.After < 0 {
		err = cityhub.Errorf(cityhub.EINVALID, "after must not be negative")
	}
	if err == nil {
		rq.Fields, rq.Sort, rq.Offset = nil, nil, 0
		rq.Limit, rq.Total = dataPageRows, true
		rq.AllowedItems, rq.Masks = allowed, masks
		var res *cityhub.RowResult
		if res, err = c.Store.QueryRows(r.Context(), rq); err == nil {
			return false, c.showRows(r, p, e, d, params, rq, res, column)
		}
	}
	if !c.queryRefused(p, err) {
		return false, err
	}
	for _, it := range e.Items {
		if allowed == nil || slices.Contains(allowed, it.Name) {
			d.Columns = append(d.Columns, column(it.Name))
		}
	}
	d.ViewVersion = rq.Version
	return true, nil
}

// queryRefused shows a refused row query (a filter on a number column with
// a word, a masked item, …) as the page's error; it reports false for any
// other error.
func (c *Console) queryRefused(p *page, err error) bool {
	var qe *cityhub.Error
	if !errors.As(err, &qe) || qe.Code != cityhub.EINVALID && qe.Code != cityhub.ENOTFOUND {
		return false
	}
	if qe.Code == cityhub.ENOTFOUND {
		p.Error = p.T("data.no_version")
		return true
	}
	var reasons []string
	for _, k := range slices.Sorted(maps.Keys(qe.Fields)) {
		reasons = append(reasons, qe.Fields[k])
	}
	if len(reasons) == 0 {
		reasons = append(reasons, qe.Message)
	}
	p.Error = p.Tf("data.query_refused", strings.Join(reasons, p.T("common.list_sep")))
	return true
}

func (c *Console) showRows(r *http.Request, p *page, e *cityhub.CatalogEntry, d *dataPageData, params url.Values,
	rq cityhub.RowQuery, res *cityhub.RowResult, column func(string) dataColumn) error {
	for _, f := range res.Fields {
		d.Columns = append(d.Columns, column(f))
	}
	for _, m := range res.Rows {
		row := make([]dataCell, len(res.Fields))
		for i, f := range res.Fields {
			row[i] = p.cell(m[f])
		}
		d.Lines = append(d.Lines, row)
	}
	if res.Total != nil {
		d.Total = *res.Total
	}
	if rq.Version != 0 {
		d.ViewVersion = res.Version
	}
	if rq.After == 0 && len(d.Lines) > 0 {
		d.From, d.To = 1, int64(len(d.Lines))
	}
	base := dataPath(e.ID)
	if res.Next != 0 {
		next := maps.Clone(params)
		next.Set("after", strconv.FormatInt(res.Next, 10))
		d.NextHref = withQuery(base, next)
	}
	if rq.After != 0 {
		d.FirstHref = withQuery(base, params)
	}
	// Downloads carry the same filters, search and version; the API
	// streams every matching row in the same scope.
	export := func(file string) string {
		q := maps.Clone(params)
		q.Set("file", file)
		if file == "csv" {
			q.Set("bom", "true")
		}
		return "/api/v1/catalog/entries/" + strconv.FormatInt(e.ID, 10) + "/rows/export?" + q.Encode()
	}
	d.CSV, d.JSON, d.XLSX = export("csv"), export("json"), export("xlsx")

	// A preview is a read of the data like the API's: it is audited.
	details, _ := json.Marshal(map[string]any{"rows": len(res.Rows), "filters": rq.Filters, "q": rq.Q,
		"version": rq.Version, "masked": slices.Sorted(maps.Keys(rq.Masks)), "via": "console"})
	rec := cityhub.NewAuditRecord(r.Context(), "data.read", "catalog:"+strconv.FormatInt(e.ID, 10),
		cityhub.OutcomeSuccess, string(details))
	return c.Store.AppendAudit(r.Context(), rec)
}

// cell shows one value: numbers as written, logicals in words, long texts
// shortened.
func (p *page) cell(v any) dataCell {
	switch x := v.(type) {
	case nil:
		return dataCell{Null: true}
	case float64:
		return dataCell{Text: strconv.FormatFloat(x, 'f', -1, 64)}
	case bool:
		if x {
			return dataCell{Text: p.T("data.true")}
		}
		return dataCell{Text: p.T("data.false")}
	case string:
		if utf8.RuneCountInString(x) > maxCellRunes {
			return dataCell{Text: string([]rune(x)[:maxCellRunes]) + "…", Title: x}
		}
		return dataCell{Text: x}
	}
	return dataCell{Text: fmt.Sprint(v)}
}

// ----- loading a file -----

// loadStarted passes a copy of the job to started once the store has
// registered it (as httpapi's startSignal).
type loadStarted struct {
	loader.Store
	started chan<- cityhub.LoadJob
	ok      *atomic.Bool
}

func (s loadStarted) StartLoad(ctx context.Context, job *cityhub.LoadJob) error {
	err := s.Store.StartLoad(ctx, job)
	if err == nil {
		s.ok.Store(true)
		select {
		case s.started <- *job:
		default:
		}
	}
	return err
}

// maxLoadBytes bounds a data file uploaded in the console, as the API does.
const maxLoadBytes = httpapi.MaxLoadUpload

// startLoad takes a file from the load form and loads it in the
// background, as the API's POST …/loads does: the file is spooled to disk
// first (the request's own copy goes when it ends), the job registered,
// and the browser sent to the job's page.
func (c *Console) startLoad(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	e, err := c.dataEntryFromPath(r, u)
	if err != nil {
		return err
	}
	if !u.CanEditCatalog(e.ProviderID) {
		return forbidden("load data into this entry (the provider's data stewards)")
	}
	// Files over 32 MiB wait in temporary files, not in memory.
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			p.Error = p.Tf("data.too_large", maxLoadBytes>>20)
			return c.renderData(w, r, p, http.StatusRequestEntityTooLarge, e, uploadForm{Mode: cityhub.LoadAppend})
		case errors.Is(err, http.ErrNotMultipart):
			p.Error, p.Fields = p.T("error.check_fields"), map[string]string{"data_file": p.T("data.choose_file")}
			return c.renderData(w, r, p, http.StatusBadRequest, e, uploadForm{Mode: cityhub.LoadAppend})
		}
		return cityhub.Errorf(cityhub.EINVALID, "reading the upload: %v", err)
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	form := uploadForm{Mode: r.PostFormValue("mode"), Block: r.PostFormValue("block_on_errors") != "",
		Encoding: r.PostFormValue("encoding"), Sheet: strings.TrimSpace(r.PostFormValue("sheet")),
		HeaderRow: strings.TrimSpace(r.PostFormValue("header_row"))}
	opts := loader.Options{Mode: form.Mode, BlockOnErrors: form.Block,
		Read: tabular.Options{Encoding: form.Encoding, Sheet: form.Sheet}}
	fields := cityhub.FieldErrors{}
	refuse := func(status int) error {
		p.Error, p.Fields = p.T("error.check_fields"), fields
		return c.renderData(w, r, p, status, e, form)
	}
	if !slices.Contains(loadModes, form.Mode) {
		fields.Add("mode", p.T("data.choose_mode"))
	} else if form.Mode == cityhub.LoadUpsert && !slices.ContainsFunc(e.Items, func(it cityhub.DataItem) bool { return it.PrimaryKey }) {
		fields.Add("mode", p.T("data.upsert_needs_key"))
	}
	if !slices.Contains(loadEncodings, form.Encoding) {
		fields.Add("encoding", p.T("data.bad_encoding"))
	}
	if form.HeaderRow != "" {
		n, err := strconv.Atoi(form.HeaderRow)
		if err != nil || n < 1 || n > 1000 {
			fields.Add("header_row", p.T("data.bad_header_row"))
		}
		opts.Read.HeaderRow = n
	}
	f, fh, err := r.FormFile("data_file")
	if err != nil {
		fields.Add("data_file", p.T("data.choose_file"))
		return refuse(http.StatusBadRequest)
	}
	defer f.Close()
	if fh.Size == 0 {
		fields.Add("data_file", p.T("data.empty_file"))
	}
	if len(fields) > 0 {
		return refuse(http.StatusBadRequest)
	}

	spool, err := c.spool(f)
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	head := make([]byte, 512)
	n, _ := io.ReadFull(spool, head)
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	name := path.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
	if opts.Read.Format, err = tabular.DetectFormat(name, fh.Header.Get("Content-Type"), head[:n]); err != nil {
		fields.Add("data_file", p.Tf("data.unreadable", cityhub.ErrorMessage(err)))
		return refuse(http.StatusBadRequest)
	}
	if opts.Read.Format != tabular.XLSX {
		opts.Read.Sheet = "" // one table per text file
	}
	opts.Source = name
	if name == "" || name == "." || name == "/" {
		opts.Source = "upload." + string(opts.Read.Format)
	}
	size := fh.Size

	// The load outlives the request: its context is the console's, with
	// the caller as the actor. The page answers once the job is
	// registered, or with the reason it could not start.
	started := make(chan cityhub.LoadJob, 1)
	failed := make(chan error, 1)
	var ok atomic.Bool
	ctx := cityhub.WithActor(c.background(), cityhub.ActorFrom(r.Context()))
	keep = true
	c.loads.Add(1)
	go func() {
		defer c.loads.Done()
		defer os.Remove(spool.Name())
		defer spool.Close()
		job, err := loader.Load(ctx, loadStarted{Store: c.Store, started: started, ok: &ok}, e, spool, size, opts)
		switch {
		case err != nil && ok.Load():
			c.log.ErrorContext(ctx, "load could not record its outcome", "entry", e.ID, "err", err)
		case err != nil:
			failed <- err
		default:
			c.log.InfoContext(ctx, "load finished", "entry", e.ID, "job", job.ID, "status", job.Status,
				"received", job.Received, "stored", job.Stored, "rejected", job.Rejected)
		}
	}()
	select {
	case err := <-failed:
		if cityhub.ErrorCode(err) == cityhub.ECONFLICT { // another load is running
			p.Error = p.Tf("data.load_conflict", cityhub.ErrorMessage(err))
			return c.renderData(w, r, p, http.StatusConflict, e, form)
		}
		if !p.loadRefused(fields, err, form) {
			return err
		}
		return refuse(http.StatusBadRequest)
	case job := <-started:
		return redirect(w, r, loadPath(job.ID), "load_started")
	}
}

// spool copies the upload to a file of its own, which the load reads after
// the request has ended.
func (c *Console) spool(src io.Reader) (*os.File, error) {
	dir := c.SpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "load-*")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// loadRefused turns why a load could not start (the file's columns do not
// fit the items, the file cannot be read, no such sheet) into field
// problems; it reports false for other errors.
func (p *page) loadRefused(fields cityhub.FieldErrors, err error, form uploadForm) bool {
	var le *cityhub.Error
	if !errors.As(err, &le) || le.Code != cityhub.EINVALID {
		return false
	}
	if len(le.Fields) > 0 {
		var problems []string
		for _, k := range slices.Sorted(maps.Keys(le.Fields)) {
			col, _ := strings.CutPrefix(k, "columns")
			col = strings.TrimPrefix(col, ".")
			if col == "" {
				problems = append(problems, le.Fields[k])
			} else {
				problems = append(problems, col+": "+le.Fields[k])
			}
		}
		fields.Add("data_file", p.Tf("data.columns_mismatch", strings.Join(problems, "; ")))
		return true
	}
	msg := cityhub.ErrorMessage(err)
	switch {
	case form.Sheet != "" && strings.Contains(msg, "sheet"):
		fields.Add("sheet", p.Tf("data.unreadable", msg))
	case form.HeaderRow != "" && strings.Contains(msg, "header"):
		fields.Add("header_row", p.Tf("data.unreadable", msg))
	default:
		fields.Add("data_file", p.Tf("data.unreadable", msg))
	}
	return true
}

// ----- rollback -----

func (c *Console) rollbackTable(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.dataEntryFromPath(r, p.User)
	if err != nil {
		return err
	}
	if !p.User.CanEditCatalog(e.ProviderID) {
		return forbidden("roll back this table (the provider's data stewards)")
	}
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil || version < 1 {
		return &cityhub.Error{Code: cityhub.EINVALID, Message: "choose a version to roll back to",
			Fields: map[string]string{"version": "an earlier version of this table"}}
	}
	if _, err := c.Store.RollbackTable(r.Context(), e.ID, version); err != nil {
		status := http.StatusConflict
		switch cityhub.ErrorCode(err) {
		case cityhub.ECONFLICT:
		case cityhub.EINVALID:
			status = http.StatusBadRequest
		default:
			return err
		}
		p.Error = p.Tf("data.rollback_refused", version, cityhub.ErrorMessage(err))
		return c.renderData(w, r, p, status, e, uploadForm{Mode: cityhub.LoadAppend})
	}
	return redirect(w, r, dataPath(e.ID), "data_rolled_back")
}

// ----- a load job -----

type rejectLine struct {
	cityhub.RowProblem
	Reason string
}

type loadPageData struct {
	catalogTab
	Job        *cityhub.LoadJob
	E          *cityhub.CatalogEntry
	Running    bool
	Pct        float64
	Width      string
	AddsUp     bool
	Rejects    []rejectLine
	Problems   int // problems the job kept
	RejectsCSV string
}

func (c *Console) loadJob(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	job, err := c.Store.LoadJob(r.Context(), id)
	if err != nil {
		return err
	}
	e, err := c.Store.Entry(r.Context(), job.EntryID)
	if err != nil || !p.User.CanSeeEntry(e) {
		return cityhub.Errorf(cityhub.ENOTFOUND, "load job %d not found", id)
	}
	d := loadPageData{catalogTab: catalogTabFor("", p.User), Job: job, E: e, Running: job.Status == cityhub.JobRunning,
		AddsUp: job.Received == job.Stored+job.Rejected+job.Discarded}
	switch {
	case job.BytesTotal > 0:
		d.Pct = min(100, 100*float64(job.BytesRead)/float64(job.BytesTotal))
	case !d.Running:
		d.Pct = 100
	}
	if !d.Running && job.Status == cityhub.JobSucceeded {
		d.Pct = 100
	}
	d.Width = fmt.Sprintf("%.1f", d.Pct)
	if !d.Running {
		problems, err := c.Store.RejectedRows(r.Context(), job.ID)
		if err != nil {
			return err
		}
		d.Problems = len(problems)
		// The values of rejected rows are data like any other: outside the
		// provider, secret items' values are left out and sensitive ones
		// masked, as the API's rejects do.
		allowed, masks := httpapi.RowScopeOf(p.User, e)
		items := map[string]cityhub.DataItem{}
		for _, it := range e.Items {
			items[it.Name] = it
		}
		for i, pr := range problems {
			if i == maxShownRejects {
				break
			}
			if allowed != nil {
				switch {
				case masks[pr.Column] != "":
					pr.Value = cityhub.Mask(masks[pr.Column], pr.Value)
				case !slices.Contains(allowed, pr.Column):
					pr.Value = ""
				}
			}
			d.Rejects = append(d.Rejects, rejectLine{RowProblem: pr, Reason: p.rejectReason(items[pr.Column], pr.Reason)})
		}
		if d.Problems > 0 {
			d.RejectsCSV = "/api/v1/loads/" + strconv.FormatInt(job.ID, 10) + "/rejects?file=csv"
		}
	} else {
		p.Refresh = 2
	}
	if !d.Running {
		p.Flash = "" // "the load has started": the outcome says more now
	}
	p.Title, p.Nav, p.Data = p.Tf("load.title", job.ID), "catalog", d
	return c.render(w, r, p, http.StatusOK, "catalog_load")
}

// ----- the quality report -----

type qualityColumn struct {
	cityhub.ColumnQuality
	Check         string
	CompleteWidth string
	ValidWidth    string
	Low           bool // under 90% complete
	Invalid       bool // any rejected value
}

type qualityCheck struct {
	Check    string
	Columns  []string
	Rejected int64
	Validity float64
	Width    string
}

type qualityData struct {
	catalogTab
	entryTabs
	E         *cityhub.CatalogEntry
	Q         *cityhub.TableQuality
	Loaded    bool
	Columns   []qualityColumn
	Checks    []qualityCheck
	Keys      []string
	Cycle     string
	DueAt     string
	Overdue   bool
	NoCycle   bool
	Received  int64
	LastJobID int64
}

func (c *Console) tableQuality(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.dataEntryFromPath(r, p.User)
	if err != nil {
		return err
	}
	d := qualityData{catalogTab: catalogTabFor("", p.User), entryTabs: entryTabs{EntryTab: "quality", HasData: true}, E: e,
		Cycle: p.Term("cycle", e.UpdateCycle)}
	for _, it := range e.Items {
		if it.PrimaryKey {
			d.Keys = append(d.Keys, it.Name)
		}
	}
	q, err := c.Store.TableQuality(r.Context(), e.ID)
	switch {
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
		q = &cityhub.TableQuality{EntryID: e.ID}
	case err != nil:
		return err
	default:
		d.Loaded = true
	}
	d.Q = q
	if q.LastLoad != nil {
		d.Received, d.LastJobID = q.LastLoad.Received, q.LastLoad.ID
	}
	checks := map[string]*qualityCheck{}
	var order []string
	for _, col := range q.Columns {
		check := p.T("data.check_type")
		if col.Validator != "" {
			check = p.named("validator.", col.Validator)
		}
		d.Columns = append(d.Columns, qualityColumn{ColumnQuality: col, Check: check,
			CompleteWidth: fmt.Sprintf("%.1f", 100*col.Completeness), ValidWidth: fmt.Sprintf("%.1f", 100*col.Validity),
			Low: q.Rows > 0 && col.Completeness < 0.9, Invalid: col.Rejected > 0})
		ch, ok := checks[check]
		if !ok {
			ch = &qualityCheck{Check: check}
			checks[check] = ch
			order = append(order, check)
		}
		ch.Columns = append(ch.Columns, col.Item)
		ch.Rejected += col.Rejected
	}
	for _, name := range order {
		ch := checks[name]
		ch.Validity = 1
		if d.Received > 0 {
			ch.Validity = 1 - float64(ch.Rejected)/float64(d.Received*int64(len(ch.Columns)))
		}
		ch.Width = fmt.Sprintf("%.1f", 100*ch.Validity)
		d.Checks = append(d.Checks, *ch)
	}
	// Named checks first, the type checks last.
	sort.SliceStable(d.Checks, func(i, j int) bool {
		return d.Checks[i].Check != p.T("data.check_type") && d.Checks[j].Check == p.T("data.check_type")
	})
	cycle := cityhub.CycleLength(e.UpdateCycle)
	d.NoCycle = cycle == 0
	if q.UpdatedAt != nil && cycle > 0 {
		due := q.UpdatedAt.Add(cycle)
		d.DueAt, d.Overdue = p.Time(due), c.now().After(due)
	}
	p.Title, p.Nav, p.Data = p.T("quality.title")+" · "+e.Name, "catalog", d
	return c.render(w, r, p, http.StatusOK, "catalog_quality")
}

// Pct1 writes a 0–1 share as a percentage, with one decimal below 100%.
func (p *page) Pct1(v float64) string {
	if v >= 1 {
		return "100%"
	}
	if v > 0.999 {
		return "99.9%"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// Join lists names with the language's separator.
func (p *page) Join(names []string) string { return strings.Join(names, p.T("common.list_sep")) }

var (
	rollbackNote = regexp.MustCompile(`^rollback to version (\d+)$`)
	blockedLoad  = regexp.MustCompile(`^(\d+) rows were rejected and the load was set to stop on errors: nothing was stored$`)
)

// VersionNote words a table version's note (the store writes English).
func (p *page) VersionNote(note string) string {
	if m := rollbackNote.FindStringSubmatch(note); m != nil {
		return p.Tf("data.rollback_note", m[1])
	}
	return note
}

// JobError words why a load failed, where the loader's message is known.
func (p *page) JobError(msg string) string {
	if m := blockedLoad.FindStringSubmatch(msg); m != nil {
		return p.Tf("load.blocked", m[1])
	}
	return msg
}

// rejectReason words why a value was rejected: a known reason in the
// page's language, else the loader's words after the check that failed.
func (p *page) rejectReason(it cityhub.DataItem, r string) string {
	if t := p.reason("", r); t != r {
		return t
	}
	if v := it.ValidatorName(); v != "" {
		return p.Tf("data.check_failed", p.named("validator.", v), r)
	}
	return r
}

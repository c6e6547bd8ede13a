package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

const (
	// previewRows is the rows a preview page shows.
	previewRows = 20
	// maxPreviewOffset bounds offset paging of the preview; deeper rows are
	// for the downloads and the API's keyset paging.
	maxPreviewOffset = 10_000
	// maxCellRunes shortens long texts in the preview.
	maxCellRunes = 60
	// shownDataVersions is how many versions of the data the history lists.
	shownDataVersions = 20
)

// packageName is the shape of a dataset's portal name: its resource code
// with a dash, e.g. 211-000123.
var packageName = regexp.MustCompile(`^\d{1,20}-\d{1,10}$`)

// publicEntry finds the {name} entry if the public may see it: by its
// package name, or by its CKAN package id (canonical reports whether name
// was the package name). Anything else is the one 404.
func (p *Portal) publicEntry(ctx context.Context, name string) (e *cityhub.CatalogEntry, canonical bool, err error) {
	switch {
	case packageName.MatchString(name):
		e, err = p.Store.EntryByCode(ctx, cityhub.CodeFromPackageName(name))
		canonical = true
	default:
		id, ok := cityhub.EntryIDFromPackageID(name)
		if !ok {
			return nil, false, notFound()
		}
		e, err = p.Store.Entry(ctx, id)
	}
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, false, notFound()
	}
	if err != nil {
		return nil, false, err
	}
	if !e.PublicMetadata() {
		return nil, false, notFound()
	}
	return e, canonical, nil
}

// column is one public column of a dataset's table.
type column struct {
	Name    string // data item name: the column's key in rows
	Code    string
	Type    string
	Numeric bool // N, Y
	Date    bool // D, T
}

// openTable is an entry whose rows the public may read: its table,
// loaded, and the columns of its public items. Anything else is a 404.
type openTable struct {
	E       *cityhub.CatalogEntry
	Info    *cityhub.TableInfo
	Columns []column
}

// Allowed are the items a row query may read: the public ones.
func (t *openTable) Allowed() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

func (t *openTable) column(name string) (column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return column{}, false
}

// tableOf returns the open table of a public entry, nil when its data is
// not open or there are no rows to show.
func (p *Portal) tableOf(ctx context.Context, e *cityhub.CatalogEntry) (*openTable, error) {
	if !e.PublicData() || !keepsRows(e) {
		return nil, nil
	}
	info, err := p.Store.Table(ctx, e.ID)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if info.Version == 0 {
		return nil, nil
	}
	public := map[string]cityhub.DataItem{}
	for _, it := range e.PublicItems() {
		public[it.Name] = it
	}
	t := &openTable{E: e, Info: info}
	for _, c := range info.Columns { // in the table's order
		it, ok := public[c.Item]
		if !ok {
			continue
		}
		t.Columns = append(t.Columns, column{Name: c.Item, Code: it.Code, Type: it.Type,
			Numeric: it.Type == "N" || it.Type == "Y", Date: it.Type == "D" || it.Type == "T"})
	}
	if len(t.Columns) == 0 {
		return nil, nil
	}
	return t, nil
}

// openTableFromPath is the {name} entry's open table, or the 404.
func (p *Portal) openTableFromPath(r *http.Request) (*openTable, error) {
	e, _, err := p.publicEntry(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	t, err := p.tableOf(r.Context(), e)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, notFound()
	}
	return t, nil
}

type cell struct {
	Text  string
	Title string // the whole text when shortened
	Null  bool
}

type download struct {
	Format, Label, Hint, Href string
}

type apiBox struct {
	PackageID, ResourceID string
	SearchURL, Curl       string
	PackageShowURL        string
	DumpURL               string
}

type option struct {
	Value, Label string
	Selected     bool
}

type chartForm struct {
	Y     []option
	X     []option
	Types []option
}

type historyItem struct {
	Version int
	Action  string
	At      string
	Changed []string
}

type datasetData struct {
	E            *cityhub.CatalogEntry
	Name         string // package name
	ProviderName string
	Items        []cityhub.DataItem
	Apply        string // 有条件开放: the application form
	PublicData   bool

	Table   *openTable
	Columns []column
	Rows    [][]cell
	Total   int64
	From    int64
	To      int64
	Q       string
	Pager   pager
	TooDeep bool // the page asked for lies past maxPreviewOffset

	Downloads  []download
	XLSXTooBig bool
	API        apiBox
	Chart      chartForm
	History    []historyItem
	Data       []cityhub.TableVersion
	DataMore   int // older data versions not listed

	Feedback *feedbackData // ratings and comments; nil without accounts
}

func (p *Portal) dataset(w http.ResponseWriter, r *http.Request, pg *page) error {
	ctx := r.Context()
	e, canonical, err := p.publicEntry(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	if !canonical {
		target := datasetPath(e)
		if q := r.URL.RawQuery; q != "" {
			target += "?" + q
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return nil
	}
	d, err := p.directory(ctx)
	if err != nil {
		return err
	}
	pg.dir = d
	dd := &datasetData{E: e, Name: e.PackageName(), ProviderName: e.ProviderName, Items: e.PublicItems(),
		PublicData: e.PublicData()}
	if dd.ProviderName == "" {
		dd.ProviderName = p.providerName(ctx, d, e.ProviderID)
	}
	if e.OpenType == cityhub.Conditional {
		dd.Apply = datasetPath(e) + "/apply"
	}
	t, err := p.tableOf(ctx, e)
	if err != nil {
		return err
	}
	if t != nil {
		if err := p.preview(r, pg, dd, t); err != nil {
			return err
		}
	}
	if dd.History, err = p.history(ctx, pg, e); err != nil {
		return err
	}
	if t != nil {
		versions, err := p.Store.TableVersions(ctx, e.ID)
		if err != nil {
			return err
		}
		slices.SortFunc(versions, func(a, b cityhub.TableVersion) int { return b.Version - a.Version })
		if len(versions) > shownDataVersions {
			dd.DataMore = len(versions) - shownDataVersions
			versions = versions[:shownDataVersions]
		}
		dd.Data = versions
	}
	if dd.Feedback, err = p.feedback(ctx, pg, e); err != nil {
		return err
	}
	// A view is the dataset's page as it opens, not each page of its
	// preview or search in it.
	if r.URL.Query().Get("page") == "" && r.URL.Query().Get("q") == "" {
		p.record(e.ID, cityhub.UseView)
	}
	pg.Title, pg.Nav, pg.Data = e.Name, "datasets", dd
	pg.Description = excerpt(e.Abstract, 150)
	pg.Charts = t != nil && len(dd.Chart.Y) > 0
	return p.render(w, r, pg, http.StatusOK, "dataset")
}

// preview fills in the rows of the preview page, the downloads, the API
// call that returns the same rows and the chart's choices.
func (p *Portal) preview(r *http.Request, pg *page, dd *datasetData, t *openTable) error {
	e := t.E
	dd.Table, dd.Columns = t, t.Columns
	dd.Q = strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(dd.Q) > 100 {
		dd.Q = string([]rune(dd.Q)[:100])
	}
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	if last := maxPreviewOffset/previewRows + 1; n > last {
		n, dd.TooDeep = last, true
	}
	offset := (n - 1) * previewRows
	rq := cityhub.RowQuery{EntryID: e.ID, Version: t.Info.Version, AllowedItems: t.Allowed(), Q: dd.Q,
		Offset: offset, Limit: previewRows, Total: true}
	res, err := p.Store.QueryRows(r.Context(), rq)
	if err != nil {
		return err
	}
	for _, m := range res.Rows {
		row := make([]cell, len(res.Fields))
		for i, f := range res.Fields {
			row[i] = pg.cell(m[f])
		}
		dd.Rows = append(dd.Rows, row)
	}
	if res.Total != nil {
		dd.Total = *res.Total
	}
	if len(dd.Rows) > 0 {
		dd.From, dd.To = int64(offset)+1, int64(offset+len(dd.Rows))
	}
	pages := int((dd.Total + previewRows - 1) / previewRows)
	pages = min(pages, maxPreviewOffset/previewRows+1)
	dd.Pager = pager{Page: n, Pages: max(pages, 1)}
	link := func(k int) string {
		q := url.Values{}
		if dd.Q != "" {
			q.Set("q", dd.Q)
		}
		if k > 1 {
			q.Set("page", strconv.Itoa(k))
		}
		s := datasetPath(e)
		if len(q) > 0 {
			s += "?" + q.Encode()
		}
		return s + "#preview"
	}
	if n > 1 {
		dd.Pager.Prev = link(n - 1)
	}
	if n < pages {
		dd.Pager.Next = link(n + 1)
	}

	base := datasetPath(e) + "/download/"
	dd.Downloads = []download{
		{"csv", pg.T("download.csv"), pg.T("download.csv_hint"), base + "csv"},
		{"csv-bom", pg.T("download.csv_bom"), pg.T("download.csv_bom_hint"), base + "csv-bom"},
		{"json", pg.T("download.json"), pg.T("download.json_hint"), base + "json"},
	}
	if t.Info.Rows < tabular.MaxXLSXRows {
		dd.Downloads = append(dd.Downloads, download{"xlsx", pg.T("download.xlsx"), pg.T("download.xlsx_hint"), base + "xlsx"})
	} else {
		dd.XLSXTooBig = true
	}

	// The API call that returns the rows on this page.
	origin := p.origin(r)
	rid := cityhub.ResourceID(e.ID)
	call := "resource_id=" + rid + "&limit=" + strconv.Itoa(previewRows)
	if offset > 0 {
		call += "&offset=" + strconv.Itoa(offset)
	}
	if dd.Q != "" {
		call += "&q=" + url.QueryEscape(dd.Q)
	}
	dd.API = apiBox{PackageID: cityhub.PackageID(e.ID), ResourceID: rid,
		SearchURL:      origin + "/api/3/action/datastore_search?" + call,
		PackageShowURL: origin + "/api/3/action/package_show?id=" + url.QueryEscape(e.PackageName()),
		DumpURL:        origin + "/datastore/dump/" + rid + "?format=csv"}
	dd.API.Curl = "curl -s '" + dd.API.SearchURL + "'"

	// The chart plots a numeric column over the rows, or over a date or
	// a text column.
	var firstDate string
	for _, c := range t.Columns {
		if c.Date && firstDate == "" {
			firstDate = c.Name
		}
	}
	for _, c := range t.Columns {
		if c.Numeric {
			dd.Chart.Y = append(dd.Chart.Y, option{c.Name, c.Name, len(dd.Chart.Y) == 0})
		}
	}
	dd.Chart.X = append(dd.Chart.X, option{"", pg.T("chart.row_order"), firstDate == ""})
	for _, c := range t.Columns {
		if c.Date {
			dd.Chart.X = append(dd.Chart.X, option{c.Name, c.Name, c.Name == firstDate})
		}
	}
	for _, c := range t.Columns {
		if !c.Date && !c.Numeric {
			dd.Chart.X = append(dd.Chart.X, option{c.Name, c.Name, false})
		}
	}
	// Many values over dates read best as points.
	scatter := firstDate != "" && t.Info.Rows > 200
	dd.Chart.Types = []option{{"line", pg.T("chart.line"), !scatter}, {"bar", pg.T("chart.bar"), false},
		{"scatter", pg.T("chart.scatter"), scatter}}
	return nil
}

// origin is the portal's address for the API examples.
func (p *Portal) origin(r *http.Request) string {
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// cell shows one value: numbers as written, logicals in words, long texts
// shortened.
func (pg *page) cell(v any) cell {
	switch x := v.(type) {
	case nil:
		return cell{Null: true}
	case float64:
		return cell{Text: strconv.FormatFloat(x, 'f', -1, 64)}
	case bool:
		if x {
			return cell{Text: pg.T("data.true")}
		}
		return cell{Text: pg.T("data.false")}
	case string:
		if utf8.RuneCountInString(x) > maxCellRunes {
			return cell{Text: string([]rune(x)[:maxCellRunes]) + "…", Title: x}
		}
		return cell{Text: x}
	}
	return cell{Text: tabular.CellText(v)}
}

// publicFields are the fields of an entry whose changes the history names:
// what the portal shows.
var publicFields = []string{"name", "abstract", "format", "open_type", "open_condition", "update_cycle",
	"publish_date", "tags", "domain"}

// history lists the versions of the entry the public saw, newest first,
// each with the public fields it changed. Drafts, reviews, withdrawals and
// notes stay inside.
func (p *Portal) history(ctx context.Context, pg *page, e *cityhub.CatalogEntry) ([]historyItem, error) {
	versions, err := p.Store.EntryVersions(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(versions, func(a, b *cityhub.CatalogVersion) int { return a.Version - b.Version })
	var out []historyItem
	var prev *cityhub.CatalogEntry
	for _, v := range versions {
		if v.Entry == nil || !v.Entry.PublicMetadata() {
			continue
		}
		h := historyItem{Version: v.Version, At: pg.Date(v.At)}
		if prev == nil || v.Action == string(cityhub.ActPublish) {
			h.Action = pg.T("history.published")
		} else {
			h.Action = pg.T("history.updated")
		}
		if prev != nil {
			changed := map[string]bool{}
			for _, c := range cityhub.Diff(prev, v.Entry) {
				if slices.Contains(publicFields, c.Field) {
					changed[c.Field] = true
				}
			}
			for _, f := range publicFields {
				if changed[f] {
					h.Changed = append(h.Changed, pg.T("field."+f))
				}
			}
			if !slices.Equal(publicItemNames(prev), publicItemNames(v.Entry)) || !sameItems(prev, v.Entry) {
				h.Changed = append(h.Changed, pg.T("field.items"))
			}
			if len(h.Changed) == 0 && v.Action != string(cityhub.ActPublish) {
				continue // a change of what the public does not see
			}
		}
		prev = v.Entry
		out = append(out, h)
	}
	slices.Reverse(out)
	return out, nil
}

func publicItemNames(e *cityhub.CatalogEntry) []string {
	var names []string
	for _, it := range e.PublicItems() {
		names = append(names, it.Name)
	}
	return names
}

// sameItems compares the public items' public facets.
func sameItems(a, b *cityhub.CatalogEntry) bool {
	ai, bi := a.PublicItems(), b.PublicItems()
	if len(ai) != len(bi) {
		return false
	}
	for i := range ai {
		x, y := ai[i], bi[i]
		if x.Name != y.Name || x.Code != y.Code || x.Type != y.Type || x.Length != y.Length || x.Description != y.Description {
			return false
		}
	}
	return true
}

package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/httpapi"
)

// The catalog pages: search with facets, the classification tree, one
// entry with its lifecycle, change requests and history. The entry form is
// in catalogform.go, the statistics in catalogstats.go. Who sees what
// follows the domain: cityhub.ScopeOf for searches, CanSeeEntry for one
// entry (others look absent), CanEditCatalog and CanTransition for changes.

// vocabularies by the names templates use.
var vocabularies = map[string][]cityhub.Term{
	"format":   cityhub.Formats,
	"share":    cityhub.ShareTypes,
	"open":     cityhub.OpenTypes,
	"cycle":    cityhub.UpdateCycles,
	"status":   cityhub.Statuses,
	"itemtype": cityhub.ItemTypes,
	"sens":     cityhub.Sensitivities,
}

// Term labels a vocabulary code in the page's language; unknown codes show
// as they are.
func (p *page) Term(kind, code string) string {
	for _, t := range vocabularies[kind] {
		if t.Code == code {
			return p.termLabel(t)
		}
	}
	return code
}

func (p *page) termLabel(t cityhub.Term) string {
	if p.Lang == "zh" {
		return t.ZH
	}
	return capitalize(t.EN)
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// option is one choice of a select box.
type option struct {
	Value, Label string
}

// Options lists a vocabulary for a select box.
func (p *page) Options(kind string) []option {
	terms := vocabularies[kind]
	out := make([]option, len(terms))
	for i, t := range terms {
		out[i] = option{t.Code, p.termLabel(t)}
	}
	return out
}

// IsTerm reports whether code belongs to the vocabulary.
func (p *page) IsTerm(kind, code string) bool {
	return slices.ContainsFunc(vocabularies[kind], func(t cityhub.Term) bool { return t.Code == code })
}

// SortOptions are the orders of the search results.
func (p *page) SortOptions() []option {
	return []option{{"relevance", p.T("catalog.sort_relevance")}, {"updated", p.T("catalog.sort_updated")},
		{"name", p.T("catalog.sort_name")}, {"code", p.T("catalog.sort_code")}}
}

// Date shows the calendar day of t in the city's zone.
func (p *page) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	loc := p.loc
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02")
}

// Inc counts from one.
func (p *page) Inc(i int) int { return i + 1 }

// ActionName names a lifecycle action or a version's action.
func (p *page) ActionName(a string) string { return p.named("action.", a) }

// DomainName names an open-data domain in the page's language.
func (p *page) domainName(d *cityhub.Domain) string {
	if p.Lang == "zh" || d.EN == "" {
		return d.Name
	}
	return d.EN
}

// catalogRef is what the catalog pages look codes up in: the
// classification tree, the domains and department names.
type catalogRef struct {
	classes     []*cityhub.Classification
	classByCode map[string]*cityhub.Classification
	domains     map[string]*cityhub.Domain
	domainList  []*cityhub.Domain
	depts       map[int64]string
}

func (c *Console) catalogRef(r *http.Request, scope cityhub.CatalogScope) (*catalogRef, error) {
	ref := &catalogRef{classByCode: map[string]*cityhub.Classification{}, domains: map[string]*cityhub.Domain{},
		depts: map[int64]string{}}
	var err error
	if ref.classes, err = c.Store.Classifications(r.Context(), scope); err != nil {
		return nil, err
	}
	for _, cl := range ref.classes {
		ref.classByCode[cl.Code] = cl
	}
	if ref.domainList, err = c.Store.Domains(r.Context()); err != nil {
		return nil, err
	}
	for _, d := range ref.domainList {
		ref.domains[d.Code] = d
	}
	ds, err := c.allDepartments(r)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		ref.depts[d.ID] = d.Name
	}
	return ref, nil
}

func (ref *catalogRef) className(code string) string {
	if cl, ok := ref.classByCode[code]; ok {
		return cl.Name
	}
	return ""
}

// classPath is the node and its ancestors, root first.
func (ref *catalogRef) classPath(code string) []*cityhub.Classification {
	var out []*cityhub.Classification
	for cl := ref.classByCode[code]; cl != nil; cl = ref.classByCode[cl.Parent] {
		out = append([]*cityhub.Classification{cl}, out...)
		if cl.Parent == "" {
			break
		}
	}
	return out
}

func (ref *catalogRef) deptName(id int64) string {
	if n, ok := ref.depts[id]; ok {
		return n
	}
	if id == 0 {
		return ""
	}
	return "#" + strconv.FormatInt(id, 10)
}

// entryRow is an entry in a result list.
type entryRow struct {
	*cityhub.CatalogEntry
	ClassName string
	Excerpt   string
}

func (ref *catalogRef) rows(es []*cityhub.CatalogEntry) []entryRow {
	out := make([]entryRow, len(es))
	for i, e := range es {
		out[i] = entryRow{CatalogEntry: e, ClassName: ref.className(e.ClassificationCode), Excerpt: excerpt(e.Abstract, 110)}
		if out[i].ClassName == e.ProviderName { // 部门信息资源 are named after their department
			out[i].ClassName = ""
		}
	}
	return out
}

// excerpt shortens s to about n characters.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// catalogTab marks the catalog's sub-navigation.
type catalogTab struct {
	Tab       string
	CanCreate bool
	CanImport bool
}

func catalogTabFor(tab string, u *cityhub.User) catalogTab {
	return catalogTab{Tab: tab, CanCreate: canCreateEntries(u), CanImport: canImport(u)}
}

// canCreateEntries: platform administrators, and stewards for their
// department.
func canCreateEntries(u *cityhub.User) bool {
	return u.HasRole(cityhub.RolePlatformAdmin) || u.HasRole(cityhub.RoleSteward) && u.DepartmentID != nil
}

// ----- search -----

// facetParams are the query parameters of the facets (cityhub.FacetNames).
var facetParams = map[string]string{"classification": "classification", "provider": "provider_id",
	"share_type": "share_type", "open_type": "open_type", "format": "format", "update_cycle": "update_cycle",
	"domain": "domain", "tag": "tag", "status": "status"}

// facetShown is how many values a facet shows before "more".
const facetShown = 6

type facetItem struct {
	Label        string
	Count        int
	Href         string
	Active       bool
	Children     []facetItem // 项 under a 类
	MoreChildren []facetItem
	MoreLabel    string
}

type facetGroup struct {
	Name  string
	Title string
	Items []facetItem
	More  []facetItem
}

// chip is an active filter, with the link that removes it.
type chip struct {
	Title, Label, Href string
}

type catalogSearchData struct {
	catalogTab
	Q         string
	Sort      string
	Keep      map[string]string // active filters, carried by the search form
	Chips     []chip
	ClearHref string
	Facets    []facetGroup
	Rows      []entryRow
	Total     int
	Pager     pager
	// ExportXLSX and ExportCSV download the results with the same query.
	ExportXLSX, ExportCSV string
}

func (c *Console) catalog(w http.ResponseWriter, r *http.Request, p *page) error {
	status := http.StatusOK
	cq, err := httpapi.CatalogQueryFromRequest(r)
	if err != nil {
		st, ok := formError(p, err)
		if !ok {
			return err
		}
		// Show the catalog unfiltered, with the problem above it.
		status, cq = st, cityhub.CatalogQuery{Scope: cityhub.ScopeOf(p.User)}
	}
	n := pageNumber(r)
	cq.Limit, cq.Offset, cq.Facets = pageSize, (n-1)*pageSize, true
	res, err := c.searcher().SearchCatalog(r.Context(), cq)
	if err != nil {
		return err
	}
	ref, err := c.catalogRef(r, cq.Scope)
	if err != nil {
		return err
	}
	d := catalogSearchData{catalogTab: catalogTabFor("search", p.User), Q: cq.Q, Sort: cq.Sort,
		Keep: map[string]string{}, Total: res.Total, Pager: newPager(p, r, n, res.Total), Rows: ref.rows(res.Entries)}
	if d.Sort == "" {
		// Relevance, which is the latest first when there are no words:
		// the select then keeps ranking by relevance once words are typed.
		d.Sort = "relevance"
	}
	current := url.Values{}
	if status == http.StatusOK {
		for _, name := range cityhub.FacetNames {
			if v := r.URL.Query().Get(facetParams[name]); v != "" {
				current.Set(facetParams[name], v)
				d.Keep[facetParams[name]] = v
			}
		}
	}
	link := func(change func(q url.Values)) string {
		q := url.Values{}
		for k, v := range current {
			q[k] = v
		}
		if cq.Q != "" {
			q.Set("q", cq.Q)
		}
		if cq.Sort != "" {
			q.Set("sort", cq.Sort)
		}
		change(q)
		if len(q) == 0 {
			return "/catalog"
		}
		return "/catalog?" + q.Encode()
	}
	exportQuery := url.Values{}
	for k, v := range current {
		exportQuery[k] = v
	}
	if cq.Q != "" {
		exportQuery.Set("q", cq.Q)
	}
	d.ExportXLSX, d.ExportCSV = exportLinks(exportQuery) // in code order, whatever the page's sort
	label := func(facet, value string) string {
		switch facet {
		case "classification":
			if name := ref.className(value); name != "" {
				return name
			}
		case "provider":
			id, _ := strconv.ParseInt(value, 10, 64)
			return ref.deptName(id)
		case "share_type":
			return p.Term("share", value)
		case "open_type":
			return p.Term("open", value)
		case "format":
			return p.Term("format", value)
		case "update_cycle":
			return p.Term("cycle", value)
		case "status":
			return p.Term("status", value)
		case "domain":
			if dm, ok := ref.domains[value]; ok {
				return p.domainName(dm)
			}
		}
		return value
	}
	item := func(facet string, v cityhub.FacetValue) facetItem {
		param := facetParams[facet]
		it := facetItem{Label: label(facet, v.Value), Count: v.Count, Active: current.Get(param) == v.Value}
		it.Href = link(func(q url.Values) {
			if it.Active {
				q.Del(param)
			} else {
				q.Set(param, v.Value)
			}
		})
		return it
	}
	for _, name := range cityhub.FacetNames {
		g := facetGroup{Name: name, Title: p.named("facet.", name)}
		vals := res.Facets[name]
		var items []facetItem
		if name == "classification" {
			items = classificationFacet(vals, func(v cityhub.FacetValue) facetItem { return item(name, v) },
				func(n int) string { return p.Tf("catalog.more", n) })
		} else {
			for _, v := range vals {
				items = append(items, item(name, v))
			}
		}
		if len(items) == 0 {
			continue
		}
		g.Items, g.More = splitFacet(items, facetShown)
		d.Facets = append(d.Facets, g)
	}
	if cq.Q != "" {
		d.Chips = append(d.Chips, chip{p.T("common.search"), cq.Q, link(func(q url.Values) { q.Del("q"); q.Del("sort") })})
	}
	for _, name := range cityhub.FacetNames {
		param := facetParams[name]
		if v := current.Get(param); v != "" {
			d.Chips = append(d.Chips, chip{p.named("facet.", name), label(name, v), link(func(q url.Values) { q.Del(param) })})
		}
	}
	if len(d.Chips) > 0 {
		d.ClearHref = "/catalog"
	}
	p.Title, p.Nav, p.Data = p.T("catalog.title"), "catalog", d
	return c.render(w, r, p, status, "catalog")
}

// classificationFacet nests the 项 under their 类: the 类 by code, the
// 项 by count, the smaller ones behind "more".
func classificationFacet(vals []cityhub.FacetValue, item func(cityhub.FacetValue) facetItem, more func(int) string) []facetItem {
	var out []facetItem
	tops := slices.Clone(vals)
	slices.SortFunc(tops, func(a, b cityhub.FacetValue) int { return strings.Compare(a.Value, b.Value) })
	for _, v := range tops {
		if len(v.Value) != 1 {
			continue
		}
		top := item(v)
		for _, sub := range vals { // most first, as the store sorts them
			if len(sub.Value) > 1 && strings.HasPrefix(sub.Value, v.Value) {
				top.Children = append(top.Children, item(sub))
			}
		}
		top.Children, top.MoreChildren = splitFacet(top.Children, facetShown-1)
		if len(top.MoreChildren) > 0 {
			top.MoreLabel = more(len(top.MoreChildren))
		}
		out = append(out, top)
	}
	return out
}

// splitFacet keeps the first n values in view (and an active one), the
// rest behind "more" when that hides more than two.
func splitFacet(items []facetItem, n int) (shown, more []facetItem) {
	if len(items) <= n+2 {
		return items, nil
	}
	items = slices.Clone(items)
	for i, it := range items {
		if it.Active && i >= n {
			items[n-1], items[i] = items[i], items[n-1]
		}
	}
	return items[:n], items[n:]
}

// ----- classification tree -----

type classNode struct {
	*cityhub.Classification
	Children []*classNode
}

type catalogTreeData struct {
	catalogTab
	Roots []*classNode
	Total int
}

func (c *Console) catalogTree(w http.ResponseWriter, r *http.Request, p *page) error {
	cs, err := c.Store.Classifications(r.Context(), cityhub.ScopeOf(p.User))
	if err != nil {
		return err
	}
	d := catalogTreeData{catalogTab: catalogTabFor("tree", p.User)}
	nodes := map[string]*classNode{}
	for _, cl := range cs { // parents come first: codes are sorted and prefixes
		n := &classNode{Classification: cl}
		nodes[cl.Code] = n
		if parent, ok := nodes[cl.Parent]; ok && cl.Parent != "" {
			parent.Children = append(parent.Children, n)
		} else {
			d.Roots = append(d.Roots, n)
			d.Total += cl.Count
		}
	}
	p.Title, p.Nav, p.Data = p.T("catalog.tree_title"), "catalog", d
	return c.render(w, r, p, http.StatusOK, "catalog_tree")
}

// ----- one entry -----

// entryFromPath loads the {id} entry if the caller may see it; others look
// absent, as in the API.
func (c *Console) entryFromPath(r *http.Request, u *cityhub.User) (*cityhub.CatalogEntry, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	e, err := c.Store.Entry(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !u.CanSeeEntry(e) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	return e, nil
}

func entryPath(id int64) string { return "/catalog/entries/" + strconv.FormatInt(id, 10) }

type relatedLink struct {
	Code, Name, Href string
}

type actionButton struct {
	Action      string
	Label       string
	NeedsReason bool
	Danger      bool
}

type changeRequestRow struct {
	*cityhub.ChangeRequest
	Overdue bool
}

type changeRow struct {
	Field, Before, After string
}

type versionRow struct {
	Version int
	Action  string
	Actor   string
	At      string
	Note    string
	Changes []changeRow
	Open    bool
}

type entryData struct {
	catalogTab
	entryTabs
	Data           *dataSummary // the table of a 电子表格 or 数据库 entry; nil for other formats
	E              *cityhub.CatalogEntry
	ClassPath      []*cityhub.Classification
	Domain         *cityhub.Domain
	DomainName     string
	Related        []relatedLink
	Actions        []actionButton
	CanEdit        bool
	EditBlocked    string
	CanDelete      bool
	ChangeRequests []changeRequestRow
	OpenChanges    int
	Versions       []versionRow
	Reason         string // a refused transition's reason, kept
	ChangeReason   string // a refused change request, kept
	Deadline       string
}

var transitions = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish, cityhub.ActReject, cityhub.ActWithdraw}

func (c *Console) entry(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.entryFromPath(r, p.User)
	if err != nil {
		return err
	}
	return c.renderEntry(w, r, p, http.StatusOK, e, entryData{})
}

// renderEntry shows e; d carries what a refused form left behind.
func (c *Console) renderEntry(w http.ResponseWriter, r *http.Request, p *page, status int, e *cityhub.CatalogEntry, d entryData) error {
	u := p.User
	ref, err := c.catalogRef(r, cityhub.ScopeOf(u))
	if err != nil {
		return err
	}
	d.catalogTab = catalogTabFor("", u)
	d.E, d.ClassPath = e, ref.classPath(e.ClassificationCode)
	if dm, ok := ref.domains[e.Domain]; ok {
		d.Domain, d.DomainName = dm, p.domainName(dm)
	}
	for _, code := range e.RelatedCodes {
		link := relatedLink{Code: code}
		other, err := c.Store.EntryByCode(r.Context(), code)
		switch {
		case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
		case err != nil:
			return err
		case u.CanSeeEntry(other):
			link.Name, link.Href = other.Name, entryPath(other.ID)
		}
		d.Related = append(d.Related, link)
	}
	for _, a := range transitions {
		if _, err := e.NextStatus(a, "x"); err != nil || !u.CanTransition(a, e.ProviderID) {
			continue
		}
		d.Actions = append(d.Actions, actionButton{Action: string(a), Label: p.ActionName(string(a)),
			NeedsReason: a == cityhub.ActReject || a == cityhub.ActWithdraw, Danger: a == cityhub.ActReject || a == cityhub.ActWithdraw})
	}
	if u.CanEditCatalog(e.ProviderID) {
		if e.Editable() {
			d.CanEdit = true
		} else {
			d.EditBlocked = p.named("catalog.locked_", e.Status)
		}
		d.CanDelete = !e.EverPublished && (e.Status == cityhub.StatusDraft || e.Status == cityhub.StatusRejected)
	}

	now := c.now()
	deadline := c.Policy.ChangeDeadline(now)
	d.Deadline = p.Tf("catalog.change_deadline", c.Policy.Workdays())
	crs, err := c.Store.ChangeRequests(r.Context(), e.ID)
	if err != nil {
		return err
	}
	for _, cr := range crs {
		row := changeRequestRow{ChangeRequest: cr, Overdue: cr.ResolvedAt == nil && cr.CreatedAt.Before(deadline)}
		if cr.ResolvedAt == nil {
			d.OpenChanges++
		}
		d.ChangeRequests = append(d.ChangeRequests, row)
	}

	vs, err := c.Store.EntryVersions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	views := httpapi.VersionViews(vs)
	prev := &cityhub.CatalogEntry{}
	rows := make([]versionRow, len(views))
	for i, v := range views {
		row := versionRow{Version: v.Version, Action: p.ActionName(v.Action), Actor: v.Actor, At: p.Time(v.At), Note: v.Note}
		for _, ch := range v.Changes {
			row.Changes = append(row.Changes, p.describeChange(ref, ch, prev, v.Entry))
		}
		row.Open = v.Action != "create" && v.Action != "import" && len(row.Changes) <= 12
		if v.Entry != nil {
			prev = v.Entry
		}
		rows[len(views)-1-i] = row // newest first
	}
	d.Versions = rows

	d.entryTabs = entryTabs{EntryTab: "entry", HasData: hasTable(e)}
	if hasTable(e) {
		sum, err := c.dataSummary(r, e, u)
		if err != nil {
			return err
		}
		d.Data = &sum
	}

	p.Title, p.Nav, p.Data = e.Name, "catalog", d
	return c.render(w, r, p, status, "catalog_entry")
}

// describeChange makes a version's change readable: the field's label and
// values in the page's language.
func (p *page) describeChange(ref *catalogRef, ch cityhub.Change, before, after *cityhub.CatalogEntry) changeRow {
	row := changeRow{Field: p.named("field.", ch.Field), Before: ch.Before, After: ch.After}
	value := func(f func(string) string) {
		if row.Before != "" {
			row.Before = f(row.Before)
		}
		if row.After != "" {
			row.After = f(row.After)
		}
	}
	switch ch.Field {
	case "classification_code":
		value(func(code string) string { return strings.TrimSpace(code + " " + ref.className(code)) })
	case "provider_id":
		value(func(s string) string {
			id, _ := strconv.ParseInt(s, 10, 64)
			if id == 0 {
				return ""
			}
			return ref.deptName(id)
		})
	case "format":
		value(func(s string) string { return p.Term("format", s) })
	case "share_type":
		value(func(s string) string { return p.Term("share", s) })
	case "open_type":
		value(func(s string) string { return p.Term("open", s) })
	case "update_cycle":
		value(func(s string) string { return p.Term("cycle", s) })
	case "status":
		value(func(s string) string { return p.Term("status", s) })
	case "domain":
		value(func(s string) string {
			if dm, ok := ref.domains[s]; ok {
				return p.domainName(dm)
			}
			return s
		})
	default:
		if name, ok := strings.CutPrefix(ch.Field, "items["); ok {
			name = strings.TrimSuffix(name, "]")
			row.Field = p.Tf("catalog.item_named", name)
			if it, ok := findItem(before, name); ok && ch.Before != "" {
				row.Before = p.describeItem(it)
			}
			if it, ok := findItem(after, name); ok && ch.After != "" {
				row.After = p.describeItem(it)
			}
		}
	}
	return row
}

func findItem(e *cityhub.CatalogEntry, name string) (cityhub.DataItem, bool) {
	if e == nil {
		return cityhub.DataItem{}, false
	}
	for _, it := range e.Items {
		if it.Name == name {
			return it, true
		}
	}
	return cityhub.DataItem{}, false
}

// describeItem is one data item on a line: 灯杆编号 (pole_no) · 字符型(30) · 公开 · 主键.
func (p *page) describeItem(it cityhub.DataItem) string {
	parts := []string{it.Name}
	if it.Code != "" {
		parts[0] += " (" + it.Code + ")"
	}
	typ := p.Term("itemtype", it.Type)
	if it.Length > 0 {
		typ += "(" + strconv.Itoa(it.Length) + ")"
	}
	parts = append(parts, typ, p.Term("sens", it.Sensitivity))
	if it.PrimaryKey {
		parts = append(parts, p.T("field.item_primary_key"))
	} else if it.Required {
		parts = append(parts, p.T("field.item_required"))
	}
	if it.Description != "" {
		parts = append(parts, it.Description)
	}
	return strings.Join(parts, " · ")
}

func (c *Console) transitionEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.entryFromPath(r, p.User)
	if err != nil {
		return err
	}
	action := cityhub.Transition(r.PostFormValue("action"))
	reason := r.PostFormValue("reason")
	if _, err := e.NextStatus(action, "x"); err != nil && cityhub.ErrorCode(err) == cityhub.EINVALID {
		return err // unknown action
	}
	if !p.User.CanTransition(action, e.ProviderID) {
		return forbidden(string(action) + " this entry")
	}
	if _, err := c.Store.TransitionEntry(r.Context(), e.ID, action, reason); err != nil {
		status, ok := formError(p, err)
		if !ok {
			return err
		}
		if status == http.StatusConflict {
			p.Error = p.Tf("catalog.transition_conflict", p.ActionName(string(action)), p.Term("status", e.Status))
		}
		return c.renderEntry(w, r, p, status, e, entryData{Reason: reason})
	}
	return redirect(w, r, entryPath(e.ID), "catalog_"+string(action))
}

func (c *Console) createChangeRequest(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.entryFromPath(r, p.User)
	if err != nil {
		return err
	}
	reason := r.PostFormValue("change_reason")
	cr := &cityhub.ChangeRequest{EntryID: e.ID, Reason: reason}
	if err := c.Store.CreateChangeRequest(r.Context(), cr); err != nil {
		status, ok := formError(p, err)
		if !ok {
			return err
		}
		if why, ok := p.Fields["reason"]; ok { // the form's field has its own name
			p.Fields = map[string]string{"change_reason": why}
		}
		return c.renderEntry(w, r, p, status, e, entryData{ChangeReason: reason})
	}
	return redirect(w, r, entryPath(e.ID), "change_requested")
}

func (c *Console) deleteEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.entryFromPath(r, p.User)
	if err != nil {
		return err
	}
	if !p.User.CanEditCatalog(e.ProviderID) {
		return forbidden("delete this entry")
	}
	if err := c.Store.DeleteEntry(r.Context(), e.ID); err != nil {
		if cityhub.ErrorCode(err) == cityhub.ECONFLICT {
			p.Error = p.T("catalog.delete_conflict") + " " + cityhub.ErrorMessage(err)
			return c.renderEntry(w, r, p, http.StatusConflict, e, entryData{})
		}
		return err
	}
	return redirect(w, r, "/catalog", "catalog_deleted")
}

package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

// listSize is the number of datasets on a page of results.
const listSize = 20

// maxPage bounds ?page=: deep pages of a search help nobody.
const maxPage = 500

// facetDef is one facet of the search: the catalog's facet name, the
// query parameter that sets it, and how its values are named.
type facetDef struct {
	Name  string // cityhub.FacetNames
	Param string
	Title string // message key
}

var facetDefs = []facetDef{
	{"domain", "domain", "facet.domain"},
	{"provider", "provider", "facet.provider"},
	{"format", "format", "facet.format"},
	{"update_cycle", "cycle", "facet.update_cycle"},
	{"open_type", "open", "facet.open_type"},
	{"tag", "tag", "facet.tag"},
}

// facetShown is how many values a facet shows before "more".
const facetShown = 8

type facetItem struct {
	Label  string
	Value  string
	Count  int
	Href   string
	Active bool
}

type facetGroup struct {
	Name, Param, Title string
	Items              []facetItem
	More               []facetItem
}

type chip struct {
	Title, Label, Href string
}

type sortOption struct {
	Value, Label string
	Selected     bool
}

type pager struct {
	Page, Pages int
	Prev, Next  string
}

type searchData struct {
	Q       string
	Keep    []keepParam // active filters, carried by the search form
	Sorts   []sortOption
	Chips   []chip
	Clear   string
	Facets  []facetGroup
	Results []*cityhub.CatalogEntry
	Total   int
	Pager   pager
	// Action is the page the search form and the links go to: the
	// search, or a provider's page.
	Action string
}

type keepParam struct{ Name, Value string }

// searchQuery reads the search parameters into a public catalog query.
func searchQuery(r *http.Request) (cityhub.CatalogQuery, url.Values) {
	qv := r.URL.Query()
	cq := cityhub.CatalogQuery{Public: true, Facets: true}
	cq.Q = strings.TrimSpace(qv.Get("q"))
	if utf8.RuneCountInString(cq.Q) > 100 {
		cq.Q = string([]rune(cq.Q)[:100])
	}
	current := url.Values{}
	for _, f := range facetDefs {
		v := strings.TrimSpace(qv.Get(f.Param))
		if v == "" {
			continue
		}
		switch f.Name {
		case "domain":
			cq.Domain = v
		case "provider":
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				continue
			}
			cq.ProviderID = id
		case "format":
			cq.Format = v
		case "update_cycle":
			cq.UpdateCycle = v
		case "open_type":
			if v != cityhub.Unconditional && v != cityhub.Conditional {
				continue
			}
			cq.OpenType = v
		case "tag":
			cq.Tag = v
		}
		current.Set(f.Param, v)
	}
	switch s := qv.Get("sort"); s {
	case "updated", "name":
		cq.Sort = s
	case "relevance":
		if cq.Q != "" {
			cq.Sort = s
		}
	}
	if cq.Sort == "" {
		cq.Sort = "updated"
		if cq.Q != "" {
			cq.Sort = "relevance"
		}
	}
	return cq, current
}

// pageNumber reads ?page=, 1-based.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}

func (p *Portal) datasets(w http.ResponseWriter, r *http.Request, pg *page) error {
	d, err := p.directory(r.Context())
	if err != nil {
		return err
	}
	pg.dir = d
	cq, current := searchQuery(r)
	sd, err := p.search(r, pg, d, cq, current, "/open/datasets", "")
	if err != nil {
		return err
	}
	pg.Title, pg.Nav, pg.Data = pg.T("search.title"), "datasets", sd
	if cq.Q != "" {
		pg.Title = pg.Tf("search.title_q", cq.Q)
	}
	return p.render(w, r, pg, http.StatusOK, "datasets")
}

// search runs cq and lays out the results, facets and links of base;
// fixed is a facet parameter the page sets itself (a provider's page),
// which its facet leaves out.
func (p *Portal) search(r *http.Request, pg *page, d *directory, cq cityhub.CatalogQuery, current url.Values,
	base, fixed string) (*searchData, error) {
	n := pageNumber(r)
	cq.Limit, cq.Offset = listSize, (n-1)*listSize
	res, err := p.searcher().SearchCatalog(r.Context(), cq)
	if err != nil {
		return nil, err
	}
	sd := &searchData{Q: cq.Q, Total: res.Total, Action: base}
	for _, e := range res.Entries {
		if e.PublicMetadata() { // the search promises it; the rule is checked where anything is shown
			sd.Results = append(sd.Results, e)
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
		if s := r.URL.Query().Get("sort"); s != "" {
			q.Set("sort", cq.Sort)
		}
		change(q)
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	}
	for _, f := range facetDefs {
		if v := current.Get(f.Param); v != "" {
			sd.Keep = append(sd.Keep, keepParam{f.Param, v})
		}
	}
	if s := r.URL.Query().Get("sort"); s != "" {
		sd.Keep = append(sd.Keep, keepParam{"sort", cq.Sort})
	}
	label := func(f facetDef, v string) string {
		switch f.Name {
		case "domain":
			return pg.DomainName(v)
		case "provider":
			id, _ := strconv.ParseInt(v, 10, 64)
			return p.providerName(r.Context(), d, id)
		case "format":
			return pg.Term("format", v)
		case "update_cycle":
			return pg.Term("cycle", v)
		case "open_type":
			return pg.Term("open", v)
		}
		return v
	}
	for _, f := range facetDefs {
		if f.Param == fixed {
			continue
		}
		g := facetGroup{Name: f.Name, Param: f.Param, Title: pg.T(f.Title)}
		var items []facetItem
		for _, v := range res.Facets[f.Name] {
			if f.Name == "open_type" && v.Value != cityhub.Unconditional && v.Value != cityhub.Conditional {
				continue
			}
			it := facetItem{Label: label(f, v.Value), Value: v.Value, Count: v.Count, Active: current.Get(f.Param) == v.Value}
			it.Href = link(func(q url.Values) {
				if it.Active {
					q.Del(f.Param)
				} else {
					q.Set(f.Param, v.Value)
				}
			})
			items = append(items, it)
		}
		if len(items) == 0 {
			continue
		}
		g.Items, g.More = splitFacet(items, facetShown)
		sd.Facets = append(sd.Facets, g)
	}
	if cq.Q != "" {
		sd.Chips = append(sd.Chips, chip{pg.T("search.words"), cq.Q, link(func(q url.Values) { q.Del("q"); q.Del("sort") })})
	}
	for _, f := range facetDefs {
		if v := current.Get(f.Param); v != "" && f.Param != fixed {
			sd.Chips = append(sd.Chips, chip{pg.T(f.Title), label(f, v), link(func(q url.Values) { q.Del(f.Param) })})
		}
	}
	if len(sd.Chips) > 0 {
		sd.Clear = base
	}
	if cq.Q != "" {
		sd.Sorts = append(sd.Sorts, sortOption{"relevance", pg.T("sort.relevance"), cq.Sort == "relevance"})
	}
	sd.Sorts = append(sd.Sorts, sortOption{"updated", pg.T("sort.updated"), cq.Sort == "updated"},
		sortOption{"name", pg.T("sort.name"), cq.Sort == "name"})

	pages := min((res.Total+listSize-1)/listSize, maxPage)
	sd.Pager = pager{Page: n, Pages: max(pages, 1)}
	pageLink := func(k int) string {
		return link(func(q url.Values) {
			if k > 1 {
				q.Set("page", strconv.Itoa(k))
			}
		})
	}
	if n > 1 {
		sd.Pager.Prev = pageLink(n - 1)
	}
	if n < pages {
		sd.Pager.Next = pageLink(n + 1)
	}
	return sd, nil
}

// splitFacet keeps the first n values in view (and an active one), the
// rest behind "more" when that hides more than two.
func splitFacet(items []facetItem, n int) (shown, more []facetItem) {
	if len(items) <= n+2 {
		return items, nil
	}
	for i, it := range items {
		if it.Active && i >= n {
			items[n-1], items[i] = items[i], items[n-1]
		}
	}
	return items[:n], items[n:]
}

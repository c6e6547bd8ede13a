package ckan

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Parameters package_search takes: the schema's and the rest of Solr's
// that CKAN lets through (VALID_SOLR_PARAMETERS), plus the flags it pops.
var searchParams = []string{"q", "fl", "fq", "fq_list", "rows", "sort", "start", "wt", "qf", "bf", "boost", "facet",
	"facet.mincount", "facet.limit", "facet.field", "facet.sort", "extras", "tie", "defType", "mm", "df",
	"include_private", "include_drafts", "include_deleted", "use_default_schema", "callback"}

const (
	defaultRows      = 10
	maxRows          = 1000
	defaultSort      = "score desc, metadata_modified desc"
	defaultFacetSize = 50
)

// Facet fields and the catalog facet each is counted from.
var facetSources = map[string]string{
	"organization": "provider", "groups": "domain", "tags": "tag", "res_format": "format",
	"license_id": "", "extras_update_cycle": "update_cycle", "extras_open_type": "open_type",
	"extras_resource_format": "format", "extras_classification_code": "classification",
}

// spec is a package search in the catalog's terms.
type spec struct {
	q       cityhub.CatalogQuery
	formats []string // nil: any; else one of these
	none    bool     // some clause matches nothing
	text    []string
}

func (sp *spec) setString(dst *string, v string) {
	if *dst != "" && *dst != v {
		sp.none = true // one value cannot equal two
	}
	*dst = v
}

// restrictFormats keeps the formats in both sets.
func (sp *spec) restrictFormats(fs []string) {
	if sp.formats == nil {
		sp.formats = fs
		return
	}
	sp.formats = slices.DeleteFunc(slices.Clone(sp.formats), func(f string) bool { return !slices.Contains(fs, f) })
	if len(sp.formats) == 0 {
		sp.none = true
	}
}

// token is a word of a query: field:value, "a phrase" or a bare word.
type token struct {
	field, value string
	quoted       bool
	raw          string
}

// tokenize splits a Solr-style query into words, keeping quoted values
// whole. unterminated tells whether a quote was left open.
func tokenize(s string) (toks []token, unterminated bool) {
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if isSpace(rs[i]) {
			i++
			continue
		}
		start := i
		var field string
		var value strings.Builder
		quoted := false
		for i < len(rs) && !isSpace(rs[i]) {
			switch {
			case rs[i] == '"':
				quoted = true
				i++
				for i < len(rs) && rs[i] != '"' {
					if rs[i] == '\\' && i+1 < len(rs) {
						i++
					}
					value.WriteRune(rs[i])
					i++
				}
				if i >= len(rs) {
					unterminated = true
				} else {
					i++
				}
			case rs[i] == ':' && field == "" && !quoted && value.Len() > 0 && isFieldName(value.String()):
				field = value.String()
				value.Reset()
				i++
			case (rs[i] == '[' || rs[i] == '{') && value.Len() == 0 && !quoted:
				// A range, [a TO b] or {a TO b}, spaces and all.
				for i < len(rs) {
					r := rs[i]
					value.WriteRune(r)
					i++
					if r == ']' || r == '}' {
						break
					}
				}
				if r := []rune(value.String()); r[len(r)-1] != ']' && r[len(r)-1] != '}' {
					unterminated = true
				}
			default:
				value.WriteRune(rs[i])
				i++
			}
		}
		toks = append(toks, token{field: field, value: value.String(), quoted: quoted, raw: string(rs[start:i])})
	}
	return toks, unterminated
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000' }

// isFieldName tells whether s can be a Solr field name (ASCII), so that
// Chinese text with a colon stays text.
func isFieldName(s string) bool {
	for i, r := range s {
		ok := r == '_' || r == '+' && i == 0 || r == '-' && i == 0 || r == '*' || r == '.' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return s != ""
}

// knownFields are the fields a clause may filter on.
var knownFields = []string{"organization", "owner_org", "groups", "tags", "res_format", "license_id", "metadata_modified",
	"extras_update_cycle", "extras_open_type", "extras_resource_format", "extras_classification_code", "text",
	"dataset_type", "type", "state", "capacity", "site_id"}

// clause applies field:value to sp. inQ tells whether the clause came from
// q, where an unknown field is taken as text.
func (c *call) clause(sp *spec, dir *directory, t token, inQ bool) error {
	field := strings.TrimPrefix(t.field, "+")
	if strings.HasPrefix(field, "-") {
		return searchError("negated clauses (%s) are not supported", t.raw)
	}
	v := t.value
	if field == "*" && v == "*" {
		return nil // *:*
	}
	if !slices.Contains(knownFields, field) {
		if inQ {
			sp.text = append(sp.text, t.raw)
			return nil
		}
		return searchError("field %q is not supported in fq; use organization, owner_org, groups, tags, res_format, "+
			"license_id, extras_update_cycle, extras_open_type, extras_resource_format or extras_classification_code", field)
	}
	if v == "" {
		return searchError("%s: no value", field)
	}
	if field == "metadata_modified" {
		return modifiedRange(sp, t)
	}
	if !t.quoted {
		if strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
			return searchError("range queries (%s) are not supported", t.raw)
		}
		if strings.HasPrefix(v, "(") || strings.HasSuffix(v, ")") {
			return searchError("grouping with parentheses (%s) is not supported", t.raw)
		}
		if v != "*" && strings.ContainsAny(v, "*?") {
			return searchError("wildcards in values (%s) are not supported", t.raw)
		}
		if v == "*" {
			return nil // any value
		}
	}
	switch field {
	case "text":
		sp.text = append(sp.text, v)
	case "organization", "owner_org":
		o := dir.orgByKey[v]
		if o == nil {
			o = dir.orgByKey[strings.ToLower(v)]
		}
		if o == nil || field == "organization" && o.name != strings.ToLower(v) {
			sp.none = true
			return nil
		}
		if sp.q.ProviderID != 0 && sp.q.ProviderID != o.dept.ID {
			sp.none = true
		}
		sp.q.ProviderID = o.dept.ID
	case "groups":
		sp.setString(&sp.q.Domain, v)
	case "tags":
		if sp.q.Tag != "" && sp.q.Tag != v {
			return searchError("at most one tags clause a search (%s)", t.raw)
		}
		sp.q.Tag = v
	case "res_format":
		if strings.EqualFold(v, "CSV") {
			sp.restrictFormats(tableFormats)
		} else {
			sp.none = true
		}
	case "license_id":
		if !strings.EqualFold(v, c.s.license().ID) {
			sp.none = true
		}
	case "extras_update_cycle", "extras_open_type", "extras_resource_format":
		terms := map[string][]cityhub.Term{"extras_update_cycle": cityhub.UpdateCycles,
			"extras_open_type": cityhub.OpenTypes, "extras_resource_format": cityhub.Formats}[field]
		term, ok := cityhub.TermByLabel(terms, v)
		switch {
		case !ok:
			sp.none = true
		case field == "extras_update_cycle":
			sp.setString(&sp.q.UpdateCycle, term.Code)
		case field == "extras_open_type":
			sp.setString(&sp.q.OpenType, term.Code)
		default:
			sp.restrictFormats([]string{term.Code})
		}
	case "extras_classification_code":
		switch cur := sp.q.Classification; {
		case cur == "" || strings.HasPrefix(v, cur):
			sp.q.Classification = v
		case !strings.HasPrefix(cur, v):
			sp.none = true
		}
	case "dataset_type", "type":
		if v != "dataset" {
			sp.none = true
		}
	case "state":
		if v != "active" {
			sp.none = true
		}
	case "capacity":
		if v != "public" {
			sp.none = true
		}
	case "site_id":
	}
	return nil
}

// modifiedRange applies metadata_modified:[from TO to] (or {…} for ends
// left out, * for an open end, or one time alone) to sp: how harvesters ask
// for what changed since their last run.
func modifiedRange(sp *spec, t token) error {
	v := t.value
	from, to := v, v
	incFrom, incTo := true, true
	if !t.quoted && (strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{")) {
		var parts []string
		if strings.HasSuffix(v, "]") || strings.HasSuffix(v, "}") {
			parts = strings.Fields(v[1 : len(v)-1])
		}
		if len(parts) != 3 || parts[1] != "TO" {
			return searchError("metadata_modified: a range is [from TO to], with * for an open end (%s)", t.raw)
		}
		from, to = parts[0], parts[2]
		incFrom, incTo = v[0] == '[', v[len(v)-1] == ']'
	}
	bound := func(s string, inclusive, lower bool) (time.Time, error) {
		if s == "*" {
			return time.Time{}, nil
		}
		tm, err := solrTime(s)
		if err != nil {
			return tm, searchError("metadata_modified: %q is not a time (2026-01-31T08:00:00Z, 2026-01-31 or NOW)", s)
		}
		// An end left out is the next microsecond in (the store keeps
		// microseconds).
		const µs = time.Microsecond
		switch down := tm.Truncate(µs); {
		case inclusive:
		case lower:
			tm = down.Add(µs)
		case down.Equal(tm):
			tm = down.Add(-µs)
		default:
			tm = down
		}
		return tm, nil
	}
	lo, err := bound(from, incFrom, true)
	if err != nil {
		return err
	}
	hi, err := bound(to, incTo, false)
	if err != nil {
		return err
	}
	if !lo.IsZero() && (sp.q.ModifiedFrom.IsZero() || lo.After(sp.q.ModifiedFrom)) {
		sp.q.ModifiedFrom = lo
	}
	if !hi.IsZero() && (sp.q.ModifiedTo.IsZero() || hi.Before(sp.q.ModifiedTo)) {
		sp.q.ModifiedTo = hi
	}
	if !sp.q.ModifiedFrom.IsZero() && !sp.q.ModifiedTo.IsZero() && sp.q.ModifiedFrom.After(sp.q.ModifiedTo) {
		sp.none = true
	}
	return nil
}

// solrTime reads a Solr date: ISO 8601 in UTC (a Z or an offset; none is
// taken as UTC, as Solr does), a bare day, or NOW.
func solrTime(s string) (time.Time, error) {
	if s == "NOW" {
		return time.Now(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// parseFilter reads an fq string into sp.
func (c *call) parseFilter(sp *spec, dir *directory, fq string) error {
	toks, open := tokenize(fq)
	if open {
		return searchError("unterminated quote in fq %s", fq)
	}
	for _, t := range toks {
		switch t.field {
		case "":
			switch {
			case t.quoted:
				sp.text = append(sp.text, t.value)
				continue
			case t.value == "AND" || t.value == "&&" || t.value == "+":
				continue
			case t.value == "OR" || t.value == "||" || t.value == "NOT" || t.value == "!" || strings.HasPrefix(t.value, "-"):
				return searchError("%s is not supported in fq: clauses are joined by AND", t.value)
			case strings.HasPrefix(t.value, "(") || strings.HasSuffix(t.value, ")"):
				return searchError("grouping with parentheses (%s) is not supported", t.raw)
			}
			sp.text = append(sp.text, strings.TrimPrefix(t.value, "+"))
			continue
		}
		if err := c.clause(sp, dir, t, false); err != nil {
			return err
		}
	}
	return nil
}

// parseQuery reads q: field clauses filter, the rest is free text.
func (c *call) parseQuery(sp *spec, dir *directory, q string) error {
	q = strings.TrimSpace(q)
	if q == "" || q == "*:*" || q == "*" {
		return nil
	}
	toks, _ := tokenize(q)
	for _, t := range toks {
		if t.field == "" {
			if t.value == "*:*" {
				continue
			}
			sp.text = append(sp.text, t.value)
			continue
		}
		if err := c.clause(sp, dir, t, true); err != nil {
			return err
		}
	}
	return nil
}

// sortKey maps a CKAN sort to the catalog's.
func sortKey(s string) (string, bool) {
	var parts []string
	for _, p := range strings.Split(strings.ToLower(s), ",") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			parts = append(parts, p)
		}
	}
	switch strings.Join(parts, ", ") {
	case "", "score desc", "score desc, metadata_modified desc":
		return "", true // relevance with text, newest first without
	case "metadata_modified desc", "metadata_modified desc, score desc":
		return "updated", true
	case "name asc", "name_string asc":
		return "code", true // names are codes
	case "title_string asc", "title asc":
		return "name", true
	}
	return "", false
}

// searchFacet is one facet of search_facets.
type searchFacet struct {
	Items []facetItem `json:"items"`
	Title string      `json:"title"`
}

type facetItem struct {
	Count       int    `json:"count"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name"`
}

type searchResult struct {
	Count        int                       `json:"count"`
	Facets       map[string]map[string]int `json:"facets"`
	Results      []any                     `json:"results"`
	SearchFacets map[string]searchFacet    `json:"search_facets"`
	Sort         string                    `json:"sort"`
}

func (c *call) packageSearch() (any, error) {
	ck := c.p.check()
	rows, ok := ck.integer("rows", true)
	if !ok {
		rows = defaultRows
	}
	rows = min(rows, maxRows)
	start, _ := ck.integer("start", true)
	mincount, ok := ck.integer("facet.mincount", true)
	if !ok {
		mincount = 1
	}
	facetLimit, ok := ck.integer("facet.limit", false)
	if !ok {
		facetLimit = defaultFacetSize
	}
	facetFields, _ := ck.jsonList("facet.field")
	q, fq, sortBy := ck.str("q"), ck.str("fq"), ck.str("sort")
	fqList, _ := ck.list("fq_list")
	var fl []string
	if ck.has("fl") {
		if list, ok := c.p["fl"].([]any); ok {
			for _, x := range list {
				if s, ok := x.(string); ok {
					fl = append(fl, s)
				}
			}
		} else {
			fl = strings.FieldsFunc(ck.str("fl"), func(r rune) bool { return r == ',' || isSpace(r) })
		}
	}
	if err := ck.err(); err != nil {
		return nil, err
	}
	var junk []string
	for _, k := range c.p.unknown(searchParams...) {
		if !strings.HasPrefix(k, "ext_") {
			junk = append(junk, k)
		}
	}
	if len(junk) > 0 {
		return nil, searchError("Invalid search parameters: %s", pyList(junk))
	}
	for _, f := range facetFields {
		if _, ok := facetSources[f]; !ok {
			return nil, searchError("facet.field %q is not a field the catalog is faceted on: organization, groups, "+
				"tags, res_format, license_id, extras_update_cycle, extras_open_type, extras_resource_format, "+
				"extras_classification_code", f)
		}
	}
	key, ok := sortKey(sortBy)
	if !ok {
		return nil, searchError("sort %q is not supported: use %q, \"metadata_modified desc\", \"name asc\" or "+
			"\"title_string asc\"", sortBy, defaultSort)
	}
	if strings.TrimSpace(sortBy) == "" {
		sortBy = defaultSort
	}

	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	sp := &spec{}
	if err := c.parseQuery(sp, dir, q); err != nil {
		return nil, err
	}
	for _, f := range append([]string{fq}, fqList...) {
		if err := c.parseFilter(sp, dir, f); err != nil {
			return nil, err
		}
	}
	sp.q.Q = strings.Join(sp.text, " ")
	pg, err := c.s.find(c.ctx, sp, key, start, rows, len(facetFields) > 0)
	if err != nil {
		return nil, err
	}

	res := &searchResult{Count: pg.total, Facets: map[string]map[string]int{}, Results: make([]any, 0, len(pg.entries)),
		SearchFacets: map[string]searchFacet{}, Sort: sortBy}
	for _, e := range pg.entries {
		if !e.PublicMetadata() {
			continue // changed between the index's answer and the read of the page
		}
		p := c.packageDict(e, dir)
		if len(fl) == 0 {
			res.Results = append(res.Results, p)
			continue
		}
		res.Results = append(res.Results, pick(p, fl))
	}
	for _, f := range facetFields {
		items := c.facetItems(f, pg, dir)
		items = slices.DeleteFunc(items, func(it facetItem) bool { return it.Count < mincount || it.Count == 0 })
		slices.SortStableFunc(items, func(a, b facetItem) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Name, b.Name)
		})
		if facetLimit >= 0 && len(items) > facetLimit {
			items = items[:facetLimit]
		}
		counts := map[string]int{}
		for _, it := range items {
			counts[it.Name] = it.Count
		}
		res.Facets[f] = counts
		res.SearchFacets[f] = searchFacet{Title: f, Items: items}
	}
	return res, nil
}

// pick keeps the fields fl asks for of a package (CKAN's fl).
func pick(p *Package, fl []string) map[string]any {
	b, _ := json.Marshal(p)
	var all map[string]any
	json.Unmarshal(b, &all)
	out := map[string]any{}
	for _, f := range fl {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out
}

// facetItems lists a facet's values in CKAN's terms.
func (c *call) facetItems(field string, pg *searchPage, dir *directory) []facetItem {
	var out []facetItem
	switch field {
	case "license_id":
		lic := c.s.license()
		return []facetItem{{Count: pg.total, Name: lic.ID, DisplayName: lic.Title}}
	case "res_format":
		n := 0
		for _, v := range pg.facets["format"] {
			if slices.Contains(tableFormats, v.Value) {
				n += v.Count
			}
		}
		return []facetItem{{Count: n, Name: "CSV", DisplayName: "CSV"}}
	}
	for _, v := range pg.facets[facetSources[field]] {
		it := facetItem{Count: v.Count, Name: v.Value, DisplayName: v.Value}
		switch field {
		case "organization":
			id, _ := strconv.ParseInt(v.Value, 10, 64)
			o := dir.orgByID[id]
			if o == nil {
				continue
			}
			it.Name, it.DisplayName = o.name, o.dept.Name
		case "groups":
			if g := dir.groupByKey[v.Value]; g != nil {
				it.DisplayName = g.domain.Name
			}
		case "extras_update_cycle":
			it.DisplayName = label(cityhub.UpdateCycles, v.Value)
		case "extras_open_type":
			it.DisplayName = label(cityhub.OpenTypes, v.Value)
		case "extras_resource_format":
			it.DisplayName = label(cityhub.Formats, v.Value)
		}
		if it.DisplayName == "" {
			it.DisplayName = it.Name
		}
		out = append(out, it)
	}
	return out
}

// searchPage is a page of a package search.
type searchPage struct {
	total   int
	entries []*cityhub.CatalogEntry
	facets  map[string][]cityhub.FacetValue
}

// find runs a search. A search for one of several formats (res_format:CSV
// is 电子表格 or 数据库) runs once per format and merges the pages in the
// sort's order; relevance cannot be merged (the scores stay in the index),
// so such a search is ordered newest first.
func (s *Server) find(ctx context.Context, sp *spec, sortKey string, start, rows int, facets bool) (*searchPage, error) {
	if sp.none {
		return &searchPage{facets: map[string][]cityhub.FacetValue{}}, nil
	}
	q := sp.q
	q.Public, q.Sort, q.Facets = true, sortKey, facets
	if len(sp.formats) <= 1 {
		if len(sp.formats) == 1 {
			q.Format = sp.formats[0]
		}
		q.Offset, q.Limit = start, max(rows, 1)
		res, err := s.Search.SearchCatalog(ctx, q)
		if err != nil {
			return nil, err
		}
		pg := &searchPage{total: res.Total, entries: res.Entries, facets: res.Facets}
		if len(pg.entries) > rows {
			pg.entries = pg.entries[:rows]
		}
		return pg, nil
	}
	if q.Sort == "" {
		q.Sort = "updated"
	}
	less := entryOrder(q.Sort)
	size := min(max(start+rows, 1), 1000)
	streams := make([]*stream, len(sp.formats))
	pg := &searchPage{facets: map[string][]cityhub.FacetValue{}}
	merged := map[string]map[string]int{}
	for i, f := range sp.formats {
		st := &stream{s: s, q: q, size: size}
		st.q.Format = f
		if err := st.fill(ctx); err != nil {
			return nil, err
		}
		pg.total += st.total
		for name, vals := range st.facets {
			if merged[name] == nil {
				merged[name] = map[string]int{}
			}
			for _, v := range vals {
				merged[name][v.Value] += v.Count
			}
		}
		streams[i] = st
	}
	for name, counts := range merged {
		vals := make([]cityhub.FacetValue, 0, len(counts))
		for v, n := range counts {
			vals = append(vals, cityhub.FacetValue{Value: v, Count: n})
		}
		pg.facets[name] = cityhub.TopFacetValues(vals)
	}
	for n := 0; n < start+rows; n++ {
		var best *stream
		for _, st := range streams {
			if err := st.fill(ctx); err != nil {
				return nil, err
			}
			if len(st.buf) > 0 && (best == nil || less(st.buf[0], best.buf[0]) < 0) {
				best = st
			}
		}
		if best == nil {
			break
		}
		if n >= start {
			pg.entries = append(pg.entries, best.buf[0])
		}
		best.buf = best.buf[1:]
	}
	return pg, nil
}

// stream reads one search's results page by page.
type stream struct {
	s      *Server
	q      cityhub.CatalogQuery
	size   int
	buf    []*cityhub.CatalogEntry
	next   int
	done   bool
	read   bool
	total  int
	facets map[string][]cityhub.FacetValue
}

// fill reads the next page when the buffer is empty.
func (st *stream) fill(ctx context.Context) error {
	if len(st.buf) > 0 || st.done {
		return nil
	}
	q := st.q
	q.Offset, q.Limit, q.Facets = st.next, st.size, st.q.Facets && !st.read
	res, err := st.s.Search.SearchCatalog(ctx, q)
	if err != nil {
		return err
	}
	if !st.read {
		st.total, st.facets, st.read = res.Total, res.Facets, true
	}
	st.buf = res.Entries
	st.next += len(res.Entries)
	if len(res.Entries) < st.size || st.next >= res.Total {
		st.done = true
	}
	return nil
}

// entryOrder compares entries as the catalog's sort does.
func entryOrder(sortKey string) func(a, b *cityhub.CatalogEntry) int {
	switch sortKey {
	case "name":
		return func(a, b *cityhub.CatalogEntry) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		}
	case "code":
		return func(a, b *cityhub.CatalogEntry) int { return strings.Compare(a.Code, b.Code) }
	}
	return func(a, b *cityhub.CatalogEntry) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ID, a.ID))
	}
}

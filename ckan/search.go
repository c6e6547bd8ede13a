package ckan

import (
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
	q    cityhub.CatalogQuery
	none bool // some clause matches nothing
	text []string
}

func (sp *spec) setString(dst *string, v string) {
	if *dst != "" && *dst != v {
		sp.none = true // one value cannot equal two
	}
	*dst = v
}

// restrict keeps entries with any of vals in a facet; clauses on one facet
// joined by AND keep what they share. Tags are many a package, so two tags
// clauses would ask for both: refused, as the catalog filters one.
func (sp *spec) restrict(facet string, vals []string, t token) error {
	if sp.q.AnyOf == nil {
		sp.q.AnyOf = map[string][]string{}
	}
	if cur, ok := sp.q.AnyOf[facet]; ok {
		if facet == "tag" && !slices.Equal(cur, vals) {
			return searchError("at most one tags clause a search (%s)", t.raw)
		}
		vals = slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return !slices.Contains(cur, v) })
	}
	sp.q.AnyOf[facet] = vals
	if len(vals) == 0 {
		sp.none = true
	}
	return nil
}

// exclude leaves out entries with any of vals in a facet.
func (sp *spec) exclude(facet string, vals []string) {
	if sp.q.NoneOf == nil {
		sp.q.NoneOf = map[string][]string{}
	}
	sp.q.NoneOf[facet] = append(sp.q.NoneOf[facet], vals...)
}

// settle moves facets restricted to one value to the query's own fields:
// the index counts what the public sees by one value ahead.
func (sp *spec) settle() {
	fields := map[string]*string{"domain": &sp.q.Domain, "tag": &sp.q.Tag, "format": &sp.q.Format,
		"update_cycle": &sp.q.UpdateCycle, "open_type": &sp.q.OpenType}
	for facet, vals := range sp.q.AnyOf {
		if len(vals) != 1 {
			continue
		}
		if facet == "provider" {
			sp.q.ProviderID, _ = strconv.ParseInt(vals[0], 10, 64)
		} else if dst := fields[facet]; dst != nil && *dst == "" {
			*dst = vals[0]
		} else {
			continue
		}
		delete(sp.q.AnyOf, facet)
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
			case (rs[i] == '[' || rs[i] == '{' || rs[i] == '(') && value.Len() == 0 && !quoted:
				// A range, [a TO b] or {a TO b}, or a group, (a OR b): spaces
				// and all.
				ends := "]}"
				if rs[i] == '(' {
					ends = ")"
				}
				for i < len(rs) {
					r := rs[i]
					value.WriteRune(r)
					i++
					if strings.ContainsRune(ends, r) {
						break
					}
				}
				if r := []rune(value.String()); !strings.ContainsRune(ends, r[len(r)-1]) {
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

// facetValues are the catalog facet and values an fq field:value names,
// for the fields that map to a facet (so may be negated or joined by OR);
// no values when nothing can have it. ok is false for other fields.
func (c *call) facetValues(dir *directory, field, v string) (facet string, vals []string, ok bool) {
	switch field {
	case "organization", "owner_org":
		o := dir.orgByKey[v]
		if o == nil {
			o = dir.orgByKey[strings.ToLower(v)]
		}
		if o == nil || field == "organization" && o.name != strings.ToLower(v) {
			return "provider", nil, true
		}
		return "provider", []string{strconv.FormatInt(o.dept.ID, 10)}, true
	case "groups":
		return "domain", []string{v}, true
	case "tags":
		return "tag", []string{v}, true
	case "res_format":
		if strings.EqualFold(v, "CSV") {
			return "format", tableFormats, true
		}
		return "format", nil, true
	case "extras_update_cycle", "extras_open_type", "extras_resource_format":
		terms := map[string][]cityhub.Term{"extras_update_cycle": cityhub.UpdateCycles,
			"extras_open_type": cityhub.OpenTypes, "extras_resource_format": cityhub.Formats}[field]
		facet := map[string]string{"extras_update_cycle": "update_cycle", "extras_open_type": "open_type",
			"extras_resource_format": "format"}[field]
		if term, ok := cityhub.TermByLabel(terms, v); ok {
			return facet, []string{term.Code}, true
		}
		return facet, nil, true
	}
	return "", nil, false
}

// setFields are the fq fields that may be negated or joined by OR.
const setFields = "organization, owner_org, groups, tags, res_format, extras_update_cycle, extras_open_type and extras_resource_format"

// clause applies field:value to sp, or leaves out what matches it when
// negated. inQ tells whether the clause came from q, where an unknown
// field is taken as text. A value in parentheses is values joined by OR,
// as are the values of or, clauses on the same field.
func (c *call) clause(sp *spec, dir *directory, t token, inQ, negated bool, or ...token) error {
	field := strings.TrimPrefix(t.field, "+")
	if f, ok := strings.CutPrefix(field, "-"); ok {
		field, negated = f, !negated
	}
	v := t.value
	if field == "*" && v == "*" && !negated {
		return nil // *:*
	}
	if !slices.Contains(knownFields, field) {
		if inQ && !negated {
			sp.text = append(sp.text, t.raw)
			return nil
		}
		return searchError("field %q is not supported in fq; use organization, owner_org, groups, tags, res_format, "+
			"license_id, metadata_modified, extras_update_cycle, extras_open_type, extras_resource_format or "+
			"extras_classification_code", field)
	}
	if v == "" {
		return searchError("%s: no value", field)
	}
	if field == "metadata_modified" {
		if negated || len(or) > 0 {
			return searchError("metadata_modified takes one range, neither negated nor joined by OR (%s)", t.raw)
		}
		return modifiedRange(sp, t)
	}
	var values []string
	for _, x := range append([]token{t}, or...) {
		vals, err := tokenValues(x)
		if err != nil {
			return err
		}
		values = append(values, vals...)
	}
	if len(values) == 1 && values[0] == "*" && !t.quoted && !negated {
		return nil // any value
	}
	var facet string
	var union []string
	for _, x := range values {
		f, vals, ok := c.facetValues(dir, field, x)
		if !ok {
			break
		}
		facet, union = f, append(union, vals...)
	}
	if facet != "" {
		if negated {
			sp.exclude(facet, union)
			return nil
		}
		return sp.restrict(facet, union, t)
	}
	if negated || len(values) > 1 {
		return searchError("NOT and OR (%s) are supported on %s only", t.raw, setFields)
	}
	switch field {
	case "text":
		sp.text = append(sp.text, v)
	case "license_id":
		if !strings.EqualFold(v, c.s.license().ID) {
			sp.none = true
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

// tokenValues are the values of a clause: its value, or the values of a
// group (a OR b); ranges and wildcards are refused.
func tokenValues(t token) ([]string, error) {
	values := []string{t.value}
	if t.quoted {
		return values, nil
	}
	if strings.HasPrefix(t.value, "(") {
		var err error
		if values, err = orValues(t); err != nil {
			return nil, err
		}
	} else if strings.HasPrefix(t.value, "[") || strings.HasPrefix(t.value, "{") {
		return nil, searchError("range queries (%s) are supported on metadata_modified only", t.raw)
	}
	for _, x := range values {
		if x != "*" && strings.ContainsAny(x, "*?") {
			return nil, searchError("wildcards in values (%s) are not supported", t.raw)
		}
	}
	return values, nil
}

// orValues reads the values of field:(a OR b …).
func orValues(t token) ([]string, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(t.value, "("), ")")
	toks, _ := tokenize(inner)
	var out []string
	for i, x := range toks {
		isOr := !x.quoted && (x.value == "OR" || x.value == "||")
		switch {
		case i%2 == 1 && isOr:
		case i%2 == 0 && !isOr && x.field == "" && !strings.HasPrefix(x.value, "("):
			out = append(out, x.value)
		default:
			return nil, searchError("a group (%s) is values joined by OR: (a OR b)", t.raw)
		}
	}
	if len(out) == 0 || len(toks)%2 == 0 {
		return nil, searchError("a group (%s) is values joined by OR: (a OR b)", t.raw)
	}
	return out, nil
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

// parseFilter reads an fq string into sp: clauses joined by AND (or by
// nothing); NOT or - before a clause leaves out what it matches; clauses
// on one field joined by OR keep any of their values.
func (c *call) parseFilter(sp *spec, dir *directory, fq string) error {
	toks, open := tokenize(fq)
	if open {
		return searchError("unterminated quote, range or group in fq %s", fq)
	}
	var group []token // clauses joined by OR so far
	negated, or := false, false
	flush := func() error {
		defer func() { group = nil }()
		switch {
		case len(group) == 0:
			return nil
		case len(group) == 1:
			return c.clause(sp, dir, group[0], false, false)
		}
		for _, t := range group[1:] {
			if t.field != group[0].field || strings.HasPrefix(t.field, "-") {
				return searchError("OR joins clauses on one field, without NOT (%s OR %s)", group[0].raw, t.raw)
			}
		}
		return c.clause(sp, dir, group[0], false, false, group[1:]...)
	}
	for _, t := range toks {
		if t.field == "" && !t.quoted {
			switch t.value {
			case "AND", "&&", "+":
				continue
			case "OR", "||":
				if len(group) == 0 || negated {
					return searchError("OR needs a clause on each side (%s)", fq)
				}
				or = true
				continue
			case "NOT", "!":
				negated = !negated
				continue
			}
			if strings.HasPrefix(t.value, "-") || strings.HasPrefix(t.value, "(") || strings.HasSuffix(t.value, ")") {
				return searchError("%s: a clause is field:value, -field:value or field:(a OR b)", t.raw)
			}
		}
		if t.field == "" {
			if negated || or {
				return searchError("NOT and OR join field clauses, not free text (%s)", t.raw)
			}
			if err := flush(); err != nil {
				return err
			}
			sp.text = append(sp.text, strings.TrimPrefix(t.value, "+"))
			continue
		}
		switch {
		case negated:
			if or {
				return searchError("OR joins clauses on one field, without NOT (%s)", fq)
			}
			if err := flush(); err != nil {
				return err
			}
			if err := c.clause(sp, dir, t, false, true); err != nil {
				return err
			}
			negated = false
		case or:
			group = append(group, t)
			or = false
		default:
			if err := flush(); err != nil {
				return err
			}
			group = []token{t}
		}
	}
	if negated || or {
		return searchError("NOT or OR at the end of fq %s", fq)
	}
	return flush()
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
		if err := c.clause(sp, dir, t, true, false); err != nil {
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
	sp.settle()
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

// find runs a search of what the public sees.
func (s *Server) find(ctx context.Context, sp *spec, sortKey string, start, rows int, facets bool) (*searchPage, error) {
	if sp.none {
		return &searchPage{facets: map[string][]cityhub.FacetValue{}}, nil
	}
	q := sp.q
	q.Public, q.Sort, q.Facets = true, sortKey, facets
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

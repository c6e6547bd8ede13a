package catalogindex

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

const none = -1 // a filter that is not set

// filter is a query's conditions with values turned into dictionary ids.
type filter struct {
	all         bool
	departments []int64
	published   int64
	class       string
	status      int64
	share       int64
	open        int64
	public      bool
	openTypes   []int64 // with public: the open types the public sees
	format      int64
	cycle       int64
	domain      int64
	tag         int64
	prov        int64 // provider in the providers dictionary
	from, to    int64 // UpdatedAt bounds in Unix microseconds, included
	sets        []valueSet
}

// valueSet is an AnyOf or NoneOf facet as dictionary ids.
type valueSet struct {
	of   func(d *fact) uint32 // the facet's value; nil: the tags
	in   []bool               // by dictionary id
	none bool                 // NoneOf: documents holding none of them pass
}

func (s *valueSet) accepts(d *fact, tags []uint32) bool {
	has := false
	if s.of == nil {
		for _, t := range tags {
			if int(t) < len(s.in) && s.in[t] {
				has = true
				break
			}
		}
	} else if v := s.of(d); int(v) < len(s.in) {
		has = s.in[v]
	}
	return has != s.none
}

// setFacet is the dictionary and value of a facet AnyOf and NoneOf take
// (cityhub.SetFacets); of is nil for the tags.
func (x *Index) setFacet(name string) (d *dict, of func(*fact) uint32) {
	switch name {
	case "provider":
		return &x.provs, func(d *fact) uint32 { return d.prov }
	case "share_type":
		return &x.share, func(d *fact) uint32 { return d.share }
	case "open_type":
		return &x.open, func(d *fact) uint32 { return d.open }
	case "format":
		return &x.format, func(d *fact) uint32 { return d.format }
	case "update_cycle":
		return &x.cycle, func(d *fact) uint32 { return d.cycle }
	case "domain":
		return &x.domain, func(d *fact) uint32 { return d.domain }
	}
	return &x.tags, nil
}

// compile resolves q's filter values; ok is false when a value is held by no
// entry, so nothing can match.
func (x *Index) compile(q cityhub.CatalogQuery) (filter, bool) {
	f := filter{all: q.Scope.All, departments: q.Scope.Departments, class: q.Classification,
		published: none, status: none, share: none, open: none, format: none, cycle: none, domain: none, tag: none, prov: none}
	if id, ok := x.status.lookup(cityhub.StatusPublished); ok {
		f.published = int64(id)
	}
	ok := true
	set := func(dst *int64, d *dict, v string) {
		if v == "" {
			return
		}
		id, found := d.lookup(v)
		if !found {
			ok = false
		}
		*dst = int64(id)
	}
	set(&f.status, &x.status, q.Status)
	set(&f.share, &x.share, q.ShareType)
	set(&f.open, &x.open, q.OpenType)
	set(&f.format, &x.format, q.Format)
	set(&f.cycle, &x.cycle, q.UpdateCycle)
	set(&f.domain, &x.domain, q.Domain)
	set(&f.tag, &x.tags, q.Tag)
	if q.ProviderID > 0 {
		set(&f.prov, &x.provs, strconv.FormatInt(q.ProviderID, 10))
	}
	f.from, f.to = q.ModifiedBounds()
	for _, m := range []struct {
		sets map[string][]string
		none bool
	}{{q.AnyOf, false}, {q.NoneOf, true}} {
		for name, vals := range m.sets {
			d, of := x.setFacet(name)
			vs := valueSet{of: of, in: make([]bool, len(d.vals)), none: m.none}
			found := false
			for _, v := range vals {
				if id, ok := d.lookup(v); ok {
					vs.in[id], found = true, true
				}
			}
			if !found && !m.none {
				ok = false // any of values no entry holds
			}
			f.sets = append(f.sets, vs)
		}
	}
	if q.Public {
		f.public, f.all = true, false
		for _, t := range []string{cityhub.Unconditional, cityhub.Conditional} {
			if id, found := x.open.lookup(t); found {
				f.openTypes = append(f.openTypes, int64(id))
			}
		}
	}
	return f, ok
}

// compilePublic is the filter of what the public sees, and nothing else.
func (x *Index) compilePublic() filter {
	f, _ := x.compile(cityhub.CatalogQuery{Public: true})
	return f
}

// publicTotal is the number of documents the filter accepts when it is
// what the public sees with at most one facet value: counted ahead, when
// the catalog last changed.
func (f *filter) publicTotal(x *Index) (int, bool) {
	if !f.public || f.class != "" || f.status != none || f.from != math.MinInt64 || f.to != math.MaxInt64 || len(f.sets) > 0 {
		return 0, false
	}
	c := x.ranked.publicCounts
	total, set := x.ranked.public, 0
	for _, v := range []struct {
		id     int64
		counts []int
	}{{f.share, c.share}, {f.open, c.open}, {f.format, c.format}, {f.cycle, c.cycle}, {f.domain, c.domain},
		{f.tag, c.tags}, {f.prov, c.provider}} {
		if v.id != none {
			set++
			total = 0
			if int(v.id) < len(v.counts) {
				total = v.counts[v.id]
			}
		}
	}
	return total, set <= 1
}

func (f *filter) accepts(x *Index, d *fact, tags []uint32) bool {
	if f.public && (int64(d.status) != f.published || !slices.Contains(f.openTypes, int64(d.open))) {
		return false
	}
	if !f.all && !f.public && int64(d.status) != f.published && !slices.Contains(f.departments, d.provider) {
		return false
	}
	eq := func(want int64, got uint32) bool { return want == none || want == int64(got) }
	if !eq(f.status, d.status) || !eq(f.share, d.share) || !eq(f.open, d.open) || !eq(f.format, d.format) ||
		!eq(f.cycle, d.cycle) || !eq(f.domain, d.domain) || !eq(f.prov, d.prov) || d.updated < f.from || d.updated > f.to {
		return false
	}
	if f.class != "" && !strings.HasPrefix(x.docs[d.slot].class, f.class) {
		return false
	}
	for i := range f.sets {
		if !f.sets[i].accepts(d, tags) {
			return false
		}
	}
	return f.tag == none || slices.Contains(tags, uint32(f.tag))
}

func (r *rankedFacts) tagsOf(d *fact) []uint32 { return r.tags[d.tags : d.tags+d.ntags] }

// facetCounts tallies the matching documents by each facet's values.
type facetCounts struct {
	status, share, open, format, cycle, domain, tags, provider, class []int
}

func (x *Index) newFacetCounts() *facetCounts {
	return &facetCounts{status: make([]int, len(x.status.vals)), share: make([]int, len(x.share.vals)),
		open: make([]int, len(x.open.vals)), format: make([]int, len(x.format.vals)), cycle: make([]int, len(x.cycle.vals)),
		domain: make([]int, len(x.domain.vals)), tags: make([]int, len(x.tags.vals)),
		provider: make([]int, len(x.provs.vals)), class: make([]int, len(x.classes.vals))}
}

func (c *facetCounts) count(d *fact, tags []uint32) {
	c.status[d.status]++
	c.share[d.share]++
	c.open[d.open]++
	c.format[d.format]++
	c.cycle[d.cycle]++
	c.domain[d.domain]++
	for _, t := range tags {
		c.tags[t]++
	}
	c.provider[d.prov]++
	// The facet shows 类 and 项; deeper codes count at both.
	c.class[d.class1]++
	if d.class3 != d.class1 {
		c.class[d.class3]++
	}
}

// values lists each facet's values, most frequent first, at most 50.
func (c *facetCounts) values(x *Index) map[string][]cityhub.FacetValue {
	fromDict := func(counts []int, d *dict) []cityhub.FacetValue {
		var out []cityhub.FacetValue
		for id, n := range counts {
			if n > 0 && d.vals[id] != "" {
				out = append(out, cityhub.FacetValue{Value: d.vals[id], Count: n})
			}
		}
		return out
	}
	out := map[string][]cityhub.FacetValue{
		"classification": fromDict(c.class, &x.classes), "provider": fromDict(c.provider, &x.provs),
		"share_type": fromDict(c.share, &x.share), "open_type": fromDict(c.open, &x.open),
		"format": fromDict(c.format, &x.format), "update_cycle": fromDict(c.cycle, &x.cycle),
		"domain": fromDict(c.domain, &x.domain), "tag": fromDict(c.tags, &x.tags), "status": fromDict(c.status, &x.status),
	}
	for name, vals := range out {
		out[name] = cityhub.TopFacetValues(vals)
	}
	return out
}

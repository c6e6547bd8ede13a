// Package catalogindex keeps an in-memory search index of the resource
// catalog on each node, so searches with facets stay within milliseconds
// at hundreds of thousands of entries, which SQL GROUP BYs over the whole
// catalog cannot. The store stays the truth: the index follows it by change
// stamps written in the same transaction as every catalog change (see
// sqlstore's catalog_state), so it never drifts, and each search first
// catches up with what any node committed.
package catalogindex

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cityhub/cityhub"
)

// Source is what the index reads from the store. Its own SearchCatalog
// answers while the index is first being built.
type Source interface {
	SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error)
	CatalogStamp(ctx context.Context) (int64, error)
	CatalogChanges(ctx context.Context, since int64, fn func(*cityhub.CatalogEntry) error) (deleted []int64, stamp int64, err error)
	EntriesByID(ctx context.Context, ids []int64) ([]*cityhub.CatalogEntry, error)
}

// Field bits and their relevance weights: a match in the name counts most.
const (
	fieldName = 1 << iota
	fieldBody
	fieldItems
	fieldTags
)

func weight(mask uint8) int {
	switch {
	case mask&fieldName != 0:
		return 10
	case mask&fieldTags != 0:
		return 5
	case mask&fieldItems != 0:
		return 3
	}
	return 1
}

// doc is what the index keeps of one entry: its facet values and sort keys.
// The entry itself is read from the store for the page shown.
type doc struct {
	id    int64
	live  bool
	class string
	name  string
	code  string
	facts fact // tags unset: the document's own are below
	tags  []uint32
}

// fact is what filters and facets read of a live document: ids in the
// dictionaries below. The index keeps a copy of every live document's facts
// in rank order (newest first), rebuilt when the catalog changes, so
// browsing and counting facets over the whole catalog walk memory in order
// (the documents themselves are 3× larger and visited in random order).
type fact struct {
	slot     uint32
	status   uint32
	share    uint32
	open     uint32
	format   uint32
	cycle    uint32
	domain   uint32
	prov     uint32 // provider in the providers dictionary
	class1   uint32 // 类 and 项 codes in the classes dictionary
	class3   uint32
	tags     uint32 // the document's tags are ranked.tags[tags:tags+ntags]
	ntags    uint32
	provider int64
	updated  int64 // Unix microseconds
}

// dict numbers the values of one facet.
type dict struct {
	ids  map[string]uint32
	vals []string
}

func (d *dict) id(v string) uint32 {
	if d.ids == nil {
		d.ids = map[string]uint32{}
	}
	if id, ok := d.ids[v]; ok {
		return id
	}
	id := uint32(len(d.vals))
	d.ids[v] = id
	d.vals = append(d.vals, v)
	return id
}

// lookup returns the id of v, or false when no entry has it.
func (d *dict) lookup(v string) (uint32, bool) {
	id, ok := d.ids[v]
	return id, ok
}

// posting lists the slots of the documents holding a term, ascending, with
// the fields it appears in.
type posting struct {
	slots  []uint32
	fields []uint8
}

// Index is a node's search index of the catalog.
type Index struct {
	src Source

	mu      sync.RWMutex
	stamp   int64
	docs    []doc
	slot    map[int64]uint32 // live slot of each entry id
	dead    int
	terms   map[string]*posting
	status  dict
	share   dict
	open    dict
	format  dict
	cycle   dict
	domain  dict
	tags    dict
	provs   dict
	classes dict
	refresh sync.Mutex // one catch-up at a time

	// rank is each slot's place in the default order (newest first), or
	// noRank for a dead slot: a small dense array, so ordering hits
	// compares integers instead of reaching into scattered documents.
	rank []uint32
	// ranked holds the live documents' facts in that order.
	ranked rankedFacts

	loading sync.Once     // the first, full build
	loaded  chan struct{} // closed when the first build is done
	loadErr error
}

// New returns an empty index over src; the first search loads it.
func New(src Source) *Index {
	x := &Index{src: src, loaded: make(chan struct{})}
	x.reset()
	return x
}

// Start builds the index in the background; until it is built, searches
// go to the store. It returns at once; Ready says when the build is done.
func (x *Index) Start(ctx context.Context) {
	x.loading.Do(func() {
		go func() {
			x.loadErr = x.Refresh(context.WithoutCancel(ctx))
			close(x.loaded)
		}()
	})
}

// Ready is closed when the first build is done; Err then says how it went.
func (x *Index) Ready() <-chan struct{} { return x.loaded }

// Err is the first build's error, once Ready is closed.
func (x *Index) Err() error { return x.loadErr }

func (x *Index) built() bool {
	select {
	case <-x.loaded:
		return x.loadErr == nil
	default:
		return false
	}
}

func (x *Index) reset() {
	x.stamp, x.docs, x.slot, x.dead, x.terms = 0, nil, map[int64]uint32{}, 0, map[string]*posting{}
	x.status, x.share, x.open, x.format, x.cycle, x.domain, x.tags = dict{}, dict{}, dict{}, dict{}, dict{}, dict{}, dict{}
	x.provs, x.classes = dict{}, dict{}
}

// Len is the number of entries indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slot)
}

// Refresh catches up with the store: it reads what changed after the last
// stamp seen. With many stale slots it rebuilds from scratch.
func (x *Index) Refresh(ctx context.Context) error {
	stamp, err := x.src.CatalogStamp(ctx)
	if err != nil {
		return err
	}
	x.mu.RLock()
	current := x.stamp
	x.mu.RUnlock()
	if stamp == current && current != 0 {
		return nil
	}
	x.refresh.Lock()
	defer x.refresh.Unlock()
	x.mu.RLock()
	since, rebuild := x.stamp, x.dead > 1000 && x.dead > len(x.docs)/4
	x.mu.RUnlock()
	if rebuild {
		since = 0
	}
	var changed []*cityhub.CatalogEntry
	deleted, stamp, err := x.src.CatalogChanges(ctx, since, func(e *cityhub.CatalogEntry) error {
		changed = append(changed, e)
		return nil
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if since == 0 {
		x.reset()
	}
	for _, id := range deleted {
		x.remove(id)
	}
	for _, e := range changed {
		x.remove(e.ID)
		x.add(e)
	}
	if len(changed)+len(deleted) > 0 || since == 0 {
		x.rankByUpdated()
	}
	x.stamp = max(stamp, 1) // 1: loaded, even when the catalog never changed
	return nil
}

const noRank = ^uint32(0)

// rankedFacts are the live documents' facts in rank order, their tags in
// one array, and how many of them the public sees, by facet value too.
type rankedFacts struct {
	facts        []fact
	tags         []uint32
	public       int
	publicCounts *facetCounts
}

func (x *Index) rankByUpdated() {
	order := make([]uint32, 0, len(x.slot))
	for _, s := range x.slot {
		order = append(order, s)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		da, db := &x.docs[a], &x.docs[b]
		if c := cmp.Compare(db.facts.updated, da.facts.updated); c != 0 {
			return c
		}
		return cmp.Compare(db.id, da.id)
	})
	x.rank = slices.Grow(x.rank[:0], len(x.docs))[:len(x.docs)]
	for i := range x.rank {
		x.rank[i] = noRank
	}
	r := rankedFacts{facts: make([]fact, len(order)), publicCounts: x.newFacetCounts()}
	public := x.compilePublic()
	for i, s := range order {
		x.rank[s] = uint32(i)
		d := &x.docs[s]
		f := d.facts
		f.slot, f.tags, f.ntags = s, uint32(len(r.tags)), uint32(len(d.tags))
		r.tags = append(r.tags, d.tags...)
		r.facts[i] = f
		if public.accepts(x, &f, d.tags) {
			r.public++
			r.publicCounts.count(&f, d.tags)
		}
	}
	x.ranked = r
}

func (x *Index) remove(id int64) {
	if s, ok := x.slot[id]; ok {
		x.docs[s].live = false
		delete(x.slot, id)
		x.dead++
	}
}

// add appends e in a new slot, so posting lists stay sorted by slot.
func (x *Index) add(e *cityhub.CatalogEntry) {
	s := uint32(len(x.docs))
	d := doc{id: e.ID, live: true, class: e.ClassificationCode, name: e.Name, code: e.Code,
		facts: fact{slot: s, provider: e.ProviderID, updated: e.UpdatedAt.UnixMicro(),
			status: x.status.id(e.Status), share: x.share.id(e.ShareType), open: x.open.id(e.OpenType),
			format: x.format.id(e.Format), cycle: x.cycle.id(e.UpdateCycle), domain: x.domain.id(e.Domain),
			prov:   x.provs.id(strconv.FormatInt(e.ProviderID, 10)),
			class1: x.classes.id(e.ClassificationCode[:1]),
			class3: x.classes.id(e.ClassificationCode[:min(3, len(e.ClassificationCode))])}}
	for _, t := range e.Tags {
		d.tags = append(d.tags, x.tags.id(t))
	}
	x.docs = append(x.docs, d)
	x.slot[e.ID] = s

	var items []string
	for _, it := range e.Items {
		items = append(items, it.Name, it.Code, it.Description)
	}
	// The same text per field as the SQL index, so both find the same.
	fields := map[string]uint8{}
	for _, f := range []struct {
		bit  uint8
		text string
	}{{fieldName, e.Name + " " + e.Code}, {fieldBody, e.Abstract + " " + e.ProviderName},
		{fieldItems, strings.Join(items, " ")}, {fieldTags, strings.Join(e.Tags, " ")}} {
		for _, t := range strings.Fields(cityhub.SearchIndexText(f.text)) {
			fields[t] |= f.bit
		}
	}
	for t, mask := range fields {
		p := x.terms[t]
		if p == nil {
			p = &posting{}
			x.terms[t] = p
		}
		p.slots = append(p.slots, s)
		p.fields = append(p.fields, mask)
	}
}

// SearchCatalog answers q from the index, after catching up with the store,
// and reads the page's entries from the store. Before the first build is
// done (it starts on the first call if Start was not called), the store
// answers.
func (x *Index) SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	if err := q.CheckSets(); err != nil {
		return nil, err
	}
	x.Start(ctx)
	if !x.built() {
		return x.src.SearchCatalog(ctx, q)
	}
	if err := x.Refresh(ctx); err != nil {
		return nil, err
	}
	ids, res := x.search(q)
	entries, err := x.src.EntriesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	res.Entries = entries
	return res, nil
}

type hit struct {
	slot  uint32
	score int
}

// search returns the ids of the requested page, the total and the facets.
func (x *Index) search(q cityhub.CatalogQuery) ([]int64, *cityhub.CatalogResult) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	res := &cityhub.CatalogResult{}
	f, ok := x.compile(q)
	if !ok {
		if q.Facets {
			res.Facets = map[string][]cityhub.FacetValue{}
		}
		return nil, res
	}
	var fc *facetCounts
	if q.Facets {
		fc = x.newFacetCounts()
	}
	keep := func(ft *fact, tags []uint32) bool {
		if !f.accepts(x, ft, tags) {
			return false
		}
		if fc != nil {
			fc.count(ft, tags)
		}
		return true
	}
	limit, offset := pageOf(q)
	var kept []hit
	if phrases := cityhub.SearchPhrases(q.Q); len(phrases) > 0 {
		kept = x.match(phrases)
		n := 0
		for _, h := range kept {
			// Hits come in slot order: the documents' own copy of their
			// facts is then read in order.
			if d := &x.docs[h.slot]; d.live && keep(&d.facts, d.tags) {
				kept[n] = h
				n++
			}
		}
		kept = kept[:n]
	} else if strings.TrimSpace(q.Q) != "" {
		return nil, res // only punctuation: nothing can match
	} else if q.Sort == "" || q.Sort == "updated" {
		// Browsing newest first: one pass in that order counts every match
		// and keeps the page, with no sorting (deep pages stay cheap). What
		// the public sees, by one facet value at most, is counted already:
		// the pass ends at the page.
		total, known := f.publicTotal(x)
		if known && fc != nil {
			if total != x.ranked.public {
				known = false // facets of a subset: count them
			} else {
				res.Facets, fc = x.ranked.publicCounts.values(x), nil
			}
		}
		if known {
			res.Total = total
		}
		var ids []int64
		seen := 0
		for i := range x.ranked.facts {
			ft := &x.ranked.facts[i]
			if !keep(ft, x.ranked.tagsOf(ft)) {
				continue
			}
			if seen >= offset && len(ids) < limit {
				ids = append(ids, x.docs[ft.slot].id)
			}
			seen++
			if known && len(ids) == limit {
				break
			}
		}
		if !known {
			res.Total = seen
		}
		if fc != nil {
			res.Facets = fc.values(x)
		}
		return ids, res
	} else {
		kept = make([]hit, 0, len(x.ranked.facts))
		for i := range x.ranked.facts {
			if ft := &x.ranked.facts[i]; keep(ft, x.ranked.tagsOf(ft)) {
				kept = append(kept, hit{slot: ft.slot})
			}
		}
	}
	res.Total = len(kept)
	if fc != nil {
		res.Facets = fc.values(x)
	}
	if offset >= len(kept) {
		return nil, res
	}
	less := x.order(q)
	top := topK(kept, offset+limit, less)
	ids := make([]int64, 0, limit)
	for _, h := range top[offset:] {
		ids = append(ids, x.docs[h.slot].id)
	}
	return ids, res
}

// pageOf clamps a query's page as the store does.
func pageOf(q cityhub.CatalogQuery) (limit, offset int) {
	limit, offset = q.Limit, max(q.Offset, 0)
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return limit, offset
}

// match finds the documents holding every term of every phrase, scoring
// each by the best field each term appears in. A phrase of CJK bigrams is
// matched by its terms; their order is not checked.
func (x *Index) match(phrases [][]string) []hit {
	var lists []*posting
	seen := map[string]bool{}
	for _, p := range phrases {
		for _, t := range p {
			if seen[t] {
				continue
			}
			seen[t] = true
			pl := x.terms[t]
			if pl == nil {
				return nil
			}
			lists = append(lists, pl)
		}
	}
	slices.SortFunc(lists, func(a, b *posting) int { return cmp.Compare(len(a.slots), len(b.slots)) })
	hits := make([]hit, len(lists[0].slots))
	for i, s := range lists[0].slots {
		hits[i] = hit{s, weight(lists[0].fields[i])}
	}
	for _, pl := range lists[1:] {
		kept := hits[:0]
		j := 0
		for _, h := range hits {
			// Galloping would be faster on skewed lists; a merge walk with a
			// binary-search jump does well enough.
			if j < len(pl.slots) && pl.slots[j] < h.slot {
				j += sortSearch(pl.slots[j:], h.slot)
			}
			if j < len(pl.slots) && pl.slots[j] == h.slot {
				h.score += weight(pl.fields[j])
				kept = append(kept, h)
			}
		}
		hits = kept
		if len(hits) == 0 {
			return nil
		}
	}
	return hits
}

func sortSearch(s []uint32, v uint32) int {
	i, _ := slices.BinarySearch(s, v)
	return i
}

// order returns the comparison of the requested sort.
func (x *Index) order(q cityhub.CatalogQuery) func(a, b hit) bool {
	byUpdated := func(a, b hit) bool { return x.rank[a.slot] < x.rank[b.slot] }
	switch {
	case q.Sort == "name":
		return func(a, b hit) bool {
			da, db := &x.docs[a.slot], &x.docs[b.slot]
			if da.name != db.name {
				return da.name < db.name
			}
			return da.id < db.id
		}
	case q.Sort == "code":
		return func(a, b hit) bool { return x.docs[a.slot].code < x.docs[b.slot].code }
	case q.Sort == "updated" || strings.TrimSpace(q.Q) == "":
		return byUpdated
	}
	return func(a, b hit) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return byUpdated(a, b)
	}
}

// topK returns the k first hits in order, sorted, without sorting the rest.
func topK(hits []hit, k int, less func(a, b hit) bool) []hit {
	if k >= len(hits) {
		slices.SortFunc(hits, func(a, b hit) int { return compare(less, a, b) })
		return hits
	}
	// A max-heap of the best k seen so far; its root is the worst of them.
	h := make([]hit, 0, k)
	worse := func(i, j int) bool { return less(h[j], h[i]) }
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && worse(l, m) {
				m = l
			}
			if r := l + 1; r < len(h) && worse(r, m) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for _, x := range hits {
		if len(h) < k {
			h = append(h, x)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(i, p) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if less(x, h[0]) {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b hit) int { return compare(less, a, b) })
	return h
}

func compare(less func(a, b hit) bool, a, b hit) int {
	switch {
	case less(a, b):
		return -1
	case less(b, a):
		return 1
	}
	return 0
}

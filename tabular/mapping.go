package tabular

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/cityhub/cityhub"
	"golang.org/x/text/width"
)

// Mapping says which data item each column of a file holds.
type Mapping struct {
	Columns []int // for each column of the header, the index of its item, -1 for none
	Items   []int // for each item, the index of its column, -1 for none
	items   []cityhub.DataItem
}

// Column returns the index of the column that holds the item with this
// name (or, failing that, code), -1 if none does.
func (m *Mapping) Column(item string) int {
	for i, it := range m.items {
		if it.Name == item {
			return m.Items[i]
		}
	}
	for i, it := range m.items {
		if it.Code != "" && it.Code == item {
			return m.Items[i]
		}
	}
	return -1
}

// Row returns the values of a record in the order of the items, reusing
// dst: "" for an item without a column (Items tells those apart from
// empty cells).
func (m *Mapping) Row(values, dst []string) []string {
	if cap(dst) < len(m.Items) {
		dst = make([]string, len(m.Items))
	}
	dst = dst[:len(m.Items)]
	for i, c := range m.Items {
		if c >= 0 && c < len(values) {
			dst[i] = values[c]
		} else {
			dst[i] = ""
		}
	}
	return dst
}

// Map maps the columns of header to items. A column names an item by its
// Name (Chinese) or Code (English), compared without regard to case,
// white space, _ and -, full-width and half-width forms, the kind of
// brackets ("注册资本(万元)" is "注册资本【万元】") and a leading * (a
// required mark); a remark in brackets at the end may be left out on one
// side ("注册资本（万元）" names the item "注册资本" and the other way
// round, but "注册资本(万美元)" does not name "注册资本(万元)").
//
// explicit maps file columns (as the header writes them, or alike in the
// sense above) to an item's name or code, for names that differ; it wins
// over the automatic match. A column mapped to "" is left out without a
// problem.
//
// The problems: columns that map to nothing (KindUnknownColumn, a warning:
// not Fatal), required items (Required or PrimaryKey) without a
// column, two columns for one item, and explicit mappings naming a column
// or item that does not exist. Problems of the mapping have Row 0.
func Map(header []string, items []cityhub.DataItem, explicit map[string]string) (*Mapping, []Problem) {
	m := newMatcher(items)
	mp := &Mapping{Columns: make([]int, len(header)), Items: make([]int, len(items)), items: items}
	for i := range mp.Columns {
		mp.Columns[i] = -1
	}
	for i := range mp.Items {
		mp.Items[i] = -1
	}
	var problems []Problem
	add := func(column, kind, format string, args ...any) {
		problems = append(problems, Problem{Column: column, Kind: kind, Reason: fmt.Sprintf(format, args...), Fatal: kind != KindUnknownColumn})
	}

	// Explicit mappings first: they win.
	chosen := map[int]string{} // column → item name or code, "" to leave out
	keys := make([]string, 0, len(explicit))
	for k := range explicit {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := findColumn(header, k)
		if c < 0 {
			add(k, KindBadMapping, "the mapping names this column, but the file has no column %q", k)
			continue
		}
		chosen[c] = strings.TrimSpace(explicit[k])
	}
	explicitly := make([]bool, len(items))
	for c := range header {
		target, ok := chosen[c]
		if !ok || target == "" {
			continue
		}
		i := m.item(target)
		if i < 0 {
			add(header[c], KindBadMapping, "the mapping sends this column to %q, which is not a data item of the entry", target)
			continue
		}
		if prev := mp.Items[i]; prev >= 0 {
			add(header[c], KindDuplicateColumn, "columns %q and %q are both mapped to data item %s", header[prev], header[c], items[i].Name)
			continue
		}
		mp.Items[i], mp.Columns[c], explicitly[i] = c, i, true
	}

	for c, h := range header {
		if _, ok := chosen[c]; ok {
			continue
		}
		if strings.TrimSpace(h) == "" {
			add("", KindUnknownColumn, "column %s has no header: its values are ignored", columnLetters(c))
			continue
		}
		i, why := m.match(h)
		switch {
		case i < 0:
			add(h, KindUnknownColumn, "%s: its values are ignored", why)
		case explicitly[i]:
			add(h, KindUnknownColumn, "data item %s comes from column %q by the mapping: this column is ignored", items[i].Name, header[mp.Items[i]])
		case mp.Items[i] >= 0:
			add(h, KindDuplicateColumn, "columns %q and %q both name data item %s", header[mp.Items[i]], h, items[i].Name)
		default:
			mp.Items[i], mp.Columns[c] = c, i
		}
	}

	for i, it := range items {
		switch {
		case mp.Items[i] >= 0:
		case it.PrimaryKey:
			add(it.Name, KindMissingItem, "the file has no column for this primary key")
		case it.Required:
			add(it.Name, KindMissingItem, "the file has no column for this required data item")
		}
	}
	return mp, problems
}

// findColumn finds a header cell by its text, else by its key; -1 if none
// or several.
func findColumn(header []string, name string) int {
	if i := slices.Index(header, name); i >= 0 {
		return i
	}
	key, found := normKey(name), -1
	for i, h := range header {
		if normKey(h) == key {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// columnLetters names a column as a spreadsheet does: A, B, …, Z, AA.
func columnLetters(c int) string {
	s := ""
	for c++; c > 0; c = (c - 1) / 26 {
		s = string(rune('A'+(c-1)%26)) + s
	}
	return s
}

// matcher finds the item a column names.
type matcher struct {
	items  []cityhub.DataItem
	names  map[string]int // key of a name → item; ambiguous when two items share it
	codes  map[string]int
	bases  []string // key of each item's name without a bracketed remark at the end
	remark []bool   // whether the item's name has such a remark
}

const ambiguous = -2

func newMatcher(items []cityhub.DataItem) *matcher {
	m := &matcher{items: items, names: map[string]int{}, codes: map[string]int{},
		bases: make([]string, len(items)), remark: make([]bool, len(items))}
	put := func(idx map[string]int, key string, i int) {
		if key == "" {
			return
		}
		if j, ok := idx[key]; ok && j != i {
			idx[key] = ambiguous
			return
		}
		idx[key] = i
	}
	for i, it := range items {
		k := normKey(it.Name)
		put(m.names, k, i)
		put(m.codes, normKey(it.Code), i)
		m.bases[i] = baseKey(k)
		m.remark[i] = m.bases[i] != k
	}
	return m
}

// match returns the item header names, or -1 and why not.
func (m *matcher) match(header string) (int, string) {
	k := normKey(header)
	if i, ok := m.names[k]; ok {
		if i == ambiguous {
			return -1, "several data items have this name"
		}
		return i, ""
	}
	if i, ok := m.codes[k]; ok {
		if i == ambiguous {
			return -1, "several data items have this code"
		}
		return i, ""
	}
	base := baseKey(k)
	remark := base != k
	found := -1
	for i, b := range m.bases {
		if b == base && b != "" && !(remark && m.remark[i]) {
			if found >= 0 {
				return -1, "it names several data items"
			}
			found = i
		}
	}
	if found >= 0 {
		return found, ""
	}
	return -1, "no data item has this name or code"
}

// count returns how many cells name an item.
func (m *matcher) count(cells []string) int {
	n := 0
	for _, c := range cells {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if i, _ := m.match(c); i >= 0 {
			n++
		}
	}
	return n
}

// item finds the item an explicit mapping names: by name, by code, by key.
func (m *matcher) item(s string) int {
	for i, it := range m.items {
		if it.Name == s {
			return i
		}
	}
	for i, it := range m.items {
		if it.Code != "" && strings.EqualFold(it.Code, s) {
			return i
		}
	}
	i, _ := m.match(s)
	return i
}

// normKey folds a column name for comparison: half-width forms, lower
// case, no white space, _ or -, one kind of bracket, no leading * or ※.
func normKey(s string) string {
	s = width.Fold.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '_', '-', '\u00a0', '\ufeff', '\u200b', '\u200c', '\u200d', '\u2060':
			continue
		case '[', '【', '〔', '〖', '{':
			r = '('
		case ']', '】', '〕', '〗', '}':
			r = ')'
		}
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimLeft(b.String(), "*※")
}

// baseKey drops a bracketed remark at the end of a key: "注册资本(万元)" →
// "注册资本".
func baseKey(k string) string {
	if !strings.HasSuffix(k, ")") {
		return k
	}
	if i := strings.LastIndexByte(k, '('); i > 0 {
		return k[:i]
	}
	return k
}

package ckan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// Parameters datastore_search takes; anything else is a Validation Error.
// after is this API's extension for keyset paging.
var datastoreParams = []string{"resource_id", "id", "q", "plain", "filters", "language", "limit", "offset", "fields",
	"sort", "distinct", "include_total", "total_estimation_threshold", "records_format", "full_text", "after"}

const (
	defaultLimit = 100
	maxLimit     = 32000 // CKAN's ckan.datastore.search.rows_max
)

var recordsFormats = []string{"objects", "lists", "csv", "tsv"}

// dsField is a public data item as a datastore field.
type dsField struct {
	ID   string           `json:"id"`
	Type string           `json:"type"`
	Info *dsInfo          `json:"info,omitempty"`
	item cityhub.DataItem // zero for _id
}

type dsInfo struct {
	Label string `json:"label"`
	Notes string `json:"notes"`
}

var idField = &dsField{ID: "_id", Type: "int"}

// fieldType is the datastore (PostgreSQL) type of an item type.
func fieldType(itemType string) string {
	switch itemType {
	case "N", "Y":
		return "numeric"
	case "D":
		return "date"
	case "T":
		return "timestamp"
	case "L":
		return "bool"
	}
	return "text"
}

// fieldSet is what of an entry's table the public may read: its public
// items, by field id, item name and English code.
type fieldSet struct {
	all    []*dsField
	byKey  map[string]*dsField
	byName map[string]*dsField // by item name only
}

func publicFields(e *cityhub.CatalogEntry) *fieldSet {
	fs := &fieldSet{byKey: map[string]*dsField{}, byName: map[string]*dsField{}}
	used := map[string]bool{"_id": true}
	for i, it := range e.PublicItems() {
		// The English code, else the name; an id another field holds
		// already (one item's code may be another's name) falls back.
		id := it.Code
		for _, cand := range []string{it.Code, it.Name, it.Name + "_" + strconv.Itoa(i+1)} {
			if cand != "" && !used[cand] {
				id = cand
				break
			}
		}
		used[id] = true
		f := &dsField{ID: id, Type: fieldType(it.Type), item: it, Info: &dsInfo{Label: it.Name, Notes: it.Description}}
		fs.all = append(fs.all, f)
		fs.byName[it.Name] = f
	}
	// Ids first, then names, then codes in any case: the first holder of a
	// key keeps it.
	for _, f := range fs.all {
		fs.byKey[f.ID] = f
	}
	for _, f := range fs.all {
		if _, ok := fs.byKey[f.item.Name]; !ok {
			fs.byKey[f.item.Name] = f
		}
	}
	for _, f := range fs.all {
		if k := strings.ToLower(f.item.Code); k != "" {
			if _, ok := fs.byKey[k]; !ok {
				fs.byKey[k] = f
			}
		}
	}
	return fs
}

func (fs *fieldSet) lookup(key string) *dsField {
	if key == "_id" {
		return idField
	}
	if f := fs.byKey[key]; f != nil {
		return f
	}
	return fs.byKey[strings.ToLower(key)]
}

// names are the item names of the public fields: the scope of every row
// query, never nil (nil would mean every item).
func (fs *fieldSet) names() []string {
	out := make([]string, 0, len(fs.all))
	for _, f := range fs.all {
		out = append(out, f.item.Name)
	}
	return out
}

// dsRequest is a checked datastore_search (or dump) request.
type dsRequest struct {
	resourceID   string
	limit        int
	offset       int
	hasOffset    bool
	after        int64
	includeTotal bool
	format       string
	q            string
	filters      map[string]any
	sortGiven    any
	fields       []*dsField // nil: all public fields, _id first
	rq           cityhub.RowQuery
	keyset       bool // _id order: next pages by after
	threshold    any
	entry        *cityhub.CatalogEntry
	fieldSet     *fieldSet
	fieldsGiven  bool
	distinct     bool // each combination of the fields' values once, without _id
}

// readDatastore checks the parameters CKAN's schema checks, before the
// resource is looked up (so bad parameters are a Validation Error even
// for a resource that does not exist).
func readDatastore(p params, allowed []string) (*dsRequest, *checker) {
	ck := p.check()
	d := &dsRequest{keyset: true}
	if ck.has("resource_id") {
		d.resourceID = ck.required("resource_id")
	} else if ck.has("id") {
		d.resourceID = ck.str("id")
		if strings.TrimSpace(d.resourceID) == "" {
			ck.fail("resource_id", "Missing value")
		}
	} else {
		ck.fail("resource_id", "Missing value")
	}
	d.limit = defaultLimit
	if n, ok := ck.integer("limit", true); ok {
		d.limit = min(n, maxLimit) // CKAN caps silently
	}
	if n, ok := ck.integer("offset", false); ok {
		if n < 0 {
			ck.fail("offset", "Must be a natural number")
		}
		d.offset, d.hasOffset = n, true
	}
	if n, ok := ck.integer("after", true); ok {
		d.after = int64(n)
		if d.hasOffset && d.offset != 0 {
			ck.fail("after", "after (the last _id of the page before) cannot be combined with offset")
		}
	}
	d.includeTotal = ck.boolean("include_total", true)
	if ck.has("total_estimation_threshold") {
		if n, ok := ck.integer("total_estimation_threshold", false); ok {
			d.threshold = n
		}
	}
	d.format = ck.str("records_format")
	if d.format == "" {
		d.format = "objects"
	}
	if !slices.Contains(recordsFormats, d.format) {
		ck.fail("records_format", "Value must be one of "+pyList(recordsFormats))
	}
	d.distinct = ck.boolean("distinct", false)
	if f, ok := ck.object("filters"); ok {
		d.filters = f
	}
	// q: a string searches every text field; an object (per-field search)
	// is CKAN's too, but not this datastore's.
	switch v := p["q"].(type) {
	case map[string]any:
		ck.fail("q", "per-field search (q as an object) is not supported; use filters")
	case string:
		var obj map[string]any
		if strings.HasPrefix(strings.TrimSpace(v), "{") && json.Unmarshal([]byte(v), &obj) == nil {
			ck.fail("q", "per-field search (q as an object) is not supported; use filters")
		} else {
			d.q = v
		}
	case nil:
	default:
		d.q = ck.str("q")
	}
	if d.q == "" {
		d.q = ck.str("full_text")
	}
	ck.str("plain")
	ck.str("language")
	if junk := p.unknown(allowed...); len(junk) > 0 {
		ck.fail("__junk", "The input field "+pyList(junk)+" was not expected.")
	}
	return d, ck
}

// resolve checks the field names of fields, filters and sort against the
// entry's public fields and builds the row query.
func (d *dsRequest) resolve(p params, ck *checker, e *cityhub.CatalogEntry) {
	fs := publicFields(e)
	d.entry, d.fieldSet = e, fs
	rq := cityhub.RowQuery{EntryID: e.ID, AllowedItems: fs.names(), Q: strings.TrimSpace(d.q), Total: d.includeTotal}
	if names, ok := ck.list("fields"); ok {
		d.fieldsGiven = true
		for _, n := range names {
			f := fs.lookup(strings.TrimSpace(n))
			if f == nil {
				ck.fail("fields", fmt.Sprintf("invalid value %q", n))
				continue
			}
			if !slices.Contains(d.fields, f) {
				d.fields = append(d.fields, f)
			}
		}
	}
	// The query reads every public field (q searches them all, as CKAN's
	// full text covers the whole row); the answer shows those asked for.
	keys := make([]string, 0, len(d.filters))
	for k := range d.filters {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := fs.lookup(k)
		if f == nil || f == idField {
			ck.fail("filters", fmt.Sprintf("invalid value %q", k))
			continue
		}
		var values []string
		switch v := d.filters[k].(type) {
		case []any:
			if len(v) == 0 {
				ck.fail("filters", fmt.Sprintf("%s: an empty list matches nothing", k))
				continue
			}
			for _, x := range v {
				s, ok := scalarText(x)
				if !ok {
					ck.fail("filters", fmt.Sprintf("%s: values must be strings, numbers or booleans", k))
					break
				}
				values = append(values, s)
			}
			if len(values) > 1000 {
				ck.fail("filters", fmt.Sprintf("%s: at most 1000 values", k))
			}
		default:
			s, ok := scalarText(v)
			if !ok {
				ck.fail("filters", fmt.Sprintf("%s: a value must be a string, a number, a boolean or a list of them", k))
				continue
			}
			values = []string{s}
		}
		if len(values) == 0 {
			continue
		}
		op := cityhub.OpEq
		if len(values) > 1 {
			op = cityhub.OpIn
		}
		rq.Filters = append(rq.Filters, cityhub.RowFilter{Item: f.item.Name, Op: op, Values: values})
	}
	if ck.has("sort") {
		d.sortGiven = p["sort"]
		clauses, _ := ck.list("sort")
		for i, cl := range clauses {
			name, desc, ok := parseSortClause(cl)
			if !ok {
				ck.fail("sort", fmt.Sprintf("invalid value %q", cl))
				continue
			}
			f := fs.lookup(name)
			switch {
			case f == nil:
				ck.fail("sort", fmt.Sprintf("invalid value %q", cl))
			case f == idField:
				// _id ascending is the order anyway, as the last key.
				if desc || i != len(clauses)-1 {
					ck.fail("sort", fmt.Sprintf("invalid value %q: _id sorts ascending, after every other field", cl))
				}
			case desc:
				rq.Sort = append(rq.Sort, "-"+f.item.Name)
			default:
				rq.Sort = append(rq.Sort, f.item.Name)
			}
		}
	}
	if d.distinct {
		fields := d.fields
		if !d.fieldsGiven {
			fields = fs.all
		}
		for _, f := range fields {
			if f == idField {
				ck.fail("fields", "_id makes every row distinct: leave it out with distinct")
				continue
			}
			rq.Fields = append(rq.Fields, f.item.Name)
		}
		rq.Distinct = true
	}
	d.keyset = len(rq.Sort) == 0 && !d.distinct
	if d.after > 0 && !d.keyset {
		ck.fail("after", "keyset paging follows _id order: leave sort empty or sort by _id, and distinct false")
	}
	rq.After = d.after
	rq.Offset = d.offset
	d.rq = rq
}

// parseSortClause reads `field`, `field asc|desc` or `"field" desc`.
func parseSortClause(s string) (name string, desc, ok bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		end := strings.Index(s[1:], `"`)
		if end < 0 {
			return "", false, false
		}
		name, s = s[1:end+1], strings.TrimSpace(s[end+2:])
	} else {
		f := strings.Fields(s)
		if len(f) == 0 {
			return "", false, false
		}
		name, s = f[0], strings.Join(f[1:], " ")
	}
	switch strings.ToLower(s) {
	case "", "asc":
		return name, false, name != ""
	case "desc":
		return name, true, name != ""
	}
	return "", false, false
}

// datastoreEntry finds the entry behind a resource id and checks the
// caller may read its rows.
func (c *call) datastoreEntry(rid string) (*cityhub.CatalogEntry, error) {
	e, ok, err := c.resourceEntry(rid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(fmt.Sprintf("Resource %q was not found.", rid))
	}
	if !c.s.canRead(c.r, e) {
		return nil, denied(fmt.Sprintf("the data of resource %s is open on conditions (有条件开放); "+
			"apply for it on the open-data portal and call with the API key of the approved account", rid))
	}
	return e, nil
}

// rowsError puts a row query's error in CKAN's terms.
func rowsError(err error, rid string) error {
	switch cityhub.ErrorCode(err) {
	case cityhub.ENOTFOUND:
		return notFound(fmt.Sprintf("Resource %q was not found.", rid))
	}
	return err
}

func (c *call) datastoreSearch() (any, error) {
	d, ck := readDatastore(c.p, datastoreParams)
	if err := ck.err(); err != nil {
		return nil, err
	}
	e, err := c.datastoreEntry(d.resourceID)
	if err != nil {
		return nil, err
	}
	d.resolve(c.p, ck, e)
	if err := ck.err(); err != nil {
		return nil, err
	}
	rq := d.rq
	rq.Limit = max(d.limit, 1) // 0 would be the store's default; limit 0 reads one row and shows none
	res, err := c.s.Store.QueryRows(c.ctx, rq)
	if err != nil {
		return nil, rowsError(err, d.resourceID)
	}
	c.s.record(e.ID, cityhub.UseAPI)
	rows := res.Rows
	if d.limit == 0 {
		rows = nil
	}

	fields := d.fields
	if !d.fieldsGiven {
		fields = []*dsField{}
		if !d.distinct {
			fields = append(fields, idField)
		}
		for _, name := range res.Fields {
			if f := d.fieldSet.byName[name]; f != nil {
				fields = append(fields, f)
			}
		}
	}
	out := &orderedObject{}
	out.set("include_total", d.includeTotal)
	out.set("limit", d.limit)
	out.set("records_format", d.format)
	out.set("resource_id", d.resourceID)
	out.set("total_estimation_threshold", d.threshold)
	if d.hasOffset {
		out.set("offset", d.offset)
	}
	if d.after > 0 {
		out.set("after", d.after)
	}
	if d.distinct {
		out.set("distinct", true)
	}
	if d.filters != nil {
		out.set("filters", d.filters)
	}
	if _, ok := c.p["q"]; ok {
		out.set("q", c.p["q"])
	}
	for _, k := range []string{"full_text", "plain", "language"} {
		if v, ok := c.p[k]; ok {
			out.set(k, v)
		}
	}
	if d.sortGiven != nil {
		out.set("sort", d.sortGiven)
	}
	out.set("records", json.RawMessage(encodeRecords(d.format, fields, rows)))
	out.set("fields", fields)
	out.set("_links", c.links(d, rows))
	if d.includeTotal && res.Total != nil {
		out.set("total", *res.Total)
		out.set("total_was_estimated", false)
	}
	return out, nil
}

// links are the start and next pages of a datastore_search: the request's
// own path and parameters (GET or POST alike), with the next page by
// after=<last _id> in _id order and by offset otherwise.
func (c *call) links(d *dsRequest, rows []map[string]any) map[string]string {
	base := url.Values{}
	for k, v := range c.p {
		if k != "offset" && k != "after" {
			base.Set(k, encodeParam(v))
		}
	}
	link := func(extra url.Values) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		if len(v) == 0 {
			return c.r.URL.Path
		}
		return c.r.URL.Path + "?" + v.Encode()
	}
	out := map[string]string{"start": link(nil)}
	last := d.after
	if len(rows) > 0 {
		last = toID(rows[len(rows)-1]["_id"])
	}
	if d.keyset && last > 0 {
		out["next"] = link(url.Values{"after": {strconv.FormatInt(last, 10)}})
		return out
	}
	out["next"] = link(url.Values{"offset": {strconv.Itoa(d.offset + d.limit)}})
	if d.offset-d.limit > 0 {
		out["prev"] = link(url.Values{"offset": {strconv.Itoa(d.offset - d.limit)}})
	}
	return out
}

func toID(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// value is a row's value of a field.
func value(row map[string]any, f *dsField) any {
	if f == idField {
		return row["_id"]
	}
	return row[f.item.Name]
}

// encodeRecords writes the records of a page in a records format, fields
// in order (JSON objects keep it, as CKAN's do).
func encodeRecords(format string, fields []*dsField, rows []map[string]any) []byte {
	var b bytes.Buffer
	switch format {
	case "csv", "tsv":
		var text bytes.Buffer
		w := csv.NewWriter(&text)
		if format == "tsv" {
			w.Comma = '\t'
		}
		rec := make([]string, len(fields))
		for _, row := range rows {
			for i, f := range fields {
				rec[i] = cellText(value(row, f))
			}
			w.Write(rec)
		}
		w.Flush()
		s, _ := json.Marshal(text.String())
		return s
	case "lists":
		b.WriteByte('[')
		for i, row := range rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for j, f := range fields {
				if j > 0 {
					b.WriteByte(',')
				}
				appendValue(&b, value(row, f))
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	default:
		keys := make([][]byte, len(fields))
		for i, f := range fields {
			keys[i], _ = json.Marshal(f.ID)
		}
		b.WriteByte('[')
		for i, row := range rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for j, f := range fields {
				if j > 0 {
					b.WriteByte(',')
				}
				b.Write(keys[j])
				b.WriteByte(':')
				appendValue(&b, value(row, f))
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	return b.Bytes()
}

// appendValue writes a cell as JSON: numbers as numbers, logicals as
// booleans, text as strings, empty as null.
func appendValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString("null")
			return
		}
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		enc, _ := json.Marshal(x)
		b.Write(enc)
	default:
		enc, err := json.Marshal(x)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(enc)
	}
}

// cellText is a cell as CSV text.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// orderedObject is a JSON object whose members keep their order.
type orderedObject struct {
	keys []string
	vals []any
}

func (o *orderedObject) set(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if raw, ok := o.vals[i].(json.RawMessage); ok {
			b.Write(raw)
			continue
		}
		var vb bytes.Buffer
		enc := json.NewEncoder(&vb)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o.vals[i]); err != nil {
			return nil, err
		}
		b.Write(bytes.TrimRight(vb.Bytes(), "\n"))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

package ckan_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ckan"
)

// public are the field ids of the open entry's public items, in order;
// mobile and citizen_id (sensitive, secret) are not among them.
var public = []string{"_id", "record_no", "lot", "amount", "day", "paid", "备注"}

func fieldIDs(res map[string]any) []string {
	var ids []string
	for _, f := range res["fields"].([]any) {
		ids = append(ids, f.(map[string]any)["id"].(string))
	}
	return ids
}

// noSecrets fails when a body holds anything of the sensitive or secret
// items: their names, codes or values.
func noSecrets(t *testing.T, body []byte) {
	t.Helper()
	s := string(body)
	for _, bad := range []string{"mobile", "citizen_id", "车主手机", "车主身份证号码", "13955500", mobileOf(7), citizenIDOf(7)[:14]} {
		if strings.Contains(s, bad) {
			t.Fatalf("a sensitive or secret item shows (%q): %.300s", bad, s)
		}
	}
}

func TestDatastoreSearchDefaults(t *testing.T) {
	f := newFixture(t)
	rid := cityhub.ResourceID(f.open.ID)
	before := f.usage.count(f.open.ID, cityhub.UseAPI)
	a := f.get(t, "datastore_search", url.Values{"resource_id": {rid}}).ok(t)
	noSecrets(t, a.body)
	res := a.resultMap()
	if f.usage.count(f.open.ID, cityhub.UseAPI) != before+1 {
		t.Errorf("API use not counted")
	}
	for k, v := range map[string]any{"resource_id": rid, "limit": 100.0, "include_total": true, "records_format": "objects",
		"total": 250.0, "total_was_estimated": false} {
		if res[k] != v {
			t.Errorf("%s = %v, want %v", k, res[k], v)
		}
	}
	if v, ok := res["total_estimation_threshold"]; !ok || v != nil {
		t.Errorf("total_estimation_threshold = %v (present %v), want null", v, ok)
	}
	if got := fieldIDs(res); !slices.Equal(got, public) {
		t.Errorf("fields %v, want %v", got, public)
	}
	types := map[string]string{}
	for _, fl := range res["fields"].([]any) {
		m := fl.(map[string]any)
		types[m["id"].(string)] = m["type"].(string)
		if m["id"] == "lot" && m["info"].(map[string]any)["label"] != "停车场名称" {
			t.Errorf("info %v", m["info"])
		}
	}
	want := map[string]string{"_id": "int", "record_no": "text", "amount": "numeric", "day": "date", "paid": "bool", "备注": "text"}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("type of %s = %s, want %s", k, types[k], v)
		}
	}
	records := res["records"].([]any)
	if len(records) != 100 {
		t.Fatalf("%d records", len(records))
	}
	first := records[0].(map[string]any)
	if first["record_no"] != "R00001" || first["amount"] != 1.5 || first["paid"] != false || first["day"] != "2026-01-02" {
		t.Errorf("first record %v", first)
	}
	// Records keep the fields' order, as CKAN's do.
	if !bytes.Contains(a.body, []byte(`{"_id":`)) || bytes.Index(a.body, []byte(`"record_no"`)) > bytes.Index(a.body, []byte(`"lot":`)) {
		t.Errorf("record keys out of order: %.200s", a.body)
	}
	links := res["_links"].(map[string]any)
	start, _ := url.Parse(links["start"].(string))
	next, _ := url.Parse(links["next"].(string))
	if start.Path != "/api/3/action/datastore_search" || start.Query().Get("resource_id") != rid || start.Query().Has("offset") {
		t.Errorf("start %v", links["start"])
	}
	lastID := records[99].(map[string]any)["_id"].(float64)
	if next.Query().Get("after") != jsonNumber(lastID) || next.Query().Has("offset") {
		t.Errorf("next %v, last _id %v", links["next"], lastID)
	}
}

func jsonNumber(v float64) string { b, _ := json.Marshal(v); return string(b) }

// Following _links.next pages through every row once, by keyset.
func TestDatastoreKeysetPaging(t *testing.T) {
	f := newFixture(t)
	rid := cityhub.ResourceID(f.open.ID)
	seen := map[float64]bool{}
	var order []float64
	link := "/api/3/action/datastore_search?" + url.Values{"resource_id": {rid}, "limit": {"60"}, "include_total": {"false"}}.Encode()
	for page := 0; page < 10; page++ {
		a := f.do(t, http.MethodGet, f.srv.URL+link, "", nil, nil).ok(t)
		res := a.resultMap()
		if _, ok := res["total"]; ok {
			t.Errorf("include_total false still gives total")
		}
		recs := res["records"].([]any)
		for _, r := range recs {
			id := r.(map[string]any)["_id"].(float64)
			if seen[id] {
				t.Fatalf("_id %v twice", id)
			}
			seen[id] = true
			order = append(order, id)
		}
		link = res["_links"].(map[string]any)["next"].(string)
		if len(recs) == 0 {
			break
		}
		if !strings.Contains(link, "after=") {
			t.Fatalf("next %s does not page by keyset", link)
		}
	}
	if len(seen) != 250 || !slices.IsSorted(order) {
		t.Errorf("%d rows seen, sorted %v", len(seen), slices.IsSorted(order))
	}
	// The same rows by offset.
	a := f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "offset": {"60"}, "limit": {"5"}}).ok(t).resultMap()
	if got := a["records"].([]any)[0].(map[string]any)["_id"].(float64); got != order[60] {
		t.Errorf("offset 60 starts at %v, want %v", got, order[60])
	}
	if a["offset"] != 60.0 {
		t.Errorf("offset not echoed: %v", a["offset"])
	}
	// after given by the client.
	a = f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "after": {jsonNumber(order[199])}, "limit": {"100"}}).ok(t).resultMap()
	if n := len(a["records"].([]any)); n != 50 {
		t.Errorf("after the 200th row: %d rows", n)
	}
	f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "after": {"3"}, "offset": {"5"}}).failed(t,
		http.StatusConflict, "Validation Error", "")
	f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "after": {"3"}, "sort": {"amount"}}).failed(t,
		http.StatusConflict, "Validation Error", "")
	// With a sort, next pages by offset as CKAN's do.
	s := f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "sort": {"amount desc, lot"}, "limit": {"10"},
		"offset": {"20"}}).ok(t).resultMap()
	next, _ := url.Parse(s["_links"].(map[string]any)["next"].(string))
	prev, _ := url.Parse(s["_links"].(map[string]any)["prev"].(string))
	if next.Query().Get("offset") != "30" || prev.Query().Get("offset") != "10" || next.Query().Get("sort") != "amount desc, lot" {
		t.Errorf("links %v", s["_links"])
	}
	var amounts []float64
	for _, r := range s["records"].([]any) {
		amounts = append(amounts, r.(map[string]any)["amount"].(float64))
	}
	if !slices.IsSortedFunc(amounts, func(a, b float64) int { return int(b - a) }) {
		t.Errorf("amount desc: %v", amounts)
	}
}

func TestDatastoreSearchParameters(t *testing.T) {
	f := newFixture(t)
	rid := cityhub.ResourceID(f.open.ID)
	get := func(q url.Values) *answer {
		q.Set("resource_id", rid)
		return f.get(t, "datastore_search", q)
	}
	// limit: default 100, capped at 32000, 0 gives no rows and the total.
	if r := get(url.Values{"limit": {"50000"}}).ok(t).resultMap(); r["limit"] != 32000.0 || len(r["records"].([]any)) != 250 {
		t.Errorf("limit 50000: limit %v, %d records", r["limit"], len(r["records"].([]any)))
	}
	if r := get(url.Values{"limit": {"0"}}).ok(t).resultMap(); len(r["records"].([]any)) != 0 || r["total"] != 250.0 {
		t.Errorf("limit 0: %d records, total %v", len(r["records"].([]any)), r["total"])
	}
	e := get(url.Values{"limit": {"-1"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["limit"]), []string{"Must be a natural number"}) {
		t.Errorf("limit -1: %v", e)
	}
	e = get(url.Values{"limit": {"ten"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["limit"]), []string{"Invalid integer"}) {
		t.Errorf("limit ten: %v", e)
	}
	// Unknown parameters are CKAN's __junk.
	e = get(url.Values{"foo": {"1"}, "bar": {"2"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["__junk"]), []string{"The input field ['bar', 'foo'] was not expected."}) {
		t.Errorf("junk: %v", e)
	}
	e = f.get(t, "datastore_search", nil).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["resource_id"]), []string{"Missing value"}) {
		t.Errorf("no resource_id: %v", e)
	}
	// id is resource_id's other name.
	f.get(t, "datastore_search", url.Values{"id": {rid}, "limit": {"1"}}).ok(t)

	// filters: a value, or a list (any of).
	r := get(url.Values{"filters": {`{"lot": "鼓楼地下停车场"}`}}).ok(t).resultMap()
	if r["total"] != 84.0 {
		t.Errorf("filter on lot: total %v", r["total"])
	}
	for _, rec := range r["records"].([]any) {
		if rec.(map[string]any)["lot"] != "鼓楼地下停车场" {
			t.Fatalf("filtered record %v", rec)
		}
	}
	if f := r["filters"].(map[string]any); f["lot"] != "鼓楼地下停车场" {
		t.Errorf("filters echoed %v", f)
	}
	r = get(url.Values{"filters": {`{"record_no": ["R00001", "R00002", "R99999"], "paid": false}`}}).ok(t).resultMap()
	if r["total"] != 1.0 {
		t.Errorf("filter on a list and a boolean: total %v", r["total"])
	}
	r = get(url.Values{"filters": {`{"停车场名称": "鼓楼地下停车场", "amount": 1.5}`}}).ok(t).resultMap()
	if r["total"] != 3.0 {
		t.Errorf("filter by item name and a number: total %v, want 3", r["total"])
	}
	// q: a substring of any public text field.
	r = get(url.Values{"q": {"备注12"}}).ok(t).resultMap()
	if r["total"] != 11.0 {
		t.Errorf("q 备注12: total %v", r["total"])
	}
	// fields.
	r = get(url.Values{"fields": {"lot,amount"}, "limit": {"2"}}).ok(t).resultMap()
	if got := fieldIDs(r); !slices.Equal(got, []string{"lot", "amount"}) {
		t.Errorf("fields %v", got)
	}
	if rec := r["records"].([]any)[0].(map[string]any); len(rec) != 2 {
		t.Errorf("record %v", rec)
	}
	r = get(url.Values{"fields": {`["_id", "备注"]`}, "limit": {"1"}}).ok(t).resultMap()
	if got := fieldIDs(r); !slices.Equal(got, []string{"_id", "备注"}) {
		t.Errorf("fields %v", got)
	}
	// records_format.
	r = get(url.Values{"records_format": {"lists"}, "limit": {"2"}, "fields": {"record_no,amount"}}).ok(t).resultMap()
	if mustJSON(r["records"]) != `[["R00001",1.5],["R00002",2.5]]` {
		t.Errorf("lists %s", mustJSON(r["records"]))
	}
	r = get(url.Values{"records_format": {"csv"}, "limit": {"2"}, "fields": {"record_no,lot"}}).ok(t).resultMap()
	if r["records"] != "R00001,鼓楼地下停车场\nR00002,东部新城停车场\n" {
		t.Errorf("csv %q", r["records"])
	}
	r = get(url.Values{"records_format": {"tsv"}, "limit": {"1"}, "fields": {"record_no,lot"}}).ok(t).resultMap()
	if r["records"] != "R00001\t鼓楼地下停车场\n" {
		t.Errorf("tsv %q", r["records"])
	}
	e = get(url.Values{"records_format": {"xml"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if len(strs(e["records_format"])) != 1 {
		t.Errorf("records_format xml: %v", e)
	}
	// Unknown fields, filters and sorts, and what is not supported.
	for k, v := range map[string]string{"fields": "nope", "filters": `{"nope": 1}`, "sort": "nope desc",
		"q": `{"lot": "鼓楼"}`} {
		e := get(url.Values{k: {v}}).failed(t, http.StatusConflict, "Validation Error", "")
		if len(strs(e[k])) == 0 {
			t.Errorf("%s=%s: %v", k, v, e)
		}
	}
	// distinct: each lot once, no _id, paged by offset.
	r = get(url.Values{"distinct": {"true"}, "fields": {"lot"}, "sort": {"lot desc"}, "limit": {"2"}}).ok(t).resultMap()
	var lots []string
	for _, rec := range r["records"].([]any) {
		m := rec.(map[string]any)
		if _, ok := m["_id"]; ok || len(m) != 1 {
			t.Errorf("distinct record %v, want the lot alone", m)
		}
		lots = append(lots, m["lot"].(string))
	}
	links := r["_links"].(map[string]any)
	if !slices.Equal(lots, []string{"鼓楼地下停车场", "天一广场停车场"}) || r["total"] != 3.0 || r["distinct"] != true ||
		len(r["fields"].([]any)) != 1 || !strings.Contains(links["next"].(string), "offset=2") {
		t.Errorf("distinct lots: %v (total %v), fields %v, links %v", lots, r["total"], r["fields"], links)
	}
	for k, q := range map[string]url.Values{"fields": {"distinct": {"true"}, "fields": {"_id,lot"}},
		"after": {"distinct": {"true"}, "fields": {"lot"}, "after": {"3"}}} {
		if e := get(q).failed(t, http.StatusConflict, "Validation Error", ""); len(strs(e[k])) == 0 {
			t.Errorf("%v: %v, want an error on %s", q, e, k)
		}
	}
	e = get(url.Values{"filters": {`{"amount": "lots"}`}}).failed(t, http.StatusConflict, "Validation Error", "")
	if len(strs(e["filters"])) == 0 {
		t.Errorf("a filter of the wrong type: %v", e)
	}
	e = get(url.Values{"filters": {`not json`}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["filters"]), []string{"Cannot parse JSON"}) {
		t.Errorf("filters not JSON: %v", e)
	}
}

// Sensitive and secret items are never served, whatever the request.
func TestDatastoreNeverServesSensitiveItems(t *testing.T) {
	f := newFixture(t)
	rid := cityhub.ResourceID(f.open.ID)
	for _, q := range []url.Values{
		{"fields": {"mobile"}}, {"fields": {"车主手机"}}, {"fields": {"citizen_id"}},
		{"filters": {`{"mobile": "` + mobileOf(3) + `"}`}}, {"filters": {`{"车主身份证号码": "` + citizenIDOf(3) + `"}`}},
		{"sort": {"mobile"}}, {"sort": {"citizen_id desc"}},
	} {
		q.Set("resource_id", rid)
		a := f.get(t, "datastore_search", q)
		a.failed(t, http.StatusConflict, "Validation Error", "")
	}
	// A search for a secret value finds nothing: those columns are not searched.
	for _, q := range []string{mobileOf(3), citizenIDOf(3), "13955500"} {
		a := f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "q": {q}}).ok(t)
		if a.resultMap()["total"] != 0.0 {
			t.Errorf("q %s finds %v rows", q, a.resultMap()["total"])
		}
	}
	for _, format := range []string{"objects", "lists", "csv", "tsv"} {
		a := f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "records_format": {format}, "limit": {"300"}}).ok(t)
		noSecrets(t, a.body)
	}
	// The approved caller of a conditional entry gets no more items.
	f.granted.Store(f.cond.ID, true)
	defer f.granted.Delete(f.cond.ID)
	a := f.do(t, http.MethodGet, f.srv.URL+"/api/3/action/datastore_search?resource_id="+cityhub.ResourceID(f.cond.ID),
		"", nil, http.Header{"X-Api-Key": {"approved"}}).ok(t)
	noSecrets(t, a.body)
	for _, format := range []string{"csv", "tsv", "json"} {
		resp := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid+"?format="+format, "", nil, nil)
		noSecrets(t, resp.body)
	}
}

func TestDatastoreAccess(t *testing.T) {
	f := newFixture(t)
	cond := cityhub.ResourceID(f.cond.ID)
	// 有条件开放: 403 unless CanRead says the caller was approved.
	f.get(t, "datastore_search", url.Values{"resource_id": {cond}}).failed(t, http.StatusForbidden, "Authorization Error",
		"Access denied")
	a := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+cond, "", nil, nil)
	if a.status != http.StatusForbidden {
		t.Errorf("dump of a conditional resource: %d", a.status)
	}
	hdr := http.Header{"X-Api-Key": {"approved"}}
	f.do(t, http.MethodGet, f.srv.URL+"/api/3/action/datastore_search?resource_id="+cond, "", nil, hdr).failed(t,
		http.StatusForbidden, "Authorization Error", "")
	f.granted.Store(f.cond.ID, true)
	r := f.do(t, http.MethodGet, f.srv.URL+"/api/3/action/datastore_search?resource_id="+cond, "", nil, hdr).ok(t).resultMap()
	if r["total"] != 30.0 {
		t.Errorf("approved: total %v", r["total"])
	}
	if a := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+cond, "", nil, hdr); a.status != http.StatusOK {
		t.Errorf("approved dump: %d", a.status)
	}
	f.granted.Delete(f.cond.ID)
	// A tabular entry with nothing loaded yet lists its resource, not
	// active; its datastore is not found, as CKAN's before a first upload.
	res := f.get(t, "resource_show", url.Values{"id": {cityhub.ResourceID(f.empty.ID)}}).ok(t).resultMap()
	if res["datastore_active"] != false || res["last_modified"] != nil {
		t.Errorf("empty table: %v", res)
	}
	f.get(t, "datastore_search", url.Values{"resource_id": {cityhub.ResourceID(f.empty.ID)}}).failed(t,
		http.StatusNotFound, "Not Found Error", "Not found: Resource")
	// Drafts, 不予开放 entries and entries without rows have no resource,
	// even for a caller CanRead would let in.
	for _, e := range []*cityhub.CatalogEntry{f.draft, f.closed, f.file} {
		f.granted.Store(e.ID, true)
		rid := cityhub.ResourceID(e.ID)
		f.do(t, http.MethodGet, f.srv.URL+"/api/3/action/datastore_search?resource_id="+rid, "", nil, hdr).failed(t,
			http.StatusNotFound, "Not Found Error", `Not found: Resource "`+rid+`" was not found.`)
		if a := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid, "", nil, hdr); a.status != http.StatusNotFound {
			t.Errorf("dump of %s: %d", e.Name, a.status)
		}
		f.granted.Delete(e.ID)
	}
	f.get(t, "datastore_search", url.Values{"resource_id": {"nope"}}).failed(t, http.StatusNotFound, "Not Found Error",
		`Not found: Resource "nope" was not found.`)
	// Parameters are checked before the resource, as CKAN's schema is.
	f.get(t, "datastore_search", url.Values{"resource_id": {"nope"}, "limit": {"x"}}).failed(t, http.StatusConflict,
		"Validation Error", "")
}

func TestDump(t *testing.T) {
	f := newFixture(t)
	rid := cityhub.ResourceID(f.open.ID)
	before := f.usage.count(f.open.ID, cityhub.UseDownload)
	a := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid, "", nil, nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("dump: %d %s", a.status, a.header.Get("Content-Type"))
	}
	if cd := a.header.Get("Content-Disposition"); !strings.Contains(cd, rid+".csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if f.usage.count(f.open.ID, cityhub.UseDownload) != before+1 {
		t.Errorf("download not counted")
	}
	recs, err := csv.NewReader(bytes.NewReader(a.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 251 || !slices.Equal(recs[0], public) {
		t.Fatalf("%d lines, header %v", len(recs), recs[0])
	}
	if !slices.Equal(recs[1][1:], []string{"R00001", "鼓楼地下停车场", "1.5", "2026-01-02", "false", "备注1"}) {
		t.Errorf("first row %v", recs[1])
	}
	// The dump and the API agree.
	api := f.get(t, "datastore_search", url.Values{"resource_id": {rid}, "records_format": {"csv"}, "limit": {"300"}}).ok(t).resultMap()
	var api2 bytes.Buffer
	w := csv.NewWriter(&api2)
	w.WriteAll(recs[1:])
	if api["records"] != api2.String() {
		t.Errorf("dump and datastore_search differ")
	}

	a = f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid+"?bom=true&format=tsv&limit=3&offset=10", "", nil, nil)
	if !bytes.HasPrefix(a.body, []byte("\uFEFF_id\trecord_no")) {
		t.Errorf("tsv with BOM starts %q", a.body[:min(30, len(a.body))])
	}
	lines := strings.Split(strings.TrimSpace(string(a.body)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(strings.SplitN(lines[1], "\t", 3)[1], "R00011") {
		t.Errorf("limit 3 offset 10: %q", lines)
	}

	a = f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid+"?format=json&filters="+url.QueryEscape(`{"lot":"天一广场停车场"}`), "", nil, nil)
	var doc struct {
		Fields  []map[string]any `json:"fields"`
		Records [][]any          `json:"records"`
	}
	if err := json.Unmarshal(a.body, &doc); err != nil {
		t.Fatalf("json dump: %v\n%.300s", err, a.body)
	}
	if len(doc.Records) != 83 || len(doc.Fields) != len(public) || doc.Fields[0]["id"] != "_id" {
		t.Errorf("json dump: %d records, fields %v", len(doc.Records), doc.Fields)
	}
	for _, bad := range []string{"?format=xml", "?sort=amount", "?limit=x", "?records_format=csv"} {
		a := f.do(t, http.MethodGet, f.srv.URL+"/datastore/dump/"+rid+bad, "", nil, nil)
		if a.status < 400 || a.status >= 500 {
			t.Errorf("%s: status %d", bad, a.status)
		}
	}
}

// A dump bigger than a page streams in pages, each from the same table
// version, and never repeats or skips a row.
func TestDumpStreamsPages(t *testing.T) {
	f := newFixture(t)
	api := &ckan.Server{Store: f.store, Search: f.spy, DumpPage: 7}
	mux := http.NewServeMux()
	api.Register(mux)
	rid := cityhub.ResourceID(f.open.ID)
	for target, want := range map[string]int{"": 250, "?limit=100&offset=3": 100, "?offset=245": 5} {
		rec := newRecorder(mux, http.MethodGet, "/datastore/dump/"+rid+target, "")
		recs, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil || len(recs) != want+1 {
			t.Fatalf("%s: %d lines, %v", target, len(recs), err)
		}
		seen := map[string]bool{}
		for _, r := range recs[1:] {
			if seen[r[0]] {
				t.Fatalf("%s: _id %s twice", target, r[0])
			}
			seen[r[0]] = true
		}
	}
}

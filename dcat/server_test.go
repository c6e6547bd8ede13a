package dcat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// fakeCatalog stands in for the store and the search index: the feeds'
// boundary. It searches as they do for what the feeds ask (Public, newest
// first, limit and offset) and counts the calls.
type fakeCatalog struct {
	mu      sync.Mutex
	entries []*cityhub.CatalogEntry // set up before the first request
	public  []*cityhub.CatalogEntry // in the feeds' order, on first use
	depts   []*cityhub.Department
	calls   map[string]int
}

func (f *fakeCatalog) count(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fakeCatalog) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
}

func (f *fakeCatalog) SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	f.count("SearchCatalog")
	if !q.Public || q.Sort != "updated" || q.Q != "" {
		return nil, fmt.Errorf("fake answers public searches by update only, got %+v", q)
	}
	f.mu.Lock()
	if f.public == nil {
		for _, e := range f.entries {
			if e.PublicMetadata() {
				f.public = append(f.public, e)
			}
		}
		slices.SortFunc(f.public, func(a, b *cityhub.CatalogEntry) int {
			if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
				return c
			}
			return cmp.Compare(b.ID, a.ID)
		})
	}
	hits := f.public
	f.mu.Unlock()
	if from, _ := q.ModifiedBounds(); !q.ModifiedFrom.IsZero() {
		hits = slices.DeleteFunc(slices.Clone(hits), func(e *cityhub.CatalogEntry) bool { return e.UpdatedAt.UnixMicro() < from })
	}
	res := &cityhub.CatalogResult{Total: len(hits)}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if q.Offset < len(hits) {
		res.Entries = hits[q.Offset:min(len(hits), q.Offset+limit)]
	}
	return res, nil
}

func (f *fakeCatalog) Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error) {
	f.count("Entry")
	for _, e := range f.entries {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no entry %d", id)
}

func (f *fakeCatalog) EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error) {
	f.count("EntryByCode")
	for _, e := range f.entries {
		if e.Code == code {
			return e, nil
		}
	}
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no entry %s", code)
}

func (f *fakeCatalog) Department(ctx context.Context, id int64) (*cityhub.Department, error) {
	f.count("Department")
	for _, d := range f.depts {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no department %d", id)
}

func (f *fakeCatalog) Departments(ctx context.Context, flt cityhub.DepartmentFilter) ([]*cityhub.Department, int, error) {
	f.count("Departments")
	limit := flt.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if flt.Offset >= len(f.depts) {
		return nil, len(f.depts), nil
	}
	return f.depts[flt.Offset:min(len(f.depts), flt.Offset+limit)], len(f.depts), nil
}

func (f *fakeCatalog) Domains(ctx context.Context) ([]*cityhub.Domain, error) {
	f.count("Domains")
	return []*cityhub.Domain{{Code: "traffic", Name: "交通状况", EN: "Traffic", Key: true},
		{Code: "market", Name: "市场监管", EN: "Market regulation", Key: true}}, nil
}

var t0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

// entry is a published entry open unconditionally with a public table.
func entry(id int64, updated time.Time) *cityhub.CatalogEntry {
	return &cityhub.CatalogEntry{
		ID: id, Code: fmt.Sprintf("211/%06d", id), ClassificationCode: "211", Name: fmt.Sprintf("数据集%d", id),
		ProviderID: 1 + id%3, ProviderName: "旧名称", ProviderCode: "OLD", Abstract: "摘要", Format: cityhub.FormatSheet,
		Items: []cityhub.DataItem{
			{Name: "编号", Code: "no", Type: "C", Sensitivity: cityhub.SensPublic, PrimaryKey: true},
			{Name: "身份证号码", Code: "citizen_id", Type: "C", Sensitivity: cityhub.SensSecret},
			{Name: "联系手机", Code: "mobile", Type: "C", Sensitivity: cityhub.SensSensitive},
		},
		ShareType: cityhub.Unconditional, OpenType: cityhub.Unconditional, UpdateCycle: cityhub.CycleMonthly,
		Tags: []string{"交通", "parking"}, Domain: "traffic", Status: cityhub.StatusPublished,
		CreatedAt: t0, UpdatedAt: updated,
	}
}

// catalogOf makes n public entries, one a minute newest last, and a few
// the public may not see.
func catalogOf(n int) *fakeCatalog {
	f := &fakeCatalog{depts: []*cityhub.Department{
		{ID: 1, Name: "宁波市交通运输委员会", CreditCode: "11330200MB0000001X", Level: cityhub.LevelCity},
		{ID: 2, Name: "宁波市公安局", CreditCode: "11330200MB0000002X", Level: cityhub.LevelCity},
		{ID: 3, Name: "宁波市统计局", CreditCode: "11330200MB0000003X", Level: cityhub.LevelCity},
	}}
	for i := 1; i <= n; i++ {
		f.entries = append(f.entries, entry(int64(i), t0.Add(time.Duration(i)*time.Minute)))
	}
	hidden := []func(e *cityhub.CatalogEntry){
		func(e *cityhub.CatalogEntry) { e.Status = cityhub.StatusDraft },
		func(e *cityhub.CatalogEntry) { e.Status = cityhub.StatusWithdrawn },
		func(e *cityhub.CatalogEntry) { e.OpenType = cityhub.NotShared },
		func(e *cityhub.CatalogEntry) { e.Status = cityhub.StatusApproved },
	}
	for i, hide := range hidden {
		e := entry(int64(9000+i), t0.Add(time.Hour*24)) // newer than all: would come first
		hide(e)
		f.entries = append(f.entries, e)
	}
	return f
}

type fixture struct {
	f   *fakeCatalog
	srv *Server
	ts  *httptest.Server
}

func newFixture(t *testing.T, f *fakeCatalog) *fixture {
	t.Helper()
	srv := &Server{Search: f, Store: f, Location: time.FixedZone("CST", 8*3600),
		BaseURL:   func(*http.Request) string { return "https://data.example.cn/" },
		Publisher: Agent{Name: "宁波市大数据管理局", CreditCode: "11330200MB0000000X", Homepage: "https://dsj.example.cn/"}}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &fixture{f: f, srv: srv, ts: ts}
}

const base = "https://data.example.cn"

func (fx *fixture) get(t *testing.T, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fx.ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// jnode is a node of our JSON-LD: "@id", "@type" and arrays of values.
type jnode map[string]any

// values lists a property's values: IRIs, or literal lexical forms.
func (n jnode) values(prop string) []string {
	var out []string
	list, _ := n[prop].([]any)
	for _, v := range list {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if id, ok := v["@id"].(string); ok {
				out = append(out, id)
			} else {
				out = append(out, fmt.Sprint(v["@value"]))
			}
		}
	}
	return out
}

func (n jnode) value(prop string) string {
	if v := n.values(prop); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (n jnode) has(typ string) bool {
	types, _ := n["@type"].([]any)
	for _, t := range types {
		if t == typ {
			return true
		}
	}
	return false
}

// nested returns a property's first value as a node (a blank node).
func (n jnode) nested(prop string) jnode {
	list, _ := n[prop].([]any)
	if len(list) == 0 {
		return nil
	}
	m, _ := list[0].(map[string]any)
	return m
}

// decode reads our JSON-LD into nodes by IRI, with the datasets in order.
func decode(t *testing.T, body string) (map[string]jnode, []string) {
	t.Helper()
	var doc struct {
		Context map[string]string `json:"@context"`
		Graph   []jnode           `json:"@graph"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("JSON-LD: %v\n%s", err, body)
	}
	for p, ns := range map[string]string{"dcat": nsDCAT, "dct": nsDCT, "foaf": nsFOAF, "vcard": nsVCARD,
		"hydra": nsHydra, "xsd": nsXSD, "adms": nsADMS, "schema": nsSchema} {
		if doc.Context[p] != ns {
			t.Errorf("@context %s = %q, want %q", p, doc.Context[p], ns)
		}
	}
	nodes := map[string]jnode{}
	var datasets []string
	for _, n := range doc.Graph {
		id, _ := n["@id"].(string)
		nodes[id] = n
		if n.has("dcat:Dataset") {
			datasets = append(datasets, id)
		}
	}
	return nodes, datasets
}

func datasetIRI(id int64) string { return fmt.Sprintf(base+"/dataset/211-%06d", id) }

func TestCatalogPaging(t *testing.T) {
	fx := newFixture(t, catalogOf(250))
	link := func(page int) string { return fmt.Sprintf(base+"/catalog.jsonld?page=%d", page) }
	for _, c := range []struct {
		query                 string
		page                  int
		first, last           int64 // ids of the first and last dataset (newest first)
		n                     int
		previous, next, total string
	}{
		{"", 1, 250, 151, 100, "", link(2), "250"},
		{"?page=1", 1, 250, 151, 100, "", link(2), "250"},
		{"?page=2", 2, 150, 51, 100, link(1), link(3), "250"},
		{"?page=3", 3, 50, 1, 50, link(2), "", "250"},
		{"?page=4", 4, 0, 0, 0, link(3), "", "250"},
		{"?page=99", 99, 0, 0, 0, link(3), "", "250"},
	} {
		res, body := fx.get(t, "/catalog.jsonld"+c.query)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/ld+json; charset=utf-8" {
			t.Fatalf("%s: %d %s", c.query, res.StatusCode, res.Header.Get("Content-Type"))
		}
		nodes, datasets := decode(t, body)
		if len(datasets) != c.n {
			t.Errorf("%s: %d datasets, want %d", c.query, len(datasets), c.n)
		}
		if c.n > 0 && (datasets[0] != datasetIRI(c.first) || datasets[len(datasets)-1] != datasetIRI(c.last)) {
			t.Errorf("%s: datasets %s … %s, want ids %d … %d", c.query, datasets[0], datasets[len(datasets)-1], c.first, c.last)
		}
		cat := nodes[base+"/"]
		if !cat.has("dcat:Catalog") || len(cat.values("dcat:dataset")) != c.n {
			t.Errorf("%s: catalog %v lists %d datasets", c.query, cat, len(cat.values("dcat:dataset")))
		}
		if got := cat.value("dct:modified"); got != "2026-01-01T20:10:00+08:00" { // the newest, on every page
			t.Errorf("%s: catalog dct:modified %s", c.query, got)
		}
		view := nodes[link(c.page)]
		if !view.has("hydra:PartialCollectionView") || cat.value("hydra:view") != link(c.page) {
			t.Fatalf("%s: no view %s in %v", c.query, link(c.page), nodes)
		}
		for prop, want := range map[string]string{"hydra:first": link(1), "hydra:last": link(3), "hydra:previous": c.previous,
			"hydra:next": c.next, "hydra:totalItems": c.total, "hydra:itemsPerPage": "100"} {
			if got := view.value(prop); got != want {
				t.Errorf("%s: %s = %q, want %q", c.query, prop, got, want)
			}
		}
		for _, id := range []int64{9000, 9001, 9002, 9003} {
			if strings.Contains(body, fmt.Sprintf("211-%06d", id)) {
				t.Errorf("%s: entry %d the public may not see is listed", c.query, id)
			}
		}
	}
	for _, q := range []string{"?page=0", "?page=-1", "?page=x", "?page=1.5", "?page=99999999999", "?modified_since=yesterday",
		"?modified_since=2026-13-01"} {
		if res, body := fx.get(t, "/catalog.ttl"+q); res.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", q, res.StatusCode, body)
		}
	}
	// Turtle pages link to Turtle pages.
	res, body := fx.get(t, "/catalog.ttl?page=2")
	if res.Header.Get("Content-Type") != "text/turtle; charset=utf-8" ||
		!strings.Contains(body, "hydra:next <"+base+"/catalog.ttl?page=3>") {
		t.Errorf("turtle page 2: %s\n%s", res.Header.Get("Content-Type"), body[:min(len(body), 2000)])
	}
}

func TestModifiedSince(t *testing.T) {
	const n = 1000
	fx := newFixture(t, catalogOf(n))
	fx.srv.PageSize = 100
	cst := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		since string
		want  int // entries modified at or after
	}{
		{"2026-01-01T08:00:30Z", n},      // before all
		{"2026-01-01T16:01:00+08:00", n}, // = the first: included
		{"2026-01-01T08:01:00.000001Z", n - 1},
		{"2026-01-01T16:05:00", n - 4}, // no zone: the server's (UTC+8)
		{"2026-01-01T16:05", n - 4},
		{"2026-01-01 16:05:00", n - 4},
		{"2026-01-01", n},           // midnight UTC+8
		{"2026-01-02", n - 480 + 1}, // 2026-01-01T16:00Z = id 480 onwards
		{t0.Add(997 * time.Minute).Format(time.RFC3339), 4},
		{t0.Add(n * time.Minute).Format(time.RFC3339Nano), 1},
		{t0.Add(n*time.Minute + 1).Format(time.RFC3339Nano), 0},
		{"2027-01-01T00:00:00Z", 0},
	} {
		since, err := parseTime(c.since, cst)
		if err != nil {
			t.Fatal(err)
		}
		pages := max(1, (c.want+99)/100)
		got := 0
		for page := 1; page <= pages+1; page++ {
			fx.f.reset()
			res, body := fx.get(t, "/catalog.jsonld?"+url.Values{"modified_since": {c.since}, "page": {fmt.Sprint(page)}}.Encode())
			if res.StatusCode != 200 {
				t.Fatalf("%s page %d: %d %s", c.since, page, res.StatusCode, body)
			}
			nodes, datasets := decode(t, body)
			got += len(datasets)
			for _, iri := range datasets {
				mod, _ := time.Parse(time.RFC3339Nano, nodes[iri].value("dct:modified"))
				if mod.Before(since) {
					t.Errorf("%s page %d: %s modified %s", c.since, page, iri, mod)
				}
			}
			var view jnode
			for _, nd := range nodes {
				if nd.has("hydra:PartialCollectionView") {
					view = nd
				}
			}
			if total := view.value("hydra:totalItems"); total != fmt.Sprint(c.want) {
				t.Errorf("%s page %d: totalItems %s, want %d", c.since, page, total, c.want)
			}
			q, _ := url.Parse(view.value("hydra:last"))
			if ls, _ := parseTime(q.Query().Get("modified_since"), cst); !ls.Equal(since) || q.Query().Get("page") != fmt.Sprint(pages) {
				t.Errorf("%s page %d: last page %s", c.since, page, view.value("hydra:last"))
			}
			// One search for the page, one more for the catalog's newest
			// entry past the first page.
			if calls := fx.f.calls["SearchCatalog"]; calls > 2 {
				t.Errorf("%s page %d: %d searches, want at most 2", c.since, page, calls)
			}
		}
		if got != c.want {
			t.Errorf("%s: %d datasets over the pages, want %d", c.since, got, c.want)
		}
	}
}

func TestDatasetNotFound(t *testing.T) {
	fx := newFixture(t, catalogOf(3))
	for _, path := range []string{
		"/dataset/211-000999.jsonld",                   // no such entry
		"/dataset/211-009000.ttl",                      // draft
		"/dataset/211-009001.ttl",                      // withdrawn
		"/dataset/211-009002.jsonld",                   // 不予开放
		"/dataset/211-009003.jsonld",                   // approved, not yet published
		"/dataset/" + cityhub.PackageID(9002) + ".ttl", // by id: still hidden
		"/dataset/211-000001.rdf",                      // a format we do not serve
		"/dataset/211-000001.jsonld.ttl",
		"/dataset/211%2F000001.ttl", // the code itself is no name
		"/dataset/.ttl",
		"/dataset/x.ttl",
	} {
		if res, body := fx.get(t, path); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404\n%s", path, res.StatusCode, body)
		}
	}
	for _, path := range []string{"/dataset/211-000001.ttl", "/dataset/" + cityhub.PackageID(1) + ".ttl"} {
		res, body := fx.get(t, path)
		if res.StatusCode != 200 || !strings.Contains(body, "<"+datasetIRI(1)+">") {
			t.Errorf("%s: %d\n%s", path, res.StatusCode, body)
		}
	}
}

func TestContentNegotiation(t *testing.T) {
	fx := newFixture(t, catalogOf(1))
	for _, c := range []struct{ accept, wantType string }{
		{"text/turtle", "text/turtle; charset=utf-8"},
		{"application/ld+json", "application/ld+json; charset=utf-8"},
		{"text/html;q=0.5, text/turtle", "text/turtle; charset=utf-8"},
		{"application/ld+json;q=0.9, text/turtle;q=0.8", "application/ld+json; charset=utf-8"},
		{"text/html,application/xhtml+xml,*/*;q=0.8", ""},
		{"", ""},
	} {
		res, _ := fx.get(t, "/dataset/211-000001", "Accept", c.accept)
		switch {
		case c.wantType == "" && (res.StatusCode != 303 || res.Header.Get("Location") != base+"/open/dataset/211-000001"):
			t.Errorf("Accept %q: %d to %q, want 303 to the portal page", c.accept, res.StatusCode, res.Header.Get("Location"))
		case c.wantType != "" && res.Header.Get("Content-Type") != c.wantType:
			t.Errorf("Accept %q: %d %s, want %s", c.accept, res.StatusCode, res.Header.Get("Content-Type"), c.wantType)
		}
		if !strings.Contains(res.Header.Get("Vary"), "Accept") {
			t.Errorf("Accept %q: no Vary: Accept", c.accept)
		}
	}
	if res, _ := fx.get(t, "/dataset/211-000002", "Accept", "text/turtle"); res.StatusCode != 404 {
		t.Errorf("unknown dataset by negotiation: %d", res.StatusCode)
	}
}

// The mapping of one entry, field by field.
func TestDatasetMapping(t *testing.T) {
	f := catalogOf(1)
	e := f.entries[0]
	e.PublishDate = "2025-12-31"
	data := t0.Add(2 * time.Hour)
	e.DataUpdatedAt = &data
	e.UpdateCycle = cityhub.CycleRealtime
	fx := newFixture(t, f)
	res, body := fx.get(t, "/dataset/211-000001.jsonld")
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	nodes, datasets := decode(t, body)
	if len(datasets) != 1 {
		t.Fatalf("datasets %v", datasets)
	}
	ds := nodes[datasetIRI(1)]
	for prop, want := range map[string][]string{
		"dct:identifier":         {cityhub.PackageID(1)},
		"dct:title":              {"数据集1"},
		"dct:description":        {"摘要"},
		"dcat:keyword":           {"交通", "parking"},
		"dct:issued":             {"2025-12-31"},
		"dct:modified":           {"2026-01-01T16:01:00+08:00"},
		"dct:language":           {euLanguage + "ZHO"},
		"dcat:theme":             {euTheme + "TRAN", base + "/api/3/action/group_show?id=traffic"},
		"dct:accrualPeriodicity": {euFrequency + "UPDATE_CONT"},
		"dcat:landingPage":       {base + "/open/dataset/211-000001"},
		"dct:accessRights":       {euAccess + "PUBLIC"},
		"dcat:distribution":      {datasetIRI(1) + "#csv", datasetIRI(1) + "#api"},
	} {
		if got := ds.values(prop); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", prop, got, want)
		}
	}
	title := ds["dct:title"].([]any)[0].(map[string]any)
	if title["@language"] != "zh" {
		t.Errorf("title %v has no @language zh", title)
	}
	issued := ds["dct:issued"].([]any)[0].(map[string]any)
	modified := ds["dct:modified"].([]any)[0].(map[string]any)
	if issued["@type"] != "xsd:date" || modified["@type"] != "xsd:dateTime" {
		t.Errorf("issued %v, modified %v", issued, modified)
	}
	if id := ds.nested("adms:identifier"); !id.has("adms:Identifier") || id.value("skos:notation") != "211/000001" {
		t.Errorf("adms:identifier %v", id)
	}
	pub := ds.nested("dct:publisher") // the department's current name and code, not the entry's copy
	if !pub.has("foaf:Organization") || pub.value("foaf:name") != "宁波市公安局" || pub.value("dct:identifier") != "11330200MB0000002X" {
		t.Errorf("publisher %v", pub)
	}
	if c := ds.nested("dcat:contactPoint"); c.value("vcard:fn") != "宁波市公安局" {
		t.Errorf("contact point %v", c)
	}
	rid := cityhub.ResourceID(1)
	csv, api := nodes[datasetIRI(1)+"#csv"], nodes[datasetIRI(1)+"#api"]
	for prop, want := range map[string]string{
		"dcat:downloadURL": base + "/datastore/dump/" + rid, "dcat:accessURL": base + "/datastore/dump/" + rid,
		"dct:format": euFileType + "CSV", "dcat:mediaType": ianaMedia + "text/csv", "dct:license": DefaultLicense.IRI,
		"dct:modified": "2026-01-01T18:00:00+08:00",
	} {
		if got := csv.value(prop); got != want {
			t.Errorf("CSV %s = %q, want %q", prop, got, want)
		}
	}
	for prop, want := range map[string]string{
		"dcat:accessURL": base + "/api/3/action/datastore_search?resource_id=" + rid, "dcat:downloadURL": "",
		"dct:format": euFileType + "JSON", "dcat:mediaType": ianaMedia + "application/json",
	} {
		if got := api.value(prop); got != want {
			t.Errorf("API %s = %q, want %q", prop, got, want)
		}
	}
	if lic := nodes[DefaultLicense.IRI]; !lic.has("dct:LicenseDocument") {
		t.Errorf("licence %v", lic)
	}
	if th := nodes[base+"/api/3/action/group_show?id=traffic"]; th.value("skos:prefLabel") != "交通状况" {
		t.Errorf("theme concept %v", th)
	}
	if fx.f.calls["Departments"] != 0 || fx.f.calls["Department"] != 1 {
		t.Errorf("one dataset read departments %v", fx.f.calls)
	}
}

// Conditional entries show metadata and the way to apply, never a
// download; sensitive and secret items are never served.
func TestPublicRules(t *testing.T) {
	f := catalogOf(4)
	cond := f.entries[0]
	cond.OpenType, cond.OpenCondition, cond.OpenBasis = cityhub.Conditional, "仅限科研用途", "依据"
	sensitiveOnly := f.entries[1]
	sensitiveOnly.Items = sensitiveOnly.Items[1:] // secret and sensitive items only
	file := f.entries[2]
	file.Format = cityhub.FormatImage
	fx := newFixture(t, f)
	for _, c := range []struct {
		id        int64
		dists     []string
		access    string
		rights    string
		downloads bool
	}{
		{1, []string{"#portal"}, base + "/open/dataset/211-000001", euAccess + "RESTRICTED", false},
		{2, []string{"#portal"}, base + "/open/dataset/211-000002", euAccess + "PUBLIC", false},
		{3, []string{"#portal"}, base + "/open/dataset/211-000003", euAccess + "PUBLIC", false},
		{4, []string{"#csv", "#api"}, base + "/datastore/dump/" + cityhub.ResourceID(4), euAccess + "PUBLIC", true},
	} {
		for _, ext := range []string{".jsonld", ".ttl"} {
			path := fmt.Sprintf("/dataset/211-%06d%s", c.id, ext)
			res, body := fx.get(t, path)
			if res.StatusCode != 200 {
				t.Fatalf("%s: %d", path, res.StatusCode)
			}
			for _, word := range []string{"身份证号码", "联系手机", "citizen_id", "mobile"} {
				if strings.Contains(body, word) {
					t.Errorf("%s shows the secret or sensitive item %s", path, word)
				}
			}
			if got := strings.Contains(body, "downloadURL") || strings.Contains(body, "/datastore/"); got != c.downloads {
				t.Errorf("%s: download links %v, want %v", path, got, c.downloads)
			}
			if ext == ".ttl" {
				continue
			}
			nodes, _ := decode(t, body)
			ds := nodes[datasetIRI(c.id)]
			var want []string
			for _, d := range c.dists {
				want = append(want, datasetIRI(c.id)+d)
			}
			if got := ds.values("dcat:distribution"); !slices.Equal(got, want) {
				t.Errorf("%s: distributions %q, want %q", path, got, want)
			}
			if got := nodes[want[0]].value("dcat:accessURL"); got != c.access {
				t.Errorf("%s: accessURL %s, want %s", path, got, c.access)
			}
			if got := ds.value("dct:accessRights"); got != c.rights {
				t.Errorf("%s: accessRights %s, want %s", path, got, c.rights)
			}
		}
	}
	_, body := fx.get(t, "/dataset/211-000001.jsonld")
	if nodes, _ := decode(t, body); !strings.Contains(nodes[datasetIRI(1)+"#portal"].value("dct:description"), "仅限科研用途") {
		t.Errorf("conditional entry does not state its conditions:\n%s", body)
	}
}

// A page reads the departments once, whatever its providers, and no entry
// one by one.
func TestCatalogBatchesLookups(t *testing.T) {
	f := catalogOf(150)
	for i := 4; i <= 1500; i++ { // more departments than one read returns
		f.depts = append(f.depts, &cityhub.Department{ID: int64(i), Name: fmt.Sprint("部门", i), CreditCode: "X"})
	}
	f.entries[149].ProviderID = 1400 // the newest: on the first page
	fx := newFixture(t, f)
	fx.f.reset()
	res, body := fx.get(t, "/catalog.ttl")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if got := fx.f.calls; got["Departments"] != 2 || got["Department"] != 0 || got["Entry"]+got["EntryByCode"] != 0 || got["SearchCatalog"] != 1 || got["Domains"] != 1 {
		t.Errorf("calls for a page of 100: %v", got)
	}
	if !strings.Contains(body, `foaf:name "部门1400"@zh`) {
		t.Errorf("department 1400 (second read) not named")
	}
}

type usage struct {
	mu   sync.Mutex
	uses []string
}

func (u *usage) Record(id int64, kind string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.uses = append(u.uses, fmt.Sprint(id, kind))
}

func TestUsageRecorded(t *testing.T) {
	fx := newFixture(t, catalogOf(2))
	u := &usage{}
	fx.srv.Usage = u
	fx.get(t, "/dataset/211-000001.ttl")
	fx.get(t, "/dataset/211-000002.jsonld")
	fx.get(t, "/dataset/211-009000.jsonld") // hidden: not counted
	fx.get(t, "/catalog.ttl")               // a catalog page is no use of each dataset
	if want := []string{"1api", "2api"}; !slices.Equal(u.uses, want) {
		t.Errorf("uses %v, want %v", u.uses, want)
	}
}

// Text from the catalog may hold anything; IRIs from the base URL too.
func TestHostileText(t *testing.T) {
	f := catalogOf(1)
	e := f.entries[0]
	e.Name = "名称 \"引号\" \\ 反斜杠\n换行\t<script>&amp;"
	e.Abstract = "\x00控制\x1f字符 \xff 🚦 \u2028"
	e.Tags = []string{`"""`, `\u0041`, "}"}
	e.Domain = "a b&c"
	fx := newFixture(t, f)
	fx.srv.BaseURL = func(*http.Request) string { return "https://data.example.cn/open data" }
	_, ttl := fx.get(t, "/dataset/211-000001.ttl")
	if !strings.Contains(ttl, `dct:title "名称 \"引号\" \\ 反斜杠\n换行\t<script>&amp;"@zh`) ||
		!strings.Contains(ttl, `"\u0000控制\u001F字符 `+"\uFFFD 🚦 \u2028\"@zh") ||
		!strings.Contains(ttl, "<https://data.example.cn/open%20data/dataset/211-000001>") ||
		!strings.Contains(ttl, "<https://data.example.cn/open%20data/api/3/action/group_show?id=a+b%26c>") {
		t.Errorf("turtle:\n%s", ttl)
	}
	_, js := fx.get(t, "/dataset/211-000001.jsonld")
	nodes, _ := decode(t, js)
	ds := nodes["https://data.example.cn/open%20data/dataset/211-000001"]
	if ds.value("dct:title") != e.Name || ds.value("dct:description") != clean(e.Abstract) {
		t.Errorf("JSON-LD text: %q %q", ds.value("dct:title"), ds.value("dct:description"))
	}
}

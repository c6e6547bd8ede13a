package ckan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ckan"
)

// The contract below is CKAN's documented Action API behaviour (docs.ckan.org
// "API guide" and the action docstrings) and what its API view does.

func TestEnvelope(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/3/action/package_list", "/api/action/package_list"} {
		a := f.do(t, http.MethodGet, f.srv.URL+path, "", nil, nil).ok(t)
		if got, want := a.env["help"], f.srv.URL+"/api/3/action/help_show?name=package_list"; got != want {
			t.Errorf("%s: help = %v, want %v", path, got, want)
		}
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if _, ok := a.result().([]any); !ok {
			t.Errorf("%s: result is %T, want a list", path, a.result())
		}
	}
	// POST with a JSON body, and with JSON as the only key of a form (what
	// older CKAN clients send).
	f.post(t, "package_show", map[string]any{"id": f.open.PackageName()}).ok(t)
	form := url.QueryEscape(mustJSON(map[string]any{"id": f.open.PackageName()})) + "=1"
	f.do(t, http.MethodPost, f.srv.URL+"/api/3/action/package_show", "application/x-www-form-urlencoded",
		strings.NewReader(form), nil).ok(t)
	// POST without a body reads the query string.
	f.do(t, http.MethodPost, f.srv.URL+"/api/3/action/package_show?id="+f.open.PackageName(), "", nil, nil).ok(t)
	// An error has the envelope too, with help.
	a := f.get(t, "package_show", url.Values{"id": {"no-such"}})
	a.failed(t, http.StatusNotFound, "Not Found Error", "Not found")
	if a.env["help"] != f.srv.URL+"/api/3/action/help_show?name=package_show" {
		t.Errorf("help = %v", a.env["help"])
	}
	if _, ok := a.env["result"]; ok {
		t.Errorf("an error carries a result: %s", a.body)
	}
}

func TestBaseURL(t *testing.T) {
	f := newFixture(t)
	api := &ckan.Server{Store: f.store, Search: f.spy,
		BaseURL: func(*http.Request) string { return "https://data.example.gov.cn/" }}
	mux := http.NewServeMux()
	api.Register(mux)
	rec := newRecorder(mux, http.MethodGet, "/api/3/action/package_show?id="+f.open.PackageName(), "")
	var env map[string]any
	json.Unmarshal(rec.Body.Bytes(), &env)
	if env["help"] != "https://data.example.gov.cn/api/3/action/help_show?name=package_show" {
		t.Errorf("help = %v", env["help"])
	}
	res := env["result"].(map[string]any)
	if res["url"] != "https://data.example.gov.cn/open/dataset/"+f.open.PackageName() {
		t.Errorf("url = %v", res["url"])
	}
}

func TestUnknownActionAndBadRequests(t *testing.T) {
	f := newFixture(t)
	// CKAN answers an unknown action with 400 and a bare JSON string.
	a := f.get(t, "package_delete", nil)
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d", a.status)
	}
	var msg string
	if err := json.Unmarshal(a.body, &msg); err != nil || msg != "Bad request - Action name not known: package_delete" {
		t.Errorf("body %s", a.body)
	}
	for _, body := range []string{`{"id": `, `[1, 2]`, `"text"`, `{"id": "x"} {"id": "y"}`} {
		a := f.do(t, http.MethodPost, f.srv.URL+"/api/3/action/package_show", "application/json", strings.NewReader(body), nil)
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, a.status)
			continue
		}
		if err := json.Unmarshal(a.body, &msg); err != nil || !strings.HasPrefix(msg, "Bad request - JSON Error: ") {
			t.Errorf("%s: body %s", body, a.body)
		}
	}
	// Methods other than GET and POST are not the API's.
	a = f.do(t, http.MethodDelete, f.srv.URL+"/api/3/action/package_show", "", nil, nil)
	if a.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: status %d", a.status)
	}
}

func TestPackageList(t *testing.T) {
	f := newFixture(t)
	all := strs(f.get(t, "package_list", nil).ok(t).result())
	if !slices.IsSorted(all) {
		t.Errorf("names not sorted: %v", all)
	}
	for _, e := range []*cityhub.CatalogEntry{f.open, f.cond, f.file} {
		if !slices.Contains(all, e.PackageName()) {
			t.Errorf("%s missing", e.Name)
		}
	}
	for _, e := range []*cityhub.CatalogEntry{f.draft, f.closed} {
		if slices.Contains(all, e.PackageName()) {
			t.Errorf("%s (%s, %s) listed", e.Name, e.Status, e.OpenType)
		}
	}
	count := f.get(t, "package_search", url.Values{"rows": {"0"}}).ok(t).resultMap()["count"].(float64)
	if len(all) != int(count) {
		t.Errorf("package_list has %d names, package_search counts %v", len(all), count)
	}
	page := strs(f.get(t, "package_list", url.Values{"limit": {"3"}, "offset": {"2"}}).ok(t).result())
	if !slices.Equal(page, all[2:5]) {
		t.Errorf("limit 3 offset 2 = %v, want %v", page, all[2:5])
	}
	e := f.get(t, "package_list", url.Values{"limit": {"-1"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["limit"]), []string{"Must be a natural number"}) {
		t.Errorf("limit -1: %v", e)
	}
	e = f.get(t, "package_list", url.Values{"offset": {"x"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["offset"]), []string{"Invalid integer"}) {
		t.Errorf("offset x: %v", e)
	}
}

var ckanTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$`)
var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestPackageShow(t *testing.T) {
	f := newFixture(t)
	before := f.usage.count(f.open.ID, cityhub.UseAPI)
	byName := f.get(t, "package_show", url.Values{"id": {f.open.PackageName()}}).ok(t).resultMap()
	byID := f.post(t, "package_show", map[string]any{"id": cityhub.PackageID(f.open.ID)}).ok(t).resultMap()
	if mustJSON(byName) != mustJSON(byID) {
		t.Errorf("by name and by id differ")
	}
	if got := f.usage.count(f.open.ID, cityhub.UseAPI); got != before+2 {
		t.Errorf("API use counted %d times, want 2", got-before)
	}
	p := byName
	want := map[string]any{"id": cityhub.PackageID(f.open.ID), "name": f.open.PackageName(), "title": f.open.Name,
		"notes": f.open.Abstract, "state": "active", "private": false, "type": "dataset", "num_resources": 1.0,
		"num_tags": 2.0, "license_id": ckan.DefaultLicense.ID, "license_title": ckan.DefaultLicense.Title,
		"license_url": ckan.DefaultLicense.URL, "isopen": true, "version": fmt.Sprint(f.open.Version),
		"url": f.srv.URL + "/open/dataset/" + f.open.PackageName(), "owner_org": ckan.OrganizationID(f.dept.ID)}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	for _, k := range []string{"metadata_created", "metadata_modified"} {
		if s, _ := p[k].(string); !ckanTime.MatchString(s) {
			t.Errorf("%s = %v, want CKAN's format", k, p[k])
		}
	}
	if p["metadata_modified"] != f.open.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000000") {
		t.Errorf("metadata_modified %v, entry updated %v", p["metadata_modified"], f.open.UpdatedAt)
	}
	org := p["organization"].(map[string]any)
	if org["id"] != ckan.OrganizationID(f.dept.ID) || org["name"] != strings.ToLower(f.dept.CreditCode) ||
		org["title"] != f.dept.Name || org["is_organization"] != true || org["type"] != "organization" {
		t.Errorf("organization %v", org)
	}
	groups := p["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["name"] != "traffic" || groups[0].(map[string]any)["title"] != "交通状况" {
		t.Errorf("groups %v", groups)
	}
	var tags []string
	for _, tg := range p["tags"].([]any) {
		m := tg.(map[string]any)
		if !uuidShape.MatchString(m["id"].(string)) || m["state"] != "active" || m["vocabulary_id"] != nil ||
			m["display_name"] != m["name"] {
			t.Errorf("tag %v", m)
		}
		tags = append(tags, m["name"].(string))
	}
	if len(tags) != 2 || !slices.IsSorted(tags) {
		t.Errorf("tags %v not sorted", tags)
	}
	extras := map[string]string{}
	for _, x := range p["extras"].([]any) {
		m := x.(map[string]any)
		extras[m["key"].(string)] = m["value"].(string)
	}
	for k, v := range map[string]string{"resource_code": f.open.Code, "classification_code": "211",
		"open_type": "unconditional", "open_type_zh": "无条件开放", "update_cycle": "daily", "update_cycle_zh": "每日",
		"resource_format": "database", "resource_format_zh": "数据库", "provider_code": f.dept.CreditCode} {
		if extras[k] != v {
			t.Errorf("extra %s = %q, want %q", k, extras[k], v)
		}
	}
	res := p["resources"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{"id": cityhub.ResourceID(f.open.ID), "package_id": cityhub.PackageID(f.open.ID),
		"format": "CSV", "datastore_active": true, "url_type": "datastore", "state": "active", "position": 0.0,
		"url": f.srv.URL + "/datastore/dump/" + cityhub.ResourceID(f.open.ID), "mimetype": "text/csv"} {
		if res[k] != v {
			t.Errorf("resource %s = %v, want %v", k, res[k], v)
		}
	}
	if desc := res["description"].(string); strings.Contains(desc, "手机") || strings.Contains(desc, "身份证") {
		t.Errorf("the resource description names a sensitive item: %s", desc)
	}

	// 有条件开放: metadata and resource shown, data not open.
	c := f.get(t, "package_show", url.Values{"id": {f.cond.PackageName()}}).ok(t).resultMap()
	if c["isopen"] != false || c["num_resources"] != 1.0 {
		t.Errorf("conditional: isopen %v, num_resources %v", c["isopen"], c["num_resources"])
	}
	// Without a table, no resources.
	fl := f.get(t, "package_show", url.Values{"id": {f.file.PackageName()}}).ok(t).resultMap()
	if fl["num_resources"] != 0.0 || len(fl["resources"].([]any)) != 0 {
		t.Errorf("file entry resources %v", fl["resources"])
	}
	// Drafts and 不予开放 entries do not exist for the public, by name or id.
	for _, e := range []*cityhub.CatalogEntry{f.draft, f.closed} {
		for _, id := range []string{e.PackageName(), cityhub.PackageID(e.ID)} {
			f.get(t, "package_show", url.Values{"id": {id}}).failed(t, http.StatusNotFound, "Not Found Error", "Not found")
		}
	}
	for _, id := range []string{"", "x", cityhub.ResourceID(f.open.ID), "c17a0000-0000-4000-8000-0000ffffffff", "999-999999"} {
		a := f.get(t, "package_show", url.Values{"id": {id}})
		if id == "" {
			e := a.failed(t, http.StatusConflict, "Validation Error", "")
			if !slices.Equal(strs(e["name_or_id"]), []string{"Missing value"}) {
				t.Errorf("no id: %v", e)
			}
			continue
		}
		a.failed(t, http.StatusNotFound, "Not Found Error", "Not found")
	}
}

func TestResourceShow(t *testing.T) {
	f := newFixture(t)
	r := f.get(t, "resource_show", url.Values{"id": {cityhub.ResourceID(f.cond.ID)}}).ok(t).resultMap()
	if r["id"] != cityhub.ResourceID(f.cond.ID) || r["package_id"] != cityhub.PackageID(f.cond.ID) {
		t.Errorf("resource %v", r)
	}
	for _, id := range []string{cityhub.ResourceID(f.draft.ID), cityhub.ResourceID(f.closed.ID),
		cityhub.ResourceID(f.file.ID), cityhub.PackageID(f.open.ID), "nope"} {
		f.get(t, "resource_show", url.Values{"id": {id}}).failed(t, http.StatusNotFound, "Not Found Error",
			"Not found: Resource was not found.")
	}
	e := f.get(t, "resource_show", nil).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["id"]), []string{"Missing value"}) {
		t.Errorf("no id: %v", e)
	}
}

// search runs package_search with rows=1000 and returns the names.
func (f *fixture) searchNames(t *testing.T, q url.Values) ([]string, map[string]any) {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	if q.Get("rows") == "" {
		q.Set("rows", "1000")
	}
	res := f.get(t, "package_search", q).ok(t).resultMap()
	var names []string
	for _, p := range res["results"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return names, res
}

func TestPackageSearchDefaults(t *testing.T) {
	f := newFixture(t)
	f.spy.reset()
	res := f.get(t, "package_search", nil).ok(t).resultMap()
	results := res["results"].([]any)
	if len(results) != 10 {
		t.Errorf("rows default: %d results, want 10", len(results))
	}
	if res["sort"] != "score desc, metadata_modified desc" {
		t.Errorf("sort %v", res["sort"])
	}
	if mustJSON(res["facets"]) != "{}" || mustJSON(res["search_facets"]) != "{}" {
		t.Errorf("facets without facet.field: %v %v", res["facets"], res["search_facets"])
	}
	all, big := f.searchNames(t, nil)
	if int(big["count"].(float64)) != len(all) || int(res["count"].(float64)) != len(all) {
		t.Errorf("count %v, %d results", big["count"], len(all))
	}
	for _, e := range []*cityhub.CatalogEntry{f.draft, f.closed} {
		if slices.Contains(all, e.PackageName()) {
			t.Errorf("%s found", e.Name)
		}
	}
	// Newest first without q.
	var prev string
	for _, p := range big["results"].([]any) {
		m := p.(map[string]any)["metadata_modified"].(string)
		if prev != "" && m > prev {
			t.Fatalf("not newest first: %s after %s", m, prev)
		}
		prev = m
	}
	// rows is capped at 1000 (silently, as CKAN's limit_to_configured_maximum).
	f.spy.reset()
	f.get(t, "package_search", url.Values{"rows": {"5000"}}).ok(t)
	if qs := f.spy.queries(); len(qs) == 0 || qs[len(qs)-1].Limit != 1000 {
		t.Errorf("rows 5000 searched with %+v", qs)
	}
	// start pages.
	page, _ := f.searchNames(t, url.Values{"start": {"4"}, "rows": {"5"}})
	if !slices.Equal(page, all[4:9]) {
		t.Errorf("start 4 rows 5 = %v, want %v", page, all[4:9])
	}
	for k, v := range map[string]string{"rows": "-1", "start": "x", "facet.limit": "1.5", "facet.mincount": "-2"} {
		e := f.get(t, "package_search", url.Values{k: {v}}).failed(t, http.StatusConflict, "Validation Error", "")
		if _, ok := e[k]; !ok {
			t.Errorf("%s=%s: %v", k, v, e)
		}
	}
	e := f.get(t, "package_search", url.Values{"facet.field": {"tags"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["facet.field"]), []string{"Could not parse as valid JSON"}) {
		t.Errorf("facet.field not JSON: %v", e)
	}
	f.get(t, "package_search", url.Values{"foo": {"bar"}}).failed(t, http.StatusBadRequest, "Search Query Error",
		`Search Query is invalid: "Invalid search parameters: ['foo']"`)
	// Parameters CKAN lets through are accepted.
	f.get(t, "package_search", url.Values{"include_private": {"true"}, "include_drafts": {"true"}, "ext_bbox": {"1,2,3,4"},
		"facet": {"true"}, "defType": {"edismax"}}).ok(t)
	// Private and draft packages stay hidden whatever the flags say.
	names, _ := f.searchNames(t, url.Values{"include_private": {"true"}, "include_drafts": {"true"}})
	if slices.Contains(names, f.draft.PackageName()) {
		t.Errorf("include_drafts shows a draft")
	}
}

func TestPackageSearchQueries(t *testing.T) {
	f := newFixture(t)
	org := strings.ToLower(f.dept.CreditCode)
	all, _ := f.searchNames(t, nil)
	hasTag := func(names ...string) func(p map[string]any) bool {
		return func(p map[string]any) bool {
			for _, tg := range p["tags"].([]any) {
				if slices.Contains(names, tg.(map[string]any)["name"].(string)) {
					return true
				}
			}
			return false
		}
	}
	lacksTag := func(name string) func(p map[string]any) bool {
		return func(p map[string]any) bool { return !hasTag(name)(p) }
	}
	ofOrg := func(p map[string]any) bool { return p["organization"].(map[string]any)["name"] == org }
	cases := []struct {
		name      string
		q         url.Values
		want      []string // must be among the results
		notWant   []string
		check     func(p map[string]any) bool // every result
		wantEmpty bool
	}{
		{"free text", url.Values{"q": {"停车收费"}}, []string{f.open.PackageName()}, []string{f.cond.PackageName()}, nil, false},
		{"organization", url.Values{"fq": {"organization:" + org}}, []string{f.open.PackageName(), f.cond.PackageName()}, nil,
			func(p map[string]any) bool { return p["organization"].(map[string]any)["name"] == org }, false},
		{"owner_org id", url.Values{"fq": {`+owner_org:"` + ckan.OrganizationID(f.dept.ID) + `"`}}, []string{f.open.PackageName()}, nil,
			func(p map[string]any) bool { return p["owner_org"] == ckan.OrganizationID(f.dept.ID) }, false},
		{"tags", url.Values{"fq": {`tags:"违法"`}}, []string{f.cond.PackageName()}, []string{f.open.PackageName()}, nil, false},
		{"tags in q", url.Values{"q": {"tags:违法"}}, []string{f.cond.PackageName()}, []string{f.open.PackageName()}, nil, false},
		{"groups", url.Values{"fq": {"groups:traffic"}}, []string{f.open.PackageName()}, nil,
			func(p map[string]any) bool { return p["groups"].([]any)[0].(map[string]any)["name"] == "traffic" }, false},
		{"res_format", url.Values{"fq": {"res_format:CSV"}}, []string{f.open.PackageName(), f.cond.PackageName()},
			[]string{f.file.PackageName()}, func(p map[string]any) bool { return p["num_resources"] == 1.0 }, false},
		{"joined with AND", url.Values{"fq": {"organization:" + org + " AND tags:停车 AND res_format:CSV"}},
			[]string{f.open.PackageName(), f.cond.PackageName()}, []string{f.file.PackageName()}, nil, false},
		{"open type", url.Values{"fq": {"extras_open_type:conditional"}}, []string{f.cond.PackageName()}, []string{f.open.PackageName()},
			func(p map[string]any) bool { return p["isopen"] == false }, false},
		{"license", url.Values{"fq": {"license_id:" + ckan.DefaultLicense.ID}}, []string{f.open.PackageName()}, nil, nil, false},
		{"other license", url.Values{"fq": {"license_id:cc-nc"}}, nil, nil, nil, true},
		{"unknown organization", url.Values{"fq": {"organization:nobody"}}, nil, nil, nil, true},
		{"two organizations", url.Values{"fq": {"organization:" + org + " organization:x"}}, nil, nil, nil, true},
		{"other format", url.Values{"fq": {"res_format:PDF"}}, nil, nil, nil, true},
		{"CKAN's own clauses", url.Values{"fq": {`+dataset_type:dataset +state:active capacity:"public"`}}, all[:3], nil, nil, false},
		{"draft's tag", url.Values{"fq": {"tags:草稿专用标签"}}, nil, nil, nil, true},
		{"closed entry's tag", url.Values{"q": {"不开放专用标签"}}, nil, nil, nil, true},
		{"everything", url.Values{"q": {"*:*"}, "fq": {"*:*"}}, all, nil, nil, false},
		// NOT and OR on the fields a facet stands behind.
		{"not a tag", url.Values{"fq": {"-tags:违法"}}, []string{f.open.PackageName()}, []string{f.cond.PackageName()}, lacksTag("违法"), false},
		{"NOT a tag", url.Values{"fq": {"NOT tags:违法 AND organization:" + org}}, []string{f.open.PackageName()},
			[]string{f.cond.PackageName()}, func(p map[string]any) bool { return lacksTag("违法")(p) && ofOrg(p) }, false},
		{"either tag", url.Values{"fq": {"tags:违法 OR tags:收费"}}, []string{f.open.PackageName(), f.cond.PackageName()}, nil,
			hasTag("违法", "收费"), false},
		{"either tag, grouped", url.Values{"fq": {`tags:("违法" OR 收费)`}}, []string{f.open.PackageName(), f.cond.PackageName()}, nil,
			hasTag("违法", "收费"), false},
		{"not this organization", url.Values{"fq": {"-organization:" + org}}, nil, []string{f.open.PackageName(), f.cond.PackageName()},
			func(p map[string]any) bool { return !ofOrg(p) }, false},
		{"one of two organizations", url.Values{"fq": {"organization:" + org + " OR organization:nobody"}},
			[]string{f.open.PackageName(), f.cond.PackageName()}, nil, ofOrg, false},
		{"not CSV", url.Values{"fq": {"-res_format:CSV"}}, []string{f.file.PackageName()},
			[]string{f.open.PackageName(), f.cond.PackageName()}, func(p map[string]any) bool { return p["num_resources"] == 0.0 }, false},
		{"groups, any of two", url.Values{"fq": {"groups:(traffic OR nowhere)"}}, []string{f.open.PackageName()}, nil,
			func(p map[string]any) bool { return p["groups"].([]any)[0].(map[string]any)["name"] == "traffic" }, false},
		{"a tag and not another", url.Values{"fq": {"tags:停车 -tags:违法"}}, []string{f.open.PackageName()},
			[]string{f.cond.PackageName()}, func(p map[string]any) bool { return hasTag("停车")(p) && lacksTag("违法")(p) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			names, res := f.searchNames(t, c.q)
			if int(res["count"].(float64)) != len(names) {
				t.Errorf("count %v, %d results", res["count"], len(names))
			}
			if c.wantEmpty && len(names) > 0 {
				t.Errorf("results %v, want none", names)
			}
			for _, n := range c.want {
				if !slices.Contains(names, n) {
					t.Errorf("%s missing from %v", n, names)
				}
			}
			for _, n := range c.notWant {
				if slices.Contains(names, n) {
					t.Errorf("%s found", n)
				}
			}
			if c.check != nil {
				for _, p := range res["results"].([]any) {
					if !c.check(p.(map[string]any)) {
						t.Errorf("result %v fails the check", p.(map[string]any)["name"])
					}
				}
			}
		})
	}
	for _, fq := range []string{"(tags:停车)", "name:x", "tags:停车 OR groups:traffic", "NOT", "tags:停车 OR", "OR tags:停车",
		"license_id:(a OR b)", "-license_id:x", "tags:(停车 AND 收费)", "tags:(停车 收费)", "NOT 停车", "tags:(停车",
		"-tags:停车 OR tags:收费", "-metadata_modified:[* TO *]", "metadata_modified:[* TO NOW] OR metadata_modified:[2020-01-01 TO *]",
		"metadata_created:[2020-01-01T00:00:00Z TO *]", "metadata_modified:[yesterday TO *]",
		"metadata_modified:[2020-01-01 *]", "metadata_modified:[2020-01-01T00:00:00Z TO *", "tags:停*", `tags:"停车`, "tags:停车 tags:收费", "organization:"} {
		f.get(t, "package_search", url.Values{"fq": {fq}}).failed(t, http.StatusBadRequest, "Search Query Error",
			"Search Query is invalid: ")
	}
}

// Harvesters ask for what changed since their last run with a range on
// metadata_modified (ckanext-harvest: metadata_modified:[<last>Z TO *]).
func TestPackageSearchModifiedRange(t *testing.T) {
	f := newFixture(t)
	at := f.open.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000000")
	older, newer := []string{}, []string{}
	all, res := f.searchNames(t, nil)
	for _, p := range res["results"].([]any) {
		m := p.(map[string]any)
		switch mod := m["metadata_modified"].(string); {
		case mod < at:
			older = append(older, m["name"].(string))
		case mod > at:
			newer = append(newer, m["name"].(string))
		}
	}
	if len(older) == 0 || len(newer) == 0 {
		t.Fatalf("the fixture's packages do not spread around %s: %v", at, all)
	}
	open := f.open.PackageName()
	for _, c := range []struct {
		fq         string
		want, none []string
	}{
		{"metadata_modified:[" + at + "Z TO *]", append([]string{open}, newer...), older},
		{"metadata_modified:{" + at + "Z TO *]", newer, append([]string{open}, older...)},
		{"metadata_modified:[* TO " + at + "Z]", append([]string{open}, older...), newer},
		{"metadata_modified:[* TO " + at + "Z}", older, append([]string{open}, newer...)},
		{"metadata_modified:[" + at + " TO " + at + "] groups:" + f.open.Domain, []string{open}, append(older, newer...)},
		{"metadata_modified:[" + at + "Z TO NOW]", append([]string{open}, newer...), older},
	} {
		got, _ := f.searchNames(t, url.Values{"fq": {c.fq}})
		for _, n := range c.want {
			if !slices.Contains(got, n) {
				t.Errorf("%s: %s missing from %v", c.fq, n, got)
			}
		}
		for _, n := range c.none {
			if slices.Contains(got, n) {
				t.Errorf("%s: %s found", c.fq, n)
			}
		}
	}
}

func TestPackageSearchSortAndMerge(t *testing.T) {
	f := newFixture(t)
	names, _ := f.searchNames(t, url.Values{"sort": {"name asc"}})
	if !slices.IsSorted(names) {
		t.Errorf("name asc not sorted")
	}
	_, res := f.searchNames(t, url.Values{"sort": {"title_string asc"}})
	var titles []string
	for _, p := range res["results"].([]any) {
		titles = append(titles, p.(map[string]any)["title"].(string))
	}
	if !slices.IsSorted(titles) {
		t.Errorf("title_string asc not sorted")
	}
	if res["sort"] != "title_string asc" {
		t.Errorf("sort echoed %v", res["sort"])
	}
	f.get(t, "package_search", url.Values{"sort": {"views_recent desc"}}).failed(t, http.StatusBadRequest,
		"Search Query Error", "Search Query is invalid: ")

	// res_format:CSV reads two formats and merges them: pages must add up
	// to the whole, in order, and counts must agree with the facets.
	for _, sort := range []string{"metadata_modified desc", "name asc", "title_string asc"} {
		whole, res := f.searchNames(t, url.Values{"fq": {"res_format:CSV"}, "sort": {sort}})
		var pages []string
		for start := 0; start < len(whole)+7; start += 7 {
			p, _ := f.searchNames(t, url.Values{"fq": {"res_format:CSV"}, "sort": {sort}, "rows": {"7"},
				"start": {fmt.Sprint(start)}})
			pages = append(pages, p...)
		}
		if !slices.Equal(pages, whole) {
			t.Errorf("%s: pages %v, whole %v", sort, pages, whole)
		}
		sheet, _ := f.searchNames(t, url.Values{"fq": {"extras_resource_format:sheet"}})
		db, _ := f.searchNames(t, url.Values{"fq": {"extras_resource_format:database"}})
		if len(whole) != len(sheet)+len(db) || int(res["count"].(float64)) != len(whole) {
			t.Errorf("%s: %d CSV packages, %d sheets + %d databases, count %v", sort, len(whole), len(sheet), len(db), res["count"])
		}
	}
}

func TestPackageSearchFacets(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"facet.field": {`["organization","groups","tags","res_format","license_id","extras_update_cycle"]`},
		"rows": {"0"}}
	res := f.get(t, "package_search", q).ok(t).resultMap()
	count := int(res["count"].(float64))
	if len(res["results"].([]any)) != 0 {
		t.Errorf("rows 0 gave results")
	}
	facets := res["facets"].(map[string]any)
	search := res["search_facets"].(map[string]any)
	for _, field := range []string{"organization", "groups", "tags", "res_format", "license_id", "extras_update_cycle"} {
		fc, ok := facets[field].(map[string]any)
		sf, ok2 := search[field].(map[string]any)
		if !ok || !ok2 {
			t.Fatalf("facet %s missing: %v", field, res)
		}
		if sf["title"] != field {
			t.Errorf("search_facets.%s.title = %v", field, sf["title"])
		}
		items := sf["items"].([]any)
		if len(items) != len(fc) || len(items) == 0 || len(items) > 50 {
			t.Errorf("%s: %d items, %d facets", field, len(items), len(fc))
		}
		prev := 1 << 30
		for _, it := range items {
			m := it.(map[string]any)
			n := int(m["count"].(float64))
			if n > prev || n < 1 || fc[m["name"].(string)] != m["count"] || m["display_name"] == "" {
				t.Errorf("%s item %v", field, m)
			}
			prev = n
		}
	}
	if facets["license_id"].(map[string]any)[ckan.DefaultLicense.ID] != float64(count) {
		t.Errorf("license facet %v, count %d", facets["license_id"], count)
	}
	// Facet counts agree with searches on the same value.
	org := strings.ToLower(f.dept.CreditCode)
	n := facets["organization"].(map[string]any)[org]
	_, byOrg := f.searchNames(t, url.Values{"fq": {"organization:" + org}})
	if n != byOrg["count"] {
		t.Errorf("organization facet %v, search count %v", n, byOrg["count"])
	}
	csv := facets["res_format"].(map[string]any)["CSV"]
	_, byFormat := f.searchNames(t, url.Values{"fq": {"res_format:CSV"}})
	if csv != byFormat["count"] {
		t.Errorf("res_format facet %v, search count %v", csv, byFormat["count"])
	}
	for _, it := range search["organization"].(map[string]any)["items"].([]any) {
		if it.(map[string]any)["name"] == org && it.(map[string]any)["display_name"] != f.dept.Name {
			t.Errorf("organization display_name %v", it)
		}
	}
	if tags := facets["tags"].(map[string]any); tags["草稿专用标签"] != nil || tags["不开放专用标签"] != nil {
		t.Errorf("tags of hidden entries counted: %v", tags)
	}
	// facet.limit and facet.mincount.
	res = f.get(t, "package_search", url.Values{"facet.field": {`["tags"]`}, "facet.limit": {"3"}, "rows": {"0"}}).ok(t).resultMap()
	if n := len(res["facets"].(map[string]any)["tags"].(map[string]any)); n != 3 {
		t.Errorf("facet.limit 3: %d tags", n)
	}
	res = f.get(t, "package_search", url.Values{"facet.field": {`["tags"]`}, "facet.mincount": {"3"}, "rows": {"0"}}).ok(t).resultMap()
	for tag, n := range res["facets"].(map[string]any)["tags"].(map[string]any) {
		if n.(float64) < 3 {
			t.Errorf("facet.mincount 3: %s has %v", tag, n)
		}
	}
	// A JSON body takes facet.field as a list.
	f.post(t, "package_search", map[string]any{"facet.field": []string{"groups"}, "rows": 1}).ok(t)
	f.get(t, "package_search", url.Values{"facet.field": {`["maintainer"]`}}).failed(t, http.StatusBadRequest,
		"Search Query Error", "")
}

func TestOrganizations(t *testing.T) {
	f := newFixture(t)
	names := strs(f.get(t, "organization_list", nil).ok(t).result())
	org := strings.ToLower(f.dept.CreditCode)
	if !slices.Contains(names, org) {
		t.Fatalf("%s not in %v", org, names)
	}
	full := f.get(t, "organization_list", url.Values{"all_fields": {"true"}, "limit": {"1000"}}).ok(t).result().([]any)
	if len(full) != 25 {
		t.Errorf("all_fields gives %d organisations, want CKAN's cap of 25", len(full))
	}
	var titles []string
	for _, o := range full {
		titles = append(titles, o.(map[string]any)["title"].(string))
	}
	if !slices.IsSorted(titles) {
		t.Errorf("not sorted by title: %v", titles)
	}
	byCount := f.get(t, "organization_list", url.Values{"all_fields": {"true"}, "sort": {"package_count"}}).ok(t).result().([]any)
	prev := 1 << 30
	total := 0
	for _, o := range byCount {
		n := int(o.(map[string]any)["package_count"].(float64))
		if n > prev {
			t.Errorf("package_count not descending")
		}
		prev = n
	}
	all := f.get(t, "organization_list", url.Values{"all_fields": {"true"}, "sort": {"name asc"}, "limit": {"25"}}).ok(t).result().([]any)
	all = append(all, f.get(t, "organization_list", url.Values{"all_fields": {"true"}, "sort": {"name asc"}, "offset": {"25"}}).ok(t).result().([]any)...)
	for _, o := range all {
		m := o.(map[string]any)
		total += int(m["package_count"].(float64))
		if m["name"] == org {
			_, res := f.searchNames(t, url.Values{"fq": {"organization:" + org}})
			if m["package_count"] != res["count"] {
				t.Errorf("package_count %v, search %v", m["package_count"], res["count"])
			}
		}
	}
	_, res := f.searchNames(t, nil)
	if total != int(res["count"].(float64)) {
		t.Errorf("package counts add up to %d, %v packages", total, res["count"])
	}
	page := strs(f.get(t, "organization_list", url.Values{"limit": {"2"}, "offset": {"1"}}).ok(t).result())
	if !slices.Equal(page, names[1:3]) {
		t.Errorf("limit 2 offset 1 = %v, want %v", page, names[1:3])
	}
	e := f.get(t, "organization_list", url.Values{"sort": {"color"}}).failed(t, http.StatusConflict, "Validation Error", "")
	if len(strs(e["sort"])) == 0 {
		t.Errorf("bad sort: %v", e)
	}

	for _, id := range []string{org, ckan.OrganizationID(f.dept.ID), f.dept.CreditCode} {
		o := f.get(t, "organization_show", url.Values{"id": {id}}).ok(t).resultMap()
		if o["name"] != org || o["packages"] != nil {
			t.Errorf("organization_show %s: %v", id, o)
		}
	}
	o := f.get(t, "organization_show", url.Values{"id": {org}, "include_datasets": {"true"}}).ok(t).resultMap()
	pkgs := o["packages"].([]any)
	if len(pkgs) != int(o["package_count"].(float64)) || len(pkgs) == 0 {
		t.Errorf("%d packages, package_count %v", len(pkgs), o["package_count"])
	}
	for _, p := range pkgs {
		name := p.(map[string]any)["name"]
		if name == f.draft.PackageName() || name == f.closed.PackageName() {
			t.Errorf("organization lists hidden %v", name)
		}
	}
	f.get(t, "organization_show", url.Values{"id": {"nobody"}}).failed(t, http.StatusNotFound, "Not Found Error", "Not found")
	e = f.get(t, "organization_show", nil).failed(t, http.StatusConflict, "Validation Error", "")
	if !slices.Equal(strs(e["id"]), []string{"Missing value"}) {
		t.Errorf("no id: %v", e)
	}
}

func TestGroups(t *testing.T) {
	f := newFixture(t)
	names := strs(f.get(t, "group_list", url.Values{"sort": {"name"}}).ok(t).result())
	if !slices.Contains(names, "traffic") || !slices.IsSorted(names) {
		t.Errorf("group_list %v", names)
	}
	groups := f.get(t, "group_list", url.Values{"all_fields": {"true"}}).ok(t).result().([]any)
	for _, g := range groups {
		m := g.(map[string]any)
		if m["is_organization"] != false || m["type"] != "group" || !uuidShape.MatchString(m["id"].(string)) {
			t.Errorf("group %v", m)
		}
		if m["name"] == "traffic" {
			_, res := f.searchNames(t, url.Values{"fq": {"groups:traffic"}})
			if m["package_count"] != res["count"] || m["title"] != "交通状况" {
				t.Errorf("traffic: %v, search count %v", m, res["count"])
			}
			byID := f.get(t, "group_show", url.Values{"id": {m["id"].(string)}}).ok(t).resultMap()
			if byID["name"] != "traffic" {
				t.Errorf("group_show by id: %v", byID)
			}
		}
	}
	g := f.get(t, "group_show", url.Values{"id": {"traffic"}, "include_datasets": {"true"}}).ok(t).resultMap()
	if len(g["packages"].([]any)) != int(g["package_count"].(float64)) {
		t.Errorf("group packages %d, count %v", len(g["packages"].([]any)), g["package_count"])
	}
	f.get(t, "group_show", url.Values{"id": {"nope"}}).failed(t, http.StatusNotFound, "Not Found Error", "Not found")
}

func TestTagList(t *testing.T) {
	f := newFixture(t)
	tags := strs(f.get(t, "tag_list", nil).ok(t).result())
	if !slices.IsSorted(tags) || !slices.Contains(tags, "停车") || !slices.Contains(tags, "违法") {
		t.Errorf("tags %v", tags)
	}
	for _, hidden := range []string{"草稿专用标签", "不开放专用标签"} {
		if slices.Contains(tags, hidden) {
			t.Errorf("tag %s of a hidden entry listed", hidden)
		}
	}
	// The demo has more tags than a facet holds: the list is complete anyway.
	if len(tags) <= 50 {
		t.Errorf("only %d tags", len(tags))
	}
	some := strs(f.get(t, "tag_list", url.Values{"query": {"停"}}).ok(t).result())
	for _, tg := range some {
		if !strings.Contains(tg, "停") {
			t.Errorf("query 停 gives %s", tg)
		}
	}
	full := f.get(t, "tag_list", url.Values{"query": {"违法"}, "all_fields": {"true"}}).ok(t).result().([]any)
	if len(full) != 1 || full[0].(map[string]any)["name"] != "违法" || full[0].(map[string]any)["id"] != ckan.TagID("违法") {
		t.Errorf("all_fields %v", full)
	}
	f.get(t, "tag_list", url.Values{"vocabulary_id": {"genre"}}).failed(t, http.StatusNotFound, "Not Found Error", "Not found")
}

func TestLicenseAndHelp(t *testing.T) {
	f := newFixture(t)
	lics := f.get(t, "license_list", nil).ok(t).result().([]any)
	if len(lics) == 0 {
		t.Fatal("no licences")
	}
	l := lics[0].(map[string]any)
	if l["id"] != ckan.DefaultLicense.ID || l["od_conformance"] != "approved" || l["url"] != ckan.DefaultLicense.URL {
		t.Errorf("licence %v", l)
	}
	for _, name := range []string{"package_search", "datastore_search", "help_show"} {
		if s, _ := f.get(t, "help_show", url.Values{"name": {name}}).ok(t).result().(string); s == "" {
			t.Errorf("no help for %s", name)
		}
	}
	f.get(t, "help_show", url.Values{"name": {"nope"}}).failed(t, http.StatusNotFound, "Not Found Error",
		"Not found: Action function not found")
}

// Every action answers HEAD-less GET and POST alike.
func TestGetAndPostAgree(t *testing.T) {
	f := newFixture(t)
	for action, p := range map[string]map[string]string{
		"package_search":    {"q": "停车", "rows": "3", "facet.field": `["tags"]`},
		"organization_list": {"limit": "5"},
		"group_list":        {"all_fields": "true"},
		"tag_list":          {"query": "停"},
		"datastore_search":  {"resource_id": cityhub.ResourceID(f.open.ID), "filters": `{"lot": "天一广场停车场"}`, "limit": "3"},
	} {
		q := url.Values{}
		body := map[string]any{}
		for k, v := range p {
			q.Set(k, v)
			var j any
			if json.Unmarshal([]byte(v), &j) == nil && (strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{")) {
				body[k] = j
			} else {
				body[k] = v
			}
		}
		g := f.get(t, action, q).ok(t).result()
		pr := f.post(t, action, body).ok(t).result()
		if action == "datastore_search" {
			delete(g.(map[string]any), "_links")
			delete(pr.(map[string]any), "_links")
			pr.(map[string]any)["limit"], g.(map[string]any)["limit"] = 0, 0
		}
		if mustJSON(g) != mustJSON(pr) {
			t.Errorf("%s: GET and POST differ:\n%s\n%s", action, mustJSON(g), mustJSON(pr))
		}
	}
}

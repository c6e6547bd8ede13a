package ckan_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

var fuzzActions = []string{"package_search", "datastore_search", "package_show", "package_list", "organization_list",
	"organization_show", "group_list", "group_show", "tag_list", "resource_show", "license_list", "help_show", "dump"}

// FuzzParams sends arbitrary parameters to every action, as a query string
// and as a POST body: a malformed request is a 4xx in CKAN's shape, never
// a 500 or a panic, and never shows a secret.
func FuzzParams(f *testing.F) {
	fx := newFixture(f)
	rid := cityhub.ResourceID(fx.open.ID)
	seeds := []struct {
		action      uint8
		query, body string
	}{
		{0, "q=停车&fq=organization:x tags:\"a b\"&rows=5&facet.field=[\"tags\"]", `{"q": "停车", "rows": 2000, "start": -1}`},
		{0, "fq=tags:\"unterminated&sort=name desc", `{"fq": "+res_format:CSV AND groups:traffic", "facet.field": "[1,2]"}`},
		{0, "fq=(a OR b)&facet.limit=-1&facet.mincount=x", `{"facet.field": {"a": 1}, "fq_list": ["tags:a", 3]}`},
		{0, "fq=-tags:a OR tags:(b OR \"c d\")&q=NOT x", `{"fq": "NOT organization:x AND res_format:(CSV OR PDF) -groups:(a"}`},
		{0, "q=metadata_modified:[&fq=metadata_modified:{2026-01-01 TO NOW]", `{"fq": "metadata_modified:[* TO 2026-01-01T00:00:00.5+08:00}"}`},
		{1, "resource_id=" + rid + "&filters={\"lot\":[\"a\",null]}&sort=\"lot\" desc,amount", `{"resource_id": "` + rid + `", "filters": [1], "q": {"a": 1}}`},
		{1, "resource_id=" + rid + "&limit=1e3&offset=-5&after=9&fields=_id,lot", `{"resource_id": "` + rid + `", "limit": 1.5, "fields": [["x"]], "sort": {"a":1}}`},
		{1, "resource_id=" + rid + "&records_format=lists&q=备注&distinct=false&plain=false&language=english", `{"id": "` + rid + `", "records_format": "tsv", "filters": "{\"amount\": 1.5}"}`},
		{1, "resource_id=" + rid + "&distinct=true&fields=lot,amount&sort=amount desc&offset=1", `{"resource_id": "` + rid + `", "distinct": true, "fields": ["_id"], "after": 2}`},
		{2, "id=211-000001", `{"id": 5}`},
		{3, "limit=99999999999999999999", `{"limit": "1", "offset": true}`},
		{4, "all_fields=yes&sort=package_count desc&limit=3", `{"organizations": "a,b", "q": "宁波"}`},
		{5, "id=nobody&include_datasets=true", `{"id": ["x"]}`},
		{8, "query=停&vocabulary_id=", `{"all_fields": 1}`},
		{11, "name=package_search", `{"name": null}`},
		{12, "format=json&bom=true&filters={\"lot\":\"x\"}", ""},
		{12, "format=tsv&limit=-1&fields=mobile", ""},
	}
	for _, s := range seeds {
		f.Add(s.action, s.query, s.body)
	}
	mux := http.NewServeMux()
	fx.api.Register(mux)
	f.Fuzz(func(t *testing.T, which uint8, query, body string) {
		action := fuzzActions[int(which)%len(fuzzActions)]
		var targets []*http.Request
		if action == "dump" {
			r := httptest.NewRequest(http.MethodGet, "/datastore/dump/"+rid, nil)
			r.URL.RawQuery = query
			targets = append(targets, r)
		} else {
			r := httptest.NewRequest(http.MethodGet, "/api/3/action/"+action, nil)
			r.URL.RawQuery = query
			targets = append(targets, r)
			p := httptest.NewRequest(http.MethodPost, "/api/3/action/"+action, strings.NewReader(body))
			p.Header.Set("Content-Type", "application/json")
			targets = append(targets, p)
		}
		for _, r := range targets {
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { mux.ServeHTTP(rec, r); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s %s?%s %q: no answer in 10 s", r.Method, r.URL.Path, query, body)
			}
			if rec.Code >= 500 {
				t.Fatalf("%s %s?%s %q: status %d: %s", r.Method, r.URL.Path, query, body, rec.Code, rec.Body.Bytes())
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && action != "dump" {
				var v any
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Fatalf("invalid JSON: %v: %s", err, rec.Body.Bytes())
				}
				if m, ok := v.(map[string]any); ok {
					if _, ok := m["help"].(string); !ok {
						t.Fatalf("no help: %s", rec.Body.Bytes())
					}
				}
			}
			// Secret values come only from the rows (names may be echoed
			// back from the request in an error).
			if bad := mobileOf(1)[:8]; strings.Contains(rec.Body.String(), bad) && !strings.Contains(query+body, bad) {
				t.Fatalf("%q shows: %.300s", bad, rec.Body.Bytes())
			}
		}
	})
}

package ckan_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// A third-party CKAN client works against the API: the npm package ckanapi
// drives package_search, package_show and datastore_search from Node
// (testdata/ckanapi_client.mjs) against the running test server.
func TestCKANAPIClient(t *testing.T) {
	module, _ := filepath.Abs(filepath.Join("..", ".ci", "node", "node_modules", "ckanapi"))
	node, err := exec.LookPath("node")
	var missing string
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(module, "package.json")); err != nil {
			missing = "the npm package ckanapi is not installed (npm ci --prefix .ci/node)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: the CKAN client test cannot run", missing)
		}
		t.Skipf("%s: skipping the CKAN client test (it fails in CI)", missing)
	}
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "ckanapi_client.mjs"), f.srv.URL)
	cmd.Env = append(os.Environ(), "CKANAPI_MODULE="+module)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Search struct {
			Count  int                       `json:"count"`
			Names  []string                  `json:"names"`
			Facets map[string]map[string]int `json:"facets"`
			Sort   string                    `json:"sort"`
		} `json:"search"`
		Show struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			Organization string `json:"organization"`
			Resources    []struct {
				ID              string `json:"id"`
				Format          string `json:"format"`
				DatastoreActive bool   `json:"datastore_active"`
				URL             string `json:"url"`
			} `json:"resources"`
		} `json:"show"`
		Datastore struct {
			ResourceID  string           `json:"resource_id"`
			Total       int              `json:"total"`
			Limit       int              `json:"limit"`
			Fields      []string         `json:"fields"`
			Records     []map[string]any `json:"records"`
			Next        string           `json:"next"`
			NextSuccess bool             `json:"next_success"`
			NextIDs     []float64        `json:"next_ids"`
		} `json:"datastore"`
		Denied   map[string]any `json:"denied"`
		NotFound map[string]any `json:"not_found"`
		Help     string         `json:"help"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}

	// What the client saw is what the API answers.
	want := f.get(t, "package_search", url.Values{"q": {"停车"}, "fq": {"res_format:CSV"}, "rows": {"5"},
		"facet.field": {`["organization","res_format","tags"]`}}).ok(t).resultMap()
	if got.Search.Count != int(want["count"].(float64)) || got.Search.Count == 0 {
		t.Errorf("search count %d, want %v", got.Search.Count, want["count"])
	}
	var names []string
	for _, p := range want["results"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	if !slices.Equal(got.Search.Names, names) {
		t.Errorf("search names %v, want %v", got.Search.Names, names)
	}
	if got.Search.Facets["res_format"]["CSV"] != got.Search.Count || got.Search.Sort != "score desc, metadata_modified desc" {
		t.Errorf("facets %v, sort %q", got.Search.Facets, got.Search.Sort)
	}
	if got.Show.Name != names[0] || len(got.Show.Resources) != 1 || got.Show.Resources[0].Format != "CSV" ||
		got.Show.Organization != strings.ToLower(f.dept.CreditCode) {
		t.Errorf("package_show %+v", got.Show)
	}

	ds := got.Datastore
	if ds.ResourceID != cityhub.ResourceID(f.open.ID) || ds.Total != 84 || ds.Limit != 5 || len(ds.Records) != 5 {
		t.Errorf("datastore_search: resource %s, total %d, limit %d, %d records", ds.ResourceID, ds.Total, ds.Limit, len(ds.Records))
	}
	if !slices.Equal(ds.Fields, public) {
		t.Errorf("fields %v, want %v", ds.Fields, public)
	}
	for _, r := range ds.Records {
		if r["lot"] != "鼓楼地下停车场" {
			t.Errorf("record %v", r)
		}
		if _, ok := r["mobile"]; ok {
			t.Errorf("a sensitive item in %v", r)
		}
	}
	last := ds.Records[len(ds.Records)-1]["_id"].(float64)
	if !ds.NextSuccess || len(ds.NextIDs) != 5 || ds.NextIDs[0] <= last || !strings.Contains(ds.Next, "after=") {
		t.Errorf("next page %s: ids %v after %v", ds.Next, ds.NextIDs, last)
	}
	if got.Denied["__type"] != "Authorization Error" {
		t.Errorf("conditional resource: %v", got.Denied)
	}
	if got.NotFound["__type"] != "Not Found Error" {
		t.Errorf("missing package: %v", got.NotFound)
	}
	if !strings.Contains(got.Help, "DataStore") {
		t.Errorf("help %q", got.Help)
	}
}

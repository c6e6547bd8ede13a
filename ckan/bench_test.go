package ckan_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/cityhub/cityhub"
)

// The handlers' own cost, in process (the load tool in bench/ measures
// them over loopback at scale).

func benchmarkAction(b *testing.B, target string) {
	f := newFixture(b)
	mux := http.NewServeMux()
	f.api.Register(mux)
	if rec := newRecorder(mux, http.MethodGet, target, ""); rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", target, rec.Code, rec.Body.Bytes())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		newRecorder(mux, http.MethodGet, target, "")
	}
}

func BenchmarkPackageSearch(b *testing.B) {
	benchmarkAction(b, "/api/3/action/package_search?"+url.Values{"q": {"停车"}}.Encode())
}

func BenchmarkPackageSearchFacets(b *testing.B) {
	benchmarkAction(b, "/api/3/action/package_search?"+url.Values{"fq": {"res_format:CSV"},
		"facet.field": {`["organization","groups","tags","res_format"]`}}.Encode())
}

func BenchmarkDatastoreSearchFilter(b *testing.B) {
	f := newFixture(b)
	benchmarkAction(b, "/api/3/action/datastore_search?"+url.Values{"resource_id": {cityhub.ResourceID(f.open.ID)},
		"filters": {`{"record_no": "R00042"}`}}.Encode())
}

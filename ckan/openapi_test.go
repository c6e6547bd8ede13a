package ckan

import (
	"slices"
	"testing"
)

// Every action is documented, by GET and POST, with the parameters its
// help text names.
func TestOpenAPIPathsCoverEveryAction(t *testing.T) {
	paths := OpenAPIPaths()
	for name := range actionTable {
		item := paths["/api/3/action/"+name]
		if item == nil || item["get"] == nil || item["post"] == nil {
			t.Errorf("%s: not documented for GET and POST: %v", name, item)
		}
	}
	var names []string
	for _, p := range paths["/api/3/action/package_search"]["get"].(map[string]any)["parameters"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"q", "fq", "rows", "start", "sort", "facet.field", "facet.limit", "facet.mincount"} {
		if !slices.Contains(names, want) {
			t.Errorf("package_search: parameter %s missing from %v", want, names)
		}
	}
	if paths["/datastore/dump/{id}"] == nil {
		t.Error("the dump is not documented")
	}
}

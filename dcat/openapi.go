package dcat

// OpenAPIPaths documents the feeds for the platform's OpenAPI document.
func OpenAPIPaths() map[string]map[string]any {
	page := []any{
		map[string]any{"name": "page", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1},
			"description": "the page, from 1 (hydra:PartialCollectionView links the others)"},
		map[string]any{"name": "modified_since", "in": "query", "schema": map[string]any{"type": "string"},
			"description": "only datasets modified at or after this ISO 8601 date or date-time (no zone: the server's)"}}
	get := func(id, summary, mediaType string, params []any) map[string]any {
		op := map[string]any{"tags": []string{"DCAT-AP"}, "summary": summary, "operationId": id,
			"responses": map[string]any{
				"200": map[string]any{"description": "OK", "content": map[string]any{mediaType: map[string]any{}}},
				"400": map[string]any{"description": "a bad page or modified_since"},
				"404": map[string]any{"description": "no such public dataset"}}}
		if params != nil {
			op["parameters"] = params
		}
		return map[string]any{"get": op}
	}
	name := []any{map[string]any{"name": "name", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		"description": "the package name (resource code with - for /)"}}
	return map[string]map[string]any{
		"/catalog.jsonld":        get("getDCATCatalogJSONLD", "The public catalog as DCAT-AP 3, JSON-LD, 100 datasets a page", "application/ld+json", page),
		"/catalog.ttl":           get("getDCATCatalogTurtle", "The public catalog as DCAT-AP 3, Turtle, 100 datasets a page", "text/turtle", page),
		"/dataset/{name}.jsonld": get("getDCATDatasetJSONLD", "One public dataset as DCAT-AP 3, JSON-LD", "application/ld+json", name),
		"/dataset/{name}.ttl":    get("getDCATDatasetTurtle", "One public dataset as DCAT-AP 3, Turtle", "text/turtle", name),
	}
}

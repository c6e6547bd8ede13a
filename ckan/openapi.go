package ckan

import (
	"slices"
	"strings"
)

// OpenAPIPaths documents the actions for the platform's OpenAPI document,
// from the texts help_show gives: each action by GET with its parameters in
// the query, or by POST with them as a JSON object. Every answer is CKAN's
// envelope (help, success, then result or error).
func OpenAPIPaths() map[string]map[string]any {
	envelope := map[string]any{"type": "object", "properties": map[string]any{
		"help": map[string]any{"type": "string"}, "success": map[string]any{"type": "boolean"},
		"result": map[string]any{"description": "the action's answer"},
		"error":  map[string]any{"type": "object", "description": "__type and message, with the fields at fault"}}}
	answer := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": envelope}}}
	}
	responses := map[string]any{"200": answer("success"), "400": answer("Validation Error or Search Query Error"),
		"403": answer("Authorization Error: open on conditions, the caller's key is not granted"),
		"404": answer("Not Found Error"), "429": answer("rate limit reached; Retry-After says when to try again")}
	paths := map[string]map[string]any{}
	names := make([]string, 0, len(helpDocs))
	for name := range helpDocs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		summary, params := helpParams(helpDocs[name])
		var query []any
		props := map[string]any{}
		for _, p := range params {
			query = append(query, map[string]any{"name": p[0], "in": "query", "description": p[1], "schema": map[string]any{"type": "string"}})
			props[p[0]] = map[string]any{"description": p[1]}
		}
		op := func(method string) map[string]any {
			o := map[string]any{"tags": []string{"CKAN Action API v3"}, "summary": summary, "operationId": method + "CKAN_" + name,
				"security": []any{map[string]any{}, map[string]any{"apiKey": []string{}}}, "responses": responses}
			if method == "get" && query != nil {
				o["parameters"] = query
			}
			if method == "post" {
				o["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{
					"schema": map[string]any{"type": "object", "properties": props}}}}
			}
			return o
		}
		paths["/api/3/action/"+name] = map[string]any{"get": op("get"), "post": op("post")}
	}
	paths["/datastore/dump/{id}"] = map[string]any{"get": map[string]any{"tags": []string{"CKAN Action API v3"},
		"summary": "The whole of a datastore resource as a file", "operationId": "getCKANDatastoreDump",
		"parameters": []any{
			map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}, "description": "the resource id"},
			map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": []string{"csv", "tsv", "json"}}},
			map[string]any{"name": "bom", "in": "query", "schema": map[string]any{"type": "boolean"}, "description": "a byte order mark first, for Excel"},
			map[string]any{"name": "filters", "in": "query", "schema": map[string]any{"type": "string"}, "description": "as datastore_search's"},
			map[string]any{"name": "q", "in": "query", "schema": map[string]any{"type": "string"}},
			map[string]any{"name": "fields", "in": "query", "schema": map[string]any{"type": "string"}},
			map[string]any{"name": "sort", "in": "query", "schema": map[string]any{"type": "string"}},
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer"}},
			map[string]any{"name": "offset", "in": "query", "schema": map[string]any{"type": "integer"}}},
		"security": []any{map[string]any{}, map[string]any{"apiKey": []string{}}},
		"responses": map[string]any{"200": map[string]any{"description": "the rows, streamed"},
			"400": map[string]any{"description": "a bad format"}, "403": map[string]any{"description": "open on conditions, not granted"},
			"404": map[string]any{"description": "no such resource"}, "409": map[string]any{"description": "bad parameters"}}}}
	return paths
}

// helpParams splits a help text into its first line and its ":param name:
// description" lines.
func helpParams(doc string) (summary string, params [][2]string) {
	lines := strings.Split(doc, "\n")
	for _, l := range lines[1:] {
		if rest, ok := strings.CutPrefix(l, ":param "); ok {
			name, desc, _ := strings.Cut(rest, ":")
			params = append(params, [2]string{strings.TrimSpace(name), strings.TrimSpace(desc)})
		}
	}
	return lines[0], params
}

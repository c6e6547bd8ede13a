package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// operation documents a route. Request and response schemas are derived
// from the Go types the handlers use, so the document follows the code.
type operation struct {
	tag      string
	summary  string
	query    []param
	body     any // request body example value (its type is documented)
	response any // response body example value
	status   int // success status, 200 when zero
}

type param struct{ name, typ, description string }

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI returns the OpenAPI 3.1 document of the API.
func (s *Server) OpenAPI() map[string]any {
	schemas := map[string]any{}
	ref := func(v any) map[string]any { return schemaRef(reflect.TypeOf(v), schemas) }
	errResp := map[string]any{"description": "error", "content": map[string]any{
		"application/json": map[string]any{"schema": ref(errorBody{})}}}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes() {
		op := map[string]any{"tags": []string{rt.doc.tag}, "summary": rt.doc.summary,
			"operationId": operationID(rt.method, rt.path)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			typ := "integer"
			if m[1] == "token" || m[1] == "name" {
				typ = "string"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"schema": map[string]any{"type": typ}})
		}
		for _, p := range rt.doc.query {
			params = append(params, map[string]any{"name": p.name, "in": "query", "description": p.description,
				"schema": map[string]any{"type": p.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.doc.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref(rt.doc.body)}}}
		}
		status := rt.doc.status
		if status == 0 {
			status = 200
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.doc.response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.doc.response)}}
		}
		op["responses"] = map[string]any{itoa(status): ok, "default": errResp}
		if rt.access.needsUser() {
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}}
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	plain := func(summary string) map[string]any {
		return map[string]any{"get": map[string]any{"summary": summary, "operationId": operationID("GET", summary),
			"responses": map[string]any{"200": map[string]any{"description": "OK"}, "default": errResp}}}
	}
	paths["/healthz"] = plain("Liveness: the process answers")
	paths["/readyz"] = plain("Readiness: store reachable and migrations applied; shows the schema version")
	paths["/metrics"] = plain("Prometheus metrics in the text format")
	paths["/api/v1/openapi.json"] = plain("This document")
	for _, m := range s.Mounted {
		for path, item := range m {
			paths[path] = item
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "cityhub API", "version": s.Version,
			"description": "The city data and operations platform. Errors always have the shape {\"error\": {\"code\", \"message\", \"fields\"}}."},
		"paths": paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{
			"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "a session token from /api/v1/auth/login or a personal token"},
			"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "cityhub_session", "description": "web console session; changes need X-CSRF-Token"},
			"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "a public account's open-data API key " +
				"(/api/v1/me/api-keys), also accepted in Authorization: a higher rate limit on the open-data endpoints; no access to the rest"},
		}},
	}
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func operationID(method, path string) string {
	id := strings.ToLower(method)
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == ' ' || r == ':' || r == '_' }) {
		if part == "api" || part == "v1" {
			continue
		}
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return id
}

var timeType = reflect.TypeOf(time.Time{})

// schemaRef returns a JSON Schema for t, registering named structs in
// schemas and referring to them.
func schemaRef(t reflect.Type, schemas map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaRef(t.Elem(), schemas)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaRef(t.Elem(), schemas)}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := schemas[name]; !done {
			schemas[name] = nil // placeholder against recursion
			props := map[string]any{}
			addFields(t, props, schemas)
			schemas[name] = map[string]any{"type": "object", "properties": props}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// addFields adds t's JSON fields to props; embedded structs without a JSON
// name are flattened, as encoding/json does.
func addFields(t reflect.Type, props map[string]any, schemas map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		jsonName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && jsonName == "" && ft.Kind() == reflect.Struct:
			addFields(ft, props, schemas)
			continue
		case !f.IsExported() || jsonName == "-":
			continue
		case jsonName == "":
			jsonName = f.Name
		}
		props[jsonName] = schemaRef(f.Type, schemas)
	}
}

// schemaName turns Go type names, generic ones included, into schema names:
// listOf[…cityhub.Department] becomes DepartmentList.
func schemaName(t reflect.Type) string {
	name := t.Name()
	if inner, ok := strings.CutPrefix(name, "listOf["); ok {
		inner = strings.TrimSuffix(inner, "]")
		inner = inner[strings.LastIndex(inner, ".")+1:]
		return inner + "List"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// openAPIDoc is the part of the document the tests read.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIOp struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
	Security  []map[string][]string      `json:"security"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func fetchOpenAPI(t *testing.T, e *env) (openAPIDoc, map[string]any) {
	t.Helper()
	res := e.do("GET", "/api/v1/openapi.json", "", nil)
	if res.status != 200 {
		t.Fatalf("got %v, want 200", res)
	}
	var doc openAPIDoc
	var raw map[string]any
	res.decode(t, &doc)
	res.decode(t, &raw)
	return doc, raw
}

// TestOpenAPIDocumentsEveryRoute: every routed endpoint is documented with
// its path parameters, request body and responses.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	doc, _ := fetchOpenAPI(t, e)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("got openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version != "test" {
		t.Errorf("got info %+v, want a title and version test", doc.Info)
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !slices.Contains(httpMethods, method) {
				t.Errorf("%s: got key %q, want only HTTP methods", path, method)
				continue
			}
			where := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: got no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also used by %s, want unique ids", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			if len(op.Responses) == 0 {
				t.Errorf("%s: got no responses", where)
			}
		}
	}

	for _, rt := range e.srv.routes() {
		where := rt.method + " " + rt.path
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s: routed but not in the document", where)
			continue
		}
		wantStatus := rt.doc.status
		if wantStatus == 0 {
			wantStatus = 200
		}
		if op.Responses[fmt.Sprint(wantStatus)] == nil || op.Responses["default"] == nil {
			t.Errorf("%s: got responses %v, want %d and default", where, keys(op.Responses), wantStatus)
		}
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			found := false
			for _, p := range op.Parameters {
				found = found || p.Name == m[1] && p.In == "path" && p.Required
			}
			if !found {
				t.Errorf("%s: got parameters %+v, want required path parameter %q", where, op.Parameters, m[1])
			}
		}
		for _, p := range op.Parameters {
			if p.In == "path" && !strings.Contains(rt.path, "{"+p.Name+"}") {
				t.Errorf("%s: documents path parameter %q that the path does not have", where, p.Name)
			}
		}
		if rt.access.needsUser() != (len(op.Security) > 0) {
			t.Errorf("%s: got security %v for a route with access %v", where, op.Security, rt.access)
		}
	}
	// Operational endpoints served beside the API.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("GET %s: served but not in the document", p)
		}
	}
}

// TestOpenAPIRequestBodies: a route documents a request body exactly when
// its handler reads one. Whether it reads one is found out by sending an
// unknown field: only a decoding handler names it.
func TestOpenAPIRequestBodies(t *testing.T) {
	e := newEnv(t)
	doc, _ := fetchOpenAPI(t, e)
	dev, _ := e.newDevice(e.deptA)
	ids := map[string]int64{"departments": e.deptB.ID, "users": e.users[cityhub.RoleSteward].ID,
		"entries": e.draftA.ID, "devices": dev.ID}
	for _, rt := range e.srv.routes() {
		if rt.method != "POST" && rt.method != "PUT" && rt.method != "PATCH" {
			continue
		}
		where := rt.method + " " + rt.path
		if strings.Contains(rt.path, "{token}") {
			continue // the device API takes free-form payloads, named per device type
		}
		path := rt.path
		for kind, id := range ids {
			path = strings.ReplaceAll(path, kind+"/{id}", fmt.Sprintf("%s/%d", kind, id))
		}
		// A fresh session each time: the probe may reach logout.
		token := e.login("admin", testPassword)
		res := e.do(rt.method, path, token, `{"zz_probe": 1}`)
		readsBody := res.status == 400 && strings.Contains(string(res.body), `"zz_probe":"unknown field"`)
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		documented := op.RequestBody != nil
		if readsBody != documented {
			t.Errorf("%s: handler reads a body: %v (probe got %v); document has a request body: %v", where, readsBody, res, documented)
			continue
		}
		if !documented {
			continue
		}
		schema := op.RequestBody.Content["application/json"].Schema
		ref, _ := schema["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok || doc.Components.Schemas[name] == nil {
			t.Errorf("%s: got request body schema %v, want a $ref to a component schema", where, schema)
			continue
		}
		// The schema lists the fields the handler accepts.
		var comp struct {
			Properties map[string]any `json:"properties"`
		}
		json.Unmarshal(doc.Components.Schemas[name], &comp)
		for field := range jsonFields(rt.doc.body) {
			if comp.Properties[field] == nil {
				t.Errorf("%s: schema %s lacks property %q", where, name, field)
			}
		}
	}
}

// jsonFields returns the JSON names of a struct value's fields.
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k := range m {
		out[k] = true
	}
	return out
}

// TestOpenAPIEveryOperationIsRouted is the converse: each documented
// operation reaches its own handler, not the mux's plain-text 404/405 nor
// the API's catch-all.
func TestOpenAPIEveryOperationIsRouted(t *testing.T) {
	e := newEnv(t)
	doc, _ := fetchOpenAPI(t, e)
	paramRE := regexp.MustCompile(`\{[^}]+\}`)
	var ops []string
	for path, byMethod := range doc.Paths {
		for method := range byMethod {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	if len(ops) < len(e.srv.routes()) {
		t.Errorf("got %d documented operations, want at least the %d routes", len(ops), len(e.srv.routes()))
	}
	for _, op := range ops {
		method, pattern, _ := strings.Cut(op, " ")
		path := paramRE.ReplaceAllString(pattern, "1")
		// The mux must pick the documented pattern for the concrete path.
		req := httptest.NewRequest(method, path, nil)
		if _, got := e.mux.Handler(req); got != op {
			t.Errorf("%s: the mux routes %s %s to pattern %q, want %q", op, method, path, got, op)
		}
		// And the live server answers without credentials: signed-in
		// routes refuse with 401, public ones answer, none is missing.
		res := e.do(method, path, "", nil)
		apiSecured := len(doc.Paths[pattern][strings.ToLower(method)].Security) > 0
		switch {
		case res.status == http.StatusNotFound && !apiSecured && strings.Contains(pattern, "{") && res.isJSON() &&
			!strings.Contains(string(res.body), "no API endpoint"):
			// A public route's own handler: object 1 does not exist.
		case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
			t.Errorf("%s: got %v, want the operation served", op, res)
		case !res.isJSON() && !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain; version="):
			t.Errorf("%s: got Content-Type %q, want JSON (or the Prometheus text format)", op, res.header.Get("Content-Type"))
		case apiSecured && res.status != http.StatusUnauthorized:
			t.Errorf("%s without credentials: got %v, want 401", op, res)
		case !apiSecured && res.status == http.StatusUnauthorized && !strings.Contains(pattern, "{token}"):
			// The device API's credentials are the token in its path.
			t.Errorf("%s without credentials: got 401, want it public as documented", op)
		}
	}
}

// TestOpenAPIRefsResolve: every $ref in the document names an existing
// component schema, and every component schema is an object schema.
func TestOpenAPIRefsResolve(t *testing.T) {
	e := newEnv(t)
	doc, raw := fetchOpenAPI(t, e)
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					s, _ := x.(string)
					refs = append(refs, s)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(raw)
	if len(refs) == 0 {
		t.Fatal("got no $ref in the document, want schemas referred to")
	}
	used := map[string]bool{}
	for _, ref := range refs {
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok {
			t.Errorf("got $ref %q, want #/components/schemas/…", ref)
			continue
		}
		used[name] = true
		if s := doc.Components.Schemas[name]; s == nil || string(s) == "null" {
			t.Errorf("$ref %q: got no schema %q in components", ref, name)
		}
	}
	for name, s := range doc.Components.Schemas {
		var schema struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(s, &schema); err != nil || schema.Type != "object" || len(schema.Properties) == 0 {
			t.Errorf("schema %s: got %s, want an object with properties", name, s)
		}
		if !used[name] {
			t.Errorf("schema %s: never referred to", name)
		}
	}
	for _, name := range []string{"ErrorBody", "Department", "DepartmentList", "User", "UserList", "Token", "AuditRecord", "AuditPage"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("got schemas %v, want %s among them", keys(doc.Components.Schemas), name)
		}
	}
	for _, name := range []string{"bearer", "session"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("got security schemes %v, want %s", keys(doc.Components.SecuritySchemes), name)
		}
	}
}

package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// TestMalformedInput: every kind of bad input is a 4xx in the error shape
// whose message or fields name the problem; none is a 500.
func TestMalformedInput(t *testing.T) {
	e := newEnv(t)
	pa, aud := e.tokens[cityhub.RolePlatformAdmin], e.tokens[cityhub.RoleAuditor]
	big := `{"name":"` + strings.Repeat("长", 400_000) + `"}` // 1.2 MB, over MaxBody
	deptB := fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID)
	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		body    any      // string bodies are sent as is
		hdr     []string // extra header pairs
		want    int
		code    string
		field   string // must appear in fields, when set
		message string // must appear in the message, when set
	}{
		{"invalid JSON syntax", "POST", "/api/v1/departments", pa, `{"name": }`, nil, 400, "invalid", "", "malformed JSON at byte"},
		{"invalid JSON token", "POST", "/api/v1/departments", pa, `{name: "x"}`, nil, 400, "invalid", "", "malformed JSON"},
		{"truncated JSON", "POST", "/api/v1/departments", pa, `{"name": "市大数据局", "level"`, nil, 400, "invalid", "", "ends in the middle"},
		{"truncated string", "POST", "/api/v1/departments", pa, `{"name": "市大`, nil, 400, "invalid", "", "ends in the middle"},
		{"empty body", "POST", "/api/v1/departments", pa, ``, nil, 400, "invalid", "", "empty"},
		{"whitespace body", "POST", "/api/v1/departments", pa, " \n\t ", nil, 400, "invalid", "", "empty"},
		{"wrong type string field", "POST", "/api/v1/departments", pa, `{"name": 5}`, nil, 400, "invalid", "name", ""},
		{"wrong type integer field", "POST", "/api/v1/departments", pa, `{"parent_id": "one"}`, nil, 400, "invalid", "parent_id", ""},
		{"integer overflow", "POST", "/api/v1/departments", pa, `{"parent_id": 1e30}`, nil, 400, "invalid", "parent_id", ""},
		{"wrong type array field", "POST", "/api/v1/users", pa, `{"roles": "operator"}`, nil, 400, "invalid", "roles", ""},
		{"wrong type bool field", "PATCH", deptB, pa, `{"level": true}`, nil, 400, "invalid", "level", ""},
		{"array instead of object", "POST", "/api/v1/departments", pa, `[]`, nil, 400, "invalid", "(body)", ""},
		{"string instead of object", "POST", "/api/v1/auth/login", "", `"admin"`, nil, 400, "invalid", "(body)", ""},
		{"unknown field", "POST", "/api/v1/departments", pa, `{"nmae": "x"}`, nil, 400, "invalid", "nmae", ""},
		{"unknown field in login", "POST", "/api/v1/auth/login", "", `{"username":"admin","password":"x","otp":"1"}`, nil, 400, "invalid", "otp", ""},
		{"two JSON values", "POST", "/api/v1/departments", pa, `{"name":"a"}{"name":"b"}`, nil, 400, "invalid", "", "more than one JSON value"},
		{"trailing garbage", "POST", "/api/v1/departments", pa, `{"name":"a"} x`, nil, 400, "invalid", "", "more than one JSON value"},
		{"wrong content type", "POST", "/api/v1/departments", pa, `{"name":"a"}`, []string{"Content-Type", "text/plain"}, 400, "invalid", "", "Content-Type"},
		{"form content type", "POST", "/api/v1/auth/login", "", `username=admin&password=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "invalid", "", "Content-Type"},
		{"body over MaxBody", "POST", "/api/v1/departments", pa, big, nil, 413, "too_large", "", "over 1048576 bytes"},
		{"login body over MaxBody", "POST", "/api/v1/auth/login", "", big, nil, 413, "too_large", "", "over"},
		{"small value, then data past MaxBody", "POST", "/api/v1/departments", pa, `{"name":"a"}` + strings.Repeat(" ", 1<<20), nil, 413, "too_large", "", "over"},
		{"two values past MaxBody", "POST", "/api/v1/departments", pa, `{"name":"a"}` + big, nil, 413, "too_large", "", "over"},
		{"validation", "POST", "/api/v1/departments", pa, `{}`, nil, 400, "invalid", "credit_code", ""},
		{"null body", "POST", "/api/v1/departments", pa, `null`, nil, 400, "invalid", "name", ""},
		{"bad path id", "GET", "/api/v1/departments/abc", pa, nil, nil, 404, "not_found", "", "abc"},
		{"zero path id", "GET", "/api/v1/departments/0", pa, nil, nil, 404, "not_found", "", ""},
		{"negative path id", "GET", "/api/v1/users/-3", pa, nil, nil, 404, "not_found", "", ""},
		{"overflowing path id", "DELETE", "/api/v1/departments/99999999999999999999", pa, nil, nil, 404, "not_found", "", ""},
		{"missing department", "GET", "/api/v1/departments/424242", pa, nil, nil, 404, "not_found", "", ""},
		{"no such endpoint", "GET", "/api/v1/nothing-here", pa, nil, nil, 404, "not_found", "", "no API endpoint"},
		{"negative limit", "GET", "/api/v1/departments?limit=-1", pa, nil, nil, 400, "invalid", "limit", ""},
		{"limit too large", "GET", "/api/v1/users?limit=5000", pa, nil, nil, 400, "invalid", "limit", ""},
		{"limit not a number", "GET", "/api/v1/departments?limit=ten", pa, nil, nil, 400, "invalid", "limit", ""},
		{"negative offset", "GET", "/api/v1/departments?offset=-5", pa, nil, nil, 400, "invalid", "offset", ""},
		{"bad parent_id filter", "GET", "/api/v1/departments?parent_id=x", pa, nil, nil, 400, "invalid", "parent_id", ""},
		{"bad department_id filter", "GET", "/api/v1/users?department_id=0", pa, nil, nil, 400, "invalid", "department_id", ""},
		{"audit limit too large", "GET", "/api/v1/audit?limit=5000", aud, nil, nil, 400, "invalid", "limit", ""},
		{"audit since not a time", "GET", "/api/v1/audit?since=yesterday", aud, nil, nil, 400, "invalid", "since", ""},
		{"audit until not a time", "GET", "/api/v1/audit?until=2026-13-01", aud, nil, nil, 400, "invalid", "until", ""},
		{"audit bad before", "GET", "/api/v1/audit?before=-1", aud, nil, nil, 400, "invalid", "before", ""},
		{"audit bad outcome", "GET", "/api/v1/audit?outcome=maybe", aud, nil, nil, 400, "invalid", "outcome", ""},
		{"Authorization not Bearer", "GET", "/api/v1/me", "", nil, []string{"Authorization", "Basic YWRtaW46cGFzcw=="}, 401, "unauthorized", "", "Bearer"},
		{"bare token without scheme", "GET", "/api/v1/me", "", nil, []string{"Authorization", pa}, 401, "unauthorized", "", "Bearer"},
		{"garbage bearer token", "GET", "/api/v1/me", "", nil, []string{"Authorization", "Bearer garbage"}, 401, "unauthorized", "", "token"},
		{"unknown bearer token", "GET", "/api/v1/me", "chp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", nil, nil, 401, "unauthorized", "", "token"},
		{"empty bearer token", "GET", "/api/v1/me", "", nil, []string{"Authorization", "Bearer "}, 401, "unauthorized", "", ""},
		{"overlong bearer token", "GET", "/api/v1/me", "chp_" + strings.Repeat("a", 5000), nil, nil, 401, "unauthorized", "", ""},
		{"garbage bearer on a public route", "POST", "/api/v1/auth/login", "garbage", loginBody("admin", testPassword), nil, 401, "unauthorized", "", ""},
		{"no credentials", "GET", "/api/v1/me", "", nil, nil, 401, "unauthorized", "", "sign in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.method, tc.path, tc.token, tc.body, tc.hdr...)
			if res.status != tc.want {
				t.Fatalf("got %v, want status %d", res, tc.want)
			}
			apiErr := res.apiErr(t)
			if apiErr.Code != tc.code {
				t.Errorf("got code %q, want %q", apiErr.Code, tc.code)
			}
			if tc.field != "" && apiErr.Fields[tc.field] == "" {
				t.Errorf("got fields %v message %q, want a reason for field %q", apiErr.Fields, apiErr.Message, tc.field)
			}
			if tc.message != "" && !strings.Contains(apiErr.Message, tc.message) {
				t.Errorf("got message %q, want it to contain %q", apiErr.Message, tc.message)
			}
		})
	}
	// The scheme is case-insensitive; the token is not.
	if res := e.do("GET", "/api/v1/me", "", nil, "Authorization", "bearer "+pa); res.status != 200 {
		t.Errorf("lower-case bearer scheme: got %v, want 200", res)
	}
	if res := e.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+strings.ToUpper(pa)); res.status != 401 {
		t.Errorf("upper-cased token: got %v, want 401", res)
	}
	// Nothing above was accepted.
	if _, total, err := e.store.Departments(systemCtx(), cityhub.DepartmentFilter{}); err != nil || total != 2 {
		t.Errorf("departments after bad input: got %d (%v), want the 2 seeded", total, err)
	}
}

// TestUnknownAPIPaths: under /api/ every miss is a JSON error, not the
// mux's plain-text page.
func TestUnknownAPIPaths(t *testing.T) {
	e := newEnv(t)
	pa := e.tokens[cityhub.RolePlatformAdmin]
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v2/departments"},
		{"PUT", "/api/v1/departments"},
		{"POST", "/api/v1/departments/1"},
		{"GET", "/api/v1/departments/1/children"},
		{"PATCH", "/api/v1/me"},
	} {
		res := e.do(tc.method, tc.path, pa, nil)
		if res.status >= 500 || res.status < 400 {
			t.Errorf("%s %s: got %v, want a 4xx", tc.method, tc.path, res)
			continue
		}
		if _, err := checkErrorShape(res); err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
	}
}

// fuzzBody fuzzes POST path with arbitrary bodies and Content-Types. The
// stack is built once per process and shared by the iterations.
func fuzzBody(f *testing.F, path, token string, seeds []string) {
	e := newEnv(f)
	if token == "admin" {
		token = e.tokens[cityhub.RolePlatformAdmin]
	}
	for _, s := range seeds {
		f.Add(s, "application/json")
	}
	f.Add(`{"name":"x"}`, "text/plain")
	f.Add(`{"name":"x"}`, "")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		hdr := []string{"Content-Type", contentType}
		if contentType == "" || strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			hdr = nil
		}
		res := doRequest(t, e.ts, "POST", path, token, body, hdr...)
		if res.status >= 500 {
			t.Fatalf("body %q: got %v, want < 500", body, res)
		}
		if res.status >= 400 {
			if _, err := checkErrorShape(res); err != nil {
				t.Fatalf("body %q: got %v: %v", body, res, err)
			}
		} else if !res.isJSON() {
			t.Fatalf("body %q: got %v, want a JSON success", body, res)
		}
	})
}

var departmentSeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `5`, `{"name": }`, `{"name": 5}`, `{"nmae":"x"}`, `{"a":1}{"b":2}`,
	`{"name":"宁波市统计局","credit_code":"11330200MB0000001X","division_code":"330200","level":"city"}`,
	`{"name":"x","credit_code":"91110000600037341L","division_code":"330203","level":"district","parent_id":1}`,
	`{"name":"y","credit_code":"91110000600037341l","division_code":"330204","level":"district","parent_id":-1}`,
	`{"name":"\u0000","short_name":"\ud800","credit_code":"ＡＢＣ","division_code":"","level":"province"}`,
	`{"parent_id": 1e400}`, `{"parent_id": 9223372036854775808}`, `{"name": "` + strings.Repeat("名", 101) + `"}`,
	`{"name":"a","name":"b"}`, `{"name":"x"` + strings.Repeat(" ", 100), strings.Repeat("[", 20000),
}

// FuzzCreateDepartment posts arbitrary bodies as a platform admin: never a
// 5xx, always the error shape on refusal.
func FuzzCreateDepartment(f *testing.F) {
	fuzzBody(f, "/api/v1/departments", "admin", departmentSeeds)
}

// FuzzLogin posts arbitrary bodies to the login endpoint.
func FuzzLogin(f *testing.F) {
	fuzzBody(f, "/api/v1/auth/login", "", []string{
		``, `{}`, `null`, `{"username":"admin","password":"correct-horse-42"}`, `{"username":"admin"}`,
		`{"username":"ADMIN ","password":"x"}`, `{"username":"` + strings.Repeat("a", 10000) + `","password":"x"}`,
		`{"username":5}`, `{"username":"admin","password":"x","extra":1}`, `{"username":"\u0000","password":"\u0000"}`,
	})
}

func TestWrongMethodOnKnownPath(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"PUT", "/api/v1/departments", "GET, POST"},
		{"POST", "/api/v1/departments/7", "GET, PATCH, DELETE"},
		{"DELETE", "/api/v1/audit", "GET"},
	} {
		r := e.do(tc.method, tc.path, "", nil)
		if r.status != 405 || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: got %d Allow %q, want 405 Allow %q", tc.method, tc.path, r.status, r.header.Get("Allow"), tc.allow)
		}
		if _, err := checkErrorShape(r); err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
	}
	if r := e.do("GET", "/api/v1/nothing", "", nil); r.status != 404 {
		t.Errorf("unknown path: got %d, want 404", r.status)
	}
	if r := e.do("GET", "/api/v1/me", "", nil); r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
}

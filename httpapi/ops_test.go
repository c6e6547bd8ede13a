package httpapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	res := e.do("GET", "/healthz", "", nil)
	var health map[string]string
	res.decode(t, &health)
	if res.status != 200 || health["status"] != "ok" {
		t.Errorf("healthz: got %v, want 200 status ok", res)
	}

	var ready struct {
		Status        string `json:"status"`
		Version       string `json:"version"`
		SchemaVersion int    `json:"schema_version"`
		SchemaLatest  int    `json:"schema_latest"`
	}
	res = e.do("GET", "/readyz", "", nil)
	res.decode(t, &ready)
	if res.status != 200 || ready.Status != "ready" || ready.Version != "test" {
		t.Errorf("readyz: got %v, want 200 ready, version test", res)
	}
	if ready.SchemaVersion <= 0 || ready.SchemaVersion != ready.SchemaLatest {
		t.Errorf("readyz: got schema_version %d schema_latest %d, want equal and > 0", ready.SchemaVersion, ready.SchemaLatest)
	}

	// A failing readiness check makes the node unready without saying why
	// to the caller.
	e.srv.Readiness = func() error { return errors.New("broker down: secret detail") }
	res = e.do("GET", "/readyz", "", nil)
	res.decode(t, &ready)
	if res.status != 503 || ready.Status != "unavailable" || strings.Contains(string(res.body), "secret detail") {
		t.Errorf("readyz with a failing check: got %v, want 503 unavailable without the internal detail", res)
	}
	e.srv.Readiness = nil
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		if res := e.do("GET", "/api/v1/departments", e.tokens[cityhub.RoleConsumer], nil); res.status != 200 {
			t.Fatalf("got %v, want 200", res)
		}
	}
	e.do("GET", "/api/v1/departments/abc", e.tokens[cityhub.RoleConsumer], nil)
	e.do("GET", "/api/v1/no-such-thing", "", nil)

	res := e.do("GET", "/metrics", "", nil)
	if res.status != 200 {
		t.Fatalf("got %v, want 200", res)
	}
	body := string(res.body)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^cityhub_http_requests_total\{code="200",method="GET",route="GET /api/v1/departments"\} 3$`),
		regexp.MustCompile(`(?m)^cityhub_http_requests_total\{code="404",method="GET",route="GET /api/v1/departments/\{id\}"\} 1$`),
		regexp.MustCompile(`(?m)^cityhub_http_requests_total\{code="404",method="GET",route="/api/"\} 1$`),
		regexp.MustCompile(`(?m)^cityhub_http_request_duration_seconds_bucket\{route="GET /api/v1/departments",le="\+Inf"\} 3$`),
		regexp.MustCompile(`(?m)^cityhub_http_request_duration_seconds_count\{route="GET /api/v1/departments"\} 3$`),
		regexp.MustCompile(`(?m)^cityhub_store_errors_total 0$`),
		regexp.MustCompile(`(?m)^go_goroutines `),
	} {
		if !want.MatchString(body) {
			t.Errorf("metrics: got no line matching %s", want)
		}
	}
	// Route labels are patterns, never raw paths with ids in them.
	if strings.Contains(body, `route="/api/v1/departments/abc"`) || strings.Contains(body, "no-such-thing") {
		t.Errorf("metrics hold a raw path as a label, want only patterns")
	}
}

// TestRequestID: every response carries an id (checked in every request of
// these tests); a caller's own id is kept; the audit record of a change
// names the request, the client address and the actor.
func TestRequestID(t *testing.T) {
	e := newEnv(t)
	pa := e.tokens[cityhub.RolePlatformAdmin]

	ids := map[string]bool{}
	for range 5 {
		id := e.do("GET", "/healthz", "", nil).header.Get("X-Request-ID")
		if ids[id] {
			t.Errorf("got request id %q twice, want a fresh one per request", id)
		}
		ids[id] = true
	}
	if got := e.do("GET", "/healthz", "", nil, "X-Request-ID", "trace-abc-123").header.Get("X-Request-ID"); got != "trace-abc-123" {
		t.Errorf("caller's id: got %q, want trace-abc-123 kept", got)
	}
	long := strings.Repeat("x", 65)
	if got := e.do("GET", "/healthz", "", nil, "X-Request-ID", long).header.Get("X-Request-ID"); got == long || got == "" {
		t.Errorf("over-long caller id: got %q, want a fresh id instead", got)
	}
	for _, res := range []*response{
		e.do("GET", "/api/v1/me", "", nil),
		e.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer nonsense"),
		e.do("POST", "/api/v1/departments", pa, "{"),
		e.do("GET", "/nowhere", "", nil),
	} {
		if res.header.Get("X-Request-ID") == "" {
			t.Errorf("%v: got no X-Request-ID", res)
		}
	}

	tests := []struct {
		name, method, path, action string
		body                       any
		status                     int
		reqID                      string // sent by the caller when set
	}{
		{"create department", "POST", "/api/v1/departments", "department.create", e.departmentBody(), 201, ""},
		{"update department", "PATCH", fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID), "department.update", map[string]string{"short_name": "海曙"}, 200, "caller-chosen-id"},
		{"create user", "POST", "/api/v1/users", "user.create", map[string]any{"username": "new-steward",
			"department_id": e.deptA.ID, "roles": []string{"data_steward"}, "password": "Steward-pass-1"}, 201, ""},
		{"create token", "POST", "/api/v1/tokens", "token.create", map[string]any{"name": "ci", "scopes": []string{"read"}}, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.reqID != "" {
				hdr = []string{"X-Request-ID", tc.reqID}
			}
			res := e.do(tc.method, tc.path, pa, tc.body, hdr...)
			if res.status != tc.status {
				t.Fatalf("got %v, want %d", res, tc.status)
			}
			id := res.header.Get("X-Request-ID")
			if tc.reqID != "" && id != tc.reqID {
				t.Errorf("got X-Request-ID %q, want %q", id, tc.reqID)
			}
			rec := e.lastAudit(cityhub.AuditFilter{Action: tc.action})
			if rec == nil {
				t.Fatalf("got no %s audit record", tc.action)
			}
			if rec.RequestID != id || rec.ClientAddr != "127.0.0.1" || rec.Actor != "admin" ||
				rec.ActorID != e.users[cityhub.RolePlatformAdmin].ID || rec.Outcome != cityhub.OutcomeSuccess {
				t.Errorf("got record request_id %q client_addr %q actor %q (%d) outcome %q, want %q, 127.0.0.1, admin (%d), success",
					rec.RequestID, rec.ClientAddr, rec.Actor, rec.ActorID, rec.Outcome, id, e.users[cityhub.RolePlatformAdmin].ID)
			}
		})
	}

	// The audit API shows the same record to an auditor.
	res := e.do("GET", "/api/v1/audit?action=department.&actor=admin&limit=1", e.tokens[cityhub.RoleAuditor], nil)
	var page auditPage
	res.decode(t, &page)
	if len(page.Records) != 1 || page.Records[0].Action != "department.update" || page.Records[0].RequestID != "caller-chosen-id" {
		t.Errorf("audit listing: got %s, want the department.update record with request id caller-chosen-id", res.body)
	}
	if page.NextBefore != page.Records[0].Seq {
		t.Errorf("got next_before %d, want %d (a full page has a next page)", page.NextBefore, page.Records[0].Seq)
	}
}

// TestAuditEndpoints: the head verifies with the server's key and the chain
// verifies intact after the changes made through the API.
func TestAuditEndpoints(t *testing.T) {
	e := newEnv(t)
	aud := e.tokens[cityhub.RoleAuditor]
	e.do("POST", "/api/v1/departments", e.tokens[cityhub.RolePlatformAdmin], e.departmentBody())

	var head cityhub.AuditHead
	res := e.do("GET", "/api/v1/audit/head", aud, nil)
	res.decode(t, &head)
	if res.status != 200 || head.Seq == 0 || !head.VerifySignature(e.srv.AuditKey) {
		t.Errorf("head: got %v, want a head signed with the audit key", res)
	}
	var rep cityhub.ChainReport
	res = e.do("GET", "/api/v1/audit/verify", aud, nil)
	res.decode(t, &rep)
	if res.status != 200 || !rep.OK || rep.LastSeq < head.Seq {
		t.Errorf("verify: got %v, want an intact chain up to at least %d", res, head.Seq)
	}

	var page auditPage
	res = e.do("GET", "/api/v1/audit?outcome=success&limit=1000", aud, nil)
	res.decode(t, &page)
	if len(page.Records) == 0 || page.NextBefore != 0 {
		t.Fatalf("got %d records, next_before %d, want records and no next page", len(page.Records), page.NextBefore)
	}
	for i, r := range page.Records {
		if r.Outcome != cityhub.OutcomeSuccess || i > 0 && r.Seq >= page.Records[i-1].Seq {
			t.Errorf("record %d: got seq %d outcome %q, want successes, newest first", i, r.Seq, r.Outcome)
		}
	}
}

package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// call is one request of a matrix case, prepared for one caller.
type call struct {
	path  string
	body  any
	token string // overrides the caller's session token when set
}

// matrixCase is one endpoint (with one kind of target) against every caller.
type matrixCase struct {
	name    string
	pattern string // the routed pattern, "METHOD /path"
	prepare func(e *env, role string) call
	def     int            // expected status for signed-in callers not in want
	want    map[string]int // expected status by role label
	// check, when set, asserts behaviour of a successful (2xx) response.
	check func(t *testing.T, e *env, role string, c call, res *response)
}

func statuses(def int, pairs ...any) (int, map[string]int) {
	m := map[string]int{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1].(int)
	}
	return def, m
}

func fixed(path string, body any) func(*env, string) call {
	return func(*env, string) call { return call{path: path, body: body} }
}

func userPath(id int64, suffix string) string { return fmt.Sprintf("/api/v1/users/%d%s", id, suffix) }

// matrixCases returns the role matrix. Targets that a call changes or
// removes are made fresh for every caller, so the order of callers does not
// matter.
func matrixCases() []matrixCase {
	const (
		PA  = cityhub.RolePlatformAdmin
		AUD = cityhub.RoleAuditor
		DA  = cityhub.RoleDeptAdmin
		ST  = cityhub.RoleSteward
		CO  = cityhub.RoleConsumer
		OP  = cityhub.RoleOperator
		DAB = deptAdminB
	)
	mc := func(name, pattern string, prepare func(*env, string) call, def int, want map[string]int,
		check func(*testing.T, *env, string, call, *response)) matrixCase {
		return matrixCase{name, pattern, prepare, def, want, check}
	}
	var cases []matrixCase
	add := func(c matrixCase) { cases = append(cases, c) }

	// Public and operational endpoints.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		add(mc("GET "+p, "GET "+p, fixed(p, nil), 200, map[string]int{anon: 200}, nil))
	}
	d, w := statuses(200, anon, 200)
	add(mc("login", "POST /api/v1/auth/login", func(e *env, _ string) call {
		u := e.newUser(cityhub.RoleConsumer, e.deptA)
		return call{path: "/api/v1/auth/login", body: map[string]string{"username": u.Username, "password": testPassword}}
	}, d, w, nil))

	// Auth endpoints every signed-in caller may use.
	d, w = statuses(204)
	add(mc("logout a fresh session", "POST /api/v1/auth/logout", func(e *env, role string) call {
		if role == anon {
			return call{path: "/api/v1/auth/logout"}
		}
		return call{path: "/api/v1/auth/logout", token: e.login(e.users[role].Username, testPassword)}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		if got := e.do("GET", "/api/v1/me", c.token, nil); got.status != http.StatusUnauthorized {
			t.Errorf("after logout: GET /api/v1/me got %d, want 401", got.status)
		}
		if got := e.do("GET", "/api/v1/me", e.tokens[role], nil); got.status != http.StatusOK {
			t.Errorf("after logout of another session: GET /api/v1/me got %d, want 200 (other sessions live on)", got.status)
		}
	}))
	add(mc("me", "GET /api/v1/me", fixed("/api/v1/me", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var u cityhub.User
			res.decode(t, &u)
			if want := e.users[role].Username; u.Username != want {
				t.Errorf("got username %q, want %q", u.Username, want)
			}
		}))
	add(mc("change own password with the wrong current one", "PUT /api/v1/me/password",
		fixed("/api/v1/me/password", map[string]string{"current_password": "wrong-password-1", "new_password": "Another-pass-99"}),
		400, nil, nil))
	add(mc("divisions", "GET /api/v1/divisions", fixed("/api/v1/divisions?prefix=3302", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.Division]
			res.decode(t, &l)
			for _, dv := range l.Items {
				if !strings.HasPrefix(dv.Code, "3302") || dv.Historic {
					t.Errorf("got division %+v, want only current ones under 3302", dv)
				}
			}
			if l.Total == 0 || l.Total != len(l.Items) {
				t.Errorf("got total %d with %d items, want a non-zero total equal to the items", l.Total, len(l.Items))
			}
		}))

	// Departments: everyone signed in reads, only platform admins change.
	add(mc("list departments", "GET /api/v1/departments", fixed("/api/v1/departments", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.Department]
			res.decode(t, &l)
			if l.Total < 2 || len(l.Items) < 2 {
				t.Errorf("got total %d, %d items, want at least the 2 seeded departments", l.Total, len(l.Items))
			}
		}))
	d, w = statuses(403, PA, 201)
	add(mc("create department", "POST /api/v1/departments", func(e *env, _ string) call {
		return call{path: "/api/v1/departments", body: e.departmentBody()}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Department
		res.decode(t, &got)
		want := c.body.(map[string]any)
		if got.ID == 0 || got.Name != want["name"] || got.CreditCode != want["credit_code"] {
			t.Errorf("got %+v, want a new department named %v with credit code %v", got, want["name"], want["credit_code"])
		}
		if stored, err := e.store.Department(systemCtx(), got.ID); err != nil || stored.Name != got.Name {
			t.Errorf("stored department %d: got %+v, %v, want it saved", got.ID, stored, err)
		}
	}))
	add(mc("get department", "GET /api/v1/departments/{id}", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID)}
	}, 200, nil, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Department
		res.decode(t, &got)
		if got.ID != e.deptB.ID || got.ParentID == nil || *got.ParentID != e.deptA.ID {
			t.Errorf("got %+v, want department %d with parent %d", got, e.deptB.ID, e.deptA.ID)
		}
	}))
	d, w = statuses(403, PA, 200)
	add(mc("update department", "PATCH /api/v1/departments/{id}", func(e *env, role string) call {
		return call{path: fmt.Sprintf("/api/v1/departments/%d", e.deptA.ID), body: map[string]string{"short_name": "大数据局 " + role}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.Department
		res.decode(t, &got)
		if got.ShortName != "大数据局 "+role || got.Name != e.deptA.Name || got.CreditCode != e.deptA.CreditCode {
			t.Errorf("got %+v, want only short_name changed", got)
		}
	}))
	d, w = statuses(403, PA, 204)
	add(mc("delete department", "DELETE /api/v1/departments/{id}", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/departments/%d", e.newDepartment().ID)}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		if got := e.do("GET", c.path, e.tokens[PA], nil); got.status != http.StatusNotFound {
			t.Errorf("after delete: GET %s got %d, want 404", c.path, got.status)
		}
	}))

	// Users.
	d, w = statuses(403, PA, 200, AUD, 200, DA, 200, DAB, 200)
	add(mc("list users", "GET /api/v1/users", fixed("/api/v1/users", nil), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.User]
			res.decode(t, &l)
			want := map[string]int{PA: len(seedUsers), AUD: len(seedUsers), DA: 4, DAB: 1}[role]
			if l.Total < want {
				t.Errorf("got total %d, want at least %d", l.Total, want)
			}
			for _, u := range l.Items {
				if own := e.users[role].DepartmentID; (role == DA || role == DAB) && (u.DepartmentID == nil || *u.DepartmentID != *own) {
					t.Errorf("got user %s of department %v, want only department %d", u.Username, u.DepartmentID, *own)
				}
			}
		}))
	d, w = statuses(403, PA, 200, AUD, 200, DAB, 200)
	add(mc("list users of department B", "GET /api/v1/users", func(e *env, _ string) call {
		return call{path: fmt.Sprintf("/api/v1/users?department_id=%d", e.deptB.ID)}
	}, d, w, nil))
	d, w = statuses(403, PA, 201, DA, 201)
	add(mc("create steward in A", "POST /api/v1/users", func(e *env, _ string) call {
		return call{path: "/api/v1/users", body: map[string]any{"username": fmt.Sprintf("new-%d", e.next()),
			"department_id": e.deptA.ID, "roles": []string{ST}, "password": "Steward-pass-1"}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var u cityhub.User
		res.decode(t, &u)
		if u.ID == 0 || u.DepartmentID == nil || *u.DepartmentID != e.deptA.ID || !u.HasRole(ST) {
			t.Errorf("got %+v, want a steward of department %d", u, e.deptA.ID)
		}
		if strings.Contains(string(res.body), "argon2") || strings.Contains(string(res.body), "password") {
			t.Errorf("got body %s, want no password or hash in it", res.body)
		}
		e.login(u.Username, "Steward-pass-1")
	}))
	d, w = statuses(403, PA, 201, DAB, 201)
	add(mc("create steward in B", "POST /api/v1/users", func(e *env, _ string) call {
		return call{path: "/api/v1/users", body: map[string]any{"username": fmt.Sprintf("new-%d", e.next()),
			"department_id": e.deptB.ID, "roles": []string{ST}, "password": "Steward-pass-1"}}
	}, d, w, nil))
	for _, role := range []string{PA, AUD} {
		d, w = statuses(403, PA, 201)
		add(mc("grant "+role+" in A", "POST /api/v1/users", func(e *env, _ string) call {
			return call{path: "/api/v1/users", body: map[string]any{"username": fmt.Sprintf("new-%d", e.next()),
				"department_id": e.deptA.ID, "roles": []string{ST, role}, "password": "Granted-pass-1"}}
		}, d, w, nil))
	}
	d, w = statuses(404, PA, 200, AUD, 200, DA, 200, ST, 200)
	add(mc("get steward of A", "GET /api/v1/users/{id}", func(e *env, _ string) call {
		return call{path: userPath(e.users[ST].ID, "")}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var u cityhub.User
		res.decode(t, &u)
		if u.Username != e.users[ST].Username {
			t.Errorf("got user %q, want %q", u.Username, e.users[ST].Username)
		}
	}))
	d, w = statuses(404, PA, 200, DA, 200, AUD, 403)
	add(mc("update a user of A", "PATCH /api/v1/users/{id}", func(e *env, _ string) call {
		return call{path: userPath(e.newUser(CO, e.deptA).ID, ""), body: map[string]string{"display_name": "改名"}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var u cityhub.User
		res.decode(t, &u)
		if u.DisplayName != "改名" || !u.HasRole(CO) {
			t.Errorf("got %+v, want display name 改名 and roles kept", u)
		}
	}))
	d, w = statuses(403)
	add(mc("change own roles", "PATCH /api/v1/users/{id}", func(e *env, role string) call {
		target := e.users[ST]
		if role != anon {
			target = e.users[role]
		}
		return call{path: userPath(target.ID, ""), body: map[string]any{"roles": []string{PA}}}
	}, d, w, nil))
	d, w = statuses(404, PA, 204, DA, 204, AUD, 403)
	add(mc("reset a password in A", "PUT /api/v1/users/{id}/password", func(e *env, _ string) call {
		return call{path: userPath(e.newUser(OP, e.deptA).ID, "/password"), body: map[string]string{"password": "Reset-pass-123"}}
	}, d, w, nil))
	d, w = statuses(404, PA, 204, DA, 204, AUD, 403)
	add(mc("delete a user of A", "DELETE /api/v1/users/{id}", func(e *env, _ string) call {
		return call{path: userPath(e.newUser(CO, e.deptA).ID, "")}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		if got := e.do("GET", c.path, e.tokens[PA], nil); got.status != http.StatusNotFound {
			t.Errorf("after delete: GET %s got %d, want 404", c.path, got.status)
		}
	}))

	// Tokens.
	add(mc("list tokens", "GET /api/v1/tokens", fixed("/api/v1/tokens", nil), 200, nil, nil))
	add(mc("create token", "POST /api/v1/tokens", fixed("/api/v1/tokens",
		map[string]any{"name": "nightly export", "scopes": []string{"read"}, "expires_in_days": 30}), 201, nil, nil))
	add(mc("revoke own token", "DELETE /api/v1/tokens/{id}", func(e *env, role string) call {
		owner := e.users[CO]
		if role != anon {
			owner = e.users[role]
		}
		tok, _ := e.newPersonalToken(owner)
		return call{path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID)}
	}, 204, nil, nil))
	d, w = statuses(404, PA, 204)
	add(mc("revoke another user's token", "DELETE /api/v1/tokens/{id}", func(e *env, _ string) call {
		tok, _ := e.newPersonalToken(e.newUser(CO, e.deptA))
		return call{path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID)}
	}, d, w, nil))

	// Audit: auditors and platform admins only.
	for _, p := range []string{"/api/v1/audit", "/api/v1/audit/head", "/api/v1/audit/verify"} {
		d, w = statuses(403, PA, 200, AUD, 200)
		var check func(*testing.T, *env, string, call, *response)
		if p == "/api/v1/audit/verify" {
			check = func(t *testing.T, e *env, role string, c call, res *response) {
				var rep cityhub.ChainReport
				res.decode(t, &rep)
				if !rep.OK || rep.Records == 0 {
					t.Errorf("got report %+v, want an intact, non-empty chain", rep)
				}
			}
		}
		add(mc("read "+p, "GET "+p, fixed(p, nil), d, w, check))
	}

	// The resource catalog.
	cases = append(cases, catalogMatrixCases()...)
	// Data behind the catalog: tables, rows, loads.
	cases = append(cases, dataMatrixCases()...)
	cases = append(cases, deviceMatrixCases()...)
	cases = append(cases, openAccessMatrixCases()...)
	cases = append(cases, engagementMatrixCases()...)
	return cases
}

// TestRoleMatrix sends every endpoint as every caller and checks the status,
// the error shape of refusals, the audit record of every 403 and, where
// given, what a success did.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t)
	publicRoutes := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
		"GET /api/v1/openapi.json": true, "POST /api/v1/auth/login": true}
	covered := map[string]bool{}
	for _, tc := range matrixCases() {
		covered[tc.pattern] = true
		method, _, _ := strings.Cut(tc.pattern, " ")
		for _, role := range roleLabels {
			t.Run(tc.name+"/"+role, func(t *testing.T) {
				c := tc.prepare(e, role)
				want, ok := tc.want[role]
				switch {
				case ok:
				case role == anon && !publicRoutes[tc.pattern]:
					want = http.StatusUnauthorized
				default:
					want = tc.def
				}
				token := c.token
				if token == "" {
					token = e.tokens[role]
				}
				res := e.do(method, c.path, token, c.body)
				if res.status != want {
					t.Fatalf("%s as %s: got status %d, want %d; body %s", tc.pattern, role, res.status, want, res.body)
				}
				if want >= 400 {
					apiErr := res.apiErr(t)
					if want == http.StatusForbidden {
						checkDeniedAudit(t, e, e.users[role].Username, res)
					}
					if want == http.StatusUnauthorized && apiErr.Code != cityhub.EUNAUTHORIZED {
						t.Errorf("got code %q, want %q", apiErr.Code, cityhub.EUNAUTHORIZED)
					}
				} else if tc.check != nil {
					tc.check(t, e, role, c, res)
				}
			})
		}
	}
	for _, rt := range e.srv.routes() {
		if p := rt.method + " " + rt.path; !covered[p] {
			t.Errorf("route %s: got no role-matrix case, want every route covered", p)
		}
	}
}

// checkDeniedAudit asserts the newest access.denied record is this refusal.
func checkDeniedAudit(t *testing.T, e *env, username string, res *response) {
	t.Helper()
	rec := e.lastAudit(cityhub.AuditFilter{Action: "access.denied"})
	u, _ := url.Parse(res.path)
	switch {
	case rec == nil:
		t.Errorf("%v: got no access.denied audit record, want one", res)
	case rec.RequestID != res.header.Get("X-Request-ID"):
		t.Errorf("%v: newest access.denied record has request id %q, want %q (this request)", res, rec.RequestID, res.header.Get("X-Request-ID"))
	default:
		if rec.Actor != username || rec.Outcome != cityhub.OutcomeDenied || rec.Object != res.method+" "+u.Path || rec.ClientAddr != "127.0.0.1" {
			t.Errorf("%v: got access.denied record actor %q outcome %q object %q addr %q, want %q, %q, %q, 127.0.0.1",
				res, rec.Actor, rec.Outcome, rec.Object, rec.ClientAddr, username, cityhub.OutcomeDenied, res.method+" "+u.Path)
		}
	}
}

// TestUserRules covers user-management rules the matrix does not reach.
func TestUserRules(t *testing.T) {
	e := newEnv(t)
	pa, da := e.tokens[cityhub.RolePlatformAdmin], e.tokens[cityhub.RoleDeptAdmin]
	inB := e.newUser(cityhub.RoleConsumer, e.deptB)
	inA := e.newUser(cityhub.RoleConsumer, e.deptA)
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		want   int
		field  string // expected in error fields
	}{
		{"dept admin reads a user of B", da, "GET", userPath(inB.ID, ""), nil, 404, ""},
		{"dept admin changes a user of B", da, "PATCH", userPath(inB.ID, ""), map[string]string{"display_name": "x"}, 404, ""},
		{"dept admin moves own user to B", da, "PATCH", userPath(inA.ID, ""), map[string]any{"department_id": e.deptB.ID}, 403, ""},
		{"dept admin makes own user an auditor", da, "PATCH", userPath(inA.ID, ""), map[string]any{"roles": []string{"auditor"}}, 403, ""},
		{"dept admin detaches own user", da, "PATCH", userPath(inA.ID, ""), map[string]any{"department_id": 0}, 403, ""},
		{"dept admin changes own department", da, "PATCH", userPath(e.users[cityhub.RoleDeptAdmin].ID, ""), map[string]any{"department_id": e.deptB.ID}, 403, ""},
		{"dept admin disables self", da, "PATCH", userPath(e.users[cityhub.RoleDeptAdmin].ID, ""), map[string]any{"disabled": true}, 403, ""},
		{"dept admin edits own display name", da, "PATCH", userPath(e.users[cityhub.RoleDeptAdmin].ID, ""), map[string]any{"display_name": "我"}, 200, ""},
		{"dept admin resets own password", da, "PUT", userPath(e.users[cityhub.RoleDeptAdmin].ID, "/password"), map[string]any{"password": "Reset-pass-123"}, 403, ""},
		{"dept admin deletes self", da, "DELETE", userPath(e.users[cityhub.RoleDeptAdmin].ID, ""), nil, 403, ""},
		{"platform admin demotes self", pa, "PATCH", userPath(e.users[cityhub.RolePlatformAdmin].ID, ""), map[string]any{"roles": []string{"auditor"}}, 403, ""},
		{"password in PATCH", pa, "PATCH", userPath(inA.ID, ""), map[string]any{"password": "Whatever-123"}, 400, "password"},
		{"rename a user", pa, "PATCH", userPath(inA.ID, ""), map[string]any{"username": "renamed"}, 400, "username"},
		{"create without password", pa, "POST", "/api/v1/users", map[string]any{"username": "nopw", "department_id": e.deptA.ID, "roles": []string{"operator"}}, 400, "password"},
		{"create with weak password", pa, "POST", "/api/v1/users", map[string]any{"username": "weakpw", "department_id": e.deptA.ID, "roles": []string{"operator"}, "password": "short"}, 400, "password"},
		{"create in a missing department", pa, "POST", "/api/v1/users", map[string]any{"username": "nodept", "department_id": 9999, "roles": []string{"operator"}, "password": "Good-pass-123"}, 400, "department_id"},
		{"create with unknown role", pa, "POST", "/api/v1/users", map[string]any{"username": "badrole", "department_id": e.deptA.ID, "roles": []string{"king"}, "password": "Good-pass-123"}, 400, "roles"},
		{"create department role without department", pa, "POST", "/api/v1/users", map[string]any{"username": "nodeptrole", "roles": []string{"operator"}, "password": "Good-pass-123"}, 400, "department_id"},
		{"create a duplicate username", pa, "POST", "/api/v1/users", map[string]any{"username": "steward-a", "department_id": e.deptA.ID, "roles": []string{"operator"}, "password": "Good-pass-123"}, 409, "username"},
		{"bad username", pa, "POST", "/api/v1/users", map[string]any{"username": "Bad Name!", "department_id": e.deptA.ID, "roles": []string{"operator"}, "password": "Good-pass-123"}, 400, "username"},
		{"delete a department with users", pa, "DELETE", fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID), nil, 409, ""},
		{"duplicate credit code", pa, "POST", "/api/v1/departments", map[string]any{"name": "重复", "credit_code": e.deptA.CreditCode, "division_code": "330200", "level": "city"}, 409, "credit_code"},
		{"historic division", pa, "POST", "/api/v1/departments", map[string]any{"name": "江东区某局", "credit_code": creditCode(t, 77), "division_code": "330204", "level": "district"}, 400, "division_code"},
		{"bad credit code check character", pa, "POST", "/api/v1/departments", map[string]any{"name": "校验位错", "credit_code": "91110000600037341A", "division_code": "330200", "level": "city"}, 400, "credit_code"},
		{"own parent", pa, "PATCH", fmt.Sprintf("/api/v1/departments/%d", e.deptA.ID), map[string]any{"parent_id": e.deptA.ID}, 400, "parent_id"},
		{"parent loop", pa, "PATCH", fmt.Sprintf("/api/v1/departments/%d", e.deptA.ID), map[string]any{"parent_id": e.deptB.ID}, 400, "parent_id"},
		{"missing parent", pa, "PATCH", fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID), map[string]any{"parent_id": 4242}, 400, "parent_id"},
		{"missing department", pa, "PATCH", "/api/v1/departments/4242", map[string]any{"name": "x"}, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.method, tc.path, tc.token, tc.body)
			if res.status != tc.want {
				t.Fatalf("got status %d, want %d; body %s", res.status, tc.want, res.body)
			}
			if tc.want < 400 {
				return
			}
			apiErr := res.apiErr(t)
			if tc.field != "" && apiErr.Fields[tc.field] == "" {
				t.Errorf("got fields %v, want one naming %q", apiErr.Fields, tc.field)
			}
		})
	}

	t.Run("disabling a user ends their sessions", func(t *testing.T) {
		u := e.newUser(cityhub.RoleSteward, e.deptA)
		tok := e.login(u.Username, testPassword)
		if res := e.do("PATCH", userPath(u.ID, ""), da, map[string]any{"disabled": true}); res.status != 200 {
			t.Fatalf("disable: got %d, want 200: %s", res.status, res.body)
		}
		if res := e.do("GET", "/api/v1/me", tok, nil); res.status != 401 {
			t.Errorf("disabled user's session: got %d, want 401", res.status)
		}
		if res := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": u.Username, "password": testPassword}); res.status != 401 {
			t.Errorf("disabled user's login: got %d, want 401", res.status)
		}
	})

	t.Run("reset password ends sessions and sets the new one", func(t *testing.T) {
		u := e.newUser(cityhub.RoleOperator, e.deptA)
		tok := e.login(u.Username, testPassword)
		if res := e.do("PUT", userPath(u.ID, "/password"), da, map[string]string{"password": "Brand-new-77"}); res.status != 204 {
			t.Fatalf("reset: got %d, want 204: %s", res.status, res.body)
		}
		if res := e.do("GET", "/api/v1/me", tok, nil); res.status != 401 {
			t.Errorf("old session after reset: got %d, want 401", res.status)
		}
		if res := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": u.Username, "password": testPassword}); res.status != 401 {
			t.Errorf("old password after reset: got %d, want 401", res.status)
		}
		e.login(u.Username, "Brand-new-77")
	})

	t.Run("change own password", func(t *testing.T) {
		u := e.newUser(cityhub.RoleConsumer, e.deptA)
		tok := e.login(u.Username, testPassword)
		res := e.do("PUT", "/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": "short"})
		if res.status != 400 || res.apiErr(t).Fields["password"] == "" {
			t.Errorf("weak new password: got %v, want 400 naming password", res)
		}
		res = e.do("PUT", "/api/v1/me/password", tok, map[string]string{"current_password": "nope-nope-1", "new_password": "Brand-new-77"})
		if res.status != 400 || res.apiErr(t).Fields["current_password"] == "" {
			t.Errorf("wrong current password: got %v, want 400 naming current_password", res)
		}
		res = e.do("PUT", "/api/v1/me/password", tok, map[string]string{"current_password": testPassword, "new_password": "Brand-new-77"})
		if res.status != 204 {
			t.Fatalf("change: got %v, want 204", res)
		}
		if res := e.do("GET", "/api/v1/me", tok, nil); res.status != 401 {
			t.Errorf("the session that changed the password: got %d, want 401 (every session ends)", res.status)
		}
		if res := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": u.Username, "password": testPassword}); res.status != 401 {
			t.Errorf("old password after change: got %d, want 401", res.status)
		}
		e.login(u.Username, "Brand-new-77")
	})
}

// TestTokens covers personal tokens: creation needs a session, the secret
// works as a bearer, scopes limit methods, revocation and expiry end it.
func TestTokens(t *testing.T) {
	e := newEnv(t)
	pa := e.tokens[cityhub.RolePlatformAdmin]

	create := func(t *testing.T, token string, body any) (*response, tokenCreated) {
		t.Helper()
		res := e.do("POST", "/api/v1/tokens", token, body)
		var out tokenCreated
		if res.status == http.StatusCreated {
			res.decode(t, &out)
		}
		return res, out
	}

	res, write := create(t, pa, map[string]any{"name": "deploy", "scopes": []string{"write"}})
	if res.status != 201 {
		t.Fatalf("create write token: got %v, want 201", res)
	}
	if !strings.HasPrefix(write.Secret, cityhub.TokenPrefix) || write.Token.Kind != cityhub.TokenPersonal ||
		write.Token.Hint != write.Secret[:8] || write.Token.UserID != e.users[cityhub.RolePlatformAdmin].ID {
		t.Fatalf("got %+v secret %q, want a personal token of the caller whose hint starts the secret", write.Token, write.Secret)
	}
	if d := time.Until(write.Token.ExpiresAt); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("default expiry: got %v from now, want about 90 days", d)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "token.create"}); rec == nil || rec.Object != fmt.Sprintf("token:%d", write.Token.ID) ||
		rec.RequestID != res.header.Get("X-Request-ID") || strings.Contains(rec.Details, write.Secret) {
		t.Errorf("got token.create record %+v, want one for token %d with this request id and no secret", rec, write.Token.ID)
	}

	t.Run("the secret works as a bearer", func(t *testing.T) {
		res := e.do("GET", "/api/v1/me", write.Secret, nil)
		var u cityhub.User
		res.decode(t, &u)
		if res.status != 200 || u.Username != "admin" {
			t.Errorf("got %d user %q, want 200 admin", res.status, u.Username)
		}
		if res := e.do("POST", "/api/v1/departments", write.Secret, e.departmentBody()); res.status != 201 {
			t.Errorf("write token POST: got %v, want 201", res)
		}
	})

	t.Run("a personal token cannot make tokens", func(t *testing.T) {
		res, _ := create(t, write.Secret, map[string]any{"name": "child", "scopes": []string{"read"}})
		if res.status != 403 {
			t.Fatalf("got %v, want 403", res)
		}
		checkDeniedAudit(t, e, "admin", res)
	})

	res, read := create(t, pa, map[string]any{"name": "dashboard", "scopes": []string{"read"}, "expires_in_days": 7})
	if res.status != 201 {
		t.Fatalf("create read token: got %v, want 201", res)
	}
	t.Run("read scope allows GET only", func(t *testing.T) {
		if res := e.do("GET", "/api/v1/departments", read.Secret, nil); res.status != 200 {
			t.Errorf("GET: got %v, want 200", res)
		}
		if res := e.do("HEAD", "/api/v1/departments", read.Secret, nil); res.status != 200 {
			t.Errorf("HEAD: got %v, want 200", res)
		}
		for _, m := range []string{"POST", "PATCH", "DELETE"} {
			path := fmt.Sprintf("/api/v1/departments/%d", e.deptB.ID)
			if m == "POST" {
				path = "/api/v1/departments"
			}
			res := e.do(m, path, read.Secret, e.departmentBody())
			if res.status != 403 {
				t.Errorf("%s: got %v, want 403", m, res)
				continue
			}
			if msg := res.apiErr(t).Message; !strings.Contains(msg, "scope") {
				t.Errorf("%s: got message %q, want it to name the scopes", m, msg)
			}
			checkDeniedAudit(t, e, "admin", res)
		}
		if res := e.do("POST", "/api/v1/auth/logout", read.Secret, nil); res.status != 403 {
			t.Errorf("logout with read token: got %v, want 403", res)
		}
	})

	t.Run("listing shows tokens without secrets", func(t *testing.T) {
		res := e.do("GET", "/api/v1/tokens", pa, nil)
		var l listOf[cityhub.Token]
		res.decode(t, &l)
		ids := map[int64]bool{}
		for _, tok := range l.Items {
			ids[tok.ID] = true
			if tok.Kind != cityhub.TokenPersonal {
				t.Errorf("got token kind %q, want only personal tokens", tok.Kind)
			}
		}
		if !ids[write.Token.ID] || !ids[read.Token.ID] {
			t.Errorf("got ids %v, want %d and %d", ids, write.Token.ID, read.Token.ID)
		}
		for _, secret := range []string{write.Secret, read.Secret, pa} {
			if strings.Contains(string(res.body), secret) {
				t.Errorf("listing holds a secret: %s", res.body)
			}
		}
		for _, k := range []string{"csrf", "hash"} {
			if strings.Contains(string(res.body), `"`+k+`"`) {
				t.Errorf("listing has a %q field: %s", k, res.body)
			}
		}
	})

	t.Run("another user's token looks absent", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/tokens/%d", read.Token.ID)
		for _, role := range []string{cityhub.RoleAuditor, cityhub.RoleDeptAdmin, cityhub.RoleConsumer} {
			if res := e.do("DELETE", path, e.tokens[role], nil); res.status != 404 {
				t.Errorf("DELETE as %s: got %v, want 404", role, res)
			}
		}
		if res := e.do("GET", "/api/v1/me", read.Secret, nil); res.status != 200 {
			t.Errorf("token after others tried to revoke it: got %d, want 200", res.status)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/tokens/%d", read.Token.ID)
		if res := e.do("DELETE", path, pa, nil); res.status != 204 {
			t.Fatalf("revoke: got %v, want 204", res)
		}
		res := e.do("GET", "/api/v1/me", read.Secret, nil)
		if res.status != 401 || res.apiErr(t).Code != cityhub.EUNAUTHORIZED {
			t.Errorf("revoked token: got %v, want 401 unauthorized", res)
		}
		if res := e.do("DELETE", path, pa, nil); res.status != 404 {
			t.Errorf("revoke twice: got %v, want 404", res)
		}
		if res := e.do("DELETE", "/api/v1/tokens/987654", pa, nil); res.status != 404 {
			t.Errorf("revoke missing: got %v, want 404", res)
		}
	})

	t.Run("invalid token requests", func(t *testing.T) {
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"scopes": []string{"read"}}, "name"},
			{map[string]any{"name": "x"}, "scopes"},
			{map[string]any{"name": "x", "scopes": []string{"admin"}}, "scopes"},
			{map[string]any{"name": "x", "scopes": []string{"read"}, "expires_at": time.Now().Add(-time.Hour)}, "expires_at"},
			{map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 400}, "expires_at"},
			{map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": -1}, "expires_at"},
		} {
			res, _ := create(t, pa, tc.body)
			if res.status != 400 || res.apiErr(t).Fields[tc.field] == "" {
				t.Errorf("body %v: got %v, want 400 naming %s", tc.body, res, tc.field)
			}
		}
		res, _ := create(t, pa, `{"name":"x","scopes":["read"],"expires_at":"tomorrow"}`)
		if res.status != 400 || !strings.Contains(res.apiErr(t).Message, "RFC 3339") {
			t.Errorf("expires_at tomorrow: got %v, want 400 asking for RFC 3339", res)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		res, short := create(t, pa, map[string]any{"name": "short", "scopes": []string{"read"}, "expires_in_days": 1})
		if res.status != 201 {
			t.Fatalf("create: got %v, want 201", res)
		}
		if res := e.do("GET", "/api/v1/me", short.Secret, nil); res.status != 200 {
			t.Fatalf("before expiry: got %d, want 200", res.status)
		}
		undo := e.clock.Set(25 * time.Hour)
		defer undo()
		res = e.do("GET", "/api/v1/me", short.Secret, nil)
		if res.status != 401 || res.apiErr(t).Code != cityhub.EUNAUTHORIZED {
			t.Errorf("after expiry: got %v, want 401", res)
		}
		if res := e.do("GET", "/api/v1/me", write.Secret, nil); res.status != 200 {
			t.Errorf("90-day token a day later: got %d, want 200", res.status)
		}
		if res := e.do("GET", "/api/v1/me", pa, nil); res.status != 401 {
			t.Errorf("12-hour session a day later: got %d, want 401", res.status)
		}
	})
}

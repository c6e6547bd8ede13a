package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/openaccess"
)

// registration is a valid body for POST /api/v1/public/register, unique in e.
func (e *env) registration() map[string]string {
	n := e.next()
	return map[string]string{"username": fmt.Sprintf("citizen-%d", n), "display_name": "市民" + fmt.Sprint(n),
		"email": fmt.Sprintf("citizen%d@example.com", n), "password": "Open-data-2026"}
}

// register signs up a public account through ts and returns it with its
// session token.
func register(t *testing.T, e *env, ts *httptest.Server) (*cityhub.User, string) {
	t.Helper()
	res := doRequest(t, ts, "POST", "/api/v1/public/register", "", e.registration())
	if res.status != http.StatusCreated {
		t.Fatalf("register: got %v, want 201", res)
	}
	var out loginResponse
	res.decode(t, &out)
	return out.User, out.Token
}

// newAPIKey creates a key for the public account of token through ts.
func newAPIKey(t *testing.T, ts *httptest.Server, token, name string) apiKeyCreated {
	t.Helper()
	res := doRequest(t, ts, "POST", "/api/v1/me/api-keys", token, map[string]string{"name": name})
	if res.status != http.StatusCreated {
		t.Fatalf("create API key: got %v, want 201", res)
	}
	var out apiKeyCreated
	res.decode(t, &out)
	return out
}

// openAccessMatrixCases are the role-matrix cases of the open-access
// routes. Staff hold no API keys; a public account's own view is tested in
// TestAPIKeys and TestPublicAccountIsNotStaff.
func openAccessMatrixCases() []matrixCase {
	return []matrixCase{
		{name: "register a public account", pattern: "POST /api/v1/public/register",
			prepare: func(e *env, _ string) call {
				return call{path: "/api/v1/public/register", body: e.registration()}
			}, def: 201, want: map[string]int{anon: 201},
			check: func(t *testing.T, e *env, role string, c call, res *response) {
				var out loginResponse
				res.decode(t, &out)
				u := out.User
				if u == nil || !slices.Equal(u.Roles, []string{cityhub.RolePublic}) || u.DepartmentID != nil ||
					u.Username != c.body.(map[string]string)["username"] {
					t.Fatalf("got user %+v, want a public account without department", u)
				}
				if got := e.do("GET", "/api/v1/me", out.Token, nil); got.status != 200 {
					t.Errorf("the new account's session: GET /api/v1/me got %v, want 200", got)
				}
			}},
		{name: "list API keys", pattern: "GET /api/v1/me/api-keys", prepare: fixed("/api/v1/me/api-keys", nil), def: 403},
		{name: "create API key", pattern: "POST /api/v1/me/api-keys",
			prepare: fixed("/api/v1/me/api-keys", map[string]string{"name": "staff script"}), def: 403},
		{name: "revoke a public account's key", pattern: "DELETE /api/v1/me/api-keys/{id}",
			prepare: func(e *env, _ string) call {
				u := e.newUser(cityhub.RolePublic, nil)
				secret, hash := cityhub.NewAPIKeySecret()
				k := &cityhub.APIKey{UserID: u.ID, Name: "app", Prefix: secret[:cityhub.APIKeyPrefixLen]}
				if err := e.store.CreateAPIKey(systemCtx(), k, hash); err != nil {
					e.t.Fatalf("create API key: %v", err)
				}
				return call{path: fmt.Sprintf("/api/v1/me/api-keys/%d", k.ID)}
			}, def: 403},
		{name: "open-data statistics", pattern: "GET /api/v1/open/stats", prepare: fixed("/api/v1/open/stats", nil),
			def: 200, want: map[string]int{anon: 200},
			check: func(t *testing.T, e *env, role string, c call, res *response) {
				var st openStats
				res.decode(t, &st)
				if st.Target != 0.8 || len(st.Usage.Days) != 30 || len(st.Domains) == 0 {
					t.Errorf("got target %v, %d days, %d domains; want 0.8, 30 days and the domains", st.Target, len(st.Usage.Days), len(st.Domains))
				}
			}},
	}
}

func TestPublicRegistration(t *testing.T) {
	e := newEnv(t)
	body := e.registration()
	body["username"] = "  Citizen.Li  "
	res := e.do("POST", "/api/v1/public/register", "", body)
	if res.status != http.StatusCreated {
		t.Fatalf("register: got %v, want 201", res)
	}
	var out loginResponse
	res.decode(t, &out)
	u := out.User
	if u.Username != "citizen.li" || u.Email != body["email"] || u.DisplayName != body["display_name"] ||
		!slices.Equal(u.Roles, []string{cityhub.RolePublic}) || u.DepartmentID != nil {
		t.Fatalf("got %+v, want citizen.li, a public account without department, signed in", u)
	}
	if !strings.HasPrefix(out.Token, cityhub.TokenPrefix) || !out.ExpiresAt.After(time.Now()) {
		t.Fatalf("got token %q expiring %v, want a session", out.Token, out.ExpiresAt)
	}
	if strings.Contains(string(res.body), body["password"]) || strings.Contains(string(res.body), "argon2") {
		t.Fatalf("the answer holds the password or its hash: %s", res.body)
	}
	rec := e.lastAudit(cityhub.AuditFilter{Action: "user.create"})
	if rec == nil || rec.Actor != "public-registration" || rec.Object != fmt.Sprintf("user:%d", u.ID) ||
		rec.ClientAddr != "127.0.0.1" || rec.RequestID != res.header.Get("X-Request-ID") || rec.Outcome != cityhub.OutcomeSuccess {
		t.Fatalf("got user.create record %+v, want one by public-registration from 127.0.0.1 for user %d with this request id", rec, u.ID)
	}
	if strings.Contains(rec.Details, body["password"]) || strings.Contains(rec.Details, "argon2") {
		t.Fatalf("the audit record holds the password or its hash: %s", rec.Details)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "auth.login"}); rec == nil || rec.Actor != "citizen.li" || rec.Outcome != cityhub.OutcomeSuccess {
		t.Fatalf("got auth.login record %+v, want the new account's sign-in", rec)
	}
	if res := e.do("GET", "/api/v1/me", out.Token, nil); res.status != 200 {
		t.Fatalf("session: GET /api/v1/me got %v, want 200", res)
	}
	// The password signs in as everyone's does.
	e.login("citizen.li", body["password"])
	attempts := 1

	for _, tc := range []struct {
		name   string
		edit   func(map[string]any)
		status int
		field  string
	}{
		{"no email", func(b map[string]any) { delete(b, "email") }, 400, "email"},
		{"bad email", func(b map[string]any) { b["email"] = "nobody" }, 400, "email"},
		{"weak password", func(b map[string]any) { b["password"] = "short" }, 400, "password"},
		{"bad username", func(b map[string]any) { b["username"] = "市民 李" }, 400, "username"},
		{"roles", func(b map[string]any) { b["roles"] = []string{cityhub.RolePlatformAdmin} }, 400, "roles"},
		{"department", func(b map[string]any) { b["department_id"] = e.deptA.ID }, 400, "department_id"},
		{"taken username", func(b map[string]any) { b["username"] = "admin" }, 409, "username"},
		{"taken by the new account", func(b map[string]any) { b["username"] = "citizen.li" }, 409, "username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := map[string]any{}
			for k, v := range e.registration() {
				b[k] = v
			}
			tc.edit(b)
			res := e.do("POST", "/api/v1/public/register", "", b)
			attempts++
			if res.status != tc.status || res.apiErr(t).Fields[tc.field] == "" {
				t.Fatalf("got %v, want %d naming %s", res, tc.status, tc.field)
			}
		})
	}
	if _, _, err := e.store.UserByUsername(systemCtx(), "admin"); err != nil {
		t.Fatal(err)
	}

	t.Run("limited per address", func(t *testing.T) {
		for ; attempts < DefaultRegisterRate.Limit; attempts++ {
			if res := e.do("POST", "/api/v1/public/register", "", map[string]string{}); res.status != 400 {
				t.Fatalf("attempt %d: got %v, want 400", attempts+1, res)
			}
		}
		res := e.do("POST", "/api/v1/public/register", "", e.registration())
		if res.status != http.StatusTooManyRequests || res.apiErr(t).Code != cityhub.ELOCKED {
			t.Fatalf("attempt %d: got %v, want 429", attempts+1, res)
		}
		if got := res.header.Get("Retry-After"); got != "180" {
			t.Fatalf("Retry-After: got %q, want 180 (20 an hour)", got)
		}
		// Signing in is not registering.
		e.login("citizen.li", body["password"])
	})
}

// TestPublicAccountIsNotStaff: a public account's session reaches its own
// account, its keys and the open-data API; every staff route refuses it,
// whatever the route would do for a staff member.
func TestPublicAccountIsNotStaff(t *testing.T) {
	e := newEnv(t)
	u, token := register(t, e, e.ts)
	key := newAPIKey(t, e.ts, token, "app")
	staff := 0
	for _, rt := range e.srv.routes() {
		if rt.method+" "+rt.path == "POST /api/v1/auth/logout" {
			continue // below, last
		}
		path := strings.NewReplacer("{id}", fmt.Sprint(e.pubA.ID), "{token}", "x").Replace(rt.path)
		var body any
		if rt.method != "GET" && rt.method != "DELETE" {
			body = map[string]any{}
		}
		res := e.do(rt.method, path, token, body)
		switch rt.access {
		case signedIn:
			staff++
			if res.status != http.StatusForbidden || res.apiErr(t).Code != cityhub.EFORBIDDEN ||
				!strings.Contains(res.apiErr(t).Message, "public account") {
				t.Errorf("%s %s as a public account: got %v, want 403 naming the public account", rt.method, path, res)
				continue
			}
			checkDeniedAudit(t, e, u.Username, res)
		case account:
			if res.status == http.StatusForbidden || res.status == http.StatusUnauthorized || res.status >= 500 {
				t.Errorf("%s %s (own account) as a public account: got %v, want it served", rt.method, path, res)
			}
		}
	}
	if staff < 50 {
		t.Fatalf("checked %d staff routes, want them all (more than 50)", staff)
	}
	if res := e.do("POST", "/api/v1/auth/logout", token, nil); res.status != 204 {
		t.Fatalf("logout: got %v, want 204", res)
	}

	// An API key is no staff credential: it leaves the request anonymous.
	for _, hdr := range []string{"Bearer " + key.Secret, key.Secret} {
		for _, path := range []string{"/api/v1/me", "/api/v1/departments", "/api/v1/me/api-keys"} {
			res := e.do("GET", path, "", nil, "Authorization", hdr)
			if res.status != http.StatusUnauthorized || res.apiErr(t).Code != cityhub.EUNAUTHORIZED {
				t.Errorf("GET %s with Authorization %.12s…: got %v, want 401", path, hdr, res)
			}
		}
	}
	// Nor is a staff token's form with another prefix refused for its prefix.
	if res := e.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer chp_nonsense"); res.status != 401 {
		t.Errorf("bad staff token: got %v, want 401", res)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	u, token := register(t, e, e.ts)
	_, otherToken := register(t, e, e.ts)

	created := newAPIKey(t, e.ts, token, "  数据分析脚本 ")
	k := created.Key
	if !strings.HasPrefix(created.Secret, cityhub.APIKeyPrefix) || k.Prefix != created.Secret[:cityhub.APIKeyPrefixLen] ||
		k.UserID != u.ID || k.Name != "数据分析脚本" || k.Calls != 0 || k.RevokedAt != nil {
		t.Fatalf("got %+v secret %q, want an active key of user %d whose prefix starts the secret", k, created.Secret, u.ID)
	}
	var stored string
	if err := e.store.DB().QueryRow("SELECT hash FROM api_keys WHERE id = ?", k.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != cityhub.HashSecret(created.Secret) {
		t.Fatalf("stored %q, want the SHA-256 of the key", stored)
	}
	rec := e.lastAudit(cityhub.AuditFilter{Action: "api_key.create"})
	if rec == nil || rec.Actor != u.Username || rec.Object != fmt.Sprintf("api_key:%d", k.ID) || strings.Contains(rec.Details, created.Secret) {
		t.Fatalf("got api_key.create record %+v, want one by %s for key %d without the key", rec, u.Username, k.ID)
	}

	res := e.do("GET", "/api/v1/me/api-keys", token, nil)
	var l listOf[cityhub.APIKey]
	res.decode(t, &l)
	if res.status != 200 || l.Total != 1 || l.Items[0].ID != k.ID || l.Items[0].Prefix != k.Prefix {
		t.Fatalf("list: got %v, want key %d", res, k.ID)
	}
	if strings.Contains(string(res.body), created.Secret) || strings.Contains(string(res.body), stored) || strings.Contains(string(res.body), `"hash"`) {
		t.Fatalf("the listing holds the key or its hash: %s", res.body)
	}
	if res := e.do("GET", "/api/v1/me/api-keys", otherToken, nil); !strings.Contains(string(res.body), `"items":[]`) {
		t.Fatalf("another account's listing: got %v, want no keys", res)
	}

	for _, tc := range []struct {
		body  any
		field string
	}{{map[string]string{"name": " "}, "name"}, {map[string]string{}, "name"}, {map[string]string{"name": strings.Repeat("名", 101)}, "name"},
		{map[string]string{"name": "x", "scopes": "all"}, "scopes"}} {
		res := e.do("POST", "/api/v1/me/api-keys", token, tc.body)
		if res.status != 400 || res.apiErr(t).Fields[tc.field] == "" {
			t.Errorf("body %v: got %v, want 400 naming %s", tc.body, res, tc.field)
		}
	}

	for i := 1; i < cityhub.MaxActiveAPIKeys; i++ {
		newAPIKey(t, e.ts, token, fmt.Sprintf("key %d", i))
	}
	if res := e.do("POST", "/api/v1/me/api-keys", token, map[string]string{"name": "one too many"}); res.status != 409 {
		t.Fatalf("key %d: got %v, want 409", cityhub.MaxActiveAPIKeys+1, res)
	}

	path := fmt.Sprintf("/api/v1/me/api-keys/%d", k.ID)
	if res := e.do("DELETE", path, otherToken, nil); res.status != 404 {
		t.Fatalf("revoke another account's key: got %v, want 404", res)
	}
	if res := e.do("DELETE", path, token, nil); res.status != 204 {
		t.Fatalf("revoke: got %v, want 204", res)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "api_key.revoke"}); rec == nil || rec.Object != fmt.Sprintf("api_key:%d", k.ID) || rec.Actor != u.Username {
		t.Fatalf("got api_key.revoke record %+v", rec)
	}
	for _, p := range []string{path, "/api/v1/me/api-keys/987654", "/api/v1/me/api-keys/abc"} {
		if res := e.do("DELETE", p, token, nil); res.status != 404 {
			t.Errorf("DELETE %s: got %v, want 404", p, res)
		}
	}
	if res := e.do("POST", "/api/v1/me/api-keys", token, map[string]string{"name": "room again"}); res.status != 201 {
		t.Fatalf("after a revoke: got %v, want 201", res)
	}
	res = e.do("GET", "/api/v1/me/api-keys", token, nil)
	res.decode(t, &l)
	if l.Total != cityhub.MaxActiveAPIKeys+1 || l.Items[len(l.Items)-1].RevokedAt == nil {
		t.Fatalf("list after revoking: got %d keys, the oldest revoked at %v; want %d, revoked", l.Total, l.Items[len(l.Items)-1].RevokedAt, cityhub.MaxActiveAPIKeys+1)
	}
}

// TestOpenStatsBehindLimiter runs the open-data routes the way serve wires
// them: the limiter in front, the usage recorder as the reader.
func TestOpenStatsBehindLimiter(t *testing.T) {
	e := newEnv(t)
	usage := openaccess.NewUsage(e.store, openaccess.UsageOptions{Location: time.Local, FlushEvery: time.Hour})
	t.Cleanup(func() { usage.Close() })
	limiter := openaccess.NewLimiter(e.store, openaccess.Options{Anonymous: openaccess.Rate{Limit: 5},
		Keyed: openaccess.Rate{Limit: 100}, FlushEvery: time.Hour})
	t.Cleanup(func() { limiter.Close() })
	e.srv.Limiter, e.srv.Usage = limiter, usage
	mux := http.NewServeMux()
	e.srv.Register(mux)
	ts := httptest.NewServer(e.srv.Handler(mux, false))
	t.Cleanup(ts.Close)
	get := func(path string, hdr ...string) *response {
		t.Helper()
		return doRequest(t, ts, "GET", path, "", nil, hdr...)
	}

	// Use: pubA is public; the draft is not and stays out of the ranking.
	for range 3 {
		usage.Record(e.pubA.ID, cityhub.UseView)
	}
	for range 50 {
		usage.Record(e.draftA.ID, cityhub.UseView)
	}
	if err := usage.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	usage.Record(e.pubA.ID, cityhub.UseDownload) // not written yet: counted all the same
	usage.Record(e.pubA.ID, cityhub.UseDownload)
	usage.Record(e.pubA.ID, cityhub.UseAPI)

	res := get("/api/v1/open/stats")
	if res.status != 200 || res.header.Get("X-RateLimit-Limit") != "5" || res.header.Get("X-RateLimit-Remaining") != "4" {
		t.Fatalf("anonymous stats: got %v limit %q remaining %q, want 200, 5, 4", res, res.header.Get("X-RateLimit-Limit"), res.header.Get("X-RateLimit-Remaining"))
	}
	var st openStats
	res.decode(t, &st)
	today := time.Now().Format(time.DateOnly)
	if len(st.Usage.Days) != 30 || st.Usage.To != today || st.Usage.Days[29].Day != today ||
		st.Usage.From != time.Now().AddDate(0, 0, -29).Format(time.DateOnly) {
		t.Fatalf("usage days: got %d from %s to %s, want 30 ending today %s", len(st.Usage.Days), st.Usage.From, st.Usage.To, today)
	}
	if got, want := st.Usage.Total, (cityhub.UsageCount{Views: 53, Downloads: 2, APICalls: 1}); got != want {
		t.Fatalf("usage total: got %+v, want %+v", got, want)
	}
	if got := st.Usage.Days[29]; got.Views != 53 || got.Downloads != 2 {
		t.Fatalf("today: got %+v, want 53 views and 2 downloads", got)
	}
	if len(st.MostUsed) != 1 || st.MostUsed[0].EntryID != e.pubA.ID || st.MostUsed[0].Name != e.pubA.Name ||
		st.MostUsed[0].PackageID != cityhub.PackageID(e.pubA.ID) || st.MostUsed[0].PackageName != e.pubA.PackageName() ||
		st.MostUsed[0].Views != 3 || st.MostUsed[0].Downloads != 2 || st.MostUsed[0].APICalls != 1 || st.MostUsed[0].Provider == "" {
		t.Fatalf("most used: got %+v, want only %s (%d) with 3 views, 2 downloads, 1 call", st.MostUsed, e.pubA.Name, e.pubA.ID)
	}
	var urban *openDomain
	for i := range st.Domains {
		if st.Domains[i].Domain == "urban" {
			urban = &st.Domains[i]
		}
	}
	// pubA is published and open; draftA may be opened but is not yet.
	if urban == nil || urban.Published != 1 || urban.Openable != 2 || urban.Rate != 0.5 || urban.MeetsTarget || urban.Name == "" {
		t.Fatalf("domain urban: got %+v, want 1 of 2 open, below the 0.8 target", urban)
	}
	if st.Open != 1 || st.Openable != 2 || st.OpenRate != 0.5 || st.Target != 0.8 {
		t.Fatalf("totals: got open %d of %d (%v) against %v, want 1 of 2 against 0.8", st.Open, st.Openable, st.OpenRate, st.Target)
	}

	// A public account's API key: its own, higher allowance, in any header.
	_, token := register(t, e, ts)
	key := newAPIKey(t, ts, token, "app")
	for i, hdr := range [][]string{{"X-API-Key", key.Secret}, {"Authorization", key.Secret}, {"Authorization", "Bearer " + key.Secret}} {
		res := get("/api/v1/open/stats?days=7&limit=1", hdr...)
		if res.status != 200 || res.header.Get("X-RateLimit-Limit") != "100" || res.header.Get("X-RateLimit-Remaining") != fmt.Sprint(99-i) {
			t.Fatalf("stats with the key in %s: got %v limit %q remaining %q", hdr[0], res, res.header.Get("X-RateLimit-Limit"), res.header.Get("X-RateLimit-Remaining"))
		}
		res.decode(t, &st)
		if len(st.Usage.Days) != 7 || len(st.MostUsed) != 1 {
			t.Fatalf("days=7&limit=1: got %d days, %d most used", len(st.Usage.Days), len(st.MostUsed))
		}
	}
	for _, q := range []string{"days=367", "limit=51", "days=-1", "limit=x"} {
		if res := get("/api/v1/open/stats?"+q, "X-API-Key", key.Secret); res.status != 400 {
			t.Errorf("?%s: got %v, want 400", q, res)
		}
	}
	if err := limiter.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	res = doRequest(t, ts, "GET", "/api/v1/me/api-keys", token, nil)
	var l listOf[cityhub.APIKey]
	res.decode(t, &l)
	if l.Items[0].Calls != 7 || l.Items[0].LastUsedAt == nil {
		t.Fatalf("key use: got %d calls, last used %v; want 7 and a time", l.Items[0].Calls, l.Items[0].LastUsedAt)
	}

	// Revoked: refused at once on this node.
	if res := doRequest(t, ts, "DELETE", fmt.Sprintf("/api/v1/me/api-keys/%d", key.Key.ID), token, nil); res.status != 204 {
		t.Fatalf("revoke: got %v", res)
	}
	res = get("/api/v1/open/stats", "X-API-Key", key.Secret)
	if res.status != 403 || res.apiErr(t).Code != cityhub.EFORBIDDEN || res.header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("revoked key: got %v, want 403 with rate-limit headers", res)
	}

	// Anonymous callers run out: 429 with Retry-After in the platform's shape.
	var last *response
	for range 5 {
		if last = get("/api/v1/open/stats"); last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || last.header.Get("X-RateLimit-Remaining") != "0" ||
		last.apiErr(t).Code != cityhub.ELOCKED {
		t.Fatalf("anonymous beyond the limit: got %v, want 429 with Retry-After", last)
	}
	// The staff API is not behind the open-data limiter.
	for range 10 {
		if res := doRequest(t, ts, "GET", "/api/v1/me", e.tokens[cityhub.RoleSteward], nil); res.status != 200 || res.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("staff API: got %v with limit %q, want 200 without rate-limit headers", res, res.header.Get("X-RateLimit-Limit"))
		}
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
)

// TestPublicAccountKeptOutOfConsole: a public (open-data portal) account
// cannot sign in to the staff console, and its session, wherever it came
// from, opens no console page.
func TestPublicAccountKeptOutOfConsole(t *testing.T) {
	s := newStack(t)
	u := s.user("citizen", nil, cityhub.RolePublic)

	c := s.client()
	r := c.login("citizen", testPassword)
	wantStatus(t, r, http.StatusForbidden)
	wantBody(t, r, "此控制台仅供政务工作人员使用", `id="login-form"`)
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == auth.SessionCookie && ck.Value != "" {
			t.Fatalf("got a session cookie for a public account: %+v", ck)
		}
	}
	if got := c.get("/"); got.status != http.StatusSeeOther {
		t.Fatalf("GET / after the refused sign-in: status %d, want 303 to the login page", got.status)
	}
	tokens, err := s.store.Tokens(context.Background(), u.ID, cityhub.TokenSession)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.RevokedAt == nil {
			t.Fatalf("session %d of the refused sign-in: still active", tok.ID)
		}
	}

	// A session the portal opened (same cookie) is no key to the console.
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{ClientAddr: "127.0.0.1"})
	_, _, secret, err := s.auth.Login(ctx, "citizen", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(s.srv.URL)
	c = s.client()
	c.http.Jar.SetCookies(base, []*http.Cookie{{Name: auth.SessionCookie, Value: secret, Path: "/"}})
	for _, p := range []string{"/", "/departments", "/users", "/users/1", "/tokens", "/audit", "/catalog",
		"/catalog/stats", "/catalog/tree", "/devices", "/catalog/import"} {
		r := c.get(p)
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, `id="error-page"`)
	}
	recs, err := s.store.AuditRecords(context.Background(), cityhub.AuditFilter{Action: "access.denied", Actor: "citizen", Limit: 100})
	if err != nil || len(recs) != 11 {
		t.Fatalf("access.denied records of citizen: got %d (%v), want 11", len(recs), err)
	}
	// Signing out still works, from the refusal page.
	page := c.get("/")
	r = c.post("/logout", url.Values{"csrf": {hidden(page.body, "csrf")}})
	wantStatus(t, r, http.StatusSeeOther)
	if got := c.get("/"); got.status != http.StatusSeeOther {
		t.Fatalf("GET / after signing out: status %d, want 303", got.status)
	}
}

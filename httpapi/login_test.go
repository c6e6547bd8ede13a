package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func loginBody(username, password string) map[string]string {
	return map[string]string{"username": username, "password": password}
}

// checkLocked asserts res is a lockout refusal.
func checkLocked(t *testing.T, res *response) {
	t.Helper()
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("got %v, want 429", res)
	}
	if got := res.apiErr(t).Code; got != cityhub.ELOCKED {
		t.Errorf("got code %q, want %q", got, cityhub.ELOCKED)
	}
	ra, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil || ra <= 0 || ra > int((15*time.Minute).Seconds())+1 {
		t.Errorf("got Retry-After %q, want whole seconds in (0, 901]", res.header.Get("Retry-After"))
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		body     any
		want     int
		field    string
		username string // when set, the login must return this user
	}{
		{"right password", loginBody("steward-a", testPassword), 200, "", "steward-a"},
		{"username is case-insensitive", loginBody("  Steward-A ", testPassword), 200, "", "steward-a"},
		{"wrong password", loginBody("steward-a", "wrong-password-1"), 401, "", ""},
		{"unknown user", loginBody("nobody", testPassword), 401, "", ""},
		{"missing username", map[string]string{"password": testPassword}, 400, "username", ""},
		{"missing password", map[string]string{"username": "steward-a"}, 400, "password", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do("POST", "/api/v1/auth/login", "", tc.body)
			if res.status != tc.want {
				t.Fatalf("got %v, want %d", res, tc.want)
			}
			if tc.want >= 400 {
				apiErr := res.apiErr(t)
				if tc.field != "" && apiErr.Fields[tc.field] == "" {
					t.Errorf("got fields %v, want one naming %s", apiErr.Fields, tc.field)
				}
				if tc.want == 401 && apiErr.Message != "invalid username or password" {
					t.Errorf("got message %q, want the same message for unknown users and wrong passwords", apiErr.Message)
				}
				return
			}
			var out loginResponse
			res.decode(t, &out)
			if out.User == nil || out.User.Username != tc.username || time.Until(out.ExpiresAt) < 11*time.Hour {
				t.Errorf("got user %+v expires %v, want %s with a 12-hour session", out.User, out.ExpiresAt, tc.username)
			}
		})
	}
	// The failures above were audited with the client's address.
	rec := e.lastAudit(cityhub.AuditFilter{Action: "auth.login", Outcome: cityhub.OutcomeFailure})
	if rec == nil || rec.ClientAddr != "127.0.0.1" || rec.Actor != "nobody" {
		t.Errorf("got newest failed login record %+v, want one for nobody from 127.0.0.1", rec)
	}
}

// TestAccountLockout: five bad passwords lock the account; the sixth
// attempt is refused even with the right password.
func TestAccountLockout(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		res := e.do("POST", "/api/v1/auth/login", "", loginBody("consumer-a", fmt.Sprintf("wrong-password-%d", i)))
		if res.status != http.StatusUnauthorized {
			t.Fatalf("bad password %d: got %v, want 401", i, res)
		}
	}
	res := e.do("POST", "/api/v1/auth/login", "", loginBody("consumer-a", testPassword))
	checkLocked(t, res)

	rec := e.lastAudit(cityhub.AuditFilter{Action: "auth.lockout"})
	if rec == nil || rec.Object != "user:consumer-a" || !strings.Contains(rec.Details, `"key":"user:consumer-a"`) {
		t.Errorf("got lockout record %+v, want one for key user:consumer-a", rec)
	}
	if rec := e.lastAudit(cityhub.AuditFilter{Action: "auth.login"}); rec == nil || rec.Outcome != cityhub.OutcomeDenied ||
		!strings.Contains(rec.Details, "locked") || rec.RequestID != res.header.Get("X-Request-ID") {
		t.Errorf("got newest login record %+v, want a denied, locked attempt of this request", rec)
	}
	// The existing session is not affected, and other accounts still sign in.
	if res := e.do("GET", "/api/v1/me", e.tokens[cityhub.RoleConsumer], nil); res.status != 200 {
		t.Errorf("existing session of the locked account: got %d, want 200", res.status)
	}
	e.login("steward-a", testPassword)

	// The lock lasts 15 minutes.
	undo := e.clock.Set(14 * time.Minute)
	checkLocked(t, e.do("POST", "/api/v1/auth/login", "", loginBody("consumer-a", testPassword)))
	undo()
	undo = e.clock.Set(16 * time.Minute)
	defer undo()
	e.login("consumer-a", testPassword)
}

// TestAddressLockout: failures from one address across many usernames lock
// the address for every account.
func TestAddressLockout(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 20; i++ {
		res := e.do("POST", "/api/v1/auth/login", "", loginBody(fmt.Sprintf("guess-%02d", i), "wrong-password-1"))
		if res.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: got %v, want 401", i, res)
		}
	}
	checkLocked(t, e.do("POST", "/api/v1/auth/login", "", loginBody("steward-a", testPassword)))
	rec := e.lastAudit(cityhub.AuditFilter{Action: "auth.lockout"})
	if rec == nil || !strings.Contains(rec.Details, `"key":"addr:127.0.0.1"`) {
		t.Errorf("got lockout record %+v, want one for key addr:127.0.0.1", rec)
	}
	// No single account reached its own limit.
	for i := 1; i <= 20; i++ {
		until, err := e.store.LockedUntil(systemCtx(), fmt.Sprintf("user:guess-%02d", i))
		if err != nil || !until.IsZero() {
			t.Errorf("user:guess-%02d: got locked until %v (%v), want unlocked", i, until, err)
		}
	}
}

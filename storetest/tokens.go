package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func testTokenCRUD(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	secret, hash := cityhub.NewSecret()
	expires := time.Now().Add(8 * time.Hour)
	tok := &cityhub.Token{
		UserID:    u.ID,
		Kind:      cityhub.TokenSession,
		Scopes:    []string{cityhub.ScopeRead, cityhub.ScopeWrite},
		Hint:      secret[:8],
		CSRF:      "csrf-secret",
		ExpiresAt: expires,
	}
	if err := e.Store.CreateToken(e.ctx, tok, hash); err != nil {
		t.Fatalf("create: %v", err)
	}
	if tok.ID <= 0 || tok.CreatedAt.IsZero() || !tok.ExpiresAt.Equal(expires.Truncate(time.Microsecond)) {
		t.Fatalf("create: got id %d, created %v, expires %v; want an id, a time and %v", tok.ID, tok.CreatedAt, tok.ExpiresAt, expires)
	}
	got, err := e.Store.TokenByHash(e.ctx, cityhub.HashSecret(secret))
	if err != nil {
		t.Fatalf("by hash: %v", err)
	}
	wantSame(t, "token by hash", got, tok)
	if got.CSRF != tok.CSRF {
		t.Fatalf("csrf: got %q, want %q", got.CSRF, tok.CSRF)
	}
	if !got.Active(time.Now()) || got.Active(expires.Add(time.Second)) {
		t.Fatal("active: want active now and inactive after expiry")
	}
	got, err = e.Store.Token(e.ctx, tok.ID)
	if err != nil {
		t.Fatalf("by id: %v", err)
	}
	wantSame(t, "token by id", got, tok)

	_, err = e.Store.TokenByHash(e.ctx, cityhub.HashSecret(secret+"x"))
	wantErr(t, err, cityhub.ENOTFOUND)
	_, err = e.Store.Token(e.ctx, tok.ID+1000)
	wantErr(t, err, cityhub.ENOTFOUND)

	dup := *tok
	dup.ID = 0
	wantErr(t, e.Store.CreateToken(e.ctx, &dup, hash), cityhub.ECONFLICT)
	dup.Kind = cityhub.TokenPersonal
	wantErr(t, e.Store.CreateToken(e.ctx, &dup, hash), cityhub.ECONFLICT)

	n := len(e.records(t))
	used := time.Date(2025, 6, 1, 9, 0, 0, 654321000, time.UTC)
	if err := e.Store.TouchToken(e.ctx, tok.ID, used); err != nil {
		t.Fatalf("touch: %v", err)
	}
	if got := e.token(t, tok.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("last used: got %v, want %v", got.LastUsedAt, used)
	}
	if got := len(e.records(t)); got != n {
		t.Fatalf("audit records after touch: got %d, want %d (touch is not a change)", got, n)
	}

	if err := e.Store.RevokeToken(e.ctx, tok.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	got = e.token(t, tok.ID)
	if got.RevokedAt == nil || got.Active(time.Now()) {
		t.Fatalf("revoked: got revoked at %v, want revoked and inactive", got.RevokedAt)
	}
	got, err = e.Store.TokenByHash(e.ctx, hash)
	if err != nil || got.RevokedAt == nil {
		t.Fatalf("by hash after revoke: got %v, %v; want the revoked token", got, err)
	}
	wantErr(t, e.Store.RevokeToken(e.ctx, tok.ID), cityhub.ENOTFOUND)
	wantErr(t, e.Store.RevokeToken(e.ctx, tok.ID+1000), cityhub.ENOTFOUND)

	personal, psecret := e.createToken(t, u.ID, cityhub.TokenPersonal, cityhub.ScopeRead)
	if got := e.token(t, personal.ID); !slices.Equal(got.Scopes, []string{cityhub.ScopeRead}) || got.Name != personal.Name {
		t.Fatalf("personal token: got scopes %v name %q, want [read] %q", got.Scopes, got.Name, personal.Name)
	}

	// Deleting the user takes their tokens along.
	if err := e.Store.DeleteUser(e.ctx, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	for _, s := range []string{secret, psecret} {
		_, err = e.Store.TokenByHash(e.ctx, cityhub.HashSecret(s))
		wantErr(t, err, cityhub.ENOTFOUND)
	}
	missing := &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenSession, Scopes: []string{"read"}, Hint: "x", ExpiresAt: expires}
	_, h := cityhub.NewSecret()
	wantErr(t, e.Store.CreateToken(e.ctx, missing, h), cityhub.ECONFLICT)
	// department, user create, token.revoke, personal token.create, user delete:
	// session tokens are audited by the login that makes them, not here.
	e.wantIntact(t, 5)
}

func testTokenList(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	other := e.createUser(t, &dept.ID)
	s1, _ := e.createToken(t, u.ID, cityhub.TokenSession)
	p1, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	s2, _ := e.createToken(t, u.ID, cityhub.TokenSession)
	p2, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	e.createToken(t, other.ID, cityhub.TokenPersonal)
	if err := e.Store.RevokeToken(e.ctx, p1.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind string
		want []int64 // newest first
	}{
		{"", []int64{p2.ID, s2.ID, p1.ID, s1.ID}},
		{cityhub.TokenSession, []int64{s2.ID, s1.ID}},
		{cityhub.TokenPersonal, []int64{p2.ID, p1.ID}},
	}
	for _, tt := range tests {
		t.Run("kind "+tt.kind, func(t *testing.T) {
			got, err := e.Store.Tokens(e.ctx, u.ID, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			var g []int64
			for _, tok := range got {
				g = append(g, tok.ID)
				if tok.UserID != u.ID {
					t.Fatalf("token %d: got user %d, want %d", tok.ID, tok.UserID, u.ID)
				}
			}
			if !slices.Equal(g, tt.want) {
				t.Fatalf("ids: got %v, want %v", g, tt.want)
			}
		})
	}
	got, err := e.Store.Tokens(e.ctx, other.ID+1000, "")
	if err != nil || len(got) != 0 {
		t.Fatalf("tokens of nobody: got %d, %v; want none", len(got), err)
	}
}

func testLoginFailures(t *testing.T, open Opener) {
	e := newEnv(t, open)
	t0 := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	const window = 15 * time.Minute
	steps := []struct {
		key  string
		at   time.Duration // after t0
		want int
	}{
		{"user:li.wei", 0, 1},
		{"user:li.wei", time.Minute, 2},
		{"ip:198.51.100.7", time.Minute, 1},
		{"user:li.wei", 2 * time.Minute, 3},
		{"user:li.wei", 17 * time.Minute, 2}, // the first two left the window
		{"user:li.wei", 40 * time.Minute, 1}, // all earlier ones did
		{"ip:198.51.100.7", 41 * time.Minute, 1},
	}
	for i, s := range steps {
		at := t0.Add(s.at)
		got, err := e.Store.RecordLoginFailure(e.ctx, s.key, at, at.Add(-window))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want {
			t.Fatalf("step %d (%s at +%v): got %d failures, want %d", i, s.key, s.at, got, s.want)
		}
	}
	if err := e.Store.ClearLoginFailures(e.ctx, "user:li.wei"); err != nil {
		t.Fatalf("clear: %v", err)
	}
	at := t0.Add(41 * time.Minute)
	if got, err := e.Store.RecordLoginFailure(e.ctx, "user:li.wei", at, at.Add(-window)); err != nil || got != 1 {
		t.Fatalf("after clear: got %d, %v; want 1", got, err)
	}
	if got, err := e.Store.RecordLoginFailure(e.ctx, "ip:198.51.100.7", at, at.Add(-window)); err != nil || got != 2 {
		t.Fatalf("other key after clear: got %d, %v; want 2", got, err)
	}
	if err := e.Store.ClearLoginFailures(e.ctx, "never-failed"); err != nil {
		t.Fatalf("clear unknown key: %v", err)
	}
	if n := len(e.records(t)); n != 0 {
		t.Fatalf("audit records: got %d, want 0 (the caller audits logins)", n)
	}
}

func testLock(t *testing.T, open Opener) {
	e := newEnv(t, open)
	until, err := e.Store.LockedUntil(e.ctx, "user:li.wei")
	if err != nil || !until.IsZero() {
		t.Fatalf("unlocked key: got %v, %v; want the zero time", until, err)
	}
	first := time.Date(2025, 1, 10, 9, 15, 0, 123456000, time.UTC)
	second := first.Add(30 * time.Minute)
	for _, want := range []time.Time{first, second, first} {
		if err := e.Store.Lock(e.ctx, "user:li.wei", want); err != nil {
			t.Fatalf("lock until %v: %v", want, err)
		}
		got, err := e.Store.LockedUntil(e.ctx, "user:li.wei")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Fatalf("locked until: got %v, want %v", got, want)
		}
	}
	if got, err := e.Store.LockedUntil(e.ctx, "user:other"); err != nil || !got.IsZero() {
		t.Fatalf("other key: got %v, %v; want the zero time", got, err)
	}
}

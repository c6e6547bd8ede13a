package cityhub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Token kinds.
const (
	TokenSession  = "session"  // from a login, web or API; short-lived
	TokenPersonal = "personal" // made by a user for scripts; named, scoped
)

// Token scopes.
const (
	ScopeRead  = "read"  // safe methods only
	ScopeWrite = "write" // everything the user may do
)

// TokenPrefix starts every secret so leaked tokens are easy to scan for.
const TokenPrefix = "chp_"

// Token is a bearer credential. Only its SHA-256 is stored.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Hint       string     `json:"hint"` // the first characters, to recognise a token
	CSRF       string     `json:"-"`    // per-session anti-forgery secret (web sessions)
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewSecret returns a random token secret (shown once) and its stored hash.
func NewSecret() (secret, hash string) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashSecret(secret)
}

// HashSecret is how token secrets are stored and looked up.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Active reports whether the token can authenticate at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Allows reports whether the token's scopes permit an HTTP method.
func (t *Token) Allows(method string) bool {
	if slices.Contains(t.Scopes, ScopeWrite) {
		return true
	}
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return slices.Contains(t.Scopes, ScopeRead)
	}
	return false
}

// MaxPersonalTokenLifetime bounds personal tokens: none lives forever.
const MaxPersonalTokenLifetime = 366 * 24 * time.Hour

// Validate checks a personal token request.
func (t *Token) Validate(now time.Time) error {
	t.Name = strings.TrimSpace(t.Name)
	f := FieldErrors{}
	if t.Kind == TokenPersonal {
		if n := utf8.RuneCountInString(t.Name); n == 0 || n > 100 {
			f.Add("name", "required, at most 100 characters")
		}
	}
	if len(t.Scopes) == 0 {
		f.Add("scopes", "at least one of read, write")
	}
	for _, s := range t.Scopes {
		if s != ScopeRead && s != ScopeWrite {
			f.Add("scopes", "unknown scope "+s+" (read, write)")
		}
	}
	switch {
	case t.ExpiresAt.IsZero():
		f.Add("expires_at", "required")
	case !t.ExpiresAt.After(now):
		f.Add("expires_at", "must be in the future")
	case t.Kind == TokenPersonal && t.ExpiresAt.Sub(now) > MaxPersonalTokenLifetime:
		f.Add("expires_at", "at most 366 days ahead")
	}
	return f.Err("invalid token")
}

// TokenService stores tokens by hash.
type TokenService interface {
	CreateToken(ctx context.Context, t *Token, hash string) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	Token(ctx context.Context, id int64) (*Token, error)
	Tokens(ctx context.Context, userID int64, kind string) ([]*Token, error)
	RevokeToken(ctx context.Context, id int64) error
	// TouchToken records use without an audit record (reads are not changes).
	TouchToken(ctx context.Context, id int64, at time.Time) error
}

// LoginGuard keeps failed-login counts and lockouts, shared by every node.
type LoginGuard interface {
	// RecordLoginFailure stores a failure for key and returns how many
	// failures key has had since since.
	RecordLoginFailure(ctx context.Context, key string, at, since time.Time) (int, error)
	ClearLoginFailures(ctx context.Context, key string) error
	// Lock locks key until until; LockedUntil returns the zero time if unlocked.
	Lock(ctx context.Context, key string, until time.Time) error
	LockedUntil(ctx context.Context, key string) (time.Time, error)
}

// Package auth signs users in: argon2id password hashes, session and
// personal tokens, and lockout after repeated failures.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"golang.org/x/crypto/argon2"
)

// SessionCookie holds a web session's token secret.
const SessionCookie = "cityhub_session"

// Params are argon2id's cost parameters, kept in every hash so they can be
// raised later without breaking stored hashes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow OWASP's argon2id minimum (19 MiB, 2 passes).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// HashPassword returns a PHC-format argon2id hash.
func HashPassword(pw string, p Params) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// CheckPassword reports whether pw matches hash, in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Threads == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Policy sets session lifetime and lockout thresholds.
type Policy struct {
	SessionTTL         time.Duration
	MaxAccountFailures int           // failures per account within Window before it locks
	MaxAddressFailures int           // failures per client address within Window before it locks
	Window             time.Duration // how far back failures count
	Lockout            time.Duration // how long a lock lasts
}

// DefaultPolicy: 5 failures per account or 20 per address in 15 minutes
// lock for 15 minutes; sessions last 12 hours.
var DefaultPolicy = Policy{SessionTTL: 12 * time.Hour, MaxAccountFailures: 5, MaxAddressFailures: 20,
	Window: 15 * time.Minute, Lockout: 15 * time.Minute}

// Service signs users in and resolves bearer secrets to users.
type Service struct {
	Store  cityhub.Store
	Policy Policy
	Params Params
	Now    func() time.Time
}

// dummyHash is compared against for unknown users, so timing does not tell
// which usernames exist.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a real password", DefaultParams) })

// New returns a Service with the default policy and hash parameters.
func New(store cityhub.Store) *Service {
	return &Service{Store: store, Policy: DefaultPolicy, Params: DefaultParams, Now: time.Now}
}

// Hash hashes pw with the service's parameters.
func (s *Service) Hash(pw string) string { return HashPassword(pw, s.Params) }

var errBadLogin = cityhub.Errorf(cityhub.EUNAUTHORIZED, "invalid username or password")

// Login checks a password and opens a session. ctx carries the client
// address (cityhub.WithActor). Every attempt is audited.
func (s *Service) Login(ctx context.Context, username, password string) (*cityhub.User, *cityhub.Token, string, error) {
	now := s.Now()
	username = strings.ToLower(strings.TrimSpace(username))
	actor := cityhub.ActorFrom(ctx)
	actor.Username = username
	ctx = cityhub.WithActor(ctx, actor)
	keys := []string{"user:" + username, "addr:" + actor.ClientAddr}

	for _, key := range keys {
		until, err := s.Store.LockedUntil(ctx, key)
		if err != nil {
			return nil, nil, "", err
		}
		if until.After(now) {
			s.audit(ctx, "auth.login", cityhub.OutcomeDenied, map[string]any{"reason": "locked", "key": key, "until": until})
			e := cityhub.Errorf(cityhub.ELOCKED, "too many failed logins; try again after %s", until.Format(time.RFC3339))
			e.Fields = map[string]string{"retry_after": fmt.Sprint(int(until.Sub(now).Seconds()) + 1)}
			return nil, nil, "", e
		}
	}

	u, hash, err := s.Store.UserByUsername(ctx, username)
	if err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		return nil, nil, "", err
	}
	if u == nil {
		hash = dummyHash()
	}
	if u == nil || !CheckPassword(hash, password) {
		return nil, nil, "", s.fail(ctx, now, keys, "bad credentials")
	}
	if u.Disabled {
		s.audit(ctx, "auth.login", cityhub.OutcomeDenied, map[string]any{"reason": "disabled"})
		return nil, nil, "", errBadLogin
	}
	if err := s.Store.ClearLoginFailures(ctx, keys[0]); err != nil {
		return nil, nil, "", err
	}
	if err := s.Store.RecordLogin(ctx, u.ID, now); err != nil {
		return nil, nil, "", err
	}
	ctx = cityhub.WithActor(ctx, cityhub.Actor{UserID: u.ID, Username: u.Username, ClientAddr: actor.ClientAddr, RequestID: actor.RequestID})
	secret, hash := cityhub.NewSecret()
	t := &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenSession, Scopes: []string{cityhub.ScopeWrite},
		Hint: secret[:8], CSRF: randomString(), ExpiresAt: now.Add(s.Policy.SessionTTL)}
	if err := s.Store.CreateToken(ctx, t, hash); err != nil {
		return nil, nil, "", err
	}
	s.audit(ctx, "auth.login", cityhub.OutcomeSuccess, map[string]any{"token_id": t.ID})
	return u, t, secret, nil
}

// fail records a failed login against every key and locks the keys that
// crossed their threshold.
func (s *Service) fail(ctx context.Context, now time.Time, keys []string, reason string) error {
	s.audit(ctx, "auth.login", cityhub.OutcomeFailure, map[string]any{"reason": reason})
	limits := []int{s.Policy.MaxAccountFailures, s.Policy.MaxAddressFailures}
	for i, key := range keys {
		n, err := s.Store.RecordLoginFailure(ctx, key, now, now.Add(-s.Policy.Window))
		if err != nil {
			return err
		}
		if limits[i] > 0 && n >= limits[i] {
			until := now.Add(s.Policy.Lockout)
			if err := s.Store.Lock(ctx, key, until); err != nil {
				return err
			}
			if err := s.Store.ClearLoginFailures(ctx, key); err != nil {
				return err
			}
			s.audit(ctx, "auth.lockout", cityhub.OutcomeSuccess, map[string]any{"key": key, "failures": n, "until": until})
		}
	}
	return errBadLogin
}

func (s *Service) audit(ctx context.Context, action, outcome string, details map[string]any) {
	a := cityhub.ActorFrom(ctx)
	rec := cityhub.NewAuditRecord(ctx, action, "user:"+a.Username, outcome, jsonString(details))
	// An audit failure must not turn a login into a 500; the store's error is
	// already visible in its own metrics and logs.
	_ = s.Store.AppendAudit(ctx, rec)
}

// Authenticate resolves a bearer secret to its user and token.
func (s *Service) Authenticate(ctx context.Context, secret string) (*cityhub.User, *cityhub.Token, error) {
	unauthorized := cityhub.Errorf(cityhub.EUNAUTHORIZED, "invalid, expired or revoked token")
	if !strings.HasPrefix(secret, cityhub.TokenPrefix) || len(secret) > 100 {
		return nil, nil, unauthorized
	}
	t, err := s.Store.TokenByHash(ctx, cityhub.HashSecret(secret))
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, nil, unauthorized
	} else if err != nil {
		return nil, nil, err
	}
	now := s.Now()
	if !t.Active(now) {
		return nil, nil, unauthorized
	}
	u, err := s.Store.User(ctx, t.UserID)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, nil, unauthorized
	} else if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, unauthorized
	}
	// Touch at most once a minute: a busy script must not write on every call.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			return nil, nil, err
		}
	}
	return u, t, nil
}

// Logout revokes the session token.
func (s *Service) Logout(ctx context.Context, t *cityhub.Token) error {
	return s.Store.RevokeToken(ctx, t.ID)
}

func randomString() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

package cityhub

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
	"unicode/utf8"
)

// Open access: the API keys of public accounts (citizens and developers
// registered on the open-data portal) and the daily use of open datasets.

// APIKeyPrefix starts every API key, so that leaked keys are easy to scan
// for and never taken for a staff token (TokenPrefix).
const APIKeyPrefix = "cho_"

// MaxActiveAPIKeys bounds the keys one account holds at a time.
const MaxActiveAPIKeys = 10

// APIKey is a public account's credential for the open-data APIs: sent as
// X-API-Key or Authorization, it identifies the caller (its rate limit, its
// approved applications). It lives until revoked. Only its SHA-256 is stored.
type APIKey struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the key's first characters, to recognise it
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Calls      int64      `json:"calls"` // requests made with the key
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewAPIKeySecret returns a random API key (shown once) and its stored hash.
func NewAPIKeySecret() (secret, hash string) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret = APIKeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashSecret(secret)
}

// IsAPIKey tells whether a credential looks like an API key (rather than
// a staff token).
func IsAPIKey(secret string) bool { return strings.HasPrefix(secret, APIKeyPrefix) }

// APIKeyPrefixLen is how much of a key its Prefix keeps.
const APIKeyPrefixLen = 10

// Validate checks a new key's name.
func (k *APIKey) Validate() error {
	k.Name = strings.TrimSpace(k.Name)
	f := FieldErrors{}
	if n := utf8.RuneCountInString(k.Name); n == 0 || n > 100 {
		f.Add("name", "required, at most 100 characters")
	}
	return f.Err("invalid API key")
}

// Active reports whether the key still authenticates.
func (k *APIKey) Active() bool { return k != nil && k.RevokedAt == nil }

// APIKeyUse is the use of one key since the last report: calls to add and
// the time of the latest.
type APIKeyUse struct {
	KeyID  int64
	Calls  int64
	LastAt time.Time
}

// APIKeyService stores API keys by hash.
type APIKeyService interface {
	// CreateAPIKey stores a key under the hash of its secret (audited). An
	// account holds at most MaxActiveAPIKeys active keys (ECONFLICT).
	CreateAPIKey(ctx context.Context, k *APIKey, hash string) error
	// APIKeys lists a user's keys, revoked ones too, newest first.
	APIKeys(ctx context.Context, userID int64) ([]*APIKey, error)
	APIKey(ctx context.Context, id int64) (*APIKey, error)
	// APIKeyByHash finds a key by its hash; the key of a disabled account
	// is not found.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// RevokeAPIKey ends a key (audited); ENOTFOUND if missing or revoked.
	RevokeAPIKey(ctx context.Context, id int64) error
	// TouchAPIKeys adds calls and moves last use forward, in one batch and
	// without audit records (use is not change).
	TouchAPIKeys(ctx context.Context, uses []APIKeyUse) error
}

// UsageService keeps the daily use of open datasets.
type UsageService interface {
	// AddUsage adds the counts of each day to what is stored, all or
	// nothing; days of datasets that no longer exist are dropped. It is not
	// audited (use is not change).
	AddUsage(ctx context.Context, days []UsageDay) error
	// The reader takes days in the location of the times it is given, so
	// callers pass times in the platform's time zone. DailyUsage returns
	// every day from from to to, both included and in order, days without
	// use as zeros (at most MaxUsageDays); MostUsed leaves out datasets
	// unused since since.
	UsageReader
}

// UseDay is the day (CCYY-MM-DD) a time falls on in loc, as UsageDay.Day
// holds it.
func UseDay(t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	return t.Format(time.DateOnly)
}

// MaxUsageDays bounds a DailyUsage range.
const MaxUsageDays = 3660

// Total is every kind of use together.
func (c UsageCount) Total() int64 { return c.Views + c.Downloads + c.APICalls }

// Add counts one use of kind; unknown kinds count nothing and return false.
func (c *UsageCount) Add(kind string, n int64) bool {
	switch kind {
	case UseView:
		c.Views += n
	case UseDownload:
		c.Downloads += n
	case UseAPI:
		c.APICalls += n
	default:
		return false
	}
	return true
}

// UsageDays lists the days from from to to, both included, in from's
// location (to is taken in it too), as zero counts; none when to is
// before from.
func UsageDays(from, to time.Time) ([]UsageDay, error) {
	loc := from.Location()
	first, err := time.ParseInLocation(time.DateOnly, UseDay(from, nil), loc)
	if err != nil {
		return nil, err
	}
	last := UseDay(to, loc)
	var out []UsageDay
	for d := first; ; d = d.AddDate(0, 0, 1) {
		day := UseDay(d, nil)
		if day > last {
			return out, nil
		}
		if len(out) == MaxUsageDays {
			return nil, Errorf(EINVALID, "at most %d days of usage at once", MaxUsageDays)
		}
		out = append(out, UsageDay{Day: day})
	}
}

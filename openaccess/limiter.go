// Package openaccess is the traffic control of the open-data door (the
// CKAN-compatible API, the DCAT feeds, downloads, the public statistics):
// it tells who is calling (an API key, a signed-in account or just an
// address), holds every caller to a rate, and counts how much each open
// dataset is used.
//
// Nothing here waits on storage on a request's path: API key lookups are
// cached, and key use and dataset use are counted in memory and written
// in batches.
package openaccess

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
)

// Default rates: anonymous callers per address, callers with an API key
// (or a session) per key or account.
var (
	DefaultAnonymous = Rate{Limit: 60, Per: time.Minute}
	DefaultKeyed     = Rate{Limit: 600, Per: time.Minute}
)

// KeyStore is what the limiter needs of the store.
type KeyStore interface {
	APIKeyByHash(ctx context.Context, hash string) (*cityhub.APIKey, error)
	TouchAPIKeys(ctx context.Context, uses []cityhub.APIKeyUse) error
}

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	Anonymous     Rate          // per client address (IPv6: per /64); DefaultAnonymous
	Keyed         Rate          // per API key, or per signed-in account; DefaultKeyed
	MaxBuckets    int           // rate buckets kept at most; 100,000
	MaxCachedKeys int           // API key lookups kept at most; 10,000
	KeyTTL        time.Duration // how long a lookup is trusted (a revocation on another node takes effect within it); a minute
	FlushEvery    time.Duration // how often key use (calls, last use) is written; 30 s
	Now           func() time.Time
	Logger        *slog.Logger
}

// Limiter identifies callers of the open-data API and limits their rate.
// A caller is the API key sent as X-API-Key, X-CKAN-API-Key or
// Authorization (raw, as CKAN clients send it, or after "Bearer"); else
// the account signed in by session or staff token; else the client
// address, at the lower anonymous rate. Every answer carries
// X-RateLimit-Limit (requests per window), X-RateLimit-Remaining (requests
// that may follow at once) and X-RateLimit-Reset (seconds until the full
// allowance is back); a refused request gets 429 with Retry-After (seconds),
// an unknown or revoked key 403.
type Limiter struct {
	keys    KeyStore
	opts    Options
	buckets *Buckets
	log     *slog.Logger

	cacheMu  sync.Mutex
	cache    map[string]*list.Element // by key hash
	lru      *list.List               // of *cachedKey, most recently used first
	inflight map[string]*flight       // lookups under way, by key hash

	useMu sync.Mutex
	uses  map[int64]*cityhub.APIKeyUse

	flushMu   sync.Mutex
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type cachedKey struct {
	hash    string
	keyID   int64 // 0: no such key (or revoked)
	userID  int64
	expires time.Time
}

// NewLimiter returns a limiter over keys and starts writing key use every
// FlushEvery; Close stops it.
func NewLimiter(keys KeyStore, opts Options) *Limiter {
	if opts.Anonymous.Limit <= 0 {
		opts.Anonymous = DefaultAnonymous
	}
	if opts.Keyed.Limit <= 0 {
		opts.Keyed = DefaultKeyed
	}
	opts.Anonymous, opts.Keyed = opts.Anonymous.norm(), opts.Keyed.norm()
	if opts.MaxCachedKeys <= 0 {
		opts.MaxCachedKeys = 10_000
	}
	if opts.KeyTTL <= 0 {
		opts.KeyTTL = time.Minute
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{keys: keys, opts: opts, buckets: NewBuckets(opts.MaxBuckets, opts.Now),
		log: opts.Logger.With("component", "openaccess"), cache: map[string]*list.Element{}, lru: list.New(),
		inflight: map[string]*flight{},
		uses:     map[int64]*cityhub.APIKeyUse{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *Limiter) run() {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.Flush(context.Background()); err != nil {
				l.log.Error("write API key use", "err", err)
			}
		}
	}
}

// Close stops the periodic writes and writes what is left. Call it after
// the HTTP server has stopped, before the store closes.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l.closeErr = l.Flush(ctx)
	})
	return l.closeErr
}

// Caller is who made an open-data request.
type Caller struct {
	UserID int64  // the API key's owner or the signed-in account; 0 when anonymous
	KeyID  int64  // the API key used; 0 without one
	Addr   string // the client's address
}

type callerKey struct{}

// CallerFrom returns the caller Wrap identified.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// UserID is the calling account: the owner of the API key (behind Wrap) or
// the signed-in user; 0 for anonymous callers.
func UserID(ctx context.Context) int64 {
	if c, ok := CallerFrom(ctx); ok {
		return c.UserID
	}
	if u, _ := cityhub.UserFrom(ctx); u != nil {
		return u.ID
	}
	return 0
}

// Wrap puts next behind the limiter; next finds the caller with
// CallerFrom or UserID.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c := Caller{Addr: clientAddr(r)}
		bucket, rate := "addr:"+addrKey(c.Addr), l.opts.Anonymous
		if secret := presentedKey(r); secret != "" {
			// Wrong keys cost their address, at the anonymous rate, in a
			// bucket of their own: keys cannot be guessed fast, and an
			// address out of wrong tries is refused before the store is asked.
			wrong := "wrong:" + addrKey(c.Addr)
			keyID, userID, err := l.lookup(ctx, secret, func() bool { return l.buckets.Peek(wrong, rate).Allowed })
			switch {
			case err == errTooManyWrongKeys:
				d := l.buckets.Peek(wrong, rate)
				setHeaders(w.Header(), d)
				l.tooMany(w, r, d, false)
				return
			case err != nil:
				if ctx.Err() == nil {
					l.log.ErrorContext(ctx, "look up API key", "err", err)
				}
				setHeaders(w.Header(), l.buckets.Peek(bucket, rate))
				writeProblem(w, r, http.StatusServiceUnavailable, cityhub.EUNAVAILABLE, "Internal Server Error",
					"the service is unavailable; try again shortly", nil)
				return
			case keyID == 0:
				d := l.buckets.Take(wrong, rate)
				setHeaders(w.Header(), d)
				if !d.Allowed {
					l.tooMany(w, r, d, false)
					return
				}
				writeProblem(w, r, http.StatusForbidden, cityhub.EFORBIDDEN, "Authorization Error",
					"Access denied: unknown or revoked API key", nil)
				return
			}
			c.KeyID, c.UserID = keyID, userID
			bucket, rate = "key:"+strconv.FormatInt(keyID, 10), l.opts.Keyed
		} else if u, _ := cityhub.UserFrom(ctx); u != nil {
			c.UserID = u.ID
			bucket, rate = "user:"+strconv.FormatInt(u.ID, 10), l.opts.Keyed
		}
		d := l.buckets.Take(bucket, rate)
		setHeaders(w.Header(), d)
		if !d.Allowed {
			l.tooMany(w, r, d, c.UserID != 0)
			return
		}
		if c.KeyID != 0 {
			l.count(c.KeyID)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callerKey{}, c)))
	})
}

func setHeaders(h http.Header, d Decision) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(int(d.Reset/time.Second)))
}

func (l *Limiter) tooMany(w http.ResponseWriter, r *http.Request, d Decision, keyed bool) {
	secs := int(d.RetryAfter / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	who := "without an API key"
	if keyed {
		who = "per API key or account"
	}
	msg := "Too many requests: at most " + strconv.Itoa(d.Limit) + " " + per(d.Window) + " " + who + "; retry after " +
		strconv.Itoa(secs) + " s"
	writeProblem(w, r, http.StatusTooManyRequests, cityhub.ELOCKED, "Rate Limit Error", msg,
		map[string]string{"retry_after": strconv.Itoa(secs)})
}

func per(d time.Duration) string {
	switch d {
	case time.Second:
		return "a second"
	case time.Minute:
		return "a minute"
	case time.Hour:
		return "an hour"
	}
	return "per " + d.String()
}

// presentedKey is the API key the request carries, or "". A staff token
// (cityhub.TokenPrefix) is not an API key: the session layer checks it.
func presentedKey(r *http.Request) string {
	for _, name := range []string{"X-API-Key", "X-CKAN-API-Key"} {
		if k := strings.TrimSpace(r.Header.Get(name)); k != "" {
			return k
		}
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(h, " "); ok {
		if !strings.EqualFold(scheme, "Bearer") {
			return "" // Basic and others: not an API key
		}
		h = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(h, cityhub.TokenPrefix) {
		return ""
	}
	return h
}

// IsAPIKeyAuthorization tells whether an Authorization header carries an
// API key, raw or as a bearer: the session layer leaves those to Wrap.
func IsAPIKeyAuthorization(h string) bool {
	h = strings.TrimSpace(h)
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		h = strings.TrimSpace(rest)
	}
	return cityhub.IsAPIKey(h)
}

var errTooManyWrongKeys = errors.New("too many wrong API keys from this address")

// lookup resolves a key secret to its key and owner through the cache;
// keyID 0 means no active key. A key not in the cache is looked up only
// if mayAsk, and once however many requests want it at the same time.
func (l *Limiter) lookup(ctx context.Context, secret string, mayAsk func() bool) (keyID, userID int64, err error) {
	if !cityhub.IsAPIKey(secret) || len(secret) > 100 {
		return 0, 0, nil // cannot be a key: no need to ask
	}
	hash := cityhub.HashSecret(secret)
	now := l.opts.Now()
	l.cacheMu.Lock()
	if el, ok := l.cache[hash]; ok {
		ck := el.Value.(*cachedKey)
		if now.Before(ck.expires) {
			l.lru.MoveToFront(el)
			l.cacheMu.Unlock()
			return ck.keyID, ck.userID, nil
		}
		l.uncache(el)
	}
	if f, ok := l.inflight[hash]; ok {
		l.cacheMu.Unlock()
		select {
		case <-f.done:
			return f.keyID, f.userID, f.err
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	if !mayAsk() {
		l.cacheMu.Unlock()
		return 0, 0, errTooManyWrongKeys
	}
	f := &flight{done: make(chan struct{})}
	l.inflight[hash] = f
	l.cacheMu.Unlock()

	// The lookup serves every request waiting for it: not this one's
	// cancellation.
	k, err := l.keys.APIKeyByHash(context.WithoutCancel(ctx), hash)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		k, err = nil, nil
	}
	if k.Active() {
		f.keyID, f.userID = k.ID, k.UserID
	}
	f.err = err
	l.cacheMu.Lock()
	delete(l.inflight, hash)
	if err == nil {
		if el, ok := l.cache[hash]; ok {
			l.uncache(el)
		}
		for len(l.cache) >= l.opts.MaxCachedKeys {
			l.uncache(l.lru.Back())
		}
		l.cache[hash] = l.lru.PushFront(&cachedKey{hash: hash, keyID: f.keyID, userID: f.userID, expires: now.Add(l.opts.KeyTTL)})
	}
	l.cacheMu.Unlock()
	close(f.done)
	return f.keyID, f.userID, f.err
}

// flight is one store lookup that several requests wait for.
type flight struct {
	done          chan struct{}
	keyID, userID int64
	err           error
}

func (l *Limiter) uncache(el *list.Element) {
	delete(l.cache, el.Value.(*cachedKey).hash)
	l.lru.Remove(el)
}

// ForgetAPIKey drops a key from the cache at once (after a revocation on
// this node); other nodes stop accepting it within KeyTTL.
func (l *Limiter) ForgetAPIKey(id int64) {
	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	for el := l.lru.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cachedKey).keyID == id {
			l.uncache(el)
		}
		el = next
	}
}

// count notes one call with a key, written at the next flush.
func (l *Limiter) count(keyID int64) {
	now := l.opts.Now()
	l.useMu.Lock()
	u := l.uses[keyID]
	if u == nil {
		u = &cityhub.APIKeyUse{KeyID: keyID}
		l.uses[keyID] = u
	}
	u.Calls++
	if now.After(u.LastAt) {
		u.LastAt = now
	}
	l.useMu.Unlock()
}

// Flush writes the key use counted since the last flush. On failure the
// counts stay for the next one.
func (l *Limiter) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.useMu.Lock()
	batch := l.uses
	l.uses = map[int64]*cityhub.APIKeyUse{}
	l.useMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	uses := make([]cityhub.APIKeyUse, 0, len(batch))
	for _, u := range batch {
		uses = append(uses, *u)
	}
	err := l.keys.TouchAPIKeys(ctx, uses)
	if err != nil {
		l.useMu.Lock()
		for id, u := range batch {
			if cur := l.uses[id]; cur != nil {
				cur.Calls += u.Calls
				if u.LastAt.After(cur.LastAt) {
					cur.LastAt = u.LastAt
				}
			} else {
				l.uses[id] = u
			}
		}
		l.useMu.Unlock()
	}
	return err
}

// clientAddr is the caller's address: the actor's (httpapi puts it there,
// minding a trusted proxy), else the connection's.
func clientAddr(r *http.Request) string {
	if a := cityhub.ActorFrom(r.Context()).ClientAddr; a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// addrKey is the bucket of an address: IPv4 addresses alone, IPv6 ones by
// their /64, which one subscriber usually holds whole.
func addrKey(a string) string {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return a
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return a
	}
	return p.String()
}

package openaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeKeys is the store boundary of the limiter: keys by hash, the
// lookups made and the use written.
type fakeKeys struct {
	mu      sync.Mutex
	keys    map[string]*cityhub.APIKey
	lookups int
	fail    error         // returned by every call while set
	gate    chan struct{} // when set, lookups wait for it to close
	touched map[int64]cityhub.APIKeyUse
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{keys: map[string]*cityhub.APIKey{}, touched: map[int64]cityhub.APIKeyUse{}}
}

// add makes a key of user and returns its secret.
func (f *fakeKeys) add(id, user int64) string {
	secret, hash := cityhub.NewAPIKeySecret()
	f.mu.Lock()
	f.keys[hash] = &cityhub.APIKey{ID: id, UserID: user, Name: "app"}
	f.mu.Unlock()
	return secret
}

func (f *fakeKeys) revoke(secret string) {
	f.mu.Lock()
	now := time.Now()
	f.keys[cityhub.HashSecret(secret)].RevokedAt = &now
	f.mu.Unlock()
}

func (f *fakeKeys) APIKeyByHash(ctx context.Context, hash string) (*cityhub.APIKey, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.fail != nil {
		return nil, f.fail
	}
	k, ok := f.keys[hash]
	if !ok {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "API key not found")
	}
	c := *k
	return &c, nil
}

func (f *fakeKeys) TouchAPIKeys(ctx context.Context, uses []cityhub.APIKeyUse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	for _, u := range uses {
		t := f.touched[u.KeyID]
		t.KeyID, t.Calls = u.KeyID, t.Calls+u.Calls
		if u.LastAt.After(t.LastAt) {
			t.LastAt = u.LastAt
		}
		f.touched[u.KeyID] = t
	}
	return nil
}

func (f *fakeKeys) lookupCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

// limiterEnv is a limiter with a fake clock and store in front of a
// handler that reports the caller it was given.
type limiterEnv struct {
	t     *testing.T
	clock *fakeClock
	keys  *fakeKeys
	l     *Limiter
	h     http.Handler
}

func newLimiterEnv(t *testing.T, opts Options) *limiterEnv {
	t.Helper()
	e := &limiterEnv{t: t, clock: newClock(), keys: newFakeKeys()}
	opts.Now = e.clock.Now
	if opts.FlushEvery == 0 {
		opts.FlushEvery = time.Hour // tests flush by hand
	}
	e.l = NewLimiter(e.keys, opts)
	t.Cleanup(func() { e.l.Close() })
	e.h = e.l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := CallerFrom(r.Context())
		if !ok {
			t.Errorf("handler: got no caller in the context")
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user": c.UserID, "key": c.KeyID, "addr": c.Addr, "user_id": UserID(r.Context())})
	}))
	return e
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) int(t *testing.T, name string) int {
	t.Helper()
	v := a.header.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("header %s: got %q, want a number", name, v)
	}
	return n
}

// do sends a GET to path from addr with header name/value pairs.
func (e *limiterEnv) do(path, addr string, hdr ...string) answer {
	e.t.Helper()
	r := httptest.NewRequest("GET", "http://portal.example"+path, nil)
	r.RemoteAddr = addr + ":40000" // "[…]" around IPv6 addresses
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return e.serve(r)
}

func (e *limiterEnv) serve(r *http.Request) answer {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header()}
	if err := json.Unmarshal(w.Body.Bytes(), &a.body); err != nil {
		e.t.Fatalf("%s: body %q is not a JSON object: %v", r.URL.Path, w.Body.String(), err)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if a.header.Get(h) == "" {
			e.t.Fatalf("%s → %d: got no %s header, want one on every answer", r.URL.Path, w.Code, h)
		}
	}
	return a
}

func TestLimiterHeadersAndRefill(t *testing.T) {
	e := newLimiterEnv(t, Options{})
	a := e.do("/api/3/action/package_list", "192.0.2.1")
	if a.status != 200 || a.int(t, "X-RateLimit-Limit") != 60 || a.int(t, "X-RateLimit-Remaining") != 59 || a.int(t, "X-RateLimit-Reset") != 1 {
		t.Fatalf("first anonymous call: got %d limit %s remaining %s reset %s, want 200, 60, 59, 1", a.status,
			a.header.Get("X-RateLimit-Limit"), a.header.Get("X-RateLimit-Remaining"), a.header.Get("X-RateLimit-Reset"))
	}
	if a.body["addr"] != "192.0.2.1" || a.body["user"] != 0.0 || a.body["key"] != 0.0 {
		t.Fatalf("caller: got %v, want anonymous from 192.0.2.1", a.body)
	}
	for i := 2; i <= 60; i++ {
		if a = e.do("/api/3/action/package_list", "192.0.2.1"); a.status != 200 {
			t.Fatalf("call %d: got %d, want 200 (within the burst of 60)", i, a.status)
		}
	}
	if got := a.int(t, "X-RateLimit-Remaining"); got != 0 {
		t.Fatalf("after 60 calls: remaining %d, want 0", got)
	}
	if got := a.int(t, "X-RateLimit-Reset"); got != 60 {
		t.Fatalf("after 60 calls: reset %d, want 60 (a minute to fill up again)", got)
	}

	a = e.do("/api/v1/open/stats", "192.0.2.1")
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" || a.int(t, "X-RateLimit-Remaining") != 0 {
		t.Fatalf("61st call: got %d Retry-After %q remaining %s, want 429, 1, 0", a.status, a.header.Get("Retry-After"), a.header.Get("X-RateLimit-Remaining"))
	}
	perr, _ := a.body["error"].(map[string]any)
	if perr["code"] != cityhub.ELOCKED || perr["message"] == "" || perr["fields"].(map[string]any)["retry_after"] != "1" {
		t.Fatalf("429 body outside CKAN: got %v, want the platform's error shape", a.body)
	}

	// Another address has its own allowance.
	if a := e.do("/api/3/action/package_list", "192.0.2.2"); a.status != 200 || a.int(t, "X-RateLimit-Remaining") != 59 {
		t.Fatalf("another address: got %d remaining %s, want 200, 59", a.status, a.header.Get("X-RateLimit-Remaining"))
	}

	// A token comes back every second.
	e.clock.Advance(999 * time.Millisecond)
	if a := e.do("/api/3/action/package_list", "192.0.2.1"); a.status != 429 {
		t.Fatalf("after 0.999 s: got %d, want 429", a.status)
	}
	e.clock.Advance(2 * time.Millisecond)
	if a := e.do("/api/3/action/package_list", "192.0.2.1"); a.status != 200 || a.int(t, "X-RateLimit-Remaining") != 0 {
		t.Fatalf("after 1.001 s: got %d remaining %s, want 200, 0", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
	e.clock.Advance(30 * time.Second)
	if a := e.do("/api/3/action/package_list", "192.0.2.1"); a.status != 200 || a.int(t, "X-RateLimit-Remaining") != 29 {
		t.Fatalf("after 30 s more: got %d remaining %s, want 200, 29", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
	e.clock.Advance(time.Hour)
	if a := e.do("/api/3/action/package_list", "192.0.2.1"); a.int(t, "X-RateLimit-Remaining") != 59 {
		t.Fatalf("after an hour: remaining %s, want 59 (never more than the burst)", a.header.Get("X-RateLimit-Remaining"))
	}
}

func TestLimiterCKANEnvelope(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 1, Per: time.Minute}})
	e.do("/api/3/action/package_search", "192.0.2.1")
	a := e.do("/api/3/action/package_search", "192.0.2.1")
	if a.status != 429 || a.header.Get("Retry-After") != "60" {
		t.Fatalf("got %d Retry-After %q, want 429, 60", a.status, a.header.Get("Retry-After"))
	}
	cerr, _ := a.body["error"].(map[string]any)
	if a.body["success"] != false || cerr["__type"] != "Rate Limit Error" || cerr["message"] == "" ||
		a.body["help"] != "http://portal.example/api/3/action/help_show?name=package_search" {
		t.Fatalf("429 body of a CKAN call: got %v, want CKAN's envelope", a.body)
	}
	if _, ok := a.body["result"]; ok {
		t.Fatalf("got a result in a failed CKAN answer: %v", a.body)
	}

	secret := "cho_" + "nosuchkeynosuchkeynosuchkeynosuc"
	a = e.do("/api/3/action/package_show", "192.0.2.9", "Authorization", secret)
	cerr, _ = a.body["error"].(map[string]any)
	if a.status != 403 || a.body["success"] != false || cerr["__type"] != "Authorization Error" {
		t.Fatalf("unknown key on a CKAN call: got %d %v, want 403 with an Authorization Error", a.status, a.body)
	}
	a = e.do("/dataset/1.jsonld", "192.0.2.10", "X-API-Key", secret)
	perr, _ := a.body["error"].(map[string]any)
	if a.status != 403 || perr["code"] != cityhub.EFORBIDDEN {
		t.Fatalf("unknown key elsewhere: got %d %v, want 403 forbidden in the platform's shape", a.status, a.body)
	}
}

func TestLimiterKeys(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 5}, Keyed: Rate{Limit: 100}})
	secret := e.keys.add(7, 42)
	for _, hdr := range [][]string{
		{"X-API-Key", secret}, {"X-CKAN-API-Key", secret}, {"Authorization", secret},
		{"Authorization", "Bearer " + secret}, {"Authorization", "bearer  " + secret},
	} {
		a := e.do("/api/3/action/package_list", "192.0.2.1", hdr...)
		if a.status != 200 || a.body["user"] != 42.0 || a.body["key"] != 7.0 || a.body["user_id"] != 42.0 {
			t.Fatalf("key in %s %q: got %d caller %v, want user 42 with key 7", hdr[0], hdr[1], a.status, a.body)
		}
		if a.int(t, "X-RateLimit-Limit") != 100 {
			t.Fatalf("key in %s: limit %s, want the keyed 100", hdr[0], a.header.Get("X-RateLimit-Limit"))
		}
	}
	if n := e.keys.lookupCount(); n != 1 {
		t.Fatalf("store lookups: got %d, want 1 (the rest from the cache)", n)
	}

	// Keyed calls do not spend the address's anonymous allowance.
	for i := range 5 {
		if a := e.do("/x", "192.0.2.1"); a.status != 200 {
			t.Fatalf("anonymous call %d: got %d, want 200", i+1, a.status)
		}
	}
	if a := e.do("/x", "192.0.2.1"); a.status != 429 {
		t.Fatalf("6th anonymous call: got %d, want 429", a.status)
	}
	if a := e.do("/x", "192.0.2.1", "X-API-Key", secret); a.status != 200 || a.int(t, "X-RateLimit-Remaining") != 94 {
		t.Fatalf("keyed call from the same address: got %d remaining %s, want 200, 94", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
	// The key's allowance follows the key, whatever the address.
	if a := e.do("/x", "198.51.100.7", "X-API-Key", secret); a.int(t, "X-RateLimit-Remaining") != 93 {
		t.Fatalf("the key from another address: remaining %s, want 93", a.header.Get("X-RateLimit-Remaining"))
	}

	// A staff token is the session layer's, not a key: the request stays
	// anonymous here (httpapi has refused it already if it were bad).
	if a := e.do("/y", "192.0.2.50", "Authorization", "Bearer "+cityhub.TokenPrefix+"abc"); a.status != 200 || a.body["key"] != 0.0 ||
		a.int(t, "X-RateLimit-Limit") != 5 {
		t.Fatalf("staff token: got %d %v limit %s, want an anonymous call", a.status, a.body, a.header.Get("X-RateLimit-Limit"))
	}
	if a := e.do("/y", "192.0.2.51", "Authorization", "Basic dXNlcjpwYXNz"); a.status != 200 || a.body["key"] != 0.0 {
		t.Fatalf("basic credentials: got %d %v, want an anonymous call", a.status, a.body)
	}

	// A signed-in account is limited per account, at the keyed rate.
	r := httptest.NewRequest("GET", "/z", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r = r.WithContext(cityhub.WithUser(r.Context(), &cityhub.User{ID: 9, Username: "citizen", Roles: []string{cityhub.RolePublic}},
		&cityhub.Token{ID: 1, Kind: cityhub.TokenSession}))
	if a := e.serve(r); a.status != 200 || a.body["user"] != 9.0 || a.body["key"] != 0.0 || a.int(t, "X-RateLimit-Remaining") != 99 {
		t.Fatalf("signed-in account: got %d %v remaining %s, want user 9 with a fresh keyed allowance", a.status, a.body, a.header.Get("X-RateLimit-Remaining"))
	}
}

func TestLimiterRevokedAndUnknownKeys(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 3}, KeyTTL: time.Minute})
	secret := e.keys.add(1, 10)
	other := e.keys.add(2, 11)
	for _, s := range []string{secret, other} {
		if a := e.do("/x", "192.0.2.1", "X-API-Key", s); a.status != 200 {
			t.Fatalf("active key: got %d, want 200", a.status)
		}
	}

	// Revoked on this node: forgotten at once.
	e.keys.revoke(secret)
	e.l.ForgetAPIKey(1)
	if a := e.do("/x", "192.0.2.1", "X-API-Key", secret); a.status != 403 {
		t.Fatalf("revoked and forgotten key: got %d, want 403", a.status)
	}
	// Revoked on another node: trusted until the lookup expires.
	e.keys.revoke(other)
	if a := e.do("/x", "192.0.2.2", "X-API-Key", other); a.status != 200 {
		t.Fatalf("key revoked elsewhere, within the TTL: got %d, want 200 (cached)", a.status)
	}
	e.clock.Advance(time.Minute + time.Second)
	if a := e.do("/x", "192.0.2.2", "X-API-Key", other); a.status != 403 {
		t.Fatalf("key revoked elsewhere, after the TTL: got %d, want 403", a.status)
	}

	// Wrong keys cost the address: after its allowance, 429 rather than
	// 403, and the store is not asked again for a key it denied.
	e.clock.Advance(time.Hour)
	before := e.keys.lookupCount()
	bad := "cho_" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	for i := range 3 {
		if a := e.do("/x", "203.0.113.5", "X-API-Key", bad); a.status != 403 || a.int(t, "X-RateLimit-Remaining") != 2-i {
			t.Fatalf("wrong key %d: got %d remaining %s, want 403, %d", i+1, a.status, a.header.Get("X-RateLimit-Remaining"), 2-i)
		}
	}
	if a := e.do("/x", "203.0.113.5", "X-API-Key", bad); a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Fatalf("wrong key beyond the allowance: got %d, want 429 with Retry-After", a.status)
	}
	if got := e.keys.lookupCount() - before; got != 1 {
		t.Fatalf("store lookups for one wrong key: got %d, want 1", got)
	}
	// Strings that cannot be keys are refused without asking.
	if a := e.do("/x", "203.0.113.6", "X-API-Key", "not-a-key"); a.status != 403 {
		t.Fatalf("malformed key: got %d, want 403", a.status)
	}
	if got := e.keys.lookupCount() - before; got != 1 {
		t.Fatalf("store lookups after a malformed key: got %d, want still 1", got)
	}

	// A store that fails: 503, never a pass.
	e.keys.mu.Lock()
	e.keys.fail = errors.New("connection refused")
	e.keys.mu.Unlock()
	if a := e.do("/x", "203.0.113.7", "X-API-Key", e.keys.add(3, 12)); a.status != 503 {
		t.Fatalf("store down: got %d, want 503", a.status)
	}
}

func TestLimiterKeyUseFlush(t *testing.T) {
	e := newLimiterEnv(t, Options{})
	a, b := e.keys.add(1, 10), e.keys.add(2, 10)
	for range 5 {
		e.do("/x", "192.0.2.1", "X-API-Key", a)
	}
	e.clock.Advance(time.Second)
	e.do("/x", "192.0.2.1", "X-API-Key", b)
	last := e.clock.Now()
	e.do("/x", "192.0.2.1") // anonymous: no key to count

	e.keys.mu.Lock()
	e.keys.fail = errors.New("store away")
	e.keys.mu.Unlock()
	if err := e.l.Flush(t.Context()); err == nil {
		t.Fatal("flush with the store away: got no error")
	}
	e.keys.mu.Lock()
	e.keys.fail = nil
	e.keys.mu.Unlock()
	e.do("/x", "192.0.2.1", "X-API-Key", a)
	if err := e.l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	if got := e.keys.touched[1]; got.Calls != 6 || !got.LastAt.Equal(last) {
		t.Fatalf("key 1: got %+v, want 6 calls (kept over the failed write), last %v", got, last)
	}
	if got := e.keys.touched[2]; got.Calls != 1 || !got.LastAt.Equal(last) {
		t.Fatalf("key 2: got %+v, want 1 call at %v", got, last)
	}
	if len(e.keys.touched) != 2 {
		t.Fatalf("touched keys: got %v, want keys 1 and 2", e.keys.touched)
	}
}

func TestLimiterProxyAddress(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 1}})
	// httpapi resolves the client address (minding a trusted proxy) into
	// the actor; the limiter goes by it.
	for _, addr := range []string{"198.51.100.1", "198.51.100.2"} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.RemoteAddr = "10.0.0.1:5555" // the proxy
		r = r.WithContext(cityhub.WithActor(r.Context(), cityhub.Actor{ClientAddr: addr}))
		if a := e.serve(r); a.status != 200 || a.body["addr"] != addr {
			t.Fatalf("behind a proxy as %s: got %d %v, want 200 with its own allowance", addr, a.status, a.body)
		}
	}
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := addrKey(tc.in); got != tc.want {
			t.Errorf("addrKey(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 1}})
	if a := e.do("/x", "[2001:db8::1]"); a.status != 200 {
		t.Fatalf("first IPv6 call: got %d", a.status)
	}
	if a := e.do("/x", "[2001:db8::2]"); a.status != 429 {
		t.Fatalf("same /64: got %d, want 429 (one allowance per /64)", a.status)
	}
}

func TestBucketsBounded(t *testing.T) {
	clock := newClock()
	bs := NewBuckets(100, clock.Now)
	rate := Rate{Limit: 10, Per: time.Second}
	for i := range 1000 {
		bs.Take(fmt.Sprintf("k%d", i), rate)
		if n := bs.Len(); n > 100 {
			t.Fatalf("after %d keys: %d buckets, want at most 100", i+1, n)
		}
	}
	// The most recently used survive; the oldest went first.
	if d := bs.Take("k999", rate); d.Remaining != 8 {
		t.Fatalf("a recent bucket: remaining %d, want 8 (kept)", d.Remaining)
	}
	if d := bs.Take("k0", rate); d.Remaining != 9 {
		t.Fatalf("an evicted bucket: remaining %d, want 9 (new)", d.Remaining)
	}
	// Idle buckets that filled up again go as soon as they are met.
	clock.Advance(time.Second)
	for i := range 50 {
		bs.Take(fmt.Sprintf("fresh%d", i), rate)
	}
	if n := bs.Len(); n > 60 {
		t.Fatalf("after an idle second and 50 new keys: %d buckets, want the idle ones gone (≤ 60)", n)
	}
}

func TestBucketsRates(t *testing.T) {
	clock := newClock()
	bs := NewBuckets(0, clock.Now)
	hour := Rate{Limit: 5, Per: time.Hour}
	for i := range 5 {
		if d := bs.Take("a", hour); !d.Allowed || d.Remaining != 4-i || d.Limit != 5 || d.Window != time.Hour {
			t.Fatalf("take %d: got %+v", i+1, d)
		}
	}
	d := bs.Take("a", hour)
	if d.Allowed || d.RetryAfter != 12*time.Minute || d.Reset != time.Hour {
		t.Fatalf("6th take: got %+v, want refused, retry after 12 min, full in an hour", d)
	}
	burst := Rate{Limit: 60, Per: time.Minute, Burst: 3}
	for i := range 3 {
		if d := bs.Take("b", burst); !d.Allowed || d.Limit != 60 || d.Remaining != 2-i {
			t.Fatalf("burst take %d: got %+v", i+1, d)
		}
	}
	if d := bs.Take("b", burst); d.Allowed || d.RetryAfter != time.Second {
		t.Fatalf("beyond the burst: got %+v, want refused for a second", d)
	}
	// Zero values are safe.
	if d := bs.Take("c", Rate{}); !d.Allowed || d.Limit != 1 {
		t.Fatalf("zero rate: got %+v, want one a minute", d)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 1000}, Keyed: Rate{Limit: 1000}})
	secret := e.keys.add(1, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				r := httptest.NewRequest("GET", "/x", nil)
				r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1", w)
				r.Header.Set("X-API-Key", secret)
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, r)
				if rec.Code == 200 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 1000 {
		t.Fatalf("1600 calls with one key of 1000 a minute: %d allowed, want exactly 1000", allowed)
	}
	if err := e.l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.keys.touched[1].Calls; got != 1000 {
		t.Fatalf("calls written: got %d, want 1000 (refused calls do not count)", got)
	}
}

// TestLimiterWrongKeysSpareTheStore: an address trying many keys is
// refused before the store is asked, and only its wrong tries count.
func TestLimiterWrongKeysSpareTheStore(t *testing.T) {
	e := newLimiterEnv(t, Options{Anonymous: Rate{Limit: 3}})
	good := e.keys.add(1, 10)
	if a := e.do("/x", "203.0.113.5", "X-API-Key", good); a.status != 200 {
		t.Fatalf("good key: got %d", a.status)
	}
	before := e.keys.lookupCount()
	for i := range 3 {
		bad, _ := cityhub.NewAPIKeySecret()
		if a := e.do("/x", "203.0.113.5", "X-API-Key", bad); a.status != 403 {
			t.Fatalf("wrong key %d: got %d, want 403", i+1, a.status)
		}
	}
	bad, _ := cityhub.NewAPIKeySecret()
	a := e.do("/x", "203.0.113.5", "Authorization", bad)
	if a.status != 429 || a.header.Get("Retry-After") != "20" || a.int(t, "X-RateLimit-Remaining") != 0 {
		t.Fatalf("4th wrong key: got %d Retry-After %q, want 429 after 20 s", a.status, a.header.Get("Retry-After"))
	}
	if got := e.keys.lookupCount() - before; got != 3 {
		t.Fatalf("store lookups: got %d, want 3 (none once the address is out of tries)", got)
	}
	// The address's own allowance and its known key are untouched.
	if a := e.do("/x", "203.0.113.5"); a.status != 200 || a.int(t, "X-RateLimit-Remaining") != 2 {
		t.Fatalf("anonymous call from the address: got %d remaining %s, want 200, 2", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
	if a := e.do("/x", "203.0.113.5", "X-API-Key", good); a.status != 200 {
		t.Fatalf("the known key from the address: got %d, want 200", a.status)
	}
}

// TestLimiterOneLookupPerKey: requests arriving together with a key not in
// the cache wait for one store lookup.
func TestLimiterOneLookupPerKey(t *testing.T) {
	e := newLimiterEnv(t, Options{})
	secret := e.keys.add(1, 10)
	gate := make(chan struct{})
	e.keys.mu.Lock()
	e.keys.gate = gate
	e.keys.mu.Unlock()
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("X-API-Key", secret)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			codes <- w.Code
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the lookup
	close(gate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("got %d, want 200 for every request", c)
		}
	}
	if n := e.keys.lookupCount(); n != 1 {
		t.Fatalf("store lookups: got %d, want 1", n)
	}
}

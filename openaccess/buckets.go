package openaccess

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// Rate is a token bucket: Limit requests per Per on average, up to Burst
// at once.
type Rate struct {
	Limit int           // requests per Per; at least 1
	Per   time.Duration // a minute when zero
	Burst int           // the bucket's size; Limit when zero
}

func (r Rate) norm() Rate {
	if r.Limit <= 0 {
		r.Limit = 1
	}
	if r.Per <= 0 {
		r.Per = time.Minute
	}
	if r.Burst <= 0 {
		r.Burst = r.Limit
	}
	return r
}

// perSecond is the refill rate in tokens a second.
func (r Rate) perSecond() float64 { return float64(r.Limit) / r.Per.Seconds() }

// Decision is the answer to one request, with what the X-RateLimit
// headers tell.
type Decision struct {
	Allowed    bool
	Limit      int           // X-RateLimit-Limit: requests per window (Rate.Limit)
	Window     time.Duration // the window Limit counts over (Rate.Per)
	Remaining  int           // X-RateLimit-Remaining: requests that may follow at once
	Reset      time.Duration // X-RateLimit-Reset: until the bucket is full again
	RetryAfter time.Duration // Retry-After when refused: until one request is allowed
}

// Buckets keeps one token bucket per key, in bounded memory: at most max
// buckets, the least recently used going first; a bucket idle long enough
// to have filled up again is worth nothing and goes at once when met.
type Buckets struct {
	max int
	now func() time.Time

	mu    sync.Mutex
	items map[string]*list.Element
	order *list.List // of *bucket, most recently used first
}

type bucket struct {
	key    string
	rate   Rate
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// fillAt is when the bucket is full again.
func (b *bucket) fillAt() time.Time {
	missing := float64(b.rate.Burst) - b.tokens
	return b.at.Add(time.Duration(missing / b.rate.perSecond() * float64(time.Second)))
}

// NewBuckets returns an empty set of at most max buckets (100,000 when
// zero); now is the clock (time.Now when nil).
func NewBuckets(max int, now func() time.Time) *Buckets {
	if max <= 0 {
		max = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Buckets{max: max, now: now, items: map[string]*list.Element{}, order: list.New()}
}

// Take spends one token from key's bucket, made with rate if new.
func (bs *Buckets) Take(key string, rate Rate) Decision {
	rate = rate.norm()
	now := bs.now()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.dropIdle(now, 2)
	var b *bucket
	if el, ok := bs.items[key]; ok {
		b = el.Value.(*bucket)
		bs.order.MoveToFront(el)
		b.tokens, b.rate = level(b, rate, now), rate
		if now.After(b.at) {
			b.at = now
		}
	} else {
		for len(bs.items) >= bs.max {
			bs.remove(bs.order.Back())
		}
		b = &bucket{key: key, rate: rate, tokens: float64(rate.Burst), at: now}
		bs.items[key] = bs.order.PushFront(b)
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	return decide(rate, b.tokens, allowed)
}

// Peek tells what Take would, without spending a token or making a bucket.
func (bs *Buckets) Peek(key string, rate Rate) Decision {
	rate = rate.norm()
	now := bs.now()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	tokens := float64(rate.Burst)
	if el, ok := bs.items[key]; ok {
		tokens = level(el.Value.(*bucket), rate, now)
	}
	return decide(rate, tokens, tokens >= 1)
}

// level is b's tokens at now under rate (a changed rate keeps the tokens
// up to its size).
func level(b *bucket, rate Rate, now time.Time) float64 {
	tokens := math.Min(b.tokens, float64(rate.Burst))
	if elapsed := now.Sub(b.at); elapsed > 0 {
		tokens = math.Min(float64(rate.Burst), tokens+elapsed.Seconds()*rate.perSecond())
	}
	return tokens
}

// decide describes a bucket holding tokens (after the request, if allowed).
func decide(rate Rate, tokens float64, allowed bool) Decision {
	d := Decision{Allowed: allowed, Limit: rate.Limit, Window: rate.Per, Remaining: int(math.Floor(tokens)),
		Reset: seconds((float64(rate.Burst) - tokens) / rate.perSecond())}
	if !allowed {
		d.RetryAfter = seconds((1 - tokens) / rate.perSecond())
	}
	return d
}

// seconds turns a wait in seconds into a duration of whole seconds, rounded up.
func seconds(s float64) time.Duration {
	return time.Duration(math.Ceil(s-1e-9)) * time.Second
}

// dropIdle removes up to n least recently used buckets that are full
// again: forgetting them changes nothing.
func (bs *Buckets) dropIdle(now time.Time, n int) {
	for range n {
		el := bs.order.Back()
		if el == nil || el.Value.(*bucket).fillAt().After(now) {
			return
		}
		bs.remove(el)
	}
}

func (bs *Buckets) remove(el *list.Element) {
	delete(bs.items, el.Value.(*bucket).key)
	bs.order.Remove(el)
}

// Len is the number of buckets kept.
func (bs *Buckets) Len() int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return len(bs.items)
}

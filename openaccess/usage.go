package openaccess

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
)

// UsageStore is what Usage needs of the store.
type UsageStore interface {
	AddUsage(ctx context.Context, days []cityhub.UsageDay) error
	cityhub.UsageReader
}

// UsageOptions configure Usage; zero values take the defaults.
type UsageOptions struct {
	FlushEvery time.Duration  // how often counts are written; 10 s
	Location   *time.Location // the platform's time zone, where days begin; time.Local
	MaxPending int            // (dataset, day) counters kept between writes at most; 100,000
	Now        func() time.Time
	Logger     *slog.Logger
}

// Usage counts views, downloads and API calls of open datasets per day. It
// is the platform's cityhub.UsageRecorder: Record only adds to counters in
// memory, which are written to the store every FlushEvery and on Close; a
// failed write keeps them for the next. It is a cityhub.UsageReader too:
// the store's counts plus those not written yet.
type Usage struct {
	store UsageStore
	opts  UsageOptions
	log   *slog.Logger

	mu      sync.Mutex
	pending map[usageKey]*cityhub.UsageCount
	dropped int64 // counts refused because pending was full

	flushMu   sync.Mutex // one write at a time; readers hold it to see store and memory apart
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type usageKey struct {
	entryID int64
	day     string
}

var (
	_ cityhub.UsageRecorder = (*Usage)(nil)
	_ cityhub.UsageReader   = (*Usage)(nil)
)

// NewUsage returns a recorder writing to store and starts its periodic
// writes; Close stops them.
func NewUsage(store UsageStore, opts UsageOptions) *Usage {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 10 * time.Second
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	u := &Usage{store: store, opts: opts, log: opts.Logger.With("component", "usage"),
		pending: map[usageKey]*cityhub.UsageCount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go u.run()
	return u
}

func (u *Usage) run() {
	defer close(u.done)
	t := time.NewTicker(u.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
			if err := u.Flush(context.Background()); err != nil {
				u.log.Error("write dataset use", "err", err)
			}
		}
	}
}

// Close stops the periodic writes and writes what is left. Call it after
// the HTTP server has stopped (later uses are not written), before the
// store closes.
func (u *Usage) Close() error {
	u.closeOnce.Do(func() {
		close(u.stop)
		<-u.done
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		u.closeErr = u.Flush(ctx)
		if n := u.Dropped(); n > 0 {
			u.log.Warn("dataset use not counted: too many unwritten counters", "dropped", n)
		}
	})
	return u.closeErr
}

// Record counts one use of kind (cityhub.UseView, UseDownload, UseAPI) of
// an entry today. It never waits on storage.
func (u *Usage) Record(entryID int64, kind string) {
	var probe cityhub.UsageCount
	if entryID <= 0 || !probe.Add(kind, 1) {
		return
	}
	k := usageKey{entryID, cityhub.UseDay(u.opts.Now(), u.opts.Location)}
	u.mu.Lock()
	c := u.pending[k]
	if c == nil {
		if len(u.pending) >= u.opts.MaxPending {
			u.dropped++
			u.mu.Unlock()
			return
		}
		c = &cityhub.UsageCount{EntryID: entryID}
		u.pending[k] = c
	}
	c.Add(kind, 1)
	u.mu.Unlock()
}

// Dropped is how many uses were not counted because too many counters
// waited to be written (the store was away for long).
func (u *Usage) Dropped() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dropped
}

// Flush writes the counts gathered since the last write, in one batch.
// On failure they stay for the next.
func (u *Usage) Flush(ctx context.Context) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	u.mu.Lock()
	batch := u.pending
	u.pending = map[usageKey]*cityhub.UsageCount{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	days := make([]cityhub.UsageDay, 0, len(batch))
	for k, c := range batch {
		days = append(days, cityhub.UsageDay{Day: k.day, UsageCount: *c})
	}
	err := u.store.AddUsage(ctx, days)
	if err != nil {
		u.mu.Lock()
		for k, c := range batch {
			if cur := u.pending[k]; cur != nil {
				cur.Views += c.Views
				cur.Downloads += c.Downloads
				cur.APICalls += c.APICalls
			} else {
				u.pending[k] = c
			}
		}
		u.mu.Unlock()
	}
	return err
}

// pendingWhere sums the unwritten counts that keep, by entry and day.
func (u *Usage) pendingWhere(keep func(usageKey) bool) map[usageKey]cityhub.UsageCount {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[usageKey]cityhub.UsageCount{}
	for k, c := range u.pending {
		if keep(k) {
			out[k] = *c
		}
	}
	return out
}

// DailyUsage returns an entry's (0: all entries') use on every day from
// from to to, both included, in the platform's time zone: the store's
// counts plus the unwritten ones.
func (u *Usage) DailyUsage(ctx context.Context, entryID int64, from, to time.Time) ([]cityhub.UsageDay, error) {
	from, to = from.In(u.opts.Location), to.In(u.opts.Location)
	first, last := cityhub.UseDay(from, nil), cityhub.UseDay(to, nil)
	u.flushMu.Lock() // no write half done: memory and store do not overlap
	pend := u.pendingWhere(func(k usageKey) bool {
		return (entryID == 0 || k.entryID == entryID) && k.day >= first && k.day <= last
	})
	days, err := u.store.DailyUsage(ctx, entryID, from, to)
	u.flushMu.Unlock()
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(days))
	for i, d := range days {
		index[d.Day] = i
	}
	for k, c := range pend {
		if i, ok := index[k.day]; ok {
			days[i].Views += c.Views
			days[i].Downloads += c.Downloads
			days[i].APICalls += c.APICalls
		}
	}
	return days, nil
}

// MostUsed ranks datasets by their use since the day of since (in the
// platform's time zone), unwritten counts included. A dataset used only
// recently and outside the stored ranking is ranked by its unwritten
// counts alone until they are written.
func (u *Usage) MostUsed(ctx context.Context, since time.Time, limit int) ([]cityhub.UsageCount, error) {
	if limit <= 0 {
		limit = 10
	}
	since = since.In(u.opts.Location)
	first := cityhub.UseDay(since, nil)
	u.flushMu.Lock()
	pend := u.pendingWhere(func(k usageKey) bool { return k.day >= first })
	byEntry := map[int64]cityhub.UsageCount{}
	for k, c := range pend {
		t := byEntry[k.entryID]
		t.EntryID = k.entryID
		t.Views += c.Views
		t.Downloads += c.Downloads
		t.APICalls += c.APICalls
		byEntry[k.entryID] = t
	}
	// Enough stored rows that recent use cannot push a listed dataset
	// out unseen.
	stored, err := u.store.MostUsed(ctx, since, limit+len(byEntry))
	u.flushMu.Unlock()
	if err != nil {
		return nil, err
	}
	for _, s := range stored {
		t := byEntry[s.EntryID]
		t.EntryID = s.EntryID
		t.Views += s.Views
		t.Downloads += s.Downloads
		t.APICalls += s.APICalls
		byEntry[s.EntryID] = t
	}
	out := make([]cityhub.UsageCount, 0, len(byEntry))
	for _, c := range byEntry {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b cityhub.UsageCount) int {
		return cmp.Or(cmp.Compare(b.Total(), a.Total()), cmp.Compare(a.EntryID, b.EntryID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

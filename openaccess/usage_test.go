package openaccess

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// fakeUsage is the store boundary of Usage: counts by entry and day, and
// the batches written.
type fakeUsage struct {
	mu      sync.Mutex
	counts  map[usageKey]cityhub.UsageCount
	batches int
	fail    error
}

func newFakeUsage() *fakeUsage { return &fakeUsage{counts: map[usageKey]cityhub.UsageCount{}} }

func (f *fakeUsage) AddUsage(ctx context.Context, days []cityhub.UsageDay) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.batches++
	for _, d := range days {
		k := usageKey{d.EntryID, d.Day}
		c := f.counts[k]
		c.EntryID = d.EntryID
		c.Views += d.Views
		c.Downloads += d.Downloads
		c.APICalls += d.APICalls
		f.counts[k] = c
	}
	return nil
}

func (f *fakeUsage) DailyUsage(ctx context.Context, entryID int64, from, to time.Time) ([]cityhub.UsageDay, error) {
	days, err := cityhub.UsageDays(from, to)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range days {
		days[i].EntryID = entryID
		for k, c := range f.counts {
			if k.day == days[i].Day && (entryID == 0 || k.entryID == entryID) {
				days[i].Views += c.Views
				days[i].Downloads += c.Downloads
				days[i].APICalls += c.APICalls
			}
		}
	}
	return days, nil
}

func (f *fakeUsage) MostUsed(ctx context.Context, since time.Time, limit int) ([]cityhub.UsageCount, error) {
	first := cityhub.UseDay(since, nil)
	f.mu.Lock()
	by := map[int64]cityhub.UsageCount{}
	for k, c := range f.counts {
		if k.day >= first {
			t := by[k.entryID]
			t.EntryID = k.entryID
			t.Views += c.Views
			t.Downloads += c.Downloads
			t.APICalls += c.APICalls
			by[k.entryID] = t
		}
	}
	f.mu.Unlock()
	out := []cityhub.UsageCount{}
	for _, c := range by {
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

func (f *fakeUsage) count(entry int64, day string) cityhub.UsageCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[usageKey{entry, day}]
}

var shanghai = time.FixedZone("CST", 8*3600)

func newUsageEnv(t *testing.T, opts UsageOptions) (*Usage, *fakeUsage, *fakeClock) {
	t.Helper()
	store, clock := newFakeUsage(), newClock()
	opts.Now = clock.Now
	if opts.Location == nil {
		opts.Location = shanghai
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = time.Hour
	}
	u := NewUsage(store, opts)
	t.Cleanup(func() { u.Close() })
	return u, store, clock
}

// TestUsageConcurrentRecordsAddUp: counts from many goroutines, written
// while they are still counting, add up exactly.
func TestUsageConcurrentRecordsAddUp(t *testing.T) {
	store := newFakeUsage()
	u := NewUsage(store, UsageOptions{FlushEvery: time.Millisecond, Location: shanghai})
	const workers, each = 16, 2000
	kinds := []string{cityhub.UseView, cityhub.UseDownload, cityhub.UseAPI}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				u.Record(int64(1+(w+i)%3), kinds[i%3])
			}
		}()
	}
	// Flush by hand too, racing the loop and the recorders.
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			default:
				if err := u.Flush(t.Context()); err != nil {
					t.Errorf("flush: %v", err)
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-flushed
	if err := u.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var total cityhub.UsageCount
	store.mu.Lock()
	for _, c := range store.counts {
		total.Views += c.Views
		total.Downloads += c.Downloads
		total.APICalls += c.APICalls
	}
	batches := store.batches
	store.mu.Unlock()
	var want cityhub.UsageCount
	for range workers {
		for i := range each {
			want.Add(kinds[i%3], 1)
		}
	}
	if total != want {
		t.Fatalf("written: got %+v, want %+v", total, want)
	}
	if batches < 2 {
		t.Fatalf("batches: got %d, want several (written while counting)", batches)
	}
}

func TestUsageFlushKeepsCountsOnFailure(t *testing.T) {
	u, store, _ := newUsageEnv(t, UsageOptions{})
	u.Record(5, cityhub.UseView)
	u.Record(5, cityhub.UseDownload)
	store.mu.Lock()
	store.fail = errors.New("store away")
	store.mu.Unlock()
	if err := u.Flush(t.Context()); err == nil {
		t.Fatal("flush with the store away: got no error")
	}
	u.Record(5, cityhub.UseView)
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	if err := u.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := u.Flush(t.Context()); err != nil { // nothing left: nothing written twice
		t.Fatal(err)
	}
	if got := store.count(5, "2026-03-01"); got.Views != 2 || got.Downloads != 1 {
		t.Fatalf("written: got %+v, want 2 views and 1 download, once", got)
	}
	if store.batches != 1 {
		t.Fatalf("batches: got %d, want 1", store.batches)
	}
}

func TestUsageDaysInTimeZone(t *testing.T) {
	u, store, clock := newUsageEnv(t, UsageOptions{})
	// 2026-03-01 09:00 UTC is 17:00 in Shanghai; 16:00 UTC is already the 2nd.
	u.Record(1, cityhub.UseView)
	clock.Advance(6*time.Hour + 59*time.Minute + 59*time.Second)
	u.Record(1, cityhub.UseView)
	clock.Advance(time.Second)
	u.Record(1, cityhub.UseAPI)
	u.Record(0, cityhub.UseView)      // no entry
	u.Record(-3, cityhub.UseView)     // no entry
	u.Record(1, "like")               // no such kind
	if err := u.Close(); err != nil { // Close writes what is left
		t.Fatal(err)
	}
	if got := store.count(1, "2026-03-01"); got.Views != 2 || got.APICalls != 0 {
		t.Fatalf("2026-03-01: got %+v, want 2 views", got)
	}
	if got := store.count(1, "2026-03-02"); got.Views != 0 || got.APICalls != 1 {
		t.Fatalf("2026-03-02: got %+v, want 1 API call", got)
	}
	if len(store.counts) != 2 {
		t.Fatalf("counters written: got %v, want only entry 1 on two days", store.counts)
	}
}

func TestUsageReadsIncludeUnwritten(t *testing.T) {
	u, store, clock := newUsageEnv(t, UsageOptions{})
	store.AddUsage(t.Context(), []cityhub.UsageDay{
		{Day: "2026-02-28", UsageCount: cityhub.UsageCount{EntryID: 1, Views: 10}},
		{Day: "2026-03-01", UsageCount: cityhub.UsageCount{EntryID: 2, Views: 7}},
		{Day: "2026-03-01", UsageCount: cityhub.UsageCount{EntryID: 3, Views: 6}},
	})
	u.Record(1, cityhub.UseDownload)
	for range 3 {
		u.Record(3, cityhub.UseAPI)
	}
	u.Record(4, cityhub.UseView)

	now := clock.Now()
	days, err := u.DailyUsage(t.Context(), 0, now.AddDate(0, 0, -1), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []cityhub.UsageDay{{Day: "2026-02-28", UsageCount: cityhub.UsageCount{Views: 10}},
		{Day: "2026-03-01", UsageCount: cityhub.UsageCount{Views: 14, Downloads: 1, APICalls: 3}}}
	if !slices.Equal(days, want) {
		t.Fatalf("daily use of all: got %+v, want %+v", days, want)
	}
	days, err = u.DailyUsage(t.Context(), 3, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].EntryID != 3 || days[0].Views != 6 || days[0].APICalls != 3 {
		t.Fatalf("daily use of entry 3: got %+v, want 6 views and 3 API calls", days)
	}

	most, err := u.MostUsed(t.Context(), now, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantMost := []cityhub.UsageCount{{EntryID: 3, Views: 6, APICalls: 3}, {EntryID: 2, Views: 7}}
	if !slices.Equal(most, wantMost) {
		t.Fatalf("most used today: got %+v, want %+v (entry 3 overtakes with unwritten calls)", most, wantMost)
	}
	most, err = u.MostUsed(t.Context(), now.AddDate(0, 0, -1), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantMost = []cityhub.UsageCount{{EntryID: 1, Views: 10, Downloads: 1}, {EntryID: 3, Views: 6, APICalls: 3},
		{EntryID: 2, Views: 7}, {EntryID: 4, Views: 1}}
	if !slices.Equal(most, wantMost) {
		t.Fatalf("most used since yesterday: got %+v, want %+v", most, wantMost)
	}

	// After the write, the same answers from the store alone.
	if err := u.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := u.MostUsed(t.Context(), now.AddDate(0, 0, -1), 10)
	if err != nil || !slices.Equal(again, wantMost) {
		t.Fatalf("most used after the write: got %+v, %v; want %+v", again, err, wantMost)
	}
}

func TestUsageBoundedMemory(t *testing.T) {
	u, store, _ := newUsageEnv(t, UsageOptions{MaxPending: 3})
	store.mu.Lock()
	store.fail = errors.New("store away")
	store.mu.Unlock()
	for id := int64(1); id <= 5; id++ {
		u.Record(id, cityhub.UseView)
		u.Record(id, cityhub.UseView)
	}
	u.Record(1, cityhub.UseView) // a known counter still counts
	if got := u.Dropped(); got != 4 {
		t.Fatalf("dropped: got %d, want 4 (entries 4 and 5, twice each)", got)
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	if err := u.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := store.count(1, "2026-03-01"); got.Views != 3 {
		t.Fatalf("entry 1: got %+v, want 3 views", got)
	}
}

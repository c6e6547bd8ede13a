package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/prometheus/client_golang/prometheus"
)

// Options tune a pipeline; zero values take the defaults.
type Options struct {
	Batch  int           // readings a write at most; 5,000
	Linger time.Duration // how long a write waits to fill; 10 ms
	Queue  int           // readings waiting at most before senders block; 50,000
	// Arrival times reach the devices' last-seen this often; 30 s, a tenth
	// of the shortest offline timeout, and each pass updates every
	// device heard from, so more often costs the main store much.
	TouchEvery time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Pipeline checks and stores readings.
type Pipeline struct {
	store   cityhub.SeriesStore
	devices cityhub.DeviceService
	opts    Options
	log     *slog.Logger
	queue   chan *batch
	acks    chan []*batch // written batches whose senders are still to be told
	room    chan struct{} // one token a queued reading: senders block when full
	types   map[string]*cityhub.DeviceType

	mu       sync.Mutex
	counts   Counts
	perDev   map[int64]*DeviceCounts
	seen     map[int64]time.Time // arrivals not yet recorded on the devices
	closed   bool
	inflight sync.WaitGroup
}

// A batch is one sender's accepted readings and whom to tell.
type batch struct {
	device   int64
	source   string
	readings []cityhub.Reading
	done     func(Result)
	res      Result
}

// Result tells a sender what became of its values.
type Result struct {
	Received   int
	Stored     int
	Duplicates int
	Rejected   int
	Dropped    int
	Problems   []string // why values were rejected, at most 20
	Err        error    // the store failed: nothing of this batch is durable
}

// Counts are the pipeline's totals in values. At rest Received equals
// Stored + Duplicates + the rejected and dropped sums; while readings wait
// in the queue, Queued holds the difference.
type Counts struct {
	Received   int64            `json:"received"`
	Stored     int64            `json:"stored"`
	Duplicates int64            `json:"duplicates"`
	Rejected   map[string]int64 `json:"rejected"` // by reason
	Dropped    map[string]int64 `json:"dropped"`  // by reason
	Queued     int64            `json:"queued"`
}

// DeviceCounts are one device's totals and its latest rejections.
type DeviceCounts struct {
	Received   int64       `json:"received"`
	Stored     int64       `json:"stored"`
	Duplicates int64       `json:"duplicates"`
	Rejected   int64       `json:"rejected"`
	Recent     []Rejection `json:"recent_rejections"`
}

// A Rejection is one value (or reading) refused, and why.
type Rejection struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Reason string    `json:"reason"` // a code: unknown_property, invalid_value, out_of_range, too_late, future, conflict, malformed
	Detail string    `json:"detail"`
}

// Reasons for rejecting values.
const (
	ReasonMalformed       = "malformed"
	ReasonUnknownProperty = "unknown_property"
	ReasonInvalid         = "invalid_value"
	ReasonTooLate         = "too_late"
	ReasonFuture          = "future"
	ReasonConflict        = "conflict"
	ReasonUnknownDevice   = "unknown_device"
	ReasonUnknownType     = "unknown_type"
)

// Reasons for dropping values that were accepted.
const (
	DropStoreError = "store_error"
	DropShutdown   = "shutdown"
)

// FutureSlack is how far ahead of the server's clock a reading may be.
const FutureSlack = 5 * time.Minute

// New makes a pipeline writing into store; devices records arrivals.
func New(store cityhub.SeriesStore, devices cityhub.DeviceService, opts Options) *Pipeline {
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.Linger <= 0 {
		opts.Linger = 10 * time.Millisecond
	}
	if opts.Queue <= 0 {
		opts.Queue = 50000
	}
	if opts.TouchEvery <= 0 {
		opts.TouchEvery = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{store: store, devices: devices, opts: opts, log: opts.Logger,
		queue: make(chan *batch, opts.Queue), room: make(chan struct{}, opts.Queue), acks: make(chan []*batch, 64),
		types:  map[string]*cityhub.DeviceType{},
		counts: Counts{Rejected: map[string]int64{}, Dropped: map[string]int64{}},
		perDev: map[int64]*DeviceCounts{}, seen: map[int64]time.Time{}}
	for _, t := range cityhub.DeviceTypes() {
		p.types[t.Name] = &t
	}
	return p
}

// Type returns the device type called name.
func (p *Pipeline) Type(name string) (*cityhub.DeviceType, bool) {
	t, ok := p.types[name]
	return t, ok
}

// Submit checks a device's samples and queues what passes; done (if not
// nil) is called once, when the queued readings are durable or have
// failed, or at once when nothing passed. Submit blocks while the queue is
// full, so a sender that waits for done is slowed to what storage takes.
func (p *Pipeline) Submit(ctx context.Context, dev *cityhub.Device, source string, samples []Sample, done func(Result)) error {
	b := &batch{device: dev.ID, source: source, done: done}
	now := p.opts.Now()
	typ, ok := p.types[dev.Type]
	var rejects []Rejection
	for _, s := range samples {
		b.res.Received += len(s.Values)
		if !ok {
			rejects = append(rejects, p.reject(now, source, ReasonUnknownType, len(s.Values), fmt.Sprintf("device type %q unknown", dev.Type))...)
			continue
		}
		at := s.Time
		if at.IsZero() {
			at = now
		}
		at = at.Truncate(time.Millisecond)
		if now.Sub(at) > cityhub.MaxLateness {
			rejects = append(rejects, p.reject(now, source, ReasonTooLate, len(s.Values),
				fmt.Sprintf("observed %s, more than 7 days ago", at.UTC().Format(time.RFC3339)))...)
			continue
		}
		if at.Sub(now) > FutureSlack {
			rejects = append(rejects, p.reject(now, source, ReasonFuture, len(s.Values),
				fmt.Sprintf("observed %s, ahead of the server's clock", at.UTC().Format(time.RFC3339)))...)
			continue
		}
		r := cityhub.Reading{DeviceID: dev.ID, Time: at, Values: make([]cityhub.Value, 0, len(s.Values))}
		keys := make([]string, 0, len(s.Values))
		for k := range s.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			prop, known := typ.Property(k)
			if !known {
				rejects = append(rejects, p.reject(now, source, ReasonUnknownProperty, 1,
					fmt.Sprintf("%s has no property %q", typ.Name, k))...)
				continue
			}
			v, err := prop.Check(s.Values[k])
			if err != nil {
				rejects = append(rejects, p.reject(now, source, ReasonInvalid, 1, err.Error())...)
				continue
			}
			r.Values = append(r.Values, v)
		}
		if len(r.Values) > 0 {
			if b.readings == nil {
				b.readings = make([]cityhub.Reading, 0, len(samples))
			}
			b.readings = append(b.readings, r)
		}
	}
	b.res.Rejected = len(rejects)
	for _, r := range rejects {
		if len(b.res.Problems) < 20 {
			b.res.Problems = append(b.res.Problems, r.Detail)
		}
	}
	queued := 0
	for _, r := range b.readings {
		queued += len(r.Values)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("ingest is shutting down")
	}
	p.counts.Received += int64(b.res.Received)
	p.counts.Queued += int64(queued)
	dc := p.device(dev.ID)
	dc.Received += int64(b.res.Received)
	dc.Rejected += int64(len(rejects))
	for _, r := range rejects {
		p.counts.Rejected[r.Reason]++
		dc.Recent = appendRecent(dc.Recent, r)
	}
	if len(b.readings) > 0 {
		p.inflight.Add(1)
	}
	p.mu.Unlock()
	if len(b.readings) == 0 {
		if done != nil {
			done(b.res)
		}
		return nil
	}
	// Wait for room: one token a reading.
	for i := range b.readings {
		select {
		case p.room <- struct{}{}:
		case <-ctx.Done():
			for range i {
				<-p.room
			}
			p.settle(b, nil, DropShutdown, ctx.Err())
			p.tell(b)
			return ctx.Err()
		}
	}
	p.queue <- b
	return nil
}

// SubmitWait submits and waits until the readings are durable.
func (p *Pipeline) SubmitWait(ctx context.Context, dev *cityhub.Device, source string, samples []Sample) (Result, error) {
	ch := make(chan Result, 1)
	if err := p.Submit(ctx, dev, source, samples, func(r Result) { ch <- r }); err != nil {
		return Result{}, err
	}
	select {
	case r := <-ch:
		return r, r.Err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (p *Pipeline) reject(at time.Time, source, reason string, n int, detail string) []Rejection {
	out := make([]Rejection, n)
	for i := range out {
		out[i] = Rejection{At: at, Source: source, Reason: reason, Detail: detail}
	}
	return out
}

// RejectOther counts values refused before a device was known (bad
// token, malformed payload), so the totals still add up.
func (p *Pipeline) RejectOther(reason string, values int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Received += int64(values)
	p.counts.Rejected[reason] += int64(values)
}

// RejectMalformed records a device's payload that could not be decoded.
func (p *Pipeline) RejectMalformed(dev *cityhub.Device, source string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Received++
	p.counts.Rejected[ReasonMalformed]++
	dc := p.device(dev.ID)
	dc.Received++
	dc.Rejected++
	dc.Recent = appendRecent(dc.Recent, Rejection{At: p.opts.Now(), Source: source, Reason: ReasonMalformed, Detail: err.Error()})
}

func appendRecent(list []Rejection, r Rejection) []Rejection {
	list = append(list, r)
	if len(list) > 20 {
		list = slices.Delete(list, 0, len(list)-20)
	}
	return list
}

func (p *Pipeline) device(id int64) *DeviceCounts {
	dc := p.perDev[id]
	if dc == nil {
		dc = &DeviceCounts{}
		p.perDev[id] = dc
	}
	return dc
}

// Run writes queued readings until ctx ends, then writes what is queued
// and returns. Senders still blocked get a shutdown error.
//
// Senders are told (PUBACKs written) and arrivals recorded on goroutines of
// their own, so a slow socket or a slow store update does not hold up the
// writer.
func (p *Pipeline) Run(ctx context.Context) error {
	told := make(chan struct{})
	go func() {
		for list := range p.acks {
			for _, b := range list {
				p.tell(b)
			}
		}
		close(told)
	}()
	go func() {
		tick := time.NewTicker(p.opts.TouchEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				p.touch(ctx)
			}
		}
	}()
	var pending []*batch
	n := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	write := func() {
		if len(pending) > 0 {
			p.write(context.WithoutCancel(ctx), pending)
			pending, n = nil, 0
		}
	}
	for {
		select {
		case b := <-p.queue:
			if len(pending) == 0 {
				timer.Reset(p.opts.Linger)
			}
			pending = append(pending, b)
			n += len(b.readings)
			if n >= p.opts.Batch {
				timer.Stop()
				write()
			}
		case <-timer.C:
			write()
		case <-ctx.Done():
			p.mu.Lock()
			p.closed = true
			p.mu.Unlock()
			// Take in whatever made it into the queue, then stop.
			for {
				select {
				case b := <-p.queue:
					pending = append(pending, b)
					continue
				default:
				}
				break
			}
			write()
			close(p.acks)
			<-told
			p.touch(context.WithoutCancel(ctx))
			return nil
		}
	}
}

func (p *Pipeline) write(ctx context.Context, batches []*batch) {
	var all []cityhub.Reading
	for _, b := range batches {
		all = append(all, b.readings...)
	}
	outcomes, err := p.store.Write(ctx, all)
	if err != nil {
		p.log.Error("ingest: write failed; senders are told and may retry", "readings", len(all), "err", err)
	}
	i := 0
	for _, b := range batches {
		var out []cityhub.ReadingOutcome
		if err == nil {
			out = outcomes[i : i+len(b.readings)]
		}
		i += len(b.readings)
		p.settle(b, out, DropStoreError, err)
	}
	for range all {
		<-p.room
	}
	p.acks <- batches
}

// settle counts a queued batch's outcome into its result and the totals.
func (p *Pipeline) settle(b *batch, outcomes []cityhub.ReadingOutcome, dropReason string, err error) {
	now := p.opts.Now()
	p.mu.Lock()
	dc := p.device(b.device)
	for i, r := range b.readings {
		n := len(r.Values)
		p.counts.Queued -= int64(n)
		switch {
		case err != nil:
			p.counts.Dropped[dropReason] += int64(n)
			b.res.Dropped += n
		case outcomes[i] == cityhub.Stored:
			p.counts.Stored += int64(n)
			dc.Stored += int64(n)
			b.res.Stored += n
		case outcomes[i] == cityhub.Duplicate:
			p.counts.Duplicates += int64(n)
			dc.Duplicates += int64(n)
			b.res.Duplicates += n
		default:
			p.counts.Rejected[ReasonConflict] += int64(n)
			dc.Rejected += int64(n)
			b.res.Rejected += n
			rej := Rejection{At: now, Source: b.source, Reason: ReasonConflict,
				Detail: fmt.Sprintf("another reading observed at %s is stored already", r.Time.UTC().Format(time.RFC3339Nano))}
			dc.Recent = appendRecent(dc.Recent, rej)
			if len(b.res.Problems) < 20 {
				b.res.Problems = append(b.res.Problems, rej.Detail)
			}
		}
	}
	if err == nil {
		p.seen[b.device] = now
	}
	p.mu.Unlock()
	b.res.Err = err
}

// tell calls a settled batch's sender back.
func (p *Pipeline) tell(b *batch) {
	if b.done != nil {
		b.done(b.res)
	}
	p.inflight.Done()
}

// touch records arrival times on the devices.
func (p *Pipeline) touch(ctx context.Context) {
	p.mu.Lock()
	seen := p.seen
	p.seen = map[int64]time.Time{}
	p.mu.Unlock()
	if len(seen) == 0 || p.devices == nil {
		return
	}
	if err := p.devices.TouchDevices(ctx, seen); err != nil {
		p.log.Warn("ingest: recording device arrivals", "devices", len(seen), "err", err)
	}
}

// Wait blocks until every submitted reading is written or dropped.
func (p *Pipeline) Wait() { p.inflight.Wait() }

// Counts returns a copy of the totals.
func (p *Pipeline) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.Rejected, c.Dropped = maps.Clone(p.counts.Rejected), maps.Clone(p.counts.Dropped)
	return c
}

// DeviceCounts returns one device's totals and recent rejections.
func (p *Pipeline) DeviceCounts(id int64) DeviceCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	dc := p.perDev[id]
	if dc == nil {
		return DeviceCounts{Recent: []Rejection{}}
	}
	out := *dc
	out.Recent = slices.Clone(dc.Recent)
	slices.Reverse(out.Recent)
	return out
}

var (
	descReceived = prometheus.NewDesc("cityhub_ingest_values_received_total", "Values received from devices.", nil, nil)
	descStored   = prometheus.NewDesc("cityhub_ingest_values_stored_total", "Values stored.", nil, nil)
	descDup      = prometheus.NewDesc("cityhub_ingest_values_duplicate_total", "Values received again and stored once.", nil, nil)
	descRejected = prometheus.NewDesc("cityhub_ingest_values_rejected_total", "Values refused, by reason.", []string{"reason"}, nil)
	descDropped  = prometheus.NewDesc("cityhub_ingest_values_dropped_total", "Values accepted but not stored, by reason.", []string{"reason"}, nil)
	descQueued   = prometheus.NewDesc("cityhub_ingest_values_queued", "Values waiting to be written.", nil, nil)
)

// Describe and Collect make the pipeline a Prometheus collector.
func (p *Pipeline) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descStored, descDup, descRejected, descDropped, descQueued} {
		ch <- d
	}
}

func (p *Pipeline) Collect(ch chan<- prometheus.Metric) {
	c := p.Counts()
	ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(c.Received))
	ch <- prometheus.MustNewConstMetric(descStored, prometheus.CounterValue, float64(c.Stored))
	ch <- prometheus.MustNewConstMetric(descDup, prometheus.CounterValue, float64(c.Duplicates))
	ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(c.Queued))
	for _, r := range []string{ReasonMalformed, ReasonUnknownProperty, ReasonInvalid, ReasonTooLate, ReasonFuture, ReasonConflict,
		ReasonUnknownDevice, ReasonUnknownType} {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(c.Rejected[r]), r)
	}
	for _, r := range []string{DropStoreError, DropShutdown} {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(c.Dropped[r]), r)
	}
}

package ngsild

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
)

// source names NGSI-LD in the pipeline's counts and rejections.
const source = "ngsi-ld"

// A readingBatch submits the measured values of a request's entities and
// waits for all of them at once: a batch of entities makes one trip
// through the pipeline's writer, not one each.
type readingBatch struct {
	pipeline *ingest.Pipeline
	log      *slog.Logger
	wg       sync.WaitGroup
	subs     []*submission
}

// A submission is one reading of one entity.
type submission struct {
	out   *outcome
	names []string
	once  sync.Once
	res   ingest.Result
	err   error
}

func (h *Handler) newReadingBatch() *readingBatch {
	return &readingBatch{pipeline: h.pipeline, log: h.log}
}

// add submits an entity's readings, one per observation time.
func (rb *readingBatch) add(ctx context.Context, dev *cityhub.Device, samples map[time.Time]map[string]any, out *outcome) {
	times := make([]time.Time, 0, len(samples))
	for at := range samples {
		times = append(times, at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, at := range times {
		s := &submission{out: out}
		for name := range samples[at] {
			s.names = append(s.names, name)
		}
		rb.subs = append(rb.subs, s)
		rb.wg.Add(1)
		// done may run even when Submit fails (a cancelled wait for room).
		settle := func(res ingest.Result, err error) {
			s.once.Do(func() {
				s.res, s.err = res, err
				rb.wg.Done()
			})
		}
		err := rb.pipeline.Submit(ctx, dev, source, []ingest.Sample{{Time: at, Values: samples[at]}},
			func(res ingest.Result) { settle(res, res.Err) })
		if err != nil {
			settle(ingest.Result{}, err)
		}
	}
}

// wait settles every submission into its outcome: readings the pipeline
// refused (another value stored for the same time) or could not store
// become attributes not updated.
func (rb *readingBatch) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		rb.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, s := range rb.subs {
			for _, name := range s.names {
				s.out.refuse(name, "the request ended before the reading was confirmed stored")
			}
		}
		return
	}
	for _, s := range rb.subs {
		reason := ""
		switch {
		case s.err != nil:
			rb.log.ErrorContext(ctx, "ngsi-ld readings not stored", "entity", s.out.id, "err", s.err)
			reason = "not stored: the series store is unavailable; send it again"
		case s.res.Rejected > 0 || s.res.Dropped > 0:
			reason = strings.Join(s.res.Problems, "; ")
			if reason == "" {
				reason = "not stored"
			}
		default:
			continue
		}
		for _, name := range s.names {
			s.out.refuse(name, reason)
		}
	}
}

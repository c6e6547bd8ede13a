package loader

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

// PullStore is what scheduled pulls need of the platform.
type PullStore interface {
	Store
	Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error)
	Pulls(ctx context.Context) ([]*cityhub.Pull, error)
	RecordPull(ctx context.Context, entryID int64, at time.Time, job int64, failure string) error
}

// MaxPullBytes bounds what one pull downloads.
const MaxPullBytes = 4 << 30

// RunPull fetches the pull's URL and loads the response into its entry. A
// fetch that fails is recorded on the pull; a load that fails is its job.
func RunPull(ctx context.Context, store PullStore, client *http.Client, p *cityhub.Pull) (*cityhub.LoadJob, error) {
	job, err := runPull(ctx, store, client, p)
	var id int64
	failure := ""
	switch {
	case err != nil:
		failure = err.Error()
	case job.Status == cityhub.JobFailed:
		id, failure = job.ID, job.Error
	default:
		id = job.ID
	}
	if rerr := store.RecordPull(context.WithoutCancel(ctx), p.EntryID, time.Now(), id, failure); rerr != nil && err == nil {
		err = rerr
	}
	return job, err
}

func runPull(ctx context.Context, store PullStore, client *http.Client, p *cityhub.Pull) (*cityhub.LoadJob, error) {
	entry, err := store.Entry(ctx, p.EntryID)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", p.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: HTTP %s", p.URL, resp.Status)
	}
	body := bufio.NewReaderSize(http.MaxBytesReader(nil, resp.Body, MaxPullBytes), 64<<10)
	format := tabular.Format(p.Format)
	if format == "" {
		head, _ := body.Peek(512)
		if format, err = tabular.DetectFormat(path.Base(req.URL.Path), resp.Header.Get("Content-Type"), head); err != nil {
			return nil, fmt.Errorf("%s: %w", p.URL, err)
		}
	}
	return Load(ctx, store, entry, body, resp.ContentLength, Options{Mode: p.Mode, Source: p.URL, Read: tabular.Options{Format: format}})
}

// Scheduler runs every enabled pull on its entry's update cycle. One node
// should run it (see the closing note on scale-out).
type Scheduler struct {
	Store  PullStore
	Client *http.Client
	Logger *slog.Logger
	Every  time.Duration // how often to look for due pulls; a minute when zero
	Now    func() time.Time
}

// Run checks for due pulls until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue runs the pulls that are due now, one after another.
func (s *Scheduler) RunDue(ctx context.Context) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	pulls, err := s.Store.Pulls(ctx)
	if err != nil {
		s.Logger.Error("scheduled pulls", "err", err)
		return
	}
	for _, p := range pulls {
		if !p.Enabled || ctx.Err() != nil {
			continue
		}
		e, err := s.Store.Entry(ctx, p.EntryID)
		if err != nil {
			continue
		}
		if p.LastRun != nil && now().Sub(*p.LastRun) < cityhub.PullInterval(e.UpdateCycle) {
			continue
		}
		actx := cityhub.WithActor(ctx, cityhub.Actor{Username: "scheduler"})
		job, err := RunPull(actx, s.Store, s.Client, p)
		switch {
		case err != nil:
			s.Logger.Warn("scheduled pull failed", "entry", p.EntryID, "url", p.URL, "err", err)
		default:
			s.Logger.Info("scheduled pull", "entry", p.EntryID, "job", job.ID, "status", job.Status, "stored", job.Stored, "rejected", job.Rejected)
		}
	}
}

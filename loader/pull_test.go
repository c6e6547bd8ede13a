package loader_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
)

// A department publishes a CSV; the scheduler fetches it on the entry's
// cycle, loads it, and records the run; a broken URL is recorded too.
func TestScheduledPull(t *testing.T) {
	e := newEnv(t)
	en := e.entry(t, enterpriseItems...)
	body := "统一社会信用代码,企业名称\n91330203MA2AB1C255,宁波海曙甬江贸易有限公司\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/enterprises.csv" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, body)
	}))
	defer srv.Close()

	p := &cityhub.Pull{EntryID: en.ID, URL: srv.URL + "/enterprises.csv", Mode: cityhub.LoadReplace, Enabled: true}
	if err := e.store.SetPull(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := &loader.Scheduler{Store: e.store, Client: srv.Client(), Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	s.RunDue(e.ctx)
	got, _ := e.store.Pull(e.ctx, en.ID)
	if got.LastRun == nil || got.LastJob == 0 || got.LastError != "" {
		t.Fatalf("after the first run: %+v", got)
	}
	if info, _ := e.store.Table(e.ctx, en.ID); info.Rows != 1 {
		t.Fatalf("rows after the pull: %+v", info)
	}
	// Not due again within the daily cycle; due a day later.
	body = "统一社会信用代码,企业名称\n91330203MA2AB1C255,宁波海曙甬江贸易有限公司\n91330212MA2CD3E42D,宁波东钱湖文旅发展有限公司\n"
	s.RunDue(e.ctx)
	if info, _ := e.store.Table(e.ctx, en.ID); info.Rows != 1 {
		t.Errorf("pulled again before the cycle: %+v", info)
	}
	now = now.Add(25 * time.Hour)
	s.RunDue(e.ctx)
	if info, _ := e.store.Table(e.ctx, en.ID); info.Rows != 2 || info.Version != 2 {
		t.Errorf("after a day: %+v", info)
	}
	// A URL that answers 404 is recorded on the pull, and the table stays.
	p.URL = srv.URL + "/moved.csv"
	if err := e.store.SetPull(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	now = now.Add(25 * time.Hour)
	s.RunDue(e.ctx)
	got, _ = e.store.Pull(e.ctx, en.ID)
	if got.LastError == "" || got.LastJob != 0 {
		t.Errorf("failed pull: %+v", got)
	}
	if info, _ := e.store.Table(e.ctx, en.ID); info.Rows != 2 {
		t.Errorf("table after a failed pull: %+v", info)
	}
	if err := e.store.SetPull(e.ctx, &cityhub.Pull{EntryID: en.ID, URL: "ftp://x", Mode: "merge"}); cityhub.ErrorCode(err) != cityhub.EINVALID {
		t.Errorf("bad pull: got %v", err)
	}
}

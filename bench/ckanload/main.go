// Command ckanload measures the CKAN-compatible API on loopback: a store
// with N open packages and one resource of R rows, served by the ckan
// package over real HTTP, and closed-loop clients (each sends its next
// request when the answer has arrived) for a fixed time a phase:
//
//   - package_search: Chinese words, a provider filter (fq), tags, facets,
//     and plain browsing, rows=10;
//   - datastore_search: a filter on 成立日期 (a day: ~900 of 10M rows) with
//     CKAN's default exact total, limit 20.
//
// It prints requests/s and latency percentiles a phase. The store is built
// once in -dir and reused (10M rows take a few minutes to load).
//
//	go run ./bench/ckanload -packages 100000 -rows 10000000 -dir /tmp/ckanload
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/bench/internal/synth"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/ckan"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tabular"
)

type config struct {
	packages, rows, workers int
	dir                     string
	duration                time.Duration
	phases, cpuProfile      string
}

func main() {
	var c config
	flag.IntVar(&c.packages, "packages", 100000, "open packages in the catalog")
	flag.IntVar(&c.rows, "rows", 10_000_000, "rows of the datastore resource")
	flag.IntVar(&c.workers, "workers", 16, "concurrent closed-loop clients")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "how long each phase sends")
	flag.StringVar(&c.dir, "dir", "", "work directory, kept and reused (default a temp dir, removed)")
	flag.StringVar(&c.phases, "phases", "search,datastore", "phases to run, comma-separated")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of each phase to this path + .<phase>")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ckanload:", err)
		os.Exit(1)
	}
}

const tableName = "企业登记信息（基准）"

func run(c config) error {
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench"})
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "ckanload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.dir = dir
	} else if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	key, err := cityhub.LoadAuditKey(filepath.Join(c.dir, "audit.key"), true)
	if err != nil {
		return err
	}
	s, err := sqlstore.Open(ctx, filepath.Join(c.dir, "bench.db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := build(ctx, c, s); err != nil {
		return err
	}
	table, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Q: tableName, Public: true, Limit: 1})
	if err != nil || table.Total == 0 {
		return fmt.Errorf("the benchmark table is missing: %v", err)
	}

	x := catalogindex.New(s)
	x.Start(ctx)
	<-x.Ready()
	if err := x.Err(); err != nil {
		return err
	}
	pub, _ := x.SearchCatalog(ctx, cityhub.CatalogQuery{Public: true, Limit: 1})
	fmt.Printf("catalog: %d public packages (index of %d entries); resource %s: %d rows\n",
		pub.Total, x.Len(), cityhub.ResourceID(table.Entries[0].ID), c.rows)

	mux := http.NewServeMux()
	(&ckan.Server{Store: s, Search: x}).Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.workers, MaxConnsPerHost: c.workers}, Timeout: 30 * time.Second}

	fmt.Printf("load: %d closed-loop clients, %s a phase, GOMAXPROCS %d, server and clients in one process\n",
		c.workers, c.duration, runtime.GOMAXPROCS(0))
	for _, phase := range []struct {
		name string
		next func(rng *rand.Rand) string
	}{
		{"search", searchURLs(base)},
		{"datastore", datastoreURLs(base, cityhub.ResourceID(table.Entries[0].ID))},
	} {
		if !slices.Contains(strings.Split(c.phases, ","), phase.name) {
			continue
		}
		if err := load(client, phase.name, phase.next, c); err != nil {
			return err
		}
	}
	return nil
}

// build fills the store once: the demo city's departments, synthetic open
// packages, and the enterprise table open unconditionally.
func build(ctx context.Context, c config, s *sqlstore.Store) error {
	if _, err := demo.Load(ctx, s, func(string) string { return "x" }); err != nil {
		return err
	}
	depts, _, err := s.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return err
	}
	have, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 1})
	if err != nil {
		return err
	}
	if have.Total < c.packages {
		t0 := time.Now()
		if err := synth.Entries(ctx, s, depts, c.packages-have.Total); err != nil {
			return err
		}
		fmt.Printf("built %d entries in %s\n", c.packages-have.Total, time.Since(t0).Round(time.Second))
	}
	found, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Q: tableName, Public: true, Limit: 1})
	if err != nil || found.Total > 0 {
		return err
	}
	e := &cityhub.CatalogEntry{ClassificationCode: "102", Name: tableName, ProviderID: depts[0].ID,
		Abstract: "基准测试用的企业登记数据。", Format: cityhub.FormatDatabase, Items: synth.EnterpriseItems,
		ShareType: cityhub.Unconditional, ShareMethod: "接口", OpenType: cityhub.Unconditional,
		UpdateCycle: cityhub.CycleDaily, Domain: "market"}
	if err := s.CreateEntry(ctx, e); err != nil {
		return err
	}
	for _, step := range []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish} {
		if _, err := s.TransitionEntry(ctx, e.ID, step, ""); err != nil {
			return err
		}
	}
	csvPath := filepath.Join(c.dir, fmt.Sprintf("enterprises-%d.csv", c.rows))
	if _, err := os.Stat(csvPath); err != nil {
		if err := synth.WriteEnterprisesCSV(csvPath, c.rows); err != nil {
			return err
		}
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	st, _ := f.Stat()
	t0 := time.Now()
	job, err := loader.Load(ctx, s, e, f, st.Size(), loader.Options{Mode: cityhub.LoadReplace, Source: "bench.csv",
		Read: tabular.Options{Format: tabular.CSV}})
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d rows in %s (%s)\n", job.Stored, time.Since(t0).Round(time.Second), job.Status)
	return nil
}

func searchURLs(base string) func(*rand.Rand) string {
	words := []string{"路灯", "空气质量", "企业", "停车场", "水质", "公交", "医院", "井盖 巡查", "parking", "traffic"}
	facets := url.QueryEscape(`["organization","tags","res_format","groups"]`)
	return func(rng *rand.Rand) string {
		switch rng.IntN(4) {
		case 0:
			return base + "/api/3/action/package_search?q=" + url.QueryEscape(words[rng.IntN(len(words))])
		case 1:
			return base + "/api/3/action/package_search?q=" + url.QueryEscape(words[rng.IntN(len(words))]) +
				"&facet.field=" + facets
		case 2:
			return base + "/api/3/action/package_search?fq=" + url.QueryEscape("groups:traffic") + "&sort=" +
				url.QueryEscape("metadata_modified desc")
		}
		return base + "/api/3/action/package_search?start=" + fmt.Sprint(rng.IntN(1000))
	}
}

func datastoreURLs(base, resource string) func(*rand.Rand) string {
	start := time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(rng *rand.Rand) string {
		day := start.AddDate(0, 0, rng.IntN(30*365)).Format("2006-01-02")
		filters, _ := json.Marshal(map[string]string{"founded": day})
		return base + "/api/3/action/datastore_search?resource_id=" + resource + "&limit=20&filters=" + url.QueryEscape(string(filters))
	}
}

// load runs the closed-loop clients for the phase and prints the figures.
func load(client *http.Client, name string, next func(*rand.Rand) string, c config) error {
	// One request first: a wrong URL should fail loudly, not be timed.
	if body, err := get(client, next(rand.New(rand.NewPCG(9, 9)))); err != nil {
		return fmt.Errorf("%s: %w: %.300s", name, err, body)
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile + "." + name)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	deadline := time.Now().Add(c.duration)
	var mu sync.Mutex
	var lat []time.Duration
	var failures int
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []time.Duration
			bad := 0
			var err1 error
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := get(client, next(rng)); err != nil {
					bad++
					if err1 == nil {
						err1 = err
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			failures += bad
			if firstErr == nil {
				firstErr = err1
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	fmt.Printf("%-10s %7.0f req/s  (%d answered in %s, %d failed)  p50 %s  p95 %s  p99 %s  max %s\n", name,
		float64(len(lat))/took.Seconds(), len(lat), took.Round(time.Millisecond), failures, pct(0.5), pct(0.95), pct(0.99), pct(1))
	if failures > 0 {
		return fmt.Errorf("%s: %d requests failed, the first: %w", name, failures, firstErr)
	}
	return nil
}

// get fetches a URL and requires CKAN's success envelope. It reads the
// envelope's head only (help, then success): decoding whole answers took a
// quarter of the machine from the server the clients share it with; the
// contract tests check the bodies.
func get(client *http.Client, u string) ([]byte, error) {
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	head := body[:min(len(body), 300)]
	if resp.StatusCode != 200 || !bytes.HasPrefix(head, []byte(`{"help":`)) || !bytes.Contains(head, []byte(`"success":true`)) {
		return body, errors.New(resp.Status)
	}
	return body, nil
}

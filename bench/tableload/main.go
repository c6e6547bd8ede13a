// Command tableload measures loading a large CSV into an entry's table
// (validate + store) and a filtered query with total on the loaded table,
// on SQLite or PostgreSQL, and on PostgreSQL also the server's own COPY of
// the same file as the ceiling.
//
//	go run ./bench/tableload -rows 10000000                   # SQLite in a temp dir
//	go run ./bench/tableload -rows 10000000 -db postgres://…  # PostgreSQL, plus COPY
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/bench/internal/synth"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tabular"
	"github.com/jackc/pgx/v5/stdlib"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the generated CSV")
	dsn := flag.String("db", "", "postgres:// URL (a fresh schema is made and dropped); empty: SQLite in a temp dir")
	dir := flag.String("dir", "", "work directory (default a temp dir, removed after)")
	queries := flag.Int("queries", 200, "filtered queries to time")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*rows, *dsn, *dir, *queries); err != nil {
		fmt.Fprintln(os.Stderr, "tableload:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// sampleMemory reads the process's anonymous and file-backed resident
// memory every 50 ms and reports the peaks (KiB) when stopped: SQLite's
// memory is outside the Go heap, and only the first kind is really spent.
func sampleMemory(stop <-chan struct{}, peaks chan<- [2]int) {
	var p [2]int
	names := []string{"RssAnon:", "RssFile:"}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		data, _ := os.ReadFile("/proc/self/status")
		for _, line := range strings.Split(string(data), "\n") {
			for i, n := range names {
				if strings.HasPrefix(line, n) {
					kb, _ := strconv.Atoi(strings.Fields(line)[1])
					p[i] = max(p[i], kb)
				}
			}
		}
		select {
		case <-stop:
			peaks <- p
			return
		case <-tick.C:
		}
	}
}

// peakRSS is the process's peak resident memory (VmHWM) in MiB.
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return fmt.Sprintf("%d MiB", kb/1024)
		}
	}
	return "?"
}

func run(n int, dsn, dir string, queries int) error {
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench"})
	if dir == "" {
		d, err := os.MkdirTemp("", "tableload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	csvPath := filepath.Join(dir, fmt.Sprintf("enterprises-%d.csv", n))
	if _, err := os.Stat(csvPath); err != nil {
		t0 := time.Now()
		if err := synth.WriteEnterprisesCSV(csvPath, n); err != nil {
			return err
		}
		fmt.Printf("generated %s in %s\n", csvPath, time.Since(t0).Round(time.Second))
	}
	st, err := os.Stat(csvPath)
	if err != nil {
		return err
	}
	fmt.Printf("file: %d rows, %.0f MB\n", n, float64(st.Size())/1e6)

	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		return err
	}
	storeDSN := filepath.Join(dir, "bench.db")
	var schema string
	if dsn != "" {
		schema = fmt.Sprintf("tableload_%d", os.Getpid())
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			return err
		}
		defer func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() }()
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		storeDSN = dsn + sep + "search_path=" + schema
	} else {
		os.Remove(storeDSN)
	}
	s, err := sqlstore.Open(ctx, storeDSN, sqlstore.Options{AuditKey: key})
	if err != nil {
		return err
	}
	defer s.Close()
	d := &cityhub.Department{Name: "宁波市市场监督管理局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	if err := s.CreateDepartment(ctx, d); err != nil {
		return err
	}
	e := &cityhub.CatalogEntry{ClassificationCode: "102", Name: "企业登记信息", ProviderID: d.ID, Abstract: "benchmark",
		Format: cityhub.FormatDatabase, Items: synth.EnterpriseItems, ShareType: cityhub.Unconditional, ShareMethod: "接口",
		OpenType: cityhub.NotShared, OpenBasis: "bench", UpdateCycle: cityhub.CycleDaily}
	if err := s.CreateEntry(ctx, e); err != nil {
		return err
	}

	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var rowsPeak string
	stopSampling := make(chan struct{})
	sampled := make(chan [2]int)
	go sampleMemory(stopSampling, sampled)
	job, err := loader.Load(ctx, s, e, f, st.Size(), loader.Options{Mode: cityhub.LoadReplace, Source: "bench.csv",
		Read: tabular.Options{Format: tabular.CSV}, Progress: func(j *cityhub.LoadJob) {
			if j.Status == cityhub.JobRunning {
				rowsPeak = peakRSS() // the last one before the load finishes
			}
		}})
	f.Close()
	if err != nil {
		return err
	}
	took := time.Since(t0)
	close(stopSampling)
	mem := <-sampled
	fmt.Printf("%s load: %s in %s: %.0f rows/s (received %d, stored %d, rejected %d); peak RSS %s (%s while writing rows; sampled peaks: anonymous %d MiB, file-backed %d MiB)\n", s.Dialect(),
		job.Status, took.Round(time.Millisecond), float64(job.Stored)/took.Seconds(), job.Received, job.Stored, job.Rejected, peakRSS(), rowsPeak,
		mem[0]/1024, mem[1]/1024)

	// A filtered query on an indexed column (成立日期) with the exact total.
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)
	var lat []time.Duration
	var matched int64
	for i := 0; i < queries; i++ {
		day := base.AddDate(0, 0, rng.IntN(30*365)).Format("2006-01-02")
		t := time.Now()
		res, err := s.QueryRows(ctx, cityhub.RowQuery{EntryID: e.ID, Total: true, Limit: 20,
			Filters: []cityhub.RowFilter{{Item: "成立日期", Op: "eq", Values: []string{day}}}})
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
		matched += *res.Total
	}
	slices.Sort(lat)
	fmt.Printf("%s query (成立日期 = day, total + first 20 rows): %d queries, %d rows matched on average, p50 %s p95 %s\n",
		s.Dialect(), queries, matched/int64(queries), lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*95/100].Round(10*time.Microsecond))

	if dsn != "" {
		return copyCeiling(ctx, s, schema, csvPath, n)
	}
	return nil
}

// copyCeiling loads the same file with PostgreSQL's own COPY into a plain
// table of the same types with a primary key: no validation, no versions.
func copyCeiling(ctx context.Context, s *sqlstore.Store, schema, path string, n int) error {
	if _, err := s.Exec(ctx, `CREATE TABLE `+schema+`.copy_ceiling (credit_code TEXT PRIMARY KEY, name TEXT, district TEXT,
		capital DOUBLE PRECISION, founded TEXT, staff DOUBLE PRECISION, mobile TEXT)`); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	t0 := time.Now()
	err = conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, f,
			"COPY "+schema+".copy_ceiling FROM STDIN WITH (FORMAT csv, HEADER true)")
		return err
	})
	if err != nil {
		return err
	}
	took := time.Since(t0)
	fmt.Printf("postgres COPY ceiling: %d rows in %s: %.0f rows/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

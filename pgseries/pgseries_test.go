package pgseries_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/pgseries"
	"github.com/cityhub/cityhub/seriestest"
	"github.com/jackc/pgx/v5"
)

// postgresEnv holds the DSN of a PostgreSQL database the tests may use.
// Each test works in a schema of its own and drops it afterwards.
const postgresEnv = "CITYHUB_TEST_POSTGRES"

func TestConformance(t *testing.T) {
	dsn := postgresDSN(t)
	seriestest.Run(t, func(t *testing.T) seriestest.Opened {
		schema := freshSchema(t, dsn)
		reopen := func(t *testing.T) cityhub.SeriesStore { return open(t, dsn, schema) }
		return seriestest.Opened{Store: reopen(t), Reopen: reopen}
	})
}

// TestOpenConcurrently opens several stores on one empty schema at once,
// as nodes starting together do, and lets them all create the same day's
// partition.
func TestOpenConcurrently(t *testing.T) {
	dsn := postgresDSN(t)
	schema := freshSchema(t, dsn)
	const n = 4
	stores := make([]*pgseries.Store, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := range n {
		go func() {
			defer func() { done <- i }()
			stores[i], errs[i] = pgseries.Open(context.WithoutCancel(t.Context()), dsn, pgseries.Options{Schema: schema})
			if errs[i] == nil {
				_, errs[i] = stores[i].Write(t.Context(), []cityhub.Reading{{DeviceID: int64(i + 1), Time: time.Now(),
					Values: []cityhub.Value{{Key: "pm25", Num: 1, Kind: cityhub.KindNumber}}}})
			}
		}()
	}
	for range n {
		<-done
	}
	for i, err := range errs {
		if stores[i] != nil {
			t.Cleanup(func() { stores[i].Close() })
		}
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// Prune drops the days wholly before the cut as tables and deletes only
// from the day the cut falls in.
func TestPruneDropsDays(t *testing.T) {
	dsn := postgresDSN(t)
	schema := freshSchema(t, dsn)
	s := open(t, dsn, schema)
	ctx := t.Context()
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var rs []cityhub.Reading
	for h := 0; h < 72; h += 6 {
		rs = append(rs, pm25(1, day0.Add(time.Duration(h)*time.Hour), float64(h)))
	}
	if _, err := s.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	want := []string{"series_readings_p20261120", "series_readings_p20261121", "series_readings_p20261122"}
	if got := partitions(t, dsn, schema); !slices.Equal(got, want) {
		t.Fatalf("partitions: got %v, want %v", got, want)
	}
	n, err := s.Prune(ctx, day0.Add(36*time.Hour))
	if err != nil || n != 6 {
		t.Fatalf("prune: got %d, %v; want 6", n, err)
	}
	if got := partitions(t, dsn, schema); !slices.Equal(got, want[1:]) {
		t.Errorf("partitions after prune: got %v, want %v", got, want[1:])
	}
}

// A store whose partition cache is stale (another node pruned the day)
// recreates the partition and writes.
func TestWriteAfterAnotherStorePruned(t *testing.T) {
	dsn := postgresDSN(t)
	schema := freshSchema(t, dsn)
	a, b := open(t, dsn, schema), open(t, dsn, schema)
	ctx := t.Context()
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := a.Write(ctx, []cityhub.Reading{pm25(1, at, 1)}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Prune(ctx, at.Add(48*time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: got %d, %v; want 1", n, err)
	}
	out, err := a.Write(ctx, []cityhub.Reading{pm25(1, at, 2), pm25(2, at.Add(time.Hour), 3)})
	if err != nil || !slices.Equal(out, []cityhub.ReadingOutcome{cityhub.Stored, cityhub.Stored}) {
		t.Fatalf("write into the pruned day: got %v, %v", out, err)
	}
	if got := partitions(t, dsn, schema); !slices.Equal(got, []string{"series_readings_p20261120"}) {
		t.Errorf("partitions: got %v", got)
	}
}

func pm25(device int64, at time.Time, v float64) cityhub.Reading {
	return cityhub.Reading{DeviceID: device, Time: at, Values: []cityhub.Value{{Key: "pm25", Num: v, Kind: cityhub.KindNumber}}}
}

// partitions lists the partitions of schema's readings table by name.
func partitions(t *testing.T, dsn, schema string) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT relid::regclass::text FROM pg_partition_tree($1::regclass)
		WHERE isleaf ORDER BY 1`, schema+".series_readings")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, schema+".")
	}
	return names
}

// BenchmarkWrite writes batches of readings with three values from 10,000
// devices, as the ingest writer does (the same load as tsdb's).
func BenchmarkWrite(b *testing.B) {
	dsn := postgresDSN(b)
	schema := freshSchema(b, dsn)
	s := open(b, dsn, schema)
	const devices, batch = 10000, 5000
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		rs := make([]cityhub.Reading, batch)
		for i := range rs {
			d := int64(n % devices)
			at := t0.Add(time.Duration(n/devices) * time.Second)
			rs[i] = cityhub.Reading{DeviceID: d + 1, Time: at, Values: []cityhub.Value{
				{Key: "pm25", Num: rng.Float64() * 100, Kind: cityhub.KindNumber},
				{Key: "no2", Num: rng.Float64() * 100, Kind: cityhub.KindNumber},
				{Key: "o3", Num: rng.Float64() * 100, Kind: cityhub.KindNumber},
			}}
			n++
		}
		if _, err := s.Write(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*3)/b.Elapsed().Seconds(), "values/s")
	b.StopTimer()
	// What a value costs on disk: raw readings alone, and everything with
	// the rollups and latest values.
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var raw int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint
		FROM pg_partition_tree($1::regclass)`, schema+".series_readings").Scan(&raw); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(raw)/float64(st.Values), "raw-B/value")
	b.ReportMetric(float64(st.Bytes)/float64(st.Values), "total-B/value")
}

func open(t testing.TB, dsn, schema string) *pgseries.Store {
	t.Helper()
	s, err := pgseries.Open(context.WithoutCancel(t.Context()), dsn, pgseries.Options{Schema: schema})
	if err != nil {
		t.Fatalf("open series store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresDSN returns the DSN of the test database, or skips t.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skip(postgresEnv + " is empty; set it to a PostgreSQL DSN, e.g. " +
			"postgres://postgres@127.0.0.1:5432/test?sslmode=disable, to run the PostgreSQL series store tests")
	}
	return dsn
}

// freshSchema names a schema of its own for t (the store creates it) and
// drops it when t ends.
func freshSchema(t testing.TB, dsn string) string {
	t.Helper()
	schema := fmt.Sprintf("seriestest_%016x", rand.Uint64())
	ctx := context.WithoutCancel(t.Context())
	// Registered before the stores' cleanups, so it runs after them.
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

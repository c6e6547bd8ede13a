package tsdb_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tsdb"
)

func open(t testing.TB, path string) *tsdb.Store {
	t.Helper()
	s, err := tsdb.Open(context.Background(), path, tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reading(device int64, at time.Time, pm25, no2 float64) cityhub.Reading {
	return cityhub.Reading{DeviceID: device, Time: at, Values: []cityhub.Value{
		{Key: "pm25", Num: pm25, Kind: cityhub.KindNumber},
		{Key: "no2", Num: no2, Kind: cityhub.KindNumber},
		{Key: "airQualityLevel", Text: "良", Kind: cityhub.KindText},
	}}
}

// BenchmarkWrite writes batches of readings with three values from 10,000
// devices, as the ingest writer does.
func BenchmarkWrite(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "series.db"))
	defer s.Close()
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
}

// Late readings correct the rollups they fall in; pruning raw readings
// keeps the rollups; a restart after a crash (no flush) counts each
// reading once.
func TestRollupsLateDataPruneAndRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "series.db")
	s := open(t, path)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var rs []cityhub.Reading
	for i := range 60 {
		rs = append(rs, reading(1, t0.Add(time.Duration(i)*time.Minute), float64(i), 10))
	}
	if _, err := s.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Late, an hour after the fact, into the flushed hour.
	out, err := s.Write(ctx, []cityhub.Reading{reading(1, t0.Add(30*time.Second), 1000, 10), reading(1, t0, 0, 10), reading(1, t0, 5, 10)})
	if err != nil || out[0] != cityhub.Stored || out[1] != cityhub.Duplicate || out[2] != cityhub.Conflict {
		t.Fatalf("outcomes %v, %v", out, err)
	}
	hour := func(s *tsdb.Store, agg string) float64 {
		t.Helper()
		pts, err := s.Series(ctx, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Hour), Step: time.Hour, Agg: agg})
		if err != nil || len(pts) != 1 {
			t.Fatalf("hour %s: %v %v", agg, pts, err)
		}
		return pts[0].Value
	}
	if hour(s, "count") != 61 || hour(s, "max") != 1000 || hour(s, "last") != 59 {
		t.Errorf("hour after late data: count %v max %v last %v", hour(s, "count"), hour(s, "max"), hour(s, "last"))
	}
	// The process dies before the late reading's rollup is flushed: the
	// store is not closed, only reopened on the same file.
	s2 := open(t, path)
	if hour(s2, "count") != 61 || hour(s2, "sum") != 1000+59*60/2 {
		t.Errorf("after reopening: count %v sum %v", hour(s2, "count"), hour(s2, "sum"))
	}
	latest, _ := s2.Latest(ctx, []int64{1})
	if len(latest[1]) != 3 || latest[1][2].Num != 59 { // airQualityLevel, no2, pm25
		t.Errorf("latest after reopening: %+v", latest[1])
	}
	n, err := s2.Prune(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 61 {
		t.Errorf("pruned %d, %v", n, err)
	}
	if raw, _ := s2.Series(ctx, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Hour)}); len(raw) != 0 {
		t.Errorf("raw after prune: %d", len(raw))
	}
	if hour(s2, "count") != 61 {
		t.Errorf("rollup after prune: %v", hour(s2, "count"))
	}
	s2.Close()
	s.Close()
}

// BenchmarkSeries7Days reads 7 days at a 1-minute step (10,080 points) of
// one property from the rollup table, as a week's chart does.
func BenchmarkSeries7Days(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "series.db"))
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var rs []cityhub.Reading
	for i := range 7 * 24 * 60 {
		rs = append(rs, reading(1, t0.Add(time.Duration(i)*time.Minute), float64(i%100), 1))
	}
	if _, err := s.Write(ctx, rs); err != nil {
		b.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	q := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(7 * 24 * time.Hour), Step: time.Minute}
	for b.Loop() {
		pts, err := s.Series(ctx, q)
		if err != nil || len(pts) != 10080 {
			b.Fatalf("%d points, %v", len(pts), err)
		}
	}
}

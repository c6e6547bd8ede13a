// Package seriestest is the conformance suite of cityhub.SeriesStore. Every
// series store (tsdb on SQLite, pgseries on PostgreSQL) runs it against a
// real database, so the implementations cannot drift apart.
//
// A store package wires it up in its own tests:
//
//	func TestConformance(t *testing.T) {
//		seriestest.Run(t, func(t *testing.T) seriestest.Opened { … })
//	}
package seriestest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// Opened is a freshly opened, empty store for one test.
type Opened struct {
	Store cityhub.SeriesStore
	// Reopen opens another store on the same data, as a restarted process
	// would; the store opened before may still be open (a crash leaves it
	// unclosed) and is not used again. The opener closes each store when
	// t ends; Close may then be called a second time.
	Reopen func(t *testing.T) cityhub.SeriesStore
}

// Opener opens an empty store for t and removes its data when t ends.
type Opener func(t *testing.T) Opened

// Run runs the whole suite; each subtest opens its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, o Opened)
	}{
		{"Outcomes", testOutcomes},
		{"OutcomesWithinOneWrite", testOutcomesWithinOneWrite},
		{"MillisecondPrecision", testMillisecondPrecision},
		{"LatestByObservationTime", testLatest},
		{"RawSeries", testRaw},
		{"RawLimit", testRawLimit},
		{"MinuteAggregates", testMinuteAggregates},
		{"HourAggregates", testHourAggregates},
		{"LateReadingsCorrectRollups", testLateReadings},
		{"PruneKeepsRollups", testPrune},
		{"ReopenKeepsEverything", testReopen},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Stats", testStats},
		{"InvalidQueries", testInvalidQueries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is a Friday morning in Ningbo, on the hour.
var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

func num(key string, v float64) cityhub.Value {
	return cityhub.Value{Key: key, Num: v, Kind: cityhub.KindNumber}
}

func text(key, v string) cityhub.Value {
	return cityhub.Value{Key: key, Text: v, Kind: cityhub.KindText}
}

func boolean(key string, v bool) cityhub.Value {
	b := cityhub.Value{Key: key, Kind: cityhub.KindBool}
	if v {
		b.Num = 1
	}
	return b
}

func reading(device int64, at time.Time, values ...cityhub.Value) cityhub.Reading {
	return cityhub.Reading{DeviceID: device, Time: at, Values: values}
}

// air is an air-quality reading with a number and a text property.
func air(device int64, at time.Time, pm25 float64) cityhub.Reading {
	return reading(device, at, num("pm25", pm25), text("airQualityLevel", level(pm25)))
}

func level(pm25 float64) string {
	if pm25 <= 35 {
		return "优"
	}
	return "良"
}

func write(t *testing.T, s cityhub.SeriesStore, rs ...cityhub.Reading) []cityhub.ReadingOutcome {
	t.Helper()
	out, err := s.Write(t.Context(), rs)
	if err != nil {
		t.Fatalf("write %d readings: %v", len(rs), err)
	}
	if len(out) != len(rs) {
		t.Fatalf("write %d readings: got %d outcomes", len(rs), len(out))
	}
	return out
}

func wantOutcomes(t *testing.T, got []cityhub.ReadingOutcome, want ...cityhub.ReadingOutcome) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("outcomes: got %v, want %v (0 stored, 1 duplicate, 2 conflict)", got, want)
	}
}

func series(t *testing.T, s cityhub.SeriesStore, q cityhub.SeriesQuery) []cityhub.Point {
	t.Helper()
	pts, err := s.Series(t.Context(), q)
	if err != nil {
		t.Fatalf("series %+v: %v", q, err)
	}
	return pts
}

// agg returns the one aggregate of device 1's key over [from, from+step).
func agg(t *testing.T, s cityhub.SeriesStore, key string, from time.Time, step time.Duration, name string) float64 {
	t.Helper()
	pts := series(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: key, From: from, To: from.Add(step), Step: step, Agg: name})
	if len(pts) != 1 || !pts[0].Time.Equal(from) {
		t.Fatalf("%s %s over %s from %s: got %v, want one point at the start", name, key, step, from.Format(time.TimeOnly), pts)
	}
	return pts[0].Value
}

// wantAggs checks every aggregate of device 1's key over one step.
func wantAggs(t *testing.T, s cityhub.SeriesStore, key string, from time.Time, step time.Duration, want map[string]float64) {
	t.Helper()
	for _, name := range cityhub.Aggregates {
		if got := agg(t, s, key, from, step, name); got != want[name] {
			t.Errorf("%s of %s over %s from %s: got %v, want %v", name, key, step, from.Format(time.TimeOnly), got, want[name])
		}
	}
}

// summary gives every aggregate of values in observation order.
func summary(values ...float64) map[string]float64 {
	m := map[string]float64{"min": values[0], "max": values[0], "count": float64(len(values)), "last": values[len(values)-1]}
	for _, v := range values {
		m["min"], m["max"] = min(m["min"], v), max(m["max"], v)
		m["sum"] += v
	}
	m["avg"] = m["sum"] / m["count"]
	return m
}

func latest(t *testing.T, s cityhub.SeriesStore, device int64) map[string]cityhub.LatestValue {
	t.Helper()
	got, err := s.Latest(t.Context(), []int64{device})
	if err != nil {
		t.Fatalf("latest of device %d: %v", device, err)
	}
	if !slices.IsSortedFunc(got[device], func(a, b cityhub.LatestValue) int { return strings.Compare(a.Key, b.Key) }) {
		t.Errorf("latest of device %d: got keys out of order: %v", device, got[device])
	}
	m := map[string]cityhub.LatestValue{}
	for _, lv := range got[device] {
		m[lv.Key] = lv
	}
	if len(m) != len(got[device]) {
		t.Errorf("latest of device %d: a key twice in %v", device, got[device])
	}
	return m
}

func wantLatest(t *testing.T, got map[string]cityhub.LatestValue, key string, at time.Time, want cityhub.Value) {
	t.Helper()
	lv, ok := got[key]
	if !ok {
		t.Errorf("latest %s: missing", key)
		return
	}
	if !lv.Time.Equal(at) || lv.Value != want {
		t.Errorf("latest %s: got %+v at %s, want %+v at %s", key, lv.Value, lv.Time.UTC().Format(time.TimeOnly), want, at.Format(time.TimeOnly))
	}
}

func wantRaw(t *testing.T, s cityhub.SeriesStore, q cityhub.SeriesQuery, want ...cityhub.Point) {
	t.Helper()
	got := series(t, s, q)
	if len(got) != len(want) {
		t.Errorf("raw %s %s to %s: got %d points %v, want %d %v", q.Key, q.From.Format(time.TimeOnly), q.To.Format(time.TimeOnly), len(got), got, len(want), want)
		return
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Value != want[i].Value || got[i].Text != want[i].Text {
			t.Errorf("raw %s point %d: got %+v, want %+v", q.Key, i, got[i], want[i])
		}
	}
}

func testOutcomes(t *testing.T, o Opened) {
	s := o.Store
	if out := write(t, s); len(out) != 0 {
		t.Errorf("empty write: got %v", out)
	}
	wantOutcomes(t, write(t, s, air(1, t0, 10), air(1, t0.Add(time.Minute), 20), air(2, t0, 30)),
		cityhub.Stored, cityhub.Stored, cityhub.Stored)
	// Again, with the values in another order: the same readings.
	again := reading(1, t0, text("airQualityLevel", "优"), num("pm25", 10))
	wantOutcomes(t, write(t, s, again, air(2, t0, 30), air(1, t0, 11), reading(1, t0.Add(time.Minute), num("pm25", 20)), air(3, t0, 40)),
		cityhub.Duplicate, cityhub.Duplicate, cityhub.Conflict, cityhub.Conflict, cityhub.Stored)
	// Neither a duplicate nor a conflict changed anything.
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Hour)},
		cityhub.Point{Time: t0, Value: 10}, cityhub.Point{Time: t0.Add(time.Minute), Value: 20})
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 20))
	wantLatest(t, latest(t, s, 1), "pm25", t0.Add(time.Minute), num("pm25", 20))
}

func testOutcomesWithinOneWrite(t *testing.T, o Opened) {
	s := o.Store
	wantOutcomes(t, write(t, s,
		air(1, t0, 10), air(1, t0, 10), air(1, t0, 12), air(2, t0, 10), air(1, t0, 12), air(1, t0, 10)),
		cityhub.Stored, cityhub.Duplicate, cityhub.Conflict, cityhub.Stored, cityhub.Conflict, cityhub.Duplicate)
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Hour)}, cityhub.Point{Time: t0, Value: 10})
	wantAggs(t, s, "pm25", t0, time.Minute, summary(10))
	wantLatest(t, latest(t, s, 1), "pm25", t0, num("pm25", 10))
	// Of two new readings of one device and time, the first given is stored.
	wantOutcomes(t, write(t, s, air(3, t0, 50), air(1, t0, 10), air(3, t0, 5)),
		cityhub.Stored, cityhub.Duplicate, cityhub.Conflict)
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 3, Key: "pm25", From: t0, To: t0.Add(time.Hour)}, cityhub.Point{Time: t0, Value: 50})
}

// Observation times have millisecond precision: readings apart by less
// are the same reading.
func testMillisecondPrecision(t *testing.T, o Opened) {
	s := o.Store
	at := t0.Add(1500 * time.Millisecond)
	wantOutcomes(t, write(t, s, air(1, at, 10), air(1, at.Add(300*time.Microsecond), 10), air(1, at.Add(time.Millisecond), 11)),
		cityhub.Stored, cityhub.Duplicate, cityhub.Stored)
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Minute)},
		cityhub.Point{Time: at, Value: 10}, cityhub.Point{Time: at.Add(time.Millisecond), Value: 11})
}

func testLatest(t *testing.T, o Opened) {
	s := o.Store
	ctx := t.Context()
	if got, err := s.Latest(ctx, []int64{1}); err != nil || len(got[1]) != 0 {
		t.Fatalf("latest of an empty store: got %v, %v", got, err)
	}
	t2 := t0.Add(2 * time.Minute)
	write(t, s, reading(1, t2, num("pm25", 20), text("airQualityLevel", "良"), boolean("alarm", true), num("NO2", 7)))
	// Late: observed earlier, arrives later. It must not replace the newer
	// values, but a property the newer reading lacks takes its value.
	write(t, s, reading(1, t0, num("pm25", 10), text("airQualityLevel", "优"), boolean("alarm", false), num("co", 0.4)))
	got := latest(t, s, 1)
	if len(got) != 5 {
		t.Errorf("latest: got %d keys %v, want 5", len(got), got)
	}
	wantLatest(t, got, "pm25", t2, num("pm25", 20))
	wantLatest(t, got, "airQualityLevel", t2, text("airQualityLevel", "良"))
	wantLatest(t, got, "alarm", t2, boolean("alarm", true))
	wantLatest(t, got, "NO2", t2, num("NO2", 7))
	wantLatest(t, got, "co", t0, num("co", 0.4))
	// Newer readings replace, each property by itself; in one write the
	// newest wins whatever the order.
	t3, t4 := t2.Add(time.Minute), t2.Add(2*time.Minute)
	write(t, s, reading(1, t4, num("pm25", 40)), reading(1, t3, num("pm25", 30), text("airQualityLevel", "轻度污染")), reading(2, t3, num("pm25", 99)))
	got = latest(t, s, 1)
	wantLatest(t, got, "pm25", t4, num("pm25", 40))
	wantLatest(t, got, "airQualityLevel", t3, text("airQualityLevel", "轻度污染"))
	wantLatest(t, got, "alarm", t2, boolean("alarm", true))
	// Conflicts change nothing.
	write(t, s, reading(1, t4, num("pm25", 41)))
	wantLatest(t, latest(t, s, 1), "pm25", t4, num("pm25", 40))

	all, err := s.Latest(ctx, []int64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(all[1]) != 5 || len(all[2]) != 1 || len(all[3]) != 0 {
		t.Errorf("latest of devices 1, 2, 3: got %d, %d, %d values, want 5, 1, 0", len(all[1]), len(all[2]), len(all[3]))
	}
}

func testRaw(t *testing.T, o Opened) {
	s := o.Store
	write(t, s,
		air(1, t0, 10),
		reading(1, t0.Add(time.Second), num("no2", 3)), // no pm25
		air(1, t0.Add(2*time.Second), 40),
		air(2, t0.Add(3*time.Second), 99),
		reading(1, t0.Add(4*time.Second), num("pm25", 12.5), boolean("alarm", true)),
		air(1, t0.Add(5*time.Second), 13), // at To: excluded
	)
	q := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(5 * time.Second)}
	wantRaw(t, s, q, cityhub.Point{Time: t0, Value: 10}, cityhub.Point{Time: t0.Add(2 * time.Second), Value: 40},
		cityhub.Point{Time: t0.Add(4 * time.Second), Value: 12.5})
	q.From = t0.Add(time.Second) // inclusive
	wantRaw(t, s, q, cityhub.Point{Time: t0.Add(2 * time.Second), Value: 40}, cityhub.Point{Time: t0.Add(4 * time.Second), Value: 12.5})
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "airQualityLevel", From: t0, To: t0.Add(time.Minute)},
		cityhub.Point{Time: t0, Text: "优"}, cityhub.Point{Time: t0.Add(2 * time.Second), Text: "良"}, cityhub.Point{Time: t0.Add(5 * time.Second), Text: "优"})
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "alarm", From: t0, To: t0.Add(time.Minute)}, cityhub.Point{Time: t0.Add(4 * time.Second), Value: 1})
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "nothing", From: t0, To: t0.Add(time.Minute)})
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 3, Key: "pm25", From: t0, To: t0.Add(time.Minute)})
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Minute), Limit: 2},
		cityhub.Point{Time: t0, Value: 10}, cityhub.Point{Time: t0.Add(2 * time.Second), Value: 40})
	// The raw query ignores Agg.
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 2, Key: "pm25", From: t0, To: t0.Add(time.Minute), Agg: "max"},
		cityhub.Point{Time: t0.Add(3 * time.Second), Value: 99})
}

// A raw query returns 10,000 points unless it asks for fewer; more than
// 100,000 are never given.
func testRawLimit(t *testing.T, o Opened) {
	s := o.Store
	const n = 10050
	rs := make([]cityhub.Reading, n)
	for i := range rs {
		rs[i] = reading(1, t0.Add(time.Duration(i)*time.Second), num("pm25", float64(i)))
	}
	write(t, s, rs...)
	for _, tt := range []struct{ limit, want int }{{0, 10000}, {-1, 10000}, {7, 7}, {n + 1, n}, {100001, 10000}} {
		pts := series(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(24 * time.Hour), Limit: tt.limit})
		if len(pts) != tt.want {
			t.Errorf("limit %d: got %d points, want %d", tt.limit, len(pts), tt.want)
			continue
		}
		if !pts[0].Time.Equal(t0) || pts[len(pts)-1].Value != float64(tt.want-1) {
			t.Errorf("limit %d: got %v … %v, want the earliest points", tt.limit, pts[0], pts[len(pts)-1])
		}
	}
}

func testMinuteAggregates(t *testing.T, o Opened) {
	s := o.Store
	// Minute 0: 4, 1, 7 at :10, :20, :50 (last 7); minute 1: 5 alone;
	// minute 2: none; minute 3: 2, 9 with the later written first.
	write(t, s,
		reading(1, t0.Add(20*time.Second), num("pm25", 1), boolean("alarm", true)),
		reading(1, t0.Add(10*time.Second), num("pm25", 4), boolean("alarm", false)),
		reading(1, t0.Add(50*time.Second), num("pm25", 7), boolean("alarm", true), text("airQualityLevel", "优")),
		reading(1, t0.Add(90*time.Second), num("pm25", 5)),
		reading(1, t0.Add(3*time.Minute+40*time.Second), num("pm25", 9)),
		reading(1, t0.Add(3*time.Minute+5*time.Second), num("pm25", 2)),
		reading(2, t0.Add(30*time.Second), num("pm25", 1000)),
	)
	want := map[time.Duration][]float64{0: {4, 1, 7}, time.Minute: {5}, 3 * time.Minute: {2, 9}}
	for off, vals := range want {
		wantAggs(t, s, "pm25", t0.Add(off), time.Minute, summary(vals...))
	}
	// Booleans aggregate as 0 and 1; text does not aggregate.
	wantAggs(t, s, "alarm", t0, time.Minute, summary(0, 1, 1))
	if pts := series(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "airQualityLevel", From: t0, To: t0.Add(time.Hour), Step: time.Minute}); len(pts) != 0 {
		t.Errorf("text aggregated: %v", pts)
	}

	// Over the range: one point a step with data, at the step's start.
	q := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(5 * time.Minute), Step: time.Minute}
	for _, name := range append([]string{""}, cityhub.Aggregates...) {
		q.Agg = name
		pts := series(t, s, q)
		wantName := cmpOr(name, "avg")
		var wantPts []cityhub.Point
		for _, off := range []time.Duration{0, time.Minute, 3 * time.Minute} {
			wantPts = append(wantPts, cityhub.Point{Time: t0.Add(off), Value: summary(want[off]...)[wantName]})
		}
		if !samePoints(pts, wantPts) {
			t.Errorf("%q by the minute: got %v, want %v", name, pts, wantPts)
		}
	}
	// Steps of several minutes merge minute buckets.
	q.Step, q.Agg = 2*time.Minute, "sum"
	if pts := series(t, s, q); !samePoints(pts, []cityhub.Point{{Time: t0, Value: 17}, {Time: t0.Add(2 * time.Minute), Value: 11}}) {
		t.Errorf("sum by 2 minutes: got %v", pts)
	}
	q.Step, q.Agg = 5*time.Minute, "last"
	if pts := series(t, s, q); !samePoints(pts, []cityhub.Point{{Time: t0, Value: 9}}) {
		t.Errorf("last over 5 minutes: got %v", pts)
	}
	// The range cuts by bucket start.
	q.From, q.To, q.Step, q.Agg = t0.Add(time.Minute), t0.Add(3*time.Minute), time.Minute, "count"
	if pts := series(t, s, q); !samePoints(pts, []cityhub.Point{{Time: t0.Add(time.Minute), Value: 1}}) {
		t.Errorf("count from minute 1 to 3: got %v", pts)
	}
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func samePoints(got, want []cityhub.Point) bool {
	return slices.EqualFunc(got, want, func(a, b cityhub.Point) bool {
		return a.Time.Equal(b.Time) && a.Value == b.Value && a.Text == b.Text
	})
}

func testHourAggregates(t *testing.T, o Opened) {
	s := o.Store
	// Hour 0: 10 at :00, 30 at :45, 20 at :59:59.999; hour 1: 1 at :30;
	// hour 2: 2 at :10.
	write(t, s,
		reading(1, t0.Add(45*time.Minute), num("pm25", 30)),
		reading(1, t0, num("pm25", 10)),
		reading(1, t0.Add(time.Hour-time.Millisecond), num("pm25", 20)),
		reading(1, t0.Add(90*time.Minute), num("pm25", 1)),
		reading(1, t0.Add(130*time.Minute), num("pm25", 2)),
	)
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 30, 20))
	wantAggs(t, s, "pm25", t0.Add(time.Hour), time.Hour, summary(1))
	wantAggs(t, s, "pm25", t0, 2*time.Hour, summary(10, 30, 20, 1))
	wantAggs(t, s, "pm25", t0, 3*time.Hour, summary(10, 30, 20, 1, 2))
	// An hour step from the half hour works from the minute rollups.
	wantAggs(t, s, "pm25", t0.Add(30*time.Minute), time.Hour, summary(30, 20))
	q := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0.Add(30 * time.Minute), To: t0.Add(150 * time.Minute), Step: time.Hour, Agg: "max"}
	if pts := series(t, s, q); !samePoints(pts, []cityhub.Point{{Time: t0.Add(30 * time.Minute), Value: 30}, {Time: t0.Add(90 * time.Minute), Value: 2}}) {
		t.Errorf("max by the hour from the half hour: got %v", pts)
	}
	q.From, q.To, q.Agg = t0.Add(-24*time.Hour), t0.Add(24*time.Hour), "count"
	if pts := series(t, s, q); !samePoints(pts, []cityhub.Point{{Time: t0, Value: 3}, {Time: t0.Add(time.Hour), Value: 1}, {Time: t0.Add(2 * time.Hour), Value: 1}}) {
		t.Errorf("count by the hour over two days: got %v", pts)
	}
}

// Readings that arrive after their bucket has been written to merge into
// it, before and after a clean restart.
func testLateReadings(t *testing.T, o Opened) {
	s := o.Store
	var rs []cityhub.Reading
	var vals []float64
	for i := range 6 {
		v := float64(10 + i)
		rs = append(rs, reading(1, t0.Add(time.Duration(i)*10*time.Minute+30*time.Second), num("pm25", v)))
		vals = append(vals, v)
	}
	write(t, s, rs...)
	wantAggs(t, s, "pm25", t0, time.Hour, summary(vals...))

	// Late and low, between two readings: min, sum, count change, last not.
	write(t, s, reading(1, t0.Add(25*time.Minute), num("pm25", 1)))
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 11, 12, 1, 13, 14, 15))
	wantAggs(t, s, "pm25", t0.Add(20*time.Minute), time.Minute, summary(12))
	wantAggs(t, s, "pm25", t0.Add(25*time.Minute), time.Minute, summary(1))
	// Late but the newest of its minute and hour: last changes.
	write(t, s, reading(1, t0.Add(50*time.Minute+45*time.Second), num("pm25", 100)))
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 11, 12, 1, 13, 14, 15, 100))
	wantAggs(t, s, "pm25", t0.Add(50*time.Minute), time.Minute, summary(15, 100))

	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = o.Reopen(t)
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 11, 12, 1, 13, 14, 15, 100))
	// Later still, into buckets already on disk; the second is the oldest
	// of its minute.
	write(t, s, reading(1, t0.Add(50*time.Minute+50*time.Second), num("pm25", 0.5)), reading(1, t0.Add(50*time.Minute), num("pm25", 200)))
	wantAggs(t, s, "pm25", t0, time.Hour, summary(10, 11, 12, 1, 13, 14, 200, 15, 100, 0.5))
	wantAggs(t, s, "pm25", t0.Add(50*time.Minute), time.Minute, summary(200, 15, 100, 0.5))
	wantAggs(t, s, "pm25", t0, 2*time.Hour, summary(10, 11, 12, 1, 13, 14, 200, 15, 100, 0.5))
}

func testPrune(t *testing.T, o Opened) {
	s := o.Store
	ctx := t.Context()
	// Three days at every 6 hours, from day 0 at 02:00: 12 readings.
	day0 := t0.Add(-2 * time.Hour)
	var rs []cityhub.Reading
	for i := range 12 {
		rs = append(rs, air(1, t0.Add(time.Duration(i)*6*time.Hour), float64(i)))
	}
	write(t, s, rs...)
	before, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Cut at noon of day 1: day 0 wholly (4 readings) and 02:00 and 08:00
	// of day 1.
	cut := day0.Add(36 * time.Hour)
	n, err := s.Prune(ctx, cut)
	if err != nil || n != 6 {
		t.Fatalf("prune before %s: got %d, %v; want 6 readings", cut, n, err)
	}
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: day0, To: day0.Add(48 * time.Hour)},
		cityhub.Point{Time: t0.Add(36 * time.Hour), Value: 6}, cityhub.Point{Time: t0.Add(42 * time.Hour), Value: 7})
	after, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Readings != before.Readings-6 || after.Values != before.Values-12 {
		t.Errorf("stats after prune: got %+v, before %+v", after, before)
	}
	// The rollups of the pruned readings stay.
	for i := range 6 {
		at := t0.Add(time.Duration(i) * 6 * time.Hour)
		wantAggs(t, s, "pm25", at, time.Hour, summary(float64(i)))
		wantAggs(t, s, "pm25", at, time.Minute, summary(float64(i)))
	}
	wantLatest(t, latest(t, s, 1), "pm25", t0.Add(66*time.Hour), num("pm25", 11))
	if n, err := s.Prune(ctx, cut); err != nil || n != 0 {
		t.Errorf("prune again: got %d, %v; want 0", n, err)
	}
	// Readings may still arrive for a pruned day.
	wantOutcomes(t, write(t, s, air(1, t0.Add(time.Hour), 50)), cityhub.Stored)
	wantRaw(t, s, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: day0, To: day0.Add(24 * time.Hour)}, cityhub.Point{Time: t0.Add(time.Hour), Value: 50})
	wantAggs(t, s, "pm25", t0, 2*time.Hour, summary(0, 50))
	// Everything.
	if n, err := s.Prune(ctx, t0.Add(365*24*time.Hour)); err != nil || n != 7 {
		t.Errorf("prune all: got %d, %v; want 7", n, err)
	}
	if st, err := s.Stats(ctx); err != nil || st.Readings != 0 || st.Values != 0 {
		t.Errorf("stats after pruning all: got %+v, %v", st, err)
	}
}

// snapshot is what a store answers about some data, to compare before and
// after a restart.
func snapshot(t *testing.T, s cityhub.SeriesStore) string {
	t.Helper()
	var b strings.Builder
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "readings %d values %d\n", st.Readings, st.Values)
	for _, d := range []int64{1, 2} {
		lat, err := s.Latest(t.Context(), []int64{d})
		if err != nil {
			t.Fatal(err)
		}
		for _, lv := range lat[d] {
			fmt.Fprintf(&b, "latest %d %s %s %s %v %q\n", d, lv.Key, lv.Time.UTC().Format(time.RFC3339Nano), lv.Kind, lv.Num, lv.Text)
		}
		for _, key := range []string{"pm25", "airQualityLevel"} {
			for _, p := range series(t, s, cityhub.SeriesQuery{DeviceID: d, Key: key, From: t0, To: t0.Add(48 * time.Hour)}) {
				fmt.Fprintf(&b, "raw %d %s %s %v %q\n", d, key, p.Time.UTC().Format(time.RFC3339Nano), p.Value, p.Text)
			}
		}
		for _, step := range []time.Duration{time.Minute, time.Hour, 90 * time.Minute} {
			for _, name := range cityhub.Aggregates {
				q := cityhub.SeriesQuery{DeviceID: d, Key: "pm25", From: t0, To: t0.Add(48 * time.Hour), Step: step, Agg: name}
				for _, p := range series(t, s, q) {
					fmt.Fprintf(&b, "%s %s %d %s %v\n", step, name, d, p.Time.UTC().Format(time.RFC3339), p.Value)
				}
			}
		}
	}
	return b.String()
}

// A store opened again on the same data, after a crash (the first store is
// never closed) or a clean close, answers the same and counts no reading
// twice.
func testReopen(t *testing.T, o Opened) {
	s := o.Store
	rng := rand.New(rand.NewPCG(7, 11))
	for w := range 5 {
		var rs []cityhub.Reading
		for i := range 40 {
			at := t0.Add(time.Duration(rng.IntN(36*3600)) * time.Second)
			// Whole numbers: sums are exact whatever order a store adds them in.
			rs = append(rs, air(int64(1+i%2), at, float64(rng.IntN(500))))
		}
		if w == 4 { // late into the first hour
			rs = append(rs, air(1, t0.Add(17*time.Second), 999))
		}
		write(t, s, rs...)
	}
	want := snapshot(t, s)

	s2 := o.Reopen(t) // s crashed
	if got := snapshot(t, s2); got != want {
		t.Errorf("after reopening without closing:\n%s", diff(got, want))
	}
	// Written again after the restart: duplicates, counted once.
	wantOutcomes(t, write(t, s2, air(1, t0.Add(17*time.Second), 999), air(1, t0.Add(17*time.Second), 998)), cityhub.Duplicate, cityhub.Conflict)
	if got := snapshot(t, s2); got != want {
		t.Errorf("after writing duplicates:\n%s", diff(got, want))
	}
	// A new reading after the restart, then a clean close.
	write(t, s2, air(2, t0.Add(47*time.Hour), 1))
	want = snapshot(t, s2)
	if err := s2.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := snapshot(t, o.Reopen(t)); got != want {
		t.Errorf("after a clean close and reopening:\n%s", diff(got, want))
	}
}

// diff lists the lines only in got (+) or only in want (-).
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// Writers racing on the same readings store each once.
func testConcurrentWrites(t *testing.T, o Opened) {
	s := o.Store
	const writers, n = 4, 300
	var rs []cityhub.Reading
	for i := range n {
		// Three devices over two days, so writers meet on readings,
		// buckets, latest values and new partitions.
		rs = append(rs, air(int64(1+i%3), t0.Add(time.Duration(i)*7*time.Minute), float64(i)))
	}
	stored := make([]int, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			mine := slices.Clone(rs)
			rand.New(rand.NewPCG(uint64(w), 1)).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for start := 0; start < n; start += 50 {
				out, err := s.Write(t.Context(), mine[start:start+50])
				if err != nil {
					errs[w] = err
					return
				}
				for _, oc := range out {
					switch oc {
					case cityhub.Stored:
						stored[w]++
					case cityhub.Conflict:
						errs[w] = fmt.Errorf("writer %d: a conflict among identical readings", w)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, k := range stored {
		total += k
	}
	if total != n {
		t.Errorf("stored %d readings in all (%v), want %d", total, stored, n)
	}
	q := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(72 * time.Hour), Step: 72 * time.Hour, Agg: "count"}
	if pts := series(t, s, q); len(pts) != 1 || pts[0].Value != n/3 {
		t.Errorf("count of device 1: got %v, want %d", pts, n/3)
	}
	last := rs[n-3] // device 1's newest
	wantLatest(t, latest(t, s, 1), "pm25", last.Time, last.Values[0])
}

func testStats(t *testing.T, o Opened) {
	s := o.Store
	ctx := t.Context()
	st, err := s.Stats(ctx)
	if err != nil || st.Readings != 0 || st.Values != 0 || st.Bytes < 0 {
		t.Fatalf("stats of an empty store: got %+v, %v", st, err)
	}
	write(t, s, air(1, t0, 1), air(2, t0, 2), reading(3, t0, num("pm25", 3), num("no2", 4), boolean("alarm", false)))
	write(t, s, air(1, t0, 1), air(2, t0, 5)) // a duplicate and a conflict
	st, err = s.Stats(ctx)
	if err != nil || st.Readings != 3 || st.Values != 7 || st.Bytes <= 0 {
		t.Errorf("stats: got %+v, %v; want 3 readings, 7 values and some bytes", st, err)
	}
}

func testInvalidQueries(t *testing.T, o Opened) {
	s := o.Store
	write(t, s, air(1, t0, 1))
	base := cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0, To: t0.Add(time.Hour), Step: time.Minute}
	tests := []struct {
		name string
		edit func(q *cityhub.SeriesQuery)
	}{
		{"empty range", func(q *cityhub.SeriesQuery) { q.To = q.From }},
		{"reversed range", func(q *cityhub.SeriesQuery) { q.From, q.To = q.To, q.From }},
		{"empty raw range", func(q *cityhub.SeriesQuery) { q.To, q.Step = q.From, 0 }},
		{"step under a minute", func(q *cityhub.SeriesQuery) { q.Step = 30 * time.Second }},
		{"step not whole minutes", func(q *cityhub.SeriesQuery) { q.Step = 90 * time.Second }},
		{"negative step", func(q *cityhub.SeriesQuery) { q.Step = -time.Minute }},
		{"unknown aggregate", func(q *cityhub.SeriesQuery) { q.Agg = "median" }},
		{"too many steps", func(q *cityhub.SeriesQuery) { q.To = q.From.Add(100001 * time.Minute) }},
	}
	for _, tt := range tests {
		q := base
		tt.edit(&q)
		_, err := s.Series(t.Context(), q)
		if code := cityhub.ErrorCode(err); code != cityhub.EINVALID {
			t.Errorf("%s: got %v (code %q), want %s", tt.name, err, code, cityhub.EINVALID)
		}
	}
	// Exactly 100,000 steps is allowed.
	q := base
	q.To = q.From.Add(100000 * time.Minute)
	if _, err := s.Series(t.Context(), q); err != nil {
		t.Errorf("100,000 steps: %v", err)
	}
}

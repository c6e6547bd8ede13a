package tsdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func vals(pm25 float64, level string) []cityhub.Value {
	return []cityhub.Value{
		{Key: "pm25", Num: pm25, Kind: cityhub.KindNumber},
		{Key: "airQualityLevel", Text: level, Kind: cityhub.KindText},
		{Key: "alarm", Num: 1, Kind: cityhub.KindBool},
	}
}

func TestBlockAndLogRoundTrip(t *testing.T) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).UnixMilli()
	rs := []raw{{start, vals(12.5, "优")}, {start + 999, vals(-3, "")}, {start + 3599999, vals(1e9, "重度污染")}}
	got, err := decodeBlock(start, encodeBlock(start, rs))
	if err != nil || len(got) != 3 {
		t.Fatalf("decodeBlock: %v %v", got, err)
	}
	for i := range rs {
		if got[i].ts != rs[i].ts || !sameValues(got[i].vals, rs[i].vals) {
			t.Errorf("reading %d: got %+v, want %+v", i, got[i], rs[i])
		}
	}
	logged := []cityhub.Reading{{DeviceID: 7, Time: time.UnixMilli(start), Values: vals(1, "良")}, {DeviceID: 1 << 40, Time: time.UnixMilli(-5), Values: nil}}
	back, err := decodeLog(encodeLog(logged))
	if err != nil || len(back) != 2 || back[0].device != 7 || back[1].device != 1<<40 || back[1].ts != -5 || !sameValues(back[0].vals, logged[0].Values) {
		t.Fatalf("decodeLog: %+v %v", back, err)
	}
	// Every cut of an encoding is an error, never a panic.
	b := encodeBlock(start, rs)
	for n := range len(b) {
		if _, err := decodeBlock(start, b[:n]); err == nil {
			t.Errorf("block cut at %d of %d bytes decoded", n, len(b))
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	f.Add(encodeBlock(0, []raw{{1, vals(1, "x")}}))
	f.Add(encodeLog([]cityhub.Reading{{DeviceID: 3, Time: time.UnixMilli(9), Values: vals(2, "y")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBlock(0, b)
		decodeLog(b)
	})
}

// Duplicates are found wherever the first copy is: in this write, among
// the readings not yet in blocks, in blocks, and in blocks of an earlier
// run of the store.
func TestDuplicatesAcrossBlocksAndRestarts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "series.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 8, 59, 58, 0, time.UTC)
	r := func(sec int, pm25 float64) cityhub.Reading {
		return cityhub.Reading{DeviceID: 1, Time: t0.Add(time.Duration(sec) * time.Second), Values: vals(pm25, "良")}
	}
	// Reversed value order is still the same reading.
	reordered := r(0, 5)
	reordered.Values = []cityhub.Value{reordered.Values[2], reordered.Values[0], reordered.Values[1]}
	want := func(s *Store, rs []cityhub.Reading, outcomes ...cityhub.ReadingOutcome) {
		t.Helper()
		got, err := s.Write(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range outcomes {
			if got[i] != outcomes[i] {
				t.Errorf("reading %d: outcome %v, want %v", i, got[i], outcomes[i])
			}
		}
	}
	want(s, []cityhub.Reading{r(0, 5), reordered, r(0, 6), r(1, 5)}, cityhub.Stored, cityhub.Duplicate, cityhub.Conflict, cityhub.Stored)
	want(s, []cityhub.Reading{r(1, 5), r(1, 7)}, cityhub.Duplicate, cityhub.Conflict) // pending
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// r(2) and r(3) are in the next hour: a second block.
	want(s, []cityhub.Reading{r(0, 5), r(1, 8), r(3, 1), r(2, 2)}, cityhub.Duplicate, cityhub.Conflict, cityhub.Stored, cityhub.Stored)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(s, []cityhub.Reading{r(3, 1), r(2, 2), r(0, 9), r(-1, 4)}, cityhub.Duplicate, cityhub.Duplicate, cityhub.Conflict, cityhub.Stored)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var blocks int
	s.db.QueryRow("SELECT COUNT(*) FROM blocks").Scan(&blocks)
	if blocks != 3 {
		t.Errorf("%d blocks, want 3 (the first hour twice, the second once)", blocks)
	}
	pts, err := s.Series(ctx, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil || len(pts) != 5 {
		t.Fatalf("raw: %v %v", pts, err)
	}
	for i, want := range []float64{4, 5, 5, 2, 1} {
		if pts[i].Value != want || (i > 0 && !pts[i].Time.After(pts[i-1].Time)) {
			t.Errorf("point %d: %+v, want %v in time order", i, pts[i], want)
		}
	}
	// A limit stops at the first points in time.
	pts, _ = s.Series(ctx, cityhub.SeriesQuery{DeviceID: 1, Key: "pm25", From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: 2})
	if len(pts) != 2 || pts[1].Value != 5 || !pts[1].Time.Equal(t0) {
		t.Errorf("limit 2: %+v", pts)
	}
	txt, _ := s.Series(ctx, cityhub.SeriesQuery{DeviceID: 1, Key: "airQualityLevel", From: t0, To: t0.Add(time.Hour)})
	if len(txt) != 4 || txt[0].Text != "良" {
		t.Errorf("text series: %+v", txt)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Readings != 5 || st.Values != 15 {
		t.Errorf("stats %+v %v", st, err)
	}
}

// A store of the first layout, a row per reading with JSON values and
// rollups flushed only for some, is moved into blocks on open with every
// reading and every rollup counted once.
func TestUpgradeFromRowLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "series.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).UnixMilli()
	_, err = db.Exec(`CREATE TABLE readings (device INTEGER NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL,
			PRIMARY KEY (device, ts)) WITHOUT ROWID;
		CREATE INDEX readings_seq ON readings (seq);
		CREATE TABLE rollups (device INTEGER NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, start INTEGER NOT NULL,
			mn REAL NOT NULL, mx REAL NOT NULL, sm REAL NOT NULL, cnt INTEGER NOT NULL, last_ts INTEGER NOT NULL, last REAL NOT NULL,
			PRIMARY KEY (device, key, size, start)) WITHOUT ROWID;
		CREATE TABLE latest (device INTEGER NOT NULL, key TEXT NOT NULL, ts INTEGER NOT NULL, kind TEXT NOT NULL, num REAL NOT NULL,
			txt TEXT NOT NULL, PRIMARY KEY (device, key)) WITHOUT ROWID;
		CREATE TABLE flushes (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
		INSERT INTO flushes VALUES (1, 1);
		-- Write 1 (flushed): two readings; write 2 (not flushed): one more, an hour later.
		INSERT INTO readings VALUES (4, ?1, 1, '{"pm25":10,"level":"优"}'), (4, ?1 + 60000, 1, '{"pm25":20,"level":"良"}'),
			(4, ?1 + 3600000, 2, '{"pm25":30,"level":"差"}');
		INSERT INTO rollups VALUES (4, 'pm25', 3600000, ?1, 10, 20, 30, 2, ?1 + 60000, 20),
			(4, 'pm25', 60000, ?1, 10, 10, 10, 1, ?1, 10), (4, 'pm25', 60000, ?1 + 60000, 20, 20, 20, 1, ?1 + 60000, 20);
		INSERT INTO latest VALUES (4, 'pm25', ?1 + 60000, 'number', 20, ''), (4, 'level', ?1 + 60000, 'text', 0, '良');`, t0)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	from, to := time.UnixMilli(t0), time.UnixMilli(t0+2*hour)
	pts, err := s.Series(ctx, cityhub.SeriesQuery{DeviceID: 4, Key: "pm25", From: from, To: to, Step: time.Hour, Agg: "sum"})
	if err != nil || len(pts) != 2 || pts[0].Value != 30 || pts[1].Value != 30 {
		t.Errorf("hourly sums after the upgrade: %+v %v", pts, err)
	}
	raw, _ := s.Series(ctx, cityhub.SeriesQuery{DeviceID: 4, Key: "level", From: from, To: to})
	if len(raw) != 3 || raw[2].Text != "差" {
		t.Errorf("raw text after the upgrade: %+v", raw)
	}
	latest, _ := s.Latest(ctx, []int64{4})
	if len(latest[4]) != 2 || latest[4][1].Num != 30 {
		t.Errorf("latest after the upgrade: %+v", latest[4])
	}
	if out, _ := s.Write(ctx, []cityhub.Reading{{DeviceID: 4, Time: time.UnixMilli(t0 + 60000), Values: []cityhub.Value{
		{Key: "level", Text: "良", Kind: cityhub.KindText}, {Key: "pm25", Num: 20, Kind: cityhub.KindNumber}}}}); len(out) != 1 || out[0] != cityhub.Duplicate {
		t.Errorf("a moved reading sent again: %v", out)
	}
	var old int
	s.db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('readings', 'flushes')").Scan(&old)
	if old != 0 {
		t.Errorf("%d tables of the first layout left", old)
	}
}

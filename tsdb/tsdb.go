// Package tsdb keeps device readings: raw readings for a retention period,
// 1-minute and 1-hour rollups (min, max, sum, count, last) kept for good,
// and each property's latest value by observation time. It implements
// cityhub.SeriesStore on a SQLite file of its own, apart from the main
// store, so ingest never waits on catalog writes.
//
// A write commits the raw readings only. Rollups and latest values gather
// in memory and are merged into their tables every FlushEvery, together
// with the number of the last write they include; on open, writes after
// that number are read back from the raw table and merged again, so a
// crash loses nothing and counts nothing twice. Every aggregate merges
// (min of mins, sum of sums, last by observation time), so late readings
// correct old buckets without recomputing them.
package tsdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	_ "modernc.org/sqlite"
)

// Options tune a store; zero values take the defaults.
type Options struct {
	FlushEvery time.Duration // rollups and latest values reach disk this often; 10 s
	Logger     *slog.Logger
}

// Store is a series store on a SQLite file.
type Store struct {
	db    *sql.DB
	path  string
	log   *slog.Logger
	every time.Duration

	// mu guards everything below; writes come from one goroutine, the
	// ingest writer, but queries read the memory state too.
	mu        sync.Mutex
	seq       int64 // number of the last write
	flushedAt time.Time
	pending   map[bucketKey]*agg // rollups not yet merged into their tables, both sizes
	latest    map[int64]map[string]cityhub.LatestValue
	dirty     map[int64]map[string]bool // latest values not yet on disk
}

const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = int64(time.Hour / time.Millisecond)
)

type bucketKey struct {
	device int64
	key    string
	size   int64 // minute or hour, in ms
	start  int64 // ms since the epoch
}

// agg is a mergeable summary of numeric values.
type agg struct {
	min, max, sum float64
	count         int64
	lastTS        int64
	last          float64
}

func (a *agg) add(ts int64, v float64) {
	if a.count == 0 || v < a.min {
		a.min = v
	}
	if a.count == 0 || v > a.max {
		a.max = v
	}
	a.sum += v
	a.count++
	if ts >= a.lastTS {
		a.lastTS, a.last = ts, v
	}
}

func (a *agg) merge(b *agg) {
	if b.count == 0 {
		return
	}
	if a.count == 0 || b.min < a.min {
		a.min = b.min
	}
	if a.count == 0 || b.max > a.max {
		a.max = b.max
	}
	a.sum += b.sum
	a.count += b.count
	if b.lastTS >= a.lastTS {
		a.lastTS, a.last = b.lastTS, b.last
	}
}

const schema = `
CREATE TABLE IF NOT EXISTS readings (
	device INTEGER NOT NULL,
	ts     INTEGER NOT NULL, -- observation time, ms since the epoch
	seq    INTEGER NOT NULL, -- the write that stored it
	vals   TEXT NOT NULL,    -- JSON object, property → number or text
	PRIMARY KEY (device, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_seq ON readings (seq);
CREATE TABLE IF NOT EXISTS rollups (
	device INTEGER NOT NULL,
	key    TEXT NOT NULL,
	size   INTEGER NOT NULL, -- bucket length in ms: a minute or an hour
	start  INTEGER NOT NULL,
	mn REAL NOT NULL, mx REAL NOT NULL, sm REAL NOT NULL, cnt INTEGER NOT NULL,
	last_ts INTEGER NOT NULL, last REAL NOT NULL,
	PRIMARY KEY (device, key, size, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
	device INTEGER NOT NULL,
	key    TEXT NOT NULL,
	ts     INTEGER NOT NULL,
	kind   TEXT NOT NULL,
	num    REAL NOT NULL,
	txt    TEXT NOT NULL,
	PRIMARY KEY (device, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flushes (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO flushes VALUES (1, 0);
`

// Open opens or creates the series store at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s := &Store{path: path, log: opts.Logger, every: opts.FlushEvery,
		pending: map[bucketKey]*agg{}, latest: map[int64]map[string]cityhub.LatestValue{}, dirty: map[int64]map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.every <= 0 {
		s.every = 10 * time.Second
	}
	// synchronous(NORMAL) in WAL mode: a commit survives the process being
	// killed; a power cut may take the last commits (use FULL for that).
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous(NORMAL)&_pragma=cache_size(-16000)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	s.db = db
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("series store %s: %w", path, err)
	}
	if err := s.recover(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("series store %s: recover: %w", path, err)
	}
	return s, nil
}

// recover loads the latest values and merges the writes that came after
// the last flush.
func (s *Store) recover(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT device, key, ts, kind, num, txt FROM latest")
	if err != nil {
		return err
	}
	for rows.Next() {
		var d, ts int64
		var lv cityhub.LatestValue
		if err := rows.Scan(&d, &lv.Key, &ts, &lv.Kind, &lv.Num, &lv.Text); err != nil {
			rows.Close()
			return err
		}
		lv.Time = time.UnixMilli(ts)
		s.latestOf(d)[lv.Key] = lv
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var flushed int64
	if err := s.db.QueryRowContext(ctx, "SELECT seq FROM flushes").Scan(&flushed); err != nil {
		return err
	}
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM readings").Scan(&s.seq); err != nil {
		return err
	}
	s.seq = max(s.seq, flushed)
	rows, err = s.db.QueryContext(ctx, "SELECT device, ts, vals FROM readings WHERE seq > ?", flushed)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var d, ts int64
		var vals string
		if err := rows.Scan(&d, &ts, &vals); err != nil {
			rows.Close()
			return err
		}
		values, err := decodeValues(vals)
		if err != nil {
			rows.Close()
			return err
		}
		s.gather(cityhub.Reading{DeviceID: d, Time: time.UnixMilli(ts), Values: values})
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("series store: merged readings written after the last flush", "readings", n)
	}
	return s.flush(ctx)
}

func (s *Store) latestOf(device int64) map[string]cityhub.LatestValue {
	m := s.latest[device]
	if m == nil {
		m = map[string]cityhub.LatestValue{}
		s.latest[device] = m
	}
	return m
}

// gather adds a stored reading to the pending rollups and latest values.
func (s *Store) gather(r cityhub.Reading) {
	ts := r.Time.UnixMilli()
	lat := s.latestOf(r.DeviceID)
	for _, v := range r.Values {
		if old, ok := lat[v.Key]; !ok || !r.Time.Before(old.Time) {
			lat[v.Key] = cityhub.LatestValue{Value: v, Time: r.Time}
			d := s.dirty[r.DeviceID]
			if d == nil {
				d = map[string]bool{}
				s.dirty[r.DeviceID] = d
			}
			d[v.Key] = true
		}
		if v.Kind == cityhub.KindText {
			continue
		}
		for _, size := range []int64{minute, hour} {
			k := bucketKey{r.DeviceID, v.Key, size, floorDiv(ts, size) * size}
			a := s.pending[k]
			if a == nil {
				a = &agg{}
				s.pending[k] = a
			}
			a.add(ts, v.Num)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// encodeValues writes a reading's values as a JSON object; booleans are
// stored as 0 and 1 with the kind known from the device type.
func encodeValues(vals []cityhub.Value) string {
	m := make(map[string]any, len(vals))
	for _, v := range vals {
		if v.Kind == cityhub.KindText {
			m[v.Key] = v.Text
		} else {
			m[v.Key] = v.Num
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeValues(text string) ([]cityhub.Value, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, err
	}
	out := make([]cityhub.Value, 0, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			out = append(out, cityhub.Value{Key: k, Num: x, Kind: cityhub.KindNumber})
		case string:
			out = append(out, cityhub.Value{Key: k, Text: x, Kind: cityhub.KindText})
		}
	}
	slices.SortFunc(out, func(a, b cityhub.Value) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Write stores readings in one transaction. A reading whose device and
// time are stored already is a Duplicate when its values are the same and
// a Conflict otherwise; neither changes what is stored.
func (s *Store) Write(ctx context.Context, readings []cityhub.Reading) ([]cityhub.ReadingOutcome, error) {
	out := make([]cityhub.ReadingOutcome, len(readings))
	if len(readings) == 0 {
		return out, nil
	}
	encoded := make([]string, len(readings))
	for i, r := range readings {
		encoded[i] = encodeValues(r.Values)
	}
	s.mu.Lock()
	seq := s.seq + 1
	s.mu.Unlock()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	type key struct{ d, ts int64 }
	inserted := make(map[key]bool, len(readings))
	const per = 250 // 4 parameters a row, under SQLite's limit
	for start := 0; start < len(readings); start += per {
		chunk := readings[start:min(start+per, len(readings))]
		var b strings.Builder
		b.WriteString("INSERT INTO readings (device, ts, seq, vals) VALUES ")
		args := make([]any, 0, 4*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, r.DeviceID, r.Time.UnixMilli(), seq, encoded[start+i])
		}
		b.WriteString(" ON CONFLICT DO NOTHING RETURNING device, ts")
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.d, &k.ts); err != nil {
				rows.Close()
				return nil, err
			}
			inserted[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	// Those not inserted met a stored reading (or an earlier one of this
	// write): compare the values to tell a duplicate from a conflict.
	for i, r := range readings {
		k := key{r.DeviceID, r.Time.UnixMilli()}
		if inserted[k] {
			delete(inserted, k) // a repeat later in this write is not new
			out[i] = cityhub.Stored
			continue
		}
		var stored string
		if err := tx.QueryRowContext(ctx, "SELECT vals FROM readings WHERE device = ? AND ts = ?", k.d, k.ts).Scan(&stored); err != nil {
			return nil, err
		}
		out[i] = cityhub.Conflict
		if stored == encoded[i] {
			out[i] = cityhub.Duplicate
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.seq = seq
	for i, r := range readings {
		if out[i] == cityhub.Stored {
			s.gather(r)
		}
	}
	due := time.Since(s.flushedAt) >= s.every || len(s.pending) > 500000
	s.mu.Unlock()
	if due {
		return out, s.Flush(ctx)
	}
	return out, nil
}

// Flush merges the pending rollups and latest values into their tables.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(ctx)
}

func (s *Store) flush(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	up, err := tx.PrepareContext(ctx, `INSERT INTO rollups (device, key, size, start, mn, mx, sm, cnt, last_ts, last)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device, key, size, start) DO UPDATE SET
			mn = MIN(mn, excluded.mn), mx = MAX(mx, excluded.mx), sm = sm + excluded.sm, cnt = cnt + excluded.cnt,
			last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
			last_ts = MAX(last_ts, excluded.last_ts)`)
	if err != nil {
		return err
	}
	defer up.Close()
	for k, a := range s.pending {
		if _, err := up.ExecContext(ctx, k.device, k.key, k.size, k.start, a.min, a.max, a.sum, a.count, a.lastTS, a.last); err != nil {
			return err
		}
	}
	lu, err := tx.PrepareContext(ctx, `INSERT INTO latest (device, key, ts, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device, key) DO UPDATE SET ts = excluded.ts, kind = excluded.kind, num = excluded.num, txt = excluded.txt`)
	if err != nil {
		return err
	}
	defer lu.Close()
	for d, keys := range s.dirty {
		for k := range keys {
			lv := s.latest[d][k]
			if _, err := lu.ExecContext(ctx, d, k, lv.Time.UnixMilli(), lv.Kind, lv.Num, lv.Text); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE flushes SET seq = ?", s.seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	clear(s.pending)
	clear(s.dirty)
	s.flushedAt = time.Now()
	return nil
}

// Series returns raw values (Step 0) or one aggregate a step.
func (s *Store) Series(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	if !q.From.Before(q.To) {
		return nil, cityhub.Errorf(cityhub.EINVALID, "the range is empty: from must be before to")
	}
	if q.Step == 0 {
		return s.raw(ctx, q)
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return nil, cityhub.Errorf(cityhub.EINVALID, "step must be a whole number of minutes, got %s", q.Step)
	}
	if q.Agg == "" {
		q.Agg = "avg"
	}
	if !slices.Contains(cityhub.Aggregates, q.Agg) {
		return nil, cityhub.Errorf(cityhub.EINVALID, "aggregate %q unknown; use one of %s", q.Agg, strings.Join(cityhub.Aggregates, ", "))
	}
	from, to, step := q.From.UnixMilli(), q.To.UnixMilli(), q.Step.Milliseconds()
	if (to-from)/step > 100000 {
		return nil, cityhub.Errorf(cityhub.EINVALID, "more than 100,000 steps; choose a longer step")
	}
	size := minute
	if step%hour == 0 && from%hour == 0 {
		size = hour
	}
	steps := map[int64]*agg{}
	add := func(start int64, a *agg) {
		if start < from || start >= to {
			return
		}
		i := (start - from) / step
		t := steps[i]
		if t == nil {
			t = &agg{}
			steps[i] = t
		}
		t.merge(a)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT start, mn, mx, sm, cnt, last_ts, last FROM rollups
		WHERE device = ? AND key = ? AND size = ? AND start >= ? AND start < ? ORDER BY start`,
		q.DeviceID, q.Key, size, floorDiv(from, size)*size, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var start int64
		var a agg
		if err := rows.Scan(&start, &a.min, &a.max, &a.sum, &a.count, &a.lastTS, &a.last); err != nil {
			return nil, err
		}
		add(start, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for k, a := range s.pending {
		if k.device == q.DeviceID && k.key == q.Key && k.size == size {
			add(k.start, a)
		}
	}
	s.mu.Unlock()
	out := make([]cityhub.Point, 0, len(steps))
	for i, a := range steps {
		out = append(out, cityhub.Point{Time: time.UnixMilli(from + i*step), Value: a.value(q.Agg)})
	}
	slices.SortFunc(out, func(a, b cityhub.Point) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func (a *agg) value(name string) float64 {
	switch name {
	case "min":
		return a.min
	case "max":
		return a.max
	case "sum":
		return a.sum
	case "count":
		return float64(a.count)
	case "last":
		return a.last
	}
	return a.sum / float64(a.count)
}

func (s *Store) raw(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	limit := q.Limit
	if limit <= 0 || limit > 100000 {
		limit = 10000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, json_extract(vals, ?) FROM readings
		WHERE device = ? AND ts >= ? AND ts < ? AND json_type(vals, ?) IS NOT NULL ORDER BY ts LIMIT ?`,
		jsonPath(q.Key), q.DeviceID, q.From.UnixMilli(), q.To.UnixMilli(), jsonPath(q.Key), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cityhub.Point
	for rows.Next() {
		var ts int64
		var v any
		if err := rows.Scan(&ts, &v); err != nil {
			return nil, err
		}
		p := cityhub.Point{Time: time.UnixMilli(ts)}
		switch x := v.(type) {
		case float64:
			p.Value = x
		case int64:
			p.Value = float64(x)
		case string:
			p.Text = x
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// jsonPath quotes a property name for json_extract.
func jsonPath(key string) string {
	b, _ := json.Marshal(key)
	return "$." + string(b)
}

// Latest returns each device's newest values, from memory.
func (s *Store) Latest(ctx context.Context, deviceIDs []int64) (map[int64][]cityhub.LatestValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64][]cityhub.LatestValue, len(deviceIDs))
	for _, d := range deviceIDs {
		vals := make([]cityhub.LatestValue, 0, len(s.latest[d]))
		for _, lv := range s.latest[d] {
			vals = append(vals, lv)
		}
		slices.SortFunc(vals, func(a, b cityhub.LatestValue) int { return strings.Compare(a.Key, b.Key) })
		out[d] = vals
	}
	return out, nil
}

// Prune drops raw readings observed before the cut; rollups stay. Readings
// written since the last flush are merged first so none is lost to them.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	devices := make([]int64, 0, len(s.latest))
	for d := range s.latest {
		devices = append(devices, d)
	}
	s.mu.Unlock()
	var n int64
	for _, d := range devices {
		res, err := s.db.ExecContext(ctx, "DELETE FROM readings WHERE device = ? AND ts < ?", d, before.UnixMilli())
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// Stats counts raw readings and values and the file's size.
func (s *Store) Stats(ctx context.Context) (cityhub.SeriesStats, error) {
	var st cityhub.SeriesStats
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM((SELECT COUNT(*) FROM json_each(vals))), 0) FROM readings").Scan(&st.Readings, &st.Values)
	if err != nil {
		return st, err
	}
	var pages, size int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return st, err
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return st, err
	}
	st.Bytes = pages * size
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		st.Bytes += fi.Size()
	}
	return st, nil
}

// Close flushes and closes the store.
func (s *Store) Close() error {
	ferr := s.Flush(context.Background())
	if err := s.db.Close(); err != nil {
		return err
	}
	return ferr
}

var _ cityhub.SeriesStore = (*Store)(nil)

// Package tsdb keeps device readings: raw readings for a retention period,
// 1-minute and 1-hour rollups (min, max, sum, count, last) kept for good,
// and each property's latest value by observation time. It implements
// cityhub.SeriesStore on a SQLite file of its own, apart from the main
// store, so ingest never waits on catalog writes.
//
// Readings arrive from thousands of devices at once, so a row or index
// entry per reading would touch a page per reading on every commit. A
// write instead appends one log record holding all its readings, which is
// durable when Write returns. Every CompactEvery the readings gathered in
// memory since are written as blocks, one per device and hour, and every
// FlushEvery the rollups and latest values gathered in memory are merged
// into their tables and the log is emptied. Marks in the same transactions
// say how far each got, so on open the log is replayed into whatever did
// not: a crash loses nothing and counts nothing twice. Every aggregate
// merges (min of mins, sum of sums, last by observation time), so late
// readings correct old buckets without recomputing them.
package tsdb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
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
	CompactEvery time.Duration // new readings are written as blocks this often; 10 s
	MaxPending   int           // or when this many are waiting; 100,000
	FlushEvery   time.Duration // rollups and latest values reach their tables this often; 1 min
	Logger       *slog.Logger
}

// Store is a series store on a SQLite file.
type Store struct {
	db   *sql.DB
	path string
	log  *slog.Logger
	opts Options

	// wmu serializes writers: Write, compaction, flushes and Prune.
	wmu sync.Mutex
	// mu guards the memory state below, which queries read too.
	mu          sync.Mutex
	seq         int64 // number of the last log record
	compactedAt time.Time
	flushedAt   time.Time
	pending     map[int64][]raw // readings not yet in blocks, per device
	npending    int
	newest      map[int64]int64              // device → newest observation time in pending, ms
	inBlocks    map[int64]int64              // device → newest observation time in its blocks, ms, once looked up
	series      map[int64]map[string]*series // device → property → its state
	buckets     int                          // rollup buckets not yet merged
}

// series is one device property's state in memory: its latest value and
// the rollup buckets not yet merged into their table.
type series struct {
	latest  cityhub.LatestValue
	dirty   bool // latest is not on disk yet
	minutes map[int64]*agg
	hours   map[int64]*agg
	// Readings mostly land in the bucket of the one before.
	lastMinute, lastHour *agg
}

// bucket returns the aggregate of the bucket starting at start in m,
// adding it if new.
func (s *Store) bucket(m *map[int64]*agg, last **agg, start int64) *agg {
	if *m == nil {
		*m = map[int64]*agg{}
	}
	a := (*m)[start]
	if a == nil {
		a = &agg{start: start}
		(*m)[start] = a
		s.buckets++
	}
	*last = a
	return a
}

const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = int64(time.Hour / time.Millisecond)
)

// agg is a rollup bucket's summary and where the bucket starts.
type agg struct {
	start int64 // ms since the epoch
	cityhub.Summary
}

const schema = `
CREATE TABLE IF NOT EXISTS log (
	seq  INTEGER PRIMARY KEY, -- the write
	data BLOB NOT NULL        -- its new readings (encodeLog)
);
CREATE TABLE IF NOT EXISTS blocks (
	device INTEGER NOT NULL,
	start  INTEGER NOT NULL, -- first observation time, ms since the epoch
	end    INTEGER NOT NULL, -- last, in the same hour
	n      INTEGER NOT NULL, -- readings
	nv     INTEGER NOT NULL, -- values
	data   BLOB NOT NULL,    -- encodeBlock
	PRIMARY KEY (device, start)
) WITHOUT ROWID;
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
-- Log records up to blocked are in blocks; up to merged, in rollups and latest.
CREATE TABLE IF NOT EXISTS marks (id INTEGER PRIMARY KEY CHECK (id = 1), blocked INTEGER NOT NULL, merged INTEGER NOT NULL);
INSERT OR IGNORE INTO marks VALUES (1, 0, 0);
`

// Open opens or creates the series store at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CompactEvery <= 0 {
		opts.CompactEvery = 10 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100000
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Minute
	}
	s := &Store{path: path, log: opts.Logger, opts: opts, pending: map[int64][]raw{}, newest: map[int64]int64{},
		inBlocks: map[int64]int64{}, series: map[int64]map[string]*series{}, compactedAt: time.Now(), flushedAt: time.Now()}
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
	if err := s.upgradeRowLayout(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("series store %s: upgrade: %w", path, err)
	}
	if err := s.recover(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("series store %s: recover: %w", path, err)
	}
	return s, nil
}

// recover loads the latest values and replays the log: each record's
// readings go to the rollups (all records left are unmerged) and, past
// the blocked mark, to the pending readings.
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
		s.seriesOf(d, lv.Key).latest = lv
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var blocked, merged int64
	if err := s.db.QueryRowContext(ctx, "SELECT blocked, merged FROM marks").Scan(&blocked, &merged); err != nil {
		return err
	}
	s.seq = max(blocked, merged)
	rows, err = s.db.QueryContext(ctx, "SELECT seq, data FROM log WHERE seq > ? ORDER BY seq", merged)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			rows.Close()
			return err
		}
		rs, err := decodeLog(data)
		if err != nil {
			rows.Close()
			return fmt.Errorf("log record %d: %w", seq, err)
		}
		for _, r := range rs {
			s.gather(r.device, r.raw)
			if seq > blocked {
				s.addPending(r.device, r.raw)
			}
		}
		s.seq = max(s.seq, seq)
		n += len(rs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("series store: replayed readings written before the last stop", "readings", n)
	}
	return s.Flush(ctx)
}

func (s *Store) seriesOf(device int64, key string) *series {
	m := s.series[device]
	if m == nil {
		m = map[string]*series{}
		s.series[device] = m
	}
	x := m[key]
	if x == nil {
		x = &series{}
		m[key] = x
	}
	return x
}

// gather adds a stored reading to the rollups and latest values.
func (s *Store) gather(device int64, r raw) {
	for _, v := range r.vals {
		x := s.seriesOf(device, v.Key)
		if x.latest.Time.IsZero() || r.ts >= x.latest.Time.UnixMilli() {
			x.latest = cityhub.LatestValue{Value: v, Time: time.UnixMilli(r.ts)}
			x.dirty = true
		}
		if v.Kind == cityhub.KindText {
			continue
		}
		m := floorDiv(r.ts, minute) * minute
		if x.lastMinute == nil || x.lastMinute.start != m {
			s.bucket(&x.minutes, &x.lastMinute, m)
		}
		x.lastMinute.Add(r.ts, v.Num)
		h := floorDiv(r.ts, hour) * hour
		if x.lastHour == nil || x.lastHour.start != h {
			s.bucket(&x.hours, &x.lastHour, h)
		}
		x.lastHour.Add(r.ts, v.Num)
	}
}

func (s *Store) addPending(device int64, r raw) {
	s.pending[device] = append(s.pending[device], r)
	s.npending++
	if n, ok := s.newest[device]; !ok || r.ts > n {
		s.newest[device] = r.ts
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// stored returns the values stored for a device at a time, if any.
// Readings newer than any stored, the usual case, are answered from memory.
func (s *Store) stored(ctx context.Context, device, ts int64) ([]cityhub.Value, bool, error) {
	s.mu.Lock()
	newest, inMemory := s.newest[device]
	if inMemory && ts <= newest {
		for _, r := range s.pending[device] {
			if r.ts == ts {
				s.mu.Unlock()
				return r.vals, true, nil
			}
		}
	}
	last, known := s.inBlocks[device]
	s.mu.Unlock()
	if !known {
		// The newest block's hour holds the newest reading: blocks never
		// span hours.
		err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(end), -9223372036854775808) FROM blocks WHERE device = ?1
			AND start >= (SELECT COALESCE(MAX(start), 0) FROM blocks WHERE device = ?1) / ?2 * ?2`, device, hour).Scan(&last)
		if err != nil {
			return nil, false, err
		}
		s.mu.Lock()
		s.inBlocks[device] = last
		s.mu.Unlock()
	}
	if ts > last {
		return nil, false, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT start, data FROM blocks WHERE device = ? AND start >= ? AND start <= ? AND end >= ?",
		device, floorDiv(ts, hour)*hour, ts, ts)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var start int64
		var data []byte
		if err := rows.Scan(&start, &data); err != nil {
			return nil, false, err
		}
		rs, err := decodeBlock(start, data)
		if err != nil {
			return nil, false, fmt.Errorf("device %d: %w", device, err)
		}
		if i, ok := slices.BinarySearchFunc(rs, ts, func(r raw, ts int64) int { return cmpInt(r.ts, ts) }); ok {
			return rs[i].vals, true, nil
		}
	}
	return nil, false, rows.Err()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Write stores readings durably. A reading whose device and time are
// stored already is a Duplicate when its values are the same and a
// Conflict otherwise; neither changes what is stored.
func (s *Store) Write(ctx context.Context, readings []cityhub.Reading) ([]cityhub.ReadingOutcome, error) {
	out := make([]cityhub.ReadingOutcome, len(readings))
	if len(readings) == 0 {
		return out, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	type key struct{ d, ts int64 }
	fresh := make(map[key][]cityhub.Value, len(readings))
	accepted := make([]cityhub.Reading, 0, len(readings))
	for i, r := range readings {
		k := key{r.DeviceID, r.Time.UnixMilli()}
		vals := r.Values
		prev, found := fresh[k]
		if !found {
			var err error
			if prev, found, err = s.stored(ctx, k.d, k.ts); err != nil {
				return nil, err
			}
		}
		if found {
			out[i] = cityhub.Conflict
			if sameValues(prev, vals) {
				out[i] = cityhub.Duplicate
			}
			continue
		}
		fresh[k] = vals
		accepted = append(accepted, cityhub.Reading{DeviceID: k.d, Time: r.Time, Values: vals})
	}
	if len(accepted) == 0 {
		return out, nil
	}
	s.mu.Lock()
	seq := s.seq + 1
	s.mu.Unlock()
	if _, err := s.db.ExecContext(ctx, "INSERT INTO log (seq, data) VALUES (?, ?)", seq, encodeLog(accepted)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.seq = seq
	for _, r := range accepted {
		x := raw{r.Time.UnixMilli(), r.Values}
		s.addPending(r.DeviceID, x)
		s.gather(r.DeviceID, x)
	}
	flush := time.Since(s.flushedAt) >= s.opts.FlushEvery || s.buckets > 1000000
	compact := time.Since(s.compactedAt) >= s.opts.CompactEvery || s.npending >= s.opts.MaxPending
	s.mu.Unlock()
	if flush || compact {
		return out, s.write(ctx, flush)
	}
	return out, nil
}

// Flush writes the pending readings as blocks and merges the rollups and
// latest values into their tables.
func (s *Store) Flush(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.write(ctx, true)
}

// write writes the pending readings as blocks and, with merge, the
// rollups and latest values, then empties the log. The caller holds wmu,
// so nothing changes the memory state meanwhile; queries go on reading it
// until the transaction commits.
func (s *Store) write(ctx context.Context, merge bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.writeBlocks(ctx, tx); err != nil {
		return err
	}
	if merge {
		if err := s.mergeRollups(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM log WHERE seq <= ?", s.seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE marks SET blocked = ?1, merged = ?1", s.seq); err != nil {
			return err
		}
	} else if _, err := tx.ExecContext(ctx, "UPDATE marks SET blocked = ?", s.seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.pending {
		if n, ok := s.inBlocks[d]; ok {
			s.inBlocks[d] = max(n, s.newest[d])
		}
	}
	s.pending, s.newest, s.npending = map[int64][]raw{}, map[int64]int64{}, 0
	s.compactedAt = time.Now()
	if merge {
		s.forgetMerged()
		s.flushedAt = s.compactedAt
	}
	return nil
}

// writeBlocks writes each device's pending readings as one block an hour.
func (s *Store) writeBlocks(ctx context.Context, tx *sql.Tx) error {
	if s.npending == 0 {
		return nil
	}
	ins, err := tx.PrepareContext(ctx, "INSERT INTO blocks (device, start, end, n, nv, data) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, d := range slices.Sorted(maps.Keys(s.pending)) {
		rs := s.pending[d]
		slices.SortFunc(rs, func(a, b raw) int { return cmpInt(a.ts, b.ts) })
		for len(rs) > 0 {
			h := floorDiv(rs[0].ts, hour)
			n, nv := 0, 0
			for n < len(rs) && floorDiv(rs[n].ts, hour) == h {
				nv += len(rs[n].vals)
				n++
			}
			if _, err := ins.ExecContext(ctx, d, rs[0].ts, rs[n-1].ts, n, nv, encodeBlock(rs[0].ts, rs[:n])); err != nil {
				return fmt.Errorf("device %d block at %d: %w", d, rs[0].ts, err)
			}
			rs = rs[n:]
		}
	}
	return nil
}

// forgetMerged drops what mergeRollups wrote from memory.
func (s *Store) forgetMerged() {
	for _, keys := range s.series {
		for _, x := range keys {
			x.minutes, x.hours, x.lastMinute, x.lastHour, x.dirty = nil, nil, nil, nil, false
		}
	}
	s.buckets = 0
}

// mergeRollups merges the gathered rollups and latest values into their
// tables.
func (s *Store) mergeRollups(ctx context.Context, tx *sql.Tx) error {
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
	for d, keys := range s.series {
		for k, x := range keys {
			for _, a := range x.minutes {
				if _, err := up.ExecContext(ctx, d, k, minute, a.start, a.Min, a.Max, a.Sum, a.Count, a.LastTS, a.Last); err != nil {
					return err
				}
			}
			for _, a := range x.hours {
				if _, err := up.ExecContext(ctx, d, k, hour, a.start, a.Min, a.Max, a.Sum, a.Count, a.LastTS, a.Last); err != nil {
					return err
				}
			}
		}
	}
	lu, err := tx.PrepareContext(ctx, `INSERT INTO latest (device, key, ts, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device, key) DO UPDATE SET ts = excluded.ts, kind = excluded.kind, num = excluded.num, txt = excluded.txt
		WHERE excluded.ts >= latest.ts`)
	if err != nil {
		return err
	}
	defer lu.Close()
	for d, keys := range s.series {
		for k, x := range keys {
			if x.dirty {
				lv := x.latest
				if _, err := lu.ExecContext(ctx, d, k, lv.Time.UnixMilli(), lv.Kind, lv.Num, lv.Text); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Series returns raw values (Step 0) or one aggregate a step.
func (s *Store) Series(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if q.Step == 0 {
		return s.raw(ctx, q)
	}
	from, to, step := q.From.UnixMilli(), q.To.UnixMilli(), q.Step.Milliseconds()
	size := minute
	if step%hour == 0 && from%hour == 0 {
		size = hour
	}
	steps := make([]cityhub.Summary, (to-from+step-1)/step)
	add := func(start int64, a *agg) {
		if start >= from && start < to {
			steps[(start-from)/step].Merge(&a.Summary)
		}
	}
	// Only the columns the aggregate needs: each column read costs.
	cols, dest := "cnt", func(a *agg) []any { return []any{&a.Count} }
	switch q.Agg {
	case "avg", "sum":
		cols, dest = "cnt, sm", func(a *agg) []any { return []any{&a.Count, &a.Sum} }
	case "min":
		cols, dest = "cnt, mn", func(a *agg) []any { return []any{&a.Count, &a.Min} }
	case "max":
		cols, dest = "cnt, mx", func(a *agg) []any { return []any{&a.Count, &a.Max} }
	case "last":
		cols, dest = "cnt, last_ts, last", func(a *agg) []any { return []any{&a.Count, &a.LastTS, &a.Last} }
	}
	rows, err := s.db.QueryContext(ctx, `SELECT start, `+cols+` FROM rollups
		WHERE device = ? AND key = ? AND size = ? AND start >= ? AND start < ? ORDER BY start`,
		q.DeviceID, q.Key, size, floorDiv(from, size)*size, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var a agg
	scan := append([]any{&a.start}, dest(&a)...)
	for rows.Next() {
		a = agg{}
		if err := rows.Scan(scan...); err != nil {
			return nil, err
		}
		add(a.start, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if x := s.series[q.DeviceID][q.Key]; x != nil {
		buckets := x.minutes
		if size == hour {
			buckets = x.hours
		}
		for _, a := range buckets {
			add(a.start, a)
		}
	}
	s.mu.Unlock()
	out := []cityhub.Point{}
	for i := range steps {
		if steps[i].Count > 0 {
			out = append(out, cityhub.Point{Time: time.UnixMilli(from + int64(i)*step), Value: steps[i].Value(q.Agg)})
		}
	}
	return out, nil
}

// raw returns a property's raw values in time order from the blocks and
// the pending readings.
func (s *Store) raw(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	limit := q.RawLimit()
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	var out []cityhub.Point
	add := func(r raw) {
		if r.ts < from || r.ts >= to {
			return
		}
		if i := slices.IndexFunc(r.vals, func(v cityhub.Value) bool { return v.Key == q.Key }); i >= 0 {
			out = append(out, cityhub.Point{Time: time.UnixMilli(r.ts), Value: r.vals[i].Num, Text: r.vals[i].Text})
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT start, data FROM blocks WHERE device = ? AND start >= ? AND start < ? ORDER BY start",
		q.DeviceID, floorDiv(from, hour)*hour, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for h := int64(-1); rows.Next(); {
		var start int64
		var data []byte
		if err := rows.Scan(&start, &data); err != nil {
			return nil, err
		}
		// Blocks of one hour may interleave, those of later hours come
		// after: once an hour gives enough, later hours cannot be needed.
		if floorDiv(start, hour) != h {
			if len(out) >= limit {
				break
			}
			h = floorDiv(start, hour)
		}
		rs, err := decodeBlock(start, data)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", q.DeviceID, err)
		}
		for _, r := range rs {
			add(r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for _, r := range s.pending[q.DeviceID] {
		add(r)
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b cityhub.Point) int { return a.Time.Compare(b.Time) })
	return out[:min(len(out), limit)], nil
}

// Latest returns each device's newest values, from memory.
func (s *Store) Latest(ctx context.Context, deviceIDs []int64) (map[int64][]cityhub.LatestValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64][]cityhub.LatestValue, len(deviceIDs))
	for _, d := range deviceIDs {
		vals := make([]cityhub.LatestValue, 0, len(s.series[d]))
		for _, x := range s.series[d] {
			if !x.latest.Time.IsZero() {
				vals = append(vals, x.latest)
			}
		}
		slices.SortFunc(vals, func(a, b cityhub.LatestValue) int { return strings.Compare(a.Key, b.Key) })
		out[d] = vals
	}
	return out, nil
}

// Prune drops raw readings observed before the cut, a block at a time (a
// block straddling the cut stays until it is wholly older); rollups stay.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	devices := slices.Collect(maps.Keys(s.series))
	s.mu.Unlock()
	var n int64
	cut := before.UnixMilli()
	for _, d := range devices {
		rows, err := s.db.QueryContext(ctx, "DELETE FROM blocks WHERE device = ?1 AND start < ?2 AND end < ?2 RETURNING n", d, cut)
		if err != nil {
			return n, err
		}
		for rows.Next() {
			var k int64
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return n, err
			}
			n += k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Stats counts raw readings and values and the file's size.
func (s *Store) Stats(ctx context.Context) (cityhub.SeriesStats, error) {
	var st cityhub.SeriesStats
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(nv), 0) FROM blocks").Scan(&st.Readings, &st.Values)
	if err != nil {
		return st, err
	}
	s.mu.Lock()
	for _, rs := range s.pending {
		st.Readings += int64(len(rs))
		for _, r := range rs {
			st.Values += int64(len(r.vals))
		}
	}
	s.mu.Unlock()
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

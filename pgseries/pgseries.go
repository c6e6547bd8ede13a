// Package pgseries implements cityhub.SeriesStore on PostgreSQL (14 or
// later), for when one machine's SQLite file (package tsdb) is no longer
// enough.
//
// Raw readings go to series_readings, partitioned by observation time into
// one table a day (UTC), created when a write first needs it; pruning drops
// whole days and deletes only from the day the cut falls in. A reading is
// one row, its values one jsonb object, as tsdb keeps them.
//
// Rollups (1 minute and 1 hour: min, max, sum, count, last) and the latest
// values are maintained in the same transaction as the raw readings, with
// upserts that merge (min of mins, sum of sums, last by observation time).
// So a committed write is complete: there is nothing in memory to lose in a
// crash or to replay on open, several nodes may write to one database, and
// late readings correct old buckets without recomputing them.
//
// Times are timestamptz rather than milliseconds in a bigint: the same 8
// bytes, exact at the milliseconds readings carry, and partition bounds,
// rows and rollups read as times in psql, Grafana or BI tools.
package pgseries

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune a store; zero values take the defaults.
type Options struct {
	// Schema holds the store's tables; it is created if missing. Empty:
	// the first schema of the DSN's search_path (usually public).
	Schema string
	Logger *slog.Logger
}

// Store is a series store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu    sync.Mutex
	parts map[int64]bool // days (since the epoch) whose partition exists
}

const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = int64(time.Hour / time.Millisecond)
	day    = 24 * hour

	// lockKey serializes schema set-up and partition creation between
	// nodes; sqlstore's migrations use 7301001.
	lockKey = 7301002
)

const schema = `
CREATE TABLE IF NOT EXISTS series_readings (
	device bigint      NOT NULL,
	ts     timestamptz NOT NULL, -- observation time, whole milliseconds
	vals   jsonb       NOT NULL, -- property → number or text
	PRIMARY KEY (device, ts)
) PARTITION BY RANGE (ts);
-- Columns ordered widest first, so no alignment padding. Rows of the
-- current minute and hour are updated by every write: fillfactor leaves
-- room for HOT updates.
CREATE TABLE IF NOT EXISTS series_rollups (
	device  bigint      NOT NULL,
	start   timestamptz NOT NULL,
	last_ts timestamptz NOT NULL,
	mn      float8      NOT NULL,
	mx      float8      NOT NULL,
	sm      float8      NOT NULL,
	last    float8      NOT NULL,
	cnt     bigint      NOT NULL,
	size    integer     NOT NULL, -- bucket length in seconds: 60 or 3600
	key     text        COLLATE "C" NOT NULL, -- byte order, as tsdb sorts
	PRIMARY KEY (device, key, size, start)
) WITH (fillfactor = 80);
CREATE TABLE IF NOT EXISTS series_latest (
	device bigint      NOT NULL,
	ts     timestamptz NOT NULL,
	num    float8      NOT NULL,
	key    text        COLLATE "C" NOT NULL,
	kind   text        NOT NULL,
	txt    text        NOT NULL,
	PRIMARY KEY (device, key)
) WITH (fillfactor = 50);
`

// Open connects to dsn (a postgres:// URL or key=value string) and creates
// the tables if they are missing.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("series store: %w", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("series store: %w", err)
	}
	s := &Store{pool: pool, log: opts.Logger, parts: map[int64]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.setUp(ctx, opts.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("series store on %s: %w", cfg.ConnConfig.Host, err)
	}
	return s, nil
}

func (s *Store) setUp(ctx context.Context, schemaName string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Nodes starting together would otherwise race on the catalog.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return err
		}
		if schemaName != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schemaName}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %s: %w", schemaName, err)
			}
		}
		if _, err := tx.Exec(ctx, schema); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
		return nil
	})
}

// Close closes the pool. Everything written is in the database already.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// partitionName is the table holding the readings of day d (days since the
// epoch, UTC).
func partitionName(d int64) string {
	return "series_readings_p" + time.UnixMilli(d*day).UTC().Format("20060102")
}

// partitions lists the existing daily partitions by day.
func (s *Store) partitions(ctx context.Context) (map[int64]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'series_readings'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	out := make(map[int64]string, len(names))
	for _, name := range names {
		// Partitions attached by hand under other names are left alone;
		// Prune still deletes their old rows.
		t, err := time.Parse("20060102", strings.TrimPrefix(name, "series_readings_p"))
		if d := floorDiv(t.UnixMilli(), day); err == nil && partitionName(d) == name {
			out[d] = name
		}
	}
	return out, nil
}

// ensurePartitions creates the partitions of the days not known to exist.
func (s *Store) ensurePartitions(ctx context.Context, days []int64) error {
	s.mu.Lock()
	var missing []int64
	for _, d := range days {
		if !s.parts[d] {
			missing = append(missing, d)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// IF NOT EXISTS alone is not safe against another node creating
		// the same table at the same instant.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return err
		}
		for _, d := range missing {
			name := partitionName(d)
			from := time.UnixMilli(d * day).UTC().Format("2006-01-02 15:04:05Z07")
			to := time.UnixMilli((d + 1) * day).UTC().Format("2006-01-02 15:04:05Z07")
			if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF series_readings FOR VALUES FROM ('%s') TO ('%s')",
				name, from, to)); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, d := range missing {
		s.parts[d] = true
	}
	s.mu.Unlock()
	s.log.Debug("series store: partitions ready", "days", len(missing))
	return nil
}

// isNoPartition tells the error of a row whose partition is missing: the
// cache said it existed, but another node pruned it meanwhile.
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

// batch is a write's readings prepared for the database.
type batch struct {
	ms      []int64           // observation times, whole milliseconds
	values  [][]cityhub.Value // one value a key, the last given
	encoded []string          // values as a JSON object
	first   []int             // index of the first reading with the same device and time
	order   []int             // first readings, by device and time
	days    []int64           // partitions needed
}

type readingKey struct{ device, ms int64 }

func newBatch(readings []cityhub.Reading) *batch {
	b := &batch{ms: make([]int64, len(readings)), values: make([][]cityhub.Value, len(readings)),
		encoded: make([]string, len(readings)), first: make([]int, len(readings))}
	index := map[readingKey]int{}
	days := map[int64]bool{}
	for i, r := range readings {
		b.ms[i] = r.Time.UnixMilli()
		b.values[i], b.encoded[i] = encodeValues(r.Values)
		k := readingKey{r.DeviceID, b.ms[i]}
		if j, ok := index[k]; ok {
			b.first[i] = j
			continue
		}
		index[k] = i
		b.first[i] = i
		b.order = append(b.order, i)
		if d := floorDiv(b.ms[i], day); !days[d] {
			days[d] = true
			b.days = append(b.days, d)
		}
	}
	// One key order for every writer, so two writers meeting on the same
	// readings or buckets wait for each other instead of deadlocking.
	slices.SortFunc(b.order, func(i, j int) int {
		if c := cmp.Compare(readings[i].DeviceID, readings[j].DeviceID); c != 0 {
			return c
		}
		return cmp.Compare(b.ms[i], b.ms[j])
	})
	return b
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// encodeValues keeps the last value of each key and writes them as a JSON
// object; booleans are numbers, as in tsdb.
func encodeValues(vals []cityhub.Value) ([]cityhub.Value, string) {
	m := make(map[string]any, len(vals))
	out := make([]cityhub.Value, 0, len(vals))
	for i, v := range vals {
		if slices.ContainsFunc(vals[i+1:], func(w cityhub.Value) bool { return w.Key == v.Key }) {
			continue
		}
		out = append(out, v)
		if v.Kind == cityhub.KindText {
			m[v.Key] = v.Text
		} else {
			m[v.Key] = v.Num
		}
	}
	b, _ := json.Marshal(m) // strings and finite numbers only
	return out, string(b)
}

// Write stores readings in one transaction, with their rollups and latest
// values. A reading whose device and time are stored already (or given
// earlier in the same write) is a Duplicate when its values are the same
// and a Conflict otherwise; neither changes what is stored.
func (s *Store) Write(ctx context.Context, readings []cityhub.Reading) ([]cityhub.ReadingOutcome, error) {
	out := make([]cityhub.ReadingOutcome, len(readings))
	if len(readings) == 0 {
		return out, nil
	}
	b := newBatch(readings)
	for attempt := 0; ; attempt++ {
		err := s.ensurePartitions(ctx, b.days)
		if err == nil {
			err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.write(ctx, tx, readings, b, out) })
		}
		if err == nil {
			return out, nil
		}
		if attempt == 0 && isNoPartition(err) {
			s.mu.Lock()
			clear(s.parts)
			s.mu.Unlock()
			continue
		}
		return nil, fmt.Errorf("series store: write %d readings: %w", len(readings), err)
	}
}

func (s *Store) write(ctx context.Context, tx pgx.Tx, readings []cityhub.Reading, b *batch, out []cityhub.ReadingOutcome) error {
	devices := make([]int64, len(b.order))
	times := make([]time.Time, len(b.order))
	vals := make([]string, len(b.order))
	for n, i := range b.order {
		devices[n], times[n], vals[n] = readings[i].DeviceID, time.UnixMilli(b.ms[i]), b.encoded[i]
	}
	rows, err := tx.Query(ctx, `INSERT INTO series_readings (device, ts, vals)
		SELECT d, t, v::jsonb FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS u(d, t, v)
		ON CONFLICT DO NOTHING RETURNING device, ts`, devices, times, vals)
	if err != nil {
		return fmt.Errorf("insert readings: %w", err)
	}
	inserted := map[readingKey]bool{}
	var k readingKey
	var ts time.Time
	if _, err := pgx.ForEachRow(rows, []any{&k.device, &ts}, func() error {
		k.ms = ts.UnixMilli()
		inserted[k] = true
		return nil
	}); err != nil {
		return fmt.Errorf("insert readings: %w", err)
	}

	// The others met a stored reading: compare values to tell a duplicate
	// from a conflict. jsonb equality ignores key order and number format.
	var idx []int32
	devices, times, vals = devices[:0], times[:0], vals[:0]
	for i, r := range readings {
		if b.first[i] == i && inserted[readingKey{r.DeviceID, b.ms[i]}] {
			out[i] = cityhub.Stored
			continue
		}
		idx = append(idx, int32(i))
		devices, times, vals = append(devices, r.DeviceID), append(times, time.UnixMilli(b.ms[i])), append(vals, b.encoded[i])
	}
	if len(idx) > 0 {
		rows, err := tx.Query(ctx, `SELECT u.i, r.vals = u.v::jsonb
			FROM unnest($1::int[], $2::bigint[], $3::timestamptz[], $4::text[]) AS u(i, d, t, v)
			JOIN series_readings r ON r.device = u.d AND r.ts = u.t`, idx, devices, times, vals)
		if err != nil {
			return fmt.Errorf("compare readings: %w", err)
		}
		found := 0
		var i int32
		var same bool
		if _, err := pgx.ForEachRow(rows, []any{&i, &same}, func() error {
			out[i] = cityhub.Conflict
			if same {
				out[i] = cityhub.Duplicate
			}
			found++
			return nil
		}); err != nil {
			return fmt.Errorf("compare readings: %w", err)
		}
		if found != len(idx) {
			return fmt.Errorf("compare readings: %d of %d stored readings vanished (pruned meanwhile?)", len(idx)-found, len(idx))
		}
	}

	buckets := map[bucketKey]*cityhub.Summary{}
	latest := map[latestKey]cityhub.LatestValue{}
	for i, r := range readings {
		if out[i] == cityhub.Stored {
			gather(buckets, latest, r.DeviceID, b.ms[i], b.values[i])
		}
	}
	if err := upsertRollups(ctx, tx, buckets); err != nil {
		return err
	}
	return upsertLatest(ctx, tx, latest)
}

type bucketKey struct {
	device int64
	key    string
	size   int64 // minute or hour, in ms
	start  int64 // ms since the epoch
}

type latestKey struct {
	device int64
	key    string
}

// gather adds a stored reading to a write's rollups and latest values.
func gather(buckets map[bucketKey]*cityhub.Summary, latest map[latestKey]cityhub.LatestValue, device, ts int64, values []cityhub.Value) {
	at := time.UnixMilli(ts)
	for _, v := range values {
		lk := latestKey{device, v.Key}
		if old, ok := latest[lk]; !ok || !at.Before(old.Time) {
			latest[lk] = cityhub.LatestValue{Value: v, Time: at}
		}
		if v.Kind == cityhub.KindText {
			continue
		}
		for _, size := range []int64{minute, hour} {
			k := bucketKey{device, v.Key, size, floorDiv(ts, size) * size}
			a := buckets[k]
			if a == nil {
				a = &cityhub.Summary{}
				buckets[k] = a
			}
			a.Add(ts, v.Num)
		}
	}
}

func upsertRollups(ctx context.Context, tx pgx.Tx, buckets map[bucketKey]*cityhub.Summary) error {
	if len(buckets) == 0 {
		return nil
	}
	keys := make([]bucketKey, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b bucketKey) int { // the primary key's order
		if c := cmp.Compare(a.device, b.device); c != 0 {
			return c
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := cmp.Compare(a.size, b.size); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	n := len(keys)
	var (
		devices = make([]int64, n)
		names   = make([]string, n)
		sizes   = make([]int32, n)
		starts  = make([]time.Time, n)
		mins    = make([]float64, n)
		maxs    = make([]float64, n)
		sums    = make([]float64, n)
		counts  = make([]int64, n)
		lastTS  = make([]time.Time, n)
		lasts   = make([]float64, n)
	)
	for i, k := range keys {
		a := buckets[k]
		devices[i], names[i], sizes[i], starts[i] = k.device, k.key, int32(k.size/1000), time.UnixMilli(k.start)
		mins[i], maxs[i], sums[i], counts[i], lastTS[i], lasts[i] = a.Min, a.Max, a.Sum, a.Count, time.UnixMilli(a.LastTS), a.Last
	}
	_, err := tx.Exec(ctx, `INSERT INTO series_rollups AS r (device, key, size, start, mn, mx, sm, cnt, last_ts, last)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[],
			$5::float8[], $6::float8[], $7::float8[], $8::bigint[], $9::timestamptz[], $10::float8[])
		ON CONFLICT (device, key, size, start) DO UPDATE SET
			mn = least(r.mn, excluded.mn), mx = greatest(r.mx, excluded.mx),
			sm = r.sm + excluded.sm, cnt = r.cnt + excluded.cnt,
			last = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last ELSE r.last END,
			last_ts = greatest(r.last_ts, excluded.last_ts)`,
		devices, names, sizes, starts, mins, maxs, sums, counts, lastTS, lasts)
	if err != nil {
		return fmt.Errorf("merge %d rollups: %w", n, err)
	}
	return nil
}

func upsertLatest(ctx context.Context, tx pgx.Tx, latest map[latestKey]cityhub.LatestValue) error {
	if len(latest) == 0 {
		return nil
	}
	keys := make([]latestKey, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b latestKey) int {
		if c := cmp.Compare(a.device, b.device); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	n := len(keys)
	devices, names, times := make([]int64, n), make([]string, n), make([]time.Time, n)
	kinds, nums, texts := make([]string, n), make([]float64, n), make([]string, n)
	for i, k := range keys {
		lv := latest[k]
		devices[i], names[i], times[i], kinds[i], nums[i], texts[i] = k.device, k.key, lv.Time, lv.Kind, lv.Num, lv.Text
	}
	// The WHERE keeps a late reading from replacing a newer value.
	_, err := tx.Exec(ctx, `INSERT INTO series_latest AS l (device, key, ts, kind, num, txt)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::float8[], $6::text[])
		ON CONFLICT (device, key) DO UPDATE SET ts = excluded.ts, kind = excluded.kind, num = excluded.num, txt = excluded.txt
		WHERE excluded.ts >= l.ts`,
		devices, names, times, kinds, nums, texts)
	if err != nil {
		return fmt.Errorf("merge %d latest values: %w", n, err)
	}
	return nil
}

// Series returns raw values (Step 0) or one aggregate a step, with the same
// rules as tsdb.
func (s *Store) Series(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if q.Step == 0 {
		return s.raw(ctx, q)
	}
	from, to, step := q.From.UnixMilli(), q.To.UnixMilli(), q.Step.Milliseconds()
	// Hour rollups when every step is whole hours from an hour; buckets
	// are counted in the step their start falls in.
	size := minute
	if step%hour == 0 && from%hour == 0 {
		size = hour
	}
	rows, err := s.pool.Query(ctx, `SELECT date_bin(make_interval(mins => $5), start, $3) AS t,
			min(mn), max(mx), sum(sm), sum(cnt)::bigint, (array_agg(last ORDER BY last_ts DESC))[1]
		FROM series_rollups
		WHERE device = $1 AND key = $2 AND size = $6 AND start >= $3 AND start < $4
		GROUP BY 1 ORDER BY 1`,
		q.DeviceID, q.Key, time.UnixMilli(from), time.UnixMilli(to), int32(step/minute), int32(size/1000))
	if err != nil {
		return nil, fmt.Errorf("series store: series of device %d %s: %w", q.DeviceID, q.Key, err)
	}
	var out []cityhub.Point
	var p cityhub.Point
	var a cityhub.Summary
	if _, err := pgx.ForEachRow(rows, []any{&p.Time, &a.Min, &a.Max, &a.Sum, &a.Count, &a.Last}, func() error {
		p.Value = a.Value(q.Agg)
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("series store: series of device %d %s: %w", q.DeviceID, q.Key, err)
	}
	return out, nil
}

func (s *Store) raw(ctx context.Context, q cityhub.SeriesQuery) ([]cityhub.Point, error) {
	limit := q.RawLimit()
	rows, err := s.pool.Query(ctx, `SELECT ts,
			CASE jsonb_typeof(vals -> $2::text) WHEN 'number' THEN (vals ->> $2::text)::float8 END,
			CASE jsonb_typeof(vals -> $2::text) WHEN 'string' THEN vals ->> $2::text END
		FROM series_readings
		WHERE device = $1 AND ts >= $3 AND ts < $4 AND vals ? $2::text
		ORDER BY ts LIMIT $5`,
		q.DeviceID, q.Key, time.UnixMilli(q.From.UnixMilli()), time.UnixMilli(q.To.UnixMilli()), limit)
	if err != nil {
		return nil, fmt.Errorf("series store: raw series of device %d %s: %w", q.DeviceID, q.Key, err)
	}
	var out []cityhub.Point
	var p cityhub.Point
	var num *float64
	var text *string
	if _, err := pgx.ForEachRow(rows, []any{&p.Time, &num, &text}, func() error {
		p.Value, p.Text = 0, ""
		if num != nil {
			p.Value = *num
		}
		if text != nil {
			p.Text = *text
		}
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("series store: raw series of device %d %s: %w", q.DeviceID, q.Key, err)
	}
	return out, nil
}

// Latest returns each device's newest values by observation time, sorted
// by key in byte order.
func (s *Store) Latest(ctx context.Context, deviceIDs []int64) (map[int64][]cityhub.LatestValue, error) {
	out := make(map[int64][]cityhub.LatestValue, len(deviceIDs))
	for _, d := range deviceIDs {
		out[d] = []cityhub.LatestValue{}
	}
	rows, err := s.pool.Query(ctx, `SELECT device, key, ts, kind, num, txt FROM series_latest
		WHERE device = ANY($1) ORDER BY device, key`, deviceIDs)
	if err != nil {
		return nil, fmt.Errorf("series store: latest values: %w", err)
	}
	var d int64
	var lv cityhub.LatestValue
	if _, err := pgx.ForEachRow(rows, []any{&d, &lv.Key, &lv.Time, &lv.Kind, &lv.Num, &lv.Text}, func() error {
		out[d] = append(out[d], lv)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("series store: latest values: %w", err)
	}
	return out, nil
}

// Prune drops raw readings observed before the cut: the days wholly before
// it as tables, the rest row by row; rollups and latest values stay. The
// count misses rows a concurrent write adds to a day being dropped.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UnixMilli()
	parts, err := s.partitions(ctx)
	if err != nil {
		return 0, fmt.Errorf("series store: prune: %w", err)
	}
	days := make([]int64, 0, len(parts))
	for d := range parts {
		if (d+1)*day <= cut {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	var n int64
	for _, d := range days {
		name := partitionName(d)
		// Forget it first: a write meanwhile recreates it rather than
		// trusting the cache.
		s.mu.Lock()
		delete(s.parts, d)
		s.mu.Unlock()
		var rows int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DROP TABLE "+name)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("series store: prune: drop %s: %w", name, err)
		}
		n += rows
		s.log.Info("series store: dropped a day of raw readings", "partition", name, "readings", rows)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM series_readings WHERE ts < $1", time.UnixMilli(cut))
	if err != nil {
		return n, fmt.Errorf("series store: prune before %s: %w", before.Format(time.RFC3339), err)
	}
	return n + tag.RowsAffected(), nil
}

// Stats counts raw readings and values and the bytes of every table and
// index of the store.
func (s *Store) Stats(ctx context.Context) (cityhub.SeriesStats, error) {
	var st cityhub.SeriesStats
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum((SELECT count(*) FROM jsonb_object_keys(vals))), 0)::bigint
		FROM series_readings`).Scan(&st.Readings, &st.Values)
	if err != nil {
		return st, fmt.Errorf("series store: stats: %w", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('series_readings'))::bigint
		+ pg_total_relation_size('series_rollups') + pg_total_relation_size('series_latest')`).Scan(&st.Bytes)
	if err != nil {
		return st, fmt.Errorf("series store: stats: %w", err)
	}
	return st, nil
}

var _ cityhub.SeriesStore = (*Store)(nil)

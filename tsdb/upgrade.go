package tsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cityhub/cityhub"
)

// upgradeRowLayout moves a store of the first layout, a row per reading in
// table readings with rollups flushed up to flushes.seq, into blocks, in
// one transaction: rollups of readings after the last flush are merged on
// the way, so nothing is lost or counted twice if the upgrade is cut short.
func (s *Store) upgradeRowLayout(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'readings'").Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var flushed int64
	if err := tx.QueryRowContext(ctx, "SELECT seq FROM flushes").Scan(&flushed); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, "SELECT device, ts, seq, vals FROM readings ORDER BY device, ts")
	if err != nil {
		return err
	}
	defer rows.Close()
	var device int64 = -1
	var group []raw
	put := func() error {
		if len(group) == 0 {
			return nil
		}
		nv := 0
		for _, r := range group {
			nv += len(r.vals)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO blocks (device, start, end, n, nv, data) VALUES (?, ?, ?, ?, ?, ?)",
			device, group[0].ts, group[len(group)-1].ts, len(group), nv, encodeBlock(group[0].ts, group))
		group = group[:0]
		return err
	}
	moved := 0
	for rows.Next() {
		var d, ts, seq int64
		var vals string
		if err := rows.Scan(&d, &ts, &seq, &vals); err != nil {
			return err
		}
		r, err := decodeJSONValues(ts, vals)
		if err != nil {
			return fmt.Errorf("device %d at %d: %w", d, ts, err)
		}
		if d != device || (len(group) > 0 && floorDiv(ts, hour) != floorDiv(group[0].ts, hour)) {
			if err := put(); err != nil {
				return err
			}
		}
		device = d
		group = append(group, r)
		if seq > flushed {
			s.gather(d, r)
		}
		moved++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := put(); err != nil {
		return err
	}
	if err := s.mergeRollups(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE readings; DROP TABLE flushes"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	clear(s.series) // recover loads the latest values from their table
	s.buckets = 0
	s.log.Info("series store: moved readings to blocks", "readings", moved)
	return nil
}

// decodeJSONValues reads the first layout's values: a JSON object of
// numbers (booleans as 0 and 1) and texts.
func decodeJSONValues(ts int64, text string) (raw, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return raw{}, err
	}
	r := raw{ts: ts, vals: make([]cityhub.Value, 0, len(m))}
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			r.vals = append(r.vals, cityhub.Value{Key: k, Num: x, Kind: cityhub.KindNumber})
		case string:
			r.vals = append(r.vals, cityhub.Value{Key: k, Text: x, Kind: cityhub.KindText})
		}
	}
	slices.SortFunc(r.vals, func(a, b cityhub.Value) int { return strings.Compare(a.Key, b.Key) })
	return r, nil
}

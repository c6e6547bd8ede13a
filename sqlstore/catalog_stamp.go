package sqlstore

import (
	"context"
	"strings"

	"github.com/cityhub/cityhub"
)

// touchCatalog marks entry id as changed by this transaction: the first
// touch takes the next catalog stamp (holding catalog_state's row lock until
// commit, so stamps commit in order), every touch stamps its entry.
func (s *Store) touchCatalog(ctx context.Context, tx q, id int64, deleted bool) error {
	if *tx.stamp == 0 {
		if err := tx.row(ctx, "UPDATE catalog_state SET stamp = stamp + 1 WHERE id = 1 RETURNING stamp").Scan(tx.stamp); err != nil {
			return err
		}
	}
	if deleted {
		_, err := tx.exec(ctx, "INSERT INTO catalog_deletions (stamp, entry_id) VALUES (?, ?)", *tx.stamp, id)
		return err
	}
	_, err := tx.exec(ctx, "UPDATE catalog_entries SET stamp = ? WHERE id = ?", *tx.stamp, id)
	return err
}

// CatalogStamp is the stamp of the latest committed catalog change.
func (s *Store) CatalogStamp(ctx context.Context) (int64, error) {
	var stamp int64
	err := s.read().row(ctx, "SELECT stamp FROM catalog_state WHERE id = 1").Scan(&stamp)
	return stamp, err
}

// CatalogChanges streams the entries changed after since (every entry when
// since is 0) to fn, and returns the ids deleted after since and the stamp
// the caller is then up to date with.
func (s *Store) CatalogChanges(ctx context.Context, since int64, fn func(*cityhub.CatalogEntry) error) (deleted []int64, stamp int64, err error) {
	// Read the stamp first: changes committed meanwhile are read again next time.
	if stamp, err = s.CatalogStamp(ctx); err != nil {
		return nil, 0, err
	}
	const batch = 2000
	for after := int64(0); ; {
		rows, err := s.read().query(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.stamp > ? AND e.id > ? ORDER BY e.id LIMIT ?",
			since, after, batch)
		if err != nil {
			return nil, 0, err
		}
		n := 0
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return nil, 0, err
			}
			n++
			after = e.ID
			if err := fn(e); err != nil {
				rows.Close()
				return nil, 0, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, err
		}
		if n < batch {
			break
		}
	}
	if since == 0 {
		return nil, stamp, nil
	}
	rows, err := s.read().query(ctx, "SELECT entry_id FROM catalog_deletions WHERE stamp > ?", since)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		deleted = append(deleted, id)
	}
	return deleted, stamp, rows.Err()
}

// EntriesByID returns the entries with ids, in the order of ids; missing
// ones are left out.
func (s *Store) EntriesByID(ctx context.Context, ids []int64) ([]*cityhub.CatalogEntry, error) {
	if len(ids) == 0 {
		return []*cityhub.CatalogEntry{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.read().query(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[int64]*cityhub.CatalogEntry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		byID[e.ID] = e
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*cityhub.CatalogEntry, 0, len(ids))
	for _, id := range ids {
		if e := byID[id]; e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// markDataUpdated runs in its own transaction: it changes what the index
// sees (freshness) but is not a change anybody made, so it is not audited.
func (s *Store) markDataUpdated(ctx context.Context, id int64, at int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := q{s: s, db: tx, stamp: new(int64)}
	res, err := t.exec(ctx, "UPDATE catalog_entries SET data_updated_at = ? WHERE id = ?", at, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	if err := s.touchCatalog(ctx, t, id, false); err != nil {
		return err
	}
	return tx.Commit()
}

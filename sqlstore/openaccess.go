package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Open access: API keys of public accounts and the daily use of open datasets.

const apiKeyColumns = "k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at, k.calls, k.revoked_at"

func scanAPIKey(row interface{ Scan(...any) error }) (*cityhub.APIKey, error) {
	var k cityhub.APIKey
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &created, &used, &k.Calls, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt, k.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &k, nil
}

func apiKeyObject(id int64) string { return "api_key:" + strconv.FormatInt(id, 10) }

// CreateAPIKey stores a key under the hash of its secret, audited. The
// count of active keys is checked in the same transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k *cityhub.APIKey, hash string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "api_key.create", func(tx q) (string, any, error) {
		var active int
		if err := tx.row(ctx, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL", k.UserID).Scan(&active); err != nil {
			return "", nil, err
		}
		if active >= cityhub.MaxActiveAPIKeys {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "an account holds at most %d active API keys; revoke one first", cityhub.MaxActiveAPIKeys)
		}
		k.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
		k.Calls, k.LastUsedAt, k.RevokedAt = 0, nil, nil
		err := tx.row(ctx, `INSERT INTO api_keys (user_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			k.UserID, k.Name, k.Prefix, hash, micros(k.CreatedAt)).Scan(&k.ID)
		return apiKeyObject(k.ID), k, err
	})
}

// APIKeys lists a user's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, userID int64) ([]*cityhub.APIKey, error) {
	rows, err := s.read().query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys k WHERE k.user_id = ? ORDER BY k.id DESC LIMIT 500", userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) APIKey(ctx context.Context, id int64) (*cityhub.APIKey, error) {
	k, err := scanAPIKey(s.read().row(ctx, "SELECT "+apiKeyColumns+" FROM api_keys k WHERE k.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "API key %d not found", id)
	}
	return k, err
}

// APIKeyByHash finds a key by hash; keys of disabled accounts are not found.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*cityhub.APIKey, error) {
	k, err := scanAPIKey(s.read().row(ctx, "SELECT "+apiKeyColumns+
		" FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ? AND u.disabled = ?", hash, false))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "API key not found")
	}
	return k, err
}

func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	return s.change(ctx, "api_key.revoke", func(tx q) (string, any, error) {
		var userID int64
		err := tx.row(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING user_id",
			micros(s.now()), id).Scan(&userID)
		if err == sql.ErrNoRows {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "API key %d not found or already revoked", id)
		}
		return apiKeyObject(id), map[string]int64{"user_id": userID}, err
	})
}

// TouchAPIKeys adds each key's calls and moves its last use forward (never
// back: reports from several nodes may arrive out of order).
func (s *Store) TouchAPIKeys(ctx context.Context, uses []cityhub.APIKeyUse) error {
	if len(uses) == 0 {
		return nil
	}
	// Rows in one order, so batches of several nodes cannot deadlock.
	uses = slices.SortedFunc(slices.Values(uses), func(a, b cityhub.APIKeyUse) int { return cmp.Compare(a.KeyID, b.KeyID) })
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.translate(err)
	}
	defer tx.Rollback()
	t := q{s: s, db: tx}
	for _, u := range uses {
		at := micros(u.LastAt)
		if _, err := t.exec(ctx, `UPDATE api_keys SET calls = calls + ?,
			last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END
			WHERE id = ?`, u.Calls, at, at, u.KeyID); err != nil {
			return s.translate(err)
		}
	}
	return s.translate(tx.Commit())
}

// AddUsage adds the day counts in one transaction. Rows of datasets that
// do not exist (any more) are dropped, so one stale id cannot hold back a
// whole batch.
func (s *Store) AddUsage(ctx context.Context, days []cityhub.UsageDay) error {
	if len(days) == 0 {
		return nil
	}
	ids := map[int64]bool{}
	for _, d := range days {
		if len(d.Day) != len(time.DateOnly) {
			return cityhub.Errorf(cityhub.EINVALID, "usage day %q is not CCYY-MM-DD", d.Day)
		}
		if _, err := time.Parse(time.DateOnly, d.Day); err != nil {
			return cityhub.Errorf(cityhub.EINVALID, "usage day %q is not CCYY-MM-DD", d.Day)
		}
		if d.EntryID > 0 {
			ids[d.EntryID] = false
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.translate(err)
	}
	defer tx.Rollback()
	t := q{s: s, db: tx}
	if err := markExisting(ctx, t, ids); err != nil {
		return s.translate(err)
	}
	// Rows in one order, so batches of several nodes cannot deadlock.
	days = slices.SortedFunc(slices.Values(days), func(a, b cityhub.UsageDay) int {
		return cmp.Or(cmp.Compare(a.EntryID, b.EntryID), strings.Compare(a.Day, b.Day))
	})
	for _, d := range days {
		if !ids[d.EntryID] || d.Views < 0 || d.Downloads < 0 || d.APICalls < 0 || d.Total() == 0 {
			continue
		}
		if _, err := t.exec(ctx, `INSERT INTO usage_daily (entry_id, day, views, downloads, api_calls) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (entry_id, day) DO UPDATE SET views = usage_daily.views + excluded.views,
			downloads = usage_daily.downloads + excluded.downloads, api_calls = usage_daily.api_calls + excluded.api_calls`,
			d.EntryID, d.Day, d.Views, d.Downloads, d.APICalls); err != nil {
			return s.translate(err)
		}
	}
	return s.translate(tx.Commit())
}

// markExisting sets ids[id] for the catalog entries that exist, asking
// in chunks of bounded size.
func markExisting(ctx context.Context, t q, ids map[int64]bool) error {
	all := make([]int64, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	slices.Sort(all)
	for chunk := range slices.Chunk(all, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := t.query(ctx, "SELECT id FROM catalog_entries WHERE id IN (?"+strings.Repeat(", ?", len(chunk)-1)+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// MostUsed ranks datasets by all their use since the day of since.
func (s *Store) MostUsed(ctx context.Context, since time.Time, limit int) ([]cityhub.UsageCount, error) {
	limit = min(limit, 1000)
	if limit <= 0 {
		limit = 10
	}
	rows, err := s.read().query(ctx, `SELECT entry_id, SUM(views), SUM(downloads), SUM(api_calls) FROM usage_daily
		WHERE day >= ? GROUP BY entry_id ORDER BY SUM(views) + SUM(downloads) + SUM(api_calls) DESC, entry_id LIMIT ?`,
		cityhub.UseDay(since, nil), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []cityhub.UsageCount{}
	for rows.Next() {
		var c cityhub.UsageCount
		if err := rows.Scan(&c.EntryID, &c.Views, &c.Downloads, &c.APICalls); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DailyUsage returns every day from from to to (both included), with zeros
// for days without use; entryID 0 sums all datasets.
func (s *Store) DailyUsage(ctx context.Context, entryID int64, from, to time.Time) ([]cityhub.UsageDay, error) {
	days, err := cityhub.UsageDays(from, to)
	if err != nil || len(days) == 0 {
		return days, err
	}
	for i := range days {
		days[i].EntryID = entryID
	}
	var w where
	w.add("day >= ?", days[0].Day)
	w.add("day <= ?", days[len(days)-1].Day)
	if entryID != 0 {
		w.add("entry_id = ?", entryID)
	}
	rows, err := s.read().query(ctx, "SELECT day, SUM(views), SUM(downloads), SUM(api_calls) FROM usage_daily"+
		w.String()+" GROUP BY day", w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	index := make(map[string]int, len(days))
	for i, d := range days {
		index[d.Day] = i
	}
	for rows.Next() {
		var day string
		var c cityhub.UsageCount
		if err := rows.Scan(&day, &c.Views, &c.Downloads, &c.APICalls); err != nil {
			return nil, err
		}
		if i, ok := index[day]; ok {
			days[i].Views, days[i].Downloads, days[i].APICalls = c.Views, c.Downloads, c.APICalls
		}
	}
	return days, rows.Err()
}

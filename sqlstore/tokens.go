package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

const tokenColumns = "id, user_id, kind, name, scopes, hint, csrf, created_at, expires_at, last_used_at, revoked_at"

func scanToken(row interface{ Scan(...any) error }) (*cityhub.Token, error) {
	var t cityhub.Token
	var scopes string
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.UserID, &t.Kind, &t.Name, &scopes, &t.Hint, &t.CSRF, &created, &expires, &used, &revoked); err != nil {
		return nil, err
	}
	t.Scopes = strings.Split(scopes, ",")
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	t.LastUsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &t, nil
}

func tokenObject(id int64) string { return "token:" + strconv.FormatInt(id, 10) }

// CreateToken stores a token under the hash of its secret. Session tokens
// come from logins, which the caller audits; personal tokens are audited here.
func (s *Store) CreateToken(ctx context.Context, t *cityhub.Token, hash string) error {
	t.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	insert := func(tx q) (string, any, error) {
		err := tx.row(ctx, `INSERT INTO tokens (user_id, kind, name, scopes, hint, csrf, hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.UserID, t.Kind, t.Name, strings.Join(t.Scopes, ","), t.Hint, t.CSRF, hash, micros(t.CreatedAt), micros(t.ExpiresAt)).Scan(&t.ID)
		return tokenObject(t.ID), t, err
	}
	if t.Kind == cityhub.TokenSession {
		_, _, err := insert(s.read())
		return s.translate(err)
	}
	return s.change(ctx, "token.create", insert)
}

func (s *Store) TokenByHash(ctx context.Context, hash string) (*cityhub.Token, error) {
	t, err := scanToken(s.read().row(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = ?", hash))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "token not found")
	}
	return t, err
}

func (s *Store) Token(ctx context.Context, id int64) (*cityhub.Token, error) {
	t, err := scanToken(s.read().row(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "token %d not found", id)
	}
	return t, err
}

// Tokens lists a user's tokens of kind (all kinds when empty), newest first.
func (s *Store) Tokens(ctx context.Context, userID int64, kind string) ([]*cityhub.Token, error) {
	var w where
	w.add("user_id = ?", userID)
	if kind != "" {
		w.add("kind = ?", kind)
	}
	rows, err := s.read().query(ctx, "SELECT "+tokenColumns+" FROM tokens"+w.String()+" ORDER BY id DESC LIMIT 500", w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.change(ctx, "token.revoke", func(tx q) (string, any, error) {
		res, err := tx.exec(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", micros(s.now()), id)
		if err != nil {
			return "", nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "token %d not found or already revoked", id)
		}
		return tokenObject(id), nil, nil
	})
}

func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := s.read().exec(ctx, "UPDATE tokens SET last_used_at = ? WHERE id = ?", micros(at), id)
	return err
}

func (s *Store) RecordLoginFailure(ctx context.Context, key string, at, since time.Time) (int, error) {
	if _, err := s.read().exec(ctx, "INSERT INTO login_failures (key, at) VALUES (?, ?)", key, micros(at)); err != nil {
		return 0, err
	}
	// Old failures no longer count; keep the table small.
	if _, err := s.read().exec(ctx, "DELETE FROM login_failures WHERE key = ? AND at < ?", key, micros(since)); err != nil {
		return 0, err
	}
	var n int
	err := s.read().row(ctx, "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?", key, micros(since)).Scan(&n)
	return n, err
}

func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.read().exec(ctx, "DELETE FROM login_failures WHERE key = ?", key)
	return err
}

func (s *Store) Lock(ctx context.Context, key string, until time.Time) error {
	_, err := s.read().exec(ctx, `INSERT INTO lockouts (key, until_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET until_at = excluded.until_at`, key, micros(until))
	return err
}

func (s *Store) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	var until int64
	err := s.read().row(ctx, "SELECT until_at FROM lockouts WHERE key = ?", key).Scan(&until)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return fromMicros(until), nil
}

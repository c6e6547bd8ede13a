package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

const userColumns = "id, username, display_name, email, phone, department_id, roles, disabled, created_at, updated_at, last_login_at"

func scanUser(row interface{ Scan(...any) error }, extra ...any) (*cityhub.User, error) {
	var u cityhub.User
	var dept, lastLogin sql.NullInt64
	var roles string
	var created, updated int64
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Phone, &dept, &roles, &u.Disabled,
		&created, &updated, &lastLogin}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if dept.Valid {
		u.DepartmentID = &dept.Int64
	}
	u.Roles = strings.Split(roles, ",")
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMicros(created), fromMicros(updated), fromNullMicros(lastLogin)
	return &u, nil
}

func userObject(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

func (s *Store) CreateUser(ctx context.Context, u *cityhub.User, passwordHash string) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "user.create", func(tx q) (string, any, error) {
		now := s.now().UTC().Truncate(time.Microsecond)
		err := tx.row(ctx, `INSERT INTO users (username, display_name, email, phone, department_id, roles, disabled, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Username, u.DisplayName, u.Email, u.Phone, u.DepartmentID, strings.Join(u.Roles, ","), u.Disabled,
			passwordHash, micros(now), micros(now)).Scan(&u.ID)
		if err != nil {
			return "", nil, err
		}
		u.CreatedAt, u.UpdatedAt = now, now
		return userObject(u.ID), u, nil
	})
}

func (s *Store) UpdateUser(ctx context.Context, u *cityhub.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "user.update", func(tx q) (string, any, error) {
		old, err := scanUser(tx.row(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", u.ID))
		if err != nil {
			return "", nil, err
		}
		if old.Username != u.Username {
			return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid user",
				Fields: map[string]string{"username": "cannot be changed"}}
		}
		u.CreatedAt, u.LastLoginAt, u.UpdatedAt = old.CreatedAt, old.LastLoginAt, s.now().UTC().Truncate(time.Microsecond)
		_, err = tx.exec(ctx, `UPDATE users SET display_name = ?, email = ?, phone = ?, department_id = ?, roles = ?,
			disabled = ?, updated_at = ? WHERE id = ?`,
			u.DisplayName, u.Email, u.Phone, u.DepartmentID, strings.Join(u.Roles, ","), u.Disabled, micros(u.UpdatedAt), u.ID)
		if err == nil && u.Disabled && !old.Disabled {
			// A disabled user's sessions and tokens stop working at once.
			_, err = tx.exec(ctx, "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", micros(u.UpdatedAt), u.ID)
		}
		return userObject(u.ID), map[string]any{"before": old, "after": u}, err
	})
}

func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	return s.change(ctx, "user.password", func(tx q) (string, any, error) {
		now := micros(s.now())
		res, err := tx.exec(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, now, userID)
		if err != nil {
			return "", nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "user %d not found", userID)
		}
		// A new password ends every session, as users expect after a reset.
		_, err = tx.exec(ctx, "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND kind = ? AND revoked_at IS NULL",
			now, userID, cityhub.TokenSession)
		return userObject(userID), nil, err
	})
}

func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.change(ctx, "user.delete", func(tx q) (string, any, error) {
		old, err := scanUser(tx.row(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
		if err != nil {
			return "", nil, err
		}
		_, err = tx.exec(ctx, "DELETE FROM users WHERE id = ?", id)
		return userObject(id), old, err
	})
}

func (s *Store) User(ctx context.Context, id int64) (*cityhub.User, error) {
	u, err := scanUser(s.read().row(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "user %d not found", id)
	}
	return u, err
}

func (s *Store) UserByUsername(ctx context.Context, username string) (*cityhub.User, string, error) {
	var hash string
	u, err := scanUser(s.read().row(ctx, "SELECT "+userColumns+", password_hash FROM users WHERE username = ?",
		strings.ToLower(username)), &hash)
	if err == sql.ErrNoRows {
		return nil, "", cityhub.Errorf(cityhub.ENOTFOUND, "user %q not found", username)
	}
	return u, hash, err
}

func (s *Store) Users(ctx context.Context, f cityhub.UserFilter) ([]*cityhub.User, int, error) {
	var w where
	if f.DepartmentID != nil {
		w.add("department_id = ?", *f.DepartmentID)
	}
	if f.Role != "" {
		w.add("(',' || roles || ',') LIKE ?", "%,"+f.Role+",%")
	}
	if f.Query != "" {
		p := likeEscape(f.Query)
		w.add(`(LOWER(username) LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\')`, p, p)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM users"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := s.read().query(ctx, "SELECT "+userColumns+" FROM users"+w.String()+" ORDER BY username LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*cityhub.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// RecordLogin notes the time of a successful login; the login's audit record
// is written by the caller, which knows the outcome.
func (s *Store) RecordLogin(ctx context.Context, userID int64, at time.Time) error {
	_, err := s.read().exec(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", micros(at), userID)
	return err
}

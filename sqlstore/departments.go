package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
)

const departmentColumns = "id, name, short_name, credit_code, division_code, level, parent_id, created_at, updated_at"

func scanDepartment(row interface{ Scan(...any) error }) (*cityhub.Department, error) {
	var d cityhub.Department
	var parent sql.NullInt64
	var created, updated int64
	if err := row.Scan(&d.ID, &d.Name, &d.ShortName, &d.CreditCode, &d.Division, &d.Level, &parent, &created, &updated); err != nil {
		return nil, err
	}
	if parent.Valid {
		d.ParentID = &parent.Int64
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &d, nil
}

func departmentObject(id int64) string { return "department:" + strconv.FormatInt(id, 10) }

// checkParent makes sure the parent exists and that setting it makes no loop.
func checkParent(ctx context.Context, tx q, d *cityhub.Department) error {
	for id, hops := d.ParentID, 0; id != nil; hops++ {
		if d.ID != 0 && *id == d.ID || hops > 64 {
			return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid department",
				Fields: map[string]string{"parent_id": "would make the department its own ancestor"}}
		}
		var next sql.NullInt64
		err := tx.row(ctx, "SELECT parent_id FROM departments WHERE id = ?", *id).Scan(&next)
		if err == sql.ErrNoRows {
			return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid department",
				Fields: map[string]string{"parent_id": "no department " + strconv.FormatInt(*id, 10)}}
		}
		if err != nil {
			return err
		}
		id = nil
		if next.Valid {
			id = &next.Int64
		}
	}
	return nil
}

func (s *Store) CreateDepartment(ctx context.Context, d *cityhub.Department) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "department.create", func(tx q) (string, any, error) {
		if err := checkParent(ctx, tx, d); err != nil {
			return "", nil, err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		err := tx.row(ctx, `INSERT INTO departments (name, short_name, credit_code, division_code, level, parent_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Name, d.ShortName, d.CreditCode, d.Division, d.Level, d.ParentID, micros(now), micros(now)).Scan(&d.ID)
		if err != nil {
			return "", nil, err
		}
		d.CreatedAt, d.UpdatedAt = now, now
		return departmentObject(d.ID), d, nil
	})
}

func (s *Store) UpdateDepartment(ctx context.Context, d *cityhub.Department) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "department.update", func(tx q) (string, any, error) {
		old, err := scanDepartment(tx.row(ctx, "SELECT "+departmentColumns+" FROM departments WHERE id = ?", d.ID))
		if err != nil {
			return "", nil, err
		}
		if err := checkParent(ctx, tx, d); err != nil {
			return "", nil, err
		}
		d.CreatedAt, d.UpdatedAt = old.CreatedAt, s.now().UTC().Truncate(time.Microsecond)
		_, err = tx.exec(ctx, `UPDATE departments SET name = ?, short_name = ?, credit_code = ?, division_code = ?, level = ?,
			parent_id = ?, updated_at = ? WHERE id = ?`,
			d.Name, d.ShortName, d.CreditCode, d.Division, d.Level, d.ParentID, micros(d.UpdatedAt), d.ID)
		return departmentObject(d.ID), map[string]any{"before": old, "after": d}, err
	})
}

func (s *Store) DeleteDepartment(ctx context.Context, id int64) error {
	return s.change(ctx, "department.delete", func(tx q) (string, any, error) {
		old, err := scanDepartment(tx.row(ctx, "SELECT "+departmentColumns+" FROM departments WHERE id = ?", id))
		if err != nil {
			return "", nil, err
		}
		var users, children int
		if err := tx.row(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE department_id = ?),
			(SELECT COUNT(*) FROM departments WHERE parent_id = ?)`, id, id).Scan(&users, &children); err != nil {
			return "", nil, err
		}
		if users+children > 0 {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT,
				"department still has %d users and %d sub-departments; move or remove them first", users, children)
		}
		_, err = tx.exec(ctx, "DELETE FROM departments WHERE id = ?", id)
		return departmentObject(id), old, err
	})
}

func (s *Store) Department(ctx context.Context, id int64) (*cityhub.Department, error) {
	d, err := scanDepartment(s.read().row(ctx, "SELECT "+departmentColumns+" FROM departments WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "department %d not found", id)
	}
	return d, err
}

func (s *Store) Departments(ctx context.Context, f cityhub.DepartmentFilter) ([]*cityhub.Department, int, error) {
	var w where
	if f.Level != "" {
		w.add("level = ?", f.Level)
	}
	if f.Division != "" {
		w.add("division_code = ?", f.Division)
	}
	if f.ParentID != nil {
		w.add("parent_id = ?", *f.ParentID)
	}
	if f.Query != "" {
		p := likeEscape(f.Query)
		w.add(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(short_name) LIKE ? ESCAPE '\')`, p, p)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM departments"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := s.read().query(ctx, "SELECT "+departmentColumns+" FROM departments"+w.String()+
		" ORDER BY level, division_code, id LIMIT ? OFFSET ?", append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*cityhub.Department
	for rows.Next() {
		d, err := scanDepartment(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

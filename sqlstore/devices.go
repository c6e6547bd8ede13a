package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
)

const deviceColumns = "id, name, type, department_id, division_code, lon, lat, gateway, disabled, entity_id, attributes, created_at, last_seen"

func scanDevice(row interface{ Scan(...any) error }) (*cityhub.Device, error) {
	d := &cityhub.Device{}
	var created int64
	var seen sql.NullInt64
	var attrs string
	if err := row.Scan(&d.ID, &d.Name, &d.Type, &d.DepartmentID, &d.Division, &d.Lon, &d.Lat, &d.Gateway, &d.Disabled,
		&d.EntityID, &attrs, &created, &seen); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	if seen.Valid {
		t := fromMicros(seen.Int64)
		d.LastSeen = &t
	}
	return d, nil
}

func deviceObject(id int64) string { return "device:" + strconv.FormatInt(id, 10) }

func (s *Store) CreateDevice(ctx context.Context, d *cityhub.Device) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	token, hash := cityhub.NewDeviceToken()
	err := s.change(ctx, "device.create", func(tx q) (string, any, error) {
		if err := checkDevice(ctx, tx, d); err != nil {
			return "", nil, err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if d.Attributes == nil {
			d.Attributes = map[string]any{}
		}
		err := tx.row(ctx, `INSERT INTO devices (name, type, department_id, division_code, lon, lat, gateway, disabled, entity_id, attributes, token_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Name, d.Type, d.DepartmentID, d.Division, d.Lon, d.Lat, d.Gateway, d.Disabled, d.EntityID, jsonText(d.Attributes), hash, micros(now)).Scan(&d.ID)
		if err != nil {
			return "", nil, err
		}
		d.CreatedAt = now
		return deviceObject(d.ID), d, nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// checkDevice refuses an unknown department and a name or entity id
// another device holds, naming the field.
func checkDevice(ctx context.Context, tx q, d *cityhub.Device) error {
	var n int
	if err := tx.row(ctx, "SELECT COUNT(*) FROM departments WHERE id = ?", d.DepartmentID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return &cityhub.Error{Code: cityhub.EINVALID, Message: "the department does not exist", Fields: map[string]string{"department_id": "unknown"}}
	}
	for _, f := range []struct{ column, value, field string }{{"name", d.Name, "name"}, {"entity_id", d.EntityID, "entity_id"}} {
		if err := tx.row(ctx, "SELECT COUNT(*) FROM devices WHERE "+f.column+" = ? AND id <> ?", f.value, d.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &cityhub.Error{Code: cityhub.ECONFLICT, Message: "another device has this " + f.field, Fields: map[string]string{f.field: "taken"}}
		}
	}
	return nil
}

func (s *Store) UpdateDevice(ctx context.Context, d *cityhub.Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	err := s.change(ctx, "device.update", func(tx q) (string, any, error) {
		if err := checkDevice(ctx, tx, d); err != nil {
			return "", nil, err
		}
		res, err := tx.exec(ctx, `UPDATE devices SET name = ?, type = ?, department_id = ?, division_code = ?, lon = ?, lat = ?,
			gateway = ?, disabled = ?, entity_id = ? WHERE id = ?`,
			d.Name, d.Type, d.DepartmentID, d.Division, d.Lon, d.Lat, d.Gateway, d.Disabled, d.EntityID, d.ID)
		if err != nil {
			return "", nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "device %d not found", d.ID)
		}
		return deviceObject(d.ID), d, nil
	})
	s.tokens.forget()
	return err
}

func (s *Store) DeleteDevice(ctx context.Context, id int64) error {
	defer s.tokens.forget()
	return s.change(ctx, "device.delete", func(tx q) (string, any, error) {
		res, err := tx.exec(ctx, "DELETE FROM devices WHERE id = ?", id)
		if err != nil {
			return "", nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "device %d not found", id)
		}
		return deviceObject(id), nil, nil
	})
}

func (s *Store) device(ctx context.Context, where string, arg any) (*cityhub.Device, error) {
	d, err := scanDevice(s.read().row(ctx, "SELECT "+deviceColumns+" FROM devices WHERE "+where, arg))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "device not found")
	}
	return d, err
}

func (s *Store) Device(ctx context.Context, id int64) (*cityhub.Device, error) {
	return s.device(ctx, "id = ?", id)
}

func (s *Store) DeviceByName(ctx context.Context, name string) (*cityhub.Device, error) {
	return s.device(ctx, "name = ?", name)
}

func (s *Store) DeviceByEntityID(ctx context.Context, entityID string) (*cityhub.Device, error) {
	return s.device(ctx, "entity_id = ?", entityID)
}

// DeviceByToken finds the enabled device of a token. Found devices are
// kept for tokenTTL (see tokenCache): their attributes and last arrival
// may be that old.
func (s *Store) DeviceByToken(ctx context.Context, token string) (*cityhub.Device, error) {
	hash := cityhub.HashDeviceToken(token)
	if d, ok := s.tokens.get(hash, s.now()); ok {
		return d, nil
	}
	gen := s.tokens.generation()
	d, err := s.device(ctx, "token_hash = ?", hash)
	if err == nil && d.Disabled {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "device not found")
	}
	if err == nil {
		s.tokens.put(hash, d, gen, s.now())
	}
	return d, err
}

// tokenTTL is how long a device found by its token is kept.
const tokenTTL = 5 * time.Second

// tokenCache keeps the devices recently found by their tokens: a device
// posting over HTTP every second would otherwise cost a query a request
// (three quarters of the telemetry handler). A device change through this
// store forgets them all at once; another node's (several nodes on
// PostgreSQL) shows within tokenTTL.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]tokenHit // by token hash
	gen uint64              // changes seen: a lookup older than one is not kept
}

type tokenHit struct {
	d     *cityhub.Device
	until time.Time
}

// maxTokens bounds the cache; past it, it starts again.
const maxTokens = 200_000

func (c *tokenCache) get(hash string, now time.Time) (*cityhub.Device, bool) {
	c.mu.RLock()
	h, ok := c.m[hash]
	c.mu.RUnlock()
	if !ok || now.After(h.until) {
		return nil, false
	}
	d := *h.d // a copy: callers may change theirs
	d.Attributes = maps.Clone(h.d.Attributes)
	return &d, true
}

func (c *tokenCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put keeps d unless a device changed since the lookup began (gen).
func (c *tokenCache) put(hash string, d *cityhub.Device, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxTokens {
		c.m = map[string]tokenHit{}
	}
	kept := *d
	kept.Attributes = maps.Clone(d.Attributes)
	c.m[hash] = tokenHit{d: &kept, until: now.Add(tokenTTL)}
}

// forget drops every kept device, after a change committed.
func (c *tokenCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
	c.gen++
}

func (s *Store) Devices(ctx context.Context, dq cityhub.DeviceQuery) ([]*cityhub.Device, int, error) {
	var w where
	if dq.Type != "" {
		w.add("type = ?", dq.Type)
	}
	if dq.DepartmentID != 0 {
		w.add("department_id = ?", dq.DepartmentID)
	}
	if dq.Division != "" {
		w.add("division_code = ?", dq.Division)
	}
	if dq.Q != "" {
		w.add("name LIKE ?", "%"+dq.Q+"%")
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM devices"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit := dq.Limit
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	rows, err := s.read().query(ctx, "SELECT "+deviceColumns+" FROM devices"+w.String()+" ORDER BY id LIMIT ? OFFSET ?",
		append(w.args, limit, max(dq.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*cityhub.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

func (s *Store) RotateDeviceToken(ctx context.Context, id int64) (string, error) {
	defer s.tokens.forget()
	token, hash := cityhub.NewDeviceToken()
	err := s.change(ctx, "device.rotate_token", func(tx q) (string, any, error) {
		res, err := tx.exec(ctx, "UPDATE devices SET token_hash = ? WHERE id = ?", hash, id)
		if err != nil {
			return "", nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "device %d not found", id)
		}
		return deviceObject(id), nil, nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func (s *Store) MergeDeviceAttributes(ctx context.Context, id int64, attrs map[string]any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := q{s: s, db: tx}
	var text string
	if err := t.row(ctx, "SELECT attributes FROM devices WHERE id = ?", id).Scan(&text); err == sql.ErrNoRows {
		return cityhub.Errorf(cityhub.ENOTFOUND, "device %d not found", id)
	} else if err != nil {
		return err
	}
	cur := map[string]any{}
	if err := json.Unmarshal([]byte(text), &cur); err != nil {
		return err
	}
	for k, v := range attrs {
		if v == nil {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	if len(cur) > 200 {
		return cityhub.Errorf(cityhub.EINVALID, "a device keeps at most 200 attributes")
	}
	if _, err := t.exec(ctx, "UPDATE devices SET attributes = ? WHERE id = ?", jsonText(cur), id); err != nil {
		return err
	}
	return tx.Commit()
}

// TouchDevices is not audited: it records traffic, not a change anyone made.
func (s *Store) TouchDevices(ctx context.Context, seen map[int64]time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := q{s: s, db: tx}
	for id, at := range seen {
		if _, err := t.exec(ctx, "UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)",
			micros(at), id, micros(at)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

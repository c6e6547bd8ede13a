package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

const auditColumns = "seq, at, actor_id, actor, client_addr, action, object, request_id, outcome, details, prev_hash, hash"

func scanAudit(row interface{ Scan(...any) error }) (*cityhub.AuditRecord, error) {
	var r cityhub.AuditRecord
	var at int64
	if err := row.Scan(&r.Seq, &at, &r.ActorID, &r.Actor, &r.ClientAddr, &r.Action, &r.Object, &r.RequestID,
		&r.Outcome, &r.Details, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.At = fromMicros(at)
	return &r, nil
}

// appendAudit links rec to the chain head and re-signs the head, inside tx.
// The head row is locked first (FOR UPDATE on PostgreSQL; SQLite's
// IMMEDIATE transaction already holds the write lock), so concurrent
// appends from several nodes queue up instead of forking the chain.
func (s *Store) appendAudit(ctx context.Context, tx q, rec *cityhub.AuditRecord) error {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var prevSeq int64
	prevHash := cityhub.GenesisHash
	err := tx.row(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1"+lock).Scan(&prevSeq, &prevHash)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if s.dialect == Postgres && err == sql.ErrNoRows {
		// First record: make the head row exist so there is something to lock,
		// then read it again under the lock.
		if _, err := tx.exec(ctx, `INSERT INTO audit_head (id, seq, hash, signed_at, signature, public_key)
			VALUES (1, 0, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`, cityhub.GenesisHash, []byte{}, []byte{}); err != nil {
			return err
		}
		if err := tx.row(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").Scan(&prevSeq, &prevHash); err != nil {
			return err
		}
	}
	now := s.now().UTC()
	rec.Seq, rec.PrevHash, rec.At = prevSeq+1, prevHash, now.Truncate(time.Microsecond)
	rec.Hash = rec.ComputeHash()
	if _, err := tx.exec(ctx, "INSERT INTO audit_records ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		rec.Seq, micros(rec.At), rec.ActorID, rec.Actor, rec.ClientAddr, rec.Action, rec.Object, rec.RequestID,
		rec.Outcome, rec.Details, rec.PrevHash, rec.Hash); err != nil {
		return err
	}
	head := s.key.SignHead(rec.Seq, rec.Hash, now)
	_, err = tx.exec(ctx, `INSERT INTO audit_head (id, seq, hash, signed_at, signature, public_key) VALUES (1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signed_at = excluded.signed_at,
		signature = excluded.signature, public_key = excluded.public_key`,
		head.Seq, head.Hash, micros(head.SignedAt), head.Signature, []byte(head.PublicKey))
	return err
}

// AppendAudit records an event that changes nothing else: a login, a
// denial, a data read. The outcome and details come with rec.
func (s *Store) AppendAudit(ctx context.Context, rec *cityhub.AuditRecord) error {
	if s.key == nil {
		return cityhub.Errorf(cityhub.EUNAVAILABLE, "store opened read-only (no audit key)")
	}
	if rec.Action == "" || rec.Outcome == "" {
		return cityhub.Errorf(cityhub.EINVALID, "an audit record needs an action and an outcome")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.appendAudit(ctx, q{s: s, db: tx}, rec); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) AuditRecords(ctx context.Context, f cityhub.AuditFilter) ([]*cityhub.AuditRecord, error) {
	var w where
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	if strings.HasSuffix(f.Action, ".") {
		w.add(`action LIKE ? ESCAPE '\'`, strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Action)+"%")
	} else if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.Object != "" {
		w.add("object = ?", f.Object)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("at < ?", micros(f.Until))
	}
	if f.BeforeSeq > 0 {
		w.add("seq < ?", f.BeforeSeq)
	}
	limit, _ := page(f.Limit, 0)
	rows, err := s.read().query(ctx, "SELECT "+auditColumns+" FROM audit_records"+w.String()+" ORDER BY seq DESC LIMIT ?",
		append(w.args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WalkAudit streams records in batches of seq ranges, so a long chain
// neither loads into memory nor holds one read open for the whole walk.
func (s *Store) WalkAudit(ctx context.Context, from int64, fn func(*cityhub.AuditRecord) error) error {
	const batch = 5000
	for {
		rows, err := s.read().query(ctx, "SELECT "+auditColumns+" FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?", from, batch)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			n++
			from = r.Seq + 1
			if err := fn(r); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n < batch {
			return nil
		}
	}
}

func (s *Store) AuditHead(ctx context.Context) (*cityhub.AuditHead, error) {
	var h cityhub.AuditHead
	var at int64
	var pub []byte
	err := s.read().row(ctx, "SELECT seq, hash, signed_at, signature, public_key FROM audit_head WHERE id = 1 AND seq > 0").
		Scan(&h.Seq, &h.Hash, &at, &h.Signature, &pub)
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "the audit chain is empty")
	}
	if err != nil {
		return nil, err
	}
	h.SignedAt, h.PublicKey = fromMicros(at), pub
	return &h, nil
}

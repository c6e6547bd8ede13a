package sqlstore

import (
	"context"
	"database/sql"
	"net/url"
	"time"

	"github.com/cityhub/cityhub"
)

const pullColumns = "entry_id, url, format, mode, enabled, last_run, last_job, last_error"

func scanPull(row interface{ Scan(...any) error }) (*cityhub.Pull, error) {
	var p cityhub.Pull
	var run, job sql.NullInt64
	if err := row.Scan(&p.EntryID, &p.URL, &p.Format, &p.Mode, &p.Enabled, &run, &job, &p.LastError); err != nil {
		return nil, err
	}
	p.LastRun, p.LastJob = fromNullMicros(run), job.Int64
	return &p, nil
}

func (s *Store) SetPull(ctx context.Context, p *cityhub.Pull) error {
	f := cityhub.FieldErrors{}
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.Add("url", "an http or https URL")
	}
	switch p.Mode {
	case cityhub.LoadAppend, cityhub.LoadUpsert, cityhub.LoadReplace:
	default:
		f.Add("mode", "append, upsert or replace")
	}
	switch p.Format {
	case "", "csv", "tsv", "json", "ndjson", "xlsx":
	default:
		f.Add("format", "csv, tsv, json, ndjson or xlsx (or empty to go by the response)")
	}
	if err := f.Err("invalid pull"); err != nil {
		return err
	}
	return s.change(ctx, "table.pull_set", func(tx q) (string, any, error) {
		_, err := tx.exec(ctx, `INSERT INTO data_pulls (entry_id, url, format, mode, enabled) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (entry_id) DO UPDATE SET url = excluded.url, format = excluded.format, mode = excluded.mode,
			enabled = excluded.enabled`, p.EntryID, p.URL, p.Format, p.Mode, p.Enabled)
		return tableObject(p.EntryID), p, err
	})
}

func (s *Store) Pull(ctx context.Context, entryID int64) (*cityhub.Pull, error) {
	p, err := scanPull(s.read().row(ctx, "SELECT "+pullColumns+" FROM data_pulls WHERE entry_id = ?", entryID))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "entry %d has no pull", entryID)
	}
	return p, err
}

func (s *Store) Pulls(ctx context.Context) ([]*cityhub.Pull, error) {
	rows, err := s.read().query(ctx, "SELECT "+pullColumns+" FROM data_pulls ORDER BY entry_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.Pull
	for rows.Next() {
		p, err := scanPull(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RecordPull notes a run; the load it made is audited on its own.
func (s *Store) RecordPull(ctx context.Context, entryID int64, at time.Time, job int64, failure string) error {
	_, err := s.read().exec(ctx, "UPDATE data_pulls SET last_run = ?, last_job = ?, last_error = ? WHERE entry_id = ?",
		micros(at), job, truncate(failure, 500), entryID)
	return err
}

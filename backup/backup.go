// Package backup writes and restores backups of an embedded (SQLite)
// platform: a gzip'd tar holding a consistent database snapshot, the audit
// signing key and a manifest. PostgreSQL deployments use pg_dump instead.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cityhub/cityhub/sqlstore"
)

// File names inside a backup and in the data directory.
const (
	DBName       = "cityhub.db"
	KeyName      = "audit.key"
	manifestName = "manifest.json"
)

// Manifest describes a backup.
type Manifest struct {
	Format        int       `json:"format"`
	CreatedAt     time.Time `json:"created_at"`
	Version       string    `json:"version"`
	SchemaVersion int       `json:"schema_version"`
	DBBytes       int64     `json:"db_bytes"`
}

// Create snapshots the database at dbPath while it may be in use and writes
// the backup, with the key at keyPath, to w.
func Create(ctx context.Context, dbPath, keyPath, version string, w io.Writer) (*Manifest, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dbPath), ".backup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, DBName)
	if err := sqlstore.Snapshot(ctx, dbPath, snap); err != nil {
		return nil, err
	}
	schema, err := sqlstore.CheckFile(ctx, snap)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(snap)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: 1, CreatedAt: time.Now().UTC(), Version: version, SchemaVersion: schema, DBBytes: st.Size()}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	manifest, _ := json.MarshalIndent(m, "", "  ")
	if err := addBytes(tw, manifestName, manifest); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, path string }{{DBName, snap}, {KeyName, keyPath}} {
		if err := addFile(tw, f.name, f.path); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, gz.Close()
}

func addBytes(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// ErrExists is returned when the data directory already holds a database
// and the restore was not forced.
var ErrExists = errors.New("the data directory already holds a database; pass --force to replace it")

// Restore unpacks the backup in r into dataDir. The database is checked
// before it replaces anything, and replaced whole (with its WAL files).
func Restore(ctx context.Context, r io.Reader, dataDir string, force bool) (*Manifest, error) {
	dbPath := filepath.Join(dataDir, DBName)
	if _, err := os.Stat(dbPath); err == nil && !force {
		return nil, ErrExists
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a cityhub backup: %w", err)
	}
	tr := tar.NewReader(gz)
	var m *Manifest
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("backup damaged: %w", err)
		}
		switch h.Name {
		case manifestName:
			m = &Manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(m); err != nil {
				return nil, fmt.Errorf("backup manifest: %w", err)
			}
		case DBName, KeyName:
			if err := writeFile(filepath.Join(tmp, h.Name), tr); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("backup holds an unexpected file %q", h.Name)
		}
		seen[h.Name] = true
	}
	for _, name := range []string{manifestName, DBName, KeyName} {
		if !seen[name] {
			return nil, fmt.Errorf("backup incomplete: %s missing", name)
		}
	}
	if _, err := sqlstore.CheckFile(ctx, filepath.Join(tmp, DBName)); err != nil {
		return nil, fmt.Errorf("backup database: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	for _, name := range []string{DBName, KeyName} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dataDir, name)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

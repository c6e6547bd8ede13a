package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/backup"
	"github.com/cityhub/cityhub/sqlstore"
)

func cmdBackup(ctx context.Context, e *env) error {
	c, args, err := e.config(false)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("backup takes one FILE argument")}
	}
	if sqlstore.IsPostgres(c.DSN()) {
		return usageError{fmt.Errorf("backup snapshots the embedded SQLite store; for PostgreSQL use pg_dump (and copy %s)", c.AuditKeyPath())}
	}
	var m *backup.Manifest
	err = writeAtomically(args[0], func(w io.Writer) error {
		var err error
		m, err = backup.Create(ctx, c.DSN(), c.AuditKeyPath(), version, w)
		return err
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(e.stdout, "backup written to %s (database %d bytes, schema %d)\n", args[0], m.DBBytes, m.SchemaVersion)
	return nil
}

// writeAtomically writes path through write beside it and renames it into place,
// so a failure leaves no half-written file under the final name.
func writeAtomically(path string, write func(io.Writer) error) error {
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func cmdRestore(ctx context.Context, e *env) error {
	force := e.fs.Bool("force", false, "replace a database already in the data directory")
	c, args, err := e.config(false)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("restore takes one FILE argument")}
	}
	if c.DB != "" && c.DSN() != filepath.Join(c.Data, backup.DBName) {
		return usageError{fmt.Errorf("restore writes %s into --data; leave --db unset", backup.DBName)}
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := backup.Restore(ctx, f, c.Data, *force)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(e.stdout, "restored backup of %s (schema %d) into %s\n", m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), m.SchemaVersion, c.Data)
	store, key, err := openStore(ctx, c, newLogger(c, e.stderr), false)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := cityhub.VerifyChain(ctx, store, key.Public())
	if err != nil {
		return err
	}
	if !rep.OK {
		fmt.Fprintln(e.stdout, "TAMPERED:", rep.Message)
		return verifyError{fmt.Errorf("restored audit chain does not verify")}
	}
	fmt.Fprintln(e.stdout, "OK:", rep.Message)
	return nil
}

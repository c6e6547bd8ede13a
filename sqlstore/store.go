// Package sqlstore implements cityhub.Store on SQLite (modernc.org/sqlite,
// the embedded default) and on PostgreSQL (pgx). Both dialects share the
// queries; each has its own numbered migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrationsFS embed.FS

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options configure a store.
type Options struct {
	// AuditKey signs the chain head on every append. A store opened without
	// one refuses every audited change (tools that only read use that).
	AuditKey *cityhub.AuditKey
	Now      func() time.Time
	Logger   *slog.Logger
}

// Store is a cityhub.Store on a SQL database.
type Store struct {
	db      *sql.DB
	dialect string
	path    string // SQLite file, for backups
	key     *cityhub.AuditKey
	now     func() time.Time
	log     *slog.Logger
	targets sync.Map   // job id → *loadTarget, read once per running load
	stmts   *stmtCache // SQLite reads outside transactions
	tokens  tokenCache // devices found by their tokens
}

var _ cityhub.Store = (*Store)(nil)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to dsn (a postgres:// URL, or else a SQLite file path) and
// applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{key: opts.AuditKey, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if IsPostgres(dsn) {
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
		if err == nil {
			s.db.SetMaxOpenConns(16)
			s.db.SetMaxIdleConns(16)
		}
	} else {
		s.dialect = SQLite
		s.path = strings.TrimPrefix(dsn, "sqlite:")
		// IMMEDIATE transactions take the write lock at BEGIN, so two writers
		// wait on busy_timeout instead of failing on lock upgrade.
		s.db, err = sql.Open("sqlite", "file:"+s.path+"?_txlock=immediate"+
			"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(1)&_pragma=threads(0)")
		if err == nil {
			// Idle connections kept as many as open: a new SQLite connection
			// reads the schema and sets its pragmas again.
			s.db.SetMaxOpenConns(8)
			s.db.SetMaxIdleConns(8)
			s.stmts = newStmtCache(s.db, 256)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to %s store: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.upgradeTables(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// DB exposes the pool for tests and tools that inspect the raw tables.
func (s *Store) DB() *sql.DB { return s.db }

// Exec runs raw SQL written with ? placeholders in either dialect, for
// tests and tools that reach under the store (tamper tests, schema set-up).
func (s *Store) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.rebind(query), args...)
}

// Close closes the pool; SQLite checkpoints its WAL on the last close.
func (s *Store) Close() error {
	if s.stmts != nil {
		s.stmts.close()
	}
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationsFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, e.Name(), string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies each pending migration in its own transaction. On
// PostgreSQL an advisory lock keeps nodes starting together from racing.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7301001)"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7301001)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		// Check inside the transaction: on SQLite, where no advisory lock
		// serializes starting stores, it holds the write lock from BEGIN.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
			tx.Rollback()
			return err
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, s.now().UnixMicro()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		s.log.Info("applied migration", "dialect", s.dialect, "migration", m.name)
	}
	return nil
}

// SchemaVersion returns the applied and the latest embedded migration.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	err = s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied)
	return applied, latest, err
}

// LatestSchemaVersion is the newest migration this binary carries.
func LatestSchemaVersion() int {
	s := &Store{dialect: SQLite}
	ms, _ := s.migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// rebind turns ? placeholders into $1, $2, … for PostgreSQL. Queries here
// never hold a literal '?'.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q binds a querier to the dialect so callers write ? placeholders. In a
// transaction, stamp holds the catalog change stamp it took, if any.
type q struct {
	s      *Store
	db     querier
	stamp  *int64
	cached bool // queries go through s.stmts
}

func (x q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return x.db.ExecContext(ctx, x.s.rebind(query), args...)
}
func (x q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if x.cached {
		cs, err := x.s.stmts.get(ctx, query)
		if err != nil {
			return nil, err
		}
		defer x.s.stmts.release(cs)
		return cs.st.QueryContext(ctx, args...)
	}
	return x.db.QueryContext(ctx, x.s.rebind(query), args...)
}
func (x q) row(ctx context.Context, query string, args ...any) *sql.Row {
	if x.cached {
		cs, err := x.s.stmts.get(ctx, query)
		if err == nil {
			defer x.s.stmts.release(cs)
			return cs.st.QueryRowContext(ctx, args...)
		}
		// The plain query reports the same error through Row.Scan.
	}
	return x.db.QueryRowContext(ctx, x.s.rebind(query), args...)
}

// read is for queries outside a transaction; on SQLite they run prepared
// statements kept by their text.
func (s *Store) read() q { return q{s: s, db: s.db, cached: s.stmts != nil} }

// change runs fn in a transaction and appends the audit record of the
// change in the same transaction: a change without its record never commits.
// fn returns the object it changed and details worth keeping.
func (s *Store) change(ctx context.Context, action string, fn func(tx q) (object string, details any, err error)) error {
	if s.key == nil {
		return cityhub.Errorf(cityhub.EUNAVAILABLE, "store opened read-only (no audit key)")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.translate(err)
	}
	defer tx.Rollback()
	t := q{s: s, db: tx, stamp: new(int64)}
	object, details, err := fn(t)
	if err != nil {
		return s.translate(err)
	}
	rec := cityhub.NewAuditRecord(ctx, action, object, cityhub.OutcomeSuccess, "")
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return err
		}
		rec.Details = string(b)
	}
	if err := s.appendAudit(ctx, t, rec); err != nil {
		return s.translate(err)
	}
	return s.translate(tx.Commit())
}

// translate maps driver errors to domain errors: constraint violations are
// the caller's conflict, everything else stays internal.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	var e *cityhub.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return cityhub.Errorf(cityhub.ENOTFOUND, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &cityhub.Error{Code: cityhub.ECONFLICT, Message: "already exists", Fields: conflictField(pgErr.ConstraintName)}
		case "23503":
			return cityhub.Errorf(cityhub.ECONFLICT, "still referenced by other records, or refers to a missing one")
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &cityhub.Error{Code: cityhub.ECONFLICT, Message: "already exists", Fields: conflictField(sqErr.Error())}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return cityhub.Errorf(cityhub.ECONFLICT, "still referenced by other records, or refers to a missing one")
		}
	}
	return err
}

// conflictField names the column of a unique violation from the
// constraint name (PostgreSQL) or message (SQLite); both mention it.
func conflictField(text string) map[string]string {
	for _, col := range []string{"username", "credit_code", "name", "hash"} {
		if strings.Contains(text, "."+col) || strings.Contains(text, "_"+col+"_") {
			return map[string]string{col: "already in use"}
		}
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// page clamps a listing's limit and offset.
func page(limit, offset int) (int, int) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// where builds a WHERE clause from conditions with ? placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeEscape makes user text literal inside LIKE.
func likeEscape(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
}

package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/storetest"
)

// postgresEnv holds the DSN of a PostgreSQL database the tests may use.
// Each test works in a schema of its own and drops it afterwards.
const postgresEnv = "CITYHUB_TEST_POSTGRES"

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opened {
		return opened(t, filepath.Join(t.TempDir(), "cityhub.db"))
	})
}

func TestPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	storetest.Run(t, func(t *testing.T) storetest.Opened {
		return opened(t, freshSchema(t, dsn))
	})
}

func TestMigrateTwiceSQLite(t *testing.T) {
	testMigrateTwice(t, filepath.Join(t.TempDir(), "cityhub.db"))
}

func TestMigrateTwicePostgres(t *testing.T) {
	testMigrateTwice(t, freshSchema(t, postgresDSN(t)))
}

func TestMigrateConcurrentlySQLite(t *testing.T) {
	// The file exists, in WAL mode, without tables. (Several processes
	// creating a new file at the same instant can still meet SQLITE_BUSY
	// while one of them switches the journal mode.)
	path := filepath.Join(t.TempDir(), "cityhub.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "PRAGMA journal_mode=WAL"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	testMigrateConcurrently(t, path)
}

func TestMigrateConcurrentlyPostgres(t *testing.T) {
	testMigrateConcurrently(t, freshSchema(t, postgresDSN(t)))
}

func TestDialect(t *testing.T) {
	tests := []struct {
		dsn      string
		postgres bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u@h/db?sslmode=disable", true},
		{"/var/lib/cityhub/cityhub.db", false},
		{"sqlite:cityhub.db", false},
		{"cityhub.db", false},
	}
	for _, tt := range tests {
		if got := sqlstore.IsPostgres(tt.dsn); got != tt.postgres {
			t.Errorf("IsPostgres(%q): got %v, want %v", tt.dsn, got, tt.postgres)
		}
	}
	s := open(t, filepath.Join(t.TempDir(), "x.db"), nil)
	if got := s.Dialect(); got != sqlstore.SQLite {
		t.Errorf("dialect: got %q, want %q", got, sqlstore.SQLite)
	}
}

// testMigrateTwice opens the same database twice: the second open applies
// nothing and keeps the data.
func testMigrateTwice(t *testing.T, dsn string) {
	key := auditKey(t)
	s := open(t, dsn, key)
	d := &cityhub.Department{Name: "宁波市大数据发展管理局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	if err := s.CreateDepartment(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dsn, key)
	wantMigrated(t, s)
	if _, err := s.Department(t.Context(), d.ID); err != nil {
		t.Fatalf("department after reopening: %v", err)
	}
	rep, err := cityhub.VerifyChain(t.Context(), s, key.Public())
	if err != nil || !rep.OK || rep.Records != 1 {
		t.Fatalf("verify after reopening: got %+v, %v; want ok with 1 record", rep, err)
	}
}

// testMigrateConcurrently opens several stores on one empty database at
// once, as nodes starting together do.
func testMigrateConcurrently(t *testing.T, dsn string) {
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = sqlstore.Open(t.Context(), dsn, sqlstore.Options{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, s := range stores {
		wantMigrated(t, s)
	}
}

// wantMigrated checks every migration is applied exactly once.
func wantMigrated(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	applied, latest, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if latest <= 0 || applied != latest || latest != sqlstore.LatestSchemaVersion() {
		t.Fatalf("schema version: got applied %d, latest %d, binary %d; want all equal and > 0",
			applied, latest, sqlstore.LatestSchemaVersion())
	}
	var rows int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != latest {
		t.Fatalf("schema_migrations: got %d rows, want %d", rows, latest)
	}
}

// opened opens a store on dsn for the conformance suite.
func opened(t *testing.T, dsn string) storetest.Opened {
	t.Helper()
	key := auditKey(t)
	s := open(t, dsn, key)
	return storetest.Opened{
		Store: s,
		Key:   key,
		Exec:  s.Exec,
		Reopen: func(t *testing.T, key *cityhub.AuditKey) cityhub.Store {
			t.Helper()
			return open(t, dsn, key)
		},
	}
}

// open opens a store on dsn and closes it when t ends.
func open(t *testing.T, dsn string, key *cityhub.AuditKey) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.WithoutCancel(t.Context()), dsn, sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func auditKey(t *testing.T) *cityhub.AuditKey {
	t.Helper()
	key, err := cityhub.LoadAuditKey(filepath.Join(t.TempDir(), "audit.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// postgresDSN returns the DSN of the test database, or skips t.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skip(postgresEnv + " is empty; set it to a PostgreSQL DSN, e.g. " +
			"postgres://postgres@127.0.0.1:5432/test?sslmode=disable, to run the PostgreSQL store tests")
	}
	if !sqlstore.IsPostgres(dsn) {
		t.Fatalf("%s: got %q, want a postgres:// URL", postgresEnv, dsn)
	}
	return dsn
}

// freshSchema creates an empty schema, drops it when t ends, and returns
// dsn with search_path set to it (pgx sends it as a runtime parameter).
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
	ctx := context.WithoutCancel(t.Context())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	// Registered before the stores' cleanups, so it runs after them.
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// A device found by its token is kept for a few seconds: a change through
// the same store is seen at once, another node's within that time.
func TestDeviceTokensKeptAcrossNodes(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "db")
	key := auditKey(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	a, err := sqlstore.Open(ctx, dsn, sqlstore.Options{AuditKey: key, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := demo.Load(ctx, a, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	b := open(t, dsn, key) // another node
	deps, _, err := a.Departments(ctx, cityhub.DepartmentFilter{Limit: 1})
	if err != nil || len(deps) == 0 {
		t.Fatalf("departments: %v", err)
	}
	d := &cityhub.Device{Name: "aq-kept", Type: "AirQualityObserved", DepartmentID: deps[0].ID, Division: "330203", Lon: 121.5, Lat: 29.8}
	token, err := a.CreateDevice(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	found := func() bool {
		t.Helper()
		got, err := a.DeviceByToken(ctx, token)
		if err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil && got.ID == d.ID
	}
	if !found() {
		t.Fatal("a new device's token is not found")
	}
	d.Disabled = true
	if err := b.UpdateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !found() {
		t.Fatal("kept: the other node's change shows before its time")
	}
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	if found() {
		t.Fatal("the other node's disabling is not seen after the kept time")
	}
	d.Disabled = false
	if err := a.UpdateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !found() {
		t.Fatal("enabled again on this node, not found")
	}
	if _, err := a.RotateDeviceToken(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if found() {
		t.Fatal("this node's token rotation is not seen at once")
	}
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

// A cache smaller than the queries in use evicts statements while other
// goroutines run them: every query still answers, and the cache stays
// within its size with no statement left referenced.
func TestStmtCacheEvictsWhileInUse(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	c := newStmtCache(db, 2)
	s := &Store{db: db, dialect: SQLite, stmts: c}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % 5
				var sum int
				// Five texts for a cache of two: most calls prepare or evict.
				err := s.read().row(ctx, fmt.Sprintf("SELECT SUM(n) + %d FROM t WHERE n >= ?", k), 1).Scan(&sum)
				if err == nil && sum != 6+k {
					err = fmt.Errorf("query %d: sum %d, want %d", k, sum, 6+k)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.mu.Lock()
	if c.lru.Len() > 2 || len(c.byKey) != c.lru.Len() {
		t.Fatalf("cache holds %d statements (%d keys), at most 2", c.lru.Len(), len(c.byKey))
	}
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if cs := el.Value.(*cachedStmt); cs.refs != 0 {
			t.Errorf("%q still referenced %d times", cs.query, cs.refs)
		}
	}
	c.mu.Unlock()
	// A query that does not prepare reports its error, and is not kept.
	if err := s.read().row(ctx, "SELECT nope FROM t").Scan(new(int)); err == nil {
		t.Fatal("a bad query answered")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey["SELECT nope FROM t"]; ok {
		t.Fatal("a statement that failed to prepare was cached")
	}
}

// An evicted statement stays open while held, and closes on release.
func TestStmtCacheHeldStatementOutlivesEviction(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c := newStmtCache(db, 2)
	held, err := c.get(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT 2", "SELECT 3"} {
		cs, err := c.get(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		c.release(cs)
	}
	if _, ok := c.byKey["SELECT 1"]; ok || !held.evicted {
		t.Fatal("the least recently used statement was not evicted")
	}
	var n int
	if err := held.st.QueryRowContext(ctx).Scan(&n); err != nil || n != 1 {
		t.Fatalf("held statement after eviction: %d, %v", n, err)
	}
	c.release(held)
	if err := held.st.QueryRowContext(ctx).Scan(&n); err == nil {
		t.Fatal("an evicted statement stayed open after its release")
	}
}

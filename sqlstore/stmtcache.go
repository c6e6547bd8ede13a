package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the most used prepared statements by their SQL text.
// modernc's SQLite prepares nothing by itself and parsing is a fifth of a
// short query's time (a datastore_search page, an entry lookup); pgx
// caches per connection already, so only SQLite uses this.
//
// Statements are reference-counted while a caller starts a query with one,
// so an eviction never closes a statement between get and use (a query
// already running keeps its connection's statement until its rows close,
// as database/sql guarantees). Only reads outside transactions use it: a
// transaction's own statements would pile up until it ends.
type stmtCache struct {
	db  *sql.DB
	max int

	mu    sync.Mutex
	byKey map[string]*list.Element
	lru   list.List // of *cachedStmt, most recently used first
}

type cachedStmt struct {
	query   string
	st      *sql.Stmt
	refs    int
	evicted bool
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, byKey: map[string]*list.Element{}}
}

// get returns the prepared statement of query, preparing it on first use;
// the caller must release it once the query has started.
func (c *stmtCache) get(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if el, ok := c.byKey[query]; ok {
		c.lru.MoveToFront(el)
		cs := el.Value.(*cachedStmt)
		cs.refs++
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()

	// Prepared outside the lock; two callers may both prepare a new query,
	// and the second keeps the first one's statement.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[query]; ok {
		st.Close()
		cs := el.Value.(*cachedStmt)
		cs.refs++
		return cs, nil
	}
	cs := &cachedStmt{query: query, st: st, refs: 1}
	c.byKey[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		o := old.Value.(*cachedStmt)
		delete(c.byKey, o.query)
		o.evicted = true
		if o.refs == 0 {
			o.st.Close()
		}
	}
	return cs, nil
}

func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.refs--
	if cs.refs == 0 && cs.evicted {
		cs.st.Close()
	}
}

// close closes every cached statement (before the pool closes).
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*cachedStmt).st.Close()
	}
	c.lru.Init()
	clear(c.byKey)
}

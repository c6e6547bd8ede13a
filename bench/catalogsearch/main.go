// Command catalogsearch measures catalog search latency: it fills a store
// with N synthetic entries (Chinese names and abstracts, English tags), then
// runs a fixed mix of Chinese and English queries, with and without
// filters and facets, and prints p50/p95/p99 per query kind and overall.
//
//	go run ./bench/catalogsearch -n 100000                    # SQLite in a temp dir
//	go run ./bench/catalogsearch -n 100000 -db postgres://…   # PostgreSQL (a fresh schema)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/bench/internal/synth"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

func main() {
	n := flag.Int("n", 100000, "entries to create")
	dsn := flag.String("db", "", "postgres:// URL (a fresh schema is made and dropped); empty: SQLite in a temp dir")
	rounds := flag.Int("rounds", 20, "times each query is run")
	keep := flag.String("keep", "", "SQLite: build the store in this directory and keep it (reused when it exists)")
	mode := flag.String("mode", "index", "index (the platform's in-memory search index) or sql (the store's own full-text search)")
	flag.Parse()
	if err := run(*n, *dsn, *rounds, *keep, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "catalogsearch:", err)
		os.Exit(1)
	}
}

// searcher is either path: the index or the store.
type searcher interface {
	SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error)
}

func run(n int, dsn string, rounds int, keep, mode string) error {
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench"})
	dir := keep
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "catalogsearch-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		return err
	}
	store := filepath.Join(dir, "bench.db")
	if dsn != "" {
		schema := fmt.Sprintf("catalogsearch_%d", os.Getpid())
		admin, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			return err
		}
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		defer func() { admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); admin.Close() }()
		store = dsn + "&search_path=" + schema
		if !strings.Contains(dsn, "?") {
			store = dsn + "?search_path=" + schema
		}
	}
	s, err := sqlstore.Open(ctx, store, sqlstore.Options{AuditKey: key})
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := demo.Load(ctx, s, func(string) string { return "x" }); err != nil {
		return err
	}
	depts, _, err := s.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return err
	}
	have, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 1})
	if err != nil {
		return err
	}
	start := time.Now()
	if have.Total < n {
		if err := synth.Entries(ctx, s, depts, n-have.Total); err != nil {
			return err
		}
	}
	fmt.Printf("store: %s; %d entries (%d loaded in %s)\n", s.Dialect(), n, n-have.Total, time.Since(start).Round(time.Second))
	if s.Dialect() == sqlstore.Postgres {
		s.Exec(ctx, "ANALYZE")
	}

	var search searcher = s
	if mode == "index" {
		x := catalogindex.New(s)
		t0 := time.Now()
		x.Start(ctx)
		<-x.Ready()
		if err := x.Err(); err != nil {
			return err
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Printf("index: %d entries built in %s; Go heap in use after GC %d MiB\n", x.Len(), time.Since(t0).Round(time.Millisecond), ms.HeapInuse>>20)
		search = x
	}
	fmt.Printf("search path: %s\n", mode)

	type query struct {
		kind string
		q    cityhub.CatalogQuery
	}
	all := cityhub.CatalogScope{All: true}
	published := cityhub.CatalogScope{Departments: []int64{depts[3].ID}}
	var queries []query
	for _, w := range []string{"路灯", "井盖", "水库", "药店", "噪声"} {
		queries = append(queries, query{"zh 2-char", cityhub.CatalogQuery{Q: w, Scope: published, Limit: 20}})
	}
	for _, w := range []string{"空气质量", "综合管廊", "垃圾分类", "燃气管网巡查", "海曙区公交"} {
		queries = append(queries, query{"zh longer", cityhub.CatalogQuery{Q: w, Scope: published, Limit: 20}})
	}
	for _, w := range []string{"parking", "street light", "air quality", "energy"} {
		queries = append(queries, query{"english", cityhub.CatalogQuery{Q: w, Scope: published, Limit: 20}})
	}
	for _, w := range []string{"路灯 运行状态", "水质 监测数据", "企业 许可信息"} {
		queries = append(queries, query{"zh two words", cityhub.CatalogQuery{Q: w, Scope: published, Limit: 20}})
	}
	for _, w := range []string{"路灯", "空气质量", "parking"} {
		queries = append(queries, query{"with facets", cityhub.CatalogQuery{Q: w, Scope: all, Limit: 20, Facets: true}})
	}
	queries = append(queries,
		query{"filters", cityhub.CatalogQuery{Q: "监测", ShareType: cityhub.Unconditional, Format: cityhub.FormatDatabase, Scope: published, Limit: 20}},
		query{"filters", cityhub.CatalogQuery{Classification: "2", OpenType: cityhub.Unconditional, Scope: published, Limit: 20}},
		query{"browse", cityhub.CatalogQuery{Scope: published, Limit: 20}},
		query{"browse", cityhub.CatalogQuery{Scope: published, Limit: 20, Offset: 2000}},
		query{"browse facets", cityhub.CatalogQuery{Scope: all, Limit: 20, Facets: true}},
	)

	byKind := map[string][]time.Duration{}
	var overall []time.Duration
	for r := 0; r < rounds; r++ {
		for _, q := range queries {
			t0 := time.Now()
			res, err := search.SearchCatalog(ctx, q.q)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s %q: %w", q.kind, q.q.Q, err)
			}
			if r == 0 && res.Total == 0 && q.q.Q != "" {
				fmt.Printf("  note: %q found nothing\n", q.q.Q)
			}
			byKind[q.kind] = append(byKind[q.kind], d)
			overall = append(overall, d)
		}
	}
	fmt.Printf("%-14s %6s %9s %9s %9s\n", "kind", "runs", "p50", "p95", "p99")
	kinds := []string{"zh 2-char", "zh longer", "english", "zh two words", "filters", "browse", "with facets", "browse facets"}
	for _, k := range kinds {
		printRow(k, byKind[k])
	}
	printRow("overall", overall)
	var plain []time.Duration
	for _, k := range kinds[:6] {
		plain = append(plain, byKind[k]...)
	}
	printRow("without facets", plain)
	return nil
}

func printRow(kind string, ds []time.Duration) {
	slices.Sort(ds)
	p := func(q float64) string { return ds[int(q*float64(len(ds)-1))].Round(10 * time.Microsecond).String() }
	fmt.Printf("%-14s %6d %9s %9s %9s\n", kind, len(ds), p(0.5), p(0.95), p(0.99))
}

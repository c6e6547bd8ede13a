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
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

var (
	districts = []string{"海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "象山县", "宁海县", "余姚市", "慈溪市", "宁波市"}
	subjects  = []string{"路灯", "井盖", "企业", "空气质量", "水质", "公交", "停车场", "医院", "学校", "养老机构", "消防栓",
		"垃圾分类", "菜市场", "加油站", "充电桩", "地铁站", "公园", "体育场馆", "图书馆", "药店", "小区", "桥梁", "隧道",
		"河道", "水库", "雨量站", "噪声", "扬尘", "危化品", "电梯", "燃气管网", "供水管网", "排水管网", "综合管廊", "农贸市场"}
	aspects = []string{"基本信息", "监测数据", "许可信息", "巡查记录", "运行状态", "统计数据", "分布信息", "检查结果", "维护记录", "投诉信息"}
	phrases = []string{"包括名称、地址、经纬度坐标和主管部门。", "按日汇总，数据来源于物联网感知设备。", "含历年统计与同比变化。",
		"用于城市运行监测和应急指挥。", "经部门审核后共享至共享交换平台。", "面向社会开放，可在开放平台下载。",
		"数据项包括编号、状态和更新时间。", "覆盖全市各街道和乡镇。"}
	tagsEN = []string{"traffic", "environment", "air quality", "water", "energy", "health", "education", "parking", "street light", "safety"}
	items  = []string{"编号", "名称", "地址", "经度", "纬度", "状态", "更新时间", "负责人", "联系电话", "所属街道", "类型", "面积", "数量"}
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
		if err := fill(ctx, s, depts, n-have.Total); err != nil {
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

// fill creates n published entries through the bulk import, 1,000 a batch.
func fill(ctx context.Context, s *sqlstore.Store, depts []*cityhub.Department, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var rows []cityhub.ImportRow
	flush := func() error {
		rep, err := s.ImportEntries(ctx, rows, cityhub.ImportOptions{KeepStatus: true})
		if err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("row %d: %s %s", rep.Problems[0].Row, rep.Problems[0].Field, rep.Problems[0].Reason)
		}
		rows = rows[:0]
		return nil
	}
	classes := []string{"101", "102", "103", "104", "105", "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212"}
	for i := 0; i < n; i++ {
		subject := pick(subjects)
		e := &cityhub.CatalogEntry{
			ClassificationCode: pick(classes), Name: pick(districts) + subject + pick(aspects),
			ProviderID: depts[rng.IntN(len(depts))].ID, Abstract: subject + "的" + pick(aspects) + "，" + pick(phrases) + pick(phrases),
			Format: pick([]string{"sheet", "database", "stream", "file"}), UpdateCycle: pick([]string{"daily", "monthly", "yearly", "realtime"}),
			ShareType: cityhub.Unconditional, ShareMethod: "接口调用", OpenType: cityhub.Unconditional, Domain: pick([]string{"traffic", "environment", "urban", "market"}),
			Tags: []string{subject, pick(tagsEN)}, Status: cityhub.StatusPublished,
		}
		if rng.IntN(4) == 0 && e.ClassificationCode[0] != '1' {
			e.ShareType, e.ShareCondition, e.ShareBasis = cityhub.Conditional, "履职需要", "国发〔2016〕51号"
			e.OpenType, e.OpenBasis = cityhub.NotShared, "涉及个人信息"
		}
		for j := 0; j < 4+rng.IntN(6); j++ {
			e.Items = append(e.Items, cityhub.DataItem{Name: fmt.Sprintf("%s%d", pick(items), j), Type: "C", Length: 50, Sensitivity: cityhub.SensPublic})
		}
		rows = append(rows, cityhub.ImportRow{Row: i + 1, Entry: e})
		if len(rows) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rows) > 0 {
		return flush()
	}
	return nil
}

package catalogindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// memSource serves synthetic entries, so the benchmark measures the index
// alone (the store's part is one small read per search).
type memSource struct{ entries []*cityhub.CatalogEntry }

func (m *memSource) CatalogStamp(context.Context) (int64, error) { return 1, nil }
func (m *memSource) CatalogChanges(_ context.Context, since int64, fn func(*cityhub.CatalogEntry) error) ([]int64, int64, error) {
	if since == 0 {
		for _, e := range m.entries {
			if err := fn(e); err != nil {
				return nil, 0, err
			}
		}
	}
	return nil, 1, nil
}
func (m *memSource) EntriesByID(_ context.Context, ids []int64) ([]*cityhub.CatalogEntry, error) {
	return make([]*cityhub.CatalogEntry, len(ids)), nil
}
func (m *memSource) SearchCatalog(context.Context, cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	return nil, fmt.Errorf("no fallback in benchmarks")
}

func synthetic(n int) []*cityhub.CatalogEntry {
	rng := rand.New(rand.NewPCG(1, 2))
	subjects := []string{"路灯", "井盖", "企业", "空气质量", "水质", "公交", "停车场", "医院", "学校", "养老机构", "消防栓", "充电桩", "河道", "桥梁"}
	domains := []string{"traffic", "urban", "environment", "health", "education", "market", "water", "energy"}
	opens := []string{cityhub.Unconditional, cityhub.Unconditional, cityhub.Unconditional, cityhub.Conditional, cityhub.NotShared}
	out := make([]*cityhub.CatalogEntry, n)
	for i := range out {
		s := subjects[rng.IntN(len(subjects))]
		status := cityhub.StatusPublished
		if rng.IntN(10) == 0 {
			status = cityhub.StatusDraft
		}
		out[i] = &cityhub.CatalogEntry{ID: int64(i + 1), Code: fmt.Sprintf("209/%06d", i+1), ClassificationCode: "209",
			Name: "宁波市" + s + "基本信息", ProviderID: int64(rng.IntN(30) + 1), Abstract: s + "的运行状态和统计数据，覆盖全市各街道。",
			Format: "sheet", UpdateCycle: "daily", ShareType: cityhub.Unconditional, OpenType: opens[rng.IntN(len(opens))],
			Domain: domains[rng.IntN(len(domains))], Tags: []string{s, "street light"}, Status: status,
			UpdatedAt: time.Unix(int64(rng.IntN(1e8)), 0),
			Items:     []cityhub.DataItem{{Name: "编号"}, {Name: "名称"}, {Name: "地址"}, {Name: "状态"}}}
	}
	return out
}

func BenchmarkSearch(b *testing.B) {
	x := New(&memSource{synthetic(100_000)})
	if err := x.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	scope := cityhub.CatalogScope{Departments: []int64{3}}
	for _, bc := range []struct {
		name string
		q    cityhub.CatalogQuery
	}{
		{"zh-2char", cityhub.CatalogQuery{Q: "路灯", Scope: scope, Limit: 20}},
		{"english", cityhub.CatalogQuery{Q: "street light", Scope: scope, Limit: 20}},
		{"browse", cityhub.CatalogQuery{Scope: scope, Limit: 20}},
		{"browse-offset-2000", cityhub.CatalogQuery{Scope: scope, Limit: 20, Offset: 2000}},
		{"browse-facets", cityhub.CatalogQuery{Scope: scope, Limit: 20, Facets: true}},
		// The open-data portal's and CKAN's searches: public entries only.
		{"public-word", cityhub.CatalogQuery{Q: "企业", Public: true, Limit: 10}},
		{"public-word-facets", cityhub.CatalogQuery{Q: "企业", Public: true, Limit: 10, Facets: true}},
		{"public-domain", cityhub.CatalogQuery{Domain: "traffic", Public: true, Limit: 10, Sort: "updated"}},
		{"public-browse-500", cityhub.CatalogQuery{Public: true, Limit: 10, Offset: 500}},
		{"public-browse-facets", cityhub.CatalogQuery{Public: true, Limit: 10, Facets: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				x.search(bc.q)
			}
		})
	}
}

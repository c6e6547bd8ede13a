package catalogindex_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

func openDemo(t *testing.T) (*sqlstore.Store, context.Context) {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := demo.Load(ctx, s, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

func ids(es []*cityhub.CatalogEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// The index must answer exactly as the store's SQL search does: same
// totals, same facet counts, same pages (same set for relevance order).
func TestIndexAgreesWithStore(t *testing.T) {
	s, ctx := openDemo(t)
	x := catalogindex.New(s)
	x.Start(ctx)
	<-x.Ready()
	all := cityhub.CatalogScope{All: true}
	dept := cityhub.CatalogScope{Departments: []int64{3}}
	queries := []cityhub.CatalogQuery{
		{Scope: all, Facets: true, Limit: 20},
		{Scope: dept, Facets: true, Limit: 20},
		{Scope: cityhub.CatalogScope{}, Limit: 15, Offset: 30},
		{Q: "路灯", Scope: all, Facets: true, Sort: "updated", Limit: 50},
		{Q: "井盖", Scope: dept, Sort: "name", Limit: 50},
		{Q: "水", Scope: all, Sort: "code", Limit: 500},
		{Q: "空气质量", Scope: all, Facets: true, Sort: "updated"},
		{Q: "企业 许可", Scope: all, Facets: true, Sort: "updated"},
		{Q: "PM2.5", Scope: all, Sort: "updated"},
		{Q: "parking", Scope: all, Sort: "updated"},
		{Q: "credit_code", Scope: all, Sort: "updated"},
		{Q: "路灯", Scope: all, Limit: 100}, // relevance: compare sets
		{Classification: "2", Scope: all, Facets: true, Sort: "name", Limit: 30},
		{Classification: "209", OpenType: cityhub.Unconditional, Scope: all, Sort: "updated"},
		{ShareType: cityhub.Conditional, Format: cityhub.FormatDatabase, Scope: all, Facets: true, Sort: "updated"},
		{Domain: "traffic", UpdateCycle: cityhub.CycleRealtime, Scope: all, Sort: "updated"},
		{Tag: "路灯", Scope: all, Sort: "updated"},
		{Status: cityhub.StatusDraft, Scope: all, Sort: "updated"},
		{ProviderID: 5, Scope: all, Facets: true, Sort: "updated"},
		{Q: "没有这个词", Scope: all, Facets: true},
		{Q: "!!! ，。", Scope: all},
		{Domain: "no-such-domain", Scope: all, Facets: true},
		{Public: true, Facets: true, Sort: "updated", Limit: 40},
		{Public: true, Scope: all, Q: "空气质量", Facets: true, Sort: "updated"},
		{Public: true, OpenType: cityhub.Conditional, Facets: true, Sort: "name"},
		// What the public sees, browsed: totals and facets counted ahead.
		{Public: true, Limit: 3, Offset: 2},
		{Public: true, Limit: 3, Offset: 2, Facets: true},
		{Public: true, Domain: "traffic", Sort: "updated", Limit: 2, Offset: 1},
		{Public: true, Tag: "路灯", Limit: 5},
		{Public: true, ProviderID: 5, Limit: 5},
		{Public: true, Format: cityhub.FormatDatabase, Facets: true, Limit: 5},
		{Public: true, Format: cityhub.FormatDatabase, Domain: "market", Limit: 5},
		{Public: true, Classification: "1", Limit: 5},
		{Public: true, Status: cityhub.StatusDraft, Limit: 5},
		// Sets of values: any of them, none of them.
		{Scope: all, AnyOf: map[string][]string{"domain": {"traffic", "environment"}}, Facets: true, Sort: "updated"},
		{Public: true, NoneOf: map[string][]string{"provider": {"5"}}, Limit: 5},
		{Scope: all, AnyOf: map[string][]string{"tag": {"路灯", "停车"}}, NoneOf: map[string][]string{"format": {cityhub.FormatDatabase}}, Sort: "updated"},
		{Scope: all, AnyOf: map[string][]string{"format": {}}},
		{Scope: all, AnyOf: map[string][]string{"update_cycle": {"no-such-cycle"}}, Facets: true},
		{Q: "数据", Scope: all, AnyOf: map[string][]string{"open_type": {cityhub.Unconditional, cityhub.Conditional}}, Sort: "updated"},
		{Public: true, NoneOf: map[string][]string{"tag": {"路灯"}, "share_type": {cityhub.Conditional}}, Facets: true, Limit: 10},
	}
	// Modified since the middle entry's time, and up to it.
	every, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: all, Sort: "updated", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	mid := every.Entries[len(every.Entries)/2].UpdatedAt
	if !every.Entries[0].UpdatedAt.After(mid) || every.Entries[len(every.Entries)-1].UpdatedAt.After(mid) ||
		every.Entries[len(every.Entries)-1].UpdatedAt.Equal(mid) {
		t.Fatal("the demo's entries do not spread in time: the modified bounds would test nothing")
	}
	queries = append(queries, cityhub.CatalogQuery{Scope: all, ModifiedFrom: mid, Sort: "updated", Facets: true},
		cityhub.CatalogQuery{Public: true, ModifiedFrom: mid, Limit: 3},
		cityhub.CatalogQuery{Public: true, ModifiedTo: mid, Limit: 3, Offset: 1},
		cityhub.CatalogQuery{Scope: all, Q: "路灯", ModifiedFrom: mid.Add(-time.Hour), ModifiedTo: mid, Sort: "updated"})
	for i, q := range queries {
		t.Run(fmt.Sprintf("%d %s", i, q.Q), func(t *testing.T) {
			want, err := s.SearchCatalog(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.SearchCatalog(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != want.Total {
				t.Fatalf("total: got %d, want %d", got.Total, want.Total)
			}
			gi, wi := ids(got.Entries), ids(want.Entries)
			if q.Sort == "" && q.Q != "" {
				slices.Sort(gi)
				slices.Sort(wi)
			}
			if !slices.Equal(gi, wi) {
				t.Errorf("page: got %v, want %v", gi, wi)
			}
			for _, name := range cityhub.FacetNames {
				g, w := counts(got.Facets[name]), counts(want.Facets[name])
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("facet %s: got %v, want %v", name, g, w)
				}
			}
		})
	}
}

// A set over a facet the stores cannot filter by sets is refused alike.
func TestSetsOfUnknownFacetsRefused(t *testing.T) {
	s, ctx := openDemo(t)
	x := catalogindex.New(s)
	x.Start(ctx)
	<-x.Ready()
	for _, q := range []cityhub.CatalogQuery{{AnyOf: map[string][]string{"status": {"draft"}}},
		{NoneOf: map[string][]string{"provider": {"x"}}}} {
		for name, src := range map[string]cityhub.CatalogSearcher{"store": s, "index": x} {
			if _, err := src.SearchCatalog(ctx, q); cityhub.ErrorCode(err) != cityhub.EINVALID {
				t.Errorf("%s %+v: %v, want invalid", name, q, err)
			}
		}
	}
}

func counts(vs []cityhub.FacetValue) map[string]int {
	m := map[string]int{}
	for _, v := range vs {
		m[v.Value] = v.Count
	}
	return m
}

// Changes made through the store, by this node or another, show up in the
// next search.
func TestIndexFollowsChanges(t *testing.T) {
	s, ctx := openDemo(t)
	x := catalogindex.New(s)
	x.Start(ctx)
	<-x.Ready()
	all := cityhub.CatalogScope{All: true}
	search := func(q string) *cityhub.CatalogResult {
		t.Helper()
		r, err := x.SearchCatalog(ctx, cityhub.CatalogQuery{Q: q, Scope: all, Sort: "updated"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if search("桥梁检测").Total != 0 {
		t.Fatal("found a word the demo does not have")
	}
	before := x.Len()
	e := &cityhub.CatalogEntry{ClassificationCode: "209", Name: "桥梁检测报告", ProviderID: 6, Abstract: "城市桥梁定期检测报告。",
		Format: cityhub.FormatFile, UpdateCycle: cityhub.CycleYearly, ShareType: cityhub.Unconditional, ShareMethod: "文件下载",
		OpenType: cityhub.NotShared, OpenBasis: "涉及设施安全", Items: []cityhub.DataItem{{Name: "桥梁编号", Type: "C", Sensitivity: "public"}}}
	if err := s.CreateEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	if r := search("桥梁检测"); r.Total != 1 || r.Entries[0].ID != e.ID || x.Len() != before+1 {
		t.Fatalf("after create: got %d results, index %d entries", r.Total, x.Len())
	}
	e.Name = "桥梁养护记录"
	if err := s.UpdateEntry(ctx, e, "rename"); err != nil {
		t.Fatal(err)
	}
	if search("桥梁检测").Total != 0 || search("养护").Total != 1 {
		t.Fatal("after update: the old name still matches or the new one does not")
	}
	if _, err := s.TransitionEntry(ctx, e.ID, cityhub.ActSubmit, ""); err != nil {
		t.Fatal(err)
	}
	r, _ := x.SearchCatalog(ctx, cityhub.CatalogQuery{Status: cityhub.StatusSubmitted, Q: "养护", Scope: all})
	if r.Total != 1 {
		t.Fatalf("after submit: status filter found %d", r.Total)
	}
	if _, err := s.TransitionEntry(ctx, e.ID, cityhub.ActReject, "不全"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEntry(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if search("养护").Total != 0 || x.Len() != before {
		t.Fatalf("after delete: still found, or index holds %d entries, want %d", x.Len(), before)
	}
}

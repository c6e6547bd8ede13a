package demo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/sqlstore"
)

func TestCreditCodesPassChecksums(t *testing.T) {
	seen := map[string]bool{}
	for i, d := range departments {
		code := CreditCode(d.division, i+1)
		if err := cityhub.ValidateCreditCode(code); err != nil {
			t.Errorf("%s: %s: %v", d.name, code, err)
		}
		if seen[code] {
			t.Errorf("%s: duplicate code %s", d.name, code)
		}
		seen[code] = true
	}
	// Changing one digit of an organisation code changes its check character.
	if orgCodeCheck("02900001") == orgCodeCheck("02900002") {
		t.Error("organisation code check ignores the last digit")
	}
}

func TestLoadIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hash := func(string) string { return "not-a-real-hash" }
	// serve makes the platform administrator first; the demo's showcase
	// item is approved by it.
	if err := s.CreateUser(ctx, &cityhub.User{Username: "admin", Roles: []string{cityhub.RolePlatformAdmin}}, hash("")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := Load(ctx, s, hash); err != nil {
			t.Fatalf("load %d: %v", i+1, err)
		}
	}
	_, deps, _ := s.Departments(ctx, cityhub.DepartmentFilter{})
	_, us, _ := s.Users(ctx, cityhub.UserFilter{})
	if deps != len(departments) || us != len(users)+2 { // the administrator and the portal's citizen too
		t.Errorf("after two loads: got %d departments and %d users, want %d and %d", deps, us, len(departments), len(users)+2)
	}
	for status, want := range map[string]int{cityhub.ShowcaseApproved: 1, cityhub.ShowcasePending: 1} {
		items, _, err := s.ShowcaseItems(ctx, cityhub.ShowcaseFilter{Status: status})
		if err != nil || len(items) != want || len(items[0].Datasets) != 1 {
			t.Errorf("demo showcase items %s: %+v %v, want %d with its dataset", status, items, err, want)
		}
	}
	// The portal's public side shows activity once, not twice.
	reqs, _, err := s.DataRequests(ctx, cityhub.DataRequestFilter{})
	if err != nil || len(reqs) != 1 || reqs[0].Status != cityhub.RequestPlanned {
		t.Errorf("demo data requests: %+v %v", reqs, err)
	}
	districts, _, _ := s.Departments(ctx, cityhub.DepartmentFilter{Level: cityhub.LevelDistrict, Limit: 100})
	divs := map[string]bool{}
	for _, d := range districts {
		divs[d.Division] = true
	}
	if len(divs) != 10 {
		t.Errorf("district departments cover %d divisions, want the 10 districts", len(divs))
	}
	rep, err := cityhub.VerifyChain(ctx, s, key.Public())
	if err != nil || !rep.OK {
		t.Errorf("chain after demo load: %+v %v", rep, err)
	}
}

func TestDemoCatalog(t *testing.T) {
	dir := t.TempDir()
	key, _ := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "system"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Load(ctx, s, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	res, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Facets: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total < 200 {
		t.Errorf("demo catalog: got %d entries, want a few hundred", res.Total)
	}
	for _, facet := range []struct {
		name string
		want []string
	}{
		{"status", []string{cityhub.StatusDraft, cityhub.StatusSubmitted, cityhub.StatusApproved, cityhub.StatusRejected, cityhub.StatusPublished}},
		{"share_type", []string{cityhub.Unconditional, cityhub.Conditional, cityhub.NotShared}},
		{"open_type", []string{cityhub.Unconditional, cityhub.Conditional, cityhub.NotShared}},
		{"classification", []string{"1", "2", "3"}},
	} {
		got := map[string]bool{}
		for _, v := range res.Facets[facet.name] {
			got[v.Value] = v.Count > 0
		}
		for _, w := range facet.want {
			if !got[w] {
				t.Errorf("demo catalog facet %s lacks %s: %+v", facet.name, w, res.Facets[facet.name])
			}
		}
	}
	ents, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Q: "企业登记基本信息", Scope: cityhub.CatalogScope{All: true}})
	if err != nil || ents.Total == 0 {
		t.Fatalf("enterprise entry: %v", err)
	}
	for _, e := range ents.Entries {
		if e.Name != "宁波市企业登记基本信息" {
			continue
		}
		res, err := s.QueryRows(ctx, cityhub.RowQuery{EntryID: e.ID, Total: true, Limit: 1})
		if err != nil || *res.Total != 2000 {
			t.Errorf("demo enterprise rows: %v %v", res, err)
		}
	}
	for _, q := range []string{"路灯", "井盖", "空气质量", "企业"} {
		r, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Q: q, Scope: cityhub.CatalogScope{All: true}})
		if err != nil || r.Total == 0 {
			t.Errorf("search %q in the demo catalog: %d results, %v", q, r.Total, err)
		}
	}
}

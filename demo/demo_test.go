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
	for i := 0; i < 2; i++ {
		if _, err := Load(ctx, s, hash); err != nil {
			t.Fatalf("load %d: %v", i+1, err)
		}
	}
	_, deps, _ := s.Departments(ctx, cityhub.DepartmentFilter{})
	_, us, _ := s.Users(ctx, cityhub.UserFilter{})
	if deps != len(departments) || us != len(users) {
		t.Errorf("after two loads: got %d departments and %d users, want %d and %d", deps, us, len(departments), len(users))
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

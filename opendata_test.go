package cityhub

import "testing"

func TestOpenDataRules(t *testing.T) {
	e := &CatalogEntry{ID: 42, Code: "211/000123", Status: StatusPublished, OpenType: Unconditional, Items: []DataItem{
		{Name: "a", Sensitivity: SensPublic}, {Name: "b", Sensitivity: SensInternal},
		{Name: "c", Sensitivity: SensSensitive}, {Name: "d", Sensitivity: SensSecret}}}
	if !e.PublicMetadata() || !e.PublicData() {
		t.Error("published 无条件开放 entry not public")
	}
	if items := e.PublicItems(); len(items) != 2 || items[0].Name != "a" || items[1].Name != "b" || len(e.Items) != 4 {
		t.Errorf("public items %+v (entry keeps %d)", items, len(e.Items))
	}
	e.OpenType = Conditional
	if !e.PublicMetadata() || e.PublicData() {
		t.Error("有条件开放: metadata only")
	}
	for _, c := range []struct{ status, open string }{{StatusPublished, NotShared}, {StatusDraft, Unconditional}, {StatusSubmitted, Conditional}} {
		e.Status, e.OpenType = c.status, c.open
		if e.PublicMetadata() || e.PublicData() {
			t.Errorf("%s/%s shown to the public", c.status, c.open)
		}
	}
	if e.PackageName() != "211-000123" || CodeFromPackageName("211-000123") != "211/000123" {
		t.Errorf("package name %q", e.PackageName())
	}
	p, r := PackageID(42), ResourceID(42)
	if p == r || len(p) != 36 {
		t.Fatalf("ids %s %s", p, r)
	}
	if id, ok := EntryIDFromPackageID(p); !ok || id != 42 {
		t.Errorf("package id back: %d %v", id, ok)
	}
	if id, ok := EntryIDFromResourceID(r); !ok || id != 42 {
		t.Errorf("resource id back: %d %v", id, ok)
	}
	for _, bad := range []string{r, "", "42", "c17a0000-0000-4000-8000-00000000002A", "c17a0000-0000-4000-8000-000000000000", "c17a0000-0000-4000-8000-00000000002g"} {
		if _, ok := EntryIDFromPackageID(bad); ok {
			t.Errorf("%q read as a package id", bad)
		}
	}
}

package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

func testSchemaVersion(t *testing.T, open Opener) {
	e := newEnv(t, open)
	if err := e.Store.Ping(e.ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	applied, latest, err := e.Store.SchemaVersion(e.ctx)
	if err != nil {
		t.Fatalf("schema version: %v", err)
	}
	if latest <= 0 || applied != latest {
		t.Fatalf("schema version: got applied %d, latest %d; want applied == latest > 0", applied, latest)
	}
}

func testDepartmentCRUD(t *testing.T, open Opener) {
	e := newEnv(t, open)
	city := &cityhub.Department{
		Name:       "  宁波市大数据发展管理局 ",
		ShortName:  " 市大数据局",
		CreditCode: strings.ToLower(creditCode(999)), // normalized to upper case
		Division:   "330200",
		Level:      cityhub.LevelCity,
	}
	if err := e.Store.CreateDepartment(e.ctx, city); err != nil {
		t.Fatalf("create: %v", err)
	}
	if city.ID <= 0 || city.CreatedAt.IsZero() || !city.UpdatedAt.Equal(city.CreatedAt) {
		t.Fatalf("create: got id %d, created %v, updated %v; want an id and equal times", city.ID, city.CreatedAt, city.UpdatedAt)
	}
	if city.Name != "宁波市大数据发展管理局" || city.ShortName != "市大数据局" || city.CreditCode != creditCode(999) {
		t.Fatalf("create: got name %q, short %q, credit code %q; want them normalized", city.Name, city.ShortName, city.CreditCode)
	}
	got, err := e.Store.Department(e.ctx, city.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	wantSame(t, "department after create", got, city)

	district := e.department()
	district.ParentID = &city.ID
	if err := e.Store.CreateDepartment(e.ctx, district); err != nil {
		t.Fatalf("create child: %v", err)
	}
	got, err = e.Store.Department(e.ctx, district.ID)
	if err != nil {
		t.Fatalf("get child: %v", err)
	}
	wantSame(t, "child after create", got, district)

	district.Name, district.ShortName, district.Division = "海曙区大数据中心", "海曙数据", "330203"
	district.ParentID = nil
	if err := e.Store.UpdateDepartment(e.ctx, district); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err = e.Store.Department(e.ctx, district.ID)
	if err != nil {
		t.Fatalf("get after update: %v", err)
	}
	wantSame(t, "department after update", got, district)
	if got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("update: got updated %v before created %v", got.UpdatedAt, got.CreatedAt)
	}

	missing := e.department()
	missing.ID = district.ID + 1000
	wantErr(t, e.Store.UpdateDepartment(e.ctx, missing), cityhub.ENOTFOUND)

	if err := e.Store.DeleteDepartment(e.ctx, district.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.Store.Department(e.ctx, district.ID)
	wantErr(t, err, cityhub.ENOTFOUND)
	wantErr(t, e.Store.DeleteDepartment(e.ctx, district.ID), cityhub.ENOTFOUND)
	_, err = e.Store.Department(e.ctx, 0)
	wantErr(t, err, cityhub.ENOTFOUND)
	// create, create, update, delete; the failures appended nothing.
	e.wantIntact(t, 4)
}

func testDepartmentValidation(t *testing.T, open Opener) {
	e := newEnv(t, open)
	parent := e.createDepartment(t)
	const vector = "91110000600037341L" // a valid GB 32100 code
	tests := []struct {
		name   string
		mod    func(d *cityhub.Department)
		update bool // change an existing department instead of creating one
		field  string
		reason string // part of the field's reason, if set
	}{
		{name: "name required", mod: func(d *cityhub.Department) { d.Name = "  " }, field: "name"},
		{name: "name too long", mod: func(d *cityhub.Department) { d.Name = strings.Repeat("局", 101) }, field: "name"},
		{name: "short name too long", mod: func(d *cityhub.Department) { d.ShortName = strings.Repeat("局", 31) }, field: "short_name"},
		{name: "credit code required", mod: func(d *cityhub.Department) { d.CreditCode = "" }, field: "credit_code"},
		{name: "credit code checksum", mod: func(d *cityhub.Department) { d.CreditCode = vector[:17] + "M" }, field: "credit_code", reason: "check character"},
		{name: "credit code charset", mod: func(d *cityhub.Department) { d.CreditCode = "9111000060003734IL" }, field: "credit_code"},
		{name: "credit code length", mod: func(d *cityhub.Department) { d.CreditCode = vector[:17] }, field: "credit_code", reason: "18"},
		{name: "historic division", mod: func(d *cityhub.Department) { d.Division = "330204" }, field: "division_code", reason: "no longer exists"},
		{name: "unknown division", mod: func(d *cityhub.Department) { d.Division = "339999" }, field: "division_code"},
		{name: "level required", mod: func(d *cityhub.Department) { d.Level = "" }, field: "level"},
		{name: "unknown level", mod: func(d *cityhub.Department) { d.Level = "province" }, field: "level"},
		{name: "missing parent", mod: func(d *cityhub.Department) { d.ParentID = ptr(parent.ID + 1000) }, field: "parent_id"},
		{name: "own parent", mod: func(d *cityhub.Department) { d.ParentID = &d.ID }, update: true, field: "parent_id"},
		{name: "update to historic division", mod: func(d *cityhub.Department) { d.Division = "330283" }, update: true, field: "division_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.department()
			if tt.update {
				c := *parent
				d = &c
			}
			tt.mod(d)
			var err error
			if tt.update {
				err = e.Store.UpdateDepartment(e.ctx, d)
			} else {
				err = e.Store.CreateDepartment(e.ctx, d)
			}
			wantErr(t, err, cityhub.EINVALID, tt.field)
			if reason := err.(*cityhub.Error).Fields[tt.field]; !strings.Contains(reason, tt.reason) {
				t.Errorf("reason for %s: got %q, want it to mention %q", tt.field, reason, tt.reason)
			}
		})
	}
	t.Run("valid vector accepted", func(t *testing.T) {
		d := e.department()
		d.CreditCode = vector
		if err := e.Store.CreateDepartment(e.ctx, d); err != nil {
			t.Fatalf("create with %s: got %v, want no error", vector, err)
		}
	})
	_, total, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 {
		t.Errorf("departments after invalid creates: got %d, want 2", total)
	}
	got, err := e.Store.Department(e.ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "department after invalid updates", got, parent)
	e.wantIntact(t, 2)
}

func testDepartmentConflicts(t *testing.T, open Opener) {
	e := newEnv(t, open)
	a := e.createDepartment(t)
	b := e.createDepartment(t)
	tests := []struct {
		name   string
		do     func() error
		field  string
		reason string
	}{
		{"create with a taken name", func() error {
			d := e.department()
			d.Name = a.Name
			return e.Store.CreateDepartment(e.ctx, d)
		}, "name", ""},
		{"create with a taken credit code", func() error {
			d := e.department()
			d.CreditCode = strings.ToLower(a.CreditCode)
			return e.Store.CreateDepartment(e.ctx, d)
		}, "credit_code", ""},
		{"rename onto a taken name", func() error {
			d := *b
			d.Name = a.Name
			return e.Store.UpdateDepartment(e.ctx, &d)
		}, "name", ""},
		{"change to a taken credit code", func() error {
			d := *b
			d.CreditCode = a.CreditCode
			return e.Store.UpdateDepartment(e.ctx, &d)
		}, "credit_code", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.do(), cityhub.ECONFLICT, tt.field)
		})
	}
	got, err := e.Store.Department(e.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "department after refused updates", got, b)
	e.wantIntact(t, 2)
}

func testDepartmentParentLoops(t *testing.T, open Opener) {
	e := newEnv(t, open)
	a := e.createDepartment(t, func(d *cityhub.Department) { d.Level, d.Division = cityhub.LevelCity, "330200" })
	b := e.createDepartment(t, func(d *cityhub.Department) { d.ParentID = &a.ID })
	c := e.createDepartment(t, func(d *cityhub.Department) { d.ParentID = &b.ID })
	tests := []struct {
		name      string
		d         *cityhub.Department
		newParent int64
	}{
		{"self", a, a.ID},
		{"child", a, b.ID},
		{"grandchild", a, c.ID},
		{"own child", b, c.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := *tt.d
			d.ParentID = ptr(tt.newParent)
			wantErr(t, e.Store.UpdateDepartment(e.ctx, &d), cityhub.EINVALID, "parent_id")
		})
	}
	// Moving down a branch that does not contain the department is fine.
	d := *c
	d.ParentID = &a.ID
	if err := e.Store.UpdateDepartment(e.ctx, &d); err != nil {
		t.Fatalf("move c under a: %v", err)
	}
	got, err := e.Store.Department(e.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentID != nil {
		t.Fatalf("a's parent: got %d, want none", *got.ParentID)
	}
	e.wantIntact(t, 4)
}

func testDepartmentDeleteRefused(t *testing.T, open Opener) {
	e := newEnv(t, open)
	parent := e.createDepartment(t)
	child := e.createDepartment(t, func(d *cityhub.Department) { d.ParentID = &parent.ID })
	withUser := e.createDepartment(t)
	u := e.createUser(t, &withUser.ID, cityhub.RoleSteward)

	wantErr(t, e.Store.DeleteDepartment(e.ctx, parent.ID), cityhub.ECONFLICT)
	wantErr(t, e.Store.DeleteDepartment(e.ctx, withUser.ID), cityhub.ECONFLICT)
	for _, id := range []int64{parent.ID, withUser.ID} {
		if _, err := e.Store.Department(e.ctx, id); err != nil {
			t.Fatalf("department %d after refused delete: %v", id, err)
		}
	}
	n := len(e.records(t))

	if err := e.Store.DeleteDepartment(e.ctx, child.ID); err != nil {
		t.Fatalf("delete child: %v", err)
	}
	if err := e.Store.DeleteDepartment(e.ctx, parent.ID); err != nil {
		t.Fatalf("delete parent without children: %v", err)
	}
	if err := e.Store.DeleteUser(e.ctx, u.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	if err := e.Store.DeleteDepartment(e.ctx, withUser.ID); err != nil {
		t.Fatalf("delete department without users: %v", err)
	}
	e.wantIntact(t, int64(n+4))
}

func testDepartmentList(t *testing.T, open Opener) {
	e := newEnv(t, open)
	mk := func(name, short, level, division string, parent *cityhub.Department) *cityhub.Department {
		return e.createDepartment(t, func(d *cityhub.Department) {
			d.Name, d.ShortName, d.Level, d.Division = name, short, level, division
			if parent != nil {
				d.ParentID = &parent.ID
			}
		})
	}
	a := mk("宁波市大数据发展管理局", "市大数据局", cityhub.LevelCity, "330200", nil)
	b := mk("宁波市公安局", "市公安局", cityhub.LevelCity, "330200", nil)
	c := mk("Ningbo Port Authority", "NPA", cityhub.LevelCity, "330200", nil)
	d := mk("鄞州区大数据中心", "鄞州数据", cityhub.LevelDistrict, "330212", a)
	f := mk("鄞州区公安分局", "", cityhub.LevelDistrict, "330212", b)
	g := mk("海曙区大数据中心", "海曙数据", cityhub.LevelDistrict, "330203", a)
	h := mk("100%_测试局", "", cityhub.LevelDistrict, "330203", nil)
	all := []*cityhub.Department{a, b, c, d, f, g, h}

	tests := []struct {
		name   string
		filter cityhub.DepartmentFilter
		want   []*cityhub.Department
	}{
		{"all", cityhub.DepartmentFilter{}, all},
		{"level", cityhub.DepartmentFilter{Level: cityhub.LevelCity}, []*cityhub.Department{a, b, c}},
		{"division", cityhub.DepartmentFilter{Division: "330212"}, []*cityhub.Department{d, f}},
		{"parent", cityhub.DepartmentFilter{ParentID: &a.ID}, []*cityhub.Department{d, g}},
		{"level and division", cityhub.DepartmentFilter{Level: cityhub.LevelDistrict, Division: "330203"}, []*cityhub.Department{g, h}},
		{"query name", cityhub.DepartmentFilter{Query: "大数据"}, []*cityhub.Department{a, d, g}},
		{"query short name", cityhub.DepartmentFilter{Query: "市公安"}, []*cityhub.Department{b}},
		{"query ignores case", cityhub.DepartmentFilter{Query: "PORT"}, []*cityhub.Department{c}},
		{"query short name ignores case", cityhub.DepartmentFilter{Query: "npa"}, []*cityhub.Department{c}},
		{"query percent is literal", cityhub.DepartmentFilter{Query: "%"}, []*cityhub.Department{h}},
		{"query underscore is literal", cityhub.DepartmentFilter{Query: "_"}, []*cityhub.Department{h}},
		{"query and level", cityhub.DepartmentFilter{Query: "大数据", Level: cityhub.LevelDistrict}, []*cityhub.Department{d, g}},
		{"no match", cityhub.DepartmentFilter{Query: "不存在"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := e.Store.Departments(e.ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			g, w := ids(got), ids(tt.want)
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Fatalf("ids: got %v, want %v", g, w)
			}
			if total != len(tt.want) {
				t.Fatalf("total: got %d, want %d", total, len(tt.want))
			}
		})
	}

	t.Run("records complete", func(t *testing.T) {
		got, _, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{ParentID: &a.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range got {
			if x.ID == d.ID {
				wantSame(t, "listed department", x, d)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		full, _, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var paged []*cityhub.Department
		for offset := 0; offset < 10; offset += 3 {
			got, total, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{Limit: 3, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(all) {
				t.Fatalf("total at offset %d: got %d, want %d", offset, total, len(all))
			}
			if want := min(3, max(0, len(all)-offset)); len(got) != want {
				t.Fatalf("page at offset %d: got %d departments, want %d", offset, len(got), want)
			}
			paged = append(paged, got...)
		}
		if g, w := ids(paged), ids(full); !slices.Equal(g, w) {
			t.Fatalf("pages joined: got %v, want the full listing %v", g, w)
		}
		got, total, err := e.Store.Departments(e.ctx, cityhub.DepartmentFilter{Level: cityhub.LevelDistrict, Limit: 3, Offset: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || total != 4 {
			t.Fatalf("filtered page: got %d departments of %d, want 2 of 4", len(got), total)
		}
	})
}

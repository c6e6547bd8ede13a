package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func testUserCRUD(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	other := e.createDepartment(t)
	u := &cityhub.User{
		Username:     " Li.Wei ",
		DisplayName:  "李伟",
		Email:        "li.wei@example.gov.cn",
		Phone:        "13800000000",
		DepartmentID: &dept.ID,
		Roles:        []string{cityhub.RoleSteward, cityhub.RoleConsumer, cityhub.RoleSteward},
	}
	if err := e.Store.CreateUser(e.ctx, u, "$argon2id$v=19$first"); err != nil {
		t.Fatalf("create: %v", err)
	}
	if u.ID <= 0 || u.Username != "li.wei" || u.CreatedAt.IsZero() {
		t.Fatalf("create: got id %d, username %q, created %v; want an id, %q and a time", u.ID, u.Username, u.CreatedAt, "li.wei")
	}
	if want := []string{cityhub.RoleConsumer, cityhub.RoleSteward}; !slices.Equal(u.Roles, want) {
		t.Fatalf("roles: got %v, want %v", u.Roles, want)
	}
	got, err := e.Store.User(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	wantSame(t, "user after create", got, u)

	for _, name := range []string{"li.wei", "LI.WEI"} {
		got, hash, err := e.Store.UserByUsername(e.ctx, name)
		if err != nil {
			t.Fatalf("by username %q: %v", name, err)
		}
		if hash != "$argon2id$v=19$first" {
			t.Fatalf("hash by username %q: got %q, want %q", name, hash, "$argon2id$v=19$first")
		}
		wantSame(t, "user by username", got, u)
	}
	_, _, err = e.Store.UserByUsername(e.ctx, "nobody")
	wantErr(t, err, cityhub.ENOTFOUND)

	login := time.Date(2025, 3, 1, 8, 30, 0, 123456000, time.UTC)
	if err := e.Store.RecordLogin(e.ctx, u.ID, login); err != nil {
		t.Fatalf("record login: %v", err)
	}
	got, err = e.Store.User(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastLoginAt == nil || !got.LastLoginAt.Equal(login) {
		t.Fatalf("last login: got %v, want %v", got.LastLoginAt, login)
	}

	u.DisplayName, u.Email, u.Phone = "李伟（数据）", "", ""
	u.DepartmentID = &other.ID
	u.Roles = []string{cityhub.RoleDeptAdmin}
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatalf("update: %v", err)
	}
	if u.LastLoginAt == nil || !u.LastLoginAt.Equal(login) {
		t.Fatalf("update: got last login %v, want it kept at %v", u.LastLoginAt, login)
	}
	got, err = e.Store.User(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "user after update", got, u)

	renamed := *got
	renamed.Username = "someone.else"
	wantErr(t, e.Store.UpdateUser(e.ctx, &renamed), cityhub.EINVALID, "username")

	dup := e.user(&dept.ID)
	dup.Username = "LI.WEI"
	wantErr(t, e.Store.CreateUser(e.ctx, dup, "x"), cityhub.ECONFLICT, "username")

	missing := e.user(&dept.ID)
	missing.ID = u.ID + 1000
	wantErr(t, e.Store.UpdateUser(e.ctx, missing), cityhub.ENOTFOUND)

	if err := e.Store.DeleteUser(e.ctx, u.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.Store.User(e.ctx, u.ID)
	wantErr(t, err, cityhub.ENOTFOUND)
	_, _, err = e.Store.UserByUsername(e.ctx, "li.wei")
	wantErr(t, err, cityhub.ENOTFOUND)
	wantErr(t, e.Store.DeleteUser(e.ctx, u.ID), cityhub.ENOTFOUND)
	// 2 departments; user create, update, delete.
	e.wantIntact(t, 5)
}

func testUserValidation(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	tests := []struct {
		name  string
		mod   func(u *cityhub.User)
		code  string
		field string
	}{
		{"username too short", func(u *cityhub.User) { u.Username = "a" }, cityhub.EINVALID, "username"},
		{"username with space", func(u *cityhub.User) { u.Username = "li wei" }, cityhub.EINVALID, "username"},
		{"username not latin", func(u *cityhub.User) { u.Username = "李伟" }, cityhub.EINVALID, "username"},
		{"username starts with dot", func(u *cityhub.User) { u.Username = ".liwei" }, cityhub.EINVALID, "username"},
		{"username too long", func(u *cityhub.User) { u.Username = strings.Repeat("a", 65) }, cityhub.EINVALID, "username"},
		{"display name too long", func(u *cityhub.User) { u.DisplayName = strings.Repeat("李", 101) }, cityhub.EINVALID, "display_name"},
		{"bad email", func(u *cityhub.User) { u.Email = "liwei.example.gov.cn" }, cityhub.EINVALID, "email"},
		{"no roles", func(u *cityhub.User) { u.Roles = nil }, cityhub.EINVALID, "roles"},
		{"unknown role", func(u *cityhub.User) { u.Roles = []string{"root"} }, cityhub.EINVALID, "roles"},
		{"department role without department", func(u *cityhub.User) { u.DepartmentID = nil }, cityhub.EINVALID, "department_id"},
		{"missing department", func(u *cityhub.User) { u.DepartmentID = ptr(dept.ID + 1000) }, cityhub.ECONFLICT, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.user(&dept.ID, cityhub.RoleSteward)
			tt.mod(u)
			if tt.field == "" {
				wantErr(t, e.Store.CreateUser(e.ctx, u, "x"), tt.code)
			} else {
				wantErr(t, e.Store.CreateUser(e.ctx, u, "x"), tt.code, tt.field)
			}
		})
	}
	t.Run("platform roles need no department", func(t *testing.T) {
		for _, role := range []string{cityhub.RolePlatformAdmin, cityhub.RoleAuditor} {
			if err := e.Store.CreateUser(e.ctx, e.user(nil, role), "x"); err != nil {
				t.Fatalf("create %s without department: %v", role, err)
			}
		}
	})
	_, total, err := e.Store.Users(e.ctx, cityhub.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 {
		t.Fatalf("users after invalid creates: got %d, want 2", total)
	}
	e.wantIntact(t, 3)
}

func testUserList(t *testing.T, open Opener) {
	e := newEnv(t, open)
	x := e.createDepartment(t)
	y := e.createDepartment(t)
	mk := func(username, display string, dept *cityhub.Department, roles ...string) *cityhub.User {
		u := e.user(nil, roles...)
		u.Username, u.DisplayName = username, display
		if dept != nil {
			u.DepartmentID = &dept.ID
		}
		if err := e.Store.CreateUser(e.ctx, u, "x"); err != nil {
			t.Fatalf("create %s: %v", username, err)
		}
		return u
	}
	u1 := mk("chen.admin", "陈管理", x, cityhub.RoleDeptAdmin)
	u2 := mk("wang.steward", "王数据", x, cityhub.RoleSteward, cityhub.RoleConsumer)
	u3 := mk("zhao.consumer", "赵使用", y, cityhub.RoleConsumer)
	u4 := mk("sun.operator", "孙值班", y, cityhub.RoleOperator)
	u5 := mk("root", "Platform Owner", nil, cityhub.RolePlatformAdmin)
	u6 := mk("audit", "审计员", nil, cityhub.RoleAuditor)
	u7 := mk("li.admin", "李管理", y, cityhub.RoleDeptAdmin, cityhub.RoleSteward)
	all := []*cityhub.User{u1, u2, u3, u4, u5, u6, u7}

	tests := []struct {
		name   string
		filter cityhub.UserFilter
		want   []*cityhub.User
	}{
		{"all", cityhub.UserFilter{}, all},
		{"role dept_admin", cityhub.UserFilter{Role: cityhub.RoleDeptAdmin}, []*cityhub.User{u1, u7}},
		{"role consumer", cityhub.UserFilter{Role: cityhub.RoleConsumer}, []*cityhub.User{u2, u3}},
		{"role platform_admin", cityhub.UserFilter{Role: cityhub.RolePlatformAdmin}, []*cityhub.User{u5}},
		{"role is matched whole", cityhub.UserFilter{Role: "admin"}, nil},
		{"department", cityhub.UserFilter{DepartmentID: &x.ID}, []*cityhub.User{u1, u2}},
		{"department and role", cityhub.UserFilter{DepartmentID: &y.ID, Role: cityhub.RoleSteward}, []*cityhub.User{u7}},
		{"query username", cityhub.UserFilter{Query: "admin"}, []*cityhub.User{u1, u7}},
		{"query display name", cityhub.UserFilter{Query: "管理"}, []*cityhub.User{u1, u7}},
		{"query ignores case", cityhub.UserFilter{Query: "PLATFORM"}, []*cityhub.User{u5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := e.Store.Users(e.ctx, tt.filter)
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
	t.Run("paging", func(t *testing.T) {
		var names []string
		for offset := 0; offset < len(all); offset += 2 {
			got, total, err := e.Store.Users(e.ctx, cityhub.UserFilter{Limit: 2, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(all) {
				t.Fatalf("total at offset %d: got %d, want %d", offset, total, len(all))
			}
			for _, u := range got {
				names = append(names, u.Username)
			}
		}
		var want []string
		for _, u := range all {
			want = append(want, u.Username)
		}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Fatalf("pages joined: got %v, want %v (by username)", names, want)
		}
	})
}

func testUserDisableRevokesTokens(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	bystander := e.createUser(t, &dept.ID)
	session, _ := e.createToken(t, u.ID, cityhub.TokenSession)
	personal, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	early, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	theirs, _ := e.createToken(t, bystander.ID, cityhub.TokenSession)
	if err := e.Store.RevokeToken(e.ctx, early.ID); err != nil {
		t.Fatal(err)
	}
	earlyRevoked := e.token(t, early.ID).RevokedAt

	// An update that does not disable leaves tokens alone.
	u.DisplayName = "still enabled"
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if tok := e.token(t, session.ID); tok.RevokedAt != nil {
		t.Fatalf("session after plain update: got revoked at %v, want active", tok.RevokedAt)
	}

	u.Disabled = true
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatalf("disable: %v", err)
	}
	got, err := e.Store.User(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled {
		t.Fatal("disabled: got false, want true")
	}
	now := time.Now()
	for _, id := range []int64{session.ID, personal.ID} {
		if tok := e.token(t, id); tok.RevokedAt == nil || tok.Active(now) {
			t.Fatalf("token %d (%s) of a disabled user: got revoked at %v, want revoked", id, tok.Kind, tok.RevokedAt)
		}
	}
	if tok := e.token(t, early.ID); tok.RevokedAt == nil || !tok.RevokedAt.Equal(*earlyRevoked) {
		t.Fatalf("earlier revocation: got %v, want it kept at %v", tok.RevokedAt, earlyRevoked)
	}
	if tok := e.token(t, theirs.ID); tok.RevokedAt != nil {
		t.Fatalf("another user's token: got revoked at %v, want active", tok.RevokedAt)
	}

	// Enabling again does not bring the tokens back.
	u.Disabled = false
	if err := e.Store.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if tok := e.token(t, session.ID); tok.RevokedAt == nil {
		t.Fatal("session after enabling again: got active, want still revoked")
	}
}

func testUserSetPasswordHash(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dept := e.createDepartment(t)
	u := e.createUser(t, &dept.ID)
	other := e.createUser(t, &dept.ID)
	s1, _ := e.createToken(t, u.ID, cityhub.TokenSession)
	s2, _ := e.createToken(t, u.ID, cityhub.TokenSession)
	personal, _ := e.createToken(t, u.ID, cityhub.TokenPersonal)
	theirs, _ := e.createToken(t, other.ID, cityhub.TokenSession)

	const newHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$bmV3"
	if err := e.Store.SetPasswordHash(e.ctx, u.ID, newHash); err != nil {
		t.Fatalf("set password hash: %v", err)
	}
	_, hash, err := e.Store.UserByUsername(e.ctx, u.Username)
	if err != nil {
		t.Fatal(err)
	}
	if hash != newHash {
		t.Fatalf("hash: got %q, want %q", hash, newHash)
	}
	for _, id := range []int64{s1.ID, s2.ID} {
		if tok := e.token(t, id); tok.RevokedAt == nil {
			t.Fatalf("session %d after password change: got active, want revoked", id)
		}
	}
	if tok := e.token(t, personal.ID); tok.RevokedAt != nil {
		t.Fatalf("personal token after password change: got revoked at %v, want active", tok.RevokedAt)
	}
	if tok := e.token(t, theirs.ID); tok.RevokedAt != nil {
		t.Fatalf("another user's session: got revoked at %v, want active", tok.RevokedAt)
	}
	recs := e.records(t)
	last := recs[len(recs)-1]
	if last.Action != "user.password" || last.Object != "user:"+itoa(u.ID) {
		t.Fatalf("audit: got %s on %s, want user.password on user:%d", last.Action, last.Object, u.ID)
	}
	for _, r := range recs {
		if strings.Contains(r.Details, newHash) || strings.Contains(r.Details, "hash-of-") {
			t.Fatalf("audit record %d: details %s carry a password hash", r.Seq, r.Details)
		}
	}
	wantErr(t, e.Store.SetPasswordHash(e.ctx, other.ID+1000, newHash), cityhub.ENOTFOUND)
}

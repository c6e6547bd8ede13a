package cityhub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func ptr[T any](v T) *T { return &v }

// wantFields fails unless err is EINVALID with reasons for exactly fields
// (or is nil when fields is empty).
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	var e *cityhub.Error
	if !errors.As(err, &e) || e.Code != cityhub.EINVALID {
		t.Fatalf("got %v, want an %s error", err, cityhub.EINVALID)
	}
	var got []string
	for f := range e.Fields {
		got = append(got, f)
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Fatalf("fields: got %v (%v), want %v", got, e.Fields, fields)
	}
}

func TestUserValidate(t *testing.T) {
	valid := func() *cityhub.User {
		return &cityhub.User{Username: "li.wei", DisplayName: "李伟", Email: "li.wei@example.gov.cn",
			DepartmentID: ptr(int64(3)), Roles: []string{cityhub.RoleSteward}}
	}
	tests := []struct {
		name   string
		change func(u *cityhub.User)
		fields []string
	}{
		{"valid", func(*cityhub.User) {}, nil},
		{"username normalized", func(u *cityhub.User) { u.Username = "  Li.Wei " }, nil},
		{"username of two", func(u *cityhub.User) { u.Username = "lw" }, nil},
		{"username with digits, dash, underscore", func(u *cityhub.User) { u.Username = "0li_wei-2" }, nil},
		{"username of 64", func(u *cityhub.User) { u.Username = strings.Repeat("a", 64) }, nil},
		{"username of one", func(u *cityhub.User) { u.Username = "l" }, []string{"username"}},
		{"username of 65", func(u *cityhub.User) { u.Username = strings.Repeat("a", 65) }, []string{"username"}},
		{"username starting with dot", func(u *cityhub.User) { u.Username = ".liwei" }, []string{"username"}},
		{"username with space", func(u *cityhub.User) { u.Username = "li wei" }, []string{"username"}},
		{"username with at", func(u *cityhub.User) { u.Username = "li@wei" }, []string{"username"}},
		{"username in chinese", func(u *cityhub.User) { u.Username = "李伟" }, []string{"username"}},
		{"display name of 100", func(u *cityhub.User) { u.DisplayName = strings.Repeat("李", 100) }, nil},
		{"display name of 101", func(u *cityhub.User) { u.DisplayName = strings.Repeat("李", 101) }, []string{"display_name"}},
		{"no email", func(u *cityhub.User) { u.Email = "" }, nil},
		{"email without at", func(u *cityhub.User) { u.Email = "li.wei.example.gov.cn" }, []string{"email"}},
		{"email too long", func(u *cityhub.User) { u.Email = strings.Repeat("a", 250) + "@x.cn" }, []string{"email"}},
		{"no roles", func(u *cityhub.User) { u.Roles = nil }, []string{"roles"}},
		{"unknown role", func(u *cityhub.User) { u.Roles = []string{cityhub.RoleSteward, "root"} }, []string{"roles"}},
		{"department role without department", func(u *cityhub.User) { u.DepartmentID = nil }, []string{"department_id"}},
		{"platform admin without department", func(u *cityhub.User) {
			u.DepartmentID, u.Roles = nil, []string{cityhub.RolePlatformAdmin}
		}, nil},
		{"auditor without department", func(u *cityhub.User) { u.DepartmentID, u.Roles = nil, []string{cityhub.RoleAuditor} }, nil},
		{"several problems", func(u *cityhub.User) { u.Username, u.Email, u.Roles = "", "x", nil }, []string{"username", "email", "roles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := valid()
			tt.change(u)
			wantFields(t, u.Validate(), tt.fields...)
		})
	}

	u := valid()
	u.Username, u.DisplayName, u.Email = " LI.Wei ", " 李伟 ", " li@x.cn "
	u.Roles = []string{cityhub.RoleSteward, cityhub.RoleConsumer, cityhub.RoleSteward}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	if u.Username != "li.wei" || u.DisplayName != "李伟" || u.Email != "li@x.cn" {
		t.Errorf("normalized: got %q %q %q, want %q %q %q", u.Username, u.DisplayName, u.Email, "li.wei", "李伟", "li@x.cn")
	}
	if want := []string{cityhub.RoleConsumer, cityhub.RoleSteward}; !slices.Equal(u.Roles, want) {
		t.Errorf("roles: got %v, want %v (sorted, without repeats)", u.Roles, want)
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"abc123", false},                        // short
		{"abcdefghi1", true},                     // letters and digits, 10
		{"abcdefgh1", false},                     // 9
		{"abcdefghij", false},                    // letters only
		{"ABCDEFGHIJKL", false},                  // letters only
		{"1234567890", false},                    // digits only
		{"!@#$%^&*()", false},                    // symbols only
		{"1234567890!", true},                    // digits and symbols
		{"correct horse", true},                  // letters and a space
		{"密码密码密码密码密码", false},                    // ten characters, all "other"
		{"密码密码密码密码密码1", true},                    // other and digits
		{"密码1", false},                           // long in bytes, short in characters
		{strings.Repeat("a1", 128), true},        // 256 bytes
		{strings.Repeat("a1", 128) + "b", false}, // 257 bytes
	}
	for _, tt := range tests {
		err := cityhub.ValidatePassword(tt.pw)
		if tt.ok {
			if err != nil {
				t.Errorf("ValidatePassword(%q): got %v, want ok", tt.pw, err)
			}
			continue
		}
		var e *cityhub.Error
		if !errors.As(err, &e) || e.Code != cityhub.EINVALID || e.Fields["password"] == "" {
			t.Errorf("ValidatePassword(%q): got %v, want an %s error on password", tt.pw, err, cityhub.EINVALID)
		}
		if err != nil && strings.Contains(err.Error(), tt.pw) && tt.pw != "" {
			t.Errorf("ValidatePassword(%q): the error %q repeats the password", tt.pw, err)
		}
	}
}

// Users of the permission tests. Department 10 and 20.
var (
	platformAdmin = &cityhub.User{ID: 1, Username: "root", Roles: []string{cityhub.RolePlatformAdmin}}
	auditor       = &cityhub.User{ID: 2, Username: "audit", Roles: []string{cityhub.RoleAuditor}}
	adminOf10     = &cityhub.User{ID: 3, Username: "admin10", DepartmentID: ptr(int64(10)), Roles: []string{cityhub.RoleDeptAdmin}}
	adminOf20     = &cityhub.User{ID: 4, Username: "admin20", DepartmentID: ptr(int64(20)), Roles: []string{cityhub.RoleDeptAdmin}}
	stewardOf10   = &cityhub.User{ID: 5, Username: "steward10", DepartmentID: ptr(int64(10)), Roles: []string{cityhub.RoleSteward}}
	consumerOf10  = &cityhub.User{ID: 6, Username: "consumer10", DepartmentID: ptr(int64(10)), Roles: []string{cityhub.RoleConsumer}}
	operatorOf20  = &cityhub.User{ID: 7, Username: "operator20", DepartmentID: ptr(int64(20)), Roles: []string{cityhub.RoleOperator}}
)

func TestRolePermissions(t *testing.T) {
	tests := []struct {
		user                *cityhub.User
		manageDepts, audits bool
	}{
		{platformAdmin, true, true},
		{auditor, false, true},
		{adminOf10, false, false},
		{stewardOf10, false, false},
		{consumerOf10, false, false},
		{operatorOf20, false, false},
		{nil, false, false},
		{&cityhub.User{ID: 9, Roles: []string{cityhub.RoleAuditor, cityhub.RoleSteward}, DepartmentID: ptr(int64(10))}, false, true},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.user != nil {
			name = tt.user.Username + " " + strings.Join(tt.user.Roles, ",")
		}
		if got := tt.user.CanManageDepartments(); got != tt.manageDepts {
			t.Errorf("%s: CanManageDepartments got %v, want %v", name, got, tt.manageDepts)
		}
		if got := tt.user.CanReadAudit(); got != tt.audits {
			t.Errorf("%s: CanReadAudit got %v, want %v", name, got, tt.audits)
		}
	}
}

func TestCanViewUser(t *testing.T) {
	tests := []struct {
		name   string
		u      *cityhub.User
		target *cityhub.User
		want   bool
	}{
		{"platform admin sees anyone", platformAdmin, operatorOf20, true},
		{"auditor sees anyone", auditor, stewardOf10, true},
		{"auditor sees platform admin", auditor, platformAdmin, true},
		{"dept admin sees own department", adminOf10, consumerOf10, true},
		{"dept admin sees fellow admin", adminOf10, adminOf10, true},
		{"dept admin not other department", adminOf10, operatorOf20, false},
		{"dept admin not platform admin", adminOf10, platformAdmin, false},
		{"dept admin not auditor", adminOf20, auditor, false},
		{"steward sees self", stewardOf10, stewardOf10, true},
		{"steward not colleague", stewardOf10, consumerOf10, false},
		{"consumer not admin", consumerOf10, adminOf10, false},
		{"nil user", nil, stewardOf10, false},
		{"nil target", platformAdmin, nil, false},
	}
	for _, tt := range tests {
		if got := tt.u.CanViewUser(tt.target); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCanManageUser(t *testing.T) {
	in := func(dept int64, roles ...string) *cityhub.User {
		return &cityhub.User{ID: 100, Username: "target", DepartmentID: ptr(dept), Roles: roles}
	}
	tests := []struct {
		name   string
		u      *cityhub.User
		target *cityhub.User
		want   bool
	}{
		{"platform admin: anyone", platformAdmin, operatorOf20, true},
		{"platform admin: grant platform admin", platformAdmin, in(10, cityhub.RolePlatformAdmin), true},
		{"platform admin: grant auditor", platformAdmin, &cityhub.User{ID: 100, Roles: []string{cityhub.RoleAuditor}}, true},
		{"dept admin: steward in own department", adminOf10, in(10, cityhub.RoleSteward), true},
		{"dept admin: every grantable role", adminOf10,
			in(10, cityhub.RoleDeptAdmin, cityhub.RoleSteward, cityhub.RoleConsumer, cityhub.RoleOperator), true},
		{"dept admin: existing consumer", adminOf10, consumerOf10, true},
		{"dept admin: other department", adminOf10, in(20, cityhub.RoleSteward), false},
		{"dept admin: other department's user", adminOf20, stewardOf10, false},
		{"dept admin: cannot grant platform admin", adminOf10, in(10, cityhub.RolePlatformAdmin), false},
		{"dept admin: cannot grant auditor", adminOf10, in(10, cityhub.RoleAuditor), false},
		{"dept admin: cannot grant auditor beside others", adminOf10, in(10, cityhub.RoleSteward, cityhub.RoleAuditor), false},
		{"dept admin: user without department", adminOf10, &cityhub.User{ID: 100, Roles: []string{cityhub.RoleConsumer}}, false},
		{"dept admin: platform admin", adminOf10, platformAdmin, false},
		{"auditor: nobody", auditor, in(10, cityhub.RoleConsumer), false},
		{"steward: nobody", stewardOf10, in(10, cityhub.RoleConsumer), false},
		{"consumer: nobody", consumerOf10, consumerOf10, false},
		{"dept admin without department", &cityhub.User{ID: 8, Roles: []string{cityhub.RoleDeptAdmin}}, in(10, cityhub.RoleConsumer), false},
		{"nil user", nil, in(10, cityhub.RoleConsumer), false},
		{"nil target", platformAdmin, nil, false},
	}
	for _, tt := range tests {
		if got := tt.u.CanManageUser(tt.target); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTokenAllows(t *testing.T) {
	methods := []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}
	tests := []struct {
		scopes []string
		allow  []string
	}{
		{[]string{cityhub.ScopeRead}, []string{"GET", "HEAD", "OPTIONS"}},
		{[]string{cityhub.ScopeWrite}, methods},
		{[]string{cityhub.ScopeRead, cityhub.ScopeWrite}, methods},
		{nil, nil},
		{[]string{"admin"}, nil},
	}
	for _, tt := range tests {
		tok := &cityhub.Token{Scopes: tt.scopes}
		for _, m := range methods {
			if got, want := tok.Allows(m), slices.Contains(tt.allow, m); got != want {
				t.Errorf("scopes %v, %s: got %v, want %v", tt.scopes, m, got, want)
			}
		}
	}
}

func TestTokenValidate(t *testing.T) {
	now := time.Date(2025, 5, 6, 12, 0, 0, 0, time.UTC)
	valid := func() *cityhub.Token {
		return &cityhub.Token{Kind: cityhub.TokenPersonal, Name: "nightly export",
			Scopes: []string{cityhub.ScopeRead}, ExpiresAt: now.Add(90 * 24 * time.Hour)}
	}
	tests := []struct {
		name   string
		change func(tok *cityhub.Token)
		fields []string
	}{
		{"valid personal", func(*cityhub.Token) {}, nil},
		{"personal without name", func(tok *cityhub.Token) { tok.Name = "   " }, []string{"name"}},
		{"personal name of 100", func(tok *cityhub.Token) { tok.Name = strings.Repeat("导", 100) }, nil},
		{"personal name of 101", func(tok *cityhub.Token) { tok.Name = strings.Repeat("导", 101) }, []string{"name"}},
		{"session without name", func(tok *cityhub.Token) { tok.Kind, tok.Name = cityhub.TokenSession, "" }, nil},
		{"no scopes", func(tok *cityhub.Token) { tok.Scopes = nil }, []string{"scopes"}},
		{"unknown scope", func(tok *cityhub.Token) { tok.Scopes = []string{cityhub.ScopeRead, "admin"} }, []string{"scopes"}},
		{"no expiry", func(tok *cityhub.Token) { tok.ExpiresAt = time.Time{} }, []string{"expires_at"}},
		{"expired", func(tok *cityhub.Token) { tok.ExpiresAt = now.Add(-time.Second) }, []string{"expires_at"}},
		{"expires now", func(tok *cityhub.Token) { tok.ExpiresAt = now }, []string{"expires_at"}},
		{"personal at the limit", func(tok *cityhub.Token) { tok.ExpiresAt = now.Add(cityhub.MaxPersonalTokenLifetime) }, nil},
		{"personal past the limit", func(tok *cityhub.Token) {
			tok.ExpiresAt = now.Add(cityhub.MaxPersonalTokenLifetime + time.Second)
		}, []string{"expires_at"}},
		{"session past the personal limit", func(tok *cityhub.Token) {
			tok.Kind, tok.ExpiresAt = cityhub.TokenSession, now.Add(2*cityhub.MaxPersonalTokenLifetime)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := valid()
			tt.change(tok)
			wantFields(t, tok.Validate(now), tt.fields...)
		})
	}
	tok := valid()
	tok.Name = "  nightly export "
	if err := tok.Validate(now); err != nil || tok.Name != "nightly export" {
		t.Fatalf("name: got %q, %v; want it trimmed", tok.Name, err)
	}
}

func TestTokenSecret(t *testing.T) {
	secret, hash := cityhub.NewSecret()
	if !strings.HasPrefix(secret, cityhub.TokenPrefix) || len(secret) != len(cityhub.TokenPrefix)+32 {
		t.Fatalf("secret: got %q, want %s and 32 characters", secret, cityhub.TokenPrefix)
	}
	if hash != cityhub.HashSecret(secret) || len(hash) != 64 {
		t.Fatalf("hash: got %q, want the 64-digit SHA-256 of the secret", hash)
	}
	if again, _ := cityhub.NewSecret(); again == secret {
		t.Fatal("two secrets: got the same, want different")
	}
	now := time.Now()
	tok := &cityhub.Token{ExpiresAt: now.Add(time.Minute)}
	if !tok.Active(now) || tok.Active(now.Add(time.Minute)) {
		t.Fatal("active: want active before expiry and inactive at it")
	}
	tok.RevokedAt = &now
	if tok.Active(now) {
		t.Fatal("active: got a revoked token active")
	}
}

func TestPublicUserRole(t *testing.T) {
	dep := int64(1)
	ok := &cityhub.User{Username: "citizen1", Roles: []string{cityhub.RolePublic}}
	if err := ok.Validate(); err != nil {
		t.Errorf("public user: %v", err)
	}
	for _, u := range []*cityhub.User{{Username: "x1", Roles: []string{cityhub.RolePublic, cityhub.RoleConsumer}, DepartmentID: &dep},
		{Username: "x2", Roles: []string{cityhub.RolePublic}, DepartmentID: &dep}} {
		if err := u.Validate(); err == nil {
			t.Errorf("%+v accepted", u)
		}
	}
}

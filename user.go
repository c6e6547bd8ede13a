package cityhub

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles. A user holds one or more.
const (
	RolePlatformAdmin = "platform_admin" // runs the platform: departments, all users
	RoleDeptAdmin     = "dept_admin"     // manages the users of one department
	RoleSteward       = "data_steward"   // keeps a department's catalog and data
	RoleConsumer      = "data_consumer"  // applies for and reads shared data
	RoleOperator      = "operator"       // watches the operations dashboard
	RoleAuditor       = "auditor"        // reads the audit log and security events
	// RolePublic is a citizen or developer registered on the open-data
	// portal: API keys, applications for 有条件开放 data, requests and
	// comments. It is held alone and belongs to no department.
	RolePublic = "public"
)

// Roles lists every role in display order.
var Roles = []string{RolePlatformAdmin, RoleDeptAdmin, RoleSteward, RoleConsumer, RoleOperator, RoleAuditor, RolePublic}

// User is a person (or system account) that signs in to the platform.
type User struct {
	ID           int64      `json:"id"`
	Username     string     `json:"username"`
	DisplayName  string     `json:"display_name"`
	Email        string     `json:"email,omitempty"`
	Phone        string     `json:"phone,omitempty"`
	DepartmentID *int64     `json:"department_id,omitempty"`
	Roles        []string   `json:"roles"`
	Disabled     bool       `json:"disabled"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// Validate checks the user's own fields.
func (u *User) Validate() error {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.Email = strings.TrimSpace(u.Email)
	u.Phone = strings.TrimSpace(u.Phone)
	f := FieldErrors{}
	if !usernamePattern.MatchString(u.Username) {
		f.Add("username", "2 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if utf8.RuneCountInString(u.DisplayName) > 100 {
		f.Add("display_name", "at most 100 characters")
	}
	if u.Email != "" && (!strings.Contains(u.Email, "@") || len(u.Email) > 254) {
		f.Add("email", "not an e-mail address")
	}
	if len(u.Roles) == 0 {
		f.Add("roles", "at least one role")
	}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			f.Add("roles", "unknown role "+r)
		}
	}
	slices.Sort(u.Roles)
	u.Roles = slices.Compact(u.Roles)
	switch {
	case u.HasRole(RolePublic):
		if len(u.Roles) > 1 {
			f.Add("roles", "a public user holds no other role")
		}
		if u.DepartmentID != nil {
			f.Add("department_id", "a public user belongs to no department")
		}
	case u.DepartmentID == nil && !u.HasRole(RolePlatformAdmin) && !u.HasRole(RoleAuditor):
		f.Add("department_id", "required for department roles")
	}
	return f.Err("invalid user")
}

// ValidatePassword enforces the password policy: at least 10 characters of at
// least two kinds (letters, digits, other).
func ValidatePassword(pw string) error {
	f := FieldErrors{}
	kinds := 0
	if strings.ContainsFunc(pw, func(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }) {
		kinds++
	}
	if strings.ContainsFunc(pw, func(r rune) bool { return '0' <= r && r <= '9' }) {
		kinds++
	}
	if strings.ContainsFunc(pw, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		kinds++
	}
	switch {
	case utf8.RuneCountInString(pw) < 10:
		f.Add("password", "at least 10 characters")
	case len(pw) > 256:
		f.Add("password", "at most 256 bytes")
	case kinds < 2:
		f.Add("password", "mix at least two of letters, digits and symbols")
	}
	return f.Err("password too weak")
}

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool { return u != nil && slices.Contains(u.Roles, role) }

func (u *User) inDepartment(id *int64) bool {
	return u.DepartmentID != nil && id != nil && *u.DepartmentID == *id
}

// CanManageDepartments: only platform administrators create, change or
// remove departments.
func (u *User) CanManageDepartments() bool { return u.HasRole(RolePlatformAdmin) }

// CanViewUser: administrators see the users they manage; everyone sees themself.
func (u *User) CanViewUser(target *User) bool {
	switch {
	case u == nil || target == nil:
		return false
	case u.ID == target.ID, u.HasRole(RolePlatformAdmin), u.HasRole(RoleAuditor):
		return true
	default:
		return u.HasRole(RoleDeptAdmin) && u.inDepartment(target.DepartmentID)
	}
}

// deptAdminGrantable are the roles a department administrator may hand out
// inside their own department.
var deptAdminGrantable = []string{RoleDeptAdmin, RoleSteward, RoleConsumer, RoleOperator}

// CanManageUser reports whether u may create or change target so that it
// ends up as described (department, roles). Changes to oneself are the
// caller's to refuse: nobody changes their own roles.
func (u *User) CanManageUser(target *User) bool {
	switch {
	case u == nil || target == nil:
		return false
	case u.HasRole(RolePlatformAdmin):
		return true
	case !u.HasRole(RoleDeptAdmin) || !u.inDepartment(target.DepartmentID):
		return false
	}
	for _, r := range target.Roles {
		if !slices.Contains(deptAdminGrantable, r) {
			return false
		}
	}
	return true
}

// CanReadAudit: auditors (and platform administrators) read the audit log.
func (u *User) CanReadAudit() bool {
	return u.HasRole(RoleAuditor) || u.HasRole(RolePlatformAdmin)
}

// UserFilter selects users in a listing.
type UserFilter struct {
	DepartmentID *int64
	Role         string
	Query        string // substring of username or display name
	Limit        int
	Offset       int
}

// UserService stores users and their password hashes.
type UserService interface {
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	UpdateUser(ctx context.Context, u *User) error
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
	DeleteUser(ctx context.Context, id int64) error
	User(ctx context.Context, id int64) (*User, error)
	// UserByUsername also returns the password hash, for login.
	UserByUsername(ctx context.Context, username string) (*User, string, error)
	Users(ctx context.Context, f UserFilter) ([]*User, int, error)
	RecordLogin(ctx context.Context, userID int64, at time.Time) error
}

package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// userScope is which users a caller may list, mirroring the API's rule:
// platform administrators and auditors see everyone, department
// administrators their department, everyone else only themself.
type userScope int

const (
	scopeSelf userScope = iota
	scopeDepartment
	scopeAll
)

func scopeOf(u *cityhub.User) userScope {
	switch {
	case u.HasRole(cityhub.RolePlatformAdmin), u.HasRole(cityhub.RoleAuditor):
		return scopeAll
	case u.HasRole(cityhub.RoleDeptAdmin) && u.DepartmentID != nil:
		return scopeDepartment
	}
	return scopeSelf
}

// canCreateUsers: platform administrators, and department administrators
// within their department.
func canCreateUsers(u *cityhub.User) bool {
	return u.HasRole(cityhub.RolePlatformAdmin) || u.HasRole(cityhub.RoleDeptAdmin) && u.DepartmentID != nil
}

// grantableRoles are the roles u may give a new user in u's department.
func grantableRoles(u *cityhub.User) []string {
	var out []string
	for _, role := range cityhub.Roles {
		if u.CanManageUser(&cityhub.User{DepartmentID: u.DepartmentID, Roles: []string{role}}) {
			out = append(out, role)
		}
	}
	return out
}

type userForm struct {
	Username, DisplayName, Email, Phone, DepartmentID string
	Roles                                             []string
}

// Has reports whether role is ticked.
func (f userForm) Has(role string) bool { return slices.Contains(f.Roles, role) }

type userRow struct {
	*cityhub.User
	DepartmentName string
	Self           bool
	CanManage      bool
}

type usersData struct {
	Q                 string
	Scope             string
	OnlySelf          bool
	Rows              []userRow
	Total             int
	Pager             pager
	CanCreate         bool
	Form              userForm
	Departments       []*cityhub.Department
	AllowNoDepartment bool
	GrantableRoles    []string
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.listUsers(w, r, p, http.StatusOK, userForm{})
}

func (c *Console) listUsers(w http.ResponseWriter, r *http.Request, p *page, status int, form userForm) error {
	u := p.User
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	n := pageNumber(r)
	d := usersData{Q: q, CanCreate: canCreateUsers(u)}
	var list []*cityhub.User
	switch scopeOf(u) {
	case scopeAll:
		d.Scope = p.T("users.scope_all")
		us, total, err := c.Store.Users(r.Context(), cityhub.UserFilter{Query: q, Limit: pageSize, Offset: (n - 1) * pageSize})
		if err != nil {
			return err
		}
		list, d.Total = us, total
	case scopeDepartment:
		d.Scope = p.T("users.scope_department")
		us, total, err := c.Store.Users(r.Context(), cityhub.UserFilter{DepartmentID: u.DepartmentID, Query: q,
			Limit: pageSize, Offset: (n - 1) * pageSize})
		if err != nil {
			return err
		}
		list, d.Total = us, total
	default:
		d.Scope, d.OnlySelf, d.Q = p.T("users.scope_self"), true, ""
		me, err := c.Store.User(r.Context(), u.ID)
		if err != nil {
			return err
		}
		list, d.Total = []*cityhub.User{me}, 1
	}
	d.Pager = newPager(p, r, n, d.Total)
	names := c.departmentNames()
	for _, o := range list {
		if !u.CanViewUser(o) { // the filter already does this; never show more
			continue
		}
		name, err := names.name(r, o.DepartmentID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, userRow{User: o, DepartmentName: name, Self: o.ID == u.ID, CanManage: mayManage(u, o)})
	}
	if d.CanCreate {
		d.Form, d.GrantableRoles = form, grantableRoles(u)
		if u.HasRole(cityhub.RolePlatformAdmin) {
			all, err := c.allDepartments(r)
			if err != nil {
				return err
			}
			d.Departments, d.AllowNoDepartment = all, true
		} else {
			own, err := c.Store.Department(r.Context(), *u.DepartmentID)
			if err != nil {
				return err
			}
			d.Departments = []*cityhub.Department{own}
		}
	}
	p.Title, p.Nav, p.Data = p.T("users.title"), "users", d
	return c.render(w, r, p, status, "users")
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, p *page) error {
	caller := p.User
	if !canCreateUsers(caller) {
		return forbidden("create users")
	}
	if err := r.ParseForm(); err != nil {
		return cityhub.Errorf(cityhub.EINVALID, "unreadable form")
	}
	form := userForm{
		Username:     r.PostFormValue("username"),
		DisplayName:  r.PostFormValue("display_name"),
		Email:        r.PostFormValue("email"),
		Phone:        r.PostFormValue("phone"),
		DepartmentID: r.PostFormValue("department_id"),
		Roles:        r.PostForm["roles"],
	}
	password := r.PostFormValue("password")
	u := &cityhub.User{Username: form.Username, DisplayName: form.DisplayName, Email: form.Email, Phone: form.Phone,
		Roles: slices.Clone(form.Roles)}
	// Collect every problem with the input before asking about authority,
	// so the form shows them all at once.
	fe := cityhub.FieldErrors{}
	if s := strings.TrimSpace(form.DepartmentID); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			fe.Add("department_id", "no such department")
		} else {
			u.DepartmentID = &id
		}
	}
	mergeFields(fe, u.Validate())
	mergeFields(fe, cityhub.ValidatePassword(password))
	if _, bad := fe["department_id"]; !bad && u.DepartmentID != nil {
		if _, err := c.Store.Department(r.Context(), *u.DepartmentID); cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
			fe.Add("department_id", "no such department")
		} else if err != nil {
			return err
		}
	}
	err := fe.Err("invalid user")
	if err == nil {
		if !caller.CanManageUser(u) {
			return forbidden("create this user (department or roles outside your authority)")
		}
		err = c.Store.CreateUser(r.Context(), u, c.Auth.Hash(password))
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.listUsers(w, r, p, status, form)
		}
		return err
	}
	return redirect(w, r, "/users/"+strconv.FormatInt(u.ID, 10), "user_created")
}

type userData struct {
	Target         *cityhub.User
	DepartmentName string
	CanManage      bool
}

// userFromPath loads the {id} user if the caller may see them; others look
// absent, as in the API.
func (c *Console) userFromPath(r *http.Request, caller *cityhub.User) (*cityhub.User, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	u, err := c.Store.User(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !caller.CanViewUser(u) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "user %d not found", id)
	}
	return u, nil
}

// mayManage: nobody manages themself here (their own roles, status or
// password by reset).
func mayManage(caller, target *cityhub.User) bool {
	return caller.ID != target.ID && caller.CanManageUser(target)
}

func (c *Console) user(w http.ResponseWriter, r *http.Request, p *page) error {
	target, err := c.userFromPath(r, p.User)
	if err != nil {
		return err
	}
	return c.renderUser(w, r, p, http.StatusOK, target)
}

func (c *Console) renderUser(w http.ResponseWriter, r *http.Request, p *page, status int, target *cityhub.User) error {
	name, err := c.departmentNames().name(r, target.DepartmentID)
	if err != nil {
		return err
	}
	p.Title, p.Nav = target.Username, "users"
	p.Data = userData{Target: target, DepartmentName: name, CanManage: mayManage(p.User, target)}
	return c.render(w, r, p, status, "user")
}

func (c *Console) disableUser(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.setDisabled(w, r, p, true)
}

func (c *Console) enableUser(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.setDisabled(w, r, p, false)
}

func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request, p *page, disabled bool) error {
	target, err := c.userFromPath(r, p.User)
	if err != nil {
		return err
	}
	if !mayManage(p.User, target) {
		return forbidden("change this user")
	}
	done := "user_enabled"
	if disabled {
		done = "user_disabled"
	}
	if target.Disabled != disabled {
		target.Disabled = disabled
		if err := c.Store.UpdateUser(r.Context(), target); err != nil {
			return err
		}
	}
	return redirect(w, r, "/users/"+strconv.FormatInt(target.ID, 10), done)
}

func (c *Console) resetPassword(w http.ResponseWriter, r *http.Request, p *page) error {
	target, err := c.userFromPath(r, p.User)
	if err != nil {
		return err
	}
	if !mayManage(p.User, target) {
		return forbidden("set this user's password")
	}
	password := r.PostFormValue("password")
	if err := cityhub.ValidatePassword(password); err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderUser(w, r, p, status, target)
		}
		return err
	}
	if err := c.Store.SetPasswordHash(r.Context(), target.ID, c.Auth.Hash(password)); err != nil {
		return err
	}
	return redirect(w, r, "/users/"+strconv.FormatInt(target.ID, 10), "password_reset")
}

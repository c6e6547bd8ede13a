package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string        `json:"token"`
	ExpiresAt time.Time     `json:"expires_at"`
	User      *cityhub.User `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	f := cityhub.FieldErrors{}
	if req.Username == "" {
		f.Add("username", "required")
	}
	if req.Password == "" {
		f.Add("password", "required")
	}
	if err := f.Err("username and password are required"); err != nil {
		return err
	}
	u, t, secret, err := s.Auth.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: secret, ExpiresAt: t.ExpiresAt, User: u})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	_, t := cityhub.UserFrom(r.Context())
	if err := s.Auth.Logout(r.Context(), t); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, _ := cityhub.UserFrom(r.Context())
	writeJSON(w, http.StatusOK, u)
	return nil
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changeOwnPassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordChange
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	u, _ := cityhub.UserFrom(r.Context())
	_, hash, err := s.Store.UserByUsername(r.Context(), u.Username)
	if err != nil {
		return err
	}
	if !auth.CheckPassword(hash, req.CurrentPassword) {
		return invalid("current_password", "does not match")
	}
	if err := cityhub.ValidatePassword(req.NewPassword); err != nil {
		return err
	}
	if err := s.Store.SetPasswordHash(r.Context(), u.ID, s.Auth.Hash(req.NewPassword)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDivisions(w http.ResponseWriter, r *http.Request) error {
	ds := cityhub.Divisions(r.URL.Query().Get("prefix"), r.URL.Query().Get("historic") == "true")
	writeJSON(w, http.StatusOK, listOf[cityhub.Division]{Items: ds, Total: len(ds)})
	return nil
}

// departmentInput is what callers may set on a department.
type departmentInput struct {
	Name       *string `json:"name"`
	ShortName  *string `json:"short_name"`
	CreditCode *string `json:"credit_code"`
	Division   *string `json:"division_code"`
	Level      *string `json:"level"`
	ParentID   *int64  `json:"parent_id"`
}

func (in departmentInput) apply(d *cityhub.Department) {
	set(&d.Name, in.Name)
	set(&d.ShortName, in.ShortName)
	set(&d.CreditCode, in.CreditCode)
	set(&d.Division, in.Division)
	set(&d.Level, in.Level)
	if in.ParentID != nil {
		d.ParentID = in.ParentID
		if *in.ParentID == 0 {
			d.ParentID = nil // 0 detaches
		}
	}
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func forbidden(what string) error {
	return cityhub.Errorf(cityhub.EFORBIDDEN, "you may not %s", what)
}

func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := paging(r)
	if err != nil {
		return err
	}
	parent, err := queryID(r, "parent_id")
	if err != nil {
		return err
	}
	qv := r.URL.Query()
	ds, total, err := s.Store.Departments(r.Context(), cityhub.DepartmentFilter{Level: qv.Get("level"),
		Division: qv.Get("division_code"), ParentID: parent, Query: qv.Get("q"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.Department]{Items: nonNil(ds), Total: total, Limit: limit, Offset: offset})
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanManageDepartments() {
		return forbidden("manage departments")
	}
	var in departmentInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	var d cityhub.Department
	in.apply(&d)
	if err := s.Store.CreateDepartment(r.Context(), &d); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (s *Server) getDepartment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Store.Department(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) updateDepartment(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanManageDepartments() {
		return forbidden("manage departments")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in departmentInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.Store.Department(r.Context(), id)
	if err != nil {
		return err
	}
	in.apply(d)
	if err := s.Store.UpdateDepartment(r.Context(), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanManageDepartments() {
		return forbidden("manage departments")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteDepartment(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userInput is what callers may set on a user. Password only on create.
type userInput struct {
	Username     *string   `json:"username"`
	DisplayName  *string   `json:"display_name"`
	Email        *string   `json:"email"`
	Phone        *string   `json:"phone"`
	DepartmentID *int64    `json:"department_id"`
	Roles        *[]string `json:"roles"`
	Disabled     *bool     `json:"disabled"`
	Password     *string   `json:"password"`
}

func (in userInput) apply(u *cityhub.User) {
	set(&u.Username, in.Username)
	set(&u.DisplayName, in.DisplayName)
	set(&u.Email, in.Email)
	set(&u.Phone, in.Phone)
	set(&u.Roles, in.Roles)
	set(&u.Disabled, in.Disabled)
	if in.DepartmentID != nil {
		u.DepartmentID = in.DepartmentID
		if *in.DepartmentID == 0 {
			u.DepartmentID = nil
		}
	}
}

// visibleUsers narrows a listing to what the caller may see.
func visibleUsers(caller *cityhub.User, f *cityhub.UserFilter) error {
	switch {
	case caller.HasRole(cityhub.RolePlatformAdmin), caller.HasRole(cityhub.RoleAuditor):
		return nil
	case caller.HasRole(cityhub.RoleDeptAdmin) && caller.DepartmentID != nil:
		if f.DepartmentID != nil && *f.DepartmentID != *caller.DepartmentID {
			return forbidden("list users of another department")
		}
		f.DepartmentID = caller.DepartmentID
		return nil
	}
	return forbidden("list users")
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	caller, _ := cityhub.UserFrom(r.Context())
	limit, offset, err := paging(r)
	if err != nil {
		return err
	}
	dept, err := queryID(r, "department_id")
	if err != nil {
		return err
	}
	f := cityhub.UserFilter{DepartmentID: dept, Role: r.URL.Query().Get("role"), Query: r.URL.Query().Get("q"), Limit: limit, Offset: offset}
	if err := visibleUsers(caller, &f); err != nil {
		return err
	}
	us, total, err := s.Store.Users(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.User]{Items: nonNil(us), Total: total, Limit: limit, Offset: offset})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	caller, _ := cityhub.UserFrom(r.Context())
	var in userInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	var u cityhub.User
	in.apply(&u)
	if !caller.CanManageUser(&u) {
		return forbidden("create this user (department or roles outside your authority)")
	}
	if in.Password == nil {
		return invalid("password", "required")
	}
	if err := cityhub.ValidatePassword(*in.Password); err != nil {
		return err
	}
	if err := s.checkDepartment(r.Context(), u.DepartmentID); err != nil {
		return err
	}
	if err := s.Store.CreateUser(r.Context(), &u, s.Auth.Hash(*in.Password)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) checkDepartment(ctx context.Context, id *int64) error {
	if id == nil {
		return nil
	}
	if _, err := s.Store.Department(ctx, *id); cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return invalid("department_id", "no such department")
	} else if err != nil {
		return err
	}
	return nil
}

// userFor loads the {id} user if the caller may see it; others look absent.
func (s *Server) userFor(r *http.Request) (*cityhub.User, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.User(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if caller, _ := cityhub.UserFrom(r.Context()); !caller.CanViewUser(u) {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "user %d not found", id)
	}
	return u, nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userFor(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	caller, _ := cityhub.UserFrom(r.Context())
	u, err := s.userFor(r)
	if err != nil {
		return err
	}
	var in userInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Password != nil {
		return invalid("password", "set passwords with PUT /api/v1/users/{id}/password")
	}
	self := caller.ID == u.ID
	if self && (in.Roles != nil || in.DepartmentID != nil || in.Disabled != nil) {
		return forbidden("change your own roles, department or disabled flag")
	}
	if !self && !caller.CanManageUser(u) {
		return forbidden("change this user")
	}
	in.apply(u)
	if !self && !caller.CanManageUser(u) {
		return forbidden("move this user outside your authority")
	}
	if err := s.checkDepartment(r.Context(), u.DepartmentID); err != nil {
		return err
	}
	if err := s.Store.UpdateUser(r.Context(), u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

type passwordReset struct {
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	caller, _ := cityhub.UserFrom(r.Context())
	u, err := s.userFor(r)
	if err != nil {
		return err
	}
	if caller.ID == u.ID || !caller.CanManageUser(u) {
		return forbidden("set this user's password (use PUT /api/v1/me/password for your own)")
	}
	var in passwordReset
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if err := cityhub.ValidatePassword(in.Password); err != nil {
		return err
	}
	if err := s.Store.SetPasswordHash(r.Context(), u.ID, s.Auth.Hash(in.Password)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	caller, _ := cityhub.UserFrom(r.Context())
	u, err := s.userFor(r)
	if err != nil {
		return err
	}
	if caller.ID == u.ID || !caller.CanManageUser(u) {
		return forbidden("remove this user")
	}
	if err := s.Store.DeleteUser(r.Context(), u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	u, _ := cityhub.UserFrom(r.Context())
	ts, err := s.Store.Tokens(r.Context(), u.ID, cityhub.TokenPersonal)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*cityhub.Token]{Items: nonNil(ts), Total: len(ts)})
	return nil
}

type tokenInput struct {
	Name          string     `json:"name"`
	Scopes        []string   `json:"scopes"`
	ExpiresAt     *time.Time `json:"expires_at"`
	ExpiresInDays *int       `json:"expires_in_days"`
}

type tokenCreated struct {
	Token  *cityhub.Token `json:"token"`
	Secret string         `json:"secret"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	u, current := cityhub.UserFrom(r.Context())
	if current.Kind == cityhub.TokenPersonal {
		return forbidden("create tokens with a token; sign in with your password")
	}
	var in tokenInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	now := time.Now()
	t := &cityhub.Token{UserID: u.ID, Kind: cityhub.TokenPersonal, Name: in.Name, Scopes: in.Scopes}
	switch {
	case in.ExpiresAt != nil:
		t.ExpiresAt = *in.ExpiresAt
	case in.ExpiresInDays != nil:
		t.ExpiresAt = now.AddDate(0, 0, *in.ExpiresInDays)
	default:
		t.ExpiresAt = now.AddDate(0, 0, 90)
	}
	if err := t.Validate(now); err != nil {
		return err
	}
	secret, hash := cityhub.NewSecret()
	t.Hint = secret[:8]
	if err := s.Store.CreateToken(r.Context(), t, hash); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	u, _ := cityhub.UserFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := s.Store.Token(r.Context(), id)
	if err != nil {
		return err
	}
	if t.UserID != u.ID && !u.HasRole(cityhub.RolePlatformAdmin) {
		return cityhub.Errorf(cityhub.ENOTFOUND, "token %d not found", id)
	}
	if err := s.Store.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type auditPage struct {
	Records    []*cityhub.AuditRecord `json:"records"`
	NextBefore int64                  `json:"next_before,omitempty"` // pass as ?before= for the next page
}

// AuditFilterFromQuery parses the audit listing's query parameters; the web
// console uses it too.
func AuditFilterFromQuery(r *http.Request) (cityhub.AuditFilter, error) {
	qv := r.URL.Query()
	f := cityhub.AuditFilter{Actor: strings.TrimSpace(qv.Get("actor")), Action: strings.TrimSpace(qv.Get("action")),
		Object: strings.TrimSpace(qv.Get("object")), Outcome: qv.Get("outcome")}
	var err error
	if f.Since, err = queryTime(r, "since"); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		return f, err
	}
	before, err := queryInt(r, "before")
	if err != nil {
		return f, err
	}
	f.BeforeSeq = int64(before)
	if f.Limit, err = queryInt(r, "limit"); err != nil {
		return f, err
	}
	if f.Limit > 1000 {
		return f, invalid("limit", "at most 1000")
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	switch f.Outcome {
	case "", cityhub.OutcomeSuccess, cityhub.OutcomeFailure, cityhub.OutcomeDenied:
	default:
		return f, invalid("outcome", "success, failure or denied")
	}
	return f, nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanReadAudit() {
		return forbidden("read the audit log")
	}
	f, err := AuditFilterFromQuery(r)
	if err != nil {
		return err
	}
	recs, err := s.Store.AuditRecords(r.Context(), f)
	if err != nil {
		return err
	}
	page := auditPage{Records: nonNil(recs)}
	if len(recs) == f.Limit {
		page.NextBefore = recs[len(recs)-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) auditHead(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanReadAudit() {
		return forbidden("read the audit log")
	}
	h, err := s.Store.AuditHead(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) error {
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanReadAudit() {
		return forbidden("read the audit log")
	}
	rep, err := cityhub.VerifyChain(r.Context(), s.Store, s.AuditKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ready", "version": s.Version}
	status := http.StatusOK
	applied, latest, err := s.Store.SchemaVersion(ctx)
	if err == nil {
		err = s.Store.Ping(ctx)
	}
	if err == nil && s.Readiness != nil {
		err = s.Readiness()
	}
	body["schema_version"], body["schema_latest"] = applied, latest
	switch {
	case err != nil:
		status, body["status"], body["error"] = http.StatusServiceUnavailable, "unavailable", "store unreachable"
		s.Logger.WarnContext(ctx, "not ready", "err", err)
	case applied != latest:
		status, body["status"] = http.StatusServiceUnavailable, "migrations pending"
	}
	writeJSON(w, status, body)
}

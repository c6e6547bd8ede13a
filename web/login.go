package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
)

// loginCSRFCookie guards the login form against login CSRF (someone else's
// page signing the visitor in to the attacker's account): the form carries
// the value of this cookie, which only a page of ours can read.
const loginCSRFCookie = "cityhub_login"

type loginData struct {
	Username  string
	Next      string
	LoginCSRF string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request, p *page) error {
	next := safeNext(r.URL.Query().Get("next"))
	if p.User != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return c.renderLogin(w, r, p, http.StatusOK, loginData{Next: next})
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, p *page, status int, d loginData) error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	d.LoginCSRF = hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: d.LoginCSRF, Path: "/login", MaxAge: 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.SecureCookies})
	p.Title = p.T("login.title")
	p.Data = d
	return c.render(w, r, p, status, "login")
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, p *page) error {
	d := loginData{Username: strings.TrimSpace(r.PostFormValue("username")), Next: safeNext(r.PostFormValue("next"))}
	password := r.PostFormValue("password")

	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("login_csrf"))) != 1 {
		p.Error = p.T("login.expired")
		return c.renderLogin(w, r, p, http.StatusForbidden, d)
	}
	f := cityhub.FieldErrors{}
	if d.Username == "" {
		f.Add("username", "required")
	}
	if password == "" {
		f.Add("password", "required")
	}
	if len(f) > 0 {
		p.Error, p.Fields = p.T("login.missing"), f
		return c.renderLogin(w, r, p, http.StatusBadRequest, d)
	}

	u, t, secret, err := c.Auth.Login(r.Context(), d.Username, password)
	switch cityhub.ErrorCode(err) {
	case "":
	case cityhub.EUNAUTHORIZED:
		p.Error = p.T("login.failed")
		return c.renderLogin(w, r, p, http.StatusUnauthorized, d)
	case cityhub.ELOCKED:
		minutes := 15
		var e *cityhub.Error
		if errors.As(err, &e) {
			if secs, perr := strconv.Atoi(e.Fields["retry_after"]); perr == nil {
				minutes = max(1, (secs+59)/60)
			}
		}
		p.Error = p.Tf("login.locked", minutes)
		w.Header().Set("Retry-After", strconv.Itoa(minutes*60))
		return c.renderLogin(w, r, p, http.StatusTooManyRequests, d)
	default:
		return err
	}
	if u.HasRole(cityhub.RolePublic) {
		// The console is for staff; a portal account's session ends here.
		if err := c.Auth.Logout(r.Context(), t); err != nil {
			return err
		}
		p.Error = p.T("login.public")
		return c.renderLogin(w, r, p, http.StatusForbidden, d)
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: secret, Path: "/", Expires: t.ExpiresAt,
		MaxAge: max(1, int(t.ExpiresAt.Sub(c.now()).Seconds())), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.SecureCookies})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.SecureCookies})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p *page) error {
	if _, t := cityhub.UserFrom(r.Context()); t != nil && t.Kind == cityhub.TokenSession {
		if err := c.Auth.Logout(r.Context(), t); err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.SecureCookies})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type homeLink struct {
	Href, Title, Desc string
}

type homeData struct {
	Name       string
	Department *cityhub.Department
	Links      []homeLink
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	d := homeData{Name: u.DisplayName}
	if d.Name == "" {
		d.Name = u.Username
	}
	if u.DepartmentID != nil {
		dept, err := c.Store.Department(r.Context(), *u.DepartmentID)
		if err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			return err
		}
		d.Department = dept
	}
	d.Links = append(d.Links, homeLink{"/departments", p.T("nav.departments"), p.T("home.departments_desc")})
	if u.CanManageDepartments() {
		d.Links[0].Desc = p.T("home.departments_desc_admin")
	}
	usersDesc := p.T("home.users_desc_self")
	switch {
	case u.HasRole(cityhub.RolePlatformAdmin), u.HasRole(cityhub.RoleAuditor):
		usersDesc = p.T("home.users_desc_all")
	case u.HasRole(cityhub.RoleDeptAdmin):
		usersDesc = p.T("home.users_desc_dept")
	}
	d.Links = append(d.Links, homeLink{"/catalog", p.T("nav.catalog"), p.T("home.catalog_desc")},
		homeLink{"/catalog/tree", p.T("catalog.tree_title"), p.T("home.catalog_tree_desc")},
		homeLink{"/catalog/stats", p.T("catalog.stats_title"), p.T("home.catalog_stats_desc")})
	if canCreateEntries(u) {
		d.Links = append(d.Links, homeLink{"/catalog/new", p.T("catalog.new_title"), p.T("home.catalog_new_desc")})
	}
	if canImport(u) {
		d.Links = append(d.Links, homeLink{"/catalog/import", p.T("import.title"), p.T("home.catalog_import_desc")})
	}
	d.Links = append(d.Links, homeLink{"/devices", p.T("nav.devices"), p.T("home.devices_desc")},
		homeLink{"/open/", p.T("home.portal"), p.T("home.portal_desc")})
	d.Links = append(d.Links, homeLink{"/users", p.T("nav.users"), usersDesc},
		homeLink{"/tokens", p.T("nav.tokens"), p.T("home.tokens_desc")})
	if u.CanReadAudit() {
		d.Links = append(d.Links, homeLink{"/audit", p.T("nav.audit"), p.T("home.audit_desc")})
	}
	p.Title, p.Nav, p.Data = p.T("nav.home"), "home", d
	return c.render(w, r, p, http.StatusOK, "home")
}

// now is the time the auth service goes by (tests may set its clock).
func (c *Console) now() time.Time {
	if c.Auth != nil && c.Auth.Now != nil {
		return c.Auth.Now()
	}
	return time.Now()
}

package portal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/openaccess"
)

// Public accounts on the portal.
//
// Sessions are the platform's own (auth.Service.Login), kept in the cookie
// the console and the API read (auth.SessionCookie: HttpOnly, SameSite=Lax,
// Path=/, Secure with SecureCookies). One browser holds one session: a
// public account's session opens the portal, its /api/v1/me… endpoints and
// the open-data API, and no console page; a staff member's console session
// is recognised here but the portal's forms are for public accounts (the
// store refuses staff anyway), so staff see a note instead of them.
//
// Every form that changes something posts the session's CSRF secret in the
// "csrf" field, the field the API's middleware checks too. The sign-in and
// registration forms, before there is a session, carry a double-submit
// secret kept in formCookie (SameSite=Strict, Path=/open/).

// AccountStore is what the account pages need of the store.
type AccountStore interface {
	CreateUser(ctx context.Context, u *cityhub.User, passwordHash string) error
	cityhub.APIKeyService
	cityhub.EngagementService
	CatalogStats(ctx context.Context, q cityhub.StatsQuery) (*cityhub.CatalogStats, error)
}

// formCookie guards the sign-in and registration forms against login CSRF.
const formCookie = "cityhub_portal_form"

// maxFormBytes bounds the portal's form posts.
const maxFormBytes = 64 << 10

// defaultRegisterRate limits self-registrations per client address, as the
// API's registration does.
var defaultRegisterRate = openaccess.Rate{Limit: 20, Per: time.Hour}

func (p *Portal) setupAccounts() {
	p.acc = p.Accounts
	if p.acc == nil {
		if a, ok := p.Store.(AccountStore); ok {
			p.acc = a
		}
	}
	p.authn = p.Auth
	if p.authn == nil {
		if s, ok := p.Store.(cityhub.Store); ok {
			p.authn = auth.New(s)
		}
	}
	if p.acc == nil || p.authn == nil {
		p.acc, p.authn = nil, nil
	}
	p.regs = openaccess.NewBuckets(10_000, nil)
}

func (p *Portal) accountRoutes() []route {
	return []route{
		{"GET /open/login", p.loginForm, false},
		{"POST /open/login", p.login, false},
		{"GET /open/register", p.registerForm, false},
		{"POST /open/register", p.register, false},
		{"POST /open/logout", p.logout, false},
		{"GET /open/account", p.account, false},
		{"POST /open/account/keys", p.createKey, false},
		{"POST /open/account/keys/{id}/revoke", p.revokeKey, false},
		{"GET /open/dataset/{name}/apply", p.applyForm, false},
		{"POST /open/dataset/{name}/apply", p.apply, false},
		{"POST /open/dataset/{name}/rating", p.rate, false},
		{"POST /open/dataset/{name}/comments", p.comment, false},
		{"GET /open/requests", p.requests, false},
		{"POST /open/requests", p.createRequest, false},
		{"GET /open/showcase", p.showcase, false},
		{"POST /open/showcase", p.submitShowcase, false},
		{"GET /open/stats", p.stats, false},
	}
}

// signedIn reads the session cookie: a live session puts its user in the
// page and, as the actor, in the request's context (the store applies its
// rules to the actor). Posts are bounded in size.
func (p *Portal) signedIn(w http.ResponseWriter, r *http.Request, pg *page) (*http.Request, error) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	ctx := r.Context()
	actor := cityhub.ActorFrom(ctx)
	if actor.ClientAddr == "" { // without the API's middleware (tests)
		actor.ClientAddr = remoteHost(r)
		actor.Username = "anonymous"
		ctx = cityhub.WithActor(ctx, actor)
		r = r.WithContext(ctx)
	}
	if p.authn == nil {
		return r, nil
	}
	pg.Accounts = true
	ck, err := r.Cookie(auth.SessionCookie)
	if err != nil || ck.Value == "" {
		return r, nil
	}
	u, t, err := p.authn.Authenticate(ctx, ck.Value)
	if cityhub.ErrorCode(err) == cityhub.EUNAUTHORIZED {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if t.Kind != cityhub.TokenSession {
		return r, nil
	}
	pg.User, pg.CSRF = u, t.CSRF
	actor.UserID, actor.Username = u.ID, u.Username
	ctx = cityhub.WithUser(cityhub.WithActor(ctx, actor), u, t)
	// A signed-in page is the account's own: never cached.
	w.Header().Set("Cache-Control", "no-store")
	return r.WithContext(ctx), nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isPublic reports whether the page's user is a public account.
func (pg *page) isPublic() bool { return pg.User != nil && pg.User.HasRole(cityhub.RolePublic) }

// PublicUser is the page's user when it is a public account.
func (pg *page) PublicUser() bool { return pg.isPublic() }

// Staff is a signed-in staff member (a console session).
func (pg *page) Staff() bool { return pg.User != nil && !pg.isPublic() }

// UserName is how the page names its user.
func (pg *page) UserName() string {
	if pg.User == nil {
		return ""
	}
	if pg.User.DisplayName != "" {
		return pg.User.DisplayName
	}
	return pg.User.Username
}

// LoginPath is the sign-in page, back to the current page afterwards.
func (pg *page) LoginPath() string {
	next := "/open/"
	if pg.url != nil {
		next = pg.url.RequestURI()
	}
	return "/open/login?next=" + url.QueryEscape(next)
}

// errCSRF is a post without the session's (or the form's) secret.
var errCSRF = cityhub.Errorf(cityhub.EFORBIDDEN, "missing or wrong CSRF token")

// requireAccount checks a post (or, with post false, a page) of a signed-in
// account: the session and, for posts, its CSRF secret. A signed-out
// visitor is sent to the sign-in page (true: the answer is written).
func (p *Portal) requireAccount(w http.ResponseWriter, r *http.Request, pg *page, next string) (bool, error) {
	if p.acc == nil {
		return true, notFound()
	}
	if pg.User == nil {
		if r.Method == http.MethodPost {
			// A stale session: back to the form, through the sign-in.
			http.Redirect(w, r, "/open/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return true, nil
		}
		http.Redirect(w, r, "/open/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return true, nil
	}
	if r.Method == http.MethodPost {
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(pg.CSRF)) != 1 || pg.CSRF == "" {
			return true, errCSRF
		}
	}
	return false, nil
}

// safeNext keeps only the portal's own paths as where to go after signing in.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/open/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/open/account"
	}
	return s
}

// formState is a form's values and what was wrong with them.
type formState struct {
	Values map[string]string
	Fields map[string]string // field → reason
	Error  string
	Done   string // a success note
}

func newForm() formState { return formState{Values: map[string]string{}, Fields: map[string]string{}} }

// Value is a submitted value, to fill the form in again.
func (f formState) Value(name string) string { return f.Values[name] }

// FieldError is what was wrong with a field.
func (f formState) FieldError(name string) string { return f.Fields[name] }

// invalidForm turns a validation error into the form's field errors; other
// errors pass.
func (f *formState) invalid(pg *page, err error) error {
	var e *cityhub.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case cityhub.EINVALID:
		f.Error = pg.T("form.invalid")
		for k, v := range e.Fields {
			f.Fields[k] = v
		}
		return nil
	case cityhub.ECONFLICT, cityhub.EFORBIDDEN, cityhub.EUNAUTHORIZED:
		f.Error = pg.T("form.refused") + e.Message
		return nil
	}
	return err
}

type authData struct {
	Form     formState
	Next     string
	FormCSRF string
}

func (p *Portal) renderAuth(w http.ResponseWriter, r *http.Request, pg *page, status int, name string, d authData) error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	d.FormCSRF = hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: d.FormCSRF, Path: "/open/", MaxAge: 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: p.SecureCookies})
	pg.Title, pg.Nav, pg.Data = pg.T(name+".title"), name, d
	w.Header().Set("Cache-Control", "no-store")
	return p.render(w, r, pg, status, name)
}

func formCSRFOK(r *http.Request) bool {
	ck, err := r.Cookie(formCookie)
	return err == nil && ck.Value != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("form_csrf"))) == 1
}

func (p *Portal) loginForm(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	next := safeNext(r.URL.Query().Get("next"))
	if pg.User != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return p.renderAuth(w, r, pg, http.StatusOK, "login", authData{Form: newForm(), Next: next})
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	d := authData{Form: newForm(), Next: safeNext(r.PostFormValue("next"))}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	d.Form.Values["username"] = username
	if !formCSRFOK(r) {
		d.Form.Error = pg.T("form.expired")
		return p.renderAuth(w, r, pg, http.StatusForbidden, "login", d)
	}
	if username == "" || password == "" {
		d.Form.Error = pg.T("login.missing")
		return p.renderAuth(w, r, pg, http.StatusBadRequest, "login", d)
	}
	u, t, secret, err := p.authn.Login(r.Context(), username, password)
	switch cityhub.ErrorCode(err) {
	case "":
	case cityhub.EUNAUTHORIZED:
		d.Form.Error = pg.T("login.failed")
		return p.renderAuth(w, r, pg, http.StatusUnauthorized, "login", d)
	case cityhub.ELOCKED:
		minutes := 15
		var e *cityhub.Error
		if errors.As(err, &e) {
			if secs, perr := strconv.Atoi(e.Fields["retry_after"]); perr == nil {
				minutes = max(1, (secs+59)/60)
			}
		}
		d.Form.Error = pg.Tf("login.locked", minutes)
		w.Header().Set("Retry-After", strconv.Itoa(minutes*60))
		return p.renderAuth(w, r, pg, http.StatusTooManyRequests, "login", d)
	default:
		return err
	}
	if !u.HasRole(cityhub.RolePublic) {
		// Staff sign in at the console; this session ends here.
		if err := p.authn.Logout(r.Context(), t); err != nil {
			return err
		}
		d.Form.Error = pg.T("login.staff")
		return p.renderAuth(w, r, pg, http.StatusForbidden, "login", d)
	}
	p.startSession(w, t, secret)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (p *Portal) startSession(w http.ResponseWriter, t *cityhub.Token, secret string) {
	now := time.Now()
	if p.authn.Now != nil {
		now = p.authn.Now()
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: secret, Path: "/", Expires: t.ExpiresAt,
		MaxAge: max(1, int(t.ExpiresAt.Sub(now).Seconds())), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: p.SecureCookies})
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: "", Path: "/open/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: p.SecureCookies})
}

func (p *Portal) registerForm(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	next := safeNext(r.URL.Query().Get("next"))
	if pg.User != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return p.renderAuth(w, r, pg, http.StatusOK, "register", authData{Form: newForm(), Next: next})
}

// register creates a public account with the API's rules (httpapi's
// POST /api/v1/public/register) and signs it in.
func (p *Portal) register(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	d := authData{Form: newForm(), Next: safeNext(r.PostFormValue("next"))}
	for _, k := range []string{"username", "display_name", "email"} {
		d.Form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	if !formCSRFOK(r) {
		d.Form.Error = pg.T("form.expired")
		return p.renderAuth(w, r, pg, http.StatusForbidden, "register", d)
	}
	actor := cityhub.ActorFrom(r.Context())
	rate := p.RegisterRate
	if rate.Limit <= 0 {
		rate = defaultRegisterRate
	}
	if dec := p.regs.Take(actor.ClientAddr, rate); !dec.Allowed {
		w.Header().Set("Retry-After", strconv.Itoa(int(dec.RetryAfter/time.Second)+1))
		d.Form.Error = pg.T("register.too_many")
		return p.renderAuth(w, r, pg, http.StatusTooManyRequests, "register", d)
	}
	password := r.PostFormValue("password")
	u := &cityhub.User{Username: d.Form.Values["username"], DisplayName: d.Form.Values["display_name"],
		Email: d.Form.Values["email"], Roles: []string{cityhub.RolePublic}}
	f := cityhub.FieldErrors{}
	if err := u.Validate(); err != nil {
		mergeFields(f, err)
	}
	if u.Email == "" {
		f.Add("email", "required")
	}
	if err := cityhub.ValidatePassword(password); err != nil {
		mergeFields(f, err)
	}
	if password != r.PostFormValue("password2") {
		f.Add("password2", pg.T("register.mismatch"))
	}
	if err := f.Err("invalid registration"); err != nil {
		_ = d.Form.invalid(pg, err)
		return p.renderAuth(w, r, pg, http.StatusBadRequest, "register", d)
	}
	ctx := cityhub.WithActor(r.Context(), cityhub.Actor{Username: "public-registration",
		ClientAddr: actor.ClientAddr, RequestID: actor.RequestID})
	if err := p.acc.CreateUser(ctx, u, p.authn.Hash(password)); err != nil {
		if cityhub.ErrorCode(err) == cityhub.ECONFLICT {
			d.Form.Error = pg.T("register.taken")
			d.Form.Fields["username"] = pg.T("register.taken")
			return p.renderAuth(w, r, pg, http.StatusConflict, "register", d)
		}
		if e := d.Form.invalid(pg, err); e != nil {
			return e
		}
		return p.renderAuth(w, r, pg, http.StatusBadRequest, "register", d)
	}
	_, t, secret, err := p.authn.Login(r.Context(), u.Username, password)
	if err != nil {
		return err
	}
	p.startSession(w, t, secret)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func mergeFields(f cityhub.FieldErrors, err error) {
	var e *cityhub.Error
	if errors.As(err, &e) {
		for k, v := range e.Fields {
			f.Add(k, v)
		}
	}
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	if pg.User != nil {
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(pg.CSRF)) != 1 {
			return errCSRF
		}
		if _, t := cityhub.UserFrom(r.Context()); t != nil {
			if err := p.authn.Logout(r.Context(), t); err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
				return err
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.SecureCookies})
	http.Redirect(w, r, "/open/", http.StatusSeeOther)
	return nil
}

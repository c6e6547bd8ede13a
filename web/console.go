// Package web serves the web console: server-rendered pages for signing in,
// departments, users, personal API tokens and the audit log. Pages are
// html/template files and static assets embedded in the binary; the little
// JavaScript there is only enhances forms (confirmations, copy buttons).
//
// Authentication and CSRF checks happen in httpapi's middleware, which puts
// the signed-in user into the request context; this package only decides
// what that user may see and do.
package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/catalogsheet"
	"github.com/cityhub/cityhub/internal/htmlpage"
)

//go:embed templates static
var files embed.FS

// Console is the web console. Fields are set by cmd/cityhub.
type Console struct {
	Store         cityhub.Store
	Auth          *auth.Service
	AuditKey      ed25519.PublicKey // verifies the audit chain head
	Logger        *slog.Logger
	Version       string
	SecureCookies bool           // mark cookies Secure (serve over HTTPS)
	Location      *time.Location // the city's time zone for display; nil means the server's
	// Policy sets the catalog's open-rate target and change deadline, as
	// in httpapi.Server.
	Policy cityhub.CatalogPolicy
	// Search answers catalog searches (an index over the store); nil: the store.
	Search cityhub.CatalogSearcher
	// SpoolDir keeps uploaded data files while their loads run ("" is the
	// system's temporary directory); Background is the context loads run
	// in (cancelled at shutdown; nil is context.Background()). As in
	// httpapi.Server.
	SpoolDir   string
	Background context.Context
	// Series keeps device readings (tsdb); nil means the IoT platform is
	// off, and the device pages say so.
	Series cityhub.SeriesStore
	// Ingest tells each device's ingest counts and recent rejections (the
	// *ingest.Pipeline); nil shows none.
	Ingest DeviceCounter
	// MQTTAddr is the broker's address as devices reach it, shown in their
	// connection instructions ("" or a host-less ":1883": this site's host
	// name, port 1883).
	MQTTAddr string

	pages map[string]*template.Template
	log   *slog.Logger
	loads sync.WaitGroup
}

func (c *Console) searcher() cityhub.CatalogSearcher {
	if c.Search != nil {
		return c.Search
	}
	return c.Store
}

// Register adds the console's pages, form posts and static files to mux.
// It panics if the embedded templates do not parse, which a test catches.
func (c *Console) Register(mux *http.ServeMux) {
	pages, err := parseTemplates()
	if err != nil {
		panic(err)
	}
	c.pages = pages
	c.log = c.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "web")

	for _, rt := range c.routes() {
		limit, ok := uploadRoutes[rt.pattern]
		if !ok {
			limit = maxFormBytes
		}
		mux.Handle(rt.pattern, c.handle(rt.access, limit, rt.handle))
	}
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", htmlpage.StaticHandler(static)))
	// "GET /" would conflict with the API's "/api/"; the home page is exactly
	// "/" and everything else unknown gets the console's 404 page.
	mux.Handle("/", c.handle(public, maxFormBytes, c.notFound))
}

type access int

const (
	public access = iota
	signedIn
)

type route struct {
	pattern string
	access  access
	handle  handlerFunc
}

// routes lists every page and form post of the console.
func (c *Console) routes() []route {
	return []route{
		{"GET /{$}", signedIn, c.home},
		{"GET /login", public, c.loginForm},
		{"POST /login", public, c.login},
		{"POST /logout", public, c.logout},

		{"GET /departments", signedIn, c.departments},
		{"POST /departments", signedIn, c.createDepartment},
		{"GET /departments/{id}", signedIn, c.editDepartment},
		{"POST /departments/{id}", signedIn, c.updateDepartment},
		{"POST /departments/{id}/delete", signedIn, c.deleteDepartment},

		{"GET /users", signedIn, c.users},
		{"POST /users", signedIn, c.createUser},
		{"GET /users/{id}", signedIn, c.user},
		{"POST /users/{id}/disable", signedIn, c.disableUser},
		{"POST /users/{id}/enable", signedIn, c.enableUser},
		{"POST /users/{id}/password", signedIn, c.resetPassword},

		{"GET /tokens", signedIn, c.tokens},
		{"POST /tokens", signedIn, c.createToken},
		{"POST /tokens/{id}/revoke", signedIn, c.revokeToken},

		{"GET /audit", signedIn, c.audit},

		{"GET /catalog", signedIn, c.catalog},
		{"GET /catalog/tree", signedIn, c.catalogTree},
		{"GET /catalog/stats", signedIn, c.catalogStats},
		{"GET /catalog/departments/{id}", signedIn, c.catalogDepartment},
		{"GET /catalog/new", signedIn, c.newEntry},
		{"POST /catalog/new", signedIn, c.createEntry},
		{"GET /catalog/entries/{id}", signedIn, c.entry},
		{"GET /catalog/entries/{id}/edit", signedIn, c.editEntry},
		{"POST /catalog/entries/{id}/edit", signedIn, c.updateEntry},
		{"POST /catalog/entries/{id}/transition", signedIn, c.transitionEntry},
		{"POST /catalog/entries/{id}/change-requests", signedIn, c.createChangeRequest},
		{"POST /catalog/entries/{id}/delete", signedIn, c.deleteEntry},
		{"GET /catalog/import", signedIn, c.importForm},
		{"POST /catalog/import", signedIn, c.importCatalog},
		{"GET /catalog/template.xlsx", signedIn, c.catalogTemplate},
		{"GET /catalog/export.xlsx", signedIn, c.exportCatalog(catalogsheet.XLSX)},
		{"GET /catalog/export.csv", signedIn, c.exportCatalog(catalogsheet.CSV)},

		{"GET /catalog/entries/{id}/data", signedIn, c.entryData},
		{"POST /catalog/entries/{id}/data/load", signedIn, c.startLoad},
		{"POST /catalog/entries/{id}/data/rollback", signedIn, c.rollbackTable},
		{"GET /catalog/entries/{id}/quality", signedIn, c.tableQuality},
		{"GET /catalog/loads/{id}", signedIn, c.loadJob},

		{"GET /devices", signedIn, c.devices},
		{"GET /devices/new", signedIn, c.newDevice},
		{"POST /devices/new", signedIn, c.createDevice},
		{"GET /devices/import", signedIn, c.deviceImportForm},
		{"POST /devices/import", signedIn, c.importDevices},
		{"GET /devices/import/template.csv", signedIn, c.deviceImportTemplate},
		{"GET /devices/{id}", signedIn, c.device},
		{"POST /devices/{id}/token", signedIn, c.rotateDeviceToken},
		{"GET /devices/{id}/series.json", signedIn, c.deviceSeriesJSON},
		{"GET /devices/{id}/series.csv", signedIn, c.deviceSeriesCSV},
	}
}

// uploadRoutes take files: their bodies may be larger than a form's.
var uploadRoutes = map[string]int64{"POST /catalog/import": uploadBodyBytes,
	"POST /catalog/entries/{id}/data/load": maxLoadBytes + 1<<20,
	"POST /devices/import":                 deviceImportBodyBytes}

// pageFiles are the page templates; each is parsed with base.html and
// partials.html (and the catalog pages with catalog_partials.html) into its
// own set.
var pageFiles = []string{"login", "home", "departments", "department", "users", "user", "tokens", "audit", "error",
	"catalog", "catalog_tree", "catalog_entry", "catalog_form", "catalog_stats", "catalog_department", "catalog_import",
	"catalog_data", "catalog_load", "catalog_quality",
	"devices", "device", "device_form", "device_token", "device_import", "device_off"}

func parseTemplates() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageFiles {
		patterns := []string{"templates/base.html", "templates/partials.html"}
		if strings.HasPrefix(name, "catalog") {
			patterns = append(patterns, "templates/catalog_partials.html")
		}
		t, err := template.New(name).ParseFS(files, append(patterns, "templates/"+name+".html")...)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *page) error

// maxFormBytes bounds the console's form posts.
const maxFormBytes = 64 << 10

// handle wraps a page handler: security headers, language, the page
// skeleton, the sign-in requirement and error pages. Posts may send up to
// maxBody bytes (unless the CSRF check has read the form already).
func (c *Console) handle(acc access, maxBody int64, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost && r.PostForm == nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		p := c.newPage(w, r)
		if acc == signedIn && p.User == nil {
			c.toLogin(w, r)
			return
		}
		if acc == signedIn && p.User.HasRole(cityhub.RolePublic) { // the console is for staff
			c.fail(w, r, p, cityhub.Errorf(cityhub.EFORBIDDEN, "public account"))
			return
		}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	})
}

// toLogin sends a signed-out visitor to the login page, remembering where
// they were going when that was a page.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps only local paths, so the login form cannot be used to send
// people to another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, p *page, status int, name string) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	if err != nil {
		c.log.DebugContext(r.Context(), "write page", "err", err) // the client went away
	}
	return nil
}

// redirect answers a successful form post (post/redirect/get); done names a
// message shown on the next page.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) error {
	if done != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

type errorData struct {
	Heading string
	Message string
}

// fail shows err as an error page. Internal errors are logged here, once,
// and shown as "internal error"; denials are audited as the API does.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	code := cityhub.ErrorCode(err)
	status, heading, msg := http.StatusInternalServerError, p.T("error.internal_title"), p.T("error.internal")
	switch code {
	case cityhub.EUNAUTHORIZED:
		c.toLogin(w, r)
		return
	case cityhub.EFORBIDDEN:
		status, heading, msg = http.StatusForbidden, p.T("error.forbidden_title"), p.T("error.forbidden")
		rec := cityhub.NewAuditRecord(r.Context(), "access.denied", r.Method+" "+r.URL.Path, cityhub.OutcomeDenied, "")
		if aerr := c.Store.AppendAudit(r.Context(), rec); aerr != nil {
			c.log.ErrorContext(r.Context(), "audit denied access", "err", aerr)
		}
	case cityhub.ENOTFOUND:
		status, heading, msg = http.StatusNotFound, p.T("error.notfound_title"), p.T("error.notfound")
	case cityhub.EINVALID:
		status, heading, msg = http.StatusBadRequest, p.T("error.invalid_title"), cityhub.ErrorMessage(err)
	case cityhub.ECONFLICT:
		status, heading, msg = http.StatusConflict, p.T("error.conflict_title"), cityhub.ErrorMessage(err)
	case cityhub.ETOOLARGE:
		status, heading, msg = http.StatusRequestEntityTooLarge, p.T("error.invalid_title"), p.T("error.too_large")
	case cityhub.ELOCKED:
		status, heading, msg = http.StatusTooManyRequests, p.T("error.conflict_title"), cityhub.ErrorMessage(err)
	case cityhub.EUNAVAILABLE:
		status, heading, msg = http.StatusServiceUnavailable, p.T("error.unavailable_title"), p.T("error.unavailable")
	default:
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status, heading, msg = http.StatusRequestEntityTooLarge, p.T("error.invalid_title"), p.T("error.too_large")
			break
		}
		c.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path,
			"request_id", cityhub.ActorFrom(r.Context()).RequestID, "err", err)
	}
	p.Title = heading
	p.Nav = ""
	p.Error, p.Fields = "", nil
	p.Data = errorData{Heading: heading, Message: msg}
	if rerr := c.render(w, r, p, status, "error"); rerr != nil {
		c.log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// formError shows a validation or conflict error beside the form's fields
// and returns the status for the re-rendered page. ok is false for any
// other error, which the caller returns as is.
func formError(p *page, err error) (status int, ok bool) {
	var e *cityhub.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.Code {
	case cityhub.EINVALID:
		status = http.StatusBadRequest
	case cityhub.ECONFLICT:
		status = http.StatusConflict
	default:
		return 0, false
	}
	p.Fields = e.Fields
	if len(e.Fields) > 0 {
		p.Error = p.T("error.check_fields")
	} else {
		p.Error = e.Message
	}
	return status, true
}

// mergeFields adds err's field errors to f; other errors land under "form".
func mergeFields(f cityhub.FieldErrors, err error) {
	var e *cityhub.Error
	if !errors.As(err, &e) {
		if err != nil {
			f.Add("form", err.Error())
		}
		return
	}
	for k, v := range e.Fields {
		f.Add(k, v)
	}
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, p *page) error {
	return cityhub.Errorf(cityhub.ENOTFOUND, "no page %s", r.URL.Path)
}

func forbidden(what string) error {
	return cityhub.Errorf(cityhub.EFORBIDDEN, "you may not %s", what)
}

// pathID parses the {id} path value; a malformed id is a missing object.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, cityhub.Errorf(cityhub.ENOTFOUND, "no such id %q", r.PathValue("id"))
	}
	return id, nil
}

// pageSize is the number of rows on a listing page.
const pageSize = 20

// pageNumber reads ?page=, 1-based.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// pager is the previous/next navigation of a listing.
type pager struct {
	Pages      int
	Prev, Next string
	Status     string
	Label      string
	PrevLabel  string
	NextLabel  string
}

func newPager(p *page, r *http.Request, current, total int) pager {
	pages := (total + pageSize - 1) / pageSize
	pg := pager{Pages: pages, Status: p.Tf("common.page_of", current, max(pages, 1)),
		Label: p.T("common.pages"), PrevLabel: p.T("common.prev"), NextLabel: p.T("common.next")}
	link := func(n int) string {
		q := r.URL.Query()
		q.Del("done")
		q.Del("lang")
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if current > 1 {
		pg.Prev = link(current - 1)
	}
	if current < pages {
		pg.Next = link(current + 1)
	}
	return pg
}

// departmentNames resolves department ids to names, reading each at most once.
type departmentNames struct {
	c     *Console
	names map[int64]string
}

func (c *Console) departmentNames(known ...*cityhub.Department) *departmentNames {
	n := &departmentNames{c: c, names: map[int64]string{}}
	for _, d := range known {
		n.names[d.ID] = d.Name
	}
	return n
}

func (n *departmentNames) name(r *http.Request, id *int64) (string, error) {
	if id == nil {
		return "", nil
	}
	if name, ok := n.names[*id]; ok {
		return name, nil
	}
	d, err := n.c.Store.Department(r.Context(), *id)
	switch {
	case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
		n.names[*id] = "#" + strconv.FormatInt(*id, 10)
	case err != nil:
		return "", err
	default:
		n.names[*id] = d.Name
	}
	return n.names[*id], nil
}

// allDepartments lists departments for select boxes, by name.
func (c *Console) allDepartments(r *http.Request) ([]*cityhub.Department, error) {
	ds, _, err := c.Store.Departments(r.Context(), cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	return ds, nil
}

// formatTime shows times in the city's zone with its offset, to the second.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

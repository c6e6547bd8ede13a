// Package portal serves the public open-data portal (开放平台) under /open/:
// the home page, the search of open datasets with facets, each dataset's
// page with its metadata, public data items, a preview of its rows with a
// chart, downloads and the API call that returns the same rows, and the
// providers' pages. No login is needed. Chinese first, with an English
// switch; usable on a phone.
//
// What the public sees follows one rule, the domain's (opendata.go):
// entries appear when CatalogEntry.PublicMetadata holds, their rows only
// when PublicData holds, and only the items PublicItems returns; anything
// else answers the same 404 as an address that never existed.
package portal

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/internal/htmlpage"
	"github.com/cityhub/cityhub/openaccess"
)

//go:embed templates static
var files embed.FS

// Store is what the portal reads of the platform's store.
type Store interface {
	cityhub.CatalogSearcher
	Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error)
	EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error)
	EntryVersions(ctx context.Context, id int64) ([]*cityhub.CatalogVersion, error)
	Domains(ctx context.Context) ([]*cityhub.Domain, error)
	Department(ctx context.Context, id int64) (*cityhub.Department, error)
	Table(ctx context.Context, entryID int64) (*cityhub.TableInfo, error)
	TableVersions(ctx context.Context, entryID int64) ([]cityhub.TableVersion, error)
	QueryRows(ctx context.Context, q cityhub.RowQuery) (*cityhub.RowResult, error)
}

// Link is an extra entry of the portal's navigation, for open-data pages
// other packages serve (data requests, showcase, statistics).
type Link struct {
	Path string
	ZH   string
	EN   string
}

// Portal is the public open-data portal. Fields are set by cmd/cityhub.
type Portal struct {
	Store Store
	// Search answers catalog searches (an index over the store); nil: the store.
	Search cityhub.CatalogSearcher
	// Usage counts views and downloads; nil: nothing is counted.
	Usage cityhub.UsageRecorder
	// UsageStats reads the counts back for the home page's most used
	// datasets; nil: that block is left out.
	UsageStats cityhub.UsageReader
	// Location is the city's time zone for dates; nil: the server's.
	Location *time.Location
	Logger   *slog.Logger
	Version  string
	// BaseURL is the portal's public address (https://data.example.gov.cn)
	// for the API examples; "": taken from the request.
	BaseURL string
	// Links are extra navigation entries, after the portal's own.
	Links []Link
	// Limit wraps the routes that read rows (downloads and the chart's
	// data), e.g. with the open-data rate limiter's Wrap; nil: no limit.
	Limit func(http.Handler) http.Handler

	// Auth signs public accounts in (the platform's sessions, in the
	// cookie the console reads too); nil: auth.New over Store when Store
	// is the platform's whole store, else the account pages are off.
	Auth *auth.Service
	// Accounts keeps public accounts, their API keys and engagement; nil:
	// Store, when it has them.
	Accounts AccountStore
	// Policy holds the plan's open-rate target for the statistics page.
	Policy cityhub.CatalogPolicy
	// SecureCookies marks the session cookies Secure (HTTPS deployments).
	SecureCookies bool
	// RegisterRate limits self-registrations per client address; zero:
	// 20 an hour.
	RegisterRate openaccess.Rate
	// Keys forgets a revoked API key at once (the open-data limiter, which
	// caches keys); nil: the cache ages it out.
	Keys interface{ ForgetAPIKey(id int64) }

	acc   AccountStore
	authn *auth.Service
	regs  *openaccess.Buckets

	pages map[string]*template.Template
	log   *slog.Logger

	dirMu      sync.Mutex
	dir        *directory
	refreshing bool
}

func (p *Portal) searcher() cityhub.CatalogSearcher {
	if p.Search != nil {
		return p.Search
	}
	return p.Store
}

func (p *Portal) loc() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.Local
}

func (p *Portal) record(entryID int64, kind string) {
	if p.Usage != nil {
		p.Usage.Record(entryID, kind)
	}
}

// Register adds the portal's pages and assets under /open/ to mux. It
// panics if the embedded templates do not parse, which a test catches.
func (p *Portal) Register(mux *http.ServeMux) {
	pages, err := parseTemplates()
	if err != nil {
		panic(err)
	}
	p.pages = pages
	p.log = p.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("component", "portal")
	p.setupAccounts()

	for _, rt := range p.routes() {
		h := p.handle(rt.handle)
		if rt.rows && p.Limit != nil {
			h = p.Limit(h)
		}
		mux.Handle(rt.pattern, h)
	}
	mux.Handle("GET /open", http.RedirectHandler("/open/", http.StatusMovedPermanently))
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /open/static/", http.StripPrefix("/open/static/", htmlpage.StaticHandler(static)))
	// Anything else below /open/ is the portal's 404 page.
	mux.Handle("/open/", p.handle(p.notFound))
}

type route struct {
	pattern string
	handle  handlerFunc
	rows    bool // reads rows in bulk: Limit applies
}

// routes lists every page of the portal.
func (p *Portal) routes() []route {
	return append([]route{
		{"GET /open/{$}", p.home, false},
		{"GET /open/datasets", p.datasets, false},
		{"GET /open/dataset/{name}", p.dataset, false},
		{"GET /open/dataset/{name}/chart.json", p.chartJSON, true},
		{"GET /open/dataset/{name}/download/{format}", p.download, true},
		{"GET /open/orgs", p.orgs, false},
		{"GET /open/org/{id}", p.org, false},
	}, p.accountRoutes()...)
}

// pageFiles are the page templates, each parsed with base.html and
// partials.html into its own set.
var pageFiles = []string{"home", "datasets", "dataset", "orgs", "org", "error",
	"login", "register", "account", "apply", "requests", "showcase", "stats"}

// funcs are the templates' helpers beyond the page's methods.
var funcs = template.FuncMap{
	// list passes several values to a partial.
	"list": func(v ...any) []any { return v },
}

func parseTemplates() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageFiles {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/base.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("portal: parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, pg *page) error

// handle wraps a page handler: security headers, the language, the page
// skeleton and error pages.
func (p *Portal) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Vary", "Cookie")
		pg := p.newPage(w, r)
		r, err := p.signedIn(w, r, pg)
		if err == nil {
			err = h(w, r, pg)
		}
		if err != nil {
			p.fail(w, r, pg, err)
		}
	})
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, pg *page, status int, name string) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("portal: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", pg); err != nil {
		return fmt.Errorf("portal: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		p.log.DebugContext(r.Context(), "write page", "err", err) // the client went away
	}
	return nil
}

type errorData struct {
	Heading string
	Message string
}

// fail shows err as an error page. Whatever is missing or not open is the
// same 404; internal errors are logged here, once, and shown as such.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, pg *page, err error) {
	status, heading, msg := http.StatusInternalServerError, pg.T("error.internal_title"), pg.T("error.internal")
	switch cityhub.ErrorCode(err) {
	case cityhub.ENOTFOUND:
		status, heading, msg = http.StatusNotFound, pg.T("error.notfound_title"), pg.T("error.notfound")
	case cityhub.EINVALID:
		status, heading, msg = http.StatusBadRequest, pg.T("error.invalid_title"), pg.T("error.invalid")
	case cityhub.ETOOLARGE:
		status, heading, msg = http.StatusRequestEntityTooLarge, pg.T("error.invalid_title"), cityhub.ErrorMessage(err)
	case cityhub.EFORBIDDEN:
		status, heading, msg = http.StatusForbidden, pg.T("error.forbidden_title"), pg.T("error.forbidden")
	case cityhub.ECONFLICT:
		status, heading, msg = http.StatusConflict, pg.T("error.invalid_title"), pg.T("error.conflict")
	case cityhub.EUNAVAILABLE:
		status, heading, msg = http.StatusServiceUnavailable, pg.T("error.unavailable_title"), pg.T("error.unavailable")
	default:
		if r.Context().Err() != nil {
			return // the client went away
		}
		p.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path,
			"request_id", cityhub.ActorFrom(r.Context()).RequestID, "err", err)
	}
	pg.Title, pg.Nav = heading, ""
	pg.Data = errorData{Heading: heading, Message: msg}
	if rerr := p.render(w, r, pg, status, "error"); rerr != nil {
		p.log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (p *Portal) notFound(w http.ResponseWriter, r *http.Request, pg *page) error {
	return notFound()
}

// notFound is the one answer for anything the public may not see.
func notFound() error { return cityhub.Errorf(cityhub.ENOTFOUND, "not found") }

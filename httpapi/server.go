// Package httpapi serves the JSON API under /api/v1, the health and
// metrics endpoints, and the middleware every page and call passes through:
// request ids, logging, metrics, authentication and CSRF checks.
package httpapi

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/mqttbridge"
	"github.com/cityhub/cityhub/openaccess"
)

// Server holds what the handlers need. Fields are set by cmd/cityhub.
type Server struct {
	Store     cityhub.Store
	Auth      *auth.Service
	AuditKey  ed25519.PublicKey // verifies the chain head
	Logger    *slog.Logger
	Metrics   *Metrics
	Version   string
	MaxBody   int64 // request body limit in bytes
	Readiness func() error
	// Policy sets the catalog's open-rate target and change deadline.
	Policy cityhub.CatalogPolicy
	// Search answers catalog searches (an index over the store); nil: the store.
	Search cityhub.CatalogSearcher
	// SpoolDir keeps uploads while their loads run; Background is the
	// context loads run in (cancelled at shutdown).
	SpoolDir   string
	Background context.Context
	// PullClient fetches scheduled pulls' URLs; nil: a client with a long timeout.
	PullClient *http.Client
	// Series and Ingest are the IoT platform; nil when it is off.
	Series cityhub.SeriesStore
	Ingest *ingest.Pipeline
	// Bridge is the connector to external MQTT brokers; nil when none.
	Bridge interface{ Status() mqttbridge.Status }
	// Limiter holds the open-data endpoints (/api/v1/open/…) to their rate
	// and forgets revoked API keys; nil: no limit.
	Limiter *openaccess.Limiter
	// Usage reads open datasets' use (an *openaccess.Usage, which adds
	// the counts not yet written); nil: the store.
	Usage cityhub.UsageReader
	// RegisterRate limits self-registrations per client address; zero:
	// DefaultRegisterRate.
	RegisterRate openaccess.Rate
	// Mounted documents, by path, the routes served beside this API (the
	// CKAN Action API, the DCAT feeds), for the OpenAPI document.
	Mounted []map[string]map[string]any

	loads         sync.WaitGroup
	registrations struct {
		once    sync.Once
		buckets *openaccess.Buckets
	}
}

func (s *Server) searcher() cityhub.CatalogSearcher {
	if s.Search != nil {
		return s.Search
	}
	return s.Store
}

// access says who may call a route.
type access int

const (
	public   access = iota
	signedIn        // staff: any signed-in user but a public (portal) account
	account         // any signed-in user, public accounts too: their own account and keys
	open            // anyone, through the open-data rate limiter
)

// needsUser tells whether the route refuses anonymous callers.
func (a access) needsUser() bool { return a == signedIn || a == account }

// route is one API endpoint: how it is served and how it is documented.
type route struct {
	method, path string
	access       access
	handle       func(w http.ResponseWriter, r *http.Request) error
	doc          operation
}

// Register adds the API's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		h := s.endpoint(rt)
		if rt.access == open && s.Limiter != nil {
			h = s.Limiter.Wrap(h)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	// Anything else under /api/ is a JSON 404, not the web console's page.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, &cityhub.Error{Code: cityhub.EMETHOD,
				Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, ", "))})
			return
		}
		s.writeError(w, r, cityhub.Errorf(cityhub.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
}

// allowedMethods lists the methods that do have a route for r's path; the
// catch-all above would otherwise hide the mux's own 405.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" && !strings.HasPrefix(pattern, "/") {
			allow = append(allow, m)
		}
	}
	return allow
}

// endpoint wraps a handler with its access check and error writing.
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.access.needsUser() {
			u, _ := cityhub.UserFrom(r.Context())
			if u == nil {
				s.writeError(w, r, cityhub.Errorf(cityhub.EUNAUTHORIZED, "sign in or send a bearer token"))
				return
			}
			if rt.access == signedIn && u.HasRole(cityhub.RolePublic) {
				s.writeError(w, r, errPublicAccount)
				return
			}
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// routes lists every endpoint of the API, with its documentation.
func (s *Server) routes() []route {
	return slices.Concat(s.coreRoutes(), s.catalogRoutes(), s.catalogSheetRoutes(), s.tableRoutes(), s.loadRoutes(), s.rowsExportRoutes(), s.pullRoutes(), s.deviceRoutes(), s.openAccessRoutes(), s.engagementRoutes())
}

// coreRoutes are the platform's own endpoints: identity, departments, audit.
func (s *Server) coreRoutes() []route {
	return []route{
		{"POST", "/api/v1/auth/login", public, s.login, operation{
			tag: "auth", summary: "Sign in with a password and receive a session token",
			body: loginRequest{}, response: loginResponse{}}},
		{"POST", "/api/v1/auth/logout", account, s.logout, operation{
			tag: "auth", summary: "End the session of the token in use", status: 204}},
		{"GET", "/api/v1/me", account, s.me, operation{
			tag: "auth", summary: "The signed-in user", response: cityhub.User{}}},
		{"PUT", "/api/v1/me/password", account, s.changeOwnPassword, operation{
			tag: "auth", summary: "Change the signed-in user's password (ends every session, this one included)",
			body: passwordChange{}, status: 204}},

		{"GET", "/api/v1/divisions", signedIn, s.listDivisions, operation{
			tag: "departments", summary: "GB/T 2260 administrative divisions shipped with the platform",
			query:    []param{{"prefix", "string", "code prefix, e.g. 3302"}, {"historic", "boolean", "include abolished divisions"}},
			response: listOf[cityhub.Division]{}}},
		{"GET", "/api/v1/departments", signedIn, s.listDepartments, operation{
			tag: "departments", summary: "List departments",
			query: append([]param{{"level", "string", "city or district"}, {"division_code", "string", "GB/T 2260 code"},
				{"parent_id", "integer", "only children of this department"}, {"q", "string", "name contains"}}, pagingParams...),
			response: listOf[cityhub.Department]{}}},
		{"POST", "/api/v1/departments", signedIn, s.createDepartment, operation{
			tag: "departments", summary: "Create a department (platform admin)", body: departmentInput{},
			response: cityhub.Department{}, status: 201}},
		{"GET", "/api/v1/departments/{id}", signedIn, s.getDepartment, operation{
			tag: "departments", summary: "One department", response: cityhub.Department{}}},
		{"PATCH", "/api/v1/departments/{id}", signedIn, s.updateDepartment, operation{
			tag: "departments", summary: "Change a department's fields (platform admin)", body: departmentInput{},
			response: cityhub.Department{}}},
		{"DELETE", "/api/v1/departments/{id}", signedIn, s.deleteDepartment, operation{
			tag: "departments", summary: "Remove a department with no users and no sub-departments (platform admin)", status: 204}},

		{"GET", "/api/v1/users", signedIn, s.listUsers, operation{
			tag: "users", summary: "List the users the caller may see",
			query: append([]param{{"department_id", "integer", "only this department"}, {"role", "string", "only holders of this role"},
				{"q", "string", "username or name contains"}}, pagingParams...),
			response: listOf[cityhub.User]{}}},
		{"POST", "/api/v1/users", signedIn, s.createUser, operation{
			tag: "users", summary: "Create a user (platform admin, or department admin within their department)",
			body: userInput{}, response: cityhub.User{}, status: 201}},
		{"GET", "/api/v1/users/{id}", signedIn, s.getUser, operation{
			tag: "users", summary: "One user", response: cityhub.User{}}},
		{"PATCH", "/api/v1/users/{id}", signedIn, s.updateUser, operation{
			tag: "users", summary: "Change a user's profile, department, roles or disabled flag",
			body: userInput{}, response: cityhub.User{}}},
		{"PUT", "/api/v1/users/{id}/password", signedIn, s.resetPassword, operation{
			tag: "users", summary: "Set another user's password (ends their sessions)", body: passwordReset{}, status: 204}},
		{"DELETE", "/api/v1/users/{id}", signedIn, s.deleteUser, operation{
			tag: "users", summary: "Remove a user and their tokens", status: 204}},

		{"GET", "/api/v1/tokens", signedIn, s.listTokens, operation{
			tag: "tokens", summary: "The caller's personal API tokens", response: listOf[cityhub.Token]{}}},
		{"POST", "/api/v1/tokens", signedIn, s.createToken, operation{
			tag: "tokens", summary: "Create a personal API token; the secret is shown only in this response",
			body: tokenInput{}, response: tokenCreated{}, status: 201}},
		{"DELETE", "/api/v1/tokens/{id}", signedIn, s.revokeToken, operation{
			tag: "tokens", summary: "Revoke a token (its owner, or a platform admin)", status: 204}},

		{"GET", "/api/v1/audit", signedIn, s.listAudit, operation{
			tag: "audit", summary: "Audit records, newest first (auditor, platform admin)",
			query: []param{{"actor", "string", "username"}, {"action", "string", "exact, or a prefix ending in '.'"},
				{"object", "string", "e.g. user:12"}, {"outcome", "string", "success, failure or denied"},
				{"since", "string", "RFC 3339 time, inclusive"}, {"until", "string", "RFC 3339 time, exclusive"},
				{"before", "integer", "records with seq below this (next page)"}, {"limit", "integer", "1 to 1000, default 100"}},
			response: auditPage{}}},
		{"GET", "/api/v1/audit/head", signedIn, s.auditHead, operation{
			tag: "audit", summary: "The signed chain head; keep a copy outside to prove later tampering",
			response: cityhub.AuditHead{}}},
		{"GET", "/api/v1/audit/verify", signedIn, s.auditVerify, operation{
			tag: "audit", summary: "Walk the audit chain and report the first broken link", response: cityhub.ChainReport{}}},
	}
}

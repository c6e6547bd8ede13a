// Package ckan serves the read side of CKAN's Action API v3 over the
// city's open catalog, so the tools developers already use (ckanapi in
// Python and JavaScript, CKAN harvesters, the datastore clients of data
// portals) read the city's open data as they read any CKAN site:
//
//	GET|POST /api/3/action/{name}       (also /api/action/{name})
//	GET      /datastore/dump/{resource_id}?format=csv|tsv|json&bom=true
//
// The actions: package_list, package_search, package_show, resource_show,
// organization_list, organization_show, group_list, group_show, tag_list,
// license_list, datastore_search and help_show.
//
// Parameters come as query parameters (GET; JSON text for filters,
// facet.field, and for fields and sort either JSON lists or comma lists)
// or as one JSON object in a POST body, as CKAN reads them. Every answer
// has CKAN's envelope:
//
//	{"help": "<base>/api/3/action/help_show?name=X", "success": true, "result": …}
//	{"help": …, "success": false, "error": {"__type": "Not Found Error", "message": "Not found: …"}}
//
// with CKAN's statuses and error types: 404 Not Found Error, 403
// Authorization Error, 409 Validation Error (the offending parameters as
// keys of "error", each with a list of reasons; no "message"), 400 Search
// Query Error. An unknown action answers 400 with the JSON string
// "Bad request - Action name not known: X" and an unreadable body 400 with
// "Bad request - JSON Error: …", as CKAN's API view does.
//
// # What the public sees
//
// One rule for every door (cityhub.CatalogEntry.PublicMetadata, PublicData,
// PublicItems): only published entries open unconditionally (无条件开放) or
// on conditions (有条件开放) are packages; drafts, entries under review,
// withdrawn ones and 不予开放 ones are not found, by id and by name, and
// never listed or counted. An entry that keeps rows (电子表格, 数据库) is a
// package with one datastore resource; its rows are served to anyone when
// the entry is open unconditionally, and for an entry open on conditions
// only when Server.CanRead says the caller's application was approved
// (403 Authorization Error otherwise; the resource is still listed, so
// one knows what to apply for). Sensitive and secret data items are never
// served, whatever the caller: they are not fields, cannot be filtered,
// sorted or searched on, and are absent from dumps.
//
// # Mapping
//
//	catalog entry                  package (type dataset, state active, private false)
//	cityhub.PackageID(e.ID)        id: UUID-shaped, stable, carries the entry id
//	e.PackageName()                name: the resource code with a dash, 211-000123
//	名称 Name / 摘要 Abstract       title / notes
//	provider department            organization and owner_org (below)
//	开放领域 Domain                 groups: one group, the domain
//	Tags                           tags [{id, name, display_name, state, vocabulary_id}], sorted
//	CreatedAt / UpdatedAt          metadata_created / metadata_modified, UTC "2006-01-02T15:04:05.000000"
//	Version                        version
//	portal page                    url: <base>/open/dataset/<name>
//	licence                        license_id, license_title, license_url: the first of
//	                               Server.Licenses (DefaultLicense, CC BY 4.0); isopen: the
//	                               licence is open and the data open unconditionally
//	政务 metadata                   extras, sorted by key: resource_code, classification_code,
//	                               resource_format (+_zh), open_type (+_zh), open_condition,
//	                               update_cycle (+_zh), publish_date, provider_code,
//	                               data_updated, related_codes
//	rows (电子表格, 数据库)          one resource: id cityhub.ResourceID(e.ID), url the dump,
//	                               format CSV, url_type datastore, datastore_active once a
//	                               load has been committed to its table, last_modified
//	                               then (DataUpdatedAt)
//	department                     organization: id c17a0000-0000-4000-8002-<dept id hex>,
//	                               name its credit code in lower case, title its name
//	domain                         group: id a name-based UUID, name the domain code
//	tag                            id a name-based UUID
//
// # package_search
//
// q is free text over names, abstracts, items, tags and providers (the
// catalog's own full-text search, Chinese words of any length); "*:*" or
// nothing is everything. fq (and field clauses inside q) takes clauses
// joined by spaces or AND, each field:value or field:"quoted value", with
// an optional leading +:
//
//	organization:<org name>  owner_org:<org id or name>  groups:<domain>  tags:<tag>
//	res_format:CSV  license_id:<id>  extras_update_cycle:<cycle>  extras_open_type:<type>
//	extras_resource_format:<format>  extras_classification_code:<prefix>  text:<words>
//	dataset_type:dataset  type:dataset  state:active  capacity:public  site_id:<any>
//
// A value nothing has matches nothing (count 0), as in Solr. Anything else
// is a Search Query Error (400): negation (-field: or NOT), OR, parentheses,
// ranges ([a TO b], so no metadata_modified ranges), wildcards inside
// values, unknown fields, and two different tags: clauses (one tag a
// search). sort takes "score desc, metadata_modified desc" (the default:
// relevance with q, else newest first), "metadata_modified desc",
// "name asc" and "title_string asc"; rows defaults to 10 and is capped at
// 1000, facet.limit defaults to 50 (the catalog's facets never hold more),
// facet.mincount to 1. facet.field takes organization, groups, tags,
// res_format, license_id and the extras_ fields above. Unknown parameters
// are a Search Query Error, as in CKAN.
//
// # datastore_search
//
// Fields are the entry's public data items: id the item's English code,
// or its name when it has none (filters, fields and sort take either),
// type text, numeric, date, timestamp or bool, and info {label, notes}
// with the Chinese name and description; "_id" (int) comes first. limit
// defaults to 100 and is capped at 32000, include_total defaults to true
// (totals are exact: total_was_estimated is false), records_format is
// objects, lists, csv or tsv. filters take a value or a list per field
// (equality, or any of the list). q is a substring searched in every text
// field (a JSON object q, per-field search, is refused), distinct answers
// each combination of the fields' values once (without _id, paged by
// offset), plain and language are accepted and change nothing. Unknown
// parameters are a Validation Error ("__junk"), as in CKAN.
//
// Deep paging is cheap: in _id order (no sort, or sort "_id") the
// _links.next of a page asks for the rows after its last _id with the
// extension parameter after=<_id> instead of a growing offset, so page
// 100,000 costs what page 1 costs (an index range on _id, not a scan of the
// rows skipped). Clients that follow _links.next get it for free; offset
// keeps working for those that count pages. With another sort, next is
// offset+limit, as in CKAN. after cannot be combined with offset or a sort
// other than _id.
//
// /datastore/dump streams the whole table (or limit rows from offset,
// filtered by q and filters, in _id order) as CSV (the default), TSV or
// JSON ({"fields": […], "records": [[…], …]}), a page of rows at a time
// from one table version, never the whole table in memory; bom=true starts
// CSV and TSV with a UTF-8 BOM for Excel, and their text cells are made
// spreadsheet-safe (cityhub.SpreadsheetSafe).
//
// Use is counted through Server.Usage: package_show, resource_show and
// datastore_search as API calls of their dataset, dumps as downloads.
//
// # Cost
//
// A package search is one catalog search (the in-memory index) and one
// read of the page's entries; organisations, groups and their counts come
// from a directory read in bulk and kept for CacheTTL, and whether a
// resource's table holds data is remembered, so a page of packages costs
// no query per package. package_list without a limit and tag_list (when
// the catalog has more tags than a facet holds) walk the public catalog
// once per CacheTTL. A datastore_search is one entry read and the row
// query (with CKAN's default exact total, a COUNT over the filter). Not
// done here: JSONP (callback is accepted and ignored), CORS headers (the
// platform's middleware decides), XML dumps.
package ckan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
)

// Store is what the API reads besides the search: single entries, the
// departments (in bulk, cached briefly), the domains, whether a table has
// data (cached) and rows.
type Store interface {
	Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error)
	EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error)
	Departments(ctx context.Context, f cityhub.DepartmentFilter) ([]*cityhub.Department, int, error)
	Domains(ctx context.Context) ([]*cityhub.Domain, error)
	Table(ctx context.Context, entryID int64) (*cityhub.TableInfo, error)
	QueryRows(ctx context.Context, q cityhub.RowQuery) (*cityhub.RowResult, error)
}

// Server answers the CKAN Action API. Store and Search must be set; the
// rest has defaults.
type Server struct {
	Store  Store
	Search cityhub.CatalogSearcher // the catalog index (catalogindex), or the store
	// BaseURL is the public address links start with, no trailing slash,
	// e.g. https://data.ningbo.gov.cn. Default: the request's own scheme
	// and Host (set it behind a proxy).
	BaseURL func(*http.Request) string
	// CanRead tells whether the caller may read the rows of an entry open
	// on conditions (有条件开放): an approved application. nil: nobody.
	// Entries open unconditionally need no permission.
	CanRead func(r *http.Request, entryID int64) bool
	Usage   cityhub.UsageRecorder // optional
	Logger  *slog.Logger
	// Licenses lists the licences license_list offers; the first is the
	// licence every dataset carries. DefaultLicenses when empty.
	Licenses []License
	// CacheTTL is how long organisations, groups, their dataset counts
	// and the tag list are reused; one minute when zero.
	CacheTTL time.Duration
	// DumpPage is the rows a dump reads a query; 5000 when zero.
	DumpPage int

	dir    cache[*directory]
	walk   cache[*catalogWalk]
	tables sync.Map // entry id → tableState
}

// MaxBody bounds a POST body.
const MaxBody = 1 << 20

// Register adds the API to mux. It is public: no sign-in; the platform's
// middleware (API keys, rate limits) wraps it as it wraps the rest.
func (s *Server) Register(mux *http.ServeMux) {
	for _, prefix := range []string{"/api/3/action/", "/api/action/"} {
		mux.HandleFunc("GET "+prefix+"{name}", s.serveAction)
		mux.HandleFunc("POST "+prefix+"{name}", s.serveAction)
	}
	mux.HandleFunc("GET /datastore/dump/{id}", s.serveDump)
}

// action answers one action; a nil error means result is the answer.
type action func(c *call) (any, error)

// call is one request to an action.
type call struct {
	s    *Server
	r    *http.Request
	ctx  context.Context
	name string
	p    params
}

// actionTable lists the actions by name (help_show reads helpDocs, not
// this table, so that the two do not refer to each other).
var actionTable = map[string]action{
	"package_list":      (*call).packageList,
	"package_search":    (*call).packageSearch,
	"package_show":      (*call).packageShow,
	"resource_show":     (*call).resourceShow,
	"organization_list": (*call).organizationList,
	"organization_show": (*call).organizationShow,
	"group_list":        (*call).groupList,
	"group_show":        (*call).groupShow,
	"tag_list":          (*call).tagList,
	"license_list":      (*call).licenseList,
	"datastore_search":  (*call).datastoreSearch,
	"help_show":         (*call).helpShow,
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger.With("component", "ckan")
}

func (s *Server) ttl() time.Duration {
	if s.CacheTTL > 0 {
		return s.CacheTTL
	}
	return time.Minute
}

func (s *Server) base(r *http.Request) string {
	if s.BaseURL != nil {
		return strings.TrimRight(s.BaseURL(r), "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) record(entryID int64, kind string) {
	if s.Usage != nil {
		s.Usage.Record(entryID, kind)
	}
}

// canRead tells whether r may read e's rows.
func (s *Server) canRead(r *http.Request, e *cityhub.CatalogEntry) bool {
	if e.PublicData() {
		return true
	}
	return e.PublicMetadata() && s.CanRead != nil && s.CanRead(r, e.ID)
}

// tableState remembers whether an entry's table holds a committed load.
type tableState struct {
	active bool
	at     time.Time
}

// datastoreActive tells whether an entry's rows can be queried: it keeps
// rows and a load has been committed. A table with data stays so (loads
// and rollbacks only add versions), so that answer is kept for good; "not
// yet" is asked again after CacheTTL. Package listings call this for every
// package shown, so it must not cost a query each time.
func (s *Server) datastoreActive(ctx context.Context, e *cityhub.CatalogEntry) bool {
	if !hasTable(e) {
		return false
	}
	if v, ok := s.tables.Load(e.ID); ok {
		if st := v.(tableState); st.active || time.Since(st.at) < s.ttl() {
			return st.active
		}
	}
	info, err := s.Store.Table(ctx, e.ID)
	if err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		s.logger().WarnContext(ctx, "table state", "entry", e.ID, "err", err)
		return false
	}
	active := err == nil && info.Version > 0
	s.tables.Store(e.ID, tableState{active: active, at: time.Now()})
	return active
}

// errorEnvelope and resultEnvelope are CKAN's answer shapes.
type errorEnvelope struct {
	Help    string `json:"help"`
	Success bool   `json:"success"`
	Error   any    `json:"error"`
}

type resultEnvelope struct {
	Help    string `json:"help"`
	Success bool   `json:"success"`
	Result  any    `json:"result"`
}

func (s *Server) serveAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	fn, ok := actionTable[name]
	if !ok {
		writeJSON(w, http.StatusBadRequest, "Bad request - Action name not known: "+name)
		return
	}
	help := s.base(r) + "/api/3/action/help_show?name=" + name
	p, err := readParams(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "Bad request - JSON Error: "+err.Error())
		return
	}
	c := &call{s: s, r: r, ctx: r.Context(), name: name, p: p}
	result, err := s.run(c, fn)
	if err != nil {
		e := s.apiError(r, name, err)
		writeJSON(w, e.Status, errorEnvelope{Help: help, Success: false, Error: e.body()})
		return
	}
	writeJSON(w, http.StatusOK, resultEnvelope{Help: help, Success: true, Result: result})
}

// run calls fn, turning a panic into an internal error: a malformed
// request never takes the process down.
func (s *Server) run(c *call, fn action) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in %s: %v\n%s", c.name, v, debug.Stack())
		}
	}()
	return fn(c)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"success": false, "error": {"__type": "Internal Server Error", "message": "Internal Server Error"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Error types of CKAN's API view.
const (
	typeNotFound   = "Not Found Error"
	typeAuth       = "Authorization Error"
	typeValidation = "Validation Error"
	typeSearch     = "Search Query Error"
	typeInternal   = "Internal Server Error"
)

// apiError is an error in CKAN's terms.
type apiError struct {
	Status  int
	Type    string
	Message string
	Fields  map[string][]string // Validation Error: reasons by parameter
}

func (e *apiError) Error() string {
	if e.Type == typeValidation {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + strings.Join(e.Fields[k], "; ")
		}
		return e.Type + ": " + strings.Join(parts, ", ")
	}
	return e.Type + ": " + e.Message
}

// body is the "error" member of the envelope.
func (e *apiError) body() map[string]any {
	out := map[string]any{"__type": e.Type}
	if e.Type == typeValidation {
		for k, v := range e.Fields {
			out[k] = v
		}
		return out
	}
	out["message"] = e.Message
	return out
}

func notFound(detail string) *apiError {
	msg := "Not found"
	if detail != "" {
		msg += ": " + detail
	}
	return &apiError{Status: http.StatusNotFound, Type: typeNotFound, Message: msg}
}

func denied(detail string) *apiError {
	msg := "Access denied"
	if detail != "" {
		msg += ": " + detail
	}
	return &apiError{Status: http.StatusForbidden, Type: typeAuth, Message: msg}
}

func invalid(fields map[string][]string) *apiError {
	return &apiError{Status: http.StatusConflict, Type: typeValidation, Fields: fields}
}

func invalidField(field, reason string) *apiError {
	return invalid(map[string][]string{field: {reason}})
}

// searchError is CKAN's SearchQueryError, whose message the API view
// writes as "Search Query is invalid: %r".
func searchError(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeSearch,
		Message: "Search Query is invalid: " + pyRepr(fmt.Sprintf(format, args...))}
}

// apiError turns any error into CKAN's terms: the domain's not-found and
// invalid errors keep their meaning, anything else is logged here, once,
// and shown as an internal error.
func (s *Server) apiError(r *http.Request, name string, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *cityhub.Error
	if errors.As(err, &de) {
		switch de.Code {
		case cityhub.ENOTFOUND:
			return notFound("")
		case cityhub.EFORBIDDEN, cityhub.EUNAUTHORIZED:
			return denied("")
		case cityhub.EINVALID:
			fields := map[string][]string{}
			for k, v := range de.Fields {
				fields[k] = []string{v}
			}
			if len(fields) == 0 {
				fields["query"] = []string{de.Message}
			}
			return invalid(fields)
		}
	}
	if errors.Is(err, context.Canceled) {
		return &apiError{Status: 499, Type: typeInternal, Message: "Request canceled"}
	}
	s.logger().ErrorContext(r.Context(), "action failed", "action", name, "method", r.Method, "err", err)
	return &apiError{Status: http.StatusInternalServerError, Type: typeInternal, Message: "Internal Server Error"}
}

// pyRepr writes s as Python's repr does, for messages CKAN formats with
// %r: single quotes unless s holds one and no double quote.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

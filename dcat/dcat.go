// Package dcat serves the public catalog as DCAT-AP 3 in JSON-LD and
// Turtle, with the endpoints and the mapping of ckanext-dcat, so the
// harvesters of other portals (data.europa.eu's, CKAN's, any DCAT
// harvester) read the city's open data as they read a CKAN site's:
//
//	GET /catalog.jsonld, /catalog.ttl    the catalog, 100 datasets a page, newest first:
//	                                     ?page=N (from 1), ?modified_since=<ISO 8601 date or date-time>;
//	                                     a hydra:PartialCollectionView gives totalItems and
//	                                     first/previous/next/last pages
//	GET /dataset/{name}.jsonld, .ttl     one dataset; {name} is the package name (211-000123)
//	                                     or the package id, as in the CKAN API
//	GET /dataset/{name}                  the same by content negotiation (Accept: text/turtle or
//	                                     application/ld+json), else 303 to the portal page
//
// Only what the public may see appears (cityhub.CatalogEntry.PublicMetadata):
// other entries are 404 and never listed. Entries open on conditions carry
// their metadata and a distribution whose accessURL is the portal page,
// where one applies; only entries open unconditionally that keep rows get
// a download, and never for sensitive or secret items alone.
//
// The mapping (ckanext-dcat's field in brackets):
//
//	catalog                    dcat:Catalog <base>/: dct:title, dct:description, dct:publisher
//	                           (Server.Publisher), foaf:homepage <base>/open/, dct:language ZHO,
//	                           dcat:themeTaxonomy EU data-theme, dct:modified (newest entry)
//	entry                      dcat:Dataset <base>/dataset/<package name>
//	PackageID [id]             dct:identifier
//	资源代码 Code              adms:identifier [adms:Identifier; skos:notation; adms:schemaAgency]
//	名称 Name [title]          dct:title @zh
//	摘要 Abstract [notes]      dct:description @zh
//	Tags [tags]                dcat:keyword, one each
//	provider [organization]    dct:publisher [foaf:Organization; foaf:name @zh; dct:identifier
//	                           credit code; dct:type adms LocalAuthority], dcat:contactPoint
//	                           [vcard:Organization; vcard:fn]
//	发布日期 PublishDate       dct:issued xsd:date; without one, CreatedAt [metadata_created]
//	                           as xsd:dateTime
//	UpdatedAt [metadata_modified] dct:modified xsd:dateTime (what modified_since filters on)
//	开放领域 Domain            dcat:theme: the EU data theme (Themes) and the domain's own
//	                           skos:Concept <base>/api/3/action/group_show?id=<code> (the CKAN
//	                           group) with its labels
//	更新周期 UpdateCycle       dct:accrualPeriodicity, EU frequency (Frequencies)
//	portal page [url]          dcat:landingPage <base>/open/dataset/<name>
//	开放类型 OpenType          dct:accessRights EU PUBLIC (无条件) or RESTRICTED (有条件)
//	rows [resources]           dcat:Distribution <dataset>#csv: downloadURL and accessURL
//	                           <base>/datastore/dump/<ResourceID>, dct:format CSV, dcat:mediaType
//	                           text/csv; <dataset>#api: accessURL
//	                           <base>/api/3/action/datastore_search?resource_id=<ResourceID>,
//	                           JSON; both dct:license and dct:modified (DataUpdatedAt)
//	otherwise                  <dataset>#portal: accessURL the landing page, no downloadURL
//	                           (有条件开放 with the conditions as dct:description)
package dcat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Store is what the feeds read besides the search: single entries,
// departments (in bulk for a page) and the domains' labels.
type Store interface {
	Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error)
	EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error)
	Department(ctx context.Context, id int64) (*cityhub.Department, error)
	Departments(ctx context.Context, f cityhub.DepartmentFilter) ([]*cityhub.Department, int, error)
	Domains(ctx context.Context) ([]*cityhub.Domain, error)
}

// DefaultPageSize is the datasets a catalog page holds, as ckanext-dcat's
// ckanext.dcat.datasets_per_page.
const DefaultPageSize = 100

// Server serves the DCAT feeds. Search, Store and Publisher.Name should be
// set; the rest has defaults.
type Server struct {
	Search cityhub.CatalogSearcher // the catalog index, or the store
	Store  Store
	// BaseURL is the public address the IRIs start with, no trailing
	// slash, e.g. https://data.ningbo.gov.cn. Default: the request's own
	// scheme and Host (set it behind a proxy).
	BaseURL func(*http.Request) string
	// Title and Description of the catalog (Chinese); defaults below.
	Title       string
	Description string
	// Publisher is the platform's operator, the catalog's dct:publisher
	// (and the agency of the resource codes). Default: named as the
	// catalog.
	Publisher Agent
	// License the distributions are offered under; DefaultLicense when
	// its IRI is empty.
	License  License
	PageSize int            // datasets a catalog page; DefaultPageSize when 0
	Location *time.Location // for times without a zone in modified_since, and the times written; time.Local when nil
	Usage    cityhub.UsageRecorder
	Logger   *slog.Logger
}

// Register adds the feeds to mux. They are public: no sign-in.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /catalog.jsonld", s.catalog(jsonld))
	mux.HandleFunc("GET /catalog.ttl", s.catalog(turtle))
	mux.HandleFunc("GET /dataset/{file}", s.dataset)
}

// format is a serialization.
type format struct {
	ext, mediaType string
	write          func(*graph) []byte
}

var (
	jsonld = format{".jsonld", "application/ld+json", (*graph).JSONLD}
	turtle = format{".ttl", "text/turtle", (*graph).Turtle}
)

const (
	defaultTitle       = "公共数据开放目录"
	defaultDescription = "本市政务部门向社会开放的公共数据资源目录：无条件开放的数据可直接下载和调用，有条件开放的数据可在开放平台申请使用。"
)

func (s *Server) title() string       { return orDefault(s.Title, defaultTitle) }
func (s *Server) description() string { return orDefault(s.Description, defaultDescription) }

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func (s *Server) publisher() Agent {
	p := s.Publisher
	p.Name = orDefault(p.Name, s.title())
	return p
}

func (s *Server) license() License {
	if s.License.IRI == "" {
		return DefaultLicense
	}
	return s.License
}

func (s *Server) pageSize() int {
	if s.PageSize > 0 {
		return min(s.PageSize, 1000)
	}
	return DefaultPageSize
}

func (s *Server) location() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.Local
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger.With("component", "dcat")
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

// newDoc starts a document with the domains' labels and the given
// departments.
func (s *Server) newDoc(ctx context.Context, r *http.Request, depts map[int64]*cityhub.Department) (*doc, error) {
	domains, err := s.Store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	d := &doc{s: s, base: s.base(r), depts: depts, domains: map[string]*cityhub.Domain{}}
	for _, dom := range domains {
		d.domains[dom.Code] = dom
	}
	return d, nil
}

// departments reads every department at once: one query for a page of
// datasets, however many providers it has.
func (s *Server) departments(ctx context.Context) (map[int64]*cityhub.Department, error) {
	out := map[int64]*cityhub.Department{}
	for offset := 0; ; offset += 1000 {
		page, total, err := s.Store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			out[d.ID] = d
		}
		if len(page) == 0 || offset+len(page) >= total {
			return out, nil
		}
	}
}

// catalogPage is what a catalog request asks for.
type catalogPage struct {
	page  int
	since *time.Time
}

// parseCatalogQuery reads page and modified_since; the error is the
// caller's to see.
func (s *Server) parseCatalogQuery(q url.Values) (catalogPage, error) {
	p := catalogPage{page: 1}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errors.New("page: a whole number from 1")
		}
		if n > math.MaxInt32/s.pageSize() {
			return p, errors.New("page: too large")
		}
		p.page = n
	}
	if v := q.Get("modified_since"); v != "" {
		t, err := parseTime(v, s.location())
		if err != nil {
			return p, err
		}
		p.since = &t
	}
	return p, nil
}

// parseTime reads an ISO 8601 date or date-time; without a zone it is in
// loc.
func parseTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("modified_since: %q is not an ISO 8601 date or date-time (2026-01-31 or 2026-01-31T08:00:00+08:00)", v)
}

// publicQuery is the catalog in the feeds' order: what the public sees,
// newest first (updated, then id, both descending).
func publicQuery(limit, offset int) cityhub.CatalogQuery {
	return cityhub.CatalogQuery{Public: true, Sort: "updated", Limit: limit, Offset: offset}
}

func (s *Server) catalog(f format) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := s.parseCatalogQuery(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		size := s.pageSize()
		offset := (p.page - 1) * size
		q := publicQuery(size, offset)
		if p.since != nil {
			q.ModifiedFrom = *p.since
		}
		res, err := s.Search.SearchCatalog(ctx, q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		total, entries := res.Total, res.Entries
		var newest time.Time
		if p.page == 1 && len(entries) > 0 {
			newest = entries[0].UpdatedAt
		} else if first, err := s.entryAt(ctx, 0); err != nil {
			s.fail(w, r, err)
			return
		} else if first != nil {
			newest = first.UpdatedAt
		}
		depts, err := s.departments(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d, err := s.newDoc(ctx, r, depts)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cat := &node{iri: d.base + "/", types: []string{nsDCAT + "Catalog"}}
		cat.addText(nsDCT+"title", s.title(), "zh")
		cat.addText(nsDCT+"description", s.description(), "zh")
		cat.add(nsDCT+"publisher", blankValue(agent(s.publisher())))
		cat.add(nsFOAF+"homepage", iriValue(d.base+"/open/"))
		cat.add(nsDCT+"language", iriValue(euLanguage+"ZHO"))
		cat.add(nsDCAT+"themeTaxonomy", iriValue(euThemes))
		if !newest.IsZero() {
			cat.add(nsDCT+"modified", d.dateTime(newest))
		}
		d.g.addNode(cat)
		for _, e := range entries {
			if !e.PublicMetadata() { // the search's promise, kept here too
				continue
			}
			cat.add(nsDCAT+"dataset", iriValue(d.dataset(e)))
		}
		view := s.view(d.base, f, p, size, total)
		cat.add(nsHydra+"view", iriValue(view.iri))
		d.g.addNode(view)
		s.write(w, f, &d.g)
	}
}

// view is the page as a hydra:PartialCollectionView, with links to the
// other pages in the same format and with the same modified_since.
func (s *Server) view(base string, f format, p catalogPage, size, total int) *node {
	last := max(1, (total+size-1)/size)
	pageIRI := func(n int) string {
		q := url.Values{"page": {strconv.Itoa(n)}}
		if p.since != nil {
			q.Set("modified_since", p.since.In(s.location()).Format(time.RFC3339Nano))
		}
		return withQuery(base+"/catalog"+f.ext, q)
	}
	v := &node{iri: pageIRI(p.page), types: []string{nsHydra + "PartialCollectionView"}}
	v.add(nsHydra+"totalItems", intValue(total))
	v.add(nsHydra+"itemsPerPage", intValue(size))
	v.add(nsHydra+"first", iriValue(pageIRI(1)))
	v.add(nsHydra+"last", iriValue(pageIRI(last)))
	if p.page > 1 {
		v.add(nsHydra+"previous", iriValue(pageIRI(min(p.page-1, last))))
	}
	if p.page < last {
		v.add(nsHydra+"next", iriValue(pageIRI(p.page+1)))
	}
	return v
}

// entryAt returns the public entry at offset in the feeds' order, nil past
// the end.
func (s *Server) entryAt(ctx context.Context, offset int) (*cityhub.CatalogEntry, error) {
	res, err := s.Search.SearchCatalog(ctx, publicQuery(1, offset))
	if err != nil || len(res.Entries) == 0 {
		return nil, err
	}
	return res.Entries[0], nil
}

func (s *Server) dataset(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, f, ok := s.datasetFormat(w, r)
	if !ok {
		return
	}
	e, err := s.publicEntry(ctx, name)
	if err != nil {
		if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
			http.Error(w, "dataset not found", http.StatusNotFound)
			return
		}
		s.fail(w, r, err)
		return
	}
	if f == nil { // content negotiation found no RDF wanted: the portal page
		http.Redirect(w, r, joinPath(s.base(r), "open", "dataset", e.PackageName()), http.StatusSeeOther)
		return
	}
	depts := map[int64]*cityhub.Department{}
	if dep, err := s.Store.Department(ctx, e.ProviderID); err == nil {
		depts[dep.ID] = dep
	} else if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	d, err := s.newDoc(ctx, r, depts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.dataset(e)
	if s.Usage != nil && r.Method == http.MethodGet {
		s.Usage.Record(e.ID, cityhub.UseAPI)
	}
	s.write(w, *f, &d.g)
}

// datasetFormat splits {file} into the dataset's name and the format its
// extension or the Accept header asks for (nil: none of ours, redirect).
// Unknown extensions are 404.
func (s *Server) datasetFormat(w http.ResponseWriter, r *http.Request) (string, *format, bool) {
	file := r.PathValue("file")
	for _, f := range []format{jsonld, turtle} {
		if name, ok := strings.CutSuffix(file, f.ext); ok {
			return name, &f, true
		}
	}
	if strings.Contains(file, ".") {
		http.Error(w, "dataset not found (formats: .jsonld, .ttl)", http.StatusNotFound)
		return "", nil, false
	}
	w.Header().Add("Vary", "Accept")
	return file, negotiate(r.Header.Get("Accept")), true
}

// negotiate picks the serialization Accept prefers; nil when it prefers
// neither (a browser: HTML first).
func negotiate(accept string) *format {
	best, bestQ := (*format)(nil), 0.0
	htmlQ := 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		var f *format
		switch mt {
		case "application/ld+json":
			f = &jsonld
		case "text/turtle", "application/x-turtle":
			f = &turtle
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		}
		if f != nil && q > bestQ {
			best, bestQ = f, q
		}
	}
	if best == nil || htmlQ >= bestQ {
		return nil
	}
	return best
}

// publicEntry finds the entry by package name or id; entries the public
// may not see are not found.
func (s *Server) publicEntry(ctx context.Context, name string) (*cityhub.CatalogEntry, error) {
	var e *cityhub.CatalogEntry
	var err error
	if id, ok := cityhub.EntryIDFromPackageID(name); ok {
		e, err = s.Store.Entry(ctx, id)
	} else {
		e, err = s.Store.EntryByCode(ctx, cityhub.CodeFromPackageName(name))
		if err == nil && e.PackageName() != name {
			e = nil
		}
	}
	if err != nil {
		return nil, err
	}
	if e == nil || !e.PublicMetadata() {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "dataset not found")
	}
	return e, nil
}

// write sends a document. It is built whole first, so a failure is a 500
// rather than half a document.
func (s *Server) write(w http.ResponseWriter, f format, g *graph) {
	body := f.write(g)
	h := w.Header()
	h.Set("Content-Type", f.mediaType+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Access-Control-Allow-Origin", "*") // open data: any page may read it
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// fail answers an unexpected error, logged once here.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.logger().Error("dcat request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

package ckan

import (
	"context"
	"crypto/sha1"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityhub/cityhub"
)

// cache keeps a value for a while. One caller loads it; while a fresh copy
// loads, the others keep getting the old one, so a refresh never stalls
// the requests around it.
type cache[T any] struct {
	mu      sync.Mutex
	val     T
	at      time.Time
	set     bool
	loading chan struct{} // closed when the load under way ends
}

func (c *cache[T]) get(ctx context.Context, ttl time.Duration, load func(context.Context) (T, error)) (T, error) {
	for {
		c.mu.Lock()
		if c.set && (time.Since(c.at) < ttl || c.loading != nil) {
			v := c.val
			c.mu.Unlock()
			return v, nil
		}
		if c.loading == nil {
			break // this caller loads
		}
		wait := c.loading
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	done := make(chan struct{})
	c.loading = done
	c.mu.Unlock()
	// The load outlives a caller that goes away: others wait for it.
	v, err := load(context.WithoutCancel(ctx))
	c.mu.Lock()
	if err == nil {
		c.val, c.at, c.set = v, time.Now(), true
	}
	c.loading = nil
	c.mu.Unlock()
	close(done)
	return v, err
}

// orgIDFormat makes a department's organisation id UUID-shaped, like the
// package and resource ids of cityhub.PackageID.
const orgIDFormat = "c17a0000-0000-4000-8002-%012x"

// OrganizationID is the CKAN id of a department.
func OrganizationID(deptID int64) string { return fmt.Sprintf(orgIDFormat, deptID) }

// OrganizationName is the CKAN name of a department: its unified social
// credit code in lower case (CKAN names are lower case), stable across
// installations and meaningful to anyone who knows the department.
func OrganizationName(d *cityhub.Department) string {
	if d.CreditCode == "" {
		return "org-" + strconv.FormatInt(d.ID, 10)
	}
	return strings.ToLower(d.CreditCode)
}

// nameUUID is a name-based UUID (version 5 layout) for things that have a
// name but no number: tags and groups. Listings make them for every tag
// shown, so they are kept (tags are few next to packages).
func nameUUID(kind, name string) string {
	key := kind + ":" + name
	if v, ok := uuids.Load(key); ok {
		return v.(string)
	}
	h := sha1.Sum([]byte("cityhub " + key))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	if uuidCount.Add(1) <= maxUUIDs {
		uuids.Store(key, id)
	}
	return id
}

var (
	uuids     sync.Map
	uuidCount atomic.Int64
)

const maxUUIDs = 200_000

// TagID and GroupID are the CKAN ids of a tag and of a domain's group.
func TagID(name string) string   { return nameUUID("tag", name) }
func GroupID(code string) string { return nameUUID("group", code) }

type orgInfo struct {
	dept  *cityhub.Department
	id    string
	name  string
	count int // public datasets
}

type groupInfo struct {
	domain *cityhub.Domain
	id     string
	count  int
}

// directory is what package dicts and listings need of the departments
// and domains, with their public dataset counts, read in bulk and cached.
type directory struct {
	orgs       []*orgInfo // by department id
	orgByID    map[int64]*orgInfo
	orgByKey   map[string]*orgInfo // by CKAN id, name and credit code
	groups     []*groupInfo        // in the domains' order
	groupByKey map[string]*groupInfo
	tags       []cityhub.FacetValue // public tags with counts, when complete
	tagsAll    bool                 // tags holds every tag (fewer than the facet cap)
	total      int                  // public datasets
}

func (s *Server) directory(ctx context.Context) (*directory, error) {
	return s.dir.get(ctx, s.ttl(), s.loadDirectory)
}

func (s *Server) loadDirectory(ctx context.Context) (*directory, error) {
	d := &directory{orgByID: map[int64]*orgInfo{}, orgByKey: map[string]*orgInfo{}, groupByKey: map[string]*groupInfo{}}
	for offset := 0; ; {
		depts, total, err := s.Store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, dep := range depts {
			o := &orgInfo{dept: dep, id: OrganizationID(dep.ID), name: OrganizationName(dep)}
			d.orgs = append(d.orgs, o)
			d.orgByID[dep.ID] = o
			d.orgByKey[o.id], d.orgByKey[o.name] = o, o
			if dep.CreditCode != "" {
				d.orgByKey[dep.CreditCode] = o
			}
		}
		offset += len(depts)
		if len(depts) == 0 || offset >= total {
			break
		}
	}
	slices.SortFunc(d.orgs, func(a, b *orgInfo) int { return int(a.dept.ID - b.dept.ID) })
	domains, err := s.Store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	for _, dom := range domains {
		g := &groupInfo{domain: dom, id: GroupID(dom.Code)}
		d.groups = append(d.groups, g)
		d.groupByKey[g.id], d.groupByKey[dom.Code] = g, g
	}

	// Counts from the facets of one search; a facet holds at most
	// cityhub.MaxFacetValues values, so a full one is completed value by
	// value.
	res, err := s.Search.SearchCatalog(ctx, cityhub.CatalogQuery{Public: true, Facets: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	d.total = res.Total
	full := func(vals []cityhub.FacetValue) bool { return len(vals) >= cityhub.MaxFacetValues }
	counted := map[string]int{}
	for _, v := range res.Facets["provider"] {
		counted[v.Value] = v.Count
	}
	for _, o := range d.orgs {
		key := strconv.FormatInt(o.dept.ID, 10)
		if n, ok := counted[key]; ok {
			o.count = n
		} else if full(res.Facets["provider"]) {
			r, err := s.Search.SearchCatalog(ctx, cityhub.CatalogQuery{Public: true, ProviderID: o.dept.ID, Limit: 1})
			if err != nil {
				return nil, err
			}
			o.count = r.Total
		}
	}
	counted = map[string]int{}
	for _, v := range res.Facets["domain"] {
		counted[v.Value] = v.Count
	}
	for _, g := range d.groups {
		if n, ok := counted[g.domain.Code]; ok {
			g.count = n
		} else if full(res.Facets["domain"]) {
			r, err := s.Search.SearchCatalog(ctx, cityhub.CatalogQuery{Public: true, Domain: g.domain.Code, Limit: 1})
			if err != nil {
				return nil, err
			}
			g.count = r.Total
		}
	}
	d.tags = res.Facets["tag"]
	d.tagsAll = !full(d.tags)
	return d, nil
}

// catalogWalk is what only a walk over every public entry tells: every
// package name, and every tag when there are more than a facet holds.
type catalogWalk struct {
	names []string // in name order
	tags  []cityhub.FacetValue
}

func (s *Server) catalogWalk(ctx context.Context) (*catalogWalk, error) {
	return s.walk.get(ctx, s.ttl(), func(ctx context.Context) (*catalogWalk, error) {
		entries, err := cityhub.AllEntries(ctx, s.Search, cityhub.CatalogQuery{Public: true}, nil)
		if err != nil {
			return nil, err
		}
		w := &catalogWalk{names: make([]string, 0, len(entries))}
		tags := map[string]int{}
		for _, e := range entries {
			if !e.PublicMetadata() {
				continue
			}
			w.names = append(w.names, e.PackageName())
			for _, t := range e.Tags {
				tags[t]++
			}
		}
		slices.Sort(w.names)
		for t, n := range tags {
			w.tags = append(w.tags, cityhub.FacetValue{Value: t, Count: n})
		}
		slices.SortFunc(w.tags, func(a, b cityhub.FacetValue) int { return strings.Compare(a.Value, b.Value) })
		return w, nil
	})
}

// License is a licence as CKAN's license_list describes it (the fields of
// the Open Definition's licence register).
type License struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	URL            string `json:"url"`
	DomainContent  bool   `json:"domain_content"`
	DomainData     bool   `json:"domain_data"`
	DomainSoftware bool   `json:"domain_software"`
	Family         string `json:"family"`
	IsGeneric      bool   `json:"is_generic"`
	ODConformance  string `json:"od_conformance"`
	OSDConformance string `json:"osd_conformance"`
	Maintainer     string `json:"maintainer"`
	Status         string `json:"status"`
}

// Open tells whether the licence is an open one (CKAN's isopen).
func (l License) Open() bool { return l.ODConformance == "approved" || l.OSDConformance == "approved" }

// DefaultLicense is the licence the city's open data carries unless the
// server is given another: Creative Commons Attribution 4.0. Reuse is free
// for any purpose, commercial too, provided the city is credited as the
// source (数据来源), which is what a government publisher asks for; it is
// conformant with the Open Definition, so CKAN clients count the data as
// open, and it is the licence the DCAT feed declares (dcat.DefaultLicense).
// The id is the Open Definition register's (and SPDX's), which CKAN sites
// load with licenses_group_url. A city with its own 开放数据使用协议 sets
// Server.Licenses.
var DefaultLicense = License{
	ID: "CC-BY-4.0", Title: "Creative Commons Attribution 4.0", URL: "https://creativecommons.org/licenses/by/4.0/",
	DomainContent: true, DomainData: true, ODConformance: "approved", OSDConformance: "not reviewed", Status: "active",
}

// DefaultLicenses is what license_list offers by default.
var DefaultLicenses = []License{DefaultLicense}

func (s *Server) licenses() []License {
	if len(s.Licenses) > 0 {
		return s.Licenses
	}
	return DefaultLicenses
}

func (s *Server) license() License { return s.licenses()[0] }

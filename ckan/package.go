package ckan

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// ckanTime is the time format of CKAN's metadata_created and friends: UTC
// without a zone, microseconds.
const ckanTime = "2006-01-02T15:04:05.000000"

func formatTime(t time.Time) string { return t.UTC().Format(ckanTime) }

// Package is a dataset as CKAN's package_show answers it.
type Package struct {
	Author                string      `json:"author"`
	AuthorEmail           *string     `json:"author_email"`
	CreatorUserID         *string     `json:"creator_user_id"`
	Extras                []Extra     `json:"extras"`
	Groups                []GroupRef  `json:"groups"`
	ID                    string      `json:"id"`
	IsOpen                bool        `json:"isopen"`
	LicenseID             string      `json:"license_id"`
	LicenseTitle          string      `json:"license_title"`
	LicenseURL            string      `json:"license_url"`
	Maintainer            string      `json:"maintainer"`
	MaintainerEmail       *string     `json:"maintainer_email"`
	MetadataCreated       string      `json:"metadata_created"`
	MetadataModified      string      `json:"metadata_modified"`
	Name                  string      `json:"name"`
	Notes                 string      `json:"notes"`
	NumResources          int         `json:"num_resources"`
	NumTags               int         `json:"num_tags"`
	Organization          *Group      `json:"organization"`
	OwnerOrg              *string     `json:"owner_org"`
	Private               bool        `json:"private"`
	RelationshipsAsObject []any       `json:"relationships_as_object"`
	RelationshipsAsSubj   []any       `json:"relationships_as_subject"`
	Resources             []*Resource `json:"resources"`
	State                 string      `json:"state"`
	Tags                  []Tag       `json:"tags"`
	Title                 string      `json:"title"`
	Type                  string      `json:"type"`
	URL                   string      `json:"url"`
	Version               string      `json:"version"`
}

// Extra is a key and value of a package's extras.
type Extra struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag is a free tag.
type Tag struct {
	DisplayName  string  `json:"display_name"`
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	State        string  `json:"state"`
	VocabularyID *string `json:"vocabulary_id"`
}

// GroupRef is a group as a package lists it.
type GroupRef struct {
	Description     string `json:"description"`
	DisplayName     string `json:"display_name"`
	ID              string `json:"id"`
	ImageDisplayURL string `json:"image_display_url"`
	Name            string `json:"name"`
	Title           string `json:"title"`
}

// Group is an organisation or a group.
type Group struct {
	ApprovalStatus  string     `json:"approval_status"`
	Created         string     `json:"created,omitempty"`
	Description     string     `json:"description"`
	DisplayName     string     `json:"display_name,omitempty"`
	Extras          []Extra    `json:"extras,omitempty"`
	ID              string     `json:"id"`
	ImageDisplayURL string     `json:"image_display_url,omitempty"`
	ImageURL        string     `json:"image_url"`
	IsOrganization  bool       `json:"is_organization"`
	Name            string     `json:"name"`
	NumFollowers    *int       `json:"num_followers,omitempty"`
	PackageCount    *int       `json:"package_count,omitempty"`
	Packages        []*Package `json:"packages,omitempty"`
	State           string     `json:"state"`
	Title           string     `json:"title"`
	Type            string     `json:"type"`
}

// Resource is a package's datastore resource: the rows behind the entry.
type Resource struct {
	CacheLastUpdated *string `json:"cache_last_updated"`
	CacheURL         *string `json:"cache_url"`
	Created          string  `json:"created"`
	DatastoreActive  bool    `json:"datastore_active"`
	Description      string  `json:"description"`
	Format           string  `json:"format"`
	Hash             string  `json:"hash"`
	ID               string  `json:"id"`
	LastModified     *string `json:"last_modified"`
	MetadataModified string  `json:"metadata_modified"`
	Mimetype         string  `json:"mimetype"`
	MimetypeInner    *string `json:"mimetype_inner"`
	Name             string  `json:"name"`
	PackageID        string  `json:"package_id"`
	Position         int     `json:"position"`
	ResourceType     *string `json:"resource_type"`
	Size             *int64  `json:"size"`
	State            string  `json:"state"`
	URL              string  `json:"url"`
	URLType          string  `json:"url_type"`
}

// hasTable tells whether an entry keeps rows (电子表格 and 数据库): those
// are the packages with a datastore resource.
func hasTable(e *cityhub.CatalogEntry) bool {
	return e.Format == cityhub.FormatSheet || e.Format == cityhub.FormatDatabase
}

// tableFormats are the formats that keep rows, the CSV resources.
var tableFormats = []string{cityhub.FormatSheet, cityhub.FormatDatabase}

func label(terms []cityhub.Term, code string) string {
	if t, ok := cityhub.TermByLabel(terms, code); ok && t.Code == code {
		return t.ZH
	}
	return ""
}

// orgDict describes a department as an organisation.
func orgDict(o *orgInfo, withCount bool) *Group {
	g := &Group{ApprovalStatus: "approved", Created: formatTime(o.dept.CreatedAt), Description: "",
		DisplayName: o.dept.Name, ID: o.id, IsOrganization: true, Name: o.name, State: "active", Title: o.dept.Name,
		Type: "organization", Extras: []Extra{{"credit_code", o.dept.CreditCode}, {"division_code", o.dept.Division},
			{"level", o.dept.Level}, {"short_name", o.dept.ShortName}}}
	if withCount {
		n, zero := o.count, 0
		g.PackageCount, g.NumFollowers = &n, &zero
	}
	return g
}

// groupDict describes a domain as a group.
func groupDict(g *groupInfo, withCount bool) *Group {
	out := &Group{ApprovalStatus: "approved", Description: g.domain.EN, DisplayName: g.domain.Name, ID: g.id,
		Name: g.domain.Code, State: "active", Title: g.domain.Name, Type: "group",
		Extras: []Extra{{"key_domain", strconv.FormatBool(g.domain.Key)}, {"title_en", g.domain.EN}}}
	if withCount {
		n, zero := g.count, 0
		out.PackageCount, out.NumFollowers = &n, &zero
	}
	return out
}

// packageDict describes a public entry as a package.
func (c *call) packageDict(e *cityhub.CatalogEntry, dir *directory) *Package {
	base := c.s.base(c.r)
	lic := c.s.license()
	name := e.PackageName()
	p := &Package{
		ID: cityhub.PackageID(e.ID), Name: name, Title: e.Name, Notes: e.Abstract, Author: e.ProviderName,
		Maintainer: e.ProviderName, IsOpen: lic.Open() && e.PublicData(), LicenseID: lic.ID, LicenseTitle: lic.Title,
		LicenseURL: lic.URL, MetadataCreated: formatTime(e.CreatedAt), MetadataModified: formatTime(e.UpdatedAt),
		State: "active", Type: "dataset", URL: base + "/open/dataset/" + name, Version: strconv.Itoa(e.Version),
		Groups: []GroupRef{}, Tags: []Tag{}, Resources: []*Resource{}, RelationshipsAsObject: []any{},
		RelationshipsAsSubj: []any{},
	}
	if o := dir.orgByID[e.ProviderID]; o != nil {
		p.Organization = orgDict(o, false)
		p.Author, p.Maintainer = o.dept.Name, o.dept.Name
	} else if e.ProviderID > 0 {
		// A department newer than the cached directory: what the entry says.
		p.Organization = &Group{ApprovalStatus: "approved", ID: OrganizationID(e.ProviderID),
			IsOrganization: true, Name: strings.ToLower(e.ProviderCode), State: "active", Title: e.ProviderName, Type: "organization"}
	}
	if p.Organization != nil {
		p.OwnerOrg = &p.Organization.ID
	}
	if e.Domain != "" {
		ref := GroupRef{ID: GroupID(e.Domain), Name: e.Domain, Title: e.Domain, DisplayName: e.Domain}
		if g := dir.groupByKey[e.Domain]; g != nil {
			ref.Title, ref.DisplayName, ref.Description = g.domain.Name, g.domain.Name, g.domain.EN
		}
		p.Groups = append(p.Groups, ref)
	}
	tags := slices.Clone(e.Tags)
	slices.Sort(tags)
	for _, t := range tags {
		p.Tags = append(p.Tags, Tag{DisplayName: t, ID: TagID(t), Name: t, State: "active"})
	}
	p.NumTags = len(p.Tags)
	if hasTable(e) {
		p.Resources = append(p.Resources, c.resourceDict(e))
	}
	p.NumResources = len(p.Resources)

	extras := []Extra{{"resource_code", e.Code}, {"classification_code", e.ClassificationCode},
		{"resource_format", e.Format}, {"resource_format_zh", label(cityhub.Formats, e.Format)},
		{"open_type", e.OpenType}, {"open_type_zh", label(cityhub.OpenTypes, e.OpenType)},
		{"update_cycle", e.UpdateCycle}, {"update_cycle_zh", label(cityhub.UpdateCycles, e.UpdateCycle)},
		{"provider_code", e.ProviderCode}}
	if o := dir.orgByID[e.ProviderID]; o != nil && o.dept.CreditCode != "" {
		extras[len(extras)-1].Value = o.dept.CreditCode
	}
	if e.OpenType == cityhub.Conditional && e.OpenCondition != "" {
		extras = append(extras, Extra{"open_condition", e.OpenCondition})
	}
	if e.PublishDate != "" {
		extras = append(extras, Extra{"publish_date", e.PublishDate})
	}
	if e.DataUpdatedAt != nil {
		extras = append(extras, Extra{"data_updated", formatTime(*e.DataUpdatedAt)})
	}
	if len(e.RelatedCodes) > 0 {
		extras = append(extras, Extra{"related_codes", strings.Join(e.RelatedCodes, ",")})
	}
	extras = slices.DeleteFunc(extras, func(x Extra) bool { return x.Value == "" })
	slices.SortFunc(extras, func(a, b Extra) int { return strings.Compare(a.Key, b.Key) })
	p.Extras = extras
	return p
}

// resourceDict describes the rows behind a tabular entry.
func (c *call) resourceDict(e *cityhub.CatalogEntry) *Resource {
	rid := cityhub.ResourceID(e.ID)
	var items []string
	for _, it := range e.PublicItems() {
		items = append(items, it.Name)
	}
	desc := "数据项：" + strings.Join(items, "、")
	if len(items) == 0 {
		desc = "无可公开的数据项"
	}
	if e.OpenType == cityhub.Conditional {
		desc += "。有条件开放：经申请同意后可调用。"
	}
	active := c.s.datastoreActive(c.ctx, e)
	r := &Resource{Created: formatTime(e.CreatedAt), DatastoreActive: active, Description: desc,
		Format: "CSV", ID: rid, MetadataModified: formatTime(e.UpdatedAt), Mimetype: "text/csv", Name: e.Name,
		PackageID: cityhub.PackageID(e.ID), State: "active", URL: c.s.base(c.r) + "/datastore/dump/" + rid,
		URLType: "datastore"}
	if active && e.DataUpdatedAt != nil {
		t := formatTime(*e.DataUpdatedAt)
		r.LastModified = &t
	}
	return r
}

var codeName = regexp.MustCompile(`^\d{1,20}[-/]\d{1,10}$`)

// publicEntry finds the entry a package id or name refers to, if the
// public may see it; anything else is not found, whether it exists or not.
func (c *call) publicEntry(ref string) (*cityhub.CatalogEntry, error) {
	ref = strings.TrimSpace(ref)
	var e *cityhub.CatalogEntry
	var err error
	if id, ok := cityhub.EntryIDFromPackageID(ref); ok {
		e, err = c.s.Store.Entry(c.ctx, id)
	} else if codeName.MatchString(ref) {
		e, err = c.s.Store.EntryByCode(c.ctx, cityhub.CodeFromPackageName(ref))
	} else {
		return nil, notFound("")
	}
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, notFound("")
	}
	if err != nil {
		return nil, err
	}
	if !e.PublicMetadata() {
		return nil, notFound("")
	}
	return e, nil
}

// resourceEntry finds the entry behind a resource id, if it is public and
// keeps rows.
func (c *call) resourceEntry(rid string) (*cityhub.CatalogEntry, bool, error) {
	id, ok := cityhub.EntryIDFromResourceID(strings.TrimSpace(rid))
	if !ok {
		return nil, false, nil
	}
	e, err := c.s.Store.Entry(c.ctx, id)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !e.PublicMetadata() || !hasTable(e) {
		return nil, false, nil
	}
	return e, true, nil
}

func (c *call) packageShow() (any, error) {
	ck := c.p.check()
	var ref string
	if ck.has("id") && ck.str("id") != "" {
		ref = ck.str("id")
	} else {
		ref = ck.required("name_or_id")
	}
	if err := ck.err(); err != nil {
		return nil, err
	}
	e, err := c.publicEntry(ref)
	if err != nil {
		return nil, err
	}
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	c.s.record(e.ID, cityhub.UseAPI)
	return c.packageDict(e, dir), nil
}

func (c *call) resourceShow() (any, error) {
	ck := c.p.check()
	rid := ck.required("id")
	if err := ck.err(); err != nil {
		return nil, err
	}
	e, ok, err := c.resourceEntry(rid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Resource was not found.")
	}
	c.s.record(e.ID, cityhub.UseAPI)
	return c.resourceDict(e), nil
}

func (c *call) packageList() (any, error) {
	ck := c.p.check()
	limit, _ := ck.integer("limit", true)
	offset, _ := ck.integer("offset", true)
	if err := ck.err(); err != nil {
		return nil, err
	}
	names := []string{}
	if limit == 0 { // no limit (CKAN takes 0 as none): every name
		w, err := c.s.catalogWalk(c.ctx)
		if err != nil {
			return nil, err
		}
		if offset < len(w.names) {
			names = w.names[offset:]
		}
		return names, nil
	}
	for len(names) < limit {
		n := min(limit-len(names), 1000)
		res, err := c.s.Search.SearchCatalog(c.ctx, cityhub.CatalogQuery{Public: true, Sort: "code", Limit: n,
			Offset: offset + len(names)})
		if err != nil {
			return nil, err
		}
		for _, e := range res.Entries {
			names = append(names, e.PackageName())
		}
		if len(res.Entries) < n {
			break
		}
	}
	return names, nil
}

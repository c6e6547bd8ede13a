package ckan

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cityhub/cityhub"
)

// Listing caps of CKAN (ckan.group_and_organization_list_max and
// ckan.group_and_organization_list_all_fields_max).
const (
	maxGroupList          = 1000
	maxGroupListAllFields = 25
)

// groupEntry is an organisation or a group in a listing.
type groupEntry struct {
	name, title, desc string
	count             int
	dict              func() *Group
}

// listGroups answers organization_list and group_list.
func (c *call) listGroups(all []groupEntry, namesKey string) (any, error) {
	ck := c.p.check()
	limit, hasLimit := ck.integer("limit", true)
	offset, _ := ck.integer("offset", true)
	allFields := ck.boolean("all_fields", false)
	sortBy := strings.ToLower(strings.Join(strings.Fields(ck.str("sort")), " "))
	if sortBy == "" {
		sortBy = strings.ToLower(strings.Join(strings.Fields(ck.str("order_by")), " "))
	}
	q := strings.ToLower(ck.str("q"))
	only, _ := ck.list(namesKey)
	if err := ck.err(); err != nil {
		return nil, err
	}
	field, dir := "title", "asc"
	if sortBy == "packages" || sortBy == "package_count" {
		field, dir = "package_count", "desc"
	} else if sortBy != "" {
		f := strings.Fields(sortBy)
		field = f[0]
		if len(f) > 1 {
			dir = f[1]
		}
		if len(f) > 2 || (dir != "asc" && dir != "desc") {
			return nil, invalidField("sort", "Invalid sort direction `"+sortBy+"`")
		}
		if field == "packages" {
			field = "package_count"
		}
		if !slices.Contains([]string{"name", "title", "package_count"}, field) {
			return nil, invalidField("sort", "Cannot sort by field `"+field+"`")
		}
	}
	list := slices.DeleteFunc(slices.Clone(all), func(g groupEntry) bool {
		if len(only) > 0 && !slices.Contains(only, g.name) {
			return true
		}
		return q != "" && !strings.Contains(strings.ToLower(g.name+"\x00"+g.title+"\x00"+g.desc), q)
	})
	slices.SortStableFunc(list, func(a, b groupEntry) int {
		var r int
		switch field {
		case "name":
			r = strings.Compare(a.name, b.name)
		case "title":
			r = strings.Compare(a.title, b.title)
		default:
			r = cmp.Compare(a.count, b.count)
		}
		if dir == "desc" {
			r = -r
		}
		if r == 0 {
			r = strings.Compare(a.name, b.name)
		}
		return r
	})
	most := maxGroupList
	if allFields {
		most = maxGroupListAllFields
	}
	if !hasLimit || limit == 0 || limit > most {
		limit = most
	}
	if offset >= len(list) {
		list = nil
	} else {
		list = list[offset:min(len(list), offset+limit)]
	}
	if allFields {
		out := make([]*Group, len(list))
		for i, g := range list {
			out[i] = g.dict()
		}
		return out, nil
	}
	out := make([]string, len(list))
	for i, g := range list {
		out[i] = g.name
	}
	return out, nil
}

func (c *call) organizationList() (any, error) {
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	all := make([]groupEntry, len(dir.orgs))
	for i, o := range dir.orgs {
		all[i] = groupEntry{name: o.name, title: o.dept.Name, desc: o.dept.ShortName, count: o.count,
			dict: func() *Group { return orgDict(o, true) }}
	}
	return c.listGroups(all, "organizations")
}

func (c *call) groupList() (any, error) {
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	all := make([]groupEntry, len(dir.groups))
	for i, g := range dir.groups {
		all[i] = groupEntry{name: g.domain.Code, title: g.domain.Name, desc: g.domain.EN, count: g.count,
			dict: func() *Group { return groupDict(g, true) }}
	}
	return c.listGroups(all, "groups")
}

// datasetsOf lists the first 1000 public datasets matching q, newest
// first, as CKAN's organization_show and group_show list them.
func (c *call) datasetsOf(q cityhub.CatalogQuery, dir *directory) ([]*Package, error) {
	q.Public, q.Sort, q.Limit = true, "updated", 1000
	res, err := c.s.Search.SearchCatalog(c.ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Package, 0, len(res.Entries))
	for _, e := range res.Entries {
		if e.PublicMetadata() {
			out = append(out, c.packageDict(e, dir))
		}
	}
	return out, nil
}

func (c *call) organizationShow() (any, error) {
	ck := c.p.check()
	ref := ck.required("id")
	withDatasets := ck.boolean("include_datasets", false)
	if err := ck.err(); err != nil {
		return nil, err
	}
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	ref = strings.TrimSpace(ref)
	o := dir.orgByKey[ref]
	if o == nil {
		o = dir.orgByKey[strings.ToLower(ref)]
	}
	if o == nil {
		return nil, notFound("")
	}
	g := orgDict(o, true)
	if withDatasets {
		if g.Packages, err = c.datasetsOf(cityhub.CatalogQuery{ProviderID: o.dept.ID}, dir); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (c *call) groupShow() (any, error) {
	ck := c.p.check()
	ref := ck.required("id")
	withDatasets := ck.boolean("include_datasets", false)
	if err := ck.err(); err != nil {
		return nil, err
	}
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	g := dir.groupByKey[strings.TrimSpace(ref)]
	if g == nil {
		return nil, notFound("")
	}
	out := groupDict(g, true)
	if withDatasets {
		if out.Packages, err = c.datasetsOf(cityhub.CatalogQuery{Domain: g.domain.Code}, dir); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *call) tagList() (any, error) {
	ck := c.p.check()
	query := strings.ToLower(ck.str("query"))
	vocab := ck.str("vocabulary_id")
	allFields := ck.boolean("all_fields", false)
	if err := ck.err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(vocab) != "" {
		return nil, notFound("Could not find vocabulary")
	}
	dir, err := c.s.directory(c.ctx)
	if err != nil {
		return nil, err
	}
	tags := dir.tags
	if !dir.tagsAll {
		w, err := c.s.catalogWalk(c.ctx)
		if err != nil {
			return nil, err
		}
		tags = w.tags
	}
	var names []string
	for _, t := range tags {
		if query == "" || strings.Contains(strings.ToLower(t.Value), query) {
			names = append(names, t.Value)
		}
	}
	slices.Sort(names)
	if allFields {
		out := make([]Tag, len(names))
		for i, n := range names {
			out[i] = Tag{DisplayName: n, ID: TagID(n), Name: n, State: "active"}
		}
		return out, nil
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}

func (c *call) licenseList() (any, error) { return c.s.licenses(), nil }

// helpDocs are the help_show texts, after CKAN's docstrings.
var helpDocs = map[string]string{
	"package_list": "Return a list of the names of the site's datasets (packages).\n\n" +
		":param limit: if given, the list of datasets will be broken into pages of at most ``limit`` datasets per page\n" +
		":param offset: when ``limit`` is given, the offset to start returning packages from\n:rtype: list of strings",
	"package_search": "Search for packages satisfying a given search criteria.\n\n" +
		":param q: the search query (free text; default \"*:*\")\n:param fq: filter clauses field:value joined by AND (organization, owner_org, groups, tags, res_format, license_id, extras_update_cycle, extras_open_type, extras_resource_format, extras_classification_code), and metadata_modified:[from TO to] with * for an open end (what changed since a harvest); on organization, owner_org, groups, tags, res_format and the extras_ fields also -field:value or NOT field:value, and field:(a OR b) or field:a OR field:b\n" +
		":param sort: \"score desc, metadata_modified desc\" (default), \"metadata_modified desc\", \"name asc\" or \"title_string asc\"\n" +
		":param rows: the maximum number of matching rows (datasets) to return (default 10, at most 1000)\n:param start: the offset in the complete result\n" +
		":param facet.field: the fields to facet upon (JSON list)\n:param facet.limit: values a facet lists (default 50)\n:param facet.mincount: the minimum count a facet value must have (default 1)\n" +
		":returns: count, results, facets, search_facets, sort",
	"package_show":      "Return the metadata of a dataset (package) and its resources.\n\n:param id: the id or name of the dataset\n:rtype: dictionary",
	"resource_show":     "Return the metadata of a resource.\n\n:param id: the id of the resource\n:rtype: dictionary",
	"organization_list": "Return a list of the names of the site's organizations.\n\n:param sort: \"title asc\" (default), \"name\" or \"package_count\"\n:param limit: (at most 1000, 25 with all_fields)\n:param offset:\n:param all_fields: return dictionaries instead of names\n:rtype: list of strings",
	"organization_show": "Return the details of an organization.\n\n:param id: the id or name of the organization\n:param include_datasets: include a truncated list of the organization's datasets (default false)\n:rtype: dictionary",
	"group_list":        "Return a list of the names of the site's groups (open-data domains).\n\n:param sort: \"title asc\" (default), \"name\" or \"package_count\"\n:param limit:\n:param offset:\n:param all_fields: return dictionaries instead of names\n:rtype: list of strings",
	"group_show":        "Return the details of a group (an open-data domain).\n\n:param id: the id or name of the group\n:param include_datasets: include a truncated list of the group's datasets (default false)\n:rtype: dictionary",
	"tag_list":          "Return a list of the site's tags.\n\n:param query: a tag name query to search for\n:param all_fields: return full tag dictionaries instead of just names\n:rtype: list of strings",
	"license_list":      "Return the list of licenses available for datasets on the site.\n\n:rtype: list of dictionaries",
	"datastore_search": "Search a DataStore resource.\n\n:param resource_id: id of the resource to be searched against\n:param filters: matching conditions to select, e.g {\"key1\": \"a\", \"key2\": [\"b\", \"c\"]}\n" +
		":param q: full text query (a substring of any text field)\n:param limit: maximum number of rows to return (default 100, at most 32000)\n:param offset: offset this number of rows\n" +
		":param after: (extension) only rows with _id greater than this, in _id order: what _links.next uses for cheap deep paging\n" +
		":param fields: fields to return (default: all public fields)\n:param sort: comma separated field names with ordering, e.g. \"fieldname1, fieldname2 desc\"\n" +
		":param include_total: True to return total matching record count (default true)\n:param distinct: return each combination of the fields' values once, without _id (default false)\n:param records_format: objects (default), lists, csv or tsv\n" +
		":returns: fields, offset, limit, filters, total, records_format, records, _links",
	"help_show": "Return the help string for a particular API action.\n\n:param name: Action function name (e.g. `package_search`)\n:rtype: string",
}

func (c *call) helpShow() (any, error) {
	ck := c.p.check()
	name := ck.required("name")
	if err := ck.err(); err != nil {
		return nil, err
	}
	doc, ok := helpDocs[name]
	if !ok {
		return nil, notFound("Action function not found")
	}
	return doc, nil
}

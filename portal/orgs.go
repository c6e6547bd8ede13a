package portal

import (
	"net/http"
	"strconv"

	"github.com/cityhub/cityhub"
)

type orgsData struct {
	Providers []*provider
	Datasets  int
}

// orgs lists the providers of open datasets, most datasets first.
func (p *Portal) orgs(w http.ResponseWriter, r *http.Request, pg *page) error {
	d, err := p.directory(r.Context())
	if err != nil {
		return err
	}
	pg.dir = d
	pg.Title, pg.Nav, pg.Data = pg.T("orgs.title"), "orgs", orgsData{Providers: d.providers, Datasets: d.datasets}
	return p.render(w, r, pg, http.StatusOK, "orgs")
}

type orgData struct {
	Dept     *cityhub.Department
	Provider *provider
	Division string
	Search   *searchData
}

// org is a provider's page: who it is and its open datasets, searchable.
// A department without public datasets is no provider of the portal.
func (p *Portal) org(w http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound()
	}
	d, err := p.directory(r.Context())
	if err != nil {
		return err
	}
	pg.dir = d
	cq, current := searchQuery(r)
	cq.ProviderID = id
	current.Del("provider")
	base := orgPath(id)
	sd, err := p.search(r, pg, d, cq, current, base, "provider")
	if err != nil {
		return err
	}
	pr := d.providerByID[id]
	if pr == nil {
		// Not in the directory: maybe published since it was built.
		probe, err := p.searcher().SearchCatalog(r.Context(), cityhub.CatalogQuery{Public: true, ProviderID: id, Limit: 1})
		if err != nil {
			return err
		}
		if probe.Total == 0 {
			return notFound()
		}
		pr = &provider{ID: id, Datasets: probe.Total}
	}
	dept, err := p.Store.Department(r.Context(), id)
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return notFound()
	}
	if err != nil {
		return err
	}
	od := orgData{Dept: dept, Provider: pr, Search: sd}
	if div, ok := cityhub.LookupDivision(dept.Division); ok {
		od.Division = div.Name
	}
	pg.Title, pg.Nav, pg.Data = dept.Name, "orgs", od
	pg.Description = pg.Tf("org.description", dept.Name, pr.Datasets)
	return p.render(w, r, pg, http.StatusOK, "org")
}

package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/cityhub/cityhub"
)

// catalogStatsFor computes statistics as of now, city-wide or for one
// provider, as the API's statistics do.
func (c *Console) catalogStatsFor(r *http.Request, providerID int64) (*cityhub.CatalogStats, error) {
	return c.Store.CatalogStats(r.Context(), c.Policy.StatsQuery(providerID, c.now()))
}

// bar is one line of a share chart: SVG widths, since the CSP allows no
// inline styles.
type bar struct {
	Label string
	Class string
	Count int
	Pct   float64 // 0–100
}

// Width is the bar's length for the SVG.
func (b bar) Width() string { return fmt.Sprintf("%.1f", b.Pct) }

// rate is an open rate drawn against the target: the domain and the
// department tables show it alike.
type rate struct {
	Pct     float64 // 0–100
	Below   bool    // under the target
	NoData  bool    // nothing openable: no rate
	TargetX string  // the target's place on the bar
}

func newRate(r float64, openable int, target float64) rate {
	return rate{Pct: 100 * r, NoData: openable == 0, Below: openable > 0 && r < target, TargetX: fmt.Sprintf("%.1f", 100*target)}
}

// Width is the bar's length for the SVG.
func (r rate) Width() string { return fmt.Sprintf("%.1f", r.Pct) }

// RateBar hands the rate to the rate-bar template from a row embedding it.
func (r rate) RateBar() rate { return r }

// Text is the rate for people.
func (r rate) Text() string { return fmt.Sprintf("%.0f%%", r.Pct) }

type domainRow struct {
	cityhub.DomainRate
	rate
	Label string
}

type deptRow struct {
	cityhub.DepartmentCatalogs
	rate
}

type statsData struct {
	catalogTab
	Stats          *cityhub.CatalogStats
	Target         float64
	TargetPct      string
	Published      int
	Openable       int
	PublishedOpen  int
	OpenRate       string
	Below          bool
	KeyDomains     int
	KeyBelow       int
	ShareBars      []bar
	OpenBars       []bar
	StatusBars     []bar
	Domains        []domainRow
	Departments    []deptRow
	Deadline       string
	Department     *cityhub.Department // the department page
	CatalogHref    string
	Rows           []entryRow
	Total          int
	Pager          pager
	NewForProvider bool
}

func pct(part, whole int) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// Percent formats a 0–100 value for people.
func (p *page) Percent(v float64) string { return fmt.Sprintf("%.0f%%", v) }

func (c *Console) statsData(p *page, st *cityhub.CatalogStats, domains map[string]*cityhub.Domain, onlyOpenable bool) statsData {
	target := c.Policy.Target()
	d := statsData{catalogTab: catalogTabFor("stats", p.User), Stats: st, Target: target,
		TargetPct: fmt.Sprintf("%.0f%%", 100*target),
		Deadline:  p.Tf("catalog.change_deadline", c.Policy.Workdays())}
	for _, dc := range st.Departments {
		d.Published += dc.Published
		d.Openable += dc.Openable
		d.PublishedOpen += dc.PublishedOpen
		d.Departments = append(d.Departments, deptRow{DepartmentCatalogs: dc, rate: newRate(dc.OpenRate, dc.Openable, target)})
	}
	rate := pct(d.PublishedOpen, d.Openable)
	d.OpenRate = p.Percent(rate)
	d.Below = d.Openable > 0 && rate < 100*target
	chart := func(kind string, terms []cityhub.Term, counts map[string]int) []bar {
		var out []bar
		for _, t := range terms {
			out = append(out, bar{Label: p.termLabel(t), Class: kind + "-" + t.Code, Count: counts[t.Code],
				Pct: pct(counts[t.Code], st.Entries)})
		}
		return out
	}
	d.ShareBars = chart("share", cityhub.ShareTypes, st.ShareTypes)
	d.OpenBars = chart("open", cityhub.OpenTypes, st.OpenTypes)
	d.StatusBars = chart("status", cityhub.Statuses, st.ByStatus)
	for _, dr := range st.Domains {
		if onlyOpenable && dr.Openable == 0 {
			continue
		}
		row := domainRow{DomainRate: dr, rate: newRate(dr.Rate, dr.Openable, target), Label: dr.Name}
		if dm, ok := domains[dr.Domain]; ok {
			row.Label = p.domainName(dm)
		}
		if dr.Key {
			d.KeyDomains++
			if row.Below {
				d.KeyBelow++
			}
		}
		d.Domains = append(d.Domains, row)
	}
	return d
}

// domainsByCode reads the domain table (the statistics carry only the
// Chinese names).
func (c *Console) domainsByCode(r *http.Request) (map[string]*cityhub.Domain, error) {
	ds, err := c.Store.Domains(r.Context())
	if err != nil {
		return nil, err
	}
	out := map[string]*cityhub.Domain{}
	for _, d := range ds {
		out[d.Code] = d
	}
	return out, nil
}

func (c *Console) catalogStats(w http.ResponseWriter, r *http.Request, p *page) error {
	st, err := c.catalogStatsFor(r, 0)
	if err != nil {
		return err
	}
	domains, err := c.domainsByCode(r)
	if err != nil {
		return err
	}
	d := c.statsData(p, st, domains, false)
	p.Title, p.Nav, p.Data = p.T("catalog.stats_title"), "catalog", d
	return c.render(w, r, p, http.StatusOK, "catalog_stats")
}

// catalogDepartment is one department's catalog: its statistics and its
// entries the caller may see.
func (c *Console) catalogDepartment(w http.ResponseWriter, r *http.Request, p *page) error {
	dept, err := c.departmentFromPath(r)
	if err != nil {
		return err
	}
	st, err := c.catalogStatsFor(r, dept.ID)
	if err != nil {
		return err
	}
	domains, err := c.domainsByCode(r)
	if err != nil {
		return err
	}
	d := c.statsData(p, st, domains, true)
	d.Department = dept
	d.CatalogHref = "/catalog?provider_id=" + strconv.FormatInt(dept.ID, 10)
	d.NewForProvider = p.User.CanEditCatalog(dept.ID) && canCreateEntries(p.User)
	n := pageNumber(r)
	scope := cityhub.ScopeOf(p.User)
	res, err := c.searcher().SearchCatalog(r.Context(), cityhub.CatalogQuery{ProviderID: dept.ID, Scope: scope, Sort: "code",
		Limit: pageSize, Offset: (n - 1) * pageSize})
	if err != nil {
		return err
	}
	ref, err := c.catalogRef(r, scope)
	if err != nil {
		return err
	}
	d.Rows, d.Total, d.Pager = ref.rows(res.Entries), res.Total, newPager(p, r, n, res.Total)
	p.Title, p.Nav, p.Data = p.Tf("catalog.department_title", dept.Name), "catalog", d
	return c.render(w, r, p, http.StatusOK, "catalog_department")
}

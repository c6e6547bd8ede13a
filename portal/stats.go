package portal

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
)

// The public statistics page: the open rate per domain against the plan's
// target, the use of the last 30 days, and the most used datasets; the
// same figures as GET /api/v1/open/stats.

// statsDays is the days of use the page shows.
const statsDays = 30

type statsDomain struct {
	cityhub.DomainRate
	Label       string
	MeetsTarget bool
}

type statsUsed struct {
	cityhub.UsageCount
	E *cityhub.CatalogEntry
}

type statsData struct {
	Target   float64
	Open     int
	Openable int
	OpenRate float64
	Domains  []statsDomain
	Days     []cityhub.UsageDay
	Total    cityhub.UsageCount
	From, To string
	Chart    string // the days as JSON for the chart
	MostUsed []statsUsed
}

func (p *Portal) usageReader() cityhub.UsageReader {
	if p.UsageStats != nil {
		return p.UsageStats
	}
	if u, ok := p.Store.(cityhub.UsageReader); ok {
		return u
	}
	return nil
}

func (p *Portal) stats(w http.ResponseWriter, r *http.Request, pg *page) error {
	if p.acc == nil {
		return notFound()
	}
	ctx := r.Context()
	now := time.Now().In(p.loc())
	st, err := p.acc.CatalogStats(ctx, p.Policy.StatsQuery(0, now))
	if err != nil {
		return err
	}
	d := &statsData{Target: p.Policy.Target()}
	for _, dep := range st.Departments {
		d.Open += dep.PublishedOpen
		d.Openable += dep.Openable
	}
	if d.Openable > 0 {
		d.OpenRate = float64(d.Open) / float64(d.Openable)
	}
	dir, err := p.directory(ctx)
	if err != nil {
		return err
	}
	pg.dir = dir
	for _, dr := range st.Domains {
		label := dr.Name
		if dm, ok := dir.domainByCode[dr.Domain]; ok {
			label = domainLabel(dm, pg.Lang)
		}
		d.Domains = append(d.Domains, statsDomain{DomainRate: dr, Label: label, MeetsTarget: dr.Openable == 0 || dr.Rate >= d.Target})
	}
	if u := p.usageReader(); u != nil {
		from := now.AddDate(0, 0, -(statsDays - 1))
		if d.Days, err = u.DailyUsage(ctx, 0, from, now); err != nil {
			return err
		}
		for _, day := range d.Days {
			d.Total.Views += day.Views
			d.Total.Downloads += day.Downloads
			d.Total.APICalls += day.APICalls
		}
		if len(d.Days) > 0 {
			d.From, d.To = d.Days[0].Day, d.Days[len(d.Days)-1].Day
		}
		most, err := u.MostUsed(ctx, from, 20)
		if err != nil {
			return err
		}
		for _, c := range most {
			if len(d.MostUsed) == 10 {
				break
			}
			e, err := p.Store.Entry(ctx, c.EntryID)
			if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			if !e.PublicMetadata() {
				continue
			}
			d.MostUsed = append(d.MostUsed, statsUsed{UsageCount: c, E: e})
		}
	}
	chart := struct {
		Days      []string `json:"days"`
		Views     []int64  `json:"views"`
		Downloads []int64  `json:"downloads"`
		API       []int64  `json:"api"`
		Labels    []string `json:"labels"`
	}{Days: []string{}, Views: []int64{}, Downloads: []int64{}, API: []int64{},
		Labels: []string{pg.T("stats.views"), pg.T("stats.downloads"), pg.T("stats.api")}}
	for _, day := range d.Days {
		chart.Days = append(chart.Days, day.Day)
		chart.Views = append(chart.Views, day.Views)
		chart.Downloads = append(chart.Downloads, day.Downloads)
		chart.API = append(chart.API, day.APICalls)
	}
	b, err := json.Marshal(chart)
	if err != nil {
		return err
	}
	d.Chart = string(b)
	pg.Title, pg.Nav, pg.Data, pg.Charts = pg.T("stats.title"), "stats", d, true
	return p.render(w, r, pg, http.StatusOK, "stats")
}

// Percent shows a fraction as a percentage with one decimal.
func (pg *page) Percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// PercentValue is a fraction as a whole percentage, 0 to 100, for a <progress>.
func (pg *page) PercentValue(f float64) int { return min(100, max(0, int(f*100+0.5))) }

package portal

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
)

// homeShown is how many datasets the newest and most used lists show.
const homeShown = 6

// usageWindow is the period the most used datasets are counted over.
const usageWindow = 30 * 24 * time.Hour

type domainTile struct {
	Code, Name string
	Key        bool
	Count      int
}

type usedDataset struct {
	E     *cityhub.CatalogEntry
	Count cityhub.UsageCount
}

type homeData struct {
	Datasets, OpenData, Conditional int
	Providers, Domains              int
	Rows                            int64
	RowsKnown                       bool
	Newest                          []*cityhub.CatalogEntry
	MostUsed                        []usedDataset
	ShowUsage                       bool // a usage reader is wired: the block shows, empty or not
	Tiles                           []domainTile
	TopProviders                    []*provider
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request, pg *page) error {
	ctx := r.Context()
	d, err := p.directory(ctx)
	if err != nil {
		return err
	}
	pg.dir = d
	hd := homeData{Datasets: d.datasets, OpenData: d.openData, Conditional: d.conditional,
		Providers: len(d.providers), Domains: len(d.byDomain), Rows: d.rows, RowsKnown: d.rowsKnown}
	res, err := p.searcher().SearchCatalog(ctx, cityhub.CatalogQuery{Public: true, Sort: "updated", Limit: homeShown})
	if err != nil {
		return err
	}
	for _, e := range res.Entries {
		if e.PublicMetadata() {
			hd.Newest = append(hd.Newest, e)
		}
	}
	if p.UsageStats != nil {
		hd.ShowUsage = true
		if hd.MostUsed, err = p.mostUsed(ctx); err != nil {
			// The counts are a nicety: the home page shows without them.
			p.log.WarnContext(ctx, "most used datasets", "err", err)
			hd.ShowUsage = false
		}
	}
	for _, dm := range d.domains {
		if n := d.byDomain[dm.Code]; n > 0 {
			hd.Tiles = append(hd.Tiles, domainTile{Code: dm.Code, Name: domainLabel(dm, pg.Lang), Key: dm.Key, Count: n})
		}
	}
	hd.TopProviders = d.providers[:min(len(d.providers), 8)]
	pg.Title, pg.Nav, pg.Data = pg.T("home.title"), "home", hd
	pg.Description = pg.Tf("home.description", hd.Datasets, hd.Providers)
	return p.render(w, r, pg, http.StatusOK, "home")
}

// mostUsed lists the public datasets used most over the last usageWindow.
func (p *Portal) mostUsed(ctx context.Context) ([]usedDataset, error) {
	counts, err := p.UsageStats.MostUsed(ctx, time.Now().In(p.loc()).Add(-usageWindow), homeShown*2)
	if err != nil {
		return nil, err
	}
	var out []usedDataset
	for _, c := range counts {
		if len(out) == homeShown {
			break
		}
		e, err := p.Store.Entry(ctx, c.EntryID)
		if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.PublicMetadata() { // used once, maybe withdrawn since
			out = append(out, usedDataset{E: e, Count: c})
		}
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package portal

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/cityhub/cityhub"
)

// directory is what several pages need and few requests should compute:
// the domains, the providers of public datasets with their counts, and the
// portal's totals. It is kept for dirTTL.
type directory struct {
	at           time.Time
	domains      []*cityhub.Domain
	domainByCode map[string]*cityhub.Domain
	providers    []*provider // most datasets first
	providerByID map[int64]*provider
	byDomain     map[string]int
	datasets     int // public entries (metadata)
	openData     int // of them open unconditionally
	conditional  int
	rows         int64 // rows of the public tables
	rowsKnown    bool  // false when there were too many tables to add up
}

// provider is a department with public datasets.
type provider struct {
	ID       int64
	Name     string
	Datasets int
	OpenData int // of them open unconditionally; the others on conditions
	Domains  []string
}

const (
	dirTTL = time.Minute
	// maxCountedTables bounds the tables whose rows the home page adds up.
	maxCountedTables = 2000
)

// directory returns the current directory. The first request builds it
// (the others wait); once it is older than dirTTL, one request starts a
// rebuild in the background and every request meanwhile gets the old one.
func (p *Portal) directory(ctx context.Context) (*directory, error) {
	p.dirMu.Lock()
	defer p.dirMu.Unlock()
	if p.dir == nil {
		d, err := p.buildDirectory(ctx)
		if err != nil {
			return nil, err
		}
		p.dir = d
		return d, nil
	}
	if time.Since(p.dir.at) >= dirTTL && !p.refreshing {
		p.refreshing = true
		go p.refreshDirectory(context.WithoutCancel(ctx))
	}
	return p.dir, nil
}

// refreshDirectory rebuilds the directory; on failure the old one stays
// until the next try.
func (p *Portal) refreshDirectory(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	d, err := p.buildDirectory(ctx)
	p.dirMu.Lock()
	defer p.dirMu.Unlock()
	p.refreshing = false
	if err != nil {
		p.log.WarnContext(ctx, "refresh the portal's directory", "err", err)
		p.dir.at = time.Now() // try again after another dirTTL
		return
	}
	p.dir = d
}

func (p *Portal) buildDirectory(ctx context.Context) (*directory, error) {
	domains, err := p.Store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	d := &directory{at: time.Now(), domains: domains, domainByCode: map[string]*cityhub.Domain{},
		providerByID: map[int64]*provider{}, byDomain: map[string]int{}, rowsKnown: true}
	for _, dm := range domains {
		d.domainByCode[dm.Code] = dm
	}
	entries, err := cityhub.AllEntries(ctx, p.searcher(), cityhub.CatalogQuery{Public: true}, nil)
	if err != nil {
		return nil, err
	}
	var tables []int64
	for _, e := range entries {
		if !e.PublicMetadata() { // the search says so already; the rule is checked where it is shown
			continue
		}
		d.datasets++
		pr := d.providerByID[e.ProviderID]
		if pr == nil {
			pr = &provider{ID: e.ProviderID, Name: e.ProviderName}
			d.providerByID[e.ProviderID] = pr
			d.providers = append(d.providers, pr)
		}
		pr.Datasets++
		if e.Domain != "" {
			d.byDomain[e.Domain]++
			if !slices.Contains(pr.Domains, e.Domain) {
				pr.Domains = append(pr.Domains, e.Domain)
			}
		}
		if e.PublicData() {
			d.openData++
			pr.OpenData++
			if keepsRows(e) {
				tables = append(tables, e.ID)
			}
		} else {
			d.conditional++
		}
	}
	slices.SortFunc(d.providers, func(a, b *provider) int {
		if c := cmp.Compare(b.Datasets, a.Datasets); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(tables) > maxCountedTables {
		d.rowsKnown = false
		return d, nil
	}
	for _, id := range tables {
		info, err := p.Store.Table(ctx, id)
		switch {
		case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
		case err != nil:
			return nil, err
		case info.Version > 0:
			d.rows += info.Rows
		}
	}
	return d, nil
}

// keepsRows tells whether an entry's format keeps rows: 电子表格 and 数据库.
func keepsRows(e *cityhub.CatalogEntry) bool {
	return e.Format == cityhub.FormatSheet || e.Format == cityhub.FormatDatabase
}

// providerName names a provider: from the directory, else from the store.
func (p *Portal) providerName(ctx context.Context, d *directory, id int64) string {
	if pr, ok := d.providerByID[id]; ok {
		return pr.Name
	}
	if dep, err := p.Store.Department(ctx, id); err == nil {
		return dep.Name
	}
	return "#" + itoa(id)
}

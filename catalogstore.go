package cityhub

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Classification is a node of the resource classification tree (信息资源分类):
// 类 (1 digit), 项 (+2), 目 (+3), 细目 (+more). Codes are prefixes of their
// children's codes. The tree is data: seeded with the guideline's categories
// and extended by administrators.
type Classification struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	Count  int    `json:"count"` // entries classified here or below (visible to the caller)
}

// IsBaseClassification reports whether code lies under 基础信息资源 (类 1).
func IsBaseClassification(code string) bool { return strings.HasPrefix(code, "1") }

// ClassificationParent derives the parent code from the code's length.
func ClassificationParent(code string) string {
	switch n := len(code); {
	case n <= 1:
		return ""
	case n <= 3:
		return code[:1]
	case n <= 6:
		return code[:3]
	default:
		return code[:6]
	}
}

// ValidateClassification checks a new node of the tree.
func (c *Classification) Validate() error {
	c.Code, c.Name = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name)
	f := FieldErrors{}
	valid := c.Code != "" && strings.Trim(c.Code, "0123456789") == "" &&
		(len(c.Code) == 1 || len(c.Code) == 3 || len(c.Code) == 6 || len(c.Code) > 6 && len(c.Code) <= 20)
	if !valid {
		f.Add("code", "digits: 类 1, 项 3, 目 6, 细目 7 to 20")
	}
	if c.Name == "" || len([]rune(c.Name)) > 100 {
		f.Add("name", "required, at most 100 characters")
	}
	c.Parent = ClassificationParent(c.Code)
	return f.Err("invalid classification")
}

// Domain is an open-data domain (开放领域) such as 交通状况. Key domains are
// the ones the plan sets an open-rate target for.
type Domain struct {
	Code string `json:"code"`
	Name string `json:"name"`
	EN   string `json:"en"`
	Key  bool   `json:"key"`
}

// CatalogScope says which unpublished entries a caller may see: all of
// them, or those of some departments. Published entries are always visible.
type CatalogScope struct {
	All         bool
	Departments []int64
}

// ScopeOf is the catalog scope of u.
func ScopeOf(u *User) CatalogScope {
	if u.CanReviewCatalog() || u.HasRole(RoleAuditor) {
		return CatalogScope{All: true}
	}
	if u != nil && u.DepartmentID != nil {
		return CatalogScope{Departments: []int64{*u.DepartmentID}}
	}
	return CatalogScope{}
}

// CatalogQuery is a search of the catalog.
type CatalogQuery struct {
	Q              string // full text: Chinese (any length) and English words
	Classification string // code prefix
	ProviderID     int64
	ShareType      string
	OpenType       string
	Format         string
	UpdateCycle    string
	Domain         string
	Tag            string
	Status         string
	// ModifiedFrom and ModifiedTo bound UpdatedAt, both included; zero
	// leaves that end open (harvesters ask for what changed since).
	ModifiedFrom, ModifiedTo time.Time
	// AnyOf keeps entries with any of a facet's values, NoneOf those with
	// none of them (CKAN's fq with OR and NOT), by the names in SetFacets;
	// a provider by its id in decimal. An empty AnyOf list keeps nothing.
	AnyOf, NoneOf map[string][]string
	// Public narrows to what the public sees (CatalogEntry.PublicMetadata):
	// published, open unconditionally or on conditions; Scope is moot.
	Public bool
	Scope  CatalogScope
	Sort   string // relevance (default with Q), updated (default), name, code
	Limit  int
	Offset int
	Facets bool
}

// ModifiedBounds are ModifiedFrom and ModifiedTo in Unix microseconds, as
// the stores keep times, rounded inwards (from up, to down) so nothing
// outside the given bounds is in; math.MinInt64 and math.MaxInt64 for an
// open end.
func (q CatalogQuery) ModifiedBounds() (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !q.ModifiedFrom.IsZero() {
		from = q.ModifiedFrom.UnixMicro()
		if q.ModifiedFrom.After(time.UnixMicro(from)) {
			from++
		}
	}
	if !q.ModifiedTo.IsZero() {
		to = q.ModifiedTo.UnixMicro()
		if q.ModifiedTo.Before(time.UnixMicro(to)) {
			to--
		}
	}
	return from, to
}

// SetFacets are the facets AnyOf and NoneOf take.
var SetFacets = []string{"provider", "share_type", "open_type", "format", "update_cycle", "domain", "tag"}

// CheckSets says which AnyOf or NoneOf facet is not one of SetFacets.
func (q CatalogQuery) CheckSets() error {
	for _, m := range []map[string][]string{q.AnyOf, q.NoneOf} {
		for name, vals := range m {
			if !slices.Contains(SetFacets, name) {
				return &Error{Code: EINVALID, Message: "invalid catalog query",
					Fields: map[string]string{"facet": fmt.Sprintf("%q cannot be filtered by sets: one of %s", name, strings.Join(SetFacets, ", "))}}
			}
			if name != "provider" {
				continue
			}
			for _, v := range vals {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					return &Error{Code: EINVALID, Message: "invalid catalog query",
						Fields: map[string]string{"provider": fmt.Sprintf("%q is not a provider id", v)}}
				}
			}
		}
	}
	return nil
}

// Facet names, as they appear in CatalogResult.Facets.
var FacetNames = []string{"classification", "provider", "share_type", "open_type", "format", "update_cycle", "domain", "tag", "status"}

// FacetValue is one value of a facet with the number of matching entries.
type FacetValue struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
	Count int    `json:"count"`
}

// MaxFacetValues is how many values a facet lists at most.
const MaxFacetValues = 50

// TopFacetValues orders a facet's values, most entries first (ties by
// value), keeps the first MaxFacetValues and never returns nil.
func TopFacetValues(vals []FacetValue) []FacetValue {
	slices.SortFunc(vals, func(a, b FacetValue) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	if len(vals) > MaxFacetValues {
		vals = vals[:MaxFacetValues]
	}
	if vals == nil {
		vals = []FacetValue{}
	}
	return vals
}

// CatalogResult is a page of search results.
type CatalogResult struct {
	Total   int                     `json:"total"`
	Entries []*CatalogEntry         `json:"entries"`
	Facets  map[string][]FacetValue `json:"facets,omitempty"`
}

// ChangeRequest asks a provider to update an entry (catalog data must be
// updated within 15 working days of a change).
type ChangeRequest struct {
	ID          int64      `json:"id"`
	EntryID     int64      `json:"entry_id"`
	Requester   string     `json:"requester"`
	Reason      string     `json:"reason"`
	CreatedAt   time.Time  `json:"created_at"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	ResolvedVer int        `json:"resolved_version,omitempty"`
}

// StatsQuery asks for catalog statistics of one department (or city-wide
// when ProviderID is 0) as of Now.
type StatsQuery struct {
	ProviderID int64
	Now        time.Time
	// ChangeDeadline is the creation time before which an unresolved change
	// request is overdue (15 working days before Now, from the calendar).
	ChangeDeadline time.Time
}

// CatalogStats measures a catalog against the plan's targets.
type CatalogStats struct {
	Entries        int                  `json:"entries"`
	ByStatus       map[string]int       `json:"by_status"`
	ShareTypes     map[string]int       `json:"share_types"`
	OpenTypes      map[string]int       `json:"open_types"`
	Domains        []DomainRate         `json:"domains"`
	OverdueUpdates int                  `json:"overdue_updates"` // published entries whose data is older than their update cycle
	OverdueChanges int                  `json:"overdue_changes"` // entries with a change request open beyond the deadline
	Departments    []DepartmentCatalogs `json:"departments,omitempty"`
}

// DomainRate is the open rate of one domain: entries published as open ÷
// entries that may be opened.
type DomainRate struct {
	Domain    string  `json:"domain"`
	Name      string  `json:"name"`
	Key       bool    `json:"key"`
	Openable  int     `json:"openable"`
	Published int     `json:"published"`
	Rate      float64 `json:"rate"`
}

// DepartmentCatalogs is one provider's line in city-wide statistics.
type DepartmentCatalogs struct {
	ProviderID     int64   `json:"provider_id"`
	Name           string  `json:"name"`
	Entries        int     `json:"entries"`
	Published      int     `json:"published"`
	Openable       int     `json:"openable"`
	PublishedOpen  int     `json:"published_open"`
	OpenRate       float64 `json:"open_rate"`
	OverdueUpdates int     `json:"overdue_updates"`
	OverdueChanges int     `json:"overdue_changes"`
}

// CycleLength is how old an entry's data may get before it is overdue;
// zero for cycles without a deadline.
func CycleLength(cycle string) time.Duration {
	day := 24 * time.Hour
	switch cycle {
	case CycleRealtime, CycleDaily:
		return day
	case CycleWeekly:
		return 7 * day
	case CycleMonthly:
		return 31 * day
	case CycleQuarterly:
		return 92 * day
	case CycleYearly:
		return 366 * day
	}
	return 0
}

// CatalogService keeps the catalog. Every change appends an audit record and
// a version in the same transaction.
type CatalogService interface {
	Classifications(ctx context.Context, scope CatalogScope) ([]*Classification, error)
	CreateClassification(ctx context.Context, c *Classification) error
	Domains(ctx context.Context) ([]*Domain, error)

	// CreateEntry assigns the resource code and saves version 1 as a draft.
	CreateEntry(ctx context.Context, e *CatalogEntry) error
	// UpdateEntry saves a new version; it resolves open change requests.
	UpdateEntry(ctx context.Context, e *CatalogEntry, note string) error
	TransitionEntry(ctx context.Context, id int64, action Transition, reason string) (*CatalogEntry, error)
	// DeleteEntry removes a draft that was never published.
	DeleteEntry(ctx context.Context, id int64) error
	Entry(ctx context.Context, id int64) (*CatalogEntry, error)
	EntryByCode(ctx context.Context, code string) (*CatalogEntry, error)
	EntryVersions(ctx context.Context, id int64) ([]*CatalogVersion, error)
	SearchCatalog(ctx context.Context, q CatalogQuery) (*CatalogResult, error)
	MarkDataUpdated(ctx context.Context, id int64, at time.Time) error

	// ImportEntries checks every row first, then writes all valid rows in one
	// transaction: with problems, nothing unless opts.SkipInvalid.
	ImportEntries(ctx context.Context, rows []ImportRow, opts ImportOptions) (*ImportReport, error)

	CreateChangeRequest(ctx context.Context, cr *ChangeRequest) error
	ChangeRequests(ctx context.Context, entryID int64) ([]*ChangeRequest, error)
	CatalogStats(ctx context.Context, q StatsQuery) (*CatalogStats, error)
}

// ImportRow is one entry of a bulk import, with where it came from.
type ImportRow struct {
	Row   int           // first spreadsheet row of the entry (1-based), for error reports
	Entry *CatalogEntry // Code set: keep that code (new entry) or update that entry
}

// ImportProblem is one reason a row cannot be imported.
type ImportProblem struct {
	Row    int    `json:"row"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ImportReport says what an import did (or, on a dry run, would do).
// Received = Created + Updated + Unchanged + Skipped; with problems and no
// skipping, every row is skipped: nothing half-applies.
type ImportReport struct {
	Received    int             `json:"received"`
	Created     int             `json:"created"`
	Updated     int             `json:"updated"`
	Unchanged   int             `json:"unchanged"` // rows equal to their entry: nothing written
	Skipped     int             `json:"skipped"`
	SkippedRows []int           `json:"skipped_rows,omitempty"`
	Problems    []ImportProblem `json:"problems,omitempty"`
	DryRun      bool            `json:"dry_run,omitempty"`
}

// ImportOptions control a bulk import.
type ImportOptions struct {
	SkipInvalid bool // import the valid rows when some are invalid
	DryRun      bool // check everything, change nothing
	KeepStatus  bool // take each entry's status from the file (reviewers restoring a catalog)
	// CanEdit decides per provider whether the importer may write its
	// entries; nil allows all.
	CanEdit func(providerID int64) bool
}

// CatalogSearcher answers catalog searches: the store itself, or a search
// index that follows it.
type CatalogSearcher interface {
	SearchCatalog(ctx context.Context, q CatalogQuery) (*CatalogResult, error)
}

// CatalogPolicy holds the configurable targets the catalog is measured
// against (keep deadlines configurable: 《政务数据共享条例》 refines them).
type CatalogPolicy struct {
	OpenRateTarget float64 // per key domain, as a fraction; 0.8 when zero
	ChangeWorkdays int     // working days to act on a change request; 15 when zero
}

// Target is the open-rate target in force.
func (p CatalogPolicy) Target() float64 {
	if p.OpenRateTarget > 0 {
		return p.OpenRateTarget
	}
	return 0.8
}

// Workdays is the change-request deadline in working days.
func (p CatalogPolicy) Workdays() int {
	if p.ChangeWorkdays > 0 {
		return p.ChangeWorkdays
	}
	return 15
}

// ChangeDeadline is the creation time before which an open change request
// is overdue at now, by the shipped working-day calendar.
func (p CatalogPolicy) ChangeDeadline(now time.Time) time.Time {
	return ChinaCalendar().AddWorkdays(now, -p.Workdays())
}

// StatsQuery is the statistics query for a provider (0: city-wide) at now.
func (p CatalogPolicy) StatsQuery(providerID int64, now time.Time) StatsQuery {
	return StatsQuery{ProviderID: providerID, Now: now, ChangeDeadline: p.ChangeDeadline(now)}
}

// AllEntries collects every entry matching q, its paging ignored, in code
// order: what an export writes.
func AllEntries(ctx context.Context, s CatalogSearcher, q CatalogQuery, progress func(done, total int)) ([]*CatalogEntry, error) {
	q.Sort, q.Facets, q.Limit, q.Offset = "code", false, 1000, 0
	var out []*CatalogEntry
	for {
		res, err := s.SearchCatalog(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Entries...)
		if progress != nil {
			progress(len(out), res.Total)
		}
		if len(res.Entries) < q.Limit || len(out) >= res.Total {
			return out, nil
		}
		q.Offset += q.Limit
	}
}

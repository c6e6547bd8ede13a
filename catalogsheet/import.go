package catalogsheet

import (
	"context"
	"io"
	"slices"

	"github.com/cityhub/cityhub"
)

// Formats a catalog file can come in.
const (
	CSV  = "csv"
	XLSX = "xlsx"
)

// Store is what an import needs of the platform.
type Store interface {
	Departments(ctx context.Context, f cityhub.DepartmentFilter) ([]*cityhub.Department, int, error)
	Domains(ctx context.Context) ([]*cityhub.Domain, error)
	ImportEntries(ctx context.Context, rows []cityhub.ImportRow, opts cityhub.ImportOptions) (*cityhub.ImportReport, error)
}

// Report is what an import did, by the file's rows and columns. Every entry
// of the file is counted once: Received = Created + Updated + Unchanged +
// Skipped.
type Report struct {
	Received    int       `json:"received"`
	Created     int       `json:"created"`
	Updated     int       `json:"updated"`
	Unchanged   int       `json:"unchanged"`
	Skipped     int       `json:"skipped"`
	SkippedRows []int     `json:"skipped_rows,omitempty"` // first row of each skipped entry
	Problems    []Problem `json:"problems,omitempty"`
	DryRun      bool      `json:"dry_run,omitempty"`
}

// Import reads a catalog file and writes it to the store. Every row is
// checked first, against the file's layout and against the store; with any
// problem nothing is written unless opts.SkipInvalid, and then the report
// names exactly which entries were skipped and why.
func Import(ctx context.Context, store Store, r io.Reader, format, sheet string, opts cityhub.ImportOptions) (*Report, error) {
	res, err := newStoreResolver(ctx, store)
	if err != nil {
		return nil, err
	}
	var sh *Sheet
	switch format {
	case CSV:
		sh, err = DecodeCSV(r, res)
	case XLSX:
		sh, err = DecodeXLSX(r, sheet, res)
	default:
		return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "unknown file format",
			Fields: map[string]string{"format": "csv or xlsx"}}
	}
	if err != nil {
		return nil, err
	}
	rep := &Report{Received: len(sh.Rows), Problems: sh.Problems, DryRun: opts.DryRun}
	spoiled := map[int]bool{}
	wholeFile := false
	for _, p := range sh.Problems {
		if p.Entry == 0 {
			wholeFile = true
		}
		spoiled[p.Entry] = true
	}
	var clean []cityhub.ImportRow
	for _, row := range sh.Rows {
		if !spoiled[row.Row] {
			clean = append(clean, row)
		}
	}
	// With problems in the file and no skipping, still check the rest
	// against the store, so one report lists everything to fix.
	storeOpts := opts
	storeOpts.DryRun = opts.DryRun || wholeFile || (len(spoiled) > 0 && !opts.SkipInvalid)
	var sr *cityhub.ImportReport
	if len(clean) > 0 {
		if sr, err = store.ImportEntries(ctx, clean, storeOpts); err != nil {
			return nil, err
		}
		for _, p := range sr.Problems {
			rep.Problems = append(rep.Problems, sh.Locate(p))
		}
	} else {
		sr = &cityhub.ImportReport{}
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int { return a.Row - b.Row })

	// The file is taken (or, on a dry run, would be) when nothing spoils it
	// whole and it has no problems or the user skips the rows that do.
	accepted := !wholeFile && (len(rep.Problems) == 0 || opts.SkipInvalid)
	for _, row := range sh.Rows {
		if !accepted || spoiled[row.Row] || slices.Contains(sr.SkippedRows, row.Row) {
			rep.SkippedRows = append(rep.SkippedRows, row.Row)
		}
	}
	rep.Skipped = len(rep.SkippedRows)
	if accepted {
		rep.Created, rep.Updated, rep.Unchanged = sr.Created, sr.Updated, sr.Unchanged
	}
	return rep, nil
}

// storeResolver looks departments and domains up by name or code.
type storeResolver struct {
	depts   map[string]int64
	domains map[string]string
}

func newStoreResolver(ctx context.Context, store Store) (*storeResolver, error) {
	ds, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	r := &storeResolver{depts: map[string]int64{}, domains: map[string]string{}}
	for _, d := range ds {
		r.depts[d.CreditCode] = d.ID
		r.depts[d.Name] = d.ID
		if d.ShortName != "" {
			if _, taken := r.depts[d.ShortName]; !taken {
				r.depts[d.ShortName] = d.ID
			}
		}
	}
	doms, err := store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range doms {
		r.domains[d.Code] = d.Code
		r.domains[d.Name] = d.Code
	}
	return r, nil
}

func (r *storeResolver) DepartmentID(s string) (int64, bool) {
	id, ok := r.depts[s]
	return id, ok
}

func (r *storeResolver) DomainCode(s string) (string, bool) {
	c, ok := r.domains[s]
	return c, ok
}

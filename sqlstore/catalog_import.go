package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// ImportEntries checks every row, then writes the valid ones in one
// transaction. A row whose code names an existing entry updates it; a new
// code is kept (the round trip of an export), and no code gets a new one.
func (s *Store) ImportEntries(ctx context.Context, rows []cityhub.ImportRow, opts cityhub.ImportOptions) (*cityhub.ImportReport, error) {
	rep := &cityhub.ImportReport{Received: len(rows), DryRun: opts.DryRun}
	err := s.change(ctx, "catalog.import", func(tx q) (string, any, error) {
		known := map[string]bool{}
		for _, r := range rows {
			if r.Entry.Code != "" {
				known[strings.TrimSpace(r.Entry.Code)] = true
			}
		}
		type planned struct {
			row cityhub.ImportRow
			old *cityhub.CatalogEntry // nil: create
		}
		var plan []planned
		seen := map[string]int{}
		for _, r := range rows {
			e := r.Entry
			e.Code = strings.TrimSpace(e.Code)
			problems := s.checkImportRow(ctx, tx, r, known, opts, seen)
			var old *cityhub.CatalogEntry
			if len(problems) == 0 && e.Code != "" {
				var err error
				old, err = scanEntry(tx.row(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.code = ?", e.Code))
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return "", nil, err
				}
				if old != nil && unchanged(old, e, opts.KeepStatus) {
					rep.Unchanged++
					continue // nothing to write: no new version, no problem if under review
				}
				if old != nil && !old.Editable() {
					problems = append(problems, cityhub.ImportProblem{Row: r.Row, Field: "code",
						Reason: "entry " + e.Code + " is under review and cannot change now"})
				}
				if old != nil && old.EverPublished && old.ClassificationCode != e.ClassificationCode {
					problems = append(problems, cityhub.ImportProblem{Row: r.Row, Field: "classification_code",
						Reason: "fixed once published: the resource code " + e.Code + " never changes"})
				}
			}
			if len(problems) > 0 {
				rep.Problems = append(rep.Problems, problems...)
				rep.SkippedRows = append(rep.SkippedRows, r.Row)
				continue
			}
			plan = append(plan, planned{r, old})
		}
		// A row naming the code of a row that is not imported would point
		// nowhere: it is skipped too, and so are the rows naming it.
		for {
			importable := map[string]bool{}
			for _, p := range plan {
				importable[p.row.Entry.Code] = true
			}
			kept := make([]planned, 0, len(plan))
			for _, p := range plan {
				missing := ""
				for _, c := range p.row.Entry.RelatedCodes {
					if !known[c] || importable[c] {
						continue
					}
					var n int
					if err := tx.row(ctx, "SELECT COUNT(*) FROM catalog_entries WHERE code = ?", c).Scan(&n); err != nil {
						return "", nil, err
					}
					if n == 0 {
						missing = c
						break
					}
				}
				if missing == "" {
					kept = append(kept, p)
					continue
				}
				rep.Problems = append(rep.Problems, cityhub.ImportProblem{Row: p.row.Row, Field: "related_codes",
					Reason: fmt.Sprintf("names %s, whose row %d cannot be imported", missing, seen[missing])})
				rep.SkippedRows = append(rep.SkippedRows, p.row.Row)
			}
			if len(kept) == len(plan) {
				break
			}
			plan = kept
		}
		sort.Ints(rep.SkippedRows)
		rep.Skipped = len(rep.SkippedRows)
		if (rep.Skipped > 0 && !opts.SkipInvalid) || opts.DryRun {
			if opts.DryRun {
				// Say what the import would do.
				for _, p := range plan {
					if p.old != nil {
						rep.Updated++
					} else {
						rep.Created++
					}
				}
			} else {
				rep.Skipped, rep.SkippedRows, rep.Unchanged = rep.Received, allRows(rows), 0
			}
			return "", nil, errRollback
		}
		// Kept codes first, so that no row without a code takes one of them.
		for _, p := range plan {
			if p.old == nil && p.row.Entry.Code != "" {
				if err := s.reserveCode(ctx, tx, p.row.Entry.Code); err != nil {
					return "", nil, err
				}
			}
		}
		for _, p := range plan {
			e := p.row.Entry
			status := e.Status
			if p.old != nil {
				if err := s.updateEntry(ctx, tx, p.old, e, "import", "bulk import"); err != nil {
					return "", nil, err
				}
				rep.Updated++
			} else {
				e.Status, e.StatusReason, e.EverPublished = cityhub.StatusDraft, "", false
				if opts.KeepStatus && status != "" {
					e.Status = status
					e.EverPublished = status == cityhub.StatusPublished || status == cityhub.StatusWithdrawn
				}
				if err := s.insertEntry(ctx, tx, e, "import"); err != nil {
					return "", nil, err
				}
				rep.Created++
			}
		}
		return "catalog", map[string]any{"received": rep.Received, "created": rep.Created, "updated": rep.Updated,
			"skipped_rows": rep.SkippedRows}, nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		return nil, err
	}
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Row < rep.Problems[j].Row })
	return rep, nil
}

// unchanged reports whether importing e over old would change nothing.
func unchanged(old, e *cityhub.CatalogEntry, keepStatus bool) bool {
	incoming := *e
	incoming.ProviderName, incoming.ProviderCode = old.ProviderName, old.ProviderCode
	if !keepStatus || incoming.Status == "" {
		incoming.Status = old.Status
	}
	if incoming.PublishDate == "" {
		incoming.PublishDate = old.PublishDate
	}
	incoming.Normalize()
	return len(cityhub.Diff(old, &incoming)) == 0
}

// errRollback ends an import transaction that must change nothing.
var errRollback = errors.New("rollback")

func allRows(rows []cityhub.ImportRow) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.Row
	}
	return out
}

// checkImportRow returns the problems of one row, by field.
func (s *Store) checkImportRow(ctx context.Context, tx q, r cityhub.ImportRow, known map[string]bool,
	opts cityhub.ImportOptions, seen map[string]int) []cityhub.ImportProblem {
	e := r.Entry
	var out []cityhub.ImportProblem
	add := func(field, reason string) {
		out = append(out, cityhub.ImportProblem{Row: r.Row, Field: field, Reason: reason})
	}
	if e.Code != "" {
		class, seq, ok := strings.Cut(e.Code, "/")
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || class == "" || strings.Trim(seq, "0123456789") != "" || len(seq) > 10 || n > maxSeq {
			add("code", "not a resource code (分类码/顺序码, the 顺序码 at most 999999999)")
		} else if class != e.ClassificationCode {
			add("code", fmt.Sprintf("%s does not start with its classification %s", e.Code, e.ClassificationCode))
		}
		if first, dup := seen[e.Code]; dup {
			add("code", fmt.Sprintf("also on row %d", first))
		}
		seen[e.Code] = r.Row
	}
	if opts.KeepStatus && e.Status != "" {
		if t, ok := cityhub.TermByLabel(cityhub.Statuses, e.Status); ok {
			e.Status = t.Code
		} else {
			add("status", "one of draft, submitted, approved, rejected, published, withdrawn")
		}
	}
	if opts.CanEdit != nil && e.ProviderID > 0 && !opts.CanEdit(e.ProviderID) {
		add("provider_id", "you may not write this department's catalog")
	}
	err := s.prepareEntry(ctx, tx, e, known)
	var de *cityhub.Error
	switch {
	case errors.As(err, &de) && len(de.Fields) > 0:
		fields := make([]string, 0, len(de.Fields))
		for f := range de.Fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			add(f, de.Fields[f])
		}
	case err != nil:
		add("", cityhub.ErrorMessage(err))
	}
	return out
}

// maxSeq is the largest 顺序码 an import may keep: next_seq is a 32-bit
// INTEGER on PostgreSQL, and the codes after it must still fit.
const maxSeq = 999_999_999

// reserveCode makes sure the classification's sequence passes an imported
// code's 顺序码, so later codes never collide with it.
func (s *Store) reserveCode(ctx context.Context, tx q, code string) error {
	class, seqText, _ := strings.Cut(code, "/")
	seq, _ := strconv.ParseInt(seqText, 10, 64)
	_, err := tx.exec(ctx, "UPDATE classifications SET next_seq = ? WHERE code = ? AND next_seq <= ?", seq+1, class, seq)
	return err
}

// Package loader loads files of rows into the tables behind catalog
// entries: it streams the file (package tabular), maps its columns to the
// entry's data items, validates and normalizes every cell, and writes the
// accepted rows in batches under a pending version that becomes visible at
// once and whole when the load succeeds. Nothing half-applies.
package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

// Store is what a load needs of the platform.
type Store interface {
	PrepareTable(ctx context.Context, e *cityhub.CatalogEntry) (*cityhub.TableInfo, error)
	StartLoad(ctx context.Context, job *cityhub.LoadJob) error
	WriteRows(ctx context.Context, job *cityhub.LoadJob, rows [][]any) error
	FinishLoad(ctx context.Context, job *cityhub.LoadJob, problems []cityhub.RowProblem, failure string) error
}

// Options control one load.
type Options struct {
	Mode          string // append, upsert or replace
	BlockOnErrors bool   // any rejected row refuses the whole load
	Source        string // file name, "api" or a URL, for the job record
	Read          tabular.Options
	// Mapping maps file columns to data items (name or English code) where
	// their names differ.
	Mapping map[string]string
	// BatchSize is the rows written per transaction (10,000 when zero).
	BatchSize int
	// Progress, when set, is called after every batch with the job so far.
	Progress func(job *cityhub.LoadJob)
}

// MaxProblems bounds the problems a job keeps (its counts stay exact).
const MaxProblems = 100000

// Load reads r (size bytes, or -1 when unknown) into entry's table. It
// returns the finished job, failed or not; an error means the load could
// not start or its result could not be recorded.
func Load(ctx context.Context, store Store, entry *cityhub.CatalogEntry, r io.Reader, size int64, opts Options) (*cityhub.LoadJob, error) {
	info, err := store.PrepareTable(ctx, entry)
	if err != nil {
		return nil, err
	}
	rd, err := tabular.Open(r, size, readOptions(opts.Read, entry.Items))
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	mapping, problems := tabular.Map(rd.Header(), entry.Items, opts.Mapping)
	if err := mappingError(problems); err != nil {
		return nil, err
	}
	plan := newPlan(info, entry.Items, mapping)
	job := &cityhub.LoadJob{EntryID: entry.ID, Mode: opts.Mode, Source: opts.Source, Format: string(opts.Read.Format),
		BlockOnErrors: opts.BlockOnErrors, BytesTotal: max(size, 0)}
	if err := store.StartLoad(ctx, job); err != nil {
		return nil, err
	}
	failure, rowProblems := run(ctx, store, job, rd, plan, opts)
	if failure != "" || (opts.BlockOnErrors && job.Rejected > 0) {
		if failure == "" {
			failure = fmt.Sprintf("%d rows were rejected and the load was set to stop on errors: nothing was stored", job.Rejected)
		}
		job.Discarded, job.Stored = job.Received-job.Rejected, 0
	}
	// Record the outcome even when the caller has gone away.
	if err := store.FinishLoad(context.WithoutCancel(ctx), job, rowProblems, failure); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(job)
	}
	return job, nil
}

// readOptions passes the entry's items for header detection.
func readOptions(o tabular.Options, items []cityhub.DataItem) tabular.Options {
	if o.Items == nil {
		o.Items = items
	}
	return o
}

func mappingError(problems []tabular.Problem) error {
	f := cityhub.FieldErrors{}
	for _, p := range problems {
		if p.Fatal {
			key := "columns"
			if p.Column != "" {
				key = "columns." + p.Column
			}
			f.Add(key, p.Reason)
		}
	}
	return f.Err("the file's columns do not fit the entry's data items")
}

// run reads every record, validates it and writes the accepted ones in
// batches. It returns why the load failed ("" when it did not) and the
// problems of the rejected rows.
func run(ctx context.Context, store Store, job *cityhub.LoadJob, rd tabular.Reader, p *plan, opts Options) (string, []cityhub.RowProblem) {
	size := opts.BatchSize
	if size <= 0 {
		size = 10000
	}
	// The writer stores batches while the reader parses and checks the
	// next ones: on two cores the work overlaps. It gets a snapshot of the
	// job's counts with each batch, so the two never share the job.
	type batch struct {
		rows [][]any
		job  cityhub.LoadJob
	}
	batches := make(chan batch, 2)
	written := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				err = store.WriteRows(ctx, &b.job, b.rows)
			}
		}
		written <- err
	}()
	finish := func(failure string) string {
		close(batches)
		if err := <-written; err != nil && failure == "" {
			failure = "storing rows failed: " + err.Error()
		}
		return failure
	}

	var problems []cityhub.RowProblem
	rows := make([][]any, 0, size)
	blocked := false
	flush := func() {
		if len(rows) == 0 || blocked {
			rows = rows[:0]
			return
		}
		job.Stored += int64(len(rows))
		job.BytesRead = rd.BytesRead()
		batches <- batch{rows, *job}
		rows = make([][]any, 0, size)
		if opts.Progress != nil {
			opts.Progress(job)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return finish("cancelled: " + err.Error()), problems
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return finish("the file could not be read to its end (" + err.Error() + "); nothing was stored"), problems
		}
		job.Received++
		row, rowProblems := p.convert(rec)
		for _, rp := range rec.Problems {
			if rp.Fatal { // a record the reader could not make sense of (nested JSON, …)
				rowProblems = append(rowProblems, cityhub.RowProblem{Line: rec.Line, Column: rp.Column, Reason: rp.Reason})
			}
		}
		if len(rowProblems) > 0 {
			job.Rejected++
			if len(problems) < MaxProblems {
				problems = append(problems, rowProblems...)
			}
			if opts.BlockOnErrors {
				blocked = true // keep reading: the report should list every bad row
			}
			continue
		}
		rows = append(rows, row)
		if len(rows) == size {
			flush()
		}
	}
	flush()
	job.BytesRead = rd.BytesRead()
	return finish(""), problems
}

// plan says, for each table column, which file column feeds it and how to
// check its values.
type plan struct {
	cols []planCol
}

type planCol struct {
	item      cityhub.DataItem
	source    int    // file column, -1 when the file has none
	sqlType   byte   // 'n' number, 'b' boolean, 's' text
	validator string // named check beyond the type
}

func newPlan(info *cityhub.TableInfo, items []cityhub.DataItem, m *tabular.Mapping) *plan {
	byName := map[string]cityhub.DataItem{}
	for _, it := range items {
		byName[it.Name] = it
	}
	p := &plan{}
	for _, c := range info.Columns {
		it, ok := byName[c.Item]
		if !ok {
			// A column whose item was removed from the entry stays empty.
			p.cols = append(p.cols, planCol{item: cityhub.DataItem{Name: c.Item, Type: c.Type}, source: -1, sqlType: 's'})
			continue
		}
		pc := planCol{item: it, source: m.Column(it.Name), validator: it.ValidatorName(), sqlType: 's'}
		switch it.Type {
		case "N", "Y":
			pc.sqlType = 'n'
		case "L":
			pc.sqlType = 'b'
		}
		p.cols = append(p.cols, pc)
	}
	return p
}

// convert checks one record and returns its values in table-column order,
// or the problems that reject it.
func (p *plan) convert(rec tabular.Record) ([]any, []cityhub.RowProblem) {
	row := make([]any, len(p.cols))
	var problems []cityhub.RowProblem
	for i, c := range p.cols {
		raw := ""
		if c.source >= 0 && c.source < len(rec.Values) {
			raw = rec.Values[c.source]
		}
		norm, problem := cityhub.ValidateValue(c.item, raw, c.validator)
		if problem != "" {
			problems = append(problems, cityhub.RowProblem{Line: rec.Line, Column: c.item.Name, Value: raw, Reason: problem})
			continue
		}
		if norm == "" {
			continue // nil: empty
		}
		switch c.sqlType {
		case 'n':
			f, err := strconv.ParseFloat(norm, 64)
			if err != nil {
				problems = append(problems, cityhub.RowProblem{Line: rec.Line, Column: c.item.Name, Value: raw, Reason: "not a number"})
				continue
			}
			row[i] = f
		case 'b':
			row[i] = strings.EqualFold(norm, "true")
		default:
			row[i] = norm
		}
	}
	return row, problems
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// cmdLoad loads a file into an entry's table from the command line, for
// files too big to upload, with a progress line.
func cmdLoad(ctx context.Context, e *env) error {
	mode := e.fs.String("mode", cityhub.LoadAppend, "append, upsert or replace")
	block := e.fs.Bool("block-on-errors", false, "store nothing when any row is rejected")
	format := e.fs.String("format", "", "csv, tsv, xlsx, json or ndjson; from the file name when absent")
	encoding := e.fs.String("encoding", "", "utf-8, gb18030 or gbk; detected when absent")
	sheet := e.fs.String("sheet", "", "XLSX sheet")
	header := e.fs.Int("header-row", 0, "1-based header row; detected when 0")
	var maps multiFlag
	e.fs.Var(&maps, "map", "file column:item where names differ (repeatable)")
	c, args, err := e.config(false)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return usageError{fmt.Errorf("load takes ENTRY (id or resource code) and FILE")}
	}
	opts := loader.Options{Mode: *mode, BlockOnErrors: *block, Source: args[1],
		Read: tabular.Options{Format: tabular.Format(*format), Encoding: *encoding, Sheet: *sheet, HeaderRow: *header}}
	for _, m := range maps {
		col, item, ok := strings.Cut(m, ":")
		if !ok {
			return usageError{fmt.Errorf("--map wants column:item, got %q", m)}
		}
		if opts.Mapping == nil {
			opts.Mapping = map[string]string{}
		}
		opts.Mapping[col] = item
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if opts.Read.Format == "" {
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if opts.Read.Format, err = tabular.DetectFormat(args[1], "", head[:n]); err != nil {
			return usageError{err}
		}
	}
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), true)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = cliActor(ctx)
	entry, err := findEntry(ctx, store, args[0])
	if err != nil {
		return err
	}
	start := time.Now()
	last := time.Time{}
	opts.Progress = func(j *cityhub.LoadJob) {
		if time.Since(last) < 200*time.Millisecond && j.Status == cityhub.JobRunning {
			return
		}
		last = time.Now()
		fmt.Fprint(e.stderr, "\r"+progressLine(j, time.Since(start)))
	}
	job, err := loader.Load(ctx, store, entry, f, st.Size(), opts)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "job %d %s: %d rows received, %d stored, %d rejected, %d discarded; table version %d (%s)\n",
		job.ID, job.Status, job.Received, job.Stored, job.Rejected, job.Discarded, job.Version, time.Since(start).Round(time.Millisecond))
	if job.Status == cityhub.JobFailed {
		return fmt.Errorf("load failed: %s", job.Error)
	}
	return nil
}

// progressLine is a one-line bar: share of the file read, rows and rate.
func progressLine(j *cityhub.LoadJob, elapsed time.Duration) string {
	const width = 30
	share := 0.0
	if j.BytesTotal > 0 {
		share = min(1, float64(j.BytesRead)/float64(j.BytesTotal))
	}
	filled := int(share * width)
	rate := float64(j.Received) / max(elapsed.Seconds(), 0.001)
	return fmt.Sprintf("[%s%s] %5.1f%%  %d rows, %d rejected  %.0f rows/s ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), share*100, j.Received, j.Rejected, rate)
}

// findEntry takes an entry id or its resource code.
func findEntry(ctx context.Context, store cityhub.Store, ref string) (*cityhub.CatalogEntry, error) {
	if strings.Contains(ref, "/") {
		return store.EntryByCode(ctx, ref)
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return nil, usageError{fmt.Errorf("ENTRY is an id or a resource code such as 102/000001, got %q", ref)}
	}
	return store.Entry(ctx, id)
}

package ckan

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cityhub/cityhub"
)

// dumpParams are what /datastore/dump takes: CKAN's, without sort (a dump
// streams in _id order, so a table of any size streams at the same cost a
// page).
var dumpParams = []string{"format", "bom", "limit", "offset", "q", "plain", "language", "filters", "fields",
	"full_text"}

// defaultDumpPage is the rows read per query while streaming.
const defaultDumpPage = 5000

// dumpWriter writes a dump in one format, a row at a time.
type dumpWriter interface {
	header(fields []*dsField) error
	row(values []any) error
	close() error
}

// serveDump streams a resource's rows. Errors before the first byte are
// plain text with their status, as CKAN's dump view answers them.
func (s *Server) serveDump(w http.ResponseWriter, r *http.Request) {
	rid := r.PathValue("id")
	p := params{}
	addValues(p, r.URL.Query())
	delete(p, "callback")
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
	}
	format := strings.ToLower(strings.TrimSpace(p.check().str("format")))
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "tsv" && format != "json" {
		fail(http.StatusBadRequest, "format: csv, tsv or json")
		return
	}
	bom := p.check().boolean("bom", false)
	c := &call{s: s, r: r, ctx: r.Context(), name: "dump", p: p}
	dp := params{"resource_id": rid}
	for k, v := range p {
		if k != "format" && k != "bom" {
			dp[k] = v
		}
	}
	if _, ok := dp["limit"]; !ok {
		dp["limit"] = "0" // 0 here: no limit (read below)
	}
	d, ck := readDatastore(dp, append([]string{"resource_id"}, dumpParams...))
	limit := -1
	if n, ok := ck.integer("limit", true); ok && n > 0 {
		limit = n
	}
	if err := ck.err(); err != nil {
		fail(http.StatusConflict, err.Error())
		return
	}
	e, err := c.datastoreEntry(d.resourceID)
	if err == nil {
		d.resolve(dp, ck, e)
		err = ck.err()
	}
	var ae *apiError
	if errors.As(err, &ae) {
		fail(ae.Status, ae.Error())
		return
	}
	if err != nil {
		s.logger().ErrorContext(r.Context(), "dump", "resource", rid, "err", err)
		fail(http.StatusInternalServerError, "Internal Server Error")
		return
	}

	dumpPage := defaultDumpPage
	if s.DumpPage > 0 {
		dumpPage = s.DumpPage
	}
	rq := d.rq
	rq.Total, rq.Version = false, 0
	rq.Limit = dumpPage
	if limit >= 0 {
		rq.Limit = min(dumpPage, limit)
	}
	// The first page checks the query before anything is written.
	page, err := s.Store.QueryRows(r.Context(), rq)
	if err != nil {
		ae := s.apiError(r, "dump", rowsError(err, rid))
		fail(ae.Status, ae.Error())
		return
	}
	s.record(e.ID, cityhub.UseDownload)
	fields := d.fields
	if !d.fieldsGiven {
		fields = []*dsField{idField}
		for _, name := range page.Fields {
			if f := d.fieldSet.byName[name]; f != nil {
				fields = append(fields, f)
			}
		}
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	var out dumpWriter
	switch format {
	case "csv", "tsv":
		ct, comma := "text/csv; charset=utf-8", ','
		if format == "tsv" {
			ct, comma = "text/tab-separated-values; charset=utf-8", '\t'
		}
		w.Header().Set("Content-Type", ct)
		if bom {
			bw.WriteString("\uFEFF")
		}
		cw := csv.NewWriter(bw)
		cw.Comma = comma
		out = &csvDump{w: cw}
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		out = &jsonDump{w: bw}
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, rid, format))
	if err := out.header(fields); err != nil {
		return
	}
	written := 0
	rq.Version = page.Version // every page from the same version, whatever loads meanwhile
	values := make([]any, len(fields))
	for {
		for _, row := range page.Rows {
			if limit >= 0 && written >= limit {
				break
			}
			for i, f := range fields {
				values[i] = value(row, f)
			}
			if err := out.row(values); err != nil {
				return // the client went away
			}
			written++
		}
		if page.Next == 0 || limit >= 0 && written >= limit {
			break
		}
		rq.After, rq.Offset = page.Next, 0
		if limit >= 0 {
			rq.Limit = min(dumpPage, limit-written)
		}
		if page, err = s.Store.QueryRows(r.Context(), rq); err != nil {
			s.logger().ErrorContext(r.Context(), "dump rows", "resource", rid, "err", err)
			return // headers are out: the truncated file is the error
		}
	}
	if out.close() == nil {
		bw.Flush()
	}
}

type csvDump struct{ w *csv.Writer }

func (c *csvDump) header(fields []*dsField) error {
	rec := make([]string, len(fields))
	for i, f := range fields {
		rec[i] = f.ID
	}
	return c.w.Write(rec)
}

func (c *csvDump) row(values []any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		if s, ok := v.(string); ok {
			rec[i] = cityhub.SpreadsheetSafe(s) // a file people open in Excel
		} else {
			rec[i] = cellText(v)
		}
	}
	return c.w.Write(rec)
}

func (c *csvDump) close() error { c.w.Flush(); return c.w.Error() }

// jsonDump writes {"fields": [...], "records": [[...], ...]}, as CKAN's
// JSON dump does.
type jsonDump struct {
	w   *bufio.Writer
	n   int
	buf bytes.Buffer
}

func (j *jsonDump) header(fields []*dsField) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	j.w.WriteString("{\n  \"fields\": ")
	j.w.Write(b)
	_, err = j.w.WriteString(",\n  \"records\": [")
	return err
}

func (j *jsonDump) row(values []any) error {
	if j.n > 0 {
		j.w.WriteByte(',')
	}
	j.n++
	j.w.WriteString("\n    ")
	b := &j.buf
	b.Reset()
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		appendValue(b, v)
	}
	b.WriteByte(']')
	_, err := j.w.Write(b.Bytes())
	return err
}

func (j *jsonDump) close() error {
	_, err := j.w.WriteString("\n  ]\n}\n")
	return err
}

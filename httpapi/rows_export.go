package httpapi

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

func (s *Server) rowsExportRoutes() []route {
	return []route{
		{"GET", "/api/v1/catalog/entries/{id}/rows/export", signedIn, s.exportRows, operation{
			tag: "data", summary: "Stream every row matching the query (same parameters as …/rows, paging ignored) as CSV, JSON or XLSX",
			query: []param{{"file", "string", "csv (default), json or xlsx"}, {"bom", "boolean", "CSV: start with a UTF-8 BOM for Excel"},
				{"filter", "string", "as in …/rows"}, {"fields", "string", "as in …/rows"}, {"q", "string", "as in …/rows"}}}},
	}
}

// rowWriter writes an export in one format, a row at a time.
type rowWriter interface {
	header(fields []string) error
	row(values []any) error
	close() error
}

func (s *Server) exportRows(w http.ResponseWriter, r *http.Request) error {
	e, err := s.entryFor(r)
	if err != nil {
		return err
	}
	rq, err := RowQueryFromRequest(r, e.ID)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("file")
	if format == "" {
		format = "csv"
	}
	bom, err := boolParam(r, "bom")
	if err != nil {
		return err
	}
	rq.AllowedItems, rq.Masks = RowScopeOf(caller(r), e)
	rq.Sort, rq.Offset, rq.Total, rq.Limit, rq.After = nil, 0, false, 5000, 0
	// The first page checks the query before anything is written.
	page, err := s.Store.QueryRows(r.Context(), rq)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-v%d.%s", e.Code, page.Version, format)
	name = strings.ReplaceAll(name, "/", "-")
	var out rowWriter
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if bom {
			bw.WriteString("\uFEFF")
		}
		out = &csvRowWriter{w: csv.NewWriter(bw)}
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		out = &jsonRowWriter{w: bw}
	case "xlsx":
		w.Header().Set("Content-Type", xlsxType)
		out, err = newXLSXRowWriter(bw)
		if err != nil {
			return err
		}
	default:
		return invalid("file", "csv, json or xlsx")
	}
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	if err := out.header(page.Fields); err != nil {
		return err
	}
	rows := 0
	rq.Version = page.Version // every page from the same version, whatever loads meanwhile
	for {
		for _, m := range page.Rows {
			values := make([]any, len(page.Fields))
			for i, f := range page.Fields {
				values[i] = m[f]
			}
			if err := out.row(values); err != nil {
				return nil // the client went away; nothing more to say
			}
			rows++
		}
		if page.Next == 0 {
			break
		}
		rq.After = page.Next
		if page, err = s.Store.QueryRows(r.Context(), rq); err != nil {
			s.Logger.ErrorContext(r.Context(), "export rows", "entry", e.ID, "err", err)
			return nil // headers are out: the truncated file is the error
		}
	}
	if err := out.close(); err != nil {
		return nil
	}
	bw.Flush()
	rq.Fields = page.Fields
	return s.auditRead(r.Context(), e, rq, rows)
}

type csvRowWriter struct{ w *csv.Writer }

func (c *csvRowWriter) header(fields []string) error { return c.w.Write(fields) }

func (c *csvRowWriter) row(values []any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		rec[i] = cityhub.SpreadsheetSafe(cellText(v))
	}
	return c.w.Write(rec)
}

func (c *csvRowWriter) close() error { c.w.Flush(); return c.w.Error() }

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

type jsonRowWriter struct {
	w      *bufio.Writer
	fields []string
	n      int
}

func (j *jsonRowWriter) header(fields []string) error {
	j.fields = fields
	_, err := j.w.WriteString("[")
	return err
}

func (j *jsonRowWriter) row(values []any) error {
	m := make(map[string]any, len(values))
	for i, v := range values {
		m[j.fields[i]] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if j.n > 0 {
		j.w.WriteString(",\n")
	}
	j.n++
	_, err = j.w.Write(b)
	return err
}

func (j *jsonRowWriter) close() error { _, err := j.w.WriteString("]\n"); return err }

// xlsxRowWriter streams rows into a workbook; excelize's stream writer keeps
// rows on disk, not in memory.
type xlsxRowWriter struct {
	out *bufio.Writer
	f   *excelize.File
	sw  *excelize.StreamWriter
	n   int // rows written
}

func newXLSXRowWriter(out *bufio.Writer) (*xlsxRowWriter, error) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	return &xlsxRowWriter{out: out, f: f, sw: sw}, nil
}

func (x *xlsxRowWriter) header(fields []string) error { return x.row(toAny(fields)) }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func (x *xlsxRowWriter) row(values []any) error {
	x.n++
	cell, _ := excelize.CoordinatesToCellName(1, x.n)
	return x.sw.SetRow(cell, values)
}

func (x *xlsxRowWriter) close() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if _, err := x.f.WriteTo(x.out); err != nil {
		return err
	}
	return x.f.Close()
}

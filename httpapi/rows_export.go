package httpapi

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cityhub/cityhub/tabular"
)

func (s *Server) rowsExportRoutes() []route {
	return []route{
		{"GET", "/api/v1/catalog/entries/{id}/rows/export", signedIn, s.exportRows, operation{
			tag: "data", summary: "Stream every row matching the query (same parameters as …/rows, paging ignored) as CSV, JSON or XLSX",
			query: []param{{"file", "string", "csv (default), json or xlsx"}, {"bom", "boolean", "CSV: start with a UTF-8 BOM for Excel"},
				{"filter", "string", "as in …/rows"}, {"fields", "string", "as in …/rows"}, {"q", "string", "as in …/rows"}}}},
	}
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
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if bom {
			bw.WriteString("\uFEFF")
		}
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	case "xlsx":
		w.Header().Set("Content-Type", tabular.XLSXType)
	default:
		return invalid("file", "csv, json or xlsx")
	}
	out, err := tabular.NewWriter(format, bw)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	if err := out.Header(page.Fields); err != nil {
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
			if err := out.Row(values); err != nil {
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
	if err := out.Close(); err != nil {
		return nil
	}
	bw.Flush()
	rq.Fields = page.Fields
	return s.auditRead(r.Context(), e, rq, rows)
}

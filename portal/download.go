package portal

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

const (
	// exportBatch is the rows read from the store at a time.
	exportBatch = 5000
)

// download streams every row of an open dataset, its public items only,
// in one of the formats: csv, csv-bom (for Excel), json, xlsx. All pages
// come from the version current when it starts, whatever loads meanwhile.
func (p *Portal) download(w http.ResponseWriter, r *http.Request, pg *page) error {
	t, err := p.openTableFromPath(r)
	if err != nil {
		return err
	}
	format := r.PathValue("format")
	ext := format
	switch format {
	case "csv", "json":
	case "csv-bom":
		ext = "csv"
	case "xlsx":
		if t.Info.Rows > tabular.MaxXLSXRows {
			return &cityhub.Error{Code: cityhub.ETOOLARGE, Message: pg.T("download.xlsx_too_big")}
		}
	default:
		return notFound()
	}
	rq := cityhub.RowQuery{EntryID: t.E.ID, Version: t.Info.Version, AllowedItems: t.Allowed(), Limit: exportBatch}
	// The first batch checks the query before anything is written.
	batch, err := p.Store.QueryRows(r.Context(), rq)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	hdr := w.Header()
	switch format {
	case "csv", "csv-bom":
		hdr.Set("Content-Type", "text/csv; charset=utf-8")
		if format == "csv-bom" {
			bw.WriteString("\uFEFF")
		}
	case "json":
		hdr.Set("Content-Type", "application/json; charset=utf-8")
	case "xlsx":
		hdr.Set("Content-Type", tabular.XLSXType)
	}
	out, err := tabular.NewWriter(ext, bw)
	if err != nil {
		return err
	}
	file := t.E.PackageName()
	if format == "csv-bom" {
		file += "-excel"
	}
	hdr.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s`,
		file, ext, rfc5987(t.E.Name+"-"+file+"."+ext)))
	hdr.Set("Cache-Control", "no-store")
	p.record(t.E.ID, cityhub.UseDownload)

	if err := out.Header(batch.Fields); err != nil {
		return nil // the client went away
	}
	values := make([]any, len(batch.Fields))
	for {
		for _, m := range batch.Rows {
			for i, f := range batch.Fields {
				values[i] = m[f]
			}
			if err := out.Row(values); err != nil {
				return nil
			}
		}
		if batch.Next == 0 {
			break
		}
		rq.After = batch.Next
		if batch, err = p.Store.QueryRows(r.Context(), rq); err != nil {
			if r.Context().Err() == nil {
				p.log.ErrorContext(r.Context(), "download rows", "entry", t.E.ID, "err", err)
			}
			return nil // the headers are out: the truncated file is the error
		}
	}
	if err := out.Close(); err != nil {
		return nil
	}
	if err := bw.Flush(); err != nil {
		p.log.DebugContext(r.Context(), "download", "err", err)
	}
	return nil
}

// rfc5987 encodes a file name for filename* (RFC 5987 attr-char).
func rfc5987(s string) string {
	const attr = "!#$&+-.^_`|~"
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attr, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

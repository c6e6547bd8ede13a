package portal

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

const (
	// exportBatch is the rows read from the store at a time.
	exportBatch = 5000
	// maxXLSXRows is a worksheet's row limit (1,048,576) less the header.
	maxXLSXRows = 1_048_575
	xlsxType    = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// rowWriter writes a download in one format, a row at a time.
type rowWriter interface {
	header(fields []string) error
	row(values []any) error
	close() error
}

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
		if t.Info.Rows > maxXLSXRows {
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
	var out rowWriter
	hdr := w.Header()
	switch format {
	case "csv", "csv-bom":
		hdr.Set("Content-Type", "text/csv; charset=utf-8")
		if format == "csv-bom" {
			bw.WriteString("\uFEFF")
		}
		out = &csvWriter{w: csv.NewWriter(bw)}
	case "json":
		hdr.Set("Content-Type", "application/json; charset=utf-8")
		out = &jsonWriter{w: bw}
	case "xlsx":
		hdr.Set("Content-Type", xlsxType)
		if out, err = newXLSXWriter(bw); err != nil {
			return err
		}
	}
	file := t.E.PackageName()
	if format == "csv-bom" {
		file += "-excel"
	}
	hdr.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s`,
		file, ext, rfc5987(t.E.Name+"-"+file+"."+ext)))
	hdr.Set("Cache-Control", "no-store")
	p.record(t.E.ID, cityhub.UseDownload)

	if err := out.header(batch.Fields); err != nil {
		return nil // the client went away
	}
	values := make([]any, len(batch.Fields))
	for {
		for _, m := range batch.Rows {
			for i, f := range batch.Fields {
				values[i] = m[f]
			}
			if err := out.row(values); err != nil {
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
	if err := out.close(); err != nil {
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

// cellText writes a value as text: numbers as written, empty for none.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) header(fields []string) error { return c.w.Write(fields) }

func (c *csvWriter) row(values []any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		if s, ok := v.(string); ok {
			rec[i] = cityhub.SpreadsheetSafe(s) // no formulas for Excel to run
		} else {
			rec[i] = cellText(v)
		}
	}
	return c.w.Write(rec)
}

func (c *csvWriter) close() error { c.w.Flush(); return c.w.Error() }

// jsonWriter writes an array of objects whose keys keep the columns' order.
type jsonWriter struct {
	w     *bufio.Writer
	keys  [][]byte // each field, JSON-encoded
	n     int
	scrap []byte
}

func (j *jsonWriter) header(fields []string) error {
	for _, f := range fields {
		k, err := json.Marshal(f)
		if err != nil {
			return err
		}
		j.keys = append(j.keys, k)
	}
	_, err := j.w.WriteString("[")
	return err
}

func (j *jsonWriter) row(values []any) error {
	b := j.scrap[:0]
	if j.n > 0 {
		b = append(b, ",\n"...)
	} else {
		b = append(b, '\n')
	}
	j.n++
	b = append(b, '{')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		b = append(b, ':')
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b = append(b, val...)
	}
	b = append(b, '}')
	j.scrap = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) close() error { _, err := j.w.WriteString("\n]\n"); return err }

// xlsxWriter streams rows into a workbook: excelize's stream writer keeps
// them on disk, not in memory, until the file is written out at the end.
type xlsxWriter struct {
	out   io.Writer
	f     *excelize.File
	sw    *excelize.StreamWriter
	bold  int
	n     int
	cells []any
}

func newXLSXWriter(out io.Writer) (*xlsxWriter, error) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		f.Close()
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxWriter{out: out, f: f, sw: sw, bold: bold}, nil
}

func (x *xlsxWriter) header(fields []string) error {
	cells := make([]any, len(fields))
	for i, f := range fields {
		cells[i] = excelize.Cell{StyleID: x.bold, Value: f}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return x.put(cells)
}

func (x *xlsxWriter) row(values []any) error {
	if cap(x.cells) < len(values) {
		x.cells = make([]any, len(values))
	}
	cells := x.cells[:len(values)]
	copy(cells, values)
	return x.put(cells)
}

func (x *xlsxWriter) put(cells []any) error {
	x.n++
	at, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	if err := x.sw.SetRow(at, cells); err != nil {
		x.f.Close()
		return err
	}
	return nil
}

func (x *xlsxWriter) close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.out)
	return err
}

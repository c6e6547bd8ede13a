package tabular

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

// XLSXType is the media type of an XLSX workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxXLSXRows is a worksheet's row limit (1,048,576) less the header.
const MaxXLSXRows = 1_048_575

// A Writer streams rows out in one format: the header, the rows, Close.
// Nothing is held but the current row (XLSX rows wait in excelize's
// temporary file until Close writes the workbook).
type Writer interface {
	Header(fields []string) error
	Row(values []any) error
	Close() error
}

// NewWriter writes csv (text guarded against spreadsheet formulas), json
// (an array of objects whose keys keep the columns' order) or xlsx (a bold,
// frozen header row) to w.
func NewWriter(format string, w *bufio.Writer) (Writer, error) {
	switch format {
	case "csv":
		return &csvWriter{w: csv.NewWriter(w)}, nil
	case "json":
		return &jsonWriter{w: w}, nil
	case "xlsx":
		return newXLSXWriter(w)
	}
	return nil, fmt.Errorf("no writer for %q: use csv, json or xlsx", format)
}

// CellText writes a value as text: numbers as written, empty for none.
func CellText(v any) string {
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

func (c *csvWriter) Header(fields []string) error { return c.w.Write(fields) }

func (c *csvWriter) Row(values []any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		if s, ok := v.(string); ok {
			rec[i] = cityhub.SpreadsheetSafe(s) // no formulas for Excel to run
		} else {
			rec[i] = CellText(v)
		}
	}
	return c.w.Write(rec)
}

func (c *csvWriter) Close() error { c.w.Flush(); return c.w.Error() }

// jsonWriter writes an array of objects whose keys keep the columns' order.
type jsonWriter struct {
	w     *bufio.Writer
	keys  [][]byte // each field, JSON-encoded
	n     int
	scrap []byte
}

func (j *jsonWriter) Header(fields []string) error {
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

func (j *jsonWriter) Row(values []any) error {
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

func (j *jsonWriter) Close() error { _, err := j.w.WriteString("\n]\n"); return err }

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

func (x *xlsxWriter) Header(fields []string) error {
	cells := make([]any, len(fields))
	for i, f := range fields {
		cells[i] = excelize.Cell{StyleID: x.bold, Value: f}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return x.put(cells)
}

func (x *xlsxWriter) Row(values []any) error {
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

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.out)
	return err
}

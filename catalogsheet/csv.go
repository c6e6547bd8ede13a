package catalogsheet

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

// ReadCSV reads a catalog in the guideline's layout from CSV. See DecodeCSV.
func ReadCSV(r io.Reader, res Resolver) ([]cityhub.ImportRow, []Problem, error) {
	s, err := DecodeCSV(r, res)
	if err != nil {
		return nil, nil, err
	}
	return s.Rows, s.Problems, nil
}

// DecodeCSV reads a catalog in the guideline's layout from CSV, streaming.
// The text may be UTF-8 (with or without a byte order mark), GB18030 (GBK,
// as Excel saves "CSV" on Chinese Windows; told apart from UTF-8 by its
// first non-ASCII bytes) or UTF-16 with a byte order mark (Excel's "Unicode
// text", tab-separated). The separator is a comma, or a tab when the first
// line with either has no comma. Rows are counted as a spreadsheet shows them:
// a quoted field with line breaks stays in one row.
//
// The error is an I/O error of r, returned as is; everything wrong inside
// the file is a Problem. res may be nil: providers and domains are then
// left unresolved (ProviderID 0, Domain as written).
func DecodeCSV(r io.Reader, res Resolver) (*Sheet, error) {
	src := &sourceReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	text, err := tabular.DecodeText(br, "")
	if err != nil {
		return nil, err
	}
	tb := bufio.NewReaderSize(text, 64<<10)
	cr := csv.NewReader(tb)
	cr.Comma = tabular.SniffComma(tb)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	d := newDecoder(res)
	d.checkUTF = true
	for num := 1; ; num++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			d.problem(num, "", fmt.Sprintf("not valid CSV (line %d, column %d: %v): rows from here on were not read", pe.StartLine, pe.Column, pe.Err), 0)
			d.incomplete = true
			break
		}
		if err != nil && src.err != nil {
			return nil, src.err
		}
		if err != nil {
			d.problem(num, "", fmt.Sprintf("cannot read the text here (%v): rows from here on were not read", err), 0)
			d.incomplete = true
			break
		}
		if !d.row(num, rec) {
			break
		}
	}
	return d.finish(), nil
}

// sourceReader keeps the error of the reader a file comes from, to tell it
// from problems of the file's content.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// WriteCSV writes entries as CSV in the guideline's layout, UTF-8 with
// CRLF line ends; bom puts a byte order mark first, which Excel needs to
// read UTF-8. Every row of an entry repeats the entry's columns, so the
// rows can be sorted and filtered. Text that Excel would take for a
// formula (=, +, -, @ first) gets an apostrophe in front, which the readers
// remove again.
func WriteCSV(w io.Writer, entries []*cityhub.CatalogEntry, bom bool) error {
	bw := bufio.NewWriter(w)
	if bom {
		if _, err := bw.WriteString("\uFEFF"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	rec := make([]string, numColumns)
	for k := range rec {
		rec[k] = columns[k].Header
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, e := range entries {
		if e == nil {
			continue
		}
		for i := range max(1, len(e.Items)) {
			cells := rowCells(e, i, true)
			for k := range rec {
				rec[k] = cells[k].text
				if !cells[k].number {
					rec[k] = escapeFormula(rec[k])
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// formulaStart are the first characters that make Excel read a CSV field
// as a formula.
const formulaStart = "=+-@"

// escapeFormula defuses text that Excel would run as a formula (CSV
// injection) with a leading apostrophe.
func escapeFormula(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

// unescapeFormula undoes escapeFormula.
func unescapeFormula(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

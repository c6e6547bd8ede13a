package catalogsheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
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
	text, err := decodeText(br)
	if err != nil {
		return nil, err
	}
	tb := bufio.NewReaderSize(text, 64<<10)
	cr := csv.NewReader(tb)
	cr.Comma = sniffComma(tb)
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

// decodeText returns the text of a CSV file as UTF-8.
func decodeText(br *bufio.Reader) (io.Reader, error) {
	head, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		return br, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		return transform.NewReader(br, dec), nil
	}
	return &sniffer{br: br}, nil
}

// sniffer passes ASCII through; at the first non-ASCII byte it decides
// whether the text is UTF-8 or GB18030 from the next few kilobytes, and
// decodes the rest accordingly.
type sniffer struct {
	br      *bufio.Reader
	decided io.Reader
}

// sniffWindow is how much text past the first non-ASCII byte decides the
// encoding: GB18030 text of that length is practically never valid UTF-8.
const sniffWindow = 4096

func (s *sniffer) Read(p []byte) (int, error) {
	if s.decided != nil {
		return s.decided.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return 0, err
		}
	}
	buf, _ := s.br.Peek(s.br.Buffered())
	n := 0
	for n < len(buf) && n < len(p) && buf[n] < utf8.RuneSelf {
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		_, _ = s.br.Discard(n)
		return n, nil
	}
	window, err := s.br.Peek(sniffWindow)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, err
	}
	if !looksUTF8(window, err == io.EOF) {
		s.decided = transform.NewReader(s.br, simplifiedchinese.GB18030.NewDecoder())
	} else {
		s.decided = s.br
	}
	return s.decided.Read(p)
}

// looksUTF8 reports whether text that starts with a non-ASCII byte is
// UTF-8: valid throughout (but for a rune cut off at the end when more
// follows), or valid for several Chinese characters before a bad byte,
// which is then a fault of the file to report rather than a sign of
// GB18030 (whose text is rarely valid UTF-8 for more than a character or
// two).
func looksUTF8(b []byte, atEOF bool) bool {
	runes := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1 && !atEOF && !utf8.FullRune(b):
			return true // cut off by the window
		case r == utf8.RuneError && size <= 1:
			return runes >= 4
		case size > 1:
			runes++
		}
		b = b[size:]
	}
	return true
}

// sniffComma picks the separator from the first line that has a comma or
// a tab: a tab when that line has no comma.
func sniffComma(br *bufio.Reader) rune {
	head, _ := br.Peek(16 << 10)
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		switch {
		case bytes.IndexByte(line, ',') >= 0:
			return ','
		case bytes.IndexByte(line, '\t') >= 0:
			return '\t'
		}
	}
	return ','
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

package tabular

import (
	"fmt"
	"io"
	"strings"
)

// rowSource yields the rows of a grid: CSV text or an XLSX sheet.
type rowSource interface {
	// next returns the next row's number and cells (valid until the next
	// call), io.EOF at the end.
	next() (int, []string, error)
	bytesRead() int64
	close() error
	unit() string // what ParseError calls a row: "line" or "row"
}

// Header detection looks at this many non-empty rows, and this much text.
const (
	detectRows  = 20
	detectBytes = 1 << 20
)

// table turns the rows of a source into records under a header.
type table struct {
	src       rowSource
	header    []string
	headerRow int
	pending   []heldRow // rows read while looking for the header
	values    []string
	problems  []Problem
	err       error
}

type heldRow struct {
	line  int
	cells []string
}

func newTable(src rowSource, opts Options) (*table, error) {
	t := &table{src: src}
	var err error
	if opts.HeaderRow > 0 {
		err = t.readHeaderAt(opts.HeaderRow)
	} else {
		err = t.detectHeader(newMatcher(opts.Items))
	}
	if err != nil {
		return nil, err
	}
	for len(t.header) > 0 && strings.TrimSpace(t.header[len(t.header)-1]) == "" {
		t.header = t.header[:len(t.header)-1]
	}
	return t, nil
}

func (t *table) readHeaderAt(row int) error {
	for {
		line, cells, err := t.src.next()
		if err == io.EOF {
			return &ParseError{Reason: fmt.Sprintf("the file has no row %d to take the header from", row)}
		}
		if err != nil {
			return err
		}
		switch {
		case line == row && !blank(cells):
			t.header, t.headerRow = clone(cells), line
			return nil
		case line >= row:
			return &ParseError{Line: row, Reason: "the header row is empty", unit: t.src.unit()}
		}
	}
}

func (t *table) detectHeader(m *matcher) error {
	size := 0
	for len(t.pending) < detectRows && size < detectBytes {
		line, cells, err := t.src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if blank(cells) {
			continue
		}
		t.pending = append(t.pending, heldRow{line, clone(cells)})
		for _, c := range cells {
			size += len(c)
		}
	}
	if len(t.pending) == 0 {
		return &ParseError{Reason: "the file has no rows: not even a header"}
	}
	need := min(2, len(m.items))
	pick := -1
	if need > 0 {
		for i, r := range t.pending {
			if m.count(r.cells) >= need {
				pick = i
				break
			}
		}
	}
	for i := 0; pick < 0 && i < len(t.pending); i++ {
		if filled(t.pending[i].cells) >= 2 {
			pick = i
		}
	}
	if pick < 0 {
		pick = 0
	}
	h := t.pending[pick]
	t.header, t.headerRow = h.cells, h.line
	t.pending = t.pending[pick+1:]
	return nil
}

func (t *table) Header() []string { return t.header }
func (t *table) HeaderRow() int   { return t.headerRow }
func (t *table) BytesRead() int64 { return t.src.bytesRead() }
func (t *table) Close() error     { return t.src.close() }

func (t *table) Next() (Record, error) {
	if t.err != nil {
		return Record{}, t.err
	}
	for {
		var line int
		var cells []string
		if len(t.pending) > 0 {
			line, cells = t.pending[0].line, t.pending[0].cells
			t.pending[0] = heldRow{}
			t.pending = t.pending[1:]
		} else {
			var err error
			if line, cells, err = t.src.next(); err != nil {
				t.err = err
				return Record{}, err
			}
		}
		if blank(cells) {
			continue
		}
		return t.record(line, cells), nil
	}
}

// record lines cells up with the header.
func (t *table) record(line int, cells []string) Record {
	n := len(t.header)
	if cap(t.values) < n {
		t.values = make([]string, n)
	}
	v := t.values[:n]
	k := copy(v, cells)
	clear(v[k:])
	t.problems = t.problems[:0]
	extra := 0
	for _, c := range cells[k:] {
		if strings.TrimSpace(c) != "" {
			extra++
		}
	}
	if extra > 0 {
		t.problems = append(t.problems, Problem{Row: line, Kind: KindExtraValues, Fatal: true,
			Reason: fmt.Sprintf("%d values beyond the %d columns of the header are ignored", extra, n)})
	}
	rec := Record{Line: line, Values: v}
	if len(t.problems) > 0 {
		rec.Problems = t.problems
	}
	return rec
}

// blank reports whether every cell is empty or white space.
func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" && strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// filled counts the cells that are not blank.
func filled(cells []string) int {
	n := 0
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

func clone(cells []string) []string { return append([]string(nil), cells...) }

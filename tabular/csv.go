package tabular

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
)

// csvSource reads the records of CSV or TSV text.
type csvSource struct {
	src   *source
	text  *text
	limit *textLimit
	tb    *bufio.Reader
	cr    *csv.Reader
	max   int

	row     int // spreadsheet row of the last record
	endLine int // text line the last record ends on
}

func newCSVSource(src *source, br *bufio.Reader, opts Options) (*csvSource, error) {
	t, err := decodeText(br, opts.Encoding)
	if err != nil {
		if cityhub.ErrorCode(err) == cityhub.EINVALID {
			return nil, err
		}
		return nil, src.fail(err, 0, "")
	}
	lim := &textLimit{r: t, limit: int64(opts.MaxRecordBytes)}
	tb := bufio.NewReaderSize(lim, bufSize)
	comma := opts.Delimiter
	switch {
	case comma != 0:
	case opts.Format == TSV:
		comma = '\t'
	default:
		comma = SniffComma(tb)
		if src.err != nil {
			return nil, src.err
		}
	}
	if comma == '"' || comma == '\r' || comma == '\n' || comma == utf8.RuneError || !utf8.ValidRune(comma) {
		return nil, cityhub.Errorf(cityhub.EINVALID, "%q cannot separate fields", comma)
	}
	cr := csv.NewReader(tb)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &csvSource{src: src, text: t, limit: lim, tb: tb, cr: cr, max: opts.MaxRecordBytes}, nil
}

// SniffComma picks the separator from the first line that has a comma or a
// tab: a tab when that line has no comma.
func SniffComma(tb *bufio.Reader) rune {
	head, _ := tb.Peek(16 << 10)
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

func (s *csvSource) next() (int, []string, error) {
	rec, err := s.cr.Read()
	if err != nil {
		return 0, nil, s.error(err)
	}
	line, _ := s.cr.FieldPos(0)
	end := s.cr.InputOffset()
	if end-s.limit.base > int64(s.max) {
		return 0, nil, &ParseError{Line: line, Err: errTooLong,
			Reason: fmt.Sprintf("the row is longer than %d bytes: is a quote (\") never closed?", s.max)}
	}
	s.limit.base = end
	if s.row == 0 {
		s.row = line // blank lines above count as rows
	} else {
		s.row += line - s.endLine
	}
	last := len(rec) - 1
	endLine, _ := s.cr.FieldPos(last)
	s.endLine = endLine + strings.Count(rec[last], "\n")
	if s.text.unchecked() {
		for i, v := range rec {
			if !utf8.ValidString(v) {
				l, c := s.cr.FieldPos(i)
				return 0, nil, &ParseError{Line: l, Column: c,
					Reason: "the text is not valid UTF-8 (if the file is in GB18030 or GBK, choose that encoding)"}
			}
		}
	}
	return s.row, rec, nil
}

func (s *csvSource) error(err error) error {
	if err == io.EOF {
		if s.src.err != nil {
			return s.src.err
		}
		return io.EOF
	}
	if errors.Is(err, errTooLong) {
		return &ParseError{Line: s.endLine + 1, Err: err,
			Reason: fmt.Sprintf("the row that starts here is longer than %d bytes: is a quote (\") never closed?", s.max)}
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return s.src.fail(err, s.endLine+1, "")
	}
	switch {
	case pe.Err == csv.ErrQuote && s.limit.eof && s.tb.Buffered() == 0 && s.limit.quotes%2 == 1:
		return &ParseError{Line: pe.StartLine, Err: ErrTruncated,
			Reason: "the quoted field that starts in this row is still open at the end of the file: the file is incomplete, or a closing quote (\") is missing"}
	case pe.Err == csv.ErrQuote:
		return &ParseError{Line: pe.Line, Column: pe.Column, Err: pe.Err,
			Reason: `a quote (") inside a quoted field must be doubled (""), and the closing quote must end the field`}
	case pe.Err == csv.ErrBareQuote:
		return &ParseError{Line: pe.Line, Column: pe.Column, Err: pe.Err,
			Reason: `a quote (") in a field that does not start with one: put the field in quotes and double the quote ("")`}
	}
	return &ParseError{Line: pe.Line, Column: pe.Column, Err: pe.Err, Reason: pe.Err.Error()}
}

func (s *csvSource) bytesRead() int64 { return s.src.n.Load() }
func (s *csvSource) close() error     { return nil }
func (s *csvSource) unit() string     { return "line" }

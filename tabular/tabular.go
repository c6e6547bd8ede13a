// Package tabular streams rows out of tabular files — CSV, TSV, XLSX, JSON
// arrays and NDJSON — and maps their columns to a catalog entry's data items;
// it also writes rows out as CSV, JSON or XLSX downloads (Writer).
//
// Reading parses and nothing more: values come out as text, as the file holds
// them, for the caller to validate and store. Rows are read one at a time:
// for CSV, TSV, JSON and NDJSON memory stays flat however large the file;
// an XLSX workbook needs memory for its distinct texts (see Open).
package tabular

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/cityhub/cityhub"
)

// Format is the kind of a tabular file.
type Format string

// The formats Open reads.
const (
	CSV    Format = "csv"
	TSV    Format = "tsv" // CSV with tabs
	XLSX   Format = "xlsx"
	JSON   Format = "json"   // a top-level array of objects
	NDJSON Format = "ndjson" // one object per line (also .jsonl)
)

// Formats lists the formats in the order the console offers them.
var Formats = []Format{CSV, TSV, XLSX, JSON, NDJSON}

// DefaultMaxRecordBytes bounds the text of one row (a CSV record, an NDJSON
// line, a JSON array element) when Options.MaxRecordBytes is 0.
const DefaultMaxRecordBytes = 4 << 20

// DefaultMaxUnzipBytes bounds what an XLSX file may unpack to when
// Options.MaxUnzipBytes is 0 (against zip bombs; it is what lands in
// temporary files).
const DefaultMaxUnzipBytes = 16 << 30

// DefaultMaxSharedStrings bounds the distinct texts of an XLSX workbook
// when Options.MaxSharedStrings is 0: about 100 MB of memory.
const DefaultMaxSharedStrings = 1_000_000

// Options say how to read a file. The zero value reads a file whose format
// Open can tell from its first bytes, detecting encoding and header row.
type Options struct {
	// Format of the file; "" tells it from the first bytes (see
	// DetectFormat, which can also use the file's name and content type).
	Format Format
	// Encoding of CSV and TSV text: "utf-8", "gb18030" (also "gbk",
	// "gb2312", "cp936": GB18030 is their superset) or "utf-16" (with or
	// without byte order mark, little-endian by default). "" detects: a byte
	// order mark, else UTF-8 if the text from its first non-ASCII byte on
	// is UTF-8 (64 KiB of it decide), else GB18030. An explicit encoding
	// wins over the byte order mark. JSON and NDJSON are always UTF-8.
	Encoding string
	// Sheet of an XLSX workbook; "" is the first visible sheet.
	Sheet string
	// HeaderRow is the 1-based row holding the column names (CSV, TSV,
	// XLSX; rows counted as Record.Line counts them). 0 detects it: the
	// first row with at least two cells naming Items (one if there is
	// only one item), else the first row with two non-empty cells, else
	// the first non-empty row; only the first 20 non-empty rows are looked
	// at. Rows above the header (titles, notes) are skipped.
	HeaderRow int
	// Delimiter of CSV fields; 0 is a tab for TSV, and for CSV a comma
	// unless the first line with a comma or tab has only tabs.
	Delimiter rune
	// Items help detect the header row; nothing else uses them.
	Items []cityhub.DataItem
	// MaxRecordBytes bounds the text of one row; 0 is
	// DefaultMaxRecordBytes. A longer row is an error (in CSV, usually a
	// quote that is never closed).
	MaxRecordBytes int
	// MaxUnzipBytes bounds what an XLSX file may unpack to; 0 is
	// DefaultMaxUnzipBytes.
	MaxUnzipBytes int64
	// MaxSharedStrings bounds the distinct texts of an XLSX workbook (its
	// shared strings, which excelize indexes in memory at about 100 bytes
	// each); 0 is DefaultMaxSharedStrings. A workbook with more is refused
	// with a message to save it as CSV.
	MaxSharedStrings int
	// TempDir holds the temporary files of XLSX reading; "" is
	// os.TempDir().
	TempDir string
}

// Reader streams the rows of a file. A Reader is not safe for concurrent
// use, except BytesRead, which a progress display may call at any time.
type Reader interface {
	// Header returns the column names as the file writes them (trailing
	// empty header cells dropped). For JSON and NDJSON it is the keys of
	// the first objects (up to 1,000 of them or 4 MiB), in the order they
	// first appear.
	Header() []string
	// HeaderRow returns the row of the header (Record.Line numbering), 0
	// for JSON and NDJSON.
	HeaderRow() int
	// Next returns the next row, io.EOF after the last. CSV, TSV and XLSX
	// rows whose cells are all empty or white space are skipped (JSON
	// elements never are). Any other error ends the reading: later
	// calls return it again. An error in the file's content is a
	// *ParseError (it unwraps to a *cityhub.Error with code EINVALID); an
	// error of the underlying reader is returned as is.
	Next() (Record, error)
	// Close releases temporary files. It does not close the io.Reader
	// given to Open.
	Close() error
	// BytesRead returns how many bytes of the input have been read, for
	// progress against the size given to Open. Reading runs a little ahead
	// of the rows returned (by up to 64 KiB of buffer); an XLSX file is read
	// whole by Open.
	BytesRead() int64
}

// Record is one row of a file.
type Record struct {
	// Line is the 1-based row the record comes from: the row as a
	// spreadsheet shows it for CSV and TSV (blank lines counted, a quoted
	// field with line breaks keeping to one row: the text line when no
	// field holds a line break), the sheet row for XLSX, the element's
	// index + 1 for a JSON array, the text line for NDJSON.
	Line int
	// Values line up with Header: missing cells are "", cells beyond the
	// header dropped (a Problem when not empty). JSON values are
	// stringified: strings as they are, numbers as written, true and false
	// as "true" and "false", null as "". XLSX cells hold what Excel shows,
	// except that dates and times are written "2006-01-02",
	// "2006-01-02 15:04:05" and "15:04:05".
	Values []string
	// Problems are faults of the row's shape that do not stop the reading:
	// values beyond the header, nested JSON values, keys not in the header,
	// repeated keys, elements that are not objects. Usually nil.
	Problems []Problem
}

// Values and Problems of a Record are reused by the next call to Next:
// copy the slice (the strings themselves may be kept) to hold on to them.

// Problem is something wrong with a column mapping or a row's shape.
type Problem struct {
	Row    int    `json:"row"`    // Record.Line; 0 for the header and the mapping
	Column string `json:"column"` // the column or key as the file names it, or the data item's name
	Kind   string `json:"kind"`   // one of the Kind constants
	Reason string `json:"reason"`
	// Fatal problems stop a mapping from being used as is, or a row from
	// being taken as is: every kind but KindUnknownColumn (a column left
	// out), which is a warning. (A loader may still pass over a nested
	// value or unknown key whose column it does not map.)
	Fatal bool `json:"fatal"`
}

// Kinds of problems.
const (
	// KindUnknownColumn: a column that maps to no data item, whose values
	// are ignored. The only kind that is not Fatal.
	KindUnknownColumn = "unknown_column"
	// KindMissingItem: a required data item (or primary key) without a column.
	KindMissingItem = "missing_item"
	// KindDuplicateColumn: two columns map to one data item.
	KindDuplicateColumn = "duplicate_column"
	// KindBadMapping: an explicit mapping names a column the file lacks or
	// an item the entry lacks.
	KindBadMapping = "bad_mapping"
	// KindExtraValues: a row has non-empty values beyond the header.
	KindExtraValues = "extra_values"
	// KindNestedValue: a JSON value is an object or an array.
	KindNestedValue = "nested_value"
	// KindUnknownKey: a JSON object has a key that is not in the header
	// (it first appears after the objects the header was made of).
	KindUnknownKey = "unknown_key"
	// KindDuplicateKey: a JSON object has a key twice.
	KindDuplicateKey = "duplicate_key"
	// KindNotObject: a JSON element or line is not an object.
	KindNotObject = "not_object"
)

func (p Problem) String() string {
	var b strings.Builder
	if p.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", p.Row)
	}
	if p.Column != "" {
		fmt.Fprintf(&b, "%s: ", p.Column)
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ErrTruncated is wrapped in the ParseError of a file that ends too soon: a
// quoted CSV field or a JSON value open at the end, an XLSX archive cut
// short, fewer bytes than the size given to Open.
var ErrTruncated = errors.New("the file is incomplete")

// ParseError is a fault in a file's content that stops the reading.
type ParseError struct {
	// Line is where it is: the text line for CSV, TSV and NDJSON, the row
	// for XLSX, the element's index + 1 for a JSON array; 0 for the file
	// as a whole.
	Line int
	// Column is the 1-based byte column in the line, when known (CSV,
	// NDJSON); else 0.
	Column int
	Reason string
	Err    error // the underlying error, such as ErrTruncated or csv.ErrQuote; may be nil
	unit   string
}

func (e *ParseError) Error() string {
	unit := e.unit
	if unit == "" {
		unit = "line"
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s %d, column %d: %s", unit, e.Line, e.Column, e.Reason)
	case e.Line > 0:
		return fmt.Sprintf("%s %d: %s", unit, e.Line, e.Reason)
	}
	return e.Reason
}

// Unwrap returns Err and a *cityhub.Error (EINVALID) with the message.
func (e *ParseError) Unwrap() []error {
	errs := []error{&cityhub.Error{Code: cityhub.EINVALID, Message: e.Error()}}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Open starts reading a file of opts.Format from r. size is the file's
// length in bytes when known (a Content-Length, a file's size), -1 when
// not: a file that ends before size bytes is reported as truncated.
//
// CSV and TSV text streams through encoding/csv, strictly (a bare or
// unclosed quote is an error with its line and column), decoded from
// GB18030 or UTF-16 on the fly. JSON arrays stream element by element and
// NDJSON line by line. Their memory is a few buffers and the longest row.
//
// An XLSX file is a zip archive, which cannot be read front to back: Open
// copies r to a temporary file (removed once excelize has opened it) and
// opens that with excelize, which keeps the archive's small parts in memory
// and unpacks each worksheet and the shared strings table, when over
// 8 MiB, to temporary files of their own; rows then stream out of the
// worksheet's XML through excelize's Rows iterator, so a long sheet costs
// no memory. What does: the styles, the parts under 8 MiB, and the shared
// strings (every distinct text of the workbook) at about 100 bytes each,
// measured — 31 MB for 300,000 distinct texts, 317 MB for 3 million.
// Options.MaxSharedStrings refuses bigger workbooks (1 million by default,
// about 100 MB) before they are read. Temporary disk space is the file's
// size and then its unpacked worksheets; Close removes them.
func Open(r io.Reader, size int64, opts Options) (Reader, error) {
	src := &source{r: r, size: size}
	br := bufio.NewReaderSize(src, bufSize)
	if opts.Format == "" {
		head, err := br.Peek(sniffBytes)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, src.fail(err, 0, "")
		}
		if opts.Format, err = DetectFormat("", "", head); err != nil {
			return nil, err
		}
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if opts.MaxUnzipBytes <= 0 {
		opts.MaxUnzipBytes = DefaultMaxUnzipBytes
	}
	if opts.MaxSharedStrings <= 0 {
		opts.MaxSharedStrings = DefaultMaxSharedStrings
	}
	if opts.HeaderRow < 0 {
		return nil, cityhub.Errorf(cityhub.EINVALID, "the header row must be 1 or more (0 detects it)")
	}
	switch opts.Format {
	case CSV, TSV:
		s, err := newCSVSource(src, br, opts)
		if err != nil {
			return nil, err
		}
		return newTable(s, opts)
	case XLSX:
		s, err := newXLSXSource(src, br, opts)
		if err != nil {
			return nil, err
		}
		t, err := newTable(s, opts)
		if err != nil {
			_ = s.close()
			return nil, err
		}
		return t, nil
	case JSON, NDJSON:
		return newObjectReader(src, br, opts)
	}
	return nil, cityhub.Errorf(cityhub.EINVALID, "unknown file format %q: one of csv, tsv, xlsx, json, ndjson", opts.Format)
}

const (
	bufSize    = 64 << 10 // read buffers; also the window that decides an encoding
	sniffBytes = 4 << 10  // what Open looks at to tell a format
)

// source counts the bytes read from the caller's reader, keeps its I/O
// error (to tell it from faults of the content) and checks the size.
type source struct {
	r    io.Reader
	size int64
	n    atomic.Int64
	err  error // an error of r other than io.EOF
}

// errSize is what source returns when r ends before size bytes (or goes
// past them).
type errSize struct{ got, want int64 }

func (e *errSize) Error() string {
	if e.got < e.want {
		return fmt.Sprintf("the file ends after %d of its %d bytes: it is incomplete (upload it again)", e.got, e.want)
	}
	return fmt.Sprintf("the file is longer than the %d bytes announced", e.want)
}

func (e *errSize) Unwrap() error {
	if e.got < e.want {
		return ErrTruncated
	}
	return nil
}

func (s *source) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	got := s.n.Add(int64(n))
	switch {
	case s.size >= 0 && got > s.size:
		err = &errSize{got, s.size}
	case err == io.EOF && s.size >= 0 && got < s.size:
		err = &errSize{got, s.size}
	case err != nil && err != io.EOF:
		s.err = err
	}
	return n, err
}

// fail turns an error met while reading into what Next returns: an error
// of the caller's reader as is, a short file as a ParseError wrapping
// ErrTruncated, anything else as a ParseError with reason.
func (s *source) fail(err error, line int, unit string) error {
	if s.err != nil {
		return s.err
	}
	var es *errSize
	if errors.As(err, &es) {
		return &ParseError{Reason: es.Error(), Err: err}
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return &ParseError{Line: line, Reason: err.Error(), Err: err, unit: unit}
}

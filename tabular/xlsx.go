package tabular

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

// unzipXMLLimit is the size over which excelize unpacks a worksheet or the
// shared strings to a temporary file instead of memory (a variable for
// the tests).
var unzipXMLLimit int64 = 8 << 20

// xlsxSource reads the rows of one sheet of a workbook.
type xlsxSource struct {
	src   *source
	f     *excelize.File
	rows  *excelize.Rows
	sheet string
	row   int
	done  bool
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

func newXLSXSource(src *source, br *bufio.Reader, opts Options) (s *xlsxSource, err error) {
	head, perr := br.Peek(8)
	switch {
	case perr != nil && perr != io.EOF:
		return nil, src.fail(perr, 0, "")
	case len(head) == 0:
		return nil, &ParseError{Reason: "the file is empty"}
	case bytes.HasPrefix(head, oleMagic):
		return nil, &ParseError{Reason: "this is an Excel 97-2003 workbook (.xls) or a password-protected one: save it as an Excel workbook (.xlsx) without a password"}
	case !bytes.HasPrefix(head, zipMagic):
		return nil, &ParseError{Reason: "this is not an XLSX file (an XLSX file is a zip archive)"}
	}

	// A zip archive is read from its end: copy it to a file.
	tmp, err := os.CreateTemp(opts.TempDir, "cityhub-xlsx-*.xlsx")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	defer os.Remove(name) // excelize has what it needs once it is open
	_, err = io.Copy(tmp, br)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if src.err != nil || isSizeErr(err) {
			return nil, src.fail(err, 0, "")
		}
		return nil, err // the temporary file
	}

	if err := checkSharedStrings(name, opts.MaxSharedStrings); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = &ParseError{Reason: fmt.Sprintf("the XLSX file is damaged (%v)", p)}
		}
		if err != nil && s != nil {
			_ = s.close()
			s = nil
		}
	}()
	f, err := excelize.OpenFile(name, excelize.Options{
		UnzipSizeLimit:    opts.MaxUnzipBytes,
		UnzipXMLSizeLimit: min(opts.MaxUnzipBytes, unzipXMLLimit),
		TmpDir:            opts.TempDir,
	})
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		return nil, openError(err, opts.MaxUnzipBytes)
	}
	s = &xlsxSource{src: src, f: f}
	if s.sheet, err = pickSheet(f, opts.Sheet); err != nil {
		return s, err
	}
	if err = isoDates(f); err != nil {
		return s, &ParseError{Reason: fmt.Sprintf("the XLSX file's styles cannot be read: %v", err)}
	}
	if s.rows, err = f.Rows(s.sheet); err != nil {
		return s, &ParseError{Reason: fmt.Sprintf("sheet %s cannot be read: %v", s.sheet, err)}
	}
	return s, nil
}

// openError explains why excelize could not open a file.
func openError(err error, unzipLimit int64) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, zip.ErrFormat), errors.Is(err, io.ErrUnexpectedEOF):
		// The zip directory is at the end: a file cut short loses it.
		return &ParseError{Err: ErrTruncated, Reason: fmt.Sprintf("the XLSX file is incomplete or damaged (%v): upload it again, or open and save it in Excel", err)}
	case errors.Is(err, zip.ErrChecksum), errors.As(err, &corrupt), errors.Is(err, zip.ErrAlgorithm):
		return &ParseError{Err: err, Reason: fmt.Sprintf("the XLSX file is damaged (%v): open and save it in Excel", err)}
	case strings.Contains(err.Error(), "unzip size"):
		return &ParseError{Err: err, Reason: fmt.Sprintf("the XLSX file unpacks to more than %s: save the data as CSV", byteSize(unzipLimit))}
	case errors.Is(err, io.EOF):
		return &ParseError{Err: err, Reason: "the file is a zip archive but not an Excel workbook (.xlsx)"}
	}
	return &ParseError{Err: err, Reason: fmt.Sprintf("the XLSX file cannot be read: %v", err)}
}

// byteSize writes n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func isSizeErr(err error) bool {
	_, ok := err.(*errSize)
	return ok
}

// checkSharedStrings refuses a workbook with more than max distinct
// strings, which excelize would index in memory (about 100 bytes each).
// Excel writes their number in the table's uniqueCount; without it, the
// table's size bounds it (an entry takes at least 16 bytes of XML).
func checkSharedStrings(path string, max int) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return openError(err, 0)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.EqualFold(strings.ReplaceAll(f.Name, "\\", "/"), "xl/sharedStrings.xml") {
			continue
		}
		n := int64(f.UncompressedSize64 / 16)
		if rc, err := f.Open(); err == nil {
			head := make([]byte, 1024)
			k, _ := io.ReadFull(rc, head)
			rc.Close()
			if m := uniqueCount.FindSubmatch(head[:k]); m != nil {
				n, _ = strconv.ParseInt(string(m[1]), 10, 64)
			}
		}
		if n > int64(max) {
			return &ParseError{Reason: fmt.Sprintf("the workbook holds %d distinct texts, more than the %d that can be read from XLSX without running out of memory: save the sheet as CSV (UTF-8) and load that", n, max)}
		}
	}
	return nil
}

var uniqueCount = regexp.MustCompile(`<(?:\w+:)?sst\b[^>]*?\buniqueCount="(\d+)"`)

// pickSheet returns the named sheet, or the first visible one.
func pickSheet(f *excelize.File, name string) (string, error) {
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return "", &ParseError{Reason: "the workbook has no sheets"}
	}
	if name != "" {
		if slices.Contains(sheets, name) {
			return name, nil
		}
		return "", &cityhub.Error{Code: cityhub.EINVALID, Message: fmt.Sprintf("the workbook has no sheet %q; its sheets are %s", name, strings.Join(sheets, "、")),
			Fields: map[string]string{"sheet": "one of " + strings.Join(sheets, "、")}}
	}
	for _, sh := range sheets {
		if visible, err := f.GetSheetVisible(sh); err == nil && visible {
			return sh, nil
		}
	}
	return sheets[0], nil
}

func (s *xlsxSource) next() (line int, cells []string, err error) {
	if s.done {
		return 0, nil, io.EOF
	}
	defer func() {
		if p := recover(); p != nil {
			s.done = true
			line, cells, err = 0, nil, &ParseError{Line: s.row, Reason: fmt.Sprintf("the sheet is damaged here (%v)", p), unit: "row"}
		}
	}()
	if !s.rows.Next() {
		s.done = true
		if err := s.rows.Error(); err != nil {
			return 0, nil, &ParseError{Line: s.row + 1, Reason: err.Error(), unit: "row"}
		}
		return 0, nil, io.EOF
	}
	s.row++ // Next steps through every row number, empty ones included
	cells, err = s.rows.Columns()
	if err != nil {
		s.done = true
		return 0, nil, &ParseError{Line: s.row, Reason: err.Error(), unit: "row"}
	}
	return s.row, cells, nil
}

func (s *xlsxSource) bytesRead() int64 { return s.src.n.Load() }
func (s *xlsxSource) unit() string     { return "row" }

func (s *xlsxSource) close() error {
	var err error
	if s.rows != nil {
		err = s.rows.Close()
		s.rows = nil
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.f = nil
	}
	return err
}

// Date kinds of number formats.
const (
	notDate = iota
	dateOnly
	dateTime
	timeOnly
)

var isoFormats = map[int]string{dateOnly: "yyyy-mm-dd", dateTime: "yyyy-mm-dd hh:mm:ss", timeOnly: "hh:mm:ss"}

// isoDates makes every cell style with a date or time format show its
// value as ISO text, so that Rows yields "2026-01-02" where Excel would
// show "2026/1/2", "2026年1月2日" or "01-02-26" (excelize's rendering of
// the built-in short date), and never a bare serial number (what it gives
// for the built-in Chinese date formats 27–36 and 50–58). Other number
// formats stay: cells read as Excel shows them ("1,234.50", "12%").
//
// It edits the workbook's parsed styles in memory (never saved).
func isoDates(f *excelize.File) error {
	ss := f.Styles
	if ss == nil || ss.CellXfs == nil {
		return nil
	}
	custom := map[int]string{}
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			custom[nf.NumFmtID] = code
		}
	}
	n := len(ss.CellXfs.Xf)
	kinds := make([]int, n)
	need := false
	for i, xf := range ss.CellXfs.Xf {
		if xf.NumFmtID == nil {
			continue
		}
		id := *xf.NumFmtID
		if code, ok := custom[id]; ok {
			kinds[i] = formatKind(code)
		} else {
			kinds[i] = builtinKind(id)
		}
		need = need || kinds[i] != notDate
	}
	if !need {
		return nil
	}
	ids := map[int]*int{}
	for kind, code := range isoFormats {
		style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
		if err != nil {
			return err
		}
		ids[kind] = f.Styles.CellXfs.Xf[style].NumFmtID
	}
	for i := range n {
		if kinds[i] != notDate {
			f.Styles.CellXfs.Xf[i].NumFmtID = ids[kinds[i]]
		}
	}
	return nil
}

// builtinKind classifies the built-in number formats (ECMA-376 §18.8.30;
// 27–36 and 50–58 as zh-CN defines them).
func builtinKind(id int) int {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id >= 50 && id <= 54, id == 57, id == 58:
		return dateOnly
	case id == 22:
		return dateTime
	case id >= 18 && id <= 21, id >= 32 && id <= 35, id == 45, id == 47, id == 55, id == 56:
		return timeOnly
	}
	return notDate // 46 [h]:mm:ss is a duration
}

// formatKind classifies a custom number format code by its first section.
func formatKind(code string) int {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case ';':
			i = len(code) // first section only
		case '"':
			for i++; i < len(code) && code[i] != '"'; i++ {
			}
		case '\\', '_', '*':
			i++ // an escaped or spacing character
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				i = len(code)
				break
			}
			inner := strings.ToLower(code[i+1 : i+j])
			if inner != "" && strings.Trim(inner, "hms") == "" {
				return notDate // [h]:mm elapsed time: a duration
			}
			i += j
		default:
			b.WriteByte(c)
		}
	}
	s := strings.ToLower(b.String())
	s = strings.ReplaceAll(s, "general", "")
	s = strings.ReplaceAll(s, "am/pm", "h")
	s = strings.ReplaceAll(s, "a/p", "h")
	s = strings.ReplaceAll(s, "上午/下午", "h")
	// Fractions of seconds (ss.000) are the only digits a date format has.
	for {
		i := strings.Index(s, "s.0")
		if i < 0 {
			break
		}
		j := i + 2
		for j < len(s) && s[j] == '0' {
			j++
		}
		s = s[:i+1] + s[j:]
	}
	if strings.ContainsAny(s, "0#?@") {
		return notDate
	}
	date := strings.ContainsAny(s, "ydeg")
	clock := strings.ContainsAny(s, "hs")
	switch {
	case date && clock:
		return dateTime
	case date:
		return dateOnly
	case clock:
		return timeOnly
	case strings.Contains(s, "m"):
		return dateOnly // "mmm": a month
	}
	return notDate
}

package tabular

import (
	"bytes"
	"mime"
	"path"
	"strings"

	"github.com/cityhub/cityhub"
)

// DetectFormat tells a file's format from its first bytes (a few KiB are
// plenty; nil when not at hand), its name and its content type, in that
// order of trust: a zip archive is XLSX whatever its name, a ".json" file
// whose first value is an object is NDJSON, a ".csv" file is CSV. Without
// a name or content type that says, text starting with [ is JSON, with {
// NDJSON, and other text CSV (TSV when its first line with a comma or tab
// has only tabs).
//
// Browsers send "application/vnd.ms-excel" for .csv files on Windows, so
// that content type does not decide. An old .xls workbook, an
// OpenDocument spreadsheet and binary data are errors that say what to do.
func DetectFormat(filename, contentType string, head []byte) (Format, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, "\\", "/")))
	mediaType, _, _ := mime.ParseMediaType(contentType)
	mediaType = strings.ToLower(mediaType)

	switch {
	case bytes.HasPrefix(head, oleMagic[:4]):
		return "", cityhub.Errorf(cityhub.EINVALID, "this is an Excel 97-2003 workbook (.xls) or a password-protected one: save it as an Excel workbook (.xlsx) without a password, or as CSV")
	case bytes.HasPrefix(head, zipMagic) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		if ext == ".ods" || mediaType == "application/vnd.oasis.opendocument.spreadsheet" {
			return "", cityhub.Errorf(cityhub.EINVALID, "OpenDocument spreadsheets (.ods) cannot be loaded: save the file as an Excel workbook (.xlsx) or as CSV")
		}
		return XLSX, nil
	}

	switch ext {
	case ".xls":
		return "", cityhub.Errorf(cityhub.EINVALID, "Excel 97-2003 workbooks (.xls) cannot be loaded: save the file as an Excel workbook (.xlsx) or as CSV")
	case ".ods":
		return "", cityhub.Errorf(cityhub.EINVALID, "OpenDocument spreadsheets (.ods) cannot be loaded: save the file as an Excel workbook (.xlsx) or as CSV")
	}
	f, ok := formatByExt[ext]
	if !ok {
		f, ok = formatByType[mediaType]
	}
	first := firstByte(head)
	switch {
	case ok && f == XLSX && len(head) > 0:
		return "", cityhub.Errorf(cityhub.EINVALID, "the file is named or labelled as an XLSX workbook but is not one (an XLSX file is a zip archive)")
	case ok && f == JSON && first == '{':
		return NDJSON, nil
	case ok && f == NDJSON && first == '[':
		return JSON, nil
	case ok:
		return f, nil
	case len(head) == 0:
		return "", cityhub.Errorf(cityhub.EINVALID, "the file is empty, or its format cannot be told: name it .csv, .tsv, .xlsx, .json or .ndjson")
	case first == '[':
		return JSON, nil
	case first == '{':
		return NDJSON, nil
	case !looksText(head):
		return "", cityhub.Errorf(cityhub.EINVALID, "the file is not text, nor an XLSX workbook: load CSV, TSV, XLSX, JSON or NDJSON")
	}
	if firstSeparator(head) == '\t' {
		return TSV, nil
	}
	return CSV, nil
}

// Formats by file name extension and by content type.
var (
	formatByExt = map[string]Format{
		".csv": CSV, ".tsv": TSV, ".tab": TSV, ".xlsx": XLSX, ".xlsm": XLSX,
		".json": JSON, ".ndjson": NDJSON, ".jsonl": NDJSON, ".ldjson": NDJSON,
	}
	formatByType = map[string]Format{
		"text/csv":                    CSV,
		"application/csv":             CSV,
		"text/comma-separated-values": CSV,
		"text/tab-separated-values":   TSV,
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
		"application/json":        JSON,
		"application/x-ndjson":    NDJSON,
		"application/ndjson":      NDJSON,
		"application/jsonl":       NDJSON,
		"application/x-jsonlines": NDJSON,
		"application/jsonlines":   NDJSON,
	}
)

// firstByte returns the first byte of head that is not white space or a
// UTF-8 byte order mark.
func firstByte(head []byte) byte {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if len(head) == 0 {
		return 0
	}
	return head[0]
}

// looksText reports whether head can be text: UTF-16 with a byte order
// mark, or no NUL and few other control characters.
func looksText(head []byte) bool {
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return true
	}
	bad := 0
	for _, c := range head {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f':
			bad++
		}
	}
	return bad*100 <= len(head)
}

// firstSeparator returns ',' or '\t', whichever the first line holding
// either holds (a comma if both), 0 if none.
func firstSeparator(head []byte) byte {
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return '\t' // Excel's "Unicode text"
	}
	for line := range bytes.Lines(head) {
		switch {
		case bytes.IndexByte(line, ',') >= 0:
			return ','
		case bytes.IndexByte(line, '\t') >= 0:
			return '\t'
		}
	}
	return 0
}

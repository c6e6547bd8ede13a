package catalogsheet

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
)

// MaxUnzipSize bounds what an XLSX file may unpack to, against zip bombs.
const MaxUnzipSize = 1 << 30

// ReadXLSX reads a catalog in the guideline's layout from an XLSX workbook.
// See DecodeXLSX.
func ReadXLSX(r io.Reader, sheet string, res Resolver) ([]cityhub.ImportRow, []Problem, error) {
	s, err := DecodeXLSX(r, sheet, res)
	if err != nil {
		return nil, nil, err
	}
	return s.Rows, s.Problems, nil
}

// DecodeXLSX reads a catalog in the guideline's layout from the named sheet
// of an XLSX workbook; with sheet "", from the first sheet that has a
// header row (templates often open with a sheet of instructions). The
// header row is the first row with at least three known headers; title
// rows above it are skipped. Rows are read with excelize's streaming row
// iterator; dates may be real Excel dates (serials) or text.
//
// A file that is not a readable XLSX workbook, or lacks the named sheet,
// gives a *cityhub.Error with code cityhub.EINVALID and a message for the
// user; an I/O error of r is returned as is. Everything wrong inside the
// sheet is a Problem. res may be nil (see DecodeCSV).
func DecodeXLSX(r io.Reader, sheet string, res Resolver) (s *Sheet, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			if repanic {
				panic(p)
			}
			s, err = nil, unreadable("the file is damaged")
		}
	}()
	switch {
	case len(b) == 0:
		return nil, unreadable("the file is empty")
	case bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return nil, unreadable("it is an Excel 97-2003 workbook (.xls) or a password-protected one: save it as an Excel workbook (.xlsx) without a password")
	case !bytes.HasPrefix(b, []byte("PK")):
		return nil, unreadable("an XLSX file is a zip archive and this is not one (a CSV file needs the CSV import)")
	}
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{UnzipSizeLimit: MaxUnzipSize, UnzipXMLSizeLimit: 64 << 20})
	if err != nil {
		return nil, unreadable(err.Error())
	}
	defer f.Close()
	date1904 := false
	if p, err := f.GetWorkbookProps(); err == nil && p.Date1904 != nil {
		date1904 = *p.Date1904
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, unreadable("the workbook has no sheets")
	}
	if sheet != "" {
		if !slices.Contains(sheets, sheet) {
			return nil, cityhub.Errorf(cityhub.EINVALID, "the workbook has no sheet %q; its sheets are %s", sheet, strings.Join(sheets, "、"))
		}
		return readSheet(f, sheet, res, date1904)
	}
	var first *Sheet
	for _, name := range sheets {
		s, err := readSheet(f, name, res, date1904)
		if err != nil {
			return nil, err
		}
		if s.HeaderRow > 0 {
			return s, nil
		}
		if first == nil {
			first = s
		}
	}
	return first, nil
}

// repanic lets the fuzz tests see panics that DecodeXLSX would turn into
// errors.
var repanic = false

func unreadable(reason string) error {
	return cityhub.Errorf(cityhub.EINVALID, "not a readable XLSX file: %s", reason)
}

// readSheet reads one sheet, row by row.
func readSheet(f *excelize.File, name string, res Resolver, date1904 bool) (*Sheet, error) {
	rows, err := f.Rows(name)
	if err != nil {
		return nil, unreadable(fmt.Sprintf("sheet %s: %v", name, err))
	}
	defer rows.Close()
	d := newDecoder(res)
	d.serials, d.date1904 = true, date1904
	raw := excelize.Options{RawCellValue: true}
	for num := 1; rows.Next(); num++ {
		cells, err := rows.Columns(raw)
		if err != nil {
			return nil, unreadable(fmt.Sprintf("sheet %s, row %d: %v", name, num, err))
		}
		if !d.row(num, cells) {
			break
		}
	}
	if err := rows.Error(); err != nil {
		return nil, unreadable(fmt.Sprintf("sheet %s: %v", name, err))
	}
	return d.finish(), nil
}

// WriteOptions shape a written workbook. The zero value is ready to use.
type WriteOptions struct {
	Sheet string // the sheet's name; "信息资源目录" when empty
	Title string // a title row above the header, e.g. "宁波市政务信息资源目录（2026年）"; none when empty
	// Merge writes an entry's own columns once, merged down the rows of its
	// data items, as departments' templates look. By default they repeat on
	// every row, so that sorting and filtering in Excel keep working.
	Merge bool
}

// DefaultSheet is the sheet name WriteXLSX uses by default.
const DefaultSheet = "信息资源目录"

// WriteXLSX writes entries as an XLSX workbook in the guideline's layout:
// one row per data item, Chinese headers in bold on a frozen header row,
// vocabularies as their Chinese labels with drop-down lists, sized
// columns. With no entries it is a blank template.
func WriteXLSX(w io.Writer, entries []*cityhub.CatalogEntry, opts WriteOptions) error {
	name := opts.Sheet
	if name == "" {
		name = DefaultSheet
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName(f.GetSheetName(0), name); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	headerRow := 1
	if opts.Title != "" {
		headerRow = 2
	}
	if err := addDropLists(f, name, headerRow+1); err != nil { // before streaming: the stream writes the sheet's settings
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for k, c := range columns {
		if err := sw.SetColWidth(k+1, k+1, c.width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: headerRow,
		TopLeftCell: "A" + strconv.Itoa(headerRow+1), ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	last := columnName(numColumns - 1)
	if opts.Title != "" {
		if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: st.title, Value: opts.Title}}, excelize.RowOpts{Height: 30}); err != nil {
			return err
		}
		if err := sw.MergeCell("A1", last+"1"); err != nil {
			return err
		}
	}
	row := make([]any, numColumns)
	for k, c := range columns {
		row[k] = excelize.Cell{StyleID: st.header, Value: c.Header}
	}
	if err := sw.SetRow("A"+strconv.Itoa(headerRow), row, excelize.RowOpts{Height: 24}); err != nil {
		return err
	}
	num := headerRow
	for _, e := range entries {
		if e == nil {
			continue
		}
		n := max(1, len(e.Items))
		for i := range n {
			num++
			cells := rowCells(e, i, !opts.Merge || i == 0)
			for k, c := range cells {
				style := st.data
				switch {
				case c.number:
					style = st.num
				case columns[k].width >= 24:
					style = st.wrap
				}
				switch {
				case c.text == "":
					row[k] = excelize.Cell{StyleID: style}
				case c.number:
					row[k] = excelize.Cell{StyleID: style, Value: c.num}
				default:
					row[k] = excelize.Cell{StyleID: style, Value: clean(c.text)}
				}
			}
			if err := sw.SetRow("A"+strconv.Itoa(num), row); err != nil {
				return err
			}
		}
		if opts.Merge && n > 1 {
			for k, c := range columns {
				if c.Item {
					continue
				}
				col := columnName(k)
				if err := sw.MergeCell(col+strconv.Itoa(num-n+1), col+strconv.Itoa(num)); err != nil {
					return err
				}
			}
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

type styles struct{ title, header, data, wrap, num int }

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	border := []excelize.Border{{Type: "left", Color: "A6A6A6", Style: 1}, {Type: "right", Color: "A6A6A6", Style: 1},
		{Type: "top", Color: "A6A6A6", Style: 1}, {Type: "bottom", Color: "A6A6A6", Style: 1}}
	if st.title, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}}); err != nil {
		return st, err
	}
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}); err != nil {
		return st, err
	}
	if st.data, err = f.NewStyle(&excelize.Style{Border: border, NumFmt: 49, // text: Excel keeps codes as typed
		Alignment: &excelize.Alignment{Vertical: "center"}}); err != nil {
		return st, err
	}
	if st.wrap, err = f.NewStyle(&excelize.Style{Border: border, NumFmt: 49,
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}); err != nil {
		return st, err
	}
	st.num, err = f.NewStyle(&excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "center"}})
	return st, err
}

// addDropLists offers the vocabularies' labels as drop-down lists in their
// columns, warning on other values (codes are accepted too).
func addDropLists(f *excelize.File, sheet string, firstRow int) error {
	labels := func(terms []cityhub.Term) []string {
		out := make([]string, len(terms))
		for i, t := range terms {
			out[i] = t.ZH
		}
		return out
	}
	yesNo := []string{"是", "否"}
	lists := []struct {
		k    int
		keys []string
	}{
		{colFormat, labels(cityhub.Formats)}, {colItemType, labels(cityhub.ItemTypes)},
		{colItemRequired, yesNo}, {colItemPrimaryKey, yesNo}, {colItemSensitivity, labels(cityhub.Sensitivities)},
		{colShareType, labels(cityhub.ShareTypes)}, {colOpenType, labels(cityhub.OpenTypes)},
		{colUpdateCycle, labels(cityhub.UpdateCycles)}, {colStatus, labels(cityhub.Statuses)},
	}
	for _, l := range lists {
		dv := excelize.NewDataValidation(true)
		col := columnName(l.k)
		dv.Sqref = fmt.Sprintf("%s%d:%s%d", col, firstRow, col, excelize.TotalRows)
		if err := dv.SetDropList(l.keys); err != nil {
			return err
		}
		dv.SetError(excelize.DataValidationErrorStyleWarning, columns[l.k].Header, "请从列表中选择")
		if err := f.AddDataValidation(sheet, dv); err != nil {
			return err
		}
	}
	return nil
}

// cell is one written value.
type cell struct {
	text   string
	num    int
	number bool
}

// rowCells gives the cells of the row of e's i-th data item (a single row
// without items when e has none); withEntry false leaves the entry's own
// columns blank.
func rowCells(e *cityhub.CatalogEntry, i int, withEntry bool) [numColumns]cell {
	var c [numColumns]cell
	if withEntry {
		for _, v := range [...]struct {
			k int
			v string
		}{
			{colClassification, e.ClassificationCode},
			{colName, e.Name},
			{colCode, e.Code},
			{colProvider, e.ProviderName},
			{colProviderCode, e.ProviderCode},
			{colAbstract, e.Abstract},
			{colFormat, labelOf(cityhub.Formats, e.Format)},
			{colShareType, labelOf(cityhub.ShareTypes, e.ShareType)},
			{colShareCondition, e.ShareCondition},
			{colShareMethod, e.ShareMethod},
			{colShareBasis, e.ShareBasis},
			{colOpenType, labelOf(cityhub.OpenTypes, e.OpenType)},
			{colOpenCondition, e.OpenCondition},
			{colOpenBasis, e.OpenBasis},
			{colUpdateCycle, labelOf(cityhub.UpdateCycles, e.UpdateCycle)},
			{colPublishDate, e.PublishDate},
			{colRelatedCodes, strings.Join(e.RelatedCodes, listSeparator)},
			{colDomain, e.Domain},
			{colTags, strings.Join(e.Tags, listSeparator)},
			{colStatus, labelOf(cityhub.Statuses, e.Status)},
		} {
			c[v.k].text = v.v
		}
	}
	if i < len(e.Items) {
		it := e.Items[i]
		c[colItemName].text = it.Name
		c[colItemCode].text = it.Code
		c[colItemType].text = labelOf(cityhub.ItemTypes, it.Type)
		if it.Length != 0 {
			c[colItemLength] = cell{text: strconv.Itoa(it.Length), num: it.Length, number: true}
		}
		c[colItemDescription].text = it.Description
		c[colItemRequired].text = yesNo(it.Required)
		c[colItemPrimaryKey].text = yesNo(it.PrimaryKey)
		c[colItemSensitivity].text = labelOf(cityhub.Sensitivities, it.Sensitivity)
	}
	return c
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

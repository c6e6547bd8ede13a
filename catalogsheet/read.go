package catalogsheet

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

// Resolver finds the store's departments and open-data domains for the
// values a file names. The caller supplies it from the store.
type Resolver interface {
	// DepartmentID finds a department by its 统一社会信用代码 or its name.
	DepartmentID(nameOrCreditCode string) (int64, bool)
	// DomainCode finds an open-data domain (开放领域) by code or name.
	DomainCode(codeOrName string) (string, bool)
}

// Problem is a value of a file that cannot be imported as it stands.
type Problem struct {
	Row    int    `json:"row"`    // spreadsheet row (1-based, title rows counted); 0 for the file as a whole
	Column string `json:"column"` // header text as in the file; "" when the problem concerns a whole row or file
	Reason string `json:"reason"`
	// Entry is the first row of the catalog entry the problem belongs to
	// (its ImportRow.Row), 0 when it concerns the file as a whole.
	Entry int `json:"entry,omitempty"`
}

func (p Problem) String() string {
	switch {
	case p.Row == 0 && p.Column == "":
		return p.Reason
	case p.Row == 0:
		return fmt.Sprintf("%s: %s", p.Column, p.Reason)
	case p.Column == "":
		return fmt.Sprintf("row %d: %s", p.Row, p.Reason)
	}
	return fmt.Sprintf("row %d, %s: %s", p.Row, p.Column, p.Reason)
}

// Limits of a read.
const (
	// HeaderSearchRows is how many rows a reader looks through for the
	// header row (title rows above it are common).
	HeaderSearchRows = 20
	// MaxProblems stops a read of a hopeless file.
	MaxProblems = 1000
)

// Sheet is what a reader made of a file: the entries to import and the
// problems found, and where each value came from.
type Sheet struct {
	// Rows holds one ImportRow per catalog entry, in the order of their
	// first rows; nil when the header row is missing or wrong (nothing can
	// be imported safely then) or the read stopped at MaxProblems.
	Rows []cityhub.ImportRow
	// Problems are sorted by row. A problem with Entry > 0 spoils only that
	// entry; one with Entry == 0 spoils the file.
	Problems []Problem
	// HeaderRow is the row number of the header row, 0 when none was found.
	HeaderRow int

	headers [numColumns]string // header text as in the file, "" for absent columns
	groups  map[int]*group     // by first row
}

// Header returns the header text the file uses for the column of a domain
// field ("share_basis", "items[2].type"), or the standard header when the
// file lacks that column; "" when no column holds the field.
func (s *Sheet) Header(field string) string {
	k := columnIndexOf(field)
	if k < 0 {
		return ""
	}
	return s.header(k)
}

func (s *Sheet) header(k int) string {
	if s.headers[k] != "" {
		return s.headers[k]
	}
	return columns[k].Header
}

// Locate places a problem the store found in an imported row (its Row the
// ImportRow.Row, its Field a domain field) at the row and column of the
// file: a data item's problem at that item's own row, an entry's value at
// the row it was read from.
func (s *Sheet) Locate(p cityhub.ImportProblem) Problem {
	out := Problem{Row: p.Row, Entry: p.Row, Reason: p.Reason}
	k := columnIndexOf(p.Field)
	if k == colProvider && s.headers[colProvider] == "" && s.headers[colProviderCode] != "" {
		k = colProviderCode // the file names providers by code only
	}
	if k < 0 {
		if p.Field != "" {
			out.Reason = p.Field + ": " + p.Reason
		}
		return out
	}
	out.Column = s.header(k)
	g := s.groups[p.Row]
	if g == nil {
		return out
	}
	if i, ok := itemIndex(p.Field); ok {
		if i < len(g.itemRows) {
			out.Row = g.itemRows[i]
		}
	} else if !columns[k].Item && g.rows[k] > 0 {
		out.Row = g.rows[k]
	}
	return out
}

// group gathers the rows of one catalog entry.
type group struct {
	row      int                // first row
	values   [numColumns]string // entry-level values, canonical
	raw      [numColumns]string // as written, for conflict reports
	rows     [numColumns]int    // row each value was read from
	items    []cityhub.DataItem
	itemRows []int
}

// decoder turns rows of cells into entries; CSV and XLSX readers feed it.
type decoder struct {
	res      Resolver
	serials  bool // numbers in the date column are Excel date serials
	date1904 bool
	checkUTF bool // cells may hold invalid UTF-8

	sheet      *Sheet
	found      bool     // header row seen
	headerBad  bool     // the header row has problems
	stopped    bool     // no more rows wanted
	incomplete bool     // stopped at MaxProblems before the end
	reading    bool     // rows are still coming
	colOf      []int    // file column → column key, or colBlank, colIgnored
	cells      []string // one row's values by column key
	stray      []int    // file columns of a row with values under no header
	notice     *Problem // says the problems stopped at MaxProblems

	groups []*group
	byCode map[string]*group
	cur    *group

	depts   map[string]deptHit
	domains map[string]domainHit
}

type deptHit struct {
	id int64
	ok bool
}

type domainHit struct {
	code string
	ok   bool
}

func newDecoder(res Resolver) *decoder {
	return &decoder{
		res:     res,
		reading: true,
		sheet:   &Sheet{groups: map[int]*group{}},
		cells:   make([]string, numColumns),
		byCode:  map[string]*group{},
		depts:   map[string]deptHit{},
		domains: map[string]domainHit{},
	}
}

// problem records a problem; it stops the read at MaxProblems.
func (d *decoder) problem(row int, column, reason string, entry int) {
	if len(d.sheet.Problems) >= MaxProblems {
		return
	}
	d.sheet.Problems = append(d.sheet.Problems, Problem{Row: row, Column: column, Reason: reason, Entry: entry})
	if len(d.sheet.Problems) == MaxProblems {
		d.notice = &Problem{Row: row, Reason: fmt.Sprintf("more than %d problems: the rest are not reported", MaxProblems)}
		if d.reading {
			d.notice.Reason = fmt.Sprintf("more than %d problems: reading stopped here", MaxProblems)
			d.stopped, d.incomplete = true, true
		}
	}
}

// row takes the cells of spreadsheet row num; it reports whether the
// reader should go on.
func (d *decoder) row(num int, cells []string) bool {
	if d.stopped {
		return false
	}
	if !d.found {
		d.findHeader(num, cells)
		return !d.stopped
	}
	d.dataRow(num, cells)
	return !d.stopped
}

// findHeader takes the first row with at least three known headers as the
// header row.
func (d *decoder) findHeader(num int, cells []string) {
	known := 0
	for _, c := range cells {
		if lookupHeader(c) >= 0 {
			known++
		}
	}
	if known < 3 {
		if num >= HeaderSearchRows {
			d.noHeader()
		}
		return
	}
	d.found = true
	d.sheet.HeaderRow = num
	d.colOf = make([]int, len(cells))
	for i, c := range cells {
		text := strings.TrimSpace(c)
		k := lookupHeader(c)
		d.colOf[i] = k
		switch {
		case k >= 0 && d.sheet.headers[k] != "":
			d.colOf[i] = colIgnored
			d.problem(num, text, fmt.Sprintf("column %s repeats column %s (%s)", columnName(i),
				columnName(slices.Index(d.colOf, k)), d.sheet.headers[k]), 0)
		case k >= 0:
			d.colOf[i] = k
			d.sheet.headers[k] = text
		case k == colUnknown:
			d.problem(num, text, fmt.Sprintf("unknown column %s %s; the columns are %s", columnName(i), quote(text), knownHeaders()), 0)
		}
	}
	for k, c := range columns {
		if c.Required && d.sheet.headers[k] == "" {
			d.problem(num, c.Header, "required column missing", 0)
		}
	}
	if d.sheet.headers[colProvider] == "" && d.sheet.headers[colProviderCode] == "" {
		d.problem(num, columns[colProvider].Header, "required column missing (信息资源提供方 or 提供方代码)", 0)
	}
	if len(d.sheet.Problems) > 0 {
		d.headerBad, d.stopped = true, true // nothing can be read safely under a wrong header
	}
}

// noHeader reports a file without a header row.
func (d *decoder) noHeader() {
	d.problem(0, "", fmt.Sprintf("no header row in the first %d rows: expected a row of column headers such as %s",
		HeaderSearchRows, knownHeaders()), 0)
	d.stopped = true
}

func knownHeaders() string {
	h := make([]string, numColumns)
	for i, c := range columns {
		h[i] = c.Header
	}
	return strings.Join(h, "、")
}

// columnName is the spreadsheet name of column i (0-based): A, B, …, AA.
func columnName(i int) string {
	if i < 0 {
		return "?"
	}
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// dataRow takes one row below the header.
func (d *decoder) dataRow(num int, cells []string) {
	clear(d.cells)
	d.stray = d.stray[:0]
	values, known, invalid, lone := 0, 0, -1, ""
	for i, c := range cells {
		if d.checkUTF && !utf8.ValidString(c) {
			invalid = i
			c = strings.ToValidUTF8(c, "\uFFFD")
		}
		if c = unescapeFormula(strings.TrimSpace(clean(c))); c == "" {
			continue
		}
		values, lone = values+1, c
		switch {
		case i >= len(d.colOf) || d.colOf[i] == colBlank:
			d.stray = append(d.stray, i)
		case d.colOf[i] >= 0:
			d.cells[d.colOf[i]] = c
			known++
		}
	}
	switch {
	case known == 0 && len(d.stray) == 0: // blank, or only a running number
		return
	case values == 1 && isNote(lone):
		return
	case d.cells[colName] != "" && lookupHeader(d.cells[colName]) == colName && d.repeatedHeader(cells):
		return
	}
	g := d.groupOf(num)
	if invalid >= 0 {
		d.problem(num, d.columnAt(invalid), "not valid UTF-8 text: save the file as CSV UTF-8 (or GB18030) throughout", g.row)
	}
	for _, i := range d.stray {
		d.problem(num, columnName(i), fmt.Sprintf("a value in column %s, which has no header: %s",
			columnName(i), quote(strings.TrimSpace(cells[i]))), g.row)
	}
	for k := range numColumns {
		if columns[k].Item || d.cells[k] == "" {
			continue
		}
		d.entryValue(g, num, k, d.cells[k])
	}
	if item, ok := d.item(g, num); ok {
		g.items = append(g.items, item)
		g.itemRows = append(g.itemRows, num)
	}
}

// isNote reports whether a lone cell is a footnote of the kind templates
// carry below the table (注：…, 填表说明：…).
func isNote(c string) bool {
	c = strings.TrimSpace(c)
	for _, p := range []string{"注：", "注:", "说明：", "说明:", "填表说明", "填报说明", "备注：", "备注:"} {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return false
}

// columnAt is the header text of file column i, or its letter.
func (d *decoder) columnAt(i int) string {
	if i < len(d.colOf) && d.colOf[i] >= 0 {
		return d.sheet.headers[d.colOf[i]]
	}
	return columnName(i)
}

// repeatedHeader reports whether a row repeats the header row (files
// joined together, or a second header line of English names).
func (d *decoder) repeatedHeader(cells []string) bool {
	n := 0
	for i, c := range cells {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if i >= len(d.colOf) || lookupHeader(c) != d.colOf[i] {
			return false
		}
		n++
	}
	return n >= 3
}

// groupOf finds the entry row num belongs to: rows with the same 信息资源代码
// form one entry; without a code, a row continues the entry above when its
// name is blank or the same (and its provider the same or blank).
func (d *decoder) groupOf(num int) *group {
	code, name := d.cells[colCode], d.cells[colName]
	cur := d.cur
	continues := cur != nil && (name == "" || name == cur.values[colName] && d.sameProvider(cur))
	switch {
	case code != "" && d.byCode[code] != nil:
		d.cur = d.byCode[code]
	case code != "" && continues && cur.values[colCode] == "":
		d.byCode[code] = cur // the code was left blank on the entry's first rows
	case code == "" && continues:
	default:
		d.cur = &group{row: num}
		d.groups = append(d.groups, d.cur)
		d.sheet.groups[num] = d.cur
		if code != "" {
			d.byCode[code] = d.cur
		}
	}
	return d.cur
}

func (d *decoder) sameProvider(g *group) bool {
	p, c := d.cells[colProvider], strings.ToUpper(d.cells[colProviderCode])
	return (p == "" || g.values[colProvider] == "" || p == g.values[colProvider]) &&
		(c == "" || g.values[colProviderCode] == "" || c == g.values[colProviderCode])
}

// entryValue parses a value of an entry-level column and keeps it, unless
// another row of the entry holds a different one.
func (d *decoder) entryValue(g *group, num, k int, raw string) {
	v, reason := d.parseEntryValue(k, raw)
	if reason != "" {
		d.problem(num, d.sheet.headers[k], reason, g.row)
		return
	}
	switch {
	case g.rows[k] == 0:
		g.values[k], g.raw[k], g.rows[k] = v, raw, num
	case g.values[k] != v:
		d.problem(num, d.sheet.headers[k], fmt.Sprintf("%s differs from %s on row %d of the same entry",
			quote(raw), quote(g.raw[k]), g.rows[k]), g.row)
	}
}

// openYes stands for 是 in 是否向社会开放 until the entry's 开放条件 tells
// whether it is 无条件 or 有条件.
const openYes = "\x00yes"

func (d *decoder) parseEntryValue(k int, raw string) (string, string) {
	vocab := func(terms []cityhub.Term, suffix string) (string, string) {
		if t, ok := lookupTerm(terms, raw, suffix); ok {
			return t.Code, ""
		}
		return "", fmt.Sprintf("%s is not one of %s", quote(raw), termList(terms))
	}
	switch k {
	case colClassification:
		if c, ok := leadingDigits(raw); ok {
			return c, ""
		}
		return "", fmt.Sprintf("%s does not start with a classification code such as 101 (101 人口)", quote(raw))
	case colProviderCode:
		return strings.ToUpper(raw), ""
	case colFormat:
		return vocab(cityhub.Formats, "")
	case colShareType:
		return vocab(cityhub.ShareTypes, "共享")
	case colOpenType:
		if b, ok := parseBool(raw); ok {
			if b {
				return openYes, ""
			}
			return cityhub.NotShared, ""
		}
		if t, ok := lookupTerm(cityhub.OpenTypes, raw, "开放"); ok {
			return t.Code, ""
		}
		return "", fmt.Sprintf("%s is not one of %s (or 是/否)", quote(raw), termList(cityhub.OpenTypes))
	case colUpdateCycle:
		return vocab(cityhub.UpdateCycles, "")
	case colStatus:
		return vocab(cityhub.Statuses, "")
	case colPublishDate:
		if v, ok := parseDate(raw, d.serials, d.date1904); ok {
			return v, ""
		}
		return "", fmt.Sprintf("%s is not a date: write it as 2026-01-02", quote(raw))
	case colRelatedCodes, colTags:
		return strings.Join(splitList(raw), "\n"), ""
	case colDomain:
		if d.res == nil {
			return raw, ""
		}
		hit, seen := d.domains[raw]
		if !seen {
			hit.code, hit.ok = d.res.DomainCode(raw)
			d.domains[raw] = hit
		}
		if !hit.ok {
			return "", fmt.Sprintf("no open-data domain %s", quote(raw))
		}
		return hit.code, ""
	}
	return raw, ""
}

// item reads the data item of row num, if the row has one.
func (d *decoder) item(g *group, num int) (cityhub.DataItem, bool) {
	var it cityhub.DataItem
	has := false
	for k := range numColumns {
		has = has || columns[k].Item && d.cells[k] != ""
	}
	if !has {
		return it, false
	}
	bad := func(k int, reason string) { d.problem(num, d.sheet.headers[k], reason, g.row) }
	it.Name = d.cells[colItemName]
	it.Code = d.cells[colItemCode]
	it.Description = d.cells[colItemDescription]
	if v := d.cells[colItemType]; v != "" {
		if t, ok := lookupTerm(cityhub.ItemTypes, v, ""); ok {
			it.Type = t.Code
		} else {
			bad(colItemType, fmt.Sprintf("%s is not a data type: one of %s, or its code C N Y D T L M G B I F", quote(v), termList(cityhub.ItemTypes)))
		}
	}
	if n, ok := parseLength(d.cells[colItemLength]); ok {
		it.Length = n
	} else {
		bad(colItemLength, fmt.Sprintf("%s is not a whole number", quote(d.cells[colItemLength])))
	}
	for _, f := range []struct {
		k int
		p *bool
	}{{colItemRequired, &it.Required}, {colItemPrimaryKey, &it.PrimaryKey}} {
		if b, ok := parseBool(d.cells[f.k]); ok {
			*f.p = b
		} else {
			bad(f.k, fmt.Sprintf("%s is not 是 or 否", quote(d.cells[f.k])))
		}
	}
	if v := d.cells[colItemSensitivity]; v != "" {
		if t, ok := lookupTerm(cityhub.Sensitivities, v, ""); ok {
			it.Sensitivity = t.Code
		} else {
			bad(colItemSensitivity, fmt.Sprintf("%s is not one of %s", quote(v), termList(cityhub.Sensitivities)))
		}
	}
	return it, true
}

// finish builds the entries once every row is read.
func (d *decoder) finish() *Sheet {
	d.reading = false
	s := d.sheet
	switch {
	case !d.found && !d.stopped:
		d.noHeader()
	case d.found && !d.headerBad && !d.incomplete:
		s.Rows = make([]cityhub.ImportRow, 0, len(d.groups))
		for _, g := range d.groups {
			s.Rows = append(s.Rows, cityhub.ImportRow{Row: g.row, Entry: d.entry(g)})
		}
	}
	sort.SliceStable(s.Problems, func(i, j int) bool {
		a, b := s.Problems[i], s.Problems[j]
		if a.Row != b.Row {
			return a.Row < b.Row
		}
		return d.position(a.Column) < d.position(b.Column)
	})
	if d.notice != nil {
		s.Problems = append(s.Problems, *d.notice)
	}
	return s
}

// position is the file column of a problem's column, to order the
// problems of a row from left to right.
func (d *decoder) position(column string) int {
	if column == "" {
		return -1
	}
	for i, k := range d.colOf {
		if k >= 0 && d.sheet.headers[k] == column {
			return i
		}
	}
	if strings.Trim(column, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && len(column) <= 3 {
		n := 0
		for _, r := range column {
			n = n*26 + int(r-'A'+1)
		}
		return n - 1
	}
	return len(d.colOf) // a missing column's header
}

// entry builds the catalog entry of a group.
func (d *decoder) entry(g *group) *cityhub.CatalogEntry {
	v := &g.values
	e := &cityhub.CatalogEntry{
		Code:               v[colCode],
		ClassificationCode: v[colClassification],
		Name:               v[colName],
		ProviderName:       v[colProvider],
		ProviderCode:       v[colProviderCode],
		Abstract:           v[colAbstract],
		Format:             v[colFormat],
		Items:              g.items,
		ShareType:          v[colShareType],
		ShareCondition:     v[colShareCondition],
		ShareMethod:        v[colShareMethod],
		ShareBasis:         v[colShareBasis],
		OpenType:           v[colOpenType],
		OpenCondition:      v[colOpenCondition],
		OpenBasis:          v[colOpenBasis],
		UpdateCycle:        v[colUpdateCycle],
		PublishDate:        v[colPublishDate],
		RelatedCodes:       splitList(v[colRelatedCodes]),
		Tags:               splitList(v[colTags]),
		Domain:             v[colDomain],
		Status:             v[colStatus],
	}
	if e.OpenType == openYes {
		e.OpenType = cityhub.Unconditional
		if e.OpenCondition != "" {
			e.OpenType = cityhub.Conditional
		}
	}
	if e.Items == nil {
		e.Items = []cityhub.DataItem{}
	}
	e.ProviderID = d.provider(g)
	return e
}

// provider resolves the entry's department: by 提供方代码 first, then by
// name.
func (d *decoder) provider(g *group) int64 {
	code, name := g.values[colProviderCode], g.values[colProvider]
	if d.res == nil || code == "" && name == "" {
		return 0
	}
	dept := func(s string) (int64, bool) {
		hit, seen := d.depts[s]
		if !seen {
			hit.id, hit.ok = d.res.DepartmentID(s)
			d.depts[s] = hit
		}
		return hit.id, hit.ok
	}
	if code != "" {
		if id, ok := dept(code); ok {
			if name != "" {
				if other, ok := dept(name); ok && other != id {
					d.problem(g.rows[colProvider], d.sheet.headers[colProvider], fmt.Sprintf("%s is not the department with 提供方代码 %s",
						quote(g.raw[colProvider]), g.raw[colProviderCode]), g.row)
				}
			}
			return id
		}
	}
	if name != "" {
		if id, ok := dept(name); ok {
			return id
		}
	}
	if code != "" {
		reason := fmt.Sprintf("no department with 统一社会信用代码 %s", quote(g.raw[colProviderCode]))
		if name != "" {
			reason += " or named " + quote(g.raw[colProvider])
		}
		d.problem(g.rows[colProviderCode], d.sheet.headers[colProviderCode], reason, g.row)
	} else {
		d.problem(g.rows[colProvider], d.sheet.headers[colProvider], "no department named "+quote(g.raw[colProvider]), g.row)
	}
	return 0
}

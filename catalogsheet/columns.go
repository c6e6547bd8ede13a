// Package catalogsheet reads and writes the government information resource
// catalog (政务信息资源目录) as XLSX and CSV in the column layout of the
// 《政务信息资源目录编制指南(试行)》, as departments keep it in Excel.
//
// The layout has one row per data item (信息项). The entry's own columns
// repeat on each of its rows, or are left blank on the rows after the
// first, as Excel exports merged cells. The columns are those of Columns(),
// in the guideline's order, then the platform's 开放领域, 标签 and 状态.
//
// Reading is lenient where files vary and strict where data could be lost:
//
//   - Headers may be Chinese or English, in any case and spacing, in any
//     order, with a * in front or a remark such as （必填） behind. Title
//     rows above the header row are skipped; a 序号 column is ignored. An
//     unknown, repeated or missing required column is a problem of the
//     whole file, and then no entries are returned.
//   - Rows with the same 信息资源代码 form one entry, wherever they are.
//     Without a code, a row continues the entry above when its 信息资源名称
//     is blank, or the same with the same provider; otherwise it starts a
//     new entry. Blank rows and footnotes (注：…) are skipped.
//   - Vocabularies take the Chinese label, the English label or the code;
//     dates CCYY-MM-DD, 2026/1/2, 2026年1月2日, 20260102 or Excel dates;
//     yes/no columns 是/否, Y/N, true/false, 1/0; lists of tags and related
//     codes are split at ; ； , ， 、 and line breaks.
//   - The provider is found by 提供方代码 first, then by name, through the
//     caller's Resolver; so is the open-data domain.
//
// Every value that cannot be read is a Problem naming its row, as the
// spreadsheet counts rows, and the header of its column; an entry with a
// problem is still returned (Problem.Entry names it) so that a caller can
// report everything at once and skip or refuse what is spoilt. Problems the
// store finds later (cityhub.ImportProblem) are placed in the file by
// Sheet.Locate, or by column with ColumnOf.
//
// Writers produce the same layout, so an export can be edited in Excel and
// imported again: WriteXLSX (styled, with drop-down lists, optionally with
// a title row and merged cells) and WriteCSV (UTF-8, optionally with a
// byte order mark for Excel).
package catalogsheet

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Column describes one column of the layout.
type Column struct {
	Field    string // the domain field it fills, as in cityhub.Error Fields ("name", "items[].type")
	Header   string // the guideline's Chinese header, written by the writers
	English  string // the English header, accepted on import
	Required bool   // a file without this column cannot be imported
	Item     bool   // a data item's column (one value per row) rather than the entry's
}

// column keys, in the layout's order.
const (
	colClassification = iota
	colName
	colCode
	colProvider
	colProviderCode
	colAbstract
	colFormat
	colItemName
	colItemCode
	colItemType
	colItemLength
	colItemDescription
	colItemRequired
	colItemPrimaryKey
	colItemSensitivity
	colShareType
	colShareCondition
	colShareMethod
	colShareBasis
	colOpenType
	colOpenCondition
	colOpenBasis
	colUpdateCycle
	colPublishDate
	colRelatedCodes
	colDomain
	colTags
	colStatus
	numColumns
)

// columns is the layout: the guideline's core metadata in its order, then
// the platform's own columns. aliases are further accepted headers.
var columns = [numColumns]struct {
	Column
	aliases []string
	width   float64 // XLSX column width, in characters
}{
	colClassification:  {Column{"classification_code", "信息资源分类", "Classification", true, false}, []string{"资源分类", "分类", "classification code"}, 16},
	colName:            {Column{"name", "信息资源名称", "Resource Name", true, false}, []string{"资源名称", "name", "title"}, 28},
	colCode:            {Column{"code", "信息资源代码", "Resource Code", false, false}, []string{"资源代码", "code"}, 22},
	colProvider:        {Column{"provider_id", "信息资源提供方", "Provider", false, false}, []string{"提供方", "提供部门", "提供方名称", "provider name"}, 24},
	colProviderCode:    {Column{"provider_code", "提供方代码", "Provider Code", false, false}, []string{"提供方统一社会信用代码", "统一社会信用代码", "credit code"}, 22},
	colAbstract:        {Column{"abstract", "信息资源摘要", "Abstract", true, false}, []string{"资源摘要", "摘要", "summary"}, 40},
	colFormat:          {Column{"format", "信息资源格式", "Format", true, false}, []string{"资源格式", "格式", "resource format"}, 12},
	colItemName:        {Column{"items[].name", "信息项名称", "Item Name", true, true}, []string{"数据项名称", "data item", "item"}, 20},
	colItemCode:        {Column{"items[].code", "信息项英文名", "Item Code", false, true}, []string{"英文名", "信息项代码", "字段名", "item english name", "field name"}, 20},
	colItemType:        {Column{"items[].type", "数据类型", "Data Type", true, true}, []string{"信息项类型", "type", "item type"}, 12},
	colItemLength:      {Column{"items[].length", "数据长度", "Length", false, true}, []string{"长度", "data length"}, 10},
	colItemDescription: {Column{"items[].description", "信息项描述", "Item Description", false, true}, []string{"描述", "description"}, 30},
	colItemRequired:    {Column{"items[].required", "是否必填", "Required", false, true}, []string{"必填", "is required"}, 10},
	colItemPrimaryKey:  {Column{"items[].primary_key", "是否主键", "Primary Key", false, true}, []string{"主键", "pk", "is primary key"}, 10},
	colItemSensitivity: {Column{"items[].sensitivity", "敏感级别", "Sensitivity", false, true}, []string{"敏感等级", "sensitivity level", "sensitivity"}, 10},
	colShareType:       {Column{"share_type", "共享类型", "Share Type", true, false}, nil, 14},
	colShareCondition:  {Column{"share_condition", "共享条件", "Share Condition", false, false}, nil, 24},
	colShareMethod:     {Column{"share_method", "共享方式", "Share Method", false, false}, nil, 16},
	colShareBasis:      {Column{"share_basis", "共享依据", "Share Basis", false, false}, nil, 24},
	colOpenType:        {Column{"open_type", "是否向社会开放", "Open Type", true, false}, []string{"开放类型", "开放属性", "open"}, 16},
	colOpenCondition:   {Column{"open_condition", "开放条件", "Open Condition", false, false}, nil, 24},
	colOpenBasis:       {Column{"open_basis", "开放依据", "Open Basis", false, false}, nil, 24},
	colUpdateCycle:     {Column{"update_cycle", "更新周期", "Update Cycle", true, false}, []string{"update frequency"}, 10},
	colPublishDate:     {Column{"publish_date", "发布日期", "Publish Date", false, false}, []string{"release date", "published"}, 12},
	colRelatedCodes:    {Column{"related_codes", "关联资源代码", "Related Codes", false, false}, []string{"related resource codes", "related"}, 24},
	colDomain:          {Column{"domain", "开放领域", "Domain", false, false}, []string{"open domain"}, 14},
	colTags:            {Column{"tags", "标签", "Tags", false, false}, []string{"tag"}, 20},
	colStatus:          {Column{"status", "状态", "Status", false, false}, nil, 10},
}

// ignoredHeaders are columns that templates commonly carry and that hold
// nothing to import (a running number).
var ignoredHeaders = map[string]bool{"序号": true, "no": true, "no.": true, "#": true, "seq": true}

// Columns returns the layout's columns in the order the writers use.
func Columns() []Column {
	out := make([]Column, numColumns)
	for i := range columns {
		out[i] = columns[i].Column
	}
	return out
}

// headerIndex maps a normalized header to its column.
var headerIndex = func() map[string]int {
	m := map[string]int{}
	for i, c := range columns {
		keys := []string{c.Header, c.English, c.Field}
		if short, ok := strings.CutPrefix(c.Field, "items[]."); ok {
			keys[2] = "item " + short
		}
		for _, h := range append(keys, c.aliases...) {
			m[normHeader(h)] = i
		}
	}
	m[normHeader("provider_name")] = colProvider
	return m
}()

// normHeader folds case and drops white space, _ and - so that "Share
// Type", "share_type" and "共享 类型" compare equal.
func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '\u00a0' || r == '\ufeff' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decoration is what templates put around a header: a required mark in
// front, a remark in parentheses behind ("*信息资源名称（必填）").
var decoration = regexp.MustCompile(`^[*＊※]+|[(（][^()（）]*[)）]$`)

// What lookupHeader says of header cells that name no column.
const (
	colBlank   = -1 // a blank header cell
	colIgnored = -2 // a column to ignore (序号)
	colUnknown = -3
)

// lookupHeader finds the column of a header cell, or colBlank, colIgnored,
// colUnknown.
func lookupHeader(h string) int {
	n := normHeader(h)
	if n == "" {
		return colBlank
	}
	for range 3 {
		if i, ok := headerIndex[n]; ok {
			return i
		}
		if ignoredHeaders[n] {
			return colIgnored
		}
		stripped := normHeader(decoration.ReplaceAllString(n, ""))
		if stripped == n || stripped == "" {
			break
		}
		n = stripped
	}
	return colUnknown
}

// fieldColumn maps domain field names that are not a column's own Field.
var fieldColumn = map[string]int{
	"provider_name": colProvider,
	"items":         colItemName,
}

// ColumnOf maps a domain field name, as used in cityhub.Error Fields and
// cityhub.ImportProblem.Field ("name", "share_basis", "items[3].type",
// "provider_id"), to the header the writers use for it; "" when no column
// holds the field.
func ColumnOf(field string) string {
	if i := columnIndexOf(field); i >= 0 {
		return columns[i].Header
	}
	return ""
}

// columnIndexOf is ColumnOf's column index, -1 when there is none.
func columnIndexOf(field string) int {
	field = strings.TrimSpace(field)
	if _, ok := itemIndex(field); ok {
		field = "items[]." + field[strings.IndexByte(field, ']')+2:]
	}
	if i, ok := fieldColumn[field]; ok {
		return i
	}
	for i, c := range columns {
		if c.Field == field {
			return i
		}
	}
	return -1
}

// itemIndex parses "items[3].type" into 3.
func itemIndex(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "items[")
	if !ok {
		return 0, false
	}
	num, after, ok := strings.Cut(rest, "]")
	if !ok || !strings.HasPrefix(after, ".") || len(after) < 2 {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0
}

package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cityhub/cityhub"
)

// MaxRowLimit caps a page of rows (CKAN's datastore caps at 32,000 too).
const MaxRowLimit = 32000

// QueryRows reads a page of an entry's table at a version, within the
// caller's scope (allowed items, row scope, masks).
func (s *Store) QueryRows(ctx context.Context, rq cityhub.RowQuery) (*cityhub.RowResult, error) {
	info, err := s.Table(ctx, rq.EntryID)
	if err != nil {
		return nil, err
	}
	version := rq.Version
	if version == 0 {
		version = info.Version
	} else if version > info.Version {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "table version %d does not exist", version)
	}
	byName := map[string]cityhub.TableColumn{}
	for _, c := range info.Columns {
		byName[c.Item] = c
		if c.Code != "" {
			byName[strings.ToLower(c.Code)] = c
		}
	}
	allowed := func(c cityhub.TableColumn) bool {
		return rq.AllowedItems == nil || slices.Contains(rq.AllowedItems, c.Item)
	}
	column := func(field, name string) (cityhub.TableColumn, error) {
		c, ok := byName[name]
		if !ok {
			c, ok = byName[strings.ToLower(name)]
		}
		if !ok || !allowed(c) {
			return c, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query",
				Fields: map[string]string{field: fmt.Sprintf("no column %q", name)}}
		}
		return c, nil
	}

	var fields []cityhub.TableColumn
	if len(rq.Fields) == 0 {
		for _, c := range info.Columns {
			if allowed(c) {
				fields = append(fields, c)
			}
		}
	} else {
		for _, f := range rq.Fields {
			c, err := column("fields", f)
			if err != nil {
				return nil, err
			}
			fields = append(fields, c)
		}
	}

	table := fmt.Sprintf("ds_%d", rq.EntryID)
	var w where
	w.add(validIn, version, version)
	for _, group := range []struct {
		field   string
		filters []cityhub.RowFilter
	}{{"filters", rq.Filters}, {"scope", rq.RowScope}} {
		for _, f := range group.filters {
			c, err := column(group.field, f.Item)
			if err != nil {
				return nil, err
			}
			if group.field == "filters" && rq.Masks[c.Item] != "" {
				// A range or an equality on clear values would give back what
				// the mask hides.
				return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query",
					Fields: map[string]string{"filters": c.Item + " is masked for you: it cannot be filtered on"}}
			}
			cond, args, err := filterSQL(c, f)
			if err != nil {
				return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query", Fields: map[string]string{group.field: err.Error()}}
			}
			w.add(cond, args...)
		}
	}
	if q := strings.TrimSpace(rq.Q); q != "" {
		var ors []string
		var args []any
		pattern := likeEscape(q)
		for _, c := range fields {
			// Masked columns are not searched: a match would confirm a guess.
			if s.columnType(c.Type) == "TEXT" && rq.Masks[c.Item] == "" {
				ors = append(ors, "LOWER("+c.Column+`) LIKE ? ESCAPE '\'`)
				args = append(args, pattern)
			}
		}
		if len(ors) == 0 {
			ors = []string{"1 = 0"}
		}
		w.add("("+strings.Join(ors, " OR ")+")", args...)
	}

	if rq.Distinct {
		return s.distinctRows(ctx, rq, table, version, fields, w, column)
	}
	order := "_id"
	keyset := true
	if len(rq.Sort) > 0 {
		var parts []string
		for _, srt := range rq.Sort {
			desc := strings.HasPrefix(srt, "-")
			c, err := column("sort", strings.TrimPrefix(srt, "-"))
			if err != nil {
				return nil, err
			}
			if rq.Masks[c.Item] != "" {
				return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query",
					Fields: map[string]string{"sort": c.Item + " is masked for you: it cannot be sorted on"}}
			}
			dir := " ASC"
			if desc {
				dir = " DESC"
			}
			parts = append(parts, c.Column+dir)
		}
		order = strings.Join(append(parts, "_id"), ", ")
		keyset = false
	}
	res := &cityhub.RowResult{Version: version, Rows: []map[string]any{}}
	for _, c := range fields {
		res.Fields = append(res.Fields, c.Item)
	}
	if rq.Total {
		var total int64
		if len(w.conds) == 1 && version == info.Version {
			total = info.Rows // no filter: the count kept at load time
		} else if err := s.read().row(ctx, "SELECT COUNT(*) FROM "+table+w.String(), w.args...).Scan(&total); err != nil {
			return nil, err
		}
		res.Total = &total
	}
	limit := rq.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > MaxRowLimit {
		limit = MaxRowLimit
	}
	page := w
	page.conds = slices.Clone(w.conds)
	page.args = slices.Clone(w.args)
	offset := rq.Offset
	if rq.After > 0 {
		if !keyset {
			return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query",
				Fields: map[string]string{"after": "keyset paging follows _id order; leave sort empty"}}
		}
		page.add("_id > ?", rq.After)
		offset = 0
	}
	cols := make([]string, len(fields))
	for i, c := range fields {
		cols[i] = c.Column
	}
	sel := "_id"
	if len(cols) > 0 {
		sel += ", " + strings.Join(cols, ", ")
	}
	query := "SELECT " + sel + " FROM " + table + page.String() + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	if len(rq.Filters)+len(rq.RowScope)+len(rq.Sort) > 0 && strings.TrimSpace(rq.Q) == "" {
		// The page's ids first, from the filter's index alone, then only
		// their rows: otherwise SQLite reads every matching row to sort it
		// (900 rows read for a page of 20 when a day is filtered in 10M).
		query = "SELECT " + sel + " FROM " + table + " WHERE _id IN (SELECT _id FROM " + table + page.String() +
			" ORDER BY " + order + " LIMIT ? OFFSET ?) ORDER BY " + order
	}
	rows, err := s.read().query(ctx, query, append(page.args, limit, offset)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]any, len(fields)+1)
	vals := make([]any, len(fields)+1)
	for i := range dest {
		dest[i] = &vals[i]
	}
	var lastID int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(fields)+1)
		lastID = toInt64(vals[0])
		row["_id"] = lastID
		for i, c := range fields {
			v := cellValue(c, vals[i+1])
			if rule := rq.Masks[c.Item]; rule != "" && v != nil {
				if str, ok := v.(string); ok {
					v = cityhub.Mask(rule, str)
				} else {
					v = cityhub.MaskAll(fmt.Sprint(v)) // numbers and logicals: nothing of them shows
				}
			}
			row[c.Item] = v
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if keyset && len(res.Rows) == limit {
		res.Next = lastID
	}
	return res, nil
}

// distinctRows answers a Distinct query: each combination of the fields'
// values once, with their count when asked.
func (s *Store) distinctRows(ctx context.Context, rq cityhub.RowQuery, table string, version int,
	fields []cityhub.TableColumn, w where, column func(field, name string) (cityhub.TableColumn, error)) (*cityhub.RowResult, error) {
	invalid := func(field, msg string) error {
		return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid row query", Fields: map[string]string{field: msg}}
	}
	if len(fields) == 0 {
		return nil, invalid("fields", "distinct needs at least one field")
	}
	if rq.After > 0 {
		return nil, invalid("after", "distinct rows have no _id to page by: use offset")
	}
	cols := make([]string, len(fields))
	for i, c := range fields {
		if rq.Masks[c.Item] != "" {
			// How many distinct values a masked item has tells about them.
			return nil, invalid("fields", c.Item+" is masked for you: it cannot be distinct")
		}
		cols[i] = c.Column
	}
	var order []string
	for _, srt := range rq.Sort {
		c, err := column("sort", strings.TrimPrefix(srt, "-"))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(cols, c.Column) {
			return nil, invalid("sort", c.Item+" is not among the distinct fields")
		}
		dir := " ASC"
		if strings.HasPrefix(srt, "-") {
			dir = " DESC"
		}
		order = append(order, c.Column+dir)
	}
	for _, c := range cols {
		if !slices.ContainsFunc(order, func(o string) bool { return strings.HasPrefix(o, c+" ") }) {
			order = append(order, c) // a total order, so pages do not overlap
		}
	}
	sel := "SELECT DISTINCT " + strings.Join(cols, ", ") + " FROM " + table + w.String()
	res := &cityhub.RowResult{Version: version, Rows: []map[string]any{}}
	for _, c := range fields {
		res.Fields = append(res.Fields, c.Item)
	}
	if rq.Total {
		var total int64
		if err := s.read().row(ctx, "SELECT COUNT(*) FROM ("+sel+") d", w.args...).Scan(&total); err != nil {
			return nil, err
		}
		res.Total = &total
	}
	limit := rq.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.read().query(ctx, sel+" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?",
		append(slices.Clone(w.args), min(limit, MaxRowLimit), max(rq.Offset, 0))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := make([]any, len(fields))
	dest := make([]any, len(fields))
	for i := range dest {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(fields))
		for i, c := range fields {
			row[c.Item] = cellValue(c, vals[i])
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// filterSQL turns a filter into a condition on c's column with typed
// arguments.
func filterSQL(c cityhub.TableColumn, f cityhub.RowFilter) (string, []any, error) {
	if len(f.Values) == 0 {
		return "", nil, fmt.Errorf("%s: no value", c.Item)
	}
	args := make([]any, len(f.Values))
	for i, v := range f.Values {
		a, err := argFor(c, v)
		if err != nil {
			return "", nil, err
		}
		args[i] = a
	}
	ops := map[string]string{cityhub.OpEq: "=", cityhub.OpGte: ">=", cityhub.OpLte: "<=", cityhub.OpGt: ">", cityhub.OpLt: "<"}
	switch op := f.Op; {
	case op == cityhub.OpIn || op == "" && len(args) > 1:
		return c.Column + " IN (?" + strings.Repeat(", ?", len(args)-1) + ")", args, nil
	case op == "":
		return c.Column + " = ?", args[:1], nil
	case ops[op] != "" && len(args) == 1:
		return c.Column + " " + ops[op] + " ?", args, nil
	case ops[op] != "":
		return "", nil, fmt.Errorf("%s: %s takes one value", c.Item, op)
	}
	return "", nil, fmt.Errorf("%s: unknown operator %q (eq, in, gt, gte, lt, lte)", c.Item, f.Op)
}

// argFor converts a filter value to the column's type.
func argFor(c cityhub.TableColumn, v string) (any, error) {
	switch c.Type {
	case "N", "Y":
		f, err := cityhub.ParseNumber(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", c.Item, v)
		}
		return f, nil
	case "L":
		b, err := cityhub.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", c.Item, v)
		}
		return b, nil
	}
	return v, nil
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	return 0
}

// cellValue is a stored value as the API shows it: numbers as numbers,
// logicals as booleans, everything else as text, empty as null.
func cellValue(c cityhub.TableColumn, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return string(x)
	case int64:
		if c.Type == "L" {
			return x != 0
		}
		return float64(x)
	}
	return v
}

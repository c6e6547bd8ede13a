package storetest

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// tableTests are the "Tables" group: the rows behind catalog entries.
var tableTests = []subtest{
	{"LoadAndQuery", testTableLoadAndQuery},
	{"Modes", testTableModes},
	{"FailedLoadLeavesNothing", testTableFailedLoad},
	{"VersionsAndRollback", testTableRollback},
	{"ScopeAndMasks", testTableScope},
	{"Quality", testTableQuality},
	{"EarlierLayoutUpgraded", testTableEarlierLayout},
	{"Distinct", testTableDistinct},
}

// tableEntry is an entry whose items cover the column types.
func (e *env) tableEntry(t *testing.T) *cityhub.CatalogEntry {
	t.Helper()
	d := e.createDepartment(t)
	return e.createEntry(t, d, func(c *cityhub.CatalogEntry) {
		c.Items = []cityhub.DataItem{
			{Name: "编号", Code: "id", Type: "C", Length: 20, PrimaryKey: true, Required: true, Sensitivity: cityhub.SensPublic},
			{Name: "区县", Code: "district", Type: "C", Length: 10, Sensitivity: cityhub.SensPublic},
			{Name: "金额", Code: "amount", Type: "N", Sensitivity: cityhub.SensPublic},
			{Name: "日期", Code: "day", Type: "D", Sensitivity: cityhub.SensPublic},
			{Name: "有效", Code: "valid", Type: "L", Sensitivity: cityhub.SensPublic},
			{Name: "联系人", Code: "contact", Type: "C", Length: 20, Sensitivity: cityhub.SensSensitive},
			{Name: "证件号", Code: "secret_no", Type: "C", Length: 20, Sensitivity: cityhub.SensSecret},
		}
	})
}

// row makes a row in the column order of tableEntry's table.
func row(id, district string, amount float64, day string, valid bool) []any {
	return []any{id, district, amount, day, valid, "张三丰", "S" + id}
}

// load runs a whole load of rows and returns the finished job.
func (e *env) load(t *testing.T, entry *cityhub.CatalogEntry, mode string, rows ...[]any) *cityhub.LoadJob {
	t.Helper()
	if _, err := e.Store.PrepareTable(e.ctx, entry); err != nil {
		t.Fatalf("PrepareTable: %v", err)
	}
	job := &cityhub.LoadJob{EntryID: entry.ID, Mode: mode, Source: "test.csv", Format: "csv"}
	if err := e.Store.StartLoad(e.ctx, job); err != nil {
		t.Fatalf("StartLoad: %v", err)
	}
	job.Received, job.Stored = int64(len(rows)), int64(len(rows))
	if err := e.Store.WriteRows(e.ctx, job, rows); err != nil {
		t.Fatalf("WriteRows: %v", err)
	}
	if err := e.Store.FinishLoad(e.ctx, job, nil, ""); err != nil {
		t.Fatalf("FinishLoad: %v", err)
	}
	return job
}

func (e *env) rows(t *testing.T, q cityhub.RowQuery) *cityhub.RowResult {
	t.Helper()
	res, err := e.Store.QueryRows(e.ctx, q)
	if err != nil {
		t.Fatalf("QueryRows %+v: %v", q, err)
	}
	return res
}

func rowIDs(res *cityhub.RowResult) []string {
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprint(r["编号"]))
	}
	return out
}

func testTableLoadAndQuery(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	var rows [][]any
	for i := 1; i <= 25; i++ {
		district := []string{"海曙区", "江北区", "鄞州区"}[i%3]
		rows = append(rows, row(fmt.Sprintf("R%02d", i), district, float64(i*10), fmt.Sprintf("2026-01-%02d", i), i%2 == 0))
	}
	job := e.load(t, entry, cityhub.LoadAppend, rows...)
	if job.Status != cityhub.JobSucceeded || job.Version != 1 {
		t.Fatalf("job: got status %s version %d", job.Status, job.Version)
	}
	info, err := e.Store.Table(e.ctx, entry.ID)
	if err != nil || info.Version != 1 || info.Rows != 25 || len(info.Columns) != 7 {
		t.Fatalf("table: %+v %v", info, err)
	}
	got, err := e.Store.LoadJob(e.ctx, job.ID)
	if err != nil || got.Stored != 25 || got.Status != cityhub.JobSucceeded || got.FinishedAt == nil {
		t.Fatalf("stored job: %+v %v", got, err)
	}

	res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Total: true, Limit: 10})
	if *res.Total != 25 || len(res.Rows) != 10 || res.Next == 0 {
		t.Fatalf("first page: total %v rows %d next %d", *res.Total, len(res.Rows), res.Next)
	}
	if r := res.Rows[0]; r["金额"] != float64(10) || r["有效"] != false || r["日期"] != "2026-01-01" {
		t.Errorf("typed values: got %v", r)
	}
	// Keyset paging reads every row exactly once.
	var all []string
	for after := int64(0); ; {
		page := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, After: after, Limit: 7})
		all = append(all, rowIDs(page)...)
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	if len(all) != 25 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 25 {
		t.Errorf("keyset paging: got %d rows %v", len(all), all)
	}
	for _, tc := range []struct {
		name    string
		q       cityhub.RowQuery
		want    []string
		total   int64
		wantErr string
	}{
		{"eq", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "区县", Op: "eq", Values: []string{"海曙区"}}}, Sort: []string{"编号"}, Limit: 3},
			[]string{"R03", "R06", "R09"}, 8, ""},
		{"in by code", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "id", Op: "in", Values: []string{"R01", "R02"}}}},
			[]string{"R01", "R02"}, 2, ""},
		{"range", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "金额", Op: "gte", Values: []string{"200"}}, {Item: "金额", Op: "lt", Values: []string{"230"}}}},
			[]string{"R20", "R21", "R22"}, 3, ""},
		{"date range", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "日期", Op: "gt", Values: []string{"2026-01-23"}}}},
			[]string{"R24", "R25"}, 2, ""},
		{"bool", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "有效", Op: "eq", Values: []string{"是"}}, {Item: "金额", Op: "lte", Values: []string{"40"}}}},
			[]string{"R02", "R04"}, 2, ""},
		{"text", cityhub.RowQuery{Q: "r1", Sort: []string{"-编号"}, Limit: 2}, []string{"R19", "R18"}, 10, ""},
		{"fields", cityhub.RowQuery{Fields: []string{"编号"}, Limit: 1}, []string{"R01"}, 25, ""},
		{"offset", cityhub.RowQuery{Sort: []string{"-金额"}, Offset: 5, Limit: 2}, []string{"R20", "R19"}, 25, ""},
		{"unknown column", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "nope", Values: []string{"1"}}}}, nil, 0, "filters"},
		{"bad number", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "金额", Op: "gt", Values: []string{"many"}}}}, nil, 0, "filters"},
		{"bad op", cityhub.RowQuery{Filters: []cityhub.RowFilter{{Item: "金额", Op: "like", Values: []string{"1"}}}}, nil, 0, "filters"},
		{"keyset with sort", cityhub.RowQuery{Sort: []string{"金额"}, After: 3}, nil, 0, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.EntryID, tc.q.Total = entry.ID, true
			res, err := e.Store.QueryRows(e.ctx, tc.q)
			if tc.wantErr != "" {
				var ce *cityhub.Error
				if !errors.As(err, &ce) || ce.Fields[tc.wantErr] == "" {
					t.Fatalf("got %v, want an invalid error on %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rowIDs(res); !slices.Equal(got, tc.want) || *res.Total != tc.total {
				t.Errorf("got %v total %d, want %v total %d", got, *res.Total, tc.want, tc.total)
			}
		})
	}
}

func testTableModes(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), row("B", "江北区", 2, "2026-01-02", true))
	e.load(t, entry, cityhub.LoadAppend, row("C", "海曙区", 3, "2026-01-03", true))
	// Upsert: B changes, D is new, and of two rows with one key the last wins.
	e.load(t, entry, cityhub.LoadUpsert, row("B", "鄞州区", 20, "2026-02-02", false), row("D", "江北区", 4, "2026-01-04", true),
		row("D", "江北区", 40, "2026-01-04", true))
	res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Sort: []string{"编号"}, Total: true})
	if got := rowIDs(res); !slices.Equal(got, []string{"A", "B", "C", "D"}) || *res.Total != 4 {
		t.Fatalf("after upsert: got %v (total %d)", got, *res.Total)
	}
	if res.Rows[1]["区县"] != "鄞州区" || res.Rows[3]["金额"] != float64(40) {
		t.Errorf("upserted values: got %v and %v", res.Rows[1], res.Rows[3])
	}
	e.load(t, entry, cityhub.LoadReplace, row("X", "海曙区", 9, "2026-03-01", true))
	res = e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Total: true})
	if got := rowIDs(res); !slices.Equal(got, []string{"X"}) || *res.Total != 1 {
		t.Fatalf("after replace: got %v (total %d)", got, *res.Total)
	}
	// Every version stays readable.
	for v, want := range map[int][]string{1: {"A", "B"}, 2: {"A", "B", "C"}, 3: {"A", "B", "C", "D"}, 4: {"X"}} {
		res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Version: v, Sort: []string{"编号"}, Total: true})
		if got := rowIDs(res); !slices.Equal(got, want) || *res.Total != int64(len(want)) {
			t.Errorf("version %d: got %v, want %v", v, got, want)
		}
	}
}

func testTableFailedLoad(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true))
	for _, mode := range []string{cityhub.LoadReplace, cityhub.LoadUpsert, cityhub.LoadAppend} {
		job := &cityhub.LoadJob{EntryID: entry.ID, Mode: mode, Source: "bad.csv", Format: "csv"}
		if err := e.Store.StartLoad(e.ctx, job); err != nil {
			t.Fatal(err)
		}
		// While it runs, a second load is refused and readers see version 1.
		if err := e.Store.StartLoad(e.ctx, &cityhub.LoadJob{EntryID: entry.ID, Mode: mode}); cityhub.ErrorCode(err) != cityhub.ECONFLICT {
			t.Errorf("%s: second load: got %v, want a conflict", mode, err)
		}
		if err := e.Store.WriteRows(e.ctx, job, [][]any{row("A", "江北区", 5, "2026-01-05", false), row("Z", "江北区", 6, "2026-01-06", false)}); err != nil {
			t.Fatal(err)
		}
		if got := rowIDs(e.rows(t, cityhub.RowQuery{EntryID: entry.ID})); !slices.Equal(got, []string{"A"}) {
			t.Errorf("%s: during the load: got %v, want only the committed row", mode, got)
		}
		job.Received, job.Rejected, job.Discarded = 3, 1, 2
		if err := e.Store.FinishLoad(e.ctx, job, []cityhub.RowProblem{{Line: 4, Column: "金额", Value: "x", Reason: "not a number"}},
			"1 rows were rejected"); err != nil {
			t.Fatal(err)
		}
		res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Total: true})
		if got := rowIDs(res); !slices.Equal(got, []string{"A"}) || res.Rows[0]["区县"] != "海曙区" || res.Version != 1 {
			t.Errorf("%s: after the failed load: got %v (version %d)", mode, res.Rows, res.Version)
		}
		got, _ := e.Store.LoadJob(e.ctx, job.ID)
		if got.Status != cityhub.JobFailed || got.Received != got.Stored+got.Rejected+got.Discarded {
			t.Errorf("%s: failed job: %+v", mode, got)
		}
		if rej, _ := e.Store.RejectedRows(e.ctx, job.ID); len(rej) != 1 || rej[0].Line != 4 {
			t.Errorf("%s: rejected rows: %+v", mode, rej)
		}
	}
	// Recovery after a crash mid-load: the running job fails, its rows go.
	job := &cityhub.LoadJob{EntryID: entry.ID, Mode: cityhub.LoadReplace, Source: "crash.csv", Format: "csv"}
	if err := e.Store.StartLoad(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.WriteRows(e.ctx, job, [][]any{row("Q", "江北区", 5, "2026-01-05", false)}); err != nil {
		t.Fatal(err)
	}
	n, err := e.Store.RecoverLoads(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverLoads: %d %v", n, err)
	}
	if got := rowIDs(e.rows(t, cityhub.RowQuery{EntryID: entry.ID})); !slices.Equal(got, []string{"A"}) {
		t.Errorf("after recovery: got %v", got)
	}
	if got, _ := e.Store.LoadJob(e.ctx, job.ID); got.Status != cityhub.JobFailed {
		t.Errorf("recovered job: %+v", got)
	}
	if rep := e.verify(t); !rep.OK {
		t.Errorf("audit chain after loads: %s", rep.Message)
	}
}

func testTableRollback(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), row("B", "江北区", 2, "2026-01-02", true))
	e.load(t, entry, cityhub.LoadUpsert, row("B", "鄞州区", 20, "2026-02-02", false), row("C", "江北区", 3, "2026-01-03", true))
	v, err := e.Store.RollbackTable(e.ctx, entry.ID, 1)
	if err != nil || v.Version != 3 || v.Rows != 2 {
		t.Fatalf("rollback: %+v %v", v, err)
	}
	res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Sort: []string{"编号"}})
	if got := rowIDs(res); !slices.Equal(got, []string{"A", "B"}) || res.Rows[1]["区县"] != "江北区" || res.Version != 3 {
		t.Errorf("after rollback: got %v", res.Rows)
	}
	if got := rowIDs(e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Version: 2, Sort: []string{"编号"}})); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Errorf("version 2 still readable: got %v", got)
	}
	vs, err := e.Store.TableVersions(e.ctx, entry.ID)
	if err != nil || len(vs) != 3 || vs[0].Mode != "rollback" {
		t.Errorf("versions: %+v %v", vs, err)
	}
	if _, err := e.Store.RollbackTable(e.ctx, entry.ID, 9); cityhub.ErrorCode(err) != cityhub.EINVALID {
		t.Errorf("rollback to a missing version: got %v", err)
	}
}

func testTableScope(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), row("B", "江北区", 2, "2026-01-02", true))
	allowed := []string{"编号", "区县", "联系人"}
	res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, AllowedItems: allowed, Masks: map[string]string{"联系人": "name"},
		RowScope: []cityhub.RowFilter{{Item: "区县", Op: "eq", Values: []string{"江北区"}}}, Total: true})
	if len(res.Rows) != 1 || *res.Total != 1 || res.Rows[0]["联系人"] != "张*丰" {
		t.Fatalf("scoped: got %v", res.Rows)
	}
	if _, ok := res.Rows[0]["证件号"]; ok || !slices.Equal(res.Fields, allowed) {
		t.Errorf("scoped fields: got %v", res.Fields)
	}
	for _, q := range []cityhub.RowQuery{
		{Fields: []string{"证件号"}},
		{Filters: []cityhub.RowFilter{{Item: "证件号", Values: []string{"SA"}}}},
		{Sort: []string{"证件号"}},
	} {
		q.EntryID, q.AllowedItems = entry.ID, allowed
		if _, err := e.Store.QueryRows(e.ctx, q); cityhub.ErrorCode(err) != cityhub.EINVALID {
			t.Errorf("reaching a column outside the scope %+v: got %v", q, err)
		}
	}
}

func testTableQuality(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	empty := row("B", "江北区", 2, "2026-01-02", true)
	empty[1], empty[2] = nil, nil // no district, no amount
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), empty)
	// Appending A again makes a duplicate key.
	job := &cityhub.LoadJob{EntryID: entry.ID, Mode: cityhub.LoadAppend, Source: "again.csv", Format: "csv"}
	if err := e.Store.StartLoad(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	job.Received, job.Stored, job.Rejected = 4, 2, 2
	if err := e.Store.WriteRows(e.ctx, job, [][]any{row("A", "海曙区", 1, "2026-01-01", true), row("C", "海曙区", 3, "2026-01-03", true)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.FinishLoad(e.ctx, job, []cityhub.RowProblem{{Line: 2, Column: "金额", Reason: "not a number"},
		{Line: 3, Column: "金额", Reason: "not a number"}}, ""); err != nil {
		t.Fatal(err)
	}
	q, err := e.Store.TableQuality(e.ctx, entry.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Rows != 4 || q.DuplicateKeys != 1 || q.LastLoad == nil || q.LastLoad.ID != job.ID || !q.Fresh {
		t.Errorf("quality: %+v", q)
	}
	byItem := map[string]cityhub.ColumnQuality{}
	for _, c := range q.Columns {
		byItem[c.Item] = c
	}
	if c := byItem["区县"]; c.Filled != 3 || c.Completeness != 0.75 {
		t.Errorf("区县 completeness: %+v", c)
	}
	if c := byItem["金额"]; c.Rejected != 2 || c.Validity != 0.5 {
		t.Errorf("金额 validity: %+v", c)
	}
	if c := byItem["编号"]; c.Completeness != 1 || c.Validity != 1 {
		t.Errorf("编号: %+v", c)
	}
}

// Tables of earlier releases left the rows still valid with a NULL _v_to.
// Opening the store upgrades them: every version reads as before, and
// loads and rollbacks go on.
func testTableEarlierLayout(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), row("B", "江北区", 2, "2026-01-02", true))
	e.load(t, entry, cityhub.LoadUpsert, row("B", "鄞州区", 20, "2026-02-02", false), row("C", "江北区", 3, "2026-01-03", true))
	table := fmt.Sprintf("ds_%d", entry.ID)
	// The earlier layout: _v_to nullable, NULL while a row is valid; the
	// same table otherwise (its _id still the key). PostgreSQL drops the
	// constraint; SQLite cannot, so its schema text is edited.
	if _, err := e.Exec(e.ctx, "ALTER TABLE "+table+" ALTER COLUMN _v_to DROP NOT NULL"); err != nil {
		if _, err := e.Exec(e.ctx, "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = "+
			"replace(sql, '_v_to INTEGER NOT NULL', '_v_to INTEGER') WHERE name = '"+table+"'; PRAGMA writable_schema = OFF"); err != nil {
			t.Fatalf("make _v_to nullable: %v", err)
		}
	}
	if _, err := e.Exec(e.ctx, "UPDATE "+table+" SET _v_to = NULL WHERE _v_to = 2147483647"); err != nil {
		t.Fatal(err)
	}
	// And its indexes on one column each (编号 is c1, 日期 c4).
	for _, col := range []string{"c1", "c4"} {
		for _, stmt := range []string{"DROP INDEX " + table + "_" + col, "CREATE INDEX " + table + "_" + col + " ON " + table + " (" + col + ")"} {
			if _, err := e.Exec(e.ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	e.Store = e.Reopen(t, e.Key)
	if db, ok := e.Store.(interface{ DB() *sql.DB }); ok {
		for _, col := range []string{"c1", "c4"} {
			var def string
			name := table + "_" + col
			err := db.DB().QueryRowContext(e.ctx, "SELECT sql FROM sqlite_master WHERE name = '"+name+"'").Scan(&def)
			if err != nil {
				err = db.DB().QueryRowContext(e.ctx, "SELECT indexdef FROM pg_indexes WHERE indexname = '"+name+"' AND schemaname = current_schema()").Scan(&def)
			}
			if err != nil || !strings.Contains(def, "_v_to") {
				t.Errorf("index %s after upgrade: %q (%v), want the version columns in it", name, def, err)
			}
		}
	}
	for v, want := range map[int][]string{1: {"A", "B"}, 2: {"A", "B", "C"}} {
		if got := rowIDs(e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Version: v, Sort: []string{"编号"}})); !slices.Equal(got, want) {
			t.Errorf("version %d after upgrade: got %v, want %v", v, got, want)
		}
	}
	e.load(t, entry, cityhub.LoadUpsert, row("A", "北仑区", 5, "2026-03-01", true))
	res := e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Sort: []string{"编号"}, Total: true})
	if got := rowIDs(res); !slices.Equal(got, []string{"A", "B", "C"}) || *res.Total != 3 || res.Rows[0]["区县"] != "北仑区" {
		t.Errorf("load after upgrade: got %v (total %v), first %v", got, *res.Total, res.Rows[0])
	}
	if _, err := e.Store.RollbackTable(e.ctx, entry.ID, 1); err != nil {
		t.Fatal(err)
	}
	if got := rowIDs(e.rows(t, cityhub.RowQuery{EntryID: entry.ID, Sort: []string{"编号"}})); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("rollback after upgrade: got %v", got)
	}
}

// Distinct rows: each combination of the fields' values once, counted,
// ordered and paged, within the filters; never over a masked item.
func testTableDistinct(t *testing.T, open Opener) {
	e := newEnv(t, open)
	entry := e.tableEntry(t)
	e.load(t, entry, cityhub.LoadAppend, row("A", "海曙区", 1, "2026-01-01", true), row("B", "江北区", 2, "2026-01-02", true),
		row("C", "海曙区", 3, "2026-01-03", false), row("D", "江北区", 2, "2026-01-04", true), row("E", "鄞州区", 5, "2026-01-05", true))
	text := func(res *cityhub.RowResult) []string {
		var out []string
		for _, r := range res.Rows {
			if _, ok := r["_id"]; ok {
				t.Errorf("a distinct row has an _id: %v", r)
			}
			var parts []string
			for _, f := range res.Fields {
				parts = append(parts, fmt.Sprint(r[f]))
			}
			out = append(out, strings.Join(parts, "/"))
		}
		return out
	}
	for _, c := range []struct {
		q     cityhub.RowQuery
		want  []string
		total int64
	}{
		{cityhub.RowQuery{Fields: []string{"区县"}}, []string{"江北区", "海曙区", "鄞州区"}, 3},
		{cityhub.RowQuery{Fields: []string{"区县", "有效"}, Sort: []string{"-区县"}},
			[]string{"鄞州区/true", "海曙区/false", "海曙区/true", "江北区/true"}, 4},
		{cityhub.RowQuery{Fields: []string{"金额"}, Filters: []cityhub.RowFilter{{Item: "有效", Values: []string{"true"}}}},
			[]string{"1", "2", "5"}, 3},
		{cityhub.RowQuery{Fields: []string{"区县"}, Offset: 1, Limit: 1}, []string{"海曙区"}, 3},
	} {
		c.q.EntryID, c.q.Distinct, c.q.Total = entry.ID, true, true
		res := e.rows(t, c.q)
		if got := text(res); !slices.Equal(got, c.want) || *res.Total != c.total {
			t.Errorf("%+v: got %v (total %d), want %v (total %d)", c.q, got, *res.Total, c.want, c.total)
		}
	}
	for _, q := range []cityhub.RowQuery{
		{Fields: []string{"联系人"}, Masks: map[string]string{"联系人": "name"}},
		{Fields: []string{"区县"}, Sort: []string{"金额"}},
		{Fields: []string{"区县"}, After: 2},
	} {
		q.EntryID, q.Distinct = entry.ID, true
		if _, err := e.Store.QueryRows(e.ctx, q); cityhub.ErrorCode(err) != cityhub.EINVALID {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/auth"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// tableItems are the data items of the seeded entries: a primary key,
// public text and a number, two sensitive items and a secret one.
func tableItems() []cityhub.DataItem {
	return []cityhub.DataItem{
		{Name: "编号", Code: "id", Type: "C", Length: 20, Required: true, PrimaryKey: true, Sensitivity: cityhub.SensPublic},
		{Name: "区县", Code: "district", Type: "C", Sensitivity: cityhub.SensPublic},
		{Name: "金额", Code: "amount", Type: "N", Sensitivity: cityhub.SensPublic},
		{Name: "联系人", Code: "contact", Type: "C", Sensitivity: cityhub.SensSensitive},
		{Name: "手机号", Code: "mobile", Type: "C", Sensitivity: cityhub.SensSensitive},
		{Name: "证件号", Code: "cert_no", Type: "C", Length: 10, Sensitivity: cityhub.SensSecret},
	}
}

// tableItemNames are the names of tableItems, in order.
var tableItemNames = []string{"编号", "区县", "金额", "联系人", "手机号", "证件号"}

// newTableEntry creates a spreadsheet entry of dept with tableItems.
func (e *env) newTableEntry(dept *cityhub.Department, status string) *cityhub.CatalogEntry {
	e.t.Helper()
	en := testEntry(fmt.Sprintf("城市建设项目资金台账 %d", e.next()), dept.ID)
	en.Items = tableItems()
	return e.saveEntry(en, status)
}

// newFileEntry creates an entry of format 电子文件, which holds no rows.
func (e *env) newFileEntry(dept *cityhub.Department, status string) *cityhub.CatalogEntry {
	e.t.Helper()
	en := testEntry(fmt.Sprintf("城市建设规划文本 %d", e.next()), dept.ID)
	en.Format, en.Items = cityhub.FormatFile, tableItems()
	return e.saveEntry(en, status)
}

// seedCSV is five good rows.
const seedCSV = "编号,区县,金额,联系人,手机号,证件号\n" +
	"P001,海曙区,100,张三丰,13812345678,A1001\n" +
	"P002,江北区,250.5,李小龙,13912345678,A1002\n" +
	"P003,海曙区,1000,王五六,13712345678,A1003\n" +
	"P004,鄞州区,75,赵钱孙,15012345678,A1004\n" +
	"P005,镇海区,5000,周吴郑,18612345678,A1005\n"

// seedRows are seedCSV's rows by 编号: 区县, 金额, 联系人, 手机号, 证件号.
var seedRows = map[string][]any{
	"P001": {"海曙区", 100.0, "张三丰", "13812345678", "A1001"},
	"P002": {"江北区", 250.5, "李小龙", "13912345678", "A1002"},
	"P003": {"海曙区", 1000.0, "王五六", "13712345678", "A1003"},
	"P004": {"鄞州区", 75.0, "赵钱孙", "15012345678", "A1004"},
	"P005": {"镇海区", 5000.0, "周吴郑", "18612345678", "A1005"},
}

// otherCSV is two rows that a replace puts in place of seedCSV's.
const otherCSV = "编号,区县,金额,联系人,手机号,证件号\n" +
	"Q001,北仑区,1,钱多多,13800000001,B2001\n" +
	"Q002,北仑区,2,孙悟空,13800000002,B2002\n"

// badCSV is four rows that are all rejected, one problem each: a formula
// where a number belongs (line 2), a short mobile number (3), a secret
// value over its length (4), a missing key (5).
const badCSV = "编号,区县,金额,联系人,手机号,证件号\n" +
	"P101,海曙区,=SUM(A1),钱多多,13812340000,B1001\n" +
	"P102,江北区,10,孙悟空,1381234,B1002\n" +
	"P103,江北区,10,猪八戒,13812340001,B100300000000\n" +
	",江北区,10,沙和尚,13812340002,B1004\n"

// badProblems are badCSV's problems: line, column, value.
var badProblems = []cityhub.RowProblem{
	{Line: 2, Column: "金额", Value: "=SUM(A1)"},
	{Line: 3, Column: "手机号", Value: "1381234"},
	{Line: 4, Column: "证件号", Value: "B100300000000"},
	{Line: 5, Column: "编号", Value: ""},
}

// tableFixture are the rows of the seeded entries, loaded once per env:
// seedCSV, then badCSV appended (every row rejected), into pubA and draftA.
type tableFixture struct {
	pubSeed, pubBad     *cityhub.LoadJob
	draftSeed, draftBad *cityhub.LoadJob
}

// tables loads the seeded entries' rows on first use.
func (e *env) tables() *tableFixture {
	e.t.Helper()
	if e.data == nil {
		e.data = &tableFixture{
			pubSeed:   e.loadCSV(e.pubA, cityhub.LoadReplace, seedCSV),
			pubBad:    e.loadCSV(e.pubA, cityhub.LoadAppend, badCSV),
			draftSeed: e.loadCSV(e.draftA, cityhub.LoadReplace, seedCSV),
			draftBad:  e.loadCSV(e.draftA, cityhub.LoadAppend, badCSV),
		}
	}
	return e.data
}

// loadCSV loads data into en through the loader and the store (not the
// API), as the system; the load must succeed.
func (e *env) loadCSV(en *cityhub.CatalogEntry, mode, data string) *cityhub.LoadJob {
	e.t.Helper()
	stored, err := e.store.Entry(context.Background(), en.ID)
	if err != nil {
		e.t.Fatalf("entry %d: %v", en.ID, err)
	}
	job, err := loader.Load(systemCtx(), e.store, stored, strings.NewReader(data), int64(len(data)),
		loader.Options{Mode: mode, Source: "seed.csv", Read: tabular.Options{Format: tabular.CSV}})
	if err != nil || job.Status != cityhub.JobSucceeded {
		e.t.Fatalf("load into entry %d: got %+v, %v, want a succeeded job", en.ID, job, err)
	}
	return job
}

// tableOf reads an entry's table from the store.
func (e *env) tableOf(t testing.TB, id int64) *cityhub.TableInfo {
	t.Helper()
	info, err := e.store.Table(context.Background(), id)
	if err != nil {
		t.Fatalf("Table(%d): %v", id, err)
	}
	return info
}

// allRows reads every current row of an entry through the store, unscoped,
// by 编号.
func (e *env) allRows(t testing.TB, id int64, version int) map[string]map[string]any {
	t.Helper()
	res, err := e.store.QueryRows(context.Background(), cityhub.RowQuery{EntryID: id, Version: version, Limit: 1000})
	if err != nil {
		t.Fatalf("QueryRows(%d): %v", id, err)
	}
	out := map[string]map[string]any{}
	for _, r := range res.Rows {
		out[fmt.Sprint(r["编号"])] = r
	}
	return out
}

// jobsOf lists an entry's load jobs through the API, newest first.
func (e *env) jobsOf(t testing.TB, id int64) []cityhub.LoadJob {
	t.Helper()
	var l listOf[cityhub.LoadJob]
	e.do("GET", entryPath(id, "/loads"), e.tokens[rST], nil).decode(t, &l)
	return l.Items
}

// rowList is the 编号 of every current row of an entry, sorted, repeats kept.
func (e *env) rowList(t testing.TB, id int64, version int) []string {
	t.Helper()
	res, err := e.store.QueryRows(context.Background(), cityhub.RowQuery{EntryID: id, Version: version, Limit: 1000})
	if err != nil {
		t.Fatalf("QueryRows(%d): %v", id, err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprint(r["编号"]))
	}
	slices.Sort(out)
	return out
}

func rowKeys(rows map[string]map[string]any) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range rows {
			if !yield(k) {
				return
			}
		}
	})
}

// insider reports whether the seeded caller belongs to department A, the
// provider of the seeded entries, or administers the platform: they read
// rows whole.
func insider(role string) bool {
	switch role {
	case rPA, rDA, rST, rCO, rOP, rRV:
		return true
	}
	return false
}

// itemByName is one of tableItems.
func itemByName(name string) cityhub.DataItem {
	for _, it := range tableItems() {
		if it.Name == name {
			return it
		}
	}
	panic("no item " + name)
}

// maskedAs is the value an outsider sees of a sensitive item.
func maskedAs(item, v string) string { return cityhub.Mask(cityhub.DefaultMask(itemByName(item)), v) }

// rowPage decodes a rows response.
func rowPage(t testing.TB, res *response) cityhub.RowResult {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("got %v, want 200", res)
	}
	var page cityhub.RowResult
	res.decode(t, &page)
	return page
}

func pageKeys(page cityhub.RowResult) []string {
	var out []string
	for _, r := range page.Rows {
		out = append(out, fmt.Sprint(r["编号"]))
	}
	return out
}

// checkSeedRows asserts a page of the seeded rows as role sees them: every
// item for the provider's people; no secret item and masked sensitive
// ones for everyone else. It also asserts the data.read audit record.
func checkSeedRows(t *testing.T, e *env, role string, c call, res *response) {
	t.Helper()
	page := rowPage(t, res)
	want := tableItemNames
	if !insider(role) {
		want = tableItemNames[:5]
	}
	if !slices.Equal(page.Fields, want) {
		t.Errorf("got fields %v, want %v", page.Fields, want)
	}
	if got := pageKeys(page); !slices.Equal(got, []string{"P001", "P002", "P003", "P004", "P005"}) {
		t.Fatalf("got rows %v, want the five seeded rows in load order", got)
	}
	for _, r := range page.Rows {
		key := fmt.Sprint(r["编号"])
		seed := seedRows[key]
		if r["区县"] != seed[0] || r["金额"] != seed[1] {
			t.Errorf("row %s: got 区县 %v 金额 %v, want %v %v", key, r["区县"], r["金额"], seed[0], seed[1])
		}
		if _, ok := r["_id"].(float64); !ok {
			t.Errorf("row %s: got _id %v, want a number", key, r["_id"])
		}
		if insider(role) {
			if r["联系人"] != seed[2] || r["手机号"] != seed[3] || r["证件号"] != seed[4] {
				t.Errorf("row %s: got %v, want clear values %v", key, r, seed)
			}
			continue
		}
		if _, ok := r["证件号"]; ok {
			t.Errorf("row %s: got secret 证件号 %v, want it absent for %s", key, r["证件号"], role)
		}
		for i, item := range []string{"联系人", "手机号"} {
			clear := seed[2+i].(string)
			if got := r[item]; got != maskedAs(item, clear) || got == clear {
				t.Errorf("row %s: got %s %v, want it masked as %q", key, item, got, maskedAs(item, clear))
			}
		}
	}
	if m := fmt.Sprint(r0(page)["手机号"]); !insider(role) && m != "138****5678" {
		t.Errorf("got P001's mobile %q, want 138****5678", m)
	}
	checkReadAudit(t, e, e.users[role].Username, entryID(t, c.path), res, !insider(role))
}

func r0(page cityhub.RowResult) map[string]any {
	if len(page.Rows) == 0 {
		return nil
	}
	return page.Rows[0]
}

// checkReadAudit asserts the newest data.read record is this read.
func checkReadAudit(t *testing.T, e *env, username string, id int64, res *response, masked bool) {
	t.Helper()
	rec := e.lastAudit(cityhub.AuditFilter{Action: "data.read"})
	if rec == nil || rec.Actor != username || rec.Object != fmt.Sprintf("catalog:%d", id) ||
		rec.RequestID != res.header.Get("X-Request-ID") || rec.Outcome != cityhub.OutcomeSuccess {
		t.Fatalf("got data.read record %+v, want one of request %s by %s on catalog:%d", rec, res.header.Get("X-Request-ID"), username, id)
	}
	var details struct {
		Rows   int      `json:"rows"`
		Masked []string `json:"masked"`
	}
	if err := json.Unmarshal([]byte(rec.Details), &details); err != nil {
		t.Fatalf("data.read details %q: %v", rec.Details, err)
	}
	if got := len(details.Masked) > 0; got != masked {
		t.Errorf("data.read details %s: masked items listed %v, want %v", rec.Details, got, masked)
	}
}

// dataMatrixCases are the role-matrix cases of the data endpoints: tables,
// rows, loads and load jobs. Entries a call changes are made fresh for
// every caller.
func dataMatrixCases() []matrixCase {
	var cases []matrixCase
	add := func(name, pattern string, prepare func(*env, string) call, def int, want map[string]int,
		check func(*testing.T, *env, string, call, *response)) {
		cases = append(cases, matrixCase{name, pattern, prepare, def, want, check})
	}
	pub := func(e *env) *cityhub.CatalogEntry { e.tables(); return e.pubA }
	draft := func(e *env) *cityhub.CatalogEntry { e.tables(); return e.draftA }
	at := func(entry func(*env) *cityhub.CatalogEntry, suffix string) func(*env, string) call {
		return func(e *env, _ string) call { return call{path: entryPath(entry(e).ID, suffix)} }
	}
	// fresh is a new published entry of A, loaded with csvs in turn (replace).
	fresh := func(status string, csvs ...string) func(*env) *cityhub.CatalogEntry {
		return func(e *env) *cityhub.CatalogEntry {
			en := e.newTableEntry(e.deptA, status)
			for _, c := range csvs {
				e.loadCSV(en, cityhub.LoadReplace, c)
			}
			return en
		}
	}

	// Table info: whoever sees the entry.
	checkTable := func(t *testing.T, e *env, role string, c call, res *response) {
		var got tableView
		res.decode(t, &got)
		var items []string
		for _, col := range got.Columns {
			items = append(items, col.Item)
		}
		if got.EntryID != entryID(t, c.path) || got.Version != 2 || got.Rows != 5 || !slices.Equal(items, tableItemNames) {
			t.Errorf("got %s, want version 2 with 5 rows and a column per item", res.body)
		}
		if len(got.Versions) != 2 || got.Versions[0].Version != 2 || got.Versions[1].Version != 1 || got.Versions[1].Rows != 5 {
			t.Errorf("got versions %+v, want 2 and 1, newest first", got.Versions)
		}
	}
	table := "GET /api/v1/catalog/entries/{id}/table"
	add("table of a published entry", table, at(pub, "/table"), 200, nil, checkTable)
	d, w := inDeptA(200)
	add("table of a draft of A", table, at(draft, "/table"), d, w, checkTable)
	add("table of an entry never loaded", table, at(fresh(cityhub.StatusPublished), "/table"), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var got tableView
			res.decode(t, &got)
			if got.Version != 0 || got.Rows != 0 || got.Columns == nil || len(got.Versions) != 0 {
				t.Errorf("got %s, want version 0, no rows, no versions", res.body)
			}
		})
	add("table of a file entry", table, func(e *env, _ string) call {
		return call{path: entryPath(e.newFileEntry(e.deptA, cityhub.StatusPublished).ID, "/table")}
	}, 409, nil, nil)

	// Quality: whoever sees the entry.
	quality := "GET /api/v1/catalog/entries/{id}/table/quality"
	checkQuality := func(t *testing.T, e *env, role string, c call, res *response) {
		var got cityhub.TableQuality
		res.decode(t, &got)
		if got.EntryID != entryID(t, c.path) || got.Version != 2 || got.Rows != 5 || len(got.Columns) != len(tableItemNames) ||
			got.LastLoad == nil {
			t.Errorf("got %s, want the report of version 2 with 5 rows", res.body)
		}
	}
	add("quality of a published entry", quality, at(pub, "/table/quality"), 200, nil, checkQuality)
	d, w = inDeptA(200)
	add("quality of a draft of A", quality, at(draft, "/table/quality"), d, w, checkQuality)
	add("quality of an entry never loaded", quality, at(fresh(cityhub.StatusPublished), "/table/quality"), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var got cityhub.TableQuality
			res.decode(t, &got)
			if got.Rows != 0 || got.Columns == nil {
				t.Errorf("got %s, want an empty report", res.body)
			}
		})

	// Rows: whoever sees the entry, in their scope; every read is audited.
	rows := "GET /api/v1/catalog/entries/{id}/rows"
	add("rows of a published entry", rows, at(pub, "/rows"), 200, nil, checkSeedRows)
	d, w = inDeptA(200)
	add("rows of a draft of A", rows, at(draft, "/rows"), d, w, checkSeedRows)
	d, w = statuses(400, rPA, 200, rDA, 200, rST, 200, rCO, 200, rOP, 200, rRV, 200)
	add("rows with a secret item selected", rows, at(pub, "/rows?fields=编号,证件号"), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			page := rowPage(t, res)
			if !slices.Equal(page.Fields, []string{"编号", "证件号"}) || len(page.Rows) != 5 || page.Rows[0]["证件号"] != "A1001" {
				t.Errorf("got %s, want the two fields of the five rows", res.body)
			}
		})
	d, w = statuses(400, rPA, 200, rDA, 200, rST, 200, rCO, 200, rOP, 200, rRV, 200)
	add("rows filtered on a sensitive item", rows, at(pub, "/rows?filter=手机号:gte:139"), d, w,
		func(t *testing.T, e *env, role string, c call, res *response) {
			if got := pageKeys(rowPage(t, res)); !slices.Equal(got, []string{"P002", "P004", "P005"}) {
				t.Errorf("got rows %v, want P002 P004 P005", got)
			}
		})
	add("rows of an entry never loaded", rows, at(fresh(cityhub.StatusPublished), "/rows?total=true"), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			page := rowPage(t, res)
			if page.Version != 0 || len(page.Rows) != 0 || page.Total == nil || *page.Total != 0 || len(page.Fields) == 0 {
				t.Errorf("got %s, want an empty page of version 0 with total 0", res.body)
			}
		})
	add("rows of a file entry", rows, func(e *env, _ string) call {
		return call{path: entryPath(e.newFileEntry(e.deptA, cityhub.StatusPublished).ID, "/rows")}
	}, 409, nil, nil)
	add("rows of a missing entry", rows, fixed(entryPath(987654, "/rows"), nil), 404, nil, nil)

	// Export: whoever sees the entry, in their scope, every matching row.
	export := "GET /api/v1/catalog/entries/{id}/rows/export"
	checkExport := func(t *testing.T, e *env, role string, c call, res *response) {
		text := string(res.body)
		if !strings.HasPrefix(text, "\uFEFF") || !strings.Contains(res.header.Get("Content-Disposition"), ".csv") {
			t.Errorf("got %q…, want a CSV download with a BOM", text[:min(40, len(text))])
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(text, "\uFEFF")), "\n")
		want := tableItemNames
		if !insider(role) {
			want = tableItemNames[:5]
		}
		if len(lines) != 6 || lines[0] != strings.Join(want, ",") {
			t.Errorf("got %d lines, header %q; want 6 lines, header %v", len(lines), lines[0], want)
		}
		if !insider(role) && (strings.Contains(text, "13812345678") || !strings.Contains(text, "138****5678")) {
			t.Errorf("export for %s shows a clear mobile number: %s", role, text)
		}
	}
	add("export rows of a published entry", export, at(pub, "/rows/export?bom=true"), 200, nil, checkExport)
	d, w = inDeptA(200)
	add("export rows of a draft of A", export, at(draft, "/rows/export?bom=true"), d, w, checkExport)
	add("export rows as JSON", export, at(pub, "/rows/export?file=json"), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var rows []map[string]any
			if err := json.Unmarshal(res.body, &rows); err != nil || len(rows) != 5 {
				t.Errorf("got %s (%v), want a JSON array of 5 rows", res.body, err)
			}
		})
	add("export rows as XLSX", export, at(pub, "/rows/export?file=xlsx"), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			if !bytes.HasPrefix(res.body, []byte("PK")) {
				t.Errorf("got %q…, want a zip (XLSX)", res.body[:min(8, len(res.body))])
			}
		})
	add("export rows in an unknown format", export, at(pub, "/rows/export?file=pdf"), 400, nil, nil)

	// Pulls: the provider's stewards set and run them; whoever sees the
	// entry reads them.
	pullURL := seedServer()
	withPull := func(status string) func(e *env, _ string) call {
		return func(e *env, _ string) call {
			en := fresh(status)(e)
			if err := e.store.SetPull(systemCtx(), &cityhub.Pull{EntryID: en.ID, URL: pullURL, Mode: cityhub.LoadReplace, Enabled: true}); err != nil {
				panic(err)
			}
			return call{path: entryPath(en.ID, "/pull")}
		}
	}
	add("read a pull", "GET /api/v1/catalog/entries/{id}/pull", withPull(cityhub.StatusPublished), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var p cityhub.Pull
			res.decode(t, &p)
			if p.URL != pullURL || p.Mode != cityhub.LoadReplace || !p.Enabled {
				t.Errorf("got %s, want the pull set", res.body)
			}
		})
	d, w = statuses(403, rPA, 200, rST, 200)
	add("set a pull", "PUT /api/v1/catalog/entries/{id}/pull", func(e *env, _ string) call {
		en := fresh(cityhub.StatusPublished)(e)
		return call{path: entryPath(en.ID, "/pull"), body: map[string]any{"url": pullURL, "mode": "replace", "enabled": true}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		if p, err := e.store.Pull(systemCtx(), entryID(t, c.path)); err != nil || p.URL != pullURL {
			t.Errorf("stored pull: %+v %v", p, err)
		}
	})
	d, w = statuses(403, rPA, 200, rST, 200)
	add("run a pull", "POST /api/v1/catalog/entries/{id}/pull/run", func(e *env, role string) call {
		c := withPull(cityhub.StatusPublished)(e, role)
		c.path += "/run"
		return c
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var job cityhub.LoadJob
		res.decode(t, &job)
		if job.Status != cityhub.JobSucceeded || job.Stored != 5 || job.Source != pullURL {
			t.Errorf("got %s, want a succeeded load of the 5 seed rows from the URL", res.body)
		}
	})

	// Rollback: the provider's stewards.
	d, w = statuses(403, rPA, 200, rST, 200)
	add("roll back a table of A", "POST /api/v1/catalog/entries/{id}/table/rollback", func(e *env, _ string) call {
		en := fresh(cityhub.StatusPublished, seedCSV, otherCSV)(e)
		return call{path: entryPath(en.ID, "/table/rollback"), body: map[string]int{"version": 1}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var v cityhub.TableVersion
		res.decode(t, &v)
		id := entryID(t, c.path)
		if v.Version != 3 || v.Rows != 5 || v.Mode != "rollback" || !strings.Contains(v.Note, "1") {
			t.Errorf("got %+v, want version 3 with the 5 rows of version 1", v)
		}
		if got := rowKeys(e.allRows(t, id, 0)); !slices.Equal(got, []string{"P001", "P002", "P003", "P004", "P005"}) {
			t.Errorf("current rows after rollback: got %v, want those of version 1", got)
		}
		if info := e.tableOf(t, id); info.Version != 3 || info.Rows != 5 {
			t.Errorf("table after rollback: got %+v, want version 3 with 5 rows", info)
		}
		if rec := e.lastAudit(cityhub.AuditFilter{Action: "table.rollback"}); rec == nil || rec.Actor != e.users[role].Username ||
			rec.Object != fmt.Sprintf("table:%d", id) {
			t.Errorf("got table.rollback record %+v, want one by %s", rec, e.users[role].Username)
		}
	})
	d, w = inDeptA(403, rPA, 200, rST, 200)
	add("roll back a table of a draft of A", "POST /api/v1/catalog/entries/{id}/table/rollback", func(e *env, _ string) call {
		en := fresh(cityhub.StatusDraft, seedCSV, otherCSV)(e)
		return call{path: entryPath(en.ID, "/table/rollback"), body: map[string]int{"version": 1}}
	}, d, w, nil)
	d, w = statuses(403, rPA, 400, rST, 400)
	add("roll back to the current version", "POST /api/v1/catalog/entries/{id}/table/rollback", func(e *env, _ string) call {
		return call{path: entryPath(fresh(cityhub.StatusPublished, seedCSV)(e).ID, "/table/rollback"), body: map[string]int{"version": 1}}
	}, d, w, nil)

	// Loads: the provider's stewards, into sheets and databases only.
	checkLoaded := func(t *testing.T, e *env, role string, c call, res *response) {
		var job cityhub.LoadJob
		res.decode(t, &job)
		id := entryID(t, c.path)
		if job.ID == 0 || job.EntryID != id || job.Status != cityhub.JobSucceeded || job.Mode != cityhub.LoadReplace ||
			job.Received != 5 || job.Stored != 5 || job.Rejected != 0 || job.Discarded != 0 || job.Version != 1 ||
			job.Actor != e.users[role].Username || job.Source != "upload.csv" || job.Format != "csv" || job.FinishedAt == nil {
			t.Errorf("got %+v, want a succeeded replace of 5 rows as version 1 by %s", job, e.users[role].Username)
		}
		if got := rowKeys(e.allRows(t, id, 0)); !slices.Equal(got, []string{"P001", "P002", "P003", "P004", "P005"}) {
			t.Errorf("rows after the load: got %v, want the five of the file", got)
		}
		if rec := e.lastAudit(cityhub.AuditFilter{Action: "table.load"}); rec == nil || rec.Actor != e.users[role].Username ||
			rec.Object != fmt.Sprintf("table:%d", id) {
			t.Errorf("got table.load record %+v, want one by %s", rec, e.users[role].Username)
		}
	}
	load := "POST /api/v1/catalog/entries/{id}/loads"
	loadInto := func(entry func(*env) *cityhub.CatalogEntry) func(*env, string) call {
		return func(e *env, _ string) call {
			return call{path: entryPath(entry(e).ID, "/loads?mode=replace&file=csv&wait=true"), body: seedCSV}
		}
	}
	d, w = statuses(403, rPA, 200, rST, 200)
	add("load a CSV into an entry of A", load, loadInto(fresh(cityhub.StatusPublished)), d, w, checkLoaded)
	d, w = inDeptA(403, rPA, 200, rST, 200)
	add("load a CSV into a draft of A", load, loadInto(fresh(cityhub.StatusDraft)), d, w, checkLoaded)
	d, w = statuses(403, rPA, 409, rST, 409)
	add("load into a file entry of A", load, loadInto(func(e *env) *cityhub.CatalogEntry {
		return e.newFileEntry(e.deptA, cityhub.StatusPublished)
	}), d, w, nil)
	d, w = statuses(403, rPA, 400, rST, 400)
	add("load without a mode", load, func(e *env, _ string) call {
		return call{path: entryPath(fresh(cityhub.StatusPublished)(e).ID, "/loads?file=csv&wait=true"), body: seedCSV}
	}, d, w, nil)

	// Load jobs: whoever sees the entry.
	checkJobs := func(entry func(*env) *cityhub.CatalogEntry, jobs func(*tableFixture) []*cityhub.LoadJob) func(*testing.T, *env, string, call, *response) {
		return func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.LoadJob]
			res.decode(t, &l)
			want := jobs(e.tables())
			if l.Total != len(want) || len(l.Items) != len(want) {
				t.Fatalf("got %s, want %d jobs", res.body, len(want))
			}
			for i, j := range l.Items { // newest first
				w := want[len(want)-1-i]
				if j.ID != w.ID || j.EntryID != entry(e).ID || j.Status != cityhub.JobSucceeded || j.Actor != "system" {
					t.Errorf("job %d: got %+v, want job %d of entry %d", i, j, w.ID, entry(e).ID)
				}
			}
		}
	}
	loads := "GET /api/v1/catalog/entries/{id}/loads"
	add("loads of a published entry", loads, at(pub, "/loads"), 200, nil,
		checkJobs(pub, func(f *tableFixture) []*cityhub.LoadJob { return []*cityhub.LoadJob{f.pubSeed, f.pubBad} }))
	d, w = inDeptA(200)
	add("loads of a draft of A", loads, at(draft, "/loads"), d, w,
		checkJobs(draft, func(f *tableFixture) []*cityhub.LoadJob { return []*cityhub.LoadJob{f.draftSeed, f.draftBad} }))

	// Push: the provider's stewards; an upsert by primary key.
	d, w = statuses(403, rPA, 200, rST, 200)
	add("push rows into an entry of A", "POST /api/v1/catalog/entries/{id}/rows", func(e *env, _ string) call {
		en := fresh(cityhub.StatusPublished, seedCSV)(e)
		return call{path: entryPath(en.ID, "/rows"), body: []map[string]any{
			{"id": "P001", "district": "海曙区", "amount": 300, "contact": "张三丰", "mobile": "13812345678", "cert_no": "A1001"},
			{"id": "P006", "district": "北仑区", "amount": "1,250.5"}}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var job cityhub.LoadJob
		res.decode(t, &job)
		id := entryID(t, c.path)
		if job.Status != cityhub.JobSucceeded || job.Mode != cityhub.LoadUpsert || job.Source != "api" ||
			job.Received != 2 || job.Stored != 2 || job.Rejected != 0 || job.Version != 2 || job.Actor != e.users[role].Username {
			t.Errorf("got %+v, want a succeeded upsert of 2 rows as version 2", job)
		}
		got := e.allRows(t, id, 0)
		if len(got) != 6 || got["P001"]["金额"] != 300.0 || got["P006"]["金额"] != 1250.5 || got["P006"]["区县"] != "北仑区" ||
			got["P006"]["联系人"] != nil || got["P002"]["金额"] != 250.5 {
			t.Errorf("rows after the push: got %v, want P001 updated, P006 added, the rest kept", got)
		}
	})
	d, w = inDeptA(403, rPA, 200, rST, 200)
	add("push rows into a draft of A", "POST /api/v1/catalog/entries/{id}/rows", func(e *env, _ string) call {
		return call{path: entryPath(fresh(cityhub.StatusDraft)(e).ID, "/rows"), body: []map[string]any{{"编号": "P001"}}}
	}, d, w, nil)

	// One load job, and what it rejected: whoever sees its entry.
	job := func(f func(*tableFixture) *cityhub.LoadJob, suffix string) func(*env, string) call {
		return func(e *env, _ string) call {
			return call{path: fmt.Sprintf("/api/v1/loads/%d%s", f(e.tables()).ID, suffix)}
		}
	}
	pubSeed := func(f *tableFixture) *cityhub.LoadJob { return f.pubSeed }
	draftSeed := func(f *tableFixture) *cityhub.LoadJob { return f.draftSeed }
	checkJob := func(t *testing.T, e *env, role string, c call, res *response) {
		var j cityhub.LoadJob
		res.decode(t, &j)
		if j.Status != cityhub.JobSucceeded || j.Received != 5 || j.Stored != 5 || j.Version != 1 || !strings.HasSuffix(c.path, strconv.FormatInt(j.ID, 10)) {
			t.Errorf("got %+v, want the succeeded seed load", j)
		}
	}
	add("a load job of a published entry", "GET /api/v1/loads/{id}", job(pubSeed, ""), 200, nil, checkJob)
	d, w = inDeptA(200)
	add("a load job of a draft of A", "GET /api/v1/loads/{id}", job(draftSeed, ""), d, w, checkJob)
	add("a missing load job", "GET /api/v1/loads/{id}", fixed("/api/v1/loads/987654", nil), 404, nil, nil)

	pubBad := func(f *tableFixture) *cityhub.LoadJob { return f.pubBad }
	draftBad := func(f *tableFixture) *cityhub.LoadJob { return f.draftBad }
	checkRejects := func(t *testing.T, e *env, role string, c call, res *response) {
		var l listOf[cityhub.RowProblem]
		res.decode(t, &l)
		if l.Total != len(badProblems) || len(l.Items) != len(badProblems) {
			t.Fatalf("got %s, want %d problems", res.body, len(badProblems))
		}
		for i, p := range l.Items {
			w := badProblems[i]
			wantValue := w.Value
			if !insider(role) {
				switch itemByName(w.Column).Sensitivity {
				case cityhub.SensSecret:
					wantValue = ""
				case cityhub.SensSensitive:
					wantValue = maskedAs(w.Column, w.Value)
				}
			}
			if p.Line != w.Line || p.Column != w.Column || p.Value != wantValue || p.Reason == "" {
				t.Errorf("problem %d: got %+v, want line %d column %s value %q and a reason", i, p, w.Line, w.Column, wantValue)
			}
		}
	}
	rejects := "GET /api/v1/loads/{id}/rejects"
	add("rejects of a load into a published entry", rejects, job(pubBad, "/rejects"), 200, nil, checkRejects)
	d, w = inDeptA(200)
	add("rejects of a load into a draft of A", rejects, job(draftBad, "/rejects"), d, w, checkRejects)
	add("rejects of a load in an unknown format", rejects, job(pubBad, "/rejects?file=xlsx"), 400, nil, nil)
	return cases
}

// uploadForm is a multipart body with the file in field "file" (after the
// fields), and its content type.
func uploadForm(t testing.TB, name, data string, fields ...string) (string, string) {
	t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(data))
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// decodeJob decodes a load job answered with status.
func decodeJob(t testing.TB, res *response, status int) *cityhub.LoadJob {
	t.Helper()
	if res.status != status {
		t.Fatalf("got %v, want %d", res, status)
	}
	var j cityhub.LoadJob
	res.decode(t, &j)
	if j.Received != j.Stored+j.Rejected+j.Discarded {
		t.Errorf("got %+v: received %d ≠ stored %d + rejected %d + discarded %d", j, j.Received, j.Stored, j.Rejected, j.Discarded)
	}
	return &j
}

// waitJob polls a load job until it is no longer running (5 s at most).
func (e *env) waitJob(t testing.TB, token string, id int64) *cityhub.LoadJob {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j := decodeJob(t, e.do("GET", fmt.Sprintf("/api/v1/loads/%d", id), token, nil), 200)
		if j.Status != cityhub.JobRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("load job %d still running after 5 s: %+v", id, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantStatusField asserts an error response with status naming field.
func wantStatusField(t testing.TB, res *response, status int, field string) {
	t.Helper()
	if res.status != status {
		t.Errorf("got %v, want %d", res, status)
		return
	}
	if field != "" && res.apiErr(t).Fields[field] == "" {
		t.Errorf("got %v, want an error naming %s", res, field)
	}
}

// TestLoads covers loading files through the API: raw and multipart
// bodies, waiting or polling, rejected rows, refused loads, rollback.
func TestLoads(t *testing.T) {
	e := newEnv(t)
	st := e.tokens[rST]
	entry := e.newTableEntry(e.deptA, cityhub.StatusPublished)
	loads := entryPath(entry.ID, "/loads")
	csvType := []string{"Content-Type", "text/csv"}

	t.Run("raw CSV body, waiting", func(t *testing.T) {
		j := decodeJob(t, e.do("POST", loads+"?mode=replace&file=csv&wait=true", st, seedCSV, csvType...), 200)
		if j.Status != cityhub.JobSucceeded || j.Received != 5 || j.Stored != 5 || j.Version != 1 || j.BytesRead != int64(len(seedCSV)) {
			t.Errorf("got %+v, want 5 rows stored as version 1 and the whole file read", j)
		}
		if info := e.tableOf(t, entry.ID); info.Version != 1 || info.Rows != 5 {
			t.Errorf("table: got %+v, want version 1 with 5 rows", info)
		}
	})

	t.Run("format from the content type and file name", func(t *testing.T) {
		j := decodeJob(t, e.do("POST", loads+"?mode=upsert&wait=true", st, otherCSV, csvType...), 200)
		if j.Status != cityhub.JobSucceeded || j.Format != "csv" || j.Stored != 2 {
			t.Errorf("text/csv body: got %+v, want a CSV load of 2 rows", j)
		}
		body, ct := uploadForm(t, "项目资金.csv", seedCSV)
		j = decodeJob(t, e.do("POST", loads+"?mode=upsert&wait=true", st, body, "Content-Type", ct), 200)
		if j.Status != cityhub.JobSucceeded || j.Source != "项目资金.csv" || j.Format != "csv" || j.Stored != 5 {
			t.Errorf("multipart: got %+v, want the file's name as source and 5 rows", j)
		}
		if got := rowKeys(e.allRows(t, entry.ID, 0)); len(got) != 7 {
			t.Errorf("rows after two upserts: got %v, want P001–P005 and Q001–Q002", got)
		}
	})

	t.Run("multipart from a console session", func(t *testing.T) {
		secret := e.login("steward-a", testPassword)
		_, tok, err := e.auth.Authenticate(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		body, ct := uploadForm(t, "资金.csv", seedCSV, "csrf", tok.CSRF)
		j := decodeJob(t, e.do("POST", loads+"?mode=replace&wait=true", "", body, "Content-Type", ct,
			"Cookie", auth.SessionCookie+"="+secret), 200)
		if j.Status != cityhub.JobSucceeded || j.Source != "资金.csv" || j.Stored != 5 || j.Actor != "steward-a" {
			t.Errorf("got %+v, want the form's file loaded by steward-a", j)
		}
		body, ct = uploadForm(t, "资金.csv", seedCSV, "csrf", "wrong")
		wantStatusField(t, e.do("POST", loads+"?mode=replace&wait=true", "", body, "Content-Type", ct,
			"Cookie", auth.SessionCookie+"="+secret), 403, "")
	})

	t.Run("without wait: 202, then poll", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		j := decodeJob(t, e.do("POST", loads+"?mode=append&file=csv", st, otherCSV), 202)
		if j.ID == 0 || j.Status != cityhub.JobRunning || j.Version != before.Version+1 || j.Actor != "steward-a" {
			t.Fatalf("got %+v, want a running job making version %d", j, before.Version+1)
		}
		done := e.waitJob(t, st, j.ID)
		if done.Status != cityhub.JobSucceeded || done.Received != 2 || done.Stored != 2 || done.FinishedAt == nil {
			t.Errorf("got %+v, want 2 rows stored", done)
		}
		if info := e.tableOf(t, entry.ID); info.Version != before.Version+1 || info.Rows != before.Rows+2 {
			t.Errorf("table: got version %d with %d rows, want %d with %d", info.Version, info.Rows, before.Version+1, before.Rows+2)
		}
	})

	t.Run("rejected rows", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		file := badCSV + "P104,北仑区,12,吴用,13812340003,B1005\n"
		j := decodeJob(t, e.do("POST", loads+"?mode=append&file=csv&wait=true", st, file), 200)
		if j.Status != cityhub.JobSucceeded || j.Received != 5 || j.Stored != 1 || j.Rejected != 4 || j.Discarded != 0 {
			t.Fatalf("got %+v, want 1 row stored and 4 rejected", j)
		}
		if info := e.tableOf(t, entry.ID); info.Rows != before.Rows+1 {
			t.Errorf("table: got %d rows, want %d", info.Rows, before.Rows+1)
		}
		res := e.do("GET", fmt.Sprintf("/api/v1/loads/%d/rejects", j.ID), st, nil)
		var l listOf[cityhub.RowProblem]
		res.decode(t, &l)
		if l.Total != 4 || len(l.Items) != 4 {
			t.Fatalf("got %s, want 4 problems", res.body)
		}
		for i, p := range l.Items {
			w := badProblems[i]
			if p.Line != w.Line || p.Column != w.Column || p.Value != w.Value || p.Reason == "" {
				t.Errorf("problem %d: got %+v, want line %d column %s value %q with a reason", i, p, w.Line, w.Column, w.Value)
			}
		}
		if !strings.Contains(l.Items[3].Reason, "required") {
			t.Errorf("missing key: got reason %q, want required", l.Items[3].Reason)
		}

		res = e.do("GET", fmt.Sprintf("/api/v1/loads/%d/rejects?file=csv", j.ID), st, nil)
		if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("got %v, want a CSV attachment", res)
		}
		if !strings.HasPrefix(string(res.body), "\uFEFF") {
			t.Errorf("got %q…, want a byte order mark first (Excel)", res.body[:min(8, len(res.body))])
		}
		rows := csvRows(t, res.body)
		if len(rows) != 5 || len(rows[0]) != 4 || rows[1][0] != "2" || rows[1][1] != "金额" || rows[3][1] != "证件号" {
			t.Errorf("got %q, want a header and the 4 problems by line", rows)
		}
		if rows[1][2] != "'=SUM(A1)" {
			t.Errorf("got value %q, want the formula defused with an apostrophe (CSV injection)", rows[1][2])
		}
	})

	t.Run("rejected rows outside the provider", func(t *testing.T) {
		j := decodeJob(t, e.do("POST", loads+"?mode=append&file=csv&wait=true", st, badCSV), 200)
		res := e.do("GET", fmt.Sprintf("/api/v1/loads/%d/rejects?file=csv", j.ID), e.tokens[rCOB], nil)
		body := string(res.body)
		for _, secret := range []string{"1381234", "B100300000000"} {
			if strings.Contains(body, secret) {
				t.Errorf("got %q, want no sensitive or secret value", body)
			}
		}
	})

	t.Run("errors block the load when asked", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		rowsBefore := e.rowList(t, entry.ID, 0)
		file := "编号,区县,金额,联系人,手机号,证件号\nZ001,海曙区,1,甲乙丙,13812340009,C1\n" + strings.SplitN(badCSV, "\n", 2)[1]
		j := decodeJob(t, e.do("POST", loads+"?mode=replace&file=csv&block_on_errors=true&wait=true", st, file), 200)
		if j.Status != cityhub.JobFailed || !j.BlockOnErrors || j.Received != 5 || j.Rejected != 4 || j.Stored != 0 || j.Discarded != 1 || j.Error == "" {
			t.Errorf("got %+v, want a failed load: 4 rejected, 1 discarded, nothing stored", j)
		}
		after := e.tableOf(t, entry.ID)
		if after.Version != before.Version || after.Rows != before.Rows {
			t.Errorf("table: got version %d with %d rows, want version %d with %d unchanged", after.Version, after.Rows, before.Version, before.Rows)
		}
		if got := e.rowList(t, entry.ID, 0); !slices.Equal(got, rowsBefore) {
			t.Errorf("rows changed by a refused load: got %v, want %v", got, rowsBefore)
		}
		res := e.do("GET", fmt.Sprintf("/api/v1/loads/%d/rejects", j.ID), st, nil)
		var l listOf[cityhub.RowProblem]
		if res.decode(t, &l); l.Total != 4 {
			t.Errorf("got %s, want every bad row reported", res.body)
		}
	})

	t.Run("replace, then roll back", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		rowsBefore := e.rowList(t, entry.ID, 0)
		j := decodeJob(t, e.do("POST", loads+"?mode=replace&file=csv&wait=true", st, otherCSV), 200)
		if got := rowKeys(e.allRows(t, entry.ID, 0)); j.Status != cityhub.JobSucceeded || !slices.Equal(got, []string{"Q001", "Q002"}) {
			t.Fatalf("after replace: got %+v and rows %v, want only Q001 Q002", j, got)
		}
		// The earlier version can still be read.
		page := rowPage(t, e.do("GET", entryPath(entry.ID, fmt.Sprintf("/rows?version=%d&limit=1000", before.Version)), st, nil))
		if got := pageKeys(page); page.Version != before.Version || !slices.Equal(slices.Sorted(slices.Values(got)), rowsBefore) {
			t.Errorf("version %d: got version %d with rows %v, want %v", before.Version, page.Version, got, rowsBefore)
		}
		res := e.do("POST", entryPath(entry.ID, "/table/rollback"), st, map[string]int{"version": before.Version})
		if res.status != 200 {
			t.Fatalf("rollback: got %v, want 200", res)
		}
		var v cityhub.TableVersion
		res.decode(t, &v)
		if v.Version != j.Version+1 || v.Rows != before.Rows {
			t.Errorf("got %+v, want version %d with %d rows", v, j.Version+1, before.Rows)
		}
		if got := e.rowList(t, entry.ID, 0); !slices.Equal(got, rowsBefore) {
			t.Errorf("after rollback: got rows %v, want %v", got, rowsBefore)
		}
		var tv tableView
		e.do("GET", entryPath(entry.ID, "/table"), st, nil).decode(t, &tv)
		if tv.Version != v.Version || tv.Versions[0].Mode != "rollback" || tv.Versions[1].JobID != j.ID {
			t.Errorf("got table %+v, want the rollback newest and the replace before it", tv)
		}
		for _, body := range []any{map[string]int{"version": v.Version}, map[string]int{"version": 99}, map[string]int{}} {
			wantStatusField(t, e.do("POST", entryPath(entry.ID, "/table/rollback"), st, body), 400, "version")
		}
	})

	t.Run("column mapping", func(t *testing.T) {
		file := "项目编号,所在区县,金额\nM001,海曙区,9\n"
		res := e.do("POST", loads+"?mode=append&file=csv&wait=true&map="+url.QueryEscape("项目编号:编号")+"&map="+url.QueryEscape("所在区县:district"), st, file)
		if j := decodeJob(t, res, 200); j.Status != cityhub.JobSucceeded || j.Stored != 1 {
			t.Fatalf("got %+v, want 1 row stored", j)
		}
		if r := e.allRows(t, entry.ID, 0)["M001"]; r == nil || r["区县"] != "海曙区" || r["金额"] != 9.0 {
			t.Errorf("got row %v, want M001 in 海曙区 with 9", r)
		}
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=csv&wait=true&map=nocolon", st, file), 400, "map")
	})

	t.Run("refusals", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		wantStatusField(t, e.do("POST", loads+"?file=csv", st, seedCSV), 400, "mode")
		wantStatusField(t, e.do("POST", loads+"?mode=merge&file=csv", st, seedCSV), 400, "mode")
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=pdf", st, seedCSV), 400, "file")
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=csv&wait=maybe", st, seedCSV), 400, "wait")
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=csv&block_on_errors=maybe", st, seedCSV), 400, "block_on_errors")
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=csv&header_row=x", st, seedCSV), 400, "header_row")
		wantStatusField(t, e.do("POST", loads+"?mode=append", st, "", "Content-Type", "application/octet-stream"), 400, "file")
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=xlsx&wait=true", st, seedCSV), 400, "")
		// Columns that fit no data item.
		wantStatusField(t, e.do("POST", loads+"?mode=append&file=csv&wait=true", st, "甲,乙\n1,2\n"), 400, "")
		body, ct := uploadForm(t, "x.csv", seedCSV)
		wantStatusField(t, e.do("POST", loads+"?mode=append", st, strings.Replace(body, `name="file"`, `name="other"`, 1), "Content-Type", ct), 400, "file")
		file := e.newFileEntry(e.deptA, cityhub.StatusPublished)
		if res := e.do("POST", entryPath(file.ID, "/loads?mode=append&file=csv&wait=true"), st, seedCSV); res.status != 409 ||
			!strings.Contains(res.apiErr(t).Message, "电子表格") {
			t.Errorf("load into a file entry: got %v, want 409 naming the formats that hold rows", res)
		}
		if after := e.tableOf(t, entry.ID); after.Version != before.Version || after.Rows != before.Rows {
			t.Errorf("table after refusals: got %+v, want %+v", after, before)
		}
	})

	t.Run("the spool is emptied", func(t *testing.T) {
		e.srv.WaitLoads()
		left, err := os.ReadDir(e.srv.SpoolDir)
		if err != nil || len(left) != 0 {
			t.Errorf("spool dir: got %v, %v, want it empty once the loads are done", left, err)
		}
	})
}

// TestPushRows covers the JSON push of department systems.
func TestPushRows(t *testing.T) {
	e := newEnv(t)
	st := e.tokens[rST]
	entry := e.newTableEntry(e.deptA, cityhub.StatusPublished)
	e.loadCSV(entry, cityhub.LoadReplace, seedCSV)
	push := entryPath(entry.ID, "/rows")

	t.Run("upsert by primary key", func(t *testing.T) {
		j := decodeJob(t, e.do("POST", push, st, []map[string]any{
			{"编号": "P002", "金额": 1.5}, {"编号": "P007", "区县": "奉化区", "金额": 7}, {"编号": "P002", "金额": 2.5}}), 200)
		if j.Status != cityhub.JobSucceeded || j.Mode != cityhub.LoadUpsert || j.Received != 3 || j.Stored != 3 {
			t.Fatalf("got %+v, want 3 rows upserted", j)
		}
		rows := e.allRows(t, entry.ID, 0)
		if len(rows) != 6 || rows["P002"]["金额"] != 2.5 || rows["P002"]["联系人"] != nil || rows["P007"]["区县"] != "奉化区" {
			t.Errorf("got %v, want P002 replaced by its last row (2.5) and P007 added", rows)
		}
	})

	t.Run("bad values are rejected, the rest stored", func(t *testing.T) {
		res := e.do("POST", push, st, []map[string]any{{"编号": "P008", "金额": "很多"}, {"编号": "P009", "手机号": "123"}, {"编号": "P010"}})
		j := decodeJob(t, res, 200)
		if j.Status != cityhub.JobSucceeded || j.Received != 3 || j.Stored != 1 || j.Rejected != 2 {
			t.Fatalf("got %+v, want 1 stored and 2 rejected", j)
		}
		var l listOf[cityhub.RowProblem]
		e.do("GET", fmt.Sprintf("/api/v1/loads/%d/rejects", j.ID), st, nil).decode(t, &l)
		if l.Total != 2 || l.Items[0].Line != 1 || l.Items[0].Column != "金额" || l.Items[1].Line != 2 || l.Items[1].Column != "手机号" {
			t.Errorf("got %+v, want elements 1 and 2 named by their columns", l.Items)
		}
		rows := e.allRows(t, entry.ID, 0)
		if rows["P010"] == nil || rows["P008"] != nil || rows["P009"] != nil {
			t.Errorf("got rows %v, want P010 only of the three", rowKeys(rows))
		}
	})

	t.Run("a body that breaks off stores nothing", func(t *testing.T) {
		before := e.tableOf(t, entry.ID)
		jobsBefore := len(e.jobsOf(t, entry.ID))
		// Broken within the objects read for the header: refused before a job starts.
		res := e.do("POST", push, st, `[{"编号": "P020", "金额": 1}, {"编号": "P021", "金额"`)
		wantStatusField(t, res, 400, "")
		if n := len(e.jobsOf(t, entry.ID)); n != jobsBefore {
			t.Errorf("got %d jobs, want %d: no job for a body refused at once", n, jobsBefore)
		}
		// Broken further on: the job fails whole, 422 with the job.
		var b strings.Builder
		b.WriteString("[")
		for i := range 1500 {
			fmt.Fprintf(&b, `{"编号": "S%04d", "金额": %d},`, i, i)
		}
		b.WriteString(`{"编号": "S9999", "金额"`)
		res = e.do("POST", push, st, b.String())
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("got %v, want 422 with the failed job", res)
		}
		var j cityhub.LoadJob
		res.decode(t, &j)
		if j.Status != cityhub.JobFailed || j.Stored != 0 || j.Received != 1500 || j.Discarded != 1500 || j.Error == "" {
			t.Errorf("got %+v, want a failed job: 1500 received and discarded, nothing stored", j)
		}
		if after := e.tableOf(t, entry.ID); after.Version != before.Version || after.Rows != before.Rows {
			t.Errorf("table: got %+v, want it unchanged (%+v)", after, before)
		}
		if rows := e.allRows(t, entry.ID, 0); rows["S0000"] != nil {
			t.Errorf("got S0000 stored, want nothing of a broken body")
		}
		if jobs := e.jobsOf(t, entry.ID); len(jobs) != jobsBefore+1 || jobs[0].ID != j.ID || jobs[0].Status != cityhub.JobFailed {
			t.Errorf("got jobs %+v, want the failed push newest", jobs)
		}
	})

	t.Run("append and replace", func(t *testing.T) {
		j := decodeJob(t, e.do("POST", push+"?mode=replace", st, []map[string]any{{"编号": "R001"}, {"编号": "R002"}}), 200)
		if got := rowKeys(e.allRows(t, entry.ID, 0)); j.Mode != cityhub.LoadReplace || !slices.Equal(got, []string{"R001", "R002"}) {
			t.Errorf("replace: got %+v and rows %v, want R001 R002 only", j, got)
		}
		decodeJob(t, e.do("POST", push+"?mode=append", st, []map[string]any{{"编号": "R003"}}), 200)
		if got := rowKeys(e.allRows(t, entry.ID, 0)); !slices.Equal(got, []string{"R001", "R002", "R003"}) {
			t.Errorf("append: got rows %v, want R001–R003", got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		wantStatusField(t, e.do("POST", push+"?mode=merge", st, []map[string]any{{"编号": "X"}}), 400, "mode")
		wantStatusField(t, e.do("POST", push, st, `{"编号": "X"}`), 400, "")
		// Keys name items by name or by code, not both in one body.
		wantStatusField(t, e.do("POST", push, st, []map[string]any{{"编号": "X"}, {"id": "Y"}}), 400, "columns.id")
		wantStatusField(t, e.do("POST", push, e.tokens[rSTB], []map[string]any{{"编号": "X"}}), 403, "")
		wantStatusField(t, e.do("POST", push, e.tokens[rCO], []map[string]any{{"编号": "X"}}), 403, "")
		file := e.newFileEntry(e.deptA, cityhub.StatusPublished)
		wantStatusField(t, e.do("POST", entryPath(file.ID, "/rows"), st, []map[string]any{{"编号": "X"}}), 409, "")
		// An entry without a primary key cannot take upserts: the job fails whole.
		nokey := testEntry(fmt.Sprintf("无主键台账 %d", e.next()), e.deptA.ID)
		nokey = e.saveEntry(nokey, cityhub.StatusPublished)
		res := e.do("POST", entryPath(nokey.ID, "/rows"), st, []map[string]any{{"编号": "X"}})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("upsert without a primary key: got %v, want 422", res)
		}
		var j cityhub.LoadJob
		res.decode(t, &j)
		if j.Status != cityhub.JobFailed || j.Stored != 0 || !strings.Contains(j.Error, "primary") {
			t.Errorf("got %+v, want a failed job naming the missing primary key", j)
		}
	})
}

// queryRow is one generated row of TestRowQuery.
type queryRow struct {
	key, district string
	amount        float64
}

// TestRowQuery covers the rows endpoint's parameters: filters, full text,
// fields, sort, keyset and offset paging, totals, versions, limits and
// the errors that name the parameter at fault.
func TestRowQuery(t *testing.T) {
	e := newEnv(t)
	co := e.tokens[rCO]
	entry := e.newTableEntry(e.deptA, cityhub.StatusPublished)
	districts := []string{"海曙区", "江北区", "鄞州区", "镇海区", "北仑区"}
	var data []queryRow
	var b strings.Builder
	b.WriteString("编号,区县,金额,联系人,手机号,证件号\n")
	for i := 1; i <= 25; i++ {
		r := queryRow{fmt.Sprintf("R%03d", i), districts[(i-1)%5], float64(i * 10)}
		data = append(data, r)
		fmt.Fprintf(&b, "%s,%s,%g,测试人%02d,138000000%02d,C%03d\n", r.key, r.district, r.amount, i, i, i)
	}
	e.loadCSV(entry, cityhub.LoadReplace, b.String())
	rowsPath := func(query string) string { return entryPath(entry.ID, "/rows?"+query) }
	keysWhere := func(keep func(queryRow) bool) []string {
		var out []string
		for _, r := range data {
			if keep(r) {
				out = append(out, r.key)
			}
		}
		return out
	}
	get := func(t *testing.T, query string) cityhub.RowResult {
		t.Helper()
		return rowPage(t, e.do("GET", rowsPath(query), co, nil))
	}
	esc := url.QueryEscape

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"filter=" + esc("区县:eq:海曙区"), keysWhere(func(r queryRow) bool { return r.district == "海曙区" })},
			{"filter=" + esc("区县:in:海曙区|江北区"), keysWhere(func(r queryRow) bool { return r.district == "海曙区" || r.district == "江北区" })},
			{"filter=" + esc("金额:gte:200"), keysWhere(func(r queryRow) bool { return r.amount >= 200 })},
			{"filter=" + esc("金额:gt:200"), keysWhere(func(r queryRow) bool { return r.amount > 200 })},
			{"filter=" + esc("amount:lt:30"), keysWhere(func(r queryRow) bool { return r.amount < 30 })},
			{"filter=" + esc("金额:lte:1,000"), keysWhere(func(r queryRow) bool { return r.amount <= 1000 })},
			{"filter=" + esc("区县:eq:海曙区") + "&filter=" + esc("金额:gte:100"),
				keysWhere(func(r queryRow) bool { return r.district == "海曙区" && r.amount >= 100 })},
			{"filter=" + esc("编号:eq:R007"), []string{"R007"}},
			{"filter=" + esc("编号:eq:none"), nil},
			{"q=r01", keysWhere(func(r queryRow) bool { return strings.HasPrefix(r.key, "R01") })},
			{"q=" + esc("测试人2"), keysWhere(func(r queryRow) bool { return r.amount >= 200 && r.amount < 260 })},
			{"q=" + esc("北仑") + "&filter=" + esc("金额:lt:100"), []string{"R005"}},
		} {
			page := get(t, tc.query+"&limit=1000")
			if got := pageKeys(page); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
	})

	t.Run("fields", func(t *testing.T) {
		page := get(t, "fields="+esc("编号,amount")+"&limit=3")
		if !slices.Equal(page.Fields, []string{"编号", "金额"}) || len(page.Rows) != 3 {
			t.Fatalf("got %+v, want fields 编号 金额 and 3 rows", page)
		}
		for _, r := range page.Rows {
			if len(r) != 3 || r["_id"] == nil || r["金额"] == nil {
				t.Errorf("got row %v, want only _id, 编号 and 金额", r)
			}
		}
	})

	t.Run("sort", func(t *testing.T) {
		page := get(t, "sort=-"+esc("金额")+"&limit=3")
		if got := pageKeys(page); !slices.Equal(got, []string{"R025", "R024", "R023"}) {
			t.Errorf("sort=-金额: got %v, want R025 R024 R023", got)
		}
		page = get(t, "sort="+esc("区县,-金额")+"&limit=1000")
		want := slices.Clone(data)
		slices.SortStableFunc(want, func(a, b queryRow) int {
			if c := strings.Compare(a.district, b.district); c != 0 {
				return c
			}
			return int(b.amount - a.amount)
		})
		var wantKeys []string
		for _, r := range want {
			wantKeys = append(wantKeys, r.key)
		}
		if got := pageKeys(page); !slices.Equal(got, wantKeys) {
			t.Errorf("sort=区县,-金额: got %v, want %v", got, wantKeys)
		}
		if page.Next != 0 {
			t.Errorf("sorted page: got next_after %d, want none (keyset paging follows _id order)", page.Next)
		}
	})

	t.Run("keyset paging", func(t *testing.T) {
		var seen []string
		after := int64(0)
		pages := 0
		for {
			page := get(t, fmt.Sprintf("limit=7&after=%d&filter=%s", after, esc("金额:gte:20")))
			pages++
			for _, r := range page.Rows {
				id := int64(r["_id"].(float64))
				if id <= after {
					t.Errorf("page %d: got _id %d, want ids after %d", pages, id, after)
				}
			}
			seen = append(seen, pageKeys(page)...)
			if page.Next == 0 {
				break
			}
			after = page.Next
			if pages > 10 {
				t.Fatal("more than 10 pages")
			}
		}
		if want := keysWhere(func(r queryRow) bool { return r.amount >= 20 }); !slices.Equal(seen, want) || pages != 4 {
			t.Errorf("got %v in %d pages, want %v in 4 pages, each once", seen, pages, want)
		}
	})

	t.Run("offset paging and total", func(t *testing.T) {
		page := get(t, "offset=20&limit=10&total=true")
		if got := pageKeys(page); !slices.Equal(got, []string{"R021", "R022", "R023", "R024", "R025"}) || page.Total == nil || *page.Total != 25 {
			t.Errorf("got %v total %v, want R021–R025 of 25", got, page.Total)
		}
		page = get(t, "limit=2&total=true&filter="+esc("区县:eq:江北区"))
		if len(page.Rows) != 2 || page.Total == nil || *page.Total != 5 {
			t.Errorf("got %d rows total %v, want 2 of 5", len(page.Rows), page.Total)
		}
		if page := get(t, "limit=2"); page.Total != nil || len(page.Rows) != 2 || page.Next == 0 {
			t.Errorf("got %+v, want no total unless asked, and a cursor", page)
		}
		if page := get(t, ""); len(page.Rows) != 25 || page.Version != 1 {
			t.Errorf("default: got %d rows of version %d, want all 25 (default limit 100) of version 1", len(page.Rows), page.Version)
		}
	})

	t.Run("versions", func(t *testing.T) {
		e.loadCSV(entry, cityhub.LoadAppend, "编号,金额\nR026,260\n")
		if page := get(t, "total=true"); page.Version != 2 || *page.Total != 26 {
			t.Errorf("current: got version %d total %v, want 2 and 26", page.Version, *page.Total)
		}
		if page := get(t, "version=1&total=true&limit=1000"); page.Version != 1 || *page.Total != 25 || len(page.Rows) != 25 {
			t.Errorf("version=1: got version %d total %v, %d rows, want 1, 25, 25", page.Version, *page.Total, len(page.Rows))
		}
		wantStatusField(t, e.do("GET", rowsPath("version=99"), co, nil), 404, "")
	})

	t.Run("bad parameters name the field", func(t *testing.T) {
		for _, tc := range []struct{ query, field string }{
			{"filter=" + esc("区县"), "filter"},
			{"filter=" + esc("区县:eq"), "filter"},
			{"filter=" + esc("不存在:eq:1"), "filter"},
			{"filter=" + esc("区县:like:海"), "filter"},
			{"filter=" + esc("金额:gte:很多"), "filter"},
			{"filter=" + esc("金额:gte:1|2"), "filter"},
			{"fields=" + esc("编号,不存在"), "fields"},
			{"sort=" + esc("-不存在"), "sort"},
			{"sort=" + esc("金额") + "&after=3", "after"},
			{"limit=-1", "limit"},
			{"limit=many", "limit"},
			{"offset=-5", "offset"},
			{"after=x", "after"},
			{"total=maybe", "total"},
			{"version=v1", "version"},
		} {
			res := e.do("GET", rowsPath(tc.query), co, nil)
			if res.status != 400 {
				t.Errorf("%s: got %v, want 400", tc.query, res)
				continue
			}
			if f := res.apiErr(t).Fields; f[tc.field] == "" {
				t.Errorf("%s: got fields %v, want %s named", tc.query, f, tc.field)
			}
		}
	})

	t.Run("masked items cannot be filtered or sorted on", func(t *testing.T) {
		cob := e.tokens[rCOB]
		for _, tc := range []struct{ query, field string }{
			{"filter=" + esc("手机号:gte:13800000010"), "filter"},
			{"filter=" + esc("mobile:eq:13800000010"), "filter"},
			{"filter=" + esc("联系人:in:测试人01|测试人02"), "filter"},
			{"sort=-" + esc("联系人"), "sort"},
			{"sort=" + esc("金额,MOBILE"), "sort"},
			{"fields=" + esc("证件号"), "fields"},
			{"filter=" + esc("证件号:eq:C001"), "filter"},
		} {
			wantStatusField(t, e.do("GET", rowsPath(tc.query), cob, nil), 400, tc.field)
		}
		// Full text leaves masked columns out: a guess of a masked value
		// finds nothing, while the other columns are still searched.
		if page := rowPage(t, e.do("GET", rowsPath("q=13800000010&total=true"), cob, nil)); len(page.Rows) != 0 {
			t.Errorf("q on a masked value: got %v, want no rows", page.Rows)
		}
		if page := rowPage(t, e.do("GET", rowsPath("q=R00&fields="+esc("编号,联系人")), cob, nil)); len(page.Rows) != 9 {
			t.Errorf("q on the unmasked columns: got %d rows, want R001–R009", len(page.Rows))
		}
		page := rowPage(t, e.do("GET", rowsPath("filter="+esc("区县:eq:海曙区")+"&sort=-"+esc("金额")), cob, nil))
		if got := pageKeys(page); !slices.Equal(got, []string{"R021", "R016", "R011", "R006", "R001"}) ||
			page.Rows[0]["手机号"] != maskedAs("手机号", "13800000021") || page.Rows[0]["证件号"] != nil {
			t.Errorf("got %v, want 海曙区's rows by amount, masked", page.Rows)
		}
		// Full text over the fields that are not masked.
		page = rowPage(t, e.do("GET", rowsPath("q=r01&fields="+esc("编号,区县,金额")), cob, nil))
		if got := pageKeys(page); len(got) != 10 || got[0] != "R010" {
			t.Errorf("outsider q over unmasked fields: got %v, want R010–R019", got)
		}
		if page := rowPage(t, e.do("GET", rowsPath("q=13800000010&fields="+esc("编号,区县")), cob, nil)); len(page.Rows) != 0 {
			t.Errorf("got %v, want the mobile number matched nowhere among the selected fields", page.Rows)
		}
		// The provider's own people filter and search on anything.
		page = rowPage(t, e.do("GET", rowsPath("filter="+esc("手机号:eq:13800000010")), co, nil))
		if got := pageKeys(page); !slices.Equal(got, []string{"R010"}) {
			t.Errorf("insider filter on 手机号: got %v, want R010", got)
		}
		page = rowPage(t, e.do("GET", rowsPath("q=13800000010"), co, nil))
		if got := pageKeys(page); !slices.Equal(got, []string{"R010"}) {
			t.Errorf("insider q on a mobile number: got %v, want R010", got)
		}
	})

	t.Run("every read is audited", func(t *testing.T) {
		recs := func() int {
			all, err := e.store.AuditRecords(context.Background(), cityhub.AuditFilter{Action: "data.read", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(all)
		}
		before := recs()
		for _, q := range []string{"", "limit=1", "q=R&fields=" + url.QueryEscape("编号,金额"), "total=true"} {
			res := e.do("GET", rowsPath(q), e.tokens[rAUD], nil)
			rowPage(t, res)
			checkReadAudit(t, e, "auditor", entry.ID, res, true)
		}
		if got := recs() - before; got != 4 {
			t.Errorf("got %d data.read records for 4 reads, want 4", got)
		}
	})
}

// TestRowLimit: a page holds at most 32,000 rows; a larger limit is
// clamped to it, not refused.
func TestRowLimit(t *testing.T) {
	e := newEnv(t)
	en := testEntry("大表", e.deptA.ID)
	en = e.saveEntry(en, cityhub.StatusPublished)
	const n = 32001
	var b strings.Builder
	b.WriteString("编号\n")
	for i := range n {
		fmt.Fprintf(&b, "K%06d\n", i)
	}
	e.loadCSV(en, cityhub.LoadReplace, b.String())
	page := rowPage(t, e.do("GET", entryPath(en.ID, "/rows?limit=40000&total=true"), e.tokens[rCO], nil))
	if len(page.Rows) != 32000 || page.Total == nil || *page.Total != n || page.Next == 0 {
		t.Fatalf("limit=40000: got %d rows, total %v, next %d, want 32000 rows of %d and a cursor", len(page.Rows), page.Total, page.Next, n)
	}
	rest := rowPage(t, e.do("GET", entryPath(en.ID, fmt.Sprintf("/rows?limit=40000&after=%d", page.Next)), e.tokens[rCO], nil))
	if got := pageKeys(rest); !slices.Equal(got, []string{fmt.Sprintf("K%06d", n-1)}) || rest.Next != 0 {
		t.Errorf("next page: got %v (next %d), want the last row only", got, rest.Next)
	}
}

var seedServerURL = sync.OnceValue(func() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, seedCSV)
	}))
	return srv.URL + "/seed.csv" // lives for the test binary
})

// seedServer serves seedCSV on loopback for pull tests.
func seedServer() string { return seedServerURL() }

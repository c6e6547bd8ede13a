package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/sqlstore"
	"github.com/cityhub/cityhub/tabular"
)

type env struct {
	store *sqlstore.Store
	ctx   context.Context
	key   *cityhub.AuditKey
	dept  *cityhub.Department
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "steward"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d := &cityhub.Department{Name: "宁波市市场监督管理局", CreditCode: "91110000600037341L", Division: "330200", Level: cityhub.LevelCity}
	if err := s.CreateDepartment(ctx, d); err != nil {
		t.Fatal(err)
	}
	return &env{s, ctx, key, d}
}

func (e *env) entry(t *testing.T, items ...cityhub.DataItem) *cityhub.CatalogEntry {
	t.Helper()
	en := &cityhub.CatalogEntry{ClassificationCode: "102", Name: "市场主体名录", ProviderID: e.dept.ID, Abstract: "企业登记信息",
		Format: cityhub.FormatDatabase, Items: items, ShareType: cityhub.Unconditional, ShareMethod: "接口调用",
		OpenType: cityhub.Unconditional, Domain: "market", UpdateCycle: cityhub.CycleDaily}
	if err := e.store.CreateEntry(e.ctx, en); err != nil {
		t.Fatal(err)
	}
	return en
}

var enterpriseItems = []cityhub.DataItem{
	{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, PrimaryKey: true, Sensitivity: "public"},
	{Name: "企业名称", Code: "name", Type: "C", Length: 200, Required: true, Sensitivity: "public"},
	{Name: "法定代表人", Code: "legal_rep", Type: "C", Length: 50, Sensitivity: "public"},
	{Name: "注册资本(万元)", Code: "reg_capital", Type: "N", Sensitivity: "public"},
	{Name: "成立日期", Code: "established", Type: "D", Sensitivity: "public"},
}

func (e *env) loadFile(t *testing.T, en *cityhub.CatalogEntry, file string, opts loader.Options) *cityhub.LoadJob {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "tabular", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if opts.Read.Format == "" {
		head := make([]byte, 512)
		n, _ := f.Read(head)
		f.Seek(0, 0)
		if opts.Read.Format, err = tabular.DetectFormat(file, "", head[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if opts.Mode == "" {
		opts.Mode = cityhub.LoadAppend
	}
	opts.Source = file
	job, err := loader.Load(e.ctx, e.store, en, f, st.Size(), opts)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	if job.Received != job.Stored+job.Rejected+job.Discarded {
		t.Errorf("%s: counts do not add up: %+v", file, job)
	}
	return job
}

func (e *env) names(t *testing.T, en *cityhub.CatalogEntry) []string {
	t.Helper()
	res, err := e.store.QueryRows(e.ctx, cityhub.RowQuery{EntryID: en.ID, Sort: []string{"统一社会信用代码"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, r["企业名称"].(string))
	}
	return out
}

// The same enterprises in every format land as the same rows.
func TestFormats(t *testing.T) {
	var want []string
	for _, tc := range []struct {
		file string
		rows int64
	}{{"gb18030.csv", 5}, {"title.xlsx", 5}, {"enterprises.json", 5}, {"enterprises.ndjson", 5}, {"utf8bom.csv", 3}} {
		t.Run(tc.file, func(t *testing.T) {
			e := newEnv(t)
			en := e.entry(t, enterpriseItems...)
			job := e.loadFile(t, en, tc.file, loader.Options{})
			if job.Status != cityhub.JobSucceeded || job.Stored != tc.rows || job.Rejected != 0 {
				problems, _ := e.store.RejectedRows(e.ctx, job.ID)
				t.Fatalf("job %+v, problems %+v", job, problems)
			}
			got := e.names(t, en)
			if want == nil {
				want = got
			}
			if tc.rows == 5 && (!slices.Equal(got, want) || !slices.Contains(got, `宁波鄞州"东钱湖"文旅发展有限公司`)) || len(got) != int(tc.rows) {
				t.Errorf("rows: got %v, want %v", got, want)
			}
			res, _ := e.store.QueryRows(e.ctx, cityhub.RowQuery{EntryID: en.ID, Filters: []cityhub.RowFilter{
				{Item: "注册资本(万元)", Op: "gte", Values: []string{"12000"}}, {Item: "reg_capital", Op: "lt", Values: []string{"20000"}}}, Total: true})
			if *res.Total != 1 || res.Rows[0]["成立日期"] != "2019-11-02" {
				t.Errorf("typed filter: got %v", res.Rows)
			}
		})
	}
}

// Bad citizen IDs are rejected by row and column; the rest is stored,
// or, when errors block the load, nothing.
func TestInvalidRows(t *testing.T) {
	items := []cityhub.DataItem{
		{Name: "姓名", Code: "name", Type: "C", Length: 20, Sensitivity: "sensitive"},
		{Name: "公民身份号码", Code: "citizen_id", Type: "C", Length: 18, PrimaryKey: true, Sensitivity: "secret"},
		{Name: "手机号码", Code: "mobile", Type: "C", Length: 20, Sensitivity: "sensitive"},
		{Name: "出生日期", Code: "birth", Type: "D", Sensitivity: "sensitive"},
	}
	e := newEnv(t)
	en := e.entry(t, items...)
	job := e.loadFile(t, en, "citizens.csv", loader.Options{})
	if job.Status != cityhub.JobSucceeded || job.Received != 7 || job.Stored != 4 || job.Rejected != 3 {
		t.Fatalf("job: %+v", job)
	}
	problems, err := e.store.RejectedRows(e.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, p := range problems {
		lines = append(lines, p.Line)
		if p.Line == 3 && (p.Column != "公民身份号码" || !strings.Contains(p.Reason, "check")) {
			t.Errorf("line 3 problem: %+v", p)
		}
	}
	if !slices.Equal(slices.Compact(lines), []int{3, 5, 7}) || len(problems) != 4 {
		t.Errorf("problems: got %+v, want lines 3, 5, 7 (7 twice: ID and mobile)", problems)
	}

	blocked := e.loadFile(t, en, "citizens.csv", loader.Options{Mode: cityhub.LoadReplace, BlockOnErrors: true})
	if blocked.Status != cityhub.JobFailed || blocked.Stored != 0 || blocked.Rejected != 3 || blocked.Discarded != 4 {
		t.Errorf("blocked job: %+v", blocked)
	}
	info, _ := e.store.Table(e.ctx, en.ID)
	if info.Version != job.Version || info.Rows != 4 {
		t.Errorf("after the blocked load the table must be as before: %+v", info)
	}
}

// A truncated file fails the load and leaves the table as it was.
func TestTruncatedFiles(t *testing.T) {
	for _, file := range []string{"truncated.csv", "truncated.xlsx"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			en := e.entry(t, enterpriseItems...)
			first := e.loadFile(t, en, "gb18030.csv", loader.Options{})
			f, err := os.Open(filepath.Join("..", "tabular", "testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			format := tabular.CSV
			if strings.HasSuffix(file, ".xlsx") {
				format = tabular.XLSX
			}
			job, err := loader.Load(e.ctx, e.store, en, f, st.Size(), loader.Options{Mode: cityhub.LoadReplace, Source: file,
				Read: tabular.Options{Format: format}})
			if err != nil {
				// The XLSX cannot even be opened: refused before a job starts.
				if cityhub.ErrorCode(err) != cityhub.EINVALID {
					t.Fatalf("got %v, want an invalid-file error", err)
				}
			} else if job.Status != cityhub.JobFailed || !strings.Contains(job.Error, "end") || job.Stored != 0 {
				t.Fatalf("job: %+v", job)
			}
			if info, _ := e.store.Table(e.ctx, en.ID); info.Version != first.Version || info.Rows != 5 {
				t.Errorf("table after the failed load: %+v", info)
			}
		})
	}
}

// Columns named differently are mapped explicitly; a required item with no
// column refuses the load before it starts.
func TestMapping(t *testing.T) {
	e := newEnv(t)
	items := append(slices.Clone(enterpriseItems), cityhub.DataItem{Name: "从业人数", Code: "staff", Type: "N", Required: true, Sensitivity: "public"})
	en := e.entry(t, items...)
	f, _ := os.Open(filepath.Join("..", "tabular", "testdata", "utf8bom.csv"))
	defer f.Close()
	_, err := loader.Load(e.ctx, e.store, en, f, -1, loader.Options{Mode: cityhub.LoadAppend, Read: tabular.Options{Format: tabular.CSV}})
	if cityhub.ErrorCode(err) != cityhub.EINVALID || !strings.Contains(err.Error(), "从业人数") {
		t.Fatalf("missing required column: got %v", err)
	}
	en2 := e.entry(t, enterpriseItems...)
	job := e.loadFile(t, en2, "gb18030.csv", loader.Options{Mapping: map[string]string{"法定代表人": ""}})
	res, _ := e.store.QueryRows(e.ctx, cityhub.RowQuery{EntryID: en2.ID, Limit: 1})
	if job.Stored != 5 || res.Rows[0]["法定代表人"] != nil {
		t.Errorf("dropped column: job %+v row %v", job, res.Rows[0])
	}
}

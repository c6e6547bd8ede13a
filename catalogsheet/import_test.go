package catalogsheet_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

func openStore(t *testing.T) (*sqlstore.Store, context.Context) {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "admin"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ctx
}

func allEntries(t *testing.T, ctx context.Context, s *sqlstore.Store) []*cityhub.CatalogEntry {
	t.Helper()
	res, err := s.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Sort: "code", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries
}

// emptyPlatform copies src's departments and classification tree, but no
// catalog entries: the platform a catalog file is brought to.
func emptyPlatform(t *testing.T, src *sqlstore.Store) (*sqlstore.Store, context.Context) {
	t.Helper()
	dst, ctx := openStore(t)
	depts, _, err := src.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range depts { // ids match: both stores number from 1 in the same order
		c := *d
		c.ID, c.ParentID = 0, d.ParentID
		if err := dst.CreateDepartment(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	classes, err := src.Classifications(ctx, cityhub.CatalogScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	have, _ := dst.Classifications(ctx, cityhub.CatalogScope{All: true})
	for _, c := range classes {
		if !slices.ContainsFunc(have, func(h *cityhub.Classification) bool { return h.Code == c.Code }) {
			if err := dst.CreateClassification(ctx, &cityhub.Classification{Code: c.Code, Name: c.Name}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst, ctx
}

// content is an entry without what the platform assigns per installation.
func content(e *cityhub.CatalogEntry) string {
	c := *e
	c.ID, c.ProviderID, c.Version, c.DataUpdatedAt, c.StatusReason = 0, 0, 0, nil, ""
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	return fmt.Sprintf("%+v", c)
}

// The round trip: export the demo catalog, import it into an empty platform,
// and get the same catalog: codes, content and status.
func TestExportImportRoundTrip(t *testing.T) {
	src, ctx := openStore(t)
	if _, err := demo.Load(ctx, src, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	want := allEntries(t, ctx, src)
	if len(want) < 200 {
		t.Fatalf("demo catalog has %d entries", len(want))
	}
	for _, format := range []string{catalogsheet.XLSX, catalogsheet.CSV} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var err error
			if format == catalogsheet.XLSX {
				err = catalogsheet.WriteXLSX(&buf, want, catalogsheet.WriteOptions{Title: "宁波市政务信息资源目录"})
			} else {
				err = catalogsheet.WriteCSV(&buf, want, true)
			}
			if err != nil {
				t.Fatal(err)
			}
			dst, ctx := emptyPlatform(t, src)
			rep, err := catalogsheet.Import(ctx, dst, &buf, format, "", cityhub.ImportOptions{KeepStatus: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) > 0 || rep.Created != len(want) || rep.Received != len(want) {
				t.Fatalf("import: received %d created %d skipped %d, problems %v", rep.Received, rep.Created, rep.Skipped, rep.Problems[:min(5, len(rep.Problems))])
			}
			got := allEntries(t, ctx, dst)
			if len(got) != len(want) {
				t.Fatalf("got %d entries, want %d", len(got), len(want))
			}
			for i := range want {
				if g, w := content(got[i]), content(want[i]); g != w {
					t.Errorf("entry %s differs:\n got %s\nwant %s", want[i].Code, g, w)
				}
			}
			// Importing the same file again changes nothing, even for
			// entries under review, and writes no new versions.
			again := bytes.NewReader(nil)
			if format == catalogsheet.XLSX {
				var b bytes.Buffer
				catalogsheet.WriteXLSX(&b, want, catalogsheet.WriteOptions{})
				again = bytes.NewReader(b.Bytes())
			} else {
				var b bytes.Buffer
				catalogsheet.WriteCSV(&b, want, true)
				again = bytes.NewReader(b.Bytes())
			}
			rep, err = catalogsheet.Import(ctx, dst, again, format, "", cityhub.ImportOptions{KeepStatus: true})
			if err != nil || len(rep.Problems) > 0 || rep.Unchanged != len(want) || rep.Created+rep.Updated+rep.Skipped != 0 {
				t.Fatalf("second import: %+v %v", rep, err)
			}
			if vs, _ := dst.EntryVersions(ctx, got[0].ID); len(vs) != 1 {
				t.Errorf("second import wrote versions: %d", len(vs))
			}
			// Codes assigned later continue after the imported ones.
			e := *want[0]
			e.ID, e.Code, e.Name = 0, "", e.Name+"（新）"
			if err := dst.CreateEntry(ctx, &e); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(want, func(w *cityhub.CatalogEntry) bool { return w.Code == e.Code }) {
				t.Errorf("new entry took an imported code %s", e.Code)
			}
		})
	}
}

// A file with bad rows imports nothing unless asked, and then says exactly
// which rows were skipped.
func TestImportReportsRowsAndColumns(t *testing.T) {
	src, ctx := openStore(t)
	if _, err := demo.Load(ctx, src, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	entries := allEntries(t, ctx, src)[:3]
	var buf bytes.Buffer
	if err := catalogsheet.WriteCSV(&buf, entries, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	// Spoil the second entry: a shared entry needs its 共享方式, a rule the
	// store checks; blank that column on the entry's rows.
	header := strings.Split(lines[0], ",")
	methodCol := slices.Index(header, "共享方式")
	second := 0
	for i, l := range lines[1:] {
		if strings.Contains(l, entries[1].Code) {
			cells := strings.Split(l, ",")
			cells[methodCol] = ""
			lines[i+1] = strings.Join(cells, ",")
			if second == 0 {
				second = i + 2
			}
		}
	}
	file := strings.Join(lines, "\n")

	dst, ctx := emptyPlatform(t, src)
	rep, err := catalogsheet.Import(ctx, dst, strings.NewReader(file), catalogsheet.CSV, "", cityhub.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 0 || rep.Skipped != 3 || len(allEntries(t, ctx, dst)) != 0 {
		t.Fatalf("without skipping: created %d skipped %d, want nothing imported", rep.Created, rep.Skipped)
	}
	found := false
	for _, p := range rep.Problems {
		found = found || p.Row == second && p.Column == "共享方式"
	}
	if !found {
		t.Errorf("problems %v: want one at row %d column 共享方式", rep.Problems, second)
	}
	rep, err = catalogsheet.Import(ctx, dst, strings.NewReader(file), catalogsheet.CSV, "", cityhub.ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 || rep.Skipped != 1 || !slices.Equal(rep.SkippedRows, []int{second}) {
		t.Errorf("skipping: created %d skipped %d rows %v, want 2, 1, [%d]", rep.Created, rep.Skipped, rep.SkippedRows, second)
	}
	if rep.Received != rep.Created+rep.Updated+rep.Skipped {
		t.Errorf("counts do not add up: %+v", rep)
	}
}

package dcat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogindex"
	"github.com/cityhub/cityhub/dcat"
	"github.com/cityhub/cityhub/demo"
	"github.com/cityhub/cityhub/sqlstore"
)

// node finds Node and the npm parsers (.ci/node, installed by
// `npm ci --prefix .ci/node`): without them the test is skipped locally
// and fails in CI.
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err == nil {
		for _, pkg := range []string{"jsonld", "n3"} {
			if _, err = os.Stat(filepath.Join("..", ".ci", "node", "node_modules", pkg, "package.json")); err != nil {
				break
			}
		}
	}
	if err != nil {
		msg := fmt.Sprintf("node and the RDF parsers are needed (npm ci --prefix .ci/node): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

type report struct {
	Results []struct {
		URL     string     `json:"url"`
		Format  string     `json:"format"`
		Triples int        `json:"triples"`
		Quads   [][]string `json:"quads"`
	} `json:"results"`
	Pairs int `json:"pairs"`
}

// parse runs testdata/parse.mjs over urls.
func parse(t *testing.T, args ...string) *report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node(t), append([]string{filepath.Join("testdata", "parse.mjs")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("parse.mjs: %v\n%s", err, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("parse.mjs report: %v\n%s", err, stdout.String())
	}
	return &rep
}

func openDemo(t *testing.T) (*sqlstore.Store, context.Context) {
	t.Helper()
	dir := t.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "test"})
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := demo.Load(ctx, s, func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// The demo city's whole public catalog, every page and every dataset in
// both formats, read by jsonld.js and N3.js: valid, non-empty, the same
// triples in both, and a known dataset's title where it is described.
func TestFeedsParseWithRealParsers(t *testing.T) {
	node(t)
	s, ctx := openDemo(t)
	index := catalogindex.New(s)
	index.Start(ctx)
	<-index.Ready()
	if err := index.Err(); err != nil {
		t.Fatal(err)
	}
	srv := &dcat.Server{Search: index, Store: s, Publisher: dcat.Agent{Name: "宁波市大数据管理局"}, PageSize: 40}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	all, err := cityhub.AllEntries(ctx, s, cityhub.CatalogQuery{Public: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var known *cityhub.CatalogEntry
	conditional, hidden := 0, 0
	for _, e := range all {
		if known == nil && e.DataUpdatedAt != nil && e.OpenType == cityhub.Unconditional {
			known = e // one with rows to download
		}
		if e.OpenType == cityhub.Conditional {
			conditional++
		}
	}
	every, err := cityhub.AllEntries(ctx, s, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hiddenName string
	for _, e := range every {
		if !e.PublicMetadata() {
			hidden++
			hiddenName = e.PackageName()
		}
	}
	if known == nil || conditional == 0 || hidden == 0 || len(all) <= 40 {
		t.Fatalf("demo catalog: %d public (%d conditional), %d hidden, known %v", len(all), conditional, hidden, known)
	}

	var urls []string
	pages := (len(all) + 39) / 40
	for page := 1; page <= pages; page++ {
		for _, ext := range []string{"jsonld", "ttl"} {
			urls = append(urls, fmt.Sprintf("%s/catalog.%s?page=%d", ts.URL, ext, page))
		}
	}
	since := all[len(all)/2].UpdatedAt.Format(time.RFC3339Nano)
	for _, ext := range []string{"jsonld", "ttl"} {
		urls = append(urls, ts.URL+"/catalog."+ext+"?modified_since="+strings.ReplaceAll(since, "+", "%2B"))
	}
	for _, e := range all {
		for _, ext := range []string{"jsonld", "ttl"} {
			urls = append(urls, ts.URL+"/dataset/"+e.PackageName()+"."+ext)
		}
	}
	knownIRI := ts.URL + "/dataset/" + known.PackageName()
	rep := parse(t, append([]string{"--title", knownIRI, known.Name}, urls...)...)
	if len(rep.Results) != len(urls) || rep.Pairs != len(urls)/2 {
		t.Fatalf("parsed %d documents, %d pairs; want %d and %d", len(rep.Results), rep.Pairs, len(urls), len(urls)/2)
	}
	for _, r := range rep.Results {
		if r.Triples < 20 {
			t.Errorf("%s: %d triples", r.URL, r.Triples)
		}
	}
	t.Logf("%d public datasets (%d conditional) on %d pages; %d documents parsed, %d pairs with the same triples",
		len(all), conditional, pages, len(rep.Results), rep.Pairs)

	res, err := http.Get(ts.URL + "/dataset/" + hiddenName + ".ttl")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("entry %s the public may not see: %d", hiddenName, res.StatusCode)
	}
}

// Any text goes through both writers and both parsers unchanged (invalid
// UTF-8 as U+FFFD): quotes, backslashes, line breaks, control characters,
// astral and odd characters, in titles and keywords.
func TestLiteralsRoundTripThroughParsers(t *testing.T) {
	node(t)
	texts := []string{
		`"`, `\`, `\"`, `"""`, `'''`, "''", `\u0041`, `\U0001F6A6`, "\\n", "a\nb", "a\r\nb", "\t", "\b\f\v",
		"\x00", "\x01\x1f\x7f", "\u0085\u00a0", "\u2028\u2029", "\ufeffBOM", "\ufffe\uffff", "\ue000私用",
		"🚦🅿️", "𠀀𪚥", "中文，“全角”『引号』", "<script>alert(1)</script>", "&amp;", "@zh", "^^xsd:string",
		"_:b0", "http://example.org/", "} ] ) ; , .", "# not a comment", "\xff\xfe", "a\xc3", "  spaces  ",
	}
	for seed := 0; seed < 40; seed++ { // random strings over the awkward characters
		var b strings.Builder
		alphabet := []rune("\"\\'\n\r\t\x00\x08\x0c\x1f\x7f\u0085\u2028\ufeff\ufffd{}<>@^_:#.;,中🚦a ")
		for i := 0; i < 1+seed%17; i++ {
			b.WriteRune(alphabet[(seed*7+i*13+i*i)%len(alphabet)])
		}
		texts = append(texts, b.String())
	}
	f := &fakeStore{}
	for i, text := range texts {
		e := &cityhub.CatalogEntry{ID: int64(i + 1), Code: fmt.Sprintf("9/%d", i+1), Name: text, Abstract: text,
			Tags: []string{text}, ProviderID: 1, ProviderName: text, Format: cityhub.FormatFile,
			OpenType: cityhub.Unconditional, Status: cityhub.StatusPublished, UpdateCycle: cityhub.CycleDaily,
			Domain: "x", CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
		f.entries = append(f.entries, e)
	}
	srv := &dcat.Server{Search: f, Store: f, Title: texts[0], Description: texts[1], Publisher: dcat.Agent{Name: "\"局\"\n"}}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	var urls []string
	for _, e := range f.entries {
		urls = append(urls, ts.URL+"/dataset/"+e.PackageName()+".jsonld", ts.URL+"/dataset/"+e.PackageName()+".ttl")
	}
	urls = append(urls, ts.URL+"/catalog.jsonld", ts.URL+"/catalog.ttl")
	rep := parse(t, append([]string{"--quads"}, urls...)...)
	if rep.Pairs != len(urls)/2 {
		t.Fatalf("%d pairs", rep.Pairs)
	}
	for i, r := range rep.Results[:len(f.entries)*2] {
		e := f.entries[i/2]
		titles, keywords := 0, 0
		for _, q := range r.Quads {
			switch q[1] {
			case "http://purl.org/dc/terms/title":
				if q[0] == ts.URL+"/dataset/"+e.PackageName() {
					titles++
					if q[3] != clean(e.Name) || q[4] != "zh" {
						t.Errorf("%s: title %q@%s, want %q@zh", r.URL, q[3], q[4], clean(e.Name))
					}
				}
			case "http://www.w3.org/ns/dcat#keyword":
				keywords++
				if q[3] != clean(e.Name) || q[5] != "http://www.w3.org/2001/XMLSchema#string" {
					t.Errorf("%s: keyword %q^^%s, want %q", r.URL, q[3], q[5], clean(e.Name))
				}
			}
		}
		wantTitles := 1
		if strings.TrimSpace(e.Name) == "" {
			wantTitles = 0 // blank text is left out
		}
		if titles != wantTitles || keywords != 1 {
			t.Errorf("%s: %d titles, %d keywords", r.URL, titles, keywords)
		}
	}
}

// clean is what a Go string reads back as: each invalid byte U+FFFD.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// fakeStore serves a fixed list of public entries, newest first.
type fakeStore struct{ entries []*cityhub.CatalogEntry }

func (f *fakeStore) SearchCatalog(ctx context.Context, q cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	res := &cityhub.CatalogResult{Total: len(f.entries)}
	for i := len(f.entries) - 1 - q.Offset; i >= 0 && len(res.Entries) < q.Limit; i-- {
		res.Entries = append(res.Entries, f.entries[i])
	}
	return res, nil
}

func (f *fakeStore) Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error) {
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "not found")
}

func (f *fakeStore) EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error) {
	for _, e := range f.entries {
		if e.Code == code {
			return e, nil
		}
	}
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "not found")
}

func (f *fakeStore) Department(ctx context.Context, id int64) (*cityhub.Department, error) {
	return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no departments here")
}

func (f *fakeStore) Departments(ctx context.Context, _ cityhub.DepartmentFilter) ([]*cityhub.Department, int, error) {
	return nil, 0, nil
}

func (f *fakeStore) Domains(ctx context.Context) ([]*cityhub.Domain, error) {
	return []*cityhub.Domain{{Code: "x", Name: "\"领域\"\\", EN: "a\nb"}}, nil
}

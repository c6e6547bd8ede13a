package ckan

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryActionHasHelp(t *testing.T) {
	actions := slices.Sorted(maps.Keys(actionTable))
	docs := slices.Sorted(maps.Keys(helpDocs))
	if !slices.Equal(actions, docs) {
		t.Errorf("actions %v, help for %v", actions, docs)
	}
}

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                              `'abc'`,
		"Invalid search parameters: ['x']": `"Invalid search parameters: ['x']"`,
		`it's "quoted"`:                    `'it\'s "quoted"'`,
		"停车\n":                             `'停车\n'`,
		`a\b`:                              `'a\\b'`,
	} {
		if got := pyRepr(in); got != want {
			t.Errorf("pyRepr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTokenize(t *testing.T) {
	toks, open := tokenize(`organization:abc +tags:"停车 场" 空气:质量 "a phrase" text:x:y -groups:z`)
	if open {
		t.Fatal("reported an open quote")
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.field+"|"+tk.value)
	}
	want := []string{"organization|abc", "+tags|停车 场", "|空气:质量", "|a phrase", "text|x:y", "-groups|z"}
	if !slices.Equal(got, want) {
		t.Errorf("tokens %q, want %q", got, want)
	}
	if _, open := tokenize(`tags:"open`); !open {
		t.Error("open quote not reported")
	}
}

func TestSortClauses(t *testing.T) {
	for in, want := range map[string]struct {
		name string
		desc bool
		ok   bool
	}{
		"lot": {"lot", false, true}, "lot desc": {"lot", true, true}, " amount  ASC ": {"amount", false, true},
		`"停车场 名称" desc`: {"停车场 名称", true, true}, "lot sideways": {"", false, false}, `"open`: {"", false, false},
		"": {"", false, false},
	} {
		name, desc, ok := parseSortClause(in)
		if name != want.name || desc != want.desc || ok != want.ok {
			t.Errorf("parseSortClause(%q) = %q %v %v, want %+v", in, name, desc, ok, want)
		}
	}
	for in, want := range map[string]string{"": "", "score desc, metadata_modified desc": "", "metadata_modified  desc": "updated",
		"name asc": "code", "title_string asc": "name"} {
		if got, ok := sortKey(in); !ok || got != want {
			t.Errorf("sortKey(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	if _, ok := sortKey("name desc"); ok {
		t.Error("name desc accepted")
	}
}

func TestNameUUID(t *testing.T) {
	a, b := TagID("停车"), TagID("停车")
	if a != b || a == TagID("收费") || a == GroupID("停车") || len(a) != 36 || a[14] != '5' {
		t.Errorf("TagID: %s %s", a, b)
	}
}

// One caller loads; the others wait for the first value, then get the
// old one while it is refreshed.
func TestCacheLoadsOnce(t *testing.T) {
	var c cache[int]
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) (int, error) {
		n := loads.Add(1)
		<-release
		return int(n), nil
	}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = c.get(context.Background(), time.Hour, load)
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if loads.Load() != 1 || slices.ContainsFunc(got, func(v int) bool { return v != 1 }) {
		t.Errorf("%d loads, values %v", loads.Load(), got)
	}
	// Expired: the caller that finds it so reloads; a failed load keeps
	// the old value for the next.
	fail := func(context.Context) (int, error) { return 0, errors.New("down") }
	if _, err := c.get(context.Background(), 0, fail); err == nil {
		t.Error("a failed load gave no error")
	}
	if v, err := c.get(context.Background(), time.Hour, fail); err != nil || v != 1 {
		t.Errorf("after a failed refresh: %v %v", v, err)
	}
}

package portal

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMessageTablesMatch keeps every key in every language, and every key
// the templates and handlers use in the tables.
func TestMessageTablesMatch(t *testing.T) {
	for lang, table := range messages {
		for other, ot := range messages {
			for k := range table {
				if _, ok := ot[k]; !ok {
					t.Errorf("%q is in %s but not in %s", k, lang, other)
				}
			}
		}
	}
	used := regexp.MustCompile(`\b(?:T|Tf) "([a-z_]+\.[a-z_]+)"`)
	var sources []string
	for _, dir := range []string{".", "templates"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name := e.Name(); strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
				data, err := os.ReadFile(dir + "/" + name)
				if err != nil {
					t.Fatal(err)
				}
				sources = append(sources, string(data))
			}
		}
	}
	keys := map[string]bool{}
	for _, src := range sources {
		for _, m := range used.FindAllStringSubmatch(src, -1) {
			keys[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`"((?:facet|field|download|chart|sort|search|history|data)\.[a-z_]+)"`).FindAllStringSubmatch(src, -1) {
			keys[m[1]] = true
		}
	}
	for _, f := range publicFields {
		keys["field."+f] = true
	}
	for _, m := range []string{"append", "upsert", "replace", "rollback"} {
		keys["mode."+m] = true
	}
	for k := range keys {
		if _, ok := messages["zh"][k]; !ok {
			t.Errorf("%q is used but not in the tables", k)
		}
	}
	if len(keys) < 100 || !slices.Contains([]string{"zh"}, defaultLang) {
		t.Errorf("found %d keys in use; default language %s", len(keys), defaultLang)
	}
}

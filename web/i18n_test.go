package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
)

func TestMessageTablesMatch(t *testing.T) {
	if _, ok := messages[defaultLang]; !ok {
		t.Fatalf("no table for the default language %q", defaultLang)
	}
	for lang, table := range messages {
		for otherLang, other := range messages {
			for key := range table {
				if _, ok := other[key]; !ok {
					t.Errorf("key %q is in %s but not in %s", key, lang, otherLang)
				}
			}
		}
		for key, msg := range table {
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: key %q is empty", lang, key)
			}
		}
	}
	// Formatted messages take the same verbs in every language.
	verbs := regexp.MustCompile(`%[a-z]`)
	for key, zh := range messages["zh"] {
		if got, want := verbs.FindAllString(messages["en"][key], -1), verbs.FindAllString(zh, -1); strings.Join(got, "") != strings.Join(want, "") {
			t.Errorf("key %q: en has verbs %v, zh has %v", key, got, want)
		}
	}
}

// TestMessageKeysUsed checks every key the templates and the Go code ask
// for exists, so no page shows a raw key.
func TestMessageKeysUsed(t *testing.T) {
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.(?:T|Tf) "([^"]+)"`)
	err := fs.WalkDir(files, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goKey := regexp.MustCompile(`\bp\.(?:T|Tf)\("([^"]+)"`)
	gofiles, _ := filepath.Glob("*.go")
	for _, name := range gofiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use; is the pattern stale?", len(used))
	}
	// Keys built at run time.
	for _, r := range cityhub.Roles {
		used["role."+r] = true
	}
	for _, v := range []string{"level.city", "level.district", "scope.read", "scope.write",
		"outcome.success", "outcome.failure", "outcome.denied", "reason.credit_code_invalid"} {
		used[v] = true
	}
	for _, f := range []string{"username", "password", "name", "short_name", "credit_code", "division_code", "level",
		"parent_id", "display_name", "email", "phone", "department_id", "roles", "scopes", "expires_at",
		// the catalog's, as the domain and the entry form name them
		"classification_code", "provider_id", "abstract", "format", "items", "share_type", "share_condition",
		"share_method", "share_basis", "open_type", "open_condition", "open_basis", "update_cycle", "publish_date",
		"related_codes", "tags", "domain", "reason", "change_reason", "q", "sort", "file", "sheet",
		"item_name", "item_code", "item_type", "item_length", "item_description", "item_required",
		"item_primary_key", "item_sensitivity"} {
		used["field."+f] = true
	}
	for _, d := range []string{"department_created", "department_updated", "department_deleted", "user_created",
		"user_disabled", "user_enabled", "password_reset", "token_created", "token_revoked",
		"catalog_created", "catalog_updated", "catalog_deleted", "change_requested"} {
		used["done."+d] = true
	}
	// The catalog's keys built at run time.
	for _, f := range cityhub.FacetNames {
		used["facet."+f] = true
	}
	for _, a := range []string{"create", "update", "import", "submit", "approve", "reject", "publish", "withdraw"} {
		used["action."+a] = true
	}
	for _, a := range []string{"submit", "approve", "reject", "publish", "withdraw"} {
		used["done.catalog_"+a] = true
	}
	for _, st := range cityhub.Statuses {
		used["catalog.status_help_"+st.Code] = true
	}
	used["catalog.locked_"+cityhub.StatusSubmitted] = true
	used["catalog.locked_"+cityhub.StatusApproved] = true
	for _, rp := range []string{"one_of", "no_classification", "no_domain", "no_entry_code", "not_resource_code",
		"appears_twice", "tag_too_long", "classification_fixed"} {
		used["reason."+rp] = true
	}
	// Every field a catalog version's changes name (cityhub.Diff).
	for _, ch := range cityhub.Diff(&cityhub.CatalogEntry{}, &cityhub.CatalogEntry{Code: "1/1", ClassificationCode: "1",
		Name: "x", ProviderID: 1, Abstract: "x", Format: "x", ShareType: "x", ShareCondition: "x", ShareMethod: "x",
		ShareBasis: "x", OpenType: "x", OpenCondition: "x", OpenBasis: "x", UpdateCycle: "x", PublishDate: "x",
		RelatedCodes: []string{"x"}, Tags: []string{"x"}, Domain: "x", Status: "x"}) {
		used["field."+ch.Field] = true
	}
	// The device pages' keys built at run time.
	for _, st := range []string{"online", "offline", "never", "disabled"} {
		used["devices.state_"+st] = true
	}
	for _, r := range []string{"1h", "24h", "7d"} {
		used["devices.range_"+r] = true
	}
	for _, r := range []string{ingest.ReasonMalformed, ingest.ReasonUnknownProperty, ingest.ReasonInvalid,
		ingest.ReasonTooLate, ingest.ReasonFuture, ingest.ReasonConflict, ingest.ReasonUnknownDevice, ingest.ReasonUnknownType} {
		used["rejection."+r] = true
	}
	for _, f := range []string{"type", "division", "location", "entity_id", "lon", "lat"} {
		used["field."+f] = true
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for lang, table := range messages {
			if _, ok := table[k]; !ok {
				t.Errorf("%s: missing key %q", lang, k)
			}
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	if _, err := parseTemplates(); err != nil {
		t.Fatal(err)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/departments?q=x", "/departments?q=x"},
		{"//evil.example", "/"},
		{"https://evil.example/", "/"},
		{`/\evil.example`, "/"},
		{"/login?next=/x", "/"},
		{"javascript:alert(1)", "/"},
		{"/a\r\nLocation: x", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

package cityhub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cityhub/cityhub"
)

// vector is a unified social credit code with a known-good check character.
const vector = "91110000600037341L"

func TestCreditCodeCheckChar(t *testing.T) {
	got, err := cityhub.CreditCodeCheckChar(vector[:17])
	if err != nil {
		t.Fatal(err)
	}
	if got != 'L' {
		t.Fatalf("check char of %s: got %q, want 'L'", vector[:17], got)
	}
	for _, bad := range []string{"", vector[:16], vector, "9111000060003734I", "91110000600037a41"} {
		if _, err := cityhub.CreditCodeCheckChar(bad); err == nil {
			t.Errorf("check char of %q: got no error, want one", bad)
		}
	}
}

func TestValidateCreditCode(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		reason string // part of the error; empty for a valid code
	}{
		{"valid vector", vector, ""},
		{"generated code", "91330200MA2AF0000" + checkChar(t, "91330200MA2AF0000"), ""},
		{"wrong check character", vector[:17] + "M", "check character"},
		{"check character not in charset", vector[:17] + "Z", "character 18"},
		{"lower case", strings.ToLower(vector), "not allowed"},
		{"letter I", "9111000060003734IL", "character 17"},
		{"letter O", "O1110000600037341L", "character 1 "},
		{"letter S", "91S10000600037341L", "character 3"},
		{"letter V", "911V0000600037341L", "character 4"},
		{"letter Z", "9111Z000600037341L", "character 5"},
		{"punctuation", "91110000-00037341L", "character 9"},
		{"too short", vector[:17], "got 17"},
		{"too long", vector + "0", "got 19"},
		{"empty", "", "got 0"},
		{"full-width check character", vector[:17] + "Ｌ", "full-width"},
		{"chinese character", "9111000060003734六L", "ASCII"},
		{"chinese, too short", "91110000六0003734L", "got 17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cityhub.ValidateCreditCode(tt.code)
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tt.reason != "" && err == nil:
				t.Fatalf("got valid, want an error mentioning %q", tt.reason)
			case err != nil && !strings.Contains(err.Error(), tt.reason):
				t.Fatalf("got %q, want it to mention %q", err, tt.reason)
			}
		})
	}
}

func checkChar(t *testing.T, first17 string) string {
	t.Helper()
	c, err := cityhub.CreditCodeCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return string(c)
}

// The weights are non-zero modulo the prime 31, so the check character
// catches every single-character substitution.
func TestCreditCodeCatchesEverySubstitution(t *testing.T) {
	const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for i := range len(vector) {
		for _, c := range charset {
			if byte(c) == vector[i] {
				continue
			}
			code := vector[:i] + string(c) + vector[i+1:]
			if err := cityhub.ValidateCreditCode(code); err == nil {
				t.Errorf("%s (position %d changed): got valid, want a checksum error", code, i+1)
			}
		}
	}
}

func TestLookupDivision(t *testing.T) {
	tests := []struct {
		code     string
		ok       bool
		name     string
		parent   string
		level    string
		historic bool
	}{
		{"330000", true, "浙江省", "", "province", false},
		{"330200", true, "宁波市", "330000", "city", false},
		{"330212", true, "鄞州区", "330200", "county", false},
		{"330282", true, "慈溪市", "330200", "county", false},
		{"330204", true, "江东区", "330200", "county", true},
		{"330283", true, "奉化市", "330200", "county", true},
		{"110000", true, "北京市", "", "province", false},
		{"339999", false, "", "", "", false},
		{"", false, "", "", "", false},
		{"33020", false, "", "", "", false},
	}
	for _, tt := range tests {
		d, ok := cityhub.LookupDivision(tt.code)
		if ok != tt.ok {
			t.Errorf("LookupDivision(%q): got ok=%v, want %v", tt.code, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if d.Code != tt.code || d.Name != tt.name || d.Parent != tt.parent || d.Level() != tt.level || d.Historic != tt.historic {
			t.Errorf("LookupDivision(%q): got %+v (level %s), want %s, parent %q, level %s, historic %v",
				tt.code, d, d.Level(), tt.name, tt.parent, tt.level, tt.historic)
		}
	}
	// Historic divisions say what became of them.
	for code, successor := range map[string]string{"330204": "330212", "330283": "330213"} {
		d, _ := cityhub.LookupDivision(code)
		if !strings.Contains(d.Note, successor) {
			t.Errorf("note of %s: got %q, want it to name %s", code, d.Note, successor)
		}
	}
}

func TestDivisions(t *testing.T) {
	codes := func(ds []cityhub.Division) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Code)
		}
		return out
	}
	current := codes(cityhub.Divisions("3302", false))
	want := []string{"330200", "330203", "330205", "330206", "330211", "330212", "330213", "330225", "330226", "330281", "330282"}
	if !slices.Equal(current, want) {
		t.Errorf("Divisions(3302, current): got %v, want %v", current, want)
	}
	all := codes(cityhub.Divisions("3302", true))
	want = append(want, "330204", "330283")
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("Divisions(3302, with historic): got %v, want %v", all, want)
	}
	every := cityhub.Divisions("", true)
	if !slices.IsSortedFunc(every, func(a, b cityhub.Division) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Divisions(\"\"): got an unsorted list")
	}
	provinces := 0
	for _, d := range every {
		if d.Level() == "province" {
			provinces++
		}
		if d.Parent != "" {
			if _, ok := cityhub.LookupDivision(d.Parent); !ok && d.Level() == "city" {
				t.Errorf("division %s: parent %s not shipped", d.Code, d.Parent)
			}
		}
	}
	if provinces != 34 {
		t.Errorf("provinces: got %d, want 34", provinces)
	}
	if got := cityhub.Divisions("99", true); len(got) != 0 {
		t.Errorf("Divisions(99): got %v, want none", codes(got))
	}
}

package cityhub_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

func TestSearchTerms(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"only spaces", " \t\n ", nil},
		{"one CJK character stays a unigram", "水", []string{"水"}},
		{"two CJK characters", "路灯", []string{"路灯"}},
		{"overlapping bigrams", "智慧路灯", []string{"智慧", "慧路", "路灯"}},
		{"English words lower-cased", "Smart STREETLIGHT Inventory", []string{"smart", "streetlight", "inventory"}},
		{"PM2.5 splits at the dot", "PM2.5", []string{"pm2", "5"}},
		{"mixed scripts", "供水PM2.5浓度", []string{"供水", "pm2", "5", "浓度"}},
		{"lone CJK character between words", "a水b", []string{"a", "水", "b"}},
		{"fullwidth punctuation separates", "路灯，井盖。（水）", []string{"路灯", "井盖", "水"}},
		{"ideographic space separates", "路灯\u3000井盖", []string{"路灯", "井盖"}},
		{"fullwidth letters and digits are a word", "ＡＢＣ１２３", []string{"ａｂｃ１２３"}},
		{"emoji separates", "路灯🚦井盖😀", []string{"路灯", "井盖"}},
		{"only emoji", "🚦😀", nil},
		{"ASCII punctuation", `"路灯" AND 井盖* NEAR(x) a:b 'c'`, []string{"路灯", "and", "井盖", "near", "x", "a", "b", "c"}},
		{"underscore and hyphen separate", "road_light-2025", []string{"road", "light", "2025"}},
		{"digits", "3.14 2025年", []string{"3", "14", "2025", "年"}},
		{"kana is CJK", "カタカナ", []string{"カタ", "タカ", "カナ"}},
		{"hangul is CJK", "서울시", []string{"서울", "울시"}},
		{"accented letters kept", "Straße Café", []string{"straße", "café"}},
		{"invalid UTF-8 separates", "ab\xffcd", []string{"ab", "cd"}},
		{"Han radical symbols separate", "路⺛灯 ⺛", []string{"路", "灯"}},
		{"circled and squared signs separate", "水㋐㌀ㅎ", []string{"水", "ㅎ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cityhub.SearchTerms(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("SearchTerms(%q): got %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSearchIndexText(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"", ""},
		{"!!!", ""},
		{"水", "水 水"},
		{"智慧路灯", "智慧 慧路 路灯 智 慧 路 灯"},
		{"供水 供水", "供水 供水 供 水"}, // each character once
		{"PM2.5", "pm2 5"},
		{"Hello, World", "hello world"},
		{"路灯ABC", "路灯 abc 路 灯"},
	}
	for _, tt := range tests {
		if got := cityhub.SearchIndexText(tt.text); got != tt.want {
			t.Errorf("SearchIndexText(%q): got %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestSearchPhrases(t *testing.T) {
	many := strings.Repeat("词 ", 20)
	tests := []struct {
		name string
		q    string
		want [][]string
	}{
		{"empty", "", nil},
		{"spaces", "   ", nil},
		{"punctuation only", `" ' * : ( ) ！`, nil},
		{"one word", "路灯", [][]string{{"路灯"}}},
		{"two words are two phrases", "路灯  井盖", [][]string{{"路灯"}, {"井盖"}}},
		{"a long word is one phrase of bigrams", "智慧路灯", [][]string{{"智慧", "慧路", "路灯"}}},
		{"quotes carry no meaning", `"路灯"`, [][]string{{"路灯"}}},
		{"operators are plain words", "a AND b OR NOT c NEAR(d", [][]string{{"a"}, {"and"}, {"b"}, {"or"}, {"not"}, {"c"}, {"near", "d"}}},
		{"punctuation inside a word", "PM2.5", [][]string{{"pm2", "5"}}},
		{"mixed", "供水 Streetlight", [][]string{{"供水"}, {"streetlight"}}},
		{"at most 16 phrases", many, slices.Repeat([][]string{{"词"}}, 16)},
		{"punctuation words do not count", strings.Repeat("* ", 20) + "水", [][]string{{"水"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cityhub.SearchPhrases(tt.q)
			if !slices.EqualFunc(got, tt.want, func(a, b []string) bool { return slices.Equal(a, b) }) {
				t.Errorf("SearchPhrases(%q): got %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

// FuzzSearchPhrases checks what the stores rely on to quote terms safely in
// FTS5 and tsquery syntax: every term is a non-empty run of letters and
// digits, so no quote, backslash, operator or space can get through.
func FuzzSearchPhrases(f *testing.F) {
	for _, s := range []string{"", "路灯", "智慧路灯 管理", `"`, `'`, `\`, "AND", "*", "NEAR(", ":", "a:b",
		"PM2.5", "供水PM2.5浓度", "🚦", "ab\xffcd", "İstanbul ǅ ß", "'; DROP TABLE x; --", "ＡＢＣ１２３",
		"カタカナー", "서울시", "路⺛灯㋐", "\u0301\u200d\ufeff", strings.Repeat("水 ", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		phrases := cityhub.SearchPhrases(q)
		if len(phrases) > 16 {
			t.Fatalf("SearchPhrases(%q): got %d phrases, want at most 16", q, len(phrases))
		}
		for _, p := range phrases {
			if len(p) == 0 {
				t.Fatalf("SearchPhrases(%q): got an empty phrase in %q", q, phrases)
			}
			for _, term := range p {
				checkTerm(t, q, term)
			}
		}
		for _, term := range cityhub.SearchTerms(q) {
			checkTerm(t, q, term)
		}
		for _, term := range strings.Fields(cityhub.SearchIndexText(q)) {
			checkTerm(t, q, term)
		}
	})
}

func checkTerm(t *testing.T, q, term string) {
	t.Helper()
	if term == "" || !utf8.ValidString(term) {
		t.Fatalf("input %q: got term %q, want a non-empty valid UTF-8 term", q, term)
	}
	for _, r := range term {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			t.Fatalf("input %q: term %q holds %U, want letters and digits only", q, term, r)
		}
	}
}

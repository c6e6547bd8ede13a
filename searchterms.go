package cityhub

import (
	"strings"
	"unicode"
)

// isCJK reports whether r is written without spaces between words (Han,
// kana, Hangul): such runs are indexed as overlapping bigrams, so any
// two-character word (路灯, 井盖) is found, which a trigram index misses.
// Only letters count: the scripts also hold symbols (radicals ⺛, circled
// and squared signs) that FTS5 drops and PostgreSQL ignores, so terms made
// of them would match differently in the two stores.
func isCJK(r rune) bool {
	return unicode.IsLetter(r) && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r))
}

// SearchTerms splits text into the terms the catalog index stores, in
// order: lower-cased runs of other letters and digits as words, and
// overlapping bigrams of CJK runs (a lone CJK character stays a unigram).
// Phrase queries over these terms match substrings of CJK text.
func SearchTerms(text string) []string {
	var out []string
	var word []rune
	var cjk []rune
	flushWord := func() {
		if len(word) > 0 {
			out = append(out, strings.ToLower(string(word)))
			word = word[:0]
		}
	}
	flushCJK := func() {
		switch len(cjk) {
		case 0:
		case 1:
			out = append(out, string(cjk))
		default:
			for i := 0; i+1 < len(cjk); i++ {
				out = append(out, string(cjk[i:i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}

// SearchIndexText is what the store indexes for one field: the terms in
// order (for phrase matching), then each CJK character once (so a
// one-character query such as 水 or 电 finds 供水 and 电力).
func SearchIndexText(text string) string {
	terms := SearchTerms(text)
	seen := map[rune]bool{}
	for _, r := range text {
		if isCJK(r) && !seen[r] {
			seen[r] = true
			terms = append(terms, string(r))
		}
	}
	return strings.Join(terms, " ")
}

// SearchPhrases parses a user's query: every space-separated word becomes a
// phrase of terms, and an entry must match every phrase. Quotes and
// operators carry no meaning, so no input can break the store's query.
func SearchPhrases(q string) [][]string {
	var out [][]string
	for _, w := range strings.Fields(q) {
		if terms := SearchTerms(w); len(terms) > 0 {
			out = append(out, terms)
		}
		if len(out) == 16 {
			break // a longer query adds cost, not precision
		}
	}
	return out
}

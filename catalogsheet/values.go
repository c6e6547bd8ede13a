package catalogsheet

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cityhub/cityhub"
)

// lookupTerm finds a vocabulary term by code (any case), Chinese or English
// label, also when the cell holds both ("C 字符型", "字符型(C)") or omits a
// suffix every label of the vocabulary shares ("有条件" for 有条件共享).
func lookupTerm(terms []cityhub.Term, s, suffix string) (cityhub.Term, bool) {
	s = strings.TrimSpace(s)
	find := func(s string) (cityhub.Term, bool) {
		if t, ok := cityhub.TermByLabel(terms, s); ok {
			return t, true
		}
		for _, t := range terms {
			if strings.EqualFold(s, t.Code) || suffix != "" && s+suffix == t.ZH {
				return t, true
			}
		}
		return cityhub.Term{}, false
	}
	if t, ok := find(s); ok {
		return t, true
	}
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("()（）:：/、|-", r)
	})
	if len(parts) < 2 {
		return cityhub.Term{}, false
	}
	var found cityhub.Term
	for _, p := range parts {
		t, ok := find(p)
		if !ok || found.Code != "" && t.Code != found.Code {
			return cityhub.Term{}, false
		}
		found = t
	}
	return found, true
}

// termList is the Chinese labels of a vocabulary, for problem reasons.
func termList(terms []cityhub.Term) string {
	labels := make([]string, len(terms))
	for i, t := range terms {
		labels[i] = t.ZH
	}
	return strings.Join(labels, "、")
}

// labelOf is the Chinese label of code, or code itself when the vocabulary
// does not know it.
func labelOf(terms []cityhub.Term, code string) string {
	for _, t := range terms {
		if t.Code == code {
			return t.ZH
		}
	}
	return code
}

// parseBool reads 是/否, Y/N, yes/no, true/false, 1/0 and check marks; a
// blank cell is false.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "是", "y", "yes", "true", "1", "√", "✓", "✔":
		return true, true
	case "", "否", "n", "no", "false", "0", "×", "✗", "✘":
		return false, true
	}
	return false, false
}

// parseLength reads a whole number; a blank cell is 0. Spreadsheets may
// write whole numbers as "20.0".
func parseLength(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, false
	}
	return int(f), true
}

// leadingDigits takes the classification code from "101", "101 人口" or
// "101人口".
func leadingDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 20 {
		return "", false
	}
	return s[:n], true
}

var dateText = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?$`)

// parseDate reads 2026-01-02, 2026/1/2, 2026.1.2, 2026年1月2日 and
// 20260102, with or without a time of day after it; with serials, also an
// Excel date serial (as XLSX files store dates). It returns CCYY-MM-DD.
func parseDate(s string, serials, date1904 bool) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	if serials {
		if f, err := strconv.ParseFloat(s, 64); err == nil && strings.Trim(s, "0123456789.") == "" {
			if f < 1 || f >= 2958466 { // 9999-12-31
				return "", false
			}
			return excelDate(f, date1904).Format("2006-01-02"), true
		}
	}
	var y, m, d int
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[4:6])
		d, _ = strconv.Atoi(s[6:])
	} else if g := dateText.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else {
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 1 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// excelDate converts an Excel date serial to its day. Serial 60 is the
// 1900-02-29 that Lotus invented and Excel kept; the days after it are
// one off.
func excelDate(serial float64, date1904 bool) time.Time {
	days := int(math.Floor(serial))
	if date1904 {
		return time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
	}
	if days < 60 {
		return time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
	}
	return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
}

// splitList splits tags and related codes at ; ； , ， 、 and line breaks,
// dropping blanks and repeats.
func splitList(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune(";；,，、\n\r", r)
	})
	var out []string
	seen := map[string]bool{}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// listSeparator joins tags and related codes in written files.
const listSeparator = "；"

// quote shows a cell's value in a problem's reason, shortened.
func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// clean drops the control characters that XML, and so XLSX, cannot hold
// (all below U+0020 but tab, line feed and carriage return; U+FFFE, U+FFFF).
// They come from copy and paste, never mean anything, and would otherwise
// not survive a trip through XLSX.
func clean(s string) string {
	bad := func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	}
	if strings.IndexFunc(s, bad) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if bad(r) {
			return -1
		}
		return r
	}, s)
}

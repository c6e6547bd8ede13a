package cityhub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Masking of sensitive data items when rows are served (REFERENCE §3). The
// functions work on runes, never panic, and fail closed: a value they cannot
// make sense of is masked more, not less. Surrounding white space is
// removed; an empty value stays empty.

// Mask rules, as RowQuery.Masks and grants name them. A rule "keep:F:L"
// keeps the first F and last L characters (MaskKeep).
const (
	MaskRuleNone      = ""
	MaskRuleAll       = "all"
	MaskRuleCitizenID = "citizen_id"
	MaskRuleMobile    = "mobile"
	MaskRuleName      = "name"
	MaskRuleAddress   = "address"
)

// MaskRules lists the fixed rules with labels, for forms; "keep:F:L" rules
// are written out.
var MaskRules = []Term{
	{MaskRuleNone, "不脱敏", "none"},
	{MaskRuleAll, "全部遮蔽", "mask everything"},
	{MaskRuleCitizenID, "身份证号", "citizen ID: keep first 6 and last 4"},
	{MaskRuleMobile, "手机号", "mobile: keep first 3 and last 4"},
	{MaskRuleName, "姓名", "name: keep first (and last) character"},
	{MaskRuleAddress, "地址", "address: keep down to the district or county"},
}

// maskAllText replaces a whole value; it is fixed so as not to reveal the
// value's length.
const maskAllText = "****"

// maxKeep bounds the F and L of keep rules.
const maxKeep = 1000

// MaskKeep keeps the first and last characters (runes) of s and replaces
// each one between with *. Negative counts are 0. When nothing would be
// left to mask, every character is masked: a mask never reveals a whole
// value.
func MaskKeep(s string, first, last int) string {
	s = trimValue(s)
	if s == "" {
		return ""
	}
	first, last = max(first, 0), max(last, 0)
	n := utf8.RuneCountInString(s)
	if first >= n || last >= n || first+last >= n {
		return strings.Repeat("*", n)
	}
	var b strings.Builder
	b.Grow(len(s))
	k := 0
	for _, r := range s {
		if k < first || k >= n-last {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		k++
	}
	return b.String()
}

// MaskAll masks a whole value with a fixed "****" that does not reveal its
// length; an empty value stays empty.
func MaskAll(s string) string {
	if trimValue(s) == "" {
		return ""
	}
	return maskAllText
}

// MaskCitizenID keeps the first 6 (the division of issue) and the last 4
// characters: 330203********123X.
func MaskCitizenID(s string) string { return MaskKeep(s, 6, 4) }

// MaskMobile keeps the first 3 and last 4 digits of a mobile number:
// 138****5678. A number in another form (+86 138-1234-5678) is normalized
// first; anything that is not a mobile number gets MaskKeep(s, 3, 4).
func MaskMobile(s string) string {
	if m, err := ValidateMobile(s); err == nil {
		return m[:3] + "****" + m[7:]
	}
	return MaskKeep(s, 3, 4)
}

// MaskName masks a person's name: one character → *, two → 张*, three or
// more → the first and last kept, the middle masked: 张*三, 欧**娜. Compound
// surnames (欧阳, 司马) are not recognized, so only their first character
// shows; that reveals less, not more.
func MaskName(s string) string {
	s = trimValue(s)
	switch utf8.RuneCountInString(s) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return MaskKeep(s, 1, 0)
	}
	return MaskKeep(s, 1, 1)
}

// MaskAddress keeps the administrative part of a Chinese address down to
// the district or county (…省…市…区/县/旗/市) and replaces the rest with a
// fixed "****": 浙江省宁波市海曙区中山西路138号 → 浙江省宁波市海曙区****.
// Without a recognizable administrative prefix the whole address is
// masked. The prefix is found by the level suffixes; a part that contains
// digits, Latin letters or street words (路, 街, 号, 村, …) ends it, so a
// street is never kept by mistake, at the price of masking some district
// names that contain those characters (路桥区).
func MaskAddress(s string) string {
	s = trimValue(s)
	if s == "" {
		return ""
	}
	keep := addressPrefix(s)
	if keep == len(s) {
		return s
	}
	return s[:keep] + maskAllText
}

// addressPrefix returns the length in bytes of the administrative prefix
// of address s: at most three parts (province, city, county), stopping
// after a county-level part.
func addressPrefix(s string) int {
	end, i := 0, 0
	for part := 0; part < 3; part++ {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if strings.HasPrefix(s[i:], "\u3000") {
			i += 3
		}
		stop := addressPart(s[i:])
		if stop == 0 {
			break
		}
		name := s[i : i+stop]
		i += stop
		end = i
		switch {
		case strings.HasSuffix(name, "自治区"), strings.HasSuffix(name, "特别行政区"), strings.HasSuffix(name, "地区"):
			// province or prefecture level: go on
		case strings.HasSuffix(name, "区"), strings.HasSuffix(name, "县"), strings.HasSuffix(name, "旗"):
			return end // county level
		}
	}
	return end
}

// addressPart returns the length of the administrative part that s starts
// with, 0 when it does not start with one: up to 16 characters ending in a
// level suffix (省 市 区 县 旗 州 盟), runs of suffixes included (广州市,
// 通州区), without digits, Latin letters, punctuation or street words.
func addressPart(s string) int {
	n, found, prev := 0, 0, rune(0)
	for i := 0; i < len(s) && n < 16; {
		r, sz := utf8.DecodeRuneInString(s[i:])
		if r < utf8.RuneSelf || r == utf8.RuneError || strings.ContainsRune(addressStops, r) || r >= '０' && r <= '９' {
			break
		}
		i += sz
		n++
		if found > 0 && !(prev == '州' && strings.ContainsRune("市区县", r)) {
			break // the part ended at the previous suffix
		}
		if strings.ContainsRune("省市区县旗州盟", r) && n > 1 {
			found = i // 广州 may go on to 广州市, 通州 to 通州区
		}
		prev = r
	}
	if found > 0 && (strings.HasSuffix(s[:found], "小区") || strings.HasSuffix(s[:found], "社区") ||
		strings.HasSuffix(s[:found], "校区") || strings.HasSuffix(s[:found], "片区") || strings.HasSuffix(s[:found], "街区")) {
		return 0 // a residential compound or campus, not a division
	}
	return found
}

// addressStops are characters that do not occur in the administrative part
// of an address but do in what follows it.
const addressStops = "路街号弄巷楼室幢栋座村组苑院园（），、·—－＃"

// Mask applies a mask rule to s: "" (none), "all", "citizen_id", "mobile",
// "name", "address" or "keep:F:L". An unknown or malformed rule masks the
// whole value (fail closed); check rules with ValidMaskRule when they are
// configured. For many values, MaskFunc parses the rule once.
func Mask(rule, s string) string {
	switch rule {
	case MaskRuleNone:
		return s
	case MaskRuleCitizenID:
		return MaskCitizenID(s)
	case MaskRuleMobile:
		return MaskMobile(s)
	case MaskRuleName:
		return MaskName(s)
	case MaskRuleAddress:
		return MaskAddress(s)
	}
	if first, last, err := parseKeep(rule); err == nil {
		return MaskKeep(s, first, last)
	}
	return MaskAll(s)
}

// MaskFunc returns the function of a mask rule, or an error when the rule
// is not valid.
func MaskFunc(rule string) (func(string) string, error) {
	switch rule {
	case MaskRuleNone:
		return func(s string) string { return s }, nil
	case MaskRuleAll:
		return MaskAll, nil
	case MaskRuleCitizenID:
		return MaskCitizenID, nil
	case MaskRuleMobile:
		return MaskMobile, nil
	case MaskRuleName:
		return MaskName, nil
	case MaskRuleAddress:
		return MaskAddress, nil
	}
	first, last, err := parseKeep(rule)
	if err != nil {
		return nil, err
	}
	return func(s string) string { return MaskKeep(s, first, last) }, nil
}

// ValidMaskRule reports whether rule is a mask rule.
func ValidMaskRule(rule string) error {
	_, err := MaskFunc(rule)
	return err
}

// parseKeep parses "keep:F:L".
func parseKeep(rule string) (first, last int, err error) {
	rest, ok := strings.CutPrefix(rule, "keep:")
	if !ok {
		return 0, 0, fmt.Errorf("unknown mask rule %q (none, all, citizen_id, mobile, name, address or keep:F:L)", rule)
	}
	f, l, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, 0, errors.New(`a keep rule is "keep:F:L", e.g. keep:3:4`)
	}
	first, err1 := strconv.Atoi(f)
	last, err2 := strconv.Atoi(l)
	if err1 != nil || err2 != nil || first < 0 || last < 0 || first > maxKeep || last > maxKeep || f[0] == '+' || l[0] == '+' {
		return 0, 0, fmt.Errorf(`a keep rule is "keep:F:L" with F and L from 0 to %d`, maxKeep)
	}
	if first == 0 && last == 0 {
		return 0, 0, errors.New(`"keep:0:0" masks everything; use "all", which hides the length too`)
	}
	return first, last, nil
}

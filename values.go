package cityhub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Cell values: parsing, validation and normalization of what departments
// load into the tables behind catalog entries. Everything here runs on each
// cell of loads of tens of millions of rows, so the parsers are hand-written
// scanners (no regexp) that do not allocate when the value is valid and
// already in its normal form; errors may allocate.
//
// Reasons are short English phrases meant for a field error or a rejected-row
// report, such as "check digit is 3, expected X".
//
// Full-width digits (０-９), common in Chinese spreadsheets, are accepted
// wherever digits are and normalized to ASCII.

// ChinaZone is the platform's time zone, China Standard Time (UTC+08:00, no
// daylight saving). It is a fixed zone, so nothing depends on a tz database.
var ChinaZone = time.FixedZone("CST", 8*60*60)

// Sentinel errors a caller can tell apart with errors.Is.
var (
	// ErrFirstGenerationID: a 15-digit first-generation citizen ID. They
	// are rejected; UpgradeCitizenID converts them to 18 digits.
	ErrFirstGenerationID = errors.New("15-digit first-generation ID; convert to 18")
	// ErrUnknownDivision: a well-formed division code of a real province
	// that is not in the shipped table. Whether that is acceptable is the
	// caller's decision (the shipped table is not the whole country).
	ErrUnknownDivision = errors.New("unknown division code")
)

// trimValue removes surrounding white space: ASCII space and controls
// \t\n\v\f\r, no-break space U+00A0, ideographic space U+3000 and a BOM.
func trimValue(s string) string {
left:
	for len(s) > 0 {
		switch c := s[0]; {
		case c == ' ' || c >= '\t' && c <= '\r':
			s = s[1:]
		case c == 0xC2 && len(s) > 1 && s[1] == 0xA0:
			s = s[2:]
		case c == 0xE3 && strings.HasPrefix(s, "\u3000"), c == 0xEF && strings.HasPrefix(s, "\uFEFF"):
			s = s[3:]
		default:
			break left
		}
	}
	for n := len(s); n > 0; n = len(s) {
		switch c := s[n-1]; {
		case c == ' ' || c >= '\t' && c <= '\r':
			s = s[:n-1]
		case c == 0xA0 && n > 1 && s[n-2] == 0xC2:
			s = s[:n-2]
		case c == 0x80 && strings.HasSuffix(s, "\u3000"), c == 0xBF && strings.HasSuffix(s, "\uFEFF"):
			s = s[:n-3]
		default:
			return s
		}
	}
	return s
}

// digitAt returns the value of the ASCII or full-width digit at s[i] and
// its size in bytes, or -1, 0. i must be inside s.
func digitAt(s string, i int) (int, int) {
	if c := s[i] - '0'; c <= 9 {
		return int(c), 1
	}
	// U+FF10..U+FF19 are EF BC 90..99.
	if s[i] == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2]-0x90 <= 9 {
		return int(s[i+2] - 0x90), 3
	}
	return -1, 0
}

func isDigitAt(s string, i int) bool { d, _ := digitAt(s, i); return d >= 0 }

// readDigits reads a run of digits at s[*i:], at most max of them (more
// make n == max+1 and stop), and returns their value and count.
func readDigits(s string, i *int, max int) (v, n int) {
	for *i < len(s) {
		d, sz := digitAt(s, *i)
		if d < 0 {
			break
		}
		if n == max {
			return v, n + 1
		}
		v = v*10 + d
		n++
		*i += sz
	}
	return v, n
}

// runeAt describes the character at s[i] for an error message.
func runeAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.QuoteRune(r)
}

// provinces marks the province-level codes of GB/T 2260 (the first two
// digits of a division code).
var provinces = func() (p [100]bool) {
	for _, r := range [][2]int{{11, 15}, {21, 23}, {31, 37}, {41, 46}, {50, 54}, {61, 65}, {71, 71}, {81, 82}} {
		for c := r[0]; c <= r[1]; c++ {
			p[c] = true
		}
	}
	return p
}()

func isProvince(d0, d1 byte) bool { return d0-'0' <= 9 && d1-'0' <= 9 && provinces[(d0-'0')*10+d1-'0'] }

// ---------------------------------------------------------------- citizen ID

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// CitizenIDCheckChar returns the GB 11643 check character of the first 17
// digits of a citizen ID.
func CitizenIDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 digits, got %d characters", utf8.RuneCountInString(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i] - '0'
		if c > 9 {
			return 0, fmt.Errorf("character %d is not a digit", i+1)
		}
		sum += int(c) * idWeights[i]
	}
	return idCheckChars[sum%11], nil
}

// ValidateCitizenID checks an 18-character resident identity card number
// (GB 11643): digits, a real province in the first two, a calendar birth
// date in digits 7–14 between 1900-01-01 and today (China time), and the
// check character, where a lower-case x counts as X.
//
// Only the province part of the address code is checked: divisions are
// merged and renamed, and old IDs keep their abolished codes for life.
// First-generation 15-digit IDs are rejected with ErrFirstGenerationID;
// UpgradeCitizenID converts them. The input is taken as is: trim it and
// convert full-width digits first, or use NormalizeCitizenID.
func ValidateCitizenID(s string) error {
	if len(s) != 18 {
		if len(s) == 15 && isASCIIDigits(s) {
			return ErrFirstGenerationID
		}
		n := utf8.RuneCountInString(s)
		if n == 18 || n == 15 {
			return errors.New("only ASCII digits are allowed (no full-width characters)")
		}
		return fmt.Errorf("must be 18 characters, got %d", n)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i] - '0'
		if c > 9 {
			if s[i] >= utf8.RuneSelf {
				return errors.New("only ASCII digits are allowed (no full-width characters)")
			}
			return fmt.Errorf("character %d %q is not a digit", i+1, s[i])
		}
		sum += int(c) * idWeights[i]
	}
	if !isProvince(s[0], s[1]) {
		return fmt.Errorf("province code %s does not exist", s[:2])
	}
	if err := checkBirthDate(s[6:14]); err != nil {
		return err
	}
	got, want := s[17], idCheckChars[sum%11]
	if got == 'x' {
		got = 'X'
	}
	if got != want {
		if got-'0' > 9 && got != 'X' {
			if got >= utf8.RuneSelf {
				return errors.New("only ASCII digits are allowed (no full-width characters)")
			}
			return fmt.Errorf("character 18 %q must be a digit or X", got)
		}
		return fmt.Errorf("check digit is %c, expected %c", got, want)
	}
	return nil
}

// checkBirthDate checks the 8 ASCII digits of a birth date.
func checkBirthDate(d string) error {
	y := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	m := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	if m < 1 || m > 12 || day < 1 || day > daysIn(y, m) {
		return fmt.Errorf("birth date %s is not a calendar date", d)
	}
	if y < 1900 {
		return fmt.Errorf("birth date %s is before 1900", d)
	}
	ty, tm, td := time.Now().In(ChinaZone).Date()
	if y*10000+m*100+day > ty*10000+int(tm)*100+td {
		return fmt.Errorf("birth date %s is in the future", d)
	}
	return nil
}

// NormalizeCitizenID trims s, converts full-width digits and X and a
// lower-case x, and validates the result with ValidateCitizenID.
func NormalizeCitizenID(s string) (string, error) {
	s = trimValue(s)
	if len(s) == 18 && isASCIIDigits(s[:17]) {
		if s[17] == 'x' {
			s = s[:17] + "X"
		}
		return s, ValidateCitizenID(s)
	}
	if n := utf8.RuneCountInString(s); n != 18 && n != 15 {
		return "", fmt.Errorf("must be 18 characters, got %d", n)
	}
	var buf [18]byte
	n := 0
	for i := 0; i < len(s); n++ {
		d, sz := digitAt(s, i)
		switch {
		case d >= 0:
			buf[n] = byte('0' + d)
		case s[i] == 'x' || s[i] == 'X':
			buf[n], sz = 'X', 1
		case strings.HasPrefix(s[i:], "Ｘ"), strings.HasPrefix(s[i:], "ｘ"):
			buf[n], sz = 'X', 3
		default:
			return "", fmt.Errorf("character %d %s is not a digit", n+1, runeAt(s, i))
		}
		i += sz
	}
	out := string(buf[:n])
	return out, ValidateCitizenID(out)
}

// UpgradeCitizenID converts a 15-digit first-generation ID to 18 digits:
// the century 19 goes before the two-digit birth year and the check
// character is appended. The result is validated.
func UpgradeCitizenID(s string) (string, error) {
	if len(s) != 15 || !isASCIIDigits(s) {
		return "", errors.New("a first-generation ID has 15 digits")
	}
	first17 := s[:6] + "19" + s[6:]
	c, _ := CitizenIDCheckChar(first17)
	id := first17 + string(c)
	return id, ValidateCitizenID(id)
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------- division codes

// ValidateDivisionCode checks a 6-digit GB/T 2260 division code. Codes in
// the shipped table, historic ones included, are valid. A well-formed code
// of a real province that the table lacks returns an error wrapping
// ErrUnknownDivision ("unknown division code 330299"); the caller decides
// whether to accept it.
func ValidateDivisionCode(s string) error {
	if len(s) != 6 || !isASCIIDigits(s) {
		return errors.New("must be 6 digits")
	}
	if !isProvince(s[0], s[1]) {
		return fmt.Errorf("province code %s does not exist", s[:2])
	}
	if _, ok := divisions()[s]; ok {
		return nil
	}
	return fmt.Errorf("%w %s", ErrUnknownDivision, s)
}

// ----------------------------------------------------------- phone numbers

// phoneDigits collects the digits of a phone number written with spaces,
// dashes, dots or parentheses, after an optional + or 00 country prefix.
// It stops at an extension marker, returning the rest from there.
type phoneDigits struct {
	d      [24]byte
	n      int
	groups [8]int // digits per group
	ng     int
	plus   bool   // written with + or 00
	rest   string // from the first character that is not part of the number
}

func (p *phoneDigits) scan(s string) error {
	i := 0
	inGroup := false
	for i < len(s) {
		if d, sz := digitAt(s, i); d >= 0 {
			if p.n == len(p.d) {
				return errors.New("too many digits for a phone number")
			}
			if !inGroup {
				if p.ng == len(p.groups) {
					return errors.New("too many groups of digits")
				}
				p.ng++
				inGroup = true
			}
			p.d[p.n] = byte('0' + d)
			p.n++
			p.groups[p.ng-1]++
			i += sz
			continue
		}
		switch c := s[i]; c {
		case ' ', '-', '(', ')', '.':
			inGroup = false
			i++
			continue
		case '+':
			if p.n == 0 && !p.plus {
				p.plus = true
				i++
				continue
			}
		}
		r, sz := utf8.DecodeRuneInString(s[i:])
		if r == '＋' && p.n == 0 && !p.plus {
			p.plus = true
			i += sz
			continue
		}
		if r == '（' || r == '）' || r == '－' || r == '\u3000' || r == '\u00a0' {
			inGroup = false
			i += sz
			continue
		}
		p.rest = s[i:]
		break
	}
	if !p.plus && p.n >= 2 && p.d[0] == '0' && p.d[1] == '0' {
		p.plus = true // 00 international prefix
		p.drop(2)
	}
	if p.plus {
		if p.n < 2 || p.d[0] != '8' || p.d[1] != '6' {
			return errors.New("only mainland China numbers (+86) are accepted")
		}
		p.drop(2)
	}
	return nil
}

// drop removes the first k digits (k within the first group).
func (p *phoneDigits) drop(k int) {
	copy(p.d[:], p.d[k:p.n])
	p.n -= k
	p.groups[0] -= k
	if p.groups[0] <= 0 {
		p.groups[0] = 0 // the prefix was its own group; remove it
		copy(p.groups[:], p.groups[1:p.ng])
		p.ng--
	}
}

// mobile returns the 11 digits of a mainland mobile number.
func (p *phoneDigits) mobile() (string, error) {
	n := p.n
	if !p.plus && n == 13 && p.d[0] == '8' && p.d[1] == '6' && p.d[2] == '1' {
		p.drop(2) // 86 without +
		n = p.n
	}
	if n != 11 {
		return "", fmt.Errorf("a mobile number has 11 digits, got %d", n)
	}
	if p.d[0] != '1' || p.d[1] < '3' {
		return "", errors.New("a mobile number starts with 13 to 19")
	}
	return string(p.d[:11]), nil
}

// ValidateMobile checks a mainland China mobile number: 11 digits starting
// with 13 to 19, optionally after +86, 0086 or 86, and written with spaces
// or dashes ("+86 138-1234-5678"). It returns the 11 digits.
func ValidateMobile(s string) (string, error) {
	s = trimValue(s)
	if len(s) == 11 && isASCIIDigits(s) {
		if s[0] != '1' || s[1] < '3' {
			return "", errors.New("a mobile number starts with 13 to 19")
		}
		return s, nil
	}
	var p phoneDigits
	if err := p.scan(s); err != nil {
		return "", err
	}
	if p.rest != "" {
		return "", fmt.Errorf("unexpected %s in a mobile number", runeAt(p.rest, 0))
	}
	if p.n == 0 {
		return "", errors.New("not a mobile number")
	}
	return p.mobile()
}

// extension markers that may follow a landline number.
var extMarkers = []string{"转", "分机", "ext.", "ext", "EXT.", "EXT", "Ext.", "Ext", "x", "X", "#"}

// ValidatePhone checks a phone number and returns its normal form:
//
//   - landlines with their area code: 0574-87654321, 0574 8765 4321,
//     (0574)87654321, 057487654321, +86 574 8765 4321 → "0574-87654321";
//     010 and 020–029 have 3-digit area codes, the rest 4; the local number
//     has 7 or 8 digits and starts with 2–9. An extension ("-123", "转123",
//     " ext 123", "x123", "#123", 1–6 digits) is kept: "0574-87654321-123".
//     A local number without area code is rejected (it is ambiguous).
//   - mobiles, as ValidateMobile: "13812345678".
//   - service numbers: 400 and 800 numbers → "400-123-4567"; 95xxx and
//     96xxx (5 to 8 digits) and the public hotlines 110, 112, 114, 119, 120,
//     122 and 12xxx (12345, 12315, …) → their digits.
func ValidatePhone(s string) (string, error) {
	s = trimValue(s)
	if len(s) == 11 && s[0] == '1' && isASCIIDigits(s) {
		return ValidateMobile(s)
	}
	var p phoneDigits
	if err := p.scan(s); err != nil {
		return "", err
	}
	ext := ""
	if p.rest != "" {
		rest := p.rest
		for _, m := range extMarkers {
			if strings.HasPrefix(rest, m) {
				rest = trimValue(rest[len(m):])
				break
			}
		}
		if rest == p.rest || rest == "" {
			return "", fmt.Errorf("unexpected %s in a phone number", runeAt(p.rest, 0))
		}
		if len(rest) > 6 || !isASCIIDigits(rest) {
			return "", errors.New("an extension has 1 to 6 digits")
		}
		ext = rest
	}
	if p.n < 3 {
		return "", errors.New("not a phone number")
	}
	if !p.plus && p.n == 13 && p.d[0] == '8' && p.d[1] == '6' && p.d[2] == '1' {
		p.drop(2) // a mobile after 86 without +
	}
	if p.plus && p.d[0] != '0' && !(p.d[0] == '1' && p.n == 11) {
		// +86 574 8765 4321: the area code loses its 0 abroad.
		if p.n == len(p.d) {
			return "", errors.New("too many digits for a phone number")
		}
		copy(p.d[1:], p.d[:p.n])
		p.d[0] = '0'
		p.n++
		p.groups[0]++
	}
	d := p.d[:p.n]
	service := func() error {
		if ext != "" {
			return errors.New("a service number has no extension")
		}
		return nil
	}
	switch {
	case d[0] == '1' && p.n == 11:
		if ext != "" {
			return "", errors.New("a mobile number has no extension")
		}
		return p.mobile()
	case d[0] == '1':
		if p.n == 3 && (d[1] == '1' && (d[2] == '0' || d[2] == '2' || d[2] == '4' || d[2] == '9') || d[1] == '2' && (d[2] == '0' || d[2] == '2')) ||
			p.n == 5 && d[1] == '2' {
			return string(d), service()
		}
		return "", fmt.Errorf("a mobile number has 11 digits, got %d", p.n)
	case d[0] == '9' && (d[1] == '5' || d[1] == '6') && p.n >= 5 && p.n <= 8:
		return string(d), service()
	case (d[0] == '4' || d[0] == '8') && p.n == 10 && d[1] == '0' && d[2] == '0':
		if err := service(); err != nil {
			return "", err
		}
		var b [12]byte
		copy(b[:3], d[:3])
		b[3] = '-'
		copy(b[4:7], d[3:6])
		b[7] = '-'
		copy(b[8:], d[6:10])
		return string(b[:]), nil
	case d[0] != '0':
		if p.n == 7 || p.n == 8 {
			return "", errors.New("a landline needs its area code, e.g. 0574-87654321")
		}
		return "", errors.New("not a phone number")
	}
	// Landline.
	area := 4
	switch {
	case d[1] == '1' && d[2] == '0', d[1] == '2':
		area = 3
	case d[1] == '0', d[1] == '1':
		return "", fmt.Errorf("area code %s does not exist", string(d[:3]))
	}
	local := p.n - area
	if ext == "" && p.ng > 1 {
		// 0574-87654321-123: the last group is the extension when the
		// rest is too long for a local number or is the local number.
		last := p.groups[p.ng-1]
		if rest := local - last; last <= 6 && (rest == 7 || rest == 8) && (local > 8 || p.groups[p.ng-2] == rest) {
			ext = string(d[p.n-last:])
			local = rest
		}
	}
	if local != 7 && local != 8 {
		return "", fmt.Errorf("a local number has 7 or 8 digits, got %d", max(local, 0))
	}
	if d[area] < '2' {
		return "", errors.New("a local number starts with 2 to 9")
	}
	out := make([]byte, 0, 24)
	out = append(out, d[:area]...)
	out = append(out, '-')
	out = append(out, d[area:area+local]...)
	if ext != "" {
		out = append(out, '-')
		out = append(out, ext...)
	}
	if string(out) == s {
		return s, nil
	}
	return string(out), nil
}

// ------------------------------------------------------------------ numbers

// normalizeNumber checks a decimal number and returns it in a canonical
// form that strconv.ParseFloat accepts: [-]digits[.digits][e[-]digits],
// without thousands separators, leading zeros, a + sign or a negative
// zero. The fraction keeps its trailing zeros. maxFrac limits the decimal
// places (-1: no limit); allowExp allows an exponent. s must be trimmed.
//
// Thousands separators are , or a space (also no-break and thin spaces),
// one kind per number, in groups of three ("1,234,567.89", "1 234"). The
// full-width comma ， is rejected as ambiguous, and so is a comma that
// does not separate groups of three ("1,5"). Percent signs are rejected.
func normalizeNumber(s string, allowExp bool, maxFrac int) (string, error) {
	var buf [48]byte
	out, err := appendNumber(buf[:0], s, allowExp, maxFrac)
	switch {
	case err != nil:
		return "", err
	case string(out) == s:
		return s, nil
	}
	return string(out), nil
}

// appendNumber appends the canonical form of number s to out; see
// normalizeNumber.
func appendNumber(out []byte, s string, allowExp bool, maxFrac int) ([]byte, error) {
	if s == "" {
		return nil, errors.New("not a number")
	}
	var buf [40]byte
	dig := buf[:0] // integer then fraction digits
	i, neg := 0, false
	switch {
	case s[0] == '+':
		i = 1
	case s[0] == '-':
		i, neg = 1, true
	case strings.HasPrefix(s, "＋"):
		i = 3
	case strings.HasPrefix(s, "－"), strings.HasPrefix(s, "−"):
		i, neg = 3, true
	}
	var sep string
	group, first := 0, true
	for i < len(s) {
		if d, sz := digitAt(s, i); d >= 0 {
			dig = append(dig, byte('0'+d))
			group++
			i += sz
			continue
		}
		var sz int
		switch c := s[i]; {
		case c == ',' || c == ' ':
			sz = 1
		case c == 0xC2 && strings.HasPrefix(s[i:], "\u00a0"):
			sz = 2
		case c == 0xE2 && (strings.HasPrefix(s[i:], "\u202f") || strings.HasPrefix(s[i:], "\u2009")):
			sz = 3
		}
		if sz == 0 {
			break
		}
		switch {
		case group == 0:
			return nil, errors.New("misplaced thousands separator")
		case sep == "":
			sep = s[i : i+sz]
			if group > 3 || dig[0] == '0' {
				return nil, errors.New("thousands separators must separate groups of 3 digits")
			}
		case s[i:i+sz] != sep:
			return nil, errors.New("mixed thousands separators")
		case group != 3:
			return nil, errors.New("thousands separators must separate groups of 3 digits")
		}
		first = false
		group = 0
		i += sz
	}
	if !first && group != 3 {
		return nil, errors.New("thousands separators must separate groups of 3 digits")
	}
	intLen := len(dig)
	hasPoint := false
	if i < len(s) && (s[i] == '.' || strings.HasPrefix(s[i:], "．")) {
		hasPoint = true
		if s[i] == '.' {
			i++
		} else {
			i += 3
		}
		for i < len(s) {
			d, sz := digitAt(s, i)
			if d < 0 {
				break
			}
			dig = append(dig, byte('0'+d))
			i += sz
		}
	}
	if len(dig) == 0 {
		return nil, errors.New("not a number")
	}
	fracLen := len(dig) - intLen
	expStart, expEnd, expNeg := 0, 0, false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		if !allowExp {
			return nil, errors.New("exponents are not allowed")
		}
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		expStart = len(dig)
		nd := 0
		for i < len(s) {
			d, sz := digitAt(s, i)
			if d < 0 {
				break
			}
			nd++
			i += sz
			if d != 0 || len(dig) > expStart { // no leading zeros
				dig = append(dig, byte('0'+d))
			}
		}
		if nd == 0 {
			return nil, errors.New("exponent without digits")
		}
		if len(dig) == expStart {
			dig = append(dig, '0')
		}
		expEnd = len(dig)
	}
	if i < len(s) {
		switch {
		case s[i] == '%':
			return nil, errors.New("percent signs are not allowed; give the number itself")
		case strings.HasPrefix(s[i:], "，"):
			return nil, errors.New("the full-width comma ， is ambiguous; use , for thousands and . for decimals")
		case strings.HasPrefix(s[i:], "％"):
			return nil, errors.New("percent signs are not allowed; give the number itself")
		case hasPoint && (s[i] == ',' || s[i] == ' '):
			return nil, errors.New("thousands separators are not allowed after the decimal point")
		case s[i] == '.' || strings.HasPrefix(s[i:], "．"):
			return nil, errors.New("more than one decimal point")
		}
		return nil, fmt.Errorf("unexpected %s in a number", runeAt(s, i))
	}
	if maxFrac >= 0 && fracLen > maxFrac {
		return nil, fmt.Errorf("at most %d decimal places", maxFrac)
	}

	// Canonical form.
	intDigits := dig[:intLen]
	for len(intDigits) > 1 && intDigits[0] == '0' {
		intDigits = intDigits[1:]
	}
	frac := dig[intLen : intLen+fracLen]
	if neg && !allZero(dig[:intLen+fracLen]) {
		out = append(out, '-')
	}
	if len(intDigits) == 0 {
		out = append(out, '0')
	}
	out = append(out, intDigits...)
	if len(frac) > 0 {
		out = append(out, '.')
		out = append(out, frac...)
	}
	if expEnd > 0 {
		out = append(out, 'e')
		if expNeg && !(expEnd-expStart == 1 && dig[expStart] == '0') {
			out = append(out, '-')
		}
		out = append(out, dig[expStart:expEnd]...)
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != '0' {
			return false
		}
	}
	return true
}

// ParseNumber parses a decimal number as written in Chinese spreadsheets:
// surrounding space, a leading + or -, thousands separators , or space in
// groups of three ("1,234,567.89", "1 234"), full-width digits, an
// exponent ("1.5e3"). Percent signs, currency signs, the full-width comma
// and comma decimals ("1,5") are rejected, as are NaN and infinities.
func ParseNumber(s string) (float64, error) {
	var buf [48]byte
	n, err := appendNumber(buf[:0], trimValue(s), true, -1)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, errors.New("number out of range")
	}
	return f, nil
}

// ParseInteger parses a whole number like ParseNumber ("1,234"); a
// fraction of zeros is allowed ("12.00", as spreadsheets export), any
// other fraction and exponents are not.
func ParseInteger(s string) (int64, error) {
	var buf [48]byte
	n, err := appendNumber(buf[:0], trimValue(s), false, -1)
	if err != nil {
		return 0, err
	}
	for p, c := range n {
		if c == '.' {
			if !allZero(n[p+1:]) {
				return 0, errors.New("not a whole number")
			}
			n = n[:p]
			break
		}
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, errors.New("number out of range")
	}
	return v, nil
}

// ParseBool parses a logical value: 是/否, 有/无, 真/假, true/false, t/f,
// yes/no, y/n, on/off (ASCII in any case), 1/0.
func ParseBool(s string) (bool, error) {
	s = trimValue(s)
	switch s {
	case "1", "是", "有", "真":
		return true, nil
	case "0", "否", "无", "假":
		return false, nil
	}
	for _, t := range [...]string{"true", "t", "yes", "y", "on"} {
		if strings.EqualFold(s, t) {
			return true, nil
		}
	}
	for _, f := range [...]string{"false", "f", "no", "n", "off"} {
		if strings.EqualFold(s, f) {
			return false, nil
		}
	}
	return false, errors.New("not a logical value (是/否, true/false, 1/0)")
}

// -------------------------------------------------------- dates and times

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dateTime is what the date scanner found.
type dateTime struct {
	y, mo, d         int
	hasTime          bool
	h, mi, sec, nsec int
	hasZone          bool
	offset           int // seconds east of UTC
}

var errNotDate = errors.New("not a date (expected e.g. 2026-01-02)")

// scanDateTime parses s (trimmed) into its parts, checking ranges.
func scanDateTime(s string) (dt dateTime, err error) {
	if s == "" {
		return dt, errors.New("empty date")
	}
	i := 0
	v, n := readDigits(s, &i, 8)
	chinese, dayMark := false, false
	switch n {
	case 8: // 20260102
		dt.y, dt.mo, dt.d = v/10000, v/100%100, v%100
	case 4:
		dt.y = v
		var sep string
		switch {
		case i == len(s):
			return dt, errNotDate
		case s[i] == '-' || s[i] == '/' || s[i] == '.':
			sep = s[i : i+1]
		case strings.HasPrefix(s[i:], "年"):
			sep, chinese = "年", true
		default:
			return dt, errNotDate
		}
		i += len(sep)
		if dt.mo, n = readDigits(s, &i, 2); n == 0 || n > 2 {
			return dt, errNotDate
		}
		if chinese {
			sep = "月"
		}
		if !strings.HasPrefix(s[i:], sep) {
			if i < len(s) && (s[i] == '-' || s[i] == '/' || s[i] == '.') {
				return dt, errors.New("mixed date separators")
			}
			return dt, errNotDate
		}
		i += len(sep)
		if dt.d, n = readDigits(s, &i, 2); n == 0 || n > 2 {
			return dt, errNotDate
		}
		if chinese && (strings.HasPrefix(s[i:], "日") || strings.HasPrefix(s[i:], "号")) {
			i += 3
			dayMark = true
		}
	default:
		return dt, errNotDate
	}
	if dt.mo < 1 || dt.mo > 12 {
		return dt, fmt.Errorf("month %d out of range", dt.mo)
	}
	if dt.d < 1 || dt.d > daysIn(dt.y, dt.mo) {
		return dt, fmt.Errorf("day %d out of range for %04d-%02d", dt.d, dt.y, dt.mo)
	}
	if i == len(s) {
		return dt, nil
	}

	// Time of day.
	switch {
	case s[i] == 'T':
		i++
	case s[i] == ' ':
		for i < len(s) && s[i] == ' ' {
			i++
		}
	case strings.HasPrefix(s[i:], "\u3000"):
		i += 3
	case dayMark && isDigitAt(s, i): // 2026年1月2日15时04分
	default:
		return dt, fmt.Errorf("unexpected %s after the date", runeAt(s, i))
	}
	dt.hasTime = true
	if dt.h, n = readDigits(s, &i, 2); n == 0 || n > 2 {
		return dt, errors.New("not a time (expected e.g. 15:04 or 15:04:05)")
	}
	switch {
	case i < len(s) && s[i] == ':':
		i++
		if dt.mi, n = readDigits(s, &i, 2); n != 2 {
			return dt, errors.New("minutes need 2 digits")
		}
		if i < len(s) && s[i] == ':' {
			i++
			if dt.sec, n = readDigits(s, &i, 2); n != 2 {
				return dt, errors.New("seconds need 2 digits")
			}
			if i < len(s) && s[i] == '.' {
				i++
				f, n := readDigits(s, &i, 9)
				if n == 0 || n > 9 {
					return dt, errors.New("fractional seconds need 1 to 9 digits")
				}
				for k := n; k < 9; k++ {
					f *= 10
				}
				dt.nsec = f
			}
		}
	case strings.HasPrefix(s[i:], "时"), strings.HasPrefix(s[i:], "点"):
		i += 3
		if dt.mi, n = readDigits(s, &i, 2); n > 2 {
			return dt, errors.New("minutes need 1 or 2 digits")
		}
		if n > 0 && strings.HasPrefix(s[i:], "分") {
			i += 3
			if dt.sec, n = readDigits(s, &i, 2); n > 2 {
				return dt, errors.New("seconds need 1 or 2 digits")
			}
			if n > 0 && strings.HasPrefix(s[i:], "秒") {
				i += 3
			}
		}
	default:
		return dt, errors.New("not a time (expected e.g. 15:04 or 15:04:05)")
	}
	if dt.h > 23 || dt.mi > 59 || dt.sec > 59 {
		return dt, fmt.Errorf("time %02d:%02d:%02d out of range", dt.h, dt.mi, dt.sec)
	}

	// Zone.
	j := i
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j < len(s) {
		switch s[j] {
		case 'Z', 'z':
			dt.hasZone = true
			i = j + 1
		case '+', '-':
			sign := 1
			if s[j] == '-' {
				sign = -1
			}
			j++
			oh, n := readDigits(s, &j, 4)
			om := 0
			switch n {
			case 2:
				if j < len(s) && s[j] == ':' {
					j++
					if om, n = readDigits(s, &j, 2); n != 2 {
						return dt, errors.New("bad time zone offset (expected e.g. +08:00)")
					}
				}
			case 4:
				oh, om = oh/100, oh%100
			default:
				return dt, errors.New("bad time zone offset (expected e.g. +08:00)")
			}
			if oh > 23 || om > 59 {
				return dt, errors.New("time zone offset out of range")
			}
			dt.hasZone, dt.offset = true, sign*(oh*3600+om*60)
			i = j
		}
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) {
		return dt, fmt.Errorf("unexpected %s after the time", runeAt(s, i))
	}
	return dt, nil
}

// time returns the instant in ChinaZone; its year must stay within 0–9999
// there (an offset can move the first and last days over the edge).
func (dt *dateTime) time() (time.Time, error) {
	t := time.Date(dt.y, time.Month(dt.mo), dt.d, dt.h, dt.mi, dt.sec, dt.nsec, ChinaZone)
	if dt.hasZone && dt.offset != 8*3600 {
		t = t.Add(time.Duration(8*3600-dt.offset) * time.Second)
		if y := t.Year(); y < 0 || y > 9999 {
			return time.Time{}, errors.New("date-time out of range")
		}
	}
	return t, nil
}

// ParseDate parses a calendar date in the common Chinese forms:
// 2026-01-02, 2026/1/2, 2026.01.02, 20260102, 2026年1月2日, 2026年01月02日
// (full-width digits too). A time of midnight without zone, as databases
// export dates ("2026-01-02 00:00:00"), is accepted; any other time is an
// error. The result is midnight in ChinaZone. Spreadsheet serial numbers
// are not dates here: the XLSX reader converts them.
func ParseDate(s string) (time.Time, error) {
	dt, err := scanDateTime(trimValue(s))
	if err != nil {
		return time.Time{}, err
	}
	if dt.hasTime && (dt.h != 0 || dt.mi != 0 || dt.sec != 0 || dt.nsec != 0 || dt.hasZone && dt.offset != 8*3600) {
		return time.Time{}, errors.New("has a time of day; a date is expected")
	}
	return time.Date(dt.y, time.Month(dt.mo), dt.d, 0, 0, 0, 0, ChinaZone), nil
}

// ParseDateTime parses a date with an optional time of day: the forms of
// ParseDate followed by "15:04", "15:04:05", "15:04:05.123" after a space
// or T, or by 15时04分[05秒] (also 点) after a Chinese date, then optionally
// Z or an offset (+08:00, +0800, +08). Without offset the time is China
// time; without time it is midnight. The result is in ChinaZone.
func ParseDateTime(s string) (time.Time, error) {
	dt, err := scanDateTime(trimValue(s))
	if err != nil {
		return time.Time{}, err
	}
	return dt.time()
}

// ---------------------------------------------------------------- validators

// A ValueValidator checks a trimmed value and returns its normal form.
type ValueValidator func(s string) (string, error)

// Validators are the shared validators by name, for data items whose type
// alone does not say enough. Add to it only during initialization.
//
//   - citizen_id: NormalizeCitizenID (18 digits; 15-digit IDs rejected)
//   - credit_code: ValidateCreditCode, after upper-casing
//   - division: ValidateDivisionCode; unknown codes are rejected
//   - division_format: ValidateDivisionCode, but a well-formed code of a
//     real province that the shipped table lacks is accepted
//   - mobile: ValidateMobile
//   - phone: ValidatePhone
var Validators = map[string]ValueValidator{
	"citizen_id": NormalizeCitizenID,
	"credit_code": func(s string) (string, error) {
		if hasLower(s) {
			s = strings.ToUpper(s)
		}
		return s, ValidateCreditCode(s)
	},
	"division": func(s string) (string, error) { return s, ValidateDivisionCode(s) },
	"division_format": func(s string) (string, error) {
		if err := ValidateDivisionCode(s); err != nil && !errors.Is(err, ErrUnknownDivision) {
			return s, err
		}
		return s, nil
	},
	"mobile": ValidateMobile,
	"phone":  ValidatePhone,
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i]-'a' < 26 {
			return true
		}
	}
	return false
}

// ValidateWith applies the named validator to raw (trimmed first) and
// returns the normal form.
func ValidateWith(name, raw string) (string, error) {
	v, ok := Validators[name]
	if !ok {
		return "", fmt.Errorf("unknown validator %q", name)
	}
	return v(trimValue(raw))
}

// ValidateValue checks one raw cell value against a data item and returns
// its normal form, or a problem (a short reason) when it is not valid.
// Surrounding white space is removed first; an empty value is "" with the
// problem "required" when the item is required, and no problem otherwise.
//
// By type:
//   - C, M (text) and G, B, I, F (general, binary, image, file, held as
//     text such as a path or base64): valid UTF-8 without NUL, at most
//     Length characters (runes) when Length > 0.
//   - N: a number as ParseNumber, normalized to plain decimal text without
//     separators ("1,234.50" → "1234.50"; an exponent is kept: "1.5e3").
//   - Y: a currency amount: a number with at most 2 decimal places and no
//     exponent, optionally after ¥ or ￥.
//   - D: a date as ParseDate → "2006-01-02".
//   - T: a date-time as ParseDateTime → RFC 3339 in +08:00.
//   - L: a logical value as ParseBool → "true" or "false".
//
// validator, when not empty, names one of Validators; it runs on the
// type's normal form, and its normal form is the result (before the length
// check). An unknown name is a problem for every value; check names with
// ValidateWith or Validators beforehand.
func ValidateValue(item DataItem, raw, validator string) (normalized, problem string) {
	s := trimValue(raw)
	if s == "" {
		if item.Required {
			return "", "required"
		}
		return "", ""
	}
	text := false
	var err error
	switch item.Type {
	case "C", "M", "G", "B", "I", "F":
		if !utf8.ValidString(s) {
			return "", "not valid UTF-8 text"
		}
		if strings.IndexByte(s, 0) >= 0 {
			return "", "contains a NUL character"
		}
		text = true
	case "N":
		if s, err = normalizeNumber(s, true, -1); err == nil {
			if _, e := strconv.ParseFloat(s, 64); e != nil {
				err = errors.New("number out of range")
			}
		}
	case "Y":
		if strings.HasPrefix(s, "¥") {
			s = trimValue(s[len("¥"):])
		} else if strings.HasPrefix(s, "￥") {
			s = trimValue(s[len("￥"):])
		}
		s, err = normalizeNumber(s, false, 2)
	case "D":
		var dt dateTime
		if dt, err = scanDateTime(s); err == nil {
			if dt.hasTime && (dt.h != 0 || dt.mi != 0 || dt.sec != 0 || dt.nsec != 0 || dt.hasZone && dt.offset != 8*3600) {
				return "", "has a time of day; a date is expected"
			}
			if !(len(s) == 10 && s[4] == '-' && s[7] == '-') {
				var b [16]byte
				s = string(appendDate(b[:0], dt.y, dt.mo, dt.d))
			}
		}
	case "T":
		var dt dateTime
		if dt, err = scanDateTime(s); err == nil {
			var t time.Time
			if t, err = dt.time(); err == nil {
				var b [40]byte
				if out := t.AppendFormat(b[:0], time.RFC3339Nano); string(out) != s {
					s = string(out)
				}
			}
		}
	case "L":
		var v bool
		if v, err = ParseBool(s); err == nil {
			s = strconv.FormatBool(v)
		}
	default:
		return "", fmt.Sprintf("unknown item type %q", item.Type)
	}
	if err != nil {
		return "", err.Error()
	}
	if validator != "" {
		v, ok := Validators[validator]
		if !ok {
			return "", fmt.Sprintf("unknown validator %q", validator)
		}
		if s, err = v(s); err != nil {
			return "", err.Error()
		}
	}
	if text && item.Length > 0 && len(s) > item.Length {
		if n := utf8.RuneCountInString(s); n > item.Length {
			return "", fmt.Sprintf("at most %d characters, got %d", item.Length, n)
		}
	}
	return s, ""
}

func appendDate(b []byte, y, m, d int) []byte {
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// SpreadsheetSafe defuses a CSV cell that a spreadsheet would run as a
// formula (CSV injection) by prefixing an apostrophe; numbers such as -5
// stay as they are.
func SpreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}

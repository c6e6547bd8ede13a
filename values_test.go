package cityhub_test

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// idCheck computes the GB 11643 check character independently of the
// package: weights 2^(17-i) mod 11, check "10X98765432"[sum mod 11].
func idCheck(first17 string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		w := 1
		for k := 0; k < 17-i; k++ {
			w = w * 2 % 11
		}
		sum += int(first17[i]-'0') * w
	}
	return string("10X98765432"[sum%11])
}

// makeID completes 17 digits to a valid citizen ID.
func makeID(first17 string) string { return first17 + idCheck(first17) }

// idEndingIn finds a valid ID with the given 14-digit prefix whose check
// character is want.
func idEndingIn(t testing.TB, prefix14 string, want byte) string {
	for seq := 0; seq < 1000; seq++ {
		first17 := prefix14 + strconv.Itoa(1000 + seq)[1:]
		if id := makeID(first17); id[17] == want {
			return id
		}
	}
	t.Fatalf("no ID with prefix %s ends in %c", prefix14, want)
	return ""
}

func wrongCheck(id string) string {
	for _, c := range "0123456789X" {
		if byte(c) != id[17] {
			return id[:17] + string(c)
		}
	}
	return ""
}

func tomorrow() string {
	return time.Now().In(cityhub.ChinaZone).AddDate(0, 0, 1).Format("20060102")
}

func TestValidateCitizenID(t *testing.T) {
	withX := idEndingIn(t, "33020319900101", 'X')
	valid := makeID("33020319900307123")
	tests := []struct {
		name   string
		id     string
		reason string // part of the error; "" for valid
	}{
		{"GB 11643 example", "11010519491231002X", ""},
		{"Ningbo 海曙区", valid, ""},
		{"check X", withX, ""},
		{"check x lower case", strings.ToLower(withX), ""},
		{"historic division 江东区", makeID("33020419850615001"), ""},
		{"historic division 奉化市", makeID("33028319700101002"), ""},
		{"division not in table, real province", makeID("33029919800101003"), ""},
		{"Hong Kong", makeID("81000019900101001"), ""},
		{"Taiwan", makeID("71000019900101001"), ""},
		{"leap day", makeID("33020320000229001"), ""},
		{"1900-01-01", makeID("33020319000101001"), ""},
		{"born today", makeID("330203" + time.Now().In(cityhub.ChinaZone).Format("20060102") + "001"), ""},
		{"wrong check digit", wrongCheck(valid), "check digit is"},
		{"X expected", withX[:17] + "0", "check digit is 0, expected X"},
		{"province 99", makeID("99020319900101001"), "province code 99"},
		{"province 10", makeID("10020319900101001"), "province code 10"},
		{"province 00", makeID("00020319900101001"), "province code 00"},
		{"February 30", makeID("33020319900230001"), "not a calendar date"},
		{"1900 not a leap year", makeID("33020319000229001"), "not a calendar date"},
		{"month 13", makeID("33020319901301001"), "not a calendar date"},
		{"day 00", makeID("33020319900100001"), "not a calendar date"},
		{"before 1900", makeID("33020318991231001"), "before 1900"},
		{"future", makeID("330203" + tomorrow() + "001"), "in the future"},
		{"letter inside", "3302031990A101123X", "character 11 'A' is not a digit"},
		{"X inside", "33020319900101X234", "character 15 'X' is not a digit"},
		{"bad last character", valid[:17] + "Y", "character 18 'Y' must be a digit or X"},
		{"full-width digit", "３３0203199001011234", "full-width"},
		{"full-width first generation", "３３0203900101123", "full-width"},
		{"first generation", "330203900101123", "15-digit first-generation ID"},
		{"17 digits", valid[:17], "got 17"},
		{"19 digits", valid + "1", "got 19"},
		{"empty", "", "got 0"},
		{"spaces", " " + valid, "got 19"},
		{"chinese", "三三〇二〇三一九九〇〇一〇一", "got 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cityhub.ValidateCitizenID(tt.id)
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("%s: got %v, want valid", tt.id, err)
			case tt.reason != "" && err == nil:
				t.Fatalf("%s: got valid, want an error mentioning %q", tt.id, tt.reason)
			case tt.reason != "" && !strings.Contains(err.Error(), tt.reason):
				t.Fatalf("%s: got %q, want it to mention %q", tt.id, err, tt.reason)
			}
		})
	}
	if err := cityhub.ValidateCitizenID("330203900101123"); !errors.Is(err, cityhub.ErrFirstGenerationID) {
		t.Errorf("15 digits: got %v, want ErrFirstGenerationID", err)
	}
}

func TestCitizenIDCheckChar(t *testing.T) {
	for _, first17 := range []string{"11010519491231002", "33020319900101123", "00000000000000000", "99999999999999999"} {
		got, err := cityhub.CitizenIDCheckChar(first17)
		if err != nil || string(got) != idCheck(first17) {
			t.Errorf("%s: got %q, %v; want %s", first17, got, err, idCheck(first17))
		}
	}
	for _, bad := range []string{"", "1101051949123100", "110105194912310021", "1101051949123100a"} {
		if _, err := cityhub.CitizenIDCheckChar(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestNormalizeCitizenID(t *testing.T) {
	withX := idEndingIn(t, "33020319900101", 'X')
	fullWidth := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		if r == 'X' {
			return 'ｘ'
		}
		return r
	}, withX)
	tests := []struct{ in, want, reason string }{
		{withX, withX, ""},
		{strings.ToLower(withX), withX, ""},
		{"  " + strings.ToLower(withX) + "\u3000", withX, ""},
		{fullWidth, withX, ""},
		{wrongCheck(withX), "", "check digit"},
		{"330203900101123", "", "first-generation"},
		{"３３０２０３９００１０１１２３", "", "first-generation"},
		{"33020319900101123-", "", "character 18 '-'"},
		{"3302031990", "", "got 10"},
	}
	for _, tt := range tests {
		got, err := cityhub.NormalizeCitizenID(tt.in)
		if tt.reason == "" {
			if err != nil || got != tt.want {
				t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%q: got %q, %v; want an error mentioning %q", tt.in, got, err, tt.reason)
		}
	}
}

func TestUpgradeCitizenID(t *testing.T) {
	got, err := cityhub.UpgradeCitizenID("110105491231002")
	if err != nil || got != "11010519491231002X" {
		t.Errorf("got %q, %v; want 11010519491231002X", got, err)
	}
	for _, bad := range []string{"", "11010549123100", "11010549123100a", "110105491331002", "990105491231002"} {
		if got, err := cityhub.UpgradeCitizenID(bad); err == nil {
			t.Errorf("%q: got %q, want an error", bad, got)
		}
	}
}

func TestValidateDivisionCode(t *testing.T) {
	tests := []struct {
		code, reason string
		unknown      bool
	}{
		{"330203", "", false},
		{"330200", "", false},
		{"330000", "", false},
		{"330204", "", false}, // historic 江东区
		{"330283", "", false}, // historic 奉化市
		{"330299", "unknown division code 330299", true},
		{"110105", "unknown division code 110105", true},
		{"990000", "province code 99", false},
		{"000000", "province code 00", false},
		{"33020", "6 digits", false},
		{"3302031", "6 digits", false},
		{"33020a", "6 digits", false},
		{"３３０２０３", "6 digits", false},
		{"", "6 digits", false},
	}
	for _, tt := range tests {
		err := cityhub.ValidateDivisionCode(tt.code)
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("%q: got %v, want valid", tt.code, err)
		case tt.reason != "" && (err == nil || !strings.Contains(err.Error(), tt.reason)):
			t.Errorf("%q: got %v, want an error mentioning %q", tt.code, err, tt.reason)
		case errors.Is(err, cityhub.ErrUnknownDivision) != tt.unknown:
			t.Errorf("%q: errors.Is(%v, ErrUnknownDivision) = %v", tt.code, err, !tt.unknown)
		}
	}
}

// normCase is a normalizer test: want is the normal form, or reason part
// of the error.
type normCase struct{ in, want, reason string }

func checkNorm(t *testing.T, name string, f func(string) (string, error), tests []normCase) {
	t.Helper()
	for _, tt := range tests {
		got, err := f(tt.in)
		if tt.reason == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s(%q): got %q, %v; want %q", name, tt.in, got, err, tt.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s(%q): got %q, %v; want an error mentioning %q", name, tt.in, got, err, tt.reason)
		}
	}
}

func TestValidateMobile(t *testing.T) {
	checkNorm(t, "ValidateMobile", cityhub.ValidateMobile, []normCase{
		{"13812345678", "13812345678", ""},
		{"19912345678", "19912345678", ""},
		{" 138 1234 5678 ", "13812345678", ""},
		{"138-1234-5678", "13812345678", ""},
		{"+86 138 1234 5678", "13812345678", ""},
		{"+8613812345678", "13812345678", ""},
		{"8613812345678", "13812345678", ""},
		{"0086 13812345678", "13812345678", ""},
		{"(+86) 138-1234-5678", "13812345678", ""},
		{"１３８１２３４５６７８", "13812345678", ""},
		{"12812345678", "", "13 to 19"},
		{"10012345678", "", "13 to 19"},
		{"23812345678", "", "13 to 19"},
		{"1381234567", "", "11 digits, got 10"},
		{"138123456789", "", "11 digits, got 12"},
		{"+1 415 555 0100", "", "+86"},
		{"0574-87654321", "", "11 digits"},
		{"138 1234 5678 转 1", "", "unexpected"},
		{"", "", "not a mobile"},
		{"abc", "", "unexpected 'a'"},
	})
}

func TestValidatePhone(t *testing.T) {
	checkNorm(t, "ValidatePhone", cityhub.ValidatePhone, []normCase{
		{"0574-87654321", "0574-87654321", ""},
		{"0574 8765 4321", "0574-87654321", ""},
		{"(0574)87654321", "0574-87654321", ""},
		{"（0574）87654321", "0574-87654321", ""},
		{"057487654321", "0574-87654321", ""},
		{"0574-8765432", "0574-8765432", ""},
		{"010-12345678", "", "starts with 2 to 9"},
		{"010-62345678", "010-62345678", ""},
		{"021 6234 5678", "021-62345678", ""},
		{"+86 574 8765 4321", "0574-87654321", ""},
		{"+86 10 6234 5678", "010-62345678", ""},
		{"+86 0574 87654321", "0574-87654321", ""},
		{"0574-87654321-123", "0574-87654321-123", ""},
		{"0574-87654321转123", "0574-87654321-123", ""},
		{"0574-87654321 转 8001", "0574-87654321-8001", ""},
		{"0574-87654321 ext. 12", "0574-87654321-12", ""},
		{"0574-87654321x12", "0574-87654321-12", ""},
		{"0574-87654321#12", "0574-87654321-12", ""},
		{"0574-87654321分机12", "0574-87654321-12", ""},
		{"0574-87654321转1234567", "", "1 to 6 digits"},
		{"0574-87654321转", "", "unexpected"},
		{"0574-876543210", "", "7 or 8 digits, got 9"},
		{"0574-876543", "", "7 or 8 digits, got 6"},
		{"0574-07654321", "", "starts with 2 to 9"},
		{"0012-87654321", "", "+86"},
		{"0112-87654321", "", "area code 011"},
		{"87654321", "", "area code"},
		{"13812345678", "13812345678", ""},
		{"+86 138-1234-5678", "13812345678", ""},
		{"8613812345678", "13812345678", ""},
		{"13812345678-1", "", "11 digits, got 12"},
		{"13812345678转1", "", "no extension"},
		{"95588", "95588", ""},
		{"96345", "96345", ""},
		{"962345", "962345", ""},
		{"95105588", "95105588", ""},
		{"400-123-4567", "400-123-4567", ""},
		{"4001234567", "400-123-4567", ""},
		{"400 123 4567", "400-123-4567", ""},
		{"800-820-8820", "800-820-8820", ""},
		{"400-123-456", "", "not a phone"},
		{"12345", "12345", ""},
		{"12315", "12315", ""},
		{"110", "110", ""},
		{"120", "120", ""},
		{"111", "", "11 digits"},
		{"95588转1", "", "no extension"},
		{"", "", "not a phone"},
		{"phone", "", "unexpected 'p'"},
		{"0574-8765-4321", "0574-87654321", ""},
		{"0574-8765432-1", "0574-8765432-1", ""},
		{"0574 876 54321", "0574-87654321", ""},
		{"1234567890123456789012345", "", "too many digits"},
	})
}

func TestParseDate(t *testing.T) {
	want := time.Date(2026, 1, 2, 0, 0, 0, 0, cityhub.ChinaZone)
	for _, in := range []string{"2026-01-02", "2026/1/2", "2026/01/02", "2026.01.02", "2026.1.2", "20260102",
		"2026年1月2日", "2026年01月02日", "2026年1月2号", "2026年1月2", " 2026-01-02\t", "２０２６-０１-０２",
		"2026-01-02 00:00:00", "2026-01-02 00:00", "2026-01-02T00:00:00+08:00", "2026-01-02 00:00:00.000", "2026年1月2日 0时0分"} {
		got, err := cityhub.ParseDate(in)
		if err != nil || !got.Equal(want) || got.Location() != cityhub.ChinaZone {
			t.Errorf("ParseDate(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, tt := range []struct{ in, reason string }{
		{"", "empty"},
		{"2026-02-29", "day 29 out of range for 2026-02"},
		{"2024-02-30", "day 30 out of range"},
		{"2026-13-01", "month 13"},
		{"2026-00-01", "month 0"},
		{"2026-01-00", "day 0"},
		{"2026-01/02", "mixed date separators"},
		{"2026-01", "not a date"},
		{"2026", "not a date"},
		{"26-01-02", "not a date"},
		{"2026-001-02", "not a date"},
		{"202601021", "not a date"},
		{"45000", "not a date"}, // an Excel serial: the XLSX reader converts those
		{"2026年1月2日x", "unexpected"},
		{"2026-01-02 15:04", "time of day"},
		{"2026-01-02T00:00:00Z", "time of day"},
		{"2026-01-02x", "unexpected 'x' after the date"},
		{"02/01/2026", "not a date"},
		{"2026-1-2-3", "unexpected '-'"},
	} {
		got, err := cityhub.ParseDate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseDate(%q): got %v, %v; want an error mentioning %q", tt.in, got, err, tt.reason)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	cst := cityhub.ChinaZone
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-01-02 15:04", time.Date(2026, 1, 2, 15, 4, 0, 0, cst)},
		{"2026-01-02 15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02T15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02T15:04:05.123", time.Date(2026, 1, 2, 15, 4, 5, 123e6, cst)},
		{"2026-01-02T15:04:05.123456789", time.Date(2026, 1, 2, 15, 4, 5, 123456789, cst)},
		{"2026-01-02T15:04:05+08:00", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02T07:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02T07:04:05z", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02 07:04:05 +0000", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-01T23:04:05-08", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02T15:04:05+05:30", time.Date(2026, 1, 2, 17, 34, 5, 0, cst)},
		{"2026/1/2 9:05", time.Date(2026, 1, 2, 9, 5, 0, 0, cst)},
		{"20260102 15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026年1月2日 15时04分", time.Date(2026, 1, 2, 15, 4, 0, 0, cst)},
		{"2026年1月2日15时4分5秒", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026年1月2日 15点30分", time.Date(2026, 1, 2, 15, 30, 0, 0, cst)},
		{"2026年1月2日 15点", time.Date(2026, 1, 2, 15, 0, 0, 0, cst)},
		{"2026年01月02日 15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, cst)},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, cst)},
		{"2026-01-02   15:04", time.Date(2026, 1, 2, 15, 4, 0, 0, cst)},
		{"0001-01-01 08:00", time.Date(1, 1, 1, 8, 0, 0, 0, cst)},
	}
	for _, tt := range tests {
		got, err := cityhub.ParseDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != cst {
			t.Errorf("ParseDateTime(%q): got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, reason string }{
		{"2026-01-02 24:00", "out of range"},
		{"2026-01-02 23:60", "out of range"},
		{"2026-01-02 23:59:60", "out of range"},
		{"2026-01-02 15:4", "minutes need 2 digits"},
		{"2026-01-02 15", "not a time"},
		{"2026-01-02T", "not a time"},
		{"2026-01-02 15:04:5", "seconds need 2 digits"},
		{"2026-01-02 15:04:05.", "fractional"},
		{"2026-01-02 15:04:05.1234567890", "fractional"},
		{"2026-01-02 15:04:05+8", "offset"},
		{"2026-01-02 15:04:05+08:0", "offset"},
		{"2026-01-02 15:04:05+24:00", "offset out of range"},
		{"2026-01-02 15:04:05 CST", "unexpected 'C' after the time"},
		{"2026-01-02 15:04:05Zx", "unexpected 'x'"},
		{"2026年1月215时", "not a date"},
		{"2026年1月2日x", "unexpected 'x' after the date"},
		{"2026-01-0215:04", "not a date"},
		{"0000-01-01T00:00:00+14:00", "out of range"},
		{"9999-12-31T23:00:00-10:00", "out of range"},
		{"2026-01-02 下午3点", "not a time"},
	} {
		got, err := cityhub.ParseDateTime(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseDateTime(%q): got %v, %v; want an error mentioning %q", tt.in, got, err, tt.reason)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"0", 0}, {"42", 42}, {"-42", -42}, {"+42", 42}, {"3.14", 3.14}, {".5", 0.5}, {"5.", 5}, {"-0.5", -0.5},
		{"1,234,567.89", 1234567.89}, {"1,234", 1234}, {"123,456", 123456}, {"1 234", 1234}, {"1 234 567,", 0},
		{"1\u00a0234", 1234}, {"1\u202f234.5", 1234.5}, {" 12 ", 12}, {"\u300012\u3000", 12},
		{"１２３４", 1234}, {"１，２３４", 0}, {"１２．５", 12.5}, {"－５", -5}, {"−5", -5}, {"＋5", 5},
		{"1.5e3", 1500}, {"1.5E-3", 0.0015}, {"1e+05", 1e5}, {"007", 7}, {"1e400", 0}, {"-1,234.5", -1234.5},
	}
	for _, tt := range tests {
		got, err := cityhub.ParseNumber(tt.in)
		bad := strings.Contains(tt.in, "，") || strings.HasSuffix(tt.in, ",") || tt.in == "1e400"
		if bad {
			if err == nil {
				t.Errorf("ParseNumber(%q): got %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseNumber(%q): got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, reason string }{
		{"", "not a number"},
		{"-", "not a number"},
		{".", "not a number"},
		{"abc", "not a number"},
		{"12%", "percent"},
		{"12％", "percent"},
		{"1，234", "ambiguous"},
		{"1,5", "groups of 3"},
		{"1,23,456", "groups of 3"},
		{"1234,567", "groups of 3"},
		{"0,123", "groups of 3"},
		{",123", "misplaced"},
		{"1,,234", "misplaced"},
		{"1,234 567", "mixed"},
		{"1.234,56", "after the decimal point"},
		{"1.2.3", "more than one decimal point"},
		{"1e", "exponent without digits"},
		{"NaN", "not a number"},
		{"Inf", "not a number"},
		{"-Infinity", "not a number"},
		{"0x10", "unexpected 'x'"},
		{"1_000", "unexpected '_'"},
		{"¥12", "not a number"},
		{"12元", "unexpected '元'"},
		{"1e400", "out of range"},
		{"(12)", "not a number"},
	} {
		got, err := cityhub.ParseNumber(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseNumber(%q): got %v, %v; want an error mentioning %q", tt.in, got, err, tt.reason)
		}
	}
}

func TestParseInteger(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "42": 42, "-1,234": -1234, "12.00": 12, "１２": 12,
		"9223372036854775807": math.MaxInt64, "-9,223,372,036,854,775,808": math.MinInt64, "007": 7} {
		if got, err := cityhub.ParseInteger(in); err != nil || got != want {
			t.Errorf("ParseInteger(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	for in, reason := range map[string]string{"12.5": "whole number", "1e3": "exponent", "9223372036854775808": "out of range",
		"": "not a number", "1,5": "groups of 3", "5%": "percent"} {
		if got, err := cityhub.ParseInteger(in); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("ParseInteger(%q): got %v, %v; want an error mentioning %q", in, got, err, reason)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"是": true, "否": false, "有": true, "无": false, "真": true, "假": false,
		"Y": true, "n": false, "yes": true, "NO": false, "true": true, "False": false, "T": true, "f": false,
		"1": true, "0": false, "on": true, "OFF": false, " 是 ": true} {
		if got, err := cityhub.ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2", "yess", "对", "truee", "是的"} {
		if got, err := cityhub.ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q): got %v, want an error", in, got)
		}
	}
}

func TestValidators(t *testing.T) {
	id := makeID("33020319900307123")
	tests := []struct{ validator, in, want, reason string }{
		{"citizen_id", " " + id + " ", id, ""},
		{"citizen_id", id[:17] + "0", "", "check digit"},
		{"credit_code", vector, vector, ""},
		{"credit_code", strings.ToLower(vector), vector, ""},
		{"credit_code", vector[:17] + "M", "", "check character"},
		{"division", "330203", "330203", ""},
		{"division", "330204", "330204", ""},
		{"division", "330299", "", "unknown division code"},
		{"division_format", "330299", "330299", ""},
		{"division_format", "990299", "", "province code 99"},
		{"division_format", "3302", "", "6 digits"},
		{"mobile", "+86 138 1234 5678", "13812345678", ""},
		{"phone", "(0574)87654321", "0574-87654321", ""},
		{"nonsense", "x", "", "unknown validator"},
	}
	for _, tt := range tests {
		got, err := cityhub.ValidateWith(tt.validator, tt.in)
		if tt.reason == "" {
			if err != nil || got != tt.want {
				t.Errorf("ValidateWith(%s, %q): got %q, %v; want %q", tt.validator, tt.in, got, err, tt.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ValidateWith(%s, %q): got %q, %v; want an error mentioning %q", tt.validator, tt.in, got, err, tt.reason)
		}
	}
}

func TestValidateValue(t *testing.T) {
	id := makeID("33020319900307123")
	item := func(typ string, length int, required bool) cityhub.DataItem {
		return cityhub.DataItem{Name: "x", Type: typ, Length: length, Required: required}
	}
	tests := []struct {
		name      string
		item      cityhub.DataItem
		validator string
		raw       string
		want      string
		problem   string
	}{
		{"empty optional", item("C", 10, false), "", "  ", "", ""},
		{"empty required", item("C", 10, true), "", "", "", "required"},
		{"empty required number", item("N", 0, true), "", "\u3000", "", "required"},
		{"text trimmed", item("C", 10, false), "", " 宁波 ", "宁波", ""},
		{"text at length in runes", item("C", 4, false), "", "宁波海曙", "宁波海曙", ""},
		{"text over length", item("C", 3, false), "", "宁波海曙", "", "at most 3 characters, got 4"},
		{"text no length", item("M", 0, false), "", strings.Repeat("长", 5000), strings.Repeat("长", 5000), ""},
		{"text invalid UTF-8", item("C", 0, false), "", "a\xffb", "", "UTF-8"},
		{"text NUL", item("C", 0, false), "", "a\x00b", "", "NUL"},
		{"file path length", item("F", 5, false), "", "/a/b/c", "", "at most 5"},
		{"number", item("N", 0, false), "", "1,234.50", "1234.50", ""},
		{"number plain", item("N", 0, false), "", "-12.5", "-12.5", ""},
		{"number plus", item("N", 0, false), "", "+007", "7", ""},
		{"number negative zero", item("N", 0, false), "", "-0.00", "0.00", ""},
		{"number exponent", item("N", 0, false), "", "1.5E+03", "1.5e3", ""},
		{"number full-width", item("N", 0, false), "", "１２３", "123", ""},
		{"number big keeps digits", item("N", 0, false), "", "12345678901234567890", "12345678901234567890", ""},
		{"number percent", item("N", 0, false), "", "5%", "", "percent"},
		{"number out of range", item("N", 0, false), "", "1e999", "", "out of range"},
		{"number length ignored", item("N", 2, false), "", "12345", "12345", ""},
		{"currency", item("Y", 0, false), "", "1,234.5", "1234.5", ""},
		{"currency yen", item("Y", 0, false), "", "¥ 1,234.56", "1234.56", ""},
		{"currency full-width yen", item("Y", 0, false), "", "￥12", "12", ""},
		{"currency 3 decimals", item("Y", 0, false), "", "1.234", "", "at most 2 decimal places"},
		{"currency exponent", item("Y", 0, false), "", "1e3", "", "exponents"},
		{"date", item("D", 0, false), "", "2026-01-02", "2026-01-02", ""},
		{"date chinese", item("D", 0, false), "", "2026年1月2日", "2026-01-02", ""},
		{"date compact", item("D", 0, false), "", "20260102", "2026-01-02", ""},
		{"date midnight", item("D", 0, false), "", "2026/1/2 00:00:00", "2026-01-02", ""},
		{"date with time", item("D", 0, false), "", "2026-01-02 08:00", "", "time of day"},
		{"date bad", item("D", 0, false), "", "2026-02-30", "", "day 30"},
		{"date-time", item("T", 0, false), "", "2026-01-02 15:04", "2026-01-02T15:04:00+08:00", ""},
		{"date-time canonical", item("T", 0, false), "", "2026-01-02T15:04:05+08:00", "2026-01-02T15:04:05+08:00", ""},
		{"date-time UTC", item("T", 0, false), "", "2026-01-02T07:04:05.5Z", "2026-01-02T15:04:05.5+08:00", ""},
		{"date-time chinese", item("T", 0, false), "", "2026年1月2日 15时04分", "2026-01-02T15:04:00+08:00", ""},
		{"date-time date only", item("T", 0, false), "", "2026-01-02", "2026-01-02T00:00:00+08:00", ""},
		{"bool", item("L", 0, false), "", "是", "true", ""},
		{"bool false", item("L", 0, false), "", "N", "false", ""},
		{"bool bad", item("L", 0, false), "", "maybe", "", "not a logical value"},
		{"unknown type", item("Q", 0, false), "", "x", "", `unknown item type "Q"`},
		{"citizen ID", item("C", 18, true), "citizen_id", " " + strings.ToLower(id) + " ", id, ""},
		{"citizen ID bad", item("C", 18, true), "citizen_id", id[:17] + "0", "", "check digit"},
		{"citizen ID 15", item("C", 18, true), "citizen_id", "330203900101123", "", "first-generation"},
		{"mobile normalized before length", item("C", 11, false), "mobile", "+86 138-1234-5678", "13812345678", ""},
		{"phone", item("C", 20, false), "phone", "0574 8765 4321 转 12", "0574-87654321-12", ""},
		{"credit code", item("C", 18, false), "credit_code", vector, vector, ""},
		{"division as number", item("N", 0, false), "division", "330203", "330203", ""},
		{"division unknown", item("C", 6, false), "division", "330299", "", "unknown division code 330299"},
		{"validator not applied to empty", item("C", 18, false), "citizen_id", "", "", ""},
		{"unknown validator", item("C", 0, false), "nope", "x", "", `unknown validator "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := cityhub.ValidateValue(tt.item, tt.raw, tt.validator)
			if got != tt.want || !strings.Contains(problem, tt.problem) || (tt.problem == "") != (problem == "") {
				t.Fatalf("ValidateValue(%s, %q, %q): got %q, %q; want %q, %q", tt.item.Type, tt.raw, tt.validator, got, problem, tt.want, tt.problem)
			}
		})
	}
}

// The hot path does not allocate for valid values in normal form.
func TestValuesDoNotAllocate(t *testing.T) {
	id := makeID("33020319900307123")
	c, n, d, tt, l := cityhub.DataItem{Type: "C", Length: 50}, cityhub.DataItem{Type: "N"},
		cityhub.DataItem{Type: "D"}, cityhub.DataItem{Type: "T"}, cityhub.DataItem{Type: "L"}
	for name, f := range map[string]func(){
		"ValidateCitizenID":   func() { _ = cityhub.ValidateCitizenID(id) },
		"ValidateDivision":    func() { _ = cityhub.ValidateDivisionCode("330203") },
		"ValidateMobile":      func() { _, _ = cityhub.ValidateMobile("13812345678") },
		"ValidatePhone":       func() { _, _ = cityhub.ValidatePhone("0574-87654321") },
		"ParseNumber":         func() { _, _ = cityhub.ParseNumber("1234567.89") },
		"ParseNumber grouped": func() { _, _ = cityhub.ParseNumber("1,234,567.89") },
		"ParseInteger":        func() { _, _ = cityhub.ParseInteger("1,234,567") },
		"ParseDate":           func() { _, _ = cityhub.ParseDate("2026年1月2日") },
		"ParseDateTime":       func() { _, _ = cityhub.ParseDateTime("2026-01-02 15:04:05") },
		"ParseBool":           func() { _, _ = cityhub.ParseBool("是") },
		"ValidateValue C":     func() { _, _ = cityhub.ValidateValue(c, " 宁波市海曙区 ", "") },
		"ValidateValue C id":  func() { _, _ = cityhub.ValidateValue(c, id, "citizen_id") },
		"ValidateValue N":     func() { _, _ = cityhub.ValidateValue(n, "-1234.5", "") },
		"ValidateValue D":     func() { _, _ = cityhub.ValidateValue(d, "2026-01-02", "") },
		"ValidateValue T":     func() { _, _ = cityhub.ValidateValue(tt, "2026-01-02T15:04:05+08:00", "") },
		"ValidateValue L":     func() { _, _ = cityhub.ValidateValue(l, "否", "") },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations, want 0", name, a)
		}
	}
}

// ---------------------------------------------------------------- fuzzing

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-1,234.50", "1 234", "１２", "1.5e3", "1，2", "12%", ".5", "5.", "-0", "1e-400", "0,123", "+007"} {
		f.Add(s)
	}
	item := cityhub.DataItem{Type: "N"}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := cityhub.ParseNumber(s)
		norm, problem := cityhub.ValidateValue(item, s, "")
		if (err == nil) != (problem == "" && norm != "") && strings.TrimSpace(s) != "" {
			t.Fatalf("%q: ParseNumber error %v but ValidateValue %q, %q", s, err, norm, problem)
		}
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%q: got %v", s, v)
		}
		// The normal form is a fixed point and parses to the same value.
		if norm2, p := cityhub.ValidateValue(item, norm, ""); norm2 != norm || p != "" {
			t.Fatalf("%q → %q → %q, %q", s, norm, norm2, p)
		}
		if v2, err := cityhub.ParseNumber(norm); err != nil || v2 != v {
			t.Fatalf("%q = %v, but its normal form %q = %v, %v", s, v, norm, v2, err)
		}
		if v2, err := strconv.ParseFloat(norm, 64); err != nil || v2 != v {
			t.Fatalf("normal form %q: strconv gives %v, %v; want %v", norm, v2, err, v)
		}
		// The shortest formatting round-trips.
		if v2, err := cityhub.ParseNumber(strconv.FormatFloat(v, 'g', -1, 64)); err != nil || v2 != v {
			t.Fatalf("%v: formatted and parsed again gives %v, %v", v, v2, err)
		}
		if i, err := cityhub.ParseInteger(s); err == nil && float64(i) != v && math.Abs(float64(i)-v) > math.Abs(v)*1e-15 {
			t.Fatalf("%q: ParseInteger %d, ParseNumber %v", s, i, v)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-01-02", "2026/1/2", "2026.01.02", "20260102", "2026年1月2日", "2024-02-29",
		"2026-01-02 00:00:00", "0000-01-01", "9999-12-31", "２０２６年１月２日"} {
		f.Add(s)
	}
	item := cityhub.DataItem{Type: "D"}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cityhub.ParseDate(s)
		norm, problem := cityhub.ValidateValue(item, s, "")
		if err != nil {
			if problem == "" && norm != "" {
				t.Fatalf("%q: ParseDate error %v but ValidateValue accepts it as %q", s, err, norm)
			}
			return
		}
		if d.Hour() != 0 || d.Minute() != 0 || d.Location() != cityhub.ChinaZone {
			t.Fatalf("%q: got %v", s, d)
		}
		if want := d.Format("2006-01-02"); norm != want || problem != "" {
			t.Fatalf("%q: ValidateValue gives %q, %q; want %q", s, norm, problem, want)
		}
		if d2, err := cityhub.ParseDate(norm); err != nil || !d2.Equal(d) {
			t.Fatalf("%q → %q → %v, %v", s, norm, d2, err)
		}
		if dt, err := cityhub.ParseDateTime(s); err != nil || !dt.Equal(d) {
			t.Fatalf("%q: ParseDateTime gives %v, %v; ParseDate %v", s, dt, err, d)
		}
	})
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2026-01-02 15:04", "2026-01-02T15:04:05.123Z", "2026年1月2日 15时04分", "2026-01-02T15:04:05-0700",
		"20260102 1:02:03", "2026-01-02", "0000-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999999-23:59"} {
		f.Add(s)
	}
	item := cityhub.DataItem{Type: "T"}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cityhub.ParseDateTime(s)
		norm, problem := cityhub.ValidateValue(item, s, "")
		if err != nil {
			if problem == "" && norm != "" {
				t.Fatalf("%q: ParseDateTime error %v but ValidateValue accepts it as %q", s, err, norm)
			}
			return
		}
		if want := d.Format(time.RFC3339Nano); norm != want || problem != "" {
			t.Fatalf("%q: ValidateValue gives %q, %q; want %q", s, norm, problem, want)
		}
		if !strings.HasSuffix(norm, "+08:00") {
			t.Fatalf("%q: normal form %q is not in +08:00", s, norm)
		}
		if d2, err := cityhub.ParseDateTime(norm); err != nil || !d2.Equal(d) {
			t.Fatalf("%q → %q → %v, %v", s, norm, d2, err)
		}
		if d2, err := time.Parse(time.RFC3339Nano, norm); err != nil || !d2.Equal(d) {
			t.Fatalf("%q → %q: time.Parse gives %v, %v", s, norm, d2, err)
		}
	})
}

func FuzzValidateCitizenID(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "110105491231002", "３３０２０３１９９００１０１１２３Ｘ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := cityhub.ValidateCitizenID(s)
		norm, nerr := cityhub.NormalizeCitizenID(s)
		if err == nil && (nerr != nil || norm != strings.ToUpper(s)) {
			t.Fatalf("%q valid, but normalized %q, %v", s, norm, nerr)
		}
		if nerr != nil {
			return
		}
		if err := cityhub.ValidateCitizenID(norm); err != nil || len(norm) != 18 || norm[17] == 'x' {
			t.Fatalf("%q normalized to %q, which is not valid: %v", s, norm, err)
		}
		if c, _ := cityhub.CitizenIDCheckChar(norm[:17]); c != norm[17] {
			t.Fatalf("%q: check %c", norm, c)
		}
		if m := cityhub.MaskCitizenID(norm); m != norm[:6]+"********"+norm[14:] {
			t.Fatalf("mask of %q: %q", norm, m)
		}
	})
}

func FuzzValidatePhone(f *testing.F) {
	for _, s := range []string{"0574-87654321", "+86 574 8765 4321", "(0574)87654321转123", "13812345678", "8613812345678",
		"400-123-4567", "95588", "12345", "0574-87654321-123", "0086 10 62345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, err := cityhub.ValidatePhone(s)
		if err == nil {
			if norm2, err := cityhub.ValidatePhone(norm); err != nil || norm2 != norm {
				t.Fatalf("%q → %q → %q, %v", s, norm, norm2, err)
			}
			for _, c := range norm {
				if c != '-' && (c < '0' || c > '9') {
					t.Fatalf("%q → %q", s, norm)
				}
			}
		}
		m, err := cityhub.ValidateMobile(s)
		if err == nil {
			if len(m) != 11 || m[0] != '1' || m[1] < '3' {
				t.Fatalf("mobile %q → %q", s, m)
			}
			if p, err := cityhub.ValidatePhone(s); err != nil || p != m {
				t.Fatalf("mobile %q → %q, but as a phone %q, %v", s, m, p, err)
			}
			if mm := cityhub.MaskMobile(s); mm != m[:3]+"****"+m[7:] {
				t.Fatalf("mask of %q: %q", s, mm)
			}
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"是", "否", "true", "N", "1", "有"} {
		f.Add(s)
	}
	item := cityhub.DataItem{Type: "L"}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := cityhub.ParseBool(s)
		norm, problem := cityhub.ValidateValue(item, s, "")
		if err != nil {
			if problem == "" && norm != "" {
				t.Fatalf("%q: %v, but ValidateValue %q", s, err, norm)
			}
			return
		}
		if norm != strconv.FormatBool(v) {
			t.Fatalf("%q: %v, but ValidateValue %q, %q", s, v, norm, problem)
		}
	})
}

// FuzzValidateValue checks every type and validator: no panics, and a
// normal form is a fixed point that fits the item.
func FuzzValidateValue(f *testing.F) {
	f.Add("C", 5, "", "宁波市")
	f.Add("Y", 0, "", "¥1,234.5")
	f.Add("C", 18, "citizen_id", "11010519491231002x")
	f.Add("C", 18, "credit_code", "91110000600037341l")
	f.Add("C", 0, "phone", "0574 8765 4321")
	f.Add("N", 0, "division_format", "330299")
	f.Add("T", 0, "", "2026年1月2日 15时04分")
	types := "CNYDTLMGBIF"
	validators := []string{"", "citizen_id", "credit_code", "division", "division_format", "mobile", "phone"}
	f.Fuzz(func(t *testing.T, typ string, length int, validator, raw string) {
		if typ == "" || !strings.Contains(types, typ) {
			typ = string(types[len(typ)%len(types)])
		}
		if !strings.Contains(strings.Join(validators, ","), validator) || strings.Contains(validator, ",") {
			validator = validators[len(validator)%len(validators)]
		}
		item := cityhub.DataItem{Type: typ, Length: length % 100}
		norm, problem := cityhub.ValidateValue(item, raw, validator)
		if problem != "" {
			if norm != "" {
				t.Fatalf("problem %q with value %q", problem, norm)
			}
			return
		}
		norm2, problem2 := cityhub.ValidateValue(item, norm, validator)
		if norm2 != norm || problem2 != "" {
			t.Fatalf("%s/%s %q → %q → %q, %q", typ, validator, raw, norm, norm2, problem2)
		}
		if strings.TrimSpace(norm) != norm {
			t.Fatalf("%q: normal form %q is not trimmed", raw, norm)
		}
	})
}

// ---------------------------------------------------------------- benchmarks

func BenchmarkValidateCitizenID(b *testing.B) {
	id := makeID("33020319900307123")
	for b.Loop() {
		if err := cityhub.ValidateCitizenID(id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNumber(b *testing.B) {
	for _, s := range []string{"1234567.89", "1,234,567.89", "１２３４"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := cityhub.ParseNumber(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseDate(b *testing.B) {
	for _, s := range []string{"2026-01-02", "2026/1/2", "2026年1月2日"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := cityhub.ParseDate(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseDateTime(b *testing.B) {
	for b.Loop() {
		if _, err := cityhub.ParseDateTime("2026-01-02 15:04:05"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidatePhone(b *testing.B) {
	for _, s := range []string{"13812345678", "0574-87654321", "(0574) 8765 4321"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := cityhub.ValidatePhone(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidateValue(b *testing.B) {
	id := makeID("33020319900307123")
	for _, bc := range []struct {
		name, typ, validator, raw string
	}{
		{"C", "C", "", "宁波市海曙区中山西路138号"},
		{"C-citizen_id", "C", "citizen_id", id},
		{"C-credit_code", "C", "credit_code", vector},
		{"C-mobile", "C", "mobile", "13812345678"},
		{"N", "N", "", "1234567.89"},
		{"N-grouped", "N", "", "1,234,567.89"},
		{"Y", "Y", "", "1234.50"},
		{"D", "D", "", "2026-01-02"},
		{"D-chinese", "D", "", "2026年1月2日"},
		{"T", "T", "", "2026-01-02T15:04:05+08:00"},
		{"T-local", "T", "", "2026-01-02 15:04:05"},
		{"L", "L", "", "是"},
	} {
		item := cityhub.DataItem{Type: bc.typ, Length: 50}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, p := cityhub.ValidateValue(item, bc.raw, bc.validator); p != "" {
					b.Fatal(p)
				}
			}
		})
	}
}

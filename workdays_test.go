package cityhub_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestChinaCalendarIsWorkday(t *testing.T) {
	c := cityhub.ChinaCalendar()
	tests := []struct {
		date string
		want bool
		why  string
	}{
		{"2025-10-01", false, "National Day, a Wednesday"},
		{"2025-10-03", false, "National Day holiday, a Friday"},
		{"2025-10-04", false, "Saturday inside the holiday"},
		{"2025-10-06", false, "Mid-Autumn holiday, a Monday"},
		{"2025-10-08", false, "last holiday day, a Wednesday"},
		{"2025-10-09", true, "first working day after the holiday"},
		{"2025-09-28", true, "Sunday made a working day (调休)"},
		{"2025-10-11", true, "Saturday made a working day (调休)"},
		{"2025-10-12", false, "ordinary Sunday"},
		{"2025-09-26", true, "ordinary Friday"},
		{"2025-09-27", false, "ordinary Saturday"},
		{"2025-01-26", true, "Sunday before the Spring Festival, made a working day"},
		{"2025-01-28", false, "Spring Festival's eve, a Tuesday"},
		{"2025-02-08", true, "Saturday made a working day"},
		{"2025-05-05", false, "Labour Day holiday, a Monday"},
		{"2024-10-01", true, "a Tuesday of a year without data counts as a weekday"},
		{"2024-10-05", false, "a Saturday of a year without data"},
	}
	for _, tt := range tests {
		if got := c.IsWorkday(day(tt.date)); got != tt.want {
			t.Errorf("IsWorkday(%s) (%s): got %v, want %v", tt.date, tt.why, got, tt.want)
		}
	}
	// The clock time and zone of t do not matter, only its calendar day.
	late := time.Date(2025, 10, 1, 23, 59, 59, 0, time.FixedZone("CST", 8*3600))
	if c.IsWorkday(late) {
		t.Errorf("IsWorkday(%v): got true, want false (2025-10-01 in its own zone)", late)
	}
}

func TestChinaCalendarCovers(t *testing.T) {
	c := cityhub.ChinaCalendar()
	for year, want := range map[int]bool{2024: false, 2025: true, 2026: true, 2027: false} {
		if got := c.Covers(year); got != want {
			t.Errorf("Covers(%d): got %v, want %v", year, got, want)
		}
	}
}

// The shipped data must make sense: a holiday line takes a weekday off (a
// weekend day needs no line) and a workday line makes a weekend day worked,
// else the line has a wrong date.
func TestChinaCalendarData(t *testing.T) {
	data, err := os.ReadFile("holidays.tsv")
	if err != nil {
		t.Fatal(err)
	}
	c := cityhub.ChinaCalendar()
	lines := 0
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		f := strings.Split(line, "\t")
		d := day(f[0])
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		switch {
		case f[1] == "holiday" && weekend:
			t.Errorf("%s: a holiday on a %s needs no line", f[0], d.Weekday())
		case f[1] == "workday" && !weekend:
			t.Errorf("%s: a workday on a %s needs no line", f[0], d.Weekday())
		}
		if got, want := c.IsWorkday(d), f[1] == "workday"; got != want {
			t.Errorf("IsWorkday(%s): got %v, want %v (%s)", f[0], got, want, f[1])
		}
	}
	if lines < 40 {
		t.Errorf("holidays.tsv: got %d lines of data, want those of 2025 and 2026", lines)
	}
}

func TestAddWorkdays(t *testing.T) {
	c := cityhub.ChinaCalendar()
	at := func(s string) time.Time { return day(s).Add(9*time.Hour + 30*time.Minute) }
	tests := []struct {
		from string
		n    int
		want string
	}{
		// Counting by hand from Friday 2025-09-26: 09-28 (Sunday worked) 1,
		// 09-29 2, 09-30 3, 10-01..10-08 off, 10-09 4, 10-10 5, 10-11
		// (Saturday worked) 6, 10-13..10-17 7-11, 10-20..10-23 12-15.
		{"2025-09-26", 15, "2025-10-23"},
		{"2025-10-23", -15, "2025-09-26"},
		{"2025-09-26", 1, "2025-09-28"},
		{"2025-09-30", 1, "2025-10-09"},
		{"2025-10-09", -1, "2025-09-30"},
		{"2025-10-10", 1, "2025-10-11"},
		{"2025-09-26", 0, "2025-09-26"},
		{"2025-10-01", 0, "2025-10-01"}, // zero days: t itself, even on a holiday
		{"2025-10-03", 1, "2025-10-09"},
		{"2024-12-31", 1, "2025-01-02"}, // into a year with data: 01-01 is off
	}
	for _, tt := range tests {
		got := c.AddWorkdays(at(tt.from), tt.n)
		if want := at(tt.want); !got.Equal(want) {
			t.Errorf("AddWorkdays(%s, %d): got %v, want %v", tt.from, tt.n, got, want)
		}
	}
}

func TestParseCalendar(t *testing.T) {
	c, err := cityhub.ParseCalendar("# comment\n\n2030-01-01\tholiday\t元旦\n  2030-01-05\tworkday  \n2030-01-02\tholiday")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for date, want := range map[string]bool{"2030-01-01": false, "2030-01-02": false, "2030-01-05": true, "2030-01-03": true, "2030-01-06": false} {
		if got := c.IsWorkday(day(date)); got != want {
			t.Errorf("IsWorkday(%s): got %v, want %v", date, got, want)
		}
	}
	if !c.Covers(2030) || c.Covers(2025) {
		t.Errorf("Covers: got 2030 %v, 2025 %v; want true, false", c.Covers(2030), c.Covers(2025))
	}

	bad := []struct {
		name string
		data string
		want string // part of the error
	}{
		{"no kind", "2025-10-01", "line 1: want date and kind"},
		{"bad date", "# c\n2025-13-01\tholiday", "line 2"},
		{"not a date", "tomorrow\tholiday", "line 1"},
		{"date with time", "2025-10-01T00:00\tholiday", "line 1"},
		{"unknown kind", "2025-10-01\tholiday\n\n2025-10-02\tvacation", `line 3: kind must be holiday or workday, got "vacation"`},
		{"kind case matters", "2025-10-01\tHoliday", "kind must be holiday or workday"},
		{"spaces are not tabs", "2025-10-01 holiday", "line 1"},
	}
	for _, tt := range bad {
		_, err := cityhub.ParseCalendar(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

package cityhub

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"
)

// China's public holidays and the weekend days made working days (调休),
// per year, as published by the State Council's General Office. A year
// without data counts weekdays only. Kept as data: correct or extend
// holidays.tsv when the new year's notice comes out.
//
//go:embed holidays.tsv
var holidaysTSV string

// Calendar tells working days from days off.
type Calendar struct {
	off, on map[string]bool // holidays on weekdays; weekend days made working days
	years   map[int]bool    // years the data covers
}

// ChinaCalendar is the calendar shipped with the platform.
var ChinaCalendar = sync.OnceValue(func() *Calendar {
	c, err := ParseCalendar(holidaysTSV)
	if err != nil {
		panic(err) // embedded at build time; a test parses it
	}
	return c
})

// ParseCalendar reads lines "YYYY-MM-DD<TAB>holiday|workday<TAB>name".
func ParseCalendar(data string) (*Calendar, error) {
	c := &Calendar{off: map[string]bool{}, on: map[string]bool{}, years: map[int]bool{}}
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("holidays line %d: want date and kind", n+1)
		}
		d, err := time.Parse("2006-01-02", f[0])
		if err != nil {
			return nil, fmt.Errorf("holidays line %d: %v", n+1, err)
		}
		switch f[1] {
		case "holiday":
			c.off[f[0]] = true
		case "workday":
			c.on[f[0]] = true
		default:
			return nil, fmt.Errorf("holidays line %d: kind must be holiday or workday, got %q", n+1, f[1])
		}
		c.years[d.Year()] = true
	}
	return c, nil
}

// IsWorkday reports whether the calendar day of t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	day := t.Format("2006-01-02")
	switch {
	case c.on[day]:
		return true
	case c.off[day]:
		return false
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkdays returns the day n working days after t (before it when n is
// negative), keeping t's clock time.
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		t = t.AddDate(0, 0, step)
		if c.IsWorkday(t) {
			n--
		}
	}
	return t
}

// Covers reports whether the calendar has holiday data for year.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

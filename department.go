package cityhub

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Department levels.
const (
	LevelCity     = "city"
	LevelDistrict = "district"
)

// Department (部门) is a government body that provides or consumes data.
type Department struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	ShortName  string    `json:"short_name"`
	CreditCode string    `json:"credit_code"`   // 统一社会信用代码, GB 32100
	Division   string    `json:"division_code"` // GB/T 2260
	Level      string    `json:"level"`         // city or district
	ParentID   *int64    `json:"parent_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Normalize trims the free-text fields and upper-cases the credit code.
func (d *Department) Normalize() {
	d.Name = strings.TrimSpace(d.Name)
	d.ShortName = strings.TrimSpace(d.ShortName)
	d.CreditCode = strings.ToUpper(strings.TrimSpace(d.CreditCode))
	d.Division = strings.TrimSpace(d.Division)
	d.Level = strings.TrimSpace(d.Level)
}

// Validate checks the department's own fields; uniqueness and the parent's
// existence are the store's to check.
func (d *Department) Validate() error {
	d.Normalize()
	f := FieldErrors{}
	switch n := utf8.RuneCountInString(d.Name); {
	case n == 0:
		f.Add("name", "required")
	case n > 100:
		f.Add("name", "at most 100 characters")
	}
	if utf8.RuneCountInString(d.ShortName) > 30 {
		f.Add("short_name", "at most 30 characters")
	}
	if d.CreditCode == "" {
		f.Add("credit_code", "required")
	} else if err := ValidateCreditCode(d.CreditCode); err != nil {
		f.Add("credit_code", err.Error())
	}
	if div, ok := LookupDivision(d.Division); !ok {
		f.Add("division_code", "not a known GB/T 2260 division code")
	} else if div.Historic {
		f.Add("division_code", "division "+div.Code+" "+div.Name+" no longer exists ("+div.Note+")")
	}
	switch d.Level {
	case LevelCity, LevelDistrict:
	case "":
		f.Add("level", "required (city or district)")
	default:
		f.Add("level", "must be city or district")
	}
	if d.ParentID != nil && d.ID != 0 && *d.ParentID == d.ID {
		f.Add("parent_id", "a department cannot be its own parent")
	}
	return f.Err("invalid department")
}

// DepartmentFilter selects departments in a listing.
type DepartmentFilter struct {
	Level    string
	Division string
	ParentID *int64
	Query    string // substring of name or short name
	Limit    int
	Offset   int
}

// DepartmentService stores departments. Every change appends an audit record
// in the same transaction, taken from the actor in ctx.
type DepartmentService interface {
	CreateDepartment(ctx context.Context, d *Department) error
	UpdateDepartment(ctx context.Context, d *Department) error
	DeleteDepartment(ctx context.Context, id int64) error
	Department(ctx context.Context, id int64) (*Department, error)
	Departments(ctx context.Context, f DepartmentFilter) ([]*Department, int, error)
}

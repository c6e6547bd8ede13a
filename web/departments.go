package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// departmentForm holds a department form's values as entered, so a refused
// form comes back as the user left it.
type departmentForm struct {
	Name, ShortName, CreditCode, Division, Level, ParentID string
}

func departmentFormFrom(r *http.Request) departmentForm {
	return departmentForm{
		Name:       r.PostFormValue("name"),
		ShortName:  r.PostFormValue("short_name"),
		CreditCode: r.PostFormValue("credit_code"),
		Division:   r.PostFormValue("division_code"),
		Level:      r.PostFormValue("level"),
		ParentID:   r.PostFormValue("parent_id"),
	}
}

func departmentFormOf(d *cityhub.Department) departmentForm {
	f := departmentForm{Name: d.Name, ShortName: d.ShortName, CreditCode: d.CreditCode, Division: d.Division, Level: d.Level}
	if d.ParentID != nil {
		f.ParentID = strconv.FormatInt(*d.ParentID, 10)
	}
	return f
}

// apply copies the form onto d. A malformed parent is reported together
// with the department's own validation, so every problem shows at once.
func (f departmentForm) apply(d *cityhub.Department) error {
	d.Name, d.ShortName, d.CreditCode, d.Division, d.Level = f.Name, f.ShortName, f.CreditCode, f.Division, f.Level
	d.ParentID = nil
	fe := cityhub.FieldErrors{}
	if s := strings.TrimSpace(f.ParentID); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			fe.Add("parent_id", "no such department")
		} else {
			d.ParentID = &id
		}
	}
	if len(fe) > 0 {
		mergeFields(fe, d.Validate())
		return fe.Err("invalid department")
	}
	return nil
}

type departmentRow struct {
	*cityhub.Department
	DivisionName string
	ParentName   string
}

// departmentFormData is what the shared department form needs.
type departmentFormData struct {
	Form        departmentForm
	FormAction  string
	SubmitLabel string
	CancelHref  string
	Divisions   []cityhub.Division
	Parents     []*cityhub.Department
}

type departmentsData struct {
	departmentFormData
	Q         string
	Rows      []departmentRow
	Total     int
	Pager     pager
	CanManage bool
}

func (c *Console) departments(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.listDepartments(w, r, p, http.StatusOK, departmentForm{})
}

// listDepartments renders the listing, with the create form (holding form)
// for platform administrators.
func (c *Console) listDepartments(w http.ResponseWriter, r *http.Request, p *page, status int, form departmentForm) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	n := pageNumber(r)
	ds, total, err := c.Store.Departments(r.Context(), cityhub.DepartmentFilter{Query: q, Limit: pageSize, Offset: (n - 1) * pageSize})
	if err != nil {
		return err
	}
	d := departmentsData{Q: q, Total: total, Pager: newPager(p, r, n, total), CanManage: p.User.CanManageDepartments()}
	names := c.departmentNames(ds...)
	for _, dep := range ds {
		parent, err := names.name(r, dep.ParentID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, departmentRow{Department: dep, DivisionName: divisionName(dep.Division), ParentName: parent})
	}
	if d.CanManage {
		if d.Parents, err = c.allDepartments(r); err != nil {
			return err
		}
		d.Form, d.FormAction, d.SubmitLabel = form, "/departments", p.T("dept.create_submit")
		d.Divisions = cityhub.Divisions("", false)
	}
	p.Title, p.Nav, p.Data = p.T("dept.title"), "departments", d
	return c.render(w, r, p, status, "departments")
}

func (c *Console) createDepartment(w http.ResponseWriter, r *http.Request, p *page) error {
	if !p.User.CanManageDepartments() {
		return forbidden("manage departments")
	}
	form := departmentFormFrom(r)
	var d cityhub.Department
	err := form.apply(&d)
	if err == nil {
		err = c.Store.CreateDepartment(r.Context(), &d)
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.listDepartments(w, r, p, status, form)
		}
		return err
	}
	return redirect(w, r, "/departments?q="+url.QueryEscape(d.Name), "department_created")
}

type departmentData struct {
	departmentFormData
	Department *cityhub.Department
}

func (c *Console) editDepartment(w http.ResponseWriter, r *http.Request, p *page) error {
	if !p.User.CanManageDepartments() {
		return forbidden("manage departments")
	}
	d, err := c.departmentFromPath(r)
	if err != nil {
		return err
	}
	return c.renderDepartment(w, r, p, http.StatusOK, d, departmentFormOf(d))
}

func (c *Console) renderDepartment(w http.ResponseWriter, r *http.Request, p *page, status int, d *cityhub.Department, form departmentForm) error {
	all, err := c.allDepartments(r)
	if err != nil {
		return err
	}
	parents := make([]*cityhub.Department, 0, len(all))
	for _, o := range all {
		if o.ID != d.ID {
			parents = append(parents, o)
		}
	}
	data := departmentData{Department: d, departmentFormData: departmentFormData{
		Form: form, FormAction: "/departments/" + strconv.FormatInt(d.ID, 10), SubmitLabel: p.T("common.save"),
		CancelHref: "/departments", Divisions: cityhub.Divisions("", false), Parents: parents}}
	p.Title, p.Nav, p.Data = p.Tf("dept.edit_title", d.Name), "departments", data
	return c.render(w, r, p, status, "department")
}

func (c *Console) updateDepartment(w http.ResponseWriter, r *http.Request, p *page) error {
	if !p.User.CanManageDepartments() {
		return forbidden("manage departments")
	}
	d, err := c.departmentFromPath(r)
	if err != nil {
		return err
	}
	shown := *d // the page heading keeps the stored name
	form := departmentFormFrom(r)
	err = form.apply(d)
	if err == nil {
		err = c.Store.UpdateDepartment(r.Context(), d)
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderDepartment(w, r, p, status, &shown, form)
		}
		return err
	}
	return redirect(w, r, "/departments?q="+url.QueryEscape(d.Name), "department_updated")
}

func (c *Console) deleteDepartment(w http.ResponseWriter, r *http.Request, p *page) error {
	if !p.User.CanManageDepartments() {
		return forbidden("manage departments")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	err = c.Store.DeleteDepartment(r.Context(), id)
	if cityhub.ErrorCode(err) == cityhub.ECONFLICT {
		p.Error = p.T("dept.delete_conflict")
		return c.listDepartments(w, r, p, http.StatusConflict, departmentForm{})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/departments", "department_deleted")
}

func (c *Console) departmentFromPath(r *http.Request) (*cityhub.Department, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return c.Store.Department(r.Context(), id)
}

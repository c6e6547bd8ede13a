package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// entryForm holds a catalog entry form's values as entered, so a refused
// form comes back as the user left it.
type entryForm struct {
	ClassificationCode, Name, ProviderID, Abstract, Format                              string
	ShareType, ShareCondition, ShareMethod, ShareBasis                                  string
	OpenType, OpenCondition, OpenBasis, UpdateCycle, PublishDate, Domain, Tags, Related string
	Note                                                                                string
	Items                                                                               []itemForm
}

// itemForm is one row of the data items editor. Index is the row's place
// among the items sent to the domain, which names problems as items[i].x.
type itemForm struct {
	Index                                              int
	Name, Code, Type, Length, Description, Sensitivity string
	Required, PrimaryKey                               bool
}

// Key is the name of the row's input for field, e.g. items[2].type.
func (it itemForm) Key(field string) string { return fmt.Sprintf("items[%d].%s", it.Index, field) }

// Num is the row's number as people count.
func (it itemForm) Num() int { return it.Index + 1 }

func (it itemForm) blank() bool {
	return strings.TrimSpace(it.Name) == "" && strings.TrimSpace(it.Code) == "" &&
		strings.TrimSpace(it.Length) == "" && strings.TrimSpace(it.Description) == ""
}

// maxItemRows bounds the rows read from a form (the domain allows 500 items).
const maxItemRows = 600

// blankRows is how many empty rows the editor offers.
const blankRows = 3

func entryFormFrom(r *http.Request) entryForm {
	v := r.PostFormValue
	f := entryForm{ClassificationCode: v("classification_code"), Name: v("name"), ProviderID: v("provider_id"),
		Abstract: v("abstract"), Format: v("format"), ShareType: v("share_type"), ShareCondition: v("share_condition"),
		ShareMethod: v("share_method"), ShareBasis: v("share_basis"), OpenType: v("open_type"),
		OpenCondition: v("open_condition"), OpenBasis: v("open_basis"), UpdateCycle: v("update_cycle"),
		PublishDate: v("publish_date"), Domain: v("domain"), Tags: v("tags"), Related: v("related_codes"), Note: v("note")}
	var rows []int
	for k := range r.PostForm {
		if m := itemField.FindStringSubmatch(k); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n < maxItemRows && !slices.Contains(rows, n) {
				rows = append(rows, n)
			}
		}
	}
	slices.Sort(rows)
	for _, n := range rows {
		at := func(field string) string { return v(fmt.Sprintf("items[%d].%s", n, field)) }
		it := itemForm{Name: at("name"), Code: at("code"), Type: at("type"), Length: at("length"),
			Description: at("description"), Sensitivity: at("sensitivity"),
			Required: at("required") != "", PrimaryKey: at("primary_key") != ""}
		if at("remove") != "" || it.blank() {
			continue
		}
		it.Index = len(f.Items)
		f.Items = append(f.Items, it)
	}
	return f
}

func entryFormOf(e *cityhub.CatalogEntry) entryForm {
	f := entryForm{ClassificationCode: e.ClassificationCode, Name: e.Name, ProviderID: strconv.FormatInt(e.ProviderID, 10),
		Abstract: e.Abstract, Format: e.Format, ShareType: e.ShareType, ShareCondition: e.ShareCondition,
		ShareMethod: e.ShareMethod, ShareBasis: e.ShareBasis, OpenType: e.OpenType, OpenCondition: e.OpenCondition,
		OpenBasis: e.OpenBasis, UpdateCycle: e.UpdateCycle, PublishDate: e.PublishDate, Domain: e.Domain,
		Tags: strings.Join(e.Tags, ", "), Related: strings.Join(e.RelatedCodes, ", ")}
	for i, it := range e.Items {
		row := itemForm{Index: i, Name: it.Name, Code: it.Code, Type: it.Type, Description: it.Description,
			Sensitivity: it.Sensitivity, Required: it.Required, PrimaryKey: it.PrimaryKey}
		if it.Length > 0 {
			row.Length = strconv.Itoa(it.Length)
		}
		f.Items = append(f.Items, row)
	}
	return f
}

// withBlankRows adds n empty rows to the editor.
func (f entryForm) withBlankRows(n int) entryForm {
	f.Items = slices.Clone(f.Items)
	for range n {
		if len(f.Items) >= maxItemRows {
			break
		}
		f.Items = append(f.Items, itemForm{Index: len(f.Items), Type: "C", Sensitivity: cityhub.SensInternal})
	}
	return f
}

// splitList reads tags or codes separated by commas (either width), 、 or
// semicolons, and for codes also spaces.
func splitList(s string, spaces bool) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune(",，、;；\n\r", r) || spaces && (r == ' ' || r == '\t' || r == '\u3000')
	})
}

// entry builds the entry the form describes. Problems reading the form
// come back together with the domain's validation, so all show at once.
func (f entryForm) entry() (*cityhub.CatalogEntry, error) {
	e := &cityhub.CatalogEntry{ClassificationCode: f.ClassificationCode, Name: f.Name, Abstract: f.Abstract,
		Format: f.Format, ShareType: f.ShareType, ShareCondition: f.ShareCondition, ShareMethod: f.ShareMethod,
		ShareBasis: f.ShareBasis, OpenType: f.OpenType, OpenCondition: f.OpenCondition, OpenBasis: f.OpenBasis,
		UpdateCycle: f.UpdateCycle, PublishDate: f.PublishDate, Domain: f.Domain,
		Tags: splitList(f.Tags, false), RelatedCodes: splitList(f.Related, true)}
	fe := cityhub.FieldErrors{}
	if s := strings.TrimSpace(f.ProviderID); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			fe.Add("provider_id", "no such department")
		} else {
			e.ProviderID = id
		}
	}
	for _, row := range f.Items {
		it := cityhub.DataItem{Name: row.Name, Code: row.Code, Type: row.Type, Description: row.Description,
			Sensitivity: row.Sensitivity, Required: row.Required, PrimaryKey: row.PrimaryKey}
		if s := strings.TrimSpace(row.Length); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				fe.Add(row.Key("length"), "must be a non-negative whole number")
			} else {
				it.Length = n
			}
		}
		e.Items = append(e.Items, it)
	}
	if len(fe) > 0 {
		mergeFields(fe, e.Validate(cityhub.IsBaseClassification(e.ClassificationCode)))
		return e, fe.Err("invalid catalog entry")
	}
	return e, nil
}

// entryFormOrder is the order of the entry form's fields, for the error
// summary.
var entryFormOrder = []string{"classification_code", "name", "provider_id", "format", "abstract", "items",
	"share_type", "share_method", "share_condition", "share_basis", "open_type", "domain", "open_condition",
	"open_basis", "update_cycle", "publish_date", "related_codes", "tags", "note"}

// vocabOfField names the vocabulary a field's value comes from.
func vocabOfField(field string) string {
	if m := itemField.FindStringSubmatch(field); m != nil {
		field = "item_" + m[2]
	}
	switch field {
	case "format":
		return "format"
	case "share_type":
		return "share"
	case "open_type":
		return "open"
	case "update_cycle":
		return "cycle"
	case "status":
		return "status"
	case "item_type":
		return "itemtype"
	case "item_sensitivity":
		return "sens"
	}
	return ""
}

// requiredChoices reports a select left on "choose" as required, rather
// than as a value outside the vocabulary.
func requiredChoices(p *page, f entryForm) {
	empty := map[string]bool{"format": f.Format == "", "share_type": f.ShareType == "", "open_type": f.OpenType == "",
		"update_cycle": f.UpdateCycle == ""}
	for field, reason := range p.Fields {
		if empty[field] && strings.HasPrefix(reason, "one of ") {
			p.Fields[field] = "required"
		}
	}
}

type classOption struct {
	Code, Label string
}

type entryFormData struct {
	catalogTab
	Form        entryForm
	Entry       *cityhub.CatalogEntry // nil for a new entry
	FormAction  string
	CancelHref  string
	SubmitLabel string
	Locked      string // why the entry cannot change now
	Classes     []classOption
	Providers   []*cityhub.Department
	Domains     []option
}

func (c *Console) newEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	if !canCreateEntries(u) {
		return forbidden("create catalog entries")
	}
	f := entryForm{}
	if u.DepartmentID != nil && u.CanEditCatalog(*u.DepartmentID) {
		f.ProviderID = strconv.FormatInt(*u.DepartmentID, 10)
	}
	return c.renderEntryForm(w, r, p, http.StatusOK, nil, f.withBlankRows(blankRows+2))
}

func (c *Console) renderEntryForm(w http.ResponseWriter, r *http.Request, p *page, status int, e *cityhub.CatalogEntry, f entryForm) error {
	u := p.User
	d := entryFormData{catalogTab: catalogTabFor("new", u), Form: f, Entry: e,
		FormAction: "/catalog/new", CancelHref: "/catalog", SubmitLabel: p.T("catalog.create_submit")}
	if e != nil {
		d.Tab = ""
		d.FormAction, d.CancelHref, d.SubmitLabel = entryPath(e.ID)+"/edit", entryPath(e.ID), p.T("common.save")
		if !e.Editable() {
			d.Locked = p.named("catalog.locked_", e.Status)
		}
	}
	cs, err := c.Store.Classifications(r.Context(), cityhub.ScopeOf(u))
	if err != nil {
		return err
	}
	for _, cl := range cs {
		depth := 0
		switch n := len(cl.Code); {
		case n >= 7:
			depth = 3
		case n >= 4:
			depth = 2
		case n >= 2:
			depth = 1
		}
		d.Classes = append(d.Classes, classOption{cl.Code, strings.Repeat("\u00a0\u00a0\u00a0", depth) + cl.Code + " " + cl.Name})
	}
	if u.HasRole(cityhub.RolePlatformAdmin) {
		if d.Providers, err = c.allDepartments(r); err != nil {
			return err
		}
	} else if u.DepartmentID != nil {
		own, err := c.Store.Department(r.Context(), *u.DepartmentID)
		if err != nil {
			return err
		}
		d.Providers = []*cityhub.Department{own}
	}
	ds, err := c.Store.Domains(r.Context())
	if err != nil {
		return err
	}
	for _, dm := range ds {
		label := p.domainName(dm)
		if dm.Key {
			label += " · " + p.T("catalog.key_domain")
		}
		d.Domains = append(d.Domains, option{dm.Code, label})
	}
	p.formOrder = entryFormOrder
	requiredChoices(p, f)
	if e == nil {
		p.Title = p.T("catalog.new_title")
	} else {
		p.Title = p.Tf("catalog.edit_title", e.Name)
	}
	p.Nav, p.Data = "catalog", d
	return c.render(w, r, p, status, "catalog_form")
}

// addRows answers the form's "add rows" button: the same form, more rows,
// nothing saved.
func addRows(r *http.Request) bool { return r.PostFormValue("add_rows") != "" }

func (c *Console) createEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	if !canCreateEntries(u) {
		return forbidden("create catalog entries")
	}
	f := entryFormFrom(r)
	if addRows(r) {
		return c.renderEntryForm(w, r, p, http.StatusOK, nil, f.withBlankRows(blankRows))
	}
	e, err := f.entry()
	if e.ProviderID > 0 && !u.CanEditCatalog(e.ProviderID) {
		return forbidden("write another department's catalog")
	}
	if err == nil {
		err = c.Store.CreateEntry(r.Context(), e)
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderEntryForm(w, r, p, status, nil, f.withBlankRows(blankRows))
		}
		return err
	}
	return redirect(w, r, entryPath(e.ID), "catalog_created")
}

func (c *Console) editEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.entryFromPath(r, p.User)
	if err != nil {
		return err
	}
	if !p.User.CanEditCatalog(e.ProviderID) {
		return forbidden("edit this entry (only the provider's data stewards)")
	}
	return c.renderEntryForm(w, r, p, http.StatusOK, e, entryFormOf(e).withBlankRows(blankRows))
}

func (c *Console) updateEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	u := p.User
	old, err := c.entryFromPath(r, u)
	if err != nil {
		return err
	}
	if !u.CanEditCatalog(old.ProviderID) {
		return forbidden("edit this entry (only the provider's data stewards)")
	}
	f := entryFormFrom(r)
	if !old.Editable() {
		p.Error = p.named("catalog.locked_", old.Status)
		return c.renderEntryForm(w, r, p, http.StatusConflict, old, f)
	}
	if addRows(r) {
		return c.renderEntryForm(w, r, p, http.StatusOK, old, f.withBlankRows(blankRows))
	}
	e, err := f.entry()
	if e.ProviderID > 0 && !u.CanEditCatalog(e.ProviderID) {
		return forbidden("move the entry to a department you do not steward")
	}
	if err == nil {
		e.ID = old.ID
		err = c.Store.UpdateEntry(r.Context(), e, strings.TrimSpace(f.Note))
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderEntryForm(w, r, p, status, old, f.withBlankRows(blankRows))
		}
		return err
	}
	return redirect(w, r, entryPath(old.ID), "catalog_updated")
}

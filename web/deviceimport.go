package web

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"html/template"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/tabular"
)

// Provisioning devices from a CSV file: one device a row, columns name,
// type, department, division, lon, lat. Every row is checked first and
// problems are listed by row and column; nothing is created while any row
// has a problem unless the user ticks skip-invalid. The new devices'
// tokens are offered as a CSV download in the response, this once.

// maxDeviceImportBytes bounds the file; maxDeviceImportRows its rows.
const (
	maxDeviceImportBytes = 4 << 20
	maxDeviceImportRows  = 5000
)

// deviceImportBodyBytes bounds the form's body: the file and the framing.
const deviceImportBodyBytes = maxDeviceImportBytes + 1<<20

// deviceColumns are the file's columns and the headers each may go by.
var deviceImportColumns = []struct {
	name     string
	required bool
	aliases  []string
}{
	{"name", true, []string{"名称", "设备名称"}},
	{"type", true, []string{"类型", "设备类型"}},
	{"department", true, []string{"部门", "所属部门", "department_id"}},
	{"division", false, []string{"行政区划", "区划", "区县", "division_code"}},
	{"lon", true, []string{"经度", "longitude", "lng"}},
	{"lat", true, []string{"纬度", "latitude"}},
}

const deviceImportTemplate = "name,type,department,division,lon,lat\n" +
	"aq-haishu-001,AirQualityObserved,海曙区大数据中心,330203,121.5503,29.8741\n"

type deviceImportData struct {
	SkipInvalid bool
	MaxMiB      int
	MaxBytes    int64
	MaxRows     int
	Columns     []string
	Report      *deviceImportReport
}

type deviceImportReport struct {
	FileName string
	DryRun   bool
	Kind     string // ok, partial or none
	Message  string
	Rows     int // device rows in the file
	Valid    int
	Created  []createdDevice
	Skipped  int
	Problems []problemRow
	// TokensURL is the tokens of the created devices as a data: URL, in
	// this response only; TokensName is the file it saves as.
	TokensURL  template.URL
	TokensName string
}

type createdDevice struct {
	D          *cityhub.Device
	Department string
	Token      string
}

func (c *Console) deviceImportForm(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	if !canAddDevices(p.User) {
		return forbidden("add devices (platform administrators, department administrators and data stewards)")
	}
	return c.renderDeviceImport(w, r, p, http.StatusOK, deviceImportData{})
}

func (c *Console) renderDeviceImport(w http.ResponseWriter, r *http.Request, p *page, status int, d deviceImportData) error {
	d.MaxMiB, d.MaxBytes, d.MaxRows = maxDeviceImportBytes>>20, maxDeviceImportBytes, maxDeviceImportRows
	for _, col := range deviceImportColumns {
		d.Columns = append(d.Columns, col.name)
	}
	p.formOrder = []string{"file"}
	p.Title, p.Nav, p.Data = p.T("devimport.title"), "devices", d
	return c.render(w, r, p, status, "device_import")
}

func (c *Console) deviceImportTemplate(w http.ResponseWriter, r *http.Request, p *page) error {
	body := []byte("\uFEFF" + deviceImportTemplate)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/csv; charset=utf-8")
	hdr.Set("Content-Disposition", `attachment; filename="devices-template.csv"`)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	_, err := w.Write(body)
	if err != nil {
		c.log.DebugContext(r.Context(), "write template", "err", err)
	}
	return nil
}

func (c *Console) importDevices(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	u := p.User
	if !canAddDevices(u) {
		return forbidden("add devices (platform administrators, department administrators and data stewards)")
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			p.Error = p.Tf("devimport.too_large", maxDeviceImportBytes>>20)
			return c.renderDeviceImport(w, r, p, http.StatusRequestEntityTooLarge, deviceImportData{})
		case errors.Is(err, http.ErrNotMultipart):
			p.Error, p.Fields = p.T("error.check_fields"), map[string]string{"file": p.T("devimport.choose_file")}
			return c.renderDeviceImport(w, r, p, http.StatusBadRequest, deviceImportData{})
		}
		return cityhub.Errorf(cityhub.EINVALID, "reading the upload: %v", err)
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	d := deviceImportData{SkipInvalid: r.PostFormValue("skip_invalid") != ""}
	refuse := func(status int, reason string) error {
		p.Error, p.Fields = p.T("error.check_fields"), map[string]string{"file": reason}
		return c.renderDeviceImport(w, r, p, status, d)
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		return refuse(http.StatusBadRequest, p.T("devimport.choose_file"))
	}
	defer f.Close()
	if fh.Size > maxDeviceImportBytes {
		p.Error = p.Tf("devimport.too_large", maxDeviceImportBytes>>20)
		return c.renderDeviceImport(w, r, p, http.StatusRequestEntityTooLarge, d)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxDeviceImportBytes+1))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return refuse(http.StatusBadRequest, p.T("devimport.empty_file"))
	}
	plan, err := c.planDeviceImport(r, p, data)
	if err != nil {
		return err
	}
	rep := &deviceImportReport{FileName: fh.Filename, DryRun: r.PostFormValue("action") != "import",
		Rows: plan.rows, Valid: len(plan.devices), Problems: plan.problems}
	bad := len(plan.problems) > 0
	switch {
	case plan.wholeFile:
		rep.Kind, rep.Message = "none", p.T("devimport.bad_file")
	case plan.rows == 0:
		rep.Kind, rep.Message = "none", p.T("devimport.empty")
	case rep.DryRun && !bad:
		rep.Kind, rep.Message = "ok", p.Tf("devimport.ok_check", rep.Valid)
	case rep.DryRun && d.SkipInvalid && rep.Valid > 0:
		rep.Kind, rep.Message = "partial", p.Tf("devimport.problems_skip_check", len(plan.problems), plan.rows-rep.Valid, rep.Valid)
	case rep.DryRun:
		rep.Kind, rep.Message = "none", p.Tf("devimport.problems_check", len(plan.problems), plan.rows-rep.Valid, rep.Valid)
	case bad && !d.SkipInvalid:
		rep.Kind, rep.Message = "none", p.Tf("devimport.problems_none", len(plan.problems), plan.rows-rep.Valid, rep.Valid)
	case rep.Valid == 0:
		rep.Kind, rep.Message = "none", p.Tf("devimport.problems_all", plan.rows)
	default:
		if err := c.createImported(r, p, plan, rep, d.SkipInvalid); err != nil {
			return err
		}
	}
	d.Report = rep
	return c.renderDeviceImport(w, r, p, http.StatusOK, d)
}

// importPlan is a checked file: the devices of its valid rows and the
// problems of the others.
type importPlan struct {
	rows      int
	wholeFile bool
	devices   []plannedDevice
	problems  []problemRow
	depts     map[int64]string
}

type plannedDevice struct {
	row int
	dev *cityhub.Device
}

// planDeviceImport reads and checks every row.
func (c *Console) planDeviceImport(r *http.Request, p *page, data []byte) (*importPlan, error) {
	plan := &importPlan{depts: map[int64]string{}}
	fileProblem := func(reason string) (*importPlan, error) {
		plan.wholeFile = true
		plan.problems = append(plan.problems, problemRow{Row: p.T("import.whole_file"), Column: "—", Reason: reason})
		return plan, nil
	}
	text, err := tabular.DecodeText(bufio.NewReader(bytes.NewReader(data)), "")
	if err != nil {
		return fileProblem(cityhub.ErrorMessage(err))
	}
	cr := csv.NewReader(text)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return fileProblem(p.Tf("devimport.unreadable", err.Error()))
	}
	// Which column is which.
	col := map[string]int{}
	headerName := map[string]string{}
	for i, h := range header {
		key := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		found := ""
		for _, dc := range deviceImportColumns {
			if key == dc.name || containsFold(dc.aliases, key) {
				found = dc.name
			}
		}
		switch {
		case found == "":
			plan.problems = append(plan.problems, problemRow{Row: "1", Column: h, Reason: p.T("devimport.unknown_column")})
		case col[found] != 0:
			plan.problems = append(plan.problems, problemRow{Row: "1", Column: h, Reason: p.T("devimport.column_twice")})
		default:
			col[found] = i + 1 // 0 is absent
			headerName[found] = strings.TrimSpace(h)
		}
	}
	for _, dc := range deviceImportColumns {
		if dc.required && col[dc.name] == 0 {
			plan.problems = append(plan.problems, problemRow{Row: "1", Column: dc.name, Reason: p.T("devimport.missing_column")})
		}
	}
	if len(plan.problems) > 0 {
		plan.wholeFile = true
		return plan, nil
	}
	depts, err := c.allDepartments(r)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{} // device names in the file, by first row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			plan.problems = append(plan.problems, problemRow{Row: strconv.Itoa(line), Column: "—",
				Reason: p.Tf("devimport.unreadable", err.Error())})
			plan.wholeFile = true
			return plan, nil
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		plan.rows++
		if plan.rows > maxDeviceImportRows {
			plan.problems = []problemRow{{Row: p.T("import.whole_file"), Column: "—", Reason: p.Tf("devimport.too_many_rows", maxDeviceImportRows)}}
			plan.wholeFile, plan.devices = true, nil
			return plan, nil
		}
		field := func(name string) string {
			i := col[name] - 1
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		row := strconv.Itoa(line)
		var probs []problemRow
		problem := func(column, reason string) {
			if h := headerName[column]; h != "" {
				column = h
			}
			probs = append(probs, problemRow{Row: row, Column: column, Reason: reason})
		}
		dev := &cityhub.Device{Name: field("name")}
		if t, ok := resolveType(field("type")); ok {
			dev.Type = t
		} else if field("type") != "" {
			problem("type", p.Tf("devimport.unknown_type", field("type")))
		} else {
			problem("type", p.reason("type", "required"))
		}
		var dept *cityhub.Department
		switch name := field("department"); {
		case name == "":
			problem("department", p.reason("department", "required"))
		default:
			dept = resolveDepartment(depts, name)
			switch {
			case dept == nil:
				problem("department", p.Tf("devimport.unknown_department", name))
			case !canManageDevices(p.User, dept.ID):
				problem("department", p.Tf("devimport.not_yours", dept.Name))
				dept = nil
			default:
				dev.DepartmentID = dept.ID
				plan.depts[dept.ID] = dept.Name
			}
		}
		if div := field("division"); div != "" {
			code, ok := resolveDivision(depts, div)
			if !ok {
				problem("division", p.Tf("devimport.unknown_division", div))
			}
			dev.Division = code
		} else if dept != nil {
			dev.Division = dept.Division
		}
		lonOK, latOK := true, true
		for _, c := range []struct {
			name, outOfRange string
			to               *float64
			ok               *bool
			lo, hi           float64
		}{{"lon", "devimport.out_of_range_lon", &dev.Lon, &lonOK, 73, 136},
			{"lat", "devimport.out_of_range_lat", &dev.Lat, &latOK, 3, 54}} {
			v, err := parseCoordinate(field(c.name))
			switch {
			case err != nil:
				problem(c.name, p.reason(c.name, err.Error()))
				*c.ok = false
			case v < c.lo || v > c.hi:
				problem(c.name, p.Tf(c.outOfRange, field(c.name)))
				*c.ok = false
			default:
				*c.to = v
			}
		}
		if err := dev.Validate(); err != nil {
			var e *cityhub.Error
			if errors.As(err, &e) {
				for _, k := range sortedKeys(e.Fields) {
					switch k {
					case "type", "department_id", "division":
						// reported above from the file's own words
					case "location":
						if lonOK && latOK {
							problem("lon", p.reason("location", e.Fields[k]))
						}
					default:
						problem(k, p.reason(k, e.Fields[k]))
					}
				}
			}
		}
		if dev.Name != "" {
			if first, ok := seen[dev.Name]; ok {
				problem("name", p.Tf("devimport.name_twice", first))
			} else {
				seen[dev.Name] = line
				switch _, err := c.Store.DeviceByName(r.Context(), dev.Name); {
				case err == nil:
					problem("name", p.T("devimport.name_taken"))
				case cityhub.ErrorCode(err) != cityhub.ENOTFOUND:
					return nil, err
				}
			}
		}
		if len(probs) > 0 {
			plan.problems = append(plan.problems, probs...)
			continue
		}
		plan.devices = append(plan.devices, plannedDevice{row: line, dev: dev})
	}
	return plan, nil
}

// createImported creates the planned devices. Without skip-invalid it is
// all or nothing: when one fails (another user took a name meanwhile) the
// devices created before it are deleted again.
func (c *Console) createImported(r *http.Request, p *page, plan *importPlan, rep *deviceImportReport, skip bool) error {
	for _, pd := range plan.devices {
		token, err := c.Store.CreateDevice(r.Context(), pd.dev)
		err = c.deviceConflict(r, pd.dev, err)
		if err != nil {
			var e *cityhub.Error
			if !errors.As(err, &e) || (e.Code != cityhub.ECONFLICT && e.Code != cityhub.EINVALID) {
				c.undoImport(r, rep.Created)
				return err
			}
			for _, k := range sortedKeys(e.Fields) {
				rep.Problems = append(rep.Problems, problemRow{Row: strconv.Itoa(pd.row), Column: k, Reason: p.reason(k, e.Fields[k])})
			}
			if len(e.Fields) == 0 {
				rep.Problems = append(rep.Problems, problemRow{Row: strconv.Itoa(pd.row), Column: "—", Reason: e.Message})
			}
			if !skip {
				c.undoImport(r, rep.Created)
				rep.Created = nil
				rep.Kind, rep.Message = "none", p.Tf("devimport.failed", pd.row)
				return nil
			}
			continue
		}
		rep.Created = append(rep.Created, createdDevice{D: pd.dev, Department: plan.depts[pd.dev.DepartmentID], Token: token})
	}
	rep.Skipped = rep.Rows - len(rep.Created)
	if rep.Skipped > 0 {
		rep.Kind, rep.Message = "partial", p.Tf("devimport.done_skipped", len(rep.Created), rep.Skipped)
	} else {
		rep.Kind, rep.Message = "ok", p.Tf("devimport.done", len(rep.Created))
	}
	if len(rep.Created) > 0 {
		rep.TokensURL, rep.TokensName = tokensCSV(rep.Created), "device-tokens.csv"
	}
	return nil
}

// undoImport deletes the devices an all-or-nothing import created before
// it failed.
func (c *Console) undoImport(r *http.Request, created []createdDevice) {
	for _, cd := range created {
		if err := c.Store.DeleteDevice(r.Context(), cd.D.ID); err != nil {
			c.log.ErrorContext(r.Context(), "undo device import", "device", cd.D.ID, "err", err)
		}
	}
}

// tokensCSV is the created devices' tokens as a data: URL to save. It is
// built here and sent in this page only: the store keeps hashes.
func tokensCSV(created []createdDevice) template.URL {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"id", "name", "type", "department", "entity_id", "token"})
	for _, cd := range created {
		_ = cw.Write([]string{strconv.FormatInt(cd.D.ID, 10), cityhub.SpreadsheetSafe(cd.D.Name), cd.D.Type, cityhub.SpreadsheetSafe(cd.Department),
			cityhub.SpreadsheetSafe(cd.D.EntityID), cd.Token})
	}
	cw.Flush()
	// The URL is made here from base64 text, never from the request.
	return template.URL("data:text/csv;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// resolveType finds a device type by its name or either label.
func resolveType(s string) (string, bool) {
	_, types := deviceTypes()
	for _, t := range types {
		if strings.EqualFold(s, t.Name) || s == t.Label || strings.EqualFold(s, t.LabelEn) {
			return t.Name, true
		}
	}
	return "", false
}

// resolveDepartment finds a department by id, credit code, name or short
// name.
func resolveDepartment(depts []*cityhub.Department, s string) *cityhub.Department {
	id, err := strconv.ParseInt(s, 10, 64)
	for _, d := range depts {
		if (err == nil && d.ID == id) || strings.EqualFold(d.CreditCode, s) || d.Name == s {
			return d
		}
	}
	var found *cityhub.Department
	for _, d := range depts {
		if d.ShortName != "" && d.ShortName == s {
			if found != nil {
				return nil // two departments go by this short name
			}
			found = d
		}
	}
	return found
}

// resolveDivision takes a GB/T 2260 code, or the name of one division
// under the departments' cities.
func resolveDivision(depts []*cityhub.Department, s string) (string, bool) {
	if _, ok := cityhub.LookupDivision(s); ok {
		return s, true
	}
	code := ""
	for _, d := range districtsOf(depts) {
		if d.Name == s {
			if code != "" {
				return "", false
			}
			code = d.Code
		}
	}
	return code, code != ""
}

package web

import (
	"encoding/csv"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
)

// The IoT device pages: the device list with its filters, one device with
// its latest values, ingest counts and a chart of one property, the
// series behind the chart as JSON and CSV, the forms that add devices one
// by one or from a CSV file and the rotation of a device's access token.
// Every signed-in user reads devices; platform administrators, and
// department administrators and data stewards of the device's department,
// add devices and rotate their tokens. Without a series store
// (Console.Series) the IoT platform is off and the pages say so.

// DeviceCounter tells what the ingest pipeline did with one device's
// values (*ingest.Pipeline).
type DeviceCounter interface {
	DeviceCounts(id int64) ingest.DeviceCounts
}

// devicesOn says whether the IoT platform runs.
func (c *Console) devicesOn() bool { return c.Series != nil }

// iotOff is every device page while the IoT platform is off: a notice,
// not an error (the platform runs as configured).
func (c *Console) iotOff(w http.ResponseWriter, r *http.Request, p *page) error {
	p.Title, p.Nav, p.Data = p.T("devices.title"), "devices", nil
	return c.render(w, r, p, http.StatusOK, "device_off")
}

// canManageDevices: platform administrators for every department,
// department administrators and data stewards for their own.
func canManageDevices(u *cityhub.User, departmentID int64) bool {
	if u.HasRole(cityhub.RolePlatformAdmin) {
		return true
	}
	return (u.HasRole(cityhub.RoleDeptAdmin) || u.HasRole(cityhub.RoleSteward)) &&
		u.DepartmentID != nil && *u.DepartmentID == departmentID
}

// canAddDevices says whether u may add devices to some department.
func canAddDevices(u *cityhub.User) bool {
	return u.HasRole(cityhub.RolePlatformAdmin) ||
		((u.HasRole(cityhub.RoleDeptAdmin) || u.HasRole(cityhub.RoleSteward)) && u.DepartmentID != nil)
}

// deviceTypes are the known types, by name and in their order.
var deviceTypes = sync.OnceValues(func() (map[string]*cityhub.DeviceType, []*cityhub.DeviceType) {
	byName := map[string]*cityhub.DeviceType{}
	var list []*cityhub.DeviceType
	for _, t := range cityhub.DeviceTypes() {
		byName[t.Name] = &t
		list = append(list, &t)
	}
	return byName, list
})

func deviceType(name string) *cityhub.DeviceType {
	byName, _ := deviceTypes()
	return byName[name]
}

// TypeLabel names a device type in the page's language.
func (p *page) TypeLabel(name string) string {
	t := deviceType(name)
	switch {
	case t == nil:
		return name
	case p.Lang == "zh":
		return t.Label
	}
	return t.LabelEn
}

// PropLabel names a property in the page's language.
func (p *page) PropLabel(pr cityhub.Property) string {
	if p.Lang == "zh" {
		return pr.Label
	}
	return pr.LabelEn
}

// Device states, as badges show them.
const (
	stateOnline   = "online"
	stateOffline  = "offline"
	stateNever    = "never"
	stateDisabled = "disabled"
)

// StateLabel names a device state in the page's language.
func (p *page) StateLabel(state string) string { return p.named("devices.state_", state) }

func deviceState(d *cityhub.Device, now time.Time) string {
	t := deviceType(d.Type)
	switch {
	case d.Disabled:
		return stateDisabled
	case d.LastSeen == nil:
		return stateNever
	case t != nil && d.Online(t, now):
		return stateOnline
	}
	return stateOffline
}

// Duration writes a device type's timeout: minutes or hours.
func (p *page) Duration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return p.Tf("devices.hours", int(d/time.Hour))
	}
	return p.Tf("devices.minutes", int(d.Round(time.Minute)/time.Minute))
}

// formatNumber writes a reading for people: at most three decimals.
func formatNumber(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// valueText is one latest value as a page shows it.
type valueText struct {
	Key   string
	Label string
	Text  string
	Unit  string
	Time  time.Time
	Has   bool
}

func (p *page) valueOf(t *cityhub.DeviceType, lv cityhub.LatestValue) valueText {
	v := valueText{Key: lv.Key, Label: lv.Key, Time: lv.Time, Has: true}
	if t != nil {
		if pr, ok := t.Property(lv.Key); ok {
			v.Label, v.Unit = p.PropLabel(pr), pr.UnitSym
		}
	}
	switch lv.Kind {
	case cityhub.KindText:
		v.Text = lv.Text
	case cityhub.KindBool:
		v.Text = p.T("devices.false")
		if lv.Num != 0 {
			v.Text = p.T("devices.true")
		}
	default:
		v.Text = formatNumber(lv.Num)
	}
	return v
}

// ----- the device list -----

// inlineValues is how many latest values a list row shows.
const inlineValues = 3

type deviceRow struct {
	D          *cityhub.Device
	Department string
	District   string
	State      string
	Values     []valueText
	MoreValues int
}

type typeCount struct {
	Name, Label string
	Count       int
	Href        string
	Active      bool
}

type deviceFilter struct {
	Type       string
	Department string
	Division   string
	Q          string
}

type devicesData struct {
	Rows        []deviceRow
	Total       int
	All         int // devices matching the filters but the type
	Pager       pager
	Filter      deviceFilter
	Filtered    bool
	ClearHref   string
	AllHref     string
	Types       []option
	TypeCounts  []typeCount
	Departments []*cityhub.Department
	Districts   []cityhub.Division
	CanCreate   bool
}

// districtsOf lists the divisions under the cities the departments are
// in: the choices of a district filter and the device form.
func districtsOf(depts []*cityhub.Department) []cityhub.Division {
	seen := map[string]bool{}
	var out []cityhub.Division
	for _, d := range depts {
		if len(d.Division) != 6 || seen[d.Division[:4]] {
			continue
		}
		seen[d.Division[:4]] = true
		out = append(out, cityhub.Divisions(d.Division[:4], false)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	ctx := r.Context()
	qv := r.URL.Query()
	f := deviceFilter{Type: strings.TrimSpace(qv.Get("type")), Department: strings.TrimSpace(qv.Get("department")),
		Division: strings.TrimSpace(qv.Get("division")), Q: strings.TrimSpace(qv.Get("q"))}
	dq := cityhub.DeviceQuery{Division: f.Division, Q: f.Q}
	if f.Department != "" {
		id, err := strconv.ParseInt(f.Department, 10, 64)
		if err != nil || id <= 0 {
			return cityhub.Errorf(cityhub.EINVALID, "department %q is not a department id", f.Department)
		}
		dq.DepartmentID = id
	}
	depts, err := c.allDepartments(r)
	if err != nil {
		return err
	}
	d := devicesData{Filter: f, Filtered: f != (deviceFilter{}), CanCreate: canAddDevices(p.User),
		Departments: depts, Districts: districtsOf(depts), ClearHref: "/devices"}
	_, types := deviceTypes()
	link := func(typ string) string {
		q := url.Values{}
		for k, v := range map[string]string{"type": typ, "department": f.Department, "division": f.Division, "q": f.Q} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if len(q) == 0 {
			return "/devices"
		}
		return "/devices?" + q.Encode()
	}
	d.AllHref = link("")
	// Counts per type under the other filters.
	for _, t := range types {
		d.Types = append(d.Types, option{t.Name, p.TypeLabel(t.Name)})
		cq := dq
		cq.Type, cq.Limit = t.Name, 1
		_, n, err := c.Store.Devices(ctx, cq)
		if err != nil {
			return err
		}
		d.All += n
		if n > 0 || t.Name == f.Type {
			d.TypeCounts = append(d.TypeCounts, typeCount{Name: t.Name, Label: p.TypeLabel(t.Name), Count: n,
				Href: link(t.Name), Active: t.Name == f.Type})
		}
	}
	dq.Type = f.Type
	current := pageNumber(r)
	dq.Limit, dq.Offset = pageSize, (current-1)*pageSize
	list, total, err := c.Store.Devices(ctx, dq)
	if err != nil {
		return err
	}
	d.Total, d.Pager = total, newPager(p, r, current, total)
	ids := make([]int64, len(list))
	for i, dev := range list {
		ids[i] = dev.ID
	}
	latest, err := c.Series.Latest(ctx, ids)
	if err != nil {
		return err
	}
	names := c.departmentNames(depts...)
	now := c.now()
	for _, dev := range list {
		row := deviceRow{D: dev, State: deviceState(dev, now), District: divisionName(dev.Division)}
		id := dev.DepartmentID
		if row.Department, err = names.name(r, &id); err != nil {
			return err
		}
		t := deviceType(dev.Type)
		vals := orderedLatest(t, latest[dev.ID])
		for i, lv := range vals {
			if i == inlineValues {
				row.MoreValues = len(vals) - inlineValues
				break
			}
			row.Values = append(row.Values, p.valueOf(t, lv))
		}
		d.Rows = append(d.Rows, row)
	}
	p.Title, p.Nav, p.Data = p.T("devices.title"), "devices", d
	return c.render(w, r, p, http.StatusOK, "devices")
}

// orderedLatest sorts latest values as the type lists its properties.
func orderedLatest(t *cityhub.DeviceType, vals []cityhub.LatestValue) []cityhub.LatestValue {
	if t == nil {
		return vals
	}
	pos := map[string]int{}
	for i, pr := range t.Properties {
		pos[pr.Name] = i
	}
	out := slices.Clone(vals)
	sort.SliceStable(out, func(i, j int) bool {
		pi, oki := pos[out[i].Key]
		pj, okj := pos[out[j].Key]
		switch {
		case oki && okj:
			return pi < pj
		case oki != okj:
			return oki
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// ----- one device -----

// A seriesRange is a chart's time span and the step its points take.
type seriesRange struct {
	Name string
	Span time.Duration
	Step time.Duration // 0: raw readings
}

var seriesRanges = []seriesRange{
	{"1h", time.Hour, 0},
	{"24h", 24 * time.Hour, time.Minute},
	{"7d", 7 * 24 * time.Hour, time.Hour},
}

func rangeNamed(name string) (seriesRange, bool) {
	for _, sr := range seriesRanges {
		if sr.Name == name {
			return sr, true
		}
	}
	return seriesRange{}, false
}

type attrRow struct {
	Key, Value string
}

type rejectionRow struct {
	At     time.Time
	Source string
	Reason string
	Code   string
	Detail string
}

type chartData struct {
	Keys      []option
	Key       string
	Ranges    []option
	Range     string
	SeriesURL string // without the query
	CSVURL    string // with the chosen key and range
	CSVBase   string
}

type deviceData struct {
	D            *cityhub.Device
	Type         *cityhub.DeviceType
	Department   string
	DivisionName string
	State        string
	OfflineAfter string
	Latest       []valueText
	Attributes   []attrRow
	HasCounts    bool
	Counts       ingest.DeviceCounts
	Rejections   []rejectionRow
	Chart        chartData
	CanManage    bool
}

// deviceFromPath reads the {id} device.
func (c *Console) deviceFromPath(r *http.Request) (*cityhub.Device, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return c.Store.Device(r.Context(), id)
}

func devicePath(id int64) string { return "/devices/" + strconv.FormatInt(id, 10) }

// chartable says whether a property can be drawn: numbers and booleans.
func chartable(pr cityhub.Property) bool {
	return pr.Kind == cityhub.KindNumber || pr.Kind == cityhub.KindBool
}

func (c *Console) device(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	dev, err := c.deviceFromPath(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t := deviceType(dev.Type)
	d := deviceData{D: dev, Type: t, State: deviceState(dev, c.now()), DivisionName: divisionName(dev.Division),
		CanManage: canManageDevices(p.User, dev.DepartmentID)}
	names := c.departmentNames()
	if d.Department, err = names.name(r, &dev.DepartmentID); err != nil {
		return err
	}
	if t != nil {
		d.OfflineAfter = p.Duration(t.Offline)
	}
	latest, err := c.Series.Latest(ctx, []int64{dev.ID})
	if err != nil {
		return err
	}
	have := map[string]cityhub.LatestValue{}
	reported := map[string]bool{}
	for _, lv := range latest[dev.ID] {
		have[lv.Key] = lv
		reported[lv.Key] = true
	}
	if t != nil {
		for _, pr := range t.Properties {
			if lv, ok := have[pr.Name]; ok {
				d.Latest = append(d.Latest, p.valueOf(t, lv))
				delete(have, pr.Name)
			} else {
				d.Latest = append(d.Latest, valueText{Key: pr.Name, Label: p.PropLabel(pr), Unit: pr.UnitSym})
			}
		}
	}
	for _, lv := range latest[dev.ID] { // values of properties the type no longer has
		if _, ok := have[lv.Key]; ok {
			d.Latest = append(d.Latest, p.valueOf(t, lv))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(dev.Attributes)) {
		d.Attributes = append(d.Attributes, attrRow{Key: k, Value: attributeText(dev.Attributes[k])})
	}
	if c.Ingest != nil {
		d.HasCounts = true
		d.Counts = c.Ingest.DeviceCounts(dev.ID)
		for _, rj := range d.Counts.Recent {
			d.Rejections = append(d.Rejections, rejectionRow{At: rj.At, Source: rj.Source, Code: rj.Reason,
				Reason: p.named("rejection.", rj.Reason), Detail: rj.Detail})
		}
	}
	d.Chart = p.chartFor(dev, t, r.URL.Query(), reported)
	p.Title, p.Nav, p.Data = dev.Name, "devices", d
	p.Scripts = []string{"echarts/echarts.min.js", "devices.js"}
	return c.render(w, r, p, http.StatusOK, "device")
}

// attributeText shows an attribute's JSON value: text as it is, the rest
// as JSON.
func attributeText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// chartFor picks the chart's property (?key=, else the first number with
// a latest value, else the first number) and range (?range=, else 24 h).
func (p *page) chartFor(dev *cityhub.Device, t *cityhub.DeviceType, q url.Values, reported map[string]bool) chartData {
	ch := chartData{SeriesURL: devicePath(dev.ID) + "/series.json", CSVBase: devicePath(dev.ID) + "/series.csv", Range: "24h"}
	for _, sr := range seriesRanges {
		ch.Ranges = append(ch.Ranges, option{sr.Name, p.named("devices.range_", sr.Name)})
	}
	if _, ok := rangeNamed(q.Get("range")); ok {
		ch.Range = q.Get("range")
	}
	if t != nil {
		for _, pr := range t.Properties {
			if chartable(pr) {
				label := p.PropLabel(pr)
				if pr.UnitSym != "" {
					label += " (" + pr.UnitSym + ")"
				}
				ch.Keys = append(ch.Keys, option{pr.Name, label})
			}
		}
	}
	want := q.Get("key")
	for _, o := range ch.Keys {
		if o.Value == want {
			ch.Key = want
		}
	}
	for _, o := range ch.Keys {
		if ch.Key == "" && reported[o.Value] {
			ch.Key = o.Value
		}
	}
	if ch.Key == "" && len(ch.Keys) > 0 {
		ch.Key = ch.Keys[0].Value
	}
	v := url.Values{"key": {ch.Key}, "range": {ch.Range}}
	ch.CSVURL = ch.CSVBase + "?" + v.Encode()
	return ch
}

// ----- the series behind the chart -----

// seriesJSON is what the chart draws: [ms, value] pairs, null where the
// device was silent for longer than its type's timeout (a gap in the line).
type seriesJSON struct {
	Device int64    `json:"device"`
	Key    string   `json:"key"`
	Label  string   `json:"label"`
	Unit   string   `json:"unit"`
	Range  string   `json:"range"`
	Step   string   `json:"step"` // raw, 1m or 1h
	Agg    string   `json:"agg,omitempty"`
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Count  int      `json:"count"`
	Points [][2]any `json:"points"`
}

// stepName names a step as the JSON and CSV do: raw, 1m or 1h.
func stepName(step time.Duration) string {
	switch {
	case step == 0:
		return "raw"
	case step%time.Hour == 0:
		return strconv.FormatInt(int64(step/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(step/time.Minute), 10) + "m"
}

// seriesRequest is a checked query of a device's series page.
type seriesRequest struct {
	dev   *cityhub.Device
	prop  cityhub.Property
	rng   seriesRange
	query cityhub.SeriesQuery
	axis  [2]time.Time // the chart's x axis
}

// seriesQuery reads ?key= and ?range= of the {id} device. Text
// properties have no chart but do have a CSV of raw readings.
func (c *Console) seriesQuery(r *http.Request, textOK bool) (*seriesRequest, error) {
	dev, err := c.deviceFromPath(r)
	if err != nil {
		return nil, err
	}
	t := deviceType(dev.Type)
	if t == nil {
		return nil, cityhub.Errorf(cityhub.EINVALID, "device type %q unknown", dev.Type)
	}
	q := r.URL.Query()
	pr, ok := t.Property(q.Get("key"))
	if !ok {
		return nil, cityhub.Errorf(cityhub.EINVALID, "%s has no property %q", t.Name, q.Get("key"))
	}
	rangeName := q.Get("range")
	if rangeName == "" {
		rangeName = "24h"
	}
	rng, ok := rangeNamed(rangeName)
	if !ok {
		return nil, cityhub.Errorf(cityhub.EINVALID, "range %q unknown; use 1h, 24h or 7d", rangeName)
	}
	if !chartable(pr) && (!textOK || rng.Step != 0) {
		return nil, cityhub.Errorf(cityhub.EINVALID, "%s is text: only its raw readings of the last hour can be read", pr.Name)
	}
	now := c.now()
	sr := &seriesRequest{dev: dev, prop: pr, rng: rng}
	sq := cityhub.SeriesQuery{DeviceID: dev.ID, Key: pr.Name, Step: rng.Step}
	if rng.Step == 0 {
		// Readings may be a little ahead of the server's clock.
		sq.From, sq.To = now.Add(-rng.Span), now.Add(ingest.FutureSlack)
		sr.axis = [2]time.Time{sq.From, now}
	} else {
		sq.To = now.Truncate(rng.Step).Add(rng.Step)
		sq.From = sq.To.Add(-rng.Span)
		sq.Agg = "avg"
		sr.axis = [2]time.Time{sq.From, sq.To}
	}
	sr.query = sq
	return sr, nil
}

func (c *Console) deviceSeriesJSON(w http.ResponseWriter, r *http.Request, p *page) error {
	write := func(status int, v any) error {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		if err := json.NewEncoder(w).Encode(v); err != nil {
			c.log.DebugContext(r.Context(), "write series", "err", err)
		}
		return nil
	}
	fail := func(err error) error {
		status, msg := http.StatusInternalServerError, "internal error"
		switch cityhub.ErrorCode(err) {
		case cityhub.ENOTFOUND:
			status, msg = http.StatusNotFound, cityhub.ErrorMessage(err)
		case cityhub.EINVALID:
			status, msg = http.StatusBadRequest, cityhub.ErrorMessage(err)
		case cityhub.EUNAVAILABLE:
			status, msg = http.StatusServiceUnavailable, cityhub.ErrorMessage(err)
		default:
			c.log.ErrorContext(r.Context(), "device series", "path", r.URL.Path, "err", err)
		}
		return write(status, map[string]string{"error": msg})
	}
	if !c.devicesOn() {
		return write(http.StatusNotFound, map[string]string{"error": "the IoT platform is off"})
	}
	sr, err := c.seriesQuery(r, false)
	if err != nil {
		return fail(err)
	}
	points, err := c.Series.Series(r.Context(), sr.query)
	if err != nil {
		return fail(err)
	}
	out := seriesJSON{Device: sr.dev.ID, Key: sr.prop.Name, Label: p.PropLabel(sr.prop), Unit: sr.prop.UnitSym,
		Range: sr.rng.Name, Step: stepName(sr.rng.Step), Agg: sr.query.Agg, Count: len(points),
		From: sr.axis[0].UnixMilli(), To: sr.axis[1].UnixMilli(), Points: [][2]any{}}
	gap := sr.rng.Step
	if t := deviceType(sr.dev.Type); t != nil && t.Offline > gap {
		gap = t.Offline
	}
	for i, pt := range points {
		if i > 0 && gap > 0 && pt.Time.Sub(points[i-1].Time) > gap {
			out.Points = append(out.Points, [2]any{points[i-1].Time.Add(gap).UnixMilli(), nil})
		}
		out.Points = append(out.Points, [2]any{pt.Time.UnixMilli(), pt.Value})
		if ms := pt.Time.UnixMilli(); ms > out.To {
			out.To = ms
		}
	}
	return write(http.StatusOK, out)
}

func (c *Console) deviceSeriesCSV(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return cityhub.Errorf(cityhub.ENOTFOUND, "the IoT platform is off")
	}
	sr, err := c.seriesQuery(r, true)
	if err != nil {
		return err
	}
	q := sr.query
	if q.Step == 0 {
		q.Limit = 100000
	}
	points, err := c.Series.Series(r.Context(), q)
	if err != nil {
		return err
	}
	var buf strings.Builder
	buf.WriteString("\uFEFF") // so that spreadsheet programs read UTF-8
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"time", "device", "property", "value", "unit", "step"})
	step := stepName(q.Step)
	if q.Agg != "" {
		step += " " + q.Agg
	}
	loc := c.Location
	if loc == nil {
		loc = time.Local
	}
	for _, pt := range points {
		v := formatNumber(pt.Value)
		if !chartable(sr.prop) {
			v = pt.Text
		}
		_ = cw.Write([]string{pt.Time.In(loc).Format("2006-01-02T15:04:05.000Z07:00"), cityhub.SpreadsheetSafe(sr.dev.Name),
			sr.prop.Name, cityhub.SpreadsheetSafe(v), sr.prop.UnitSym, step})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	name := sr.dev.Name + "-" + sr.prop.Name + "-" + sr.rng.Name + ".csv"
	body := []byte(buf.String())
	hdr := w.Header()
	hdr.Set("Content-Type", "text/csv; charset=utf-8")
	hdr.Set("Content-Disposition", `attachment; filename="`+asciiName(name)+`"; filename*=UTF-8''`+url.PathEscape(name))
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if _, err := w.Write(body); err != nil {
		c.log.DebugContext(r.Context(), "write series csv", "err", err)
	}
	return nil
}

// asciiName is a file name for the plain filename parameter: other
// characters become "_" (filename* carries the real one).
func asciiName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
}

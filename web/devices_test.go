package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/tsdb"
	"github.com/cityhub/cityhub/web"
)

// iotStack is the platform with the IoT parts cmd/cityhub wires in: a
// series store on its own SQLite file and the ingest pipeline, running.
type iotStack struct {
	*stack
	series *tsdb.Store
	pipe   *ingest.Pipeline
}

func newIoTStack(t *testing.T, opts ...func(*web.Console)) *iotStack {
	t.Helper()
	ctx := context.Background()
	series, err := tsdb.Open(ctx, filepath.Join(t.TempDir(), "series.sqlite"), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { series.Close() })
	var pipe *ingest.Pipeline
	s := newStack(t, append([]func(*web.Console){func(c *web.Console) {
		pipe = ingest.New(series, c.Store, ingest.Options{})
		c.Series, c.Ingest = series, pipe
	}}, opts...)...)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &iotStack{stack: s, series: series, pipe: pipe}
}

// device registers a device and returns it with its token.
func (s *iotStack) device(name, typ string, dept *cityhub.Department, opts ...func(*cityhub.Device)) (*cityhub.Device, string) {
	s.t.Helper()
	d := &cityhub.Device{Name: name, Type: typ, DepartmentID: dept.ID, Division: dept.Division, Lon: 121.55, Lat: 29.87}
	for _, o := range opts {
		o(d)
	}
	token, err := s.store.CreateDevice(context.Background(), d)
	if err != nil {
		s.t.Fatal(err)
	}
	return d, token
}

// readings writes one value of key every step back from now, n of them,
// straight into the series store, and records the device as seen.
func (s *iotStack) readings(d *cityhub.Device, key string, n int, step time.Duration, value func(i int) float64) {
	s.t.Helper()
	s.readingsUntil(d, time.Now().Truncate(time.Second), key, n, step, value)
}

// readingsUntil is readings ending at end. A device has one reading a
// time: readings of another key must not share their times.
func (s *iotStack) readingsUntil(d *cityhub.Device, end time.Time, key string, n int, step time.Duration, value func(i int) float64) {
	s.t.Helper()
	var rs []cityhub.Reading
	for i := n - 1; i >= 0; i-- {
		rs = append(rs, cityhub.Reading{DeviceID: d.ID, Time: end.Add(-time.Duration(i) * step),
			Values: []cityhub.Value{{Key: key, Num: value(i), Kind: cityhub.KindNumber}}})
	}
	outcomes, err := s.series.Write(context.Background(), rs)
	if err != nil {
		s.t.Fatal(err)
	}
	for i, o := range outcomes {
		if o != cityhub.Stored {
			s.t.Fatalf("reading %d of %s at %s: outcome %d, want stored", i, key, rs[i].Time, o)
		}
	}
	if err := s.store.TouchDevices(context.Background(), map[int64]time.Time{d.ID: end}); err != nil {
		s.t.Fatal(err)
	}
}

func TestDevicesOff(t *testing.T) {
	s := newStack(t) // no series store: the IoT platform is off
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	c := s.client()
	c.signIn("admin")
	r := c.get("/devices")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="iot-off"`, "物联网平台未启用", `href="/devices" aria-current="page"`)
	for _, path := range []string{"/devices/1", "/devices/new", "/devices/import"} {
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "物联网平台未启用")
	}
	r = c.get("/devices/1/series.json?key=pm25&range=1h")
	wantStatus(t, r, http.StatusNotFound)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("series.json Content-Type %q", r.header.Get("Content-Type"))
	}
	r = c.post("/devices/new", url.Values{"csrf": {c.csrf()}, "name": {"x"}})
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "物联网平台未启用")
	wantStatus(t, c.get("/devices/1/series.csv?key=pm25&range=1h"), http.StatusNotFound)
	wantStatus(t, c.get("/devices?lang=en"), http.StatusOK)
	wantBody(t, c.get("/devices"), "The IoT platform is off.")
	s.noErrorLogs()
}

func TestDeviceList(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", s.district, cityhub.RoleConsumer)
	s.user("steward", s.district, cityhub.RoleSteward)
	aq, _ := s.device("aq-haishu-001", "AirQualityObserved", s.district)
	s.device("aq-haishu-002", "AirQualityObserved", s.district)
	s.device("noise-city-001", "NoiseLevelObserved", s.city, func(d *cityhub.Device) { d.Division = "330212" })
	s.readings(aq, "pm25", 10, time.Minute, func(i int) float64 { return 35 + float64(i) })
	if _, err := s.series.Write(context.Background(), []cityhub.Reading{{DeviceID: aq.ID, Time: time.Now().Truncate(time.Millisecond),
		Values: []cityhub.Value{{Key: "pm10", Num: 52.25, Kind: cityhub.KindNumber}, {Key: "airQualityLevel", Text: "良", Kind: cityhub.KindText}}}}); err != nil {
		t.Fatal(err)
	}

	c := s.client()
	wantStatus(t, c.get("/devices"), http.StatusSeeOther) // signed out
	c.signIn("reader")
	r := c.get("/devices")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="devices-table"`, "aq-haishu-001", "aq-haishu-002", "noise-city-001", "空气质量监测站", "噪声监测点",
		`badge state-online">在线`, `badge state-never">从未上报`, "共 3 条",
		// latest values inline, in the type's order, with units
		`<span class="reading-label">PM2.5</span> <strong>35</strong> <small>µg/m³</small>`,
		`<span class="reading-label">PM10</span> <strong>52.25</strong>`, "空气质量级别", "良",
		"330203 海曙区", s.district.Name, `href="/devices/`+id(aq.ID)+`"`)
	wantNotBody(t, r, `id="devices-new"`, `id="devices-import"`) // a consumer reads only
	wantNoRawKeys(t, "/devices", r)
	if got := typeChip(r.body, "AirQualityObserved"); got != "2" {
		t.Errorf("air quality chip count %q, want 2", got)
	}
	if got := typeChip(r.body, "NoiseLevelObserved"); got != "1" {
		t.Errorf("noise chip count %q, want 1", got)
	}
	if strings.Contains(r.body, `data-type="WeatherObserved"`) {
		t.Error("a type without devices has a chip")
	}

	for _, tc := range []struct {
		query      string
		want, not  []string
		totalCount string
	}{
		{"type=NoiseLevelObserved", []string{"noise-city-001"}, []string{"aq-haishu-001"}, "共 1 条"},
		{"department=" + id(s.district.ID), []string{"aq-haishu-001", "aq-haishu-002"}, []string{"noise-city-001"}, "共 2 条"},
		{"division=330212", []string{"noise-city-001"}, []string{"aq-haishu-002"}, "共 1 条"},
		{"q=002", []string{"aq-haishu-002"}, []string{"aq-haishu-001", "noise-city-001"}, "共 1 条"},
		{"q=nothing", []string{"没有符合条件的设备"}, []string{"aq-haishu-001"}, "共 0 条"},
	} {
		r := c.get("/devices?" + tc.query)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, append(tc.want, tc.totalCount, `id="devices-clear"`)...)
		wantNotBody(t, r, tc.not...)
	}
	// The type chips count under the other filters.
	r = c.get("/devices?department=" + id(s.district.ID))
	if got := typeChip(r.body, "NoiseLevelObserved"); got != "" {
		t.Errorf("noise chip under the district's filter: %q, want none", got)
	}
	wantStatus(t, c.get("/devices?department=abc"), http.StatusBadRequest)

	// Stewards see the way to add devices.
	st := s.client()
	st.signIn("steward")
	wantBody(t, st.get("/devices"), `id="devices-new"`, `id="devices-import"`)

	// English labels.
	r = c.get("/devices?lang=en")
	wantBody(t, r, "Air quality station", "Noise monitor", ">Online<", ">Never reported<", "Devices")
	wantNoRawKeys(t, "/devices?lang=en", r)
	s.noErrorLogs()
}

// typeChip reads the count on a type's chip in the list ("" for none).
func typeChip(body, typ string) string {
	m := regexp.MustCompile(`data-type="` + typ + `"[^>]*>[^<]*<span class="count">(\d+)</span>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestDeviceListPages(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", s.city, cityhub.RoleOperator)
	for i := range 25 {
		s.device("lamp-"+strconv.Itoa(100+i), "Streetlight", s.city)
	}
	c := s.client()
	c.signIn("reader")
	r := c.get("/devices")
	wantBody(t, r, "共 25 条", "lamp-100", "lamp-119", "第 1 / 2 页", `rel="next"`)
	wantNotBody(t, r, "lamp-120")
	r = c.get("/devices?page=2")
	wantBody(t, r, "lamp-120", "lamp-124", "第 2 / 2 页")
	wantNotBody(t, r, "lamp-119")
}

func TestDevicePage(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", nil, cityhub.RoleAuditor)
	s.user("steward", s.district, cityhub.RoleSteward)
	s.user("other", s.city, cityhub.RoleSteward)
	s.user("deptadmin", s.district, cityhub.RoleDeptAdmin)
	aq, _ := s.device("aq-haishu-001", "AirQualityObserved", s.district)
	if err := s.store.MergeDeviceAttributes(context.Background(), aq.ID, map[string]any{"firmware": "2.4.1", "sim": 46001}); err != nil {
		t.Fatal(err)
	}
	s.readings(aq, "pm25", 30, time.Minute, func(i int) float64 { return 30 + float64(i%5) })
	// Through the pipeline: one good value, two refused.
	res, err := s.pipe.SubmitWait(context.Background(), aq, "mqtt", []ingest.Sample{{Values: map[string]any{
		"pm10": 48.0, "pm25": 5000.0, "humidity": 60.0}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 1 || res.Rejected != 2 {
		t.Fatalf("pipeline result %+v, want 1 stored and 2 rejected", res)
	}

	c := s.client()
	c.signIn("reader")
	r := c.get("/devices/" + id(aq.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="device-name" class="break">aq-haishu-001<`, "空气质量监测站", "AirQualityObserved",
		`id="device-department">`+s.district.Name, "330203 海曙区", "121.550000, 29.870000",
		"urn:ngsi-ld:AirQualityObserved:aq-haishu-001", "firmware", "2.4.1", "46001", `badge state-online`,
		"超过 15 分钟 未上报视为离线",
		// latest values with units and times
		`data-key="pm25"`, "µg/m³", `data-key="pm10"`, "<strong>48</strong>", "尚无数据",
		// ingest counts and rejections
		`id="count-received">3<`, `id="count-stored">1<`, `id="count-rejected">2<`, "数值无效", "未知属性",
		"outside the plausible range", `AirQualityObserved has no property &#34;humidity&#34;`, "mqtt",
		// the chart and its data
		`id="device-chart"`, `data-series-url="/devices/`+id(aq.ID)+`/series.json"`,
		`<option value="pm25" selected>PM2.5 (µg/m³)</option>`, `<option value="24h" selected>`,
		`href="/devices/`+id(aq.ID)+`/series.csv?key=pm25&amp;range=24h"`,
		`<script src="/static/echarts/echarts.min.js?v=test" defer></script>`,
		`<script src="/static/devices.js?v=test" defer></script>`)
	wantNotBody(t, r, `id="rotate-form"`, `<option value="airQualityLevel"`) // text properties have no chart
	wantNoRawKeys(t, "device page", r)
	// The chart's choice comes from the query.
	r = c.get("/devices/" + id(aq.ID) + "?key=pm10&range=7d")
	wantBody(t, r, `<option value="pm10" selected>`, `<option value="7d" selected>`, "series.csv?key=pm10&amp;range=7d")
	r = c.get("/devices/" + id(aq.ID) + "?lang=en")
	wantBody(t, r, "Air quality station", "Invalid value", "Unknown property", "Latest readings", "Observed at")
	wantNoRawKeys(t, "device page en", r)
	wantStatus(t, c.get("/devices/999999"), http.StatusNotFound)
	wantStatus(t, c.get("/devices/abc"), http.StatusNotFound)

	// Managers of the department see the rotation; others do not.
	for user, want := range map[string]bool{"steward": true, "deptadmin": true, "other": false} {
		uc := s.client()
		uc.signIn(user)
		r := uc.get("/devices/" + id(aq.ID))
		if got := strings.Contains(r.body, `id="rotate-form"`); got != want {
			t.Errorf("%s sees the rotate form: %v, want %v", user, got, want)
		}
	}
	s.noErrorLogs()
}

// seriesOf reads a device's series.json.
func seriesOf(t *testing.T, c *client, dev int64, query string) (int, map[string]any) {
	t.Helper()
	r := c.get("/devices/" + id(dev) + "/series.json?" + query)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("series.json?%s: Content-Type %q\n%s", query, r.header.Get("Content-Type"), r.body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("series.json?%s: %v\n%s", query, err, r.body)
	}
	return r.status, out
}

func TestDeviceSeries(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", s.city, cityhub.RoleConsumer)
	aq, _ := s.device("aq-1", "AirQualityObserved", s.district)
	lamp, _ := s.device("lamp-1", "Streetlight", s.district)
	// Every minute for 90 minutes (1h sees 60 or 61), and hourly for three days.
	s.readings(aq, "pm25", 90, time.Minute, func(i int) float64 { return float64(i) })
	s.readingsUntil(aq, time.Now().Truncate(time.Second).Add(-30*time.Second), "pm10", 72, time.Hour, func(i int) float64 { return 100 })
	if _, err := s.series.Write(context.Background(), []cityhub.Reading{{DeviceID: lamp.ID, Time: time.Now().Add(-time.Minute).Truncate(time.Millisecond),
		Values: []cityhub.Value{{Key: "status", Text: "=ok", Kind: cityhub.KindText}}}}); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	c.signIn("reader")

	status, got := seriesOf(t, c, aq.ID, "key=pm25&range=1h")
	if status != http.StatusOK {
		t.Fatalf("1h: status %d %v", status, got)
	}
	n := int(got["count"].(float64))
	if n < 60 || n > 61 || got["step"] != "raw" || got["unit"] != "µg/m³" || got["label"] != "PM2.5" {
		t.Errorf("1h: count %d step %v unit %v label %v", n, got["step"], got["unit"], got["label"])
	}
	points := got["points"].([]any)
	last := points[len(points)-1].([]any)
	if last[1].(float64) != 0 {
		t.Errorf("1h: the newest point %v, want value 0", last)
	}
	if from, to := got["from"].(float64), got["to"].(float64); to-from < float64(time.Hour.Milliseconds()) {
		t.Errorf("1h: axis %v to %v is shorter than an hour", from, to)
	}

	_, got = seriesOf(t, c, aq.ID, "key=pm25&range=24h")
	if n := int(got["count"].(float64)); got["step"] != "1m" || got["agg"] != "avg" || n < 89 || n > 91 {
		t.Errorf("24h: step %v agg %v count %d, want 1m, avg, about 90", got["step"], got["agg"], n)
	}
	_, got = seriesOf(t, c, aq.ID, "key=pm10&range=7d")
	if n := int(got["count"].(float64)); got["step"] != "1h" || n < 72 || n > 73 {
		t.Errorf("7d: step %v count %d, want 1h and 72", got["step"], n)
	}
	// A silence longer than the type's timeout breaks the line.
	_, got = seriesOf(t, c, aq.ID, "key=pm10&range=24h")
	nulls := 0
	for _, p := range got["points"].([]any) {
		if p.([]any)[1] == nil {
			nulls++
		}
	}
	if nulls == 0 {
		t.Errorf("24h of hourly readings: no gaps in %v", got["points"])
	}

	for _, tc := range []struct {
		dev    int64
		query  string
		status int
	}{
		{aq.ID, "key=nope&range=1h", http.StatusBadRequest},
		{aq.ID, "key=pm25&range=1y", http.StatusBadRequest},
		{lamp.ID, "key=status&range=1h", http.StatusBadRequest}, // text: no chart
		{999999, "key=pm25&range=1h", http.StatusNotFound},
	} {
		status, got := seriesOf(t, c, tc.dev, tc.query)
		if status != tc.status || got["error"] == "" || got["error"] == nil {
			t.Errorf("%d?%s: status %d body %v, want %d with an error", tc.dev, tc.query, status, got, tc.status)
		}
	}

	// CSV of the same series.
	r := c.get("/devices/" + id(aq.ID) + "/series.csv?key=pm25&range=1h")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("CSV Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "aq-1-pm25-1h.csv") {
		t.Errorf("CSV Content-Disposition %q", cd)
	}
	rows := readCSV(t, r.body)
	if strings.Join(rows[0], ",") != "time,device,property,value,unit,step" || len(rows) < 61 || len(rows) > 62 {
		t.Fatalf("CSV header %v and %d rows", rows[0], len(rows))
	}
	if row := rows[len(rows)-1]; row[1] != "aq-1" || row[2] != "pm25" || row[3] != "0" || row[4] != "µg/m³" || row[5] != "raw" {
		t.Errorf("CSV last row %v", row)
	}
	rows = readCSV(t, c.get("/devices/"+id(aq.ID)+"/series.csv?key=pm10&range=7d").body)
	if len(rows) < 73 || rows[1][5] != "1h avg" {
		t.Errorf("7d CSV: %d rows, first %v", len(rows), rows[1])
	}
	// Text properties export their raw readings, defused for spreadsheets.
	r = c.get("/devices/" + id(lamp.ID) + "/series.csv?key=status&range=1h")
	wantStatus(t, r, http.StatusOK)
	if rows := readCSV(t, r.body); len(rows) != 2 || rows[1][3] != "'=ok" {
		t.Errorf("text CSV %v", rows)
	}
	wantStatus(t, c.get("/devices/"+id(lamp.ID)+"/series.csv?key=status&range=24h"), http.StatusBadRequest)
	s.noErrorLogs()
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

var deviceToken = regexp.MustCompile(`id="device-token">([^<]+)<`)

func TestDeviceCreate(t *testing.T) {
	s := newIoTStack(t, func(c *web.Console) { c.MQTTAddr = "iot.example.gov.cn:8883" })
	s.user("reader", s.district, cityhub.RoleConsumer)
	s.user("steward", s.district, cityhub.RoleSteward)
	s.user("admin", nil, cityhub.RolePlatformAdmin)

	rc := s.client()
	rc.signIn("reader")
	wantStatus(t, rc.get("/devices/new"), http.StatusForbidden)
	wantStatus(t, rc.post("/devices/new", url.Values{"csrf": {rc.csrf()}, "name": {"x"}}), http.StatusForbidden)

	c := s.client()
	c.signIn("steward")
	r := c.get("/devices/new")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="device-form"`, `<option value="`+id(s.district.ID)+`" selected>`, "空气质量监测站 · AirQualityObserved",
		`<option value="330203">`)
	wantNotBody(t, r, `<option value="`+id(s.city.ID)+`"`) // only the steward's own department
	wantNoRawKeys(t, "/devices/new", r)
	csrf := c.csrf()
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "name": {"aq-haishu-009"}, "type": {"AirQualityObserved"},
			"department_id": {id(s.district.ID)}, "lon": {"121.5503"}, "lat": {"29.8741"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// Another department's devices are not the steward's to add.
	wantStatus(t, c.post("/devices/new", form("department_id", id(s.city.ID))), http.StatusForbidden)
	// Field errors come back beside the fields.
	r = c.post("/devices/new", form("name", "aq haishu", "type", "", "lon", "200"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="error-summary"`, `id="name-error"`, "不能包含空格或 MQTT 字符", `id="type-error"`,
		`id="location-error"`, "经度 73–136", `value="aq haishu"`)
	r = c.post("/devices/new", form("lat", "north"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="location-error">不是数字<`)

	r = c.post("/devices/new", form())
	wantStatus(t, r, http.StatusOK)
	m := deviceToken.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no token on the page\n%s", r.body)
	}
	token := m[1]
	wantBody(t, r, "设备已创建", "令牌只显示这一次", `data-copy="device-token"`,
		`id="mqtt-host">iot.example.gov.cn<`, `id="mqtt-port">8883<`, `id="mqtt-topic">v1/devices/me/telemetry<`,
		"mosquitto_pub -h iot.example.gov.cn -p 8883 -u "+token+" -t v1/devices/me/telemetry",
		"&#34;pm25&#34;:35",
		"curl -X POST", "/api/v1/"+token+"/telemetry", `&#34;ts&#34;:`)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token page Cache-Control %q", r.header.Get("Cache-Control"))
	}
	dev, err := s.store.DeviceByToken(context.Background(), token)
	if err != nil {
		t.Fatalf("the shown token does not sign the device in: %v", err)
	}
	if dev.Name != "aq-haishu-009" || dev.Division != "330203" || dev.EntityID != "urn:ngsi-ld:AirQualityObserved:aq-haishu-009" {
		t.Errorf("created %+v; want the department's division and a derived entity id", dev)
	}
	// The token is never shown again.
	for _, path := range []string{"/devices/" + id(dev.ID), "/devices", "/devices/new"} {
		wantNotBody(t, c.get(path), token)
	}
	// Names are unique.
	r = c.post("/devices/new", form())
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, `id="name-error"`)

	// A platform administrator adds for any department, with its own district.
	ac := s.client()
	ac.signIn("admin")
	r = ac.post("/devices/new", url.Values{"csrf": {ac.csrf()}, "name": {"gw-1"}, "type": {"TunnelGasObserved"},
		"department_id": {id(s.city.ID)}, "division": {"330212"}, "lon": {"121.6"}, "lat": {"29.8"}, "gateway": {"1"}})
	wantStatus(t, r, http.StatusOK)
	gw, err := s.store.DeviceByName(context.Background(), "gw-1")
	if err != nil || !gw.Gateway || gw.Division != "330212" {
		t.Errorf("gateway %+v, %v", gw, err)
	}
	// English instructions.
	r = ac.post("/devices/new?lang=en", url.Values{"csrf": {ac.csrf()}, "name": {"gw-2"}, "type": {"TunnelGasObserved"},
		"department_id": {id(s.city.ID)}, "lon": {"121.6"}, "lat": {"29.8"}})
	wantBody(t, r, "Connect over MQTT", "The token is shown this once")
	wantNoRawKeys(t, "token page en", r)
	s.noErrorLogs()
}

func TestDeviceTokenRotation(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", s.district, cityhub.RoleConsumer)
	s.user("steward", s.district, cityhub.RoleSteward)
	s.user("other", s.city, cityhub.RoleSteward)
	s.user("deptadmin", s.district, cityhub.RoleDeptAdmin)
	dev, old := s.device("aq-1", "AirQualityObserved", s.district)
	path := "/devices/" + id(dev.ID) + "/token"
	for _, user := range []string{"reader", "other"} {
		c := s.client()
		c.signIn(user)
		wantStatus(t, c.post(path, url.Values{"csrf": {c.csrf()}}), http.StatusForbidden)
	}
	if _, err := s.store.DeviceByToken(context.Background(), old); err != nil {
		t.Fatalf("a refused rotation changed the token: %v", err)
	}
	c := s.client()
	c.signIn("steward")
	wantStatus(t, c.post(path, url.Values{}), http.StatusForbidden) // no CSRF value
	r := c.post(path, url.Values{"csrf": {c.csrf()}})
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "已生成新的访问令牌", `id="old-token-note"`, "v1/devices/me/telemetry")
	m := deviceToken.FindStringSubmatch(r.body)
	if m == nil || m[1] == old {
		t.Fatalf("no new token on the page")
	}
	if _, err := s.store.DeviceByToken(context.Background(), old); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Errorf("the old token still works: %v", err)
	}
	if d, err := s.store.DeviceByToken(context.Background(), m[1]); err != nil || d.ID != dev.ID {
		t.Errorf("the new token: %v", err)
	}
	wantNotBody(t, c.get("/devices/"+id(dev.ID)), m[1])
	da := s.client()
	da.signIn("deptadmin")
	wantStatus(t, da.post(path, url.Values{"csrf": {da.csrf()}}), http.StatusOK)
	wantStatus(t, da.post("/devices/999999/token", url.Values{"csrf": {da.csrf()}}), http.StatusNotFound)
	s.noErrorLogs()
}

// importDevices posts a device CSV as the import form does.
func importDevices(c *client, action string, skip bool, name string, content []byte) *response {
	c.t.Helper()
	fields := url.Values{"csrf": {c.csrf()}, "action": {action}}
	if skip {
		fields.Set("skip_invalid", "1")
	}
	return c.upload("/devices/import", fields, name, content)
}

// problems reads the import report's rows: row, column, reason.
func problems(body string) [][3]string {
	var out [][3]string
	table := between(body, `id="import-problems"`, "</table>")
	re := regexp.MustCompile(`(?s)<tr>\s*<td class="nowrap"[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>\s*<td class="reason"[^>]*>([^<]*)</td>`)
	for _, m := range re.FindAllStringSubmatch(table, -1) {
		out = append(out, [3]string{m[1], html.UnescapeString(m[2]), html.UnescapeString(m[3])})
	}
	return out
}

func hasProblem(list [][3]string, row, column, reason string) bool {
	for _, p := range list {
		if p[0] == row && p[1] == column && strings.Contains(p[2], reason) {
			return true
		}
	}
	return false
}

var tokensLink = regexp.MustCompile(`href="data:text/csv;charset=utf-8;base64,([^"]+)" download="device-tokens.csv"`)

func TestDeviceImport(t *testing.T) {
	s := newIoTStack(t)
	s.user("reader", s.district, cityhub.RoleConsumer)
	s.user("steward", s.district, cityhub.RoleSteward)
	s.device("taken-1", "Streetlight", s.district)

	rc := s.client()
	rc.signIn("reader")
	wantStatus(t, rc.get("/devices/import"), http.StatusForbidden)
	wantStatus(t, importDevices(rc, "import", false, "d.csv", []byte("name\n")), http.StatusForbidden)

	c := s.client()
	c.signIn("steward")
	r := c.get("/devices/import")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="device-import-form"`, "name,type,department,division,lon,lat")
	wantNoRawKeys(t, "/devices/import", r)
	tmpl := c.get("/devices/import/template.csv")
	wantStatus(t, tmpl, http.StatusOK)
	if rows := readCSV(t, tmpl.body); strings.Join(rows[0], ",") != "name,type,department,division,lon,lat" {
		t.Errorf("template header %v", rows[0])
	}

	file := "name,type,department,division,lon,lat\n" +
		"aq-101,AirQualityObserved,海曙区大数据中心,330203,121.55,29.87\n" + // row 2: fine
		"aq-102,空气质量监测站,海曙数据,,121.56,29.88\n" + // row 3: fine, by label and short name
		"aq-103,Toaster,海曙区大数据中心,330203,121.55,29.87\n" + // row 4: type
		"aq-104,AirQualityObserved,海曙区大数据中心,330203,abc,29.87\n" + // row 5: lon
		"aq-105,AirQualityObserved,宁波市大数据发展管理局,330203,121.55,29.87\n" + // row 6: not the steward's
		"aq-101,AirQualityObserved,海曙区大数据中心,330203,121.55,29.87\n" + // row 7: name twice
		"taken-1,Streetlight,海曙区大数据中心,330203,121.55,60\n" + // row 8: name taken, lat out of range
		"\n" +
		"aq 110,AirQualityObserved,无此部门,999999,121.55,29.87\n" // row 10: name, department, division
	want := []struct{ row, column, reason string }{
		{"4", "type", "没有名为“Toaster”的设备类型"},
		{"5", "lon", "不是数字"},
		{"6", "department", "您无权为“宁波市大数据发展管理局”添加设备"},
		{"7", "name", "与第 2 行的设备名称重复"},
		{"8", "name", "已有同名设备"},
		{"8", "lat", "纬度 60 超出范围"},
		{"10", "name", "不能包含空格"},
		{"10", "department", "没有名为“无此部门”的部门"},
		{"10", "division", "“999999”不是已知的行政区划代码"},
	}
	count := func() int {
		_, n, err := s.store.Devices(context.Background(), cityhub.DeviceQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Checking writes nothing.
	r = importDevices(c, "check", false, "设备.csv", []byte(file))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="import-dry-run"`, `id="count-rows">8<`, `id="count-valid">2<`, "检查发现 9 个问题，涉及 6 行")
	got := problems(r.body)
	for _, w := range want {
		if !hasProblem(got, w.row, w.column, w.reason) {
			t.Errorf("no problem row %s column %s %q in %v", w.row, w.column, w.reason, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(got), len(want), got)
	}
	// All or nothing: problems, no skip, nothing created.
	r = importDevices(c, "import", false, "设备.csv", []byte(file))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "没有导入任何设备", `class="import-outcome none"`)
	wantNotBody(t, r, "data:text/csv")
	if n := count(); n != 1 {
		t.Fatalf("%d devices after a refused import, want 1", n)
	}

	// Skipping the bad rows creates the good ones and offers their tokens once.
	r = importDevices(c, "import", true, "设备.csv", []byte(file))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `class="import-outcome partial"`, "已创建 2 台设备，跳过了 6 行", `id="count-created">2<`, "aq-101", "aq-102")
	m := tokensLink.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no token download on the page\n%s", r.body)
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, string(raw))
	if strings.Join(rows[0], ",") != "id,name,type,department,entity_id,token" || len(rows) != 3 {
		t.Fatalf("tokens CSV %v", rows)
	}
	for _, row := range rows[1:] {
		d, err := s.store.DeviceByToken(context.Background(), row[5])
		if err != nil || d.Name != row[1] || strconv.FormatInt(d.ID, 10) != row[0] {
			t.Errorf("token row %v: device %+v, %v", row, d, err)
		}
		if row[3] != s.district.Name {
			t.Errorf("token row %v: department %q", row, row[3])
		}
		// Offered exactly once: no page shows it again.
		for _, path := range []string{"/devices/import", "/devices/" + row[0], "/devices"} {
			wantNotBody(t, c.get(path), row[5])
		}
	}
	if d, err := s.store.DeviceByName(context.Background(), "aq-102"); err != nil || d.Division != "330203" || d.DepartmentID != s.district.ID {
		t.Errorf("aq-102 %+v, %v; want the department's division", d, err)
	}
	if n := count(); n != 3 {
		t.Errorf("%d devices, want 3", n)
	}

	// A clean file in GB18030 with Chinese headers imports whole.
	gbk, err := simplifiedchinese.GB18030.NewEncoder().String("名称,类型,部门,区县,经度,纬度\n" +
		"noise-1,噪声监测点,海曙区大数据中心,海曙区,121.5,29.9\nnoise-2,NoiseLevelObserved,海曙区大数据中心,,121.5,29.9\n")
	if err != nil {
		t.Fatal(err)
	}
	r = importDevices(c, "import", false, "gbk.csv", []byte(gbk))
	wantBody(t, r, `class="import-outcome ok"`, "导入完成：已创建 2 台设备")
	if tokensLink.FindStringSubmatch(r.body) == nil {
		t.Error("no tokens for the clean import")
	}

	// Problems with the file as a whole.
	for _, tc := range []struct {
		name, content, want string
	}{
		{"header.csv", "name,type,department,lon\nx,Streetlight,海曙数据,121\n", "缺少必需的列"},
		{"extra.csv", "name,type,department,lon,lat,colour\n", "未知的列"},
		{"quote.csv", "name,type,department,lon,lat\n\"x,Streetlight,海曙数据,121,29\n", "无法读取该文件"},
	} {
		r := importDevices(c, "import", true, tc.name, []byte(tc.content))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `class="import-outcome none"`, tc.want)
	}
	r = importDevices(c, "import", false, "", nil)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="file-error"`)
	r = importDevices(c, "import", false, "empty.csv", []byte("\n"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "文件是空的")
	// Files larger than a form's limit go through: 1,200 rows, about 90 KiB.
	var many strings.Builder
	many.WriteString("name,type,department,division,lon,lat\n")
	for i := range 1200 {
		many.WriteString("traffic-detector-haishu-" + strconv.Itoa(10000+i) + ",TrafficFlowObserved,海曙区大数据中心,330203,121.55,29.87\n")
	}
	r = importDevices(c, "check", false, "many.csv", []byte(many.String()))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "检查通过：1200 台设备都可以导入")
	big := bytes.Repeat([]byte("x"), 4<<20+1)
	r = importDevices(c, "import", false, "big.csv", big)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if n := count(); n != 5 {
		t.Errorf("%d devices, want 5", n)
	}
	s.noErrorLogs()
}

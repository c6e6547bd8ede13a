package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

var deviceSeq atomic.Int64

// newDevice registers an air-quality device of dept and returns it with its token.
func (e *env) newDevice(dept *cityhub.Department) (*cityhub.Device, string) {
	d := &cityhub.Device{Name: fmt.Sprintf("aq-%03d", deviceSeq.Add(1)), Type: "AirQualityObserved", DepartmentID: dept.ID,
		Division: "330203", Lon: 121.55, Lat: 29.87}
	token, err := e.store.CreateDevice(systemCtx(), d)
	if err != nil {
		panic(err)
	}
	return d, token
}

func devicePath(id int64, suffix string) string {
	return fmt.Sprintf("/api/v1/devices/%d%s", id, suffix)
}

func deviceMatrixCases() []matrixCase {
	var cases []matrixCase
	add := func(name, pattern string, prepare func(*env, string) call, def int, want map[string]int,
		check func(*testing.T, *env, string, call, *response)) {
		cases = append(cases, matrixCase{name, pattern, prepare, def, want, check})
	}
	fresh := func(suffix string, body any) func(*env, string) call {
		return func(e *env, _ string) call {
			d, _ := e.newDevice(e.deptA)
			return call{path: devicePath(d.ID, suffix), body: body}
		}
	}
	// The device API authenticates the device by its token: callers' own
	// credentials do not matter.
	d, w := statuses(200, anon, 200)
	add("device sends telemetry", "POST /api/v1/{token}/telemetry", func(e *env, _ string) call {
		_, token := e.newDevice(e.deptA)
		return call{path: "/api/v1/" + token + "/telemetry", body: map[string]any{"pm25": 35, "no2": 12.5}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got telemetryResult
		res.decode(t, &got)
		if got.Received != 2 || got.Stored != 2 {
			t.Errorf("got %s, want 2 values stored", res.body)
		}
	})
	d, w = statuses(204, anon, 204)
	add("device sets attributes", "POST /api/v1/{token}/attributes", func(e *env, _ string) call {
		_, token := e.newDevice(e.deptA)
		return call{path: "/api/v1/" + token + "/attributes", body: map[string]any{"firmware": "1.2"}}
	}, d, w, nil)

	add("device types", "GET /api/v1/device-types", fixed("/api/v1/device-types", nil), 200, nil,
		func(t *testing.T, e *env, role string, c call, res *response) {
			var l listOf[cityhub.DeviceType]
			res.decode(t, &l)
			if l.Total < 10 {
				t.Errorf("got %d device types, want the ten seeded", l.Total)
			}
		})
	add("list devices", "GET /api/v1/devices", fresh("", nil), 200, nil, nil)
	for i := range cases {
		if cases[i].name == "list devices" {
			cases[i].prepare = func(e *env, role string) call {
				e.newDevice(e.deptA)
				return call{path: "/api/v1/devices?type=AirQualityObserved"}
			}
		}
	}
	d, w = statuses(403, rPA, 201, rDA, 201, rST, 201)
	add("register a device of A", "POST /api/v1/devices", func(e *env, role string) call {
		return call{path: "/api/v1/devices", body: map[string]any{"name": fmt.Sprintf("new-%d", deviceSeq.Add(1)),
			"type": "WaterQualityObserved", "department_id": e.deptA.ID, "division": "330203", "lon": 121.5, "lat": 29.9}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got deviceCreated
		res.decode(t, &got)
		if len(got.Token) != 24 || got.Device.ID == 0 {
			t.Errorf("got %s, want the device and its 24-character token", res.body)
		}
		if dev, err := e.store.DeviceByToken(systemCtx(), got.Token); err != nil || dev.ID != got.Device.ID {
			t.Errorf("the token does not find the device: %v", err)
		}
	})
	add("read a device", "GET /api/v1/devices/{id}", fresh("", nil), 200, nil, nil)
	d, w = statuses(403, rPA, 200, rDA, 200, rST, 200)
	add("change a device of A", "PATCH /api/v1/devices/{id}", func(e *env, _ string) call {
		dev, _ := e.newDevice(e.deptA)
		return call{path: devicePath(dev.ID, ""), body: map[string]any{"name": dev.Name, "type": dev.Type,
			"department_id": e.deptA.ID, "division": "330205", "lon": 121.6, "lat": 29.8}}
	}, d, w, func(t *testing.T, e *env, role string, c call, res *response) {
		var got deviceView
		res.decode(t, &got)
		if got.Division != "330205" || got.Lon != 121.6 {
			t.Errorf("got %s, want the new district and location", res.body)
		}
	})
	d, w = statuses(403, rPA, 204, rDA, 204, rST, 204)
	add("remove a device of A", "DELETE /api/v1/devices/{id}", fresh("", nil), d, w, nil)
	d, w = statuses(403, rPA, 200, rDA, 200, rST, 200)
	add("rotate a device token", "POST /api/v1/devices/{id}/token", fresh("/token", nil), d, w, nil)
	add("read a series", "GET /api/v1/devices/{id}/series", fresh("/series?key=pm25", nil), 200, nil, nil)
	add("export a series", "GET /api/v1/devices/{id}/series.csv", fresh("/series.csv?key=pm25", nil), 200, nil, nil)
	add("latest values", "GET /api/v1/latest", fixed("/api/v1/latest?division_code=330203", nil), 200, nil, nil)
	add("ingest counts", "GET /api/v1/ingest", fixed("/api/v1/ingest", nil), 200, nil, nil)
	add("MQTT bridge status (none configured)", "GET /api/v1/mqtt-bridge", fixed("/api/v1/mqtt-bridge", nil), 404, nil, nil)
	return cases
}

// Telemetry over HTTP is stored before the answer, checked against the
// device type, and queryable raw, aggregated and as CSV.
func TestHTTPTelemetry(t *testing.T) {
	e := newEnv(t)
	dev, token := e.newDevice(e.deptA)
	post := func(body string) *response {
		return e.do("POST", "/api/v1/"+token+"/telemetry", "", body)
	}
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	var batch []string
	for i := range 120 { // two hours, one a minute
		batch = append(batch, fmt.Sprintf(`{"ts": %d, "values": {"pm25": %d}}`, base.Add(time.Duration(i)*time.Minute).UnixMilli(), i))
	}
	res := post("[" + strings.Join(batch, ",") + "]")
	if res.status != 200 || !strings.Contains(string(res.body), `"stored":120`) {
		t.Fatalf("batch: %d %s", res.status, res.body)
	}
	res = post(`{"pm25": 9999, "colour": 1}`)
	if res.status != 400 || !strings.Contains(string(res.body), "outside the plausible range") || !strings.Contains(string(res.body), `"rejected":2`) {
		t.Errorf("bad values: %d %s", res.status, res.body)
	}
	if res = post(`{"pm25": `); res.status != 400 {
		t.Errorf("malformed: %d %s", res.status, res.body)
	}
	if res = e.do("POST", "/api/v1/wrong-token/telemetry", "", map[string]any{"pm25": 1}); res.status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d %s", res.status, res.body)
	}
	tok := e.tokens[rCO]
	q := fmt.Sprintf("?key=pm25&from=%s&to=%s", base.Format(time.RFC3339), base.Add(2*time.Hour).Format(time.RFC3339))
	var raw seriesResult
	e.do("GET", devicePath(dev.ID, "/series"+q), tok, nil).decode(t, &raw)
	if len(raw.Points) != 120 || raw.Unit != "µg/m³" {
		t.Errorf("raw: %d points, unit %q", len(raw.Points), raw.Unit)
	}
	var hourly seriesResult
	e.do("GET", devicePath(dev.ID, "/series"+q+"&step=1h&agg=max"), tok, nil).decode(t, &hourly)
	if len(hourly.Points) != 2 || hourly.Points[0].Value != 59 || hourly.Points[1].Value != 119 {
		t.Errorf("hourly max: %+v", hourly.Points)
	}
	var avg seriesResult
	e.do("GET", devicePath(dev.ID, "/series"+q+"&step=30m"), tok, nil).decode(t, &avg)
	if len(avg.Points) != 4 || avg.Points[0].Value != 14.5 {
		t.Errorf("30-minute averages: %+v", avg.Points)
	}
	csv := e.do("GET", devicePath(dev.ID, "/series.csv"+q+"&step=1h&agg=count"), tok, nil)
	if want := "\ufefftime,pm25 (µg/m³)\n" + base.UTC().Format(time.RFC3339Nano); !strings.HasPrefix(string(csv.body), want) ||
		!strings.Contains(string(csv.body), ",60\n") {
		t.Errorf("csv:\n%s", csv.body)
	}
	if res = e.do("GET", devicePath(dev.ID, "/series?key=nope"), tok, nil); res.status != 400 {
		t.Errorf("unknown key: %d", res.status)
	}
	if res = e.do("GET", devicePath(dev.ID, "/series"+q+"&step=90s"), tok, nil); res.status != 400 {
		t.Errorf("step of 90s: %d", res.status)
	}
	var view deviceView
	e.do("GET", devicePath(dev.ID, ""), tok, nil).decode(t, &view)
	if view.Ingest == nil || view.Ingest.Stored != 120 || view.Ingest.Rejected != 3 || len(view.Latest) != 1 {
		t.Errorf("device view: %s", e.do("GET", devicePath(dev.ID, ""), tok, nil).body)
	}
}

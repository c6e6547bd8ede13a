package httpapi

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/mqttbridge"
)

// deviceRoutes are the IoT platform's endpoints: device types, devices and
// their tokens, ThingsBoard's HTTP telemetry, latest values and series.
func (s *Server) deviceRoutes() []route {
	return []route{
		{"POST", "/api/v1/{token}/telemetry", public, s.postTelemetry, operation{
			tag: "iot", summary: "ThingsBoard device API: send telemetry with the device's access token in the path; answers once stored",
			body: telemetryPayload{}, response: telemetryResult{}}},
		{"POST", "/api/v1/{token}/attributes", public, s.postAttributes, operation{
			tag: "iot", summary: "ThingsBoard device API: set the device's client attributes", body: map[string]any{}, status: 204}},
		{"GET", "/api/v1/device-types", signedIn, s.listDeviceTypes, operation{
			tag: "iot", summary: "Device types with their measured properties, units and plausible ranges",
			response: listOf[cityhub.DeviceType]{}}},
		{"GET", "/api/v1/devices", signedIn, s.listDevices, operation{
			tag: "iot", summary: "List devices with their online state",
			query: append([]param{{"type", "string", "device type"}, {"division_code", "string", "GB/T 2260 district"},
				{"department_id", "integer", "owner department"}, {"q", "string", "name contains"}}, pagingParams...),
			response: listOf[deviceView]{}}},
		{"POST", "/api/v1/devices", signedIn, s.createDevice, operation{
			tag: "iot", summary: "Register a device; its access token is shown only in this response",
			body: deviceInput{}, response: deviceCreated{}, status: 201}},
		{"GET", "/api/v1/devices/{id}", signedIn, s.getDevice, operation{
			tag: "iot", summary: "One device with its latest values and ingest counts", response: deviceView{}}},
		{"PATCH", "/api/v1/devices/{id}", signedIn, s.updateDevice, operation{
			tag: "iot", summary: "Change a device", body: deviceInput{}, response: deviceView{}}},
		{"DELETE", "/api/v1/devices/{id}", signedIn, s.deleteDevice, operation{
			tag: "iot", summary: "Remove a device (its readings stay until retention removes them)", status: 204}},
		{"POST", "/api/v1/devices/{id}/token", signedIn, s.rotateDeviceToken, operation{
			tag: "iot", summary: "Replace the device's access token; the old one stops working", response: deviceCreated{}}},
		{"GET", "/api/v1/devices/{id}/series", signedIn, s.deviceSeries, operation{
			tag: "iot", summary: "One property's readings over a range: raw, or one aggregate a step from the rollups",
			query: seriesParams, response: seriesResult{}}},
		{"GET", "/api/v1/devices/{id}/series.csv", signedIn, s.deviceSeriesCSV, operation{
			tag: "iot", summary: "The same series as CSV (UTF-8 with BOM for Excel)", query: seriesParams}},
		{"GET", "/api/v1/latest", signedIn, s.latestValues, operation{
			tag: "iot", summary: "Latest values by device, filtered by type, district or department",
			query: append([]param{{"type", "string", "device type"}, {"division_code", "string", "GB/T 2260 district"},
				{"department_id", "integer", "owner department"}}, pagingParams...),
			response: listOf[deviceView]{}}},
		{"GET", "/api/v1/ingest", signedIn, s.ingestCounts, operation{
			tag: "iot", summary: "Values received, stored, duplicate, rejected and dropped (by reason) since start",
			response: ingest.Counts{}}},
		{"GET", "/api/v1/mqtt-bridge", signedIn, s.bridgeStatus, operation{
			tag: "iot", summary: "The connector to external MQTT brokers: connection and, per subscription, messages received, submitted and rejected",
			response: mqttbridge.Status{}}},
	}
}

var seriesParams = []param{{"key", "string", "property, e.g. pm25"}, {"from", "string", "RFC 3339, inclusive; default 24 h ago"},
	{"to", "string", "RFC 3339, exclusive; default now"}, {"step", "string", "0 (raw) or a whole number of minutes, e.g. 1m, 1h"},
	{"agg", "string", "avg, min, max, sum, count or last"}}

type telemetryPayload struct {
	TS     int64          `json:"ts,omitempty"`
	Values map[string]any `json:"values,omitempty"`
}

type telemetryResult struct {
	Received   int      `json:"received"`
	Stored     int      `json:"stored"`
	Duplicates int      `json:"duplicates"`
	Rejected   int      `json:"rejected"`
	Problems   []string `json:"problems"`
}

type deviceInput struct {
	Name         string         `json:"name"`
	Type         string         `json:"type"`
	DepartmentID int64          `json:"department_id"`
	Division     string         `json:"division"`
	Lon          float64        `json:"lon"`
	Lat          float64        `json:"lat"`
	Gateway      bool           `json:"gateway"`
	Disabled     bool           `json:"disabled"`
	EntityID     string         `json:"entity_id"`
	Attributes   map[string]any `json:"attributes"`
}

type deviceCreated struct {
	Device *cityhub.Device `json:"device"`
	Token  string          `json:"token"` // shown once
}

// deviceView is a device with its state.
type deviceView struct {
	*cityhub.Device
	Online bool                  `json:"online"`
	Latest []cityhub.LatestValue `json:"latest"`
	Ingest *ingest.DeviceCounts  `json:"ingest,omitempty"`
}

type seriesResult struct {
	DeviceID int64           `json:"device_id"`
	Key      string          `json:"key"`
	Unit     string          `json:"unit"`
	Step     string          `json:"step"`
	Agg      string          `json:"agg,omitempty"`
	Points   []cityhub.Point `json:"points"`
}

func (s *Server) iotOff() error {
	if s.Ingest == nil || s.Series == nil {
		return cityhub.Errorf(cityhub.EUNAVAILABLE, "the IoT platform is not running on this server")
	}
	return nil
}

// deviceFromToken finds the device of a path token; a wrong token is a
// 401, as ThingsBoard answers.
func (s *Server) deviceFromToken(r *http.Request) (*cityhub.Device, error) {
	if err := s.iotOff(); err != nil {
		return nil, err
	}
	d, err := s.Store.DeviceByToken(r.Context(), r.PathValue("token"))
	if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
		return nil, cityhub.Errorf(cityhub.EUNAUTHORIZED, "unknown or disabled device token")
	}
	return d, err
}

func (s *Server) readPayload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ingest.MaxPayload))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, cityhub.Errorf(cityhub.ETOOLARGE, "payload over %d KiB", ingest.MaxPayload>>10)
	}
	return body, err
}

func (s *Server) postTelemetry(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceFromToken(r)
	if cityhub.ErrorCode(err) == cityhub.EUNAUTHORIZED {
		s.Ingest.RejectOther(ingest.ReasonUnknownDevice, 1)
	}
	if err != nil {
		return err
	}
	body, err := s.readPayload(w, r)
	if err != nil {
		return err
	}
	samples, err := ingest.DecodeTelemetry(body)
	if err != nil {
		s.Ingest.RejectMalformed(d, "http", err)
		return cityhub.Errorf(cityhub.EINVALID, "%v", err)
	}
	res, err := s.Ingest.SubmitWait(r.Context(), d, "http", samples)
	if err != nil {
		return err
	}
	out := telemetryResult{Received: res.Received, Stored: res.Stored, Duplicates: res.Duplicates, Rejected: res.Rejected,
		Problems: res.Problems}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	status := http.StatusOK
	if res.Stored+res.Duplicates == 0 {
		status = http.StatusBadRequest // nothing of it was taken
	}
	writeJSON(w, status, out)
	return nil
}

func (s *Server) postAttributes(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceFromToken(r)
	if err != nil {
		return err
	}
	body, err := s.readPayload(w, r)
	if err != nil {
		return err
	}
	attrs, err := ingest.DecodeAttributes(body)
	if err != nil {
		return cityhub.Errorf(cityhub.EINVALID, "%v", err)
	}
	if err := s.Store.MergeDeviceAttributes(r.Context(), d.ID, attrs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeviceTypes(w http.ResponseWriter, r *http.Request) error {
	types := cityhub.DeviceTypes()
	writeJSON(w, http.StatusOK, listOf[cityhub.DeviceType]{Items: types, Total: len(types)})
	return nil
}

func deviceQuery(r *http.Request) (cityhub.DeviceQuery, error) {
	limit, offset, err := paging(r)
	if err != nil {
		return cityhub.DeviceQuery{}, err
	}
	q := r.URL.Query()
	dq := cityhub.DeviceQuery{Type: q.Get("type"), Division: q.Get("division_code"), Q: q.Get("q"), Limit: limit, Offset: offset}
	dep, err := queryID(r, "department_id")
	if dep != nil {
		dq.DepartmentID = *dep
	}
	return dq, err
}

func (s *Server) views(r *http.Request, devices []*cityhub.Device) ([]deviceView, error) {
	ids := make([]int64, len(devices))
	for i, d := range devices {
		ids[i] = d.ID
	}
	latest := map[int64][]cityhub.LatestValue{}
	if s.Series != nil {
		var err error
		if latest, err = s.Series.Latest(r.Context(), ids); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	out := make([]deviceView, len(devices))
	for i, d := range devices {
		v := deviceView{Device: d, Latest: latest[d.ID]}
		if v.Latest == nil {
			v.Latest = []cityhub.LatestValue{}
		}
		if t, ok := cityhub.DeviceTypeByName(d.Type); ok {
			v.Online = d.Online(t, now)
		}
		out[i] = v
	}
	return out, nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	dq, err := deviceQuery(r)
	if err != nil {
		return err
	}
	devices, total, err := s.Store.Devices(r.Context(), dq)
	if err != nil {
		return err
	}
	views, err := s.views(r, devices)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[deviceView]{Items: views, Total: total, Limit: dq.Limit, Offset: dq.Offset})
	return nil
}

// latestValues is the device list under its other name: what the city's
// sensors say now, by type, district or department.
func (s *Server) latestValues(w http.ResponseWriter, r *http.Request) error {
	if err := s.iotOff(); err != nil {
		return err
	}
	return s.listDevices(w, r)
}

func (d deviceInput) device() *cityhub.Device {
	return &cityhub.Device{Name: d.Name, Type: d.Type, DepartmentID: d.DepartmentID, Division: d.Division, Lon: d.Lon, Lat: d.Lat,
		Gateway: d.Gateway, Disabled: d.Disabled, EntityID: d.EntityID, Attributes: d.Attributes}
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) error {
	u, _ := cityhub.UserFrom(r.Context())
	var in deviceInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.DepartmentID == 0 && u.DepartmentID != nil {
		in.DepartmentID = *u.DepartmentID
	}
	if !u.CanManageDevices(in.DepartmentID) {
		return forbidden("register devices of this department (its administrators and data stewards)")
	}
	d := in.device()
	token, err := s.Store.CreateDevice(r.Context(), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, deviceCreated{Device: d, Token: token})
	return nil
}

func (s *Server) deviceFor(r *http.Request) (*cityhub.Device, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.Store.Device(r.Context(), id)
}

// managedDevice is the path's device when the caller may change it.
func (s *Server) managedDevice(r *http.Request) (*cityhub.Device, error) {
	d, err := s.deviceFor(r)
	if err != nil {
		return nil, err
	}
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanManageDevices(d.DepartmentID) {
		return nil, forbidden("change devices of this department (its administrators and data stewards)")
	}
	return d, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deviceFor(r)
	if err != nil {
		return err
	}
	views, err := s.views(r, []*cityhub.Device{d})
	if err != nil {
		return err
	}
	if s.Ingest != nil {
		counts := s.Ingest.DeviceCounts(d.ID)
		views[0].Ingest = &counts
	}
	writeJSON(w, http.StatusOK, views[0])
	return nil
}

func (s *Server) updateDevice(w http.ResponseWriter, r *http.Request) error {
	old, err := s.managedDevice(r)
	if err != nil {
		return err
	}
	var in deviceInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	d := in.device()
	d.ID, d.CreatedAt, d.LastSeen = old.ID, old.CreatedAt, old.LastSeen
	if u, _ := cityhub.UserFrom(r.Context()); !u.CanManageDevices(d.DepartmentID) {
		return forbidden("move a device to a department you do not manage")
	}
	if err := s.Store.UpdateDevice(r.Context(), d); err != nil {
		return err
	}
	return s.getDevice(w, r)
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.managedDevice(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteDevice(r.Context(), d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateDeviceToken(w http.ResponseWriter, r *http.Request) error {
	d, err := s.managedDevice(r)
	if err != nil {
		return err
	}
	token, err := s.Store.RotateDeviceToken(r.Context(), d.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceCreated{Device: d, Token: token})
	return nil
}

// seriesQuery reads a series request for the path's device.
func (s *Server) seriesQuery(r *http.Request) (cityhub.SeriesQuery, cityhub.Property, error) {
	var none cityhub.Property
	if err := s.iotOff(); err != nil {
		return cityhub.SeriesQuery{}, none, err
	}
	d, err := s.deviceFor(r)
	if err != nil {
		return cityhub.SeriesQuery{}, none, err
	}
	t, _ := cityhub.DeviceTypeByName(d.Type)
	q := r.URL.Query()
	sq := cityhub.SeriesQuery{DeviceID: d.ID, Key: q.Get("key"), Agg: q.Get("agg")}
	prop, ok := none, false
	if t != nil {
		prop, ok = t.Property(sq.Key)
	}
	if !ok {
		return sq, none, invalid("key", fmt.Sprintf("%s has no property %q", d.Type, sq.Key))
	}
	if sq.From, err = queryTime(r, "from"); err != nil {
		return sq, none, err
	}
	if sq.To, err = queryTime(r, "to"); err != nil {
		return sq, none, err
	}
	if sq.To.IsZero() {
		sq.To = time.Now()
	}
	if sq.From.IsZero() {
		sq.From = sq.To.Add(-24 * time.Hour)
	}
	if step := q.Get("step"); step != "" && step != "0" {
		if sq.Step, err = time.ParseDuration(step); err != nil {
			return sq, none, invalid("step", "a duration such as 1m or 1h, or 0 for raw readings")
		}
	}
	if sq.Step > 0 && prop.Kind == cityhub.KindText {
		return sq, none, invalid("step", "text properties have raw readings only")
	}
	return sq, prop, nil
}

func (s *Server) deviceSeries(w http.ResponseWriter, r *http.Request) error {
	sq, prop, err := s.seriesQuery(r)
	if err != nil {
		return err
	}
	points, err := s.Series.Series(r.Context(), sq)
	if err != nil {
		return err
	}
	if points == nil {
		points = []cityhub.Point{}
	}
	out := seriesResult{DeviceID: sq.DeviceID, Key: sq.Key, Unit: prop.UnitSym, Step: sq.Step.String(), Points: points}
	if sq.Step > 0 {
		out.Agg = cmp.Or(sq.Agg, "avg")
	} else {
		out.Step = "0"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deviceSeriesCSV(w http.ResponseWriter, r *http.Request) error {
	sq, prop, err := s.seriesQuery(r)
	if err != nil {
		return err
	}
	points, err := s.Series.Series(r.Context(), sq)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="device-%d-%s.csv"`, sq.DeviceID, sq.Key))
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	head := sq.Key
	if prop.UnitSym != "" {
		head += " (" + prop.UnitSym + ")"
	}
	cw.Write([]string{"time", head})
	for _, p := range points {
		v := p.Text
		if prop.Kind != cityhub.KindText {
			v = strconv.FormatFloat(p.Value, 'f', -1, 64)
		}
		cw.Write([]string{p.Time.Format(time.RFC3339Nano), cityhub.SpreadsheetSafe(v)})
	}
	cw.Flush()
	return nil
}

func (s *Server) bridgeStatus(w http.ResponseWriter, r *http.Request) error {
	if s.Bridge == nil {
		return cityhub.Errorf(cityhub.ENOTFOUND, "no MQTT bridge is configured (serve --mqtt-bridge FILE)")
	}
	writeJSON(w, http.StatusOK, s.Bridge.Status())
	return nil
}

func (s *Server) ingestCounts(w http.ResponseWriter, r *http.Request) error {
	if err := s.iotOff(); err != nil {
		return err
	}
	c := s.Ingest.Counts()
	writeJSON(w, http.StatusOK, c)
	return nil
}

package web

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// Adding a device and rotating its access token. A token is shown once,
// in the response to the post that made it, with what the device needs to
// connect; the store keeps only its hash.

// MQTT and HTTP connection facts, as the mqtt and httpapi packages serve
// them (ThingsBoard's device API).
const (
	mqttDefaultPort = "1883"
	mqttTopic       = "v1/devices/me/telemetry"
	mqttAttrTopic   = "v1/devices/me/attributes"
)

type deviceForm struct {
	Name         string
	Type         string
	DepartmentID string
	Division     string
	Lon, Lat     string
	Gateway      bool
	EntityID     string
}

type deviceFormData struct {
	Form        deviceForm
	Types       []option
	Departments []*cityhub.Department
	Districts   []cityhub.Division
}

// deviceDepartments are the departments u may add devices to.
func (c *Console) deviceDepartments(r *http.Request, u *cityhub.User) ([]*cityhub.Department, error) {
	all, err := c.allDepartments(r)
	if err != nil {
		return nil, err
	}
	var out []*cityhub.Department
	for _, d := range all {
		if canManageDevices(u, d.ID) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (c *Console) newDevice(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	if !canAddDevices(p.User) {
		return forbidden("add devices (platform administrators, department administrators and data stewards)")
	}
	f := deviceForm{}
	if p.User.DepartmentID != nil {
		f.DepartmentID = strconv.FormatInt(*p.User.DepartmentID, 10)
	}
	return c.renderDeviceForm(w, r, p, http.StatusOK, f)
}

func (c *Console) renderDeviceForm(w http.ResponseWriter, r *http.Request, p *page, status int, f deviceForm) error {
	depts, err := c.deviceDepartments(r, p.User)
	if err != nil {
		return err
	}
	all, err := c.allDepartments(r)
	if err != nil {
		return err
	}
	d := deviceFormData{Form: f, Departments: depts, Districts: districtsOf(all)}
	_, types := deviceTypes()
	for _, t := range types {
		d.Types = append(d.Types, option{t.Name, p.TypeLabel(t.Name) + " · " + t.Name})
	}
	p.formOrder = []string{"name", "type", "department_id", "division", "location", "entity_id"}
	p.Title, p.Nav, p.Data = p.T("devices.new_title"), "devices", d
	return c.render(w, r, p, status, "device_form")
}

func (c *Console) createDevice(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	u := p.User
	if !canAddDevices(u) {
		return forbidden("add devices (platform administrators, department administrators and data stewards)")
	}
	if err := r.ParseForm(); err != nil {
		return cityhub.Errorf(cityhub.EINVALID, "unreadable form")
	}
	f := deviceForm{Name: strings.TrimSpace(r.PostFormValue("name")), Type: r.PostFormValue("type"),
		DepartmentID: r.PostFormValue("department_id"), Division: strings.TrimSpace(r.PostFormValue("division")),
		Lon: strings.TrimSpace(r.PostFormValue("lon")), Lat: strings.TrimSpace(r.PostFormValue("lat")),
		Gateway: r.PostFormValue("gateway") != "", EntityID: strings.TrimSpace(r.PostFormValue("entity_id"))}
	dev := &cityhub.Device{Name: f.Name, Type: f.Type, Division: f.Division, Gateway: f.Gateway, EntityID: f.EntityID}
	fe := cityhub.FieldErrors{}
	if f.DepartmentID != "" {
		id, err := strconv.ParseInt(f.DepartmentID, 10, 64)
		if err != nil || id <= 0 {
			fe.Add("department_id", "no such department")
		} else if !canManageDevices(u, id) {
			return forbidden("add devices to another department")
		} else {
			dev.DepartmentID = id
		}
	}
	var err error
	if dev.Lon, err = parseCoordinate(f.Lon); err != nil {
		fe.Add("location", err.Error())
	}
	if dev.Lat, err = parseCoordinate(f.Lat); err != nil {
		fe.Add("location", err.Error())
	}
	if dev.Division == "" && dev.DepartmentID != 0 {
		// A device sits in its department's district unless the form says.
		dept, err := c.Store.Department(r.Context(), dev.DepartmentID)
		switch {
		case cityhub.ErrorCode(err) == cityhub.ENOTFOUND:
			fe.Add("department_id", "no such department")
		case err != nil:
			return err
		default:
			dev.Division = dept.Division
		}
	}
	// The form's own problems come first: a location it could not read is
	// not also out of range.
	mergeFields(fe, dev.Validate())
	err = fe.Err("invalid device")
	var token string
	if err == nil {
		token, err = c.Store.CreateDevice(r.Context(), dev)
		err = c.deviceConflict(r, dev, err)
	}
	if err != nil {
		if status, ok := formError(p, err); ok {
			return c.renderDeviceForm(w, r, p, status, f)
		}
		return err
	}
	p.Flash = p.T("devices.created")
	return c.renderDeviceToken(w, r, p, dev, token, false)
}

// deviceConflict names the field of a conflict the store reports without
// one: the device's name or its entity id is taken.
func (c *Console) deviceConflict(r *http.Request, dev *cityhub.Device, err error) error {
	var e *cityhub.Error
	if !errors.As(err, &e) || e.Code != cityhub.ECONFLICT || len(e.Fields) > 0 {
		return err
	}
	if _, lerr := c.Store.DeviceByName(r.Context(), dev.Name); lerr == nil {
		return &cityhub.Error{Code: cityhub.ECONFLICT, Message: e.Message, Fields: map[string]string{"name": "taken"}}
	}
	if _, lerr := c.Store.DeviceByEntityID(r.Context(), dev.EntityID); lerr == nil {
		return &cityhub.Error{Code: cityhub.ECONFLICT, Message: e.Message, Fields: map[string]string{"entity_id": "taken"}}
	}
	return err
}

// parseCoordinate reads a longitude or latitude in decimal degrees.
func parseCoordinate(s string) (float64, error) {
	if s == "" {
		return 0, errRequired
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, errNotNumber
	}
	return v, nil
}

type reasonError string

func (e reasonError) Error() string { return string(e) }

const (
	errRequired  reasonError = "required"
	errNotNumber reasonError = "not a number"
)

func (c *Console) rotateDeviceToken(w http.ResponseWriter, r *http.Request, p *page) error {
	if !c.devicesOn() {
		return c.iotOff(w, r, p)
	}
	dev, err := c.deviceFromPath(r)
	if err != nil {
		return err
	}
	if !canManageDevices(p.User, dev.DepartmentID) {
		return forbidden("rotate the tokens of another department's devices")
	}
	token, err := c.Store.RotateDeviceToken(r.Context(), dev.ID)
	if err != nil {
		return err
	}
	p.Flash = p.T("devices.rotated")
	return c.renderDeviceToken(w, r, p, dev, token, true)
}

// connection is what a device needs to send readings.
type connection struct {
	MQTTHost, MQTTPort string
	Topic, AttrTopic   string
	HTTPURL            string
	Payload            string // an example reading of the device's type
	TimedPayload       string
	Mosquitto          string
	Curl               string
}

type deviceTokenData struct {
	D          *cityhub.Device
	Department string
	Token      string
	Rotated    bool
	Conn       connection
}

func (c *Console) renderDeviceToken(w http.ResponseWriter, r *http.Request, p *page, dev *cityhub.Device, token string, rotated bool) error {
	d := deviceTokenData{D: dev, Token: token, Rotated: rotated, Conn: c.connection(r, dev, token)}
	var err error
	if d.Department, err = c.departmentNames().name(r, &dev.DepartmentID); err != nil {
		return err
	}
	p.Title, p.Nav, p.Data = p.T("devices.token_title"), "devices", d
	// The token is in this response only; the store keeps its hash.
	return c.render(w, r, p, http.StatusOK, "device_token")
}

// connection fills in the instructions for a device: the broker's address
// (Console.MQTTAddr, or this site's host on port 1883) and this site's
// HTTP API.
func (c *Console) connection(r *http.Request, dev *cityhub.Device, token string) connection {
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	cn := connection{MQTTHost: host, MQTTPort: mqttDefaultPort, Topic: mqttTopic, AttrTopic: mqttAttrTopic}
	if c.MQTTAddr != "" {
		if h, port, err := net.SplitHostPort(c.MQTTAddr); err == nil {
			if h != "" && h != "0.0.0.0" && h != "::" {
				cn.MQTTHost = h
			}
			if port != "" && port != "0" {
				cn.MQTTPort = port
			}
		}
	}
	scheme := "http"
	if r.TLS != nil || c.SecureCookies {
		scheme = "https"
	}
	cn.HTTPURL = scheme + "://" + r.Host + "/api/v1/" + token + "/telemetry"
	values := examplePayload(deviceType(dev.Type))
	b, _ := json.Marshal(values)
	cn.Payload = string(b)
	tb, _ := json.Marshal(map[string]any{"ts": c.now().UnixMilli(), "values": values})
	cn.TimedPayload = string(tb)
	cn.Mosquitto = "mosquitto_pub -h " + cn.MQTTHost + " -p " + cn.MQTTPort + " -u " + token +
		" -t " + mqttTopic + " -q 1 -m '" + cn.Payload + "'"
	cn.Curl = "curl -X POST -H 'Content-Type: application/json' -d '" + cn.Payload + "' " + cn.HTTPURL
	return cn
}

// exampleValues are plausible readings for the examples.
var exampleValues = map[string]any{
	"pm25": 35, "pm10": 52, "no2": 28, "so2": 6, "o3": 96, "co": 0.6, "airQualityIndex": 58,
	"temperature": 21.5, "relativeHumidity": 63, "pH": 7.2, "conductivity": 420, "o2": 8.1, "tur": 12,
	"intensity": 86, "occupancy": 0.18, "averageVehicleSpeed": 42, "LAeq": 58.3, "LAmax": 71.2,
	"windSpeed": 3.4, "windDirection": 135, "precipitation": 0, "atmosphericPressure": 1013.2,
	"totalSpotNumber": 400, "availableSpotNumber": 120, "illuminanceLevel": 0.8, "powerConsumption": 96,
	"ch4": 0.5, "h2s": 1, "waterLevel": 12,
}

// examplePayload makes a reading of the type's first three properties.
func examplePayload(t *cityhub.DeviceType) map[string]any {
	out := map[string]any{}
	if t == nil {
		return out
	}
	for _, pr := range t.Properties {
		if len(out) == 3 {
			break
		}
		if v, ok := exampleValues[pr.Name]; ok && pr.Kind == cityhub.KindNumber {
			if pr.Min != nil && pr.Max != nil {
				if f := toFloat(v); f < *pr.Min || f > *pr.Max {
					v = (*pr.Min + *pr.Max) / 2
				}
			}
			out[pr.Name] = v
			continue
		}
		switch pr.Kind {
		case cityhub.KindNumber:
			lo, hi := 0.0, 100.0
			if pr.Min != nil {
				lo = *pr.Min
			}
			if pr.Max != nil {
				hi = *pr.Max
			}
			out[pr.Name] = (lo + hi) / 2
		case cityhub.KindBool:
			out[pr.Name] = false
		default:
			out[pr.Name] = "ok"
		}
	}
	return out
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

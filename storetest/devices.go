package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
)

// deviceTests are the "Devices" group: IoT devices and their tokens.
var deviceTests = []subtest{
	{"Lifecycle", testDeviceLifecycle},
	{"TokensAndTraffic", testDeviceTokens},
}

func (e *env) device(dep *cityhub.Department, name string) *cityhub.Device {
	return &cityhub.Device{Name: name, Type: "AirQualityObserved", DepartmentID: dep.ID, Division: "330203", Lon: 121.55, Lat: 29.87}
}

func testDeviceLifecycle(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dep := e.createDepartment(t)
	d := e.device(dep, "aq-001")
	d.Attributes = map[string]any{"firmware": "1.0"}
	if _, err := e.Store.CreateDevice(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if d.EntityID != "urn:ngsi-ld:AirQualityObserved:aq-001" {
		t.Errorf("entity id %q", d.EntityID)
	}
	_, err := e.Store.CreateDevice(e.ctx, e.device(dep, "aq-001"))
	if fe := fieldErrors(err); cityhub.ErrorCode(err) != cityhub.ECONFLICT || fe["name"] == "" {
		t.Errorf("same name again: %v, want a conflict on name", err)
	}
	bad := e.device(dep, "aq 2")
	bad.Type, bad.Lon = "Toaster", 10
	if err := bad.Validate(); cityhub.ErrorCode(err) != cityhub.EINVALID {
		t.Errorf("bad device: %v", err)
	}
	other := e.device(&cityhub.Department{ID: 999999}, "aq-002")
	if _, err := e.Store.CreateDevice(e.ctx, other); cityhub.ErrorCode(err) != cityhub.EINVALID {
		t.Errorf("unknown department: %v, want invalid", err)
	}
	d.Division, d.Lon = "330205", 121.6
	if err := e.Store.UpdateDevice(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.CreateDevice(e.ctx, &cityhub.Device{Name: "wq-001", Type: "WaterQualityObserved", DepartmentID: dep.ID,
		Division: "330203", Lon: 121.5, Lat: 29.9}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    cityhub.DeviceQuery
		want int
	}{{cityhub.DeviceQuery{}, 2}, {cityhub.DeviceQuery{Type: "AirQualityObserved"}, 1}, {cityhub.DeviceQuery{Division: "330205"}, 1},
		{cityhub.DeviceQuery{DepartmentID: dep.ID, Q: "wq"}, 1}, {cityhub.DeviceQuery{Q: "none"}, 0}} {
		list, total, err := e.Store.Devices(e.ctx, tc.q)
		if err != nil || total != tc.want || len(list) != tc.want {
			t.Errorf("%+v: %d devices (total %d), %v; want %d", tc.q, len(list), total, err, tc.want)
		}
	}
	got, err := e.Store.DeviceByEntityID(e.ctx, d.EntityID)
	if err != nil || got.Division != "330205" || got.Attributes["firmware"] != "1.0" {
		t.Errorf("by entity id: %+v %v", got, err)
	}
	if err := e.Store.DeleteDevice(e.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Device(e.ctx, d.ID); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
	if rep := e.verify(t); !rep.OK {
		t.Errorf("audit chain: %s", rep.Message)
	}
}

func testDeviceTokens(t *testing.T, open Opener) {
	e := newEnv(t, open)
	dep := e.createDepartment(t)
	d := e.device(dep, "aq-001")
	token, err := e.Store.CreateDevice(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.Store.DeviceByToken(e.ctx, token); err != nil || got.ID != d.ID {
		t.Fatalf("by token: %v", err)
	}
	fresh, err := e.Store.RotateDeviceToken(e.ctx, d.ID)
	if err != nil || fresh == token {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := e.Store.DeviceByToken(e.ctx, token); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Errorf("old token after rotation: %v", err)
	}
	// Found once more (a store may keep it), then disabled: gone at once.
	if got, err := e.Store.DeviceByToken(e.ctx, fresh); err != nil || got.ID != d.ID {
		t.Fatalf("by the new token: %v", err)
	}
	d.Disabled = true
	if err := e.Store.UpdateDevice(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.DeviceByToken(e.ctx, fresh); cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		t.Errorf("token of a disabled device: %v", err)
	}
	// Traffic: newer arrivals only, attributes merged (null removes).
	t1 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	if err := e.Store.TouchDevices(e.ctx, map[int64]time.Time{d.ID: t1}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.TouchDevices(e.ctx, map[int64]time.Time{d.ID: t1.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.MergeDeviceAttributes(e.ctx, d.ID, map[string]any{"a": 1.0, "b": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.MergeDeviceAttributes(e.ctx, d.ID, map[string]any{"a": nil, "c": true}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Store.Device(e.ctx, d.ID)
	if got.LastSeen == nil || !got.LastSeen.Equal(t1) || len(got.Attributes) != 2 || got.Attributes["b"] != "x" || got.Attributes["c"] != true {
		t.Errorf("after traffic: last seen %v, attributes %v", got.LastSeen, got.Attributes)
	}
}

func fieldErrors(err error) map[string]string {
	var e *cityhub.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

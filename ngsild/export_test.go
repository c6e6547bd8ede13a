package ngsild

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cityhub/cityhub"
)

// CheckEntity runs a request body through what a create does before it
// reaches a store: context, decoder, plan, device name and rendering. It
// returns an error only when an invariant breaks; refusing input is fine.
func CheckEntity(body []byte) error {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	h := &Handler{allowed: map[string]bool{}}
	voc, p := h.vocabularyOf(m["@context"])
	if p != nil {
		return checkProblem(p)
	}
	e, p := decodeEntity(m, voc, false)
	if p != nil {
		return checkProblem(p)
	}
	typ, _ := cityhub.DeviceTypeByName(e.Type)
	pl := planEntity(e, typ, nil, upsert, time.Now())
	d := &cityhub.Device{Name: deviceName(e.ID), Type: "AirQualityObserved", DepartmentID: 1, Lon: 121.5, Lat: 29.8,
		EntityID: e.ID, Attributes: pl.attrs}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("device named %q after %q: %v", d.Name, e.ID, err)
	}
	divisionOf(e)
	if _, err := json.Marshal(renderEntity(d, typ, nil, nil, false)); err != nil {
		return fmt.Errorf("rendering: %v", err)
	}
	return nil
}

// CheckQuery parses q and evaluates it on a sample entity.
func CheckQuery(q string) error {
	h := &Handler{allowed: map[string]bool{}}
	voc, _ := h.vocabularyOf(nil)
	e, p := parseQ(q, voc)
	if p != nil {
		return checkProblem(p)
	}
	e.eval(document{"pm25": 55.0, "name": "月湖", "on": true, "tags": []any{"a", 1.0},
		"address": map[string]any{"addressLocality": "海曙区"}})
	return nil
}

func checkProblem(p *problem) error {
	if p.Status != 400 && p.Status != 422 && p.Status != 501 && p.Status != 503 {
		return fmt.Errorf("input refused with status %d: %s", p.Status, p.Detail)
	}
	return nil
}

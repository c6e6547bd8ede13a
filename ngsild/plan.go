package ngsild

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
)

// A plan sorts an entity's attributes by where they go.
type plan struct {
	samples  map[time.Time]map[string]any // measured values by observation time; zero: now
	location *[2]float64
	attrs    map[string]any // device attribute changes; nil removes
	names    []string       // attributes taken in
	problems []notUpdated
}

// planEntity checks an entity against its type: measured values against
// their plausible ranges and ages, the location, and for patch whether
// each attribute exists. dev is nil for a device about to be created.
func planEntity(e *entity, typ *cityhub.DeviceType, dev *cityhub.Device, m mode, now time.Time) *plan {
	pl := &plan{samples: map[time.Time]map[string]any{}, attrs: map[string]any{}}
	names := make([]string, 0, len(e.Attrs))
	for name := range e.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := e.Attrs[name]
		var prop cityhub.Property
		measured := false
		if typ != nil {
			prop, measured = typ.Property(name)
		}
		var err error
		switch {
		case name == "location":
			err = pl.addLocation(a)
		case measured:
			err = pl.addReading(prop, a, now)
		case m == patch && dev != nil && !hasKey(dev.Attributes, name):
			err = errors.New("the entity has no such attribute")
		default:
			pl.attrs[name] = a.stored()
		}
		if err != nil {
			pl.problems = append(pl.problems, notUpdated{name, err.Error()})
			continue
		}
		pl.names = append(pl.names, name)
	}
	if dev == nil {
		return pl
	}
	if m == replace {
		for name := range dev.Attributes {
			if _, kept := e.Attrs[name]; !kept {
				pl.attrs[name] = nil
			}
		}
	}
	// IoT agents resend static attributes with every reading: skip the
	// writes that would change nothing.
	for name, v := range pl.attrs {
		if cur, has := dev.Attributes[name]; has == (v != nil) && reflect.DeepEqual(cur, v) {
			delete(pl.attrs, name)
		}
	}
	return pl
}

func (pl *plan) addLocation(a attribute) error {
	if a.Value == nil {
		return errors.New("a device keeps its location; it cannot be removed")
	}
	if a.Kind != kindGeoProperty {
		return errors.New("location is a GeoProperty")
	}
	lon, lat, err := point(a.Value)
	if err != nil {
		return err
	}
	pl.location = &[2]float64{lon, lat}
	return nil
}

// addReading checks a measured value as the pipeline will, so that each
// refusal is told against its attribute.
func (pl *plan) addReading(prop cityhub.Property, a attribute, now time.Time) error {
	switch {
	case a.Value == nil:
		return errors.New("a measured property keeps its history; it cannot be removed")
	case a.Kind != kindProperty:
		return fmt.Errorf("%s is a measured Property, not a %s", prop.Name, a.Kind)
	case a.UnitCode != "" && prop.Unit != "" && a.UnitCode != prop.Unit:
		return fmt.Errorf("unitCode %s: %s is kept in %s (%s)", clip(a.UnitCode), prop.Name, prop.Unit, prop.UnitSym)
	case !a.ObservedAt.IsZero() && now.Sub(a.ObservedAt) > cityhub.MaxLateness:
		return fmt.Errorf("observed %s, more than 7 days ago", formatTime(a.ObservedAt))
	case a.ObservedAt.Sub(now) > ingest.FutureSlack:
		return fmt.Errorf("observed %s, ahead of the server's clock", formatTime(a.ObservedAt))
	}
	if _, err := prop.Check(a.Value); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), prop.Name+": "))
	}
	at := a.ObservedAt.UTC().Truncate(time.Millisecond) // one sample per instant, whatever its zone
	if pl.samples[at] == nil {
		pl.samples[at] = map[string]any{}
	}
	pl.samples[at][prop.Name] = a.Value
	return nil
}

func (pl *plan) problemText() string {
	parts := make([]string, len(pl.problems))
	for i, p := range pl.problems {
		parts[i] = p.AttributeName + ": " + p.Reason
	}
	return strings.Join(parts, "; ")
}

package ngsild

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"

	"github.com/cityhub/cityhub"
)

// A document is a JSON object written with @context, id and type first,
// the way people read entities.
type document map[string]any

func (d document) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		switch k {
		case "@context":
			return 0
		case "id":
			return 1
		case "type":
			return 2
		}
		return 3
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		return ri < rj || (ri == rj && keys[i] < keys[j])
	})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		val, err := json.Marshal(d[k])
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// An attrSet picks attributes by name; nil picks all.
type attrSet map[string]bool

func (s attrSet) has(name string) bool { return s == nil || s[name] }

// renderEntity shows a device as an NGSI-LD entity: its measured
// properties' latest values, its location and its other attributes.
func renderEntity(d *cityhub.Device, typ *cityhub.DeviceType, latest []cityhub.LatestValue, pick attrSet, keyValues bool) document {
	doc := document{"id": d.EntityID, "type": d.Type}
	measured := map[string]bool{}
	for _, lv := range latest {
		measured[lv.Key] = true
		if !pick.has(lv.Key) {
			continue
		}
		prop := propertyOf(typ, lv.Key)
		v := valueOf(lv.Value, prop.Kind)
		if keyValues {
			doc[lv.Key] = v
			continue
		}
		attr := document{"type": kindProperty, "value": v, "observedAt": formatTime(lv.Time)}
		if prop.Unit != "" {
			attr["unitCode"] = prop.Unit
		}
		doc[lv.Key] = attr
	}
	if pick.has("location") {
		geo := document{"type": "Point", "coordinates": []float64{d.Lon, d.Lat}}
		if keyValues {
			doc["location"] = geo
		} else {
			doc["location"] = document{"type": kindGeoProperty, "value": geo}
		}
	}
	for k, v := range d.Attributes {
		if measured[k] || k == "location" || k == "id" || k == "type" || !pick.has(k) {
			continue
		}
		if keyValues {
			doc[k] = bareValue(v)
		} else {
			doc[k] = normalized(v)
		}
	}
	return doc
}

// propertyOf finds a measured property; an unknown one reads as its value.
func propertyOf(typ *cityhub.DeviceType, key string) cityhub.Property {
	if typ != nil {
		if p, ok := typ.Property(key); ok {
			return p
		}
	}
	return cityhub.Property{Name: key}
}

// valueOf turns a stored value back into JSON: booleans are kept as 1 and 0.
func valueOf(v cityhub.Value, kind string) any {
	switch {
	case kind == cityhub.KindBool:
		return v.Num != 0
	case kind == cityhub.KindText || (kind == "" && v.Kind == cityhub.KindText):
		return v.Text
	}
	return v.Num
}

// normalized shows a stored attribute as an NGSI-LD attribute.
func normalized(v any) any {
	if m, ok := v.(map[string]any); ok && looksNormalized(m) {
		return document(m) // type first, as written
	}
	return document{"type": kindProperty, "value": v}
}

// bareValue is a stored attribute's value, as keyValues shows it.
func bareValue(v any) any {
	m, ok := v.(map[string]any)
	if !ok || !looksNormalized(m) {
		return v
	}
	switch m["type"] {
	case kindRelationship:
		return m["object"]
	case kindLanguage:
		return m["languageMap"]
	}
	return m["value"]
}

// formatTime writes an NGSI-LD DateTime.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

package ngsild

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// An entity is a decoded NGSI-LD entity in the broker's names.
type entity struct {
	ID    string
	Type  string // short name; "" in an attribute fragment
	Attrs map[string]attribute
}

// Attribute kinds.
const (
	kindProperty     = "Property"
	kindGeoProperty  = "GeoProperty"
	kindRelationship = "Relationship"
	kindLanguage     = "LanguageProperty"
)

// An attribute is one decoded Property, GeoProperty or Relationship.
type attribute struct {
	Kind       string
	Value      any // a Relationship's object; nil removes the attribute
	ObservedAt time.Time
	UnitCode   string
	// Full is the normalized form, kept when the attribute says more than
	// its value (a relationship, metadata, sub-properties).
	Full map[string]any
}

// stored is what goes into Device.Attributes: the bare value when that is
// all there is, so other protocols read plain values.
func (a attribute) stored() any {
	if a.Value == nil || a.Full == nil {
		return a.Value
	}
	return a.Full
}

const (
	maxAttrs   = 200 // what a device keeps
	maxNameLen = 256
)

// decodeEntity reads an entity (or, with fragment, the attributes of one)
// in normalized, concise or keyValues form.
func decodeEntity(m map[string]any, voc *vocabulary, fragment bool) (*entity, *problem) {
	e := &entity{Attrs: map[string]attribute{}}
	if !fragment {
		id, ok := m["id"].(string)
		if !ok {
			return nil, badRequest("an entity needs an id, a URN string")
		}
		if p := checkEntityID(id); p != nil {
			return nil, p
		}
		e.ID = id
		typ, p := entityType(m["type"])
		if p != nil {
			return nil, p
		}
		e.Type = voc.name(typ)
	}
	for key, raw := range m {
		switch key {
		case "id", "type", "@context", "createdAt", "modifiedAt":
			continue // identity, context and system attributes are not written
		}
		if strings.HasPrefix(key, "@") {
			return nil, badRequest("%s: JSON-LD keywords other than @context are not accepted", key)
		}
		if p := checkAttrName(key); p != nil {
			return nil, p
		}
		name := voc.name(key)
		a, p := decodeAttribute(name, raw)
		if p != nil {
			return nil, p
		}
		if _, dup := e.Attrs[name]; dup {
			return nil, badRequest("%s: given twice (under different terms)", name)
		}
		e.Attrs[name] = a
	}
	if len(e.Attrs) > maxAttrs {
		return nil, badRequest("an entity has at most %d attributes here", maxAttrs)
	}
	return e, nil
}

func checkEntityID(id string) *problem {
	switch {
	case !strings.HasPrefix(id, "urn:") || len(id) <= len("urn:"):
		return badRequest("entity id %q is not a URN (urn:ngsi-ld:<Type>:<name>)", clip(id))
	case len(id) > maxNameLen:
		return badRequest("entity id is longer than %d bytes", maxNameLen)
	case !utf8.ValidString(id) || strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return badRequest("entity id %q holds spaces or control characters", clip(id))
	}
	return nil
}

// entityType reads "type": a string, or (NGSI-LD 1.5) a list of one.
func entityType(v any) (string, *problem) {
	if list, ok := v.([]any); ok && len(list) == 1 {
		v = list[0]
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", badRequest("an entity needs a type, one string")
	}
	if len(s) > maxNameLen {
		return "", badRequest("entity type is longer than %d bytes", maxNameLen)
	}
	return s, nil
}

func checkAttrName(name string) *problem {
	switch {
	case name == "" || len(name) > maxNameLen:
		return badRequest("attribute names are 1 to %d bytes", maxNameLen)
	case !utf8.ValidString(name) || strings.ContainsAny(name, `<>"'=;()`) ||
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return badRequest("attribute name %q holds a character NGSI-LD forbids", clip(name))
	}
	return nil
}

// decodeAttribute reads one attribute: normalized ({"type":"Property",
// "value":…}), concise ({"value":…}, {"object":…}, a GeoJSON geometry) or
// a bare value.
func decodeAttribute(name string, raw any) (attribute, *problem) {
	m, isObject := raw.(map[string]any)
	if !isObject {
		if list, ok := raw.([]any); ok && len(list) > 0 && looksNormalized(list[0]) {
			return attribute{}, notSupported(422, "%s: several instances of an attribute (datasetId) are not supported", name)
		}
		return attribute{Kind: kindProperty, Value: raw}, nil
	}
	kind, _ := m["type"].(string)
	switch {
	case looksNormalized(m):
	case kind == "" && m["object"] != nil:
		kind = kindRelationship
	case kind == "" && hasKey(m, "value"):
		kind = kindProperty
	case isGeometry(m):
		return attribute{Kind: kindGeoProperty, Value: m, Full: map[string]any{"type": kindGeoProperty, "value": m}}, nil
	default: // a structured value such as an address
		return attribute{Kind: kindProperty, Value: m}, nil
	}
	a := attribute{Kind: kind, Full: withType(m, kind)}
	switch kind {
	case kindRelationship:
		obj, ok := m["object"].(string)
		if !ok || !strings.Contains(obj, ":") {
			return a, badRequest("%s: a Relationship needs an object, a URI", name)
		}
		a.Value = obj
	case kindLanguage:
		lm, ok := m["languageMap"].(map[string]any)
		if !ok {
			return a, badRequest("%s: a LanguageProperty needs a languageMap", name)
		}
		a.Value = lm
	default:
		if !hasKey(m, "value") {
			return a, badRequest("%s: a %s needs a value", name, kind)
		}
		a.Value = m["value"]
		if kind == kindGeoProperty {
			g, ok := a.Value.(map[string]any)
			if a.Value != nil && (!ok || !isGeometry(g)) {
				return a, badRequest("%s: a GeoProperty's value is a GeoJSON geometry", name)
			}
		}
	}
	if v, ok := m["observedAt"]; ok {
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return a, badRequest("%s: observedAt %q is not an RFC 3339 date-time", name, clip(fmt.Sprint(v)))
		}
		a.ObservedAt = t
	}
	if v, ok := m["unitCode"]; ok {
		if a.UnitCode, ok = v.(string); !ok {
			return a, badRequest("%s: unitCode is a UN/CEFACT code string", name)
		}
	}
	if kind == kindProperty && onlyKeys(m, "type", "value") {
		a.Full = nil // nothing but the value: keep it bare
	}
	return a, nil
}

// withType is m with its NGSI-LD type spelled out, as concise forms omit it.
func withType(m map[string]any, kind string) map[string]any {
	if m["type"] == kind {
		return m
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["type"] = kind
	return out
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func onlyKeys(m map[string]any, keys ...string) bool {
	n := 0
	for _, k := range keys {
		if hasKey(m, k) {
			n++
		}
	}
	return n == len(m)
}

func looksNormalized(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	kind, _ := m["type"].(string)
	return kind == kindProperty || kind == kindGeoProperty || kind == kindRelationship || kind == kindLanguage
}

var geometryTypes = map[string]bool{"Point": true, "MultiPoint": true, "LineString": true,
	"MultiLineString": true, "Polygon": true, "MultiPolygon": true}

// isGeometry says whether m is shaped like a GeoJSON geometry.
func isGeometry(m map[string]any) bool {
	t, _ := m["type"].(string)
	_, ok := m["coordinates"].([]any)
	return geometryTypes[t] && ok
}

// point reads a GeoJSON Point: longitude and latitude.
func point(v any) (lon, lat float64, err error) {
	g, _ := v.(map[string]any)
	if t, _ := g["type"].(string); t != "Point" {
		return 0, 0, fmt.Errorf("a device sits at one place: location must be a GeoJSON Point")
	}
	c, _ := g["coordinates"].([]any)
	if len(c) < 2 || len(c) > 3 {
		return 0, 0, fmt.Errorf("a Point has coordinates [longitude, latitude]")
	}
	lon, ok1 := c[0].(float64)
	lat, ok2 := c[1].(float64)
	if !ok1 || !ok2 || math.Abs(lon) > 180 || math.Abs(lat) > 90 {
		return 0, 0, fmt.Errorf("a Point has coordinates [longitude, latitude] in degrees")
	}
	return lon, lat, nil
}

// clip shortens input quoted in messages.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return truncate(s, 80) + "…"
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

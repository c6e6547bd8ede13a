// Package ingest turns what devices send into stored readings: it decodes
// ThingsBoard telemetry payloads, checks each value against the device's
// type, and writes accepted readings in batches through one writer, which
// tells every sender when its readings are durable. Every value received
// is counted exactly once as stored, duplicate, rejected (with a reason)
// or dropped (with a reason).
package ingest

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// A Sample is one decoded reading before checking: a time (zero when the
// sender gave none: the arrival time is used) and raw JSON values.
type Sample struct {
	Time   time.Time
	Values map[string]any
}

// MaxPayload bounds a telemetry payload.
const MaxPayload = 256 << 10

// DecodeTelemetry reads ThingsBoard telemetry: {"k":v,…}, {"ts":ms,
// "values":{…}}, or an array of either.
func DecodeTelemetry(payload []byte) ([]Sample, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(payload), MaxPayload)
	}
	if m, ok := decodeFlat(payload); ok {
		return samples(m, "")
	}
	var v any
	if err := decodeJSON(payload, &v); err != nil {
		return nil, err
	}
	return samples(v, "")
}

// DecodeGatewayTelemetry reads ThingsBoard gateway telemetry: {"device
// name": [{"ts":ms,"values":{…}}, …], …}.
func DecodeGatewayTelemetry(payload []byte) (map[string][]Sample, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(payload), MaxPayload)
	}
	var m map[string]any
	if err := decodeJSON(payload, &m); err != nil {
		return nil, err
	}
	out := make(map[string][]Sample, len(m))
	for name, v := range m {
		s, err := samples(v, name+": ")
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}

// DecodeAttributes reads an attributes payload: one flat object.
func DecodeAttributes(payload []byte) (map[string]any, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes is over the %d-byte limit", len(payload), MaxPayload)
	}
	var m map[string]any
	if err := decodeJSON(payload, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeJSON(payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("payload is not valid JSON: %v", err)
	}
	if v, ok := v.(*map[string]any); ok && *v == nil {
		return fmt.Errorf("payload must be a JSON object")
	}
	return nil
}

func samples(v any, where string) ([]Sample, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil, fmt.Errorf("%sempty array", where)
		}
		var out []Sample
		for i, e := range x {
			s, err := sample(e, fmt.Sprintf("%sitem %d: ", where, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := sample(v, where)
		if err != nil {
			return nil, err
		}
		return []Sample{s}, nil
	}
}

func sample(v any, where string) (Sample, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Sample{}, fmt.Errorf("%swant an object, got %s", where, kind(v))
	}
	ts, hasTS := m["ts"]
	vals, hasVals := m["values"]
	if !hasTS && !hasVals {
		if len(m) == 0 {
			return Sample{}, fmt.Errorf("%sno values", where)
		}
		return Sample{Values: m}, nil
	}
	if !hasTS || !hasVals || len(m) != 2 {
		return Sample{}, fmt.Errorf(`%swant {"ts": milliseconds, "values": {…}}`, where)
	}
	ms, ok := ts.(float64)
	if !ok || ms != math.Trunc(ms) || ms < 0 || ms > 1e14 {
		return Sample{}, fmt.Errorf("%sts must be whole milliseconds since 1970, got %v", where, ts)
	}
	values, ok := vals.(map[string]any)
	if !ok || len(values) == 0 {
		return Sample{}, fmt.Errorf("%svalues must be a non-empty object", where)
	}
	return Sample{Time: time.UnixMilli(int64(ms)), Values: values}, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	}
	return "an object"
}

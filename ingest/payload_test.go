package ingest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestDecodeTelemetry(t *testing.T) {
	for _, tc := range []struct {
		in      string
		samples int
		ts      int64
		err     bool
	}{
		{`{"pm25": 35}`, 1, 0, false},
		{`{"ts": 1700000000000, "values": {"pm25": 35, "no2": 3}}`, 1, 1700000000000, false},
		{`[{"ts": 1700000000000, "values": {"pm25": 1}}, {"pm25": 2}]`, 2, 1700000000000, false},
		{`{"ts": 1700000000000}`, 0, 0, true},
		{`{"ts": "yesterday", "values": {"a": 1}}`, 0, 0, true},
		{`{"ts": 1.5, "values": {"a": 1}}`, 0, 0, true},
		{`[]`, 0, 0, true},
		{`{}`, 0, 0, true},
		{`null`, 0, 0, true},
		{`[1, 2]`, 0, 0, true},
		{`{"a": 1} {"b": 2}`, 0, 0, true},
		{`{"a": `, 0, 0, true},
	} {
		got, err := DecodeTelemetry([]byte(tc.in))
		if (err != nil) != tc.err || len(got) != tc.samples {
			t.Errorf("%s: got %d samples, %v", tc.in, len(got), err)
			continue
		}
		if tc.ts != 0 && !got[0].Time.Equal(time.UnixMilli(tc.ts)) {
			t.Errorf("%s: time %v", tc.in, got[0].Time)
		}
	}
	gw, err := DecodeGatewayTelemetry([]byte(`{"dev-a": [{"ts": 1, "values": {"x": 1}}], "dev-b": {"y": 2}}`))
	if err != nil || len(gw["dev-a"]) != 1 || len(gw["dev-b"]) != 1 {
		t.Errorf("gateway: %v %v", gw, err)
	}
}

func FuzzDecodeTelemetry(f *testing.F) {
	for _, s := range []string{`{"pm25": 35}`, `[{"ts": 1, "values": {"a": "b"}}]`, `{"d": [{"ts": 1, "values": {"a": 1}}]}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, err := DecodeTelemetry(b)
		if err == nil && len(samples) == 0 {
			t.Errorf("no error and no samples for %q", b)
		}
		for _, s := range samples {
			if len(s.Values) == 0 {
				t.Errorf("a sample without values from %q", b)
			}
		}
		DecodeGatewayTelemetry(b)
		DecodeAttributes(b)
	})
}

// decodeFlat gives exactly what encoding/json gives, or declines.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{`{"pm25": 12.5, "no2": -0, "ok": true, "note": "良", "x": null}`, `{"ts": 1733300000000, "values": {"a": 1e3}}`,
		`{"a": {"b": {"c": 1}}}`, `{"a": 1e400}`, `{"a": "\u00e9"}`, ` {"a" : 01}`, `{"a": 1,}`, `{}`, `[{"a": 1}]`, "{\"a\": \"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := decodeFlat(b)
		if !ok {
			return
		}
		var want any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("decodeFlat took %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(any(m), want) {
			t.Fatalf("%q: decodeFlat %#v, encoding/json %#v", b, m, want)
		}
	})
}

func TestDecodeFlatDeclines(t *testing.T) {
	for _, s := range []string{`{"a": {"b": {"c": 1}}}`, `{"a": 1e400}`, `{"a": "\u00e9"}`, `{"a": 01}`, `{"a": 1,}`, `[{"a": 1}]`,
		"{\"a\": \"\xff\"}", `{"a": [1]}`, `{"a": 1} x`, `{"a": -}`, `{"a": 1.}`, `{"a": 1e}`, `{"a": tru}`} {
		if m, ok := decodeFlat([]byte(s)); ok {
			t.Errorf("%s: took it as %v", s, m)
		}
	}
	m, ok := decodeFlat([]byte(` {"ts": 1733300000000, "values": {"pm25": 12.5, "on": false, "s": "良", "n": null}} `))
	if !ok || m["ts"] != 1733300000000.0 || m["values"].(map[string]any)["s"] != "良" {
		t.Errorf("common payload: %v %v", m, ok)
	}
}

package tabular

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzOpen reads anything as CSV, TSV, JSON and NDJSON: no panics, values
// line up with the header, errors are ParseErrors, and reading ends.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"gb18030.csv", "utf8bom.csv", "citizens.csv", "truncated.csv", "enterprises.json", "enterprises.ndjson"} {
		b, err := readTestdataFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(2))
		f.Add(b, uint8(3))
	}
	f.Add([]byte("a,b\n\"x\ny\",\"z\"\"\"\n\n1,2,3\n"), uint8(0))
	f.Add([]byte("a\tb\n1\t\"2\n"), uint8(1))
	f.Add([]byte(`[{"a":[1,{"b":"]"}],"a":"\u00e9"},7,{"c":null}]`), uint8(2))
	f.Add([]byte("{\"a\":1}\n\n{\"b\":\"\\ud800\"}\n[1]\n{\"a\":1,}"), uint8(3))
	f.Add([]byte("\xff\xfea\x00,\x00b\x00\n\x00"), uint8(0))
	formats := []Format{CSV, TSV, JSON, NDJSON}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := formats[int(which)%len(formats)]
		r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Format: format, MaxRecordBytes: 1 << 16})
		if err != nil {
			checkError(t, err)
			return
		}
		defer r.Close()
		header := r.Header()
		for n := 0; ; n++ {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkError(t, err)
				break
			}
			if len(rec.Values) != len(header) {
				t.Fatalf("%d values under a header of %d", len(rec.Values), len(header))
			}
			if rec.Line <= 0 {
				t.Fatalf("line %d", rec.Line)
			}
			if n > len(data) {
				t.Fatal("more rows than bytes")
			}
		}
		if r.BytesRead() > int64(len(data)) {
			t.Fatalf("BytesRead %d of %d bytes", r.BytesRead(), len(data))
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) && err.Error() == "" {
		t.Fatalf("error without a message: %#v", err)
	}
}

// FuzzParseObject checks parseObject against encoding/json.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b","c":1.5e3,"d":[1,{"e":"]"}],"f":null}`, `{"a":"\u4e2d\ud800"}`, `[1]`, `{"a":01}`, "{\"a\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fields, object, err := parseObject(s, nil)
		var v any
		jerr := json.Unmarshal([]byte(s), &v)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("parseObject: %v; encoding/json: %v", err, jerr)
		}
		if err != nil {
			return
		}
		m, isMap := v.(map[string]any)
		if object != isMap {
			t.Fatalf("object %t, encoding/json gives %T", object, v)
		}
		seen := map[string]bool{}
		for _, f := range fields {
			if seen[f.key] {
				return // encoding/json keeps the last of a repeated key
			}
			seen[f.key] = true
		}
		if len(seen) != len(m) {
			t.Fatalf("%d keys, encoding/json %d", len(seen), len(m))
		}
		for _, f := range fields {
			switch w := m[f.key].(type) {
			case string:
				if f.value != w {
					t.Fatalf("%q = %q, encoding/json %q", f.key, f.value, w)
				}
			case nil:
				if f.value != "" || f.nested {
					t.Fatalf("%q = %q, want null", f.key, f.value)
				}
			case bool:
				if f.value != map[bool]string{true: "true", false: "false"}[w] {
					t.Fatalf("%q = %q, want %v", f.key, f.value, w)
				}
			case float64:
				var n json.Number
				if err := json.Unmarshal([]byte(f.value), &n); err != nil || n.String() != f.value {
					t.Fatalf("%q = %q is not the number as written", f.key, f.value)
				}
			default:
				if !f.nested {
					t.Fatalf("%q is %T but not nested", f.key, w)
				}
			}
		}
	})
}

package tabular

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestObjects(t *testing.T) {
	tests := []struct {
		name     string
		format   Format
		data     string
		header   []string
		lines    []int
		rows     [][]string
		problems []Problem
	}{
		{
			name:   "values stringified",
			format: NDJSON,
			data:   `{"s":"文本","n":1.50e3,"i":-0,"t":true,"f":false,"z":null,"e":"a\"b\\c\u00e9\ud83d\ude00\n"}` + "\n",
			header: []string{"s", "n", "i", "t", "f", "z", "e"},
			lines:  []int{1},
			rows:   [][]string{{"文本", "1.50e3", "-0", "true", "false", "", "a\"b\\cé😀\n"}},
		},
		{
			name:   "keys in first-seen order, blank lines, CRLF, no final newline",
			format: NDJSON,
			data:   "{\"b\":1}\r\n\r\n  \n{\"a\":2,\"b\":3}\r\n{\"c\":4}",
			header: []string{"b", "a", "c"},
			lines:  []int{1, 4, 5},
			rows:   [][]string{{"1", "", ""}, {"3", "2", ""}, {"", "", "4"}},
		},
		{
			name:   "array",
			format: JSON,
			data:   "\uFEFF [ {\"a\": 1}, {\"a\": \"x\", \"b\": [1, {\"c\": 2}]}, 5, {} ] ",
			header: []string{"a", "b"},
			lines:  []int{1, 2, 3, 4},
			rows:   [][]string{{"1", ""}, {"x", ""}, {"", ""}, {"", ""}},
			problems: []Problem{
				{Row: 2, Column: "b", Kind: KindNestedValue, Reason: "the value is an object or an array: only text, numbers, true, false and null can be loaded", Fatal: true},
				{Row: 3, Kind: KindNotObject, Reason: "not an object: a row must be an object of keys and values", Fatal: true},
			},
		},
		{
			name:   "repeated key",
			format: NDJSON,
			data:   `{"a":1,"a":2}`,
			header: []string{"a"},
			lines:  []int{1},
			rows:   [][]string{{"1"}},
			problems: []Problem{
				{Row: 1, Column: "a", Kind: KindDuplicateKey, Reason: "the key appears twice in the object: the first value is kept", Fatal: true},
			},
		},
		{
			name:   "empty array",
			format: JSON,
			data:   "[]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, []byte(tt.data), Options{Format: tt.format})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if !slices.Equal(res.header, tt.header) || !slices.Equal(res.lines, tt.lines) {
				t.Errorf("header %q, lines %v; want %q, %v", res.header, res.lines, tt.header, tt.lines)
			}
			if !slices.EqualFunc(res.rows, tt.rows, slices.Equal) {
				t.Errorf("rows = %q, want %q", res.rows, tt.rows)
			}
			if !slices.Equal(res.problems, tt.problems) {
				t.Errorf("problems = %v\nwant       %v", res.problems, tt.problems)
			}
		})
	}
}

func TestObjectsUnknownKeyLater(t *testing.T) {
	var b strings.Builder
	for i := range headerObjects + 5 {
		if i == headerObjects+2 {
			fmt.Fprintf(&b, "{\"id\":%d,\"late\":\"x\"}\n", i)
			continue
		}
		fmt.Fprintf(&b, "{\"id\":%d}\n", i)
	}
	res := readAll(t, []byte(b.String()), Options{Format: NDJSON})
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []Problem{{Row: headerObjects + 3, Column: "late", Kind: KindUnknownKey,
		Reason: "the key is not among the keys of the first objects, which make the header: its value is ignored", Fatal: true}}
	if !slices.Equal(res.header, []string{"id"}) || !slices.Equal(res.problems, want) || len(res.rows) != headerObjects+5 {
		t.Errorf("header %q, %d rows, problems %v", res.header, len(res.rows), res.problems)
	}
}

func TestObjectErrors(t *testing.T) {
	tests := []struct {
		name      string
		format    Format
		data      string
		line, col int
		want      string
	}{
		{"ndjson syntax", NDJSON, "{\"a\":1}\n{\"a\":1,}\n{\"a\":2}\n", 2, 8, "a key in double quotes expected"},
		{"ndjson bad number", NDJSON, "{\"a\":01}\n", 1, 7, "',' or '}' expected"},
		{"ndjson not json", NDJSON, "{\"a\":1}\nhello\n", 2, 1, "not valid JSON"},
		{"ndjson control character", NDJSON, "{\"a\":\"x\ty\"}\n", 1, 8, "control character"},
		{"ndjson bad escape", NDJSON, "{\"a\":\"\\x\"}\n", 1, 6, "not valid JSON"},
		{"ndjson trailing data", NDJSON, "{\"a\":1} {\"a\":2}\n", 1, 9, "more after"},
		{"ndjson bad nested", NDJSON, "{\"a\":[1,,2]}\n", 1, 6, "not valid JSON"},
		{"json syntax", JSON, "[{\"a\":1},{\"a\" 1}]", 2, 0, "not valid JSON"},
		{"json object", JSON, "{\"data\":[]}", 0, 0, "one JSON object"},
		{"json scalar", JSON, "42", 0, 0, "array of objects"},
		{"json trailing data", JSON, "[{\"a\":1}] [", 0, 0, "more after"},
		{"json empty", JSON, "", 0, 0, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, []byte(tt.data), Options{Format: tt.format})
			var pe *ParseError
			if !errors.As(res.err, &pe) {
				t.Fatalf("err = %v, want a ParseError", res.err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Reason, tt.want) {
				t.Errorf("line %d, column %d, %q; want %d, %d, %q", pe.Line, pe.Column, pe.Reason, tt.line, tt.col, tt.want)
			}
		})
	}
}

// TestParseObjectAgrees compares parseObject with encoding/json.
func TestParseObjectAgrees(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { "a" : "b" } `, `{"a":"\u4e2d\u6587","b":"\/\b\f\r\t"}`, `{"a":1e-7,"b":-12.5E+3}`,
		"{\"a\":\"\xff\"}", `{"":""}`, `{"a":"b"`, `{"a"}`, `{a:1}`, `{"a":tru}`, `{"a":1.}`, `{"a":-}`,
		`{"a":"\ud800"}`, `[1]`, `"x"`, `{"a":[1,{"b":"]"}]}`, `{"a":{"b":"}"}}`,
	} {
		fields, object, err := parseObject(s, nil)
		var v any
		jerr := json.Unmarshal([]byte(s), &v)
		if (err == nil) != (jerr == nil) {
			t.Errorf("%q: parseObject err %v, encoding/json %v", s, err, jerr)
			continue
		}
		m, isMap := v.(map[string]any)
		if err != nil || object != isMap || !isMap {
			continue
		}
		for _, f := range fields {
			want := m[f.key]
			switch w := want.(type) {
			case string:
				if f.value != w {
					t.Errorf("%q: %s = %q, want %q", s, f.key, f.value, w)
				}
			case map[string]any, []any:
				if !f.nested {
					t.Errorf("%q: %s not nested", s, f.key)
				}
			}
		}
	}
}

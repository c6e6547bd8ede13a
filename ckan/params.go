package ckan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// params are an action's parameters as CKAN's API view reads them: from a
// POST body (one JSON object, or a form), else from the query string, where
// a parameter given once is a string and one given several times a list of
// strings. JSON numbers stay json.Number.
type params map[string]any

// readParams reads the request's parameters. Its errors are the "JSON
// Error" CKAN answers with a bare 400.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, fmt.Errorf("request body over %d bytes", tooBig.Limit)
			}
			return nil, fmt.Errorf("reading the request body: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case ct == "application/x-www-form-urlencoded":
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, fmt.Errorf("Error decoding form data. Error: %v", err)
			}
			// CKAN's clients post JSON as the single key of a form.
			if len(form) == 1 {
				for k, v := range form {
					if len(v) == 1 && (v[0] == "" || v[0] == "1") && strings.HasPrefix(strings.TrimSpace(k), "{") {
						return decodeObject([]byte(k))
					}
				}
			}
			addValues(p, form)
			return p, nil
		case ct == "multipart/form-data":
			return nil, errors.New("multipart/form-data is not accepted by this read-only API; send JSON")
		case len(bytes.TrimSpace(body)) > 0:
			return decodeObject(body)
		}
	}
	addValues(p, r.URL.Query())
	delete(p, "callback")
	return p, nil
}

func addValues(p params, v url.Values) {
	for k, vs := range v {
		switch len(vs) {
		case 0:
		case 1:
			p[k] = vs[0]
		default:
			list := make([]any, len(vs))
			for i, s := range vs {
				list[i] = s
			}
			p[k] = list
		}
	}
}

func decodeObject(body []byte) (params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("Error decoding JSON data. Error: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("Error decoding JSON data. Error: data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		text := string(bytes.TrimSpace(body))
		if len(text) > 80 {
			text = text[:80] + "…"
		}
		return nil, fmt.Errorf("Request data JSON decoded to %s but it needs to be a dictionary.", text)
	}
	delete(m, "callback")
	return params(m), nil
}

// checker reads parameters and collects CKAN's validation messages.
type checker struct {
	p    params
	errs map[string][]string
}

func (p params) check() *checker { return &checker{p: p} }

func (c *checker) fail(key, reason string) {
	if c.errs == nil {
		c.errs = map[string][]string{}
	}
	if !slices.Contains(c.errs[key], reason) {
		c.errs[key] = append(c.errs[key], reason)
	}
}

// err is the Validation Error of what failed, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return invalid(c.errs)
}

func (c *checker) has(key string) bool {
	v, ok := c.p[key]
	return ok && v != nil
}

// str reads a text parameter; numbers and booleans are taken as text, as
// CKAN's unicode_safe does.
func (c *checker) str(key string) string {
	switch v := c.p[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	c.fail(key, "Must be a string")
	return ""
}

// required reads a text parameter that must be given and not empty.
func (c *checker) required(key string) string {
	if !c.has(key) {
		c.fail(key, "Missing value")
		return ""
	}
	s := c.str(key)
	if strings.TrimSpace(s) == "" {
		c.fail(key, "Missing value")
	}
	return s
}

// maxInt bounds integers so that offsets and limits never overflow when
// added.
const maxInt = 1 << 50

// integer reads an integer parameter (CKAN's int_validator, and
// natural_number_validator when natural). ok is false when it is absent
// or invalid.
func (c *checker) integer(key string, natural bool) (n int, ok bool) {
	v, present := c.p[key]
	if !present || v == nil {
		return 0, false
	}
	var text string
	switch x := v.(type) {
	case string:
		text = strings.TrimSpace(x)
		if text == "" {
			return 0, false // CKAN takes an empty value as missing
		}
	case json.Number:
		text = x.String()
	default:
		c.fail(key, "Invalid integer")
		return 0, false
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxInt {
			c.fail(key, "Invalid integer")
			return 0, false
		}
		i = int64(f)
	}
	if i > maxInt || i < -maxInt {
		c.fail(key, "Invalid integer")
		return 0, false
	}
	if natural && i < 0 {
		c.fail(key, "Must be a natural number")
		return 0, false
	}
	return int(i), true
}

// boolean reads a boolean parameter as CKAN's boolean_validator does:
// true, yes, t, y and 1 are true, anything else false.
func (c *checker) boolean(key string, def bool) bool {
	switch v := c.p[key].(type) {
	case nil:
		return def
	case bool:
		return v
	case json.Number:
		f, err := v.Float64()
		return err == nil && f != 0
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "t", "y", "1", "on":
			return true
		case "":
			return def
		}
		return false
	}
	return false
}

// list reads a list of strings: a JSON list, a JSON list as text, or a
// comma-separated text (CKAN's get_list, which also drops the quotes
// around each part).
func (c *checker) list(key string) ([]string, bool) {
	v, present := c.p[key]
	if !present || v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "[") {
			var list []any
			if err := json.Unmarshal([]byte(t), &list); err != nil {
				c.fail(key, "Could not parse as valid JSON")
				return nil, false
			}
			v = list
		} else {
			if t == "" {
				return []string{}, true
			}
			var out []string
			for _, part := range strings.Split(t, ",") {
				part = strings.TrimSpace(part)
				if len(part) >= 2 && part[0] == '"' && part[len(part)-1] == '"' {
					part = part[1 : len(part)-1]
				}
				out = append(out, part)
			}
			return out, true
		}
	}
	list, ok := v.([]any)
	if !ok {
		c.fail(key, "Not a list")
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			c.fail(key, "Not a string")
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// jsonList reads a list of strings given as a JSON list or as JSON text
// (CKAN's convert_to_json_if_string then list_of_strings).
func (c *checker) jsonList(key string) ([]string, bool) {
	v, present := c.p[key]
	if !present || v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			c.fail(key, "Could not parse as valid JSON")
			return nil, false
		}
	}
	list, ok := v.([]any)
	if !ok {
		c.fail(key, "Not a list")
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			c.fail(key, "Not a string")
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// object reads a JSON object, given as one or as JSON text (CKAN's
// json_validator).
func (c *checker) object(key string) (map[string]any, bool) {
	v, present := c.p[key]
	if !present || v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, false
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			c.fail(key, "Cannot parse JSON")
			return nil, false
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(key, "Not a JSON object")
		return nil, false
	}
	return m, true
}

// unknown lists the parameters outside allowed, sorted.
func (p params) unknown(allowed ...string) []string {
	var out []string
	for k := range p {
		if !slices.Contains(allowed, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// pyList writes names as Python writes a list of strings.
func pyList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = pyRepr(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// scalarText is a JSON scalar as the text a row filter compares with.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// encodeParam writes a parameter value back into a query string, for the
// links of a datastore page.
func encodeParam(v any) string {
	if s, ok := scalarText(v); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

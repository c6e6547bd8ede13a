package ingest

import (
	"strconv"
	"unicode/utf8"
)

// decodeFlat decodes the JSON most devices send, an object whose values
// are numbers, texts, booleans, null or one more level of such objects,
// to what encoding/json would give for it, at a fraction of the cost and
// stack depth (it runs on each MQTT connection's goroutine). ok is false
// for anything else, valid or not: arrays, deeper nesting, escaped or
// invalid UTF-8 text, numbers out of range. Those take encoding/json.
func decodeFlat(b []byte) (m map[string]any, ok bool) {
	p := flatParser{b: b}
	p.space()
	if m, ok = p.object(1); !ok {
		return nil, false
	}
	p.space()
	return m, p.i == len(b)
}

type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *flatParser) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) object(depth int) (map[string]any, bool) {
	if !p.next('{') {
		return nil, false
	}
	m := map[string]any{}
	if p.next('}') {
		return m, true
	}
	for {
		p.space()
		key, ok := p.text()
		if !ok || !p.next(':') {
			return nil, false
		}
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[key] = v
		if p.next('}') {
			return m, true
		}
		if !p.next(',') {
			return nil, false
		}
	}
}

func (p *flatParser) value(depth int) (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.text()
	case c == '{':
		if depth >= 2 {
			return nil, false
		}
		return p.object(depth + 1)
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *flatParser) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

// text reads a string without escapes.
func (p *flatParser) text() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[start:j]
			if !utf8.Valid(s) {
				return "", false
			}
			p.i = j + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *flatParser) number() (any, bool) {
	start, j := p.i, p.i
	digits := func() int {
		n := 0
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
			n++
		}
		return n
	}
	if p.b[j] == '-' {
		j++
	}
	if j < len(p.b) && p.b[j] == '0' {
		j++
	} else if digits() == 0 {
		return nil, false
	}
	if j < len(p.b) && p.b[j] == '.' {
		j++
		if digits() == 0 {
			return nil, false
		}
	}
	if j < len(p.b) && (p.b[j] == 'e' || p.b[j] == 'E') {
		j++
		if j < len(p.b) && (p.b[j] == '+' || p.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:j]), 64)
	if err != nil {
		return nil, false
	}
	p.i = j
	return f, true
}

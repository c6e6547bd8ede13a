package ngsild

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// An expr is a parsed NGSI-LD q: a condition on an entity's values, as
// keyValues shows them (measured properties at their latest values).
//
// Supported: attr, attr==v, !=, >, >=, <, <=, ~= and !~= (regular
// expressions), v as a number, "text", true/false, a list a,b,c or a range
// a..b; attr[key] reaches into a structured value; ; is and, | is or
// (; binds tighter) and parentheses group.
type expr interface {
	eval(values document) bool
}

type andExpr []expr

func (a andExpr) eval(v document) bool {
	for _, e := range a {
		if !e.eval(v) {
			return false
		}
	}
	return true
}

type orExpr []expr

func (o orExpr) eval(v document) bool {
	for _, e := range o {
		if e.eval(v) {
			return true
		}
	}
	return false
}

const (
	maxQLen   = 2000
	maxQDepth = 20
)

// parseQ parses q with attribute names in voc's terms.
func parseQ(s string, voc *vocabulary) (expr, *problem) {
	if len(s) > maxQLen {
		return nil, badRequest("q is longer than %d bytes", maxQLen)
	}
	p := &qParser{s: s, voc: voc}
	e, err := p.or()
	if err == nil && p.pos < len(s) {
		err = fmt.Errorf("unexpected %q at %d", s[p.pos], p.pos)
	}
	if err != nil {
		return nil, badRequest("q: %v", err)
	}
	return e, nil
}

type qParser struct {
	s     string
	pos   int
	depth int
	voc   *vocabulary
}

func (p *qParser) at(c byte) bool { return p.pos < len(p.s) && p.s[p.pos] == c }

func (p *qParser) or() (expr, error) {
	list := orExpr{}
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.at('|') {
			break
		}
		p.pos++
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

func (p *qParser) and() (expr, error) {
	list := andExpr{}
	for {
		e, err := p.factor()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.at(';') {
			break
		}
		p.pos++
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

func (p *qParser) factor() (expr, error) {
	if !p.at('(') {
		return p.term()
	}
	if p.depth++; p.depth > maxQDepth {
		return nil, errors.New("parentheses nested too deep")
	}
	p.pos++
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if !p.at(')') {
		return nil, fmt.Errorf("missing ) at %d", p.pos)
	}
	p.pos++
	p.depth--
	return e, nil
}

// A term tests one attribute; an empty op tests that it exists.
type term struct {
	path []string // the attribute, then keys into its value
	op   string
	val  qValue
}

// A qValue is what an attribute is compared with.
type qValue struct {
	one    any   // float64, string or bool
	list   []any // a,b,c: equal to one of them
	lo, hi any   // a..b: within, inclusive
	re     *regexp.Regexp
}

var operators = []string{"==", "!=", ">=", "<=", "!~=", "~=", ">", "<"} // longest first where they share a start

func (p *qParser) term() (expr, error) {
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune("=!<>~;|()", rune(p.s[p.pos])) {
		p.pos++
	}
	path, err := p.path(strings.TrimSpace(p.s[start:p.pos]))
	if err != nil {
		return nil, err
	}
	t := &term{path: path}
	if p.pos == len(p.s) || strings.ContainsRune(";|)", rune(p.s[p.pos])) {
		return t, nil
	}
	for _, op := range operators {
		if strings.HasPrefix(p.s[p.pos:], op) {
			t.op = op
			break
		}
	}
	if t.op == "" {
		return nil, fmt.Errorf("unknown operator at %d", p.pos)
	}
	p.pos += len(t.op)
	if t.val, err = p.value(t.op); err != nil {
		return nil, err
	}
	return t, nil
}

// path reads attr or attr[key][key].
func (p *qParser) path(s string) ([]string, error) {
	name, rest, _ := strings.Cut(s, "[")
	if name = strings.TrimSpace(name); name == "" {
		return nil, fmt.Errorf("attribute name expected at %d", p.pos)
	}
	path := []string{p.voc.name(name)}
	for rest != "" {
		key, after, ok := strings.Cut(rest, "]")
		if !ok || key == "" {
			return nil, fmt.Errorf("%q: want attr[key]", s)
		}
		path = append(path, key)
		if rest = after; rest != "" {
			if !strings.HasPrefix(rest, "[") {
				return nil, fmt.Errorf("%q: want attr[key]", s)
			}
			rest = rest[1:]
		}
	}
	return path, nil
}

// value reads up to the next ; | or ) outside quotes.
func (p *qParser) value(op string) (qValue, error) {
	start, quoted := p.pos, false
	for ; p.pos < len(p.s); p.pos++ {
		c := p.s[p.pos]
		if c == '\\' && quoted {
			p.pos++
		} else if c == '"' {
			quoted = !quoted
		} else if !quoted && strings.IndexByte(";|)", c) >= 0 {
			break
		}
	}
	if quoted {
		return qValue{}, errors.New("unterminated quoted string")
	}
	raw := p.s[start:min(p.pos, len(p.s))]
	if op == "~=" || op == "!~=" {
		s, err := scalar(raw)
		pattern, ok := s.(string)
		if err != nil || !ok || len(pattern) > 256 {
			return qValue{}, errors.New("~= wants a pattern of at most 256 bytes")
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return qValue{}, fmt.Errorf("pattern %q: %v", clip(pattern), err)
		}
		return qValue{re: re}, nil
	}
	var v qValue
	var err error
	if parts := splitOutsideQuotes(raw, ".."); len(parts) == 2 && (op == "==" || op == "!=") {
		if v.lo, err = scalar(parts[0]); err == nil {
			v.hi, err = scalar(parts[1])
		}
		return v, err
	}
	if parts := splitOutsideQuotes(raw, ","); len(parts) > 1 && (op == "==" || op == "!=") {
		for _, part := range parts {
			s, err := scalar(part)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, s)
		}
		return v, nil
	}
	v.one, err = scalar(raw)
	return v, err
}

// scalar reads "text", true, false, a number, or bare text.
func scalar(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("value expected")
	case strings.HasPrefix(s, `"`):
		var text string
		if err := json.Unmarshal([]byte(s), &text); err != nil {
			return nil, fmt.Errorf("%s is not a quoted string", clip(s))
		}
		return text, nil
	case s == "true" || s == "false":
		return s == "true", nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	if strings.ContainsAny(s, `=<>!~"'()`) {
		return nil, fmt.Errorf("%s: quote text values", clip(s))
	}
	return s, nil
}

func splitOutsideQuotes(s, sep string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], sep):
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:])
}

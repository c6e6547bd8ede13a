package tabular

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The header of a JSON or NDJSON file is made of the keys of the first
// objects: this many, or this much text.
const (
	headerObjects = 1000
	headerBytes   = 4 << 20
)

// elements yields the text of a file's JSON values one at a time.
type elements interface {
	// next returns the number of the next element (Record.Line) and its
	// text, io.EOF at the end.
	next() (int, string, error)
	// fail makes a ParseError of a syntax error at off in the element.
	fail(line int, off int, reason string, err error) error
}

// objectReader reads the flat objects of a JSON array or NDJSON file.
type objectReader struct {
	src      *source
	elems    elements
	header   []string
	index    map[string]int
	pending  []heldObject
	fields   []field
	values   []string
	problems []Problem
	seen     []uint32
	gen      uint32
	err      error
}

type heldObject struct {
	line   int
	fields []field
	object bool
}

func newObjectReader(src *source, br *bufio.Reader, opts Options) (*objectReader, error) {
	if head, err := br.Peek(3); err != nil && err != io.EOF {
		return nil, src.fail(err, 0, "")
	} else if bytes.HasPrefix(head, utf8BOM) {
		_, _ = br.Discard(3)
	}
	o := &objectReader{src: src, index: map[string]int{}}
	var err error
	if opts.Format == NDJSON {
		o.elems = &ndjsonLines{src: src, br: br, max: opts.MaxRecordBytes}
	} else if o.elems, err = newJSONArray(src, br, opts.MaxRecordBytes); err != nil {
		return nil, err
	}
	size := 0
	for len(o.pending) < headerObjects && size < headerBytes {
		line, text, err := o.elems.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		fields, object, err := o.parse(line, text, nil)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			if _, ok := o.index[f.key]; !ok {
				o.index[f.key] = len(o.header)
				o.header = append(o.header, f.key)
			}
		}
		o.pending = append(o.pending, heldObject{line, fields, object})
		size += len(text)
	}
	o.seen = make([]uint32, len(o.header))
	return o, nil
}

func (o *objectReader) parse(line int, text string, dst []field) ([]field, bool, error) {
	fields, object, err := parseObject(text, dst)
	var se *syntaxError
	if errors.As(err, &se) {
		return nil, false, o.elems.fail(line, se.off, se.msg, nil)
	}
	return fields, object, err
}

func (o *objectReader) Header() []string { return o.header }
func (o *objectReader) HeaderRow() int   { return 0 }
func (o *objectReader) BytesRead() int64 { return o.src.n.Load() }
func (o *objectReader) Close() error     { return nil }

func (o *objectReader) Next() (Record, error) {
	if o.err != nil {
		return Record{}, o.err
	}
	if len(o.pending) > 0 {
		h := o.pending[0]
		o.pending[0] = heldObject{}
		o.pending = o.pending[1:]
		return o.record(h.line, h.fields, h.object), nil
	}
	line, text, err := o.elems.next()
	if err != nil {
		o.err = err
		return Record{}, err
	}
	fields, object, err := o.parse(line, text, o.fields[:0])
	if err != nil {
		o.err = err
		return Record{}, err
	}
	o.fields = fields
	return o.record(line, fields, object), nil
}

// record lines the fields of an object up with the header.
func (o *objectReader) record(line int, fields []field, object bool) Record {
	n := len(o.header)
	if cap(o.values) < n {
		o.values = make([]string, n)
	}
	v := o.values[:n]
	clear(v)
	o.problems = o.problems[:0]
	problem := func(column, kind, reason string) {
		o.problems = append(o.problems, Problem{Row: line, Column: column, Kind: kind, Reason: reason, Fatal: true})
	}
	if !object {
		problem("", KindNotObject, "not an object: a row must be an object of keys and values")
	}
	o.gen++
	if o.gen == 0 { // wrapped around
		clear(o.seen)
		o.gen = 1
	}
	for _, f := range fields {
		c, ok := o.index[f.key]
		switch {
		case !ok:
			problem(f.key, KindUnknownKey, "the key is not among the keys of the first objects, which make the header: its value is ignored")
			continue
		case o.seen[c] == o.gen:
			problem(f.key, KindDuplicateKey, "the key appears twice in the object: the first value is kept")
			continue
		}
		o.seen[c] = o.gen
		if f.nested {
			problem(f.key, KindNestedValue, "the value is an object or an array: only text, numbers, true, false and null can be loaded")
			continue
		}
		v[c] = f.value
	}
	rec := Record{Line: line, Values: v}
	if len(o.problems) > 0 {
		rec.Problems = o.problems
	}
	return rec
}

// ndjsonLines yields the lines of an NDJSON file, blank lines skipped.
type ndjsonLines struct {
	src        *source
	br         *bufio.Reader
	max        int
	line       int
	buf        []byte
	unfinished bool // the last line read has no line break
}

func (n *ndjsonLines) next() (int, string, error) {
	for {
		b, err := n.readLine()
		if err != nil {
			return 0, "", err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return n.line, string(b), nil
		}
	}
}

func (n *ndjsonLines) readLine() ([]byte, error) {
	b, err := n.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		n.buf = append(n.buf[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(n.buf) > n.max {
				return nil, &ParseError{Line: n.line + 1, Err: errTooLong,
					Reason: fmt.Sprintf("the line is longer than %d bytes", n.max)}
			}
			b, err = n.br.ReadSlice('\n')
			n.buf = append(n.buf, b...)
		}
		b = n.buf
	}
	if len(b) > n.max {
		return nil, &ParseError{Line: n.line + 1, Err: errTooLong,
			Reason: fmt.Sprintf("the line is longer than %d bytes", n.max)}
	}
	switch {
	case err == io.EOF && len(b) == 0:
		return nil, io.EOF
	case err == io.EOF:
		n.unfinished = true
	case err != nil:
		return nil, n.src.fail(err, n.line+1, "line")
	}
	n.line++
	return b, nil
}

func (n *ndjsonLines) fail(line, off int, reason string, err error) error {
	if n.unfinished {
		return &ParseError{Line: line, Column: off + 1, Err: ErrTruncated,
			Reason: reason + ": the last line is incomplete, the file may have been cut short"}
	}
	return &ParseError{Line: line, Column: off + 1, Reason: reason, Err: err}
}

// jsonArray yields the elements of a top-level JSON array.
type jsonArray struct {
	src   *source
	lim   *textLimit
	dec   *json.Decoder
	raw   json.RawMessage
	index int
	start int64 // offset of the current element
	done  bool
}

func newJSONArray(src *source, br *bufio.Reader, max int) (*jsonArray, error) {
	lim := &textLimit{r: br, limit: int64(max)}
	a := &jsonArray{src: src, lim: lim, dec: json.NewDecoder(lim)}
	tok, err := a.dec.Token()
	switch {
	case err == io.EOF:
		return nil, &ParseError{Reason: "the file is empty"}
	case err != nil:
		return nil, a.error(err)
	case tok == json.Delim('['):
		return a, nil
	case tok == json.Delim('{'):
		return nil, &ParseError{Reason: "the file holds one JSON object; it must hold an array of objects ([{…}, {…}]), or one object per line as NDJSON"}
	}
	return nil, &ParseError{Reason: "the file must hold a JSON array of objects ([{…}, {…}])"}
}

func (a *jsonArray) next() (int, string, error) {
	if a.done {
		return 0, "", io.EOF
	}
	a.lim.base = a.dec.InputOffset()
	if !a.dec.More() {
		a.done = true
		if tok, err := a.dec.Token(); err == io.EOF {
			if a.src.err != nil {
				return 0, "", a.src.err
			}
			return 0, "", &ParseError{Line: a.index, unit: "element", Err: ErrTruncated,
				Reason: "the file ends after this element without closing the array (]): it is incomplete"}
		} else if err != nil {
			return 0, "", a.error(err)
		} else if tok != json.Delim(']') {
			return 0, "", a.fail(a.index+1, 0, "the array is not closed properly", nil)
		}
		if _, err := a.dec.Token(); err != io.EOF {
			if err != nil {
				return 0, "", a.error(err)
			}
			return 0, "", &ParseError{Reason: fmt.Sprintf("there is more after the array's closing ] (at byte %d)", a.dec.InputOffset())}
		}
		if a.src.err != nil {
			return 0, "", a.src.err
		}
		return 0, "", io.EOF
	}
	a.start = a.dec.InputOffset()
	if err := a.dec.Decode(&a.raw); err != nil {
		a.done = true
		return 0, "", a.error(err)
	}
	a.index++
	if len(a.raw) > int(a.lim.limit) {
		a.done = true
		return 0, "", &ParseError{Line: a.index, unit: "element", Err: errTooLong,
			Reason: fmt.Sprintf("the element is longer than %d bytes", a.lim.limit)}
	}
	return a.index, string(a.raw), nil
}

// error turns an error of the decoder into a ParseError.
func (a *jsonArray) error(err error) error {
	line := a.index + 1
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errTooLong):
		return &ParseError{Line: line, Err: err, unit: "element",
			Reason: fmt.Sprintf("the element is longer than %d bytes", a.lim.limit)}
	case errors.As(err, &se):
		return &ParseError{Line: line, unit: "element", Err: err,
			Reason: fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)}
	case err == io.ErrUnexpectedEOF:
		if a.src.err != nil {
			return a.src.err
		}
		return &ParseError{Line: line, unit: "element", Err: ErrTruncated,
			Reason: "the file ends inside this element: it is incomplete"}
	}
	return a.src.fail(err, line, "element")
}

func (a *jsonArray) fail(line, off int, reason string, err error) error {
	return &ParseError{Line: line, unit: "element", Err: err,
		Reason: fmt.Sprintf("%s (at byte %d)", reason, a.start+int64(off))}
}

// field is a key and its value in a flat JSON object.
type field struct {
	key, value string
	nested     bool // the value is an object or array (value is "")
}

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// parseObject parses the JSON value s, which should be an object whose
// values are strings, numbers, true, false or null, appending its fields
// to dst. Strings and numbers without escapes are substrings of s. It
// reports whether s is an object at all (a valid value that is not is no
// error), and returns a *syntaxError for text that is not JSON.
func parseObject(s string, dst []field) ([]field, bool, error) {
	p := scanner{s: s}
	p.space()
	if p.peek() != '{' {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			off := 0
			var se *json.SyntaxError
			if errors.As(err, &se) && se.Offset > 0 {
				off = int(se.Offset) - 1 // Offset counts the bad byte
			}
			return dst, false, &syntaxError{off, "not valid JSON: " + err.Error()}
		}
		return dst, false, nil
	}
	p.i++
	p.space()
	if p.peek() == '}' {
		p.i++
	} else {
		for {
			p.space()
			if p.peek() != '"' {
				return dst, true, p.errorf("a key in double quotes expected")
			}
			key, err := p.str()
			if err != nil {
				return dst, true, err
			}
			p.space()
			if p.peek() != ':' {
				return dst, true, p.errorf("':' expected after a key")
			}
			p.i++
			p.space()
			val, nested, err := p.value()
			if err != nil {
				return dst, true, err
			}
			dst = append(dst, field{key, val, nested})
			p.space()
			c := p.peek()
			p.i++
			if c == '}' {
				break
			}
			if c != ',' {
				p.i--
				return dst, true, p.errorf("',' or '}' expected")
			}
		}
	}
	p.space()
	if p.i < len(s) {
		return dst, true, p.errorf("more after the object's closing }")
	}
	return dst, true, nil
}

type scanner struct {
	s string
	i int
}

func (p *scanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) errorf(format string, args ...any) error {
	if p.i >= len(p.s) {
		return &syntaxError{p.i, "not valid JSON: unexpected end: " + fmt.Sprintf(format, args...)}
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return &syntaxError{p.i, fmt.Sprintf("not valid JSON: unexpected %q: %s", r, fmt.Sprintf(format, args...))}
}

// str reads the string at p.i.
func (p *scanner) str() (string, error) {
	start := p.i
	j := start + 1
	escaped, ascii := false, true
	for j < len(p.s) {
		c := p.s[j]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			escaped = true
			j += 2
			continue
		case c < 0x20:
			p.i = j
			return "", p.errorf("a control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
		j++
	}
	if j >= len(p.s) {
		p.i = start
		return "", &syntaxError{start, "not valid JSON: a string that is never closed"}
	}
	p.i = j + 1
	raw := p.s[start+1 : j]
	if !escaped && (ascii || utf8.ValidString(raw)) {
		return raw, nil
	}
	var out string
	if err := json.Unmarshal([]byte(p.s[start:j+1]), &out); err != nil {
		return "", &syntaxError{start, "not valid JSON: " + err.Error()}
	}
	return out, nil
}

// value reads the value at p.i.
func (p *scanner) value() (string, bool, error) {
	switch c := p.peek(); {
	case c == '"':
		s, err := p.str()
		return s, false, err
	case c == '{' || c == '[':
		return "", true, p.nested()
	case c == 't':
		return p.literal("true", "true")
	case c == 'f':
		return p.literal("false", "false")
	case c == 'n':
		return p.literal("null", "")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return "", false, p.errorf("a value expected")
}

func (p *scanner) literal(word, value string) (string, bool, error) {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return value, false, nil
	}
	return "", false, p.errorf("a value expected")
}

func (p *scanner) number() (string, bool, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		digits()
	default:
		return "", false, p.errorf("a digit expected")
	}
	if p.peek() == '.' {
		p.i++
		if digits() == 0 {
			return "", false, p.errorf("a digit expected after '.'")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if digits() == 0 {
			return "", false, p.errorf("a digit expected in the exponent")
		}
	}
	return p.s[start:p.i], false, nil
}

// nested skips the object or array at p.i, checking that it is JSON.
func (p *scanner) nested() error {
	start, depth := p.i, 0
	for j := p.i; j < len(p.s); j++ {
		switch p.s[j] {
		case '"':
			for j++; j < len(p.s) && p.s[j] != '"'; j++ {
				if p.s[j] == '\\' {
					j++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i = j + 1
				if !json.Valid([]byte(p.s[start:p.i])) {
					var v any
					err := json.Unmarshal([]byte(p.s[start:p.i]), &v)
					return &syntaxError{start, fmt.Sprintf("not valid JSON: %v", err)}
				}
				return nil
			}
		}
	}
	return &syntaxError{start, "not valid JSON: an object or array that is never closed"}
}

package dcat

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small RDF model, just enough for the feeds, and its two writers. Both
// serializations are written from the same nodes, so they say the same
// triples; testdata/parse.mjs checks that with real parsers.

// Namespaces, with the prefixes both serializations declare.
const (
	nsDCAT   = "http://www.w3.org/ns/dcat#"
	nsDCT    = "http://purl.org/dc/terms/"
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsVCARD  = "http://www.w3.org/2006/vcard/ns#"
	nsHydra  = "http://www.w3.org/ns/hydra/core#"
	nsXSD    = "http://www.w3.org/2001/XMLSchema#"
	nsADMS   = "http://www.w3.org/ns/adms#"
	nsSchema = "http://schema.org/"
	nsSKOS   = "http://www.w3.org/2004/02/skos/core#"
)

var prefixes = []struct{ prefix, ns string }{
	{"dcat", nsDCAT}, {"dct", nsDCT}, {"foaf", nsFOAF}, {"vcard", nsVCARD}, {"hydra", nsHydra},
	{"xsd", nsXSD}, {"adms", nsADMS}, {"schema", nsSchema}, {"skos", nsSKOS},
}

// node is a resource with its properties. An empty iri makes it a blank
// node, written inside the node that refers to it (each blank node here is
// referred to once).
type node struct {
	iri   string
	types []string // class IRIs
	props []prop
}

type prop struct {
	pred string // property IRI
	val  value
}

// value is the object of a triple: an IRI, a literal, or a blank node.
type value struct {
	iri   string
	lit   *literal
	blank *node
}

type literal struct {
	lex      string
	lang     string // a language tag, or
	datatype string // a datatype IRI; neither: xsd:string
}

func iriValue(iri string) value          { return value{iri: iri} }
func blankValue(n *node) value           { return value{blank: n} }
func stringValue(s string) value         { return value{lit: &literal{lex: s}} }
func langValue(s, lang string) value     { return value{lit: &literal{lex: s, lang: lang}} }
func typedValue(s, dt string) value      { return value{lit: &literal{lex: s, datatype: dt}} }
func intValue(n int) value               { return typedValue(strconv.Itoa(n), nsXSD+"integer") }
func (n *node) add(pred string, v value) { n.props = append(n.props, prop{pred, v}) }

// addText adds a language-tagged literal unless s is blank.
func (n *node) addText(pred, s, lang string) {
	if strings.TrimSpace(s) != "" {
		n.add(pred, langValue(s, lang))
	}
}

// graph is a document: its top-level nodes in order.
type graph struct {
	nodes []*node
	seen  map[string]bool // IRIs of top-level nodes, to describe each once
}

// addNode appends n unless a node with its IRI is there already; it
// reports whether n was added.
func (g *graph) addNode(n *node) bool {
	if g.seen == nil {
		g.seen = map[string]bool{}
	}
	if n.iri != "" {
		if g.seen[n.iri] {
			return false
		}
		g.seen[n.iri] = true
	}
	g.nodes = append(g.nodes, n)
	return true
}

// clean makes s valid UTF-8: each invalid byte becomes U+FFFD, as Go's
// JSON encoder does, so both serializations carry the same text.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // each invalid byte decodes as U+FFFD
		b.WriteRune(r)
	}
	return b.String()
}

// Turtle.

// turtleString writes s as a Turtle (and N-Triples) string literal: quotes,
// backslashes and line breaks as ECHAR escapes, other control characters
// as \u escapes, everything else as itself.
func turtleString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range clean(s) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// safeIRI percent-encodes what an IRI may not hold (spaces, control
// characters, <>"{}|^`\ and invalid UTF-8), so it can go between < and >
// in Turtle and stays the same IRI in JSON-LD. Characters an IRI allows,
// non-ASCII letters included, stay as they are.
func safeIRI(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || strings.IndexByte(`<>"{}|^`+"`"+`\`, c) >= 0 {
			return encodeIRI(s)
		}
	}
	return s // plain ASCII, nothing to encode: the common case
}

func encodeIRI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1, r <= 0x20, r == 0x7f,
			strings.ContainsRune(`<>"{}|^`+"`"+`\`, r), r >= 0x80 && !isUcschar(r):
			for j := 0; j < size; j++ {
				fmt.Fprintf(&b, "%%%02X", s[i+j])
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isUcschar tells whether RFC 3987 lets r stand unencoded in an IRI
// (private-use characters only in a query: they are encoded everywhere).
func isUcschar(r rune) bool {
	switch {
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xf900 && r <= 0xfdcf, r >= 0xfdf0 && r <= 0xffef:
		return true
	case r >= 0x10000 && r < 0xe0000, r >= 0xe1000 && r < 0xf0000:
		return r&0xffff <= 0xfffd
	}
	return false
}

// compact writes an IRI as a prefixed name when one fits safely.
func compact(iri string) (string, bool) {
	for _, p := range prefixes {
		if local, ok := strings.CutPrefix(iri, p.ns); ok && isSimpleName(local) {
			return p.prefix + ":" + local, true
		}
	}
	return iri, false
}

// isSimpleName: ASCII letters, digits and _, not starting with a digit: a
// local name valid in Turtle and a term JSON-LD expands alike.
func isSimpleName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func turtleIRI(b *bytes.Buffer, iri string) {
	if name, ok := compact(iri); ok {
		b.WriteString(name)
		return
	}
	b.WriteByte('<')
	b.WriteString(safeIRI(iri))
	b.WriteByte('>')
}

func turtleValue(b *bytes.Buffer, v value, indent string) {
	switch {
	case v.blank != nil:
		b.WriteString("[\n")
		turtleBody(b, v.blank, indent+"    ")
		b.WriteString("\n" + indent + "]")
	case v.lit != nil:
		turtleString(b, v.lit.lex)
		switch {
		case v.lit.lang != "":
			b.WriteString("@" + v.lit.lang)
		case v.lit.datatype != "":
			b.WriteString("^^")
			turtleIRI(b, v.lit.datatype)
		}
	default:
		turtleIRI(b, v.iri)
	}
}

// turtleBody writes a node's predicate-object list.
func turtleBody(b *bytes.Buffer, n *node, indent string) {
	first := true
	sep := func() {
		if !first {
			b.WriteString(" ;\n")
		}
		first = false
		b.WriteString(indent)
	}
	if len(n.types) > 0 {
		sep()
		b.WriteString("a ")
		for i, t := range n.types {
			if i > 0 {
				b.WriteString(", ")
			}
			turtleIRI(b, t)
		}
	}
	for i := 0; i < len(n.props); {
		sep()
		turtleIRI(b, n.props[i].pred)
		b.WriteByte(' ')
		j := i
		for ; j < len(n.props) && n.props[j].pred == n.props[i].pred; j++ {
			if j > i {
				b.WriteString(",\n" + indent + "    ")
			}
			turtleValue(b, n.props[j].val, indent)
		}
		i = j
	}
}

// Turtle writes the graph as Turtle.
func (g *graph) Turtle() []byte {
	var b bytes.Buffer
	b.Grow(1024 + 1024*len(g.nodes))
	for _, p := range prefixes {
		fmt.Fprintf(&b, "@prefix %s: <%s> .\n", p.prefix, p.ns)
	}
	for _, n := range g.nodes {
		if len(n.types) == 0 && len(n.props) == 0 {
			continue // no triples (JSON-LD says none either)
		}
		b.WriteByte('\n')
		if n.iri == "" { // a top-level blank node
			b.WriteString("[]")
		} else {
			turtleIRI(&b, n.iri)
		}
		b.WriteByte('\n')
		turtleBody(&b, n, "    ")
		b.WriteString(" .\n")
	}
	return b.Bytes()
}

// JSON-LD.

// jsonString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 as U+FFFD, nothing else touched.
func jsonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range clean(s) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x2028 || r == 0x2029 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// jsonWriter writes indented JSON objects whose keys keep their order.
type jsonWriter struct {
	b     bytes.Buffer
	depth int
	first []bool
}

func (w *jsonWriter) newline() {
	w.b.WriteByte('\n')
	for i := 0; i < w.depth; i++ {
		w.b.WriteString("  ")
	}
}

func (w *jsonWriter) open(c byte) {
	w.b.WriteByte(c)
	w.depth++
	w.first = append(w.first, true)
}

func (w *jsonWriter) close(c byte) {
	w.depth--
	empty := w.first[len(w.first)-1]
	w.first = w.first[:len(w.first)-1]
	if !empty {
		w.newline()
	}
	w.b.WriteByte(c)
}

// item starts the next member of the open object or array.
func (w *jsonWriter) item() {
	if !w.first[len(w.first)-1] {
		w.b.WriteByte(',')
	}
	w.first[len(w.first)-1] = false
	w.newline()
}

func (w *jsonWriter) key(k string) {
	w.item()
	jsonString(&w.b, k)
	w.b.WriteString(": ")
}

func (w *jsonWriter) str(s string) { jsonString(&w.b, s) }

// jsonldTerm is a predicate, class or datatype as JSON-LD writes it: a
// compact IRI when one fits, otherwise the absolute IRI.
func jsonldTerm(iri string) string {
	if name, ok := compact(iri); ok {
		return name
	}
	return safeIRI(iri)
}

func (w *jsonWriter) jsonldValue(v value) {
	switch {
	case v.blank != nil:
		w.jsonldNode(v.blank)
	case v.lit != nil:
		if v.lit.lang == "" && v.lit.datatype == "" {
			w.str(v.lit.lex)
			return
		}
		w.open('{')
		w.key("@value")
		w.str(v.lit.lex)
		if v.lit.lang != "" {
			w.key("@language")
			w.str(v.lit.lang)
		} else {
			w.key("@type")
			w.str(jsonldTerm(v.lit.datatype))
		}
		w.close('}')
	default:
		w.open('{')
		w.key("@id")
		w.str(safeIRI(v.iri))
		w.close('}')
	}
}

func (w *jsonWriter) jsonldNode(n *node) {
	w.open('{')
	if n.iri != "" {
		w.key("@id")
		w.str(safeIRI(n.iri))
	}
	if len(n.types) > 0 {
		w.key("@type")
		w.open('[')
		for _, t := range n.types {
			w.item()
			w.str(jsonldTerm(t))
		}
		w.close(']')
	}
	// Values of a predicate go together, in their order.
	var order []string
	values := map[string][]value{}
	for _, p := range n.props {
		if _, ok := values[p.pred]; !ok {
			order = append(order, p.pred)
		}
		values[p.pred] = append(values[p.pred], p.val)
	}
	for _, pred := range order {
		w.key(jsonldTerm(pred))
		w.open('[')
		for _, v := range values[pred] {
			w.item()
			w.jsonldValue(v)
		}
		w.close(']')
	}
	w.close('}')
}

// JSONLD writes the graph as a JSON-LD document: a context of the
// prefixes and the nodes in @graph.
func (g *graph) JSONLD() []byte {
	var w jsonWriter
	w.b.Grow(1024 + 2048*len(g.nodes))
	w.open('{')
	w.key("@context")
	w.open('{')
	for _, p := range prefixes {
		w.key(p.prefix)
		w.str(p.ns)
	}
	w.close('}')
	w.key("@graph")
	w.open('[')
	for _, n := range g.nodes {
		w.item()
		w.jsonldNode(n)
	}
	w.close(']')
	w.close('}')
	w.b.WriteByte('\n')
	return w.b.Bytes()
}

// IRIs built from parts.

// joinPath appends escaped path segments to base.
func joinPath(base string, segments ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(base, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// withQuery appends an encoded query to iri.
func withQuery(iri string, q url.Values) string {
	if len(q) == 0 {
		return iri
	}
	return iri + "?" + q.Encode()
}

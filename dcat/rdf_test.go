package dcat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// readTurtleString decodes a Turtle STRING_LITERAL_QUOTE at the start of s
// by the grammar: no raw " \ LF CR inside; ECHAR and UCHAR escapes. It
// returns the value and what follows.
func readTurtleString(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("does not start with a quote")
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "", "", fmt.Errorf("invalid UTF-8 at %d", i)
		case r == '"':
			return b.String(), s[i+1:], nil
		case r == '\n' || r == '\r':
			return "", "", fmt.Errorf("raw line break at %d", i)
		case r == '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("dangling backslash")
			}
			switch c := s[i+1]; c {
			case 't', 'b', 'n', 'r', 'f', '"', '\'', '\\':
				b.WriteByte(map[byte]byte{'t': '\t', 'b': '\b', 'n': '\n', 'r': '\r', 'f': '\f', '"': '"', '\'': '\'', '\\': '\\'}[c])
				i += 2
			case 'u', 'U':
				n := 4
				if c == 'U' {
					n = 8
				}
				if i+2+n > len(s) {
					return "", "", fmt.Errorf("short \\%c escape", c)
				}
				v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", "", fmt.Errorf("bad \\%c escape %q", c, s[i+2:i+2+n])
				}
				b.WriteRune(rune(v))
				i += 2 + n
			default:
				return "", "", fmt.Errorf("unknown escape \\%c", c)
			}
		default:
			b.WriteRune(r)
			i += size
		}
	}
	return "", "", fmt.Errorf("no closing quote")
}

func TestTurtleStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\dir\`, `"C:\\dir\\"`},
		{"two\nlines\r\n", `"two\nlines\r\n"`},
		{"tab\there", `"tab\there"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001F\u007F"`},
		{"中文，全角“引号”", `"中文，全角“引号”"`},
		{"emoji 🚦 and \u2028", "\"emoji 🚦 and \u2028\""},
		{"bad \xff\xfe bytes", "\"bad \uFFFD\uFFFD bytes\""},
		{`'single' '''`, `"'single' '''"`},
	} {
		var b bytes.Buffer
		turtleString(&b, c.in)
		if got := b.String(); got != c.want {
			t.Errorf("turtleString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestJSONStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`say "hi"`, `"say \"hi\""`},
		{`a\b`, `"a\\b"`},
		{"\x00\n\u2028<&>", `"\u0000\n\u2028<&>"`},
		{"bad \xff", "\"bad \uFFFD\""},
	} {
		var b bytes.Buffer
		jsonString(&b, c.in)
		if got := b.String(); got != c.want {
			t.Errorf("jsonString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestSafeIRI(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://data.example.cn/dataset/211-000123", "https://data.example.cn/dataset/211-000123"},
		{"https://x/a b<c>\"d\"{e}|f^g`h\\i", "https://x/a%20b%3Cc%3E%22d%22%7Be%7D%7Cf%5Eg%60h%5Ci"},
		{"https://x/路灯?q=井盖&x=1#frag", "https://x/路灯?q=井盖&x=1#frag"},
		{"https://x/\x00\n\x7f", "https://x/%00%0A%7F"},
		{"https://x/\xff", "https://x/%FF"},
		{"https://x/\u0085\ue000\ufffe", "https://x/%C2%85%EE%80%80%EF%BF%BE"},
	} {
		if got := safeIRI(c.in); got != c.want {
			t.Errorf("safeIRI(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Any string written as a Turtle literal reads back as itself (invalid
// UTF-8 as U+FFFD), with nothing after the closing quote.
func FuzzTurtleLiteral(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, "\n\r\t", "\x00", "中文", "\xff", `\u0041`, "\"\"\"", "🚦\u2028\ufeff", "a\\\"b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		turtleString(&b, s)
		got, rest, err := readTurtleString(b.String())
		if err != nil {
			t.Fatalf("%q written as %s: %v", s, b.String(), err)
		}
		if rest != "" || got != clean(s) {
			t.Fatalf("%q written as %s reads back as %q (then %q)", s, b.String(), got, rest)
		}
	})
}

// Any string written as a JSON string is valid JSON and decodes to itself.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, "\x00\x1f", "<script>&", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		jsonString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%q written as %s: %v", s, b.String(), err)
		}
		if got != clean(s) {
			t.Fatalf("%q written as %s reads back as %q", s, b.String(), got)
		}
	})
}

// A safe IRI holds nothing Turtle's IRIREF forbids, is valid UTF-8, and
// stays as it is when made safe again.
func FuzzSafeIRI(f *testing.F) {
	for _, s := range []string{"https://x/a b", "https://x/<>", "https://x/路灯", "\xff", "\ue000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeIRI(s)
		if !utf8.ValidString(got) {
			t.Fatalf("safeIRI(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if r <= 0x20 || strings.ContainsRune("<>\"{}|^`\\", r) {
				t.Fatalf("safeIRI(%q) = %q holds %q", s, got, r)
			}
		}
		if again := safeIRI(got); again != got {
			t.Fatalf("safeIRI not idempotent: %q then %q", got, again)
		}
	})
}

// The Turtle writer's structure: prefixes, grouped predicates, nested
// blank nodes, typed and tagged literals.
func TestTurtleShape(t *testing.T) {
	var g graph
	n := &node{iri: "https://x/dataset/1", types: []string{nsDCAT + "Dataset"}}
	n.add(nsDCAT+"keyword", stringValue("a"))
	n.add(nsDCAT+"keyword", stringValue("b"))
	n.addText(nsDCT+"title", "标题", "zh")
	n.addText(nsDCT+"description", "  ", "zh") // blank: left out
	pub := &node{types: []string{nsFOAF + "Organization"}}
	pub.addText(nsFOAF+"name", "局", "zh")
	n.add(nsDCT+"publisher", blankValue(pub))
	n.add(nsDCT+"modified", typedValue("2026-01-31T08:00:00+08:00", nsXSD+"dateTime"))
	n.add("https://x/vocab#odd-name", iriValue("https://x/a b"))
	g.addNode(n)
	g.addNode(&node{iri: "https://x/dataset/1"}) // described once
	got := string(g.Turtle())
	want := `@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix adms: <http://www.w3.org/ns/adms#> .
@prefix schema: <http://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

<https://x/dataset/1>
    a dcat:Dataset ;
    dcat:keyword "a",
        "b" ;
    dct:title "标题"@zh ;
    dct:publisher [
        a foaf:Organization ;
        foaf:name "局"@zh
    ] ;
    dct:modified "2026-01-31T08:00:00+08:00"^^xsd:dateTime ;
    <https://x/vocab#odd-name> <https://x/a%20b> .
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var doc struct {
		Context map[string]string `json:"@context"`
		Graph   []map[string]any  `json:"@graph"`
	}
	if err := json.Unmarshal(g.JSONLD(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Graph) != 1 || doc.Context["dcat"] != nsDCAT {
		t.Fatalf("JSON-LD: %+v", doc)
	}
	title := doc.Graph[0]["dct:title"].([]any)[0].(map[string]any)
	if title["@value"] != "标题" || title["@language"] != "zh" {
		t.Errorf("JSON-LD title %v", title)
	}
}

package tabular

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names as Open reports and accepts them.
const (
	encUTF8    = "utf-8"
	encGB18030 = "gb18030"
	encUTF16   = "utf-16"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeText returns the text of br as UTF-8, without a byte order mark.
// encoding is the declared encoding ("" detects, see Options.Encoding).
// The result's encoding method tells which encoding was found (or
// "" while undecided).
func decodeText(br *bufio.Reader, encoding string) (*text, error) {
	name := strings.ToLower(strings.TrimSpace(encoding))
	name = strings.ReplaceAll(name, "_", "-")
	switch name {
	case "":
		head, err := br.Peek(3)
		if err != nil && err != io.EOF {
			return nil, err
		}
		switch {
		case bytes.HasPrefix(head, utf8BOM):
			_, _ = br.Discard(3)
			return &text{r: br, enc: encUTF8, raw: true}, nil
		case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
			dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
			return &text{r: transform.NewReader(br, dec), enc: encUTF16}, nil
		}
		s := &sniffer{br: br}
		return &text{r: s, sniff: s}, nil
	case "utf-8", "utf8":
		if head, _ := br.Peek(3); bytes.HasPrefix(head, utf8BOM) {
			_, _ = br.Discard(3)
		}
		return &text{r: br, enc: encUTF8, raw: true}, nil
	case "gb18030", "gbk", "gb2312", "cp936", "936", "euc-cn":
		return &text{r: transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), enc: encGB18030}, nil
	case "utf-16", "utf16", "utf-16le", "ucs-2":
		dec := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()
		return &text{r: transform.NewReader(br, dec), enc: encUTF16}, nil
	case "utf-16be":
		dec := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()
		return &text{r: transform.NewReader(br, dec), enc: encUTF16}, nil
	}
	return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "unknown text encoding " + encoding,
		Fields: map[string]string{"encoding": "utf-8, gb18030 (gbk) or utf-16; empty to detect"}}
}

// DecodeText returns br's text as UTF-8 without a byte order mark: UTF-8,
// GB18030 or UTF-16 detected, or as encoding declares. UTF-8 bytes pass
// through unchecked: the caller checks its fields.
func DecodeText(br *bufio.Reader, encoding string) (io.Reader, error) {
	t, err := decodeText(br, encoding)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// text is a file's text as UTF-8.
type text struct {
	r     io.Reader
	enc   string
	raw   bool     // the bytes pass undecoded: they must be checked to be UTF-8
	sniff *sniffer // deciding between UTF-8 and GB18030; nil when decided
}

func (t *text) Read(p []byte) (int, error) { return t.r.Read(p) }

// encoding returns the text's encoding, "" while undecided (the text has
// been ASCII so far).
func (t *text) encoding() string {
	if t.sniff != nil {
		return t.sniff.enc
	}
	return t.enc
}

// unchecked reports whether the text passes through undecoded as UTF-8, so
// that its validity is not known.
func (t *text) unchecked() bool {
	return t.raw || t.sniff != nil && t.sniff.enc == encUTF8
}

// sniffer passes ASCII through; at the first non-ASCII byte it decides
// between UTF-8 and GB18030 from the text that follows (up to 64 KiB) and
// decodes the rest accordingly. Deciding there, rather than on the file's
// first bytes, copes with files whose first thousands of rows are ASCII.
type sniffer struct {
	br  *bufio.Reader
	dec io.Reader
	enc string
}

func (s *sniffer) Read(p []byte) (int, error) {
	if s.dec != nil {
		return s.dec.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return 0, err
		}
	}
	buf, _ := s.br.Peek(s.br.Buffered())
	if n := asciiPrefix(buf[:min(len(buf), len(p))]); n > 0 {
		copy(p, buf[:n])
		_, _ = s.br.Discard(n)
		return n, nil
	}
	window, err := s.br.Peek(bufSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, err
	}
	if looksUTF8(window, err == io.EOF) {
		s.dec, s.enc = s.br, encUTF8
	} else {
		s.dec, s.enc = transform.NewReader(s.br, simplifiedchinese.GB18030.NewDecoder()), encGB18030
	}
	return s.dec.Read(p)
}

// asciiPrefix returns the length of b's leading ASCII bytes.
func asciiPrefix(b []byte) int {
	n := 0
	for n+8 <= len(b) && binary.LittleEndian.Uint64(b[n:])&0x8080808080808080 == 0 {
		n += 8
	}
	for n < len(b) && b[n] < utf8.RuneSelf {
		n++
	}
	return n
}

// looksUTF8 reports whether text that starts with a non-ASCII byte is
// UTF-8: valid throughout (a rune cut off by the end of the window aside),
// or with far more valid multi-byte runes than invalid bytes — a damaged
// UTF-8 file, which is then reported where it is damaged rather than read
// as GB18030 and garbled. GB18030 text is practically never valid UTF-8
// for long: most of its two-byte characters are invalid UTF-8.
func looksUTF8(b []byte, atEOF bool) bool {
	valid, invalid := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1 && !atEOF && !utf8.FullRune(b):
			b = nil // cut off by the window
			continue
		case r == utf8.RuneError && size <= 1:
			invalid++
		case size > 1:
			valid++
		}
		b = b[size:]
	}
	return invalid == 0 || valid >= 8*invalid
}

// errTooLong is what textLimit returns when one record runs past its limit.
var errTooLong = errors.New("record too long")

// textLimit passes text on to the buffer a parser reads from, counting it,
// and fails when the record being parsed (which starts at base) grows
// past limit, so that an unclosed quote cannot pull a whole file into
// memory. It also counts quote characters, to tell an unclosed quote at
// the end of a file.
type textLimit struct {
	r      io.Reader
	n      int64 // bytes passed on
	base   int64 // where the current record starts
	limit  int64
	quotes int64
	eof    bool
}

func (t *textLimit) Read(p []byte) (int, error) {
	if t.n-t.base > t.limit+bufSize {
		return 0, errTooLong
	}
	if len(p) > bufSize {
		p = p[:bufSize]
	}
	n, err := t.r.Read(p)
	t.n += int64(n)
	t.quotes += int64(bytes.Count(p[:n], []byte{'"'}))
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

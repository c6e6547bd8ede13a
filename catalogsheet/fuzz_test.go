package catalogsheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// seeds adds the files of testdata/ with the given extension.
func seeds(f *testing.F, ext string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzReadCSV: any bytes read without panic; what reads cleanly writes
// and reads back the same.
func FuzzReadCSV(f *testing.F) {
	seeds(f, ".csv")
	f.Add([]byte(pad("信息资源名称,信息资源提供方,信息项名称,数据类型\n甲,宁波市公安局,a,C\n,,\"b\nc\",N\n")))
	f.Add([]byte("\xff\xfe" + "a\x00\t\x00b\x00"))
	f.Add([]byte("\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(data)()
		s, err := DecodeCSV(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("error from an in-memory file: %v", err)
		}
		check(t, s)
		if len(s.Problems) > 0 || len(s.Rows) == 0 {
			return
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, entriesOf(s), false); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeCSV(&buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Problems) > 0 {
			t.Fatalf("written file has problems: %v\n%q", again.Problems, buf.String())
		}
		sameLayout(t, again, s)
	})
}

// FuzzReadXLSX: any bytes read without panic (excelize's panics included:
// DecodeXLSX would turn them into errors).
func FuzzReadXLSX(f *testing.F) {
	seeds(f, ".xlsx")
	f.Add([]byte("PK\x03\x04"))
	repanic = true
	defer func() { repanic = false }()
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(data)()
		s, err := DecodeXLSX(bytes.NewReader(data), "", nil)
		if err != nil {
			return
		}
		check(t, s)
	})
}

// FuzzReadXLSXSheet fuzzes what lies inside the zip: the worksheet and
// shared strings XML of a valid workbook (mutated bytes of a whole file
// mostly fail the zip's checksums).
func FuzzReadXLSXSheet(f *testing.F) {
	parts, err := unzip(filepath.Join("testdata", "title.xlsx"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(parts["xl/worksheets/sheet2.xml"], parts["xl/sharedStrings.xml"])
	f.Add([]byte(`<worksheet><sheetData><row r="1048577"><c r="A1"/></row></sheetData></worksheet>`), []byte(`<sst/>`))
	f.Add([]byte(`<worksheet><sheetData><row><c r="XFD1" t="s"><v>99</v></c></row></sheetData></worksheet>`), []byte(`<sst><si><t>x</t></si></sst>`))
	repanic = true
	defer func() { repanic = false }()
	f.Fuzz(func(t *testing.T, sheet, strings []byte) {
		defer watchdog(sheet)()
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range parts {
			switch name {
			case "xl/worksheets/sheet2.xml":
				data = sheet
			case "xl/sharedStrings.xml":
				data = strings
			}
			w, _ := zw.Create(name)
			_, _ = w.Write(data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := DecodeXLSX(&buf, "目录", nil)
		if err != nil {
			return
		}
		check(t, s)
	})
}

func unzip(name string) (map[string][]byte, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	parts := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		parts[f.Name] = b
	}
	return parts, nil
}

// FuzzRoundTripXLSX: what a CSV file holds (any text) survives a trip
// through XLSX.
func FuzzRoundTripXLSX(f *testing.F) {
	seeds(f, ".csv")
	f.Add([]byte(pad("信息资源名称,信息资源提供方,信息项名称,信息项描述\n甲,某局,a,\"x\x01y\"\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(data)()
		s, err := DecodeCSV(bytes.NewReader(data), nil)
		if err != nil || len(s.Problems) > 0 || len(s.Rows) == 0 {
			return
		}
		for _, merge := range []bool{false, true} {
			var buf bytes.Buffer
			if err := WriteXLSX(&buf, entriesOf(s), WriteOptions{Merge: merge}); err != nil {
				t.Fatal(err)
			}
			again, err := DecodeXLSX(&buf, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Problems) > 0 {
				t.Fatalf("written file has problems: %v", again.Problems)
			}
			sameLayout(t, again, s)
		}
	})
}

// watchdog crashes the fuzzing worker on an input that takes too long,
// so that the fuzzer keeps it: a hang is a bug too.
func watchdog(data []byte) func() {
	timer := time.AfterFunc(5*time.Second, func() {
		panic(fmt.Sprintf("input took over 5 s: %q", data))
	})
	return func() { timer.Stop() }
}

// check asserts what holds of every read.
func check(t *testing.T, s *Sheet) {
	t.Helper()
	for _, r := range s.Rows {
		if r.Row < 1 || r.Entry == nil || r.Entry.Items == nil {
			t.Fatalf("bad row %+v", r)
		}
	}
	for i, p := range s.Problems {
		if p.Row < 0 || p.Reason == "" || i > 0 && p.Row < s.Problems[i-1].Row && i != MaxProblems {
			t.Fatalf("bad problem %d: %+v", i, p)
		}
	}
}

func sameLayout(t *testing.T, got, want *Sheet) {
	t.Helper()
	if len(got.Rows) != len(want.Rows) {
		t.Fatalf("got %d entries, want %d", len(got.Rows), len(want.Rows))
	}
	for i := range want.Rows {
		g, w := layoutOnly(got.Rows[i].Entry), layoutOnly(want.Rows[i].Entry)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("entry %d:\n got %s\nwant %s", i, dump(g), dump(w))
		}
	}
}

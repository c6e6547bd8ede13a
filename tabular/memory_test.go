package tabular

import (
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// genReader produces a file of about size bytes on the fly: head, then
// rows made by row(dst, i), then tail. Nothing of it is kept.
type genReader struct {
	size     int64
	head     []byte
	tail     []byte
	row      func(dst []byte, i int) []byte
	buf      []byte
	off      int
	produced int64
	rows     int
	done     bool
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= len(g.buf) {
		if g.done {
			return 0, io.EOF
		}
		g.buf, g.off = g.buf[:0], 0
		if g.produced == 0 {
			g.buf = append(g.buf, g.head...)
		}
		for len(g.buf) < 64<<10 && g.produced+int64(len(g.buf)) < g.size {
			g.buf = g.row(g.buf, g.rows)
			g.rows++
		}
		if g.produced+int64(len(g.buf)) >= g.size {
			g.buf = append(g.buf, g.tail...)
			g.done = true
		}
		g.produced += int64(len(g.buf))
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// csvRow writes a row of 10 columns, about 130 bytes, like a register of
// people and companies.
func csvRow(dst []byte, i int) []byte {
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, ",张三"...)
	dst = strconv.AppendInt(dst, int64(i%1000), 10)
	dst = append(dst, ",3302031985061200"...)
	dst = strconv.AppendInt(dst, int64(10+i%90), 10)
	dst = append(dst, ",138"...)
	dst = strconv.AppendInt(dst, int64(10000000+i%89999999), 10)
	dst = append(dst, ",2026-01-02,"...)
	dst = strconv.AppendInt(dst, int64(i%100000), 10)
	dst = append(dst, `.50,"宁波市海曙区中山西路`...)
	dst = strconv.AppendInt(dst, int64(i%999), 10)
	dst = append(dst, `号, 3楼",A,true,备注`...)
	return append(dst, '\n')
}

const csvHeader = "序号,姓名,公民身份号码,手机号码,出生日期,金额,地址,类别,有效,备注\n"

// gbRow is csvRow in GB18030.
func gbRow(dst []byte, i int) []byte {
	return append(dst, gbText(string(csvRow(nil, i)))...)
}

func gbText(s string) string {
	out, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return out
}

// ndjsonRow writes csvRow's values as an object.
func ndjsonRow(dst []byte, i int) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `,"name":"张三`...)
	dst = strconv.AppendInt(dst, int64(i%1000), 10)
	dst = append(dst, `","id_no":"3302031985061200`...)
	dst = strconv.AppendInt(dst, int64(10+i%90), 10)
	dst = append(dst, `","mobile":"138`...)
	dst = strconv.AppendInt(dst, int64(10000000+i%89999999), 10)
	dst = append(dst, `","birth":"2026-01-02","amount":`...)
	dst = strconv.AppendInt(dst, int64(i%100000), 10)
	dst = append(dst, `.5,"address":"宁波市海曙区中山西路`...)
	dst = strconv.AppendInt(dst, int64(i%999), 10)
	dst = append(dst, `号","kind":"A","valid":true,"remark":null}`...)
	return append(dst, '\n')
}

// jsonElement writes ndjsonRow's object as an element of an array.
func jsonElement(dst []byte, i int) []byte {
	dst = ndjsonRow(dst, i)
	return append(dst[:len(dst)-1], ",\n"...)
}

// TestMemoryFlat reads files of hundreds of MB made on the fly and checks
// that the heap stays small.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads about 500 MB")
	}
	const limit = 50 << 20
	tests := []struct {
		name   string
		format Format
		gen    *genReader
	}{
		{"csv utf-8 200MB", CSV, &genReader{size: 200 << 20, head: []byte(csvHeader), row: csvRow}},
		{"csv gb18030 100MB", CSV, &genReader{size: 100 << 20, head: []byte(gbText(csvHeader)), row: gbRow}},
		{"ndjson 100MB", NDJSON, &genReader{size: 100 << 20, row: ndjsonRow}},
		{"json 100MB", JSON, &genReader{size: 100 << 20, head: []byte("["), tail: []byte("{}]"), row: jsonElement}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			start := time.Now()
			r, err := Open(tt.gen, -1, Options{Format: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var peak uint64
			rows := 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("row %d: %v", rows, err)
				}
				rows++
				if rows%50_000 == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
				}
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			elapsed := time.Since(start)
			if rows < tt.gen.rows-1 {
				t.Errorf("read %d rows of %d", rows, tt.gen.rows)
			}
			if r.BytesRead() != tt.gen.produced {
				t.Errorf("BytesRead = %d, want %d", r.BytesRead(), tt.gen.produced)
			}
			t.Logf("%d rows, %d MB in %v (%.0f rows/s); heap peak %.1f MB (%.1f MB at start), %d GCs",
				rows, tt.gen.produced>>20, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(),
				float64(peak)/(1<<20), float64(base)/(1<<20), ms.NumGC)
			if peak > limit {
				t.Errorf("heap peaked at %d MB, want under %d MB", peak>>20, limit>>20)
			}
		})
	}
}

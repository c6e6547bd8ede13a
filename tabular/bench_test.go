package tabular

import (
	"bytes"
	"io"
	"testing"

	"github.com/xuri/excelize/v2"
)

const benchRows = 100_000

// benchFile makes a file of benchRows rows of 10 columns.
func benchFile(head string, row func([]byte, int) []byte, tail string) []byte {
	b := []byte(head)
	for i := range benchRows {
		b = row(b, i)
	}
	return append(b, tail...)
}

func benchRead(b *testing.B, data []byte, opts Options) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSV(b *testing.B) {
	benchRead(b, benchFile(csvHeader, csvRow, ""), Options{Format: CSV})
}

func BenchmarkCSVGB18030(b *testing.B) {
	benchRead(b, benchFile(gbText(csvHeader), gbRow, ""), Options{Format: CSV})
}

func BenchmarkNDJSON(b *testing.B) {
	benchRead(b, benchFile("", ndjsonRow, ""), Options{Format: NDJSON})
}

func BenchmarkJSON(b *testing.B) {
	benchRead(b, benchFile("[", jsonElement, "{}]"), Options{Format: JSON})
}

func BenchmarkXLSX(b *testing.B) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	header := []any{"序号", "姓名", "公民身份号码", "手机号码", "出生日期", "金额", "地址", "类别", "有效", "备注"}
	must(sw.SetRow("A1", header))
	for i := range benchRows / 10 {
		row := []any{i, "张三", "330203198506120011", "13805741234", "2026-01-02", float64(i) + 0.5, "宁波市海曙区中山西路1号", "A", true, ""}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		must(sw.SetRow(cell, row))
	}
	must(sw.Flush())
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	benchRead(b, buf.Bytes(), Options{Format: XLSX, TempDir: b.TempDir()})
}

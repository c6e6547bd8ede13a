package catalogsheet

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cityhub/cityhub"
)

// bigCatalog is n entries of 10 data items each.
func bigCatalog(n int) []*cityhub.CatalogEntry {
	base := sampleEntries()[1]
	out := make([]*cityhub.CatalogEntry, n)
	for i := range out {
		e := *base
		e.Code = fmt.Sprintf("202001/%06d", i+1)
		e.Name = fmt.Sprintf("市场主体登记信息（第%d批）", i+1)
		e.Items = make([]cityhub.DataItem, 10)
		for j := range e.Items {
			e.Items[j] = cityhub.DataItem{Name: fmt.Sprintf("信息项%d", j), Code: fmt.Sprintf("item_%d", j), Type: "C",
				Length: 50, Description: "描述文字，用于说明该信息项的含义与口径", Required: j == 0, PrimaryKey: j == 0, Sensitivity: cityhub.SensInternal}
		}
		out[i] = &e
	}
	return out
}

func benchXLSX(b *testing.B, merge bool) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, bigCatalog(1000), WriteOptions{Merge: merge}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rows, problems, err := ReadXLSX(bytes.NewReader(buf.Bytes()), "", resolver{})
		if err != nil || len(problems) > 0 || len(rows) != 1000 {
			b.Fatalf("%d rows, %v, %v", len(rows), problems, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/10k-rows")
}

// BenchmarkReadXLSX reads a 10,000-row workbook (1,000 entries).
func BenchmarkReadXLSX(b *testing.B)       { benchXLSX(b, false) }
func BenchmarkReadXLSXMerged(b *testing.B) { benchXLSX(b, true) }

func BenchmarkReadCSV(b *testing.B) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, bigCatalog(1000), true); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rows, problems, err := ReadCSV(bytes.NewReader(buf.Bytes()), resolver{})
		if err != nil || len(problems) > 0 || len(rows) != 1000 {
			b.Fatalf("%d rows, %v, %v", len(rows), problems, err)
		}
	}
}

func BenchmarkWriteXLSX(b *testing.B) {
	entries := bigCatalog(1000)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteXLSX(&buf, entries, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

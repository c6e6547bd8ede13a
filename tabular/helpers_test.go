package tabular

import (
	"bytes"
	"io"
	"testing"
)

// table is what reading a whole file gives.
type result struct {
	header    []string
	headerRow int
	lines     []int
	rows      [][]string
	problems  []Problem
	err       error // the error that ended reading (nil at io.EOF)
}

// readAll reads data to its end with opts.
func readAll(t *testing.T, data []byte, opts Options) result {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return result{err: err}
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	res := result{header: r.Header(), headerRow: r.HeaderRow()}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.err = err
			break
		}
		res.lines = append(res.lines, rec.Line)
		res.rows = append(res.rows, append([]string(nil), rec.Values...))
		res.problems = append(res.problems, rec.Problems...)
	}
	return res
}

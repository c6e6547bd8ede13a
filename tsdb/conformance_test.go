package tsdb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/seriestest"
	"github.com/cityhub/cityhub/tsdb"
)

func TestConformance(t *testing.T) {
	seriestest.Run(t, func(t *testing.T) seriestest.Opened {
		path := filepath.Join(t.TempDir(), "series.db")
		open := func(t *testing.T) cityhub.SeriesStore {
			t.Helper()
			s, err := tsdb.Open(context.WithoutCancel(t.Context()), path, tsdb.Options{})
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			// A store the test closed already fails to flush again.
			t.Cleanup(func() { s.Close() })
			return s
		}
		return seriestest.Opened{Store: open(t), Reopen: open}
	})
}

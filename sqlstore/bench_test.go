package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/sqlstore"
)

// benchStores opens an empty SQLite store and, when CITYHUB_TEST_POSTGRES is
// set, a PostgreSQL store in a fresh schema.
func benchStores(b *testing.B) map[string]*sqlstore.Store {
	b.Helper()
	dir := b.TempDir()
	key, err := cityhub.LoadAuditKey(filepath.Join(dir, "audit.key"), true)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	out := map[string]*sqlstore.Store{}
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "bench.db"), sqlstore.Options{AuditKey: key})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if dsn := os.Getenv("CITYHUB_TEST_POSTGRES"); dsn != "" {
		schema := fmt.Sprintf("bench_%d", os.Getpid())
		admin, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		admin.DB().Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
		if _, err := admin.DB().Exec("CREATE SCHEMA " + schema); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { admin.DB().Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
		p, err := sqlstore.Open(ctx, dsn+"&search_path="+schema, sqlstore.Options{AuditKey: key})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		out["postgres"] = p
	}
	return out
}

// BenchmarkAuditAppend measures one audited event: a transaction that links
// a record to the chain and re-signs the head.
func BenchmarkAuditAppend(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench", ClientAddr: "127.0.0.1"})
			for b.Loop() {
				if err := s.AppendAudit(ctx, cityhub.NewAuditRecord(ctx, "bench.event", "object:1", cityhub.OutcomeSuccess, `{"k":"v"}`)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyChain measures walking and checking a 20,000-record chain;
// the reported records/s is the figure to quote.
func BenchmarkVerifyChain(b *testing.B) {
	const n = 20000
	for name, s := range benchStores(b) {
		ctx := cityhub.WithActor(context.Background(), cityhub.Actor{Username: "bench"})
		for i := 0; i < n; i++ {
			if err := s.AppendAudit(ctx, cityhub.NewAuditRecord(ctx, "bench.event", "object:1", cityhub.OutcomeSuccess, "")); err != nil {
				b.Fatal(err)
			}
		}
		key := mustKeyOf(b, s)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				rep, err := cityhub.VerifyChain(ctx, s, key)
				if err != nil || !rep.OK || rep.Records != n {
					b.Fatalf("verify: %+v %v", rep, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func mustKeyOf(b *testing.B, s *sqlstore.Store) []byte {
	h, err := s.AuditHead(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return h.PublicKey
}

package table_test

import (
	"context"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/workload"
	"github.com/tarnlake/tarn/table"
)

// BenchmarkUpsert writes the customer workload (random keys over 10M, 30% updates, 4
// buckets) committing every 256k rows; b.N is rows.
func BenchmarkUpsert(b *testing.B) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), b.TempDir())
	gen := workload.NewCustomers(1, 10_000_000, 0.3)
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "c"}, catalog.TableSpec{
		Fields: gen.FieldsOf(), PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "4"},
	}, false)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 16 * 1024
	var bytes int64
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	written, sinceCommit, id := 0, 0, int64(0)
	for written < b.N {
		b.StopTimer()
		n := min(batch, b.N-written)
		rec := gen.Next(n)
		for _, c := range rec.Columns() {
			bytes += int64(c.Data().SizeInBytes())
		}
		b.StartTimer()
		if err := w.Write(ctx, rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
		written += n
		sinceCommit += n
		if sinceCommit >= 256*1024 || written >= b.N {
			msgs, err := w.PrepareCommit(ctx)
			if err != nil {
				b.Fatal(err)
			}
			id++
			if _, err := tbl.Commit(ctx, table.Commit{User: "bench", Identifier: id, Messages: msgs}); err != nil {
				b.Fatal(err)
			}
			sinceCommit = 0
		}
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
}

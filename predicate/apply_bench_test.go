package predicate

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// Rows per second of a key-range filter on a batch of 16384 rows.
func BenchmarkApplyIntRange(b *testing.B) {
	fs := []types.DataField{{ID: 0, Name: "id", Type: types.BigIntType().NotNull()}, {ID: 1, Name: "v", Type: types.StringType()}}
	schema, _ := types.ArrowSchema(fs)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := 0; i < 16384; i++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(i * 7))
		rb.Field(1).(*array.StringBuilder).Append("x")
	}
	batch := rb.NewRecordBatch()
	rb.Release()
	defer batch.Release()
	p, err := Bind("id < 10000", fs, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		out, err := p.Apply(context.Background(), batch)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(16384*b.N)/b.Elapsed().Seconds(), "rows/s")
}

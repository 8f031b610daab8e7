package table

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
)

// Buckets returns the bucket of each row of a batch of a fixed-bucket table, as the writer
// routes it: the table's bucket function (bucket-function.type; by default Paimon's hash
// of the bucket key as a BinaryRow, modulo the bucket count) of the bucket key (option
// bucket-key, else the trimmed primary key).
func (t *Table) Buckets(ctx context.Context, b arrow.RecordBatch) ([]int, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	opts := ParseCoreOptions(schema.Options)
	if opts.Bucket <= 0 {
		return nil, fmt.Errorf("table %s has bucket = %d: buckets are computed for fixed-bucket tables", t.path, opts.Bucket)
	}
	cols, _, err := normalize(ctx, b, schema.Fields, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	idx := schema.FieldIndexes(bucketKeyNames(schema, opts))
	kc := make([]arrow.Array, len(idx))
	kf := make([]types.DataField, len(idx))
	for i, j := range idx {
		kc[i], kf[i] = cols[j], schema.Fields[j]
	}
	enc, err := newRowEncoder(kc, kf)
	if err != nil {
		return nil, err
	}
	bucketOf, err := binaryrow.BucketFunc(opts.BucketFunction, kf)
	if err != nil {
		return nil, err
	}
	out := make([]int, b.NumRows())
	for i := range out {
		out[i] = bucketOf(enc.encode(i), opts.Bucket)
	}
	return out, nil
}

package table

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/deletionvector"
)

// WaitCompactions waits for a writer's background compactions to finish (tests).
func WaitCompactions(w *Writer) { w.waitCompactions() }

// DeleteRowsForTest marks rows of a data file of a split deleted in the bucket's
// deletion vectors (as an engine's DELETE on a deletion-vector table does) and returns
// the message that commits the new index file.
func DeleteRowsForTest(ctx context.Context, t *Table, plan *Plan, s *Split, file string, positions ...int64) (CommitMessage, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return CommitMessage{}, err
	}
	opts := ParseCoreOptions(schema.Options)
	dvs, err := t.loadBucketDVs(ctx, opts, plan.Snapshot, s.Partition, s.Bucket, s.BucketPath)
	if err != nil {
		return CommitMessage{}, err
	}
	v := dvs.vectors[file]
	if v == nil {
		v = deletionvector.New(false)
		dvs.vectors[file] = v
	}
	for _, p := range positions {
		v.Delete(p)
	}
	f := newFileFactory(t, schema, memory.DefaultAllocator)
	var res lookupResult
	if err := t.writeBucketDVs(ctx, &f, dvs, &res); err != nil {
		return CommitMessage{}, err
	}
	return CommitMessage{Partition: s.Partition, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets,
		NewIndexFiles: res.newIndex, DeletedIndexFiles: res.deletedIndex}, nil
}

// AddDeletionIndexForTest writes one new deletion-vectors index file for the split's
// partition and bucket holding vectors (data file name -> deleted positions), beside the
// index files already there, as Paimon's unaware-bucket append maintainer may.
func AddDeletionIndexForTest(ctx context.Context, t *Table, s *Split, vectors map[string][]int64) (CommitMessage, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return CommitMessage{}, err
	}
	dvs := &bucketDVs{dir: s.BucketPath, vectors: map[string]*deletionvector.Vector{}}
	for file, positions := range vectors {
		v := deletionvector.New(false)
		for _, p := range positions {
			v.Delete(p)
		}
		dvs.vectors[file] = v
	}
	f := newFileFactory(t, schema, memory.DefaultAllocator)
	var res lookupResult
	if err := t.writeBucketDVs(ctx, &f, dvs, &res); err != nil {
		return CommitMessage{}, err
	}
	return CommitMessage{Partition: s.Partition, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets, NewIndexFiles: res.newIndex}, nil
}

package table

import "github.com/tarnlake/tarn/manifest"

// BucketPick is what Table.Compact picked in one bucket (CompactOptions.Pick): the
// universal picker's unit (or everything, for a full compaction) of a primary-key
// bucket, the small files of an append-only bucket.
type BucketPick struct {
	// Snapshot is the snapshot whose files were looked at.
	Snapshot        int64
	Partition       []byte // serialized BinaryRow
	PartitionValues []any
	Bucket          int
	// SortedRuns is the bucket's read amplification (for append-only tables, its files).
	SortedRuns int
	// Files are the input picked; none when the bucket needs no compaction.
	Files []manifest.DataFileMeta
}

// Bytes is the size of the files picked.
func (p BucketPick) Bytes() int64 {
	var n int64
	for _, f := range p.Files {
		n += f.FileSize
	}
	return n
}

func newBucketPick(plan *Plan, s *Split, runs int, ok bool, files []manifest.DataFileMeta) BucketPick {
	p := BucketPick{Partition: s.Partition, PartitionValues: s.PartitionValues, Bucket: s.Bucket, SortedRuns: runs}
	if plan != nil && plan.Snapshot != nil {
		p.Snapshot = plan.Snapshot.ID
	}
	if ok {
		p.Files = files
	}
	return p
}

package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/deletionvector"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/merge"
)

// Lookup compaction (Paimon's LookupMergeTreeCompactRewriter with ForceUpLevel0Compaction)
// keeps a primary-key bucket free of level-0 files after every commit, for lookup tables:
// tables with deletion vectors or the first-row merge engine, whose readers skip level 0,
// and tables with changelog-producer lookup. The new level-0 files are merged into a
// level above 0 and each of their keys is looked up in the levels above the output:
//   - with deletion vectors, the older row of the key is marked deleted in its file's
//     vector, so a reader needs no merge (and deletions need not be kept);
//   - with first-row, a key that already exists above keeps its first row and the new
//     record is dropped;
//   - the older value takes part in merging the key (aggregation, partial-update), and
//     with changelog-producer lookup the change from it to the result is the changelog
//     (changelog.go).
// A record above level 0 of a lookup table holds the merge of every older record of its
// key, so merging considers only the lowest-level one (LookupMergeFunction).

// lookupMode reports whether commits of the table end with a lookup compaction
// (CoreOptions.needLookup).
func (o CoreOptions) lookupMode() bool {
	return o.DeletionVectors || o.MergeEngine == "first-row" || o.ChangelogProducer == "lookup"
}

// bucketDVs is the deletion-vector state of one bucket: its index file and the vectors.
type bucketDVs struct {
	dir     string // the bucket's directory
	file    *manifest.IndexFileMeta
	vectors map[string]*deletionvector.Vector // data file name -> vector
	changed bool
}

// loadBucketDVs reads a bucket's deletion vectors from the base snapshot's index manifest.
func (t *Table) loadBucketDVs(ctx context.Context, opts CoreOptions, base *format.Snapshot, partition []byte, bucket int, dir string) (*bucketDVs, error) {
	d := &bucketDVs{dir: dir, vectors: map[string]*deletionvector.Vector{}}
	entries, err := t.dvIndexEntries(ctx, base)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if int(e.Bucket) != bucket || !bytes.Equal(e.Partition, partition) {
			continue
		}
		f := e.IndexFile
		d.file = &f
		if err := t.readIndexVectors(ctx, opts, dir, &f, nil, d.vectors); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// readIndexVectors reads the vectors of a deletion-vectors index file into vectors (by
// data file name), except those of the files in skip.
func (t *Table) readIndexVectors(ctx context.Context, opts CoreOptions, dir string, f *manifest.IndexFileMeta, skip map[string]bool, vectors map[string]*deletionvector.Vector) error {
	path := t.indexFilePath(opts, dir, f)
	for _, r := range f.DeletionVectorRanges {
		if skip[r.DataFileName] {
			continue
		}
		v, err := t.readDeletionVector(ctx, DeletionFile{Path: path, Offset: int64(r.Offset), Length: int64(r.Length)})
		if err != nil {
			return fmt.Errorf("deletion vector of %s: %w", r.DataFileName, err)
		}
		vectors[r.DataFileName] = v
	}
	return nil
}

// lookupResult is the index files a compaction of a bucket changes.
type lookupResult struct {
	newIndex     []manifest.IndexFileMeta
	deletedIndex []manifest.IndexFileMeta
}

// lookupCompact compacts a bucket's level-0 files upward (files holds every live file of
// the bucket, the new ones included): Paimon's universal pick, else all of level 0.
func (t *Table) lookupCompact(ctx context.Context, f *fileFactory, partition []byte, bucket int, dir string, files []manifest.DataFileMeta, dvs *bucketDVs, forceL0 func() bool) (*compactResult, error) {
	enc, err := newKeyEncoder(f.keys)
	if err != nil {
		return nil, err
	}
	levels, err := lsm.NewLevels(files, f.opts.NumLevels, enc)
	if err != nil {
		return nil, err
	}
	if len(levels.Level0) == 0 {
		return &compactResult{}, nil
	}
	runs := levels.SortedRuns()
	unit, ok := f.opts.pickCompaction(levels, runs, time.Now(), forceL0)
	if !ok {
		return &compactResult{}, nil
	}
	split := &Split{Partition: partition, Bucket: bucket, BucketPath: dir}
	return t.compactBucket(ctx, f, split, files, levels, unit, dvs)
}

type keyPos struct {
	file string
	row  int64
}

// keyPositions indexes the live keys of files (skipping rows their vectors delete) by
// their memcomparable bytes.
func (t *Table) keyPositions(ctx context.Context, f *fileFactory, s *Split, files []manifest.DataFileMeta, dvs *bucketDVs) (map[string]keyPos, error) {
	index := map[string]keyPos{}
	nk := len(f.keys)
	fields := append(keyFields(f), datafile.ValueKindField())
	for i := range files {
		file := &files[i]
		r, err := t.openDataFile(ctx, s, file, fields, ReadOptions{Mem: f.mem})
		if err != nil {
			return nil, err
		}
		var v *deletionvector.Vector
		if dvs != nil {
			v = dvs.vectors[file.FileName]
		}
		var pos int64
		var key []byte
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, err
			}
			kinds := b.Column(nk).(*array.Int8)
			for row := 0; row < int(b.NumRows()); row++ {
				p := pos + int64(row)
				if (v != nil && v.IsDeleted(p)) || datafile.IsRetract(kinds.Value(row)) {
					continue
				}
				key = key[:0]
				for k := 0; k < nk; k++ {
					if key, err = merge.AppendArrowKey(key, b.Column(k), row); err != nil {
						b.Release()
						r.Close()
						return nil, err
					}
				}
				index[string(key)] = keyPos{file: file.FileName, row: p}
			}
			pos += b.NumRows()
			b.Release()
		}
		r.Close()
	}
	return index, nil
}

// keyFields are the _KEY_ system fields of the table's file layout.
func keyFields(f *fileFactory) []types.DataField {
	out := make([]types.DataField, len(f.keys))
	for i, k := range f.keys {
		out[i] = datafile.KeyField(k)
	}
	return out
}

// filesReadersDV reads files applying the in-memory deletion vectors of the bucket.
func filesReadersDV(t *Table, split *Split, files []manifest.DataFileMeta, fields []types.DataField, o ReadOptions, dvs *bucketDVs) []func(context.Context) (datafile.BatchReader, error) {
	out := make([]func(context.Context) (datafile.BatchReader, error), len(files))
	for i := range files {
		file := &files[i]
		out[i] = func(ctx context.Context) (datafile.BatchReader, error) {
			r, err := t.openDataFile(ctx, split, file, fields, o)
			if err != nil {
				return nil, err
			}
			if dvs != nil {
				if v := dvs.vectors[file.FileName]; v != nil && v.Cardinality() > 0 {
					return applyDeletions(r, v, o.Mem), nil
				}
			}
			return r, nil
		}
	}
	return out
}

// writeBucketDVs writes the bucket's vectors as a new deletion-vectors index file that
// replaces the previous one.
func (t *Table) writeBucketDVs(ctx context.Context, f *fileFactory, dvs *bucketDVs, res *lookupResult) error {
	if dvs.file != nil {
		res.deletedIndex = append(res.deletedIndex, *dvs.file)
		dvs.file = nil
	}
	var names []string
	for name, v := range dvs.vectors {
		if v.Cardinality() > 0 {
			names = append(names, name)
		}
	}
	dvs.changed = false
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	buf := []byte{deletionvector.IndexFileVersion}
	meta := manifest.IndexFileMeta{IndexType: manifest.IndexTypeDeletionVectors}
	for _, name := range names {
		v := dvs.vectors[name]
		enc, length, err := v.Encode()
		if err != nil {
			return err
		}
		card := v.Cardinality()
		meta.DeletionVectorRanges = append(meta.DeletionVectorRanges, manifest.DeletionVectorMeta{
			DataFileName: name, Offset: int32(len(buf)), Length: int32(length), Cardinality: &card,
		})
		meta.RowCount++
		buf = append(buf, enc...)
	}
	meta.FileName = format.MetaFileName(format.IndexPrefix, newUUID(), 0)
	meta.FileSize = int64(len(buf))
	if err := t.fio.WriteFile(ctx, t.indexFilePath(f.opts, dvs.dir, &meta), buf); err != nil {
		return err
	}
	dvs.file = &meta
	res.newIndex = append(res.newIndex, meta)
	return nil
}

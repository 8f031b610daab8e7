package table

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// ScanOptions choose what a batch scan reads. At most one of SnapshotID, Tag and
// TimestampMillis is set; none means the latest snapshot.
type ScanOptions struct {
	SnapshotID      int64
	Tag             string
	TimestampMillis int64
	// Filter prunes partitions, buckets and files; rows are filtered by the reader.
	Filter Filter
	// Bucket restricts the scan to one bucket when not nil.
	Bucket *int
	// AllLevels keeps level-0 files that batch reads of deletion-vector and first-row
	// tables skip (for inspection and maintenance).
	AllLevels bool
	// IncludePostpone keeps the files waiting in bucket-postpone of a postpone-bucket
	// table, which batch reads skip (for inspection and maintenance); their splits have
	// bucket -2.
	IncludePostpone bool
}

// Filter prunes what a scan plans. It is implemented by package predicate; nil keeps
// everything.
type Filter interface {
	// KeepPartition reports whether a partition may hold matching rows.
	KeepPartition(partition []any) bool
	// KeepFile reports whether a data file may hold matching rows, from its statistics.
	KeepFile(f *FileStats) bool
}

// ValuesFilter is a Filter that can name the values it allows columns to take. A scan of
// a fixed-bucket table whose filter pins the bucket key (id = 5, id IN (1, 2)) reads only
// the buckets those keys hash to, as Paimon's scans do (BucketSelectConverter).
type ValuesFilter interface {
	// ColumnValues returns the value combinations of cols that matching rows can have
	// (at most limit), or false when the filter does not pin every column of cols.
	ColumnValues(cols []string, limit int) ([][]any, bool)
}

// FileStats are a data file's statistics, decoded against the schema it was written with
// and mapped to the scan's schema by field id; unknown columns are absent.
type FileStats struct {
	RowCount int64
	// By column name of the scan schema: min, max (nil if unknown or null) and null count
	// (-1 if unknown).
	Min, Max   map[string]any
	NullCounts map[string]int64
	// KeyOnly is set for primary-key tables whose value columns must not be pruned per
	// file (a newer version of a row may live in another file).
	KeyOnly bool
}

// DeletionFile locates a data file's deletion vector inside an index file.
type DeletionFile struct {
	Path   string
	Offset int64
	Length int64
	// Cardinality is the rows the vector deletes, when the index records it.
	Cardinality *int64
}

// Split is the unit of reading: the live files of one bucket of one partition.
type Split struct {
	Partition       []byte // serialized BinaryRow
	PartitionValues []any
	Bucket          int
	TotalBuckets    int
	Files           []manifest.DataFileMeta
	// DeletionFiles by data file name, when the table uses deletion vectors.
	DeletionFiles map[string]DeletionFile
	// BucketPath is the directory holding the split's data files.
	BucketPath string
}

// RowCount is the sum of the files' row counts (before merging).
func (s *Split) RowCount() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.RowCount
	}
	return n
}

// Plan is the result of planning a scan.
type Plan struct {
	Snapshot *format.Snapshot // nil for an empty table
	// Schema is what rows are read as: the schema of a snapshot travelled to, else the
	// table's latest.
	Schema *format.TableSchema
	Splits []Split
}

// ResolveSnapshot finds the snapshot a scan reads (nil if the table is empty and no
// particular snapshot was asked for).
func (t *Table) ResolveSnapshot(ctx context.Context, o ScanOptions) (*format.Snapshot, error) {
	switch {
	case o.Tag != "":
		return t.Tag(ctx, o.Tag)
	case o.SnapshotID > 0:
		return t.Snapshot(ctx, o.SnapshotID)
	case o.TimestampMillis != 0:
		return t.SnapshotAsOf(ctx, o.TimestampMillis)
	}
	return t.LatestSnapshot(ctx)
}

// Plan plans a batch scan.
func (t *Table) Plan(ctx context.Context, o ScanOptions) (*Plan, error) {
	snap, err := t.ResolveSnapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		s, err := t.LatestSchema(ctx)
		if err != nil {
			return nil, err
		}
		return &Plan{Schema: s}, nil
	}
	// Time travel reads with the schema of the snapshot travelled to; a read of the latest
	// snapshot with the table's latest schema (Paimon's FileStoreTable does the same).
	// Files are mapped to it by field id either way.
	var schema *format.TableSchema
	if o.SnapshotID > 0 || o.Tag != "" || o.TimestampMillis != 0 {
		schema, err = t.Schema(ctx, snap.SchemaID)
	} else {
		schema, err = t.LatestSchema(ctx)
	}
	if err != nil {
		return nil, err
	}
	entries, err := t.liveEntries(ctx, snap, schema, o)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Snapshot: snap, Schema: schema}
	opts := ParseCoreOptions(schema.Options)
	if !o.AllLevels && len(schema.PrimaryKeys) > 0 && (opts.DeletionVectors || opts.MergeEngine == "first-row") {
		// Paimon's batch scans of these tables skip level 0 (CoreOptions.batchScanSkipLevel0):
		// those files are not yet merged into the levels that deletion vectors describe.
		entries = slices.DeleteFunc(entries, func(e manifest.ManifestEntry) bool { return e.File.Level == 0 })
	}
	if opts.Bucket == format.PostponeBucket && !o.IncludePostpone {
		// Paimon's batch scans of postpone-bucket tables read the real buckets only
		// (DataTableBatchScan: onlyReadRealBuckets): rows in bucket-postpone are not
		// visible until Paimon's postpone compaction gives them a bucket.
		entries = slices.DeleteFunc(entries, func(e manifest.ManifestEntry) bool { return e.Bucket < 0 })
	}
	partFields := schema.PartitionType()
	groups := map[string]*Split{}
	var order []string
	for _, e := range entries {
		if err := t.checkWholeRows(ctx, &e.File); err != nil {
			return nil, err
		}
		k := string(e.Partition) + "\x00" + fmt.Sprint(e.Bucket)
		s := groups[k]
		if s == nil {
			row, err := binaryrow.Deserialize(e.Partition)
			if err != nil {
				return nil, fmt.Errorf("partition of %s: %w", e.File.FileName, err)
			}
			values, err := row.Values(partFields)
			if err != nil {
				return nil, fmt.Errorf("partition of %s: %w", e.File.FileName, err)
			}
			s = &Split{Partition: e.Partition, PartitionValues: values, Bucket: int(e.Bucket), TotalBuckets: int(e.TotalBuckets)}
			s.BucketPath = t.Join(BucketPath(schema, opts, values, int(e.Bucket)))
			groups[k] = s
			order = append(order, k)
		}
		s.Files = append(s.Files, e.File)
	}
	if snap.IndexManifest != nil && *snap.IndexManifest != "" {
		if err := t.attachDeletionFiles(ctx, *snap.IndexManifest, opts, groups); err != nil {
			return nil, err
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := groups[order[i]], groups[order[j]]
		if c := bytes.Compare(a.Partition, b.Partition); c != 0 {
			return c < 0
		}
		return a.Bucket < b.Bucket
	})
	for _, k := range order {
		s := groups[k]
		sort.SliceStable(s.Files, func(i, j int) bool { return s.Files[i].FileName < s.Files[j].FileName })
		plan.Splits = append(plan.Splits, *s)
	}
	return plan, nil
}

// checkWholeRows refuses a data file that holds only some of its schema's columns: a
// column file of a data evolution table (Paimon's MERGE INTO or partial updates), whose
// values override those of the older files covering the same row ids column by column
// (DataEvolutionSplitRead). Tarn does not merge such files; reading one as rows would
// show its row ids twice, so the scan fails instead.
func (t *Table) checkWholeRows(ctx context.Context, f *manifest.DataFileMeta) error {
	if f.WriteCols == nil {
		return nil
	}
	s, err := t.Schema(ctx, f.SchemaID)
	if err != nil {
		return fmt.Errorf("data file %s: %w", f.FileName, err)
	}
	for _, c := range s.Fields {
		if !slices.Contains(f.WriteCols, c.Name) {
			return fmt.Errorf("data file %s holds only columns %s of a data evolution table (written by Paimon's MERGE INTO or a partial-column update); Tarn does not merge column files: read the table with Paimon, or rewrite it with Paimon's data evolution compaction",
				f.FileName, strings.Join(f.WriteCols, ", "))
		}
	}
	return nil
}

// liveEntries reads the snapshot's base and delta manifest lists and merges their entries
// into the live files, pruned by o's bucket and filter.
func (t *Table) liveEntries(ctx context.Context, snap *format.Snapshot, schema *format.TableSchema, o ScanOptions) ([]manifest.ManifestEntry, error) {
	var metas []manifest.ManifestFileMeta
	for _, list := range []string{snap.BaseManifestList, snap.DeltaManifestList} {
		m, err := t.ReadManifestList(ctx, list)
		if err != nil {
			return nil, err
		}
		metas = append(metas, m...)
	}
	partFields := schema.PartitionType()
	keep := make([]bool, len(metas))
	for i, m := range metas {
		keep[i] = true
		if o.Bucket != nil && m.MinBucket != nil && m.MaxBucket != nil &&
			(int(*m.MinBucket) > *o.Bucket || int(*m.MaxBucket) < *o.Bucket) {
			keep[i] = false
		}
		if keep[i] && o.Filter != nil && len(partFields) > 0 && m.NumDeletedFiles == 0 {
			// Manifests holding deletions are always read: they may cancel additions.
			if !partitionRangeMayMatch(o.Filter, partFields, m.PartitionStats) {
				keep[i] = false
			}
		}
	}
	results := make([][]manifest.ManifestEntry, len(metas))
	errs := make([]error, len(metas))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, m := range metas {
		if !keep[i] {
			continue
		}
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = t.ReadManifest(ctx, name)
		}(i, m.FileName)
	}
	wg.Wait()
	merger := manifest.NewEntryMerger()
	for i := range metas {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, e := range results[i] {
			if err := merger.Add(e); err != nil {
				return nil, err
			}
		}
	}
	entries := merger.Entries()
	buckets, err := t.newBucketSelector(ctx, schema, o.Filter)
	if err != nil {
		return nil, err
	}
	out := entries[:0]
	for _, e := range entries {
		if e.Kind != manifest.FileKindAdd {
			continue // a deletion of a file added before the retained history
		}
		if o.Bucket != nil && int(e.Bucket) != *o.Bucket {
			continue
		}
		if buckets != nil {
			if keep, err := buckets.keep(ctx, &e); err != nil {
				return nil, err
			} else if !keep {
				continue
			}
		}
		if o.Filter != nil && len(partFields) > 0 {
			row, err := binaryrow.Deserialize(e.Partition)
			if err != nil {
				return nil, fmt.Errorf("partition of %s: %w", e.File.FileName, err)
			}
			values, err := row.Values(partFields)
			if err != nil {
				return nil, fmt.Errorf("partition of %s: %w", e.File.FileName, err)
			}
			if !o.Filter.KeepPartition(values) {
				continue
			}
		}
		if o.Filter != nil {
			st, err := t.fileStats(ctx, schema, &e.File)
			if err != nil {
				return nil, err
			}
			if st != nil && !o.Filter.KeepFile(st) {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func partitionRangeMayMatch(f Filter, fields []types.DataField, st manifest.SimpleStats) bool {
	// A manifest's partition stats give each partition column's range; the filter is
	// asked about the file-stats form of that range.
	minRow, err1 := binaryrow.Deserialize(st.MinValues)
	maxRow, err2 := binaryrow.Deserialize(st.MaxValues)
	if err1 != nil || err2 != nil || minRow.Arity() != len(fields) || maxRow.Arity() != len(fields) {
		return true
	}
	fs := &FileStats{RowCount: 1, Min: map[string]any{}, Max: map[string]any{}, NullCounts: map[string]int64{}}
	for i, f := range fields {
		lo, err1 := minRow.Get(i, f.Type)
		hi, err2 := maxRow.Get(i, f.Type)
		if err1 != nil || err2 != nil {
			return true
		}
		fs.Min[f.Name], fs.Max[f.Name] = lo, hi
		fs.NullCounts[f.Name] = -1
		if i < len(st.NullCounts) && st.NullCounts[i] != nil {
			fs.NullCounts[f.Name] = *st.NullCounts[i]
		}
	}
	return f.KeepFile(fs)
}

// ReadManifestList reads a manifest list by file name.
func (t *Table) ReadManifestList(ctx context.Context, name string) ([]manifest.ManifestFileMeta, error) {
	if metas, ok := t.lists.get(name); ok {
		return metas, nil
	}
	p := t.Join(format.ManifestPath(name))
	f, err := t.fio.Open(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("manifest list of snapshot: %w", err)
	}
	defer f.Close()
	return manifest.ReadManifestList(f, p)
}

// ReadManifest reads a manifest file by name.
func (t *Table) ReadManifest(ctx context.Context, name string) ([]manifest.ManifestEntry, error) {
	p := t.Join(format.ManifestPath(name))
	f, err := t.fio.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ReadManifestFile(f, p)
}

// dvIndexEntries are the deletion-vectors index files (ADD entries) of a snapshot's index
// manifest; none when the snapshot is nil or has no index manifest.
func (t *Table) dvIndexEntries(ctx context.Context, snap *format.Snapshot) ([]manifest.IndexManifestEntry, error) {
	if snap == nil || snap.IndexManifest == nil || *snap.IndexManifest == "" {
		return nil, nil
	}
	entries, err := t.ReadIndexManifest(ctx, *snap.IndexManifest)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(entries, func(e manifest.IndexManifestEntry) bool {
		return e.Kind != manifest.FileKindAdd || e.IndexFile.IndexType != manifest.IndexTypeDeletionVectors
	}), nil
}

// ReadIndexManifest reads an index manifest by name.
func (t *Table) ReadIndexManifest(ctx context.Context, name string) ([]manifest.IndexManifestEntry, error) {
	p := t.Join(format.ManifestPath(name))
	f, err := t.fio.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ReadIndexManifest(f, p)
}

func (t *Table) attachDeletionFiles(ctx context.Context, name string, opts CoreOptions, groups map[string]*Split) error {
	entries, err := t.ReadIndexManifest(ctx, name)
	if err != nil {
		return err
	}
	type key struct {
		part   string
		bucket int32
		file   string
	}
	live := map[key]manifest.IndexManifestEntry{}
	var order []key
	for _, e := range entries {
		if e.IndexFile.IndexType != manifest.IndexTypeDeletionVectors {
			continue
		}
		k := key{string(e.Partition), e.Bucket, e.IndexFile.FileName}
		if e.Kind == manifest.FileKindDelete {
			delete(live, k)
			continue
		}
		if _, ok := live[k]; !ok {
			order = append(order, k)
		}
		live[k] = e
	}
	for _, k := range order {
		e, ok := live[k]
		if !ok {
			continue
		}
		s := groups[k.part+"\x00"+fmt.Sprint(k.bucket)]
		if s == nil {
			continue
		}
		path := t.indexFilePath(opts, s.BucketPath, &e.IndexFile)
		for _, r := range e.IndexFile.DeletionVectorRanges {
			if s.DeletionFiles == nil {
				s.DeletionFiles = map[string]DeletionFile{}
			}
			s.DeletionFiles[r.DataFileName] = DeletionFile{Path: path, Offset: int64(r.Offset), Length: int64(r.Length), Cardinality: r.Cardinality}
		}
	}
	return nil
}

// DataFilePath is the location of a data file of a split.
func (s *Split) DataFilePath(f *manifest.DataFileMeta) string {
	if f.ExternalPath != nil && *f.ExternalPath != "" {
		return *f.ExternalPath
	}
	return fileio.Join(s.BucketPath, f.FileName)
}

package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// SnapshotIDColumn is the output column of streaming and incremental reads that names the
// snapshot a row's change was committed in. RowKindColumn ("_ROW_KIND") carries its kind.
const SnapshotIDColumn = "_SNAPSHOT_ID"

// Predicate is a filter usable both for pruning (partitions, buckets, file statistics)
// and for rows; package predicate implements it.
type Predicate interface {
	Filter
	RowFilter
}

// ChangeSplit is the unit of a streaming or incremental read: the files one snapshot added
// to one bucket of one partition, read as they are stored (never merged with older files).
type ChangeSplit struct {
	SnapshotID      int64
	Partition       []byte // serialized BinaryRow
	PartitionValues []any
	Bucket          int
	TotalBuckets    int
	BucketPath      string
	// Files in commit order (by sequence number, then name).
	Files []manifest.DataFileMeta
	// Changelog is set when Files are changelog files (changelog-producer input, lookup or
	// full-compaction) rather than the snapshot's delta data files.
	Changelog bool
	// KeyValue is set when the files hold _VALUE_KIND (primary-key tables); rows of
	// append-only tables are all inserts.
	KeyValue bool
}

// RowCount is the number of change records in the split's files.
func (s *ChangeSplit) RowCount() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.RowCount
	}
	return n
}

// IncrementalOptions choose the range of an incremental read: the changes committed after
// snapshot From up to and including snapshot To (Paimon's incremental-between, left open,
// right closed).
type IncrementalOptions struct {
	From, To int64
	// Filter prunes partitions and files (as in ScanOptions).
	Filter Filter
}

// IncrementalPlan is the result of planning an incremental read.
type IncrementalPlan struct {
	From, To int64
	// Schema is the schema the changes are read with (that of snapshot To).
	Schema *format.TableSchema
	// Splits are ordered by snapshot, then partition and bucket.
	Splits []ChangeSplit
}

// ErrSnapshotExpired is wrapped when a read needs a snapshot that expiry has deleted.
var ErrSnapshotExpired = errors.New("snapshot expired")

// PlanIncremental plans the changes between two snapshots. For append-only tables they are
// the files APPEND snapshots added. For primary-key tables with changelog-producer none
// they are the delta files of APPEND snapshots (their records as stored: +I, +U, -U and
// -D, each file already merged by its writer), COMPACT snapshots being skipped; with
// changelog-producer input, lookup or full-compaction they are the changelog files each
// snapshot lists in its changelog manifest list. OVERWRITE snapshots are skipped, as
// Paimon's streaming reads do by default.
func (t *Table) PlanIncremental(ctx context.Context, o IncrementalOptions) (*IncrementalPlan, error) {
	if o.From < 0 || o.To < o.From {
		return nil, fmt.Errorf("incremental read of %s: range (%d, %d] is empty or reversed; give 0 <= from <= to", t.path, o.From, o.To)
	}
	earliest, ok, err := t.EarliestSnapshotID(ctx)
	if err != nil {
		return nil, err
	}
	latest, _, err := t.LatestSnapshotID(ctx)
	if err != nil {
		return nil, err
	}
	if !ok || o.To > latest {
		return nil, fmt.Errorf("incremental read of %s: snapshot %d does not exist (latest is %d): %w", t.path, o.To, latest, ErrNotFound)
	}
	if o.From < earliest-1 {
		return nil, fmt.Errorf("incremental read of %s from snapshot %d: snapshots up to %d have expired (earliest is %d): %w", t.path, o.From, earliest-1, earliest, ErrSnapshotExpired)
	}
	plan := &IncrementalPlan{From: o.From, To: o.To}
	if o.To == o.From {
		s, err := t.LatestSchema(ctx)
		if err != nil {
			return nil, err
		}
		if o.To > 0 {
			snap, err := t.Snapshot(ctx, o.To)
			if err != nil {
				return nil, err
			}
			if s, err = t.Schema(ctx, snap.SchemaID); err != nil {
				return nil, err
			}
		}
		plan.Schema = s
		return plan, nil
	}
	for id := o.From + 1; id <= o.To; id++ {
		snap, err := t.Snapshot(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("incremental read of %s: snapshot %d expired while planning: %w", t.path, id, ErrSnapshotExpired)
		}
		if err != nil {
			return nil, err
		}
		if id == o.To {
			if plan.Schema, err = t.Schema(ctx, snap.SchemaID); err != nil {
				return nil, err
			}
		}
		splits, err := t.SnapshotChanges(ctx, snap, o.Filter)
		if err != nil {
			return nil, err
		}
		plan.Splits = append(plan.Splits, splits...)
	}
	return plan, nil
}

// SnapshotChanges lists the changes one snapshot committed, as a streaming reader sees
// them (see PlanIncremental); nil when the snapshot carries none for this table's
// changelog producer. filter prunes partitions and files.
func (t *Table) SnapshotChanges(ctx context.Context, snap *format.Snapshot, filter Filter) ([]ChangeSplit, error) {
	schema, err := t.Schema(ctx, snap.SchemaID)
	if err != nil {
		return nil, err
	}
	opts := ParseCoreOptions(schema.Options)
	pk := len(schema.PrimaryKeys) > 0
	changelog := pk && opts.ChangelogProducer != "none"
	// With streaming-read-append-overwrite, the rows an OVERWRITE snapshot adds to an
	// append-only table are changes too (FollowUpScanner.getOverwriteChangesPlan: the
	// snapshot's delta); with streaming-read-overwrite Paimon emits the difference an
	// overwrite makes to a primary-key table, which Tarn does not compute: such a
	// snapshot fails the read rather than being skipped.
	readOverwrite := snap.CommitKind == format.CommitOverwrite && !pk && opts.StreamingReadAppendOverwrite
	if snap.CommitKind == format.CommitOverwrite && pk && opts.StreamingReadOverwrite {
		return nil, fmt.Errorf("snapshot %d overwrites data and the table sets streaming-read-overwrite: Paimon's streaming reads emit what an overwrite changed, which Tarn's tails do not; compare batch reads of snapshots %d and %d, then tail from snapshot %d", snap.ID, snap.ID-1, snap.ID, snap.ID+1)
	}
	var list string
	switch {
	case changelog:
		if snap.ChangelogManifestList == nil || *snap.ChangelogManifestList == "" || snap.CommitKind == format.CommitOverwrite {
			return nil, nil
		}
		list = *snap.ChangelogManifestList
	default:
		if snap.CommitKind != format.CommitAppend && !readOverwrite {
			return nil, nil
		}
		list = snap.DeltaManifestList
	}
	metas, err := t.ReadManifestList(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", snap.ID, err)
	}
	partFields := schema.PartitionType()
	groups := map[string]*ChangeSplit{}
	var order []string
	for _, m := range metas {
		if filter != nil && len(partFields) > 0 && !partitionRangeMayMatch(filter, partFields, m.PartitionStats) {
			continue
		}
		entries, err := t.ReadManifest(ctx, m.FileName)
		if err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", snap.ID, err)
		}
		for _, e := range entries {
			if e.Kind != manifest.FileKindAdd {
				continue // an overwrite's deletions are no changes of an append-only table
			}
			if changelog && opts.Bucket == format.PostponeBucket && e.Bucket < 0 {
				// DataTableStreamScan reads only the real buckets of postpone-bucket tables
				// with a changelog producer.
				continue
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
				s = &ChangeSplit{
					SnapshotID: snap.ID, Partition: e.Partition, PartitionValues: values,
					Bucket: int(e.Bucket), TotalBuckets: int(e.TotalBuckets), Changelog: changelog, KeyValue: pk,
					BucketPath: t.Join(BucketPath(schema, opts, values, int(e.Bucket))),
				}
				groups[k] = s
				order = append(order, k)
			}
			if filter != nil {
				if len(partFields) > 0 && !filter.KeepPartition(s.PartitionValues) {
					continue
				}
				st, err := t.fileStats(ctx, schema, &e.File)
				if err != nil {
					return nil, err
				}
				if st != nil && !filter.KeepFile(st) {
					continue
				}
			}
			s.Files = append(s.Files, e.File)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := groups[order[i]], groups[order[j]]
		if c := bytes.Compare(a.Partition, b.Partition); c != 0 {
			return c < 0
		}
		return a.Bucket < b.Bucket
	})
	out := make([]ChangeSplit, 0, len(order))
	for _, k := range order {
		s := groups[k]
		if len(s.Files) == 0 {
			continue
		}
		slices.SortStableFunc(s.Files, func(a, b manifest.DataFileMeta) int {
			if a.MinSequenceNumber != b.MinSequenceNumber {
				if a.MinSequenceNumber < b.MinSequenceNumber {
					return -1
				}
				return 1
			}
			if a.FileName < b.FileName {
				return -1
			}
			if a.FileName > b.FileName {
				return 1
			}
			return 0
		})
		out = append(out, *s)
	}
	return out, nil
}

// ChangeSchema is the Arrow schema of streaming and incremental reads: the projected
// columns (all when columns is nil), then _ROW_KIND (string) and _SNAPSHOT_ID (int64).
func ChangeSchema(schema *format.TableSchema, columns []string) (*arrow.Schema, error) {
	out, err := OutputFields(schema, columns)
	if err != nil {
		return nil, err
	}
	for _, f := range out {
		if f.Name == RowKindColumn || f.Name == SnapshotIDColumn {
			return nil, fmt.Errorf("table column %q clashes with the change columns %s and %s", f.Name, RowKindColumn, SnapshotIDColumn)
		}
	}
	fields, err := types.ArrowFields(out)
	if err != nil {
		return nil, err
	}
	fields = append(fields,
		arrow.Field{Name: RowKindColumn, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: SnapshotIDColumn, Type: arrow.PrimitiveTypes.Int64})
	return arrow.NewSchema(fields, nil), nil
}

// ReadChanges reads change splits in order with the given schema (usually the plan's):
// the projected columns plus _ROW_KIND and _SNAPSHOT_ID. The row filter applies to each
// change record.
func (t *Table) ReadChanges(ctx context.Context, schema *format.TableSchema, splits []ChangeSplit, o ReadOptions) (datafile.BatchReader, error) {
	return t.readChanges(ctx, schema, splits, o, 0)
}

// readChanges is ReadChanges skipping the first skip output rows. Without a row filter
// whole files are skipped by their row counts, unread.
func (t *Table) readChanges(ctx context.Context, schema *format.TableSchema, splits []ChangeSplit, o ReadOptions, skip int64) (datafile.BatchReader, error) {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	outSchema, err := ChangeSchema(schema, o.Columns)
	if err != nil {
		return nil, err
	}
	read, nOut, err := readFields(schema, o)
	if err != nil {
		return nil, err
	}
	var readers []func(context.Context) (datafile.BatchReader, error)
	// Whole files at the front that the skip covers are not opened; the rest of the skip
	// drops rows of the first file read.
	skipping := o.Filter == nil
	for i := range splits {
		s := &splits[i]
		split := &Split{Partition: s.Partition, PartitionValues: s.PartitionValues, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets, BucketPath: s.BucketPath}
		for j := range s.Files {
			f := &s.Files[j]
			if skipping && skip > 0 && f.RowCount <= skip {
				skip -= f.RowCount
				continue
			}
			skipping = false
			kv := s.KeyValue
			snapID := s.SnapshotID
			readers = append(readers, func(ctx context.Context) (datafile.BatchReader, error) {
				fields := read
				if kv {
					fields = append(slices.Clip(read), datafile.ValueKindField())
				}
				r, err := t.openDataFile(ctx, split, f, fields, o)
				if err != nil {
					return nil, err
				}
				return &changeRows{in: r, kv: kv, snapshot: snapID, nOut: nOut, nRead: len(read), filter: o.Filter, schema: outSchema, mem: o.Mem}, nil
			})
		}
	}
	var r datafile.BatchReader = &chain{next: readers, schema: outSchema}
	if skip > 0 {
		r = &skipRows{in: r, skip: skip}
	}
	return r, nil
}

// readFields are the fields a read needs: the output columns, then filter columns that are
// not among them; nOut is the number of output columns.
func readFields(schema *format.TableSchema, o ReadOptions) ([]types.DataField, int, error) {
	out, err := OutputFields(schema, o.Columns)
	if err != nil {
		return nil, 0, err
	}
	read := slices.Clip(out)
	if o.Filter != nil {
		for _, c := range o.Filter.Columns() {
			if types.FieldByName(read, c) < 0 {
				f, ok := schema.Field(c)
				if !ok {
					return nil, 0, fmt.Errorf("filter column %q is not in the table", c)
				}
				read = append(read, f)
			}
		}
	}
	return read, len(out), nil
}

// changeRows turns batches of a change file (read columns, then _VALUE_KIND for key-value
// files) into output batches: filtered rows, the output columns, _ROW_KIND, _SNAPSHOT_ID.
type changeRows struct {
	in       datafile.BatchReader
	kv       bool
	snapshot int64
	nOut     int
	nRead    int
	filter   RowFilter
	schema   *arrow.Schema
	mem      memory.Allocator
}

func (c *changeRows) Schema() *arrow.Schema { return c.schema }

func (c *changeRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := c.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if c.filter != nil {
			fb, err := c.filter.Apply(ctx, b)
			b.Release()
			if err != nil {
				return nil, err
			}
			b = fb
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		var kinds *array.Int8
		if c.kv {
			kinds = b.Column(c.nRead).(*array.Int8)
		}
		out := changeBatch(c.schema, b.Columns()[:c.nOut], kinds, c.snapshot, int(b.NumRows()), c.mem)
		b.Release()
		return out, nil
	}
}

func (c *changeRows) Close() error { return c.in.Close() }

var kindStrings = [4]string{"+I", "-U", "+U", "-D"}

// changeBatch appends _ROW_KIND (from kinds, nil meaning all +I) and _SNAPSHOT_ID columns
// to cols.
func changeBatch(schema *arrow.Schema, cols []arrow.Array, kinds *array.Int8, snapshot int64, n int, mem memory.Allocator) arrow.RecordBatch {
	kb := array.NewStringBuilder(mem)
	kb.Reserve(n)
	kb.ReserveData(2 * n)
	for i := 0; i < n; i++ {
		k := datafile.KindInsert
		if kinds != nil {
			k = kinds.Value(i)
		}
		if k < 0 || int(k) >= len(kindStrings) {
			kb.Append("?")
			continue
		}
		kb.Append(kindStrings[k])
	}
	sb := array.NewInt64Builder(mem)
	sb.Reserve(n)
	for i := 0; i < n; i++ {
		sb.UnsafeAppend(snapshot)
	}
	kc, sc := kb.NewArray(), sb.NewArray()
	kb.Release()
	sb.Release()
	all := make([]arrow.Array, 0, len(cols)+2)
	all = append(all, cols...)
	all = append(all, kc, sc)
	out := array.NewRecordBatch(schema, all, int64(n))
	kc.Release()
	sc.Release()
	return out
}

// skipRows drops the first skip rows of a reader.
type skipRows struct {
	in   datafile.BatchReader
	skip int64
}

func (s *skipRows) Schema() *arrow.Schema { return s.in.Schema() }

func (s *skipRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := s.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if s.skip == 0 {
			return b, nil
		}
		n := b.NumRows()
		if n <= s.skip {
			s.skip -= n
			b.Release()
			continue
		}
		out := b.NewSlice(s.skip, n)
		b.Release()
		s.skip = 0
		return out, nil
	}
}

func (s *skipRows) Close() error { return s.in.Close() }

// fullRows reads a plan's splits as +I changes of its snapshot.
func (t *Table) fullRows(ctx context.Context, plan *Plan, o ReadOptions, skip int64) (datafile.BatchReader, error) {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	outSchema, err := ChangeSchema(plan.Schema, o.Columns)
	if err != nil {
		return nil, err
	}
	var snapID int64
	if plan.Snapshot != nil {
		snapID = plan.Snapshot.ID
	}
	nOut := outSchema.NumFields() - 2
	readers := make([]func(context.Context) (datafile.BatchReader, error), len(plan.Splits))
	for i := range plan.Splits {
		split := &plan.Splits[i]
		readers[i] = func(ctx context.Context) (datafile.BatchReader, error) {
			r, err := t.ReadSplit(ctx, plan, split, o)
			if err != nil {
				return nil, err
			}
			return &insertRows{in: r, snapshot: snapID, nOut: nOut, schema: outSchema, mem: o.Mem}, nil
		}
	}
	var r datafile.BatchReader = &chain{next: readers, schema: outSchema}
	if skip > 0 {
		r = &skipRows{in: r, skip: skip}
	}
	return r, nil
}

// insertRows marks every row of a batch scan as +I of a snapshot.
type insertRows struct {
	in       datafile.BatchReader
	snapshot int64
	nOut     int
	schema   *arrow.Schema
	mem      memory.Allocator
}

func (r *insertRows) Schema() *arrow.Schema { return r.schema }

func (r *insertRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	out := changeBatch(r.schema, b.Columns()[:r.nOut], nil, r.snapshot, int(b.NumRows()), r.mem)
	b.Release()
	return out, nil
}

func (r *insertRows) Close() error { return r.in.Close() }

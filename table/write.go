package table

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/merge"
)

// CommitMessage is what a writer produced for one bucket of one partition, to be committed.
type CommitMessage struct {
	Partition    []byte // serialized BinaryRow
	Bucket       int
	TotalBuckets int
	// NewFiles are added files (level 0 for primary-key tables).
	NewFiles []manifest.DataFileMeta
	// CompactBefore are files a compaction replaced; CompactAfter the files it wrote.
	CompactBefore []manifest.DataFileMeta
	CompactAfter  []manifest.DataFileMeta
	// ChangelogFiles are changelog files produced for streaming readers.
	ChangelogFiles []manifest.DataFileMeta
	// NewIndexFiles replace DeletedIndexFiles in the index manifest (hash indexes of
	// dynamic buckets, deletion vectors).
	NewIndexFiles     []manifest.IndexFileMeta
	DeletedIndexFiles []manifest.IndexFileMeta
	// The compaction increment: a message holding both new files and compaction results
	// is committed as two snapshots, APPEND then COMPACT, as Paimon does.
	CompactChangelogFiles    []manifest.DataFileMeta
	CompactNewIndexFiles     []manifest.IndexFileMeta
	CompactDeletedIndexFiles []manifest.IndexFileMeta
}

// split separates the append increment (new files, their changelog and index files) from
// the compaction increment, each as a message of its own (nil if empty).
func (m *CommitMessage) split() (appendPart, compactPart *CommitMessage) {
	a := CommitMessage{Partition: m.Partition, Bucket: m.Bucket, TotalBuckets: m.TotalBuckets,
		NewFiles: m.NewFiles, ChangelogFiles: m.ChangelogFiles, NewIndexFiles: m.NewIndexFiles, DeletedIndexFiles: m.DeletedIndexFiles}
	c := CommitMessage{Partition: m.Partition, Bucket: m.Bucket, TotalBuckets: m.TotalBuckets,
		CompactBefore: m.CompactBefore, CompactAfter: m.CompactAfter, ChangelogFiles: m.CompactChangelogFiles,
		NewIndexFiles: m.CompactNewIndexFiles, DeletedIndexFiles: m.CompactDeletedIndexFiles}
	if !a.Empty() {
		appendPart = &a
	}
	if !c.Empty() {
		compactPart = &c
	}
	return appendPart, compactPart
}

// Empty reports whether the message changes nothing.
func (m *CommitMessage) Empty() bool {
	return len(m.NewFiles)+len(m.CompactBefore)+len(m.CompactAfter)+len(m.ChangelogFiles)+len(m.NewIndexFiles)+len(m.DeletedIndexFiles)+
		len(m.CompactChangelogFiles)+len(m.CompactNewIndexFiles)+len(m.CompactDeletedIndexFiles) == 0
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	Mem memory.Allocator
	// WriteBufferSize overrides the table's write-buffer-size (bytes of buffered input).
	WriteBufferSize int64
	// OnAppend, when set, sees every batch the writer buffers for a bucket, in write
	// order: the table's columns, then _SEQUENCE_NUMBER and _VALUE_KIND. The log system
	// (package logsystem) writes them to its topic. The batch is valid during the call.
	OnAppend func(ctx context.Context, partition []byte, bucket int, rec arrow.RecordBatch) error
	// CompactionBudget limits the writer's background compactions; nil: no limit.
	CompactionBudget Budget
	// Compact runs Paimon's universal compaction inside the writer, in the background,
	// for long-lived writers (streaming ingest). Short-lived writers leave compaction to
	// Table.Compact or the server's workers. Tables whose readers skip level 0 (deletion
	// vectors, first-row) compact level 0 on every commit regardless.
	Compact bool
	// SequenceFloor, when set, gives the lowest sequence number a bucket may use next;
	// the writer starts at the larger of it and what the table's files hold.
	SequenceFloor func(partition []byte, bucket int) int64
}

// Writer writes Arrow batches into a table's data files: it routes rows to partitions
// and buckets with Paimon's bucket hash, assigns per-bucket sequence numbers, buffers and
// sorts primary-key rows by key, and flushes level-0 Parquet files. PrepareCommit returns
// the files to commit. A Writer is not safe for concurrent use.
type Writer struct {
	fileFactory
	partIdx  []int
	bucketBy []int // field positions of the bucket key
	buckets  map[string]*bucketWriter
	// restored holds the live files of every bucket as of snapshot synced (syncFiles).
	restored map[string][]manifest.DataFileMeta
	base     *format.Snapshot
	synced   *format.Snapshot
	liveDVs  map[string]string // deletion-vectors index file of each bucket as of synced
	commits  int               // PrepareCommit calls, for full-compaction.delta-commits
	// kindFilter drops the retractions ignore-delete and ignore-update-before ignore.
	kindFilter rowKindFilter
	defaults   []columnDefault
	limit      int64
	buffered   int64
	assigner   *bucketAssigner // dynamic bucket mode
	budget     Budget
	bgCtx      context.Context
	bgCancel   context.CancelFunc
	bgWG       sync.WaitGroup
	// NoCompaction turns off compaction inside the writer.
	noCompaction bool
	onAppend     func(ctx context.Context, partition []byte, bucket int, rec arrow.RecordBatch) error
	seqFloor     func(partition []byte, bucket int) int64
	// postponeBuckets, in postpone-bucket tables, is the bucket count of each partition
	// (serialized): the one its real buckets have, else postpone.default-bucket-num.
	postponeBuckets map[string]int
}

// fileFactory writes data files of one table schema; the writer and compaction share it.
type fileFactory struct {
	t       *Table
	schema  *format.TableSchema
	opts    CoreOptions
	mem     memory.Allocator
	pk      bool
	keys    []types.DataField
	keyIdx  []int
	uuid    string
	fileSeq int64
	target  int64
	expiry  *recordExpiry // record-level expiration of compactions (nil: none)
}

func newFileFactory(t *Table, schema *format.TableSchema, mem memory.Allocator) fileFactory {
	opts := ParseCoreOptions(schema.Options)
	f := fileFactory{t: t, schema: schema, opts: opts, mem: mem, pk: len(schema.PrimaryKeys) > 0, uuid: newUUID()}
	if f.mem == nil {
		f.mem = memory.DefaultAllocator
	}
	f.target = opts.TargetFileSize
	if f.target == 0 {
		f.target = 128 << 20
		if !f.pk {
			f.target = 256 << 20
		}
	}
	if f.pk {
		f.keys = schema.KeyFields()
		f.keyIdx = schema.FieldIndexes(schema.TrimmedPrimaryKeys())
		var err error
		if f.expiry, err = parseRecordExpiry(schema.Options, schema.Fields); err != nil {
			slog.Warn("record-level expiration is off: its options are invalid", "table", t.path, "err", err)
		}
	}
	return f
}

type bucketWriter struct {
	partition      []byte
	partValues     []any
	bucket         int
	dir            string
	nextSeq        int64
	batches        []arrow.RecordBatch // value columns + _SEQUENCE_NUMBER + _VALUE_KIND
	size           int64
	newFiles       []manifest.DataFileMeta
	changelogFiles []manifest.DataFileMeta
	// files are the bucket's live files as this writer's commits leave them (lookup
	// compaction needs the whole bucket); dvs its deletion vectors, loaded on first use.
	files []manifest.DataFileMeta
	dvs   *bucketDVs
	bg    *bgCompaction // running background compaction
	// touched is set when the bucket got new files since its last full compaction.
	touched bool
	// lookupSkips counts the picks that found nothing since level 0 last went up
	// (lookup-compact gentle).
	lookupSkips int
}

// NewWriter starts a writer on the table's latest schema and snapshot.
func (t *Table) NewWriter(ctx context.Context, o WriterOptions) (*Writer, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	opts := ParseCoreOptions(schema.Options)
	if err := writableOptions(schema, opts); err != nil {
		return nil, err
	}
	w := &Writer{fileFactory: newFileFactory(t, schema, o.Mem), buckets: map[string]*bucketWriter{}, limit: opts.WriteBufferSize,
		onAppend: o.OnAppend, seqFloor: o.SequenceFloor}
	if o.WriteBufferSize > 0 {
		w.limit = o.WriteBufferSize
	}
	w.budget, w.noCompaction = o.CompactionBudget, !o.Compact
	if w.kindFilter, err = parseRowKindFilter(schema.Options, schema.Fields); err != nil {
		return nil, err
	}
	if w.defaults, err = parseDefaults(schema, w.mem); err != nil {
		return nil, err
	}
	w.bgCtx, w.bgCancel = context.WithCancel(context.Background())
	w.partIdx = schema.FieldIndexes(schema.PartitionKeys)
	if opts.Bucket > 0 || opts.Bucket == format.PostponeBucket {
		w.bucketBy = schema.FieldIndexes(bucketKeyNames(schema, opts))
	}
	w.base, err = t.LatestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	if w.pk && opts.Bucket == -1 {
		w.assigner = newBucketAssigner(t, schema, opts)
		if err := w.assigner.load(ctx, w.base); err != nil {
			return nil, err
		}
	}
	w.restored = map[string][]manifest.DataFileMeta{}
	w.synced = w.base
	var entries []manifest.ManifestEntry
	if w.base != nil {
		if entries, err = t.liveEntries(ctx, w.base, schema, ScanOptions{}); err != nil {
			return nil, err
		}
		for _, e := range entries {
			k := groupKey(e.Partition, int(e.Bucket))
			w.restored[k] = append(w.restored[k], e.File)
		}
	}
	if opts.Bucket == format.PostponeBucket {
		// Rows go straight into real buckets, as Paimon's batch writes do
		// (postpone.batch-write-fixed-bucket).
		if w.postponeBuckets, err = knownBuckets(entries); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// knownBuckets is the bucket count of each partition of a postpone-bucket table that has
// files in real buckets (Paimon's PostponeUtils.getKnownNumBuckets).
func knownBuckets(entries []manifest.ManifestEntry) (map[string]int, error) {
	known := map[string]int{}
	for _, e := range entries {
		if e.Bucket < 0 || e.TotalBuckets < 0 {
			continue
		}
		if n, ok := known[string(e.Partition)]; ok && n != int(e.TotalBuckets) {
			return nil, fmt.Errorf("a partition of the table has files of %d and of %d buckets", n, e.TotalBuckets)
		}
		known[string(e.Partition)] = int(e.TotalBuckets)
	}
	return known, nil
}

// totalBuckets is the bucket count of a partition: the table's, or in postpone-bucket
// tables the partition's own, fixed by its first files in real buckets (Paimon's
// PostponeBatchWriteOperator writes a new partition into postpone.default-bucket-num).
func (w *Writer) totalBuckets(partition []byte) int {
	if w.postponeBuckets == nil {
		return w.opts.Bucket
	}
	n, ok := w.postponeBuckets[string(partition)]
	if !ok {
		n = w.opts.PostponeDefaultBuckets
		w.postponeBuckets[string(partition)] = n
	}
	return n
}

// writableOptions refuses table shapes the writer does not produce correctly yet.
func writableOptions(s *format.TableSchema, o CoreOptions) error {
	if len(s.PrimaryKeys) > 0 {
		if o.Bucket == 0 || o.Bucket < -2 {
			return fmt.Errorf("bucket = %d is not valid", o.Bucket)
		}
		for _, p := range s.PartitionKeys {
			if !slices.Contains(s.PrimaryKeys, p) {
				// Paimon's cross-partition upsert: a key moves between partitions, found
				// through a global index of every key (GlobalIndexAssigner).
				return fmt.Errorf("the primary key (%s) lacks partition key %q: a cross-partition upsert table, whose keys move between partitions through Paimon's global index; Tarn reads such tables but does not write them: write them with Paimon",
					strings.Join(s.PrimaryKeys, ", "), p)
			}
		}
	}
	return ValidateFileFormats(s.Options, s.Fields)
}

func groupKey(partition []byte, bucket int) string {
	return string(partition) + "\x00" + fmt.Sprint(bucket)
}

// Schema is the schema the writer writes.
func (w *Writer) Schema() *format.TableSchema { return w.schema }

// BaseSnapshot is the snapshot the writer started from (nil for an empty table).
func (w *Writer) BaseSnapshot() *format.Snapshot { return w.base }

// Write buffers a batch of rows. Columns are matched to the table's by name; an optional
// _ROW_KIND column gives each row's kind. The batch is not retained.
func (w *Writer) Write(ctx context.Context, b arrow.RecordBatch) error {
	if b.NumRows() == 0 {
		return nil
	}
	cols, kinds, err := normalize(ctx, b, w.schema.Fields, w.mem)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	n := int(b.NumRows())
	if w.kindFilter.field >= 0 {
		if kinds, err = w.kindFilter.kindsOf(cols, n); err != nil {
			return err
		}
	}
	if kinds != nil && (w.kindFilter.dropDeletes || w.kindFilter.dropUpdateBefore) {
		if cols, kinds, n, err = w.kindFilter.apply(ctx, w.mem, cols, kinds); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	if err := applyDefaults(w.mem, w.defaults, cols); err != nil {
		return err
	}
	if !w.pk && kinds != nil {
		for i, k := range kinds {
			if k != datafile.KindInsert {
				return fmt.Errorf("row %d is %s: append-only tables take only inserts", i, datafile.KindString(k))
			}
		}
	}
	for _, i := range w.keyIdx {
		if cols[i].NullN() > 0 {
			return fmt.Errorf("primary key column %q has nulls", w.schema.Fields[i].Name)
		}
	}
	groups, order, err := w.route(ctx, cols, n)
	if err != nil {
		return err
	}
	for _, gk := range order {
		g := groups[gk]
		bw, err := w.bucketWriter(ctx, gk, g.partition, g.bucket)
		if err != nil {
			return err
		}
		if err := w.append(ctx, bw, cols, kinds, g.rows, n); err != nil {
			return err
		}
	}
	for w.buffered > w.limit {
		if err := w.flushLargest(ctx); err != nil {
			return err
		}
	}
	return nil
}

type group struct {
	partition []byte
	bucket    int
	rows      []int32 // nil means every row
}

// route assigns each row to a partition and bucket.
func (w *Writer) route(ctx context.Context, cols []arrow.Array, n int) (map[string]*group, []string, error) {
	var partEnc, bucketEnc, keyEnc *rowEncoder
	var bucketOf func(binaryrow.Row, int) int
	var err error
	if w.assigner != nil {
		kc := make([]arrow.Array, len(w.keyIdx))
		for i, j := range w.keyIdx {
			kc[i] = cols[j]
		}
		if keyEnc, err = newRowEncoder(kc, w.keys); err != nil {
			return nil, nil, err
		}
	}
	if len(w.partIdx) > 0 {
		pc := make([]arrow.Array, len(w.partIdx))
		for i, j := range w.partIdx {
			pc[i] = cols[j]
		}
		if partEnc, err = newRowEncoder(pc, w.schema.PartitionType()); err != nil {
			return nil, nil, err
		}
	}
	if len(w.bucketBy) > 0 {
		bc := make([]arrow.Array, len(w.bucketBy))
		bf := make([]types.DataField, len(w.bucketBy))
		for i, j := range w.bucketBy {
			bc[i], bf[i] = cols[j], w.schema.Fields[j]
		}
		if bucketEnc, err = newRowEncoder(bc, bf); err != nil {
			return nil, nil, err
		}
		if bucketOf, err = binaryrow.BucketFunc(w.opts.BucketFunction, bf); err != nil {
			return nil, nil, err
		}
	}
	emptyPart := binaryrow.Empty.Serialize()
	if partEnc == nil && bucketEnc == nil && keyEnc == nil {
		gk := groupKey(emptyPart, 0)
		return map[string]*group{gk: {partition: emptyPart, bucket: 0}}, []string{gk}, nil
	}
	groups := map[string]*group{}
	var order []string
	var last *group
	var lastPart []byte
	lastBucket := -1
	for i := 0; i < n; i++ {
		part := emptyPart
		if partEnc != nil {
			part = partEnc.encode(i).Serialize()
		}
		bucket := 0
		switch {
		case keyEnc != nil:
			if bucket, err = w.assigner.assign(ctx, part, keyEnc.encode(i)); err != nil {
				return nil, nil, err
			}
		case bucketEnc != nil:
			bucket = bucketOf(bucketEnc.encode(i), w.totalBuckets(part))
		}
		if last != nil && bucket == lastBucket && bytes.Equal(part, lastPart) {
			last.rows = append(last.rows, int32(i))
			continue
		}
		gk := groupKey(part, bucket)
		g := groups[gk]
		if g == nil {
			g = &group{partition: part, bucket: bucket}
			groups[gk] = g
			order = append(order, gk)
		}
		g.rows = append(g.rows, int32(i))
		last, lastPart, lastBucket = g, part, bucket
	}
	if len(order) == 1 {
		groups[order[0]].rows = nil
	}
	return groups, order, nil
}

func (w *Writer) bucketWriter(ctx context.Context, gk string, partition []byte, bucket int) (*bucketWriter, error) {
	if bw := w.buckets[gk]; bw != nil {
		return bw, nil
	}
	row, err := binaryrow.Deserialize(partition)
	if err != nil {
		return nil, err
	}
	values, err := row.Values(w.schema.PartitionType())
	if err != nil {
		return nil, err
	}
	bw := &bucketWriter{
		partition: append([]byte(nil), partition...), partValues: values, bucket: bucket,
		dir: w.t.Join(BucketPath(w.schema, w.opts, values, bucket)),
	}
	for _, f := range w.restored[gk] {
		bw.nextSeq = max(bw.nextSeq, f.MaxSequenceNumber+1)
	}
	bw.files = append([]manifest.DataFileMeta(nil), w.restored[gk]...)
	if w.seqFloor != nil {
		bw.nextSeq = max(bw.nextSeq, w.seqFloor(bw.partition, bucket))
	}
	w.buckets[gk] = bw
	return bw, nil
}

// append adds rows (nil: all) of cols to a bucket's buffer with sequence numbers and kinds.
func (w *Writer) append(ctx context.Context, bw *bucketWriter, cols []arrow.Array, kinds []int8, rows []int32, n int) error {
	var part []arrow.Array
	count := n
	if rows == nil {
		part = cols
		for _, c := range part {
			c.Retain()
		}
	} else {
		count = len(rows)
		var err error
		if part, err = takeRows(ctx, w.mem, cols, n, rows); err != nil {
			return err
		}
	}
	sb := array.NewInt64Builder(w.mem)
	sb.Reserve(count)
	kb := array.NewInt8Builder(w.mem)
	kb.Reserve(count)
	for i := 0; i < count; i++ {
		sb.UnsafeAppend(bw.nextSeq)
		bw.nextSeq++
		k := datafile.KindInsert
		if kinds != nil {
			if rows == nil {
				k = kinds[i]
			} else {
				k = kinds[rows[i]]
			}
		}
		kb.UnsafeAppend(k)
	}
	seq, kind := sb.NewArray(), kb.NewArray()
	sb.Release()
	kb.Release()
	all := append(part, seq, kind)
	fields := append(slices.Clip(w.schema.Fields), datafile.SequenceField(), datafile.ValueKindField())
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return err
	}
	rec := array.NewRecordBatch(schema, all, int64(count))
	for _, c := range all {
		c.Release()
	}
	if w.onAppend != nil {
		if err := w.onAppend(ctx, bw.partition, bw.bucket, rec); err != nil {
			rec.Release()
			return err
		}
	}
	size := batchSize(rec)
	bw.batches = append(bw.batches, rec)
	bw.size += size
	w.buffered += size
	return nil
}

// takeRows copies rows of cols, in that order. merge.Gather copies the common types
// directly (several times faster than compute.Take's kernels); other types go through Take.
func takeRows(ctx context.Context, mem memory.Allocator, cols []arrow.Array, n int, rows []int32) ([]arrow.Array, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: strconv.Itoa(i), Type: c.DataType(), Nullable: true}
	}
	src := []arrow.RecordBatch{array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))}
	defer src[0].Release()
	refs := make([]merge.Ref, len(rows))
	for i, r := range rows {
		refs[i].Row = r
	}
	var indices arrow.Array
	defer func() {
		if indices != nil {
			indices.Release()
		}
	}()
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		var err error
		if merge.GathersDirectly(c.DataType()) {
			out[i], err = merge.Gather(mem, src, i, refs)
		} else {
			if indices == nil {
				ib := array.NewInt32Builder(mem)
				ib.AppendValues(rows, nil)
				indices = ib.NewArray()
				ib.Release()
			}
			out[i], err = compute.TakeArray(ctx, c, indices)
		}
		if err != nil {
			for _, p := range out[:i] {
				p.Release()
			}
			return nil, err
		}
	}
	return out, nil
}

func batchSize(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += int64(c.Data().SizeInBytes())
	}
	return n
}

func (w *Writer) flushLargest(ctx context.Context) error {
	var best *bucketWriter
	for _, bw := range w.buckets {
		if best == nil || bw.size > best.size {
			best = bw
		}
	}
	if best == nil || best.size == 0 {
		w.buffered = 0
		return nil
	}
	return w.flush(ctx, best)
}

// flush writes a bucket's buffer as level-0 files.
func (w *Writer) flush(ctx context.Context, bw *bucketWriter) error {
	if len(bw.batches) == 0 {
		return nil
	}
	defer func() {
		for _, b := range bw.batches {
			b.Release()
		}
		w.buffered -= bw.size
		bw.batches, bw.size = nil, 0
	}()
	if !w.pk {
		return w.writeFiles(ctx, bw, bw.batches, nil)
	}
	sorted, merged, err := w.sortAndMerge(bw.batches)
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range merged {
			b.Release()
		}
	}()
	if w.opts.ChangelogProducer == "input" {
		// changelog-producer input: every input record, sorted, is the changelog.
		files, err := w.writeBuffered(ctx, bw.dir, bw.batches, sorted, true)
		bw.changelogFiles = append(bw.changelogFiles, files...)
		if err != nil {
			return err
		}
	}
	return w.writeFiles(ctx, bw, merged, nil)
}

// sortAndMerge orders the buffered rows by key, sequence fields and sequence number and
// merges each key's records with the table's merge engine, as Paimon's write buffer does
// (deletions kept, since they must shadow older levels). sorted is the order of all rows,
// for changelog-producer input.
func (w *Writer) sortAndMerge(batches []arrow.RecordBatch) (sorted []merge.Ref, merged []arrow.RecordBatch, err error) {
	engine, err := merge.NewEngine(w.schema.Fields, w.schema.PrimaryKeys, w.schema.Options)
	if err != nil {
		return nil, nil, err
	}
	nv := len(w.schema.Fields)
	o := merge.BufferOptions{Keys: w.keyIdx, Sequence: nv, Kind: nv + 1, Engine: engine, Mem: w.mem}
	if w.opts.ChangelogProducer == "input" {
		if sorted, err = merge.SortBuffer(batches, o); err != nil {
			return nil, nil, err
		}
	}
	merged, err = merge.MergeBuffer(batches, o)
	return sorted, merged, err
}

// writeFiles writes rows (refs into batches, or all rows in order when refs is nil) as
// level-0 data files rolled at the target file size.
func (w *Writer) writeFiles(ctx context.Context, bw *bucketWriter, batches []arrow.RecordBatch, refs []merge.Ref) error {
	files, err := w.writeBuffered(ctx, bw.dir, batches, refs, false)
	bw.newFiles = append(bw.newFiles, files...)
	return err
}

// writeBuffered writes buffered rows (value columns + _SEQUENCE_NUMBER + _VALUE_KIND) as
// level-0 data files, or changelog files, in the file layout.
func (w *fileFactory) writeBuffered(ctx context.Context, dir string, batches []arrow.RecordBatch, refs []merge.Ref, changelog bool) ([]manifest.DataFileMeta, error) {
	var out []manifest.DataFileMeta
	nv := len(w.schema.Fields)
	var fileFields []types.DataField
	if w.pk {
		fileFields = datafile.KeyValueFields(w.keys, w.schema.Fields)
	} else {
		fileFields = w.schema.Fields
	}
	// Columns of the file layout, as positions in the buffered batches.
	var layout []int
	if w.pk {
		layout = append(layout, w.keyIdx...)
		layout = append(layout, nv, nv+1)
	}
	for i := 0; i < nv; i++ {
		layout = append(layout, i)
	}
	fileSchema, err := types.ArrowSchema(fileFields)
	if err != nil {
		return nil, err
	}
	const chunk = 64 * 1024
	roll := w.newRoller(dir, 0, manifest.FileSourceAppend, changelog)
	defer roll.abort()
	emit := func(cols []arrow.Array, seqs *array.Int64, kinds *array.Int8, rows int64) error {
		rec := array.NewRecordBatch(fileSchema, cols, rows)
		defer rec.Release()
		return roll.write(ctx, rec, seqs, kinds)
	}
	if refs == nil {
		for _, b := range batches {
			cols := make([]arrow.Array, len(layout))
			for i, c := range layout {
				cols[i] = b.Column(c)
			}
			if err := emit(cols, b.Column(nv).(*array.Int64), b.Column(nv+1).(*array.Int8), b.NumRows()); err != nil {
				return out, err
			}
		}
	} else {
		for start := 0; start < len(refs); start += chunk {
			part := refs[start:min(start+chunk, len(refs))]
			cols := make([]arrow.Array, len(layout))
			for i, c := range layout {
				if cols[i], err = merge.Gather(w.mem, batches, c, part); err != nil {
					return out, err
				}
			}
			var seqs *array.Int64
			var kinds *array.Int8
			if w.pk {
				seqs, kinds = cols[len(w.keyIdx)].(*array.Int64), cols[len(w.keyIdx)+1].(*array.Int8)
			}
			err := emit(cols, seqs, kinds, int64(len(part)))
			for _, c := range cols {
				c.Release()
			}
			if err != nil {
				return out, err
			}
		}
	}
	return roll.finish(ctx)
}

// roller writes rows to data files (or changelog files) of one bucket and level, starting
// a new file when the current one reaches the target size.
type roller struct {
	f           *fileFactory
	dir         string
	level       int
	source      manifest.FileSource
	fields      []types.DataField
	prefix      string // file name prefix
	format      string // file format and compression, the level's (or the changelog's)
	compression string
	modes       []datafile.StatsMode // statistics mode of each of fields
	cur         *fileWriter
	done        []manifest.DataFileMeta
}

func (w *fileFactory) newRoller(dir string, level int, source manifest.FileSource, changelog bool) *roller {
	fields := w.schema.Fields
	var thinKeys []string
	switch {
	case w.thin():
		fields = append([]types.DataField{datafile.SequenceField(), datafile.ValueKindField()}, w.schema.Fields...)
		for _, k := range w.keys {
			thinKeys = append(thinKeys, k.Name)
		}
	case w.pk:
		fields = datafile.KeyValueFields(w.keys, w.schema.Fields)
	}
	r := &roller{f: w, dir: dir, level: level, source: source, fields: fields, prefix: w.opts.DataFilePrefix}
	if changelog {
		r.prefix = w.opts.ChangelogFilePrefix
	}
	r.format, r.compression = w.opts.fileFormat(level, changelog)
	r.modes = w.opts.Stats.fileModes(fields, w.pk, level, changelog, r.format, thinKeys)
	return r
}

// thin reports whether primary-key data files are written without their key columns
// (data-file.thin-mode; KeyValueFileWriterFactory.supportsThinMode holds for every
// table, whose key fields are value fields).
func (w *fileFactory) thin() bool { return w.pk && w.opts.ThinMode }

// write appends a batch in file layout with its sequence numbers and kinds.
func (r *roller) write(ctx context.Context, rec arrow.RecordBatch, seqs *array.Int64, kinds *array.Int8) error {
	if r.cur == nil {
		fw, err := r.f.newFileWriter(ctx, r.dir, r.fields, r.modes, r.prefix, r.format, r.compression)
		if err != nil {
			return err
		}
		r.cur = fw
	}
	if err := r.cur.write(rec, seqs, kinds); err != nil {
		return err
	}
	if r.cur.pw.EstimatedSize() >= r.f.target {
		return r.closeCurrent(ctx)
	}
	return nil
}

func (r *roller) closeCurrent(ctx context.Context) error {
	meta, err := r.cur.close(ctx)
	r.cur = nil
	if err != nil {
		return err
	}
	meta.Level = int32(r.level)
	meta.FileSource = ptrTo(r.source)
	if r.source == manifest.FileSourceAppend && r.f.opts.RowTracking {
		// The rows of a file appended to a row tracking table take the id of the snapshot
		// that commits it as their sequence number: the commit replaces sequence number 0
		// (Paimon's RowTrackingCommitUtils.assignSnapshotId).
		meta.MinSequenceNumber, meta.MaxSequenceNumber = 0, 0
	}
	r.done = append(r.done, meta)
	return nil
}

// finish closes the open file and returns every file written.
func (r *roller) finish(ctx context.Context) ([]manifest.DataFileMeta, error) {
	if r.cur != nil {
		if err := r.closeCurrent(ctx); err != nil {
			return r.done, err
		}
	}
	return r.done, nil
}

// abort discards an unfinished file (finished ones stay: they are orphans until committed).
func (r *roller) abort() {
	if r.cur != nil {
		r.cur.out.Abort()
		r.cur = nil
	}
}

// PrepareCommit flushes every buffer and returns the files written since the last call,
// one message per bucket.
func (w *Writer) PrepareCommit(ctx context.Context) ([]CommitMessage, error) {
	var keys []string
	for k := range w.buckets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if w.compactsOnCommit() {
		if err := w.syncFiles(ctx); err != nil {
			return nil, err
		}
	}
	w.commits++
	full := false
	if n := w.fullCompactionEvery(); w.pk && n > 0 {
		full = w.commits%n == 0
	}
	var msgs []CommitMessage
	for _, k := range keys {
		bw := w.buckets[k]
		if err := w.flush(ctx, bw); err != nil {
			return nil, err
		}
		bw.touched = bw.touched || len(bw.newFiles) > 0
		if len(bw.newFiles)+len(bw.changelogFiles) == 0 && (bw.bg == nil || !bw.bg.finished()) && !(full && bw.touched) {
			continue
		}
		msg := CommitMessage{Partition: bw.partition, Bucket: bw.bucket, TotalBuckets: w.totalBuckets(bw.partition), NewFiles: bw.newFiles, ChangelogFiles: bw.changelogFiles}
		bw.files = append(bw.files, bw.newFiles...)
		bw.newFiles, bw.changelogFiles = nil, nil
		if err := w.compactOnCommit(ctx, bw, &msg, full && bw.touched); err != nil {
			return nil, err
		}
		if !msg.Empty() {
			msgs = append(msgs, msg)
		}
	}
	if w.assigner != nil {
		changes, err := w.assigner.indexChanges(ctx)
		if err != nil {
			return nil, err
		}
		for gk, ch := range changes {
			i := slices.IndexFunc(msgs, func(m CommitMessage) bool { return groupKey(m.Partition, m.Bucket) == gk })
			if i < 0 {
				bw := w.buckets[gk]
				msgs = append(msgs, CommitMessage{Partition: bw.partition, Bucket: bw.bucket, TotalBuckets: w.totalBuckets(bw.partition)})
				i = len(msgs) - 1
			}
			msgs[i].NewIndexFiles = append(msgs[i].NewIndexFiles, *ch[0])
			if ch[1] != nil {
				msgs[i].DeletedIndexFiles = append(msgs[i].DeletedIndexFiles, *ch[1])
			}
		}
	}
	return msgs, nil
}

// Close releases buffered data without writing it and stops background compactions
// (their files stay unreferenced).
func (w *Writer) Close() {
	if w.bgCancel != nil {
		w.bgCancel()
		w.bgWG.Wait()
		// Files of compactions no commit took are unreferenced: remove them.
		for _, bw := range w.buckets {
			w.discardCompaction(bw)
		}
	}
	for _, bw := range w.buckets {
		for _, b := range bw.batches {
			b.Release()
		}
		bw.batches = nil
	}
	w.buffered = 0
	releaseDefaults(w.defaults)
	w.defaults = nil
}

func (w *fileFactory) nextFileName(prefix, fileFormat string) string {
	w.fileSeq++
	if w.opts.FileSuffixCompression {
		// The table's file.compression names the file, whatever the level's compression.
		return format.CompressedDataFileName(prefix, w.uuid, w.fileSeq-1, fileFormat, w.opts.FileCompression)
	}
	return format.DataFileName(prefix, w.uuid, w.fileSeq-1, fileFormat)
}

var uuidMu sync.Mutex

// newUUID returns a random RFC 4122 version-4 UUID.
func newUUID() string {
	uuidMu.Lock()
	defer uuidMu.Unlock()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// fileWriter writes one data file and collects its metadata.
type fileWriter struct {
	w         *fileFactory
	name      string
	path      string
	out       fileio.Writer
	counted   *countingWriter
	pw        datafile.FileWriter
	keyStats  *datafile.StatsCollector
	valStats  *datafile.StatsCollector
	nkeys     int
	minKey    []any
	maxKey    []any
	minSeq    int64
	maxSeq    int64
	deletes   int64
	rows      int64
	firstSeen bool
}

type countingWriter struct {
	w fileio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// newFileWriter starts a data file of the given columns (the key-value layout for
// primary-key tables, without the key columns in thin mode) and their statistics modes.
func (w *fileFactory) newFileWriter(ctx context.Context, dir string, fields []types.DataField, modes []datafile.StatsMode, prefix, fileFormat, compression string) (*fileWriter, error) {
	name := w.nextFileName(prefix, fileFormat)
	p := fileio.Join(dir, name)
	out, err := w.t.fio.Create(ctx, p)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: out}
	pw, err := datafile.NewFileWriter(cw, fileFormat, fields, datafile.WriterOptions{Compression: compression, ZstdLevel: w.opts.ZstdLevel,
		NoDictionary: !w.opts.ParquetDictionary, PageSizeBytes: w.opts.ParquetPageSize, Mem: w.mem})
	if err != nil {
		out.Abort()
		return nil, err
	}
	fw := &fileWriter{w: w, name: name, path: p, out: out, counted: cw, pw: pw, nkeys: len(w.keys)}
	valTypes := make([]types.DataType, len(w.schema.Fields))
	for i, f := range w.schema.Fields {
		valTypes[i] = f.Type
	}
	if w.pk {
		kt := make([]types.DataType, len(w.keys))
		for i, k := range w.keys {
			kt[i] = k.Type
		}
		var keyModes []datafile.StatsMode
		if w.thin() {
			// The key's statistics are its value columns' (KeyValueThinDataFileWriterImpl).
			modes = modes[2:]
			for _, i := range w.keyIdx {
				keyModes = append(keyModes, modes[i])
			}
		} else {
			keyModes = modes[:len(w.keys)]
			modes = modes[len(w.keys)+2:] // after _SEQUENCE_NUMBER and _VALUE_KIND
		}
		fw.keyStats = datafile.NewStatsCollector(kt, keyModes)
	}
	fw.valStats = datafile.NewStatsCollector(valTypes, modes)
	return fw, nil
}

// write appends a batch in file layout; seqs and kinds are its sequence and kind columns
// (for append tables they come from the buffer, not the file).
func (fw *fileWriter) write(rec arrow.RecordBatch, seqs *array.Int64, kinds *array.Int8) error {
	out := rec
	if fw.w.thin() { // the file has no key columns; batches come in the key-value layout
		out = array.NewRecordBatch(fw.pw.Schema(), rec.Columns()[fw.nkeys:], rec.NumRows())
		defer out.Release()
	}
	if err := fw.pw.Write(out); err != nil {
		return fmt.Errorf("data file %s: %w", fw.path, err)
	}
	n := int(rec.NumRows())
	cols := rec.Columns()
	if fw.w.pk {
		fw.keyStats.Update(cols[:fw.nkeys])
		fw.valStats.Update(cols[fw.nkeys+2:])
		for i := 0; i < n; i++ {
			if datafile.IsRetract(kinds.Value(i)) {
				fw.deletes++
			}
		}
		last := make([]any, fw.nkeys)
		for k := 0; k < fw.nkeys; k++ {
			last[k] = datafile.Value(cols[k], n-1)
		}
		if !fw.firstSeen {
			fw.minKey = make([]any, fw.nkeys)
			for k := 0; k < fw.nkeys; k++ {
				fw.minKey[k] = datafile.Value(cols[k], 0)
			}
		}
		fw.maxKey = last
	} else {
		fw.valStats.Update(cols)
	}
	vals := seqs.Int64Values()
	for _, s := range vals {
		if !fw.firstSeen {
			fw.minSeq, fw.maxSeq, fw.firstSeen = s, s, true
			continue
		}
		fw.minSeq = min(fw.minSeq, s)
		fw.maxSeq = max(fw.maxSeq, s)
	}
	fw.firstSeen = true
	fw.rows += int64(n)
	return nil
}

func (fw *fileWriter) close(ctx context.Context) (manifest.DataFileMeta, error) {
	if err := fw.pw.Close(); err != nil {
		fw.out.Abort()
		return manifest.DataFileMeta{}, fmt.Errorf("data file %s: %w", fw.path, err)
	}
	if err := fw.out.Close(); err != nil {
		return manifest.DataFileMeta{}, fmt.Errorf("data file %s: %w", fw.path, err)
	}
	w := fw.w
	meta := manifest.DataFileMeta{
		FileName:          fw.name,
		FileSize:          fw.counted.n,
		RowCount:          fw.rows,
		MinSequenceNumber: fw.minSeq,
		MaxSequenceNumber: fw.maxSeq,
		SchemaID:          w.schema.ID,
		Level:             0,
		ExtraFiles:        []string{},
		CreationTime:      ptrTo(manifest.LocalMillis(time.Now())),
		DeleteRowCount:    ptrTo(fw.deletes),
		FileSource:        ptrTo(manifest.FileSourceAppend),
	}
	var err error
	if meta.ValueStats, meta.ValueStatsCols, err = valueStats(w.schema.Fields, fw.valStats.Result(), w.opts.Stats.Dense); err != nil {
		return meta, err
	}
	if w.pk {
		if meta.KeyStats, err = simpleStats(w.keys, fw.keyStats.Result()); err != nil {
			return meta, err
		}
		lo, err := binaryrow.Encode(w.keys, fw.minKey)
		if err != nil {
			return meta, err
		}
		hi, err := binaryrow.Encode(w.keys, fw.maxKey)
		if err != nil {
			return meta, err
		}
		meta.MinKey, meta.MaxKey = lo.Serialize(), hi.Serialize()
	} else {
		empty := binaryrow.Empty.Serialize()
		meta.MinKey, meta.MaxKey = empty, empty
		meta.KeyStats = manifest.SimpleStats{MinValues: empty, MaxValues: empty, NullCounts: []*int64{}}
	}
	return meta, nil
}

func ptrTo[T any](v T) *T { return &v }

// valueStats encodes a data file's value statistics (SimpleStatsConverter.toBinary): with
// dense, columns without statistics are left out and the columns kept are named (nil:
// all of them).
func valueStats(fields []types.DataField, cs []datafile.ColStats, dense bool) (manifest.SimpleStats, []string, error) {
	if !dense {
		st, err := simpleStats(fields, cs)
		return st, nil, err
	}
	kept := make([]types.DataField, 0, len(fields))
	keptStats := make([]datafile.ColStats, 0, len(cs))
	for i, c := range cs {
		if !c.None {
			kept = append(kept, fields[i])
			keptStats = append(keptStats, c)
		}
	}
	st, err := simpleStats(kept, keptStats)
	if err != nil || len(kept) == len(fields) {
		return st, nil, err
	}
	names := make([]string, len(kept))
	for i, f := range kept {
		names[i] = f.Name
	}
	return st, names, nil
}

// simpleStats encodes column statistics as Paimon's SimpleStats, with every column
// (toBinaryAllMode): a column without statistics has null bounds and null count.
func simpleStats(fields []types.DataField, cs []datafile.ColStats) (manifest.SimpleStats, error) {
	mins := make([]any, len(cs))
	maxs := make([]any, len(cs))
	nulls := make([]*int64, len(cs))
	for i, c := range cs {
		mins[i], maxs[i] = c.Min, c.Max
		if !c.None {
			nulls[i] = ptrTo(c.NullCount)
		}
	}
	lo, err := binaryrow.Encode(fields, mins)
	if err != nil {
		return manifest.SimpleStats{}, fmt.Errorf("min stats: %w", err)
	}
	hi, err := binaryrow.Encode(fields, maxs)
	if err != nil {
		return manifest.SimpleStats{}, fmt.Errorf("max stats: %w", err)
	}
	return manifest.SimpleStats{MinValues: lo.Serialize(), MaxValues: hi.Serialize(), NullCounts: nulls}, nil
}

// rowKindFilter is Paimon's RowKindFilter (TableWriteImpl): with ignore-delete (or its
// fallback keys first-row.ignore-delete, deduplicate.ignore-delete and
// partial-update.ignore-delete) -D and -U rows are dropped before they are written, with
// ignore-update-before -U rows; they reach neither the data files nor the input changelog.
// With rowkind.field, a string column gives each row's kind instead of the input's
// (RowKindGenerator).
type rowKindFilter struct {
	dropDeletes, dropUpdateBefore bool
	field                         int // the rowkind.field column, or -1
}

// RowKindField is the index of the column option rowkind.field names, or -1 without it;
// the column must exist and be a string (Paimon's RowKindGenerator).
func RowKindField(o format.Options, fields []types.DataField) (int, error) {
	name, ok := o.Get("rowkind.field")
	if !ok {
		return -1, nil
	}
	i := types.FieldByName(fields, name)
	if i < 0 {
		return -1, fmt.Errorf("option rowkind.field: %q is not a column", name)
	}
	if r := fields[i].Type.Root; r != types.Char && r != types.VarChar {
		return -1, fmt.Errorf("option rowkind.field: column %s is %s; the row kind column must be a string", name, fields[i].Type)
	}
	return i, nil
}

// kindsOf reads each row's kind from the rowkind.field column: +I, -U, +U or -D.
func (f rowKindFilter) kindsOf(cols []arrow.Array, n int) ([]int8, error) {
	col, ok := cols[f.field].(interface {
		IsNull(int) bool
		Value(int) string
	})
	if !ok {
		return nil, fmt.Errorf("rowkind.field column is %s, not a string", cols[f.field].DataType())
	}
	kinds := make([]int8, n)
	for i := range kinds {
		if col.IsNull(i) {
			return nil, fmt.Errorf("row %d: its row kind (column of option rowkind.field) is null", i)
		}
		k, ok := datafile.ParseKind(col.Value(i))
		if !ok {
			return nil, fmt.Errorf("row %d: %q in the row kind column (option rowkind.field) is not a row kind: want +I, -U, +U or -D", i, col.Value(i))
		}
		kinds[i] = k
	}
	return kinds, nil
}

func parseRowKindFilter(o format.Options, fields []types.DataField) (rowKindFilter, error) {
	f := rowKindFilter{field: -1}
	var err error
	if f.field, err = RowKindField(o, fields); err != nil {
		return f, err
	}
	if _, v, ok := o.Lookup("ignore-delete"); ok {
		f.dropDeletes, _ = strconv.ParseBool(strings.TrimSpace(v))
	}
	if v, ok := o.Get("ignore-update-before"); ok {
		f.dropUpdateBefore, _ = strconv.ParseBool(strings.TrimSpace(v))
	}
	return f, nil
}

func (f rowKindFilter) keep(kind int8) bool {
	switch kind {
	case datafile.KindDelete:
		return !f.dropDeletes
	case datafile.KindUpdateBefore:
		return !f.dropDeletes && !f.dropUpdateBefore
	}
	return true
}

// apply drops the rows the filter ignores, releasing cols when it replaces them.
func (f rowKindFilter) apply(ctx context.Context, mem memory.Allocator, cols []arrow.Array, kinds []int8) ([]arrow.Array, []int8, int, error) {
	var keep []int8
	mask := array.NewBooleanBuilder(mem)
	defer mask.Release()
	for _, k := range kinds {
		mask.Append(f.keep(k))
		if f.keep(k) {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(kinds) {
		return cols, kinds, len(kinds), nil
	}
	m := mask.NewBooleanArray()
	defer m.Release()
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		d, err := compute.FilterArray(ctx, c, m, *compute.DefaultFilterOptions())
		if err != nil {
			for _, o := range out[:i] {
				o.Release()
			}
			return nil, nil, 0, err
		}
		out[i] = d
	}
	for i, c := range cols {
		c.Release()
		cols[i] = out[i]
	}
	return cols, keep, len(keep), nil
}

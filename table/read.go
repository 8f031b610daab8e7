package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/deletionvector"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/merge"
)

// RowFilter filters rows of batches; package predicate implements it.
type RowFilter interface {
	// Columns are the column names the filter reads.
	Columns() []string
	// Apply returns the rows of b that match (b itself, retained, when all do).
	Apply(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error)
}

// ReadOptions choose the columns and rows a reader yields.
type ReadOptions struct {
	// Columns to output, by name, in order; nil means all columns of the plan's schema.
	Columns   []string
	Filter    RowFilter
	BatchSize int
	Mem       memory.Allocator

	// rowGroups, set by ReadSplit when the filter can prune, skips Parquet row groups
	// whose statistics rule out a match; only reads without a merge use it.
	rowGroups datafile.RowGroupFilter
}

// OutputFields resolves the projected fields of a plan's schema.
func OutputFields(schema *format.TableSchema, columns []string) ([]types.DataField, error) {
	if columns == nil {
		return schema.Fields, nil
	}
	out := make([]types.DataField, 0, len(columns))
	for _, c := range columns {
		f, ok := schema.Field(c)
		if !ok {
			return nil, fmt.Errorf("no column %q in table (columns: %s)", c, strings.Join(fieldNames(schema.Fields), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

func fieldNames(fs []types.DataField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// ReadSplit reads one split of a plan: plain reads for append-only tables and for
// deletion-vector tables, merge-on-read of the sorted runs otherwise.
func (t *Table) ReadSplit(ctx context.Context, plan *Plan, split *Split, o ReadOptions) (datafile.BatchReader, error) {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	out, err := OutputFields(plan.Schema, o.Columns)
	if err != nil {
		return nil, err
	}
	read := out
	if o.Filter != nil {
		for _, c := range o.Filter.Columns() {
			if types.FieldByName(read, c) < 0 {
				f, ok := plan.Schema.Field(c)
				if !ok {
					return nil, fmt.Errorf("filter column %q is not in the table", c)
				}
				read = append(slices.Clip(read), f)
			}
		}
	}
	schema := plan.Schema
	opts := ParseCoreOptions(schema.Options)
	if pf, ok := o.Filter.(Filter); ok {
		o.rowGroups = rowGroupFilter(pf, read, o.Filter.Columns())
	}
	var r datafile.BatchReader
	if len(schema.PrimaryKeys) == 0 {
		r = &chain{next: filesReaders(t, split, split.Files, read, o, false)}
	} else {
		r, err = t.readPrimaryKeySplit(ctx, schema, opts, split, read, o)
		if err != nil {
			return nil, err
		}
	}
	if o.Filter != nil || len(read) != len(out) {
		return &filterProject{in: r, filter: o.Filter, n: len(out), mem: o.Mem}, nil
	}
	return r, nil
}

// readPrimaryKeySplit builds the merge of a primary-key split.
func (t *Table) readPrimaryKeySplit(ctx context.Context, schema *format.TableSchema, opts CoreOptions, split *Split, read []types.DataField, o ReadOptions) (datafile.BatchReader, error) {
	engine, err := merge.NewEngine(schema.Fields, schema.PrimaryKeys, schema.Options)
	if err != nil {
		return nil, err
	}
	if opts.DeletionVectors || opts.MergeEngine == "first-row" {
		// Level 0 was excluded at planning; every other file holds each key once.
		return &chain{next: filesReaders(t, split, split.Files, read, o, true)}, nil
	}
	keys := schema.KeyFields()
	// The merge also reads the fields the engine orders by (sequence fields).
	kvRead := read
	for _, name := range merge.ExtraFields(engine, fieldNames(read)) {
		f, _ := schema.Field(name)
		kvRead = append(slices.Clip(kvRead), f)
	}
	kv := datafile.KeyValueFields(keys, kvRead)
	outSchema, err := types.ArrowSchema(read)
	if err != nil {
		return nil, err
	}
	sections, err := partitionSections(split.Files, keys)
	if err != nil {
		return nil, err
	}
	outCols := make([]int, len(read))
	for i := range read {
		outCols[i] = len(keys) + 2 + i
	}
	// A filter of primary-key columns alone matches every record of a key or none, so
	// the merge's inputs are filtered (on their key columns) before merging: keys that
	// cannot match are neither merged nor gathered. (The merged rows are filtered again,
	// as every read's are.) Only the trimmed key is in the files: a filter that also
	// names a partition column is left to the merged rows.
	rawReaders := func(run []manifest.DataFileMeta, o ReadOptions) []func(context.Context) (datafile.BatchReader, error) {
		return filesReadersRaw(t, split, run, kv, o)
	}
	if o.Filter != nil && onlyColumns(o.Filter.Columns(), schema.TrimmedPrimaryKeys()) {
		rawReaders = func(run []manifest.DataFileMeta, o ReadOptions) []func(context.Context) (datafile.BatchReader, error) {
			open := filesReadersRaw(t, split, run, kv, o)
			for i, f := range open {
				open[i] = func(ctx context.Context) (datafile.BatchReader, error) {
					r, err := f(ctx)
					if err != nil {
						return nil, err
					}
					return newKeyFilter(r, o.Filter, keys), nil
				}
			}
			return open
		}
	}
	var readers []func(context.Context) (datafile.BatchReader, error)
	for _, runs := range sections {
		runs := runs
		if len(runs) == 1 {
			readers = append(readers, filesReaders(t, split, runs[0], read, o, true)...)
			continue
		}
		// The merge holds a batch of every run at once: the more runs, the smaller their
		// batches, down to a compaction's.
		ro := o
		if ro.BatchSize <= 0 {
			ro.BatchSize = max(compactionBatchRows, datafile.DefaultBatchSize/len(runs))
		}
		readers = append(readers, func(context.Context) (datafile.BatchReader, error) {
			inputs := make([]merge.Input, len(runs))
			for i, run := range runs {
				inputs[i] = &chain{next: rawReaders(run, ro)}
			}
			mo := merge.Options{
				KeyCount: len(keys), Engine: engine, Output: outCols, Schema: outSchema,
				BatchSize: o.BatchSize, Mem: o.Mem,
			}
			if opts.lookupMerge() {
				// Only the lowest level above 0 of a key counts (LookupMergeFunction).
				for i, run := range runs {
					inputs[i] = newLeveledFiles(rawReaders(run, ro), run)
				}
				mo.Lookup = &merge.Lookup{}
			}
			return merge.NewSortMerge(inputs, mo), nil
		})
	}
	return &chain{next: readers, schema: outSchema}, nil
}

// keyFilter filters key-value batches by a filter of primary-key columns, evaluated on
// the batches' key columns (_KEY_ fields) under the keys' own names.
type keyFilter struct {
	in     datafile.BatchReader
	filter RowFilter
	view   *arrow.Schema // key columns named as in the table, the others renamed aside
}

func newKeyFilter(in datafile.BatchReader, filter RowFilter, keys []types.DataField) *keyFilter {
	fs := slices.Clone(in.Schema().Fields())
	for i := range fs {
		if i < len(keys) {
			fs[i].Name = keys[i].Name
		} else {
			fs[i].Name = "\x00" + fs[i].Name
		}
	}
	return &keyFilter{in: in, filter: filter, view: arrow.NewSchema(fs, nil)}
}

func (k *keyFilter) Schema() *arrow.Schema { return k.in.Schema() }

func (k *keyFilter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := k.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		v := array.NewRecordBatch(k.view, b.Columns(), b.NumRows())
		fb, err := k.filter.Apply(ctx, v)
		v.Release()
		if err != nil {
			b.Release()
			return nil, err
		}
		n := fb.NumRows()
		if n == b.NumRows() {
			fb.Release()
			return b, nil
		}
		b.Release()
		if n == 0 {
			fb.Release()
			continue
		}
		out := array.NewRecordBatch(k.in.Schema(), fb.Columns(), n)
		fb.Release()
		return out, nil
	}
}

func (k *keyFilter) Close() error { return k.in.Close() }

// onlyColumns reports whether every name in cols is one of allowed.
func onlyColumns(cols, allowed []string) bool {
	for _, c := range cols {
		if !slices.Contains(allowed, c) {
			return false
		}
	}
	return len(cols) > 0
}

// filesReaders reads files one after another; for key-value files (kv) rows that retract
// (-U, -D) are dropped.
func filesReaders(t *Table, split *Split, files []manifest.DataFileMeta, fields []types.DataField, o ReadOptions, kv bool) []func(context.Context) (datafile.BatchReader, error) {
	out := make([]func(context.Context) (datafile.BatchReader, error), len(files))
	for i := range files {
		f := &files[i]
		out[i] = func(ctx context.Context) (datafile.BatchReader, error) {
			read := fields
			dropRetract := kv && (f.DeleteRowCount == nil || *f.DeleteRowCount > 0)
			if dropRetract {
				read = append(slices.Clip(fields), datafile.ValueKindField())
			}
			r, err := t.openDataFile(ctx, split, f, read, o)
			if err != nil {
				return nil, err
			}
			if dropRetract {
				return &dropRetractRows{in: r, n: len(fields), mem: o.Mem}, nil
			}
			return r, nil
		}
	}
	return out
}

// rowGroupFilter adapts a file-statistics filter to Parquet row groups: the statistics of
// the filter's columns in a row group are handed to the filter as a file's would be.
func rowGroupFilter(f Filter, fields []types.DataField, columns []string) datafile.RowGroupFilter {
	var cols []types.DataField
	for _, c := range columns {
		if i := types.FieldByName(fields, c); i >= 0 {
			cols = append(cols, fields[i])
		}
	}
	if len(cols) == 0 {
		return nil
	}
	return func(rows int64, stats func(types.DataField) (datafile.RowGroupStat, bool)) bool {
		fs := &FileStats{RowCount: rows, Min: map[string]any{}, Max: map[string]any{}, NullCounts: map[string]int64{}}
		for _, c := range cols {
			st, ok := stats(c)
			if !ok {
				continue
			}
			fs.Min[c.Name], fs.Max[c.Name], fs.NullCounts[c.Name] = st.Min, st.Max, st.NullCount
		}
		return f.KeepFile(fs)
	}
}

// filesReadersRaw reads files with exactly the given (key-value) fields.
func filesReadersRaw(t *Table, split *Split, files []manifest.DataFileMeta, fields []types.DataField, o ReadOptions) []func(context.Context) (datafile.BatchReader, error) {
	o.rowGroups = nil // merge inputs must keep every version of a key
	out := make([]func(context.Context) (datafile.BatchReader, error), len(files))
	for i := range files {
		f := &files[i]
		out[i] = func(ctx context.Context) (datafile.BatchReader, error) {
			return t.openDataFile(ctx, split, f, fields, o)
		}
	}
	return out
}

// openDataFile opens a data file for reading the given fields, applying its deletion
// vector if it has one.
func (t *Table) openDataFile(ctx context.Context, split *Split, f *manifest.DataFileMeta, fields []types.DataField, o ReadOptions) (datafile.BatchReader, error) {
	p := split.DataFilePath(f)
	ff, ok := datafile.FormatOf(f.FileName)
	if !ok {
		return nil, fmt.Errorf("data file %s: format %q is not supported (Tarn reads parquet, orc and avro)", p, strings.TrimPrefix(path.Ext(f.FileName), "."))
	}
	oo := datafile.OpenOptions{Mem: o.Mem}
	if ff != datafile.FormatParquet {
		// Avro files name fields without ids: match them by the names of the file's schema.
		if s, err := t.Schema(ctx, f.SchemaID); err == nil {
			oo.FileFields = s.Fields
		}
	}
	file, err := t.fio.Open(ctx, p)
	if err != nil {
		if errors.Is(err, fileio.ErrNotExist) {
			return nil, fmt.Errorf("data file %s listed in the manifests is missing: %w", p, err)
		}
		return nil, err
	}
	pf, err := datafile.OpenDataFile(file, p, ff, oo)
	if err != nil {
		file.Close()
		return nil, err
	}
	if pf.NumRows() != f.RowCount {
		pf.Close()
		return nil, fmt.Errorf("data file %s has %d rows, its manifest entry says %d", p, pf.NumRows(), f.RowCount)
	}
	// Closing the data file closes file too.
	_, hasDV := split.DeletionFiles[f.FileName]
	var r datafile.BatchReader
	if sel, ok := pf.(datafile.RowGroupReader); ok && o.rowGroups != nil && !hasDV {
		// Row positions shift when row groups are skipped, so files with deletion
		// vectors are read whole.
		r, err = sel.ReadSelected(ctx, fields, o.rowGroups, o.BatchSize)
	} else {
		r, err = pf.ReadFields(ctx, fields, o.BatchSize)
	}
	if err != nil {
		pf.Close()
		return nil, err
	}
	var dv *deletionvector.Vector
	if df, ok := split.DeletionFiles[f.FileName]; ok {
		dv, err = t.readDeletionVector(ctx, df)
		if err != nil {
			r.Close()
			pf.Close()
			return nil, fmt.Errorf("deletion vector of %s: %w", p, err)
		}
	}
	fr := &fileReader{r: r, closers: []io.Closer{pf}}
	if dv != nil && dv.Cardinality() > 0 {
		return applyDeletions(fr, dv, o.Mem), nil
	}
	return fr, nil
}

func (t *Table) readDeletionVector(ctx context.Context, df DeletionFile) (*deletionvector.Vector, error) {
	f, err := t.fio.Open(ctx, df.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var version [1]byte
	if _, err := f.ReadAt(version[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", df.Path, err)
	}
	if version[0] != deletionvector.IndexFileVersion {
		return nil, fmt.Errorf("%s: unknown index file version %d", df.Path, version[0])
	}
	// The recorded length of a 32-bit vector excludes its size and checksum fields.
	n := df.Length + 8
	if df.Offset+n > f.Size() {
		n = f.Size() - df.Offset
	}
	if n < 8 || df.Offset < 1 {
		return nil, fmt.Errorf("%s: vector at %d+%d outside the file", df.Path, df.Offset, df.Length)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, df.Offset); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", df.Path, err)
	}
	v, err := deletionvector.Decode(buf, df.Length)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", df.Path, err)
	}
	return v, nil
}

type fileReader struct {
	r       datafile.BatchReader
	closers []io.Closer
}

func (f *fileReader) Schema() *arrow.Schema { return f.r.Schema() }
func (f *fileReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	return f.r.Next(ctx)
}
func (f *fileReader) Close() error {
	err := f.r.Close()
	for _, c := range f.closers {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// chain reads readers one after another, opening each lazily.
type chain struct {
	next   []func(context.Context) (datafile.BatchReader, error)
	cur    datafile.BatchReader
	schema *arrow.Schema
}

func (c *chain) Schema() *arrow.Schema {
	if c.schema == nil && c.cur != nil {
		return c.cur.Schema()
	}
	return c.schema
}

func (c *chain) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if c.cur == nil {
			if len(c.next) == 0 {
				return nil, io.EOF
			}
			r, err := c.next[0](ctx)
			if err != nil {
				return nil, err
			}
			c.next = c.next[1:]
			c.cur = r
			if c.schema == nil {
				c.schema = r.Schema()
			}
		}
		b, err := c.cur.Next(ctx)
		if errors.Is(err, io.EOF) {
			err = c.cur.Close()
			c.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		return b, err
	}
}

func (c *chain) Close() error {
	c.next = nil
	if c.cur != nil {
		err := c.cur.Close()
		c.cur = nil
		return err
	}
	return nil
}

// dropRetractRows drops rows whose last column (_VALUE_KIND) retracts, and that column.
type dropRetractRows struct {
	in  datafile.BatchReader
	n   int
	mem memory.Allocator
}

func (d *dropRetractRows) Schema() *arrow.Schema {
	fs := d.in.Schema().Fields()[:d.n]
	return arrow.NewSchema(fs, nil)
}

func (d *dropRetractRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := d.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		kinds := b.Column(d.n).(*array.Int8)
		keep := array.NewBooleanBuilder(d.mem)
		drop := 0
		for i := 0; i < kinds.Len(); i++ {
			r := datafile.IsRetract(kinds.Value(i))
			if r {
				drop++
			}
			keep.Append(!r)
		}
		mask := keep.NewBooleanArray()
		keep.Release()
		projected := projectBatch(b, d.n)
		b.Release()
		if drop == 0 {
			mask.Release()
			return projected, nil
		}
		out, err := filterBatch(ctx, projected, mask)
		mask.Release()
		projected.Release()
		if err != nil {
			return nil, err
		}
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		return out, nil
	}
}

func (d *dropRetractRows) Close() error { return d.in.Close() }

// maskFilter drops the rows of each batch that keep marks false; keep returns nil to keep
// a batch whole. Batches left empty are skipped.
type maskFilter struct {
	in   datafile.BatchReader
	keep func(b arrow.RecordBatch) *array.Boolean
}

func (m *maskFilter) Schema() *arrow.Schema { return m.in.Schema() }

func (m *maskFilter) Close() error { return m.in.Close() }

func (m *maskFilter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := m.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		mask := m.keep(b)
		if mask == nil {
			return b, nil
		}
		out, err := filterBatch(ctx, b, mask)
		mask.Release()
		b.Release()
		if err != nil {
			return nil, err
		}
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		return out, nil
	}
}

// applyDeletions drops the rows a deletion vector marks, by their position in the file.
func applyDeletions(in datafile.BatchReader, dv *deletionvector.Vector, mem memory.Allocator) datafile.BatchReader {
	var pos int64
	return &maskFilter{in: in, keep: func(b arrow.RecordBatch) *array.Boolean {
		n := int(b.NumRows())
		keep := array.NewBooleanBuilder(mem)
		defer keep.Release()
		keep.Reserve(n)
		for i := 0; i < n; i++ {
			keep.UnsafeAppend(!dv.IsDeleted(pos + int64(i)))
		}
		pos += int64(n)
		return keep.NewBooleanArray()
	}}
}

// filterProject applies a row filter, then keeps the first n columns.
type filterProject struct {
	in     datafile.BatchReader
	filter RowFilter
	n      int
	mem    memory.Allocator
}

func (f *filterProject) Schema() *arrow.Schema {
	return arrow.NewSchema(f.in.Schema().Fields()[:f.n], nil)
}

func (f *filterProject) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := f.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if f.filter != nil {
			fb, err := f.filter.Apply(ctx, b)
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
		out := projectBatch(b, f.n)
		b.Release()
		return out, nil
	}
}

func (f *filterProject) Close() error { return f.in.Close() }

func projectBatch(b arrow.RecordBatch, n int) arrow.RecordBatch {
	if int(b.NumCols()) == n {
		b.Retain()
		return b
	}
	cols := b.Columns()[:n]
	return array.NewRecordBatch(arrow.NewSchema(b.Schema().Fields()[:n], nil), cols, b.NumRows())
}

func filterBatch(ctx context.Context, b arrow.RecordBatch, mask *array.Boolean) (arrow.RecordBatch, error) {
	return compute.FilterRecordBatch(ctx, b, mask, compute.DefaultFilterOptions())
}

// newKeyEncoder returns a function that turns a serialized key BinaryRow into the
// order-preserving bytes the merge compares keys by.
func newKeyEncoder(keys []types.DataField) (func([]byte) ([]byte, error), error) {
	arrowTypes := make([]arrow.DataType, len(keys))
	for i, k := range keys {
		at, err := types.ToArrow(k.Type)
		if err != nil {
			return nil, err
		}
		arrowTypes[i] = at
	}
	return func(b []byte) ([]byte, error) {
		row, err := binaryrow.Deserialize(b)
		if err != nil {
			return nil, err
		}
		vals, err := row.Values(keys)
		if err != nil {
			return nil, err
		}
		var out []byte
		for i, v := range vals {
			if out, err = merge.AppendValueKey(out, v, arrowTypes[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}, nil
}

// partitionSections groups a bucket's files into sections of overlapping key ranges, each
// a list of sorted runs (Paimon's IntervalPartition).
func partitionSections(files []manifest.DataFileMeta, keys []types.DataField) ([][][]manifest.DataFileMeta, error) {
	type ranged struct {
		f        manifest.DataFileMeta
		min, max []byte
	}
	encode, err := newKeyEncoder(keys)
	if err != nil {
		return nil, err
	}
	rs := make([]ranged, len(files))
	for i, f := range files {
		lo, err := encode(f.MinKey)
		if err != nil {
			return nil, fmt.Errorf("min key of %s: %w", f.FileName, err)
		}
		hi, err := encode(f.MaxKey)
		if err != nil {
			return nil, fmt.Errorf("max key of %s: %w", f.FileName, err)
		}
		rs[i] = ranged{f, lo, hi}
	}
	slices.SortStableFunc(rs, func(a, b ranged) int {
		if c := compareBytes(a.min, b.min); c != 0 {
			return c
		}
		return compareBytes(a.max, b.max)
	})
	var sections [][][]manifest.DataFileMeta
	var section []ranged
	var bound []byte
	flush := func() {
		// Greedy assignment of files to runs, as IntervalPartition.partition(section).
		type run struct {
			files []manifest.DataFileMeta
			max   []byte
		}
		var runs []*run
		for _, r := range section {
			best := -1
			for i, ru := range runs {
				if compareBytes(r.min, ru.max) > 0 && (best < 0 || compareBytes(ru.max, runs[best].max) < 0) {
					best = i
				}
			}
			if best >= 0 {
				runs[best].files = append(runs[best].files, r.f)
				runs[best].max = r.max
			} else {
				runs = append(runs, &run{files: []manifest.DataFileMeta{r.f}, max: r.max})
			}
		}
		out := make([][]manifest.DataFileMeta, len(runs))
		for i, ru := range runs {
			out[i] = ru.files
		}
		sections = append(sections, out)
	}
	for _, r := range rs {
		if len(section) > 0 && compareBytes(r.min, bound) > 0 {
			flush()
			section, bound = nil, nil
		}
		section = append(section, r)
		if bound == nil || compareBytes(r.max, bound) > 0 {
			bound = r.max
		}
	}
	if len(section) > 0 {
		flush()
	}
	return sections, nil
}

func compareBytes(a, b []byte) int { return strings.Compare(string(a), string(b)) }

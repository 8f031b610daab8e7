package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/deletionvector"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/merge"
)

// Changelog producers lookup and full-compaction (Paimon's LookupMergeTreeCompactRewriter
// and FullChangelogMergeTreeCompactRewriter) write changelog files while compacting:
//   - lookup: a compaction that merges level-0 files upward (every commit of a lookup
//     table ends with one, see lookup.go) writes, for each key of the level-0 data, the
//     change from the key's older value (its record of the lowest level above 0, inside
//     the compaction or looked up above its output) to the merged result: +I for a new
//     key, -U/+U for a changed one, -D for a deleted one;
//   - full-compaction: a compaction to the top level (a full compaction) writes the
//     difference between the previous top level and the new one.
// The files ("changelog-" prefix, the key-value layout, the compaction's output level)
// are listed by the COMPACT snapshot of the compaction, where streaming reads find them.

// changelogConfig holds the options of changelog production and lookup compaction that
// CoreOptions does not.
type changelogConfig struct {
	rowDeduplicate bool     // changelog-producer.row-deduplicate
	ignoreFields   []string // changelog-producer.row-deduplicate-ignore-fields
	deltaCommits   int      // full-compaction.delta-commits; 0 when unset
	forceLookup    bool     // force-lookup
	writeOnly      bool     // write-only: writers never compact (dedicated compaction jobs do)
}

func parseChangelogConfig(o format.Options) changelogConfig {
	var c changelogConfig
	if v, ok := o.Get("changelog-producer.row-deduplicate"); ok {
		c.rowDeduplicate, _ = strconv.ParseBool(strings.TrimSpace(v))
	}
	if v, ok := o.Get("changelog-producer.row-deduplicate-ignore-fields"); ok && strings.TrimSpace(v) != "" {
		for _, f := range strings.Split(v, ",") {
			c.ignoreFields = append(c.ignoreFields, strings.TrimSpace(f))
		}
	}
	if v, ok := o.Get("full-compaction.delta-commits"); ok {
		c.deltaCommits, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	if v, ok := o.Get("force-lookup"); ok {
		c.forceLookup, _ = strconv.ParseBool(strings.TrimSpace(v))
	}
	if _, v, ok := o.Lookup("write-only"); ok {
		c.writeOnly, _ = strconv.ParseBool(strings.TrimSpace(v))
	}
	return c
}

// fullCompactionEvery is how many writer commits a full compaction follows (Paimon's
// Flink writers: full-compaction.delta-commits, 1 by default with changelog-producer
// full-compaction); 0 for none, and with write-only.
func (f *fileFactory) fullCompactionEvery() int {
	c := parseChangelogConfig(f.schema.Options)
	switch {
	case c.writeOnly:
		return 0
	case c.deltaCommits > 0:
		return c.deltaCommits
	case f.opts.ChangelogProducer == "full-compaction":
		return 1
	}
	return 0
}

// compactRewriter rewrites the sections of a compaction unit of one bucket as the
// table's Paimon rewriter does: plainly (MergeTreeCompactRewriter), with lookups
// (LookupMergeTreeCompactRewriter: lookup tables, see lookup.go) or producing the
// changelog of full compactions (FullChangelogMergeTreeCompactRewriter).
type compactRewriter struct {
	t        *Table
	f        *fileFactory
	split    *Split // partition, bucket and directory; no deletion files (dvs holds them)
	engine   merge.Engine
	maxLevel int
	dvs      *bucketDVs // the bucket's deletion vectors (nil: none)
	cfg      changelogConfig
	lookup   bool // a lookup table
	full     bool // changelog-producer full-compaction
	produce  bool // lookup compactions write a changelog (changelog-producer lookup)
	firstRow bool
	// above are the live files of levels above the unit's output level, read for
	// lookups; index is their keys' positions, built on first use.
	above []manifest.DataFileMeta
	index map[string]keyPos
}

func newCompactRewriter(t *Table, f *fileFactory, split *Split, engine merge.Engine, maxLevel int, dvs *bucketDVs) *compactRewriter {
	cfg := parseChangelogConfig(f.schema.Options)
	r := &compactRewriter{
		t: t, f: f, split: &Split{Partition: split.Partition, PartitionValues: split.PartitionValues, Bucket: split.Bucket, TotalBuckets: split.TotalBuckets, BucketPath: split.BucketPath},
		engine: engine, maxLevel: maxLevel, dvs: dvs, cfg: cfg,
		lookup: f.opts.lookupMode(), firstRow: f.opts.MergeEngine == "first-row",
	}
	switch f.opts.ChangelogProducer {
	case "full-compaction":
		r.full = true
	case "lookup":
		r.produce = true
	}
	return r
}

// rewriteResult is what rewriting sections or upgrading a file produced.
type rewriteResult struct {
	before, after, changelog []manifest.DataFileMeta
}

func (r *rewriteResult) add(o rewriteResult) {
	r.before = append(r.before, o.before...)
	r.after = append(r.after, o.after...)
	r.changelog = append(r.changelog, o.changelog...)
}

// mergeMode says how sections are merged.
type mergeMode struct {
	lookupRewrite bool // merge level-0 data with looked-up older values
	changelog     bool // write a changelog (lookup or full, by the rewriter)
	write         bool // write the merged result (else the files are moved unchanged)
}

// rewrite is CompactRewriter.rewrite: the sections (disjoint, in key order) merged into
// files of level.
func (r *compactRewriter) rewrite(ctx context.Context, level int, dropDelete bool, sections [][][]manifest.DataFileMeta) (rewriteResult, error) {
	switch {
	case r.full && level == r.maxLevel:
		return r.merge(ctx, sections, level, dropDelete, mergeMode{changelog: true, write: true})
	case r.lookup && level != 0 && hasLevel0(sections):
		return r.merge(ctx, sections, level, dropDelete, mergeMode{lookupRewrite: true, changelog: r.produce, write: true})
	}
	return r.merge(ctx, sections, level, dropDelete, mergeMode{write: true})
}

// upgrade is CompactRewriter.upgrade: a file moved to level, read through the changelog
// merge when the rewriter needs its records (UpgradeStrategy).
func (r *compactRewriter) upgrade(ctx context.Context, level int, file manifest.DataFileMeta) (rewriteResult, error) {
	moved := file
	moved.Level = int32(level)
	plain := rewriteResult{before: []manifest.DataFileMeta{file}, after: []manifest.DataFileMeta{moved}}
	single := [][][]manifest.DataFileMeta{{{file}}}
	switch {
	case r.full:
		if level != r.maxLevel {
			return plain, nil
		}
		return r.merge(ctx, single, level, false, mergeMode{changelog: true})
	case r.lookup:
		if file.Level != 0 {
			return plain, nil
		}
		mode := mergeMode{lookupRewrite: true, changelog: r.produce}
		hasDeletes := file.DeleteRowCount == nil || *file.DeleteRowCount > 0
		dedupNoSeq := r.f.opts.MergeEngine == "deduplicate" && len(r.f.opts.SequenceField) == 0
		from, _ := r.f.opts.fileFormat(int(file.Level), false)
		to, _ := r.f.opts.fileFormat(level, false)
		mode.write = from != to || (r.dvs != nil && hasDeletes) || (level != r.maxLevel && !dedupNoSeq)
		if !mode.write && !mode.changelog && r.dvs == nil {
			return plain, nil // nothing to look up: the file is the result
		}
		return r.merge(ctx, single, level, r.dvs != nil, mode)
	}
	return plain, nil
}

func hasLevel0(sections [][][]manifest.DataFileMeta) bool {
	for _, runs := range sections {
		for _, run := range runs {
			for _, f := range run {
				if f.Level == 0 {
					return true
				}
			}
		}
	}
	return false
}

// needValues reports whether lookups need the older values (Paimon's
// PersistValueProcessor) rather than only positions or existence: to produce a
// changelog, and with deletion vectors to merge them into the new records unless the
// table deduplicates by sequence number.
func (r *compactRewriter) needValues() bool {
	if r.firstRow {
		return false
	}
	dedupNoSeq := r.f.opts.MergeEngine == "deduplicate" && len(r.f.opts.SequenceField) == 0
	return r.produce || (r.dvs != nil && !dedupNoSeq)
}

// merge merges each section's runs (with lookups for a lookup rewrite) and writes the
// results at level (mode.write) and the changelog (mode.changelog).
func (r *compactRewriter) merge(ctx context.Context, sections [][][]manifest.DataFileMeta, level int, dropDelete bool, mode mergeMode) (res rewriteResult, err error) {
	f := r.f
	kv := datafile.KeyValueFields(f.keys, f.schema.Fields)
	schema, err := types.ArrowSchema(kv)
	if err != nil {
		return res, err
	}
	nk := len(f.keys)
	out := make([]int, len(kv))
	for i := range out {
		out[i] = i
	}
	var roll, clog *roller
	if mode.write {
		roll = f.newRoller(r.split.BucketPath, level, manifest.FileSourceCompact, false)
		defer roll.abort()
	}
	if mode.changelog {
		clog = f.newRoller(r.split.BucketPath, level, manifest.FileSourceAppend, true)
		defer clog.abort()
	}
	var lookup *merge.Lookup
	switch {
	case mode.lookupRewrite:
		lookup = &merge.Lookup{Rewrite: true}
		if r.dvs != nil || r.firstRow {
			if lookup.Find, err = r.finder(ctx); err != nil {
				return res, err
			}
		}
	case r.lookup && !r.firstRow:
		lookup = &merge.Lookup{} // LookupMergeFunction in plain rewrites
	}
	var changelog *merge.Changelog
	if mode.changelog {
		changelog = &merge.Changelog{Full: r.full, MaxLevel: r.maxLevel, Deduplicate: r.cfg.rowDeduplicate, IgnoreFields: r.cfg.ignoreFields}
	}
	writeBatch := func(w *roller, b arrow.RecordBatch) error {
		defer b.Release()
		if w == nil || b.NumRows() == 0 {
			return nil
		}
		return w.write(ctx, b, b.Column(nk).(*array.Int64), b.Column(nk+1).(*array.Int8))
	}
	for _, runs := range sections {
		var inputs []merge.Input
		for _, run := range runs {
			inputs = append(inputs, r.leveled(run, kv))
			res.before = append(res.before, run...)
		}
		if mode.lookupRewrite && r.needValues() {
			// The levels above the output, one run each, for the keys' older values.
			ctxFiles, err := r.aboveInRange(sections, runs)
			if err != nil {
				return res, err
			}
			lookup.Context = make([]bool, len(inputs))
			for _, run := range ctxFiles {
				inputs = append(inputs, r.leveled(run, kv))
				lookup.Context = append(lookup.Context, true)
			}
		}
		m := merge.NewSortMerge(inputs, merge.Options{KeyCount: nk, Engine: r.engine, KeepDeletes: !dropDelete, Output: out, Schema: schema, Mem: f.mem, Lookup: lookup, Changelog: changelog,
			BatchSize: compactionBatchRows})
		for {
			b, err := m.Next(ctx)
			for _, c := range m.TakeChangelog() {
				if werr := writeBatch(clog, c); werr != nil && err == nil {
					err = werr
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				err = writeBatch(roll, b)
			}
			if err != nil {
				m.Close()
				return res, err
			}
		}
		if err := m.Close(); err != nil {
			return res, err
		}
	}
	if roll != nil {
		if res.after, err = roll.finish(ctx); err != nil {
			return res, err
		}
		if r.dvs != nil {
			// Rewritten files took their deletions with them (notifyRewriteCompactBefore).
			for _, b := range res.before {
				if _, ok := r.dvs.vectors[b.FileName]; ok {
					delete(r.dvs.vectors, b.FileName)
					r.dvs.changed = true
				}
			}
		}
	} else {
		for _, b := range res.before {
			moved := b
			moved.Level = int32(level)
			res.after = append(res.after, moved)
		}
	}
	if clog != nil {
		if res.changelog, err = clog.finish(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

// compactionBatchRows is the batch size of a compaction's merge, its inputs and its
// output. A merge holds a batch of every sorted run it merges (and the output's rows
// refer into them), in every bucket compacting at once: the default read batch (64k
// rows) made background compaction of 10 million keys peak above 1 GiB.
const compactionBatchRows = 4096

// leveled reads a run's files (deletion vectors applied, expired records dropped)
// reporting each file's level. fields are the key-value layout's.
func (r *compactRewriter) leveled(files []manifest.DataFileMeta, fields []types.DataField) merge.Input {
	readers := filesReadersDV(r.t, r.split, files, fields, ReadOptions{Mem: r.f.mem, BatchSize: compactionBatchRows}, r.dvs)
	if e := r.f.expiry; e != nil {
		col := len(r.f.keys) + 2 + e.field
		now := time.Now().Unix()
		for i, open := range readers {
			readers[i] = func(ctx context.Context) (datafile.BatchReader, error) {
				in, err := open(ctx)
				if err != nil {
					return nil, err
				}
				return e.expireRecords(in, col, now, r.f.mem), nil
			}
		}
	}
	return newLeveledFiles(readers, files)
}

// aboveInRange returns the runs of the levels above the output holding keys in the key
// range of the given section's runs.
func (r *compactRewriter) aboveInRange(_ [][][]manifest.DataFileMeta, runs [][]manifest.DataFileMeta) ([][]manifest.DataFileMeta, error) {
	if len(r.above) == 0 {
		return nil, nil
	}
	enc, err := newKeyEncoder(r.f.keys)
	if err != nil {
		return nil, err
	}
	var lo, hi []byte
	for _, run := range runs {
		for _, f := range run {
			a, err := enc(f.MinKey)
			if err != nil {
				return nil, err
			}
			b, err := enc(f.MaxKey)
			if err != nil {
				return nil, err
			}
			if lo == nil || compareBytes(a, lo) < 0 {
				lo = a
			}
			if hi == nil || compareBytes(b, hi) > 0 {
				hi = b
			}
		}
	}
	levels, err := lsm.NewLevels(r.above, r.maxLevel+1, enc)
	if err != nil {
		return nil, err
	}
	var out [][]manifest.DataFileMeta
	for _, lvl := range levels.Upper {
		var run []manifest.DataFileMeta
		for _, f := range lvl {
			a, err := enc(f.MinKey)
			if err != nil {
				return nil, err
			}
			b, err := enc(f.MaxKey)
			if err != nil {
				return nil, err
			}
			if compareBytes(b, lo) >= 0 && compareBytes(a, hi) <= 0 {
				run = append(run, f)
			}
		}
		if len(run) > 0 {
			out = append(out, run)
		}
	}
	return out, nil
}

// finder is the lookup of keys in the levels above the output for deletion vectors
// (the older row is marked deleted) and first-row (existence).
func (r *compactRewriter) finder(ctx context.Context) (func([]byte) bool, error) {
	if r.index == nil {
		idx, err := r.t.keyPositions(ctx, r.f, r.split, r.above, r.dvs)
		if err != nil {
			return nil, err
		}
		r.index = idx
	}
	return func(key []byte) bool {
		pos, found := r.index[string(key)]
		if !found || r.dvs == nil {
			return found
		}
		v := r.dvs.vectors[pos.file]
		if v == nil {
			v = deletionvector.New(r.f.opts.DVBitmap64)
			r.dvs.vectors[pos.file] = v
		}
		v.Delete(pos.row)
		r.dvs.changed = true
		delete(r.index, string(key))
		return true
	}, nil
}

// leveledFiles reads files one after another and reports the level of the current one
// (merge.Leveled).
type leveledFiles struct {
	open   []func(context.Context) (datafile.BatchReader, error)
	levels []int
	next   int
	cur    datafile.BatchReader
	level  int
}

func newLeveledFiles(open []func(context.Context) (datafile.BatchReader, error), files []manifest.DataFileMeta) *leveledFiles {
	l := &leveledFiles{open: open, levels: make([]int, len(files))}
	for i, f := range files {
		l.levels[i] = int(f.Level)
	}
	return l
}

func (l *leveledFiles) Level() int { return l.level }

func (l *leveledFiles) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if l.cur == nil {
			if l.next >= len(l.open) {
				return nil, io.EOF
			}
			r, err := l.open[l.next](ctx)
			if err != nil {
				return nil, err
			}
			l.cur, l.level = r, l.levels[l.next]
			l.next++
		}
		b, err := l.cur.Next(ctx)
		if errors.Is(err, io.EOF) {
			err = l.cur.Close()
			l.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		return b, err
	}
}

func (l *leveledFiles) Close() error {
	l.next = len(l.open)
	if l.cur != nil {
		err := l.cur.Close()
		l.cur = nil
		return err
	}
	return nil
}

// compactResult is what compacting one unit of a bucket changes.
type compactResult struct {
	rewriteResult
	upgraded     int
	newIndex     []manifest.IndexFileMeta
	deletedIndex []manifest.IndexFileMeta
}

// compactBucket performs a compaction unit of a bucket (files: its live files; levels:
// their layout) as MergeTreeCompactTask with the table's rewriter, including deletion
// vectors (dvs, nil for tables without) and changelog files.
func (t *Table) compactBucket(ctx context.Context, f *fileFactory, split *Split, files []manifest.DataFileMeta, levels *lsm.Levels, unit lsm.Unit, dvs *bucketDVs) (*compactResult, error) {
	engine, err := merge.NewEngine(f.schema.Fields, f.schema.PrimaryKeys, f.schema.Options)
	if err != nil {
		return nil, err
	}
	rw := newCompactRewriter(t, f, split, engine, levels.MaxLevel(), dvs)
	inUnit := map[string]bool{}
	for _, fl := range unit.Files() {
		inUnit[fl.FileName] = true
	}
	for _, fl := range files {
		if !inUnit[fl.FileName] && int(fl.Level) > unit.OutputLevel {
			rw.above = append(rw.above, fl)
		}
	}
	dropDelete := unit.OutputLevel != 0 && (unit.OutputLevel >= levels.NonEmptyHighestLevel() || f.opts.DeletionVectors)
	res, err := rw.rewriteUnit(ctx, unit, dropDelete)
	if err != nil {
		return nil, err
	}
	if dvs != nil && dvs.changed {
		lr := &lookupResult{}
		if err := t.writeBucketDVs(ctx, f, dvs, lr); err != nil {
			return nil, err
		}
		res.newIndex, res.deletedIndex = lr.newIndex, lr.deletedIndex
	}
	return res, nil
}

// fullUnit is the unit of a full compaction of files, if they need one.
func fullUnit(ctx context.Context, f *fileFactory, files []manifest.DataFileMeta) (*lsm.Levels, lsm.Unit, bool, error) {
	enc, err := newKeyEncoder(f.keys)
	if err != nil {
		return nil, lsm.Unit{}, false, err
	}
	levels, err := lsm.NewLevels(files, f.opts.NumLevels, enc)
	if err != nil {
		return nil, lsm.Unit{}, false, err
	}
	unit, ok, err := f.pickFull(ctx, levels)
	return levels, unit, ok, err
}

// pickFull picks a full compaction (CompactStrategy.pickFullCompaction): every run to the
// top level; when that is one run already, the files of it whose records have expired
// (record-level.expire-time), rewritten.
func (f *fileFactory) pickFull(ctx context.Context, levels *lsm.Levels) (lsm.Unit, bool, error) {
	runs := levels.SortedRuns()
	unit, ok := lsm.Full(levels.NumLevels, runs)
	if ok || f.expiry == nil || len(runs) != 1 {
		return unit, ok, nil
	}
	now := time.Now()
	var expired []manifest.DataFileMeta
	for i := range runs[0].Files {
		file := &runs[0].Files[i]
		fs, err := f.t.Schema(ctx, file.SchemaID)
		if err != nil {
			return unit, false, err
		}
		if f.expiry.expiredFile(file, fs, now) {
			expired = append(expired, *file)
		}
	}
	if len(expired) == 0 {
		return unit, false, nil
	}
	return lsm.Unit{OutputLevel: levels.NumLevels - 1, Runs: []lsm.Run{{Level: runs[0].Level, Files: expired}}, Rewrite: true}, true, nil
}

func (r *rewriteResult) String() string {
	return fmt.Sprintf("%d files -> %d files, %d changelog files", len(r.before), len(r.after), len(r.changelog))
}

// lookupMerge reports whether merges of the table's runs follow lookup tables
// (LookupMergeFunction); lookup tables whose readers skip level 0 (deletion vectors,
// first-row) read without merging.
func (o CoreOptions) lookupMerge() bool {
	return o.lookupMode() && !o.DeletionVectors && o.MergeEngine != "first-row"
}

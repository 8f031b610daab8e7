package table

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/deletionvector"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
)

// CompactOptions choose what Compact does.
type CompactOptions struct {
	// Full rewrites every bucket into one sorted run on the top level (primary-key tables)
	// or all small files into target-size files (append-only tables).
	Full bool
	// Partition selects partitions (nil: all).
	Partition func(values []any) bool
	// Bucket, when set, compacts only this bucket (of the partitions selected).
	Bucket *int
	// Pick, when set, is told what was picked in each bucket before it is compacted
	// (buckets that need nothing too, without files); returning false skips the bucket.
	// With a Pick that refuses every bucket, Compact changes nothing (a dry run).
	Pick func(BucketPick) bool
	// User is the commit user (default "tarn-compact").
	User string
	// Progress is called after each bucket with the buckets done and the total.
	Progress func(done, total int)
}

// CompactSummary tells what a compaction did.
type CompactSummary struct {
	Buckets, Compacted  int
	FilesIn, FilesOut   int
	Upgraded            int
	BytesIn, BytesOut   int64
	SnapshotID          int64 // 0 if nothing was committed
	Duration            time.Duration
	MaxSortedRunsBefore int // the largest read amplification (sorted runs) of a bucket before
	// Skipped, when set, says why the table was left as it is.
	Skipped string
}

// compactionSkipped says why Tarn leaves a table's files as they are, or "". Compacting a
// row tracking table must keep every row's id: Paimon's engines write the ids into the
// compacted files as _ROW_ID and _SEQUENCE_NUMBER columns (AppendTableCompactor), and data
// evolution compacts whole row-id ranges of column files; Tarn does neither.
func compactionSkipped(o CoreOptions) string {
	if o.RowTracking {
		return "row-tracking.enabled: compaction would lose the rows' ids; compact the table with Paimon (Flink or Spark)"
	}
	return ""
}

// Compact compacts the table's buckets that need it (or all, with Full) and commits the
// result as one COMPACT snapshot. It is safe while writers commit: appended files are not
// touched, and a conflicting concurrent compaction makes the commit fail without effect.
func (t *Table) Compact(ctx context.Context, o CompactOptions) (CompactSummary, error) {
	start := time.Now()
	var sum CompactSummary
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return sum, err
	}
	opts := ParseCoreOptions(schema.Options)
	if sum.Skipped = compactionSkipped(opts); sum.Skipped != "" {
		return sum, nil
	}
	if opts.Bucket == format.PostponeBucket && (o.Bucket == nil || *o.Bucket == format.PostponeBucket) {
		if err := t.compactPostpone(ctx, o, &sum); err != nil {
			return sum, err
		}
	}
	plan, err := t.Plan(ctx, ScanOptions{AllLevels: true, Bucket: o.Bucket})
	if err != nil {
		return sum, err
	}
	if plan.Snapshot == nil {
		return sum, nil
	}
	if plan.Schema.ID != schema.ID {
		// Files are rewritten with the latest schema; reading maps older files by field id.
		plan.Schema = schema
	}
	var splits []*Split
	for i := range plan.Splits {
		s := &plan.Splits[i]
		if o.Partition != nil && !o.Partition(s.PartitionValues) {
			continue
		}
		splits = append(splits, s)
	}
	sum.Buckets = len(splits)
	f := newFileFactory(t, schema, nil)
	var msgs []CommitMessage
	var dirs []string // each message's bucket directory
	for i, s := range splits {
		msg, st, err := t.compactSplit(ctx, &f, plan, s, o.Full, o.Pick)
		if err != nil {
			return sum, fmt.Errorf("compact bucket %d of partition %v: %w", s.Bucket, s.PartitionValues, err)
		}
		sum.MaxSortedRunsBefore = max(sum.MaxSortedRunsBefore, st.runsBefore)
		if !msg.Empty() {
			sum.Compacted++
			sum.FilesIn += len(msg.CompactBefore)
			sum.FilesOut += len(msg.CompactAfter)
			sum.Upgraded += st.upgraded
			for _, f := range msg.CompactBefore {
				sum.BytesIn += f.FileSize
			}
			for _, f := range msg.CompactAfter {
				sum.BytesOut += f.FileSize
			}
			msgs = append(msgs, msg)
			dirs = append(dirs, s.BucketPath)
		}
		if o.Progress != nil {
			o.Progress(i+1, len(splits))
		}
	}
	if len(msgs) > 0 {
		user := o.User
		if user == "" {
			user = "tarn-compact"
		}
		res, err := t.Commit(ctx, Commit{User: user, Identifier: format.BatchCommitIdentifier, Kind: format.CommitCompact, Messages: msgs})
		if err != nil {
			if errors.Is(err, ErrConflict) {
				// No snapshot took the rewritten files: remove them (moved files keep
				// their names and stay).
				t.removeCompactOutput(context.WithoutCancel(ctx), msgs, dirs)
			}
			return sum, err
		}
		sum.SnapshotID = res.SnapshotID
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// removeCompactOutput deletes the files compactions wrote that no commit took.
func (t *Table) removeCompactOutput(ctx context.Context, msgs []CommitMessage, dirs []string) {
	for i, m := range msgs {
		kept := map[string]bool{}
		for _, f := range m.CompactBefore {
			kept[f.FileName] = true
		}
		for _, f := range append(slices.Clip(m.CompactAfter), m.ChangelogFiles...) {
			if !kept[f.FileName] {
				p := fileio.Join(dirs[i], f.FileName)
				if err := t.fio.Delete(ctx, p); err != nil {
					slog.Debug("cannot remove an uncommitted compaction file", "path", p, "err", err)
				}
			}
		}
	}
}

type compactStats struct {
	runsBefore int
	upgraded   int
}

// compactSplit picks and performs the compaction of one bucket: a full compaction, or
// Paimon's universal picker (forcing level 0 up for lookup tables, as their writers do).
func (t *Table) compactSplit(ctx context.Context, f *fileFactory, plan *Plan, s *Split, full bool, pick func(BucketPick) bool) (CommitMessage, compactStats, error) {
	msg := CommitMessage{Partition: s.Partition, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets}
	var st compactStats
	if !f.pk {
		return t.compactAppendSplit(ctx, f, plan, s, full, pick)
	}
	enc, err := newKeyEncoder(f.keys)
	if err != nil {
		return msg, st, err
	}
	levels, err := lsm.NewLevels(s.Files, f.opts.NumLevels, enc)
	if err != nil {
		return msg, st, err
	}
	runs := levels.SortedRuns()
	st.runsBefore = len(runs)
	var unit lsm.Unit
	var ok bool
	if full {
		if unit, ok, err = f.pickFull(ctx, levels); err != nil {
			return msg, st, err
		}
	} else {
		unit, ok = f.opts.pickCompaction(levels, runs, time.Now(), f.opts.forceL0(nil))
	}
	if pick != nil && !pick(newBucketPick(plan, s, len(runs), ok, unit.Files())) {
		return msg, st, nil
	}
	if !ok {
		return msg, st, nil
	}
	var dvs *bucketDVs
	if f.opts.DeletionVectors {
		if dvs, err = t.loadBucketDVs(ctx, f.opts, plan.Snapshot, s.Partition, s.Bucket, s.BucketPath); err != nil {
			return msg, st, err
		}
	}
	res, err := t.compactBucket(ctx, f, s, s.Files, levels, unit, dvs)
	if err != nil {
		return msg, st, err
	}
	if !full {
		// Paimon's compact(false) then prepareCommit(true) picks once more on the layout
		// the first compaction left, and commits both.
		files := replaceFiles(s.Files, res.before, res.after)
		levels, err := lsm.NewLevels(files, f.opts.NumLevels, enc)
		if err != nil {
			return msg, st, err
		}
		if unit, ok := f.opts.pickCompaction(levels, levels.SortedRuns(), time.Now(), f.opts.forceL0(nil)); ok {
			next, err := t.compactBucket(ctx, f, s, files, levels, unit, dvs)
			if err != nil {
				return msg, st, err
			}
			res = t.chainCompactions(ctx, f, s, res, next)
		}
	}
	msg.CompactBefore, msg.CompactAfter, msg.ChangelogFiles = res.before, res.after, res.changelog
	msg.NewIndexFiles, msg.DeletedIndexFiles = res.newIndex, res.deletedIndex
	st.upgraded = res.upgraded
	return msg, st, nil
}

// chainCompactions is one compaction of a bucket followed by another of the layout it
// left, as one result (MergeTreeWriter.updateCompactResult): files the first wrote and the
// second rewrote are intermediate, in neither list, and removed; files the first only
// moved stay inputs of the commit. Changelogs add up; an index file the first wrote and
// the second replaced is intermediate too.
func (t *Table) chainCompactions(ctx context.Context, f *fileFactory, s *Split, first, next *compactResult) *compactResult {
	type id struct {
		name  string
		level int32
	}
	written := map[id]bool{}
	for _, a := range first.after {
		written[id{a.FileName, a.Level}] = true
	}
	inputs := map[string]bool{}
	for _, b := range first.before {
		inputs[b.FileName] = true
	}
	outputs := map[string]bool{}
	for _, a := range next.after {
		outputs[a.FileName] = true
	}
	res := &compactResult{upgraded: first.upgraded + next.upgraded}
	res.before = slices.Clone(first.before)
	consumed := map[id]bool{}
	for _, b := range next.before {
		if written[id{b.FileName, b.Level}] {
			consumed[id{b.FileName, b.Level}] = true
			if !inputs[b.FileName] && !outputs[b.FileName] {
				_ = t.fio.Delete(ctx, fileio.Join(s.BucketPath, b.FileName))
			}
			continue
		}
		res.before = append(res.before, b)
	}
	for _, a := range first.after {
		if !consumed[id{a.FileName, a.Level}] {
			res.after = append(res.after, a)
		}
	}
	res.after = append(res.after, next.after...)
	res.changelog = append(slices.Clone(first.changelog), next.changelog...)
	replaced := map[string]bool{}
	for _, d := range next.deletedIndex {
		replaced[d.FileName] = true
	}
	res.deletedIndex = slices.Clone(first.deletedIndex)
	for _, n := range first.newIndex {
		if replaced[n.FileName] {
			delete(replaced, n.FileName) // intermediate: in neither list
			_ = t.fio.Delete(ctx, t.indexFilePath(f.opts, s.BucketPath, &n))
			continue
		}
		res.newIndex = append(res.newIndex, n)
	}
	for _, d := range next.deletedIndex {
		if replaced[d.FileName] {
			res.deletedIndex = append(res.deletedIndex, d)
		}
	}
	res.newIndex = append(res.newIndex, next.newIndex...)
	return res
}

// unitRewrite performs a compaction unit as MergeTreeCompactTask does: sections of
// overlapping runs and small files are merged and rewritten; large files of sections with
// one run are only moved to the output level ("upgraded") unless they hold deletions that
// the top level must drop. The rewriter decides how (lookups, changelog).
type unitRewrite struct {
	rw          *compactRewriter
	level       int
	maxLevel    int
	dropDelete  bool
	minFileSize int64
	candidate   [][][]manifest.DataFileMeta
	res         compactResult
}

// rewriteUnit performs unit; dropDelete drops retractions from the output.
func (rw *compactRewriter) rewriteUnit(ctx context.Context, unit lsm.Unit, dropDelete bool) (*compactResult, error) {
	sections, err := partitionSections(unit.Files(), rw.f.keys)
	if err != nil {
		return nil, err
	}
	u := &unitRewrite{rw: rw, level: unit.OutputLevel, maxLevel: rw.maxLevel,
		dropDelete: dropDelete, minFileSize: compactionFileSize(rw.f.target)}
	if unit.Rewrite {
		// Files picked to be rewritten (expired records): no upgrades.
		if err := u.rewrite(ctx, sections); err != nil {
			return nil, err
		}
		return &u.res, nil
	}
	for _, section := range sections {
		if len(section) > 1 {
			u.candidate = append(u.candidate, section)
			continue
		}
		for _, file := range section[0] {
			if file.FileSize < u.minFileSize {
				u.candidate = append(u.candidate, [][]manifest.DataFileMeta{{file}})
				continue
			}
			if err := u.flush(ctx); err != nil {
				return nil, err
			}
			if err := u.upgrade(ctx, file); err != nil {
				return nil, err
			}
		}
	}
	if err := u.flush(ctx); err != nil {
		return nil, err
	}
	slog.Debug("compacted", "table", rw.t.path, "bucket", rw.split.Bucket, "level", u.level, "in", len(u.res.before), "out", len(u.res.after), "changelog", len(u.res.changelog))
	return &u.res, nil
}

// flush rewrites the collected candidate sections (a lone single-run section is upgraded
// file by file instead).
func (u *unitRewrite) flush(ctx context.Context) error {
	c := u.candidate
	u.candidate = nil
	switch {
	case len(c) == 0:
		return nil
	case len(c) == 1 && len(c[0]) == 1:
		for _, file := range c[0][0] {
			if err := u.upgrade(ctx, file); err != nil {
				return err
			}
		}
		return nil
	}
	return u.rewrite(ctx, c)
}

func (u *unitRewrite) rewrite(ctx context.Context, sections [][][]manifest.DataFileMeta) error {
	res, err := u.rw.rewrite(ctx, u.level, u.dropDelete, sections)
	u.res.add(res)
	return err
}

// upgrade moves a file to the output level, unless it holds deletions and the output is
// the top level (then it is rewritten).
func (u *unitRewrite) upgrade(ctx context.Context, file manifest.DataFileMeta) error {
	hasDeletes := file.DeleteRowCount == nil || *file.DeleteRowCount > 0
	if u.level == u.maxLevel && hasDeletes {
		return u.rewrite(ctx, [][][]manifest.DataFileMeta{{{file}}})
	}
	if int(file.Level) == u.level {
		return nil
	}
	res, err := u.rw.upgrade(ctx, u.level, file)
	u.res.add(res)
	if err == nil && len(res.after) == 1 && res.after[0].FileName == file.FileName {
		u.res.upgraded++
	}
	return err
}

// compactionFileSize is the size under which a file joins a compaction as a small file
// (CoreOptions.compactionFileSize: 70% of target-file-size).
func compactionFileSize(target int64) int64 { return target / 10 * 7 }

// fullCompactMinFiles is the number of files under which a full compaction of an
// append-only bucket without deletion vectors does nothing
// (BucketedAppendCompactManager.FULL_COMPACT_MIN_FILE).
const fullCompactMinFiles = 3

// pickBucketedAppend chooses the files of a fixed-bucket append-only bucket that a
// compaction rewrites, as Paimon's BucketedAppendCompactManager does for a writer that
// restored every file of the bucket (files in sequence order). A full compaction
// (FullCompactTask) skips the large files at the front (unless they have deletion
// vectors) and rewrites the rest when small files outnumber large ones among them and
// there are at least three; with deletion vectors it always rewrites the rest. Otherwise
// (pickCompactBefore) it slides a window over the files that drops its oldest file
// while the window holds twice target-file-size, and rewrites the first window of
// compaction.min.file-num files.
func pickBucketedAppend(files []manifest.DataFileMeta, full bool, minFileNum int, target int64, dvs bool, hasDV func(string) bool) []manifest.DataFileMeta {
	if full {
		if len(files) == 0 || (!dvs && len(files) < fullCompactMinFiles) {
			return nil
		}
		cfs := compactionFileSize(target)
		for len(files) > 0 && files[0].FileSize >= cfs && !hasDV(files[0].FileName) {
			files = files[1:]
		}
		if dvs {
			return files
		}
		big := 0
		for _, f := range files {
			if f.FileSize >= cfs {
				big++
			}
		}
		if small := len(files) - big; small > big && len(files) >= fullCompactMinFiles {
			return files
		}
		return nil
	}
	var size int64
	start := 0
	for i, f := range files {
		size += f.FileSize
		if i-start+1 >= minFileNum {
			return files[start : i+1]
		}
		if size >= 2*target {
			size -= files[start].FileSize
			start++
		}
	}
	return nil
}

// pickUnawareAppend chooses the files of an unaware-bucket append table's partition that
// a compaction rewrites, as Paimon's AppendCompactCoordinator packs them: its small files
// (under 70% of target-file-size), smallest first, into bins that close once they hold
// two files and twice target-file-size (each file counting source.split.open-file-cost
// more); the last bin only with compaction.min.file-num files. Large files are never
// rewritten. A full compaction (Tarn's: the coordinator has none) takes every small file
// when there are two.
//
// With deletion vectors (dvs; vectors are the partition's) a file whose vector deletes more
// than deleteRatio of its rows (or an unknown share) counts as small however large it is,
// and every small file with a vector is rewritten, its deleted rows dropped
// (packInDeletionVectorVMode); the small files without one pack as above, when there are
// two. A full compaction takes them all.
func pickUnawareAppend(files []manifest.DataFileMeta, full bool, minFileNum int, target, openFileCost int64, dvs bool, vectors map[string]DeletionFile, deleteRatio float64) []manifest.DataFileMeta {
	cfs := compactionFileSize(target)
	var small, withDV []manifest.DataFileMeta
	for _, f := range files {
		dv, has := vectors[f.FileName]
		tooManyDeleted := has && (dv.Cardinality == nil || float64(*dv.Cardinality) > float64(f.RowCount)*deleteRatio)
		switch {
		case dvs && has && (f.FileSize < cfs || tooManyDeleted):
			withDV = append(withDV, f)
		case f.FileSize < cfs:
			small = append(small, f)
		}
	}
	if full {
		if len(small) < 2 && len(withDV) == 0 {
			return nil
		}
		return append(withDV, small...)
	}
	if dvs && len(small) < 2 {
		small = nil // the files without vectors pack only when there are two
	}
	slices.SortStableFunc(small, func(a, b manifest.DataFileMeta) int { return cmp.Compare(a.FileSize, b.FileSize) })
	var picked []manifest.DataFileMeta
	bin, size := 0, int64(0)
	for i, f := range small {
		bin++
		size += f.FileSize + openFileCost
		if bin > 1 && size >= 2*target {
			picked = small[:i+1]
			bin, size = 0, 0
		}
	}
	if bin >= minFileNum {
		picked = small
	}
	return append(withDV, picked...)
}

// compactAppendSplit rewrites files of an append-only bucket, in sequence order, into
// target-size files. Fixed buckets pick as Paimon's bucketed append tables do
// (pickBucketedAppend), and the deletion vectors of the files rewritten (whose deleted
// rows the rewrite drops) leave the bucket's index; unaware-bucket tables (bucket -1)
// pick as Paimon's append compaction coordinator (pickUnawareAppend).
func (t *Table) compactAppendSplit(ctx context.Context, f *fileFactory, plan *Plan, s *Split, full bool, pick func(BucketPick) bool) (CommitMessage, compactStats, error) {
	msg := CommitMessage{Partition: s.Partition, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets}
	st := compactStats{runsBefore: len(s.Files)}
	// At least two files: Paimon would rewrite a lone file again and again with
	// compaction.min.file-num 1.
	minFileNum := max(f.opts.CompactionMinFileNum, 2)
	var small []manifest.DataFileMeta
	if f.opts.Bucket > 0 {
		files := slices.Clone(s.Files)
		slices.SortStableFunc(files, func(a, b manifest.DataFileMeta) int { return cmp.Compare(a.MinSequenceNumber, b.MinSequenceNumber) })
		hasDV := func(name string) bool { _, ok := s.DeletionFiles[name]; return ok }
		small = pickBucketedAppend(files, full, minFileNum, f.target, f.opts.DeletionVectors, hasDV)
	} else {
		small = pickUnawareAppend(s.Files, full, minFileNum, f.target, f.opts.SplitOpenFileCost, f.opts.DeletionVectors, s.DeletionFiles, f.opts.DeleteRatioThreshold)
	}
	needed := len(small) > 0
	if pick != nil && !pick(newBucketPick(plan, s, len(s.Files), needed, small)) {
		return msg, st, nil
	}
	if !needed {
		return msg, st, nil
	}
	slices.SortStableFunc(small, func(a, b manifest.DataFileMeta) int { return cmp.Compare(a.MinSequenceNumber, b.MinSequenceNumber) })
	roll := f.newRoller(s.BucketPath, 0, manifest.FileSourceCompact, false)
	defer roll.abort()
	// One counter from the first file's sequence number (compactRewrite's LongCounter).
	seq := small[0].MinSequenceNumber
	for i := range small {
		file := &small[i]
		r, err := t.openDataFile(ctx, s, file, f.schema.Fields, ReadOptions{Mem: f.mem})
		if err != nil {
			return msg, st, err
		}
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return msg, st, err
			}
			n := int(b.NumRows())
			sb := array.NewInt64Builder(f.mem)
			for j := 0; j < n; j++ {
				sb.Append(seq)
				seq++
			}
			seqs := sb.NewInt64Array()
			sb.Release()
			err = roll.write(ctx, b, seqs, nil)
			seqs.Release()
			b.Release()
			if err != nil {
				r.Close()
				return msg, st, err
			}
		}
		r.Close()
	}
	after, err := roll.finish(ctx)
	if err != nil {
		return msg, st, err
	}
	msg.CompactBefore, msg.CompactAfter = small, after
	if f.opts.DeletionVectors {
		// The rewritten files' deleted rows are gone: their vectors leave the index.
		var res lookupResult
		if err := t.dropAppendDVs(ctx, f, plan.Snapshot, s, small, &res); err != nil {
			return msg, st, err
		}
		msg.NewIndexFiles, msg.DeletedIndexFiles = res.newIndex, res.deletedIndex
	}
	return msg, st, nil
}

// dropAppendDVs takes the deletion vectors of the files an append compaction rewrote out
// of the index. A fixed bucket has one index file, written again without them
// (BucketedDvMaintainer.removeDeletionVectorOf). An unaware-bucket partition may have
// several: each one holding such a vector is replaced by one holding its other vectors,
// or by none, and the others stay (AppendDeleteFileMaintainer.notifyRemovedDeletionVector).
func (t *Table) dropAppendDVs(ctx context.Context, f *fileFactory, base *format.Snapshot, s *Split, rewritten []manifest.DataFileMeta, res *lookupResult) error {
	if f.opts.Bucket > 0 {
		dvs, err := t.loadBucketDVs(ctx, f.opts, base, s.Partition, s.Bucket, s.BucketPath)
		if err != nil {
			return err
		}
		for _, file := range rewritten {
			if _, ok := dvs.vectors[file.FileName]; ok {
				delete(dvs.vectors, file.FileName)
				dvs.changed = true
			}
		}
		if !dvs.changed {
			return nil
		}
		return t.writeBucketDVs(ctx, f, dvs, res)
	}
	entries, err := t.dvIndexEntries(ctx, base)
	if err != nil {
		return err
	}
	gone := make(map[string]bool, len(rewritten))
	for _, file := range rewritten {
		gone[file.FileName] = true
	}
	for _, e := range entries {
		if !bytes.Equal(e.Partition, s.Partition) ||
			!slices.ContainsFunc(e.IndexFile.DeletionVectorRanges, func(r manifest.DeletionVectorMeta) bool { return gone[r.DataFileName] }) {
			continue
		}
		file := e.IndexFile
		dvs := &bucketDVs{dir: s.BucketPath, file: &file, vectors: map[string]*deletionvector.Vector{}}
		if err := t.readIndexVectors(ctx, f.opts, s.BucketPath, &file, gone, dvs.vectors); err != nil {
			return err
		}
		if err := t.writeBucketDVs(ctx, f, dvs, res); err != nil {
			return err
		}
	}
	return nil
}

// pickCompaction is the compaction Paimon's MergeTreeCompactManager starts for a bucket
// (MergeTreeCompactManagerFactory.createCompactStrategy): the universal picker, with early
// full compaction and the off-peak size ratio, then, when that finds nothing and forceL0
// says so, every level-0 run (ForceUpLevel0Compaction). Paimon's writer remembers its last
// full compaction; here it is estimated from the top level's files each time, as Paimon
// does when a writer starts.
func (o CoreOptions) pickCompaction(levels *lsm.Levels, runs []lsm.Run, now time.Time, forceL0 func() bool) (lsm.Unit, bool) {
	picker := lsm.Universal{
		MaxSizeAmp: o.MaxSizeAmplification,
		SizeRatio:  o.SizeRatio + lsm.OffPeakRatio(o.OffPeakStart, o.OffPeakEnd, o.OffPeakRatio, now.Hour()),
		Trigger:    o.NumSortedRunTrigger,
		Early:      lsm.EarlyFull{Interval: o.OptimizationInterval, TotalSizeThreshold: o.TotalSizeThreshold, IncrementalSizeThreshold: o.IncrementalSizeThreshold},
		LastFull:   lsm.LastFullCompaction(runs, levels.NumLevels-1),
		Now:        now,
	}
	unit, ok := picker.Pick(levels.NumLevels, runs)
	if !ok && forceL0 != nil && forceL0() {
		unit, ok = picker.ForceLevel0(levels.NumLevels, runs)
	}
	return unit, ok
}

// forceL0 decides whether a pick that found nothing takes every level-0 run: never for
// tables that neither look keys up (deletion vectors, first-row, the lookup changelog
// producer) nor set compaction.force-up-level-0; on every such pick (lookup-compact
// radical); and for lookup tables with lookup-compact gentle, on every
// lookup-compact.max-interval-th pick of the bucket whose count is skips. Without a count
// (tarn compact, which keeps no state) gentle acts as radical.
func (o CoreOptions) forceL0(skips *int) func() bool {
	switch {
	case !o.lookupMode() && !o.ForceUpLevel0:
		return nil
	case !o.lookupMode() || !o.LookupCompactGentle || skips == nil:
		return func() bool { return true }
	}
	return func() bool {
		*skips++
		if *skips < o.LookupCompactMaxInterval {
			return false
		}
		*skips = 0
		return true
	}
}

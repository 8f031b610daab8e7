package table

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
)

// Budget limits concurrent compactions (the server shares one across all tables); nil
// means no limit.
type Budget interface {
	Acquire(ctx context.Context) error
	Release()
}

// bgCompaction is a compaction a writer runs in the background for one bucket while
// ingest continues; its result joins a later commit.
type bgCompaction struct {
	done chan struct{}
	res  *compactResult
	err  error
	dvs  *bucketDVs // the bucket's deletion vectors, the compaction's until it is taken
	// base is the bucket's files when the compaction started and dvFile its
	// deletion-vectors index file then: the result is stale when any of them is gone.
	base   []manifest.DataFileMeta
	dvFile string
}

// stale reports whether the bucket changed under the compaction other than by new
// level-0 files: another compaction (Table.Compact, a compaction job, a failed commit of
// an earlier one, a rollback) rewrote files it read or looked keys up in, or replaced the
// bucket's deletion vectors.
func (c *bgCompaction) stale(files []manifest.DataFileMeta, dvFile string) bool {
	if c.dvFile != dvFile {
		return true
	}
	type id struct {
		name  string
		level int32
	}
	live := make(map[id]bool, len(files))
	for _, f := range files {
		live[id{f.FileName, f.Level}] = true
	}
	for _, f := range c.base {
		if !live[id{f.FileName, f.Level}] {
			return true
		}
	}
	return false
}

func (c *bgCompaction) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// compactsOnCommit reports whether the writer's commits may end with compactions, which
// plan on its view of the buckets' live files (syncFiles).
func (w *Writer) compactsOnCommit() bool {
	if w.writeOnly() {
		return false
	}
	return w.pk && (w.opts.lookupMode() || !w.noCompaction || w.opts.CommitForceCompact || w.fullCompactionEvery() > 0)
}

// writeOnly is option write-only: the writer never compacts, not even lookup tables
// (their level-0 files wait for a dedicated compaction, which produces their changelog).
func (w *Writer) writeOnly() bool { return parseChangelogConfig(w.schema.Options).writeOnly }

// compactOnCommit adds the compaction a commit of a bucket ends with to msg: a full
// compaction when one is due (full-compaction.delta-commits; it produces the changelog of
// changelog-producer full-compaction), the lookup compaction of lookup tables, or the
// result of a background compaction.
func (w *Writer) compactOnCommit(ctx context.Context, bw *bucketWriter, msg *CommitMessage, full bool) error {
	switch {
	case !w.pk || w.writeOnly():
		return nil
	case full:
		return w.fullCompact(ctx, bw, msg)
	case w.opts.lookupMode() && w.lookupWait():
		return w.lookupCompact(ctx, bw, msg)
	case w.opts.lookupMode() || !w.noCompaction || w.opts.CommitForceCompact:
		return w.maybeCompact(ctx, bw, msg)
	}
	return nil
}

// lookupWait is option lookup-wait (changelog-producer.lookup-wait, default true): a
// commit of a lookup table waits for its lookup compaction; otherwise the compaction
// runs in the background and a later commit takes it (with its changelog).
func (w *Writer) lookupWait() bool {
	if _, v, ok := w.schema.Options.Lookup("lookup-wait"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		return err != nil || b
	}
	return true
}

// loadDVs loads the bucket's deletion vectors (tables with deletion vectors) as of the
// writer's view of the table.
func (w *Writer) loadDVs(ctx context.Context, bw *bucketWriter) error {
	if bw.dvs != nil || !w.opts.DeletionVectors {
		return nil
	}
	d, err := w.t.loadBucketDVs(ctx, w.opts, w.synced, bw.partition, bw.bucket, bw.dir)
	if err != nil {
		return err
	}
	bw.dvs = d
	return nil
}

// lookupCompact merges the bucket's level-0 files upward (see lookup.go) and adds the
// compaction increment to msg.
func (w *Writer) lookupCompact(ctx context.Context, bw *bucketWriter, msg *CommitMessage) error {
	if err := w.loadDVs(ctx, bw); err != nil {
		return err
	}
	res, err := w.t.lookupCompact(ctx, &w.fileFactory, bw.partition, bw.bucket, bw.dir, bw.files, bw.dvs, w.opts.forceL0(&bw.lookupSkips))
	if err != nil {
		return err
	}
	w.attach(bw, msg, res)
	return nil
}

// fullCompact compacts the bucket into one sorted run on the top level. A background
// compaction of the bucket is waited for and discarded: the full compaction replaces it.
func (w *Writer) fullCompact(ctx context.Context, bw *bucketWriter, msg *CommitMessage) error {
	if bw.bg != nil {
		<-bw.bg.done
		w.discardCompaction(bw)
	}
	if err := w.loadDVs(ctx, bw); err != nil {
		return err
	}
	bw.touched = false
	levels, unit, ok, err := fullUnit(ctx, &w.fileFactory, bw.files)
	if err != nil || !ok {
		return err
	}
	split := &Split{Partition: bw.partition, Bucket: bw.bucket, BucketPath: bw.dir}
	res, err := w.t.compactBucket(ctx, &w.fileFactory, split, bw.files, levels, unit, bw.dvs)
	if err != nil {
		return err
	}
	w.attach(bw, msg, res)
	return nil
}

// attach adds a compaction's result to msg as its compaction increment and to the
// writer's view of the bucket.
func (w *Writer) attach(bw *bucketWriter, msg *CommitMessage, res *compactResult) {
	msg.CompactBefore = append(msg.CompactBefore, res.before...)
	msg.CompactAfter = append(msg.CompactAfter, res.after...)
	msg.CompactChangelogFiles = append(msg.CompactChangelogFiles, res.changelog...)
	msg.CompactNewIndexFiles = append(msg.CompactNewIndexFiles, res.newIndex...)
	msg.CompactDeletedIndexFiles = append(msg.CompactDeletedIndexFiles, res.deletedIndex...)
	bw.files = replaceFiles(bw.files, res.before, res.after)
}

// maybeCompact is called at each commit of a bucket of a primary-key table compacting in
// the background (WriterOptions.Compact; lookup tables with lookup-wait false): it
// attaches the result of a finished background compaction to msg, waits for a running
// one if the bucket has reached num-sorted-run.stop-trigger, and starts a new one when
// Paimon's universal picker finds one (for lookup tables, else one of all level 0).
func (w *Writer) maybeCompact(ctx context.Context, bw *bucketWriter, msg *CommitMessage) error {
	enc, err := newKeyEncoder(w.keys)
	if err != nil {
		return err
	}
	if bw.bg != nil {
		levels, err := lsm.NewLevels(bw.files, w.opts.NumLevels, enc)
		if err != nil {
			return err
		}
		if (levels.NumSortedRuns() >= w.opts.NumSortedRunStop || w.opts.CommitForceCompact) && !bw.bg.finished() {
			<-bw.bg.done // read amplification at the stop trigger (or commit.force-compact): ingest waits
		}
		if bw.bg.finished() {
			w.takeCompaction(bw, msg)
			if w.opts.CommitForceCompact {
				return nil // the commit takes the compaction it waited for (trySyncLatestCompaction)
			}
		}
	}
	if bw.bg != nil {
		return nil
	}
	levels, err := lsm.NewLevels(bw.files, w.opts.NumLevels, enc)
	if err != nil {
		return err
	}
	runs := levels.SortedRuns()
	unit, ok := w.opts.pickCompaction(levels, runs, time.Now(), w.opts.forceL0(&bw.lookupSkips))
	if !ok {
		return nil
	}
	if err := w.loadDVs(ctx, bw); err != nil {
		return err
	}
	c := &bgCompaction{done: make(chan struct{}), dvs: bw.dvs, base: slices.Clone(bw.files)}
	if bw.dvs != nil && bw.dvs.file != nil {
		c.dvFile = bw.dvs.file.FileName
	}
	bw.bg, bw.dvs = c, nil
	f := newFileFactory(w.t, w.schema, w.mem) // its own file names: it runs beside flushes
	split := &Split{Partition: bw.partition, Bucket: bw.bucket, BucketPath: bw.dir}
	files, dvs := bw.files, c.dvs
	bgCtx := w.bgCtx
	w.bgWG.Add(1)
	go func() {
		defer w.bgWG.Done()
		defer close(c.done)
		if w.budget != nil {
			if c.err = w.budget.Acquire(bgCtx); c.err != nil {
				return
			}
			defer w.budget.Release()
		}
		c.res, c.err = w.t.compactBucket(bgCtx, &f, split, files, levels, unit, dvs)
	}()
	if w.opts.CommitForceCompact {
		// commit.force-compact: the commit waits for the compaction and takes it
		// (MergeTreeWriter.prepareCommit).
		<-c.done
		w.takeCompaction(bw, msg)
	}
	return nil
}

// takeCompaction attaches the bucket's finished background compaction to msg, or
// discards it when it failed or the bucket's files changed under it.
func (w *Writer) takeCompaction(bw *bucketWriter, msg *CommitMessage) {
	c := bw.bg
	bw.bg = nil
	switch {
	case c.err != nil:
		slog.Warn("background compaction failed; its files are unreferenced", "table", w.t.path, "bucket", bw.bucket, "err", c.err)
		bw.dvs = nil // its deletion vectors may have changed: reloaded
	case c.stale(bw.files, w.liveDVs[groupKey(bw.partition, bw.bucket)]):
		slog.Debug("background compaction is stale: discarded", "table", w.t.path, "bucket", bw.bucket)
		bw.bg = c
		w.discardCompaction(bw)
		bw.dvs = nil
	case len(c.res.before) > 0:
		bw.dvs = c.dvs
		w.attach(bw, msg, c.res)
	}
}

// discardCompaction drops the finished background compaction of a bucket, removing the
// files it wrote (not those it only moved to another level: they are live).
func (w *Writer) discardCompaction(bw *bucketWriter) {
	c := bw.bg
	bw.bg = nil
	if c == nil {
		return
	}
	if c.res == nil {
		return
	}
	kept := map[string]bool{}
	for _, f := range c.res.before {
		kept[f.FileName] = true
	}
	for _, f := range append(slices.Clip(c.res.after), c.res.changelog...) {
		if !kept[f.FileName] {
			_ = w.t.fio.Delete(context.Background(), fileio.Join(bw.dir, f.FileName))
		}
	}
}

func replaceFiles(files, before, after []manifest.DataFileMeta) []manifest.DataFileMeta {
	type id struct {
		name  string
		level int32
	}
	gone := map[id]bool{}
	for _, f := range before {
		gone[id{f.FileName, f.Level}] = true
	}
	out := make([]manifest.DataFileMeta, 0, len(files)+len(after))
	for _, f := range files {
		if !gone[id{f.FileName, f.Level}] {
			out = append(out, f)
		}
	}
	return append(out, after...)
}

// waitCompactions waits for background compactions (used by Close and tests).
func (w *Writer) waitCompactions() { w.bgWG.Wait() }

// syncFiles brings the writer's view of the live files of every bucket (w.restored, and
// each bucket writer's files) to the table's latest snapshot, which compactions plan on:
// it takes in the writer's own committed messages, compactions committed by others, and
// it forgets compactions of its own whose commit failed. It follows the snapshots since
// the last sync one by one, or reloads everything after a rollback or expiry.
func (w *Writer) syncFiles(ctx context.Context) error {
	latest, err := w.t.LatestSnapshot(ctx)
	if err != nil {
		return err
	}
	if !sameSnapshot(latest, w.synced) {
		if err := w.follow(ctx, latest); err != nil {
			return err
		}
	}
	// The view of each bucket writer restarts from the table's, dropping what its earlier
	// messages expected if they were not committed.
	var liveDVs map[string]string // bucket -> its deletion-vectors index file
	if w.opts.DeletionVectors {
		if liveDVs, err = w.t.deletionVectorFiles(ctx, latest); err != nil {
			return err
		}
	}
	w.liveDVs = liveDVs
	for gk, bw := range w.buckets {
		bw.files = slices.Clone(w.restored[gk])
		for _, f := range bw.files {
			bw.nextSeq = max(bw.nextSeq, f.MaxSequenceNumber+1)
		}
		if bw.dvs != nil {
			cur := ""
			if bw.dvs.file != nil {
				cur = bw.dvs.file.FileName
			}
			if liveDVs[gk] != cur {
				bw.dvs = nil // reloaded on use
			}
		}
	}
	return nil
}

// follow brings w.restored from snapshot w.synced to latest.
func (w *Writer) follow(ctx context.Context, latest *format.Snapshot) error {
	followed := false
	var err error
	if latest != nil && w.synced != nil && latest.ID > w.synced.ID {
		if followed, err = w.followSnapshots(ctx, latest); err != nil {
			return err
		}
	}
	if !followed {
		live := map[string][]manifest.DataFileMeta{}
		if latest != nil {
			entries, err := w.t.liveEntries(ctx, latest, w.schema, ScanOptions{})
			if err != nil {
				return err
			}
			for _, e := range entries {
				k := groupKey(e.Partition, int(e.Bucket))
				live[k] = append(live[k], e.File)
			}
		}
		w.restored = live
	}
	w.synced = latest
	return nil
}

func sameSnapshot(a, b *format.Snapshot) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID && a.DeltaManifestList == b.DeltaManifestList
}

// followSnapshots applies the delta of each snapshot after w.synced up to latest to
// w.restored; false if the history changed (rollback) or a snapshot expired meanwhile.
func (w *Writer) followSnapshots(ctx context.Context, latest *format.Snapshot) (bool, error) {
	cur, err := w.t.Snapshot(ctx, w.synced.ID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !sameSnapshot(cur, w.synced) {
		return false, nil
	}
	type change struct {
		gk  string
		e   manifest.ManifestEntry
		add bool
	}
	var changes []change
	for id := w.synced.ID + 1; id <= latest.ID; id++ {
		snap := latest
		if id != latest.ID {
			if snap, err = w.t.Snapshot(ctx, id); errors.Is(err, ErrNotFound) {
				return false, nil
			} else if err != nil {
				return false, err
			}
		}
		metas, err := w.t.ReadManifestList(ctx, snap.DeltaManifestList)
		if err != nil {
			return false, fmt.Errorf("snapshot %d: %w", id, err)
		}
		for _, m := range metas {
			entries, err := w.t.ReadManifest(ctx, m.FileName)
			if err != nil {
				return false, fmt.Errorf("snapshot %d: %w", id, err)
			}
			for _, e := range entries {
				changes = append(changes, change{groupKey(e.Partition, int(e.Bucket)), e, e.Kind == manifest.FileKindAdd})
			}
		}
	}
	for _, c := range changes {
		files := w.restored[c.gk]
		i := slices.IndexFunc(files, func(f manifest.DataFileMeta) bool {
			return f.FileName == c.e.File.FileName && f.Level == c.e.File.Level
		})
		switch {
		case c.add && i < 0:
			files = append(files, c.e.File)
		case !c.add && i >= 0:
			files = slices.Delete(slices.Clone(files), i, i+1)
		}
		w.restored[c.gk] = files
	}
	return true, nil
}

// deletionVectorFiles maps each bucket (groupKey) to the name of its deletion-vectors
// index file in snap.
func (t *Table) deletionVectorFiles(ctx context.Context, snap *format.Snapshot) (map[string]string, error) {
	entries, err := t.dvIndexEntries(ctx, snap)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		out[groupKey(e.Partition, int(e.Bucket))] = e.IndexFile.FileName
	}
	return out, nil
}

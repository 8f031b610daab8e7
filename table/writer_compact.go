package table

import (
	"context"
	"log/slog"

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
	done          chan struct{}
	before, after []manifest.DataFileMeta
	err           error
}

func (c *bgCompaction) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// maybeCompact is called at each commit of a bucket of a primary-key table without
// lookup compaction: it attaches the result of a finished background compaction to msg,
// waits for a running one if the bucket has reached num-sorted-run.stop-trigger, and
// starts a new one when Paimon's universal picker finds one.
func (w *Writer) maybeCompact(bw *bucketWriter, msg *CommitMessage) error {
	enc, err := newKeyEncoder(w.keys)
	if err != nil {
		return err
	}
	if bw.bg != nil {
		levels, err := lsm.NewLevels(bw.files, w.opts.NumLevels, enc)
		if err != nil {
			return err
		}
		if levels.NumSortedRuns() >= w.opts.NumSortedRunStop && !bw.bg.finished() {
			<-bw.bg.done // read amplification at the stop trigger: ingest waits
		}
		if bw.bg.finished() {
			c := bw.bg
			bw.bg = nil
			if c.err != nil {
				slog.Warn("background compaction failed; its files are unreferenced", "table", w.t.path, "bucket", bw.bucket, "err", c.err)
			} else if len(c.before) > 0 {
				msg.CompactBefore = append(msg.CompactBefore, c.before...)
				msg.CompactAfter = append(msg.CompactAfter, c.after...)
				bw.files = replaceFiles(bw.files, c.before, c.after)
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
	picker := lsm.Universal{MaxSizeAmp: w.opts.MaxSizeAmplification, SizeRatio: w.opts.SizeRatio, Trigger: w.opts.NumSortedRunTrigger}
	unit, ok := picker.Pick(levels.NumLevels, levels.SortedRuns())
	if !ok {
		return nil
	}
	dropDelete := unit.OutputLevel != 0 && unit.OutputLevel >= levels.NonEmptyHighestLevel()
	c := &bgCompaction{done: make(chan struct{})}
	bw.bg = c
	f := newFileFactory(w.t, w.schema, w.mem) // its own file names: it runs beside flushes
	split := &Split{Partition: bw.partition, Bucket: bw.bucket, BucketPath: bw.dir, Files: bw.files}
	ctx := w.bgCtx
	w.bgWG.Add(1)
	go func() {
		defer w.bgWG.Done()
		defer close(c.done)
		if w.budget != nil {
			if c.err = w.budget.Acquire(ctx); c.err != nil {
				return
			}
			defer w.budget.Release()
		}
		c.before, c.after, _, c.err = w.t.rewriteUnit(ctx, &f, nil, split, unit, levels.MaxLevel(), dropDelete, nil)
	}()
	return nil
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

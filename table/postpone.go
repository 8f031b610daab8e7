package table

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// compactPostpone moves the rows waiting in bucket-postpone of a postpone-bucket table
// (bucket = -2, written there by Paimon's streaming writers) into real buckets, as Paimon's
// postpone compaction does (CompactAction.buildForPostponeBucketCompaction): the files of
// each partition are replayed, with their row kinds, in the order they were written (their
// creation time) through a writer of the partition's bucket count (that of its real
// buckets, else postpone.default-bucket-num), and one COMPACT snapshot replaces the
// postpone files with the files written. The real buckets are compacted afterwards as any.
// o.Pick is told of each partition's postpone files as of bucket -2 and may skip them.
func (t *Table) compactPostpone(ctx context.Context, o CompactOptions, sum *CompactSummary) error {
	plan, err := t.Plan(ctx, ScanOptions{AllLevels: true, IncludePostpone: true})
	if err != nil || plan.Snapshot == nil {
		return err
	}
	var splits []*Split
	for i := range plan.Splits {
		s := &plan.Splits[i]
		if s.Bucket != format.PostponeBucket || o.Partition != nil && !o.Partition(s.PartitionValues) {
			continue
		}
		if o.Pick != nil && !o.Pick(newBucketPick(plan, s, len(s.Files), true, s.Files)) {
			continue
		}
		splits = append(splits, s)
	}
	if len(splits) == 0 {
		return nil
	}
	w, err := t.NewWriter(ctx, WriterOptions{})
	if err != nil {
		return err
	}
	defer w.Close()
	read := append(slices.Clip(w.schema.Fields), datafile.ValueKindField())
	var removed []CommitMessage
	for _, s := range splits {
		files := slices.Clone(s.Files)
		slices.SortStableFunc(files, func(a, b manifest.DataFileMeta) int {
			if c := cmpCreation(a.CreationTime, b.CreationTime); c != 0 {
				return c
			}
			return strings.Compare(a.FileName, b.FileName)
		})
		for i := range files {
			if err := t.replayFile(ctx, w, s, &files[i], read); err != nil {
				return fmt.Errorf("postpone compaction of partition %v: %w", s.PartitionValues, err)
			}
			sum.FilesIn++
			sum.BytesIn += files[i].FileSize
		}
		removed = append(removed, CommitMessage{Partition: s.Partition, Bucket: s.Bucket, TotalBuckets: s.TotalBuckets, CompactBefore: files})
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		return err
	}
	dirs := make([]string, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if dirs[i], err = t.bucketDirOf(w.schema, w.opts, m.Partition, m.Bucket); err != nil {
			return err
		}
		t.foldNewFiles(ctx, m, dirs[i])
		sum.FilesOut += len(m.CompactAfter)
		for _, f := range m.CompactAfter {
			sum.BytesOut += f.FileSize
		}
	}
	user := o.User
	if user == "" {
		user = "tarn-compact"
	}
	res, err := t.Commit(ctx, Commit{User: user, Identifier: format.BatchCommitIdentifier, Kind: format.CommitCompact, Messages: append(removed, msgs...)})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			// Another compaction took the postpone files first: nothing took these.
			t.removeCompactOutput(context.WithoutCancel(ctx), msgs, dirs)
		}
		return fmt.Errorf("postpone compaction: %w", err)
	}
	sum.Compacted += len(splits)
	sum.SnapshotID = res.SnapshotID
	return nil
}

// foldNewFiles turns a writer's message into a compaction's: its new files become
// compaction output, except those the writer's own compaction (lookup tables) already
// replaced in the same message: those no snapshot needs are removed, unless the
// compaction kept them under the same name at a higher level (Paimon's BucketFiles).
func (t *Table) foldNewFiles(ctx context.Context, m *CommitMessage, dir string) {
	fresh := map[string]bool{}
	for _, f := range m.NewFiles {
		fresh[f.FileName] = true
	}
	replaced, gone := map[string]bool{}, map[string]bool{}
	m.CompactBefore = slices.DeleteFunc(m.CompactBefore, func(f manifest.DataFileMeta) bool {
		if fresh[f.FileName] {
			replaced[f.FileName], gone[f.FileName] = true, true
			return true
		}
		return false
	})
	for _, f := range m.CompactAfter {
		delete(gone, f.FileName) // upgraded to a higher level, not rewritten
	}
	for name := range gone {
		p := fileio.Join(dir, name)
		if err := t.fio.Delete(ctx, p); err != nil {
			slog.Debug("cannot remove a file compacted before its commit", "path", p, "err", err)
		}
	}
	m.NewFiles = slices.DeleteFunc(m.NewFiles, func(f manifest.DataFileMeta) bool { return replaced[f.FileName] })
	m.CompactAfter = append(m.NewFiles, m.CompactAfter...)
	m.NewFiles = nil
	// One snapshot: the compaction increment's changelog and index files join the rest.
	m.ChangelogFiles = append(m.ChangelogFiles, m.CompactChangelogFiles...)
	m.NewIndexFiles = append(m.NewIndexFiles, m.CompactNewIndexFiles...)
	m.DeletedIndexFiles = append(m.DeletedIndexFiles, m.CompactDeletedIndexFiles...)
	m.CompactChangelogFiles, m.CompactNewIndexFiles, m.CompactDeletedIndexFiles = nil, nil, nil
}

// replayFile writes the rows of a postpone file, with their row kinds, into w.
func (t *Table) replayFile(ctx context.Context, w *Writer, s *Split, f *manifest.DataFileMeta, read []types.DataField) error {
	r, err := t.openDataFile(ctx, s, f, read, ReadOptions{Mem: w.mem})
	if err != nil {
		return err
	}
	defer r.Close()
	fields := slices.Clone(r.Schema().Fields())
	fields[len(fields)-1].Name = RowKindColumn
	schema := arrow.NewSchema(fields, nil)
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rb := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
		err = w.Write(ctx, rb)
		rb.Release()
		b.Release()
		if err != nil {
			return fmt.Errorf("data file %s: %w", f.FileName, err)
		}
	}
}

func cmpCreation(a, b *int64) int {
	var x, y int64
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	return cmp.Compare(x, y)
}

package table

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// manifestWriter writes manifests and manifest lists of one table. Files are encoded at
// once and uploaded in the background, a few at a time: wait returns when every upload
// is done, and a commit waits before it creates the snapshot that references them.
type manifestWriter struct {
	t      *Table
	fields []types.DataField // partition fields
	codec  string
	// manifest.target-file-size, manifest.merge-min-count and
	// manifest.full-compaction-threshold-size
	target, fullCompactionSize int64
	mergeMinCount              int
	uuid                       string
	n                          int64
	listUUID                   string
	listN                      int64

	uploads   sync.WaitGroup
	slots     chan struct{} // bounds the uploads in flight (and the buffers they hold)
	errMu     sync.Mutex
	uploadErr error
}

// maxUploads is how many manifest files a commit uploads at once.
const maxUploads = 8

func (t *Table) manifestWriter(schema *format.TableSchema, opts CoreOptions) *manifestWriter {
	return &manifestWriter{t: t, fields: schema.PartitionType(), codec: opts.ManifestCompression, uuid: newUUID(), listUUID: newUUID(),
		target: opts.ManifestTargetSize, fullCompactionSize: opts.ManifestFullCompactionSize, mergeMinCount: opts.ManifestMergeMinCount,
		slots: make(chan struct{}, maxUploads)}
}

func (mw *manifestWriter) options() manifest.WriterOptions {
	return manifest.WriterOptions{Codec: mw.codec}
}

// put uploads data to p in the background.
func (mw *manifestWriter) put(ctx context.Context, p string, data []byte) error {
	select {
	case mw.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	mw.uploads.Go(func() {
		defer func() { <-mw.slots }()
		if err := mw.t.fio.WriteFile(ctx, p, data); err != nil {
			mw.errMu.Lock()
			if mw.uploadErr == nil {
				mw.uploadErr = err
			}
			mw.errMu.Unlock()
		}
	})
	return nil
}

// wait waits for the uploads started so far and returns the first error.
func (mw *manifestWriter) wait() error {
	mw.uploads.Wait()
	mw.errMu.Lock()
	defer mw.errMu.Unlock()
	return mw.uploadErr
}

// writeManifests writes entries as manifest files rolled at the target size.
func (mw *manifestWriter) writeManifests(ctx context.Context, entries []manifest.ManifestEntry, schemaID int64) ([]manifest.ManifestFileMeta, error) {
	r := mw.roller(schemaID)
	for i := range entries {
		if err := r.add(ctx, &entries[i]); err != nil {
			return nil, err
		}
	}
	return r.finish(ctx)
}

// manifestRoller writes entries, added one by one, as manifest files of the target size.
type manifestRoller struct {
	mw       *manifestWriter
	schemaID int64
	cur      *manifest.Writer[manifest.ManifestEntry]
	buf      *bytes.Buffer
	path     string
	meta     manifest.ManifestFileMeta
	stats    *partitionStats
	done     []manifest.ManifestFileMeta
}

func (mw *manifestWriter) roller(schemaID int64) *manifestRoller {
	return &manifestRoller{mw: mw, schemaID: schemaID}
}

func (r *manifestRoller) add(ctx context.Context, e *manifest.ManifestEntry) error {
	mw := r.mw
	if r.cur == nil {
		name := format.MetaFileName(format.ManifestPrefix, mw.uuid, mw.n)
		mw.n++
		r.path = mw.t.Join(format.ManifestPath(name))
		r.buf = new(bytes.Buffer) // the upload keeps it
		w, err := manifest.NewManifestFileWriter(r.buf, r.path, mw.options())
		if err != nil {
			return err
		}
		r.cur = w
		r.meta = manifest.ManifestFileMeta{FileName: name, SchemaID: r.schemaID}
		r.stats = newPartitionStats(mw.fields)
	}
	if err := r.cur.Write(e); err != nil {
		return err
	}
	meta := &r.meta
	if e.Kind == manifest.FileKindAdd {
		meta.NumAddedFiles++
	} else {
		meta.NumDeletedFiles++
	}
	if err := r.stats.add(e.Partition); err != nil {
		return fmt.Errorf("partition of %s: %w", e.File.FileName, err)
	}
	b, l := e.Bucket, e.File.Level
	if meta.MinBucket == nil {
		meta.MinBucket, meta.MaxBucket, meta.MinLevel, meta.MaxLevel = &b, ptrTo(b), &l, ptrTo(l)
	} else {
		*meta.MinBucket, *meta.MaxBucket = min(*meta.MinBucket, b), max(*meta.MaxBucket, b)
		*meta.MinLevel, *meta.MaxLevel = min(*meta.MinLevel, l), max(*meta.MaxLevel, l)
	}
	if r.cur.Size() >= mw.target {
		return r.closeCurrent(ctx)
	}
	return nil
}

func (r *manifestRoller) closeCurrent(ctx context.Context) error {
	w := r.cur
	r.cur = nil
	if err := w.Close(); err != nil {
		return err
	}
	r.meta.FileSize = int64(r.buf.Len())
	var err error
	if r.meta.PartitionStats, err = r.stats.result(); err != nil {
		return err
	}
	if err := r.mw.put(ctx, r.path, r.buf.Bytes()); err != nil {
		return err
	}
	r.done = append(r.done, r.meta)
	return nil
}

// finish closes the open file and returns every file written.
func (r *manifestRoller) finish(ctx context.Context) ([]manifest.ManifestFileMeta, error) {
	if r.cur != nil {
		if err := r.closeCurrent(ctx); err != nil {
			return nil, err
		}
	}
	return r.done, nil
}

// writeList writes a manifest list and returns its name and size.
func (mw *manifestWriter) writeList(ctx context.Context, metas []manifest.ManifestFileMeta) (string, int64, error) {
	name := format.MetaFileName(format.ManifestListPrefix, mw.listUUID, mw.listN)
	mw.listN++
	p := mw.t.Join(format.ManifestPath(name))
	var buf bytes.Buffer
	if _, err := manifest.WriteManifestList(&buf, p, metas, mw.options()); err != nil {
		return "", 0, err
	}
	if err := mw.put(ctx, p, buf.Bytes()); err != nil {
		return "", 0, err
	}
	mw.t.lists.put(name, metas)
	return name, int64(buf.Len()), nil
}

// listCache keeps the contents of the manifest lists a Table wrote last.
type listCache struct {
	mu    sync.Mutex
	names []string // oldest first
	metas map[string][]manifest.ManifestFileMeta
}

const listCacheSize = 8

func (c *listCache) put(name string, metas []manifest.ManifestFileMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metas == nil {
		c.metas = map[string][]manifest.ManifestFileMeta{}
	}
	if len(c.names) == listCacheSize {
		delete(c.metas, c.names[0])
		c.names = c.names[1:]
	}
	c.names = append(c.names, name)
	c.metas[name] = slices.Clone(metas)
}

func (c *listCache) get(name string) ([]manifest.ManifestFileMeta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.metas[name]
	return slices.Clone(m), ok
}

// mergeManifests is Paimon's ManifestFileMerger.merge of a snapshot's manifests: a full
// compaction when the manifests that must change (those with deletions or below
// manifest.target-file-size) add up to manifest.full-compaction-threshold-size, else a
// minor compaction. Old manifest files are left for expiry to delete.
func (mw *manifestWriter) mergeManifests(ctx context.Context, metas []manifest.ManifestFileMeta, schemaID int64) ([]manifest.ManifestFileMeta, error) {
	out, ok, err := mw.fullCompaction(ctx, metas, schemaID)
	if err != nil || ok {
		return out, err
	}
	return mw.minorCompaction(ctx, metas, schemaID)
}

// minorCompaction merges runs of consecutive manifests that reach the target size
// together, and the last run when it holds manifest.merge-min-count files; a run of one
// file is kept as it is.
func (mw *manifestWriter) minorCompaction(ctx context.Context, metas []manifest.ManifestFileMeta, schemaID int64) ([]manifest.ManifestFileMeta, error) {
	var result, candidates []manifest.ManifestFileMeta
	var size int64
	for _, m := range metas {
		size += m.FileSize
		candidates = append(candidates, m)
		if size >= mw.target {
			merged, err := mw.mergeCandidates(ctx, candidates, schemaID)
			if err != nil {
				return nil, err
			}
			result = append(result, merged...)
			candidates, size = nil, 0
		}
	}
	if len(candidates) < mw.mergeMinCount {
		return append(result, candidates...), nil
	}
	merged, err := mw.mergeCandidates(ctx, candidates, schemaID)
	return append(result, merged...), err
}

// mergeCandidates rewrites manifests as one run of files: an ADD and a DELETE of a file
// cancel, a DELETE whose ADD is in an earlier manifest stays (manifest.EntryMerger).
func (mw *manifestWriter) mergeCandidates(ctx context.Context, candidates []manifest.ManifestFileMeta, schemaID int64) ([]manifest.ManifestFileMeta, error) {
	if len(candidates) == 1 {
		return candidates, nil
	}
	merger := manifest.NewEntryMerger()
	for _, m := range candidates {
		es, err := mw.t.ReadManifest(ctx, m.FileName)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if err := merger.Add(e); err != nil {
				return nil, err
			}
		}
	}
	return mw.writeManifests(ctx, merger.Entries(), schemaID)
}

// fullCompaction drops every DELETE entry and the ADD entries of the files they delete
// (ManifestFileMerger.tryFullCompaction). Manifests that need no change are kept as they
// are: large ones without deletions whose partition range holds no partition with a
// deleted file, and those found to hold no deleted file. ok is false when no full
// compaction is due.
func (mw *manifestWriter) fullCompaction(ctx context.Context, metas []manifest.ManifestFileMeta, schemaID int64) (out []manifest.ManifestFileMeta, ok bool, err error) {
	mustChange := func(m *manifest.ManifestFileMeta) bool { return m.NumDeletedFiles > 0 || m.FileSize < mw.target }
	var delta int64
	for i := range metas {
		if mustChange(&metas[i]) {
			delta += metas[i].FileSize
		}
	}
	if delta < mw.fullCompactionSize {
		return nil, false, nil
	}
	deleted := map[manifest.Identifier]bool{}
	partitions := map[string][]any{}                     // the values of the partitions holding a deleted file
	unknown := false                                     // a partition that did not decode: no manifest is skipped unread
	withDeletes := map[string][]manifest.ManifestEntry{} // read here, rewritten below
	for _, m := range metas {
		if m.NumDeletedFiles == 0 {
			continue
		}
		es, err := mw.t.ReadManifest(ctx, m.FileName)
		if err != nil {
			return nil, false, err
		}
		withDeletes[m.FileName] = es
		for _, e := range es {
			if e.Kind != manifest.FileKindDelete {
				continue
			}
			deleted[e.Identifier()] = true
			if _, ok := partitions[string(e.Partition)]; !ok && len(mw.fields) > 0 {
				vals, err := partitionValues(mw.fields, e.Partition)
				unknown = unknown || err != nil
				partitions[string(e.Partition)] = vals
			}
		}
	}
	var result, toMerge []manifest.ManifestFileMeta
	for i := range metas {
		m := &metas[i]
		if mustChange(m) || (len(deleted) > 0 && (unknown || mw.mayHoldPartitions(m, partitions))) {
			toMerge = append(toMerge, *m)
		} else {
			result = append(result, *m)
		}
	}
	if len(toMerge) <= 1 {
		return nil, false, nil
	}
	r := mw.roller(schemaID)
	for _, m := range toMerge {
		es, ok := withDeletes[m.FileName]
		delete(withDeletes, m.FileName)
		if !ok {
			var err error
			if es, err = mw.t.ReadManifest(ctx, m.FileName); err != nil {
				return nil, false, err
			}
		}
		change := mustChange(&m)
		keep := es[:0]
		for _, e := range es {
			switch {
			case e.Kind == manifest.FileKindDelete:
			case deleted[e.Identifier()]:
				change = true
			default:
				keep = append(keep, e)
			}
		}
		if !change {
			result = append(result, m)
			continue
		}
		for i := range keep {
			if err := r.add(ctx, &keep[i]); err != nil {
				return nil, false, err
			}
		}
	}
	written, err := r.finish(ctx)
	if err != nil {
		return nil, false, err
	}
	return append(result, written...), true, nil
}

// mayHoldPartitions reports whether a manifest's partition range may hold one of the
// partitions (their values); true when unpartitioned or when the range cannot be read.
func (mw *manifestWriter) mayHoldPartitions(m *manifest.ManifestFileMeta, partitions map[string][]any) bool {
	if len(mw.fields) == 0 {
		return true
	}
	st := m.PartitionStats
	los, err1 := partitionValues(mw.fields, st.MinValues)
	his, err2 := partitionValues(mw.fields, st.MaxValues)
	if err1 != nil || err2 != nil {
		return true
	}
	for _, vals := range partitions {
		if partitionInRange(vals, los, his, st.NullCounts) {
			return true
		}
	}
	return false
}

// partitionValues decodes a serialized BinaryRow of the partition fields.
func partitionValues(fields []types.DataField, b []byte) ([]any, error) {
	row, err := binaryrow.Deserialize(b)
	if err != nil {
		return nil, err
	}
	if row.Arity() != len(fields) {
		return nil, fmt.Errorf("partition row of %d fields, want %d", row.Arity(), len(fields))
	}
	return row.Values(fields)
}

// partitionInRange reports whether a partition's values lie within the ranges of a
// manifest's partition statistics (a null value: within if the column has nulls or
// their count is unknown).
func partitionInRange(vals, los, his []any, nulls []*int64) bool {
	for i, v := range vals {
		if v == nil {
			if i < len(nulls) && nulls[i] != nil && *nulls[i] == 0 {
				return false
			}
			continue
		}
		if los[i] == nil || his[i] == nil {
			return false // the manifest holds only nulls in this column
		}
		if binaryrow.Compare(v, los[i]) < 0 || binaryrow.Compare(v, his[i]) > 0 {
			return false
		}
	}
	return true
}

// partitionStats accumulates SimpleStats over partitions.
type partitionStats struct {
	fields   []types.DataField
	min, max []any
	nulls    []int64
}

func newPartitionStats(fields []types.DataField) *partitionStats {
	return &partitionStats{fields: fields, min: make([]any, len(fields)), max: make([]any, len(fields)), nulls: make([]int64, len(fields))}
}

// add counts one manifest entry's partition, as Paimon's collector does per entry.
func (ps *partitionStats) add(partition []byte) error {
	if len(ps.fields) == 0 {
		return nil
	}
	vals, err := partitionValues(ps.fields, partition)
	if err != nil {
		return err
	}
	for i, v := range vals {
		if v == nil {
			ps.nulls[i]++
			continue
		}
		if ps.min[i] == nil || binaryrow.Compare(v, ps.min[i]) < 0 {
			ps.min[i] = v
		}
		if ps.max[i] == nil || binaryrow.Compare(v, ps.max[i]) > 0 {
			ps.max[i] = v
		}
	}
	return nil
}

func (ps *partitionStats) result() (manifest.SimpleStats, error) {
	lo, err := binaryrow.Encode(ps.fields, ps.min)
	if err != nil {
		return manifest.SimpleStats{}, err
	}
	hi, err := binaryrow.Encode(ps.fields, ps.max)
	if err != nil {
		return manifest.SimpleStats{}, err
	}
	nulls := make([]*int64, len(ps.nulls))
	for i := range ps.nulls {
		nulls[i] = ptrTo(ps.nulls[i])
	}
	return manifest.SimpleStats{MinValues: lo.Serialize(), MaxValues: hi.Serialize(), NullCounts: nulls}, nil
}

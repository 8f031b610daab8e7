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

// Paimon's defaults for manifest maintenance (CoreOptions manifest.target-file-size,
// manifest.merge-min-count).
const (
	manifestTargetSize = 8 << 20
	manifestMergeMin   = 30
)

// manifestWriter writes manifests and manifest lists of one table. Files are encoded at
// once and uploaded in the background, a few at a time: wait returns when every upload
// is done, and a commit waits before it creates the snapshot that references them.
type manifestWriter struct {
	t        *Table
	fields   []types.DataField // partition fields
	codec    string
	uuid     string
	n        int64
	listUUID string
	listN    int64

	uploads   sync.WaitGroup
	slots     chan struct{} // bounds the uploads in flight (and the buffers they hold)
	errMu     sync.Mutex
	uploadErr error
}

// maxUploads is how many manifest files a commit uploads at once.
const maxUploads = 8

func (t *Table) manifestWriter(schema *format.TableSchema, opts CoreOptions) *manifestWriter {
	return &manifestWriter{t: t, fields: schema.PartitionType(), codec: opts.ManifestCompression, uuid: newUUID(), listUUID: newUUID(),
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
	var out []manifest.ManifestFileMeta
	for start := 0; start < len(entries); {
		name := format.MetaFileName(format.ManifestPrefix, mw.uuid, mw.n)
		mw.n++
		p := mw.t.Join(format.ManifestPath(name))
		var buf bytes.Buffer
		w, err := manifest.NewManifestFileWriter(&buf, p, mw.options())
		if err != nil {
			return nil, err
		}
		meta := manifest.ManifestFileMeta{FileName: name, SchemaID: schemaID}
		stats := newPartitionStats(mw.fields)
		i := start
		for ; i < len(entries) && (i == start || w.Size() < manifestTargetSize); i++ {
			e := &entries[i]
			if err := w.Write(e); err != nil {
				return nil, err
			}
			if e.Kind == manifest.FileKindAdd {
				meta.NumAddedFiles++
			} else {
				meta.NumDeletedFiles++
			}
			if err := stats.add(e.Partition); err != nil {
				return nil, fmt.Errorf("partition of %s: %w", e.File.FileName, err)
			}
			b, l := e.Bucket, e.File.Level
			if meta.MinBucket == nil {
				meta.MinBucket, meta.MaxBucket, meta.MinLevel, meta.MaxLevel = &b, ptrTo(b), &l, ptrTo(l)
			} else {
				*meta.MinBucket, *meta.MaxBucket = min(*meta.MinBucket, b), max(*meta.MaxBucket, b)
				*meta.MinLevel, *meta.MaxLevel = min(*meta.MinLevel, l), max(*meta.MaxLevel, l)
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		meta.FileSize = int64(buf.Len())
		if meta.PartitionStats, err = stats.result(); err != nil {
			return nil, err
		}
		if err := mw.put(ctx, p, buf.Bytes()); err != nil {
			return nil, err
		}
		out = append(out, meta)
		start = i
	}
	return out, nil
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

// compactManifests merges the manifests of a snapshot into fewer files once there are
// manifest.merge-min-count of them: entries are merged (ADD then DELETE of a file
// cancel) and rewritten. Old manifest files are left for expiry to delete.
func (mw *manifestWriter) compactManifests(ctx context.Context, t *Table, metas []manifest.ManifestFileMeta, schemaID int64) ([]manifest.ManifestFileMeta, error) {
	if len(metas) < manifestMergeMin {
		return metas, nil
	}
	merger := manifest.NewEntryMerger()
	for _, m := range metas {
		es, err := t.ReadManifest(ctx, m.FileName)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if err := merger.Add(e); err != nil {
				return nil, err
			}
		}
	}
	var live []manifest.ManifestEntry
	for _, e := range merger.Entries() {
		if e.Kind == manifest.FileKindAdd {
			live = append(live, e)
		}
	}
	return mw.writeManifests(ctx, live, schemaID)
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
	row, err := binaryrow.Deserialize(partition)
	if err != nil {
		return err
	}
	vals, err := row.Values(ps.fields)
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

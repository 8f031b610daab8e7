package rest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// partitionStats are the live files of one partition of a snapshot.
type partitionStats struct {
	Spec         map[string]string
	Name         string // "k1=v1/k2=v2", "" for an unpartitioned table
	RecordCount  int64
	FileSize     int64
	FileCount    int64
	LastFileTime int64 // newest file creation time seen, epoch millis
	TotalBuckets int
	Buckets      int // buckets holding files

	bucketFiles map[int32]int64
}

// snapshotStats summarise a snapshot's live files.
type snapshotStats struct {
	TimeMillis   int64 // the snapshot's, to tell a re-created table's snapshot apart
	RecordCount  int64
	FileSize     int64
	FileCount    int64
	LastFileTime int64
	Partitions   []partitionStats // sorted by Name
}

// statsCache keeps snapshot summaries by table path and snapshot id. Snapshots never
// change; an entry whose commit time differs from the snapshot's belongs to a dropped
// table of the same name.
type statsCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*snapshotStats
}

func newStatsCache(max int) *statsCache {
	return &statsCache{max: max, m: map[string]*snapshotStats{}}
}

func statsKey(t *table.Table, id int64) string { return fmt.Sprintf("%s\x00%d", t.Path(), id) }

func (c *statsCache) get(key string, timeMillis int64) *snapshotStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[key]; s != nil && s.TimeMillis == timeMillis {
		return s
	}
	return nil
}

func (c *statsCache) put(key string, s *snapshotStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[key] = s
}

// snapshotStats sums a snapshot's live files per partition. When the previous snapshot's
// summary is known, only the snapshot's delta manifests are read (the live files of
// snapshot N are those of N-1 and N's delta); otherwise the snapshot is planned.
func (a *API) snapshotStats(ctx context.Context, t *table.Table, snap *format.Snapshot) (*snapshotStats, error) {
	if s := a.stats.get(statsKey(t, snap.ID), snap.TimeMillis); s != nil {
		return s, nil
	}
	schema, err := t.Schema(ctx, snap.SchemaID)
	if err != nil {
		return nil, err
	}
	acc := newStatsBuilder(schema)
	if prev := a.previousStats(ctx, t, snap); prev != nil {
		acc.load(prev)
		if err := acc.applyDelta(ctx, t, snap); err != nil {
			return nil, err
		}
	} else {
		plan, err := t.Plan(ctx, table.ScanOptions{SnapshotID: snap.ID, AllLevels: true})
		if err != nil {
			return nil, err
		}
		for _, sp := range plan.Splits {
			for i := range sp.Files {
				if err := acc.add(sp.Partition, int32(sp.Bucket), int32(sp.TotalBuckets), &sp.Files[i], 1); err != nil {
					return nil, err
				}
			}
		}
	}
	s := acc.build(snap.TimeMillis)
	a.stats.put(statsKey(t, snap.ID), s)
	return s, nil
}

// previousStats returns the cached summary of the snapshot before snap, if any.
func (a *API) previousStats(ctx context.Context, t *table.Table, snap *format.Snapshot) *snapshotStats {
	if snap.ID <= 1 {
		return nil
	}
	a.stats.mu.Lock()
	cached := a.stats.m[statsKey(t, snap.ID-1)]
	a.stats.mu.Unlock()
	if cached == nil {
		return nil
	}
	prev, err := t.Snapshot(ctx, snap.ID-1)
	if err != nil || prev.TimeMillis != cached.TimeMillis || prev.SchemaID != snap.SchemaID {
		return nil
	}
	return cached
}

// statsBuilder accumulates file statistics per partition.
type statsBuilder struct {
	schema *format.TableSchema
	opts   table.CoreOptions
	parts  map[string]*partitionStats // by serialized partition
}

func newStatsBuilder(schema *format.TableSchema) *statsBuilder {
	return &statsBuilder{schema: schema, opts: table.ParseCoreOptions(schema.Options), parts: map[string]*partitionStats{}}
}

// load starts from a previous summary (copied: cached summaries are shared).
func (b *statsBuilder) load(s *snapshotStats) {
	for _, p := range s.Partitions {
		c := p
		c.bucketFiles = make(map[int32]int64, len(p.bucketFiles))
		for k, v := range p.bucketFiles {
			c.bucketFiles[k] = v
		}
		b.parts["name:"+p.Name] = &c
	}
}

// applyDelta adds the files a snapshot's delta manifests add and removes those they
// delete.
func (b *statsBuilder) applyDelta(ctx context.Context, t *table.Table, snap *format.Snapshot) error {
	metas, err := t.ReadManifestList(ctx, snap.DeltaManifestList)
	if err != nil {
		return err
	}
	for _, m := range metas {
		entries, err := t.ReadManifest(ctx, m.FileName)
		if err != nil {
			return err
		}
		for i := range entries {
			e := &entries[i]
			sign := int64(1)
			if e.Kind == manifest.FileKindDelete {
				sign = -1
			}
			if err := b.add(e.Partition, e.Bucket, e.TotalBuckets, &e.File, sign); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *statsBuilder) add(partition []byte, bucket, totalBuckets int32, f *manifest.DataFileMeta, sign int64) error {
	p, err := b.partition(partition)
	if err != nil {
		return fmt.Errorf("partition of %s: %w", f.FileName, err)
	}
	p.RecordCount += sign * f.RowCount
	p.FileSize += sign * f.FileSize
	p.FileCount += sign
	p.bucketFiles[bucket] += sign
	if totalBuckets != 0 {
		p.TotalBuckets = int(totalBuckets)
	}
	if t, ok := f.CreatedAt(); sign > 0 && ok && t.UnixMilli() > p.LastFileTime {
		p.LastFileTime = t.UnixMilli() // epoch milliseconds, as Paimon's creationTimeEpochMillis
	}
	return nil
}

// partition finds (or starts) the statistics of a serialized partition.
func (b *statsBuilder) partition(serialized []byte) (*partitionStats, error) {
	if p := b.parts[string(serialized)]; p != nil {
		return p, nil
	}
	var values []any
	if fields := b.schema.PartitionType(); len(fields) > 0 {
		row, err := binaryrow.Deserialize(serialized)
		if err != nil {
			return nil, err
		}
		if values, err = row.Values(fields); err != nil {
			return nil, err
		}
	}
	spec := partitionSpec(b.schema, values, b.opts)
	name := specName(b.schema.PartitionKeys, spec)
	p := b.parts["name:"+name]
	if p == nil {
		p = &partitionStats{Spec: spec, Name: name, bucketFiles: map[int32]int64{}}
		b.parts["name:"+name] = p
	}
	b.parts[string(serialized)] = p
	return p, nil
}

func (b *statsBuilder) build(timeMillis int64) *snapshotStats {
	s := &snapshotStats{TimeMillis: timeMillis}
	seen := map[*partitionStats]bool{}
	for _, p := range b.parts {
		if seen[p] {
			continue
		}
		seen[p] = true
		p.Buckets = 0
		for k, n := range p.bucketFiles {
			if n > 0 {
				p.Buckets++
			} else {
				delete(p.bucketFiles, k)
			}
		}
		if p.FileCount <= 0 {
			continue // every file of the partition was deleted
		}
		s.Partitions = append(s.Partitions, *p)
		s.RecordCount += p.RecordCount
		s.FileSize += p.FileSize
		s.FileCount += p.FileCount
		s.LastFileTime = max(s.LastFileTime, p.LastFileTime)
	}
	sort.Slice(s.Partitions, func(i, j int) bool { return s.Partitions[i].Name < s.Partitions[j].Name })
	return s
}

// partitionSpec renders partition values as Paimon names them (InternalRowPartitionComputer):
// the default partition name for nulls.
func partitionSpec(schema *format.TableSchema, values []any, opts table.CoreOptions) map[string]string {
	spec := make(map[string]string, len(schema.PartitionKeys))
	fields := schema.PartitionType()
	for i, f := range fields {
		if i >= len(values) || values[i] == nil {
			spec[f.Name] = opts.PartitionDefaultName
			continue
		}
		spec[f.Name] = table.PartitionValueString(values[i], f.Type, opts.PartitionLegacyName)
	}
	return spec
}

// specName is the partition's "k1=v1/k2=v2" name, in partition key order.
func specName(keys []string, spec map[string]string) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+spec[k])
	}
	return strings.Join(parts, "/")
}

package rest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// partitionStats are the live files of one partition of a snapshot.
type partitionStats struct {
	Spec         map[string]string
	Name         string // "k1=v1/k2=v2", "" for an unpartitioned table
	RecordCount  int64
	FileSize     int64
	FileCount    int64
	LastFileTime int64 // newest file creation time, epoch millis
	TotalBuckets int
	Buckets      int // buckets holding files
}

// snapshotStats summarise a snapshot's live files.
type snapshotStats struct {
	RecordCount  int64
	FileSize     int64
	FileCount    int64
	LastFileTime int64
	Partitions   []partitionStats // sorted by Name
}

// statsCache keeps snapshot summaries: snapshots never change, so the summary of a table
// path, snapshot id and commit time stays right.
type statsCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*snapshotStats
}

func newStatsCache(max int) *statsCache {
	return &statsCache{max: max, m: map[string]*snapshotStats{}}
}

func (c *statsCache) get(key string) *snapshotStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
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

// snapshotStats plans the snapshot (all levels) and sums its live files per partition.
func (a *API) snapshotStats(ctx context.Context, t *table.Table, snap *format.Snapshot) (*snapshotStats, error) {
	key := fmt.Sprintf("%s\x00%d\x00%d", t.Path(), snap.ID, snap.TimeMillis)
	if s := a.stats.get(key); s != nil {
		return s, nil
	}
	plan, err := t.Plan(ctx, table.ScanOptions{SnapshotID: snap.ID, AllLevels: true})
	if err != nil {
		return nil, err
	}
	s := summarize(plan)
	a.stats.put(key, s)
	return s, nil
}

// summarize sums a plan's files per partition.
func summarize(plan *table.Plan) *snapshotStats {
	s := &snapshotStats{}
	if plan.Schema == nil {
		return s
	}
	opts := table.ParseCoreOptions(plan.Schema.Options)
	byName := map[string]*partitionStats{}
	for _, sp := range plan.Splits {
		spec := partitionSpec(plan.Schema, sp.PartitionValues, opts)
		name := specName(plan.Schema.PartitionKeys, spec)
		p := byName[name]
		if p == nil {
			p = &partitionStats{Spec: spec, Name: name, TotalBuckets: sp.TotalBuckets}
			byName[name] = p
		}
		p.Buckets++
		for _, f := range sp.Files {
			p.RecordCount += f.RowCount
			p.FileSize += f.FileSize
			p.FileCount++
			if f.CreationTime != nil && *f.CreationTime > p.LastFileTime {
				p.LastFileTime = *f.CreationTime
			}
		}
	}
	for _, p := range byName {
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

// Package compaction runs table compactions as jobs: over a warehouse, a database, a table
// or some partitions, from the command line (safe from cron while writers are live) or
// from the server's background workers under a shared budget.
package compaction

import (
	"context"
	"fmt"
	"strings"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// JobOptions select what a job compacts.
type JobOptions struct {
	Database  string              // "" for every database
	Table     *catalog.Identifier // nil for every table of Database
	Partition map[string]string   // partition column -> value (as in paths); nil for all
	Full      bool
	// Progress is told about each bucket done: table, buckets done, buckets total.
	Progress func(table string, done, total int)
}

// TableResult is the outcome of one table.
type TableResult struct {
	Table   catalog.Identifier
	Summary table.CompactSummary
	Err     error
}

// Run compacts the selected tables one after another and reports each table's outcome.
// A failing table (e.g. a conflicting concurrent compaction) does not stop the others.
func Run(ctx context.Context, cat *catalog.Catalog, o JobOptions) ([]TableResult, error) {
	var ids []catalog.Identifier
	switch {
	case o.Table != nil:
		ids = []catalog.Identifier{*o.Table}
	default:
		dbs := []string{o.Database}
		if o.Database == "" {
			var err error
			if dbs, err = cat.ListDatabases(ctx); err != nil {
				return nil, err
			}
		}
		for _, db := range dbs {
			tables, err := cat.ListTables(ctx, db)
			if err != nil {
				return nil, err
			}
			for _, t := range tables {
				ids = append(ids, catalog.Identifier{Database: db, Table: t})
			}
		}
	}
	var out []TableResult
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res := TableResult{Table: id}
		t, err := cat.LoadTable(ctx, id)
		if err != nil {
			res.Err = err
			out = append(out, res)
			continue
		}
		co := table.CompactOptions{Full: o.Full, User: "tarn-compact-job"}
		if o.Partition != nil {
			pf, err := partitionFilter(ctx, t, o.Partition)
			if err != nil {
				res.Err = err
				out = append(out, res)
				continue
			}
			co.Partition = pf
		}
		if o.Progress != nil {
			name := id.String()
			co.Progress = func(done, total int) { o.Progress(name, done, total) }
		}
		res.Summary, res.Err = t.Compact(ctx, co)
		out = append(out, res)
	}
	return out, nil
}

// partitionFilter matches partitions whose values print (as in partition paths) equal to
// the given strings.
func partitionFilter(ctx context.Context, t *table.Table, spec map[string]string) (func([]any) bool, error) {
	s, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, k := range s.PartitionKeys {
		idx[k] = i
	}
	for k := range spec {
		if _, ok := idx[k]; !ok {
			return nil, fmt.Errorf("%q is not a partition key of %s (partition keys: %s)", k, t.Path(), strings.Join(s.PartitionKeys, ", "))
		}
	}
	opts := table.ParseCoreOptions(s.Options)
	fields := s.PartitionType()
	return func(values []any) bool {
		for k, want := range spec {
			i := idx[k]
			if values[i] == nil {
				if want != opts.PartitionDefaultName && want != "null" {
					return false
				}
				continue
			}
			if table.PartitionValueString(values[i], fields[i].Type, opts.PartitionLegacyName) != want &&
				table.PartitionValueString(values[i], fields[i].Type, false) != want {
				return false
			}
		}
		return true
	}, nil
}

// ParsePartition parses "k=v,k2=v2".
func ParsePartition(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("partition %q: want k=v[,k=v]", s)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

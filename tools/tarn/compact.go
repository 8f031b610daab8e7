package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/internal/progress"
)

func init() {
	register("compact", "compact tables (a job safe to run from cron while writers are live)", cmdCompact)
}

func cmdCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compact", "--warehouse W [--database D] [--table db.table] [--partition k=v,...] [--full]", stderr)
	st := addStorageFlags(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	database := fs.String("database", "", "compact only this database")
	tableName := fs.String("table", "", "compact only this table (db.table)")
	partition := fs.String("partition", "", "compact only this partition, e.g. dt=2024-01-01,hr=10")
	full := fs.Bool("full", false, "full compaction: one sorted run per bucket on the top level")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *warehouse == "" || len(pos) > 0 {
		return usagef("need --warehouse and no positional arguments")
	}
	o := compaction.JobOptions{Database: *database, Full: *full}
	if *tableName != "" {
		id, err := catalog.ParseIdentifier(*tableName)
		if err != nil {
			return usagef("--table: %v", err)
		}
		o.Table = &id
	}
	if o.Partition, err = compaction.ParsePartition(*partition); err != nil {
		return usagef("--partition: %v", err)
	}
	if o.Partition != nil && o.Table == nil {
		return usagef("--partition needs --table")
	}
	fio, err := st.open(ctx, *warehouse)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	bars := map[string]*progress.Bar{}
	o.Progress = func(name string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		b := bars[name]
		if b == nil {
			b = progress.New(stderr, "compacting "+name, "buckets", int64(total))
			bars[name] = b
		}
		b.Add(1, 0)
		if done == total {
			b.Done()
		}
	}
	start := time.Now()
	results, err := compaction.Run(ctx, catalog.New(fio, *warehouse), o)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "table\tbuckets\tcompacted\tfiles in\tfiles out\tupgraded\tbytes in\tbytes out\tsnapshot\ttime\tresult")
	failed := 0
	for _, r := range results {
		s := r.Summary
		status := "ok"
		if s.Skipped != "" {
			status = "skipped: " + s.Skipped
		}
		if r.Err != nil {
			status = "error: " + r.Err.Error()
			failed++
		}
		snap := "-"
		if s.SnapshotID > 0 {
			snap = fmt.Sprint(s.SnapshotID)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Table, s.Buckets, s.Compacted, s.FilesIn, s.FilesOut, s.Upgraded,
			humanBytes(s.BytesIn), humanBytes(s.BytesOut), snap, s.Duration.Round(time.Millisecond), status)
	}
	w.Flush()
	fmt.Fprintf(stdout, "%d tables in %s\n", len(results), time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%d of %d tables failed; rerun to retry them", failed, len(results))
	}
	return nil
}

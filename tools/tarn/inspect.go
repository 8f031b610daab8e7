package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

func init() {
	register("inspect", "show a table's schema, snapshots, tags and files per bucket and level", cmdInspect)
}

func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "TABLE [flags]", stderr)
	tf := addTableFlags(fs)
	snapshot := fs.Int64("snapshot", 0, "show the files of this snapshot (default: latest)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := tf.open(ctx, pos)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "Table %s\n\n", t.Path())

	ids, err := t.SchemaIDs(ctx)
	if err != nil {
		return err
	}
	s, err := t.LatestSchema(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Schema %d (of %d; highest field id %d)\n", s.ID, len(ids), s.HighestFieldID)
	fmt.Fprintln(w, "  id\tcolumn\ttype\tkey")
	for _, f := range s.Fields {
		var key []string
		for _, k := range s.PrimaryKeys {
			if k == f.Name {
				key = append(key, "primary")
			}
		}
		for _, k := range s.PartitionKeys {
			if k == f.Name {
				key = append(key, "partition")
			}
		}
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\n", f.ID, f.Name, f.Type, strings.Join(key, ","))
	}
	if s.Options.Len() > 0 {
		fmt.Fprintln(w, "\nOptions")
		for _, k := range s.Options.Keys() {
			v, _ := s.Options.Get(k)
			fmt.Fprintf(w, "  %s\t%s\n", k, v)
		}
	}

	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSnapshots (%d)\n", len(snaps))
	if len(snaps) > 0 {
		fmt.Fprintln(w, "  id\tkind\tcommitted (UTC)\tschema\ttotal rows\tdelta rows\tchangelog rows")
	}
	for _, sn := range snaps {
		fmt.Fprintf(w, "  %d\t%s\t%s\t%d\t%s\t%s\t%s\n", sn.ID, sn.CommitKind,
			time.UnixMilli(sn.TimeMillis).UTC().Format("2006-01-02 15:04:05.000"), sn.SchemaID,
			optCount(sn.TotalRecordCount), optCount(sn.DeltaRecordCount), optCount(sn.ChangelogRecordCount))
	}
	if vol, err := t.CompactionVolume(ctx); err != nil {
		return err
	} else if vol.Compactions > 0 {
		fmt.Fprintf(w, "\nCompactions of these snapshots: %d, rewrote %d files (%d rows, %s) into %d files (%d rows, %s)",
			vol.Compactions, vol.InputFiles, vol.InputRows, humanBytes(vol.InputBytes), vol.OutputFiles, vol.OutputRows, humanBytes(vol.OutputBytes))
		if r := vol.RewrittenPerAppended(); r > 0 {
			fmt.Fprintf(w, "; %.2f rows rewritten per row appended", r)
		}
		fmt.Fprintln(w)
	}
	tags, err := t.TagNames(ctx)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		fmt.Fprintf(w, "\nTags (%d)\n", len(tags))
		for _, name := range tags {
			tag, err := t.Tag(ctx, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "  %s\tsnapshot %d\n", name, tag.ID)
		}
	}
	if len(snaps) == 0 {
		return nil
	}
	o := table.ScanOptions{SnapshotID: *snapshot}
	if *snapshot == 0 {
		o.SnapshotID = snaps[len(snaps)-1].ID
	}
	plan, err := planAllLevels(ctx, t, o)
	if err != nil {
		return explainMissing(ctx, t, err)
	}
	fmt.Fprintf(w, "\nFiles of snapshot %d\n", plan.Snapshot.ID)
	fmt.Fprintln(w, "  partition\tbucket\tlevel\tfiles\trows\tbytes\tdeletion vectors")
	var files, rows, bytes int64
	for _, sp := range plan.Splits {
		type agg struct{ files, rows, bytes, dv int64 }
		levels := map[int32]*agg{}
		for _, f := range sp.Files {
			a := levels[f.Level]
			if a == nil {
				a = &agg{}
				levels[f.Level] = a
			}
			a.files++
			a.rows += f.RowCount
			a.bytes += f.FileSize
			if _, ok := sp.DeletionFiles[f.FileName]; ok {
				a.dv++
			}
		}
		keys := make([]int, 0, len(levels))
		for l := range levels {
			keys = append(keys, int(l))
		}
		sort.Ints(keys)
		part := partitionLabel(plan.Schema, sp.PartitionValues)
		for _, l := range keys {
			a := levels[int32(l)]
			fmt.Fprintf(w, "  %s\t%d\t%d\t%d\t%d\t%s\t%d\n", part, sp.Bucket, l, a.files, a.rows, humanBytes(a.bytes), a.dv)
			files += a.files
			rows += a.rows
			bytes += a.bytes
		}
	}
	fmt.Fprintf(w, "  total\t\t\t%d\t%d\t%s\t\n", files, rows, humanBytes(bytes))
	return nil
}

// planAllLevels plans a scan that keeps every level and bucket (inspect shows level-0
// files that a deletion-vector table's batch read skips, and the rows waiting in
// bucket-postpone, as bucket -2).
func planAllLevels(ctx context.Context, t *table.Table, o table.ScanOptions) (*table.Plan, error) {
	o.AllLevels, o.IncludePostpone = true, true
	return t.Plan(ctx, o)
}

func partitionLabel(s *format.TableSchema, values []any) string {
	if len(s.PartitionKeys) == 0 {
		return "-"
	}
	parts := make([]string, len(values))
	for i, k := range s.PartitionKeys {
		if values[i] == nil {
			parts[i] = k + "=null"
		} else {
			f, _ := s.Field(k)
			parts[i] = k + "=" + table.PartitionValueString(values[i], f.Type, false)
		}
	}
	return strings.Join(parts, ",")
}

func optCount(v *int64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

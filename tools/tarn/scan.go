package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

func init() {
	register("scan", "print a table's rows (any snapshot or tag, projection, filter)", cmdScan)
}

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("scan", "TABLE [flags]", stderr)
	tf := addTableFlags(fs)
	snapshot := fs.Int64("snapshot", 0, "read this snapshot id (default: latest)")
	tag := fs.String("tag", "", "read this tag")
	ts := fs.String("timestamp", "", "read the snapshot current at this time (epoch millis or 'YYYY-MM-DD HH:MM:SS', UTC)")
	columns := fs.String("columns", "", "comma-separated columns to print (default: all)")
	where := fs.String("where", "", "filter, e.g. \"a > 10 AND b = 'x' OR c IS NULL\"")
	outFormat := fs.String("format", "table", "output format: table, csv or jsonl")
	limit := fs.Int64("limit", 0, "print at most this many rows (0: all)")
	unsorted := fs.Bool("unsorted", false, "stream rows in read order instead of sorting them by primary key")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	set := 0
	for _, b := range []bool{*snapshot != 0, *tag != "", *ts != ""} {
		if b {
			set++
		}
	}
	if set > 1 {
		return usagef("give at most one of --snapshot, --tag and --timestamp")
	}
	t, err := tf.open(ctx, pos)
	if err != nil {
		return err
	}
	o := table.ScanOptions{SnapshotID: *snapshot, Tag: *tag}
	if *ts != "" {
		if o.TimestampMillis, err = parseTime(*ts); err != nil {
			return usagef("--timestamp: %v", err)
		}
	}
	if _, err := t.ResolveSnapshot(ctx, o); err != nil {
		return explainMissing(ctx, t, err)
	}
	var cols []string
	if *columns != "" {
		for _, c := range strings.Split(*columns, ",") {
			cols = append(cols, strings.TrimSpace(c))
		}
	}
	_, err = export.Write(ctx, t, export.Options{
		Scan: o, Columns: cols, Where: *where, Format: render.Format(*outFormat), Limit: *limit, Unsorted: *unsorted,
	}, stdout)
	if errors.Is(err, export.ErrBadRequest) {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, export.ErrBadRequest.Error()+"\n")
		switch {
		case strings.Contains(msg, "filter"):
			return usagef("--where: %s", msg)
		case strings.Contains(msg, "format"):
			return usagef("--format: %s", msg)
		}
		return usagef("--columns: %s", msg)
	}
	return err
}

// explainMissing adds the snapshots and tags that do exist to a not-found error.
func explainMissing(ctx context.Context, t *table.Table, err error) error {
	if !errors.Is(err, table.ErrNotFound) {
		return err
	}
	ids, _ := t.SnapshotIDs(ctx)
	tags, _ := t.TagNames(ctx)
	have := "the table has no snapshots"
	if len(ids) > 0 {
		have = fmt.Sprintf("snapshots %d..%d exist", ids[0], ids[len(ids)-1])
	}
	if len(tags) > 0 {
		have += "; tags: " + strings.Join(tags, ", ")
	}
	return fmt.Errorf("%w (%s)", err, have)
}

func parseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is not epoch millis or 'YYYY-MM-DD HH:MM:SS'", s)
}

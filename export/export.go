// Package export runs a batch scan of a table and writes its rows as text (canonical JSON
// Lines, CSV or an aligned table): what `tarn scan` prints and what the compatibility
// suite compares with Apache Paimon's reader.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// Options choose the rows and their form.
type Options struct {
	Scan    table.ScanOptions // snapshot, tag or time; Filter is set from Where
	Columns []string          // nil: all columns of the snapshot's schema
	Where   string            // filter expression (package predicate)
	Format  render.Format     // "": JSON Lines
	Limit   int64             // 0: all rows
	// Unsorted streams rows in read order; otherwise rows are sorted by primary key
	// (all columns for append-only tables), the canonical order.
	Unsorted bool
}

// ErrBadRequest is wrapped when the options do not fit the table (unknown column, bad
// filter, bad format).
var ErrBadRequest = errors.New("bad request")

// Write scans t and writes the rows to out. It returns the number of rows written.
// Sorted output is buffered in memory until the end (use Unsorted for large scans).
func Write(ctx context.Context, t *table.Table, o Options, out io.Writer) (int64, error) {
	var err error
	if o.Scan, err = t.WithScanDefaults(ctx, o.Scan); err != nil {
		return 0, err
	}
	snap, err := t.ResolveSnapshot(ctx, o.Scan)
	if err != nil {
		return 0, err
	}
	sch, err := t.LatestSchema(ctx)
	if err != nil {
		return 0, err
	}
	so := o.Scan
	// Time travel reads with the snapshot's schema, the latest snapshot with the latest
	// schema (as table.Plan does).
	if snap != nil && (so.SnapshotID > 0 || so.Tag != "" || so.TimestampMillis != 0) {
		if sch, err = t.Schema(ctx, snap.SchemaID); err != nil {
			return 0, err
		}
		if so.Tag == "" {
			so.SnapshotID, so.TimestampMillis = snap.ID, 0
		}
	}
	var pred *predicate.Predicate
	if o.Where != "" {
		if pred, err = predicate.Bind(o.Where, sch.Fields, sch.PartitionKeys); err != nil {
			return 0, errors.Join(ErrBadRequest, err)
		}
		so.Filter = pred
	}
	fields, err := table.OutputFields(sch, o.Columns)
	if err != nil {
		return 0, errors.Join(ErrBadRequest, err)
	}
	var sortBy []int
	if !o.Unsorted && len(sch.PrimaryKeys) > 0 {
		for _, k := range sch.PrimaryKeys {
			if i := types.FieldByName(fields, k); i >= 0 {
				sortBy = append(sortBy, i)
			}
		}
		if len(sortBy) != len(sch.PrimaryKeys) {
			sortBy = nil // a key column is projected away: order by all columns
		}
	}
	format := o.Format
	if format == "" {
		format = render.JSONL
	}
	w, err := render.NewWriter(out, format, fields, !o.Unsorted, sortBy)
	if err != nil {
		return 0, errors.Join(ErrBadRequest, err)
	}
	if snap == nil {
		return 0, w.Close()
	}
	plan, err := t.Plan(ctx, so)
	if err != nil {
		return 0, err
	}
	if plan.Schema.ID != sch.ID {
		return 0, fmt.Errorf("the table's schema changed during the scan (from %d to %d): scan again", sch.ID, plan.Schema.ID)
	}
	ro := table.ReadOptions{Columns: o.Columns}
	if pred != nil {
		ro.Filter = pred
	}
	// A sorted scan with a limit reads every row and keeps the first ones in canonical
	// order (bounded memory); an unsorted one stops reading at the limit.
	w.SetLimit(int(o.Limit))
	stopAt := o.Limit
	if !o.Unsorted {
		stopAt = 0
	}
	var n int64 // rows read
	for i := range plan.Splits {
		if stopAt > 0 && n >= stopAt {
			break
		}
		r, err := t.ReadSplit(ctx, plan, &plan.Splits[i], ro)
		if err != nil {
			return 0, err
		}
		for stopAt == 0 || n < stopAt {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return 0, err
			}
			n += b.NumRows()
			err = w.Write(b)
			b.Release()
			if err != nil {
				r.Close()
				return 0, err
			}
		}
		if err := r.Close(); err != nil {
			return 0, err
		}
	}
	rows := int64(w.Rows())
	return rows, w.Close()
}

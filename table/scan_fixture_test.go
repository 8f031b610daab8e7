package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/fixtures"
	"github.com/tarnlake/tarn/render"
)

// scanCSV reads a whole plan and renders it as sorted CSV.
func scanCSV(t *testing.T, tbl *Table, o ScanOptions, columns []string) string {
	t.Helper()
	ctx := context.Background()
	plan, err := tbl.Plan(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := OutputFields(plan.Schema, columns)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := render.NewWriter(&buf, render.CSV, fields, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plan.Splits {
		r, err := tbl.ReadSplit(ctx, plan, &plan.Splits[i], ReadOptions{Columns: columns})
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
		r.Close()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func goldenRows(ids ...int) string {
	var b strings.Builder
	b.WriteString("id,name,category\n")
	for _, i := range ids {
		cat := "even"
		if i%2 == 1 {
			cat = "odd"
		}
		fmt.Fprintf(&b, "%d,name-%d,%s\n", i, i, cat)
	}
	return b.String()
}

// Every snapshot of the fixture table. PROVENANCE.md lists the rows committed by each
// snapshot; a batch read of a deletion-vector table returns what Paimon's reader returns:
// it skips level-0 files (CoreOptions.batchScanSkipLevel0, used by
// AbstractBatchTableScan), so an APPEND snapshot shows the rows of the compaction before
// it, and each COMPACT snapshot shows all rows committed so far.
func TestScanFixtureSnapshots(t *testing.T) {
	ctx := context.Background()
	tbl, err := Open(ctx, fileio.NewLocal(), fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{
		1: goldenRows(), 2: goldenRows(1, 2),
		3: goldenRows(1, 2), 4: goldenRows(1, 2, 3, 4),
		5: goldenRows(1, 2, 3, 4), 6: goldenRows(1, 2, 3, 4, 5, 6),
	}
	for id := int64(1); id <= 6; id++ {
		t.Run(fmt.Sprint("snapshot-", id), func(t *testing.T) {
			got := scanCSV(t, tbl, ScanOptions{SnapshotID: id}, nil)
			if got != want[id] {
				t.Errorf("got\n%s\nwant\n%s", got, want[id])
			}
		})
	}
}

package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/table"
)

// One long-lived writer committing many times: its background compactions keep each
// bucket's sorted runs under the stop trigger, and the table always reads the model.
func TestWriterBackgroundCompaction(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "bg"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1", "num-sorted-run.compaction-trigger": "3"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tbl.NewWriter(ctx, table.WriterOptions{Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	model := map[int]string{}
	compacted := 0
	for c := 1; c <= 30; c++ {
		var rows []string
		for i := 0; i < 10; i++ {
			id := (c*7 + i*13) % 50
			v := fmt.Sprintf("c%d", c)
			rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q}`, id, v))
			model[id] = v
		}
		b := arrowtest.Batch(t, fields, false, "["+strings.Join(rows, ",")+"]")
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		msgs, err := w.PrepareCommit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tbl.Commit(ctx, table.Commit{User: "bg", Identifier: int64(c), Messages: msgs})
		if err != nil || res.CompactionErr != nil {
			t.Fatalf("commit %d: %v %v", c, err, res.CompactionErr)
		}
		if res.AppendSnapshotID != 0 {
			compacted++
		}
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range plan.Splits {
			runs := 0
			for _, f := range s.Files {
				if f.Level == 0 {
					runs++
				}
			}
			if runs > 3+3+1 { // stop trigger (trigger + 3) plus the commit's own file
				t.Fatalf("commit %d: %d level-0 files in bucket %d", c, runs, s.Bucket)
			}
		}
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
			t.Fatalf("commit %d:\n%s\nwant\n%s", c, got, want)
		}
	}
	if compacted == 0 {
		t.Fatal("no background compaction was committed")
	}
}

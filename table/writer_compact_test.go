package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
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

// With commit.force-compact a writer's commit waits for the compaction its flush started
// and commits it (MergeTreeWriter.prepareCommit), even a writer not asked to compact
// (WriterOptions.Compact): no commit leaves more sorted runs than the trigger (two), some
// commit holds a compaction, and the rows read as written.
func TestWriterCommitForceCompact(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := catalog.New(fileio.NewLocal(), t.TempDir()).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "f"},
		catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{
			"bucket": "1", "num-sorted-run.compaction-trigger": "2", "commit.force-compact": "true"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	model := map[int]string{}
	for c := 1; c <= 4; c++ {
		msgs := writeOne(t, w, fmt.Sprintf(`[{"id":%d,"v":"a%d"},{"id":1,"v":"b%d"}]`, c+1, c, c))
		model[c+1], model[1] = fmt.Sprintf("a%d", c), fmt.Sprintf("b%d", c)
		res, err := tbl.Commit(ctx, table.Commit{User: "u", Identifier: int64(c), Messages: msgs})
		if err != nil || res.CompactionErr != nil {
			t.Fatalf("commit %d: %v, compaction: %v", c, err, res.CompactionErr)
		}
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
		if err != nil {
			t.Fatal(err)
		}
		levels := map[int32]int{}
		for _, s := range plan.Splits {
			for _, f := range s.Files {
				levels[f.Level]++
			}
		}
		runs := levels[0] // each level-0 file is a sorted run, each other level one
		for l := range levels {
			if l > 0 {
				runs++
			}
		}
		if runs > 2 {
			t.Errorf("after commit %d: files per level %v: %d sorted runs, above the trigger", c, levels, runs)
		}
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
			t.Fatalf("after commit %d:\n%s\nwant\n%s", c, got, want)
		}
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	compacts := 0
	for _, s := range snaps {
		if s.CommitKind == format.CommitCompact {
			compacts++
		}
	}
	if compacts == 0 {
		t.Error("no commit held a compaction")
	}
}

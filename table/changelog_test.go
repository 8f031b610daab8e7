package table_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/table"
)

// A writer's background compaction that moved a level-0 file up conflicts with a
// Table.Compact that moved the same file meanwhile: files are identified by name and
// level (Paimon's FileEntry.Identifier), so the second move deletes a file that is no
// longer live and its commit fails instead of adding the file twice. A compaction the
// writer finds stale when it takes it is discarded; either way the table reads right.
func TestStaleBackgroundCompaction(t *testing.T) {
	for _, commitFirst := range []bool{false, true} {
		ctx := context.Background()
		cat := catalog.New(fileio.NewLocal(), t.TempDir())
		fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
		tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "fr"}, catalog.TableSpec{
			Fields: fields, PrimaryKeys: []string{"id"},
			// first-row and lookup-wait false: lookup compactions run in the background; tiny
			// target files are moved up, not rewritten.
			Options: map[string]string{"bucket": "1", "merge-engine": "first-row", "lookup-wait": "false", "target-file-size": "1b"},
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		w, err := tbl.NewWriter(ctx, table.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		write := func(rows string) []table.CommitMessage {
			b := arrowtest.Batch(t, fields, false, rows)
			defer b.Release()
			if err := w.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			msgs, err := w.PrepareCommit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return msgs
		}
		if _, err := tbl.Commit(ctx, table.Commit{User: "w", Identifier: 1, Messages: write(`[{"id":1,"v":"a"},{"id":2,"v":"b"}]`)}); err != nil {
			t.Fatal(err)
		}
		table.WaitCompactions(w) // moved the level-0 file up, not committed yet
		var msgs []table.CommitMessage
		if commitFirst {
			msgs = write(`[{"id":3,"v":"c"}]`) // takes the background compaction
		}
		if sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil || sum.SnapshotID == 0 {
			t.Fatalf("full compaction: %+v %v", sum, err)
		}
		if !commitFirst {
			msgs = write(`[{"id":3,"v":"c"}]`) // finds the background compaction stale
		}
		res, err := tbl.Commit(ctx, table.Commit{User: "w", Identifier: 2, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if commitFirst && !errors.Is(res.CompactionErr, table.ErrConflict) {
			t.Errorf("the stale compaction's commit: %v, want a conflict", res.CompactionErr)
		}
		if !commitFirst && res.CompactionErr != nil {
			t.Errorf("the stale compaction was committed: %v", res.CompactionErr)
		}
		w.Close()
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(map[int]string{1: "a", 2: "b"}); got != want {
			t.Errorf("commit first %v: the table reads\n%s\nwant\n%s", commitFirst, got, want)
		}
		if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
			t.Fatal(err)
		}
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(map[int]string{1: "a", 2: "b", 3: "c"}); got != want {
			t.Errorf("commit first %v: after a full compaction the table reads\n%s\nwant\n%s", commitFirst, got, want)
		}
	}
}

package table_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// With streaming-read-overwrite Paimon's streaming reads emit what an OVERWRITE snapshot
// changed (FollowUpScanner.getOverwriteChangesPlan); Tarn's tails do not compute that
// diff for primary-key tables, so reading that snapshot's changes fails with the reason
// instead of skipping it. Without the option the snapshot is skipped, as Paimon skips it.
// An append-only table with streaming-read-append-overwrite reads the rows an overwrite
// adds (TestTailReadsAppendOverwrite).
func TestTailRefusesOverwriteItWouldSkip(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("k INT NOT NULL, v STRING")
	for _, on := range []bool{false, true} {
		cat := catalog.New(fileio.NewLocal(), t.TempDir())
		opts := map[string]string{"bucket": "1"}
		if on {
			opts["streaming-read-overwrite"] = "true"
		}
		tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "o"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"k"}, Options: opts}, false)
		if err != nil {
			t.Fatal(err)
		}
		writeCommit(t, tbl, fields, false, `[{"k": 1, "v": "a"}]`, 1)
		snap := overwriteCommit(t, tbl, fields, `[{"k": 2, "v": "b"}]`, 2)
		splits, err := tbl.SnapshotChanges(ctx, snap, nil)
		switch {
		case on && (err == nil || !strings.Contains(err.Error(), "streaming-read-overwrite")):
			t.Errorf("changes of an overwrite with streaming-read-overwrite: %v, want a refusal", err)
		case !on && (err != nil || len(splits) != 0):
			t.Errorf("changes of an overwrite: %d splits, %v; want it skipped", len(splits), err)
		}
	}
}

// With streaming-read-append-overwrite the changes of an OVERWRITE snapshot of an
// append-only table are the rows it adds (the snapshot's delta, as Paimon reads it).
func TestTailReadsAppendOverwrite(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("k INT NOT NULL, v STRING")
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{Fields: fields,
		Options: map[string]string{"streaming-read-append-overwrite": "true"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"k": 1, "v": "a"}]`, 1)
	snap := overwriteCommit(t, tbl, fields, `[{"k": 2, "v": "b"}, {"k": 3, "v": "c"}]`, 2)
	splits, err := tbl.SnapshotChanges(ctx, snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, s := range splits {
		for _, f := range s.Files {
			rows += f.RowCount
		}
	}
	if rows != 2 {
		t.Errorf("the overwrite's changes hold %d rows, want the 2 it added", rows)
	}
}

// overwriteCommit overwrites the table with rows (a JSON array) and returns the snapshot.
func overwriteCommit(t *testing.T, tbl *table.Table, fields []types.DataField, rows string, identifier int64) *format.Snapshot {
	t.Helper()
	ctx := context.Background()
	res, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: identifier, Messages: prepareRows(t, tbl, fields, false, rows), Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tbl.Snapshot(ctx, res.SnapshotID)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

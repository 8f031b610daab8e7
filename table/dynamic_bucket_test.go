package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Dynamic bucket mode: new keys fill buckets up to dynamic-bucket.target-row-num, then
// open new ones; updates find their key's bucket through the hash index across writers.
func TestDynamicBucket(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "dyn"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "-1", "dynamic-bucket.target-row-num": "10"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	model := map[int]string{}
	for round := 1; round <= 3; round++ {
		var rows []string
		for id := 0; id < 35; id += round {
			v := fmt.Sprintf("r%d", round)
			rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q}`, id, v))
			model[id] = v
		}
		writeCommit(t, tbl, fields, false, "["+strings.Join(rows, ",")+"]", int64(round))
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
			t.Fatalf("round %d:\n%s\nwant\n%s", round, got, want)
		}
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Splits) != 4 {
		t.Fatalf("%d buckets for 35 keys at 10 per bucket, want 4", len(plan.Splits))
	}
	snap, _ := tbl.LatestSnapshot(ctx)
	idx, err := tbl.ReadIndexManifest(ctx, *snap.IndexManifest)
	if err != nil {
		t.Fatal(err)
	}
	var keys int64
	for _, e := range idx {
		keys += e.IndexFile.RowCount
	}
	if len(idx) != 4 || keys != 35 {
		t.Fatalf("index manifest: %d files holding %d keys, want 4 and 35", len(idx), keys)
	}
}

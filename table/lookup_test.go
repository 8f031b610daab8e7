package table_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Tables whose readers skip level 0 (deletion vectors, first-row) are compacted upward on
// every commit: after each commit no level-0 file remains and a batch read (which skips
// level 0, as Paimon's does) equals the model.
func TestLookupCompactionModes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options map[string]string
	}{
		{"deletion vectors", map[string]string{"bucket": "2", "deletion-vectors.enabled": "true"}},
		{"first-row", map[string]string{"bucket": "2", "merge-engine": "first-row"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "l"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: tc.options}, false)
			if err != nil {
				t.Fatal(err)
			}
			firstRow := tc.options["merge-engine"] == "first-row"
			rng := rand.New(rand.NewPCG(3, 4))
			model := map[int]string{}
			for commit := 1; commit <= 10; commit++ {
				var rows []string
				seen := map[int]bool{}
				for i := 0; i < 15; i++ {
					id := rng.IntN(30)
					if seen[id] {
						continue
					}
					seen[id] = true
					v := fmt.Sprintf("c%d", commit)
					if !firstRow && rng.IntN(5) == 0 {
						rows = append(rows, fmt.Sprintf(`{"id":%d,"v":null,"_ROW_KIND":"-D"}`, id))
						delete(model, id)
						continue
					}
					rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q,"_ROW_KIND":"+I"}`, id, v))
					if _, exists := model[id]; !(firstRow && exists) {
						model[id] = v
					}
				}
				res := writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(commit))
				if res.CompactionErr != nil || res.AppendSnapshotID == 0 {
					t.Fatalf("commit %d: %+v", commit, res)
				}
				plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range plan.Splits {
					for _, f := range s.Files {
						if f.Level == 0 {
							t.Fatalf("commit %d: level-0 file %s left in bucket %d", commit, f.FileName, s.Bucket)
						}
					}
				}
				if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
					t.Fatalf("after commit %d:\n%s\nwant\n%s", commit, got, want)
				}
			}
			// A full compaction applies the deletion vectors while rewriting and drops
			// the vectors of the files it replaced.
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
			if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
				t.Fatalf("after full compaction:\n%s\nwant\n%s", got, want)
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range plan.Splits {
				if len(s.DeletionFiles) != 0 {
					t.Errorf("bucket %d keeps %d deletion vectors after a full compaction", s.Bucket, len(s.DeletionFiles))
				}
			}
		})
	}
}

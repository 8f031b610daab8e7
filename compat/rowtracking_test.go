package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// Row tracking (row-tracking.enabled) gives every appended row an id: each commit hands its
// appended files the next free ids, from the previous snapshot's nextRowId, and their rows
// the commit's snapshot id as sequence number (Paimon's FileStoreCommitImpl with
// RowTrackingCommitUtils.assignRowTracking). Tarn and Paimon commit in turn to one
// partitioned table, so that the files of one commit interleave across partitions; Paimon
// then reads every row's _ROW_ID and _SEQUENCE_NUMBER. With data evolution on, Paimon's
// reader (DataEvolutionSplitRead) needs the first row id of every file to read at all.
// Tarn's compaction leaves such tables alone: rewriting the files would lose the row ids.
func TestRowTrackingAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	for _, evolution := range []bool{false, true} {
		t.Run(fmt.Sprintf("data-evolution=%v", evolution), func(t *testing.T) {
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			opts := map[string]string{"row-tracking.enabled": "true"}
			if evolution {
				opts["data-evolution.enabled"] = "true"
			}
			tbl, fields := newTable(t, cat, "rt", "id INT NOT NULL, dt STRING NOT NULL, v STRING", catalog.TableSpec{PartitionKeys: []string{"dt"}, Options: opts})
			wroteIn := map[int]int64{} // column id -> the snapshot that appended the row
			const commits, perCommit = 4, 10
			for c := 1; c <= commits; c++ {
				var rows []string
				for i := range perCommit {
					id := c*100 + i
					rows = append(rows, fmt.Sprintf(`{"id":%d,"dt":"d%d","v":"c%d"}`, id, i%3, c))
					wroteIn[id] = int64(c)
				}
				if c%2 == 1 {
					if _, err := commitJSONL(ctx, tbl, fields, rows, int64(c)); err != nil {
						t.Fatalf("Tarn's commit %d: %v", c, err)
					}
				} else if out, err := oracleStdin(ctx, strings.Join(rows, "\n")+"\n", "write", tbl.Path()); err != nil {
					t.Fatalf("Paimon's commit %d: %v\n%s", c, err, out)
				}
			}
			next := []int64{0} // nextRowId of each snapshot
			for c := 1; c <= commits; c++ {
				s, err := tbl.Snapshot(ctx, int64(c))
				if err != nil {
					t.Fatal(err)
				}
				if s.NextRowID == nil {
					t.Fatalf("snapshot %d has no nextRowId", c)
				}
				next = append(next, *s.NextRowID)
				if got, want := *s.NextRowID, int64(c*perCommit); got != want {
					t.Errorf("snapshot %d: nextRowId %d, want %d", c, got, want)
				}
			}
			out, err := oracle(ctx, paimonLatest, "read", tbl.Path(), "--row-ids")
			if err != nil {
				t.Fatalf("Paimon reads the row ids: %v\n%s", err, out)
			}
			seen := map[int64]bool{}
			for _, line := range lines(out) {
				var r struct {
					ID    int   `json:"id"`
					RowID int64 `json:"_ROW_ID"`
					Seq   int64 `json:"_SEQUENCE_NUMBER"`
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				snap := wroteIn[r.ID]
				if r.Seq != snap {
					t.Errorf("row %d: sequence number %d, want %d (the snapshot that appended it)", r.ID, r.Seq, snap)
				}
				if r.RowID < next[snap-1] || r.RowID >= next[snap] {
					t.Errorf("row %d: row id %d, want one in [%d, %d) (snapshot %d's)", r.ID, r.RowID, next[snap-1], next[snap], snap)
				}
				if seen[r.RowID] {
					t.Errorf("row id %d is given twice", r.RowID)
				}
				seen[r.RowID] = true
			}
			if len(seen) != commits*perCommit {
				t.Errorf("Paimon reads %d row ids, want %d", len(seen), commits*perCommit)
			}

			sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
			if err != nil || sum.Skipped == "" || sum.SnapshotID != 0 {
				t.Errorf("Tarn's compaction of a row tracking table: %+v, %v; want it skipped", sum, err)
			}
			readsAsPaimon(ctx, t, tbl, "after the commits", false)
		})
	}
}

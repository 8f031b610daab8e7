package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// filesPerBucket counts the files of each bucket of the latest snapshot.
func filesPerBucket(t *testing.T, tbl *table.Table) map[int]int {
	t.Helper()
	plan, err := tbl.Plan(context.Background(), table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, s := range plan.Splits {
		out[s.Bucket] += len(s.Files)
	}
	return out
}

// CompactOptions.Bucket compacts one bucket and leaves the others as they are.
func TestCompactOneBucket(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "b"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "2"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for c := 1; c <= 4; c++ {
		var rows []string
		for id := 0; id < 20; id++ {
			rows = append(rows, fmt.Sprintf(`{"id":%d,"v":"c%d"}`, id, c))
		}
		writeCommit(t, tbl, fields, false, "["+strings.Join(rows, ",")+"]", int64(c))
	}
	before := filesPerBucket(t, tbl)
	if before[0] != 4 || before[1] != 4 {
		t.Fatalf("files per bucket before: %v", before)
	}
	for _, tc := range []struct {
		bucket int
		want   map[int]int
	}{
		{1, map[int]int{0: 4, 1: 1}},
		{0, map[int]int{0: 1, 1: 1}},
	} {
		b := tc.bucket
		sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true, Bucket: &b})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Buckets != 1 || sum.Compacted != 1 || sum.FilesIn != 4 {
			t.Errorf("bucket %d: %+v", b, sum)
		}
		if got := filesPerBucket(t, tbl); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("after compacting bucket %d: files per bucket %v, want %v", b, got, tc.want)
		}
	}
}

// A compaction whose commit conflicts with a concurrent compaction of the same files
// removes the files it wrote: no data file is left unreferenced.
func TestConflictingCompactionRemovesItsFiles(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "c"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	for round := 0; round < 20 && conflicts == 0; round++ {
		for c := 0; c < 3; c++ {
			var rows []string
			for id := 0; id < 200; id++ {
				rows = append(rows, fmt.Sprintf(`{"id":%d,"v":"r%dc%d"}`, id, round, c))
			}
			writeCommit(t, tbl, fields, false, "["+strings.Join(rows, ",")+"]", int64(round*10+c+1))
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i] = tbl.Compact(ctx, table.CompactOptions{Full: true}) })
		}
		wg.Wait()
		for _, err := range errs {
			switch {
			case errors.Is(err, table.ErrConflict):
				conflicts++
			case err != nil:
				t.Fatal(err)
			}
		}
	}
	if conflicts == 0 {
		t.Skip("no compaction conflicted in 20 rounds")
	}
	res, err := tbl.CleanOrphans(ctx, time.Nanosecond, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Deleted.Paths {
		if strings.Contains(p, "/bucket-") {
			t.Errorf("unreferenced data file after %d conflicts: %s", conflicts, p)
		}
	}
}

// CompactOptions.Pick sees every bucket's pick: refusing all is a dry run; accepting, the
// files picked are exactly those the compaction replaces.
func TestCompactPick(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	for _, tc := range []struct {
		name    string
		pk      bool
		commits int
		full    bool
		picked  int // buckets with files picked, of 2
	}{
		{name: "primary key at the trigger", pk: true, commits: 3, picked: 2},
		{name: "primary key below the trigger", pk: true, commits: 2},
		{name: "primary key full", pk: true, commits: 2, full: true, picked: 2},
		{name: "append-only, five small files", commits: 5, picked: 2},
		{name: "append-only, four small files", commits: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := catalog.TableSpec{Fields: fields, Options: map[string]string{"bucket": "2", "num-sorted-run.compaction-trigger": "3"}}
			if tc.pk {
				spec.PrimaryKeys = []string{"id"}
			} else {
				spec.Options["bucket-key"] = "id"
			}
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: strings.ReplaceAll(tc.name, " ", "_")}, spec, false)
			if err != nil {
				t.Fatal(err)
			}
			for c := 1; c <= tc.commits; c++ {
				var rows []string
				for id := 0; id < 10; id++ {
					rows = append(rows, fmt.Sprintf(`{"id":%d,"v":"c%d"}`, id, c))
				}
				writeCommit(t, tbl, fields, false, "["+strings.Join(rows, ",")+"]", int64(c))
			}
			var picks []table.BucketPick
			sum, err := tbl.Compact(ctx, table.CompactOptions{Full: tc.full, Pick: func(p table.BucketPick) bool { picks = append(picks, p); return false }})
			if err != nil {
				t.Fatal(err)
			}
			picked := 0
			for _, p := range picks {
				if p.Snapshot != int64(tc.commits) || p.SortedRuns != tc.commits {
					t.Errorf("pick %+v", p)
				}
				if len(p.Files) > 0 {
					picked++
				}
			}
			if len(picks) != 2 || picked != tc.picked || sum.SnapshotID != 0 || sum.Compacted != 0 {
				t.Fatalf("dry run: %d picks, %d with files, %+v", len(picks), picked, sum)
			}
			var files, bytes int64
			sum, err = tbl.Compact(ctx, table.CompactOptions{Full: tc.full, Pick: func(p table.BucketPick) bool {
				files += int64(len(p.Files))
				bytes += p.Bytes()
				return true
			}})
			if err != nil {
				t.Fatal(err)
			}
			if int64(sum.FilesIn) != files || sum.BytesIn != bytes || (sum.SnapshotID > 0) != (tc.picked > 0) {
				t.Errorf("compacted %+v; picked %d files, %d bytes", sum, files, bytes)
			}
		})
	}
}

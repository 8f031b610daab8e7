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

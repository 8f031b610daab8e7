package compat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// keyBuckets reads which bucket of which partition holds each key of a dynamic-bucket
// table (partition column dt, key column id).
func keyBuckets(ctx context.Context, t *testing.T, path string) map[string]int {
	t.Helper()
	tbl, plan := latestPlan(ctx, t, path)
	out := map[string]int{}
	for i := range plan.Splits {
		s := &plan.Splits[i]
		r, err := tbl.ReadSplit(ctx, plan, s, table.ReadOptions{Columns: []string{"dt", "id"}})
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
			dt, id := b.Column(0).(*array.String), b.Column(1).(*array.Int32)
			for j := 0; j < int(b.NumRows()); j++ {
				out[fmt.Sprintf("%s/%d", dt.Value(j), id.Value(j))] = s.Bucket
			}
			b.Release()
		}
		r.Close()
	}
	return out
}

// Dynamic-bucket tables (bucket = -1) put every key in the bucket Paimon puts it in:
// Tarn's writer and Paimon's (compat/oracle write: HashBucketAssigner, as Paimon's
// engines assign buckets with one assigner) write the same commits of new and updated
// keys across partitions into two copies of a table whose buckets hold few keys
// (dynamic-bucket.target-row-num); afterwards each key is in the same bucket of the same
// partition in both, and the copies read alike. The rows are drawn at random; the seed
// is printed (TARN_DYNAMIC_SEED repeats one).
func TestDynamicBucketsAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	seed := seedFrom(t, "TARN_DYNAMIC_SEED")
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	dir := t.TempDir()
	cat := catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh"))
	spec := catalog.TableSpec{PrimaryKeys: []string{"dt", "id"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "-1", "dynamic-bucket.target-row-num": fmt.Sprint(5 + r.IntN(40))}}
	tarnTbl, fields := newTable(t, cat, "tarn", "dt STRING NOT NULL, id INT NOT NULL, v STRING", spec)
	paimonTbl, _ := newTable(t, cat, "paimon", "dt STRING NOT NULL, id INT NOT NULL, v STRING", spec)
	commits := 3 + r.IntN(5)
	for c := 1; c <= commits; c++ {
		var rows []string
		for n := 20 + r.IntN(200); n > 0; n-- {
			rows = append(rows, fmt.Sprintf(`{"dt":"d%d","id":%d,"v":"c%d"}`, r.IntN(3), r.IntN(400), c))
		}
		if _, err := commitJSONL(ctx, tarnTbl, fields, rows, int64(c)); err != nil {
			t.Fatalf("Tarn's commit %d: %v", c, err)
		}
		if err := oracleWrite(ctx, paimonLatest, paimonTbl.Path(), strings.Join(rows, "\n")+"\n"); err != nil {
			t.Fatalf("Paimon's commit %d: %v", c, err)
		}
	}
	got, want := keyBuckets(ctx, t, tarnTbl.Path()), keyBuckets(ctx, t, paimonTbl.Path())
	if len(got) != len(want) {
		t.Fatalf("seed %d: Tarn's copy holds %d keys, Paimon's %d", seed, len(got), len(want))
	}
	bad := 0
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			bad++
			if bad <= 10 {
				t.Errorf("seed %d (TARN_DYNAMIC_SEED): key %s in bucket %d, Paimon's %d", seed, k, got[k], want[k])
			}
		}
	}
	if bad > 0 {
		t.Fatalf("seed %d: %d of %d keys in another bucket than Paimon's (options %v, %d commits)", seed, bad, len(want), spec.Options, commits)
	}
	buckets := map[int]bool{}
	for _, b := range want {
		buckets[b] = true
	}
	t.Logf("%d keys in %d buckets over %d commits (target %s keys per bucket), as Paimon", len(want), len(buckets), commits, spec.Options["dynamic-bucket.target-row-num"])
	readsAsPaimon(ctx, t, tarnTbl, "after the writes", true)
}

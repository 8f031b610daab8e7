package compat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// Manifests merged by Tarn (ManifestFileMerger's minor compaction at
// manifest.merge-min-count, its full compaction past
// manifest.full-compaction-threshold-size) read in Paimon as Paimon's own, and Tarn
// reads the manifests Paimon merged under the same options: Paimon (compat/oracle write,
// compact --full) and Tarn commit the same seeded upserts and deletes into two
// partitioned tables with small manifest thresholds, compacting fully every fourth
// commit; then Paimon and Tarn read both tables alike, and Paimon's check accepts Tarn's.
func TestManifestMergingMatchesPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	spec := catalog.TableSpec{PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "2", "manifest.merge-min-count": "3", "manifest.target-file-size": "4 kb",
			"manifest.full-compaction-threshold-size": "8 kb"}}
	const columns = "id INT NOT NULL, dt STRING NOT NULL, v BIGINT"
	paimon, _ := newTable(t, cat, "paimon", columns, spec)
	tarn, fields := newTable(t, cat, "tarn", columns, spec)
	rng := rand.New(rand.NewPCG(uint64(*seed), 7))
	const commits = 14
	for c := 1; c <= commits; c++ {
		var rows []string
		for i := 0; i < 20; i++ {
			kind := "+U"
			if c > 1 && rng.IntN(5) == 0 {
				kind = "-D"
			}
			rows = append(rows, fmt.Sprintf(`{"id":%d,"dt":"d%d","v":%d,"_ROW_KIND":"%s"}`, rng.IntN(30), rng.IntN(4), rng.Int64N(1000), kind))
		}
		if out, err := oracleStdin(ctx, strings.Join(rows, "\n")+"\n", "write", paimon.Path()); err != nil {
			t.Fatalf("commit %d: Paimon write: %v\n%s", c, err, out)
		}
		if err := commitChangeRows(ctx, tarn, fields, rows, int64(c)); err != nil {
			t.Fatalf("commit %d: Tarn: %v", c, err)
		}
		if c%4 == 0 {
			if _, err := oracle(ctx, paimonLatest, "compact", "--full", paimon.Path()); err != nil {
				t.Fatalf("commit %d: Paimon full compaction: %v", c, err)
			}
			if _, err := tarn.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatalf("commit %d: Tarn's full compaction: %v", c, err)
			}
		}
	}
	// Tarn merged: without merging its base would hold a manifest per commit.
	id, _, err := tarn.LatestSnapshotID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tarn.Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	base, err := tarn.ReadManifestList(ctx, snap.BaseManifestList)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) >= int(id)-1 {
		t.Errorf("Tarn's base manifest list holds %d manifests after %d snapshots: nothing was merged", len(base), id)
	}
	compareReads(ctx, t, paimon, tarn)
	if out, err := oracle(ctx, paimonLatest, "check", tarn.Path()); err != nil {
		t.Fatalf("Paimon's check of Tarn's table: %v\n%s", err, out)
	}
	t.Logf("Tarn: %d snapshots, %d base manifests", id, len(base))
}

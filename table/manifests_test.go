package table_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// baseManifests returns the manifests of the latest snapshot's base manifest list.
func baseManifests(t *testing.T, tbl *table.Table) []manifest.ManifestFileMeta {
	t.Helper()
	ctx := context.Background()
	id, ok, err := tbl.LatestSnapshotID(ctx)
	if err != nil || !ok {
		t.Fatalf("latest snapshot: %v", err)
	}
	snap, err := tbl.Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := tbl.ReadManifestList(ctx, snap.BaseManifestList)
	if err != nil {
		t.Fatal(err)
	}
	return metas
}

func manifestNames(ms []manifest.ManifestFileMeta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.FileName)
	}
	return out
}

// Manifest maintenance follows Paimon's ManifestFileMerger: small manifests are merged
// once manifest.merge-min-count of them pile up; manifests of manifest.target-file-size
// are left alone; and once the manifests with deletions or below the target size reach
// manifest.full-compaction-threshold-size, a full compaction drops every DELETE entry
// with the ADD it cancels. Rows read the same throughout.
func TestManifestMerging(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	create := func(t *testing.T, opts map[string]string) *table.Table {
		o := map[string]string{"bucket": "1", "write-only": "true"}
		for k, v := range opts {
			o[k] = v
		}
		tbl, err := catalog.New(fileio.NewLocal(), t.TempDir()).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "m"},
			catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: o}, false)
		if err != nil {
			t.Fatal(err)
		}
		return tbl
	}
	model := map[int]string{}
	write := func(t *testing.T, tbl *table.Table, i int) {
		t.Helper()
		writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":%d,"v":"a%d"},{"id":%d,"v":"b%d"}]`, i%7, i, 10+i, i), int64(i))
		model[i%7], model[10+i] = fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
	}
	check := func(t *testing.T, tbl *table.Table) {
		t.Helper()
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
			t.Fatalf("rows:\n%s\nwant\n%s", got, want)
		}
	}

	t.Run("minor compaction merges small manifests", func(t *testing.T) {
		clear(model)
		tbl := create(t, map[string]string{"manifest.merge-min-count": "3"})
		most := 0
		for i := 1; i <= 12; i++ {
			write(t, tbl, i)
			most = max(most, len(baseManifests(t, tbl)))
			check(t, tbl)
		}
		if most > 3 {
			t.Errorf("the base held up to %d manifests, want at most manifest.merge-min-count = 3", most)
		}
	})

	t.Run("manifests of the target size stay", func(t *testing.T) {
		clear(model)
		tbl := create(t, map[string]string{"manifest.merge-min-count": "3", "manifest.target-file-size": "1 b"})
		var before []string
		for i := 1; i <= 6; i++ {
			if i > 1 {
				before = manifestNames(baseManifests(t, tbl))
			}
			write(t, tbl, i)
		}
		after := manifestNames(baseManifests(t, tbl))
		if len(after) != 5 || !slices.Equal(after[:len(before)], before) {
			t.Errorf("base manifests %v after %v: want the earlier ones kept and one added", after, before)
		}
		check(t, tbl)
	})

	t.Run("full compaction drops deletions", func(t *testing.T) {
		clear(model)
		tbl := create(t, map[string]string{"manifest.full-compaction-threshold-size": "1 b"})
		for i := 1; i <= 4; i++ {
			write(t, tbl, i)
		}
		if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
			t.Fatal(err)
		}
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, s := range plan.Splits {
			live += len(s.Files)
		}
		write(t, tbl, 5) // its commit merges the compaction's deletions into the base
		added, deleted := 0, 0
		for _, m := range baseManifests(t, tbl) {
			added += int(m.NumAddedFiles)
			deleted += int(m.NumDeletedFiles)
		}
		if deleted != 0 || added != live {
			t.Errorf("base manifests: %d ADD and %d DELETE entries, want the %d live files and no DELETE", added, deleted, live)
		}
		check(t, tbl)
	})
}

// A full compaction of a partitioned table's manifests keeps, as they are, the large
// manifests whose partition range holds no deleted file.
func TestManifestFullCompactionKeepsOtherPartitions(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, dt STRING NOT NULL, v STRING")
	tbl, err := catalog.New(fileio.NewLocal(), t.TempDir()).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "p"},
		catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: map[string]string{
			"bucket": "1", "write-only": "true", "manifest.target-file-size": "1 b", "manifest.full-compaction-threshold-size": "1 b"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"id":1,"dt":"a","v":"x"}]`, 1)
	writeCommit(t, tbl, fields, false, `[{"id":1,"dt":"b","v":"x"}]`, 2)
	writeCommit(t, tbl, fields, false, `[{"id":1,"dt":"b","v":"y"}]`, 3)
	partA := baseManifests(t, tbl)[0].FileName // commit 1's manifest, partition a only
	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true, Partition: func(v []any) bool { return v[0] == "b" }}); err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"id":2,"dt":"b","v":"z"}]`, 4)
	base := baseManifests(t, tbl)
	if !slices.Contains(manifestNames(base), partA) {
		t.Errorf("base manifests %v: partition a's manifest %s was rewritten", manifestNames(base), partA)
	}
	for _, m := range base {
		if m.NumDeletedFiles != 0 {
			t.Errorf("manifest %s keeps %d DELETE entries", m.FileName, m.NumDeletedFiles)
		}
	}
	got := scanJSONL(t, tbl, table.ScanOptions{})
	want := `{"id":1,"dt":"a","v":"x"}
{"id":1,"dt":"b","v":"y"}
{"id":2,"dt":"b","v":"z"}
`
	if got != want {
		t.Errorf("rows:\n%s\nwant\n%s", got, want)
	}
}

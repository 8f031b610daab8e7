package table_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	pathpkg "path"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// A model-checked sequence of upserts and deletes over several commits, compacted by the
// picker and fully: every read equals the model, full compaction leaves one sorted run per
// bucket on the top level with no deleted keys.
func TestCompactPrimaryKeyTable(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "c"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2", "num-sorted-run.compaction-trigger": "3"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	model := map[int]string{}
	for commit := 1; commit <= 12; commit++ {
		var rows []string
		for i := 0; i < 20; i++ {
			id := rng.IntN(40)
			if rng.IntN(4) == 0 {
				rows = append(rows, fmt.Sprintf(`{"id":%d,"v":null,"_ROW_KIND":"-D"}`, id))
				delete(model, id)
			} else {
				v := fmt.Sprintf("c%d-%d", commit, i)
				rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q,"_ROW_KIND":"+I"}`, id, v))
				model[id] = v
			}
		}
		writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(commit))
		if commit%4 == 0 {
			sum, err := tbl.Compact(ctx, table.CompactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("commit %d: %+v", commit, sum)
		}
		if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
			t.Fatalf("after commit %d:\n%s\nwant\n%s", commit, got, want)
		}
	}
	writeCommit(t, tbl, fields, true, `[{"id":1,"v":null,"_ROW_KIND":"-D"},{"id":99,"v":"last","_ROW_KIND":"+I"}]`, 13)
	delete(model, 1)
	model[99] = "last"
	sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.SnapshotID == 0 || sum.FilesIn == 0 {
		t.Fatalf("full compaction did nothing: %+v", sum)
	}
	if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
		t.Fatalf("after full compaction:\n%s\nwant\n%s", got, want)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			if f.Level != 3 || *f.DeleteRowCount != 0 { // num-levels defaults to trigger + 1
				t.Errorf("bucket %d: file %s on level %d with %d deletes after full compaction", s.Bucket, f.FileName, f.Level, *f.DeleteRowCount)
			}
			rows += f.RowCount
		}
	}
	if rows != int64(len(model)) {
		t.Errorf("%d rows in files, model has %d keys", rows, len(model))
	}
	if snap, _ := tbl.LatestSnapshot(ctx); string(snap.CommitKind) != "COMPACT" || *snap.TotalRecordCount != int64(len(model)) {
		t.Errorf("latest snapshot %s total %d, want COMPACT %d", snap.CommitKind, *snap.TotalRecordCount, len(model))
	}
	// Nothing left to do.
	again, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
	if err != nil || again.SnapshotID != 0 {
		t.Fatalf("second full compaction: %+v %v", again, err)
	}
}

func modelJSONL(m map[int]string) string {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "{\"id\":%d,\"v\":%q}\n", id, m[id])
	}
	return b.String()
}

// Compaction merges with the table's merge engine: a partial-update table keeps every
// column's latest non-null value through compactions below and at the top level.
func TestCompactPartialUpdate(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, a INT, b STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "pu"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1", "merge-engine": "partial-update"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"id":1,"a":1,"b":null},{"id":2,"a":null,"b":"x"}]`, 1)
	writeCommit(t, tbl, fields, false, `[{"id":1,"a":null,"b":"y"}]`, 2)
	if _, err := tbl.Compact(ctx, table.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"id":2,"a":5,"b":null}]`, 3)
	want := "{\"id\":1,\"a\":1,\"b\":\"y\"}\n{\"id\":2,\"a\":5,\"b\":\"x\"}\n"
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want {
		t.Fatalf("before full compaction:\n%s\nwant\n%s", got, want)
	}
	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want {
		t.Fatalf("after full compaction:\n%s\nwant\n%s", got, want)
	}
}

// CompactionVolume sums what the COMPACT snapshots rewrote, as the compactions reported
// it, leaving out files that were only moved to another level.
func TestCompactionVolume(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "v"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2", "num-sorted-run.compaction-trigger": "3", "target-file-size": "1 b"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	var want table.CompactionVolume
	var upgraded int64
	compact := func(o table.CompactOptions) {
		sum, err := tbl.Compact(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if sum.SnapshotID != 0 {
			want.Compactions++
		}
		want.InputFiles += sum.FilesIn - sum.Upgraded
		want.OutputFiles += sum.FilesOut - sum.Upgraded
		upgraded += int64(sum.Upgraded)
	}
	// One commit, then a full compaction: each bucket's single file moves to the top level.
	writeCommit(t, tbl, fields, false, `[{"id":1,"v":"a"},{"id":2,"v":"b"},{"id":3,"v":"c"}]`, 1)
	want.AppendedRows += 3
	compact(table.CompactOptions{Full: true})
	for commit := int64(2); commit <= 7; commit++ {
		writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":1,"v":"a%d"},{"id":2,"v":"b%d"},{"id":%d,"v":"n"}]`, commit, commit, commit+10), commit)
		want.AppendedRows += 3
		if commit%3 == 0 {
			compact(table.CompactOptions{})
		}
	}
	compact(table.CompactOptions{Full: true})
	got, err := tbl.CompactionVolume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if upgraded == 0 {
		t.Fatal("no compaction only moved a file: the test does not cover upgrades")
	}
	t.Logf("%+v", got)
	if got.Compactions != want.Compactions || got.InputFiles != want.InputFiles || got.OutputFiles != want.OutputFiles || got.AppendedRows != want.AppendedRows {
		t.Fatalf("volume %+v, want compactions %d, files %d in / %d out, %d rows appended", got, want.Compactions, want.InputFiles, want.OutputFiles, want.AppendedRows)
	}
	// The last full compaction writes the 8 live keys; compactions never write more rows
	// than they read.
	if got.OutputRows < 8 || got.InputRows < got.OutputRows || got.InputBytes == 0 || got.OutputBytes == 0 {
		t.Fatalf("volume %+v: rows or bytes out of range", got)
	}
}

// Paimon's compaction strategy options act on the picker: early full compaction by total
// size or by interval (the last full compaction estimated from the top level's files), and
// compaction.force-up-level-0. Two or three level-0 runs are below the trigger (5), so
// without them nothing is compacted.
func TestCompactionStrategyOptions(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	levelsOf := func(tbl *table.Table) []int32 {
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []int32
		for _, s := range plan.Splits {
			for _, f := range s.Files {
				out = append(out, f.Level)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	for _, tc := range []struct {
		name    string
		options map[string]string
		// levels after two commits and a compaction, then after a third commit and another
		want1, want2 string
	}{
		{"defaults", nil, "[0 0]", "[0 0 0]"},
		{"total size threshold", map[string]string{"compaction.total-size-threshold": "1 gb"}, "[5]", "[5]"},
		{"optimization interval", map[string]string{"compaction.optimization-interval": "1 h"}, "[5]", "[0 5]"},
		{"incremental size threshold", map[string]string{"compaction.incremental-size-threshold": "1 b"}, "[5]", "[5]"},
		{"force up level 0", map[string]string{"compaction.force-up-level-0": "true"}, "[5]", "[4 5]"}, // level 0 goes up to just below the top
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := map[string]string{"bucket": "1"}
			for k, v := range tc.options {
				opts[k] = v
			}
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "s"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: opts}, false)
			if err != nil {
				t.Fatal(err)
			}
			writeCommit(t, tbl, fields, false, `[{"id":1,"v":"a"},{"id":2,"v":"b"}]`, 1)
			writeCommit(t, tbl, fields, false, `[{"id":2,"v":"c"},{"id":3,"v":"d"}]`, 2)
			if _, err := tbl.Compact(ctx, table.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(levelsOf(tbl)); got != tc.want1 {
				t.Errorf("levels after the first compaction %s, want %s", got, tc.want1)
			}
			writeCommit(t, tbl, fields, false, `[{"id":3,"v":"e"}]`, 3)
			if _, err := tbl.Compact(ctx, table.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(levelsOf(tbl)); got != tc.want2 {
				t.Errorf("levels after the second compaction %s, want %s", got, tc.want2)
			}
			if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(map[int]string{1: "a", 2: "c", 3: "e"}); got != want {
				t.Errorf("rows:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// A writer of a lookup table moves its level-0 files up at every commit (lookup-compact
// radical, Paimon's default); with lookup-compact gentle only on every
// lookup-compact.max-interval-th commit whose pick found nothing else
// (ForceUpLevel0Compaction with a max interval). Its changelog then waits for that commit.
func TestLookupCompactGentle(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	for _, tc := range []struct {
		mode, interval string
		// level-0 files after each of 7 commits
		want string
	}{
		{"radical", "3", "[0 0 0 0 0 0 0]"},
		// The max interval is 5 (at least the trigger, 5). Commits 1 to 4 pick nothing (counts
		// 1 to 4); at the 5th the universal picker compacts the five runs itself; at the 6th
		// the count reaches 5 and level 0 goes up; the 7th counts 1 again.
		{"gentle", "3", "[1 2 3 4 0 0 1]"},
		{"gentle", "6", "[1 2 3 4 0 1 0]"}, // the count reaches 6 at the 7th
	} {
		t.Run(tc.mode+"-"+tc.interval, func(t *testing.T) {
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "l"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"},
				Options: map[string]string{"bucket": "1", "changelog-producer": "lookup", "lookup-compact": tc.mode, "lookup-compact.max-interval": tc.interval}}, false)
			if err != nil {
				t.Fatal(err)
			}
			w, err := tbl.NewWriter(ctx, table.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var level0 []int
			for i := 1; i <= 7; i++ {
				msgs := writeOne(t, w, fmt.Sprintf(`[{"id":%d,"v":"v%d"},{"id":1,"v":"v%d"}]`, i, i, i))
				if _, err := tbl.Commit(ctx, table.Commit{User: "gentle", Identifier: int64(i), Messages: msgs}); err != nil {
					t.Fatal(err)
				}
				plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, s := range plan.Splits {
					for _, f := range s.Files {
						if f.Level == 0 {
							n++
						}
					}
				}
				level0 = append(level0, n)
			}
			if got := fmt.Sprint(level0); got != tc.want {
				t.Errorf("level-0 files after each commit %s, want %s", got, tc.want)
			}
			model := map[int]string{1: "v7"}
			for i := 2; i <= 7; i++ {
				model[i] = fmt.Sprintf("v%d", i)
			}
			if got, want := scanJSONL(t, tbl, table.ScanOptions{AllLevels: true}), modelJSONL(model); got != want {
				t.Errorf("rows:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// file.format.per.level and file.compression.per.level choose the format of each level's
// files (names end in it), changelog-file.format that of changelog files; a lookup
// compaction rewrites a level-0 file moving to a level of another format (Paimon's
// LookupMergeTreeCompactRewriter) rather than only moving it.
func TestFormatPerLevel(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING, ts TIMESTAMP(3)")
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "f"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "1", "file.format.per.level": "0:avro,2:orc", "file.compression.per.level": "0:snappy",
			"changelog-producer": "input", "changelog-file.format": "orc", "file.compression.zstd-level": "3", "parquet.enable.dictionary": "false"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	model := map[int]string{}
	for i := 1; i <= 6; i++ {
		writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":%d,"v":"v%d","ts":"2026-01-02 03:04:05.678"},{"id":1,"v":"v%d"}]`, i, i, i), int64(i))
		model[i] = fmt.Sprintf("v%d", i)
		model[1] = fmt.Sprintf("v%d", i)
		if i == 3 {
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	byLevel := map[int32]string{}
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			byLevel[f.Level] += pathpkg.Ext(f.FileName)
		}
	}
	if byLevel[0] != ".avro.avro.avro" || byLevel[5] != ".parquet" {
		t.Errorf("files by level %v: want three .avro files on level 0 and one .parquet on level 5", byLevel)
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := tbl.SnapshotChanges(ctx, snaps[len(snaps)-1], nil)
	if err != nil {
		t.Fatal(err)
	}
	var changelog int
	for _, c := range changes {
		for _, f := range c.Files {
			changelog++
			if pathpkg.Ext(f.FileName) != ".orc" || !strings.HasPrefix(f.FileName, "changelog-") {
				t.Errorf("changelog file %s: want changelog-*.orc", f.FileName)
			}
		}
	}
	if changelog == 0 {
		t.Error("the last commit has no changelog file")
	}
	lines := strings.Split(strings.TrimSpace(scanJSONL(t, tbl, table.ScanOptions{})), "\n")
	if len(lines) != len(model) {
		t.Fatalf("%d rows, want %d:\n%s", len(lines), len(model), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		if want := fmt.Sprintf(`{"id":%d,"v":%q`, i+1, model[i+1]); !strings.HasPrefix(l, want) {
			t.Errorf("row %d: %s, want it to start %s", i+1, l, want)
		}
	}
}

// An append-only bucket is compacted once it has compaction.min.file-num small files
// (default 5; BucketedAppendCompactManager.pickCompactBefore), and rows keep their order.
func TestAppendCompactionMinFileNum(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT, v STRING")
	for _, tc := range []struct {
		options map[string]string
		commits int
		want    int // files after the compaction
	}{
		{nil, 4, 4},
		{nil, 5, 1},
		{map[string]string{"compaction.min.file-num": "3"}, 2, 2},
		{map[string]string{"compaction.min.file-num": "3"}, 3, 1},
		{map[string]string{"compaction.min.file-num": "1"}, 2, 1}, // a single file is never rewritten alone
	} {
		t.Run(fmt.Sprint(tc.options, tc.commits), func(t *testing.T) {
			opts := map[string]string{"bucket": "1", "bucket-key": "id"}
			for k, v := range tc.options {
				opts[k] = v
			}
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{Fields: fields, Options: opts}, false)
			if err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for i := 1; i <= tc.commits; i++ {
				writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":%d,"v":"r%d"}]`, i, i), int64(i))
				fmt.Fprintf(&want, "{\"id\":%d,\"v\":\"r%d\"}\n", i, i)
			}
			if _, err := tbl.Compact(ctx, table.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(plan.Splits[0].Files); got != tc.want {
				t.Errorf("%d files after the compaction, want %d", got, tc.want)
			}
			if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want.String() {
				t.Errorf("rows:\n%s\nwant\n%s", got, want.String())
			}
		})
	}
}

// An unaware-bucket append table's partition may hold several deletion-vector index files
// (Paimon's AppendDeleteFileMaintainer). A compaction rewriting files with deletion vectors
// replaces each index file holding one of theirs by one holding its other vectors, or by
// none, and leaves the other index files alone (AppendCompactTask with deletion vectors).
func TestUnawareAppendCompactionDropsDeletionVectors(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT, v STRING")
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "u"}, catalog.TableSpec{Fields: fields,
		Options: map[string]string{"bucket": "-1", "deletion-vectors.enabled": "true", "target-file-size": "4 kb"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Two large files (never rewritten) and three small ones, in this sequence order.
	for i, r := range []string{spreadRows(1000, 400), spreadRows(2000, 400), spreadRows(1, 2), spreadRows(3, 2), spreadRows(5, 2)} {
		writeCommit(t, tbl, fields, false, r, int64(i+1))
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &plan.Splits[0]
	files := slices.Clone(s.Files)
	sort.Slice(files, func(i, j int) bool { return files[i].MinSequenceNumber < files[j].MinSequenceNumber })
	if len(files) != 5 || files[0].FileSize < 2867 || files[2].FileSize >= 2867 {
		t.Fatalf("files %d, sizes %d and %d: want 5, the first large and the third small", len(files), files[0].FileSize, files[2].FileSize)
	}
	large1, large2, small2, small3 := files[0].FileName, files[1].FileName, files[3].FileName, files[4].FileName
	// Index file X holds a vector of a file the compaction rewrites and one of a file it
	// keeps, Y one of a rewritten file only, W one of a kept file only.
	id := int64(6)
	for _, vectors := range []map[string][]int64{{small2: {0}, large1: {0}}, {small3: {1}}, {large2: {5}}} {
		msg, err := table.AddDeletionIndexForTest(ctx, tbl, s, vectors)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: id, Messages: []table.CommitMessage{msg}}); err != nil {
			t.Fatal(err)
		}
		id++
	}
	before := scanJSONL(t, tbl, table.ScanOptions{})
	for _, gone := range []string{`"id":3,`, `"id":6,`, `"id":1000,`, `"id":2005,`} {
		if strings.Contains(before, gone) {
			t.Fatalf("before the compaction the deleted row %s is read", gone)
		}
	}
	if n := strings.Count(before, "\n"); n != 802 {
		t.Fatalf("before the compaction %d rows, want 802", n)
	}
	indexBefore := liveDVIndex(t, tbl)
	if len(indexBefore) != 3 {
		t.Fatalf("%d index files before the compaction, want 3", len(indexBefore))
	}

	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true, User: "test"}); err != nil {
		t.Fatal(err)
	}
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != before {
		t.Errorf("after the compaction the rows differ:\n%s\nwant\n%s", got, before)
	}
	plan, err = tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(plan.Splits[0].Files); n != 3 {
		t.Errorf("%d files after the compaction, want the 2 large ones and 1 compacted", n)
	}
	after := liveDVIndex(t, tbl)
	var kept, rewritten int
	for name, vectors := range after {
		switch {
		case indexBefore[name] != nil && slices.Equal(vectors, []string{large2}):
			kept++ // W, as it was
		case indexBefore[name] == nil && slices.Equal(vectors, []string{large1}):
			rewritten++ // X without the rewritten file's vector
		default:
			t.Errorf("index file %s after the compaction holds vectors of %v", name, vectors)
		}
	}
	if kept != 1 || rewritten != 1 || len(after) != 2 {
		t.Errorf("index files after the compaction: %v; want W kept and X rewritten with %s alone (before: %v)", after, large1, indexBefore)
	}
}

// A compaction of an unaware-bucket append table rewrites a large file whose deletion
// vector deletes more than compaction.delete-ratio-threshold of its rows (0.2 unless set),
// dropping them and the vector (AppendCompactCoordinator.tooHighDeleteRatio).
func TestUnawareAppendCompactsFilesWithManyDeletedRows(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold string // the option, or none
		rewritten bool
	}{
		{name: "default threshold", rewritten: true},
		{name: "threshold above the share deleted", threshold: "0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fields, _ := types.ParseColumns("id INT, v STRING")
			opts := map[string]string{"bucket": "-1", "deletion-vectors.enabled": "true", "target-file-size": "4 kb"}
			if tc.threshold != "" {
				opts["compaction.delete-ratio-threshold"] = tc.threshold
			}
			tbl, err := catalog.New(fileio.NewLocal(), t.TempDir()).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "u"}, catalog.TableSpec{Fields: fields, Options: opts}, false)
			if err != nil {
				t.Fatal(err)
			}
			writeCommit(t, tbl, fields, false, spreadRows(0, 400), 1)
			plan, err := tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := &plan.Splits[0]
			if s.Files[0].FileSize < 2867 {
				t.Fatalf("the file is %d bytes, want a large one", s.Files[0].FileSize)
			}
			positions := make([]int64, 100) // a quarter of the rows
			for i := range positions {
				positions[i] = int64(4 * i)
			}
			msg, err := table.AddDeletionIndexForTest(ctx, tbl, s, map[string][]int64{s.Files[0].FileName: positions})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: 2, Messages: []table.CommitMessage{msg}}); err != nil {
				t.Fatal(err)
			}
			before := scanJSONL(t, tbl, table.ScanOptions{})
			if _, err := tbl.Compact(ctx, table.CompactOptions{User: "test"}); err != nil {
				t.Fatal(err)
			}
			if got := scanJSONL(t, tbl, table.ScanOptions{}); got != before || strings.Count(got, "\n") != 300 {
				t.Errorf("after the compaction %d rows differ from the %d before", strings.Count(got, "\n"), strings.Count(before, "\n"))
			}
			plan, err = tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f := plan.Splits[0].Files[0]
			if rewritten := f.FileName != s.Files[0].FileName; rewritten != tc.rewritten {
				t.Fatalf("rewritten %v, want %v", rewritten, tc.rewritten)
			}
			if vectors := len(liveDVIndex(t, tbl)); tc.rewritten && (f.RowCount != 300 || vectors != 0) {
				t.Errorf("the rewritten file has %d rows and %d index files remain, want 300 and none", f.RowCount, vectors)
			}
		})
	}
}

// In an unaware-bucket append table, commits giving vectors to different data files of a
// partition do not conflict (each file's vector lives in one of several index files), and
// one giving a file a second vector beside the one another commit gave it does
// (Paimon's ConflictDetection.buildDeltaEntriesWithDV).
func TestUnawareDeletionVectorConflicts(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT, v STRING")
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "u"}, catalog.TableSpec{Fields: fields,
		Options: map[string]string{"bucket": "-1", "deletion-vectors.enabled": "true"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"id":1,"v":"a"},{"id":2,"v":"b"}]`, 1)
	writeCommit(t, tbl, fields, false, `[{"id":3,"v":"c"},{"id":4,"v":"d"}]`, 2)
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &plan.Splits[0]
	files := slices.Clone(s.Files)
	sort.Slice(files, func(i, j int) bool { return files[i].MinSequenceNumber < files[j].MinSequenceNumber })
	a, b := files[0].FileName, files[1].FileName
	// Both written against the same snapshot, committed one after the other.
	msgA, err := table.AddDeletionIndexForTest(ctx, tbl, s, map[string][]int64{a: {0}})
	if err != nil {
		t.Fatal(err)
	}
	msgB, err := table.AddDeletionIndexForTest(ctx, tbl, s, map[string][]int64{b: {1}})
	if err != nil {
		t.Fatal(err)
	}
	msgA2, err := table.AddDeletionIndexForTest(ctx, tbl, s, map[string][]int64{a: {1}})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []table.CommitMessage{msgA, msgB} {
		if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: int64(3 + i), Messages: []table.CommitMessage{m}}); err != nil {
			t.Fatalf("vectors of different files: %v", err)
		}
	}
	if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: 5, Messages: []table.CommitMessage{msgA2}}); !errors.Is(err, table.ErrConflict) {
		t.Errorf("a second vector of %s: %v, want a conflict", a, err)
	}
	want := `{"id":2,"v":"b"}
{"id":3,"v":"c"}
`
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want {
		t.Errorf("rows:\n%s\nwant\n%s", got, want)
	}
}

// spreadRows is a JSON array of n rows (id, v) from id from on, whose values compress
// badly, so that 400 of them make a file above 4 KB.
func spreadRows(from, n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"v":"value-%d-%x"}`, i, i, uint32(i)*2654435761)
	}
	b.WriteString("]")
	return b.String()
}

// liveDVIndex is the latest snapshot's deletion-vector index files and the data files
// whose vectors each holds.
func liveDVIndex(t *testing.T, tbl *table.Table) map[string][]string {
	t.Helper()
	ctx := context.Background()
	snap, err := tbl.LatestSnapshot(ctx)
	if err != nil || snap == nil || snap.IndexManifest == nil {
		t.Fatalf("latest snapshot %v: %v", snap, err)
	}
	entries, err := tbl.ReadIndexManifest(ctx, *snap.IndexManifest)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range entries {
		if e.Kind != manifest.FileKindAdd || e.IndexFile.IndexType != manifest.IndexTypeDeletionVectors {
			continue
		}
		var names []string
		for _, r := range e.IndexFile.DeletionVectorRanges {
			names = append(names, r.DataFileName)
		}
		sort.Strings(names)
		out[e.IndexFile.FileName] = names
	}
	return out
}

// A full compaction of a fixed-bucket append table with deletion vectors rewrites its
// files without the deleted rows and drops their vectors from the index, as Paimon's
// BucketedAppendCompactManager.compact does (removeDeletionVectorOf, then a new index
// file, here none: no vector is left).
func TestAppendCompactionDropsDeletionVectors(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT, v STRING")
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{Fields: fields,
		Options: map[string]string{"bucket": "1", "bucket-key": "id", "deletion-vectors.enabled": "true"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":%d,"v":"a"},{"id":%d,"v":"b"}]`, 2*i-1, 2*i), int64(i))
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &plan.Splits[0]
	var second string // the file of ids 3 and 4
	for _, f := range s.Files {
		if f.MinSequenceNumber == 2 {
			second = f.FileName
		}
	}
	msg, err := table.DeleteRowsForTest(ctx, tbl, plan, s, second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: 4, Messages: []table.CommitMessage{msg}}); err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"v":"a"}
{"id":2,"v":"b"}
{"id":4,"v":"b"}
{"id":5,"v":"a"}
{"id":6,"v":"b"}
`
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want {
		t.Fatalf("before the compaction:\n%s\nwant\n%s", got, want)
	}
	sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true, User: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Buckets != 1 {
		t.Fatalf("compaction summary %+v", sum)
	}
	if got := scanJSONL(t, tbl, table.ScanOptions{}); got != want {
		t.Errorf("after the compaction:\n%s\nwant\n%s", got, want)
	}
	plan, err = tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(plan.Splits[0].Files); n != 1 {
		t.Errorf("%d files after the compaction, want 1", n)
	}
	if n := len(plan.Splits[0].DeletionFiles); n != 0 {
		t.Errorf("%d deletion vectors after the compaction, want none", n)
	}
	if im := plan.Snapshot.IndexManifest; im != nil {
		entries, err := tbl.ReadIndexManifest(ctx, *im)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, e := range entries {
			if e.Kind == manifest.FileKindAdd {
				live++
			} else {
				live--
			}
		}
		if live != 0 {
			t.Errorf("the index still holds %d deletion-vector files: %+v", live, entries)
		}
	}
	if f := plan.Splits[0].Files[0]; f.RowCount != 5 || f.MinSequenceNumber != 0 || f.MaxSequenceNumber != 4 {
		t.Errorf("compacted file: %d rows, sequence numbers %d..%d; want 5 rows, 0..4", f.RowCount, f.MinSequenceNumber, f.MaxSequenceNumber)
	}
}

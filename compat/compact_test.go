package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/table"
)

// levelSummary is what a full compaction left on one level of one bucket: the files it
// kept (moved to the level or left where they were, by name) and what the files it wrote
// hold together (their rows and key range; where a rewrite rolls to a new file is the
// writer's, and Parquet writers estimate sizes differently).
type levelSummary struct {
	kept           []string
	rows, deletes  int64
	minKey, maxKey int32
	written        bool
}

func (l *levelSummary) String() string {
	if !l.written {
		return fmt.Sprintf("kept %v; nothing written", l.kept)
	}
	return fmt.Sprintf("kept %v; written: %d rows (%d deletes), keys %d..%d", l.kept, l.rows, l.deletes, l.minKey, l.maxKey)
}

// intKey is the INT key of a serialized one-field BinaryRow (a min or max key).
func intKey(t *testing.T, serialized []byte) int32 {
	t.Helper()
	row, err := binaryrow.Deserialize(serialized)
	if err != nil || row.Arity() != 1 {
		t.Fatalf("key %x is no BinaryRow of one field (%v)", serialized, err)
	}
	return row.GetInt(0)
}

// latestPlan opens the table at path and plans a scan of its latest snapshot.
func latestPlan(ctx context.Context, t *testing.T, path string) (*table.Table, *table.Plan) {
	t.Helper()
	tbl, err := table.Open(ctx, fileio.NewLocal(), path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tbl, plan
}

// compactionSummary summarizes the live files of every bucket after a compaction, given
// the names of the files that existed before it.
//
// bySize summarizes the kept files by their sizes alone, and not what was written: which
// of two files of equal size Paimon's append compaction coordinator packs first depends
// on the order of a hash set.
func compactionSummary(ctx context.Context, t *testing.T, path string, before map[string]bool, bySize bool) map[string]*levelSummary {
	t.Helper()
	_, plan := latestPlan(ctx, t, path)
	out := map[string]*levelSummary{}
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			k := fmt.Sprintf("bucket %d level %d", s.Bucket, f.Level)
			l := out[k]
			if l == nil {
				l = &levelSummary{}
				out[k] = l
			}
			switch {
			case before[f.FileName] && bySize:
				l.kept = append(l.kept, fmt.Sprintf("%d bytes", f.FileSize))
				continue
			case before[f.FileName]:
				l.kept = append(l.kept, f.FileName)
				continue
			case bySize:
				l.written = true
				continue
			}
			l.rows += f.RowCount
			if f.DeleteRowCount != nil {
				l.deletes += *f.DeleteRowCount
			}
			if len(plan.Schema.PrimaryKeys) == 0 { // append-only: no keys
				l.written = true
				continue
			}
			lo, hi := intKey(t, f.MinKey), intKey(t, f.MaxKey)
			if !l.written || lo < l.minKey {
				l.minKey = lo
			}
			if !l.written || hi > l.maxKey {
				l.maxKey = hi
			}
			l.written = true
		}
	}
	for _, l := range out {
		sort.Strings(l.kept)
	}
	return out
}

// A full compaction does what Paimon's does (MergeTreeCompactTask with the full
// compaction's unit; for fixed-bucket append tables BucketedAppendCompactManager's
// FullCompactTask; for unaware-bucket append tables, which have no full compaction, what
// AppendCompactCoordinator packs): Tarn builds a bucketed table's history (upserts and deletes over
// overlapping and disjoint key ranges, some of it already compacted to higher levels, a
// small target-file-size so that some files are large enough to be moved instead of
// rewritten), then Tarn and Paimon (compat/oracle compact --full) fully compact two copies
// of it. In every bucket the same files must be kept (moved to the top level, or left
// there) and the files written must hold the same rows, deletions and key range; both
// copies must read alike, and Paimon must check Tarn's. Histories are drawn at random;
// the seed is printed (TARN_COMPACT_SEED repeats one).
func TestFullCompactionAsPaimon(t *testing.T) {
	requireOracle(t)
	seed := seedFrom(t, "TARN_COMPACT_SEED")
	t.Logf("seed %d", seed)
	for i := range 11 {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		appendOnly := i >= 4 && i < 8 // fixed-bucket append tables: BucketedAppendCompactManager's full compaction
		unaware := i >= 6 && i < 8    // unaware-bucket append tables: AppendCompactCoordinator, not full
		normal := i >= 8              // primary-key tables, a compaction that is not full
		opts := map[string]string{
			"bucket":                            "2",
			"target-file-size":                  []string{"2 kb", "8 kb", "128 mb"}[r.IntN(3)],
			"num-sorted-run.compaction-trigger": fmt.Sprint(2 + r.IntN(4)),
		}
		spec := catalog.TableSpec{PrimaryKeys: []string{"k"}, Options: opts}
		switch {
		case unaware:
			spec.PrimaryKeys = nil
			opts["bucket"] = "-1"
			opts["target-file-size"] = []string{"2 kb", "4 kb"}[r.IntN(2)]
			opts["source.split.open-file-cost"] = "1 b"
			opts["compaction.min.file-num"] = fmt.Sprint(2 + r.IntN(4))
		case appendOnly:
			spec.PrimaryKeys = nil
			opts["bucket-key"] = "k"
			opts["compaction.min.file-num"] = fmt.Sprint(2 + r.IntN(4))
		case normal: // runs on several levels: the picker often picks twice
			opts["num-sorted-run.compaction-trigger"] = fmt.Sprint(2 + r.IntN(2))
		case r.IntN(3) == 1:
			opts["deletion-vectors.enabled"] = "true"
		case r.IntN(2) == 1:
			opts["changelog-producer"] = "lookup"
		}
		name := fmt.Sprintf("%d-target-%s", i, strings.ReplaceAll(opts["target-file-size"], " ", ""))
		if appendOnly {
			name += "-append"
		}
		if unaware {
			name += "-unaware"
		}
		if normal {
			name += "-not-full"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", "k INT NOT NULL, v STRING", spec)
			commits, rowsPer := 4+r.IntN(6), 300
			if unaware { // many small files, packed into bins
				commits, rowsPer = 10+r.IntN(15), 60
			}
			for c := 1; c <= commits; c++ {
				var rows []string
				lo, span := 0, 2000
				if r.IntN(2) == 0 { // a disjoint key range: a section of its own
					lo, span = 2000+c*500, 400
				}
				for n := 10 + r.IntN(rowsPer); n > 0; n-- {
					row := fmt.Sprintf(`{"k":%d,"v":"c%d-%s"}`, lo+r.IntN(span), c, strings.Repeat("x", r.IntN(20)))
					if !appendOnly && r.IntN(8) == 0 {
						row = fmt.Sprintf(`{"k":%d,"v":null,"_ROW_KIND":"-D"}`, lo+r.IntN(span))
					}
					rows = append(rows, row)
				}
				if _, err := commitJSONL(ctx, tbl, fields, rows, int64(c)); err != nil {
					t.Fatalf("commit %d: %v", c, err)
				}
				if !unaware && r.IntN(3) == 0 {
					if _, err := tbl.Compact(ctx, table.CompactOptions{User: "compat-compact"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]bool{}
			var layout []string
			for _, s := range plan.Splits {
				for _, f := range s.Files {
					before[f.FileName] = true
					layout = append(layout, fmt.Sprintf("b%d/L%d/%dB", s.Bucket, f.Level, f.FileSize))
				}
			}
			t.Logf("options %v, %d commits; files before: %v", opts, commits, layout)

			paimonDir := filepath.Join(dir, "paimon-copy")
			if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: !unaware && !normal, User: "compat-compact"}); err != nil {
				t.Fatal(err)
			}
			args := []string{"compact", paimonDir, "--full"}
			if unaware || normal {
				args = args[:2]
			}
			if out, err := oracle(ctx, paimonLatest, args...); err != nil {
				t.Fatalf("Paimon's full compaction: %v\n%s", err, out)
			}
			got, want := compactionSummary(ctx, t, tbl.Path(), before, unaware), compactionSummary(ctx, t, paimonDir, before, unaware)
			keys := slices.Sorted(func(yield func(string) bool) {
				seen := map[string]bool{}
				for _, m := range []map[string]*levelSummary{got, want} {
					for k := range m {
						if !seen[k] && !yield(k) {
							return
						}
						seen[k] = true
					}
				}
			})
			for _, k := range keys {
				g, w := got[k], want[k]
				if g == nil || w == nil || g.String() != w.String() {
					t.Errorf("seed %d (TARN_COMPACT_SEED): %s after the full compaction:\n  Tarn:   %v\n  Paimon: %v", seed, k, g, w)
				}
			}
			if t.Failed() {
				return
			}
			for _, k := range keys {
				t.Logf("%s: %v", k, got[k])
			}
			rows := readsAsPaimon(ctx, t, tbl, "after the full compaction", true)
			paimonRows, err := oracle(ctx, paimonLatest, "read", paimonDir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rows, paimonRows) {
				t.Errorf("the copies read differently after the full compaction:\n%s", diff(string(paimonRows), string(rows)))
			}
		})
	}
}

// A compaction that is not full picks again on the layout its first pick left, as
// Paimon's writer does (compact(false), then prepareCommit waiting for it: a second
// triggerCompaction), and commits both. With num-sorted-run.compaction-trigger 2, three
// level-0 runs over a larger level-1 run and a level-2 run are first merged with level 1
// into level 1 (the size ratio stops at level 1, and level 0 is never an output), then
// level 1 and 2 into level 2 (size ratio). Tarn and Paimon compact copies
// of that layout; the same files must be left, and the level-1 file between is gone.
func TestChainedCompactionAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	dir := t.TempDir()
	tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", "k INT NOT NULL, v STRING",
		catalog.TableSpec{PrimaryKeys: []string{"k"}, Options: map[string]string{"bucket": "1", "num-sorted-run.compaction-trigger": "2"}})
	r := rand.New(rand.NewPCG(5, 5))
	ident := int64(0)
	commit := func(lo, n int) {
		t.Helper()
		var rows []string
		for k := lo; k < lo+n; k++ {
			v := make([]byte, 30)
			for i := range v {
				v[i] = byte('a' + r.IntN(26))
			}
			rows = append(rows, fmt.Sprintf(`{"k":%d,"v":"%s"}`, k, v))
		}
		ident++
		if _, err := commitJSONL(ctx, tbl, fields, rows, ident); err != nil {
			t.Fatal(err)
		}
	}
	compact := func(full bool) {
		t.Helper()
		if _, err := tbl.Compact(ctx, table.CompactOptions{Full: full, User: "compat-compact"}); err != nil {
			t.Fatal(err)
		}
	}
	commit(0, 1100) // level 2
	compact(true)
	commit(2000, 390)
	commit(3000, 410) // the newer level-0 run is the larger: both go to level 1
	compact(false)
	commit(4000, 200)
	commit(5000, 200)
	commit(6000, 200)
	_, plan := latestPlan(ctx, t, tbl.Path())
	var layout []string
	before := map[string]bool{}
	for _, f := range plan.Splits[0].Files {
		layout = append(layout, fmt.Sprintf("L%d", f.Level))
		before[f.FileName] = true
	}
	slices.Sort(layout)
	if got := strings.Join(layout, " "); got != "L0 L0 L0 L1 L2" {
		t.Fatalf("layout before the compaction: %s, want L0 L0 L0 L1 L2", got)
	}
	paimonDir := filepath.Join(dir, "paimon-copy")
	if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
		t.Fatal(err)
	}
	existed := map[string]bool{}
	for _, f := range tableFiles(t, tbl.Path()) {
		existed[f] = true
	}
	compact(false)
	if out, err := oracle(ctx, paimonLatest, "compact", paimonDir); err != nil {
		t.Fatalf("Paimon's compaction: %v\n%s", err, out)
	}
	got, want := compactionSummary(ctx, t, tbl.Path(), before, false), compactionSummary(ctx, t, paimonDir, before, false)
	if len(want) != 1 || want["bucket 0 level 2"] == nil {
		t.Fatalf("Paimon did not compact twice into level 2: %v", want)
	}
	for k, w := range want {
		if g := got[k]; g == nil || g.String() != w.String() {
			t.Errorf("%s:\n  Tarn:   %v\n  Paimon: %v", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Tarn left levels %v, Paimon %v", got, want)
	}
	// The level-1 file the first compaction wrote is neither live nor left behind.
	_, after := latestPlan(ctx, t, tbl.Path())
	live := map[string]bool{}
	for _, f := range after.Splits[0].Files {
		live[f.FileName] = true
	}
	for _, f := range tableFiles(t, tbl.Path()) {
		if name, ok := strings.CutPrefix(f, "bucket-0/"); ok && !existed[f] && !live[name] {
			t.Errorf("%s: written by the first compaction and rewritten by the second, still there", f)
		}
	}
	readsAsPaimon(ctx, t, tbl, "after the chained compaction", true)
}

package compat_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// tableFiles lists the regular files under dir, relative to it.
func tableFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sameFiles fails t unless the table directories a (Tarn's) and b (Paimon's) hold files of
// the same names after step.
func sameFiles(t *testing.T, seed uint64, step, a, b string) {
	t.Helper()
	got, want := tableFiles(t, a), tableFiles(t, b)
	if slices.Equal(got, want) {
		return
	}
	var onlyTarn, onlyPaimon []string
	for _, f := range got {
		if !slices.Contains(want, f) {
			onlyTarn = append(onlyTarn, f)
		}
	}
	for _, f := range want {
		if !slices.Contains(got, f) {
			onlyPaimon = append(onlyPaimon, f)
		}
	}
	t.Fatalf("seed %d (TARN_EXPIRE_SEED): after %s the copies differ:\nonly in Tarn's (Tarn deleted less): %v\nonly in Paimon's (Tarn deleted more): %v", seed, step, onlyTarn, onlyPaimon)
}

// rolledBackAlike compares the copies after a rollback. Paimon's rollback (since 1.2,
// RollbackHelper.cleanLargerThan) deletes only the snapshot and tag files after the
// target and leaves the files only they used to orphan-file cleaning; Tarn's deletes
// those files too. So Tarn's orphan-file cleaning of Paimon's copy must leave exactly
// Tarn's copy: Tarn's rollback deleted all the files Paimon's made orphans, and nothing
// the snapshots and tags left need.
func rolledBackAlike(ctx context.Context, t *testing.T, seed uint64, step, tarnDir, paimonDir string) {
	t.Helper()
	pt, err := table.Open(ctx, fileio.NewLocal(), paimonDir)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := pt.CleanOrphans(ctx, time.Nanosecond, false); err != nil {
		t.Fatalf("orphan-file cleaning of Paimon's copy after %s: %v", step, err)
	}
	sameFiles(t, seed, step+" (and the orphan files of Paimon's cleaned)", tarnDir, paimonDir)
}

// maintenanceTables are the tables the maintenance tests build histories of: primary
// keys without and with a changelog producer (input, partitioned; lookup with deletion
// vectors), and append-only without fixed buckets.
var maintenanceTables = []struct {
	name    string
	columns string
	spec    catalog.TableSpec
}{
	{"pk", "id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2"}}},
	{"pk-input-changelog-partitioned", "dt STRING NOT NULL, id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"dt", "id"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "2", "changelog-producer": "input"}}},
	{"pk-lookup-dv", "id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2", "changelog-producer": "lookup", "deletion-vectors.enabled": "true"}}},
	{"append", "id INT NOT NULL, v STRING", catalog.TableSpec{Options: map[string]string{"bucket": "-1"}}},
}

// randomHistory commits random upserts and deletes (over a few keys; partitioned by dt
// when the table has it) to a table, each commit perhaps followed by a full compaction
// (primary-key tables) and a tag, for the maintenance tests.
type randomHistory struct {
	tbl          *table.Table
	fields       []types.DataField
	r            *rand.Rand
	commit, tags int
	pk, dt       bool
}

func newRandomHistory(tbl *table.Table, fields []types.DataField, pk bool, r *rand.Rand) *randomHistory {
	return &randomHistory{tbl: tbl, fields: fields, r: r, pk: pk, dt: fields[0].Name == "dt"}
}

// run makes n more commits.
func (h *randomHistory) run(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	r := h.r
	for range n {
		h.commit++
		var rows []string
		for j := 0; j < 3+r.IntN(5); j++ {
			id := r.IntN(12)
			row := fmt.Sprintf(`"id":%d,"v":"c%d-%d"`, id, h.commit, j)
			if h.dt {
				row = fmt.Sprintf(`"dt":"d%d",`, id%2) + row
			}
			if h.pk && r.IntN(5) == 0 {
				row += `,"_ROW_KIND":"-D"`
			}
			rows = append(rows, "{"+row+"}")
		}
		id, err := commitJSONL(ctx, h.tbl, h.fields, rows, int64(h.commit))
		if err != nil {
			t.Fatalf("commit %d: %v", h.commit, err)
		}
		if h.pk && r.IntN(4) == 0 {
			if _, err := h.tbl.Compact(ctx, table.CompactOptions{Full: true, User: "compat-compact"}); err != nil {
				t.Fatalf("compaction after commit %d: %v", h.commit, err)
			}
		}
		if r.IntN(6) == 0 {
			h.tags++
			if _, err := h.tbl.CreateTag(ctx, fmt.Sprintf("tag-%d", h.tags), id, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// maybeConsumer registers, one time in oneIn, a consumer "reader" whose next snapshot, one
// of the table's, holds expiry back; it returns that snapshot (0: none registered).
func (h *randomHistory) maybeConsumer(ctx context.Context, t *testing.T, oneIn int) int64 {
	t.Helper()
	if h.r.IntN(oneIn) != 0 {
		return 0
	}
	latest, _, err := h.tbl.LatestSnapshotID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := 1 + h.r.Int64N(latest)
	if _, err := h.tbl.RegisterConsumer(ctx, "reader", next); err != nil {
		t.Fatal(err)
	}
	return next
}

// rollBackAlike rolls Tarn's table and Paimon's copy of it back to the same snapshot or
// tag, drawn from the retained snapshots and the tags, and compares them
// (rolledBackAlike).
func rollBackAlike(ctx context.Context, t *testing.T, r *rand.Rand, seed uint64, tbl *table.Table, paimonDir string) {
	t.Helper()
	tagNames, err := tbl.TagNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tbl.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	args, step := []string{"rollback", paimonDir}, ""
	var res *table.RollbackResult
	if n := r.IntN(len(ids) + len(tagNames)); n < len(ids) {
		res, err = tbl.RollbackTo(ctx, ids[n])
		args, step = append(args, "--snapshot", fmt.Sprint(ids[n])), fmt.Sprintf("rollback to snapshot %d", ids[n])
	} else {
		name := tagNames[n-len(ids)]
		res, err = tbl.RollbackToTag(ctx, name)
		args, step = append(args, "--tag", name), "rollback to tag "+name
	}
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	t.Logf("%s: deleted snapshots %v, tags %v, long-lived changelogs %v", step, res.DeletedSnapshots, res.DeletedTags, res.DeletedChangelogs)
	if out, err := oracle(ctx, paimonLatest, args...); err != nil {
		t.Fatalf("Paimon's %s: %v\n%s", step, err, out)
	}
	rolledBackAlike(ctx, t, seed, step, tbl.Path(), paimonDir)
}

// Snapshot expiration, tag deletion and rollback remove what Paimon's remove: Tarn builds
// a table's history (upserts and deletes, full compactions, tags, changelog files,
// deletion vectors, sometimes a consumer), then Tarn (Table.ExpireSnapshots) and Paimon (ExpireSnapshotsImpl
// through compat/oracle expire) expire two copies of it with the same retention; then
// each deletes the same tag and rolls back to the same snapshot or tag (Paimon's deleteTag
// and rollbackTo). After each step both copies must hold the same files (snapshots, tags,
// manifest lists, manifests, data, changelog and index files; after the rollback, once
// the orphan files Paimon's leaves are cleaned), Paimon must check every
// snapshot and tag of Tarn's copy, and both must read alike. Retention and steps are
// drawn at random per table; the seed is printed.
func TestExpireAsPaimon(t *testing.T) {
	requireOracle(t)
	seed := seedFrom(t, "TARN_EXPIRE_SEED")
	t.Logf("seed %d", seed)
	for i, tc := range maintenanceTables {
		r := rand.New(rand.NewPCG(seed, uint64(i))) // each table its own stream: -run one alone repeats it
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", tc.columns, tc.spec)
			pk := len(tc.spec.PrimaryKeys) > 0
			h := newRandomHistory(tbl, fields, pk, r)
			h.run(ctx, t, 10+r.IntN(6))
			consumer := h.maybeConsumer(ctx, t, 2)
			retainMin := 1 + r.IntN(4)
			retainMax := retainMin + r.IntN(6)
			limit := []int{3, 1000}[r.IntN(2)]
			t.Logf("%d commits, %d tags, consumer at %d; expire retaining min %d, max %d, at most %d snapshots", h.commit, h.tags, consumer, retainMin, retainMax, limit)

			paimonDir := filepath.Join(dir, "paimon-copy")
			if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // every snapshot older than the time retained
			res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: retainMin, RetainMax: retainMax, TimeRetained: time.Millisecond, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if out, err := oracle(ctx, paimonLatest, "expire", paimonDir, "--retain-min", fmt.Sprint(retainMin), "--retain-max", fmt.Sprint(retainMax),
				"--time-retained-ms", "1", "--max-deletes", fmt.Sprint(limit)); err != nil {
				t.Fatalf("Paimon's expire: %v\n%s", err, out)
			} else {
				t.Logf("Tarn expired %v; Paimon: %s", res.Expired, strings.TrimSpace(string(out)))
			}
			sameFiles(t, seed, "expiry", tbl.Path(), paimonDir)
			readsAsPaimon(ctx, t, tbl, "after expiry", true)

			// Then a tag deleted, and a rollback to a retained snapshot or tag, on both.
			tagNames, err := tbl.TagNames(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(tagNames) > 0 {
				name := tagNames[r.IntN(len(tagNames))]
				if _, err := tbl.DeleteTag(ctx, name); err != nil {
					t.Fatal(err)
				}
				if out, err := oracle(ctx, paimonLatest, "delete-tag", paimonDir, name); err != nil {
					t.Fatalf("Paimon's tag deletion: %v\n%s", err, out)
				}
				sameFiles(t, seed, "deleting tag "+name, tbl.Path(), paimonDir)
			}
			rollBackAlike(ctx, t, r, seed, tbl, paimonDir)
			readsAsPaimon(ctx, t, tbl, "after the tag deletion and rollback", true)
		})
	}
}

// Paimon's expiry deletes the changelog of a tagged snapshot (tags keep data, not
// changelogs: FileDeletionBase.manifestSkippingSet), leaving the tag naming a changelog
// manifest list that is gone. Tarn then expires, deletes the tag and rolls back to another
// tag of such a table without needing those files.
func TestExpireAfterPaimonDroppedTaggedChangelogs(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	tbl, _ := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "t", "id INT NOT NULL, v STRING", catalog.TableSpec{
		PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1", "changelog-producer": "input"}})
	write := func(c int) {
		t.Helper()
		if out, err := oracleStdin(ctx, fmt.Sprintf(`{"id":%d,"v":"a%d"}`+"\n"+`{"id":0,"v":"b%d"}`+"\n", c, c, c), "write", tbl.Path()); err != nil {
			t.Fatalf("commit %d: %v\n%s", c, err, out)
		}
	}
	for c := 1; c <= 4; c++ {
		write(c)
	}
	for _, tag := range []struct {
		name string
		id   int64
	}{{"t2", 2}, {"t3", 3}} {
		if _, err := tbl.CreateTag(ctx, tag.name, tag.id, 0); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	if out, err := oracle(ctx, paimonLatest, "expire", tbl.Path(), "--retain-min", "1", "--retain-max", "1", "--time-retained-ms", "1"); err != nil {
		t.Fatalf("Paimon's expire: %v\n%s", err, out)
	}
	s2, err := tbl.Tag(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if s2.ChangelogManifestList == nil {
		t.Fatal("the tagged snapshot has no changelog: the test needs one")
	}
	if _, err := os.Stat(filepath.Join(tbl.Path(), "manifest", *s2.ChangelogManifestList)); !os.IsNotExist(err) {
		t.Fatalf("Paimon's expiry kept the tagged snapshot's changelog manifest list (%v): the test needs it gone", err)
	}
	for c := 5; c <= 7; c++ {
		write(c)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, RetainMax: 1, TimeRetained: time.Millisecond}); err != nil {
		t.Fatalf("Tarn's expiry: %v", err)
	}
	if _, err := tbl.DeleteTag(ctx, "t3"); err != nil {
		t.Fatalf("Tarn's tag deletion: %v", err)
	}
	readsAsPaimon(ctx, t, tbl, "after Tarn's expiry and tag deletion", true)
	if _, err := tbl.RollbackToTag(ctx, "t2"); err != nil {
		t.Fatalf("Tarn's rollback to the tag: %v", err)
	}
	readsAsPaimon(ctx, t, tbl, "after Tarn's rollback to the tag", true)
}

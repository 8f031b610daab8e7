package table_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/fixtures"
	"github.com/tarnlake/tarn/table"
)

func TestCleanOrphans(t *testing.T) {
	// Files planted in a table: orphans (unreferenced) and files that must stay.
	orphans := []string{
		"dt=x/bucket-0/data-orphan-0.parquet",
		"dt=x/bucket-1/changelog-orphan-0.parquet",
		"dt=gone/bucket-0/data-orphan-1.parquet", // a partition nothing references
		"manifest/manifest-orphan-0",
		"manifest/manifest-list-orphan-0",
		"manifest/index-manifest-orphan-0",
		"index/index-orphan-0",
		"statistics/stat-orphan-0",
		"snapshot/junk",
		"snapshot/.snapshot-9.0123.tmp",
		"changelog/stray",
		"tag/.tag-x.0123.tmp",
		"consumer/.consumer-x.0123.tmp",
	}
	oldKept := []string{
		"README",        // outside Paimon's directories
		"tag/not-a-tag", // only temporary files are cleaned there
		"consumer/notes",
	}
	young := []string{ // perhaps a commit in flight
		"dt=x/bucket-0/data-new",
		"manifest/manifest-new-0",
		"snapshot/junk-new",
	}
	kept := append(append([]string(nil), oldKept...), young...)
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, nil)
			content := lcHistory(t, tbl)
			if _, err := tbl.CreateTag(ctx, "t2", 2, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "c", 6); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			write := func(rel string) {
				if err := fio.WriteFile(ctx, tbl.Join(rel), []byte("planted "+rel)); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range append(append([]string(nil), orphans...), oldKept...) {
				write(f)
			}
			old := orphans
			age := time.Duration(0) // the default, a day
			if env.name == "local" {
				// An interrupted local write leaves a hidden temporary file.
				tmp := filepath.Join(tbl.Path(), "manifest", ".manifest-x.tarn-tmp-0123")
				if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
					t.Fatal(err)
				}
				old = append(old, "manifest/.manifest-x.tarn-tmp-0123")
				// Everything so far is two days old.
				past := time.Now().Add(-48 * time.Hour)
				filepath.Walk(tbl.Path(), func(p string, info os.FileInfo, err error) error {
					if err == nil && !info.IsDir() {
						err = os.Chtimes(p, past, past)
					}
					return err
				})
			} else {
				time.Sleep(400 * time.Millisecond)
				age = 200 * time.Millisecond
			}
			for _, f := range young {
				write(f)
			}
			before := lcFiles(t, tbl)
			rel := func(paths []string) []string {
				var out []string
				for _, p := range paths {
					out = append(out, strings.TrimPrefix(p, tbl.Path()+"/"))
				}
				sort.Strings(out)
				return out
			}
			wantDeleted := sorted(old)

			dry, err := tbl.CleanOrphans(ctx, age, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := rel(dry.Deleted.Paths); strings.Join(got, "\n") != strings.Join(wantDeleted, "\n") {
				t.Fatalf("dry run would delete\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantDeleted, "\n"))
			}
			if after := lcFiles(t, tbl); len(after) != len(before) {
				t.Fatal("the dry run deleted files")
			}
			res, err := tbl.CleanOrphans(ctx, age, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := rel(res.Deleted.Paths); strings.Join(got, "\n") != strings.Join(wantDeleted, "\n") {
				t.Fatalf("deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantDeleted, "\n"))
			}
			var size int64
			for _, f := range old {
				size += int64(len("planted " + f))
			}
			if strings.Contains(strings.Join(old, " "), "tarn-tmp") {
				size += int64(len("partial")) - int64(len("planted manifest/.manifest-x.tarn-tmp-0123"))
			}
			if res.Deleted.Bytes != size {
				t.Errorf("deleted %d bytes, want %d", res.Deleted.Bytes, size)
			}
			// Left: exactly what the table needs, plus the young and foreign files.
			have := lcFiles(t, tbl)
			for _, f := range kept {
				if !have[f] {
					t.Errorf("%s was deleted", f)
				}
				delete(have, f)
			}
			want := lcReferenced(t, tbl)
			for f := range have {
				if !want[f] {
					t.Errorf("%s is left", f)
				}
			}
			for f := range want {
				if !have[f] {
					t.Errorf("%s is missing", f)
				}
			}
			if env.name == "local" {
				if _, err := os.Stat(filepath.Join(tbl.Path(), "dt=gone")); !os.IsNotExist(err) {
					t.Errorf("the emptied partition directory is left: %v", err)
				}
				if _, err := os.Stat(filepath.Join(tbl.Path(), "manifest", ".manifest-x.tarn-tmp-0123")); !os.IsNotExist(err) {
					t.Errorf("the temporary file is left: %v", err)
				}
			}
			lcAssertReadable(t, tbl, content)
		})
	}
}

func TestCleanOrphansRefusesBrokenBranch(t *testing.T) {
	ctx := context.Background()
	fio := fileio.NewMemory()
	tbl := lcCreatePK(t, fio, "/wh", nil)
	lcHistory(t, tbl)
	if err := fio.WriteFile(ctx, tbl.Join("branch/branch-b/snapshot/snapshot-1"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.CleanOrphans(ctx, time.Nanosecond, false); err == nil || !strings.Contains(err.Error(), "has no schema") {
		t.Fatalf("error %v", err)
	}
}

// Tables written by Apache Paimon (deletion vectors, index files): orphan cleaning finds
// nothing to delete, and expiring every snapshot but the latest leaves exactly the files
// it needs, still readable.
func TestLifecycleOnPaimonTables(t *testing.T) {
	for _, rel := range fixtures.Tables(t) {
		t.Run(rel, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "t")
			if err := os.CopyFS(dir, os.DirFS(fixtures.Path(t, rel))); err != nil {
				t.Fatal(err)
			}
			tbl, err := table.Open(ctx, fileio.NewLocal(), dir)
			if err != nil {
				t.Fatal(err)
			}
			content := map[int64]string{}
			for _, id := range lcSnapshotIDs(t, tbl) {
				content[id] = lcScan(t, tbl, table.ScanOptions{SnapshotID: id})
			}
			res, err := tbl.CleanOrphans(ctx, time.Nanosecond, false)
			if err != nil || res.Deleted.Files() != 0 {
				t.Fatalf("orphans of a Paimon table: %v %v", res.Deleted.Paths, err)
			}
			exp, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture})
			if err != nil {
				t.Fatal(err)
			}
			ids := lcSnapshotIDs(t, tbl)
			if len(ids) != 1 || len(exp.Expired) != len(content)-1 {
				t.Fatalf("expired %v, left %v", exp.Expired, ids)
			}
			lcAssertReadable(t, tbl, content)
			have, want := lcFiles(t, tbl), lcReferenced(t, tbl)
			for f := range have {
				if !strings.Contains(f, "/") {
					continue // the fixture's own files (expected.csv)
				}
				if !want[f] {
					t.Errorf("unreferenced file left: %s", f)
				}
			}
			for f := range want {
				if !have[f] {
					t.Errorf("missing: %s", f)
				}
			}
		})
	}
}

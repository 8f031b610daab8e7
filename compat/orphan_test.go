package compat_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// ageFiles sets every file under dir to mtime.
func ageFiles(t *testing.T, dir string, mtime time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyFile writes a copy of src at dst (creating its directory).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Orphan-file cleaning removes what Paimon's removes: Tarn builds a table's history
// (upserts and deletes, compactions, a tag, an expiry), then files no snapshot or tag
// needs are left where an interrupted write, compaction or expiry leaves them (data,
// changelog and index files, manifests and manifest lists, in existing and new bucket
// directories), every file is made two days old, and Tarn (Table.CleanOrphans) and
// Paimon (LocalOrphanFilesClean through compat/oracle clean-orphans) clean two copies.
// Both copies must hold the same files afterwards, and Paimon must check and read
// Tarn's.
func TestOrphanCleaningAsPaimon(t *testing.T) {
	requireOracle(t)
	seed := seedFrom(t, "TARN_ORPHAN_SEED")
	t.Logf("seed %d", seed)
	for i, tc := range []struct {
		name    string
		columns string
		spec    catalog.TableSpec
	}{
		{"pk-lookup-dv-partitioned", "dt STRING NOT NULL, id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"dt", "id"}, PartitionKeys: []string{"dt"},
			Options: map[string]string{"bucket": "2", "changelog-producer": "lookup", "deletion-vectors.enabled": "true", "snapshot.num-retained.min": "2", "snapshot.num-retained.max": "3"}}},
		{"append", "dt STRING NOT NULL, id INT NOT NULL, v STRING", catalog.TableSpec{PartitionKeys: []string{"dt"},
			Options: map[string]string{"bucket": "-1", "snapshot.num-retained.min": "2", "snapshot.num-retained.max": "3"}}},
	} {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", tc.columns, tc.spec)
			pk := len(tc.spec.PrimaryKeys) > 0
			for c := 1; c <= 8; c++ {
				var rows []string
				for n := 3 + r.IntN(10); n > 0; n-- {
					row := fmt.Sprintf(`{"dt":"d%d","id":%d,"v":"c%d"}`, r.IntN(2), r.IntN(20), c)
					if pk && r.IntN(5) == 0 {
						row = strings.TrimSuffix(row, "}") + `,"_ROW_KIND":"-D"}`
					}
					rows = append(rows, row)
				}
				id, err := commitJSONL(ctx, tbl, fields, rows, int64(c))
				if err != nil {
					t.Fatalf("commit %d: %v", c, err)
				}
				if c%3 == 0 {
					if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true, User: "compat-compact"}); err != nil {
						t.Fatal(err)
					}
				}
				if c == 2 {
					if _, err := tbl.CreateTag(ctx, "t2", id, 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{TimeRetained: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			// Orphans: copies of live files under new names, where interrupted work leaves them.
			var data, manifestFile, manifestList, index string
			_ = filepath.WalkDir(tbl.Path(), func(p string, d fs.DirEntry, err error) error {
				name := d.Name()
				switch {
				case d.IsDir():
				case strings.HasPrefix(name, "data-") && data == "":
					data = p
				case strings.HasPrefix(name, "manifest-list-") && manifestList == "":
					manifestList = p
				case strings.HasPrefix(name, "manifest-") && !strings.HasPrefix(name, "manifest-list-") && manifestFile == "":
					manifestFile = p
				case strings.HasPrefix(name, "index-") && !strings.HasPrefix(name, "index-manifest") && index == "":
					index = p
				}
				return nil
			})
			orphan := func(src, rel string) {
				if src != "" {
					copyFile(t, src, filepath.Join(tbl.Path(), rel))
				}
			}
			u := fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff)
			orphan(data, "dt=d0/bucket-0/data-"+u+"-0.parquet")
			orphan(data, "dt=d1/bucket-0/changelog-"+u+"-1.parquet")
			orphan(data, "dt=d2/bucket-0/data-"+u+"-2.parquet") // a partition no snapshot has
			orphan(manifestFile, "manifest/manifest-"+u+"-0")
			orphan(manifestList, "manifest/manifest-list-"+u+"-1")
			orphan(index, "index/index-"+u+"-0")
			orphan(data, "dt=d0/bucket-1/junk.txt")                // a file of no known kind
			orphan(manifestList, "snapshot/.snapshot-4."+u+".tmp") // a commit's temporary file
			orphan(manifestList, "manifest/.manifest-list-"+u+"-2.tmp")
			orphan(data, "dt=d0/not-a-bucket/data-"+u+"-3.parquet")
			orphan(data, "elsewhere/notes.txt") // outside the table's layout
			ageFiles(t, tbl.Path(), time.Now().Add(-48*time.Hour))

			paimonDir := filepath.Join(dir, "paimon-copy")
			if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
				t.Fatal(err)
			}
			ageFiles(t, paimonDir, time.Now().Add(-48*time.Hour))
			res, err := tbl.CleanOrphans(ctx, time.Hour, false)
			if err != nil {
				t.Fatal(err)
			}
			out, err := oracle(ctx, paimonLatest, "clean-orphans", paimonDir, "--older-than-ms", fmt.Sprint(time.Hour.Milliseconds()))
			if err != nil {
				t.Fatalf("Paimon's orphan cleaning: %v\n%s", err, out)
			}
			t.Logf("Tarn deleted %d files; Paimon: %s", len(res.Deleted.Paths), strings.TrimSpace(string(out)))
			sameFiles(t, seed, "orphan-file cleaning", tbl.Path(), paimonDir)
			readsAsPaimon(ctx, t, tbl, "after orphan-file cleaning", true)
		})
	}
}

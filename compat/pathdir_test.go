package compat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// data-file.path-directory puts a table's partition and bucket directories under a
// directory of the table (Paimon's FileStorePathFactory.relativeBucketPath). Paimon and
// Tarn write in turn and read what the other wrote; Tarn's compaction, expiry and orphan
// cleaning work under that directory too, and Paimon checks every file of every snapshot.
func TestDataFilePathDirectoryAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, fields := newTable(t, cat, "pd", "id INT NOT NULL, dt STRING NOT NULL, v STRING", catalog.TableSpec{
		PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "1", "data-file.path-directory": "data/files"}})
	if out, err := oracleStdin(ctx, `{"id":1,"dt":"a","v":"p1"}`+"\n"+`{"id":2,"dt":"b","v":"p2"}`+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	if _, err := commitJSONL(ctx, tbl, fields, []string{`{"id":1,"dt":"a","v":"t1"}`, `{"id":3,"dt":"a","v":"t3"}`}, 2); err != nil {
		t.Fatalf("Tarn's write: %v", err)
	}
	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatalf("Tarn's compaction: %v", err)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range plan.Splits {
		for i := range sp.Files {
			p := sp.DataFilePath(&sp.Files[i])
			if !strings.HasPrefix(p, tbl.Join("data/files/dt=")) {
				t.Errorf("data file %s is not under data/files/", p)
			}
		}
	}
	if got := readsAsPaimon(ctx, t, tbl, "after the writes", true); !strings.Contains(string(got), `"v":"t1"`) || !strings.Contains(string(got), `"v":"p2"`) {
		t.Errorf("Tarn reads\n%s\nwant Paimon's and Tarn's rows", got)
	}

	// Orphan cleaning finds an orphan under the directory and nothing Paimon needs.
	orphan := filepath.Join(tbl.Path(), "data/files/dt=a/bucket-0/data-orphan-0.parquet")
	if err := os.WriteFile(orphan, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	res, err := tbl.CleanOrphans(ctx, time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted.Paths) != 1 || !strings.HasSuffix(res.Deleted.Paths[0], "data/files/dt=a/bucket-0/data-orphan-0.parquet") {
		t.Errorf("orphan cleaning deleted %v, want only the planted orphan", res.Deleted.Paths)
	}
	// Expiry down to the latest snapshot deletes the compacted files under the directory.
	if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMax: 1, RetainMin: 1}); err != nil {
		t.Fatal(err)
	}
	if out, err := oracle(ctx, paimonLatest, "check", tbl.Path(), "--all"); err != nil {
		t.Fatalf("Paimon's check after expiry: %v\n%s", err, out)
	}
	n := 0
	_ = filepath.WalkDir(tbl.Join("data/files"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	files := 0
	if plan, err = tbl.Plan(ctx, table.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sp := range plan.Splits {
		files += len(sp.Files)
	}
	if n != files {
		t.Errorf("after expiry %d files are under data/files, the latest snapshot holds %d", n, files)
	}
}

// index-file-in-data-file-dir keeps a bucket's index files (deletion vectors, the hash
// index of dynamic buckets) in the bucket's directory instead of index/ (Paimon's
// IndexInDataFileDirPathFactory). Paimon writes and compacts, so that its index files
// exist; Tarn reads the table, then writes and compacts, putting its own index files
// beside the data files; Paimon checks every snapshot and reads what Tarn reads.
func TestIndexFilesInDataDirAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	for name, opts := range map[string]map[string]string{
		"deletion-vectors": {"bucket": "2", "deletion-vectors.enabled": "true"},
		"dynamic-bucket":   {"bucket": "-1", "data-file.path-directory": "data"},
	} {
		t.Run(name, func(t *testing.T) {
			opts["index-file-in-data-file-dir"] = "true"
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, fields := newTable(t, cat, "ix", "id INT NOT NULL, dt STRING NOT NULL, v STRING", catalog.TableSpec{
				PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: opts})
			// Three commits of 30 rows over 40 keys, then a compaction: Paimon's lookup
			// compactions delete older rows of updated keys with deletion vectors.
			for c := range 3 {
				var rows strings.Builder
				for i := range 30 {
					id := (c*53 + i*17) % 40
					fmt.Fprintf(&rows, `{"id":%d,"dt":"d%d","v":"p%d.%d"}`+"\n", id, id%3, c, i)
				}
				if out, err := oracleStdin(ctx, rows.String(), "write", tbl.Path()); err != nil {
					t.Fatalf("Paimon's write %d: %v\n%s", c+1, err, out)
				}
			}
			if out, err := oracle(ctx, paimonLatest, "compact", tbl.Path()); err != nil {
				t.Fatalf("Paimon's compaction: %v\n%s", err, out)
			}
			readsAsPaimon(ctx, t, tbl, "after Paimon", true)
			before := indexFilesIn(t, tbl.Path())
			if len(before) == 0 {
				t.Fatal("Paimon wrote no index file in a bucket directory")
			}
			if _, err := commitJSONL(ctx, tbl, fields, []string{`{"id":1,"dt":"d1","v":"t1"}`, `{"id":2,"dt":"d2","v":"t2"}`, `{"id":45,"dt":"d0","v":"t45"}`}, 3); err != nil {
				t.Fatalf("Tarn's write: %v", err)
			}
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatalf("Tarn's compaction: %v", err)
			}
			if after := indexFilesIn(t, tbl.Path()); len(after) <= len(before) {
				t.Errorf("Tarn wrote no index file in a bucket directory: %v before, %v after", before, after)
			}
			if es, _ := os.ReadDir(tbl.Join("index")); len(es) > 0 {
				t.Errorf("index/ holds %d files", len(es))
			}
			readsAsPaimon(ctx, t, tbl, "after Tarn", true)
		})
	}
}

// indexFilesIn lists the index files in the bucket directories of the table at root.
func indexFilesIn(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "index-") && strings.Contains(filepath.Base(filepath.Dir(p)), "bucket-") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// file.suffix.include.compression names data files "<prefix><uuid>-<n>.<codec>.<format>"
// with Hadoop's extension of the table's compression (Paimon's
// DataFilePathFactory.makeExtension): Paimon and Tarn write a commit each and their
// files end alike; both read the table the same.
func TestFileSuffixIncludesCompressionAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	for _, c := range []struct{ compression, format, suffix string }{
		{"zstd", "parquet", ".zst.parquet"},
		{"gzip", "parquet", ".gz.parquet"},
		{"snappy", "orc", ".snappy.orc"},
		{"none", "parquet", ".parquet"},
	} {
		t.Run(c.compression, func(t *testing.T) {
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, fields := newTable(t, cat, "sx", "id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"id"},
				Options: map[string]string{"bucket": "1", "file.format": c.format, "file.compression": c.compression, "file.suffix.include.compression": "true"}})
			if out, err := oracleStdin(ctx, `{"id":1,"v":"p"}`+"\n", "write", tbl.Path()); err != nil {
				t.Fatalf("Paimon's write: %v\n%s", err, out)
			}
			if _, err := commitJSONL(ctx, tbl, fields, []string{`{"id":2,"v":"t"}`}, 2); err != nil {
				t.Fatal(err)
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sp := range plan.Splits {
				for _, f := range sp.Files {
					names = append(names, f.FileName)
					if !strings.HasSuffix(f.FileName, c.suffix) || strings.HasSuffix(f.FileName, "."+c.compression+c.suffix) {
						t.Errorf("data file %s: want the suffix %s", f.FileName, c.suffix)
					}
				}
			}
			if len(names) != 2 {
				t.Fatalf("files %v, want Paimon's and Tarn's", names)
			}
			readsAsPaimon(ctx, t, tbl, "after the writes", false)
		})
	}
}

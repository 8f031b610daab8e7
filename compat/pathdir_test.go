package compat_test

import (
	"bytes"
	"context"
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
	if out, err := oracle(ctx, paimonLatest, "check", tbl.Path(), "--all"); err != nil {
		t.Fatalf("Paimon's check: %v\n%s", err, out)
	}
	want, err := oracle(ctx, paimonLatest, "read", tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || !strings.Contains(string(got), `"v":"t1"`) || !strings.Contains(string(got), `"v":"p2"`) {
		t.Errorf("Tarn reads\n%s\nPaimon reads\n%s", got, want)
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

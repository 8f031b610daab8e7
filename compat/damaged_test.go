package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/table"
)

// TestOracleFailsOnDamagedTables shows the oracle can fail: on copies of a reference table
// damaged in one way each, `compat/oracle check` (and `read`, where the damage is in what
// the latest snapshot reads) exits non-zero, and so does Tarn's own scan.
func TestOracleFailsOnDamagedTables(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	src := filepath.Join(generated(t, paimonLatest), "ref.db", "pk_bucket4")
	if out, err := oracle(ctx, paimonLatest, "check", src); err != nil {
		t.Fatalf("the undamaged table fails check: %v\n%s", err, out)
	}
	latestSnapshot := func(t *testing.T, dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "snapshot", "LATEST"))
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "snapshot", "snapshot-"+strings.TrimSpace(string(b)))
	}
	dataFiles := func(t *testing.T, dir string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, "bucket-*", "data-*"))
		if len(files) == 0 {
			t.Fatal("no data files")
		}
		// Largest first: the largest file is live in the latest snapshot.
		slices.SortFunc(files, func(a, b string) int { return int(size(t, b) - size(t, a)) })
		return files
	}
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		read   bool // the latest snapshot's read fails too
	}{
		{"truncated manifest", func(t *testing.T, dir string) {
			ms, _ := filepath.Glob(filepath.Join(dir, "manifest", "manifest-*"))
			for _, m := range ms {
				if !strings.Contains(filepath.Base(m), "list") {
					must(t, os.Truncate(m, 100))
				}
			}
		}, true},
		{"missing data file", func(t *testing.T, dir string) { must(t, os.Remove(dataFiles(t, dir)[0])) }, true},
		{"data file of the wrong size", func(t *testing.T, dir string) {
			f, err := os.OpenFile(dataFiles(t, dir)[0], os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteString("x")
			must(t, err)
			must(t, f.Close())
		}, false},
		{"snapshot naming a missing manifest list", func(t *testing.T, dir string) {
			s := latestSnapshot(t, dir)
			b, err := os.ReadFile(s)
			must(t, err)
			re := regexp.MustCompile(`"deltaManifestList" : "manifest-list-[^"]*"`)
			if !re.Match(b) {
				t.Fatalf("%s names no delta manifest list", s)
			}
			b = re.ReplaceAll(b, []byte(`"deltaManifestList" : "manifest-list-00000000-0000-0000-0000-000000000000-9"`))
			must(t, os.WriteFile(s, b, 0o644))
		}, true},
		{"truncated snapshot", func(t *testing.T, dir string) {
			s := latestSnapshot(t, dir)
			b, err := os.ReadFile(s)
			must(t, err)
			must(t, os.WriteFile(s, b[:40], 0o644))
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pk_bucket4")
			must(t, os.CopyFS(dir, os.DirFS(src)))
			c.damage(t, dir)
			if out, err := oracle(ctx, paimonLatest, "check", dir); err == nil {
				t.Errorf("oracle check passed on a table with a %s:\n%s", c.name, out)
			}
			if !c.read {
				return
			}
			if out, err := oracle(ctx, paimonLatest, "read", dir); err == nil {
				t.Errorf("oracle read succeeded on a table with a %s:\n%s", c.name, out)
			}
			if _, err := scanJSONL(ctx, dir, table.ScanOptions{}); err == nil {
				t.Errorf("Tarn read a table with a %s", c.name)
			} else {
				t.Logf("Tarn: %v", err)
			}
		})
	}
}

func size(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	must(t, err)
	return fi.Size()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

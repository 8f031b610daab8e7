package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/fixtures"
	"github.com/tarnlake/tarn/internal/testenv"
)

func tarn(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// uploadFixtures copies the fixtures directory into the bucket and returns its s3:// URI.
func uploadFixtures(t *testing.T, s3 *testenv.S3Server) string {
	t.Helper()
	ctx := context.Background()
	fio, err := fileio.NewS3(ctx, s3.Options)
	if err != nil {
		t.Fatal(err)
	}
	root := fixtures.Dir(t)
	prefix := "s3://" + s3.Bucket + "/fixtures"
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		return fio.WriteFile(ctx, prefix+"/"+filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	return prefix
}

// tarn scan and tarn inspect work on every fixture table, from a local path and from
// s3:// on a real MinIO server, with identical output; where a fixture has an
// expected.csv, scan --format csv prints exactly it.
func TestScanAndInspectEveryFixture(t *testing.T) {
	s3 := testenv.MinIO(t)
	prefix := uploadFixtures(t, s3)
	env := map[string]string{"TARN_S3_ENDPOINT": s3.URL, "AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}
	// The rows PROVENANCE.md gives for each fixture, beyond its expected.csv: other
	// snapshots (an APPEND snapshot of a deletion-vector table reads as the compaction before
	// it: Paimon's batch scan skips level 0), the filters Paimon's own test asserts, and a
	// projection.
	provenance := map[string][]struct {
		args []string
		want string
	}{
		filepath.Join("paimon-java-pk-dv", "test_pk_global_index_golden"): {
			{[]string{"--where", "name = 'name-4'"}, "id,name,category\n4,name-4,even\n"},
			{[]string{"--where", "category = 'odd'"}, "id,name,category\n1,name-1,odd\n3,name-3,odd\n5,name-5,odd\n"},
			{[]string{"--snapshot", "4"}, "id,name,category\n1,name-1,odd\n2,name-2,even\n3,name-3,odd\n4,name-4,even\n"},
			{[]string{"--snapshot", "1"}, "id,name,category\n"},
			{[]string{"--snapshot", "2", "--columns", "id"}, "id\n1\n2\n"},
		},
		filepath.Join("paimon-java-pk-dv", "test_pk_vector_golden"): {
			{nil, "id,embedding\n1,\"[1,0,0,0]\"\n2,\"[0.9,0.1,0,0]\"\n3,\"[0,1,0,0]\"\n4,\"[0,0,1,0]\"\n"},
			{[]string{"--snapshot", "1"}, "id,embedding\n"},
			{[]string{"--where", "id >= 3"}, "id,embedding\n3,\"[0,1,0,0]\"\n4,\"[0,0,1,0]\"\n"},
			{[]string{"--columns", "id"}, "id\n1\n2\n3\n4\n"},
		},
	}
	tables := fixtures.Tables(t)
	for rel := range provenance {
		if !slices.Contains(tables, rel) {
			t.Errorf("fixture %s is missing", rel)
		}
	}
	for _, rel := range tables {
		t.Run(rel, func(t *testing.T) {
			local := fixtures.Path(t, rel)
			remote := prefix + "/" + filepath.ToSlash(rel)
			cases, ok := provenance[rel]
			if !ok {
				t.Errorf("no rows from PROVENANCE.md for fixture %s", rel)
			}
			for _, c := range cases {
				for _, loc := range []string{local, remote} {
					if out, e, code := tarn(t, env, append([]string{"scan", loc, "--format", "csv"}, c.args...)...); code != 0 || out != c.want {
						t.Errorf("scan %s %v: exit %d %s\n%s\nwant\n%s", loc, c.args, code, e, out, c.want)
					}
				}
			}
			for _, format := range []string{"csv", "jsonl", "table"} {
				lo, le, lc := tarn(t, env, "scan", local, "--format", format)
				ro, re, rc := tarn(t, env, "scan", remote, "--format", format)
				if lc != 0 || rc != 0 {
					t.Fatalf("scan %s: exit %d/%d: %s %s", format, lc, rc, le, re)
				}
				if lo != ro {
					t.Errorf("scan --format %s differs between local and s3:\n%s\n---\n%s", format, lo, ro)
				}
				if format == "csv" {
					if want, err := os.ReadFile(filepath.Join(local, "expected.csv")); err == nil && lo != string(want) {
						t.Errorf("scan --format csv:\n%s\nwant expected.csv:\n%s", lo, want)
					}
				}
			}
			lo, le, lc := tarn(t, env, "inspect", local)
			ro, re, rc := tarn(t, env, "inspect", remote)
			if lc != 0 || rc != 0 {
				t.Fatalf("inspect: exit %d/%d: %s %s", lc, rc, le, re)
			}
			strip := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest }
			if strip(lo) != strip(ro) || !strings.Contains(lo, "Snapshots (") {
				t.Errorf("inspect differs or is incomplete:\n%s\n---\n%s", lo, ro)
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	fixture := fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong path", []string{"scan", filepath.Join(t.TempDir(), "nope")}, 1, "no Paimon table at"},
		{"missing snapshot", []string{"scan", fixture, "--snapshot", "99"}, 1, "snapshots 1..6 exist"},
		{"missing tag", []string{"scan", fixture, "--tag", "nope"}, 1, `tag "nope"`},
		{"unknown column", []string{"scan", fixture, "--columns", "id,nope"}, 2, `no column "nope"`},
		{"bad filter", []string{"scan", fixture, "--where", "id >"}, 2, "--where"},
		{"bad format", []string{"scan", fixture, "--format", "xml"}, 2, "unknown output format"},
		{"two selectors", []string{"scan", fixture, "--snapshot", "1", "--tag", "x"}, 2, "at most one"},
		{"db.table without warehouse", []string{"scan", "db.t"}, 2, "--warehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := tarn(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// A corrupt manifest or a missing data file is reported with the file's name.
func TestScanCorruptTable(t *testing.T) {
	src := fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden")
	for _, damage := range []string{"truncate-manifest", "remove-data-file"} {
		t.Run(damage, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			copyDir(t, src, dir)
			var victim string
			switch damage {
			case "truncate-manifest":
				ms, _ := filepath.Glob(filepath.Join(dir, "manifest", "manifest-be69d15d*-1"))
				victim = ms[0]
				data, _ := os.ReadFile(victim)
				os.WriteFile(victim, data[:len(data)/2], 0o644)
			case "remove-data-file":
				victim = filepath.Join(dir, "bucket-0", "data-247786b6-227a-4ded-acd5-85708fc3327a-0.parquet")
				os.Remove(victim)
			}
			_, errOut, code := tarn(t, nil, "scan", dir)
			if code != 1 || !strings.Contains(errOut, filepath.Base(victim)) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming %s", code, errOut, filepath.Base(victim))
			}
		})
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

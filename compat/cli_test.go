package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
)

// TestPaimonReadsTablesTheCLIMade makes tables with the tarn command itself (`tarn
// create-table`, then `tarn write` of JSON Lines with row kinds, committing every few rows),
// on local disk and on MinIO. Apache Paimon 1.4.2 and 1.0.1 (compat/oracle verify, on the
// same s3:// location) read exactly the rows written, at the latest snapshot and at the
// first one, `tarn scan` prints the same, and Paimon's check passes on each table.
func TestPaimonReadsTablesTheCLIMade(t *testing.T) {
	requireOracle(t)
	bin := testenv.TarnBinary(t)
	minio := testenv.MinIO(t)
	s3env := []string{"TARN_S3_ENDPOINT=" + minio.URL, "AWS_ACCESS_KEY_ID=" + minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + minio.SecretKey}

	type shape struct {
		name, schema string
		args         []string // create-table flags
		input        string   // JSON Lines, committed every 3 rows
		first        string   // oracle read at snapshot 1 (the first 3 rows)
		want         string   // oracle read at the latest snapshot
	}
	shapes := []shape{{
		name:   "orders",
		schema: "id BIGINT NOT NULL, name STRING, amount DECIMAL(18,2), at TIMESTAMP(3), tags ARRAY<STRING>, dt STRING NOT NULL",
		args:   []string{"--primary-key", "id,dt", "--partition-keys", "dt", "--option", "bucket=2"},
		input: `{"id":1,"name":"pen","amount":"1.50","at":"2026-11-26T10:00:00.5","tags":["a","b"],"dt":"2026-11-26"}
{"id":2,"name":"ink","amount":"-3.25","at":null,"tags":[],"dt":"2026-11-26"}
{"id":3,"name":"pad","amount":null,"at":"1969-12-31T23:59:59.999","tags":null,"dt":"2026-11-27"}
{"id":2,"name":"ink, blue","amount":"-3.20","at":"2026-11-27T00:00:00","tags":["x"],"dt":"2026-11-26","_ROW_KIND":"+U"}
{"id":3,"name":null,"amount":null,"at":null,"tags":null,"dt":"2026-11-27","_ROW_KIND":"-D"}
{"id":4,"name":"cap \"é\"","amount":"0.10","at":null,"tags":[null],"dt":"a b/c"}
{"id":1,"name":"pencil","amount":"1.55","at":"2026-11-26T10:00:01","tags":["a"],"dt":"2026-11-26"}
`,
		first: `{"id":1,"name":"pen","amount":"1.50","at":"2026-11-26T10:00:00.500","tags":["a","b"],"dt":"2026-11-26"}
{"id":2,"name":"ink","amount":"-3.25","at":null,"tags":[],"dt":"2026-11-26"}
{"id":3,"name":"pad","amount":null,"at":"1969-12-31T23:59:59.999","tags":null,"dt":"2026-11-27"}
`,
		want: `{"id":1,"name":"pencil","amount":"1.55","at":"2026-11-26T10:00:01.000","tags":["a"],"dt":"2026-11-26"}
{"id":2,"name":"ink, blue","amount":"-3.20","at":"2026-11-27T00:00:00.000","tags":["x"],"dt":"2026-11-26"}
{"id":4,"name":"cap \"é\"","amount":"0.10","at":null,"tags":[null],"dt":"a b/c"}
`,
	}, {
		name:   "events",
		schema: "k INT, v STRING, d DATE",
		args:   []string{"--partition-keys", "d"},
		input: `{"k":2,"v":"b","d":"2026-01-02"}
{"k":1,"v":"a","d":"2026-01-01"}
{"k":1,"v":"a","d":"2026-01-01"}
{"k":3,"v":null,"d":null}
`,
		first: `{"k":1,"v":"a","d":"2026-01-01"}
{"k":1,"v":"a","d":"2026-01-01"}
{"k":2,"v":"b","d":"2026-01-02"}
`,
		want: `{"k":1,"v":"a","d":"2026-01-01"}
{"k":1,"v":"a","d":"2026-01-01"}
{"k":2,"v":"b","d":"2026-01-02"}
{"k":3,"v":null,"d":null}
`,
	}}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s3, err := minio.FileIO(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, store := range []struct {
		name, warehouse string
		fio             fileio.FileIO
		env             []string
	}{
		{"local", t.TempDir(), fileio.NewLocal(), nil},
		{"minio", minio.URI("cli-warehouse"), s3, s3env},
	} {
		t.Run(store.name, func(t *testing.T) {
			run := func(stdin string, args ...string) string {
				t.Helper()
				cmd := exec.CommandContext(ctx, bin, args...)
				cmd.Env = append(os.Environ(), store.env...)
				cmd.Stdin = strings.NewReader(stdin)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("tarn %s: %v\n%s", strings.Join(args, " "), err, errb.String())
				}
				return out.String()
			}
			put := func(rel string, data []byte) {
				t.Helper()
				if err := store.fio.WriteFile(ctx, strings.TrimSuffix(store.warehouse, "/")+"/"+rel, data); err != nil {
					t.Fatal(err)
				}
			}
			// The expected rows of the first and the latest snapshot of each table, for
			// `compat/oracle verify` (check, then every listed snapshot read, in one JVM).
			var tables []refTable
			for _, s := range shapes {
				id := "cli." + s.name
				run("", append([]string{"create-table", "--warehouse", store.warehouse, id, "--schema", s.schema}, s.args...)...)
				out := run(s.input, "write", "--warehouse", store.warehouse, id, "--commit-every", "3")
				commits := (strings.Count(s.input, "\n") + 2) / 3
				if !strings.Contains(out, fmt.Sprintf("snapshot %d (%d commits)", commits, commits)) {
					t.Fatalf("%s: tarn write said %q, want %d commits", s.name, out, commits)
				}
				if got := run("", "scan", "--warehouse", store.warehouse, id, "--format", "jsonl"); got != s.want {
					t.Errorf("%s: tarn scan:\n%s\nwant\n%s", s.name, got, s.want)
				}
				rt := refTable{Name: id, Path: "cli.db/" + s.name, Expected: "expected/" + id,
					Files: []string{"snapshot-1.jsonl", fmt.Sprintf("snapshot-%d.jsonl", commits)}}
				put(rt.Expected+"/"+rt.Files[0], []byte(s.first))
				put(rt.Expected+"/"+rt.Files[1], []byte(s.want))
				tables = append(tables, rt)
			}
			manifest, err := json.Marshal(map[string]any{"tables": tables})
			if err != nil {
				t.Fatal(err)
			}
			put("manifest.json", manifest)
			for _, v := range []string{paimonLatest, paimonOld} {
				out, err := oracleEnv(ctx, store.env, v, "verify", store.warehouse)
				results := parseVerify(out)
				for _, rt := range tables {
					if why, ok := results[rt.Name]; !ok || why != "" {
						t.Errorf("Paimon %s on %s: %q (verify: %v)\n%s", v, rt.Name, why, err, out)
					}
				}
			}
		})
	}
}

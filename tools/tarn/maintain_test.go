package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

func runTarn(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestMaintenanceCommands(t *testing.T) {
	ctx := context.Background()
	wh := t.TempDir()
	if out, errOut, code := runTarn("create-table", "--warehouse", wh, "db.t", "--schema", "id INT NOT NULL, v STRING", "--primary-key", "id", "--option", "bucket=1"); code != 0 {
		t.Fatalf("create-table: %s %s", out, errOut)
	}
	for i := 1; i <= 5; i++ {
		f := filepath.Join(t.TempDir(), "rows.jsonl")
		rows := fmt.Sprintf("{\"id\": %d, \"v\": \"v%d\"}\n{\"id\": 1, \"v\": \"one@%d\"}\n", i+1, i, i)
		if err := os.WriteFile(f, []byte(rows), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := runTarn("write", "--warehouse", wh, "db.t", f); code != 0 {
			t.Fatalf("write: %s %s", out, errOut)
		}
	}
	loc := filepath.Join(wh, "db.db", "t")
	tbl, err := table.Open(ctx, fileio.NewLocal(), loc)
	if err != nil {
		t.Fatal(err)
	}
	snapshot2, _, _ := runTarn("scan", loc, "--snapshot", "2", "--format", "csv")
	if _, err := tbl.RegisterConsumer(ctx, "reader", 3); err != nil {
		t.Fatal(err)
	}
	// Each step runs a command and checks its output (a regular expression).
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"tag", "--warehouse", wh, "db.t", "create", "t2", "--snapshot", "2"}, `^created tag t2 on snapshot 2\n$`},
		{[]string{"tag", loc, "create", "latest", "--time-retained", "2 h"}, `^created tag latest on snapshot 5 \(retained for 2h0m0s\)\n$`},
		{[]string{"tag", loc, "list"}, `(?s)^tag +snapshot +committed \(UTC\) +created +retained\nt2 +2 +\S+ \S+ +\nlatest +5 .* 2h0m0s\n$`},
		{[]string{"consumer", loc, "list"}, `(?s)^consumer +next snapshot +updated \(UTC\)\nreader +3 `},
		{[]string{"expire", loc, "--retain-min", "1", "--older-than", "1ms", "--dry-run"}, `(?s)^would expire 2 snapshots \(1..2\); earliest kept: 3\nwould delete \d+ files, `},
		{[]string{"expire", loc, "--retain-min", "1", "--older-than", "1ms", "--verbose"}, `(?s)^expired 2 snapshots \(1..2\); earliest kept: 3\ndeleted \d+ files, .*\n  \S+/snapshot/snapshot-1\n`},
		{[]string{"expire", loc, "--retain-min", "1", "--older-than", "1ms"}, `^no snapshot to expire \(earliest snapshot: 3\)\n$`},
		{[]string{"consumer", loc, "delete", "reader"}, `^deleted consumer reader\n$`},
		{[]string{"expire", "--warehouse", wh, "db.t", "--retain-min", "1", "--older-than", "1ms"}, `^expired 2 snapshots \(3..4\); earliest kept: 5\ndeleted \d+ files`},
		{[]string{"rollback", loc, "--to-tag", "t2"}, `^rolled back to snapshot 2 \(recreated from the tag\)\ndeleted snapshots: 5\ndeleted tags: latest\ndeleted \d+ files`},
		{[]string{"clean-orphans", loc, "--older-than", "1ms", "--dry-run"}, `^would delete 0 files, 0 B \(0 bytes\)\n$`},
		{[]string{"tag", loc, "delete", "t2"}, `^deleted tag t2\ndeleted 1 files`},
		{[]string{"tag", loc, "auto"}, `^created tags: none\ndeleted tags: none\n$`},
	}
	for _, s := range steps {
		out, errOut, code := runTarn(s.args...)
		if code != 0 || !regexp.MustCompile(s.want).MatchString(out) {
			t.Fatalf("tarn %s: exit %d\n%s%s\nwant %s", strings.Join(s.args, " "), code, out, errOut, s.want)
		}
	}
	if got, _, _ := runTarn("scan", loc, "--format", "csv"); got != snapshot2 {
		t.Fatalf("after rollback:\n%s\nwant\n%s", got, snapshot2)
	}
	// An orphan older than the safety age goes; a young one stays.
	orphan := filepath.Join(loc, "bucket-0", "data-orphan.parquet")
	if err := os.WriteFile(orphan, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := runTarn("clean-orphans", loc); code != 0 || !strings.HasPrefix(out, "deleted 0 files") {
		t.Fatalf("clean-orphans with the default age: %s", out)
	}
	if out, _, code := runTarn("clean-orphans", loc, "--older-than", "1ns", "--verbose"); code != 0 || !strings.Contains(out, "deleted 1 files") || !strings.Contains(out, "data-orphan.parquet") {
		t.Fatalf("clean-orphans: %s", out)
	}
}

func TestMaintenanceErrors(t *testing.T) {
	wh := t.TempDir()
	if _, errOut, code := runTarn("create-table", "--warehouse", wh, "db.t", "--schema", "id INT"); code != 0 {
		t.Fatal(errOut)
	}
	loc := filepath.Join(wh, "db.db", "t")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tag without command", []string{"tag", loc}, 2, "expected TABLE and one of"},
		{"unknown tag command", []string{"tag", loc, "rename", "a"}, 2, "unknown tag command"},
		{"tag create without name", []string{"tag", loc, "create"}, 2, "takes 1 argument"},
		{"snapshot flag on list", []string{"tag", loc, "list", "--snapshot", "1"}, 2, "apply to tag create only"},
		{"tag of an empty table", []string{"tag", loc, "create", "x"}, 1, "no snapshot to tag"},
		{"delete a missing tag", []string{"tag", loc, "delete", "nope"}, 1, `tag "nope"`},
		{"rollback without target", []string{"rollback", loc}, 2, "exactly one of"},
		{"rollback with two targets", []string{"rollback", loc, "--to-snapshot", "1", "--to-tag", "x"}, 2, "exactly one of"},
		{"rollback to a missing snapshot", []string{"rollback", loc, "--to-snapshot", "9"}, 1, "neither exists nor is tagged"},
		{"bad duration", []string{"expire", loc, "--older-than", "soon"}, 2, "older-than"},
		{"negative retention", []string{"expire", loc, "--retain-min", "-1"}, 2, "must not be negative"},
		{"consumer without command", []string{"consumer", loc}, 2, "expected TABLE list"},
		{"delete a missing consumer", []string{"consumer", loc, "delete", "nope"}, 1, "not found"},
		{"db.table without warehouse", []string{"expire", "db.t"}, 2, "--warehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runTarn(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// tarn expire drops the partitions partition.expiration-time has expired first (a dry run
// only names them), then expires snapshots.
func TestExpirePartitionsCommand(t *testing.T) {
	wh := t.TempDir()
	if out, errOut, code := runTarn("create-table", "--warehouse", wh, "db.p", "--schema", "dt STRING, id INT", "--partition-keys", "dt",
		"--option", "partition.expiration-time=30 d"); code != 0 {
		t.Fatalf("create-table: %s %s", out, errOut)
	}
	f := filepath.Join(t.TempDir(), "rows.jsonl")
	rows := "{\"dt\": \"2020-01-01\", \"id\": 1}\n{\"dt\": \"junk\", \"id\": 2}\n{\"dt\": \"9999-01-01\", \"id\": 3}\n"
	if err := os.WriteFile(f, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runTarn("write", "--warehouse", wh, "db.p", f); code != 0 {
		t.Fatalf("write: %s %s", out, errOut)
	}
	for _, step := range []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"expire", "--warehouse", wh, "db.p", "--dry-run"}, `^would drop 1 expired partitions: dt=2020-01-01\n`, `partition junk is not dated by its values`},
		{[]string{"expire", "--warehouse", wh, "db.p"}, `^dropped 1 expired partitions \(snapshot 2\): dt=2020-01-01\n`, ``},
		{[]string{"expire", "--warehouse", wh, "db.p"}, `^no snapshot to expire`, ``},
		{[]string{"scan", "--warehouse", wh, "db.p", "--format", "csv"}, `^dt,id\n9999-01-01,3\njunk,2\n$`, ``},
	} {
		out, errOut, code := runTarn(step.args...)
		if code != 0 || !regexp.MustCompile(step.want).MatchString(out) || !strings.Contains(errOut, step.wantErr) {
			t.Errorf("tarn %s: exit %d\n%s%s\nwant stdout matching %q and stderr holding %q", strings.Join(step.args, " "), code, out, errOut, step.want, step.wantErr)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// tarn alter-table applies its repeatable flags in order as one new schema; scans read
// the old rows through it; refused changes exit 1 with the reason and write nothing.
func TestAlterTableCommand(t *testing.T) {
	wh := t.TempDir()
	run := func(args ...string) (string, string, int) { return tarn(t, nil, args...) }
	if _, e, c := run("create-table", "--warehouse", wh, "db.t", "--schema", "id INT NOT NULL, a INT, b STRING, c DOUBLE, r ROW<x INT, y STRING>", "--primary-key", "id", "--option", "bucket=1"); c != 0 {
		t.Fatal(e)
	}
	in := filepath.Join(t.TempDir(), "rows.jsonl")
	os.WriteFile(in, []byte(`{"id":1,"a":1,"b":"one","c":1.5,"r":{"x":1,"y":"p"}}`+"\n"), 0o644)
	if _, e, c := run("write", "--warehouse", wh, "db.t", in); c != 0 {
		t.Fatal(e)
	}
	out, e, c := run("alter-table", "--warehouse", wh, "db.t",
		"--add", "d STRING COMMENT 'the d' AFTER a", "--rename", "b:b2", "--drop", "c", "--widen", "a BIGINT",
		"--add", "r.z DOUBLE", "--rename", "r.x:xx", "--comment", "b2:renamed", "--set", "snapshot.num-retained.max=20",
		"--add", "`e f` INT FIRST", "--move", "id FIRST", "--table-comment", "evolved")
	if c != 0 {
		t.Fatalf("exit %d: %s", c, e)
	}
	want := "schema 1:\n  id INT NOT NULL\n  e f INT\n  a BIGINT\n  d STRING\n  b2 STRING\n  r ROW<`xx` INT, `y` STRING, `z` DOUBLE>\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if out, e, c = run("scan", "--warehouse", wh, "db.t", "--format", "jsonl"); c != 0 || out != `{"id":1,"e f":null,"a":1,"d":null,"b2":"one","r":{"xx":1,"y":"p","z":null}}`+"\n" {
		t.Fatalf("scan: exit %d %s\n%s", c, e, out)
	}
	if out, _, _ = run("scan", "--warehouse", wh, "db.t", "--format", "jsonl", "--snapshot", "1"); out != `{"id":1,"a":1,"b":"one","c":1.5,"r":{"x":1,"y":"p"}}`+"\n" {
		t.Fatalf("time travel:\n%s", out)
	}
	ctx := context.Background()
	tbl, err := table.Open(ctx, fileio.NewLocal(), filepath.Join(wh, "db.db", "t"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tbl.LatestSchema(ctx)
	if d, _ := s.Field("d"); d.Description == nil || *d.Description != "the d" || s.Comment == nil || *s.Comment != "evolved" {
		t.Fatalf("comments: %+v %v", d, s.Comment)
	}
	// A table location works as well as --warehouse db.table.
	if out, e, c = run("alter-table", filepath.Join(wh, "db.db", "t"), "--unset", "snapshot.num-retained.max"); c != 0 || !strings.HasPrefix(out, "schema 2:") {
		t.Fatalf("by location: exit %d %s %s", c, out, e)
	}
	// A default value: rows written afterwards get it in place of nulls.
	if _, e, c := run("alter-table", "--warehouse", wh, "db.t", "--default", "b2='none'"); c != 0 {
		t.Fatalf("--default: exit %d %s", c, e)
	}
	os.WriteFile(in, []byte(`{"id":2,"e f":null,"a":2,"d":null,"b2":null,"r":null}`+"\n"), 0o644)
	if _, e, c := run("write", "--warehouse", wh, "db.t", in); c != 0 {
		t.Fatal(e)
	}
	if out, e, c = run("scan", "--warehouse", wh, "db.t", "--format", "jsonl", "--where", "id = 2"); c != 0 || out != `{"id":2,"e f":null,"a":2,"d":null,"b2":"none","r":null}`+"\n" {
		t.Fatalf("scan after --default: exit %d %s\n%s", c, e, out)
	}
	for _, bad := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--default", "a=x"}, 1, `default value "x" does not cast to BIGINT`},
		{[]string{"--drop-primary-key"}, 1, "a primary key can be dropped only before the first commit"},
		{[]string{"--drop", "id"}, 1, "id is a primary key column"},
		{[]string{"--widen", "a INT"}, 1, "a[BIGINT] cannot be converted to INT without losing information"},
		{[]string{"--add", "n INT NOT NULL"}, 1, "cannot be NOT NULL"},
		{[]string{"--rename", "a:d"}, 1, "column d already exists"},
		{[]string{"--set", "bucket=4"}, 1, "needs every partition rescaled"},
		{[]string{"--add", "ok INT", "--drop", "nope"}, 1, "column nope does not exist"},
		{[]string{}, 2, "no changes"},
		{[]string{"--rename", "a"}, 2, "want old:new"},
		{[]string{"--add", "n NOTATYPE"}, 2, "unknown type"},
	} {
		before, _ := tbl.SchemaIDs(ctx)
		_, e, c := run(append([]string{"alter-table", "--warehouse", wh, "db.t"}, bad.args...)...)
		if c != bad.code || !strings.Contains(e, bad.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", bad.args, c, e, bad.code, bad.msg)
		}
		if after, _ := tbl.SchemaIDs(ctx); len(after) != len(before) {
			t.Errorf("%v wrote a schema", bad.args)
		}
	}
}

// A `tarn write` that started before an alter refuses to commit its files (written with
// the old schema) instead of committing them under the new one.
func TestWriteStartedBeforeAlterRefusesToCommit(t *testing.T) {
	wh := t.TempDir()
	if _, e, c := tarn(t, nil, "create-table", "--warehouse", wh, "db.t", "--schema", "id INT NOT NULL, v STRING", "--primary-key", "id", "--option", "bucket=1"); c != 0 {
		t.Fatal(e)
	}
	fifo := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes: %v", err)
	}
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run([]string{"write", "--warehouse", wh, "db.t", "--commit-every", "1", fifo}, &out, &errb)
		done <- result{out.String(), errb.String(), code}
	}()
	pipe, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	// The first row is committed at once (--commit-every 1) by the running writer: it now
	// holds schema 0.
	if _, err := pipe.WriteString(`{"id":1000,"v":"a"}` + "\n"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tbl, err := table.Open(ctx, fileio.NewLocal(), filepath.Join(wh, "db.db", "t"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ids, _ := tbl.SnapshotIDs(ctx); len(ids) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer did not commit its first row")
		}
	}
	if _, e, c := tarn(t, nil, "alter-table", "--warehouse", wh, "db.t", "--add", "n INT"); c != 0 {
		t.Fatal(e)
	}
	pipe.WriteString(`{"id":2,"v":"b"}` + "\n")
	pipe.Close()
	r := <-done
	if r.code != 1 || !strings.Contains(r.errOut, "written with schema 0 but the table's schema is now 1") {
		t.Fatalf("write: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if ids, _ := tbl.SnapshotIDs(ctx); len(ids) != 1 {
		t.Fatalf("snapshots %v: the stale writer committed", ids)
	}
	out, e, c := tarn(t, nil, "scan", "--warehouse", wh, "db.t", "--format", "jsonl")
	if c != 0 || out != `{"id":1000,"v":"a","n":null}`+"\n" {
		t.Fatalf("scan: exit %d %s, %d rows", c, e, strings.Count(out, "\n"))
	}
}

// TestAlterTableDropPrimaryKey drops the primary key of a table before its first commit;
// rows written afterwards are appended, duplicates kept.
func TestAlterTableDropPrimaryKey(t *testing.T) {
	wh := t.TempDir()
	run := func(args ...string) (string, string, int) { return tarn(t, nil, args...) }
	if _, e, c := run("create-table", "--warehouse", wh, "db.t", "--schema", "id INT NOT NULL, v STRING", "--primary-key", "id", "--option", "bucket=-1"); c != 0 {
		t.Fatal(e)
	}
	if _, e, c := run("alter-table", "--warehouse", wh, "db.t", "--drop-primary-key"); c != 0 {
		t.Fatal(e)
	}
	in := filepath.Join(t.TempDir(), "rows.jsonl")
	os.WriteFile(in, []byte(`{"id":1,"v":"a"}`+"\n"+`{"id":1,"v":"b"}`+"\n"), 0o644)
	if _, e, c := run("write", "--warehouse", wh, "db.t", in); c != 0 {
		t.Fatal(e)
	}
	if out, e, c := run("scan", "--warehouse", wh, "db.t", "--format", "jsonl"); c != 0 || strings.Count(out, `"id":1`) != 2 {
		t.Fatalf("scan: exit %d %s\n%s", c, e, out)
	}
}

package table_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// evoStep is one step of a schema-evolution scenario: changes applied as one alter,
// then rows written (JSON Lines in the new schema) as one commit, whose snapshot must
// read exactly as want.
type evoStep struct {
	changes []catalog.SchemaChange
	rows    string
	want    string
}

// evoFilter is a filtered read of the snapshot of step n (1-based; 0: latest) and its
// expected rows.
type evoFilter struct {
	step  int
	where string
	want  string
}

func path(s string) []string { return catalog.ParsePath(s) }

func mustType(t *testing.T, s string) types.DataType {
	t.Helper()
	dt, err := types.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// evoWrite writes JSON Lines rows with the table's latest schema and commits them as a
// writer does, refusing files of an outdated schema.
func evoWrite(ctx context.Context, tbl *table.Table, rows string, identifier int64) (table.CommitResult, error) {
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		return table.CommitResult{}, err
	}
	defer w.Close()
	r, err := render.NewJSONLReader(strings.NewReader(rows), w.Schema().Fields, 0)
	if err != nil {
		return table.CommitResult{}, err
	}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return table.CommitResult{}, err
		}
		err = w.Write(ctx, b)
		b.Release()
		if err != nil {
			return table.CommitResult{}, err
		}
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		return table.CommitResult{}, err
	}
	return tbl.Commit(ctx, table.Commit{User: "evolution", Identifier: identifier, Messages: msgs, SchemaID: w.Schema().ID, CheckSchema: true})
}

func evoScan(t *testing.T, tbl *table.Table, snapshot int64, where string) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), tbl, export.Options{Scan: table.ScanOptions{SnapshotID: snapshot}, Where: where, Format: render.JSONL}, &buf); err != nil {
		t.Fatalf("scan snapshot %d where %q: %v", snapshot, where, err)
	}
	return buf.String()
}

// checkEvolvedTail follows the table from its first snapshot, started after every alter:
// the tail reads files of every schema through the latest one by field id (renamed
// columns keep their values, dropped ones vanish, added ones are null, widened ones are
// cast), and its changes, applied in order by primary key (appended, for a table without
// one), give exactly the latest snapshot's rows.
func checkEvolvedTail(t *testing.T, tbl *table.Table, want string) {
	t.Helper()
	ctx := context.Background()
	latest, _, err := tbl.LatestSnapshotID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The tail skips COMPACT snapshots: it is done after the last APPEND one.
	for ; latest > 1; latest-- {
		snap, err := tbl.Snapshot(ctx, latest)
		if err != nil {
			t.Fatal(err)
		}
		if snap.CommitKind == "APPEND" {
			break
		}
	}
	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pk := schema.PrimaryKeys
	f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	state := map[string]string{}
	var appended []string
	for _, l := range follow(t, f, nil, untilSnapshot(latest)).lines {
		var cols map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &cols); err != nil {
			t.Fatal(err)
		}
		var kind string
		if err := json.Unmarshal(cols["_ROW_KIND"], &kind); err != nil {
			t.Fatal(err)
		}
		// The row as a scan prints it: without the two leading change columns.
		_, rest, _ := strings.Cut(l, `"_ROW_KIND":"`+kind+`",`)
		row := "{" + rest
		if len(pk) == 0 {
			appended = append(appended, row)
			continue
		}
		var key []string
		for _, k := range pk {
			key = append(key, string(cols[k]))
		}
		switch kind {
		case "+I", "+U":
			state[strings.Join(key, ",")] = row
		case "-D", "-U":
			delete(state, strings.Join(key, ","))
		}
	}
	got := appended
	for _, row := range state {
		got = append(got, row)
	}
	wantRows := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	slices.Sort(got)
	slices.Sort(wantRows)
	if !slices.Equal(got, wantRows) {
		t.Errorf("a tail from snapshot 1, applied, gives\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
}

func trimRows(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// runEvolution creates a table, writes steps[0].rows under schema 0, then for each
// further step alters and writes; it checks every snapshot after each step, then after a
// full compaction, and the filtered reads.
func runEvolution(t *testing.T, spec catalog.TableSpec, steps []evoStep, filters []evoFilter) *table.Table {
	t.Helper()
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "db", Table: "t"}
	tbl, err := cat.CreateTable(ctx, id, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	var snapshots []int64 // the snapshot of each step (a COMPACT one when the commit held a compaction)
	checkAll := func(stage string, upTo int) {
		t.Helper()
		for j := 0; j < upTo; j++ {
			if got, want := evoScan(t, tbl, snapshots[j], ""), trimRows(steps[j].want); got != want {
				t.Errorf("%s: snapshot %d:\n%s\nwant\n%s", stage, snapshots[j], got, want)
			}
		}
		if got, want := evoScan(t, tbl, 0, ""), trimRows(steps[upTo-1].want); got != want {
			t.Errorf("%s: latest:\n%s\nwant\n%s", stage, got, want)
		}
	}
	for i, st := range steps {
		if len(st.changes) > 0 {
			s, err := cat.AlterTable(ctx, id, st.changes)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if s.ID != int64(i) {
				t.Fatalf("step %d wrote schema %d", i, s.ID)
			}
		}
		res, err := evoWrite(ctx, tbl, st.rows, int64(i+1))
		if err != nil {
			t.Fatalf("step %d: write: %v", i, err)
		}
		snapshots = append(snapshots, res.SnapshotID)
		snap, err := tbl.Snapshot(ctx, res.SnapshotID)
		if err != nil || snap.SchemaID != int64(i) {
			t.Fatalf("snapshot %d: schema %d, %v", res.SnapshotID, snap.SchemaID, err)
		}
		checkAll(fmt.Sprintf("after step %d", i), i+1)
	}
	checkFilters := func(stage string) {
		t.Helper()
		for _, f := range filters {
			var snap int64
			if f.step > 0 {
				snap = snapshots[f.step-1]
			}
			if got, want := evoScan(t, tbl, snap, f.where), trimRows(f.want); got != want {
				t.Errorf("%s: snapshot %d where %s:\n%s\nwant\n%s", stage, snap, f.where, got, want)
			}
		}
	}
	checkFilters("before compaction")
	checkEvolvedTail(t, tbl, trimRows(steps[len(steps)-1].want))
	sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case sum.SnapshotID != 0:
		steps = append(steps, evoStep{want: steps[len(steps)-1].want})
		snapshots = append(snapshots, sum.SnapshotID)
	case sum.MaxSortedRunsBefore > 1:
		t.Fatalf("full compaction committed nothing: %+v", sum)
	}
	checkAll("after full compaction", len(steps))
	checkFilters("after full compaction")
	return tbl
}

// A primary-key table through add (positioned and nested), rename (a primary-key column
// and a nested field), drop (top-level and nested), widen (top-level, nested, decimal)
// and re-adding a dropped name: every snapshot reads back exactly after each step and
// after a full compaction, and filters on renamed and widened columns select by the
// new names and types.
func TestEvolutionPrimaryKeyTable(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, a INT, b STRING, c DOUBLE, m DECIMAL(5, 2), r ROW<x INT, y STRING>, dt STRING")
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []map[string]string{
		{"bucket": "2"},
		{"bucket": "2", "deletion-vectors.enabled": "true"},
		{"bucket": "-1"},
		{"bucket": "1", "changelog-producer": "input", "file.format": "parquet"},
	} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			spec := catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: opts}
			runEvolution(t, spec, pkEvolutionSteps, pkEvolutionFilters)
		})
	}
}

var (
	pkEvolutionSteps = []evoStep{{
		rows: `{"id":1,"a":10,"b":"one","c":1.5,"m":"1.50","r":{"x":1,"y":"p"},"dt":"d1"}
{"id":2,"a":20,"b":"two","c":2.5,"m":"2.00","r":null,"dt":"d1"}
{"id":3,"a":null,"b":"three","c":null,"m":null,"r":{"x":3,"y":null},"dt":"d2"}`,
		want: `{"id":1,"a":10,"b":"one","c":1.5,"m":"1.50","r":{"x":1,"y":"p"},"dt":"d1"}
{"id":2,"a":20,"b":"two","c":2.5,"m":"2.00","r":null,"dt":"d1"}
{"id":3,"a":null,"b":"three","c":null,"m":null,"r":{"x":3,"y":null},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: path("d"), Type: types.StringType(), Move: &catalog.Move{Type: catalog.MoveAfter, Reference: "a"}},
			catalog.AddColumn{Path: path("r.z"), Type: types.DoubleType()},
		},
		rows: `{"id":1,"a":11,"d":"D1","b":"one","c":1.5,"m":"1.50","r":{"x":1,"y":"p","z":0.5},"dt":"d1"}
{"id":4,"a":40,"d":"D4","b":"four","c":4.5,"m":"4.00","r":{"x":4,"y":"s","z":4.5},"dt":"d2"}`,
		want: `{"id":1,"a":11,"d":"D1","b":"one","c":1.5,"m":"1.50","r":{"x":1,"y":"p","z":0.5},"dt":"d1"}
{"id":2,"a":20,"d":null,"b":"two","c":2.5,"m":"2.00","r":null,"dt":"d1"}
{"id":3,"a":null,"d":null,"b":"three","c":null,"m":null,"r":{"x":3,"y":null,"z":null},"dt":"d2"}
{"id":4,"a":40,"d":"D4","b":"four","c":4.5,"m":"4.00","r":{"x":4,"y":"s","z":4.5},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.RenameColumn{Path: path("b"), NewName: "b2"},
			catalog.RenameColumn{Path: path("id"), NewName: "key"},
			catalog.RenameColumn{Path: path("r.x"), NewName: "xx"},
		},
		rows: `{"key":2,"a":21,"d":"D2","b2":"TWO","c":2,"m":"2.10","r":{"xx":2,"y":"q","z":null},"dt":"d1"}
{"key":3,"dt":"d2","_ROW_KIND":"-D"}`,
		want: `{"key":1,"a":11,"d":"D1","b2":"one","c":1.5,"m":"1.50","r":{"xx":1,"y":"p","z":0.5},"dt":"d1"}
{"key":2,"a":21,"d":"D2","b2":"TWO","c":2,"m":"2.10","r":{"xx":2,"y":"q","z":null},"dt":"d1"}
{"key":4,"a":40,"d":"D4","b2":"four","c":4.5,"m":"4.00","r":{"xx":4,"y":"s","z":4.5},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.DropColumn{Path: path("c")},
			catalog.DropColumn{Path: path("r.y")},
		},
		rows: `{"key":5,"a":50,"d":null,"b2":"five","m":"5.55","r":{"xx":5,"z":5.5},"dt":"d1"}`,
		want: `{"key":1,"a":11,"d":"D1","b2":"one","m":"1.50","r":{"xx":1,"z":0.5},"dt":"d1"}
{"key":2,"a":21,"d":"D2","b2":"TWO","m":"2.10","r":{"xx":2,"z":null},"dt":"d1"}
{"key":4,"a":40,"d":"D4","b2":"four","m":"4.00","r":{"xx":4,"z":4.5},"dt":"d2"}
{"key":5,"a":50,"d":null,"b2":"five","m":"5.55","r":{"xx":5,"z":5.5},"dt":"d1"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.UpdateColumnType{Path: path("a"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: path("r.xx"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: path("m"), Type: types.DecimalType(12, 4)},
			catalog.AddColumn{Path: path("c"), Type: types.StringType()},
		},
		rows: `{"key":1,"a":3000000000,"d":"D1","b2":"one","m":"12345678.1234","r":{"xx":4000000000,"z":0.5},"dt":"d1","c":"new c"}`,
		want: `{"key":1,"a":3000000000,"d":"D1","b2":"one","m":"12345678.1234","r":{"xx":4000000000,"z":0.5},"dt":"d1","c":"new c"}
{"key":2,"a":21,"d":"D2","b2":"TWO","m":"2.1000","r":{"xx":2,"z":null},"dt":"d1","c":null}
{"key":4,"a":40,"d":"D4","b2":"four","m":"4.0000","r":{"xx":4,"z":4.5},"dt":"d2","c":null}
{"key":5,"a":50,"d":null,"b2":"five","m":"5.5500","r":{"xx":5,"z":5.5},"dt":"d1","c":null}`,
	}}
	pkEvolutionFilters = []evoFilter{
		{0, "b2 = 'TWO'", `{"key":2,"a":21,"d":"D2","b2":"TWO","m":"2.1000","r":{"xx":2,"z":null},"dt":"d1","c":null}`},
		{0, "a > 2147483647", `{"key":1,"a":3000000000,"d":"D1","b2":"one","m":"12345678.1234","r":{"xx":4000000000,"z":0.5},"dt":"d1","c":"new c"}`},
		{0, "key >= 4 AND a < 45", `{"key":4,"a":40,"d":"D4","b2":"four","m":"4.0000","r":{"xx":4,"z":4.5},"dt":"d2","c":null}`},
		{0, "m = 5.55", `{"key":5,"a":50,"d":null,"b2":"five","m":"5.5500","r":{"xx":5,"z":5.5},"dt":"d1","c":null}`},
		{0, "c IS NULL AND d IS NULL", `{"key":5,"a":50,"d":null,"b2":"five","m":"5.5500","r":{"xx":5,"z":5.5},"dt":"d1","c":null}`},
		{2, "b = 'two' OR id = 3", `{"id":2,"a":20,"d":null,"b":"two","c":2.5,"m":"2.00","r":null,"dt":"d1"}
{"id":3,"a":null,"d":null,"b":"three","c":null,"m":null,"r":{"x":3,"y":null,"z":null},"dt":"d2"}`},
		{3, "b2 = 'one'", `{"key":1,"a":11,"d":"D1","b2":"one","c":1.5,"m":"1.50","r":{"xx":1,"y":"p","z":0.5},"dt":"d1"}`},
	}
)

// An append-only table through the same kinds of change; the statistics of files written
// before a rename or widening still prune files by the new name and type.
func TestEvolutionAppendTable(t *testing.T) {
	fields, err := types.ParseColumns("id INT, a SMALLINT, b VARCHAR(10), f FLOAT, ts TIMESTAMP(3), r ROW<x INT, y STRING>")
	if err != nil {
		t.Fatal(err)
	}
	spec := catalog.TableSpec{Fields: fields}
	steps := []evoStep{{
		rows: `{"id":1,"a":1,"b":"one","f":0.5,"ts":"2024-01-01T00:00:00.001","r":{"x":1,"y":"p"}}
{"id":2,"a":2,"b":"two","f":null,"ts":null,"r":null}`,
		want: `{"id":1,"a":1,"b":"one","f":0.5,"ts":"2024-01-01T00:00:00.001","r":{"x":1,"y":"p"}}
{"id":2,"a":2,"b":"two","f":null,"ts":null,"r":null}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: path("n"), Type: types.IntType(), Move: &catalog.Move{Type: catalog.MoveFirst}},
			catalog.RenameColumn{Path: path("b"), NewName: "name"},
			catalog.UpdateColumnType{Path: path("a"), Type: types.IntType()},
		},
		rows: `{"n":7,"id":3,"a":70000,"name":"three","f":1.25,"ts":"2024-01-02T00:00:00","r":{"x":3,"y":"r"}}`,
		want: `{"n":null,"id":1,"a":1,"name":"one","f":0.5,"ts":"2024-01-01T00:00:00.001","r":{"x":1,"y":"p"}}
{"n":null,"id":2,"a":2,"name":"two","f":null,"ts":null,"r":null}
{"n":7,"id":3,"a":70000,"name":"three","f":1.25,"ts":"2024-01-02T00:00:00.000","r":{"x":3,"y":"r"}}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.UpdateColumnType{Path: path("name"), Type: types.StringType()},
			catalog.UpdateColumnType{Path: path("f"), Type: types.DoubleType()},
			catalog.UpdateColumnType{Path: path("ts"), Type: types.TimestampType(6)},
			catalog.UpdateColumnType{Path: path("a"), Type: types.DecimalType(15, 2)},
			catalog.DropColumn{Path: path("r.x")},
			catalog.AddColumn{Path: path("r.x"), Type: types.StringType()},
			catalog.MoveColumn{Move: catalog.Move{Type: catalog.MoveLast, Column: "n"}},
		},
		rows: `{"id":4,"a":"123456789.25","name":"a much longer name","f":0.1,"ts":"2024-01-03T00:00:00.123456","r":{"y":"s","x":"xs"},"n":4}`,
		want: `{"id":1,"a":"1.00","name":"one","f":0.5,"ts":"2024-01-01T00:00:00.001000","r":{"y":"p","x":null},"n":null}
{"id":2,"a":"2.00","name":"two","f":null,"ts":null,"r":null,"n":null}
{"id":3,"a":"70000.00","name":"three","f":1.25,"ts":"2024-01-02T00:00:00.000000","r":{"y":"r","x":null},"n":7}
{"id":4,"a":"123456789.25","name":"a much longer name","f":0.1,"ts":"2024-01-03T00:00:00.123456","r":{"y":"s","x":"xs"},"n":4}`,
	}}
	filters := []evoFilter{
		{0, "name = 'two'", `{"id":2,"a":"2.00","name":"two","f":null,"ts":null,"r":null,"n":null}`},
		{0, "a > 100", `{"id":3,"a":"70000.00","name":"three","f":1.25,"ts":"2024-01-02T00:00:00.000000","r":{"y":"r","x":null},"n":7}
{"id":4,"a":"123456789.25","name":"a much longer name","f":0.1,"ts":"2024-01-03T00:00:00.123456","r":{"y":"s","x":"xs"},"n":4}`},
		{0, "f = 0.5", `{"id":1,"a":"1.00","name":"one","f":0.5,"ts":"2024-01-01T00:00:00.001000","r":{"y":"p","x":null},"n":null}`},
		{0, "ts >= TIMESTAMP '2024-01-02 00:00:00'", `{"id":3,"a":"70000.00","name":"three","f":1.25,"ts":"2024-01-02T00:00:00.000000","r":{"y":"r","x":null},"n":7}
{"id":4,"a":"123456789.25","name":"a much longer name","f":0.1,"ts":"2024-01-03T00:00:00.123456","r":{"y":"s","x":"xs"},"n":4}`},
		{1, "b = 'one'", `{"id":1,"a":1,"b":"one","f":0.5,"ts":"2024-01-01T00:00:00.001","r":{"x":1,"y":"p"}}`},
	}
	tbl := runEvolution(t, spec, steps, filters)

	// Snapshot 3 still holds the files of schemas 0, 1 and 2: their statistics, mapped by
	// field id and widened to the snapshot's types, prune them.
	ctx := context.Background()
	s2, err := tbl.Schema(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		where string
		files int
	}{
		{"", 3},
		{"a > 100000", 1},   // SMALLINT and INT statistics read as DECIMAL(15, 2)
		{"a >= 70000", 2},   // the INT file's max is 70000
		{"name = 'one'", 1}, // VARCHAR(10) statistics of column b, renamed
		{"name = 'zzz'", 0}, // no file
		{"f < 1", 2},        // FLOAT statistics as DOUBLE
		{"n = 7", 1},        // column added by schema 1: the schema-0 file holds only nulls
		{"ts < TIMESTAMP '2024-01-02 00:00:00'", 1},
	} {
		so := table.ScanOptions{SnapshotID: 3}
		if c.where != "" {
			p, err := predicate.Bind(c.where, s2.Fields, s2.PartitionKeys)
			if err != nil {
				t.Fatal(err)
			}
			so.Filter = p
		}
		plan, err := tbl.Plan(ctx, so)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sp := range plan.Splits {
			n += len(sp.Files)
		}
		if n != c.files {
			t.Errorf("snapshot 3 where %q plans %d files, want %d", c.where, n, c.files)
		}
	}
}

// A writer opened before an alter writes files of the old schema: its commit is refused
// and nothing is committed; a writer opened after the alter commits.
func TestEvolutionWriterBeforeAlterIsRefused(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "db", Table: "t"}
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	tbl, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evoWrite(ctx, tbl, `{"id":1,"v":"a"}`, 1); err != nil {
		t.Fatal(err)
	}
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, _ := render.NewJSONLReader(strings.NewReader(`{"id":2,"v":"b"}`), w.Schema().Fields, 0)
	b, _ := r.Next()
	if err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	if _, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{catalog.DropColumn{Path: path("v")}, catalog.AddColumn{Path: path("v"), Type: types.IntType()}}); err != nil {
		t.Fatal(err)
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.Commit(ctx, table.Commit{User: "old-writer", Identifier: 1, Messages: msgs, SchemaID: w.Schema().ID, CheckSchema: true})
	if !errors.Is(err, table.ErrConflict) || !strings.Contains(err.Error(), "written with schema 0 but the table's schema is now 1") {
		t.Fatalf("commit of a writer opened before the alter: %v", err)
	}
	if ids, _ := tbl.SnapshotIDs(ctx); len(ids) != 1 {
		t.Fatalf("snapshots %v after the refused commit", ids)
	}
	if _, err := evoWrite(ctx, tbl, `{"id":2,"v":7}`, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := evoScan(t, tbl, 0, ""), "{\"id\":1,\"v\":null}\n{\"id\":2,\"v\":7}\n"; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// Fields of ROWs inside ARRAYs and MAPs, and ARRAY elements and MAP values, evolve too:
// old files read through the new nested types by field id.
func TestEvolutionInsideArraysAndMaps(t *testing.T) {
	fields, err := types.ParseColumns("id INT, v ARRAY<ROW<p INT, s STRING>>, m MAP<STRING, ROW<q INT>>, w ARRAY<INT>, mv MAP<INT, SMALLINT>")
	if err != nil {
		t.Fatal(err)
	}
	steps := []evoStep{{
		rows: `{"id":1,"v":[{"p":1,"s":"a"},null,{"p":2,"s":null}],"m":[["k",{"q":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}`,
		want: `{"id":1,"v":[{"p":1,"s":"a"},null,{"p":2,"s":null}],"m":[["k",{"q":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: path("v.element.z"), Type: types.DoubleType(), Move: &catalog.Move{Type: catalog.MoveFirst}},
			catalog.DropColumn{Path: path("v.element.s")},
			catalog.RenameColumn{Path: path("m.value.q"), NewName: "qq"},
			catalog.UpdateColumnType{Path: path("m.value.qq"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: path("w.element"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: path("mv.value"), Type: types.BigIntType()},
		},
		rows: `{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}`,
		want: `{"id":1,"v":[{"z":null,"p":1},null,{"z":null,"p":2}],"m":[["k",{"qq":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}
{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}`,
	}}
	runEvolution(t, catalog.TableSpec{Fields: fields}, steps, []evoFilter{{0, "id > 1", `{"id":2,"v":null,"m":null,"w":[],"mv":null}
{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}`}})
}

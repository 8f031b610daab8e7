package table_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/table"
)

func scanJSONL(t *testing.T, tbl *table.Table, o table.ScanOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), tbl, export.Options{Scan: o}, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func writeCommit(t *testing.T, tbl *table.Table, fields []types.DataField, withKind bool, rows string, identifier int64) table.CommitResult {
	t.Helper()
	msgs := prepareRows(t, tbl, fields, withKind, rows)
	res, err := tbl.Commit(context.Background(), table.Commit{User: "test", Identifier: identifier, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// prepareRows writes rows (a JSON array) with a new writer and returns what it would
// commit.
func prepareRows(t *testing.T, tbl *table.Table, fields []types.DataField, withKind bool, rows string) []table.CommitMessage {
	t.Helper()
	ctx := context.Background()
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := arrowtest.Batch(t, fields, withKind, rows)
	defer b.Release()
	if err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestWriteReadPrimaryKeyTable(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns("id BIGINT NOT NULL, name STRING, amount DECIMAL(18,2), dt STRING")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "4"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[
		{"id": 1, "name": "a", "amount": "1.50", "dt": "2024-01-01"},
		{"id": 2, "name": "b", "amount": "2.00", "dt": "2024-01-01"},
		{"id": 3, "name": "c", "amount": null, "dt": "2024-01-02"},
		{"id": 1, "name": "a2", "amount": "1.75", "dt": "2024-01-01"}
	]`, 1)
	got := scanJSONL(t, tbl, table.ScanOptions{})
	want := `{"id":1,"name":"a2","amount":"1.75","dt":"2024-01-01"}
{"id":2,"name":"b","amount":"2.00","dt":"2024-01-01"}
{"id":3,"name":"c","amount":null,"dt":"2024-01-02"}
`
	if got != want {
		t.Fatalf("after commit 1:\n%s\nwant\n%s", got, want)
	}
	writeCommit(t, tbl, fields, true, `[
		{"id": 2, "name": null, "amount": null, "dt": "2024-01-01", "_ROW_KIND": "-D"},
		{"id": 3, "name": "c3", "amount": "3.00", "dt": "2024-01-02", "_ROW_KIND": "+U"},
		{"id": 4, "name": "d", "amount": "4.00", "dt": "2024-01-02"}
	]`, 2)
	got = scanJSONL(t, tbl, table.ScanOptions{})
	want = `{"id":1,"name":"a2","amount":"1.75","dt":"2024-01-01"}
{"id":3,"name":"c3","amount":"3.00","dt":"2024-01-02"}
{"id":4,"name":"d","amount":"4.00","dt":"2024-01-02"}
`
	if got != want {
		t.Fatalf("after commit 2:\n%s\nwant\n%s", got, want)
	}
	// Time travel to snapshot 1.
	if got := scanJSONL(t, tbl, table.ScanOptions{SnapshotID: 1}); !bytes.Contains([]byte(got), []byte(`"id":2`)) {
		t.Fatalf("snapshot 1 lost row 2:\n%s", got)
	}
	// A retried commit (same user and identifier) is not applied twice.
	res := writeCommit(t, tbl, fields, false, `[{"id": 9, "name": "x", "amount": null, "dt": "2024-01-03"}]`, 2)
	if !res.Skipped || res.SnapshotID != 2 {
		t.Fatalf("duplicate commit: %+v", res)
	}
	snap, err := tbl.LatestSnapshot(ctx)
	if err != nil || snap.ID != 2 || *snap.TotalRecordCount != 6 {
		t.Fatalf("latest %+v %v", snap, err)
	}
}

func TestWriteReadAppendTable(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("k INT, v STRING, ts TIMESTAMP(3)")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{Fields: fields}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"k": 2, "v": "x", "ts": "2024-01-01T10:00:00.123"}, {"k": 1, "v": null, "ts": null}]`, 1)
	writeCommit(t, tbl, fields, false, `[{"k": 1, "v": "y", "ts": "2024-01-01T00:00:00"}]`, 2)
	got := scanJSONL(t, tbl, table.ScanOptions{})
	want := `{"k":1,"v":null,"ts":null}
{"k":1,"v":"y","ts":"2024-01-01T00:00:00.000"}
{"k":2,"v":"x","ts":"2024-01-01T10:00:00.123"}
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// TestWriteInputFormats writes the same rows with `tarn write` from JSON Lines, CSV and
// Parquet (a file and standard input), with --commit-every and a _ROW_KIND column, and
// checks the snapshots each input made and the rows the table holds.
func TestWriteInputFormats(t *testing.T) {
	dir := t.TempDir()
	const n = 10
	var jsonl, csv strings.Builder
	csv.WriteString("id,name,_ROW_KIND\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&jsonl, `{"id":%d,"name":"n%d"}`+"\n", i, i)
		fmt.Fprintf(&csv, "%d,n%d,+I\n", i, i)
	}
	// Row kinds: 2 is updated, 3 deleted.
	jsonl.WriteString(`{"id":2,"name":"two","_ROW_KIND":"+U"}` + "\n" + `{"id":3,"name":null,"_ROW_KIND":"-D"}` + "\n")
	csv.WriteString("2,two,+U\n3,,-D\n")
	files := map[string]string{"rows.jsonl": jsonl.String(), "rows.csv": csv.String()}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pq := filepath.Join(dir, "rows.parquet")
	writeTestParquet(t, pq, n)
	want := "1,n1\n2,two\n4,n4\n5,n5\n6,n6\n7,n7\n8,n8\n9,n9\n10,n10\n"

	for _, c := range []struct {
		name      string
		args      []string
		stdin     string // a file given as standard input
		snapshots int    // commits of 3 rows each, the last one smaller
		want      string
	}{
		{"jsonl", []string{"--commit-every", "3", filepath.Join(dir, "rows.jsonl")}, "", 4, want},
		{"csv", []string{"--commit-every", "3", filepath.Join(dir, "rows.csv")}, "", 4, want},
		{"csv one commit", []string{"--format", "csv", filepath.Join(dir, "rows.csv")}, "", 1, want},
		{"parquet", []string{"--commit-every", "3", pq}, "", 4, "1,n1\n2,n2\n3,n3\n4,n4\n5,n5\n6,n6\n7,n7\n8,n8\n9,n9\n10,n10\n"},
		{"parquet from standard input", []string{"--format", "parquet", "--commit-every", "4"}, pq, 3, "1,n1\n2,n2\n3,n3\n4,n4\n5,n5\n6,n6\n7,n7\n8,n8\n9,n9\n10,n10\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wh := t.TempDir()
			if _, e, code := tarn(t, nil, "create-table", "--warehouse", wh, "db.t", "--schema", "id INT NOT NULL, name STRING", "--primary-key", "id", "--option", "bucket=2"); code != 0 {
				t.Fatal(e)
			}
			if c.stdin != "" {
				f, err := os.Open(c.stdin)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				saved := os.Stdin
				os.Stdin = f
				defer func() { os.Stdin = saved }()
			}
			out, e, code := tarn(t, nil, append([]string{"write", "--warehouse", wh, "db.t"}, c.args...)...)
			if code != 0 {
				t.Fatalf("write: exit %d\n%s", code, e)
			}
			if !strings.Contains(out, fmt.Sprintf("(%d commits)", c.snapshots)) {
				t.Errorf("write said %q, want %d commits", out, c.snapshots)
			}
			tbl, err := table.Open(context.Background(), fileio.NewLocal(), filepath.Join(wh, "db.db", "t"))
			if err != nil {
				t.Fatal(err)
			}
			if ids, err := tbl.SnapshotIDs(context.Background()); err != nil || len(ids) != c.snapshots {
				t.Errorf("snapshots %v (%v), want %d", ids, err, c.snapshots)
			}
			got, e, code := tarn(t, nil, "scan", "--warehouse", wh, "db.t", "--format", "csv")
			if code != 0 {
				t.Fatal(e)
			}
			if got != "id,name\n"+c.want {
				t.Errorf("scan:\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// writeTestParquet writes rows (id, name) 1..n as a Parquet file.
func writeTestParquet(t *testing.T, path string, n int) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 1; i <= n; i++ {
		b.Field(0).(*array.Int32Builder).Append(int32(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("n%d", i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// newTable makes a bucketed primary-key table and commits each JSON array of rows as one
// snapshot.
func newTable(t *testing.T, commits ...string) *table.Table {
	t.Helper()
	ctx := context.Background()
	fields, err := types.ParseColumns("id INT NOT NULL, name STRING, amount DECIMAL(10, 2)")
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"},
		catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "3"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, rows := range commits {
		w, err := tbl.NewWriter(ctx, table.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := arrowtest.Batch(t, fields, false, rows)
		err = w.Write(ctx, b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := w.PrepareCommit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: format.BatchCommitIdentifier, Messages: msgs}); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	return tbl
}

func rowsJSON(from, to int) string {
	var rows []string
	for i := from; i < to; i++ {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"name":"n%d","amount":"%d.50"}`, i, i, i))
	}
	return "[" + strings.Join(rows, ",") + "]"
}

func TestWrite(t *testing.T) {
	tbl := newTable(t,
		rowsJSON(0, 50),
		`[{"id":3,"name":"three","amount":"0.01"},{"id":60,"name":null,"amount":null}]`)
	tests := []struct {
		name  string
		o     export.Options
		want  string // the output
		count int64
	}{
		{"latest, JSON Lines by default, sorted by key", export.Options{Where: "id < 5 OR id = 60"},
			`{"id":0,"name":"n0","amount":"0.50"}` + "\n" + `{"id":1,"name":"n1","amount":"1.50"}` + "\n" +
				`{"id":2,"name":"n2","amount":"2.50"}` + "\n" + `{"id":3,"name":"three","amount":"0.01"}` + "\n" +
				`{"id":4,"name":"n4","amount":"4.50"}` + "\n" + `{"id":60,"name":null,"amount":null}` + "\n", 6},
		{"time travel", export.Options{Scan: table.ScanOptions{SnapshotID: 1}, Where: "id = 3", Format: render.CSV},
			"id,name,amount\n3,n3,3.50\n", 1},
		{"projection", export.Options{Columns: []string{"name"}, Where: "id BETWEEN 10 AND 11", Format: render.CSV},
			"name\nn10\nn11\n", 2},
		{"the first rows in key order", export.Options{Limit: 3, Columns: []string{"id"}, Format: render.CSV},
			"id\n0\n1\n2\n", 3},
		{"limit larger than the table", export.Options{Limit: 100, Where: "id >= 49", Format: render.CSV},
			"id,name,amount\n49,n49,49.50\n60,,\n", 2},
		{"no match", export.Options{Where: "name = 'nobody'", Format: render.CSV}, "id,name,amount\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := export.Write(context.Background(), tbl, tt.o, &out)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || n != tt.count {
				t.Errorf("got %d rows:\n%s\nwant %d:\n%s", n, out.String(), tt.count, tt.want)
			}
		})
	}
}

// An unsorted scan with a limit stops at the limit.
func TestWriteUnsortedLimit(t *testing.T) {
	tbl := newTable(t, rowsJSON(0, 500))
	var out bytes.Buffer
	n, err := export.Write(context.Background(), tbl, export.Options{Unsorted: true, Limit: 7, Format: render.JSONL}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); n != 7 || lines != 7 {
		t.Errorf("%d rows, %d lines, want 7", n, lines)
	}
}

func TestWriteErrors(t *testing.T) {
	tbl := newTable(t, rowsJSON(0, 3))
	tests := []struct {
		name    string
		o       export.Options
		bad     bool   // wraps ErrBadRequest
		message string // part of the error
	}{
		{"unknown column", export.Options{Columns: []string{"nope"}}, true, "nope"},
		{"bad filter", export.Options{Where: "id <"}, true, ""},
		{"filter on an unknown column", export.Options{Where: "nope = 1"}, true, "nope"},
		{"bad format", export.Options{Format: "xml"}, true, "xml"},
		{"missing snapshot", export.Options{Scan: table.ScanOptions{SnapshotID: 9}}, false, "9"},
		{"missing tag", export.Options{Scan: table.ScanOptions{Tag: "nope"}}, false, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := export.Write(context.Background(), tbl, tt.o, &out)
			if err == nil {
				t.Fatalf("no error; wrote %q", out.String())
			}
			if errors.Is(err, export.ErrBadRequest) != tt.bad {
				t.Errorf("errors.Is(ErrBadRequest) = %v: %v", !tt.bad, err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

// A table without snapshots exports no rows (CSV still has its header).
func TestWriteEmptyTable(t *testing.T) {
	tbl := newTable(t)
	var out bytes.Buffer
	n, err := export.Write(context.Background(), tbl, export.Options{Format: render.CSV}, &out)
	if err != nil || n != 0 || out.String() != "id,name,amount\n" {
		t.Errorf("n=%d err=%v out=%q", n, err, out.String())
	}
}

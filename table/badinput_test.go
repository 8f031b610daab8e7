package table_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Bad input gets a clear error and commits nothing.
func TestBadInputCommitsNothing(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id BIGINT NOT NULL, name STRING, qty INT")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "bad"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "2"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(schema *arrow.Schema, rows string) arrow.RecordBatch {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rows))
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	str, i64, i32 := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32
	tests := []struct {
		name  string
		batch arrow.RecordBatch
		want  string
	}{
		{"null primary key", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64, Nullable: true}, {Name: "name", Type: str, Nullable: true}}, nil), `[{"id":null,"name":"x"}]`), `"id" is NOT NULL`},
		{"unknown column", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "nope", Type: str, Nullable: true}}, nil), `[{"id":1,"nope":"x"}]`), "columns the table lacks: nope"},
		{"missing key column", mk(arrow.NewSchema([]arrow.Field{{Name: "name", Type: str, Nullable: true}}, nil), `[{"name":"x"}]`), `lacks column "id"`},
		{"wrong type", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "qty", Type: str, Nullable: true}}, nil), `[{"id":1,"qty":"many"}]`), `column "qty"`},
		{"overflow", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "qty", Type: i64, Nullable: true}}, nil), `[{"id":1,"qty":99999999999}]`), `column "qty"`},
		{"bad row kind", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "_ROW_KIND", Type: str, Nullable: true}}, nil), `[{"id":1,"_ROW_KIND":"+X"}]`), "use +I, -U, +U or -D"},
		{"bad row kind type", mk(arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "_ROW_KIND", Type: i32, Nullable: true}}, nil), `[{"id":1,"_ROW_KIND":1}]`), "must be a string or int8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.batch.Release()
			w, err := tbl.NewWriter(ctx, table.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			err = w.Write(ctx, tt.batch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			msgs, err := w.PrepareCommit(ctx)
			if err != nil || len(msgs) != 0 {
				t.Fatalf("a rejected batch left %d files to commit (%v)", len(msgs), err)
			}
		})
	}
	if snap, err := tbl.LatestSnapshot(ctx); err != nil || snap != nil {
		t.Fatalf("a snapshot was committed: %v %v", snap, err)
	}
	if _, err := cat.LoadTable(ctx, catalog.Identifier{Database: "db", Table: "missing"}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing table: %v", err)
	}
}

func TestCreateTableValidation(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("id BIGINT NOT NULL, dt STRING, v STRING")
	tests := []struct {
		name string
		spec catalog.TableSpec
		want string
	}{
		{"unknown option", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"buckets": "4"}}, `unknown table option "buckets"`},
		{"bucket 0", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "0"}}, "bucket = 0"},
		{"bad merge engine", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"merge-engine": "newest"}}, "merge-engine"},
		{"engine without key", catalog.TableSpec{Fields: fields, Options: map[string]string{"merge-engine": "first-row"}}, "needs a primary key"},
		{"key misses partition", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, PartitionKeys: []string{"dt"}}, "must include every partition key"},
		{"key not a column", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"nope"}}, `primary key "nope"`},
		{"append bucket without key", catalog.TableSpec{Fields: fields, Options: map[string]string{"bucket": "4"}}, "bucket-key"},
		{"bad size", catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"write-buffer-size": "lots"}}, "write-buffer-size"},
		{"reserved column", catalog.TableSpec{Fields: []types.DataField{{ID: 0, Name: "_VALUE_KIND", Type: types.IntType()}}}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "x"}, tt.spec, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if tables, _ := cat.ListTables(ctx, "db"); len(tables) != 0 {
		t.Fatalf("refused tables were created: %v", tables)
	}
}

package compat_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// A postpone-bucket table (bucket = -2) reads in Tarn as in Paimon: the rows Paimon's
// writers leave in bucket-postpone are not visible to batch reads until Paimon's postpone
// compaction gives them buckets (DataTableBatchScan.onlyReadRealBuckets). Tarn's writer
// refuses such tables with the reason.
func TestPostponeBucketReadsAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "p", "id INT NOT NULL, v STRING",
		catalog.TableSpec{PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "-2"}})
	if out, err := oracleStdin(ctx, "{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon write: %v\n%s", err, out)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Snapshot == nil {
		t.Fatal("Paimon's write made no snapshot")
	}
	want, err := oracle(ctx, paimonLatest, "read", tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Tarn reads\n%s\nPaimon reads\n%s", got, want)
	}
	if err := commitChangeRows(ctx, tbl, fields, []string{`{"id":3,"v":"c"}`}, 1); err == nil || !strings.Contains(err.Error(), "postpone") {
		t.Errorf("Tarn's write into a postpone-bucket table: %v, want a refusal naming postpone buckets", err)
	}
}

// newTable creates db.NAME in cat with the columns (Tarn's column list) and the rest of
// spec; it returns the table and its fields.
func newTable(t *testing.T, cat *catalog.Catalog, name, columns string, spec catalog.TableSpec) (*table.Table, []types.DataField) {
	t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	spec.Fields = fields
	tbl, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: name}, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, fields
}

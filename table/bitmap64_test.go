package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/deletionvector"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// deletion-vectors.bitmap64 writes new deletion vectors in Paimon's 64-bit form (the one
// Iceberg reads); without it, the 32-bit form.
func TestDeletionVectorsBitmap64(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	for _, bitmap64 := range []bool{false, true} {
		cat := catalog.New(fileio.NewLocal(), t.TempDir())
		tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "d"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"},
			Options: map[string]string{"bucket": "1", "deletion-vectors.enabled": "true", "deletion-vectors.bitmap64": fmt.Sprint(bitmap64)}}, false)
		if err != nil {
			t.Fatal(err)
		}
		writeCommit(t, tbl, fields, false, `[{"id":1,"v":"a"},{"id":2,"v":"b"},{"id":3,"v":"c"}]`, 1)
		writeCommit(t, tbl, fields, false, `[{"id":2,"v":"b2"}]`, 2)
		plan, err := tbl.Plan(ctx, table.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		vectors := 0
		for _, s := range plan.Splits {
			for name, d := range s.DeletionFiles {
				data, err := fileio.NewLocal().ReadFile(ctx, d.Path)
				if err != nil {
					t.Fatal(err)
				}
				v, err := deletionvector.ReadFromIndexFile(data, d.Offset, d.Length)
				if err != nil {
					t.Fatal(err)
				}
				vectors++
				if v.Bitmap64 != bitmap64 || v.Cardinality() != 1 {
					t.Errorf("bitmap64=%v: vector of %s is 64-bit %v with %d positions", bitmap64, name, v.Bitmap64, v.Cardinality())
				}
			}
		}
		if vectors != 1 {
			t.Errorf("bitmap64=%v: %d deletion vectors, want 1", bitmap64, vectors)
		}
		if got := scanJSONL(t, tbl, table.ScanOptions{}); !strings.Contains(got, `"v":"b2"`) || strings.Count(got, "\n") != 3 {
			t.Errorf("bitmap64=%v: rows\n%s", bitmap64, got)
		}
	}
}

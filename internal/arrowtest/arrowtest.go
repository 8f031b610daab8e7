// Package arrowtest builds Arrow record batches from JSON rows for tests.
package arrowtest

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// Batch builds a batch of the given fields (plus an optional trailing _ROW_KIND string
// column when withKind) from a JSON array of row objects.
func Batch(t testing.TB, fields []types.DataField, withKind bool, rowsJSON string) arrow.RecordBatch {
	t.Helper()
	af, err := types.ArrowFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	if withKind {
		af = append(af, arrow.Field{Name: "_ROW_KIND", Type: arrow.BinaryTypes.String, Nullable: true})
	}
	schema := arrow.NewSchema(af, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rowsJSON))
	if err != nil {
		t.Fatalf("rows %s: %v", rowsJSON, err)
	}
	return rec
}

package table

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
)

// TestTakeRows checks the writer's routing copy against compute.Take for every column type
// it copies directly and for types it hands to Take (ARRAY, MAP, ROW).
func TestTakeRows(t *testing.T) {
	ctx := context.Background()
	var fields []types.DataField
	for i, s := range []string{"BIGINT", "INT", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "DATE", "TIME(3)",
		"TIMESTAMP(6)", "TIMESTAMP_LTZ(3)", "DECIMAL(10, 2)", "BOOLEAN", "STRING", "BYTES", "ARRAY<INT>", "MAP<STRING, INT>", "ROW<a INT, b STRING>"} {
		dt, err := types.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, types.DataField{ID: i, Name: string(rune('a' + i)), Type: dt})
	}
	b := arrowtest.Batch(t, fields, false, `[
		{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1.5, "f": 1.5, "g": 1, "h": 1, "i": 1, "j": 1, "k": "1.25", "l": true, "m": "one", "n": "AQ==", "o": [1, 2], "p": [{"key": "x", "value": 1}], "q": {"a": 1, "b": "x"}},
		{},
		{"a": 3, "b": 3, "c": 3, "d": 3, "e": 3.5, "f": 3.5, "g": 3, "h": 3, "i": 3, "j": 3, "k": "3.25", "l": false, "m": "three", "n": "Aw==", "o": [], "p": [], "q": {"a": null, "b": "z"}},
		{"a": 4, "m": "", "n": ""},
		{"a": 5, "b": 5, "c": 5, "d": 5, "e": 5.5, "f": 5.5, "g": 5, "h": 5, "i": 5, "j": 5, "k": "5.25", "l": true, "m": "five", "n": "BQ==", "o": [5], "p": [{"key": "y", "value": null}], "q": {"a": 5, "b": null}}
	]`)
	defer b.Release()
	for _, rows := range [][]int32{{4, 3, 2, 1, 0}, {0, 1, 2, 3, 4}, {1, 1, 3}, {2}, {}, {4, 0, 1, 2}} {
		got, err := takeRows(ctx, memory.DefaultAllocator, b.Columns(), int(b.NumRows()), rows)
		if err != nil {
			t.Fatal(err)
		}
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		ib.AppendValues(rows, nil)
		idx := ib.NewArray()
		for i, c := range b.Columns() {
			want, err := compute.TakeArray(ctx, c, idx)
			if err != nil {
				t.Fatal(err)
			}
			if !array.Equal(got[i], want) {
				t.Errorf("rows %v, column %s (%s): got %v, want %v", rows, fields[i].Name, fields[i].Type, got[i], want)
			}
			if got[i].Len() != len(rows) || got[i].DataType().ID() != c.DataType().ID() {
				t.Errorf("rows %v, column %s: length %d type %s", rows, fields[i].Name, got[i].Len(), got[i].DataType())
			}
			want.Release()
			got[i].Release()
		}
		idx.Release()
		ib.Release()
	}
}

package datafile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// TestStatsAcrossBatches checks string and binary min/max over several batches: the
// extremes may come from any batch, nulls are counted and skipped, and the bounds are
// copies that outlive the batches they came from.
func TestStatsAcrossBatches(t *testing.T) {
	batches := []string{
		`[{"s":"m","b":"bQ=="},{"s":null,"b":null},{"s":"q","b":"cQ=="}]`,
		`[{"s":"c","b":"Yw=="},{"s":"z","b":"eg=="}]`,
		`[{"s":null,"b":null}]`,
		`[{"s":"d","b":"ZA=="},{"s":"a","b":"YQ=="}]`,
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	c := NewStatsCollector([]types.DataType{types.StringType(), types.BytesType()})
	for _, js := range batches {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		c.Update(rec.Columns())
		// Overwrite the batch's bytes: the collected bounds must not point into them.
		for _, col := range rec.Columns() {
			if buf := col.Data().Buffers()[2]; buf != nil {
				for i := range buf.Bytes() {
					buf.Bytes()[i] = '~'
				}
			}
		}
		rec.Release()
	}
	got := c.Result()
	if got[0].Min != "a" || got[0].Max != "z" || got[0].NullCount != 2 {
		t.Errorf("string stats %+v, want a..z with 2 nulls", got[0])
	}
	lo, _ := got[1].Min.([]byte)
	hi, _ := got[1].Max.([]byte)
	if !bytes.Equal(lo, []byte("a")) || !bytes.Equal(hi, []byte("z")) || got[1].NullCount != 2 {
		t.Errorf("binary stats %q..%q with %d nulls, want a..z with 2 nulls", lo, hi, got[1].NullCount)
	}
}

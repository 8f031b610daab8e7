package predicate

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// Integer comparisons evaluated a column at a time keep exactly the rows the row-by-row
// evaluation keeps, nulls included.
func TestVectorizedIntegerComparisons(t *testing.T) {
	fs := []types.DataField{
		{ID: 0, Name: "a", Type: types.BigIntType()},
		{ID: 1, Name: "b", Type: types.IntType()},
		{ID: 2, Name: "s", Type: types.StringType()},
	}
	schema, err := types.ArrowSchema(fs)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for i := 0; i < 2000; i++ {
		if rnd.IntN(10) == 0 {
			rb.Field(0).AppendNull()
		} else {
			rb.Field(0).(*array.Int64Builder).Append(rnd.Int64N(10) - 2)
		}
		if rnd.IntN(10) == 0 {
			rb.Field(1).AppendNull()
		} else {
			rb.Field(1).(*array.Int32Builder).Append(rnd.Int32N(10) - 2)
		}
		rb.Field(2).(*array.StringBuilder).Append(string(rune('a' + rnd.IntN(5))))
	}
	b := rb.NewRecordBatch()
	defer b.Release()
	idx := map[string]int{"a": 0, "b": 1, "s": 2}
	for _, tc := range []struct {
		expr string
		vec  bool
	}{
		{"a < 3", true}, {"a <= 3", true}, {"a > -1", true}, {"a >= 7", true}, {"a = 0", true}, {"a != 0", true},
		{"b < 4", true}, {"b = -2", true},
		{"a >= 1 AND b != 2", true}, {"a = 1 OR b > 4", true}, {"a BETWEEN 2 AND 6", true},
		{"NOT (a < 3 OR b >= 5)", true},
		{"a < 3 AND s = 'b'", false}, {"a IS NULL", false}, {"a IN (1, 2)", false},
	} {
		p, err := Bind(tc.expr, fs, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		keep, ok := vecEval(p.root, b, idx)
		if ok != tc.vec {
			t.Errorf("%s: vectorized %v, want %v", tc.expr, ok, tc.vec)
		}
		mb := array.NewBooleanBuilder(memory.DefaultAllocator)
		mb.Reserve(int(b.NumRows()))
		applyRowsInto(p.root, b, idx, mb)
		want := mb.NewBooleanArray()
		mb.Release()
		if ok {
			for i := range keep {
				if keep[i] != want.Value(i) {
					t.Errorf("%s: row %d (a=%v b=%v): vectorized %v, row by row %v", tc.expr, i,
						b.Column(0).ValueStr(i), b.Column(1).ValueStr(i), keep[i], want.Value(i))
					break
				}
			}
		}
		got, err := p.Apply(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := 0; i < want.Len(); i++ {
			if want.Value(i) {
				n++
			}
		}
		if int(got.NumRows()) != n {
			t.Errorf("%s: Apply kept %d rows, want %d", tc.expr, got.NumRows(), n)
		}
		got.Release()
		want.Release()
	}
}

package binaryrow

import (
	"math"
	"math/big"
	"testing"

	"github.com/tarnlake/tarn/format/types"
)

// The examples of Paimon's ModBucketFunction (its Javadoc) and HiveBucketFunctionTest
// (paimon-core/src/test/java/org/apache/paimon/bucket).
func TestBucketFunctions(t *testing.T) {
	intKey := []types.DataField{{ID: 0, Name: "k", Type: types.IntType()}}
	mod, err := BucketFunc("mod", intKey)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[int32]int{17: 2, -3: 2, 5: 0} {
		row, err := Encode(intKey, []any{v})
		if err != nil {
			t.Fatal(err)
		}
		if got := mod(row, 5); got != want {
			t.Errorf("mod bucket of %d in 5: %d, want %d", v, got, want)
		}
	}

	fields := []types.DataField{{ID: 0, Name: "a", Type: types.IntType()}, {ID: 1, Name: "b", Type: types.StringType()},
		{ID: 2, Name: "c", Type: types.BytesType()}, {ID: 3, Name: "d", Type: types.DecimalType(10, 4)}}
	hive, err := BucketFunc("hive", fields)
	if err != nil {
		t.Fatal(err)
	}
	row, err := Encode(fields, []any{int32(7), "hello", []byte{1, 2, 3}, Decimal{Unscaled: big.NewInt(123400), Scale: 4}})
	if err != nil {
		t.Fatal(err)
	}
	// "hello".hashCode() = 99162322, the bytes 1, 2, 3 hash to 1026 and 12.34 (12.3400
	// with its trailing zeros stripped) to 31 × 1234 + 2.
	h := int32(7) // Java int arithmetic, wrapping
	for _, x := range []int32{99162322, 1026, 31*1234 + 2} {
		h = 31*h + x
	}
	if got, want := hive(row, 8), int((h&math.MaxInt32)%8); got != want {
		t.Errorf("hive bucket %d, want %d", got, want)
	}
	nulls, err := Encode(fields[:2], []any{nil, nil})
	if err != nil {
		t.Fatal(err)
	}
	hive2, _ := BucketFunc("hive", fields[:2])
	if got := hive2(nulls, 4); got != 0 {
		t.Errorf("hive bucket of nulls %d, want 0", got)
	}

	for _, c := range []struct {
		kind   string
		fields []types.DataField
	}{
		{"mod", fields[:2]},
		{"mod", fields[1:2]},
		{"hive", []types.DataField{{Name: "ts", Type: types.TimestampType(3)}}},
		{"murmur", intKey},
	} {
		if _, err := BucketFunc(c.kind, c.fields); err == nil {
			t.Errorf("bucket function %s of %v: no error", c.kind, c.fields)
		}
	}
}

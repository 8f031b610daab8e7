package merge

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestGather compares Gather with concatenating one-row slices, for every type it
// builds directly and one it does not, over batches with and without nulls, sliced
// batches (a non-zero offset), and refs in runs and alone.
func TestGather(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for bi := range 4 {
		var rows []string
		for r := range 40 {
			null := bi%2 == 1 && r%3 == 0 // batches 1 and 3 have nulls
			if null {
				rows = append(rows, `{"i64":null,"i32":null,"f64":null,"dec":null,"ts":null,"d":null,"s":null,"bin":null,"b":null,"l":null}`)
				continue
			}
			v := bi*100 + r
			rows = append(rows, fmt.Sprintf(`{"i64":%d,"i32":%d,"f64":%d.5,"dec":"%d.25","ts":%d,"d":%d,"s":"%s","bin":"%s","b":%v,"l":[%d,%d]}`,
				v, v, v, v, v, v, strings.Repeat("x", rng.IntN(5))+fmt.Sprint(v), "AQID", v%2 == 0, v, v+1))
		}
		b, _, err := array.RecordFromJSON(mem, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
		if err != nil {
			t.Fatal(err)
		}
		if bi >= 2 { // sliced: the arrays start at an offset
			s := b.NewSlice(5, 40)
			b.Release()
			b = s
		}
		batches = append(batches, b)
	}
	for trial := range 50 {
		var refs []Ref
		for len(refs) < 200 {
			b := int32(rng.IntN(len(batches)))
			n := int(batches[b].NumRows())
			from := rng.IntN(n)
			run := 1 + rng.IntN(min(n-from, 1+trial%12))
			for k := range run {
				refs = append(refs, Ref{Batch: b, Row: int32(from + k)})
			}
		}
		for col := range schema.NumFields() {
			got, err := Gather(mem, batches, col, refs)
			if err != nil {
				t.Fatal(err)
			}
			var parts []arrow.Array
			for _, r := range refs {
				parts = append(parts, array.NewSlice(batches[r.Batch].Column(col), int64(r.Row), int64(r.Row)+1))
			}
			want, err := array.Concatenate(parts, mem)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				p.Release()
			}
			if !array.Equal(got, want) || got.NullN() != want.NullN() {
				t.Fatalf("trial %d, column %s:\ngot  %v\nwant %v", trial, schema.Field(col).Name, got, want)
			}
			if v, ok := got.(interface{ ValidateFull() error }); ok {
				if err := v.ValidateFull(); err != nil {
					t.Fatalf("trial %d, column %s: %v", trial, schema.Field(col).Name, err)
				}
			}
			got.Release()
			want.Release()
		}
	}
}

package merge

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Ref names one row of one of a set of batches.
type Ref struct {
	Batch int32
	Row   int32
}

// Gather builds one column of len(refs) rows from column col of the referenced batches.
// Consecutive refs to consecutive rows of one batch are copied as slices; common
// fixed-width and string types are copied value by value without slicing.
func Gather(mem memory.Allocator, batches []arrow.RecordBatch, col int, refs []Ref) (arrow.Array, error) {
	if len(refs) == 0 {
		return array.MakeArrayOfNull(mem, batches[0].Column(col).DataType(), 0), nil
	}
	first := batches[refs[0].Batch].Column(col)
	switch first.(type) {
	case *array.Int64:
		return gatherPrimitive[int64](mem, batches, col, refs, array.NewInt64Builder(mem)), nil
	case *array.Int32:
		return gatherPrimitive[int32](mem, batches, col, refs, array.NewInt32Builder(mem)), nil
	case *array.Int16:
		return gatherPrimitive[int16](mem, batches, col, refs, array.NewInt16Builder(mem)), nil
	case *array.Int8:
		return gatherPrimitive[int8](mem, batches, col, refs, array.NewInt8Builder(mem)), nil
	case *array.Float64:
		return gatherPrimitive[float64](mem, batches, col, refs, array.NewFloat64Builder(mem)), nil
	case *array.Float32:
		return gatherPrimitive[float32](mem, batches, col, refs, array.NewFloat32Builder(mem)), nil
	case *array.Date32:
		return gatherFixed[arrow.Date32](mem, batches, col, refs, array.NewDate32Builder(mem), func(a arrow.Array) []arrow.Date32 { return a.(*array.Date32).Date32Values() }), nil
	case *array.Time32:
		return gatherFixed[arrow.Time32](mem, batches, col, refs, array.NewTime32Builder(mem, first.DataType().(*arrow.Time32Type)), func(a arrow.Array) []arrow.Time32 { return a.(*array.Time32).Time32Values() }), nil
	case *array.Timestamp:
		return gatherFixed[arrow.Timestamp](mem, batches, col, refs, array.NewTimestampBuilder(mem, first.DataType().(*arrow.TimestampType)), func(a arrow.Array) []arrow.Timestamp { return a.(*array.Timestamp).TimestampValues() }), nil
	case *array.Decimal128:
		return gatherFixed[decimal128.Num](mem, batches, col, refs, array.NewDecimal128Builder(mem, first.DataType().(*arrow.Decimal128Type)), func(a arrow.Array) []decimal128.Num { return a.(*array.Decimal128).Values() }), nil
	case *array.Boolean:
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		b.Reserve(len(refs))
		for _, r := range refs {
			a := batches[r.Batch].Column(col).(*array.Boolean)
			if a.IsNull(int(r.Row)) {
				b.UnsafeAppendBoolToBitmap(false)
			} else {
				b.UnsafeAppend(a.Value(int(r.Row)))
			}
		}
		return b.NewArray(), nil
	case *array.String:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(len(refs))
		// The values' bytes at once: appending grew (and copied) the data buffer many times.
		var n int
		for _, r := range refs {
			n += batches[r.Batch].Column(col).(*array.String).ValueLen(int(r.Row))
		}
		b.ReserveData(n)
		for _, r := range refs {
			a := batches[r.Batch].Column(col).(*array.String)
			if a.IsNull(int(r.Row)) {
				b.AppendNull()
			} else {
				b.Append(a.Value(int(r.Row)))
			}
		}
		return b.NewArray(), nil
	case *array.Binary:
		b := array.NewBinaryBuilder(mem, first.DataType().(arrow.BinaryDataType))
		defer b.Release()
		b.Reserve(len(refs))
		var n int
		for _, r := range refs {
			n += batches[r.Batch].Column(col).(*array.Binary).ValueLen(int(r.Row))
		}
		b.ReserveData(n)
		for _, r := range refs {
			a := batches[r.Batch].Column(col).(*array.Binary)
			if a.IsNull(int(r.Row)) {
				b.AppendNull()
			} else {
				b.Append(a.Value(int(r.Row)))
			}
		}
		return b.NewArray(), nil
	}
	return gatherSlices(mem, batches, col, refs)
}

type primitive interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

type valuer[T primitive] interface {
	arrow.Array
	Values() []T
}

type primitiveBuilder[T primitive] interface {
	array.Builder
	UnsafeAppend(T)
}

func gatherPrimitive[T primitive, B primitiveBuilder[T]](mem memory.Allocator, batches []arrow.RecordBatch, col int, refs []Ref, b B) arrow.Array {
	defer b.Release()
	b.Reserve(len(refs))
	for _, r := range refs {
		a := batches[r.Batch].Column(col)
		if a.IsNull(int(r.Row)) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		b.UnsafeAppend(a.(valuer[T]).Values()[r.Row])
	}
	return b.NewArray()
}

type fixedBuilder[T any] interface {
	array.Builder
	UnsafeAppend(T)
}

// gatherFixed copies fixed-width values through values(), which must honour the array's
// offset (arrow-go's typed Values accessors do).
func gatherFixed[T any, B fixedBuilder[T]](mem memory.Allocator, batches []arrow.RecordBatch, col int, refs []Ref, b B, values func(arrow.Array) []T) arrow.Array {
	defer b.Release()
	b.Reserve(len(refs))
	var last arrow.Array
	var vals []T
	for _, r := range refs {
		a := batches[r.Batch].Column(col)
		if a != last {
			last, vals = a, values(a)
		}
		if a.IsNull(int(r.Row)) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		b.UnsafeAppend(vals[r.Row])
	}
	return b.NewArray()
}

// gatherSlices copies runs of consecutive rows as slices and concatenates them: right for
// any type, fast when runs are long.
func gatherSlices(mem memory.Allocator, batches []arrow.RecordBatch, col int, refs []Ref) (arrow.Array, error) {
	var parts []arrow.Array
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	start := 0
	for i := 1; i <= len(refs); i++ {
		if i < len(refs) && refs[i].Batch == refs[i-1].Batch && refs[i].Row == refs[i-1].Row+1 {
			continue
		}
		r := refs[start]
		parts = append(parts, array.NewSlice(batches[r.Batch].Column(col), int64(r.Row), int64(r.Row)+int64(i-start)))
		start = i
	}
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	return array.Concatenate(parts, mem)
}

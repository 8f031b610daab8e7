package merge

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Ref names one row of one of a set of batches.
type Ref struct {
	Batch int32
	Row   int32
}

// Gather builds one column of len(refs) rows from column col of the referenced batches.
// Runs of consecutive rows of one batch are copied at once (without nulls, as one copy
// of their values); common fixed-width and string types are built directly, any other
// type by concatenating slices.
func Gather(mem memory.Allocator, batches []arrow.RecordBatch, col int, refs []Ref) (arrow.Array, error) {
	if len(refs) == 0 {
		return array.MakeArrayOfNull(mem, batches[0].Column(col).DataType(), 0), nil
	}
	first := batches[refs[0].Batch].Column(col)
	switch first.(type) {
	case *array.Int64:
		return gatherFixed(batches, col, refs, array.NewInt64Builder(mem), (*array.Int64).Int64Values), nil
	case *array.Int32:
		return gatherFixed(batches, col, refs, array.NewInt32Builder(mem), (*array.Int32).Int32Values), nil
	case *array.Int16:
		return gatherFixed(batches, col, refs, array.NewInt16Builder(mem), (*array.Int16).Int16Values), nil
	case *array.Int8:
		return gatherFixed(batches, col, refs, array.NewInt8Builder(mem), (*array.Int8).Int8Values), nil
	case *array.Float64:
		return gatherFixed(batches, col, refs, array.NewFloat64Builder(mem), (*array.Float64).Float64Values), nil
	case *array.Float32:
		return gatherFixed(batches, col, refs, array.NewFloat32Builder(mem), (*array.Float32).Float32Values), nil
	case *array.Date32:
		return gatherFixed(batches, col, refs, array.NewDate32Builder(mem), (*array.Date32).Date32Values), nil
	case *array.Time32:
		return gatherFixed(batches, col, refs, array.NewTime32Builder(mem, first.DataType().(*arrow.Time32Type)), (*array.Time32).Time32Values), nil
	case *array.Timestamp:
		return gatherFixed(batches, col, refs, array.NewTimestampBuilder(mem, first.DataType().(*arrow.TimestampType)), (*array.Timestamp).TimestampValues), nil
	case *array.Decimal128:
		return gatherFixed(batches, col, refs, array.NewDecimal128Builder(mem, first.DataType().(*arrow.Decimal128Type)), (*array.Decimal128).Values), nil
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
	case *array.String, *array.Binary:
		return gatherVarBinary(mem, first.DataType(), batches, col, refs), nil
	}
	return gatherSlices(mem, batches, col, refs)
}

// GathersDirectly reports whether Gather builds columns of type dt directly, which makes it
// fast for rows in any order (other types are concatenated from slices, fast only for long
// runs of consecutive rows).
func GathersDirectly(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8, arrow.FLOAT64, arrow.FLOAT32, arrow.DATE32,
		arrow.TIME32, arrow.TIMESTAMP, arrow.DECIMAL128, arrow.BOOL, arrow.STRING, arrow.BINARY:
		return true
	}
	return false
}

// runEnd returns the end of the run of consecutive rows of one batch starting at refs[i].
func runEnd(refs []Ref, i int) int {
	j := i + 1
	for j < len(refs) && refs[j].Batch == refs[j-1].Batch && refs[j].Row == refs[j-1].Row+1 {
		j++
	}
	return j
}

type fixedBuilder[T any] interface {
	array.Builder
	UnsafeAppend(T)
	AppendValues([]T, []bool)
}

// fixedSource is one batch's column as gatherFixed reads it.
type fixedSource[T any] struct {
	arr   arrow.Array
	vals  []T
	nulls bool
}

// gatherFixed copies fixed-width values through values, which must honour the array's
// offset (arrow-go's typed Values accessors do).
func gatherFixed[A arrow.Array, T any, B fixedBuilder[T]](batches []arrow.RecordBatch, col int, refs []Ref, b B, values func(A) []T) arrow.Array {
	defer b.Release()
	b.Reserve(len(refs))
	srcs := make([]fixedSource[T], len(batches))
	for i := 0; i < len(refs); {
		j := runEnd(refs, i)
		src := &srcs[refs[i].Batch]
		if src.arr == nil {
			a := batches[refs[i].Batch].Column(col).(A)
			*src = fixedSource[T]{arr: a, vals: values(a), nulls: a.NullN() > 0}
		}
		from, to := int(refs[i].Row), int(refs[i].Row)+j-i
		switch {
		case !src.nulls && to-from == 1:
			b.UnsafeAppend(src.vals[from])
		case !src.nulls:
			b.AppendValues(src.vals[from:to], nil)
		default:
			for k := from; k < to; k++ {
				if src.arr.IsNull(k) {
					b.UnsafeAppendBoolToBitmap(false)
				} else {
					b.UnsafeAppend(src.vals[k])
				}
			}
		}
		i = j
	}
	return b.NewArray()
}

// varBinarySource is one batch's String or Binary column as gatherVarBinary reads it.
type varBinarySource struct {
	arr   arrow.Array
	offs  []int32 // ValueOffsets: absolute offsets into data
	data  []byte
	nulls bool
}

func newVarBinarySource(a arrow.Array) varBinarySource {
	s := varBinarySource{arr: a, nulls: a.NullN() > 0}
	switch a := a.(type) {
	case *array.String:
		s.offs = a.ValueOffsets()
	case *array.Binary:
		s.offs = a.ValueOffsets()
	}
	if buf := a.Data().Buffers()[2]; buf != nil {
		s.data = buf.Bytes()
	}
	return s
}

// gatherVarBinary builds a String or Binary column directly: the bytes of each run in
// one copy and its offsets shifted.
func gatherVarBinary(mem memory.Allocator, dt arrow.DataType, batches []arrow.RecordBatch, col int, refs []Ref) arrow.Array {
	n := len(refs)
	srcs := make([]varBinarySource, len(batches))
	total, nulls := 0, 0
	for _, r := range refs {
		src := &srcs[r.Batch]
		if src.arr == nil {
			*src = newVarBinarySource(batches[r.Batch].Column(col))
		}
		total += int(src.offs[r.Row+1] - src.offs[r.Row])
		if src.nulls && src.arr.IsNull(int(r.Row)) {
			nulls++
		}
	}
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	out := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(total)
	data := dataBuf.Bytes()
	var validBuf *memory.Buffer
	var valid []byte
	if nulls > 0 {
		validBuf = memory.NewResizableBuffer(mem)
		validBuf.Resize(int(bitutil.BytesForBits(int64(n))))
		valid = validBuf.Bytes()
		memory.Set(valid, 0xff)
	}
	out[0] = 0
	pos := int32(0)
	for i := 0; i < n; {
		j := runEnd(refs, i)
		src := &srcs[refs[i].Batch]
		from, to := int(refs[i].Row), int(refs[i].Row)+j-i
		copy(data[pos:], src.data[src.offs[from]:src.offs[to]])
		shift := pos - src.offs[from]
		for k := from; k < to; k++ {
			out[i+1+k-from] = src.offs[k+1] + shift
		}
		if valid != nil && src.nulls {
			for k := from; k < to; k++ {
				if src.arr.IsNull(k) {
					bitutil.ClearBit(valid, i+k-from)
				}
			}
		}
		pos = out[j]
		i = j
	}
	d := array.NewData(dt, n, []*memory.Buffer{validBuf, offBuf, dataBuf}, nil, nulls, 0)
	offBuf.Release()
	dataBuf.Release()
	if validBuf != nil {
		validBuf.Release()
	}
	defer d.Release()
	return array.MakeFromData(d)
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
	for i := 0; i < len(refs); {
		j := runEnd(refs, i)
		r := refs[i]
		parts = append(parts, array.NewSlice(batches[r.Batch].Column(col), int64(r.Row), int64(r.Row)+int64(j-i)))
		i = j
	}
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	return array.Concatenate(parts, mem)
}

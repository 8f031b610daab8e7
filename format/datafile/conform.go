package datafile

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Conform returns arr as type want: the same array when the types are equal; the same
// buffers relabelled when they differ only in names, nullability flags or a timestamp's
// zone; a fixed-size list built from a list (VECTOR); otherwise a cast (widening after a
// schema change; nested ROW fields are matched by field id, see conformNested). The
// result must be released.
func Conform(ctx context.Context, arr arrow.Array, want arrow.DataType) (arrow.Array, error) {
	if arrow.TypeEqual(arr.DataType(), want) {
		arr.Retain()
		return arr, nil
	}
	if sameLayout(arr.DataType(), want) {
		data := relabel(arr.Data(), want)
		defer data.Release()
		return array.MakeFromData(data), nil
	}
	if fsl, ok := want.(*arrow.FixedSizeListType); ok {
		if l, ok := arr.(*array.List); ok {
			return listToFixed(ctx, l, fsl)
		}
	}
	if out, ok, err := conformNested(ctx, arr, want); ok {
		return out, err
	}
	out, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(want))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s as %s: %w", arr.DataType(), want, err)
	}
	return out, nil
}

// sameLayout reports types with identical physical layout: equal but for field names,
// nullability flags and timestamp zones (struct fields with ids must have the same ids).
func sameLayout(a, b arrow.DataType) bool {
	if a.ID() != b.ID() {
		return false
	}
	switch at := a.(type) {
	case *arrow.TimestampType:
		return at.Unit == b.(*arrow.TimestampType).Unit
	case *arrow.ListType:
		return sameLayout(at.Elem(), b.(*arrow.ListType).Elem())
	case *arrow.MapType:
		bt := b.(*arrow.MapType)
		return sameLayout(at.KeyType(), bt.KeyType()) && sameLayout(at.ItemType(), bt.ItemType())
	case *arrow.StructType:
		bt := b.(*arrow.StructType)
		if at.NumFields() != bt.NumFields() {
			return false
		}
		for i := 0; i < at.NumFields(); i++ {
			if !sameLayout(at.Field(i).Type, bt.Field(i).Type) {
				return false
			}
			// Fields with ids are the same only with the same id: after a nested schema
			// change a position may hold another field.
			if x, y := fieldIDOf(at.Field(i)), fieldIDOf(bt.Field(i)); x >= 0 && y >= 0 && x != y {
				return false
			}
		}
		return true
	case *arrow.FixedSizeListType:
		bt := b.(*arrow.FixedSizeListType)
		return at.Len() == bt.Len() && sameLayout(at.Elem(), bt.Elem())
	}
	return arrow.TypeEqual(a, b)
}

func relabel(d arrow.ArrayData, want arrow.DataType) arrow.ArrayData {
	children := d.Children()
	var wantChildren []arrow.DataType
	switch t := want.(type) {
	case *arrow.ListType:
		wantChildren = []arrow.DataType{t.Elem()}
	case *arrow.MapType:
		wantChildren = []arrow.DataType{t.Elem()} // the entries struct
	case *arrow.FixedSizeListType:
		wantChildren = []arrow.DataType{t.Elem()}
	case *arrow.StructType:
		for i := 0; i < t.NumFields(); i++ {
			wantChildren = append(wantChildren, t.Field(i).Type)
		}
	}
	newChildren := make([]arrow.ArrayData, len(children))
	for i, c := range children {
		if i < len(wantChildren) {
			newChildren[i] = relabel(c, wantChildren[i])
		} else {
			c.Retain()
			newChildren[i] = c
		}
	}
	out := array.NewData(want, d.Len(), d.Buffers(), newChildren, d.NullN(), d.Offset())
	for _, c := range newChildren {
		c.Release()
	}
	return out
}

func listToFixed(ctx context.Context, l *array.List, want *arrow.FixedSizeListType) (arrow.Array, error) {
	n := int(want.Len())
	for i := 0; i < l.Len(); i++ {
		if start, end := l.ValueOffsets(i); l.IsValid(i) && int(end-start) != n {
			return nil, fmt.Errorf("vector of length %d where %d is declared", end-start, n)
		}
	}
	b := array.NewFixedSizeListBuilderWithField(memory.DefaultAllocator, int32(n), want.ElemField())
	defer b.Release()
	vb := b.ValueBuilder()
	values := l.ListValues()
	for i := 0; i < l.Len(); i++ {
		if !l.IsValid(i) {
			b.AppendNull()
			continue
		}
		b.Append(true)
		start, end := l.ValueOffsets(i)
		for j := start; j < end; j++ {
			if err := appendValue(vb, values, int(j)); err != nil {
				return nil, err
			}
		}
	}
	return b.NewArray(), nil
}

// appendValue copies one value between arrays of the same type.
func appendValue(b array.Builder, a arrow.Array, i int) error {
	if a.IsNull(i) {
		b.AppendNull()
		return nil
	}
	switch a := a.(type) {
	case *array.Float32:
		b.(*array.Float32Builder).Append(a.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(a.Value(i))
	case *array.Int8:
		b.(*array.Int8Builder).Append(a.Value(i))
	case *array.Int16:
		b.(*array.Int16Builder).Append(a.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(a.Value(i))
	case *array.Int64:
		b.(*array.Int64Builder).Append(a.Value(i))
	case *array.Boolean:
		b.(*array.BooleanBuilder).Append(a.Value(i))
	default:
		return fmt.Errorf("vector element type %s not supported", a.DataType())
	}
	return nil
}

// conformNested conforms structs, lists and maps child by child, so that nested data
// written before a schema change reads in the new type: ROW fields are matched by their
// Paimon field id (by name when either side carries no ids), a field the data lacks reads
// as nulls, a dropped one is left out, and list elements and map values are conformed
// recursively. ok is false for other types.
func conformNested(ctx context.Context, arr arrow.Array, want arrow.DataType) (out arrow.Array, ok bool, err error) {
	switch wt := want.(type) {
	case *arrow.StructType:
		s, isStruct := arr.(*array.Struct)
		if !isStruct {
			return nil, false, nil
		}
		out, err := conformStruct(ctx, s, wt)
		return out, true, err
	case *arrow.ListType:
		l, isList := arr.(*array.List)
		if !isList {
			return nil, false, nil
		}
		vals, err := Conform(ctx, l.ListValues(), wt.Elem())
		if err != nil {
			return nil, true, err
		}
		defer vals.Release()
		return rebuildList(l.Data(), want, vals), true, nil
	case *arrow.MapType:
		m, isMap := arr.(*array.Map)
		if !isMap {
			return nil, false, nil
		}
		// The entries struct: key and value by position; keys never change type.
		entries := m.ListValues().(*array.Struct)
		et := wt.Elem().(*arrow.StructType)
		keys, err := Conform(ctx, entries.Field(0), et.Field(0).Type)
		if err != nil {
			return nil, true, err
		}
		defer keys.Release()
		items, err := Conform(ctx, entries.Field(1), et.Field(1).Type)
		if err != nil {
			return nil, true, err
		}
		defer items.Release()
		ed := array.NewData(et, entries.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{keys.Data(), items.Data()}, 0, 0)
		ea := array.MakeFromData(ed)
		ed.Release()
		defer ea.Release()
		return rebuildList(m.Data(), want, ea), true, nil
	}
	return nil, false, nil
}

// rebuildList is a list (or map) with d's validity and offsets and the given values.
func rebuildList(d arrow.ArrayData, want arrow.DataType, values arrow.Array) arrow.Array {
	nd := array.NewData(want, d.Len(), d.Buffers()[:2], []arrow.ArrayData{values.Data()}, d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

func conformStruct(ctx context.Context, s *array.Struct, want *arrow.StructType) (arrow.Array, error) {
	have := s.DataType().(*arrow.StructType)
	byID := map[int]int{}
	for i, f := range have.Fields() {
		if id := fieldIDOf(f); id >= 0 {
			byID[id] = i
		}
	}
	n := s.Len()
	children := make([]arrow.Array, want.NumFields())
	defer func() {
		for _, c := range children {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, wf := range want.Fields() {
		src := -1
		if id := fieldIDOf(wf); id >= 0 && len(byID) > 0 {
			if j, found := byID[id]; found {
				src = j
			}
		} else if j, found := have.FieldIdx(wf.Name); found {
			src = j
		}
		if src < 0 {
			children[i] = array.MakeArrayOfNull(memory.DefaultAllocator, wf.Type, n)
			continue
		}
		c, err := Conform(ctx, s.Field(src), wf.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", wf.Name, err)
		}
		children[i] = c
	}
	// The children are sliced to the struct's rows: the validity bitmap is re-based to 0.
	var validity *memory.Buffer
	if s.NullN() > 0 {
		validity = memory.NewResizableBuffer(memory.DefaultAllocator)
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(s.NullBitmapBytes(), s.Data().Offset(), n, validity.Bytes(), 0)
		defer validity.Release()
	}
	data := make([]arrow.ArrayData, len(children))
	for i, c := range children {
		data[i] = c.Data()
	}
	d := array.NewData(want, n, []*memory.Buffer{validity}, data, s.NullN(), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

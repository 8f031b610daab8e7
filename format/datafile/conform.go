package datafile

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Conform returns arr as type want: the same array when the types are equal; the same
// buffers relabelled when they differ only in names, nullability flags or a timestamp's
// zone; a fixed-size list built from a list (VECTOR); otherwise a cast (widening after a
// schema change). The result must be released.
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
	out, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(want))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s as %s: %w", arr.DataType(), want, err)
	}
	return out, nil
}

// sameLayout reports types with identical physical layout: equal but for field names,
// nullability flags and timestamp zones.
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

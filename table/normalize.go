package table

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// RowKindColumn is the optional input column carrying each row's kind: a string ("+I",
// "-U", "+U", "-D") or an int8 (0..3).
const RowKindColumn = "_ROW_KIND"

// normalize matches an input batch to the table's fields by name: every field must be
// present (a nullable field may be missing and reads as null), columns of another type are
// cast when the cast is lossless, NOT NULL columns must hold no nulls, and an optional
// _ROW_KIND column gives row kinds (nil kinds means all +I).
func normalize(ctx context.Context, b arrow.RecordBatch, fields []types.DataField, mem memory.Allocator) ([]arrow.Array, []int8, error) {
	idx := map[string]int{}
	for i, f := range b.Schema().Fields() {
		if _, dup := idx[f.Name]; dup {
			return nil, nil, fmt.Errorf("input has column %q twice", f.Name)
		}
		idx[f.Name] = i
	}
	var kinds []int8
	if i, ok := idx[RowKindColumn]; ok {
		var err error
		if kinds, err = rowKinds(b.Column(i)); err != nil {
			return nil, nil, err
		}
		delete(idx, RowKindColumn)
	}
	cols := make([]arrow.Array, len(fields))
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	n := int(b.NumRows())
	for i, f := range fields {
		want, err := types.ToArrow(f.Type)
		if err != nil {
			release()
			return nil, nil, err
		}
		j, ok := idx[f.Name]
		if !ok {
			if !f.Type.Nullable {
				release()
				return nil, nil, fmt.Errorf("input lacks column %q, which is NOT NULL", f.Name)
			}
			cols[i] = array.MakeArrayOfNull(mem, want, n)
			continue
		}
		delete(idx, f.Name)
		c, err := datafile.Conform(ctx, b.Column(j), want)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = c
		if !f.Type.Nullable && c.NullN() > 0 {
			release()
			return nil, nil, fmt.Errorf("column %q is NOT NULL but the input has %d nulls", f.Name, c.NullN())
		}
	}
	if len(idx) > 0 {
		release()
		extra := make([]string, 0, len(idx))
		for name := range idx {
			extra = append(extra, name)
		}
		return nil, nil, fmt.Errorf("input has columns the table lacks: %s", strings.Join(extra, ", "))
	}
	return cols, kinds, nil
}

func rowKinds(a arrow.Array) ([]int8, error) {
	out := make([]int8, a.Len())
	switch a := a.(type) {
	case *array.String:
		for i := range out {
			if a.IsNull(i) {
				out[i] = datafile.KindInsert
				continue
			}
			k, ok := datafile.ParseKind(a.Value(i))
			if !ok {
				return nil, fmt.Errorf("%s of row %d is %q; use +I, -U, +U or -D", RowKindColumn, i, a.Value(i))
			}
			out[i] = k
		}
	case *array.Int8:
		for i := range out {
			v := a.Value(i)
			if a.IsNull(i) {
				v = 0
			}
			if v < 0 || v > 3 {
				return nil, fmt.Errorf("%s of row %d is %d; use 0..3 (+I, -U, +U, -D)", RowKindColumn, i, v)
			}
			out[i] = v
		}
	default:
		return nil, fmt.Errorf("%s must be a string or int8 column, not %s", RowKindColumn, a.DataType())
	}
	return out, nil
}

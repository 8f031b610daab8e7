package table

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// fieldSetter writes row i of an Arrow column into field pos of a BinaryRow writer.
type fieldSetter func(w *binaryrow.Writer, pos, i int)

// newFieldSetter builds a setter for a column of Paimon type t, dispatching on the array
// type once rather than per row.
func newFieldSetter(arr arrow.Array, t types.DataType) (fieldSetter, error) {
	nullSet := func(w *binaryrow.Writer, pos int) {
		switch {
		case t.Root == types.Decimal && t.Precision > 18:
			w.WriteDecimalBytes(pos, nil)
		case (t.Root == types.Timestamp || t.Root == types.LocalZonedTimestamp) && t.Precision > 3:
			w.WriteTimestamp(pos, t.Precision, binaryrow.Timestamp{}, true)
		default:
			w.SetNull(pos)
		}
	}
	wrap := func(f fieldSetter) fieldSetter {
		if arr.NullN() == 0 {
			return f
		}
		return func(w *binaryrow.Writer, pos, i int) {
			if arr.IsNull(i) {
				nullSet(w, pos)
				return
			}
			f(w, pos, i)
		}
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteBoolean(pos, a.Value(i)) }), nil
	case *array.Int8:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteTinyInt(pos, a.Value(i)) }), nil
	case *array.Int16:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteSmallInt(pos, a.Value(i)) }), nil
	case *array.Int32:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, a.Value(i)) }), nil
	case *array.Date32:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, int32(a.Value(i))) }), nil
	case *array.Time32:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, int32(a.Value(i))) }), nil
	case *array.Int64:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteLong(pos, a.Value(i)) }), nil
	case *array.Float32:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteFloat(pos, a.Value(i)) }), nil
	case *array.Float64:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteDouble(pos, a.Value(i)) }), nil
	case *array.String:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteBytes(pos, unsafeBytes(a.Value(i))) }), nil
	case *array.Binary:
		return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteBytes(pos, a.Value(i)) }), nil
	case *array.Decimal128:
		if t.Precision <= 18 {
			return wrap(func(w *binaryrow.Writer, pos, i int) { w.WriteLong(pos, int64(a.Value(i).LowBits())) }), nil
		}
		return wrap(func(w *binaryrow.Writer, pos, i int) {
			_ = w.Set(pos, t, binaryrow.Decimal{Unscaled: a.Value(i).BigInt(), Scale: t.Scale})
		}), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return wrap(func(w *binaryrow.Writer, pos, i int) {
			w.WriteTimestamp(pos, t.Precision, datafile.TimestampOf(int64(a.Value(i)), unit), false)
		}), nil
	}
	return nil, fmt.Errorf("column of type %s cannot be a key or partition column", arr.DataType())
}

// rowEncoder encodes chosen columns of a batch as BinaryRows (partition, bucket key).
type rowEncoder struct {
	w       *binaryrow.Writer
	setters []fieldSetter
}

func newRowEncoder(cols []arrow.Array, fields []types.DataField) (*rowEncoder, error) {
	e := &rowEncoder{w: binaryrow.NewWriter(len(fields))}
	for i, f := range fields {
		s, err := newFieldSetter(cols[i], f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		e.setters = append(e.setters, s)
	}
	return e, nil
}

// encode returns row i's BinaryRow; valid until the next call.
func (e *rowEncoder) encode(i int) binaryrow.Row {
	e.w.Reset()
	for pos, s := range e.setters {
		s(e.w, pos, i)
	}
	return e.w.Row()
}

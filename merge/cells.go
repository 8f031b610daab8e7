package merge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A cell is one value of one Arrow array; a nil array is SQL NULL.
type cell struct {
	arr arrow.Array
	i   int
}

func (c cell) isNull() bool { return c.arr == nil || c.arr.IsNull(c.i) }

// appendCell appends row i of arr to b; arr's type is b's type.
func appendCell(b array.Builder, arr arrow.Array, i int) {
	if arr == nil || arr.IsNull(i) {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.Int64Builder:
		bb.Append(arr.(*array.Int64).Value(i))
	case *array.Int32Builder:
		bb.Append(arr.(*array.Int32).Value(i))
	case *array.Int16Builder:
		bb.Append(arr.(*array.Int16).Value(i))
	case *array.Int8Builder:
		bb.Append(arr.(*array.Int8).Value(i))
	case *array.Float64Builder:
		bb.Append(arr.(*array.Float64).Value(i))
	case *array.Float32Builder:
		bb.Append(arr.(*array.Float32).Value(i))
	case *array.BooleanBuilder:
		bb.Append(arr.(*array.Boolean).Value(i))
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(stringBytes(arr.(*array.String), i))
	case *array.BinaryBuilder:
		bb.Append(arr.(*array.Binary).Value(i))
	case *array.Decimal128Builder:
		bb.Append(arr.(*array.Decimal128).Value(i))
	case *array.Date32Builder:
		bb.Append(arr.(*array.Date32).Value(i))
	case *array.Time32Builder:
		bb.Append(arr.(*array.Time32).Value(i))
	case *array.TimestampBuilder:
		bb.Append(arr.(*array.Timestamp).Value(i))
	case *array.MapBuilder:
		m := arr.(*array.Map)
		start, end := m.ValueOffsets(i)
		bb.Append(true)
		kb, ib := bb.KeyBuilder(), bb.ItemBuilder()
		keys, items := m.Keys(), m.Items()
		for j := int(start); j < int(end); j++ {
			appendCell(kb, keys, j)
			appendCell(ib, items, j)
		}
	case *array.ListBuilder:
		l := arr.(*array.List)
		start, end := l.ValueOffsets(i)
		bb.Append(true)
		vb, vals := bb.ValueBuilder(), l.ListValues()
		for j := int(start); j < int(end); j++ {
			appendCell(vb, vals, j)
		}
	case *array.FixedSizeListBuilder:
		l := arr.(*array.FixedSizeList)
		start, end := l.ValueOffsets(i)
		bb.Append(true)
		vb, vals := bb.ValueBuilder(), l.ListValues()
		for j := int(start); j < int(end); j++ {
			appendCell(vb, vals, j)
		}
	case *array.StructBuilder:
		s := arr.(*array.Struct)
		bb.Append(true)
		for k := 0; k < s.NumField(); k++ {
			appendCell(bb.FieldBuilder(k), s.Field(k), i)
		}
	default:
		// checkType refuses other types when an engine is bound.
		panic(fmt.Sprintf("merge: cannot copy a value of type %s", arr.DataType()))
	}
}

// checkType reports whether appendCell and appendEqKey handle a type.
func checkType(t arrow.DataType) error {
	switch t := t.(type) {
	case *arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Float32Type, *arrow.Float64Type, *arrow.Decimal128Type, *arrow.StringType,
		*arrow.BinaryType, *arrow.Date32Type, *arrow.Time32Type, *arrow.TimestampType:
		return nil
	case *arrow.MapType:
		if err := checkType(t.KeyType()); err != nil {
			return err
		}
		return checkType(t.ItemType())
	case *arrow.ListType:
		return checkType(t.Elem())
	case *arrow.FixedSizeListType:
		return checkType(t.Elem())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkType(f.Type); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("merging values of Arrow type %s is not supported", t)
}

// stringBytes returns the bytes of row i of a string array without copying.
func stringBytes(a *array.String, i int) []byte {
	s := a.Value(i)
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// A cellCmp compares two non-null cells of one type.
type cellCmp func(a arrow.Array, i int, b arrow.Array, j int) int

// comparatorFor returns the comparator of a comparable Arrow type, ordering values as
// Paimon's InternalRowUtils.compare and generated record comparators: numbers
// numerically, floats as Float.compare/Double.compare (-0.0 < 0.0, NaN last), strings and
// binaries byte-wise unsigned, booleans false < true, temporal types chronologically.
func comparatorFor(t arrow.DataType) (cellCmp, error) {
	switch t.ID() {
	case arrow.BOOL:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			x, y := a.(*array.Boolean).Value(i), b.(*array.Boolean).Value(j)
			switch {
			case x == y:
				return 0
			case x:
				return 1
			}
			return -1
		}, nil
	case arrow.INT8:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Int8).Value(i), b.(*array.Int8).Value(j))
		}, nil
	case arrow.INT16:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Int16).Value(i), b.(*array.Int16).Value(j))
		}, nil
	case arrow.INT32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Int32).Value(i), b.(*array.Int32).Value(j))
		}, nil
	case arrow.INT64:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Int64).Value(i), b.(*array.Int64).Value(j))
		}, nil
	case arrow.DATE32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Date32).Value(i), b.(*array.Date32).Value(j))
		}, nil
	case arrow.TIME32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Time32).Value(i), b.(*array.Time32).Value(j))
		}, nil
	case arrow.TIMESTAMP:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmpOrdered(a.(*array.Timestamp).Value(i), b.(*array.Timestamp).Value(j))
		}, nil
	case arrow.FLOAT32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return javaFloatCompare(float64(a.(*array.Float32).Value(i)), float64(b.(*array.Float32).Value(j)))
		}, nil
	case arrow.FLOAT64:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return javaFloatCompare(a.(*array.Float64).Value(i), b.(*array.Float64).Value(j))
		}, nil
	case arrow.DECIMAL128:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return a.(*array.Decimal128).Value(i).Cmp(b.(*array.Decimal128).Value(j))
		}, nil
	case arrow.STRING:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return bytes.Compare(stringBytes(a.(*array.String), i), stringBytes(b.(*array.String), j))
		}, nil
	case arrow.BINARY:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return bytes.Compare(a.(*array.Binary).Value(i), b.(*array.Binary).Value(j))
		}, nil
	}
	return nil, fmt.Errorf("values of type %s are not comparable", t)
}

func cmpOrdered[T int8 | int16 | int32 | int64 | arrow.Date32 | arrow.Time32 | arrow.Timestamp](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// javaFloatCompare orders as Java's Double.compare: -0.0 < 0.0, NaN equal to itself and
// greater than everything else.
func javaFloatCompare(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	// Equal numbers; tell -0.0 from 0.0.
	xs, ys := math.Signbit(x), math.Signbit(y)
	switch {
	case xs == ys:
		return 0
	case xs:
		return -1
	}
	return 1
}

// compareNullsFirst compares two cells with nulls first; desc reverses the order of
// non-null values only, as Paimon's generated comparators do.
func compareNullsFirst(cmp cellCmp, a cell, b cell, desc bool) int {
	an, bn := a.isNull(), b.isNull()
	switch {
	case an && bn:
		return 0
	case an:
		return -1
	case bn:
		return 1
	}
	c := cmp(a.arr, a.i, b.arr, b.i)
	if desc {
		return -c
	}
	return c
}

// appendEqKey appends an encoding of a cell such that two cells of one type have equal
// encodings exactly when their values are equal (Java equals of Paimon's internal data:
// floats by their bits with NaN canonical, strings and binaries by bytes, nested values
// element by element).
func appendEqKey(b []byte, arr arrow.Array, i int) []byte {
	if arr == nil || arr.IsNull(i) {
		return append(b, 0)
	}
	b = append(b, 1)
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(b, 1)
		}
		return append(b, 0)
	case *array.Int8:
		return append(b, byte(a.Value(i)))
	case *array.Int16:
		return binary.BigEndian.AppendUint16(b, uint16(a.Value(i)))
	case *array.Int32:
		return binary.BigEndian.AppendUint32(b, uint32(a.Value(i)))
	case *array.Int64:
		return binary.BigEndian.AppendUint64(b, uint64(a.Value(i)))
	case *array.Date32:
		return binary.BigEndian.AppendUint32(b, uint32(a.Value(i)))
	case *array.Time32:
		return binary.BigEndian.AppendUint32(b, uint32(a.Value(i)))
	case *array.Timestamp:
		return binary.BigEndian.AppendUint64(b, uint64(a.Value(i)))
	case *array.Float32:
		v := a.Value(i)
		if v != v {
			v = float32(math.NaN())
		}
		return binary.BigEndian.AppendUint32(b, math.Float32bits(v))
	case *array.Float64:
		v := a.Value(i)
		if v != v {
			v = math.NaN()
		}
		return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
	case *array.Decimal128:
		v := a.Value(i)
		b = binary.BigEndian.AppendUint64(b, uint64(v.HighBits()))
		return binary.BigEndian.AppendUint64(b, v.LowBits())
	case *array.String:
		v := stringBytes(a, i)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	case *array.Binary:
		v := a.Value(i)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	case *array.Map:
		start, end := a.ValueOffsets(i)
		b = binary.AppendUvarint(b, uint64(end-start))
		for j := int(start); j < int(end); j++ {
			b = appendEqKey(b, a.Keys(), j)
			b = appendEqKey(b, a.Items(), j)
		}
		return b
	case *array.List:
		start, end := a.ValueOffsets(i)
		b = binary.AppendUvarint(b, uint64(end-start))
		for j := int(start); j < int(end); j++ {
			b = appendEqKey(b, a.ListValues(), j)
		}
		return b
	case *array.FixedSizeList:
		start, end := a.ValueOffsets(i)
		b = binary.AppendUvarint(b, uint64(end-start))
		for j := int(start); j < int(end); j++ {
			b = appendEqKey(b, a.ListValues(), j)
		}
		return b
	case *array.Struct:
		for k := 0; k < a.NumField(); k++ {
			b = appendEqKey(b, a.Field(k), i)
		}
		return b
	}
	s := arr.ValueStr(i)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// javaIsWhitespace reports Java's Character.isWhitespace.
func javaIsWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	case 0x00a0, 0x2007, 0x202f:
		return false
	}
	switch {
	case r == ' ', r == 0x1680, r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// javaIsBlank reports Paimon's StringUtils.isBlank of a UTF-8 string.
func javaIsBlank(s []byte) bool {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if !javaIsWhitespace(r) {
			return false
		}
		s = s[n:]
	}
	return true
}

// javaStringCompare orders strings as Java's String.compareTo: by UTF-16 code units.
func javaStringCompare(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			for k := 0; k < 2; k++ {
				if ua[k] != ub[k] {
					return int(ua[k]) - int(ub[k])
				}
			}
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b) // only the sign matters
}

func utf16Units(r rune) [2]uint16 {
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		return [2]uint16{uint16(hi), uint16(lo)}
	}
	return [2]uint16{uint16(r), 0}
}

package merge

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// A slot holds one field of a row an engine computes: NULL, a reference to an input
// value (copied out only when the row is emitted), or a computed value. Slots are reused
// from key to key, so computed byte values keep their buffers.
type slot struct {
	st  slotState
	ref cell           // stRef
	i   int64          // stInt: integers, booleans (0/1)
	f   float64        // stFloat
	d   decimal128.Num // stDecimal
	b   []byte         // stBytes: strings, binaries
	v   any            // stComposite: *listVal, *mapVal
}

type slotState uint8

const (
	stNull slotState = iota
	stRef
	stInt
	stFloat
	stDecimal
	stBytes
	stComposite
)

func (s *slot) isNull() bool { return s.st == stNull }

func (s *slot) setNull() { s.st = stNull; s.ref = cell{} }

// setCell makes s the input value c (NULL if c is null).
func (s *slot) setCell(c cell) {
	if c.isNull() {
		s.setNull()
		return
	}
	s.st, s.ref = stRef, c
}

// assign copies o into s, keeping s's byte buffer.
func (s *slot) assign(o *slot) {
	buf := s.b
	*s = *o
	if o.st == stBytes {
		s.b = append(buf[:0], o.b...)
	} else {
		s.b = buf
	}
}

func (s *slot) setInt(v int64)     { s.st, s.i, s.ref = stInt, v, cell{} }
func (s *slot) setFloat(v float64) { s.st, s.f, s.ref = stFloat, v, cell{} }
func (s *slot) setDecimal(v decimal128.Num) {
	s.st, s.d, s.ref = stDecimal, v, cell{}
}
func (s *slot) setComposite(v any) { s.st, s.v, s.ref = stComposite, v, cell{} }

// int64Of reads an integer (TINYINT..BIGINT) or boolean slot.
func (s *slot) int64Of() int64 {
	if s.st != stRef {
		return s.i
	}
	switch a := s.ref.arr.(type) {
	case *array.Int64:
		return a.Value(s.ref.i)
	case *array.Int32:
		return int64(a.Value(s.ref.i))
	case *array.Int16:
		return int64(a.Value(s.ref.i))
	case *array.Int8:
		return int64(a.Value(s.ref.i))
	case *array.Boolean:
		if a.Value(s.ref.i) {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("merge: integer of %s", s.ref.arr.DataType()))
}

func (s *slot) float64Of() float64 {
	if s.st != stRef {
		return s.f
	}
	switch a := s.ref.arr.(type) {
	case *array.Float64:
		return a.Value(s.ref.i)
	case *array.Float32:
		return float64(a.Value(s.ref.i))
	}
	panic(fmt.Sprintf("merge: float of %s", s.ref.arr.DataType()))
}

func (s *slot) decimalOf() decimal128.Num {
	if s.st != stRef {
		return s.d
	}
	return s.ref.arr.(*array.Decimal128).Value(s.ref.i)
}

// bytesOf reads a string or binary slot without copying.
func (s *slot) bytesOf() []byte {
	if s.st != stRef {
		return s.b
	}
	switch a := s.ref.arr.(type) {
	case *array.String:
		return stringBytes(a, s.ref.i)
	case *array.Binary:
		return a.Value(s.ref.i)
	}
	panic(fmt.Sprintf("merge: bytes of %s", s.ref.arr.DataType()))
}

// emitSlot appends a slot's value to b.
func emitSlot(b array.Builder, s *slot) {
	switch s.st {
	case stNull:
		b.AppendNull()
	case stRef:
		appendCell(b, s.ref.arr, s.ref.i)
	case stInt:
		switch bb := b.(type) {
		case *array.Int64Builder:
			bb.Append(s.i)
		case *array.Int32Builder:
			bb.Append(int32(s.i))
		case *array.Int16Builder:
			bb.Append(int16(s.i))
		case *array.Int8Builder:
			bb.Append(int8(s.i))
		case *array.BooleanBuilder:
			bb.Append(s.i != 0)
		default:
			panic(fmt.Sprintf("merge: integer into %s", b.Type()))
		}
	case stFloat:
		switch bb := b.(type) {
		case *array.Float64Builder:
			bb.Append(s.f)
		case *array.Float32Builder:
			bb.Append(float32(s.f))
		default:
			panic(fmt.Sprintf("merge: float into %s", b.Type()))
		}
	case stDecimal:
		b.(*array.Decimal128Builder).Append(s.d)
	case stBytes:
		switch bb := b.(type) {
		case *array.StringBuilder:
			bb.BinaryBuilder.Append(s.b)
		case *array.BinaryBuilder:
			bb.Append(s.b)
		default:
			panic(fmt.Sprintf("merge: bytes into %s", b.Type()))
		}
	case stComposite:
		switch v := s.v.(type) {
		case *listVal:
			v.emit(b)
		case *mapVal:
			v.emit(b)
		default:
			panic(fmt.Sprintf("merge: composite %T", s.v))
		}
	}
}

// An elem is an element of a computed array: an input value, or (row != nil) a row
// computed field by field.
type elem struct {
	c   cell
	row []cell
}

func (e elem) isNull() bool { return e.row == nil && e.c.isNull() }

// field returns field k of a ROW element.
func (e elem) field(k int) cell {
	if e.row != nil {
		return e.row[k]
	}
	if e.c.isNull() {
		return cell{}
	}
	return cell{e.c.arr.(*array.Struct).Field(k), e.c.i}
}

// listVal is a computed ARRAY value.
type listVal struct{ elems []elem }

func (l *listVal) emit(b array.Builder) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	vb := lb.ValueBuilder()
	for _, e := range l.elems {
		if e.row == nil {
			appendCell(vb, e.c.arr, e.c.i)
			continue
		}
		sb := vb.(*array.StructBuilder)
		sb.Append(true)
		for k, f := range e.row {
			appendCell(sb.FieldBuilder(k), f.arr, f.i)
		}
	}
}

// mapVal is a computed MAP value.
type mapVal struct{ keys, vals []cell }

func (m *mapVal) emit(b array.Builder) {
	mb := b.(*array.MapBuilder)
	mb.Append(true)
	kb, ib := mb.KeyBuilder(), mb.ItemBuilder()
	for i := range m.keys {
		appendCell(kb, m.keys[i].arr, m.keys[i].i)
		appendCell(ib, m.vals[i].arr, m.vals[i].i)
	}
}

// listElems appends the elements of an ARRAY slot (input or computed) to dst.
func listElems(dst []elem, s *slot) []elem {
	switch s.st {
	case stRef:
		l := s.ref.arr.(*array.List)
		start, end := l.ValueOffsets(s.ref.i)
		vals := l.ListValues()
		for j := int(start); j < int(end); j++ {
			dst = append(dst, elem{c: cell{vals, j}})
		}
	case stComposite:
		dst = append(dst, s.v.(*listVal).elems...)
	}
	return dst
}

// listLen is the number of elements of a non-null ARRAY slot.
func listLen(s *slot) int {
	if s.st == stComposite {
		return len(s.v.(*listVal).elems)
	}
	start, end := s.ref.arr.(*array.List).ValueOffsets(s.ref.i)
	return int(end - start)
}

// mapEntries appends the entries of a MAP slot to keys and vals.
func mapEntries(keys, vals []cell, s *slot) ([]cell, []cell) {
	switch s.st {
	case stRef:
		m := s.ref.arr.(*array.Map)
		start, end := m.ValueOffsets(s.ref.i)
		for j := int(start); j < int(end); j++ {
			keys = append(keys, cell{m.Keys(), j})
			vals = append(vals, cell{m.Items(), j})
		}
	case stComposite:
		v := s.v.(*mapVal)
		keys = append(keys, v.keys...)
		vals = append(vals, v.vals...)
	}
	return keys, vals
}

func mapLen(s *slot) int {
	if s.st == stComposite {
		return len(s.v.(*mapVal).keys)
	}
	start, end := s.ref.arr.(*array.Map).ValueOffsets(s.ref.i)
	return int(end - start)
}

// cellKey appends the equality encoding of a cell.
func cellKey(b []byte, c cell) []byte { return appendEqKey(b, c.arr, c.i) }

// elemKey appends the equality encoding of an element (computed rows field by field, as
// an input ROW would encode).
func elemKey(b []byte, e elem) []byte {
	if e.row == nil {
		return cellKey(b, e.c)
	}
	b = append(b, 1)
	for _, f := range e.row {
		b = cellKey(b, f)
	}
	return b
}

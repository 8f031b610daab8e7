package binaryrow

import (
	"encoding/binary"
	"math"
)

// Writer builds BinaryRow bytes field by field, like Paimon's BinaryRowWriter. Reset
// before each row; the Writer's buffer is reused, so copy Row.Bytes to keep a row.
type Writer struct {
	arity  int
	fixed  int
	buf    []byte
	cursor int
}

// NewWriter returns a writer of rows of the given arity.
func NewWriter(arity int) *Writer {
	w := &Writer{arity: arity, fixed: FixedSize(arity)}
	w.buf = make([]byte, w.fixed, w.fixed+64)
	return w
}

// Reset starts a new row: all fields zero and not null, row kind 0 (+I).
func (w *Writer) Reset() {
	w.buf = w.buf[:w.fixed]
	clear(w.buf)
	w.cursor = w.fixed
}

// SetRowKind sets the header byte.
func (w *Writer) SetRowKind(kind byte) { w.buf[0] = kind }

func (w *Writer) off(pos int) int { return NullBitsSize(w.arity) + 8*pos }

func (w *Writer) setNullBit(pos int) {
	bit := pos + HeaderBits
	w.buf[bit>>3] |= 1 << (bit & 7)
}

// SetNull marks a field null and zeroes its slot. For DECIMAL of precision > 18 and
// TIMESTAMP of precision > 3 use WriteDecimalBytes(pos, nil) / WriteTimestamp with null,
// as Paimon reserves their variable part even for nulls.
func (w *Writer) SetNull(pos int) {
	w.setNullBit(pos)
	binary.LittleEndian.PutUint64(w.buf[w.off(pos):], 0)
}

// WriteBoolean writes a BOOLEAN.
func (w *Writer) WriteBoolean(pos int, v bool) {
	if v {
		w.buf[w.off(pos)] = 1
	} else {
		w.buf[w.off(pos)] = 0
	}
}

// WriteTinyInt writes a TINYINT.
func (w *Writer) WriteTinyInt(pos int, v int8) { w.buf[w.off(pos)] = byte(v) }

// WriteSmallInt writes a SMALLINT.
func (w *Writer) WriteSmallInt(pos int, v int16) {
	binary.LittleEndian.PutUint16(w.buf[w.off(pos):], uint16(v))
}

// WriteInt writes an INT, DATE or TIME.
func (w *Writer) WriteInt(pos int, v int32) {
	binary.LittleEndian.PutUint32(w.buf[w.off(pos):], uint32(v))
}

// WriteLong writes a BIGINT, a compact DECIMAL's unscaled value or a compact TIMESTAMP's
// milliseconds.
func (w *Writer) WriteLong(pos int, v int64) {
	binary.LittleEndian.PutUint64(w.buf[w.off(pos):], uint64(v))
}

// WriteFloat writes a FLOAT.
func (w *Writer) WriteFloat(pos int, v float32) {
	binary.LittleEndian.PutUint32(w.buf[w.off(pos):], math.Float32bits(v))
}

// WriteDouble writes a DOUBLE.
func (w *Writer) WriteDouble(pos int, v float64) {
	binary.LittleEndian.PutUint64(w.buf[w.off(pos):], math.Float64bits(v))
}

func (w *Writer) setOffsetAndSize(pos, offset int, size uint32) {
	binary.LittleEndian.PutUint64(w.buf[w.off(pos):], uint64(offset)<<32|uint64(size))
}

// grow appends n zero bytes to the variable part (n a multiple of 8).
func (w *Writer) grow(n int) {
	w.buf = append(w.buf, make([]byte, n)...)
}

// WriteBytes writes a CHAR/VARCHAR (UTF-8 bytes) or BINARY/VARBINARY value.
func (w *Writer) WriteBytes(pos int, b []byte) {
	if len(b) <= maxFixPartDataSize {
		o := w.off(pos)
		var word uint64
		for i, c := range b {
			word |= uint64(c) << (8 * i)
		}
		word |= uint64(0x80|len(b)) << 56
		binary.LittleEndian.PutUint64(w.buf[o:], word)
		return
	}
	rounded := (len(b) + 7) &^ 7
	start := w.cursor
	w.grow(rounded)
	copy(w.buf[start:], b)
	w.setOffsetAndSize(pos, start, uint32(len(b)))
	w.cursor += rounded
}

// WriteDecimalBytes writes a DECIMAL of precision > 18 from its unscaled big-endian two's
// complement bytes (at most 16); nil writes a null that still reserves 16 bytes, as Paimon
// does.
func (w *Writer) WriteDecimalBytes(pos int, unscaled []byte) {
	start := w.cursor
	w.grow(16)
	if unscaled == nil {
		w.setNullBit(pos)
		w.setOffsetAndSize(pos, start, 0)
	} else {
		copy(w.buf[start:], unscaled)
		w.setOffsetAndSize(pos, start, uint32(len(unscaled)))
	}
	w.cursor += 16
}

// WriteTimestamp writes a TIMESTAMP/TIMESTAMP_LTZ; for precision <= 3 only Millis is kept.
// null is only meaningful for precision > 3 (use SetNull otherwise).
func (w *Writer) WriteTimestamp(pos, precision int, ts Timestamp, null bool) {
	if precision <= 3 {
		if null {
			w.SetNull(pos)
			return
		}
		w.WriteLong(pos, ts.Millis)
		return
	}
	start := w.cursor
	w.grow(8)
	if null {
		w.setNullBit(pos)
		w.setOffsetAndSize(pos, start, 0)
	} else {
		binary.LittleEndian.PutUint64(w.buf[start:], uint64(ts.Millis))
		w.setOffsetAndSize(pos, start, uint32(ts.NanoOfMilli))
	}
	w.cursor += 8
}

// WriteRow writes a nested row's bytes.
func (w *Writer) WriteRow(pos int, r Row) {
	rounded := (len(r.data) + 7) &^ 7
	start := w.cursor
	w.grow(rounded)
	copy(w.buf[start:], r.data)
	w.setOffsetAndSize(pos, start, uint32(len(r.data)))
	w.cursor += rounded
}

// Row returns the row written so far. It aliases the writer's buffer.
func (w *Writer) Row() Row { return Row{data: w.buf, arity: w.arity} }

// Copy returns a copy of the row written so far.
func (w *Writer) Copy() Row {
	return Row{data: append([]byte(nil), w.buf...), arity: w.arity}
}

// Package binaryrow encodes and decodes Apache Paimon's BinaryRow, the row format of
// partitions, min/max keys and statistics in manifests, and computes Paimon's bucket hash.
//
// Layout (paimon-common/.../data/BinaryRow.java, BinaryRowWriter.java,
// AbstractBinaryWriter.java): an 8-byte aligned header of the row-kind byte followed by one
// null bit per field (bit i+8), then one 8-byte little-endian slot per field, then a
// variable-length part whose pieces are 8-byte aligned and zero padded. Values that do not
// fit a slot store (offset << 32 | size) in it; strings and binaries of at most 7 bytes live
// in the slot itself with 0x80|len in its highest byte. In manifests a row is prefixed with
// its arity as a big-endian int32 (SerializationUtils.serializeBinaryRow).
package binaryrow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tarnlake/tarn/format/types"
)

// HeaderBits is the number of header bits before the null bits (the row-kind byte).
const HeaderBits = 8

// maxFixPartDataSize is the longest string/binary stored inside its slot.
const maxFixPartDataSize = 7

// NullBitsSize is the size in bytes of the header plus null bits of a row of arity fields.
func NullBitsSize(arity int) int { return ((arity + 63 + HeaderBits) / 64) * 8 }

// FixedSize is the size of the header plus the fixed slots.
func FixedSize(arity int) int { return NullBitsSize(arity) + 8*arity }

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt BinaryRow")

// Row is a read-only view of a BinaryRow's bytes (without the arity prefix).
type Row struct {
	data  []byte
	arity int
}

// Empty is the row of arity 0 (the partition of an unpartitioned table).
var Empty = Row{data: make([]byte, 8), arity: 0}

// FromBytes wraps row bytes of the given arity after checking their bounds.
func FromBytes(data []byte, arity int) (Row, error) {
	if arity < 0 || len(data) < FixedSize(arity) {
		return Row{}, fmt.Errorf("%w: %d bytes too short for %d fields", ErrCorrupt, len(data), arity)
	}
	return Row{data: data, arity: arity}, nil
}

// Deserialize decodes a serialized row: a big-endian int32 arity then the row bytes.
func Deserialize(b []byte) (Row, error) {
	if len(b) < 4 {
		return Row{}, fmt.Errorf("%w: %d bytes, no arity", ErrCorrupt, len(b))
	}
	arity := int(int32(binary.BigEndian.Uint32(b)))
	if arity < 0 || arity > (len(b)-4)/8 {
		return Row{}, fmt.Errorf("%w: arity %d in %d bytes", ErrCorrupt, arity, len(b))
	}
	return FromBytes(b[4:], arity)
}

// Serialize returns the arity-prefixed form stored in manifests.
func (r Row) Serialize() []byte {
	out := make([]byte, 4+len(r.data))
	binary.BigEndian.PutUint32(out, uint32(r.arity))
	copy(out[4:], r.data)
	return out
}

// Arity is the number of fields.
func (r Row) Arity() int { return r.arity }

// Bytes are the row bytes (without the arity prefix).
func (r Row) Bytes() []byte { return r.data }

// RowKind is the header byte.
func (r Row) RowKind() byte { return r.data[0] }

// IsNullAt reports whether field i is null.
func (r Row) IsNullAt(i int) bool {
	bit := i + HeaderBits
	return r.data[bit>>3]&(1<<(bit&7)) != 0
}

func (r Row) slot(i int) int { return NullBitsSize(r.arity) + 8*i }

func (r Row) word(i int) uint64 { return binary.LittleEndian.Uint64(r.data[r.slot(i):]) }

// GetBoolean reads a BOOLEAN.
func (r Row) GetBoolean(i int) bool { return r.data[r.slot(i)] != 0 }

// GetByte reads a TINYINT.
func (r Row) GetByte(i int) int8 { return int8(r.data[r.slot(i)]) }

// GetShort reads a SMALLINT.
func (r Row) GetShort(i int) int16 { return int16(binary.LittleEndian.Uint16(r.data[r.slot(i):])) }

// GetInt reads an INT, DATE (days since epoch) or TIME (milliseconds of day).
func (r Row) GetInt(i int) int32 { return int32(binary.LittleEndian.Uint32(r.data[r.slot(i):])) }

// GetLong reads a BIGINT.
func (r Row) GetLong(i int) int64 { return int64(r.word(i)) }

// GetFloat reads a FLOAT.
func (r Row) GetFloat(i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(r.data[r.slot(i):]))
}

// GetDouble reads a DOUBLE.
func (r Row) GetDouble(i int) float64 { return math.Float64frombits(r.word(i)) }

// varPart returns offset and size of a variable-length field, checked against the row.
func (r Row) varPart(i int) ([]byte, error) {
	w := r.word(i)
	off, size := int(w>>32), int(uint32(w))
	if off < FixedSize(r.arity) || off+size > len(r.data) || off+size < off {
		return nil, fmt.Errorf("%w: field %d points at [%d,+%d) of %d bytes", ErrCorrupt, i, off, size, len(r.data))
	}
	return r.data[off : off+size], nil
}

// GetBytes reads a CHAR/VARCHAR (UTF-8) or BINARY/VARBINARY value. The result aliases the
// row's memory.
func (r Row) GetBytes(i int) ([]byte, error) {
	s := r.slot(i)
	mark := r.data[s+7]
	if mark&0x80 != 0 {
		n := int(mark & 0x7f)
		if n > maxFixPartDataSize {
			return nil, fmt.Errorf("%w: field %d inline length %d", ErrCorrupt, i, n)
		}
		return r.data[s : s+n], nil
	}
	return r.varPart(i)
}

// Timestamp is Paimon's Timestamp: milliseconds since the epoch plus nanoseconds within
// the millisecond.
type Timestamp struct {
	Millis      int64
	NanoOfMilli int32
}

// GetTimestamp reads a TIMESTAMP or TIMESTAMP_LTZ of the given precision.
func (r Row) GetTimestamp(i, precision int) (Timestamp, error) {
	if precision <= 3 {
		return Timestamp{Millis: r.GetLong(i)}, nil
	}
	w := r.word(i)
	off, nanos := int(w>>32), int32(uint32(w))
	if off < FixedSize(r.arity) || off+8 > len(r.data) {
		return Timestamp{}, fmt.Errorf("%w: timestamp field %d offset %d", ErrCorrupt, i, off)
	}
	if nanos < 0 || nanos > 999_999 {
		return Timestamp{}, fmt.Errorf("%w: timestamp field %d nanos %d", ErrCorrupt, i, nanos)
	}
	return Timestamp{Millis: int64(binary.LittleEndian.Uint64(r.data[off:])), NanoOfMilli: nanos}, nil
}

// GetDecimalUnscaled reads a DECIMAL of precision <= 18 as its unscaled value.
func (r Row) GetDecimalUnscaled(i int) int64 { return r.GetLong(i) }

// GetDecimalBytes reads a DECIMAL of precision > 18: the unscaled value as big-endian
// two's complement bytes (BigInteger.toByteArray).
func (r Row) GetDecimalBytes(i int) ([]byte, error) {
	b, err := r.varPart(i)
	if err == nil && (len(b) == 0 || len(b) > 16) {
		return nil, fmt.Errorf("%w: decimal field %d has %d bytes", ErrCorrupt, i, len(b))
	}
	return b, err
}

// GetRow reads a nested ROW field of the given arity.
func (r Row) GetRow(i, arity int) (Row, error) {
	b, err := r.varPart(i)
	if err != nil {
		return Row{}, err
	}
	return FromBytes(b, arity)
}

// Equal compares two rows byte for byte.
func (r Row) Equal(o Row) bool {
	if r.arity != o.arity || len(r.data) != len(o.data) {
		return false
	}
	for i := range r.data {
		if r.data[i] != o.data[i] {
			return false
		}
	}
	return true
}

// String renders the row for debugging.
func (r Row) String() string { return fmt.Sprintf("BinaryRow(%d)%x", r.arity, r.data) }

// checkTypes reports an unsupported field type early.
func checkType(t types.DataType) error {
	switch t.Root {
	case types.Array, types.Map, types.Multiset, types.Vector, types.Variant, types.Blob:
		return fmt.Errorf("BinaryRow values of type %s are not supported here", t)
	}
	return nil
}

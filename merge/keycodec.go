// Package merge merges the sorted runs of a primary-key bucket: a k-way merge by key and
// sequence number, with Paimon's merge engines deciding what each key becomes.
package merge

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/tarnlake/tarn/format/binaryrow"
)

// Keys are compared as byte strings in an order-preserving ("memcomparable") encoding
// that sorts exactly as Paimon's key comparator: fields in order, nulls first, integers
// and dates numerically, floats by Float.compare (-0.0 < 0.0, NaN last), decimals
// numerically, strings and binaries byte-wise unsigned, timestamps chronologically.

const (
	nullMarker    = 0x00
	nonNullMarker = 0x01
)

func appendInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^(1<<63))
}

func appendInt32(b []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(v)^(1<<31))
}

func appendFloat64(b []byte, v float64) []byte {
	if math.IsNaN(v) {
		v = math.NaN()
	}
	u := math.Float64bits(v)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(b, u)
}

func appendFloat32(b []byte, v float32) []byte {
	if v != v {
		v = float32(math.NaN())
	}
	u := math.Float32bits(v)
	if u&(1<<31) != 0 {
		u = ^u
	} else {
		u |= 1 << 31
	}
	return binary.BigEndian.AppendUint32(b, u)
}

// appendBytes escapes 0x00 as 0x00 0xff and terminates with 0x00 0x00.
func appendBytes(b, v []byte) []byte {
	for _, c := range v {
		if c == 0 {
			b = append(b, 0, 0xff)
		} else {
			b = append(b, c)
		}
	}
	return append(b, 0, 0)
}

func appendDecimal128(b []byte, v decimal128.Num) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(v.HighBits())^(1<<63))
	return binary.BigEndian.AppendUint64(b, v.LowBits())
}

// AppendArrowKey appends the encoding of row i of arr.
func AppendArrowKey(b []byte, arr arrow.Array, i int) ([]byte, error) {
	if arr.IsNull(i) {
		return append(b, nullMarker), nil
	}
	b = append(b, nonNullMarker)
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case *array.Int8:
		return appendInt32(b, int32(a.Value(i))), nil
	case *array.Int16:
		return appendInt32(b, int32(a.Value(i))), nil
	case *array.Int32:
		return appendInt32(b, a.Value(i)), nil
	case *array.Int64:
		return appendInt64(b, a.Value(i)), nil
	case *array.Date32:
		return appendInt32(b, int32(a.Value(i))), nil
	case *array.Time32:
		return appendInt32(b, int32(a.Value(i))), nil
	case *array.Float32:
		return appendFloat32(b, a.Value(i)), nil
	case *array.Float64:
		return appendFloat64(b, a.Value(i)), nil
	case *array.String:
		return appendBytes(b, []byte(a.Value(i))), nil
	case *array.Binary:
		return appendBytes(b, a.Value(i)), nil
	case *array.Decimal128:
		return appendDecimal128(b, a.Value(i)), nil
	case *array.Timestamp:
		// All units sort by their integer value; one column has one unit.
		return appendInt64(b, int64(a.Value(i))), nil
	}
	return nil, fmt.Errorf("primary key of type %s is not supported", arr.DataType())
}

// AppendValueKey appends the encoding of a BinaryRow value (binaryrow's Go values) of a
// column whose Arrow type is at, so that keys from manifests (min/max keys) and from data
// batches compare consistently.
func AppendValueKey(b []byte, v any, at arrow.DataType) ([]byte, error) {
	if v == nil {
		return append(b, nullMarker), nil
	}
	b = append(b, nonNullMarker)
	switch x := v.(type) {
	case bool:
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case int8:
		return appendInt32(b, int32(x)), nil
	case int16:
		return appendInt32(b, int32(x)), nil
	case int32:
		return appendInt32(b, x), nil
	case binaryrow.Date:
		return appendInt32(b, int32(x)), nil
	case binaryrow.Time:
		return appendInt32(b, int32(x)), nil
	case int64:
		return appendInt64(b, x), nil
	case float32:
		return appendFloat32(b, x), nil
	case float64:
		return appendFloat64(b, x), nil
	case string:
		return appendBytes(b, []byte(x)), nil
	case []byte:
		return appendBytes(b, x), nil
	case binaryrow.Decimal:
		return appendDecimal128(b, decimal128.FromBigInt(x.Unscaled)), nil
	case binaryrow.Timestamp:
		ts, ok := at.(*arrow.TimestampType)
		if !ok {
			return nil, fmt.Errorf("timestamp key for Arrow type %s", at)
		}
		return appendInt64(b, TimestampToUnit(x, ts.Unit)), nil
	}
	return nil, fmt.Errorf("key value %T is not supported", v)
}

// TimestampToUnit converts a Paimon timestamp to an Arrow integer in unit.
func TimestampToUnit(ts binaryrow.Timestamp, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return floorDiv(ts.Millis, 1000)
	case arrow.Millisecond:
		return ts.Millis
	case arrow.Microsecond:
		return ts.Millis*1000 + int64(ts.NanoOfMilli)/1000
	}
	return ts.Millis*1_000_000 + int64(ts.NanoOfMilli)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

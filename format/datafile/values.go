package datafile

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/binaryrow"
)

// Value reads row i of an Arrow column as the Go value package binaryrow uses for the
// column's Paimon type (nil for null): bool, int8..int64, float32/64, string, []byte
// (copied), binaryrow.Decimal, Date, Time or Timestamp. Nested columns give nil.
func Value(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return bytes.Clone(a.Value(i))
	case *array.Date32:
		return binaryrow.Date(a.Value(i))
	case *array.Time32:
		return binaryrow.Time(a.Value(i))
	case *array.Decimal128:
		return binaryrow.Decimal{Unscaled: a.Value(i).BigInt(), Scale: int(a.DataType().(*arrow.Decimal128Type).Scale)}
	case *array.Timestamp:
		return TimestampOf(int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit)
	}
	return nil
}

// TimestampOf converts an Arrow timestamp value of a unit to Paimon's timestamp
// (milliseconds and the nanoseconds within the millisecond, floored for instants before
// 1970).
func TimestampOf(v int64, unit arrow.TimeUnit) binaryrow.Timestamp {
	var ns int64
	switch unit {
	case arrow.Second:
		return binaryrow.Timestamp{Millis: v * 1000}
	case arrow.Millisecond:
		return binaryrow.Timestamp{Millis: v}
	case arrow.Microsecond:
		ns = v * 1000
	default:
		ns = v
	}
	ms := ns / 1_000_000
	if ns%1_000_000 < 0 {
		ms--
	}
	return binaryrow.Timestamp{Millis: ms, NanoOfMilli: int32(ns - ms*1_000_000)}
}

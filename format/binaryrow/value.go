package binaryrow

import (
	"bytes"
	"cmp"
	"fmt"
	"math/big"

	"github.com/tarnlake/tarn/format/types"
)

// Values of BinaryRow fields as Go values, used for partitions, keys and statistics:
//
//	BOOLEAN bool, TINYINT int8, SMALLINT int16, INT int32, BIGINT int64, FLOAT float32,
//	DOUBLE float64, DECIMAL Decimal, CHAR/VARCHAR string, BINARY/VARBINARY []byte,
//	DATE Date, TIME Time, TIMESTAMP/TIMESTAMP_LTZ Timestamp, null nil.

// Date is days since 1970-01-01.
type Date int32

// Time is milliseconds of the day.
type Time int32

// Decimal is an unscaled integer and a scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int
}

// String renders the decimal in plain notation with exactly Scale fraction digits.
func (d Decimal) String() string {
	s := new(big.Int).Abs(d.Unscaled).String()
	neg := d.Unscaled.Sign() < 0
	if d.Scale > 0 {
		for len(s) <= d.Scale {
			s = "0" + s
		}
		s = s[:len(s)-d.Scale] + "." + s[len(s)-d.Scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Cmp compares two decimals numerically.
func (d Decimal) Cmp(o Decimal) int {
	a, b := d.Unscaled, o.Unscaled
	if d.Scale != o.Scale {
		a, b = new(big.Int).Set(a), new(big.Int).Set(b)
		if d.Scale < o.Scale {
			a.Mul(a, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(o.Scale-d.Scale)), nil))
		} else {
			b.Mul(b, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-o.Scale)), nil))
		}
	}
	return a.Cmp(b)
}

// Get decodes field i of type t.
func (r Row) Get(i int, t types.DataType) (any, error) {
	if i < 0 || i >= r.arity {
		return nil, fmt.Errorf("%w: field %d of %d", ErrCorrupt, i, r.arity)
	}
	if r.IsNullAt(i) {
		return nil, nil
	}
	switch t.Root {
	case types.Boolean:
		return r.GetBoolean(i), nil
	case types.TinyInt:
		return r.GetByte(i), nil
	case types.SmallInt:
		return r.GetShort(i), nil
	case types.Int:
		return r.GetInt(i), nil
	case types.BigInt:
		return r.GetLong(i), nil
	case types.Float:
		return r.GetFloat(i), nil
	case types.Double:
		return r.GetDouble(i), nil
	case types.Date:
		return Date(r.GetInt(i)), nil
	case types.Time:
		return Time(r.GetInt(i)), nil
	case types.Decimal:
		if t.Precision <= 18 {
			return Decimal{Unscaled: big.NewInt(r.GetLong(i)), Scale: t.Scale}, nil
		}
		b, err := r.GetDecimalBytes(i)
		if err != nil {
			return nil, err
		}
		return Decimal{Unscaled: fromTwosComplement(b), Scale: t.Scale}, nil
	case types.Char, types.VarChar:
		b, err := r.GetBytes(i)
		return string(b), err
	case types.Binary, types.VarBinary:
		b, err := r.GetBytes(i)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), b...), nil
	case types.Timestamp, types.LocalZonedTimestamp:
		return r.GetTimestamp(i, t.Precision)
	}
	return nil, checkType(t)
}

// Values decodes all fields.
func (r Row) Values(fields []types.DataField) ([]any, error) {
	if len(fields) != r.arity {
		return nil, fmt.Errorf("%w: %d fields for a row of arity %d", ErrCorrupt, len(fields), r.arity)
	}
	out := make([]any, len(fields))
	for i, f := range fields {
		v, err := r.Get(i, f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

// Set writes value v (nil for null) of type t at pos.
func (w *Writer) Set(pos int, t types.DataType, v any) error {
	if v == nil {
		switch {
		case t.Root == types.Decimal && t.Precision > 18:
			w.WriteDecimalBytes(pos, nil)
		case (t.Root == types.Timestamp || t.Root == types.LocalZonedTimestamp) && t.Precision > 3:
			w.WriteTimestamp(pos, t.Precision, Timestamp{}, true)
		default:
			w.SetNull(pos)
		}
		return nil
	}
	bad := func() error { return fmt.Errorf("value %v (%T) does not fit type %s", v, v, t) }
	switch t.Root {
	case types.Boolean:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		w.WriteBoolean(pos, x)
	case types.TinyInt:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		w.WriteTinyInt(pos, x)
	case types.SmallInt:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		w.WriteSmallInt(pos, x)
	case types.Int:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		w.WriteInt(pos, x)
	case types.Date:
		x, ok := v.(Date)
		if !ok {
			return bad()
		}
		w.WriteInt(pos, int32(x))
	case types.Time:
		x, ok := v.(Time)
		if !ok {
			return bad()
		}
		w.WriteInt(pos, int32(x))
	case types.BigInt:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		w.WriteLong(pos, x)
	case types.Float:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		w.WriteFloat(pos, x)
	case types.Double:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		w.WriteDouble(pos, x)
	case types.Decimal:
		x, ok := v.(Decimal)
		if !ok || x.Scale != t.Scale {
			return bad()
		}
		if t.Precision <= 18 {
			if !x.Unscaled.IsInt64() {
				return bad()
			}
			w.WriteLong(pos, x.Unscaled.Int64())
			return nil
		}
		b := toTwosComplement(x.Unscaled)
		if len(b) > 16 {
			return bad()
		}
		w.WriteDecimalBytes(pos, b)
	case types.Char, types.VarChar:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		w.WriteBytes(pos, []byte(x))
	case types.Binary, types.VarBinary:
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		w.WriteBytes(pos, x)
	case types.Timestamp, types.LocalZonedTimestamp:
		x, ok := v.(Timestamp)
		if !ok {
			return bad()
		}
		w.WriteTimestamp(pos, t.Precision, x, false)
	default:
		return checkType(t)
	}
	return nil
}

// Encode builds a row from values of the given fields (row kind +I).
func Encode(fields []types.DataField, values []any) (Row, error) {
	if len(fields) != len(values) {
		return Row{}, fmt.Errorf("%d values for %d fields", len(values), len(fields))
	}
	w := NewWriter(len(fields))
	w.Reset()
	for i, f := range fields {
		if err := w.Set(i, f.Type, values[i]); err != nil {
			return Row{}, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return w.Copy(), nil
}

// fromTwosComplement decodes big-endian two's complement bytes (BigInteger(byte[])).
func fromTwosComplement(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// toTwosComplement encodes v minimally as BigInteger.toByteArray does.
func toTwosComplement(v *big.Int) []byte {
	if v.Sign() >= 0 {
		b := v.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// Negative: two's complement of |v| in the minimal number of bytes.
	n := (v.BitLen()+8)/8 + 1
	m := new(big.Int).Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	b := m.Bytes()
	for len(b) < n {
		b = append([]byte{0xff}, b...)
	}
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

// Compare orders two non-null values of the same type as Paimon's comparators do
// (strings and binaries byte-wise unsigned; floats with NaN greatest).
func Compare(a, b any) int {
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int8:
		return cmp.Compare(x, b.(int8))
	case int16:
		return cmp.Compare(x, b.(int16))
	case int32:
		return cmp.Compare(x, b.(int32))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float32:
		return cmp.Compare(x, b.(float32))
	case float64:
		return cmp.Compare(x, b.(float64))
	case Date:
		return cmp.Compare(x, b.(Date))
	case Time:
		return cmp.Compare(x, b.(Time))
	case Decimal:
		return x.Cmp(b.(Decimal))
	case string:
		return cmp.Compare(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case Timestamp:
		y := b.(Timestamp)
		if c := cmp.Compare(x.Millis, y.Millis); c != 0 {
			return c
		}
		return cmp.Compare(x.NanoOfMilli, y.NanoOfMilli)
	}
	panic(fmt.Sprintf("binaryrow.Compare: unsupported %T", a))
}

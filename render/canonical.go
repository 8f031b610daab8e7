// Package render turns Arrow batches of Paimon rows into text: canonical JSON Lines (the
// form docs/compat.md defines, shared with the compatibility oracle), CSV and an aligned
// table.
package render

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/tarnlake/tarn/format/types"
)

// AppendJSON appends the canonical JSON of row i of arr, a column of Paimon type t.
func AppendJSON(b []byte, arr arrow.Array, i int, t types.DataType) ([]byte, error) {
	if arr.IsNull(i) {
		return append(b, "null"...), nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i)), nil
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10), nil
	case *array.Float32:
		return appendFloat(b, float64(a.Value(i)), 32), nil
	case *array.Float64:
		return appendFloat(b, a.Value(i), 64), nil
	case *array.String:
		return appendString(b, a.Value(i)), nil
	case *array.LargeString:
		return appendString(b, a.Value(i)), nil
	case *array.Binary:
		return appendString(b, base64.StdEncoding.EncodeToString(a.Value(i))), nil
	case *array.Decimal128:
		return appendString(b, DecimalString(a.Value(i), t.Scale)), nil
	case *array.Date32:
		return appendString(b, DateString(int32(a.Value(i)))), nil
	case *array.Time32:
		return appendString(b, TimeString(int64(a.Value(i))*1_000_000, t.Precision)), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		s := TimestampString(int64(a.Value(i)), unit, t.Precision)
		if t.Root == types.LocalZonedTimestamp {
			s += "Z"
		}
		return appendString(b, s), nil
	case *array.List:
		start, end := a.ValueOffsets(i)
		return appendList(b, a.ListValues(), int(start), int(end), *t.Elem)
	case *array.FixedSizeList:
		n := int(a.DataType().(*arrow.FixedSizeListType).Len())
		start := (a.Offset() + i) * n
		values := a.ListValues()
		b = append(b, '[')
		for j := 0; j < n; j++ {
			if j > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendJSON(b, values, start+j, *t.Elem); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case *array.Map:
		keyType, valueType := t.Key, t.Value
		if t.Root == types.Multiset {
			keyType = t.Elem
			it := types.IntType().NotNull()
			valueType = &it
		}
		s64, e64 := a.ValueOffsets(i)
		start, end := int(s64), int(e64)
		type pair struct{ k, v []byte }
		pairs := make([]pair, 0, end-start)
		for j := start; j < end; j++ {
			k, err := AppendJSON(nil, a.Keys(), j, *keyType)
			if err != nil {
				return nil, err
			}
			v, err := AppendJSON(nil, a.Items(), j, *valueType)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, pair{k, v})
		}
		sort.SliceStable(pairs, func(x, y int) bool { return string(pairs[x].k) < string(pairs[y].k) })
		b = append(b, '[')
		for j, p := range pairs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = append(b, p.k...)
			b = append(b, ',')
			b = append(b, p.v...)
			b = append(b, ']')
		}
		return append(b, ']'), nil
	case *array.Struct:
		b = append(b, '{')
		for j, f := range t.Fields {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			var err error
			if b, err = AppendJSON(b, a.Field(j), i, f.Type); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("cannot render Arrow type %s", arr.DataType())
}

func appendList(b []byte, values arrow.Array, start, end int, elem types.DataType) ([]byte, error) {
	b = append(b, '[')
	for j := start; j < end; j++ {
		if j > start {
			b = append(b, ',')
		}
		var err error
		if b, err = AppendJSON(b, values, j, elem); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat renders as Go's encoding/json does (ECMAScript Number.prototype.toString),
// with NaN and infinities as strings.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	fmtByte := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmtByte = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, fmtByte, -1, bits)
	if fmtByte == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := sb.String()
	return append(b, out[:len(out)-1]...)
}

// DecimalString renders an unscaled decimal at scale, plain notation.
func DecimalString(v decimal128.Num, scale int) string {
	return decimalString(v.BigInt(), scale)
}

func decimalString(u *big.Int, scale int) string {
	s := new(big.Int).Abs(u).String()
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// DateString renders days since the epoch as YYYY-MM-DD.
func DateString(days int32) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format("2006-01-02")
}

// TimeString renders nanoseconds of the day as HH:MM:SS with precision fraction digits.
func TimeString(nanos int64, precision int) string {
	t := time.Unix(0, nanos).UTC()
	return t.Format("15:04:05") + fraction(t.Nanosecond(), precision)
}

// TimestampString renders an Arrow timestamp value as YYYY-MM-DDTHH:MM:SS with precision
// fraction digits.
func TimestampString(v int64, unit arrow.TimeUnit, precision int) string {
	var t time.Time
	switch unit {
	case arrow.Second:
		t = time.Unix(v, 0)
	case arrow.Millisecond:
		t = time.UnixMilli(v)
	case arrow.Microsecond:
		t = time.UnixMicro(v)
	default:
		t = time.Unix(0, v)
	}
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + fraction(t.Nanosecond(), precision)
}

func fraction(ns, precision int) string {
	if precision <= 0 {
		return ""
	}
	return "." + fmt.Sprintf("%09d", ns)[:min(precision, 9)]
}

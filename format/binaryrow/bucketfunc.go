package binaryrow

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/tarnlake/tarn/format/types"
)

// BucketFunc returns the bucket function of a fixed-bucket table (bucket-function.type,
// paimon-core/.../bucket/BucketFunction.java) for bucket keys of the given fields:
// "default" (DefaultBucketFunction: the BinaryRow's murmur hash), "mod"
// (ModBucketFunction: floorMod of a single INT or BIGINT key) or "hive"
// (HiveBucketFunction: Hive's hash of the key's values).
func BucketFunc(kind string, fields []types.DataField) (func(key Row, numBuckets int) int, error) {
	kind, err := ParseBucketFunction(kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "default":
		return Bucket, nil
	case "mod":
		if len(fields) != 1 {
			return nil, fmt.Errorf("bucket-function.type mod: the bucket key must be one column, not %d", len(fields))
		}
		switch fields[0].Type.Root {
		case types.Int:
			return func(key Row, n int) int { return int(floorMod(int64(key.GetInt(0)), int64(n))) }, nil
		case types.BigInt:
			return func(key Row, n int) int { return int(floorMod(key.GetLong(0), int64(n))) }, nil
		}
		return nil, fmt.Errorf("bucket-function.type mod: the bucket key must be INT or BIGINT, not %s", fields[0].Type)
	case "hive":
		for _, f := range fields {
			switch f.Type.Root {
			case types.Boolean, types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double,
				types.Char, types.VarChar, types.Binary, types.VarBinary, types.Decimal, types.Date, types.Time:
			default:
				return nil, fmt.Errorf("bucket-function.type hive: bucket key column %s of type %s is not supported", f.Name, f.Type)
			}
		}
		return func(key Row, n int) int {
			var h int32
			vals, err := key.Values(fields)
			if err != nil {
				panic(fmt.Sprintf("binaryrow: bucket key: %v", err)) // the writer encoded it
			}
			for _, v := range vals {
				h = 31*h + hiveHash(v)
			}
			m := (h & math.MaxInt32) % int32(n)
			return int(m)
		}, nil
	}
	panic("binaryrow: bucket function " + kind) // ParseBucketFunction knows no other
}

// ParseBucketFunction checks a bucket-function.type value and returns it in lower case
// ("default" when empty).
func ParseBucketFunction(kind string) (string, error) {
	switch k := strings.ToLower(strings.TrimSpace(kind)); k {
	case "", "default":
		return "default", nil
	case "mod", "hive":
		return k, nil
	}
	return "", fmt.Errorf("bucket-function.type %q: want default, mod or hive", kind)
}

func floorMod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// hiveHash is HiveBucketFunction.computeHash of one value (HiveHasher): Java's int
// overflow throughout.
func hiveHash(v any) int32 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case int8:
		return int32(x)
	case int16:
		return int32(x)
	case int32:
		return x
	case Date:
		return int32(x)
	case Time:
		return int32(x)
	case int64:
		return int32(x ^ int64(uint64(x)>>32))
	case float32:
		if x == 0 {
			return 0 // -0.0 as 0.0
		}
		return int32(math.Float32bits(canonicalNaN32(x)))
	case float64:
		if x == 0 {
			return 0
		}
		b := int64(math.Float64bits(canonicalNaN64(x)))
		return int32(b ^ int64(uint64(b)>>32))
	case string:
		return hiveBytesHash([]byte(x))
	case []byte:
		return hiveBytesHash(x)
	case Decimal:
		return hiveDecimalHash(x)
	}
	panic(fmt.Sprintf("binaryrow: no Hive hash of %T", v))
}

// canonicalNaN32 and canonicalNaN64 give NaN Java's floatToIntBits / doubleToLongBits form.
func canonicalNaN32(f float32) float32 {
	if f != f {
		return math.Float32frombits(0x7fc00000)
	}
	return f
}

func canonicalNaN64(f float64) float64 {
	if math.IsNaN(f) {
		return math.Float64frombits(0x7ff8000000000000)
	}
	return f
}

func hiveBytesHash(b []byte) int32 {
	var h int32
	for _, c := range b {
		h = 31*h + int32(int8(c))
	}
	return h
}

// hiveDecimalHash is HiveHasher.normalizeDecimal(d).hashCode(): Java's BigDecimal hash of
// the value with trailing zeros stripped (scale at least 0), 31 × the unscaled
// BigInteger's hash + the scale. (Decimals of precision 38 or less need no rounding.)
func hiveDecimalHash(d Decimal) int32 {
	u := new(big.Int).Set(d.Unscaled)
	scale := d.Scale
	if u.Sign() == 0 {
		return 0 // BigDecimal.ZERO
	}
	ten := big.NewInt(10)
	q, r := new(big.Int), new(big.Int)
	for scale > 0 {
		q.QuoRem(u, ten, r)
		if r.Sign() != 0 {
			break
		}
		u.Set(q)
		scale--
	}
	return 31*bigIntHash(u) + int32(scale)
}

// bigIntHash is BigInteger.hashCode: over the magnitude's big-endian 32-bit words,
// h = 31*h + word, times the sign.
func bigIntHash(v *big.Int) int32 {
	mag := new(big.Int).Abs(v).Bytes()
	if pad := (4 - len(mag)%4) % 4; pad > 0 {
		mag = append(make([]byte, pad), mag...)
	}
	var h int32
	for i := 0; i < len(mag); i += 4 {
		w := uint32(mag[i])<<24 | uint32(mag[i+1])<<16 | uint32(mag[i+2])<<8 | uint32(mag[i+3])
		h = 31*h + int32(w)
	}
	return h * int32(v.Sign())
}

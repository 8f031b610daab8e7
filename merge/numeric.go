package merge

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/tarnlake/tarn/format/types"
)

// numeric is the arithmetic of one numeric type, with Java's overflow checks
// (FieldSumAgg, FieldProductAgg) and Paimon's decimal rules (DecimalUtils, Decimal).
type numeric struct {
	root  types.Root
	prec  int
	scale int
}

func newNumeric(t types.DataType) numeric {
	return numeric{root: t.Root, prec: t.Precision, scale: t.Scale}
}

var errNullDecimal = errors.New("null decimal") // a decimal result out of precision: NULL

func intBounds(root types.Root) (lo, hi int64, name string) {
	switch root {
	case types.TinyInt:
		return math.MinInt8, math.MaxInt8, "byte"
	case types.SmallInt:
		return math.MinInt16, math.MaxInt16, "short"
	case types.Int:
		return math.MinInt32, math.MaxInt32, "int"
	}
	return math.MinInt64, math.MaxInt64, "long"
}

// intOp applies op ('+', '-', '*', '/') with Java's exact-arithmetic checks.
func (n numeric) intOp(op byte, a, b int64) (int64, error) {
	lo, hi, name := intBounds(n.root)
	narrow := n.root != types.Int && n.root != types.BigInt // byte, short: checked as an int result
	var v int64
	overflow := false
	switch op {
	case '+':
		v = a + b
		overflow = (a > 0 && b > 0 && v < 0) || (a < 0 && b < 0 && v >= 0)
	case '-':
		v = a - b
		overflow = (a >= 0 && b < 0 && v < 0) || (a < 0 && b > 0 && v >= 0)
	case '*':
		v = a * b
		overflow = a != 0 && (v/a != b || (a == -1 && b == math.MinInt64))
	case '/':
		if b == 0 {
			return 0, fmt.Errorf("/ by zero")
		}
		if a == math.MinInt64 && b == -1 {
			overflow = true
		} else {
			v = a / b
		}
	}
	if overflow || v < lo || v > hi {
		if narrow {
			return 0, fmt.Errorf("%s overflow: %d %c %d = %d", name, a, op, b, v)
		}
		return 0, fmt.Errorf("%s overflow: %d %c %d", name, a, op, b)
	}
	return v, nil
}

func (n numeric) negate(a int64) (int64, error) {
	lo, hi, name := intBounds(n.root)
	if a == lo {
		if n.root == types.TinyInt || n.root == types.SmallInt {
			return 0, fmt.Errorf("%s overflow: -%d = %d", name, a, -a)
		}
		return 0, fmt.Errorf("%s overflow: -%d", name, a)
	}
	v := -a
	if v > hi {
		return 0, fmt.Errorf("%s overflow: -%d", name, a)
	}
	return v, nil
}

func (n numeric) isInt() bool {
	switch n.root {
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		return true
	}
	return false
}

// compact reports a decimal value held in a long (Decimal.isCompact).
func (n numeric) compact(v decimal128.Num) (int64, bool) {
	if n.prec > 18 {
		return 0, false
	}
	lo := int64(v.LowBits())
	if (v.HighBits() == 0 && lo >= 0) || (v.HighBits() == -1 && lo < 0) {
		return lo, true
	}
	return 0, false
}

// decAddSub is DecimalUtils.add/subtract: a long result when both are compact and it does
// not overflow (its precision unchecked, as Decimal.fromUnscaledLong), else an exact
// result that is NULL beyond the precision.
func (n numeric) decAddSub(a, b decimal128.Num, sub bool) (decimal128.Num, error) {
	if x, ok := n.compact(a); ok {
		if y, ok := n.compact(b); ok {
			v := x + y
			overflow := (x > 0 && y > 0 && v < 0) || (x < 0 && y < 0 && v >= 0)
			if sub {
				v = x - y
				overflow = (x >= 0 && y < 0 && v < 0) || (x < 0 && y > 0 && v >= 0)
			}
			if !overflow {
				return decimal128.FromI64(v), nil
			}
		}
	}
	var v decimal128.Num
	if sub {
		v = a.Sub(b)
	} else {
		v = a.Add(b)
	}
	// 128-bit overflow implies more than 38 digits.
	as, bs := a.Sign() < 0, b.Sign() < 0
	if sub {
		bs = !bs && b.Sign() != 0
	}
	if as == bs && (v.Sign() < 0) != as && v.Sign() != 0 {
		return v, errNullDecimal
	}
	if !v.FitsInPrecision(int32(n.prec)) {
		return v, errNullDecimal
	}
	return v, nil
}

// fromBig is Decimal.fromBigDecimal of an exact value unscaled/10^scale: rounded HALF_UP
// to the type's scale, NULL beyond its precision.
func (n numeric) fromBig(unscaled *big.Int, scale int) (decimal128.Num, error) {
	v := new(big.Int).Set(unscaled)
	switch {
	case scale < n.scale:
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.scale-scale)), nil))
	case scale > n.scale:
		v = roundHalfUp(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-n.scale)), nil))
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.prec)), nil)
	if new(big.Int).Abs(v).Cmp(limit) >= 0 {
		return decimal128.Num{}, errNullDecimal
	}
	return decimal128.FromBigInt(v), nil
}

// roundHalfUp divides v by d (> 0), rounding half away from zero.
func roundHalfUp(v, d *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(v, d, new(big.Int))
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(d) >= 0 {
		if v.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// decMul is FieldProductAgg's BigDecimal multiply then fromBigDecimal.
func (n numeric) decMul(a, b decimal128.Num) (decimal128.Num, error) {
	p := new(big.Int).Mul(a.BigInt(), b.BigInt())
	return n.fromBig(p, 2*n.scale)
}

// decDiv is FieldProductAgg's retraction: BigDecimal.divide (exact; an error when the
// quotient does not terminate or the divisor is zero) then fromBigDecimal.
func (n numeric) decDiv(a, b decimal128.Num) (decimal128.Num, error) {
	x, y := a.BigInt(), b.BigInt()
	if y.Sign() == 0 {
		if x.Sign() == 0 {
			return decimal128.Num{}, errors.New("division undefined")
		}
		return decimal128.Num{}, errors.New("division by zero")
	}
	// Both have the type's scale: the quotient is x/y exactly.
	den := new(big.Int).Quo(new(big.Int).Abs(y), new(big.Int).GCD(nil, nil, new(big.Int).Abs(x), new(big.Int).Abs(y)))
	two, five := big.NewInt(2), big.NewInt(5)
	extra := 0 // decimal digits the exact quotient needs
	for {
		m := new(big.Int)
		q, r := new(big.Int).QuoRem(den, two, m)
		if r.Sign() != 0 {
			break
		}
		den = q
		extra++
	}
	twos := extra
	extra = 0
	for {
		m := new(big.Int)
		q, r := new(big.Int).QuoRem(den, five, m)
		if r.Sign() != 0 {
			break
		}
		den = q
		extra++
	}
	if den.Cmp(big.NewInt(1)) != 0 {
		return decimal128.Num{}, errors.New("non-terminating decimal expansion; no exact representable decimal result")
	}
	digits := max(twos, extra)
	num := new(big.Int).Mul(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
	q := new(big.Int).Quo(num, y) // exact
	return n.fromBig(q, digits)
}

// sumAgg is FieldSumAgg.
type sumAgg struct {
	aggBase
	num numeric
}

func (s *sumAgg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	return s.apply(acc, in, false)
}

func (s *sumAgg) apply(acc, in *slot, sub bool) error {
	op := byte('+')
	if sub {
		op = '-'
	}
	switch {
	case s.num.isInt():
		v, err := s.num.intOp(op, acc.int64Of(), in.int64Of())
		if err != nil {
			return err
		}
		acc.setInt(v)
	case s.num.root == types.Float:
		a, b := float32(acc.float64Of()), float32(in.float64Of())
		if sub {
			acc.setFloat(float64(float32(a - b)))
		} else {
			acc.setFloat(float64(float32(a + b)))
		}
	case s.num.root == types.Double:
		if sub {
			acc.setFloat(acc.float64Of() - in.float64Of())
		} else {
			acc.setFloat(acc.float64Of() + in.float64Of())
		}
	default:
		v, err := s.num.decAddSub(acc.decimalOf(), in.decimalOf(), sub)
		if err == errNullDecimal {
			acc.setNull()
			return nil
		}
		acc.setDecimal(v)
	}
	return nil
}

func (s *sumAgg) retract(acc, in *slot) error {
	if in.isNull() {
		return nil
	}
	if acc.isNull() {
		// negative(input)
		switch {
		case s.num.isInt():
			v, err := s.num.negate(in.int64Of())
			if err != nil {
				return err
			}
			acc.setInt(v)
		case s.num.root == types.Float:
			acc.setFloat(float64(-float32(in.float64Of())))
		case s.num.root == types.Double:
			acc.setFloat(-in.float64Of())
		default:
			v := in.decimalOf().Negate()
			if !v.FitsInPrecision(int32(s.num.prec)) {
				acc.setNull()
				return nil
			}
			acc.setDecimal(v)
		}
		return nil
	}
	return s.apply(acc, in, true)
}

// productAgg is FieldProductAgg.
type productAgg struct {
	aggBase
	num numeric
}

func (p *productAgg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	return p.apply(acc, in, false)
}

func (p *productAgg) retract(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		return nil
	}
	return p.apply(acc, in, true)
}

func (p *productAgg) apply(acc, in *slot, div bool) error {
	op := byte('*')
	if div {
		op = '/'
	}
	switch {
	case p.num.isInt():
		v, err := p.num.intOp(op, acc.int64Of(), in.int64Of())
		if err != nil {
			return err
		}
		acc.setInt(v)
	case p.num.root == types.Float:
		a, b := float32(acc.float64Of()), float32(in.float64Of())
		if div {
			acc.setFloat(float64(float32(a / b)))
		} else {
			acc.setFloat(float64(float32(a * b)))
		}
	case p.num.root == types.Double:
		if div {
			acc.setFloat(acc.float64Of() / in.float64Of())
		} else {
			acc.setFloat(acc.float64Of() * in.float64Of())
		}
	default:
		var v decimal128.Num
		var err error
		if div {
			v, err = p.num.decDiv(acc.decimalOf(), in.decimalOf())
		} else {
			v, err = p.num.decMul(acc.decimalOf(), in.decimalOf())
		}
		switch {
		case err == errNullDecimal:
			acc.setNull()
		case err != nil:
			return err
		default:
			acc.setDecimal(v)
		}
	}
	return nil
}

// listaggAgg is FieldListaggAgg: non-blank strings joined by the delimiter; distinct
// adds only tokens not yet present.
type listaggAgg struct {
	aggBase
	delim    []byte
	distinct bool
	set      keySet
	tokens   [][]byte
	add      [][]byte
}

func (l *listaggAgg) agg(acc, in *slot) error {
	if in.isNull() || javaIsBlank(in.bytesOf()) {
		return nil
	}
	if acc.isNull() || javaIsBlank(acc.bytesOf()) {
		acc.assign(in)
		return nil
	}
	a, b := acc.bytesOf(), in.bytesOf()
	if !l.distinct {
		l.concat(acc, a, b)
		return nil
	}
	l.set.clear()
	l.tokens = splitPreserveAll(a, l.delim, l.tokens[:0])
	for _, t := range l.tokens {
		l.set.m[string(t)] = 1
	}
	l.add = l.add[:0]
	l.tokens = splitPreserveAll(b, l.delim, l.tokens[:0])
	for _, t := range l.tokens {
		if javaIsBlank(t) {
			continue
		}
		if _, ok := l.set.m[string(t)]; ok {
			continue
		}
		l.set.m[string(t)] = 1
		l.add = append(l.add, t)
	}
	if len(l.add) == 0 {
		return nil
	}
	if acc.st != stBytes {
		acc.b = append(acc.b[:0], a...)
		acc.st, acc.ref = stBytes, cell{}
	}
	for _, t := range l.add {
		acc.b = append(acc.b, l.delim...)
		acc.b = append(acc.b, t...)
	}
	return nil
}

// concat sets acc to a + delimiter + b (a is acc's current value).
func (l *listaggAgg) concat(acc *slot, a, b []byte) {
	if acc.st != stBytes {
		acc.b = append(acc.b[:0], a...)
		acc.st, acc.ref = stBytes, cell{}
	}
	acc.b = append(acc.b, l.delim...)
	acc.b = append(acc.b, b...)
}

// rbm32Agg is FieldRoaringBitmap32Agg: the union of serialized 32-bit RoaringBitmaps
// (the portable format), run-optimized.
type rbm32Agg struct {
	aggBase
	x, y *roaring.Bitmap
}

func (r *rbm32Agg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	if r.x == nil {
		r.x, r.y = roaring.New(), roaring.New()
	}
	r.x.Clear()
	r.y.Clear()
	if _, err := r.x.ReadFrom(bytes.NewReader(acc.bytesOf())); err != nil {
		return fmt.Errorf("unable to deserialize roaring bitmap: %w", err)
	}
	if _, err := r.y.ReadFrom(bytes.NewReader(in.bytesOf())); err != nil {
		return fmt.Errorf("unable to deserialize roaring bitmap: %w", err)
	}
	r.x.Or(r.y)
	r.x.RunOptimize()
	out, err := r.x.ToBytes()
	if err != nil {
		return fmt.Errorf("unable to serialize roaring bitmap: %w", err)
	}
	acc.b = append(acc.b[:0], out...)
	acc.st, acc.ref = stBytes, cell{}
	return nil
}

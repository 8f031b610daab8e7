package predicate

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Predicate is an expression bound to a schema. It implements table.Filter (pruning) and
// table.RowFilter (row filtering).
type Predicate struct {
	root       node
	columns    []string
	partitions []string
}

type tri int8

const (
	no tri = iota
	yes
	unknown
)

type node interface {
	// eval decides the node given a column lookup; lookup reports ok=false for a column
	// it does not know (the node is then unknown).
	eval(lookup func(col string) (v any, ok bool)) tri
	// mayMatch decides from statistics whether any row can match.
	mayMatch(st *table.FileStats) bool
}

// Bind parses expr and binds it to fields; partitionKeys name the partition columns.
func Bind(expr string, fields []types.DataField, partitionKeys []string) (*Predicate, error) {
	e, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	return BindExpr(e, fields, partitionKeys)
}

// BindExpr binds a parsed expression.
func BindExpr(e Expr, fields []types.DataField, partitionKeys []string) (*Predicate, error) {
	p := &Predicate{partitions: partitionKeys}
	seen := map[string]bool{}
	root, err := bind(pushNot(e, false), fields, func(c string) {
		if !seen[c] {
			seen[c] = true
			p.columns = append(p.columns, c)
		}
	})
	if err != nil {
		return nil, err
	}
	p.root = root
	return p, nil
}

// pushNot moves negations to the comparisons (De Morgan), so that statistics can prune.
func pushNot(e Expr, neg bool) Expr {
	switch x := e.(type) {
	case Not:
		return pushNot(x.E, !neg)
	case And:
		if neg {
			return Or{pushNot(x.L, true), pushNot(x.R, true)}
		}
		return And{pushNot(x.L, false), pushNot(x.R, false)}
	case Or:
		if neg {
			return And{pushNot(x.L, true), pushNot(x.R, true)}
		}
		return Or{pushNot(x.L, false), pushNot(x.R, false)}
	case Cmp:
		if !neg {
			return x
		}
		x.Op = map[Op]Op{Eq: NotEq, NotEq: Eq, Lt: GtEq, LtEq: Gt, Gt: LtEq, GtEq: Lt,
			IsNull: IsNotNull, IsNotNull: IsNull, In: NotIn, NotIn: In}[x.Op]
		return x
	}
	return e
}

func bind(e Expr, fields []types.DataField, use func(string)) (node, error) {
	switch x := e.(type) {
	case And:
		l, err := bind(x.L, fields, use)
		if err != nil {
			return nil, err
		}
		r, err := bind(x.R, fields, use)
		if err != nil {
			return nil, err
		}
		return andNode{l, r}, nil
	case Or:
		l, err := bind(x.L, fields, use)
		if err != nil {
			return nil, err
		}
		r, err := bind(x.R, fields, use)
		if err != nil {
			return nil, err
		}
		return orNode{l, r}, nil
	case Cmp:
		i := types.FieldByName(fields, x.Column)
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.Name
			}
			return nil, fmt.Errorf("filter: no column %q (columns: %s)", x.Column, strings.Join(names, ", "))
		}
		f := fields[i]
		if f.Type.IsNested() && x.Op != IsNull && x.Op != IsNotNull {
			return nil, fmt.Errorf("filter: column %q of type %s can only be tested with IS [NOT] NULL", f.Name, f.Type)
		}
		c := cmpNode{col: f.Name, op: x.Op}
		for _, l := range x.Values {
			if l.Kind == 'z' {
				return nil, fmt.Errorf("filter: NULL in a value list of %q", f.Name)
			}
			v, err := convert(l, f.Type)
			if err != nil {
				return nil, fmt.Errorf("filter: column %q: %w", f.Name, err)
			}
			c.values = append(c.values, v)
		}
		use(f.Name)
		return c, nil
	}
	return nil, fmt.Errorf("filter: unexpected %v", e)
}

// Columns are the columns the predicate reads.
func (p *Predicate) Columns() []string { return p.columns }

// String renders the bound predicate.
func (p *Predicate) String() string { return fmt.Sprint(p.root) }

// KeepPartition implements table.Filter.
func (p *Predicate) KeepPartition(values []any) bool {
	return p.root.eval(func(col string) (any, bool) {
		for i, k := range p.partitions {
			if k == col {
				return values[i], true
			}
		}
		return nil, false
	}) != no
}

// KeepFile implements table.Filter.
func (p *Predicate) KeepFile(st *table.FileStats) bool { return p.root.mayMatch(st) }

// Apply implements table.RowFilter.
func (p *Predicate) Apply(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	idx := map[string]int{}
	for i, f := range b.Schema().Fields() {
		idx[f.Name] = i
	}
	mb := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer mb.Release()
	n := int(b.NumRows())
	mb.Reserve(n)
	all := true
	if keep, ok := vecEval(p.root, b, idx); ok {
		// Comparisons of integer columns, and ANDs and ORs of them, column at a time.
		for _, k := range keep {
			all = all && k
			mb.UnsafeAppend(k)
		}
	} else {
		all = applyRowsInto(p.root, b, idx, mb)
	}
	if all {
		b.Retain()
		return b, nil
	}
	mask := mb.NewBooleanArray()
	defer mask.Release()
	return compute.FilterRecordBatch(ctx, b, mask, compute.DefaultFilterOptions())
}

// vecEval evaluates comparisons of INT and BIGINT columns with literals, and ANDs and ORs
// of them, a column at a time; ok is false for any other predicate (or column type).
// A null value matches no comparison, as in eval.
func vecEval(nd node, b arrow.RecordBatch, idx map[string]int) (keep []bool, ok bool) {
	switch x := nd.(type) {
	case andNode:
		return vecCombine(x.l, x.r, b, idx, true)
	case orNode:
		return vecCombine(x.l, x.r, b, idx, false)
	case cmpNode:
		i, found := idx[x.col]
		if !found || len(x.values) != 1 {
			return nil, false
		}
		switch col := b.Column(i).(type) {
		case *array.Int64:
			lit, isInt := x.values[0].(int64)
			if !isInt {
				return nil, false
			}
			return cmpInts(col.Int64Values(), col, lit, x.op)
		case *array.Int32:
			lit, isInt := x.values[0].(int32)
			if !isInt {
				return nil, false
			}
			return cmpInts(col.Int32Values(), col, lit, x.op)
		}
	}
	return nil, false
}

// vecCombine evaluates l and r with vecEval and combines them row by row: AND, else OR.
func vecCombine(l, r node, b arrow.RecordBatch, idx map[string]int, and bool) ([]bool, bool) {
	lk, ok := vecEval(l, b, idx)
	if !ok {
		return nil, false
	}
	rk, ok := vecEval(r, b, idx)
	if !ok {
		return nil, false
	}
	for i := range lk {
		if and {
			lk[i] = lk[i] && rk[i]
		} else {
			lk[i] = lk[i] || rk[i]
		}
	}
	return lk, true
}

func cmpInts[T int32 | int64](v []T, a arrow.Array, lit T, op Op) ([]bool, bool) {
	keep := make([]bool, len(v))
	switch op {
	case Eq:
		for i, x := range v {
			keep[i] = x == lit
		}
	case NotEq:
		for i, x := range v {
			keep[i] = x != lit
		}
	case Lt:
		for i, x := range v {
			keep[i] = x < lit
		}
	case LtEq:
		for i, x := range v {
			keep[i] = x <= lit
		}
	case Gt:
		for i, x := range v {
			keep[i] = x > lit
		}
	case GtEq:
		for i, x := range v {
			keep[i] = x >= lit
		}
	default:
		return nil, false
	}
	if a.NullN() > 0 {
		for i := range keep {
			if a.IsNull(i) {
				keep[i] = false
			}
		}
	}
	return keep, true
}

// applyRowsInto evaluates a predicate row by row into mb; it reports whether every row
// matched.
func applyRowsInto(root node, b arrow.RecordBatch, idx map[string]int, mb *array.BooleanBuilder) bool {
	n := int(b.NumRows())
	all := true
	for r := 0; r < n; r++ {
		ok := root.eval(func(col string) (any, bool) {
			i, found := idx[col]
			if !found {
				return nil, false
			}
			return rowValue(b.Column(i), r), true
		}) == yes
		all = all && ok
		mb.UnsafeAppend(ok)
	}
	return all
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n andNode) String() string { return fmt.Sprintf("(%v AND %v)", n.l, n.r) }
func (n orNode) String() string  { return fmt.Sprintf("(%v OR %v)", n.l, n.r) }

func (n andNode) eval(l func(string) (any, bool)) tri {
	a := n.l.eval(l)
	if a == no {
		return no
	}
	b := n.r.eval(l)
	switch {
	case b == no:
		return no
	case a == yes && b == yes:
		return yes
	}
	return unknown
}

func (n orNode) eval(l func(string) (any, bool)) tri {
	a := n.l.eval(l)
	if a == yes {
		return yes
	}
	b := n.r.eval(l)
	switch {
	case b == yes:
		return yes
	case a == no && b == no:
		return no
	}
	return unknown
}

func (n andNode) mayMatch(st *table.FileStats) bool { return n.l.mayMatch(st) && n.r.mayMatch(st) }
func (n orNode) mayMatch(st *table.FileStats) bool  { return n.l.mayMatch(st) || n.r.mayMatch(st) }

type cmpNode struct {
	col    string
	op     Op
	values []any
}

func (n cmpNode) String() string { return fmt.Sprintf("%s %s %v", n.col, n.op, n.values) }

// eval applies SQL semantics: a comparison with null is not true, which filters a row out.
func (n cmpNode) eval(lookup func(string) (any, bool)) tri {
	v, ok := lookup(n.col)
	if !ok {
		return unknown
	}
	switch n.op {
	case IsNull:
		return boolTri(v == nil)
	case IsNotNull:
		return boolTri(v != nil)
	}
	if v == nil {
		// A comparison with null is never true; negations were pushed into the leaves,
		// so "not true" is final.
		return no
	}
	switch n.op {
	case In, NotIn:
		found := false
		for _, x := range n.values {
			if compare(v, x) == 0 {
				found = true
				break
			}
		}
		return boolTri(found == (n.op == In))
	}
	c := compare(v, n.values[0])
	switch n.op {
	case Eq:
		return boolTri(c == 0)
	case NotEq:
		return boolTri(c != 0)
	case Lt:
		return boolTri(c < 0)
	case LtEq:
		return boolTri(c <= 0)
	case Gt:
		return boolTri(c > 0)
	case GtEq:
		return boolTri(c >= 0)
	}
	return unknown
}

func boolTri(b bool) tri {
	if b {
		return yes
	}
	return no
}

func (n cmpNode) mayMatch(st *table.FileStats) bool {
	nulls, known := st.NullCounts[n.col]
	if !known {
		return true
	}
	lo, hi := st.Min[n.col], st.Max[n.col]
	switch n.op {
	case IsNull:
		return nulls != 0
	case IsNotNull:
		return nulls < 0 || nulls < st.RowCount
	}
	if nulls >= 0 && nulls == st.RowCount {
		return false // every value is null: no comparison holds
	}
	if lo == nil || hi == nil {
		return true
	}
	switch n.op {
	case Eq:
		return compare(lo, n.values[0]) <= 0 && compare(hi, n.values[0]) >= 0
	case NotEq:
		return !(compare(lo, n.values[0]) == 0 && compare(hi, n.values[0]) == 0)
	case Lt:
		return compare(lo, n.values[0]) < 0
	case LtEq:
		return compare(lo, n.values[0]) <= 0
	case Gt:
		return compare(hi, n.values[0]) > 0
	case GtEq:
		return compare(hi, n.values[0]) >= 0
	case In:
		for _, v := range n.values {
			if compare(lo, v) <= 0 && compare(hi, v) >= 0 {
				return true
			}
		}
		return false
	}
	return true
}

// compare orders two non-null values of one column; floats put NaN last.
func compare(a, b any) int {
	if x, ok := a.(float64); ok && math.IsNaN(x) {
		if y, ok := b.(float64); ok && math.IsNaN(y) {
			return 0
		}
		return 1
	}
	if y, ok := b.(float64); ok && math.IsNaN(y) {
		return -1
	}
	if x, ok := a.(float32); ok {
		y := b.(float32)
		switch {
		case x != x && y != y:
			return 0
		case x != x:
			return 1
		case y != y:
			return -1
		}
	}
	return binaryrow.Compare(a, b)
}

// convert turns a literal into the Go value binaryrow uses for the type.
func convert(l Literal, t types.DataType) (any, error) {
	text := l.Text
	bad := func(err error) error {
		return fmt.Errorf("%s is not a valid %s: %v", l, t, err)
	}
	switch t.Root {
	case types.Boolean:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, bad(err)
		}
		return b, nil
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		bits := map[types.Root]int{types.TinyInt: 8, types.SmallInt: 16, types.Int: 32, types.BigInt: 64}[t.Root]
		n, err := strconv.ParseInt(text, 10, bits)
		if err != nil {
			return nil, bad(err)
		}
		switch t.Root {
		case types.TinyInt:
			return int8(n), nil
		case types.SmallInt:
			return int16(n), nil
		case types.Int:
			return int32(n), nil
		}
		return n, nil
	case types.Float:
		f, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return nil, bad(err)
		}
		return float32(f), nil
	case types.Double:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, bad(err)
		}
		return f, nil
	case types.Decimal:
		return parseDecimal(text)
	case types.Char, types.VarChar:
		return text, nil
	case types.Binary, types.VarBinary:
		return []byte(text), nil
	case types.Date:
		d, err := time.Parse("2006-01-02", text)
		if err != nil {
			return nil, bad(err)
		}
		return binaryrow.Date(d.Unix() / 86400), nil
	case types.Time:
		d, err := time.Parse("15:04:05.999999999", text)
		if err != nil {
			return nil, bad(err)
		}
		return binaryrow.Time(d.Hour()*3600_000 + d.Minute()*60_000 + d.Second()*1000 + d.Nanosecond()/1_000_000), nil
	case types.Timestamp, types.LocalZonedTimestamp:
		for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
			if ts, err := time.Parse(layout, text); err == nil {
				ns := ts.UnixNano()
				return binaryrow.Timestamp{Millis: floorDiv(ns, 1_000_000), NanoOfMilli: int32(ns - floorDiv(ns, 1_000_000)*1_000_000)}, nil
			}
		}
		return nil, bad(fmt.Errorf("use 'YYYY-MM-DD HH:MM:SS[.fraction]'"))
	}
	return nil, fmt.Errorf("filters on %s are not supported", t)
}

func parseDecimal(s string) (binaryrow.Decimal, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(s, ".")
	digits := intPart + frac
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok || strings.ContainsAny(digits, "eE") {
		return binaryrow.Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if neg {
		u.Neg(u)
	}
	return binaryrow.Decimal{Unscaled: u, Scale: len(frac)}, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rowValue reads a row's value for evaluation; nested columns are only tested for null,
// so any non-null marker does.
func rowValue(arr arrow.Array, i int) any {
	if v := datafile.Value(arr, i); v != nil || arr.IsNull(i) {
		return v
	}
	return true
}

// ColumnValues returns the value combinations the columns cols can take in a row the
// predicate keeps, when equalities and IN lists pin every one of them (joined by AND, or
// OR of such on the same column), at most limit combinations; ok is false otherwise. A
// scan uses them to read only the buckets those keys hash to (table.ValuesFilter).
func (p *Predicate) ColumnValues(cols []string, limit int) ([][]any, bool) {
	dom := domains(p.root)
	combos := [][]any{nil}
	for _, c := range cols {
		vals, ok := dom[c]
		if !ok || len(combos)*len(vals) > limit {
			return nil, false
		}
		next := make([][]any, 0, len(combos)*len(vals))
		for _, prefix := range combos {
			for _, v := range vals {
				next = append(next, append(slices.Clip(prefix), v))
			}
		}
		combos = next
	}
	return combos, true
}

// domains maps each column a node pins to a finite set of values to that set (an empty
// set: no row matches); columns absent are not pinned.
func domains(nd node) map[string][]any {
	switch n := nd.(type) {
	case cmpNode:
		if n.op != Eq && n.op != In {
			return nil
		}
		var vals []any
		for _, v := range n.values {
			if v == nil {
				return nil
			}
			if !hasValue(vals, v) {
				vals = append(vals, v)
			}
		}
		return map[string][]any{n.col: vals}
	case andNode:
		l, r := domains(n.l), domains(n.r)
		out := map[string][]any{}
		for c, lv := range l {
			out[c] = lv
		}
		for c, rv := range r {
			lv, ok := out[c]
			if !ok {
				out[c] = rv
				continue
			}
			both := []any{}
			for _, v := range lv {
				if hasValue(rv, v) {
					both = append(both, v)
				}
			}
			out[c] = both
		}
		return out
	case orNode:
		l, r := domains(n.l), domains(n.r)
		out := map[string][]any{}
		for c, lv := range l {
			rv, ok := r[c]
			if !ok {
				continue
			}
			vals := slices.Clone(lv)
			for _, v := range rv {
				if !hasValue(vals, v) {
					vals = append(vals, v)
				}
			}
			out[c] = vals
		}
		return out
	}
	return nil
}

// hasValue reports whether vals holds a value equal to v.
func hasValue(vals []any, v any) bool {
	return slices.ContainsFunc(vals, func(x any) bool { return compare(x, v) == 0 })
}

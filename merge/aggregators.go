package merge

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tarnlake/tarn/format/types"
)

// Aggregate functions (paimon-core/.../mergetree/compact/aggregate/Field*Agg.java). Each
// works on slots: the accumulator and the input value; agg(acc, in) leaves agg's result in
// acc, as Java's `acc = agg(acc, in)`.

// Function names, as Paimon's FieldAggregatorFactory identifiers.
const (
	FuncSum                 = "sum"
	FuncProduct             = "product"
	FuncMax                 = "max"
	FuncMin                 = "min"
	FuncLastValue           = "last_value"
	FuncLastNonNullValue    = "last_non_null_value"
	FuncFirstValue          = "first_value"
	FuncFirstNonNullValue   = "first_non_null_value"
	FuncFirstNotNullValue   = "first_not_null_value" // legacy name of first_non_null_value
	FuncListagg             = "listagg"
	FuncBoolAnd             = "bool_and"
	FuncBoolOr              = "bool_or"
	FuncCollect             = "collect"
	FuncMergeMap            = "merge_map"
	FuncMergeMapWithKeyTime = "merge_map_with_keytime"
	FuncNestedUpdate        = "nested_update"
	FuncNestedPartialUpdate = "nested_partial_update"
	FuncRoaringBitmap32     = "rbm32"
	FuncRoaringBitmap64     = "rbm64"
	FuncThetaSketch         = "theta_sketch"
	FuncHllSketch           = "hll_sketch"
	FuncPrimaryKey          = "primary-key"
)

const (
	errUnsupportedAggregate  = "use unsupported aggregation: %s or spell aggregate function incorrectly"
	notSupportedBinarySketch = "aggregate function %s is not supported by Tarn: it merges %s, a binary format of the Java library %s that Tarn does not implement"
)

// Supported lists the aggregate functions NewEngine accepts (Paimon's rbm64, theta_sketch
// and hll_sketch are refused).
func Supported() []string {
	return []string{FuncSum, FuncProduct, FuncMax, FuncMin, FuncLastValue, FuncLastNonNullValue,
		FuncFirstValue, FuncFirstNonNullValue, FuncFirstNotNullValue, FuncListagg, FuncBoolAnd, FuncBoolOr,
		FuncCollect, FuncMergeMap, FuncMergeMapWithKeyTime, FuncNestedUpdate, FuncNestedPartialUpdate,
		FuncRoaringBitmap32, FuncPrimaryKey}
}

func knownFunction(name string) error {
	switch name {
	case FuncSum, FuncProduct, FuncMax, FuncMin, FuncLastValue, FuncLastNonNullValue, FuncFirstValue,
		FuncFirstNonNullValue, FuncFirstNotNullValue, FuncListagg, FuncBoolAnd, FuncBoolOr, FuncCollect,
		FuncMergeMap, FuncMergeMapWithKeyTime, FuncNestedUpdate, FuncNestedPartialUpdate,
		FuncRoaringBitmap32, FuncRoaringBitmap64, FuncThetaSketch, FuncHllSketch, FuncPrimaryKey:
		return nil
	case "count":
		return fmt.Errorf(errUnsupportedAggregate+" (Paimon has no count function: aggregate a 0/1 column with sum)", name)
	}
	return fmt.Errorf(errUnsupportedAggregate+" (functions: %s)", name, strings.Join(Supported(), ", "))
}

// Nested key null strategies (fields.<f>.nested-key-null-strategy).
const (
	nullMerge = iota
	nullIgnore
	nullError
)

// aggSpec is one field's aggregate function with its options, validated.
type aggSpec struct {
	name          string
	field         types.DataField
	ignoreRetract bool
	delimiter     string // listagg
	distinct      bool   // listagg, collect
	nestedKey     []int  // nested_update, nested_partial_update: fields of the ROW
	nullStrategy  int
	nestedSeq     []int // nested_update
	countLimit    int   // nested_update
	tsField       int   // merge_map_with_keytime
}

// newAggSpec validates function name on field f as FieldAggregatorFactory.create does.
func newAggSpec(o opts, f types.DataField, name string) (*aggSpec, error) {
	if err := knownFunction(name); err != nil {
		return nil, fmt.Errorf("field %q: %w", f.Name, err)
	}
	s := &aggSpec{name: name, field: f}
	var err error
	prefix := fieldsPrefix + f.Name + "."
	if s.ignoreRetract, err = o.bool(prefix+"ignore-retract", false); err != nil {
		return nil, err
	}
	removeOnDelete, err := o.bool(OptAggregationRemoveOnDelete, false)
	if err != nil {
		return nil, err
	}
	if removeOnDelete && s.ignoreRetract {
		return nil, fmt.Errorf("%s and %s have conflicting behavior so should not be enabled at the same time", OptAggregationRemoveOnDelete, prefix+"ignore-retract")
	}
	t := f.Type
	typeErr := func(want string) error {
		return fmt.Errorf("field %q: data type for %s column must be %s but was '%s'", f.Name, name, want, t)
	}
	switch name {
	case FuncSum, FuncProduct:
		switch t.Root {
		case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double, types.Decimal:
		default:
			return nil, typeErr("'NumericType'")
		}
	case FuncMax, FuncMin:
		if err := comparableType(t); err != nil {
			return nil, fmt.Errorf("field %q: data type for %s column must be comparable but was '%s'", f.Name, name, t)
		}
	case FuncListagg:
		if t.Root != types.VarChar {
			return nil, typeErr("'VarCharType'")
		}
		if t.Length != types.MaxLength {
			return nil, fmt.Errorf("field %q: data type for list agg column must be STRING (unbounded VARCHAR), but was VARCHAR(%d)", f.Name, t.Length)
		}
		s.delimiter = ","
		if v, ok := o.get(prefix + "list-agg-delimiter"); ok {
			s.delimiter = v
		}
		if s.distinct, err = o.bool(prefix+"distinct", false); err != nil {
			return nil, err
		}
	case FuncBoolAnd, FuncBoolOr:
		if t.Root != types.Boolean {
			return nil, typeErr("'BooleanType'")
		}
	case FuncCollect:
		if t.Root != types.Array {
			return nil, typeErr("'Array'")
		}
		if s.distinct, err = o.bool(prefix+"distinct", false); err != nil {
			return nil, err
		}
	case FuncMergeMap:
		if t.Root != types.Map {
			return nil, typeErr("'MAP'")
		}
	case FuncMergeMapWithKeyTime:
		if t.Root != types.Map {
			return nil, typeErr("'MAP'")
		}
		vt := t.Value
		if vt.Root != types.Row {
			return nil, fmt.Errorf("field %q: value type of MAP must be ROW but was '%s'", f.Name, *vt)
		}
		if len(vt.Fields) < 2 {
			return nil, fmt.Errorf("field %q: ROW type must have at least 2 fields, but found %d", f.Name, len(vt.Fields))
		}
		s.tsField = len(vt.Fields) - 1
		if v, ok := o.get(prefix + "ts-field"); ok {
			if s.tsField = types.FieldByName(vt.Fields, v); s.tsField < 0 {
				return nil, fmt.Errorf("field %q: timestamp field '%s' not found in ROW type (fields: %s)", f.Name, v, strings.Join(fieldNames(vt.Fields), ", "))
			}
		}
		if ts := vt.Fields[s.tsField].Type; !ts.IsString() {
			return nil, fmt.Errorf("field %q: the timestamp field %q of %s must be a string (Paimon reads it with getString), not %s", f.Name, vt.Fields[s.tsField].Name, name, ts)
		}
	case FuncNestedUpdate, FuncNestedPartialUpdate:
		if t.Root != types.Array || t.Elem.Root != types.Row {
			return nil, fmt.Errorf("field %q: data type for nested table column must be 'Array<Row>' but was '%s'", f.Name, t)
		}
		row := t.Elem.Fields
		keyOpt := prefix + "nested-key"
		if v, ok := o.get(keyOpt); ok {
			for _, k := range splitTrim(v) {
				i := types.FieldByName(row, k)
				if i < 0 {
					return nil, fmt.Errorf("option %s: field %s is not in the nested row (fields: %s)", keyOpt, k, strings.Join(fieldNames(row), ", "))
				}
				s.nestedKey = append(s.nestedKey, i)
			}
		}
		strategyOpt := prefix + "nested-key-null-strategy"
		if v, ok := o.get(strategyOpt); ok {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "merge":
			case "ignore":
				s.nullStrategy = nullIgnore
			case "error":
				s.nullStrategy = nullError
			default:
				return nil, fmt.Errorf("option %s = %q: want merge, ignore or error", strategyOpt, v)
			}
		}
		if name == FuncNestedPartialUpdate {
			if len(s.nestedKey) == 0 {
				return nil, fmt.Errorf("field %q: %s needs option %s", f.Name, name, keyOpt)
			}
			break
		}
		if _, ok := o.get(strategyOpt); ok && len(s.nestedKey) == 0 {
			return nil, fmt.Errorf("option 'fields.<field-name>.nested-key-null-strategy' requires 'fields.<field-name>.nested-key' to be configured (field %q)", f.Name)
		}
		seqOpt := prefix + "nested-sequence-field"
		if v, ok := o.get(seqOpt); ok {
			if len(s.nestedKey) == 0 {
				return nil, fmt.Errorf("option 'fields.<field-name>.nested-sequence-field' requires 'fields.<field-name>.nested-key' to be configured (field %q)", f.Name)
			}
			for _, k := range splitTrim(v) {
				i := types.FieldByName(row, k)
				if i < 0 {
					return nil, fmt.Errorf("option %s: field %s is not in the nested row (fields: %s)", seqOpt, k, strings.Join(fieldNames(row), ", "))
				}
				if err := comparableType(row[i].Type); err != nil {
					return nil, fmt.Errorf("option %s: field %s: %w", seqOpt, k, err)
				}
				s.nestedSeq = append(s.nestedSeq, i)
			}
		}
		if s.countLimit, err = o.int(prefix+"count-limit", 1<<31-1); err != nil {
			return nil, err
		}
	case FuncRoaringBitmap32, FuncRoaringBitmap64, FuncThetaSketch, FuncHllSketch:
		if t.Root != types.VarBinary {
			return nil, typeErr("'VarBinaryType'")
		}
		switch name {
		case FuncRoaringBitmap64:
			return nil, fmt.Errorf("field %q: "+notSupportedBinarySketch, f.Name, name, "Roaring64Bitmap's ART serialization", "RoaringBitmap")
		case FuncThetaSketch:
			return nil, fmt.Errorf("field %q: "+notSupportedBinarySketch, f.Name, name, "Theta sketches", "Apache DataSketches")
		case FuncHllSketch:
			return nil, fmt.Errorf("field %q: "+notSupportedBinarySketch, f.Name, name, "HLL sketches", "Apache DataSketches")
		}
	}
	return s, nil
}

// retractable reports functions whose retract is not an error.
func (s *aggSpec) retractable() bool {
	if s.ignoreRetract {
		return true
	}
	switch s.name {
	case FuncSum, FuncProduct, FuncLastValue, FuncLastNonNullValue, FuncCollect, FuncMergeMap, FuncNestedUpdate, FuncPrimaryKey:
		return true
	}
	return false
}

// newAgg makes a fresh aggregator for a column of Arrow type at.
func (s *aggSpec) newAgg(at arrow.DataType) (fieldAgg, error) {
	var a fieldAgg
	base := aggBase{name: s.name}
	switch s.name {
	case FuncPrimaryKey:
		a = &primaryKeyAgg{base}
	case FuncLastValue:
		a = &lastValueAgg{base}
	case FuncLastNonNullValue:
		a = &lastNonNullAgg{base}
	case FuncFirstValue:
		a = &firstValueAgg{aggBase: base}
	case FuncFirstNonNullValue, FuncFirstNotNullValue:
		a = &firstNonNullAgg{aggBase: base}
	case FuncMax, FuncMin:
		cmp, err := comparatorFor(at)
		if err != nil {
			return nil, err
		}
		a = &extremumAgg{aggBase: base, cmp: cmp, max: s.name == FuncMax}
	case FuncBoolAnd, FuncBoolOr:
		a = &boolAgg{aggBase: base, and: s.name == FuncBoolAnd}
	case FuncSum:
		a = &sumAgg{aggBase: base, num: newNumeric(s.field.Type)}
	case FuncProduct:
		a = &productAgg{aggBase: base, num: newNumeric(s.field.Type)}
	case FuncListagg:
		a = &listaggAgg{aggBase: base, delim: []byte(s.delimiter), distinct: s.distinct}
	case FuncCollect:
		a = &collectAgg{aggBase: base, distinct: s.distinct, equaliser: needsEqualiser(*s.field.Type.Elem)}
	case FuncMergeMap:
		a = &mergeMapAgg{aggBase: base}
	case FuncMergeMapWithKeyTime:
		a = &mergeMapKeyTimeAgg{aggBase: base, ts: s.tsField}
	case FuncNestedUpdate:
		n := &nestedUpdateAgg{aggBase: base, spec: s}
		row := at.(*arrow.ListType).Elem().(*arrow.StructType)
		for _, k := range s.nestedSeq {
			cmp, err := comparatorFor(row.Field(k).Type)
			if err != nil {
				return nil, err
			}
			n.seqCmp = append(n.seqCmp, cmp)
		}
		a = n
	case FuncNestedPartialUpdate:
		a = &nestedPartialUpdateAgg{aggBase: base, spec: s, nfields: len(s.field.Type.Elem.Fields)}
	case FuncRoaringBitmap32:
		a = &rbm32Agg{aggBase: base}
	default:
		return nil, fmt.Errorf(errUnsupportedAggregate, s.name)
	}
	if s.ignoreRetract {
		return &ignoreRetractAgg{a}, nil
	}
	return a, nil
}

// fieldAgg is a FieldAggregator.
type fieldAgg interface {
	reset()
	agg(acc, in *slot) error
	retract(acc, in *slot) error
}

// reverser is implemented by aggregators with their own aggReversed.
type reverser interface {
	aggReversed(acc, in *slot) error
}

// aggReversed is FieldAggregator.aggReversed: agg with the arguments swapped.
func aggReversed(a fieldAgg, acc, in *slot) error {
	if r, ok := a.(reverser); ok {
		return r.aggReversed(acc, in)
	}
	var tmp slot
	tmp.assign(in)
	if err := a.agg(&tmp, acc); err != nil {
		return err
	}
	acc.assign(&tmp)
	return nil
}

type aggBase struct{ name string }

func (aggBase) reset() {}

func (b aggBase) retract(*slot, *slot) error {
	return fmt.Errorf("aggregate function '%s' does not support retraction; if you allow this function to ignore retraction messages, "+
		"you can configure 'fields.${field_name}.ignore-retract'='true'", b.name)
}

// ignoreRetractAgg is FieldIgnoreRetractAgg: retractions leave the accumulator alone.
type ignoreRetractAgg struct{ a fieldAgg }

func (g *ignoreRetractAgg) reset()                  { g.a.reset() }
func (g *ignoreRetractAgg) agg(acc, in *slot) error { return g.a.agg(acc, in) }
func (g *ignoreRetractAgg) retract(*slot, *slot) error {
	return nil
}

type primaryKeyAgg struct{ aggBase }

func (primaryKeyAgg) agg(acc, in *slot) error     { acc.assign(in); return nil }
func (primaryKeyAgg) retract(acc, in *slot) error { acc.assign(in); return nil }

type lastValueAgg struct{ aggBase }

func (lastValueAgg) agg(acc, in *slot) error    { acc.assign(in); return nil }
func (lastValueAgg) retract(acc, _ *slot) error { acc.setNull(); return nil }

type lastNonNullAgg struct{ aggBase }

func (lastNonNullAgg) agg(acc, in *slot) error {
	if !in.isNull() {
		acc.assign(in)
	}
	return nil
}

func (lastNonNullAgg) retract(acc, in *slot) error {
	if !in.isNull() {
		acc.setNull()
	}
	return nil
}

type firstValueAgg struct {
	aggBase
	initialized bool
}

func (f *firstValueAgg) reset() { f.initialized = false }
func (f *firstValueAgg) agg(acc, in *slot) error {
	if !f.initialized {
		f.initialized = true
		acc.assign(in)
	}
	return nil
}

type firstNonNullAgg struct {
	aggBase
	initialized bool
}

func (f *firstNonNullAgg) reset() { f.initialized = false }
func (f *firstNonNullAgg) agg(acc, in *slot) error {
	if !f.initialized && !in.isNull() {
		f.initialized = true
		acc.assign(in)
	}
	return nil
}

// extremumAgg is FieldMaxAgg and FieldMinAgg.
type extremumAgg struct {
	aggBase
	cmp cellCmp
	max bool
}

func (e *extremumAgg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	c := e.cmp(acc.ref.arr, acc.ref.i, in.ref.arr, in.ref.i)
	if (e.max && c < 0) || (!e.max && c >= 0) {
		acc.assign(in)
	}
	return nil
}

type boolAgg struct {
	aggBase
	and bool
}

func (b *boolAgg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	x, y := acc.int64Of() != 0, in.int64Of() != 0
	v := x || y
	if b.and {
		v = x && y
	}
	if v {
		acc.setInt(1)
	} else {
		acc.setInt(0)
	}
	return nil
}

// needsEqualiser reports element types FieldCollectAgg compares with a generated
// equaliser, keeping the accumulator's duplicates (constructed and binary types).
func needsEqualiser(t types.DataType) bool {
	switch t.Root {
	case types.Array, types.Map, types.Multiset, types.Row, types.Vector, types.Binary, types.VarBinary:
		return true
	}
	return false
}

// keySet is a reusable set of equality encodings.
type keySet struct {
	m   map[string]int
	buf []byte
}

func (k *keySet) clear() {
	if k.m == nil {
		k.m = map[string]int{}
	}
	clear(k.m)
}

// collectAgg is FieldCollectAgg. Distinct results keep first-seen order where Java's
// HashSet has its own.
type collectAgg struct {
	aggBase
	distinct, equaliser bool
	set                 keySet
	elems               []elem
}

func (c *collectAgg) aggReversed(acc, in *slot) error { return c.agg(acc, in) }

func (c *collectAgg) agg(acc, in *slot) error {
	if acc.isNull() && in.isNull() {
		return nil
	}
	if (acc.isNull() || in.isNull()) && !c.distinct {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	out := &listVal{}
	switch {
	case !c.distinct:
		out.elems = listElems(listElems(nil, acc), in)
	case c.equaliser:
		// The accumulator is taken as it is; input elements are added if not present.
		c.set.clear()
		out.elems = listElems(nil, acc)
		for _, e := range out.elems {
			c.set.m[string(elemKey(c.set.buf[:0], e))] = 1
		}
		c.elems = listElems(c.elems[:0], in)
		for _, e := range c.elems {
			k := elemKey(c.set.buf[:0], e)
			c.set.buf = k
			if _, ok := c.set.m[string(k)]; !ok {
				c.set.m[string(k)] = 1
				out.elems = append(out.elems, e)
			}
		}
	default:
		c.set.clear()
		c.elems = listElems(listElems(c.elems[:0], acc), in)
		for _, e := range c.elems {
			k := elemKey(c.set.buf[:0], e)
			c.set.buf = k
			if _, ok := c.set.m[string(k)]; !ok {
				c.set.m[string(k)] = 1
				out.elems = append(out.elems, e)
			}
		}
	}
	acc.setComposite(out)
	return nil
}

func (c *collectAgg) retract(acc, in *slot) error {
	if acc.isNull() || in.isNull() || listLen(in) == 0 {
		return nil
	}
	c.set.clear()
	c.elems = listElems(c.elems[:0], in)
	for _, e := range c.elems {
		c.set.m[string(elemKey(c.set.buf[:0], e))]++
	}
	out := &listVal{}
	for _, e := range listElems(nil, acc) {
		k := elemKey(c.set.buf[:0], e)
		c.set.buf = k
		if n := c.set.m[string(k)]; n > 0 {
			c.set.m[string(k)] = n - 1
			continue
		}
		out.elems = append(out.elems, e)
	}
	acc.setComposite(out)
	return nil
}

// orderedMap is a map of cells by key equality, in first-insertion order (where Java's
// HashMap has its own order).
type orderedMap struct {
	idx   keySet
	keys  []cell
	vals  []cell
	elems []elem // for putKey
	live  []bool
}

func (m *orderedMap) reset() {
	m.idx.clear()
	m.keys, m.vals, m.elems, m.live = m.keys[:0], m.vals[:0], m.elems[:0], m.live[:0]
}

func (m *orderedMap) find(k cell) (int, []byte) {
	b := cellKey(m.idx.buf[:0], k)
	m.idx.buf = b
	i, ok := m.idx.m[string(b)]
	if !ok || !m.live[i] {
		return -1, b
	}
	return i, b
}

func (m *orderedMap) put(k, v cell) {
	i, b := m.find(k)
	if i >= 0 {
		m.vals[i] = v
		return
	}
	m.idx.m[string(b)] = len(m.keys)
	m.keys, m.vals, m.live = append(m.keys, k), append(m.vals, v), append(m.live, true)
}

func (m *orderedMap) remove(k cell) {
	if i, _ := m.find(k); i >= 0 {
		m.live[i] = false
	}
}

func (m *orderedMap) result() *mapVal {
	out := &mapVal{}
	for i, ok := range m.live {
		if ok {
			out.keys = append(out.keys, m.keys[i])
			out.vals = append(out.vals, m.vals[i])
		}
	}
	return out
}

// mergeMapAgg is FieldMergeMapAgg.
type mergeMapAgg struct {
	aggBase
	m          orderedMap
	keys, vals []cell
}

func (g *mergeMapAgg) agg(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		if acc.isNull() {
			acc.assign(in)
		}
		return nil
	}
	g.m.reset()
	g.keys, g.vals = mapEntries(g.keys[:0], g.vals[:0], acc)
	g.keys, g.vals = mapEntries(g.keys, g.vals, in)
	for i := range g.keys {
		g.m.put(g.keys[i], g.vals[i])
	}
	acc.setComposite(g.m.result())
	return nil
}

func (g *mergeMapAgg) retract(acc, in *slot) error {
	if acc.isNull() || in.isNull() || mapLen(in) == 0 {
		return nil
	}
	var retractKeys keySet
	retractKeys.clear()
	g.keys, g.vals = mapEntries(g.keys[:0], g.vals[:0], in)
	for _, k := range g.keys {
		retractKeys.m[string(cellKey(nil, k))] = 1
	}
	g.m.reset()
	g.keys, g.vals = mapEntries(g.keys[:0], g.vals[:0], acc)
	for i, k := range g.keys {
		if _, ok := retractKeys.m[string(cellKey(retractKeys.buf[:0], k))]; !ok {
			g.m.put(k, g.vals[i])
		}
	}
	acc.setComposite(g.m.result())
	return nil
}

// mergeMapKeyTimeAgg is FieldMergeMapWithKeyTimeAgg: per key, the value with the latest
// timestamp (a string field of the value ROW) wins; a null value removes the key.
type mergeMapKeyTimeAgg struct {
	aggBase
	ts         int
	m          orderedMap
	keys, vals []cell
}

func (g *mergeMapKeyTimeAgg) tsOf(v cell) cell {
	return elem{c: v}.field(g.ts)
}

func (g *mergeMapKeyTimeAgg) agg(acc, in *slot) error {
	if acc.isNull() {
		acc.assign(in)
		return nil
	}
	if in.isNull() {
		return nil
	}
	g.m.reset()
	g.keys, g.vals = mapEntries(g.keys[:0], g.vals[:0], acc)
	for i := range g.keys {
		g.m.put(g.keys[i], g.vals[i])
	}
	g.keys, g.vals = mapEntries(g.keys[:0], g.vals[:0], in)
	for i, k := range g.keys {
		v := g.vals[i]
		if v.isNull() {
			g.m.remove(k)
			continue
		}
		ts := g.tsOf(v)
		if ts.isNull() {
			continue
		}
		j, _ := g.m.find(k)
		if j < 0 || g.m.vals[j].isNull() {
			g.m.put(k, v)
			continue
		}
		old := g.tsOf(g.m.vals[j])
		if old.isNull() || javaStringCompare(cellString(ts), cellString(old)) > 0 {
			g.m.put(k, v)
		}
	}
	acc.setComposite(g.m.result())
	return nil
}

// nestedUpdateAgg is FieldNestedUpdateAgg. With a nested key, rows keep first-seen key
// order where Java's HashMap has its own.
type nestedUpdateAgg struct {
	aggBase
	spec   *aggSpec
	seqCmp []cellCmp
	idx    keySet
	rows   []elem
	elems  []elem
}

// nestedKey encodes the nested key of a row; ok is false when the row is skipped by the
// null strategy.
func nestedKey(spec *aggSpec, b []byte, e elem) ([]byte, bool, error) {
	anyNull := false
	for _, k := range spec.nestedKey {
		f := e.field(k)
		if f.isNull() {
			anyNull = true
		}
		b = cellKey(b, f)
	}
	if anyNull {
		switch spec.nullStrategy {
		case nullIgnore:
			return b, false, nil
		case nullError:
			return b, false, fmt.Errorf("nested key contains null values; primary key fields must not be null")
		}
	}
	return b, true, nil
}

func (n *nestedUpdateAgg) compareSeq(a, b elem) int {
	for i, k := range n.spec.nestedSeq {
		if c := compareNullsFirst(n.seqCmp[i], a.field(k), b.field(k), false); c != 0 {
			return c
		}
	}
	return 0
}

// addRows adds the non-null rows of s to n.rows by nested key.
func (n *nestedUpdateAgg) addRows(s *slot, limitNewKeys bool) error {
	n.elems = listElems(n.elems[:0], s)
	for _, e := range n.elems {
		if e.isNull() {
			continue
		}
		k, ok, err := nestedKey(n.spec, n.idx.buf[:0], e)
		n.idx.buf = k
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if i, found := n.idx.m[string(k)]; found {
			if len(n.spec.nestedSeq) == 0 || n.compareSeq(e, n.rows[i]) >= 0 {
				n.rows[i] = e
			}
		} else if !limitNewKeys || len(n.rows) < n.spec.countLimit {
			n.idx.m[string(k)] = len(n.rows)
			n.rows = append(n.rows, e)
		}
	}
	return nil
}

func nonNullRows(dst, src []elem, limit int) []elem {
	count := 0
	for _, e := range src {
		if count >= limit {
			break
		}
		if e.isNull() {
			continue
		}
		dst = append(dst, e)
		count++
	}
	return dst
}

func (n *nestedUpdateAgg) agg(acc, in *slot) error {
	if in.isNull() {
		return nil
	}
	if len(n.spec.nestedKey) == 0 {
		out := &listVal{}
		if acc.isNull() {
			out.elems = nonNullRows(nil, listElems(nil, in), n.spec.countLimit)
			acc.setComposite(out)
			return nil
		}
		size := listLen(acc)
		if size >= n.spec.countLimit {
			return nil
		}
		out.elems = nonNullRows(nil, listElems(nil, acc), 1<<31-1)
		out.elems = nonNullRows(out.elems, listElems(nil, in), n.spec.countLimit-size)
		acc.setComposite(out)
		return nil
	}
	n.idx.clear()
	n.rows = n.rows[:0]
	if !acc.isNull() {
		if err := n.addRows(acc, false); err != nil {
			return err
		}
	}
	if err := n.addRows(in, true); err != nil {
		return err
	}
	acc.setComposite(&listVal{elems: append([]elem(nil), n.rows...)})
	return nil
}

func (n *nestedUpdateAgg) retract(acc, in *slot) error {
	if acc.isNull() || in.isNull() {
		return nil
	}
	out := &listVal{}
	if len(n.spec.nestedKey) == 0 {
		out.elems = nonNullRows(nil, listElems(nil, acc), 1<<31-1)
		for _, r := range listElems(nil, in) {
			if r.isNull() {
				continue
			}
			rk := string(elemKey(nil, r))
			kept := out.elems[:0]
			for _, e := range out.elems {
				if string(elemKey(n.idx.buf[:0], e)) != rk {
					kept = append(kept, e)
				}
			}
			out.elems = kept
		}
		acc.setComposite(out)
		return nil
	}
	var m orderedMap
	m.reset()
	for _, e := range listElems(nil, acc) {
		if e.isNull() {
			continue
		}
		k, ok, err := nestedKey(n.spec, nil, e)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		m.putKey(k, e)
	}
	for _, e := range listElems(nil, in) {
		if e.isNull() {
			continue
		}
		k, ok, err := nestedKey(n.spec, nil, e)
		if err != nil {
			return err
		}
		if ok {
			m.removeKey(k)
		}
	}
	for i, ok := range m.live {
		if ok {
			out.elems = append(out.elems, m.elems[i])
		}
	}
	acc.setComposite(out)
	return nil
}

// putKey and removeKey use an orderedMap as a map of elements by an encoded key.
func (m *orderedMap) putKey(k []byte, e elem) {
	if i, ok := m.idx.m[string(k)]; ok && m.live[i] {
		m.elems[i] = e
		return
	}
	m.idx.m[string(k)] = len(m.live)
	m.elems = append(m.elems, e)
	m.live = append(m.live, true)
}

func (m *orderedMap) removeKey(k []byte) {
	if i, ok := m.idx.m[string(k)]; ok {
		m.live[i] = false
	}
}

// nestedPartialUpdateAgg is FieldNestedPartialUpdateAgg: rows of one nested key are
// merged field by field, non-null values overwriting.
type nestedPartialUpdateAgg struct {
	aggBase
	spec    *aggSpec
	nfields int
	idx     keySet
	elems   []elem
}

func (n *nestedPartialUpdateAgg) agg(acc, in *slot) error {
	if in.isNull() {
		return nil
	}
	n.elems = listElems(listElems(n.elems[:0], acc), in)
	n.idx.clear()
	out := &listVal{}
	for _, e := range n.elems {
		if e.isNull() {
			continue
		}
		k, ok, err := nestedKey(n.spec, n.idx.buf[:0], e)
		n.idx.buf = k
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		i, found := n.idx.m[string(k)]
		if !found {
			i = len(out.elems)
			n.idx.m[string(k)] = i
			out.elems = append(out.elems, elem{row: make([]cell, n.nfields)})
		}
		row := out.elems[i].row
		for f := 0; f < n.nfields; f++ {
			if v := e.field(f); !v.isNull() {
				row[f] = v
			}
		}
	}
	acc.setComposite(out)
	return nil
}

func cellString(c cell) string {
	return string(bytesOfCell(c))
}

func bytesOfCell(c cell) []byte {
	s := slot{st: stRef, ref: c}
	return s.bytesOf()
}

// listagg splitting: BinaryStringUtils.splitByWholeSeparatorPreserveAllTokens.
func splitPreserveAll(s, delim []byte, dst [][]byte) [][]byte {
	if len(s) == 0 {
		return dst
	}
	if len(delim) == 0 {
		delim = []byte(" ")
	}
	for {
		i := bytes.Index(s, delim)
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+len(delim):]
		if len(s) == 0 {
			return append(dst, s)
		}
	}
}

package merge

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// Aggregation is the aggregation merge engine (AggregateMergeFunction): every value field
// is aggregated by its function (fields.<f>.aggregate-function, else
// fields.default-aggregate-function, else last_non_null_value); primary keys keep the
// latest value and sequence fields are last_value. Retractions (-U, -D) retract each
// field; with aggregation.remove-record-on-delete a -D deletes the row.
type Aggregation struct {
	fields         []types.DataField
	seq            Sequence
	removeOnDelete bool
	aggs           []*aggSpec // by field
}

func newAggregation(o opts, fields []types.DataField, primaryKeys []string, seq Sequence) (*Aggregation, error) {
	a := &Aggregation{fields: fields, seq: seq, aggs: make([]*aggSpec, len(fields))}
	var err error
	if a.removeOnDelete, err = o.bool(OptAggregationRemoveOnDelete, false); err != nil {
		return nil, err
	}
	for i, f := range fields {
		name := aggregationFunc(o, f.Name, primaryKeys, seq.Fields)
		if a.aggs[i], err = newAggSpec(o, f, name); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// aggregationFunc is AggregateMergeFunction.getAggFuncName.
func aggregationFunc(o opts, field string, primaryKeys, seqFields []string) string {
	if slices.Contains(seqFields, field) {
		return FuncLastValue
	}
	if slices.Contains(primaryKeys, field) {
		return FuncPrimaryKey
	}
	if name, ok := o.fieldFunc(field); ok {
		return name
	}
	return FuncLastNonNullValue
}

// Pick panics: aggregation computes rows; SortMerge and MergeBuffer drive it.
func (a *Aggregation) Pick([]Record) int {
	panic("merge: the aggregation engine computes rows; use it through SortMerge or MergeBuffer")
}

// Function returns the aggregate function of a field ("" for no such field).
func (a *Aggregation) Function(field string) string {
	if i := types.FieldByName(a.fields, field); i >= 0 {
		return a.aggs[i].name
	}
	return ""
}

func (a *Aggregation) sequence() Sequence { return a.seq }
func (a *Aggregation) needs() []string    { return a.seq.Fields }

func (a *Aggregation) bind(c *core) (rowMerger, error) {
	m := &aggMerger{e: a, c: c, row: make([]slot, len(a.fields)), aggs: make([]fieldAgg, len(a.fields)), col: make([]int, len(a.fields))}
	for f, fd := range a.fields {
		col, ok := c.byName[fd.Name]
		if !ok {
			m.col[f] = -1
			continue
		}
		m.col[f] = col
		c.colField[col] = f
		agg, err := a.aggs[f].newAgg(c.schema.Field(col).Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", fd.Name, err)
		}
		m.aggs[f] = agg
		m.bound = append(m.bound, f)
	}
	return m, nil
}

type aggMerger struct {
	e     *Aggregation
	c     *core
	bound []int // table fields present in the input
	col   []int // by field: input column or -1
	row   []slot
	aggs  []fieldAgg
	in    slot
}

func (m *aggMerger) input(r Ref, f int) *slot {
	m.in.setCell(m.c.cellOf(r, m.col[f]))
	return &m.in
}

// initRow sets the row to a record's values, refusing nulls in NOT NULL fields.
func initRow(c *core, fields []types.DataField, bound, col []int, row []slot, r Ref) error {
	for _, f := range bound {
		v := c.cellOf(r, col[f])
		if v.isNull() && !fields[f].Type.Nullable {
			return fmt.Errorf("field %q can not be null", fields[f].Name)
		}
		row[f].setCell(v)
	}
	return nil
}

func (m *aggMerger) merge(g []Record) (result, error) {
	for _, f := range m.bound {
		m.row[f].setNull()
		m.aggs[f].reset()
	}
	deleteRow := false
	for _, r := range g {
		deleteRow = m.e.removeOnDelete && r.Kind == datafile.KindDelete
		if deleteRow {
			if err := initRow(m.c, m.e.fields, m.bound, m.col, m.row, r.Ref); err != nil {
				return result{}, err
			}
			continue
		}
		retract := datafile.IsRetract(r.Kind)
		for _, f := range m.bound {
			in := m.input(r.Ref, f)
			var err error
			if retract {
				err = m.aggs[f].retract(&m.row[f], in)
			} else {
				err = m.aggs[f].agg(&m.row[f], in)
			}
			if err != nil {
				return result{}, fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
			}
		}
	}
	last := len(g) - 1
	kind := datafile.KindInsert
	if deleteRow {
		kind = datafile.KindDelete
	}
	return result{what: resRow, rec: last, kind: kind, seq: g[last].Sequence}, nil
}

func (m *aggMerger) emit(f int, b array.Builder) { emitSlot(b, &m.row[f]) }

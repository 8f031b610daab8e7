package merge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// PartialUpdate is the partial-update merge engine (PartialUpdateMergeFunction): non-null
// values overwrite. A sequence group (fields.<g1>[,<g2>...].sequence-group = <fields>)
// updates its fields only when its sequence fields do not go back, and then with nulls
// too; a field of a group may have an aggregate function. Retractions retract the fields
// of sequence groups; without groups they are errors unless ignore-delete or
// partial-update.remove-record-on-delete.
type PartialUpdate struct {
	fields         []types.DataField
	seq            Sequence
	ignoreDelete   bool
	removeOnDelete bool
	groups         []*seqGroup
	groupOf        []*seqGroup // by field: the group it is protected by or orders
	partialDelete  []bool      // by field: a sequence field of a group whose -D removes the row
	aggs           []*aggSpec  // by field, nil for none
}

type seqGroup struct {
	option    string
	seqFields []int
	protected []int
}

func newPartialUpdate(o opts, fields []types.DataField, primaryKeys []string, seq Sequence, ignoreDelete bool) (*PartialUpdate, error) {
	p := &PartialUpdate{
		fields: fields, seq: seq, ignoreDelete: ignoreDelete,
		groupOf: make([]*seqGroup, len(fields)), partialDelete: make([]bool, len(fields)), aggs: make([]*aggSpec, len(fields)),
	}
	var err error
	if p.removeOnDelete, err = o.bool(OptPartialUpdateRemoveOnDelete, false); err != nil {
		return nil, err
	}
	isPK := func(f string) bool { return slices.Contains(primaryKeys, f) }
	seqByName := map[string]int{}
	var allSeq []string
	protectedNames := map[string]bool{}
	protectedBy := map[int]bool{}
	for _, k := range o.keys() {
		if !strings.HasPrefix(k, "fields") || !strings.HasSuffix(k, suffixSequenceGroup) {
			continue
		}
		if !strings.HasPrefix(k, fieldsPrefix) || !strings.HasSuffix(k, "."+suffixSequenceGroup) || len(k) <= len(fieldsPrefix)+len(suffixSequenceGroup)+1 {
			return nil, fmt.Errorf("invalid sequence-group option: %s", k)
		}
		v, _ := o.get(k)
		g := &seqGroup{option: k}
		for _, name := range strings.Split(k[len(fieldsPrefix):len(k)-len(suffixSequenceGroup)-1], ",") {
			i, err := fieldIndex(fields, name, k)
			if err != nil {
				return nil, err
			}
			if err := comparableType(fields[i].Type); err != nil {
				return nil, fmt.Errorf("option %s: sequence field %s: %w", k, name, err)
			}
			g.seqFields = append(g.seqFields, i)
		}
		for _, name := range strings.Split(v, ",") {
			i, err := fieldIndex(fields, name, k)
			if err != nil {
				return nil, err
			}
			if isPK(name) {
				return nil, fmt.Errorf("the sequence-group '%s' contains primary key field '%s', which is not allowed; primary key columns cannot be put in sequence-group", k, name)
			}
			if protectedBy[i] {
				return nil, fmt.Errorf("field %s is defined repeatedly by multiple groups: %s", name, k)
			}
			protectedBy[i] = true
			p.groupOf[i] = g
			protectedNames[name] = true
			g.protected = append(g.protected, i)
		}
		for _, i := range g.seqFields {
			name := fields[i].Name
			if isPK(name) {
				return nil, fmt.Errorf("the sequence-group '%s' contains primary key field '%s', which is not allowed; primary key columns cannot be put in sequence-group", k, name)
			}
			allSeq = append(allSeq, name)
			p.groupOf[i] = g
			seqByName[name] = i
		}
		p.groups = append(p.groups, g)
	}
	for i, f := range fields {
		name, ok := partialUpdateFunc(o, f.Name, primaryKeys, allSeq)
		if !ok {
			continue
		}
		if name != FuncLastNonNullValue && !protectedNames[f.Name] && name != FuncPrimaryKey {
			return nil, fmt.Errorf("must use sequence group for aggregation functions but not found for field %s", f.Name)
		}
		if p.aggs[i], err = newAggSpec(o, f, name); err != nil {
			return nil, err
		}
	}
	if p.removeOnDelete && ignoreDelete {
		return nil, fmt.Errorf("%s and %s have conflicting behavior so should not be enabled at the same time", OptIgnoreDelete, OptPartialUpdateRemoveOnDelete)
	}
	rmGroup, hasRmGroup := o.get(OptPartialUpdateRemoveOnSeqGrp)
	if hasRmGroup && ignoreDelete {
		return nil, fmt.Errorf("%s and %s have conflicting behavior so should not be enabled at the same time", OptIgnoreDelete, OptPartialUpdateRemoveOnSeqGrp)
	}
	if p.removeOnDelete && len(p.groups) > 0 {
		return nil, fmt.Errorf("sequence-group and %s have conflicting behavior so should not be enabled at the same time", OptPartialUpdateRemoveOnDelete)
	}
	if hasRmGroup {
		for _, name := range strings.Split(rmGroup, ",") {
			i, ok := seqByName[name]
			if !ok {
				return nil, fmt.Errorf("field '%s' defined in '%s' option must be part of sequence groups", rmGroup, OptPartialUpdateRemoveOnSeqGrp)
			}
			p.partialDelete[i] = true
		}
	}
	return p, nil
}

// partialUpdateFunc is PartialUpdateMergeFunction.getAggFuncName.
func partialUpdateFunc(o opts, field string, primaryKeys, seqFields []string) (string, bool) {
	if slices.Contains(seqFields, field) {
		return "", false
	}
	if slices.Contains(primaryKeys, field) {
		return FuncPrimaryKey, true
	}
	return o.fieldFunc(field)
}

// Pick panics: partial-update computes rows; SortMerge and MergeBuffer drive it.
func (p *PartialUpdate) Pick([]Record) int {
	panic("merge: the partial-update engine computes rows; use it through SortMerge or MergeBuffer")
}

func (p *PartialUpdate) sequence() Sequence { return p.seq }

func (p *PartialUpdate) needs() []string {
	out := slices.Clone(p.seq.Fields)
	for _, g := range p.groups {
		for _, f := range g.seqFields {
			out = append(out, p.fields[f].Name)
		}
	}
	return out
}

func (p *PartialUpdate) bind(c *core) (rowMerger, error) {
	n := len(p.fields)
	m := &puMerger{
		e: p, c: c, col: make([]int, n), row: make([]slot, n), aggs: make([]fieldAgg, n),
		cmps: map[*seqGroup][]cellCmp{}, processed: make([]bool, n), updated: make([]bool, n),
	}
	for f, fd := range p.fields {
		col, ok := c.byName[fd.Name]
		if !ok {
			m.col[f] = -1
			continue
		}
		m.col[f] = col
		c.colField[col] = f
		m.bound = append(m.bound, f)
		if p.aggs[f] != nil {
			agg, err := p.aggs[f].newAgg(c.schema.Field(col).Type)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", fd.Name, err)
			}
			m.aggs[f] = agg
		}
	}
	for _, g := range p.groups {
		cmps := make([]cellCmp, len(g.seqFields))
		for i, f := range g.seqFields {
			if m.col[f] < 0 {
				return nil, fmt.Errorf("merge: sequence-group field %q (%s) is not among the input columns", p.fields[f].Name, g.option)
			}
			cmp, err := comparatorFor(c.schema.Field(m.col[f]).Type)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", g.option, err)
			}
			cmps[i] = cmp
		}
		m.cmps[g] = cmps
	}
	return m, nil
}

type puMerger struct {
	e     *PartialUpdate
	c     *core
	bound []int
	col   []int
	row   []slot
	aggs  []fieldAgg
	cmps  map[*seqGroup][]cellCmp
	in    slot

	processed, updated []bool
	deleteRow          bool
}

func (m *puMerger) cell(r Ref, f int) cell { return m.c.cellOf(r, m.col[f]) }

// compareGroup compares a record's sequence fields of g with the row's, ascending with
// nulls first (UserDefinedSeqComparator.create(rowType, fields, true)).
func (m *puMerger) compareGroup(g *seqGroup, r Ref) int {
	cmps := m.cmps[g]
	for i, f := range g.seqFields {
		rowVal := cell{}
		if s := &m.row[f]; s.st == stRef {
			rowVal = s.ref
		}
		if c := compareNullsFirst(cmps[i], m.cell(r, f), rowVal, false); c != 0 {
			return c
		}
	}
	return 0
}

// emptyGroup reports a record whose sequence fields of g are all null, marking them
// processed.
func (m *puMerger) emptyGroup(g *seqGroup, r Ref) bool {
	for _, f := range g.seqFields {
		if !m.cell(r, f).isNull() {
			return false
		}
	}
	for _, f := range g.seqFields {
		m.processed[f] = true
	}
	return true
}

func isSeqField(g *seqGroup, f int) bool { return slices.Contains(g.seqFields, f) }

func (m *puMerger) merge(g []Record) (result, error) {
	for _, f := range m.bound {
		m.row[f].setNull()
		if m.aggs[f] != nil {
			m.aggs[f].reset()
		}
	}
	var latestSeq int64
	meetInsert, filled := false, false
	for _, r := range g {
		m.deleteRow = false
		if datafile.IsRetract(r.Kind) {
			if !filled {
				if err := m.initRow(r.Ref); err != nil {
					return result{}, err
				}
				filled = true
			}
			if m.e.ignoreDelete {
				continue
			}
			latestSeq = r.Sequence
			if len(m.e.groups) > 0 {
				if err := m.retractWithGroups(r); err != nil {
					return result{}, err
				}
				continue
			}
			if m.e.removeOnDelete {
				if r.Kind == datafile.KindDelete {
					m.deleteRow = true
					if err := m.initRow(r.Ref); err != nil {
						return result{}, err
					}
				}
				continue
			}
			return result{}, errPartialUpdateDelete
		}
		latestSeq = r.Sequence
		var err error
		if len(m.e.groups) == 0 {
			err = m.updateNonNull(r.Ref)
		} else {
			err = m.updateWithGroups(r.Ref)
		}
		if err != nil {
			return result{}, err
		}
		meetInsert, filled = true, true
	}
	kind := datafile.KindInsert
	if m.deleteRow || !meetInsert {
		kind = datafile.KindDelete
	}
	last := len(g) - 1
	return result{what: resRow, rec: last, kind: kind, seq: latestSeq}, nil
}

var errPartialUpdateDelete = fmt.Errorf("by default, partial update can not accept delete records; you can choose one of the following solutions: " +
	"1. configure 'ignore-delete' to ignore delete records; " +
	"2. configure 'partial-update.remove-record-on-delete' to remove the whole row when receiving delete records; " +
	"3. configure 'sequence-group's to retract partial columns, and also 'partial-update.remove-record-on-sequence-group' to remove the whole row when receiving deleted records of specified sequence groups")

func (m *puMerger) initRow(r Ref) error {
	return initRow(m.c, m.e.fields, m.bound, m.col, m.row, r)
}

func (m *puMerger) updateNonNull(r Ref) error {
	for _, f := range m.bound {
		v := m.cell(r, f)
		if !v.isNull() {
			m.row[f].st, m.row[f].ref = stRef, v
		} else if !m.e.fields[f].Type.Nullable {
			return fmt.Errorf("field %q can not be null", m.e.fields[f].Name)
		}
	}
	return nil
}

func (m *puMerger) input(r Ref, f int) *slot {
	m.in.setCell(m.cell(r, f))
	return &m.in
}

func (m *puMerger) updateWithGroups(r Ref) error {
	clear(m.processed)
	for _, f := range m.bound {
		g, agg := m.e.groupOf[f], m.aggs[f]
		if g == nil {
			if agg != nil {
				if err := agg.agg(&m.row[f], m.input(r, f)); err != nil {
					return fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
				}
			} else if v := m.cell(r, f); !v.isNull() {
				m.row[f].setCell(v)
			}
			continue
		}
		if m.processed[f] || m.emptyGroup(g, r) {
			continue
		}
		if m.compareGroup(g, r) >= 0 {
			if isSeqField(g, f) {
				for _, sf := range g.seqFields {
					m.row[sf].setCell(m.cell(r, sf))
					m.processed[sf] = true
				}
				continue
			}
			if agg == nil {
				m.row[f].setCell(m.cell(r, f))
			} else if err := agg.agg(&m.row[f], m.input(r, f)); err != nil {
				return fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
			}
		} else if agg != nil {
			if err := aggReversed(agg, &m.row[f], m.input(r, f)); err != nil {
				return fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
			}
		}
	}
	return nil
}

func (m *puMerger) retractWithGroups(r Record) error {
	clear(m.processed)
	clear(m.updated)
	for _, f := range m.bound {
		g, agg := m.e.groupOf[f], m.aggs[f]
		if g == nil || m.processed[f] || m.emptyGroup(g, r.Ref) {
			continue
		}
		if m.compareGroup(g, r.Ref) >= 0 {
			if isSeqField(g, f) {
				for _, sf := range g.seqFields {
					if !m.updated[sf] {
						if r.Kind == datafile.KindDelete && m.e.partialDelete[sf] {
							m.deleteRow = true
							return m.initRow(r.Ref)
						}
						m.row[sf].setCell(m.cell(r.Ref, sf))
						m.updated[sf] = true
					}
					m.processed[sf] = true
				}
				continue
			}
			if agg == nil {
				m.row[f].setNull()
			} else if err := agg.retract(&m.row[f], m.input(r.Ref, f)); err != nil {
				return fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
			}
		} else if agg != nil {
			if err := agg.retract(&m.row[f], m.input(r.Ref, f)); err != nil {
				return fmt.Errorf("field %q: %w", m.e.fields[f].Name, err)
			}
		}
	}
	return nil
}

func (m *puMerger) emit(f int, b array.Builder) { emitSlot(b, &m.row[f]) }

package merge

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/datafile"
)

// core is what SortMerge and MergeBuffer share: the batches records refer to, the engine
// bound to the input layout, the ordering of a key's records, and the output being built
// (refs to input rows, and rows the engine computed).
type core struct {
	eng    rowEngine // nil for a selecting engine
	picker Engine
	keep   bool // KeepDeletes
	mem    memory.Allocator

	batches []arrow.RecordBatch

	// The input layout, once bound.
	schema   *arrow.Schema
	keyCols  []int
	seqCol   int
	kindCol  int
	byName   map[string]int // value columns by field name
	colField []int          // by input column: the table field the engine computes, or -1
	m        rowMerger
	useq     []useqField
	useqDesc bool

	pending  []Ref // output rows; Batch -1 marks a built row
	rows     *rowBuilder
	nRows    int
	copyRefs bool // build selected records too (engines that compute rows)
	keyDesc  []byte

	// Lookup merging and changelog production (lookup.go).
	lookup    *Lookup
	clogOpts  *Changelog
	groupKey  []byte      // memcomparable key of the group being merged
	clog      []clogEntry // changelog of the pending output; refs like pending's
	clogOut   []arrow.RecordBatch
	valueCols []int // value columns compared by Changelog.Deduplicate
	scratch   []Record
	eqA, eqB  []byte
}

type useqField struct {
	col int
	cmp cellCmp
}

func newCore(e Engine, keep bool, mem memory.Allocator) *core {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	c := &core{picker: e, keep: keep, mem: mem}
	if re, ok := e.(rowEngine); ok {
		c.eng = re
	}
	return c
}

// bind binds the engine to the input schema; need marks the input columns computed rows
// must carry (others are null in computed rows).
func (c *core) bind(schema *arrow.Schema, keyCols []int, seqCol, kindCol int, need []bool, batchSize int) error {
	c.schema, c.keyCols, c.seqCol, c.kindCol = schema, keyCols, seqCol, kindCol
	n := schema.NumFields()
	if seqCol >= n || kindCol >= n {
		return fmt.Errorf("merge: input has %d columns, no _SEQUENCE_NUMBER at %d and _VALUE_KIND at %d", n, seqCol, kindCol)
	}
	if schema.Field(seqCol).Type.ID() != arrow.INT64 {
		return fmt.Errorf("merge: column %d (%s) is not _SEQUENCE_NUMBER", seqCol, schema.Field(seqCol).Name)
	}
	if schema.Field(kindCol).Type.ID() != arrow.INT8 {
		return fmt.Errorf("merge: column %d (%s) is not _VALUE_KIND", kindCol, schema.Field(kindCol).Name)
	}
	c.byName = make(map[string]int, n)
	c.colField = make([]int, n)
	for i, f := range schema.Fields() {
		c.colField[i] = -1
		if i == seqCol || i == kindCol {
			continue
		}
		if _, dup := c.byName[f.Name]; !dup {
			c.byName[f.Name] = i
		}
	}
	if c.eng == nil {
		return nil
	}
	for i, f := range schema.Fields() {
		if need[i] {
			if err := checkType(f.Type); err != nil {
				return fmt.Errorf("merge: column %q: %w", f.Name, err)
			}
		}
	}
	seq := c.eng.sequence()
	c.useqDesc = seq.Descending
	c.useq = c.useq[:0]
	for _, name := range seq.Fields {
		col, ok := c.byName[name]
		if !ok {
			return fmt.Errorf("merge: sequence field %q is not among the input columns", name)
		}
		cmp, err := comparatorFor(schema.Field(col).Type)
		if err != nil {
			return fmt.Errorf("merge: sequence field %q: %w", name, err)
		}
		c.useq = append(c.useq, useqField{col, cmp})
	}
	m, err := c.eng.bind(c)
	if err != nil {
		return err
	}
	c.m = m
	c.rows = newRowBuilder(schema, need, c.mem, batchSize)
	_, selects := m.(interface{ selectsOnly() })
	c.copyRefs = !selects
	return nil
}

// compare orders two records of one key: user sequence fields, sequence number, then
// retractions before additions (SortMergeReaderWithMinHeap).
func (c *core) compare(a, b *Record) int {
	for _, u := range c.useq {
		x := cell{c.batches[a.Batch].Column(u.col), int(a.Row)}
		y := cell{c.batches[b.Batch].Column(u.col), int(b.Row)}
		if r := compareNullsFirst(u.cmp, x, y, c.useqDesc); r != 0 {
			return r
		}
	}
	switch {
	case a.Sequence < b.Sequence:
		return -1
	case a.Sequence > b.Sequence:
		return 1
	}
	ar, br := datafile.IsRetract(a.Kind), datafile.IsRetract(b.Kind)
	switch {
	case ar == br:
		return 0
	case ar:
		return -1
	}
	return 1
}

// sortGroup orders a key's records stably (insertion sort: groups are small).
func (c *core) sortGroup(g []Record) {
	for i := 1; i < len(g); i++ {
		for j := i; j > 0 && c.compare(&g[j], &g[j-1]) < 0; j-- {
			g[j], g[j-1] = g[j-1], g[j]
		}
	}
}

// cellOf returns input column col of record r.
func (c *core) cellOf(r Ref, col int) cell {
	return cell{c.batches[r.Batch].Column(col), int(r.Row)}
}

// mergeGroup decides the records of one key and adds the result to the output.
func (c *core) mergeGroup(g []Record) error {
	c.sortGroup(g)
	if c.lookup != nil || c.clogOpts != nil {
		return c.mergeLookup(g)
	}
	if c.eng == nil {
		if i := c.picker.Pick(g); i >= 0 {
			c.pending = append(c.pending, g[i].Ref)
		}
		return nil
	}
	r := result{what: resRef}
	if len(g) > 1 {
		var err error
		if r, err = c.m.merge(g); err != nil {
			return fmt.Errorf("merging the records of key %s: %w", c.describeKey(g[len(g)-1].Ref), err)
		}
	}
	switch r.what {
	case resRef:
		rec := g[r.rec]
		if !c.keep && datafile.IsRetract(rec.Kind) {
			return nil
		}
		if c.copyRefs {
			// Engines that compute rows build every output row, so that a flush emits
			// the built columns as they are instead of gathering twice.
			c.rows.appendRecord(c, rec.Ref)
			c.pending = append(c.pending, Ref{Batch: -1, Row: int32(c.nRows)})
			c.nRows++
			return nil
		}
		c.pending = append(c.pending, rec.Ref)
	case resRow:
		if !c.keep && datafile.IsRetract(r.kind) {
			return nil
		}
		c.rows.append(c, g[r.rec].Ref, r.seq, r.kind)
		c.pending = append(c.pending, Ref{Batch: -1, Row: int32(c.nRows)})
		c.nRows++
	}
	return nil
}

func (c *core) describeKey(r Ref) string {
	parts := make([]string, len(c.keyCols))
	for i, k := range c.keyCols {
		parts[i] = c.batches[r.Batch].Column(k).ValueStr(int(r.Row))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// flush builds a batch of the pending output: columns out of the input layout, with
// schema.
func (c *core) flush(out []int, schema *arrow.Schema) (arrow.RecordBatch, error) {
	n := len(c.pending)
	cols := make([]arrow.Array, len(out))
	if c.nRows > 0 {
		cb := c.rows.finish(c.mem)
		defer cb.Release()
		if c.nRows == n && len(c.clog) == 0 {
			// Every row is computed, in order.
			for i, col := range out {
				cols[i] = cb.Column(col)
				cols[i].Retain()
			}
			c.pending, c.nRows = c.pending[:0], 0
			return newBatch(schema, cols, n), nil
		}
		id := int32(len(c.batches))
		c.batches = append(c.batches, cb)
		defer func() { c.batches = c.batches[:id] }()
		for k := range c.pending {
			if c.pending[k].Batch < 0 {
				c.pending[k].Batch = id
			}
		}
		for k := range c.clog {
			if c.clog[k].ref.Batch < 0 {
				c.clog[k].ref.Batch = id
			}
		}
	}
	if len(c.clog) > 0 {
		if err := c.flushChangelog(); err != nil {
			return nil, err
		}
	}
	for i, col := range out {
		a, err := Gather(c.mem, c.batches, col, c.pending)
		if err != nil {
			for _, x := range cols[:i] {
				x.Release()
			}
			return nil, err
		}
		cols[i] = a
	}
	c.pending, c.nRows = c.pending[:0], 0
	return newBatch(schema, cols, n), nil
}

func newBatch(schema *arrow.Schema, cols []arrow.Array, n int) arrow.RecordBatch {
	b := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return b
}

func (c *core) release() {
	if c.rows != nil {
		c.rows.release()
		c.rows = nil
	}
}

// rowBuilder builds the rows an engine computes, in the input layout.
type rowBuilder struct {
	schema   *arrow.Schema
	b        []array.Builder // nil for columns not needed
	n        int
	capacity int // rows reserved per batch
}

func newRowBuilder(schema *arrow.Schema, need []bool, mem memory.Allocator, capacity int) *rowBuilder {
	rb := &rowBuilder{schema: schema, b: make([]array.Builder, schema.NumFields()), capacity: capacity}
	for i, f := range schema.Fields() {
		if need[i] {
			rb.b[i] = array.NewBuilder(mem, f.Type)
			rb.b[i].Reserve(capacity)
		}
	}
	return rb
}

// append adds a computed row: key (and columns the engine does not compute) from record
// key, sequence number seq, row kind kind, values from the engine.
func (rb *rowBuilder) append(c *core, key Ref, seq int64, kind int8) {
	for col, b := range rb.b {
		switch {
		case b == nil:
		case col == c.seqCol:
			b.(*array.Int64Builder).Append(seq)
		case col == c.kindCol:
			b.(*array.Int8Builder).Append(kind)
		case c.colField[col] >= 0:
			c.m.emit(c.colField[col], b)
		default:
			appendCell(b, c.batches[key.Batch].Column(col), int(key.Row))
		}
	}
	rb.n++
}

// appendRecord adds a record as it is.
func (rb *rowBuilder) appendRecord(c *core, r Ref) {
	batch := c.batches[r.Batch]
	for col, b := range rb.b {
		if b != nil {
			appendCell(b, batch.Column(col), int(r.Row))
		}
	}
	rb.n++
}

// finish returns the rows built so far as a batch and starts anew.
func (rb *rowBuilder) finish(mem memory.Allocator) arrow.RecordBatch {
	cols := make([]arrow.Array, len(rb.b))
	for i, b := range rb.b {
		if b == nil {
			cols[i] = array.MakeArrayOfNull(mem, rb.schema.Field(i).Type, rb.n)
		} else {
			cols[i] = b.NewArray()
			b.Reserve(rb.capacity)
		}
	}
	out := newBatch(rb.schema, cols, rb.n)
	rb.n = 0
	return out
}

func (rb *rowBuilder) release() {
	for _, b := range rb.b {
		if b != nil {
			b.Release()
		}
	}
}

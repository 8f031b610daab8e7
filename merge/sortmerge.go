package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/datafile"
)

// Input yields the batches of one sorted run in key order, in the key-value layout: key
// columns [0, KeyCount), then _SEQUENCE_NUMBER, then _VALUE_KIND, then value columns.
type Input interface {
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// Options configure a sort merge.
type Options struct {
	KeyCount int
	Engine   Engine
	// Output lists the input columns to output, and Schema their output schema. Nil
	// Output means every input column, and nil Schema the input's schema.
	Output    []int
	Schema    *arrow.Schema
	BatchSize int
	Mem       memory.Allocator
	// KeepDeletes keeps a key whose merge result retracts (-U, -D) as that record instead
	// of dropping it: what compaction to a level below the highest needs, since such
	// records must keep shadowing older levels. Output should then be every input
	// column (the key-value layout).
	KeepDeletes bool
	// Lookup merges keys as Paimon's lookup tables do (see Lookup); nil: plainly.
	Lookup *Lookup
	// Changelog produces a changelog beside the output (see Changelog, TakeChangelog).
	Changelog *Changelog
}

type cursor struct {
	in      Input
	run     int
	batch   arrow.RecordBatch
	batchID int32
	row     int
	keys    []byte
	offs    []int32
	seq     *array.Int64
	kind    *array.Int8
	done    bool
	level   int32 // of the current batch (inputs implementing Leveled)
	context bool  // a Lookup.Context input
}

func (c *cursor) key() []byte { return c.keys[c.offs[c.row]:c.offs[c.row+1]] }

// SortMerge merges sorted runs: each key's records, from every run, are ordered (user
// sequence fields, sequence number) and merged by the engine. It implements
// datafile.BatchReader.
type SortMerge struct {
	opts    Options
	cursors []*cursor
	h       cursorHeap
	started bool
	c       *core // its batches are those referenced by pending refs, by batch id
	group   []Record
	one     [1]Record // the group of takeRun
	key     []byte
	err     error
}

// NewSortMerge merges inputs (each one sorted run) with an engine.
func NewSortMerge(inputs []Input, opts Options) *SortMerge {
	if opts.BatchSize <= 0 {
		opts.BatchSize = datafile.DefaultBatchSize
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	m := &SortMerge{opts: opts, c: newCore(opts.Engine, opts.KeepDeletes, opts.Mem)}
	m.c.lookup, m.c.clogOpts = opts.Lookup, opts.Changelog
	for i, in := range inputs {
		c := &cursor{in: in, run: i}
		c.context = opts.Lookup != nil && i < len(opts.Lookup.Context) && opts.Lookup.Context[i]
		m.cursors = append(m.cursors, c)
	}
	return m
}

// Schema is the output schema (for nil Options.Schema, known after the first Next).
func (m *SortMerge) Schema() *arrow.Schema { return m.opts.Schema }

// advanceBatch loads the next non-empty batch of c; it marks c done at the end.
func (m *SortMerge) advanceBatch(ctx context.Context, c *cursor) error {
	for {
		b, err := c.in.Next(ctx)
		if errors.Is(err, io.EOF) {
			c.done = true
			c.batch = nil
			return nil
		}
		if err != nil {
			return err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		c.batch = b
		if l, ok := c.in.(Leveled); ok {
			c.level = int32(l.Level())
		}
		c.batchID = int32(len(m.c.batches))
		m.c.batches = append(m.c.batches, b) // owned by m.c.batches now
		c.row = 0
		c.keys, c.offs = c.keys[:0], append(c.offs[:0], 0)
		for i := 0; i < int(b.NumRows()); i++ {
			for k := 0; k < m.opts.KeyCount; k++ {
				if c.keys, err = AppendArrowKey(c.keys, b.Column(k), i); err != nil {
					return err
				}
			}
			c.offs = append(c.offs, int32(len(c.keys)))
		}
		var ok bool
		if c.seq, ok = b.Column(m.opts.KeyCount).(*array.Int64); !ok {
			return fmt.Errorf("merge: column %d is not _SEQUENCE_NUMBER", m.opts.KeyCount)
		}
		if c.kind, ok = b.Column(m.opts.KeyCount + 1).(*array.Int8); !ok {
			return fmt.Errorf("merge: column %d is not _VALUE_KIND", m.opts.KeyCount+1)
		}
		return nil
	}
}

// start loads the first batch of every run and binds the engine to the input layout.
func (m *SortMerge) start(ctx context.Context) error {
	m.started = true
	for _, c := range m.cursors {
		if err := m.advanceBatch(ctx, c); err != nil {
			return err
		}
		if !c.done {
			m.h = append(m.h, c)
		}
	}
	m.h.init()
	if len(m.h) == 0 {
		return nil
	}
	schema := m.h[0].batch.Schema()
	if m.opts.Output == nil {
		m.opts.Output = make([]int, schema.NumFields())
		for i := range m.opts.Output {
			m.opts.Output[i] = i
		}
	}
	if m.opts.Schema == nil {
		fields := make([]arrow.Field, len(m.opts.Output))
		for i, c := range m.opts.Output {
			fields[i] = schema.Field(c)
		}
		m.opts.Schema = arrow.NewSchema(fields, nil)
	}
	need := make([]bool, schema.NumFields())
	for _, c := range m.opts.Output {
		if c < 0 || c >= len(need) {
			return fmt.Errorf("merge: output column %d of %d", c, len(need))
		}
		need[c] = true
	}
	if m.opts.Changelog != nil {
		// Changelog records carry every input column.
		for i := range need {
			need[i] = true
		}
	}
	keys := make([]int, m.opts.KeyCount)
	for i := range keys {
		keys[i] = i
	}
	return m.c.bind(schema, keys, m.opts.KeyCount, m.opts.KeyCount+1, need, m.opts.BatchSize)
}

// Next yields the next merged batch.
func (m *SortMerge) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if m.err != nil {
		return nil, m.err
	}
	if !m.started {
		if err := m.start(ctx); err != nil {
			m.err = err
			return nil, err
		}
	}
	for {
		for len(m.c.pending) < m.opts.BatchSize && len(m.c.clog) < m.opts.BatchSize && len(m.h) > 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if m.c.lookup == nil && m.c.clogOpts == nil {
				took, err := m.takeRun()
				if err != nil {
					m.err = err
					return nil, err
				}
				if took {
					continue
				}
			}
			// Collect every record of the smallest key.
			m.group = m.group[:0]
			m.key = append(m.key[:0], m.h[0].key()...)
			for len(m.h) > 0 && bytes.Equal(m.h[0].key(), m.key) {
				c := m.h[0]
				m.group = append(m.group, Record{Ref: Ref{Batch: c.batchID, Row: int32(c.row)}, Sequence: c.seq.Value(c.row), Kind: c.kind.Value(c.row), Level: c.level, context: c.context})
				c.row++
				if c.row >= int(c.batch.NumRows()) {
					if err := m.advanceBatch(ctx, c); err != nil {
						m.err = err
						return nil, err
					}
					if c.done {
						m.h.popTop()
						continue
					}
				}
				m.h.down(0)
			}
			m.c.groupKey = m.key
			if err := m.c.mergeGroup(m.group); err != nil {
				m.err = err
				return nil, err
			}
		}
		if len(m.c.pending) == 0 && len(m.c.clog) == 0 {
			return nil, io.EOF
		}
		out, err := m.c.flush(m.opts.Output, m.opts.Schema)
		if err != nil {
			m.err = err
			return nil, err
		}
		m.releaseUnused()
		if out.NumRows() > 0 {
			return out, nil
		}
		out.Release() // only changelog so far
	}
}

// takeRun merges the rows of the smallest cursor that are alone with their key: those
// below every other cursor's key (and unlike the next row of their own run), as long as
// the batch lasts but its last row, which the general path takes with the next batch.
// Each is a group of one record; the heap is fixed once for the run instead of once per
// row. It reports whether it took any row.
func (m *SortMerge) takeRun() (bool, error) {
	c := m.h[0]
	var bound []byte // the smallest key of the other cursors; nil: there are none
	if len(m.h) > 1 {
		b := 1
		if len(m.h) > 2 && less(m.h[2], m.h[1]) {
			b = 2
		}
		bound = m.h[b].key()
	}
	last := int(c.batch.NumRows()) - 1
	room := m.opts.BatchSize - len(m.c.pending)
	took := 0
	for ; c.row < last && took < room; took++ {
		k := c.key()
		if bound != nil && bytes.Compare(k, bound) >= 0 {
			break
		}
		if bytes.Equal(k, c.keys[c.offs[c.row+1]:c.offs[c.row+2]]) {
			break
		}
		m.one[0] = Record{Ref: Ref{Batch: c.batchID, Row: int32(c.row)}, Sequence: c.seq.Value(c.row), Kind: c.kind.Value(c.row), Level: c.level, context: c.context}
		if err := m.c.mergeGroup(m.one[:]); err != nil {
			return false, err
		}
		c.row++
	}
	if took > 0 {
		m.h.down(0)
	}
	return took > 0, nil
}

// TakeChangelog returns the changelog batches produced so far (Options.Changelog), in
// key order, and forgets them; the caller releases them. Call it after each Next,
// including the one that returns io.EOF.
func (m *SortMerge) TakeChangelog() []arrow.RecordBatch {
	out := m.c.clogOut
	m.c.clogOut = nil
	return out
}

// releaseUnused renumbers the batches still in use by cursors and releases the rest.
func (m *SortMerge) releaseUnused() {
	live := m.c.batches[:0:0]
	for id, b := range m.c.batches {
		used := false
		for _, c := range m.cursors {
			if !c.done && c.batchID == int32(id) && c.batch == b {
				c.batchID = int32(len(live))
				used = true
				break
			}
		}
		if used {
			live = append(live, b)
		} else {
			b.Release()
		}
	}
	m.c.batches = live
}

// Close releases everything.
func (m *SortMerge) Close() error {
	var first error
	for _, c := range m.cursors {
		if err := c.in.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, b := range m.c.batches {
		b.Release()
	}
	m.c.batches = nil
	for _, b := range m.c.clogOut {
		b.Release()
	}
	m.c.clogOut = nil
	m.c.release()
	return first
}

// cursorHeap is a min-heap of cursors by current key, then run index.
type cursorHeap []*cursor

func less(a, b *cursor) bool {
	if c := bytes.Compare(a.key(), b.key()); c != 0 {
		return c < 0
	}
	return a.run < b.run
}

func (h cursorHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down moves h[i] down to its place.
func (h cursorHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			j = r
		}
		if !less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// popTop removes the smallest cursor.
func (h *cursorHeap) popTop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}

package merge

import (
	"bytes"
	"container/heap"
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

// Engine decides what a key becomes from all its records, ordered by sequence number.
// It returns the index within group of the record to output, or -1 to output nothing.
type Engine interface {
	Pick(group []Record) int
}

// Record is one key-value record seen by an Engine.
type Record struct {
	Ref
	Sequence int64
	Kind     int8
}

// Deduplicate keeps the record with the highest sequence number; a key whose latest
// record retracts (-U, -D) is deleted (DeduplicateMergeFunction). With IgnoreDelete,
// retractions are skipped instead.
type Deduplicate struct{ IgnoreDelete bool }

// Pick implements Engine.
func (d Deduplicate) Pick(group []Record) int {
	for i := len(group) - 1; i >= 0; i-- {
		if !datafile.IsRetract(group[i].Kind) {
			return i
		}
		if !d.IgnoreDelete {
			return -1
		}
	}
	return -1
}

// FirstRow keeps the first inserted record of a key (FirstRowMergeFunction): retractions
// are ignored.
type FirstRow struct{}

// Pick implements Engine.
func (FirstRow) Pick(group []Record) int {
	for i, r := range group {
		if !datafile.IsRetract(r.Kind) {
			return i
		}
	}
	return -1
}

// Options configure a sort merge.
type Options struct {
	KeyCount int
	Engine   Engine
	// Output lists the input columns to output, and Schema their output schema.
	Output    []int
	Schema    *arrow.Schema
	BatchSize int
	Mem       memory.Allocator
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
}

func (c *cursor) key() []byte { return c.keys[c.offs[c.row]:c.offs[c.row+1]] }

// SortMerge merges sorted runs. It implements datafile.BatchReader.
type SortMerge struct {
	opts    Options
	cursors []*cursor
	h       cursorHeap
	started bool

	batches []arrow.RecordBatch // batches referenced by pending refs, by batch id
	pending []Ref
	group   []Record
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
	m := &SortMerge{opts: opts}
	for i, in := range inputs {
		m.cursors = append(m.cursors, &cursor{in: in, run: i})
	}
	return m
}

// Schema is the output schema.
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
		c.batchID = int32(len(m.batches))
		m.batches = append(m.batches, b) // owned by m.batches now
		c.row = 0
		c.keys, c.offs = c.keys[:0], append(c.offs[:0], 0)
		for i := 0; i < int(b.NumRows()); i++ {
			for k := 0; k < m.opts.KeyCount; k++ {
				c.keys, err = AppendArrowKey(c.keys, b.Column(k), i)
				if err != nil {
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

// Next yields the next merged batch.
func (m *SortMerge) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if m.err != nil {
		return nil, m.err
	}
	if !m.started {
		m.started = true
		for _, c := range m.cursors {
			if err := m.advanceBatch(ctx, c); err != nil {
				m.err = err
				return nil, err
			}
			if !c.done {
				m.h = append(m.h, c)
			}
		}
		heap.Init(&m.h)
	}
	for len(m.pending) < m.opts.BatchSize && len(m.h) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Collect every record of the smallest key, in sequence order.
		m.group = m.group[:0]
		top := m.h[0]
		key := append([]byte(nil), top.key()...)
		for len(m.h) > 0 && bytes.Equal(m.h[0].key(), key) {
			c := m.h[0]
			m.group = append(m.group, Record{Ref: Ref{Batch: c.batchID, Row: int32(c.row)}, Sequence: c.seq.Value(c.row), Kind: c.kind.Value(c.row)})
			c.row++
			if c.row >= int(c.batch.NumRows()) {
				if err := m.advanceBatch(ctx, c); err != nil {
					m.err = err
					return nil, err
				}
				if c.done {
					heap.Pop(&m.h)
					continue
				}
			}
			heap.Fix(&m.h, 0)
		}
		sortBySequence(m.group)
		if i := m.opts.Engine.Pick(m.group); i >= 0 {
			m.pending = append(m.pending, m.group[i].Ref)
		}
	}
	if len(m.pending) == 0 {
		return nil, io.EOF
	}
	return m.flush()
}

// flush gathers the pending refs into a batch and releases batches no cursor still reads.
func (m *SortMerge) flush() (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(m.opts.Output))
	for i, c := range m.opts.Output {
		a, err := Gather(m.opts.Mem, m.batches, c, m.pending)
		if err != nil {
			for _, x := range cols[:i] {
				x.Release()
			}
			return nil, err
		}
		cols[i] = a
	}
	out := array.NewRecordBatch(m.opts.Schema, cols, int64(len(m.pending)))
	for _, c := range cols {
		c.Release()
	}
	m.pending = m.pending[:0]
	// Renumber the batches still in use by cursors; release the rest.
	live := m.batches[:0:0]
	for id, b := range m.batches {
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
	m.batches = live
	return out, nil
}

// Close releases everything.
func (m *SortMerge) Close() error {
	var first error
	for _, c := range m.cursors {
		if err := c.in.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, b := range m.batches {
		b.Release()
	}
	m.batches = nil
	return first
}

// sortBySequence orders a key's records by sequence number, stably (insertion sort:
// groups are tiny).
func sortBySequence(g []Record) {
	for i := 1; i < len(g); i++ {
		for j := i; j > 0 && g[j].Sequence < g[j-1].Sequence; j-- {
			g[j], g[j-1] = g[j-1], g[j]
		}
	}
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].key(), h[j].key()); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

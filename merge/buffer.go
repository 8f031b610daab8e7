package merge

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/datafile"
)

// BufferOptions configure MergeBuffer.
type BufferOptions struct {
	// Keys are the primary-key columns (compared in order); Sequence and Kind the
	// _SEQUENCE_NUMBER and _VALUE_KIND columns. Other columns named as table fields are
	// the values the engine reads.
	Keys           []int
	Sequence, Kind int
	Engine         Engine
	BatchSize      int
	Mem            memory.Allocator
}

// SortBuffer returns the rows of a writer's buffer (batches of one layout, in no order)
// in merge order: key, user sequence fields, sequence number (SortBufferWriteBuffer).
func SortBuffer(batches []arrow.RecordBatch, o BufferOptions) ([]Ref, error) {
	c, rows, err := sortBuffer(batches, &o)
	if c != nil {
		c.release()
	}
	if err != nil {
		return nil, err
	}
	out := make([]Ref, len(rows.recs))
	for i := range rows.recs {
		out[i] = rows.recs[i].Ref
	}
	return out, nil
}

// sortedRows are a buffer's records in merge order with their key bytes.
type sortedRows struct {
	recs []Record
	offs []int32 // record i's key is keys[offs[2i]:offs[2i+1]]
	keys []byte
}

func (s *sortedRows) key(i int) []byte { return s.keys[s.offs[2*i]:s.offs[2*i+1]] }

// sortBuffer binds an engine to the buffer's layout and sorts its rows.
func sortBuffer(batches []arrow.RecordBatch, o *BufferOptions) (*core, *sortedRows, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = datafile.DefaultBatchSize
	}
	var n int
	for _, b := range batches {
		n += int(b.NumRows())
	}
	if n == 0 {
		return nil, &sortedRows{}, nil
	}
	c := newCore(o.Engine, true, o.Mem)
	c.batches = batches
	schema := batches[0].Schema()
	need := make([]bool, schema.NumFields())
	for i := range need {
		need[i] = true
	}
	if err := c.bind(schema, o.Keys, o.Sequence, o.Kind, need, min(o.BatchSize, n)); err != nil {
		return c, nil, err
	}
	type row struct {
		rec      Record
		from, to int32 // key bytes
	}
	rows := make([]row, 0, n)
	var keys []byte
	for bi, b := range batches {
		if !b.Schema().Equal(schema) {
			return c, nil, fmt.Errorf("merge: buffered batch %d has schema %s, want %s", bi, b.Schema(), schema)
		}
		seqs := b.Column(o.Sequence).(*array.Int64).Int64Values()
		kinds := b.Column(o.Kind).(*array.Int8).Int8Values()
		for i := 0; i < int(b.NumRows()); i++ {
			from := len(keys)
			var err error
			for _, k := range o.Keys {
				if keys, err = AppendArrowKey(keys, b.Column(k), i); err != nil {
					return c, nil, err
				}
			}
			rows = append(rows, row{Record{Ref: Ref{Batch: int32(bi), Row: int32(i)}, Sequence: seqs[i], Kind: kinds[i]}, int32(from), int32(len(keys))})
		}
	}
	// A stable sort by key and then the engine's order, done as an unstable sort of small
	// entries (the key's first 8 bytes, the row's position) ending on the position.
	type entry struct {
		prefix uint64
		pos    int32
	}
	order := make([]entry, n)
	for i := range rows {
		order[i] = entry{keyPrefix(keys[rows[i].from:rows[i].to]), int32(i)}
	}
	slices.SortFunc(order, func(x, y entry) int {
		if x.prefix != y.prefix {
			return cmp.Compare(x.prefix, y.prefix)
		}
		a, b := &rows[x.pos], &rows[y.pos]
		if k := bytes.Compare(keys[a.from:a.to], keys[b.from:b.to]); k != 0 {
			return k
		}
		if k := c.compare(&a.rec, &b.rec); k != 0 {
			return k
		}
		return cmp.Compare(x.pos, y.pos)
	})
	out := &sortedRows{recs: make([]Record, n), offs: make([]int32, 2*n), keys: keys}
	for i, e := range order {
		r := &rows[e.pos]
		out.recs[i] = r.rec
		out.offs[2*i], out.offs[2*i+1] = r.from, r.to
	}
	return c, out, nil
}

// keyPrefix is the first 8 bytes of a memcomparable key as a number that orders as
// the bytes do (shorter keys padded with zeros).
func keyPrefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// MergeBuffer sorts the rows of a writer's buffer as SortBuffer does and merges each
// key's records with the engine as Paimon's write buffer does
// (SortBufferWriteBuffer.forEach): results that retract are kept, since they must shadow
// older levels. The result batches have the input's columns; the caller releases them.
// The input batches are not released.
func MergeBuffer(batches []arrow.RecordBatch, o BufferOptions) ([]arrow.RecordBatch, error) {
	c, rows, err := sortBuffer(batches, &o)
	if c != nil {
		defer c.release()
	}
	if err != nil || len(rows.recs) == 0 {
		return nil, err
	}
	schema := batches[0].Schema()
	out := make([]int, schema.NumFields())
	for i := range out {
		out[i] = i
	}
	var result []arrow.RecordBatch
	fail := func(err error) ([]arrow.RecordBatch, error) {
		for _, b := range result {
			b.Release()
		}
		return nil, err
	}
	for i := 0; i < len(rows.recs); {
		j := i + 1
		for j < len(rows.recs) && bytes.Equal(rows.key(j), rows.key(i)) {
			j++
		}
		if err := c.mergeGroup(rows.recs[i:j]); err != nil {
			return fail(err)
		}
		if len(c.pending) >= o.BatchSize {
			b, err := c.flush(out, schema)
			if err != nil {
				return fail(err)
			}
			result = append(result, b)
		}
		i = j
	}
	if len(c.pending) > 0 {
		b, err := c.flush(out, schema)
		if err != nil {
			return fail(err)
		}
		result = append(result, b)
	}
	return result, nil
}

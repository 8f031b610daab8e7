package datafile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tarnlake/tarn/format/types"
)

// DefaultBatchSize is the number of rows per batch a reader yields.
const DefaultBatchSize = 64 * 1024

// Source is what a Parquet reader needs of an open file.
type Source interface {
	io.ReaderAt
	io.Seeker
	io.Reader
	Size() int64
}

// ParquetFile is an open Parquet data file.
type ParquetFile struct {
	name string
	rdr  *file.Reader
	fr   *pqarrow.FileReader
	// top-level fields by Paimon field id and by name
	byID   map[int]int
	byName map[string]int
}

// OpenParquet opens a Parquet data file; name is used in errors.
func OpenParquet(src Source, name string, mem memory.Allocator) (*ParquetFile, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	rdr, err := file.NewParquetReader(src, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("data file %s: not a readable Parquet file: %w", name, err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: DefaultBatchSize}, mem)
	if err != nil {
		rdr.Close()
		return nil, fmt.Errorf("data file %s: %w", name, err)
	}
	p := &ParquetFile{name: name, rdr: rdr, fr: fr, byID: map[int]int{}, byName: map[string]int{}}
	for i, f := range fr.Manifest.Fields {
		if id, ok := types.ArrowFieldID(*f.Field); ok && id >= 0 {
			p.byID[id] = i
		}
		p.byName[f.Field.Name] = i
	}
	return p, nil
}

// Close closes the file.
func (p *ParquetFile) Close() error { return p.rdr.Close() }

// NumRows is the file's row count.
func (p *ParquetFile) NumRows() int64 { return p.rdr.NumRows() }

// NumRowGroups is the number of row groups.
func (p *ParquetFile) NumRowGroups() int { return p.rdr.NumRowGroups() }

// Metadata is the file's Parquet footer.
func (p *ParquetFile) Metadata() *metadata.FileMetaData { return p.rdr.MetaData() }

// ColumnIndex returns the top-level column position of a Paimon field, matching by field
// id, or by name when the file carries no ids; -1 if absent.
func (p *ParquetFile) ColumnIndex(f types.DataField) int {
	if i, ok := p.byID[f.ID]; ok {
		return i
	}
	if len(p.byID) == 0 {
		if i, ok := p.byName[f.Name]; ok {
			return i
		}
	}
	return -1
}

// Read returns batches of the given fields, in that order, with Arrow types from
// types.ToArrow. Fields are found by id; a field the file lacks reads as nulls, and a
// column of another type (an older schema) is cast. rowGroups selects row groups (nil:
// all).
func (p *ParquetFile) Read(ctx context.Context, fields []types.DataField, rowGroups []int, batchSize int) (BatchReader, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", p.name, err)
	}
	src := make([]int, len(fields)) // position in the file's batches, or -1
	var leaves []int
	pos := 0
	// pqarrow returns the selected top-level fields in file order.
	selected := make([]bool, len(p.fr.Manifest.Fields))
	for i, f := range fields {
		src[i] = p.ColumnIndex(f)
		if src[i] >= 0 {
			if selected[src[i]] {
				return nil, fmt.Errorf("data file %s: field %q requested twice", p.name, f.Name)
			}
			selected[src[i]] = true
		}
	}
	// Top-level INT96 columns are decoded by Tarn (see int96Column); the rest by pqarrow.
	int96 := map[int]int{} // top-level field -> leaf column
	for top, sel := range selected {
		f := &p.fr.Manifest.Fields[top]
		if sel && f.IsLeaf() && p.rdr.MetaData().Schema.Column(f.ColIndex).PhysicalType() == parquet.Types.Int96 {
			int96[top] = f.ColIndex
		}
	}
	fileOrder := map[int]int{}
	for top, sel := range selected {
		if !sel {
			continue
		}
		if _, ok := int96[top]; ok {
			continue
		}
		fileOrder[top] = pos
		pos++
		leaves = appendLeaves(leaves, &p.fr.Manifest.Fields[top])
	}
	int96Cols := map[int]int{} // output position -> leaf column
	for i := range src {
		if src[i] < 0 {
			continue
		}
		if leaf, ok := int96[src[i]]; ok {
			int96Cols[i] = leaf
			src[i] = -2
			continue
		}
		src[i] = fileOrder[src[i]]
	}
	if rowGroups == nil {
		rowGroups = make([]int, p.rdr.NumRowGroups())
		for i := range rowGroups {
			rowGroups[i] = i
		}
	}
	var total int64
	for _, rg := range rowGroups {
		if rg < 0 || rg >= p.rdr.NumRowGroups() {
			return nil, fmt.Errorf("data file %s: no row group %d", p.name, rg)
		}
		total += p.rdr.MetaData().RowGroup(rg).NumRows()
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	r := &parquetBatches{file: p, schema: schema, src: src, remaining: total, batchSize: int64(batchSize), int96: map[int]*int96Column{}}
	for i, leaf := range int96Cols {
		ts, ok := schema.Field(i).Type.(*arrow.TimestampType)
		if !ok {
			return nil, fmt.Errorf("data file %s: INT96 column for field %q of type %s", p.name, fields[i].Name, fields[i].Type)
		}
		r.int96[i] = newInt96Column(p.rdr, leaf, rowGroups, ts)
	}
	if len(leaves) > 0 && total > 0 {
		p.fr.Props.BatchSize = int64(batchSize)
		rr, err := p.fr.GetRecordReader(ctx, leaves, rowGroups)
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", p.name, err)
		}
		r.rr = rr
	}
	return r, nil
}

func appendLeaves(out []int, f *pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(out, f.ColIndex)
	}
	for i := range f.Children {
		out = appendLeaves(out, &f.Children[i])
	}
	return out
}

type parquetBatches struct {
	file      *ParquetFile
	schema    *arrow.Schema
	src       []int
	rr        pqarrow.RecordReader
	remaining int64 // rows still to yield when pqarrow reads no column
	batchSize int64
	int96     map[int]*int96Column // output position -> INT96 reader
}

func (r *parquetBatches) Schema() *arrow.Schema { return r.schema }

func (r *parquetBatches) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var in arrow.RecordBatch
	var n int64
	if r.rr != nil {
		var err error
		in, err = r.rr.Read()
		if errors.Is(err, io.EOF) || (err == nil && in == nil) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", r.file.name, err)
		}
		n = in.NumRows()
		r.remaining -= n
	} else {
		if r.remaining <= 0 {
			return nil, io.EOF
		}
		n = min(r.remaining, r.batchSize)
		r.remaining -= n
	}
	cols := make([]arrow.Array, len(r.src))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, s := range r.src {
		want := r.schema.Field(i)
		if c, ok := r.int96[i]; ok {
			a, err := c.read(int(n), memory.DefaultAllocator)
			if err != nil {
				return nil, fmt.Errorf("data file %s: column %q: %w", r.file.name, want.Name, err)
			}
			cols[i] = a
			continue
		}
		if s < 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, want.Type, int(n))
			continue
		}
		c, err := Conform(ctx, in.Column(s), want.Type)
		if err != nil {
			return nil, fmt.Errorf("data file %s: column %q: %w", r.file.name, want.Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(r.schema, cols, n), nil
}

func (r *parquetBatches) Close() error {
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	return nil
}

// fieldIDOf reads the Paimon field id from a Parquet-derived Arrow field.
func fieldIDOf(f arrow.Field) int {
	i := f.Metadata.FindKey(types.FieldIDKey)
	if i < 0 {
		return -1
	}
	id, err := strconv.Atoi(f.Metadata.Values()[i])
	if err != nil {
		return -1
	}
	return id
}

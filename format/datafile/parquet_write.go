package datafile

import (
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tarnlake/tarn/format/types"
)

// DefaultPageSize is the data page size Tarn writes when parquet.page.size is not set.
// Paimon's writer (parquet-mr) writes pages of up to 1 MiB or 20,000 rows; Tarn writes
// smaller pages because a reader holds one decompressed page of every column of every
// file it merges at once: a compaction of 30 level-0 files of 33k customer rows each
// peaked at 603 MiB with 1 MiB pages and 348 MiB with 64 KiB pages, at the same CPU time
// and with 1% smaller files ('tarn bench compact').
const DefaultPageSize = 64 << 10

// WriterOptions configure a Parquet data file writer. Zero values take Paimon's defaults
// (file.compression zstd at level 1, dictionary encoding on), row groups of up to 1M
// rows and pages of DefaultPageSize.
type WriterOptions struct {
	Compression   string // zstd, snappy, gzip, lz4, none
	ZstdLevel     int
	RowGroupRows  int64
	PageSizeBytes int64 // parquet.page.size
	NoDictionary  bool  // parquet.enable.dictionary = false: no column has a dictionary
	Mem           memory.Allocator
}

func codec(name string) (compress.Compression, error) {
	switch name {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "lz4":
		return compress.Codecs.Lz4Raw, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return compress.Codecs.Uncompressed, fmt.Errorf("file.compression %q is not supported (zstd, snappy, gzip, lz4, none)", name)
}

// ParquetWriter writes one Parquet data file with Paimon's conventions: Paimon field ids on
// every column, nullability from the Paimon types, DECIMAL of precision <= 18 as INT32/
// INT64, TIMESTAMP of precision > 6 as INT96, lists as list/element, maps as key_value.
//
// Dictionary encoding is on for every column except those the first batch shows to be of
// high cardinality (see highCardinality): parquet-mr, Paimon's writer, gives such columns
// up after their first page when the dictionary does not pay; arrow-go keeps hashing every
// value until the dictionary page is full, which costs CPU and makes files larger.
type ParquetWriter struct {
	w          *pqarrow.FileWriter // nil until the first Write (or Close)
	out        io.Writer
	props      []parquet.WriterProperty
	arrowProps pqarrow.ArrowWriterProperties
	schema     *arrow.Schema
	rows       int64
	noDict     bool
}

// NewParquetWriter starts a file of the given fields (in file order, system columns
// included) on out.
func NewParquetWriter(out io.Writer, fields []types.DataField, o WriterOptions) (*ParquetWriter, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	c, err := codec(o.Compression)
	if err != nil {
		return nil, err
	}
	if o.ZstdLevel == 0 {
		o.ZstdLevel = 1
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = 1 << 20
	}
	if o.PageSizeBytes == 0 {
		o.PageSizeBytes = DefaultPageSize
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	props := []parquet.WriterProperty{
		parquet.WithCompression(c),
		parquet.WithCompressionLevel(o.ZstdLevel),
		parquet.WithMaxRowGroupLength(o.RowGroupRows),
		parquet.WithDataPageSize(o.PageSizeBytes),
		parquet.WithDictionaryDefault(!o.NoDictionary),
		parquet.WithStoreDecimalAsInteger(true),
		parquet.WithAllocator(o.Mem),
		parquet.WithRootName("paimon_schema"),
	}
	arrowProps := pqarrow.NewArrowWriterProperties(
		pqarrow.WithDeprecatedInt96Timestamps(true),
		pqarrow.WithAllocator(o.Mem),
	)
	p := &ParquetWriter{out: out, props: props, arrowProps: arrowProps, schema: schema, noDict: o.NoDictionary}
	// Fail here, not at the first Write, if the schema cannot be written.
	if _, err := pqarrow.ToParquet(schema, parquet.NewWriterProperties(props...), arrowProps); err != nil {
		return nil, err
	}
	return p, nil
}

// start creates the file writer; first (nil: none) decides the columns written without
// a dictionary.
func (p *ParquetWriter) start(first arrow.RecordBatch) error {
	props := p.props
	if first != nil && !p.noDict {
		for i, f := range p.schema.Fields() {
			if highCardinality(first.Column(i)) {
				props = append(slices.Clip(props), parquet.WithDictionaryFor(f.Name, false))
			}
		}
	}
	w, err := pqarrow.NewFileWriter(p.schema, p.out, parquet.NewWriterProperties(props...), p.arrowProps)
	if err != nil {
		return err
	}
	p.w = w
	return nil
}

// Columns whose sample of the first batch (up to dictSample rows, at least
// dictMinSample) is mostly distinct values, and whose values do not come back (the two
// halves of the sample share almost none), are written without a dictionary: unique keys,
// sequence numbers, amounts, timestamps, free text. Columns of bounded cardinality keep
// it even when a small sample sees few repeats: of 20000 values, two halves of 2048 rows
// share about 10% of their values (kept); of 50000 or more, under 3% (dropped).
const (
	dictSample    = 4096
	dictMinSample = 512
)

func highCardinality(a arrow.Array) bool {
	n := min(a.Len(), dictSample)
	if n < dictMinSample {
		return false
	}
	var hashOf func(i int) uint64
	switch c := a.(type) {
	case *array.Int64:
		v := c.Int64Values()
		hashOf = func(i int) uint64 { return uint64(v[i]) }
	case *array.Int32:
		v := c.Int32Values()
		hashOf = func(i int) uint64 { return uint64(v[i]) }
	case *array.Float64:
		v := c.Float64Values()
		hashOf = func(i int) uint64 { return math.Float64bits(v[i]) }
	case *array.Float32:
		v := c.Float32Values()
		hashOf = func(i int) uint64 { return uint64(math.Float32bits(v[i])) }
	case *array.Timestamp:
		v := c.TimestampValues()
		hashOf = func(i int) uint64 { return uint64(v[i]) }
	case *array.Date32:
		v := c.Date32Values()
		hashOf = func(i int) uint64 { return uint64(v[i]) }
	case *array.Decimal128:
		v := c.Values()
		hashOf = func(i int) uint64 { return v[i].LowBits() ^ uint64(v[i].HighBits())*0x9e3779b97f4a7c15 }
	case *array.String:
		seed := maphash.MakeSeed()
		hashOf = func(i int) uint64 { return maphash.String(seed, c.Value(i)) }
	case *array.Binary:
		seed := maphash.MakeSeed()
		hashOf = func(i int) uint64 { return maphash.Bytes(seed, c.Value(i)) }
	default:
		return false
	}
	half := n / 2
	first := make(map[uint64]struct{}, half)
	second := make(map[uint64]struct{}, n-half)
	nonNull := 0
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			continue
		}
		nonNull++
		if i < half {
			first[hashOf(i)] = struct{}{}
		} else {
			second[hashOf(i)] = struct{}{}
		}
	}
	if nonNull < dictMinSample || len(first)+len(second) < nonNull*7/10 {
		return false
	}
	shared := 0
	for h := range second {
		if _, ok := first[h]; ok {
			shared++
		}
	}
	return shared*100 < (len(first)+len(second))*3
}

// Schema is the Arrow schema batches must have.
func (p *ParquetWriter) Schema() *arrow.Schema { return p.schema }

// Write appends a batch whose columns are the writer's fields in order.
func (p *ParquetWriter) Write(b arrow.RecordBatch) error {
	if int(b.NumCols()) != p.schema.NumFields() {
		return fmt.Errorf("parquet writer: batch of %d columns for %d fields", b.NumCols(), p.schema.NumFields())
	}
	if !b.Schema().Equal(p.schema) {
		b = relabelBatch(b, p.schema)
		defer b.Release()
	}
	if p.w == nil {
		if err := p.start(b); err != nil {
			return err
		}
	}
	p.rows += b.NumRows()
	return p.w.WriteBuffered(b)
}

// Rows is the number of rows written.
func (p *ParquetWriter) Rows() int64 { return p.rows }

// EstimatedSize is the bytes written plus those buffered, for rolling files.
func (p *ParquetWriter) EstimatedSize() int64 {
	if p.w == nil {
		return 0
	}
	return p.w.RowGroupTotalCompressedBytes() + p.w.TotalCompressedBytes()
}

// Close finishes the file (the footer). It does not close the underlying writer.
func (p *ParquetWriter) Close() error {
	if p.w == nil {
		if err := p.start(nil); err != nil {
			return err
		}
	}
	return p.w.Close()
}

// relabelBatch gives a batch the writer's schema (field ids and names) when its columns
// already have the right types.
func relabelBatch(b arrow.RecordBatch, schema *arrow.Schema) arrow.RecordBatch {
	return arrowNewRecord(schema, b)
}

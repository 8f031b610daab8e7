package datafile

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tarnlake/tarn/format/types"
)

// WriterOptions configure a Parquet data file writer. Zero values take Paimon's defaults
// (file.compression zstd at level 1, parquet.block.size 128 MiB, page 1 MiB, dictionary
// encoding on).
type WriterOptions struct {
	Compression   string // zstd, snappy, gzip, lz4, none
	ZstdLevel     int
	RowGroupRows  int64
	PageSizeBytes int64
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
type ParquetWriter struct {
	w      *pqarrow.FileWriter
	schema *arrow.Schema
	rows   int64
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
		o.PageSizeBytes = 1 << 20
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(c),
		parquet.WithCompressionLevel(o.ZstdLevel),
		parquet.WithMaxRowGroupLength(o.RowGroupRows),
		parquet.WithDataPageSize(o.PageSizeBytes),
		parquet.WithDictionaryDefault(true),
		parquet.WithStoreDecimalAsInteger(true),
		parquet.WithAllocator(o.Mem),
		parquet.WithRootName("paimon_schema"),
	)
	arrowProps := pqarrow.NewArrowWriterProperties(
		pqarrow.WithDeprecatedInt96Timestamps(true),
		pqarrow.WithAllocator(o.Mem),
	)
	w, err := pqarrow.NewFileWriter(schema, out, props, arrowProps)
	if err != nil {
		return nil, err
	}
	return &ParquetWriter{w: w, schema: schema}, nil
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
	p.rows += b.NumRows()
	return p.w.WriteBuffered(b)
}

// Rows is the number of rows written.
func (p *ParquetWriter) Rows() int64 { return p.rows }

// EstimatedSize is the bytes written plus those buffered, for rolling files.
func (p *ParquetWriter) EstimatedSize() int64 {
	return p.w.RowGroupTotalCompressedBytes() + p.w.TotalCompressedBytes()
}

// Close finishes the file (the footer). It does not close the underlying writer.
func (p *ParquetWriter) Close() error { return p.w.Close() }

// relabelBatch gives a batch the writer's schema (field ids and names) when its columns
// already have the right types.
func relabelBatch(b arrow.RecordBatch, schema *arrow.Schema) arrow.RecordBatch {
	return arrowNewRecord(schema, b)
}

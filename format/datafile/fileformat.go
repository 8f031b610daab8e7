package datafile

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// The data file formats Paimon writes (CoreOptions file.format).
const (
	FormatParquet = "parquet"
	FormatORC     = "orc"
	FormatAvro    = "avro"
)

// DataFile is an open data file of any format.
type DataFile interface {
	// NumRows is the file's row count.
	NumRows() int64
	// ReadFields returns batches of the given fields, in that order, with Arrow types from
	// types.ToArrow: fields are matched by Paimon field id (by name where the format keeps
	// no ids), a field the file lacks reads as nulls and a column of an older type is
	// widened (Conform). batchSize <= 0 means DefaultBatchSize.
	ReadFields(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error)
	// Close closes the file and its source.
	Close() error
}

// FileWriter writes one data file of some format from Arrow record batches whose columns
// are the writer's fields in order.
type FileWriter interface {
	Schema() *arrow.Schema
	Write(b arrow.RecordBatch) error
	// Rows is the number of rows written.
	Rows() int64
	// EstimatedSize is the bytes written plus those buffered, for rolling files.
	EstimatedSize() int64
	// Close finishes the file; it does not close the underlying writer.
	Close() error
}

// OpenOptions configure OpenDataFile.
type OpenOptions struct {
	Mem memory.Allocator
	// FileFields are the fields of the schema the file was written with (its schema id),
	// if known. Formats that store no field ids (Avro) use them to find a field by id
	// whose name changed since; without them fields match by name.
	FileFields []types.DataField
}

// FormatOf is the format of a data file by its extension ("parquet", "orc", "avro").
func FormatOf(fileName string) (string, bool) {
	switch ext := strings.ToLower(strings.TrimPrefix(path.Ext(fileName), ".")); ext {
	case FormatParquet, FormatORC, FormatAvro:
		return ext, true
	}
	return "", false
}

// OpenDataFile opens a data file of the given format on src; name is used in errors.
// Closing the returned file closes src if it is an io.Closer.
func OpenDataFile(src Source, name, format string, o OpenOptions) (DataFile, error) {
	switch strings.ToLower(format) {
	case FormatParquet:
		p, err := OpenParquet(src, name, o.Mem)
		if err != nil {
			return nil, err
		}
		return parquetDataFile{p}, nil
	case FormatORC:
		return OpenORC(src, name, o)
	case FormatAvro:
		return OpenAvro(src, name, o)
	}
	return nil, fmt.Errorf("data file %s: format %q is not supported (parquet, orc, avro)", name, format)
}

// CheckWritable reports whether data files of the format can be written with the
// compression, by the names the format's writer accepts (file.compression).
func CheckWritable(format, compression string) error {
	var err error
	switch strings.ToLower(format) {
	case FormatParquet:
		_, err = codec(compression)
	case FormatORC:
		_, err = orcCompression(compression)
	case FormatAvro:
		_, err = avroCodecName(compression)
	default:
		err = fmt.Errorf("file format %q is not supported (parquet, orc, avro)", format)
	}
	return err
}

// NewFileWriter starts a data file of the given format and fields (in file order, system
// columns included) on out.
func NewFileWriter(out io.Writer, format string, fields []types.DataField, o WriterOptions) (FileWriter, error) {
	switch strings.ToLower(format) {
	case FormatParquet:
		return NewParquetWriter(out, fields, o)
	case FormatORC:
		return NewORCWriter(out, fields, o)
	case FormatAvro:
		return NewAvroWriter(out, fields, o)
	}
	return nil, fmt.Errorf("file.format %q is not supported (parquet, orc, avro)", format)
}

// parquetDataFile adapts ParquetFile to DataFile (all row groups).
type parquetDataFile struct{ *ParquetFile }

func (p parquetDataFile) ReadFields(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error) {
	return readThin(fields, p.hasField, func(fields []types.DataField) (BatchReader, error) {
		return p.ParquetFile.Read(ctx, fields, nil, batchSize)
	})
}

func (p parquetDataFile) hasField(f types.DataField) bool { return p.ColumnIndex(f) >= 0 }

// RowGroupReader is a DataFile that can skip row groups by their statistics (Parquet).
type RowGroupReader interface {
	// ReadSelected reads like ReadFields, from the row groups keep accepts only.
	ReadSelected(ctx context.Context, fields []types.DataField, keep RowGroupFilter, batchSize int) (BatchReader, error)
}

func (p parquetDataFile) ReadSelected(ctx context.Context, fields []types.DataField, keep RowGroupFilter, batchSize int) (BatchReader, error) {
	return readThin(fields, p.hasField, func(fields []types.DataField) (BatchReader, error) {
		return p.ParquetFile.Read(ctx, fields, p.SelectRowGroups(keep), batchSize)
	})
}

// readThin reads fields with read, taking the key fields (_KEY_<name>) the file lacks
// from their value fields: Paimon's thin data files (data-file.thin-mode) store a primary
// key only in its value columns, and Paimon's readers always read keys from them
// (FormatReaderMapping.trimKeyFields). Files with key columns are read as they are.
func readThin(fields []types.DataField, has func(types.DataField) bool, read func([]types.DataField) (BatchReader, error)) (BatchReader, error) {
	missing := func(f types.DataField) bool { return f.ID >= KeyFieldIDStart && f.ID < RowIDFieldID && !has(f) }
	if !slices.ContainsFunc(fields, missing) {
		return read(fields)
	}
	// Read each field once, a missing key field as its value field; pos maps each wanted
	// field to its column among those read.
	var phys []types.DataField
	pos := make([]int, len(fields))
	byID := map[int]int{}
	for i, f := range fields {
		if missing(f) {
			f = types.DataField{ID: f.ID - KeyFieldIDStart, Name: strings.TrimPrefix(f.Name, KeyFieldPrefix), Type: f.Type}
		}
		j, ok := byID[f.ID]
		if !ok {
			j = len(phys)
			byID[f.ID] = j
			phys = append(phys, f)
		}
		pos[i] = j
	}
	r, err := read(phys)
	if err != nil {
		return nil, err
	}
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &remapReader{in: r, schema: schema, pos: pos}, nil
}

// remapReader yields, for each wanted field, a column of the batches it reads.
type remapReader struct {
	in     BatchReader
	schema *arrow.Schema
	pos    []int
}

func (r *remapReader) Schema() *arrow.Schema { return r.schema }

func (r *remapReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	cols := make([]arrow.Array, len(r.pos))
	for i, j := range r.pos {
		cols[i] = b.Column(j)
	}
	return array.NewRecordBatch(r.schema, cols, b.NumRows()), nil
}

func (r *remapReader) Close() error { return r.in.Close() }

// closeSource closes a source that is an io.Closer.
func closeSource(src Source) error {
	if c, ok := src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// fileFieldNames maps requested fields to the names they had in the file's schema, by id:
// "" for a field the file's schema lacks (added since). Without file fields, names are
// kept. Key fields (_KEY_<name>) map through their value field; other system fields keep
// their names.
func fileFieldNames(fields, fileFields []types.DataField) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
		if len(fileFields) == 0 || f.ID >= RowIDFieldID {
			continue
		}
		id, prefix := f.ID, ""
		if f.ID >= KeyFieldIDStart {
			id, prefix = f.ID-KeyFieldIDStart, KeyFieldPrefix
		}
		out[i] = ""
		if j := types.FieldByID(fileFields, id); j >= 0 {
			out[i] = prefix + fileFields[j].Name
		}
	}
	return out
}

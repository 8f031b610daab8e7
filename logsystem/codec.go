package logsystem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// FormatVersion is the first byte of every record value Tarn writes to a log topic
// (docs/logsystem.md). A reader refuses other versions.
const FormatVersion byte = 1

// Record types, the second byte of a value.
const (
	typeRow    byte = 0 // one row: kind, sequence number, schema id, partition, values
	typeCommit byte = 1 // a commit marker: the snapshot the preceding rows were committed in
)

// ErrFormat is wrapped by every error decoding a record.
var ErrFormat = errors.New("logsystem: malformed record")

// RowHeader is what a row record says besides the row's values.
type RowHeader struct {
	Kind      int8  // 0 +I, 1 -U, 2 +U, 3 -D (Paimon's RowKind byte)
	Sequence  int64 // the row's sequence number in its bucket
	SchemaID  int64
	Partition []byte // serialized BinaryRow of the partition; nil for an unpartitioned table
	body      []byte
}

// Marker is a commit marker: written to every partition of the topic after the snapshot
// commit succeeded, it closes the rows of that commit in the partition.
type Marker struct {
	Snapshot   int64 // the snapshot the rows were committed in
	Rows       int64 // rows of the commit in this partition
	Partitions int32 // partitions the marker was written to (all of the topic's)
}

// AppendMarker appends a commit marker's value to dst.
func AppendMarker(dst []byte, m Marker) []byte {
	dst = append(dst, FormatVersion, typeCommit)
	dst = binary.AppendUvarint(dst, uint64(m.Snapshot))
	dst = binary.AppendUvarint(dst, uint64(m.Rows))
	return binary.AppendUvarint(dst, uint64(m.Partitions))
}

// Decoded is a decoded record value: a row (Row set) or a commit marker (Marker set).
type Decoded struct {
	Row    *RowHeader
	Marker *Marker
}

// Decode parses a record value's header. A row's values are decoded by a RowDecoder.
func Decode(value []byte) (Decoded, error) {
	if len(value) < 2 {
		return Decoded{}, fmt.Errorf("%w: %d bytes", ErrFormat, len(value))
	}
	if value[0] != FormatVersion {
		return Decoded{}, fmt.Errorf("%w: format version %d (this reader knows %d)", ErrFormat, value[0], FormatVersion)
	}
	r := reader{b: value[2:]}
	switch value[1] {
	case typeRow:
		if len(r.b) < 1 {
			return Decoded{}, fmt.Errorf("%w: no row kind", ErrFormat)
		}
		h := &RowHeader{Kind: int8(r.b[0])}
		r.b = r.b[1:]
		if h.Kind < 0 || h.Kind > 3 {
			return Decoded{}, fmt.Errorf("%w: row kind %d", ErrFormat, h.Kind)
		}
		h.Sequence = int64(r.uvarint())
		h.SchemaID = int64(r.uvarint())
		if n := r.uvarint(); n > 0 {
			h.Partition = r.bytes(n)
		}
		if r.err != nil {
			return Decoded{}, r.err
		}
		h.body = r.b
		return Decoded{Row: h}, nil
	case typeCommit:
		m := &Marker{Snapshot: int64(r.uvarint()), Rows: int64(r.uvarint()), Partitions: int32(r.uvarint())}
		if r.err != nil {
			return Decoded{}, r.err
		}
		return Decoded{Marker: m}, nil
	}
	return Decoded{}, fmt.Errorf("%w: record type %d", ErrFormat, value[1])
}

// RowEncoder encodes the rows of batches in a table's layout (its columns, then
// _SEQUENCE_NUMBER and _VALUE_KIND) as record keys and values.
type RowEncoder struct {
	fields   []types.DataField
	schemaID int64
	keyIdx   []int // primary key columns (BinaryRow key); nil for append-only tables
	keyTypes []types.DataType
	keyW     *binaryrow.Writer

	cols  []encodeFunc
	keys  []keySetter
	seqs  *array.Int64
	kinds *array.Int8
}

type encodeFunc func(dst []byte, i int) []byte

// NewRowEncoder encodes rows of the given fields (a table schema's) with its id; keys are
// the positions of the primary key columns (nil: records have no key).
func NewRowEncoder(fields []types.DataField, schemaID int64, keys []int) *RowEncoder {
	e := &RowEncoder{fields: fields, schemaID: schemaID, keyIdx: keys}
	if len(keys) > 0 {
		e.keyW = binaryrow.NewWriter(len(keys))
		for _, k := range keys {
			e.keyTypes = append(e.keyTypes, fields[k].Type)
		}
	}
	return e
}

// Reset binds the encoder to a batch in table layout.
func (e *RowEncoder) Reset(b arrow.RecordBatch) error {
	n := len(e.fields)
	if int(b.NumCols()) != n+2 {
		return fmt.Errorf("logsystem: batch has %d columns, want %d values + sequence + kind", b.NumCols(), n)
	}
	e.cols = e.cols[:0]
	for i := 0; i < n; i++ {
		f, err := encoderFor(b.Column(i))
		if err != nil {
			return fmt.Errorf("logsystem: column %q: %w", e.fields[i].Name, err)
		}
		e.cols = append(e.cols, f)
	}
	e.keys = e.keys[:0]
	for j, k := range e.keyIdx {
		s, err := newKeySetter(b.Column(k), e.keyTypes[j])
		if err != nil {
			return fmt.Errorf("logsystem: key column %q: %w", e.fields[k].Name, err)
		}
		e.keys = append(e.keys, s)
	}
	var ok bool
	if e.seqs, ok = b.Column(n).(*array.Int64); !ok {
		return fmt.Errorf("logsystem: sequence column is %s", b.Column(n).DataType())
	}
	if e.kinds, ok = b.Column(n + 1).(*array.Int8); !ok {
		return fmt.Errorf("logsystem: kind column is %s", b.Column(n+1).DataType())
	}
	return nil
}

// Key appends row i's key (the BinaryRow bytes of its primary key) to dst.
func (e *RowEncoder) Key(dst []byte, i int) []byte {
	if len(e.keys) == 0 {
		return dst
	}
	e.keyW.Reset()
	for pos, s := range e.keys {
		s(e.keyW, pos, i)
	}
	return append(dst, e.keyW.Row().Bytes()...)
}

// Sequence is row i's sequence number.
func (e *RowEncoder) Sequence(i int) int64 { return e.seqs.Value(i) }

// Value appends row i's record value to dst: header, partition, then the values.
func (e *RowEncoder) Value(dst []byte, partition []byte, i int) []byte {
	dst = append(dst, FormatVersion, typeRow, byte(e.kinds.Value(i)))
	dst = binary.AppendUvarint(dst, uint64(e.seqs.Value(i)))
	dst = binary.AppendUvarint(dst, uint64(e.schemaID))
	if isEmptyPartition(partition) {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(partition)))
		dst = append(dst, partition...)
	}
	return e.appendRow(dst, i)
}

func (e *RowEncoder) appendRow(dst []byte, i int) []byte {
	// Null bitmap, then the non-null values in field order.
	start := len(dst)
	nb := (len(e.cols) + 7) / 8
	for k := 0; k < nb; k++ {
		dst = append(dst, 0)
	}
	for j, f := range e.cols {
		if f == nil {
			dst[start+j/8] |= 1 << (j % 8)
			continue
		}
		if out := f(dst, i); out != nil {
			dst = out
		} else {
			dst[start+j/8] |= 1 << (j % 8)
		}
	}
	return dst
}

// isEmptyPartition reports whether p is the serialized BinaryRow of arity 0.
func isEmptyPartition(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if len(p) != 12 {
		return false
	}
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// encoderFor returns a function appending element i of a (non-null: it returns nil for a
// null) to dst.
func encoderFor(a arrow.Array) (encodeFunc, error) {
	var f encodeFunc
	switch a := a.(type) {
	case *array.Null:
		return func([]byte, int) []byte { return nil }, nil
	case *array.Boolean:
		f = func(dst []byte, i int) []byte {
			if a.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
	case *array.Int8:
		f = func(dst []byte, i int) []byte { return append(dst, byte(a.Value(i))) }
	case *array.Int16:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, int64(a.Value(i))) }
	case *array.Int32:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, int64(a.Value(i))) }
	case *array.Int64:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, a.Value(i)) }
	case *array.Date32:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, int64(a.Value(i))) }
	case *array.Time32:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, int64(a.Value(i))) }
	case *array.Timestamp:
		f = func(dst []byte, i int) []byte { return binary.AppendVarint(dst, int64(a.Value(i))) }
	case *array.Float32:
		f = func(dst []byte, i int) []byte {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(a.Value(i)))
		}
	case *array.Float64:
		f = func(dst []byte, i int) []byte {
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.Value(i)))
		}
	case *array.Decimal128:
		f = func(dst []byte, i int) []byte {
			v := a.Value(i)
			dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
			return binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
		}
	case *array.String:
		f = func(dst []byte, i int) []byte {
			s := a.Value(i)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			return append(dst, s...)
		}
	case *array.Binary:
		f = func(dst []byte, i int) []byte {
			s := a.Value(i)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			return append(dst, s...)
		}
	case *array.List:
		elem, err := encoderFor(a.ListValues())
		if err != nil {
			return nil, err
		}
		f = func(dst []byte, i int) []byte {
			lo, hi := a.ValueOffsets(i)
			return appendElems(dst, elem, int(lo), int(hi))
		}
	case *array.FixedSizeList:
		elem, err := encoderFor(a.ListValues())
		if err != nil {
			return nil, err
		}
		n := int(a.DataType().(*arrow.FixedSizeListType).Len())
		f = func(dst []byte, i int) []byte {
			lo := a.Offset() + i
			return appendElems(dst, elem, lo*n, (lo+1)*n)
		}
	case *array.Map:
		keys, err := encoderFor(a.Keys())
		if err != nil {
			return nil, err
		}
		items, err := encoderFor(a.Items())
		if err != nil {
			return nil, err
		}
		f = func(dst []byte, i int) []byte {
			lo, hi := a.ValueOffsets(i)
			dst = appendElems(dst, keys, int(lo), int(hi))
			return appendElems(dst, items, int(lo), int(hi))
		}
	case *array.Struct:
		fs := make([]encodeFunc, a.NumField())
		for k := range fs {
			var err error
			if fs[k], err = encoderFor(a.Field(k)); err != nil {
				return nil, err
			}
		}
		f = func(dst []byte, i int) []byte {
			start := len(dst)
			for k := 0; k < (len(fs)+7)/8; k++ {
				dst = append(dst, 0)
			}
			for k, ef := range fs {
				if out := ef(dst, i); out != nil {
					dst = out
				} else {
					dst[start+k/8] |= 1 << (k % 8)
				}
			}
			return dst
		}
	default:
		return nil, fmt.Errorf("type %s is not supported by the log codec", a.DataType())
	}
	if a.NullN() == 0 {
		return f, nil
	}
	return func(dst []byte, i int) []byte {
		if a.IsNull(i) {
			return nil
		}
		return f(dst, i)
	}, nil
}

// appendElems writes a count, a null bitmap and the non-null elements lo..hi of a child.
func appendElems(dst []byte, elem encodeFunc, lo, hi int) []byte {
	n := hi - lo
	dst = binary.AppendUvarint(dst, uint64(n))
	start := len(dst)
	for k := 0; k < (n+7)/8; k++ {
		dst = append(dst, 0)
	}
	for k := 0; k < n; k++ {
		if out := elem(dst, lo+k); out != nil {
			dst = out
		} else {
			dst[start+k/8] |= 1 << (k % 8)
		}
	}
	return dst
}

// keySetter writes row i of a key column into a BinaryRow writer.
type keySetter func(w *binaryrow.Writer, pos, i int)

func newKeySetter(arr arrow.Array, t types.DataType) (keySetter, error) {
	var f keySetter
	switch a := arr.(type) {
	case *array.Boolean:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteBoolean(pos, a.Value(i)) }
	case *array.Int8:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteTinyInt(pos, a.Value(i)) }
	case *array.Int16:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteSmallInt(pos, a.Value(i)) }
	case *array.Int32:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, a.Value(i)) }
	case *array.Date32:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, int32(a.Value(i))) }
	case *array.Time32:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteInt(pos, int32(a.Value(i))) }
	case *array.Int64:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteLong(pos, a.Value(i)) }
	case *array.Float32:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteFloat(pos, a.Value(i)) }
	case *array.Float64:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteDouble(pos, a.Value(i)) }
	case *array.String:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteBytes(pos, []byte(a.Value(i))) }
	case *array.Binary:
		f = func(w *binaryrow.Writer, pos, i int) { w.WriteBytes(pos, a.Value(i)) }
	case *array.Decimal128:
		f = func(w *binaryrow.Writer, pos, i int) {
			if t.Precision <= 18 {
				w.WriteLong(pos, int64(a.Value(i).LowBits()))
				return
			}
			_ = w.Set(pos, t, binaryrow.Decimal{Unscaled: a.Value(i).BigInt(), Scale: t.Scale})
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		f = func(w *binaryrow.Writer, pos, i int) {
			w.WriteTimestamp(pos, t.Precision, datafile.TimestampOf(int64(a.Value(i)), unit), false)
		}
	default:
		return nil, fmt.Errorf("type %s cannot be a key column", arr.DataType())
	}
	if arr.NullN() == 0 {
		return f, nil
	}
	return func(w *binaryrow.Writer, pos, i int) {
		if arr.IsNull(i) {
			w.SetNull(pos)
			return
		}
		f(w, pos, i)
	}, nil
}

// RowDecoder appends decoded rows of one schema to Arrow builders.
type RowDecoder struct {
	fields []types.DataField
	schema *arrow.Schema
	rb     *array.RecordBuilder
	bs     []array.Builder
	decs   []decodeFunc
	rows   int
}

// decodeFunc decodes one non-null value starting at b[i] into its builder and returns the
// index after it, or -1 when b is too short or the value malformed. Decoding works on
// indexes, not on a reader object, so that the hot loop writes no pointers.
type decodeFunc func(b []byte, i int) int

// NewRowDecoder decodes rows of fields into batches with the fields' Arrow schema.
func NewRowDecoder(fields []types.DataField, mem memory.Allocator) (*RowDecoder, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	d := &RowDecoder{fields: fields, schema: schema, rb: array.NewRecordBuilder(mem, schema)}
	for i := range fields {
		f, err := decoderFor(d.rb.Field(i))
		if err != nil {
			d.rb.Release()
			return nil, fmt.Errorf("logsystem: column %q: %w", fields[i].Name, err)
		}
		d.decs = append(d.decs, f)
		d.bs = append(d.bs, d.rb.Field(i))
	}
	return d, nil
}

// Schema is the Arrow schema of the decoded batches.
func (d *RowDecoder) Schema() *arrow.Schema { return d.schema }

// Len is the number of rows appended since the last NewBatch.
func (d *RowDecoder) Len() int { return d.rows }

// Append decodes a row's values. On error the builders may hold a partial row: the
// decoder must not be used further.
func (d *RowDecoder) Append(h *RowHeader) error {
	b := h.body
	nb := (len(d.decs) + 7) / 8
	if len(b) < nb {
		return fmt.Errorf("%w: truncated null bitmap", ErrFormat)
	}
	i := nb
	for j, f := range d.decs {
		if b[j>>3]&(1<<(j&7)) != 0 {
			d.bs[j].AppendNull()
			continue
		}
		if i = f(b, i); i < 0 {
			return fmt.Errorf("%w: column %q: truncated or malformed value", ErrFormat, d.fields[j].Name)
		}
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d bytes after the last column (was the record written with another schema?)", ErrFormat, len(b)-i)
	}
	d.rows++
	return nil
}

// NewBatch returns the rows appended so far as a batch (nil if none).
func (d *RowDecoder) NewBatch() arrow.RecordBatch {
	if d.rows == 0 {
		return nil
	}
	d.rows = 0
	return d.rb.NewRecordBatch()
}

// Release frees the builders.
func (d *RowDecoder) Release() { d.rb.Release() }

func uvarintAt(b []byte, i int) (uint64, int) {
	if i < 0 || i >= len(b) {
		return 0, -1
	}
	v, n := binary.Uvarint(b[i:])
	if n <= 0 {
		return 0, -1
	}
	return v, i + n
}

func varintAt(b []byte, i int) (int64, int) {
	if i < 0 || i >= len(b) {
		return 0, -1
	}
	v, n := binary.Varint(b[i:])
	if n <= 0 {
		return 0, -1
	}
	return v, i + n
}

// bytesAt reads a length-prefixed byte string.
func bytesAt(b []byte, i int) ([]byte, int) {
	n, i := uvarintAt(b, i)
	if i < 0 || n > uint64(len(b)-i) {
		return nil, -1
	}
	return b[i : i+int(n)], i + int(n)
}

func decoderFor(bld array.Builder) (decodeFunc, error) {
	switch bb := bld.(type) {
	case *array.BooleanBuilder:
		return func(b []byte, i int) int {
			if i >= len(b) {
				return -1
			}
			bb.Append(b[i] != 0)
			return i + 1
		}, nil
	case *array.Int8Builder:
		return func(b []byte, i int) int {
			if i >= len(b) {
				return -1
			}
			bb.Append(int8(b[i]))
			return i + 1
		}, nil
	case *array.Int16Builder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(int16(v))
			}
			return i
		}, nil
	case *array.Int32Builder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(int32(v))
			}
			return i
		}, nil
	case *array.Int64Builder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(v)
			}
			return i
		}, nil
	case *array.Date32Builder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(arrow.Date32(v))
			}
			return i
		}, nil
	case *array.Time32Builder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(arrow.Time32(v))
			}
			return i
		}, nil
	case *array.TimestampBuilder:
		return func(b []byte, i int) int {
			v, i := varintAt(b, i)
			if i >= 0 {
				bb.Append(arrow.Timestamp(v))
			}
			return i
		}, nil
	case *array.Float32Builder:
		return func(b []byte, i int) int {
			if len(b)-i < 4 {
				return -1
			}
			bb.Append(math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
			return i + 4
		}, nil
	case *array.Float64Builder:
		return func(b []byte, i int) int {
			if len(b)-i < 8 {
				return -1
			}
			bb.Append(math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
			return i + 8
		}, nil
	case *array.Decimal128Builder:
		return func(b []byte, i int) int {
			if len(b)-i < 16 {
				return -1
			}
			lo := binary.LittleEndian.Uint64(b[i:])
			hi := binary.LittleEndian.Uint64(b[i+8:])
			bb.Append(decimal128.New(int64(hi), lo))
			return i + 16
		}, nil
	case *array.StringBuilder:
		return func(b []byte, i int) int {
			v, i := bytesAt(b, i)
			if i >= 0 {
				bb.BinaryBuilder.Append(v)
			}
			return i
		}, nil
	case *array.BinaryBuilder:
		return func(b []byte, i int) int {
			v, i := bytesAt(b, i)
			if i >= 0 {
				bb.Append(v)
			}
			return i
		}, nil
	case *array.ListBuilder:
		vb := bb.ValueBuilder()
		elem, err := decoderFor(vb)
		if err != nil {
			return nil, err
		}
		return func(b []byte, i int) int {
			bb.Append(true)
			_, i = decodeElems(b, i, vb, elem)
			return i
		}, nil
	case *array.FixedSizeListBuilder:
		vb := bb.ValueBuilder()
		elem, err := decoderFor(vb)
		if err != nil {
			return nil, err
		}
		n := uint64(bb.Type().(*arrow.FixedSizeListType).Len())
		return func(b []byte, i int) int {
			bb.Append(true)
			got, i := decodeElems(b, i, vb, elem)
			if got != n {
				return -1
			}
			return i
		}, nil
	case *array.MapBuilder:
		kb, ib := bb.KeyBuilder(), bb.ItemBuilder()
		kd, err := decoderFor(kb)
		if err != nil {
			return nil, err
		}
		vd, err := decoderFor(ib)
		if err != nil {
			return nil, err
		}
		return func(b []byte, i int) int {
			bb.Append(true)
			nk, i := decodeElems(b, i, kb, kd)
			nv, i := decodeElems(b, i, ib, vd)
			if nk != nv {
				return -1
			}
			return i
		}, nil
	case *array.StructBuilder:
		fs := make([]decodeFunc, bb.NumField())
		fbs := make([]array.Builder, bb.NumField())
		for k := range fs {
			fbs[k] = bb.FieldBuilder(k)
			var err error
			if fs[k], err = decoderFor(fbs[k]); err != nil {
				return nil, err
			}
		}
		return func(b []byte, i int) int {
			bb.Append(true)
			nb := (len(fs) + 7) / 8
			if i < 0 || len(b)-i < nb {
				return -1
			}
			bitmap := b[i : i+nb]
			i += nb
			for k, f := range fs {
				if bitmap[k>>3]&(1<<(k&7)) != 0 {
					fbs[k].AppendNull()
					continue
				}
				if i = f(b, i); i < 0 {
					return -1
				}
			}
			return i
		}, nil
	}
	return nil, fmt.Errorf("type %s is not supported by the log codec", bld.Type())
}

// decodeElems reads a count, a null bitmap and the elements into vb; it returns the
// count and the index after them (-1 on error).
func decodeElems(b []byte, i int, vb array.Builder, elem decodeFunc) (uint64, int) {
	n, i := uvarintAt(b, i)
	if i < 0 || n > uint64(len(b)-i)*8+8 {
		return 0, -1
	}
	nb := int((n + 7) / 8)
	if len(b)-i < nb {
		return 0, -1
	}
	bitmap := b[i : i+nb]
	i += nb
	for k := uint64(0); k < n; k++ {
		if bitmap[k>>3]&(1<<(k&7)) != 0 {
			vb.AppendNull()
			continue
		}
		if i = elem(b, i); i < 0 {
			return 0, -1
		}
	}
	return n, i
}

// reader reads the codec's primitives, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", ErrFormat, what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint32() uint32 {
	if len(r.b) < 4 {
		r.fail("int32")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail("int64")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail("bytes")
		return make([]byte, n%64) // a harmless value for the caller; err is set
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

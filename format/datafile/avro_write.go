package datafile

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/tarnlake/tarn/format/types"
)

// AvroRecordName is the name of the top-level record of Paimon's Avro data files
// (AvroSchemaConverter); nested rows are named <parent>_<field>.
const AvroRecordName = "org.apache.paimon.avro.generated.record"

// avroSyncInterval is the uncompressed size at which a block is written (Avro's
// DataFileConstants.DEFAULT_SYNC_INTERVAL).
const avroSyncInterval = 64000

// AvroSchema is the Avro schema Paimon writes for a row of the given fields
// (AvroSchemaConverter.convertToSchema): nullable types as ["null", T] unions with a null
// default, TINYINT and SMALLINT as int, DATE as date, TIME(0..3) as time-millis,
// TIMESTAMP(0..3)/(4..6) as timestamp-millis/-micros (local-timestamp-* WITH LOCAL TIME
// ZONE), DECIMAL as bytes with the decimal logical type, maps with string keys as Avro
// maps and other maps as arrays of {key, value} records, MULTISET as a map to int.
func AvroSchema(fields []types.DataField) (string, error) {
	var b strings.Builder
	if err := avroRecordSchema(&b, fields, AvroRecordName); err != nil {
		return "", err
	}
	return b.String(), nil
}

func avroRecordSchema(b *strings.Builder, fields []types.DataField, name string) error {
	b.WriteString(`{"type":"record","name":`)
	b.WriteString(strconv.Quote(name))
	b.WriteString(`,"fields":[`)
	for i, f := range fields {
		if !validAvroName(f.Name) {
			return fmt.Errorf("field name %q is not a valid Avro name", f.Name)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		b.WriteString(strconv.Quote(f.Name))
		b.WriteString(`,"type":`)
		if err := avroTypeSchema(b, f.Type, name+"_"+f.Name); err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
		if f.Type.Nullable {
			b.WriteString(`,"default":null`)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return nil
}

func validAvroName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

func avroTypeSchema(b *strings.Builder, t types.DataType, rowName string) error {
	if t.Nullable {
		b.WriteString(`["null",`)
		defer b.WriteByte(']')
	}
	switch t.Root {
	case types.Boolean:
		b.WriteString(`"boolean"`)
	case types.TinyInt, types.SmallInt, types.Int:
		b.WriteString(`"int"`)
	case types.BigInt:
		b.WriteString(`"long"`)
	case types.Float:
		b.WriteString(`"float"`)
	case types.Double:
		b.WriteString(`"double"`)
	case types.Char, types.VarChar:
		b.WriteString(`"string"`)
	case types.Binary, types.VarBinary, types.Blob:
		b.WriteString(`"bytes"`)
	case types.Date:
		b.WriteString(`{"type":"int","logicalType":"date"}`)
	case types.Time:
		if t.Precision > 3 {
			return fmt.Errorf("avro does not support %s (precision above 3)", t)
		}
		b.WriteString(`{"type":"int","logicalType":"time-millis"}`)
	case types.Timestamp, types.LocalZonedTimestamp:
		prefix := ""
		if t.Root == types.LocalZonedTimestamp {
			prefix = "local-"
		}
		switch {
		case t.Precision <= 3:
			fmt.Fprintf(b, `{"type":"long","logicalType":"%stimestamp-millis"}`, prefix)
		case t.Precision <= 6:
			fmt.Fprintf(b, `{"type":"long","logicalType":"%stimestamp-micros"}`, prefix)
		default:
			return fmt.Errorf("avro does not support %s (precision above 6)", t)
		}
	case types.Decimal:
		fmt.Fprintf(b, `{"type":"bytes","logicalType":"decimal","precision":%d,"scale":%d}`, t.Precision, t.Scale)
	case types.Row:
		return avroRecordSchema(b, t.Fields, rowName)
	case types.Array, types.Vector:
		b.WriteString(`{"type":"array","items":`)
		if err := avroTypeSchema(b, *t.Elem, rowName); err != nil {
			return err
		}
		b.WriteByte('}')
	case types.Map, types.Multiset:
		k, v := mapKeyValue(t)
		if t.Root == types.Multiset {
			v = types.IntType()
		}
		if k.IsString() {
			b.WriteString(`{"type":"map","values":`)
			if err := avroTypeSchema(b, v, rowName); err != nil {
				return err
			}
			b.WriteByte('}')
			return nil
		}
		b.WriteString(`{"type":"array","logicalType":"map","items":{"type":"record","name":`)
		b.WriteString(strconv.Quote(rowName))
		b.WriteString(`,"fields":[{"name":"key","type":`)
		if err := avroTypeSchema(b, k, rowName+"_key"); err != nil {
			return err
		}
		b.WriteString(`},{"name":"value","type":`)
		if err := avroTypeSchema(b, v, rowName+"_value"); err != nil {
			return err
		}
		if v.Nullable {
			b.WriteString(`,"default":null`)
		}
		b.WriteString(`}]}}`)
	default:
		return fmt.Errorf("avro does not support %s", t)
	}
	return nil
}

// avroCodecName maps file.compression to an Avro codec as Paimon does
// (AvroFileFormat.createCodecFactory: zstd is zstandard, others by Avro's codec names).
func avroCodecName(compression string) (string, error) {
	switch strings.ToLower(compression) {
	case "", "zstd", "zstandard":
		return "zstandard", nil
	case "snappy":
		return "snappy", nil
	case "deflate":
		return "deflate", nil
	case "none", "null", "uncompressed":
		return "null", nil
	}
	return "", fmt.Errorf("file.compression %q is not supported for avro data files (zstd, snappy, deflate, none)", compression)
}

// AvroWriter writes one Avro data file as Paimon does: the schema of AvroSchema, blocks
// of about 64 KB compressed with the codec of file.compression (zstd: zstandard at
// ZstdLevel, default 1).
type AvroWriter struct {
	out     io.Writer
	schema  *arrow.Schema
	fields  []*avroWNode
	codec   *avroCodec
	sync    [16]byte
	enc     avroEnc
	block   []byte
	pending int64 // records in enc
	rows    int64
	written int64
	closed  bool
}

// NewAvroWriter starts an Avro data file of the given fields (in file order, system
// columns included) on out.
func NewAvroWriter(out io.Writer, fields []types.DataField, o WriterOptions) (*AvroWriter, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	js, err := AvroSchema(fields)
	if err != nil {
		return nil, err
	}
	name, err := avroCodecName(o.Compression)
	if err != nil {
		return nil, err
	}
	level := o.ZstdLevel
	if level == 0 {
		level = 1
	}
	codec, err := newAvroCodec(name, level)
	if err != nil {
		return nil, err
	}
	w := &AvroWriter{out: out, schema: schema, codec: codec}
	for _, f := range fields {
		w.fields = append(w.fields, newAvroWNode(f.Type))
	}
	if _, err := rand.Read(w.sync[:]); err != nil {
		return nil, err
	}
	var h avroEnc
	h.b = append(h.b, avroMagic...)
	h.long(2)
	h.string("avro.schema")
	h.string(js)
	h.string("avro.codec")
	h.string(name)
	h.long(0)
	h.b = append(h.b, w.sync[:]...)
	if err := w.emit(h.b); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *AvroWriter) emit(b []byte) error {
	n, err := w.out.Write(b)
	w.written += int64(n)
	return err
}

// Schema is the Arrow schema batches must have.
func (w *AvroWriter) Schema() *arrow.Schema { return w.schema }

// Rows is the number of rows written.
func (w *AvroWriter) Rows() int64 { return w.rows }

// EstimatedSize is the bytes written plus those buffered (uncompressed).
func (w *AvroWriter) EstimatedSize() int64 { return w.written + int64(len(w.enc.b)) }

// Write appends a batch whose columns are the writer's fields in order.
func (w *AvroWriter) Write(b arrow.RecordBatch) error {
	if int(b.NumCols()) != len(w.fields) {
		return fmt.Errorf("avro writer: batch of %d columns for %d fields", b.NumCols(), len(w.fields))
	}
	for i, n := range w.fields {
		if err := n.bind(b.Column(i)); err != nil {
			return fmt.Errorf("avro writer: column %q: %w", w.schema.Field(i).Name, err)
		}
	}
	rows := int(b.NumRows())
	for r := 0; r < rows; r++ {
		for i, n := range w.fields {
			if err := n.write(&w.enc, r); err != nil {
				return fmt.Errorf("avro writer: column %q row %d: %w", w.schema.Field(i).Name, r, err)
			}
		}
		w.pending++
		w.rows++
		if len(w.enc.b) >= avroSyncInterval {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *AvroWriter) flush() error {
	if w.pending == 0 {
		return nil
	}
	data, err := w.codec.compress(w.block[:0], w.enc.b)
	if err != nil {
		return err
	}
	w.block = data
	var h avroEnc
	h.b = make([]byte, 0, 20)
	h.long(w.pending)
	h.long(int64(len(data)))
	if err := w.emit(h.b); err != nil {
		return err
	}
	if err := w.emit(data); err != nil {
		return err
	}
	if err := w.emit(w.sync[:]); err != nil {
		return err
	}
	w.enc.b = w.enc.b[:0]
	w.pending = 0
	return nil
}

// Close writes the last block. It does not close the underlying writer.
func (w *AvroWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.codec.close()
	return w.flush()
}

// avroWNode encodes the values of one Arrow column of a Paimon type.
type avroWNode struct {
	t        types.DataType
	children []*avroWNode // elem; key, value; row fields
	arr      arrow.Array
	mapArray bool // a map written as an array of {key, value} records
	scratch  []byte
}

func newAvroWNode(t types.DataType) *avroWNode {
	n := &avroWNode{t: t}
	switch t.Root {
	case types.Array, types.Vector:
		n.children = []*avroWNode{newAvroWNode(*t.Elem)}
	case types.Map, types.Multiset:
		k, v := mapKeyValue(t)
		if t.Root == types.Multiset {
			v = types.IntType()
		}
		n.children = []*avroWNode{newAvroWNode(k), newAvroWNode(v)}
		n.mapArray = !k.IsString()
	case types.Row:
		for _, f := range t.Fields {
			n.children = append(n.children, newAvroWNode(f.Type))
		}
	}
	return n
}

func (n *avroWNode) bind(a arrow.Array) error { return bindTree(n, a) }

func (n *avroWNode) setArray(a arrow.Array) { n.arr = a }
func (n *avroWNode) kids() []*avroWNode     { return n.children }

func (n *avroWNode) write(e *avroEnc, i int) error {
	if n.arr.IsNull(i) {
		if !n.t.Nullable {
			return fmt.Errorf("null value in a NOT NULL %s column", n.t)
		}
		e.long(0)
		return nil
	}
	if n.t.Nullable {
		e.long(1)
	}
	switch a := n.arr.(type) {
	case *array.Boolean:
		e.bool(a.Value(i))
	case *array.Int8:
		e.long(int64(a.Value(i)))
	case *array.Int16:
		e.long(int64(a.Value(i)))
	case *array.Int32:
		e.long(int64(a.Value(i)))
	case *array.Int64:
		e.long(a.Value(i))
	case *array.Float32:
		e.float(a.Value(i))
	case *array.Float64:
		e.double(a.Value(i))
	case *array.Date32:
		e.long(int64(a.Value(i)))
	case *array.Time32:
		v := int64(a.Value(i))
		if a.DataType().(*arrow.Time32Type).Unit == arrow.Second {
			v *= 1000
		}
		e.long(v)
	case *array.Timestamp:
		e.long(int64(a.Value(i)))
	case *array.String:
		e.string(a.Value(i))
	case *array.Binary:
		e.bytes(a.Value(i))
	case *array.Decimal128:
		n.scratch = appendUnscaledBytes(n.scratch[:0], a.Value(i))
		e.bytes(n.scratch)
	case *array.List:
		start, end := a.ValueOffsets(i)
		return n.writeItems(e, int(start), int(end))
	case *array.FixedSizeList:
		l := int(a.DataType().(*arrow.FixedSizeListType).Len())
		start := (a.Offset() + i) * l
		return n.writeItems(e, start, start+l)
	case *array.Map:
		start, end := a.ValueOffsets(i)
		return n.writeItems(e, int(start), int(end))
	case *array.Struct:
		for _, c := range n.children {
			if err := c.write(e, i); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("arrow type %s for %s", n.arr.DataType(), n.t)
	}
	return nil
}

// writeItems writes an array or map of the items start..end of the child arrays.
func (n *avroWNode) writeItems(e *avroEnc, start, end int) error {
	if end > start {
		e.long(int64(end - start))
		for j := start; j < end; j++ {
			if len(n.children) == 1 {
				if err := n.children[0].write(e, j); err != nil {
					return err
				}
				continue
			}
			k, v := n.children[0], n.children[1]
			if !n.mapArray {
				if k.arr.IsNull(j) {
					return fmt.Errorf("null map key")
				}
				e.string(k.arr.(*array.String).Value(j))
			} else if err := k.write(e, j); err != nil {
				return err
			}
			if err := v.write(e, j); err != nil {
				return err
			}
		}
	}
	e.long(0)
	return nil
}

// appendUnscaledBytes appends the minimal big-endian two's complement form of a decimal's
// unscaled value (Java's BigInteger.toByteArray).
func appendUnscaledBytes(dst []byte, v decimal128.Num) []byte {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(v.HighBits()))
	binary.BigEndian.PutUint64(buf[8:], v.LowBits())
	i := 0
	for i < 15 {
		if buf[i] == 0 && buf[i+1]&0x80 == 0 {
			i++
			continue
		}
		if buf[i] == 0xff && buf[i+1]&0x80 != 0 {
			i++
			continue
		}
		break
	}
	return append(dst, buf[i:]...)
}

package datafile

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/orc"
	"github.com/tarnlake/tarn/format/types"
)

// ORCTypes is the ORC type tree Paimon writes for a row of the given fields
// (OrcTypeUtil.convertToOrcSchema): every type carries its Paimon field id in the
// paimon.id attribute (array elements, map keys and values the ids of
// SpecialFields.getArrayElementFieldId / getMapKeyFieldId / getMapValueFieldId); CHAR
// and VARCHAR(n) keep their lengths, STRING is string, every binary type is binary, TIME
// is int, TIMESTAMP is timestamp, TIMESTAMP WITH LOCAL TIME ZONE is timestamp with local
// time zone (the instant), MULTISET is a map to int.
func ORCTypes(fields []types.DataField) ([]orc.Type, error) {
	ts := []orc.Type{{Kind: orc.Struct}}
	for _, f := range fields {
		id, err := addORCType(&ts, f.Type, int32(f.ID), 0)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		ts[0].Subtypes = append(ts[0].Subtypes, id)
		ts[0].FieldNames = append(ts[0].FieldNames, f.Name)
	}
	return ts, nil
}

func orcIDAttr(id int32) []orc.KeyValue {
	return []orc.KeyValue{{Key: ORCFieldIDKey, Value: []byte(strconv.Itoa(int(id)))}}
}

// addORCType appends the types of t in pre-order and returns its number. Ids follow
// Java's int arithmetic (wrapping), as Paimon computes them.
func addORCType(ts *[]orc.Type, t types.DataType, fieldID int32, depth int32) (uint32, error) {
	id := uint32(len(*ts))
	*ts = append(*ts, orc.Type{Attributes: orcIDAttr(fieldID)})
	set := func(k orc.Kind) { (*ts)[id].Kind = k }
	const base, limit = int32(structuredIDBase), int32(structuredIDDepth)
	switch t.Root {
	case types.Boolean:
		set(orc.Boolean)
	case types.TinyInt:
		set(orc.Byte)
	case types.SmallInt:
		set(orc.Short)
	case types.Int, types.Time:
		set(orc.Int)
	case types.BigInt:
		set(orc.Long)
	case types.Float:
		set(orc.Float)
	case types.Double:
		set(orc.Double)
	case types.Decimal:
		set(orc.Decimal)
		(*ts)[id].Precision, (*ts)[id].Scale = uint32(t.Precision), uint32(t.Scale)
	case types.Char:
		set(orc.Char)
		(*ts)[id].MaxLength = uint32(t.Length)
	case types.VarChar:
		if t.Length == types.MaxLength {
			set(orc.String)
		} else {
			set(orc.Varchar)
			(*ts)[id].MaxLength = uint32(t.Length)
		}
	case types.Binary, types.VarBinary, types.Blob:
		set(orc.Binary)
	case types.Date:
		set(orc.Date)
	case types.Timestamp:
		set(orc.Timestamp)
	case types.LocalZonedTimestamp:
		set(orc.TimestampInstant)
	case types.Array:
		set(orc.List)
		e, err := addORCType(ts, *t.Elem, fieldID, depth+1)
		if err != nil {
			return 0, err
		}
		(*ts)[e].Attributes = orcIDAttr(base + fieldID*limit + depth + 1)
		(*ts)[id].Subtypes = []uint32{e}
	case types.Map, types.Multiset:
		set(orc.Map)
		kt, vt := mapKeyValue(t)
		k, err := addORCType(ts, kt, fieldID, depth+1)
		if err != nil {
			return 0, err
		}
		(*ts)[k].Attributes = orcIDAttr(base - fieldID*limit - depth - 1)
		v, err := addORCType(ts, vt, fieldID, depth+1)
		if err != nil {
			return 0, err
		}
		(*ts)[v].Attributes = orcIDAttr(base + fieldID*limit + depth + 1)
		(*ts)[id].Subtypes = []uint32{k, v}
	case types.Row:
		set(orc.Struct)
		for _, f := range t.Fields {
			c, err := addORCType(ts, f.Type, int32(f.ID), 0)
			if err != nil {
				return 0, err
			}
			(*ts)[id].Subtypes = append((*ts)[id].Subtypes, c)
			(*ts)[id].FieldNames = append((*ts)[id].FieldNames, f.Name)
		}
	default:
		return 0, fmt.Errorf("ORC does not support %s", t)
	}
	return id, nil
}

// orcCompression maps file.compression to an ORC compression kind as Paimon does
// (CompressionKind.valueOf(compression.toUpperCase())).
func orcCompression(name string) (orc.Compression, error) {
	switch strings.ToLower(name) {
	case "", "zstd":
		return orc.CompressionZstd, nil
	case "snappy":
		return orc.CompressionSnappy, nil
	case "lz4":
		return orc.CompressionLZ4, nil
	case "zlib":
		return orc.CompressionZlib, nil
	case "none", "uncompressed":
		return orc.CompressionNone, nil
	}
	return 0, fmt.Errorf("file.compression %q is not supported for orc data files (zstd, snappy, lz4, zlib, none)", name)
}

// ORCWriter writes one ORC data file as Paimon does: the types of ORCTypes, compression
// of file.compression (zstd at ZstdLevel, default 1), 64 MiB stripes, timestamps in UTC.
type ORCWriter struct {
	w      *orc.Writer
	schema *arrow.Schema
	cols   []*orcWNode
	rows   int64
	closed bool
}

// NewORCWriter starts an ORC data file of the given fields (in file order, system
// columns included) on out.
func NewORCWriter(out io.Writer, fields []types.DataField, o WriterOptions) (*ORCWriter, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	ts, err := ORCTypes(fields)
	if err != nil {
		return nil, err
	}
	c, err := orcCompression(o.Compression)
	if err != nil {
		return nil, err
	}
	w, err := orc.NewWriter(out, orc.WriterOptions{Types: ts, Compression: c, ZstdLevel: o.ZstdLevel, SoftwareVersion: "Tarn"})
	if err != nil {
		return nil, err
	}
	ow := &ORCWriter{w: w, schema: schema}
	for i, f := range fields {
		ow.cols = append(ow.cols, newORCWNode(w, ts, ts[0].Subtypes[i], f.Type))
	}
	return ow, nil
}

func newORCWNode(w *orc.Writer, ts []orc.Type, id uint32, t types.DataType) *orcWNode {
	n := &orcWNode{t: t, cw: w.Column(int(id)), kind: ts[id].Kind, maxLen: int(ts[id].MaxLength)}
	switch t.Root {
	case types.Array, types.Vector:
		n.children = []*orcWNode{newORCWNode(w, ts, ts[id].Subtypes[0], *t.Elem)}
	case types.Map, types.Multiset:
		kt, vt := mapKeyValue(t)
		n.children = []*orcWNode{newORCWNode(w, ts, ts[id].Subtypes[0], kt), newORCWNode(w, ts, ts[id].Subtypes[1], vt)}
	case types.Row:
		for i, f := range t.Fields {
			n.children = append(n.children, newORCWNode(w, ts, ts[id].Subtypes[i], f.Type))
		}
	}
	return n
}

// Schema is the Arrow schema batches must have.
func (w *ORCWriter) Schema() *arrow.Schema { return w.schema }

// Rows is the number of rows written.
func (w *ORCWriter) Rows() int64 { return w.rows }

// EstimatedSize is the bytes written plus a fifth of those buffered (Paimon's
// OrcBulkWriter estimate of the compressed stripe).
func (w *ORCWriter) EstimatedSize() int64 { return w.w.Written() + w.w.Buffered()/5 }

// Write appends a batch whose columns are the writer's fields in order.
func (w *ORCWriter) Write(b arrow.RecordBatch) error {
	if int(b.NumCols()) != len(w.cols) {
		return fmt.Errorf("orc writer: batch of %d columns for %d fields", b.NumCols(), len(w.cols))
	}
	n := int(b.NumRows())
	for i, c := range w.cols {
		if err := c.bind(b.Column(i)); err != nil {
			return fmt.Errorf("orc writer: column %q: %w", w.schema.Field(i).Name, err)
		}
		for r := 0; r < n; r++ {
			if err := c.write(r); err != nil {
				return fmt.Errorf("orc writer: column %q row %d: %w", w.schema.Field(i).Name, r, err)
			}
		}
	}
	w.w.AddRows(n)
	w.rows += int64(n)
	if w.w.StripeFull() {
		return w.w.FlushStripe()
	}
	return nil
}

// Close writes the last stripe and the tail. It does not close the underlying writer.
func (w *ORCWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.w.Close()
}

// orcWNode writes the values of one Arrow column of a Paimon type to an ORC column.
type orcWNode struct {
	t        types.DataType
	kind     orc.Kind
	maxLen   int
	cw       *orc.ColumnWriter
	children []*orcWNode
	arr      arrow.Array
	scratch  []byte
}

func (n *orcWNode) bind(a arrow.Array) error { return bindTree(n, a) }

func (n *orcWNode) setArray(a arrow.Array) { n.arr = a }
func (n *orcWNode) kids() []*orcWNode      { return n.children }

// formatNanos encodes nanoseconds as ORC does: trailing decimal zeros (two or more)
// removed and counted in the low 3 bits.
func formatNanos(ns int64) int64 {
	if ns == 0 {
		return 0
	}
	if ns%100 != 0 {
		return ns << 3
	}
	ns /= 100
	z := int64(1)
	for ns%10 == 0 && z < 7 {
		ns /= 10
		z++
	}
	return ns<<3 | z
}

func (n *orcWNode) write(i int) error {
	if n.arr.IsNull(i) {
		if !n.t.Nullable {
			return fmt.Errorf("null value in a NOT NULL %s column", n.t)
		}
		n.cw.Present(false)
		return nil
	}
	n.cw.Present(true)
	switch a := n.arr.(type) {
	case *array.Boolean:
		n.cw.Bool(a.Value(i))
	case *array.Int8:
		n.cw.Int(int64(a.Value(i)))
	case *array.Int16:
		n.cw.Int(int64(a.Value(i)))
	case *array.Int32:
		n.cw.Int(int64(a.Value(i)))
	case *array.Int64:
		n.cw.Int(a.Value(i))
	case *array.Date32:
		n.cw.Int(int64(a.Value(i)))
	case *array.Time32:
		v := int64(a.Value(i))
		if a.DataType().(*arrow.Time32Type).Unit == arrow.Second {
			v *= 1000
		}
		n.cw.Int(v)
	case *array.Float32:
		d := n.cw.RawData()
		*d = binary.LittleEndian.AppendUint32(*d, math.Float32bits(a.Value(i)))
	case *array.Float64:
		d := n.cw.RawData()
		*d = binary.LittleEndian.AppendUint64(*d, math.Float64bits(a.Value(i)))
	case *array.String:
		v := a.Value(i)
		if n.kind == orc.Char {
			// Java's CharTreeWriter pads CHAR values with spaces to the length.
			if pad := n.maxLen - utf8.RuneCountInString(v); pad > 0 {
				n.scratch = append(append(n.scratch[:0], v...), strings.Repeat(" ", pad)...)
				n.cw.Bytes(n.scratch)
				return nil
			}
		}
		n.cw.Bytes(unsafeBytes(v))
	case *array.Binary:
		n.cw.Bytes(a.Value(i))
	case *array.Decimal128:
		v := a.Value(i)
		n.cw.Decimal(v.HighBits(), v.LowBits(), int(a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Timestamp:
		// Seconds and nanoseconds of the second, without passing through nanoseconds
		// since the epoch (which hold only 1677..2262).
		v := int64(a.Value(i))
		var per int64 // units per second
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			per = 1
		case arrow.Millisecond:
			per = 1_000
		case arrow.Microsecond:
			per = 1_000_000
		default:
			per = 1_000_000_000
		}
		sec := floorDiv(v, per)
		nanos := (v - sec*per) * (1_000_000_000 / per)
		// Java's writer stores (epoch millis / 1000), truncated towards zero.
		millis := sec*1_000 + nanos/1_000_000
		n.cw.Timestamp(millis/1_000-orcBaseSeconds, formatNanos(nanos))
	case *array.List:
		start, end := a.ValueOffsets(i)
		return n.writeItems(int(start), int(end))
	case *array.FixedSizeList:
		l := int(a.DataType().(*arrow.FixedSizeListType).Len())
		start := (a.Offset() + i) * l
		return n.writeItems(start, start+l)
	case *array.Map:
		start, end := a.ValueOffsets(i)
		return n.writeItems(int(start), int(end))
	case *array.Struct:
		for _, c := range n.children {
			if err := c.write(i); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("arrow type %s for %s", n.arr.DataType(), n.t)
	}
	return nil
}

func (n *orcWNode) writeItems(start, end int) error {
	n.cw.Length(end - start)
	for j := start; j < end; j++ {
		for _, c := range n.children {
			if err := c.write(j); err != nil {
				return err
			}
		}
	}
	return nil
}

// unsafeBytes views a string's bytes (read only).
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

package datafile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hamba/avro/v2"

	"github.com/tarnlake/tarn/format/types"
)

// AvroFile is an open Avro data file (Paimon's file.format = avro): an Avro object
// container of records named by field (Paimon's Avro files carry no field ids; see
// OpenOptions.FileFields).
type AvroFile struct {
	name    string
	src     Source
	schema  *avro.RecordSchema
	codec   string
	sync    [16]byte
	dataOff int64
	rows    int64 // -1 until counted
	opts    OpenOptions
}

// OpenAvro opens an Avro data file; name is used in errors. Closing the file closes src
// if it is an io.Closer.
func OpenAvro(src Source, name string, o OpenOptions) (*AvroFile, error) {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	f := &AvroFile{name: name, src: src, rows: -1, opts: o}
	if err := f.readHeader(); err != nil {
		return nil, fmt.Errorf("data file %s: not a readable Avro file: %w", name, err)
	}
	return f, nil
}

func (f *AvroFile) readHeader() error {
	size := f.src.Size()
	for n := int64(64 << 10); ; n *= 4 {
		n = min(n, size)
		buf := make([]byte, n)
		if _, err := f.src.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		err := f.parseHeader(buf)
		if errors.Is(err, errAvroShort) && n < size {
			continue
		}
		return err
	}
}

func (f *AvroFile) parseHeader(buf []byte) error {
	if !bytes.HasPrefix(buf, avroMagic) {
		return errors.New("no Avro magic")
	}
	d := &avroDec{b: buf, off: 4}
	var schemaJSON []byte
	f.codec = "null"
	for {
		n, err := d.long()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if n < 0 {
			n = -n
			if _, err := d.long(); err != nil {
				return err
			}
		}
		for ; n > 0; n-- {
			k, err := d.bytes()
			if err != nil {
				return err
			}
			v, err := d.bytes()
			if err != nil {
				return err
			}
			switch string(k) {
			case "avro.schema":
				schemaJSON = v
			case "avro.codec":
				f.codec = string(v)
			}
		}
	}
	s, err := d.fixed(16)
	if err != nil {
		return err
	}
	copy(f.sync[:], s)
	f.dataOff = int64(d.off)
	if schemaJSON == nil {
		return errors.New("no avro.schema in the header")
	}
	schema, err := avro.ParseBytesWithCache(schemaJSON, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("avro.schema: %w", err)
	}
	rs, ok := schema.(*avro.RecordSchema)
	if !ok {
		return fmt.Errorf("avro.schema is a %s, not a record", schema.Type())
	}
	f.schema = rs
	if _, err := newAvroCodec(f.codec, 0); err != nil {
		return err
	}
	return nil
}

// Close closes the file's source.
func (f *AvroFile) Close() error { return closeSource(f.src) }

// Schema is the file's Avro schema.
func (f *AvroFile) Schema() *avro.RecordSchema { return f.schema }

// NumRows is the file's row count (block headers are read once to count them).
func (f *AvroFile) NumRows() int64 {
	if f.rows < 0 {
		n, err := f.countRows()
		if err != nil {
			return -1
		}
		f.rows = n
	}
	return f.rows
}

func (f *AvroFile) countRows() (int64, error) {
	it := f.blocks(nil)
	var total int64
	for {
		n, size, err := it.header()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
		if _, err := it.r.Discard(int(size)); err != nil {
			return 0, err
		}
		if err := it.checkSync(); err != nil {
			return 0, err
		}
		total += n
	}
}

// avroBlocks iterates over a file's blocks.
type avroBlocks struct {
	f     *AvroFile
	r     *bufio.Reader
	left  int64 // bytes after the current position
	codec *avroCodec
	raw   []byte
}

func (f *AvroFile) blocks(codec *avroCodec) *avroBlocks {
	rest := f.src.Size() - f.dataOff
	return &avroBlocks{f: f, r: bufio.NewReaderSize(io.NewSectionReader(f.src, f.dataOff, rest), 256<<10), left: rest, codec: codec}
}

func (it *avroBlocks) varint() (int64, error) {
	u, err := binary.ReadUvarint(it.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

// header reads a block's record count and byte size; io.EOF at the end of the file.
func (it *avroBlocks) header() (count, size int64, err error) {
	if _, err := it.r.Peek(1); errors.Is(err, io.EOF) {
		return 0, 0, io.EOF
	}
	if count, err = it.varint(); err != nil {
		return 0, 0, fmt.Errorf("block header: %w", err)
	}
	if size, err = it.varint(); err != nil {
		return 0, 0, fmt.Errorf("block header: %w", err)
	}
	if count < 0 || size < 0 || size > it.f.src.Size() || size > maxAvroBlock {
		return 0, 0, fmt.Errorf("block of %d records in %d bytes is corrupt", count, size)
	}
	return count, size, nil
}

func (it *avroBlocks) checkSync() error {
	var s [16]byte
	if _, err := io.ReadFull(it.r, s[:]); err != nil {
		return fmt.Errorf("block sync marker: %w", err)
	}
	if s != it.f.sync {
		return errors.New("block sync marker does not match the header's")
	}
	return nil
}

// next returns the next block's record count and decompressed records.
func (it *avroBlocks) next() (int64, []byte, error) {
	count, size, err := it.header()
	if err != nil {
		return 0, nil, err
	}
	if cap(it.raw) < int(size) {
		it.raw = make([]byte, size)
	}
	raw := it.raw[:size]
	if _, err := io.ReadFull(it.r, raw); err != nil {
		return 0, nil, fmt.Errorf("block of %d bytes: %w", size, err)
	}
	if err := it.checkSync(); err != nil {
		return 0, nil, err
	}
	data, err := it.codec.decompress(raw)
	if err != nil {
		return 0, nil, err
	}
	// Every record of a Paimon schema takes a byte at least.
	if count > int64(len(data)) && len(it.f.schema.Fields()) > 0 {
		return 0, nil, fmt.Errorf("block of %d records in %d bytes is corrupt", count, len(data))
	}
	return count, data, nil
}

// ReadFields implements DataFile.
func (f *AvroFile) ReadFields(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error) {
	has := func(fld types.DataField) bool {
		name := fileFieldNames([]types.DataField{fld}, f.opts.FileFields)[0]
		return name != "" && slices.ContainsFunc(f.schema.Fields(), func(ff *avro.Field) bool { return ff.Name() == name })
	}
	return readThin(fields, has, func(fields []types.DataField) (BatchReader, error) { return f.Read(ctx, fields, batchSize) })
}

// Read returns batches of the given fields, in that order, with Arrow types from
// types.ToArrow. Fields are found by name (the name the field had when the file was
// written if OpenOptions.FileFields is set); a field the file lacks reads as nulls; INT
// columns read as BIGINT, FLOAT as DOUBLE and so on for widened fields.
func (f *AvroFile) Read(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", f.name, err)
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	codec, err := newAvroCodec(f.codec, 0)
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", f.name, err)
	}
	rb := array.NewRecordBuilder(f.opts.Mem, schema)
	root, err := bindAvroRecord(f.schema, fields, f.opts.FileFields, rb.Fields(), nil)
	if err != nil {
		rb.Release()
		codec.close()
		return nil, fmt.Errorf("data file %s: %w", f.name, err)
	}
	return &avroBatches{f: f, schema: schema, rb: rb, root: root, it: f.blocks(codec), batchSize: batchSize}, nil
}

type avroBatches struct {
	f         *AvroFile
	schema    *arrow.Schema
	rb        *array.RecordBuilder
	root      *avroNode
	it        *avroBlocks
	batchSize int
	dec       avroDec
	left      int64 // records left in the current block
	eof       bool
}

func (r *avroBatches) Schema() *arrow.Schema { return r.schema }

func (r *avroBatches) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for n < r.batchSize && !r.eof {
		if r.left == 0 {
			if r.dec.off != len(r.dec.b) {
				return nil, fmt.Errorf("data file %s: %d bytes after a block's last record", r.f.name, len(r.dec.b)-r.dec.off)
			}
			count, data, err := r.it.next()
			if errors.Is(err, io.EOF) {
				r.eof = true
				break
			}
			if err != nil {
				return nil, fmt.Errorf("data file %s: %w", r.f.name, err)
			}
			r.left, r.dec = count, avroDec{b: data}
			continue
		}
		if err := r.root.read(&r.dec); err != nil {
			return nil, fmt.Errorf("data file %s: record: %w", r.f.name, err)
		}
		r.left--
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	return r.rb.NewRecordBatch(), nil
}

func (r *avroBatches) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
		r.it.codec.close()
	}
	return nil
}

type avroKind uint8

const (
	avNull avroKind = iota
	avBool
	avInt
	avLong
	avFloat
	avDouble
	avBytes
	avString
	avFixed
	avEnum
	avRecord
	avArray
	avMap
	avUnion
)

// avroNode decodes one Avro schema node into an Arrow builder (nil: skipped).
type avroNode struct {
	kind     avroKind
	size     int         // fixed
	symbols  []string    // enum
	branches []*avroNode // union; nil for the null branch
	items    *avroNode   // array items, map values
	keys     *array.BinaryBuilder
	fields   []*avroNode     // record fields in file order
	missing  []array.Builder // record: wanted fields the file lacks
	vecLen   int             // VECTOR length (-1: not a vector)
	b        array.Builder
	mul, div int64 // time unit conversion of integers
	decScale int32 // decimal scale in the file
	outScale int32 // decimal scale wanted
	decimal  bool
}

func avroKindOf(s avro.Schema) (avroKind, error) {
	switch s.Type() {
	case avro.Null:
		return avNull, nil
	case avro.Boolean:
		return avBool, nil
	case avro.Int:
		return avInt, nil
	case avro.Long:
		return avLong, nil
	case avro.Float:
		return avFloat, nil
	case avro.Double:
		return avDouble, nil
	case avro.Bytes:
		return avBytes, nil
	case avro.String:
		return avString, nil
	case avro.Fixed:
		return avFixed, nil
	case avro.Enum:
		return avEnum, nil
	case avro.Record:
		return avRecord, nil
	case avro.Array:
		return avArray, nil
	case avro.Map:
		return avMap, nil
	case avro.Union:
		return avUnion, nil
	}
	return 0, fmt.Errorf("avro type %s is not supported", s.Type())
}

// bindAvroRecord binds a record's fields to builders of the wanted fields, by name.
func bindAvroRecord(s *avro.RecordSchema, want, fileFields []types.DataField, builders []array.Builder, b array.Builder) (*avroNode, error) {
	n := &avroNode{kind: avRecord, b: b, vecLen: -1}
	names := fileFieldNames(want, fileFields)
	used := make([]bool, len(want))
	for _, ff := range s.Fields() {
		wi := -1
		for i, name := range names {
			if name != "" && name == ff.Name() && !used[i] {
				wi = i
				break
			}
		}
		var child *avroNode
		var err error
		if wi < 0 {
			child, err = bindAvro(ff.Type(), nil, nil, nil)
		} else {
			used[wi] = true
			var nested []types.DataField
			if j := types.FieldByID(fileFields, want[wi].ID); j >= 0 && len(fileFields) > 0 {
				nested = fileFields[j].Type.Fields
			}
			child, err = bindAvro(ff.Type(), &want[wi].Type, nested, builders[wi])
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", ff.Name(), err)
		}
		n.fields = append(n.fields, child)
	}
	for i, u := range used {
		if !u {
			n.missing = append(n.missing, builders[i])
		}
	}
	return n, nil
}

// bindAvro binds an Avro schema node to a builder of the wanted Paimon type (want and b
// nil: the values are skipped).
func bindAvro(s avro.Schema, want *types.DataType, fileFields []types.DataField, b array.Builder) (*avroNode, error) {
	kind, err := avroKindOf(s)
	if err != nil {
		return nil, err
	}
	n := &avroNode{kind: kind, b: b, vecLen: -1, mul: 1, div: 1}
	switch s := s.(type) {
	case *avro.UnionSchema:
		for _, br := range s.Types() {
			if br.Type() == avro.Null {
				n.branches = append(n.branches, nil)
				continue
			}
			c, err := bindAvro(br, want, fileFields, b)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, c)
		}
		return n, nil
	case *avro.FixedSchema:
		n.size = s.Size()
	case *avro.EnumSchema:
		n.symbols = s.Symbols()
	case *avro.RecordSchema:
		if want == nil {
			return bindAvroRecord(s, nil, nil, nil, nil)
		}
		if want.Root != types.Row {
			return nil, fmt.Errorf("cannot read an avro record as %s", *want)
		}
		sb := b.(*array.StructBuilder)
		bs := make([]array.Builder, len(want.Fields))
		for i := range bs {
			bs[i] = sb.FieldBuilder(i)
		}
		return bindAvroRecord(s, want.Fields, fileFields, bs, b)
	case *avro.ArraySchema:
		if want == nil {
			n.items, err = bindAvro(s.Items(), nil, nil, nil)
			return n, err
		}
		switch want.Root {
		case types.Array:
			n.items, err = bindAvro(s.Items(), want.Elem, nil, b.(*array.ListBuilder).ValueBuilder())
		case types.Vector:
			n.vecLen = want.Length
			n.items, err = bindAvro(s.Items(), want.Elem, nil, b.(*array.FixedSizeListBuilder).ValueBuilder())
		case types.Map, types.Multiset:
			// Paimon writes maps whose key is not a string as arrays of {key, value} records.
			rec, ok := s.Items().(*avro.RecordSchema)
			if !ok || len(rec.Fields()) != 2 || rec.Fields()[0].Name() != "key" || rec.Fields()[1].Name() != "value" {
				return nil, fmt.Errorf("cannot read avro %s as %s", s.Type(), *want)
			}
			kt, vt := mapKeyValue(*want)
			mb := b.(*array.MapBuilder)
			kn, err := bindAvro(rec.Fields()[0].Type(), &kt, nil, mb.KeyBuilder())
			if err != nil {
				return nil, err
			}
			vn, err := bindAvro(rec.Fields()[1].Type(), &vt, nil, mb.ItemBuilder())
			if err != nil {
				return nil, err
			}
			n.items = &avroNode{kind: avRecord, vecLen: -1, fields: []*avroNode{kn, vn}}
		default:
			return nil, fmt.Errorf("cannot read an avro array as %s", *want)
		}
		return n, err
	case *avro.MapSchema:
		if want == nil {
			n.items, err = bindAvro(s.Values(), nil, nil, nil)
			return n, err
		}
		if want.Root != types.Map && want.Root != types.Multiset {
			return nil, fmt.Errorf("cannot read an avro map as %s", *want)
		}
		kt, vt := mapKeyValue(*want)
		mb := b.(*array.MapBuilder)
		if !kt.IsString() {
			return nil, fmt.Errorf("cannot read an avro map's string keys as %s", kt)
		}
		n.keys = mb.KeyBuilder().(*array.StringBuilder).BinaryBuilder
		n.items, err = bindAvro(s.Values(), &vt, nil, mb.ItemBuilder())
		return n, err
	}
	if want == nil {
		return n, nil
	}
	return n, n.bindPrimitive(s, *want)
}

func mapKeyValue(t types.DataType) (k, v types.DataType) {
	if t.Root == types.Multiset {
		return *t.Elem, types.IntType().NotNull()
	}
	return *t.Key, *t.Value
}

// bindPrimitive checks that a primitive Avro node can fill the wanted type and sets the
// conversions.
func (n *avroNode) bindPrimitive(s avro.Schema, want types.DataType) error {
	var logical avro.LogicalType
	if ls, ok := s.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		logical = ls.Logical().Type()
		if d, ok := ls.Logical().(*avro.DecimalLogicalSchema); ok {
			n.decimal, n.decScale = true, int32(d.Scale())
		}
	}
	bad := fmt.Errorf("cannot read avro %s (%s) as %s", s.Type(), logical, want)
	fileUnit := int64(0) // per second of a time value in the file
	switch logical {
	case avro.TimestampMillis, avro.LocalTimestampMillis, avro.TimeMillis:
		fileUnit = 1_000
	case avro.TimestampMicros, avro.LocalTimestampMicros, avro.TimeMicros:
		fileUnit = 1_000_000
	}
	switch n.kind {
	case avBool:
		if want.Root != types.Boolean {
			return bad
		}
	case avInt, avLong:
		switch want.Root {
		case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double, types.Date:
			if fileUnit != 0 || (want.Root == types.Date) != (logical == avro.Date) {
				return bad
			}
		case types.Time:
			if logical != avro.TimeMillis && logical != avro.TimeMicros && logical != "" {
				return bad
			}
			if fileUnit == 0 {
				fileUnit = 1_000
			}
			n.setUnit(fileUnit, 1_000)
		case types.Timestamp, types.LocalZonedTimestamp:
			if fileUnit == 0 || logical == avro.TimeMillis || logical == avro.TimeMicros {
				return bad
			}
			per := int64(1_000)
			switch types.TimeUnit(want.Precision) {
			case arrow.Microsecond:
				per = 1_000_000
			case arrow.Nanosecond:
				per = 1_000_000_000
			}
			n.setUnit(fileUnit, per)
		case types.Decimal:
			if logical != "" {
				return bad
			}
			n.decimal, n.decScale = true, 0
		default:
			return bad
		}
	case avFloat, avDouble:
		if want.Root != types.Float && want.Root != types.Double {
			return bad
		}
		if n.kind == avDouble && want.Root == types.Float {
			return bad
		}
	case avBytes, avFixed:
		if n.decimal {
			if want.Root != types.Decimal {
				return bad
			}
			break
		}
		if !want.IsBinary() && want.Root != types.Blob && !want.IsString() {
			return bad
		}
	case avString, avEnum:
		if !want.IsString() && !want.IsBinary() {
			return bad
		}
	case avNull:
	default:
		return bad
	}
	if want.Root == types.Decimal {
		if !n.decimal {
			return bad
		}
		n.outScale = int32(want.Scale)
	}
	return nil
}

func (n *avroNode) setUnit(from, to int64) {
	switch {
	case from < to:
		n.mul = to / from
	case from > to:
		n.div = from / to
	}
}

func (n *avroNode) read(d *avroDec) error {
	switch n.kind {
	case avUnion:
		i, err := d.long()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return fmt.Errorf("union branch %d of %d", i, len(n.branches))
		}
		if br := n.branches[i]; br != nil {
			return br.read(d)
		}
		if n.b != nil {
			n.b.AppendNull()
		}
		return nil
	case avNull:
		if n.b != nil {
			n.b.AppendNull()
		}
		return nil
	case avBool:
		v, err := d.bool()
		if err != nil {
			return err
		}
		if n.b != nil {
			n.b.(*array.BooleanBuilder).Append(v)
		}
		return nil
	case avInt, avLong:
		v, err := d.long()
		if err != nil {
			return err
		}
		if n.kind == avInt && int64(int32(v)) != v {
			return fmt.Errorf("int value %d out of range", v)
		}
		if n.b != nil {
			return n.appendInt(v)
		}
		return nil
	case avFloat:
		v, err := d.float()
		if err != nil {
			return err
		}
		if n.b != nil {
			switch b := n.b.(type) {
			case *array.Float32Builder:
				b.Append(v)
			case *array.Float64Builder:
				b.Append(float64(v))
			}
		}
		return nil
	case avDouble:
		v, err := d.double()
		if err != nil {
			return err
		}
		if n.b != nil {
			n.b.(*array.Float64Builder).Append(v)
		}
		return nil
	case avBytes, avString:
		v, err := d.bytes()
		if err != nil {
			return err
		}
		if n.b != nil {
			return n.appendBytes(v)
		}
		return nil
	case avFixed:
		v, err := d.fixed(n.size)
		if err != nil {
			return err
		}
		if n.b != nil {
			return n.appendBytes(v)
		}
		return nil
	case avEnum:
		i, err := d.long()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return fmt.Errorf("enum symbol %d of %d", i, len(n.symbols))
		}
		if n.b != nil {
			return n.appendBytes([]byte(n.symbols[i]))
		}
		return nil
	case avRecord:
		if n.b != nil {
			n.b.(*array.StructBuilder).Append(true)
		}
		for _, f := range n.fields {
			if err := f.read(d); err != nil {
				return err
			}
		}
		for _, m := range n.missing {
			m.AppendNull()
		}
		return nil
	case avArray, avMap:
		if n.b != nil {
			switch b := n.b.(type) {
			case *array.ListBuilder:
				b.Append(true)
			case *array.MapBuilder:
				b.Append(true)
			case *array.FixedSizeListBuilder:
				b.Append(true)
			}
		}
		total := 0
		for {
			count, err := d.long()
			if err != nil {
				return err
			}
			if count == 0 {
				break
			}
			if count < 0 {
				count = -count
				if _, err := d.long(); err != nil {
					return err
				}
			}
			// Every item of a Paimon schema takes a byte at least.
			if count > int64(len(d.b)-d.off) {
				return fmt.Errorf("collection of %d items in a %d-byte block", count, len(d.b))
			}
			for ; count > 0; count-- {
				if n.kind == avMap {
					k, err := d.bytes()
					if err != nil {
						return err
					}
					if n.keys != nil {
						n.keys.Append(k)
					}
				}
				if err := n.items.read(d); err != nil {
					return err
				}
				total++
			}
		}
		if n.b != nil && n.vecLen >= 0 && total != n.vecLen {
			return fmt.Errorf("vector of length %d where %d is declared", total, n.vecLen)
		}
		return nil
	}
	return fmt.Errorf("avro node kind %d", n.kind)
}

func (n *avroNode) appendInt(v int64) error {
	if n.mul != 1 {
		v *= n.mul
	} else if n.div != 1 {
		v = floorDiv(v, n.div)
	}
	switch b := n.b.(type) {
	case *array.Int8Builder:
		b.Append(int8(v))
	case *array.Int16Builder:
		b.Append(int16(v))
	case *array.Int32Builder:
		b.Append(int32(v))
	case *array.Int64Builder:
		b.Append(v)
	case *array.Float32Builder:
		b.Append(float32(v))
	case *array.Float64Builder:
		b.Append(float64(v))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v))
	case *array.Time32Builder:
		b.Append(arrow.Time32(v))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v))
	case *array.Decimal128Builder:
		d, err := rescaleDecimal(decimal128.FromI64(v), 0, n.outScale)
		if err != nil {
			return err
		}
		b.Append(d)
	default:
		return fmt.Errorf("integer into %T", n.b)
	}
	return nil
}

func (n *avroNode) appendBytes(v []byte) error {
	switch b := n.b.(type) {
	case *array.StringBuilder:
		b.BinaryBuilder.Append(v)
	case *array.BinaryBuilder:
		b.Append(v)
	case *array.Decimal128Builder:
		d, err := decimalFromBigEndian(v)
		if err != nil {
			return err
		}
		if n.decScale != n.outScale {
			if d, err = rescaleDecimal(d, n.decScale, n.outScale); err != nil {
				return err
			}
		}
		b.Append(d)
	default:
		return fmt.Errorf("bytes into %T", n.b)
	}
	return nil
}

// decimalFromBigEndian decodes a big-endian two's complement unscaled value.
func decimalFromBigEndian(v []byte) (decimal128.Num, error) {
	if len(v) == 0 {
		return decimal128.Num{}, nil
	}
	neg := v[0]&0x80 != 0
	for len(v) > 16 {
		if (neg && v[0] != 0xff) || (!neg && v[0] != 0) {
			return decimal128.Num{}, fmt.Errorf("decimal of %d bytes overflows 128 bits", len(v))
		}
		v = v[1:]
	}
	var buf [16]byte
	if neg {
		for i := range buf {
			buf[i] = 0xff
		}
	}
	copy(buf[16-len(v):], v)
	return decimal128.New(int64(binary.BigEndian.Uint64(buf[:8])), binary.BigEndian.Uint64(buf[8:])), nil
}

// rescaleDecimal changes a decimal's scale, failing (rather than panicking, as
// decimal128's Rescale can) on overflow or lost digits.
func rescaleDecimal(d decimal128.Num, from, to int32) (decimal128.Num, error) {
	if from == to {
		return d, nil
	}
	if from < 0 || to < 0 || from > 76 || to > 76 {
		return decimal128.Num{}, fmt.Errorf("decimal scale %d to %d", from, to)
	}
	v := d.BigInt()
	if to > from {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to-from)), nil))
	} else {
		var r big.Int
		v.QuoRem(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(from-to)), nil), &r)
		if r.Sign() != 0 {
			return decimal128.Num{}, fmt.Errorf("decimal of scale %d loses digits at scale %d", from, to)
		}
	}
	if v.BitLen() > 127 {
		return decimal128.Num{}, fmt.Errorf("decimal overflows 128 bits at scale %d", to)
	}
	return decimal128.FromBigInt(v), nil
}

package datafile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/orc"
	"github.com/tarnlake/tarn/format/types"
)

// ORCFieldIDKey is the ORC type attribute holding a Paimon field id
// (OrcTypeUtil.PAIMON_ORC_FIELD_ID_KEY).
const ORCFieldIDKey = "paimon.id"

// orcBaseSeconds is 2015-01-01T00:00:00Z, the base of ORC timestamps.
const orcBaseSeconds = 1420070400

// ORCFile is an open ORC data file (Paimon's file.format = orc).
type ORCFile struct {
	name string
	src  Source
	r    *orc.Reader
	opts OpenOptions
}

// OpenORC opens an ORC data file; name is used in errors. Closing the file closes src if
// it is an io.Closer.
func OpenORC(src Source, name string, o OpenOptions) (*ORCFile, error) {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	r, err := orc.NewReader(src, src.Size())
	if err != nil {
		return nil, fmt.Errorf("data file %s: not a readable ORC file: %w", name, err)
	}
	return &ORCFile{name: name, src: src, r: r, opts: o}, nil
}

// Close closes the file's source.
func (f *ORCFile) Close() error {
	f.r.Close()
	return closeSource(f.src)
}

// NumRows is the file's row count.
func (f *ORCFile) NumRows() int64 { return f.r.NumRows() }

// Reader is the file's ORC reader (tail, stripes).
func (f *ORCFile) Reader() *orc.Reader { return f.r }

// ReadFields implements DataFile.
func (f *ORCFile) ReadFields(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error) {
	has := func(fld types.DataField) bool {
		return orcMatch(f.r.Types(), 0, []types.DataField{fld}, f.opts.FileFields)[0] >= 0
	}
	return readThin(fields, has, func(fields []types.DataField) (BatchReader, error) { return f.Read(ctx, fields, batchSize) })
}

// Read returns batches of the given fields, in that order, with Arrow types from
// types.ToArrow. Columns are matched by their paimon.id attribute, by name in files
// without ids; a field the file lacks reads as nulls; integer and float columns are
// widened to the wanted type.
func (f *ORCFile) Read(ctx context.Context, fields []types.DataField, batchSize int) (BatchReader, error) {
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", f.name, err)
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	ts := f.r.Types()
	include := make([]bool, len(ts))
	include[0] = true
	cols := make([]*orcCol, len(fields))
	matched := orcMatch(ts, 0, fields, f.opts.FileFields)
	for i, fld := range fields {
		c := matched[i]
		if c < 0 {
			continue
		}
		col, err := newORCCol(ts, uint32(c), fld.Type, fileSubfields(f.opts.FileFields, fld.ID), include)
		if err != nil {
			return nil, fmt.Errorf("data file %s: column %q: %w", f.name, fld.Name, err)
		}
		cols[i] = col
	}
	return &orcBatches{f: f, schema: schema, cols: cols, include: include, batchSize: batchSize,
		rb: array.NewRecordBuilder(f.opts.Mem, schema), stripe: -1}, nil
}

func fileSubfields(fileFields []types.DataField, id int) []types.DataField {
	if j := types.FieldByID(fileFields, id); j >= 0 {
		return fileFields[j].Type.Fields
	}
	return nil
}

// orcMatch finds the ORC columns (children of struct column parent) of the wanted fields:
// by paimon.id when the struct's fields carry ids, otherwise by name; -1 if absent.
func orcMatch(ts []orc.Type, parent uint32, want, fileFields []types.DataField) []int {
	p := &ts[parent]
	out := make([]int, len(want))
	withIDs := false
	byID := map[int]int{}
	for _, c := range p.Subtypes {
		if s, ok := ts[c].Attribute(ORCFieldIDKey); ok {
			if id, err := strconv.Atoi(s); err == nil {
				byID[id] = int(c)
				withIDs = true
			}
		}
	}
	names := fileFieldNames(want, fileFields)
	for i, w := range want {
		out[i] = -1
		if withIDs {
			if c, ok := byID[w.ID]; ok {
				out[i] = c
			}
			continue
		}
		for j, n := range p.FieldNames {
			if names[i] != "" && n == names[i] {
				out[i] = int(p.Subtypes[j])
				break
			}
		}
	}
	return out
}

type orcBatches struct {
	f         *ORCFile
	schema    *arrow.Schema
	cols      []*orcCol
	include   []bool
	batchSize int
	rb        *array.RecordBuilder
	stripe    int   // current stripe
	left      int64 // rows left in it
}

func (r *orcBatches) Schema() *arrow.Schema { return r.schema }

func (r *orcBatches) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for n < r.batchSize {
		if r.left == 0 {
			r.stripe++
			if r.stripe >= len(r.f.r.Foot.Stripes) {
				break
			}
			s, err := r.f.r.Stripe(r.stripe, r.include)
			if err != nil {
				return nil, fmt.Errorf("data file %s: %w", r.f.name, err)
			}
			for i, c := range r.cols {
				if c == nil {
					continue
				}
				if err := c.startStripe(s); err != nil {
					return nil, fmt.Errorf("data file %s: stripe %d: column %q: %w", r.f.name, r.stripe, r.schema.Field(i).Name, err)
				}
			}
			r.left = s.Rows
			if r.left < 0 {
				return nil, fmt.Errorf("data file %s: stripe %d of %d rows", r.f.name, r.stripe, r.left)
			}
			continue
		}
		m := int(min(r.left, int64(r.batchSize-n)))
		for i, c := range r.cols {
			b := r.rb.Field(i)
			if c == nil {
				b.AppendNulls(m)
				continue
			}
			if err := c.read(m, nil, b); err != nil {
				return nil, fmt.Errorf("data file %s: stripe %d: column %q: %w", r.f.name, r.stripe, r.schema.Field(i).Name, err)
			}
		}
		r.left -= int64(m)
		n += m
	}
	if n == 0 {
		return nil, io.EOF
	}
	return r.rb.NewRecordBatch(), nil
}

func (r *orcBatches) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return nil
}

// orcCol decodes one ORC column (and its children) into builders of a Paimon type.
type orcCol struct {
	id       uint32
	t        *orc.Type
	want     types.DataType
	children []*orcCol // list: elem; map: key, value; struct: wanted fields (nil: absent)
	instant  bool      // TIMESTAMP_INSTANT

	// per stripe
	present *orc.BoolReader
	ints    *orc.IntReader // DATA of integers, dates, timestamp seconds, dictionary indices
	second  *orc.IntReader // SECONDARY (decimal scales, timestamp nanos); LENGTH
	bools   *orc.BoolReader
	bytes   *orc.ByteReader
	data    []byte // DATA of floats, strings, binaries, decimals
	off     int
	dict    [][]byte // dictionary entries
	tsBase  int64    // timestamp base in epoch seconds
	tsZone  *time.Location

	valid []bool
	vals  []int64
	aux   []int64
	offs  []int32
}

func newORCCol(ts []orc.Type, id uint32, want types.DataType, fileFields []types.DataField, include []bool) (*orcCol, error) {
	t := &ts[id]
	include[id] = true
	c := &orcCol{id: id, t: t, want: want}
	bad := fmt.Errorf("cannot read ORC %s as %s", t.Kind, want)
	switch t.Kind {
	case orc.Boolean:
		if want.Root != types.Boolean {
			return nil, bad
		}
	case orc.Byte, orc.Short, orc.Int, orc.Long:
		switch want.Root {
		case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double, types.Decimal:
		case types.Time:
			if t.Kind != orc.Int {
				return nil, bad
			}
		default:
			return nil, bad
		}
	case orc.Float, orc.Double:
		if want.Root != types.Float && want.Root != types.Double || (t.Kind == orc.Double && want.Root == types.Float) {
			return nil, bad
		}
	case orc.String, orc.Varchar, orc.Char, orc.Binary:
		if !want.IsString() && !want.IsBinary() && want.Root != types.Blob {
			return nil, bad
		}
	case orc.Decimal:
		if want.Root != types.Decimal {
			return nil, bad
		}
	case orc.Date:
		if want.Root != types.Date {
			return nil, bad
		}
	case orc.Timestamp, orc.TimestampInstant:
		if want.Root != types.Timestamp && want.Root != types.LocalZonedTimestamp {
			return nil, bad
		}
		c.instant = t.Kind == orc.TimestampInstant
	case orc.List:
		if want.Root != types.Array && want.Root != types.Vector {
			return nil, bad
		}
		e, err := newORCCol(ts, t.Subtypes[0], *want.Elem, nil, include)
		if err != nil {
			return nil, err
		}
		c.children = []*orcCol{e}
	case orc.Map:
		if want.Root != types.Map && want.Root != types.Multiset {
			return nil, bad
		}
		kt, vt := mapKeyValue(want)
		k, err := newORCCol(ts, t.Subtypes[0], kt, nil, include)
		if err != nil {
			return nil, err
		}
		v, err := newORCCol(ts, t.Subtypes[1], vt, nil, include)
		if err != nil {
			return nil, err
		}
		c.children = []*orcCol{k, v}
	case orc.Struct:
		if want.Root != types.Row {
			return nil, bad
		}
		matched := orcMatch(ts, id, want.Fields, fileFields)
		c.children = make([]*orcCol, len(want.Fields))
		for i, m := range matched {
			if m < 0 {
				continue
			}
			ch, err := newORCCol(ts, uint32(m), want.Fields[i].Type, fileSubfields(fileFields, want.Fields[i].ID), include)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", want.Fields[i].Name, err)
			}
			c.children[i] = ch
		}
	default:
		return nil, fmt.Errorf("ORC %s columns are not supported", t.Kind)
	}
	return c, nil
}

func (c *orcCol) startStripe(s *orc.Stripe) error {
	enc, err := s.Encoding(c.id)
	if err != nil {
		return err
	}
	v2 := enc.Kind == orc.EncodingDirectV2 || enc.Kind == orc.EncodingDictionaryV2
	dictionary := enc.Kind == orc.EncodingDictionary || enc.Kind == orc.EncodingDictionaryV2
	c.present = nil
	if s.HasStream(c.id, orc.StreamPresent) {
		c.present = orc.NewBoolReader(s.Stream(c.id, orc.StreamPresent))
	}
	data := s.Stream(c.id, orc.StreamData)
	c.data, c.off, c.dict = data, 0, nil
	switch c.t.Kind {
	case orc.Boolean:
		c.bools = orc.NewBoolReader(data)
	case orc.Byte:
		c.bytes = orc.NewByteReader(data)
	case orc.Short, orc.Int, orc.Long, orc.Date:
		c.ints = orc.NewIntReader(data, true, v2)
	case orc.String, orc.Varchar, orc.Char, orc.Binary:
		if dictionary && c.t.Kind != orc.Binary {
			c.ints = orc.NewIntReader(data, false, v2)
			dd := s.Stream(c.id, orc.StreamDictionaryData)
			lens := orc.NewIntReader(s.Stream(c.id, orc.StreamLength), false, v2)
			if int64(enc.DictionarySize) > int64(len(dd))+1<<20 {
				return fmt.Errorf("dictionary of %d entries in %d bytes", enc.DictionarySize, len(dd))
			}
			c.dict = make([][]byte, enc.DictionarySize)
			off := 0
			for i := range c.dict {
				l, err := lens.Next()
				if err != nil {
					return fmt.Errorf("dictionary lengths: %w", err)
				}
				if l < 0 || l > int64(len(dd)-off) {
					return fmt.Errorf("dictionary entry of %d bytes", l)
				}
				c.dict[i] = dd[off : off+int(l)]
				off += int(l)
			}
		} else {
			c.second = orc.NewIntReader(s.Stream(c.id, orc.StreamLength), false, v2)
		}
	case orc.Decimal:
		c.second = orc.NewIntReader(s.Stream(c.id, orc.StreamSecondary), true, v2)
	case orc.Timestamp, orc.TimestampInstant:
		c.ints = orc.NewIntReader(data, true, v2)
		c.second = orc.NewIntReader(s.Stream(c.id, orc.StreamSecondary), false, v2)
		c.tsBase, c.tsZone = orcBaseSeconds, nil
		if tz := s.Footer.WriterTimezone; !c.instant && tz != "" && tz != "UTC" && tz != "GMT" && tz != "Etc/UTC" {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("writer time zone %q: %w", tz, err)
			}
			c.tsZone = loc
			c.tsBase = time.Date(2015, 1, 1, 0, 0, 0, 0, loc).Unix()
		}
	case orc.List, orc.Map:
		c.second = orc.NewIntReader(s.Stream(c.id, orc.StreamLength), false, v2)
	}
	for _, ch := range c.children {
		if ch != nil {
			if err := ch.startStripe(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// read appends n rows to b. mask (nil: all) marks the rows this column has values for:
// rows under a null struct have none and are appended as nulls.
func (c *orcCol) read(n int, mask []bool, b array.Builder) error {
	if cap(c.valid) < n {
		c.valid = make([]bool, n)
	}
	valid := c.valid[:n]
	k := 0
	for i := range valid {
		v := mask == nil || mask[i]
		if v && c.present != nil {
			p, err := c.present.Next()
			if err != nil {
				return fmt.Errorf("present stream: %w", err)
			}
			v = p
		}
		valid[i] = v
		if v {
			k++
		}
	}
	switch c.t.Kind {
	case orc.Boolean:
		bb, ok := b.(*array.BooleanBuilder)
		if !ok {
			return fmt.Errorf("boolean into %T", b)
		}
		bb.Reserve(n)
		for _, v := range valid {
			if !v {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			x, err := c.bools.Next()
			if err != nil {
				return err
			}
			bb.UnsafeAppend(x)
		}
		return nil
	case orc.Byte:
		vals := c.grow(k)
		for i := range vals {
			x, err := c.bytes.Next()
			if err != nil {
				return err
			}
			vals[i] = int64(int8(x))
		}
		return c.appendInts(b, valid, vals)
	case orc.Short, orc.Int, orc.Long, orc.Date:
		vals := c.grow(k)
		if err := c.ints.Read(vals); err != nil {
			return err
		}
		return c.appendInts(b, valid, vals)
	case orc.Float, orc.Double:
		return c.readFloats(b, valid, k)
	case orc.String, orc.Varchar, orc.Char, orc.Binary:
		return c.readBytes(b, valid, k)
	case orc.Decimal:
		return c.readDecimals(b, valid, k)
	case orc.Timestamp, orc.TimestampInstant:
		return c.readTimestamps(b, valid, k)
	case orc.List:
		return c.readList(b, valid, k)
	case orc.Map:
		return c.readMap(b, valid, k)
	case orc.Struct:
		sb, ok := b.(*array.StructBuilder)
		if !ok {
			return fmt.Errorf("struct into %T", b)
		}
		sb.AppendValues(valid)
		// The children read after AppendValues: copy the mask, which the next read reuses.
		mask := append([]bool(nil), valid...)
		for i, ch := range c.children {
			fb := sb.FieldBuilder(i)
			if ch == nil {
				fb.AppendNulls(n)
				continue
			}
			if err := ch.read(n, mask, fb); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("ORC %s", c.t.Kind)
}

func (c *orcCol) grow(k int) []int64 {
	if cap(c.vals) < k {
		c.vals = make([]int64, k)
	}
	return c.vals[:k]
}

type numBuilder[T any] interface {
	Reserve(int)
	UnsafeAppend(T)
	UnsafeAppendBoolToBitmap(bool)
}

func appendNums[T ~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64](b numBuilder[T], valid []bool, vals []int64) {
	b.Reserve(len(valid))
	j := 0
	for _, v := range valid {
		if v {
			b.UnsafeAppend(T(vals[j]))
			j++
		} else {
			b.UnsafeAppendBoolToBitmap(false)
		}
	}
}

func (c *orcCol) appendInts(b array.Builder, valid []bool, vals []int64) error {
	switch bb := b.(type) {
	case *array.Int8Builder:
		appendNums[int8](bb, valid, vals)
	case *array.Int16Builder:
		appendNums[int16](bb, valid, vals)
	case *array.Int32Builder:
		appendNums[int32](bb, valid, vals)
	case *array.Int64Builder:
		appendNums[int64](bb, valid, vals)
	case *array.Float32Builder:
		appendNums[float32](bb, valid, vals)
	case *array.Float64Builder:
		appendNums[float64](bb, valid, vals)
	case *array.Date32Builder:
		appendNums[arrow.Date32](bb, valid, vals)
	case *array.Time32Builder:
		appendNums[arrow.Time32](bb, valid, vals)
	case *array.Decimal128Builder:
		j := 0
		for _, v := range valid {
			if !v {
				bb.AppendNull()
				continue
			}
			d, err := rescaleDecimal(decimal128.FromI64(vals[j]), 0, int32(c.want.Scale))
			if err != nil {
				return err
			}
			bb.Append(d)
			j++
		}
	default:
		return fmt.Errorf("integers into %T", b)
	}
	return nil
}

func (c *orcCol) readFloats(b array.Builder, valid []bool, k int) error {
	width := 8
	if c.t.Kind == orc.Float {
		width = 4
	}
	if len(c.data)-c.off < k*width {
		return orc.ErrShort
	}
	d := c.data[c.off : c.off+k*width]
	c.off += k * width
	j := 0
	next := func() float64 {
		var v float64
		if width == 4 {
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(d[j:])))
		} else {
			v = math.Float64frombits(binary.LittleEndian.Uint64(d[j:]))
		}
		j += width
		return v
	}
	switch bb := b.(type) {
	case *array.Float32Builder:
		bb.Reserve(len(valid))
		for _, v := range valid {
			if v {
				bb.UnsafeAppend(math.Float32frombits(binary.LittleEndian.Uint32(d[j:])))
				j += 4
			} else {
				bb.UnsafeAppendBoolToBitmap(false)
			}
		}
	case *array.Float64Builder:
		bb.Reserve(len(valid))
		for _, v := range valid {
			if v {
				bb.UnsafeAppend(next())
			} else {
				bb.UnsafeAppendBoolToBitmap(false)
			}
		}
	default:
		return fmt.Errorf("floats into %T", b)
	}
	return nil
}

func (c *orcCol) readBytes(b array.Builder, valid []bool, k int) error {
	var bb *array.BinaryBuilder
	switch x := b.(type) {
	case *array.StringBuilder:
		bb = x.BinaryBuilder
	case *array.BinaryBuilder:
		bb = x
	default:
		return fmt.Errorf("strings into %T", b)
	}
	vals := c.grow(k)
	if c.dict != nil {
		if err := c.ints.Read(vals); err != nil {
			return err
		}
		bb.Reserve(len(valid))
		j := 0
		for _, v := range valid {
			if !v {
				bb.AppendNull()
				continue
			}
			i := vals[j]
			j++
			if i < 0 || i >= int64(len(c.dict)) {
				return fmt.Errorf("dictionary index %d of %d", i, len(c.dict))
			}
			bb.Append(c.trim(c.dict[i]))
		}
		return nil
	}
	if err := c.second.Read(vals); err != nil {
		return fmt.Errorf("lengths: %w", err)
	}
	total := 0
	for _, l := range vals {
		if l < 0 || l > int64(len(c.data)) {
			return fmt.Errorf("value of %d bytes", l)
		}
		total += int(l)
	}
	if total > len(c.data)-c.off {
		return orc.ErrShort
	}
	bb.Reserve(len(valid))
	bb.ReserveData(total)
	j := 0
	for _, v := range valid {
		if !v {
			bb.AppendNull()
			continue
		}
		l := int(vals[j])
		j++
		bb.Append(c.trim(c.data[c.off : c.off+l]))
		c.off += l
	}
	return nil
}

func (c *orcCol) readDecimals(b array.Builder, valid []bool, k int) error {
	bb, ok := b.(*array.Decimal128Builder)
	if !ok {
		return fmt.Errorf("decimals into %T", b)
	}
	scales := c.grow(k)
	if err := c.second.Read(scales); err != nil {
		return fmt.Errorf("scales: %w", err)
	}
	want := int32(c.want.Scale)
	j := 0
	for _, v := range valid {
		if !v {
			bb.AppendNull()
			continue
		}
		hi, lo, err := orc.ReadVarint128(c.data, &c.off)
		if err != nil {
			return err
		}
		d := decimal128.New(hi, lo)
		if s := int32(scales[j]); s != want {
			if s < 0 || s > 38 {
				return fmt.Errorf("decimal scale %d", s)
			}
			if d, err = rescaleDecimal(d, s, want); err != nil {
				return err
			}
		}
		j++
		bb.Append(d)
	}
	return nil
}

// parseNanos decodes ORC's nanosecond encoding: the low 3 bits count trailing decimal
// zeros removed (beyond the first), the rest is the significant digits.
func parseNanos(v int64) int64 {
	z := v & 7
	r := v >> 3
	if z != 0 {
		for i := int64(0); i <= z; i++ {
			r *= 10
		}
	}
	return r
}

func (c *orcCol) readTimestamps(b array.Builder, valid []bool, k int) error {
	bb, ok := b.(*array.TimestampBuilder)
	if !ok {
		return fmt.Errorf("timestamps into %T", b)
	}
	secs := c.grow(k)
	if err := c.ints.Read(secs); err != nil {
		return fmt.Errorf("seconds: %w", err)
	}
	if cap(c.aux) < k {
		c.aux = make([]int64, k)
	}
	nanos := c.aux[:k]
	if err := c.second.Read(nanos); err != nil {
		return fmt.Errorf("nanoseconds: %w", err)
	}
	unit := bb.Type().(*arrow.TimestampType).Unit
	bb.Reserve(len(valid))
	j := 0
	for _, v := range valid {
		if !v {
			bb.UnsafeAppendBoolToBitmap(false)
			continue
		}
		s, ns := secs[j]+c.tsBase, parseNanos(nanos[j])
		j++
		if ns < 0 || ns > 999_999_999 {
			return fmt.Errorf("timestamp nanoseconds %d", ns)
		}
		// Writers store the seconds truncated towards zero (Java's millis / 1000).
		if s < 0 && ns > 999_999 {
			s--
		}
		if c.tsZone != nil {
			// TIMESTAMP holds a wall-clock time of the writer's zone.
			_, offset := time.Unix(s, 0).In(c.tsZone).Zone()
			s += int64(offset)
		}
		x, err := timestampIn(s, ns, unit)
		if err != nil {
			return err
		}
		bb.UnsafeAppend(arrow.Timestamp(x))
	}
	return nil
}

// maxORCItems bounds the list or map items of one batch (a guard against corrupt lengths).
const maxORCItems = 1 << 24

var errTimestampRange = errors.New("timestamp is outside the range of nanosecond timestamps (1677-09-21..2262-04-11)")

// timestampIn converts seconds and nanoseconds to an Arrow timestamp of a unit
// (truncating below the unit).
func timestampIn(s, ns int64, unit arrow.TimeUnit) (int64, error) {
	switch unit {
	case arrow.Second:
		return s, nil
	case arrow.Millisecond:
		return s*1_000 + ns/1_000_000, nil
	case arrow.Microsecond:
		return s*1_000_000 + ns/1_000, nil
	}
	if s > math.MaxInt64/1_000_000_000-1 || s < math.MinInt64/1_000_000_000+1 {
		return 0, errTimestampRange
	}
	return s*1_000_000_000 + ns, nil
}

func (c *orcCol) lengths(valid []bool, k int, base int) ([]int32, int, error) {
	lens := c.grow(k)
	if err := c.second.Read(lens); err != nil {
		return nil, 0, fmt.Errorf("lengths: %w", err)
	}
	if cap(c.offs) < len(valid) {
		c.offs = make([]int32, len(valid))
	}
	offs := c.offs[:len(valid)]
	total := 0
	j := 0
	for i, v := range valid {
		offs[i] = int32(base + total)
		if v {
			l := lens[j]
			j++
			if l < 0 || l > maxORCItems || int64(total)+l > maxORCItems {
				return nil, 0, fmt.Errorf("collection of %d items", l)
			}
			total += int(l)
		}
	}
	return offs, total, nil
}

func (c *orcCol) readList(b array.Builder, valid []bool, k int) error {
	switch lb := b.(type) {
	case *array.ListBuilder:
		vb := lb.ValueBuilder()
		offs, total, err := c.lengths(valid, k, vb.Len())
		if err != nil {
			return err
		}
		lb.AppendValues(offs, valid)
		return c.children[0].read(total, nil, vb)
	case *array.FixedSizeListBuilder:
		n := c.want.Length
		lens := c.grow(k)
		if err := c.second.Read(lens); err != nil {
			return fmt.Errorf("lengths: %w", err)
		}
		j := 0
		vb := lb.ValueBuilder()
		for _, v := range valid {
			if !v {
				lb.AppendNull()
				continue
			}
			if lens[j] != int64(n) {
				return fmt.Errorf("vector of length %d where %d is declared", lens[j], n)
			}
			j++
			lb.Append(true)
			if err := c.children[0].read(n, nil, vb); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("list into %T", b)
}

func (c *orcCol) readMap(b array.Builder, valid []bool, k int) error {
	mb, ok := b.(*array.MapBuilder)
	if !ok {
		return fmt.Errorf("map into %T", b)
	}
	kb, ib := mb.KeyBuilder(), mb.ItemBuilder()
	offs, total, err := c.lengths(valid, k, kb.Len())
	if err != nil {
		return err
	}
	mb.AppendValues(offs, valid)
	if err := c.children[0].read(total, nil, kb); err != nil {
		return err
	}
	return c.children[1].read(total, nil, ib)
}

// trim right-trims the spaces of CHAR values, as Java's CharTreeReader does (writers pad
// them to the length).
func (c *orcCol) trim(b []byte) []byte {
	if c.t.Kind != orc.Char {
		return b
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

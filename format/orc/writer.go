package orc

import (
	"errors"
	"fmt"
	"io"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	Types           []Type // the type tree, root struct first (pre-order)
	Compression     Compression
	BlockSize       int        // compression block size; default 256 KiB
	ZstdLevel       int        // default 1
	StripeSize      int64      // uncompressed bytes buffered before a stripe is written; default 64 MiB
	Metadata        []KeyValue // user metadata
	SoftwareVersion string
}

// Writer writes an ORC file (format 0.12, RLE v1 DIRECT encodings, no row indexes),
// buffering one stripe in memory. Column values are added through Column; rows are
// counted with AddRows.
type Writer struct {
	out      io.Writer
	o        WriterOptions
	codec    *codec
	cols     []*ColumnWriter
	offset   uint64
	rows     uint64 // rows of the current stripe
	total    uint64
	stripes  []StripeInformation
	stats    [][]ColumnStatistics // per stripe
	fileStat []ColumnStatistics
	buf      []byte
	closed   bool
}

// NewWriter starts a file on out.
func NewWriter(out io.Writer, o WriterOptions) (*Writer, error) {
	if len(o.Types) == 0 || o.Types[0].Kind != Struct {
		return nil, errors.New("orc writer: the root type must be a struct")
	}
	if o.BlockSize == 0 {
		o.BlockSize = 256 << 10
	}
	if o.ZstdLevel == 0 {
		o.ZstdLevel = 1
	}
	if o.StripeSize == 0 {
		o.StripeSize = 64 << 20
	}
	c, err := newCodec(o.Compression, o.BlockSize, o.ZstdLevel)
	if err != nil {
		return nil, err
	}
	w := &Writer{out: out, o: o, codec: c, fileStat: make([]ColumnStatistics, len(o.Types))}
	for i := range o.Types {
		w.cols = append(w.cols, &ColumnWriter{kind: o.Types[i].Kind})
	}
	if err := w.write([]byte(Magic)); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) write(b []byte) error {
	n, err := w.out.Write(b)
	w.offset += uint64(n)
	return err
}

// Column returns the writer of column id (pre-order type number).
func (w *Writer) Column(id int) *ColumnWriter { return w.cols[id] }

// AddRows counts rows added to every column of the current stripe.
func (w *Writer) AddRows(n int) { w.rows += uint64(n) }

// Buffered is the uncompressed size of the current stripe.
func (w *Writer) Buffered() int64 {
	var n int64
	for _, c := range w.cols {
		n += c.size()
	}
	return n
}

// Written is the bytes written so far.
func (w *Writer) Written() int64 { return int64(w.offset) }

// StripeFull reports whether the current stripe reached the stripe size.
func (w *Writer) StripeFull() bool { return w.Buffered() >= w.o.StripeSize }

// FlushStripe writes the current stripe (if it has rows).
func (w *Writer) FlushStripe() error {
	if w.rows == 0 {
		return nil
	}
	start := w.offset
	var sf StripeFooter
	stats := make([]ColumnStatistics, len(w.cols))
	for id, c := range w.cols {
		c.finish()
		for _, s := range c.streams() {
			if s.data == nil {
				continue
			}
			var err error
			w.buf, err = w.codec.compress(w.buf[:0], s.data)
			if err != nil {
				return err
			}
			if err := w.write(w.buf); err != nil {
				return err
			}
			sf.Streams = append(sf.Streams, Stream{Kind: s.kind, Column: uint32(id), Length: uint64(len(w.buf))})
		}
		sf.Columns = append(sf.Columns, ColumnEncoding{Kind: EncodingDirect})
		stats[id] = ColumnStatistics{NumberOfValues: c.values, HasNull: c.nulls > 0}
		if id == 0 {
			stats[id].NumberOfValues = w.rows
		}
		fs := &w.fileStat[id]
		fs.NumberOfValues += stats[id].NumberOfValues
		fs.HasNull = fs.HasNull || stats[id].HasNull
		c.reset()
	}
	sf.WriterTimezone = "UTC"
	dataLen := w.offset - start
	var err error
	w.buf, err = w.codec.compress(w.buf[:0], sf.marshal())
	if err != nil {
		return err
	}
	if err := w.write(w.buf); err != nil {
		return err
	}
	w.stripes = append(w.stripes, StripeInformation{Offset: start, DataLength: dataLen, FooterLength: uint64(len(w.buf)), NumberOfRows: w.rows})
	w.stats = append(w.stats, stats)
	w.total += w.rows
	w.rows = 0
	return nil
}

// Close writes the last stripe and the file tail. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.codec.close()
	if err := w.FlushStripe(); err != nil {
		return err
	}
	contentEnd := w.offset
	meta, err := w.codec.compress(nil, marshalMetadata(w.stats))
	if err != nil {
		return err
	}
	if err := w.write(meta); err != nil {
		return err
	}
	w.fileStat[0].NumberOfValues = w.total
	foot := Footer{
		HeaderLength: uint64(len(Magic)), ContentLength: contentEnd - uint64(len(Magic)),
		Stripes: w.stripes, Types: w.o.Types, Metadata: w.o.Metadata, NumberOfRows: w.total,
		Statistics: w.fileStat, SoftwareVersion: w.o.SoftwareVersion,
	}
	fb, err := w.codec.compress(nil, foot.marshal())
	if err != nil {
		return err
	}
	if err := w.write(fb); err != nil {
		return err
	}
	ps := PostScript{FooterLength: uint64(len(fb)), Compression: w.o.Compression, CompressionBlockSize: uint64(w.o.BlockSize),
		Version: []uint32{0, 12}, MetadataLength: uint64(len(meta)), WriterVersion: 6, Magic: Magic}
	pb := ps.marshal()
	if len(pb) > 255 {
		return fmt.Errorf("postscript of %d bytes", len(pb))
	}
	return w.write(append(pb, byte(len(pb))))
}

// ColumnWriter buffers one column's streams for the current stripe.
type ColumnWriter struct {
	kind    Kind
	present boolEncoder
	nulls   int
	values  uint64
	data    []byte // raw DATA (floats, strings, decimals)
	ints    intEncoder
	length  intEncoder
	second  intEncoder
	bytes   byteEncoder
	bools   boolEncoder
}

type stream struct {
	kind StreamKind
	data []byte
}

func (c *ColumnWriter) size() int64 {
	return int64(len(c.present.enc.out) + len(c.data) + len(c.ints.out) + len(c.length.out) + len(c.second.out) +
		len(c.bytes.out) + len(c.bools.enc.out) + 8*(len(c.ints.pending)+len(c.length.pending)+len(c.second.pending)))
}

func (c *ColumnWriter) finish() {
	c.present.flush()
	c.ints.flush()
	c.length.flush()
	c.second.flush()
	c.bytes.flush()
	c.bools.flush()
}

func (c *ColumnWriter) reset() {
	*c = ColumnWriter{kind: c.kind, present: boolEncoder{enc: byteEncoder{out: c.present.enc.out[:0]}},
		data: c.data[:0], ints: intEncoder{signed: c.ints.signed, out: c.ints.out[:0]},
		length: intEncoder{out: c.length.out[:0]}, second: intEncoder{signed: c.second.signed, out: c.second.out[:0]},
		bytes: byteEncoder{out: c.bytes.out[:0]}, bools: boolEncoder{enc: byteEncoder{out: c.bools.enc.out[:0]}}}
}

// streams lists the column's streams in the order they are written (nil data: absent).
func (c *ColumnWriter) streams() []stream {
	var out []stream
	if c.nulls > 0 {
		out = append(out, stream{StreamPresent, nonNil(c.present.enc.out)})
	}
	switch c.kind {
	case Boolean:
		out = append(out, stream{StreamData, nonNil(c.bools.enc.out)})
	case Byte:
		out = append(out, stream{StreamData, nonNil(c.bytes.out)})
	case Short, Int, Long, Date:
		out = append(out, stream{StreamData, nonNil(c.ints.out)})
	case Float, Double:
		out = append(out, stream{StreamData, nonNil(c.data)})
	case String, Varchar, Char, Binary:
		out = append(out, stream{StreamData, nonNil(c.data)}, stream{StreamLength, nonNil(c.length.out)})
	case Decimal:
		out = append(out, stream{StreamData, nonNil(c.data)}, stream{StreamSecondary, nonNil(c.second.out)})
	case Timestamp, TimestampInstant:
		out = append(out, stream{StreamData, nonNil(c.ints.out)}, stream{StreamSecondary, nonNil(c.second.out)})
	case List, Map:
		out = append(out, stream{StreamLength, nonNil(c.length.out)})
	}
	return out
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Present records whether the column's next row is present; a child of a struct, list or
// map has rows only where its parent has values.
func (c *ColumnWriter) Present(ok bool) {
	c.present.add(ok)
	if ok {
		c.values++
	} else {
		c.nulls++
	}
}

// Int adds an integer (BYTE: its low byte) or a DATE day number.
func (c *ColumnWriter) Int(v int64) {
	if c.kind == Byte {
		c.bytes.add(byte(v))
		return
	}
	c.ints.signed = true
	c.ints.add(v)
}

// Bool adds a boolean.
func (c *ColumnWriter) Bool(v bool) { c.bools.add(v) }

// Raw appends bytes to the DATA stream (little-endian floats and doubles).
func (c *ColumnWriter) Raw(b []byte) { c.data = append(c.data, b...) }

// RawData exposes the DATA stream buffer for appending.
func (c *ColumnWriter) RawData() *[]byte { return &c.data }

// Bytes adds a string or binary value.
func (c *ColumnWriter) Bytes(b []byte) {
	c.data = append(c.data, b...)
	c.length.add(int64(len(b)))
}

// Length adds a list or map length.
func (c *ColumnWriter) Length(n int) { c.length.add(int64(n)) }

// Decimal adds a decimal's unscaled 128-bit value (hi, lo) and its scale.
func (c *ColumnWriter) Decimal(hi int64, lo uint64, scale int) {
	c.data = AppendVarint128(c.data, hi, lo)
	c.second.signed = true
	c.second.add(int64(scale))
}

// Timestamp adds a timestamp's seconds relative to the ORC base and its encoded nanos.
func (c *ColumnWriter) Timestamp(secs, encodedNanos int64) {
	c.ints.signed = true
	c.ints.add(secs)
	c.second.add(encodedNanos)
}

// AppendVarint128 appends a 128-bit two's complement integer as a zigzag varint.
func AppendVarint128(b []byte, hi int64, lo uint64) []byte {
	// zigzag: (v << 1) ^ (v >> 127)
	sign := uint64(hi >> 63)
	zhi := (uint64(hi)<<1 | lo>>63) ^ sign
	zlo := (lo << 1) ^ sign
	for zhi != 0 || zlo >= 0x80 {
		b = append(b, byte(zlo)|0x80)
		zlo = zlo>>7 | zhi<<57
		zhi >>= 7
	}
	return append(b, byte(zlo))
}

// byteEncoder writes byte run-length encoding.
type byteEncoder struct {
	out     []byte
	pending []byte
}

func (e *byteEncoder) add(v byte) {
	e.pending = append(e.pending, v)
	if len(e.pending) >= 1024 {
		e.encode(false)
	}
}

func (e *byteEncoder) flush() { e.encode(true) }

// encode writes the pending bytes as runs (3..130 equal bytes) and literal groups (up to
// 128); unless all, a tail that may start a run stays pending.
func (e *byteEncoder) encode(all bool) {
	p := e.pending
	lit := 0 // start of pending literals
	i := 0
	for i < len(p) {
		j := i + 1
		for j < len(p) && p[j] == p[i] && j-i < 130 {
			j++
		}
		if j-i >= 3 {
			e.literals(p[lit:i])
			e.out = append(e.out, byte(j-i-3), p[i])
			i, lit = j, j
			continue
		}
		i++
	}
	if !all && len(p)-lit > 0 {
		// keep the unfinished tail pending
		keep := min(len(p)-lit, 130)
		e.literals(p[lit : len(p)-keep])
		e.pending = append(e.pending[:0], p[len(p)-keep:]...)
		return
	}
	e.literals(p[lit:])
	e.pending = e.pending[:0]
}

func (e *byteEncoder) literals(b []byte) {
	for len(b) > 0 {
		n := min(len(b), 128)
		e.out = append(e.out, byte(256-n))
		e.out = append(e.out, b[:n]...)
		b = b[n:]
	}
}

// boolEncoder packs booleans most significant bit first into byte RLE.
type boolEncoder struct {
	enc  byteEncoder
	cur  byte
	bits int
}

func (e *boolEncoder) add(v bool) {
	e.cur <<= 1
	if v {
		e.cur |= 1
	}
	e.bits++
	if e.bits == 8 {
		e.enc.add(e.cur)
		e.cur, e.bits = 0, 0
	}
}

func (e *boolEncoder) flush() {
	if e.bits > 0 {
		e.enc.add(e.cur << (8 - e.bits))
		e.cur, e.bits = 0, 0
	}
	e.enc.flush()
}

// intEncoder writes integer run-length encoding version 1: runs of 3..130 values with a
// constant delta in [-128, 127], and literal groups of up to 128 varints.
type intEncoder struct {
	signed  bool
	out     []byte
	pending []int64
}

func (e *intEncoder) add(v int64) {
	e.pending = append(e.pending, v)
	if len(e.pending) >= 1024 {
		e.encode(false)
	}
}

func (e *intEncoder) flush() { e.encode(true) }

func (e *intEncoder) encode(all bool) {
	p := e.pending
	lit := 0
	i := 0
	for i+2 < len(p) {
		d, ok := smallDelta(p[i], p[i+1])
		if d2, ok2 := smallDelta(p[i+1], p[i+2]); !ok || !ok2 || d2 != d {
			i++
			continue
		}
		j := i + 2 // last value of the run
		for j+1 < len(p) && j+1-i < 130 {
			if dj, ok := smallDelta(p[j], p[j+1]); !ok || dj != d {
				break
			}
			j++
		}
		e.literals(p[lit:i])
		e.out = append(e.out, byte(j+1-i-3), byte(int8(d)))
		e.varint(p[i])
		i, lit = j+1, j+1
	}
	if !all {
		keep := min(len(p)-lit, 130)
		e.literals(p[lit : len(p)-keep])
		e.pending = append(e.pending[:0], p[len(p)-keep:]...)
		return
	}
	e.literals(p[lit:])
	e.pending = e.pending[:0]
}

// smallDelta is b-a when it fits a run's delta byte (and does not overflow).
func smallDelta(a, b int64) (int64, bool) {
	d := b - a
	if d < -128 || d > 127 || (d > 0) != (b > a) || (d < 0) != (b < a) {
		return 0, false
	}
	return d, true
}

func (e *intEncoder) literals(v []int64) {
	for len(v) > 0 {
		n := min(len(v), 128)
		e.out = append(e.out, byte(256-n))
		for _, x := range v[:n] {
			e.varint(x)
		}
		v = v[n:]
	}
}

func (e *intEncoder) varint(v int64) {
	u := uint64(v)
	if e.signed {
		u = uint64(v<<1) ^ uint64(v>>63)
	}
	for u >= 0x80 {
		e.out = append(e.out, byte(u)|0x80)
		u >>= 7
	}
	e.out = append(e.out, byte(u))
}

package orc

import (
	"errors"
	"fmt"
	"io"
)

// Magic starts every ORC file and ends its postscript.
const Magic = "ORC"

// maxTail bounds the footer and metadata sizes read.
const maxTail = 256 << 20

// Reader reads an ORC file's tail and stripes.
type Reader struct {
	src   io.ReaderAt
	size  int64
	PS    PostScript
	Foot  Footer
	codec *codec
}

// NewReader reads the tail of an ORC file of the given size.
func NewReader(src io.ReaderAt, size int64) (*Reader, error) {
	if size < int64(len(Magic))+1 {
		return nil, errors.New("file too short for ORC")
	}
	tailLen := min(size, 16<<10)
	tail := make([]byte, tailLen)
	if _, err := src.ReadAt(tail, size-tailLen); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	psLen := int64(tail[len(tail)-1])
	if psLen == 0 || psLen+1 > tailLen {
		return nil, fmt.Errorf("postscript length %d", psLen)
	}
	ps, err := parsePostScript(tail[tailLen-1-psLen : tailLen-1])
	if err != nil {
		return nil, fmt.Errorf("postscript: %w", err)
	}
	if ps.Magic != Magic {
		return nil, errors.New("no ORC magic in the postscript")
	}
	if ps.FooterLength > maxTail || ps.MetadataLength > maxTail || int64(ps.FooterLength+ps.MetadataLength)+psLen+1 > size {
		return nil, fmt.Errorf("footer of %d and metadata of %d bytes do not fit the file", ps.FooterLength, ps.MetadataLength)
	}
	c, err := newCodec(ps.Compression, int(ps.CompressionBlockSize), 0)
	if err != nil {
		return nil, err
	}
	r := &Reader{src: src, size: size, PS: ps, codec: c}
	footLen := int64(ps.FooterLength)
	var footRaw []byte
	if footLen+psLen+1 <= tailLen {
		footRaw = tail[tailLen-1-psLen-footLen : tailLen-1-psLen]
	} else {
		footRaw = make([]byte, footLen)
		if _, err := src.ReadAt(footRaw, size-1-psLen-footLen); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	foot, err := c.decompress(nil, footRaw)
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if r.Foot, err = parseFooter(foot); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if err := r.checkTypes(); err != nil {
		return nil, err
	}
	var rows uint64
	for i, s := range r.Foot.Stripes {
		end := s.Offset + s.IndexLength + s.DataLength + s.FooterLength
		if s.Offset < uint64(len(Magic)) || end < s.Offset || end > uint64(size) {
			return nil, fmt.Errorf("stripe %d at %d+%d outside the file", i, s.Offset, end-s.Offset)
		}
		// A guard against corrupt counts: no stripe holds more than 16384 rows a byte.
		if s.NumberOfRows > max(1<<20, (end-s.Offset)<<14) {
			return nil, fmt.Errorf("stripe %d of %d bytes claims %d rows", i, end-s.Offset, s.NumberOfRows)
		}
		rows += s.NumberOfRows
	}
	if rows != r.Foot.NumberOfRows {
		return nil, fmt.Errorf("stripes hold %d rows, the footer says %d", rows, r.Foot.NumberOfRows)
	}
	return r, nil
}

// checkTypes validates the type tree: every subtype refers to a later type, and the
// tree is a tree in pre-order.
func (r *Reader) checkTypes() error {
	ts := r.Foot.Types
	if len(ts) == 0 {
		return errors.New("footer has no types")
	}
	if ts[0].Kind != Struct {
		return fmt.Errorf("root type is %s, not struct", ts[0].Kind)
	}
	next := uint32(1)
	var walk func(i uint32, depth int) error
	walk = func(i uint32, depth int) error {
		if depth > 1000 {
			return errors.New("types nest too deep")
		}
		t := &ts[i]
		switch t.Kind {
		case List:
			if len(t.Subtypes) != 1 {
				return fmt.Errorf("type %d: list of %d subtypes", i, len(t.Subtypes))
			}
		case Map:
			if len(t.Subtypes) != 2 {
				return fmt.Errorf("type %d: map of %d subtypes", i, len(t.Subtypes))
			}
		case Struct:
			if len(t.FieldNames) != len(t.Subtypes) {
				return fmt.Errorf("type %d: struct of %d names and %d subtypes", i, len(t.FieldNames), len(t.Subtypes))
			}
		case Union:
		default:
			if t.Kind > TimestampInstant {
				return fmt.Errorf("type %d: unknown kind %d", i, t.Kind)
			}
			if len(t.Subtypes) != 0 {
				return fmt.Errorf("type %d: %s with subtypes", i, t.Kind)
			}
		}
		for _, s := range t.Subtypes {
			if s != next || int(s) >= len(ts) {
				return fmt.Errorf("type %d: subtype %d out of order", i, s)
			}
			next++
			if err := walk(s, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(0, 0); err != nil {
		return err
	}
	if int(next) != len(ts) {
		return fmt.Errorf("%d types, %d reachable", len(ts), next)
	}
	return nil
}

// Close releases the decompressor.
func (r *Reader) Close() { r.codec.close() }

// NumRows is the file's row count.
func (r *Reader) NumRows() int64 { return int64(r.Foot.NumberOfRows) }

// Types is the file's type tree.
func (r *Reader) Types() []Type { return r.Foot.Types }

// Stripe is one stripe's footer and the decompressed streams of the columns read.
type Stripe struct {
	Rows    int64
	Footer  StripeFooter
	streams map[streamKey][]byte
}

type streamKey struct {
	col  uint32
	kind StreamKind
}

// Stream returns a stream's decompressed bytes (nil if the stripe has none).
func (s *Stripe) Stream(col uint32, kind StreamKind) []byte { return s.streams[streamKey{col, kind}] }

// HasStream reports whether the stripe has the stream.
func (s *Stripe) HasStream(col uint32, kind StreamKind) bool {
	_, ok := s.streams[streamKey{col, kind}]
	return ok
}

// Encoding is a column's encoding in the stripe.
func (s *Stripe) Encoding(col uint32) (ColumnEncoding, error) {
	if int(col) >= len(s.Footer.Columns) {
		return ColumnEncoding{}, fmt.Errorf("stripe footer has no encoding for column %d", col)
	}
	return s.Footer.Columns[col], nil
}

// Stripe reads stripe i's footer and the data streams of the columns include marks
// (nil: all).
func (r *Reader) Stripe(i int, include []bool) (*Stripe, error) {
	if i < 0 || i >= len(r.Foot.Stripes) {
		return nil, fmt.Errorf("no stripe %d", i)
	}
	si := r.Foot.Stripes[i]
	if si.FooterLength > maxTail {
		return nil, fmt.Errorf("stripe %d: footer of %d bytes", i, si.FooterLength)
	}
	raw := make([]byte, si.FooterLength)
	if _, err := r.src.ReadAt(raw, int64(si.Offset+si.IndexLength+si.DataLength)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("stripe %d: %w", i, err)
	}
	fb, err := r.codec.decompress(nil, raw)
	if err != nil {
		return nil, fmt.Errorf("stripe %d footer: %w", i, err)
	}
	sf, err := parseStripeFooter(fb)
	if err != nil {
		return nil, fmt.Errorf("stripe %d footer: %w", i, err)
	}
	s := &Stripe{Rows: int64(si.NumberOfRows), Footer: sf, streams: map[streamKey][]byte{}}
	// Streams follow one another from the stripe's start: index streams, then data.
	off := si.Offset
	end := si.Offset + si.IndexLength + si.DataLength
	type span struct {
		key      streamKey
		off, len uint64
	}
	var want []span
	var lo, hi uint64 = end, si.Offset
	for _, st := range sf.Streams {
		if st.Length > end-off {
			return nil, fmt.Errorf("stripe %d: stream of column %d kind %d overruns the stripe", i, st.Column, st.Kind)
		}
		sp := span{streamKey{st.Column, st.Kind}, off, st.Length}
		off += st.Length
		if st.Kind == StreamRowIndex || st.Kind == StreamBloomFilter || st.Kind == StreamBloomFilterUTF8 || st.Kind > 9 {
			continue
		}
		if int(st.Column) >= len(r.Foot.Types) || (include != nil && !include[st.Column]) {
			continue
		}
		want = append(want, sp)
		lo, hi = min(lo, sp.off), max(hi, sp.off+sp.len)
	}
	if len(want) == 0 {
		return s, nil
	}
	buf := make([]byte, hi-lo)
	if _, err := r.src.ReadAt(buf, int64(lo)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("stripe %d: %w", i, err)
	}
	for _, sp := range want {
		data, err := r.codec.decompress(nil, buf[sp.off-lo:sp.off-lo+sp.len])
		if err != nil {
			return nil, fmt.Errorf("stripe %d: stream of column %d kind %d: %w", i, sp.key.col, sp.key.kind, err)
		}
		if data == nil {
			data = []byte{}
		}
		s.streams[sp.key] = data
	}
	return s, nil
}

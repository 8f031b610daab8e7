package manifest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// decoder reads Avro binary values from one decompressed block.
//
// It latches the first error: after a failure every read returns a zero value
// and the position jumps to the end of the buffer, so decoding functions need
// not check errors field by field; callers check err once per record.
//
// Decoded values share memory so that a row costs few allocations: []byte
// results are sub-slices of buf with their capacity clipped, and nullable
// numbers and null-count arrays come from chunks shared by many rows. So buf must never be reused once
// values have been handed out (the container reader allocates a fresh buffer
// for every block), and a row kept alive keeps its block alive.
type decoder struct {
	buf []byte
	pos int
	err error
	// errPath names the fields enclosing the failure, innermost first.
	errPath []string
	arena   arena
}

// reset points the decoder at the next block, keeping its arena.
func (d *decoder) reset(buf []byte) {
	*d = decoder{buf: buf, arena: d.arena}
}

// arena hands out values from chunks; nothing it hands out is ever reused.
type arena struct {
	int64s   chunk[int64]
	int32s   chunk[int32]
	sources  chunk[FileSource]
	int64Ptr chunk[*int64]
}

type chunk[V any] struct{ free []V }

const chunkLen = 256

func (c *chunk[V]) new(v V) *V {
	if len(c.free) == 0 {
		c.free = make([]V, chunkLen)
	}
	p := &c.free[0]
	*p = v
	c.free = c.free[1:]
	return p
}

// slice returns n zero values with capacity n.
func (c *chunk[V]) slice(n int) []V {
	if n > chunkLen/4 {
		return make([]V, n)
	}
	if len(c.free) < n {
		c.free = make([]V, chunkLen)
	}
	s := c.free[:n:n]
	c.free = c.free[n:]
	return s
}

// failedField returns the dotted path of the field where decoding failed.
func (d *decoder) failedField() string {
	var b strings.Builder
	for i := len(d.errPath) - 1; i >= 0; i-- {
		b.WriteString(d.errPath[i])
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	d.pos = len(d.buf)
}

func (d *decoder) remaining() int { return len(d.buf) - d.pos }

// long reads a zig-zag varint of at most 10 bytes.
func (d *decoder) long() int64 {
	var u uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.pos >= len(d.buf) {
			d.fail("unexpected end of block")
			return 0
		}
		b := d.buf[d.pos]
		d.pos++
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return int64(u>>1) ^ -int64(u&1)
		}
		shift += 7
	}
	d.fail("varint longer than 10 bytes")
	return 0
}

func (d *decoder) int() int32 {
	v := d.long()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("int value %d out of range", v)
		return 0
	}
	return int32(v)
}

// length reads a non-negative length that must fit in the rest of the block.
func (d *decoder) length() int {
	n := d.long()
	if n < 0 || n > int64(d.remaining()) {
		d.fail("length %d exceeds the %d bytes left in the block", n, d.remaining())
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.length()
	if d.err != nil {
		return nil
	}
	b := d.buf[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) string() string {
	return string(d.bytes())
}

func (d *decoder) boolean() bool {
	if d.pos >= len(d.buf) {
		d.fail("unexpected end of block")
		return false
	}
	b := d.buf[d.pos]
	d.pos++
	if b > 1 {
		d.fail("invalid boolean byte %d", b)
	}
	return b == 1
}

func (d *decoder) skip(n int) {
	if n < 0 || n > d.remaining() {
		d.fail("value of %d bytes exceeds the %d bytes left in the block", n, d.remaining())
		return
	}
	d.pos += n
}

// blockCount reads the item count that starts every block of an Avro array or
// map. A negative count is followed by the block's size in bytes. minItemSize
// is the least number of bytes one item takes; when it is positive the count
// is checked against the bytes left, which bounds any allocation made for the
// items.
func (d *decoder) blockCount(minItemSize int) (count int, byteSize int64) {
	n := d.long()
	if d.err != nil {
		return 0, -1
	}
	byteSize = -1
	if n < 0 {
		if n == math.MinInt64 {
			d.fail("invalid block count")
			return 0, -1
		}
		n = -n
		byteSize = d.long()
		if byteSize < 0 || byteSize > int64(d.remaining()) {
			d.fail("block size %d exceeds the %d bytes left", byteSize, d.remaining())
			return 0, -1
		}
	}
	if minItemSize > 0 && n > int64(d.remaining()/minItemSize) {
		d.fail("%d items cannot fit in the %d bytes left in the block", n, d.remaining())
		return 0, -1
	}
	if n > math.MaxInt32 {
		d.fail("block count %d too large", n)
		return 0, -1
	}
	return int(n), byteSize
}

// encoder appends Avro binary values to buf and latches the first error.
type encoder struct {
	buf []byte
	err error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

func (e *encoder) long(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) int(v int32)    { e.buf = binary.AppendVarint(e.buf, int64(v)) }
func (e *encoder) index(i int)    { e.buf = append(e.buf, byte(i<<1)) } // union branch 0 or 1
func (e *encoder) bytes(b []byte) { e.long(int64(len(b))); e.buf = append(e.buf, b...) }
func (e *encoder) string(s string) {
	e.long(int64(len(s)))
	e.buf = append(e.buf, s...)
}

// arrayStart writes the count of a single-block array; Avro's Java encoder
// writes the count only when it is positive and always ends with a zero.
func (e *encoder) arrayStart(n int) {
	if n > 0 {
		e.long(int64(n))
	}
}

func (e *encoder) arrayEnd() { e.buf = append(e.buf, 0) }

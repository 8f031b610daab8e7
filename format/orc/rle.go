package orc

import (
	"errors"
	"fmt"
)

// ErrShort is a stream that ends before the values it should hold.
var ErrShort = errors.New("stream ends early")

// ByteReader decodes byte run-length encoding: a control byte c < 128 is a run of c+3
// copies of the next byte; otherwise 256-c literal bytes follow.
type ByteReader struct {
	b    []byte
	off  int
	run  int  // bytes left in the current run or literal group
	lit  bool // literal group
	last byte
}

// NewByteReader decodes a byte RLE stream.
func NewByteReader(b []byte) *ByteReader { return &ByteReader{b: b} }

// Next returns the next byte.
func (r *ByteReader) Next() (byte, error) {
	if r.run == 0 {
		if r.off >= len(r.b) {
			return 0, ErrShort
		}
		c := r.b[r.off]
		r.off++
		if c < 0x80 {
			if r.off >= len(r.b) {
				return 0, ErrShort
			}
			r.run, r.lit, r.last = int(c)+3, false, r.b[r.off]
			r.off++
		} else {
			r.run, r.lit = 256-int(c), true
		}
	}
	r.run--
	if !r.lit {
		return r.last, nil
	}
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

// BoolReader decodes a boolean stream: bits, most significant first, in byte RLE.
type BoolReader struct {
	bytes ByteReader
	cur   byte
	left  int
}

// NewBoolReader decodes a boolean stream.
func NewBoolReader(b []byte) *BoolReader { return &BoolReader{bytes: ByteReader{b: b}} }

// Next returns the next boolean.
func (r *BoolReader) Next() (bool, error) {
	if r.left == 0 {
		c, err := r.bytes.Next()
		if err != nil {
			return false, err
		}
		r.cur, r.left = c, 8
	}
	r.left--
	return r.cur>>r.left&1 == 1, nil
}

// IntReader decodes an integer stream of run-length encoding v1 or v2.
type IntReader struct {
	b      []byte
	off    int
	signed bool
	v2     bool
	buf    []int64 // decoded values of the current run
	pos    int
}

// NewIntReader decodes an integer stream; signed streams hold zigzag values, v2 is RLE
// version 2 (DIRECT_V2 and DICTIONARY_V2 encodings), otherwise version 1.
func NewIntReader(b []byte, signed, v2 bool) *IntReader {
	return &IntReader{b: b, signed: signed, v2: v2, buf: make([]int64, 0, 512)}
}

// Next returns the next value.
func (r *IntReader) Next() (int64, error) {
	if r.pos == len(r.buf) {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	v := r.buf[r.pos]
	r.pos++
	return v, nil
}

// Read fills dst.
func (r *IntReader) Read(dst []int64) error {
	for len(dst) > 0 {
		if r.pos == len(r.buf) {
			if err := r.fill(); err != nil {
				return err
			}
		}
		n := copy(dst, r.buf[r.pos:])
		r.pos += n
		dst = dst[n:]
	}
	return nil
}

func (r *IntReader) fill() error {
	r.buf, r.pos = r.buf[:0], 0
	if r.off >= len(r.b) {
		return ErrShort
	}
	if r.v2 {
		return r.fillV2()
	}
	return r.fillV1()
}

func (r *IntReader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *IntReader) uvarint() (uint64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return u, nil
		}
	}
	return 0, errors.New("varint overflows 64 bits")
}

func (r *IntReader) varint() (int64, error) {
	u, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if r.signed {
		return unzigzag(u), nil
	}
	return int64(u), nil
}

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func (r *IntReader) fillV1() error {
	c, _ := r.byte()
	if c < 0x80 {
		n := int(c) + 3
		d, err := r.byte()
		if err != nil {
			return err
		}
		delta := int64(int8(d))
		v, err := r.varint()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			r.buf = append(r.buf, v)
			v += delta
		}
		return nil
	}
	n := 256 - int(c)
	for i := 0; i < n; i++ {
		v, err := r.varint()
		if err != nil {
			return err
		}
		r.buf = append(r.buf, v)
	}
	return nil
}

// decodeWidth maps RLE v2's 5-bit width code to a bit width.
func decodeWidth(code byte) int {
	switch {
	case code <= 23:
		return int(code) + 1
	case code == 24:
		return 26
	case code == 25:
		return 28
	case code == 26:
		return 30
	case code == 27:
		return 32
	case code == 28:
		return 40
	case code == 29:
		return 48
	case code == 30:
		return 56
	}
	return 64
}

// closestFixedBits rounds a bit width up to one RLE v2 can encode.
func closestFixedBits(n int) int {
	switch {
	case n == 0:
		return 1
	case n <= 24:
		return n
	case n <= 26:
		return 26
	case n <= 28:
		return 28
	case n <= 30:
		return 30
	case n <= 32:
		return 32
	case n <= 40:
		return 40
	case n <= 48:
		return 48
	case n <= 56:
		return 56
	}
	return 64
}

func (r *IntReader) fillV2() error {
	first, _ := r.byte()
	switch first >> 6 {
	case 0: // SHORT_REPEAT
		w := int(first>>3&7) + 1
		n := int(first&7) + 3
		if len(r.b)-r.off < w {
			return ErrShort
		}
		var u uint64
		for i := 0; i < w; i++ {
			u = u<<8 | uint64(r.b[r.off+i])
		}
		r.off += w
		v := int64(u)
		if r.signed {
			v = unzigzag(u)
		}
		for i := 0; i < n; i++ {
			r.buf = append(r.buf, v)
		}
		return nil
	case 1: // DIRECT
		w := decodeWidth(first >> 1 & 0x1f)
		second, err := r.byte()
		if err != nil {
			return err
		}
		n := int(first&1)<<8 | int(second) + 1
		r.buf = r.buf[:n]
		if err := r.unpack(r.buf, w); err != nil {
			return err
		}
		if r.signed {
			for i, v := range r.buf {
				r.buf[i] = unzigzag(uint64(v))
			}
		}
		return nil
	case 2: // PATCHED_BASE
		w := decodeWidth(first >> 1 & 0x1f)
		var hdr [3]byte
		for i := range hdr {
			c, err := r.byte()
			if err != nil {
				return err
			}
			hdr[i] = c
		}
		n := int(first&1)<<8 | int(hdr[0]) + 1
		bw := int(hdr[1]>>5) + 1
		pw := decodeWidth(hdr[1] & 0x1f)
		pgw := int(hdr[2]>>5) + 1
		pll := int(hdr[2] & 0x1f)
		if len(r.b)-r.off < bw {
			return ErrShort
		}
		var ub uint64
		for i := 0; i < bw; i++ {
			ub = ub<<8 | uint64(r.b[r.off+i])
		}
		r.off += bw
		mask := uint64(1) << (bw*8 - 1)
		base := int64(ub)
		if ub&mask != 0 {
			base = -int64(ub &^ mask)
		}
		r.buf = r.buf[:n]
		if err := r.unpack(r.buf, w); err != nil {
			return err
		}
		if pw+pgw > 64 {
			return fmt.Errorf("patch width %d and gap width %d exceed 64 bits", pw, pgw)
		}
		patches := make([]int64, pll)
		if err := r.unpack(patches, closestFixedBits(pw+pgw)); err != nil {
			return err
		}
		pos := 0
		for _, p := range patches {
			up := uint64(p)
			pos += int(up >> pw)
			patch := up & (1<<pw - 1)
			if patch == 0 {
				continue
			}
			if pos >= n {
				return fmt.Errorf("patch at %d of a run of %d", pos, n)
			}
			if w < 64 {
				r.buf[pos] |= int64(patch << w)
			}
		}
		for i := range r.buf {
			r.buf[i] += base
		}
		return nil
	default: // DELTA
		code := first >> 1 & 0x1f
		w := 0
		if code != 0 {
			w = decodeWidth(code)
		}
		second, err := r.byte()
		if err != nil {
			return err
		}
		n := int(first&1)<<8 | int(second) + 1
		base, err := r.varint()
		if err != nil {
			return err
		}
		du, err := r.uvarint()
		if err != nil {
			return err
		}
		delta := unzigzag(du)
		r.buf = append(r.buf, base)
		if n == 1 {
			return nil
		}
		if w == 0 {
			v := base
			for i := 1; i < n; i++ {
				v += delta
				r.buf = append(r.buf, v)
			}
			return nil
		}
		r.buf = append(r.buf, base+delta)
		r.buf = r.buf[:n]
		if err := r.unpack(r.buf[2:], w); err != nil {
			return err
		}
		for i := 2; i < n; i++ {
			if delta < 0 {
				r.buf[i] = r.buf[i-1] - r.buf[i]
			} else {
				r.buf[i] = r.buf[i-1] + r.buf[i]
			}
		}
		return nil
	}
}

// unpack reads len(dst) values of w bits, most significant bit first; the values end on
// a byte boundary.
func (r *IntReader) unpack(dst []int64, w int) error {
	need := (len(dst)*w + 7) / 8
	if len(r.b)-r.off < need {
		return ErrShort
	}
	b := r.b[r.off : r.off+need]
	r.off += need
	switch w {
	case 8:
		for i := range dst {
			dst[i] = int64(b[i])
		}
		return nil
	case 16:
		for i := range dst {
			dst[i] = int64(uint16(b[2*i])<<8 | uint16(b[2*i+1]))
		}
		return nil
	case 32:
		for i := range dst {
			j := 4 * i
			dst[i] = int64(uint32(b[j])<<24 | uint32(b[j+1])<<16 | uint32(b[j+2])<<8 | uint32(b[j+3]))
		}
		return nil
	}
	var acc uint64 // bits not yet used, right-aligned
	var nacc int
	j := 0
	for i := range dst {
		var v uint64
		left := w
		for left > 0 {
			if nacc == 0 {
				acc, nacc = uint64(b[j]), 8
				j++
			}
			take := min(left, nacc)
			v = v<<take | (acc>>(nacc-take))&(1<<take-1)
			nacc -= take
			left -= take
		}
		dst[i] = int64(v)
	}
	return nil
}

// ReadVarint128 reads an unbounded zigzag varint (a DECIMAL value) as a 128-bit two's
// complement integer (hi, lo).
func ReadVarint128(b []byte, off *int) (hi int64, lo uint64, err error) {
	var uhi, ulo uint64
	for shift := uint(0); ; shift += 7 {
		if *off >= len(b) {
			return 0, 0, ErrShort
		}
		if shift >= 128 {
			return 0, 0, errors.New("decimal varint overflows 128 bits")
		}
		c := b[*off]
		*off++
		v := uint64(c & 0x7f)
		switch {
		case shift < 64:
			ulo |= v << shift
			if shift > 57 {
				uhi |= v >> (64 - shift)
			}
		default:
			uhi |= v << (shift - 64)
		}
		if c < 0x80 {
			break
		}
	}
	// unzigzag: (u >> 1) ^ -(u & 1)
	neg := ulo&1 == 1
	lo = ulo>>1 | uhi<<63
	hi = int64(uhi >> 1)
	if neg {
		lo, hi = ^lo, ^hi
	}
	return hi, lo, nil
}

package datafile

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// Avro object container files (https://avro.apache.org/docs/1.11.1/specification/#object-container-files):
// "Obj\x01", a metadata map (avro.schema, avro.codec), a 16-byte sync marker, then blocks
// of (record count, byte size, records compressed by the codec, sync marker).

var avroMagic = []byte{'O', 'b', 'j', 1}

// maxAvroBlock bounds a block's decompressed size (a guard against corrupt sizes).
const maxAvroBlock = 1 << 30

// errAvroShort is a read past the end of a buffer.
var errAvroShort = errors.New("unexpected end of data")

// avroDec reads Avro's binary encoding from a byte slice.
type avroDec struct {
	b   []byte
	off int
}

func (d *avroDec) long() (int64, error) {
	var u uint64
	var shift uint
	for i := 0; i < 10; i++ {
		if d.off >= len(d.b) {
			return 0, errAvroShort
		}
		c := d.b[d.off]
		d.off++
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
		shift += 7
	}
	return 0, errors.New("varint longer than 10 bytes")
}

func (d *avroDec) int() (int32, error) {
	v, err := d.long()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("int value %d out of range", v)
	}
	return int32(v), nil
}

func (d *avroDec) bool() (bool, error) {
	if d.off >= len(d.b) {
		return false, errAvroShort
	}
	c := d.b[d.off]
	d.off++
	return c != 0, nil
}

func (d *avroDec) float() (float32, error) {
	if len(d.b)-d.off < 4 {
		return 0, errAvroShort
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(d.b[d.off:]))
	d.off += 4
	return v, nil
}

func (d *avroDec) double() (float64, error) {
	if len(d.b)-d.off < 8 {
		return 0, errAvroShort
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v, nil
}

// bytes returns the next length-prefixed bytes, aliasing the buffer.
func (d *avroDec) bytes() ([]byte, error) {
	n, err := d.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(d.b)-d.off) {
		return nil, fmt.Errorf("byte length %d outside the block", n)
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v, nil
}

func (d *avroDec) fixed(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, errAvroShort
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v, nil
}

// avroEnc appends Avro's binary encoding to a buffer.
type avroEnc struct{ b []byte }

func (e *avroEnc) long(v int64) {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		e.b = append(e.b, byte(u)|0x80)
		u >>= 7
	}
	e.b = append(e.b, byte(u))
}

func (e *avroEnc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *avroEnc) float(v float32) { e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(v)) }
func (e *avroEnc) double(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *avroEnc) bytes(v []byte) {
	e.long(int64(len(v)))
	e.b = append(e.b, v...)
}

func (e *avroEnc) string(v string) {
	e.long(int64(len(v)))
	e.b = append(e.b, v...)
}

// avroCodec compresses and decompresses blocks of one Avro codec.
type avroCodec struct {
	name    string
	zdec    *zstd.Decoder
	zenc    *zstd.Encoder
	fw      *flate.Writer
	buf     bytes.Buffer
	scratch []byte
}

func newAvroCodec(name string, zstdLevel int) (*avroCodec, error) {
	switch name {
	case "", "null", "deflate", "snappy", "zstandard", "bzip2":
	default:
		return nil, fmt.Errorf("avro codec %q is not supported (null, deflate, snappy, zstandard, bzip2)", name)
	}
	if name == "" {
		name = "null"
	}
	c := &avroCodec{name: name}
	if name == "zstandard" && zstdLevel > 0 {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(zstdLevel)), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		c.zenc = enc
	}
	return c, nil
}

// decompress returns a block's records; the result may alias in or an internal buffer
// reused by the next call.
func (c *avroCodec) decompress(in []byte) ([]byte, error) {
	switch c.name {
	case "null":
		return in, nil
	case "deflate":
		c.buf.Reset()
		r := flate.NewReader(bytes.NewReader(in))
		defer r.Close()
		if _, err := c.buf.ReadFrom(io.LimitReader(r, maxAvroBlock+1)); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return c.checkSize(c.buf.Bytes())
	case "snappy":
		if len(in) < 4 {
			return nil, errors.New("snappy block without checksum")
		}
		body := in[:len(in)-4]
		n, err := snappy.DecodedLen(body)
		if err != nil {
			return nil, fmt.Errorf("snappy: %w", err)
		}
		if n > maxAvroBlock {
			return nil, fmt.Errorf("snappy block of %d bytes", n)
		}
		out, err := snappy.Decode(c.scratch[:cap(c.scratch)], body)
		c.scratch = out
		if err != nil {
			return nil, fmt.Errorf("snappy: %w", err)
		}
		if crc32.ChecksumIEEE(out) != binary.BigEndian.Uint32(in[len(in)-4:]) {
			return nil, errors.New("snappy block checksum mismatch")
		}
		return out, nil
	case "zstandard":
		if c.zdec == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxAvroBlock))
			if err != nil {
				return nil, err
			}
			c.zdec = d
		}
		out, err := c.zdec.DecodeAll(in, c.scratch[:0])
		c.scratch = out
		if err != nil {
			return nil, fmt.Errorf("zstandard: %w", err)
		}
		return c.checkSize(out)
	case "bzip2":
		c.buf.Reset()
		if _, err := c.buf.ReadFrom(io.LimitReader(bzip2.NewReader(bytes.NewReader(in)), maxAvroBlock+1)); err != nil {
			return nil, fmt.Errorf("bzip2: %w", err)
		}
		return c.checkSize(c.buf.Bytes())
	}
	return nil, fmt.Errorf("avro codec %q", c.name)
}

func (c *avroCodec) checkSize(b []byte) ([]byte, error) {
	if len(b) > maxAvroBlock {
		return nil, fmt.Errorf("block larger than %d bytes", maxAvroBlock)
	}
	return b, nil
}

// compress appends a compressed block to dst.
func (c *avroCodec) compress(dst, in []byte) ([]byte, error) {
	switch c.name {
	case "null":
		return append(dst, in...), nil
	case "deflate":
		var out bytes.Buffer
		if c.fw == nil {
			w, err := flate.NewWriter(&out, flate.DefaultCompression)
			if err != nil {
				return nil, err
			}
			c.fw = w
		} else {
			c.fw.Reset(&out)
		}
		if _, err := c.fw.Write(in); err != nil {
			return nil, err
		}
		if err := c.fw.Close(); err != nil {
			return nil, err
		}
		return append(dst, out.Bytes()...), nil
	case "snappy":
		dst = append(dst, snappy.Encode(nil, in)...)
		return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(in)), nil
	case "zstandard":
		return c.zenc.EncodeAll(in, dst), nil
	}
	return nil, fmt.Errorf("writing avro codec %q is not supported", c.name)
}

func (c *avroCodec) close() {
	if c.zdec != nil {
		c.zdec.Close()
	}
	if c.zenc != nil {
		c.zenc.Close()
	}
}

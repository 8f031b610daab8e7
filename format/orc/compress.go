package orc

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxChunk bounds a compression chunk's decompressed size (the block size of the file,
// at most this): a guard against corrupt headers.
const maxChunk = 16 << 20

// maxStream bounds a stream's decompressed size.
const maxStream = 1 << 30

// codec decompresses and compresses ORC compression chunks: each chunk has a 3-byte
// little-endian header, length << 1 | isOriginal, then the compressed (or original)
// bytes of at most the file's compression block size.
type codec struct {
	kind      Compression
	blockSize int
	zdec      *zstd.Decoder
	zenc      *zstd.Encoder
	fw        *flate.Writer
	fbuf      bytes.Buffer
	scratch   []byte
}

func newCodec(kind Compression, blockSize int, zstdLevel int) (*codec, error) {
	switch kind {
	case CompressionNone, CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd:
	default:
		return nil, fmt.Errorf("compression %s is not supported (NONE, ZLIB, SNAPPY, LZ4, ZSTD)", kind)
	}
	if kind != CompressionNone && (blockSize <= 0 || blockSize > maxChunk) {
		return nil, fmt.Errorf("compression block size %d", blockSize)
	}
	c := &codec{kind: kind, blockSize: blockSize}
	if zstdLevel > 0 && kind == CompressionZstd {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(zstdLevel)), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		c.zenc = enc
	}
	return c, nil
}

func (c *codec) close() {
	if c.zdec != nil {
		c.zdec.Close()
	}
	if c.zenc != nil {
		c.zenc.Close()
	}
}

// decompress appends the decompressed content of a compressed stream to dst.
func (c *codec) decompress(dst, in []byte) ([]byte, error) {
	if c.kind == CompressionNone {
		return append(dst, in...), nil
	}
	for len(in) > 0 {
		if len(in) < 3 {
			return nil, fmt.Errorf("truncated compression chunk header")
		}
		h := uint32(in[0]) | uint32(in[1])<<8 | uint32(in[2])<<16
		n := int(h >> 1)
		in = in[3:]
		if n > len(in) {
			return nil, fmt.Errorf("compression chunk of %d bytes where %d remain", n, len(in))
		}
		chunk := in[:n]
		in = in[n:]
		if len(dst) > maxStream {
			return nil, fmt.Errorf("stream decompresses to more than %d bytes", maxStream)
		}
		if h&1 == 1 {
			dst = append(dst, chunk...)
			continue
		}
		var err error
		if dst, err = c.decompressChunk(dst, chunk); err != nil {
			return nil, fmt.Errorf("%s chunk: %w", c.kind, err)
		}
	}
	return dst, nil
}

func (c *codec) decompressChunk(dst, chunk []byte) ([]byte, error) {
	limit := c.blockSize
	switch c.kind {
	case CompressionZlib:
		c.fbuf.Reset()
		r := flate.NewReader(bytes.NewReader(chunk))
		_, err := c.fbuf.ReadFrom(io.LimitReader(r, int64(limit)+1))
		r.Close()
		if err != nil {
			return nil, err
		}
		if c.fbuf.Len() > limit {
			return nil, fmt.Errorf("chunk larger than the block size %d", limit)
		}
		return append(dst, c.fbuf.Bytes()...), nil
	case CompressionSnappy:
		n, err := snappy.DecodedLen(chunk)
		if err != nil {
			return nil, err
		}
		if n > limit {
			return nil, fmt.Errorf("chunk of %d bytes larger than the block size %d", n, limit)
		}
		start := len(dst)
		dst = grow(dst, n)
		if _, err := snappy.Decode(dst[start:start+n], chunk); err != nil {
			return nil, err
		}
		return dst, nil
	case CompressionLZ4:
		start := len(dst)
		dst = grow(dst, limit)
		n, err := lz4.UncompressBlock(chunk, dst[start:start+limit])
		if err != nil {
			return nil, err
		}
		return dst[:start+n], nil
	case CompressionZstd:
		if c.zdec == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max(limit, 1<<20))*2))
			if err != nil {
				return nil, err
			}
			c.zdec = d
		}
		out, err := c.zdec.DecodeAll(chunk, c.scratch[:0])
		c.scratch = out
		if err != nil {
			return nil, err
		}
		if len(out) > limit {
			return nil, fmt.Errorf("chunk of %d bytes larger than the block size %d", len(out), limit)
		}
		return append(dst, out...), nil
	}
	return nil, fmt.Errorf("compression %s", c.kind)
}

// grow extends b by n bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// compress appends the compressed chunks of in to dst.
func (c *codec) compress(dst, in []byte) ([]byte, error) {
	if c.kind == CompressionNone {
		return append(dst, in...), nil
	}
	for len(in) > 0 {
		n := min(len(in), c.blockSize)
		chunk := in[:n]
		in = in[n:]
		hpos := len(dst)
		dst = append(dst, 0, 0, 0)
		var err error
		body := len(dst)
		dst, err = c.compressChunk(dst, chunk)
		if err != nil {
			return nil, err
		}
		size := len(dst) - body
		original := uint32(0)
		if size >= n || size == 0 {
			dst = append(dst[:body], chunk...)
			size, original = n, 1
		}
		h := uint32(size)<<1 | original
		dst[hpos], dst[hpos+1], dst[hpos+2] = byte(h), byte(h>>8), byte(h>>16)
	}
	return dst, nil
}

func (c *codec) compressChunk(dst, chunk []byte) ([]byte, error) {
	switch c.kind {
	case CompressionZlib:
		c.fbuf.Reset()
		if c.fw == nil {
			w, err := flate.NewWriter(&c.fbuf, flate.DefaultCompression)
			if err != nil {
				return nil, err
			}
			c.fw = w
		} else {
			c.fw.Reset(&c.fbuf)
		}
		if _, err := c.fw.Write(chunk); err != nil {
			return nil, err
		}
		if err := c.fw.Close(); err != nil {
			return nil, err
		}
		return append(dst, c.fbuf.Bytes()...), nil
	case CompressionSnappy:
		n := snappy.MaxEncodedLen(len(chunk))
		start := len(dst)
		dst = grow(dst, n)
		out := snappy.Encode(dst[start:start+n], chunk)
		return dst[:start+len(out)], nil
	case CompressionLZ4:
		n := lz4.CompressBlockBound(len(chunk))
		start := len(dst)
		dst = grow(dst, n)
		var lc lz4.Compressor
		m, err := lc.CompressBlock(chunk, dst[start:start+n])
		if err != nil {
			return nil, err
		}
		if m == 0 { // incompressible
			return dst[:start], nil
		}
		return dst[:start+m], nil
	case CompressionZstd:
		if c.zenc == nil {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			c.zenc = enc
		}
		return c.zenc.EncodeAll(chunk, dst), nil
	}
	return nil, fmt.Errorf("compression %s", c.kind)
}

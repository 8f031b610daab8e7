package manifest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Avro codec names, the values of the avro.codec header entry.
const (
	CodecNull      = "null"
	CodecDeflate   = "deflate"
	CodecSnappy    = "snappy"
	CodecZstandard = "zstandard"
)

// DefaultZstdLevel is Paimon's default file.compression.zstd-level, which its
// Avro manifest writer also uses.
const DefaultZstdLevel = 1

// maxBlockSize bounds the size of one Avro block, compressed or not. Paimon
// starts a new block once 64000 bytes are buffered, so only a single huge
// record could come near it; it is also the largest zstandard window
// accepted, which zstd-jni's stream declares at 128 MiB for levels 20-22.
const maxBlockSize = 128 << 20

// decompress returns the decompressed payload of a block. The result is a
// newly allocated slice (never src), so decoded values may alias it.
func decompress(codecName string, src []byte) ([]byte, error) {
	switch codecName {
	case CodecNull:
		return src, nil // src is already a fresh buffer read for this block
	case CodecDeflate:
		r := flate.NewReader(bytes.NewReader(src))
		out, err := io.ReadAll(io.LimitReader(r, maxBlockSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: deflate: %v", ErrCorrupt, err)
		}
		if len(out) > maxBlockSize {
			return nil, fmt.Errorf("%w: block decompresses to more than %d bytes", ErrCorrupt, maxBlockSize)
		}
		return out, nil
	case CodecSnappy:
		if len(src) < 4 {
			return nil, fmt.Errorf("%w: snappy block without checksum", ErrCorrupt)
		}
		data, sum := src[:len(src)-4], binary.BigEndian.Uint32(src[len(src)-4:])
		n, err := s2.DecodedLen(data)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
		}
		if n > maxBlockSize {
			return nil, fmt.Errorf("%w: block decompresses to more than %d bytes", ErrCorrupt, maxBlockSize)
		}
		out, err := s2.Decode(make([]byte, n), data)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
		}
		if crc32.ChecksumIEEE(out) != sum {
			return nil, fmt.Errorf("%w: snappy block checksum mismatch", ErrCorrupt)
		}
		return out, nil
	case CodecZstandard:
		out, err := zstdDecoder().DecodeAll(src, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: zstandard: %v", ErrCorrupt, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: codec %q", ErrUnsupported, codecName)
}

// compress appends the compressed form of src to dst.
func compress(codecName string, zstdLevel int, dst, src []byte) ([]byte, error) {
	switch codecName {
	case CodecNull:
		return append(dst, src...), nil
	case CodecDeflate:
		// Avro's Java DeflateCodec: raw deflate, java.util.zip's default level 6.
		buf := bytes.NewBuffer(dst)
		w, err := flate.NewWriter(buf, 6)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CodecSnappy:
		// Avro's SnappyCodec: a raw snappy block then the CRC-32 of the input.
		dst = append(dst, s2.EncodeSnappy(nil, src)...)
		return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(src)), nil
	case CodecZstandard:
		enc, err := zstdEncoder(zstdLevel)
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(src, dst), nil
	}
	return nil, fmt.Errorf("%w: codec %q", ErrUnsupported, codecName)
}

var (
	zstdDecoderOnce sync.Once
	zstdDec         *zstd.Decoder
	zstdEncoders    sync.Map // level → *zstd.Encoder
)

func zstdDecoder() *zstd.Decoder {
	zstdDecoderOnce.Do(func() {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderMaxMemory(maxBlockSize),
			zstd.WithDecoderMaxWindow(maxBlockSize))
		if err != nil {
			panic(fmt.Sprintf("manifest: zstandard decoder: %v", err))
		}
		zstdDec = d
	})
	return zstdDec
}

func zstdEncoder(level int) (*zstd.Encoder, error) {
	if e, ok := zstdEncoders.Load(level); ok {
		return e.(*zstd.Encoder), nil
	}
	// Like zstd-jni's stream Avro uses: no frame checksum.
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	actual, _ := zstdEncoders.LoadOrStore(level, e)
	return actual.(*zstd.Encoder), nil
}

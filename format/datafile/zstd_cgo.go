//go:build cgo

package datafile

import (
	"sync"

	czstd "github.com/DataDog/zstd"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// With cgo, zstd Parquet pages are compressed and decompressed by the reference zstd
// library (the C code Paimon's zstd-jni runs): at level 1 it compresses data pages about
// twice as fast as the pure-Go codec arrow-go registers, into slightly smaller pages, and
// decompresses them faster too; 'tarn bench compact' measures the codec alone. Streams,
// bounds, and pages the C library cannot take stay with the pure-Go codec, which
// CGO_ENABLED=0 builds use for everything.
func init() {
	if c, err := compress.GetCodec(compress.Codecs.Zstd); err == nil {
		if g, ok := c.(goZstd); ok {
			compress.RegisterCodec(compress.Codecs.Zstd, cZstd{g})
		}
	}
}

// ZstdEncoder names the zstd encoder of Parquet pages.
const ZstdEncoder = "C libzstd (cgo, github.com/DataDog/zstd)"

// zstdDefaultLevel is zstd's own default, for compress.DefaultCompressionLevel.
const zstdDefaultLevel = 3

// goZstd is what arrow-go's pure-Go zstd codec implements.
type goZstd interface {
	compress.ErrorCodec
	compress.StreamingCodec
}

// cZstd compresses and decompresses pages with the C library and does the rest with the
// pure-Go codec.
type cZstd struct{ goZstd }

// zstdCtxs are C contexts: one per concurrent call, reused (a context's tables are
// allocated once, not per page).
var zstdCtxs = sync.Pool{New: func() any { return czstd.NewCtx() }}

func (c cZstd) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (c cZstd) EncodeLevel(dst, src []byte, level int) []byte {
	if level == compress.DefaultCompressionLevel {
		level = zstdDefaultLevel
	}
	ctx := zstdCtxs.Get().(czstd.Ctx)
	out, err := ctx.CompressLevel(dst[:0], src, level)
	zstdCtxs.Put(ctx)
	if err != nil {
		// Not expected (the output is sized by the bound): the pure-Go encoder then.
		return c.goZstd.EncodeLevel(dst, src, level)
	}
	return out
}

func (c cZstd) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err) // as the pure-Go codec's Decode; readers call DecodeWithError
	}
	return out
}

// DecodeWithError decompresses into dst, which a page reader sizes to the page's
// uncompressed length. Without room for the page, or on an error, the pure-Go decoder
// decodes it (growing dst, or reporting the error).
func (c cZstd) DecodeWithError(dst, src []byte) ([]byte, error) {
	if cap(dst) == 0 || len(src) == 0 {
		return c.goZstd.DecodeWithError(dst, src)
	}
	dst = dst[:cap(dst)]
	ctx := zstdCtxs.Get().(czstd.Ctx)
	n, err := ctx.DecompressInto(dst, src)
	zstdCtxs.Put(ctx)
	if err != nil {
		return c.goZstd.DecodeWithError(dst, src)
	}
	return dst[:n], nil
}

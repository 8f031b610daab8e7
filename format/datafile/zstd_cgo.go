//go:build cgo

package datafile

import (
	"sync"

	czstd "github.com/DataDog/zstd"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// With cgo, Parquet pages are compressed by the reference zstd library (the C code
// Paimon's zstd-jni runs), about twice as fast at level 1 on data pages as the pure-Go
// encoder arrow-go registers, and a little smaller; 'tarn bench compact' measures both.
// Decompression, streams and bounds stay with the registered codec, whose decoder is
// as fast. Without cgo the pure-Go codec does everything.
func init() {
	if goZstd, err := compress.GetCodec(compress.Codecs.Zstd); err == nil {
		compress.RegisterCodec(compress.Codecs.Zstd, cZstd{goZstd})
	}
}

// ZstdEncoder names the zstd encoder of Parquet pages.
const ZstdEncoder = "C libzstd (cgo, github.com/DataDog/zstd)"

// zstdDefaultLevel is zstd's own default, for compress.DefaultCompressionLevel.
const zstdDefaultLevel = 3

// cZstd compresses with the C library and does the rest with the pure-Go codec.
type cZstd struct{ compress.Codec }

// cctxs are compression contexts: one per concurrent compression, reused (a context's
// tables are allocated once, not per page).
var cctxs = sync.Pool{New: func() any { return czstd.NewCtx() }}

func (c cZstd) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (c cZstd) EncodeLevel(dst, src []byte, level int) []byte {
	if level == compress.DefaultCompressionLevel {
		level = zstdDefaultLevel
	}
	ctx := cctxs.Get().(czstd.Ctx)
	out, err := ctx.CompressLevel(dst[:0], src, level)
	cctxs.Put(ctx)
	if err != nil {
		// Not expected (the output is sized by the bound); the pure-Go encoder then.
		return c.Codec.EncodeLevel(dst, src, level)
	}
	return out
}

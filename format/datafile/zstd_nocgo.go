//go:build !cgo

package datafile

// ZstdEncoder names the zstd encoder of Parquet pages: without cgo, the pure-Go one
// arrow-go registers.
const ZstdEncoder = "pure Go (github.com/klauspost/compress)"

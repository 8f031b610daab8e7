//go:build cgo

package datafile

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"

	"github.com/tarnlake/tarn/internal/workload"
)

// With cgo, Parquet pages are compressed and decompressed by the C zstd library: its frames
// decode with the registered codec (into a page-sized buffer or none) and with the pure-Go
// decoder alone, at every level asked for; the level is honoured; a corrupt page is an error.
func TestCZstdCodec(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(cZstd); !ok {
		t.Fatalf("the registered zstd codec is %T, want the C one", c)
	}
	ec, ok := c.(compress.ErrorCodec)
	if _, streams := c.(compress.StreamingCodec); !ok || !streams {
		t.Fatalf("the C codec is not an ErrorCodec (%v) or a StreamingCodec (%v)", ok, streams)
	}
	// Page-like input: the buffers of a customer batch (numbers, strings, validity).
	g := workload.NewCustomers(7, 1_000_000, 0)
	b := g.Next(4096)
	defer b.Release()
	var page []byte
	for _, col := range b.Columns() {
		for _, buf := range col.Data().Buffers() {
			if buf != nil {
				page = append(page, buf.Bytes()...)
			}
		}
	}
	goDec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer goDec.Close()
	sizes := map[int]int{}
	for _, tc := range []struct {
		name  string
		src   []byte
		level int
	}{
		{"page, level 1", page, 1},
		{"page, level 19", page, 19},
		{"page, default level", page, compress.DefaultCompressionLevel},
		{"empty", []byte{}, 1},
		{"one byte", []byte{42}, 1},
	} {
		dst := make([]byte, 0, c.CompressBound(int64(max(len(tc.src), 1))))
		out := c.EncodeLevel(dst, tc.src, tc.level)
		if len(tc.src) > 0 && len(out) == 0 {
			t.Fatalf("%s: no output", tc.name)
		}
		// Into a buffer of the page's size (the C decoder), and into none (the Go one).
		for _, dst := range [][]byte{make([]byte, len(tc.src)), nil} {
			back, err := ec.DecodeWithError(dst, out)
			if err != nil || !bytes.Equal(back, tc.src) {
				t.Errorf("%s: the registered codec into %d bytes: %v (%d bytes, want %d)", tc.name, len(dst), err, len(back), len(tc.src))
			}
		}
		if back, err := goDec.DecodeAll(out, nil); err != nil || !bytes.Equal(back, tc.src) {
			t.Errorf("%s: the pure-Go decoder: %v (%d bytes, want %d)", tc.name, err, len(back), len(tc.src))
		}
		if len(tc.src) == len(page) {
			sizes[tc.level] = len(out)
		}
	}
	// A corrupt page is an error, not a panic or garbage.
	bad := c.EncodeLevel(nil, page, 1)
	bad[len(bad)/2] ^= 0xff
	bad[len(bad)/2+1] ^= 0xff
	if back, err := ec.DecodeWithError(make([]byte, len(page)), bad); err == nil && bytes.Equal(back, page) {
		t.Error("a corrupt page decoded to the page")
	} else if err == nil {
		t.Errorf("a corrupt page decoded without an error to %d bytes", len(back))
	}
	if sizes[19] >= sizes[1] || sizes[1] >= len(page) {
		t.Errorf("compressed sizes %v of a %d-byte page: want level 19 smaller than level 1, smaller than the page", sizes, len(page))
	}
}

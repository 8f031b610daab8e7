package manifest

import (
	"bytes"
	"compress/flate"
	"errors"
	"os/exec"
	"testing"
)

func TestCodecsRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("paimon manifest "), 5000)
	for _, codec := range []string{CodecNull, CodecDeflate, CodecSnappy, CodecZstandard} {
		for _, in := range [][]byte{{}, data} {
			c, err := compress(codec, DefaultZstdLevel, nil, in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := decompress(codec, append([]byte(nil), c...))
			if err != nil {
				t.Fatalf("%s: %v", codec, err)
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("%s: round trip changed %d bytes into %d", codec, len(in), len(out))
			}
		}
	}
}

func TestCodecsRejectCorruptBlocks(t *testing.T) {
	snappy, _ := compress(CodecSnappy, 0, nil, []byte("hello hello hello"))
	snappy[len(snappy)-1] ^= 1 // checksum
	var bomb bytes.Buffer
	w, _ := flate.NewWriter(&bomb, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	for i := 0; i < maxBlockSize>>20+1; i++ {
		w.Write(zeros)
	}
	w.Close()
	for _, tc := range []struct {
		codec string
		data  []byte
	}{
		{CodecSnappy, snappy},
		{CodecSnappy, []byte{1, 2}},
		{CodecSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0}}, // claims 4 GiB
		{CodecDeflate, []byte{0xff, 0xfe}},
		{CodecDeflate, bomb.Bytes()},
		{CodecZstandard, []byte("not zstd")},
	} {
		if _, err := decompress(tc.codec, tc.data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s %x...: %v", tc.codec, tc.data[:min(8, len(tc.data))], err)
		}
	}
	if _, err := decompress("bzip2", nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("bzip2: %v", err)
	}
}

// TestZstdFramesOfEveryLevel decodes frames compressed the way zstd-jni's
// stream (which Avro's Java codec uses) compresses: no content size, a window
// that grows with the level, up to 128 MiB at level 22.
func TestZstdFramesOfEveryLevel(t *testing.T) {
	py := python(t)
	const script = `
import sys
from backports import zstd
data = bytes(range(256)) * 300
for level in (1, 3, 9, 19, 22):
    c = zstd.ZstdCompressor(level=level)
    sys.stdout.buffer.write(c.compress(data) + c.flush())
`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decompress(CodecZstandard, out) // five frames back to back
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat(bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 300), 5)
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes, want %d", len(got), len(want))
	}
}

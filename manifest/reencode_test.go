package manifest

import (
	"bytes"
	"io"
	"testing"
)

// block is one decompressed container block.
type block struct {
	count   int64
	payload []byte
}

func containerBlocks(t *testing.T, b []byte) (c *containerReader, blocks []block) {
	t.Helper()
	c, err := newContainerReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, data, err := c.next()
		if err == io.EOF {
			return c, blocks
		}
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, block{n, data})
	}
}

// rewrite decodes a file and encodes its rows again with the file's layout,
// codec and sync marker.
func rewrite[T any](t *testing.T, ft *fileType[T], b []byte, name string, opts func(*Reader[T]) WriterOptions) []byte {
	t.Helper()
	r, err := newReader(ft, bytes.NewReader(b), name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := newWriter(ft, &buf, name, opts(r))
	if err != nil {
		t.Fatal(err)
	}
	for v, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Errorf("Size() = %d, wrote %d bytes", w.Size(), buf.Len())
	}
	return buf.Bytes()
}

func sameShape[T any](r *Reader[T]) WriterOptions {
	l, _ := r.Layout()
	sync := r.c.sync
	return WriterOptions{Codec: r.Codec(), Layout: l, SyncMarker: &sync}
}

// TestReencodeRealFiles decodes every real file and encodes it again: the
// header (metadata and, when injected, the sync marker) is byte-identical and
// so are the decompressed record bytes of every block; compressed bytes may
// differ.
func TestReencodeRealFiles(t *testing.T) {
	for _, g := range goldenFiles {
		t.Run(g.path, func(t *testing.T) {
			orig := readGolden(t, g)
			var again []byte
			switch g.kind() {
			case "manifest-list":
				again = rewrite(t, manifestListType, orig, g.path, sameShape)
			case "manifest":
				again = rewrite(t, manifestFileType, orig, g.path, sameShape)
			default:
				again = rewrite(t, indexManifestType, orig, g.path, sameShape)
			}
			c1, b1 := containerBlocks(t, orig)
			c2, b2 := containerBlocks(t, again)
			if !bytes.Equal(orig[:c1.headerN], again[:c2.headerN]) {
				t.Errorf("header differs:\n%q\n%q", orig[:c1.headerN], again[:c2.headerN])
			}
			if len(b1) != len(b2) {
				t.Fatalf("%d blocks, want %d", len(b2), len(b1))
			}
			for i := range b1 {
				if b1[i].count != b2[i].count || !bytes.Equal(b1[i].payload, b2[i].payload) {
					t.Errorf("block %d: %d records %x\nwant %d records %x", i, b2[i].count, b2[i].payload, b1[i].count, b1[i].payload)
				}
			}
		})
	}
}

// TestDefaultWriterMatchesPaimon2 writes the rows of the Paimon 2.x fixtures
// with default options: the header metadata is Paimon's, byte for byte (only
// the random sync marker differs), and the records are identical.
func TestDefaultWriterMatchesPaimon2(t *testing.T) {
	defaults := func(*Reader[ManifestFileMeta]) WriterOptions { return WriterOptions{} }
	for _, g := range goldenFiles {
		if !g.shared() || g.kind() != "manifest-list" {
			continue
		}
		orig := readGolden(t, g)
		again := rewrite(t, manifestListType, orig, g.path, defaults)
		c1, b1 := containerBlocks(t, orig)
		c2, b2 := containerBlocks(t, again)
		if !bytes.Equal(orig[:c1.headerN-16], again[:c2.headerN-16]) {
			t.Errorf("%s: header metadata differs", g.path)
		}
		if c1.sync == c2.sync {
			t.Errorf("%s: sync marker not random", g.path)
		}
		if len(b1) != len(b2) {
			t.Fatalf("%s: %d blocks, want %d", g.path, len(b2), len(b1))
		}
		for i := range b1 {
			if !bytes.Equal(b1[i].payload, b2[i].payload) {
				t.Errorf("%s: records of block %d differ", g.path, i)
			}
		}
	}
}

package manifest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// The Avro object container file: magic, a metadata map, a 16-byte sync
// marker, then blocks of (record count, byte size, compressed records, sync
// marker). See https://avro.apache.org/docs/1.11.1/specification/#object-container-files.

var avroMagic = []byte{'O', 'b', 'j', 1}

const (
	metaSchema = "avro.schema"
	metaCodec  = "avro.codec"
	// maxMetaValue bounds one header metadata value; Paimon's schemas take
	// a few kilobytes.
	maxMetaValue = 16 << 20
	// syncInterval is Avro's DataFileWriter default (DEFAULT_SYNC_INTERVAL):
	// a block ends once this many uncompressed bytes are buffered. Paimon
	// does not change it.
	syncInterval = 64000
)

type metaEntry struct {
	key   string
	value []byte
}

// containerReader reads the header and then one block at a time.
type containerReader struct {
	r       *countingReader
	meta    []metaEntry
	schema  []byte
	codec   string
	sync    [16]byte
	headerN int64 // size of the header in bytes
}

// countingReader is a buffered reader that counts the bytes consumed.
type countingReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func readVarlong(r io.ByteReader) (int64, error) {
	var u uint64
	var shift uint
	for i := 0; i < 10; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
		shift += 7
	}
	return 0, fmt.Errorf("%w: varint longer than 10 bytes", ErrCorrupt)
}

// readFull reads n bytes; the buffer grows as data arrives, so a corrupt
// length cannot allocate more than the input holds (plus one chunk).
func readFull(r io.Reader, n int64) ([]byte, error) {
	const chunk = 1 << 20
	if n <= chunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	buf.Grow(chunk)
	_, err := io.CopyN(&buf, r, n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated file", ErrCorrupt)
	}
	return err
}

func newContainerReader(r io.Reader) (*containerReader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	c := &containerReader{r: &countingReader{br: br}}
	var magic [4]byte
	if _, err := io.ReadFull(c.r, magic[:]); err != nil {
		return nil, truncated(err)
	}
	if !bytes.Equal(magic[:], avroMagic) {
		for prefix, name := range map[string]string{"ORC": "orc", "PAR1": "parquet"} {
			if strings.HasPrefix(string(magic[:]), prefix) {
				return nil, fmt.Errorf("%w: a %s file, not Avro: manifest.format = %s, which Tarn does not read (it reads and writes Paimon's default, avro)", ErrCorrupt, name, name)
			}
		}
		return nil, fmt.Errorf("%w: not an Avro object container file", ErrCorrupt)
	}
	for {
		n, err := readVarlong(c.r)
		if err != nil {
			return nil, truncated(err)
		}
		if n == 0 {
			break
		}
		if n < 0 {
			if n == math.MinInt64 {
				return nil, fmt.Errorf("%w: invalid metadata block count", ErrCorrupt)
			}
			n = -n
			if _, err := readVarlong(c.r); err != nil { // block size in bytes
				return nil, truncated(err)
			}
		}
		for ; n > 0; n-- {
			key, err := c.readMetaBytes()
			if err != nil {
				return nil, err
			}
			value, err := c.readMetaBytes()
			if err != nil {
				return nil, err
			}
			c.meta = append(c.meta, metaEntry{string(key), value})
		}
	}
	if _, err := io.ReadFull(c.r, c.sync[:]); err != nil {
		return nil, truncated(err)
	}
	c.headerN = c.r.n
	c.codec = CodecNull
	var haveSchema bool
	for _, m := range c.meta {
		switch m.key {
		case metaSchema:
			c.schema, haveSchema = m.value, true
		case metaCodec:
			c.codec = string(m.value)
		}
	}
	if !haveSchema {
		return nil, fmt.Errorf("%w: header has no avro.schema", ErrCorrupt)
	}
	switch c.codec {
	case CodecNull, CodecDeflate, CodecSnappy, CodecZstandard:
	default:
		return nil, fmt.Errorf("%w: codec %q", ErrUnsupported, c.codec)
	}
	return c, nil
}

func (c *containerReader) readMetaBytes() ([]byte, error) {
	n, err := readVarlong(c.r)
	if err != nil {
		return nil, truncated(err)
	}
	if n < 0 || n > maxMetaValue {
		return nil, fmt.Errorf("%w: header metadata length %d", ErrCorrupt, n)
	}
	b, err := readFull(c.r, n)
	if err != nil {
		return nil, truncated(err)
	}
	return b, nil
}

// rawBlock is one block as stored.
type rawBlock struct {
	count      int64
	compressed []byte
}

// nextRaw returns the next block without decompressing it, or io.EOF after
// the last one.
func (c *containerReader) nextRaw() (rawBlock, error) {
	if _, err := c.r.br.Peek(1); err == io.EOF {
		return rawBlock{}, io.EOF
	}
	count, err := readVarlong(c.r)
	if err != nil {
		return rawBlock{}, truncated(err)
	}
	size, err := readVarlong(c.r)
	if err != nil {
		return rawBlock{}, truncated(err)
	}
	if count < 0 || size < 0 || size > maxBlockSize {
		return rawBlock{}, fmt.Errorf("%w: block of %d records in %d bytes", ErrCorrupt, count, size)
	}
	data, err := readFull(c.r, size)
	if err != nil {
		return rawBlock{}, truncated(err)
	}
	var sync [16]byte
	if _, err := io.ReadFull(c.r, sync[:]); err != nil {
		return rawBlock{}, truncated(err)
	}
	if sync != c.sync {
		return rawBlock{}, fmt.Errorf("%w: block does not end with the file's sync marker", ErrCorrupt)
	}
	return rawBlock{count: count, compressed: data}, nil
}

// next returns the record count and the decompressed records of the next
// block, or io.EOF after the last one.
func (c *containerReader) next() (int64, []byte, error) {
	b, err := c.nextRaw()
	if err != nil {
		return 0, nil, err
	}
	data, err := decompress(c.codec, b.compressed)
	if err != nil {
		return 0, nil, err
	}
	return b.count, data, nil
}

// containerWriter writes a container file the way Avro's Java DataFileWriter
// does with Paimon's settings.
type containerWriter struct {
	w         io.Writer
	codec     string
	zstdLevel int
	sync      [16]byte
	block     []byte // uncompressed records of the current block
	count     int64  // records in the current block
	out       []byte // scratch for the compressed block
	written   int64
	err       error
}

func newContainerWriter(w io.Writer, schema, codec string, zstdLevel int, sync *[16]byte) (*containerWriter, error) {
	switch codec {
	case CodecNull, CodecDeflate, CodecSnappy, CodecZstandard:
	default:
		return nil, fmt.Errorf("%w: codec %q", ErrUnsupported, codec)
	}
	c := &containerWriter{w: w, codec: codec, zstdLevel: zstdLevel}
	if sync != nil {
		c.sync = *sync
	} else if _, err := rand.Read(c.sync[:]); err != nil {
		return nil, err
	}
	// Avro's DataFileWriter keeps its metadata in a HashMap; for these two
	// keys it iterates avro.schema first.
	e := encoder{buf: append([]byte(nil), avroMagic...)}
	e.long(2)
	e.string(metaSchema)
	e.string(schema)
	e.string(metaCodec)
	e.string(codec)
	e.long(0)
	e.buf = append(e.buf, c.sync[:]...)
	c.write(e.buf)
	return c, c.err
}

func (c *containerWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.written += int64(n)
	c.err = err
}

// recordAdded is called after one record was appended to block.
func (c *containerWriter) recordAdded() error {
	c.count++
	if len(c.block) >= syncInterval {
		c.flush()
	}
	return c.err
}

func (c *containerWriter) flush() {
	if c.count == 0 || c.err != nil {
		return
	}
	compressed, err := compress(c.codec, c.zstdLevel, c.out[:0], c.block)
	if err != nil {
		c.err = err
		return
	}
	c.out = compressed
	e := encoder{buf: make([]byte, 0, 20)}
	e.long(c.count)
	e.long(int64(len(compressed)))
	c.write(e.buf)
	c.write(compressed)
	c.write(c.sync[:])
	c.block = c.block[:0]
	c.count = 0
}

func (c *containerWriter) close() error {
	c.flush()
	return c.err
}

var errClosed = errors.New("manifest: writer is closed")

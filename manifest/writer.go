package manifest

import (
	"fmt"
	"io"
)

// WriterOptions configure a Writer. The zero value writes what Paimon 2.x
// writes with its default options.
type WriterOptions struct {
	// Codec is the avro.codec: CodecZstandard (the default; Paimon's default
	// manifest.compression "zstd"), CodecNull, CodecDeflate or CodecSnappy.
	// "zstd" is accepted for CodecZstandard.
	Codec string
	// ZstdLevel is the zstandard level; zero means DefaultZstdLevel, Paimon's
	// default file.compression.zstd-level.
	ZstdLevel int
	// Layout selects the fields written; the zero value is Paimon 2.x's.
	Layout Layout
	// SyncMarker fixes the container's 16-byte sync marker, which is random
	// otherwise. The output is deterministic when it is set.
	SyncMarker *[16]byte
}

// Writer writes the rows of one manifest list, manifest or index manifest
// as an Avro object container file, the way Paimon's Avro writer does: the
// same header (avro.schema byte for byte, avro.codec), records encoded by the
// same rules, a new block once 64000 uncompressed bytes are buffered.
type Writer[T any] struct {
	ft     *fileType[T]
	file   string
	c      *containerWriter
	layout Layout
	enc    encoder
	rows   int64
	closed bool
}

func newWriter[T any](ft *fileType[T], w io.Writer, fileName string, opts WriterOptions) (*Writer[T], error) {
	if err := opts.Layout.validate(); err != nil {
		return nil, err
	}
	codec := opts.Codec
	switch codec {
	case "", "zstd":
		codec = CodecZstandard
	}
	level := opts.ZstdLevel
	if level == 0 {
		level = DefaultZstdLevel
	}
	c, err := newContainerWriter(w, ft.schema(opts.Layout), codec, level, opts.SyncMarker)
	if err != nil {
		return nil, fmt.Errorf("manifest: write %s %s: %w", ft.what, fileName, err)
	}
	return &Writer[T]{ft: ft, file: fileName, c: c, layout: opts.Layout}, nil
}

// Write appends one row. A row the layout cannot hold (a set field the
// layout does not write) or an invalid enum value is refused and nothing of
// it is written.
func (w *Writer[T]) Write(v *T) error {
	if w.closed {
		return errClosed
	}
	if w.c.err != nil {
		return w.wrap(w.c.err)
	}
	start := len(w.c.block)
	e := &w.enc
	e.buf, e.err = w.c.block, nil
	if w.layout.NullableRecords {
		e.index(1)
	}
	w.ft.rec.encode(e, v, &w.layout)
	if e.err != nil {
		w.c.block = e.buf[:start]
		return w.wrap(fmt.Errorf("row %d: %w", w.rows, e.err))
	}
	w.c.block = e.buf
	w.rows++
	if err := w.c.recordAdded(); err != nil {
		return w.wrap(err)
	}
	return nil
}

// Close writes the last block. It does not close the underlying writer.
func (w *Writer[T]) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.c.close(); err != nil {
		return w.wrap(err)
	}
	return nil
}

// Size returns the number of bytes written so far; after Close, the size of
// the file (ManifestFileMeta.FileSize).
func (w *Writer[T]) Size() int64 { return w.c.written }

func (w *Writer[T]) wrap(err error) error {
	return fmt.Errorf("manifest: write %s %s: %w", w.ft.what, w.file, err)
}

func writeAll[T any](ft *fileType[T], w io.Writer, fileName string, rows []T, opts WriterOptions) (int64, error) {
	wr, err := newWriter(ft, w, fileName, opts)
	if err != nil {
		return 0, err
	}
	for i := range rows {
		if err := wr.Write(&rows[i]); err != nil {
			return wr.Size(), err
		}
	}
	err = wr.Close()
	return wr.Size(), err
}

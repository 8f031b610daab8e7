package manifest

import (
	"fmt"
	"io"
	"iter"
	"sync"
)

// fileType ties a Go row type to the Avro file that holds it.
type fileType[T any] struct {
	what string // for messages: "manifest list", "manifest", "index manifest"
	rec  *record[T]
	// detect fills in the layout counts of the record, given the top-level
	// writer record.
	detect func(top *avroSchema, l *Layout)

	mu       sync.Mutex
	compiled map[string]*compiledSchema[T] // by writer schema text
	schemas  sync.Map                      // Layout → schema text Tarn writes
}

type compiledSchema[T any] struct {
	decode      func(d *decoder, v *T)
	layout      Layout
	layoutExact bool
}

const (
	avroNamespace  = "org.apache.paimon.avro.generated"
	avroRecordName = "record"
	// maxCompiled bounds the cache of compiled writer schemas; a table's
	// files share a handful.
	maxCompiled = 64
)

// schema returns the avro.schema string Paimon writes for the layout.
func (ft *fileType[T]) schema(l Layout) string {
	if s, ok := ft.schemas.Load(l); ok {
		return s.(string)
	}
	s := ft.rec.avroSchema(avroRecordName, avroNamespace, &l)
	if l.NullableRecords {
		s = &avroSchema{kind: kindUnion, branches: []*avroSchema{{kind: kindNull}, s}}
	}
	text := s.String()
	ft.schemas.Store(l, text)
	return text
}

// compile returns the decoder for a writer schema, compiling it on first use.
func (ft *fileType[T]) compile(text []byte) (*compiledSchema[T], error) {
	ft.mu.Lock()
	c, ok := ft.compiled[string(text)]
	ft.mu.Unlock()
	if ok {
		return c, nil
	}
	w, err := parseSchema(text)
	if err != nil {
		return nil, err
	}
	dec, err := bindRecord(w, ft.rec, false)
	if err != nil {
		return nil, fmt.Errorf("%w: writer schema: %v", ErrUnsupported, err)
	}
	c = &compiledSchema[T]{decode: dec}
	top, nullable := w.nullable()
	c.layout.NullableRecords = nullable
	ft.detect(top, &c.layout)
	if c.layout.validate() == nil {
		c.layoutExact = ft.schema(c.layout) == string(text)
	}
	ft.mu.Lock()
	if ft.compiled == nil || len(ft.compiled) >= maxCompiled {
		ft.compiled = make(map[string]*compiledSchema[T])
	}
	ft.compiled[string(text)] = c
	ft.mu.Unlock()
	return c, nil
}

// Reader reads the rows of one manifest list, manifest or index manifest
// file, one Avro block at a time: a large manifest is never held in memory
// as a whole.
//
// It resolves the writer schema in the file header against the row type Tarn
// knows: fields an older Paimon did not write are left nil, fields a newer one
// added are skipped. Rows from one block share memory (see the package
// documentation). A Reader is not safe for concurrent use.
type Reader[T any] struct {
	ft     *fileType[T]
	file   string
	c      *containerReader
	schema *compiledSchema[T]
	d      decoder
	left   int64 // records left in the current block
	block  int   // index of the current block
	record int64 // index of the next record in the file
	err    error
	row    T
}

func newReader[T any](ft *fileType[T], r io.Reader, fileName string) (*Reader[T], error) {
	c, err := newContainerReader(r)
	if err != nil {
		return nil, fmt.Errorf("manifest: read %s %s: %w", ft.what, fileName, err)
	}
	schema, err := ft.compile(c.schema)
	if err != nil {
		return nil, fmt.Errorf("manifest: read %s %s: %w", ft.what, fileName, err)
	}
	return &Reader[T]{ft: ft, file: fileName, c: c, schema: schema, block: -1}, nil
}

// Next returns the next row, or io.EOF after the last one. Any other error
// names the file, the block and the record.
func (r *Reader[T]) Next() (T, error) {
	var zero T
	if r.err != nil {
		return zero, r.err
	}
	for r.left == 0 {
		count, data, err := r.c.next()
		if err == io.EOF {
			r.err = io.EOF
			return zero, io.EOF
		}
		r.block++
		if err != nil {
			return zero, r.fail(err)
		}
		// Every row starts with _VERSION, so a record takes at least a byte.
		if count > int64(len(data)) || (count == 0 && len(data) > 0) {
			return zero, r.fail(fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorrupt, count, len(data)))
		}
		r.d.reset(data)
		r.left = count
	}
	// Decoding into a field of r, not a local, keeps the row off the heap:
	// the compiled decoder is a function value that the row would escape to.
	r.row = zero
	r.schema.decode(&r.d, &r.row)
	v := r.row
	if r.d.err != nil {
		if path := r.d.failedField(); path != "" {
			return v, r.fail(fmt.Errorf("record %d, field %s: %w", r.record, path, r.d.err))
		}
		return v, r.fail(fmt.Errorf("record %d: %w", r.record, r.d.err))
	}
	r.left--
	r.record++
	if r.left == 0 && r.d.pos != len(r.d.buf) {
		return v, r.fail(fmt.Errorf("%w: %d bytes left after the block's last record", ErrCorrupt, len(r.d.buf)-r.d.pos))
	}
	return v, nil
}

func (r *Reader[T]) fail(err error) error {
	r.err = fmt.Errorf("manifest: read %s %s: block %d: %w", r.ft.what, r.file, r.block, err)
	return r.err
}

// All iterates over the remaining rows. Iteration stops after the first
// error, which is yielded with a zero row.
func (r *Reader[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// Codec returns the file's avro.codec.
func (r *Reader[T]) Codec() string { return r.c.codec }

// WriterSchema returns the file's avro.schema as written.
func (r *Reader[T]) WriterSchema() string { return string(r.c.schema) }

// Layout returns the layout of the file's writer schema; ok is true when a
// Writer with that layout writes exactly the same avro.schema string.
func (r *Reader[T]) Layout() (l Layout, ok bool) {
	return r.schema.layout, r.schema.layoutExact
}

func readAll[T any](ft *fileType[T], r io.Reader, fileName string) ([]T, error) {
	rd, err := newReader(ft, r, fileName)
	if err != nil {
		return nil, err
	}
	var out []T
	for v, err := range rd.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

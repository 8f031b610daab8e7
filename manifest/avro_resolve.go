package manifest

import (
	"fmt"
)

// This file holds the small machinery that maps Paimon's row types to Avro:
// every record Tarn reads or writes is a record[T], a list of field[T] that
// mirrors the RowType Paimon declares (ManifestFileMeta.SCHEMA,
// DataFileMeta.SCHEMA, ...). From that one description come
//
//   - the Avro schema Paimon's AvroSchemaConverter derives from the row type,
//     printed byte for byte as Paimon writes it into the file header;
//   - a decoder compiled once per writer schema: fields are matched by name,
//     fields the writer lacks stay zero (nil), fields Tarn does not know are
//     skipped, unions such as the ["null", record] older Paimon releases wrote
//     are resolved; decoding then runs closures only, no reflection;
//   - an encoder that writes the fields a Layout selects.

type decodeFunc[T any] func(d *decoder, v *T)

type field[T any] struct {
	name string
	// nullable: Paimon declares the field's type nullable, written as the
	// union ["null", type] with "default": null.
	nullable bool
	// isRecord: the field holds a row; Paimon 0.9 and older declared every row
	// type nullable (see Layout.NullableRecords).
	isRecord bool
	// avro returns the Avro type of a non-null value; path is the name Paimon
	// gives a nested record: the enclosing record's name, "_", the field name.
	avro func(path string, l *Layout) *avroSchema
	// bind compiles a decoder for the writer's type of this field.
	bind func(w *avroSchema) (decodeFunc[T], error)
	// encode writes a non-null value (without a union index).
	encode func(e *encoder, v *T, l *Layout)
	// isNull reports whether a nullable field holds null.
	isNull func(v *T) bool
}

// record describes one Paimon row type as a list of fields.
type record[T any] struct {
	fields []field[T]
	// written returns how many leading fields a layout writes; nil means all.
	written func(l *Layout) int
	byName  map[string]int
}

func newRecord[T any](written func(l *Layout) int, fields ...field[T]) *record[T] {
	r := &record[T]{fields: fields, written: written, byName: make(map[string]int, len(fields))}
	for i, f := range fields {
		r.byName[f.name] = i
	}
	return r
}

func (r *record[T]) count(l *Layout) int {
	if r.written == nil {
		return len(r.fields)
	}
	return r.written(l)
}

// avroSchema returns the record's Avro schema as Paimon's AvroSchemaConverter
// builds it for the layout.
func (r *record[T]) avroSchema(name, namespace string, l *Layout) *avroSchema {
	s := &avroSchema{kind: kindRecord, name: name, namespace: namespace}
	for _, f := range r.fields[:r.count(l)] {
		t := f.avro(name+"_"+f.name, l)
		nullable := f.nullable || (f.isRecord && l.NullableRecords)
		if nullable {
			t = &avroSchema{kind: kindUnion, branches: []*avroSchema{{kind: kindNull}, t}}
		}
		s.fields = append(s.fields, avroField{name: f.name, typ: t, defaultNull: nullable})
	}
	return s
}

// bind compiles a decoder from a writer record type w.
func (r *record[T]) bind(w *avroSchema) (func(d *decoder, v *T), error) {
	if w.kind != kindRecord {
		return nil, fmt.Errorf("writer type is %v, want a record", w.kind)
	}
	seen := make([]bool, len(r.fields))
	ops := make([]func(d *decoder, v *T), 0, len(w.fields))
	for _, wf := range w.fields {
		i, ok := r.byName[wf.name]
		if !ok {
			skip := skipper(wf.typ)
			ops = append(ops, func(d *decoder, _ *T) { skip(d) })
			continue
		}
		seen[i] = true
		op, err := r.fields[i].bind(wf.typ)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", wf.name, err)
		}
		ops = append(ops, op)
	}
	for i, f := range r.fields {
		if !seen[i] && !f.nullable {
			return nil, fmt.Errorf("writer schema lacks the required field %s", f.name)
		}
	}
	names := make([]string, len(w.fields))
	for i, wf := range w.fields {
		names[i] = wf.name
	}
	return func(d *decoder, v *T) {
		for i, op := range ops {
			op(d, v)
			if d.err != nil {
				d.errPath = append(d.errPath, names[i])
				return
			}
		}
	}, nil
}

func (r *record[T]) encode(e *encoder, v *T, l *Layout) {
	n := r.count(l)
	for _, f := range r.fields[:n] {
		switch {
		case f.nullable:
			if f.isNull(v) {
				e.index(0)
				continue
			}
			e.index(1)
		case f.isRecord && l.NullableRecords:
			e.index(1)
		}
		f.encode(e, v, l)
	}
	for _, f := range r.fields[n:] {
		if !f.isNull(v) {
			e.fail("field %s is set but the layout does not write it", f.name)
		}
	}
}

// --- value readers for one non-union writer type ---

type leafReader[V any] func(w *avroSchema) (func(d *decoder) V, error)

func mismatch(w *avroSchema, want string) error {
	return fmt.Errorf("writer type %v cannot be read as %s", w.kind, want)
}

func readInt(w *avroSchema) (func(d *decoder) int32, error) {
	if w.kind == kindInt {
		return (*decoder).int, nil
	}
	return nil, mismatch(w, "int")
}

func readLong(w *avroSchema) (func(d *decoder) int64, error) {
	switch w.kind {
	case kindLong:
		return (*decoder).long, nil
	case kindInt:
		return func(d *decoder) int64 { return int64(d.int()) }, nil
	}
	return nil, mismatch(w, "long")
}

func readString(w *avroSchema) (func(d *decoder) string, error) {
	if w.kind == kindString || w.kind == kindBytes {
		return (*decoder).string, nil
	}
	return nil, mismatch(w, "string")
}

func readBytes(w *avroSchema) (func(d *decoder) []byte, error) {
	if w.kind == kindString || w.kind == kindBytes {
		return (*decoder).bytes, nil
	}
	return nil, mismatch(w, "bytes")
}

// readArray reads an Avro array; the result is never nil, so an empty array
// stays distinguishable from a null one.
func readArray[E any](elem leafReader[E]) leafReader[[]E] {
	return func(w *avroSchema) (func(d *decoder) []E, error) {
		if w.kind != kindArray {
			return nil, mismatch(w, "array")
		}
		size := minSize(w.items)
		if size == 0 {
			return nil, fmt.Errorf("array items of type %v take no bytes", w.items.kind)
		}
		item, err := required(w.items, elem)
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		return func(d *decoder) []E {
			out := []E{}
			for d.err == nil {
				n, _ := d.blockCount(size)
				if n == 0 {
					break
				}
				if len(out) == 0 {
					out = make([]E, 0, n)
				}
				for i := 0; i < n; i++ {
					out = append(out, item(d))
				}
			}
			return out
		}, nil
	}
}

// --- union resolution ---

// optional compiles a reader for writer type w, which may be a union; ok is
// false when the writer wrote null.
func optional[V any](w *avroSchema, leaf leafReader[V]) (func(d *decoder) (V, bool), error) {
	if w.kind != kindUnion {
		if w.kind == kindNull {
			return func(*decoder) (v V, ok bool) { return v, false }, nil
		}
		f, err := leaf(w)
		if err != nil {
			return nil, err
		}
		return func(d *decoder) (V, bool) { return f(d), true }, nil
	}
	branches := make([]func(d *decoder) V, len(w.branches))
	var firstErr error
	matched := false
	for i, b := range w.branches {
		if b.kind == kindNull {
			continue
		}
		f, err := leaf(b)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			msg := err.Error()
			branches[i] = func(d *decoder) (v V) { d.fail("union branch %d: %s", i, msg); return v }
			continue
		}
		matched = true
		branches[i] = f
	}
	if !matched {
		if firstErr == nil {
			return nil, fmt.Errorf("writer union has only null")
		}
		return nil, firstErr
	}
	if len(branches) == 2 && branches[0] == nil {
		f := branches[1]
		return func(d *decoder) (v V, ok bool) {
			switch d.long() {
			case 0:
				return v, false
			case 1:
				return f(d), true
			}
			d.fail("union index out of range")
			return v, false
		}, nil
	}
	return func(d *decoder) (v V, ok bool) {
		i := d.long()
		if i < 0 || i >= int64(len(branches)) {
			d.fail("union index %d out of range", i)
			return v, false
		}
		if branches[i] == nil {
			return v, false
		}
		return branches[i](d), true
	}, nil
}

// required is optional for a value that must not be null.
func required[V any](w *avroSchema, leaf leafReader[V]) (func(d *decoder) V, error) {
	if w.kind != kindUnion {
		return leaf(w)
	}
	f, err := optional(w, leaf)
	if err != nil {
		return nil, err
	}
	return func(d *decoder) V {
		v, ok := f(d)
		if !ok && d.err == nil {
			d.fail("null value for a non-null field")
		}
		return v
	}, nil
}

// --- field constructors ---

func primitive(k avroKind) func(string, *Layout) *avroSchema {
	return func(string, *Layout) *avroSchema { return &avroSchema{kind: k} }
}

func requiredField[T, V any](name string, k avroKind, leaf leafReader[V], get func(*T) *V, enc func(*encoder, V)) field[T] {
	return field[T]{
		name: name,
		avro: primitive(k),
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := required(w, leaf)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) { *get(v) = r(d) }, nil
		},
		encode: func(e *encoder, v *T, _ *Layout) { enc(e, *get(v)) },
	}
}

func intField[T any](name string, get func(*T) *int32) field[T] {
	return requiredField(name, kindInt, readInt, get, (*encoder).int)
}

func longField[T any](name string, get func(*T) *int64) field[T] {
	return requiredField(name, kindLong, readLong, get, (*encoder).long)
}

func stringField[T any](name string, get func(*T) *string) field[T] {
	return requiredField(name, kindString, readString, get, (*encoder).string)
}

func bytesField[T any](name string, get func(*T) *[]byte) field[T] {
	return requiredField(name, kindBytes, readBytes, get, (*encoder).bytes)
}

func stringArrayField[T any](name string, get func(*T) *[]string) field[T] {
	f := requiredField(name, kindArray, readArray(readString), get, encodeStrings)
	f.avro = arrayOf(kindString)
	return f
}

// optionalPtrField is a nullable field held in Go as a pointer (nil is null).
// box returns a pointer to a decoded value.
func optionalPtrField[T, V any](name string, k avroKind, leaf leafReader[V], box func(*decoder, V) *V, get func(*T) **V, enc func(*encoder, V)) field[T] {
	return field[T]{
		name:     name,
		nullable: true,
		avro:     primitive(k),
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := optional(w, leaf)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) {
				if x, ok := r(d); ok {
					*get(v) = box(d, x)
				}
			}, nil
		},
		encode: func(e *encoder, v *T, _ *Layout) { enc(e, **get(v)) },
		isNull: func(v *T) bool { return *get(v) == nil },
	}
}

// optionalSliceField is a nullable field held in Go as a slice (nil is null,
// an empty non-nil slice is an empty value).
func optionalSliceField[T, E any](name string, avro func(string, *Layout) *avroSchema, leaf leafReader[[]E], get func(*T) *[]E, enc func(*encoder, []E)) field[T] {
	return field[T]{
		name:     name,
		nullable: true,
		avro:     avro,
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := optional(w, leaf)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) {
				if x, ok := r(d); ok {
					*get(v) = x
				}
			}, nil
		},
		encode: func(e *encoder, v *T, _ *Layout) { enc(e, *get(v)) },
		isNull: func(v *T) bool { return *get(v) == nil },
	}
}

func boxInt32(d *decoder, v int32) *int32 { return d.arena.int32s.new(v) }
func boxInt64(d *decoder, v int64) *int64 { return d.arena.int64s.new(v) }
func boxAny[V any](_ *decoder, v V) *V    { return &v }

func optIntField[T any](name string, get func(*T) **int32) field[T] {
	return optionalPtrField(name, kindInt, readInt, boxInt32, get, (*encoder).int)
}

func optLongField[T any](name string, get func(*T) **int64) field[T] {
	return optionalPtrField(name, kindLong, readLong, boxInt64, get, (*encoder).long)
}

// optTimestampMillisField is Paimon's nullable TIMESTAMP(3).
func optTimestampMillisField[T any](name string, get func(*T) **int64) field[T] {
	f := optLongField(name, get)
	f.avro = func(string, *Layout) *avroSchema { return &avroSchema{kind: kindLong, logical: "timestamp-millis"} }
	return f
}

func optStringField[T any](name string, get func(*T) **string) field[T] {
	return optionalPtrField(name, kindString, readString, boxAny, get, (*encoder).string)
}

func optBytesField[T any](name string, get func(*T) *[]byte) field[T] {
	f := optionalSliceField(name, primitive(kindBytes), readBytes, get, (*encoder).bytes)
	return f
}

func arrayOf(k avroKind) func(string, *Layout) *avroSchema {
	return func(string, *Layout) *avroSchema {
		return &avroSchema{kind: kindArray, items: &avroSchema{kind: k}}
	}
}

func optStringArrayField[T any](name string, get func(*T) *[]string) field[T] {
	return optionalSliceField(name, arrayOf(kindString), readArray(readString), get, encodeStrings)
}

func optLongArrayField[T any](name string, get func(*T) *[]int64) field[T] {
	return optionalSliceField(name, arrayOf(kindLong), readArray(readLong), get, func(e *encoder, xs []int64) {
		e.arrayStart(len(xs))
		for _, x := range xs {
			e.long(x)
		}
		e.arrayEnd()
	})
}

func optIntArrayField[T any](name string, get func(*T) *[]int32) field[T] {
	return optionalSliceField(name, arrayOf(kindInt), readArray(readInt), get, func(e *encoder, xs []int32) {
		e.arrayStart(len(xs))
		for _, x := range xs {
			e.int(x)
		}
		e.arrayEnd()
	})
}

func encodeStrings(e *encoder, xs []string) {
	e.arrayStart(len(xs))
	for _, x := range xs {
		e.string(x)
	}
	e.arrayEnd()
}

// recordField is a non-null nested row held in Go by value.
func recordField[T, U any](name string, rec *record[U], get func(*T) *U) field[T] {
	return field[T]{
		name:     name,
		isRecord: true,
		avro:     func(path string, l *Layout) *avroSchema { return rec.avroSchema(path, "", l) },
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := bindRecord(w, rec, false)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) { r(d, get(v)) }, nil
		},
		encode: func(e *encoder, v *T, l *Layout) { rec.encode(e, get(v), l) },
		isNull: func(*T) bool { return false },
	}
}

// optRecordField is a nullable nested row held in Go as a pointer.
func optRecordField[T, U any](name string, rec *record[U], get func(*T) **U) field[T] {
	return field[T]{
		name:     name,
		nullable: true,
		isRecord: true,
		avro:     func(path string, l *Layout) *avroSchema { return rec.avroSchema(path, "", l) },
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := optional(w, recordValue(rec))
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) {
				if u, ok := r(d); ok {
					*get(v) = u
				}
			}, nil
		},
		encode: func(e *encoder, v *T, l *Layout) { rec.encode(e, *get(v), l) },
		isNull: func(v *T) bool { return *get(v) == nil },
	}
}

// optRecordArrayField is a nullable array of nullable rows (Paimon's
// ArrayType(true, RowType)) held in Go as a slice of values; null elements are
// rejected when read and never written.
func optRecordArrayField[T, U any](name string, rec *record[U], get func(*T) *[]U) field[T] {
	elem := func(w *avroSchema) (func(d *decoder) U, error) {
		r, err := recordValue(rec)(w)
		if err != nil {
			return nil, err
		}
		return func(d *decoder) U { return *r(d) }, nil
	}
	return field[T]{
		name:     name,
		nullable: true,
		avro: func(path string, l *Layout) *avroSchema {
			item := rec.avroSchema(path, "", l)
			return &avroSchema{kind: kindArray, items: &avroSchema{kind: kindUnion, branches: []*avroSchema{{kind: kindNull}, item}}}
		},
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := optional(w, readArray(elem))
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) {
				if x, ok := r(d); ok {
					*get(v) = x
				}
			}, nil
		},
		encode: func(e *encoder, v *T, l *Layout) {
			xs := *get(v)
			e.arrayStart(len(xs))
			for i := range xs {
				e.index(1)
				rec.encode(e, &xs[i], l)
			}
			e.arrayEnd()
		},
		isNull: func(v *T) bool { return *get(v) == nil },
	}
}

// recordValue reads a record into a newly allocated value.
func recordValue[U any](rec *record[U]) leafReader[*U] {
	return func(w *avroSchema) (func(d *decoder) *U, error) {
		r, err := rec.bind(w)
		if err != nil {
			return nil, err
		}
		return func(d *decoder) *U {
			u := new(U)
			r(d, u)
			return u
		}, nil
	}
}

// bindRecord compiles a decoder that fills a record in place. The writer type
// may be the union ["null", record] of Paimon 0.9 and older; a null value is
// then an error unless allowNull.
func bindRecord[U any](w *avroSchema, rec *record[U], allowNull bool) (func(d *decoder, u *U), error) {
	if w.kind != kindUnion {
		return rec.bind(w)
	}
	branches := make([]func(d *decoder, u *U), len(w.branches))
	matched := false
	var firstErr error
	for i, b := range w.branches {
		if b.kind == kindNull {
			continue
		}
		r, err := rec.bind(b)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			msg := err.Error()
			branches[i] = func(d *decoder, _ *U) { d.fail("union branch %d: %s", i, msg) }
			continue
		}
		matched = true
		branches[i] = r
	}
	if !matched {
		if firstErr == nil {
			firstErr = fmt.Errorf("writer union has only null")
		}
		return nil, firstErr
	}
	return func(d *decoder, u *U) {
		i := d.long()
		if i < 0 || i >= int64(len(branches)) {
			d.fail("union index %d out of range", i)
			return
		}
		if branches[i] == nil {
			if !allowNull {
				d.fail("null value for a non-null record")
			}
			return
		}
		branches[i](d, u)
	}, nil
}

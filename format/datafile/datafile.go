// Package datafile reads and writes Paimon data files as Arrow record batches.
//
// A data file of a primary-key table holds, before the value columns, the trimmed primary
// key as "_KEY_<name>" columns (field ids 1073741823 + id), then "_SEQUENCE_NUMBER"
// (2147483646) and "_VALUE_KIND" (2147483645); an append-only table's file holds only the
// value columns (paimon-api/.../table/SpecialFields.java, paimon-core/.../KeyValue.java).
package datafile

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tarnlake/tarn/format/types"
)

// Paimon's system fields in data files.
const (
	KeyFieldPrefix    = "_KEY_"
	KeyFieldIDStart   = 2147483647 / 2 // SpecialFields.KEY_FIELD_ID_START
	SequenceNumber    = "_SEQUENCE_NUMBER"
	SequenceNumberID  = 2147483647 - 1
	ValueKind         = "_VALUE_KIND"
	ValueKindID       = 2147483647 - 2
	RowIDField        = "_ROW_ID"
	RowIDFieldID      = 2147483647 - 5
	structuredIDBase  = 2147483647 / 4 // SpecialFields.STRUCTURED_TYPE_FIELD_ID_BASE
	structuredIDDepth = 1 << 10        // SpecialFields.STRUCTURED_TYPE_FIELD_DEPTH_LIMIT
)

// Row kinds as stored in _VALUE_KIND (RowKind.toByteValue).
const (
	KindInsert       int8 = 0 // +I
	KindUpdateBefore int8 = 1 // -U
	KindUpdateAfter  int8 = 2 // +U
	KindDelete       int8 = 3 // -D
)

// KindString is the short form of a row kind ("+I", "-U", "+U", "-D").
func KindString(k int8) string {
	switch k {
	case KindInsert:
		return "+I"
	case KindUpdateBefore:
		return "-U"
	case KindUpdateAfter:
		return "+U"
	case KindDelete:
		return "-D"
	}
	return "?"
}

// ParseKind parses a short row kind.
func ParseKind(s string) (int8, bool) {
	switch s {
	case "+I":
		return KindInsert, true
	case "-U":
		return KindUpdateBefore, true
	case "+U":
		return KindUpdateAfter, true
	case "-D":
		return KindDelete, true
	}
	return 0, false
}

// IsRetract reports -U and -D.
func IsRetract(k int8) bool { return k == KindUpdateBefore || k == KindDelete }

// KeyField is the _KEY_ system field of a primary-key field.
func KeyField(f types.DataField) types.DataField {
	return types.DataField{ID: KeyFieldIDStart + f.ID, Name: KeyFieldPrefix + f.Name, Type: f.Type}
}

// SequenceField is the _SEQUENCE_NUMBER field.
func SequenceField() types.DataField {
	return types.DataField{ID: SequenceNumberID, Name: SequenceNumber, Type: types.BigIntType().NotNull()}
}

// ValueKindField is the _VALUE_KIND field.
func ValueKindField() types.DataField {
	return types.DataField{ID: ValueKindID, Name: ValueKind, Type: types.TinyIntType().NotNull()}
}

// KeyValueFields is the full field list of a primary-key table's data file: key fields,
// sequence number, value kind, then the value fields.
func KeyValueFields(keys, values []types.DataField) []types.DataField {
	out := make([]types.DataField, 0, len(keys)+2+len(values))
	for _, k := range keys {
		out = append(out, KeyField(k))
	}
	out = append(out, SequenceField(), ValueKindField())
	return append(out, values...)
}

// BatchReader yields record batches; Next returns io.EOF after the last one. The caller
// owns each batch and releases it.
type BatchReader interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// ReadAll drains a reader into a slice of batches, all of them or, on an error, none
// (released). It does not close the reader.
func ReadAll(ctx context.Context, r BatchReader) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			return nil, err
		}
		out = append(out, b)
	}
}

package types

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// FieldIDKey is the Arrow field metadata key holding a Paimon field id, the same key
// Parquet readers use ("PARQUET:field_id").
const FieldIDKey = "PARQUET:field_id"

// ToArrow maps a Paimon type to the Arrow type Tarn reads and writes it as. The mapping
// follows what a Parquet reader produces from Paimon's Parquet files: TIMESTAMP(0..3) as
// milliseconds, (4..6) microseconds, (7..9) nanoseconds (TIMESTAMP_LTZ with zone "UTC"),
// TIME as time32[ms], DECIMAL as decimal128, MULTISET as map<element, int32>, VECTOR as a
// fixed-size list.
func ToArrow(t DataType) (arrow.DataType, error) {
	switch t.Root {
	case Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case TinyInt:
		return arrow.PrimitiveTypes.Int8, nil
	case SmallInt:
		return arrow.PrimitiveTypes.Int16, nil
	case Int:
		return arrow.PrimitiveTypes.Int32, nil
	case BigInt:
		return arrow.PrimitiveTypes.Int64, nil
	case Float:
		return arrow.PrimitiveTypes.Float32, nil
	case Double:
		return arrow.PrimitiveTypes.Float64, nil
	case Decimal:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	case Char, VarChar:
		return arrow.BinaryTypes.String, nil
	case Binary, VarBinary, Blob:
		return arrow.BinaryTypes.Binary, nil
	case Date:
		return arrow.FixedWidthTypes.Date32, nil
	case Time:
		return arrow.FixedWidthTypes.Time32ms, nil
	case Timestamp, LocalZonedTimestamp:
		tz := ""
		if t.Root == LocalZonedTimestamp {
			tz = "UTC"
		}
		return &arrow.TimestampType{Unit: TimeUnit(t.Precision), TimeZone: tz}, nil
	case Array:
		et, err := ToArrow(*t.Elem)
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: et, Nullable: t.Elem.Nullable}), nil
	case Vector:
		et, err := ToArrow(*t.Elem)
		if err != nil {
			return nil, err
		}
		return arrow.FixedSizeListOfField(int32(t.Length), arrow.Field{Name: "element", Type: et, Nullable: t.Elem.Nullable}), nil
	case Map, Multiset:
		var kt, vt arrow.DataType
		var err error
		valueNullable := true
		if t.Root == Map {
			if kt, err = ToArrow(*t.Key); err != nil {
				return nil, err
			}
			if vt, err = ToArrow(*t.Value); err != nil {
				return nil, err
			}
			valueNullable = t.Value.Nullable
		} else {
			if kt, err = ToArrow(*t.Elem); err != nil {
				return nil, err
			}
			vt, valueNullable = arrow.PrimitiveTypes.Int32, false
		}
		m := arrow.MapOf(kt, vt)
		m.SetItemNullable(valueNullable)
		return m, nil
	case Row:
		fields, err := ArrowFields(t.Fields)
		if err != nil {
			return nil, err
		}
		return arrow.StructOf(fields...), nil
	}
	return nil, fmt.Errorf("type %s has no Arrow mapping", t)
}

// TimeUnit is the Arrow unit of a TIMESTAMP of the given precision.
func TimeUnit(precision int) arrow.TimeUnit {
	switch {
	case precision <= 3:
		return arrow.Millisecond
	case precision <= 6:
		return arrow.Microsecond
	}
	return arrow.Nanosecond
}

// ArrowField maps a Paimon field to an Arrow field carrying its id in metadata.
func ArrowField(f DataField) (arrow.Field, error) {
	at, err := ToArrow(f.Type)
	if err != nil {
		return arrow.Field{}, fmt.Errorf("field %q: %w", f.Name, err)
	}
	return arrow.Field{
		Name: f.Name, Type: at, Nullable: f.Type.Nullable,
		Metadata: arrow.NewMetadata([]string{FieldIDKey}, []string{strconv.Itoa(f.ID)}),
	}, nil
}

// ArrowFields maps fields in order.
func ArrowFields(fields []DataField) ([]arrow.Field, error) {
	out := make([]arrow.Field, len(fields))
	for i, f := range fields {
		af, err := ArrowField(f)
		if err != nil {
			return nil, err
		}
		out[i] = af
	}
	return out, nil
}

// ArrowSchema maps fields to an Arrow schema.
func ArrowSchema(fields []DataField) (*arrow.Schema, error) {
	af, err := ArrowFields(fields)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(af, nil), nil
}

// ArrowFieldID returns the Paimon field id recorded in an Arrow field's metadata.
func ArrowFieldID(f arrow.Field) (int, bool) {
	i := f.Metadata.FindKey(FieldIDKey)
	if i < 0 {
		return 0, false
	}
	id, err := strconv.Atoi(f.Metadata.Values()[i])
	return id, err == nil
}

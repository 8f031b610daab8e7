// Package types models Apache Paimon's data types: the type tree, its SQL text form
// ("INT NOT NULL", "DECIMAL(10, 2)") and its JSON form as written in schema-N files.
//
// The forms follow org.apache.paimon.types.* and DataTypeJsonParser in apache/paimon.
package types

import (
	"fmt"
	"strings"
)

// Root is the kind of a data type (Paimon's DataTypeRoot).
type Root uint8

// The type roots Paimon defines.
const (
	Invalid Root = iota
	Boolean
	TinyInt
	SmallInt
	Int
	BigInt
	Float
	Double
	Decimal
	Char
	VarChar
	Binary
	VarBinary
	Date
	Time
	Timestamp
	LocalZonedTimestamp
	Array
	Map
	Multiset
	Row
	Vector
	Variant
	Blob
)

// Limits and defaults of parameterised types (Paimon's *Type.MAX_LENGTH etc.).
const (
	MaxLength            = 2147483647 // VARCHAR/VARBINARY max length: STRING and BYTES
	MaxDecimalPrecision  = 38
	DefaultDecimalPrec   = 10
	MaxTimestampPrec     = 9
	DefaultTimestampPrec = 6
	DefaultTimePrec      = 0
	DefaultCharLength    = 1
)

var rootNames = [...]string{
	Invalid: "INVALID", Boolean: "BOOLEAN", TinyInt: "TINYINT", SmallInt: "SMALLINT", Int: "INT",
	BigInt: "BIGINT", Float: "FLOAT", Double: "DOUBLE", Decimal: "DECIMAL", Char: "CHAR",
	VarChar: "VARCHAR", Binary: "BINARY", VarBinary: "VARBINARY", Date: "DATE", Time: "TIME",
	Timestamp: "TIMESTAMP", LocalZonedTimestamp: "TIMESTAMP_LTZ", Array: "ARRAY", Map: "MAP",
	Multiset: "MULTISET", Row: "ROW", Vector: "VECTOR", Variant: "VARIANT", Blob: "BLOB",
}

func (r Root) String() string {
	if int(r) < len(rootNames) {
		return rootNames[r]
	}
	return fmt.Sprintf("Root(%d)", r)
}

// DataType is one Paimon data type. Only the fields that matter for its Root are set.
type DataType struct {
	Root      Root
	Nullable  bool
	Length    int         // CHAR, VARCHAR, BINARY, VARBINARY, VECTOR
	Precision int         // DECIMAL, TIME, TIMESTAMP, TIMESTAMP_LTZ
	Scale     int         // DECIMAL
	Elem      *DataType   // ARRAY, MULTISET, VECTOR
	Key       *DataType   // MAP
	Value     *DataType   // MAP
	Fields    []DataField // ROW
}

// DataField is a named field with a stable id (Paimon's DataField).
type DataField struct {
	ID           int
	Name         string
	Type         DataType
	Description  *string
	DefaultValue *string
}

// Constructors for the common types; all nullable.

func BooleanType() DataType   { return DataType{Root: Boolean, Nullable: true} }
func TinyIntType() DataType   { return DataType{Root: TinyInt, Nullable: true} }
func SmallIntType() DataType  { return DataType{Root: SmallInt, Nullable: true} }
func IntType() DataType       { return DataType{Root: Int, Nullable: true} }
func BigIntType() DataType    { return DataType{Root: BigInt, Nullable: true} }
func FloatType() DataType     { return DataType{Root: Float, Nullable: true} }
func DoubleType() DataType    { return DataType{Root: Double, Nullable: true} }
func DateType() DataType      { return DataType{Root: Date, Nullable: true} }
func StringType() DataType    { return DataType{Root: VarChar, Nullable: true, Length: MaxLength} }
func BytesType() DataType     { return DataType{Root: VarBinary, Nullable: true, Length: MaxLength} }
func CharType(n int) DataType { return DataType{Root: Char, Nullable: true, Length: n} }
func VarCharType(n int) DataType {
	return DataType{Root: VarChar, Nullable: true, Length: n}
}
func BinaryType(n int) DataType { return DataType{Root: Binary, Nullable: true, Length: n} }
func VarBinaryType(n int) DataType {
	return DataType{Root: VarBinary, Nullable: true, Length: n}
}
func DecimalType(p, s int) DataType {
	return DataType{Root: Decimal, Nullable: true, Precision: p, Scale: s}
}
func TimeType(p int) DataType { return DataType{Root: Time, Nullable: true, Precision: p} }
func TimestampType(p int) DataType {
	return DataType{Root: Timestamp, Nullable: true, Precision: p}
}
func LocalZonedTimestampType(p int) DataType {
	return DataType{Root: LocalZonedTimestamp, Nullable: true, Precision: p}
}
func ArrayType(elem DataType) DataType {
	return DataType{Root: Array, Nullable: true, Elem: &elem}
}
func MultisetType(elem DataType) DataType {
	return DataType{Root: Multiset, Nullable: true, Elem: &elem}
}
func MapType(key, value DataType) DataType {
	return DataType{Root: Map, Nullable: true, Key: &key, Value: &value}
}
func RowType(fields ...DataField) DataType {
	return DataType{Root: Row, Nullable: true, Fields: fields}
}

// NotNull returns a copy of t that is not nullable.
func (t DataType) NotNull() DataType { t.Nullable = false; return t }

// WithNullable returns a copy of t with the given nullability.
func (t DataType) WithNullable(n bool) DataType { t.Nullable = n; return t }

// Equal reports whether two types are identical, including nullability and nested field ids.
func (t DataType) Equal(o DataType) bool {
	if t.Root != o.Root || t.Nullable != o.Nullable || t.Length != o.Length ||
		t.Precision != o.Precision || t.Scale != o.Scale || len(t.Fields) != len(o.Fields) {
		return false
	}
	if !eqPtr(t.Elem, o.Elem) || !eqPtr(t.Key, o.Key) || !eqPtr(t.Value, o.Value) {
		return false
	}
	for i := range t.Fields {
		a, b := t.Fields[i], o.Fields[i]
		if a.ID != b.ID || a.Name != b.Name || !a.Type.Equal(b.Type) ||
			!eqStr(a.Description, b.Description) || !eqStr(a.DefaultValue, b.DefaultValue) {
			return false
		}
	}
	return true
}

func eqPtr(a, b *DataType) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func eqStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// IsString reports CHAR and VARCHAR.
func (t DataType) IsString() bool { return t.Root == Char || t.Root == VarChar }

// IsBinary reports BINARY and VARBINARY.
func (t DataType) IsBinary() bool { return t.Root == Binary || t.Root == VarBinary }

// IsNested reports ARRAY, MAP, MULTISET, ROW, VECTOR and VARIANT.
func (t DataType) IsNested() bool {
	switch t.Root {
	case Array, Map, Multiset, Row, Vector, Variant:
		return true
	}
	return false
}

// FixedLength reports whether values of t fit in BinaryRow's 8-byte fixed slot
// (Paimon's BinaryRow.isInFixedLengthPart).
func (t DataType) FixedLength() bool {
	switch t.Root {
	case Boolean, TinyInt, SmallInt, Int, BigInt, Float, Double, Date, Time:
		return true
	case Decimal:
		return t.Precision <= 18
	case Timestamp, LocalZonedTimestamp:
		return t.Precision <= 3
	}
	return false
}

// String renders t as Paimon's SQL string (asSQLString), e.g. "DECIMAL(10, 2) NOT NULL".
func (t DataType) String() string {
	var b strings.Builder
	t.writeSQL(&b)
	return b.String()
}

func (t DataType) writeSQL(b *strings.Builder) {
	switch t.Root {
	case Boolean, TinyInt, SmallInt, Int, BigInt, Float, Double, Date, Variant, Blob:
		b.WriteString(t.Root.String())
	case Decimal:
		fmt.Fprintf(b, "DECIMAL(%d, %d)", t.Precision, t.Scale)
	case Char:
		fmt.Fprintf(b, "CHAR(%d)", t.Length)
	case VarChar:
		if t.Length == MaxLength {
			b.WriteString("STRING")
		} else {
			fmt.Fprintf(b, "VARCHAR(%d)", t.Length)
		}
	case Binary:
		fmt.Fprintf(b, "BINARY(%d)", t.Length)
	case VarBinary:
		if t.Length == MaxLength {
			b.WriteString("BYTES")
		} else {
			fmt.Fprintf(b, "VARBINARY(%d)", t.Length)
		}
	case Time:
		fmt.Fprintf(b, "TIME(%d)", t.Precision)
	case Timestamp:
		fmt.Fprintf(b, "TIMESTAMP(%d)", t.Precision)
	case LocalZonedTimestamp:
		fmt.Fprintf(b, "TIMESTAMP(%d) WITH LOCAL TIME ZONE", t.Precision)
	case Array, Multiset:
		b.WriteString(t.Root.String())
		b.WriteByte('<')
		t.Elem.writeSQL(b)
		b.WriteByte('>')
	case Vector:
		b.WriteString("VECTOR<")
		t.Elem.writeSQL(b)
		fmt.Fprintf(b, ", %d>", t.Length)
	case Map:
		b.WriteString("MAP<")
		t.Key.writeSQL(b)
		b.WriteString(", ")
		t.Value.writeSQL(b)
		b.WriteByte('>')
	case Row:
		b.WriteString("ROW<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(f.Name))
			b.WriteByte(' ')
			f.Type.writeSQL(b)
			if f.Description != nil {
				b.WriteString(" '")
				b.WriteString(strings.ReplaceAll(*f.Description, "'", "''"))
				b.WriteByte('\'')
			}
		}
		b.WriteByte('>')
	default:
		b.WriteString(t.Root.String())
	}
	if !t.Nullable {
		b.WriteString(" NOT NULL")
	}
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// FieldByName returns the index of the named field of a ROW type, or -1.
func FieldByName(fields []DataField, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// FieldByID returns the index of the field with the given id, or -1.
func FieldByID(fields []DataField, id int) int {
	for i, f := range fields {
		if f.ID == id {
			return i
		}
	}
	return -1
}

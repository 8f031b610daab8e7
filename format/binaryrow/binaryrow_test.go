package binaryrow

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/tarnlake/tarn/format/types"
)

// Serialized rows copied from the manifest
// ../shared/fixtures/paimon-java-pk-dv/test_pk_global_index_golden/manifest/manifest-e97249bb-3e2f-4f2d-92d5-cae38204fb7e-0
// (written by Apache Paimon 2.x), as fastavro decodes them.
var (
	goldenEmptyPartition = []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	goldenMinKey         = []byte("\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00")
	goldenValueMin       = []byte("\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00name-1\x00\x86even\x00\x00\x00\x84")
	goldenValueMax       = []byte("\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00name-2\x00\x86odd\x00\x00\x00\x00\x83")
)

var fixtureFields = []types.DataField{
	{ID: 0, Name: "id", Type: types.IntType().NotNull()},
	{ID: 1, Name: "name", Type: types.StringType()},
	{ID: 2, Name: "category", Type: types.StringType()},
}

func TestGoldenRows(t *testing.T) {
	tests := []struct {
		name   string
		bytes  []byte
		fields []types.DataField
		values []any
	}{
		{"empty partition", goldenEmptyPartition, nil, []any{}},
		{"min key", goldenMinKey, fixtureFields[:1], []any{int32(1)}},
		{"value stats min", goldenValueMin, fixtureFields, []any{int32(1), "name-1", "even"}},
		{"value stats max", goldenValueMax, fixtureFields, []any{int32(2), "name-2", "odd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Deserialize(tt.bytes)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Values(tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if Compare(got[i], tt.values[i]) != 0 {
					t.Errorf("field %d = %v, want %v", i, got[i], tt.values[i])
				}
			}
			enc, err := Encode(tt.fields, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc.Serialize(), tt.bytes) {
				t.Errorf("encoded %x\n    want %x", enc.Serialize(), tt.bytes)
			}
			if !bytes.Equal(r.Serialize(), tt.bytes) {
				t.Errorf("re-serialized %x", r.Serialize())
			}
		})
	}
}

func dec(s string, scale int) Decimal {
	v, _ := new(big.Int).SetString(s, 10)
	return Decimal{Unscaled: v, Scale: scale}
}

// Every supported type survives encode/decode, including the long forms (strings over 7
// bytes, DECIMAL precision > 18, TIMESTAMP precision > 3) and their nulls.
func TestRoundTripAllTypes(t *testing.T) {
	fields := []types.DataField{
		{Name: "b", Type: types.BooleanType()},
		{Name: "t", Type: types.TinyIntType()},
		{Name: "s", Type: types.SmallIntType()},
		{Name: "i", Type: types.IntType()},
		{Name: "l", Type: types.BigIntType()},
		{Name: "f", Type: types.FloatType()},
		{Name: "d", Type: types.DoubleType()},
		{Name: "dc", Type: types.DecimalType(10, 2)},
		{Name: "dl", Type: types.DecimalType(38, 10)},
		{Name: "str", Type: types.StringType()},
		{Name: "bin", Type: types.BytesType()},
		{Name: "date", Type: types.DateType()},
		{Name: "time", Type: types.TimeType(3)},
		{Name: "ts3", Type: types.TimestampType(3)},
		{Name: "ts9", Type: types.TimestampType(9)},
		{Name: "ltz6", Type: types.LocalZonedTimestampType(6)},
	}
	rows := [][]any{
		{true, int8(-3), int16(300), int32(-7), int64(1) << 40, float32(1.5), -2.25,
			dec("-12345", 2), dec("-123456789012345678901234567890", 10), "a longer string than seven",
			[]byte{1, 2, 3}, Date(19000), Time(3600_000), Timestamp{Millis: 1700000000123},
			Timestamp{Millis: 1700000000123, NanoOfMilli: 456789}, Timestamp{Millis: -5, NanoOfMilli: 999000}},
		make([]any, len(fields)),
	}
	for _, values := range rows {
		r, err := Encode(fields, values)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Bytes())%8 != 0 {
			t.Fatalf("row size %d not word aligned", len(r.Bytes()))
		}
		back, err := Deserialize(r.Serialize())
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.Values(fields)
		if err != nil {
			t.Fatal(err)
		}
		for i := range values {
			if (values[i] == nil) != (got[i] == nil) || values[i] != nil && Compare(got[i], values[i]) != 0 {
				t.Errorf("%s: got %v, want %v", fields[i].Name, got[i], values[i])
			}
		}
	}
}

// Null long decimals and timestamps still reserve their variable part and point at it,
// as Paimon's writer does; the row's size proves it.
func TestNullLongFormsReserveSpace(t *testing.T) {
	fields := []types.DataField{{Name: "d", Type: types.DecimalType(38, 2)}, {Name: "ts", Type: types.TimestampType(6)}}
	r, err := Encode(fields, []any{nil, nil})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Bytes()), FixedSize(2)+16+8; got != want {
		t.Fatalf("size %d, want %d", got, want)
	}
	if !r.IsNullAt(0) || !r.IsNullAt(1) || r.GetLong(0)>>32 != int64(FixedSize(2)) {
		t.Fatalf("null slots %x", r.Bytes())
	}
}

func TestTwosComplement(t *testing.T) {
	tests := []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0}}, {1, []byte{1}}, {127, []byte{0x7f}}, {128, []byte{0, 0x80}},
		{-1, []byte{0xff}}, {-128, []byte{0x80}}, {-129, []byte{0xff, 0x7f}}, {-256, []byte{0xff, 0x00}},
	}
	for _, tt := range tests {
		got := toTwosComplement(big.NewInt(tt.v))
		if !bytes.Equal(got, tt.want) {
			t.Errorf("toTwosComplement(%d) = %x, want %x", tt.v, got, tt.want)
		}
		if back := fromTwosComplement(got); back.Int64() != tt.v {
			t.Errorf("fromTwosComplement(%x) = %v", got, back)
		}
	}
}

func TestCorruptRows(t *testing.T) {
	for _, b := range [][]byte{nil, {0, 0, 0}, {0, 0, 0, 5, 0, 0}, {0x80, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := Deserialize(b); err == nil {
			t.Errorf("Deserialize(%x) succeeded", b)
		}
	}
	// A string slot pointing outside the row.
	w := NewWriter(1)
	w.Reset()
	w.WriteLong(0, int64(1000)<<32|20)
	if _, err := w.Row().GetBytes(0); err == nil {
		t.Error("out-of-range string accepted")
	}
}

func TestDecimalString(t *testing.T) {
	for _, tt := range []struct {
		d    Decimal
		want string
	}{{dec("1230", 2), "12.30"}, {dec("-5", 2), "-0.05"}, {dec("7", 0), "7"}, {dec("0", 3), "0.000"}} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// Reference values of MurmurHashUtils computed by the algorithm's definition; bucket
// numbers against Paimon itself are checked by the compatibility suite.
func TestBucketOfHashJavaSemantics(t *testing.T) {
	if BucketOfHash(-7, 4) != 3 || BucketOfHash(7, 4) != 3 || BucketOfHash(-2147483648, 3) != 2 {
		t.Fatal("Math.abs(hash % n) semantics")
	}
}

func FuzzDeserialize(f *testing.F) {
	for _, b := range [][]byte{goldenEmptyPartition, goldenMinKey, goldenValueMin, goldenValueMax} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Deserialize(b)
		if err != nil {
			return
		}
		for i := 0; i < r.Arity(); i++ {
			for _, ty := range []types.DataType{types.StringType(), types.DecimalType(38, 2), types.TimestampType(9), types.BigIntType()} {
				_, _ = r.Get(i, ty)
			}
		}
	})
}

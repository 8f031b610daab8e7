package datafile

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// memSource is an in-memory Source.
type memSource struct{ *bytes.Reader }

func (m memSource) Size() int64 { return m.Reader.Size() }

func field(id int, name string, t types.DataType) types.DataField {
	return types.DataField{ID: id, Name: name, Type: t}
}

// testFields are the types every format holds; ts9 is added for ORC and Parquet.
func testFields(format string) []types.DataField {
	inner := types.RowType(field(31, "e", types.DateType()), field(32, "f", types.TimestampType(3)))
	fs := []types.DataField{
		field(0, "id", types.IntType().NotNull()),
		field(1, "c_bool", types.BooleanType()),
		field(2, "c_tinyint", types.TinyIntType()),
		field(3, "c_smallint", types.SmallIntType()),
		field(4, "c_int", types.IntType()),
		field(5, "c_bigint", types.BigIntType()),
		field(6, "c_float", types.FloatType()),
		field(7, "c_double", types.DoubleType()),
		field(8, "c_dec10", types.DecimalType(10, 2)),
		field(9, "c_dec38", types.DecimalType(38, 10)),
		field(10, "c_char", types.CharType(5)),
		field(11, "c_varchar", types.VarCharType(20)),
		field(12, "c_string", types.StringType()),
		field(13, "c_binary", types.BinaryType(4)),
		field(14, "c_bytes", types.BytesType()),
		field(15, "c_date", types.DateType()),
		field(16, "c_time", types.TimeType(3)),
		field(17, "c_ts3", types.TimestampType(3)),
		field(18, "c_ts6", types.TimestampType(6)),
		field(19, "c_ltz3", types.LocalZonedTimestampType(3)),
		field(20, "c_ltz6", types.LocalZonedTimestampType(6)),
		field(21, "c_array", types.ArrayType(types.IntType())),
		field(22, "c_array_string", types.ArrayType(types.StringType())),
		field(23, "c_map", types.MapType(types.StringType().NotNull(), types.BigIntType())),
		field(24, "c_map_int", types.MapType(types.IntType().NotNull(), types.StringType())),
		field(25, "c_multiset", types.MultisetType(types.StringType().NotNull())),
		field(26, "c_row", types.RowType(field(27, "a", types.IntType()), field(28, "b", types.StringType()),
			field(29, "c", types.ArrayType(types.DoubleType())), field(30, "d", inner))),
		field(33, "c_big_notnull", types.BigIntType().NotNull()),
	}
	if format != FormatAvro {
		fs = append(fs, field(34, "c_ts9", types.TimestampType(9)), field(35, "c_ltz9", types.LocalZonedTimestampType(9)))
	}
	return fs
}

// randomBatch builds n rows of random values (about a fifth null where nullable).
func randomBatch(t testing.TB, fields []types.DataField, n int, seed uint64) arrow.RecordBatch {
	t.Helper()
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(seed, 7))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, f := range fields {
		for r := 0; r < n; r++ {
			if f.ID == 0 {
				b.Field(i).(*array.Int32Builder).Append(int32(r))
				continue
			}
			appendRandom(rnd, b.Field(i), f.Type, 0)
		}
	}
	return b.NewRecordBatch()
}

var words = []string{"", "a", "plain", "quote\" \\", "中文", "emoji😀", "tab\tx", strings.Repeat("long", 9)}

func appendRandom(rnd *rand.Rand, b array.Builder, t types.DataType, depth int) {
	if t.Nullable && rnd.IntN(5) == 0 {
		b.AppendNull()
		return
	}
	// Timestamps from 1900 to 2200, avoiding the second before 1970 (ORC cannot tell
	// -0.5 s from +0.5 s).
	tsNanos := func() int64 {
		v := rnd.Int64N(300*365*86400) - 70*365*86400
		if v == -1 {
			v = -2
		}
		return v*1_000_000_000 + rnd.Int64N(1_000_000_000)
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(rnd.IntN(2) == 0)
	case *array.Int8Builder:
		bb.Append(int8(rnd.Uint32()))
	case *array.Int16Builder:
		bb.Append(int16(rnd.Uint32()))
	case *array.Int32Builder:
		if rnd.IntN(4) == 0 {
			bb.Append(int32(rnd.IntN(5))) // runs
		} else {
			bb.Append(int32(rnd.Uint32()))
		}
	case *array.Int64Builder:
		switch rnd.IntN(4) {
		case 0:
			bb.Append(-1 << 63)
		case 1:
			bb.Append(int64(rnd.IntN(1000)))
		default:
			bb.Append(int64(rnd.Uint64()))
		}
	case *array.Float32Builder:
		bb.Append(rnd.Float32()*2e6 - 1e6)
	case *array.Float64Builder:
		bb.Append(rnd.NormFloat64() * 1e10)
	case *array.Decimal128Builder:
		p := t.Precision
		hi := decimal128.FromU64(1)
		for i := 0; i < p; i++ {
			hi = hi.Mul(decimal128.FromU64(10))
		}
		v := decimal128.FromI64(rnd.Int64()).Mul(decimal128.FromI64(rnd.Int64()))
		_, v = v.Div(hi) // |v| < 10^p
		bb.Append(v)
	case *array.StringBuilder:
		w := words[rnd.IntN(len(words))]
		if t.Root == types.Char || t.Length < 100 {
			r := []rune(w)
			if len(r) > t.Length {
				r = r[:t.Length]
			}
			w = strings.TrimRight(string(r), " ")
		}
		bb.Append(w)
	case *array.BinaryBuilder:
		n := rnd.IntN(12)
		if t.Root == types.Binary {
			n = t.Length
		}
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(rnd.Uint32())
		}
		bb.Append(v)
	case *array.Date32Builder:
		bb.Append(arrow.Date32(rnd.IntN(200000) - 100000))
	case *array.Time32Builder:
		bb.Append(arrow.Time32(rnd.IntN(86_400_000)))
	case *array.TimestampBuilder:
		unit := bb.Type().(*arrow.TimestampType).Unit
		if unit != arrow.Nanosecond && rnd.IntN(8) == 0 {
			// years 0001 and 9999, beyond nanosecond timestamps
			v := []int64{-62135596800, 253402300799}[rnd.IntN(2)] * 1_000
			if unit == arrow.Microsecond {
				v = v*1_000 + 999_999
			}
			bb.Append(arrow.Timestamp(v))
			return
		}
		ns := tsNanos()
		switch unit {
		case arrow.Millisecond:
			bb.Append(arrow.Timestamp(floorDiv(ns, 1e6)))
		case arrow.Microsecond:
			bb.Append(arrow.Timestamp(floorDiv(ns, 1e3)))
		default:
			bb.Append(arrow.Timestamp(ns))
		}
	case *array.ListBuilder:
		bb.Append(true)
		for i := rnd.IntN(4); i > 0; i-- {
			appendRandom(rnd, bb.ValueBuilder(), *t.Elem, depth+1)
		}
	case *array.MapBuilder:
		bb.Append(true)
		kt, vt := mapKeyValue(t)
		seen := map[string]bool{}
		for i := rnd.IntN(4); i > 0; i-- {
			k := fmt.Sprint("k", rnd.IntN(100))
			if seen[k] {
				continue
			}
			seen[k] = true
			switch kb := bb.KeyBuilder().(type) {
			case *array.StringBuilder:
				kb.Append(k)
			default:
				appendRandom(rnd, kb, kt, depth+1)
			}
			appendRandom(rnd, bb.ItemBuilder(), vt, depth+1)
		}
	case *array.StructBuilder:
		bb.Append(true)
		for i, f := range t.Fields {
			appendRandom(rnd, bb.FieldBuilder(i), f.Type, depth+1)
		}
	default:
		panic(fmt.Sprintf("no random values for %T", b))
	}
}

func writeFile(t testing.TB, format string, fields []types.DataField, o WriterOptions, batches ...arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewFileWriter(&buf, format, fields, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, format string, data []byte, fields []types.DataField, batchSize int) []arrow.RecordBatch {
	t.Helper()
	f, err := OpenDataFile(memSource{bytes.NewReader(data)}, "test."+format, format, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := f.ReadFields(context.Background(), fields, batchSize)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func concatColumn(t testing.TB, batches []arrow.RecordBatch, i int) arrow.Array {
	t.Helper()
	var cols []arrow.Array
	for _, b := range batches {
		cols = append(cols, b.Column(i))
	}
	a, err := array.Concatenate(cols, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Every type survives a write and a read in each format and codec, across batch and
// stripe/block boundaries.
func TestRoundTripFormats(t *testing.T) {
	cases := []struct {
		format, compression string
	}{
		{FormatORC, "zstd"}, {FormatORC, "snappy"}, {FormatORC, "lz4"}, {FormatORC, "zlib"}, {FormatORC, "none"},
		{FormatAvro, "zstd"}, {FormatAvro, "snappy"}, {FormatAvro, "deflate"}, {FormatAvro, "none"},
		{FormatParquet, "zstd"},
	}
	for _, c := range cases {
		t.Run(c.format+"/"+c.compression, func(t *testing.T) {
			fields := testFields(c.format)
			b1 := randomBatch(t, fields, 700, 1)
			defer b1.Release()
			b2 := randomBatch(t, fields, 1500, 2)
			defer b2.Release()
			data := writeFile(t, c.format, fields, WriterOptions{Compression: c.compression}, b1, b2)
			got := readFile(t, c.format, data, fields, 1000)
			defer func() {
				for _, b := range got {
					b.Release()
				}
			}()
			var rows int64
			for _, b := range got {
				rows += b.NumRows()
			}
			if rows != 2200 {
				t.Fatalf("read %d rows, wrote 2200", rows)
			}
			for i, f := range fields {
				want, err := array.Concatenate([]arrow.Array{b1.Column(i), b2.Column(i)}, memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				have := concatColumn(t, got, i)
				if !array.Equal(want, have) {
					t.Errorf("column %s differs:\nwant %v\nhave %v", f.Name, want, have)
				}
				want.Release()
				have.Release()
			}
		})
	}
}

// Reading a subset of fields in another order, a field the file lacks (nulls), a widened
// column and key fields by id.
func TestReadProjectionAndEvolution(t *testing.T) {
	value := []types.DataField{
		field(0, "id", types.IntType().NotNull()),
		field(1, "name", types.StringType()),
		field(2, "small", types.IntType()),
		field(3, "f", types.FloatType()),
	}
	fields := KeyValueFields(value[:1], value)
	for _, format := range []string{FormatORC, FormatAvro, FormatParquet} {
		t.Run(format, func(t *testing.T) {
			schema, _ := types.ArrowSchema(fields)
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			defer b.Release()
			for i := 0; i < 10; i++ {
				b.Field(0).(*array.Int32Builder).Append(int32(i))
				b.Field(1).(*array.Int64Builder).Append(int64(100 + i))
				b.Field(2).(*array.Int8Builder).Append(KindInsert)
				b.Field(3).(*array.Int32Builder).Append(int32(i))
				b.Field(4).(*array.StringBuilder).Append(fmt.Sprint("n", i))
				b.Field(5).(*array.Int32Builder).Append(int32(-i))
				b.Field(6).(*array.Float32Builder).Append(float32(i) / 2)
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			data := writeFile(t, format, fields, WriterOptions{}, rec)
			read := []types.DataField{
				field(3, "f", types.DoubleType()),
				field(2, "small", types.BigIntType()),
				field(9, "added", types.StringType()),
				KeyField(value[0]),
				SequenceField(),
			}
			got := readFile(t, format, data, read, 0)
			if len(got) != 1 {
				t.Fatalf("%d batches", len(got))
			}
			r := got[0]
			defer r.Release()
			if v := r.Column(0).(*array.Float64).Value(3); v != 1.5 {
				t.Errorf("widened float = %v", v)
			}
			if v := r.Column(1).(*array.Int64).Value(4); v != -4 {
				t.Errorf("widened int = %v", v)
			}
			if r.Column(2).NullN() != 10 {
				t.Errorf("added column has %d nulls", r.Column(2).NullN())
			}
			if v := r.Column(3).(*array.Int32).Value(7); v != 7 {
				t.Errorf("key = %v", v)
			}
			if v := r.Column(4).(*array.Int64).Value(9); v != 109 {
				t.Errorf("sequence = %v", v)
			}
		})
	}
}

// Avro files carry names, not ids: with the file's schema a renamed field is found by id.
func TestAvroRenamedField(t *testing.T) {
	old := []types.DataField{field(0, "id", types.IntType().NotNull()), field(1, "b", types.StringType())}
	schema, _ := types.ArrowSchema(old)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).Append(1)
	b.Field(1).(*array.StringBuilder).Append("x")
	rec := b.NewRecordBatch()
	defer rec.Release()
	data := writeFile(t, FormatAvro, old, WriterOptions{}, rec)
	f, err := OpenAvro(memSource{bytes.NewReader(data)}, "t.avro", OpenOptions{FileFields: old})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Read(context.Background(), []types.DataField{field(1, "b_renamed", types.StringType())}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if v := got[0].Column(0).(*array.String).Value(0); v != "x" {
		t.Errorf("renamed field = %q", v)
	}
	got[0].Release()
}

// Writers refuse what Paimon cannot write in a format, naming it.
func TestWriterRefusals(t *testing.T) {
	cases := []struct {
		format string
		f      types.DataField
		o      WriterOptions
		want   string
	}{
		{FormatAvro, field(0, "ts", types.TimestampType(9)), WriterOptions{}, "precision above 6"},
		{FormatAvro, field(0, "t", types.TimeType(6)), WriterOptions{}, "precision above 3"},
		{FormatAvro, field(0, "bad-name", types.IntType()), WriterOptions{}, "not a valid Avro name"},
		{FormatAvro, field(0, "a", types.IntType()), WriterOptions{Compression: "gzip"}, "not supported for avro"},
		{FormatORC, field(0, "a", types.IntType()), WriterOptions{Compression: "gzip"}, "not supported for orc"},
	}
	for _, c := range cases {
		_, err := NewFileWriter(&bytes.Buffer{}, c.format, []types.DataField{c.f}, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: err = %v, want %q", c.format, c.f.Type, err, c.want)
		}
	}
}

// The schema Paimon's AvroSchemaConverter gives the reference tables.
func TestAvroSchemaConventions(t *testing.T) {
	got, err := AvroSchema([]types.DataField{
		field(0, "id", types.IntType().NotNull()),
		field(1, "r", types.RowType(field(2, "d", types.DecimalType(10, 2)))),
		field(3, "m", types.MapType(types.IntType().NotNull(), types.StringType())),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"record","name":"org.apache.paimon.avro.generated.record","fields":[` +
		`{"name":"id","type":"int"},` +
		`{"name":"r","type":["null",{"type":"record","name":"org.apache.paimon.avro.generated.record_r","fields":[{"name":"d","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}],"default":null}]}],"default":null},` +
		`{"name":"m","type":["null",{"type":"array","logicalType":"map","items":{"type":"record","name":"org.apache.paimon.avro.generated.record_m","fields":[{"name":"key","type":"int"},{"name":"value","type":["null","string"],"default":null}]}}],"default":null}]}`
	if got != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
}

// ORC types carry Paimon's field ids, nested ones included.
func TestORCTypeIDs(t *testing.T) {
	ts, err := ORCTypes([]types.DataField{
		field(25, "c_array", types.ArrayType(types.IntType())),
		field(27, "c_map", types.MapType(types.StringType().NotNull(), types.BigIntType())),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "25", "536896512", "27", "536843262", "536898560"} // as Paimon 1.4.2 writes
	for i, w := range want {
		got, _ := ts[i].Attribute(ORCFieldIDKey)
		if got != w {
			t.Errorf("type %d (%s): paimon.id %q, want %q", i, ts[i].Kind, got, w)
		}
	}
}

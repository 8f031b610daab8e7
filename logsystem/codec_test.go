package logsystem_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/render"
)

// layoutBatch reads JSON Lines into a batch in table layout: the columns, then
// _SEQUENCE_NUMBER (from 100) and _VALUE_KIND (from _ROW_KIND).
func layoutBatch(t testing.TB, fields []types.DataField, jsonl string) arrow.RecordBatch {
	t.Helper()
	r, err := render.NewJSONLReader(strings.NewReader(jsonl), fields, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	n := int(b.NumRows())
	sb := array.NewInt64Builder(memory.DefaultAllocator)
	kb := array.NewInt8Builder(memory.DefaultAllocator)
	kinds := b.Column(int(b.NumCols()) - 1).(*array.String)
	for i := 0; i < n; i++ {
		sb.Append(int64(100 + i))
		k := datafile.KindInsert
		if kinds.IsValid(i) {
			k, _ = datafile.ParseKind(kinds.Value(i))
		}
		kb.Append(k)
	}
	cols := append([]arrow.Array{}, b.Columns()[:len(fields)]...)
	cols = append(cols, sb.NewArray(), kb.NewArray())
	schema, err := types.ArrowSchema(append(append([]types.DataField{}, fields...), datafile.SequenceField(), datafile.ValueKindField()))
	if err != nil {
		t.Fatal(err)
	}
	return array.NewRecordBatch(schema, cols, int64(n))
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		columns string
		keys    []int
		rows    string
	}{
		{"primitives", "id BIGINT NOT NULL, b BOOLEAN, t TINYINT, s SMALLINT, i INT, f FLOAT, d DOUBLE, str STRING, bin BYTES", []int{0},
			`{"id":1,"b":true,"t":-7,"s":300,"i":-70000,"f":1.5,"d":-2.25,"str":"héllo","bin":"AAEC"}
{"id":-9223372036854775808,"b":false,"t":127,"s":-32768,"i":2147483647,"f":-0.0,"d":1e300,"str":"","bin":""}
{"id":3,"b":null,"t":null,"s":null,"i":null,"f":null,"d":null,"str":null,"bin":null,"_ROW_KIND":"-D"}`},
		{"decimals and time", "k INT NOT NULL, d1 DECIMAL(10,2), d2 DECIMAL(38,10), dt DATE, tm TIME, ts3 TIMESTAMP(3), ts6 TIMESTAMP(6), ts9 TIMESTAMP(9), ltz TIMESTAMP_LTZ(6)", []int{0},
			`{"k":1,"d1":"12345678.90","d2":"-1234567890123456789012345678.0123456789","dt":"2026-11-26","tm":"12:34:56","ts3":"2026-11-26 12:34:56.789","ts6":"1969-12-31 23:59:59.999999","ts9":"2026-11-26 12:34:56.123456789","ltz":"2026-11-26 12:34:56.5"}
{"k":2,"d1":null,"d2":null,"dt":null,"tm":null,"ts3":null,"ts6":null,"ts9":null,"ltz":null,"_ROW_KIND":"+U"}`},
		{"nested", "k STRING NOT NULL, a ARRAY<INT>, m MAP<STRING, BIGINT>, r ROW<x INT, y STRING>", []int{0},
			`{"k":"a","a":[1,null,3],"m":[["x",1],["y",null]],"r":{"x":5,"y":"z"}}
{"k":"b","a":[],"m":[],"r":{"x":null,"y":null}}
{"k":"c","a":null,"m":null,"r":null}`},
		{"append-only, no key", "v STRING", nil, `{"v":"x"}
{"v":null}`},
		{"composite key", "a INT NOT NULL, b STRING NOT NULL, c DOUBLE", []int{1, 0}, `{"a":1,"b":"x","c":1}
{"a":2,"b":"a long key string over seven bytes","c":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields, err := types.ParseColumns(tc.columns)
			if err != nil {
				t.Fatal(err)
			}
			for i := range fields {
				fields[i].ID = i
			}
			in := layoutBatch(t, fields, tc.rows)
			defer in.Release()
			enc := logsystem.NewRowEncoder(fields, 7, tc.keys)
			if err := enc.Reset(in); err != nil {
				t.Fatal(err)
			}
			dec, err := logsystem.NewRowDecoder(fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Release()
			part := []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0}
			var kinds []int8
			for i := 0; i < int(in.NumRows()); i++ {
				key := enc.Key(nil, i)
				if tc.keys == nil && key != nil {
					t.Fatalf("row %d: key %x for a table without a primary key", i, key)
				}
				if tc.keys != nil {
					vals := make([]any, len(tc.keys))
					kf := make([]types.DataField, len(tc.keys))
					for j, k := range tc.keys {
						kf[j] = fields[k]
						vals[j] = scalar(in.Column(k), i)
					}
					want, err := binaryrow.Encode(kf, vals)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(key, want.Bytes()) {
						t.Fatalf("row %d key %x, want BinaryRow %x", i, key, want.Bytes())
					}
				}
				v := enc.Value(nil, part, i)
				d, err := logsystem.Decode(v)
				if err != nil || d.Row == nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if d.Row.Sequence != int64(100+i) || d.Row.SchemaID != 7 || !bytes.Equal(d.Row.Partition, part) {
					t.Fatalf("row %d header %+v", i, d.Row)
				}
				kinds = append(kinds, d.Row.Kind)
				if err := dec.Append(d.Row); err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
			}
			out := dec.NewBatch()
			defer out.Release()
			for c := range fields {
				for i := 0; i < int(in.NumRows()); i++ {
					if got, want := out.Column(c).ValueStr(i), in.Column(c).ValueStr(i); got != want {
						t.Errorf("column %s row %d: %s, want %s", fields[c].Name, i, got, want)
					}
				}
			}
			wantKinds := in.Column(len(fields) + 1).(*array.Int8).Int8Values()
			if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
				t.Fatalf("kinds %v, want %v", kinds, wantKinds)
			}
		})
	}
}

func scalar(a arrow.Array, i int) any {
	switch a := a.(type) {
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	}
	panic(fmt.Sprintf("scalar of %s", a.DataType()))
}

// TestCodecGolden pins the bytes of version 1 (docs/logsystem.md).
func TestCodecGolden(t *testing.T) {
	fields, _ := types.ParseColumns("id INT NOT NULL, name STRING, score DOUBLE")
	in := layoutBatch(t, fields, `{"id":5,"name":"ab","score":null,"_ROW_KIND":"+U"}`)
	defer in.Release()
	enc := logsystem.NewRowEncoder(fields, 1, []int{0})
	if err := enc.Reset(in); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ what, got, want string }{
		{"key", hex.EncodeToString(enc.Key(nil, 0)), "00000000000000000500000000000000"},
		{"value", hex.EncodeToString(enc.Value(nil, nil, 0)), "01000264010004" + "0a" + "026162"},
		{"marker", hex.EncodeToString(logsystem.AppendMarker(nil, logsystem.Marker{Snapshot: 300, Rows: 2, Partitions: 4})), "0101ac02" + "02" + "04"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", nil},
		{"one byte", []byte{1}},
		{"other version", []byte{2, 0, 0, 0, 0, 0}},
		{"unknown type", []byte{1, 9}},
		{"bad kind", []byte{1, 0, 7, 0, 0, 0}},
		{"truncated varint", []byte{1, 0, 0, 0x80}},
		{"truncated partition", []byte{1, 0, 0, 1, 1, 20, 0}},
		{"truncated marker", []byte{1, 1, 0x80}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := logsystem.Decode(tc.value); err == nil {
				t.Fatalf("Decode(%x) succeeded", tc.value)
			}
		})
	}
	fields, _ := types.ParseColumns("id INT NOT NULL, name STRING")
	dec, _ := logsystem.NewRowDecoder(fields, nil)
	defer dec.Release()
	for _, body := range [][]byte{{}, {0, 0x80}, {0, 2, 5, 'a'}, {0, 2, 2, 'a', 'b', 9}} {
		d, err := logsystem.Decode(append([]byte{1, 0, 0, 0, 0, 0}, body...))
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Append(d.Row); err == nil {
			t.Errorf("body %x decoded", body)
		}
	}
}

func FuzzDecode(f *testing.F) {
	fields, _ := types.ParseColumns("id BIGINT NOT NULL, s STRING, a ARRAY<INT>, m MAP<STRING, DOUBLE>, r ROW<x INT, y BYTES>, d DECIMAL(38, 4)")
	in := layoutBatch(f, fields, `{"id":1,"s":"x","a":[1,null],"m":[["k",1.5]],"r":{"x":1,"y":"AA=="},"d":"1.5"}`)
	enc := logsystem.NewRowEncoder(fields, 0, []int{0})
	if err := enc.Reset(in); err != nil {
		f.Fatal(err)
	}
	f.Add(enc.Value(nil, nil, 0))
	f.Add(logsystem.AppendMarker(nil, logsystem.Marker{Snapshot: 1, Rows: 1, Partitions: 1}))
	in.Release()
	f.Fuzz(func(t *testing.T, v []byte) {
		d, err := logsystem.Decode(v)
		if err != nil || d.Row == nil {
			return
		}
		dec, err := logsystem.NewRowDecoder(fields, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Release()
		_ = dec.Append(d.Row)
	})
}

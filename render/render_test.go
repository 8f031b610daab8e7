package render

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// The canonical forms of docs/compat.md, value by value.
func TestCanonicalScalars(t *testing.T) {
	tests := []struct {
		typ  string
		json string // Arrow JSON input
		want string
	}{
		{"DOUBLE", `1.0`, `1`},
		{"DOUBLE", `0.1`, `0.1`},
		{"DOUBLE", `1e21`, `1e+21`},
		{"DOUBLE", `1e20`, `100000000000000000000`},
		{"DOUBLE", `1e-7`, `1e-7`},
		{"DOUBLE", `0.000001`, `0.000001`},
		{"DOUBLE", `-2.5e-8`, `-2.5e-8`},
		{"FLOAT", `0.1`, `0.1`},
		{"FLOAT", `3.14159`, `3.14159`},
		{"DECIMAL(10, 2)", `"12.30"`, `"12.30"`},
		{"DECIMAL(10, 2)", `"-0.05"`, `"-0.05"`},
		{"DECIMAL(38, 10)", `"-9999999999999999999999999999.9999999999"`, `"-9999999999999999999999999999.9999999999"`},
		{"DATE", `"1969-12-31"`, `"1969-12-31"`},
		{"TIME(0)", `"23:59:59"`, `"23:59:59"`},
		{"TIME(3)", `"00:00:00.5"`, `"00:00:00.500"`},
		{"TIMESTAMP(0)", `"2000-02-29T12:34:56"`, `"2000-02-29T12:34:56"`},
		{"TIMESTAMP(3)", `"1969-12-31T23:59:59.999"`, `"1969-12-31T23:59:59.999"`},
		{"TIMESTAMP(6)", `"2000-02-29T12:34:56.000001"`, `"2000-02-29T12:34:56.000001"`},
		{"TIMESTAMP(9)", `"1969-12-31T23:59:59.999999999"`, `"1969-12-31T23:59:59.999999999"`},
		{"TIMESTAMP_LTZ(3)", `"2000-02-29T12:34:56.123Z"`, `"2000-02-29T12:34:56.123Z"`},
		{"BYTES", `"AAEC"`, `"AAEC"`},
		{"STRING", `"tab\tnl\nctl\u0001\b\f q\" b\\ <&> \u2028"`, `"tab\tnl\nctl\u0001\b\f q\" b\\ <&> \u2028"`},
		{"BOOLEAN", `true`, `true`},
		{"BIGINT", `-9223372036854775808`, `-9223372036854775808`},
		{"ARRAY<INT>", `[1, null, 3]`, `[1,null,3]`},
		{"MAP<STRING, INT>", `[{"key":"b","value":2},{"key":"a","value":null}]`, `[["a",null],["b",2]]`},
		{"ROW<x INT, y STRING>", `{"x":1,"y":null}`, `{"x":1,"y":null}`},
		{"INT", `null`, `null`},
	}
	for _, tt := range tests {
		typ := types.MustParse(tt.typ)
		f := types.DataField{ID: 0, Name: "c", Type: typ}
		if typ.Root == types.Row {
			next := 1
			types.AssignFieldIDs(typ.Fields, &next)
			f.Type = typ
		}
		schema, err := types.ArrowSchema([]types.DataField{f})
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(`[{"c":`+tt.json+`}]`))
		if err != nil {
			t.Fatalf("%s %s: %v", tt.typ, tt.json, err)
		}
		got, err := AppendJSON(nil, rec.Column(0), 0, f.Type)
		rec.Release()
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %s: got %s (%v), want %s", tt.typ, tt.json, got, err, tt.want)
		}
	}
}

func TestFloatSpecials(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		bits int
		want string
	}{
		{math.NaN(), 64, `"NaN"`}, {math.Inf(1), 64, `"Infinity"`}, {math.Inf(-1), 32, `"-Infinity"`},
		{math.Copysign(0, -1), 64, `-0`}, {5e-324, 64, `5e-324`}, {math.MaxFloat64, 64, `1.7976931348623157e+308`},
		{float64(float32(1e-7)), 32, `1e-7`},
	} {
		if got := string(appendFloat(nil, tt.v, tt.bits)); got != tt.want {
			t.Errorf("appendFloat(%v, %d) = %s, want %s", tt.v, tt.bits, got, tt.want)
		}
	}
}

// JSON Lines written sort canonically (by key, nulls first, then the whole line) and read
// back through the decoder unchanged.
func TestJSONLRoundTripSorted(t *testing.T) {
	fields, err := types.ParseColumns("id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2), tags ARRAY<STRING>, m MAP<STRING, INT>")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"id":3,"name":"c","amount":"1.50","tags":["x"],"m":[["k",1]]}
{"id":-1,"name":null,"amount":null,"tags":null,"m":null}
{"id":2,"name":"b","amount":"-0.05","tags":[],"m":[]}
`
	r, err := NewJSONLReader(strings.NewReader(in), fields, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	proj := array.NewRecordBatch(arrow.NewSchema(b.Schema().Fields()[:len(fields)], nil), b.Columns()[:len(fields)], b.NumRows())
	defer proj.Release()
	var out bytes.Buffer
	w, err := NewWriter(&out, JSONL, fields, true, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(proj); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"id":-1,"name":null,"amount":null,"tags":null,"m":null}
{"id":2,"name":"b","amount":"-0.05","tags":[],"m":[]}
{"id":3,"name":"c","amount":"1.50","tags":["x"],"m":[["k",1]]}
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestDecodeErrors(t *testing.T) {
	fields, _ := types.ParseColumns("id INT NOT NULL, d DECIMAL(5,2), ts TIMESTAMP(9)")
	for _, line := range []string{
		`not json`, `{"id":"x"}`, `{"id":3000000000}`, `{"id":1,"d":"1.234"}`, `{"id":1,"d":"12345.6"}`,
		`{"id":1,"ts":"0001-01-01T00:00:00"}`, `{"id":1,"nope":1}`, `{"id":1,"_ROW_KIND":3}`,
	} {
		r, err := NewJSONLReader(strings.NewReader(line), fields, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := r.Next(); err == nil {
			b.Release()
			t.Errorf("%s: no error", line)
		}
	}
}

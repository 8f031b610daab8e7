package types

import (
	"encoding/json"
	"testing"
)

// SQL forms as Paimon's asSQLString prints them (paimon-api/.../types/*Type.java).
func TestParsePrintRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INT", "INT"},
		{"int not null", "INT NOT NULL"},
		{"INTEGER", "INT"},
		{"STRING", "STRING"},
		{"VARCHAR(2147483647)", "STRING"},
		{"VARCHAR", "VARCHAR(1)"},
		{"CHAR(5) NOT NULL", "CHAR(5) NOT NULL"},
		{"BYTES", "BYTES"},
		{"BINARY(4)", "BINARY(4)"},
		{"VARBINARY(10)", "VARBINARY(10)"},
		{"DECIMAL", "DECIMAL(10, 0)"},
		{"DECIMAL(38,10)", "DECIMAL(38, 10)"},
		{"NUMERIC(5)", "DECIMAL(5, 0)"},
		{"DOUBLE PRECISION", "DOUBLE"},
		{"TIME", "TIME(0)"},
		{"TIMESTAMP", "TIMESTAMP(6)"},
		{"TIMESTAMP(3) WITHOUT TIME ZONE", "TIMESTAMP(3)"},
		{"TIMESTAMP(9) WITH LOCAL TIME ZONE", "TIMESTAMP(9) WITH LOCAL TIME ZONE"},
		{"TIMESTAMP_LTZ(3)", "TIMESTAMP(3) WITH LOCAL TIME ZONE"},
		{"INT ARRAY", "ARRAY<INT>"},
		{"ARRAY<INT NOT NULL> NOT NULL", "ARRAY<INT NOT NULL> NOT NULL"},
		{"MAP<STRING, BIGINT>", "MAP<STRING, BIGINT>"},
		{"MULTISET<STRING>", "MULTISET<STRING>"},
		{"ROW<a INT, `b c` STRING 'doc'>", "ROW<`a` INT, `b c` STRING 'doc'>"},
		{"VECTOR<FLOAT, 4>", "VECTOR<FLOAT, 4>"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got.String(), tt.want)
		}
		again, err := Parse(got.String())
		if err != nil || !again.Equal(got) {
			t.Errorf("re-parse of %q: %v %v", got.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "FOO", "INT(", "DECIMAL(40, 2)", "DECIMAL(5, 6)", "VARCHAR(0)",
		"TIMESTAMP(10)", "ARRAY<INT", "MAP<INT>", "INT NOT", "`x", "INT extra"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestParseColumnsAssignsIDs(t *testing.T) {
	fields, err := ParseColumns("id BIGINT NOT NULL, r ROW<x INT, y ROW<z STRING>>, name STRING COMMENT 'the name'")
	if err != nil {
		t.Fatal(err)
	}
	// Schema.Builder.column takes the next id, then ReassignFieldId numbers the nested ROW
	// (a nested field's type before the field): id=0, r=1, x=2, z=3, y=4, name=5.
	r := fields[1].Type
	got := []int{fields[0].ID, fields[1].ID, r.Fields[0].ID, r.Fields[1].Type.Fields[0].ID, r.Fields[1].ID, fields[2].ID}
	for i, id := range got {
		if id != i {
			t.Fatalf("ids %v, want 0..5", got)
		}
	}
	if h := HighestFieldID(fields); h != 5 {
		t.Fatalf("HighestFieldID = %d", h)
	}
	if fields[2].Description == nil || *fields[2].Description != "the name" {
		t.Fatalf("comment: %+v", fields[2])
	}
}

// JSON forms written by Paimon (DataTypeJsonParser / *Type.serializeJson).
func TestJSONForms(t *testing.T) {
	tests := []struct {
		typ  DataType
		json string
	}{
		{IntType().NotNull(), `"INT NOT NULL"`},
		{StringType(), `"STRING"`},
		{ArrayType(IntType()), `{"type":"ARRAY","element":"INT"}`},
		{MapType(StringType().NotNull(), BigIntType()).NotNull(), `{"type":"MAP NOT NULL","key":"STRING NOT NULL","value":"BIGINT"}`},
		{MultisetType(StringType()), `{"type":"MULTISET","element":"STRING"}`},
		{RowType(DataField{ID: 3, Name: "x", Type: IntType()}), `{"type":"ROW","fields":[{"id":3,"name":"x","type":"INT"}]}`},
		{DataType{Root: Vector, Nullable: true, Length: 4, Elem: ptr(FloatType())}, `{"type":"VECTOR","element":"FLOAT","length":4}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.typ)
		if err != nil || string(b) != tt.json {
			t.Errorf("marshal %s = %s (%v), want %s", tt.typ, b, err, tt.json)
		}
		var back DataType
		if err := json.Unmarshal([]byte(tt.json), &back); err != nil || !back.Equal(tt.typ) {
			t.Errorf("unmarshal %s = %v (%v)", tt.json, back, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

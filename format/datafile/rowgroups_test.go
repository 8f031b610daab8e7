package datafile

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

type bytesSource struct{ *bytes.Reader }

func (b bytesSource) Size() int64 { return b.Reader.Size() }

// Row groups whose statistics rule out a match are skipped.
func TestSelectRowGroups(t *testing.T) {
	fields := []types.DataField{{ID: 0, Name: "id", Type: types.BigIntType().NotNull()}, {ID: 1, Name: "s", Type: types.StringType()}}
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, fields, WriterOptions{RowGroupRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := 0; i < 100; i++ {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"s":"s%03d"}`, i, i))
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, w.Schema(), strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenParquet(bytesSource{bytes.NewReader(buf.Bytes())}, "mem.parquet", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.NumRowGroups() != 10 {
		t.Fatalf("%d row groups", p.NumRowGroups())
	}
	tests := []struct {
		name string
		keep RowGroupFilter
		want []int
	}{
		{"id > 95", func(_ int64, st func(types.DataField) (RowGroupStat, bool)) bool {
			s, ok := st(fields[0])
			return !ok || s.Max.(int64) > 95
		}, []int{9}},
		{"s = 's042'", func(_ int64, st func(types.DataField) (RowGroupStat, bool)) bool {
			s, ok := st(fields[1])
			return !ok || (s.Min.(string) <= "s042" && s.Max.(string) >= "s042")
		}, []int{4}},
		{"all", func(int64, func(types.DataField) (RowGroupStat, bool)) bool { return true }, nil},
	}
	for _, tt := range tests {
		got := p.SelectRowGroups(tt.keep)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: row groups %v, want %v", tt.name, got, tt.want)
		}
	}
	r, err := p.Read(context.Background(), fields, []int{9}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bs, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].NumRows() != 10 || bs[0].Column(0).(*array.Int64).Value(0) != 90 {
		t.Fatalf("row group 9: %v", bs)
	}
	bs[0].Release()
}

// Statistics read through a widened type (schema evolution) keep their values: the unit
// of a timestamp and the scale of a decimal come from the file, and a scale the type does
// not share makes them unknown instead of wrong.
func TestRowGroupStatsWidened(t *testing.T) {
	fields, err := types.ParseColumns("i INT, f FLOAT, ts TIMESTAMP(3), d DECIMAL(5, 2)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range fields {
		fields[i].ID = i
	}
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, fields, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, w.Schema(), strings.NewReader(
		`[{"i":-7,"f":1.5,"ts":"2024-01-02 00:00:00.250","d":"1.25"},{"i":9,"f":2.5,"ts":"2024-01-03 00:00:00","d":"-3.50"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenParquet(bytesSource{bytes.NewReader(buf.Bytes())}, "mem.parquet", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tests := []struct {
		field    int
		as       string
		min, max string // fmt.Sprint of the values; "" when unknown
	}{
		{0, "INT", "-7", "9"},
		{0, "BIGINT", "-7", "9"},
		{1, "DOUBLE", "1.5", "2.5"},
		{2, "TIMESTAMP(3)", "{1704153600250 0}", "{1704240000000 0}"},
		{2, "TIMESTAMP(6)", "{1704153600250 0}", "{1704240000000 0}"},
		{3, "DECIMAL(5, 2)", "-3.50", "1.25"},
		{3, "DECIMAL(7, 2)", "-3.50", "1.25"},
		{3, "DECIMAL(7, 4)", "", ""},
		{0, "DECIMAL(12, 2)", "", ""},
	}
	for _, tt := range tests {
		f := fields[tt.field]
		f.Type = types.MustParse(tt.as)
		st, ok := p.RowGroupStats(0, f)
		if !ok {
			t.Fatalf("%s as %s: no statistics", f.Name, tt.as)
		}
		got := func(v any) string {
			if v == nil {
				return ""
			}
			return fmt.Sprint(v)
		}
		if got(st.Min) != tt.min || got(st.Max) != tt.max {
			t.Errorf("%s as %s: min %s max %s, want %q %q", f.Name, tt.as, got(st.Min), got(st.Max), tt.min, tt.max)
		}
	}
}

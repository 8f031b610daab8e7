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

package datafile

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
)

// TestStatsAcrossBatches checks string and binary min/max over several batches: the
// extremes may come from any batch, nulls are counted and skipped, and the bounds are
// copies that outlive the batches they came from.
func TestStatsAcrossBatches(t *testing.T) {
	batches := []string{
		`[{"s":"m","b":"bQ=="},{"s":null,"b":null},{"s":"q","b":"cQ=="}]`,
		`[{"s":"c","b":"Yw=="},{"s":"z","b":"eg=="}]`,
		`[{"s":null,"b":null}]`,
		`[{"s":"d","b":"ZA=="},{"s":"a","b":"YQ=="}]`,
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	c := NewStatsCollector([]types.DataType{types.StringType(), types.BytesType()}, nil)
	for _, js := range batches {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		c.Update(rec.Columns())
		// Overwrite the batch's bytes: the collected bounds must not point into them.
		for _, col := range rec.Columns() {
			if buf := col.Data().Buffers()[2]; buf != nil {
				for i := range buf.Bytes() {
					buf.Bytes()[i] = '~'
				}
			}
		}
		rec.Release()
	}
	got := c.Result()
	if got[0].Min != "a" || got[0].Max != "z" || got[0].NullCount != 2 {
		t.Errorf("string stats %+v, want a..z with 2 nulls", got[0])
	}
	lo, _ := got[1].Min.([]byte)
	hi, _ := got[1].Max.([]byte)
	if !bytes.Equal(lo, []byte("a")) || !bytes.Equal(hi, []byte("z")) || got[1].NullCount != 2 {
		t.Errorf("binary stats %q..%q with %d nulls, want a..z with 2 nulls", lo, hi, got[1].NullCount)
	}
}

// TestIntegerStatsAcrossBatches checks the integer-backed types: the extremes may be in
// any batch and at any position, and nulls are skipped (their slots hold 0, outside the
// TINYINT and SMALLINT values).
func TestIntegerStatsAcrossBatches(t *testing.T) {
	ts := []types.DataType{types.TinyIntType(), types.SmallIntType(), types.IntType(), types.BigIntType(), types.DateType()}
	fields := make([]types.DataField, len(ts))
	for i, dt := range ts {
		fields[i] = types.DataField{ID: i, Name: string(rune('a' + i)), Type: dt}
	}
	af, err := types.ArrowFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema(af, nil)
	c := NewStatsCollector(ts, nil)
	for _, js := range []string{
		`[{"a":5,"b":5,"c":5,"d":5,"e":5},{"a":null,"b":null,"c":null,"d":null,"e":null}]`,
		`[{"a":3,"b":300,"c":70000,"d":5000000000,"e":3},{"a":7,"b":700,"c":-70000,"d":-5000000000,"e":-7}]`,
		`[{"a":null,"b":null,"c":null,"d":null,"e":null}]`,
		`[{"a":6,"b":6,"c":6,"d":6,"e":6},{"a":null,"b":null,"c":null,"d":null,"e":null},{"a":2,"b":2,"c":2,"d":2,"e":2}]`,
	} {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		c.Update(rec.Columns())
		rec.Release()
	}
	got := c.Result()
	want := []ColStats{
		{Min: int8(2), Max: int8(7), NullCount: 3},
		{Min: int16(2), Max: int16(700), NullCount: 3},
		{Min: int32(-70000), Max: int32(70000), NullCount: 3},
		{Min: int64(-5000000000), Max: int64(5000000000), NullCount: 3},
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("%s: got %+v, want %+v", ts[i], got[i], w)
		}
	}
	if got[4].NullCount != 3 || fmt.Sprint(got[4].Min) != fmt.Sprint(binaryrow.Date(-7)) || fmt.Sprint(got[4].Max) != fmt.Sprint(binaryrow.Date(6)) {
		t.Errorf("DATE: got %+v, want days -7..6 with 3 nulls", got[4])
	}
}

// ParseStatsMode reads the modes SimpleColStatsCollector.from accepts, in any letter case.
func TestParseStatsMode(t *testing.T) {
	cases := []struct {
		in   string
		want StatsMode
		err  bool
	}{
		{"none", StatsMode{Kind: StatsNone}, false},
		{"COUNTS", StatsMode{Kind: StatsCounts}, false},
		{"Full", StatsMode{Kind: StatsFull}, false},
		{"truncate(16)", StatsMode{Kind: StatsTruncate, Length: 16}, false},
		{"TRUNCATE(200)", StatsMode{Kind: StatsTruncate, Length: 200}, false},
		{"truncate(0)", StatsMode{}, true},
		{"truncate( 8)", StatsMode{}, true},
		{"truncate(99999999999)", StatsMode{}, true},
		{"truncate", StatsMode{}, true},
		{"min-max", StatsMode{}, true},
		{"", StatsMode{}, true},
	}
	for _, c := range cases {
		got, err := ParseStatsMode(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseStatsMode(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

// Each mode keeps what TruncateSimpleColStatsCollector, FullSimpleColStatsCollector,
// CountsSimpleColStatsCollector and NoneSimpleColStatsCollector keep.
func TestStatsModes(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	// "abcdef", "abzzzz"; bytes 01 02 03 and 01 ff ff 07; ints 4 and 9; one null row.
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(
		`[{"s":"abcdef","b":"AQID","i":4},{"s":"abzzzz","b":"Af//Bw==","i":9},{"s":null,"b":null,"i":null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	ts := []types.DataType{types.StringType(), types.BytesType(), types.IntType()}
	cases := []struct {
		mode string
		want []ColStats
	}{
		{"full", []ColStats{{Min: "abcdef", Max: "abzzzz", NullCount: 1}, {Min: []byte{1, 2, 3}, Max: []byte{1, 0xff, 0xff, 7}, NullCount: 1}, {Min: int32(4), Max: int32(9), NullCount: 1}}},
		// The max is cut and its last character (byte) that can be incremented is.
		{"truncate(3)", []ColStats{{Min: "abc", Max: "ab{", NullCount: 1}, {Min: []byte{1, 2, 3}, Max: []byte{2}, NullCount: 1}, {Min: int32(4), Max: int32(9), NullCount: 1}}},
		{"counts", []ColStats{{NullCount: 1}, {NullCount: 1}, {NullCount: 1}}},
		{"none", []ColStats{{None: true}, {None: true}, {None: true}}},
	}
	for _, c := range cases {
		m, err := ParseStatsMode(c.mode)
		if err != nil {
			t.Fatal(err)
		}
		col := NewStatsCollector(ts, []StatsMode{m, m, m})
		col.Update(rec.Columns())
		got := col.Result()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.mode, got, c.want)
		}
	}
}

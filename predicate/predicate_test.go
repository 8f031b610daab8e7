package predicate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

var fields = []types.DataField{
	{ID: 0, Name: "id", Type: types.BigIntType().NotNull()},
	{ID: 1, Name: "name", Type: types.StringType()},
	{ID: 2, Name: "amount", Type: types.DecimalType(10, 2)},
	{ID: 3, Name: "dt", Type: types.DateType()},
	{ID: 4, Name: "ts", Type: types.TimestampType(3)},
}

func TestParseAndString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"id > 10", "id > 10"},
		{"id >= 1 AND name = 'x'", "(id >= 1 AND name = 'x')"},
		{"a = 1 OR b = 2 AND c = 3", "(a = 1 OR (b = 2 AND c = 3))"},
		{"(a = 1 OR b = 2) AND c = 3", "((a = 1 OR b = 2) AND c = 3)"},
		{"NOT a <> 1", "NOT a != 1"},
		{"x IS NOT NULL", "x IS NOT NULL"},
		{"x IN (1, 2, 3)", "x IN (1, 2, 3)"},
		{"x NOT IN ('a')", "x NOT IN ('a')"},
		{"x BETWEEN 1 AND 5", "(x >= 1 AND x <= 5)"},
		{"d = DATE '2024-01-01'", "d = DATE '2024-01-01'"},
		{"`odd name` = 'it''s'", "odd name = 'it''s'"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if e.String() != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, e, tt.want)
		}
	}
	for _, bad := range []string{"", "id >", "id = NULL", "(id = 1", "id ~ 3", "id IN 1", "'x' = id", "id = 1 extra"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestBindErrors(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{"nope = 1", `no column "nope"`},
		{"id = 'abc'", "not a valid BIGINT"},
		{"amount = 'x'", "not a decimal"},
		{"dt = '2024-13-01'", "not a valid DATE"},
		{"id IN (1, NULL)", "NULL in a value list"},
	} {
		if _, err := Bind(tt.expr, fields, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Bind(%q) = %v, want %q", tt.expr, err, tt.want)
		}
	}
}

func dec(s string) binaryrow.Decimal { d, _ := parseDecimal(s); return d }

// Pruning with statistics never drops a file that may hold a match.
func TestKeepFile(t *testing.T) {
	st := &table.FileStats{
		RowCount:   10,
		Min:        map[string]any{"id": int64(10), "name": "b", "amount": dec("1.00")},
		Max:        map[string]any{"id": int64(20), "name": "m", "amount": dec("9.50")},
		NullCounts: map[string]int64{"id": 0, "name": 3, "amount": 10},
	}
	tests := []struct {
		expr string
		keep bool
	}{
		{"id = 15", true}, {"id = 9", false}, {"id = 21", false}, {"id < 10", false}, {"id <= 10", true},
		{"id > 20", false}, {"id >= 20", true}, {"id != 15", true}, {"id IN (1, 2, 30)", false}, {"id IN (1, 12)", true},
		{"name = 'a'", false}, {"name = 'c'", true}, {"name IS NULL", true}, {"id IS NULL", false},
		{"amount IS NOT NULL", false}, {"amount = 5", false}, // all amounts are null
		{"id = 9 OR name = 'c'", true}, {"id = 9 AND name = 'c'", false},
		{"NOT id = 15", true}, {"NOT (id >= 10 AND id <= 20)", false},
		{"dt = DATE '2024-01-01'", true}, // no stats for dt: keep
	}
	for _, tt := range tests {
		p, err := Bind(tt.expr, fields, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.KeepFile(st); got != tt.keep {
			t.Errorf("KeepFile(%s) = %v, want %v", tt.expr, got, tt.keep)
		}
	}
}

func TestKeepPartition(t *testing.T) {
	p, err := Bind("dt = DATE '2024-01-02' AND id > 5", fields, []string{"dt"})
	if err != nil {
		t.Fatal(err)
	}
	if p.KeepPartition([]any{binaryrow.Date(19723)}) { // 2024-01-01
		t.Error("kept another day")
	}
	if !p.KeepPartition([]any{binaryrow.Date(19724)}) {
		t.Error("dropped the day")
	}
	if p.KeepPartition([]any{nil}) {
		t.Error("kept the null partition for an equality")
	}
}

// Row filtering applies SQL's three-valued logic: comparisons with null are unknown.
func TestApply(t *testing.T) {
	schema, _ := types.ArrowSchema(fields)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(`[
		{"id":1,"name":"a","amount":"1.50","dt":"2024-01-01","ts":"2024-01-01T00:00:00.001"},
		{"id":2,"name":null,"amount":null,"dt":null,"ts":null},
		{"id":3,"name":"c","amount":"10.00","dt":"2024-01-02","ts":"2024-01-02T10:00:00"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	tests := []struct {
		expr string
		ids  []int64
	}{
		{"id >= 2", []int64{2, 3}},
		{"name != 'a'", []int64{3}},
		{"NOT name = 'a'", []int64{3}},
		{"name IS NULL", []int64{2}},
		{"amount > 2", []int64{3}},
		{"amount = 1.5", []int64{1}},
		{"dt = DATE '2024-01-02'", []int64{3}},
		{"ts > TIMESTAMP '2024-01-01 00:00:00'", []int64{1, 3}},
		{"id IN (1, 3) AND name IS NOT NULL", []int64{1, 3}},
		{"name = 'zz' OR amount IS NULL", []int64{2}},
	}
	for _, tt := range tests {
		p, err := Bind(tt.expr, fields, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Apply(context.Background(), rec)
		if err != nil {
			t.Fatal(err)
		}
		ids := out.Column(0).(*array.Int64).Int64Values()
		if len(ids) != len(tt.ids) {
			t.Errorf("%s: got ids %v, want %v", tt.expr, ids, tt.ids)
		} else {
			for i := range ids {
				if ids[i] != tt.ids[i] {
					t.Errorf("%s: got ids %v, want %v", tt.expr, ids, tt.ids)
					break
				}
			}
		}
		out.Release()
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"id > 10 AND name = 'x'", "a IN (1,2)", "NOT (b IS NULL OR c BETWEEN 1 AND 2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		if _, err := Parse(e.String()); err != nil {
			t.Fatalf("%q parsed, its rendering %q does not: %v", s, e.String(), err)
		}
	})
}

// ColumnValues names the key combinations a filter pins, for bucket selection.
func TestColumnValues(t *testing.T) {
	tests := []struct {
		where string
		cols  []string
		want  string // fmt of the combinations; "" for not pinned
	}{
		{"id = 3", []string{"id"}, "[[3]]"},
		{"id IN (1, 2, 2) AND name = 'a'", []string{"id", "name"}, "[[1 a] [2 a]]"},
		{"id IN (1, 2) AND id IN (2, 3)", []string{"id"}, "[[2]]"},
		{"id = 1 AND id = 2", []string{"id"}, "[]"},
		{"(id = 1 AND name = 'a') OR (id = 2 AND name = 'b')", []string{"id", "name"}, "[[1 a] [1 b] [2 a] [2 b]]"},
		{"id = 1 OR name = 'a'", []string{"id"}, ""},
		{"id = 3", []string{"id", "name"}, ""},
		{"id > 3", []string{"id"}, ""},
		{"NOT id = 3", []string{"id"}, ""},
		{"id NOT IN (1, 2)", []string{"id"}, ""},
		{"id IN (1, 2, 3) AND name IN ('a', 'b')", []string{"id", "name"}, ""}, // over the limit of 5
	}
	for _, tc := range tests {
		t.Run(tc.where, func(t *testing.T) {
			p, err := Bind(tc.where, fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.ColumnValues(tc.cols, 5)
			if s := fmt.Sprint(got); !ok && tc.want != "" || ok && s != tc.want {
				t.Fatalf("ColumnValues(%v) = %s, %v; want %q", tc.cols, s, ok, tc.want)
			}
		})
	}
}

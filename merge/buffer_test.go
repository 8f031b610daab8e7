package merge

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// The writer's buffer merge (SortBufferWriteBuffer.forEach with the table's merge
// function): records in no order, results that retract kept.
func TestMergeBuffer(t *testing.T) {
	tests := []struct {
		name    string
		columns string
		opts    map[string]string
		records []string
		want    []string
		err     string
	}{
		{
			name:    "deduplicate keeps the latest, deletes included",
			columns: "k INT NOT NULL, v STRING",
			records: []string{`+I 3 {"k":2,"v":"b2"}`, `+I 1 {"k":1,"v":"a"}`, `+I 2 {"k":2,"v":"b"}`, `-D 4 {"k":1,"v":null}`},
			want:    []string{`-D 4 {"k":1,"v":null}`, `+I 3 {"k":2,"v":"b2"}`},
		},
		{
			name:    "first-row keeps the first",
			columns: "k INT NOT NULL, v STRING",
			opts:    map[string]string{"merge-engine": "first-row"},
			records: []string{`+I 3 {"k":1,"v":"c"}`, `+I 1 {"k":1,"v":"a"}`, `+I 2 {"k":1,"v":"b"}`},
			want:    []string{`+I 1 {"k":1,"v":"a"}`},
		},
		{
			name:    "partial-update merges within the buffer",
			columns: "k INT NOT NULL, a INT, b STRING",
			opts:    map[string]string{"merge-engine": "partial-update"},
			records: []string{`+I 2 {"k":1,"a":null,"b":"x"}`, `+I 1 {"k":1,"a":5,"b":null}`, `+I 3 {"k":2,"a":7,"b":null}`},
			want:    []string{`+I 2 {"k":1,"a":5,"b":"x"}`, `+I 3 {"k":2,"a":7,"b":null}`},
		},
		{
			name:    "partial-update delete shadows older levels",
			columns: "k INT NOT NULL, a INT, b STRING",
			opts:    map[string]string{"merge-engine": "partial-update", "partial-update.remove-record-on-delete": "true"},
			records: []string{`+I 1 {"k":1,"a":5,"b":null}`, `-D 2 {"k":1,"a":null,"b":null}`},
			want:    []string{`-D 2 {"k":1,"a":null,"b":null}`},
		},
		{
			name:    "aggregation",
			columns: "k INT NOT NULL, a INT, b STRING",
			opts:    map[string]string{"merge-engine": "aggregation", "fields.a.aggregate-function": "sum", "fields.b.aggregate-function": "listagg"},
			records: []string{`+I 1 {"k":1,"a":5,"b":"x"}`, `+I 3 {"k":2,"a":1,"b":"z"}`, `+I 2 {"k":1,"a":2,"b":"y"}`},
			want:    []string{`+I 2 {"k":1,"a":7,"b":"x,y"}`, `+I 3 {"k":2,"a":1,"b":"z"}`},
		},
		{
			name:    "sequence field orders the buffer",
			columns: "k INT NOT NULL, v STRING, ts INT",
			opts:    map[string]string{"sequence.field": "ts"},
			records: []string{`+I 1 {"k":1,"v":"late","ts":9}`, `+I 2 {"k":1,"v":"early","ts":3}`},
			want:    []string{`+I 1 {"k":1,"v":"late","ts":9}`},
		},
		{
			name:    "errors name the key",
			columns: "k INT NOT NULL, a INT",
			opts:    map[string]string{"merge-engine": "aggregation", "fields.a.aggregate-function": "max"},
			records: []string{`+I 1 {"k":7,"a":5}`, `-U 2 {"k":7,"a":5}`},
			err:     "key (7)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTestTable(t, tc.columns, []string{"k"}, tc.opts)
			for _, rows := range []int{0, 1, 2} {
				got, err := tt.mergeBuffer(t, tc.records, rows)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !equalLines(got, tc.want) {
					t.Fatalf("batch rows %d: got\n%s\nwant\n%s", rows, join(got), join(tc.want))
				}
			}
		})
	}
}

// lastOne is a selecting engine outside this package's engines: its pick is output as it
// is, whatever its kind.
type lastOne struct{}

func (lastOne) Pick(g []Record) int { return len(g) - 1 }

func TestSelectingEngine(t *testing.T) {
	tt := newTestTable(t, "k INT NOT NULL, v STRING", []string{"k"}, nil)
	schema := tt.kvSchema(t, tt.fields)
	runs := [][]string{{`+I 1 {"k":1,"v":"a"}`, `+I 2 {"k":2,"v":"b"}`}, {`-D 3 {"k":1,"v":null}`}}
	var inputs []Input
	for _, r := range runs {
		inputs = append(inputs, &sliceInput{batches: []arrow.RecordBatch{tt.kvBatch(t, tt.fields, r)}})
	}
	m := NewSortMerge(inputs, Options{KeyCount: 1, Engine: lastOne{}})
	defer m.Close()
	got, err := drain(m, 1, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`-D 3 {"k":1,"v":null}`, `+I 2 {"k":2,"v":"b"}`}
	if !equalLines(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", join(got), join(want))
	}
	if !m.Schema().Equal(schema) {
		t.Fatalf("schema %s, want %s", m.Schema(), schema)
	}
	if _, err := m.Next(context.Background()); err == nil {
		t.Fatal("no EOF after the end")
	}
}

// ExtraFields lists what a projected read must add for the engine.
func TestExtraFields(t *testing.T) {
	tests := []struct {
		opts map[string]string
		read []string
		want []string
	}{
		{map[string]string{}, []string{"v"}, nil},
		{map[string]string{"sequence.field": "ts"}, []string{"v"}, []string{"ts"}},
		{map[string]string{"sequence.field": "ts"}, []string{"ts", "v"}, nil},
		{map[string]string{"merge-engine": "partial-update", "fields.g.sequence-group": "v"}, []string{"v"}, []string{"g"}},
		{map[string]string{"merge-engine": "partial-update", "fields.g.sequence-group": "v", "sequence.field": "ts"}, []string{"k"}, []string{"ts", "g"}},
		{map[string]string{"merge-engine": "aggregation", "sequence.field": "ts"}, []string{"v"}, []string{"ts"}},
	}
	for _, tc := range tests {
		tt := newTestTable(t, "k INT NOT NULL, v INT, g INT, ts INT", []string{"k"}, tc.opts)
		if got := ExtraFields(tt.engine(t), tc.read); !equalLines(got, tc.want) {
			t.Errorf("%v read %v: got %v, want %v", tc.opts, tc.read, got, tc.want)
		}
	}
	if got := ExtraFields(lastOne{}, []string{"v"}); got != nil {
		t.Errorf("selecting engine: %v", got)
	}
}

// NewEngine validation of options (CoreOptions, SchemaValidation).
func TestNewEngineErrors(t *testing.T) {
	tests := []struct {
		opts map[string]string
		err  string
	}{
		{map[string]string{"merge-engine": "nope"}, `unknown merge-engine "nope"`},
		{map[string]string{"ignore-delete": "yes"}, "is not a boolean"},
		{map[string]string{"sequence.field": "nope"}, "sequence field: 'nope' can not be found"},
		{map[string]string{"sequence.field": "v,v"}, "defined repeatedly"},
		{map[string]string{"sequence.field": "v", "sequence.field.sort-order": "up"}, "want ascending or descending"},
		{map[string]string{"merge-engine": "first-row", "sequence.field": "v"}, "FIRST_ROW"},
		{map[string]string{"sequence.field": "a"}, "can not be ordered"},
		{map[string]string{"fields.nope.ignore-retract": "true"}, "field nope can not be found"},
		{map[string]string{"merge-engine": "aggregation", "fields.v.aggregate-function": "bool_and"}, "must be 'BooleanType'"},
		{map[string]string{"merge-engine": "aggregation", "fields.v.aggregate-function": "sum", "fields.v.ignore-retract": "maybe"}, "is not a boolean"},
		{map[string]string{"merge-engine": "aggregation", "fields.r.aggregate-function": "nested_update", "fields.r.count-limit": "x"}, "not an integer"},
		{map[string]string{"merge-engine": "partial-update", "fields.g.sequence-group": "a"}, "can not be ordered"},
		{map[string]string{"merge-engine": "partial-update", "fieldsg.sequence-group": "v"}, "invalid sequence-group option"},
	}
	fields := "k INT NOT NULL, v INT, g ARRAY<INT>, a ARRAY<INT>, r ARRAY<ROW<x INT>>"
	for _, tc := range tests {
		tt := newTestTable(t, fields, []string{"k"}, tc.opts)
		_, err := tt.sortMerge(t, mergeCase{runs: oneRunEach(`+I 1 {"k":1}`)})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.opts, err, tc.err)
		}
	}
}

// SortBuffer gives the merge order of a buffer (changelog-producer input writes it).
func TestSortBuffer(t *testing.T) {
	tt := newTestTable(t, "k INT NOT NULL, v STRING, ts INT", []string{"k"}, map[string]string{"sequence.field": "ts"})
	b := tt.bufferBatch(t, []string{`+I 1 {"k":2,"v":"a","ts":1}`, `+I 2 {"k":1,"v":"b","ts":5}`, `+I 3 {"k":1,"v":"c","ts":4}`, `-D 4 {"k":2,"v":"d","ts":1}`})
	defer b.Release()
	refs, err := SortBuffer([]arrow.RecordBatch{b}, BufferOptions{Keys: []int{0}, Sequence: 3, Kind: 4, Engine: tt.engine(t)})
	if err != nil {
		t.Fatal(err)
	}
	var rows []int32
	for _, r := range refs {
		rows = append(rows, r.Row)
	}
	if want := []int32{2, 1, 0, 3}; !slices.Equal(rows, want) {
		t.Fatalf("order %v, want %v", rows, want)
	}
}

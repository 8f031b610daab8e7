package merge

import (
	"strings"
	"testing"
)

type engineCase struct {
	name string
	opts map[string]string
	runs [][]string
	read []string // nil: every field
	keep bool
	want []string
	err  string // substring of the expected error
}

func runEngineCases(t *testing.T, columns string, pk []string, cases []engineCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTestTable(t, columns, pk, tc.opts)
			for _, batchRows := range []int{0, 1} {
				got, err := tt.sortMerge(t, mergeCase{runs: tc.runs, read: tc.read, keep: tc.keep, batchRows: batchRows, batchSize: 2})
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
					t.Fatalf("batch rows %d: got\n%s\nwant\n%s", batchRows, join(got), join(tc.want))
				}
			}
		})
	}
}

// docs/docs/primary-key-table/merge-engine/index.md "Deduplicate";
// DeduplicateMergeFunction.java; ReducerMergeFunctionWrapper.java (one record: as is).
func TestDeduplicate(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, v STRING", []string{"k"}, []engineCase{
		{
			name: "latest wins",
			runs: [][]string{
				{`+I 1 {"k":1,"v":"a"}`, `+I 2 {"k":2,"v":"b"}`},
				{`+U 3 {"k":1,"v":"a2"}`, `+I 4 {"k":3,"v":"c"}`},
			},
			want: []string{`{"k":1,"v":"a2"}`, `{"k":2,"v":"b"}`, `{"k":3,"v":"c"}`},
		},
		{
			name: "latest delete removes the key",
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":null}`),
			want: nil,
		},
		{
			name: "latest update-before removes the key",
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-U 2 {"k":1,"v":"a"}`),
			want: nil,
		},
		{
			name: "insert after delete",
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":null}`, `+I 3 {"k":1,"v":"b"}`),
			want: []string{`{"k":1,"v":"b"}`},
		},
		{
			name: "sequence number decides, not run order",
			runs: oneRunEach(`+I 9 {"k":1,"v":"new"}`, `+I 3 {"k":1,"v":"old"}`),
			want: []string{`{"k":1,"v":"new"}`},
		},
		{
			name: "ignore-delete skips retractions",
			opts: map[string]string{"ignore-delete": "true"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":null}`, `-U 3 {"k":1,"v":"a"}`),
			want: []string{`{"k":1,"v":"a"}`},
		},
		{
			name: "ignore-delete fallback key deduplicate.ignore-delete",
			opts: map[string]string{"deduplicate.ignore-delete": "true"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":null}`),
			want: []string{`{"k":1,"v":"a"}`},
		},
		{
			name: "ignore-delete with only retractions drops the key",
			opts: map[string]string{"ignore-delete": "true"},
			runs: oneRunEach(`-D 1 {"k":1,"v":null}`, `-D 2 {"k":1,"v":null}`),
			want: nil,
		},
		{
			name: "keep deletes emits the latest -D",
			keep: true,
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":null}`, `+I 3 {"k":2,"v":"b"}`),
			want: []string{`-D 2 {"k":1,"v":null}`, `+I 3 {"k":2,"v":"b"}`},
		},
		{
			name: "keep deletes keeps -U and +U kinds",
			keep: true,
			runs: [][]string{{`-U 5 {"k":1,"v":"a"}`, `+U 6 {"k":2,"v":"b"}`}},
			want: []string{`-U 5 {"k":1,"v":"a"}`, `+U 6 {"k":2,"v":"b"}`},
		},
		{
			name: "keep deletes with ignore-delete: a lone retraction is kept as it is (reducer)",
			opts: map[string]string{"ignore-delete": "true"},
			keep: true,
			runs: [][]string{{`-D 5 {"k":1,"v":null}`}},
			want: []string{`-D 5 {"k":1,"v":null}`},
		},
		{
			name: "retraction sorts before addition on equal sequence numbers",
			runs: oneRunEach(`+I 4 {"k":1,"v":"a"}`, `-D 4 {"k":1,"v":null}`),
			want: []string{`{"k":1,"v":"a"}`},
		},
	})
}

// docs/docs/primary-key-table/sequence-rowkind.mdx "Sequence Field"; CoreOptions
// sequence.field, sequence.field.sort-order; UserDefinedSeqComparator.java;
// SortMergeReaderWithMinHeap.java (user sequence, then sequence number).
func TestSequenceField(t *testing.T) {
	cols := "k INT NOT NULL, v STRING, ts BIGINT, ts2 INT"
	runEngineCases(t, cols, []string{"k"}, []engineCase{
		{
			name: "sequence field beats sequence number",
			opts: map[string]string{"sequence.field": "ts"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"late","ts":20}`, `+I 2 {"k":1,"v":"early","ts":10}`),
			want: []string{`{"k":1,"v":"late","ts":20,"ts2":null}`},
		},
		{
			name: "ties fall back to the sequence number",
			opts: map[string]string{"sequence.field": "ts"},
			runs: oneRunEach(`+I 2 {"k":1,"v":"second","ts":10}`, `+I 1 {"k":1,"v":"first","ts":10}`),
			want: []string{`{"k":1,"v":"second","ts":10,"ts2":null}`},
		},
		{
			name: "null sequence field sorts first",
			opts: map[string]string{"sequence.field": "ts"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a","ts":-5}`, `+I 2 {"k":1,"v":"null","ts":null}`),
			want: []string{`{"k":1,"v":"a","ts":-5,"ts2":null}`},
		},
		{
			name: "descending order",
			opts: map[string]string{"sequence.field": "ts", "sequence.field.sort-order": "descending"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"small","ts":10}`, `+I 2 {"k":1,"v":"big","ts":20}`),
			want: []string{`{"k":1,"v":"small","ts":10,"ts2":null}`},
		},
		{
			name: "descending order keeps nulls first",
			opts: map[string]string{"sequence.field": "ts", "sequence.field.sort-order": "descending"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"ten","ts":10}`, `+I 2 {"k":1,"v":"null","ts":null}`),
			want: []string{`{"k":1,"v":"ten","ts":10,"ts2":null}`},
		},
		{
			name: "two sequence fields compare in order",
			opts: map[string]string{"sequence.field": "ts,ts2"},
			runs: oneRunEach(`+I 3 {"k":1,"v":"a","ts":5,"ts2":1}`, `+I 1 {"k":1,"v":"b","ts":5,"ts2":7}`, `+I 2 {"k":1,"v":"c","ts":4,"ts2":9}`),
			want: []string{`{"k":1,"v":"b","ts":5,"ts2":7}`},
		},
		{
			name: "a late delete with an older sequence field loses",
			opts: map[string]string{"sequence.field": "ts"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a","ts":10}`, `-D 2 {"k":1,"v":"a","ts":9}`),
			want: []string{`{"k":1,"v":"a","ts":10,"ts2":null}`},
		},
		{
			name: "projection reads the sequence field anyway",
			opts: map[string]string{"sequence.field": "ts"},
			read: []string{"v"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"late","ts":20}`, `+I 2 {"k":1,"v":"early","ts":10}`),
			want: []string{`{"v":"late"}`},
		},
	})
}

// docs/docs/primary-key-table/merge-engine/first-row.md; FirstRowMergeFunction.java.
func TestFirstRow(t *testing.T) {
	runEngineCases(t, "k INT NOT NULL, v STRING", []string{"k"}, []engineCase{
		{
			name: "first insert wins",
			opts: map[string]string{"merge-engine": "first-row"},
			runs: oneRunEach(`+I 5 {"k":1,"v":"late"}`, `+I 2 {"k":1,"v":"first"}`, `+I 3 {"k":1,"v":"second"}`),
			want: []string{`{"k":1,"v":"first"}`},
		},
		{
			name: "retractions are errors",
			opts: map[string]string{"merge-engine": "first-row"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":"a"}`),
			err:  "can not accept DELETE/UPDATE_BEFORE",
		},
		{
			name: "ignore-delete skips retractions",
			opts: map[string]string{"merge-engine": "first-row", "ignore-delete": "true"},
			runs: oneRunEach(`-D 1 {"k":1,"v":"x"}`, `+I 2 {"k":1,"v":"a"}`, `-U 3 {"k":1,"v":"a"}`, `+U 4 {"k":1,"v":"b"}`),
			want: []string{`{"k":1,"v":"a"}`},
		},
		{
			name: "first-row.ignore-delete fallback key",
			opts: map[string]string{"merge-engine": "first-row", "first-row.ignore-delete": "true"},
			runs: oneRunEach(`+I 1 {"k":1,"v":"a"}`, `-D 2 {"k":1,"v":"a"}`),
			want: []string{`{"k":1,"v":"a"}`},
		},
		{
			name: "a lone retraction passes the reducer untouched",
			opts: map[string]string{"merge-engine": "first-row"},
			keep: true,
			runs: [][]string{{`-D 1 {"k":1,"v":"a"}`}},
			want: []string{`-D 1 {"k":1,"v":"a"}`},
		},
	})
}

package merge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// levelRun is a sorted run of one LSM level: "L<level>" or "C<level>" (a context input,
// holding a level above the output) and its records.
type levelRun struct {
	level   int
	context bool
	records []string
}

func lv(level int, records ...string) levelRun { return levelRun{level: level, records: records} }
func ctxl(level int, records ...string) levelRun {
	return levelRun{level: level, context: true, records: records}
}

// leveledInput is a sliceInput of one level.
type leveledInput struct {
	sliceInput
	level int
}

func (l *leveledInput) Level() int { return l.level }

type lookupCase struct {
	name      string
	opts      map[string]string
	runs      []levelRun
	lookup    *Lookup // Context is filled from runs
	changelog *Changelog
	keep      bool
	found     []int // keys Find reports as living above (nil: Find unset)
	want      []string
	wantLog   []string
	wantFind  []int // keys Find was asked about
	err       string
}

// runLookupCases merges each case's runs (key k INT) and compares the output and the
// changelog, both rendered "KIND SEQ {values}", in batches of one and of two rows.
func runLookupCases(t *testing.T, columns string, cases []lookupCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTestTable(t, columns, []string{"k"}, tc.opts)
			for _, batchSize := range []int{1, 2, 100} {
				var inputs []Input
				var ctxs []bool
				for _, r := range tc.runs {
					inputs = append(inputs, &leveledInput{sliceInput{[]arrow.RecordBatch{tt.kvBatch(t, tt.fields, r.records)}}, r.level})
					ctxs = append(ctxs, r.context)
				}
				var asked []int
				var lk *Lookup
				if tc.lookup != nil {
					l := *tc.lookup
					l.Context = ctxs
					if tc.found != nil {
						l.Find = func(key []byte) bool {
							for k := 0; k < 100; k++ {
								if b, _ := AppendValueKey(nil, int32(k), arrow.PrimitiveTypes.Int32); bytes.Equal(b, key) {
									asked = append(asked, k)
									return slices.Contains(tc.found, k)
								}
							}
							return false
						}
					}
					lk = &l
				}
				m := NewSortMerge(inputs, Options{KeyCount: 1, Engine: tt.engine(t), KeepDeletes: tc.keep, BatchSize: batchSize, Lookup: lk, Changelog: tc.changelog})
				var out, log []string
				var err error
				for {
					var b arrow.RecordBatch
					b, err = m.Next(context.Background())
					for _, c := range m.TakeChangelog() {
						log = append(log, renderBatch(c, 1, len(tt.fields), true)...)
						c.Release()
					}
					if err != nil {
						break
					}
					out = append(out, renderBatch(b, 1, len(tt.fields), true)...)
					b.Release()
				}
				m.Close()
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want %q", err, tc.err)
					}
					return
				}
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				if !equalLines(out, tc.want) {
					t.Fatalf("batch size %d: output\n%s\nwant\n%s", batchSize, join(out), join(tc.want))
				}
				if !equalLines(log, tc.wantLog) {
					t.Fatalf("batch size %d: changelog\n%s\nwant\n%s", batchSize, join(log), join(tc.wantLog))
				}
				if tc.found != nil && !slices.Equal(asked, tc.wantFind) {
					t.Fatalf("batch size %d: Find asked about %v, want %v", batchSize, asked, tc.wantFind)
				}
			}
		})
	}
}

// LookupChangelogMergeFunctionWrapper.java, LookupMergeFunction.java: level-0 records
// merged with the lowest-level older record, the changelog from that record to the result.
func TestLookupChangelogDeduplicate(t *testing.T) {
	rewrite := &Lookup{Rewrite: true}
	log := &Changelog{}
	runLookupCases(t, "k INT NOT NULL, v STRING", []lookupCase{
		{
			name:   "new key is an insert",
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: log, keep: true,
			want:    []string{`+I 5 {"k":1,"v":"a"}`},
			wantLog: []string{`+I 5 {"k":1,"v":"a"}`},
		},
		{
			name:   "changed key: before looked up above the output",
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`), ctxl(3, `+I 2 {"k":1,"v":"a"}`, `+I 3 {"k":2,"v":"x"}`)},
			lookup: rewrite, changelog: log, keep: true,
			want:    []string{`+I 5 {"k":1,"v":"b"}`},
			wantLog: []string{`-U 2 {"k":1,"v":"a"}`, `+U 5 {"k":1,"v":"b"}`},
		},
		{
			name: "before of the lowest level: an older run inside the compaction wins over lookups",
			runs: []levelRun{
				lv(0, `+I 9 {"k":1,"v":"c"}`), lv(1, `+I 6 {"k":1,"v":"b"}`), ctxl(4, `+I 2 {"k":1,"v":"a"}`),
			},
			lookup: rewrite, changelog: log, keep: true,
			want:    []string{`+I 9 {"k":1,"v":"c"}`},
			wantLog: []string{`-U 6 {"k":1,"v":"b"}`, `+U 9 {"k":1,"v":"c"}`},
		},
		{
			name:   "deleted key",
			runs:   []levelRun{lv(0, `-D 5 {"k":1,"v":null}`), ctxl(3, `+I 2 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: log, keep: true,
			want:    []string{`-D 5 {"k":1,"v":null}`},
			wantLog: []string{`-D 2 {"k":1,"v":"a"}`},
		},
		{
			name:   "deleted key at the top level: the deletion is dropped",
			runs:   []levelRun{lv(0, `-D 5 {"k":1,"v":null}`), lv(5, `+I 2 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: log,
			wantLog: []string{`-D 2 {"k":1,"v":"a"}`},
		},
		{
			name:   "deleting a missing key changes nothing",
			runs:   []levelRun{lv(0, `-D 5 {"k":1,"v":null}`), ctxl(3, `-D 2 {"k":1,"v":null}`)},
			lookup: rewrite, changelog: log, keep: true,
			want: []string{`-D 5 {"k":1,"v":null}`},
		},
		{
			name:   "same value: an update without row-deduplicate",
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"a"}`), ctxl(3, `+I 2 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: log, keep: true,
			want:    []string{`+I 5 {"k":1,"v":"a"}`},
			wantLog: []string{`-U 2 {"k":1,"v":"a"}`, `+U 5 {"k":1,"v":"a"}`},
		},
		{
			name:   "same value: nothing with row-deduplicate",
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"a"}`, `+I 6 {"k":2,"v":"b"}`), ctxl(3, `+I 2 {"k":1,"v":"a"}`, `+I 3 {"k":2,"v":"x"}`)},
			lookup: rewrite, changelog: &Changelog{Deduplicate: true}, keep: true,
			want:    []string{`+I 5 {"k":1,"v":"a"}`, `+I 6 {"k":2,"v":"b"}`},
			wantLog: []string{`-U 3 {"k":2,"v":"x"}`, `+U 6 {"k":2,"v":"b"}`},
		},
		{
			name:   "ignored fields are not compared",
			opts:   map[string]string{},
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`), ctxl(3, `+I 2 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: &Changelog{Deduplicate: true, IgnoreFields: []string{"v"}}, keep: true,
			want: []string{`+I 5 {"k":1,"v":"b"}`},
		},
		{
			name:   "keys only above the output and keys without level 0 have no changelog",
			runs:   []levelRun{lv(1, `+I 4 {"k":1,"v":"a"}`), lv(2, `+I 1 {"k":1,"v":"z"}`), ctxl(3, `+I 2 {"k":2,"v":"b"}`)},
			lookup: rewrite, changelog: log, keep: true,
			want: []string{`+I 4 {"k":1,"v":"a"}`},
		},
		{
			name:   "Find is asked about keys without an older record in the compaction",
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`, `+I 6 {"k":2,"v":"c"}`), lv(1, `+I 2 {"k":2,"v":"a"}`)},
			lookup: rewrite, keep: true,
			found:    []int{1},
			want:     []string{`+I 5 {"k":1,"v":"b"}`, `+I 6 {"k":2,"v":"c"}`},
			wantFind: []int{1},
		},
	})
}

// Aggregation and partial-update take the looked-up value into the merge (so it is not
// lost when the older row is deleted by a deletion vector) and never count an older
// level twice.
func TestLookupMergeEngines(t *testing.T) {
	rewrite := &Lookup{Rewrite: true}
	sum := map[string]string{"merge-engine": "aggregation", "fields.v.aggregate-function": "sum"}
	partial := map[string]string{"merge-engine": "partial-update"}
	runLookupCases(t, "k INT NOT NULL, v BIGINT, w STRING", []lookupCase{
		{
			name:   "aggregation: lookup value merged",
			opts:   sum,
			runs:   []levelRun{lv(0, `+I 7 {"k":1,"v":2,"w":"x"}`), lv(0, `+I 8 {"k":1,"v":3,"w":null}`), ctxl(2, `+I 3 {"k":1,"v":5,"w":"a"}`), ctxl(4, `+I 1 {"k":1,"v":4,"w":"old"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			want:    []string{`+I 8 {"k":1,"v":10,"w":"x"}`},
			wantLog: []string{`-U 3 {"k":1,"v":5,"w":"a"}`, `+U 8 {"k":1,"v":10,"w":"x"}`},
		},
		{
			name:   "aggregation: a single new record is merged too",
			opts:   sum,
			runs:   []levelRun{lv(0, `+I 7 {"k":1,"v":2,"w":"x"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			want:    []string{`+I 7 {"k":1,"v":2,"w":"x"}`},
			wantLog: []string{`+I 7 {"k":1,"v":2,"w":"x"}`},
		},
		{
			name:   "aggregation read: only the lowest upper level counts",
			opts:   sum,
			runs:   []levelRun{lv(0, `+I 7 {"k":1,"v":2,"w":null}`), lv(1, `+I 5 {"k":1,"v":9,"w":"b"}`), lv(3, `+I 1 {"k":1,"v":4,"w":"a"}`), lv(3, `+I 2 {"k":2,"v":4,"w":"a"}`)},
			lookup: &Lookup{},
			keep:   true,
			want:   []string{`+I 7 {"k":1,"v":11,"w":"b"}`, `+I 2 {"k":2,"v":4,"w":"a"}`},
		},
		{
			name:   "partial-update: looked-up fields kept",
			opts:   partial,
			runs:   []levelRun{lv(0, `+I 7 {"k":1,"v":null,"w":"new"}`), ctxl(2, `+I 3 {"k":1,"v":5,"w":"old"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			want:    []string{`+I 7 {"k":1,"v":5,"w":"new"}`},
			wantLog: []string{`-U 3 {"k":1,"v":5,"w":"old"}`, `+U 7 {"k":1,"v":5,"w":"new"}`},
		},
	})
}

// FirstRowMergeFunctionWrapper.java: a key that lives above keeps its first row; a new
// key is an insert.
func TestLookupFirstRow(t *testing.T) {
	fr := map[string]string{"merge-engine": "first-row"}
	rewrite := &Lookup{Rewrite: true}
	runLookupCases(t, "k INT NOT NULL, v STRING", []lookupCase{
		{
			name:   "new keys are the changelog with their row kind, keys found above are dropped",
			opts:   fr,
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`, `+U 6 {"k":2,"v":"c"}`, `+I 7 {"k":3,"v":"e"}`), lv(0, `+I 8 {"k":2,"v":"d"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			found:    []int{1},
			want:     []string{`+U 6 {"k":2,"v":"c"}`, `+I 7 {"k":3,"v":"e"}`},
			wantLog:  []string{`+U 6 {"k":2,"v":"c"}`, `+I 7 {"k":3,"v":"e"}`},
			wantFind: []int{1, 2, 3},
		},
		{
			name:   "a key of an older run in the compaction keeps it, without changelog",
			opts:   fr,
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`), lv(2, `+I 1 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			found: []int{},
			want:  []string{`+I 1 {"k":1,"v":"a"}`},
		},
		{
			name:   "context inputs count as found",
			opts:   fr,
			runs:   []levelRun{lv(0, `+I 5 {"k":1,"v":"b"}`), ctxl(3, `+I 1 {"k":1,"v":"a"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
		},
		{
			name:   "retractions are refused",
			opts:   fr,
			runs:   []levelRun{lv(0, `-D 5 {"k":1,"v":"b"}`)},
			lookup: rewrite, changelog: &Changelog{}, keep: true,
			err: "first-row merge engine can not accept",
		},
	})
}

// FullChangelogMergeFunctionWrapper.java: the changelog is the difference between the
// top level before and after the full compaction.
func TestFullCompactionChangelog(t *testing.T) {
	full := &Changelog{Full: true, MaxLevel: 5}
	runLookupCases(t, "k INT NOT NULL, v STRING", []lookupCase{
		{
			name: "insert, update, delete, unchanged",
			runs: []levelRun{
				lv(0, `+I 9 {"k":1,"v":"new"}`, `+U 10 {"k":2,"v":"b2"}`, `-D 11 {"k":3,"v":null}`),
				lv(2, `+I 6 {"k":2,"v":"b1"}`, `-D 7 {"k":5,"v":null}`),
				lv(5, `+I 1 {"k":2,"v":"b"}`, `+I 2 {"k":3,"v":"c"}`, `+I 3 {"k":4,"v":"d"}`, `+I 4 {"k":5,"v":"e"}`),
			},
			changelog: full,
			want:      []string{`+I 9 {"k":1,"v":"new"}`, `+U 10 {"k":2,"v":"b2"}`, `+I 3 {"k":4,"v":"d"}`},
			wantLog:   []string{`+I 9 {"k":1,"v":"new"}`, `-U 1 {"k":2,"v":"b"}`, `+U 10 {"k":2,"v":"b2"}`, `-D 2 {"k":3,"v":"c"}`, `-D 4 {"k":5,"v":"e"}`},
		},
		{
			name:      "equal values: an update unless row-deduplicate",
			runs:      []levelRun{lv(0, `+I 9 {"k":1,"v":"a"}`, `+I 10 {"k":2,"v":"b"}`), lv(5, `+I 1 {"k":1,"v":"a"}`, `+I 2 {"k":2,"v":"b"}`)},
			changelog: &Changelog{Full: true, MaxLevel: 5, Deduplicate: true},
			want:      []string{`+I 9 {"k":1,"v":"a"}`, `+I 10 {"k":2,"v":"b"}`},
		},
		{
			name:      "a deletion of a key the top level lacks changes nothing",
			runs:      []levelRun{lv(0, `-D 9 {"k":1,"v":null}`), lv(1, `+I 3 {"k":1,"v":"a"}`)},
			changelog: full,
		},
	})
}

package table_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// changeLines renders change batches as the oracle prints them:
// {"_SNAPSHOT_ID":N,"_ROW_KIND":"+I",<canonical columns>}.
func changeLines(t testing.TB, fields []types.DataField, b arrow.RecordBatch) []string {
	t.Helper()
	n := int(b.NumRows())
	kinds := b.Column(int(b.NumCols()) - 2).(*array.String)
	snaps := b.Column(int(b.NumCols()) - 1).(*array.Int64)
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		line := fmt.Appendf(nil, `{"_SNAPSHOT_ID":%d,"_ROW_KIND":%q`, snaps.Value(i), kinds.Value(i))
		for c, f := range fields {
			name, _ := json.Marshal(f.Name)
			line = append(line, ',')
			line = append(line, name...)
			line = append(line, ':')
			var err error
			if line, err = render.AppendJSON(line, b.Column(c), i, f.Type); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, string(append(line, '}')))
	}
	return out
}

func readChangeLines(t testing.TB, tbl *table.Table, plan *table.IncrementalPlan, o table.ReadOptions) []string {
	t.Helper()
	ctx := context.Background()
	r, err := tbl.ReadChanges(ctx, plan.Schema, plan.Splits, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fields, err := table.OutputFields(plan.Schema, o.Columns)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, changeLines(t, fields, b)...)
		b.Release()
	}
}

// sortPerSnapshot sorts lines within each snapshot (lines start with the snapshot id), for
// comparisons that do not depend on the order of buckets.
func sortPerSnapshot(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int {
		sa, sb := snapOf(a), snapOf(b)
		if sa != sb {
			return int(sa - sb)
		}
		return strings.Compare(a, b)
	})
	return out
}

func snapOf(line string) int64 {
	var v struct {
		S int64 `json:"_SNAPSHOT_ID"`
	}
	_ = json.Unmarshal([]byte(line), &v)
	return v.S
}

type testTable struct {
	tbl    *table.Table
	fields []types.DataField
	cat    *catalog.Catalog
	id     catalog.Identifier
}

func newTestTable(t testing.TB, columns string, pk, partition []string, opts map[string]string) *testTable {
	t.Helper()
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	id := catalog.Identifier{Database: "db", Table: "t"}
	tbl, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: pk, PartitionKeys: partition, Options: opts}, false)
	if err != nil {
		t.Fatal(err)
	}
	return &testTable{tbl: tbl, fields: fields, cat: cat, id: id}
}

// commit writes rows (JSON; a "_ROW_KIND" key gives kinds) in one commit; with changelog the
// written files are also committed as the snapshot's changelog files (what
// changelog-producer input stores for an input without in-buffer merges).
func (tt *testTable) commit(t testing.TB, rows string, changelog bool) int64 {
	t.Helper()
	ctx := context.Background()
	w, err := tt.tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := arrowtest.Batch(t, tt.fields, strings.Contains(rows, "_ROW_KIND"), rows)
	defer b.Release()
	if err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if changelog {
		for i := range msgs {
			msgs[i].ChangelogFiles = slices.Clone(msgs[i].NewFiles)
		}
	}
	res, err := tt.tbl.Commit(ctx, table.Commit{User: "test", Identifier: format.BatchCommitIdentifier, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

// commitCompact creates an empty COMPACT snapshot.
func (tt *testTable) commitCompact(t testing.TB) int64 {
	t.Helper()
	res, err := tt.tbl.Commit(context.Background(), table.Commit{User: "compactor", Identifier: format.BatchCommitIdentifier, Kind: format.CommitCompact})
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

func TestIncrementalBetween(t *testing.T) {
	const cols = "id BIGINT NOT NULL, name STRING, dt STRING"
	tests := []struct {
		name      string
		pk        []string
		opts      map[string]string
		changelog bool
		// partitioned partitions the table by dt
		partitioned bool
		filter      string
		columns     []string
		from, to    int64
		want        []string
	}{
		{
			name: "append table", opts: map[string]string{}, from: 0, to: 4,
			want: []string{
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":1,"name":"a","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2,"name":"b","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":3,"name":"c","dt":"d2"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":1,"name":"a2","dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4,"name":"d","dt":"d2"}`,
				`{"_SNAPSHOT_ID":4,"_ROW_KIND":"+I","id":5,"name":"e","dt":"d1"}`,
			},
		},
		{
			name: "primary key, changelog-producer none", pk: []string{"id"}, opts: map[string]string{"bucket": "2"}, from: 0, to: 4,
			want: []string{
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":1,"name":"a","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2,"name":"b","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":3,"name":"c","dt":"d2"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+U","id":1,"name":"a2","dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"-D","id":2,"name":null,"dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4,"name":"d","dt":"d2"}`,
				`{"_SNAPSHOT_ID":4,"_ROW_KIND":"+I","id":5,"name":"e","dt":"d1"}`,
			},
		},
		{
			name: "primary key, range (1, 2]", pk: []string{"id"}, opts: map[string]string{"bucket": "2"}, from: 1, to: 2,
			want: []string{
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+U","id":1,"name":"a2","dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"-D","id":2,"name":null,"dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4,"name":"d","dt":"d2"}`,
			},
		},
		{
			name: "primary key, empty range", pk: []string{"id"}, opts: map[string]string{"bucket": "2"}, from: 2, to: 3,
		},
		{
			name: "primary key, filter and projection", pk: []string{"id"}, opts: map[string]string{"bucket": "2"}, from: 0, to: 4,
			filter: "dt = 'd2' OR id = 2", columns: []string{"id"},
			want: []string{
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":3}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"-D","id":2}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4}`,
			},
		},
		{
			name: "partitioned primary key, changelog-producer input", pk: []string{"id", "dt"}, changelog: true,
			opts: map[string]string{"bucket": "1", "changelog-producer": "input"}, from: 0, to: 4,
			want: []string{
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":1,"name":"a","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2,"name":"b","dt":"d1"}`,
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":3,"name":"c","dt":"d2"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+U","id":1,"name":"a2","dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"-D","id":2,"name":null,"dt":"d1"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4,"name":"d","dt":"d2"}`,
				`{"_SNAPSHOT_ID":4,"_ROW_KIND":"+I","id":5,"name":"e","dt":"d1"}`,
			},
		},
		{
			name: "partition pruning", pk: []string{"id", "dt"}, opts: map[string]string{"bucket": "1"}, partitioned: true,
			from: 0, to: 4, filter: "dt = 'd2'",
			want: []string{
				`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":3,"name":"c","dt":"d2"}`,
				`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+I","id":4,"name":"d","dt":"d2"}`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var part []string
			if tc.changelog || tc.partitioned {
				part = []string{"dt"}
			}
			tt := newTestTable(t, cols, tc.pk, part, tc.opts)
			kind := ""
			if len(tc.pk) > 0 {
				kind = `, "_ROW_KIND": "+U"`
			}
			tt.commit(t, `[{"id": 1, "name": "a", "dt": "d1"}, {"id": 2, "name": "b", "dt": "d1"}, {"id": 3, "name": "c", "dt": "d2"}]`, tc.changelog)
			second := `[{"id": 1, "name": "a2", "dt": "d1"` + kind + `}, {"id": 4, "name": "d", "dt": "d2"}]`
			if len(tc.pk) > 0 {
				second = `[{"id": 1, "name": "a2", "dt": "d1"` + kind + `}, {"id": 2, "name": null, "dt": "d1", "_ROW_KIND": "-D"}, {"id": 4, "name": "d", "dt": "d2", "_ROW_KIND": "+I"}]`
			}
			tt.commit(t, second, tc.changelog)
			tt.commitCompact(t) // snapshot 3 carries no changes
			tt.commit(t, `[{"id": 5, "name": "e", "dt": "d1"}]`, tc.changelog)

			o := table.IncrementalOptions{From: tc.from, To: tc.to}
			ro := table.ReadOptions{Columns: tc.columns, BatchSize: 2}
			if tc.filter != "" {
				p, err := predicate.Bind(tc.filter, tt.fields, part)
				if err != nil {
					t.Fatal(err)
				}
				o.Filter, ro.Filter = p, p
			}
			plan, err := tt.tbl.PlanIncremental(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			got := sortPerSnapshot(readChangeLines(t, tt.tbl, plan, ro))
			if want := sortPerSnapshot(tc.want); !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestIncrementalErrors(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1"})
	for i := 0; i < 3; i++ {
		tt.commit(t, fmt.Sprintf(`[{"id": %d, "v": "x"}]`, i), false)
	}
	expire(t, tt.tbl, 1)
	tests := []struct {
		name     string
		from, to int64
		want     error
		msg      string
	}{
		{"reversed", 2, 1, nil, "empty or reversed"},
		{"beyond latest", 0, 9, table.ErrNotFound, "does not exist"},
		{"expired", 0, 3, table.ErrSnapshotExpired, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tt.tbl.PlanIncremental(ctx, table.IncrementalOptions{From: tc.from, To: tc.to})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v (%q)", err, tc.want, tc.msg)
			}
		})
	}
	// (1, 3] is still readable: snapshot 1 itself is not needed.
	if _, err := tt.tbl.PlanIncremental(ctx, table.IncrementalOptions{From: 1, To: 3}); err != nil {
		t.Fatal(err)
	}
}

// expire deletes snapshot files up to and including id, as snapshot expiry would (data
// files are kept; nothing here needs them gone).
func expire(t testing.TB, tbl *table.Table, id int64) {
	t.Helper()
	ctx := context.Background()
	for i := int64(1); i <= id; i++ {
		if err := tbl.FileIO().Delete(ctx, tbl.Join(format.SnapshotPath(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.FileIO().WriteFile(ctx, tbl.Join(format.SnapshotDir, format.EarliestHint), []byte(fmt.Sprint(id+1))); err != nil {
		t.Fatal(err)
	}
}

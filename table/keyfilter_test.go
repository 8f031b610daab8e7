package table_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// A filter on primary-key columns alone is applied to the merge's inputs as well as to
// its output: reads of several overlapping sorted runs (updates, deletions, partial
// updates) return exactly the filtered rows of the unfiltered read.
func TestKeyFilterBeforeMerge(t *testing.T) {
	ctx := context.Background()
	for _, engine := range []string{"deduplicate", "partial-update"} {
		t.Run(engine, func(t *testing.T) {
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			fields, err := types.ParseColumns("id BIGINT NOT NULL, k INT NOT NULL, v STRING, n INT")
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
				Fields: fields, PrimaryKeys: []string{"id", "k"},
				Options: map[string]string{"bucket": "2", "merge-engine": engine, "num-sorted-run.compaction-trigger": "100"},
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(5, 6))
			for commit := 1; commit <= 6; commit++ {
				var rows []string
				for i := 0; i < 40; i++ {
					id, k := rnd.IntN(30), rnd.IntN(3)
					kind := "+I"
					if engine == "deduplicate" && rnd.IntN(8) == 0 {
						kind = "-D"
					}
					v, n := fmt.Sprintf(`"v%d-%d"`, commit, i), fmt.Sprint(rnd.IntN(100))
					if engine == "partial-update" && rnd.IntN(2) == 0 {
						v = "null"
					}
					rows = append(rows, fmt.Sprintf(`{"id":%d,"k":%d,"v":%s,"n":%s,"_ROW_KIND":%q}`, id, k, v, n, kind))
				}
				writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(commit))
			}
			all := readRows(t, tbl, "")
			if len(all) < 20 {
				t.Fatalf("only %d rows", len(all))
			}
			for _, c := range []struct {
				where string
				keep  func(r map[string]any) bool
			}{
				{"id < 10", func(r map[string]any) bool { return num(r["id"]) < 10 }},
				{"id >= 12 AND id <= 20", func(r map[string]any) bool { return num(r["id"]) >= 12 && num(r["id"]) <= 20 }},
				{"id = 3 OR k = 2", func(r map[string]any) bool { return num(r["id"]) == 3 || num(r["k"]) == 2 }},
				{"k != 1", func(r map[string]any) bool { return num(r["k"]) != 1 }},
				{"id > 100", func(r map[string]any) bool { return false }},
				{"n < 50", func(r map[string]any) bool { return r["n"] != nil && num(r["n"]) < 50 }},
				{"id < 20 AND v = 'x'", func(r map[string]any) bool { return false }},
			} {
				got := readRows(t, tbl, c.where)
				var want []string
				for _, l := range all {
					var r map[string]any
					if err := json.Unmarshal([]byte(l), &r); err != nil {
						t.Fatal(err)
					}
					if c.keep(r) {
						want = append(want, l)
					}
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("where %s:\ngot  %v\nwant %v", c.where, got, want)
				}
			}
		})
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func readRows(t *testing.T, tbl *table.Table, where string) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), tbl, export.Options{Where: where}, &buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	sort.Strings(lines)
	return lines
}

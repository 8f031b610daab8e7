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
	"github.com/tarnlake/tarn/predicate"
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
				got, want := readRows(t, tbl, c.where), keepRows(t, all, c.keep)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("where %s:\ngot  %v\nwant %v", c.where, got, want)
				}
			}
		})
	}
}

// keepRows returns the JSON rows keep accepts.
func keepRows(t *testing.T, rows []string, keep func(r map[string]any) bool) []string {
	t.Helper()
	var out []string
	for _, l := range rows {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if keep(r) {
			out = append(out, l)
		}
	}
	return out
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

// A filter pinning the whole bucket key to a few values (=, IN, AND, OR) plans only the
// buckets those keys hash to, as Paimon's scans do; the rows equal the filtered rows of a
// full read. Filters that leave part of the key free, or pin it by a type whose literal
// may encode differently (DOUBLE), plan every bucket.
func TestBucketKeyFilterPlansFewerBuckets(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns("p INT NOT NULL, id BIGINT NOT NULL, s STRING NOT NULL, x DOUBLE NOT NULL, v INT")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"p", "id", "s"}, PartitionKeys: []string{"p"},
		Options: map[string]string{"bucket": "8"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	dbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "d"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"x"}, Options: map[string]string{"bucket": "8"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for commit := 1; commit <= 3; commit++ {
		var rows []string
		for i := 0; i < 60; i++ {
			rows = append(rows, fmt.Sprintf(`{"p":%d,"id":%d,"s":"%c","x":%d.5,"v":%d}`, i%2, i%20, 'a'+i%3, i, commit))
		}
		writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(commit))
		writeCommit(t, dbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(commit))
	}
	buckets := func(tbl *table.Table, where string) int { return plannedBuckets(t, tbl, where) }
	all := readRows(t, tbl, "")
	allBuckets := buckets(tbl, "v > 0")
	if allBuckets < 10 {
		t.Fatalf("the rows fill %d partition buckets; want most of the 16", allBuckets)
	}
	for _, c := range []struct {
		where       string
		keep        func(r map[string]any) bool
		mostBuckets int // 0: every bucket
	}{
		{"id = 3 AND s = 'a'", func(r map[string]any) bool { return num(r["id"]) == 3 && r["s"] == "a" }, 2},
		{"p = 1 AND id = 3 AND s = 'a'", func(r map[string]any) bool { return num(r["p"]) == 1 && num(r["id"]) == 3 && r["s"] == "a" }, 1},
		{"id IN (1, 2, 5) AND s = 'b' AND v > 1", func(r map[string]any) bool {
			return (num(r["id"]) == 1 || num(r["id"]) == 2 || num(r["id"]) == 5) && r["s"] == "b" && num(r["v"]) > 1
		}, 6},
		{"(id = 1 AND s = 'a') OR (id = 2 AND s = 'c')", func(r map[string]any) bool {
			return (num(r["id"]) == 1 && r["s"] == "a") || (num(r["id"]) == 2 && r["s"] == "c")
		}, 8},
		{"id = 1 AND id = 2 AND s = 'a'", func(r map[string]any) bool { return false }, 0},
		{"id = 3", func(r map[string]any) bool { return num(r["id"]) == 3 }, allBuckets},
		{"id = 3 OR s = 'a'", func(r map[string]any) bool { return num(r["id"]) == 3 || r["s"] == "a" }, allBuckets},
	} {
		t.Run(c.where, func(t *testing.T) {
			got, want := readRows(t, tbl, c.where), keepRows(t, all, c.keep)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// Key statistics prune some files of unpinned keys too: compare with the
			// same filter as ranges, which pin nothing.
			n := buckets(tbl, c.where)
			if c.mostBuckets == allBuckets {
				ranged := strings.NewReplacer("id = 3", "id >= 3 AND id <= 3", "s = 'a'", "s >= 'a' AND s <= 'a'").Replace(c.where)
				if m := buckets(tbl, ranged); n != m {
					t.Fatalf("planned %d partition buckets, %d for %q", n, m, ranged)
				}
				return
			}
			if n > c.mostBuckets {
				t.Fatalf("planned %d partition buckets, want at most %d", n, c.mostBuckets)
			}
		})
	}
	// x = 3.5 matches one row; statistics prune some files, the bucket key none.
	if n, want := buckets(dbl, "x = 3.5"), buckets(dbl, "x >= 3.5 AND x <= 3.5"); n != want {
		t.Fatalf("a DOUBLE bucket key planned %d buckets for x = 3.5, %d for the range", n, want)
	}
}

// Bucket selection encodes a filter's literals as the writer encodes the key: for a key of
// INT, DATE, BOOLEAN, SMALLINT and BYTES columns, every row is found by a filter pinning
// its key, which plans one bucket.
func TestBucketKeyFilterKeyTypes(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns("k INT NOT NULL, d DATE NOT NULL, b BOOLEAN NOT NULL, s SMALLINT NOT NULL, y BYTES NOT NULL, v INT")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"k", "d", "b", "s", "y"}, Options: map[string]string{"bucket": "8"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := 0; i < 40; i++ {
		// BYTES in JSON Lines is base64: "eA==" is "x", "eXk=" is "yy".
		y := []string{"eA==", "eXk="}[i%2]
		rows = append(rows, fmt.Sprintf(`{"k":%d,"d":"2024-01-%02d","b":%t,"s":%d,"y":"%s","v":%d}`, i, 1+i%28, i%3 == 0, -i, y, i))
	}
	writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", 1)
	for i := 0; i < 40; i++ {
		where := fmt.Sprintf("k = %d AND d = DATE '2024-01-%02d' AND b = %t AND s = %d AND y = '%s'", i, 1+i%28, i%3 == 0, -i, []string{"x", "yy"}[i%2])
		got := readRows(t, tbl, where)
		if len(got) != 1 || !strings.Contains(got[0], fmt.Sprintf(`"v":%d}`, i)) {
			t.Fatalf("%s: %v, want the row with v %d", where, got, i)
		}
		if n := plannedBuckets(t, tbl, where); n != 1 {
			t.Fatalf("%s: planned %d buckets, want 1", where, n)
		}
	}
}

// plannedBuckets is the number of partition buckets a scan of tbl with the filter where
// plans.
func plannedBuckets(t *testing.T, tbl *table.Table, where string) int {
	t.Helper()
	ctx := context.Background()
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := predicate.Bind(where, s.Fields, s.PartitionKeys)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sp := range plan.Splits {
		seen[fmt.Sprint(sp.PartitionValues, sp.Bucket)] = true
	}
	return len(seen)
}

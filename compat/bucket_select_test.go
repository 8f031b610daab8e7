package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// A filter pinning a row's whole primary key plans one bucket of a fixed-bucket table
// Paimon wrote (the bucket Tarn computes from the filter's literals), and that bucket holds
// the row: every row of the latest snapshot of each such reference table whose key columns
// are integers, strings or dates is found this way, with exactly Paimon's values.
func TestBucketSelectionFindsPaimonsRows(t *testing.T) {
	requireOracle(t)
	dir := generated(t, paimonLatest)
	ctx := context.Background()
	tables := 0
	for _, rt := range loadManifest(t, dir) {
		if rt.Bucket < 2 || len(rt.PrimaryKeys) == 0 || len(rt.Snapshots) == 0 || gapFor(rt) != "" {
			continue
		}
		tbl, err := table.Open(ctx, fileio.NewLocal(), filepath.Join(dir, rt.Path))
		if err != nil {
			t.Fatal(err)
		}
		schema, err := tbl.LatestSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		literal := map[string]func(any) (string, bool){}
		supported := true
		for _, k := range schema.PrimaryKeys {
			f, _ := schema.Field(k)
			switch f.Type.Root {
			case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
				literal[k] = func(v any) (string, bool) { n, ok := v.(json.Number); return n.String(), ok }
			case types.VarChar:
				literal[k] = func(v any) (string, bool) {
					s, ok := v.(string)
					return "'" + strings.ReplaceAll(s, "'", "''") + "'", ok && !strings.ContainsAny(s, "\\\n")
				}
			case types.Date:
				literal[k] = func(v any) (string, bool) { s, ok := v.(string); return "DATE '" + s + "'", ok }
			default:
				supported = false
			}
		}
		if !supported {
			continue
		}
		latest := rt.Snapshots[len(rt.Snapshots)-1]
		data, err := os.ReadFile(filepath.Join(dir, rt.Expected, fmt.Sprintf("snapshot-%d.jsonl", latest)))
		if err != nil {
			t.Fatal(err)
		}
		tables++
		t.Run(rt.Name, func(t *testing.T) {
			found := 0
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if line == "" {
					continue
				}
				dec := json.NewDecoder(strings.NewReader(line))
				dec.UseNumber()
				var row map[string]any
				if err := dec.Decode(&row); err != nil {
					t.Fatal(err)
				}
				var conds []string
				for _, k := range schema.PrimaryKeys {
					lit, ok := literal[k](row[k])
					if !ok {
						t.Fatalf("key %s of %s: %v", k, line, row[k])
					}
					conds = append(conds, k+" = "+lit)
				}
				where := strings.Join(conds, " AND ")
				var buf bytes.Buffer
				if _, err := export.Write(ctx, tbl, export.Options{Where: where, Format: render.JSONL}, &buf); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if got := strings.TrimSpace(buf.String()); got != line {
					t.Fatalf("%s:\n  tarn:   %s\n  paimon: %s", where, got, line)
				}
				p, err := predicate.Bind(where, schema.Fields, schema.PartitionKeys)
				if err != nil {
					t.Fatal(err)
				}
				plan, err := tbl.Plan(ctx, table.ScanOptions{Filter: p})
				if err != nil {
					t.Fatal(err)
				}
				if len(plan.Splits) != 1 {
					t.Fatalf("%s: planned %d buckets, want 1", where, len(plan.Splits))
				}
				found++
			}
			t.Logf("%d rows, each in the one bucket planned for its key", found)
		})
	}
	if tables < 5 {
		t.Fatalf("only %d reference tables have fixed buckets and supported key types", tables)
	}
}

package table_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/table"
)

// Filtered scans prune by the statistics each metadata.stats-mode leaves, and never drop
// a file that holds matching rows: two files (k 1..3 with strings "apple...", k 10..12
// with "melon..."), and per mode the files a filter keeps.
func TestStatsModesPruneSafely(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("k INT, s STRING, v BIGINT")
	cases := []struct {
		name    string
		options map[string]string
		where   string
		files   int // files the plan keeps
		rows    int // rows of the filtered scan
	}{
		{"default prunes by int", nil, "k > 5", 1, 3},
		{"default prunes by string", nil, "s = 'melon-long-string-2'", 1, 1},
		{"truncate(2) keeps both prefixes apart", map[string]string{"metadata.stats-mode": "truncate(2)"}, "s < 'b'", 1, 3},
		{"truncate(2) prunes by prefix", map[string]string{"metadata.stats-mode": "truncate(2)"}, "s = 'melon-long-string-2'", 1, 1},
		{"full", map[string]string{"metadata.stats-mode": "full"}, "s >= 'melon-long-string-3'", 1, 1},
		{"counts keeps every file for bounds", map[string]string{"metadata.stats-mode": "counts"}, "k > 5", 2, 3},
		{"counts prunes all-null columns", map[string]string{"metadata.stats-mode": "counts"}, "v IS NOT NULL", 1, 3},
		{"none dense", map[string]string{"metadata.stats-mode": "none"}, "k > 5", 2, 3},
		{"none sparse", map[string]string{"metadata.stats-mode": "none", "metadata.stats-dense-store": "false"}, "v IS NOT NULL", 2, 3},
		{"field mode over none", map[string]string{"metadata.stats-mode": "none", "fields.k.stats-mode": "full"}, "k > 5", 1, 3},
		{"keep first column", map[string]string{"metadata.stats-keep-first-n-columns": "1"}, "s = 'apple-long-string-1'", 2, 1},
		{"keep first column prunes it", map[string]string{"metadata.stats-keep-first-n-columns": "1"}, "k < 5", 1, 3},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: fmt.Sprint("t", i)}, catalog.TableSpec{Fields: fields, Options: c.options}, false)
			if err != nil {
				t.Fatal(err)
			}
			writeCommit(t, tbl, fields, false, `[{"k":1,"s":"apple-long-string-1","v":null},{"k":2,"s":"apple-long-string-2","v":null},{"k":3,"s":"apple-long-string-3","v":null}]`, 1)
			writeCommit(t, tbl, fields, false, `[{"k":10,"s":"melon-long-string-1","v":1},{"k":11,"s":"melon-long-string-2","v":2},{"k":12,"s":"melon-long-string-3","v":3}]`, 2)
			p, err := predicate.Bind(c.where, fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{Filter: p})
			if err != nil {
				t.Fatal(err)
			}
			files := 0
			for _, s := range plan.Splits {
				files += len(s.Files)
			}
			if files != c.files {
				t.Errorf("the plan keeps %d files, want %d", files, c.files)
			}
			var out bytes.Buffer
			if _, err := export.Write(ctx, tbl, export.Options{Where: c.where}, &out); err != nil {
				t.Fatal(err)
			}
			rows := strings.Count(out.String(), "\n")
			if rows != c.rows {
				t.Errorf("the filtered scan returns %d rows, want %d", rows, c.rows)
			}
		})
	}
}

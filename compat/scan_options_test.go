package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// A table's own scan options time-travel its batch reads in Tarn as in Paimon
// (CoreOptions.startupMode): scan.snapshot-id, scan.tag-name, scan.version,
// scan.timestamp-millis and scan.mode (compacted-full too); a mode with another mode's option is refused. Paimon commits three snapshots,
// compacting after the second, and tag t1 on the first; for each option set on the table, Tarn's read equals Paimon's.
func TestScanOptionsReadAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "db", Table: "s"}
	tbl, _ := newTable(t, cat, id.Table, "id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1"}})
	for c, rows := range []string{`{"id":1,"v":"a"}`, `{"id":1,"v":"b"}` + "\n" + `{"id":2,"v":"x"}`, `{"id":3,"v":"y"}`} {
		if out, err := oracleStdin(ctx, rows+"\n", "write", tbl.Path()); err != nil {
			t.Fatalf("commit %d: %v\n%s", c+1, err, out)
		}
		if c == 1 {
			// Snapshot 3 is a COMPACT one (scan.mode = compacted-full reads it), 4 the last.
			if out, err := oracle(ctx, paimonLatest, "compact", tbl.Path(), "--full"); err != nil {
				t.Fatalf("compaction: %v\n%s", err, out)
			}
		}
	}
	if _, err := tbl.CreateTag(ctx, "t1", 1, 0); err != nil {
		t.Fatal(err)
	}
	// Paimon's SchemaValidation refuses a starting mode with another mode's option.
	if _, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{catalog.SetOption{Key: "scan.mode", Value: "latest"}, catalog.SetOption{Key: "scan.snapshot-id", Value: "1"}}); err == nil ||
		!strings.Contains(err.Error(), "scan.snapshot-id must be null when you use latest for scan.mode") {
		t.Errorf("scan.mode latest with scan.snapshot-id: %v, want Paimon's refusal", err)
	}
	second, err := tbl.Snapshot(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]string{
		{"scan.snapshot-id", "2"},
		{"scan.tag-name", "t1"},
		{"scan.version", "t1"},
		{"scan.version", "2"},
		{"scan.timestamp-millis", fmt.Sprint(second.TimeMillis)},
		{"scan.mode", "latest"},
		{"scan.mode", "compacted-full"},
		{"scan.mode", "from-snapshot", "scan.snapshot-id", "1"},
	} {
		t.Run(strings.Join(opts, "="), func(t *testing.T) {
			var set, unset []catalog.SchemaChange
			for i := 0; i < len(opts); i += 2 {
				set = append(set, catalog.SetOption{Key: opts[i], Value: opts[i+1]})
				unset = append(unset, catalog.RemoveOption{Key: opts[i]})
			}
			if _, err := cat.AlterTable(ctx, id, set); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := cat.AlterTable(ctx, id, unset); err != nil {
					t.Fatal(err)
				}
			}()
			want, err := oracle(ctx, paimonLatest, "read", tbl.Path())
			if err != nil {
				t.Fatal(err)
			}
			got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Tarn reads\n%s\nPaimon reads\n%s", got, want)
			}
		})
	}
}

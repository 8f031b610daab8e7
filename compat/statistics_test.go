package compat_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Table statistics (Spark's ANALYZE TABLE; Paimon's BatchTableCommit.updateStatistics)
// live in a statistics file that every later snapshot keeps while the schema is the one
// they describe, as Paimon's commit keeps them (FileStoreCommitImpl.tryCommitOnce). Tarn's
// commits keep them too, expiry and orphan cleaning leave the file, and a commit after a
// schema change drops them.
func TestStatisticsKeptAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "db", Table: "st"}
	tbl, fields := newTable(t, cat, id.Table, "id INT NOT NULL, v STRING", catalog.TableSpec{PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1"}})
	if out, err := oracleStdin(ctx, `{"id":1,"v":"a"}`+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	out, err := oracle(ctx, paimonLatest, "analyze", tbl.Path())
	if err != nil {
		t.Fatalf("Paimon's analyze: %v\n%s", err, out)
	}
	stats := strings.TrimSpace(string(out))
	if !strings.HasPrefix(stats, "stat-") {
		t.Fatalf("analyze printed %q, want a statistics file name", stats)
	}
	snap, err := commitJSONL(ctx, tbl, fields, []string{`{"id":2,"v":"b"}`}, 1)
	if err != nil {
		t.Fatal(err)
	}
	statsOf := func(id int64) string {
		t.Helper()
		s, err := tbl.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Statistics == nil {
			return ""
		}
		return *s.Statistics
	}
	if got := statsOf(snap); got != stats {
		t.Errorf("Tarn's snapshot %d has statistics %q, want %q kept from the ANALYZE snapshot", snap, got, stats)
	}
	if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMax: 1, RetainMin: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.CleanOrphans(ctx, time.Nanosecond, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tbl.Join(format.StatisticsDir, stats)); err != nil {
		t.Errorf("the statistics file the latest snapshot keeps is gone: %v", err)
	}
	if out, err := oracle(ctx, paimonLatest, "check", tbl.Path(), "--all"); err != nil {
		t.Fatalf("Paimon's check: %v\n%s", err, out)
	}

	if _, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{catalog.AddColumn{Path: []string{"w"}, Type: types.StringType()}}); err != nil {
		t.Fatal(err)
	}
	if tbl, err = cat.LoadTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap, err = commitJSONL(ctx, tbl, s.Fields, []string{`{"id":3,"v":"c","w":"x"}`}, 2); err != nil {
		t.Fatal(err)
	}
	if got := statsOf(snap); got != "" {
		t.Errorf("after a schema change Tarn's snapshot keeps statistics %q of the old schema", got)
	}
}

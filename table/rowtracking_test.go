package table_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// A commit to a row tracking table hands its appended files row ids from the previous
// snapshot's nextRowId, in commit order, and gives their rows the snapshot's id as
// sequence number (Paimon's RowTrackingCommitUtils.assignRowTracking); the compat tests
// check the ids as Paimon reads them. A file holding only some columns (data evolution)
// is refused by scans, and compaction leaves the table alone.
func TestRowTrackingCommit(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("k INT, dt STRING NOT NULL")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "rt"}, catalog.TableSpec{Fields: fields, PartitionKeys: []string{"dt"},
		Options: map[string]string{"row-tracking.enabled": "true", "data-evolution.enabled": "true"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"k": 1, "dt": "a"}, {"k": 2, "dt": "b"}, {"k": 3, "dt": "a"}]`, 1)
	writeCommit(t, tbl, fields, false, `[{"k": 4, "dt": "b"}, {"k": 5, "dt": "b"}]`, 2)
	for id, want := range map[int64]int64{1: 3, 2: 5} {
		s, err := tbl.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.NextRowID == nil || *s.NextRowID != want {
			t.Errorf("snapshot %d: nextRowId %v, want %d", id, s.NextRowID, want)
		}
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	covered := make([]int, 5)
	for _, sp := range plan.Splits {
		for _, f := range sp.Files {
			if f.FirstRowID == nil {
				t.Fatalf("file %s has no first row id", f.FileName)
			}
			lo := *f.FirstRowID
			snap := int64(1) // row ids 0..2 are the first commit's
			if lo >= 3 {
				snap = 2
			}
			if f.MinSequenceNumber != snap || f.MaxSequenceNumber != snap {
				t.Errorf("file %s (row ids from %d): sequence numbers %d..%d, want snapshot %d's id", f.FileName, lo, f.MinSequenceNumber, f.MaxSequenceNumber, snap)
			}
			for i := lo; i < lo+f.RowCount; i++ {
				covered[i]++
			}
		}
	}
	for i, n := range covered {
		if n != 1 {
			t.Errorf("row id %d is held by %d files, want 1", i, n)
		}
	}

	sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
	if err != nil || sum.Skipped == "" || sum.SnapshotID != 0 {
		t.Errorf("compaction: %+v, %v; want it skipped", sum, err)
	}

	// A column file of data evolution: the scan refuses the table instead of reading its
	// rows twice.
	msgs := prepareRows(t, tbl, fields, false, `[{"k": 9, "dt": "a"}]`)
	msgs[0].NewFiles[0].WriteCols = []string{"k"}
	if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: 3, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Plan(ctx, table.ScanOptions{}); err == nil || !strings.Contains(err.Error(), "holds only columns k of a data evolution table") {
		t.Errorf("scan of a table with a column file: %v, want a refusal", err)
	}
}

// A primary key without every partition key makes Paimon's cross-partition upsert table,
// whose keys move between partitions through a global index of all keys: Tarn reads it but
// refuses to write it, since a key written to a second partition would be a duplicate.
func TestCrossPartitionUpsertTableRefusesWrites(t *testing.T) {
	ctx := context.Background()
	fio := fileio.NewLocal()
	cat := catalog.New(fio, t.TempDir())
	fields, _ := types.ParseColumns("k INT NOT NULL, dt STRING NOT NULL")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "x"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"k", "dt"}, PartitionKeys: []string{"dt"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Paimon creates such tables; Tarn's catalog does not, so the schema is edited here.
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.PrimaryKeys = []string{"k"}
	if err := fio.WriteFile(ctx, tbl.Join(format.SchemaPath(s.ID)), s.Marshal()); err != nil {
		t.Fatal(err)
	}
	tbl, err = table.Open(ctx, fio, tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.NewWriter(ctx, table.WriterOptions{}); err == nil || !strings.Contains(err.Error(), "cross-partition upsert") {
		t.Errorf("writer of a cross-partition upsert table: %v, want a refusal", err)
	}
}

// Paimon's batch reads of a table with scan.fallback-branch take the partitions it lacks
// from that branch; Tarn does not read branches, so its reads refuse the table rather
// than return fewer rows, with or without time travel.
func TestScanRefusesFallbackBranch(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, _ := types.ParseColumns("k INT NOT NULL, dt STRING NOT NULL")
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "fb"}, catalog.TableSpec{Fields: fields, PartitionKeys: []string{"dt"},
		Options: map[string]string{"scan.fallback-branch": "streaming"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, tbl, fields, false, `[{"k": 1, "dt": "a"}]`, 1)
	for _, o := range []table.ScanOptions{{}, {SnapshotID: 1}} {
		if _, err := tbl.WithScanDefaults(ctx, o); err == nil || !strings.Contains(err.Error(), "scan.fallback-branch") {
			t.Errorf("read %+v of a table with scan.fallback-branch: %v, want a refusal", o, err)
		}
	}
}

package table_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// lcCreateDecoupled creates lcCreatePK's table with the given changelog producer,
// keeping 2 snapshots and the changes of at least 4 and at most 6.
func lcCreateDecoupled(t *testing.T, producer string) *table.Table {
	return lcCreatePK(t, fileio.NewMemory(), "/wh", map[string]string{"changelog-producer": producer,
		"snapshot.num-retained.min": "2", "snapshot.num-retained.max": "2", "snapshot.time-retained": "1ms",
		"changelog.num-retained.min": "4", "changelog.num-retained.max": "6"})
}

// With changelog.num-retained.* above snapshot.num-retained.*, expired snapshots live on
// as changelog/changelog-N, a tail reads through them, and changelog expiry removes them
// by the changelog's retention (Paimon's ExpireChangelogImpl; compat's
// TestDecoupledChangelogExpiryAsPaimon compares the files left with Paimon's).
func TestDecoupledChangelogLifecycle(t *testing.T) {
	for _, producer := range []string{"none", "input"} {
		t.Run(producer, func(t *testing.T) {
			ctx := context.Background()
			tbl := lcCreateDecoupled(t, producer)
			content := lcHistory(t, tbl) // snapshots 1..8; 6 is a full compaction
			if _, err := tbl.CreateTag(ctx, "seven", 7, 0); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			changelogs := func() []int64 {
				var ids []int64
				entries, err := tbl.FileIO().List(ctx, tbl.Join(format.ChangelogDir))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if id, ok := format.ParseIDSuffix(e.Name(), format.ChangelogPrefix); ok {
						ids = append(ids, id)
					}
				}
				slices.Sort(ids)
				return ids
			}
			hint := func(name string) string {
				data, _ := tbl.FileIO().ReadFile(ctx, tbl.Join(format.ChangelogDir, name))
				return string(data)
			}

			tail5 := func() []string {
				f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 5, Heartbeat: 20 * time.Millisecond, PollInterval: 10 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				got := follow(t, f, []string{"id", "v", "dt"}, untilSnapshot(8))
				slices.Sort(got.lines)
				return got.lines
			}
			before := tail5()
			if !slices.Contains(before, `{"_SNAPSHOT_ID":5,"_ROW_KIND":"+I","id":8,"v":"h","dt":"z"}`) || !slices.Contains(before, `{"_SNAPSHOT_ID":8,"_ROW_KIND":"+I","id":7,"v":"G","dt":"x"}`) {
				t.Fatalf("tail from snapshot 5 before expiry lacks changes:\n%s", strings.Join(before, "\n"))
			}

			dry, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dry.Changelogs, lcRange(1, 6)) || len(changelogs()) != 0 {
				t.Fatalf("dry run: would keep changelogs %v, wrote %v; want 1..6 and none", dry.Changelogs, changelogs())
			}

			// Snapshots 1..6 expire and live on as changelogs; then the changelog's
			// retention (at least 4 changes back from snapshot 8, at most 6; always the
			// newest changelog) expires changelogs 1..4.
			res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Expired, lcRange(1, 6)) || !slices.Equal(res.Changelogs, lcRange(1, 6)) || !slices.Equal(res.ExpiredChangelogs, lcRange(1, 4)) {
				t.Fatalf("expired snapshots %v, kept changelogs %v, expired changelogs %v; want 1..6, 1..6, 1..4", res.Expired, res.Changelogs, res.ExpiredChangelogs)
			}
			if got := changelogs(); !slices.Equal(got, lcRange(5, 6)) || hint(format.LatestHint) != "6" || hint(format.EarliestHint) != "5" {
				t.Fatalf("changelogs %v, hints LATEST %q EARLIEST %q; want 5..6, 6 and 5", got, hint(format.LatestHint), hint(format.EarliestHint))
			}

			// A tail from snapshot 5 reads through changelog-5 (its changelog or, without
			// a producer, its new data files) what it read from snapshot-5.
			if got := tail5(); !slices.Equal(got, before) {
				t.Fatalf("tail from snapshot 5 after expiry:\n%s\nbefore:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
			}

			// A consumer can hold a long-lived changelog, not one already expired; it
			// holds back the expiry of snapshots and changelogs alike.
			if _, err := tbl.RegisterConsumer(ctx, "old", 4); !errors.Is(err, table.ErrNotFound) {
				t.Fatalf("consumer of expired changelog 4: %v, want ErrNotFound", err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "reader", 5); err != nil {
				t.Fatalf("consumer of long-lived changelog 5: %v", err)
			}
			lcWrite(t, tbl, `[{"id":10,"v":"j","dt":"x"}]`, false, false)
			lcWrite(t, tbl, `[{"id":11,"v":"k","dt":"x"}]`, false, false)
			time.Sleep(5 * time.Millisecond)
			if res, err = tbl.ExpireSnapshots(ctx, table.ExpireOptions{}); err != nil {
				t.Fatal(err)
			}
			if len(res.Expired)+len(res.ExpiredChangelogs) != 0 || !slices.Equal(changelogs(), lcRange(5, 6)) {
				t.Fatalf("with a consumer at 5: expired snapshots %v and changelogs %v, %v left; want none and 5..6", res.Expired, res.ExpiredChangelogs, changelogs())
			}

			// Without it, snapshots 7 and 8 expire into changelogs, and changelogs 5 and 6
			// fall out of the retention.
			if err := tbl.DeleteConsumer(ctx, "reader"); err != nil {
				t.Fatal(err)
			}
			if res, err = tbl.ExpireSnapshots(ctx, table.ExpireOptions{}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Expired, lcRange(7, 8)) || !slices.Equal(res.ExpiredChangelogs, lcRange(5, 6)) || !slices.Equal(changelogs(), lcRange(7, 8)) {
				t.Fatalf("second expiry: snapshots %v, changelogs %v expired, %v left; want 7..8, 5..6 and 7..8", res.Expired, res.ExpiredChangelogs, changelogs())
			}

			// A rollback to the tag on snapshot 7, expired by now, deletes the long-lived
			// changelogs after it, as Paimon's RollbackHelper does.
			rb, err := tbl.RollbackToTag(ctx, "seven")
			if err != nil {
				t.Fatal(err)
			}
			if !rb.Recreated || !slices.Equal(rb.DeletedChangelogs, []int64{8}) || !slices.Equal(changelogs(), []int64{7}) || hint(format.LatestHint) != "7" {
				t.Fatalf("rollback: recreated %v, deleted changelogs %v, %v left, LATEST %q; want true, [8], [7], 7", rb.Recreated, rb.DeletedChangelogs, changelogs(), hint(format.LatestHint))
			}
			if got := lcScan(t, tbl, table.ScanOptions{}); got != content[7] {
				t.Fatalf("after the rollback the table reads\n%s\nwant snapshot 7's\n%s", got, content[7])
			}
		})
	}
}

// An expiry interrupted after writing long-lived changelogs leaves changelogs of snapshots
// that still exist; changelog expiry never goes past the earliest snapshot, so it does not
// delete files those snapshots use.
func TestChangelogExpiryStopsAtEarliestSnapshot(t *testing.T) {
	ctx := context.Background()
	tbl := lcCreatePK(t, fileio.NewMemory(), "/wh", map[string]string{"changelog-producer": "input",
		"snapshot.num-retained.min": "1", "snapshot.num-retained.max": "8", "snapshot.time-retained": "1h",
		"changelog.num-retained.min": "1", "changelog.num-retained.max": "20", "changelog.time-retained": "1ms"})
	lcHistory(t, tbl)
	for id := int64(1); id <= 3; id++ { // what an interrupted expiry of snapshots 1..3 leaves
		data, err := tbl.FileIO().ReadFile(ctx, tbl.Join(format.SnapshotPath(id)))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.FileIO().WriteFile(ctx, tbl.Join(format.ChangelogPath(id)), data); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired)+len(res.ExpiredChangelogs) != 0 || res.Deleted.Files() != 0 {
		t.Fatalf("expired snapshots %v and changelogs %v, deleted %v; want nothing (snapshots are an hour young)", res.Expired, res.ExpiredChangelogs, res.Deleted.Paths)
	}
}

// Long-lived changelogs that the options no longer retain (the changelog's retention was
// lowered to the snapshots') are retired by the next expiry, with every file that only
// they used: the table is left with exactly what its snapshots need.
func TestRetiredChangelogs(t *testing.T) {
	for _, producer := range []string{"none", "input"} {
		t.Run(producer, func(t *testing.T) {
			ctx := context.Background()
			tbl := lcCreateDecoupled(t, producer)
			content := lcHistory(t, tbl)
			time.Sleep(5 * time.Millisecond)
			res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.ExpiredChangelogs, lcRange(1, 4)) {
				t.Fatalf("expired changelogs %v, want 1..4", res.ExpiredChangelogs)
			}
			if _, err := catalog.New(tbl.FileIO(), "/wh").AlterTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, []catalog.SchemaChange{
				catalog.RemoveOption{Key: "changelog.num-retained.min"}, catalog.RemoveOption{Key: "changelog.num-retained.max"},
			}); err != nil {
				t.Fatal(err)
			}
			if res, err = tbl.ExpireSnapshots(ctx, table.ExpireOptions{}); err != nil {
				t.Fatal(err)
			}
			if len(res.Expired) != 0 || !slices.Equal(res.ExpiredChangelogs, lcRange(5, 6)) {
				t.Fatalf("expired snapshots %v and changelogs %v; want none and 5..6", res.Expired, res.ExpiredChangelogs)
			}
			lcAssertExact(t, tbl)
			lcAssertReadable(t, tbl, content)
		})
	}
}

package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/table"
)

func TestRollback(t *testing.T) {
	tests := []struct {
		name        string
		expireFirst bool // expire all but the 2 newest snapshots first
		rollback    func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error)
		target      int64
		wantIDs     []int64
		wantTags    string
		recreated   bool
	}{
		{name: "to a snapshot", target: 5, wantIDs: lcRange(1, 5), wantTags: "map[t3:3 t5:5]",
			rollback: func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error) {
				return tbl.RollbackTo(ctx, 5)
			}},
		{name: "to a tag", target: 3, wantIDs: lcRange(1, 3), wantTags: "map[t3:3]",
			rollback: func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error) {
				return tbl.RollbackToTag(ctx, "t3")
			}},
		{name: "to the latest", target: 8, wantIDs: lcRange(1, 8), wantTags: "map[t3:3 t5:5 t7:7]",
			rollback: func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error) {
				return tbl.RollbackTo(ctx, 8)
			}},
		{name: "to an expired tag", expireFirst: true, target: 3, wantIDs: []int64{3}, wantTags: "map[t3:3]", recreated: true,
			rollback: func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error) {
				return tbl.RollbackToTag(ctx, "t3")
			}},
		{name: "to an expired snapshot held by a tag", expireFirst: true, target: 5, wantIDs: []int64{5}, wantTags: "map[t3:3 t5:5]", recreated: true,
			rollback: func(ctx context.Context, tbl *table.Table) (*table.RollbackResult, error) {
				return tbl.RollbackTo(ctx, 5)
			}},
	}
	for _, env := range lcEnvs {
		for _, tt := range tests {
			t.Run(env.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				fio, wh := env.open(t)
				tbl := lcCreatePK(t, fio, wh, nil)
				content := lcHistory(t, tbl)
				for name, id := range map[string]int64{"t3": 3, "t5": 5, "t7": 7} {
					if _, err := tbl.CreateTag(ctx, name, id, 0); err != nil {
						t.Fatal(err)
					}
				}
				if tt.expireFirst {
					if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 2, Now: lcFuture}); err != nil {
						t.Fatal(err)
					}
				}
				res, err := tt.rollback(ctx, tbl)
				if err != nil {
					t.Fatal(err)
				}
				if res.Target != tt.target || res.Recreated != tt.recreated {
					t.Fatalf("result %+v", res)
				}
				if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, tt.wantIDs) {
					t.Fatalf("snapshots %v, want %v", got, tt.wantIDs)
				}
				if got := fmt.Sprint(lcTagIDs(t, tbl)); got != tt.wantTags {
					t.Fatalf("tags %s, want %s", got, tt.wantTags)
				}
				latest, err := tbl.LatestSnapshot(ctx)
				if err != nil || latest.ID != tt.target {
					t.Fatalf("latest %v %v", latest, err)
				}
				for _, hint := range []string{"LATEST", "EARLIEST"} {
					data, err := fio.ReadFile(ctx, tbl.Join("snapshot", hint))
					want := fmt.Sprint(tt.wantIDs[0])
					if hint == "LATEST" {
						want = fmt.Sprint(tt.target)
					}
					if err != nil || string(data) != want {
						t.Errorf("%s hint %q %v, want %s", hint, data, err, want)
					}
				}
				lcAssertReadable(t, tbl, content)
				lcAssertExact(t, tbl)
				// Write again on top of the target.
				id := lcWrite(t, tbl, `[{"id":100,"v":"new","dt":"x"}]`, true, false)
				if id != tt.target+1 {
					t.Fatalf("the next commit made snapshot %d", id)
				}
				got := lcScan(t, tbl, table.ScanOptions{})
				if want := content[tt.target]; !strings.Contains(got, `{"id":100,"v":"new","dt":"x"}`) || strings.Count(got, "\n") != strings.Count(want, "\n")+1 {
					t.Fatalf("after writing on snapshot %d:\n%s\nbefore:\n%s", tt.target, got, want)
				}
				content[id] = got
				lcAssertReadable(t, tbl, content)
				lcAssertExact(t, tbl)
			})
		}
	}
}

func TestRollbackErrors(t *testing.T) {
	ctx := context.Background()
	tbl := lcCreatePK(t, fileio.NewMemory(), "/wh", nil)
	lcHistory(t, tbl)
	if _, err := tbl.RollbackTo(ctx, 99); !errors.Is(err, table.ErrNotFound) {
		t.Errorf("rollback to a missing snapshot: %v", err)
	}
	if _, err := tbl.RollbackToTag(ctx, "nope"); !errors.Is(err, table.ErrNotFound) {
		t.Errorf("rollback to a missing tag: %v", err)
	}
	if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, lcRange(1, 8)) {
		t.Errorf("a failed rollback changed the snapshots: %v", got)
	}
}

// Branches (branch/branch-<name>, created by Paimon from a tag) share the table's data
// and manifest files: expiry, tag deletion and orphan cleaning keep what they use.
func TestBranchesKeepTheirFiles(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, nil)
			content := lcHistory(t, tbl)
			if _, err := tbl.CreateTag(ctx, "b3", 3, 0); err != nil {
				t.Fatal(err)
			}
			// What Paimon's createBranch(branch, tag) writes.
			copyFile := func(from, to string) {
				data, err := fio.ReadFile(ctx, tbl.Join(from))
				if err != nil {
					t.Fatal(err)
				}
				if err := fio.WriteFile(ctx, tbl.Join(to), data); err != nil {
					t.Fatal(err)
				}
			}
			copyFile("tag/tag-b3", "branch/branch-dev/tag/tag-b3")
			copyFile("tag/tag-b3", "branch/branch-dev/snapshot/snapshot-3")
			copyFile("schema/schema-0", "branch/branch-dev/schema/schema-0")
			if _, err := tbl.DeleteTag(ctx, "b3"); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.CleanOrphans(ctx, time.Nanosecond, false); err != nil {
				t.Fatal(err)
			}
			// Read the branch's snapshot through a tag of the main branch.
			copyFile("branch/branch-dev/snapshot/snapshot-3", format.TagPath("check"))
			if got := lcScan(t, tbl, table.ScanOptions{Tag: "check"}); got != content[3] {
				t.Fatalf("branch snapshot reads\n%s\nwant\n%s", got, content[3])
			}
		})
	}
}

// Apache Paimon reads the table after every lifecycle operation (compat/oracle).
func TestLifecycleOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("the oracle runs Apache Paimon's Java library; skipped in -short mode")
	}
	ctx := context.Background()
	tbl := lcCreatePK(t, fileio.NewLocal(), t.TempDir(), map[string]string{"snapshot.num-retained.min": "1", "snapshot.time-retained": "1 ms"})
	content := lcHistory(t, tbl)
	for _, c := range []struct {
		name     string
		id       int64
		retained time.Duration
	}{{"t2", 2, 0}, {"t4", 4, time.Hour}, {"t5", 5, 0}} {
		if _, err := tbl.CreateTag(ctx, c.name, c.id, c.retained); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tbl.RegisterConsumer(ctx, "stream", 6); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{}); err != nil || len(res.Expired) != 5 {
		t.Fatalf("expire: %+v %v", res, err)
	}
	lcAssertExact(t, tbl)
	oracleCheck(t, tbl.Path())

	if _, err := tbl.DeleteTag(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if err := tbl.DeleteConsumer(ctx, "stream"); err != nil {
		t.Fatal(err)
	}
	if res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{}); err != nil || len(res.Expired) != 2 {
		t.Fatalf("expire: %+v %v", res, err)
	}
	if _, err := tbl.RollbackToTag(ctx, "t4"); err != nil {
		t.Fatal(err)
	}
	id := lcWrite(t, tbl, `[{"id":100,"v":"new","dt":"w"}]`, true, false)
	content[id] = lcScan(t, tbl, table.ScanOptions{})
	if _, err := tbl.CleanOrphans(ctx, time.Nanosecond, false); err != nil {
		t.Fatal(err)
	}
	lcAssertExact(t, tbl)
	lcAssertReadable(t, tbl, content)
	oracleCheck(t, tbl.Path())
}

// The whole lifecycle on S3 (a real MinIO server).
func TestLifecycleOnS3(t *testing.T) {
	ctx := context.Background()
	s3 := testenv.MinIO(t)
	fio, err := fileio.NewS3(ctx, s3.Options)
	if err != nil {
		t.Fatal(err)
	}
	tbl := lcCreatePK(t, fio, "s3://"+s3.Bucket+"/wh", nil)
	content := lcHistory(t, tbl)
	for name, id := range map[string]int64{"t2": 2, "t4": 4} {
		if _, err := tbl.CreateTag(ctx, name, id, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tbl.RegisterConsumer(ctx, "c", 6); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
		want []int64
	}{
		{"expire", func() error {
			_, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture})
			return err
		}, lcRange(6, 8)},
		{"delete a tag", func() error { _, err := tbl.DeleteTag(ctx, "t2"); return err }, lcRange(6, 8)},
		{"expire past the consumer", func() error {
			if err := tbl.DeleteConsumer(ctx, "c"); err != nil {
				return err
			}
			_, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture})
			return err
		}, []int64{8}},
		{"rollback to an expired tag", func() error { _, err := tbl.RollbackToTag(ctx, "t4"); return err }, []int64{4}},
		{"clean orphans", func() error {
			if err := fio.WriteFile(ctx, tbl.Join("dt=x/bucket-0/data-orphan.parquet"), []byte("x")); err != nil {
				return err
			}
			res, err := tbl.CleanOrphans(ctx, time.Nanosecond, false)
			if err == nil && res.Deleted.Files() != 1 {
				err = fmt.Errorf("deleted %v", res.Deleted.Paths)
			}
			return err
		}, []int64{4}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, s.want) {
			t.Fatalf("%s: snapshots %v, want %v", s.name, got, s.want)
		}
		lcAssertReadable(t, tbl, content)
		lcAssertExact(t, tbl)
	}
}

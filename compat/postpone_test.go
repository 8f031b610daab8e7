package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// A postpone-bucket table (bucket = -2) reads in Tarn as in Paimon: the rows Paimon's
// writers leave in bucket-postpone are not visible to batch reads until a postpone
// compaction gives them buckets (DataTableBatchScan.onlyReadRealBuckets).
func TestPostponeBucketReadsAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	tbl, _ := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "p", "id INT NOT NULL, v STRING",
		catalog.TableSpec{PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "-2"}})
	if out, err := oracleStdin(ctx, "{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon write: %v\n%s", err, out)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Snapshot == nil {
		t.Fatal("Paimon's write made no snapshot")
	}
	readsAsPaimon(ctx, t, tbl, "Paimon's write", false)
}

// Tarn writes postpone-bucket tables as Paimon's batch writes do
// (postpone.batch-write-fixed-bucket): straight into real buckets, as many as the
// partition has, else postpone.default-bucket-num. Its compaction moves the rows Paimon's
// streaming writers left in bucket-postpone into real buckets, as Paimon's postpone
// compaction does (CompactAction.buildForPostponeBucketCompaction): replayed in the order
// they were written, deletes included. After each step Paimon checks every snapshot and
// reads what Tarn reads, and both equal a model of the deduplicate engine.
func TestPostponeBucketCompactionAsPaimon(t *testing.T) {
	requireOracle(t)
	for name, opts := range map[string]map[string]string{
		"deduplicate": {},
		// Lookup tables compact as they write: the files a writer flushes may be
		// compacted before its commit.
		"lookup": {"changelog-producer": "lookup", "deletion-vectors.enabled": "true"},
	} {
		t.Run(name, func(t *testing.T) { testPostponeCompaction(t, opts) })
	}
}

func testPostponeCompaction(t *testing.T, opts map[string]string) {
	ctx := context.Background()
	opts["bucket"], opts["postpone.default-bucket-num"] = "-2", "3"
	tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "pc", "id INT NOT NULL, dt STRING NOT NULL, v INT",
		catalog.TableSpec{PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: opts})
	model := map[string]string{} // "id/dt" -> row
	batch := func(seed, n int) []string {
		var rows []string
		for i := range n {
			id, dt := (seed*31+i*7)%25, fmt.Sprintf("d%d", (seed+i)%2)
			row := fmt.Sprintf(`{"id":%d,"dt":%q,"v":%d}`, id, dt, seed*100+i)
			k := fmt.Sprintf("%d/%s", id, dt)
			if i%5 == 4 {
				rows = append(rows, `{"_ROW_KIND":"-D",`+row[1:])
				delete(model, k)
				continue
			}
			rows = append(rows, row)
			model[k] = row
		}
		return rows
	}
	check := func(when string, visible int) {
		t.Helper()
		got := readsAsPaimon(ctx, t, tbl, when, true)
		if n := strings.Count(string(got), "\n"); visible >= 0 && n != visible {
			t.Errorf("%s: %d rows visible, want %d", when, n, visible)
		}
	}
	for c := 1; c <= 3; c++ {
		if out, err := oracleStdin(ctx, strings.Join(batch(c, 20), "\n")+"\n", "write", tbl.Path()); err != nil {
			t.Fatalf("Paimon's write %d: %v\n%s", c, err, out)
		}
	}
	check("Paimon's writes wait in bucket-postpone", 0)
	waiting := func() int {
		t.Helper()
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true, IncludePostpone: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sp := range plan.Splits {
			if sp.Bucket == -2 {
				n += len(sp.Files)
			}
		}
		return n
	}
	if n := waiting(); n != 6 {
		t.Errorf("%d files wait in bucket-postpone, want 6 (3 commits, 2 partitions)", n)
	}
	sum, err := tbl.Compact(ctx, table.CompactOptions{})
	if err != nil || sum.SnapshotID == 0 {
		t.Fatalf("Tarn's compaction: %+v, %v", sum, err)
	}
	check("after Tarn's postpone compaction", len(model))
	if n := waiting(); n != 0 {
		t.Errorf("%d files still wait in bucket-postpone", n)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range plan.Splits {
		if sp.TotalBuckets != 3 || sp.Bucket < 0 || sp.Bucket >= 3 {
			t.Errorf("partition %v bucket %d of %d, want one of 3 (postpone.default-bucket-num)", sp.PartitionValues, sp.Bucket, sp.TotalBuckets)
		}
	}
	// Paimon's streaming writes wait again; Tarn writes into the real buckets; the next
	// compaction replays Paimon's rows after them, as they were written after.
	if err := commitChangeRows(ctx, tbl, fields, batch(4, 20), 1); err != nil {
		t.Fatalf("Tarn's write: %v", err)
	}
	if out, err := oracleStdin(ctx, strings.Join(batch(5, 20), "\n")+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatalf("Tarn's compaction: %v", err)
	}
	check("after the second compaction", len(model))
	if opts["changelog-producer"] == "lookup" {
		// Paimon's streaming read of every snapshot's changelog, folded, is the table.
		latest, err := tbl.LatestSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := oracle(ctx, paimonLatest, "changes", tbl.Path(), "--from", "0", "--to", fmt.Sprint(latest.ID))
		if err != nil {
			t.Fatalf("Paimon's streaming read: %v\n%s", err, out)
		}
		folded := map[string]string{}
		for _, l := range lines(out) {
			var r struct {
				Kind string `json:"_ROW_KIND"`
				ID   int    `json:"id"`
				DT   string `json:"dt"`
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprintf("%d/%s", r.ID, r.DT)
			if r.Kind == "-U" || r.Kind == "-D" {
				delete(folded, k)
			} else {
				folded[k] = `{` + l[strings.Index(l, `"id"`):]
			}
		}
		if len(folded) != len(model) {
			t.Errorf("Paimon's streaming read folds to %d rows, the model has %d", len(folded), len(model))
		}
		for k, row := range model {
			if folded[k] != row {
				t.Errorf("key %s: the changelog folds to %s, the model has %s", k, folded[k], row)
			}
		}
	}
	var rows []string
	for _, r := range model {
		rows = append(rows, r)
	}
	slices.Sort(rows)
	got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gotRows := lines(got)
	slices.Sort(gotRows)
	if !slices.Equal(gotRows, rows) {
		t.Errorf("the table holds\n%s\nthe model\n%s", strings.Join(gotRows, "\n"), strings.Join(rows, "\n"))
	}
}

// newTable creates db.NAME in cat with the columns (Tarn's column list) and the rest of
// spec; it returns the table and its fields.
func newTable(t *testing.T, cat *catalog.Catalog, name, columns string, spec catalog.TableSpec) (*table.Table, []types.DataField) {
	t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	spec.Fields = fields
	tbl, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: name}, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, fields
}

// readsAsPaimon fails t unless Paimon's batch read of tbl equals Tarn's, after Paimon's
// check of every snapshot when check is set; when names the step. It returns Tarn's rows.
func readsAsPaimon(ctx context.Context, t *testing.T, tbl *table.Table, when string, check bool) []byte {
	t.Helper()
	if check {
		if out, err := oracle(ctx, paimonLatest, "check", tbl.Path(), "--all"); err != nil {
			t.Fatalf("%s: Paimon's check: %v\n%s", when, err, out)
		}
	}
	want, err := oracle(ctx, paimonLatest, "read", tbl.Path())
	if err != nil {
		t.Fatalf("%s: Paimon's read: %v\n%s", when, err, want)
	}
	got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
	if err != nil {
		t.Fatalf("%s: Tarn's read: %v", when, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: Tarn reads\n%s\nPaimon reads\n%s", when, got, want)
	}
	return got
}

// The server's background compaction (compaction.Scheduler) moves bucket-postpone too: it
// sees each partition's postpone files as a bucket that needs compaction (bucket -2) and
// replays them into real buckets within its budget, so that Paimon's streaming writers
// need no compaction job of their own.
func TestPostponeBucketMovedByBackgroundCompaction(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, _ := newTable(t, cat, "bg", "id INT NOT NULL, dt STRING NOT NULL, v INT",
		catalog.TableSpec{PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: map[string]string{"bucket": "-2"}})
	for c := range 2 {
		var rows []string
		for i := range 10 {
			rows = append(rows, fmt.Sprintf(`{"id":%d,"dt":"d%d","v":%d}`, i, i%2, c))
		}
		if out, err := oracleStdin(ctx, strings.Join(rows, "\n")+"\n", "write", tbl.Path()); err != nil {
			t.Fatalf("Paimon's write: %v\n%s", err, out)
		}
	}
	s := compaction.NewScheduler(cat, compaction.SchedulerOptions{Workers: 1, PollInterval: -1})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.TriggerTable(ctx, catalog.Identifier{Database: "db", Table: "bg"}, false)
	if err != nil || res.Queued != 2 {
		t.Fatalf("trigger: %+v, %v; want both partitions' postpone files queued", res, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := scanJSONL(ctx, tbl.Path(), table.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(got), "\n") == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the postpone rows were not moved: Tarn reads\n%s", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := readsAsPaimon(ctx, t, tbl, "after the background compaction", true); strings.Count(string(got), `"v":1`) != 10 {
		t.Errorf("Tarn reads\n%s\nwant the second write's values", got)
	}
}

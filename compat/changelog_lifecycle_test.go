package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// A tail reads the changes of snapshots that expired while their changelogs live on:
// with changelog.num-retained.max above snapshot.num-retained.max, Paimon's expiry keeps
// each expired snapshot's changelog as changelog/changelog-N, and Paimon's streaming reads
// go on through them (NextSnapshotFetcher). Paimon commits six times (upserts and
// deletes) and expires all snapshots but two; a Tarn tail from snapshot 1 delivers what
// Paimon's streaming read from snapshot 1 to the latest does.
func TestTailReadsPaimonLongLivedChangelogs(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "c", "id INT NOT NULL, v STRING", catalog.TableSpec{
		PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1", "changelog-producer": "input",
			"snapshot.num-retained.min": "1", "snapshot.num-retained.max": "2", "changelog.num-retained.max": "50"}})
	const commits = 6
	for c := 1; c <= commits; c++ {
		rows := fmt.Sprintf(`{"id":%d,"v":"a%d"}`+"\n"+`{"id":%d,"v":"b%d"}`+"\n", c, c, c%3, c)
		if c > 2 {
			rows += fmt.Sprintf(`{"id":%d,"v":null,"_ROW_KIND":"-D"}`+"\n", c-2)
		}
		if out, err := oracleStdin(ctx, rows, "write", tbl.Path()); err != nil {
			t.Fatalf("commit %d: %v\n%s", c, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(tbl.Path(), "snapshot", "snapshot-1")); err == nil {
		t.Fatal("snapshot 1 did not expire: the test needs Paimon's expiry to have run")
	}
	if _, err := os.Stat(filepath.Join(tbl.Path(), "changelog", "changelog-1")); err != nil {
		t.Fatalf("Paimon kept no long-lived changelog of snapshot 1: %v", err)
	}
	latest, _, err := tbl.LatestSnapshotID(ctx) // commits and the compactions of Paimon's writer
	if err != nil {
		t.Fatal(err)
	}
	want, err := oracle(ctx, paimonLatest, "changes", tbl.Path(), "--from", "0", "--to", fmt.Sprint(latest), "--with-snapshot-id")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("Paimon's streaming read has no changes")
	}
	got := tailUntil(ctx, t, tbl, fields, []string{"id"}, 1, latest)
	if !bytes.Equal(got, want) {
		t.Errorf("Tarn's tail differs from Paimon's streaming read:\n%s", diff(string(want), string(got)))
	}
}

// tailUntil follows tbl from snapshot from through snapshot last and returns the changes
// in canonical form with snapshot ids (as compat/oracle changes --with-snapshot-id).
func tailUntil(ctx context.Context, t *testing.T, tbl *table.Table, fields []types.DataField, pk []string, from, last int64) []byte {
	t.Helper()
	f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: from, Heartbeat: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := canonicalChanges(fields, pk, true, func() (arrow.RecordBatch, error) {
		for {
			if f.Position().Snapshot > last {
				return nil, io.EOF
			}
			b, err := f.Next(ctx)
			if err != nil {
				return nil, err
			}
			if b.Record != nil {
				return b.Record, nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// With streaming-read-append-overwrite, Paimon's streaming read of an append-only table
// gives the rows an OVERWRITE snapshot adds (FollowUpScanner.getOverwriteChangesPlan);
// Tarn's tail reads the same across Paimon's appends and Tarn's overwrite.
func TestTailReadsAppendOverwriteAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), t.TempDir()), "ao", "id INT NOT NULL, v STRING",
		catalog.TableSpec{Options: map[string]string{"streaming-read-append-overwrite": "true"}})
	if out, err := oracleStdin(ctx, `{"id":1,"v":"a"}`+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	msgs, _, err := jsonlMessages(ctx, tbl, fields, []string{`{"id":2,"v":"b"}`, `{"id":3,"v":"c"}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit(ctx, table.Commit{User: "compat", Identifier: 2, Messages: msgs, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if out, err := oracleStdin(ctx, `{"id":4,"v":"d"}`+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	want, err := oracle(ctx, paimonLatest, "changes", tbl.Path(), "--from", "0", "--to", "3", "--with-snapshot-id")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(want), `"id":3`) {
		t.Fatalf("Paimon's streaming read lacks the overwrite's rows:\n%s", want)
	}
	if got := tailUntil(ctx, t, tbl, fields, nil, 1, 3); !bytes.Equal(got, want) {
		t.Errorf("Tarn's tail differs from Paimon's streaming read:\n%s", diff(string(want), string(got)))
	}
}

// Expiry with a decoupled changelog lifecycle leaves what Paimon's leaves: with
// changelog.num-retained.* above snapshot.num-retained.*, each expired snapshot lives on
// as changelog/changelog-N with the changelog (or, without a changelog producer, input)
// files and manifests a streaming read of it needs, until changelog expiry removes it
// (Paimon's ExpireSnapshotsImpl with SnapshotDeletion in decoupled mode, then
// ExpireChangelogImpl with ChangelogDeletion, through compat/oracle expire). Tarn builds a
// history (upserts, deletes, full compactions, tags, sometimes a consumer), then Tarn and
// Paimon expire copies of it with the same retention; twice, with more commits between,
// so that the second round expires long-lived changelogs. After each round both copies
// hold the same files, Paimon checks Tarn's, and Tarn's tail from the oldest long-lived
// changelog delivers what Paimon's streaming read does. Last, both roll back to the same
// snapshot or tag (RollbackHelper deletes the long-lived changelogs after a tag's
// snapshot), compared as in TestExpireAsPaimon. Retention and history are drawn
// at random; the seed is printed (TARN_EXPIRE_SEED repeats it).
func TestDecoupledChangelogExpiryAsPaimon(t *testing.T) {
	requireOracle(t)
	seed := seedFrom(t, "TARN_EXPIRE_SEED")
	t.Logf("seed %d", seed)
	for i, tc := range maintenanceTables {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			retainMin := 1 + r.IntN(3)
			retainMax := retainMin + r.IntN(4)
			clMin := retainMin + r.IntN(3)
			clMax := max(retainMax, clMin) + r.IntN(6)
			if clMin == retainMin && clMax == retainMax {
				clMax++
			}
			limit := []int{4, 1000}[r.IntN(2)]
			spec := tc.spec
			// In the table's options too: Paimon's streaming reads look for long-lived
			// changelogs only when the options decouple the lifecycles.
			spec.Options = map[string]string{"changelog.num-retained.min": fmt.Sprint(clMin), "changelog.num-retained.max": fmt.Sprint(clMax),
				"snapshot.num-retained.min": fmt.Sprint(retainMin), "snapshot.num-retained.max": fmt.Sprint(retainMax)}
			for k, v := range tc.spec.Options {
				spec.Options[k] = v
			}
			tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", tc.columns, spec)
			pk := len(spec.PrimaryKeys) > 0
			h := newRandomHistory(tbl, fields, pk, r)
			h.run(ctx, t, 8+r.IntN(5))
			consumer := h.maybeConsumer(ctx, t, 3)
			t.Logf("snapshots retained min %d, max %d; changelogs min %d, max %d; at most %d per run; consumer at %d", retainMin, retainMax, clMin, clMax, limit, consumer)
			paimonDir := filepath.Join(dir, "paimon-copy")
			for round := 1; round <= 2; round++ {
				if round == 2 {
					h.run(ctx, t, 4+r.IntN(6))
				}
				if err := os.RemoveAll(paimonDir); err != nil {
					t.Fatal(err)
				}
				if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond) // every snapshot older than the time retained
				res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: retainMin, RetainMax: retainMax, TimeRetained: time.Millisecond, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				out, err := oracle(ctx, paimonLatest, "expire", paimonDir, "--retain-min", fmt.Sprint(retainMin), "--retain-max", fmt.Sprint(retainMax),
					"--time-retained-ms", "1", "--max-deletes", fmt.Sprint(limit),
					"--changelog-retain-min", fmt.Sprint(clMin), "--changelog-retain-max", fmt.Sprint(clMax), "--changelog-time-retained-ms", "1")
				if err != nil {
					t.Fatalf("round %d: Paimon's expire: %v\n%s", round, err, out)
				}
				t.Logf("round %d: Tarn expired snapshots %v, kept changelogs %v, expired changelogs %v; Paimon: %s",
					round, res.Expired, res.Changelogs, res.ExpiredChangelogs, strings.TrimSpace(string(out)))
				step := fmt.Sprintf("expiry round %d", round)
				sameFiles(t, seed, step, tbl.Path(), paimonDir)
				readsAsPaimon(ctx, t, tbl, step, true)

				// A streaming read from the oldest change still kept.
				latest, _, err := tbl.LatestSnapshotID(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ids, err := tbl.SnapshotIDs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				from := ids[0]
				if names, _ := filepath.Glob(filepath.Join(tbl.Path(), "changelog", "changelog-*")); len(names) > 0 {
					for _, n := range names {
						var id int64
						if _, err := fmt.Sscanf(filepath.Base(n), "changelog-%d", &id); err == nil && id < from {
							from = id
						}
					}
				}
				want, err := oracle(ctx, paimonLatest, "changes", tbl.Path(), "--from", fmt.Sprint(from-1), "--to", fmt.Sprint(latest), "--with-snapshot-id")
				if err != nil {
					t.Fatalf("%s: Paimon's streaming read from %d: %v\n%s", step, from, err, want)
				}
				key := spec.PrimaryKeys
				if !pk {
					key = []string{"id", "v"} // Paimon's canonical order: all columns
				}
				if got := tailUntil(ctx, t, tbl, fields, key, from, latest); !bytes.Equal(got, want) {
					t.Errorf("%s: Tarn's tail from %d differs from Paimon's streaming read:\n%s", step, from, diff(string(want), string(got)))
				}
			}

			// Then a rollback to a retained snapshot or a tag (perhaps older than the
			// long-lived changelogs, which then go too).
			rollBackAlike(ctx, t, r, seed, tbl, paimonDir)
			readsAsPaimon(ctx, t, tbl, "after the rollback", true)
		})
	}
}

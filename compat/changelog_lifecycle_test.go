package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

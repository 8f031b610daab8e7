package compat_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// Every changes-A-B.jsonl of the reference tables (Paimon's streaming read of snapshots
// A+1..B: changelog-producer input, lookup and full-compaction, first-row with lookup)
// reads through Tarn's incremental read exactly as Paimon returns it, for each seed
// (compatSeeds).
func TestTarnReadsPaimonChanges(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	for _, sd := range compatSeeds() {
		dir := generatedSeed(t, paimonLatest, sd)
		t.Run(fmt.Sprintf("seed%d", sd), func(t *testing.T) {
			for _, rt := range loadManifest(t, dir) {
				var files []string
				for _, f := range rt.Files {
					if strings.HasPrefix(f, "changes-") {
						files = append(files, f)
					}
				}
				if len(files) == 0 {
					continue
				}
				t.Run(rt.Name, func(t *testing.T) {
					var failures []string
					rows := 0
					for _, file := range files {
						var from, to int64
						if _, err := fmt.Sscanf(file, "changes-%d-%d.jsonl", &from, &to); err != nil {
							t.Fatalf("%s: %v", file, err)
						}
						want, err := os.ReadFile(filepath.Join(dir, rt.Expected, file))
						if err != nil {
							t.Fatal(err)
						}
						got, err := changesJSONL(ctx, filepath.Join(dir, rt.Path), from, to, rt.PrimaryKeys, false)
						rows += bytes.Count(want, []byte("\n"))
						switch {
						case err != nil:
							failures = append(failures, fmt.Sprintf("%s: %v", file, err))
						case !bytes.Equal(got, want):
							failures = append(failures, fmt.Sprintf("%s: rows differ\n%s", file, diff(string(want), string(got))))
						}
					}
					t.Logf("%d change files, %d rows", len(files), rows)
					if len(failures) > 0 {
						t.Fatalf("%d of %d change files differ:\n%s", len(failures), len(files), strings.Join(failures, "\n"))
					}
				})
			}
		})
	}
}

// changesJSONL reads the changes of snapshots from+1..to as the oracle prints them: per
// snapshot, rows stable-sorted by primary key, each with "_ROW_KIND" first (after
// "_SNAPSHOT_ID" withID).
func changesJSONL(ctx context.Context, path string, from, to int64, pk []string, withID bool) ([]byte, error) {
	tbl, err := table.Open(ctx, fileio.NewLocal(), path)
	if err != nil {
		return nil, err
	}
	plan, err := tbl.PlanIncremental(ctx, table.IncrementalOptions{From: from, To: to})
	if err != nil {
		return nil, err
	}
	r, err := tbl.ReadChanges(ctx, plan.Schema, plan.Splits, table.ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return canonicalChanges(plan.Schema.Fields, pk, withID, func() (arrow.RecordBatch, error) { return r.Next(ctx) })
}

// canonicalChanges renders change batches (the table's columns, _ROW_KIND, _SNAPSHOT_ID),
// read until io.EOF, as compat/oracle changes does: JSON Lines ordered by snapshot, then
// key.
func canonicalChanges(fields []types.DataField, pk []string, withID bool, next func() (arrow.RecordBatch, error)) ([]byte, error) {
	type row struct {
		snapshot int64
		line     string
		key      []any
	}
	var rows []row
	nf := len(fields)
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		w, err := render.NewWriter(&buf, render.JSONL, fields, false, nil)
		if err != nil {
			return nil, err
		}
		values := array.NewRecordBatch(arrow.NewSchema(b.Schema().Fields()[:nf], nil), b.Columns()[:nf], b.NumRows())
		err = w.Write(values)
		values.Release()
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			b.Release()
			return nil, err
		}
		kinds := b.Column(nf).(*array.String)
		snaps := b.Column(nf + 1).(*array.Int64)
		for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			key, err := keyOf(line, pk)
			if err != nil {
				b.Release()
				return nil, err
			}
			prefix := "{"
			if withID {
				prefix += fmt.Sprintf(`"_SNAPSHOT_ID":%d,`, snaps.Value(i))
			}
			rows = append(rows, row{snaps.Value(i), prefix + `"_ROW_KIND":"` + kinds.Value(i) + `",` + line[1:], key})
		}
		b.Release()
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.snapshot, b.snapshot); c != 0 {
			return c
		}
		for i := range a.key {
			if c := compareJSON(a.key[i], b.key[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	var out bytes.Buffer
	for _, r := range rows {
		out.WriteString(r.line)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

func keyOf(line string, pk []string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	key := make([]any, len(pk))
	for i, k := range pk {
		key[i] = m[k]
	}
	return key, nil
}

// compareJSON orders key values: nulls first, numbers by value, others by their text.
func compareJSON(a, b any) int {
	switch {
	case a == nil || b == nil:
		return cmp.Compare(boolInt(a != nil), boolInt(b != nil))
	}
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		x, _ := new(big.Float).SetString(an.String())
		y, _ := new(big.Float).SetString(bn.String())
		if x != nil && y != nil {
			return x.Cmp(y)
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Paimon's streaming read (scan.mode from-snapshot) of a primary-key table Tarn wrote with
// changelog-producer none equals Tarn's incremental read: the records of each APPEND
// snapshot's level-0 files with their row kinds, COMPACT snapshots skipped.
func TestPaimonChangesOfTarnTable(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns("id INT NOT NULL, name STRING, amount DECIMAL(10,2), dt STRING NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: map[string]string{"bucket": "2"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	commits := [][]string{
		{`{"id":1,"name":"a","amount":"1.00","dt":"d1"}`, `{"id":2,"name":"b","amount":null,"dt":"d1"}`, `{"id":3,"name":"c","amount":"3.50","dt":"d2"}`, `{"id":4,"name":"d","amount":"4.00","dt":"d2"}`},
		{`{"id":1,"name":"a2","amount":"1.10","dt":"d1","_ROW_KIND":"+U"}`, `{"id":2,"name":"b","amount":null,"dt":"d1","_ROW_KIND":"-D"}`, `{"id":5,"name":"e","amount":"5.00","dt":"d1"}`},
		nil, // a full compaction
		{`{"id":3,"name":"c3","amount":"3.00","dt":"d2","_ROW_KIND":"-U"}`, `{"id":4,"name":"d","amount":"4.00","dt":"d2","_ROW_KIND":"-D"}`, `{"id":6,"name":"f","amount":"6.00","dt":"d2","_ROW_KIND":"+I"}`},
		{`{"id":6,"name":"f2","amount":"6.50","dt":"d2","_ROW_KIND":"+U"}`, `{"id":7,"name":null,"amount":null,"dt":"d1"}`},
	}
	for i, rows := range commits {
		if rows == nil {
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := commitChangeRows(ctx, tbl, fields, rows, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	latest, _, err := tbl.LatestSnapshotID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := tbl.Snapshot(ctx, 3); err != nil || s.CommitKind != "COMPACT" {
		t.Fatalf("snapshot 3 should be a compaction: %v, %v", s, err)
	}
	for _, r := range [][2]int64{{0, latest}, {1, 3}, {2, latest}} {
		want, err := oracle(ctx, paimonLatest, "changes", tbl.Path(), "--from", fmt.Sprint(r[0]), "--to", fmt.Sprint(r[1]), "--with-snapshot-id")
		if err != nil {
			t.Fatal(err)
		}
		got, err := changesJSONL(ctx, tbl.Path(), r[0], r[1], []string{"id", "dt"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("changes (%d, %d]:\n%s", r[0], r[1], diff(string(want), string(got)))
		}
		if n := strings.Count(string(want), "\n"); n == 0 {
			t.Fatalf("changes (%d, %d]: Paimon returned nothing", r[0], r[1])
		}
	}
}

// commitChangeRows commits JSON Lines rows (with optional "_ROW_KIND") as one snapshot.
func commitChangeRows(ctx context.Context, tbl *table.Table, fields []types.DataField, rows []string, identifier int64) error {
	msgs, _, err := jsonlMessages(ctx, tbl, fields, rows)
	if err != nil {
		return err
	}
	_, err = tbl.Commit(ctx, table.Commit{User: "compat-changes", Identifier: identifier, Messages: msgs})
	return err
}

// Partition expiration drops partitions with an OVERWRITE snapshot that Paimon reads as
// Tarn does: the expired partitions gone from the latest snapshot, still there in the one
// before.
func TestPaimonReadsAfterPartitionExpiry(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	fields, err := types.ParseColumns("id INT NOT NULL, dt STRING NOT NULL, v STRING")
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "p"}, catalog.TableSpec{
		Fields: fields, PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"},
		Options: map[string]string{"bucket": "2", "partition.expiration-time": "30 d"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().Format("2006-01-02")
	rows := []string{`{"id":1,"dt":"2020-01-01","v":"old"}`, `{"id":2,"dt":"2020-01-01","v":"old"}`, `{"id":3,"dt":"2020-02-01","v":"old"}`,
		fmt.Sprintf(`{"id":4,"dt":%q,"v":"new"}`, today)}
	if err := commitChangeRows(ctx, tbl, fields, rows, 1); err != nil {
		t.Fatal(err)
	}
	res, err := tbl.ExpirePartitions(ctx, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Names(), ","); got != "dt=2020-01-01,dt=2020-02-01" || res.SnapshotID != 2 {
		t.Fatalf("expired %s in snapshot %d", got, res.SnapshotID)
	}
	for _, snap := range []int64{1, 2} {
		want, err := tarnJSONL(ctx, tbl, table.ScanOptions{SnapshotID: snap})
		if err != nil {
			t.Fatal(err)
		}
		got, err := oracle(ctx, paimonLatest, "read", tbl.Path(), "--snapshot", fmt.Sprint(snap))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("snapshot %d: Paimon reads\n%s\nTarn reads\n%s", snap, got, want)
		}
		if n := strings.Count(want, "\n"); (snap == 1 && n != 4) || (snap == 2 && n != 1) {
			t.Errorf("snapshot %d has %d rows", snap, n)
		}
	}
}

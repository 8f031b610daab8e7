package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// changelogShape is a primary-key table with a changelog producer that Tarn and Paimon
// write from the same operations.
type changelogShape struct {
	name    string
	options map[string]string
	ops     opKinds
	full    bool // a full compaction after each commit (Paimon: compat/oracle compact --full)
	// tarnOptions are options of Tarn's table only, and tarnCompact a Table.Compact after
	// each of Tarn's commits: Tarn's dedicated compaction does what Paimon's writer does.
	tarnOptions map[string]string
	tarnCompact *table.CompactOptions
}

// opKinds chooses the row kinds the generator writes.
type opKinds struct {
	deletes   bool // -D and -U rows
	nulls     bool // null values (partial-update)
	fewValues bool // values from a small set, so that updates often change nothing
}

// The changelog Tarn writes with each changelog producer equals Paimon's: the same seeded
// operations are committed by Paimon (compat/oracle write, and compat/oracle compact
// --full for full-compaction, whose Flink writers compact fully at every commit as
// Tarn's writer does) into one table and by Tarn's writer into another; Paimon's
// streaming read of its table, Tarn's incremental read of Tarn's table and Paimon's
// streaming read of Tarn's table are equal, snapshot by snapshot (-U/+U pairs, -D, +I;
// lookup: LookupChangelogMergeFunctionWrapper and FirstRowMergeFunctionWrapper;
// full-compaction: FullChangelogMergeFunctionWrapper; input: the records written), and
// Paimon reads and checks Tarn's table. The shapes run in parallel (-test.parallel; each
// is a sequence of Paimon processes).
func TestChangelogProducersMatchPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	sum := map[string]string{"merge-engine": "aggregation", "fields.v.aggregate-function": "sum", "fields.amount.aggregate-function": "max", "fields.amount.ignore-retract": "true"}
	shapes := []changelogShape{
		{name: "lookup", options: map[string]string{"changelog-producer": "lookup"}, ops: opKinds{deletes: true}},
		{name: "lookup_row_dedup", options: map[string]string{"changelog-producer": "lookup", "changelog-producer.row-deduplicate": "true"}, ops: opKinds{deletes: true, fewValues: true}},
		{name: "lookup_dv", options: map[string]string{"changelog-producer": "lookup", "deletion-vectors.enabled": "true"}, ops: opKinds{deletes: true}},
		// Thin data files: lookups and changelog files read keys from their value columns.
		{name: "lookup_thin", options: map[string]string{"changelog-producer": "lookup", "data-file.thin-mode": "true"}, ops: opKinds{deletes: true}},
		{name: "lookup_aggregation", options: with(sum, "changelog-producer", "lookup"), ops: opKinds{deletes: true}},
		{name: "lookup_partial_update", options: map[string]string{"changelog-producer": "lookup", "merge-engine": "partial-update"}, ops: opKinds{nulls: true}},
		{name: "lookup_first_row", options: map[string]string{"changelog-producer": "lookup", "merge-engine": "first-row"}},
		{name: "full_compaction", options: map[string]string{"changelog-producer": "full-compaction"}, ops: opKinds{deletes: true}, full: true},
		{name: "full_compaction_row_dedup", options: map[string]string{"changelog-producer": "full-compaction", "changelog-producer.row-deduplicate": "true"}, ops: opKinds{deletes: true, fewValues: true}, full: true},
		{name: "full_compaction_aggregation", options: with(sum, "changelog-producer", "full-compaction"), ops: opKinds{deletes: true}, full: true},
		// ignore-delete: -D and -U rows are dropped when written (RowKindFilter), so they
		// reach neither the data files nor the changelog.
		{name: "lookup_ignore_delete", options: map[string]string{"changelog-producer": "lookup", "ignore-delete": "true"}, ops: opKinds{deletes: true}},
		// write-only: no writer compacts (Paimon's would at its fifth level-0 run).
		{name: "input", options: map[string]string{"changelog-producer": "input", "write-only": "true"}, ops: opKinds{deletes: true}},
		{name: "input_ignore_delete", options: map[string]string{"changelog-producer": "input", "ignore-delete": "true", "write-only": "true"}, ops: opKinds{deletes: true}},
		{name: "none", options: map[string]string{"changelog-producer": "none", "write-only": "true"}, ops: opKinds{deletes: true}},
		// Table.Compact produces the changelog Paimon's writers do: Tarn's writer is
		// write-only (lookup) or never due for a full compaction (full-compaction).
		{name: "lookup_table_compact", options: with(sum, "changelog-producer", "lookup"), ops: opKinds{deletes: true},
			tarnOptions: map[string]string{"write-only": "true"}, tarnCompact: &table.CompactOptions{}},
		{name: "full_compaction_table_compact", options: map[string]string{"changelog-producer": "full-compaction"}, ops: opKinds{deletes: true}, full: true,
			tarnOptions: map[string]string{"full-compaction.delta-commits": "1000000"}, tarnCompact: &table.CompactOptions{Full: true}},
	}
	fields, err := types.ParseColumns("id INT NOT NULL, name STRING, v BIGINT, amount DECIMAL(10,2)")
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			create := func(name string, extra map[string]string) *table.Table {
				opts := map[string]string{"bucket": "2"}
				for k, v := range sh.options {
					opts[k] = v
				}
				for k, v := range extra {
					opts[k] = v
				}
				tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: name}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: opts}, false)
				if err != nil {
					t.Fatal(err)
				}
				return tbl
			}
			paimon, tarn := create("paimon", nil), create("tarn", sh.tarnOptions)
			rng := rand.New(rand.NewPCG(uint64(*seed), uint64(len(sh.name))))
			const commits = 5
			// Paimon makes the same commits (each followed by a full compaction for
			// full-compaction shapes), all in one JVM after Tarn's.
			var paimonInput []string
			for c := 1; c <= commits; c++ {
				rows := changelogOps(rng, sh.ops, c)
				paimonInput = append(paimonInput, strings.Join(rows, "\n"))
				if err := commitChangeRows(ctx, tarn, fields, rows, int64(c)); err != nil {
					t.Fatalf("commit %d: Tarn: %v", c, err)
				}
				if sh.tarnCompact != nil {
					if _, err := tarn.Compact(ctx, *sh.tarnCompact); err != nil {
						t.Fatalf("commit %d: Tarn's compaction: %v", c, err)
					}
				}
			}
			args := []string{"write", "--commits", paimon.Path()}
			if sh.full {
				args = append(args, "--full-compact-each")
			}
			if out, err := oracleStdin(ctx, strings.Join(paimonInput, "\n---\n")+"\n", args...); err != nil {
				t.Fatalf("Paimon's commits: %v\n%s", err, out)
			}
			pl, _, err := paimon.LatestSnapshotID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tl, _, err := tarn.LatestSnapshotID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pl != tl {
				t.Fatalf("Paimon made %d snapshots, Tarn %d", pl, tl)
			}
			want, err := oracle(ctx, paimonLatest, "changes", paimon.Path(), "--from", "0", "--to", fmt.Sprint(pl), "--with-snapshot-id")
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("Paimon's table has no changelog")
			}
			got, err := changesJSONL(ctx, tarn.Path(), 0, tl, []string{"id"}, true)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Tarn's changelog differs from Paimon's:\n%s", diff(string(want), string(got)))
			}
			paimonReadsTarn, err := oracle(ctx, paimonLatest, "changes", tarn.Path(), "--from", "0", "--to", fmt.Sprint(tl), "--with-snapshot-id")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(paimonReadsTarn, want) {
				t.Fatalf("Paimon's streaming read of Tarn's table differs:\n%s", diff(string(want), string(paimonReadsTarn)))
			}
			wantRows, err := oracle(ctx, paimonLatest, "read", paimon.Path())
			if err != nil {
				t.Fatal(err)
			}
			gotRows, err := oracle(ctx, paimonLatest, "read", tarn.Path())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotRows, wantRows) {
				t.Fatalf("Paimon reads Tarn's table differently:\n%s", diff(string(wantRows), string(gotRows)))
			}
			if out, err := oracle(ctx, paimonLatest, "check", tarn.Path()); err != nil {
				t.Fatalf("Paimon's check of Tarn's table: %v\n%s", err, out)
			}
			t.Logf("%d snapshots, %d changelog rows", tl, bytes.Count(want, []byte("\n")))
		})
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// changelogOps generates one commit's rows: upserts of 40 keys, and with deletes -D and
// -U rows (a key may appear several times; the last record wins within a commit).
func changelogOps(rng *rand.Rand, k opKinds, commit int) []string {
	var rows []string
	n := 15 + rng.IntN(20)
	for i := 0; i < n; i++ {
		id := rng.IntN(40)
		kind := "+I"
		if commit > 1 {
			switch r := rng.IntN(10); {
			case k.deletes && r < 2:
				kind = "-D"
			case k.deletes && r < 3:
				kind = "-U"
			case r < 6:
				kind = "+U"
			}
		}
		name, v, amount := fmt.Sprintf("%q", fmt.Sprintf("n%d", rng.IntN(1000))), fmt.Sprint(rng.IntN(100)), fmt.Sprintf(`"%d.%02d"`, rng.IntN(100), rng.IntN(100))
		if k.fewValues {
			name, v, amount = `"same"`, fmt.Sprint(rng.IntN(2)), `"1.00"`
		}
		if k.nulls {
			if rng.IntN(3) == 0 {
				name = "null"
			}
			if rng.IntN(3) == 0 {
				v = "null"
			}
			if rng.IntN(3) == 0 {
				amount = "null"
			}
		}
		rows = append(rows, fmt.Sprintf(`{"id":%d,"name":%s,"v":%s,"amount":%s,"_ROW_KIND":"%s"}`, id, name, v, amount, kind))
	}
	return rows
}

// oracleStdin runs compat/oracle with the latest Paimon, input on stdin; on an error it
// returns stderr.
func oracleStdin(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	out, errb, err := runOracle(ctx, oracleCall{version: paimonLatest, args: args, stdin: stdin})
	if err != nil {
		return errb, err
	}
	return out, nil
}

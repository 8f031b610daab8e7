package compat_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// statsShape is a table whose data files' statistics Tarn and Paimon write from the same
// rows.
type statsShape struct {
	name    string
	options map[string]string
	append  bool // no primary key
	compact bool // then a full compaction on both sides, compared again
}

// The statistics in Tarn's data file metadata are Paimon's, byte for byte, in every
// statistics mode: Paimon (compat/oracle write) and Tarn's writer commit the same rows
// into two tables created alike, and the files of the latest snapshot, matched by
// partition, bucket, level and key range, have identical key statistics, value
// statistics, value statistics columns, min and max keys and row counts; the changelog
// files too. Then both sides compact fully (compat/oracle compact --full,
// Table.Compact) and the top level's files are compared the same way. The rows hold keys
// and strings beyond 16 and 128 characters (the default truncate(16) and the
// truncate(128) of key columns: StatsCollectorFactories.createStatsFactories), multi-byte
// characters, a string whose maximum cannot be rounded up (TruncateSimpleColStatsCollector),
// nulls and an all-null column. Paimon and Tarn read both tables alike. (No BYTES column: Paimon 1.4.2 leaves their bounds null,
// Paimon 2.x writes them from the Parquet statistics as Tarn does.)
func TestFileStatsEqualPaimons(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	shapes := []statsShape{
		{name: "default", compact: true},
		{name: "full", options: map[string]string{"metadata.stats-mode": "full"}},
		{name: "counts", options: map[string]string{"metadata.stats-mode": "counts"}},
		{name: "none_dense", options: map[string]string{"metadata.stats-mode": "none"}},
		{name: "none_sparse", options: map[string]string{"metadata.stats-mode": "NONE", "metadata.stats-dense-store": "false"}},
		{name: "truncate4", options: map[string]string{"metadata.stats-mode": "truncate(4)"}},
		{name: "per_level", options: map[string]string{"metadata.stats-mode.per.level": "0:none,5:full"}, compact: true},
		{name: "field_modes", options: map[string]string{"fields.name.stats-mode": "full", "fields.v.stats-mode": "none", "fields.amount.stats-mode": "truncate(2)", "metadata.stats-mode": "counts"}},
		{name: "keep_first_2", options: map[string]string{"metadata.stats-keep-first-n-columns": "2", "fields.ts.stats-mode": "full"}},
		{name: "avro", options: map[string]string{"file.format": "avro", "metadata.stats-keep-first-n-columns": "3"}},
		{name: "orc", options: map[string]string{"file.format": "orc", "metadata.stats-mode": "truncate(5)"}},
		{name: "changelog_input", options: map[string]string{"changelog-producer": "input", "changelog-file.stats-mode": "full", "metadata.stats-mode": "counts"}},
		// Thin data files (data-file.thin-mode): no key columns; the key's statistics are
		// those of its value columns, truncate(128) (KeyValueThinDataFileWriterImpl).
		{name: "thin", options: map[string]string{"data-file.thin-mode": "true"}, compact: true},
		{name: "thin_avro_counts", options: map[string]string{"data-file.thin-mode": "true", "file.format": "avro", "metadata.stats-mode": "counts"}},
		{name: "append_default", append: true},
		{name: "append_none", append: true, options: map[string]string{"metadata.stats-mode": "none"}},
		{name: "append_truncate3", append: true, options: map[string]string{"metadata.stats-mode": "truncate(3)", "fields.id.stats-mode": "counts"}},
	}
	const columns = "id STRING NOT NULL, name STRING, v BIGINT, amount DECIMAL(10,2), d DOUBLE, ts TIMESTAMP(3), nothing STRING"
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			spec := catalog.TableSpec{Options: map[string]string{"bucket": "2"}}
			if !sh.compact {
				spec.Options["write-only"] = "true"
			}
			if sh.append {
				spec.Options["bucket"] = "-1"
			} else {
				spec.PrimaryKeys = []string{"id"}
			}
			for k, v := range sh.options {
				spec.Options[k] = v
			}
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			paimon, _ := newTable(t, cat, "paimon", columns, spec)
			tarn, fields := newTable(t, cat, "tarn", columns, spec)
			rows := statsRows(rand.New(rand.NewPCG(uint64(*seed), uint64(len(sh.name)))))
			if out, err := oracleStdin(ctx, strings.Join(rows, "\n")+"\n", "write", paimon.Path()); err != nil {
				t.Fatalf("Paimon write: %v\n%s", err, out)
			}
			if err := commitChangeRows(ctx, tarn, fields, rows, 1); err != nil {
				t.Fatalf("Tarn write: %v", err)
			}
			compareFileStats(ctx, t, paimon, tarn, "after the write")
			compareReads(ctx, t, paimon, tarn)
			if !sh.compact {
				return
			}
			if _, err := oracle(ctx, paimonLatest, "compact", "--full", paimon.Path()); err != nil {
				t.Fatalf("Paimon full compaction: %v", err)
			}
			if _, err := tarn.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatalf("Tarn's full compaction: %v", err)
			}
			compareFileStats(ctx, t, paimon, tarn, "after a full compaction")
			compareReads(ctx, t, paimon, tarn)
		})
	}
}

// compareReads checks that Paimon reads Tarn's table, and Tarn reads Paimon's and its
// own, as Paimon reads its own.
func compareReads(ctx context.Context, t *testing.T, paimon, tarn *table.Table) {
	t.Helper()
	want, err := oracle(ctx, paimonLatest, "read", paimon.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("Paimon's table reads empty")
	}
	for _, r := range []struct {
		what string
		read func() ([]byte, error)
	}{
		{"Paimon reads Tarn's table", func() ([]byte, error) { return oracle(ctx, paimonLatest, "read", tarn.Path()) }},
		{"Tarn reads Paimon's table", func() ([]byte, error) { return scanJSONL(ctx, paimon.Path(), table.ScanOptions{}) }},
		{"Tarn reads its table", func() ([]byte, error) { return scanJSONL(ctx, tarn.Path(), table.ScanOptions{}) }},
	} {
		got, err := r.read()
		if err != nil {
			t.Fatalf("%s: %v", r.what, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: rows differ from Paimon's read of its table:\n%s", r.what, diff(string(want), string(got)))
		}
	}
}

// statsRows are the rows of TestFileStatsEqualPaimons, as JSON Lines of +I rows with
// distinct keys.
func statsRows(rng *rand.Rand) []string {
	str := func(i int) string {
		var s string
		switch rng.IntN(6) {
		case 0:
			s = "k"
		case 1:
			s = strings.Repeat("long-", 5) // 25 characters: beyond truncate(16)
		case 2:
			s = strings.Repeat("very-long-", 14) // 140: beyond truncate(128)
		case 3:
			s = strings.Repeat("ü中😀", 7) // multi-byte characters
		case 4:
			s = strings.Repeat("\U0010FFFF", 20) // no character can be rounded up
		default:
			s = fmt.Sprintf("%c", 'a'+rng.IntN(26))
		}
		return fmt.Sprintf("%s-%03d", s, i)
	}
	var rows []string
	for i := 0; i < 80; i++ {
		row := map[string]any{"id": str(i), "_ROW_KIND": "+I", "nothing": nil}
		if rng.IntN(5) > 0 {
			row["name"] = str(rng.IntN(1000))
		}
		if rng.IntN(5) > 0 {
			row["v"] = rng.Int64N(1<<40) - 1<<39
		}
		if rng.IntN(5) > 0 {
			row["amount"] = fmt.Sprintf("%d.%02d", rng.IntN(20000)-10000, rng.IntN(100))
		}
		if rng.IntN(5) > 0 {
			row["d"] = rng.NormFloat64() * 1e6
		}
		if rng.IntN(5) > 0 {
			row["ts"] = fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02d.%03d", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000))
		}
		b, _ := json.Marshal(row)
		rows = append(rows, string(b))
	}
	return rows
}

// fileStatsKey is what compareFileStats compares of a data file, hex and counts.
type fileStatsKey struct {
	where, minKey, maxKey    string
	rows                     int64
	keyMin, keyMax, keyNulls string
	valMin, valMax, valNulls string
	valCols                  string
}

func (k fileStatsKey) String() string {
	return fmt.Sprintf("%s keys %s..%s, %d rows\n  key stats %s .. %s nulls %s\n  value stats %s .. %s nulls %s columns %s",
		k.where, k.minKey, k.maxKey, k.rows, k.keyMin, k.keyMax, k.keyNulls, k.valMin, k.valMax, k.valNulls, k.valCols)
}

// compareFileStats compares the statistics of the data and changelog files of both
// tables' latest snapshots.
func compareFileStats(ctx context.Context, t *testing.T, paimon, tarn *table.Table, when string) {
	t.Helper()
	p, err := fileStatsOf(ctx, paimon)
	if err != nil {
		t.Fatalf("%s: Paimon's table: %v", when, err)
	}
	g, err := fileStatsOf(ctx, tarn)
	if err != nil {
		t.Fatalf("%s: Tarn's table: %v", when, err)
	}
	if len(p) == 0 {
		t.Fatalf("%s: Paimon's table has no files", when)
	}
	if len(p) != len(g) {
		t.Fatalf("%s: Tarn's table has %d files, Paimon's %d:\nTarn\n%v\nPaimon\n%v", when, len(g), len(p), g, p)
	}
	for i := range p {
		if g[i] != p[i] {
			t.Errorf("%s: file %d differs\nTarn   %v\nPaimon %v", when, i, g[i], p[i])
		}
	}
}

// fileStatsOf lists the data files of the latest snapshot, then its changelog files, in
// a stable order.
func fileStatsOf(ctx context.Context, tbl *table.Table) ([]fileStatsKey, error) {
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		return nil, err
	}
	var out []fileStatsKey
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			out = append(out, statsKeyOf(fmt.Sprintf("data %x/%d/L%d", s.Partition, s.Bucket, f.Level), f))
		}
	}
	snap := plan.Snapshot
	if snap != nil && snap.ChangelogManifestList != nil {
		metas, err := tbl.ReadManifestList(ctx, *snap.ChangelogManifestList)
		if err != nil {
			return nil, err
		}
		for _, m := range metas {
			entries, err := tbl.ReadManifest(ctx, m.FileName)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				out = append(out, statsKeyOf(fmt.Sprintf("changelog %x/%d/L%d", e.Partition, e.Bucket, e.File.Level), e.File))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].where != out[j].where {
			return out[i].where < out[j].where
		}
		return out[i].minKey < out[j].minKey
	})
	return out, nil
}

func statsKeyOf(where string, f manifest.DataFileMeta) fileStatsKey {
	nulls := func(ns []*int64) string {
		var b bytes.Buffer
		for _, n := range ns {
			if n == nil {
				b.WriteString("null,")
			} else {
				fmt.Fprintf(&b, "%d,", *n)
			}
		}
		return b.String()
	}
	cols := "all"
	if f.ValueStatsCols != nil {
		cols = fmt.Sprintf("%q", f.ValueStatsCols)
	}
	return fileStatsKey{
		where: where, minKey: hex.EncodeToString(f.MinKey), maxKey: hex.EncodeToString(f.MaxKey), rows: f.RowCount,
		keyMin: hex.EncodeToString(f.KeyStats.MinValues), keyMax: hex.EncodeToString(f.KeyStats.MaxValues), keyNulls: nulls(f.KeyStats.NullCounts),
		valMin: hex.EncodeToString(f.ValueStats.MinValues), valMax: hex.EncodeToString(f.ValueStats.MaxValues), valNulls: nulls(f.ValueStats.NullCounts),
		valCols: cols,
	}
}

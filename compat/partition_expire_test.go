package compat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
)

// livePartitions lists the partitions (k=v/...) that hold files in a table's latest
// snapshot.
func livePartitions(ctx context.Context, t *testing.T, path string) []string {
	t.Helper()
	_, plan := latestPlan(ctx, t, path)
	var out []string
	for _, s := range plan.Splits {
		var kv []string
		for i, k := range plan.Schema.PartitionKeys {
			kv = append(kv, fmt.Sprintf("%s=%v", k, s.PartitionValues[i]))
		}
		if p := strings.Join(kv, "/"); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Partition expiration by partition values drops the partitions Paimon's drops: for
// several value formats (the default yyyy-MM-dd, a partition.timestamp-formatter, a
// partition.timestamp-pattern over two keys, and values that are no time), partitions
// of days around the expiration time are written, and Tarn (Table.ExpirePartitions) and
// Paimon (PartitionExpire through compat/oracle expire-partitions) expire two copies of
// the table. The same partitions must be left, and Paimon must read Tarn's copy as it
// reads its own. Days are drawn at random; the seed is printed (TARN_PEXPIRE_SEED).
func TestPartitionExpiryAsPaimon(t *testing.T) {
	requireOracle(t)
	seed := seedFrom(t, "TARN_PEXPIRE_SEED")
	t.Logf("seed %d", seed)
	// Partition times are whole hours, as are the expiration times: the two expirations,
	// seconds apart, must not straddle a whole hour.
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 2*time.Minute {
		time.Sleep(left + 5*time.Second)
	}
	now := time.Now().UTC()
	for i, tc := range []struct {
		name    string
		columns string
		keys    []string
		options map[string]string
		values  func(day time.Time) []string // partition values of a day
	}{
		{"default formatter", "dt STRING NOT NULL, id INT NOT NULL", []string{"dt"}, nil,
			func(d time.Time) []string { return []string{d.Format("2006-01-02")} }},
		{"formatter yyyyMMdd", "dt STRING NOT NULL, id INT NOT NULL", []string{"dt"},
			map[string]string{"partition.timestamp-formatter": "yyyyMMdd"},
			func(d time.Time) []string { return []string{d.Format("20060102")} }},
		{"pattern over two keys", "dt STRING NOT NULL, hr STRING NOT NULL, id INT NOT NULL", []string{"dt", "hr"},
			map[string]string{"partition.timestamp-pattern": "$dt $hr:00:00", "partition.timestamp-formatter": "yyyy-MM-dd HH:mm:ss"},
			func(d time.Time) []string { return []string{d.Format("2006-01-02"), d.Format("15")} }},
		{"values that are no time", "dt STRING NOT NULL, id INT NOT NULL", []string{"dt"}, nil,
			func(d time.Time) []string {
				if d.Day()%3 == 0 {
					return []string{"not-a-day-" + d.Format("02")}
				}
				return []string{d.Format("2006-01-02")}
			}},
	} {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			expiration := []string{"7 d", "36 h", "3 d"}[r.IntN(3)]
			opts := map[string]string{"bucket": "1", "partition.expiration-time": expiration, "partition.expiration-check-interval": "0 s"}
			for k, v := range tc.options {
				opts[k] = v
			}
			pk := append(slices.Clone(tc.keys), "id")
			tbl, fields := newTable(t, catalog.New(fileio.NewLocal(), filepath.Join(dir, "wh")), "t", tc.columns,
				catalog.TableSpec{PrimaryKeys: pk, PartitionKeys: tc.keys, Options: opts})
			var rows []string
			for d := -12; d <= 2; d++ {
				if r.IntN(4) == 0 {
					continue
				}
				day := now.Truncate(24*time.Hour).AddDate(0, 0, d).Add(time.Duration(5+r.IntN(12)) * time.Hour)
				vals := tc.values(day)
				row := []string{}
				for j, k := range tc.keys {
					row = append(row, fmt.Sprintf("%q:%q", k, vals[j]))
				}
				rows = append(rows, fmt.Sprintf(`{%s,"id":%d}`, strings.Join(row, ","), r.IntN(100)))
			}
			if _, err := commitJSONL(ctx, tbl, fields, rows, 1); err != nil {
				t.Fatal(err)
			}
			paimonDir := filepath.Join(dir, "paimon-copy")
			if err := os.CopyFS(paimonDir, os.DirFS(tbl.Path())); err != nil {
				t.Fatal(err)
			}
			before := livePartitions(ctx, t, tbl.Path())
			res, err := tbl.ExpirePartitions(ctx, time.Now(), false)
			if err != nil {
				t.Fatal(err)
			}
			out, err := oracle(ctx, paimonLatest, "expire-partitions", paimonDir)
			if err != nil {
				t.Fatalf("Paimon's partition expiration: %v\n%s", err, out)
			}
			got, want := livePartitions(ctx, t, tbl.Path()), livePartitions(ctx, t, paimonDir)
			t.Logf("expiration %s; partitions %v; Tarn expired %v (skipped %v); Paimon: %s", expiration, before, res.Names(), res.Skipped, strings.TrimSpace(string(out)))
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d (TARN_PEXPIRE_SEED): partitions left by Tarn %v, by Paimon %v", seed, got, want)
			}
			if len(got) == len(before) {
				t.Logf("nothing expired")
			}
			readsAsPaimon(ctx, t, tbl, "after the partition expiration", true)
		})
	}
}

package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Partition expiration as Paimon's NormalPartitionExpire does it: partitions dated (by
// their values, through partition.timestamp-pattern and -formatter, or by their newest
// file) before now minus partition.expiration-time are dropped by one OVERWRITE snapshot
// (one per partition.expiration-batch-size of them), at most
// partition.expiration-max-num of them; partitions whose values are no date stay.
func TestExpirePartitions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 1, 10, 12, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		name    string
		columns string
		parts   []string // partition values of the rows, as JSON fields
		options map[string]string
		expired string // partitions dropped, as "k=v/k=v" in order
		kept    int    // rows left
		later   time.Duration
		commits int // OVERWRITE snapshots (0: one)
	}{
		{"values, default formatter", "dt STRING, id INT, v STRING", []string{`"dt":"2024-01-01"`, `"dt":"2024-01-05"`, `"dt":"2024-01-09"`, `"dt":"not-a-date"`},
			map[string]string{"partition.expiration-time": "3 d"}, "dt=2024-01-01 dt=2024-01-05", 2, 0, 0},
		{"values, formatter and pattern", "dt STRING, hr STRING, id INT, v STRING", []string{`"dt":"20240109","hr":"11"`, `"dt":"20240110","hr":"01"`, `"dt":"20240110","hr":"11"`},
			map[string]string{"partition.expiration-time": "12 h", "partition.timestamp-formatter": "yyyyMMdd HH", "partition.timestamp-pattern": "$dt $hr"}, "dt=20240109/hr=11", 2, 0, 0},
		{"max num", "dt STRING, id INT, v STRING", []string{`"dt":"2024-01-01"`, `"dt":"2024-01-02"`, `"dt":"2024-01-03"`},
			map[string]string{"partition.expiration-time": "1 d", "partition.expiration-max-num": "2"}, "dt=2024-01-01 dt=2024-01-02", 1, 0, 0},
		// Files written now: not expired a day later, expired two days later.
		{"update time, not yet", "dt STRING, id INT, v STRING", []string{`"dt":"a"`, `"dt":"b"`},
			map[string]string{"partition.expiration-time": "2 d", "partition.expiration-strategy": "update-time"}, "", 2, 24 * time.Hour, 0},
		{"update time", "dt STRING, id INT, v STRING", []string{`"dt":"a"`, `"dt":"b"`},
			map[string]string{"partition.expiration-time": "1 d", "partition.expiration-strategy": "update-time"}, "dt=a dt=b", 0, 48 * time.Hour, 0},
		{"no option", "dt STRING, id INT, v STRING", []string{`"dt":"2000-01-01"`}, nil, "", 1, 0, 0},
		{"batch size", "dt STRING, id INT, v STRING", []string{`"dt":"2024-01-01"`, `"dt":"2024-01-02"`, `"dt":"2024-01-03"`, `"dt":"2024-01-10"`},
			map[string]string{"partition.expiration-time": "1 d", "partition.expiration-batch-size": "2"}, "dt=2024-01-01 dt=2024-01-02 dt=2024-01-03", 1, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields, err := types.ParseColumns(tc.columns)
			if err != nil {
				t.Fatal(err)
			}
			var partKeys []string
			for _, f := range fields {
				if f.Name == "dt" || f.Name == "hr" {
					partKeys = append(partKeys, f.Name)
				}
			}
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "p"}, catalog.TableSpec{Fields: fields, PartitionKeys: partKeys, Options: tc.options}, false)
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for i, p := range tc.parts {
				rows = append(rows, fmt.Sprintf(`{%s,"id":%d,"v":"x"}`, p, i))
			}
			writeCommit(t, tbl, fields, false, "["+strings.Join(rows, ",")+"]", 1)

			now := now
			if tc.later != 0 {
				now = time.Now().Add(tc.later)
			}
			dry, err := tbl.ExpirePartitions(ctx, now, true)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tbl.ExpirePartitions(ctx, now, false)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Names()
			if strings.Join(got, " ") != tc.expired || len(dry.Expired) != len(res.Expired) || dry.SnapshotID != 0 {
				t.Errorf("expired %v (dry run %v), want %q", got, dry.Expired, tc.expired)
			}
			if n := strings.Count(scanJSONL(t, tbl, table.ScanOptions{}), "\n"); n != tc.kept {
				t.Errorf("%d rows left, want %d", n, tc.kept)
			}
			if tc.expired == "" {
				if res.SnapshotID != 0 {
					t.Errorf("nothing expired, yet snapshot %d", res.SnapshotID)
				}
				return
			}
			commits := max(tc.commits, 1)
			if res.SnapshotID != int64(1+commits) {
				t.Errorf("the last OVERWRITE snapshot is %d, want %d", res.SnapshotID, 1+commits)
			}
			for id := int64(2); id <= res.SnapshotID; id++ {
				snap, err := tbl.Snapshot(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if snap.CommitKind != format.CommitOverwrite {
					t.Errorf("snapshot %d is %s, want OVERWRITE", snap.ID, snap.CommitKind)
				}
			}
			// Time travel still reads the dropped partitions.
			if n := strings.Count(scanJSONL(t, tbl, table.ScanOptions{SnapshotID: 1}), "\n"); n != len(tc.parts) {
				t.Errorf("snapshot 1 reads %d rows, want %d", n, len(tc.parts))
			}
		})
	}
}

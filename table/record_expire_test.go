package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Record-level expiration as Paimon's RecordLevelExpire: compactions drop the records
// whose time field is older than record-level.expire-time (INT seconds, BIGINT seconds or
// milliseconds, TIMESTAMP); records with a null time stay; reads before a compaction see
// everything. A full compaction of a bucket that is one top-level run rewrites the files
// whose oldest time has expired (pickFullCompaction).
func TestRecordLevelExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	for _, tc := range []struct {
		typ      string
		old, new string
	}{
		{"INT", fmt.Sprint(old.Unix()), fmt.Sprint(now.Unix())},
		{"BIGINT", fmt.Sprint(old.UnixMilli()), fmt.Sprint(now.UnixMilli())}, // milliseconds
		{"TIMESTAMP(3)", `"` + old.UTC().Format("2006-01-02 15:04:05") + `"`, `"` + now.UTC().Add(time.Hour).Format("2006-01-02 15:04:05") + `"`},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			fields, err := types.ParseColumns("id INT NOT NULL, t " + tc.typ + ", v STRING")
			if err != nil {
				t.Fatal(err)
			}
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			id := catalog.Identifier{Database: "db", Table: "r"}
			tbl, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"},
				Options: map[string]string{"bucket": "1", "record-level.time-field": "t"}}, false)
			if err != nil {
				t.Fatal(err)
			}
			rows := fmt.Sprintf(`[{"id":1,"t":%s,"v":"old"},{"id":2,"t":%s,"v":"new"},{"id":3,"t":null,"v":"no time"}]`, tc.old, tc.new)
			writeCommit(t, tbl, fields, false, rows, 1)
			writeCommit(t, tbl, fields, false, fmt.Sprintf(`[{"id":4,"t":%s,"v":"old"}]`, tc.old), 2)
			// Without expiration the full compaction keeps all four: one top-level run.
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{catalog.SetOption{Key: "record-level.expire-time", Value: "1 d"}}); err != nil {
				t.Fatal(err)
			}
			tbl, err = cat.LoadTable(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(scanJSONL(t, tbl, table.ScanOptions{}), "\n"); n != 4 {
				t.Fatalf("%d rows before the compaction, want 4", n)
			}
			sum, err := tbl.Compact(ctx, table.CompactOptions{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			if sum.SnapshotID == 0 {
				t.Fatal("the full compaction of one expired top-level run did nothing")
			}
			got := scanJSONL(t, tbl, table.ScanOptions{})
			if strings.Count(got, "\n") != 2 || !strings.Contains(got, `"v":"new"`) || !strings.Contains(got, `"v":"no time"`) {
				t.Errorf("rows after the compaction:\n%s\nwant ids 2 and 3", got)
			}
		})
	}
}

// The options are checked when the table is created.
func TestRecordLevelExpireOptions(t *testing.T) {
	fields, _ := types.ParseColumns("id INT NOT NULL, t STRING")
	for opts, want := range map[string]string{
		"record-level.expire-time=1 d":                              "needs record-level.time-field",
		"record-level.expire-time=1 d,record-level.time-field=nope": `"nope" is not a column`,
		"record-level.expire-time=1 d,record-level.time-field=t":    "want INT, BIGINT or TIMESTAMP",
		"record-level.expire-time=later,record-level.time-field=t":  "record-level.expire-time",
	} {
		m := map[string]string{}
		for _, kv := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		cat := catalog.New(fileio.NewLocal(), t.TempDir())
		_, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: "r"}, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: m}, false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", opts, err, want)
		}
	}
}

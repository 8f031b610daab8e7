package table_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

func lcTagIDs(t testing.TB, tbl *table.Table) map[string]int64 {
	t.Helper()
	tags, err := tbl.ListTags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, tag := range tags {
		out[tag.Name] = tag.SnapshotID
	}
	return out
}

func TestTags(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, nil)
			content := lcHistory(t, tbl)

			steps := []struct {
				name string
				run  func() error
				want string // error substring, "" for success
			}{
				{"tag the latest", func() error { _, err := tbl.CreateTag(ctx, "latest", 0, 0); return err }, ""},
				{"tag a snapshot", func() error { _, err := tbl.CreateTag(ctx, "three", 3, 0); return err }, ""},
				{"tag with retention", func() error { _, err := tbl.CreateTag(ctx, "ttl", 2, time.Hour); return err }, ""},
				{"duplicate", func() error { _, err := tbl.CreateTag(ctx, "three", 4, 0); return err }, "already exists"},
				{"blank name", func() error { _, err := tbl.CreateTag(ctx, " ", 4, 0); return err }, "blank"},
				{"path in name", func() error { _, err := tbl.CreateTag(ctx, "a/b", 4, 0); return err }, "must not contain"},
				{"missing snapshot", func() error { _, err := tbl.CreateTag(ctx, "x", 99, 0); return err }, "not found"},
			}
			for _, s := range steps {
				err := s.run()
				if s.want == "" && err != nil || s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)) {
					t.Fatalf("%s: error %v, want %q", s.name, err, s.want)
				}
			}
			if got := fmt.Sprint(lcTagIDs(t, tbl)); got != "map[latest:8 three:3 ttl:2]" {
				t.Fatalf("tags %s", got)
			}
			// A tag with retention is a snapshot plus Paimon's tagCreateTime and tagTimeRetained.
			data, err := fio.ReadFile(ctx, tbl.Join("tag", "tag-ttl"))
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`(?s)"id" : 2,.*"tagCreateTime" : \[ \d{4}, \d+, \d+, \d+, \d+(, \d+(, \d+)?)? \],\n  "tagTimeRetained" : 3600\.000000000\n}$`).Match(data) {
				t.Fatalf("tag file:\n%s", data)
			}
			plain, _ := fio.ReadFile(ctx, tbl.Join("tag", "tag-three"))
			snap3, _ := fio.ReadFile(ctx, tbl.Join("snapshot", "snapshot-3"))
			if string(plain) != string(snap3) {
				t.Fatalf("a tag without retention is not the snapshot file:\n%s\n%s", plain, snap3)
			}
			tags, err := tbl.ListTags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tags[0].Name != "ttl" || tags[0].TimeRetained != time.Hour || time.Since(tags[0].CreateTime.Add(-lcZoneOffset())) > time.Minute {
				t.Fatalf("tag info %+v", tags[0])
			}
			lcAssertReadable(t, tbl, content)

			// Deleting a tag of a live snapshot deletes the tag file only.
			del, err := tbl.DeleteTag(ctx, "latest")
			if err != nil || del.Files() != 1 {
				t.Fatalf("delete latest: %v %v", del, err)
			}
			// Expire everything but the latest: the tags keep snapshots 2 and 3 readable.
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			lcAssertReadable(t, tbl, content)
			lcAssertExact(t, tbl)
			// An expired snapshot still held by a tag can be tagged again.
			if _, err := tbl.CreateTag(ctx, "three-again", 3, 0); err != nil {
				t.Fatal(err)
			}
			// Deleting one of two tags of a snapshot keeps the files.
			if del, err := tbl.DeleteTag(ctx, "three"); err != nil || del.Files() != 1 {
				t.Fatalf("delete three: %v %v", del, err)
			}
			lcAssertReadable(t, tbl, content)
			lcAssertExact(t, tbl)
			// Deleting the last tag of an expired snapshot deletes exactly its own files.
			for _, name := range []string{"three-again", "ttl"} {
				del, err := tbl.DeleteTag(ctx, name)
				if err != nil || del.Files() < 2 {
					t.Fatalf("delete %s: %+v %v", name, del, err)
				}
				lcAssertReadable(t, tbl, content)
				lcAssertExact(t, tbl)
			}
			if _, err := tbl.DeleteTag(ctx, "nope"); !errors.Is(err, table.ErrNotFound) {
				t.Fatalf("delete missing tag: %v", err)
			}
		})
	}
}

// lcZoneOffset is the local zone's offset: tag creation times are local wall-clock times.
func lcZoneOffset() time.Duration {
	_, off := time.Now().Zone()
	return time.Duration(off) * time.Second
}

// lcSetTimes rewrites the commit times (and watermarks, when not nil) of snapshots 1..n.
func lcSetTimes(t testing.TB, tbl *table.Table, times []time.Time, watermarks []*time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range times {
		p := tbl.Join(format.SnapshotPath(int64(i + 1)))
		data, err := tbl.FileIO().ReadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := format.ParseSnapshot(data)
		if err != nil {
			t.Fatal(err)
		}
		s.TimeMillis = times[i].UnixMilli()
		if watermarks != nil && watermarks[i] != nil {
			s.Watermark = format.Int64(watermarks[i].UnixMilli())
		}
		if err := tbl.FileIO().WriteFile(ctx, p, s.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAutoTag(t *testing.T) {
	at := func(day, hour, minute int) time.Time { return time.Date(2024, 3, day, hour, minute, 0, 0, time.UTC) }
	hourly := map[string]string{"tag.automatic-creation": "process-time", "tag.creation-period": "hourly", "sink.process-time-zone": "UTC"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	daily := with(hourly, "tag.creation-period", "daily")
	tests := []struct {
		name        string
		opts        map[string]string
		times       []time.Time
		watermarks  []*time.Time
		later       *time.Time // a snapshot committed after the first AutoTag
		want        string
		wantDeleted []string
	}{
		{name: "hourly", opts: hourly, times: []time.Time{at(1, 10, 5), at(1, 10, 40), at(1, 11, 10), at(1, 12, 30), at(1, 12, 31)},
			later: ptr(at(1, 14, 0)), want: "2024-03-01 09=1 2024-03-01 10=3 2024-03-01 11=4 2024-03-01 13=6"},
		{name: "daily", opts: daily, times: []time.Time{at(1, 10, 0), at(1, 23, 0), at(2, 0, 30), at(2, 12, 0), at(4, 8, 0)},
			want: "2024-02-29=1 2024-03-01=3 2024-03-03=5"},
		{name: "daily with completion", opts: with(daily, "tag.automatic-completion", "true"), times: []time.Time{at(1, 10, 0), at(1, 23, 0), at(2, 0, 30), at(2, 12, 0), at(4, 8, 0)},
			want: "2024-02-29=1 2024-03-01=3 2024-03-02=5"},
		{name: "num-retained-max", opts: with(hourly, "tag.num-retained-max", "2"), times: []time.Time{at(1, 10, 5), at(1, 10, 40), at(1, 11, 10), at(1, 12, 30), at(1, 12, 31)},
			want: "2024-03-01 10=3 2024-03-01 11=4", wantDeleted: []string{"2024-03-01 09"}},
		{name: "delay", opts: with(hourly, "tag.creation-delay", "30 min"), times: []time.Time{at(1, 10, 5), at(1, 10, 40), at(1, 11, 10), at(1, 11, 35), at(1, 12, 31)},
			want: "2024-03-01 09=1 2024-03-01 10=4 2024-03-01 11=5"},
		{name: "watermark", opts: with(hourly, "tag.automatic-creation", "watermark"), times: []time.Time{at(9, 0, 0), at(9, 0, 0), at(9, 0, 0), at(9, 0, 0), at(9, 0, 0)},
			watermarks: []*time.Time{nil, ptr(at(1, 10, 5)), ptr(at(1, 11, 10)), nil, ptr(at(1, 12, 30))},
			want:       "2024-03-01 09=2 2024-03-01 10=3 2024-03-01 11=5"},
		{name: "without dashes", opts: with(hourly, "tag.period-formatter", "without_dashes"), times: []time.Time{at(1, 10, 5), at(1, 11, 10)},
			want: "20240301 09=1 20240301 10=2"},
		{name: "period duration", opts: with(hourly, "tag.creation-period-duration", "30 min"), times: []time.Time{at(1, 10, 5), at(1, 10, 40), at(1, 11, 10)},
			want: "202403010930=1 202403011000=2 202403011030=3"},
		{name: "none", opts: map[string]string{}, times: []time.Time{at(1, 10, 5), at(1, 12, 5)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tbl, err := catalog.New(fileio.NewMemory(), "/wh").CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{
				Fields: lcColumns(t, "k INT"), Options: tt.opts,
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.times {
				lcWrite(t, tbl, fmt.Sprintf(`[{"k":%d}]`, i), false, false)
			}
			lcSetTimes(t, tbl, tt.times, tt.watermarks)
			res, err := tbl.AutoTag(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if tt.later != nil {
				lcWrite(t, tbl, `[{"k":100}]`, false, false)
				lcSetTimes(t, tbl, append(append([]time.Time(nil), tt.times...), *tt.later), nil)
				if _, err := tbl.AutoTag(ctx, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for name, id := range lcTagIDs(t, tbl) {
				got = append(got, fmt.Sprintf("%s=%d", name, id))
			}
			sort.Strings(got)
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("tags %q, want %q", strings.Join(got, " "), tt.want)
			}
			if fmt.Sprint(res.DeletedTags) != fmt.Sprint(tt.wantDeleted) && !(len(res.DeletedTags) == 0 && len(tt.wantDeleted) == 0) {
				t.Fatalf("deleted tags %v, want %v", res.DeletedTags, tt.wantDeleted)
			}
			// Running again creates nothing.
			again, err := tbl.AutoTag(ctx, time.Now())
			if err != nil || len(again.Created)+len(again.DeletedTags) != 0 {
				t.Fatalf("second run: %+v %v", again, err)
			}
			lcAssertExact(t, tbl)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAutoTagExpiresTagsByTime(t *testing.T) {
	ctx := context.Background()
	tbl := lcCreatePK(t, fileio.NewMemory(), "/wh", map[string]string{"tag.default-time-retained": "2 h"})
	content := lcHistory(t, tbl)
	for _, c := range []struct {
		name     string
		id       int64
		retained time.Duration
	}{{"one-hour", 2, time.Hour}, {"default", 4, 0}, {"day", 5, 24 * time.Hour}} {
		if _, err := tbl.CreateTag(ctx, c.name, c.id, c.retained); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		left  string
	}{
		{0, "map[day:5 default:4 one-hour:2]"},
		{90 * time.Minute, "map[day:5 default:4]"},
		{3 * time.Hour, "map[day:5]"},
		{25 * time.Hour, "map[]"},
	}
	for _, s := range steps {
		if _, err := tbl.AutoTag(ctx, time.Now().Add(s.after)); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(lcTagIDs(t, tbl)); got != s.left {
			t.Fatalf("after %s: tags %s, want %s", s.after, got, s.left)
		}
		lcAssertReadable(t, tbl, content)
		lcAssertExact(t, tbl)
	}
}

func TestAutoTagBatch(t *testing.T) {
	ctx := context.Background()
	tbl := lcCreatePK(t, fileio.NewMemory(), "/wh", map[string]string{
		"tag.automatic-creation": "batch", "sink.process-time-zone": "UTC", "tag.num-retained-max": "2",
	})
	content := lcHistory(t, tbl)
	lcSetTimes(t, tbl, []time.Time{
		time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC),
		time.Date(2024, 5, 1, 4, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 5, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC),
		time.Date(2024, 5, 2, 7, 0, 0, 0, time.UTC), time.Date(2024, 5, 3, 8, 0, 0, 0, time.UTC),
	}, nil)
	if _, err := tbl.CreateTag(ctx, "manual", 2, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.AutoTag(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(lcTagIDs(t, tbl)); got != "map[batch-write-2024-05-03:8 manual:2]" {
		t.Fatalf("tags %s", got)
	}
	lcWrite(t, tbl, `[{"id":7,"v":"G","dt":"x"}]`, false, false)
	content[9] = lcScan(t, tbl, table.ScanOptions{SnapshotID: 9})
	if _, err := tbl.AutoTag(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The new batch tag (today's date) pushes the oldest tag out.
	tags := lcTagIDs(t, tbl)
	if len(tags) != 2 || tags["batch-write-2024-05-03"] != 8 || tags["manual"] != 0 {
		t.Fatalf("tags %v", tags)
	}
	lcAssertReadable(t, tbl, content)
	lcAssertExact(t, tbl)
}

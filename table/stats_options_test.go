package table

import (
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// fileModes follows StatsCollectorFactories.createStatsFactories (Parquet and ORC) and
// createStatsFactoriesForAvro (paimon-core/.../utils/StatsCollectorFactories.java) and the
// per-level and changelog choice of KeyValueFileWriterFactory.
func TestFileStatsModes(t *testing.T) {
	fields, err := types.ParseColumns("k STRING NOT NULL, a INT, b STRING, c BIGINT")
	if err != nil {
		t.Fatal(err)
	}
	kv := datafile.KeyValueFields(fields[:1], fields)
	cases := []struct {
		name      string
		options   map[string]string
		pk        bool
		level     int
		changelog bool
		format    string
		want      string // modes of the columns, comma separated
	}{
		{"default, primary key: key and system columns truncate(128)", nil, true, 0, false, "parquet",
			"truncate(128),truncate(128),truncate(128),truncate(16),truncate(16),truncate(16),truncate(16)"},
		{"default, append", nil, false, 0, false, "parquet", "truncate(16),truncate(16),truncate(16),truncate(16)"},
		{"avro has no system-column rule", map[string]string{"metadata.stats-mode": "counts"}, true, 0, false, "avro",
			"counts,counts,counts,counts,counts,counts,counts"},
		{"per level", map[string]string{"metadata.stats-mode": "none", "metadata.stats-mode.per.level": "0:counts,5:full"}, true, 5, false, "parquet",
			"truncate(128),truncate(128),truncate(128),full,full,full,full"},
		{"per level: other levels keep the table's", map[string]string{"metadata.stats-mode": "none", "metadata.stats-mode.per.level": "5:full"}, true, 1, false, "orc",
			"truncate(128),truncate(128),truncate(128),none,none,none,none"},
		{"per level does not apply to append tables", map[string]string{"metadata.stats-mode.per.level": "0:none"}, false, 0, false, "parquet",
			"truncate(16),truncate(16),truncate(16),truncate(16)"},
		{"changelog", map[string]string{"metadata.stats-mode.per.level": "0:none", "changelog-file.stats-mode": "full"}, true, 0, true, "parquet",
			"truncate(128),truncate(128),truncate(128),full,full,full,full"},
		{"changelog without its own mode: the level's", map[string]string{"metadata.stats-mode.per.level": "0:none"}, true, 0, true, "parquet",
			"truncate(128),truncate(128),truncate(128),none,none,none,none"},
		{"field modes first, also on key columns", map[string]string{"fields._KEY_k.stats-mode": "none", "fields.b.stats-mode": "FULL"}, true, 0, false, "parquet",
			"none,truncate(128),truncate(128),truncate(16),truncate(16),full,truncate(16)"},
		{"keep first n counts value and field-mode columns", map[string]string{"metadata.stats-keep-first-n-columns": "2", "fields.a.stats-mode": "full"}, true, 0, false, "parquet",
			"truncate(128),truncate(128),truncate(128),truncate(16),full,none,none"},
		{"keep first n in avro counts every column", map[string]string{"metadata.stats-keep-first-n-columns": "4"}, true, 0, false, "avro",
			"truncate(16),truncate(16),truncate(16),truncate(16),none,none,none"},
	}
	thinFields := append([]types.DataField{datafile.SequenceField(), datafile.ValueKindField()}, fields...)
	for _, c := range []struct {
		name   string
		format string
		want   string
	}{
		{"thin: the key's value columns truncate(128)", "parquet", "truncate(128),truncate(128),truncate(128),truncate(16),truncate(16),truncate(16)"},
		{"thin avro: no such rule", "avro", "truncate(16),truncate(16),truncate(16),truncate(16),truncate(16),truncate(16)"},
	} {
		modes := ParseCoreOptions(format.Options{}).Stats.fileModes(thinFields, true, 0, false, c.format, []string{"k"})
		got := make([]string, len(modes))
		for i, m := range modes {
			got[i] = m.String()
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s: got %s, want %s", c.name, strings.Join(got, ","), c.want)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := format.Options{}
			for k, v := range c.options {
				o.Set(k, v)
			}
			if err := ValidateStatsOptions(o); err != nil {
				t.Fatal(err)
			}
			fs := fields
			if c.pk {
				fs = kv
			}
			modes := ParseCoreOptions(o).Stats.fileModes(fs, c.pk, c.level, c.changelog, c.format, nil)
			got := make([]string, len(modes))
			for i, m := range modes {
				got[i] = m.String()
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, ","), c.want)
			}
		})
	}
}

// Malformed statistics options are refused with the option named.
func TestValidateStatsOptions(t *testing.T) {
	for k, v := range map[string]string{
		"metadata.stats-mode":                 "truncate(0)",
		"changelog-file.stats-mode":           "minmax",
		"fields.a.stats-mode":                 "some",
		"metadata.stats-mode.per.level":       "0:fast",
		"metadata.stats-keep-first-n-columns": "two",
		"metadata.stats-dense-store":          "maybe",
	} {
		o := format.Options{}
		o.Set(k, v)
		err := ValidateStatsOptions(o)
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s = %s: error %v, want one naming the option", k, v, err)
		}
	}
}

// partitionInRange decides from a manifest's partition statistics whether it may hold a
// partition; a wrong "no" would keep ADD entries of deleted files, so nulls and unknown
// counts say "maybe".
func TestPartitionInRange(t *testing.T) {
	one := func(v int64) *int64 { return &v }
	cases := []struct {
		vals, los, his []any
		nulls          []*int64
		want           bool
	}{
		{[]any{"b"}, []any{"a"}, []any{"c"}, []*int64{one(0)}, true},
		{[]any{"a"}, []any{"a"}, []any{"a"}, []*int64{one(0)}, true},
		{[]any{"d"}, []any{"a"}, []any{"c"}, []*int64{one(0)}, false},
		{[]any{"b", int32(5)}, []any{"a", int32(1)}, []any{"c", int32(4)}, []*int64{one(0), one(0)}, false},
		{[]any{nil}, []any{"a"}, []any{"c"}, []*int64{one(0)}, false},
		{[]any{nil}, []any{"a"}, []any{"c"}, []*int64{one(2)}, true},
		{[]any{nil}, []any{"a"}, []any{"c"}, []*int64{nil}, true},
		{[]any{"b"}, []any{nil}, []any{nil}, []*int64{one(3)}, false}, // only nulls
	}
	for i, c := range cases {
		if got := partitionInRange(c.vals, c.los, c.his, c.nulls); got != c.want {
			t.Errorf("case %d: %v in %v..%v = %v, want %v", i, c.vals, c.los, c.his, got, c.want)
		}
	}
}

// retryWait doubles commit.min-retry-wait per retry up to commit.max-retry-wait (Tarn's
// default 1 s) and adds up to a fifth at random (RetryWaiter.retryWait).
func TestCommitRetryWait(t *testing.T) {
	o := ParseCoreOptions(format.Options{})
	var paimon format.Options
	paimon.Set("commit.max-retry-wait", "10 s")
	p := ParseCoreOptions(paimon)
	for _, c := range []struct {
		o      CoreOptions
		n      int
		lo, hi time.Duration
	}{
		{o, 0, 10 * time.Millisecond, 12 * time.Millisecond},
		{o, 3, 80 * time.Millisecond, 96 * time.Millisecond},
		{o, 10, time.Second, 1200 * time.Millisecond},
		{p, 10, 10 * time.Second, 12 * time.Second},
		{p, 200, 10 * time.Second, 12 * time.Second},
	} {
		for range 20 {
			if w := c.o.retryWait(c.n); w < c.lo || w >= c.hi {
				t.Fatalf("wait before retry %d: %v, want %v to %v", c.n+1, w, c.lo, c.hi)
			}
		}
	}
}

// scanDefaults turns a table's scan options into the time travel of a batch scan that
// asks for none, as CoreOptions.startupMode and createStartingScanner do; starts Tarn
// does not plan are errors.
func TestScanDefaults(t *testing.T) {
	tags := func(name string) bool { return name == "t1" }
	for _, c := range []struct {
		opts map[string]string
		in   ScanOptions
		want ScanOptions
		err  string
	}{
		{nil, ScanOptions{}, ScanOptions{}, ""},
		{map[string]string{"scan.snapshot-id": "3"}, ScanOptions{}, ScanOptions{SnapshotID: 3}, ""},
		{map[string]string{"scan.snapshot-id": "3"}, ScanOptions{Tag: "x"}, ScanOptions{Tag: "x"}, ""}, // the reader's own choice wins
		{map[string]string{"scan.tag-name": "t1"}, ScanOptions{}, ScanOptions{Tag: "t1"}, ""},
		{map[string]string{"scan.version": "t1"}, ScanOptions{}, ScanOptions{Tag: "t1"}, ""},
		{map[string]string{"scan.version": "7"}, ScanOptions{}, ScanOptions{SnapshotID: 7}, ""},
		{map[string]string{"scan.version": "v9"}, ScanOptions{}, ScanOptions{}, "neither a tag nor a snapshot id"},
		{map[string]string{"scan.timestamp-millis": "1000"}, ScanOptions{}, ScanOptions{TimestampMillis: 1000}, ""},
		{map[string]string{"log.scan": "from-timestamp", "log.scan.timestamp-millis": "5"}, ScanOptions{}, ScanOptions{TimestampMillis: 5}, ""},
		{map[string]string{"scan.mode": "LATEST"}, ScanOptions{}, ScanOptions{}, ""},
		{map[string]string{"scan.mode": "compacted-full"}, ScanOptions{}, ScanOptions{SnapshotID: 6}, ""},
		{map[string]string{"incremental-between": "1,3"}, ScanOptions{}, ScanOptions{}, "incremental-between"},
		{map[string]string{"scan.mode": "from-snapshot"}, ScanOptions{}, ScanOptions{}, "scan.snapshot-id, scan.tag-name and scan.version are not set"},
		{map[string]string{"scan.timestamp": "yesterday"}, ScanOptions{}, ScanOptions{}, "scan.timestamp"},
	} {
		var o format.Options
		for k, v := range c.opts {
			o.Set(k, v)
		}
		got, err := scanDefaults(o, c.in, startLookups{tagExists: tags, compacted: func() (int64, error) { return 6, nil }})
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one saying %q", c.opts, err, c.err)
		case c.err == "" && (err != nil || got.SnapshotID != c.want.SnapshotID || got.Tag != c.want.Tag || got.TimestampMillis != c.want.TimestampMillis):
			t.Errorf("%v: got %+v, %v; want %+v", c.opts, got, err, c.want)
		}
	}
	loc, err := parseLocalTimestamp("2024-01-31 12:00:00")
	if err != nil || loc != time.Date(2024, 1, 31, 12, 0, 0, 0, time.Local) {
		t.Errorf("scan.timestamp 2024-01-31 12:00:00 = %v, %v", loc, err)
	}
}

// tailDefaults starts a tail that names no start where the table's scan options start
// Paimon's streaming reads (createStartingScanner with isStreaming); without options at
// the latest snapshot; a tag, a watermark and the starts Tarn does not plan are errors.
func TestTailDefaults(t *testing.T) {
	tags := func(name string) bool { return name == "t1" }
	for _, c := range []struct {
		opts     map[string]string
		start    StartMode
		snapshot int64
		millis   int64
		err      string
	}{
		{opts: nil, start: StartLatest},
		{opts: map[string]string{"scan.mode": "latest"}, start: StartLatest},
		{opts: map[string]string{"scan.mode": "latest-full"}, start: StartFull},
		{opts: map[string]string{"scan.mode": "full"}, start: StartFull},
		{opts: map[string]string{"scan.snapshot-id": "3"}, start: StartFromSnapshot, snapshot: 3},
		{opts: map[string]string{"scan.mode": "from-snapshot-full", "scan.snapshot-id": "4"}, start: StartFull, snapshot: 4},
		{opts: map[string]string{"scan.version": "7"}, start: StartFromSnapshot, snapshot: 7},
		{opts: map[string]string{"scan.timestamp-millis": "1000"}, start: StartFromTimestamp, millis: 1000},
		{opts: map[string]string{"scan.tag-name": "t1"}, err: "cannot start from a tag"},
		{opts: map[string]string{"scan.version": "t1"}, err: "cannot start from a tag"},
		{opts: map[string]string{"scan.watermark": "9"}, err: "scan.watermark"},
		{opts: map[string]string{"scan.mode": "compacted-full"}, start: StartFull, snapshot: 6},
		{opts: map[string]string{"scan.file-creation-time-millis": "5"}, err: "scan.file-creation-time-millis"},
	} {
		var o format.Options
		for k, v := range c.opts {
			o.Set(k, v)
		}
		got, err := tailDefaults(o, FollowOptions{Start: StartFromSnapshot, SnapshotID: 99}, startLookups{tagExists: tags, compacted: func() (int64, error) { return 6, nil }})
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one saying %q", c.opts, err, c.err)
		case c.err == "" && (err != nil || got.Start != c.start || got.SnapshotID != c.snapshot || got.TimestampMillis != c.millis):
			t.Errorf("%v: got start %v snapshot %d millis %d, %v; want %v %d %d", c.opts, got.Start, got.SnapshotID, got.TimestampMillis, err, c.start, c.snapshot, c.millis)
		}
	}
}

package catalog

import (
	"strings"
	"testing"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
)

// The compaction strategy options Paimon's CoreOptions defines (compaction.optimization-
// interval is a duration, the thresholds memory sizes, the off-peak hours 0..23 or -1,
// lookup-compact radical or gentle) and the file format options (per level too) are
// checked when a table is created or altered.
func TestValidateCompactionStrategyOptions(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, v STRING")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts    map[string]string
		refused string
	}{
		{opts: map[string]string{"compaction.optimization-interval": "1 h", "compaction.total-size-threshold": "256 mb", "compaction.incremental-size-threshold": "1 gb"}},
		{opts: map[string]string{"compaction.offpeak.start.hour": "22", "compaction.offpeak.end.hour": "6", "compaction.offpeak-ratio": "20"}},
		{opts: map[string]string{"compaction.offpeak.start.hour": "-1", "compaction.force-up-level-0": "true"}},
		{opts: map[string]string{"compaction.optimization-interval": "hourly"}, refused: "want a duration"},
		{opts: map[string]string{"compaction.total-size-threshold": "lots"}, refused: "want a size"},
		{opts: map[string]string{"compaction.offpeak.start.hour": "24"}, refused: "want an hour from 0 to 23"},
		{opts: map[string]string{"compaction.offpeak.end.hour": "-2"}, refused: "want an hour from 0 to 23"},
		{opts: map[string]string{"compaction.offpeak-ratio": "-5"}, refused: "want an integer >= 0"},
		{opts: map[string]string{"compaction.force-up-level-0": "sometimes"}, refused: "compaction.force-up-level-0"},
		{opts: map[string]string{"lookup-compact": "GENTLE", "lookup-compact.max-interval": "8"}},
		{opts: map[string]string{"lookup-compact": "lazy"}, refused: "want radical or gentle"},
		{opts: map[string]string{"lookup-compact.max-interval": "0"}, refused: "want an integer >= 1"},
		{opts: map[string]string{"file.format.per.level": "0:avro,3:orc", "file.compression.per.level": "0:snappy", "changelog-file.format": "orc",
			"changelog-file.compression": "lz4", "file.compression.zstd-level": "9", "parquet.enable.dictionary": "false"}},
		{opts: map[string]string{"file.format.per.level": "0:csv"}, refused: `format "csv"`},
		// Each format's own compression names: zlib for ORC, deflate for Avro, no lz4 for Avro.
		{opts: map[string]string{"file.format": "orc", "file.compression": "zlib"}},
		{opts: map[string]string{"file.format.per.level": "0:avro", "file.compression.per.level": "0:deflate"}},
		{opts: map[string]string{"file.format.per.level": "0:avro", "file.compression": "lz4"}, refused: `"lz4" is not supported for avro`},
		{opts: map[string]string{"file.format": "csv"}, refused: `file format "csv" is not supported`},
		{opts: map[string]string{"file.format.per.level": "zero:avro"}, refused: "want level:value"},
		{opts: map[string]string{"file.compression.per.level": "1:brotli9"}, refused: `compression "brotli9"`},
		{opts: map[string]string{"changelog-file.format": "json"}, refused: "changelog-file.format"},
		{opts: map[string]string{"file.compression.zstd-level": "30"}, refused: "want a level from 1 to 22"},
		{opts: map[string]string{"parquet.enable.dictionary": "maybe"}, refused: "parquet.enable.dictionary"},
		{opts: map[string]string{"parquet.page.size": "1048576"}},
		{opts: map[string]string{"parquet.page.size": "1 mb"}, refused: "want a positive number of bytes"},
		{opts: map[string]string{"parquet.page.size": "0"}, refused: "parquet.page.size"},
		{opts: map[string]string{"compaction.delete-ratio-threshold": "0.5"}},
		{opts: map[string]string{"compaction.delete-ratio-threshold": "half"}, refused: "want a share of a file's rows"},
		{opts: map[string]string{"compaction.delete-ratio-threshold": "-0.1"}, refused: "compaction.delete-ratio-threshold"},
		{opts: map[string]string{"partition.expiration-time": "30 d", "partition.expiration-check-interval": "10 min", "partition.expiration-strategy": "update-time",
			"partition.timestamp-formatter": "yyyyMMdd'T'HH", "partition.timestamp-pattern": "$dt", "partition.expiration-max-num": "10"}},
		{opts: map[string]string{"partition.expiration-time": "soon"}, refused: "partition.expiration-time"},
		{opts: map[string]string{"partition.expiration-strategy": "custom"}, refused: "want values-time or update-time"},
		{opts: map[string]string{"partition.timestamp-formatter": "EEE, dd MMM"}, refused: "is not supported"},
		{opts: map[string]string{"partition.expiration-max-num": "0"}, refused: "want a positive integer"},
		{opts: map[string]string{"partition.expiration-batch-size": "-1"}, refused: "partition.expiration-batch-size"},
		// Older names Paimon still reads as fallbacks.
		{opts: map[string]string{"first-row.ignore-delete": "true", "write.compaction-skip": "true", "log.scan": "latest",
			"snapshot.expire.clean-empty-directories": "true", "changelog-producer.lookup-wait": "false"}},
		{opts: map[string]string{"manifest.merge-min-count": "10", "manifest.target-file-size": "4 mb", "manifest.full-compaction-threshold-size": "32 mb"}},
		{opts: map[string]string{"manifest.full-compaction-threshold-size": "0 b"}, refused: "want a size above zero"},
		{opts: map[string]string{"manifest.merge-min-count": "0"}, refused: "want an integer >= 1"},
		{opts: map[string]string{"commit.max-retries": "0", "commit.min-retry-wait": "5 ms", "commit.max-retry-wait": "2 s", "commit.timeout": "1 min"}},
		{opts: map[string]string{"commit.timeout": "soon"}, refused: "commit.timeout"},
		{opts: map[string]string{"commit.max-retries": "-1"}, refused: "commit.max-retries"},
		{opts: map[string]string{"compaction.min.file-num": "0"}, refused: "want an integer >= 1"},
		{opts: map[string]string{"metadata.stats-mode": "truncate(32)", "metadata.stats-mode.per.level": "0:none", "fields.v.stats-mode": "full",
			"changelog-file.stats-mode": "counts", "metadata.stats-keep-first-n-columns": "3", "metadata.stats-dense-store": "false"}},
		{opts: map[string]string{"metadata.stats-mode": "min-max"}, refused: "metadata.stats-mode"},
		{opts: map[string]string{"bucket": "2", "bucket-function.type": "MOD"}},
		{opts: map[string]string{"bucket": "2", "bucket-function.type": "hive"}},
		{opts: map[string]string{"bucket-function.type": "murmur"}, refused: "want default, mod or hive"},
		{opts: map[string]string{"manifest.format": "avro"}},
		{opts: map[string]string{"streaming-read-overwrite": "true", "changelog-producer": "input"}},
		{opts: map[string]string{"streaming-read-overwrite": "true", "changelog-producer": "lookup"}, refused: "cannot be true with changelog-producer = lookup"},
		{opts: map[string]string{"bucket": "-2", "postpone.default-bucket-num": "4"}},
		{opts: map[string]string{"bucket": "-2", "postpone.default-bucket-num": "0"}, refused: "want an integer >= 1"},
		{opts: map[string]string{"manifest.format": "orc"}, refused: "Tarn reads and writes avro manifests"},
	} {
		err := ValidateOptions(format.NewOptions(tc.opts), fields, []string{"id"}, nil)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.opts, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%v: error %v, want one saying %q", tc.opts, err, tc.refused)
		}
	}
}

// Avro keeps timestamps of precision 6 at most: a level written as Avro is refused for a
// table with a TIMESTAMP(9) column, as Paimon's SchemaValidation refuses it.
func TestValidateAvroLevelTimestampPrecision(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, ts TIMESTAMP(9)")
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateOptions(format.NewOptions(map[string]string{"file.format.per.level": "0:avro"}), fields, []string{"id"}, nil)
	if err == nil || !strings.Contains(err.Error(), "column ts") {
		t.Errorf("0:avro with a TIMESTAMP(9) column: %v", err)
	}
	if err := ValidateOptions(format.NewOptions(map[string]string{"file.format.per.level": "0:orc"}), fields, []string{"id"}, nil); err != nil {
		t.Errorf("0:orc with a TIMESTAMP(9) column: %v", err)
	}
}

// Row tracking exists only in append-only tables without fixed buckets, and data evolution
// needs it and excludes deletion vectors (Paimon's SchemaValidation.validateRowTracking);
// the rules that depend on the primary key are checked here too.
func TestValidateRowTrackingOptions(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, v STRING")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts    map[string]string
		pk      []string
		refused string
	}{
		{opts: map[string]string{"row-tracking.enabled": "true"}},
		{opts: map[string]string{"row-tracking.enabled": "true", "bucket": "-1", "data-evolution.enabled": "true"}},
		{opts: map[string]string{"row-tracking.enabled": "true"}, pk: []string{"id"}, refused: "cannot have a primary key"},
		{opts: map[string]string{"row-tracking.enabled": "true", "bucket": "2", "bucket-key": "id"}, refused: "must have bucket = -1"},
		{opts: map[string]string{"data-evolution.enabled": "true"}, refused: "needs row-tracking.enabled"},
		{opts: map[string]string{"row-tracking.enabled": "true", "data-evolution.enabled": "true", "deletion-vectors.enabled": "true"}, refused: "cannot be combined with deletion-vectors"},
		{opts: map[string]string{"row-tracking.enabled": "yes"}, refused: "want true or false"},
		// streaming-read-overwrite is for primary-key tables (SchemaValidation).
		{opts: map[string]string{"streaming-read-overwrite": "true"}, refused: "needs a primary key"},
		{opts: map[string]string{"streaming-read-append-overwrite": "true"}},
	} {
		err := ValidateOptions(format.NewOptions(tc.opts), fields, tc.pk, nil)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.opts, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%v: error %v, want one saying %q", tc.opts, err, tc.refused)
		}
	}
}

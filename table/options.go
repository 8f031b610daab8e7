package table

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// CoreOptions are the table options the engine acts on, with Paimon's defaults
// (paimon-api/.../CoreOptions.java).
type CoreOptions struct {
	Bucket          int
	BucketKey       []string
	BucketFunction  string // bucket-function.type: default, mod or hive
	FileFormat      string
	FileCompression string
	// FormatPerLevel and CompressionPerLevel override FileFormat and FileCompression for
	// the files of some LSM levels (file.format.per.level, file.compression.per.level:
	// '0:avro,3:parquet'); changelog files have their own (changelog-file.format,
	// changelog-file.compression; empty: the data files').
	FormatPerLevel       map[int]string
	CompressionPerLevel  map[int]string
	ChangelogFormat      string
	ChangelogCompression string
	ZstdLevel            int   // file.compression.zstd-level (default 1)
	ParquetDictionary    bool  // parquet.enable.dictionary (default true)
	ParquetPageSize      int64 // parquet.page.size in bytes (0: datafile.DefaultPageSize)
	ManifestCompression  string
	MergeEngine          string
	ChangelogProducer    string
	SequenceField        []string
	IgnoreDelete         bool
	DeletionVectors      bool
	DVBitmap64           bool // deletion-vectors.bitmap64: new vectors in the 64-bit form
	// RowTracking (row-tracking.enabled): every appended row gets a row id, its file's
	// first_row_id plus its position, handed out at commit from the snapshot's nextRowId.
	RowTracking bool
	// DataEvolution (data-evolution.enabled): files may hold only some columns of a range
	// of row ids, newer ones overriding older ones column by column.
	DataEvolution bool
	// StreamingReadOverwrite (streaming-read-overwrite, primary-key tables) and
	// StreamingReadAppendOverwrite (streaming-read-append-overwrite, append-only tables):
	// streaming reads emit the changes of OVERWRITE snapshots too.
	StreamingReadOverwrite       bool
	StreamingReadAppendOverwrite bool
	PartitionDefaultName         string
	PartitionLegacyName          bool
	WriteBufferSize              int64
	TargetFileSize               int64 // 0: Paimon's default for the table kind
	NumSortedRunTrigger          int
	NumSortedRunStop             int // 0: trigger + 3
	MaxSizeAmplification         int
	SizeRatio                    int
	NumLevels                    int // 0: trigger + 1
	// Early full compaction (compaction.optimization-interval, .total-size-threshold,
	// .incremental-size-threshold; zero: unset) and off-peak hours
	// (compaction.offpeak.start.hour, .end.hour: -1 disables; compaction.offpeak-ratio).
	OptimizationInterval     time.Duration
	TotalSizeThreshold       int64
	IncrementalSizeThreshold int64
	OffPeakStart, OffPeakEnd int
	OffPeakRatio             int
	ForceUpLevel0            bool // compaction.force-up-level-0
	// lookup-compact gentle: a writer of a lookup table moves level 0 up only on every
	// LookupCompactMaxInterval-th pick that found nothing else (radical: on each).
	LookupCompactGentle      bool
	LookupCompactMaxInterval int // lookup-compact.max-interval; 0: 2 × the trigger
	SnapshotRetainMin        int
	SnapshotRetainMax        int
	SnapshotTimeRetainedS    int64
	DataFilePrefix           string
	DataFileDir              string // data-file.path-directory: the directory of partitions and buckets, "" for the table's
	IndexInDataDir           bool   // index-file-in-data-file-dir: index files live in their bucket's directory
	FileSuffixCompression    bool   // file.suffix.include.compression: data file names carry the compression
	PostponeDefaultBuckets   int    // postpone.default-bucket-num (default 1): buckets of a new partition of a postpone-bucket table
	ChangelogFilePrefix      string
	// A commit that loses the race for its snapshot retries at most CommitMaxRetries
	// times (commit.max-retries) and for at most CommitTimeout (commit.timeout; 0: no
	// limit), waiting commit.min-retry-wait doubled per retry up to commit.max-retry-wait,
	// plus up to a fifth at random (Paimon's RetryWaiter). Unset, Tarn retries up to 99
	// times with waits of at most 1 s, where Paimon retries 10 times with waits of up to
	// 10 s: Paimon's tables have one committer (a Flink job's), a Tarn server commits for
	// many writers and compactions at once, and long waits starve the unlucky ones.
	CommitMaxRetries     int
	CommitMinRetryWait   time.Duration
	CommitMaxRetryWait   time.Duration
	CommitTimeout        time.Duration
	CompactionMinFileNum int // compaction.min.file-num: small files an append bucket compacts at
	// SplitOpenFileCost (source.split.open-file-cost): what each file adds to the size of
	// an unaware-bucket append compaction's bin.
	SplitOpenFileCost int64
	// DeleteRatioThreshold (compaction.delete-ratio-threshold): an unaware-bucket append
	// file whose deletion vector deletes more than this share of its rows is compacted
	// however large it is.
	DeleteRatioThreshold float64
	// ThinMode (data-file.thin-mode): primary-key data files without the _KEY_ columns, the
	// key read from its value columns.
	ThinMode bool
	// CommitForceCompact (commit.force-compact): a writer's commit waits for the
	// compaction its flush started and takes it.
	CommitForceCompact bool
	// Manifest maintenance: manifest.target-file-size, manifest.merge-min-count,
	// manifest.full-compaction-threshold-size.
	ManifestTargetSize         int64
	ManifestMergeMinCount      int
	ManifestFullCompactionSize int64
	Stats                      StatsOptions
}

// ValidateManifestFormat refuses manifest.format other than avro: Tarn reads and writes
// Paimon's default manifest format only.
func ValidateManifestFormat(o format.Options) error {
	if v, ok := o.Get("manifest.format"); ok && !strings.EqualFold(strings.TrimSpace(v), "avro") {
		return fmt.Errorf("option manifest.format = %q: Tarn reads and writes avro manifests (Paimon's default) only", v)
	}
	return nil
}

// ParseCoreOptions reads options, applying defaults; malformed numbers fall back to the
// default (ValidateOptions reports them).
func ParseCoreOptions(o format.Options) CoreOptions {
	c := CoreOptions{
		Bucket:                     -1,
		FileFormat:                 "parquet",
		FileCompression:            "zstd",
		ManifestCompression:        "zstd",
		MergeEngine:                "deduplicate",
		ChangelogProducer:          "none",
		PartitionDefaultName:       format.DefaultPartition,
		PartitionLegacyName:        true,
		WriteBufferSize:            256 << 20,
		NumSortedRunTrigger:        5,
		MaxSizeAmplification:       200,
		SizeRatio:                  1,
		SnapshotRetainMin:          10,
		SnapshotRetainMax:          1<<31 - 1,
		SnapshotTimeRetainedS:      3600,
		DataFilePrefix:             format.DataFilePrefix,
		ChangelogFilePrefix:        format.ChangelogFilePfx,
		CommitMaxRetries:           99,
		CommitMinRetryWait:         10 * time.Millisecond,
		CommitMaxRetryWait:         time.Second,
		CompactionMinFileNum:       5,
		SplitOpenFileCost:          4 << 20,
		DeleteRatioThreshold:       0.2,
		ManifestTargetSize:         8 << 20,
		ManifestMergeMinCount:      30,
		ManifestFullCompactionSize: 16 << 20,
		ZstdLevel:                  1,
		PostponeDefaultBuckets:     1,
		ParquetDictionary:          true,
		OffPeakStart:               -1,
		OffPeakEnd:                 -1,
	}
	str := func(k string, dst *string) {
		if v, ok := o.Get(k); ok && v != "" {
			*dst = v
		}
	}
	num := func(k string, dst *int) {
		if v, ok := o.Get(k); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				*dst = n
			}
		}
	}
	boolean := func(k string, dst *bool) {
		if v, ok := o.Get(k); ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				*dst = b
			}
		}
	}
	size := func(k string, dst *int64) {
		if v, ok := o.Get(k); ok {
			if n, err := ParseMemorySize(v); err == nil {
				*dst = n
			}
		}
	}
	list := func(k string, dst *[]string) {
		if v, ok := o.Get(k); ok && strings.TrimSpace(v) != "" {
			for _, p := range strings.Split(v, ",") {
				*dst = append(*dst, strings.TrimSpace(p))
			}
		}
	}
	duration := func(k string, dst *time.Duration) {
		if v, ok := o.Get(k); ok {
			if d, err := ParseDuration(v); err == nil {
				*dst = d
			}
		}
	}
	num("bucket", &c.Bucket)
	list("bucket-key", &c.BucketKey)
	str("bucket-function.type", &c.BucketFunction)
	str("file.format", &c.FileFormat)
	c.FileFormat = strings.ToLower(c.FileFormat)
	str("file.compression", &c.FileCompression)
	str("manifest.compression", &c.ManifestCompression)
	c.FormatPerLevel = levelMap(o, "file.format.per.level")
	c.CompressionPerLevel = levelMap(o, "file.compression.per.level")
	str("changelog-file.format", &c.ChangelogFormat)
	c.ChangelogFormat = strings.ToLower(c.ChangelogFormat)
	str("changelog-file.compression", &c.ChangelogCompression)
	num("file.compression.zstd-level", &c.ZstdLevel)
	boolean("parquet.enable.dictionary", &c.ParquetDictionary)
	if v, ok := o.Get("parquet.page.size"); ok {
		if n, err := ParseParquetPageSize(v); err == nil {
			c.ParquetPageSize = n
		}
	}
	str("merge-engine", &c.MergeEngine)
	str("changelog-producer", &c.ChangelogProducer)
	list("sequence.field", &c.SequenceField)
	boolean("ignore-delete", &c.IgnoreDelete)
	boolean("deletion-vectors.enabled", &c.DeletionVectors)
	boolean("deletion-vectors.bitmap64", &c.DVBitmap64)
	boolean("row-tracking.enabled", &c.RowTracking)
	boolean("data-evolution.enabled", &c.DataEvolution)
	boolean("streaming-read-overwrite", &c.StreamingReadOverwrite)
	boolean("streaming-read-append-overwrite", &c.StreamingReadAppendOverwrite)
	str("partition.default-name", &c.PartitionDefaultName)
	boolean("partition.legacy-name", &c.PartitionLegacyName)
	size("write-buffer-size", &c.WriteBufferSize)
	size("target-file-size", &c.TargetFileSize)
	num("num-sorted-run.compaction-trigger", &c.NumSortedRunTrigger)
	num("num-sorted-run.stop-trigger", &c.NumSortedRunStop)
	num("compaction.max-size-amplification-percent", &c.MaxSizeAmplification)
	num("compaction.size-ratio", &c.SizeRatio)
	num("num-levels", &c.NumLevels)
	duration("compaction.optimization-interval", &c.OptimizationInterval)
	size("compaction.total-size-threshold", &c.TotalSizeThreshold)
	size("compaction.incremental-size-threshold", &c.IncrementalSizeThreshold)
	num("compaction.offpeak.start.hour", &c.OffPeakStart)
	num("compaction.offpeak.end.hour", &c.OffPeakEnd)
	num("compaction.offpeak-ratio", &c.OffPeakRatio)
	boolean("compaction.force-up-level-0", &c.ForceUpLevel0)
	if v, ok := o.Get("lookup-compact"); ok {
		c.LookupCompactGentle = strings.EqualFold(strings.TrimSpace(v), "gentle")
	}
	num("lookup-compact.max-interval", &c.LookupCompactMaxInterval)
	num("snapshot.num-retained.min", &c.SnapshotRetainMin)
	num("snapshot.num-retained.max", &c.SnapshotRetainMax)
	str("data-file.prefix", &c.DataFilePrefix)
	str("data-file.path-directory", &c.DataFileDir)
	boolean("index-file-in-data-file-dir", &c.IndexInDataDir)
	boolean("file.suffix.include.compression", &c.FileSuffixCompression)
	num("postpone.default-bucket-num", &c.PostponeDefaultBuckets)
	str("changelog-file.prefix", &c.ChangelogFilePrefix)
	num("commit.max-retries", &c.CommitMaxRetries)
	duration("commit.min-retry-wait", &c.CommitMinRetryWait)
	duration("commit.max-retry-wait", &c.CommitMaxRetryWait)
	duration("commit.timeout", &c.CommitTimeout)
	num("compaction.min.file-num", &c.CompactionMinFileNum)
	size("source.split.open-file-cost", &c.SplitOpenFileCost)
	if v, ok := o.Get("compaction.delete-ratio-threshold"); ok {
		if r, err := ParseDeleteRatioThreshold(v); err == nil {
			c.DeleteRatioThreshold = r
		}
	}
	boolean("data-file.thin-mode", &c.ThinMode)
	boolean("commit.force-compact", &c.CommitForceCompact)
	size("manifest.target-file-size", &c.ManifestTargetSize)
	num("manifest.merge-min-count", &c.ManifestMergeMinCount)
	size("manifest.full-compaction-threshold-size", &c.ManifestFullCompactionSize)
	c.Stats, _ = parseStatsOptions(o) // ValidateStatsOptions reports what does not parse
	c.MergeEngine = strings.ToLower(c.MergeEngine)
	c.ChangelogProducer = strings.ToLower(c.ChangelogProducer)
	if c.NumSortedRunStop == 0 {
		c.NumSortedRunStop = c.NumSortedRunTrigger + 3
	}
	if c.NumLevels == 0 {
		c.NumLevels = c.NumSortedRunTrigger + 1
	}
	if c.LookupCompactMaxInterval == 0 {
		c.LookupCompactMaxInterval = 2 * c.NumSortedRunTrigger
	}
	c.LookupCompactMaxInterval = max(c.LookupCompactMaxInterval, c.NumSortedRunTrigger) // CoreOptions.lookupCompactMaxInterval
	return c
}

// levelMap reads a map option of levels ('0:avro,3:parquet'), values lower-cased; entries
// that do not parse are left out (catalog validation reports them).
func levelMap(o format.Options, key string) map[int]string {
	v, ok := o.Get(key)
	if !ok {
		return nil
	}
	m, _ := ParseLevelMap(v)
	return m
}

// ParseLevelMap parses Paimon's map option of levels, 'level:value,...'.
func ParseLevelMap(v string) (map[int]string, error) {
	m := map[int]string{}
	for _, e := range strings.Split(v, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		k, val, ok := strings.Cut(e, ":")
		level, err := strconv.Atoi(strings.TrimSpace(k))
		if !ok || err != nil || level < 0 || strings.TrimSpace(val) == "" {
			return m, fmt.Errorf("entry %q: want level:value, such as 0:avro", strings.TrimSpace(e))
		}
		m[level] = strings.ToLower(strings.TrimSpace(val))
	}
	return m, nil
}

// fileFormat is the format and compression of the data files of an LSM level, or of the
// changelog files written at that level (KeyValueFileWriterFactory: changelog-file.format
// and .compression when set, else the level's).
func (o CoreOptions) fileFormat(level int, changelog bool) (format, compression string) {
	format, compression = o.FileFormat, o.FileCompression
	if f, ok := o.FormatPerLevel[level]; ok {
		format = f
	}
	if c, ok := o.CompressionPerLevel[level]; ok {
		compression = c
	}
	if changelog && o.ChangelogFormat != "" {
		format = o.ChangelogFormat
	}
	if changelog && o.ChangelogCompression != "" {
		compression = o.ChangelogCompression
	}
	return format, compression
}

// ValidateFileFormats checks the file format options: the per-level maps parse, every
// level's data files and changelog files have a format Tarn writes with a compression
// that format's writer accepts, the zstd level is one zstd has, and, as Paimon's
// SchemaValidation requires, no level written as Avro holds a timestamp column of a
// precision above 6.
func ValidateFileFormats(o format.Options, fields []types.DataField) error {
	for _, k := range []string{"file.format.per.level", "file.compression.per.level"} {
		if v, ok := o.Get(k); ok {
			if _, err := ParseLevelMap(v); err != nil {
				return fmt.Errorf("option %s: %w", k, err)
			}
		}
	}
	if v, ok := o.Get("file.compression.zstd-level"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 || n > 22 {
			return fmt.Errorf("option file.compression.zstd-level = %q: want a level from 1 to 22", v)
		}
	}
	c := ParseCoreOptions(o)
	levels := []int{-1} // a level without entries
	for l := range c.FormatPerLevel {
		levels = append(levels, l)
	}
	for l := range c.CompressionPerLevel {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	avro := false
	for _, l := range levels {
		for _, changelog := range []bool{false, true} {
			f, comp := c.fileFormat(l, changelog)
			if err := datafile.CheckWritable(f, comp); err != nil {
				what := "options file.format and file.compression"
				switch {
				case changelog:
					what = "options changelog-file.format and changelog-file.compression"
				case l >= 0:
					what = fmt.Sprintf("options file.format.per.level and file.compression.per.level, level %d", l)
				}
				return fmt.Errorf("%s: %w", what, err)
			}
			avro = avro || strings.EqualFold(f, datafile.FormatAvro)
		}
	}
	if avro {
		for _, f := range fields {
			if (f.Type.Root == types.Timestamp || f.Type.Root == types.LocalZonedTimestamp) && f.Type.Precision > 6 {
				return fmt.Errorf("column %s is %s: Avro stores timestamps of precision 6 at most; use parquet or orc for the files of that level or table", f.Name, f.Type)
			}
		}
	}
	return nil
}

// ParseDeleteRatioThreshold parses compaction.delete-ratio-threshold, a share of a file's
// rows (a double, as Paimon reads it).
func ParseDeleteRatioThreshold(v string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(v), 64)
}

// ParseParquetPageSize parses parquet.page.size: a positive number of bytes that fits an
// int, as parquet-mr (to which Paimon hands it) reads it.
func ParseParquetPageSize(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err == nil && n <= 0 {
		err = fmt.Errorf("%d is not positive", n)
	}
	return n, err
}

// ParseMemorySize parses Paimon memory sizes: "256 mb", "128mb", "1 gb", "1024" (bytes).
func ParseMemorySize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	unit := strings.TrimSpace(s[i:])
	mult := int64(1)
	switch unit {
	case "", "b", "bytes":
	case "k", "kb", "kibibytes":
		mult = 1 << 10
	case "m", "mb", "mebibytes":
		mult = 1 << 20
	case "g", "gb", "gibibytes":
		mult = 1 << 30
	case "t", "tb", "tebibytes":
		mult = 1 << 40
	default:
		return 0, strconv.ErrSyntax
	}
	return n * mult, nil
}

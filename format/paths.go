package format

import (
	"fmt"
	"strconv"
	"strings"
)

// File and directory names of a Paimon table (FileStorePathFactory, SnapshotManager,
// SchemaManager, TagManager, ConsumerManager, BranchManager).
const (
	SnapshotDir        = "snapshot"
	SchemaDir          = "schema"
	ManifestDir        = "manifest"
	IndexDir           = "index"
	TagDir             = "tag"
	ConsumerDir        = "consumer"
	BranchDir          = "branch"
	ChangelogDir       = "changelog"
	StatisticsDir      = "statistics"
	SnapshotPrefix     = "snapshot-"
	SchemaPrefix       = "schema-"
	TagPrefix          = "tag-"
	ConsumerPrefix     = "consumer-"
	BranchPrefix       = "branch-"
	ChangelogPrefix    = "changelog-"
	ManifestPrefix     = "manifest-"
	ManifestListPrefix = "manifest-list-"
	IndexManifestPfx   = "index-manifest-"
	IndexPrefix        = "index-"
	StatisticsPrefix   = "stat-"
	BucketPrefix       = "bucket-"
	DataFilePrefix     = "data-"
	ChangelogFilePfx   = "changelog-"
	LatestHint         = "LATEST"
	EarliestHint       = "EARLIEST"
	DatabaseSuffix     = ".db"
	DefaultPartition   = "__DEFAULT_PARTITION__"
	DefaultBranch      = "main"
)

// SnapshotPath is "snapshot/snapshot-<id>" relative to the table root.
func SnapshotPath(id int64) string {
	return SnapshotDir + "/" + SnapshotPrefix + strconv.FormatInt(id, 10)
}

// ChangelogPath is "changelog/changelog-<id>": a snapshot's changelog that Paimon's
// decoupled changelog expiry keeps after the snapshot expired.
func ChangelogPath(id int64) string {
	return ChangelogDir + "/" + ChangelogPrefix + strconv.FormatInt(id, 10)
}

// SchemaPath is "schema/schema-<id>".
func SchemaPath(id int64) string { return SchemaDir + "/" + SchemaPrefix + strconv.FormatInt(id, 10) }

// TagPath is "tag/tag-<name>".
func TagPath(name string) string { return TagDir + "/" + TagPrefix + name }

// ConsumerPath is "consumer/consumer-<id>".
func ConsumerPath(id string) string { return ConsumerDir + "/" + ConsumerPrefix + id }

// ManifestPath is "manifest/<name>" for manifests, manifest lists and index manifests.
func ManifestPath(name string) string { return ManifestDir + "/" + name }

// IndexPath is "index/<name>".
func IndexPath(name string) string { return IndexDir + "/" + name }

// PostponeBucket is the bucket of postpone-bucket tables (option bucket = -2) and of the
// files their writers leave for Paimon's postpone compaction (BucketMode.POSTPONE_BUCKET).
const PostponeBucket = -2

// BucketDir is "bucket-<n>" ("bucket-postpone" for bucket -2).
func BucketDir(bucket int) string {
	if bucket == PostponeBucket {
		return BucketPrefix + "postpone"
	}
	return BucketPrefix + strconv.Itoa(bucket)
}

// ParseIDSuffix parses the number after prefix in names like "snapshot-12".
func ParseIDSuffix(name, prefix string) (int64, bool) {
	if !strings.HasPrefix(name, prefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(name[len(prefix):], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// PartitionPath builds "k1=v1/k2=v2/" from partition column names and their string values
// (nil for null), escaping as PartitionPathUtils.escapePathName does. Empty or
// whitespace-only values and nulls become defaultName.
func PartitionPath(keys []string, values []*string, defaultName string) string {
	var b strings.Builder
	for i, k := range keys {
		v := defaultName
		if values[i] != nil && strings.TrimSpace(*values[i]) != "" {
			v = *values[i]
		}
		b.WriteString(EscapePathName(k))
		b.WriteByte('=')
		b.WriteString(EscapePathName(v))
		b.WriteByte('/')
	}
	return b.String()
}

func needsEscaping(c rune) bool {
	if c < ' ' || c == 0x7f {
		return true
	}
	return strings.ContainsRune("\"#%'*/:=?\\{}[]^", c)
}

// EscapePathName escapes a partition key or value for a path (PartitionPathUtils).
// Characters are judged as Java's UTF-16 chars: only ASCII ones are ever escaped.
func EscapePathName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if needsEscaping(c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// UnescapePathName reverses EscapePathName.
func UnescapePathName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DataFileName is "<prefix><uuid>-<n>.<format>" ("data-" or "changelog-" prefix).
func DataFileName(prefix, uuid string, n int64, fileFormat string) string {
	return prefix + uuid + "-" + strconv.FormatInt(n, 10) + "." + fileFormat
}

// CompressedDataFileName is DataFileName with the compression's extension before the
// format's, as Paimon names data files with file.suffix.include.compression
// (DataFilePathFactory.makeExtension): "<prefix><uuid>-<n>.zst.parquet". Hadoop's codecs
// go by their file extensions (HadoopCompressionType: zstd is zst, gzip gz, bzip2 bz2),
// others by their names; none adds nothing.
func CompressedDataFileName(prefix, uuid string, n int64, fileFormat, compression string) string {
	c := strings.ToLower(strings.TrimSpace(compression))
	switch c {
	case "", "none":
		return DataFileName(prefix, uuid, n, fileFormat)
	case "zstd":
		c = "zst"
	case "gzip":
		c = "gz"
	case "bzip2":
		c = "bz2"
	}
	return DataFileName(prefix, uuid, n, c+"."+fileFormat)
}

// MetaFileName is "<prefix><uuid>-<n>" for manifests, manifest lists, index manifests and
// index files.
func MetaFileName(prefix, uuid string, n int64) string {
	return prefix + uuid + "-" + strconv.FormatInt(n, 10)
}

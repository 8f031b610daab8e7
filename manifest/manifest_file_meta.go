package manifest

import "math"

// ManifestFileMeta describes one manifest file; it is a row of a manifest
// list (org.apache.paimon.manifest.ManifestFileMeta).
type ManifestFileMeta struct {
	FileName        string
	FileSize        int64
	NumAddedFiles   int64
	NumDeletedFiles int64
	// PartitionStats are the statistics of the partition columns over the
	// manifest's entries.
	PartitionStats SimpleStats
	SchemaID       int64
	// The ranges of bucket, level and row id over the manifest's entries; nil
	// when unknown or, for files written before Paimon 1.1, absent.
	MinBucket *int32
	MaxBucket *int32
	MinLevel  *int32
	MaxLevel  *int32
	MinRowID  *int64
	MaxRowID  *int64
}

// manifestFileMetaFormatVersion is the _VERSION Paimon writes in every
// manifest list row (ManifestFileMetaSerializer.FORMAT_IDENTIFIER).
const manifestFileMetaFormatVersion = 2

// manifestFileMetaRecord mirrors ManifestFileMeta.SCHEMA with the leading
// _VERSION field.
var manifestFileMetaRecord = newRecord(func(l *Layout) int { return 1 + l.manifestFileMetaFields() },
	versionField[ManifestFileMeta](manifestFileMetaFormatVersion),
	stringField("_FILE_NAME", func(m *ManifestFileMeta) *string { return &m.FileName }),
	longField("_FILE_SIZE", func(m *ManifestFileMeta) *int64 { return &m.FileSize }),
	longField("_NUM_ADDED_FILES", func(m *ManifestFileMeta) *int64 { return &m.NumAddedFiles }),
	longField("_NUM_DELETED_FILES", func(m *ManifestFileMeta) *int64 { return &m.NumDeletedFiles }),
	recordField("_PARTITION_STATS", simpleStatsRecord, func(m *ManifestFileMeta) *SimpleStats { return &m.PartitionStats }),
	longField("_SCHEMA_ID", func(m *ManifestFileMeta) *int64 { return &m.SchemaID }),
	optIntField("_MIN_BUCKET", func(m *ManifestFileMeta) **int32 { return &m.MinBucket }),
	optIntField("_MAX_BUCKET", func(m *ManifestFileMeta) **int32 { return &m.MaxBucket }),
	optIntField("_MIN_LEVEL", func(m *ManifestFileMeta) **int32 { return &m.MinLevel }),
	optIntField("_MAX_LEVEL", func(m *ManifestFileMeta) **int32 { return &m.MaxLevel }),
	optLongField("_MIN_ROW_ID", func(m *ManifestFileMeta) **int64 { return &m.MinRowID }),
	optLongField("_MAX_ROW_ID", func(m *ManifestFileMeta) **int64 { return &m.MaxRowID }),
)

// NewManifestFileMeta describes a manifest file holding entries, computing
// what Paimon's manifest writer computes while it writes: the numbers of added
// and deleted files, the largest schema id (latestSchemaID when there are no
// entries), the ranges of bucket and level, and the row id range when every
// file has a first row id. Partition statistics need the partition type and
// are the caller's (SimpleStats of the entries' partitions).
func NewManifestFileMeta(fileName string, fileSize int64, entries []ManifestEntry, partitionStats SimpleStats, latestSchemaID int64) ManifestFileMeta {
	m := ManifestFileMeta{FileName: fileName, FileSize: fileSize, PartitionStats: partitionStats, SchemaID: latestSchemaID}
	if len(entries) == 0 {
		return m
	}
	minBucket, maxBucket := int32(math.MaxInt32), int32(math.MinInt32)
	minLevel, maxLevel := int32(math.MaxInt32), int32(math.MinInt32)
	minRowID, maxRowID := int64(math.MaxInt64), int64(math.MinInt64)
	rowIDs := true
	m.SchemaID = math.MinInt64
	for i := range entries {
		e := &entries[i]
		if e.Kind == FileKindDelete {
			m.NumDeletedFiles++
		} else {
			m.NumAddedFiles++
		}
		m.SchemaID = max(m.SchemaID, e.File.SchemaID)
		minBucket, maxBucket = min(minBucket, e.Bucket), max(maxBucket, e.Bucket)
		minLevel, maxLevel = min(minLevel, e.File.Level), max(maxLevel, e.File.Level)
		if e.File.FirstRowID == nil {
			rowIDs = false
		} else if rowIDs {
			minRowID = min(minRowID, *e.File.FirstRowID)
			maxRowID = max(maxRowID, *e.File.FirstRowID+e.File.RowCount-1)
		}
	}
	m.MinBucket, m.MaxBucket = &minBucket, &maxBucket
	m.MinLevel, m.MaxLevel = &minLevel, &maxLevel
	if rowIDs {
		m.MinRowID, m.MaxRowID = &minRowID, &maxRowID
	}
	return m
}

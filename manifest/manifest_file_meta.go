package manifest

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

package manifest

// Index types Paimon records in IndexFileMeta.IndexType.
const (
	// IndexTypeDeletionVectors marks a deletion-vectors index file.
	IndexTypeDeletionVectors = "DELETION_VECTORS"
	// IndexTypeHash marks a dynamic-bucket hash index file.
	IndexTypeHash = "HASH"
)

// IndexFileMeta is the metadata of an index file (org.apache.paimon.index.IndexFileMeta).
type IndexFileMeta struct {
	IndexType string
	FileName  string
	FileSize  int64
	RowCount  int64
	// DeletionVectorRanges locates, for a deletion-vectors index file, the
	// vector of each data file, in the order the vectors are stored; nil is
	// null (other index types).
	DeletionVectorRanges []DeletionVectorMeta
	// ExternalPath is the file's location when it lives outside the table path.
	ExternalPath *string
	// GlobalIndexMeta describes a global index file; nil for other kinds.
	GlobalIndexMeta *GlobalIndexMeta
}

// DeletionVectorRange returns the deletion vector range of a data file.
func (m *IndexFileMeta) DeletionVectorRange(dataFileName string) (DeletionVectorMeta, bool) {
	for _, r := range m.DeletionVectorRanges {
		if r.DataFileName == dataFileName {
			return r, true
		}
	}
	return DeletionVectorMeta{}, false
}

// DeletionVectorMeta locates the deletion vector of one data file inside a
// deletion-vectors index file (org.apache.paimon.index.DeletionVectorMeta).
type DeletionVectorMeta struct {
	DataFileName string // f0
	Offset       int32  // f1: byte offset of the vector in the index file
	Length       int32  // f2: its length in bytes
	// Cardinality is the number of deleted rows; nil when unknown (written
	// before Paimon 1.1).
	Cardinality *int64
}

// GlobalIndexMeta describes a global index file (org.apache.paimon.index.GlobalIndexMeta).
type GlobalIndexMeta struct {
	RowRangeStart int64
	RowRangeEnd   int64
	IndexFieldID  int32
	// ExtraFieldIDs, IndexMeta and SourceMeta are nil when null.
	ExtraFieldIDs []int32
	IndexMeta     []byte
	SourceMeta    []byte
}

// deletionVectorMetaRecord mirrors DeletionVectorMeta.SCHEMA.
var deletionVectorMetaRecord = newRecord(func(l *Layout) int { return l.deletionVectorMetaFields() },
	stringField("f0", func(m *DeletionVectorMeta) *string { return &m.DataFileName }),
	intField("f1", func(m *DeletionVectorMeta) *int32 { return &m.Offset }),
	intField("f2", func(m *DeletionVectorMeta) *int32 { return &m.Length }),
	optLongField("_CARDINALITY", func(m *DeletionVectorMeta) **int64 { return &m.Cardinality }),
)

// globalIndexMetaRecord mirrors GlobalIndexMeta.SCHEMA.
var globalIndexMetaRecord = newRecord(func(l *Layout) int { return l.globalIndexMetaFields() },
	longField("_ROW_RANGE_START", func(m *GlobalIndexMeta) *int64 { return &m.RowRangeStart }),
	longField("_ROW_RANGE_END", func(m *GlobalIndexMeta) *int64 { return &m.RowRangeEnd }),
	intField("_INDEX_FIELD_ID", func(m *GlobalIndexMeta) *int32 { return &m.IndexFieldID }),
	optIntArrayField("_EXTRA_FIELD_IDS", func(m *GlobalIndexMeta) *[]int32 { return &m.ExtraFieldIDs }),
	optBytesField("_INDEX_META", func(m *GlobalIndexMeta) *[]byte { return &m.IndexMeta }),
	optBytesField("_SOURCE_META", func(m *GlobalIndexMeta) *[]byte { return &m.SourceMeta }),
)

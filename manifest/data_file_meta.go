package manifest

import (
	"fmt"
	"time"
)

// FileSource tells where a data file came from (org.apache.paimon.manifest.FileSource).
type FileSource int8

const (
	// FileSourceAppend marks a file written from new input.
	FileSourceAppend FileSource = 0
	// FileSourceCompact marks a file written by compaction.
	FileSourceCompact FileSource = 1
)

func (s FileSource) String() string {
	switch s {
	case FileSourceAppend:
		return "APPEND"
	case FileSourceCompact:
		return "COMPACT"
	}
	return fmt.Sprintf("FileSource(%d)", int8(s))
}

// DataFileMeta is the metadata of one data file (org.apache.paimon.io.DataFileMeta),
// the _FILE row of a manifest entry.
//
// Byte-slice fields that hold a serialized BinaryRow (MinKey, MaxKey and the
// stats) are kept raw. Nullable fields are pointers or slices: nil is null.
type DataFileMeta struct {
	FileName string
	FileSize int64
	RowCount int64
	// MinKey and MaxKey are serialized BinaryRows of the primary key (empty
	// rows for append tables).
	MinKey []byte
	MaxKey []byte
	// KeyStats are statistics of the key columns, ValueStats of the value
	// columns (of ValueStatsCols when that is not nil).
	KeyStats          SimpleStats
	ValueStats        SimpleStats
	MinSequenceNumber int64
	MaxSequenceNumber int64
	SchemaID          int64
	Level             int32
	// ExtraFiles are further files that belong to this one (for example a
	// changelog file); never null.
	ExtraFiles []string
	// CreationTime is Paimon's TIMESTAMP(3) without time zone: milliseconds
	// since the epoch of the writer's local wall-clock time, read as if UTC.
	CreationTime *int64
	// DeleteRowCount is the number of rows with a retract row kind.
	DeleteRowCount *int64
	// EmbeddedIndex is a file index stored inline; nil is null.
	EmbeddedIndex []byte
	FileSource    *FileSource
	// ValueStatsCols names the columns ValueStats covers: nil means all
	// columns, an empty slice none (Paimon's "dense" stats).
	ValueStatsCols []string
	// ExternalPath is the file's location when it lives outside the table path.
	ExternalPath *string
	// FirstRowID is the row id of the file's first row (row tracking).
	FirstRowID *int64
	// WriteCols names the columns the file holds when it holds only some of
	// them (data evolution); nil means all.
	WriteCols []string
	// WriteColsSequences (_WRITE_COLS_SEQUENCES) holds the maximum sequence
	// number per written column; a field of Paimon's main branch after 2.x,
	// written only by Layout{DataFileMetaFields: 21}.
	WriteColsSequences []int64
}

// dataFileMetaRecord mirrors DataFileMeta.SCHEMA.
var dataFileMetaRecord = newRecord(func(l *Layout) int { return l.dataFileMetaFields() },
	stringField("_FILE_NAME", func(m *DataFileMeta) *string { return &m.FileName }),
	longField("_FILE_SIZE", func(m *DataFileMeta) *int64 { return &m.FileSize }),
	longField("_ROW_COUNT", func(m *DataFileMeta) *int64 { return &m.RowCount }),
	bytesField("_MIN_KEY", func(m *DataFileMeta) *[]byte { return &m.MinKey }),
	bytesField("_MAX_KEY", func(m *DataFileMeta) *[]byte { return &m.MaxKey }),
	recordField("_KEY_STATS", simpleStatsRecord, func(m *DataFileMeta) *SimpleStats { return &m.KeyStats }),
	recordField("_VALUE_STATS", simpleStatsRecord, func(m *DataFileMeta) *SimpleStats { return &m.ValueStats }),
	longField("_MIN_SEQUENCE_NUMBER", func(m *DataFileMeta) *int64 { return &m.MinSequenceNumber }),
	longField("_MAX_SEQUENCE_NUMBER", func(m *DataFileMeta) *int64 { return &m.MaxSequenceNumber }),
	longField("_SCHEMA_ID", func(m *DataFileMeta) *int64 { return &m.SchemaID }),
	intField("_LEVEL", func(m *DataFileMeta) *int32 { return &m.Level }),
	stringArrayField("_EXTRA_FILES", func(m *DataFileMeta) *[]string { return &m.ExtraFiles }),
	optTimestampMillisField("_CREATION_TIME", func(m *DataFileMeta) **int64 { return &m.CreationTime }),
	optLongField("_DELETE_ROW_COUNT", func(m *DataFileMeta) **int64 { return &m.DeleteRowCount }),
	optBytesField("_EMBEDDED_FILE_INDEX", func(m *DataFileMeta) *[]byte { return &m.EmbeddedIndex }),
	fileSourceField("_FILE_SOURCE", func(m *DataFileMeta) **FileSource { return &m.FileSource }),
	optStringArrayField("_VALUE_STATS_COLS", func(m *DataFileMeta) *[]string { return &m.ValueStatsCols }),
	optStringField("_EXTERNAL_PATH", func(m *DataFileMeta) **string { return &m.ExternalPath }),
	optLongField("_FIRST_ROW_ID", func(m *DataFileMeta) **int64 { return &m.FirstRowID }),
	optStringArrayField("_WRITE_COLS", func(m *DataFileMeta) *[]string { return &m.WriteCols }),
	optLongArrayField("_WRITE_COLS_SEQUENCES", func(m *DataFileMeta) *[]int64 { return &m.WriteColsSequences }),
)

// fileSourceField is Paimon's nullable TINYINT holding a FileSource byte.
func fileSourceField[T any](name string, get func(*T) **FileSource) field[T] {
	leaf := func(w *avroSchema) (func(d *decoder) FileSource, error) {
		r, err := readInt(w)
		if err != nil {
			return nil, err
		}
		return func(d *decoder) FileSource {
			v := r(d)
			if v != int32(FileSourceAppend) && v != int32(FileSourceCompact) {
				d.fail("unknown file source %d", v)
			}
			return FileSource(v)
		}, nil
	}
	box := func(d *decoder, s FileSource) *FileSource { return d.arena.sources.new(s) }
	return optionalPtrField(name, kindInt, leaf, box, get, func(e *encoder, s FileSource) {
		if s != FileSourceAppend && s != FileSourceCompact {
			e.fail("unknown file source %d", s)
		}
		e.int(int32(s))
	})
}

// LocalMillis is t as Paimon writes a creation time: the local wall-clock time's
// milliseconds, read as if UTC (Timestamp.fromLocalDateTime(LocalDateTime.now())).
func LocalMillis(t time.Time) int64 {
	_, offset := t.Zone()
	return t.UnixMilli() + int64(offset)*1000
}

// CreatedAt is the file's creation time as an instant, its local wall-clock time placed in
// this process's time zone, as Paimon's DataFileMeta.creationTimeEpochMillis reads it;
// false if the file has none.
func (m *DataFileMeta) CreatedAt() (time.Time, bool) {
	if m.CreationTime == nil {
		return time.Time{}, false
	}
	w := time.UnixMilli(*m.CreationTime).UTC()
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.Local), true
}

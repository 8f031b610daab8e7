package manifest

import "io"

// An index manifest (index-manifest-*) lists index files, one
// IndexManifestEntry per row, as Paimon's IndexManifestFile reads and writes
// it.

// IndexManifestEntry is one row of an index manifest: the addition or
// deletion of an index file (org.apache.paimon.manifest.IndexManifestEntry).
type IndexManifestEntry struct {
	Kind FileKind
	// Partition is the serialized BinaryRow of the partition values.
	Partition []byte
	Bucket    int32
	IndexFile IndexFileMeta
}

// indexManifestFormatVersion is the _VERSION Paimon writes in every index
// manifest row (IndexManifestEntrySerializer.FORMAT_IDENTIFIER).
const indexManifestFormatVersion = 1

// indexManifestEntryRecord mirrors IndexManifestEntry.MANIFEST_ROW_TYPE; the
// IndexFileMeta fields are inlined in the row as Paimon writes them.
var indexManifestEntryRecord = newRecord(func(l *Layout) int { return 1 + l.indexManifestEntryFields() },
	versionField[IndexManifestEntry](indexManifestFormatVersion),
	kindField("_KIND", func(e *IndexManifestEntry) *FileKind { return &e.Kind }),
	bytesField("_PARTITION", func(e *IndexManifestEntry) *[]byte { return &e.Partition }),
	intField("_BUCKET", func(e *IndexManifestEntry) *int32 { return &e.Bucket }),
	stringField("_INDEX_TYPE", func(e *IndexManifestEntry) *string { return &e.IndexFile.IndexType }),
	stringField("_FILE_NAME", func(e *IndexManifestEntry) *string { return &e.IndexFile.FileName }),
	longField("_FILE_SIZE", func(e *IndexManifestEntry) *int64 { return &e.IndexFile.FileSize }),
	longField("_ROW_COUNT", func(e *IndexManifestEntry) *int64 { return &e.IndexFile.RowCount }),
	optRecordArrayField("_DELETIONS_VECTORS_RANGES", deletionVectorMetaRecord,
		func(e *IndexManifestEntry) *[]DeletionVectorMeta { return &e.IndexFile.DeletionVectorRanges }),
	optStringField("_EXTERNAL_PATH", func(e *IndexManifestEntry) **string { return &e.IndexFile.ExternalPath }),
	optRecordField("_GLOBAL_INDEX", globalIndexMetaRecord,
		func(e *IndexManifestEntry) **GlobalIndexMeta { return &e.IndexFile.GlobalIndexMeta }),
)

var indexManifestType = &fileType[IndexManifestEntry]{
	what: "index manifest",
	rec:  indexManifestEntryRecord,
	detect: func(top *avroSchema, l *Layout) {
		l.IndexManifestEntryFields = len(top.fields) - 1
		if _, f := top.field("_DELETIONS_VECTORS_RANGES"); f != nil {
			if a, _ := f.typ.nullable(); a.kind == kindArray {
				if r, _ := a.items.nullable(); r.kind == kindRecord {
					l.DeletionVectorMetaFields = len(r.fields)
				}
			}
		}
		if _, f := top.field("_GLOBAL_INDEX"); f != nil {
			if r, _ := f.typ.nullable(); r.kind == kindRecord {
				l.GlobalIndexMetaFields = len(r.fields)
			}
		}
	},
}

// NewIndexManifestReader reads an index manifest (index-manifest-*).
// fileName names the file in errors.
func NewIndexManifestReader(r io.Reader, fileName string) (*Reader[IndexManifestEntry], error) {
	return newReader(indexManifestType, r, fileName)
}

// ReadIndexManifest reads all entries of an index manifest.
func ReadIndexManifest(r io.Reader, fileName string) ([]IndexManifestEntry, error) {
	return readAll(indexManifestType, r, fileName)
}

// NewIndexManifestWriter writes an index manifest to w. fileName names the
// file in errors.
func NewIndexManifestWriter(w io.Writer, fileName string, opts WriterOptions) (*Writer[IndexManifestEntry], error) {
	return newWriter(indexManifestType, w, fileName, opts)
}

// WriteIndexManifest writes an index manifest and returns its size in bytes.
func WriteIndexManifest(w io.Writer, fileName string, entries []IndexManifestEntry, opts WriterOptions) (int64, error) {
	return writeAll(indexManifestType, w, fileName, entries, opts)
}

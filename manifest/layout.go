package manifest

import "fmt"

// Layout selects which fields a writer emits.
//
// Paimon has added nullable fields to its manifest rows over the releases
// without changing the _VERSION format identifier (2 for manifests and
// manifest lists, 1 for index manifests); every release writes a leading
// part of today's field lists. The zero Layout is what Paimon 2.x writes, the
// shape of spec/avro/*.avsc. A Reader reports the layout of the file it reads
// (Reader.Layout), so a file can be rewritten in the shape it came in.
//
// Field counts do not include _VERSION; zero means the Paimon 2.x count.
type Layout struct {
	// NullableRecords declares every row type as the union ["null", record],
	// the top-level one included, as Paimon 0.9 and older did.
	NullableRecords bool
	// ManifestFileMetaFields: 6 (up to _SCHEMA_ID, Paimon ≤ 1.0),
	// 10 (+ bucket and level ranges), 12 (+ row id range; the default).
	ManifestFileMetaFields int
	// DataFileMetaFields: 15 (up to _EMBEDDED_FILE_INDEX, Paimon 0.8),
	// 16 (+ _FILE_SOURCE, 0.9), 17 (+ _VALUE_STATS_COLS, 1.0),
	// 18 (+ _EXTERNAL_PATH, 1.1), 19 (+ _FIRST_ROW_ID), 20 (+ _WRITE_COLS; the
	// default), 21 (+ _WRITE_COLS_SEQUENCES, Paimon's main branch after 2.x).
	DataFileMetaFields int
	// IndexManifestEntryFields: 8 (up to _DELETIONS_VECTORS_RANGES),
	// 9 (+ _EXTERNAL_PATH), 10 (+ _GLOBAL_INDEX; the default).
	IndexManifestEntryFields int
	// DeletionVectorMetaFields: 3 (f0, f1, f2) or 4 (+ _CARDINALITY; the default).
	DeletionVectorMetaFields int
	// GlobalIndexMetaFields: 5 (up to _INDEX_META) or 6 (+ _SOURCE_META; the default).
	GlobalIndexMetaFields int
}

const (
	paimon2ManifestFileMetaFields   = 12
	paimon2DataFileMetaFields       = 20
	paimon2IndexManifestEntryFields = 10
	paimon2DeletionVectorMetaFields = 4
	paimon2GlobalIndexMetaFields    = 6
)

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func (l *Layout) manifestFileMetaFields() int {
	return orDefault(l.ManifestFileMetaFields, paimon2ManifestFileMetaFields)
}

func (l *Layout) dataFileMetaFields() int {
	return orDefault(l.DataFileMetaFields, paimon2DataFileMetaFields)
}

func (l *Layout) indexManifestEntryFields() int {
	return orDefault(l.IndexManifestEntryFields, paimon2IndexManifestEntryFields)
}

func (l *Layout) deletionVectorMetaFields() int {
	return orDefault(l.DeletionVectorMetaFields, paimon2DeletionVectorMetaFields)
}

func (l *Layout) globalIndexMetaFields() int {
	return orDefault(l.GlobalIndexMetaFields, paimon2GlobalIndexMetaFields)
}

func (l *Layout) validate() error {
	check := func(name string, n, lo, hi int) error {
		if n != 0 && (n < lo || n > hi) {
			return fmt.Errorf("manifest: Layout.%s = %d, want %d..%d", name, n, lo, hi)
		}
		return nil
	}
	for _, err := range []error{
		check("ManifestFileMetaFields", l.ManifestFileMetaFields, 6, len(manifestFileMetaRecord.fields)-1),
		check("DataFileMetaFields", l.DataFileMetaFields, 12, len(dataFileMetaRecord.fields)),
		check("IndexManifestEntryFields", l.IndexManifestEntryFields, 7, len(indexManifestEntryRecord.fields)-1),
		check("DeletionVectorMetaFields", l.DeletionVectorMetaFields, 3, len(deletionVectorMetaRecord.fields)),
		check("GlobalIndexMetaFields", l.GlobalIndexMetaFields, 3, len(globalIndexMetaRecord.fields)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

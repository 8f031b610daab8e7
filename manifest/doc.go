// Package manifest reads and writes Apache Paimon's Avro metadata files —
// manifest lists, manifest files and index manifests — exactly as Paimon
// writes them, and merges manifest entries as Paimon does.
//
// # Files
//
// A snapshot points at manifest lists (manifest-list-*), whose rows are
// ManifestFileMeta; each names a manifest file (manifest-*) whose rows are
// ManifestEntry, the addition or deletion of one data file (DataFileMeta).
// Index manifests (index-manifest-*) list index files such as deletion
// vectors (IndexManifestEntry, IndexFileMeta).
//
// All three are Avro object container files. Values that Paimon stores as a
// serialized BinaryRow (partition, min/max key, statistics) stay raw []byte
// here; package format/binaryrow decodes them. Nullable fields are pointers
// or slices, nil meaning null; an empty non-nil slice is an empty value (for
// DataFileMeta.ValueStatsCols the two mean different things).
//
// # Reading
//
// NewManifestListReader, NewManifestFileReader and NewIndexManifestReader
// return a Reader that decodes one Avro block at a time (Next, All);
// ReadManifestList, ReadManifestFile and ReadIndexManifest collect all rows.
// The file name given to them appears in every error, which wraps ErrCorrupt
// or ErrUnsupported.
//
// Every row starts with the format identifier _VERSION: 2 for manifest lists
// and manifests, 1 for index manifests; Paimon refuses other values and so
// does Tarn. Within a version Paimon has only appended nullable fields, so a
// Reader resolves the writer schema found in the file header against the
// newest row type: fields an older writer lacks stay nil, fields unknown to
// Tarn are skipped, and the ["null", record] unions Paimon 0.9 and older
// wrote are resolved. Readers are checked against real files written by
// Paimon 0.8, 0.9, 1.1, later 1.x builds and 2.x (testdata/PROVENANCE.md).
//
// Decoding compiles each writer schema once into closures and then runs
// without reflection. To keep allocations low, rows decoded from one block
// share memory: byte slices alias the decompressed block, nullable numbers
// come from shared chunks. Nothing is reused, so rows stay valid, but a row
// kept alive keeps that memory alive.
//
// # Writing
//
// NewManifestListWriter, NewManifestFileWriter, NewIndexManifestWriter (and
// WriteManifestList, WriteManifestFile, WriteIndexManifest) write what Paimon
// 2.x writes by default: the same avro.schema string byte for byte, codec
// zstandard at level 1, Paimon's _VERSION values, a new block every 64000
// bytes. WriterOptions selects another codec, a fixed sync marker
// (deterministic output) or, through Layout, the field set of an older
// Paimon release. NewManifestFileMeta computes the manifest list row of a
// manifest file from its entries as Paimon's writer does.
//
// # Merging
//
// MergeEntries and EntryMerger fold entries given in commit order the way
// Paimon's FileEntry.mergeEntries does: an ADD followed by a DELETE of the
// same Identifier cancel, a DELETE whose ADD is not among the entries is
// kept, adding an identifier twice is an error.
package manifest

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
// here; package format/binaryrow decodes them.
//
// # Versions
//
// Every row starts with the format identifier _VERSION: 2 for manifest lists
// and manifests, 1 for index manifests; Paimon refuses other values and so
// does Tarn. Within a version Paimon has only appended nullable fields, so a
// Reader resolves the writer schema found in the file header against the
// newest row type: fields an older writer lacks stay nil, fields unknown to
// Tarn are skipped, and the ["null", record] unions Paimon 0.9 and older
// wrote are resolved. Readers have been checked against real files written
// by Paimon 0.8, 0.9, 1.0, 1.1, later 1.x development builds and 2.x (see
// testdata/PROVENANCE.md). Writers write the Paimon 2.x shape by default
// (spec/avro/*.avsc) and any older shape through Layout.
//
// Decoding compiles the writer schema once into closures and then runs
// without reflection; byte-slice values alias the block they were decoded
// from, which is never reused.
//
// # Merging
//
// MergeEntries and EntryMerger fold entries given in commit order the way
// Paimon's FileEntry.mergeEntries does: an ADD followed by a DELETE of the
// same Identifier cancel, a DELETE whose ADD is not among the entries is
// kept, adding an identifier twice is an error.
package manifest

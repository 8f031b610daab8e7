package manifest

import "io"

// A manifest file (manifest-*) holds ManifestEntry rows, as Paimon's
// ManifestFile reads and writes it.

var manifestFileType = &fileType[ManifestEntry]{
	what: "manifest",
	rec:  manifestEntryRecord,
	detect: func(top *avroSchema, l *Layout) {
		if _, f := top.field("_FILE"); f != nil {
			if r, _ := f.typ.nullable(); r.kind == kindRecord {
				l.DataFileMetaFields = len(r.fields)
			}
		}
	},
}

// NewManifestFileReader reads a manifest file (manifest-*). fileName names
// the file in errors.
func NewManifestFileReader(r io.Reader, fileName string) (*Reader[ManifestEntry], error) {
	return newReader(manifestFileType, r, fileName)
}

// ReadManifestFile reads all entries of a manifest file.
func ReadManifestFile(r io.Reader, fileName string) ([]ManifestEntry, error) {
	return readAll(manifestFileType, r, fileName)
}

// NewManifestFileWriter writes a manifest file to w. fileName names the
// file in errors.
func NewManifestFileWriter(w io.Writer, fileName string, opts WriterOptions) (*Writer[ManifestEntry], error) {
	return newWriter(manifestFileType, w, fileName, opts)
}

// WriteManifestFile writes a manifest file and returns its size in bytes.
func WriteManifestFile(w io.Writer, fileName string, entries []ManifestEntry, opts WriterOptions) (int64, error) {
	return writeAll(manifestFileType, w, fileName, entries, opts)
}

package manifest

import "io"

// A manifest list (manifest-list-*) lists manifest files, one ManifestFileMeta
// per row, as Paimon's ManifestList reads and writes it.

var manifestListType = &fileType[ManifestFileMeta]{
	what: "manifest list",
	rec:  manifestFileMetaRecord,
	detect: func(top *avroSchema, l *Layout) {
		l.ManifestFileMetaFields = len(top.fields) - 1
	},
}

// NewManifestListReader reads a manifest list (manifest-list-*). fileName
// names the file in errors.
func NewManifestListReader(r io.Reader, fileName string) (*Reader[ManifestFileMeta], error) {
	return newReader(manifestListType, r, fileName)
}

// ReadManifestList reads all rows of a manifest list.
func ReadManifestList(r io.Reader, fileName string) ([]ManifestFileMeta, error) {
	return readAll(manifestListType, r, fileName)
}

// NewManifestListWriter writes a manifest list to w. fileName names the
// file in errors.
func NewManifestListWriter(w io.Writer, fileName string, opts WriterOptions) (*Writer[ManifestFileMeta], error) {
	return newWriter(manifestListType, w, fileName, opts)
}

// WriteManifestList writes a manifest list and returns its size in bytes.
func WriteManifestList(w io.Writer, fileName string, metas []ManifestFileMeta, opts WriterOptions) (int64, error) {
	return writeAll(manifestListType, w, fileName, metas, opts)
}

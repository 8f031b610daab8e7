package manifest

import (
	"encoding/binary"
	"fmt"
)

// FileKind tells whether a manifest entry adds or deletes a file
// (org.apache.paimon.manifest.FileKind).
type FileKind int8

const (
	// FileKindAdd adds a file to the table.
	FileKindAdd FileKind = 0
	// FileKindDelete removes a file from the table.
	FileKindDelete FileKind = 1
)

func (k FileKind) String() string {
	switch k {
	case FileKindAdd:
		return "ADD"
	case FileKindDelete:
		return "DELETE"
	}
	return fmt.Sprintf("FileKind(%d)", int8(k))
}

// ManifestEntry is one row of a manifest file: the addition or deletion of a
// data file (org.apache.paimon.manifest.ManifestEntry).
type ManifestEntry struct {
	Kind FileKind
	// Partition is the serialized BinaryRow of the partition values.
	Partition    []byte
	Bucket       int32
	TotalBuckets int32
	File         DataFileMeta
}

// manifestEntryFormatVersion is the _VERSION Paimon writes in every manifest
// row (ManifestEntrySerializer.FORMAT_IDENTIFIER).
const manifestEntryFormatVersion = 2

// manifestEntryRecord mirrors ManifestEntry.MANIFEST_ROW_TYPE.
var manifestEntryRecord = newRecord(nil,
	versionField[ManifestEntry](manifestEntryFormatVersion),
	kindField("_KIND", func(e *ManifestEntry) *FileKind { return &e.Kind }),
	bytesField("_PARTITION", func(e *ManifestEntry) *[]byte { return &e.Partition }),
	intField("_BUCKET", func(e *ManifestEntry) *int32 { return &e.Bucket }),
	intField("_TOTAL_BUCKETS", func(e *ManifestEntry) *int32 { return &e.TotalBuckets }),
	recordField("_FILE", dataFileMetaRecord, func(e *ManifestEntry) *DataFileMeta { return &e.File }),
)

// versionField is the _VERSION format identifier Paimon puts first in every
// manifest row; readers reject any other value, as Paimon does.
func versionField[T any](want int32) field[T] {
	return field[T]{
		name: "_VERSION",
		avro: primitive(kindInt),
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := required(w, readInt)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, _ *T) {
				if v := r(d); v != want && d.err == nil {
					d.err = fmt.Errorf("%w: _VERSION %d, Tarn reads version %d", ErrUnsupported, v, want)
					d.pos = len(d.buf)
				}
			}, nil
		},
		encode: func(e *encoder, _ *T, _ *Layout) { e.int(want) },
	}
}

// kindField is Paimon's TINYINT holding a FileKind byte.
func kindField[T any](name string, get func(*T) *FileKind) field[T] {
	leaf := func(w *avroSchema) (func(d *decoder) FileKind, error) {
		r, err := readInt(w)
		if err != nil {
			return nil, err
		}
		return func(d *decoder) FileKind {
			v := r(d)
			if v != int32(FileKindAdd) && v != int32(FileKindDelete) {
				d.fail("unknown file kind %d", v)
			}
			return FileKind(v)
		}, nil
	}
	return requiredField(name, kindInt, leaf, get, func(e *encoder, k FileKind) {
		if k != FileKindAdd && k != FileKindDelete {
			e.fail("unknown file kind %d", k)
		}
		e.int(int32(k))
	})
}

// Identifier identifies a data file across manifest entries, as Paimon's
// FileEntry.Identifier does: an ADD and a later DELETE with equal identifiers
// refer to the same file. It is comparable and can key a map.
type Identifier struct {
	Partition string // serialized BinaryRow bytes
	Bucket    int32
	Level     int32
	FileName  string
	// ExtraFiles holds the extra file names, each prefixed by its length.
	ExtraFiles string
	// EmbeddedIndex holds the embedded index bytes; HasEmbeddedIndex tells
	// null from empty.
	EmbeddedIndex    string
	HasEmbeddedIndex bool
	ExternalPath     string
	HasExternalPath  bool
}

// Identifier returns the identifier of the entry's file.
func (e *ManifestEntry) Identifier() Identifier {
	id := Identifier{
		Partition:        string(e.Partition),
		Bucket:           e.Bucket,
		Level:            e.File.Level,
		FileName:         e.File.FileName,
		EmbeddedIndex:    string(e.File.EmbeddedIndex),
		HasEmbeddedIndex: e.File.EmbeddedIndex != nil,
	}
	if len(e.File.ExtraFiles) > 0 {
		var b []byte
		for _, f := range e.File.ExtraFiles {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		id.ExtraFiles = string(b)
	}
	if p := e.File.ExternalPath; p != nil {
		id.ExternalPath, id.HasExternalPath = *p, true
	}
	return id
}

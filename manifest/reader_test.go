package manifest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// writeWithHamba writes rows encoded by hamba/avro, an Avro implementation
// independent of this package, under a hand-written writer schema, in a
// zstandard container.
func writeWithHamba(t *testing.T, schema string, rows ...any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	c, err := newContainerWriter(&buf, schema, CodecZstandard, DefaultZstdLevel, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		b, err := avro.Marshal(s, r)
		if err != nil {
			t.Fatal(err)
		}
		c.block = append(c.block, b...)
		if err := c.recordAdded(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A manifest list row whose writer has fields Tarn does not know, of every
// Avro type, before, between and after the known ones, in another order
// than Paimon's, with an int where Tarn reads a long.
const evolvedListSchema = `{"type":"record","name":"record","namespace":"org.apache.paimon.avro.generated","fields":[
 {"name":"_NEW_BOOL","type":"boolean"},
 {"name":"_VERSION","type":"int"},
 {"name":"_FILE_SIZE","type":"int"},
 {"name":"_FILE_NAME","type":"string"},
 {"name":"_NEW_FLOAT","type":"float"},
 {"name":"_NEW_DOUBLE","type":"double"},
 {"name":"_NUM_ADDED_FILES","type":"long"},
 {"name":"_NEW_MAP","type":{"type":"map","values":["null","long"]}},
 {"name":"_NUM_DELETED_FILES","type":"long"},
 {"name":"_PARTITION_STATS","type":{"type":"record","name":"record__PARTITION_STATS","fields":[
   {"name":"_MIN_VALUES","type":"bytes"},
   {"name":"_NEW_NESTED","type":{"type":"array","items":{"type":"record","name":"nested","fields":[{"name":"x","type":"string"},{"name":"y","type":"null"}]}}},
   {"name":"_MAX_VALUES","type":"bytes"},
   {"name":"_NULL_COUNTS","type":["null",{"type":"array","items":["null","long"]}],"default":null}]}},
 {"name":"_NEW_ENUM","type":{"type":"enum","name":"e","symbols":["A","B","C"]}},
 {"name":"_NEW_FIXED","type":{"type":"fixed","name":"f","size":3}},
 {"name":"_SCHEMA_ID","type":"long"},
 {"name":"_MAX_BUCKET","type":["null","int"],"default":null},
 {"name":"_NEW_NULL","type":"null"},
 {"name":"_NEW_UNION","type":["null","string","long",{"type":"array","items":"int"}],"default":null}
]}`

func evolvedRow(name string, union any) map[string]any {
	return map[string]any{
		"_NEW_BOOL":          true,
		"_VERSION":           2,
		"_FILE_SIZE":         123,
		"_FILE_NAME":         name,
		"_NEW_FLOAT":         float32(1.5),
		"_NEW_DOUBLE":        2.5,
		"_NUM_ADDED_FILES":   int64(7),
		"_NEW_MAP":           map[string]any{"a": nil, "b": int64(3)},
		"_NUM_DELETED_FILES": int64(8),
		"_PARTITION_STATS": map[string]any{
			"_MIN_VALUES":  []byte("min"),
			"_NEW_NESTED":  []any{map[string]any{"x": "1", "y": nil}, map[string]any{"x": "2", "y": nil}},
			"_MAX_VALUES":  []byte("max"),
			"_NULL_COUNTS": []any{nil, int64(4)},
		},
		"_NEW_ENUM":   "B",
		"_NEW_FIXED":  [3]byte{1, 2, 3},
		"_SCHEMA_ID":  int64(9),
		"_MAX_BUCKET": 3,
		"_NEW_NULL":   nil,
		"_NEW_UNION":  union,
	}
}

func TestReaderResolvesEvolvedWriterSchema(t *testing.T) {
	b := writeWithHamba(t, evolvedListSchema,
		evolvedRow("m-1", nil),
		evolvedRow("m-2", map[string]any{"string": "s"}),
		evolvedRow("m-3", map[string]any{"array": []any{1, 2, 3}}),
	)
	got, err := ReadManifestList(bytes.NewReader(b), "evolved")
	if err != nil {
		t.Fatal(err)
	}
	want := func(name string) ManifestFileMeta {
		return ManifestFileMeta{
			FileName: name, FileSize: 123, NumAddedFiles: 7, NumDeletedFiles: 8,
			PartitionStats: SimpleStats{MinValues: []byte("min"), MaxValues: []byte("max"), NullCounts: []*int64{nil, i64(4)}},
			SchemaID:       9, MaxBucket: i32(3),
		}
	}
	compareRows(t, "evolved", got, []ManifestFileMeta{want("m-1"), want("m-2"), want("m-3")})
}

const minimalListSchema = `{"type":"record","name":"record","fields":[
 {"name":"_VERSION","type":"int"},{"name":"_FILE_NAME","type":"string"},{"name":"_FILE_SIZE","type":"long"},
 {"name":"_NUM_ADDED_FILES","type":"long"},{"name":"_NUM_DELETED_FILES","type":"long"},
 {"name":"_PARTITION_STATS","type":{"type":"record","name":"s","fields":[{"name":"_MIN_VALUES","type":"bytes"},{"name":"_MAX_VALUES","type":"bytes"}]}},
 {"name":"_SCHEMA_ID","type":"long"}]}`

func minimalRow(version int) map[string]any {
	return map[string]any{
		"_VERSION": version, "_FILE_NAME": "m", "_FILE_SIZE": int64(1), "_NUM_ADDED_FILES": int64(1),
		"_NUM_DELETED_FILES": int64(0), "_SCHEMA_ID": int64(0),
		"_PARTITION_STATS": map[string]any{"_MIN_VALUES": []byte{}, "_MAX_VALUES": []byte{}},
	}
}

func TestReaderRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema string
		row    map[string]any
		is     error
		says   string
	}{
		{
			name:   "version 1",
			schema: minimalListSchema,
			row:    minimalRow(1),
			is:     ErrUnsupported,
			says:   "_VERSION 1",
		},
		{
			name:   "missing required field",
			schema: strings.Replace(minimalListSchema, `{"name":"_SCHEMA_ID","type":"long"}`, `{"name":"_OTHER","type":"long"}`, 1),
			row: func() map[string]any {
				r := minimalRow(2)
				delete(r, "_SCHEMA_ID")
				r["_OTHER"] = int64(1)
				return r
			}(),
			is:   ErrUnsupported,
			says: "_SCHEMA_ID",
		},
		{
			name:   "incompatible type",
			schema: strings.Replace(minimalListSchema, `{"name":"_FILE_SIZE","type":"long"}`, `{"name":"_FILE_SIZE","type":"string"}`, 1),
			row: func() map[string]any {
				r := minimalRow(2)
				r["_FILE_SIZE"] = "big"
				return r
			}(),
			is:   ErrUnsupported,
			says: "_FILE_SIZE",
		},
		{
			name:   "not a record",
			schema: `"long"`,
			is:     ErrUnsupported,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.row != nil {
				b = writeWithHamba(t, tc.schema, tc.row)
			} else {
				b = writeWithHamba(t, tc.schema, int64(5))
			}
			_, err := ReadManifestList(bytes.NewReader(b), "manifest-list-xyz")
			if err == nil {
				t.Fatal("read succeeded")
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), "manifest-list-xyz") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q, want %v naming the file and %q", err, tc.is, tc.says)
			}
		})
	}
}

func validManifestFile(t *testing.T, codec string) []byte {
	t.Helper()
	var buf bytes.Buffer
	sync := [16]byte{7, 7, 7}
	if _, err := WriteManifestFile(&buf, "m", sampleEntries(20), WriterOptions{Codec: codec, SyncMarker: &sync}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReaderCorruptFiles(t *testing.T) {
	good := validManifestFile(t, CodecNull)
	c, blocks := containerBlocks(t, good)
	h := int(c.headerN)
	payload := blocks[0].payload
	// rebuild returns good's header followed by one block with the given
	// count and (uncompressed) payload.
	rebuild := func(count int64, data []byte, sync [16]byte) []byte {
		e := encoder{buf: append([]byte(nil), good[:h]...)}
		e.long(count)
		e.bytes(data)
		return append(e.buf, sync[:]...)
	}
	for _, tc := range []struct {
		name string
		file []byte
		says string
	}{
		{"empty", nil, ""},
		{"not avro", []byte("xyz1...."), "not an Avro object container"},
		{"parquet", []byte("PAR1...."), "manifest.format = parquet"},
		{"orc", []byte("ORC\x00\x01..."), "manifest.format = orc"},
		{"header truncated", good[:h-3], ""},
		{"block truncated", good[:len(good)-30], ""},
		{"sync marker mismatch", rebuild(blocks[0].count, payload, [16]byte{1}), ""},
		{"more records than bytes", rebuild(int64(len(payload)+1), payload, c.sync), ""},
		{"fewer records than the block holds", rebuild(blocks[0].count-1, payload, c.sync), ""},
		{"record cut short", rebuild(blocks[0].count, payload[:len(payload)-5], c.sync), ""},
		{"negative count", rebuild(-1, payload, c.sync), ""},
		{"huge bytes length", rebuild(1, hugeLength(), c.sync), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadManifestFile(bytes.NewReader(tc.file), "manifest-abc-0")
			if err == nil {
				t.Fatal("read succeeded")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "manifest-abc-0") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q, want ErrCorrupt naming the file and saying %q", err, tc.says)
			}
		})
	}
}

func TestReaderStreamsBlocks(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteManifestFile(&buf, "m", sampleEntries(3000), WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := NewManifestFileReader(&buf, "m")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		if e.File.FileName != sampleDataFile(n).FileName {
			t.Fatalf("row %d: %s", n, e.File.FileName)
		}
		n++
		if n == 10 {
			break
		}
	}
	// The iterator stopped early; Next continues where it left off.
	e, err := r.Next()
	if err != nil || e.File.FileName != sampleDataFile(10).FileName {
		t.Fatalf("Next after break: %v %v", e.File.FileName, err)
	}
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3000-1 {
		t.Fatalf("read %d rows", n+1)
	}
	if r.block < 2 {
		t.Fatalf("only %d blocks", r.block+1)
	}
}

func TestDeletionVectorRange(t *testing.T) {
	m := sampleIndexEntries(1)[0].IndexFile
	if r, ok := m.DeletionVectorRange("data-2.parquet"); !ok || r.Offset != 23 || r.Length != 24 {
		t.Fatalf("%+v %v", r, ok)
	}
	if _, ok := m.DeletionVectorRange("data-3.parquet"); ok {
		t.Fatal("found a missing file")
	}
}

// hugeLength is a manifest row whose _PARTITION claims 2^40 bytes.
func hugeLength() []byte {
	e := encoder{}
	e.int(2)
	e.int(0)
	e.long(1 << 40)
	return append(e.buf, make([]byte, 64)...)
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	file := validManifestFile(t, CodecZstandard)
	want, err := ReadManifestFile(bytes.NewReader(file), "m")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		go func() {
			var buf bytes.Buffer
			if _, err := WriteManifestFile(&buf, "m", want, WriterOptions{Layout: Layout{DataFileMetaFields: 21 - g%2}}); err != nil {
				errs <- err
				return
			}
			got, err := ReadManifestFile(&buf, "m")
			if err == nil && len(got) != len(want) {
				err = errors.New("rows lost")
			}
			errs <- err
		}()
	}
	for g := 0; g < 16; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

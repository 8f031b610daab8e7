package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/internal/fixtures"
)

// sharedFixtures holds the files Paimon wrote, shared by all packages and
// read in place; specDir the Avro schemas found in their headers.
const (
	sharedFixtures = "../../shared/fixtures"
	specDir        = "../../shared/spec/avro"
)

// goldenFile is one real manifest file and what fastavro reads from it
// (golden_values_test.go); exactly one of list, entries, index is set.
type goldenFile struct {
	path    string
	codec   string
	list    []ManifestFileMeta
	entries []ManifestEntry
	index   []IndexManifestEntry
}

func (g goldenFile) kind() string {
	base := filepath.Base(g.path)
	switch {
	case strings.HasPrefix(base, "index-manifest"):
		return "index-manifest"
	case strings.HasPrefix(base, "manifest-list"), strings.HasPrefix(base, "avro_manifest_list"):
		return "manifest-list"
	}
	return "manifest"
}

func (g goldenFile) shared() bool { return strings.HasPrefix(g.path, sharedFixtures) }

func i32(v int32) *int32                  { return &v }
func i64(v int64) *int64                  { return &v }
func str(v string) *string                { return &v }
func fileSource(v FileSource) *FileSource { return &v }

func readGolden(t *testing.T, g goldenFile) []byte {
	t.Helper()
	path := g.path
	if g.shared() {
		// fixtures.Dir fails the test when the shared fixtures are missing, and honours
		// TARN_FIXTURES.
		path = filepath.Join(fixtures.Dir(t), strings.TrimPrefix(g.path, sharedFixtures))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compareRows reports the first row that differs; nil and empty row slices
// are equal.
func compareRows[T any](t *testing.T, file string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", file, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: row %d differs\n got: %s\nwant: %s", file, i, dump(got[i]), dump(want[i]))
		}
	}
}

// dump prints a row with pointers followed, for failure messages.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func TestGoldenValues(t *testing.T) {
	if len(goldenFiles) < 40 {
		t.Fatalf("only %d golden files", len(goldenFiles))
	}
	for _, g := range goldenFiles {
		t.Run(g.path, func(t *testing.T) {
			b := readGolden(t, g)
			name := filepath.Base(g.path)
			var codec string
			switch g.kind() {
			case "manifest-list":
				r, err := NewManifestListReader(bytes.NewReader(b), name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := collect(r)
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, name, got, g.list)
				codec = r.Codec()
			case "manifest":
				r, err := NewManifestFileReader(bytes.NewReader(b), name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := collect(r)
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, name, got, g.entries)
				codec = r.Codec()
			default:
				r, err := NewIndexManifestReader(bytes.NewReader(b), name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := collect(r)
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, name, got, g.index)
				codec = r.Codec()
			}
			if codec != g.codec {
				t.Errorf("codec %q, want %q", codec, g.codec)
			}
		})
	}
}

func collect[T any](r *Reader[T]) ([]T, error) {
	var out []T
	for v, err := range r.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// headerSchema returns the raw avro.schema bytes of a file.
func headerSchema(t *testing.T, b []byte) []byte {
	t.Helper()
	c, err := newContainerReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return c.schema
}

func schemaOf(kind string, l Layout) string {
	switch kind {
	case "manifest-list":
		return manifestListType.schema(l)
	case "manifest":
		return manifestFileType.schema(l)
	}
	return indexManifestType.schema(l)
}

// TestWriterSchemaIsPaimons checks that the schema in the header of every
// shared fixture is the spec's (as parsed JSON) and that the string Tarn
// writes by default is byte for byte the one in the header.
func TestWriterSchemaIsPaimons(t *testing.T) {
	n := 0
	for _, g := range goldenFiles {
		if !g.shared() {
			continue
		}
		t.Run(g.path, func(t *testing.T) {
			raw := headerSchema(t, readGolden(t, g))
			spec, err := os.ReadFile(filepath.Join(specDir, g.kind()+".avsc"))
			if err != nil {
				t.Fatal(err)
			}
			var fromFile, fromSpec any
			if err := json.Unmarshal(raw, &fromFile); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(spec, &fromSpec); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromFile, fromSpec) {
				t.Errorf("header schema differs from %s.avsc", g.kind())
			}
			if got := schemaOf(g.kind(), Layout{}); got != string(raw) {
				t.Errorf("Tarn writes\n%s\nthe file has\n%s", got, raw)
			}
			n++
		})
	}
	if n == 0 {
		t.Fatal("no shared fixture manifests were compared")
	}
}

// TestLayoutOfRealFiles checks that every real file's writer schema is one a
// Layout reproduces byte for byte, and which layout the older files have.
func TestLayoutOfRealFiles(t *testing.T) {
	want := map[string]Layout{
		"testdata/apache-paimon-rust/manifest-list-5c7399a0-46ae-4a5e-9c13-3ab07212cdb6-0": {NullableRecords: true, ManifestFileMetaFields: 6},
		"testdata/apache-paimon-rust/manifest-8ded1f09-fcda-489e-9167-582ac0f9f846-0":      {NullableRecords: true, DataFileMetaFields: 15},
		"testdata/alibaba-paimon-cpp/avro/manifest/avro_manifest_list_09":                  {NullableRecords: true, ManifestFileMetaFields: 6},
		"testdata/alibaba-paimon-cpp/avro/manifest/avro_manifest_09":                       {NullableRecords: true, DataFileMetaFields: 16},
		"testdata/alibaba-paimon-cpp/parquet/pk_09.db/pk_09/manifest/index-manifest-03e2700b-8409-499b-8c27-a09ccee9348c-1": {
			NullableRecords: true, IndexManifestEntryFields: 8, DeletionVectorMetaFields: 3},
		"testdata/alibaba-paimon-cpp/avro/manifest/avro_manifest_list_11": {ManifestFileMetaFields: 10},
		"testdata/alibaba-paimon-cpp/avro/manifest/avro_manifest_11":      {DataFileMetaFields: 18},
		"testdata/alibaba-paimon-cpp/parquet/pk_with_bitmap_dv.db/pk_with_bitmap_dv/manifest/index-manifest-56a003ac-3239-4546-b41e-85fc36bbd019-0": {
			IndexManifestEntryFields: 8, DeletionVectorMetaFields: 4},
		"testdata/alibaba-paimon-cpp/parquet/append_with_global_index.db/append_with_global_index/manifest/index-manifest-0b4b8c6d-1c45-417c-878e-1991a7ade2eb-0": {
			IndexManifestEntryFields: 10, DeletionVectorMetaFields: 4, GlobalIndexMetaFields: 5},
	}
	seen := 0
	for _, g := range goldenFiles {
		t.Run(g.path, func(t *testing.T) {
			b := readGolden(t, g)
			var l Layout
			var exact bool
			switch g.kind() {
			case "manifest-list":
				r, err := NewManifestListReader(bytes.NewReader(b), g.path)
				if err != nil {
					t.Fatal(err)
				}
				l, exact = r.Layout()
			case "manifest":
				r, err := NewManifestFileReader(bytes.NewReader(b), g.path)
				if err != nil {
					t.Fatal(err)
				}
				l, exact = r.Layout()
			default:
				r, err := NewIndexManifestReader(bytes.NewReader(b), g.path)
				if err != nil {
					t.Fatal(err)
				}
				l, exact = r.Layout()
			}
			if !exact {
				t.Errorf("no layout writes this file's schema (closest %+v)", l)
			}
			if got := schemaOf(g.kind(), l); exact && got != string(headerSchema(t, b)) {
				t.Errorf("layout %+v writes a different schema", l)
			}
			if w, ok := want[g.path]; ok {
				seen++
				if l != w {
					t.Errorf("layout %+v, want %+v", l, w)
				}
			}
		})
	}
	if seen != len(want) {
		t.Errorf("checked %d of %d expected layouts", seen, len(want))
	}
}

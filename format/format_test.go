package format

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/fixtures"
)

// Every schema and snapshot file in the fixtures decodes, and encodes back to the same
// bytes (Paimon's Jackson pretty printer layout; SchemaSerializer and Snapshot field order).
func TestFixtureMetadataRoundTrip(t *testing.T) {
	tables := fixtures.Tables(t)
	if len(tables) == 0 {
		t.Fatal("no fixture tables")
	}
	for _, table := range tables {
		dir := fixtures.Path(t, table)
		for _, kind := range []string{SchemaDir, SnapshotDir} {
			files, _ := filepath.Glob(filepath.Join(dir, kind, kind+"-*"))
			if len(files) == 0 {
				t.Fatalf("%s: no %s files", table, kind)
			}
			for _, f := range files {
				t.Run(filepath.Base(filepath.Dir(f))+"/"+table+"/"+filepath.Base(f), func(t *testing.T) {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					var got []byte
					if kind == SchemaDir {
						s, err := ParseSchema(data)
						if err != nil {
							t.Fatal(err)
						}
						got = s.Marshal()
					} else {
						s, err := ParseSnapshot(data)
						if err != nil {
							t.Fatal(err)
						}
						got = s.Marshal()
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("re-encoded differs\n got: %s\nwant: %s", got, data)
					}
				})
			}
		}
	}
}

func TestFixtureSchemaContent(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "paimon-java-pk-dv", "test_pk_vector_golden", "schema", "schema-0"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []types.DataField{
		{ID: 0, Name: "id", Type: types.IntType().NotNull()},
		{ID: 1, Name: "embedding", Type: types.DataType{Root: types.Vector, Nullable: true, Length: 4, Elem: ptr(types.FloatType())}},
	}
	if len(s.Fields) != len(want) {
		t.Fatalf("fields %v", s.Fields)
	}
	for i := range want {
		if s.Fields[i].ID != want[i].ID || s.Fields[i].Name != want[i].Name || !s.Fields[i].Type.Equal(want[i].Type) {
			t.Errorf("field %d = %+v, want %+v", i, s.Fields[i], want[i])
		}
	}
	if s.HighestFieldID != 1 || s.Version != 3 || len(s.PrimaryKeys) != 1 || s.PrimaryKeys[0] != "id" {
		t.Errorf("schema header %+v", s)
	}
	if v, _ := s.Options.Get("bucket"); v != "1" {
		t.Errorf("bucket option %q", v)
	}
}

func ptr[T any](v T) *T { return &v }

func TestOldSchemaDefaults(t *testing.T) {
	tests := []struct {
		name       string
		json       string
		bucket     string
		fileFormat string
	}{
		{"paimon 0.7 (no version)", `{"id":0,"fields":[{"id":0,"name":"a","type":"INT"}],"highestFieldId":0,"partitionKeys":[],"primaryKeys":[],"options":{}}`, "1", "orc"},
		{"paimon 0.8", `{"version":2,"id":0,"fields":[{"id":0,"name":"a","type":"INT"}],"highestFieldId":0,"partitionKeys":[],"primaryKeys":[],"options":{}}`, "", "orc"},
		{"current", `{"version":3,"id":0,"fields":[{"id":0,"name":"a","type":"INT"}],"highestFieldId":0,"partitionKeys":[],"primaryKeys":[],"options":{}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := s.Options.Get("bucket")
			f, _ := s.Options.Get("file.format")
			if b != tt.bucket || f != tt.fileFormat {
				t.Errorf("bucket=%q format=%q, want %q %q", b, f, tt.bucket, tt.fileFormat)
			}
		})
	}
}

func TestBadSchemaAndSnapshot(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"id":0}`, `{"id":0,"fields":[{"name":"a"}],"highestFieldId":0}`,
		`{"id":0,"fields":[{"id":0,"name":"a","type":"NOPE"}],"highestFieldId":0}`,
		`{"id":0,"fields":[{"id":0,"name":"a","type":"INT"}],"highestFieldId":0,"primaryKeys":["b"]}`} {
		if _, err := ParseSchema([]byte(in)); err == nil {
			t.Errorf("ParseSchema(%q) succeeded", in)
		}
	}
	for _, in := range []string{``, `{}`, `{"id":1,"schemaId":0,"baseManifestList":"a","deltaManifestList":"b","commitKind":"WHAT"}`} {
		if _, err := ParseSnapshot([]byte(in)); err == nil {
			t.Errorf("ParseSnapshot(%q) succeeded", in)
		}
	}
}

func TestPartitionPath(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		keys []string
		vals []*string
		want string
	}{
		{[]string{"dt"}, []*string{s("2024-01-01")}, "dt=2024-01-01/"},
		{[]string{"dt", "hr"}, []*string{s("a b"), nil}, "dt=a b/hr=__DEFAULT_PARTITION__/"},
		{[]string{"p"}, []*string{s("x/y=z%?#")}, "p=x%2Fy%3Dz%25%3F%23/"},
		{[]string{"p"}, []*string{s("  ")}, "p=__DEFAULT_PARTITION__/"},
		{[]string{"p"}, []*string{s("é\x01")}, "p=é%01/"},
	}
	for _, tt := range tests {
		got := PartitionPath(tt.keys, tt.vals, DefaultPartition)
		if got != tt.want {
			t.Errorf("PartitionPath(%v) = %q, want %q", tt.keys, got, tt.want)
		}
		if u := UnescapePathName(EscapePathName("x/y=z%?#")); u != "x/y=z%?#" {
			t.Errorf("unescape = %q", u)
		}
	}
}

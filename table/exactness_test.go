package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/internal/fixtures"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// Tarn writes a table of the same schema and options as the fixture
// test_pk_global_index_golden (written by Apache Paimon 2.x) and every kind of file it
// writes has the structure of Paimon's: the same Avro writer schemas (byte for byte) for
// manifest lists, manifests and index manifests; the same JSON fields and value types in
// snapshot and schema files; the same Parquet schema (names, physical and logical types,
// repetition, field ids, system columns); file names of Paimon's form.
func TestFilesHavePaimonsStructure(t *testing.T) {
	ctx := context.Background()
	fixture := fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden")
	ref, err := table.Open(ctx, fileio.NewLocal(), fixture)
	if err != nil {
		t.Fatal(err)
	}
	refSchema, _ := ref.LatestSchema(ctx)
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: refSchema.Fields, PrimaryKeys: refSchema.PrimaryKeys,
		Options: map[string]string{"bucket": "1", "deletion-vectors.enabled": "true", "num-sorted-run.compaction-trigger": "2"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for c := 1; c <= 3; c++ {
		writeCommit(t, tbl, refSchema.Fields, false, fmt.Sprintf(`[{"id":%d,"name":"name-%d","category":"odd"},{"id":%d,"name":"name-%d","category":"even"}]`, 2*c-1, 2*c-1, 2*c, 2*c), int64(c))
	}
	writeCommit(t, tbl, refSchema.Fields, true, `[{"id":1,"name":null,"category":null,"_ROW_KIND":"-D"}]`, 4)
	// A dynamic-bucket table writes index files (hash indexes) and index manifests too.
	dyn, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "dyn"}, catalog.TableSpec{
		Fields: refSchema.Fields, PrimaryKeys: refSchema.PrimaryKeys, Options: map[string]string{"bucket": "-1"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeCommit(t, dyn, refSchema.Fields, false, `[{"id":1,"name":"a","category":"b"}]`, 1)

	// Avro writer schemas of each kind of manifest file.
	for _, kind := range []string{"manifest-list-", "index-manifest-", "manifest-"} {
		want := avroSchemas(t, fixture, kind)
		got := avroSchemas(t, tbl.Path(), kind)
		for k := range avroSchemas(t, dyn.Path(), kind) {
			got[k] = true
		}
		if len(got) == 0 || len(want) == 0 {
			t.Fatalf("%s files: Tarn %d, fixture %d", kind, len(got), len(want))
		}
		for s := range got {
			if !want[s] {
				t.Errorf("%s writer schema differs from Paimon's:\n%s\nwant one of %v", kind, s, keys(want))
			}
		}
	}
	// JSON field sets and value types of snapshot and schema files.
	for _, kind := range []string{format.SnapshotDir, format.SchemaDir} {
		want := jsonShapes(t, fixture, kind)
		got := jsonShapes(t, tbl.Path(), kind)
		for f, typ := range got {
			if w, ok := want[f]; !ok || w != typ {
				t.Errorf("%s field %q (%s) is not in Paimon's files (%q)", kind, f, typ, w)
			}
		}
		for f := range want {
			if _, ok := got[f]; !ok && !optionalJSON[f] {
				t.Errorf("%s field %q of Paimon's files is missing", kind, f)
			}
		}
	}
	// Parquet schemas.
	want := parquetShapes(t, fixture)
	got := parquetShapes(t, tbl.Path())
	for s := range got {
		if !want[s] {
			t.Errorf("Parquet schema differs from Paimon's:\n%s\nwant one of\n%v", s, keys(want))
		}
	}
	// File names.
	names := map[string]*regexp.Regexp{
		"bucket-0": regexp.MustCompile(`^data-[0-9a-f-]{36}-\d+\.parquet$`),
		"manifest": regexp.MustCompile(`^(manifest|manifest-list|index-manifest)-[0-9a-f-]{36}-\d+$`),
		"index":    regexp.MustCompile(`^index-[0-9a-f-]{36}-\d+$`),
		"snapshot": regexp.MustCompile(`^(snapshot-\d+|LATEST|EARLIEST)$`),
		"schema":   regexp.MustCompile(`^schema-\d+$`),
	}
	for dir, re := range names {
		entries, err := os.ReadDir(filepath.Join(tbl.Path(), dir))
		if dir == "index" {
			entries, err = os.ReadDir(filepath.Join(dyn.Path(), dir))
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !re.MatchString(e.Name()) {
				t.Errorf("%s/%s is not named as Paimon names it", dir, e.Name())
			}
		}
	}
}

// Snapshot fields Paimon writes only in some cases.
var optionalJSON = map[string]bool{"changelogManifestList": true, "changelogManifestListSize": true,
	"changelogRecordCount": true, "watermark": true, "statistics": true, "properties": true, "comment": true,
	"nextRowId": true, "logOffsets": true, "writerVersion": true, "operation": true, "uuid": true, "indexManifest": true}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func avroSchemas(t *testing.T, dir, prefix string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	entries, _ := os.ReadDir(filepath.Join(dir, "manifest"))
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || (prefix == "manifest-" && (strings.HasPrefix(n, "manifest-list-"))) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, "manifest", n))
		if err != nil {
			t.Fatal(err)
		}
		var schema string
		switch prefix {
		case "manifest-list-":
			r, err := manifest.NewManifestListReader(f, n)
			if err != nil {
				t.Fatal(err)
			}
			schema = r.WriterSchema()
		case "index-manifest-":
			r, err := manifest.NewIndexManifestReader(f, n)
			if err != nil {
				t.Fatal(err)
			}
			schema = r.WriterSchema()
		default:
			r, err := manifest.NewManifestFileReader(f, n)
			if err != nil {
				t.Fatal(err)
			}
			schema = r.WriterSchema()
		}
		f.Close()
		out[schema] = true
	}
	return out
}

func jsonShapes(t *testing.T, dir, kind string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, kind, kind+"-*"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			out[k] = fmt.Sprintf("%T", v)
		}
	}
	return out
}

func parquetShapes(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "bucket-*", "*.parquet"))
	for _, p := range files {
		r, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		s := r.MetaData().Schema
		for i := 0; i < s.NumColumns(); i++ {
			c := s.Column(i)
			fmt.Fprintf(&b, "%s %s %s rep=%d def=%d id=%d\n", c.Name(), c.PhysicalType(), logicalName(c), c.MaxRepetitionLevel(), c.MaxDefinitionLevel(), c.SchemaNode().FieldID())
		}
		r.Close()
		out[b.String()] = true
	}
	return out
}

// logicalName is a column's logical type, with the signed full-width integer annotation
// (INT(32,true) on INT32, INT(64,true) on INT64) shown as none: the Parquet format defines
// both forms as the same signed integer, Tarn's Parquet library always writes the annotation
// and Paimon's writer never does; Paimon's reader (ParquetSchemaConverter) maps either to
// INT/BIGINT.
func logicalName(c *schema.Column) string {
	if it, ok := c.LogicalType().(schema.IntLogicalType); ok && it.IsSigned() {
		if (c.PhysicalType() == parquet.Types.Int32 && it.BitWidth() == 32) || (c.PhysicalType() == parquet.Types.Int64 && it.BitWidth() == 64) {
			return schema.NoLogicalType{}.String()
		}
	}
	return c.LogicalType().String()
}

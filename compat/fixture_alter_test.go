package compat_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/fixtures"
)

// TestFixtureAlteredByTarn: a table Apache Paimon wrote (a copy of the shared fixture
// test_pk_global_index_golden: deletion vectors, a Paimon 2.x build), altered by Tarn (a
// column added, one renamed) and then written by Tarn, keeps the shape Paimon expects:
// Tarn's schema-1 has the JSON layout of Paimon's schema-0 (the same keys, in the table and
// in each field), Paimon loads it to the same TableSchema, checks every snapshot, and reads
// the old rows under the new names beside Tarn's.
func TestFixtureAlteredByTarn(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	wh := t.TempDir()
	dst := filepath.Join(wh, "default.db", "golden")
	must(t, os.CopyFS(dst, os.DirFS(fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden"))))
	cat := catalog.New(fileio.NewLocal(), wh)
	id := catalog.Identifier{Database: "default", Table: "golden"}
	s, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{
		catalog.AddColumn{Path: []string{"note"}, Type: types.StringType()},
		catalog.RenameColumn{Path: []string{"name"}, NewName: "label"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != 1 || s.HighestFieldID != 3 {
		t.Fatalf("Tarn wrote schema %d with highestFieldId %d, want schema 1 and field id 3", s.ID, s.HighestFieldID)
	}
	keysOf := func(path string) (top []string, field []string) {
		b, err := os.ReadFile(path)
		must(t, err)
		var m map[string]json.RawMessage
		must(t, json.Unmarshal(b, &m))
		var fields []map[string]json.RawMessage
		must(t, json.Unmarshal(m["fields"], &fields))
		return slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(fields[0]))
	}
	pTop, pField := keysOf(filepath.Join(dst, "schema", "schema-0"))
	tTop, tField := keysOf(filepath.Join(dst, "schema", "schema-1"))
	if !slices.Equal(pTop, tTop) || !slices.Equal(pField, tField) {
		t.Errorf("schema-1 keys %v, field keys %v; Paimon's schema-0 has %v and %v", tTop, tField, pTop, pField)
	}
	schemaJSON, err := oracle(ctx, paimonLatest, "schema", dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameSchema(s, schemaJSON); err != nil {
		t.Error(err)
	}

	tbl, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commitJSONL(ctx, tbl, s.Fields, []string{
		`{"id":7,"label":"name-7","category":"odd","note":"tarn"}`,
		`{"id":2,"label":"two","category":"even","note":null}`,
	}, 1); err != nil {
		t.Fatal(err)
	}
	if out, err := oracle(ctx, paimonLatest, "check", dst, "--all"); err != nil {
		t.Fatalf("Paimon's check: %v\n%s", err, out)
	}
	want := `{"id":1,"label":"name-1","category":"odd","note":null}
{"id":2,"label":"two","category":"even","note":null}
{"id":3,"label":"name-3","category":"odd","note":null}
{"id":4,"label":"name-4","category":"even","note":null}
{"id":5,"label":"name-5","category":"odd","note":null}
{"id":6,"label":"name-6","category":"even","note":null}
{"id":7,"label":"name-7","category":"odd","note":"tarn"}
`
	got, err := oracle(ctx, paimonLatest, "read", dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Paimon reads\n%s\nwant\n%s", got, want)
	}
}

package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// evolutionStep alters a table (no changes for the first step), then commits rows; the
// snapshot then reads as want.
type evolutionStep struct {
	changes []catalog.SchemaChange
	rows    string
	want    string
}

type evolutionScenario struct {
	name    string
	columns string
	pk      []string
	part    []string
	options map[string]string
	steps   []evolutionStep
	// paimonRow is written by Paimon with the final schema; Tarn then reads wantLatest.
	paimonRow, wantLatest string
}

func cpath(s string) []string { return catalog.ParsePath(s) }

var evolutionScenarios = []evolutionScenario{{
	name:    "evolved_pk",
	columns: "id INT NOT NULL, a INT, b STRING, c DOUBLE, r ROW<x INT, y STRING>, dt STRING",
	pk:      []string{"id", "dt"}, part: []string{"dt"}, options: map[string]string{"bucket": "2"},
	steps: []evolutionStep{{
		rows: `{"id":1,"a":10,"b":"one","c":1.5,"r":{"x":1,"y":"p"},"dt":"d1"}
{"id":2,"a":20,"b":"two","c":2.5,"r":null,"dt":"d1"}
{"id":3,"a":null,"b":"three","c":null,"r":{"x":3,"y":null},"dt":"d2"}`,
		want: `{"id":1,"a":10,"b":"one","c":1.5,"r":{"x":1,"y":"p"},"dt":"d1"}
{"id":2,"a":20,"b":"two","c":2.5,"r":null,"dt":"d1"}
{"id":3,"a":null,"b":"three","c":null,"r":{"x":3,"y":null},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: cpath("d"), Type: types.StringType(), Move: &catalog.Move{Type: catalog.MoveAfter, Reference: "a"}},
			catalog.AddColumn{Path: cpath("r.z"), Type: types.DoubleType()},
		},
		rows: `{"id":1,"a":11,"d":"D1","b":"one","c":1.5,"r":{"x":1,"y":"p","z":0.5},"dt":"d1"}
{"id":4,"a":40,"d":"D4","b":"four","c":4.5,"r":{"x":4,"y":"s","z":4.5},"dt":"d2"}`,
		want: `{"id":1,"a":11,"d":"D1","b":"one","c":1.5,"r":{"x":1,"y":"p","z":0.5},"dt":"d1"}
{"id":2,"a":20,"d":null,"b":"two","c":2.5,"r":null,"dt":"d1"}
{"id":3,"a":null,"d":null,"b":"three","c":null,"r":{"x":3,"y":null,"z":null},"dt":"d2"}
{"id":4,"a":40,"d":"D4","b":"four","c":4.5,"r":{"x":4,"y":"s","z":4.5},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.RenameColumn{Path: cpath("b"), NewName: "b2"},
			catalog.RenameColumn{Path: cpath("id"), NewName: "key"},
			catalog.RenameColumn{Path: cpath("r.x"), NewName: "xx"},
		},
		rows: `{"key":2,"a":21,"d":"D2","b2":"TWO","c":2,"r":{"xx":2,"y":"q","z":null},"dt":"d1"}
{"key":3,"dt":"d2","_ROW_KIND":"-D"}`,
		want: `{"key":1,"a":11,"d":"D1","b2":"one","c":1.5,"r":{"xx":1,"y":"p","z":0.5},"dt":"d1"}
{"key":2,"a":21,"d":"D2","b2":"TWO","c":2,"r":{"xx":2,"y":"q","z":null},"dt":"d1"}
{"key":4,"a":40,"d":"D4","b2":"four","c":4.5,"r":{"xx":4,"y":"s","z":4.5},"dt":"d2"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.DropColumn{Path: cpath("c")},
			catalog.DropColumn{Path: cpath("r.y")},
			catalog.UpdateColumnType{Path: cpath("a"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: cpath("r.xx"), Type: types.BigIntType()},
			catalog.AddColumn{Path: cpath("c"), Type: types.StringType()},
		},
		rows: `{"key":5,"a":3000000000,"d":null,"b2":"five","r":{"xx":4000000000,"z":5.5},"dt":"d1","c":"new c"}`,
		want: `{"key":1,"a":11,"d":"D1","b2":"one","r":{"xx":1,"z":0.5},"dt":"d1","c":null}
{"key":2,"a":21,"d":"D2","b2":"TWO","r":{"xx":2,"z":null},"dt":"d1","c":null}
{"key":4,"a":40,"d":"D4","b2":"four","r":{"xx":4,"z":4.5},"dt":"d2","c":null}
{"key":5,"a":3000000000,"d":null,"b2":"five","r":{"xx":4000000000,"z":5.5},"dt":"d1","c":"new c"}`,
	}},
	paimonRow: `{"key":6,"a":6,"d":"D6","b2":"six","r":{"xx":6,"z":6.5},"dt":"d2","c":"by paimon"}`,
	wantLatest: `{"key":1,"a":11,"d":"D1","b2":"one","r":{"xx":1,"z":0.5},"dt":"d1","c":null}
{"key":2,"a":21,"d":"D2","b2":"TWO","r":{"xx":2,"z":null},"dt":"d1","c":null}
{"key":4,"a":40,"d":"D4","b2":"four","r":{"xx":4,"z":4.5},"dt":"d2","c":null}
{"key":5,"a":3000000000,"d":null,"b2":"five","r":{"xx":4000000000,"z":5.5},"dt":"d1","c":"new c"}
{"key":6,"a":6,"d":"D6","b2":"six","r":{"xx":6,"z":6.5},"dt":"d2","c":"by paimon"}`,
}, {
	name:    "evolved_append",
	columns: "id INT, a SMALLINT, b VARCHAR(10), f FLOAT, m DECIMAL(5, 2), ts TIMESTAMP(3)",
	steps: []evolutionStep{{
		rows: `{"id":1,"a":1,"b":"one","f":0.5,"m":"1.50","ts":"2024-01-01T00:00:00.001"}
{"id":2,"a":2,"b":"two","f":null,"m":null,"ts":null}`,
		want: `{"id":1,"a":1,"b":"one","f":0.5,"m":"1.50","ts":"2024-01-01T00:00:00.001"}
{"id":2,"a":2,"b":"two","f":null,"m":null,"ts":null}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: cpath("n"), Type: types.IntType(), Move: &catalog.Move{Type: catalog.MoveFirst}},
			catalog.RenameColumn{Path: cpath("b"), NewName: "name"},
			catalog.UpdateColumnType{Path: cpath("a"), Type: types.IntType()},
		},
		rows: `{"n":7,"id":3,"a":70000,"name":"three","f":1.25,"m":"3.00","ts":"2024-01-02T00:00:00"}`,
		want: `{"n":null,"id":1,"a":1,"name":"one","f":0.5,"m":"1.50","ts":"2024-01-01T00:00:00.001"}
{"n":null,"id":2,"a":2,"name":"two","f":null,"m":null,"ts":null}
{"n":7,"id":3,"a":70000,"name":"three","f":1.25,"m":"3.00","ts":"2024-01-02T00:00:00.000"}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.UpdateColumnType{Path: cpath("name"), Type: types.StringType()},
			catalog.UpdateColumnType{Path: cpath("f"), Type: types.DoubleType()},
			catalog.UpdateColumnType{Path: cpath("ts"), Type: types.TimestampType(6)},
			catalog.UpdateColumnType{Path: cpath("a"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: cpath("m"), Type: types.DecimalType(12, 4)},
			catalog.DropColumn{Path: cpath("id")},
			catalog.MoveColumn{Move: catalog.Move{Type: catalog.MoveLast, Column: "n"}},
		},
		rows: `{"a":5000000000,"name":"a much longer name","f":0.1,"m":"12345678.1234","ts":"2024-01-03T00:00:00.123456","n":4}`,
		want: `{"a":1,"name":"one","f":0.5,"m":"1.5000","ts":"2024-01-01T00:00:00.001000","n":null}
{"a":2,"name":"two","f":null,"m":null,"ts":null,"n":null}
{"a":70000,"name":"three","f":1.25,"m":"3.0000","ts":"2024-01-02T00:00:00.000000","n":7}
{"a":5000000000,"name":"a much longer name","f":0.1,"m":"12345678.1234","ts":"2024-01-03T00:00:00.123456","n":4}`,
	}},
	paimonRow: `{"a":9,"name":"nine","f":9.5,"m":"9.0000","ts":"2024-01-09T00:00:00.000000","n":9}`,
	wantLatest: `{"a":1,"name":"one","f":0.5,"m":"1.5000","ts":"2024-01-01T00:00:00.001000","n":null}
{"a":2,"name":"two","f":null,"m":null,"ts":null,"n":null}
{"a":9,"name":"nine","f":9.5,"m":"9.0000","ts":"2024-01-09T00:00:00.000000","n":9}
{"a":70000,"name":"three","f":1.25,"m":"3.0000","ts":"2024-01-02T00:00:00.000000","n":7}
{"a":5000000000,"name":"a much longer name","f":0.1,"m":"12345678.1234","ts":"2024-01-03T00:00:00.123456","n":4}`,
}, {
	name:    "evolved_nested",
	columns: "id INT, v ARRAY<ROW<p INT, s STRING>>, m MAP<STRING, ROW<q INT>>, w ARRAY<INT>, mv MAP<INT, SMALLINT>",
	steps: []evolutionStep{{
		rows: `{"id":1,"v":[{"p":1,"s":"a"},null,{"p":2,"s":null}],"m":[["k",{"q":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}`,
		want: `{"id":1,"v":[{"p":1,"s":"a"},null,{"p":2,"s":null}],"m":[["k",{"q":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}`,
	}, {
		changes: []catalog.SchemaChange{
			catalog.AddColumn{Path: cpath("v.element.z"), Type: types.DoubleType(), Move: &catalog.Move{Type: catalog.MoveFirst}},
			catalog.DropColumn{Path: cpath("v.element.s")},
			catalog.RenameColumn{Path: cpath("m.value.q"), NewName: "qq"},
			catalog.UpdateColumnType{Path: cpath("m.value.qq"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: cpath("w.element"), Type: types.BigIntType()},
			catalog.UpdateColumnType{Path: cpath("mv.value"), Type: types.BigIntType()},
		},
		rows: `{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}`,
		want: `{"id":1,"v":[{"z":null,"p":1},null,{"z":null,"p":2}],"m":[["k",{"qq":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}
{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}`,
	}},
	paimonRow: `{"id":4,"v":[{"z":4.5,"p":4}],"m":[["y",{"qq":4}]],"w":[4],"mv":[[4,4]]}`,
	wantLatest: `{"id":1,"v":[{"z":null,"p":1},null,{"z":null,"p":2}],"m":[["k",{"qq":1}],["n",null]],"w":[1,null,3],"mv":[[1,10]]}
{"id":2,"v":null,"m":null,"w":[],"mv":null}
{"id":3,"v":[{"z":0.5,"p":3}],"m":[["x",{"qq":5000000000}]],"w":[5000000000],"mv":[[2,7000000000]]}
{"id":4,"v":[{"z":4.5,"p":4}],"m":[["y",{"qq":4}]],"w":[4],"mv":[[4,4]]}`,
}}

func init() {
	// The primary-key scenario once more on a deletion-vector table (commits compact,
	// readers skip level 0).
	dv := evolutionScenarios[0]
	dv.name = "evolved_pk_dv"
	dv.options = map[string]string{"bucket": "2", "deletion-vectors.enabled": "true"}
	evolutionScenarios = append(evolutionScenarios, dv)
}

// tarnJSONL is Tarn's canonical scan of a table.
func tarnJSONL(ctx context.Context, tbl *table.Table, so table.ScanOptions) (string, error) {
	var buf bytes.Buffer
	_, err := export.Write(ctx, tbl, export.Options{Scan: so, Format: render.JSONL}, &buf)
	return buf.String(), err
}

func rowsText(s string) string {
	var b strings.Builder
	for _, l := range lines([]byte(s)) {
		b.WriteString(strings.TrimSpace(l))
		b.WriteByte('\n')
	}
	return b.String()
}

// sameSchema compares the schema Paimon parsed (`oracle schema`) with Tarn's, all but
// timeMillis and the path option Paimon adds when it opens a table.
func sameSchema(tarn *format.TableSchema, paimonJSON []byte) error {
	ps, err := format.ParseSchema(paimonJSON)
	if err != nil {
		return fmt.Errorf("parse Paimon's schema: %w", err)
	}
	ps.Options.Delete("path")
	describe := func(s *format.TableSchema) string {
		f, _ := json.Marshal(s.Fields)
		keys := s.Options.Keys()
		sort.Strings(keys)
		var o []string
		for _, k := range keys {
			v, _ := s.Options.Get(k)
			o = append(o, k+"="+v)
		}
		c := "<nil>"
		if s.Comment != nil {
			c = *s.Comment
		}
		return fmt.Sprintf("version %d id %d fields %s highest %d partition %v pk %v options %v comment %s",
			s.Version, s.ID, f, s.HighestFieldID, s.PartitionKeys, s.PrimaryKeys, o, c)
	}
	if a, b := describe(tarn), describe(ps); a != b {
		return fmt.Errorf("Paimon parsed\n  %s\nTarn wrote\n  %s", b, a)
	}
	return nil
}

// oracleWrite commits JSON Lines rows with Paimon's writer.
func oracleWrite(ctx context.Context, version, tablePath, rows string) error {
	_, _, err := runOracle(ctx, oracleCall{version: version, args: []string{"write", tablePath}, stdin: rows + "\n"})
	return err
}

// Tables Tarn created, wrote and altered (add at a position and nested, rename of a
// primary-key column and a nested field, drop, widen top-level and nested, re-adding a
// dropped name) are read by Paimon exactly at every snapshot, each schema-N Tarn wrote is
// the TableSchema Paimon parses, Paimon's check passes, and Paimon writes into the evolved
// table rows Tarn reads.
func TestPaimonReadsTablesTarnAltered(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	dir := t.TempDir()
	cat := catalog.New(fileio.NewLocal(), dir)
	var manifest []refTable
	for _, sc := range evolutionScenarios {
		t.Run(sc.name, func(t *testing.T) {
			fields, err := types.ParseColumns(sc.columns)
			if err != nil {
				t.Fatal(err)
			}
			id := catalog.Identifier{Database: "tarn", Table: sc.name}
			tbl, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: sc.pk, PartitionKeys: sc.part, Options: sc.options}, false)
			if err != nil {
				t.Fatal(err)
			}
			expected := filepath.Join(dir, "expected", "tarn."+sc.name)
			if err := os.MkdirAll(expected, 0o755); err != nil {
				t.Fatal(err)
			}
			var files []string
			for i, st := range sc.steps {
				schema, err := tbl.LatestSchema(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(st.changes) > 0 {
					if schema, err = cat.AlterTable(ctx, id, st.changes); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					out, err := oracle(ctx, paimonLatest, "schema", tbl.Path())
					if err != nil {
						t.Fatal(err)
					}
					if err := sameSchema(schema, out); err != nil {
						t.Fatalf("schema-%d: %v", schema.ID, err)
					}
				}
				snap, err := commitJSONL(ctx, tbl, schema.Fields, strings.Split(st.rows, "\n"), int64(i+1))
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				want := rowsText(st.want)
				if got, err := tarnJSONL(ctx, tbl, table.ScanOptions{SnapshotID: snap}); err != nil || got != want {
					t.Fatalf("Tarn reads snapshot %d: %v\n%s\nwant\n%s", snap, err, got, want)
				}
				name := fmt.Sprintf("snapshot-%d.jsonl", snap)
				if err := os.WriteFile(filepath.Join(expected, name), []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, name)
			}
			if out, err := oracle(ctx, paimonLatest, "check", "--all", tbl.Path()); err != nil {
				t.Fatalf("Paimon's check: %v\n%s", err, out)
			}
			manifest = append(manifest, refTable{Name: "tarn." + sc.name, Path: "tarn.db/" + sc.name, Expected: "expected/tarn." + sc.name, Files: files})
		})
	}
	writeManifestJSON(t, filepath.Join(dir, "manifest.json"), manifest)
	for _, version := range []string{paimonLatest, paimonOld} {
		out, err := oracle(ctx, version, "verify", dir)
		results := parseVerify(out)
		t.Logf("Paimon %s verify:\n%s", version, out)
		for _, m := range manifest {
			why, ok := results[m.Name]
			if !ok {
				t.Errorf("Paimon %s did not verify %s: %v\n%s", version, m.Name, err, out)
			} else if why != "" {
				t.Errorf("Paimon %s reading %s: %s", version, m.Name, why)
			}
		}
	}
	// Paimon writes into the evolved tables; Tarn reads its rows.
	for _, sc := range evolutionScenarios {
		tbl, err := cat.LoadTable(ctx, catalog.Identifier{Database: "tarn", Table: sc.name})
		if err != nil {
			t.Fatal(err)
		}
		if err := oracleWrite(ctx, paimonLatest, tbl.Path(), sc.paimonRow); err != nil {
			t.Fatal(err)
		}
		if got, err := tarnJSONL(ctx, tbl, table.ScanOptions{}); err != nil || got != rowsText(sc.wantLatest) {
			t.Errorf("%s: Tarn reads after Paimon's write: %v\n%s\nwant\n%s", sc.name, err, got, rowsText(sc.wantLatest))
		}
		if out, err := oracle(ctx, paimonLatest, "read", tbl.Path()); err != nil || string(out) != rowsText(sc.wantLatest) {
			t.Errorf("%s: Paimon reads after its write: %v\n%s", sc.name, err, out)
		}
	}
}

// evolveTo brings the Tarn table replaying a reference table to the schema Paimon's
// snapshot snap used: each later schema-N of the reference is replayed as one alter
// (the changes between it and the previous schema), and Tarn's schema-N must equal
// Paimon's (field ids, names, types, positions, highestFieldId, keys, options). prev, the
// rows of the previous state, are carried over to the new schema by field id.
func evolveTo(ctx context.Context, cat *catalog.Catalog, id catalog.Identifier, ref *table.Table, snap int64, cur *format.TableSchema, prev []string) (*format.TableSchema, []string, error) {
	s, err := ref.Snapshot(ctx, snap)
	if err != nil {
		return nil, nil, err
	}
	for cur.ID < s.SchemaID {
		next, err := ref.Schema(ctx, cur.ID+1)
		if err != nil {
			return nil, nil, err
		}
		changes, err := schemaChanges(cur, next)
		if err != nil {
			return nil, nil, err
		}
		got, err := cat.AlterTable(ctx, id, changes)
		if err != nil {
			return nil, nil, fmt.Errorf("replaying Paimon's schema-%d: %w", next.ID, err)
		}
		if err := sameSchema(got, paimonForm(next)); err != nil {
			return nil, nil, fmt.Errorf("Tarn's schema-%d differs from Paimon's: %w", next.ID, err)
		}
		if prev, err = remapRows(prev, cur, next); err != nil {
			return nil, nil, err
		}
		cur = next
	}
	return cur, prev, nil
}

// paimonForm is a reference schema as `oracle schema` prints it (sameSchema's input).
func paimonForm(s *format.TableSchema) []byte {
	c := *s
	c.Options = s.Options.Clone()
	c.Options.Delete("path")
	return c.Marshal()
}

// schemaChanges are the top-level changes that turn schema from into to, matched by field
// id: drops, renames, type and comment changes, additions at their position, options and
// the table comment.
func schemaChanges(from, to *format.TableSchema) ([]catalog.SchemaChange, error) {
	var out []catalog.SchemaChange
	for _, f := range from.Fields {
		if types.FieldByID(to.Fields, f.ID) < 0 {
			out = append(out, catalog.DropColumn{Path: []string{f.Name}})
		}
	}
	for _, f := range from.Fields {
		i := types.FieldByID(to.Fields, f.ID)
		if i < 0 {
			continue
		}
		g := to.Fields[i]
		if g.Name != f.Name {
			out = append(out, catalog.RenameColumn{Path: []string{f.Name}, NewName: g.Name})
		}
		if !g.Type.Equal(f.Type) {
			if f.Type.IsNested() || g.Type.IsNested() {
				return nil, fmt.Errorf("column %s: nested type changes are not replayed", g.Name)
			}
			out = append(out, catalog.UpdateColumnType{Path: []string{g.Name}, Type: g.Type})
		}
		if (g.Description == nil) != (f.Description == nil) || g.Description != nil && *g.Description != *f.Description {
			out = append(out, catalog.UpdateColumnComment{Path: []string{g.Name}, Comment: g.Description})
		}
	}
	for i, g := range to.Fields {
		if types.FieldByID(from.Fields, g.ID) >= 0 {
			continue
		}
		move := &catalog.Move{Type: catalog.MoveFirst}
		if i > 0 {
			move = &catalog.Move{Type: catalog.MoveAfter, Reference: to.Fields[i-1].Name}
		}
		out = append(out, catalog.AddColumn{Path: []string{g.Name}, Type: g.Type, Comment: g.Description, Move: move})
	}
	for _, k := range to.Options.Keys() {
		v, _ := to.Options.Get(k)
		if old, ok := from.Options.Get(k); (!ok || old != v) && k != "path" {
			out = append(out, catalog.SetOption{Key: k, Value: v})
		}
	}
	for _, k := range from.Options.Keys() {
		if _, ok := to.Options.Get(k); !ok && k != "path" {
			out = append(out, catalog.RemoveOption{Key: k})
		}
	}
	if (to.Comment == nil) != (from.Comment == nil) || to.Comment != nil && *to.Comment != *from.Comment {
		out = append(out, catalog.UpdateComment{Comment: to.Comment})
	}
	return out, nil
}

// remapRows rewrites canonical JSON rows of schema from as rows of schema to, by field
// id: dropped columns go, added ones are null, renamed ones keep their values (whose
// text is the same in a widened integer type).
func remapRows(rows []string, from, to *format.TableSchema) ([]string, error) {
	out := make([]string, len(rows))
	for i, l := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return nil, fmt.Errorf("row %q: %w", l, err)
		}
		var b strings.Builder
		b.WriteByte('{')
		for j, g := range to.Fields {
			if j > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(g.Name)
			b.Write(name)
			b.WriteByte(':')
			v := json.RawMessage("null")
			if k := types.FieldByID(from.Fields, g.ID); k >= 0 {
				if raw, ok := m[from.Fields[k].Name]; ok {
					v = raw
				}
			}
			b.Write(v)
		}
		b.WriteByte('}')
		out[i] = b.String()
	}
	return out, nil
}

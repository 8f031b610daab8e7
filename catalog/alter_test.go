package catalog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// paimonColumns and paimonBases are the schema-0s of the cases checked against Paimon.
const paimonColumns = "id INT NOT NULL, a INT, b STRING, c DOUBLE, r ROW<x INT, y STRING>, v ARRAY<ROW<p INT>>, " +
	"m MAP<STRING, ROW<q INT>>, w ARRAY<INT>, dt STRING, dec DECIMAL(5, 2), vc VARCHAR(5), ch CHAR(3), " +
	"ts TIMESTAMP(3), f FLOAT, ti TINYINT"

var paimonBases = map[string]map[string]string{
	"base":  {"bucket": "2", "bucket-key": "id"},
	"base2": {"bucket": "2", "add-column-before-partition": "true", "alter-column-null-to-not-null.disabled": "false"},
	"base3": {"bucket": "2", "bucket-key": "id", "sequence.field": "a", "merge-engine": "aggregation", "fields.c.aggregate-function": "sum", "fields.c.ignore-retract": "true"},
}

func baseSchema(t *testing.T, columns string, pk, part []string, opts map[string]string) *format.TableSchema {
	t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchema(TableSpec{Fields: fields, PrimaryKeys: pk, PartitionKeys: part, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func p(s string) []string { return ParsePath(s) }

func ty(s string) types.DataType { return types.MustParse(s) }

func str(s string) *string { return &s }

// paimonCase is a list of changes on a base schema, with or without snapshots, whose
// outcome Paimon 1.4.2 recorded in testdata/paimon-1.4.2-alter.golden.
type paimonCase struct {
	id      string
	base    string
	snaps   bool
	changes []SchemaChange
	// tarnRefuses is set where Tarn refuses what Paimon accepts, with a part of Tarn's
	// message.
	tarnRefuses string
}

var paimonCases = []paimonCase{
	{id: "A1", base: "base", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("BIGINT")}}},
	{id: "A2", base: "base", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("STRING"), Comment: str("cmt"), Move: &Move{Type: MoveFirst}}}},
	{id: "A3", base: "base", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("STRING"), Move: &Move{Type: MoveAfter, Reference: "a"}}}},
	{id: "A4", base: "base", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("STRING"), Move: &Move{Type: MoveBefore, Reference: "dt"}}}},
	{id: "A5", base: "base", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("ROW<p INT, q ROW<s INT>>")}}},
	{id: "A6", base: "base", changes: []SchemaChange{AddColumn{Path: p("r.z"), Type: ty("DOUBLE")}}},
	{id: "A7", base: "base", changes: []SchemaChange{AddColumn{Path: p("v.element.z"), Type: ty("STRING")}}},
	{id: "A8", base: "base", changes: []SchemaChange{AddColumn{Path: p("m.value.z"), Type: ty("STRING"), Move: &Move{Type: MoveFirst}}}},
	{id: "A9", base: "base2", changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("STRING")}, AddColumn{Path: p("r.z"), Type: ty("STRING")}}},
	{id: "R1", base: "base", changes: []SchemaChange{RenameColumn{p("b"), "b2"}, RenameColumn{p("id"), "key"}, RenameColumn{p("r.x"), "xx"}, RenameColumn{p("v.element.p"), "pp"}}},
	{id: "R2", base: "base3", changes: []SchemaChange{RenameColumn{p("c"), "c2"}, RenameColumn{p("id"), "key"}, RenameColumn{p("a"), "aa"}}},
	{id: "D1", base: "base", changes: []SchemaChange{DropColumn{p("c")}, DropColumn{p("r.y")}, DropColumn{p("w")}}},
	{id: "W1", base: "base", changes: []SchemaChange{
		UpdateColumnType{Path: p("a"), Type: ty("BIGINT")}, UpdateColumnType{Path: p("r.x"), Type: ty("BIGINT"), KeepNullability: true},
		UpdateColumnType{Path: p("w.element"), Type: ty("BIGINT"), KeepNullability: true}, UpdateColumnType{Path: p("v.element.p"), Type: ty("BIGINT"), KeepNullability: true}}},
	{id: "W2", base: "base", changes: []SchemaChange{
		UpdateColumnType{Path: p("dec"), Type: ty("DECIMAL(10, 4)")}, UpdateColumnType{Path: p("vc"), Type: ty("STRING")},
		UpdateColumnType{Path: p("ch"), Type: ty("VARCHAR(3)")}, UpdateColumnType{Path: p("ts"), Type: ty("TIMESTAMP(6)")},
		UpdateColumnType{Path: p("f"), Type: ty("DOUBLE")}, UpdateColumnType{Path: p("ti"), Type: ty("DECIMAL(3, 0)")}}},
	{id: "N1", base: "base2", snaps: true, changes: []SchemaChange{UpdateColumnNullability{p("b"), false}, UpdateColumnNullability{p("r.x"), false}},
		tarnRefuses: "Tarn cannot verify that no row holds a null there"},
	{id: "C1", base: "base", changes: []SchemaChange{UpdateComment{str("tbl")}, UpdateColumnComment{p("a"), str("ca")}, UpdateColumnComment{p("r.x"), str("cx")}}},
	{id: "M1", base: "base", changes: []SchemaChange{MoveColumn{Move{MoveFirst, "c", ""}}, MoveColumn{Move{MoveAfter, "a", "c"}},
		MoveColumn{Move{MoveBefore, "ti", "id"}}, MoveColumn{Move{MoveLast, "id", ""}}, MoveColumn{Move{MoveAfter, "b", "f"}}}},
	{id: "O1", base: "base", changes: []SchemaChange{SetOption{"snapshot.num-retained.max", "5"}, RemoveOption{"bucket-key"}, SetOption{"bucket", "4"}, SetOption{"merge-engine", "first-row"}}},
	{id: "O2", base: "base", changes: []SchemaChange{SetOption{"snapshot.num-retained.max", "20"}, RemoveOption{"bucket-key"}, SetOption{"bucket", "4"}, SetOption{"merge-engine", "first-row"}}},
	{id: "O3", base: "base", snaps: true, changes: []SchemaChange{SetOption{"snapshot.num-retained.max", "20"}, SetOption{"bucket", "2"}, SetOption{"changelog-producer", "input"}, RemoveOption{"no-such-option"}}},
	{id: "W3", base: "base", changes: []SchemaChange{UpdateColumnType{Path: p("m.value.q"), Type: ty("BIGINT"), KeepNullability: true},
		UpdateColumnType{Path: p("a"), Type: ty("BIGINT NOT NULL"), KeepNullability: true}, UpdateColumnType{Path: p("ti"), Type: ty("FLOAT")}}},
	{id: "D2", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("r")}, DropColumn{p("m.value.q")}}},
	{id: "D3", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("r")}, DropColumn{p("v")}}},
	{id: "N2", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnNullability{p("a"), true}, UpdateColumnNullability{p("dt"), true}}},
	{id: "X1", base: "base", changes: []SchemaChange{DropColumn{p("c")}, AddColumn{Path: p("c"), Type: ty("INT")}}},
	{id: "F01", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("id")}}},
	{id: "F02", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("dt")}}},
	{id: "F03", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("v.element.p")}}},
	{id: "F04", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("zz")}}},
	{id: "F05", base: "base", snaps: true, changes: []SchemaChange{RenameColumn{p("dt"), "day"}}},
	{id: "F06", base: "base", snaps: true, changes: []SchemaChange{RenameColumn{p("a"), "b"}}},
	{id: "F07", base: "base", snaps: true, changes: []SchemaChange{RenameColumn{p("a"), "_KEY_a"}}},
	{id: "F08", base: "base", snaps: true, changes: []SchemaChange{AddColumn{Path: p("a"), Type: ty("INT")}}},
	{id: "F09", base: "base", snaps: true, changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("INT NOT NULL")}}},
	{id: "F10", base: "base", snaps: true, changes: []SchemaChange{AddColumn{Path: p("n"), Type: ty("INT"), Move: &Move{Type: MoveAfter, Reference: "zz"}}}},
	{id: "F11", base: "base", snaps: true, changes: []SchemaChange{AddColumn{Path: p("a.x"), Type: ty("INT")}},
		tarnRefuses: "column a is INT, not a ROW"}, // Paimon loses the field and bumps highestFieldId
	{id: "F12", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("id"), Type: ty("BIGINT")}}},
	{id: "F13", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("dt"), Type: ty("VARCHAR(10)")}}},
	{id: "F14", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("c"), Type: ty("FLOAT")}}, tarnRefuses: "without losing information"},
	{id: "F15", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("b"), Type: ty("INT")}}, tarnRefuses: "without losing information"},
	{id: "F16", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("dec"), Type: ty("DECIMAL(5, 1)")}}, tarnRefuses: "without losing information"},
	{id: "F17", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("dec"), Type: ty("DECIMAL(5, 3)")}}, tarnRefuses: "without losing information"},
	{id: "F18", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("a"), Type: ty("FLOAT")}}, tarnRefuses: "without losing information"},
	{id: "F19", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("vc"), Type: ty("VARCHAR(3)")}}, tarnRefuses: "without losing information"},
	{id: "F20", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("ch"), Type: ty("CHAR(10)")}}, tarnRefuses: "without losing information"},
	{id: "F21", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("ts"), Type: ty("TIMESTAMP(3) WITH LOCAL TIME ZONE")}}, tarnRefuses: "without losing information"},
	{id: "F22", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("w"), Type: ty("ARRAY<BIGINT>")}}},
	{id: "F23", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("a"), Type: ty("DATE")}}},
	{id: "F24", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnNullability{p("id"), true}}},
	{id: "F25", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnNullability{p("b"), false}}},
	{id: "F26", base: "base", snaps: true, changes: []SchemaChange{SetOption{"bucket", "4"}}, tarnRefuses: "needs every partition rescaled"},
	{id: "F27", base: "base", snaps: true, changes: []SchemaChange{RemoveOption{"bucket"}}},
	{id: "F28", base: "base", snaps: true, changes: []SchemaChange{SetOption{"merge-engine", "first-row"}}},
	{id: "F29", base: "base", snaps: true, changes: []SchemaChange{SetOption{"primary-key", "a"}}},
	{id: "F30", base: "base", snaps: true, changes: []SchemaChange{SetOption{"deletion-vectors.enabled", "true"}}},
	{id: "F31", base: "base", snaps: true, changes: []SchemaChange{SetOption{"bucket-key", "a"}}},
	{id: "F32", base: "base3", snaps: true, changes: []SchemaChange{DropColumn{p("c")}}},
	{id: "F33", base: "base", snaps: true, changes: []SchemaChange{MoveColumn{Move{MoveFirst, "id", ""}}}},
	{id: "F34", base: "base", snaps: true, changes: []SchemaChange{SetOption{"changelog-producer", "lookup"}}},
	{id: "F35", base: "base", snaps: true, changes: []SchemaChange{DropColumn{p("a")}, AddColumn{Path: p("a"), Type: ty("STRING")}}},
	{id: "F36", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("a"), Type: ty("BIGINT NOT NULL")}}},
	{id: "F37", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("ti"), Type: ty("FLOAT")}}},
	{id: "F38", base: "base", snaps: true, changes: []SchemaChange{SetOption{"sequence.field", "zz"}}},
	{id: "F39", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("r"), Type: ty("ROW<x BIGINT, y STRING>")}}},
	{id: "F40", base: "base", snaps: true, changes: []SchemaChange{SetOption{"path", "/elsewhere"}}, tarnRefuses: "location cannot change"},
	{id: "F41", base: "base", changes: []SchemaChange{AddColumn{Path: p("_SEQUENCE_NUMBER"), Type: ty("INT")}}},
	{id: "F42", base: "base", snaps: true, changes: []SchemaChange{RenameColumn{p("r.x"), "y"}}},
	{id: "F43", base: "base", snaps: true, changes: []SchemaChange{SetOption{"no-such-option", "1"}}, tarnRefuses: "unknown table option"},
	{id: "F44", base: "base", snaps: true, changes: []SchemaChange{SetOption{"snapshot.num-retained.max", "5"}}},
	{id: "F45", base: "base", snaps: true, changes: []SchemaChange{UpdateColumnType{Path: p("w.element"), Type: ty("INT NOT NULL")}}},
	{id: "F46", base: "base", snaps: true, changes: []SchemaChange{AddColumn{Path: p("r.x"), Type: ty("INT")}}},
}

// describe renders a schema as the golden file's OK lines do.
func describe(t *testing.T, s *format.TableSchema) string {
	t.Helper()
	fields, err := json.Marshal(s.Fields)
	if err != nil {
		t.Fatal(err)
	}
	keys := s.Options.Keys()
	sort.Strings(keys)
	opts := make([]string, len(keys))
	for i, k := range keys {
		v, _ := s.Options.Get(k)
		opts[i] = k + "=" + v
	}
	comment := "null"
	if s.Comment != nil {
		comment = *s.Comment
	}
	return fmt.Sprintf("OK %s highest=%d pk=[%s] opts={%s} comment=%s", fields, s.HighestFieldID, strings.Join(s.PrimaryKeys, ", "), strings.Join(opts, ", "), comment)
}

func loadGolden(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "paimon-1.4.2-alter.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id, rest, _ := strings.Cut(l, " ")
		out[id] = rest
	}
	return out
}

// Every case gives the schema Paimon 1.4.2 gives (field ids, positions, nested fields,
// highestFieldId, keys, options), or is refused where Paimon refuses it; where Tarn is
// stricter than Paimon the case says why.
func TestAlterMatchesPaimon(t *testing.T) {
	golden := loadGolden(t)
	if len(golden) != len(paimonCases) {
		t.Errorf("golden file has %d cases, the test %d", len(golden), len(paimonCases))
	}
	for _, c := range paimonCases {
		t.Run(c.id, func(t *testing.T) {
			want, ok := golden[c.id]
			if !ok {
				t.Fatalf("no golden result for %s", c.id)
			}
			base := baseSchema(t, paimonColumns, []string{"id", "dt"}, []string{"dt"}, paimonBases[c.base])
			got, err := applyChanges(base, c.changes, alterEnv{hasSnapshots: c.snaps, nullsIn: func(int) (bool, error) { return false, nil }})
			switch {
			case c.tarnRefuses != "":
				if !strings.HasPrefix(want, "OK ") {
					t.Fatalf("Paimon refuses too (%s): drop tarnRefuses", want)
				}
				if !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), c.tarnRefuses) {
					t.Fatalf("Tarn: %v, want a refusal containing %q", err, c.tarnRefuses)
				}
			case strings.HasPrefix(want, "ERR "):
				if !errors.Is(err, ErrInvalidChange) {
					t.Fatalf("Paimon refuses (%s); Tarn: %v", want, err)
				}
				t.Logf("Paimon: %s\nTarn:   %v", strings.TrimPrefix(want, "ERR "), err)
			default:
				if err != nil {
					t.Fatalf("Paimon accepts; Tarn: %v", err)
				}
				if d := describe(t, got); d != want {
					t.Fatalf("schema differs from Paimon's\ntarn:   %s\npaimon: %s", d, want)
				}
				if got.ID != base.ID+1 || got.Version != format.CurrentSchemaVersion {
					t.Fatalf("id %d version %d", got.ID, got.Version)
				}
				// Paimon's JSON form round-trips.
				back, err := format.ParseSchema(got.Marshal())
				if err != nil || describe(t, back) != want {
					t.Fatalf("round trip: %v\n%s", err, describe(t, back))
				}
			}
		})
	}
}

// The old schema is never modified, whatever the changes do.
func TestAlterLeavesOldSchemaAlone(t *testing.T) {
	base := baseSchema(t, paimonColumns, []string{"id", "dt"}, []string{"dt"}, paimonBases["base"])
	before := string(base.Marshal())
	for _, c := range paimonCases {
		_, _ = applyChanges(base, c.changes, alterEnv{hasSnapshots: c.snaps})
	}
	if after := string(base.Marshal()); after != before {
		t.Fatalf("base schema changed:\n%s\nwas\n%s", after, before)
	}
}

// More of Tarn's refusals, with the reason each message gives.
func TestAlterRefusals(t *testing.T) {
	appendBase := func(t *testing.T) *format.TableSchema {
		return baseSchema(t, "k INT, v STRING, n INT, r ROW<x INT>", nil, nil, map[string]string{"bucket": "4", "bucket-key": "k"})
	}
	pkBase := func(t *testing.T) *format.TableSchema {
		return baseSchema(t, "id INT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1", "ignore-delete": "true"})
	}
	cases := []struct {
		name    string
		base    func(*testing.T) *format.TableSchema
		snaps   bool
		nulls   bool
		changes []SchemaChange
		want    string
	}{
		{"no changes", appendBase, false, false, nil, "no changes"},
		{"widen a bucket key", appendBase, false, false, []SchemaChange{UpdateColumnType{Path: p("k"), Type: ty("BIGINT")}}, "it is a bucket key"},
		{"drop a bucket key", appendBase, false, false, []SchemaChange{DropColumn{p("k")}}, "k is a bucket key"},
		{"narrow", appendBase, false, false, []SchemaChange{UpdateColumnType{Path: p("n"), Type: ty("SMALLINT")}}, "n[INT] cannot be converted to SMALLINT without losing information"},
		{"bigint to double", appendBase, false, false, []SchemaChange{UpdateColumnType{Path: p("n"), Type: ty("BIGINT")}, UpdateColumnType{Path: p("n"), Type: ty("DOUBLE")}}, "without losing information"},
		{"int to small decimal", appendBase, false, false, []SchemaChange{UpdateColumnType{Path: p("n"), Type: ty("DECIMAL(10, 2)")}}, "without losing information"},
		{"rename to an existing name", appendBase, false, false, []SchemaChange{RenameColumn{p("v"), "n"}}, "column n already exists"},
		{"rename nested into a missing row", appendBase, false, false, []SchemaChange{RenameColumn{p("q.x"), "y"}}, "column q does not exist (the table's columns: k, v, n, r)"},
		{"missing nested field", appendBase, false, false, []SchemaChange{DropColumn{p("r.zz")}}, "column r.zz does not exist (the fields of r: x)"},
		{"drop the only nested field", appendBase, false, false, []SchemaChange{DropColumn{p("r.x")}}, "r.x is the only field of r"},
		{"changelog producer without primary key", appendBase, false, false, []SchemaChange{SetOption{"changelog-producer", "input"}}, "needs a primary key"},
		{"bucket to -1", appendBase, true, false, []SchemaChange{SetOption{"bucket", "-1"}}, "cannot change bucket to -1"},
		{"remove the bucket key", appendBase, true, false, []SchemaChange{RemoveOption{"bucket-key"}}, "cannot change once the table has snapshots"},
		{"partition option", appendBase, false, false, []SchemaChange{SetOption{"partition", "k"}}, "fixed when the table is created"},
		{"type option", appendBase, false, false, []SchemaChange{SetOption{"type", "format-table"}}, "a table's type cannot change"},
		{"ignore-delete back to false", pkBase, true, false, []SchemaChange{SetOption{"ignore-delete", "false"}}, "cannot change from true to false"},
		{"default that does not cast", appendBase, false, false, []SchemaChange{UpdateColumnDefaultValue{p("n"), str("five")}}, `default value "five" does not cast to INT`},
		{"default of a nested field", appendBase, false, false, []SchemaChange{UpdateColumnDefaultValue{p("r.x"), str("1")}}, "top-level columns only"},
		{"default of a ROW", appendBase, false, false, []SchemaChange{UpdateColumnDefaultValue{p("r"), str("1")}}, "scalar, non-binary"},
		{"not null with nulls in the data", func(t *testing.T) *format.TableSchema {
			return baseSchema(t, "id INT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1", "alter-column-null-to-not-null.disabled": "false"})
		}, true, true, []SchemaChange{UpdateColumnNullability{p("v"), false}}, "the table's rows hold nulls in it"},
		{"add not null", pkBase, false, false, []SchemaChange{AddColumn{Path: p("n"), Type: ty("INT NOT NULL")}}, "cannot be NOT NULL"},
		{"reserved name", pkBase, false, false, []SchemaChange{RenameColumn{p("v"), "rowkind"}}, "reserved by the Paimon format"},
		{"element of a non-array", pkBase, false, false, []SchemaChange{UpdateColumnType{Path: p("v.element"), Type: ty("INT")}}, "column v is STRING, not a ROW"},
		{"placeholder name", func(t *testing.T) *format.TableSchema {
			return baseSchema(t, "id INT NOT NULL, v ARRAY<INT>", []string{"id"}, nil, map[string]string{"bucket": "1"})
		}, false, false, []SchemaChange{UpdateColumnType{Path: p("v.item"), Type: ty("BIGINT")}}, `its nested type is named "element", not "item"`},
		{"option refers to a dropped column", func(t *testing.T) *format.TableSchema {
			return baseSchema(t, "id INT NOT NULL, v INT", []string{"id"}, nil, map[string]string{"bucket": "1", "merge-engine": "aggregation", "fields.v.aggregate-function": "sum"})
		}, false, false, []SchemaChange{DropColumn{p("v")}}, "option fields.v.aggregate-function refers to column \"v\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := applyChanges(c.base(t), c.changes, alterEnv{hasSnapshots: c.snaps, nullsIn: func(int) (bool, error) { return c.nulls, nil }})
			if c.changes == nil {
				_, err = Alter(context.Background(), nil, nil)
			}
			if !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a refusal containing %q", err, c.want)
			}
		})
	}
}

// testTable creates db.t in a fresh warehouse with rows written.
func testTable(t *testing.T, fio fileio.FileIO, columns string, pk []string, opts map[string]string, rows string) (*Catalog, *table.Table) {
	t.Helper()
	ctx := context.Background()
	cat := New(fio, t.TempDir())
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, Identifier{"db", "t"}, TableSpec{Fields: fields, PrimaryKeys: pk, Options: opts}, false)
	if err != nil {
		t.Fatal(err)
	}
	if rows != "" {
		writeRows(t, tbl, rows)
	}
	return cat, tbl
}

func schemaFiles(t *testing.T, tbl *table.Table) []string {
	t.Helper()
	entries, err := tbl.FileIO().List(context.Background(), tbl.Join(format.SchemaDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// AlterTable writes schema-N+1 exactly as Marshal forms it; a refused change writes
// nothing, and a missing table is ErrNotFound.
func TestAlterTableWritesNextSchema(t *testing.T) {
	ctx := context.Background()
	cat, tbl := testTable(t, fileio.NewLocal(), "id INT NOT NULL, v STRING", []string{"id"}, map[string]string{"bucket": "1"}, `{"id":1,"v":"a"}`)
	id := Identifier{"db", "t"}
	s, err := cat.AlterTable(ctx, id, []SchemaChange{AddColumn{Path: p("n"), Type: ty("INT"), Comment: str("new")}, SetOption{"snapshot.num-retained.max", "50"}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := tbl.FileIO().ReadFile(ctx, tbl.Join(format.SchemaPath(1)))
	if err != nil || string(data) != string(s.Marshal()) {
		t.Fatalf("schema-1: %v\n%s", err, data)
	}
	latest, err := tbl.LatestSchema(ctx)
	if err != nil || latest.ID != 1 || latest.HighestFieldID != 2 {
		t.Fatalf("latest %+v %v", latest, err)
	}
	before := schemaFiles(t, tbl)
	for _, bad := range [][]SchemaChange{
		{AddColumn{Path: p("ok"), Type: ty("INT")}, DropColumn{p("id")}}, // the first change is not applied either
		{SetOption{"merge-engine", "first-row"}},
		{UpdateColumnType{Path: p("v"), Type: ty("INT")}},
	} {
		if _, err := cat.AlterTable(ctx, id, bad); !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), "alter table db.t: ") {
			t.Fatalf("%v: %v", bad, err)
		}
		if after := schemaFiles(t, tbl); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("a refused alter wrote %v (before %v)", after, before)
		}
	}
	if _, err := cat.AlterTable(ctx, Identifier{"db", "nope"}, []SchemaChange{DropColumn{p("v")}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing table: %v", err)
	}
}

// Making a column NOT NULL (allowed by option) looks at the data: nulls refuse it, none
// allow it; a column added after rows were written holds nulls in them.
func TestAlterNotNullLooksAtData(t *testing.T) {
	ctx := context.Background()
	opts := map[string]string{"bucket": "1", "alter-column-null-to-not-null.disabled": "false"}
	cat, tbl := testTable(t, fileio.NewLocal(), "id INT NOT NULL, v STRING, w STRING", []string{"id"}, opts,
		`{"id":1,"v":"a","w":null}
{"id":2,"v":"b","w":"x"}`)
	id := Identifier{"db", "t"}
	if _, err := cat.AlterTable(ctx, id, []SchemaChange{UpdateColumnNullability{p("w"), false}}); !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("w holds a null: %v", err)
	}
	if _, err := cat.AlterTable(ctx, id, []SchemaChange{UpdateColumnNullability{p("v"), false}}); err != nil {
		t.Fatalf("v holds no null: %v", err)
	}
	if _, err := cat.AlterTable(ctx, id, []SchemaChange{AddColumn{Path: p("n"), Type: ty("INT")}, UpdateColumnNullability{p("n"), false}}); !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("a new column is null in every row: %v", err)
	}
	s, _ := tbl.LatestSchema(ctx)
	if f, _ := s.Field("v"); f.Type.Nullable || s.ID != 1 {
		t.Fatalf("schema %d: v %s", s.ID, f.Type)
	}
	// A writer now refuses nulls in v.
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := writeBatch(t, w, `{"id":3,"v":null,"w":"y"}`); err == nil {
		t.Fatal("a null in NOT NULL column v was accepted")
	}
}

// casFileIO lets a concurrent alter win the race for the first schema file the test
// alter creates.
type casFileIO struct {
	fileio.FileIO
	once  sync.Once
	steal func()
}

func (c *casFileIO) CreateIfAbsent(ctx context.Context, path string, data []byte) error {
	c.once.Do(c.steal)
	return c.FileIO.CreateIfAbsent(ctx, path, data)
}

// An alter that loses the race for schema-N is applied again to the new latest schema;
// when it no longer applies it fails saying so, and writes nothing.
func TestAlterRetriesOnConcurrentAlter(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		theirs  []SchemaChange
		ours    []SchemaChange
		wantErr string
		want    string
	}{
		{"both apply", []SchemaChange{AddColumn{Path: p("theirs"), Type: ty("INT")}}, []SchemaChange{AddColumn{Path: p("ours"), Type: ty("STRING")}}, "",
			`[{"id":0,"name":"id","type":"INT NOT NULL"},{"id":1,"name":"v","type":"STRING"},{"id":2,"name":"theirs","type":"INT"},{"id":3,"name":"ours","type":"STRING"}]`},
		{"ours no longer applies", []SchemaChange{RenameColumn{p("v"), "w"}}, []SchemaChange{DropColumn{p("v")}},
			"re-applied after concurrent alters wrote schema 1: drop column v: column v does not exist (the table's columns: id, w)", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			local := fileio.NewLocal()
			cat, _ := testTable(t, local, "id INT NOT NULL, v STRING", []string{"id"}, map[string]string{"bucket": "1"}, "")
			fio := &casFileIO{FileIO: local}
			fio.steal = func() {
				if _, err := cat.AlterTable(ctx, Identifier{"db", "t"}, c.theirs); err != nil {
					t.Errorf("their alter: %v", err)
				}
			}
			tbl, err := table.Open(ctx, fio, cat.TablePath(Identifier{"db", "t"}))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Alter(ctx, tbl, c.ours)
			if c.wantErr != "" {
				if !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want %q", err, c.wantErr)
				}
				if files := schemaFiles(t, tbl); len(files) != 2 {
					t.Fatalf("schema files %v", files)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fields, _ := json.Marshal(s.Fields)
			if s.ID != 2 || string(fields) != c.want {
				t.Fatalf("schema %d: %s", s.ID, fields)
			}
		})
	}
}

// Concurrent alters of one table all apply, each to the schema the others left.
func TestAlterConcurrently(t *testing.T) {
	ctx := context.Background()
	cat, tbl := testTable(t, fileio.NewLocal(), "id INT NOT NULL", []string{"id"}, map[string]string{"bucket": "1"}, "")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = cat.AlterTable(ctx, Identifier{"db", "t"}, []SchemaChange{AddColumn{Path: p(fmt.Sprintf("c%d", i)), Type: ty("INT")}})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("alter %d: %v", i, err)
		}
	}
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != n || len(s.Fields) != n+1 || s.HighestFieldID != n {
		t.Fatalf("schema %d with %d fields, highest %d", s.ID, len(s.Fields), s.HighestFieldID)
	}
	ids := map[int]bool{}
	for _, f := range s.Fields {
		ids[f.ID] = true
	}
	if len(ids) != n+1 {
		t.Fatalf("field ids not unique: %v", s.Fields)
	}
}

func writeBatch(t *testing.T, w *table.Writer, rows string) error {
	t.Helper()
	r, err := render.NewJSONLReader(strings.NewReader(rows), w.Schema().Fields, 0)
	if err != nil {
		return err
	}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = w.Write(context.Background(), b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// writeRows writes JSON Lines rows in one commit.
func writeRows(t *testing.T, tbl *table.Table, rows string) {
	t.Helper()
	ctx := context.Background()
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := writeBatch(t, w, rows); err != nil {
		t.Fatal(err)
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: format.BatchCommitIdentifier, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
}

// TestAlterColumnDefault sets, changes and removes a column's default value: Paimon's
// UpdateColumnDefaultValue (SchemaManager), written to the field's "defaultValue".
func TestAlterColumnDefault(t *testing.T) {
	base := baseSchema(t, "k INT, v STRING, n INT", nil, nil, map[string]string{"bucket": "-1"})
	s1, err := applyChanges(base, []SchemaChange{UpdateColumnDefaultValue{p("v"), str("'x'")}, UpdateColumnDefaultValue{p("n"), str("5")}}, alterEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if d := s1.Fields[1].DefaultValue; d == nil || *d != "'x'" {
		t.Fatalf("default of v %v", d)
	}
	if !strings.Contains(string(s1.Marshal()), `"defaultValue" : "5"`) {
		t.Fatalf("schema JSON lacks the default:\n%s", s1.Marshal())
	}
	s2, err := applyChanges(s1, []SchemaChange{UpdateColumnDefaultValue{Path: p("n")}}, alterEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Fields[2].DefaultValue != nil || s2.Fields[1].DefaultValue == nil {
		t.Fatalf("after removing n's default: %+v", s2.Fields)
	}
	if base.Fields[1].DefaultValue != nil {
		t.Fatal("the base schema was changed")
	}
}

// TestCreateWithDefaults: a scalar default that does not cast refuses the table; a
// default of a type Tarn does not read is kept (Paimon's writers apply it).
func TestCreateWithDefaults(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, n INT, tags ARRAY<STRING>")
	if err != nil {
		t.Fatal(err)
	}
	fields[1].DefaultValue = str("five")
	if _, err := NewSchema(TableSpec{Fields: fields}); err == nil || !strings.Contains(err.Error(), `default value "five" does not cast to INT`) {
		t.Fatalf("bad default: %v", err)
	}
	fields[1].DefaultValue = str("5")
	fields[2].DefaultValue = str("ARRAY('a')")
	s, err := NewSchema(TableSpec{Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Fields[2].DefaultValue; d == nil || *d != "ARRAY('a')" {
		t.Fatalf("array default %v", d)
	}
}

// TestAlterDropPrimaryKey follows SchemaManager's DropPrimaryKey: refused (as unsupported)
// once the table has snapshots; before, the table becomes append-only and is validated as
// one.
func TestAlterDropPrimaryKey(t *testing.T) {
	dynamic := baseSchema(t, "id INT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "-1"})
	s, err := applyChanges(dynamic, []SchemaChange{DropPrimaryKey{}}, alterEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.PrimaryKeys) != 0 || !strings.Contains(string(s.Marshal()), `"primaryKeys" : [ ]`) {
		t.Fatalf("after dropping the primary key:\n%s", s.Marshal())
	}
	if _, err := applyChanges(dynamic, []SchemaChange{DropPrimaryKey{}}, alterEnv{hasSnapshots: true}); !errors.Is(err, ErrUnsupportedChange) || !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("with snapshots: %v, want ErrUnsupportedChange", err)
	}
	fixed := baseSchema(t, "id INT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	if _, err := applyChanges(fixed, []SchemaChange{DropPrimaryKey{}}, alterEnv{}); !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), "needs option bucket-key") {
		t.Fatalf("fixed buckets without bucket-key: %v", err)
	}
	if s, err := applyChanges(fixed, []SchemaChange{DropPrimaryKey{}, SetOption{"bucket-key", "id"}}, alterEnv{}); err != nil || len(s.PrimaryKeys) != 0 {
		t.Fatalf("with a bucket key: %v", err)
	}
}

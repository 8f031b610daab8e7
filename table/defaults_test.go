package table_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// TestWriterAppliesDefaults writes nulls into columns with default values: they are
// stored as the default (Paimon's TableWriteImpl wraps each row in a DefaultValueRow),
// values are kept, a column without a default keeps its nulls, and a default set by an
// alter applies to writers started after it.
func TestWriterAppliesDefaults(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewMemory(), "/warehouse")
	id := catalog.Identifier{Database: "db", Table: "t"}
	fields := lcColumns(t, "id INT NOT NULL, v STRING, n INT, d DECIMAL(10, 2)")
	s := "'none'"
	fields[1].DefaultValue = &s
	tbl, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	lcWrite(t, tbl, `[{"id":1,"v":null,"n":null,"d":null},{"id":2,"v":"x","n":7,"d":"1.50"}]`, false, false)
	if _, err := cat.AlterTable(ctx, id, []catalog.SchemaChange{catalog.UpdateColumnDefaultValue{Path: []string{"n"}, Default: ptr("42")}}); err != nil {
		t.Fatal(err)
	}
	tbl, err = cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	lcWrite(t, tbl, `[{"id":3,"v":null,"n":null,"d":null}]`, false, false)
	got := lcScan(t, tbl, table.ScanOptions{})
	for _, want := range []string{
		`{"id":1,"v":"none","n":null,"d":null}`,
		`{"id":2,"v":"x","n":7,"d":"1.50"}`,
		`{"id":3,"v":"none","n":42,"d":null}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the table lacks %s:\n%s", want, got)
		}
	}
}

package compat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
)

// rowkind.field takes each written row's kind from a string column instead of the
// input's row kind (Paimon's RowKindGenerator): Paimon and Tarn write +I, +U and -D rows
// through the column in turn, and read the same rows; a value that is no row kind, or
// null, is refused, as Paimon refuses it, and a non-string column at creation.
func TestRowKindFieldAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, fields := newTable(t, cat, "rk", "id INT NOT NULL, op STRING, v STRING", catalog.TableSpec{
		PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "1", "rowkind.field": "op"}})
	paimon := `{"id":1,"op":"+I","v":"p1"}` + "\n" + `{"id":2,"op":"+I","v":"p2"}` + "\n" + `{"id":3,"op":"+I","v":"p3"}` + "\n"
	if out, err := oracleStdin(ctx, paimon, "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's write: %v\n%s", err, out)
	}
	if _, err := commitJSONL(ctx, tbl, fields, []string{`{"id":1,"op":"-D","v":"p1"}`, `{"id":2,"op":"+U","v":"t2"}`, `{"id":4,"op":"+I","v":"t4"}`}, 2); err != nil {
		t.Fatalf("Tarn's write: %v", err)
	}
	if out, err := oracleStdin(ctx, `{"id":3,"op":"-D","v":"p3"}`+"\n", "write", tbl.Path()); err != nil {
		t.Fatalf("Paimon's delete: %v\n%s", err, out)
	}
	if got := readsAsPaimon(ctx, t, tbl, "after the writes", false); strings.Count(string(got), "\n") != 2 {
		t.Errorf("Tarn reads\n%s\nwant ids 2 and 4", got)
	}
	for _, bad := range []string{`{"id":5,"op":"delete","v":"x"}`, `{"id":5,"op":null,"v":"x"}`} {
		if _, err := commitJSONL(ctx, tbl, fields, []string{bad}, 9); err == nil || !strings.Contains(err.Error(), "row kind") {
			t.Errorf("Tarn's write of %s: %v, want a refusal", bad, err)
		}
	}
	if _, err := cat.CreateTable(ctx, catalog.Identifier{Database: "db", Table: "rk2"}, catalog.TableSpec{Fields: fields[:1],
		PrimaryKeys: []string{"id"}, Options: map[string]string{"rowkind.field": "id"}}, false); err == nil || !strings.Contains(err.Error(), "must be a string") {
		t.Errorf("rowkind.field on an INT column: %v, want a refusal", err)
	}
}

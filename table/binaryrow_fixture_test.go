package table

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/fixtures"
	"github.com/tarnlake/tarn/manifest"
)

// Every BinaryRow in the fixtures' manifests (partitions, min/max keys, key and value
// statistics), decoded against the table's schema and encoded again by Tarn, gives the
// same bytes Paimon wrote.
func TestFixtureBinaryRowsReencode(t *testing.T) {
	ctx := context.Background()
	checked := 0
	for _, rel := range fixtures.Tables(t) {
		tbl, err := Open(ctx, fileio.NewLocal(), fixtures.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		schema, err := tbl.LatestSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fileio.NewLocal().List(ctx, tbl.Join("manifest"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, "manifest-") || strings.HasPrefix(name, "manifest-list-") {
				continue
			}
			ms, err := tbl.ReadManifest(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				check := func(what string, b []byte, fields []types.DataField) {
					t.Helper()
					row, err := binaryrow.Deserialize(b)
					if err != nil {
						t.Fatalf("%s %s of %s: %v", rel, what, m.File.FileName, err)
					}
					vals, err := row.Values(fields)
					if err != nil {
						t.Fatalf("%s %s of %s: %v", rel, what, m.File.FileName, err)
					}
					again, err := binaryrow.Encode(fields, vals)
					if err != nil {
						t.Fatalf("%s %s of %s: %v", rel, what, m.File.FileName, err)
					}
					if !bytes.Equal(again.Serialize(), b) {
						t.Errorf("%s %s of %s: re-encoded\n %x\nwant\n %x", rel, what, m.File.FileName, again.Serialize(), b)
					}
					checked++
				}
				check("partition", m.Partition, schema.PartitionType())
				keys := schema.KeyFields()
				check("min key", m.File.MinKey, keys)
				check("max key", m.File.MaxKey, keys)
				check("key stats min", m.File.KeyStats.MinValues, keys)
				check("key stats max", m.File.KeyStats.MaxValues, keys)
				vf := statsFields(schema.Fields, m.File)
				if vf != nil {
					check("value stats min", m.File.ValueStats.MinValues, vf)
					check("value stats max", m.File.ValueStats.MaxValues, vf)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no BinaryRow checked")
	}
	t.Logf("%d BinaryRows re-encoded identically", checked)
}

// statsFields are the value-stats columns of a file (nil for types BinaryRow stats hold
// as null only, which Encode writes the same way).
func statsFields(all []types.DataField, f manifest.DataFileMeta) []types.DataField {
	if f.ValueStatsCols == nil {
		return all
	}
	var out []types.DataField
	for _, n := range f.ValueStatsCols {
		if i := types.FieldByName(all, n); i >= 0 {
			out = append(out, all[i])
		}
	}
	return out
}

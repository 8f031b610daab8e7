package compat_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Every BinaryRow Paimon wrote into the reference tables' manifests (partitions of every
// partition type, min/max keys, key and value statistics of every data type), decoded
// and encoded again by Tarn, gives Paimon's bytes.
func TestBinaryRowsOfPaimonReencode(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	dir := generated(t, paimonLatest)
	for _, rt := range loadManifest(t, dir) {
		t.Run(rt.Name, func(t *testing.T) {
			tbl, err := table.Open(ctx, fileio.NewLocal(), filepath.Join(dir, rt.Path))
			if err != nil {
				t.Fatal(err)
			}
			entries, err := fileio.NewLocal().List(ctx, tbl.Join("manifest"))
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
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
					schema, err := tbl.Schema(ctx, m.File.SchemaID)
					if err != nil {
						t.Fatal(err)
					}
					check := func(what string, b []byte, fields []types.DataField) {
						t.Helper()
						row, err := binaryrow.Deserialize(b)
						if err == nil && row.Arity() != len(fields) {
							return // stats of a subset of columns (dense stats)
						}
						var vals []any
						if err == nil {
							vals, err = row.Values(fields)
						}
						var again binaryrow.Row
						if err == nil {
							again, err = binaryrow.Encode(fields, vals)
						}
						if err != nil {
							t.Fatalf("%s of %s: %v", what, m.File.FileName, err)
						}
						if !bytes.Equal(again.Serialize(), b) {
							t.Errorf("%s of %s: re-encoded\n %x\nwant\n %x", what, m.File.FileName, again.Serialize(), b)
						}
						checked++
					}
					check("partition", m.Partition, schema.PartitionType())
					if len(schema.PrimaryKeys) > 0 {
						keys := schema.KeyFields()
						check("min key", m.File.MinKey, keys)
						check("max key", m.File.MaxKey, keys)
						check("key stats min", m.File.KeyStats.MinValues, keys)
						check("key stats max", m.File.KeyStats.MaxValues, keys)
					}
					vf := schema.Fields
					if m.File.ValueStatsCols != nil {
						vf = nil
						for _, n := range m.File.ValueStatsCols {
							if i := types.FieldByName(schema.Fields, n); i >= 0 {
								vf = append(vf, schema.Fields[i])
							}
						}
					}
					check("value stats min", m.File.ValueStats.MinValues, vf)
					check("value stats max", m.File.ValueStats.MaxValues, vf)
				}
			}
			if checked == 0 {
				t.Fatal("no BinaryRow checked")
			}
		})
	}
}

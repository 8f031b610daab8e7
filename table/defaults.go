package table

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/merge"
	"github.com/tarnlake/tarn/render"
)

// columnDefault is a column's default value: what a writer puts in place of its nulls,
// as Paimon's TableWriteImpl does (DefaultValueRow) after checking NOT NULL columns.
type columnDefault struct {
	col   int
	value arrow.RecordBatch // one row, one column
}

// parseDefaults reads the default values of a schema's columns.
func parseDefaults(schema *format.TableSchema, mem memory.Allocator) ([]columnDefault, error) {
	var out []columnDefault
	for i, f := range schema.Fields {
		if f.DefaultValue == nil {
			continue
		}
		v, err := render.ParseDefault(mem, f.Type, *f.DefaultValue)
		if err != nil {
			releaseDefaults(out)
			return nil, fmt.Errorf("column %s: %w; Tarn cannot write this table (remove the default value to write it)", f.Name, err)
		}
		s := arrow.NewSchema([]arrow.Field{{Name: f.Name, Type: v.DataType(), Nullable: true}}, nil)
		out = append(out, columnDefault{col: i, value: array.NewRecordBatch(s, []arrow.Array{v}, 1)})
		v.Release()
	}
	return out, nil
}

func releaseDefaults(ds []columnDefault) {
	for _, d := range ds {
		d.value.Release()
	}
}

// applyDefaults replaces the nulls of columns that have a default value with it.
func applyDefaults(mem memory.Allocator, ds []columnDefault, cols []arrow.Array) error {
	for _, d := range ds {
		c := cols[d.col]
		if c.NullN() == 0 {
			continue
		}
		in := array.NewRecordBatch(d.value.Schema(), []arrow.Array{c}, int64(c.Len()))
		refs := make([]merge.Ref, c.Len())
		for i := range refs {
			if c.IsNull(i) {
				refs[i] = merge.Ref{Batch: 1}
			} else {
				refs[i] = merge.Ref{Row: int32(i)}
			}
		}
		filled, err := merge.Gather(mem, []arrow.RecordBatch{in, d.value}, 0, refs)
		in.Release()
		if err != nil {
			return err
		}
		c.Release()
		cols[d.col] = filled
	}
	return nil
}

package table

import (
	"context"
	"fmt"
	"math/big"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// fileStats decodes a data file's statistics for pruning. For primary-key tables only the
// key statistics are used: value columns of a file may be superseded by other files.
// Columns are matched to the scan schema by field id; statistics of a column whose type
// was widened since the file was written are converted to the new type, other changed
// types are left out, and a column added since is all nulls.
func (t *Table) fileStats(ctx context.Context, scan *format.TableSchema, f *manifest.DataFileMeta) (*FileStats, error) {
	fileSchema, err := t.Schema(ctx, f.SchemaID)
	if err != nil {
		return nil, err
	}
	st := &FileStats{RowCount: f.RowCount, Min: map[string]any{}, Max: map[string]any{}, NullCounts: map[string]int64{}}
	var fields []types.DataField
	var stats manifest.SimpleStats
	if len(fileSchema.PrimaryKeys) > 0 {
		st.KeyOnly = true
		fields = fileSchema.KeyFields()
		stats = f.KeyStats
	} else {
		fields = fileSchema.Fields
		if f.ValueStatsCols != nil {
			fields = make([]types.DataField, 0, len(f.ValueStatsCols))
			for _, n := range f.ValueStatsCols {
				fd, ok := fileSchema.Field(n)
				if !ok {
					return nil, fmt.Errorf("data file %s: stats column %q not in schema %d", f.FileName, n, f.SchemaID)
				}
				fields = append(fields, fd)
			}
		}
		stats = f.ValueStats
		// A column added after the file was written reads as null in all its rows.
		for _, sf := range scan.Fields {
			if types.FieldByID(fileSchema.Fields, sf.ID) < 0 && !sf.Type.IsNested() {
				st.Min[sf.Name], st.Max[sf.Name], st.NullCounts[sf.Name] = nil, nil, f.RowCount
			}
		}
	}
	if len(fields) == 0 {
		return st, nil
	}
	minRow, err1 := binaryrow.Deserialize(stats.MinValues)
	maxRow, err2 := binaryrow.Deserialize(stats.MaxValues)
	if err1 != nil || err2 != nil || minRow.Arity() != len(fields) || maxRow.Arity() != len(fields) {
		return st, nil // no usable stats (e.g. dense stats with none): keep the file
	}
	for i, fd := range fields {
		j := types.FieldByID(scan.Fields, fd.ID)
		if j < 0 || fd.Type.IsNested() {
			continue
		}
		to := scan.Fields[j].Type
		same := to.WithNullable(true).Equal(fd.Type.WithNullable(true))
		if !same && !types.LosslessCast(fd.Type, to) {
			continue
		}
		name := scan.Fields[j].Name
		lo, err := minRow.Get(i, fd.Type)
		if err != nil {
			return nil, fmt.Errorf("data file %s: min stats: %w", f.FileName, err)
		}
		hi, err := maxRow.Get(i, fd.Type)
		if err != nil {
			return nil, fmt.Errorf("data file %s: max stats: %w", f.FileName, err)
		}
		if !same {
			lo, hi = widenStat(lo, to), widenStat(hi, to)
		}
		st.Min[name], st.Max[name] = lo, hi
		st.NullCounts[name] = -1
		if i < len(stats.NullCounts) && stats.NullCounts[i] != nil {
			st.NullCounts[name] = *stats.NullCounts[i]
		}
	}
	return st, nil
}

// widenStat converts a statistics value (binaryrow's Go form) to the form of type to;
// types.LosslessCast said the conversion exists.
func widenStat(v any, to types.DataType) any {
	var n int64
	switch x := v.(type) {
	case nil:
		return nil
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float32:
		if to.Root == types.Double {
			return float64(x)
		}
		return v
	case binaryrow.Decimal:
		if to.Root == types.Decimal && to.Scale > x.Scale {
			u := new(big.Int).Mul(x.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to.Scale-x.Scale)), nil))
			return binaryrow.Decimal{Unscaled: u, Scale: to.Scale}
		}
		return v
	default:
		return v // strings, binaries and timestamps keep their form
	}
	switch to.Root {
	case types.TinyInt:
		return int8(n)
	case types.SmallInt:
		return int16(n)
	case types.Int:
		return int32(n)
	case types.Float:
		return float32(n)
	case types.Double:
		return float64(n)
	case types.Decimal:
		u := new(big.Int).Mul(big.NewInt(n), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to.Scale)), nil))
		return binaryrow.Decimal{Unscaled: u, Scale: to.Scale}
	}
	return n
}

package table

import (
	"context"
	"fmt"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// fileStats decodes a data file's statistics for pruning. For primary-key tables only the
// key statistics are used: value columns of a file may be superseded by other files.
// Columns are matched to the scan schema by field id; a column whose type changed since
// the file was written is left out (its stats are in the old type).
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
		if j < 0 || !scan.Fields[j].Type.WithNullable(true).Equal(fd.Type.WithNullable(true)) || fd.Type.IsNested() {
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
		st.Min[name], st.Max[name] = lo, hi
		st.NullCounts[name] = -1
		if i < len(stats.NullCounts) && stats.NullCounts[i] != nil {
			st.NullCounts[name] = *stats.NullCounts[i]
		}
	}
	return st, nil
}

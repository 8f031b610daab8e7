package datafile

import (
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
)

// RowGroupStat is one column's statistics in one row group, as binaryrow values.
type RowGroupStat struct {
	Min, Max  any   // nil when unknown
	NullCount int64 // -1 when unknown
}

// RowGroupStats returns the statistics of a top-level column (found by field id) in a row
// group, converted to the field's Paimon type; ok is false when the file has no usable
// statistics for it (nested, INT96, floats holding NaN, missing). The field's type may be
// a widening of the type the file was written with (schema evolution): the values are read
// by the file's own annotations (timestamp unit, decimal scale) and converted exactly, or
// reported as unknown.
func (p *ParquetFile) RowGroupStats(rg int, f types.DataField) (RowGroupStat, bool) {
	top := p.ColumnIndex(f)
	if top < 0 || f.Type.IsNested() {
		return RowGroupStat{}, false
	}
	sf := p.fr.Manifest.Fields[top]
	if !sf.IsLeaf() {
		return RowGroupStat{}, false
	}
	cc, err := p.rdr.MetaData().RowGroup(rg).ColumnChunk(sf.ColIndex)
	if err != nil {
		return RowGroupStat{}, false
	}
	if set, err := cc.StatsSet(); err != nil || !set {
		return RowGroupStat{}, false
	}
	st, err := cc.Statistics()
	if err != nil || st == nil {
		return RowGroupStat{}, false
	}
	out := RowGroupStat{NullCount: -1}
	if st.HasNullCount() {
		out.NullCount = st.NullCount()
	}
	if !st.HasMinMax() {
		return out, true
	}
	lo, hi, ok := statValues(st, p.rdr.MetaData().Schema.Column(sf.ColIndex).LogicalType(), f.Type)
	if ok {
		out.Min, out.Max = lo, hi
	}
	return out, true
}

func statValues(st metadata.TypedStatistics, logical schema.LogicalType, t types.DataType) (any, any, bool) {
	// Decimals need the file's scale to be the type's; timestamps and dates need their
	// annotation (the unit comes from the file, not from the type's precision).
	dec, isDec := logical.(schema.DecimalLogicalType)
	if t.Root == types.Decimal && (!isDec || int(dec.Scale()) != t.Scale) {
		return nil, nil, false
	}
	if t.Root != types.Decimal && isDec {
		return nil, nil, false
	}
	if _, isDate := logical.(schema.DateLogicalType); isDate != (t.Root == types.Date) {
		return nil, nil, false
	}
	switch s := st.(type) {
	case *metadata.BooleanStatistics:
		if t.Root == types.Boolean {
			return s.Min(), s.Max(), true
		}
	case *metadata.Int32Statistics:
		lo, hi := s.Min(), s.Max()
		switch t.Root {
		case types.TinyInt:
			return int8(lo), int8(hi), true
		case types.SmallInt:
			return int16(lo), int16(hi), true
		case types.Int:
			return lo, hi, true
		case types.BigInt:
			return int64(lo), int64(hi), true
		case types.Date:
			return binaryrow.Date(lo), binaryrow.Date(hi), true
		case types.Time:
			return binaryrow.Time(lo), binaryrow.Time(hi), true
		case types.Decimal:
			return binaryrow.Decimal{Unscaled: big.NewInt(int64(lo)), Scale: t.Scale}, binaryrow.Decimal{Unscaled: big.NewInt(int64(hi)), Scale: t.Scale}, true
		}
	case *metadata.Int64Statistics:
		lo, hi := s.Min(), s.Max()
		switch t.Root {
		case types.BigInt:
			return lo, hi, true
		case types.Decimal:
			return binaryrow.Decimal{Unscaled: big.NewInt(lo), Scale: t.Scale}, binaryrow.Decimal{Unscaled: big.NewInt(hi), Scale: t.Scale}, true
		case types.Timestamp, types.LocalZonedTimestamp:
			ts, ok := logical.(schema.TimestampLogicalType)
			if !ok {
				return nil, nil, false
			}
			var unit arrow.TimeUnit
			switch ts.TimeUnit() {
			case schema.TimeUnitMillis:
				unit = arrow.Millisecond
			case schema.TimeUnitMicros:
				unit = arrow.Microsecond
			case schema.TimeUnitNanos:
				unit = arrow.Nanosecond
			default:
				return nil, nil, false
			}
			return TimestampOf(lo, unit), TimestampOf(hi, unit), true
		}
	case *metadata.Float32Statistics:
		lo, hi := s.Min(), s.Max()
		if math.IsNaN(float64(lo)) || math.IsNaN(float64(hi)) {
			break
		}
		switch t.Root {
		case types.Float:
			return lo, hi, true
		case types.Double:
			return float64(lo), float64(hi), true
		}
	case *metadata.Float64Statistics:
		lo, hi := s.Min(), s.Max()
		if t.Root == types.Double && !math.IsNaN(lo) && !math.IsNaN(hi) {
			return lo, hi, true
		}
	case *metadata.ByteArrayStatistics:
		lo, hi := s.Min(), s.Max()
		switch t.Root {
		case types.Char, types.VarChar:
			return string(lo), string(hi), true
		case types.Binary, types.VarBinary:
			return []byte(lo), []byte(hi), true
		}
	case *metadata.FixedLenByteArrayStatistics:
		if t.Root == types.Decimal {
			lo, hi := s.Min(), s.Max()
			return binaryrow.Decimal{Unscaled: twosComplement(lo), Scale: t.Scale}, binaryrow.Decimal{Unscaled: twosComplement(hi), Scale: t.Scale}, true
		}
	}
	return nil, nil, false
}

func twosComplement(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// RowGroupFilter decides from a row group's statistics whether it may hold matching rows.
type RowGroupFilter func(rowCount int64, stats func(f types.DataField) (RowGroupStat, bool)) bool

// SelectRowGroups returns the row groups keep accepts (nil: all, when none is pruned).
func (p *ParquetFile) SelectRowGroups(keep RowGroupFilter) []int {
	n := p.rdr.NumRowGroups()
	var out []int
	for rg := 0; rg < n; rg++ {
		rows := p.rdr.MetaData().RowGroup(rg).NumRows()
		if keep(rows, func(f types.DataField) (RowGroupStat, bool) { return p.RowGroupStats(rg, f) }) {
			out = append(out, rg)
		}
	}
	if len(out) == n {
		return nil
	}
	if out == nil {
		out = []int{}
	}
	return out
}

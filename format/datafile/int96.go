package datafile

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// int96Column reads a top-level INT96 timestamp column itself. Paimon writes TIMESTAMP(7..9)
// as INT96 (ParquetSchemaConverter) computing the nanoseconds of the day with Java's
// remainder, which is negative before 1970 (ParquetRowDataWriter.timestampToInt96); its
// reader adds them back as a signed value. Arrow's INT96 conversion rejects such values,
// so Tarn decodes INT96 as Paimon does: (julianDay - 2440588) days + signed nanos.
type int96Column struct {
	rdr       *file.Reader
	col       int
	rowGroups []int
	rg        int
	cur       *file.Int96ColumnChunkReader
	maxDef    int16
	unit      arrow.TimeUnit
	tz        string
	values    []parquet.Int96
	defs      []int16
}

const julianEpochDay = 2440588

// Int96Nanos converts an INT96 value to nanoseconds since the epoch, as Paimon reads it;
// ok is false when the instant lies outside what int64 nanoseconds hold (1677-09-21 to
// 2262-04-11), the range of Arrow's nanosecond timestamps.
func Int96Nanos(v parquet.Int96) (ns int64, ok bool) {
	nanos := int64(binary.LittleEndian.Uint64(v[:8]))
	day := int64(binary.LittleEndian.Uint32(v[8:])) - julianEpochDay
	const perDay = 86_400_000_000_000
	if day > math.MaxInt64/perDay-1 || day < math.MinInt64/perDay+1 {
		return 0, false
	}
	base := day * perDay
	if (nanos > 0 && base > math.MaxInt64-nanos) || (nanos < 0 && base < math.MinInt64-nanos) {
		return 0, false
	}
	return base + nanos, true
}

func newInt96Column(rdr *file.Reader, col int, rowGroups []int, want *arrow.TimestampType) *int96Column {
	return &int96Column{rdr: rdr, col: col, rowGroups: rowGroups, maxDef: rdr.MetaData().Schema.Column(col).MaxDefinitionLevel(), unit: want.Unit, tz: want.TimeZone}
}

// read returns the next n values as a timestamp array.
func (c *int96Column) read(n int, mem memory.Allocator) (arrow.Array, error) {
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: c.unit, TimeZone: c.tz})
	defer b.Release()
	b.Reserve(n)
	for remaining := n; remaining > 0; {
		if c.cur == nil || !c.cur.HasNext() {
			if c.rg >= len(c.rowGroups) {
				return nil, fmt.Errorf("INT96 column %d ended %d rows early", c.col, remaining)
			}
			rgr := c.rdr.RowGroup(c.rowGroups[c.rg])
			c.rg++
			cr, err := rgr.Column(c.col)
			if err != nil {
				return nil, err
			}
			ir, ok := cr.(*file.Int96ColumnChunkReader)
			if !ok {
				return nil, fmt.Errorf("column %d is not INT96", c.col)
			}
			c.cur = ir
			continue
		}
		if cap(c.values) < remaining {
			c.values = make([]parquet.Int96, remaining)
			c.defs = make([]int16, remaining)
		}
		var defs []int16
		if c.maxDef > 0 {
			defs = c.defs[:remaining]
		}
		total, valuesRead, err := c.cur.ReadBatch(int64(remaining), c.values[:remaining], defs, nil)
		if err != nil {
			return nil, err
		}
		if total == 0 {
			c.cur = nil
			continue
		}
		v := 0
		for i := 0; i < int(total); i++ {
			if c.maxDef > 0 && defs[i] < c.maxDef {
				b.UnsafeAppendBoolToBitmap(false)
				continue
			}
			ns, ok := Int96Nanos(c.values[v])
			if !ok {
				return nil, fmt.Errorf("timestamp %s is outside the range of nanosecond timestamps (1677-09-21..2262-04-11)", c.values[v])
			}
			v++
			switch c.unit {
			case arrow.Millisecond:
				ns = floorDiv(ns, 1_000_000)
			case arrow.Microsecond:
				ns = floorDiv(ns, 1_000)
			case arrow.Second:
				ns = floorDiv(ns, 1_000_000_000)
			}
			b.UnsafeAppend(arrow.Timestamp(ns))
		}
		_ = valuesRead
		remaining -= int(total)
	}
	return b.NewArray(), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

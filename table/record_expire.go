package table

import (
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// recordExpiry is Paimon's record-level expiration (RecordLevelExpire): compactions of a
// primary-key table drop the records whose record-level.time-field (INT seconds, BIGINT
// seconds or milliseconds, TIMESTAMP) is older than record-level.expire-time; records with
// a null time stay. Reads between compactions still see them.
type recordExpiry struct {
	expire  time.Duration
	field   int // index among the value fields
	fieldID int
	typ     types.DataType
}

// parseRecordExpiry reads the options; nil when record-level.expire-time is unset.
func parseRecordExpiry(o format.Options, fields []types.DataField) (*recordExpiry, error) {
	v, ok := o.Get("record-level.expire-time")
	if !ok {
		return nil, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("option record-level.expire-time: %w", err)
	}
	name, _ := o.Get("record-level.time-field")
	if name == "" {
		return nil, fmt.Errorf("option record-level.expire-time needs record-level.time-field, the column records are dated by")
	}
	i := types.FieldByName(fields, name)
	if i < 0 {
		return nil, fmt.Errorf("option record-level.time-field: %q is not a column", name)
	}
	switch fields[i].Type.Root {
	case types.Int, types.BigInt, types.Timestamp, types.LocalZonedTimestamp:
	default:
		return nil, fmt.Errorf("option record-level.time-field: column %s is %s; want INT, BIGINT or TIMESTAMP", name, fields[i].Type)
	}
	return &recordExpiry{expire: d, field: i, fieldID: fields[i].ID, typ: fields[i].Type}, nil
}

// ValidateRecordExpiry checks the record-level expiration options against the columns.
func ValidateRecordExpiry(o format.Options, fields []types.DataField) error {
	_, err := parseRecordExpiry(o, fields)
	return err
}

// cutoff is the oldest time, in seconds, a record keeps at now (Unix seconds): Paimon keeps
// it while now <= time + expire.
func (e *recordExpiry) cutoff(now int64) int64 { return now - int64(e.expire/time.Second) }

// seconds converts a time value to Paimon's seconds (BIGINT of 10^12 or more is
// milliseconds).
func (e *recordExpiry) seconds(v int64) int64 {
	if e.typ.Root == types.BigInt && v >= 1_000_000_000_000 {
		return v / 1000
	}
	return v
}

// expiredFile reports whether a file's oldest time (its value statistics, read through
// the file's own schema by field id) has expired, so that a full compaction rewrites it
// even alone on the top level (pickFullCompaction).
func (e *recordExpiry) expiredFile(f *manifest.DataFileMeta, fileSchema *format.TableSchema, now time.Time) bool {
	fi := types.FieldByID(fileSchema.Fields, e.fieldID)
	if fi < 0 || fileSchema.Fields[fi].Type.Root != e.typ.Root {
		return false
	}
	// The column's place in the statistics: its place in the schema, or among the
	// columns dense statistics kept.
	i, arity := fi, len(fileSchema.Fields)
	if f.ValueStatsCols != nil {
		i, arity = slices.Index(f.ValueStatsCols, fileSchema.Fields[fi].Name), len(f.ValueStatsCols)
		if i < 0 {
			return false
		}
	}
	row, err := binaryrow.Deserialize(f.ValueStats.MinValues)
	if err != nil || row.Arity() != arity || row.IsNullAt(i) {
		return false
	}
	var sec int64
	switch e.typ.Root {
	case types.Int:
		sec = int64(row.GetInt(i))
	case types.BigInt:
		sec = e.seconds(row.GetLong(i))
	default:
		ts, err := row.GetTimestamp(i, fileSchema.Fields[fi].Type.Precision)
		if err != nil {
			return false
		}
		sec = ts.Millis / 1000
	}
	return sec < e.cutoff(now.Unix())
}

// expireRecords drops the expired records of a compaction's input (key-value layout: the
// time field is column col); now is in seconds.
func (e *recordExpiry) expireRecords(in datafile.BatchReader, col int, now int64, mem memory.Allocator) datafile.BatchReader {
	limit := e.cutoff(now)
	return &maskFilter{in: in, keep: func(b arrow.RecordBatch) *array.Boolean {
		c := b.Column(col)
		n := c.Len()
		keep := array.NewBooleanBuilder(mem)
		defer keep.Release()
		keep.Reserve(n)
		dropped := false
		for i := 0; i < n; i++ {
			ok := true
			if c.IsValid(i) {
				var sec int64
				switch a := c.(type) {
				case *array.Int32:
					sec = int64(a.Value(i))
				case *array.Int64:
					sec = e.seconds(a.Value(i))
				case *array.Timestamp:
					sec = timestampSeconds(int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit)
				}
				ok = sec >= limit
			}
			dropped = dropped || !ok
			keep.UnsafeAppend(ok)
		}
		if !dropped {
			return nil
		}
		return keep.NewBooleanArray()
	}}
}

// timestampSeconds is a timestamp's milliseconds divided by 1000, as Paimon's
// getMillisecond() / 1000.
func timestampSeconds(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v
	case arrow.Millisecond:
		return v / 1000
	case arrow.Microsecond:
		return v / 1_000_000
	}
	return v / 1_000_000_000
}

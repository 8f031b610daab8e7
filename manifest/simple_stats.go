package manifest

// SimpleStats holds the statistics of some columns as Paimon stores them
// (org.apache.paimon.stats.SimpleStats): the minimum and maximum values, each
// a serialized BinaryRow, and the null count of every column.
type SimpleStats struct {
	// MinValues is a serialized BinaryRow of the columns' minimum values.
	MinValues []byte
	// MaxValues is a serialized BinaryRow of the columns' maximum values.
	MaxValues []byte
	// NullCounts holds one entry per column; a nil entry is an unknown count
	// (Paimon's nullable BIGINT element). A nil slice is a null array, which
	// Paimon never writes; an empty slice is an empty array.
	NullCounts []*int64
}

// simpleStatsRecord mirrors SimpleStats.SCHEMA.
var simpleStatsRecord = newRecord(nil,
	bytesField("_MIN_VALUES", func(s *SimpleStats) *[]byte { return &s.MinValues }),
	bytesField("_MAX_VALUES", func(s *SimpleStats) *[]byte { return &s.MaxValues }),
	nullCountsField("_NULL_COUNTS", func(s *SimpleStats) *[]*int64 { return &s.NullCounts }),
)

// nullCountsField is Paimon's ArrayType(BigIntType(true)): a nullable array of
// nullable longs. The decoded counts share one backing array per Avro block.
func nullCountsField[T any](name string, get func(*T) *[]*int64) field[T] {
	return field[T]{
		name:     name,
		nullable: true,
		avro: func(string, *Layout) *avroSchema {
			return &avroSchema{kind: kindArray, items: &avroSchema{kind: kindUnion, branches: []*avroSchema{{kind: kindNull}, {kind: kindLong}}}}
		},
		bind: func(w *avroSchema) (decodeFunc[T], error) {
			r, err := optional(w, readNullCounts)
			if err != nil {
				return nil, err
			}
			return func(d *decoder, v *T) {
				if x, ok := r(d); ok {
					*get(v) = x
				}
			}, nil
		},
		encode: func(e *encoder, v *T, _ *Layout) {
			xs := *get(v)
			e.arrayStart(len(xs))
			for _, x := range xs {
				if x == nil {
					e.index(0)
					continue
				}
				e.index(1)
				e.long(*x)
			}
			e.arrayEnd()
		},
		isNull: func(v *T) bool { return *get(v) == nil },
	}
}

func readNullCounts(w *avroSchema) (func(d *decoder) []*int64, error) {
	if w.kind != kindArray {
		return nil, mismatch(w, "array")
	}
	item, err := optional(w.items, readLong)
	if err != nil {
		return nil, err
	}
	size := minSize(w.items)
	if size == 0 {
		return nil, mismatch(w.items, "long")
	}
	return func(d *decoder) []*int64 {
		out := []*int64{}
		for d.err == nil {
			n, _ := d.blockCount(size)
			if n == 0 {
				break
			}
			ptrs := d.arena.int64Ptr.slice(n)
			values := d.arena.int64s.slice(n)
			for i := range values {
				if x, ok := item(d); ok {
					values[i] = x
					ptrs[i] = &values[i]
				}
			}
			if len(out) == 0 {
				out = ptrs
			} else {
				out = append(out, ptrs...)
			}
		}
		return out
	}, nil
}

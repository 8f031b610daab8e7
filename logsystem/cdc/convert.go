package cdc

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
)

// PaimonType maps a source column type to the Paimon type a new column gets (nullable;
// primary key columns are made NOT NULL by the catalog). sample is a value of the column,
// used when the message carries no types (Maxwell).
func PaimonType(t SourceType, sample Value) types.DataType {
	if t.Connect != "" {
		return connectType(t)
	}
	if t.MySQL != "" {
		return mysqlType(t.MySQL)
	}
	switch sample.Kind() {
	case Bool:
		return types.BooleanType()
	case Number:
		if strings.ContainsAny(string(sample.Raw()), ".eE") {
			return types.DoubleType()
		}
		return types.BigIntType()
	}
	return types.StringType()
}

func connectType(t SourceType) types.DataType {
	switch t.Name {
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		return types.DateType()
	case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "org.apache.kafka.connect.data.Time":
		return types.TimeType(3)
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		return types.TimestampType(3)
	case "io.debezium.time.MicroTimestamp":
		return types.TimestampType(6)
	case "io.debezium.time.NanoTimestamp":
		return types.TimestampType(9)
	case "io.debezium.time.ZonedTimestamp":
		return types.LocalZonedTimestampType(6)
	case "org.apache.kafka.connect.data.Decimal":
		p := t.Precision
		if p <= 0 || p > 38 {
			p = 38
		}
		return types.DecimalType(p, min(t.Scale, p))
	}
	switch t.Connect {
	case "boolean":
		return types.BooleanType()
	case "int8":
		return types.TinyIntType()
	case "int16":
		return types.SmallIntType()
	case "int32":
		return types.IntType()
	case "int64":
		return types.BigIntType()
	case "float", "float32":
		return types.FloatType()
	case "double", "float64":
		return types.DoubleType()
	case "bytes":
		return types.BytesType()
	}
	return types.StringType()
}

func mysqlType(s string) types.DataType {
	s = strings.ToLower(strings.TrimSpace(s))
	base, args := s, ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		base = s[:i]
		if j := strings.IndexByte(s[i:], ')'); j > 0 {
			args = s[i+1 : i+j]
		}
	}
	base = strings.TrimSpace(base)
	if strings.HasPrefix(base, "double precision") {
		base = "double"
	} else if k := strings.IndexByte(base, ' '); k > 0 {
		base = base[:k]
	}
	unsigned := strings.Contains(s, "unsigned")
	a1, a2, _ := strings.Cut(args, ",")
	a1, a2 = strings.TrimSpace(a1), strings.TrimSpace(a2)
	n1, _ := strconv.Atoi(a1)
	n2, _ := strconv.Atoi(a2)
	switch base {
	case "tinyint":
		if a1 == "1" {
			return types.BooleanType()
		}
		if unsigned {
			return types.SmallIntType()
		}
		return types.TinyIntType()
	case "smallint":
		if unsigned {
			return types.IntType()
		}
		return types.SmallIntType()
	case "mediumint", "int", "integer":
		if unsigned {
			return types.BigIntType()
		}
		return types.IntType()
	case "bigint":
		if unsigned {
			return types.DecimalType(20, 0)
		}
		return types.BigIntType()
	case "float":
		return types.FloatType()
	case "double", "real", "double precision":
		return types.DoubleType()
	case "decimal", "numeric", "dec", "fixed":
		p := n1
		if p == 0 {
			p = 10
		}
		return types.DecimalType(min(p, 38), min(n2, 38))
	case "bit":
		if n1 <= 1 {
			return types.BooleanType()
		}
		return types.BytesType()
	case "bool", "boolean":
		return types.BooleanType()
	case "date":
		return types.DateType()
	case "time":
		return types.TimeType(3)
	case "datetime":
		return types.TimestampType(max(n1, 0))
	case "timestamp":
		return types.LocalZonedTimestampType(max(n1, 0))
	case "year":
		return types.IntType()
	case "binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob":
		return types.BytesType()
	}
	return types.StringType()
}

// Batcher converts message rows into Arrow batches of a table's columns plus _ROW_KIND.
// A message's rows are appended whole or not at all.
type Batcher struct {
	fields  []types.DataField
	index   map[string]int
	schema  *arrow.Schema
	rb      *array.RecordBuilder
	kinds   *array.Int8Builder
	setters []setter
	cells   []cell
	rows    int
	// Unknown counts values of columns the table lacks, by column name.
	Unknown map[string]int64
}

// cell is one converted value.
type cell struct {
	null bool
	i    int64
	f    float64
	b    []byte
	d    decimal128.Num
}

type setter struct {
	convert func(v Value, hint SourceType, c *cell) error
	append  func(c *cell)
}

// NewBatcher converts rows into batches of the given fields.
func NewBatcher(fields []types.DataField, mem memory.Allocator) (*Batcher, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	af, err := types.ArrowFields(fields)
	if err != nil {
		return nil, err
	}
	af = append(af, arrow.Field{Name: render.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	schema := arrow.NewSchema(af, nil)
	bt := &Batcher{fields: fields, index: map[string]int{}, schema: schema, rb: array.NewRecordBuilder(mem, schema), Unknown: map[string]int64{}}
	bt.kinds = bt.rb.Field(len(fields)).(*array.Int8Builder)
	for i, f := range fields {
		bt.index[f.Name] = i
		s, err := newSetter(bt.rb.Field(i), f.Type)
		if err != nil {
			bt.rb.Release()
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		bt.setters = append(bt.setters, s)
	}
	return bt, nil
}

// Rows is the number of rows appended since the last NewBatch.
func (bt *Batcher) Rows() int { return bt.rows }

// Append converts a message's rows. On error nothing of the message is kept.
func (bt *Batcher) Append(m *Message) error {
	n := len(bt.fields)
	need := n * len(m.Rows)
	if cap(bt.cells) < need {
		bt.cells = make([]cell, need)
	}
	cells := bt.cells[:need]
	for r := range m.Rows {
		row := &m.Rows[r]
		rc := cells[r*n : (r+1)*n]
		for j := range rc {
			rc[j] = cell{null: true}
		}
		var err error
		conv := func(name string, v Value) {
			if err != nil {
				return
			}
			j, ok := bt.index[name]
			if !ok {
				bt.Unknown[name]++
				return
			}
			if v.IsNull() {
				return
			}
			rc[j].null = false
			if e := bt.setters[j].convert(v, m.Types[name], &rc[j]); e != nil {
				err = fmt.Errorf("%w: column %q: %w", ErrMalformed, name, e)
			}
		}
		row.Values.Each(conv)
		if row.Old.Exists() {
			row.Old.Each(func(name string, v Value) {
				if j, ok := bt.index[name]; ok {
					rc[j] = cell{null: true}
				}
				conv(name, v)
			})
		}
		if err != nil {
			return err
		}
		for j, f := range bt.fields {
			if rc[j].null && !f.Type.Nullable {
				return fmt.Errorf("%w: column %q is NOT NULL but the %s row has no value for it", ErrMalformed, f.Name, datafile.KindString(row.Kind))
			}
		}
	}
	for r := range m.Rows {
		rc := cells[r*n : (r+1)*n]
		for j := range rc {
			if rc[j].null {
				bt.rb.Field(j).AppendNull()
			} else {
				bt.setters[j].append(&rc[j])
			}
		}
		bt.kinds.Append(m.Rows[r].Kind)
		bt.rows++
	}
	return nil
}

// NewBatch returns the rows appended so far (nil if none).
func (bt *Batcher) NewBatch() arrow.RecordBatch {
	if bt.rows == 0 {
		return nil
	}
	bt.rows = 0
	return bt.rb.NewRecordBatch()
}

// Release frees the builders.
func (bt *Batcher) Release() { bt.rb.Release() }

func numberText(v Value) (string, error) {
	switch v.Kind() {
	case Number:
		return unsafeString(v.Raw()), nil
	case String:
		return strings.TrimSpace(v.Str()), nil
	case Bool:
		if v.Str() == "true" {
			return "1", nil
		}
		return "0", nil
	}
	return "", fmt.Errorf("%s is not a number", v.Text())
}

func newSetter(b array.Builder, t types.DataType) (setter, error) {
	intConv := func(bits int) func(v Value, _ SourceType, c *cell) error {
		return func(v Value, _ SourceType, c *cell) error {
			s, err := numberText(v)
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
					return fmt.Errorf("%q is not an integer of %d bits", s, bits)
				}
				n = int64(f)
			}
			c.i = n
			return nil
		}
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		return setter{func(v Value, _ SourceType, c *cell) error {
			switch s := strings.ToLower(strings.TrimSpace(v.Str())); s {
			case "true", "1", "t", "y", "yes":
				c.i = 1
			case "false", "0", "f", "n", "no":
				c.i = 0
			default:
				return fmt.Errorf("%q is not a boolean", s)
			}
			return nil
		}, func(c *cell) { bb.Append(c.i != 0) }}, nil
	case *array.Int8Builder:
		return setter{intConv(8), func(c *cell) { bb.Append(int8(c.i)) }}, nil
	case *array.Int16Builder:
		return setter{intConv(16), func(c *cell) { bb.Append(int16(c.i)) }}, nil
	case *array.Int32Builder:
		return setter{intConv(32), func(c *cell) { bb.Append(int32(c.i)) }}, nil
	case *array.Int64Builder:
		return setter{intConv(64), func(c *cell) { bb.Append(c.i) }}, nil
	case *array.Float32Builder, *array.Float64Builder:
		conv := func(v Value, _ SourceType, c *cell) error {
			s, err := numberText(v)
			if err != nil {
				return err
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				switch strings.ToLower(s) {
				case "nan":
					f = math.NaN()
				case "infinity", "inf":
					f = math.Inf(1)
				case "-infinity", "-inf":
					f = math.Inf(-1)
				default:
					return fmt.Errorf("%q is not a number", s)
				}
			}
			c.f = f
			return nil
		}
		if fb, ok := bb.(*array.Float32Builder); ok {
			return setter{conv, func(c *cell) { fb.Append(float32(c.f)) }}, nil
		}
		fb := bb.(*array.Float64Builder)
		return setter{conv, func(c *cell) { fb.Append(c.f) }}, nil
	case *array.Decimal128Builder:
		return setter{func(v Value, hint SourceType, c *cell) error {
			if v.Kind() == String && hint.Name == "org.apache.kafka.connect.data.Decimal" {
				raw, err := base64.StdEncoding.DecodeString(v.Str())
				if err != nil {
					return fmt.Errorf("decimal %q is not base64: %w", v.Str(), err)
				}
				u := twosComplement(raw)
				if hint.Scale != t.Scale {
					u = rescale(u, hint.Scale, t.Scale)
				}
				if u.BitLen() > 126 {
					return fmt.Errorf("decimal out of range")
				}
				c.d = decimal128.FromBigInt(u)
				return nil
			}
			s, err := numberText(v)
			if err != nil {
				return err
			}
			if n, ok := parseDecimalFast(s, t.Precision, t.Scale); ok {
				c.d = decimal128.FromI64(n)
				return nil
			}
			d, err := render.ParseDecimal(s, t.Precision, t.Scale)
			if err != nil {
				return err
			}
			c.d = d
			return nil
		}, func(c *cell) { bb.Append(c.d) }}, nil
	case *array.StringBuilder:
		return setter{func(v Value, _ SourceType, c *cell) error {
			// The bytes stay valid until the message is appended (the same Append call).
			switch v.Kind() {
			case String:
				c.b = unsafeBytes(v.Str())
			case Object, Array:
				c.b = []byte(v.Text())
			default:
				c.b = v.Raw()
			}
			return nil
		}, func(c *cell) { bb.BinaryBuilder.Append(c.b) }}, nil
	case *array.BinaryBuilder:
		return setter{func(v Value, hint SourceType, c *cell) error {
			if v.Kind() != String {
				c.b = v.Raw()
				return nil
			}
			if hint.Connect == "bytes" {
				raw, err := base64.StdEncoding.DecodeString(v.Str())
				if err != nil {
					return fmt.Errorf("bytes %q are not base64: %w", v.Str(), err)
				}
				c.b = raw
				return nil
			}
			c.b = unsafeBytes(v.Str())
			return nil
		}, func(c *cell) { bb.Append(c.b) }}, nil
	case *array.Date32Builder:
		return setter{func(v Value, hint SourceType, c *cell) error {
			if v.Kind() == Number {
				n, err := strconv.ParseInt(unsafeString(v.Raw()), 10, 64)
				if err != nil {
					return err
				}
				c.i = n
				return nil
			}
			s := strings.TrimSpace(v.Str())
			if len(s) > 10 {
				s = s[:10]
			}
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				return fmt.Errorf("%q is not a date", v.Str())
			}
			c.i = d.Unix() / 86400
			return nil
		}, func(c *cell) { bb.Append(arrow.Date32(c.i)) }}, nil
	case *array.Time32Builder:
		return setter{func(v Value, hint SourceType, c *cell) error {
			if v.Kind() == Number {
				n, err := strconv.ParseInt(unsafeString(v.Raw()), 10, 64)
				if err != nil {
					return err
				}
				switch hint.Name {
				case "io.debezium.time.MicroTime":
					n /= 1000
				case "io.debezium.time.NanoTime":
					n /= 1_000_000
				case "":
					if t.Precision > 3 {
						n /= 1000 // Debezium's MicroTime for TIME(4..6)
					}
				}
				c.i = n
				return nil
			}
			tm, err := time.Parse("15:04:05.999999999", strings.TrimSpace(v.Str()))
			if err != nil {
				return fmt.Errorf("%q is not a time", v.Str())
			}
			c.i = int64(tm.Hour()*3600_000 + tm.Minute()*60_000 + tm.Second()*1000 + tm.Nanosecond()/1_000_000)
			return nil
		}, func(c *cell) { bb.Append(arrow.Time32(c.i)) }}, nil
	case *array.TimestampBuilder:
		unit := bb.Type().(*arrow.TimestampType).Unit
		return setter{func(v Value, hint SourceType, c *cell) error {
			var ns int64
			if v.Kind() == Number {
				n, err := strconv.ParseInt(unsafeString(v.Raw()), 10, 64)
				if err != nil {
					return err
				}
				switch hint.Name {
				case "io.debezium.time.MicroTimestamp":
					ns = n * 1000
				case "io.debezium.time.NanoTimestamp":
					ns = n
				case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
					ns = n * 1_000_000
				default:
					// No schema: Debezium's unit for the column's precision (Timestamp up
					// to 3 digits, MicroTimestamp up to 6, NanoTimestamp beyond).
					switch {
					case t.Precision <= 3:
						ns = n * 1_000_000
					case t.Precision <= 6:
						ns = n * 1000
					default:
						ns = n
					}
				}
			} else {
				ts, err := parseTimestamp(strings.TrimSpace(v.Str()))
				if err != nil {
					return err
				}
				ns = ts.UnixNano()
			}
			switch unit {
			case arrow.Millisecond:
				c.i = floorDiv(ns, 1_000_000)
			case arrow.Microsecond:
				c.i = floorDiv(ns, 1000)
			case arrow.Second:
				c.i = floorDiv(ns, 1_000_000_000)
			default:
				c.i = ns
			}
			return nil
		}, func(c *cell) { bb.Append(arrow.Timestamp(c.i)) }}, nil
	}
	return setter{}, fmt.Errorf("type %s cannot be ingested from CDC messages", t)
}

// parseDecimalFast parses a plain decimal ("-12.5") of at most 18 digits whose fraction
// fits the scale into its unscaled value; other forms are left to render.ParseDecimal.
func parseDecimalFast(s string, precision, scale int) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	digits, frac := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 0 && c == '0' && frac < 0 {
				continue // leading zeros
			}
			n = n*10 + int64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if len(s) == 0 || frac > scale {
		return 0, false
	}
	frac = max(frac, 0)
	for ; frac < scale; frac++ {
		n *= 10
		digits++
	}
	if digits > 18 || digits > precision {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02",
}

// parseTimestamp parses MySQL-style and ISO-8601 timestamps; those without a zone are UTC.
func parseTimestamp(s string) (time.Time, error) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
}

// twosComplement decodes big-endian two's complement bytes.
func twosComplement(b []byte) *big.Int {
	u := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return u
}

func rescale(u *big.Int, from, to int) *big.Int {
	if to > from {
		return new(big.Int).Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to-from)), nil))
	}
	q := new(big.Int)
	q.Quo(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(from-to)), nil))
	return q
}

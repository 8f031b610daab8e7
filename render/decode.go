package render

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// RowKindColumn is the optional column of row kinds in JSON Lines and CSV input.
const RowKindColumn = "_ROW_KIND"

// RowReader reads rows of text (JSON Lines or CSV) into Arrow batches of the given fields,
// plus a trailing _ROW_KIND string column.
type RowReader struct {
	fields  []types.DataField
	schema  *arrow.Schema
	mem     memory.Allocator
	next    func() (map[string]any, int, error) // row values by column, line number
	batch   int
	line    int
	hasKind bool
}

// NewJSONLReader reads canonical JSON Lines (docs/compat.md): one object per line,
// values in the canonical forms; missing keys are null.
func NewJSONLReader(r io.Reader, fields []types.DataField, batchRows int) (*RowReader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	rr, err := newRowReader(fields, batchRows)
	if err != nil {
		return nil, err
	}
	rr.next = func() (map[string]any, int, error) {
		for sc.Scan() {
			line++
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, line, fmt.Errorf("line %d: not a JSON object: %v", line, err)
			}
			return m, line, nil
		}
		if err := sc.Err(); err != nil {
			return nil, line, err
		}
		return nil, line, io.EOF
	}
	return rr, nil
}

func newRowReader(fields []types.DataField, batchRows int) (*RowReader, error) {
	af, err := types.ArrowFields(fields)
	if err != nil {
		return nil, err
	}
	af = append(af, arrow.Field{Name: RowKindColumn, Type: arrow.BinaryTypes.String, Nullable: true})
	if batchRows <= 0 {
		batchRows = 64 * 1024
	}
	return &RowReader{fields: fields, schema: arrow.NewSchema(af, nil), mem: memory.DefaultAllocator, batch: batchRows}, nil
}

// Schema is the schema of the batches.
func (r *RowReader) Schema() *arrow.Schema { return r.schema }

// Next reads up to the batch size of rows; io.EOF when none are left.
func (r *RowReader) Next() (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(r.mem, r.schema)
	defer b.Release()
	n := 0
	known := map[string]bool{RowKindColumn: true}
	for _, f := range r.fields {
		known[f.Name] = true
	}
	for n < r.batch {
		m, line, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for k := range m {
			if !known[k] {
				return nil, fmt.Errorf("line %d: unknown column %q", line, k)
			}
		}
		for i, f := range r.fields {
			if err := appendJSONValue(b.Field(i), m[f.Name], f.Type); err != nil {
				return nil, fmt.Errorf("line %d: column %q: %w", line, f.Name, err)
			}
		}
		kb := b.Field(len(r.fields)).(*array.StringBuilder)
		switch k := m[RowKindColumn].(type) {
		case nil:
			kb.AppendNull()
		case string:
			kb.Append(k)
		default:
			return nil, fmt.Errorf("line %d: %s must be a string like \"+I\"", line, RowKindColumn)
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	return b.NewRecordBatch(), nil
}

// appendJSONValue appends one decoded JSON value in canonical form.
func appendJSONValue(b array.Builder, v any, t types.DataType) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("%v is not a valid %s", v, t) }
	str, isStr := v.(string)
	num, isNum := v.(json.Number)
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Int8Builder, *array.Int16Builder, *array.Int32Builder, *array.Int64Builder:
		if !isNum {
			return bad()
		}
		n, err := strconv.ParseInt(num.String(), 10, 64)
		if err != nil {
			return bad()
		}
		switch bb := b.(type) {
		case *array.Int8Builder:
			if n < math.MinInt8 || n > math.MaxInt8 {
				return bad()
			}
			bb.Append(int8(n))
		case *array.Int16Builder:
			if n < math.MinInt16 || n > math.MaxInt16 {
				return bad()
			}
			bb.Append(int16(n))
		case *array.Int32Builder:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad()
			}
			bb.Append(int32(n))
		case *array.Int64Builder:
			bb.Append(n)
		}
	case *array.Float32Builder, *array.Float64Builder:
		var f float64
		switch {
		case isNum:
			var err error
			if f, err = strconv.ParseFloat(num.String(), 64); err != nil {
				return bad()
			}
		case isStr && str == "NaN":
			f = math.NaN()
		case isStr && str == "Infinity":
			f = math.Inf(1)
		case isStr && str == "-Infinity":
			f = math.Inf(-1)
		default:
			return bad()
		}
		if fb, ok := b.(*array.Float32Builder); ok {
			fb.Append(float32(f))
		} else {
			b.(*array.Float64Builder).Append(f)
		}
	case *array.StringBuilder:
		if !isStr {
			return bad()
		}
		bb.Append(str)
	case *array.BinaryBuilder:
		if !isStr {
			return bad()
		}
		data, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return fmt.Errorf("binary values are base64: %v", err)
		}
		bb.Append(data)
	case *array.Decimal128Builder:
		s := str
		if isNum {
			s = num.String()
		} else if !isStr {
			return bad()
		}
		d, err := ParseDecimal(s, t.Precision, t.Scale)
		if err != nil {
			return err
		}
		bb.Append(d)
	case *array.Date32Builder:
		d, err := time.Parse("2006-01-02", str)
		if !isStr || err != nil {
			return bad()
		}
		bb.Append(arrow.Date32(d.Unix() / 86400))
	case *array.Time32Builder:
		d, err := time.Parse("15:04:05.999999999", str)
		if !isStr || err != nil {
			return bad()
		}
		bb.Append(arrow.Time32(d.Hour()*3600_000 + d.Minute()*60_000 + d.Second()*1000 + d.Nanosecond()/1e6))
	case *array.TimestampBuilder:
		if !isStr {
			return bad()
		}
		ts, err := ParseTimestamp(str)
		if err != nil {
			return bad()
		}
		unit := bb.Type().(*arrow.TimestampType).Unit
		switch unit {
		case arrow.Second:
			bb.Append(arrow.Timestamp(ts.Unix()))
		case arrow.Millisecond:
			bb.Append(arrow.Timestamp(ts.UnixMilli()))
		case arrow.Microsecond:
			bb.Append(arrow.Timestamp(ts.UnixMicro()))
		default:
			if ts.Before(minNanoTime) || ts.After(maxNanoTime) {
				return fmt.Errorf("%s is outside the range of nanosecond timestamps (1677-09-21..2262-04-11)", str)
			}
			bb.Append(arrow.Timestamp(ts.UnixNano()))
		}
	case *array.ListBuilder:
		xs, ok := v.([]any)
		if !ok {
			return bad()
		}
		bb.Append(true)
		for _, x := range xs {
			if err := appendJSONValue(bb.ValueBuilder(), x, *t.Elem); err != nil {
				return err
			}
		}
	case *array.FixedSizeListBuilder:
		xs, ok := v.([]any)
		if !ok || len(xs) != t.Length {
			return bad()
		}
		bb.Append(true)
		for _, x := range xs {
			if err := appendJSONValue(bb.ValueBuilder(), x, *t.Elem); err != nil {
				return err
			}
		}
	case *array.MapBuilder:
		pairs, ok := v.([]any)
		if !ok {
			return bad()
		}
		kt, vt := t.Key, t.Value
		if t.Root == types.Multiset {
			kt = t.Elem
			it := types.IntType().NotNull()
			vt = &it
		}
		bb.Append(true)
		for _, p := range pairs {
			kv, ok := p.([]any)
			if !ok || len(kv) != 2 {
				return fmt.Errorf("map entries are [key, value] pairs, got %v", p)
			}
			if err := appendJSONValue(bb.KeyBuilder(), kv[0], *kt); err != nil {
				return err
			}
			if err := appendJSONValue(bb.ItemBuilder(), kv[1], *vt); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		bb.Append(true)
		for i, f := range t.Fields {
			if err := appendJSONValue(bb.FieldBuilder(i), obj[f.Name], f.Type); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
	default:
		return fmt.Errorf("cannot read values of type %s", t)
	}
	return nil
}

var (
	minNanoTime = time.Unix(0, math.MinInt64).UTC()
	maxNanoTime = time.Unix(0, math.MaxInt64).UTC()
)

// ParseDecimal parses a plain decimal into an unscaled value at scale; more fraction
// digits than the scale, or more digits than the precision, is an error.
func ParseDecimal(s string, precision, scale int) (decimal128.Num, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(body, ".")
	if len(frac) > scale {
		if strings.Trim(frac[scale:], "0") != "" {
			return decimal128.Num{}, fmt.Errorf("%s has more than %d fraction digits", s, scale)
		}
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		digits = "0"
	}
	if len(digits) > precision && digits != "0" {
		return decimal128.Num{}, fmt.Errorf("%s does not fit DECIMAL(%d, %d)", s, precision, scale)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return decimal128.Num{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if neg {
		u.Neg(u)
	}
	return decimal128.FromBigInt(u), nil
}

// ParseTimestamp parses ISO-8601 timestamps with or without a zone ("Z" or an offset);
// a space may replace the T.
func ParseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
}

// NewCSVReader reads CSV with a header line naming the columns; values are in the text
// forms `tarn scan --format csv` prints (an empty field is null; ARRAY, MAP and ROW values
// are canonical JSON).
func NewCSVReader(r io.Reader, fields []types.DataField, batchRows int) (*RowReader, error) {
	cr := csvReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	byName := map[string]types.DataField{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	for _, h := range header {
		if _, ok := byName[h]; !ok && h != RowKindColumn {
			return nil, fmt.Errorf("csv header: unknown column %q", h)
		}
	}
	rr, err := newRowReader(fields, batchRows)
	if err != nil {
		return nil, err
	}
	line := 1
	rr.next = func() (map[string]any, int, error) {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			return nil, line, io.EOF
		}
		if err != nil {
			return nil, line, err
		}
		m := make(map[string]any, len(rec))
		for i, cell := range rec {
			name := header[i]
			if cell == "" {
				continue
			}
			if name == RowKindColumn {
				m[name] = cell
				continue
			}
			v, err := cellValue(cell, byName[name].Type)
			if err != nil {
				return nil, line, fmt.Errorf("line %d: column %q: %w", line, name, err)
			}
			m[name] = v
		}
		return m, line, nil
	}
	return rr, nil
}

func cellValue(cell string, t types.DataType) (any, error) {
	switch t.Root {
	case types.Char, types.VarChar, types.Date, types.Time, types.Timestamp, types.LocalZonedTimestamp,
		types.Binary, types.VarBinary, types.Decimal:
		return cell, nil
	case types.Boolean:
		b, err := strconv.ParseBool(cell)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", cell)
		}
		return b, nil
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double:
		if cell == "NaN" || cell == "Infinity" || cell == "-Infinity" {
			return cell, nil
		}
		return json.Number(strings.TrimSpace(cell)), nil
	}
	dec := json.NewDecoder(strings.NewReader(cell))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%q is not JSON: %v", cell, err)
	}
	return v, nil
}

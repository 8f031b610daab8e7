package merge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// testTable is a primary-key table for merge tests.
type testTable struct {
	fields []types.DataField
	pk     []string
	opts   map[string]string
}

func newTestTable(t testing.TB, columns string, pk []string, opts map[string]string) testTable {
	t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fields {
		fields[i].ID = i
	}
	return testTable{fields: fields, pk: pk, opts: opts}
}

func (tt testTable) keyFields() []types.DataField {
	var out []types.DataField
	for _, k := range tt.pk {
		out = append(out, tt.fields[types.FieldByName(tt.fields, k)])
	}
	return out
}

func (tt testTable) engine(t testing.TB) Engine {
	t.Helper()
	e, err := NewEngine(tt.fields, tt.pk, format.NewOptions(tt.opts))
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

// A test record is written "KIND SEQ {values as JSON}", e.g. `+I 3 {"k":1,"v":"a"}`.
func parseRecord(t testing.TB, s string) (kind int8, seq int64, values map[string]any) {
	t.Helper()
	parts := strings.SplitN(strings.TrimSpace(s), " ", 3)
	if len(parts) != 3 {
		t.Fatalf("record %q: want KIND SEQ {json}", s)
	}
	k, ok := datafile.ParseKind(parts[0])
	if !ok {
		t.Fatalf("record %q: bad kind", s)
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		t.Fatalf("record %q: %v", s, err)
	}
	d := json.NewDecoder(strings.NewReader(parts[2]))
	d.UseNumber()
	if err := d.Decode(&values); err != nil {
		t.Fatalf("record %q: %v", s, err)
	}
	return k, n, values
}

// kvSchema is the key-value layout of a table's data files, reading fields.
func (tt testTable) kvSchema(t testing.TB, fields []types.DataField) *arrow.Schema {
	t.Helper()
	s, err := types.ArrowSchema(datafile.KeyValueFields(tt.keyFields(), fields))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kvBatch builds a batch of records in the key-value layout, with value fields read.
func (tt testTable) kvBatch(t testing.TB, read []types.DataField, records []string) arrow.RecordBatch {
	t.Helper()
	schema := tt.kvSchema(t, read)
	var rows []string
	for _, r := range records {
		kind, seq, vals := parseRecord(t, r)
		obj := map[string]any{datafile.SequenceNumber: seq, datafile.ValueKind: kind}
		for _, k := range tt.keyFields() {
			obj[datafile.KeyFieldPrefix+k.Name] = vals[k.Name]
		}
		for _, f := range read {
			obj[f.Name] = vals[f.Name]
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, string(b))
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatalf("records %v: %v", records, err)
	}
	return rec
}

// bufferBatch builds a batch in the writer's buffer layout: values, _SEQUENCE_NUMBER,
// _VALUE_KIND.
func (tt testTable) bufferBatch(t testing.TB, records []string) arrow.RecordBatch {
	t.Helper()
	fields := append(append([]types.DataField(nil), tt.fields...), datafile.SequenceField(), datafile.ValueKindField())
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range records {
		kind, seq, vals := parseRecord(t, r)
		vals[datafile.SequenceNumber] = seq
		vals[datafile.ValueKind] = kind
		b, _ := json.Marshal(vals)
		rows = append(rows, string(b))
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatalf("records %v: %v", records, err)
	}
	return rec
}

// sliceInput yields batches of one run.
type sliceInput struct{ batches []arrow.RecordBatch }

func (s *sliceInput) Next(context.Context) (arrow.RecordBatch, error) {
	if len(s.batches) == 0 {
		return nil, io.EOF
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	return b, nil
}

func (s *sliceInput) Close() error {
	for _, b := range s.batches {
		b.Release()
	}
	s.batches = nil
	return nil
}

// renderRow renders row i of columns cols of b as a JSON object.
func renderRow(b arrow.RecordBatch, cols []int, i int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for n, c := range cols {
		if n > 0 {
			sb.WriteByte(',')
		}
		v, _ := json.Marshal(b.Schema().Field(c).Name)
		sb.Write(v)
		sb.WriteByte(':')
		sb.Write(renderValue(b.Column(c), i))
	}
	sb.WriteByte('}')
	return sb.String()
}

// renderValue renders a value as JSON; decimals as strings with their scale.
func renderValue(a arrow.Array, i int) []byte {
	if d, ok := a.(*array.Decimal128); ok && d.IsValid(i) {
		v, _ := json.Marshal(d.Value(i).ToString(d.DataType().(*arrow.Decimal128Type).Scale))
		return v
	}
	v, err := json.Marshal(a.GetOneForMarshal(i))
	if err != nil {
		panic(err)
	}
	return v
}

// mergeRuns merges runs (each a list of records sorted by key) with SortMerge reading the
// value fields named in read (nil: all) plus what the engine needs, and renders the
// output: values of the read fields, prefixed by "KIND SEQ " when keep.
type mergeCase struct {
	runs      [][]string
	read      []string
	keep      bool
	batchRows int // rows per input batch (0: one batch per run)
	batchSize int // output batch size
}

func (tt testTable) sortMerge(t testing.TB, c mergeCase) ([]string, error) {
	t.Helper()
	e, err := NewEngine(tt.fields, tt.pk, format.NewOptions(tt.opts))
	if err != nil {
		return nil, err
	}
	read := tt.fields
	if c.read != nil {
		names := append(append([]string(nil), c.read...), ExtraFields(e, c.read)...)
		read = nil
		for _, n := range names {
			read = append(read, tt.fields[types.FieldByName(tt.fields, n)])
		}
	}
	nk := len(tt.pk)
	var inputs []Input
	for _, run := range c.runs {
		in := &sliceInput{}
		step := c.batchRows
		if step <= 0 {
			step = len(run)
		}
		for i := 0; i < len(run); i += step {
			in.batches = append(in.batches, tt.kvBatch(t, read, run[i:min(i+step, len(run))]))
		}
		inputs = append(inputs, in)
	}
	nOut := len(read)
	if c.read != nil {
		nOut = len(c.read)
	}
	var out []int
	if c.keep {
		for i := 0; i < nk+2+nOut; i++ {
			out = append(out, i)
		}
	} else {
		for i := 0; i < nOut; i++ {
			out = append(out, nk+2+i)
		}
	}
	m := NewSortMerge(inputs, Options{KeyCount: nk, Engine: e, Output: out, BatchSize: c.batchSize, KeepDeletes: c.keep})
	defer m.Close()
	return drain(m, nk, nOut, c.keep)
}

type batchReader interface {
	Next(context.Context) (arrow.RecordBatch, error)
}

func drain(r batchReader, nk, nOut int, keep bool) ([]string, error) {
	var lines []string
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, renderBatch(b, nk, nOut, keep)...)
		b.Release()
	}
}

func renderBatch(b arrow.RecordBatch, nk, nOut int, keep bool) []string {
	var lines []string
	var cols []int
	first := 0
	if keep {
		first = nk + 2
	}
	for i := 0; i < nOut; i++ {
		cols = append(cols, first+i)
	}
	for i := 0; i < int(b.NumRows()); i++ {
		line := renderRow(b, cols, i)
		if keep {
			kind := datafile.KindString(b.Column(nk + 1).(*array.Int8).Value(i))
			line = fmt.Sprintf("%s %d %s", kind, b.Column(nk).(*array.Int64).Value(i), line)
		}
		lines = append(lines, line)
	}
	return lines
}

// mergeBuffer merges records with MergeBuffer in the writer's layout (batches of
// batchRows records) and renders "KIND SEQ {values}".
func (tt testTable) mergeBuffer(t testing.TB, records []string, batchRows int) ([]string, error) {
	t.Helper()
	e, err := NewEngine(tt.fields, tt.pk, format.NewOptions(tt.opts))
	if err != nil {
		return nil, err
	}
	if batchRows <= 0 {
		batchRows = len(records)
	}
	var batches []arrow.RecordBatch
	for i := 0; i < len(records); i += batchRows {
		batches = append(batches, tt.bufferBatch(t, records[i:min(i+batchRows, len(records))]))
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	var keys []int
	for _, k := range tt.pk {
		keys = append(keys, types.FieldByName(tt.fields, k))
	}
	nv := len(tt.fields)
	out, err := MergeBuffer(batches, BufferOptions{Keys: keys, Sequence: nv, Kind: nv + 1, Engine: e, BatchSize: 3})
	if err != nil {
		return nil, err
	}
	var lines []string
	cols := make([]int, nv)
	for i := range cols {
		cols[i] = i
	}
	for _, b := range out {
		for i := 0; i < int(b.NumRows()); i++ {
			kind := datafile.KindString(b.Column(nv + 1).(*array.Int8).Value(i))
			lines = append(lines, fmt.Sprintf("%s %d %s", kind, b.Column(nv).(*array.Int64).Value(i), renderRow(b, cols, i)))
		}
		b.Release()
	}
	return lines, nil
}

// oneRunEach puts each record in a run of its own.
func oneRunEach(records ...string) [][]string {
	out := make([][]string, len(records))
	for i, r := range records {
		out[i] = []string{r}
	}
	return out
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func join(lines []string) string { return strings.Join(lines, "\n") }

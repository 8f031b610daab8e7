package render

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/types"
)

// Format is an output format.
type Format string

// Output formats.
const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
	Table Format = "table"
	JSON  Format = "json" // alias of JSONL
)

// Writer renders batches of rows of the given fields.
type Writer struct {
	out    *bufio.Writer
	format Format
	fields []types.DataField
	sortBy []int // column indexes to order rows by; nil with Sorted=false keeps input order
	sorted bool
	rows   []row
	wrote  int
	limit  int // 0: no limit
	csv    *csv.Writer
}

type row struct {
	keys  []any
	line  string   // jsonl
	cells []string // csv and table
}

// NewWriter returns a writer. With sorted set, rows are buffered and written in canonical
// order on Close: by the sortBy columns (nulls first, then by value), ties by the whole
// rendered row; sortBy nil means all columns.
func NewWriter(w io.Writer, f Format, fields []types.DataField, sorted bool, sortBy []int) (*Writer, error) {
	switch f {
	case JSONL, JSON, CSV, Table:
	default:
		return nil, fmt.Errorf("unknown output format %q (use table, csv or jsonl)", f)
	}
	if f == JSON {
		f = JSONL
	}
	if sorted && sortBy == nil {
		for i := range fields {
			sortBy = append(sortBy, i)
		}
	}
	wr := &Writer{out: bufio.NewWriterSize(w, 1<<16), format: f, fields: fields, sortBy: sortBy, sorted: sorted}
	if f == CSV {
		wr.csv = csv.NewWriter(wr.out)
		names := make([]string, len(fields))
		for i, fd := range fields {
			names[i] = fd.Name
		}
		if err := wr.csv.Write(names); err != nil {
			return nil, err
		}
	}
	return wr, nil
}

// SetLimit keeps at most n rows (0: all). A sorted writer keeps the first n in canonical
// order, holding at most 2n rows while it reads; an unsorted one the first n it is given.
func (w *Writer) SetLimit(n int) { w.limit = n }

// Write renders one batch.
func (w *Writer) Write(b arrow.RecordBatch) error {
	if int(b.NumCols()) != len(w.fields) {
		return fmt.Errorf("render: batch has %d columns, expected %d", b.NumCols(), len(w.fields))
	}
	for i := 0; i < int(b.NumRows()); i++ {
		if w.limit > 0 && !w.sorted && w.Rows() >= w.limit {
			return nil
		}
		var r row
		if w.format == JSONL {
			line, err := w.jsonLine(b, i)
			if err != nil {
				return err
			}
			r.line = line
		} else {
			r.cells = make([]string, len(w.fields))
			for c, f := range w.fields {
				s, err := cellText(b.Column(c), i, f.Type)
				if err != nil {
					return err
				}
				r.cells[c] = s
			}
		}
		if w.sorted || w.format == Table {
			if w.sorted {
				r.keys = make([]any, len(w.sortBy))
				for k, c := range w.sortBy {
					r.keys[k] = sortValue(b.Column(c), i, w.fields[c].Type)
				}
			}
			w.rows = append(w.rows, r)
			if w.sorted && w.limit > 0 && len(w.rows) >= 2*w.limit {
				w.sortRows()
				w.rows = w.rows[:w.limit]
			}
			continue
		}
		if err := w.emit(r); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) jsonLine(b arrow.RecordBatch, i int) (string, error) {
	buf := []byte{'{'}
	for c, f := range w.fields {
		if c > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, f.Name)
		buf = append(buf, ':')
		var err error
		if buf, err = AppendJSON(buf, b.Column(c), i, f.Type); err != nil {
			return "", fmt.Errorf("column %q: %w", f.Name, err)
		}
	}
	return string(append(buf, '}')), nil
}

func (w *Writer) emit(r row) error {
	w.wrote++
	switch w.format {
	case JSONL:
		w.out.WriteString(r.line)
		return w.out.WriteByte('\n')
	case CSV:
		return w.csv.Write(r.cells)
	}
	return nil
}

// Rows is the number of rows written or buffered.
func (w *Writer) Rows() int {
	if n := w.wrote + len(w.rows); w.limit == 0 || n < w.limit {
		return n
	}
	return w.limit
}

// sortRows puts the buffered rows in canonical order.
func (w *Writer) sortRows() {
	slices.SortStableFunc(w.rows, func(a, b row) int {
		for k := range a.keys {
			if c := compareValues(a.keys[k], b.keys[k]); c != 0 {
				return c
			}
		}
		if c := strings.Compare(a.line, b.line); c != 0 {
			return c
		}
		return slices.Compare(a.cells, b.cells)
	})
}

// Close writes buffered rows and flushes.
func (w *Writer) Close() error {
	if w.sorted {
		w.sortRows()
		if w.limit > 0 && len(w.rows) > w.limit {
			w.rows = w.rows[:w.limit]
		}
	}
	if w.format == Table {
		w.writeTable()
	} else {
		for _, r := range w.rows {
			if err := w.emit(r); err != nil {
				return err
			}
		}
	}
	w.rows = nil
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.out.Flush()
}

func (w *Writer) writeTable() {
	widths := make([]int, len(w.fields))
	for i, f := range w.fields {
		widths[i] = utf8.RuneCountInString(f.Name)
	}
	const maxWidth = 48
	for _, r := range w.rows {
		for i, c := range r.cells {
			widths[i] = min(max(widths[i], utf8.RuneCountInString(c)), maxWidth)
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			if utf8.RuneCountInString(c) > widths[i] {
				c = string([]rune(c)[:widths[i]-1]) + "…"
			}
			if i > 0 {
				w.out.WriteString(" | ")
			}
			w.out.WriteString(c)
			w.out.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
		w.out.WriteByte('\n')
	}
	names := make([]string, len(w.fields))
	for i, f := range w.fields {
		names[i] = f.Name
	}
	line(names)
	seps := make([]string, len(widths))
	for i, n := range widths {
		seps[i] = strings.Repeat("-", n)
	}
	w.out.WriteString(strings.Join(seps, "-+-") + "\n")
	for _, r := range w.rows {
		line(r.cells)
	}
	fmt.Fprintf(w.out, "(%d rows)\n", len(w.rows))
	w.wrote += len(w.rows)
}

// cellText is the text of a value in CSV and table output: the canonical JSON form with
// strings unquoted, and empty for null.
func cellText(arr arrow.Array, i int, t types.DataType) (string, error) {
	if arr.IsNull(i) {
		return "", nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i), nil
	case *array.Binary, *array.Decimal128, *array.Date32, *array.Time32, *array.Timestamp:
		b, err := AppendJSON(nil, arr, i, t)
		if err != nil {
			return "", err
		}
		return strings.Trim(string(b), `"`), nil
	}
	b, err := AppendJSON(nil, arr, i, t)
	return string(b), err
}

// sortValue extracts a comparable value: nil, int64, float64, string (also for binaries),
// or the canonical text of nested values.
func sortValue(arr arrow.Array, i int, t types.DataType) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return int64(1)
		}
		return int64(0)
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Date32:
		return int64(a.Value(i))
	case *array.Time32:
		return int64(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Decimal128:
		f, _ := new(big.Float).SetInt(a.Value(i).BigInt()).Float64()
		return decimalKey{f, a.Value(i).BigInt()}
	}
	b, _ := AppendJSON(nil, arr, i, t)
	return string(b)
}

type decimalKey struct {
	approx float64
	exact  *big.Int
}

func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		y := b.(float64)
		if math.IsNaN(x) || math.IsNaN(y) {
			return cmp.Compare(boolInt(math.IsNaN(x)), boolInt(math.IsNaN(y)))
		}
		return cmp.Compare(x, y)
	case string:
		return strings.Compare(x, b.(string))
	case decimalKey:
		return x.exact.Cmp(b.(decimalKey).exact)
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

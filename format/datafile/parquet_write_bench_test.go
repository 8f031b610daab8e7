package datafile

import (
	"bytes"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/workload"
)

// workloadBatches are 8 batches of 16384 rows of a seeded benchmark workload: the
// customer table or the insert-heavy transactions table. The customer rows have unique
// keys, as in the data files of a primary-key table (a flush or a compaction writes each
// key once, in key order).
func workloadBatches(name string) ([]types.DataField, []arrow.RecordBatch) {
	const batches, rows = 8, 16384
	var out []arrow.RecordBatch
	switch name {
	case "customer":
		g := workload.NewCustomers(1, 10_000_000, 0)
		for i := 0; i < batches; i++ {
			out = append(out, g.Next(rows))
		}
		return g.FieldsOf(), out
	default:
		g := workload.NewTransactions(1, 28)
		for i := 0; i < batches; i++ {
			out = append(out, g.Next(rows))
		}
		return g.FieldsOf(), out
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeParquet(t testing.TB, fields []types.DataField, batches []arrow.RecordBatch) []byte {
	t.Helper()
	return writeParquetWith(t, fields, batches, WriterOptions{Compression: "zstd"})
}

func writeParquetWith(t testing.TB, fields []types.DataField, batches []arrow.RecordBatch, o WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, fields, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Rows per second of Tarn's Parquet writer (zstd level 1, as data files) on the
// benchmark workloads, and the files' sizes.
func BenchmarkParquetWriter(b *testing.B) {
	for _, name := range []string{"customer", "transactions"} {
		fields, batches := workloadBatches(name)
		var rows int64
		for _, r := range batches {
			rows += r.NumRows()
		}
		b.Run(name, func(b *testing.B) {
			var size int
			cpu0 := cpuTime()
			for b.Loop() {
				size = len(writeParquet(b, fields, batches))
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			// Per CPU-second of the process: steadier than wall time on a loaded machine.
			b.ReportMetric(float64(rows)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(size), "file-bytes")
		})
		for _, r := range batches {
			r.Release()
		}
	}
}

// The writer drops the dictionary of unique and near-unique columns (keys, amounts,
// timestamps, free text) and keeps it for columns of few values; files read back equal.
func TestParquetWriterDictionaryChoice(t *testing.T) {
	for _, tc := range []struct {
		workload string
		dict     []string
		noDict   []string
	}{
		{"customer", []string{"city", "segment", "score", "active"}, []string{"id", "name", "email", "balance", "updated_at"}},
		{"transactions", []string{"dt", "currency", "channel", "status", "direction"}, []string{"txn_id", "amount", "ts", "risk_score"}},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			fields, batches := workloadBatches(tc.workload)
			defer func() {
				for _, b := range batches {
					b.Release()
				}
			}()
			data := writeParquet(t, fields, batches)
			pr, err := file.NewParquetReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			md := pr.MetaData()
			hasDict := map[string]bool{}
			for g := 0; g < md.NumRowGroups(); g++ {
				rg := md.RowGroup(g)
				for c := 0; c < rg.NumColumns(); c++ {
					cc, err := rg.ColumnChunk(c)
					if err != nil {
						t.Fatal(err)
					}
					hasDict[cc.PathInSchema().String()] = cc.HasDictionaryPage()
				}
			}
			for _, c := range tc.dict {
				if v, ok := hasDict[c]; !ok || !v {
					if c == "active" { // booleans are never dictionary encoded
						continue
					}
					t.Errorf("column %s: dictionary %v (present %v), want one", c, v, ok)
				}
			}
			for _, c := range tc.noDict {
				if hasDict[c] {
					t.Errorf("column %s has a dictionary, want none", c)
				}
			}
			got := readFile(t, FormatParquet, data, fields, 0)
			var i, off int64
			for _, g := range got {
				for r := int64(0); r < g.NumRows(); r++ {
					for i < int64(len(batches)) && off >= batches[i].NumRows() {
						i, off = i+1, 0
					}
					for c := 0; c < int(g.NumCols()); c++ {
						want, have := batches[i].Column(c), g.Column(c)
						if !array.SliceEqual(want, off, off+1, have, r, r+1) {
							t.Fatalf("row %d of batch %d, column %s: got %v, want %v", off, i, fields[c].Name,
								array.NewSlice(have, r, r+1), array.NewSlice(want, off, off+1))
						}
					}
					off++
				}
				g.Release()
			}
			if i != int64(len(batches))-1 || off != batches[len(batches)-1].NumRows() {
				t.Fatalf("read back %d batches and %d rows of the last, want %d and %d", i+1, off, len(batches), batches[len(batches)-1].NumRows())
			}
		})
	}
}

func TestHighCardinality(t *testing.T) {
	ints := func(n int, f func(i int) int64) arrow.Array {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(f(i))
		}
		return b.NewArray()
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		a    arrow.Array
		want bool
	}{
		{"too few rows", ints(100, func(i int) int64 { return int64(i) }), false},
		{"unique", ints(10000, func(i int) int64 { return int64(i) }), true},
		{"random over 10M", ints(10000, func(int) int64 { return rnd.Int64N(10_000_000) }), true},
		{"random over 20k", ints(10000, func(int) int64 { return rnd.Int64N(20_000) }), false},
		{"random over 1000", ints(10000, func(int) int64 { return rnd.Int64N(1000) }), false},
		{"constant", ints(10000, func(int) int64 { return 7 }), false},
	} {
		if got := highCardinality(tc.a); got != tc.want {
			t.Errorf("%s: highCardinality %v, want %v", tc.name, got, tc.want)
		}
		tc.a.Release()
	}
}

// parquet.enable.dictionary = false: no column has a dictionary, not even those of few
// values; the zstd level is the one asked for.
func TestParquetWriterNoDictionary(t *testing.T) {
	fields, batches := workloadBatches("customer")
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	data := writeParquetWith(t, fields, batches, WriterOptions{Compression: "zstd", ZstdLevel: 9, NoDictionary: true})
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	rg := pr.MetaData().RowGroup(0)
	for c := 0; c < rg.NumColumns(); c++ {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		if cc.HasDictionaryPage() {
			t.Errorf("column %s has a dictionary", cc.PathInSchema())
		}
	}
	level1 := writeParquetWith(t, fields, batches, WriterOptions{Compression: "zstd", NoDictionary: true})
	if len(data) >= len(level1) {
		t.Errorf("zstd level 9 wrote %d bytes, level 1 %d: the level was not applied", len(data), len(level1))
	}
	var rows int64
	for _, b := range readFile(t, FormatParquet, data, fields, 0) {
		rows += b.NumRows()
	}
	var want int64
	for _, b := range batches {
		want += b.NumRows()
	}
	if rows != want {
		t.Errorf("read back %d rows, want %d", rows, want)
	}
}

// Data pages hold up to the page size asked for (DefaultPageSize when none is), give or
// take one write batch of values: a reader holds one decompressed page per column of
// every file it merges, so the page size bounds a compaction's memory.
func TestParquetWriterPageSize(t *testing.T) {
	fields, batches := workloadBatches("customer")
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	pages := map[int64]int{}
	for _, size := range []int64{0, 16 << 10, 1 << 20} {
		data := writeParquetWith(t, fields, batches, WriterOptions{Compression: "zstd", PageSizeBytes: size})
		limit := size
		if limit == 0 {
			limit = DefaultPageSize
		}
		pr, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		rg := pr.RowGroup(0)
		for c := 0; c < rg.NumColumns(); c++ {
			rd, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for rd.Next() {
				p, ok := rd.Page().(file.DataPage)
				if !ok {
					continue
				}
				// A page is cut once it reaches the limit after a write batch (1024
				// values, strings of at most 64 bytes here).
				if got := int64(p.UncompressedSize()); got > limit+1024*64 {
					t.Errorf("page size %d: column %d has a page of %d bytes", size, c, got)
				}
				if fields[c].Name == "id" {
					pages[size]++
				}
			}
			if err := rd.Err(); err != nil {
				t.Fatal(err)
			}
		}
		pr.Close()
	}
	// 131072 ids of 8 bytes: 1 MiB of values.
	if pages[0] < 16 || pages[16<<10] < 64 || pages[1<<20] > 2 {
		t.Errorf("pages of column id by page size asked for: %v, want >= 16 (default), >= 64 (16 KiB), <= 2 (1 MiB)", pages)
	}
}

package merge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

const (
	benchRuns    = 5
	benchRunRows = 200_000
	benchColumns = "k BIGINT NOT NULL, i INT, l BIGINT, d DOUBLE, s STRING, n STRING, b BOOLEAN, m DECIMAL(18,2), ts TIMESTAMP(3)"
)

// benchInput is five sorted runs of 200k rows (int64 keys from a shared key space, so
// keys have 2.5 records on average), in 64k-row batches of the key-value layout.
type benchInput struct {
	tt    testTable
	runs  [][]arrow.RecordBatch
	bytes int64
}

func newBenchInput(b *testing.B, opts map[string]string) *benchInput {
	tt := newTestTable(b, benchColumns, []string{"k"}, opts)
	schema := tt.kvSchema(b, tt.fields)
	rng := rand.New(rand.NewPCG(1, 2))
	in := &benchInput{tt: tt}
	keySpace := benchRuns * benchRunRows * 2 / 5 // 400k keys
	seq := int64(0)
	strs := make([]string, 64)
	for i := range strs {
		strs[i] = fmt.Sprintf("value-%d-%s", i, "abcdefghijklmnop"[:i%16])
	}
	for r := 0; r < benchRuns; r++ {
		// A sorted subset of benchRunRows keys.
		keys := make([]int64, 0, benchRunRows)
		need, left := benchRunRows, keySpace
		for k := 0; k < keySpace && need > 0; k++ {
			if rng.IntN(left) < need {
				keys = append(keys, int64(k))
				need--
			}
			left--
		}
		var batches []arrow.RecordBatch
		for start := 0; start < len(keys); start += datafile.DefaultBatchSize {
			rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			for _, k := range keys[start:min(start+datafile.DefaultBatchSize, len(keys))] {
				seq++
				rb.Field(0).(*array.Int64Builder).Append(k)
				rb.Field(1).(*array.Int64Builder).Append(seq)
				rb.Field(2).(*array.Int8Builder).Append(datafile.KindInsert)
				rb.Field(3).(*array.Int64Builder).Append(k)
				appendOrNull(rb.Field(4), rng, func(b array.Builder) { b.(*array.Int32Builder).Append(rng.Int32()) })
				appendOrNull(rb.Field(5), rng, func(b array.Builder) { b.(*array.Int64Builder).Append(rng.Int64N(1000)) })
				appendOrNull(rb.Field(6), rng, func(b array.Builder) { b.(*array.Float64Builder).Append(rng.Float64()) })
				rb.Field(7).(*array.StringBuilder).Append(strs[rng.IntN(len(strs))])
				appendOrNull(rb.Field(8), rng, func(b array.Builder) { b.(*array.StringBuilder).Append(strs[rng.IntN(len(strs))]) })
				appendOrNull(rb.Field(9), rng, func(b array.Builder) { b.(*array.BooleanBuilder).Append(rng.IntN(2) == 0) })
				appendOrNull(rb.Field(10), rng, func(b array.Builder) {
					b.(*array.Decimal128Builder).Append(decimal128.FromI64(rng.Int64N(1_000_000)))
				})
				appendOrNull(rb.Field(11), rng, func(b array.Builder) {
					b.(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000 + rng.Int64N(1e9)))
				})
			}
			rec := rb.NewRecordBatch()
			rb.Release()
			in.bytes += batchBytes(rec)
			batches = append(batches, rec)
		}
		in.runs = append(in.runs, batches)
	}
	return in
}

// cpuSeconds is the process's user and system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func appendOrNull(b array.Builder, rng *rand.Rand, f func(array.Builder)) {
	if rng.IntN(4) == 0 {
		b.AppendNull()
		return
	}
	f(b)
}

func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += int64(c.Data().SizeInBytes())
	}
	return n
}

func (in *benchInput) inputs() []Input {
	out := make([]Input, len(in.runs))
	for i, run := range in.runs {
		for _, b := range run {
			b.Retain()
		}
		out[i] = &sliceInput{batches: append([]arrow.RecordBatch(nil), run...)}
	}
	return out
}

func benchmarkSortMerge(b *testing.B, opts map[string]string) {
	in := newBenchInput(b, opts)
	defer func() {
		for _, run := range in.runs {
			for _, rec := range run {
				rec.Release()
			}
		}
	}()
	e, err := NewEngine(in.tt.fields, in.tt.pk, format.NewOptions(opts))
	if err != nil {
		b.Fatal(err)
	}
	nv := len(in.tt.fields)
	out := make([]int, nv)
	for i := range out {
		out[i] = 1 + 2 + i
	}
	schema, err := types.ArrowSchema(in.tt.fields)
	if err != nil {
		b.Fatal(err)
	}
	const rows = benchRuns * benchRunRows
	b.SetBytes(in.bytes)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	var outRows int64
	for b.Loop() {
		m := NewSortMerge(in.inputs(), Options{KeyCount: 1, Engine: e, Output: out, Schema: schema})
		for {
			rec, err := m.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			outRows += rec.NumRows()
			rec.Release()
		}
		m.Close()
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	// Per core: CPU time of all threads (the merge, the GC) rather than wall time.
	b.ReportMetric(float64(rows)*float64(b.N)/cpu, "rows/cpu-s")
	b.ReportMetric(float64(in.bytes)*float64(b.N)/cpu/1e6, "MB/cpu-s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows)/float64(b.N), "allocs/row")
	b.ReportMetric(float64(outRows)/float64(b.N), "out-rows")
}

// BenchmarkSortMerge merges 5 sorted runs of 200k rows (int64 key, 9 value columns of
// mixed types). Run with -cpu 1 for per-core figures.
func BenchmarkSortMerge(b *testing.B) {
	b.Run("deduplicate", func(b *testing.B) { benchmarkSortMerge(b, map[string]string{}) })
	b.Run("partial-update", func(b *testing.B) {
		benchmarkSortMerge(b, map[string]string{"merge-engine": "partial-update"})
	})
	b.Run("aggregation", func(b *testing.B) {
		benchmarkSortMerge(b, map[string]string{
			"merge-engine": "aggregation", "fields.i.aggregate-function": "max", "fields.l.aggregate-function": "sum",
			"fields.d.aggregate-function": "sum", "fields.m.aggregate-function": "sum",
		})
	})
}

package flight_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/table"
)

// BenchmarkScan compares, in one run, a Flight full scan of a merged primary-key table
// (all endpoints read in parallel), the same merge-on-read without Flight, and a raw
// pqarrow decode of the same data files (no merge, no Flight). Rows of 4 columns; a second
// commit updates 10% of the keys.
func BenchmarkScan(b *testing.B) {
	n := 1_000_000
	e := newEnv(b, tarnflight.Options{})
	tbl, fields := e.createTable("db.bench", pkColumns, []string{"id"}, nil, map[string]string{"bucket": "4"})
	writeMergedPK(b, tbl, fields, n)
	plan, err := tbl.Plan(context.Background(), table.ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for i := range plan.Splits {
		s := &plan.Splits[i]
		for j := range s.Files {
			files = append(files, s.DataFilePath(&s.Files[j]))
		}
	}

	b.Run("flight-merged", func(b *testing.B) {
		var rows, bytes int64
		start := time.Now()
		for b.Loop() {
			r, by := flightScan(b, e, `{"table":"db.bench"}`)
			rows += r
			bytes += by
		}
		report(b, rows, bytes, time.Since(start))
	})
	b.Run("direct-merged", func(b *testing.B) {
		// The same merge-on-read as flight-merged, without Flight: what the transport costs.
		var rows, bytes int64
		start := time.Now()
		for b.Loop() {
			var wg sync.WaitGroup
			var r, by atomic.Int64
			for i := range plan.Splits {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rd, err := tbl.ReadSplit(context.Background(), plan, &plan.Splits[i], table.ReadOptions{})
					if err != nil {
						b.Error(err)
						return
					}
					defer rd.Close()
					for {
						rec, err := rd.Next(context.Background())
						if err != nil {
							if !errors.Is(err, io.EOF) {
								b.Error(err)
							}
							return
						}
						r.Add(rec.NumRows())
						by.Add(util.TotalRecordSize(rec))
						rec.Release()
					}
				}()
			}
			wg.Wait()
			rows += r.Load()
			bytes += by.Load()
		}
		report(b, rows, bytes, time.Since(start))
	})
	b.Run("pqarrow-raw-files", func(b *testing.B) {
		var rows, bytes int64
		start := time.Now()
		for b.Loop() {
			var wg sync.WaitGroup
			var r, by atomic.Int64
			sem := make(chan struct{}, 4)
			for _, p := range files {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					n, nb := decodeParquet(b, p)
					r.Add(n)
					by.Add(nb)
				}()
			}
			wg.Wait()
			rows += r.Load()
			bytes += by.Load()
		}
		report(b, rows, bytes, time.Since(start))
	})
}

func report(b *testing.B, rows, bytes int64, d time.Duration) {
	b.ReportMetric(float64(rows)/d.Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/d.Seconds()/1e6, "MB/s")
}

// flightScan reads every endpoint of a command in parallel; it returns rows and Arrow
// bytes received.
func flightScan(b *testing.B, e *env, cmd string) (int64, int64) {
	info, err := e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(cmd)})
	if err != nil {
		b.Fatal(err)
	}
	var rows, bytes atomic.Int64
	var wg sync.WaitGroup
	for _, ep := range info.Endpoint {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := e.client.DoGet(e.ctx, ep.Ticket)
			if err != nil {
				b.Error(err)
				return
			}
			rdr, err := flight.NewRecordReader(stream)
			if err != nil {
				b.Error(err)
				return
			}
			defer rdr.Release()
			for rdr.Next() {
				rec := rdr.RecordBatch()
				rows.Add(rec.NumRows())
				bytes.Add(util.TotalRecordSize(rec))
			}
			if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return rows.Load(), bytes.Load()
}

func decodeParquet(b *testing.B, path string) (int64, int64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		b.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rr.Release()
	var rows, bytes int64
	for rr.Next() {
		rec := rr.RecordBatch()
		rows += rec.NumRows()
		bytes += util.TotalRecordSize(rec)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		b.Fatal(err)
	}
	return rows, bytes
}

// BenchmarkDoPut ingests 256k rows per DoPut stream (batches of 16k rows, one commit) into
// a primary-key table of 4 buckets.
func BenchmarkDoPut(b *testing.B) {
	const rowsPerPut, batch = 256 * 1024, 16 * 1024
	e := newEnv(b, tarnflight.Options{})
	e.createTable("db.ingest", pkColumns, []string{"id"}, nil, map[string]string{"bucket": "4"})
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	var recs []arrow.RecordBatch
	for start := 0; start < rowsPerPut; start += batch {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := start; i < start+batch; i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name-%07d", i))
			bld.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
			bld.Field(3).(*array.Int32Builder).Append(int32(i % 7))
		}
		recs = append(recs, bld.NewRecordBatch())
		bld.Release()
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var bytes int64
	for _, r := range recs {
		bytes += util.TotalRecordSize(r)
	}
	desc := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"db", "ingest"}}
	var rows, total int64
	start := time.Now()
	for b.Loop() {
		stream, err := e.client.DoPut(e.ctx)
		if err != nil {
			b.Fatal(err)
		}
		w := flight.NewRecordWriter(stream, ipc.WithSchema(sc))
		w.SetFlightDescriptor(desc)
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		w.Close()
		stream.CloseSend()
		for {
			if _, err := stream.Recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
		rows += rowsPerPut
		total += bytes
	}
	report(b, rows, total, time.Since(start))
}

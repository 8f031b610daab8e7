package logsystem_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/logsystem"
)

// The two record encodings measured for the log (docs/logsystem.md): the compact row codec
// (one record per row, keyed by primary key) and an Arrow IPC stream per bucket per commit
// (one record per batch). Rows are the 16-column, ~120-byte rows of the tooling notes.

const benchColumns = "id BIGINT NOT NULL, a INT, b INT, c INT, d INT, x DOUBLE, y DOUBLE, z DOUBLE, " +
	"s1 STRING, s2 STRING, s3 STRING, s4 STRING, ts TIMESTAMP(6), dt DATE, flag BOOLEAN, amount DECIMAL(10,2)"

func benchBatch(b *testing.B, n int) ([]types.DataField, arrow.RecordBatch) {
	fields, err := types.ParseColumns(benchColumns)
	if err != nil {
		b.Fatal(err)
	}
	for i := range fields {
		fields[i].ID = i
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `{"id":%d,"a":%d,"b":%d,"c":7,"d":-3,"x":%d.25,"y":0.5,"z":-1e10,"s1":"name-%06d","s2":"city-%d","s3":"abcdefghij","s4":"k%d","ts":"2026-11-26 10:11:12.%06d","dt":"2026-11-26","flag":true,"amount":"%d.99"}`+"\n",
			i, i*3, i%100, i, i, i%50, i%7, i%1000000, i%10000)
	}
	return fields, layoutBatch(b, fields, sb.String())
}

type candidate struct {
	name   string
	encode func(b *testing.B, fields []types.DataField, rec arrow.RecordBatch) [][]byte
	decode func(b *testing.B, fields []types.DataField, values [][]byte) int
}

// The compact codec's encoder and decoder live as long as a writer or a tail.
var (
	benchEnc *logsystem.RowEncoder
	benchDec *logsystem.RowDecoder
)

var candidates = []candidate{
	{"compact-row", func(b *testing.B, fields []types.DataField, rec arrow.RecordBatch) [][]byte {
		if benchEnc == nil {
			benchEnc = logsystem.NewRowEncoder(fields, 0, []int{0})
		}
		enc := benchEnc
		if err := enc.Reset(rec); err != nil {
			b.Fatal(err)
		}
		out := make([][]byte, rec.NumRows())
		slab := make([]byte, 0, 128*len(out))
		for i := range out {
			start := len(slab)
			slab = enc.Key(slab, i)
			slab = enc.Value(slab, nil, i)
			out[i] = slab[start:]
		}
		return out
	}, func(b *testing.B, fields []types.DataField, values [][]byte) int {
		if benchDec == nil {
			var err error
			if benchDec, err = logsystem.NewRowDecoder(fields, nil); err != nil {
				b.Fatal(err)
			}
		}
		dec := benchDec
		for _, v := range values {
			d, err := logsystem.Decode(v[16:]) // after the 16-byte key
			if err != nil {
				b.Fatal(err)
			}
			if err := dec.Append(d.Row); err != nil {
				b.Fatal(err)
			}
		}
		out := dec.NewBatch()
		n := int(out.NumRows())
		out.Release()
		return n
	}},
	{"arrow-ipc-batch", func(b *testing.B, fields []types.DataField, rec arrow.RecordBatch) [][]byte {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return [][]byte{buf.Bytes()}
	}, func(b *testing.B, fields []types.DataField, values [][]byte) int {
		n := 0
		for _, v := range values {
			r, err := ipc.NewReader(bytes.NewReader(v), ipc.WithAllocator(memory.DefaultAllocator))
			if err != nil {
				b.Fatal(err)
			}
			for r.Next() {
				n += int(r.RecordBatch().NumRows())
			}
			if err := r.Err(); err != nil {
				b.Fatal(err)
			}
			r.Release()
		}
		return n
	}},
}

// BenchmarkLogCodec encodes and decodes one bucket's rows of a commit, for a large commit
// (10,000 rows) and a small one (1 row), reporting bytes per row on the wire.
func BenchmarkLogCodec(b *testing.B) {
	for _, rows := range []int{10000, 1} {
		fields, rec := benchBatch(b, rows)
		for _, c := range candidates {
			b.Run(fmt.Sprintf("%s/rows=%d", c.name, rows), func(b *testing.B) {
				benchEnc, benchDec = nil, nil
				var size int
				cpu0 := cpuTime()
				for b.Loop() {
					vals := c.encode(b, fields, rec)
					size = 0
					for _, v := range vals {
						size += len(v)
					}
					if got := c.decode(b, fields, vals); got != rows {
						b.Fatalf("decoded %d rows", got)
					}
				}
				b.ReportMetric(float64(size)/float64(rows), "bytes/row")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*rows), "cpu-ns/row")
			})
		}
		rec.Release()
	}
}

// BenchmarkLogCodecKafka moves the same commits through the embedded Kafka broker:
// produce, flush, fetch and decode.
func BenchmarkLogCodecKafka(b *testing.B) {
	ctx := context.Background()
	e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, rows := range []int{10000, 1} {
		fields, rec := benchBatch(b, rows)
		for _, c := range candidates {
			b.Run(fmt.Sprintf("%s/rows=%d", c.name, rows), func(b *testing.B) {
				benchEnc, benchDec = nil, nil
				topic := fmt.Sprintf("bench-%s-%d-%d", c.name, rows, time.Now().UnixNano())
				cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.DefaultProduceTopic(topic),
					kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ProducerBatchMaxBytes(16<<20))
				if err != nil {
					b.Fatal(err)
				}
				defer cl.Close()
				if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": ptr("67108864")}, topic); err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime()
				for b.Loop() {
					vals := c.encode(b, fields, rec)
					for _, v := range vals {
						cl.Produce(ctx, &kgo.Record{Value: v}, nil)
					}
					if err := cl.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					var got [][]byte
					for len(got) < len(vals) {
						fs := cl.PollFetches(ctx)
						if err := fs.Err(); err != nil {
							b.Fatal(err)
						}
						fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value) })
					}
					if n := c.decode(b, fields, got); n != rows {
						b.Fatalf("decoded %d rows", n)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*rows), "cpu-ns/row")
			})
		}
		rec.Release()
	}
}

func ptr(s string) *string { return &s }

// cpuTime is the process's user and system CPU time: benchmarks report it per row too,
// as wall time suffers from whatever else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package cdc_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/cdcgen"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// debeziumMessages generates n Debezium messages (cdcgen's workload) over keys keys.
func debeziumMessages(t testing.TB, n, keys int) [][2][]byte {
	msgs := make([][2][]byte, n)
	for i := range msgs {
		k, v, err := cdcgen.Message(string(cdc.DebeziumJSON), i, keys)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = [2][]byte{k, v}
	}
	return msgs
}

func benchFields(b *testing.B) []types.DataField {
	fields, err := types.ParseColumns(cdcgen.Columns)
	if err != nil {
		b.Fatal(err)
	}
	for i := range fields {
		fields[i].ID = i
	}
	return fields
}

// BenchmarkDecode decodes Debezium messages and converts them to Arrow rows.
func BenchmarkDecode(b *testing.B) {
	fields := benchFields(b)
	bt, err := cdc.NewBatcher(fields, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Release()
	msgs := debeziumMessages(b, 1000, 50000)
	d := cdc.NewDecoder(cdc.DebeziumJSON)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := msgs[i%len(msgs)]
		i++
		msg, err := d.Decode(m[0], m[1])
		if err != nil {
			b.Fatal(err)
		}
		if err := bt.Append(msg); err != nil {
			b.Fatal(err)
		}
		if bt.Rows() >= 8192 {
			bt.NewBatch().Release()
		}
	}
}

// BenchmarkIngest measures end-to-end CDC ingestion: messages already in a topic are
// consumed, decoded, written as Parquet files and committed every second.
func BenchmarkIngest(b *testing.B) {
	const n = 200_000
	ctx := context.Background()
	topic := newTopic(b, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range debeziumMessages(b, n, 50000) {
		cl.Produce(ctx, &kgo.Record{Key: m[0], Value: m[1]}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	for b.Loop() {
		b.StopTimer()
		cat := catalog.New(fileio.NewLocal(), b.TempDir())
		id := catalog.Identifier{Database: "shop", Table: "customers"}
		if _, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: benchFields(b), PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "2"}}, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		start := time.Now()
		st, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: cdc.DebeziumJSON, Catalog: cat, Table: id, ExitAtEnd: true})
		if err != nil {
			b.Fatal(err)
		}
		if st.Messages != n {
			b.Fatalf("ingested %d messages", st.Messages)
		}
		el := time.Since(start)
		b.ReportMetric(float64(n)/el.Seconds(), "msg/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/msg")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

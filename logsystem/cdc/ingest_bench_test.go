package cdc_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// debeziumMessage is a typical Debezium change event without the schema envelope (about
// 330 bytes): an insert, or an update with its before-image.
func debeziumMessage(i int, update bool) (key, value []byte) {
	key = fmt.Appendf(nil, `{"id":%d}`, i%50000)
	after := fmt.Sprintf(`{"id":%d,"name":"customer-%d","email":"user%d@example.com","city":"Lyon","balance":"%d.%02d","visits":%d,"active":true,"created":%d}`,
		i%50000, i, i, i%10000, i%100, i%977, 1700000000000000+int64(i))
	if update {
		value = fmt.Appendf(nil, `{"before":%s,"after":%s,"source":{"db":"shop","table":"customers","ts_ms":%d},"op":"u","ts_ms":%d}`, after, after, i, i)
	} else {
		value = fmt.Appendf(nil, `{"before":null,"after":%s,"source":{"db":"shop","table":"customers","ts_ms":%d},"op":"c","ts_ms":%d}`, after, i, i)
	}
	return key, value
}

const benchColumns = "id INT NOT NULL, name STRING, email STRING, city STRING, balance DECIMAL(12,2), visits INT, active BOOLEAN, created TIMESTAMP(6)"

func benchFields(b *testing.B) []types.DataField {
	fields, err := types.ParseColumns(benchColumns)
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
	msgs := make([][2][]byte, 1000)
	for i := range msgs {
		msgs[i][0], msgs[i][1] = debeziumMessage(i, i%4 == 0)
	}
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
	for i := 0; i < n; i++ {
		k, v := debeziumMessage(i, i%4 == 0)
		cl.Produce(ctx, &kgo.Record{Key: k, Value: v}, nil)
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

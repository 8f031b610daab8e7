package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/cdcgen"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// benchCDC measures CDC ingestion (tarn ingest kafka's pipeline): messages already in a
// topic are consumed, decoded, written as Parquet files and committed every interval.
func benchCDC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench cdc", "[--messages N] [--format F] [--kafka embedded|host:port,...]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (default: a temporary directory)")
	messages := fs.Int("messages", 1_000_000, "messages to ingest (one in four an update)")
	keys := fs.Int("keys", 100_000, "distinct primary keys")
	partitions := fs.Int("partitions", 2, "partitions of the CDC topic")
	buckets := fs.Int("buckets", 2, "buckets of the table")
	interval := fs.Duration("commit-interval", time.Second, "how often ingestion commits")
	kafka := fs.String("kafka", "embedded", "Kafka bootstrap servers, or embedded (an in-process broker, whose CPU time is counted)")
	var formats multiFlag
	fs.Var(&formats, "format", "debezium-json, canal-json or maxwell-json; repeatable (default all three)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("no positional arguments expected")
	}
	if *messages <= 0 || *keys <= 0 || *partitions <= 0 || *buckets <= 0 {
		return usagef("--messages, --keys, --partitions and --buckets must be positive")
	}
	if len(formats) == 0 {
		formats = cdcgen.Formats
	}
	cat, cleanup, err := benchWarehouse(ctx, st, warehouse, "tarn-bench-cdc-")
	if err != nil {
		return err
	}
	defer cleanup()
	conn, stopKafka, err := benchKafka(ctx, *kafka)
	if err != nil {
		return err
	}
	defer stopKafka()
	fields, err := types.ParseColumns(cdcgen.Columns)
	if err != nil {
		return err
	}
	stopProfile, err := out.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	var results []*benchResult
	for _, format := range formats {
		f, err := cdc.ParseFormat(format)
		if err != nil {
			return usagef("--format: %v", err)
		}
		progressf(out.quiet, stderr, "cdc %s: producing %d messages into %d partitions", format, *messages, *partitions)
		topic := "tarn-bench-cdc-" + randomID()
		valueBytes, err := produceCDC(ctx, conn, topic, format, *messages, *keys, int32(*partitions))
		if err != nil {
			return fmt.Errorf("producing the %s topic: %w", format, err)
		}
		id := catalog.Identifier{Database: "bench", Table: "cdc_" + randomID()}
		spec := catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": fmt.Sprint(*buckets)}}
		if _, err := cat.CreateTable(ctx, id, spec, false); err != nil {
			return err
		}
		progressf(out.quiet, stderr, "cdc %s: ingesting", format)
		resetPeakRSS()
		m := startMeter()
		// As tarn ingest kafka runs by default: schema evolution on.
		stats, err := cdc.Ingest(ctx, cdc.Options{Source: conn, Topic: topic, Format: f, Catalog: cat, Table: id,
			CommitInterval: *interval, ExitAtEnd: true, StopOnError: true,
			AddColumns: cdc.CatalogAddColumns(cat, id), WidenColumns: cdc.CatalogWidenColumns(cat, id)})
		wall, cpu := m.stop()
		if err != nil {
			return fmt.Errorf("ingesting %s: %w", format, err)
		}
		if stats.Messages != int64(*messages) || stats.Malformed != 0 {
			return fmt.Errorf("ingesting %s: %d of %d messages consumed, %d malformed", format, stats.Messages, *messages, stats.Malformed)
		}
		r := &benchResult{Name: "cdc ingest " + format, Rows: stats.Messages, Bytes: valueBytes,
			WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
		r.extra("rows_written", stats.Rows)
		r.extra("commits", stats.Commits)
		r.extra("snapshot", stats.Snapshot)
		results = append(results, r)
		if err := cat.DropTable(ctx, id, true); err != nil {
			return err
		}
	}
	stopProfile()
	env := benchEnv()
	env["kafka"] = *kafka
	env["note"] = fmt.Sprintf("rows are CDC messages (one in four an update), bytes their values; %d keys, %d partitions, %d buckets, "+
		"commits every %s; CPU is this process's (with --kafka embedded, the broker's too)", *keys, *partitions, *buckets, *interval)
	return out.report(stdout, results, env)
}

// produceCDC fills a new topic with generated messages and returns their value bytes.
func produceCDC(ctx context.Context, conn logsystem.Config, topic, format string, n, keys int, partitions int32) (int64, error) {
	opts, err := conn.Opts()
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, nil, topic); err != nil {
		return 0, err
	}
	var bytes int64
	errc := make(chan error, 1)
	for i := 0; i < n; i++ {
		k, v, err := cdcgen.Message(format, i, keys)
		if err != nil {
			return 0, err
		}
		bytes += int64(len(v))
		cl.Produce(ctx, &kgo.Record{Key: k, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	runtime.GC()
	return bytes, nil
}

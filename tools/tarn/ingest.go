package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/internal/progress"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

func init() {
	register("ingest", "ingest a CDC topic (Debezium, Canal, Maxwell JSON) from Kafka into a table, exactly once", cmdIngest)
}

// kafkaFlags are the settings of a Kafka cluster.
type kafkaFlags struct {
	brokers, mechanism, user, password, caFile, certFile, keyFile string
	tls, insecure                                                 bool
}

func addKafkaFlags(fs *flag.FlagSet) *kafkaFlags {
	k := &kafkaFlags{}
	fs.StringVar(&k.brokers, "brokers", "", "Kafka bootstrap servers, host:port,... (required)")
	fs.StringVar(&k.mechanism, "sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&k.user, "sasl-user", "", "SASL user")
	fs.StringVar(&k.password, "sasl-password", "", "SASL password (default $TARN_KAFKA_PASSWORD)")
	fs.BoolVar(&k.tls, "tls", false, "connect to Kafka over TLS")
	fs.StringVar(&k.caFile, "tls-ca-file", "", "PEM file of extra certificate authorities for Kafka")
	fs.StringVar(&k.certFile, "tls-cert-file", "", "client certificate (PEM) for Kafka")
	fs.StringVar(&k.keyFile, "tls-key-file", "", "client key (PEM) for Kafka")
	fs.BoolVar(&k.insecure, "tls-insecure-skip-verify", false, "do not verify Kafka's TLS certificate")
	return k
}

func (k *kafkaFlags) config() (logsystem.Config, error) {
	c := logsystem.Config{
		Brokers: logsystem.ParseBrokers(k.brokers), SASLMechanism: k.mechanism, SASLUser: k.user, SASLPassword: k.password,
		TLS: k.tls, CAFile: k.caFile, CertFile: k.certFile, KeyFile: k.keyFile, InsecureSkipVerify: k.insecure,
	}
	if c.SASLPassword == "" {
		c.SASLPassword = os.Getenv("TARN_KAFKA_PASSWORD")
	}
	if len(c.Brokers) == 0 {
		return c, usagef("--brokers is required")
	}
	if _, err := c.Opts(); err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "kafka" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: tarn ingest kafka --warehouse W --brokers B --topic T --format debezium-json|canal-json|maxwell-json db.table [flags]")
			return errHelp
		}
		return usagef("usage: tarn ingest kafka --warehouse W --brokers B --topic T --format F db.table (the source is kafka)")
	}
	fs := newFlags("ingest kafka", "--warehouse W --brokers B --topic T --format debezium-json|canal-json|maxwell-json db.table [flags]", stderr)
	st := addStorageFlags(fs)
	kf := addKafkaFlags(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	topic := fs.String("topic", "", "the CDC topic (required)")
	format := fs.String("format", "", "message format: debezium-json, canal-json or maxwell-json (required)")
	create := fs.Bool("create", false, "create the table from the first message (columns, types and primary key) if it does not exist")
	interval := fs.Duration("commit-interval", time.Second, "how often to commit what was consumed")
	deadLetter := fs.String("dead-letter", "", "topic for messages that cannot be ingested (default: count and log them)")
	stopOnError := fs.Bool("stop-on-error", false, "stop at the first malformed message")
	exitAtEnd := fs.Bool("exit-at-end", false, "stop once the topic is consumed to the end it had at start")
	addColumns := fs.Bool("add-columns", true, "evolve the table's schema with the source's: add columns that messages carry and the table lacks (nullable), and widen columns whose source type widened (INT to BIGINT, longer VARCHAR, ...); false drops the new columns' values")
	writeLog := fs.Bool("log", true, "write the table's log topic too, when the table has the log system on (tarn.log.system=kafka), on the same cluster")
	var options multiFlag
	fs.Var(&options, "option", "table option k=v for --create (repeatable), e.g. bucket=8")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *warehouse == "" || *topic == "" || *format == "" || len(pos) != 1 {
		return usagef("need --warehouse, --brokers, --topic, --format and one db.table argument")
	}
	f, err := cdc.ParseFormat(*format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	id, err := catalog.ParseIdentifier(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	conf, err := kf.config()
	if err != nil {
		return err
	}
	createOpts := map[string]string{}
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return usagef("--option %q: want key=value", o)
		}
		createOpts[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	fio, err := st.open(ctx, *warehouse)
	if err != nil {
		return err
	}
	o := cdc.Options{
		Source: conf, Topic: *topic, Format: f, Catalog: catalog.New(fio, *warehouse), Table: id,
		Create: *create, CreateOptions: createOpts, CommitInterval: *interval, DeadLetterTopic: *deadLetter,
		StopOnError: *stopOnError, ExitAtEnd: *exitAtEnd,
	}
	if *writeLog {
		o.Log = &conf
	}
	if *addColumns {
		o.AddColumns = cdc.CatalogAddColumns(o.Catalog, id)
		o.WidenColumns = cdc.CatalogWidenColumns(o.Catalog, id)
	}
	display := newIngestDisplay(stderr, id.String())
	o.Progress = display.update
	stats, err := cdc.Ingest(ctx, o)
	display.done()
	if err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(stdout, "ingested %d messages into %s in %s: %d rows (%d inserts, %d updates, %d deletes), %d commits, snapshot %d; "+
		"%d tombstones, %d schema changes, %d skipped, %d malformed (%d dead-lettered); lag %d\n",
		stats.Messages, id, stats.Elapsed.Round(time.Millisecond), stats.Rows, stats.Inserts, stats.Updates, stats.Deletes,
		stats.Commits, stats.Snapshot, stats.Tombstones, stats.DDL, stats.Skipped, stats.Malformed, stats.DeadLettered, stats.Lag)
	if len(stats.UnknownColumns) > 0 {
		names := slices.Sorted(maps.Keys(stats.UnknownColumns))
		fmt.Fprintf(stdout, "columns the table lacks (values dropped; add them to the table to keep them): %s\n", strings.Join(names, ", "))
	}
	return nil
}

// ingestDisplay shows a progress line on a terminal: rate, rows, commits, snapshot and the
// table's lag per partition.
type ingestDisplay struct {
	mu    sync.Mutex
	w     io.Writer
	table string
	tty   bool
	width int
	last  cdc.Stats
	at    time.Time
}

func newIngestDisplay(w io.Writer, table string) *ingestDisplay {
	return &ingestDisplay{w: w, table: table, tty: progress.IsTerminal(w), at: time.Now()}
}

func (d *ingestDisplay) update(s cdc.Stats) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.tty {
		return
	}
	dt := time.Since(d.at).Seconds()
	rate := float64(s.Messages-d.last.Messages) / max(dt, 1e-9)
	d.last, d.at = s, time.Now()
	parts := slices.Sorted(maps.Keys(s.PartitionLag))
	var lag []string
	for _, p := range parts {
		lag = append(lag, fmt.Sprintf("%d:%d", p, s.PartitionLag[p]))
	}
	line := fmt.Sprintf("%s: %d msgs (%.0f/s), %d rows, %d commits, snapshot %d, lag %d [%s]",
		d.table, s.Messages, rate, s.Rows, s.Commits, s.Snapshot, s.Lag, strings.Join(lag, " "))
	if s.Malformed > 0 {
		line += fmt.Sprintf(", %d malformed", s.Malformed)
	}
	pad := ""
	if len(line) < d.width {
		pad = strings.Repeat(" ", d.width-len(line))
	}
	d.width = len(line)
	fmt.Fprintf(d.w, "\r%s%s", line, pad)
}

func (d *ingestDisplay) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tty && d.width > 0 {
		fmt.Fprintf(d.w, "\r%s\r", strings.Repeat(" ", d.width))
	}
}

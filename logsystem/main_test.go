package logsystem_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// The package's tests run once against each broker (TestMain): the embedded one (franz-go's
// kfake, tarn serve's default) and the real Apache Kafka broker (internal/testenv, KRaft).
// broker, brokerKind and realKafka describe the one of the current run. TARN_LOG_BROKERS
// picks the brokers ("embedded", "apache-kafka", comma-separated; default both); under
// -short the real broker is left out when it is not installed (testenv.RunPerBroker).
var (
	broker     logsystem.Config
	brokerKind string
	realKafka  *testenv.KafkaServer
)

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("TARN_LOG") == "debug" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	os.Exit(testenv.RunPerBroker(m, startEmbedded, func(b testenv.Broker) {
		broker, brokerKind, realKafka = logsystem.Config{Brokers: []string{b.Addr}}, b.Kind, b.Kafka
	}))
}

func startEmbedded(ctx context.Context) (string, func(), error) {
	e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	return e.Addr(), e.Close, nil
}

var tableSeq atomic.Int64

// newTable creates a table in a fresh warehouse with the log system on and a topic of its
// own.
func newTable(t testing.TB, columns, pk string, options map[string]string) *table.Table {
	t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	opts := map[string]string{
		logsystem.OptionSystem: "kafka",
		logsystem.OptionTopic:  fmt.Sprintf("tarn-test-%d-%d", time.Now().UnixNano(), tableSeq.Add(1)),
	}
	for k, v := range options {
		opts[k] = v
	}
	var pks []string
	if pk != "" {
		pks = strings.Split(pk, ",")
	}
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: "t"},
		catalog.TableSpec{Fields: fields, PrimaryKeys: pks, Options: opts}, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// batchOf reads JSON Lines (with an optional _ROW_KIND) as one batch of the table's
// columns.
func batchOf(t testing.TB, tbl *table.Table, jsonl string) arrow.RecordBatch {
	t.Helper()
	s, err := tbl.LatestSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.NewJSONLReader(strings.NewReader(jsonl), s.Fields, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logWriter pairs a log writer with a table writer fed by it.
type logWriter struct {
	lw    *logsystem.Writer
	tw    *table.Writer
	tbl   *table.Table
	user  string
	ident int64
}

func openWriter(t testing.TB, tbl *table.Table, conn logsystem.Config) *logWriter {
	t.Helper()
	ctx := context.Background()
	lw, err := logsystem.NewWriter(ctx, tbl, conn, logsystem.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := tbl.NewWriter(ctx, lw.TableWriterOptions(table.WriterOptions{}))
	if err != nil {
		lw.Close()
		t.Fatal(err)
	}
	return &logWriter{lw: lw, tw: tw, tbl: tbl, user: fmt.Sprintf("log-test-%d", tableSeq.Add(1))}
}

func (w *logWriter) write(t testing.TB, jsonl string) {
	t.Helper()
	b := batchOf(t, w.tbl, jsonl)
	defer b.Release()
	if err := w.tw.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func (w *logWriter) commit(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	msgs, err := w.tw.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.ident++
	res, err := w.lw.Commit(ctx, table.Commit{User: w.user, Identifier: w.ident, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

// commitWithoutLog commits rows with a table writer that has no log writer (the table's
// only writer while it runs) and returns the snapshot.
func commitWithoutLog(t testing.TB, tbl *table.Table, jsonl, user string, ident int64) int64 {
	t.Helper()
	ctx := context.Background()
	tw, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Close()
	b := batchOf(t, tbl, jsonl)
	defer b.Release()
	if err := tw.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	msgs, err := tw.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tbl.Commit(ctx, table.Commit{User: user, Identifier: ident, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

func (w *logWriter) close() {
	w.tw.Close()
	w.lw.Close()
}

// rowLines renders change batches as lines "kind snapshot {json}".
func rowLines(t testing.TB, b arrow.RecordBatch) []string {
	t.Helper()
	var out []string
	n := int(b.NumCols())
	for i := 0; i < int(b.NumRows()); i++ {
		var sb strings.Builder
		sb.WriteString(b.Column(n - 2).(*array.String).Value(i))
		sb.WriteByte(' ')
		if s := b.Column(n - 1); s.IsNull(i) {
			sb.WriteString("null")
		} else {
			fmt.Fprint(&sb, s.(*array.Int64).Value(i))
		}
		sb.WriteString(" {")
		for c := 0; c < n-2; c++ {
			if c > 0 {
				sb.WriteByte(',')
			}
			f := b.Schema().Field(c)
			fmt.Fprintf(&sb, "%q:", f.Name)
			sb.WriteString(valueString(b.Column(c), i))
		}
		sb.WriteByte('}')
		out = append(out, sb.String())
	}
	return out
}

func valueString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	return a.ValueStr(i)
}

// readTail reads a tail until it has delivered snapshot last (or fails after timeout).
func readTail(t testing.TB, tl *logsystem.Tail, last int64, timeout time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lines []string
	for tl.Emitted() < last {
		b, err := tl.Next(ctx)
		if err != nil {
			t.Fatalf("tail: %v (delivered through snapshot %d, want %d; stats %+v)", err, tl.Emitted(), last, tl.Stats())
		}
		if b.Record != nil {
			lines = append(lines, rowLines(t, b.Record)...)
			b.Record.Release()
		}
	}
	return lines
}

// readFollow reads a file-based tail (table.Follow from a full snapshot) through
// snapshot last.
func readFollow(t testing.TB, tbl *table.Table, start, last int64, columns []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFull, SnapshotID: start, Columns: columns, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for {
		if p := f.Position(); !p.Full && p.Offset == 0 && p.Snapshot > last {
			return lines
		}
		b, err := f.Next(ctx)
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Record != nil {
			lines = append(lines, rowLines(t, b.Record)...)
			b.Record.Release()
		}
	}
}

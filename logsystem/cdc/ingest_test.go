package cdc_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/logsystem/cdc"
	"github.com/tarnlake/tarn/table"
)

// The package's tests run once against each broker: the embedded one and the real Apache
// Kafka broker (testenv.RunPerBroker; TARN_LOG_BROKERS selects).
var (
	broker     logsystem.Config
	brokerKind string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testenv.RunPerBroker(m, func(ctx context.Context) (string, func(), error) {
		e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		return e.Addr(), e.Close, nil
	}, func(b testenv.Broker) {
		broker, brokerKind = logsystem.Config{Brokers: []string{b.Addr}}, b.Kind
	}))
}

var topicSeq atomic.Int64

func newTopic(t testing.TB, partitions int32) string {
	t.Helper()
	topic := fmt.Sprintf("cdc-%d-%d", time.Now().UnixNano(), topicSeq.Add(1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	return topic
}

func produce(t testing.TB, topic string, recs [][2][]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for _, r := range recs {
		cl.Produce(ctx, &kgo.Record{Key: r[0], Value: r[1]}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// scan renders a table's rows as canonical JSON Lines sorted by primary key.
func scan(t testing.TB, tbl *table.Table) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), tbl, export.Options{}, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIngestGolden ingests each golden topic into a table created from its messages and
// compares the table with the expected rows; malformed messages go to the dead-letter
// topic with their error.
func TestIngestGolden(t *testing.T) {
	tests := []struct {
		name      string
		format    cdc.Format
		malformed int64
		unknown   string // a column the table lacks
	}{
		{"debezium", cdc.DebeziumJSON, 3, "email"},
		{"canal", cdc.CanalJSON, 3, "color"},
		{"maxwell", cdc.MaxwellJSON, 2, "ref"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			topic := newTopic(t, 1)
			produce(t, topic, golden(t, tc.name+".jsonl"))
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			id := catalog.Identifier{Database: "shop", Table: tc.name}
			dlq := topic + "-dlq"
			st, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: tc.format, Catalog: cat, Table: id,
				Create: true, CreateOptions: map[string]string{"bucket": "2"}, DeadLetterTopic: dlq, ExitAtEnd: true, CommitInterval: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := cat.LoadTable(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := scan(t, tbl), readFile(t, tc.name+".want"); got != want {
				t.Fatalf("table:\n%s\nwant:\n%s", got, want)
			}
			if st.Malformed != tc.malformed || st.DeadLettered != tc.malformed || st.UnknownColumns[tc.unknown] == 0 {
				t.Fatalf("stats %+v: want %d malformed, dead-lettered, and values of %q counted", st, tc.malformed, tc.unknown)
			}
			// The dead letters are the original messages, with the error in a header.
			cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			var dead []*kgo.Record
			for int64(len(dead)) < tc.malformed {
				fs := cl.PollFetches(ctx)
				if err := fs.Err(); err != nil {
					t.Fatal(err)
				}
				dead = append(dead, fs.Records()...)
			}
			for _, r := range dead {
				if len(r.Headers) == 0 || r.Headers[0].Key != "tarn-error" || !strings.Contains(string(r.Headers[0].Value), "malformed") {
					t.Fatalf("dead letter %q headers %v", r.Value, r.Headers)
				}
			}
			t.Logf("%s broker: %+v", brokerKind, st)
		})
	}
}

// TestIngestResumesFromSnapshot: a second run resumes at the offsets the last snapshot
// recorded, consuming only the new messages, and the table ends as if one run took all.
func TestIngestResumesFromSnapshot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs := golden(t, "debezium.jsonl")
	topic := newTopic(t, 1)
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "shop", Table: "users"}
	opts := cdc.Options{Source: broker, Topic: topic, Format: cdc.DebeziumJSON, Catalog: cat, Table: id, Create: true, ExitAtEnd: true, CommitInterval: 100 * time.Millisecond}
	produce(t, topic, recs[:4])
	st1, err := cdc.Ingest(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, topic, recs[4:])
	st2, err := cdc.Ingest(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Messages != 4 || st2.Messages != int64(len(recs)-4) {
		t.Fatalf("runs consumed %d and %d messages, want 4 and %d", st1.Messages, st2.Messages, len(recs)-4)
	}
	tbl, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := scan(t, tbl), readFile(t, "debezium.want"); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	// A third run has nothing to do.
	st3, err := cdc.Ingest(ctx, opts)
	if err != nil || st3.Messages != 0 || st3.Commits != 0 {
		t.Fatalf("third run: %+v, %v", st3, err)
	}
}

// TestIngestStopOnError stops at the first malformed message without committing it.
func TestIngestStopOnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := newTopic(t, 1)
	produce(t, topic, golden(t, "debezium.jsonl"))
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	_, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: cdc.DebeziumJSON, Catalog: cat,
		Table: catalog.Identifier{Database: "shop", Table: "users"}, Create: true, StopOnError: true, ExitAtEnd: true})
	if !errors.Is(err, cdc.ErrMalformed) || !strings.Contains(err.Error(), "offset 6") {
		t.Fatalf("err = %v, want the malformed message at offset 6", err)
	}
}

// TestIngestEvolutionHook: new columns reach the schema-evolution hook as nullable fields.
func TestIngestEvolutionHook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := newTopic(t, 1)
	produce(t, topic, golden(t, "maxwell.jsonl"))
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	var added []types.DataField
	hookErr := errors.New("no alter table yet")
	_, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: cdc.MaxwellJSON, Catalog: cat,
		Table: catalog.Identifier{Database: "shop", Table: "orders"}, Create: true, ExitAtEnd: true,
		AddColumns: func(_ context.Context, _ *table.Table, cols []types.DataField) (*table.Table, error) {
			added = cols
			return nil, hookErr
		}})
	if !errors.Is(err, hookErr) || len(added) != 1 || added[0].Name != "ref" || !added[0].Type.Nullable || added[0].Type.String() != "STRING" {
		t.Fatalf("err %v, hook got %+v", err, added)
	}
}

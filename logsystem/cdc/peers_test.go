package cdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// produceConfluent produces records with confluent-kafka (librdkafka, from Python).
func produceConfluent(t *testing.T, topic string, recs [][2][]byte) {
	t.Helper()
	py := testenv.Python(t)
	in, err := json.Marshal(recs) // [][]byte marshal as base64 strings, nil as null
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/produce.py", strings.Join(broker.Brokers, ","), topic)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer // librdkafka logs there
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(len(recs)) {
		t.Fatalf("confluent-kafka producer: %v\n%s\n%s", err, out, stderr.String())
	}
}

// produceKcat produces records with kcat (librdkafka's command-line client): one line per
// record, key and value separated by a tab; -Z sends an empty key or value as null.
func produceKcat(t *testing.T, topic string, recs [][2][]byte) {
	t.Helper()
	kcat := testenv.Kcat(t)
	var in bytes.Buffer
	for _, r := range recs {
		for _, b := range r {
			if bytes.ContainsAny(b, "\t\n") || (b != nil && len(b) == 0) {
				t.Fatalf("record %q cannot go through kcat's line format", b)
			}
		}
		in.Write(r[0])
		in.WriteByte('\t')
		in.Write(r[1])
		in.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-P", "-b", strings.Join(broker.Brokers, ","), "-t", topic, "-p", "0", "-K", "\t", "-Z", "-X", "acks=all")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat producer: %v\n%s", err, out)
	}
}

// TestIngestFromNonGoProducers: Debezium, Canal and Maxwell JSON topics written by
// librdkafka clients (confluent-kafka from Python, and kcat), not by Go, ingest into
// exactly the expected tables; the records the broker holds are byte for byte the golden
// messages.
func TestIngestFromNonGoProducers(t *testing.T) {
	producers := []struct {
		name    string
		produce func(t *testing.T, topic string, recs [][2][]byte)
	}{
		{"confluent-kafka", produceConfluent},
		{"kcat", produceKcat},
	}
	formats := []struct {
		name      string
		format    cdc.Format
		malformed int64
	}{
		{"debezium", cdc.DebeziumJSON, 3},
		{"canal", cdc.CanalJSON, 3},
		{"maxwell", cdc.MaxwellJSON, 2},
	}
	for _, p := range producers {
		for _, f := range formats {
			t.Run(p.name+"/"+f.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				recs := golden(t, f.name+".jsonl")
				topic := newTopic(t, 1)
				p.produce(t, topic, recs)
				checkTopic(t, topic, recs)
				cat := catalog.New(fileio.NewLocal(), t.TempDir())
				id := catalog.Identifier{Database: "shop", Table: f.name}
				st, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: f.format, Catalog: cat, Table: id,
					Create: true, CreateOptions: map[string]string{"bucket": "2"}, ExitAtEnd: true, CommitInterval: 200 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				tbl, err := cat.LoadTable(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := scan(t, tbl), readFile(t, f.name+".want"); got != want {
					t.Fatalf("table:\n%s\nwant:\n%s", got, want)
				}
				if st.Messages != int64(len(recs)) || st.Malformed != f.malformed {
					t.Fatalf("stats %+v: want %d messages, %d malformed", st, len(recs), f.malformed)
				}
				t.Logf("%s broker, %s producer: %+v", brokerKind, p.name, st)
			})
		}
	}
}

// checkTopic reads the topic back and compares its records with recs, key and value.
func checkTopic(t *testing.T, topic string, recs [][2][]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var got []*kgo.Record
	for len(got) < len(recs) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("reading %s back (%d of %d records): %v", topic, len(got), len(recs), err)
		}
		got = append(got, fs.Records()...)
	}
	for i, r := range got {
		if !bytes.Equal(r.Key, recs[i][0]) || !bytes.Equal(r.Value, recs[i][1]) || (r.Value == nil) != (recs[i][1] == nil) {
			t.Fatalf("record %d: key %q value %q, want %q %q", i, r.Key, r.Value, recs[i][0], recs[i][1])
		}
	}
}

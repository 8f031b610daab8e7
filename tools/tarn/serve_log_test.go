package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	arrowflight "github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/logsystem"
)

var (
	kafkaLine       = regexp.MustCompile(`Kafka log\s+embedded broker (\S+)`)
	plainFlightLine = regexp.MustCompile(`Arrow Flight\s+grpc://(\S+)`)
)

// TestServeKafkaLog: `tarn serve` starts the embedded Kafka broker by default; rows
// uploaded over HTTP into a table with tarn.log.system=kafka land in its log topic (read
// here with read_committed, as a plain Kafka client would) and reach a Flight tail, which
// reads the table's changes from the log.
func TestServeKafkaLog(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := serve(t, "--warehouse", dir, "--http", "127.0.0.1:0", "--flight", "127.0.0.1:0",
		"--kafka-embedded-addr", "127.0.0.1:0", "--no-compaction")
	km := kafkaLine.FindStringSubmatch(out.String())
	fm := plainFlightLine.FindStringSubmatch(out.String())
	if km == nil || fm == nil {
		t.Fatalf("no Kafka or Flight address in the connect info:\n%s", out.String())
	}
	if st, b := post(t, url+"/api/v1/databases", "", `{"name":"bank"}`); st != http.StatusCreated {
		t.Fatalf("create database: %d %s", st, b)
	}
	if st, b := post(t, url+"/api/v1/databases/bank/tables", "", `{"name":"acct","columns":"id BIGINT NOT NULL, balance BIGINT",
		"primaryKeys":["id"],"options":{"bucket":"2","tarn.log.system":"kafka"}}`); st != http.StatusCreated {
		t.Fatalf("create table: %d %s", st, b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := grpc.NewClient(fm[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := arrowflight.NewFlightServiceClient(conn)
	tk, _ := json.Marshal(map[string]any{"tail": map[string]any{"table": "bank.acct", "start": "full"}})
	stream, err := client.DoGet(ctx, &arrowflight.Ticket{Ticket: tk})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := arrowflight.NewRecordReader(stream)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()

	const commits, perCommit = 5, 10
	for c := 0; c < commits; c++ {
		var rows []string
		for i := 0; i < perCommit; i++ {
			rows = append(rows, fmt.Sprintf(`{"id":%d,"balance":%d}`, i, c*100+i))
		}
		if st, b := post(t, url+"/api/v1/databases/bank/tables/acct/rows", "", strings.Join(rows, "\n")); st != http.StatusOK {
			t.Fatalf("upload %d: %d %s", c, st, b)
		}
	}

	// The tail sees every change, snapshot by snapshot.
	seen := map[int64]int{}
	for len(seen) < commits || seen[int64(commits)] < perCommit {
		if !rdr.Next() {
			t.Fatalf("tail ended: %v (seen %v)", rdr.Err(), seen)
		}
		var meta tarnflight.TailMetadata
		if err := json.Unmarshal(rdr.LatestAppMetadata(), &meta); err != nil {
			t.Fatal(err)
		}
		b := rdr.RecordBatch()
		snaps := b.Column(int(b.NumCols()) - 1).(*array.Int64)
		for i := 0; i < snaps.Len(); i++ {
			seen[snaps.Value(i)]++
		}
	}
	for s := int64(1); s <= commits; s++ {
		if seen[s] != perCommit {
			t.Fatalf("tail rows per snapshot: %v, want %d each", seen, perCommit)
		}
	}

	// The tail's commit-to-send latency is measured.
	metricsText := scrapeMetrics(t, url)
	if m := regexp.MustCompile(`(?m)^tarn_flight_tail_latency_seconds_count (\d+)`).FindSubmatch(metricsText); m == nil || string(m[1]) == "0" {
		t.Errorf("no tail latency observed:\n%s", metricsText)
	}

	// The log topic holds every row, committed.
	topic := logsystem.DefaultTopic("bank.acct")
	cl, err := kgo.NewClient(kgo.SeedBrokers(km[1]), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rows := 0
	for deadline := time.Now().Add(30 * time.Second); rows < commits*perCommit && time.Now().Before(deadline); {
		fctx, fcancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(fctx)
		fcancel()
		fs.EachRecord(func(r *kgo.Record) {
			d, err := logsystem.Decode(r.Value)
			if err != nil {
				t.Errorf("record at %d/%d: %v", r.Partition, r.Offset, err)
				return
			}
			if d.Row != nil {
				rows++
			}
		})
	}
	if rows != commits*perCommit {
		t.Fatalf("log topic %s holds %d rows, want %d", topic, rows, commits*perCommit)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeCDC: a topic listed under kafka.cdc in the config file is ingested while the
// server runs: the table is created from the first message, updates and deletes apply,
// and a column that appears in later messages is added to the table.
func TestServeCDC(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tarn.yaml")
	if err := os.WriteFile(cfg, []byte(`
kafka:
  embedded_addr: 127.0.0.1:0
  cdc:
    - topic: canal-acct
      format: canal-json
      table: bank.acct
      create: true
      options: {bucket: "2"}
      commit_interval: 100ms
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "wh")
	_, out, stop := serve(t, "--config", cfg, "--warehouse", wh, "--http", "127.0.0.1:0", "--flight", "off", "--no-compaction")
	km := kafkaLine.FindStringSubmatch(out.String())
	if km == nil {
		t.Fatalf("no Kafka address in the connect info:\n%s", out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(km[1]), kgo.DefaultProduceTopic("canal-acct"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "canal-acct"); err != nil {
		t.Fatal(err)
	}
	types := `"mysqlType":{"id":"int(11)","name":"varchar(64)"},"pkNames":["id"],"database":"bank","table":"acct","isDdl":false`
	msgs := []string{
		`{"data":[{"id":"1","name":"a"},{"id":"2","name":"x"}],` + types + `,"old":null,"type":"INSERT"}`,
		`{"data":[{"id":"1","name":"b"}],` + types + `,"old":[{"name":"a"}],"type":"UPDATE"}`,
		`{"data":[{"id":"2","name":"x"}],` + types + `,"old":null,"type":"DELETE"}`,
		`not json at all`,
		`{"data":[{"id":"3","name":"c","email":"c@x"}],"mysqlType":{"id":"int(11)","name":"varchar(64)","email":"varchar(64)"},"pkNames":["id"],"database":"bank","table":"acct","isDdl":false,"old":null,"type":"INSERT"}`,
	}
	for _, m := range msgs {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(m)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"id":1,"name":"b","email":null}` + "\n" + `{"id":3,"name":"c","email":"c@x"}` + "\n"
	cat := catalog.New(fileio.NewLocal(), wh)
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		tbl, err := cat.LoadTable(ctx, catalog.Identifier{Database: "bank", Table: "acct"})
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		if _, err := export.Write(ctx, tbl, export.Options{}, &buf); err != nil {
			continue
		}
		if got = buf.String(); got == want {
			break
		}
	}
	if got != want {
		t.Fatalf("table bank.acct:\n%s\nwant:\n%s\nserver output:\n%s", got, want, out.String())
	}
	// The ingestion's metrics, per table and topic: 4 messages ingested, 1 malformed, no
	// lag, and the snapshot it committed.
	hm := httpLine.FindStringSubmatch(out.String())
	if hm == nil {
		t.Fatalf("no HTTP address in the connect info:\n%s", out.String())
	}
	labels := `{table="bank.acct",topic="canal-acct"}`
	wantMetrics := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^tarn_cdc_messages_total\{result="ingested",table="bank.acct",topic="canal-acct"\} 4$`),
		regexp.MustCompile(`(?m)^tarn_cdc_messages_total\{result="malformed",table="bank.acct",topic="canal-acct"\} 1$`),
		regexp.MustCompile(`(?m)^tarn_cdc_lag_messages` + regexp.QuoteMeta(labels) + ` 0$`),
		regexp.MustCompile(`(?m)^tarn_cdc_snapshot` + regexp.QuoteMeta(labels) + ` [1-9]\d*$`),
	}
	var metricsText []byte
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		metricsText = scrapeMetrics(t, hm[1])
		missing := 0
		for _, re := range wantMetrics {
			if !re.Match(metricsText) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CDC metrics: want %v in\n%s", wantMetrics, metricsText)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// scrapeMetrics reads the Prometheus metrics of the tarn serve at base (its HTTP URL).
func scrapeMetrics(t *testing.T, base string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

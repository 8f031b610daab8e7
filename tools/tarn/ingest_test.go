package main

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/logsystem"
)

// TestIngestKafka runs `tarn ingest kafka` on a Canal topic of the embedded broker: the
// table is created from the messages, malformed ones go to the dead-letter topic, and a
// second run resumes where the first committed.
func TestIngestKafka(t *testing.T) {
	ctx := context.Background()
	e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.DefaultProduceTopic("shop"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "shop"); err != nil {
		t.Fatal(err)
	}
	send := func(values ...string) {
		for _, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	const mt = `"mysqlType":{"id":"int(11)","name":"varchar(32)","qty":"int(11)"},"pkNames":["id"],"isDdl":false,"database":"shop","table":"items"`
	send(`{"data":[{"id":"1","name":"pen","qty":"2"},{"id":"2","name":"ink","qty":"1"}],`+mt+`,"type":"INSERT"}`,
		`{"data":[{"id":"1","name":"pen","qty":"5"}],"old":[{"qty":"2"}],`+mt+`,"type":"UPDATE"}`,
		`not json at all`)
	wh := t.TempDir()
	args := []string{"ingest", "kafka", "--warehouse", wh, "--brokers", e.Addr(), "--topic", "shop", "--format", "canal-json",
		"--create", "--option", "bucket=2", "--exit-at-end", "--dead-letter", "shop-dlq", "--commit-interval", "200ms", "shop.items"}
	out, errOut, code := tarn(t, nil, args...)
	if code != 0 || !strings.Contains(out, "ingested 3 messages into shop.items") || !strings.Contains(out, "1 malformed (1 dead-lettered)") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	send(`{"data":[{"id":"2","name":"ink","qty":"1"}],` + mt + `,"type":"DELETE"}`)
	out, errOut, code = tarn(t, nil, args...)
	if code != 0 || !strings.Contains(out, "ingested 1 messages") {
		t.Fatalf("second run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, errOut, code = tarn(t, nil, "scan", "--warehouse", wh, "--format", "jsonl", "shop.items")
	if want := `{"id":1,"name":"pen","qty":5}` + "\n"; code != 0 || out != want {
		t.Fatalf("scan: exit %d\n%s\nwant %s\nstderr %s", code, out, want, errOut)
	}
	_, errOut, code = tarn(t, nil, "ingest", "kafka", "--warehouse", wh, "--topic", "shop", "--format", "xml", "shop.items")
	if code != 2 {
		t.Fatalf("bad flags: exit %d, %s", code, errOut)
	}
}

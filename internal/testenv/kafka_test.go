package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// TestKafka starts the real broker and talks to both listeners: produce and consume on
// PLAINTEXT, metadata over SASL/PLAIN, and a refused login with a wrong password; then
// kills it (SIGKILL), restarts it and reads the record again.
func TestKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starting a JVM broker takes tens of seconds; skipped under -short")
	}
	k := Kafka(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: 1, Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 || string(recs[0].Value) != "v" || recs[0].Partition != 1 {
		t.Fatalf("consumed %v", recs)
	}

	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"right password", k.SASLPassword, true},
		{"wrong password", "nope", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(k.SASLAddr), kgo.RetryTimeout(3*time.Second),
				kgo.SASL(plain.Auth{User: k.SASLUser, Pass: tc.password}.AsMechanism()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err = cl.Ping(pctx)
			if (err == nil) != tc.ok {
				t.Fatalf("ping over SASL with %s: %v", tc.name, err)
			}
		})
	}

	// SIGKILL and restart: the broker comes back on the same address with the record.
	k.Kill()
	if err := k.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	fs = again.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("after a restart consumed %v", recs)
	}
}

package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Broker kinds a Kafka test suite runs against.
const (
	BrokerEmbedded    = "embedded"     // Tarn's in-process broker (franz-go's kfake)
	BrokerApacheKafka = "apache-kafka" // the real Apache Kafka broker (StartKafka)
)

// Broker is the Kafka cluster of one run of a suite (RunPerBroker).
type Broker struct {
	Kind  string       // BrokerEmbedded or BrokerApacheKafka
	Addr  string       // bootstrap address, host:port
	Kafka *KafkaServer // the Apache Kafka broker; nil for the embedded one
}

// RunPerBroker runs a package's tests (m.Run) once per broker, for a TestMain: first
// against the embedded broker (started by startEmbedded), then against the Apache Kafka
// broker, which starts in the background during the first run. use is called before each
// run to point the package's tests at that broker. It returns the exit code: non-zero if
// any run failed.
//
// TARN_LOG_BROKERS selects the brokers ("embedded", "apache-kafka", comma-separated;
// default both). Under -short the Apache Kafka broker is left out when it is not installed
// yet. Fuzzing runs against the embedded broker only, benchmarks too unless
// TARN_BENCH_KAFKA is set (then against Apache Kafka only).
func RunPerBroker(m *testing.M, startEmbedded func(context.Context) (addr string, stop func(), err error), use func(Broker)) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	kinds, err := brokerKinds()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fuzzing := flagSet("test.fuzz") || flagSet("test.fuzzworker")
	ctx := context.Background()
	type started struct {
		k    *KafkaServer
		stop func()
		err  error
	}
	var kafka chan started
	if slices.Contains(kinds, BrokerApacheKafka) {
		kafka = make(chan started, 1)
		go func() {
			k, stop, err := StartKafka(ctx)
			kafka <- started{k, stop, err}
		}()
	}
	code := 0
	for _, kind := range kinds {
		var b Broker
		var stop func()
		switch kind {
		case BrokerEmbedded:
			addr, s, err := startEmbedded(ctx)
			if err != nil {
				fmt.Fprintln(os.Stderr, "testenv: embedded broker:", err)
				return 1
			}
			b, stop = Broker{Kind: kind, Addr: addr}, s
		case BrokerApacheKafka:
			r := <-kafka
			if r.err != nil {
				fmt.Fprintln(os.Stderr, r.err)
				return 1
			}
			b, stop = Broker{Kind: kind, Addr: r.k.Addr, Kafka: r.k}, r.stop
		}
		desc := "the embedded broker"
		if b.Kafka != nil {
			desc = "Apache Kafka " + KafkaVersion + " (KRaft, one node)"
		}
		if !fuzzing {
			fmt.Printf("=== brokers: running the tests against %s at %s\n", desc, b.Addr)
		}
		use(b)
		if c := m.Run(); c != 0 {
			if !fuzzing {
				fmt.Printf("=== brokers: tests failed against %s\n", desc)
			}
			code = c
		}
		stop()
	}
	return code
}

func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != "" && f.Value.String() != "false"
}

func brokerKinds() ([]string, error) {
	kinds := []string{BrokerEmbedded, BrokerApacheKafka}
	if v := os.Getenv("TARN_LOG_BROKERS"); v != "" {
		kinds = nil
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if k != BrokerEmbedded && k != BrokerApacheKafka {
				return nil, fmt.Errorf("TARN_LOG_BROKERS: unknown broker %q (know %s, %s)", k, BrokerEmbedded, BrokerApacheKafka)
			}
			kinds = append(kinds, k)
		}
	}
	switch {
	case flagSet("test.fuzz"):
		return []string{BrokerEmbedded}, nil
	case flagSet("test.bench") && os.Getenv("TARN_BENCH_KAFKA") != "":
		return []string{BrokerApacheKafka}, nil
	case flagSet("test.bench"):
		return []string{BrokerEmbedded}, nil
	}
	if testing.Short() && !KafkaInstalled() {
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == BrokerApacheKafka })
	}
	return kinds, nil
}

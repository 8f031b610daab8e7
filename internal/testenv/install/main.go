// Command install builds and caches the peers that tests start, so that the
// first test package does not spend its timeout building them:
//
//	go run ./internal/testenv/install            # every peer: minio, versitygw, kafka, python, jdbc
//	go run ./internal/testenv/install minio      # just MinIO
//
// "python" is the virtualenv of the Python clients (scripts/requirements-test.txt:
// pyarrow, the ADBC Flight SQL driver, confluent-kafka, fastavro); "jdbc" is Apache Arrow's
// Flight SQL JDBC driver from Maven Central.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
)

var peers = map[string]func(context.Context) (string, error){
	"minio":     testenv.InstallMinIO,
	"versitygw": testenv.InstallVersityGW,
	"kafka":     testenv.InstallKafka,
	"python":    testenv.InstallPython,
	"jdbc":      testenv.InstallFlightSQLJDBC,
}

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{"minio", "versitygw", "kafka", "python", "jdbc"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, name := range names {
		install, ok := peers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "install: unknown peer %q (know minio, versitygw, kafka, python, jdbc)\n", name)
			os.Exit(2)
		}
		start := time.Now()
		bin, err := install(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "install %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %s (%s)\n", name, bin, time.Since(start).Round(time.Millisecond))
	}
}

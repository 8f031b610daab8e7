package cdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/cdcgen"
	"github.com/tarnlake/tarn/internal/testenv"
)

// TestIngestKilledRepeatedly: `tarn ingest kafka` is killed with SIGKILL at random moments
// and started again until it has consumed the whole topic. Every message lands exactly
// once: the table has changelog-producer input, which keeps every row written, and the
// changelog rows of all snapshots are exactly the rows the messages carry (a message
// ingested twice adds rows, a lost one lacks them); the table holds each key's last row.
func TestIngestKilledRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("kills ingestion processes repeatedly")
	}
	const n, keys = 40000, 4000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := testenv.TarnBinary(t)
	topic := newTopic(t, 2)
	produce(t, topic, debeziumMessages(t, n, keys))

	wh := t.TempDir()
	cat := catalog.New(fileio.NewLocal(), wh)
	id := catalog.Identifier{Database: "shop", Table: "customers"}
	fields, err := types.ParseColumns(cdcgen.Columns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2", "changelog-producer": "input"}}, false); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := 0
	for run := 0; ; run++ {
		if run > 60 {
			t.Fatalf("ingestion did not finish in %d runs", run)
		}
		cmd := exec.CommandContext(ctx, bin, "ingest", "kafka", "--warehouse", wh, "--brokers", strings.Join(broker.Brokers, ","),
			"--topic", topic, "--format", "debezium-json", "--commit-interval", "50ms", "--exit-at-end", "--stop-on-error", "shop.customers")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// The first runs are killed after 100-700ms; later ones may finish.
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Duration(100+rng.IntN(600)) * time.Millisecond):
			if kills < 12 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				kills++
			}
			err = <-done
		}
		if err == nil {
			break
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: %v\n%s", run, err, errb.String())
		}
	}
	t.Logf("%d kills", kills)

	tbl, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tbl.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var changelogRows int64
	for _, sid := range ids {
		snap, err := tbl.Snapshot(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		if snap.ChangelogRecordCount != nil {
			changelogRows += *snap.ChangelogRecordCount
		}
	}
	// One in four messages is an update: a -U and a +U row; the others one +I row.
	if want := int64(n + n/4); changelogRows != want {
		t.Fatalf("the snapshots' changelogs hold %d rows, the %d messages carry %d", changelogRows, n, want)
	}
	lines := strings.Split(strings.TrimSpace(scan(t, tbl)), "\n")
	if len(lines) != keys {
		t.Fatalf("%d rows, want %d keys", len(lines), keys)
	}
	for _, l := range lines {
		var row struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		// The key's last message is n - keys + id.
		if want := fmt.Sprintf("customer-%d", n-keys+row.ID); row.Name != want {
			t.Fatalf("key %d holds %q, want %q (its last message)", row.ID, row.Name, want)
		}
	}
}

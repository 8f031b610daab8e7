package logsystem_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/table"
)

const helperEnv = "TARN_LOGSYSTEM_HELPER"

// helperMain runs in a child process: it writes rows through a log writer, flushes them
// to the topic without committing the snapshot, says so, and waits to be killed.
func helperMain() int {
	ctx := context.Background()
	path, brokers, rows := os.Getenv(helperEnv), os.Getenv("TARN_HELPER_BROKERS"), os.Getenv("TARN_HELPER_ROWS")
	tbl, err := table.Open(ctx, fileio.NewLocal(), path)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	w := openWriter(&helperTB{}, tbl, logsystem.Config{Brokers: strings.Split(brokers, ",")})
	w.write(&helperTB{}, rows)
	if err := w.lw.Flush(ctx); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("flushed")
	time.Sleep(time.Hour)
	return 0
}

// helperTB is the testing.TB of the child process: failures exit.
type helperTB struct{ testing.TB }

func (*helperTB) Helper() {}
func (*helperTB) Fatal(args ...any) {
	fmt.Println(append([]any{"error:"}, args...)...)
	os.Exit(1)
}

// killedWriter starts a child that writes rows to the log of tbl and kills it (SIGKILL)
// once they are in Kafka, before any snapshot commit.
func killedWriter(t *testing.T, tbl *table.Table, rows string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+tbl.Path(), "TARN_HELPER_BROKERS="+strings.Join(broker.Brokers, ","), "TARN_HELPER_ROWS="+rows)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	if strings.TrimSpace(line) != "flushed" {
		t.Fatalf("writer process: %q", line)
	}
}

// consumeAll reads every visible record of a topic (read_committed or not) until it has
// been idle for a moment.
func consumeAll(t *testing.T, topic string, committed bool) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(broker.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for idle := 0; idle < 3; {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r); n++ })
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}

type seen struct {
	rows    []string // "partition:seq"
	markers []int64
}

func decodeAll(t *testing.T, recs []*kgo.Record) seen {
	t.Helper()
	var s seen
	for _, r := range recs {
		d, err := logsystem.Decode(r.Value)
		if err != nil {
			t.Fatalf("record %d/%d: %v", r.Partition, r.Offset, err)
		}
		if d.Row != nil {
			s.rows = append(s.rows, fmt.Sprintf("%d:%d", r.Partition, d.Row.Sequence))
		} else {
			s.markers = append(s.markers, d.Marker.Snapshot)
		}
	}
	slices.Sort(s.rows)
	slices.Sort(s.markers)
	return s
}

func scanLines(t *testing.T, tbl *table.Table) []string {
	t.Helper()
	return readFollow(t, tbl, 0, 1<<62, nil)
}

// TestTransactionalKilledWriter: a writer killed between its log write and its snapshot
// commit leaves nothing a read_committed consumer sees; the restarted writer fences it and
// loses nothing of its own.
func TestTransactionalKilledWriter(t *testing.T) {
	tbl := newTable(t, "id INT NOT NULL, v STRING", "id", map[string]string{"bucket": "2"})
	ctx := context.Background()
	w := openWriter(t, tbl, broker)
	w.write(t, `{"id":1,"v":"a"}`+"\n"+`{"id":2,"v":"b"}`)
	s1 := w.commit(t)
	w.close()
	topic := w.lw.Config().Topic

	killedWriter(t, tbl, `{"id":1,"v":"lost"}`+"\n"+`{"id":3,"v":"lost"}`)
	if got := decodeAll(t, consumeAll(t, topic, false)); len(got.rows) != 4 {
		t.Fatalf("read_uncommitted sees %v; want the 2 committed and 2 uncommitted rows", got.rows)
	}

	// The restart fences the dead writer (its transaction is aborted) and writes anew.
	w2 := openWriter(t, tbl, broker)
	defer w2.close()
	w2.write(t, `{"id":2,"v":"b2"}`+"\n"+`{"id":4,"v":"d"}`)
	s2 := w2.commit(t)

	got := decodeAll(t, consumeAll(t, topic, true))
	// Committed: ids 1,2 (seq 0 in their buckets... ) and 2,4; the killed rows are gone.
	if len(got.rows) != 4 || !slices.Equal(got.markers, []int64{s1, s1, s2, s2}) {
		t.Fatalf("read_committed sees rows %v markers %v; want 4 rows and markers of snapshots %d, %d on both partitions", got.rows, got.markers, s1, s2)
	}
	snap, err := tbl.Snapshot(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	offs, ok, err := logsystem.SnapshotOffsets(snap)
	if err != nil || !ok || len(offs) != 2 {
		t.Fatalf("snapshot %d offsets %v %v %v", s2, offs, ok, err)
	}
	tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: s1, MarkerTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	gotTail := readTail(t, tl, s2, time.Minute)
	want := readFollow(t, tbl, s1, s2, nil)
	if !slices.Equal(gotTail, want) {
		t.Fatalf("hybrid tail against the file tail: %s", testenv.DiffLines(gotTail, want))
	}
	if st := tl.Stats(); st.LogSnapshots != 1 {
		t.Fatalf("stats %+v: want snapshot %d from the log", st, s2)
	}
	for _, l := range want {
		if strings.Contains(l, "lost") {
			t.Fatalf("killed writer's row visible: %s", l)
		}
	}
	t.Logf("%s broker; tail: %v", brokerKind, gotTail)
}

// TestSASLPlain writes and tails a table's log over the real broker's SASL/PLAIN listener.
func TestSASLPlain(t *testing.T) {
	if realKafka == nil {
		t.Skip("needs the Apache Kafka broker (SASL listener)")
	}
	ctx := context.Background()
	conf := logsystem.Config{Brokers: []string{realKafka.SASLAddr}, SASLMechanism: "PLAIN", SASLUser: realKafka.SASLUser, SASLPassword: realKafka.SASLPassword}
	tbl := newTable(t, "id INT NOT NULL, v STRING", "id", map[string]string{"bucket": "1"})
	w := openWriter(t, tbl, conf)
	defer w.close()
	w.write(t, `{"id":1,"v":"a"}`)
	s1 := w.commit(t)
	tl, err := logsystem.NewTail(ctx, tbl, conf, logsystem.TailOptions{Snapshot: s1})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	readTail(t, tl, s1, time.Minute)
	w.write(t, `{"id":2,"v":"b"}`)
	s2 := w.commit(t)
	if got := readTail(t, tl, s2, time.Minute); len(got) != 1 || tl.Stats().LogSnapshots != 1 {
		t.Fatalf("over SASL: %v, stats %+v", got, tl.Stats())
	}
	bad := conf
	bad.SASLPassword = "wrong"
	bad.DialTimeout = 5 * time.Second
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := logsystem.NewWriter(cctx, tbl, bad, logsystem.WriterOptions{}); err == nil {
		t.Fatal("a wrong SASL password was accepted")
	}
}

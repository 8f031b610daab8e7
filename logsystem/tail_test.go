package logsystem_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/table"
)

// randomRows returns n JSON Lines of the model table with random keys and kinds.
func randomRows(r *rand.Rand, n int, step int) string {
	var b strings.Builder
	kinds := []string{"+I", "+I", "+I", "+U", "-D"}
	for i := 0; i < n; i++ {
		dt := []string{"a", "b"}[r.IntN(2)]
		fmt.Fprintf(&b, `{"dt":%q,"k":%d,"v":"s%d-%d","n":%d,"_ROW_KIND":%q}`+"\n", dt, r.IntN(12), step, i, r.Int64N(1000), kinds[r.IntN(len(kinds))])
	}
	return b.String()
}

// TestHybridTailModel runs random sequences of writes, commits, writer restarts, aborted
// commits, commits by writers without the log and compactions, then starts a hybrid tail
// at every snapshot: each must yield exactly the changes a file-based tail yields, in
// order, with no gap or duplicate at the switch.
func TestHybridTailModel(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 7))
			tbl := newTable(t, "dt STRING NOT NULL, k INT NOT NULL, v STRING, n BIGINT", "dt,k",
				map[string]string{"bucket": "3", "partition": "dt"})
			w := openWriter(t, tbl, broker)
			defer func() { w.close() }()
			dirty := false
			var plain int64
			// A live tail follows from the first snapshot while the operations run.
			w.write(t, randomRows(r, 5, -1))
			first := w.commit(t)
			live, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: first, MarkerTimeout: 3 * time.Second, PollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			lastCh := make(chan int64, 1)
			type liveResult struct {
				lines []string
				stats logsystem.TailStats
				err   error
			}
			liveDone := make(chan liveResult, 1)
			go func() {
				defer live.Close()
				var res liveResult
				last := int64(1 << 62)
				lctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
				defer cancel()
				for live.Emitted() < last {
					select {
					case last = <-lastCh:
						continue
					default:
					}
					nctx, ncancel := context.WithTimeout(lctx, 300*time.Millisecond)
					b, err := live.Next(nctx)
					timedOut := errors.Is(nctx.Err(), context.DeadlineExceeded)
					ncancel()
					if err != nil && lctx.Err() == nil && timedOut {
						continue // no news yet: look for the last snapshot again
					}
					if err != nil {
						res.err = err
						break
					}
					if b.Record != nil {
						res.lines = append(res.lines, rowLines(t, b.Record)...)
						b.Record.Release()
					}
				}
				res.stats = live.Stats()
				liveDone <- res
			}()
			for step := 0; step < 60; step++ {
				switch op := r.IntN(20); {
				case op < 9:
					w.write(t, randomRows(r, 1+r.IntN(15), step))
					dirty = true
				case op < 14:
					if dirty {
						w.commit(t)
						dirty = false
					}
				case op < 16:
					// Restart: uncommitted rows are dropped (the transaction aborts).
					w.close()
					w = openWriter(t, tbl, broker)
					dirty = false
				case op == 16:
					// An explicit abort: the transaction's records never become visible.
					if err := w.lw.Abort(ctx); err != nil {
						t.Fatal(err)
					}
					w.close()
					w = openWriter(t, tbl, broker)
					dirty = false
				case op == 17:
					// A writer without the log commits: the tail reads that snapshot from files.
					plain++
					commitWithoutLog(t, tbl, randomRows(r, 3, step), "plain", plain)
					// The log writer's sequence numbers must stay above the plain writer's.
					w.close()
					w = openWriter(t, tbl, broker)
					dirty = false
				case op >= 18:
					if _, err := tbl.Compact(ctx, table.CompactOptions{Full: r.IntN(2) == 0}); err != nil {
						t.Fatal(err)
					}
					w.close()
					w = openWriter(t, tbl, broker)
					dirty = false
				}
			}
			if dirty {
				w.commit(t)
			}
			last, _, err := tbl.LatestSnapshotID(ctx)
			if err != nil || last == 0 {
				t.Fatalf("latest snapshot %d, %v", last, err)
			}
			lastCh <- last
			lr := <-liveDone
			snaps0, _ := tbl.Snapshots(ctx)
			for _, s := range snaps0 {
				_, hasLog, _ := logsystem.SnapshotOffsets(s)
				t.Logf("snapshot %d %s user %s log=%v", s.ID, s.CommitKind, s.CommitUser, hasLog)
				splits, _ := tbl.SnapshotChanges(ctx, s, nil)
				for _, sp := range splits {
					for _, f := range sp.Files {
						t.Logf("   %v bucket %d seq %d..%d rows %d", sp.PartitionValues, sp.Bucket, f.MinSequenceNumber, f.MaxSequenceNumber, f.RowCount)
					}
				}
			}
			if lr.err != nil {
				t.Fatalf("live tail: %v (stats %+v)", lr.err, lr.stats)
			}
			if want := readFollow(t, tbl, first, last, nil); !slices.Equal(lr.lines, want) {
				t.Fatalf("live tail from snapshot %d (stats %+v), against the file tail: %s", first, lr.stats, testenv.DiffLines(lr.lines, want))
			}
			t.Logf("live tail: %+v", lr.stats)
			var kinds []string
			snaps, _ := tbl.Snapshots(ctx)
			for _, s := range snaps {
				_, hasLog, _ := logsystem.SnapshotOffsets(s)
				kinds = append(kinds, fmt.Sprintf("%d:%s:log=%v", s.ID, s.CommitKind, hasLog))
			}
			var total logsystem.TailStats
			for start := int64(1); start <= last; start++ {
				tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: start, MarkerTimeout: 3 * time.Second, PollInterval: 20 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				got := readTail(t, tl, last, 2*time.Minute)
				st := tl.Stats()
				tl.Close()
				want := readFollow(t, tbl, start, last, nil)
				if !slices.Equal(got, want) {
					t.Fatalf("tail from snapshot %d (stats %+v), against the file tail: %s", start, st, testenv.DiffLines(got, want))
				}
				total.LogSnapshots += st.LogSnapshots
				total.FileSnapshots += st.FileSnapshots
				total.Duplicates += st.Duplicates
				total.ToLog += st.ToLog
				total.ToFiles += st.ToFiles
			}
			if total.LogSnapshots == 0 {
				t.Fatalf("no snapshot came from the log: %+v", total)
			}
			t.Logf("%s broker, snapshots %v; tails from each: %+v", brokerKind, kinds, total)
		})
	}
}

// TestTailFallsBackWhenRetentionPassed deletes the log's head (as retention would): a
// tail starting before it reads files, then returns to the log for later snapshots.
func TestTailFallsBackWhenRetentionPassed(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, "k INT NOT NULL, v STRING", "k", map[string]string{"bucket": "2"})
	w := openWriter(t, tbl, broker)
	defer w.close()
	for i := 0; i < 4; i++ {
		w.write(t, fmt.Sprintf(`{"k":%d,"v":"a"}`+"\n"+`{"k":%d,"v":"b"}`, i, i+10))
		w.commit(t)
	}
	snap3, err := tbl.Snapshot(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	offs, _, _ := logsystem.SnapshotOffsets(snap3)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	del := kadm.Offsets{}
	for p, o := range offs {
		del.Add(kadm.Offset{Topic: w.lw.Config().Topic, Partition: p, At: o})
	}
	if _, err := kadm.NewClient(cl).DeleteRecords(ctx, del); err != nil {
		t.Fatal(err)
	}
	w.write(t, `{"k":99,"v":"late"}`)
	last := w.commit(t)
	tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: 1, LogRetryInterval: time.Millisecond, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	got := readTail(t, tl, last, time.Minute)
	want := readFollow(t, tbl, 1, last, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("tail against the file tail: %s", testenv.DiffLines(got, want))
	}
	if st := tl.Stats(); st.ToLog == 0 || st.FileSnapshots < 3 {
		t.Fatalf("stats %+v: want snapshots 1..3 from files, then the log", st)
	}
}

// TestTailWhenKafkaIsDown: a tail on an embedded broker that goes away falls back to
// files for a snapshot whose markers never come, and keeps following the table.
func TestTailWhenKafkaIsDown(t *testing.T) {
	if brokerKind != testenv.BrokerEmbedded {
		t.Skip("starts an embedded broker of its own: runs once, in the embedded broker's run")
	}
	ctx := context.Background()
	e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tbl := newTable(t, "k INT NOT NULL, v STRING", "k", map[string]string{"bucket": "1"})
	w := openWriter(t, tbl, e.Config())
	w.write(t, `{"k":1,"v":"a"}`)
	s1 := w.commit(t)
	tl, err := logsystem.NewTail(ctx, tbl, e.Config(), logsystem.TailOptions{Snapshot: s1, MarkerTimeout: time.Second, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	readTail(t, tl, s1, time.Minute)
	w.write(t, `{"k":2,"v":"b"}`)
	s2 := w.commit(t)
	if got := readTail(t, tl, s2, time.Minute); len(got) != 1 || !tl.OnLog() {
		t.Fatalf("snapshot %d from the log: %v (on log %v)", s2, got, tl.OnLog())
	}
	// The broker dies after the log records of snapshot 3 were written but before its
	// markers: the snapshot is committed with log offsets, yet the log never completes it.
	w.write(t, `{"k":3,"v":"c"}`)
	if err := w.lw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := w.tw.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	w.tw.Close()
	props := map[string]string{logsystem.PropOffsets: w.lw.Offsets().Marshal()}
	res, err := tbl.Commit(ctx, table.Commit{User: "crashed", Identifier: 1, Messages: msgs, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	got := readTail(t, tl, res.SnapshotID, time.Minute)
	if len(got) != 1 || !strings.Contains(got[0], `"k":3`) || tl.OnLog() {
		t.Fatalf("snapshot %d: %v (on log %v, stats %+v)", res.SnapshotID, got, tl.OnLog(), tl.Stats())
	}
	w.lw.Close()
}

// TestEventualMode: records are visible before the snapshot commit; a writer killed
// before its commit leaves them visible, and the restarted writer's records supersede
// them (higher sequence numbers), so a tail's last row per key equals the table.
func TestEventualMode(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, "id INT NOT NULL, v STRING", "id", map[string]string{"bucket": "2", logsystem.OptionConsistency: "eventual"})
	w := openWriter(t, tbl, broker)
	w.write(t, `{"id":1,"v":"a"}`+"\n"+`{"id":2,"v":"b"}`)
	s1 := w.commit(t)
	w.close()
	topic := w.lw.Config().Topic

	tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: s1, PollInterval: 20 * time.Millisecond, MarkerTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	readTail(t, tl, s1, time.Minute)

	killedWriter(t, tbl, `{"id":1,"v":"orphan"}`)
	if got := decodeAll(t, consumeAll(t, topic, false)); len(got.rows) != 3 {
		t.Fatalf("records visible at once: %v", got.rows)
	}
	w2 := openWriter(t, tbl, broker)
	defer w2.close()
	w2.write(t, `{"id":1,"v":"final"}`+"\n"+`{"id":3,"v":"c"}`)
	s2 := w2.commit(t)
	got := readTail(t, tl, s2, time.Minute)
	last := map[string]string{}
	for _, l := range got {
		id := l[strings.Index(l, `"id":`):strings.Index(l, `,"v"`)]
		last[id] = l
	}
	if !strings.Contains(last[`"id":1`], "final") || !strings.Contains(last[`"id":3`], `"v":c`) {
		t.Fatalf("eventual tail: %v", got)
	}
	if !strings.Contains(strings.Join(got, "\n"), "orphan") {
		t.Fatalf("the dead writer's record should have been visible: %v", got)
	}
	want := readFollow(t, tbl, 0, s2, nil)
	if strings.Contains(strings.Join(want, "\n"), "orphan") {
		t.Fatalf("orphan reached the table: %v", want)
	}
}

// TestKcatReadsLogTopic reads a table's log with kcat, a third-party Kafka client (librdkafka),
// in read_committed mode: it sees every row record and commit marker Tarn wrote.
func TestKcatReadsLogTopic(t *testing.T) {
	kcat := testenv.Kcat(t)
	tbl := newTable(t, "id BIGINT NOT NULL, v STRING", "id", map[string]string{"bucket": "2"})
	w := openWriter(t, tbl, broker)
	defer w.close()
	w.write(t, `{"id":1,"v":"one"}`+"\n"+`{"id":2,"v":"two"}`+"\n"+`{"id":3,"v":"three"}`)
	w.commit(t)
	topic := w.lw.Config().Topic
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(broker.Brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-X", "isolation.level=read_committed", "-f", `%p %o %K %S\n`).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3+2 {
		t.Fatalf("kcat read %d records, want 3 rows and 2 markers:\n%s", len(lines), out)
	}
	t.Logf("kcat (partition offset key-bytes value-bytes):\n%s", out)
}

// TestTailNextWithShortDeadlines calls Next with deadlines so short that they end in the
// middle of reading a snapshot from files or building it from log rows: what was read
// before the deadline must be neither lost nor delivered twice when Next is called again.
func TestTailNextWithShortDeadlines(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t, "k INT NOT NULL, v STRING", "k", map[string]string{"bucket": "2"})
	w := openWriter(t, tbl, broker)
	defer func() { w.close() }()
	rows := func(c int) string {
		var b strings.Builder
		for k := 0; k < 9; k++ {
			fmt.Fprintf(&b, `{"k":%d,"v":"c%d"}`+"\n", c*5+k, c)
		}
		return b.String()
	}
	var last int64
	for c := 0; c < 6; c++ {
		if c == 3 {
			// A commit without the log, by the table's only writer then: the tail reads it
			// from files.
			w.close()
			last = commitWithoutLog(t, tbl, rows(c), "no-log", 1)
			w = openWriter(t, tbl, broker)
			continue
		}
		w.write(t, rows(c))
		last = w.commit(t)
	}
	want := readFollow(t, tbl, 1, last, nil)
	tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: 1, BatchSize: 2,
		PollInterval: 5 * time.Millisecond, LogRetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	var got []string
	expired := 0
	deadline := time.Now().Add(time.Minute)
	for i := 0; tl.Emitted() < last; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("tail delivered through snapshot %d of %d in a minute (stats %+v)", tl.Emitted(), last, tl.Stats())
		}
		// Until the tail reads the log, time enough; then mostly too short for a read.
		deadlines := []time.Duration{0, 100 * time.Microsecond, 300 * time.Microsecond, time.Millisecond, 5 * time.Millisecond}
		d := deadlines[i%len(deadlines)]
		if !tl.OnLog() && tl.Stats().ToLog == 0 {
			d = time.Minute
		}
		nctx, cancel := context.WithTimeout(ctx, d)
		b, err := tl.Next(nctx)
		timedOut := errors.Is(nctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			if !timedOut {
				t.Fatalf("tail: %v", err)
			}
			expired++
			continue
		}
		if b.Record != nil {
			got = append(got, rowLines(t, b.Record)...)
			b.Record.Release()
		}
	}
	if d := testenv.DiffLines(got, want); d != "" {
		t.Fatalf("tail (stats %+v, %d calls ended by their deadline) against the file tail: %s", tl.Stats(), expired, d)
	}
	if st := tl.Stats(); st.LogSnapshots == 0 || st.FileSnapshots < 2 || expired == 0 {
		t.Fatalf("stats %+v, %d calls ended by their deadline: want snapshots from both the log and files, and deadlines hit", st, expired)
	}
	t.Logf("%s broker: stats %+v, %d calls ended by their deadline", brokerKind, tl.Stats(), expired)
}

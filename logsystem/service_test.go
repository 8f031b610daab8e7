package logsystem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/table"
)

// session writes one commit through a Service write session, as the server's ingestion
// does.
func session(ctx context.Context, svc *logsystem.Service, tbl *table.Table, user string, ident int64, jsonl string) (int64, error) {
	wl, err := svc.WriteLog(ctx, tbl)
	if err != nil {
		return 0, err
	}
	if wl == nil {
		return 0, errors.New("no write log for a table with the log system")
	}
	defer wl.Release()
	tw, err := tbl.NewWriter(ctx, wl.WriterOptions(table.WriterOptions{}))
	if err != nil {
		return 0, err
	}
	defer tw.Close()
	b := batchOf(nopTB{}, tbl, jsonl)
	defer b.Release()
	if err := tw.Write(ctx, b); err != nil {
		return 0, err
	}
	msgs, err := tw.PrepareCommit(ctx)
	if err != nil {
		return 0, err
	}
	res, err := wl.Commit(ctx, table.Commit{User: user, Identifier: ident, Messages: msgs})
	return res.SnapshotID, err
}

// nopTB lets batchOf run in goroutines; its input is generated, so it does not fail.
type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

type feedLine struct {
	line string
	pos  table.Position
}

// drain reads a feed until it has delivered snapshot last, recording each row with the
// position of the batch that carried it.
func drain(t *testing.T, f table.ChangeFeed, last int64) []feedLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []feedLine
	for {
		if p := f.Position(); !p.Full && p.Offset == 0 && p.Snapshot > last {
			return out
		}
		b, err := f.Next(ctx)
		if err != nil {
			t.Fatalf("feed: %v (after %d rows)", err, len(out))
		}
		if b.Record == nil {
			continue
		}
		for _, l := range rowLines(t, b.Record) {
			out = append(out, feedLine{l, b.Position})
		}
		b.Record.Release()
	}
}

// rowsBefore counts the rows of a file-based tail's output that come before position p.
func rowsBefore(t *testing.T, rows []feedLine, p table.Position) int {
	n := 0
	for _, r := range rows {
		var kind string
		var snap int64
		if _, err := fmt.Sscan(r.line, &kind, &snap); err != nil {
			t.Fatalf("line %q: %v", r.line, err)
		}
		if snap < p.Snapshot {
			n++
		}
	}
	return n + int(p.Offset)
}

func lines(fl []feedLine) []string {
	out := make([]string, len(fl))
	for i, l := range fl {
		out[i] = l.line
	}
	return out
}

// TestServiceSessionsAndFeeds: concurrent write sessions of the server take turns on the
// table's log writer; a feed (the hybrid tail behind Flight tails) delivers exactly the
// rows and positions of a file-based tail, with and without a filter, resumes from any of
// its positions without a gap or a duplicate, and keeps its consumer file up to date
// while it reads the log.
func TestServiceSessionsAndFeeds(t *testing.T) {
	ctx := context.Background()
	svc, err := logsystem.NewService(ctx, logsystem.ServiceOptions{Bootstrap: strings.Join(broker.Brokers, ","), Conn: broker})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	tbl := newTable(t, "id INT NOT NULL, v STRING, g INT", "id", map[string]string{"bucket": "3"})

	plain := newTable(t, "id INT NOT NULL", "id", map[string]string{logsystem.OptionSystem: "none"})
	if wl, err := svc.WriteLog(ctx, plain); err != nil || wl != nil {
		t.Fatalf("table without the log system: log %v, err %v", wl, err)
	}

	const writers, commits = 3, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*commits)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := 0; c < commits; c++ {
				var rows []string
				for k := 0; k < 20; k++ {
					id := (w*7 + c*3 + k) % 40
					rows = append(rows, fmt.Sprintf(`{"id":%d,"v":"w%d-c%d-%d","g":%d}`, id, w, c, k, id%3))
				}
				if _, err := session(ctx, svc, tbl, fmt.Sprintf("writer-%d", w), int64(c+1), strings.Join(rows, "\n")); err != nil {
					errs <- fmt.Errorf("writer %d commit %d: %w", w, c, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last, _, err := tbl.LatestSnapshotID(ctx)
	if err != nil || last != writers*commits {
		t.Fatalf("latest snapshot %d (%v), want %d", last, err, writers*commits)
	}
	for id := int64(1); id <= last; id++ {
		s, err := tbl.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.CommitKind == format.CommitCompact {
			continue
		}
		if s.Properties == nil {
			t.Fatalf("snapshot %d has no properties", id)
		}
		if _, ok := s.Properties.Get(logsystem.PropOffsets); !ok {
			t.Fatalf("snapshot %d has no log offsets: %v", id, s.Properties.Map())
		}
	}

	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, filter := range []string{"", "g = 1 OR id < 5"} {
		t.Run("filter="+filter, func(t *testing.T) {
			fo := table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 1, PollInterval: 20 * time.Millisecond}
			if filter != "" {
				p, err := predicate.Bind(filter, schema.Fields, schema.PartitionKeys)
				if err != nil {
					t.Fatal(err)
				}
				fo.Filter = p
			}
			ff, err := tbl.Follow(ctx, fo)
			if err != nil {
				t.Fatal(err)
			}
			want := drain(t, ff, last)
			ff.Close()
			if len(want) == 0 {
				t.Fatal("no rows")
			}

			lo := fo
			lo.ConsumerID = "feed-test"
			f, err := svc.Follow(ctx, tbl, lo)
			if err != nil {
				t.Fatal(err)
			}
			got := drain(t, f, last)
			st := f.(interface{ Stats() logsystem.TailStats }).Stats()
			f.Close()
			if st.LogSnapshots == 0 {
				t.Errorf("the feed read no snapshot from the log: %+v", st)
			}
			if strings.Join(lines(got), "\n") != strings.Join(lines(want), "\n") {
				t.Fatalf("feed rows differ from the file-based tail:\n got %d rows\nwant %d rows", len(got), len(want))
			}
			// A batch's position counts the rows delivered before it as the file-based
			// tail counts them: the rows of earlier snapshots plus Offset.
			for i := range got {
				if i+1 < len(got) && got[i+1].pos == got[i].pos {
					continue // not the last row of its batch
				}
				if n := rowsBefore(t, want, got[i].pos); n != i+1 {
					t.Fatalf("row %d ends a batch at %+v, which stands after %d rows", i, got[i].pos, n)
				}
			}
			cs, err := tbl.Consumers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].NextSnapshot != last+1 {
				t.Fatalf("consumer after the feed: %+v, want nextSnapshot %d", cs, last+1)
			}
			if err := tbl.DeleteConsumer(ctx, "feed-test"); err != nil {
				t.Fatal(err)
			}

			// Resume from positions spread over the stream.
			for _, i := range []int{0, len(got) / 3, len(got) / 2, len(got) - 2} {
				pos := got[i].pos
				ro := fo
				ro.Resume = &pos
				rf, err := svc.Follow(ctx, tbl, ro)
				if err != nil {
					t.Fatal(err)
				}
				rest := drain(t, rf, last)
				rf.Close()
				// The rows after the last one delivered with this position.
				j := i
				for j+1 < len(got) && got[j+1].pos == pos {
					j++
				}
				if strings.Join(lines(rest), "\n") != strings.Join(lines(got[j+1:]), "\n") {
					t.Fatalf("resumed at %+v: %d rows, want %d", pos, len(rest), len(got)-j-1)
				}
			}
		})
	}
}

package table_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/table"
)

type followed struct {
	lines []string
	// after[i] is the position after lines[:i+1] for the last line of each batch.
	batches []followedBatch
}

type followedBatch struct {
	end int // len(lines) after this batch
	pos table.Position
}

// follow reads from f until stop says so (checked after each batch) or the timeout.
func follow(t testing.TB, f *table.Follower, fields []string, stop func(table.Position) bool) followed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out followed
	tfields, err := table.OutputFields(f.TableSchema(), fields)
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := f.Next(ctx)
		if err != nil {
			t.Fatalf("after %d lines: %v", len(out.lines), err)
		}
		if b.Record != nil {
			out.lines = append(out.lines, changeLines(t, tfields, b.Record)...)
			b.Record.Release()
			out.batches = append(out.batches, followedBatch{len(out.lines), b.Position})
		}
		if stop(b.Position) {
			return out
		}
	}
}

func untilSnapshot(n int64) func(table.Position) bool {
	return func(p table.Position) bool { return !p.Full && p.Snapshot > n }
}

func TestFollowStartModes(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	tt.commit(t, `[{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]`, false)
	tt.commit(t, `[{"id": 1, "v": "a2", "_ROW_KIND": "+U"}]`, false)
	time.Sleep(5 * time.Millisecond)
	tt.commit(t, `[{"id": 2, "v": null, "_ROW_KIND": "-D"}, {"id": 3, "v": "c"}]`, false)
	s3, err := tt.tbl.Snapshot(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	snap := map[int64][]string{
		1: {`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":1,"v":"a"}`, `{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2,"v":"b"}`},
		2: {`{"_SNAPSHOT_ID":2,"_ROW_KIND":"+U","id":1,"v":"a2"}`},
		3: {`{"_SNAPSHOT_ID":3,"_ROW_KIND":"-D","id":2,"v":null}`, `{"_SNAPSHOT_ID":3,"_ROW_KIND":"+I","id":3,"v":"c"}`},
		4: {`{"_SNAPSHOT_ID":4,"_ROW_KIND":"+I","id":4,"v":"d"}`},
	}
	full1 := []string{`{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":1,"v":"a"}`, `{"_SNAPSHOT_ID":1,"_ROW_KIND":"+I","id":2,"v":"b"}`}
	full3 := []string{`{"_SNAPSHOT_ID":3,"_ROW_KIND":"+I","id":1,"v":"a2"}`, `{"_SNAPSHOT_ID":3,"_ROW_KIND":"+I","id":3,"v":"c"}`}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name string
		o    table.FollowOptions
		want []string
	}{
		{"latest", table.FollowOptions{Start: table.StartLatest}, snap[4]},
		{"from snapshot 2", table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 2}, cat(snap[2], snap[3], snap[4])},
		{"from timestamp of snapshot 3", table.FollowOptions{Start: table.StartFromTimestamp, TimestampMillis: s3.TimeMillis}, cat(snap[3], snap[4])},
		{"from a future timestamp", table.FollowOptions{Start: table.StartFromTimestamp, TimestampMillis: s3.TimeMillis + 1}, snap[4]},
		{"full of latest", table.FollowOptions{Start: table.StartFull}, cat(full3, snap[4])},
		{"full of snapshot 1", table.FollowOptions{Start: table.StartFull, SnapshotID: 1}, cat(full1, snap[2], snap[3], snap[4])},
		{"resume mid-snapshot", table.FollowOptions{Resume: &table.Position{Snapshot: 3, Offset: 1}}, cat(snap[3][1:], snap[4])},
		{"resume mid-full", table.FollowOptions{Resume: &table.Position{Snapshot: 3, Offset: 1, Full: true}}, cat(full3[1:], snap[4])},
	}
	// Every case sees snapshot 4, committed after the tails started.
	var fs []*table.Follower
	for _, tc := range tests {
		f, err := tt.tbl.Follow(ctx, tc.o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		defer f.Close()
		fs = append(fs, f)
	}
	tt.commit(t, `[{"id": 4, "v": "d"}]`, false)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := follow(t, fs[i], nil, untilSnapshot(4)).lines
			// Within a snapshot rows come bucket by bucket; compare sorted per snapshot.
			if got, want := sortPerSnapshot(got), sortPerSnapshot(tc.want); !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestFollowSeesEveryCommit starts a tail on an empty table, then makes 100 commits; the
// tail sees exactly their changes, snapshot by snapshot. One tail is woken by the
// in-process notification, the other (on another spelling of the location) only polls.
func TestFollowSeesEveryCommit(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v BIGINT", []string{"id"}, nil, map[string]string{"bucket": "3"})
	notified, err := tt.tbl.Follow(ctx, table.FollowOptions{Start: table.StartFull, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer notified.Close()
	other, err := table.Open(ctx, tt.tbl.FileIO(), "file://"+tt.tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	polled, err := other.Follow(ctx, table.FollowOptions{Start: table.StartLatest, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer polled.Close()

	const commits = 100
	var want []string
	for i := 1; i <= commits; i++ {
		var rows []string
		for k := 0; k < 5; k++ {
			id := (i*5 + k) % 37
			kind := "+I"
			if i > 1 && k == 4 {
				kind = "-D"
			}
			rows = append(rows, fmt.Sprintf(`{"id": %d, "v": %d, "_ROW_KIND": %q}`, id, i*10+k, kind))
			want = append(want, fmt.Sprintf(`{"_SNAPSHOT_ID":%d,"_ROW_KIND":%q,"id":%d,"v":%d}`, i, kind, id, i*10+k))
		}
		tt.commit(t, "["+strings.Join(rows, ",")+"]", false)
	}
	for _, tc := range []struct {
		name string
		f    *table.Follower
	}{{"notified", notified}, {"polled", polled}} {
		t.Run(tc.name, func(t *testing.T) {
			got := follow(t, tc.f, nil, untilSnapshot(commits)).lines
			// In order: snapshot ids never go back.
			for i := 1; i < len(got); i++ {
				if snapOf(got[i]) < snapOf(got[i-1]) {
					t.Fatalf("line %d out of order: %s after %s", i, got[i], got[i-1])
				}
			}
			if got, want := sortPerSnapshot(got), sortPerSnapshot(want); !slices.Equal(got, want) {
				t.Fatalf("%s", testenv.DiffLines(got, want))
			}
		})
	}
}

// TestFollowResume stops a tail after every batch in turn and resumes it from that batch's
// position: the rows after it are exactly those the uninterrupted tail read.
func TestFollowResume(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	for i := 0; i < 4; i++ {
		var rows []string
		for k := 0; k < 10; k++ {
			rows = append(rows, fmt.Sprintf(`{"id": %d, "v": "s%d"}`, i*3+k, i))
		}
		tt.commit(t, "["+strings.Join(rows, ",")+"]", false)
	}
	tt.commitCompact(t) // snapshot 5: no changes
	tt.commit(t, `[{"id": 100, "v": "last"}]`, false)
	tests := []struct {
		name    string
		filter  string
		columns []string
		lines   int
	}{
		{"all rows", "", nil, 13 + 10 + 10 + 1},
		{"filtered and projected", "id >= 5 AND id < 12", []string{"v"}, 7 + 6 + 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Heartbeats carry the position past snapshots whose rows the filter drops.
			start := table.FollowOptions{Start: table.StartFull, SnapshotID: 2, BatchSize: 3, Columns: tc.columns, Heartbeat: 20 * time.Millisecond}
			if tc.filter != "" {
				p, err := predicate.Bind(tc.filter, tt.fields, nil)
				if err != nil {
					t.Fatal(err)
				}
				start.Filter = p
			}
			f, err := tt.tbl.Follow(ctx, start)
			if err != nil {
				t.Fatal(err)
			}
			all := follow(t, f, tc.columns, untilSnapshot(6))
			f.Close()
			if len(all.batches) < 5 {
				t.Fatalf("only %d batches; the test wants many", len(all.batches))
			}
			if n := len(all.lines); n != tc.lines {
				t.Fatalf("read %d lines, want %d:\n%s", n, tc.lines, strings.Join(all.lines, "\n"))
			}
			for i, b := range all.batches {
				o := start
				o.Resume = &b.pos
				f, err := tt.tbl.Follow(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				var rest []string
				if b.end < len(all.lines) {
					rest = follow(t, f, tc.columns, untilSnapshot(6)).lines
				}
				f.Close()
				if want := all.lines[b.end:]; !slices.Equal(rest, want) {
					t.Fatalf("resumed after batch %d at %+v:\n%s\nwant\n%s", i, b.pos, strings.Join(rest, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

func TestFollowExpired(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1"})
	for i := 0; i < 4; i++ {
		tt.commit(t, fmt.Sprintf(`[{"id": %d, "v": "x"}]`, i), false)
	}
	expire(t, tt.tbl, 2)
	tests := []struct {
		name string
		o    table.FollowOptions
		want error
		msg  string
	}{
		{"from snapshot", table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 1}, table.ErrSnapshotExpired, "start snapshot 1 has expired"},
		{"full", table.FollowOptions{Start: table.StartFull, SnapshotID: 2}, table.ErrSnapshotExpired, "start snapshot 2 has expired"},
		{"resume", table.FollowOptions{Resume: &table.Position{Snapshot: 2, Offset: 5}}, table.ErrSnapshotExpired, "consumer id"},
		{"beyond latest", table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 9}, table.ErrNotFound, "beyond the latest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tt.tbl.Follow(ctx, tc.o)
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
	// A tail waiting for snapshot 5 fails once expiry passes it.
	f, err := tt.tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 3, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	follow(t, f, nil, untilSnapshot(4))
	tt.commit(t, `[{"id": 8, "v": "x"}]`, false)
	tt.commit(t, `[{"id": 9, "v": "x"}]`, false)
	expire(t, tt.tbl, 5)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		b, err := f.Next(cctx)
		if err != nil {
			if !errors.Is(err, table.ErrSnapshotExpired) {
				t.Fatalf("err = %v", err)
			}
			break
		}
		if b.Record != nil {
			b.Record.Release()
		}
	}
}

func TestFollowConsumer(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1"})
	tt.commit(t, `[{"id": 1, "v": "a"}]`, false)
	tt.commit(t, `[{"id": 2, "v": "b"}]`, false)
	consumerFile := tt.tbl.Join("consumer", "consumer-c1")
	f, err := tt.tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: 1, ConsumerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := tt.tbl.FileIO().ReadFile(ctx, consumerFile)
	if err != nil || !strings.Contains(string(data), `"nextSnapshot" : 1`) {
		t.Fatalf("consumer file at start: %q, %v", data, err)
	}
	follow(t, f, nil, untilSnapshot(2))
	f.Close()
	data, err = tt.tbl.FileIO().ReadFile(ctx, consumerFile)
	if err != nil || !strings.Contains(string(data), `"nextSnapshot" : 3`) {
		t.Fatalf("consumer file after snapshot 2: %q, %v", data, err)
	}
	// A new tail of the same consumer continues where it stopped, whatever its start mode.
	tt.commit(t, `[{"id": 3, "v": "c"}]`, false)
	f, err = tt.tbl.Follow(ctx, table.FollowOptions{Start: table.StartLatest, ConsumerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := follow(t, f, nil, untilSnapshot(3)).lines
	if want := []string{`{"_SNAPSHOT_ID":3,"_ROW_KIND":"+I","id":3,"v":"c"}`}; !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	if _, err := tt.tbl.Follow(ctx, table.FollowOptions{ConsumerID: "../x"}); err == nil {
		t.Fatal("a consumer id with '..' was accepted")
	}
}

func TestFollowHeartbeat(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL", []string{"id"}, nil, map[string]string{"bucket": "1"})
	tt.commit(t, `[{"id": 1}]`, false)
	f, err := tt.tbl.Follow(ctx, table.FollowOptions{Heartbeat: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	b, err := f.Next(ctx)
	if err != nil || b.Record != nil {
		t.Fatalf("want a heartbeat, got %v, %v", b, err)
	}
	if d := time.Since(start); d < 25*time.Millisecond || d > 5*time.Second {
		t.Fatalf("heartbeat after %v", d)
	}
	if b.Position != (table.Position{Snapshot: 2}) {
		t.Fatalf("heartbeat position %+v", b.Position)
	}
	// A cancelled context ends Next.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Next(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestPositionToken(t *testing.T) {
	for _, p := range []table.Position{{Snapshot: 1}, {Snapshot: 12, Offset: 4096}, {Snapshot: 3, Offset: 7, Full: true}} {
		got, err := table.ParsePosition(p.Token())
		if err != nil || got != p {
			t.Fatalf("%+v -> %q -> %+v, %v", p, p.Token(), got, err)
		}
	}
	for _, bad := range []string{"", "!!!", "e30", "eyJzbmFwc2hvdCI6MH0", "eyJ4IjoxfQ"} {
		if _, err := table.ParsePosition(bad); err == nil {
			t.Fatalf("token %q accepted", bad)
		}
	}
}

// TestFollowNextWithShortDeadlines calls Next with deadlines so short that they end in the
// middle of a snapshot's read: the rows read before are neither lost nor returned twice
// when Next is called again.
func TestFollowNextWithShortDeadlines(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	for i := 0; i < 6; i++ {
		var rows []string
		for k := 0; k < 9; k++ {
			rows = append(rows, fmt.Sprintf(`{"id": %d, "v": "s%d"}`, i*5+k, i))
		}
		tt.commit(t, "["+strings.Join(rows, ",")+"]", false)
	}
	read := func(deadlines []time.Duration) ([]string, int) {
		f, err := tt.tbl.Follow(ctx, table.FollowOptions{Start: table.StartFull, SnapshotID: 2, BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tfields, err := table.OutputFields(f.TableSchema(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		expired := 0
		for i := 0; f.Position().Snapshot <= 6 || f.Position().Full; i++ {
			if i > 100000 {
				t.Fatalf("no progress at %+v", f.Position())
			}
			nctx, cancel := context.WithTimeout(ctx, deadlines[i%len(deadlines)])
			b, err := f.Next(nctx)
			timedOut := errors.Is(nctx.Err(), context.DeadlineExceeded)
			cancel()
			if err != nil {
				if !timedOut {
					t.Fatal(err)
				}
				expired++
				continue
			}
			if b.Record != nil {
				lines = append(lines, changeLines(t, tfields, b.Record)...)
				b.Record.Release()
			}
		}
		return lines, expired
	}
	want, _ := read([]time.Duration{time.Minute})
	got, expired := read([]time.Duration{0, 50 * time.Microsecond, 100 * time.Microsecond, 200 * time.Microsecond, 400 * time.Microsecond, time.Millisecond, 10 * time.Millisecond})
	if d := testenv.DiffLines(got, want); d != "" {
		t.Fatalf("%d calls ended by their deadline: %s", expired, d)
	}
	if expired == 0 {
		t.Fatal("no call ended by its deadline")
	}
}

// TestFollowResumeAtEveryRow resumes a tail at every row of a snapshot whose first bucket
// has more rows than its second: the rest equals what the uninterrupted tail read (a resume
// skips whole files only at the front).
func TestFollowResumeAtEveryRow(t *testing.T) {
	ctx := context.Background()
	tt := newTestTable(t, "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	var rows []string
	for k := 0; k < 40; k++ {
		rows = append(rows, fmt.Sprintf(`{"id": %d, "v": "r"}`, k))
	}
	tt.commit(t, "["+strings.Join(rows, ",")+"]", false)
	read := func(offset int64) []string {
		f, err := tt.tbl.Follow(ctx, table.FollowOptions{Resume: &table.Position{Snapshot: 1, Offset: offset}, BatchSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return follow(t, f, nil, func(p table.Position) bool { return p.Snapshot > 1 }).lines
	}
	all := read(0)
	if len(all) != 40 {
		t.Fatalf("snapshot 1 has %d changes, want 40", len(all))
	}
	for off := int64(1); off < 40; off++ {
		if d := testenv.DiffLines(read(off), all[off:]); d != "" {
			t.Fatalf("resumed at row %d: %s", off, d)
		}
	}
}

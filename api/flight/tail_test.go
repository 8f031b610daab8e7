package flight_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// tail is a client of a tail ticket.
type tail struct {
	cancel context.CancelFunc
	rdr    *flight.Reader
}

type tailMsg struct {
	lines []string
	meta  tarnflight.TailMetadata
}

func (e *env) startTail(t testing.TB, tc map[string]any) *tail {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	tk, _ := json.Marshal(map[string]any{"tail": tc})
	stream, err := e.client.DoGet(ctx, &flight.Ticket{Ticket: tk})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		cancel()
		t.Fatalf("tail %s: %v", tk, err)
	}
	tl := &tail{cancel: cancel, rdr: rdr}
	t.Cleanup(tl.stop)
	return tl
}

func (tl *tail) stop() {
	tl.cancel()
	if tl.rdr != nil {
		tl.rdr.Release()
		tl.rdr = nil
	}
}

func (tl *tail) next(t testing.TB) tailMsg {
	t.Helper()
	if !tl.rdr.Next() {
		t.Fatalf("tail ended: %v", tl.rdr.Err())
	}
	var m tailMsg
	if err := json.Unmarshal(tl.rdr.LatestAppMetadata(), &m.meta); err != nil {
		t.Fatalf("app_metadata %q: %v", tl.rdr.LatestAppMetadata(), err)
	}
	if b := tl.rdr.RecordBatch(); b.NumRows() > 0 {
		m.lines = rowLines(t, b)
	}
	return m
}

// readUntil reads messages until the position passes snapshot n.
func (tl *tail) readUntil(t testing.TB, n int64) ([]string, tarnflight.TailMetadata) {
	t.Helper()
	var lines []string
	for {
		m := tl.next(t)
		lines = append(lines, m.lines...)
		if !m.meta.Full && m.meta.Snapshot > n {
			return lines, m.meta
		}
	}
}

func tailRow(snapshot int64, kind string, id int64, v string) string {
	return fmt.Sprintf(`{"id":%d,"v":%q,"_ROW_KIND":%q,"_SNAPSHOT_ID":%d}`, id, v, kind, snapshot)
}

// commitRows commits rows (id, v, kind) in one snapshot and returns the tail lines they
// produce.
func commitRows(t testing.TB, tbl *table.Table, fields []types.DataField, rows [][3]string) []string {
	t.Helper()
	var ids []int64
	for _, r := range rows {
		var id int64
		fmt.Sscan(r[0], &id)
		ids = append(ids, id)
	}
	snap := write(t, tbl, fields, len(rows), func(i int, b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(ids[i])
		b.Field(1).(*array.StringBuilder).Append(rows[i][1])
		b.Field(2).(*array.StringBuilder).Append(rows[i][2])
	})
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = tailRow(snap, r[2], ids[i], r[1])
	}
	return out
}

// snapshotOrder checks that snapshot ids never decrease and returns lines sorted within
// each snapshot, for comparisons that do not depend on bucket order.
func snapshotOrder(t testing.TB, lines []string) []string {
	t.Helper()
	type row struct {
		S int64 `json:"_SNAPSHOT_ID"`
	}
	var last int64
	for _, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.S < last {
			t.Fatalf("snapshot %d after %d: %s", r.S, last, l)
		}
		last = r.S
	}
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int {
		var ra, rb row
		json.Unmarshal([]byte(a), &ra)
		json.Unmarshal([]byte(b), &rb)
		if ra.S != rb.S {
			return int(ra.S - rb.S)
		}
		return strings.Compare(a, b)
	})
	return out
}

func genCommit(i int) [][3]string {
	var rows [][3]string
	for k := 0; k < 4; k++ {
		id := (i*4 + k) % 29
		kind := "+I"
		switch {
		case k == 3 && i > 1:
			kind = "-D"
		case k == 2 && i > 1:
			kind = "+U"
		}
		rows = append(rows, [3]string{fmt.Sprint(id), fmt.Sprintf("c%d-%d", i, k), kind})
	}
	return rows
}

// TestTailHundredCommits starts a tail before 100 commits; it sees exactly their changes,
// in commit order.
func TestTailHundredCommits(t *testing.T) {
	e := newEnv(t, tarnflight.Options{})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "3"})
	tl := e.startTail(t, map[string]any{"table": "db.t", "start": "latest"})
	first := tl.next(t)
	if !first.meta.Heartbeat || first.meta.Snapshot != 1 || first.meta.Offset != 0 {
		t.Fatalf("first message: %+v", first.meta)
	}
	got := make(chan []string, 1)
	go func() {
		lines, _ := tl.readUntil(t, 100)
		got <- lines
	}()
	var want []string
	for i := 1; i <= 100; i++ {
		want = append(want, commitRows(t, tbl, fields, genCommit(i))...)
	}
	select {
	case lines := <-got:
		if g, w := snapshotOrder(t, lines), snapshotOrder(t, want); !slices.Equal(g, w) {
			t.Fatalf("tail read %d rows, want %d:\n%s", len(g), len(w), strings.Join(diff(g, w), "\n"))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("tail did not see 100 commits in 60s")
	}
}

func diff(got, want []string) []string {
	var out []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			out = append(out, "+ "+g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, "- "+w)
		}
	}
	if len(out) == 0 && len(got) != len(want) {
		out = append(out, "(duplicates)")
	}
	return out
}

// TestTailKillResume kills tails after a few messages, commits while they are down, and
// resumes them from the last resume token they received: nothing is lost or repeated.
func TestTailKillResume(t *testing.T) {
	e := newEnv(t, tarnflight.Options{BatchSize: 3, Heartbeat: 100 * time.Millisecond})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	var want []string
	i := 1
	for ; i <= 10; i++ {
		want = append(want, commitRows(t, tbl, fields, genCommit(i))...)
	}
	tests := []struct {
		name  string
		kills []int // messages to read before each kill
	}{
		{"kill after the first message", []int{1}},
		{"kills mid-snapshot", []int{2, 3, 5}},
		{"many kills", []int{4, 1, 7, 2, 9, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			consumer := strings.ReplaceAll(tc.name, " ", "-")
			start := map[string]any{"table": "db.t", "start": map[string]any{"snapshot": 1}, "consumer": consumer}
			var got []string
			token := ""
			for _, k := range tc.kills {
				tcmd := start
				if token != "" {
					tcmd = map[string]any{"table": "db.t", "resume": token, "consumer": consumer}
				}
				tl := e.startTail(t, tcmd)
				for j := 0; j < k; j++ {
					m := tl.next(t)
					got = append(got, m.lines...)
					token = m.meta.Resume
				}
				tl.stop() // killed: whatever it sent after the last message read is lost
				// More commits while no tail runs.
				want = append(want, commitRows(t, tbl, fields, genCommit(i))...)
				i++
			}
			tl := e.startTail(t, map[string]any{"table": "db.t", "resume": token, "consumer": consumer})
			rest, last := tl.readUntil(t, int64(i-1))
			got = append(got, rest...)
			if g, w := snapshotOrder(t, got), snapshotOrder(t, want); !slices.Equal(g, w) {
				t.Fatalf("resumed tails read %d rows, want %d:\n%s", len(g), len(w), strings.Join(diff(g, w), "\n"))
			}
			// The consumer file follows the tail.
			data, err := tbl.FileIO().ReadFile(context.Background(), tbl.Join(format.ConsumerPath(consumer)))
			if err != nil || !strings.Contains(string(data), fmt.Sprintf(`"nextSnapshot" : %d`, last.Snapshot)) {
				t.Fatalf("consumer file %q (%v), tail at %+v", data, err, last)
			}
		})
	}
}

func TestTailStartsAndErrors(t *testing.T) {
	e := newEnv(t, tarnflight.Options{Heartbeat: 50 * time.Millisecond})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1"})
	s1 := commitRows(t, tbl, fields, [][3]string{{"1", "a", "+I"}, {"2", "b", "+I"}})
	s2 := commitRows(t, tbl, fields, [][3]string{{"1", "a2", "+U"}})
	// Full: snapshot 2 as +I rows, then the changes.
	tl := e.startTail(t, map[string]any{"table": "db.t", "start": "full", "columns": []string{"v"}})
	lines, _ := tl.readUntil(t, 2)
	if want := []string{`{"v":"a2","_ROW_KIND":"+I","_SNAPSHOT_ID":2}`, `{"v":"b","_ROW_KIND":"+I","_SNAPSHOT_ID":2}`}; !slices.Equal(lines, want) {
		t.Fatalf("full: %q", lines)
	}
	// From a snapshot, with a filter.
	tl = e.startTail(t, map[string]any{"table": "db.t", "start": map[string]any{"snapshot": 1}, "filter": "id = 1"})
	lines, _ = tl.readUntil(t, 2)
	if want := []string{s1[0], s2[0]}; !slices.Equal(lines, want) {
		t.Fatalf("from snapshot 1: %q, want %q", lines, want)
	}
	// GetFlightInfo and GetSchema take a tail command too: one endpoint that starts it.
	desc := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"tail":{"table":"db.t","start":"full","columns":["id"]}}`)}
	info, err := e.client.GetFlightInfo(e.ctx, desc)
	if err != nil || len(info.Endpoint) != 1 {
		t.Fatalf("tail FlightInfo: %v, %v", info, err)
	}
	sr, err := e.client.GetSchema(e.ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := flight.DeserializeSchema(sr.Schema, nil); err != nil || sc.NumFields() != 3 || sc.Field(1).Name != "_ROW_KIND" || sc.Field(2).Name != "_SNAPSHOT_ID" {
		t.Fatalf("tail schema %v, %v", sc, err)
	}
	var tc map[string]any
	if err := json.Unmarshal(info.Endpoint[0].Ticket.Ticket, &tc); err != nil {
		t.Fatal(err)
	}
	tl = e.startTail(t, tc["tail"].(map[string]any))
	if lines, _ = tl.readUntil(t, 2); len(lines) != 2 {
		t.Fatalf("tail from its FlightInfo: %q", lines)
	}
	// Idle tails send heartbeats.
	tl = e.startTail(t, map[string]any{"table": "db.t"})
	for range 3 {
		m := tl.next(t)
		if !m.meta.Heartbeat || m.lines != nil || m.meta.Snapshot != 3 {
			t.Fatalf("heartbeat %+v", m)
		}
	}
	// A start snapshot that expired is refused with a message that says so.
	for id := int64(1); id <= 1; id++ {
		if err := tbl.FileIO().Delete(context.Background(), tbl.Join(format.SnapshotPath(id))); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := json.Marshal(map[string]any{"tail": map[string]any{"table": "db.t", "start": map[string]any{"snapshot": 1}}})
	stream, err := e.client.DoGet(e.ctx, &flight.Ticket{Ticket: tk})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.OutOfRange || !strings.Contains(err.Error(), "start snapshot 1 has expired") {
		t.Fatalf("expired start: %v", err)
	}
	// A tail ends when the service stops.
	tl = e.startTail(t, map[string]any{"table": "db.t"})
	tl.next(t)
	ended := make(chan error, 1)
	go func() {
		for tl.rdr.Next() {
		}
		ended <- tl.rdr.Err()
	}()
	e.svc.Stop()
	select {
	case err := <-ended:
		if err == nil || errors.Is(err, io.EOF) {
			break
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail still running after Stop")
	}
}

// A tail that names no start starts where the table's scan options start Paimon's
// streaming reads (Table.WithTailDefaults): from scan.snapshot-id, or the latest snapshot
// whole with scan.mode = latest-full; a table whose options start batch reads at a tag
// refuses such a tail, and a start the tail names wins over the options.
func TestTailStartsAtTableScanOptions(t *testing.T) {
	e := newEnv(t, tarnflight.Options{Heartbeat: 50 * time.Millisecond})
	from, fields := e.createTable("db.from", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1", "scan.snapshot-id": "2"})
	commitRows(t, from, fields, [][3]string{{"1", "a", "+I"}})
	s2 := commitRows(t, from, fields, [][3]string{{"2", "b", "+I"}})
	s3 := commitRows(t, from, fields, [][3]string{{"1", "a2", "+U"}})
	tl := e.startTail(t, map[string]any{"table": "db.from"})
	if lines, _ := tl.readUntil(t, 3); !slices.Equal(lines, append(s2, s3...)) {
		t.Fatalf("scan.snapshot-id = 2: %q, want %q", lines, append(s2, s3...))
	}
	tl = e.startTail(t, map[string]any{"table": "db.from", "start": map[string]any{"snapshot": 3}})
	if lines, _ := tl.readUntil(t, 3); !slices.Equal(lines, s3) {
		t.Fatalf("start snapshot 3 on a table with scan.snapshot-id = 2: %q, want %q", lines, s3)
	}

	full, fields := e.createTable("db.full", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1", "scan.mode": "latest-full"})
	commitRows(t, full, fields, [][3]string{{"1", "a", "+I"}, {"2", "b", "+I"}})
	tl = e.startTail(t, map[string]any{"table": "db.full", "columns": []string{"v"}})
	if lines, _ := tl.readUntil(t, 1); !slices.Equal(lines, []string{`{"v":"a","_ROW_KIND":"+I","_SNAPSHOT_ID":1}`, `{"v":"b","_ROW_KIND":"+I","_SNAPSHOT_ID":1}`}) {
		t.Fatalf("scan.mode = latest-full: %q", lines)
	}

	e.createTable("db.tag", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1", "scan.tag-name": "t1"})
	tk, _ := json.Marshal(map[string]any{"tail": map[string]any{"table": "db.tag"}})
	stream, err := e.client.DoGet(e.ctx, &flight.Ticket{Ticket: tk})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "cannot start from a tag") {
		t.Fatalf("tail of a table with scan.tag-name: %v", err)
	}
}

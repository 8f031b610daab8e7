package peers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/table"
)

func clientsPy() string { return filepath.Join("testdata", "clients.py") }

// TestPyarrowFlightScan: pyarrow.flight plans scans with GetFlightInfo and reads all their
// endpoints in parallel (every endpoint's stream open at once, one connection each):
// the whole table, a projection, a filter, time travel by snapshot, tag and timestamp, and
// all of them together. Each result is exactly what `tarn scan` prints for the same
// request.
func TestPyarrowFlightScan(t *testing.T) {
	py := python(t)
	o := newOrders(t)
	s := o.s
	s1, s2 := o.snaps[0], o.snaps[1]
	scans := []struct {
		name    string
		command map[string]any
		scan    []string // `tarn scan` flags
	}{
		{"all", map[string]any{"table": "db.orders"}, nil},
		{"projection", map[string]any{"table": "db.orders", "columns": []string{"amount", "id", "name"}}, []string{"--columns", "amount,id,name"}},
		{"filter", map[string]any{"table": "db.orders", "filter": "amount > 10 AND name IS NOT NULL OR ok = TRUE"}, []string{"--where", "amount > 10 AND name IS NOT NULL OR ok = TRUE"}},
		{"snapshot", map[string]any{"table": "db.orders", "snapshot": s1}, []string{"--snapshot", fmt.Sprint(s1)}},
		{"tag", map[string]any{"table": "db.orders", "tag": "v1"}, []string{"--tag", "v1"}},
		{"timestamp", map[string]any{"table": "db.orders", "timestamp": o.times[s2]}, []string{"--timestamp", fmt.Sprint(o.times[s2])}},
		{"together", map[string]any{"table": "db.orders", "snapshot": s2, "columns": []string{"dt", "id", "ts"}, "filter": "dt = '2026-01-02' AND id BETWEEN 3 AND 27"},
			[]string{"--snapshot", fmt.Sprint(s2), "--columns", "dt,id,ts", "--where", "dt = '2026-01-02' AND id BETWEEN 3 AND 27"}},
	}
	var reqs []map[string]any
	for _, sc := range scans {
		reqs = append(reqs, map[string]any{"name": sc.name, "command": sc.command})
	}
	reqJSON, _ := json.Marshal(reqs)
	dir := t.TempDir()
	out := run(t, 3*time.Minute, py, clientsPy(), "scan", s.FlightAddr, s.Token, dir, string(reqJSON))
	summary := map[string]map[string]any{}
	for _, m := range jsonLines(t, out) {
		summary[m["name"].(string)] = m
	}
	fields := tableFields(t, s, "orders")
	for _, sc := range scans {
		t.Run(sc.name, func(t *testing.T) {
			m := summary[sc.name]
			if m == nil {
				t.Fatalf("pyarrow did not run the scan: %s", out)
			}
			got := arrowLines(t, filepath.Join(dir, sc.name+".arrow"), fields)
			sameRows(t, "pyarrow.flight "+sc.name, got, o.scan(t, sc.scan...))
			if n, par := m["endpoints"].(float64), m["parallel"].(float64); par != n {
				t.Errorf("%v endpoints but %v read in parallel", n, par)
			}
			if sc.name == "all" && m["endpoints"].(float64) < 6 {
				t.Errorf("the whole table (3 partitions, 3 buckets) has %v endpoints; want one per split", m["endpoints"])
			}
			if sc.name == "projection" && fmt.Sprint(m["columns"]) != "[amount id name]" {
				t.Errorf("projection columns %v", m["columns"])
			}
		})
	}
}

// tailMessage is one message a pyarrow tail printed.
type tailMessage struct {
	Meta struct {
		Resume    string `json:"resume"`
		Snapshot  int64  `json:"snapshot"`
		Offset    int64  `json:"offset"`
		Full      bool   `json:"full"`
		Heartbeat bool   `json:"heartbeat"`
	} `json:"meta"`
	Rows []map[string]any `json:"rows"`
}

// pyTail is a pyarrow tail running in its own process.
type pyTail struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startPyTail(t *testing.T, py string, s *testenv.TarnServer, tail map[string]any, step bool) *pyTail {
	t.Helper()
	cmdJSON, _ := json.Marshal(map[string]any{"tail": tail})
	args := []string{clientsPy(), "tail", s.FlightAddr, s.Token, string(cmdJSON)}
	if step {
		args = append(args, "--step")
	}
	cmd := exec.Command(py, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pyTail{cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	p.lines.Buffer(nil, 1<<24)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("pyarrow tail's stderr:\n%s", tailOf(stderr.String(), 4000))
		}
	})
	return p
}

// next returns the next message, failing the test if the tail ends.
func (p *pyTail) next(t *testing.T) tailMessage {
	t.Helper()
	if !p.lines.Scan() {
		t.Fatalf("the pyarrow tail ended: %v", p.lines.Err())
	}
	var m tailMessage
	if err := json.Unmarshal(p.lines.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, p.lines.Text())
	}
	return m
}

// kill kills the client process (SIGKILL).
func (p *pyTail) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// rowJSON is a change row as Go's encoding/json prints a map (sorted keys).
func rowJSON(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPyarrowFlightTailResume: a pyarrow tail is killed (SIGKILL) in the middle of a
// snapshot's changes; a new process resumes from the last resume token the first one
// printed, while snapshots keep coming. Together they deliver exactly the changes an
// uninterrupted tail (Table.Follow) delivers, in order: nothing lost, nothing repeated.
// Once for a table tailed from its files, once for a table with the log system on (tarn
// serve's embedded broker: the Flight tail reads the log through the hybrid tail).
func TestPyarrowFlightTailResume(t *testing.T) {
	py := python(t)
	s := testenv.StartTarn(t) // with its default log system: an embedded broker
	for _, mode := range []struct{ name, table, options string }{
		{"files", "events", `{"bucket":"4"}`},
		{"log", "events_log", `{"bucket":"4","tarn.log.system":"kafka"}`},
	} {
		t.Run(mode.name, func(t *testing.T) { tailResume(t, py, s, mode.table, mode.options) })
	}
}

// tailResume is TestPyarrowFlightTailResume on db.NAME, created with options.
func tailResume(t *testing.T, py string, s *testenv.TarnServer, name, options string) {
	s.MustDo(t, "POST", "/api/v1/databases/db/tables", `{"name":"`+name+`","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":`+options+`}`)
	write := func(from, to int, kind, v string) int64 {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, `{"id":%d,"v":"%s%d","_ROW_KIND":%q}`+"\n", i, v, i, kind)
		}
		var res struct {
			SnapshotID int64 `json:"snapshotId"`
		}
		if err := json.Unmarshal([]byte(s.MustDo(t, "POST", "/api/v1/databases/db/tables/"+name+"/rows", b.String())), &res); err != nil {
			t.Fatal(err)
		}
		return res.SnapshotID
	}
	first := write(1, 60, "+I", "a")

	// The first client acknowledges each message it prints and is killed, unacknowledged,
	// after the first message that ends inside a snapshot.
	a := startPyTail(t, py, s, map[string]any{"table": "db." + name, "start": map[string]any{"snapshot": first}}, true)
	var got []string
	var resume string
	for {
		m := a.next(t)
		for _, r := range m.Rows {
			got = append(got, rowJSON(t, r))
		}
		resume = m.Meta.Resume
		if len(m.Rows) > 0 && m.Meta.Offset > 0 && m.Meta.Snapshot == first {
			break
		}
		if _, err := io.WriteString(a.in, "\n"); err != nil {
			t.Fatal(err)
		}
	}
	a.kill()
	if len(got) == 0 || len(got) >= 60 {
		t.Fatalf("the first client read %d rows of snapshot %d before it was killed; want some but not all", len(got), first)
	}
	t.Logf("first client killed after %d of snapshot %d's 60 rows", len(got), first)

	// Snapshots committed while no client is connected, then one while the second is.
	write(10, 30, "+U", "b")
	write(40, 45, "-D", "a")
	b := startPyTail(t, py, s, map[string]any{"table": "db." + name, "resume": resume}, false)
	resumed := 0
	var last int64
	for {
		m := b.next(t)
		for _, r := range m.Rows {
			got = append(got, rowJSON(t, r))
			resumed++
		}
		if last == 0 && resumed > 0 {
			last = write(61, 70, "+I", "c") // committed while the client follows
		}
		// The last batch of a snapshot carries the position of the next one.
		if last != 0 && !m.Meta.Full && m.Meta.Snapshot > last {
			break
		}
	}
	b.kill()

	// An uninterrupted tail from the same start.
	tbl, err := table.Open(t.Context(), fileio.NewLocal(), filepath.Join(s.Warehouse, "db.db", name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: first})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	for f.Position().Snapshot <= last {
		fb, err := f.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if fb.Record != nil {
			want = append(want, followRows(t, fb)...)
			fb.Record.Release()
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("killed and resumed pyarrow tails delivered %d rows:\n%s\nan uninterrupted tail %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	if len(want) != 60+21+6+10 {
		t.Fatalf("%d changes, want %d", len(want), 60+21+6+10)
	}
}

// followRows renders a tail batch's rows as rowJSON does.
func followRows(t *testing.T, fb table.FollowBatch) []string {
	t.Helper()
	rec := fb.Record
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		m := map[string]any{}
		for c, f := range rec.Schema().Fields() {
			col := rec.Column(c)
			switch {
			case col.IsNull(i):
				m[f.Name] = nil
			default:
				switch a := col.(type) {
				case *array.Int64:
					m[f.Name] = a.Value(i)
				case *array.String:
					m[f.Name] = a.Value(i)
				default:
					t.Fatalf("column %s: %T", f.Name, col)
				}
			}
		}
		out = append(out, rowJSON(t, m))
	}
	return out
}

// TestPyarrowFlightPut: pyarrow's DoPut with row kinds (inserts, an update, a delete),
// committing every 4 rows, is acknowledged with each snapshot; `tarn scan` reads exactly
// those rows at each snapshot; the same stream sent again (same commit user and
// identifier) commits nothing.
func TestPyarrowFlightPut(t *testing.T) {
	py := python(t)
	s := testenv.StartTarn(t)
	s.MustDo(t, "POST", "/api/v1/databases/db/tables", `{"name":"put","columns":"id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2), day DATE","primaryKeys":["id"],"options":{"bucket":"2"}}`)
	out := run(t, 2*time.Minute, py, clientsPy(), "put", s.FlightAddr, s.Token, "db.put")
	if got := strings.TrimSpace(string(out)); got != `{"ack": {"snapshot": 1, "rows": 4}}`+"\n"+`{"ack": {"snapshot": 2, "rows": 4}}` {
		t.Fatalf("DoPut acknowledgements:\n%s", got)
	}
	want1 := `{"id":1,"name":"a","amount":"1.50","day":"2026-01-01"}
{"id":2,"name":"b","amount":"-2.25","day":null}
{"id":3,"name":null,"amount":"0.00","day":"1999-12-31"}
{"id":4,"name":"d","amount":null,"day":"2026-02-28"}
`
	want2 := `{"id":1,"name":"a","amount":"1.50","day":"2026-01-01"}
{"id":2,"name":"b2","amount":"9.99","day":"2026-03-01"}
{"id":4,"name":"d","amount":null,"day":"2026-02-28"}
{"id":5,"name":"e","amount":"100.01","day":null}
{"id":6,"name":"f","amount":"-0.05","day":"2000-02-29"}
`
	if got := s.Scan(t, "db.put", "--snapshot", "1"); got != want1 {
		t.Errorf("snapshot 1:\n%s\nwant:\n%s", got, want1)
	}
	if got := s.Scan(t, "db.put"); got != want2 {
		t.Errorf("snapshot 2:\n%s\nwant:\n%s", got, want2)
	}
	out = run(t, 2*time.Minute, py, clientsPy(), "put", s.FlightAddr, s.Token, "db.put")
	if got := string(out); strings.Count(got, `"skipped": true`) != 2 {
		t.Errorf("the stream sent again: %s; want both commits skipped", got)
	}
	if got := s.Scan(t, "db.put"); got != want2 {
		t.Errorf("after the retried stream:\n%s\nwant:\n%s", got, want2)
	}
}

package peers_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
)

// TestTailLatency measures how long a commit takes to reach a pyarrow tail through
// `tarn serve` with the log system on the Apache Kafka broker: commits are single-row HTTP
// uploads into a table with tarn.log.system = kafka (dual-written to the log; the Flight
// tail reads the log through the hybrid tail), and, for comparison, into a table without
// the log (the Flight tail reads the snapshots' files). For each commit the latency runs
// from the start of the upload request to the arrival of its row at the Python client
// (same clock); the upload's own round trip (write, snapshot commit, Kafka transaction) and
// the time from its response to the arrival (negative when the row arrives first) are
// reported beside it. It logs p50/p90/p99/max and checks that each tail delivered every
// row exactly once, in commit order, and that the log topic holds every row once with the
// commit markers (kcat, read_committed); it asserts no timing (the machine is shared).
// TARN_LATENCY_COMMITS sets the commits into the log table (default 200; half as many into
// the other).
func TestTailLatency(t *testing.T) {
	py := python(t)
	n := 200
	if v, err := strconv.Atoi(os.Getenv("TARN_LATENCY_COMMITS")); err == nil && v > 0 {
		n = v
	}
	k := testenv.Kafka(t)
	s := testenv.StartTarn(t, "--kafka", k.Addr)
	for _, mode := range []struct {
		name, table, options string
		commits              int
	}{
		{"log", "lat_log", `{"bucket":"2","tarn.log.system":"kafka"}`, n},
		{"files", "lat_files", `{"bucket":"2"}`, max(n/2, 1)}, // the baseline
	} {
		t.Run(mode.name, func(t *testing.T) {
			n := mode.commits
			s.MustDo(t, "POST", "/api/v1/databases/db/tables", `{"name":"`+mode.table+`","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":`+mode.options+`}`)
			tail := startPyTail(t, py, s, map[string]any{"table": "db." + mode.table, "start": "latest"}, false)
			tail.next(t) // the first message (a heartbeat): the tail is running

			var mu sync.Mutex
			recv := map[int64]int64{} // id -> arrival (epoch ns)
			var order []int64
			done := make(chan error, 1)
			go func() {
				for len(order) < n+1 {
					if !tail.lines.Scan() {
						done <- fmt.Errorf("the tail ended after %d rows: %v", len(order), tail.lines.Err())
						return
					}
					var m struct {
						Rows []struct {
							ID int64 `json:"id"`
						} `json:"rows"`
						RecvNS int64 `json:"recv_ns"`
					}
					if err := jsonUnmarshal(tail.lines.Bytes(), &m); err != nil {
						done <- err
						return
					}
					mu.Lock()
					for _, r := range m.Rows {
						if _, dup := recv[r.ID]; dup {
							mu.Unlock()
							done <- fmt.Errorf("row %d delivered twice", r.ID)
							return
						}
						recv[r.ID] = m.RecvNS
						order = append(order, r.ID)
					}
					mu.Unlock()
				}
				done <- nil
			}()
			// Row 0 warms up: the first upload into a log table creates its topic and its
			// transactional writer; it is reported on its own.
			sent := make([]int64, n+1)
			var upload []time.Duration
			for i := 0; i <= n; i++ {
				start := time.Now()
				sent[i] = start.UnixNano()
				s.MustDo(t, "POST", "/api/v1/databases/db/tables/"+mode.table+"/rows", fmt.Sprintf(`{"id":%d,"v":"r%d"}`+"\n", i, i))
				upload = append(upload, time.Since(start))
				time.Sleep(10 * time.Millisecond)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				mu.Lock()
				t.Fatalf("the tail delivered %d of %d rows", len(order), n+1)
			}
			var lat, afterResponse []time.Duration
			for i := 0; i <= n; i++ {
				if order[i] != int64(i) {
					t.Fatalf("row %d arrived at position %d", order[i], i)
				}
				if i > 0 {
					lat = append(lat, time.Duration(recv[int64(i)]-sent[i]))
					afterResponse = append(afterResponse, time.Duration(recv[int64(i)]-sent[i])-upload[i])
				}
			}
			t.Logf("%s, %d single-row commits: upload start to pyarrow tail: %s; the upload round trip: %s; upload response to pyarrow tail: %s (the first upload: %s to the tail)",
				mode.name, n, percentiles(lat), percentiles(upload[1:]), percentiles(afterResponse), time.Duration(recv[0]-sent[0]).Round(time.Millisecond))
			if mode.name == "log" {
				// Dual-written: the table's topic holds each row once and a commit marker per
				// partition per commit, read_committed, read by kcat (librdkafka).
				out := run(t, time.Minute, testenv.Kcat(t), "-C", "-b", k.Addr, "-t", "tarn-db-"+mode.table, "-o", "beginning", "-e", "-q",
					"-X", "isolation.level=read_committed", "-f", "%K\n") // key length, -1 for none
				rows, markers := 0, 0
				for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
					if l == "-1" {
						markers++ // commit markers have no key
					} else {
						rows++
					}
				}
				if rows != n+1 || markers != 2*(n+1) {
					t.Errorf("the log topic holds %d rows and %d commit markers; want %d and %d", rows, markers, n+1, 2*(n+1))
				}
			}
		})
	}
}

// percentiles formats p50, p90, p99 and the maximum.
func percentiles(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", r(at(0.50)), r(at(0.90)), r(at(0.99)), r(s[len(s)-1]))
}

// Package peers_test runs the clients users connect to `tarn serve` with against the real
// binary: Apache Paimon's own REST catalog client (Java), pyarrow.flight, the ADBC Flight
// SQL driver (Python) and Apache Arrow's Flight SQL JDBC driver. What each reads must be
// exactly what `tarn scan` reads; what each writes must be what Tarn then reads.
//
// The peers are pinned and installed on first use (internal/testenv: the Python clients
// from scripts/requirements-test.txt into a cached virtualenv, the JDBC driver from Maven
// Central, the Paimon oracle jar by compat/oracle); scripts/test installs them up front.
package peers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// ordersColumns is the table most peers read: every common type, a partition key and a
// composite primary key.
const ordersColumns = "dt STRING NOT NULL, id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2), day DATE, ts TIMESTAMP(3), score DOUBLE, ok BOOLEAN"

// orders is db.orders on a server: three snapshots (inserts; updates, deletes and
// inserts; a new partition) and the tag v1 on the first.
type orders struct {
	s     *testenv.TarnServer
	snaps []int64          // the three snapshot ids
	times map[int64]int64  // snapshot id -> commit time (epoch millis)
	rows  map[int64]string // snapshot id -> `tarn scan` of it (canonical JSON Lines)
	scans map[string]string
}

// scan is `tarn scan db.orders --format jsonl args...`, run once per distinct args. With
// --where, the filter must drop some of the rows, or comparing with it proves little.
func (o *orders) scan(t *testing.T, args ...string) string {
	t.Helper()
	key := strings.Join(args, "\x00")
	if out, ok := o.scans[key]; ok {
		return out
	}
	out := o.s.Scan(t, "db.orders", args...)
	o.scans[key] = out
	var plain []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--where" || args[i] == "--columns" {
			i++
			continue
		}
		plain = append(plain, args[i])
	}
	if len(plain) < len(args) && slices.Contains(args, "--where") {
		if all := o.scan(t, plain...); strings.Count(out, "\n") >= strings.Count(all, "\n") {
			t.Fatalf("the filter of %q keeps every row", args)
		}
	}
	return out
}

func orderRow(i int, dt, name string, kind string) string {
	amount := fmt.Sprintf("%d.%02d", i, (i*25)%100)
	if i%5 == 0 {
		amount = "-" + amount
	}
	nameJSON := fmt.Sprintf("%q", name)
	if i%7 == 0 {
		nameJSON = "null"
	}
	r := fmt.Sprintf(`{"dt":%q,"id":%d,"name":%s,"amount":%q,"day":"2026-01-%02d","ts":"2026-01-01T10:%02d:%02d.%03d","score":%g,"ok":%t`,
		dt, i, nameJSON, amount, 1+i%28, i%60, (i*7)%60, (i*37)%1000, float64(i)*0.5, i%3 == 0)
	if kind != "" {
		r += fmt.Sprintf(`,"_ROW_KIND":%q`, kind)
	}
	return r + "}\n"
}

// newOrders starts a server and writes db.orders through the HTTP API.
func newOrders(t *testing.T) *orders {
	t.Helper()
	s := testenv.StartTarn(t)
	o := &orders{s: s, times: map[int64]int64{}, rows: map[int64]string{}, scans: map[string]string{}}
	s.MustDo(t, "POST", "/api/v1/databases/db/tables", `{"name":"orders","columns":"`+ordersColumns+`","primaryKeys":["dt","id"],"partitionKeys":["dt"],"options":{"bucket":"3"}}`)
	dt := func(i int) string { return fmt.Sprintf("2026-01-0%d", 1+i%2) }
	var b1, b2, b3 strings.Builder
	for i := 1; i <= 24; i++ {
		b1.WriteString(orderRow(i, dt(i), fmt.Sprint("n", i), ""))
	}
	for i := 1; i <= 5; i++ {
		b2.WriteString(orderRow(i, dt(i), fmt.Sprint("u", i), "+U"))
	}
	for i := 6; i <= 7; i++ {
		b2.WriteString(orderRow(i, dt(i), fmt.Sprint("n", i), "-D"))
	}
	for i := 25; i <= 30; i++ {
		b2.WriteString(orderRow(i, dt(i), fmt.Sprint("n", i), "+I"))
	}
	for i := 31; i <= 40; i++ {
		b3.WriteString(orderRow(i, "2026-01-03", fmt.Sprint("n", i), ""))
	}
	for _, body := range []string{b1.String(), b2.String(), b3.String()} {
		var res struct {
			SnapshotID int64 `json:"snapshotId"`
		}
		if err := json.Unmarshal([]byte(s.MustDo(t, "POST", "/api/v1/databases/db/tables/orders/rows", body)), &res); err != nil || res.SnapshotID == 0 {
			t.Fatalf("write: %v %+v", err, res)
		}
		var snap struct {
			TimeMillis int64 `json:"timeMillis"`
		}
		if err := json.Unmarshal([]byte(s.MustDo(t, "GET", fmt.Sprintf("/api/v1/databases/db/tables/orders/snapshots/%d", res.SnapshotID), "")), &snap); err != nil {
			t.Fatal(err)
		}
		o.snaps = append(o.snaps, res.SnapshotID)
		o.times[res.SnapshotID] = snap.TimeMillis
		o.rows[res.SnapshotID] = s.Scan(t, "db.orders", "--snapshot", fmt.Sprint(res.SnapshotID))
		time.Sleep(5 * time.Millisecond) // distinct commit times for time travel by timestamp
	}
	s.MustDo(t, "POST", "/api/v1/databases/db/tables/orders/tags", fmt.Sprintf(`{"name":"v1","snapshotId":%d}`, o.snaps[0]))
	if n := strings.Count(o.rows[o.snaps[2]], "\n"); n != 38 {
		t.Fatalf("db.orders has %d rows, want 38:\n%s", n, o.rows[o.snaps[2]])
	}
	return o
}

// python returns the test virtualenv's interpreter (pyarrow, adbc-driver-flightsql,
// confluent-kafka).
func python(t *testing.T) string {
	t.Helper()
	return testenv.Python(t)
}

// run runs a command and returns its standard output; the test fails if it exits non-zero.
func run(t *testing.T, timeout time.Duration, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, tailOf(out.String(), 2000), tailOf(errb.String(), 4000))
	}
	return out.Bytes()
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// jsonLines decodes each line of out as JSON into a map.
func jsonLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var res []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		res = append(res, m)
	}
	return res
}

// tableFields returns the latest schema's fields of db.NAME in the server's warehouse.
func tableFields(t *testing.T, s *testenv.TarnServer, name string) []types.DataField {
	t.Helper()
	tbl, err := table.Open(t.Context(), fileio.NewLocal(), filepath.Join(s.Warehouse, "db.db", name))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := tbl.LatestSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sch.Fields
}

// arrowLines renders the rows of an Arrow IPC file a client saved as canonical JSON Lines
// (the columns matched to fields by name), sorted.
func arrowLines(t *testing.T, path string, fields []types.DataField) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var cols []types.DataField
	for _, af := range r.Schema().Fields() {
		i := types.FieldByName(fields, af.Name)
		if i < 0 {
			t.Fatalf("%s: column %q is not in the table", filepath.Base(path), af.Name)
		}
		cols = append(cols, fields[i])
	}
	var buf bytes.Buffer
	w, err := render.NewWriter(&buf, render.JSONL, cols, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r.NumRecords(); i++ {
		b, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(b); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return sortedLines(buf.String())
}

func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// sameRows fails the test unless got and want hold the same rows (in any order).
func sameRows(t *testing.T, what string, got []string, want string) {
	t.Helper()
	w := sortedLines(want)
	if !slices.Equal(got, w) {
		t.Errorf("%s: %d rows differ from `tarn scan`'s %d:\ngot:\n%s\nwant:\n%s", what, len(got), len(w), strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	if len(w) == 0 {
		t.Errorf("%s: `tarn scan` found no rows; the comparison proves nothing", what)
	}
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s", err, b)
	}
	return nil
}

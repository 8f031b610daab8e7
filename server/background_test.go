package server

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/table"
)

func TestBackgroundConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tarn.yaml")
	if err := os.WriteFile(file, []byte("compaction:\n  workers: 3\n  memory: 256MiB\n  poll_interval: 5s\nmaintenance:\n  interval: 2m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(c Config) bool
		wantErr string
	}{
		{name: "defaults", want: func(c Config) bool {
			return !c.Compaction.Disabled && c.Compaction.Workers == 0 && c.Compaction.Memory == 1<<30 &&
				!c.Maintenance.Disabled && time.Duration(c.Maintenance.Interval) == time.Minute
		}},
		{name: "flags", args: []string{"--compaction-workers", "4", "--compaction-memory", "512MiB", "--maintenance-interval", "30s"}, want: func(c Config) bool {
			return c.Compaction.Workers == 4 && c.Compaction.Memory == 512<<20 && time.Duration(c.Maintenance.Interval) == 30*time.Second
		}},
		{name: "off", args: []string{"--no-compaction", "--maintenance-interval", "off"}, want: func(c Config) bool {
			return c.Compaction.Disabled && c.Maintenance.Disabled
		}},
		{name: "environment", env: map[string]string{"TARN_COMPACTION_WORKERS": "2", "TARN_COMPACTION_MEMORY": "1 gb", "TARN_NO_COMPACTION": "true", "TARN_MAINTENANCE_INTERVAL": "10s"}, want: func(c Config) bool {
			return c.Compaction.Workers == 2 && c.Compaction.Memory == 1<<30 && c.Compaction.Disabled && time.Duration(c.Maintenance.Interval) == 10*time.Second
		}},
		{name: "file, then flags", args: []string{"--config", file, "--compaction-workers", "1"}, want: func(c Config) bool {
			return c.Compaction.Workers == 1 && c.Compaction.Memory == 256<<20 && time.Duration(c.Compaction.PollInterval) == 5*time.Second &&
				time.Duration(c.Maintenance.Interval) == 2*time.Minute
		}},
		{name: "bad memory", args: []string{"--compaction-memory", "lots"}, wantErr: "--compaction-memory"},
		{name: "bad unit", args: []string{"--compaction-memory", "1 parsec"}, wantErr: "unknown unit"},
		{name: "negative workers", args: []string{"--compaction-workers", "-1"}, wantErr: "must not be negative"},
		{name: "bad interval", env: map[string]string{"TARN_MAINTENANCE_INTERVAL": "soon"}, wantErr: "TARN_MAINTENANCE_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			c, err := Load(f, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(c) {
				t.Errorf("config %+v %+v", c.Compaction, c.Maintenance)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"1GiB", 1 << 30, "1GiB"}, {"512 MiB", 512 << 20, "512MiB"}, {"64mb", 64 << 20, "64MiB"},
		{"1.5g", 3 << 29, "1536MiB"}, {"1000", 1000, "1000B"}, {"2KiB", 2048, "2KiB"},
	} {
		got, err := ParseByteSize(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseByteSize(%q) = %d (%s), %v; want %d (%s)", tc.in, got, got, err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "GiB", "-1", "1 XB", "99999999999TiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded", bad)
		}
	}
}

// budgetObserver follows the scheduler's budget events and records violations.
type budgetObserver struct {
	mu      sync.Mutex
	workers int
	memory  int64
	running map[string]int64
	peak    int
	peakMem int64
	errs    []string
}

func (b *budgetObserver) observe(e compaction.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := fmt.Sprintf("%s/%s/%d", e.Job.Table, e.Job.Partition, e.Job.Bucket)
	switch e.Kind {
	case compaction.EventEnd:
		delete(b.running, k)
		return
	default:
		b.running[k] = e.Job.EstimatedBytes
	}
	var mem int64
	for _, m := range b.running {
		mem += m
	}
	b.peak, b.peakMem = max(b.peak, len(b.running)), max(b.peakMem, mem)
	if len(b.running) > b.workers {
		b.errs = append(b.errs, fmt.Sprintf("%d compactions at once, %d workers", len(b.running), b.workers))
	}
	if len(b.running) > 1 && mem > b.memory {
		b.errs = append(b.errs, fmt.Sprintf("%d compactions merge %d bytes at once, budget %d", len(b.running), mem, b.memory))
	}
}

// maxSortedRuns is the largest read amplification of a bucket of the table's latest
// snapshot.
func maxSortedRuns(ctx context.Context, t *table.Table) (int, error) {
	plan, err := t.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		return 0, err
	}
	m := 0
	for _, s := range plan.Splits {
		l, err := lsm.NewLevels(s.Files, 0, nil)
		if err != nil {
			return 0, err
		}
		m = max(m, l.NumSortedRuns())
	}
	return m, nil
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	st, b := call(t, http.DefaultClient, "GET", url, nil, "")
	if st != 200 {
		t.Fatalf("GET %s: %d %s", url, st, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

// statusView is what the tests read of GET .../compaction.
type statusView struct {
	EvaluatedSnapshot int64               `json:"evaluatedSnapshot"`
	Buckets           int                 `json:"buckets"`
	MaxSortedRuns     int                 `json:"maxSortedRuns"`
	PeakSortedRuns    int                 `json:"peakSortedRuns"`
	CompactionTrigger int                 `json:"compactionTrigger"`
	StopTrigger       int                 `json:"stopTrigger"`
	Queued            []compaction.Job    `json:"queued"`
	Running           []compaction.Job    `json:"running"`
	Recent            []compaction.Result `json:"recent"`
	Totals            compaction.Totals   `json:"totals"`
	Scheduler         compaction.SchedulerStatus
	Maintenance       *MaintenanceStatus `json:"maintenance"`
}

// scenario sizes a background run.
type scenario struct {
	requests int // HTTP uploads (and external commits) per table
	rows     int // rows per upload
	budget   int64
	timeout  time.Duration
}

// runBackground runs a server over a warehouse of several tables written concurrently by
// HTTP row ingestion and by a writer of its own (as an external Flink or Paimon job would
// write, seen by the server only by polling), with a tail reading one table under a
// consumer, and checks: buckets are compacted in the background, ingested buckets stay
// under num-sorted-run.stop-trigger, the budget of workers and memory is never exceeded,
// expiry keeps the snapshots within the table's options, the tail loses nothing, the
// compaction status and a triggered full compaction work, and every row is there.
func runBackground(t *testing.T, sc scenario, mod func(*Config), external func(s *Server) *catalog.Catalog) {
	ctx := context.Background()
	const workers = 2
	obs := &budgetObserver{workers: workers, memory: sc.budget, running: map[string]int64{}}
	s := startServer(t, func(c *Config) {
		c.Flight.Disabled = true
		c.Compaction.Workers = workers
		c.Compaction.Memory = ByteSize(sc.budget)
		c.Compaction.PollInterval = Duration(200 * time.Millisecond)
		c.Maintenance.Interval = Duration(300 * time.Millisecond)
		if mod != nil {
			mod(c)
		}
	}, WithCompactionOptions(func(o *compaction.SchedulerOptions) {
		o.Observe = obs.observe
		o.MinEvaluateInterval = 20 * time.Millisecond
	}))
	base := s.HTTPURL() + "/api/v1/databases/db/tables"
	pk := `"num-sorted-run.compaction-trigger":"3","num-sorted-run.stop-trigger":"6"`
	for _, def := range []string{
		`{"name":"orders","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":{"bucket":"2",` + pk +
			`,"snapshot.num-retained.min":"3","snapshot.num-retained.max":"8","snapshot.time-retained":"1 ms"}}`,
		`{"name":"events","columns":"id BIGINT NOT NULL, dt STRING NOT NULL, v STRING","primaryKeys":["id","dt"],"partitionKeys":["dt"],` +
			`"options":{"bucket":"2",` + pk + `,"tag.automatic-creation":"batch"}}`,
		`{"name":"logs","columns":"id BIGINT, v STRING","options":{"bucket":"2","bucket-key":"id"}}`,
		`{"name":"ext","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":{"bucket":"2",` + pk + `}}`,
	} {
		if st, b := call(t, http.DefaultClient, "POST", base, strings.NewReader(def), ""); st != 201 {
			t.Fatalf("create %s: %d %s", def, st, b)
		}
	}
	ids := func(name string) catalog.Identifier { return catalog.Identifier{Database: "db", Table: name} }
	load := func(cat *catalog.Catalog, name string) *table.Table {
		tb, err := cat.LoadTable(ctx, ids(name))
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	orders := load(s.Catalog(), "orders")

	// A tail of orders under a consumer: it reads half, stops for a while (expiry runs
	// on), and resumes where it stopped.
	want := sc.requests * sc.rows
	seen := map[int64]int{}
	var seenMu sync.Mutex
	tailErr := make(chan error, 1)
	tailCtx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	go func() {
		tailErr <- func() error {
			var resume *table.Position
			for round := 0; ; round++ {
				f, err := orders.Follow(tailCtx, table.FollowOptions{Start: table.StartFull, Resume: resume, ConsumerID: "audit", PollInterval: 50 * time.Millisecond})
				if err != nil {
					return fmt.Errorf("round %d: %w", round, err)
				}
				for {
					b, err := f.Next(tailCtx)
					if err != nil {
						f.Close()
						if tailCtx.Err() != nil {
							return nil
						}
						return err
					}
					col := b.Record.Column(0).(*array.Int64)
					seenMu.Lock()
					for i := range col.Len() {
						seen[col.Value(i)]++
					}
					n := len(seen)
					seenMu.Unlock()
					b.Record.Release()
					p := b.Position
					resume = &p
					if round == 0 && n >= want/2 {
						break
					}
				}
				f.Close()
				select { // paused: snapshots the tail has not read must survive expiry
				case <-time.After(1500 * time.Millisecond):
				case <-tailCtx.Done():
					return nil
				}
			}
		}()
	}()

	// Writers: HTTP uploads into orders, events and logs; direct commits into ext.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	peakRuns := map[string]int{}
	var peakMu sync.Mutex
	for _, name := range []string{"orders", "events", "logs"} {
		tb := load(s.Catalog(), name)
		wg.Go(func() {
			for r := range sc.requests {
				var body strings.Builder
				for i := range sc.rows {
					id := r*sc.rows + i
					if name == "events" {
						fmt.Fprintf(&body, `{"id":%d,"dt":"2026-01-0%d","v":"r%d"}`+"\n", id, 1+id%2, r)
					} else {
						fmt.Fprintf(&body, `{"id":%d,"v":"r%d"}`+"\n", id, r)
					}
				}
				st, b := call(t, http.DefaultClient, "POST", base+"/"+name+"/rows", strings.NewReader(body.String()), "")
				if st != 200 {
					errs <- fmt.Errorf("upload into %s: %d %s", name, st, b)
					return
				}
				if name != "logs" {
					m, err := maxSortedRuns(ctx, tb)
					if err != nil {
						errs <- err
						return
					}
					peakMu.Lock()
					peakRuns[name] = max(peakRuns[name], m)
					peakMu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	ext := load(external(s), "ext")
	wg.Go(func() {
		fields, _ := types.ParseColumns("id BIGINT NOT NULL, v STRING")
		schema, _ := types.ArrowSchema(fields)
		for r := range sc.requests {
			var rows []string
			for i := range sc.rows {
				rows = append(rows, fmt.Sprintf(`{"id":%d,"v":"x%d"}`, r*sc.rows+i, r))
			}
			if err := func() error {
				b, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
				if err != nil {
					return err
				}
				defer b.Release()
				w, err := ext.NewWriter(ctx, table.WriterOptions{})
				if err != nil {
					return err
				}
				defer w.Close()
				if err := w.Write(ctx, b); err != nil {
					return err
				}
				msgs, err := w.PrepareCommit(ctx)
				if err != nil {
					return err
				}
				_, err = ext.Commit(ctx, table.Commit{User: "flink-job", Identifier: int64(r + 1), Messages: msgs})
				return err
			}(); err != nil {
				errs <- fmt.Errorf("external writer: %w", err)
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// The tail reads everything, each row once.
	deadline := time.Now().Add(sc.timeout)
	for {
		seenMu.Lock()
		n := len(seen)
		seenMu.Unlock()
		if n == want {
			break
		}
		select {
		case err := <-tailErr:
			t.Fatalf("tail ended after %d of %d rows: %v", n, want, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tail read %d of %d rows", n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopTail()
	if err := <-tailErr; err != nil {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("the tail read id %d %d times", id, n)
		}
	}

	// Background compaction settles: nothing queued or running, every bucket evaluated at
	// the latest snapshot and at most at the compaction trigger.
	status := func(name string) statusView {
		var v statusView
		getJSON(t, base+"/"+name+"/compaction", &v)
		return v
	}
	latest := func(name string) int64 {
		var v struct {
			LatestSnapshotID int64 `json:"latestSnapshotId"`
		}
		getJSON(t, base+"/"+name, &v)
		return v.LatestSnapshotID
	}
	for _, name := range []string{"orders", "events", "logs", "ext"} {
		for {
			v := status(name)
			if len(v.Queued)+len(v.Running) == 0 && v.EvaluatedSnapshot == latest(name) && (name == "logs" || v.MaxSortedRuns <= 3) {
				t.Logf("%s: %d buckets, max sorted runs %d (peak %d, after uploads %d), %+v", name, v.Buckets, v.MaxSortedRuns, v.PeakSortedRuns, peakRuns[name], v.Totals)
				if v.Totals.Compactions == 0 || len(v.Recent) == 0 {
					t.Errorf("%s: not compacted: %+v", name, v.Totals)
				}
				if name == "orders" || name == "events" {
					if v.StopTrigger != 6 || v.PeakSortedRuns >= 6 || peakRuns[name] >= 6 {
						t.Errorf("%s: a bucket reached %d sorted runs (%d seen by the scheduler), stop trigger %d", name, peakRuns[name], v.PeakSortedRuns, v.StopTrigger)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: compaction did not settle: %+v", name, v)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	obs.mu.Lock()
	t.Logf("budget: peak %d compactions, %d bytes (budget %d)", obs.peak, obs.peakMem, sc.budget)
	for _, e := range obs.errs {
		t.Error(e)
	}
	if obs.peak == 0 {
		t.Error("no compaction observed")
	}
	obs.mu.Unlock()
	if st := s.Scheduler().Stats(); st.PeakSlots > workers || (st.Oversized == 0 && st.PeakMemory > sc.budget) {
		t.Errorf("scheduler peaks: %+v", st)
	}

	// Expiry kept orders within snapshot.num-retained.min and .max.
	for {
		var v struct {
			Snapshots []struct {
				ID int64 `json:"id"`
			} `json:"snapshots"`
		}
		getJSON(t, base+"/orders/snapshots", &v)
		m := status("orders").Maintenance
		if len(v.Snapshots) <= 8 && m != nil && m.ExpiredSnapshots > 0 {
			if len(v.Snapshots) < 3 {
				t.Errorf("orders keeps %d snapshots, snapshot.num-retained.min is 3", len(v.Snapshots))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders keeps %d snapshots (maintenance %+v)", len(v.Snapshots), m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Maintenance tags events after its commits, in the background: wait for it.
	for {
		var tags struct {
			Tags []struct {
				Name string `json:"name"`
			} `json:"tags"`
		}
		getJSON(t, base+"/events/tags", &tags)
		if len(tags.Tags) == 1 && strings.HasPrefix(tags.Tags[0].Name, "batch-write-") {
			break
		}
		if len(tags.Tags) > 1 || time.Now().After(deadline) {
			t.Errorf("events tags: %+v", tags)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A triggered full compaction leaves one sorted run per bucket on the top level (one
	// more upload makes sure some bucket is not so yet).
	if st, b := call(t, http.DefaultClient, "POST", base+"/events/rows", strings.NewReader(`{"id":0,"dt":"2026-01-01","v":"again"}`), ""); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	st, b := call(t, http.DefaultClient, "POST", base+"/events/compaction?full=true", nil, "")
	var tr compaction.TriggerResult
	if st != 202 || json.Unmarshal(b, &tr) != nil || !tr.Full || tr.Queued < 1 || tr.Buckets != 4 {
		t.Fatalf("POST compaction?full=true: %d %s", st, b)
	}
	if st, b := call(t, http.DefaultClient, "POST", base+"/events/compaction?full=maybe", nil, ""); st != 400 {
		t.Errorf("full=maybe: %d %s", st, b)
	}
	for {
		v := status("events")
		full := 0
		for _, r := range v.Recent {
			// A bucket that background compaction brought to one top-level run before
			// its turn ends with nothing to do.
			if r.Full && r.Triggered && (r.Outcome == "compacted" || r.Outcome == "nothing") {
				full++
			}
		}
		if full == tr.Queued && len(v.Queued)+len(v.Running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("full compaction did not finish: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var files struct {
		Files []struct {
			Bucket int   `json:"bucket"`
			Level  int32 `json:"level"`
		} `json:"files"`
	}
	getJSON(t, base+"/events/snapshots/latest/files", &files)
	if len(files.Files) != 4 {
		t.Errorf("%d files after a full compaction of 4 buckets", len(files.Files))
	}
	for _, f := range files.Files {
		if f.Level != 3 { // num-levels: trigger + 1
			t.Errorf("bucket %d: a file on level %d after a full compaction", f.Bucket, f.Level)
		}
	}

	// Every row is there.
	for _, name := range []string{"orders", "events", "logs", "ext"} {
		if n := strings.Count(scanRows(t, s.Catalog(), "db", name), "\n"); n != want {
			t.Errorf("%s: %d rows, want %d", name, n, want)
		}
	}
	_, metricsBody := call(t, http.DefaultClient, "GET", s.HTTPURL()+"/metrics", nil, "")
	for _, m := range []string{`tarn_compactions_total{result="ok",table="db.orders"}`, "tarn_compaction_bytes_in_total", "tarn_compaction_duration_seconds",
		"tarn_compaction_queue_length", "tarn_snapshots_expired_total", "tarn_tags_auto_created_total"} {
		if !strings.Contains(string(metricsBody), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

func TestBackgroundCompactionAndMaintenance(t *testing.T) {
	runBackground(t, scenario{requests: 30, rows: 30, budget: 16 << 10, timeout: 2 * time.Minute}, nil, func(s *Server) *catalog.Catalog {
		// Through a symbolic link: the server's in-process commit notifications do not see
		// this writer's commits, as they would not see another process's.
		link := filepath.Join(filepath.Dir(s.Config().Warehouse), "external-link")
		if err := os.Symlink(s.Config().Warehouse, link); err != nil {
			t.Fatal(err)
		}
		return catalog.New(fileio.NewLocal(), link)
	})
}

// The same on MinIO.
func TestBackgroundCompactionOnMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	s3 := testenv.MinIO(t)
	runBackground(t, scenario{requests: 15, rows: 30, budget: 16 << 10, timeout: 4 * time.Minute}, func(c *Config) {
		c.Warehouse = s3.URI("wh")
		c.S3 = S3Config{Endpoint: s3.URL, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}
	}, func(s *Server) *catalog.Catalog {
		fio, err := s3.FileIO(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return catalog.New(fio, s3.URI("wh"))
	})
}

// Without compaction the compaction routes answer 501 and maintenance still runs; with
// --maintenance-interval off nothing expires.
func TestBackgroundOff(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maintenance bool
	}{{"maintenance on", true}, {"maintenance off", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(c *Config) {
				c.Flight.Disabled = true
				c.Compaction.Disabled = true
				c.Maintenance.Disabled = !tc.maintenance
				c.Maintenance.Interval = Duration(100 * time.Millisecond)
			})
			if s.Scheduler() != nil {
				t.Fatal("a scheduler runs with compaction off")
			}
			base := s.HTTPURL() + "/api/v1/databases/db/tables"
			def := `{"name":"t","columns":"id BIGINT NOT NULL","primaryKeys":["id"],"options":{"bucket":"1","snapshot.num-retained.min":"2","snapshot.num-retained.max":"2","snapshot.time-retained":"1 ms"}}`
			if st, b := call(t, http.DefaultClient, "POST", base, strings.NewReader(def), ""); st != 201 {
				t.Fatalf("%d %s", st, b)
			}
			for i := range 6 {
				if st, b := call(t, http.DefaultClient, "POST", base+"/t/rows", strings.NewReader(fmt.Sprintf(`{"id":%d}`, i)), ""); st != 200 {
					t.Fatalf("%d %s", st, b)
				}
			}
			for _, m := range []string{"GET", "POST"} {
				if st, b := call(t, http.DefaultClient, m, base+"/t/compaction", nil, ""); st != 501 {
					t.Errorf("%s compaction: %d %s", m, st, b)
				}
			}
			tb, err := s.Catalog().LoadTable(context.Background(), catalog.Identifier{Database: "db", Table: "t"})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				ids, err := tb.SnapshotIDs(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !tc.maintenance {
					time.Sleep(500 * time.Millisecond)
					if ids, _ := tb.SnapshotIDs(context.Background()); len(ids) != 6 {
						t.Errorf("%d snapshots with maintenance off", len(ids))
					}
					break
				}
				if len(ids) == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("snapshots %v: not expired to snapshot.num-retained.max", ids)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// Writers holding back: a commit into a bucket at the stop trigger waits for the
// compaction of that bucket, then goes ahead (the shutdown of the scheduler releases it).
func TestCommitWaitsAtStopTrigger(t *testing.T) {
	ctx := context.Background()
	s := startServer(t, func(c *Config) {
		c.Flight.Disabled = true
		c.Maintenance.Disabled = true
		c.Compaction.Workers = 1
	}, WithCompactionOptions(func(o *compaction.SchedulerOptions) { o.MinEvaluateInterval = time.Hour }))
	base := s.HTTPURL() + "/api/v1/databases/db/tables"
	def := `{"name":"t","columns":"id BIGINT NOT NULL","primaryKeys":["id"],"options":{"bucket":"1","num-sorted-run.compaction-trigger":"2","num-sorted-run.stop-trigger":"3"}}`
	if st, b := call(t, http.DefaultClient, "POST", base, strings.NewReader(def), ""); st != 201 {
		t.Fatalf("%d %s", st, b)
	}
	tb, err := s.Catalog().LoadTable(ctx, catalog.Identifier{Database: "db", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// Two runs written around the server (an evaluation interval of an hour keeps the
	// scheduler from compacting them on its own), then an upload through it.
	for i := range 2 {
		w, err := tb.NewWriter(ctx, table.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fields, _ := types.ParseColumns("id BIGINT NOT NULL")
		schema, _ := types.ArrowSchema(fields)
		rec, _, _ := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(fmt.Sprintf(`[{"id":%d}]`, i)))
		if err := w.Write(ctx, rec); err != nil {
			t.Fatal(err)
		}
		msgs, err := w.PrepareCommit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Commit(ctx, table.Commit{User: "other", Identifier: format.BatchCommitIdentifier, Messages: msgs}); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	if st, b := call(t, http.DefaultClient, "POST", base+"/t/rows", strings.NewReader(`{"id":9}`), ""); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	m, err := maxSortedRuns(ctx, tb)
	if err != nil {
		t.Fatal(err)
	}
	if m >= 3 {
		t.Errorf("%d sorted runs after the upload, stop trigger 3", m)
	}
	var v statusView
	getJSON(t, base+"/t/compaction", &v)
	if v.Totals.Compactions == 0 {
		t.Errorf("the upload did not wait for a compaction: %+v", v)
	}
	_, metricsBody := call(t, http.DefaultClient, "GET", s.HTTPURL()+"/metrics", nil, "")
	if !strings.Contains(string(metricsBody), `tarn_compaction_commit_wait_seconds_count{table="db.t"}`) {
		t.Error("metrics lack the commit's wait")
	}
}

// The maintenance drops expired partitions of tables with partition.expiration-time (by
// the dates in their values), once per partition.expiration-check-interval.
func TestMaintenanceExpiresPartitions(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.Flight.Disabled = true
		c.Compaction.Disabled = true
		c.Maintenance.Interval = Duration(100 * time.Millisecond)
	})
	base := s.HTTPURL() + "/api/v1/databases/db/tables"
	def := `{"name":"p","columns":"dt STRING, id BIGINT","partitionKeys":["dt"],"options":{"partition.expiration-time":"7 d","partition.expiration-check-interval":"1 ms"}}`
	if st, b := call(t, http.DefaultClient, "POST", base, strings.NewReader(def), ""); st != 201 {
		t.Fatalf("%d %s", st, b)
	}
	today := time.Now().Format("2006-01-02")
	rows := fmt.Sprintf(`{"dt":"2020-01-01","id":1}`+"\n"+`{"dt":"2020-01-02","id":2}`+"\n"+`{"dt":%q,"id":3}`, today)
	if st, b := call(t, http.DefaultClient, "POST", base+"/p/rows", strings.NewReader(rows), ""); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	tb, err := s.Catalog().LoadTable(context.Background(), catalog.Identifier{Database: "db", Table: "p"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		plan, err := tb.Plan(context.Background(), table.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, sp := range plan.Splits {
			parts = append(parts, fmt.Sprint(sp.PartitionValues...))
		}
		if len(parts) == 1 && parts[0] == today {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions %v: the 2020 ones did not expire", parts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := s.maint.status(catalog.Identifier{Database: "db", Table: "p"})
	deadline = time.Now().Add(5 * time.Second)
	for (st == nil || len(st.ExpiredPartitions) == 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st = s.maint.status(catalog.Identifier{Database: "db", Table: "p"})
	}
	if st == nil || strings.Join(st.ExpiredPartitions, ",") != "dt=2020-01-01,dt=2020-01-02" {
		t.Errorf("maintenance status %+v, want the two expired partitions", st)
	}
}

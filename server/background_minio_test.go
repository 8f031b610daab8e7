package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/table"
)

// Two writers upload into the same buckets of one table on MinIO at once while the
// server compacts it in the background. Every snapshot of the table's history keeps each
// bucket under num-sorted-run.stop-trigger sorted runs; every key holds the value of the
// last upload that wrote it (no update lost to a compaction or the other writer); after a
// triggered full compaction each bucket is one sorted run on the top level whose files
// hold each key exactly once.
func TestConcurrentWritersWithBackgroundCompactionOnMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	s3 := testenv.MinIO(t)
	const (
		writers  = 2
		rounds   = 25
		initial  = 40 // keys 0..39; writer w owns the keys with key%2 == w
		inserted = 4  // new keys per writer and round
		trigger  = 3
		stop     = 5
		buckets  = 2
	)
	obs := &budgetObserver{workers: 2, memory: 64 << 10, running: map[string]int64{}}
	s := startServer(t, func(c *Config) {
		c.Flight.Disabled = true
		c.Warehouse = s3.URI("wh")
		c.S3 = S3Config{Endpoint: s3.URL, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}
		c.Compaction.Workers = 2
		c.Compaction.Memory = 64 << 10
		c.Compaction.PollInterval = Duration(time.Second)
	}, WithCompactionOptions(func(o *compaction.SchedulerOptions) {
		o.Observe = obs.observe
		o.MinEvaluateInterval = 20 * time.Millisecond
	}))
	base := s.HTTPURL() + "/api/v1/databases/db/tables"
	def := fmt.Sprintf(`{"name":"kv","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":{"bucket":"%d",`+
		`"num-sorted-run.compaction-trigger":"%d","num-sorted-run.stop-trigger":"%d"}}`, buckets, trigger, stop)
	if st, b := call(t, http.DefaultClient, "POST", base, strings.NewReader(def), ""); st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	tb, err := s.Catalog().LoadTable(ctx, catalog.Identifier{Database: "db", Table: "kv"})
	if err != nil {
		t.Fatal(err)
	}

	// Each round, a writer updates two thirds of its keys (a different two thirds each
	// round) and inserts new ones.
	expected := make([]map[int]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		expected[w] = map[int]string{}
		wg.Go(func() {
			for r := range rounds {
				var body strings.Builder
				add := func(id int) {
					v := fmt.Sprintf("w%d-r%d", w, r)
					fmt.Fprintf(&body, `{"id":%d,"v":%q}`+"\n", id, v)
					expected[w][id] = v
				}
				for id := w; id < initial; id += writers {
					if r == 0 || (id/writers+r)%3 != 0 {
						add(id)
					}
				}
				for j := range inserted {
					add(initial + (r*inserted+j)*writers + w)
				}
				st, b := call(t, http.DefaultClient, "POST", base+"/kv/rows", strings.NewReader(body.String()), "")
				if st != 200 {
					errs <- fmt.Errorf("writer %d round %d: %d %s", w, r, st, b)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d writers × %d uploads in %s", writers, rounds, time.Since(start).Round(time.Millisecond))

	// Every snapshot, commits and compactions alike, kept each bucket under the stop
	// trigger.
	ids, err := tb.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < writers*rounds {
		t.Fatalf("%d snapshots, want at least %d", len(ids), writers*rounds)
	}
	peak, compactSnaps := 0, 0
	for _, id := range ids {
		snap, err := tb.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.CommitKind == format.CommitCompact {
			compactSnaps++
		}
		runs, err := sortedRunsAt(ctx, tb, id)
		if err != nil {
			t.Fatal(err)
		}
		for b, n := range runs {
			peak = max(peak, n)
			if n >= stop {
				t.Errorf("snapshot %d (%s by %s): bucket %d has %d sorted runs, stop trigger %d", id, snap.CommitKind, snap.CommitUser, b, n, stop)
			}
		}
	}
	var v statusView
	getJSON(t, base+"/kv/compaction", &v)
	t.Logf("%d snapshots, %d by compactions; peak sorted runs of a bucket %d (stop trigger %d); totals %+v; budget peak %d compactions, %d bytes",
		len(ids), compactSnaps, peak, stop, v.Totals, obs.peak, obs.peakMem)
	if compactSnaps == 0 || v.Totals.Compactions == 0 {
		t.Fatalf("no background compaction while writing: %+v", v.Totals)
	}
	obs.mu.Lock()
	for _, e := range obs.errs {
		t.Error(e)
	}
	obs.mu.Unlock()

	// A full compaction, asked for through the API.
	st, b := call(t, http.DefaultClient, "POST", base+"/kv/compaction?full=true", nil, "")
	var tr compaction.TriggerResult
	if st != 202 || json.Unmarshal(b, &tr) != nil || !tr.Full || tr.Buckets != buckets {
		t.Fatalf("POST compaction?full=true: %d %s", st, b)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		getJSON(t, base+"/kv/compaction", &v)
		done := 0
		for _, r := range v.Recent {
			if r.Full && r.Triggered && (r.Outcome == "compacted" || r.Outcome == "nothing") {
				done++
			}
		}
		if done >= tr.Queued && len(v.Queued)+len(v.Running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the full compaction did not finish: %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}

	want := map[int]string{}
	for w := range writers {
		for id, val := range expected[w] {
			want[id] = val
		}
	}
	plan, err := tb.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Splits) != buckets {
		t.Fatalf("%d buckets after the full compaction, want %d", len(plan.Splits), buckets)
	}
	seen := map[int64]int{}
	var fileRows int64
	for i := range plan.Splits {
		sp := &plan.Splits[i]
		l, err := lsm.NewLevels(sp.Files, trigger+1, nil) // num-levels: trigger + 1
		if err != nil {
			t.Fatal(err)
		}
		if l.NumSortedRuns() != 1 {
			t.Errorf("bucket %d: %d sorted runs after a full compaction", sp.Bucket, l.NumSortedRuns())
		}
		// Each file read alone: the keys it holds, before any merging across files.
		for _, f := range sp.Files {
			if int(f.Level) != l.MaxLevel() {
				t.Errorf("bucket %d: file %s on level %d after a full compaction, top level %d", sp.Bucket, f.FileName, f.Level, l.MaxLevel())
			}
			fileRows += f.RowCount
			one := *sp
			one.Files = []manifest.DataFileMeta{f}
			rd, err := tb.ReadSplit(ctx, plan, &one, table.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for {
				rec, err := rd.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				col := rec.Column(0).(*array.Int64)
				for i := range col.Len() {
					seen[col.Value(i)]++
				}
				rec.Release()
			}
			rd.Close()
		}
	}
	if fileRows != int64(len(want)) {
		t.Errorf("the files hold %d rows for %d keys", fileRows, len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("key %d is in the files %d times", id, n)
		}
	}

	// The merged read: every key with the value of its last upload.
	rows := scanRows(t, s.Catalog(), "db", "kv")
	got := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(rows), "\n") {
		var r struct {
			ID int    `json:"id"`
			V  string `json:"v"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if _, dup := got[r.ID]; dup {
			t.Errorf("key %d read twice", r.ID)
		}
		got[r.ID] = r.V
	}
	if len(got) != len(want) {
		t.Errorf("%d keys read, want %d", len(got), len(want))
	}
	lost := 0
	for id, val := range want {
		if got[id] != val {
			lost++
			if lost <= 5 {
				t.Errorf("key %d: %q, want %q (the last upload's)", id, got[id], val)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d keys lost their last update", lost, len(want))
	}
}

// sortedRunsAt is the read amplification of each bucket at a snapshot.
func sortedRunsAt(ctx context.Context, t *table.Table, snapshot int64) (map[int]int, error) {
	plan, err := t.Plan(ctx, table.ScanOptions{SnapshotID: snapshot, AllLevels: true})
	if err != nil {
		return nil, err
	}
	out := map[int]int{}
	for _, s := range plan.Splits {
		l, err := lsm.NewLevels(s.Files, 0, nil)
		if err != nil {
			return nil, err
		}
		out[s.Bucket] = l.NumSortedRuns()
	}
	return out, nil
}

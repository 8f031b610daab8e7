package compaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var testFields = func() []types.DataField {
	f, err := types.ParseColumns("id INT NOT NULL, v STRING")
	if err != nil {
		panic(err)
	}
	return f
}()

func createTable(t *testing.T, cat *catalog.Catalog, name string, pk bool, opts map[string]string) *table.Table {
	t.Helper()
	spec := catalog.TableSpec{Fields: testFields, Options: opts}
	if pk {
		spec.PrimaryKeys = []string{"id"}
	}
	tbl, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: name}, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// commitRows writes rows with the given ids (v = tag) and commits them as one snapshot.
func commitRows(ctx context.Context, tbl *table.Table, ids []int, tag string) error {
	return commitRowsVia(ctx, nil, tbl, ids, tag)
}

// commitRowsVia is commitRows through the scheduler's BeforeCommit, as the server's row
// ingestion commits.
func commitRowsVia(ctx context.Context, s *Scheduler, tbl *table.Table, ids []int, tag string) error {
	var rows []string
	for _, id := range ids {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q}`, id, tag))
	}
	schema, err := types.ArrowSchema(testFields)
	if err != nil {
		return err
	}
	b, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		return err
	}
	defer b.Release()
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
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
	done := func(int64) {}
	if s != nil {
		name := tbl.Path()[strings.LastIndex(tbl.Path(), "/")+1:]
		if done, err = s.BeforeCommit(ctx, tbl, catalog.Identifier{Database: "db", Table: name}, msgs); err != nil {
			return err
		}
	}
	res, err := tbl.Commit(ctx, table.Commit{User: "test-writer", Identifier: format.BatchCommitIdentifier, Messages: msgs})
	done(res.SnapshotID)
	return err
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func countRows(t *testing.T, tbl *table.Table) int64 {
	t.Helper()
	ctx := context.Background()
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for i := range plan.Splits {
		r, err := tbl.ReadSplit(ctx, plan, &plan.Splits[i], table.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n += b.NumRows()
			b.Release()
		}
		r.Close()
	}
	return n
}

// What the scheduler sees in a bucket is what Table.Compact would do there.
func TestTableNeeds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pk        bool
		opts      map[string]string
		commits   int
		full      bool
		runs      int
		needed    bool
		files     int
		wantBytes bool
	}{
		{name: "pk below trigger", pk: true, opts: map[string]string{"num-sorted-run.compaction-trigger": "3"}, commits: 2, runs: 2},
		{name: "pk at trigger", pk: true, opts: map[string]string{"num-sorted-run.compaction-trigger": "3"}, commits: 3, runs: 3, needed: true, files: 3, wantBytes: true},
		{name: "pk full", pk: true, commits: 2, full: true, runs: 2, needed: true, files: 2, wantBytes: true},
		{name: "pk full of one file", pk: true, commits: 1, full: true, runs: 1, needed: true, files: 1, wantBytes: true},
		{name: "append four small files", opts: map[string]string{"bucket": "1", "bucket-key": "id"}, commits: 4, runs: 4},
		{name: "append five small files", opts: map[string]string{"bucket": "1", "bucket-key": "id"}, commits: 5, runs: 5, needed: true, files: 5, wantBytes: true},
		// A full compaction of a fixed-bucket append table needs three files
		// (BucketedAppendCompactManager.FULL_COMPACT_MIN_FILE).
		{name: "append full of two", opts: map[string]string{"bucket": "1", "bucket-key": "id"}, commits: 2, full: true, runs: 2},
		{name: "append full of three", opts: map[string]string{"bucket": "1", "bucket-key": "id"}, commits: 3, full: true, runs: 3, needed: true, files: 3, wantBytes: true},
		{name: "append full of one", opts: map[string]string{"bucket": "1", "bucket-key": "id"}, commits: 1, full: true, runs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cat := catalog.New(fileio.NewLocal(), t.TempDir())
			opts := map[string]string{"bucket": "1"}
			for k, v := range tc.opts {
				opts[k] = v
			}
			tbl := createTable(t, cat, "t", tc.pk, opts)
			for c := 0; c < tc.commits; c++ {
				if err := commitRows(ctx, tbl, seq(c*10, 10), fmt.Sprint(c)); err != nil {
					t.Fatal(err)
				}
			}
			_, _, snap, needs, _, err := tableNeeds(ctx, tbl, tc.full, nil)
			if err != nil {
				t.Fatal(err)
			}
			if snap != int64(tc.commits) || len(needs) != 1 {
				t.Fatalf("snapshot %d, %d buckets", snap, len(needs))
			}
			n := needs[0]
			if n.runs != tc.runs || n.needed != tc.needed || n.files != tc.files || (n.bytes > 0) != tc.wantBytes {
				t.Errorf("need %+v, want runs %d needed %v files %d", n, tc.runs, tc.needed, tc.files)
			}
			// Table.Compact agrees.
			sum, err := tbl.Compact(ctx, table.CompactOptions{Full: tc.full})
			if err != nil {
				t.Fatal(err)
			}
			if (sum.SnapshotID > 0) != tc.needed || (tc.needed && sum.BytesIn != n.bytes) {
				t.Errorf("Compact %+v; scheduler estimated %d bytes, needed %v", sum, n.bytes, tc.needed)
			}
		})
	}
}

// budgetCheck follows the scheduler's events and checks the budget is never exceeded.
type budgetCheck struct {
	mu        sync.Mutex
	t         *testing.T
	workers   int
	memory    int64
	running   map[string]int64 // job -> reserved bytes
	peak      int
	peakMem   int64
	started   int
	compacted int
	actual    []span
	merging   map[string]time.Time // job -> when it held what it merges (its resize)
}

type span struct {
	start, end time.Time
	bytesIn    int64
}

func newBudgetCheck(t *testing.T, workers int, memory int64) *budgetCheck {
	return &budgetCheck{t: t, workers: workers, memory: memory, running: map[string]int64{}, merging: map[string]time.Time{}}
}

func (b *budgetCheck) observe(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := fmt.Sprintf("%s/%s/%d", e.Job.Table, e.Job.Partition, e.Job.Bucket)
	switch e.Kind {
	case EventStart:
		b.started++
		b.running[k] = e.Job.EstimatedBytes
	case EventResize:
		b.running[k] = e.Job.EstimatedBytes
		// From here on the job holds exactly what it merges: before, it held an estimate,
		// and a compaction that ended meanwhile made room for the difference.
		b.merging[k] = time.Now()
	case EventEnd:
		delete(b.running, k)
		start, ok := b.merging[k]
		delete(b.merging, k)
		if !ok {
			start = *e.Job.StartedAt
		}
		if e.Result.Outcome == "compacted" {
			b.compacted++
			b.actual = append(b.actual, span{start: start, end: e.Result.FinishedAt, bytesIn: e.Result.BytesIn})
		}
		return
	}
	var mem int64
	for _, m := range b.running {
		mem += m
	}
	b.peak = max(b.peak, len(b.running))
	b.peakMem = max(b.peakMem, mem)
	if len(b.running) > b.workers {
		b.t.Errorf("%d compactions running, the budget is %d workers", len(b.running), b.workers)
	}
	if mem > b.memory && len(b.running) > 1 {
		b.t.Errorf("%d compactions hold %d bytes, the budget is %d", len(b.running), mem, b.memory)
	}
	if mem != e.Memory {
		b.t.Errorf("the scheduler counts %d bytes in use, the events add up to %d", e.Memory, mem)
	}
}

// waitIdle waits until nothing is queued or running and no bucket needs compaction.
func waitIdle(t *testing.T, s *Scheduler, tables []*table.Table, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := s.Stats()
		idle := st.Queued == 0 && st.Running == 0
		if idle {
			for _, tbl := range tables {
				_, _, _, needs, _, err := tableNeeds(context.Background(), tbl, false, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range needs {
					idle = idle && !n.needed
				}
			}
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction not idle after %s: %+v", timeout, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// maxRuns is the largest number of sorted runs of a bucket of the table now.
func maxRuns(tbl *table.Table) (int, error) {
	_, _, _, needs, _, err := tableNeeds(context.Background(), tbl, false, nil)
	m := 0
	for _, n := range needs {
		m = max(m, n.runs)
	}
	return m, err
}

// Several tables written concurrently are compacted in the background within the budget:
// never more compactions than workers nor more input than the memory budget at once;
// commits through BeforeCommit keep every bucket under the stop trigger, and every bucket
// ends at most at the compaction trigger with every row readable.
func TestSchedulerCompactsWithinBudget(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	const (
		tables  = 3
		commits = 20
		rows    = 40
		workers = 3
		stop    = 6
	)
	opts := map[string]string{"bucket": "2", "num-sorted-run.compaction-trigger": "3", "num-sorted-run.stop-trigger": fmt.Sprint(stop)}
	var tbls []*table.Table
	for i := range tables {
		tbls = append(tbls, createTable(t, cat, fmt.Sprintf("t%d", i), true, opts))
	}
	// An append-only table too.
	tbls = append(tbls, createTable(t, cat, "log", false, map[string]string{"bucket": "2", "bucket-key": "id"}))
	// A compaction of a bucket merges three to five files of about 1 KB: a budget of
	// 10 KB lets some but not all of the workers' compactions run at once.
	const budget = 10 << 10
	check := newBudgetCheck(t, workers, budget)
	s := NewScheduler(cat, SchedulerOptions{Workers: workers, Memory: budget, PollInterval: 200 * time.Millisecond,
		MinEvaluateInterval: 20 * time.Millisecond, Logger: quiet, Observe: check.observe})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var wg sync.WaitGroup
	errs := make(chan error, len(tbls))
	peakRuns := make([]int, len(tbls))
	for i, tbl := range tbls {
		wg.Go(func() {
			for c := range commits {
				if err := commitRowsVia(ctx, s, tbl, seq(c*rows, rows), fmt.Sprintf("t%dc%d", i, c)); err != nil {
					errs <- err
					return
				}
				r, err := maxRuns(tbl)
				if err != nil {
					errs <- err
					return
				}
				peakRuns[i] = max(peakRuns[i], r)
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitIdle(t, s, tbls, time.Minute)

	st := s.Stats()
	t.Logf("stats %+v; observed peak %d compactions, %d bytes", st, check.peak, check.peakMem)
	if st.PeakSlots > workers || check.peak > workers {
		t.Errorf("peak %d/%d compactions at once, workers %d", st.PeakSlots, check.peak, workers)
	}
	if st.Oversized == 0 && (st.PeakMemory > budget || check.peakMem > budget) {
		t.Errorf("peak memory %d/%d, budget %d", st.PeakMemory, check.peakMem, budget)
	}
	if check.peak < 2 {
		t.Errorf("compactions never ran concurrently (peak %d)", check.peak)
	}
	if st.PeakMemory <= budget/2 {
		t.Errorf("peak memory %d: the budget of %d was never approached", st.PeakMemory, budget)
	}
	if st.Totals.Compactions == 0 || int64(check.compacted) != st.Totals.Compactions {
		t.Errorf("compactions: %d counted, %d observed", st.Totals.Compactions, check.compacted)
	}
	// The input compactions really merged stays within the budget at any instant.
	for _, a := range check.actual {
		sum := int64(0)
		for _, b := range check.actual {
			if !b.start.After(a.start) && b.end.After(a.start) {
				sum += b.bytesIn
			}
		}
		if sum > budget && st.Oversized == 0 {
			t.Errorf("at %s compactions merged %d bytes, budget %d", a.start.Format(time.StampMicro), sum, budget)
		}
	}
	for i, tbl := range tbls {
		ts, err := s.TableStatus(ctx, catalog.Identifier{Database: "db", Table: tbl.Path()[strings.LastIndex(tbl.Path(), "/")+1:]})
		if err != nil {
			t.Fatal(err)
		}
		if i < tables {
			r, err := maxRuns(tbl)
			if err != nil {
				t.Fatal(err)
			}
			if r > 3 {
				t.Errorf("%s: %d sorted runs in a bucket after compaction, trigger 3", ts.Table, r)
			}
			if peakRuns[i] >= stop || ts.PeakSortedRuns >= stop {
				t.Errorf("%s: a bucket reached %d (%d seen by the scheduler) sorted runs, stop trigger %d", ts.Table, peakRuns[i], ts.PeakSortedRuns, stop)
			}
			t.Logf("%s: peak sorted runs %d", ts.Table, peakRuns[i])
		}
		if ts.Totals.Compactions == 0 || len(ts.Recent) == 0 {
			t.Errorf("%s: no compactions recorded: %+v", ts.Table, ts.Totals)
		}
		if got := countRows(t, tbl); got != commits*rows {
			t.Errorf("%s: %d rows, want %d", ts.Table, got, commits*rows)
		}
	}
}

// A triggered full compaction leaves each bucket one sorted run on the top level.
func TestSchedulerTriggerFull(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl := createTable(t, cat, "t", true, map[string]string{"bucket": "2"})
	for c := range 3 {
		if err := commitRows(ctx, tbl, seq(c*10, 20), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: -1, Logger: quiet})
	id := catalog.Identifier{Database: "db", Table: "t"}
	if _, err := s.TriggerTable(ctx, id, true); err == nil {
		t.Fatal("a scheduler not started took a trigger")
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.TriggerTable(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Buckets != 2 || res.Queued != 2 || res.Snapshot != 3 {
		t.Errorf("trigger: %+v", res)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ts, err := s.TableStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ts.Totals.Compactions == 2 && len(ts.Queued)+len(ts.Running) == 0 {
			for _, r := range ts.Recent {
				if !r.Full || !r.Triggered || r.Outcome != "compacted" {
					t.Errorf("result %+v", r)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("full compaction not done: %+v", ts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range plan.Splits {
		for _, f := range sp.Files {
			if f.Level != 5 { // num-levels: trigger (5) + 1
				t.Errorf("bucket %d: %s on level %d after a full compaction", sp.Bucket, f.FileName, f.Level)
			}
		}
	}
	if got := countRows(t, tbl); got != 40 {
		t.Errorf("%d rows, want 40", got)
	}
}

// Writers compacting through Budget share the worker slots: a writer holding the only
// slot keeps background compactions waiting, and a writer waiting for a slot gives up
// when its context ends.
func TestBudgetSharedWithWriters(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl := createTable(t, cat, "t", true, map[string]string{"bucket": "1"})
	for c := range 2 {
		if err := commitRows(ctx, tbl, seq(0, 10), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: -1, Logger: quiet})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.Budget()
	if err := b.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	id := catalog.Identifier{Database: "db", Table: "t"}
	if _, err := s.TriggerTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := b.Acquire(short); err == nil {
		t.Fatal("a second writer got the only slot")
	}
	if st := s.Stats(); st.Running != 0 || st.Queued != 1 || st.SlotsInUse != 1 {
		t.Fatalf("while a writer holds the slot: %+v", st)
	}
	b.Release()
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Totals.Compactions == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the queued compaction did not run: %+v", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx); err == nil {
		t.Error("a closed scheduler gave out a slot")
	}
}

// A conflicting compaction backs its bucket off, longer after each conflict, and is
// retried without a new commit; a success clears the back-off.
func TestConflictBackOff(t *testing.T) {
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, Logger: quiet})
	id := catalog.Identifier{Database: "db", Table: "t"}
	s.tables[id] = &tableState{id: id}
	k := bucketKey{table: id, bucket: 0}
	var last time.Duration
	for i := range 4 {
		s.enqueueLocked(k, need{bucket: 0, runs: 6, priority: 6, needed: true}, false, false)
		j := s.queue[k]
		s.startLocked0(j)
		now := time.Now()
		s.finish(j, &Result{Job: j.Job, Outcome: "conflict", FinishedAt: now}, false)
		q := s.queue[k]
		if q == nil || q.NotBefore == nil {
			t.Fatalf("conflict %d: not queued for a retry", i+1)
		}
		d := q.NotBefore.Sub(now)
		if d <= last || d > 2*time.Minute {
			t.Errorf("conflict %d: retry after %s (before: %s)", i+1, d, last)
		}
		last = d
		if next, wait := s.pickLocked(now); next != nil || wait.IsZero() {
			t.Errorf("conflict %d: a bucket backing off was picked", i+1)
		}
	}
	if ts, _ := s.TableStatus(context.Background(), id); ts.Totals.Conflicts != 4 || len(ts.Queued) != 1 {
		t.Errorf("status %+v", ts)
	}
	j := s.queue[k]
	s.startLocked0(j)
	s.finish(j, &Result{Job: j.Job, Outcome: "compacted", FinishedAt: time.Now()}, false)
	if bs := s.bstate[k]; bs.failures != 0 || !bs.until.IsZero() || s.queue[k] != nil {
		t.Errorf("after a success: %+v, queued %v", bs, s.queue[k] != nil)
	}
}

// startLocked0 marks a job running without starting it (for tests of the bookkeeping).
func (s *Scheduler) startLocked0(j *job) {
	now := time.Now()
	delete(s.queue, j.key)
	j.StartedAt = &now
	s.running[j.key] = j
	s.take(1, j.EstimatedBytes)
	j.reserved = j.EstimatedBytes
}

// Compactions racing with another compactor of the same tables lose some commits to
// conflicts, retry, and leave the data intact and no rewritten file unreferenced.
func TestSchedulerRacesAnotherCompactor(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl := createTable(t, cat, "t", true, map[string]string{"bucket": "2", "num-sorted-run.compaction-trigger": "2"})
	s := NewScheduler(cat, SchedulerOptions{Workers: 2, PollInterval: 100 * time.Millisecond, MinEvaluateInterval: time.Millisecond, Logger: quiet})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the other compactor
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tbl.Compact(ctx, table.CompactOptions{User: "other"}); err != nil && !errors.Is(err, table.ErrConflict) {
				t.Errorf("the other compactor: %v", err)
			}
		}
	})
	for c := range 30 {
		if err := commitRows(ctx, tbl, seq((c%5)*50, 100), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	waitIdle(t, s, []*table.Table{tbl}, time.Minute)
	st := s.Stats()
	t.Logf("totals %+v", st.Totals)
	if got := countRows(t, tbl); got != 300 {
		t.Errorf("%d rows, want 300", got)
	}
	res, err := tbl.CleanOrphans(ctx, time.Nanosecond, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Deleted.Paths {
		if strings.Contains(p, "/bucket-") {
			t.Errorf("unreferenced data file: %s", p)
		}
	}
}

// Dropped tables are forgotten with their queued compactions.
func TestSchedulerForgetsDroppedTables(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	createTable(t, cat, "a", true, map[string]string{"bucket": "1"})
	createTable(t, cat, "b", true, map[string]string{"bucket": "1"})
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: 50 * time.Millisecond, Logger: quiet})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, func() bool { return s.Stats().Tables == 2 })
	if err := cat.DropTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().Tables == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// prepareRows writes rows with the given ids and returns what the commit would carry.
func prepareRows(ctx context.Context, tbl *table.Table, ids []int, tag string) ([]table.CommitMessage, error) {
	var rows []string
	for _, id := range ids {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q}`, id, tag))
	}
	schema, err := types.ArrowSchema(testFields)
	if err != nil {
		return nil, err
	}
	b, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		return nil, err
	}
	defer b.Release()
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if err := w.Write(ctx, b); err != nil {
		return nil, err
	}
	return w.PrepareCommit(ctx)
}

// Two commits into one bucket that would together reach the stop trigger do not both
// pass BeforeCommit: the first reserves its run, the second waits for a compaction of
// the bucket, and the bucket stays under the stop trigger once both committed. A commit
// that failed gives its reservation back.
func TestBeforeCommitReservesRuns(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	const stop = 4
	tbl := createTable(t, cat, "t", true, map[string]string{"bucket": "1",
		"num-sorted-run.compaction-trigger": "3", "num-sorted-run.stop-trigger": fmt.Sprint(stop)})
	for c := range 2 {
		if err := commitRows(ctx, tbl, seq(c*10, 10), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	// Two sorted runs, below the compaction trigger: nothing compacts them on its own.
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: -1, MinEvaluateInterval: time.Hour, MaxStall: 30 * time.Second, Logger: quiet})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := catalog.Identifier{Database: "db", Table: "t"}
	msgsA, err := prepareRows(ctx, tbl, seq(100, 10), "a")
	if err != nil {
		t.Fatal(err)
	}
	msgsB, err := prepareRows(ctx, tbl, seq(200, 10), "b")
	if err != nil {
		t.Fatal(err)
	}
	// A: 2 runs + 1 < 4.
	start := time.Now()
	doneA, err := s.BeforeCommit(ctx, tbl, id, msgsA)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second || s.Stats().Totals.Compactions != 0 {
		t.Fatalf("the first commit waited %s (%+v)", d, s.Stats().Totals)
	}
	// B: 2 runs + 1 reserved + 1 = 4: waits for a compaction.
	type outcome struct {
		done   func(int64)
		err    error
		runs   int // the bucket's sorted runs when it went ahead
		kind   format.CommitKind
		waited time.Duration
	}
	bc := make(chan outcome, 1)
	go func() {
		start := time.Now()
		done, err := s.BeforeCommit(ctx, tbl, id, msgsB)
		o := outcome{done: done, err: err, waited: time.Since(start)}
		o.runs, _ = maxRuns(tbl)
		if snap, err := tbl.LatestSnapshot(ctx); err == nil && snap != nil {
			o.kind = snap.CommitKind
		}
		bc <- o
	}()
	var b outcome
	select {
	case b = <-bc:
	case <-time.After(25 * time.Second):
		t.Fatal("the second commit is still held back")
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	t.Logf("the second commit waited %s", b.waited)
	if b.runs != 1 || b.kind != format.CommitCompact {
		t.Fatalf("the second commit went ahead at %d sorted runs, the latest snapshot %s: not after a compaction of its bucket", b.runs, b.kind)
	}
	for _, c := range []struct {
		msgs []table.CommitMessage
		done func(int64)
	}{{msgsA, doneA}, {msgsB, b.done}} {
		res, err := tbl.Commit(ctx, table.Commit{User: "test-writer", Identifier: format.BatchCommitIdentifier, Messages: c.msgs})
		c.done(res.SnapshotID)
		if err != nil {
			t.Fatal(err)
		}
	}
	if r, err := maxRuns(tbl); err != nil || r >= stop {
		t.Errorf("%d sorted runs after both commits (%v), stop trigger %d", r, err, stop)
	}
	if got := countRows(t, tbl); got != 40 {
		t.Errorf("%d rows, want 40", got)
	}
	// A commit that failed adds nothing.
	doneC, err := s.BeforeCommit(ctx, tbl, id, msgsA)
	if err != nil {
		t.Fatal(err)
	}
	doneC(0)
	s.mu.Lock()
	for k, rs := range s.pending {
		for _, r := range rs {
			if r.snapshot == 0 {
				t.Errorf("bucket %d: a reservation of a failed commit remains", k.bucket)
			}
		}
	}
	s.mu.Unlock()
}

// blockingFS holds the creation of data files, while block is set, until the context of
// the write ends.
type blockingFS struct {
	fileio.FileIO
	block   atomic.Bool
	blocked chan struct{}
}

func (f *blockingFS) hold(ctx context.Context, path string) error {
	if !f.block.Load() || !strings.Contains(path, "/bucket-") {
		return nil
	}
	select {
	case f.blocked <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *blockingFS) Create(ctx context.Context, path string) (fileio.Writer, error) {
	if err := f.hold(ctx, path); err != nil {
		return nil, err
	}
	return f.FileIO.Create(ctx, path)
}

func (f *blockingFS) WriteFile(ctx context.Context, path string, data []byte) error {
	if err := f.hold(ctx, path); err != nil {
		return err
	}
	return f.FileIO.WriteFile(ctx, path, data)
}

// Close cancels a running compaction: Close returns promptly, the compaction ends
// "cancelled" without a snapshot, and the table is as it was.
func TestCloseCancelsRunningCompaction(t *testing.T) {
	ctx := context.Background()
	fs := &blockingFS{FileIO: fileio.NewLocal(), blocked: make(chan struct{}, 1)}
	cat := catalog.New(fs, t.TempDir())
	tbl := createTable(t, cat, "t", true, map[string]string{"bucket": "1", "num-sorted-run.compaction-trigger": "2"})
	for c := range 2 {
		if err := commitRows(ctx, tbl, seq(c*10, 20), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	fs.block.Store(true)
	var mu sync.Mutex
	var results []Result
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: -1, Logger: quiet, Observe: func(e Event) {
		if e.Kind == EventEnd {
			mu.Lock()
			results = append(results, *e.Result)
			mu.Unlock()
		}
	}})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fs.blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("no compaction started")
	}
	if st := s.Stats(); st.Running != 1 {
		t.Fatalf("while a compaction writes: %+v", st)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s", d)
	}
	mu.Lock()
	if len(results) != 1 || results[0].Outcome != "cancelled" || results[0].SnapshotID != 0 {
		t.Errorf("results %+v, want one cancelled", results)
	}
	mu.Unlock()
	fs.block.Store(false)
	latest, _, err := tbl.LatestSnapshotID(ctx)
	if err != nil || latest != 2 {
		t.Errorf("latest snapshot %d (%v), want 2: the cancelled compaction committed", latest, err)
	}
	if got := countRows(t, tbl); got != 30 {
		t.Errorf("%d rows, want 30", got)
	}
	if st := s.Stats(); st.Running != 0 || st.SlotsInUse != 0 || st.MemoryInUse != 0 || st.Totals.Failures != 0 {
		t.Errorf("after Close: %+v", st)
	}
	if _, err := s.TriggerTable(ctx, catalog.Identifier{Database: "db", Table: "t"}, true); !errors.Is(err, ErrClosed) {
		t.Errorf("a closed scheduler took a trigger: %v", err)
	}
}

// A table Tarn does not compact (row tracking: compaction would lose the rows' ids) is
// never queued, and a trigger says why instead of queuing nothing silently.
func TestTriggerSaysWhyTableIsSkipped(t *testing.T) {
	ctx := context.Background()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	tbl := createTable(t, cat, "rt", false, map[string]string{"row-tracking.enabled": "true"})
	for c := range 6 {
		if err := commitRows(ctx, tbl, seq(c*10, 5), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	s := NewScheduler(cat, SchedulerOptions{Workers: 1, PollInterval: -1, Logger: quiet})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.TriggerTable(ctx, catalog.Identifier{Database: "db", Table: "rt"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 0 || !strings.Contains(res.Skipped, "row-tracking.enabled") {
		t.Errorf("trigger: %+v, want nothing queued and the reason", res)
	}
}

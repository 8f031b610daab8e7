package compaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// Defaults of SchedulerOptions.
const (
	DefaultMemory       = 1 << 30
	DefaultPollInterval = 30 * time.Second
	DefaultUser         = "tarn-compactor"
)

// ErrClosed is returned by a Scheduler that was closed (or not started).
var ErrClosed = errors.New("compaction: the scheduler is not running")

// Gate registers commits so that a shutdown can wait for them (server.CommitGate). Begin
// returns the context the commit runs under and the function that ends it.
type Gate interface {
	Begin() (context.Context, func(), error)
}

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// Workers is how many compactions run at once, across all tables (default
	// GOMAXPROCS/2, at least 1). Writers compacting through Budget take slots too.
	Workers int
	// Memory bounds the bytes of input files merged at once, summed over the running
	// compactions and estimated from the file sizes of what each one merges (default 1
	// GiB). A compaction larger than Memory runs alone.
	Memory int64
	// PollInterval is how often the warehouse's tables are listed and their latest
	// snapshots checked, which finds tables and commits of other processes (default 30s;
	// negative: only at Start). Commits made in this process are seen at once.
	PollInterval time.Duration
	// MinEvaluateInterval is the least time between two evaluations of a table's buckets
	// (default 1s): a burst of commits is evaluated once.
	MinEvaluateInterval time.Duration
	// Gate, when set, registers each compaction as a commit.
	Gate Gate
	// User is the commit user of the compactions (default "tarn-compactor").
	User string
	// History is how many results are kept per table for Status (default 20).
	History int
	// MaxStall bounds how long BeforeCommit holds a commit back (default 1m); after it the
	// commit goes ahead.
	MaxStall time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Observe, when set, is told when a compaction takes its share of the budget and when
	// it gives it back. It is called with the scheduler's lock held, in the order the
	// budget changes: it must return quickly and not call the Scheduler.
	Observe func(Event)
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventStart: a compaction took a worker slot and its memory estimate.
	EventStart EventKind = iota
	// EventResize: a started compaction looked at its bucket again and now holds the
	// memory of its fresh estimate.
	EventResize
	// EventEnd: a compaction finished and gave them back.
	EventEnd
)

// Event reports a change of the budget in use (SchedulerOptions.Observe).
type Event struct {
	Kind EventKind
	Job  Job
	// Result is the outcome (EventEnd).
	Result *Result
	// Slots and Memory are the worker slots and bytes in use after the change.
	Slots  int
	Memory int64
}

// Job describes a queued or running compaction of one bucket.
type Job struct {
	Table     string `json:"table"`
	Partition string `json:"partition,omitempty"` // as in paths: "dt=2024-01-01/hr=3"
	Bucket    int    `json:"bucket"`
	Full      bool   `json:"full"`
	// Triggered is set for compactions asked for through Trigger.
	Triggered bool `json:"triggered,omitempty"`
	// SortedRuns is the bucket's read amplification when it was last looked at (for
	// append-only tables: its files).
	SortedRuns int `json:"sortedRuns"`
	// Files and EstimatedBytes are the input the compaction is expected to merge.
	Files          int        `json:"files"`
	EstimatedBytes int64      `json:"estimatedBytes"`
	QueuedAt       time.Time  `json:"queuedAt"`
	NotBefore      *time.Time `json:"notBefore,omitempty"` // backing off after a failure
	StartedAt      *time.Time `json:"startedAt,omitempty"`
}

// Result is the outcome of one compaction.
type Result struct {
	Job
	FinishedAt     time.Time `json:"finishedAt"`
	DurationMillis int64     `json:"durationMs"`
	// Outcome is "compacted", "nothing" (no longer needed when it ran), "conflict" (a
	// concurrent compaction changed the bucket; retried later), "error", "cancelled", or
	// "requeued" (its input had grown beyond the memory free; it waits in the queue).
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
	FilesIn    int    `json:"filesIn"`
	FilesOut   int    `json:"filesOut"`
	BytesIn    int64  `json:"bytesIn"`
	BytesOut   int64  `json:"bytesOut"`
	SnapshotID int64  `json:"snapshotId,omitempty"`
}

// Totals add up results.
type Totals struct {
	Compactions int64 `json:"compactions"`
	Conflicts   int64 `json:"conflicts"`
	Failures    int64 `json:"failures"`
	FilesIn     int64 `json:"filesIn"`
	FilesOut    int64 `json:"filesOut"`
	BytesIn     int64 `json:"bytesIn"`
	BytesOut    int64 `json:"bytesOut"`
}

func (t *Totals) add(r *Result) {
	switch r.Outcome {
	case "compacted":
		t.Compactions++
		t.FilesIn += int64(r.FilesIn)
		t.FilesOut += int64(r.FilesOut)
		t.BytesIn += r.BytesIn
		t.BytesOut += r.BytesOut
	case "conflict":
		t.Conflicts++
	case "error":
		t.Failures++
	}
}

// SchedulerStatus is the state of the whole scheduler.
type SchedulerStatus struct {
	Workers      int   `json:"workers"`
	MemoryBudget int64 `json:"memoryBudget"`
	Running      int   `json:"running"`
	Queued       int   `json:"queued"`
	// SlotsInUse counts running compactions and writers holding a slot (Budget).
	SlotsInUse  int   `json:"slotsInUse"`
	MemoryInUse int64 `json:"memoryInUse"`
	Tables      int   `json:"tables"`
	// PeakSlots and PeakMemory are the most ever in use at once; Oversized counts
	// compactions larger than the memory budget (each ran alone).
	PeakSlots  int    `json:"peakSlots"`
	PeakMemory int64  `json:"peakMemory"`
	Oversized  int64  `json:"oversized"`
	Totals     Totals `json:"totals"`
}

// TableStatus is the compaction state of one table (the API's GET .../compaction).
type TableStatus struct {
	Table string `json:"table"`
	// EvaluatedSnapshot is the snapshot whose buckets were last looked at.
	EvaluatedSnapshot int64      `json:"evaluatedSnapshot,omitempty"`
	EvaluatedAt       *time.Time `json:"evaluatedAt,omitempty"`
	Buckets           int        `json:"buckets"`
	// MaxSortedRuns is the largest read amplification of a bucket at EvaluatedSnapshot;
	// PeakSortedRuns the largest seen since the scheduler started.
	MaxSortedRuns  int `json:"maxSortedRuns"`
	PeakSortedRuns int `json:"peakSortedRuns"`
	// CompactionTrigger and StopTrigger are the table's num-sorted-run options.
	CompactionTrigger int      `json:"compactionTrigger,omitempty"`
	StopTrigger       int      `json:"stopTrigger,omitempty"`
	Queued            []Job    `json:"queued"`
	Running           []Job    `json:"running"`
	Recent            []Result `json:"recent"` // newest first
	Totals            Totals   `json:"totals"`
	// Error is the last evaluation's error, if it failed.
	Error     string          `json:"error,omitempty"`
	Scheduler SchedulerStatus `json:"scheduler"`
}

// TriggerResult answers Trigger.
type TriggerResult struct {
	Table    string `json:"table"`
	Full     bool   `json:"full"`
	Snapshot int64  `json:"snapshotId,omitempty"`
	Buckets  int    `json:"buckets"`
	Queued   int    `json:"queued"`
	// Skipped says why Tarn does not compact the table at all (row tracking), if so.
	Skipped string `json:"skipped,omitempty"`
}

// bucketKey names a bucket of a table.
type bucketKey struct {
	table     catalog.Identifier
	partition string // serialized BinaryRow
	bucket    int
}

// job is a queued or running compaction.
type job struct {
	Job
	key      bucketKey
	values   []any
	priority int
	reserved int64 // memory taken from the budget while running
	id       catalog.Identifier
}

// bucketState remembers a bucket's failures (for backing off) and last compaction.
type bucketState struct {
	failures int
	until    time.Time
	finished time.Time
}

type tableState struct {
	id      catalog.Identifier
	handle  *table.Table // for polling its latest snapshot
	stop    func()       // ends the commit subscription
	dirty   bool
	due     time.Time
	running bool // being evaluated
	lastRun time.Time

	evaluated   int64
	evaluatedAt time.Time
	runs        map[bucketKey]int // sorted runs per bucket at evaluated
	buckets     int
	maxRuns     int
	peakRuns    int
	trigger     int
	stopTrigger int
	evalErr     string
	recent      []Result
	totals      Totals
}

// waiter is a writer waiting for a slot (Budget).
type waiter struct{ granted chan struct{} }

// Scheduler compacts the buckets of a warehouse's tables in the background, under one
// budget of worker slots and memory shared by all tables. It finds tables by listing the
// warehouse, learns of commits made in this process at once (Table.Subscribe) and of
// other processes' commits by polling each table's latest snapshot, and then looks at
// every bucket with Paimon's universal picker (or, for append-only tables, the small-file
// rule of Table.Compact). Buckets that need compaction are queued, those with the most
// sorted runs first, and compacted one bucket per job with Table.Compact. A compaction
// that conflicts with a concurrent one (another compactor, a writer that compacts)
// commits nothing; the bucket is retried after a growing delay.
type Scheduler struct {
	cat *catalog.Catalog
	o   SchedulerOptions
	log *slog.Logger

	mu        sync.Mutex
	started   bool
	closed    bool
	tables    map[catalog.Identifier]*tableState
	queue     map[bucketKey]*job
	running   map[bucketKey]*job
	bstate    map[bucketKey]*bucketState
	waiters   []*waiter
	pending   map[bucketKey][]*reservation // commits past BeforeCommit (reservation)
	slots     int
	mem       int64
	evals     int
	peakSlots int
	peakMem   int64
	oversized int64
	totals    Totals

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	wg     sync.WaitGroup
}

// maxEvaluations bounds concurrent evaluations (planning reads manifests).
const maxEvaluations = 4

// NewScheduler returns a scheduler over the catalog's warehouse; Start starts it.
func NewScheduler(cat *catalog.Catalog, o SchedulerOptions) *Scheduler {
	if o.Workers <= 0 {
		o.Workers = max(runtime.GOMAXPROCS(0)/2, 1)
	}
	if o.Memory <= 0 {
		o.Memory = DefaultMemory
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MinEvaluateInterval <= 0 {
		o.MinEvaluateInterval = time.Second
	}
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.History <= 0 {
		o.History = 20
	}
	if o.MaxStall <= 0 {
		o.MaxStall = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	registerMetrics()
	return &Scheduler{
		cat: cat, o: o, log: o.Logger,
		tables:  map[catalog.Identifier]*tableState{},
		queue:   map[bucketKey]*job{},
		running: map[bucketKey]*job{},
		bstate:  map[bucketKey]*bucketState{},
		pending: map[bucketKey][]*reservation{},
		wake:    make(chan struct{}, 1),
	}
}

// Options are the scheduler's options with defaults applied.
func (s *Scheduler) Options() SchedulerOptions { return s.o }

// Start discovers the warehouse's tables and starts compacting in the background until
// Close.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("compaction: the scheduler was already started")
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Unlock()
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.loop() }()
	go func() { defer s.wg.Done(); s.poll() }()
	s.log.Info("background compaction started", "workers", s.o.Workers, "memory_mib", float64(s.o.Memory)/(1<<20), "poll", s.o.PollInterval)
	return nil
}

// Close stops the scheduler: running compactions are cancelled (they commit nothing) and
// waited for.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	for _, w := range s.waiters {
		close(w.granted) // Acquire sees closed and fails
	}
	s.waiters = nil
	for _, t := range s.tables {
		if t.stop != nil {
			t.stop()
		}
	}
	s.mu.Unlock()
	if started {
		s.cancel()
		s.wg.Wait()
	}
	queueLength.Set(0)
	return nil
}

// Notify tells the scheduler that a table changed (a commit); its buckets are looked at
// again soon. Commits made through this process's Table.Commit notify by themselves.
func (s *Scheduler) Notify(id catalog.Identifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	st := s.tables[id]
	if st == nil {
		st = s.addTableLocked(id, nil)
	}
	s.markDirtyLocked(st)
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) markDirtyLocked(st *tableState) {
	if !st.dirty {
		st.dirty = true
		st.due = time.Now()
		if next := st.lastRun.Add(s.o.MinEvaluateInterval); next.After(st.due) {
			st.due = next
		}
	}
	s.signal()
}

// addTableLocked starts tracking a table; t, when given, subscribes to its commits.
func (s *Scheduler) addTableLocked(id catalog.Identifier, t *table.Table) *tableState {
	st := &tableState{id: id}
	s.tables[id] = st
	if t != nil {
		s.subscribeLocked(st, t)
	}
	return st
}

func (s *Scheduler) subscribeLocked(st *tableState, t *table.Table) {
	st.handle = t
	ch, unsub := t.Subscribe()
	done := make(chan struct{})
	var once sync.Once
	st.stop = func() { once.Do(func() { close(done); unsub() }) }
	go func() {
		for {
			select {
			case <-ch:
				s.Notify(st.id)
			case <-done:
				return
			}
		}
	}()
}

// removeTableLocked forgets a dropped table and its queued compactions.
func (s *Scheduler) removeTableLocked(id catalog.Identifier) {
	st := s.tables[id]
	if st == nil {
		return
	}
	if st.stop != nil {
		st.stop()
	}
	delete(s.tables, id)
	for k := range s.queue {
		if k.table == id {
			delete(s.queue, k)
		}
	}
	for k := range s.bstate {
		if k.table == id {
			delete(s.bstate, k)
		}
	}
	for k := range s.pending {
		if k.table == id {
			delete(s.pending, k)
		}
	}
	queueLength.Set(float64(len(s.queue)))
}

// poll lists the warehouse's tables and checks their latest snapshots, now and every
// PollInterval.
func (s *Scheduler) poll() {
	for {
		if err := s.discover(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("compaction: listing the warehouse's tables failed", "err", err)
		}
		if s.o.PollInterval < 0 {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(s.o.PollInterval):
		}
	}
}

// discover syncs the tracked tables with the warehouse and marks tables whose latest
// snapshot is not the one evaluated.
func (s *Scheduler) discover(ctx context.Context) error {
	ids, err := listTables(ctx, s.cat)
	if err != nil {
		return err
	}
	present := map[catalog.Identifier]bool{}
	type check struct {
		id catalog.Identifier
		t  *table.Table
	}
	var checks []check
	for _, id := range ids {
		present[id] = true
		s.mu.Lock()
		st := s.tables[id]
		var handle *table.Table
		if st != nil {
			handle = st.handle
		}
		s.mu.Unlock()
		if handle != nil {
			checks = append(checks, check{id: id, t: handle})
			continue
		}
		t, err := s.cat.LoadTable(ctx, id)
		if err != nil {
			if !errors.Is(err, catalog.ErrNotFound) {
				s.log.Debug("compaction: cannot open table", "table", id, "err", err)
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil
		}
		if st = s.tables[id]; st == nil {
			st = s.addTableLocked(id, t)
		} else if st.stop == nil {
			s.subscribeLocked(st, t)
		}
		s.markDirtyLocked(st)
		s.mu.Unlock()
	}
	s.mu.Lock()
	for id, st := range s.tables {
		if !present[id] && st.stop != nil { // tables only known by Notify are kept
			s.removeTableLocked(id)
		}
	}
	s.mu.Unlock()
	// Commits of other processes: compare each table's latest snapshot (a few at once).
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, c := range checks {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			latest, _, err := c.t.LatestSnapshotID(ctx)
			if err != nil {
				return
			}
			s.mu.Lock()
			if st := s.tables[c.id]; st != nil && st.evaluated != latest && !s.closed {
				s.markDirtyLocked(st)
			}
			s.mu.Unlock()
		})
	}
	wg.Wait()
	return nil
}

// listTables lists every table of the warehouse.
func listTables(ctx context.Context, cat *catalog.Catalog) ([]catalog.Identifier, error) {
	dbs, err := cat.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	var ids []catalog.Identifier
	for _, db := range dbs {
		tables, err := cat.ListTables(ctx, db)
		if err != nil {
			continue // dropped meanwhile
		}
		for _, t := range tables {
			ids = append(ids, catalog.Identifier{Database: db, Table: t})
		}
	}
	return ids, nil
}

// loop starts evaluations and compactions as the budget allows.
func (s *Scheduler) loop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.dispatch()
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(d)
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// dispatch starts what is due and returns when something next becomes due (zero: when
// woken).
func (s *Scheduler) dispatch() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return time.Time{}
	}
	now := time.Now()
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	// Evaluations, the longest waiting first.
	for s.evals < maxEvaluations {
		var pick *tableState
		for _, st := range s.tables {
			if !st.dirty || st.running {
				continue
			}
			if st.due.After(now) {
				later(st.due)
				continue
			}
			if pick == nil || st.due.Before(pick.due) {
				pick = st
			}
		}
		if pick == nil {
			break
		}
		pick.dirty, pick.running, pick.lastRun = false, true, now
		s.evals++
		s.wg.Add(1)
		go func(id catalog.Identifier) {
			defer s.wg.Done()
			s.evaluate(id)
		}(pick.id)
	}
	// Compactions, by priority, while slots and memory last.
	s.grantWaitersLocked()
	for s.slots < s.o.Workers {
		j, wait := s.pickLocked(now)
		if !wait.IsZero() {
			later(wait)
		}
		if j == nil {
			break
		}
		if s.mem > 0 && s.mem+j.EstimatedBytes > s.o.Memory {
			break // the most urgent compaction waits for memory; nothing overtakes it
		}
		s.startLocked(j, now)
	}
	queueLength.Set(float64(len(s.queue)))
	return next
}

// pickLocked returns the most urgent queued compaction that may run now, and the
// earliest time one that is backing off may run.
func (s *Scheduler) pickLocked(now time.Time) (*job, time.Time) {
	var best *job
	var wait time.Time
	for k, j := range s.queue {
		if _, ok := s.running[k]; ok {
			continue
		}
		if j.NotBefore != nil && j.NotBefore.After(now) {
			if wait.IsZero() || j.NotBefore.Before(wait) {
				wait = *j.NotBefore
			}
			continue
		}
		if best == nil || before(j, best) {
			best = j
		}
	}
	return best, wait
}

// before orders jobs: triggered first, then by priority (sorted runs), then by age.
func before(a, b *job) bool {
	if a.Triggered != b.Triggered {
		return a.Triggered
	}
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	return a.QueuedAt.Before(b.QueuedAt)
}

func (s *Scheduler) startLocked(j *job, now time.Time) {
	delete(s.queue, j.key)
	j.StartedAt = &now
	j.NotBefore = nil
	j.reserved = j.EstimatedBytes
	s.running[j.key] = j
	s.take(1, j.reserved)
	if j.reserved > s.o.Memory {
		s.oversized++
	}
	if s.o.Observe != nil {
		s.o.Observe(Event{Kind: EventStart, Job: j.Job, Slots: s.slots, Memory: s.mem})
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(j)
	}()
}

// take and give change the budget in use (with the lock held).
func (s *Scheduler) take(slots int, mem int64) {
	s.slots += slots
	s.mem += mem
	s.peakSlots = max(s.peakSlots, s.slots)
	s.peakMem = max(s.peakMem, s.mem)
	slotsInUse.Set(float64(s.slots))
	memoryInUse.Set(float64(s.mem))
	runningGauge.Set(float64(len(s.running)))
}

func (s *Scheduler) give(slots int, mem int64) {
	s.slots -= slots
	s.mem -= mem
	slotsInUse.Set(float64(s.slots))
	memoryInUse.Set(float64(s.mem))
	runningGauge.Set(float64(len(s.running)))
	s.grantWaitersLocked()
	s.signal()
}

func (s *Scheduler) grantWaitersLocked() {
	for len(s.waiters) > 0 && s.slots < s.o.Workers {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.take(1, 0)
		close(w.granted)
	}
}

// need is what a bucket needs, from Table.Compact's pick.
type need struct {
	partition []byte
	values    []any
	name      string
	bucket    int
	runs      int
	files     int
	bytes     int64
	priority  int
	needed    bool
}

func needOf(schema *format.TableSchema, opts table.CoreOptions, p table.BucketPick) need {
	n := need{partition: p.Partition, values: p.PartitionValues, bucket: p.Bucket, runs: p.SortedRuns,
		files: len(p.Files), bytes: p.Bytes(), needed: len(p.Files) > 0,
		name: table.PartitionDir(schema, p.PartitionValues, opts.PartitionDefaultName, opts.PartitionLegacyName)}
	n.priority = n.runs // read amplification first
	if len(schema.PrimaryKeys) == 0 {
		n.priority = n.files // append-only: the small files to merge
	}
	return n
}

// tableNeeds looks at each bucket of the table's latest snapshot (only one bucket with
// only) with Table.Compact's own picker, compacting nothing; snap is the snapshot looked
// at (0 when the table has no files).
func tableNeeds(ctx context.Context, t *table.Table, full bool, only *bucketKey) (schema *format.TableSchema, opts table.CoreOptions, snap int64, needs []need, skipped string, err error) {
	if schema, err = t.LatestSchema(ctx); err != nil {
		return nil, opts, 0, nil, "", err
	}
	opts = table.ParseCoreOptions(schema.Options)
	co := table.CompactOptions{Full: full, Pick: func(p table.BucketPick) bool {
		if only == nil || string(p.Partition) == only.partition {
			snap = p.Snapshot
			needs = append(needs, needOf(schema, opts, p))
		}
		return false // a dry run
	}}
	if only != nil {
		co.Bucket = &only.bucket
	}
	sum, err := t.Compact(ctx, co)
	if err != nil {
		return schema, opts, 0, nil, "", err
	}
	return schema, opts, snap, needs, sum.Skipped, nil
}

// evaluate looks at a table's buckets and queues those that need compaction.
func (s *Scheduler) evaluate(id catalog.Identifier) {
	ctx := s.ctx
	var evalErr error
	defer func() {
		s.mu.Lock()
		if st := s.tables[id]; st != nil {
			st.running = false
			if evalErr != nil {
				st.evalErr = evalErr.Error()
			}
		}
		s.evals--
		s.mu.Unlock()
		s.signal()
	}()
	t, err := s.cat.LoadTable(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		s.mu.Lock()
		s.removeTableLocked(id)
		s.mu.Unlock()
		return
	}
	if err != nil {
		evalErr = err
		return
	}
	latest, _, err := t.LatestSnapshotID(ctx)
	if err != nil {
		evalErr = err
		return
	}
	s.mu.Lock()
	st := s.tables[id]
	skip := st == nil || st.evaluated == latest && st.evalErr == ""
	s.mu.Unlock()
	if skip {
		return
	}
	started := time.Now()
	_, opts, snap, needs, _, err := tableNeeds(ctx, t, false, nil)
	if snap == 0 {
		snap = latest // no files to look at
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("compaction: cannot look at the table's buckets", "table", id, "err", err)
		}
		evalErr = err
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st = s.tables[id]; st == nil || s.closed {
		return
	}
	st.evaluated, st.evaluatedAt, st.evalErr = snap, time.Now(), ""
	st.buckets, st.maxRuns = len(needs), 0
	st.trigger, st.stopTrigger = opts.NumSortedRunTrigger, opts.NumSortedRunStop
	st.runs = make(map[bucketKey]int, len(needs))
	// Buckets whose compaction ended while this evaluation ran were looked at in an
	// older state: their own commit (or retry) decides.
	fresh := func(k bucketKey) bool {
		bs := s.bstate[k]
		return bs == nil || !bs.finished.After(started)
	}
	wanted := map[bucketKey]bool{}
	for _, n := range needs {
		st.maxRuns = max(st.maxRuns, n.runs)
		k := bucketKey{table: id, partition: string(n.partition), bucket: n.bucket}
		st.runs[k] = n.runs
		if n.needed && fresh(k) {
			wanted[k] = true
			s.enqueueLocked(k, n, false, false)
		}
	}
	st.peakRuns = max(st.peakRuns, st.maxRuns)
	for k, j := range s.queue {
		if k.table == id && !wanted[k] && !j.Triggered && fresh(k) {
			delete(s.queue, k)
		}
	}
	queueLength.Set(float64(len(s.queue)))
}

// enqueueLocked queues (or updates) the compaction of a bucket.
func (s *Scheduler) enqueueLocked(k bucketKey, n need, full, triggered bool) {
	now := time.Now()
	j := s.queue[k]
	if j == nil {
		j = &job{key: k, id: k.table, values: n.values}
		j.Table, j.Partition, j.Bucket, j.QueuedAt = k.table.String(), n.name, k.bucket, now
		s.queue[k] = j
	}
	j.SortedRuns, j.priority = n.runs, n.priority
	if full || !j.Full { // a queued full compaction keeps its (larger) input
		j.Files, j.EstimatedBytes = n.files, n.bytes
	}
	j.Full = j.Full || full
	j.Triggered = j.Triggered || triggered
	j.NotBefore = nil
	if bs := s.bstate[k]; bs != nil && bs.until.After(now) && !triggered {
		until := bs.until
		j.NotBefore = &until
	}
	if triggered {
		delete(s.bstate, k) // asked for: no back-off
	}
}

// run performs one compaction.
func (s *Scheduler) run(j *job) {
	start := time.Now()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	sum, err := s.compact(ctx, cancel, j)
	res := &Result{Job: j.Job}
	res.FinishedAt = time.Now()
	res.DurationMillis = res.FinishedAt.Sub(start).Milliseconds()
	res.FilesIn, res.FilesOut, res.BytesIn, res.BytesOut, res.SnapshotID = sum.FilesIn, sum.FilesOut, sum.BytesIn, sum.BytesOut, sum.SnapshotID
	switch {
	case errors.Is(err, errRequeue):
		res.Outcome = "requeued"
	case err == nil && sum.SnapshotID > 0:
		res.Outcome = "compacted"
	case err == nil:
		res.Outcome = "nothing"
	case errors.Is(err, table.ErrConflict):
		res.Outcome, res.Error = "conflict", err.Error()
	case s.ctx.Err() != nil:
		res.Outcome, res.Error = "cancelled", err.Error()
	default:
		res.Outcome, res.Error = "error", err.Error()
	}
	s.report(j, res, start)
	s.finish(j, res, errors.Is(err, catalog.ErrNotFound))
}

// errRequeue sends a job back to the queue: its input grew beyond the memory free.
var errRequeue = errors.New("compaction: input grew beyond the memory free")

// compact compacts the job's bucket, holding the memory of exactly what Table.Compact
// picked (the bucket may have changed since it was queued). The gate's context ending (a
// shutdown that gave up waiting) cancels it.
func (s *Scheduler) compact(ctx context.Context, cancel context.CancelFunc, j *job) (table.CompactSummary, error) {
	if s.o.Gate != nil {
		gctx, end, err := s.o.Gate.Begin()
		if err != nil {
			return table.CompactSummary{}, err
		}
		defer end()
		defer context.AfterFunc(gctx, cancel)()
	}
	t, err := s.cat.LoadTable(ctx, j.id)
	if err != nil {
		return table.CompactSummary{}, err
	}
	bucket, values := j.Bucket, j.values
	requeue := false
	sum, err := t.Compact(ctx, table.CompactOptions{
		Full:      j.Full,
		Bucket:    &bucket,
		Partition: func(v []any) bool { return samePartition(v, values) },
		User:      s.o.User,
		Pick: func(p table.BucketPick) bool {
			if string(p.Partition) != j.key.partition || len(p.Files) == 0 {
				return false
			}
			if !s.resize(j, p.SortedRuns, len(p.Files), p.Bytes()) {
				requeue = true
				return false
			}
			return true
		},
	})
	if requeue {
		return sum, errRequeue
	}
	return sum, err
}

// resize sets the memory a running job holds to what it merges; it reports false,
// changing nothing, when more than it holds does not fit beside the other compactions.
func (s *Scheduler) resize(j *job, runs, files int, bytes int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.SortedRuns, j.Files, j.EstimatedBytes = runs, files, bytes
	others := s.mem - j.reserved
	if bytes > j.reserved && others > 0 && others+bytes > s.o.Memory {
		return false
	}
	if bytes > j.reserved {
		if bytes > s.o.Memory && j.reserved <= s.o.Memory {
			s.oversized++
		}
		s.take(0, bytes-j.reserved)
	} else {
		s.give(0, j.reserved-bytes)
	}
	j.reserved = bytes
	if s.o.Observe != nil {
		s.o.Observe(Event{Kind: EventResize, Job: j.Job, Slots: s.slots, Memory: s.mem})
	}
	return true
}

// finish gives the job's budget back and records its result.
func (s *Scheduler) finish(j *job, res *Result, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, j.key)
	s.give(1, j.reserved)
	if s.o.Observe != nil {
		s.o.Observe(Event{Kind: EventEnd, Job: j.Job, Result: res, Slots: s.slots, Memory: s.mem})
	}
	if gone {
		s.removeTableLocked(j.id)
		return
	}
	s.totals.add(res)
	if st := s.tables[j.id]; st != nil && res.Outcome != "cancelled" && res.Outcome != "requeued" {
		st.totals.add(res)
		st.recent = append([]Result{*res}, st.recent...)
		if len(st.recent) > s.o.History {
			st.recent = st.recent[:s.o.History]
		}
	}
	bs := s.bstate[j.key]
	if bs == nil {
		bs = &bucketState{}
		s.bstate[j.key] = bs
	}
	bs.finished = res.FinishedAt
	switch res.Outcome {
	case "requeued":
		n := need{partition: []byte(j.key.partition), values: j.values, name: j.Partition, bucket: j.Bucket,
			runs: j.SortedRuns, files: j.Files, bytes: j.EstimatedBytes, priority: j.priority}
		s.enqueueLocked(j.key, n, j.Full, j.Triggered)
	case "compacted", "nothing":
		bs.failures, bs.until = 0, time.Time{}
		// A queued evaluation of this bucket predates the compaction; the commit brings
		// a fresh one.
		if q := s.queue[j.key]; q != nil && !q.Triggered {
			delete(s.queue, j.key)
		}
	case "conflict", "error":
		bs.failures++
		base, limit := time.Second, time.Minute
		if res.Outcome == "error" {
			base, limit = 5*time.Second, 10*time.Minute
		}
		d := base << min(bs.failures-1, 20)
		d = min(d, limit)
		d += time.Duration(rand.Int64N(int64(d)/2 + 1))
		bs.until = res.FinishedAt.Add(d)
		// Retry after the delay even if nothing commits meanwhile.
		n := need{partition: []byte(j.key.partition), values: j.values, name: j.Partition, bucket: j.Bucket,
			runs: j.SortedRuns, files: j.Files, bytes: j.EstimatedBytes, priority: j.priority}
		triggered := j.Triggered
		s.enqueueLocked(j.key, n, j.Full, false)
		q := s.queue[j.key]
		q.Triggered = q.Triggered || triggered
		until := bs.until
		q.NotBefore = &until
	}
	queueLength.Set(float64(len(s.queue)))
}

// report logs a result and counts it in the metrics.
func (s *Scheduler) report(j *job, res *Result, start time.Time) {
	attrs := []any{"table", j.Table, "partition", j.Partition, "bucket", j.Bucket, "full", j.Full,
		"sorted_runs", j.SortedRuns, "files_in", res.FilesIn, "files_out", res.FilesOut,
		"bytes_in", res.BytesIn, "bytes_out", res.BytesOut, "duration", time.Since(start).Round(time.Millisecond)}
	switch res.Outcome {
	case "compacted":
		s.log.Info("compacted", append(attrs, "snapshot", res.SnapshotID)...)
	case "nothing", "cancelled", "requeued":
		s.log.Debug("compaction "+res.Outcome, attrs...)
	case "conflict":
		s.log.Info("compaction conflicted with a concurrent change; retrying later", append(attrs, "err", res.Error)...)
	default:
		s.log.Warn("compaction failed", append(attrs, "err", res.Error)...)
	}
	observeResult(j.Table, res, time.Since(start))
}

// samePartition compares partition values decoded from the same bytes.
func samePartition(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Trigger queues a compaction of every bucket of the table that needs one (with full:
// every bucket not already one sorted run on the top level), ahead of the background
// work and without waiting for back-off.
func (s *Scheduler) Trigger(ctx context.Context, id catalog.Identifier, full bool) (any, error) {
	return s.TriggerTable(ctx, id, full)
}

// TriggerTable is Trigger with its result typed.
func (s *Scheduler) TriggerTable(ctx context.Context, id catalog.Identifier, full bool) (*TriggerResult, error) {
	if err := s.checkRunning(); err != nil {
		return nil, err
	}
	t, err := s.cat.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	_, _, snap, needs, skipped, err := tableNeeds(ctx, t, full, nil)
	if err != nil {
		return nil, fmt.Errorf("compaction of %s: %w", id, err)
	}
	res := &TriggerResult{Table: id.String(), Full: full, Snapshot: snap, Buckets: len(needs), Skipped: skipped}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	st := s.tables[id]
	if st == nil {
		st = s.addTableLocked(id, t)
	}
	for _, n := range needs {
		if !n.needed {
			continue
		}
		s.enqueueLocked(bucketKey{table: id, partition: string(n.partition), bucket: n.bucket}, n, full, true)
		res.Queued++
	}
	queueLength.Set(float64(len(s.queue)))
	s.signal()
	s.log.Info("compaction triggered", "table", id, "full", full, "buckets", res.Queued, "snapshot", snap)
	return res, nil
}

func (s *Scheduler) checkRunning() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.closed {
		return ErrClosed
	}
	return nil
}

// BeforeCommit holds back a commit of new files into buckets of a primary-key table that
// it would bring to num-sorted-run.stop-trigger sorted runs or more, as Paimon's writers
// wait for their compaction: it queues those buckets first and waits until compactions
// brought them low enough, for at most MaxStall (then, or when the scheduler stops, the
// commit goes ahead). Each new file is a sorted run of level 0, and commits held back here
// that are not yet in the snapshot looked at count too, so concurrent writers into one
// bucket cannot pass the check together. The returned function must be called once the
// commit is over, with the snapshot it created (0 when it created none). So buckets written
// only through BeforeCommit stay under the stop trigger; commits that bypass it (other
// processes) are compacted as the scheduler finds them.
func (s *Scheduler) BeforeCommit(ctx context.Context, t *table.Table, id catalog.Identifier, msgs []table.CommitMessage) (func(snapshotID int64), error) {
	noop := func(int64) {}
	if s.checkRunning() != nil {
		return noop, nil
	}
	adds := map[bucketKey]int{} // new sorted runs per bucket
	for _, m := range msgs {
		if len(m.NewFiles) > 0 {
			adds[bucketKey{table: id, partition: string(m.Partition), bucket: m.Bucket}] += len(m.NewFiles)
		}
	}
	if len(adds) == 0 {
		return noop, nil
	}
	schema, err := t.LatestSchema(ctx)
	if err != nil || len(schema.PrimaryKeys) == 0 {
		return noop, err
	}
	stop := table.ParseCoreOptions(schema.Options).NumSortedRunStop
	var only *bucketKey
	if len(adds) == 1 {
		for k := range adds {
			only = &k
		}
	}
	start := time.Now()
	var wake <-chan struct{}
	deadline := time.NewTimer(s.o.MaxStall)
	defer deadline.Stop()
	stalled := false
	var (
		runs       map[bucketKey]int
		snap       int64
		over       []bucketKey
		waitOthers bool
	)
	for {
		latest, _, err := t.LatestSnapshotID(ctx)
		if err != nil {
			return noop, err
		}
		// The sorted runs of each bucket at snapshot snap: from the last evaluation when
		// it looked at the latest snapshot, else (or when a bucket is over) looked at now.
		var needs []need
		for exact := false; ; exact = true {
			runs = map[bucketKey]int{}
			snap = 0
			if !exact {
				s.mu.Lock()
				if st := s.tables[id]; st != nil && st.runs != nil && st.evaluated == latest && latest > 0 {
					snap = latest
					for k := range adds {
						runs[k] = st.runs[k]
					}
				}
				s.mu.Unlock()
			}
			if snap == 0 {
				exact = true
				_, _, snap, needs, _, err = tableNeeds(ctx, t, false, only)
				if err != nil {
					return noop, err
				}
				if snap == 0 {
					snap = latest // the buckets have no files
				}
				for _, n := range needs {
					k := bucketKey{table: id, partition: string(n.partition), bucket: n.bucket}
					if _, ok := adds[k]; ok {
						runs[k] = n.runs
					}
				}
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return noop, nil
			}
			over, waitOthers = nil, false
			for k, n := range adds {
				pending := s.pendingRunsLocked(k, snap)
				if runs[k]+pending+n < stop {
					continue
				}
				if runs[k] > 1 {
					over = append(over, k) // a compaction can bring it down
				} else if pending > 0 {
					waitOthers = true // the commits ahead come first
				}
			}
			if exact || len(over) == 0 && !waitOthers {
				break // with the lock held
			}
			s.mu.Unlock()
		}
		overLimit := len(over) > 0 || waitOthers
		if !overLimit || stalled {
			// Reserve the runs this commit adds until a snapshot looked at holds them.
			r := &reservation{runs: adds}
			for k := range adds {
				s.pending[k] = append(s.pending[k], r)
			}
			s.mu.Unlock()
			if stalled || wake != nil {
				waited := time.Since(start)
				commitWait.WithLabelValues(id.String()).Observe(waited.Seconds())
				s.log.Info("commit resumed after compaction", "table", id, "waited", waited.Round(time.Millisecond), "stalled", stalled)
			}
			var once sync.Once
			return func(snapshotID int64) { once.Do(func() { s.release(r, snapshotID) }) }, nil
		}
		if s.tables[id] == nil {
			s.addTableLocked(id, nil)
		}
		s.mu.Unlock()
		// Queue the compaction of the buckets over the limit, ahead of the others.
		for _, k := range over {
			var n *need
			for i := range needs {
				if needs[i].bucket == k.bucket && string(needs[i].partition) == k.partition {
					n = &needs[i]
				}
			}
			if n == nil || !n.needed {
				// Not looked at now, or the picker leaves it (the runs are below the
				// compaction trigger): all of the bucket.
				if _, _, _, f, _, err := tableNeeds(ctx, t, true, &k); err == nil && len(f) == 1 {
					f[0].needed = false // marks the full compaction below
					n = &f[0]
				}
			}
			if n == nil {
				continue
			}
			s.mu.Lock()
			if _, running := s.running[k]; !running && !s.closed {
				s.enqueueLocked(k, *n, !n.needed, false)
				s.queue[k].NotBefore = nil // a writer waits: no back-off
			}
			s.mu.Unlock()
		}
		s.signal()
		if wake == nil {
			ch, unsub := t.Subscribe()
			defer unsub()
			wake = ch
			k := only
			if k == nil && len(over) > 0 {
				k = &over[0]
			}
			attrs := []any{"table", id, "stop_trigger", stop}
			if k != nil {
				attrs = append(attrs, "bucket", k.bucket, "sorted_runs", runs[*k], "adding", adds[*k])
			}
			s.log.Info("commit waits for compaction: it would bring a bucket to the sorted-run stop trigger", attrs...)
		}
		select {
		case <-ctx.Done():
			return noop, ctx.Err()
		case <-s.ctx.Done():
			stalled = true
		case <-deadline.C:
			s.log.Warn("commit waited for compaction too long; committing anyway", "table", id, "waited", s.o.MaxStall)
			stalled = true
		case <-wake:
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reservation is a commit that passed BeforeCommit: the sorted runs it adds per bucket,
// and the snapshot it created once it is over.
type reservation struct {
	runs     map[bucketKey]int
	snapshot int64 // 0: not committed yet
}

// pendingRunsLocked is the sorted runs that commits past BeforeCommit add to the bucket
// beyond snapshot snap; it forgets those that snap holds.
func (s *Scheduler) pendingRunsLocked(k bucketKey, snap int64) int {
	rs := s.pending[k]
	n := 0
	kept := rs[:0]
	for _, r := range rs {
		if r.snapshot != 0 && r.snapshot <= snap {
			continue
		}
		kept = append(kept, r)
		n += r.runs[k]
	}
	if len(kept) == 0 {
		delete(s.pending, k)
	} else {
		s.pending[k] = kept
	}
	return n
}

// release ends a reservation: a commit that failed adds nothing; one that created
// snapshotID counts until a snapshot looked at holds it.
func (s *Scheduler) release(r *reservation, snapshotID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snapshotID > 0 {
		r.snapshot = snapshotID
		return
	}
	for k := range r.runs {
		if i := slices.Index(s.pending[k], r); i >= 0 {
			s.pending[k] = slices.Delete(s.pending[k], i, i+1)
		}
		if len(s.pending[k]) == 0 {
			delete(s.pending, k)
		}
	}
}

// Status describes the compaction state of a table.
func (s *Scheduler) Status(ctx context.Context, id catalog.Identifier) (any, error) {
	return s.TableStatus(ctx, id)
}

// TableStatus is Status with its result typed.
func (s *Scheduler) TableStatus(_ context.Context, id catalog.Identifier) (*TableStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := &TableStatus{Table: id.String(), Queued: []Job{}, Running: []Job{}, Recent: []Result{}, Scheduler: s.statsLocked()}
	if st := s.tables[id]; st != nil {
		ts.EvaluatedSnapshot = st.evaluated
		if !st.evaluatedAt.IsZero() {
			at := st.evaluatedAt
			ts.EvaluatedAt = &at
		}
		ts.Buckets, ts.MaxSortedRuns, ts.PeakSortedRuns = st.buckets, st.maxRuns, st.peakRuns
		ts.CompactionTrigger, ts.StopTrigger = st.trigger, st.stopTrigger
		ts.Recent = append(ts.Recent, st.recent...)
		ts.Totals, ts.Error = st.totals, st.evalErr
	}
	var queued, running []*job
	for k, j := range s.queue {
		if k.table == id {
			queued = append(queued, j)
		}
	}
	for k, j := range s.running {
		if k.table == id {
			running = append(running, j)
		}
	}
	slices.SortFunc(queued, func(a, b *job) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	slices.SortFunc(running, func(a, b *job) int { return a.StartedAt.Compare(*b.StartedAt) })
	for _, j := range queued {
		ts.Queued = append(ts.Queued, j.Job)
	}
	for _, j := range running {
		ts.Running = append(ts.Running, j.Job)
	}
	return ts, nil
}

// Stats describes the whole scheduler.
func (s *Scheduler) Stats() SchedulerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

func (s *Scheduler) statsLocked() SchedulerStatus {
	return SchedulerStatus{
		Workers: s.o.Workers, MemoryBudget: s.o.Memory, Running: len(s.running), Queued: len(s.queue),
		SlotsInUse: s.slots, MemoryInUse: s.mem, Tables: len(s.tables),
		PeakSlots: s.peakSlots, PeakMemory: s.peakMem, Oversized: s.oversized, Totals: s.totals,
	}
}

// Budget returns a table.Budget drawing on the scheduler's worker slots, for writers
// that compact in the background (table.WriterOptions.CompactionBudget). A writer's
// compaction takes a slot but no memory: its input is not known ahead. Writers waiting
// for a slot go before queued background compactions.
func (s *Scheduler) Budget() table.Budget { return budget{s} }

type budget struct{ s *Scheduler }

func (b budget) Acquire(ctx context.Context) error {
	s := b.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if len(s.waiters) == 0 && s.slots < s.o.Workers {
		s.take(1, 0)
		s.mu.Unlock()
		return nil
	}
	w := &waiter{granted: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.granted:
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(s.waiters, w); i >= 0 {
			s.waiters = slices.Delete(s.waiters, i, i+1)
			return ctx.Err()
		}
		// Granted meanwhile: give the slot back.
		if !s.closed {
			s.give(1, 0)
		}
		return ctx.Err()
	}
}

func (b budget) Release() {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.give(1, 0)
}

// Metrics (package metrics' registry).
var (
	compactionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "compactions_total",
		Help: "Background compactions of a bucket, by table and result (ok, nothing, conflict, error).",
	}, []string{"table", "result"})
	compactionFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "failures_total",
		Help: "Background compactions that committed nothing, by table and reason (conflict, error).",
	}, []string{"table", "reason"})
	compactionBytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "bytes_in_total",
		Help: "Bytes of data files replaced by background compactions.",
	}, []string{"table"})
	compactionBytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "bytes_out_total",
		Help: "Bytes of data files written by background compactions.",
	}, []string{"table"})
	compactionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "duration_seconds",
		Help:    "Durations of background compactions that committed, by table.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 9), // 10ms .. ~11min
	}, []string{"table"})
	queueLength = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "queue_length",
		Help: "Buckets waiting for a background compaction.",
	})
	runningGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "running",
		Help: "Background compactions running.",
	})
	slotsInUse = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "slots_in_use",
		Help: "Compaction worker slots in use (background compactions and writers).",
	})
	memoryInUse = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "memory_in_use_bytes",
		Help: "Estimated input bytes of the running background compactions.",
	})
	commitWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "tarn", Subsystem: "compaction", Name: "commit_wait_seconds",
		Help:    "How long commits of row uploads waited for compaction at num-sorted-run.stop-trigger, by table (only commits that waited).",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 7), // 10ms .. ~41s
	}, []string{"table"})
	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() {
		if err := metrics.Register(compactionsTotal, compactionFailures, compactionBytesIn, compactionBytesOut,
			compactionDuration, queueLength, runningGauge, slotsInUse, memoryInUse, commitWait); err != nil {
			slog.Warn("compaction metrics not registered", "err", err)
		}
	})
}

func observeResult(tbl string, r *Result, d time.Duration) {
	switch r.Outcome {
	case "compacted":
		compactionsTotal.WithLabelValues(tbl, "ok").Inc()
		compactionBytesIn.WithLabelValues(tbl).Add(float64(r.BytesIn))
		compactionBytesOut.WithLabelValues(tbl).Add(float64(r.BytesOut))
		compactionDuration.WithLabelValues(tbl).Observe(d.Seconds())
	case "nothing":
		compactionsTotal.WithLabelValues(tbl, "nothing").Inc()
	case "conflict", "error":
		compactionsTotal.WithLabelValues(tbl, r.Outcome).Inc()
		compactionFailures.WithLabelValues(tbl, r.Outcome).Inc()
	}
}

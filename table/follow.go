package table

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
)

// StartMode says where a tail (Table.Follow) begins.
type StartMode int

// Start modes, as Paimon's scan.mode for streaming reads.
const (
	// StartLatest reads the changes of snapshots committed after the latest one.
	StartLatest StartMode = iota
	// StartFromSnapshot reads the changes of FollowOptions.SnapshotID and later snapshots.
	StartFromSnapshot
	// StartFromTimestamp reads the changes of snapshots committed at or after
	// FollowOptions.TimestampMillis.
	StartFromTimestamp
	// StartFull reads a whole snapshot (FollowOptions.SnapshotID, or the latest) as +I
	// rows, then the changes of each later snapshot.
	StartFull
)

// DefaultPollInterval is how often a tail looks for snapshot-(N+1) when nothing wakes it.
const DefaultPollInterval = 200 * time.Millisecond

// FollowOptions configure a tail.
type FollowOptions struct {
	Start           StartMode
	SnapshotID      int64
	TimestampMillis int64
	// Resume continues exactly after the last batch a previous tail delivered (its
	// Position); it overrides Start.
	Resume *Position
	// ConsumerID, when set, records the tail's progress in consumer/consumer-<id>
	// ({"nextSnapshot": N}), which keeps expiry from deleting snapshots the tail has not
	// read. Without Resume, an existing consumer's nextSnapshot is where the tail starts.
	ConsumerID string
	// Columns to output (nil: all), before _ROW_KIND and _SNAPSHOT_ID.
	Columns []string
	// Filter prunes partitions and files and filters change records.
	Filter Predicate
	// PollInterval is how often to look for the next snapshot (DefaultPollInterval when 0).
	// Commits made in this process wake the tail at once.
	PollInterval time.Duration
	// Heartbeat, when positive, makes Next return a FollowBatch without a Record after
	// this long without data.
	Heartbeat time.Duration
	BatchSize int
	Mem       memory.Allocator
}

// Position is where a tail stands: Offset rows of snapshot Snapshot's changes (or, with
// Full, of its full read) have been delivered. Positions are exact: a tail resumed from
// the Position of the last batch it delivered repeats nothing and loses nothing, as long
// as it reads with the same filter.
type Position struct {
	Snapshot int64 `json:"snapshot"`
	Offset   int64 `json:"offset"`
	Full     bool  `json:"full,omitempty"`
}

// Token encodes the position as an opaque string (base64 of its JSON).
func (p Position) Token() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParsePosition decodes a Token.
func ParsePosition(token string) (Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token, "="))
	if err != nil {
		return Position{}, fmt.Errorf("resume token %q is not base64: %w", token, err)
	}
	var p Position
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Position{}, fmt.Errorf("resume token %q: %w", token, err)
	}
	if p.Snapshot < 1 || p.Offset < 0 {
		return Position{}, fmt.Errorf("resume token %q: snapshot %d, offset %d out of range", token, p.Snapshot, p.Offset)
	}
	return p, nil
}

// FollowBatch is one step of a tail.
type FollowBatch struct {
	// Record holds the table's columns, _ROW_KIND and _SNAPSHOT_ID; nil for a heartbeat.
	// The caller releases it.
	Record arrow.RecordBatch
	// Position is where to resume to continue after this batch.
	Position Position
}

// Follower is a never-ending read of a table's changes (Table.Follow). It is not safe for
// concurrent use.
type Follower struct {
	t      *Table
	o      FollowOptions
	schema *format.TableSchema
	out    *arrow.Schema
	pos    Position // next row to read

	cur     datafile.BatchReader
	pending arrow.RecordBatch

	wake     <-chan struct{}
	unsub    func()
	misses   int
	lastEmit time.Time
	consumer int64 // nextSnapshot last written to the consumer file
}

// Follow starts a tail of the table's changes. Which changes a snapshot carries is decided
// as for PlanIncremental. New snapshots are found by polling snapshot-(N+1) and, for
// commits made in this process, at once. A start or resume position whose snapshot has
// expired is an error wrapping ErrSnapshotExpired.
func (t *Table) Follow(ctx context.Context, o FollowOptions) (*Follower, error) {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	if o.ConsumerID != "" {
		if err := checkConsumerName(o.ConsumerID); err != nil {
			return nil, err
		}
	}
	f := &Follower{t: t, o: o, lastEmit: time.Now(), consumer: -1}
	wake, unsub := t.Subscribe()
	f.wake, f.unsub = wake, unsub
	if err := f.start(ctx); err != nil {
		unsub()
		return nil, err
	}
	var err error
	if f.out, err = ChangeSchema(f.schema, o.Columns); err != nil {
		unsub()
		return nil, err
	}
	if err := f.saveConsumer(ctx); err != nil {
		unsub()
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("tail of %s: %w: %w", t.path, err, ErrSnapshotExpired)
		}
		return nil, err
	}
	return f, nil
}

// start resolves the first position and the schema the tail reads with.
func (f *Follower) start(ctx context.Context) error {
	t, o := f.t, f.o
	latest, _, err := t.LatestSnapshotID(ctx)
	if err != nil {
		return err
	}
	pos := Position{}
	switch {
	case o.Resume != nil:
		pos = *o.Resume
		if pos.Snapshot < 1 || pos.Offset < 0 {
			return fmt.Errorf("tail of %s: resume position %+v out of range", t.path, pos)
		}
	case o.ConsumerID != "":
		next, ok, err := t.readFollowConsumer(ctx, o.ConsumerID)
		if err != nil {
			return err
		}
		if ok {
			pos = Position{Snapshot: next}
			break
		}
		fallthrough
	default:
		switch o.Start {
		case StartLatest:
			pos = Position{Snapshot: latest + 1}
		case StartFromSnapshot:
			if o.SnapshotID < 1 {
				return fmt.Errorf("tail of %s: start snapshot %d: snapshot ids start at 1", t.path, o.SnapshotID)
			}
			pos = Position{Snapshot: o.SnapshotID}
		case StartFromTimestamp:
			snaps, err := t.Snapshots(ctx)
			if err != nil {
				return err
			}
			pos = Position{Snapshot: latest + 1}
			for _, s := range snaps {
				if s.TimeMillis >= o.TimestampMillis {
					pos = Position{Snapshot: s.ID}
					break
				}
			}
		case StartFull:
			id := o.SnapshotID
			if id == 0 {
				id = latest
			}
			if id == 0 {
				pos = Position{Snapshot: 1} // an empty table: every change is new
			} else {
				pos = Position{Snapshot: id, Full: true}
			}
		default:
			return fmt.Errorf("tail of %s: unknown start mode %d", t.path, o.Start)
		}
	}
	if pos.Full {
		snap, err := t.Snapshot(ctx, pos.Snapshot)
		if errors.Is(err, ErrNotFound) {
			return f.expiredOrMissing(ctx, pos.Snapshot)
		}
		if err != nil {
			return err
		}
		f.schema, err = t.Schema(ctx, snap.SchemaID)
		if err != nil {
			return err
		}
	} else {
		if pos.Snapshot > latest+1 {
			return fmt.Errorf("tail of %s: snapshot %d is beyond the latest snapshot %d (was the table recreated?): %w", t.path, pos.Snapshot, latest, ErrNotFound)
		}
		if pos.Snapshot <= latest {
			// The snapshot, or the changelog Paimon keeps of it once it expired.
			ok, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(pos.Snapshot)))
			if err == nil && !ok {
				ok, err = fileio.Exists(ctx, t.fio, t.Join(format.ChangelogPath(pos.Snapshot)))
			}
			if err != nil {
				return err
			}
			if !ok {
				return f.expiredOrMissing(ctx, pos.Snapshot)
			}
		}
		if f.schema, err = t.LatestSchema(ctx); err != nil {
			return err
		}
	}
	f.pos = pos
	return nil
}

func (f *Follower) expiredOrMissing(ctx context.Context, id int64) error {
	earliest, ok, err := f.t.EarliestSnapshotID(ctx)
	if err != nil {
		return err
	}
	latest, _, err := f.t.LatestSnapshotID(ctx)
	if err != nil {
		return err
	}
	if ok && id < earliest {
		return fmt.Errorf("tail of %s: start snapshot %d has expired (snapshots %d..%d remain); start from a newer snapshot or \"latest\", "+
			"and give the tail a consumer id so that expiry keeps the snapshots it has not read: %w", f.t.path, id, earliest, latest, ErrSnapshotExpired)
	}
	return fmt.Errorf("tail of %s: snapshot %d: %w", f.t.path, id, ErrNotFound)
}

// Schema is the schema of the tail's batches.
func (f *Follower) Schema() *arrow.Schema { return f.out }

// TableSchema is the table schema the tail reads with.
func (f *Follower) TableSchema() *format.TableSchema { return f.schema }

// Position is where the tail stands: resuming there continues after the last batch
// Next returned.
func (f *Follower) Position() Position { return f.pos }

// Next returns the next batch of changes, waiting for new snapshots as long as it takes:
// it returns only with data, a heartbeat (FollowOptions.Heartbeat), or an error (ctx's
// error when ctx ends).
func (f *Follower) Next(ctx context.Context) (FollowBatch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return FollowBatch{}, err
		}
		// A consumer position finish could not record is recorded now.
		if err := f.saveConsumer(ctx); err != nil {
			return FollowBatch{}, err
		}
		if f.cur == nil {
			heartbeat, err := f.open(ctx)
			if err != nil {
				return FollowBatch{}, err
			}
			if heartbeat {
				f.lastEmit = time.Now()
				return FollowBatch{Position: f.pos}, nil
			}
			continue
		}
		b := f.pending
		f.pending = nil
		if b == nil {
			var err error
			b, err = f.cur.Next(ctx)
			if errors.Is(err, io.EOF) {
				if err := f.finish(ctx); err != nil {
					return FollowBatch{}, err
				}
				continue
			}
			if err != nil {
				f.drop()
				return FollowBatch{}, err
			}
		}
		// Read one batch ahead so that the last batch of a snapshot carries the position
		// of the next snapshot.
		next, err := f.cur.Next(ctx)
		end := false
		switch {
		case errors.Is(err, io.EOF):
			end = true
		case err != nil:
			b.Release()
			f.drop()
			return FollowBatch{}, err
		default:
			f.pending = next
		}
		f.pos.Offset += b.NumRows()
		if end {
			if err := f.finish(ctx); err != nil {
				b.Release()
				return FollowBatch{}, err
			}
		}
		f.lastEmit = time.Now()
		return FollowBatch{Record: b, Position: f.pos}, nil
	}
}

// drop closes the current reader after an error (ctx ending within a read): the next
// call opens the snapshot again at the position, skipping the rows already returned.
func (f *Follower) drop() {
	if f.pending != nil {
		f.pending.Release()
		f.pending = nil
	}
	if f.cur != nil {
		_ = f.cur.Close()
		f.cur = nil
	}
}

// All iterates over Next's results until an error (which it yields last) or until the
// loop stops. The caller releases each Record.
func (f *Follower) All(ctx context.Context) iter.Seq2[FollowBatch, error] {
	return func(yield func(FollowBatch, error) bool) {
		for {
			b, err := f.Next(ctx)
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// finish closes the current reader and moves to the start of the next snapshot. It
// records the position in the consumer file; when that fails (ctx ended), Next records
// it on its next call.
func (f *Follower) finish(ctx context.Context) error {
	if f.pending != nil {
		f.pending.Release()
		f.pending = nil
	}
	if f.cur != nil {
		err := f.cur.Close()
		f.cur = nil
		if err != nil {
			return err
		}
	}
	f.pos = Position{Snapshot: f.pos.Snapshot + 1}
	if err := f.saveConsumer(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// open opens the reader of the current position, waiting for its snapshot. It reports
// heartbeat when the wait outlasted FollowOptions.Heartbeat.
func (f *Follower) open(ctx context.Context) (heartbeat bool, err error) {
	t := f.t
	ro := ReadOptions{Columns: f.o.Columns, BatchSize: f.o.BatchSize, Mem: f.o.Mem}
	if f.o.Filter != nil {
		ro.Filter = f.o.Filter
	}
	if f.pos.Full {
		so := ScanOptions{SnapshotID: f.pos.Snapshot}
		if f.o.Filter != nil {
			so.Filter = f.o.Filter
		}
		plan, err := t.Plan(ctx, so)
		if errors.Is(err, ErrNotFound) {
			return false, f.expiredOrMissing(ctx, f.pos.Snapshot)
		}
		if err != nil {
			return false, err
		}
		plan.Schema = f.schema
		f.cur, err = t.fullRows(ctx, plan, ro, f.pos.Offset)
		return false, err
	}
	for {
		snap, err := t.changelogOf(ctx, f.pos.Snapshot)
		if errors.Is(err, ErrNotFound) {
			if err := f.checkRange(ctx); err != nil {
				return false, err
			}
			if hb, err := f.wait(ctx); err != nil || hb {
				return hb, err
			}
			continue
		}
		if err != nil {
			return false, err
		}
		f.misses = 0
		var filter Filter
		if f.o.Filter != nil {
			filter = f.o.Filter
		}
		splits, err := t.SnapshotChanges(ctx, snap, filter)
		if err != nil {
			return false, err
		}
		if len(splits) == 0 {
			f.pos = Position{Snapshot: f.pos.Snapshot + 1}
			if err := f.saveConsumer(ctx); err != nil {
				return false, err
			}
			continue
		}
		f.cur, err = t.readChanges(ctx, f.schema, splits, ro, f.pos.Offset)
		return false, err
	}
}

// checkRange fails when the awaited snapshot can never appear: expiry removed it, or the
// table was recreated. It looks at the table only every few misses.
func (f *Follower) checkRange(ctx context.Context) error {
	f.misses++
	if f.misses%16 != 1 {
		return nil
	}
	earliest, ok, err := f.t.EarliestSnapshotID(ctx)
	if err != nil || !ok {
		return err
	}
	if earliest > f.pos.Snapshot {
		latest, _, _ := f.t.LatestSnapshotID(ctx)
		return fmt.Errorf("tail of %s: snapshot %d, the next the tail must read, has expired (snapshots %d..%d remain); "+
			"give the tail a consumer id so that expiry keeps the snapshots it has not read: %w", f.t.path, f.pos.Snapshot, earliest, latest, ErrSnapshotExpired)
	}
	return nil
}

// wait sleeps until a commit notification, the poll interval, the heartbeat or ctx's end.
func (f *Follower) wait(ctx context.Context) (heartbeat bool, err error) {
	d := f.o.PollInterval
	hb := false
	if f.o.Heartbeat > 0 {
		left := f.o.Heartbeat - time.Since(f.lastEmit)
		if left <= 0 {
			return true, nil
		}
		if left < d {
			d, hb = left, true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-f.wake:
		return false, nil
	case <-timer.C:
		return hb, nil
	}
}

// Close stops the tail and releases what it holds.
func (f *Follower) Close() error {
	if f.unsub != nil {
		f.unsub()
		f.unsub = nil
	}
	if f.pending != nil {
		f.pending.Release()
		f.pending = nil
	}
	if f.cur != nil {
		err := f.cur.Close()
		f.cur = nil
		return err
	}
	return nil
}

// saveConsumer records the tail's next snapshot in its consumer file when it changed
// (RegisterConsumer, which fails if expiry took that snapshot meanwhile).
func (f *Follower) saveConsumer(ctx context.Context) error {
	if f.o.ConsumerID == "" || f.consumer == f.pos.Snapshot {
		return nil
	}
	if _, err := f.t.RegisterConsumer(ctx, f.o.ConsumerID, f.pos.Snapshot); err != nil {
		return err
	}
	f.consumer = f.pos.Snapshot
	return nil
}

// readFollowConsumer reads a consumer's nextSnapshot; ok is false when it has none.
func (t *Table) readFollowConsumer(ctx context.Context, id string) (next int64, ok bool, err error) {
	data, err := t.fio.ReadFile(ctx, t.consumerFile(id))
	if errors.Is(err, fileio.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	next, err = parseConsumer(data)
	if err != nil {
		return 0, false, fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	return next, true, nil
}

// Commit notifications: tails in this process wake as soon as a commit to their table
// (through any Table handle on the same location) creates a snapshot.

type subscribers struct{ chans map[chan struct{}]struct{} }

var commitSubs = struct {
	sync.Mutex
	m map[string]*subscribers
}{m: map[string]*subscribers{}}

// Subscribe returns a channel that receives a value after commits to this table made in
// this process (a burst of commits may arrive as one value), and a function that ends the
// subscription.
func (t *Table) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	commitSubs.Lock()
	subs := commitSubs.m[t.path]
	if subs == nil {
		subs = &subscribers{chans: map[chan struct{}]struct{}{}}
		commitSubs.m[t.path] = subs
	}
	subs.chans[ch] = struct{}{}
	commitSubs.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			commitSubs.Lock()
			delete(subs.chans, ch)
			if len(subs.chans) == 0 && commitSubs.m[t.path] == subs {
				delete(commitSubs.m, t.path)
			}
			commitSubs.Unlock()
		})
	}
}

// NotifyCommit wakes the table's subscribers. Commit calls it after creating a snapshot;
// code that creates snapshots otherwise (rollback, tags, external writers it learns of)
// may call it too.
func (t *Table) NotifyCommit() {
	commitSubs.Lock()
	defer commitSubs.Unlock()
	subs := commitSubs.m[t.path]
	if subs == nil {
		return
	}
	for ch := range subs.chans {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

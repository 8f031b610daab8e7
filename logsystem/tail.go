package logsystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/merge"
	"github.com/tarnlake/tarn/table"
)

// TailOptions configure a hybrid tail (NewTail).
type TailOptions struct {
	// Name is the table's "db.table" for the default topic (default: from its path).
	Name string
	// Snapshot is read in full first (0: the latest); then every later change follows.
	Snapshot int64
	// Follow, when set, says where the tail starts and what it reads instead, as for
	// Table.Follow: Start, SnapshotID, TimestampMillis, Resume (a Position a previous
	// tail's batch carried), ConsumerID (progress recorded in the table's consumer file,
	// also while the tail reads the log) and Filter (applied to log rows as to files, so
	// positions count the same rows). Its Columns, PollInterval, BatchSize and Mem are
	// ignored in favour of this struct's.
	Follow *table.FollowOptions
	// Heartbeat, when positive, makes Next return a batch without a Record after this long
	// without one.
	Heartbeat time.Duration
	// Columns to output (nil: all), before _ROW_KIND and _SNAPSHOT_ID.
	Columns []string
	// PollInterval is how often the tail looks at the table's snapshots while it waits
	// for the log (default 200ms).
	PollInterval time.Duration
	// MarkerTimeout is how long a snapshot committed through the log may wait for its
	// commit markers before the tail reads it from the table's files (a writer died
	// between its snapshot commit and its transaction commit, or Kafka is down).
	// Default 10s.
	MarkerTimeout time.Duration
	// LogRetryInterval is how often a tail reading files tries to return to the log
	// (default 5s).
	LogRetryInterval time.Duration
	// BatchSize caps the rows of a batch (default 65536).
	BatchSize int
	Mem       memory.Allocator
}

// TailBatch is one step of a tail. A batch without a Record marks the end of a snapshot
// that had no (more) rows: Emitted has moved.
type TailBatch struct {
	// Record holds the output columns, _ROW_KIND and _SNAPSHOT_ID (null for rows an
	// eventual-mode tail delivers before their snapshot commit). The caller releases it.
	Record arrow.RecordBatch
	// FromLog tells whether the rows came from the log (else from the table's files).
	FromLog bool
	// Position is where a tail resumes (TailOptions.Follow.Resume, or Table.Follow's) to
	// continue after this batch: positions are those of a file-based tail, so either kind
	// resumes from the other's. Rows an eventual-mode tail delivers before their snapshot
	// commit do not move it: a tail resumed after them sees them again.
	Position table.Position
}

// TailStats count what a tail did.
type TailStats struct {
	LogSnapshots  int64 // snapshots delivered from the log
	FileSnapshots int64 // snapshots delivered from files (the start, gaps, fallbacks)
	LogRecords    int64 // row records read from the log
	Duplicates    int64 // log rows dropped as already delivered (sequence numbers)
	ToLog         int64 // switches from files to the log
	ToFiles       int64 // fallbacks from the log to files
}

// Tail is a hybrid read of a table's changes: a snapshot from the table's files, then the
// changes of later snapshots from the log topic, starting at the offsets the snapshot
// recorded. It falls back to files (table.Follow) when the log does not cover a snapshot
// (retention, a lost log, Kafka down, a writer without the log) and returns to the log
// when it can. Snapshots are delivered whole and in order, each exactly once; within a
// snapshot, rows come by partition, bucket and key, merged as the writer merged them, so
// the changes equal what a file-based tail (table.Follow) yields. It is not safe for
// concurrent use.
type Tail struct {
	t      *table.Table
	conn   Config
	cfg    TableConfig
	o      TailOptions
	schema *format.TableSchema
	out    *arrow.Schema
	outIdx []int // output columns as positions in schema.Fields
	keyIdx []int // trimmed primary key positions in schema.Fields
	engine string
	mem    memory.Allocator

	emitted  int64 // last snapshot delivered in full
	queue    []TailBatch
	stats    TailStats
	pos      table.Position // where the last batch Next returned leaves the tail
	qpos     table.Position // where the last batch queued leaves it
	extraIdx []int          // columns the filter reads beyond the output, in schema.Fields
	wide     *arrow.Schema  // the output with extraIdx's columns, for filtering
	filter   table.Predicate
	consumer string
	saved    int64 // nextSnapshot last written to the consumer file
	lastOut  time.Time

	// file mode
	follow      *table.Follower
	lastTry     time.Time
	wake        <-chan struct{}
	unsubscribe func()

	// log mode
	cl         *kgo.Client
	pending    map[int32][]logRow
	snapRows   map[int64][]logRow
	markers    map[int64]int32
	broken     map[int64]bool // snapshots whose markers disagree with the rows read
	lastMarker map[int32]int64
	watermark  map[string]int64
	waiting    time.Time // when snapshot emitted+1 was found committed without its markers
	lastLook   time.Time
	decoders   map[int64]*RowDecoder
	schemas    map[int64]*format.TableSchema
	unsent     []logRow // eventual mode: rows fetched but not yet emitted (an error in between)
}

type logRow struct {
	h  *RowHeader
	kp int32
}

// NewTail starts a hybrid tail of t.
func NewTail(ctx context.Context, t *table.Table, conn Config, o TailOptions) (*Tail, error) {
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.MarkerTimeout <= 0 {
		o.MarkerTimeout = 10 * time.Second
	}
	if o.LogRetryInterval <= 0 {
		o.LogRetryInterval = 5 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64 * 1024
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	name := o.Name
	if name == "" {
		name = NameFromPath(t.Path())
	}
	tl := &Tail{t: t, conn: conn, o: o, mem: o.Mem, decoders: map[int64]*RowDecoder{}, schemas: map[int64]*format.TableSchema{},
		saved: -1, lastOut: time.Now()}
	fo := table.FollowOptions{Start: table.StartFull, SnapshotID: o.Snapshot}
	if o.Follow != nil {
		fo = *o.Follow
	}
	tl.filter, tl.consumer = fo.Filter, fo.ConsumerID
	f, err := t.Follow(ctx, tl.followOptions(fo))
	if err != nil {
		return nil, err
	}
	tl.follow = f
	tl.schema = f.TableSchema()
	tl.out = f.Schema()
	if tl.cfg, err = ParseTableConfig(tl.schema, name); err != nil {
		f.Close()
		return nil, err
	}
	outFields, err := table.OutputFields(tl.schema, o.Columns)
	if err != nil {
		f.Close()
		return nil, err
	}
	for _, of := range outFields {
		tl.outIdx = append(tl.outIdx, types.FieldByName(tl.schema.Fields, of.Name))
	}
	if len(tl.schema.PrimaryKeys) > 0 {
		tl.keyIdx = tl.schema.FieldIndexes(tl.schema.TrimmedPrimaryKeys())
	}
	tl.engine = table.ParseCoreOptions(tl.schema.Options).MergeEngine
	if err := tl.filterColumns(); err != nil {
		f.Close()
		return nil, err
	}
	pos := f.Position()
	tl.pos, tl.qpos = pos, pos
	tl.emitted = pos.Snapshot - 1
	if pos.Full {
		tl.emitted = -1 // the full read of pos.Snapshot is under way
	}
	return tl, nil
}

// filterColumns finds the columns the filter reads that the output lacks: log rows are
// built with them, filtered, then projected.
func (tl *Tail) filterColumns() error {
	if tl.filter == nil {
		return nil
	}
	fields := slices.Clone(tl.out.Fields())
	for _, c := range tl.filter.Columns() {
		if tl.out.HasField(c) {
			continue
		}
		i := types.FieldByName(tl.schema.Fields, c)
		if i < 0 {
			return fmt.Errorf("logsystem: tail filter reads column %q, which table %s does not have", c, tl.cfg.Topic)
		}
		af, err := types.ArrowField(tl.schema.Fields[i])
		if err != nil {
			return err
		}
		tl.extraIdx = append(tl.extraIdx, i)
		fields = append(fields, af)
	}
	if len(tl.extraIdx) > 0 {
		tl.wide = arrow.NewSchema(fields, nil)
	}
	return nil
}

// followOptions completes the options of the file-based tail: the tail's columns and
// read settings, and a heartbeat that brings it back to try the log.
func (tl *Tail) followOptions(fo table.FollowOptions) table.FollowOptions {
	o := tl.o
	fo.Columns, fo.PollInterval, fo.BatchSize, fo.Mem = o.Columns, o.PollInterval, o.BatchSize, o.Mem
	fo.Heartbeat = o.LogRetryInterval
	if o.Heartbeat > 0 && o.Heartbeat < fo.Heartbeat {
		fo.Heartbeat = o.Heartbeat
	}
	return fo
}

// Position is where the tail stands: resuming there continues after the last batch Next
// returned.
func (tl *Tail) Position() table.Position { return tl.pos }

// Schema is the Arrow schema of the tail's batches.
func (tl *Tail) Schema() *arrow.Schema { return tl.out }

// Emitted is the last snapshot whose changes the tail has delivered in full: the batches
// Next returned hold all of them (the tail may have read further ahead).
func (tl *Tail) Emitted() int64 {
	if tl.pos.Full {
		return 0
	}
	return max(tl.pos.Snapshot-1, 0)
}

// OnLog reports whether the tail reads the log now.
func (tl *Tail) OnLog() bool { return tl.cl != nil }

// Stats returns what the tail did so far.
func (tl *Tail) Stats() TailStats { return tl.stats }

// Next returns the next batch of changes, waiting as long as it takes (until ctx ends).
func (tl *Tail) Next(ctx context.Context) (TailBatch, error) {
	for {
		if len(tl.queue) > 0 {
			b := tl.queue[0]
			tl.queue[0] = TailBatch{}
			tl.queue = tl.queue[1:]
			tl.pos = b.Position
			tl.lastOut = time.Now()
			if err := tl.saveConsumer(ctx); err != nil {
				if b.Record != nil {
					b.Record.Release()
				}
				return TailBatch{}, err
			}
			return b, nil
		}
		if err := ctx.Err(); err != nil {
			return TailBatch{}, err
		}
		if tl.o.Heartbeat > 0 && time.Since(tl.lastOut) >= tl.o.Heartbeat {
			tl.lastOut = time.Now()
			return TailBatch{Position: tl.pos, FromLog: tl.cl != nil}, nil
		}
		var err error
		switch {
		case tl.follow != nil:
			err = tl.stepFiles(ctx)
		case tl.cl != nil:
			err = tl.stepLog(ctx)
		default:
			// A fallback to the files failed (its context ended, or the table could not
			// be read): try it again.
			err = tl.toFiles(ctx, "resuming the fallback to the table's files")
		}
		if err != nil {
			return TailBatch{}, err
		}
	}
}

// saveConsumer records, while the tail reads the log, the next snapshot it needs in its
// consumer file (the file-based tail records its own), so that expiry keeps it.
func (tl *Tail) saveConsumer(ctx context.Context) error {
	if tl.consumer == "" || tl.follow != nil || tl.pos.Full || tl.pos.Snapshot == tl.saved {
		return nil
	}
	if _, err := tl.t.RegisterConsumer(ctx, tl.consumer, tl.pos.Snapshot); err != nil {
		return fmt.Errorf("logsystem: tail consumer %s: %w", tl.consumer, err)
	}
	tl.saved = tl.pos.Snapshot
	return nil
}

// Close stops the tail.
func (tl *Tail) Close() {
	for _, b := range tl.queue {
		if b.Record != nil {
			b.Record.Release()
		}
	}
	tl.queue = nil
	if tl.follow != nil {
		tl.follow.Close()
		tl.follow = nil
	}
	tl.closeLog()
	for _, d := range tl.decoders {
		d.Release()
	}
	tl.decoders = map[int64]*RowDecoder{}
}

// stepFiles reads one step of the file-based tail and, at a snapshot boundary, tries the
// log.
func (tl *Tail) stepFiles(ctx context.Context) error {
	b, err := tl.follow.Next(ctx)
	if err != nil {
		return err
	}
	pos := b.Position
	if b.Record != nil {
		tl.queue = append(tl.queue, TailBatch{Record: b.Record, Position: pos})
	}
	tl.qpos = pos
	if pos.Full || pos.Offset != 0 {
		return nil
	}
	if pos.Snapshot-1 > tl.emitted {
		tl.stats.FileSnapshots++
		tl.emitted = pos.Snapshot - 1
		if b.Record == nil {
			tl.queue = append(tl.queue, TailBatch{Position: pos})
		}
	}
	if tl.lastTry.IsZero() || time.Since(tl.lastTry) >= tl.o.LogRetryInterval {
		return tl.trySwitch(ctx)
	}
	return nil
}

// trySwitch moves to the log if it covers everything after the emitted snapshot.
func (tl *Tail) trySwitch(ctx context.Context) error {
	tl.lastTry = time.Now()
	k := tl.emitted
	if k < 1 {
		return nil
	}
	snap, err := tl.t.Snapshot(ctx, k)
	if errors.Is(err, table.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	offs, _, ok, err := EffectiveOffsets(ctx, tl.t, snap)
	if err != nil || !ok {
		slog.Debug("no log offsets up to the snapshot; reading files", "topic", tl.cfg.Topic, "snapshot", k, "err", err)
		return err
	}
	parts := map[int32]kgo.Offset{}
	for p := int32(0); p < tl.cfg.Partitions; p++ {
		off, ok := offs[p]
		if !ok {
			slog.Debug("log offsets lack a partition; reading files", "topic", tl.cfg.Topic, "snapshot", k, "partition", p)
			return nil
		}
		parts[p] = kgo.NewOffset().At(off)
	}
	// The client allows no fetch wait below 10ms.
	cl, err := newConsumer(tl.conn, map[string]map[int32]kgo.Offset{tl.cfg.Topic: parts}, tl.cfg.Consistency == Transactional,
		kgo.FetchMaxWait(max(tl.o.PollInterval, 10*time.Millisecond)), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		return err
	}
	// The log must still hold every offset: retention may have deleted them, or a broker
	// without persistence restarted.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	starts, err1 := adm.ListStartOffsets(cctx, tl.cfg.Topic)
	ends, err2 := adm.ListEndOffsets(cctx, tl.cfg.Topic)
	if err := errors.Join(err1, err2); err != nil || starts.Error() != nil || ends.Error() != nil {
		cl.Close()
		slog.Debug("log unavailable; reading files", "topic", tl.cfg.Topic, "err", errors.Join(err, starts.Error(), ends.Error()))
		return nil
	}
	for p, off := range offs {
		s, ok1 := starts.Lookup(tl.cfg.Topic, p)
		e, ok2 := ends.Lookup(tl.cfg.Topic, p)
		if !ok1 || !ok2 || off < s.Offset || off > e.Offset {
			cl.Close()
			slog.Debug("log does not cover the snapshot; reading files", "topic", tl.cfg.Topic, "snapshot", k, "partition", p)
			return nil
		}
	}
	wm, err := tl.watermarks(ctx, k)
	if err != nil {
		cl.Close()
		return err
	}
	tl.follow.Close()
	tl.follow = nil
	tl.cl = cl
	tl.pending = map[int32][]logRow{}
	tl.snapRows = map[int64][]logRow{}
	tl.markers = map[int64]int32{}
	tl.broken = map[int64]bool{}
	tl.lastMarker = map[int32]int64{}
	for p := int32(0); p < tl.cfg.Partitions; p++ {
		tl.lastMarker[p] = k
	}
	tl.watermark = wm
	tl.waiting = time.Time{}
	tl.stats.ToLog++
	if tl.wake == nil {
		tl.wake, tl.unsubscribe = tl.t.Subscribe()
	}
	slog.Debug("tail reads the log", "topic", tl.cfg.Topic, "after_snapshot", k)
	return nil
}

// watermarks returns the highest sequence number per partition and bucket in snapshot k.
func (tl *Tail) watermarks(ctx context.Context, k int64) (map[string]int64, error) {
	plan, err := tl.t.Plan(ctx, table.ScanOptions{SnapshotID: k, AllLevels: true})
	if err != nil {
		return nil, err
	}
	wm := map[string]int64{}
	for _, s := range plan.Splits {
		key := bucketKey(s.Partition, int32(max(s.Bucket, 0)))
		for _, f := range s.Files {
			if f.MaxSequenceNumber > wm[key] {
				wm[key] = f.MaxSequenceNumber
			}
		}
		if _, ok := wm[key]; !ok {
			wm[key] = -1
		}
	}
	return wm, nil
}

func (tl *Tail) closeLog() {
	if tl.cl != nil {
		tl.cl.Close()
		tl.cl = nil
	}
	if tl.unsubscribe != nil {
		tl.unsubscribe()
		tl.unsubscribe, tl.wake = nil, nil
	}
	tl.pending, tl.snapRows, tl.markers, tl.broken, tl.unsent = nil, nil, nil, nil, nil
}

// toFiles falls back to a file-based tail after the emitted snapshot.
func (tl *Tail) toFiles(ctx context.Context, why string) error {
	slog.Info("tail falls back to the table's files", "topic", tl.cfg.Topic, "after_snapshot", tl.emitted, "reason", why)
	tl.closeLog()
	f, err := tl.t.Follow(ctx, tl.followOptions(table.FollowOptions{
		Start: table.StartFromSnapshot, SnapshotID: tl.emitted + 1, ConsumerID: tl.consumer, Filter: tl.filter,
	}))
	if err != nil {
		return err
	}
	tl.follow = f
	tl.lastTry = time.Now()
	tl.stats.ToFiles++
	return nil
}

// stepLog delivers the next snapshot if the log completed it, else reads more of the log
// or resolves the snapshot from files.
func (tl *Tail) stepLog(ctx context.Context) error {
	k := tl.emitted + 1
	if tl.markers[k] >= tl.cfg.Partitions {
		return tl.emitLog(ctx, k)
	}
	if done, err := tl.resolve(ctx, k); done || err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, tl.o.PollInterval)
	fs := tl.cl.PollFetches(pctx)
	cancel()
	// Records fetched are processed even when ctx ended meanwhile: the client will not
	// return them again.
	var fatal error
	fs.EachError(func(_ string, p int32, err error) {
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		case errors.Is(err, kerr.OffsetOutOfRange):
			fatal = fmt.Errorf("partition %d: %w", p, err)
		default:
			slog.Debug("log fetch error", "topic", tl.cfg.Topic, "partition", p, "err", err)
		}
	})
	if fatal != nil {
		return tl.toFiles(ctx, fatal.Error())
	}
	var eventual []logRow
	var bad error
	fs.EachRecord(func(r *kgo.Record) {
		if bad != nil {
			return
		}
		d, err := Decode(r.Value)
		if err != nil {
			bad = fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err)
			return
		}
		if d.Row != nil {
			tl.stats.LogRecords++
			row := logRow{h: d.Row, kp: r.Partition}
			if tl.cfg.Consistency == Eventual {
				eventual = append(eventual, row)
			} else {
				tl.pending[r.Partition] = append(tl.pending[r.Partition], row)
			}
			return
		}
		m := d.Marker
		rows := tl.pending[r.Partition]
		tl.pending[r.Partition] = nil
		if m.Snapshot > tl.lastMarker[r.Partition] {
			tl.lastMarker[r.Partition] = m.Snapshot
		}
		if m.Snapshot <= tl.emitted {
			return // delivered already (from the snapshot we started at, or from files)
		}
		if tl.cfg.Consistency == Transactional && int64(len(rows)) != m.Rows {
			// The partition's rows of this commit are not what the writer wrote: read
			// the snapshot from files.
			slog.Warn("log rows disagree with their commit marker; reading the snapshot from files", "topic", tl.cfg.Topic,
				"snapshot", m.Snapshot, "partition", r.Partition, "rows", len(rows), "marker_rows", m.Rows)
			tl.broken[m.Snapshot] = true
		}
		tl.snapRows[m.Snapshot] = append(tl.snapRows[m.Snapshot], rows...)
		tl.markers[m.Snapshot]++
	})
	if bad != nil {
		return tl.toFiles(ctx, "unreadable log record: "+bad.Error())
	}
	if len(eventual) > 0 {
		tl.unsent = append(tl.unsent, eventual...)
	}
	if len(tl.unsent) > 0 {
		// Kept until emitted: the client does not return fetched records again.
		if err := tl.emitRows(ctx, tl.unsent, -1, false); err != nil {
			return err
		}
		tl.unsent = nil
	}
	return ctx.Err()
}

// resolve decides snapshot k without its markers when the log cannot deliver it: a
// snapshot written without the log, or one whose markers never came. It looks at the
// table at most once per poll interval.
func (tl *Tail) resolve(ctx context.Context, k int64) (bool, error) {
	passed := true
	for p := int32(0); p < tl.cfg.Partitions; p++ {
		if tl.lastMarker[p] < k {
			passed = false
			break
		}
	}
	if passed {
		// Every partition has a marker beyond k, and k's are not all there: k was not
		// written through the log.
		return true, tl.readFiles(ctx, k)
	}
	if time.Since(tl.lastLook) < tl.o.PollInterval {
		select {
		case <-tl.wake:
			tl.lastLook = time.Time{}
		default:
			return false, nil
		}
	}
	tl.lastLook = time.Now()
	snap, err := tl.t.Snapshot(ctx, k)
	if errors.Is(err, table.ErrNotFound) {
		tl.waiting = time.Time{}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, ok, err := SnapshotOffsets(snap); err != nil {
		return false, err
	} else if !ok {
		return true, tl.readFiles(ctx, k)
	}
	if tl.waiting.IsZero() {
		tl.waiting = time.Now()
		return false, nil
	}
	if time.Since(tl.waiting) < tl.o.MarkerTimeout {
		return false, nil
	}
	// The markers are late: the writer died after its snapshot commit, or Kafka is down.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	perr := tl.cl.Ping(pctx)
	cancel()
	if perr != nil {
		return true, tl.toFiles(ctx, "Kafka unreachable: "+perr.Error())
	}
	if tl.cfg.Consistency == Eventual {
		// Its rows were delivered as they arrived.
		tl.finish(k, false)
		return true, nil
	}
	slog.Warn("snapshot committed without its log; reading it from files", "topic", tl.cfg.Topic, "snapshot", k)
	return true, tl.readFiles(ctx, k)
}

// readFiles delivers snapshot k's changes from the table's files. It queues all of them
// or, on an error (ctx ending within the read), none: a retry reads the snapshot again.
func (tl *Tail) readFiles(ctx context.Context, k int64) error {
	snap, err := tl.t.Snapshot(ctx, k)
	if err != nil {
		return err
	}
	// Every split, unpruned: the watermarks must cover every bucket the snapshot wrote.
	splits, err := tl.t.SnapshotChanges(ctx, snap, nil)
	if err != nil {
		return err
	}
	var read []arrow.RecordBatch
	if len(splits) > 0 {
		if read, err = tl.readChanges(ctx, splits); err != nil {
			return err
		}
	}
	for _, b := range read {
		tl.queue = append(tl.queue, tl.positioned(TailBatch{Record: b}, k))
	}
	for _, s := range splits {
		key := bucketKey(s.Partition, int32(max(s.Bucket, 0)))
		for _, f := range s.Files {
			if w, ok := tl.watermark[key]; !ok || f.MaxSequenceNumber > w {
				tl.watermark[key] = f.MaxSequenceNumber
			}
		}
	}
	tl.finish(k, true)
	return nil
}

// readChanges reads the changes of splits, every batch or (on an error) none.
func (tl *Tail) readChanges(ctx context.Context, splits []table.ChangeSplit) ([]arrow.RecordBatch, error) {
	ro := table.ReadOptions{Columns: tl.o.Columns, BatchSize: tl.o.BatchSize, Mem: tl.mem}
	if tl.filter != nil {
		ro.Filter = tl.filter
	}
	r, err := tl.t.ReadChanges(ctx, tl.schema, splits, ro)
	if err != nil {
		return nil, err
	}
	batches, err := datafile.ReadAll(ctx, r)
	if cerr := r.Close(); err == nil && cerr != nil {
		releaseAll(batches)
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(batches, func(b arrow.RecordBatch) bool {
		if b.NumRows() == 0 {
			b.Release()
			return true
		}
		return false
	}), nil
}

func releaseAll(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}

// positioned gives a batch of snapshot k (k < 0: rows before their snapshot commit) the
// position after it.
func (tl *Tail) positioned(b TailBatch, k int64) TailBatch {
	if k >= 0 && b.Record != nil {
		if tl.qpos.Snapshot != k || tl.qpos.Full {
			tl.qpos = table.Position{Snapshot: k}
		}
		tl.qpos.Offset += b.Record.NumRows()
	}
	b.Position = tl.qpos
	return b
}

func (tl *Tail) finish(k int64, files bool) {
	// Next returns at every snapshot: a batch without a Record when it had no rows. The
	// last batch of a snapshot carries the position of the next, as Table.Follow's does.
	tl.qpos = table.Position{Snapshot: k + 1}
	if len(tl.queue) == 0 {
		tl.queue = append(tl.queue, TailBatch{FromLog: !files})
	}
	tl.queue[len(tl.queue)-1].Position = tl.qpos
	delete(tl.snapRows, k)
	delete(tl.markers, k)
	tl.emitted = k
	tl.waiting = time.Time{}
	if files {
		tl.stats.FileSnapshots++
	} else {
		tl.stats.LogSnapshots++
	}
}

// emitLog delivers snapshot k from its log rows.
func (tl *Tail) emitLog(ctx context.Context, k int64) error {
	rows := tl.snapRows[k]
	if tl.broken[k] {
		delete(tl.broken, k)
		return tl.readFiles(ctx, k)
	}
	if err := tl.emitRows(ctx, rows, k, true); err != nil {
		return err
	}
	if tl.cl == nil {
		return nil // fell back to files, which deliver k
	}
	tl.finish(k, false)
	return nil
}

// emitRows decodes rows, drops those at or below their bucket's delivered sequence
// number, and queues them as batches: with sortMerge, ordered by partition, bucket and key
// and merged as the writer merges a buffer; otherwise in log order. snapshot < 0 leaves
// _SNAPSHOT_ID null.
func (tl *Tail) emitRows(ctx context.Context, rows []logRow, snapshot int64, sortMerge bool) error {
	// Nothing changes (watermarks, stats, queue) until every batch is built: a retry
	// after an error (ctx ending) emits the rows again.
	keep := rows[:0:0]
	seen := map[string]int64{}
	dups := int64(0)
	for _, r := range rows {
		key := bucketKey(r.h.Partition, r.kp)
		w, ok := seen[key]
		if !ok {
			w, ok = tl.watermark[key]
		}
		if ok && r.h.Sequence <= w {
			dups++
			slog.Debug("log row already delivered", "topic", tl.cfg.Topic, "partition", r.kp, "sequence", r.h.Sequence, "watermark", w, "snapshot", snapshot)
			continue
		}
		seen[key] = r.h.Sequence
		keep = append(keep, r)
	}
	built, err := tl.buildRows(ctx, keep, snapshot, sortMerge)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, errUndecodable) {
			return tl.toFiles(ctx, err.Error())
		}
		return err
	}
	for key, w := range seen {
		tl.watermark[key] = w
	}
	tl.stats.Duplicates += dups
	for _, b := range built {
		tl.queue = append(tl.queue, tl.positioned(TailBatch{Record: b, FromLog: true}, snapshot))
	}
	return nil
}

var errUndecodable = errors.New("undecodable log rows")

// buildRows decodes rows into the tail's output batches: with sortMerge, ordered by
// partition, bucket and key and merged as the writer merges a buffer; otherwise in log
// order. It returns every batch or (on an error) none.
func (tl *Tail) buildRows(ctx context.Context, keep []logRow, snapshot int64, sortMerge bool) (out []arrow.RecordBatch, err error) {
	if len(keep) == 0 {
		return nil, nil
	}
	// Decode per schema id, then conform every batch to the tail's schema.
	batches, refs, err := tl.decode(ctx, keep)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUndecodable, err)
	}
	defer releaseAll(batches)
	defer func() {
		if err != nil {
			releaseAll(out)
			out = nil
		}
	}()
	order := make([]int, len(keep))
	for i := range order {
		order[i] = i
	}
	if sortMerge {
		keys := make([][]byte, len(keep))
		if len(tl.keyIdx) > 0 {
			var buf []byte
			for i, ref := range refs {
				start := len(buf)
				for _, c := range tl.keyIdx {
					if buf, err = merge.AppendArrowKey(buf, batches[ref.Batch].Column(c), int(ref.Row)); err != nil {
						return nil, err
					}
				}
				keys[i] = buf[start:len(buf):len(buf)]
			}
		}
		sort.SliceStable(order, func(a, b int) bool {
			ra, rb := keep[order[a]], keep[order[b]]
			if c := comparePartition(ra.h.Partition, rb.h.Partition); c != 0 {
				return c < 0
			}
			if ra.kp != rb.kp {
				return ra.kp < rb.kp
			}
			if c := bytes.Compare(keys[order[a]], keys[order[b]]); c != 0 {
				return c < 0
			}
			return ra.h.Sequence < rb.h.Sequence
		})
		if len(tl.keyIdx) > 0 {
			order = tl.mergeKeys(order, keep, keys)
		}
	}
	for start := 0; start < len(order); start += tl.o.BatchSize {
		part := order[start:min(start+tl.o.BatchSize, len(order))]
		b, err := tl.build(ctx, batches, refs, keep, part, snapshot)
		if err != nil {
			return out, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// mergeKeys keeps, per key of a sorted run, what the writer's buffer merge keeps: the
// last record (deduplicate), the first (first-row), or all (partial-update, aggregation).
func (tl *Tail) mergeKeys(order []int, rows []logRow, keys [][]byte) []int {
	out := order[:0:0]
	same := func(a, b int) bool {
		return rows[a].kp == rows[b].kp && bytes.Equal(keys[a], keys[b]) && comparePartition(rows[a].h.Partition, rows[b].h.Partition) == 0
	}
	for i, idx := range order {
		switch tl.engine {
		case "partial-update", "aggregation":
			out = append(out, idx)
		case "first-row":
			if i == 0 || !same(order[i-1], idx) {
				out = append(out, idx)
			}
		default:
			if i+1 == len(order) || !same(order[i+1], idx) {
				out = append(out, idx)
			}
		}
	}
	return out
}

func comparePartition(a, b []byte) int {
	if isEmptyPartition(a) && isEmptyPartition(b) {
		return 0
	}
	return bytes.Compare(a, b)
}

// decode decodes rows into batches of the tail's schema; refs[i] locates rows[i].
func (tl *Tail) decode(ctx context.Context, rows []logRow) ([]arrow.RecordBatch, []merge.Ref, error) {
	type group struct {
		id   int64
		idx  []int
		dec  *RowDecoder
		flds []types.DataField
	}
	var groups []*group
	byID := map[int64]*group{}
	for i, r := range rows {
		g := byID[r.h.SchemaID]
		if g == nil {
			s, err := tl.schemaOf(ctx, r.h.SchemaID)
			if err != nil {
				return nil, nil, err
			}
			dec, err := tl.decoderOf(r.h.SchemaID, s)
			if err != nil {
				return nil, nil, err
			}
			g = &group{id: r.h.SchemaID, dec: dec, flds: s.Fields}
			byID[r.h.SchemaID] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	refs := make([]merge.Ref, len(rows))
	var batches []arrow.RecordBatch
	release := func() {
		for _, b := range batches {
			b.Release()
		}
	}
	for _, g := range groups {
		for _, i := range g.idx {
			if err := g.dec.Append(rows[i].h); err != nil {
				g.dec.Release()
				delete(tl.decoders, g.id)
				release()
				return nil, nil, err
			}
		}
		b := g.dec.NewBatch()
		if g.id != tl.schema.ID {
			cb, err := conformBatch(ctx, b, g.flds, tl.schema.Fields, tl.mem)
			b.Release()
			if err != nil {
				release()
				return nil, nil, err
			}
			b = cb
		}
		bi := int32(len(batches))
		batches = append(batches, b)
		for j, i := range g.idx {
			refs[i] = merge.Ref{Batch: bi, Row: int32(j)}
		}
	}
	return batches, refs, nil
}

func (tl *Tail) schemaOf(ctx context.Context, id int64) (*format.TableSchema, error) {
	if s := tl.schemas[id]; s != nil {
		return s, nil
	}
	s, err := tl.t.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	tl.schemas[id] = s
	return s, nil
}

func (tl *Tail) decoderOf(id int64, s *format.TableSchema) (*RowDecoder, error) {
	if d := tl.decoders[id]; d != nil {
		return d, nil
	}
	d, err := NewRowDecoder(s.Fields, tl.mem)
	if err != nil {
		return nil, err
	}
	tl.decoders[id] = d
	return d, nil
}

// conformBatch maps a batch of fields from to the fields to by field id: missing columns
// become nulls, changed types are cast.
func conformBatch(ctx context.Context, b arrow.RecordBatch, from, to []types.DataField, mem memory.Allocator) (arrow.RecordBatch, error) {
	schema, err := types.ArrowSchema(to)
	if err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, len(to))
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i, f := range to {
		j := slices.IndexFunc(from, func(g types.DataField) bool { return g.ID == f.ID })
		if j < 0 {
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, int(b.NumRows()))
			continue
		}
		c, err := datafile.Conform(ctx, b.Column(j), schema.Field(i).Type)
		if err != nil {
			release()
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, b.NumRows())
	release()
	return out, nil
}

var kindNames = [4]string{"+I", "-U", "+U", "-D"}

// build gathers the output columns of rows part (indexes into rows/refs).
func (tl *Tail) build(ctx context.Context, batches []arrow.RecordBatch, refs []merge.Ref, rows []logRow, part []int, snapshot int64) (arrow.RecordBatch, error) {
	sel := make([]merge.Ref, len(part))
	for i, idx := range part {
		sel[i] = refs[idx]
	}
	cols := make([]arrow.Array, 0, len(tl.outIdx)+2+len(tl.extraIdx))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, c := range tl.outIdx {
		a, err := merge.Gather(tl.mem, batches, c, sel)
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, a)
	}
	kb := array.NewStringBuilder(tl.mem)
	sb := array.NewInt64Builder(tl.mem)
	for _, idx := range part {
		kb.Append(kindNames[rows[idx].h.Kind&3])
		if snapshot >= 0 {
			sb.Append(snapshot)
		} else {
			sb.AppendNull()
		}
	}
	cols = append(cols, kb.NewArray(), sb.NewArray())
	kb.Release()
	sb.Release()
	for _, c := range tl.extraIdx {
		a, err := merge.Gather(tl.mem, batches, c, sel)
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, a)
	}
	schema := tl.out
	if tl.wide != nil {
		schema = tl.wide
	}
	out := array.NewRecordBatch(schema, cols, int64(len(part)))
	release()
	if tl.filter == nil {
		return out, nil
	}
	kept, err := tl.filter.Apply(ctx, out)
	out.Release()
	if err != nil {
		return nil, fmt.Errorf("logsystem: tail filter: %w", err)
	}
	if tl.wide == nil {
		return kept, nil
	}
	// Drop the filter's extra columns.
	n := len(tl.out.Fields())
	narrow := array.NewRecordBatch(tl.out, kept.Columns()[:n], kept.NumRows())
	kept.Release()
	return narrow, nil
}

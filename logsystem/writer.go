package logsystem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// ErrLogCommit is wrapped by Writer.Commit's error when the snapshot was committed but
// the log could not be completed (commit markers or the Kafka transaction failed). Some
// of the snapshot's records may have reached the topic (in eventual mode, without their
// markers), or none: hybrid readers take that snapshot from the table's files, never
// from such records. The writer is unusable after it; make a new one.
var ErrLogCommit = errors.New("snapshot committed, but its log records may be incomplete")

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Name is the table's "db.table", for the default topic name (default: from the
	// table's path).
	Name string
	// TransactionTimeout bounds a transactional commit, from its first record to the
	// snapshot commit (default 60s; the broker's transaction.max.timeout.ms caps it).
	TransactionTimeout time.Duration
}

// Writer writes a table's changes to its log topic next to the table.Writer that writes
// its files. Feed it through the table writer's hooks (WriterOptions), then commit with
// Writer.Commit instead of Table.Commit:
//
//	lw, _ := logsystem.NewWriter(ctx, t, cfg, logsystem.WriterOptions{})
//	tw, _ := t.NewWriter(ctx, lw.TableWriterOptions(table.WriterOptions{}))
//	tw.Write(ctx, batch) ...
//	msgs, _ := tw.PrepareCommit(ctx)
//	res, err := lw.Commit(ctx, table.Commit{User: u, Identifier: n, Messages: msgs})
//
// In transactional mode a commit's records are produced inside a Kafka transaction that is
// committed after the snapshot, together with a commit marker per partition naming the
// snapshot; in eventual mode they are visible at once and the markers follow the snapshot.
// Each snapshot's properties record the log offsets it covers (PropOffsets). A Writer is
// not safe for concurrent use; a table has one log writer at a time (in transactional
// mode a new writer fences the old one).
type Writer struct {
	t      *table.Table
	conn   Config
	cfg    TableConfig
	schema *format.TableSchema
	cl     *kgo.Client
	adm    *kadm.Client
	enc    *RowEncoder
	keyIdx []int

	committed Offsets // offsets covered by the last snapshot, every partition
	inTxn     bool
	counts    []int64 // rows produced per partition in the current commit
	slab      []byte

	mu       sync.Mutex
	next     map[int32]int64 // per partition: last offset produced in this commit + 1
	maxSeq   int64           // highest sequence number the log holds (every bucket); -1 for none
	asyncErr error
	broken   error
}

// NewWriter connects to the cluster, creates the table's topic if needed and restores
// the log state from the latest snapshot. In transactional mode it fences an older writer
// of the same transactional id, aborting its open transaction.
func NewWriter(ctx context.Context, t *table.Table, cfg Config, o WriterOptions) (*Writer, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = NameFromPath(t.Path())
	}
	tc, err := ParseTableConfig(schema, name)
	if err != nil {
		return nil, err
	}
	if !tc.Enabled {
		return nil, fmt.Errorf("logsystem: table %s has no log system (set %s = kafka)", name, OptionSystem)
	}
	opts, err := cfg.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(tc.Topic),
		kgo.MaxBufferedRecords(1<<20), kgo.ProducerBatchMaxBytes(1<<20))
	if tc.Consistency == Transactional {
		timeout := o.TransactionTimeout
		if timeout <= 0 {
			timeout = 60 * time.Second
		}
		opts = append(opts, kgo.TransactionalID(tc.TransactionalID), kgo.TransactionTimeout(timeout))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("logsystem: %w", err)
	}
	w := &Writer{
		t: t, conn: cfg, cfg: tc, schema: schema, cl: cl, adm: kadm.NewClient(cl),
		counts: make([]int64, tc.Partitions), next: map[int32]int64{}, maxSeq: -1,
	}
	if err := w.init(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) init(ctx context.Context) error {
	if err := EnsureTopic(ctx, w.adm, w.cfg); err != nil {
		return err
	}
	if w.cfg.Consistency == Transactional {
		// Fence an older writer now: its open transaction is aborted before we look at
		// the end offsets.
		if _, _, err := w.cl.ProducerID(ctx); err != nil {
			return fmt.Errorf("logsystem: init transactional producer %s: %w", w.cfg.TransactionalID, err)
		}
	}
	if len(w.schema.PrimaryKeys) > 0 {
		w.keyIdx = w.schema.FieldIndexes(w.schema.PrimaryKeys)
	}
	w.enc = NewRowEncoder(w.schema.Fields, w.schema.ID, w.keyIdx)
	latest, err := w.t.LatestSnapshot(ctx)
	if err != nil {
		return err
	}
	committed, from, _, err := EffectiveOffsets(ctx, w.t, latest)
	if err != nil {
		return err
	}
	if from > 0 {
		snap, err := w.t.Snapshot(ctx, from)
		if err != nil {
			return err
		}
		if w.maxSeq, err = SnapshotMaxSequence(snap); err != nil {
			return err
		}
	}
	ends, err := w.adm.ListEndOffsets(ctx, w.cfg.Topic)
	if err != nil {
		return fmt.Errorf("logsystem: end offsets of %s: %w", w.cfg.Topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("logsystem: end offsets of %s: %w", w.cfg.Topic, err)
	}
	w.committed = Offsets{}
	for p := int32(0); p < w.cfg.Partitions; p++ {
		end, ok := ends.Lookup(w.cfg.Topic, p)
		if !ok {
			return fmt.Errorf("logsystem: topic %s has no partition %d", w.cfg.Topic, p)
		}
		off, have := committed[p]
		switch {
		case !have:
			off = end.Offset
		case off > end.Offset:
			// The log lost records (a broker without persistence restarted): start over
			// at its end; readers of older snapshots fall back to the files.
			slog.Warn("log topic is shorter than the table's snapshots say; older snapshots will be read from files",
				"topic", w.cfg.Topic, "partition", p, "snapshot_offset", off, "end_offset", end.Offset)
			off = end.Offset
		}
		w.committed[p] = off
	}
	if w.cfg.Consistency == Eventual {
		return w.scanFloors(ctx, ends)
	}
	return nil
}

// scanFloors reads, in eventual mode, the records after the latest snapshot's offsets:
// a writer that died before its snapshot commit left them visible. New records must use
// higher sequence numbers so that readers, which drop records at or below a bucket's
// highest sequence number, keep them.
func (w *Writer) scanFloors(ctx context.Context, ends kadm.ListedOffsets) error {
	parts := map[int32]kgo.Offset{}
	want := map[int32]int64{}
	for p, off := range w.committed {
		if end, ok := ends.Lookup(w.cfg.Topic, p); ok && end.Offset > off {
			parts[p] = kgo.NewOffset().At(off)
			want[p] = end.Offset
		}
	}
	if len(parts) == 0 {
		return nil
	}
	cl, err := w.consumer(map[string]map[int32]kgo.Offset{w.cfg.Topic: parts}, false)
	if err != nil {
		return err
	}
	defer cl.Close()
	orphans := 0
	deadline := time.Now().Add(30 * time.Second)
	for len(want) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("logsystem: reading %s for sequence numbers took too long (partitions left: %v)", w.cfg.Topic, want)
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("logsystem: read %s for sequence numbers: %w", w.cfg.Topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			d, err := Decode(r.Value)
			if err != nil || d.Row == nil {
				return
			}
			orphans++
			w.maxSeq = max(w.maxSeq, d.Row.Sequence)
		})
	}
	if orphans > 0 {
		slog.Warn("log holds records of a commit that never completed; new records supersede them",
			"topic", w.cfg.Topic, "records", orphans)
	}
	return nil
}

// bucketKey names a bucket of a partition for sequence watermarks.
func bucketKey(partition []byte, kafkaPartition int32) string {
	if isEmptyPartition(partition) {
		partition = nil
	}
	return fmt.Sprintf("%d\x00%s", kafkaPartition, partition)
}

// consumer returns a client reading the given partitions of the table's topic.
func (w *Writer) consumer(parts map[string]map[int32]kgo.Offset, committed bool) (*kgo.Client, error) {
	return newConsumer(w.conn, parts, committed)
}

// Config is the table's log configuration.
func (w *Writer) Config() TableConfig { return w.cfg }

// TableWriterOptions returns o with the hooks that feed this writer: every buffered batch
// is produced to the topic, and every bucket's sequence numbers start above the highest
// the log holds, so that they grow in each bucket of the log across writers (a compaction
// that drops deleted keys can lower what the files hold).
func (w *Writer) TableWriterOptions(o table.WriterOptions) table.WriterOptions {
	o.OnAppend = w.Append
	o.SequenceFloor = w.sequenceFloor
	return o
}

func (w *Writer) sequenceFloor([]byte, int) int64 {
	return w.maxSeq + 1
}

func (w *Writer) kafkaPartition(bucket int) int32 {
	if bucket < 0 {
		return 0
	}
	return int32(bucket)
}

// Append produces the rows of a batch in table layout (the table's columns, then
// _SEQUENCE_NUMBER and _VALUE_KIND) for one bucket of one partition.
func (w *Writer) Append(ctx context.Context, partition []byte, bucket int, rec arrow.RecordBatch) error {
	if w.broken != nil {
		return w.broken
	}
	if err := w.err(); err != nil {
		return err
	}
	kp := w.kafkaPartition(bucket)
	if kp >= w.cfg.Partitions {
		return fmt.Errorf("logsystem: bucket %d but topic %s has %d partitions", bucket, w.cfg.Topic, w.cfg.Partitions)
	}
	if w.cfg.Consistency == Transactional && !w.inTxn {
		if err := w.cl.BeginTransaction(); err != nil {
			return fmt.Errorf("logsystem: begin transaction: %w", err)
		}
		w.inTxn = true
	}
	if err := w.enc.Reset(rec); err != nil {
		return err
	}
	n := int(rec.NumRows())
	// One slab per batch holds every key and value; records slice it.
	slab := w.slab[:0]
	type span struct{ k0, k1, v1 int }
	spans := make([]span, n)
	for i := 0; i < n; i++ {
		k0 := len(slab)
		slab = w.enc.Key(slab, i)
		k1 := len(slab)
		slab = w.enc.Value(slab, partition, i)
		spans[i] = span{k0, k1, len(slab)}
	}
	// The records keep the slab; the next batch gets a new one.
	w.slab = make([]byte, 0, cap(slab))
	var maxSeq int64 = -1
	for i, s := range spans {
		r := &kgo.Record{Topic: w.cfg.Topic, Partition: kp, Value: slab[s.k1:s.v1:s.v1]}
		if s.k1 > s.k0 {
			r.Key = slab[s.k0:s.k1:s.k1]
		}
		maxSeq = max(maxSeq, w.enc.Sequence(i))
		w.cl.Produce(ctx, r, w.produced)
	}
	w.counts[kp] += int64(n)
	w.maxSeq = max(w.maxSeq, maxSeq)
	return nil
}

func (w *Writer) produced(r *kgo.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.asyncErr == nil {
			w.asyncErr = fmt.Errorf("logsystem: produce to %s/%d: %w", r.Topic, r.Partition, err)
		}
		return
	}
	if r.Offset+1 > w.next[r.Partition] {
		w.next[r.Partition] = r.Offset + 1
	}
}

func (w *Writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.asyncErr
}

// Commit flushes the commit's records, commits the snapshot with the log offsets in its
// properties, then writes the commit markers and, in transactional mode, commits the Kafka
// transaction. A failed snapshot commit aborts the transaction (transactional) and returns
// the commit's error. An error wrapping ErrLogCommit means the snapshot is committed but
// its log is incomplete.
func (w *Writer) Commit(ctx context.Context, c table.Commit) (table.CommitResult, error) {
	if w.broken != nil {
		return table.CommitResult{}, w.broken
	}
	if err := w.cl.Flush(ctx); err != nil {
		w.abort(ctx)
		return table.CommitResult{}, fmt.Errorf("logsystem: flush: %w", err)
	}
	if err := w.err(); err != nil {
		w.abort(ctx)
		return table.CommitResult{}, err
	}
	offsets := w.committed.Clone()
	w.mu.Lock()
	for p, off := range w.next {
		offsets[p] = off
	}
	w.mu.Unlock()
	props := map[string]string{}
	for k, v := range c.Properties {
		props[k] = v
	}
	props[PropOffsets] = offsets.Marshal()
	if w.maxSeq >= 0 {
		props[PropMaxSequence] = strconv.FormatInt(w.maxSeq, 10)
	}
	c.Properties = props
	res, err := w.t.Commit(ctx, c)
	if err != nil || res.Skipped {
		w.abort(ctx)
		return res, err
	}
	if w.cfg.Consistency == Transactional && !w.inTxn {
		if err := w.cl.BeginTransaction(); err != nil {
			return res, w.fail(fmt.Errorf("logsystem: begin transaction: %w", err))
		}
		w.inTxn = true
	}
	for p := int32(0); p < w.cfg.Partitions; p++ {
		v := AppendMarker(nil, Marker{Snapshot: res.SnapshotID, Rows: w.counts[p], Partitions: w.cfg.Partitions})
		w.cl.Produce(ctx, &kgo.Record{Topic: w.cfg.Topic, Partition: p, Value: v}, w.produced)
	}
	if err := w.cl.Flush(ctx); err != nil {
		return res, w.fail(fmt.Errorf("logsystem: flush commit markers of snapshot %d: %w", res.SnapshotID, err))
	}
	if err := w.err(); err != nil {
		return res, w.fail(err)
	}
	if w.inTxn {
		if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return res, w.fail(fmt.Errorf("logsystem: commit transaction of snapshot %d: %w", res.SnapshotID, err))
		}
		w.inTxn = false
	}
	w.committed = offsets
	w.reset()
	return res, nil
}

func (w *Writer) fail(err error) error {
	w.broken = fmt.Errorf("%w: %w", ErrLogCommit, err)
	slog.Error("log incomplete for a committed snapshot; readers use the table's files for it", "topic", w.cfg.Topic, "err", err)
	return w.broken
}

func (w *Writer) reset() {
	for i := range w.counts {
		w.counts[i] = 0
	}
	w.mu.Lock()
	w.next = map[int32]int64{}
	w.asyncErr = nil
	w.mu.Unlock()
}

// Abort drops the current commit's records: in transactional mode its transaction is
// aborted and no reader sees them; in eventual mode they stay visible.
func (w *Writer) Abort(ctx context.Context) error {
	return w.abort(ctx)
}

func (w *Writer) abort(ctx context.Context) error {
	var err error
	if w.inTxn {
		if e := w.cl.AbortBufferedRecords(ctx); e != nil {
			err = e
		}
		if e := w.cl.EndTransaction(ctx, kgo.TryAbort); e != nil && err == nil {
			err = e
		}
		w.inTxn = false
	}
	w.reset()
	if err != nil {
		return fmt.Errorf("logsystem: abort transaction: %w", err)
	}
	return nil
}

// Close aborts an open transaction and disconnects.
func (w *Writer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.abort(ctx)
	w.cl.Close()
}

// Flush waits until every record produced so far is written (still uncommitted in
// transactional mode).
func (w *Writer) Flush(ctx context.Context) error {
	if err := w.cl.Flush(ctx); err != nil {
		return fmt.Errorf("logsystem: flush: %w", err)
	}
	return w.err()
}

// Offsets are the log offsets the last snapshot covers.
func (w *Writer) Offsets() Offsets { return w.committed.Clone() }

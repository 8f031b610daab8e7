package cdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/table"
)

// PropOffsets is the snapshot property holding the CDC offsets a snapshot's data was
// consumed up to: {"<topic>": {"<partition>": next offset}}. A restarted ingestion resumes
// there, not at Kafka's committed group offsets, so each message lands exactly once.
const PropOffsets = "tarn.cdc.offsets"

// Options configure Ingest.
type Options struct {
	// Source is the Kafka cluster of the CDC topic.
	Source logsystem.Config
	Topic  string
	Format Format
	// Catalog and Table name the table to write.
	Catalog *catalog.Catalog
	Table   catalog.Identifier
	// Create creates the table from the first message with rows when it does not exist:
	// columns and types from the message, primary key from the message's key. CreateOptions
	// are its table options (default bucket = 4).
	Create        bool
	CreateOptions map[string]string
	// CommitInterval is how often consumed messages are committed (default 1s).
	CommitInterval time.Duration
	// DeadLetterTopic receives messages that cannot be ingested (with headers tarn-error,
	// tarn-topic, tarn-partition, tarn-offset); without it they are counted and logged.
	DeadLetterTopic string
	// StopOnError stops ingestion at the first malformed message.
	StopOnError bool
	// Log, when set and the table has the log system on, writes the table's log topic too
	// (on that cluster).
	Log *logsystem.Config
	// AddColumns evolves the table's schema with new nullable columns found in messages
	// and returns the table with the new schema. Without it, values of unknown columns are
	// dropped and counted (Stats.UnknownColumns).
	AddColumns func(ctx context.Context, t *table.Table, cols []types.DataField) (*table.Table, error)
	// WidenColumns widens columns whose source type, as messages carry it (Debezium's
	// schema, Canal's mysqlType), is a lossless widening of the table's type (INT to BIGINT,
	// a DECIMAL of more digits, a finer TIMESTAMP, as Paimon's CDC schema evolution does), and
	// returns the table with the new schema. Narrower or other types are left alone: their
	// values must still fit the column.
	WidenColumns func(ctx context.Context, t *table.Table, cols []types.DataField) (*table.Table, error)
	// ExitAtEnd stops once every partition is consumed up to the end it had when ingestion
	// started, and committed.
	ExitAtEnd bool
	// User is the commit user (default tarn-cdc-<topic>).
	User string
	// Progress, if set, is called about every ProgressInterval (default 1s) and at the end.
	Progress         func(Stats)
	ProgressInterval time.Duration
}

// Stats count what an ingestion did.
type Stats struct {
	Messages     int64 // records consumed
	Rows         int64 // change rows written
	Inserts      int64
	Updates      int64 // update pairs (-U/+U) or lone +U
	Deletes      int64
	Tombstones   int64
	DDL          int64
	Skipped      int64 // messages without row changes (truncate, heartbeats, bootstrap markers)
	Malformed    int64
	DeadLettered int64
	Commits      int64
	Snapshot     int64 // the last snapshot committed
	// Lag is the number of messages not yet consumed, summed over partitions, and per
	// partition (from the last fetch's high watermarks).
	Lag            int64
	PartitionLag   map[int32]int64
	UnknownColumns map[string]int64
	Elapsed        time.Duration
}

// Ingest consumes a CDC topic into a table until ctx ends (or, with ExitAtEnd, until the
// topic's end), committing every CommitInterval.
func Ingest(ctx context.Context, o Options) (Stats, error) {
	in, err := newIngestion(ctx, o)
	if err != nil {
		return Stats{}, err
	}
	defer in.close()
	err = in.run(ctx)
	in.stats.Elapsed = time.Since(in.start)
	if o.Progress != nil {
		o.Progress(in.snapshotStats())
	}
	return in.snapshotStats(), err
}

type ingestion struct {
	o      Options
	start  time.Time
	tbl    *table.Table
	schema *format.TableSchema
	// evo is the per-column state of the schema-evolution check, reset when the schema
	// changes.
	evo    evolveState
	dec    *Decoder
	bt     *Batcher
	tw     *table.Writer
	lw     *logsystem.Writer
	cl     *kgo.Client
	dlq    *kgo.Client
	ident  int64
	next   map[int32]int64 // next offset per partition (consumed)
	done   map[int32]int64 // next offset per partition (committed)
	ends   map[int32]int64 // ExitAtEnd targets
	hw     map[int32]int64
	last   time.Time // when the last record arrived
	dirty  bool
	warned map[string]bool

	// The writer goroutine writes batches and commits while the caller's goroutine
	// fetches and decodes the next messages.
	jobs    chan job
	pending sync.WaitGroup
	wdone   chan struct{}

	mu       sync.Mutex
	stats    Stats
	dlqErr   error
	dlqCount int64
	werr     error
}

// job is work for the writer goroutine: a batch to write and/or a commit of everything
// written so far with the offsets consumed up to it.
type job struct {
	batch   arrow.RecordBatch
	commit  bool
	offsets map[int32]int64
	done    chan error
}

func newIngestion(ctx context.Context, o Options) (*ingestion, error) {
	if o.Topic == "" || o.Catalog == nil {
		return nil, errors.New("cdc: a topic and a table are required")
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = time.Second
	}
	if o.User == "" {
		o.User = "tarn-cdc-" + o.Topic
	}
	in := &ingestion{o: o, start: time.Now(), dec: NewDecoder(o.Format), next: map[int32]int64{}, done: map[int32]int64{},
		hw: map[int32]int64{}, warned: map[string]bool{}}
	in.stats.PartitionLag = map[int32]int64{}
	opts, err := o.Source.Opts()
	if err != nil {
		return nil, err
	}
	admCl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cdc: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, o.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("cdc: topic %s: %w", o.Topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, o.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("cdc: topic %s: %w", o.Topic, err)
	}
	in.tbl, err = o.Catalog.LoadTable(ctx, o.Table)
	if errors.Is(err, catalog.ErrNotFound) && o.Create {
		in.tbl, err = in.create(ctx, starts)
	}
	if err != nil {
		return nil, err
	}
	resume, err := in.restore(ctx)
	if err != nil {
		return nil, err
	}
	parts := map[int32]kgo.Offset{}
	in.ends = map[int32]int64{}
	starts.Each(func(s kadm.ListedOffset) {
		off, ok := resume[s.Partition]
		switch {
		case !ok:
			off = s.Offset
		case off < s.Offset:
			slog.Warn("CDC messages expired before they were ingested (topic retention)", "topic", o.Topic, "partition", s.Partition,
				"resume_offset", off, "earliest_offset", s.Offset, "lost", s.Offset-off)
			off = s.Offset
		}
		parts[s.Partition] = kgo.NewOffset().At(off)
		in.next[s.Partition], in.done[s.Partition] = off, off
	})
	ends.Each(func(e kadm.ListedOffset) { in.ends[e.Partition] = e.Offset })
	copts := append(slices.Clone(opts), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond), kgo.FetchMaxBytes(64<<20))
	if in.cl, err = kgo.NewClient(copts...); err != nil {
		return nil, fmt.Errorf("cdc: %w", err)
	}
	if o.DeadLetterTopic != "" {
		if in.dlq, err = kgo.NewClient(append(slices.Clone(opts), kgo.DefaultProduceTopic(o.DeadLetterTopic))...); err != nil {
			in.close()
			return nil, fmt.Errorf("cdc: %w", err)
		}
		if _, err := kadm.NewClient(in.dlq).CreateTopic(ctx, 1, -1, nil, o.DeadLetterTopic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			in.close()
			return nil, fmt.Errorf("cdc: dead-letter topic %s: %w", o.DeadLetterTopic, err)
		}
	}
	if err := in.openWriter(ctx); err != nil {
		in.close()
		return nil, err
	}
	in.jobs, in.wdone = make(chan job, 2), make(chan struct{})
	go in.writer(context.WithoutCancel(ctx))
	return in, nil
}

// writer runs jobs until the jobs channel closes.
func (in *ingestion) writer(ctx context.Context) {
	defer close(in.wdone)
	for j := range in.jobs {
		var err error
		if in.writeErr() == nil {
			if j.batch != nil {
				err = in.tw.Write(ctx, j.batch)
			}
			if err == nil && j.commit {
				err = in.doCommit(ctx, j.offsets)
			}
		}
		if j.batch != nil {
			j.batch.Release()
		}
		if err != nil {
			in.mu.Lock()
			if in.werr == nil {
				in.werr = err
			}
			in.mu.Unlock()
		}
		if j.done != nil {
			j.done <- in.writeErr()
		}
		in.pending.Done()
	}
}

func (in *ingestion) writeErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.werr
}

func (in *ingestion) submit(j job) {
	in.pending.Add(1)
	in.jobs <- j
}

// restore reads the offsets and the commit identifier of the last snapshot this
// ingestion committed (walking back over other commits, e.g. compactions).
func (in *ingestion) restore(ctx context.Context) (map[int32]int64, error) {
	snap, err := in.tbl.LatestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	var resume map[int32]int64
	foundIdent := false
	for s := snap; s != nil; {
		if s.CommitUser == in.o.User && !foundIdent {
			in.ident, foundIdent = s.CommitIdentifier, true
		}
		if resume == nil && s.Properties != nil {
			if v, ok := s.Properties.Get(PropOffsets); ok {
				var all map[string]map[string]int64
				if err := json.Unmarshal([]byte(v), &all); err != nil {
					return nil, fmt.Errorf("cdc: snapshot %d: %s: %w", s.ID, PropOffsets, err)
				}
				if m, ok := all[in.o.Topic]; ok {
					resume = map[int32]int64{}
					for p, off := range m {
						n, err := strconv.ParseInt(p, 10, 32)
						if err != nil {
							return nil, fmt.Errorf("cdc: snapshot %d: %s: partition %q", s.ID, PropOffsets, p)
						}
						resume[int32(n)] = off
					}
				}
			}
		}
		if resume != nil && foundIdent || s.ID <= 1 {
			break
		}
		prev, err := in.tbl.Snapshot(ctx, s.ID-1)
		if errors.Is(err, table.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		s = prev
	}
	return resume, nil
}

// create makes the table from the first message with rows.
func (in *ingestion) create(ctx context.Context, starts kadm.ListedOffsets) (*table.Table, error) {
	parts := map[int32]kgo.Offset{}
	starts.Each(func(s kadm.ListedOffset) { parts[s.Partition] = kgo.NewOffset().At(s.Offset) })
	opts, _ := in.o.Source.Opts()
	cl, err := kgo.NewClient(append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in.o.Topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return nil, fmt.Errorf("cdc: %w", err)
	}
	defer cl.Close()
	dec := NewDecoder(in.o.Format)
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cdc: waiting for a first message to create table %s from: %w", in.o.Table, err)
		}
		// The first message with rows and column types decides; failing that, the first
		// with rows (types then follow its values).
		var spec *catalog.TableSpec
		var specErr error
		typed := false
		fs.EachRecord(func(r *kgo.Record) {
			if typed || specErr != nil {
				return
			}
			m, err := dec.Decode(r.Key, r.Value)
			if err != nil || len(m.Rows) == 0 || (spec != nil && len(m.Columns) == 0) {
				return
			}
			spec, specErr = in.specFrom(m)
			typed = len(m.Columns) > 0
		})
		if specErr != nil {
			return nil, specErr
		}
		if spec != nil {
			t, err := in.o.Catalog.CreateTable(ctx, in.o.Table, *spec, true)
			if err != nil {
				return nil, err
			}
			slog.Info("table created from the CDC topic", "table", in.o.Table, "columns", len(spec.Fields), "primary_key", spec.PrimaryKeys)
			return t, nil
		}
	}
}

func (in *ingestion) specFrom(m *Message) (*catalog.TableSpec, error) {
	if len(m.PrimaryKeys) == 0 {
		return nil, fmt.Errorf("cdc: cannot create table %s: the messages name no primary key (create the table first)", in.o.Table)
	}
	var names []string
	if len(m.Columns) > 0 {
		names = m.Columns
	} else {
		m.Rows[len(m.Rows)-1].Values.Each(func(name string, _ Value) { names = append(names, name) })
	}
	spec := &catalog.TableSpec{PrimaryKeys: slices.Clone(m.PrimaryKeys), Options: map[string]string{"bucket": "4"}}
	maps.Copy(spec.Options, in.o.CreateOptions)
	for i, n := range names {
		t := PaimonType(m.Types[n], m.Rows[len(m.Rows)-1].Values.Get(n))
		spec.Fields = append(spec.Fields, types.DataField{ID: i, Name: n, Type: t})
	}
	return spec, nil
}

func (in *ingestion) openWriter(ctx context.Context) error {
	var err error
	in.evo = evolveState{} // its column indexes are the schema's
	if in.schema, err = in.tbl.LatestSchema(ctx); err != nil {
		return err
	}
	if len(in.schema.PrimaryKeys) == 0 {
		return fmt.Errorf("cdc: table %s has no primary key; CDC needs one", in.o.Table)
	}
	if in.bt != nil {
		in.bt.Release()
	}
	if in.bt, err = NewBatcher(in.schema.Fields, nil); err != nil {
		return err
	}
	wo := table.WriterOptions{}
	if in.o.Log != nil {
		tc, err := logsystem.ParseTableConfig(in.schema, in.o.Table.String())
		if err != nil {
			return err
		}
		if tc.Enabled {
			if in.lw, err = logsystem.NewWriter(ctx, in.tbl, *in.o.Log, logsystem.WriterOptions{Name: in.o.Table.String()}); err != nil {
				return err
			}
			wo = in.lw.TableWriterOptions(wo)
		}
	}
	in.tw, err = in.tbl.NewWriter(ctx, wo)
	return err
}

func (in *ingestion) close() {
	if in.jobs != nil {
		close(in.jobs)
		<-in.wdone
		in.jobs = nil
	}
	if in.tw != nil {
		in.tw.Close()
	}
	if in.lw != nil {
		in.lw.Close()
	}
	if in.bt != nil {
		in.bt.Release()
	}
	if in.cl != nil {
		in.cl.Close()
	}
	if in.dlq != nil {
		in.dlq.Close()
	}
}

func (in *ingestion) snapshotStats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.stats
	s.DeadLettered = in.dlqCount
	s.PartitionLag = maps.Clone(in.stats.PartitionLag)
	s.UnknownColumns = maps.Clone(in.bt.Unknown)
	return s
}

func (in *ingestion) run(ctx context.Context) error {
	lastCommit, lastProgress := time.Now(), time.Now()
	for {
		wait := time.Until(lastCommit.Add(in.o.CommitInterval))
		if wait > 0 {
			pctx, cancel := context.WithTimeout(ctx, wait)
			fs := in.cl.PollFetches(pctx)
			cancel()
			if err := in.handle(ctx, fs); err != nil {
				return err
			}
		}
		if err := in.writeErr(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			// Commit what was consumed before stopping.
			return in.commit(context.WithoutCancel(ctx), true)
		}
		if time.Since(lastCommit) >= in.o.CommitInterval {
			if err := in.commit(ctx, false); err != nil {
				return err
			}
			lastCommit = time.Now()
		}
		if in.o.Progress != nil && time.Since(lastProgress) >= in.o.ProgressInterval {
			lastProgress = time.Now()
			in.mu.Lock()
			in.stats.Elapsed = time.Since(in.start)
			in.mu.Unlock()
			in.o.Progress(in.snapshotStats())
		}
		if in.o.ExitAtEnd && in.atEnd() {
			return in.commit(ctx, true)
		}
	}
}

func (in *ingestion) atEnd() bool {
	if in.dirty {
		return false
	}
	for p, end := range in.ends {
		if in.next[p] < end {
			// Transaction markers hold offsets no record reaches: a partition that has
			// been quiet for a while is at its end too.
			return time.Since(in.last) > 3*time.Second && time.Since(in.start) > 3*time.Second
		}
	}
	return true
}

// handle processes fetched records.
func (in *ingestion) handle(ctx context.Context, fs kgo.Fetches) error {
	var ferr error
	fs.EachError(func(_ string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if ferr == nil {
			ferr = fmt.Errorf("cdc: fetch %s/%d: %w", in.o.Topic, p, err)
		}
	})
	if ferr != nil {
		slog.Warn("CDC fetch error; retrying", "err", ferr)
	}
	var err error
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		for _, r := range p.Records {
			if err != nil {
				return
			}
			err = in.record(ctx, r)
		}
		if p.HighWatermark >= 0 {
			in.hw[p.Partition] = p.HighWatermark
		}
	})
	in.mu.Lock()
	var lag int64
	for p, hw := range in.hw {
		l := max(hw-in.next[p], 0)
		in.stats.PartitionLag[p] = l
		lag += l
	}
	in.stats.Lag = lag
	in.mu.Unlock()
	if err != nil {
		return err
	}
	if in.bt.Rows() >= 8192 {
		return in.flushBatch(ctx)
	}
	return nil
}

func (in *ingestion) record(ctx context.Context, r *kgo.Record) error {
	in.last = time.Now()
	in.mu.Lock()
	in.stats.Messages++
	in.mu.Unlock()
	m, err := in.dec.Decode(r.Key, r.Value)
	if err == nil && (in.o.AddColumns != nil || in.o.WidenColumns != nil) && len(m.Rows) > 0 {
		// Columns are added before the message counts as consumed: the commit that
		// precedes the schema change must not cover it.
		if err := in.evolve(ctx, m); err != nil {
			return err
		}
	}
	in.next[r.Partition] = r.Offset + 1
	in.dirty = true
	if err != nil {
		return in.bad(ctx, r, err)
	}
	count := func(f *int64) {
		in.mu.Lock()
		*f++
		in.mu.Unlock()
	}
	switch {
	case m.Tombstone:
		count(&in.stats.Tombstones)
		return nil
	case m.DDL != "":
		count(&in.stats.DDL)
		slog.Info("CDC schema change message; new columns are added when rows carry them", "topic", in.o.Topic, "partition", r.Partition, "offset", r.Offset, "ddl", m.DDL)
		return nil
	case m.Skipped != "":
		count(&in.stats.Skipped)
		return nil
	}
	if err := in.bt.Append(m); err != nil {
		return in.bad(ctx, r, err)
	}
	for name := range in.bt.Unknown {
		if !in.warned[name] {
			in.warned[name] = true
			slog.Warn("CDC messages carry a column the table lacks; its values are dropped (no schema evolution configured)", "table", in.o.Table, "column", name)
		}
	}
	in.mu.Lock()
	for _, row := range m.Rows {
		in.stats.Rows++
		switch row.Kind {
		case datafile.KindInsert:
			in.stats.Inserts++
		case datafile.KindUpdateAfter:
			in.stats.Updates++
		case datafile.KindDelete:
			in.stats.Deletes++
		}
	}
	in.mu.Unlock()
	return nil
}

// evolveState is what evolve keeps between messages, per column of the table's schema:
// the index of each column by name, which columns a message already named (seen[i] ==
// epoch), and the last source type seen with the wider type it asks for.
type evolveState struct {
	index map[string]int
	seen  []uint64
	epoch uint64
	last  []widerType
}

type widerType struct {
	source SourceType
	typ    types.DataType
	ok     bool // typ is a lossless widening of the column's type
	valid  bool
}

// reset prepares the state for a schema.
func (e *evolveState) reset(fields []types.DataField) {
	e.index = make(map[string]int, len(fields))
	for i, f := range fields {
		e.index[f.Name] = i
	}
	e.seen = make([]uint64, len(fields))
	e.last = make([]widerType, len(fields))
}

// wider returns the type column i (of type cur) takes for values of source type st: a
// lossless widening of cur, or ok false.
func (e *evolveState) wider(i int, st SourceType, sample Value, cur types.DataType) (types.DataType, bool) {
	if w := &e.last[i]; w.valid && w.source == st {
		return w.typ, w.ok
	}
	want := PaimonType(st, sample).WithNullable(cur.Nullable)
	e.last[i] = widerType{source: st, typ: want, ok: !want.Equal(cur) && types.LosslessCast(cur, want), valid: true}
	return e.last[i].typ, e.last[i].ok
}

// evolve changes the table's schema for a message: columns it carries that the table lacks
// are added (AddColumns), columns whose source type widened are widened (WidenColumns).
func (in *ingestion) evolve(ctx context.Context, m *Message) error {
	var add, widen []types.DataField
	e := &in.evo
	if e.index == nil {
		e.reset(in.schema.Fields)
	}
	e.epoch++
	consider := func(name string, sample Value) {
		i, known := e.index[name]
		if !known {
			if in.o.AddColumns != nil && !slices.ContainsFunc(add, func(f types.DataField) bool { return f.Name == name }) {
				add = append(add, types.DataField{ID: -1, Name: name, Type: PaimonType(m.Types[name], sample).WithNullable(true)})
			}
			return
		}
		if e.seen[i] == e.epoch {
			return
		}
		e.seen[i] = e.epoch
		if in.o.WidenColumns == nil {
			return
		}
		st, typed := m.Types[name]
		if !typed {
			return
		}
		if w, ok := e.wider(i, st, sample, in.schema.Fields[i].Type); ok {
			widen = append(widen, types.DataField{ID: in.schema.Fields[i].ID, Name: name, Type: w})
		}
	}
	for _, r := range m.Rows {
		r.Values.Each(consider)
	}
	if len(add) == 0 && len(widen) == 0 {
		return nil
	}
	// The rows so far were written with the old schema: commit them first.
	if err := in.commit(ctx, true); err != nil {
		return err
	}
	in.pending.Wait()
	if len(add) > 0 {
		t, err := in.o.AddColumns(ctx, in.tbl, add)
		if err != nil {
			return fmt.Errorf("cdc: add columns to %s: %w", in.o.Table, err)
		}
		in.tbl = t
	}
	if len(widen) > 0 {
		t, err := in.o.WidenColumns(ctx, in.tbl, widen)
		if err != nil {
			return fmt.Errorf("cdc: widen columns of %s: %w", in.o.Table, err)
		}
		in.tbl = t
	}
	in.tw.Close()
	if in.lw != nil {
		in.lw.Close()
		in.lw = nil
	}
	slog.Info("CDC evolved the table's schema", "table", in.o.Table, "added", len(add), "widened", len(widen))
	return in.openWriter(ctx)
}

// bad handles a message that cannot be ingested.
func (in *ingestion) bad(ctx context.Context, r *kgo.Record, cause error) error {
	in.mu.Lock()
	in.stats.Malformed++
	n := in.stats.Malformed
	in.mu.Unlock()
	if in.o.StopOnError {
		return fmt.Errorf("cdc: %s/%d offset %d: %w", r.Topic, r.Partition, r.Offset, cause)
	}
	if in.dlq != nil {
		dl := &kgo.Record{Key: r.Key, Value: r.Value, Headers: []kgo.RecordHeader{
			{Key: "tarn-error", Value: []byte(cause.Error())},
			{Key: "tarn-topic", Value: []byte(r.Topic)},
			{Key: "tarn-partition", Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			{Key: "tarn-offset", Value: strconv.AppendInt(nil, r.Offset, 10)},
		}}
		in.dlq.Produce(ctx, dl, func(_ *kgo.Record, err error) {
			in.mu.Lock()
			defer in.mu.Unlock()
			if err != nil {
				if in.dlqErr == nil {
					in.dlqErr = err
				}
				return
			}
			in.dlqCount++
		})
		return nil
	}
	if n <= 10 || n%1000 == 0 {
		slog.Warn("malformed CDC message skipped (counted; no dead-letter topic)", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "malformed_so_far", n, "err", cause)
	}
	return nil
}

// flushBatch hands the rows converted so far to the writer goroutine.
func (in *ingestion) flushBatch(context.Context) error {
	if b := in.bt.NewBatch(); b != nil {
		in.submit(job{batch: b})
	}
	return in.writeErr()
}

// commit has everything consumed since the last commit committed, with the offsets, as
// one snapshot, by the writer goroutine; with wait it waits for the commit.
func (in *ingestion) commit(ctx context.Context, wait bool) error {
	if !in.dirty {
		if wait {
			in.pending.Wait()
		}
		return in.writeErr()
	}
	j := job{batch: in.bt.NewBatch(), commit: true, offsets: maps.Clone(in.next)}
	if wait {
		j.done = make(chan error, 1)
	}
	in.submit(j)
	in.dirty = false
	if wait {
		return <-j.done
	}
	return in.writeErr()
}

// doCommit runs in the writer goroutine. Dead letters are flushed first so that no
// message is lost between the two.
func (in *ingestion) doCommit(ctx context.Context, next map[int32]int64) error {
	if in.dlq != nil {
		if err := in.dlq.Flush(ctx); err != nil {
			return fmt.Errorf("cdc: dead-letter topic: %w", err)
		}
		in.mu.Lock()
		err := in.dlqErr
		in.mu.Unlock()
		if err != nil {
			return fmt.Errorf("cdc: dead-letter topic %s: %w", in.o.DeadLetterTopic, err)
		}
	}
	msgs, err := in.tw.PrepareCommit(ctx)
	if err != nil {
		return err
	}
	offs := map[string]map[string]int64{in.o.Topic: {}}
	for p, off := range next {
		offs[in.o.Topic][strconv.Itoa(int(p))] = off
	}
	raw, _ := json.Marshal(offs)
	in.ident++
	c := table.Commit{User: in.o.User, Identifier: in.ident, Messages: msgs, SchemaID: in.schema.ID, CheckSchema: true,
		Properties: map[string]string{PropOffsets: string(raw)}}
	var res table.CommitResult
	if in.lw != nil {
		res, err = in.lw.Commit(ctx, c)
	} else {
		res, err = in.tbl.Commit(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("cdc: commit: %w", err)
	}
	in.mu.Lock()
	maps.Copy(in.done, next)
	in.stats.Commits++
	in.stats.Snapshot = res.SnapshotID
	in.mu.Unlock()
	return nil
}

// CatalogWidenColumns is an Options.WidenColumns that changes the columns' types through
// the catalog (an UpdateColumnType each, in one schema change) and loads the table again.
func CatalogWidenColumns(cat *catalog.Catalog, id catalog.Identifier) func(context.Context, *table.Table, []types.DataField) (*table.Table, error) {
	return func(ctx context.Context, _ *table.Table, cols []types.DataField) (*table.Table, error) {
		changes := make([]catalog.SchemaChange, len(cols))
		for i, c := range cols {
			changes[i] = catalog.UpdateColumnType{Path: []string{c.Name}, Type: c.Type}
		}
		if _, err := cat.AlterTable(ctx, id, changes); err != nil {
			return nil, err
		}
		return cat.LoadTable(ctx, id)
	}
}

// CatalogAddColumns is an Options.AddColumns that adds the columns, nullable, to the
// table's schema through the catalog (one new schema-N per call) and reloads the table.
func CatalogAddColumns(cat *catalog.Catalog, id catalog.Identifier) func(context.Context, *table.Table, []types.DataField) (*table.Table, error) {
	return func(ctx context.Context, _ *table.Table, cols []types.DataField) (*table.Table, error) {
		changes := make([]catalog.SchemaChange, len(cols))
		for i, c := range cols {
			typ := c.Type
			typ.Nullable = true
			changes[i] = catalog.AddColumn{Path: []string{c.Name}, Type: typ, Comment: c.Description}
		}
		if _, err := cat.AlterTable(ctx, id, changes); err != nil {
			return nil, err
		}
		return cat.LoadTable(ctx, id)
	}
}

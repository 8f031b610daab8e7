package logsystem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tarnlake/tarn/table"
)

// EmbeddedBootstrap is the Bootstrap value that starts an embedded broker.
const EmbeddedBootstrap = "embedded"

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// Bootstrap is EmbeddedBootstrap (an in-process broker) or a comma-separated broker list; Conn
	// completes it (SASL, TLS) for an external cluster.
	Bootstrap string
	Conn      Config
	// EmbeddedAddr is where the embedded broker listens (default 127.0.0.1:9092; when
	// that port is taken, a free port).
	EmbeddedAddr string
	// EmbeddedDataDir, when set, keeps the embedded broker's log there across restarts;
	// without it the log lives in memory, and after a restart tails read the snapshots
	// it held from the table's files.
	EmbeddedDataDir string
	Logger          *slog.Logger
}

// Service is a server's log system: its Kafka cluster (an embedded broker or an external
// one), one log writer per table that write sessions take turns on (WriteLog), and
// hybrid tails (Follow). Tables without tarn.log.system = kafka are written and tailed
// through their files alone.
type Service struct {
	conn     Config
	embedded *Embedded
	log      *slog.Logger

	mu     sync.Mutex
	tables map[string]*tableLog
	closed bool
}

// tableLog is one table's log writer. sem lets one write session at a time use it.
type tableLog struct {
	sem chan struct{}
	w   *Writer // nil until needed, and after an error
}

// NewService connects to the cluster (or starts the embedded broker) and checks that it
// answers.
func NewService(ctx context.Context, o ServiceOptions) (*Service, error) {
	s := &Service{log: o.Logger, tables: map[string]*tableLog{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	switch o.Bootstrap {
	case "":
		return nil, errors.New("logsystem: no Kafka bootstrap servers (give host:port,... or embedded)")
	case EmbeddedBootstrap:
		addr := o.EmbeddedAddr
		if addr == "" {
			addr = "127.0.0.1:9092"
		}
		e, err := StartEmbeddedWith(ctx, EmbeddedOptions{Addr: addr, DataDir: o.EmbeddedDataDir})
		if err != nil && o.EmbeddedAddr == "" {
			// The default port is taken (a Kafka broker already runs here?): any port will do.
			s.log.Warn("embedded Kafka broker: port 9092 is taken; listening on a free port", "err", err)
			e, err = StartEmbeddedWith(ctx, EmbeddedOptions{Addr: "127.0.0.1:0", DataDir: o.EmbeddedDataDir})
		}
		if err != nil {
			return nil, fmt.Errorf("logsystem: embedded broker on %s: %w", addr, err)
		}
		s.embedded = e
		s.conn = o.Conn
		s.conn.Brokers = []string{e.Addr()}
	default:
		s.conn = o.Conn
		s.conn.Brokers = ParseBrokers(o.Bootstrap)
	}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ping checks that the cluster answers a metadata request.
func (s *Service) ping(ctx context.Context) error {
	opts, err := s.conn.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("logsystem: %w", err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).BrokerMetadata(pctx); err != nil {
		return fmt.Errorf("logsystem: Kafka brokers %v do not answer (check --kafka, or use --kafka embedded): %w", s.conn.Brokers, err)
	}
	return nil
}

// Conn is how to reach the cluster.
func (s *Service) Conn() Config { return s.conn }

// EmbeddedAddr is the embedded broker's address ("" for an external cluster).
func (s *Service) EmbeddedAddr() string {
	if s.embedded == nil {
		return ""
	}
	return s.embedded.Addr()
}

// logEnabled reports whether t has the log system on.
func logEnabled(ctx context.Context, t *table.Table) (bool, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return false, err
	}
	tc, err := ParseTableConfig(schema, NameFromPath(t.Path()))
	if err != nil {
		return false, err
	}
	return tc.Enabled, nil
}

// WriteLog opens t's log for one write session: the session has the table's log writer
// to itself until Release (other sessions of the same table wait, as long as their ctx
// lets them). It returns nil for a table without the log system.
func (s *Service) WriteLog(ctx context.Context, t *table.Table) (table.WriteLog, error) {
	on, err := logEnabled(ctx, t)
	if err != nil || !on {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("logsystem: the log system is shutting down")
	}
	tl := s.tables[t.Path()]
	if tl == nil {
		tl = &tableLog{sem: make(chan struct{}, 1)}
		s.tables[t.Path()] = tl
	}
	s.mu.Unlock()
	select {
	case tl.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("logsystem: waiting for the log writer of %s: %w", NameFromPath(t.Path()), ctx.Err())
	}
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		<-tl.sem
		return nil, err
	}
	if tl.w != nil && (tl.w.broken != nil || tl.w.schema.ID != schema.ID || tl.w.t.Path() != t.Path()) {
		tl.w.Close()
		tl.w = nil
	}
	if tl.w == nil {
		w, err := NewWriter(ctx, t, s.conn, WriterOptions{})
		if err != nil {
			<-tl.sem
			return nil, err
		}
		tl.w = w
	}
	return &writeSession{tl: tl, w: tl.w}, nil
}

// writeSession is a WriteLog holding its table's log writer.
type writeSession struct {
	tl       *tableLog
	w        *Writer
	released bool
}

func (ws *writeSession) WriterOptions(o table.WriterOptions) table.WriterOptions {
	return ws.w.TableWriterOptions(o)
}

func (ws *writeSession) Commit(ctx context.Context, c table.Commit) (table.CommitResult, error) {
	res, err := ws.w.Commit(ctx, c)
	if err != nil {
		// The writer restores its state from the table next time.
		ws.w.Close()
		ws.tl.w = nil
	}
	return res, err
}

func (ws *writeSession) Release() {
	if ws.released {
		return
	}
	ws.released = true
	if ws.tl.w == ws.w {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := ws.w.Abort(ctx); err != nil {
			ws.w.Close()
			ws.tl.w = nil
		}
		cancel()
	}
	<-ws.tl.sem
}

// Follow starts a tail of t: the hybrid tail (files, then the log) for a table with the
// log system, else Table.Follow.
func (s *Service) Follow(ctx context.Context, t *table.Table, fo table.FollowOptions) (table.ChangeFeed, error) {
	on, err := logEnabled(ctx, t)
	if err != nil {
		return nil, err
	}
	if !on {
		return t.Follow(ctx, fo)
	}
	tl, err := NewTail(ctx, t, s.conn, TailOptions{
		Follow: &fo, Columns: fo.Columns, PollInterval: fo.PollInterval, Heartbeat: fo.Heartbeat,
		BatchSize: fo.BatchSize, Mem: fo.Mem,
	})
	if err != nil {
		return nil, err
	}
	return tl.Feed(), nil
}

// Close closes the table writers and stops the embedded broker.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	tables := s.tables
	s.tables = map[string]*tableLog{}
	s.mu.Unlock()
	for _, tl := range tables {
		select {
		case tl.sem <- struct{}{}: // no session holds it
			if tl.w != nil {
				tl.w.Close()
			}
		case <-time.After(10 * time.Second):
			s.log.Warn("log system: a write session outlived shutdown")
		}
	}
	if s.embedded != nil {
		s.embedded.Close()
	}
	return nil
}

// Feed returns the tail as a table.ChangeFeed.
func (tl *Tail) Feed() table.ChangeFeed { return feed{tl} }

type feed struct{ tl *Tail }

func (f feed) Schema() *arrow.Schema    { return f.tl.Schema() }
func (f feed) Position() table.Position { return f.tl.Position() }
func (f feed) Close() error             { f.tl.Close(); return nil }
func (f feed) Next(ctx context.Context) (table.FollowBatch, error) {
	b, err := f.tl.Next(ctx)
	return table.FollowBatch{Record: b.Record, Position: b.Position}, err
}

// Stats returns what the tail did so far.
func (f feed) Stats() TailStats { return f.tl.Stats() }

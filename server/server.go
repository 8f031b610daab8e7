// Package server runs Tarn: it loads the configuration, opens the warehouse, serves the
// HTTP API (api/rest) and, when one is built in, the Arrow Flight service, wires the
// optional log system and compactor, and shuts down gracefully, letting commits in
// progress finish.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tarnlake/tarn/api/rest"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// FlightService is an Arrow Flight server the Server runs. Serve serves on the listener
// (already wrapped in TLS, with ALPN "h2", when TLS is configured) until Stop; Stop stops
// it gracefully, letting streams in progress finish.
type FlightService interface {
	Serve(net.Listener) error
	Stop()
}

// Deps are what the server hands to the services it wires in.
type Deps struct {
	Config  *Config
	Catalog *catalog.Catalog
	// Gate tracks commits: a service that commits calls Gate.Begin first and runs the
	// commit under the context it returns, so that shutdown waits for it.
	Gate   *CommitGate
	Logger *slog.Logger
	// CompactionBudget is the background compaction's budget, for writers that compact
	// (table.WriterOptions.CompactionBudget); nil when compaction is off.
	CompactionBudget table.Budget
	// Log is the log system; nil when it is off.
	Log LogSystem
}

// FlightFactory builds the Flight service.
type FlightFactory func(ctx context.Context, d Deps) (FlightService, error)

// LogSystem is the log system (Kafka, package logsystem): the log that row ingestion
// writes beside a table's files, and the tails that read it.
type LogSystem interface {
	io.Closer
	// WriteLog opens a table's log for one write session (nil for a table without one).
	WriteLog(ctx context.Context, t *table.Table) (table.WriteLog, error)
	// Follow starts a tail of a table's changes.
	Follow(ctx context.Context, t *table.Table, o table.FollowOptions) (table.ChangeFeed, error)
}

// LogSystemFactory starts the log system for Config.Kafka; the server closes it last on
// shutdown.
type LogSystemFactory func(ctx context.Context, d Deps) (LogSystem, error)

// CompactorFactory builds the compactor behind the API's compaction routes, replacing
// the built-in background compaction; a compactor that is an io.Closer is closed on
// shutdown.
type CompactorFactory func(ctx context.Context, d Deps) (rest.Compactor, error)

// Option configures a Server.
type Option func(*Server)

// WithFlight wires in the Arrow Flight service.
func WithFlight(f FlightFactory) Option { return func(s *Server) { s.flightFactory = f } }

// WithLogSystem wires in the log system.
func WithLogSystem(f LogSystemFactory) Option { return func(s *Server) { s.logFactory = f } }

// WithCompactor wires in a compactor.
func WithCompactor(f CompactorFactory) Option { return func(s *Server) { s.compactorFactory = f } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithFileIO serves the warehouse from fio instead of the one its URI selects.
func WithFileIO(fio fileio.FileIO) Option { return func(s *Server) { s.fio = fio } }

// Server is a running (or ready to run) Tarn server.
type Server struct {
	cfg              Config
	log              *slog.Logger
	fio              fileio.FileIO
	cat              *catalog.Catalog
	api              *rest.API
	gate             *CommitGate
	flightFactory    FlightFactory
	logFactory       LogSystemFactory
	compactorFactory CompactorFactory

	httpSrv    *http.Server
	httpLn     net.Listener
	httpTLS    bool
	flight     FlightService
	flightLn   net.Listener
	flightTLS  bool
	logSystem  LogSystem
	draining   atomic.Bool
	errc       chan error
	serving    sync.WaitGroup
	shutdownMu sync.Mutex
	shutdown   bool

	// Background work (background.go, compactor.go).
	compactionOpts  []func(*compaction.SchedulerOptions)
	scheduler       *compaction.Scheduler
	maint           *maintainer
	compactorCloser io.Closer
}

// New opens the warehouse and builds the server; Start starts serving.
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, gate: NewCommitGate(), errc: make(chan error, 4)}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	warehouse, err := s.cfg.absWarehouse()
	if err != nil {
		return nil, err
	}
	s.cfg.Warehouse = warehouse
	if s.fio == nil {
		if s.fio, err = fileio.New(ctx, warehouse, s.cfg.fileIOOptions()); err != nil {
			return nil, fmt.Errorf("warehouse %s: %w", warehouse, err)
		}
	}
	s.cat = catalog.New(s.fio, warehouse)
	s.api, err = rest.New(rest.Options{
		Catalog:         s.cat,
		Token:           s.cfg.Token,
		CatalogName:     s.cfg.CatalogName,
		ClientOptions:   s.cfg.ClientOptions,
		MaxRequestBytes: s.cfg.HTTP.MaxRequestBytes,
		MaxWriteBytes:   s.cfg.HTTP.MaxWriteBytes,
		Gate:            s.gate,
		Ready:           s.ready,
		Logger:          s.log,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Config is the effective configuration (with the warehouse made absolute).
func (s *Server) Config() Config { return s.cfg }

// Catalog is the warehouse served.
func (s *Server) Catalog() *catalog.Catalog { return s.cat }

// Gate tracks the server's commits.
func (s *Server) Gate() *CommitGate { return s.gate }

// Handler is the HTTP API's handler.
func (s *Server) Handler() http.Handler { return s.api.Handler() }

func (s *Server) deps() Deps {
	d := Deps{Config: &s.cfg, Catalog: s.cat, Gate: s.gate, Logger: s.log}
	if s.scheduler != nil {
		d.CompactionBudget = s.scheduler.Budget()
	}
	if s.logSystem != nil {
		d.Log = s.logSystem
	}
	return d
}

// LogSystem is the running log system, or nil.
func (s *Server) LogSystem() LogSystem { return s.logSystem }

// ready is the readiness check: not shutting down, and the warehouse reachable.
func (s *Server) ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	_, err := s.fio.List(ctx, s.cat.Warehouse())
	return err
}

// Start checks the warehouse, starts the log system, the compactor and the listeners,
// and serves in the background. Errors of the listeners arrive on Err.
func (s *Server) Start(ctx context.Context) error {
	if _, err := s.fio.List(ctx, s.cat.Warehouse()); err != nil {
		return fmt.Errorf("warehouse %s is not reachable: %w", s.cat.Warehouse(), err)
	}
	if s.cfg.Token == "" {
		s.log.Warn("authentication is off: every client can read and write every table; set --token or TARN_TOKEN to require a bearer token")
	}
	if err := s.startBackground(ctx); err != nil {
		s.stopBackground()
		return fmt.Errorf("background work: %w", err)
	}
	if s.cfg.Kafka.Bootstrap != "" {
		if s.logFactory == nil {
			s.log.Warn("the log system is not built into this binary; Kafka settings are ignored", "bootstrap", s.cfg.Kafka.Bootstrap)
		} else {
			ls, err := s.logFactory(ctx, s.deps())
			if err != nil {
				s.stopBackground()
				return fmt.Errorf("log system: %w", err)
			}
			s.logSystem = ls
			s.api.SetWriteLog(ls.WriteLog)
		}
	}
	if s.compactorFactory != nil {
		c, err := s.compactorFactory(ctx, s.deps())
		if err != nil {
			s.stopBackground()
			s.closeLogSystem()
			return fmt.Errorf("compactor: %w", err)
		}
		s.compactorCloser, _ = c.(io.Closer)
		s.api.SetCompactor(c)
	} else if s.scheduler != nil {
		s.api.SetCompactor(compactorAPI{sched: s.scheduler, maint: s.maint})
	}
	if err := s.startHTTP(); err != nil {
		s.stopBackground()
		s.closeLogSystem()
		return err
	}
	if err := s.startFlight(ctx); err != nil {
		_ = s.httpSrv.Close()
		s.stopBackground()
		s.closeLogSystem()
		return err
	}
	return nil
}

func loadTLS(cert, key string, protos ...string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", cert, key, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, NextProtos: protos}, nil
}

func (s *Server) startHTTP() error {
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("HTTP: %w", err)
	}
	if cert, key := s.cfg.httpTLS(); cert != "" {
		tc, err := loadTLS(cert, key, "h2", "http/1.1")
		if err != nil {
			ln.Close()
			return fmt.Errorf("HTTP: %w", err)
		}
		ln = tls.NewListener(ln, tc)
		s.httpTLS = true
	}
	s.httpLn = ln
	s.httpSrv = &http.Server{
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("HTTP: %w", err)
		}
	}()
	s.log.Info("serving HTTP", "url", s.HTTPURL(), "warehouse", s.cat.Warehouse())
	return nil
}

func (s *Server) startFlight(ctx context.Context) error {
	if s.cfg.Flight.Disabled {
		return nil
	}
	if s.flightFactory == nil {
		s.log.Info("Arrow Flight is not built into this binary; serving HTTP only")
		return nil
	}
	svc, err := s.flightFactory(ctx, s.deps())
	if err != nil {
		return fmt.Errorf("flight: %w", err)
	}
	ln, err := net.Listen("tcp", s.cfg.Flight.Addr)
	if err != nil {
		return fmt.Errorf("flight: %w", err)
	}
	if cert, key := s.cfg.flightTLS(); cert != "" {
		tc, err := loadTLS(cert, key, "h2")
		if err != nil {
			ln.Close()
			return fmt.Errorf("flight: %w", err)
		}
		ln = tls.NewListener(ln, tc)
		s.flightTLS = true
	}
	s.flight, s.flightLn = svc, ln
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := svc.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			s.errc <- fmt.Errorf("flight: %w", err)
		}
	}()
	s.log.Info("serving Arrow Flight", "url", s.FlightURL())
	return nil
}

// Err delivers errors of the listeners while serving.
func (s *Server) Err() <-chan error { return s.errc }

// HTTPAddr is the HTTP listener's address (nil before Start).
func (s *Server) HTTPAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// HTTPURL is the base URL of the HTTP API.
func (s *Server) HTTPURL() string {
	if s.httpLn == nil {
		return ""
	}
	scheme := "http"
	if s.httpTLS {
		scheme = "https"
	}
	return scheme + "://" + s.httpLn.Addr().String()
}

// FlightURL is the Flight service's URI ("" when it is not running).
func (s *Server) FlightURL() string {
	if s.flightLn == nil {
		return ""
	}
	scheme := "grpc"
	if s.flightTLS {
		scheme = "grpc+tls"
	}
	return scheme + "://" + s.flightLn.Addr().String()
}

// Shutdown stops the server gracefully: readiness fails, listeners close, requests and
// commits in progress finish. When ctx ends first, commits still running are cancelled
// and connections closed. Shutdown is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownMu.Lock()
	if s.shutdown {
		s.shutdownMu.Unlock()
		return nil
	}
	s.shutdown = true
	s.shutdownMu.Unlock()
	s.draining.Store(true)
	start := time.Now()
	s.log.Info("shutting down", "commits_in_progress", s.gate.Inflight())
	// Background compactions and maintenance stop first: what they leave undone is
	// redone by the next server.
	s.stopBackground()
	var errs []error
	if s.httpSrv != nil {
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("HTTP: %w", err))
		}
	}
	if s.flight != nil {
		stopped := make(chan struct{})
		go func() { s.flight.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("flight: %w", ctx.Err()))
		}
	}
	if err := s.gate.Wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("%d commits did not finish in time: %w", s.gate.Inflight(), err))
	}
	// Past this point nothing may commit: cancel what is left and close connections.
	s.gate.Abort()
	if s.httpSrv != nil && ctx.Err() != nil {
		_ = s.httpSrv.Close()
	}
	s.closeLogSystem()
	done := make(chan struct{})
	go func() { s.serving.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("listeners did not stop"))
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Warn("shutdown incomplete", "err", err, "duration", time.Since(start))
	} else {
		s.log.Info("shut down", "duration", time.Since(start))
	}
	return err
}

func (s *Server) closeLogSystem() {
	if s.logSystem != nil {
		if err := s.logSystem.Close(); err != nil {
			s.log.Warn("closing the log system", "err", err)
		}
		s.logSystem = nil
	}
}

// Run starts the server and serves until ctx is cancelled (SIGINT or SIGTERM in `tarn
// serve`) or a listener fails, then shuts down within the configured timeout.
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	s, err := New(ctx, cfg, opts...)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	return s.ServeUntil(ctx)
}

// ServeUntil waits for ctx to end or a listener to fail, then shuts down.
func (s *Server) ServeUntil(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.errc:
		s.log.Error("serving failed", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(s.cfg.ShutdownTimeout))
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(sctx))
}

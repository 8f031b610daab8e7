// Package flight serves Tarn tables over Arrow Flight and Flight SQL: batch scans
// (GetFlightInfo with a JSON command, one endpoint per split, stateless DoGet tickets),
// incremental reads, never-ending changelog tails with resume tokens, ingestion by DoPut,
// and a small SQL subset for Flight SQL clients (ADBC, JDBC). Every call may be required to
// carry a bearer token. See the README's "Flight" section for the command and ticket JSON.
package flight

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/table"
)

// Options configure a Service. The zero value serves without authentication or TLS.
type Options struct {
	// Token, when set, is the bearer token every call must carry in the gRPC metadata
	// "authorization: Bearer <token>".
	Token string
	// TLS, when set, serves TLS with this configuration.
	TLS *tls.Config
	// Heartbeat is how often an idle tail sends an empty batch with its resume token
	// (default 5s).
	Heartbeat time.Duration
	// PollInterval is how often a tail looks for snapshots written by other processes
	// (default table.DefaultPollInterval); commits made in this process wake tails at once.
	PollInterval time.Duration
	// BatchSize is the number of rows per record batch read from data files (0: the
	// reader's default).
	BatchSize int
	// CommitUser is the commit user of DoPut commits without one of their own (default
	// "tarn-flight").
	CommitUser string
	// CatalogName is the Flight SQL catalog name (default "tarn").
	CatalogName string
	// MaxRecvMessageSize bounds one incoming gRPC message, e.g. a DoPut batch (default 256 MiB).
	MaxRecvMessageSize int
	// PlanCacheTTL is how long a planned snapshot is reused by the DoGets of its endpoints
	// (default 30s; negative disables the cache).
	PlanCacheTTL time.Duration
	// CommitGate, when set, registers each DoPut commit so that a shutdown can wait for
	// it (server.CommitGate implements it); commits then run under the gate's context.
	CommitGate CommitGate
	// Follow starts the tails of DoGet tail commands (default Table.Follow); the log
	// system's Service.Follow reads tables with a Kafka log from the log.
	Follow func(ctx context.Context, t *table.Table, o table.FollowOptions) (table.ChangeFeed, error)
	// WriteLog, when set, opens the log a DoPut also writes (the log system's
	// Service.WriteLog); tables it returns no log for commit with Table.Commit.
	WriteLog table.WriteLogOpener
	Logger   *slog.Logger
	Mem      memory.Allocator
}

// CommitGate tracks commits in progress: Begin registers one and returns the context to
// run it under and the function that ends it, or an error when no more commits are taken.
type CommitGate interface {
	Begin() (context.Context, func(), error)
}

// Service is Tarn's Arrow Flight and Flight SQL service over a catalog.
type Service struct {
	cat   *catalog.Catalog
	o     Options
	log   *slog.Logger
	grpc  *grpc.Server
	sql   flight.FlightServer
	plans *planCache

	ctx    context.Context // ends with Stop: tails finish
	cancel context.CancelFunc
	once   sync.Once
}

// NewService builds the service; Serve starts it.
func NewService(cat *catalog.Catalog, opts Options) *Service {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = table.DefaultPollInterval
	}
	if opts.CommitUser == "" {
		opts.CommitUser = "tarn-flight"
	}
	if opts.CatalogName == "" {
		opts.CatalogName = "tarn"
	}
	if opts.MaxRecvMessageSize <= 0 {
		opts.MaxRecvMessageSize = 256 << 20
	}
	if opts.PlanCacheTTL == 0 {
		opts.PlanCacheTTL = 30 * time.Second
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{cat: cat, o: opts, log: opts.Logger.With("service", "flight"), plans: newPlanCache(opts.PlanCacheTTL)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	sqlSrv := &sqlServer{s: s}
	registerSQLInfo(sqlSrv, opts.CatalogName)
	s.sql = flightsql.NewFlightServerWithAllocator(sqlSrv, opts.Mem)
	gopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryRecover, s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamRecover, s.streamAuth),
		grpc.MaxRecvMsgSize(opts.MaxRecvMessageSize),
	}
	if opts.TLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.grpc = grpc.NewServer(gopts...)
	flight.RegisterFlightServiceServer(s.grpc, &server{s: s})
	return s
}

// Serve serves on l until Stop; it returns nil after Stop.
func (s *Service) Serve(l net.Listener) error {
	s.log.Info("serving Arrow Flight", "addr", l.Addr().String(), "tls", s.o.TLS != nil, "auth", s.o.Token != "")
	err := s.grpc.Serve(l)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop ends tails, lets other calls finish for a few seconds, then closes every
// connection.
func (s *Service) Stop() {
	s.once.Do(func() {
		s.cancel()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.grpc.Stop()
			<-done
		}
	})
}

// Auth and panic recovery, for every RPC.

func (s *Service) authorize(ctx context.Context) error {
	if s.o.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.o.Token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, `missing or wrong bearer token: send the gRPC header "authorization: Bearer <token>"`)
}

func (s *Service) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.authorize(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Service) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.authorize(ss.Context()); err != nil {
		return err
	}
	// Calls end when the service stops.
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	return h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }

func (s *Service) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.panicked(info.FullMethod, r)
		}
	}()
	return h(ctx, req)
}

func (s *Service) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.panicked(info.FullMethod, r)
		}
	}()
	return h(srv, ss)
}

func (s *Service) panicked(method string, r any) error {
	s.log.Error("panic in Flight call", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "internal error in %s: %v", method, r)
}

// toStatus turns an error into a gRPC status error with a code clients can act on.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, errInvalid):
		code = codes.InvalidArgument
		return status.Error(code, strings.TrimPrefix(err.Error(), errInvalid.Error()+": "))
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, table.ErrSnapshotExpired):
		code = codes.OutOfRange
	case errors.Is(err, table.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, catalog.ErrExists):
		code = codes.AlreadyExists
	case errors.Is(err, table.ErrConflict):
		code = codes.Aborted
	}
	return status.Error(code, err.Error())
}

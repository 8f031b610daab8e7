// Package rest is Tarn's HTTP API, a chi router serving three things:
//
//   - /api/v1: Tarn's own JSON API over the warehouse (databases, tables, snapshots, tags,
//     partitions, files, compaction) and row ingestion as JSON Lines;
//   - /v1: Apache Paimon's REST catalog protocol, so that Paimon's RESTCatalog (and engines
//     built on it, such as StarRocks with paimon.catalog.type=rest) can list, load, read
//     and commit tables through Tarn;
//   - /healthz, /readyz and /metrics.
//
// Every route except /healthz and /readyz requires "Authorization: Bearer <token>" when a
// token is configured.
package rest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// Defaults of Options.
const (
	DefaultCatalogName     = "tarn"
	DefaultMaxRequestBytes = 16 << 20
	DefaultMaxWriteBytes   = 4 << 30
)

// ErrShuttingDown is returned by a CommitGate that no longer accepts commits.
var ErrShuttingDown = errors.New("the server is shutting down")

// CommitGate tracks commits so that a shutdown can wait for them to finish.
type CommitGate interface {
	// Begin registers a commit about to start. It returns the context the commit must
	// run under (cancelled only when a shutdown gives up waiting) and end, to be called
	// when the commit is over. It fails with ErrShuttingDown once a shutdown began.
	Begin() (ctx context.Context, end func(), err error)
}

// Compactor runs compactions for the API's compaction routes.
type Compactor interface {
	// Status describes the compaction state of a table (JSON-encodable).
	Status(ctx context.Context, id catalog.Identifier) (any, error)
	// Trigger starts (or queues) a compaction of a table; full asks for a full
	// compaction. The result is JSON-encodable.
	Trigger(ctx context.Context, id catalog.Identifier, full bool) (any, error)
}

// CommitThrottler is implemented by a compactor that holds back row ingestion into
// buckets with too many sorted runs (num-sorted-run.stop-trigger), as Paimon's writers
// wait for their compaction. BeforeCommit is called with the files written, before they
// are committed; the function it returns is called once the commit is over, with the
// snapshot it created (0 when it created none).
type CommitThrottler interface {
	BeforeCommit(ctx context.Context, t *table.Table, id catalog.Identifier, msgs []table.CommitMessage) (done func(snapshotID int64), err error)
}

// Options configure the API.
type Options struct {
	// Catalog is the warehouse served. Required.
	Catalog *catalog.Catalog
	// Token, when not empty, is required as "Authorization: Bearer <token>".
	Token string
	// CatalogName is the warehouse's name for REST-catalog clients and the URL prefix of
	// the REST-catalog routes (/v1/<name>/...). Letters, digits, '-' and '_'.
	CatalogName string
	// ClientOptions are handed to REST-catalog clients in the "defaults" of /v1/config
	// (for example s3.endpoint), below the client's own options.
	ClientOptions map[string]string
	// MaxRequestBytes limits JSON request bodies; MaxWriteBytes row uploads.
	MaxRequestBytes int64
	MaxWriteBytes   int64
	// Gate tracks commits for graceful shutdown; nil tracks nothing.
	Gate CommitGate
	// Compactor serves the compaction routes; nil answers them 501 until SetCompactor.
	Compactor Compactor
	// Ready reports whether the server can serve (nil: the warehouse can be listed).
	Ready func(ctx context.Context) error
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

var catalogNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// API is the HTTP API.
type API struct {
	opts  Options
	cat   *catalog.Catalog
	log   *slog.Logger
	stats *statsCache
	locks keyedLocks

	compactorMu sync.RWMutex
	compactor   Compactor

	writeLog table.WriteLogOpener // writelog.go
}

// SetCompactor registers the compactor that serves the compaction routes.
func (a *API) SetCompactor(c Compactor) {
	a.compactorMu.Lock()
	defer a.compactorMu.Unlock()
	a.compactor = c
}

func (a *API) getCompactor() Compactor {
	a.compactorMu.RLock()
	defer a.compactorMu.RUnlock()
	return a.compactor
}

// New builds the API's handler.
func New(opts Options) (*API, error) {
	if opts.Catalog == nil {
		return nil, errors.New("rest: no catalog")
	}
	if opts.CatalogName == "" {
		opts.CatalogName = DefaultCatalogName
	}
	if !catalogNameRE.MatchString(opts.CatalogName) {
		return nil, fmt.Errorf("rest: catalog name %q: use 1 to 64 letters, digits, '-' or '_'", opts.CatalogName)
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxWriteBytes <= 0 {
		opts.MaxWriteBytes = DefaultMaxWriteBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &API{opts: opts, cat: opts.Catalog, log: opts.Logger, stats: newStatsCache(512), compactor: opts.Compactor}, nil
}

// Handler returns the router.
func (a *API) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(escapedRouting, a.recoverer, a.observe)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, notFound("", "", "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", a.readyz)
	r.Group(func(r chi.Router) {
		r.Use(a.authenticate)
		r.Method(http.MethodGet, "/metrics", metrics.Handler())
		r.Route("/api/v1", a.tarnRoutes)
		r.Route("/v1", a.paimonRoutes)
	})
	return r
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var err error
	if a.opts.Ready != nil {
		err = a.opts.Ready(ctx)
	} else {
		_, err = a.cat.FileIO().List(ctx, a.cat.Warehouse())
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// escapedRouting makes chi route on the escaped path, so that a path segment holding an
// escaped '/' ("%2F") stays one segment and every URL parameter arrives escaped.
func escapedRouting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			rctx.RoutePath = r.URL.EscapedPath()
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate refuses requests without the configured bearer token.
func (a *API) authenticate(next http.Handler) http.Handler {
	if a.opts.Token == "" {
		return next
	}
	want := []byte(a.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tarn"`)
			msg := "missing bearer token: send Authorization: Bearer <token>"
			if h != "" {
				msg = "invalid bearer token"
			}
			writeError(w, r, &apiError{Status: http.StatusUnauthorized, Message: msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe records request latencies by route pattern.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePattern() != "" {
			route = rctx.RoutePattern()
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		metrics.ObserveRequest(route, r.Method, code, time.Since(start))
		if code >= 500 {
			a.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "duration", time.Since(start))
		} else {
			a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", code, "duration", time.Since(start))
		}
	})
}

// recoverer turns a panic in a handler into a 500 response.
func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, r, &apiError{Status: http.StatusInternalServerError, Message: fmt.Sprintf("internal error: %v", v)})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at n bytes.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeError(w, r, &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", r.ContentLength, n)})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// beginCommit registers a commit with the gate.
func (a *API) beginCommit(ctx context.Context) (context.Context, func(), error) {
	metrics.InflightCommits.Inc()
	if a.opts.Gate == nil {
		return context.WithoutCancel(ctx), func() { metrics.InflightCommits.Dec() }, nil
	}
	cctx, end, err := a.opts.Gate.Begin()
	if err != nil {
		metrics.InflightCommits.Dec()
		return nil, nil, &apiError{Status: http.StatusServiceUnavailable, Message: "the server is shutting down and takes no new commits", Err: err}
	}
	return cctx, func() { end(); metrics.InflightCommits.Dec() }, nil
}

// keyedLocks are mutexes by key, created on first use.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

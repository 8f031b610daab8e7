package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tarnlake/tarn/api/rest"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer runs a server on 127.0.0.1 with a fresh local warehouse.
func startServer(t *testing.T, mod func(*Config), opts ...Option) *Server {
	t.Helper()
	cfg := Default()
	cfg.Warehouse = filepath.Join(t.TempDir(), "wh")
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Flight.Addr = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(context.Background(), cfg, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

func call(t *testing.T, c *http.Client, method, url string, body io.Reader, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func scanRows(t *testing.T, cat *catalog.Catalog, db, tbl string) string {
	t.Helper()
	tb, err := cat.LoadTable(context.Background(), catalog.Identifier{Database: db, Table: tbl})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), tb, export.Options{Format: render.JSONL}, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestShutdownFinishesInflightCommit(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Token = "tok" })
	base := s.HTTPURL()
	c := http.DefaultClient
	if st, b := call(t, c, "POST", base+"/api/v1/databases/db/tables", strings.NewReader(`{"name":"t","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":{"bucket":"1"}}`), "tok"); st != 201 {
		t.Fatalf("create table: %d %s", st, b)
	}

	// An upload in progress when the shutdown begins.
	pr, pw := io.Pipe()
	type result struct {
		status int
		body   []byte
	}
	done := make(chan result, 1)
	go func() {
		st, b := call(t, c, "POST", base+"/api/v1/databases/db/tables/t/rows", pr, "tok")
		done <- result{st, b}
	}()
	if _, err := io.WriteString(pw, `{"id":1,"v":"a"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server is reading the body
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned while an upload was in progress: %v", err)
	default:
	}
	if conn, err := net.DialTimeout("tcp", s.HTTPAddr().String(), time.Second); err == nil {
		conn.Close()
		t.Error("the server still accepts connections while shutting down")
	}
	if _, err := io.WriteString(pw, `{"id":2,"v":"b"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var wr struct {
		Rows       int64  `json:"rows"`
		SnapshotID *int64 `json:"snapshotId"`
	}
	if err := json.Unmarshal(r.body, &wr); err != nil || wr.Rows != 2 || wr.SnapshotID == nil || *wr.SnapshotID != 1 {
		t.Fatalf("upload result %s", r.body)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if got := scanRows(t, s.Catalog(), "db", "t"); got != "{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n" {
		t.Errorf("rows after shutdown: %q", got)
	}
}

func TestShutdownGivesUpAfterTheTimeout(t *testing.T) {
	s := startServer(t, nil)
	_, end, err := s.Gate().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 commits did not finish") {
		t.Fatalf("shutdown: %v", err)
	}
	if _, _, err := s.Gate().Begin(); !errors.Is(err, rest.ErrShuttingDown) {
		t.Errorf("Begin after shutdown: %v", err)
	}
}

func TestCommitGate(t *testing.T) {
	tests := []struct {
		name     string
		begin    int
		end      int
		timeout  time.Duration
		wantWait error
	}{
		{"idle", 0, 0, time.Second, nil},
		{"all ended", 3, 3, time.Second, nil},
		{"one left", 3, 2, 50 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewCommitGate()
			var ends []func()
			for i := 0; i < tt.begin; i++ {
				ctx, end, err := g.Begin()
				if err != nil || ctx.Err() != nil {
					t.Fatal(err)
				}
				ends = append(ends, end)
			}
			for i := 0; i < tt.end; i++ {
				ends[i]()
				ends[i]() // ending twice counts once
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			if err := g.Wait(ctx); !errors.Is(err, tt.wantWait) {
				t.Errorf("Wait = %v, want %v", err, tt.wantWait)
			}
			if got := g.Inflight(); got != tt.begin-tt.end {
				t.Errorf("Inflight = %d", got)
			}
			cctx, _, _ := func() (context.Context, func(), error) {
				if tt.begin > tt.end {
					return g.ctx, nil, nil
				}
				return context.Background(), nil, nil
			}()
			g.Abort()
			if tt.begin > tt.end && cctx.Err() == nil {
				t.Error("Abort did not cancel the commits' context")
			}
		})
	}
}

func TestMetricsAndHealth(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Token = "tok" })
	base := s.HTTPURL()
	c := http.DefaultClient
	// The registry is the process's: a database of its own keeps the counts apart.
	db := fmt.Sprintf("m%d", time.Now().UnixNano())
	call(t, c, "POST", base+"/api/v1/databases/"+db+"/tables", strings.NewReader(`{"name":"t","columns":"a INT"}`), "tok")
	if st, b := call(t, c, "POST", base+"/api/v1/databases/"+db+"/tables/t/rows", strings.NewReader("{\"a\":1}\n{\"a\":2}\n"), "tok"); st != 200 {
		t.Fatalf("write: %d %s", st, b)
	}
	call(t, c, "GET", base+"/v1/tarn/databases/"+db+"/tables/t/partitions", nil, "tok")
	want := []string{
		`tarn_commits_total{result="ok",source="http",table="` + db + `.t"} 1`,
		`tarn_rows_written_total{source="http",table="` + db + `.t"} 2`,
		`tarn_bytes_written_total{source="http",table="` + db + `.t"}`,
		`tarn_scans_total{source="rest-catalog",table="` + db + `.t"} 1`,
		`tarn_http_request_duration_seconds_count{code="200",method="POST",route="/api/v1/databases/{database}/tables/{table}/rows"}`,
		`tarn_inflight_commits 0`,
		`go_goroutines`,
	}
	// A request's latency is recorded after its response is sent: poll.
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, body := call(t, c, "GET", base+"/metrics", nil, "tok")
		if st != 200 {
			t.Fatalf("metrics: %d", st)
		}
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("metrics lack %s", m)
	}
	if st, _ := call(t, c, "GET", base+"/metrics", nil, ""); st != 401 {
		t.Errorf("metrics without a token: %d", st)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if st, b := call(t, c, "GET", base+p, nil, ""); st != 200 {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their paths and pool.
func selfSigned(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tarn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

// fakeFlight is a FlightService that accepts connections and counts them.
type fakeFlight struct {
	ln      net.Listener
	accepts atomic.Int32
	stopped atomic.Bool
}

func (f *fakeFlight) Serve(ln net.Listener) error {
	f.ln = ln
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		f.accepts.Add(1)
		if tc, ok := c.(*tls.Conn); ok {
			_ = tc.Handshake()
		}
		c.Close()
	}
}

func (f *fakeFlight) Stop() {
	f.stopped.Store(true)
	if f.ln != nil {
		f.ln.Close()
	}
}

func TestTLSAndFlight(t *testing.T) {
	cert, key, pool := selfSigned(t)
	ff := &fakeFlight{}
	var deps Deps
	s := startServer(t, func(c *Config) { c.TLSCert, c.TLSKey = cert, key },
		WithFlight(func(_ context.Context, d Deps) (FlightService, error) { deps = d; return ff, nil }))
	if !strings.HasPrefix(s.HTTPURL(), "https://") || !strings.HasPrefix(s.FlightURL(), "grpc+tls://") {
		t.Fatalf("URLs %s %s", s.HTTPURL(), s.FlightURL())
	}
	if deps.Catalog == nil || deps.Gate == nil || deps.Config == nil {
		t.Errorf("flight deps %+v", deps)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if st, b := call(t, c, "GET", s.HTTPURL()+"/healthz", nil, ""); st != 200 {
		t.Fatalf("healthz over TLS: %d %s", st, b)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.FlightURL(), "grpc+tls://"), &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("flight TLS: %v", err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("flight ALPN %q, want h2", p)
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !ff.stopped.Load() {
		t.Error("flight service not stopped")
	}
}

func TestLogSystemAndCompactorHooks(t *testing.T) {
	closed := atomic.Bool{}
	s := startServer(t, func(c *Config) { c.Kafka.Bootstrap = "embedded"; c.Flight.Disabled = true },
		WithLogSystem(func(_ context.Context, d Deps) (LogSystem, error) {
			if d.Config.Kafka.Bootstrap != "embedded" {
				t.Errorf("kafka config %+v", d.Config.Kafka)
			}
			return fakeLog{closerFunc(func() error { closed.Store(true); return nil })}, nil
		}),
		WithCompactor(func(context.Context, Deps) (rest.Compactor, error) { return fakeCompactor{}, nil }))
	st, b := call(t, http.DefaultClient, "POST", s.HTTPURL()+"/api/v1/databases", strings.NewReader(`{"name":"d"}`), "")
	if st != 201 {
		t.Fatalf("%d %s", st, b)
	}
	call(t, http.DefaultClient, "POST", s.HTTPURL()+"/api/v1/databases/d/tables", strings.NewReader(`{"name":"t","columns":"a INT"}`), "")
	if st, b := call(t, http.DefaultClient, "POST", s.HTTPURL()+"/api/v1/databases/d/tables/t/compaction?full=true", nil, ""); st != 202 || !strings.Contains(string(b), `"full":true`) {
		t.Errorf("compaction: %d %s", st, b)
	}
	if s.FlightURL() != "" {
		t.Errorf("flight running: %s", s.FlightURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !closed.Load() {
		t.Error("log system not closed")
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// fakeLog is a log system without logs: tables are written and tailed through files.
type fakeLog struct{ io.Closer }

func (fakeLog) WriteLog(context.Context, *table.Table) (table.WriteLog, error) { return nil, nil }

func (fakeLog) Follow(ctx context.Context, t *table.Table, o table.FollowOptions) (table.ChangeFeed, error) {
	return t.Follow(ctx, o)
}

type fakeCompactor struct{}

func (fakeCompactor) Status(_ context.Context, id catalog.Identifier) (any, error) {
	return map[string]string{"table": id.String()}, nil
}

func (fakeCompactor) Trigger(_ context.Context, id catalog.Identifier, full bool) (any, error) {
	return map[string]any{"table": id.String(), "full": full}, nil
}

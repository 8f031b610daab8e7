package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	arrowflight "github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

// syncBuffer is a buffer written by the server while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var httpLine = regexp.MustCompile(`HTTP API\s+(http\S+)/api/v1`)

// serve runs `tarn serve args` until the test ends and returns the HTTP base URL and the
// output so far.
func serve(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- cmdServe(ctx, args, &out, &errb) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("tarn serve did not stop")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := httpLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], &out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("tarn serve exited: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
	}
	t.Fatalf("tarn serve printed no URL:\n%s\n%s", out.String(), errb.String())
	return "", nil, nil
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeDefaultWarehouse(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TARN_TOKEN", "")
	t.Setenv("TARN_CONFIG", "")
	base, out, stop := serve(t, "--http", "127.0.0.1:0", "--flight", "off")
	for _, want := range []string{
		"Tarn is serving warehouse " + filepath.Join(dir, "tarn-warehouse"),
		"Authentication  off",
		`"paimon.catalog.type" = "rest"`,
		`"paimon.option.uri" = "` + base + `"`,
		"curl -s " + base + "/api/v1/databases",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if st, b := post(t, base+"/api/v1/databases/db/tables", "", `{"name":"t","columns":"id BIGINT NOT NULL, name STRING","primaryKeys":["id"],"options":{"bucket":"1"}}`); st != 201 {
		t.Fatalf("create table: %d %s", st, b)
	}
	if st, b := post(t, base+"/api/v1/databases/db/tables/t/rows", "", "{\"id\":2,\"name\":\"b\"}\n{\"id\":1,\"name\":\"a\"}\n"); st != 200 {
		t.Fatalf("write: %d %s", st, b)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// What the server wrote, tarn scan reads from the default warehouse.
	stdout, stderr, code := tarn(t, nil, "scan", "--warehouse", "tarn-warehouse", "--format", "jsonl", "db.t")
	if code != 0 || stdout != "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n" {
		t.Errorf("scan: %d %q %s", code, stdout, stderr)
	}
}

func TestServeConfigFileAndToken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tarn.yaml")
	content := "warehouse: " + filepath.Join(dir, "wh") + "\ntoken: s3cret\ncatalog_name: lake\nhttp:\n  addr: 127.0.0.1:0\nflight:\n  addr: \"off\"\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TARN_TOKEN", "")
	base, out, stop := serve(t, "--config", cfg)
	if !strings.Contains(out.String(), "bearer token required") || !strings.Contains(out.String(), `"paimon.catalog.warehouse" = "lake"`) {
		t.Errorf("output:\n%s", out.String())
	}
	if st, _ := post(t, base+"/api/v1/databases", "", `{"name":"db"}`); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st, b := post(t, base+"/api/v1/databases", "s3cret", `{"name":"db"}`); st != 201 {
		t.Errorf("token: %d %s", st, b)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"serve", "extra"}, "takes no arguments"},
		{"half TLS", []string{"serve", "--tls-cert", "c.pem"}, "certificate and a key"},
		{"unknown flag", []string{"serve", "--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := tarn(t, nil, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("code %d, stderr %q", code, stderr)
			}
		})
	}
}

// selfSignedCert writes a certificate and key for 127.0.0.1.
func selfSignedCert(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return cert, keyPath, pool
}

var flightLine = regexp.MustCompile(`Arrow Flight\s+grpc\+tls://(\S+)`)

// tarn serve runs the Arrow Flight service beside HTTP, over TLS and with the token:
// rows written over HTTP are read back with a Flight client.
func TestServeFlightOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSignedCert(t, dir)
	t.Setenv("TARN_CONFIG", "")
	base, out, stop := serve(t, "--warehouse", filepath.Join(dir, "wh"), "--http", "127.0.0.1:0", "--flight", "127.0.0.1:0",
		"--token", "s3cret", "--tls-cert", cert, "--tls-key", key)
	m := flightLine.FindStringSubmatch(out.String())
	if m == nil || !strings.HasPrefix(base, "https://") {
		t.Fatalf("output:\n%s", out.String())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, step := range []struct{ path, body string }{
		{"/api/v1/databases/db/tables", `{"name":"t","columns":"id BIGINT NOT NULL, name STRING","primaryKeys":["id"],"options":{"bucket":"1"}}`},
		{"/api/v1/databases/db/tables/t/rows", "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n"},
	} {
		req, _ := http.NewRequest("POST", base+step.path, strings.NewReader(step.body))
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", step.path, resp.StatusCode)
		}
	}
	cl, err := arrowflight.NewClientWithMiddleware(m[1], nil, nil,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret")
	desc := &arrowflight.FlightDescriptor{Type: arrowflight.DescriptorCMD, Cmd: []byte(`{"table":"db.t"}`)}
	if _, err := cl.GetFlightInfo(context.Background(), desc); err == nil {
		t.Error("GetFlightInfo without the token succeeded")
	}
	info, err := cl.GetFlightInfo(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, ep := range info.Endpoint {
		stream, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := arrowflight.NewRecordReader(stream)
		if err != nil {
			t.Fatal(err)
		}
		for rd.Next() {
			rows += rd.RecordBatch().NumRows()
		}
		rd.Release()
	}
	if rows != 2 {
		t.Errorf("read %d rows over Flight, want 2", rows)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

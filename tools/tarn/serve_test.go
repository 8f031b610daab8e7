package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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

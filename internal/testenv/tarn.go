package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

var tarnBuild struct {
	once sync.Once
	bin  string
	err  error
}

// RepoRoot is the directory of this module's go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// TarnBinary builds the tarn command (./tools/tarn) of this source tree once per test
// process and returns its path; the binary is removed when the process's temporary files
// are swept (TempDir).
func TarnBinary(t testing.TB) string {
	t.Helper()
	tarnBuild.once.Do(func() {
		dir, err := TempDir("tarn-bin-")
		if err != nil {
			tarnBuild.err = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		bin := filepath.Join(dir, "tarn")
		cmd := exec.Command(goBin, "build", "-o", bin, "./tools/tarn")
		cmd.Dir = RepoRoot()
		cmd.SysProcAttr = sysProcAttr()
		if out, err := cmd.CombinedOutput(); err != nil {
			tarnBuild.err = fmt.Errorf("testenv: go build ./tools/tarn: %w\n%s", err, tail(out, 4096))
			return
		}
		tarnBuild.bin = bin
	})
	if tarnBuild.err != nil {
		t.Fatal(tarnBuild.err)
	}
	return tarnBuild.bin
}

// TarnServer is a running `tarn serve` on 127.0.0.1 with a bearer token.
type TarnServer struct {
	Bin        string // the tarn binary
	Warehouse  string // a local directory
	HTTPURL    string // "http://127.0.0.1:PORT" (the HTTP API under /api/v1, Paimon's REST catalog under /v1)
	FlightAddr string // "127.0.0.1:PORT" (Arrow Flight and Flight SQL, plain gRPC)
	Token      string

	args []string
	proc *Process
	log  string
}

// StartTarn starts `tarn serve` on a new warehouse (t.TempDir) with a random token (unless
// extra has --token) and free ports (also for the embedded Kafka broker, unless extra has
// --kafka), plus the extra flags given, and stops it (SIGTERM) when the test ends.
func StartTarn(t testing.TB, extra ...string) *TarnServer {
	t.Helper()
	s := &TarnServer{Bin: TarnBinary(t), Warehouse: t.TempDir(), Token: randomHex(16), log: filepath.Join(t.TempDir(), "tarn-serve.log")}
	for attempt := 1; ; attempt++ {
		ports, err := FreePorts(3)
		if err != nil {
			t.Fatal(err)
		}
		s.HTTPURL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		s.FlightAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
		s.args = []string{"serve", "--warehouse", s.Warehouse, "--http", "127.0.0.1:" + strconv.Itoa(ports[0]), "--flight", s.FlightAddr}
		if i := slices.Index(extra, "--token"); i >= 0 && i+1 < len(extra) {
			s.Token = extra[i+1] // "" turns authentication off
		} else {
			s.args = append(s.args, "--token", s.Token)
		}
		if !slices.Contains(extra, "--kafka") {
			// The default log system, an embedded broker, on a port of its own.
			s.args = append(s.args, "--kafka-embedded-addr", "127.0.0.1:"+strconv.Itoa(ports[2]))
		}
		s.args = append(s.args, extra...)
		err = s.start(t.Context())
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("tarn serve did not start, retrying on new ports: %v", err)
	}
	t.Cleanup(func() { s.proc.Stop(30 * time.Second) })
	return s
}

func (s *TarnServer) start(ctx context.Context) error {
	p, err := Start(Command{Name: "tarn serve", Path: s.Bin, Args: s.args, DropEnv: []string{"TARN_"}, LogPath: s.log})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = WaitFor(wctx, func(ctx context.Context) error {
		if err := HTTPOK(nil, s.HTTPURL+"/healthz")(ctx); err != nil {
			return err
		}
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.FlightAddr)
		if err != nil {
			return err
		}
		return c.Close()
	}, p)
	if err != nil {
		p.Kill()
		return fmt.Errorf("testenv: tarn serve did not get ready: %w\n%s", err, p.LogTail(4096))
	}
	s.proc = p
	return nil
}

// Restart stops the server (SIGTERM) and starts it again with the same flags.
func (s *TarnServer) Restart(t testing.TB) {
	t.Helper()
	s.proc.Stop(30 * time.Second)
	if err := s.start(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// LogTail is the end of the server's log, for failure messages.
func (s *TarnServer) LogTail(n int) string { return s.proc.LogTail(n) }

// Tarn runs `tarn args...` (a command line of the same binary, e.g. scan --warehouse ...)
// and returns its standard output; the test fails if it exits non-zero.
func (s *TarnServer) Tarn(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	cmd.Env = filterEnv(os.Environ(), []string{"TARN_"})
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tarn %v: %v\n%s", args, err, tail(errb.Bytes(), 4096))
	}
	return out.String()
}

// Scan is `tarn scan --warehouse W db.table --format jsonl args...`: the table's rows as
// canonical JSON Lines sorted by primary key.
func (s *TarnServer) Scan(t testing.TB, table string, args ...string) string {
	t.Helper()
	return s.Tarn(t, append([]string{"scan", "--warehouse", s.Warehouse, table, "--format", "jsonl"}, args...)...)
}

// Do sends an authenticated request to the HTTP API and returns the status and body.
func (s *TarnServer) Do(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.HTTPURL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// MustDo is Do that fails the test unless the status is 2xx.
func (s *TarnServer) MustDo(t testing.TB, method, path, body string) string {
	t.Helper()
	st, b := s.Do(t, method, path, body)
	if st/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	return b
}

// Package testenv starts real servers for tests, on 127.0.0.1 and free
// ports, installing them into a cache on first use so that `go test ./...`
// works on a machine with nothing installed.
//
// Each peer has its own file (minio.go, versitygw.go, ...) built from the
// shared helpers here: CacheDir, GoInstall (build once, across processes,
// under a file lock), FreePort, TempDir, WaitFor, and Process, which keeps a
// server's lifecycle and kills it when the test binary dies. The peers:
// MinIO and versitygw (S3), the Apache Kafka broker (kafka.go; RunPerBroker in
// brokers.go runs a package's tests against it and the embedded broker), the
// Python clients in a cached virtualenv (python.go: pyarrow, the ADBC Flight
// SQL driver, confluent-kafka), jars from Maven Central (maven.go: the Flight
// SQL JDBC driver), kcat, and `tarn serve` itself (tarn.go) for the clients to
// talk to.
//
// Building MinIO takes minutes the first time, longer than a test binary
// should spend before its first test; run `go run ./internal/testenv/install`
// before `go test` to build every peer up front. Under `go test -short`,
// tests that need a peer not yet installed are skipped.
//
// Environment:
//
//	TARN_CACHE          cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/tarn)
//	TARN_MINIO_BIN      use this minio binary instead of building one
//	TARN_VERSITYGW_BIN  use this versitygw binary instead of building one
//	TARN_KAFKA_LIBS     use this directory of Apache Kafka broker jars instead of fetching them
//	TARN_LOG_BROKERS    the brokers RunPerBroker runs tests against: embedded,apache-kafka (default both)
//	TARN_REQUIRE_TOOLS  fail, instead of skipping, tests whose tools are missing (Missing)
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CacheDir returns the directory where peers are installed, creating it:
// $TARN_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/tarn.
func CacheDir() (string, error) {
	dir := os.Getenv("TARN_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("testenv: cache dir: %w (set TARN_CACHE)", err)
		}
		dir = filepath.Join(base, "tarn")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testenv: cache dir: %w", err)
	}
	return dir, nil
}

// GoInstall builds the command pkg at version ("module/cmd/x", "v1.2.3")
// with `go install` into CacheDir()/bin, once: later calls, also from other
// processes, find it there. It returns the binary's path.
func GoInstall(ctx context.Context, pkg, version string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(cache, "bin")
	name := filepath.Base(pkg)
	bin := filepath.Join(binDir, name)
	want := pkg + "@" + version
	if _, err := os.Stat(bin); err != nil {
		os.Remove(filepath.Join(binDir, "."+name+".version")) // stamp of a deleted binary
	}
	err = Once(ctx, filepath.Join(binDir, "."+name), want, func(ctx context.Context) error {
		return goInstall(ctx, binDir, want)
	})
	if err != nil {
		return "", err
	}
	return bin, nil
}

func goInstall(ctx context.Context, binDir, target string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "install", target)
	cmd.Dir = binDir
	cmd.Env = append(os.Environ(), "GOBIN="+binDir, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	cmd.SysProcAttr = sysProcAttr() // no orphan build if the test binary dies; its cache stays
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	slog.Info("testenv: building (the first time takes minutes; later runs use the cache)", "target", target, "gobin", binDir)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				slog.Info("testenv: still building", "target", target, "elapsed", time.Since(start).Round(time.Second))
			}
		}
	}()
	err = cmd.Run()
	close(done)
	if err != nil {
		return fmt.Errorf("testenv: go install %s: %w\n%s", target, err, tail(out.Bytes(), 4096))
	}
	slog.Info("testenv: built", "target", target, "took", time.Since(start).Round(time.Second))
	return nil
}

// Once runs install unless the stamp file at base+".version" already holds
// version, holding the lock file base+".lock" meanwhile, so concurrent test
// processes install once. It writes the stamp after install succeeds.
func Once(ctx context.Context, base, version string, install func(ctx context.Context) error) error {
	if stampMatches(base, version) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	unlock, err := lockFile(ctx, base+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if stampMatches(base, version) { // installed while we waited
		return nil
	}
	if err := install(ctx); err != nil {
		return err
	}
	if err := os.WriteFile(base+".version", []byte(version+"\n"), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

// GoInstalled reports whether GoInstall(pkg, version) would find the binary
// built already.
func GoInstalled(pkg, version string) bool {
	cache, err := CacheDir()
	return err == nil && stampMatches(filepath.Join(cache, "bin", "."+filepath.Base(pkg)), pkg+"@"+version)
}

func stampMatches(base, version string) bool {
	b, err := os.ReadFile(base + ".version")
	return err == nil && strings.TrimSpace(string(b)) == version
}

// lockFile takes an exclusive flock on path, waiting until ctx ends.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: lock: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("testenv: lock %s: %w", path, err)
		}
		if !logged {
			slog.Info("testenv: waiting for another process installing", "lock", path)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("testenv: lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago (all
// are held open until every one is chosen, so none repeats).
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testenv: free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// TempDir makes a temporary directory named prefix* that records the
// process owning it. Directories of earlier processes that died without
// cleaning up (a panic, a kill) are removed on the way.
func TempDir(prefix string) (string, error) {
	sweepTempDirs(prefix)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, ".owner-pid"), pid, 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("testenv: %w", err)
	}
	return dir, nil
}

func sweepTempDirs(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ".owner-pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(d) // its owner is gone
		}
	}
}

// WaitFor calls check every 100ms until it returns nil, ctx ends, or one
// of the given processes exits; then it returns check's last error.
func WaitFor(ctx context.Context, check func(ctx context.Context) error, procs ...*Process) error {
	var err error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		for _, p := range procs {
			select {
			case <-p.Exited():
				return fmt.Errorf("%s exited (%v): %w\n%s", p.name, p.ExitErr(), err, p.LogTail(4096))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// HTTPOK is a check for WaitFor: a GET of url with client (nil for
// http.DefaultClient) answers 200.
func HTTPOK(client *http.Client, url string) func(ctx context.Context) error {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// Command describes a server process to start.
type Command struct {
	Name string   // for messages, e.g. "minio"
	Path string   // the binary
	Args []string // arguments, without the binary
	Env  []string // added to the environment of this process
	// DropEnv lists prefixes of inherited variables to remove, e.g.
	// "MINIO_", so the developer's settings don't leak in.
	DropEnv []string
	Dir     string
	LogPath string // stdout and stderr are appended here
}

// Process is a running server. It is killed with SIGKILL if the process
// that started it dies (Linux: PR_SET_PDEATHSIG), even on a panic.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	mu      sync.Mutex
	exitErr error
}

// Start starts c.
func Start(c Command) (*Process, error) {
	logf, err := os.OpenFile(c.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: %s log: %w", c.Name, err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(filterEnv(os.Environ(), c.DropEnv), c.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	p := &Process{name: c.Name, cmd: cmd, logPath: c.LogPath, done: make(chan struct{})}

	// The parent-death signal fires when the thread that forked the child
	// exits, so fork from a locked thread that lives until the child ends.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err != nil {
			return
		}
		err = cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, fmt.Errorf("testenv: start %s: %w", c.Name, err)
	}
	return p, nil
}

func filterEnv(env, drop []string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitErr is the result of waiting for the exited process.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Stop sends SIGTERM, and SIGKILL if the process has not exited after
// grace. It returns once the process has exited.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Kill sends SIGKILL and returns once the process has exited.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// LogTail returns the last n bytes of the process's log.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	return "--- " + p.logPath + " ---\n" + tail(b, n)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Missing reports that a tool a test needs is not installed. The test is skipped, unless
// TARN_REQUIRE_TOOLS is set (scripts/test, which installs every tool, sets it): then it
// fails, so that a test suite meant to run everything cannot pass by skipping.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("TARN_REQUIRE_TOOLS") != "" {
		t.Fatalf(format+" (TARN_REQUIRE_TOOLS is set: every tool is required)", args...)
	}
	t.Skipf(format, args...)
}

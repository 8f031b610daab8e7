package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The suite sends its oracle commands to long-lived `compat/oracle serve` JVMs (Serve.java)
// instead of starting a JVM per command: a JVM's start and warm-up cost more CPU than most
// commands. Each Paimon version has a small pool of them; a command whose context ends
// kills its server. -compat.fork runs every command in a JVM of its own instead.
var (
	forkOracle = flag.Bool("compat.fork", false, "run each oracle command in a JVM of its own instead of a pooled server")

	oraclePools sync.Map // version -> *oraclePool

	oracleCalls, oracleStarts atomic.Int64
)

// oracleServersPerVersion bounds the JVMs of a Paimon version: the suite runs two tests at
// a time, and one of them may hold a server for minutes (verify, generate).
const oracleServersPerVersion = 3

// oracleCall is one command of compat/oracle.
type oracleCall struct {
	version string
	args    []string
	env     []string // KEY=VALUE: TARN_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
	stdin   string
}

func (c oracleCall) String() string {
	return fmt.Sprintf("compat/oracle --paimon %s %s", c.version, strings.Join(c.args, " "))
}

// s3Flags are the oracle's flags for the environment variables a forked oracle reads.
var s3Flags = map[string]string{
	"TARN_S3_ENDPOINT":      "--s3-endpoint",
	"AWS_ACCESS_KEY_ID":     "--s3-access-key",
	"AWS_SECRET_ACCESS_KEY": "--s3-secret-key",
}

// runOracle runs the command and returns its stdout and stderr; a non-zero exit is an
// error carrying the end of stderr.
func runOracle(ctx context.Context, c oracleCall) (stdout, stderr []byte, err error) {
	oracleCalls.Add(1)
	args, served := c.serverArgs()
	var code int
	if served && !*forkOracle {
		code, stdout, stderr, err = oraclePoolOf(c.version).run(ctx, args, c.stdin)
	} else {
		code, stdout, stderr, err = forkedOracle(ctx, c)
	}
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d", code)
	}
	if err != nil {
		return stdout, stderr, fmt.Errorf("%s: %v\n%s", c, err, tail(string(stderr), 3000))
	}
	return stdout, stderr, nil
}

// serverArgs returns the command's arguments for a server (the environment as flags), or
// false when only a forked oracle can run it.
func (c oracleCall) serverArgs() ([]string, bool) {
	var args []string
	for _, kv := range c.env {
		k, v, _ := strings.Cut(kv, "=")
		flag, ok := s3Flags[k]
		if !ok {
			return nil, false
		}
		args = append(args, flag, v)
	}
	for _, a := range c.args {
		if strings.ContainsAny(a, "\n") || strings.HasPrefix(a, "--jar-path") || strings.HasPrefix(a, "--build-only") {
			return nil, false
		}
	}
	return append(args, c.args...), true
}

func forkedOracle(ctx context.Context, c oracleCall) (int, []byte, []byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "compat", "oracle"), append([]string{"--paimon", c.version}, c.args...)...)
	if c.env != nil {
		cmd.Env = append(os.Environ(), c.env...)
	}
	cmd.Stdin = strings.NewReader(c.stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), out.Bytes(), errb.Bytes(), nil
	}
	return 0, out.Bytes(), errb.Bytes(), err
}

// oraclePool holds the idle servers of one Paimon version.
type oraclePool struct {
	version string
	slots   chan struct{} // one token per server that may exist
	mu      sync.Mutex
	idle    []*oracleServer
}

func oraclePoolOf(version string) *oraclePool {
	p, _ := oraclePools.LoadOrStore(version, &oraclePool{version: version, slots: make(chan struct{}, oracleServersPerVersion)})
	return p.(*oraclePool)
}

func (p *oraclePool) run(ctx context.Context, args []string, stdin string) (int, []byte, []byte, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	p.mu.Lock()
	var s *oracleServer
	if n := len(p.idle); n > 0 {
		s, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if s == nil {
		var err error
		if s, err = startOracleServer(p.version); err != nil {
			return 0, nil, nil, err
		}
	}
	code, out, errb, err := s.run(ctx, args, stdin)
	if err != nil {
		s.kill()
		return code, out, errb, err
	}
	p.mu.Lock()
	p.idle = append(p.idle, s)
	p.mu.Unlock()
	return code, out, errb, nil
}

// closeOraclePools ends every server (at the end of the suite).
func closeOraclePools() {
	oraclePools.Range(func(_, v any) bool {
		p := v.(*oraclePool)
		p.mu.Lock()
		for _, s := range p.idle {
			s.close()
		}
		p.idle = nil
		p.mu.Unlock()
		return true
	})
}

// oracleServer is one `compat/oracle serve` JVM.
type oracleServer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *lockedBuffer // the server's own diagnostics (a build, a crash)
	done   chan struct{}
}

func startOracleServer(version string) (*oracleServer, error) {
	oracleStarts.Add(1)
	cmd := exec.Command(filepath.Join(repoRoot(), "compat", "oracle"), "--paimon", version, "serve")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &oracleServer{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start compat/oracle --paimon %s serve: %w", version, err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	return s, nil
}

// run sends one request and reads its response; an error leaves the server unusable.
func (s *oracleServer) run(ctx context.Context, args []string, stdin string) (int, []byte, []byte, error) {
	var req bytes.Buffer
	fmt.Fprintf(&req, "%d %d\n", len(args), len(stdin))
	for _, a := range args {
		req.WriteString(a)
		req.WriteByte('\n')
	}
	req.WriteString(stdin)
	type result struct {
		code     int
		out, err []byte
		e        error
	}
	ch := make(chan result, 1)
	go func() {
		if _, err := s.in.Write(req.Bytes()); err != nil {
			ch <- result{e: fmt.Errorf("oracle server: send: %w", err)}
			return
		}
		code, out, errb, err := s.read()
		ch <- result{code, out, errb, err}
	}()
	select {
	case r := <-ch:
		if r.e != nil {
			r.e = fmt.Errorf("%w (server stderr: %s)", r.e, tail(s.stderr.String(), 2000))
		}
		return r.code, r.out, r.err, r.e
	case <-ctx.Done():
		s.kill()
		return 0, nil, nil, ctx.Err()
	}
}

func (s *oracleServer) read() (int, []byte, []byte, error) {
	header, err := s.out.ReadString('\n')
	if err != nil {
		return 0, nil, nil, fmt.Errorf("oracle server: read response: %w", err)
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		return 0, nil, nil, fmt.Errorf("oracle server: bad response header %q", header)
	}
	var n [3]int
	for i := range f {
		if n[i], err = strconv.Atoi(f[i]); err != nil {
			return 0, nil, nil, fmt.Errorf("oracle server: bad response header %q", header)
		}
	}
	out := make([]byte, n[1])
	errb := make([]byte, n[2])
	if _, err := io.ReadFull(s.out, out); err != nil {
		return 0, nil, nil, fmt.Errorf("oracle server: read stdout: %w", err)
	}
	if _, err := io.ReadFull(s.out, errb); err != nil {
		return 0, nil, nil, fmt.Errorf("oracle server: read stderr: %w", err)
	}
	return n[0], out, errb, nil
}

func (s *oracleServer) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

// close ends the server at the end of its input, killing it if it does not end soon.
func (s *oracleServer) close() {
	s.in.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

// lockedBuffer is a buffer a process writes while the suite may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestOnceInstallsOnce(t *testing.T) {
	base := filepath.Join(t.TempDir(), ".peer")
	var runs atomic.Int32
	install := func(ctx context.Context) error {
		runs.Add(1)
		time.Sleep(50 * time.Millisecond)
		return nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := Once(t.Context(), base, "v1", install); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("install ran %d times, want 1", runs.Load())
	}
	if err := Once(t.Context(), base, "v2", install); err != nil || runs.Load() != 2 {
		t.Fatalf("new version: err %v, runs %d; want a second install", err, runs.Load())
	}
}

func TestOnceFailureLeavesNoStamp(t *testing.T) {
	base := filepath.Join(t.TempDir(), ".peer")
	boom := errors.New("boom")
	if err := Once(t.Context(), base, "v1", func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Once = %v", err)
	}
	ran := false
	if err := Once(t.Context(), base, "v1", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("retry after failure: err %v, ran %v", err, ran)
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d, %v", p, err)
	}
}

func TestCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	t.Setenv("TARN_CACHE", dir)
	got, err := CacheDir()
	if err != nil || got != dir {
		t.Fatalf("CacheDir = %q, %v; want %q", got, err, dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("cache dir not created: %v", err)
	}
}

func TestProcessStopAndKill(t *testing.T) {
	dir := t.TempDir()
	for _, kill := range []bool{false, true} {
		p, err := Start(Command{Name: "sleep", Path: "/bin/sleep", Args: []string{"60"}, LogPath: filepath.Join(dir, "log")})
		if err != nil {
			t.Fatal(err)
		}
		if kill {
			p.Kill()
		} else {
			p.Stop(5 * time.Second)
		}
		select {
		case <-p.Exited():
		default:
			t.Fatal("process still running")
		}
		if p.ExitErr() == nil {
			t.Error("a signalled process reported a clean exit")
		}
	}
}

// TestServerDiesWithTestBinary runs a child test binary that starts a
// server and then panics; the server must not outlive it, and the next
// TempDir sweeps the child's directory.
func TestServerDiesWithTestBinary(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		p, err := Start(Command{Name: "sleep", Path: "/bin/sleep", Args: []string{"600"}, LogPath: os.Getenv("TESTENV_LOG")})
		if err != nil {
			t.Fatal(err)
		}
		dir, err := TempDir("tarn-testenv-child-")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(os.Getenv("TESTENV_PIDFILE"), []byte(strconv.Itoa(p.Pid())+" "+dir), 0o644)
		panic("test binary dies")
	}
	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "pid")
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestBinary$")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "TESTENV_PIDFILE="+pidFile, "TESTENV_LOG="+filepath.Join(tmp, "log"))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("child did not fail:\n%s", out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pidStr, childDir, _ := strings.Cut(string(b), " ")
	pid, _ := strconv.Atoi(pidStr)
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d outlived the test binary", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(childDir); err != nil {
		t.Fatalf("child dir: %v", err)
	}
	d, err := TempDir("tarn-testenv-child-")
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(d)
	if _, err := os.Stat(childDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale dir %s of a dead process was not swept: %v", childDir, err)
	}
}

func TestMinIO(t *testing.T) {
	s := MinIO(t)
	ctx := t.Context()
	fio, err := s.FileIO(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := s.URI("a", "b")
	if err := fio.WriteFile(ctx, p, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := fio.ReadFile(ctx, p); err != nil || string(got) != "x" {
		t.Fatalf("after Restart: %q, %v", got, err)
	}
	s.Kill()
	if _, err := fio.ReadFile(ctx, p); err == nil {
		t.Fatal("ReadFile from a killed server succeeded")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := fio.ReadFile(ctx, p); err != nil || string(got) != "x" {
		t.Fatalf("after Kill and Restart: %q, %v", got, err)
	}
}

func TestStartMinIOStop(t *testing.T) {
	if testing.Short() && !GoInstalled(MinIOPackage, MinIOVersion) {
		t.Skip("-short: MinIO not installed")
	}
	s, stop, err := StartMinIO(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pid := s.proc.Pid()
	stop()
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("server %d still running after stop", pid)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s not removed: %v", s.Dir, err)
	}
}

func TestDiffLines(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
		has       []string // substrings of the report; none: equal
	}{
		{"equal", []string{"a", "b"}, []string{"a", "b"}, nil},
		{"missing", []string{"a", "c"}, []string{"a", "b", "c"}, []string{"got 2 lines, want 3; first difference at line 1", "- b"}},
		{"extra duplicate", []string{"a", "b", "b"}, []string{"a", "b"}, []string{"first difference at line 2", "+ b"}},
		{"order", []string{"b", "a"}, []string{"a", "b"}, []string{"first difference at line 0", "same lines, in another order"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := DiffLines(tc.got, tc.want)
			if tc.has == nil {
				if d != "" {
					t.Fatalf("equal listings reported:\n%s", d)
				}
				return
			}
			for _, s := range tc.has {
				if !strings.Contains(d, s) {
					t.Errorf("report lacks %q:\n%s", s, d)
				}
			}
		})
	}
}

package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRequirements is the file pinning the Python packages tests run (pyarrow, the ADBC
// Flight SQL driver, confluent-kafka, fastavro): scripts/requirements-test.txt.
func TestRequirements() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "requirements-test.txt")
}

// PythonVenv returns the interpreter of the virtualenv CacheDir()/name holding the packages
// pinned in the requirements file, creating it with python3 -m venv and pip (from PyPI)
// on first use and again whenever the file's content changes; once across processes.
func PythonVenv(ctx context.Context, name, requirements string) (string, error) {
	data, err := os.ReadFile(requirements)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	sum := sha256.Sum256(data)
	version := hex.EncodeToString(sum[:6])
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, name)
	py := filepath.Join(dir, "bin", "python")
	stamp := filepath.Join(cache, "."+name)
	if _, err := os.Stat(py); err != nil {
		os.Remove(stamp + ".version") // stamp of a deleted venv
	}
	err = Once(ctx, stamp, version, func(ctx context.Context) error {
		python, err := basePython(dir)
		if err != nil {
			return err
		}
		start := time.Now()
		slog.Info("testenv: creating a Python virtualenv (the first time takes a minute or two)", "dir", dir, "requirements", requirements)
		os.RemoveAll(dir)
		for _, args := range [][]string{
			{python, "-m", "venv", dir},
			{py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", requirements},
		} {
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.SysProcAttr = sysProcAttr()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("testenv: %v: %w\n%s", args, err, tail(out, 4096))
			}
		}
		slog.Info("testenv: virtualenv ready", "dir", dir, "took", time.Since(start).Round(time.Second))
		return nil
	})
	if err != nil {
		return "", err
	}
	return py, nil
}

// basePython finds python3 on PATH, skipping the virtualenv dir itself (scripts/test puts
// its bin first on PATH, and a venv cannot be rebuilt by its own interpreter).
func basePython(dir string) (string, error) {
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil && (abs == dir || strings.HasPrefix(abs, dir+string(filepath.Separator))) {
			continue
		}
		p := filepath.Join(d, "python3")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("testenv: python3 (3.9 or newer, with venv) is needed for the Python clients; none on PATH")
}

// PythonInstalled reports whether PythonVenv(name, requirements) would find the
// virtualenv ready.
func PythonInstalled(name, requirements string) bool {
	data, err := os.ReadFile(requirements)
	cache, cerr := CacheDir()
	if err != nil || cerr != nil {
		return false
	}
	sum := sha256.Sum256(data)
	_, err = os.Stat(filepath.Join(cache, name, "bin", "python"))
	return err == nil && stampMatches(filepath.Join(cache, "."+name), hex.EncodeToString(sum[:6]))
}

// InstallPython installs the test virtualenv (TestRequirements) and returns its python.
func InstallPython(ctx context.Context) (string, error) {
	return PythonVenv(ctx, "venv-test", TestRequirements())
}

// Python returns the interpreter of the test virtualenv (pyarrow, adbc-driver-flightsql,
// confluent-kafka, ...), installing it on first use. The test fails if it cannot be
// installed; under -short it is skipped when the virtualenv is not ready yet.
func Python(t testing.TB) string {
	t.Helper()
	if testing.Short() && !PythonInstalled("venv-test", TestRequirements()) {
		t.Skip("-short: the test virtualenv is not installed (go run ./internal/testenv/install python)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	py, err := InstallPython(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return py
}

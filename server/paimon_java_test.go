package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
)

// TestPaimonRESTCatalogClient runs Apache Paimon's own RESTCatalog (the compatibility
// oracle's Paimon, compat/oracle) against the server: it must list, load and read what
// Tarn wrote, and create a table and commit into it through the REST catalog, which Tarn
// then reads.
func TestPaimonRESTCatalogClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or loads the Paimon oracle jar")
	}
	javac, err := exec.LookPath("javac")
	if err != nil {
		testenv.Missing(t, "no javac (a JDK 17)")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		testenv.Missing(t, "no java")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "compat", "oracle"), "--jar-path")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("compat/oracle --jar-path: %v\n%s", err, errb.String())
	}
	jar := strings.TrimSpace(out.String())
	classes := t.TempDir()
	if b, err := exec.CommandContext(ctx, javac, "-d", classes, "-cp", jar, filepath.Join("testdata", "RestSmoke.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, b)
	}

	s := startServer(t, func(c *Config) { c.Token = "s3cret"; c.Flight.Disabled = true })
	base := s.HTTPURL()
	h := "s3cret"
	for _, step := range []struct{ path, body string }{
		{"/api/v1/databases/db/tables", `{"name":"events","columns":"dt STRING NOT NULL, id BIGINT NOT NULL, v DOUBLE, note STRING","primaryKeys":["dt","id"],"partitionKeys":["dt"],"options":{"bucket":"2"}}`},
		{"/api/v1/databases/db/tables/events/rows", "{\"dt\":\"2026-01-01\",\"id\":1,\"v\":1.5,\"note\":\"a\"}\n{\"dt\":\"2026-01-01\",\"id\":2,\"v\":2.5}\n{\"dt\":\"2026-01-02\",\"id\":3,\"v\":3.5,\"note\":\"c\"}\n"},
	} {
		if st, b := call(t, http.DefaultClient, "POST", base+step.path, strings.NewReader(step.body), h); st/100 != 2 {
			t.Fatalf("POST %s: %d %s", step.path, st, b)
		}
	}
	run := exec.CommandContext(ctx, java, "-cp", jar+string(os.PathListSeparator)+classes, "RestSmoke", base, h, "tarn")
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("RestSmoke: %v\n%s\n%s", err, stdout.String(), tailString(stderr.String(), 4000))
	}
	want := []string{
		"databases [db]",
		"tables [events]",
		"schema [dt, id, v, note] pk [dt, id] partition [dt]",
		"row 2026-01-01|1|1.5|a",
		"row 2026-01-01|2|2.5|null",
		"row 2026-01-02|3|3.5|c",
		"snapshot 1",
		"partitions [{dt=2026-01-01}=2, {dt=2026-01-02}=1]",
		"jrow 2026-02-01|0|java0",
		"jrow 2026-02-01|7|round1",
		"jrow 2026-02-02|1|java1",
		"jsnapshot 2",
		"OK",
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("RestSmoke printed:\n%s\nwant:\n%s\nstderr:\n%s", stdout.String(), strings.Join(want, "\n"), tailString(stderr.String(), 4000))
	}
	// What Paimon committed through the catalog, Tarn reads.
	wantRows := "{\"dt\":\"2026-02-01\",\"id\":0,\"note\":\"java0\"}\n{\"dt\":\"2026-02-01\",\"id\":7,\"note\":\"round1\"}\n{\"dt\":\"2026-02-02\",\"id\":1,\"note\":\"java1\"}\n"
	if rows := scanRows(t, s.Catalog(), "jdb", "jt"); rows != wantRows {
		t.Errorf("Tarn reads the Paimon-written table as:\n%s\nwant:\n%s", rows, wantRows)
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func getStatus(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

// tarn serve compacts in the background with the flags' budget, answers the compaction
// routes, and with --no-compaction answers them 501.
func TestServeCompaction(t *testing.T) {
	t.Setenv("TARN_TOKEN", "")
	t.Setenv("TARN_CONFIG", "")
	for _, tc := range []struct {
		name  string
		args  []string
		line  string
		route int
	}{
		{"on", []string{"--compaction-workers", "1", "--compaction-memory", "64MiB", "--maintenance-interval", "2s"},
			"Compaction      1 workers, 64MiB of input at once", http.StatusOK},
		{"off", []string{"--no-compaction", "--maintenance-interval", "off"}, "Compaction      off", http.StatusNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := filepath.Join(t.TempDir(), "wh")
			base, out, stop := serve(t, append([]string{"--warehouse", wh, "--http", "127.0.0.1:0", "--flight", "off"}, tc.args...)...)
			if !strings.Contains(out.String(), tc.line) {
				t.Errorf("output lacks %q:\n%s", tc.line, out.String())
			}
			tables := base + "/api/v1/databases/db/tables"
			if st, b := post(t, tables, "", `{"name":"t","columns":"id BIGINT NOT NULL","primaryKeys":["id"],"options":{"bucket":"1","num-sorted-run.compaction-trigger":"2"}}`); st != 201 {
				t.Fatalf("create: %d %s", st, b)
			}
			for i := range 4 {
				if st, b := post(t, tables+"/t/rows", "", fmt.Sprintf(`{"id":%d}`, i)); st != 200 {
					t.Fatalf("write: %d %s", st, b)
				}
			}
			st, _ := getStatus(t, tables+"/t/compaction")
			if st != tc.route {
				t.Fatalf("GET compaction: %d, want %d", st, tc.route)
			}
			if tc.route == http.StatusOK {
				if st, b := post(t, tables+"/t/compaction?full=true", "", ""); st != http.StatusAccepted || !strings.Contains(b, `"full":true`) {
					t.Errorf("POST compaction: %d %s", st, b)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					_, v := getStatus(t, tables+"/t/compaction")
					totals, _ := v["totals"].(map[string]any)
					queued, _ := v["queued"].([]any)
					running, _ := v["running"].([]any)
					if n, _ := totals["compactions"].(float64); n > 0 && len(queued)+len(running) == 0 && v["maxSortedRuns"] == 1.0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("compaction status: %v", v)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

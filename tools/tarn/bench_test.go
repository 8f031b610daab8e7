package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// benchJSON is what tarn bench --json writes (the fields the tests look at).
type benchJSON struct {
	Results []struct {
		Name  string         `json:"name"`
		Rows  int64          `json:"rows"`
		Bytes int64          `json:"bytes"`
		CPUS  float64        `json:"cpu_s"`
		Extra map[string]any `json:"extra"`
	} `json:"results"`
}

// tarn bench ingest leaves a table whose compaction 'tarn bench compact' measures beside
// its physical limits: pqarrow decoding the table's files and encoding their rows again,
// and the codec alone decompressing and compressing their pages again; the ingest reports
// what its compactions rewrote.
func TestBenchIngestAndCompact(t *testing.T) {
	wh := t.TempDir()
	var results benchJSON
	out, errs, code := tarn(t, nil, "bench", "ingest", "--warehouse", wh, "--rows", "40000", "--keys", "30000", "--batch", "4096",
		"--commit-rows", "2000", "--compaction", "on", "--raw-parquet=false", "--quiet", "--json", "-")
	if code != 0 {
		t.Fatalf("bench ingest: exit %d: %s", code, errs)
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench ingest --json: %v\n%s", err, out)
	}
	vol, _ := results.Results[0].Extra["compaction_volume"].(map[string]any)
	if a, _ := vol["appended_rows"].(float64); a <= 0 || a > 40000 || vol["compactions"].(float64) < 1 || vol["input_rows"].(float64) <= 0 {
		t.Errorf("compaction volume of the ingest: %v", vol)
	}

	pagesOut := filepath.Join(t.TempDir(), "pages.bin")
	out, errs, code = tarn(t, nil, "bench", "compact", "--warehouse", wh, "--table", "bench.customer", "--pages-out", pagesOut, "--quiet", "--json", "-")
	if code != 0 {
		t.Fatalf("bench compact: exit %d: %s", code, errs)
	}
	results.Results = nil
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench compact --json: %v\n%s", err, out)
	}
	if len(results.Results) != 3 {
		t.Fatalf("bench compact: %d results, want tarn compact, the raw rewrite and the raw codec:\n%s", len(results.Results), out)
	}
	tc, raw, codec := results.Results[0], results.Results[1], results.Results[2]
	if tc.Name != "tarn compact" || raw.Name != "raw pqarrow decode and encode (same files)" || codec.Name != "raw codec decompress and compress (same pages)" {
		t.Fatalf("results %q, %q and %q", tc.Name, raw.Name, codec.Name)
	}
	// The codec alone sees every page of the same files, and zstd shrinks them again.
	pages, _ := codec.Extra["page_bytes"].(float64)
	packed, _ := codec.Extra["compressed_bytes"].(float64)
	if codec.Rows != raw.Rows || codec.Bytes != raw.Bytes || codec.CPUS <= 0 || packed <= 0 || packed >= pages {
		t.Errorf("raw codec: %d rows, %d bytes, %.3f CPU-s, pages of %.0f bytes compressed to %.0f; the raw rewrite: %d rows, %d bytes",
			codec.Rows, codec.Bytes, codec.CPUS, pages, packed, raw.Rows, raw.Bytes)
	}
	// --pages-out writes the same pages for a reference codec.
	if fi, err := os.Stat(pagesOut); err != nil || float64(fi.Size()) != pages {
		t.Errorf("--pages-out: %v (%v), want %.0f bytes of pages", fi, err, pages)
	}
	// The raw rewrite reads every file; the full compaction skips a bucket that background
	// compaction already left as one top-level run.
	if tc.Rows == 0 || raw.Rows != tc.Rows || raw.Bytes < tc.Bytes || raw.CPUS <= 0 {
		t.Errorf("tarn compact read %d bytes of %d rows, the raw rewrite %d rows (%d bytes, %.3f CPU-s): want every file", tc.Bytes, tc.Rows, raw.Rows, raw.Bytes, raw.CPUS)
	}
}

// tarn bench cdc ingests a topic of each CDC format through the embedded broker: every
// message is consumed, none is malformed, and each update (one in four) writes a -U/+U pair.
func TestBenchCDC(t *testing.T) {
	out, errs, code := tarn(t, nil, "bench", "cdc", "--messages", "3000", "--keys", "1000", "--commit-interval", "100ms", "--quiet", "--json", "-")
	if code != 0 {
		t.Fatalf("bench cdc: exit %d: %s", code, errs)
	}
	var results benchJSON
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench cdc --json: %v\n%s", err, out)
	}
	if len(results.Results) != 3 {
		t.Fatalf("%d results, want one per format:\n%s", len(results.Results), out)
	}
	for i, format := range []string{"debezium-json", "canal-json", "maxwell-json"} {
		r := results.Results[i]
		if r.Name != "cdc ingest "+format || r.Rows != 3000 || r.Bytes < 3000*200 || r.CPUS <= 0 || r.Extra["rows_written"] != float64(3750) {
			t.Errorf("%s: %+v", format, r)
		}
	}
}

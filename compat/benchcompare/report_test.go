package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/table"
)

func doc(env map[string]any, rs ...*result) *resultDoc { return &resultDoc{Results: rs, Env: env} }

func res(name string, rows int64, wall, cpu float64) *result {
	r := &result{Name: name, Rows: rows, WallS: wall, CPUS: cpu, PeakRSS: 300 << 20}
	r.RowsPerS, r.RowsPerCPUS, r.CPUSPerMRows = float64(rows)/wall, float64(rows)/cpu, cpu/(float64(rows)/1e6)
	return r
}

func lat(name string, p50, p99 float64) *result {
	return &result{Name: name, Latencies: 100, P50Ms: p50, P99Ms: p99, MaxMs: p99 * 2}
}

// fullReport is a report as a complete run assembles it, from measurements in the form
// 'tarn bench --json' and the oracle's bench print.
func fullReport(t *testing.T) *report {
	t.Helper()
	c := &config{keys: 10_000_000, rows: 10_000_000, puRows: 2_000_000, txnRows: 5_000_000, buckets: 4, commits: 200, tailCommits: 100, commitRows: 131072, warmupRows: 300000, repeat: 3, cmdline: "compat/bench-compare"}
	rep := newReport(c)
	rep.Machine = map[string]any{"cpu": "Test CPU", "num_cpu": 2, "loadavg_start": "1.00 1.00 1.00 1/1 1"}
	paimonEnv := map[string]any{"paimon": "1.4.2", "java": "OpenJDK 17"}

	up := doc(nil, res("tarn ingest upsert deduplicate compaction=on", 10_000_000, 40, 50), res("tarn ingest upsert deduplicate compaction=off", 10_000_000, 30, 40),
		res("raw pqarrow write (same rows)", 10_000_000, 12, 13), &result{Name: "input decode (subtracted)", Rows: 10_000_000, Bytes: 1_500_000_000, WallS: 5, CPUS: 6, RowsPerCPUS: 1.6e6, MBPerCPUS: 250})
	// What the compactions rewrote: Tarn's as 'tarn bench --json' prints it, Paimon's as
	// bench-compare reads it from Paimon's table.
	up.Results[0].Extra = map[string]any{"compaction_volume": map[string]any{"compactions": 60, "input_rows": 25_000_000, "appended_rows": 10_000_000}}
	rep.addRaw("ingest_upsert", up)
	rep.tarnIngest(rep.IngestUpsert, up)
	pu := res("paimon ingest upsert deduplicate compaction=on", 10_000_000, 100, 160)
	pu.Extra = map[string]any{"compaction_volume": table.CompactionVolume{Compactions: 55, InputRows: 21_000_000, AppendedRows: 10_000_000}}
	rep.paimonIngest(rep.IngestUpsert, doc(paimonEnv, pu), true)
	rep.paimonIngest(rep.IngestUpsert, doc(paimonEnv, res("paimon ingest upsert deduplicate compaction=off", 10_000_000, 80, 90)), false)

	ap := doc(nil, res("tarn ingest append", 5_000_000, 40, 50), res("raw pqarrow write (same rows)", 5_000_000, 20, 21))
	rep.tarnIngest(rep.IngestAppend, ap)
	rep.paimonIngest(rep.IngestAppend, doc(paimonEnv, res("paimon ingest append", 5_000_000, 80, 90)), true)

	sc := doc(nil, res("tarn scan full", 6_000_000, 4, 6), res("tarn scan where id < 1000000", 600_000, 1, 1.5), res("raw pqarrow decode (same files)", 8_000_000, 3, 4))
	ps := doc(paimonEnv, res("paimon scan full", 6_000_000, 8, 12), res("paimon scan where id < 1000000", 600_000, 2, 3))
	rep.scan("full", "bench.customer_compact", "", sc, ps)
	rep.scan("filtered", "bench.customer_compact", "id < 1000000", sc, ps)

	tc := &result{Name: "tarn compact", Rows: 10_000_000, Bytes: 200_000_000, WallS: 4, CPUS: 5, MBPerS: 50, MBPerCPUS: 40, Extra: map[string]any{"files_in": 100.0}}
	pc := &result{Name: "paimon compact", Rows: 10_000_000, Bytes: 200_000_000, WallS: 20, CPUS: 25, MBPerS: 10, MBPerCPUS: 8}
	rc := &result{Name: "raw pqarrow decode and encode (same files)", Rows: 10_000_000, Bytes: 200_000_000, WallS: 3, CPUS: 4, MBPerS: 66.7, MBPerCPUS: 50}
	zc := &result{Name: "raw codec decompress and compress (same pages)", Rows: 10_000_000, Bytes: 200_000_000, WallS: 2, CPUS: 2.5, MBPerS: 100, MBPerCPUS: 80,
		Extra: map[string]any{"page_bytes": 700_000_000.0}}
	rep.compaction(doc(map[string]any{"zstd_encoder": "C libzstd (cgo)"}, tc, rc, zc), doc(paimonEnv, pc), &refCodec{Version: "zstd v1.5.4", CompressMBs: 200, DecompressMBs: 700})

	rep.commit("local", doc(nil, lat("tarn commit", 8, 30)), doc(paimonEnv, lat("paimon commit", 25, 200)))
	rep.commit("minio", doc(nil, lat("tarn commit", 40, 90)), doc(paimonEnv, lat("paimon commit", 300, 900)))
	rep.tail(doc(nil,
		lat("tarn tail over Flight from tarn serve (DoPut, from files)", 20, 60),
		lat("tarn tail over Flight (commits from another process, polling 200ms)", 120, 230),
		lat("tarn tail over Flight from tarn serve (DoPut, with the Kafka log)", 18, 50),
		lat("tarn tail of the Kafka log (in process, not over Flight)", 30, 100)))
	rep.Physical.LocalDiskWriteMBs, rep.Physical.MinIOWriteMBs = 400, 60
	rep.finish(90 * time.Second)
	return rep
}

func TestReportHasEveryField(t *testing.T) {
	rep := fullReport(t)
	if m := missingFields(rep); len(m) > 0 {
		t.Fatalf("missing fields: %v", m)
	}
	// A report of a run without Paimon lacks Paimon's figures, and says which.
	c := &config{rows: 1000, keys: 1000}
	empty := newReport(c)
	empty.Machine = map[string]any{}
	empty.finish(time.Second)
	m := missingFields(empty)
	if len(m) != len(requiredFields) {
		t.Fatalf("an empty report lacks %d fields, want all %d: %v", len(m), len(requiredFields), m)
	}
}

func TestReportRatiosAndTargets(t *testing.T) {
	rep := fullReport(t)
	u := rep.IngestUpsert
	if got, want := u.TarnOverPaimonCore, (10e6/50)/(10e6/160); !near(got, want) {
		t.Errorf("upsert Tarn/Paimon per core %v, want %v", got, want)
	}
	if got, want := u.TarnOverRawPerCore, (10e6/50)/(10e6/13); !near(got, want) {
		t.Errorf("upsert Tarn/raw per core %v, want %v", got, want)
	}
	if u.TarnNoCompaction == nil || u.PaimonNoCompaction == nil {
		t.Error("compaction-off figures missing")
	}
	s := rep.Scan["full"]
	if got, want := s.TarnOverRawCPU, 4.0/6; !near(got, want) {
		t.Errorf("scan Tarn/raw (CPU) %v, want %v", got, want)
	}
	if got, want := s.TarnOverPaimon, 2.0; !near(got, want) {
		t.Errorf("scan Tarn/Paimon %v, want %v", got, want)
	}
	if got := rep.Compaction.TarnOverPaimon; !near(got, 5) {
		t.Errorf("compaction Tarn/Paimon %v, want 5", got)
	}
	met := map[string]bool{}
	for _, tg := range rep.Targets {
		if tg.Met == nil {
			t.Errorf("target %q not judged (%s)", tg.Name, tg.Measured)
			continue
		}
		met[tg.Name] = *tg.Met
	}
	want := map[string]bool{
		"upsert ingest per core, background compaction on":  true, // 3.2×
		"upsert ingest peak RSS":                            true,
		"full scan vs raw pqarrow decode of the same files": true, // 67%
		"full scan vs Paimon's reader":                      true,
		"compaction input per core":                         false, // 40 MB/s
		"commit p50 on MinIO":                               true,
		"tail p99 with the Kafka log, over Flight":          true,
		"tail p99 from files, over Flight":                  true,
	}
	for k, v := range want {
		got, ok := met[k]
		if !ok {
			t.Errorf("target %q absent", k)
		} else if got != v {
			t.Errorf("target %q met=%v, want %v", k, got, v)
		}
	}
}

func near(a, b float64) bool { return a > b*0.999 && a < b*1.001 }

func TestReportRendering(t *testing.T) {
	rep := fullReport(t)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if m := missingFields(&back); len(m) > 0 {
		t.Fatalf("after a JSON round trip (--docs-from) missing: %v", m)
	}
	var out bytes.Buffer
	printReport(&out, rep)
	for _, s := range []string{"Tarn/Paimon", "Upsert ingest", "Commit latency, MinIO", "with the Kafka log", "Targets:", "MISSED"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("printed table lacks %q:\n%s", s, out.String())
		}
	}
	md := markdown(&back)
	for _, s := range []string{"# Benchmarks", "do not edit by hand", "benchmarks.svg", "| CPU | Test CPU", "compat/bench-compare", "## Targets",
		"| rows compactions rewrote per row appended | 2.50 | 2.10 | 0.84× |",
		// Tarn: 5.00 µs per row, 4.00 without compaction; 3× Paimon: 16.00 / 3.
		"the whole ingest 5.00; the background compactions rewrite 2.50 rows per row appended (Paimon's: 2.10)",
		"3× Paimon means 5.33 µs per row: met.",
		"| input MB per CPU-second (per core) | 40.0 MB/s | 8.0 MB/s | 5.00× | 50.0 MB/s | 0.80× |",
		"pqarrow alone decoding and encoding the same files, unmerged: 50.0 MB/s; zstd alone decompressing and compressing their pages again: 80.0 MB/s",
		"| input MB per CPU-second; limit: zstd alone, decompressing and compressing the same pages | 40.0 MB/s | – | – | 80.0 MB/s | 0.50× |",
		// 200 MB of files, 700 MB of pages: 3.5 s to compress and 1 s to decompress them.
		"| input MB per CPU-second; limit: the reference C zstd on the same pages (zstd -b1) | 40.0 MB/s | – | – | 44.4 MB/s | 0.90× |",
		"(the reference C zstd: 44.4 MB/s)",
		"| zstd (reference, for the compaction's codec limit) | zstd v1.5.4 |",
		"| zstd encoder of Tarn's Parquet pages | C libzstd (cgo) |"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
	svg := chartSVG(&back)
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err != nil {
			if err != io.EOF {
				t.Fatalf("chart is not well-formed XML: %v", err)
			}
			break
		}
	}
	if n := strings.Count(svg, "<rect"); n < 15 {
		t.Errorf("chart has %d rects, want a bar per figure", n)
	}
}

// The upsert bullet of the docs works out, from the run's figures, what 3× Paimon leaves
// for compaction per rewritten row.
func TestUpsertBudget(t *testing.T) {
	for _, tc := range []struct {
		name              string
		tarn, off, paimon float64 // CPU-seconds per million rows
		rewritten         float64
		want              string
	}{
		{"met", 5, 4, 16, 2.5, "3× Paimon means 5.33 µs per row: met."},
		{"compaction too costly", 8.6, 3.5, 16.9, 2.5, "2.13 µs left for compaction, 0.85 µs per rewritten row, where the raw pqarrow\n  decode and encode of a row alone take 2.12 µs"},
		{"writer alone too costly", 8, 6, 16.9, 2.5, "3× Paimon means 5.63 µs per row: less than the writer alone takes"},
		{"no volume", 8, 6, 16.9, 0, "needs a fraction of the CPU"},
	} {
		rep := &report{IngestUpsert: &ingestCmp{TarnCPUSPerMRows: tc.tarn, PaimonCPUSPerMRows: tc.paimon, TarnRewrittenPerRow: tc.rewritten,
			TarnNoCompaction: &side{CPUSPerMRows: tc.off}}}
		rep.Physical.DecodeRowsCPUS, rep.Physical.EncodeRowsCPUS = 2.5e6, 1e6/1.72 // 0.40 + 1.72 µs per row
		if got := upsertBudget(rep); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.want)
		}
	}
}

// The compaction bullet of the docs sets the compaction against pqarrow alone and the codec
// alone, and says when the codec alone is below the target.
func TestCompactionBudget(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		tarn, raw, codec, ref float64 // MB of input per CPU-second
		want, wantAlso        string
	}{
		// 14.7 MB/s for pqarrow with a 37.7 MB/s codec: 0.0415 CPU-seconds per MB outside
		// it; the C codec at 50.5 MB/s: 0.0198. At 50 MB/s: 0.99 + 2.08.
		{"C codec", 12.0, 14.7, 37.7, 50.5,
			"12.0 MB of input per CPU-second, 82% of pqarrow alone", "the pages are 3.5× the files' bytes), and the reference C zstd (zstd -b1, the library Paimon\n  compresses with) at 50.5 MB/s. At 50 MB/s, one second of a core would have to hold 0.99 CPU-seconds of\n  the fastest codec's work and 2.08 of pqarrow decoding and encoding outside it, 3.1× what a core does"},
		{"no reference codec", 10.6, 12.4, 28.9, 0, "runs at 28.9 MB/s", "hold 1.73 CPU-seconds of\n  the fastest codec's work and 2.30 of pqarrow"},
		{"no codec figure", 40, 50, 0, 0, "(50.0 MB/s). The same input", ""},
	} {
		rep := &report{Compaction: &compactCmp{TarnMBPerCPUS: tc.tarn, RawMBPerCPUS: tc.raw, TarnOverRaw: tc.tarn / tc.raw, CodecMBPerCPUS: tc.codec,
			RefZstdInMBs: tc.ref, InputBytes: 100e6, PageBytes: 350e6}}
		got := compactionBudget(rep)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.want)
		}
		if tc.wantAlso != "" && !strings.Contains(got, tc.wantAlso) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.wantAlso)
		}
	}
}

// The result of 'zstd -b' is read from its last rewrite of the line.
func TestParseZstdBench(t *testing.T) {
	out := "Loading pages.bin...       \r 1#pages.bin         : 326026874 ->  86422257 (x3.772),  222.7 MB/s  \r" +
		" 1#pages.bin         : 326026874 ->  86422257 (x3.772),  222.7 MB/s,  521.0 MB/s \r" +
		" 1#pages.bin         : 326026874 ->  86422257 (x3.772),  222.7 MB/s,  732.7 MB/s \n"
	got, err := parseZstdBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.CompressMBs != 222.7 || got.DecompressMBs != 732.7 {
		t.Errorf("parsed %+v, want 222.7 and 732.7 MB/s", got)
	}
	if _, err := parseZstdBench("zstd: pages.bin: No such file or directory\n"); err == nil {
		t.Error("an output without a result parsed")
	}
}

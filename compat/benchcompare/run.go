package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
)

// runAll runs every section and assembles the report. A failed step is noted and the
// others still run; the error then names every failure.
func runAll(ctx context.Context, c *config) (*report, error) {
	r := &runner{c: c, start: time.Now()}
	rep := newReport(c)
	var failures []string
	fail := func(step string, err error) {
		r.logf("FAILED %s: %v", step, err)
		failures = append(failures, step)
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s failed: %s", step, firstLine(err.Error())))
	}

	work := c.work
	if work == "" {
		d, err := os.MkdirTemp("", "tarn-bench-compare-")
		if err != nil {
			return nil, err
		}
		work = d
		if !c.keep {
			defer os.RemoveAll(d)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	r.work, _ = filepath.Abs(work)
	r.wh = filepath.Join(r.work, "warehouse")
	r.logf("working directory %s", r.work)

	r.tarn = filepath.Join(r.work, "tarn")
	r.logf("building tarn")
	if _, err := r.command(ctx, "go", "build", "-o", r.tarn, "./tools/tarn"); err != nil {
		return nil, err
	}
	rep.Versions["tarn"] = gitDescribe(ctx, r)
	rep.Versions["go"] = runtime.Version()
	if v, err := r.command(ctx, "go", "list", "-m", "-f", "{{.Version}}", "github.com/apache/arrow-go/v18"); err == nil {
		rep.Versions["arrow-go"] = v
	}
	if !c.noPaimon {
		r.logf("building or finding the Paimon oracle (compat/oracle)")
		jar, err := r.command(ctx, filepath.Join(c.repo, "compat", "oracle"), "--jar-path")
		if err != nil {
			return nil, err
		}
		r.jar = jar
		r.java = "java"
		if j := os.Getenv("ORACLE_JAVA"); j != "" {
			r.java = j
		} else if h := os.Getenv("JAVA_HOME"); h != "" {
			r.java = filepath.Join(h, "bin", "java")
		}
		rep.Versions["paimon"] = "1.4.2 (compat/oracle default)"
	}
	if !c.noMinIO && (c.section("commit") || c.section("io")) {
		r.logf("starting MinIO (internal/testenv; built on first use)")
		s, stop, err := testenv.StartMinIO(ctx)
		if err != nil {
			fail("starting MinIO", err)
		} else {
			defer stop()
			r.minio = s
			r.s3Flags = []string{"--s3-endpoint", s.URL, "--s3-access-key", s.AccessKey, "--s3-secret-key", s.SecretKey, "--s3-region", "us-east-1"}
			r.s3Env = []string{"TARN_S3_ENDPOINT=" + s.URL, "AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey, "AWS_REGION=us-east-1"}
			rep.Versions["minio"] = testenv.MinIOVersion
		}
	}
	rep.Machine = machineInfo()

	// Inputs: generated once, read by both sides.
	cust := filepath.Join(r.work, "customer.parquet")
	custPU := filepath.Join(r.work, "customer-pu.parquet")
	txn := filepath.Join(r.work, "transactions.parquet")
	needInput := c.section("ingest") || c.section("scan") || c.section("compact") || c.section("commit")
	if needInput {
		gens := [][]string{
			{"--workload", "customer", "--rows", itoa(c.rows), "--keys", itoa(c.keys), "--out", cust},
			{"--workload", "customer", "--rows", itoa(c.puRows), "--keys", itoa(c.keys), "--out", custPU},
			{"--workload", "transactions", "--rows", itoa(c.txnRows), "--out", txn},
		}
		for _, g := range gens {
			r.logf("generating %s", filepath.Base(g[len(g)-1]))
			if _, err := r.command(ctx, r.tarn, append([]string{"bench", "gen"}, g...)...); err != nil {
				return rep, err
			}
		}
	}
	ingested := map[string]bool{}

	if c.section("ingest") || c.section("scan") || c.section("compact") {
		// Upsert, deduplicate: Tarn with and without background compaction and the raw
		// pqarrow write of the same rows in one process, then Paimon in its own.
		if d, err := r.tarnBench(ctx, "ingest upsert (deduplicate)", "ingest", "--warehouse", r.wh, "--input", cust, "--table", "bench.customer", "--buckets", itoa(int64(c.buckets)),
			"--commit-rows", itoa(c.commitRows)); err != nil {
			fail("tarn ingest upsert", err)
		} else {
			rep.addRaw("ingest_upsert", d)
			rep.tarnIngest(rep.IngestUpsert, d)
			ingested["customer"] = true
		}
		if !c.noPaimon && c.section("ingest") {
			modes := []string{"on"}
			if c.paimonOff {
				modes = append(modes, "off")
			}
			for _, on := range modes {
				name := "bench.customer_paimon"
				if on == "off" {
					name += "_nocompact"
				}
				p, err := r.createTable(ctx, r.wh, name, "customer", true, "deduplicate")
				if err == nil {
					var d *resultDoc
					if d, err = r.paimonBench(ctx, "ingest upsert (deduplicate) compaction="+on, false, "ingest", p, "--input", cust, "--compaction", on,
						"--commit-rows", itoa(c.commitRows), "--warmup-rows", itoa(c.warmupRows)); err == nil {
						err = addCompactionVolume(ctx, p, d.find("paimon ingest"))
						rep.addRaw("ingest_upsert", d)
						rep.paimonIngest(rep.IngestUpsert, d, on == "on")
					}
				}
				if err != nil {
					fail("paimon ingest upsert compaction="+on, err)
				}
			}
		}
	}
	if c.section("ingest") {
		// Upsert, partial-update.
		if d, err := r.tarnBench(ctx, "ingest upsert (partial-update)", "ingest", "--warehouse", r.wh, "--input", custPU, "--table", "bench.customer_pu", "--engine", "partial-update",
			"--compaction", "on", "--raw-parquet=false", "--buckets", itoa(int64(c.buckets)), "--commit-rows", itoa(c.commitRows)); err != nil {
			fail("tarn ingest partial-update", err)
		} else {
			rep.addRaw("ingest_upsert_partial_update", d)
			rep.tarnIngest(rep.IngestPartial, d)
		}
		if !c.noPaimon {
			p, err := r.createTable(ctx, r.wh, "bench.customer_pu_paimon", "customer", true, "partial-update")
			if err == nil {
				var d *resultDoc
				if d, err = r.paimonBench(ctx, "ingest upsert (partial-update)", false, "ingest", p, "--input", custPU, "--compaction", "on",
					"--commit-rows", itoa(c.commitRows), "--warmup-rows", itoa(c.warmupRows)); err == nil {
					err = addCompactionVolume(ctx, p, d.find("paimon ingest"))
					rep.addRaw("ingest_upsert_partial_update", d)
					rep.paimonIngest(rep.IngestPartial, d, true)
				}
			}
			if err != nil {
				fail("paimon ingest partial-update", err)
			}
		}
	}
	if c.section("ingest") || c.section("scan") {
		// Append: transactions, partitioned by day.
		if d, err := r.tarnBench(ctx, "ingest append (transactions)", "ingest", "--warehouse", r.wh, "--input", txn, "--table", "bench.transactions", "--compaction", "off",
			"--commit-rows", itoa(c.commitRows)); err != nil {
			fail("tarn ingest append", err)
		} else {
			rep.addRaw("ingest_append", d)
			rep.tarnIngest(rep.IngestAppend, d)
			ingested["transactions"] = true
		}
		if !c.noPaimon && c.section("ingest") {
			p, err := r.createTable(ctx, r.wh, "bench.transactions_paimon", "transactions", false, "")
			if err == nil {
				var d *resultDoc
				if d, err = r.paimonBench(ctx, "ingest append (transactions)", false, "ingest", p, "--input", txn,
					"--commit-rows", itoa(c.commitRows), "--warmup-rows", itoa(c.warmupRows)); err == nil {
					rep.addRaw("ingest_append", d)
					rep.paimonIngest(rep.IngestAppend, d, true)
				}
			}
			if err != nil {
				fail("paimon ingest append", err)
			}
		}
	}

	if c.section("scan") {
		// Both readers read the same table: the one Tarn's upsert run left with
		// background compaction on (levels 0 to 5: a merge-on-read).
		scans := []struct {
			key, table, where, full, filtered string
			need                              string
		}{
			{"customer", "bench.customer_compact", "id < " + itoa(c.keys/10), "full", "filtered", "customer"},
			{"transactions", "bench.transactions", "dt = '2024-01-05'", "append_full", "append_filtered", "transactions"},
		}
		for _, s := range scans {
			if !ingested[s.need] {
				continue
			}
			d, err := r.tarnBench(ctx, "scan "+s.table, "scan", "--warehouse", r.wh, "--table", s.table, "--where", s.where, "--repeat", strconv.Itoa(c.repeat))
			if err != nil {
				fail("tarn scan "+s.table, err)
				continue
			}
			rep.addRaw("scan", d)
			var pd *resultDoc
			if !c.noPaimon {
				pd, err = r.paimonBench(ctx, "scan "+s.table, false, "scan", tablePath(r.wh, s.table), "--where", s.where, "--threads", strconv.Itoa(runtime.NumCPU()),
					"--repeat", strconv.Itoa(c.repeat))
				if err != nil {
					fail("paimon scan "+s.table, err)
				} else {
					rep.addRaw("scan", pd)
				}
			}
			rep.scan(s.full, s.table, "", d, pd)
			rep.scan(s.filtered, s.table, s.where, d, pd)
		}
	}

	if c.section("compact") && ingested["customer"] {
		// The same input twice: the table the upsert run left without background
		// compaction (level-0 files only), fully compacted by each side.
		src := tablePath(r.wh, "bench.customer_nocompact")
		var td, pd *resultDoc
		var err error
		// The decompressed pages of the same files, for the reference zstd (the C library
		// Paimon compresses with through zstd-jni) when its command is installed.
		zstdCLI, _ := exec.LookPath("zstd")
		pages := filepath.Join(r.work, "compaction-pages.bin")
		args := []string{"compact", "--warehouse", r.wh, "--table", "bench.compact_tarn"}
		if zstdCLI != "" {
			args = append(args, "--pages-out", pages)
		}
		if err = copyDir(src, tablePath(r.wh, "bench.compact_tarn")); err == nil {
			td, err = r.tarnBench(ctx, "compact (full)", args...)
		}
		if err != nil {
			fail("tarn compact", err)
		} else {
			rep.addRaw("compaction", td)
		}
		var ref *refCodec
		if zstdCLI != "" && err == nil {
			r.logf("reference zstd on the compaction's pages")
			if ref, err = r.benchZstdCLI(ctx, zstdCLI, pages); err != nil {
				fail("reference zstd", err)
			}
		}
		os.Remove(pages)
		if !c.noPaimon {
			dst := tablePath(r.wh, "bench.compact_paimon")
			if err = copyDir(src, dst); err == nil {
				pd, err = r.paimonBench(ctx, "compact (full)", false, "compact", dst, "--full", "--input", cust, "--warmup-rows", itoa(c.warmupRows))
			}
			if err != nil {
				fail("paimon compact", err)
			} else {
				rep.addRaw("compaction", pd)
			}
		}
		rep.compaction(td, pd, ref)
	}

	if c.section("commit") {
		type target struct {
			key, warehouse string
			s3             bool
		}
		targets := []target{{"local", r.wh, false}}
		if r.minio != nil {
			targets = append(targets, target{"minio", r.minio.URI("warehouse"), true})
		}
		for _, t := range targets {
			args := []string{"commit", "--warehouse", t.warehouse, "--commits", strconv.Itoa(c.commits), "--buckets", itoa(int64(c.buckets))}
			if t.s3 {
				args = append(args, r.s3Flags...)
			}
			td, err := r.tarnBench(ctx, "commit latency ("+t.key+")", args...)
			if err != nil {
				fail("tarn commit "+t.key, err)
			} else {
				rep.addRaw("commit_"+t.key, td)
			}
			var pd *resultDoc
			if !c.noPaimon {
				p, err := r.createTable(ctx, t.warehouse, "bench.commit_paimon", "customer", true, "deduplicate")
				if err == nil {
					pd, err = r.paimonBench(ctx, "commit latency ("+t.key+")", t.s3, "commit", p, "--input", cust, "--commits", strconv.Itoa(c.commits))
				}
				if err != nil {
					fail("paimon commit "+t.key, err)
				} else {
					rep.addRaw("commit_"+t.key, pd)
				}
			}
			rep.commit(t.key, td, pd)
		}
	}

	if c.section("tail") {
		args := []string{"tail", "--warehouse", filepath.Join(r.work, "tail-warehouse"), "--commits", strconv.Itoa(c.tailCommits),
			"--mode", "serve", "--mode", "flight-poll"}
		if !c.noKafka {
			args = append(args, "--mode", "serve-log", "--mode", "log")
		}
		d, err := r.tarnBench(ctx, "tail latency", args...)
		if err != nil && !c.noKafka {
			// The log system may not be usable: measure the file tails alone.
			fail("tarn tail (with the Kafka log)", err)
			d, err = r.tarnBench(ctx, "tail latency (files only)", args[:len(args)-4]...)
		}
		if err != nil {
			fail("tarn tail", err)
		} else {
			rep.addRaw("tail", d)
			rep.tail(d)
		}
	}

	if c.section("io") {
		size := "1073741824"
		if c.quick {
			size = "268435456"
		}
		d, err := r.tarnBench(ctx, "raw local disk write", "io", "--warehouse", filepath.Join(r.work, "io"), "--size", size)
		if err != nil {
			fail("local disk write", err)
		} else {
			rep.addRaw("io", d)
			rep.Physical.LocalDiskWriteMBs = d.Results[0].MBPerS
		}
		if r.minio != nil {
			d, err := r.tarnBench(ctx, "raw MinIO write", append([]string{"io", "--warehouse", r.minio.URI("io"), "--size", size}, r.s3Flags...)...)
			if err != nil {
				fail("MinIO write", err)
			} else {
				rep.addRaw("io", d)
				rep.Physical.MinIOWriteMBs = d.Results[0].MBPerS
			}
		}
	}

	rep.finish(time.Since(r.start))
	if len(failures) > 0 {
		return rep, fmt.Errorf("%d step(s) failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return rep, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func gitDescribe(ctx context.Context, r *runner) string {
	rev, err := r.command(ctx, "git", "rev-parse", "--short=12", "HEAD")
	if err != nil {
		return "unknown"
	}
	if st, err := r.command(ctx, "git", "status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		rev += " (with uncommitted changes)"
	}
	return rev
}

// machineInfo describes the machine: CPU model, cores, memory, kernel, load.
func machineInfo() map[string]any {
	m := map[string]any{"num_cpu": runtime.NumCPU(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					m["memory_gib"] = float64(kb) / (1 << 20)
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["loadavg_start"] = strings.TrimSpace(string(b))
	}
	return m
}

// refCodec is the reference zstd's speed on the pages of the compaction's input.
type refCodec struct {
	Version       string  `json:"version"`
	CompressMBs   float64 `json:"compress_mb_s"`
	DecompressMBs float64 `json:"decompress_mb_s"`
}

// zstdBench matches the result of 'zstd -b' (ratio, compression and decompression speed),
// zstdVersion the version in 'zstd --version'.
var (
	zstdBench   = regexp.MustCompile(`\(x([0-9.]+)\),\s+([0-9.]+) MB/s,\s+([0-9.]+) MB/s`)
	zstdVersion = regexp.MustCompile(`v[0-9]+\.[0-9]+\.[0-9]+`)
)

// benchZstdCLI runs the zstd command's benchmark (one thread, level 1, 64 KiB blocks as
// the pages are) on a file of pages.
func (r *runner) benchZstdCLI(ctx context.Context, cli, pages string) (*refCodec, error) {
	out, err := exec.CommandContext(ctx, cli, "-b1", "-B65536", pages).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s -b1: %w: %s", cli, err, tail(string(out), 500))
	}
	ref, err := parseZstdBench(string(out))
	if err != nil {
		return nil, err
	}
	if v, err := r.command(ctx, cli, "--version"); err == nil {
		ref.Version = "zstd " + cmp.Or(zstdVersion.FindString(v), v)
	}
	return ref, nil
}

// parseZstdBench reads the last result of 'zstd -b' output (which rewrites its line as
// it goes).
func parseZstdBench(out string) (*refCodec, error) {
	m := zstdBench.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return nil, fmt.Errorf("no result in zstd -b output: %q", tail(out, 300))
	}
	last := m[len(m)-1]
	c, _ := strconv.ParseFloat(last[2], 64)
	d, _ := strconv.ParseFloat(last[3], 64)
	if c <= 0 || d <= 0 {
		return nil, fmt.Errorf("zstd -b result %q", last[0])
	}
	return &refCodec{CompressMBs: c, DecompressMBs: d}, nil
}

// Command benchcompare runs Tarn's and Apache Paimon's (Java) benchmarks side by side on
// this machine, with the same seeded input, the same tables and options, next to the
// physical limits (raw pqarrow encode and decode of the same rows, raw local-disk and
// MinIO write throughput), and prints and writes the comparison. compat/bench-compare
// runs it; see docs/benchmarks.md.
//
// Tarn's measurements are 'tarn bench' subcommands and Paimon's the oracle's 'bench'
// command (compat/paimon-oracle, Paimon's Java API), each in a process of its own so
// that CPU time (getrusage / the JVM's process CPU time) and peak RSS (VmHWM) are the
// measurement's alone.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/internal/workload"
	"github.com/tarnlake/tarn/table"
)

type config struct {
	quick       bool
	keys        int64
	rows        int64 // customer upsert rows (deduplicate)
	puRows      int64 // customer upsert rows (partial-update)
	txnRows     int64 // transactions append rows
	commitRows  int64 // ingest commits every commitRows rows, on both sides
	warmupRows  int64 // Paimon's JIT warm-up before ingest and compaction
	repeat      int   // runs of each scan (the least CPU kept)
	commits     int
	tailCommits int
	buckets     int
	jsonPath    string
	updateDocs  bool
	docsFrom    string
	work        string
	keep        bool
	noPaimon    bool
	noMinIO     bool
	noKafka     bool
	paimonOff   bool // Paimon's write-only ingest beside Tarn's compaction-off run
	jvmOpts     string
	only        string
	repo        string
	cmdline     string
}

func main() {
	os.Exit(run())
}

func run() int {
	var c config
	fs := flag.NewFlagSet("bench-compare", flag.ContinueOnError)
	fs.BoolVar(&c.quick, "quick", false, "small sizes: under 5 minutes on 2 cores")
	fs.Int64Var(&c.keys, "keys", 0, "customer key space (default 10M; --quick 1M)")
	fs.Int64Var(&c.rows, "rows", 0, "customer rows upserted with the deduplicate engine (default 10M; --quick 500k)")
	fs.Int64Var(&c.puRows, "partial-update-rows", 0, "customer rows upserted with the partial-update engine (default rows/5)")
	fs.Int64Var(&c.txnRows, "txn-rows", 0, "transactions rows appended (default rows/2)")
	fs.Int64Var(&c.commitRows, "commit-rows", 0, "ingest commits every N rows on both sides (default 131072; --quick 32768)")
	fs.Int64Var(&c.warmupRows, "warmup-rows", 0, "rows Paimon writes and compacts in a scratch table first, to warm its JIT up (default 300k; --quick 50k)")
	fs.IntVar(&c.repeat, "repeat", 0, "runs of each scan, the one with the least CPU time kept (default 2)")
	fs.IntVar(&c.commits, "commits", 0, "commits timed by the commit benchmarks (default 100; --quick 20)")
	fs.IntVar(&c.tailCommits, "tail-commits", 0, "commits timed by the tail benchmarks (default 100; --quick 20)")
	fs.IntVar(&c.buckets, "buckets", 4, "buckets of the customer table")
	fs.StringVar(&c.jsonPath, "json", "", "write the comparison as JSON to FILE")
	fs.BoolVar(&c.updateDocs, "update-docs", false, "rewrite docs/benchmarks.md and docs/benchmarks.svg from this run")
	fs.StringVar(&c.docsFrom, "docs-from", "", "only render docs/benchmarks.md and the chart from a JSON file of an earlier run")
	fs.StringVar(&c.work, "work", "", "working directory (default: a temporary one, removed at the end)")
	fs.BoolVar(&c.keep, "keep", false, "keep the working directory")
	fs.BoolVar(&c.noPaimon, "no-paimon", false, "skip Apache Paimon's side")
	fs.BoolVar(&c.noMinIO, "no-minio", false, "skip the MinIO measurements")
	fs.BoolVar(&c.noKafka, "no-kafka", false, "skip the Kafka log tail")
	fs.BoolVar(&c.paimonOff, "paimon-compaction-off", false, "also time Paimon's upsert ingest without compaction (write-only)")
	fs.StringVar(&c.jvmOpts, "jvm-opts", "", "extra JVM options for Paimon's side (default: none, the JVM's defaults)")
	fs.StringVar(&c.only, "only", "", "run only these sections (comma-separated: ingest, scan, compact, commit, tail, io)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	c.cmdline = "compat/bench-compare " + strings.Join(os.Args[1:], " ")
	wd, _ := os.Getwd()
	c.repo = findRepo(wd)
	if c.repo == "" {
		fmt.Fprintln(os.Stderr, "bench-compare: run it from the Tarn repository")
		return 2
	}
	if c.docsFrom != "" {
		b, err := os.ReadFile(c.docsFrom)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-compare:", err)
			return 1
		}
		var rep report
		if err := json.Unmarshal(b, &rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench-compare:", c.docsFrom, err)
			return 1
		}
		if err := writeDocs(c.repo, &rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench-compare:", err)
			return 1
		}
		return 0
	}
	c.defaults()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runAll(ctx, &c)
	if rep != nil && err == nil && c.only == "" && !c.noPaimon && !c.noMinIO && !c.noKafka {
		if m := missingFields(rep); len(m) > 0 {
			err = fmt.Errorf("the comparison lacks %d field(s): %s", len(m), strings.Join(m, ", "))
			rep.Notes = append(rep.Notes, err.Error())
		}
	}
	if rep != nil {
		printReport(os.Stdout, rep)
		if c.jsonPath != "" {
			if werr := writeJSON(c.jsonPath, rep); werr != nil {
				fmt.Fprintln(os.Stderr, "bench-compare:", werr)
				return 1
			}
		}
		if c.updateDocs && err == nil {
			if werr := writeDocs(c.repo, rep); werr != nil {
				fmt.Fprintln(os.Stderr, "bench-compare:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-compare: error:", err)
		return 1
	}
	return 0
}

func (c *config) defaults() {
	def := func(v *int64, full, quick int64) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	def(&c.keys, 10_000_000, 1_000_000)
	def(&c.rows, 10_000_000, 500_000)
	def(&c.puRows, c.rows/5, c.rows/5)
	def(&c.txnRows, c.rows/2, c.rows/2)
	def(&c.commitRows, 131072, 32768)
	def(&c.warmupRows, 300_000, 50_000)
	defInt := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	defInt(&c.repeat, 2, 2)
	defInt(&c.commits, 100, 20)
	defInt(&c.tailCommits, 100, 20)
}

func (c *config) section(name string) bool {
	if c.only == "" {
		return true
	}
	for _, s := range strings.Split(c.only, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

func findRepo(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/tarnlake/tarn") {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// runner runs the measurement processes.
type runner struct {
	c       *config
	start   time.Time
	tarn    string // the tarn binary
	jar     string // the oracle's jar
	java    string
	work    string
	wh      string // local warehouse
	minio   *testenv.MinIOServer
	s3Flags []string
	s3Env   []string
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-compare [%5.0fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// result is one measurement as 'tarn bench --json' and the oracle's bench write it.
type result struct {
	Name         string         `json:"name"`
	Rows         int64          `json:"rows"`
	Bytes        int64          `json:"bytes"`
	WallS        float64        `json:"wall_s"`
	CPUS         float64        `json:"cpu_s"`
	RowsPerS     float64        `json:"rows_s"`
	MBPerS       float64        `json:"mb_s"`
	RowsPerCPUS  float64        `json:"rows_per_cpu_s"`
	MBPerCPUS    float64        `json:"mb_per_cpu_s"`
	CPUSPerMRows float64        `json:"cpu_s_per_mrows"`
	PeakRSS      int64          `json:"peak_rss_bytes"`
	Latencies    int            `json:"latencies,omitempty"`
	P50Ms        float64        `json:"p50_ms,omitempty"`
	P99Ms        float64        `json:"p99_ms,omitempty"`
	MaxMs        float64        `json:"max_ms,omitempty"`
	Extra        map[string]any `json:"extra,omitempty"`
}

type resultDoc struct {
	Results []*result      `json:"results"`
	Env     map[string]any `json:"env"`
}

func (d *resultDoc) find(prefix string) *result {
	for _, r := range d.Results {
		if strings.HasPrefix(r.Name, prefix) {
			return r
		}
	}
	return nil
}

// tarnBench runs 'tarn bench ARGS --json FILE --quiet'.
func (r *runner) tarnBench(ctx context.Context, label string, args ...string) (*resultDoc, error) {
	out := filepath.Join(r.work, fmt.Sprintf("tarn-%d.json", time.Now().UnixNano()))
	args = append(append([]string{"bench"}, args...), "--json", out, "--quiet")
	r.logf("tarn %s", label)
	cmd := exec.CommandContext(ctx, r.tarn, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tarn %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return readDoc(out)
}

// paimonBench runs the oracle's 'bench ARGS' in a JVM of its own.
func (r *runner) paimonBench(ctx context.Context, label string, s3 bool, args ...string) (*resultDoc, error) {
	r.logf("paimon %s", label)
	jargs := []string{"-Duser.timezone=UTC", "-Djava.io.tmpdir=" + r.work}
	if r.c.jvmOpts != "" {
		jargs = append(jargs, strings.Fields(r.c.jvmOpts)...)
	}
	jargs = append(jargs, "-jar", r.jar, "bench")
	jargs = append(jargs, args...)
	cmd := exec.CommandContext(ctx, r.java, jargs...)
	cmd.Env = os.Environ()
	if s3 {
		cmd.Env = append(cmd.Env, r.s3Env...)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("paimon bench %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	var d resultDoc
	if err := json.Unmarshal([]byte(stdout.String()), &d); err != nil {
		return nil, fmt.Errorf("paimon bench %s: output: %w\n%s", strings.Join(args, " "), err, tail(stdout.String(), 500))
	}
	return &d, nil
}

func readDoc(path string) (*resultDoc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d resultDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func (r *runner) command(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.c.repo
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return strings.TrimSpace(string(out)), nil
}

// createTable creates a table of a workload in a warehouse (local, or MinIO's) for
// Paimon's side: the same schema and options 'tarn bench' gives its own tables.
func (r *runner) createTable(ctx context.Context, warehouse, name, wl string, pk bool, engine string) (string, error) {
	var fio fileio.FileIO
	var err error
	if strings.HasPrefix(warehouse, "s3://") {
		fio, err = r.minio.FileIO(ctx)
	} else {
		fio = fileio.NewLocal()
	}
	if err != nil {
		return "", err
	}
	cat := catalog.New(fio, warehouse)
	id, err := catalog.ParseIdentifier(name)
	if err != nil {
		return "", err
	}
	if err := cat.DropTable(ctx, id, true); err != nil {
		return "", err
	}
	spec := catalog.TableSpec{Options: map[string]string{"file.format": "parquet", "file.compression": "zstd"}}
	if wl == "customer" {
		spec.Fields = workload.Fields(workload.CustomerSchema)
	} else {
		spec.Fields = workload.Fields(workload.TransactionSchema)
		spec.PartitionKeys = []string{"dt"}
	}
	if pk {
		spec.PrimaryKeys = []string{"id"}
		spec.Options["bucket"] = fmt.Sprint(r.c.buckets)
		spec.Options["merge-engine"] = engine
		spec.Options["target-file-size"] = "128 mb"
	} else {
		spec.Options["bucket"] = "-1"
		spec.Options["target-file-size"] = "256 mb"
	}
	t, err := cat.CreateTable(ctx, id, spec, false)
	if err != nil {
		return "", err
	}
	return t.Path(), nil
}

// addCompactionVolume reads what the compactions of a table Paimon wrote rewrote (as
// 'tarn bench' reports for Tarn's tables) into the extras of Paimon's result.
func addCompactionVolume(ctx context.Context, path string, res *result) error {
	if res == nil {
		return nil
	}
	t, err := table.Open(ctx, fileio.NewLocal(), path)
	if err != nil {
		return err
	}
	v, err := t.CompactionVolume(ctx)
	if err != nil {
		return err
	}
	if res.Extra == nil {
		res.Extra = map[string]any{}
	}
	res.Extra["compaction_volume"] = v
	return nil
}

func tablePath(warehouse, name string) string {
	db, t, _ := strings.Cut(name, ".")
	return fileio.Join(warehouse, db+".db", t)
}

// copyDir copies a local table directory (for two compactions of the same input).
func copyDir(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

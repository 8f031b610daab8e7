package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/workload"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/table"
)

func init() {
	register("bench", "measure ingest, scan, compaction, commit and tail performance (tarn bench -h)", cmdBench)
}

const benchUsage = `Usage: tarn bench SUBCOMMAND [flags]

Each subcommand measures one thing on a warehouse (a directory or s3://bucket/prefix) and
prints a table: rows/s, MB/s, rows per CPU second, CPU seconds per million rows, the peak
RSS (VmHWM) of the measured phase and latency percentiles where they apply. CPU time is
the process's user+system time (getrusage): on a shared machine it is steadier than wall
time. --json FILE writes the results as JSON ("-": standard output).

  gen      write a seeded workload (customer or transactions) as a Parquet file: the input
           both Tarn and Apache Paimon ingest in compat/bench-compare
  ingest   upsert (customer, primary key) or append (transactions) throughput, with and
           without background compaction, next to a raw pqarrow write of the same rows
  scan     full or filtered scan (merge-on-read), next to a raw pqarrow decode of the files
  compact  compaction throughput (bytes of input per second and per CPU second), next to
           pqarrow alone decoding and encoding the same files, and the codec alone
           decompressing and compressing their pages
  commit   commit latency (p50/p99) of small commits
  tail     commit-to-client latency of tails: over Arrow Flight (files), or the Kafka log
  cdc      CDC ingestion (tarn ingest kafka) of Debezium, Canal and Maxwell JSON topics:
           messages per second and per CPU second
  io       raw write throughput of the warehouse's storage (local disk or S3)

Run 'tarn bench SUBCOMMAND -h' for its flags.
`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, benchUsage)
		if len(args) == 0 {
			return usagef("a subcommand is needed")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "gen":
		return benchGen(ctx, rest, stdout, stderr)
	case "ingest":
		return benchIngest(ctx, rest, stdout, stderr)
	case "scan":
		return benchScan(ctx, rest, stdout, stderr)
	case "compact":
		return benchCompact(ctx, rest, stdout, stderr)
	case "commit":
		return benchCommit(ctx, rest, stdout, stderr)
	case "tail":
		return benchTail(ctx, rest, stdout, stderr)
	case "tail-writer":
		return benchTailWriter(ctx, rest, stdout, stderr)
	case "io":
		return benchIO(ctx, rest, stdout, stderr)
	case "cdc":
		return benchCDC(ctx, rest, stdout, stderr)
	}
	return usagef("unknown bench subcommand %q (gen, ingest, scan, compact, commit, tail, cdc, io)", sub)
}

// ---------------------------------------------------------------- measurement

// benchResult is one measurement. Rates are per wall second and per CPU second; wall
// and CPU time exclude what the result says it excludes (Extra "excluded").
type benchResult struct {
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

func (r *benchResult) finish() {
	if r.WallS > 0 {
		r.RowsPerS = float64(r.Rows) / r.WallS
		r.MBPerS = float64(r.Bytes) / 1e6 / r.WallS
	}
	if r.CPUS > 0 {
		r.RowsPerCPUS = float64(r.Rows) / r.CPUS
		r.MBPerCPUS = float64(r.Bytes) / 1e6 / r.CPUS
		if r.Rows > 0 {
			r.CPUSPerMRows = r.CPUS / (float64(r.Rows) / 1e6)
		}
	}
}

func (r *benchResult) setLatencies(lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	r.Latencies = len(s)
	r.P50Ms = ms(percentile(s, 0.50))
	r.P99Ms = ms(percentile(s, 0.99))
	r.MaxMs = ms(s[len(s)-1])
}

func (r *benchResult) extra(k string, v any) {
	if r.Extra == nil {
		r.Extra = map[string]any{}
	}
	r.Extra[k] = v
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS lowers the process's RSS high-water mark (VmHWM) to its current RSS, so
// that the next reading is the peak of what follows (Linux /proc/self/clear_refs).
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is VmHWM of /proc/self/status in bytes (0 where there is none).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// meter measures wall and CPU time of a phase.
type meter struct {
	wall time.Time
	cpu  time.Duration
}

func startMeter() meter { return meter{time.Now(), cpuTime()} }

func (m meter) stop() (wall, cpu time.Duration) {
	return time.Since(m.wall), cpuTime() - m.cpu
}

// benchOutput holds the shared output flags.
type benchOutput struct {
	jsonPath   string
	cpuProfile string
	memProfile string
	quiet      bool
}

func addBenchOutput(fs *flag.FlagSet) *benchOutput {
	o := &benchOutput{}
	fs.StringVar(&o.jsonPath, "json", "", "write the results as JSON to FILE (- for standard output)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phases to FILE")
	fs.StringVar(&o.memProfile, "memprofile", "", "write the heap profile taken at the peak of the heap in use to FILE")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines on standard error")
	return o
}

// profile starts the CPU profile and the peak heap profile, if asked for; the returned
// function stops them.
func (o *benchOutput) profile() (func(), error) {
	stopMem := func() {}
	if o.memProfile != "" {
		stopMem = peakHeapProfile(o.memProfile)
	}
	if o.cpuProfile == "" {
		return stopMem, nil
	}
	f, err := os.Create(o.cpuProfile)
	if err != nil {
		stopMem()
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		stopMem()
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { pprof.StopCPUProfile(); f.Close(); stopMem() }) }, nil
}

// peakHeapProfile samples the heap in use every 200ms and writes the heap profile to path
// whenever it reaches a new peak (10% above the last one written); the returned function
// stops the sampling.
func peakHeapProfile(path string) func() {
	runtime.MemProfileRate = 64 << 10
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var peak uint64
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak+peak/10 {
				peak = ms.HeapInuse
				if f, err := os.Create(path); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// report prints the results as a table and writes the JSON file.
func (o *benchOutput) report(stdout io.Writer, results []*benchResult, env map[string]any) error {
	for _, r := range results {
		r.finish()
	}
	if o.jsonPath == "-" {
		return writeBenchJSON(stdout, results, env)
	}
	printBenchTable(stdout, results)
	if o.jsonPath != "" {
		f, err := os.Create(o.jsonPath)
		if err != nil {
			return err
		}
		if err := writeBenchJSON(f, results, env); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

func writeBenchJSON(w io.Writer, results []*benchResult, env map[string]any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(map[string]any{"results": results, "env": env})
}

func printBenchTable(w io.Writer, results []*benchResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\trows\twall s\trows/s\tMB/s\trows/CPU-s\tCPU s/M rows\tpeak RSS MiB\tp50 ms\tp99 ms\t")
	for _, r := range results {
		lat := "\t\t"
		if r.Latencies > 0 {
			lat = fmt.Sprintf("%.1f\t%.1f\t", r.P50Ms, r.P99Ms)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%.1f\t%s\t%.2f\t%.0f\t%s\n", r.Name, r.Rows, r.WallS,
			humanRate(r.RowsPerS), r.MBPerS, humanRate(r.RowsPerCPUS), r.CPUSPerMRows, float64(r.PeakRSS)/(1<<20), lat)
	}
	tw.Flush()
}

func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func benchEnv() map[string]any {
	env := map[string]any{
		"go":         runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"num_cpu":    runtime.NumCPU(),
		"os":         runtime.GOOS + "/" + runtime.GOARCH,
		// Which zstd compresses Parquet pages (the C library when built with cgo).
		"zstd_encoder": datafile.ZstdEncoder,
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		env["loadavg"] = strings.TrimSpace(string(b))
	}
	return env
}

func progressf(quiet bool, stderr io.Writer, format string, args ...any) {
	if !quiet {
		fmt.Fprintf(stderr, "bench: "+format+"\n", args...)
	}
}

func arrowBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += int64(c.Data().SizeInBytes())
	}
	return n
}

// ---------------------------------------------------------------- workloads and input

// benchWorkload describes one of the seeded workloads.
type benchWorkload struct {
	name   string
	schema string
	pk     []string
	part   []string
}

func workloadByName(name string) (benchWorkload, error) {
	switch name {
	case "customer":
		return benchWorkload{name: "customer", schema: workload.CustomerSchema, pk: []string{"id"}}, nil
	case "transactions":
		return benchWorkload{name: "transactions", schema: workload.TransactionSchema, part: []string{"dt"}}, nil
	}
	return benchWorkload{}, usagef("unknown workload %q (customer, transactions)", name)
}

// genFlags choose a seeded workload stream.
type genFlags struct {
	workload    string
	rows, keys  int64
	updateShare float64
	days        int
	seed        uint64
	batch       int
}

func addGenFlags(fs *flag.FlagSet) *genFlags {
	g := &genFlags{}
	fs.StringVar(&g.workload, "workload", "customer", "customer (update-heavy, primary key) or transactions (insert-only, partitioned by day)")
	fs.Int64Var(&g.rows, "rows", 1_000_000, "rows to generate")
	fs.Int64Var(&g.keys, "keys", 10_000_000, "customer: key space the ids are drawn from")
	fs.Float64Var(&g.updateShare, "update-share", 0.3, "customer: share of rows that update a key written before")
	fs.IntVar(&g.days, "days", 28, "transactions: days (partitions) the rows spread over")
	fs.Uint64Var(&g.seed, "seed", 1, "random seed")
	fs.IntVar(&g.batch, "batch", 16*1024, "rows per batch")
	return g
}

// batchSource yields input batches.
type batchSource interface {
	next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
	close()
}

type genSource struct {
	g    *genFlags
	left int64
	cust *workload.Customers
	txn  *workload.Transactions
}

func (g *genFlags) open() (*genSource, []types.DataField, error) {
	s := &genSource{g: g, left: g.rows}
	switch g.workload {
	case "customer":
		s.cust = workload.NewCustomers(g.seed, g.keys, g.updateShare)
		return s, s.cust.FieldsOf(), nil
	case "transactions":
		s.txn = workload.NewTransactions(g.seed, g.days)
		return s, s.txn.FieldsOf(), nil
	}
	return nil, nil, usagef("unknown workload %q (customer, transactions)", g.workload)
}

func (s *genSource) next(context.Context) (arrow.RecordBatch, error) {
	if s.left <= 0 {
		return nil, io.EOF
	}
	n := int(min(int64(s.g.batch), s.left))
	s.left -= int64(n)
	if s.cust != nil {
		return s.cust.Next(n), nil
	}
	return s.txn.Next(n), nil
}

func (s *genSource) close() {}

// fileSource reads a Parquet input file written by 'tarn bench gen'.
type fileSource struct {
	pf *datafile.ParquetFile
	r  datafile.BatchReader
}

func openInputFile(ctx context.Context, path string, fields []types.DataField, batch int) (*fileSource, error) {
	f, err := fileio.NewLocal().Open(ctx, path)
	if err != nil {
		return nil, err
	}
	pf, err := datafile.OpenParquet(f, path, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := pf.Read(ctx, fields, nil, batch)
	if err != nil {
		pf.Close()
		return nil, err
	}
	return &fileSource{pf: pf, r: r}, nil
}

func (s *fileSource) next(ctx context.Context) (arrow.RecordBatch, error) { return s.r.Next(ctx) }
func (s *fileSource) close()                                              { s.r.Close(); s.pf.Close() }

// inputFlags choose the input of an ingest: a file from 'tarn bench gen', or a workload
// generated on the fly.
type inputFlags struct {
	gen   *genFlags
	input string
}

func (in *inputFlags) workloadName() string {
	if in.input != "" {
		if b, err := os.ReadFile(in.input + ".json"); err == nil {
			var m struct {
				Workload string `json:"workload"`
			}
			if json.Unmarshal(b, &m) == nil && m.Workload != "" {
				return m.Workload
			}
		}
	}
	return in.gen.workload
}

func (in *inputFlags) open(ctx context.Context) (batchSource, []types.DataField, error) {
	w, err := workloadByName(in.workloadName())
	if err != nil {
		return nil, nil, err
	}
	fields := workload.Fields(w.schema)
	if in.input != "" {
		s, err := openInputFile(ctx, in.input, fields, in.gen.batch)
		return s, fields, err
	}
	s, f, err := in.gen.open()
	return s, f, err
}

// drain reads a source to its end: the cost of producing the input, subtracted from
// the measurements that consume it.
func drain(ctx context.Context, in *inputFlags) (rows, bytes int64, wall, cpu time.Duration, err error) {
	src, _, err := in.open(ctx)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer src.close()
	m := startMeter()
	for {
		b, err := src.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, bytes, 0, 0, err
		}
		rows += b.NumRows()
		bytes += arrowBytes(b)
		b.Release()
	}
	wall, cpu = m.stop()
	return rows, bytes, wall, cpu, nil
}

// ---------------------------------------------------------------- gen

func benchGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench gen", "--workload customer|transactions --rows N [--keys K] --out FILE.parquet", stderr)
	g := addGenFlags(fs)
	out := fs.String("out", "", "the Parquet file to write (required); FILE.json describes it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 {
		return usagef("need --out FILE and no positional arguments")
	}
	src, fields, err := g.open()
	if err != nil {
		return err
	}
	f, err := os.Create(*out + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(*out + ".tmp")
	bw := bufio.NewWriterSize(f, 1<<20)
	pw, err := datafile.NewParquetWriter(bw, fields, datafile.WriterOptions{Compression: "zstd"})
	if err != nil {
		f.Close()
		return err
	}
	var rows int64
	for {
		b, err := src.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return err
		}
		rows += b.NumRows()
		err = pw.Write(b)
		b.Release()
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := pw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(*out+".tmp", *out); err != nil {
		return err
	}
	meta := map[string]any{"workload": g.workload, "rows": rows, "keys": g.keys, "update_share": g.updateShare,
		"days": g.days, "seed": g.seed, "schema": workloadSchema(g.workload)}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(*out+".json", append(mb, '\n'), 0o644); err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "wrote %d %s rows to %s (%d bytes)\n", rows, g.workload, *out, st.Size())
	return nil
}

func workloadSchema(name string) string {
	w, err := workloadByName(name)
	if err != nil {
		return ""
	}
	return w.schema
}

// ---------------------------------------------------------------- ingest

// benchTableOptions are the options of the tables the benchmarks create; Paimon's bench
// opens the same tables, so both write with the same options.
func benchTableOptions(w benchWorkload, buckets int, engine string) map[string]string {
	o := map[string]string{
		"file.format":      "parquet",
		"file.compression": "zstd",
	}
	if len(w.pk) > 0 {
		o["bucket"] = strconv.Itoa(buckets)
		o["merge-engine"] = engine
		o["target-file-size"] = "128 mb"
	} else {
		o["bucket"] = "-1"
		o["target-file-size"] = "256 mb"
	}
	return o
}

// benchWarehouse opens the catalog of *warehouse, first making it a new temporary
// directory (named prefix*) when it is empty; cleanup removes that directory.
func benchWarehouse(ctx context.Context, st *storageFlags, warehouse *string, prefix string) (*catalog.Catalog, func(), error) {
	cleanup := func() {}
	if *warehouse == "" {
		d, err := os.MkdirTemp("", prefix)
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(d) }
		*warehouse = d
	}
	cat, err := openBenchCatalog(ctx, st, *warehouse)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return cat, cleanup, nil
}

// benchKafka connects to the Kafka bootstrap servers given, or starts an embedded broker
// for "embedded"; stop stops it.
func benchKafka(ctx context.Context, kafka string) (logsystem.Config, func(), error) {
	if kafka != "embedded" {
		return logsystem.Config{Brokers: logsystem.ParseBrokers(kafka)}, func() {}, nil
	}
	e, err := logsystem.StartEmbedded(ctx, "127.0.0.1:0")
	if err != nil {
		return logsystem.Config{}, nil, err
	}
	return e.Config(), func() { e.Close() }, nil
}

func openBenchCatalog(ctx context.Context, st *storageFlags, warehouse string) (*catalog.Catalog, error) {
	if warehouse == "" {
		return nil, usagef("--warehouse is required")
	}
	fio, err := st.open(ctx, warehouse)
	if err != nil {
		return nil, err
	}
	return catalog.New(fio, warehouse), nil
}

// loadBenchTable opens the existing table name (db.table) of a warehouse.
func loadBenchTable(ctx context.Context, st *storageFlags, warehouse, name string) (*table.Table, error) {
	cat, err := openBenchCatalog(ctx, st, warehouse)
	if err != nil {
		return nil, err
	}
	id, err := catalog.ParseIdentifier(name)
	if err != nil {
		return nil, usagef("--table: %v", err)
	}
	return cat.LoadTable(ctx, id)
}

// createBenchTable creates (replacing) a table of a workload.
func createBenchTable(ctx context.Context, cat *catalog.Catalog, name string, w benchWorkload, opts map[string]string) (*table.Table, error) {
	id, err := catalog.ParseIdentifier(name)
	if err != nil {
		return nil, usagef("table %q: %v", name, err)
	}
	if err := cat.DropTable(ctx, id, true); err != nil {
		return nil, err
	}
	return cat.CreateTable(ctx, id, catalog.TableSpec{Fields: workload.Fields(w.schema), PrimaryKeys: w.pk, PartitionKeys: w.part, Options: opts}, false)
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ingest", "--warehouse W [--input FILE.parquet | --workload customer --rows N --keys K] [flags]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	in := &inputFlags{gen: addGenFlags(fs)}
	fs.StringVar(&in.input, "input", "", "Parquet input written by 'tarn bench gen' (default: generate --workload on the fly)")
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	tableName := fs.String("table", "", "table to create (replaced if it exists; default bench.<workload>, suffixed per run)")
	engine := fs.String("engine", "deduplicate", "merge engine of primary-key tables: deduplicate, partial-update, ...")
	compaction := fs.String("compaction", "both", "background compaction in the writer: on, off or both (two runs)")
	raw := fs.Bool("raw-parquet", true, "also write the same rows as one plain Parquet file with pqarrow (the encoder's limit)")
	rawDir := fs.String("raw-dir", "", "directory of the raw Parquet file (default: a temporary directory)")
	buckets := fs.Int("buckets", 4, "buckets of primary-key tables")
	interval := fs.Duration("commit-interval", time.Second, "commit every interval (wall time)")
	commitRows := fs.Int64("commit-rows", 0, "commit every N rows instead of every --commit-interval (steadier on a loaded machine)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("no positional arguments expected")
	}
	var modes []bool
	switch *compaction {
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	case "both":
		modes = []bool{true, false}
	default:
		return usagef("--compaction is on, off or both")
	}
	w, err := workloadByName(in.workloadName())
	if err != nil {
		return err
	}
	cat, err := openBenchCatalog(ctx, st, *warehouse)
	if err != nil {
		return err
	}
	if *tableName == "" {
		*tableName = "bench." + w.name
	}
	// The cost of producing the input (decoding the file or generating rows), measured
	// alone first and subtracted from every run that consumes it.
	progressf(out.quiet, stderr, "reading the input once (its cost is subtracted)")
	inRows, inBytes, inWall, inCPU, err := drain(ctx, in)
	if err != nil {
		return err
	}
	stopProfile, err := out.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	var results []*benchResult
	input := &benchResult{Name: "input decode (subtracted)", Rows: inRows, Bytes: inBytes, WallS: inWall.Seconds(), CPUS: inCPU.Seconds()}
	if in.input == "" {
		input.Name = "input generation (subtracted)"
	}
	for _, compact := range modes {
		kind := "upsert"
		if len(w.pk) == 0 {
			kind = "append"
		}
		name := *tableName
		label := fmt.Sprintf("tarn ingest %s", kind)
		if len(w.pk) > 0 {
			label += " " + *engine
			if len(modes) > 1 {
				name += map[bool]string{true: "_compact", false: "_nocompact"}[compact]
			}
			label += map[bool]string{true: " compaction=on", false: " compaction=off"}[compact]
		}
		progressf(out.quiet, stderr, "%s into %s", label, name)
		r, err := runIngest(ctx, cat, name, w, in, benchTableOptions(w, *buckets, *engine), compact, *interval, *commitRows)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		r.Name = label
		r.WallS -= inWall.Seconds()
		r.CPUS -= inCPU.Seconds()
		r.extra("table", name)
		results = append(results, r)
	}
	if *raw {
		progressf(out.quiet, stderr, "raw pqarrow write of the same rows")
		r, err := runRawParquetWrite(ctx, in, *rawDir)
		if err != nil {
			return fmt.Errorf("raw parquet write: %w", err)
		}
		r.WallS -= inWall.Seconds()
		r.CPUS -= inCPU.Seconds()
		results = append(results, r)
	}
	results = append(results, input)
	stopProfile()
	env := benchEnv()
	env["input"] = in.input
	env["commit_interval"] = interval.String()
	if *commitRows > 0 {
		env["commit_rows"] = *commitRows
		delete(env, "commit_interval")
	}
	env["excluded"] = "wall_s and cpu_s exclude the input's cost, measured alone (the last result)"
	return out.report(stdout, results, env)
}

// runIngest streams the input into a new table, committing every interval, and measures
// the whole run (input included: the caller subtracts it).
func runIngest(ctx context.Context, cat *catalog.Catalog, name string, w benchWorkload, in *inputFlags, opts map[string]string, compact bool, interval time.Duration, commitRows int64) (*benchResult, error) {
	tbl, err := createBenchTable(ctx, cat, name, w, opts)
	if err != nil {
		return nil, err
	}
	src, _, err := in.open(ctx)
	if err != nil {
		return nil, err
	}
	defer src.close()
	resetPeakRSS()
	m := startMeter()
	wr, err := tbl.NewWriter(ctx, table.WriterOptions{Compact: compact})
	if err != nil {
		return nil, err
	}
	defer wr.Close()
	r := &benchResult{}
	var commitLat []time.Duration
	user := "bench-" + randomID()
	var id int64
	commit := func() error {
		t0 := time.Now()
		msgs, err := wr.PrepareCommit(ctx)
		if err != nil {
			return err
		}
		id++
		if _, err := tbl.Commit(ctx, table.Commit{User: user, Identifier: id, Messages: msgs}); err != nil {
			return err
		}
		commitLat = append(commitLat, time.Since(t0))
		return nil
	}
	last, lastRows := time.Now(), int64(0)
	for {
		b, err := src.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		r.Rows += b.NumRows()
		r.Bytes += arrowBytes(b)
		err = wr.Write(ctx, b)
		b.Release()
		if err != nil {
			return nil, err
		}
		if (commitRows > 0 && r.Rows-lastRows >= commitRows) || (commitRows <= 0 && time.Since(last) >= interval) {
			if err := commit(); err != nil {
				return nil, err
			}
			last, lastRows = time.Now(), r.Rows
		}
	}
	if err := commit(); err != nil {
		return nil, err
	}
	wr.Close()
	wall, cpu := m.stop()
	r.PeakRSS = peakRSS()
	r.WallS, r.CPUS = wall.Seconds(), cpu.Seconds()
	r.extra("commits", id)
	slices.Sort(commitLat)
	r.extra("flush_commit_p50_ms", ms(percentile(commitLat, 0.5)))
	r.extra("flush_commit_p99_ms", ms(percentile(commitLat, 0.99)))
	if err := describeTable(ctx, tbl, r); err != nil {
		return nil, err
	}
	return r, nil
}

// describeTable adds the table's shape to a result: snapshots by kind, live files, bytes
// and sorted runs.
func describeTable(ctx context.Context, tbl *table.Table, r *benchResult) error {
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, s := range snaps {
		kinds[string(s.CommitKind)]++
	}
	r.extra("snapshots", kinds)
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		return err
	}
	var files int
	var size, rows int64
	levels := map[int32]int{}
	for i := range plan.Splits {
		for _, f := range plan.Splits[i].Files {
			files++
			size += f.FileSize
			rows += f.RowCount
			levels[f.Level]++
		}
	}
	r.extra("files", files)
	r.extra("file_bytes", size)
	r.extra("file_rows", rows)
	lv := map[string]int{}
	for l, n := range levels {
		lv[strconv.Itoa(int(l))] = n
	}
	r.extra("files_by_level", lv)
	vol, err := tbl.CompactionVolume(ctx)
	if err != nil {
		return err
	}
	r.extra("compaction_volume", vol)
	return nil
}

// runRawParquetWrite writes the input as one Parquet file with pqarrow directly (zstd
// level 1, dictionaries on, as Tarn's data files): what encoding alone costs.
func runRawParquetWrite(ctx context.Context, in *inputFlags, dir string) (*benchResult, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "tarn-bench-raw-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	src, fields, err := in.open(ctx)
	if err != nil {
		return nil, err
	}
	defer src.close()
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "raw.parquet")
	resetPeakRSS()
	m := startMeter()
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	defer os.Remove(p)
	bw := bufio.NewWriterSize(f, 1<<20)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1),
		parquet.WithDictionaryDefault(true), parquet.WithStoreDecimalAsInteger(true), parquet.WithMaxRowGroupLength(1<<20))
	pw, err := pqarrow.NewFileWriter(schema, bw, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &benchResult{Name: "raw pqarrow write (same rows)"}
	for {
		b, err := src.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		r.Rows += b.NumRows()
		r.Bytes += arrowBytes(b)
		rec := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
		err = pw.WriteBuffered(rec)
		rec.Release()
		b.Release()
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := pw.Close(); err != nil {
		f.Close()
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	wall, cpu := m.stop()
	r.PeakRSS = peakRSS()
	r.WallS, r.CPUS = wall.Seconds(), cpu.Seconds()
	if st, err := os.Stat(p); err == nil {
		r.extra("file_bytes", st.Size())
	}
	return r, nil
}

// ---------------------------------------------------------------- scan

func benchScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench scan", "--warehouse W --table db.t [--where EXPR] [flags]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	tableName := fs.String("table", "", "the table to scan, db.table (required)")
	var wheres multiFlag
	fs.Var(&wheres, "where", "a filtered scan with this filter (repeatable); a full scan always runs")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "splits (files, for the raw decode) read in parallel")
	raw := fs.Bool("raw", true, "also decode the data files of the full scan with pqarrow directly (no merge)")
	repeat := fs.Int("repeat", 3, "runs of each scan; the one with the least CPU time is reported")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tableName == "" {
		return usagef("need --table db.table and no positional arguments")
	}
	tbl, err := loadBenchTable(ctx, st, *warehouse, *tableName)
	if err != nil {
		return err
	}
	stopProfile, err := out.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	best := func(name string, run func() (*benchResult, error)) (*benchResult, error) {
		var b *benchResult
		for i := 0; i < max(1, *repeat); i++ {
			progressf(out.quiet, stderr, "%s (run %d)", name, i+1)
			r, err := run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if b == nil || r.CPUS < b.CPUS {
				b = r
			}
		}
		b.Name = name
		b.extra("runs", *repeat)
		return b, nil
	}
	var results []*benchResult
	r, err := best("tarn scan full", func() (*benchResult, error) { return runScan(ctx, tbl, "", *threads) })
	if err != nil {
		return err
	}
	results = append(results, r)
	for _, wh := range wheres {
		r, err := best("tarn scan where "+wh, func() (*benchResult, error) { return runScan(ctx, tbl, wh, *threads) })
		if err != nil {
			return err
		}
		r.extra("where", wh)
		results = append(results, r)
	}
	if *raw {
		r, err := best("raw pqarrow decode (same files)", func() (*benchResult, error) { return runRawDecode(ctx, tbl, *threads) })
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	stopProfile()
	env := benchEnv()
	env["table"] = *tableName
	env["threads"] = *threads
	return out.report(stdout, results, env)
}

// runScan plans the table and reads every split (threads at a time).
func runScan(ctx context.Context, tbl *table.Table, where string, threads int) (*benchResult, error) {
	resetPeakRSS()
	m := startMeter()
	so := table.ScanOptions{}
	ro := table.ReadOptions{}
	if where != "" {
		schema, err := tbl.LatestSchema(ctx)
		if err != nil {
			return nil, err
		}
		pred, err := predicate.Bind(where, schema.Fields, schema.PartitionKeys)
		if err != nil {
			return nil, usagef("--where: %v", err)
		}
		so.Filter, ro.Filter = pred, pred
	}
	plan, err := tbl.Plan(ctx, so)
	if err != nil {
		return nil, err
	}
	var rows, bytes atomic.Int64
	err = forEachParallel(ctx, len(plan.Splits), threads, func(ctx context.Context, i int) error {
		rd, err := tbl.ReadSplit(ctx, plan, &plan.Splits[i], ro)
		if err != nil {
			return err
		}
		defer rd.Close()
		for {
			b, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			rows.Add(b.NumRows())
			bytes.Add(arrowBytes(b))
			b.Release()
		}
	})
	if err != nil {
		return nil, err
	}
	wall, cpu := m.stop()
	r := &benchResult{Rows: rows.Load(), Bytes: bytes.Load(), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	var files int
	var fileBytes int64
	for i := range plan.Splits {
		files += len(plan.Splits[i].Files)
		for _, f := range plan.Splits[i].Files {
			fileBytes += f.FileSize
		}
	}
	r.extra("splits", len(plan.Splits))
	r.extra("files", files)
	r.extra("file_bytes", fileBytes)
	return r, nil
}

// runRawDecode decodes every data file of the latest snapshot with pqarrow (all
// columns, no merge): the decoder's limit for a full scan of the same files.
func runRawDecode(ctx context.Context, tbl *table.Table, threads int) (*benchResult, error) {
	plan, err := tbl.Plan(ctx, table.ScanOptions{})
	if err != nil {
		return nil, err
	}
	var paths []string
	eachDataFile(plan, func(p string, _ *manifest.DataFileMeta) error { paths = append(paths, p); return nil })
	fio := tbl.FileIO()
	resetPeakRSS()
	m := startMeter()
	var rows, bytes atomic.Int64
	err = forEachParallel(ctx, len(paths), threads, func(ctx context.Context, i int) error {
		return readRawParquet(ctx, fio, paths[i], nil, func(b arrow.RecordBatch) error {
			rows.Add(b.NumRows())
			bytes.Add(arrowBytes(b))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	wall, cpu := m.stop()
	r := &benchResult{Rows: rows.Load(), Bytes: bytes.Load(), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	r.extra("files", len(paths))
	return r, nil
}

// forEachParallel runs fn(i) for i in [0, n), threads at a time; the first error wins.
func forEachParallel(ctx context.Context, n, threads int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for t := 0; t < max(1, min(threads, n)); t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// ---------------------------------------------------------------- compact

func benchCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench compact", "--warehouse W --table db.t [--full=false]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	tableName := fs.String("table", "", "the table to compact, db.table (required)")
	full := fs.Bool("full", true, "full compaction (one sorted run per bucket); false: what the universal picker chooses")
	raw := fs.Bool("raw", true, "first decode and encode the same files with pqarrow alone (no merge), and decompress and recompress their pages alone: compaction's physical limits")
	pagesOut := fs.String("pages-out", "", "with --raw, also write the decompressed pages of the input files to FILE (not timed), for a reference codec to measure: zstd -b1 -B65536 FILE")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tableName == "" {
		return usagef("need --table db.table and no positional arguments")
	}
	tbl, err := loadBenchTable(ctx, st, *warehouse, *tableName)
	if err != nil {
		return err
	}
	before := &benchResult{}
	if err := describeTable(ctx, tbl, before); err != nil {
		return err
	}
	var results []*benchResult
	if *raw {
		// The files a full compaction reads: every level's.
		plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
		if err != nil {
			return err
		}
		progressf(out.quiet, stderr, "raw pqarrow decode and encode of %s's files", *tableName)
		r, err := runRawRewrite(ctx, tbl.FileIO(), plan)
		if err != nil {
			return fmt.Errorf("raw rewrite: %w", err)
		}
		results = append(results, r)
		progressf(out.quiet, stderr, "zstd alone: decompress and recompress the pages of %s's files", *tableName)
		if r, err = runRawCodec(ctx, tbl.FileIO(), plan); err != nil {
			return fmt.Errorf("raw codec: %w", err)
		}
		results = append(results, r)
		if *pagesOut != "" {
			if err := writePages(ctx, tbl.FileIO(), plan, *pagesOut); err != nil {
				return fmt.Errorf("--pages-out: %w", err)
			}
		}
	}
	stopProfile, err := out.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	progressf(out.quiet, stderr, "compacting %s (full=%v)", *tableName, *full)
	resetPeakRSS()
	m := startMeter()
	sum, err := tbl.Compact(ctx, table.CompactOptions{Full: *full, User: "bench-compact"})
	if err != nil {
		return err
	}
	wall, cpu := m.stop()
	stopProfile()
	r := &benchResult{Name: "tarn compact", Bytes: sum.BytesIn, WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	r.Rows, _ = before.Extra["file_rows"].(int64)
	r.extra("full", *full)
	r.extra("files_in", sum.FilesIn)
	r.extra("files_out", sum.FilesOut)
	r.extra("bytes_out", sum.BytesOut)
	r.extra("upgraded", sum.Upgraded)
	r.extra("buckets_compacted", sum.Compacted)
	r.extra("files_before", before.Extra["files"])
	r.extra("file_bytes_before", before.Extra["file_bytes"])
	env := benchEnv()
	env["table"] = *tableName
	env["note"] = "bytes are the compacted files' sizes (input); rows are the rows of the table's files before"
	return out.report(stdout, append([]*benchResult{r}, results...), env)
}

// runRawRewrite decodes every data file of the plan with pqarrow and encodes its rows
// again, unmerged, into one Parquet file per bucket (in a temporary directory) with the
// input's compression and its dictionary choices: what a compaction of the same input
// would cost if merging were free. A full compaction of a table of level-0 files (as
// bench-compare's) reads exactly these files; one of a compacted table skips buckets that
// are one top-level run already.
func runRawRewrite(ctx context.Context, fio fileio.FileIO, plan *table.Plan) (*benchResult, error) {
	dir, err := os.MkdirTemp("", "tarn-bench-rewrite-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := &benchResult{Name: "raw pqarrow decode and encode (same files)"}
	resetPeakRSS()
	m := startMeter()
	for i := range plan.Splits {
		s := &plan.Splits[i]
		var w *rawRewriter
		for j := range s.Files {
			r.Bytes += s.Files[j].FileSize
			if w, err = rawRewriteFile(ctx, fio, s.DataFilePath(&s.Files[j]), w, filepath.Join(dir, fmt.Sprintf("bucket-%d.parquet", i)), r); err != nil {
				if w != nil {
					w.close()
				}
				return nil, err
			}
		}
		if w != nil {
			if err := w.close(); err != nil {
				return nil, err
			}
		}
	}
	wall, cpu := m.stop()
	r.PeakRSS = peakRSS()
	r.WallS, r.CPUS = wall.Seconds(), cpu.Seconds()
	r.extra("note", "bytes are the input files' sizes, as for tarn compact")
	return r, nil
}

// runRawCodec decompresses every page of every data file of the plan, as a reader
// does, and compresses it again with the file's codec at level 1 (Paimon's default
// zstd level, and Tarn's), discarding the output: the share of a compaction of the same
// input that compression alone takes, whatever decodes, merges and encodes the rows.
func runRawCodec(ctx context.Context, fio fileio.FileIO, plan *table.Plan) (*benchResult, error) {
	r := &benchResult{Name: "raw codec decompress and compress (same pages)"}
	var pageBytes, outBytes int64
	var out []byte
	resetPeakRSS()
	m := startMeter()
	err := eachDataFile(plan, func(p string, f *manifest.DataFileMeta) error {
		r.Bytes += f.FileSize
		r.Rows += f.RowCount
		return recompressPages(ctx, fio, p, func(data []byte, codec compress.Codec) {
			pageBytes += int64(len(data))
			out = codec.EncodeLevel(out[:0], data, 1)
			outBytes += int64(len(out))
		})
	})
	if err != nil {
		return nil, err
	}
	wall, cpu := m.stop()
	r.PeakRSS = peakRSS()
	r.WallS, r.CPUS = wall.Seconds(), cpu.Seconds()
	r.extra("page_bytes", pageBytes)
	r.extra("compressed_bytes", outBytes)
	r.extra("note", "bytes are the input files' sizes, as for tarn compact; page_bytes the pages decompressed and compressed again")
	return r, nil
}

// writePages writes the decompressed pages of every data file of the plan to path, one
// after another.
func writePages(ctx context.Context, fio fileio.FileIO, plan *table.Plan, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var werr error // the first failed write
	err = eachDataFile(plan, func(p string, _ *manifest.DataFileMeta) error {
		err := recompressPages(ctx, fio, p, func(data []byte, _ compress.Codec) {
			if werr == nil {
				_, werr = bw.Write(data)
			}
		})
		return cmp.Or(err, werr)
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// eachDataFile calls fn with the path and metadata of every data file of the plan, split
// by split, stopping at the first error.
func eachDataFile(plan *table.Plan, fn func(string, *manifest.DataFileMeta) error) error {
	for i := range plan.Splits {
		s := &plan.Splits[i]
		for j := range s.Files {
			if err := fn(s.DataFilePath(&s.Files[j]), &s.Files[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// recompressPages calls each with every page of a Parquet data file, decompressed by the
// file's page readers, and the codec of its column chunk. Pages of uncompressed chunks
// are skipped.
func recompressPages(ctx context.Context, fio fileio.FileIO, p string, each func([]byte, compress.Codec)) error {
	pr, err := openRawParquet(ctx, fio, p)
	if err != nil {
		return err
	}
	defer pr.Close()
	for g := 0; g < pr.NumRowGroups(); g++ {
		rg := pr.RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.MetaData().ColumnChunk(c)
			if err != nil {
				return err
			}
			if cc.Compression() == compress.Codecs.Uncompressed {
				continue
			}
			codec, err := compress.GetCodec(cc.Compression())
			if err != nil {
				return err
			}
			pages, err := rg.GetColumnPageReader(c)
			if err != nil {
				return fmt.Errorf("%s: column %d: %w", p, c, err)
			}
			for pages.Next() {
				each(pages.Page().Data(), codec)
			}
			if err := pages.Err(); err != nil {
				return fmt.Errorf("%s: column %d: %w", p, c, err)
			}
		}
	}
	return nil
}

// rawRewriter is one bucket's output of runRawRewrite.
type rawRewriter struct {
	f  *os.File
	bw *bufio.Writer
	pw *pqarrow.FileWriter
}

func (w *rawRewriter) close() error {
	err := w.pw.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rawRewriteFile appends one data file's rows to w, opening w (at path, with the file's
// schema, compression and dictionary choices) if it is nil.
func rawRewriteFile(ctx context.Context, fio fileio.FileIO, p string, w *rawRewriter, path string, r *benchResult) (*rawRewriter, error) {
	start := func(pr *file.Reader, fr *pqarrow.FileReader) error {
		if w != nil {
			return nil
		}
		schema, err := fr.Schema()
		if err != nil {
			return err
		}
		props := []parquet.WriterProperty{parquet.WithCompressionLevel(1), parquet.WithStoreDecimalAsInteger(true), parquet.WithMaxRowGroupLength(1 << 20)}
		if pr.NumRowGroups() > 0 {
			rg := pr.MetaData().RowGroup(0)
			for c := 0; c < rg.NumColumns(); c++ {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					return err
				}
				if c == 0 {
					props = append(props, parquet.WithCompression(cc.Compression()))
				}
				props = append(props, parquet.WithDictionaryFor(cc.PathInSchema().String(), cc.HasDictionaryPage()))
			}
		}
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		pw, err := pqarrow.NewFileWriter(schema, bw, parquet.NewWriterProperties(props...), pqarrow.NewArrowWriterProperties())
		if err != nil {
			out.Close()
			return err
		}
		w = &rawRewriter{f: out, bw: bw, pw: pw}
		return nil
	}
	err := readRawParquet(ctx, fio, p, start, func(b arrow.RecordBatch) error {
		r.Rows += b.NumRows()
		return w.pw.WriteBuffered(b)
	})
	return w, err
}

// openRawParquet opens a Parquet data file with arrow-go's reader alone; closing the
// reader closes the file.
func openRawParquet(ctx context.Context, fio fileio.FileIO, p string) (*file.Reader, error) {
	f, err := fio.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return pr, nil
}

// readRawParquet reads a Parquet data file with pqarrow alone (all columns, no Tarn
// code): start, if not nil, sees the file's readers first, then each gets every batch.
func readRawParquet(ctx context.Context, fio fileio.FileIO, p string, start func(*file.Reader, *pqarrow.FileReader) error, each func(arrow.RecordBatch) error) error {
	pr, err := openRawParquet(ctx, fio, p)
	if err != nil {
		return err
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: datafile.DefaultBatchSize}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	if start != nil {
		if err := start(pr, fr); err != nil {
			return err
		}
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := each(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ---------------------------------------------------------------- commit

func benchCommit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench commit", "--warehouse W [--commits N] [--rows N]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (required)")
	tableName := fs.String("table", "bench.commit", "table to create (replaced if it exists)")
	commits := fs.Int("commits", 200, "commits to time")
	rows := fs.Int("rows", 10, "rows per commit (customer workload)")
	buckets := fs.Int("buckets", 4, "buckets")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("no positional arguments expected")
	}
	cat, err := openBenchCatalog(ctx, st, *warehouse)
	if err != nil {
		return err
	}
	w, _ := workloadByName("customer")
	tbl, err := createBenchTable(ctx, cat, *tableName, w, benchTableOptions(w, *buckets, "deduplicate"))
	if err != nil {
		return err
	}
	gen := workload.NewCustomers(7, 10_000_000, 0.3)
	stopProfile, err := out.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	progressf(out.quiet, stderr, "%d commits of %d rows into %s", *commits, *rows, *tableName)
	user := "bench-" + randomID()
	wr, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		return err
	}
	defer wr.Close()
	var id int64
	commitOnce := func() (commit, total time.Duration, cpu time.Duration, err error) {
		t0 := time.Now()
		b := gen.Next(*rows)
		err = wr.Write(ctx, b)
		b.Release()
		if err != nil {
			return 0, 0, 0, err
		}
		msgs, err := wr.PrepareCommit(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		id++
		c0, t1 := cpuTime(), time.Now()
		_, err = tbl.Commit(ctx, table.Commit{User: user, Identifier: id, Messages: msgs, SchemaID: wr.Schema().ID, CheckSchema: true})
		return time.Since(t1), time.Since(t0), cpuTime() - c0, err
	}
	// Untimed first commits (a tenth, at least 5), as on Paimon's side where they warm the JIT up.
	for i := 0; i < max(5, *commits/10); i++ {
		if _, _, _, err := commitOnce(); err != nil {
			return err
		}
	}
	resetPeakRSS()
	var commitLat, totalLat []time.Duration
	var commitCPU time.Duration
	m := startMeter()
	for i := 0; i < *commits; i++ {
		c, t, cpu, err := commitOnce()
		if err != nil {
			return err
		}
		commitLat = append(commitLat, c)
		totalLat = append(totalLat, t)
		commitCPU += cpu
	}
	wall, cpu := m.stop()
	stopProfile()
	r := &benchResult{Name: "tarn commit", Rows: int64(*commits * *rows), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	r.setLatencies(commitLat)
	r.extra("commit_cpu_ms_mean", ms(commitCPU)/float64(*commits))
	t := &benchResult{Name: "tarn write+commit", Rows: r.Rows, WallS: r.WallS, CPUS: r.CPUS, PeakRSS: r.PeakRSS}
	t.setLatencies(totalLat)
	env := benchEnv()
	env["warehouse"] = *warehouse
	env["note"] = "commit latency is Table.Commit alone (manifests, manifest list, snapshot); write+commit adds writing the rows' data files (one writer for all commits)"
	return out.report(stdout, []*benchResult{r, t}, env)
}

// ---------------------------------------------------------------- tail

const tailSchema = "k BIGINT NOT NULL, sent_ns BIGINT, payload STRING"

func benchTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench tail", "[--warehouse W] [--mode flight|flight-poll|log] [--commits N]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "warehouse location (default: a temporary directory)")
	var modes multiFlag
	fs.Var(&modes, "mode", "flight: a Flight tail, commits in the server's process (they wake tails at once); "+
		"flight-poll: commits from another process (tails find them by polling, every 200ms); "+
		"log: the Kafka log's hybrid tail in process (not over Flight); "+
		"serve: a 'tarn serve' process, rows put by DoPut and tailed over Flight from files; "+
		"serve-log: the same with the table's Kafka log (the server's embedded broker) dual-written and tailed; "+
		"repeatable (default flight and flight-poll)")
	commits := fs.Int("commits", 100, "commits to time")
	rows := fs.Int("rows", 10, "rows per commit")
	interval := fs.Duration("interval", 300*time.Millisecond, "pause between commits")
	kafka := fs.String("kafka", "embedded", "log mode: Kafka bootstrap servers, or embedded (an in-process broker)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("no positional arguments expected")
	}
	if len(modes) == 0 {
		modes = multiFlag{"flight", "flight-poll"}
	}
	cat, cleanup, err := benchWarehouse(ctx, st, warehouse, "tarn-bench-tail-")
	if err != nil {
		return err
	}
	defer cleanup()
	var results []*benchResult
	for _, mode := range modes {
		progressf(out.quiet, stderr, "tail %s: %d commits of %d rows", mode, *commits, *rows)
		var r *benchResult
		var err error
		switch mode {
		case "flight", "flight-poll":
			r, err = runFlightTail(ctx, cat, st, *warehouse, mode == "flight-poll", *commits, *rows, *interval)
		case "log":
			r, err = runLogTail(ctx, cat, *kafka, *commits, *rows, *interval)
		case "serve", "serve-log":
			r, err = runServeTail(ctx, cat, st, *warehouse, mode == "serve-log", *commits, *rows, *interval)
		default:
			return usagef("unknown --mode %q (flight, flight-poll, log, serve, serve-log)", mode)
		}
		if err != nil {
			return fmt.Errorf("tail %s: %w", mode, err)
		}
		results = append(results, r)
	}
	env := benchEnv()
	env["note"] = "latency from just before a commit's rows are written to when the client holds them"
	return out.report(stdout, results, env)
}

// tailRows builds a batch of n rows stamped with the current time.
func tailRows(schema *arrow.Schema, base int64, n int, payload string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(base + int64(i))
		b.Field(1).(*array.Int64Builder).Append(now)
		b.Field(2).(*array.StringBuilder).Append(payload)
	}
	return b.NewRecordBatch()
}

func createTailTable(ctx context.Context, cat *catalog.Catalog, name string, extra map[string]string) (*table.Table, error) {
	id, _ := catalog.ParseIdentifier(name)
	if err := cat.DropTable(ctx, id, true); err != nil {
		return nil, err
	}
	fields, err := types.ParseColumns(tailSchema)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{"bucket": "2"}
	for k, v := range extra {
		opts[k] = v
	}
	return cat.CreateTable(ctx, id, catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"k"}, Options: opts}, false)
}

// latencyCollector records, per commit, the first arrival of its rows.
type latencyCollector struct {
	mu   sync.Mutex
	seen map[int64]bool
	lat  []time.Duration
	got  chan struct{}
}

func newLatencyCollector() *latencyCollector {
	return &latencyCollector{seen: map[int64]bool{}, got: make(chan struct{}, 1<<16)}
}

func (c *latencyCollector) add(b arrow.RecordBatch) {
	idx := b.Schema().FieldIndices("sent_ns")
	if len(idx) == 0 || b.NumRows() == 0 {
		return
	}
	now := time.Now().UnixNano()
	col := b.Column(idx[0]).(*array.Int64)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < col.Len(); i++ {
		s := col.Value(i)
		if s <= 0 || c.seen[s] {
			continue
		}
		c.seen[s] = true
		c.lat = append(c.lat, time.Duration(now-s))
		c.got <- struct{}{}
	}
}

func (c *latencyCollector) wait(n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for i := 0; i < n; i++ {
		select {
		case <-c.got:
		case <-deadline:
			return fmt.Errorf("only %d of %d commits reached the tail within %s", i, n, timeout)
		}
	}
	return nil
}

func runFlightTail(ctx context.Context, cat *catalog.Catalog, st *storageFlags, warehouse string, poll bool, commits, rows int, interval time.Duration) (*benchResult, error) {
	name := "bench.tail"
	tbl, err := createTailTable(ctx, cat, name, nil)
	if err != nil {
		return nil, err
	}
	svc := tarnflight.NewService(cat, tarnflight.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- svc.Serve(l) }()
	defer func() { svc.Stop(); <-done }()
	cl, err := flight.NewClientWithMiddleware(l.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	col, cancel, err := startFlightTail(ctx, cl, name)
	if err != nil {
		return nil, err
	}
	defer cancel()
	resetPeakRSS()
	m := startMeter()
	if poll {
		// The writer is another process: the server's tail learns of its commits by
		// polling the table's snapshots.
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, exe, append([]string{"bench", "tail-writer", "--warehouse", warehouse, "--table", name,
			"--commits", strconv.Itoa(commits), "--rows", strconv.Itoa(rows), "--interval", interval.String()}, st.args()...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("tail writer: %w", err)
		}
		if err := col.wait(commits, 30*time.Second); err != nil {
			return nil, err
		}
	} else {
		if err := tailWriterLoop(ctx, tbl, commits, rows, interval, col.wait); err != nil {
			return nil, err
		}
	}
	wall, cpu := m.stop()
	cancel()
	r := &benchResult{Name: "tarn tail over Flight (commits in process)", Rows: int64(commits * rows), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	if poll {
		r.Name = "tarn tail over Flight (commits from another process, polling 200ms)"
	}
	col.mu.Lock()
	r.setLatencies(col.lat)
	col.mu.Unlock()
	return r, nil
}

// startFlightTail starts a Flight tail of table name from its latest snapshot, whose
// batches col collects; stop (idempotent) ends it.
func startFlightTail(ctx context.Context, cl flight.Client, name string) (col *latencyCollector, stop func(), err error) {
	tctx, cancel := context.WithCancel(ctx)
	tk, _ := json.Marshal(map[string]any{"tail": map[string]any{"table": name, "start": "latest"}})
	stream, err := cl.DoGet(tctx, &flight.Ticket{Ticket: tk})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	col = newLatencyCollector()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for rdr.Next() {
			col.add(rdr.RecordBatch())
		}
	}()
	var once sync.Once
	return col, func() {
		once.Do(func() {
			cancel()
			<-done
			rdr.Release()
		})
	}, nil
}

// args renders the storage flags for a child process.
func (s *storageFlags) args() []string {
	var a []string
	add := func(k, v string) {
		if v != "" {
			a = append(a, "--"+k, v)
		}
	}
	add("s3-endpoint", s.endpoint)
	add("s3-access-key", s.accessKey)
	add("s3-secret-key", s.secretKey)
	add("s3-region", s.region)
	add("s3-ca-file", s.caFile)
	if s.insecure {
		a = append(a, "--s3-insecure-skip-verify")
	}
	if s.virtualHost {
		a = append(a, "--s3-virtual-host")
	}
	return a
}

// tailWriterLoop commits batches of stamped rows; wait (nil: none) waits for each commit
// to arrive.
func tailWriterLoop(ctx context.Context, tbl *table.Table, commits, rows int, interval time.Duration, wait func(int, time.Duration) error) error {
	fields, _ := types.ParseColumns(tailSchema)
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return err
	}
	payload := strings.Repeat("x", 100)
	user := "bench-tail-" + randomID()
	wr, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		return err
	}
	defer wr.Close()
	for i := 0; i < commits; i++ {
		b := tailRows(schema, int64(i*rows), rows, payload)
		err := wr.Write(ctx, b)
		b.Release()
		if err != nil {
			return err
		}
		msgs, err := wr.PrepareCommit(ctx)
		if err != nil {
			return err
		}
		if _, err := tbl.Commit(ctx, table.Commit{User: user, Identifier: int64(i + 1), Messages: msgs}); err != nil {
			return err
		}
		if wait != nil {
			if err := wait(1, 30*time.Second); err != nil {
				return err
			}
		}
		time.Sleep(interval)
	}
	return nil
}

// benchTailWriter is the writer process of the flight-poll mode.
func benchTailWriter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench tail-writer", "--warehouse W --table db.t", stderr)
	st := addStorageFlags(fs)
	warehouse := fs.String("warehouse", "", "warehouse location")
	tableName := fs.String("table", "", "table")
	commits := fs.Int("commits", 100, "commits")
	rows := fs.Int("rows", 10, "rows per commit")
	interval := fs.Duration("interval", 300*time.Millisecond, "pause between commits")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	tbl, err := loadBenchTable(ctx, st, *warehouse, *tableName)
	if err != nil {
		return err
	}
	return tailWriterLoop(ctx, tbl, *commits, *rows, *interval, nil)
}

func runLogTail(ctx context.Context, cat *catalog.Catalog, kafka string, commits, rows int, interval time.Duration) (*benchResult, error) {
	conn, stopKafka, err := benchKafka(ctx, kafka)
	if err != nil {
		return nil, err
	}
	defer stopKafka()
	name := "bench.tail_log"
	tbl, err := createTailTable(ctx, cat, name, map[string]string{
		logsystem.OptionSystem: "kafka",
		logsystem.OptionTopic:  "tarn-bench-tail-" + randomID(),
	})
	if err != nil {
		return nil, err
	}
	lw, err := logsystem.NewWriter(ctx, tbl, conn, logsystem.WriterOptions{Name: name})
	if err != nil {
		return nil, err
	}
	defer lw.Close()
	wr, err := tbl.NewWriter(ctx, lw.TableWriterOptions(table.WriterOptions{}))
	if err != nil {
		return nil, err
	}
	defer wr.Close()
	fields, _ := types.ParseColumns(tailSchema)
	schema, err := types.ArrowSchema(fields)
	if err != nil {
		return nil, err
	}
	payload := strings.Repeat("x", 100)
	user := "bench-log-" + randomID()
	commit := func(i int, stamp bool) (int64, error) {
		var b arrow.RecordBatch
		if stamp {
			b = tailRows(schema, int64(i*rows), rows, payload)
		} else {
			bb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			bb.Field(0).(*array.Int64Builder).Append(-1)
			bb.Field(1).(*array.Int64Builder).Append(-1)
			bb.Field(2).(*array.StringBuilder).Append("")
			b = bb.NewRecordBatch()
			bb.Release()
		}
		err := wr.Write(ctx, b)
		b.Release()
		if err != nil {
			return 0, err
		}
		msgs, err := wr.PrepareCommit(ctx)
		if err != nil {
			return 0, err
		}
		res, err := lw.Commit(ctx, table.Commit{User: user, Identifier: int64(i + 1), Messages: msgs})
		return res.SnapshotID, err
	}
	first, err := commit(0, false)
	if err != nil {
		return nil, err
	}
	tl, err := logsystem.NewTail(ctx, tbl, conn, logsystem.TailOptions{Name: name, Snapshot: first})
	if err != nil {
		return nil, err
	}
	defer tl.Close()
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	col := newLatencyCollector()
	go func() {
		for {
			b, err := tl.Next(tctx)
			if err != nil {
				return
			}
			if b.Record != nil {
				col.add(b.Record)
				b.Record.Release()
			}
		}
	}()
	resetPeakRSS()
	m := startMeter()
	for i := 1; i <= commits; i++ {
		if _, err := commit(i, true); err != nil {
			return nil, err
		}
		if err := col.wait(1, 30*time.Second); err != nil {
			return nil, err
		}
		time.Sleep(interval)
	}
	wall, cpu := m.stop()
	cancel()
	r := &benchResult{Name: "tarn tail of the Kafka log (in process, not over Flight)", Rows: int64(commits * rows), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	col.mu.Lock()
	r.setLatencies(col.lat)
	col.mu.Unlock()
	st := tl.Stats()
	r.extra("log_snapshots", st.LogSnapshots)
	r.extra("file_snapshots", st.FileSnapshots)
	r.extra("kafka", kafka)
	return r, nil
}

// runServeTail measures a tail through a 'tarn serve' process (this binary): each commit
// is one DoPut stream of stamped rows (the server commits at its end), read by a Flight
// tail of the same server. withLog gives the table a Kafka log on the server's embedded
// broker: DoPut dual-writes the rows into it and the tail reads them from it.
func runServeTail(ctx context.Context, cat *catalog.Catalog, st *storageFlags, warehouse string, withLog bool, commits, rows int, interval time.Duration) (*benchResult, error) {
	name := "bench.tail_serve"
	var extra map[string]string
	if withLog {
		name = "bench.tail_serve_log"
		extra = map[string]string{logsystem.OptionSystem: "kafka", logsystem.OptionTopic: "tarn-bench-serve-" + randomID()}
	}
	if _, err := createTailTable(ctx, cat, name, extra); err != nil {
		return nil, err
	}
	// Three distinct free ports: held open until all are chosen, closed before the
	// server binds them.
	var ports []int
	var holds []net.Listener
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		holds = append(holds, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range holds {
		l.Close()
	}
	flightAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	args := []string{"serve", "--warehouse", warehouse, "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--flight", flightAddr}
	if withLog {
		args = append(args, "--kafka", "embedded", "--kafka-embedded-addr", fmt.Sprintf("127.0.0.1:%d", ports[2]))
	} else {
		args = append(args, "--kafka", "off")
	}
	args = append(args, st.args()...)
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	return withServer(ctx, cmd, &logs, flightAddr, func(cl flight.Client) (*benchResult, error) {
		fields, _ := types.ParseColumns(tailSchema)
		schema, err := types.ArrowSchema(fields)
		if err != nil {
			return nil, err
		}
		desc, _ := json.Marshal(map[string]any{"table": name})
		put := func(b arrow.RecordBatch) error {
			stream, err := cl.DoPut(ctx)
			if err != nil {
				return err
			}
			w := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
			w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: desc})
			if err := w.Write(b); err != nil {
				return err
			}
			w.Close()
			if err := stream.CloseSend(); err != nil {
				return err
			}
			for {
				if _, err := stream.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		}
		// A first, unstamped commit: the tail starts after it.
		bb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		bb.Field(0).(*array.Int64Builder).Append(-1)
		bb.Field(1).(*array.Int64Builder).Append(-1)
		bb.Field(2).(*array.StringBuilder).Append("")
		first := bb.NewRecordBatch()
		bb.Release()
		err = put(first)
		first.Release()
		if err != nil {
			return nil, fmt.Errorf("DoPut: %w", err)
		}
		col, cancel, err := startFlightTail(ctx, cl, name)
		if err != nil {
			return nil, err
		}
		defer cancel()
		payload := strings.Repeat("x", 100)
		m := startMeter()
		for i := 0; i < commits; i++ {
			b := tailRows(schema, int64(i*rows), rows, payload)
			err := put(b)
			b.Release()
			if err != nil {
				return nil, fmt.Errorf("DoPut: %w", err)
			}
			if err := col.wait(1, 30*time.Second); err != nil {
				return nil, err
			}
			time.Sleep(interval)
		}
		wall, cpu := m.stop()
		cancel()
		r := &benchResult{Name: "tarn tail over Flight from tarn serve (DoPut, from files)", Rows: int64(commits * rows), WallS: wall.Seconds(), CPUS: cpu.Seconds()}
		if withLog {
			r.Name = "tarn tail over Flight from tarn serve (DoPut, with the Kafka log)"
		}
		r.extra("cpu", "the client's alone; the server is another process")
		col.mu.Lock()
		r.setLatencies(col.lat)
		col.mu.Unlock()
		return r, nil
	})
}

// withServer starts a server process, waits until its Flight address answers, runs fn
// with a client of it and stops the server (SIGTERM, then SIGKILL after 10s).
func withServer(ctx context.Context, cmd *exec.Cmd, logs *lockedBuffer, addr string, fn func(flight.Client) (*benchResult, error)) (*benchResult, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("tarn serve exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("tarn serve did not listen on %s within 60s\n%s", addr, logs.String())
		}
	}
	cl, err := flight.NewClientWithMiddleware(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r, err := fn(cl)
	if err != nil {
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, tailString(logs.String(), 4000))
	}
	return r, nil
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// lockedBuffer is a bytes.Buffer safe for a process's stdout and stderr at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// ---------------------------------------------------------------- io

func benchIO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench io", "--warehouse W [--size BYTES] [--file-size BYTES]", stderr)
	st := addStorageFlags(fs)
	out := addBenchOutput(fs)
	warehouse := fs.String("warehouse", "", "where to write (a directory or s3://bucket/prefix; required)")
	size := fs.Int64("size", 512<<20, "bytes to write in all")
	fileSize := fs.Int64("file-size", 64<<20, "bytes per file")
	threads := fs.Int("threads", 1, "files written in parallel")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *warehouse == "" {
		return usagef("need --warehouse and no positional arguments")
	}
	fio, err := st.open(ctx, *warehouse)
	if err != nil {
		return err
	}
	// Incompressible data, written in 1 MiB chunks.
	chunk := make([]byte, 1<<20)
	var x uint64 = 0x9e3779b97f4a7c15
	for i := range chunk {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		chunk[i] = byte(x)
	}
	dir := fileio.Join(*warehouse, "bench-io-"+randomID())
	n := int((*size + *fileSize - 1) / *fileSize)
	progressf(out.quiet, stderr, "writing %d files of %d bytes to %s", n, *fileSize, dir)
	resetPeakRSS()
	m := startMeter()
	var written atomic.Int64
	err = forEachParallel(ctx, n, *threads, func(ctx context.Context, i int) error {
		w, err := fio.Create(ctx, fileio.Join(dir, fmt.Sprintf("f-%04d", i)))
		if err != nil {
			return err
		}
		for left := *fileSize; left > 0; {
			k := min(left, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				w.Abort()
				return err
			}
			left -= k
			written.Add(k)
		}
		return w.Close()
	})
	wall, cpu := m.stop()
	for i := 0; i < n; i++ {
		_ = fio.Delete(ctx, fileio.Join(dir, fmt.Sprintf("f-%04d", i)))
	}
	_ = fio.Delete(ctx, dir)
	if err != nil {
		return err
	}
	r := &benchResult{Name: "raw write " + strings.SplitN(*warehouse, "://", 2)[0], Bytes: written.Load(), WallS: wall.Seconds(), CPUS: cpu.Seconds(), PeakRSS: peakRSS()}
	if !strings.Contains(*warehouse, "://") {
		r.Name = "raw write local disk (fsync per file)"
	}
	r.extra("files", n)
	r.extra("file_size", *fileSize)
	env := benchEnv()
	env["warehouse"] = *warehouse
	return out.report(stdout, []*benchResult{r}, env)
}

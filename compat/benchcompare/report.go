package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tarnlake/tarn/table"
)

// report is the comparison bench-compare prints and writes as JSON. Rates "per CPU
// second" are per core: rows (or bytes) over the process's CPU time.
type report struct {
	Generated string            `json:"generated"`
	Command   string            `json:"command"`
	DurationS float64           `json:"duration_s"`
	Machine   map[string]any    `json:"machine"`
	Versions  map[string]string `json:"versions"`
	Config    map[string]any    `json:"config"`

	IngestUpsert  *ingestCmp          `json:"ingest_upsert"`
	IngestPartial *ingestCmp          `json:"ingest_upsert_partial_update"`
	IngestAppend  *ingestCmp          `json:"ingest_append"`
	Scan          map[string]*scanCmp `json:"scan"`
	Compaction    *compactCmp         `json:"compaction,omitempty"`
	CommitMs      map[string]*latCmp  `json:"commit_ms"`
	TailMs        *tailCmp            `json:"tail_ms,omitempty"`
	Physical      physical            `json:"physical"`
	Targets       []target            `json:"targets"`
	Notes         []string            `json:"notes,omitempty"`
	// Raw holds every measurement as its process reported it.
	Raw map[string][]*result `json:"raw"`
}

// side is one writer's or reader's numbers.
type side struct {
	RowsS        float64        `json:"rows_s"`
	RowsPerCPUS  float64        `json:"rows_per_cpu_s"`
	CPUSPerMRows float64        `json:"cpu_s_per_mrows"`
	PeakRSS      int64          `json:"peak_rss_bytes"`
	WallS        float64        `json:"wall_s"`
	CPUS         float64        `json:"cpu_s"`
	Extra        map[string]any `json:"extra,omitempty"`
}

func sideOf(r *result) *side {
	if r == nil {
		return nil
	}
	return &side{RowsS: r.RowsPerS, RowsPerCPUS: r.RowsPerCPUS, CPUSPerMRows: r.CPUSPerMRows, PeakRSS: r.PeakRSS, WallS: r.WallS, CPUS: r.CPUS, Extra: r.Extra}
}

type ingestCmp struct {
	Workload string `json:"workload"`
	Engine   string `json:"engine,omitempty"`
	Rows     int64  `json:"rows"`
	Keys     int64  `json:"keys,omitempty"`

	// With background compaction (primary-key tables); append tables have none.
	TarnRowsS           float64 `json:"tarn_rows_s"`
	PaimonRowsS         float64 `json:"paimon_rows_s"`
	TarnRowsPerCPUS     float64 `json:"tarn_rows_per_cpu_s"`
	PaimonRowsPerCPUS   float64 `json:"paimon_rows_per_cpu_s"`
	TarnCPUSPerMRows    float64 `json:"tarn_cpu_s_per_mrows"`
	PaimonCPUSPerMRows  float64 `json:"paimon_cpu_s_per_mrows"`
	TarnPeakRSS         int64   `json:"tarn_peak_rss_bytes"`
	PaimonPeakRSS       int64   `json:"paimon_peak_rss_bytes"`
	TarnOverPaimonCore  float64 `json:"tarn_over_paimon_per_core"`
	TarnOverPaimonWall  float64 `json:"tarn_over_paimon_wall"`
	RawPqarrowRowsS     float64 `json:"raw_pqarrow_rows_s,omitempty"`
	RawPqarrowRowsCPUS  float64 `json:"raw_pqarrow_rows_per_cpu_s,omitempty"`
	TarnOverRawPerCore  float64 `json:"tarn_over_raw_pqarrow_per_core,omitempty"`
	InputDecodeRowsCPUS float64 `json:"input_decode_rows_per_cpu_s,omitempty"`
	// Rows the background compactions rewrote per row appended (write amplification).
	TarnRewrittenPerRow   float64 `json:"tarn_compaction_rows_per_appended_row,omitempty"`
	PaimonRewrittenPerRow float64 `json:"paimon_compaction_rows_per_appended_row,omitempty"`

	Tarn               *side `json:"tarn,omitempty"`
	Paimon             *side `json:"paimon,omitempty"`
	TarnNoCompaction   *side `json:"tarn_compaction_off,omitempty"`
	PaimonNoCompaction *side `json:"paimon_compaction_off,omitempty"`
}

type scanCmp struct {
	Table            string  `json:"table"`
	Where            string  `json:"where,omitempty"`
	Rows             int64   `json:"rows"`
	PaimonRows       int64   `json:"paimon_rows,omitempty"`
	FileRows         int64   `json:"file_rows"`
	TarnRowsS        float64 `json:"tarn_rows_s"`
	PaimonRowsS      float64 `json:"paimon_rows_s"`
	RawPqarrowRowsS  float64 `json:"raw_pqarrow_rows_s"`
	TarnRowsCPUS     float64 `json:"tarn_rows_per_cpu_s"`
	PaimonRowsCPUS   float64 `json:"paimon_rows_per_cpu_s"`
	RawRowsCPUS      float64 `json:"raw_pqarrow_rows_per_cpu_s"`
	TarnCPUS         float64 `json:"tarn_cpu_s"`
	PaimonCPUS       float64 `json:"paimon_cpu_s"`
	RawCPUS          float64 `json:"raw_pqarrow_cpu_s"`
	TarnPeakRSS      int64   `json:"tarn_peak_rss_bytes"`
	PaimonPeakRSS    int64   `json:"paimon_peak_rss_bytes"`
	TarnOverPaimon   float64 `json:"tarn_over_paimon_per_core"`
	TarnOverPaimonW  float64 `json:"tarn_over_paimon_wall"`
	TarnOverRawCPU   float64 `json:"tarn_over_raw_pqarrow_cpu"` // raw decode CPU / scan CPU, same files
	TarnOverRawWall  float64 `json:"tarn_over_raw_pqarrow_wall"`
	RawIsFullOfTable bool    `json:"raw_is_full_decode_of_table"`
}

type compactCmp struct {
	InputBytes       int64   `json:"input_bytes"`
	PaimonInputBytes int64   `json:"paimon_input_bytes"`
	FilesIn          int     `json:"files_in"`
	TarnMBs          float64 `json:"tarn_mb_s"`
	PaimonMBs        float64 `json:"paimon_mb_s"`
	TarnMBPerCPUS    float64 `json:"tarn_input_mb_s_per_core"`
	PaimonMBPerCPUS  float64 `json:"paimon_input_mb_s_per_core"`
	TarnCPUS         float64 `json:"tarn_cpu_s"`
	PaimonCPUS       float64 `json:"paimon_cpu_s"`
	TarnPeakRSS      int64   `json:"tarn_peak_rss_bytes"`
	PaimonPeakRSS    int64   `json:"paimon_peak_rss_bytes"`
	TarnOverPaimon   float64 `json:"tarn_over_paimon_per_core"`
	TarnOverPaimonW  float64 `json:"tarn_over_paimon_wall"`
	InputRowsOfTable int64   `json:"rows"`
	// The same input counted as decoded rows (the rows' Arrow bytes, user columns) rather
	// than compressed Parquet: zstd shrinks these rows about 8 times.
	// The physical limit: pqarrow decoding the same files and encoding their rows again,
	// unmerged, with the same compression and dictionaries ('tarn bench compact --raw').
	RawMBs        float64 `json:"raw_pqarrow_rewrite_mb_s,omitempty"`
	RawMBPerCPUS  float64 `json:"raw_pqarrow_rewrite_mb_s_per_core,omitempty"`
	TarnOverRaw   float64 `json:"tarn_over_raw_pqarrow_rewrite_per_core,omitempty"`
	TarnOverRawW  float64 `json:"tarn_over_raw_pqarrow_rewrite_wall,omitempty"`
	RawDecodedMBs float64 `json:"raw_pqarrow_rewrite_decoded_mb_s_per_core,omitempty"`
	// The codec's share: the same files' pages decompressed and compressed again at level 1
	// ('tarn bench compact --raw'), whatever decodes, merges and encodes the rows.
	CodecMBs       float64 `json:"raw_codec_mb_s,omitempty"`
	CodecMBPerCPUS float64 `json:"raw_codec_mb_s_per_core,omitempty"`
	PageBytes      int64   `json:"raw_codec_page_bytes,omitempty"`
	// The reference zstd (the C library, as Paimon's zstd-jni) on the same pages, with
	// the input MB per second of its compression and decompression together.
	RefZstd      *refCodec `json:"reference_zstd,omitempty"`
	RefZstdInMBs float64   `json:"reference_zstd_mb_s_per_core,omitempty"`

	TarnDecodedMBPerCPUS   float64 `json:"tarn_decoded_input_mb_s_per_core"`
	PaimonDecodedMBPerCPUS float64 `json:"paimon_decoded_input_mb_s_per_core"`
	RowBytes               float64 `json:"decoded_row_bytes"`
}

type latCmp struct {
	Commits   int     `json:"commits"`
	TarnP50   float64 `json:"tarn_p50"`
	TarnP99   float64 `json:"tarn_p99"`
	PaimonP50 float64 `json:"paimon_p50"`
	PaimonP99 float64 `json:"paimon_p99"`
}

type pct struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

type tailCmp struct {
	// FlightFiles: a 'tarn serve' process; rows put by DoPut (one commit each), read by
	// a Flight tail of the same server from the table's files.
	FlightFiles *pct `json:"flight_files"`
	// FlightFilesPoll: commits by another process, which the server's tail finds by
	// polling the snapshots (200ms).
	FlightFilesPoll *pct `json:"flight_files_poll"`
	// FlightKafkaLog: as FlightFiles on a table with a Kafka log (the server's embedded
	// broker): DoPut dual-writes, the Flight tail reads the log.
	FlightKafkaLog *pct `json:"flight_kafka_log"`
	// KafkaLogInProcess: logsystem.Tail on an embedded broker, in process (no Flight).
	KafkaLogInProcess *pct   `json:"kafka_log_in_process"`
	Note              string `json:"note"`
}

type physical struct {
	EncodeRowsCPUS     float64 `json:"pqarrow_encode_rows_per_cpu_s"`
	EncodeMBCPUS       float64 `json:"pqarrow_encode_mb_per_cpu_s"`
	DecodeRowsCPUS     float64 `json:"pqarrow_decode_rows_per_cpu_s"`
	DecodeMBCPUS       float64 `json:"pqarrow_decode_mb_per_cpu_s"`
	DecodeFilesRowsS   float64 `json:"pqarrow_decode_table_files_rows_s"`
	DecodeFilesRowsCPU float64 `json:"pqarrow_decode_table_files_rows_per_cpu_s"`
	CustomerRowBytes   float64 `json:"customer_decoded_row_bytes"`
	LocalDiskWriteMBs  float64 `json:"local_disk_write_mb_s"`
	MinIOWriteMBs      float64 `json:"minio_write_mb_s"`
}

type target struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Met      *bool   `json:"met"`
}

func newReport(c *config) *report {
	return &report{
		Generated: time.Now().UTC().Format(time.RFC3339),
		Command:   c.cmdline,
		Versions:  map[string]string{},
		Config: map[string]any{
			"quick": c.quick, "keys": c.keys, "rows": c.rows, "partial_update_rows": c.puRows, "txn_rows": c.txnRows,
			"buckets": c.buckets, "commits": c.commits, "tail_commits": c.tailCommits, "commit_rows": c.commitRows,
			"paimon_warmup_rows": c.warmupRows, "scan_repeat": c.repeat, "update_share": 0.3, "jvm_opts": c.jvmOpts,
		},
		IngestUpsert:  &ingestCmp{Workload: "customer", Engine: "deduplicate", Rows: c.rows, Keys: c.keys},
		IngestPartial: &ingestCmp{Workload: "customer", Engine: "partial-update", Rows: c.puRows, Keys: c.keys},
		IngestAppend:  &ingestCmp{Workload: "transactions", Rows: c.txnRows},
		Scan:          map[string]*scanCmp{},
		CommitMs:      map[string]*latCmp{},
		Raw:           map[string][]*result{},
	}
}

func (rep *report) addRaw(key string, d *resultDoc) {
	if d == nil {
		return
	}
	for _, r := range d.Results {
		if r.Extra == nil {
			r.Extra = map[string]any{}
		}
		if len(d.Env) > 0 {
			r.Extra["env"] = d.Env
		}
		rep.Raw[key] = append(rep.Raw[key], r)
		if v, ok := d.Env["java"].(string); ok {
			rep.Versions["java"] = v
		}
		if v, ok := d.Env["paimon"].(string); ok {
			rep.Versions["paimon"] = v
		}
		if v, ok := d.Env["jvm_args"].(string); ok {
			rep.Versions["jvm_args"] = v
		}
		if v, ok := d.Env["gc"].(string); ok {
			rep.Versions["jvm_gc"] = v
		}
	}
}

func (rep *report) tarnIngest(c *ingestCmp, d *resultDoc) {
	on := d.find("tarn ingest")
	for _, r := range d.Results {
		if strings.HasSuffix(r.Name, "compaction=on") {
			on = r
		}
		if strings.HasSuffix(r.Name, "compaction=off") {
			c.TarnNoCompaction = sideOf(r)
		}
	}
	if on != nil {
		c.Tarn = sideOf(on)
		c.TarnRowsS, c.TarnRowsPerCPUS, c.TarnCPUSPerMRows, c.TarnPeakRSS = on.RowsPerS, on.RowsPerCPUS, on.CPUSPerMRows, on.PeakRSS
		c.TarnRewrittenPerRow = rewrittenPerRow(on)
	}
	if raw := d.find("raw pqarrow write"); raw != nil {
		c.RawPqarrowRowsS, c.RawPqarrowRowsCPUS = raw.RowsPerS, raw.RowsPerCPUS
		if c.Workload == "customer" {
			rep.Physical.EncodeRowsCPUS, rep.Physical.EncodeMBCPUS = raw.RowsPerCPUS, raw.MBPerCPUS
		}
	}
	if in := d.find("input decode"); in != nil {
		c.InputDecodeRowsCPUS = in.RowsPerCPUS
		if c.Workload == "customer" && c.Engine == "deduplicate" {
			rep.Physical.DecodeRowsCPUS, rep.Physical.DecodeMBCPUS = in.RowsPerCPUS, in.MBPerCPUS
			if in.Rows > 0 {
				rep.Physical.CustomerRowBytes = float64(in.Bytes) / float64(in.Rows)
			}
		}
	}
	c.ratios()
}

func (rep *report) paimonIngest(c *ingestCmp, d *resultDoc, compaction bool) {
	r := d.find("paimon ingest")
	if r == nil {
		return
	}
	if !compaction {
		c.PaimonNoCompaction = sideOf(r)
		return
	}
	c.Paimon = sideOf(r)
	c.PaimonRowsS, c.PaimonRowsPerCPUS, c.PaimonCPUSPerMRows, c.PaimonPeakRSS = r.RowsPerS, r.RowsPerCPUS, r.CPUSPerMRows, r.PeakRSS
	c.PaimonRewrittenPerRow = rewrittenPerRow(r)
	c.ratios()
}

// rewrittenPerRow is the rows a run's compactions rewrote per row appended, from the
// compaction_volume extra (a table.CompactionVolume; a map once read back from JSON).
func rewrittenPerRow(r *result) float64 {
	b, err := json.Marshal(r.Extra["compaction_volume"])
	if err != nil {
		return 0
	}
	var v table.CompactionVolume
	if json.Unmarshal(b, &v) != nil {
		return 0
	}
	return v.RewrittenPerAppended()
}

func (c *ingestCmp) ratios() {
	c.TarnOverPaimonCore = ratio(c.TarnRowsPerCPUS, c.PaimonRowsPerCPUS)
	c.TarnOverPaimonWall = ratio(c.TarnRowsS, c.PaimonRowsS)
	c.TarnOverRawPerCore = ratio(c.TarnRowsPerCPUS, c.RawPqarrowRowsCPUS)
}

func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a / b
}

func (rep *report) scan(key, table, where string, td, pd *resultDoc) {
	s := &scanCmp{Table: table, Where: where, RawIsFullOfTable: true}
	name := "tarn scan full"
	pname := "paimon scan full"
	if where != "" {
		name, pname = "tarn scan where", "paimon scan where"
	}
	if t := td.find(name); t != nil {
		s.Rows, s.TarnRowsS, s.TarnRowsCPUS, s.TarnCPUS, s.TarnPeakRSS = t.Rows, t.RowsPerS, t.RowsPerCPUS, t.CPUS, t.PeakRSS
	}
	if raw := td.find("raw pqarrow decode"); raw != nil {
		s.FileRows, s.RawPqarrowRowsS, s.RawRowsCPUS, s.RawCPUS = raw.Rows, raw.RowsPerS, raw.RowsPerCPUS, raw.CPUS
		if key == "full" {
			rep.Physical.DecodeFilesRowsS, rep.Physical.DecodeFilesRowsCPU = raw.RowsPerS, raw.RowsPerCPUS
		}
		if where == "" {
			s.TarnOverRawCPU = ratio(raw.CPUS, s.TarnCPUS)
			if t := td.find(name); t != nil {
				s.TarnOverRawWall = ratio(raw.WallS, t.WallS)
			}
		}
	}
	if pd != nil {
		if p := pd.find(pname); p != nil {
			s.PaimonRows, s.PaimonRowsS, s.PaimonRowsCPUS, s.PaimonCPUS, s.PaimonPeakRSS = p.Rows, p.RowsPerS, p.RowsPerCPUS, p.CPUS, p.PeakRSS
		}
	}
	s.TarnOverPaimon = ratio(s.TarnRowsCPUS, s.PaimonRowsCPUS)
	s.TarnOverPaimonW = ratio(s.TarnRowsS, s.PaimonRowsS)
	rep.Scan[key] = s
}

func (rep *report) compaction(td, pd *resultDoc, ref *refCodec) {
	c := &compactCmp{}
	if td != nil {
		if v, ok := td.Env["zstd_encoder"].(string); ok {
			rep.Versions["zstd encoder of Tarn's Parquet pages"] = v
		}
		if t := td.find("tarn compact"); t != nil {
			c.InputBytes, c.TarnMBs, c.TarnMBPerCPUS, c.TarnCPUS, c.TarnPeakRSS = t.Bytes, t.MBPerS, t.MBPerCPUS, t.CPUS, t.PeakRSS
			c.InputRowsOfTable = t.Rows
			if v, ok := t.Extra["files_in"].(float64); ok {
				c.FilesIn = int(v)
			}
		}
		if r := td.find("raw pqarrow decode and encode"); r != nil {
			c.RawMBs, c.RawMBPerCPUS = r.MBPerS, r.MBPerCPUS
		}
		if r := td.find("raw codec decompress and compress"); r != nil {
			c.CodecMBs, c.CodecMBPerCPUS = r.MBPerS, r.MBPerCPUS
			if v, ok := r.Extra["page_bytes"].(float64); ok {
				c.PageBytes = int64(v)
			}
		}
	}
	if pd != nil {
		if p := pd.find("paimon compact"); p != nil {
			c.PaimonInputBytes, c.PaimonMBs, c.PaimonMBPerCPUS, c.PaimonCPUS, c.PaimonPeakRSS = p.Bytes, p.MBPerS, p.MBPerCPUS, p.CPUS, p.PeakRSS
		}
	}
	if ref != nil && c.PageBytes > 0 && c.InputBytes > 0 {
		pageMB := float64(c.PageBytes) / 1e6
		c.RefZstd = ref
		if ref.Version != "" && rep.Versions != nil {
			rep.Versions["zstd (reference, for the compaction's codec limit)"] = ref.Version
		}
		c.RefZstdInMBs = float64(c.InputBytes) / 1e6 / (pageMB/ref.CompressMBs + pageMB/ref.DecompressMBs)
	}
	c.TarnOverPaimon = ratio(c.TarnMBPerCPUS, c.PaimonMBPerCPUS)
	c.TarnOverPaimonW = ratio(c.TarnMBs, c.PaimonMBs)
	c.TarnOverRaw, c.TarnOverRawW = ratio(c.TarnMBPerCPUS, c.RawMBPerCPUS), ratio(c.TarnMBs, c.RawMBs)
	if rb := rep.Physical.CustomerRowBytes; rb > 0 && c.InputRowsOfTable > 0 {
		c.RowBytes = rb
		mb := float64(c.InputRowsOfTable) * rb / 1e6
		c.TarnDecodedMBPerCPUS = ratio(mb, c.TarnCPUS)
		c.PaimonDecodedMBPerCPUS = ratio(mb, c.PaimonCPUS)
		if c.TarnMBPerCPUS > 0 {
			// The same rows, at the raw rewrite's speed relative to Tarn's.
			c.RawDecodedMBs = c.TarnDecodedMBPerCPUS * c.RawMBPerCPUS / c.TarnMBPerCPUS
		}
	}
	rep.Compaction = c
}

func (rep *report) commit(key string, td, pd *resultDoc) {
	l := &latCmp{}
	if td != nil {
		if t := td.find("tarn commit"); t != nil {
			l.Commits, l.TarnP50, l.TarnP99 = t.Latencies, t.P50Ms, t.P99Ms
		}
	}
	if pd != nil {
		if p := pd.find("paimon commit"); p != nil {
			l.PaimonP50, l.PaimonP99 = p.P50Ms, p.P99Ms
			if l.Commits == 0 {
				l.Commits = p.Latencies
			}
		}
	}
	rep.CommitMs[key] = l
}

func pctOf(r *result) *pct {
	if r == nil || r.Latencies == 0 {
		return nil
	}
	return &pct{P50: r.P50Ms, P99: r.P99Ms, Max: r.MaxMs, N: r.Latencies}
}

func (rep *report) tail(d *resultDoc) {
	rep.TailMs = &tailCmp{
		FlightFiles:       pctOf(d.find("tarn tail over Flight from tarn serve (DoPut, from files)")),
		FlightFilesPoll:   pctOf(d.find("tarn tail over Flight (commits from another process")),
		FlightKafkaLog:    pctOf(d.find("tarn tail over Flight from tarn serve (DoPut, with the Kafka log)")),
		KafkaLogInProcess: pctOf(d.find("tarn tail of the Kafka log")),
		Note: "Latency from just before a commit's rows are sent to when a Flight client holds them (commit to client). " +
			"flight_files and flight_kafka_log run a 'tarn serve' process: each commit is one DoPut stream into it, read by a " +
			"Flight tail of the same server; with the Kafka log (its embedded broker) the rows are dual-written and the tail " +
			"reads the log. flight_files_poll commits from another process, which the server finds by polling every 200 ms. " +
			"kafka_log_in_process is the log's tail (logsystem) without a server or Flight.",
	}
}

// finish computes the targets.
func (rep *report) finish(d time.Duration) {
	rep.DurationS = d.Seconds()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.Machine["loadavg_end"] = strings.TrimSpace(string(b))
	}
	met := func(ok bool) *bool { return &ok }
	add := func(name, tgt, measured string, value float64, ok *bool) {
		rep.Targets = append(rep.Targets, target{Name: name, Target: tgt, Measured: measured, Value: value, Met: ok})
	}
	u := rep.IngestUpsert
	if u.TarnRowsPerCPUS > 0 && u.PaimonRowsPerCPUS > 0 {
		add("upsert ingest per core, background compaction on", "≥ 3× Paimon",
			fmt.Sprintf("%.2f× (%s vs %s rows per CPU-second)", u.TarnOverPaimonCore, human(u.TarnRowsPerCPUS), human(u.PaimonRowsPerCPUS)),
			u.TarnOverPaimonCore, met(u.TarnOverPaimonCore >= 3))
	}
	if u.TarnPeakRSS > 0 {
		var ok *bool
		note := ""
		if u.Keys >= 10_000_000 {
			ok = met(u.TarnPeakRSS <= 1<<30)
		} else {
			note = fmt.Sprintf(" (at %s keys; the target is for 10M)", human(float64(u.Keys)))
		}
		add("upsert ingest peak RSS", "≤ 1 GiB at 10M keys", fmt.Sprintf("%.0f MiB%s", float64(u.TarnPeakRSS)/(1<<20), note), float64(u.TarnPeakRSS), ok)
	}
	if s := rep.Scan["full"]; s != nil && s.TarnCPUS > 0 {
		add("full scan vs raw pqarrow decode of the same files", "≥ 50%",
			fmt.Sprintf("%.0f%% (CPU time; %.0f%% wall)", 100*s.TarnOverRawCPU, 100*s.TarnOverRawWall), s.TarnOverRawCPU, met(s.TarnOverRawCPU >= 0.5))
		if s.PaimonRowsCPUS > 0 {
			add("full scan vs Paimon's reader", "faster",
				fmt.Sprintf("%.2f× per core (%.2f× wall)", s.TarnOverPaimon, s.TarnOverPaimonW), s.TarnOverPaimon, met(s.TarnOverPaimon > 1))
		}
	}
	if c := rep.Compaction; c != nil && c.TarnMBPerCPUS > 0 {
		dec := ""
		if c.TarnDecodedMBPerCPUS > 0 {
			dec = fmt.Sprintf("; counted as decoded rows %.0f MB/s (Paimon %.0f)", c.TarnDecodedMBPerCPUS, c.PaimonDecodedMBPerCPUS)
		}
		if c.RawMBPerCPUS > 0 {
			dec += fmt.Sprintf("; pqarrow alone decoding and encoding the same files, unmerged: %.1f MB/s", c.RawMBPerCPUS)
		}
		if c.CodecMBPerCPUS > 0 {
			dec += fmt.Sprintf("; zstd alone decompressing and compressing their pages again: %.1f MB/s", c.CodecMBPerCPUS)
		}
		if c.RefZstdInMBs > 0 {
			dec += fmt.Sprintf(" (the reference C zstd: %.1f MB/s)", c.RefZstdInMBs)
		}
		add("compaction input per core", "≥ 50 MB/s", fmt.Sprintf("%.1f MB/s of Parquet files (Paimon %.1f)%s", c.TarnMBPerCPUS, c.PaimonMBPerCPUS, dec),
			c.TarnMBPerCPUS, met(c.TarnMBPerCPUS >= 50))
	}
	if l := rep.CommitMs["minio"]; l != nil && l.TarnP50 > 0 {
		add("commit p50 on MinIO", "< 50 ms", fmt.Sprintf("%.1f ms (p99 %.1f; Paimon p50 %.1f)", l.TarnP50, l.TarnP99, l.PaimonP50), l.TarnP50, met(l.TarnP50 < 50))
	}
	if t := rep.TailMs; t != nil {
		if t.FlightKafkaLog != nil {
			add("tail p99 with the Kafka log, over Flight", "< 1 s", fmt.Sprintf("%.0f ms (p50 %.0f; tarn serve, DoPut to Flight tail)", t.FlightKafkaLog.P99, t.FlightKafkaLog.P50),
				t.FlightKafkaLog.P99, met(t.FlightKafkaLog.P99 < 1000))
		}
		// From files: the worse of commits through the server and from another process.
		var worst *pct
		for _, p := range []*pct{t.FlightFiles, t.FlightFilesPoll} {
			if p != nil && (worst == nil || p.P99 > worst.P99) {
				worst = p
			}
		}
		if worst != nil {
			var parts []string
			if t.FlightFiles != nil {
				parts = append(parts, fmt.Sprintf("%.0f ms with DoPut into tarn serve", t.FlightFiles.P99))
			}
			if t.FlightFilesPoll != nil {
				parts = append(parts, fmt.Sprintf("%.0f ms with commits from another process (polled)", t.FlightFilesPoll.P99))
			}
			add("tail p99 from files, over Flight", "< 2 s", strings.Join(parts, "; "), worst.P99, met(worst.P99 < 2000))
		}
	}
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// rows of the summary table: what, Tarn, Paimon, limit, ratio.
type row struct {
	what, unit            string
	tarn, paimon, limit   float64
	ratio, ratioLimit     float64
	fmtv                  func(float64) string
	lowerIsBetter, header bool
}

func summaryRows(rep *report) []row {
	mib := func(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }
	msf := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	mbf := func(v float64) string { return fmt.Sprintf("%.1f MB/s", v) }
	var rows []row
	ing := func(title string, c *ingestCmp) {
		if c == nil || (c.TarnRowsPerCPUS == 0 && c.PaimonRowsPerCPUS == 0) {
			return
		}
		rows = append(rows, row{what: fmt.Sprintf("%s (%s rows)", title, human(float64(c.Rows))), header: true})
		rows = append(rows,
			row{what: "rows per CPU-second (per core)", tarn: c.TarnRowsPerCPUS, paimon: c.PaimonRowsPerCPUS, limit: c.RawPqarrowRowsCPUS, ratio: c.TarnOverPaimonCore, ratioLimit: c.TarnOverRawPerCore, fmtv: human},
			row{what: "rows/s (wall)", tarn: c.TarnRowsS, paimon: c.PaimonRowsS, limit: c.RawPqarrowRowsS, ratio: c.TarnOverPaimonWall, ratioLimit: ratio(c.TarnRowsS, c.RawPqarrowRowsS), fmtv: human},
			row{what: "CPU seconds per million rows", tarn: c.TarnCPUSPerMRows, paimon: c.PaimonCPUSPerMRows, ratio: ratio(c.PaimonCPUSPerMRows, c.TarnCPUSPerMRows), fmtv: func(v float64) string { return fmt.Sprintf("%.2f", v) }, lowerIsBetter: true},
			row{what: "peak RSS", tarn: float64(c.TarnPeakRSS), paimon: float64(c.PaimonPeakRSS), ratio: ratio(float64(c.PaimonPeakRSS), float64(c.TarnPeakRSS)), fmtv: mib, lowerIsBetter: true},
		)
		if c.TarnRewrittenPerRow > 0 || c.PaimonRewrittenPerRow > 0 {
			rows = append(rows, row{what: "rows compactions rewrote per row appended", tarn: c.TarnRewrittenPerRow, paimon: c.PaimonRewrittenPerRow,
				ratio: ratio(c.PaimonRewrittenPerRow, c.TarnRewrittenPerRow), fmtv: func(v float64) string { return fmt.Sprintf("%.2f", v) }, lowerIsBetter: true})
		}
		if c.TarnNoCompaction != nil || c.PaimonNoCompaction != nil {
			var t, p float64
			if c.TarnNoCompaction != nil {
				t = c.TarnNoCompaction.RowsPerCPUS
			}
			if c.PaimonNoCompaction != nil {
				p = c.PaimonNoCompaction.RowsPerCPUS
			}
			rows = append(rows, row{what: "rows per CPU-second, compaction off", tarn: t, paimon: p, limit: c.RawPqarrowRowsCPUS, ratio: ratio(t, p), ratioLimit: ratio(t, c.RawPqarrowRowsCPUS), fmtv: human})
		}
	}
	ing("Upsert ingest, customer, deduplicate, background compaction", rep.IngestUpsert)
	ing("Upsert ingest, customer, partial-update, background compaction", rep.IngestPartial)
	ing("Append ingest, transactions (partitioned by day)", rep.IngestAppend)
	keys := make([]string, 0, len(rep.Scan))
	for k := range rep.Scan {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return scanOrder(keys[i]) < scanOrder(keys[j]) })
	for _, k := range keys {
		s := rep.Scan[k]
		title := fmt.Sprintf("Scan %s, full (%s rows)", s.Table, human(float64(s.Rows)))
		if s.Where != "" {
			title = fmt.Sprintf("Scan %s where %s (%s rows)", s.Table, s.Where, human(float64(s.Rows)))
		}
		rows = append(rows, row{what: title, header: true})
		rl := s.RawRowsCPUS
		rw := s.RawPqarrowRowsS
		if s.Where != "" {
			rl, rw = 0, 0
		}
		rows = append(rows,
			row{what: "rows per CPU-second", tarn: s.TarnRowsCPUS, paimon: s.PaimonRowsCPUS, limit: rl, ratio: s.TarnOverPaimon, ratioLimit: s.TarnOverRawCPU, fmtv: human},
			row{what: "rows/s (wall)", tarn: s.TarnRowsS, paimon: s.PaimonRowsS, limit: rw, ratio: s.TarnOverPaimonW, ratioLimit: s.TarnOverRawWall, fmtv: human},
		)
	}
	if c := rep.Compaction; c != nil && c.TarnCPUS > 0 {
		rows = append(rows, row{what: fmt.Sprintf("Full compaction (%.0f MB of input)", float64(c.InputBytes)/1e6), header: true},
			row{what: "input MB per CPU-second (per core)", tarn: c.TarnMBPerCPUS, paimon: c.PaimonMBPerCPUS, limit: c.RawMBPerCPUS, ratio: c.TarnOverPaimon, ratioLimit: c.TarnOverRaw, fmtv: mbf},
			row{what: "input MB/s (wall)", tarn: c.TarnMBs, paimon: c.PaimonMBs, limit: c.RawMBs, ratio: c.TarnOverPaimonW, ratioLimit: c.TarnOverRawW, fmtv: mbf})
		// The codec's share alone: as Tarn runs it, and the reference zstd's own benchmark.
		for _, l := range []struct {
			what  string
			limit float64
		}{
			{"input MB per CPU-second; limit: zstd alone, decompressing and compressing the same pages", c.CodecMBPerCPUS},
			{"input MB per CPU-second; limit: the reference C zstd on the same pages (zstd -b1)", c.RefZstdInMBs},
		} {
			if l.limit > 0 {
				rows = append(rows, row{what: l.what, tarn: c.TarnMBPerCPUS, limit: l.limit, ratioLimit: ratio(c.TarnMBPerCPUS, l.limit), fmtv: mbf})
			}
		}
		rows = append(rows,
			row{what: "input as decoded rows, MB per CPU-second", tarn: c.TarnDecodedMBPerCPUS, paimon: c.PaimonDecodedMBPerCPUS, limit: c.RawDecodedMBs, ratio: ratio(c.TarnDecodedMBPerCPUS, c.PaimonDecodedMBPerCPUS), ratioLimit: ratio(c.TarnDecodedMBPerCPUS, c.RawDecodedMBs), fmtv: mbf},
			row{what: "peak RSS", tarn: float64(c.TarnPeakRSS), paimon: float64(c.PaimonPeakRSS), ratio: ratio(float64(c.PaimonPeakRSS), float64(c.TarnPeakRSS)), fmtv: mib, lowerIsBetter: true},
		)
	}
	for _, k := range []string{"local", "minio"} {
		l := rep.CommitMs[k]
		if l == nil {
			continue
		}
		rows = append(rows, row{what: fmt.Sprintf("Commit latency, %s (%d commits of 10 rows)", map[string]string{"local": "local disk", "minio": "MinIO"}[k], l.Commits), header: true},
			row{what: "p50", tarn: l.TarnP50, paimon: l.PaimonP50, ratio: ratio(l.PaimonP50, l.TarnP50), fmtv: msf, lowerIsBetter: true},
			row{what: "p99", tarn: l.TarnP99, paimon: l.PaimonP99, ratio: ratio(l.PaimonP99, l.TarnP99), fmtv: msf, lowerIsBetter: true},
		)
	}
	if t := rep.TailMs; t != nil {
		rows = append(rows, row{what: "Tail, commit to client (Tarn only: Paimon has no server)", header: true})
		add := func(name string, p *pct) {
			if p != nil {
				rows = append(rows, row{what: name + " p50 / p99", unit: fmt.Sprintf("%.0f / %.0f ms", p.P50, p.P99), fmtv: msf})
			}
		}
		add("Flight, from files, DoPut into tarn serve", t.FlightFiles)
		add("Flight, from files, commits from another process", t.FlightFilesPoll)
		add("Flight, with the Kafka log, DoPut into tarn serve", t.FlightKafkaLog)
		add("Kafka log tail in process (no server, no Flight)", t.KafkaLogInProcess)
	}
	if p := rep.Physical; p.LocalDiskWriteMBs > 0 || p.MinIOWriteMBs > 0 {
		rows = append(rows, row{what: "Physical limits", header: true})
		if p.EncodeRowsCPUS > 0 {
			rows = append(rows, row{what: "pqarrow encode, customer rows", unit: fmt.Sprintf("%s rows per CPU-second (%.0f MB/s per core)", human(p.EncodeRowsCPUS), p.EncodeMBCPUS)})
		}
		if p.DecodeRowsCPUS > 0 {
			rows = append(rows, row{what: "pqarrow decode, customer rows", unit: fmt.Sprintf("%s rows per CPU-second (%.0f MB/s per core)", human(p.DecodeRowsCPUS), p.DecodeMBCPUS)})
		}
		if p.LocalDiskWriteMBs > 0 {
			rows = append(rows, row{what: "local disk write (fsync per file)", unit: fmt.Sprintf("%.0f MB/s", p.LocalDiskWriteMBs)})
		}
		if p.MinIOWriteMBs > 0 {
			rows = append(rows, row{what: "MinIO write (64 MiB objects)", unit: fmt.Sprintf("%.0f MB/s", p.MinIOWriteMBs)})
		}
	}
	return rows
}

func scanOrder(k string) int {
	switch k {
	case "full":
		return 0
	case "filtered":
		return 1
	case "append_full":
		return 2
	}
	return 3
}

func cell(v float64, f func(float64) string) string {
	if v == 0 || f == nil {
		return "–"
	}
	return f(v)
}

func ratioCell(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

func printReport(w io.Writer, rep *report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tTarn\tPaimon (Java)\tTarn/Paimon\tphysical limit\tTarn/limit")
	for _, r := range summaryRows(rep) {
		if r.header {
			fmt.Fprintf(tw, "%s\t\t\t\t\t\n", r.what)
			continue
		}
		if r.unit != "" {
			fmt.Fprintf(tw, "  %s\t%s\t\t\t\t\n", r.what, r.unit)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.what, cell(r.tarn, r.fmtv), cell(r.paimon, r.fmtv), ratioCell(r.ratio), cell(r.limit, r.fmtv), ratioCell(r.ratioLimit))
	}
	tw.Flush()
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "\nTargets:")
		for _, t := range rep.Targets {
			fmt.Fprintf(w, "  %-52s %-14s %-8s %s\n", t.Name, t.Target, metString(t.Met), t.Measured)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintf(w, "\n(%s in %.0fs; load average %v → %v)\n", rep.Command, rep.DurationS, rep.Machine["loadavg_start"], rep.Machine["loadavg_end"])
}

func metString(m *bool) string {
	switch {
	case m == nil:
		return "n/a"
	case *m:
		return "met"
	}
	return "MISSED"
}

// requiredFields are the JSON fields every full comparison fills (issue: ingest, scan,
// compaction, commit and tail figures of both systems and the physical limits).
var requiredFields = []string{
	"ingest_upsert.tarn_rows_s", "ingest_upsert.paimon_rows_s",
	"ingest_upsert.tarn_cpu_s_per_mrows", "ingest_upsert.paimon_cpu_s_per_mrows",
	"ingest_upsert.tarn_peak_rss_bytes", "ingest_upsert.paimon_peak_rss_bytes",
	"ingest_append.tarn_rows_s", "ingest_append.paimon_rows_s",
	"ingest_append.tarn_cpu_s_per_mrows", "ingest_append.paimon_cpu_s_per_mrows",
	"ingest_append.tarn_peak_rss_bytes", "ingest_append.paimon_peak_rss_bytes",
	"scan.full.tarn_rows_s", "scan.full.paimon_rows_s", "scan.full.raw_pqarrow_rows_s",
	"scan.filtered.tarn_rows_s", "scan.filtered.paimon_rows_s", "scan.filtered.raw_pqarrow_rows_s",
	"compaction.tarn_mb_s", "compaction.paimon_mb_s",
	"compaction.tarn_input_mb_s_per_core", "compaction.paimon_input_mb_s_per_core",
	"commit_ms.local.tarn_p50", "commit_ms.local.tarn_p99", "commit_ms.local.paimon_p50", "commit_ms.local.paimon_p99",
	"commit_ms.minio.tarn_p50", "commit_ms.minio.tarn_p99", "commit_ms.minio.paimon_p50", "commit_ms.minio.paimon_p99",
	"tail_ms.flight_files.p50", "tail_ms.flight_files.p99",
	"tail_ms.flight_kafka_log.p50", "tail_ms.flight_kafka_log.p99",
	"physical.pqarrow_encode_rows_per_cpu_s", "physical.pqarrow_decode_rows_per_cpu_s",
	"physical.local_disk_write_mb_s", "physical.minio_write_mb_s",
}

// missingFields lists the required fields that are absent, null or zero in the report's
// JSON.
func missingFields(rep *report) []string {
	b, err := json.Marshal(rep)
	if err != nil {
		return []string{"(the report does not marshal: " + err.Error() + ")"}
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return []string{"(the report does not unmarshal: " + err.Error() + ")"}
	}
	var missing []string
	for _, f := range requiredFields {
		var v any = doc
		for _, k := range strings.Split(f, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		if n, ok := v.(float64); !ok || n == 0 {
			missing = append(missing, f)
		}
	}
	return missing
}

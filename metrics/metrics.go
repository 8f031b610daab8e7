// Package metrics is Tarn's Prometheus registry: the counters and histograms every part of
// the server reports to, served by `tarn serve` at /metrics. Packages add their own
// collectors with Register; the shared ones below are labelled by table ("db.table") and by
// source (the API that did the work: "http", "rest-catalog", "flight", "kafka", ...).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every Tarn metric and the Go runtime and process collectors.
var Registry = prometheus.NewRegistry()

var (
	// Commits counts snapshot commits by table, source and result ("ok", "conflict",
	// "error", "skipped").
	Commits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "commits_total",
		Help: "Snapshot commits, by table, source and result.",
	}, []string{"table", "source", "result"})

	// RowsWritten counts rows committed into tables.
	RowsWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "rows_written_total",
		Help: "Rows committed into tables.",
	}, []string{"table", "source"})

	// BytesWritten counts bytes of data files committed into tables.
	BytesWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "bytes_written_total",
		Help: "Bytes of data files committed into tables.",
	}, []string{"table", "source"})

	// Scans counts scan plans made for readers.
	Scans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "scans_total",
		Help: "Scan plans made, by table and source.",
	}, []string{"table", "source"})

	// RequestDuration observes HTTP request latencies by route pattern, method and status
	// code.
	RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "tarn", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "HTTP request latencies, by route, method and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10), // 0.5ms .. ~131s
	}, []string{"route", "method", "code"})

	// InflightCommits is the number of commits in progress.
	InflightCommits = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Name: "inflight_commits",
		Help: "Commits in progress.",
	})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		Commits, RowsWritten, BytesWritten, Scans, RequestDuration, InflightCommits,
	)
}

// Register adds collectors to the registry. It fails if one with the same name exists.
func Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := Registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the registry in Prometheus' exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// CommitDone records a finished commit: its result and, when it succeeded, the rows and
// bytes it added.
func CommitDone(table, source, result string, rows, bytes int64) {
	Commits.WithLabelValues(table, source, result).Inc()
	if result == "ok" {
		if rows > 0 {
			RowsWritten.WithLabelValues(table, source).Add(float64(rows))
		}
		if bytes > 0 {
			BytesWritten.WithLabelValues(table, source).Add(float64(bytes))
		}
	}
}

// ScanPlanned records one scan plan.
func ScanPlanned(table, source string) {
	Scans.WithLabelValues(table, source).Inc()
}

// ObserveRequest records one HTTP request.
func ObserveRequest(route, method string, code int, d time.Duration) {
	RequestDuration.WithLabelValues(route, method, statusText(code)).Observe(d.Seconds())
}

func statusText(code int) string {
	if code < 100 || code > 999 {
		return "unknown"
	}
	return strconv.Itoa(code)
}

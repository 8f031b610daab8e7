package flight

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tarnlake/tarn/metrics"
)

// Flight's own metrics, beside the shared commit and scan counters of package metrics.
var (
	rowsSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "flight", Name: "rows_sent_total",
		Help: "Rows streamed by DoGet, by kind of stream (scan, incremental, tail).",
	}, []string{"kind"})
	tailsActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "tarn", Subsystem: "flight", Name: "tails",
		Help: "Changelog tails streaming now.",
	})
	tailLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "tarn", Subsystem: "flight", Name: "tail_latency_seconds",
		Help:    "Time from a snapshot's commit to a tail sending its first rows (tails that keep up).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30},
	})
)

func init() {
	if err := metrics.Register(rowsSent, tailsActive, tailLatency); err != nil {
		panic(err)
	}
}

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
)

func init() {
	if err := metrics.Register(rowsSent, tailsActive); err != nil {
		panic(err)
	}
}

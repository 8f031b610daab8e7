package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/logsystem/cdc"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/server"
)

func init() {
	serveOptions = append(serveOptions, server.WithLogSystem(newLogSystem))
}

// CDC metrics of `tarn serve`, per table and topic.
var (
	cdcMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tarn_cdc_messages_total", Help: "CDC messages consumed, by outcome (ingested, malformed, dead_lettered).",
	}, []string{"table", "topic", "result"})
	cdcLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tarn_cdc_lag_messages", Help: "CDC messages not yet consumed (summed over the topic's partitions).",
	}, []string{"table", "topic"})
	cdcRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tarn_cdc_restarts_total", Help: "CDC ingestions restarted after an error.",
	}, []string{"table", "topic"})
	cdcSnapshot = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tarn_cdc_snapshot", Help: "The last snapshot a CDC ingestion committed.",
	}, []string{"table", "topic"})
	registerCDCMetrics sync.Once
)

// serveLog is the log system of `tarn serve`: the logsystem.Service and the CDC
// ingestions configured under kafka.cdc.
type serveLog struct {
	*logsystem.Service
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newLogSystem(ctx context.Context, d server.Deps) (server.LogSystem, error) {
	k := d.Config.Kafka
	conn := logsystem.Config{
		SASLMechanism: k.SASLMechanism, SASLUser: k.SASLUser, SASLPassword: k.SASLPassword,
		TLS: k.TLS, CAFile: k.CAFile, CertFile: k.CertFile, KeyFile: k.KeyFile, InsecureSkipVerify: k.InsecureSkipVerify,
	}
	svc, err := logsystem.NewService(ctx, logsystem.ServiceOptions{
		Bootstrap: k.Bootstrap, Conn: conn, EmbeddedAddr: k.EmbeddedAddr, EmbeddedDataDir: k.EmbeddedDataDir, Logger: d.Logger,
	})
	if err != nil {
		return nil, err
	}
	if a := svc.EmbeddedAddr(); a != "" {
		d.Logger.Info("embedded Kafka broker", "addr", a)
	}
	registerCDCMetrics.Do(func() { _ = metrics.Register(cdcMessages, cdcLag, cdcRestarts, cdcSnapshot) })
	lctx, cancel := context.WithCancel(context.Background())
	l := &serveLog{Service: svc, cancel: cancel}
	for _, p := range k.CDC {
		o, err := cdcOptions(d.Catalog, svc.Conn(), conn, p)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			runCDC(lctx, d, o)
		}()
	}
	return l, nil
}

// cdcOptions builds the ingestion of one kafka.cdc entry.
func cdcOptions(cat *catalog.Catalog, logConn, conn logsystem.Config, p server.CDCConfig) (cdc.Options, error) {
	f, err := cdc.ParseFormat(p.Format)
	if err != nil {
		return cdc.Options{}, fmt.Errorf("kafka.cdc topic %q: %w", p.Topic, err)
	}
	id, err := catalog.ParseIdentifier(p.Table)
	if err != nil {
		return cdc.Options{}, fmt.Errorf("kafka.cdc topic %q: %w", p.Topic, err)
	}
	source := logConn
	if p.Bootstrap != "" {
		source = conn
		source.Brokers = logsystem.ParseBrokers(p.Bootstrap)
	}
	o := cdc.Options{
		Source: source, Topic: p.Topic, Format: f, Catalog: cat, Table: id,
		Create: p.Create, CreateOptions: p.Options, CommitInterval: time.Duration(p.CommitInterval),
		DeadLetterTopic: p.DeadLetterTopic, StopOnError: p.StopOnError,
	}
	if len(logConn.Brokers) > 0 {
		lc := logConn
		o.Log = &lc
	}
	if p.AddColumns == nil || *p.AddColumns {
		o.AddColumns = cdc.CatalogAddColumns(cat, id)
		o.WidenColumns = cdc.CatalogWidenColumns(cat, id)
	}
	return o, nil
}

// runCDC ingests one CDC topic until ctx ends, restarting after errors with a growing
// delay (ingestion resumes exactly where the table's last snapshot left it).
func runCDC(ctx context.Context, d server.Deps, o cdc.Options) {
	name := o.Table.String()
	var last cdc.Stats
	o.Progress = func(s cdc.Stats) {
		ingested := s.Messages - s.Malformed
		if ingested > last.Messages-last.Malformed {
			cdcMessages.WithLabelValues(name, o.Topic, "ingested").Add(float64(ingested - (last.Messages - last.Malformed)))
		}
		if s.Malformed > last.Malformed {
			cdcMessages.WithLabelValues(name, o.Topic, "malformed").Add(float64(s.Malformed - last.Malformed))
		}
		if s.DeadLettered > last.DeadLettered {
			cdcMessages.WithLabelValues(name, o.Topic, "dead_lettered").Add(float64(s.DeadLettered - last.DeadLettered))
		}
		cdcLag.WithLabelValues(name, o.Topic).Set(float64(s.Lag))
		if s.Snapshot > 0 {
			cdcSnapshot.WithLabelValues(name, o.Topic).Set(float64(s.Snapshot))
		}
		last = s
	}
	backoff := time.Second
	for {
		last = cdc.Stats{}
		d.Logger.Info("CDC ingestion started", "table", name, "topic", o.Topic, "format", o.Format)
		start := time.Now()
		stats, err := cdc.Ingest(ctx, o)
		if ctx.Err() != nil {
			d.Logger.Info("CDC ingestion stopped", "table", name, "topic", o.Topic, "messages", stats.Messages, "commits", stats.Commits)
			return
		}
		if o.StopOnError {
			d.Logger.Error("CDC ingestion stopped at an error (stop_on_error)", "table", name, "topic", o.Topic, "err", err)
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		cdcRestarts.WithLabelValues(name, o.Topic).Inc()
		d.Logger.Error("CDC ingestion failed; restarting", "table", name, "topic", o.Topic, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// Close stops the CDC ingestions, then the log system.
func (l *serveLog) Close() error {
	l.cancel()
	l.wg.Wait()
	return l.Service.Close()
}

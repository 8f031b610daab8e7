package server

// Background work of the server: compaction (package compaction's Scheduler) and table
// maintenance (snapshot expiry and automatic tags), with their configuration.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// Defaults of the background work.
const (
	DefaultCompactionMemory    = ByteSize(compaction.DefaultMemory)
	DefaultMaintenanceInterval = time.Minute
)

// CompactionConfig configures background compaction: Workers compactions at once (0:
// GOMAXPROCS/2, at least 1) merging at most Memory bytes of input files together, over
// every table of the warehouse.
type CompactionConfig struct {
	Disabled bool     `yaml:"disabled"`
	Workers  int      `yaml:"workers"`
	Memory   ByteSize `yaml:"memory"`
	// PollInterval is how often tables are checked for commits of other processes
	// (default 30s); commits through this server are seen at once.
	PollInterval Duration `yaml:"poll_interval"`
}

// MaintenanceConfig configures table maintenance: after commits and every Interval, each
// table's snapshots expire by its snapshot.* options and, with tag.automatic-creation,
// its tags are created and expired.
type MaintenanceConfig struct {
	Disabled bool     `yaml:"disabled"`
	Interval Duration `yaml:"interval"`
}

// ByteSize is a number of bytes written as "1GiB", "512MiB", "64 mb" or "1073741824".
type ByteSize int64

// UnmarshalYAML reads a size with an optional unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// String prints the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// ParseByteSize parses a size: a number with an optional unit, B, K/KB/KiB, M/MB/MiB,
// G/GB/GiB or T/TB/TiB (all binary multiples, as Paimon's memory sizes).
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want e.g. 1GiB, 512MiB or a number of bytes", s)
	}
	mult := float64(1)
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b", "bytes":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB or TiB)", s, t[i:])
	}
	if n*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// backgroundFlags are the command-line flags of the background work.
type backgroundFlags struct {
	workers      int
	memory       string
	noCompaction bool
	maintenance  string
}

func (f *Flags) addBackgroundFlags(fs *flag.FlagSet) {
	fs.IntVar(&f.bg.workers, "compaction-workers", 0, "background compactions at once, across all tables (default GOMAXPROCS/2) ($TARN_COMPACTION_WORKERS)")
	fs.StringVar(&f.bg.memory, "compaction-memory", DefaultCompactionMemory.String(), "input bytes background compactions merge at once ($TARN_COMPACTION_MEMORY)")
	fs.BoolVar(&f.bg.noCompaction, "no-compaction", false, "do not compact tables in the background ($TARN_NO_COMPACTION)")
	fs.StringVar(&f.bg.maintenance, "maintenance-interval", DefaultMaintenanceInterval.String(), "how often snapshots expire and automatic tags are made, besides after commits; off disables ($TARN_MAINTENANCE_INTERVAL)")
}

// applyBackground copies one background flag given on the command line into c.
func (f *Flags) applyBackground(name string, c *Config) error {
	switch name {
	case "compaction-workers":
		c.Compaction.Workers = f.bg.workers
	case "compaction-memory":
		v, err := ParseByteSize(f.bg.memory)
		if err != nil {
			return fmt.Errorf("--compaction-memory: %w", err)
		}
		c.Compaction.Memory = v
	case "no-compaction":
		c.Compaction.Disabled = f.bg.noCompaction
	case "maintenance-interval":
		return setMaintenanceInterval(c, f.bg.maintenance, "--maintenance-interval")
	}
	return nil
}

func setMaintenanceInterval(c *Config, v, what string) error {
	if strings.EqualFold(strings.TrimSpace(v), "off") {
		c.Maintenance.Disabled = true
		return nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	c.Maintenance.Interval, c.Maintenance.Disabled = Duration(d), false
	return nil
}

// backgroundEnv sets the background configuration from an environment variable.
func backgroundEnv(name string) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		switch name {
		case "TARN_COMPACTION_WORKERS":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.Compaction.Workers = n
		case "TARN_COMPACTION_MEMORY":
			b, err := ParseByteSize(v)
			if err != nil {
				return err
			}
			c.Compaction.Memory = b
		case "TARN_NO_COMPACTION":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q: want true or false", v)
			}
			c.Compaction.Disabled = b
		case "TARN_MAINTENANCE_INTERVAL":
			return setMaintenanceInterval(c, v, name)
		}
		return nil
	}
}

// validateBackground checks the background configuration and fills in defaults.
func (c *Config) validateBackground() error {
	switch {
	case c.Compaction.Workers < 0:
		return fmt.Errorf("compaction workers must not be negative, is %d", c.Compaction.Workers)
	case c.Compaction.Memory < 0:
		return fmt.Errorf("compaction memory must not be negative, is %d", c.Compaction.Memory)
	case c.Maintenance.Interval < 0:
		return fmt.Errorf("maintenance interval must not be negative, is %s", time.Duration(c.Maintenance.Interval))
	}
	if c.Compaction.Memory == 0 {
		c.Compaction.Memory = DefaultCompactionMemory
	}
	if c.Maintenance.Interval == 0 {
		c.Maintenance.Interval = Duration(DefaultMaintenanceInterval)
	}
	return nil
}

// startBackground starts the compaction scheduler (unless turned off or replaced by a
// compactor of WithCompactor) and the maintenance loop.
func (s *Server) startBackground(ctx context.Context) error {
	if !s.cfg.Compaction.Disabled && s.compactorFactory == nil {
		o := compaction.SchedulerOptions{
			Workers:      s.cfg.Compaction.Workers,
			Memory:       int64(s.cfg.Compaction.Memory),
			PollInterval: time.Duration(s.cfg.Compaction.PollInterval),
			Gate:         s.gate,
			Logger:       s.log,
		}
		for _, f := range s.compactionOpts {
			f(&o)
		}
		s.scheduler = compaction.NewScheduler(s.cat, o)
		if err := s.scheduler.Start(ctx); err != nil {
			return err
		}
	}
	if !s.cfg.Maintenance.Disabled {
		s.maint = newMaintainer(s.cat, time.Duration(s.cfg.Maintenance.Interval), s.log)
		s.maint.start(ctx)
	}
	return nil
}

// stopBackground stops compaction (running compactions are cancelled; they commit
// nothing) and maintenance (an interrupted expiry leaves only unreferenced files).
func (s *Server) stopBackground() {
	if s.scheduler != nil {
		_ = s.scheduler.Close()
	}
	if s.maint != nil {
		s.maint.stop()
	}
	if s.compactorCloser != nil {
		if err := s.compactorCloser.Close(); err != nil {
			s.log.Warn("closing the compactor", "err", err)
		}
		s.compactorCloser = nil
	}
}

// MaintenanceStatus is the maintenance state of a table.
type MaintenanceStatus struct {
	LastRun *time.Time `json:"lastRun,omitempty"`
	// EarliestSnapshot is the oldest snapshot kept after the last expiry.
	EarliestSnapshot int64 `json:"earliestSnapshot,omitempty"`
	// ExpiredSnapshots, DeletedFiles and DeletedBytes add up expiry since the server
	// started; TagsCreated and TagsDeleted list the last automatic tag changes.
	ExpiredSnapshots int64    `json:"expiredSnapshots"`
	DeletedFiles     int64    `json:"deletedFiles"`
	DeletedBytes     int64    `json:"deletedBytes"`
	TagsCreated      []string `json:"tagsCreated,omitempty"`
	TagsDeleted      []string `json:"tagsDeleted,omitempty"`
	// ExpiredPartitions lists the partitions the last partition expiration dropped
	// (partition.expiration-time).
	ExpiredPartitions []string `json:"expiredPartitions,omitempty"`
	Error             string   `json:"error,omitempty"`
}

// maintainer expires snapshots and maintains automatic tags: every table once per
// interval, and a table soon after a commit made in this process.
type maintainer struct {
	cat      *catalog.Catalog
	interval time.Duration
	log      *slog.Logger
	// minSpacing is the least time between two runs on a table after commits.
	minSpacing time.Duration

	mu     sync.Mutex
	tables map[catalog.Identifier]*maintTable
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type maintTable struct {
	stop    func()
	dirty   bool
	due     time.Time
	running bool
	lastRun time.Time
	status  MaintenanceStatus
	// tagged is the latest snapshot when batch tagging last ran.
	tagged int64
	// partitionsChecked is when partition expiration last ran
	// (partition.expiration-check-interval apart).
	partitionsChecked time.Time
}

// maintenanceWorkers bounds tables maintained at once.
const maintenanceWorkers = 2

func newMaintainer(cat *catalog.Catalog, interval time.Duration, log *slog.Logger) *maintainer {
	registerMaintenanceMetrics()
	return &maintainer{cat: cat, interval: interval, log: log, minSpacing: time.Second,
		tables: map[catalog.Identifier]*maintTable{}, wake: make(chan struct{}, 1)}
}

func (m *maintainer) start(ctx context.Context) {
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.sweepLoop() }()
	go func() { defer m.wg.Done(); m.loop() }()
	m.log.Info("table maintenance started", "interval", m.interval)
}

func (m *maintainer) stop() {
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tables {
		t.stop()
	}
	m.tables = map[catalog.Identifier]*maintTable{}
}

func (m *maintainer) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// sweepLoop lists the tables, subscribes to their commits and marks all of them due, now
// and every interval.
func (m *maintainer) sweepLoop() {
	for {
		if err := m.sweep(m.ctx); err != nil && m.ctx.Err() == nil {
			m.log.Warn("maintenance: listing the warehouse's tables failed", "err", err)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(m.interval):
		}
	}
}

func (m *maintainer) sweep(ctx context.Context) error {
	dbs, err := m.cat.ListDatabases(ctx)
	if err != nil {
		return err
	}
	present := map[catalog.Identifier]bool{}
	for _, db := range dbs {
		names, err := m.cat.ListTables(ctx, db)
		if err != nil {
			continue // dropped meanwhile
		}
		for _, name := range names {
			id := catalog.Identifier{Database: db, Table: name}
			present[id] = true
			m.mu.Lock()
			mt := m.tables[id]
			m.mu.Unlock()
			if mt == nil {
				t, err := m.cat.LoadTable(ctx, id)
				if err != nil {
					continue
				}
				mt = m.track(id, t)
			}
			m.mu.Lock()
			m.markLocked(mt, time.Now())
			m.mu.Unlock()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, mt := range m.tables {
		if !present[id] {
			mt.stop()
			delete(m.tables, id)
		}
	}
	return nil
}

// track starts following a table's commits.
func (m *maintainer) track(id catalog.Identifier, t *table.Table) *maintTable {
	ch, unsub := t.Subscribe()
	done := make(chan struct{})
	var once sync.Once
	mt := &maintTable{stop: func() { once.Do(func() { close(done); unsub() }) }}
	m.mu.Lock()
	if old := m.tables[id]; old != nil {
		m.mu.Unlock()
		mt.stop()
		return old
	}
	m.tables[id] = mt
	m.mu.Unlock()
	go func() {
		for {
			select {
			case <-ch:
				m.mu.Lock()
				m.markLocked(mt, mt.lastRun.Add(m.minSpacing))
				m.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	return mt
}

func (m *maintainer) markLocked(mt *maintTable, due time.Time) {
	if !mt.dirty || due.Before(mt.due) {
		mt.due = due
	}
	mt.dirty = true
	m.signal()
}

// loop runs maintenance on due tables, a few at once.
func (m *maintainer) loop() {
	running := 0
	done := make(chan struct{})
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		var next time.Time
		m.mu.Lock()
		for id, mt := range m.tables {
			if running >= maintenanceWorkers {
				break
			}
			if !mt.dirty || mt.running {
				continue
			}
			if mt.due.After(now) {
				if next.IsZero() || mt.due.Before(next) {
					next = mt.due
				}
				continue
			}
			mt.dirty, mt.running, mt.lastRun = false, true, now
			running++
			m.wg.Add(1)
			tagged, checked := mt.tagged, mt.partitionsChecked
			go func() {
				defer m.wg.Done()
				st, tagged, checked := m.maintain(m.ctx, id, tagged, checked)
				m.mu.Lock()
				mt.running, mt.tagged, mt.partitionsChecked = false, tagged, checked
				st.LastRun = &now
				mt.status.merge(st)
				m.mu.Unlock()
				done <- struct{}{}
			}()
		}
		m.mu.Unlock()
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(d)
		select {
		case <-m.ctx.Done():
			for ; running > 0; running-- {
				<-done
			}
			return
		case <-done:
			running--
		case <-m.wake:
		case <-timer.C:
		}
	}
}

// merge adds the outcome of one run to the table's status.
func (s *MaintenanceStatus) merge(r MaintenanceStatus) {
	s.LastRun, s.Error = r.LastRun, r.Error
	if r.EarliestSnapshot > 0 {
		s.EarliestSnapshot = r.EarliestSnapshot
	}
	s.ExpiredSnapshots += r.ExpiredSnapshots
	s.DeletedFiles += r.DeletedFiles
	s.DeletedBytes += r.DeletedBytes
	if len(r.TagsCreated) > 0 {
		s.TagsCreated = r.TagsCreated
	}
	if len(r.TagsDeleted) > 0 {
		s.TagsDeleted = r.TagsDeleted
	}
	if len(r.ExpiredPartitions) > 0 {
		s.ExpiredPartitions = r.ExpiredPartitions
	}
}

// maintain drops a table's expired partitions (partition.expiration-time, once per
// partition.expiration-check-interval after partitionsChecked, returned), expires its
// snapshots and, with tag.automatic-creation, runs its automatic tags. All are safe beside
// writers, tails and other maintenance. In batch mode, which re-tags the latest snapshot,
// tags are made only when there is a new snapshot since the one tagged (returned).
func (m *maintainer) maintain(ctx context.Context, id catalog.Identifier, tagged int64, partitionsChecked time.Time) (MaintenanceStatus, int64, time.Time) {
	var st MaintenanceStatus
	name := id.String()
	fail := func(task string, err error) {
		if ctx.Err() != nil {
			return
		}
		maintenanceFailures.WithLabelValues(name, task).Inc()
		if st.Error != "" {
			st.Error += "; "
		}
		st.Error += task + ": " + err.Error()
		m.log.Warn("maintenance failed", "table", name, "task", task, "err", err)
	}
	t, err := m.cat.LoadTable(ctx, id)
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) {
			fail("open", err)
		}
		return st, tagged, partitionsChecked
	}
	start := time.Now()
	opts, err := t.Options(ctx)
	if err != nil {
		fail("open", err)
		return st, tagged, partitionsChecked
	}
	if pe, err := table.ParsePartitionExpiry(opts); err != nil {
		fail("partition-expire", err)
	} else if pe.Expiration > 0 && start.Sub(partitionsChecked) >= pe.CheckInterval {
		partitionsChecked = start
		pr, err := t.ExpirePartitions(ctx, start, false)
		if err != nil {
			fail("partition-expire", err)
		} else if names := pr.Names(); len(names) > 0 {
			st.ExpiredPartitions = names
			m.log.Info("expired partitions", "table", name, "partitions", names, "snapshot", pr.SnapshotID)
		}
	}
	res, err := t.ExpireSnapshots(ctx, table.ExpireOptions{})
	if res != nil {
		st.EarliestSnapshot = res.EarliestRetained
		st.ExpiredSnapshots = int64(len(res.Expired))
		st.DeletedFiles, st.DeletedBytes = int64(res.Deleted.Files()), res.Deleted.Bytes
		expiredBytes.WithLabelValues(name).Add(float64(res.Deleted.Bytes))
		if len(res.Expired) > 0 {
			snapshotsExpired.WithLabelValues(name).Add(float64(len(res.Expired)))
			m.log.Info("expired snapshots", "table", name, "snapshots", len(res.Expired), "first", res.Expired[0],
				"last", res.Expired[len(res.Expired)-1], "files", res.Deleted.Files(), "bytes", res.Deleted.Bytes,
				"consumers_expired", len(res.ExpiredConsumers), "changelogs_kept", len(res.Changelogs),
				"changelogs_expired", len(res.ExpiredChangelogs), "duration", time.Since(start).Round(time.Millisecond))
		} else if len(res.ExpiredChangelogs) > 0 {
			m.log.Info("expired long-lived changelogs", "table", name, "changelogs", len(res.ExpiredChangelogs),
				"files", res.Deleted.Files(), "bytes", res.Deleted.Bytes, "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	if err != nil {
		fail("expire", err)
	}
	mode, _ := opts.Get("tag.automatic-creation")
	mode = strings.ToLower(strings.TrimSpace(mode))
	next := tagged
	if mode == "batch" {
		if next, _, err = t.LatestSnapshotID(ctx); err != nil {
			fail("auto-tag", err)
			return st, tagged, partitionsChecked
		}
		if next == tagged {
			mode = "" // tagged already
		}
	}
	if mode != "" && mode != "none" {
		ar, err := t.AutoTag(ctx, time.Now())
		if ar != nil {
			st.TagsCreated, st.TagsDeleted = ar.Created, ar.DeletedTags
			if len(ar.Created)+len(ar.DeletedTags) > 0 {
				tagsCreated.WithLabelValues(name).Add(float64(len(ar.Created)))
				m.log.Info("automatic tags", "table", name, "created", ar.Created, "deleted", ar.DeletedTags,
					"files", ar.Deleted.Files(), "bytes", ar.Deleted.Bytes)
			}
		}
		if err != nil {
			fail("auto-tag", err)
			return st, tagged, partitionsChecked
		}
	}
	return st, next, partitionsChecked
}

// status returns the maintenance state of a table (nil if it was never maintained).
func (m *maintainer) status(id catalog.Identifier) *MaintenanceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.tables[id]
	if mt == nil || mt.status.LastRun == nil {
		return nil
	}
	st := mt.status
	return &st
}

var (
	snapshotsExpired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "snapshots_expired_total",
		Help: "Snapshots expired by the server's maintenance, by table.",
	}, []string{"table"})
	expiredBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "maintenance", Name: "deleted_bytes_total",
		Help: "Bytes of files deleted by snapshot expiry, by table.",
	}, []string{"table"})
	tagsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Name: "tags_auto_created_total",
		Help: "Tags created by tag.automatic-creation, by table.",
	}, []string{"table"})
	maintenanceFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tarn", Subsystem: "maintenance", Name: "failures_total",
		Help: "Failed maintenance runs, by table and task (expire, auto-tag, open).",
	}, []string{"table", "task"})
	maintenanceMetricsOnce sync.Once
)

func registerMaintenanceMetrics() {
	maintenanceMetricsOnce.Do(func() {
		if err := metrics.Register(snapshotsExpired, expiredBytes, tagsCreated, maintenanceFailures); err != nil {
			slog.Warn("maintenance metrics not registered", "err", err)
		}
	})
}

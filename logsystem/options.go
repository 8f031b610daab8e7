package logsystem

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// Table options of the log system (all Tarn-prefixed, so Paimon ignores them).
const (
	// OptionSystem turns the log system on: "kafka" (or "none", the default).
	OptionSystem = "tarn.log.system"
	// OptionTopic names the table's topic (default tarn-<db>-<table>).
	OptionTopic = "tarn.log.topic"
	// OptionConsistency is "transactional" (default) or "eventual".
	OptionConsistency = "tarn.log.consistency"
	// OptionReplication is the topic's replication factor when Tarn creates it (default 1).
	OptionReplication = "tarn.log.replication"
	// OptionRetention is the topic's retention.ms when Tarn creates it, as a duration
	// ("7d", "12h", "90m") or milliseconds (default: the broker's).
	OptionRetention = "tarn.log.retention"
	// OptionPartitions overrides the topic's partition count (default: the bucket count).
	OptionPartitions = "tarn.log.partitions"
	// OptionTransactionalID is the transactional id of the table's writer (default
	// tarn-log-<topic>): a writer with the same id fences an older one.
	OptionTransactionalID = "tarn.log.transactional-id"
)

// Snapshot properties the log system writes.
const (
	// PropOffsets holds, per topic partition (= bucket), the offset of the first record
	// not covered by the snapshot: JSON {"0": 12, "1": 40}.
	PropOffsets = "tarn.log.offsets"
	// PropMaxSequence holds the highest sequence number the log holds, over all buckets:
	// a new writer starts every bucket above it.
	PropMaxSequence = "tarn.log.max-sequence"
)

// Consistency is how log records become visible.
type Consistency string

const (
	// Transactional writes a commit's records in a Kafka transaction committed only after
	// the snapshot commit: read_committed consumers see exactly the committed changes.
	Transactional Consistency = "transactional"
	// Eventual makes records visible at once; a writer that dies leaves records no snapshot
	// holds, and its successor's records supersede them (higher sequence numbers).
	Eventual Consistency = "eventual"
)

// TableConfig is the log system's view of a table's options.
type TableConfig struct {
	Enabled         bool
	Topic           string
	Consistency     Consistency
	Partitions      int32
	Replication     int16
	RetentionMs     int64 // 0: the broker's default
	TransactionalID string
}

// ParseTableConfig reads the log options of a table schema; name is "db.table" (for the
// default topic name) or "" to derive it from the table's path.
func ParseTableConfig(schema *format.TableSchema, name string) (TableConfig, error) {
	o := schema.Options
	get := func(k string) string {
		v, _ := o.Get(k)
		return strings.TrimSpace(v)
	}
	c := TableConfig{Consistency: Transactional, Replication: 1}
	switch strings.ToLower(get(OptionSystem)) {
	case "", "none":
	case "kafka":
		c.Enabled = true
	default:
		return c, fmt.Errorf("%s = %q: use kafka or none", OptionSystem, get(OptionSystem))
	}
	c.Topic = get(OptionTopic)
	if c.Topic == "" {
		c.Topic = DefaultTopic(name)
	}
	if !validTopic.MatchString(c.Topic) || c.Topic == "." || c.Topic == ".." {
		return c, fmt.Errorf("%s: %q is not a valid Kafka topic name (letters, digits, '.', '_', '-', at most 249)", OptionTopic, c.Topic)
	}
	switch v := strings.ToLower(get(OptionConsistency)); v {
	case "", "transactional":
	case "eventual":
		c.Consistency = Eventual
	default:
		return c, fmt.Errorf("%s = %q: use transactional or eventual", OptionConsistency, v)
	}
	opts := table.ParseCoreOptions(o)
	c.Partitions = int32(max(opts.Bucket, 1))
	if v := get(OptionPartitions); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%s = %q: want a positive number", OptionPartitions, v)
		}
		if opts.Bucket > 0 && n != opts.Bucket {
			return c, fmt.Errorf("%s = %d: a table of %d buckets needs %d partitions (one per bucket)", OptionPartitions, n, opts.Bucket, opts.Bucket)
		}
		c.Partitions = int32(n)
	}
	if v := get(OptionReplication); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 32767 {
			return c, fmt.Errorf("%s = %q: want a positive number", OptionReplication, v)
		}
		c.Replication = int16(n)
	}
	if v := get(OptionRetention); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", OptionRetention, err)
		}
		c.RetentionMs = d.Milliseconds()
	}
	c.TransactionalID = get(OptionTransactionalID)
	if c.TransactionalID == "" {
		c.TransactionalID = "tarn-log-" + c.Topic
	}
	return c, nil
}

var validTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// DefaultTopic is the topic of table "db.table": tarn-<db>-<table>, with characters Kafka
// does not allow in topic names replaced by '_'.
func DefaultTopic(name string) string {
	name = strings.ReplaceAll(name, ".", "-")
	b := []byte("tarn-" + name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 249 {
		b = b[:249]
	}
	return string(b)
}

// ParseDuration parses "500ms", "90s", "15m", "12h", "7d" or a number of milliseconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 7d, 12h, 30m or milliseconds", s)
	}
	return d, nil
}

package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/format"
)

// WithScanDefaults returns o with the time travel a table's own scan options give
// Paimon's batch scans (CoreOptions.startupMode, AbstractDataTableScan
// .createStartingScanner), when o asks for none: scan.snapshot-id, scan.tag-name,
// scan.version (a tag, else a snapshot id), scan.timestamp-millis and scan.timestamp (local
// time), under scan.mode default, latest, latest-full, full, from-snapshot,
// from-snapshot-full, from-timestamp or compacted-full (the latest compaction snapshot). The
// other starting modes (incremental, from-file-creation-time, from-creation-timestamp,
// scan.watermark) are an error naming the option: Tarn does not plan them, and reading the
// latest snapshot instead would return other rows than Paimon's readers do.
//
// A table with scan.fallback-branch is refused: Paimon's batch reads take the partitions
// the table lacks from that branch (FallbackReadFileStoreTable), which Tarn does not read.
func (t *Table) WithScanDefaults(ctx context.Context, o ScanOptions) (ScanOptions, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return o, err
	}
	if b, ok := schema.Options.Get("scan.fallback-branch"); ok && strings.TrimSpace(b) != "" {
		return o, fmt.Errorf("the table's option scan.fallback-branch = %s makes Paimon's batch reads take missing partitions from branch %s, which Tarn does not read; read the table with Paimon, or remove the option", b, b)
	}
	if o.SnapshotID != 0 || o.Tag != "" || o.TimestampMillis != 0 {
		return o, nil
	}
	return scanDefaults(schema.Options, o, t.startLookups(ctx, schema.Options))
}

// startLookups is what choosing a start reads of the table: whether a tag exists, and the
// snapshot compacted-full starts from.
type startLookups struct {
	tagExists func(name string) bool
	compacted func() (int64, error)
}

func (t *Table) startLookups(ctx context.Context, opts format.Options) startLookups {
	return startLookups{
		tagExists: func(name string) bool {
			_, err := t.Tag(ctx, name)
			return err == nil
		},
		compacted: func() (int64, error) { return t.latestCompacted(ctx, opts) },
	}
}

// latestCompacted is the snapshot scan.mode = compacted-full reads: the newest COMPACT
// snapshot, or with full compactions (changelog-producer full-compaction or
// full-compaction.delta-commits) the newest COMPACT snapshot of a full compaction, whose
// commit identifier is a multiple of the delta commits or a batch commit's; the latest
// snapshot when there is none; 0 for an empty table (Paimon's CompactedStartingScanner
// and FullCompactedStartingScanner, SnapshotManager.pickOrLatest).
func (t *Table) latestCompacted(ctx context.Context, opts format.Options) (int64, error) {
	latest, ok, err := t.LatestSnapshotID(ctx)
	if err != nil || !ok {
		return 0, err
	}
	earliest, ok, err := t.EarliestSnapshotID(ctx)
	if err != nil || !ok {
		return latest, err
	}
	deltaCommits := int64(0)
	if _, hasDelta := opts.Get("full-compaction.delta-commits"); hasDelta || ParseCoreOptions(opts).ChangelogProducer == "full-compaction" {
		deltaCommits = int64(max(parseChangelogConfig(opts).deltaCommits, 1))
	}
	for id := latest; id >= earliest; id-- {
		s, err := t.Snapshot(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if s.CommitKind != format.CommitCompact {
			continue
		}
		if deltaCommits == 0 || s.CommitIdentifier%deltaCommits == 0 || s.CommitIdentifier == format.BatchCommitIdentifier {
			return id, nil
		}
	}
	return latest, nil
}

func scanDefaults(opts format.Options, o ScanOptions, look startLookups) (ScanOptions, error) {
	if o.SnapshotID != 0 || o.Tag != "" || o.TimestampMillis != 0 {
		return o, nil
	}
	get := func(k string) (string, bool) {
		v, ok := scanOption(opts, k)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	snapshotID, hasSnapshot := get("scan.snapshot-id")
	tag, hasTag := get("scan.tag-name")
	version, hasVersion := get("scan.version")
	millis, hasMillis := get("scan.timestamp-millis")
	stamp, hasStamp := get("scan.timestamp")
	unsupported := func(what string) (ScanOptions, error) {
		return o, fmt.Errorf("the table's option %s asks Paimon's readers for a start Tarn does not plan; read a snapshot, tag or time explicitly, or remove the option", what)
	}
	mode, by := startupMode(opts)
	switch mode {
	case "latest", "latest-full":
		return o, nil
	case "compacted-full":
		id, err := look.compacted()
		if err != nil {
			return o, fmt.Errorf("the table's option scan.mode = compacted-full: %w", err)
		}
		o.SnapshotID = id
		return o, nil
	case "from-timestamp":
		if hasMillis {
			n, err := strconv.ParseInt(millis, 10, 64)
			if err != nil {
				return o, fmt.Errorf("the table's option scan.timestamp-millis = %q is no number of milliseconds", millis)
			}
			o.TimestampMillis = n
			return o, nil
		}
		if hasStamp {
			ts, err := parseLocalTimestamp(stamp)
			if err != nil {
				return o, fmt.Errorf("the table's option scan.timestamp: %w", err)
			}
			o.TimestampMillis = ts.UnixMilli()
			return o, nil
		}
		return o, errors.New("the table's option scan.mode is from-timestamp but neither scan.timestamp-millis nor scan.timestamp is set")
	case "from-snapshot", "from-snapshot-full":
		switch {
		case hasSnapshot:
			n, err := strconv.ParseInt(snapshotID, 10, 64)
			if err != nil || n <= 0 {
				return o, fmt.Errorf("the table's option scan.snapshot-id = %q is no snapshot id", snapshotID)
			}
			o.SnapshotID = n
		case mode == "from-snapshot-full":
			return o, errors.New("the table's option scan.mode is from-snapshot-full but scan.snapshot-id is not set")
		case hasTag:
			o.Tag = tag
		case hasVersion:
			if look.tagExists(version) {
				o.Tag = version
			} else if n, err := strconv.ParseInt(version, 10, 64); err == nil && n > 0 {
				o.SnapshotID = n
			} else {
				return o, fmt.Errorf("the table's option scan.version = %q is neither a tag nor a snapshot id", version)
			}
		default:
			if _, ok := get("scan.watermark"); ok {
				return unsupported("scan.watermark")
			}
			return o, errors.New("the table's option scan.mode is from-snapshot but scan.snapshot-id, scan.tag-name and scan.version are not set")
		}
		return o, nil
	}
	return unsupported(by)
}

// scanOption reads a scan option, or the older name Paimon still reads for it.
func scanOption(o format.Options, k string) (string, bool) {
	_, v, ok := o.Lookup(k)
	return v, ok
}

// startupMode is CoreOptions.startupMode: scan.mode, or when it is default (or unset)
// the mode the other scan options imply; by names what chose it ("" for latest-full by
// default).
func startupMode(o format.Options) (mode, by string) {
	v, _ := scanOption(o, "scan.mode")
	switch mode = strings.ToLower(strings.TrimSpace(v)); mode {
	case "", "default":
	case "full":
		return "latest-full", "scan.mode = full"
	default:
		return mode, "scan.mode = " + mode
	}
	for _, d := range []struct {
		mode string
		keys []string
	}{
		{"from-timestamp", []string{"scan.timestamp-millis", "scan.timestamp"}},
		{"from-snapshot", []string{"scan.snapshot-id", "scan.tag-name", "scan.watermark", "scan.version"}},
		{"from-file-creation-time", []string{"scan.file-creation-time-millis"}},
		{"from-creation-timestamp", []string{"scan.creation-time-millis"}},
		{"incremental", []string{"incremental-between", "incremental-between-timestamp"}},
	} {
		for _, k := range d.keys {
			if _, ok := scanOption(o, k); ok {
				return d.mode, k
			}
		}
	}
	return "latest-full", ""
}

// parseLocalTimestamp parses a timestamp in local time as Paimon's
// DateTimeUtils.parseTimestampData reads scan.timestamp.
func parseLocalTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if ts, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp such as 2024-01-31 12:00:00", s)
}

// ValidateScanOptions checks the table's scan options as Paimon's SchemaValidation
// .validateStartupMode does: the option a starting mode needs is set, exactly one where
// the mode takes one of several, and no option of another mode.
func ValidateScanOptions(o format.Options) error {
	has := func(k string) bool { _, ok := scanOption(o, k); return ok }
	mode, _ := startupMode(o)
	switch mode {
	case "latest", "latest-full", "compacted-full", "from-timestamp", "from-snapshot", "from-snapshot-full",
		"from-file-creation-time", "from-creation-timestamp", "incremental":
	default:
		return fmt.Errorf("option scan.mode = %q: want default, latest-full, full, latest, compacted-full, from-timestamp, from-file-creation-time, from-creation-timestamp, from-snapshot, from-snapshot-full or incremental", mode)
	}
	exactlyOne := func(keys ...string) error {
		n := 0
		for _, k := range keys {
			if has(k) {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("must set only one key in [%s] when you use %s for scan.mode", strings.Join(keys, ","), mode)
		}
		return nil
	}
	none := func(keys ...string) error {
		for _, k := range keys {
			if has(k) {
				return fmt.Errorf("%s must be null when you use %s for scan.mode", k, mode)
			}
		}
		return nil
	}
	incremental := []string{"incremental-between-timestamp", "incremental-between", "incremental-to-auto-tag"}
	switch mode {
	case "from-timestamp":
		if err := exactlyOne("scan.timestamp-millis", "scan.timestamp"); err != nil {
			return err
		}
		return none(append([]string{"scan.snapshot-id", "scan.file-creation-time-millis", "scan.tag-name"}, incremental...)...)
	case "from-snapshot":
		if err := exactlyOne("scan.snapshot-id", "scan.tag-name", "scan.watermark"); err != nil && !has("scan.version") {
			return err
		}
		return none(append([]string{"scan.timestamp-millis", "scan.timestamp", "scan.file-creation-time-millis"}, incremental...)...)
	case "from-snapshot-full":
		if !has("scan.snapshot-id") {
			return fmt.Errorf("scan.snapshot-id can not be null when you use %s for scan.mode", mode)
		}
		return none(append([]string{"scan.timestamp-millis", "scan.timestamp", "scan.file-creation-time-millis", "scan.tag-name"}, incremental...)...)
	case "from-file-creation-time":
		if !has("scan.file-creation-time-millis") {
			return fmt.Errorf("scan.file-creation-time-millis can not be null when you use %s for scan.mode", mode)
		}
		return none(append([]string{"scan.snapshot-id", "scan.timestamp-millis", "scan.tag-name"}, incremental...)...)
	case "incremental", "from-creation-timestamp":
		return nil
	}
	return none(append([]string{"scan.timestamp-millis", "scan.file-creation-time-millis", "scan.timestamp", "scan.snapshot-id", "scan.tag-name"}, incremental...)...)
}

// WithTailDefaults returns o started where a table's own scan options start Paimon's
// streaming reads (AbstractDataTableScan.createStartingScanner with isStreaming), for a
// tail that names no start: scan.mode latest (the changes after the latest snapshot),
// latest-full or full (the latest snapshot whole, then its successors' changes),
// from-timestamp, from-snapshot with scan.snapshot-id, and from-snapshot-full. Without
// scan options a tail starts at the latest snapshot, Tarn's default (Paimon's streaming
// reads default to latest-full, which a tail asks for explicitly); compacted-full reads
// the latest compaction snapshot whole, then its successors' changes. Streaming from a tag
// or a watermark is refused as Paimon refuses it; the starts Tarn does not plan
// (from-file-creation-time, from-creation-timestamp, incremental) are an error naming the
// option.
func (t *Table) WithTailDefaults(ctx context.Context, o FollowOptions) (FollowOptions, error) {
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return o, err
	}
	return tailDefaults(schema.Options, o, t.startLookups(ctx, schema.Options))
}

func tailDefaults(opts format.Options, o FollowOptions, look startLookups) (FollowOptions, error) {
	mode, by := startupMode(opts)
	o.Start, o.SnapshotID, o.TimestampMillis = StartLatest, 0, 0
	switch mode {
	case "latest":
		return o, nil
	case "latest-full":
		if by != "" {
			o.Start = StartFull
		}
		return o, nil
	case "compacted-full":
		id, err := look.compacted()
		if err != nil {
			return o, fmt.Errorf("the table's option scan.mode = compacted-full: %w", err)
		}
		o.Start, o.SnapshotID = StartFull, id
		return o, nil
	case "from-timestamp", "from-snapshot", "from-snapshot-full":
		s, err := scanDefaults(opts, ScanOptions{}, look)
		if err != nil {
			return o, err
		}
		switch {
		case s.Tag != "":
			return o, fmt.Errorf("the table's option %s starts batch reads at tag %s: Paimon's streaming reads cannot start from a tag, nor can a tail; give the tail a start", by, s.Tag)
		case s.TimestampMillis != 0:
			o.Start, o.TimestampMillis = StartFromTimestamp, s.TimestampMillis
		case mode == "from-snapshot-full":
			o.Start, o.SnapshotID = StartFull, s.SnapshotID
		default:
			o.Start, o.SnapshotID = StartFromSnapshot, s.SnapshotID
		}
		return o, nil
	}
	return o, fmt.Errorf("the table's option %s asks Paimon's streaming readers for a start Tarn does not plan; give the tail a start, or remove the option", by)
}

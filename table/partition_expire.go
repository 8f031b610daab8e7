package table

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/format"
)

// PartitionExpiry is a table's partition expiration (Paimon's NormalPartitionExpire):
// partition.expiration-time, how partitions are dated (partition.expiration-strategy:
// values-time reads the date from the partition's values, update-time takes its newest
// file's creation time) and how many go at once (partition.expiration-max-num).
type PartitionExpiry struct {
	Expiration    time.Duration // 0: partitions never expire
	CheckInterval time.Duration // partition.expiration-check-interval (default 1 h)
	Strategy      string        // values-time (default) or update-time
	Pattern       string        // partition.timestamp-pattern: "$dt $hour:00:00"; empty: the first value
	Formatter     string        // partition.timestamp-formatter (Java pattern); empty: yyyy-MM-dd[ HH:mm:ss]
	MaxNum        int           // partition.expiration-max-num (default 100)
	BatchSize     int           // partition.expiration-batch-size: partitions per commit (0: all in one)
}

// ParsePartitionExpiry reads the partition expiration options.
func ParsePartitionExpiry(o format.Options) (PartitionExpiry, error) {
	e := PartitionExpiry{CheckInterval: time.Hour, Strategy: "values-time", MaxNum: 100}
	if v, ok := o.Get("partition.expiration-time"); ok {
		d, err := ParseDuration(v)
		if err != nil {
			return e, fmt.Errorf("option partition.expiration-time: %w", err)
		}
		e.Expiration = d
	}
	if v, ok := o.Get("partition.expiration-check-interval"); ok {
		d, err := ParseDuration(v)
		if err != nil {
			return e, fmt.Errorf("option partition.expiration-check-interval: %w", err)
		}
		e.CheckInterval = d
	}
	if v, ok := o.Get("partition.expiration-strategy"); ok {
		e.Strategy = strings.ToLower(strings.TrimSpace(v))
		if e.Strategy != "values-time" && e.Strategy != "update-time" {
			return e, fmt.Errorf("option partition.expiration-strategy = %q: want values-time or update-time", v)
		}
	}
	if v, ok := o.Get("partition.expiration-max-num"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return e, fmt.Errorf("option partition.expiration-max-num = %q: want a positive integer", v)
		}
		e.MaxNum = n
	}
	if v, ok := o.Get("partition.expiration-batch-size"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return e, fmt.Errorf("option partition.expiration-batch-size = %q: want a positive integer (0: all at once)", v)
		}
		e.BatchSize = n
	}
	e.Pattern, _ = o.Get("partition.timestamp-pattern")
	if v, ok := o.Get("partition.timestamp-formatter"); ok {
		if _, err := goLayout(v); err != nil {
			return e, fmt.Errorf("option partition.timestamp-formatter: %w", err)
		}
		e.Formatter = v
	}
	return e, nil
}

// PartitionExpireResult lists the partitions an expiration dropped (or would drop).
type PartitionExpireResult struct {
	Keys       []string            // the partition keys
	Expired    []map[string]string // partition key -> value, in Paimon's order
	SnapshotID int64               // the (last) OVERWRITE snapshot that dropped them; 0 if none
	Skipped    []string            // partitions whose values are no date, left alone
}

// Names renders the expired partitions as k=v/k=v.
func (r *PartitionExpireResult) Names() []string {
	out := make([]string, len(r.Expired))
	for i, m := range r.Expired {
		kv := make([]string, len(r.Keys))
		for j, k := range r.Keys {
			kv[j] = k + "=" + m[k]
		}
		out[i] = strings.Join(kv, "/")
	}
	return out
}

// ExpirePartitions drops the partitions whose time (see PartitionExpiry) is older than
// now minus partition.expiration-time, at most partition.expiration-max-num of them, with
// one OVERWRITE snapshot that deletes all their files, as Paimon's partition expiration
// commits it. Files written to those partitions meanwhile are deleted with them. A table
// without the option, or without partitions, is left alone.
func (t *Table) ExpirePartitions(ctx context.Context, now time.Time, dryRun bool) (*PartitionExpireResult, error) {
	res := &PartitionExpireResult{}
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return res, err
	}
	e, err := ParsePartitionExpiry(schema.Options)
	if err != nil || e.Expiration <= 0 || len(schema.PartitionKeys) == 0 {
		return res, err
	}
	res.Keys = schema.PartitionKeys
	plan, err := t.Plan(ctx, ScanOptions{AllLevels: true})
	if err != nil {
		return res, err
	}
	if plan.Snapshot == nil {
		return res, nil
	}
	type part struct {
		values  []any
		strs    []string
		updated time.Time
	}
	fields := schema.PartitionType()
	defaultName := ParseCoreOptions(schema.Options).PartitionDefaultName
	// strs renders partition values as Paimon's partition expiration names them: Java's
	// toString of the internal values, the default partition name for null.
	strs := func(values []any) []string {
		out := make([]string, len(fields))
		for j, f := range fields {
			if values[j] == nil {
				out[j] = defaultName
				continue
			}
			out[j] = PartitionValueString(values[j], f.Type, true)
		}
		return out
	}
	parts := map[string]*part{}
	for i := range plan.Splits {
		s := &plan.Splits[i]
		key := string(s.Partition)
		p := parts[key]
		if p == nil {
			p = &part{values: s.PartitionValues, strs: strs(s.PartitionValues)}
			parts[key] = p
		}
		for j := range s.Files {
			if c, ok := s.Files[j].CreatedAt(); ok && c.After(p.updated) {
				p.updated = c
			}
		}
	}
	cutoff := now.Add(-e.Expiration)
	var expired []*part
	for _, p := range parts {
		when := p.updated
		if e.Strategy == "values-time" {
			if slices.Contains(p.values, nil) {
				res.Skipped = append(res.Skipped, strings.Join(p.strs, "/"))
				continue
			}
			w, err := e.partitionTime(schema.PartitionKeys, p.strs)
			if err != nil {
				slog.Warn("partition expiration: the partition's values are no time; drop it by hand or use partition.expiration-strategy update-time",
					"table", t.path, "partition", strings.Join(p.strs, "/"), "err", err)
				res.Skipped = append(res.Skipped, strings.Join(p.strs, "/"))
				continue
			}
			when = w
		}
		if when.Before(cutoff) {
			expired = append(expired, p)
		}
	}
	// Paimon orders them by their joined values before the limit.
	slices.SortFunc(expired, func(a, b *part) int {
		return strings.Compare(strings.Join(a.strs, "\x00"), strings.Join(b.strs, "\x00"))
	})
	if len(expired) > e.MaxNum {
		expired = expired[:e.MaxNum]
	}
	if len(expired) == 0 {
		return res, nil
	}
	for _, p := range expired {
		m := map[string]string{}
		for j, k := range schema.PartitionKeys {
			m[k] = p.strs[j]
		}
		res.Expired = append(res.Expired, m)
	}
	if dryRun {
		return res, nil
	}
	// One OVERWRITE snapshot per partition.expiration-batch-size partitions, in order.
	batch := len(expired)
	if e.BatchSize > 0 {
		batch = e.BatchSize
	}
	for i, part := range slices.Collect(slices.Chunk(expired, batch)) {
		drop := map[string]bool{}
		for _, p := range part {
			drop[strings.Join(p.strs, "\x00")] = true
		}
		match := func(values []any) bool { return drop[strings.Join(strs(values), "\x00")] }
		cr, err := t.Commit(ctx, Commit{User: "tarn-partition-expire", Identifier: now.UnixMilli() + int64(i), Kind: format.CommitOverwrite,
			Overwrite: true, OverwritePartitions: match})
		if err != nil {
			res.Expired = res.Expired[:i*batch]
			return res, fmt.Errorf("dropping %d expired partitions: %w", len(part), err)
		}
		res.SnapshotID = cr.SnapshotID
	}
	return res, nil
}

// partitionTime is PartitionTimeExtractor.extract: the pattern's $key references replaced
// by the values (longer keys first), or the first value, parsed with the formatter.
func (e PartitionExpiry) partitionTime(keys, values []string) (time.Time, error) {
	s := values[0]
	if e.Pattern != "" {
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return len(keys[b]) - len(keys[a]) })
		var b strings.Builder
		for i := 0; i < len(e.Pattern); {
			if e.Pattern[i] == '$' {
				matched := false
				for _, k := range order {
					if strings.HasPrefix(e.Pattern[i+1:], keys[k]) {
						b.WriteString(values[k])
						i += 1 + len(keys[k])
						matched = true
						break
					}
				}
				if matched {
					continue
				}
			}
			b.WriteByte(e.Pattern[i])
			i++
		}
		s = b.String()
	}
	if e.Formatter == "" {
		for _, layout := range []string{"2006-1-2 15:4:5.999999999", "2006-1-2"} {
			if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not yyyy-MM-dd or yyyy-MM-dd HH:mm:ss", s)
	}
	layout, err := goLayout(e.Formatter)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation(layout, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match partition.timestamp-formatter %q", s, e.Formatter)
	}
	return t, nil
}

// goLayout turns a Java DateTimeFormatter pattern of the fields partitions are dated by
// (yyyy, MM, dd, HH, mm, ss, SSS, quoted literals) into a Go time layout.
func goLayout(java string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(java); {
		c := java[i]
		n := 1
		for i+n < len(java) && java[i+n] == c {
			n++
		}
		switch {
		case c == '\'':
			end := strings.IndexByte(java[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("pattern %q: unterminated quote", java)
			}
			b.WriteString(java[i+1 : i+1+end])
			i += end + 2
			continue
		case c == 'y' && (n == 4 || n == 2):
			b.WriteString(map[int]string{4: "2006", 2: "06"}[n])
		case c == 'M' && n == 2:
			b.WriteString("01")
		case c == 'd' && n == 2:
			b.WriteString("02")
		case c == 'H' && n == 2:
			b.WriteString("15")
		case c == 'm' && n == 2:
			b.WriteString("04")
		case c == 's' && n == 2:
			b.WriteString("05")
		case c == 'S' && n <= 9:
			b.WriteString(strings.Repeat("0", n))
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return "", fmt.Errorf("pattern %q: %q is not supported (yyyy, MM, dd, HH, mm, ss, SSS and quoted text are)", java, java[i:i+n])
		default:
			b.WriteString(java[i : i+n])
		}
		i += n
	}
	return b.String(), nil
}

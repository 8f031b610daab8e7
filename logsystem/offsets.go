package logsystem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/table"
)

// Offsets are Kafka offsets by partition: for a snapshot, the offset of the first record
// of each partition that the snapshot does not cover.
type Offsets map[int32]int64

// Marshal renders offsets as the JSON object stored in snapshot properties, keys in
// partition order: {"0":12,"1":40}.
func (o Offsets) Marshal() string {
	keys := make([]int32, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, o[k], 10)
	}
	return string(append(b, '}'))
}

// Clone copies the offsets.
func (o Offsets) Clone() Offsets {
	c := make(Offsets, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// ParseOffsets parses the JSON form of Marshal.
func ParseOffsets(s string) (Offsets, error) {
	var m map[string]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("log offsets %q: %w", s, err)
	}
	o := make(Offsets, len(m))
	for k, v := range m {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil || p < 0 || v < 0 {
			return nil, fmt.Errorf("log offsets %q: partition %q offset %d", s, k, v)
		}
		o[int32(p)] = v
	}
	return o, nil
}

// SnapshotOffsets returns the log offsets a snapshot's properties record (ok false if it
// has none: a snapshot written without the log system, e.g. a compaction).
func SnapshotOffsets(s *format.Snapshot) (Offsets, bool, error) {
	if s == nil || s.Properties == nil {
		return nil, false, nil
	}
	v, ok := s.Properties.Get(PropOffsets)
	if !ok {
		return nil, false, nil
	}
	o, err := ParseOffsets(v)
	if err != nil {
		return nil, false, fmt.Errorf("snapshot %d: %w", s.ID, err)
	}
	return o, true, nil
}

// SnapshotMaxSequence returns the highest sequence number of the log a snapshot records
// (-1 if none).
func SnapshotMaxSequence(s *format.Snapshot) (int64, error) {
	if s == nil || s.Properties == nil {
		return -1, nil
	}
	v, ok := s.Properties.Get(PropMaxSequence)
	if !ok {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1, fmt.Errorf("snapshot %d: %s %q: %w", s.ID, PropMaxSequence, v, err)
	}
	return n, nil
}

// EffectiveOffsets returns the log offsets that hold for snapshot s: its own, or those of
// the newest earlier snapshot that has some (snapshots in between, compactions or writers
// without the log, add no log records). from is the snapshot they were read from; ok is
// false when no snapshot up to s has offsets.
func EffectiveOffsets(ctx context.Context, t *table.Table, s *format.Snapshot) (o Offsets, from int64, ok bool, err error) {
	for s != nil {
		o, ok, err := SnapshotOffsets(s)
		if err != nil || ok {
			return o, s.ID, ok, err
		}
		if s.ID <= 1 {
			return nil, 0, false, nil
		}
		prev, err := t.Snapshot(ctx, s.ID-1)
		if errors.Is(err, table.ErrNotFound) {
			return nil, 0, false, nil
		}
		if err != nil {
			return nil, 0, false, err
		}
		s = prev
	}
	return nil, 0, false, nil
}

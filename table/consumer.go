package table

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
)

// Consumer is a registered reader's progress, Paimon's consumer/consumer-<id> file
// ({"nextSnapshot": N}): the next snapshot the reader will read. Expiry keeps every
// snapshot from the smallest nextSnapshot on.
type Consumer struct {
	ID           string
	NextSnapshot int64
	// ModTime is when the consumer file was last written (consumer.expiration-time
	// counts from it).
	ModTime time.Time
}

func checkConsumerName(id string) error {
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		return fmt.Errorf("consumer id %q: use a non-empty name without '/', '\\' or '..'", id)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("consumer id %q: control characters are not allowed", id)
		}
	}
	return nil
}

func (t *Table) consumerFile(id string) string { return t.Join(format.ConsumerPath(id)) }

func parseConsumer(data []byte) (int64, error) {
	var c struct {
		NextSnapshot *int64 `json:"nextSnapshot"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, err
	}
	if c.NextSnapshot == nil {
		return 0, errors.New("no nextSnapshot")
	}
	return *c.NextSnapshot, nil
}

// Consumers lists the registered consumers, sorted by id. A consumer file that cannot be
// parsed is an error: ignoring it could expire snapshots its reader still needs.
func (t *Table) Consumers(ctx context.Context) ([]Consumer, error) {
	entries, err := t.fio.List(ctx, t.Join(format.ConsumerDir))
	if err != nil {
		return nil, fmt.Errorf("consumers of %s: %w", t.path, err)
	}
	var out []Consumer
	for _, e := range entries {
		if e.IsDir || !strings.HasPrefix(e.Name(), format.ConsumerPrefix) {
			continue
		}
		data, err := t.fio.ReadFile(ctx, e.Path)
		if errors.Is(err, fileio.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return nil, fmt.Errorf("consumer file %s: %w", e.Path, err)
		}
		next, err := parseConsumer(data)
		if err != nil {
			return nil, fmt.Errorf("consumer file %s: %w", e.Path, err)
		}
		out = append(out, Consumer{ID: strings.TrimPrefix(e.Name(), format.ConsumerPrefix), NextSnapshot: next, ModTime: e.ModTime})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func minNextSnapshot(cs []Consumer) (int64, bool) {
	if len(cs) == 0 {
		return 0, false
	}
	m := cs[0].NextSnapshot
	for _, c := range cs[1:] {
		m = min(m, c.NextSnapshot)
	}
	return m, true
}

// RegisterConsumer records (or moves) consumer id at nextSnapshot, the next snapshot its
// reader will read, so that expiry keeps that snapshot and every later one. It returns
// that snapshot, or nil when it is not committed yet.
//
// Registering a snapshot that is expired, or that a running expiry is about to delete,
// fails with an error wrapping ErrNotFound and leaves the consumer as it was; the caller
// should pick a newer snapshot. Once RegisterConsumer returns a snapshot, its files stay
// until the consumer moves on or is deleted.
func (t *Table) RegisterConsumer(ctx context.Context, id string, nextSnapshot int64) (*format.Snapshot, error) {
	if err := checkConsumerName(id); err != nil {
		return nil, err
	}
	if nextSnapshot < 1 {
		return nil, fmt.Errorf("consumer %q: nextSnapshot must be at least 1, is %d", id, nextSnapshot)
	}
	p := t.consumerFile(id)
	prev, err := t.fio.ReadFile(ctx, p)
	hadPrev := err == nil
	if err != nil && !errors.Is(err, fileio.ErrNotExist) {
		return nil, fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	if err := t.fio.WriteFile(ctx, p, fmt.Appendf(nil, "{\n  \"nextSnapshot\" : %d\n}", nextSnapshot)); err != nil {
		return nil, fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	// Now that the consumer is visible, look at the expiry intent (the EARLIEST hint): an
	// expiry that wrote it before this point may delete older snapshots, one that writes
	// it later sees this consumer.
	snap, conflict, err := t.checkRegistered(ctx, nextSnapshot)
	if err == nil && conflict == "" {
		return snap, nil
	}
	if hadPrev {
		_ = t.fio.WriteFile(ctx, p, prev)
	} else {
		_ = t.fio.Delete(ctx, p)
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	return nil, fmt.Errorf("consumer %q of %s: snapshot %d %s: %w", id, t.path, nextSnapshot, conflict, ErrNotFound)
}

// checkRegistered reads snapshot next after its consumer was written; conflict says why
// the consumer cannot hold it. An expired snapshot kept as a long-lived changelog
// (changelog/changelog-N) can be held too, unless changelog expiry has announced it
// (the changelog EARLIEST hint, written before changelog expiry reads the consumers).
func (t *Table) checkRegistered(ctx context.Context, next int64) (*format.Snapshot, string, error) {
	hint, hasHint := t.readHint(ctx, format.EarliestHint)
	snap, err := t.Snapshot(ctx, next)
	if errors.Is(err, ErrNotFound) {
		latest, ok, lerr := t.LatestSnapshotID(ctx)
		if lerr != nil {
			return nil, "", lerr
		}
		if !ok || next > latest {
			return nil, "", nil // not committed yet
		}
		// Committed by now: it may have been committed after the first read, so read it
		// again; only a snapshot missing at or below the latest one has expired.
		snap, err = t.Snapshot(ctx, next)
		if errors.Is(err, ErrNotFound) {
			return t.checkRegisteredChangelog(ctx, next, "has expired")
		}
	}
	switch {
	case err != nil:
		return nil, "", err
	case hasHint && next < hint:
		return t.checkRegisteredChangelog(ctx, next, fmt.Sprintf("is being expired (snapshots before %d are)", hint))
	}
	return snap, "", nil
}

// checkRegisteredChangelog holds the long-lived changelog next, if there is one that
// changelog expiry has not announced; else the snapshot's conflict stands.
func (t *Table) checkRegisteredChangelog(ctx context.Context, next int64, conflict string) (*format.Snapshot, string, error) {
	hint, hasHint := t.readHintIn(ctx, format.ChangelogDir, format.EarliestHint)
	c, err := t.readSnapshotFile(ctx, format.ChangelogPath(next), next, "changelog")
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, conflict, nil
	case err != nil:
		return nil, "", err
	case hasHint && next < hint:
		return nil, fmt.Sprintf("%s, and its long-lived changelog is being expired (changelogs before %d are)", conflict, hint), nil
	}
	return c, "", nil
}

// DeleteConsumer deletes a consumer; snapshots it held back become expirable.
func (t *Table) DeleteConsumer(ctx context.Context, id string) error {
	if err := checkConsumerName(id); err != nil {
		return err
	}
	p := t.consumerFile(id)
	ok, err := fileio.Exists(ctx, t.fio, p)
	if err != nil {
		return fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	if !ok {
		return fmt.Errorf("consumer %q of %s: %w", id, t.path, ErrNotFound)
	}
	if err := t.fio.Delete(ctx, p); err != nil {
		return fmt.Errorf("consumer %q of %s: %w", id, t.path, err)
	}
	return nil
}

// ExpireConsumers deletes the consumers whose files were last written more than
// expiration before now (consumer.expiration-time, used when expiration is 0; without
// either nothing expires), and returns their ids.
func (t *Table) ExpireConsumers(ctx context.Context, now time.Time, expiration time.Duration) ([]string, error) {
	if expiration <= 0 {
		cfg, err := t.expireConfig(ctx, ExpireOptions{})
		if err != nil {
			return nil, err
		}
		expiration = cfg.consumerExpiration
	}
	if expiration <= 0 {
		return nil, nil
	}
	consumers, err := t.Consumers(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := now.Add(-expiration)
	var out []string
	for _, c := range consumers {
		if c.ModTime.Before(cutoff) {
			if err := t.fio.Delete(ctx, t.consumerFile(c.ID)); err != nil {
				return out, fmt.Errorf("expire consumer %q of %s: %w", c.ID, t.path, err)
			}
			out = append(out, c.ID)
		}
	}
	return out, nil
}

package table

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
)

// Snapshot reads snapshot-N.
func (t *Table) Snapshot(ctx context.Context, id int64) (*format.Snapshot, error) {
	return t.readSnapshotFile(ctx, format.SnapshotPath(id), id, "snapshot")
}

// changelogOf reads the changes of snapshot N for streaming reads: snapshot-N, or once it
// expired, changelog/changelog-N, which Paimon's decoupled changelog expiry
// (changelog.num-retained.*, changelog.time-retained) keeps with the snapshot's changelog
// manifest list, as Paimon's streaming reads do (NextSnapshotFetcher).
func (t *Table) changelogOf(ctx context.Context, id int64) (*format.Snapshot, error) {
	s, err := t.Snapshot(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return s, err
	}
	c, cerr := t.readSnapshotFile(ctx, format.ChangelogPath(id), id, "changelog")
	if errors.Is(cerr, ErrNotFound) {
		return nil, err
	}
	return c, cerr
}

func (t *Table) readSnapshotFile(ctx context.Context, rel string, id int64, what string) (*format.Snapshot, error) {
	p := t.Join(rel)
	data, err := t.fio.ReadFile(ctx, p)
	if errors.Is(err, fileio.ErrNotExist) {
		return nil, fmt.Errorf("%s %d of %s: %w", what, id, t.path, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	s, err := format.ParseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("%s: holds snapshot id %d", p, s.ID)
	}
	return s, nil
}

// SnapshotIDs lists the ids of all snapshot files, ascending.
func (t *Table) SnapshotIDs(ctx context.Context) ([]int64, error) {
	return t.listIDs(ctx, format.SnapshotDir, format.SnapshotPrefix)
}

func (t *Table) readHint(ctx context.Context, name string) (int64, bool) {
	return t.readHintIn(ctx, format.SnapshotDir, name)
}

// readHintIn reads the hint file name (EARLIEST, LATEST) of a directory of the table
// (snapshot/, changelog/).
func (t *Table) readHintIn(ctx context.Context, dir, name string) (int64, bool) {
	data, err := t.fio.ReadFile(ctx, t.Join(dir, name))
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return id, err == nil
}

// LatestSnapshotID returns the id of the newest snapshot, 0 and false if the table has
// none. A guess (the newest snapshot this Table has seen, else the LATEST hint) is
// trusted only if snapshot-(guess+1) does not exist, as Paimon's HintFileUtils.findLatest
// does; otherwise the directory is listed.
func (t *Table) LatestSnapshotID(ctx context.Context) (int64, bool, error) {
	s, ok, err := t.latestByGuess(ctx, false)
	if err != nil {
		return 0, false, err
	}
	if ok {
		return s.ID, true, nil
	}
	return t.latestListed(ctx)
}

// latestListed finds the newest snapshot by listing the snapshot directory.
func (t *Table) latestListed(ctx context.Context) (int64, bool, error) {
	ids, err := t.SnapshotIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	t.sawSnapshot(ids[len(ids)-1])
	return ids[len(ids)-1], true, nil
}

// latestByGuess checks the guesses for the newest snapshot, the one this Table saw last
// and then the LATEST hint: a guess is the newest snapshot when it exists and the next
// one does not. Both are looked at in parallel, so a right guess costs one round trip.
// With read the snapshot is read, else only its ID is set.
func (t *Table) latestByGuess(ctx context.Context, read bool) (*format.Snapshot, bool, error) {
	t.mu.Lock()
	seen := t.latestSeen
	t.mu.Unlock()
	tried := int64(0)
	for i := range 2 {
		id := seen
		if i == 1 {
			hint, ok := t.readHint(ctx, format.LatestHint)
			if !ok {
				break
			}
			id = hint
		}
		if id <= 0 || id == tried {
			continue
		}
		tried = id
		s, ok, err := t.snapshotIfLatest(ctx, id, read)
		if err != nil || ok {
			return s, ok, err
		}
	}
	return nil, false, nil
}

// snapshotIfLatest reports whether snapshot id exists and snapshot id+1 does not.
func (t *Table) snapshotIfLatest(ctx context.Context, id int64, read bool) (*format.Snapshot, bool, error) {
	var (
		wg      sync.WaitGroup
		next    bool
		nextErr error
	)
	wg.Go(func() { next, nextErr = fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id+1))) })
	var s *format.Snapshot
	var err error
	if read {
		s, err = t.Snapshot(ctx, id)
	} else {
		var ok bool
		if ok, err = fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id))); err == nil && !ok {
			err = ErrNotFound
		}
		s = &format.Snapshot{ID: id}
	}
	wg.Wait()
	if nextErr != nil {
		return nil, false, nextErr
	}
	if errors.Is(err, ErrNotFound) || next {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	t.sawSnapshot(id)
	return s, true, nil
}

// sawSnapshot records that snapshot id exists: the first guess for the latest one.
func (t *Table) sawSnapshot(id int64) {
	t.mu.Lock()
	t.latestSeen = max(t.latestSeen, id)
	t.mu.Unlock()
}

// EarliestSnapshotID returns the id of the oldest snapshot still present.
func (t *Table) EarliestSnapshotID(ctx context.Context) (int64, bool, error) {
	if id, ok := t.readHint(ctx, format.EarliestHint); ok {
		if ok, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id))); err == nil && ok {
			return id, true, nil
		}
	}
	ids, err := t.SnapshotIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	return ids[0], true, nil
}

// LatestSnapshot returns the newest snapshot, or nil if the table has none.
func (t *Table) LatestSnapshot(ctx context.Context) (*format.Snapshot, error) {
	s, ok, err := t.latestByGuess(ctx, true)
	if err != nil || ok {
		return s, err
	}
	id, ok, err := t.latestListed(ctx) // the guesses were wrong: no need to check them again
	if err != nil || !ok {
		return nil, err
	}
	return t.Snapshot(ctx, id)
}

// Snapshots reads every snapshot still present, ascending by id.
func (t *Table) Snapshots(ctx context.Context) ([]*format.Snapshot, error) {
	ids, err := t.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*format.Snapshot, 0, len(ids))
	for _, id := range ids {
		s, err := t.Snapshot(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // expired while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SnapshotAsOf returns the newest snapshot committed at or before timeMillis (Paimon's
// scan.timestamp-millis travel).
func (t *Table) SnapshotAsOf(ctx context.Context, timeMillis int64) (*format.Snapshot, error) {
	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var best *format.Snapshot
	for _, s := range snaps {
		if s.TimeMillis <= timeMillis {
			best = s
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no snapshot of %s at or before %d: %w", t.path, timeMillis, ErrNotFound)
	}
	return best, nil
}

// Tag reads the snapshot a tag holds.
func (t *Table) Tag(ctx context.Context, name string) (*format.Snapshot, error) {
	p := t.Join(format.TagPath(name))
	data, err := t.fio.ReadFile(ctx, p)
	if errors.Is(err, fileio.ErrNotExist) {
		return nil, fmt.Errorf("tag %q of %s: %w", name, t.path, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	s, err := format.ParseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// TagNames lists tag names, sorted.
func (t *Table) TagNames(ctx context.Context) ([]string, error) {
	entries, err := t.fio.List(ctx, t.Join(format.TagDir))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir && strings.HasPrefix(e.Name(), format.TagPrefix) {
			names = append(names, strings.TrimPrefix(e.Name(), format.TagPrefix))
		}
	}
	sort.Strings(names)
	return names, nil
}

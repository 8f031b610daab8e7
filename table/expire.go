package table

// The snapshot lifecycle: expiry (this file), tags (tag.go), rollback (rollback.go),
// consumers (consumer.go) and orphan files (orphan.go). This file also holds what they
// share: the files a snapshot references and the parallel deleter.
//
// Expiry follows Paimon's ExpireSnapshotsImpl and SnapshotDeletion in what it deletes, with
// one deliberate difference in the order: the snapshot files go first, then the files only
// they referenced. A reader that can still open snapshot-N therefore always finds its
// files, and an interrupted expiry leaves nothing but unreferenced files, which CleanOrphans
// removes. The protocol that makes expiry safe against concurrent consumers and tags is:
//
//   - expiry writes the EARLIEST hint (its intent) before it reads the consumers a last
//     time, and RegisterConsumer writes the consumer file before it reads the hint; so
//     either expiry sees the consumer or the consumer sees the intent (and refuses);
//   - expiry reads the tags after it deleted the snapshot files, and CreateTag checks the
//     snapshot still exists after it wrote the tag file; so either expiry sees the tag or
//     the tag is withdrawn.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// ExpireOptions configure ExpireSnapshots. Zero fields take the table's option, else
// Paimon's default.
type ExpireOptions struct {
	// RetainMin is snapshot.num-retained.min (default 10): the newest RetainMin snapshots
	// are never expired.
	RetainMin int
	// RetainMax is snapshot.num-retained.max (default unbounded): older snapshots beyond
	// the newest RetainMax are expired whatever their age.
	RetainMax int
	// TimeRetained is snapshot.time-retained (default 1h): a snapshot is expired only when
	// the snapshot after it is older than this.
	TimeRetained time.Duration
	// Limit is snapshot.expire.limit (default 50): at most this many snapshots per run.
	Limit int
	// ConsumerExpiration is consumer.expiration-time (default none): consumer files not
	// updated for this long are deleted first, so they stop holding snapshots back.
	ConsumerExpiration time.Duration
	// Now is the current time (default time.Now()).
	Now time.Time
	// DryRun computes what would be deleted and deletes nothing.
	DryRun bool
}

// ExpireResult tells what ExpireSnapshots did (or, in a dry run, would do).
type ExpireResult struct {
	// Expired lists the ids of the expired snapshots, ascending.
	Expired []int64
	// EarliestRetained is the oldest snapshot kept (0 if the table has none).
	EarliestRetained int64
	// ExpiredConsumers lists the consumer ids deleted by consumer.expiration-time.
	ExpiredConsumers []string
	// Changelogs lists the expired snapshots kept as long-lived changelogs
	// (changelog/changelog-N) because the changelog's retention is longer than the
	// snapshots'; ExpiredChangelogs lists the long-lived changelogs expired.
	Changelogs, ExpiredChangelogs []int64
	// Deleted are the files deleted: snapshot files, data, changelog, manifest, index and
	// statistics files.
	Deleted Deleted
	DryRun  bool
}

// Deleted lists the files a maintenance operation deleted (or, in a dry run, would
// delete) and their total size.
type Deleted struct {
	Paths []string
	Bytes int64
}

// Files is the number of files.
func (d *Deleted) Files() int { return len(d.Paths) }

func (d *Deleted) add(o Deleted) {
	d.Paths = append(d.Paths, o.Paths...)
	d.Bytes += o.Bytes
}

// expireConfig is ExpireOptions resolved against the table's options.
type expireConfig struct {
	retainMin, retainMax  int
	timeRetained          time.Duration
	limit                 int
	consumerExpiration    time.Duration
	consumerChangelogOnly bool
	cleanEmptyDirs        bool
	// The changelog's retention (changelog.num-retained.*, changelog.time-retained;
	// default: the snapshots'). When it exceeds the snapshots' the lifecycles are
	// decoupled (Paimon's ExpireConfig.isChangelogDecoupled): an expired snapshot lives on
	// as changelog/changelog-N with the files a streaming read of it needs, until
	// changelog expiry (expireChangelogs).
	clRetainMin, clRetainMax int
	clTimeRetained           time.Duration
	decoupled                bool
	// produceChangelog: changelog-producer is not none, so changelogs are files of their
	// own; with none, a snapshot's new data files are its changelog.
	produceChangelog bool
}

func (t *Table) expireConfig(ctx context.Context, o ExpireOptions) (expireConfig, error) {
	opts, err := t.Options(ctx)
	if err != nil {
		return expireConfig{}, err
	}
	c := expireConfig{retainMin: 10, retainMax: math.MaxInt32, timeRetained: time.Hour, limit: 50}
	var errs []error
	intOpt := func(key string, dst *int) {
		if v, ok := opts.Get(key); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("table option %s=%q: %w", key, v, err))
				return
			}
			*dst = n
		}
	}
	durOpt := func(key string, dst *time.Duration) {
		if v, ok := opts.Get(key); ok {
			d, err := ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("table option %s=%q: %w", key, v, err))
				return
			}
			*dst = d
		}
	}
	boolOpt := func(key string, dst *bool) {
		if v, ok := opts.Get(key); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("table option %s=%q: %w", key, v, err))
				return
			}
			*dst = b
		}
	}
	intOpt("snapshot.num-retained.min", &c.retainMin)
	intOpt("snapshot.num-retained.max", &c.retainMax)
	durOpt("snapshot.time-retained", &c.timeRetained)
	intOpt("snapshot.expire.limit", &c.limit)
	durOpt("consumer.expiration-time", &c.consumerExpiration)
	boolOpt("consumer.changelog-only", &c.consumerChangelogOnly)
	if k, _, ok := opts.Lookup("snapshot.clean-empty-directories"); ok {
		boolOpt(k, &c.cleanEmptyDirs)
	}
	clMin, clMax, clTime := -1, -1, time.Duration(-1)
	intOpt("changelog.num-retained.min", &clMin)
	intOpt("changelog.num-retained.max", &clMax)
	durOpt("changelog.time-retained", &clTime)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if o.RetainMin > 0 {
		c.retainMin = o.RetainMin
	}
	if o.RetainMax > 0 {
		c.retainMax = o.RetainMax
	}
	if o.TimeRetained > 0 {
		c.timeRetained = o.TimeRetained
	}
	if o.Limit > 0 {
		c.limit = o.Limit
	}
	if o.ConsumerExpiration > 0 {
		c.consumerExpiration = o.ConsumerExpiration
	}
	c.clRetainMin, c.clRetainMax, c.clTimeRetained = c.retainMin, c.retainMax, c.timeRetained
	if clMin >= 0 {
		c.clRetainMin = clMin
	}
	if clMax >= 0 {
		c.clRetainMax = clMax
	}
	if clTime >= 0 {
		c.clTimeRetained = clTime
	}
	c.decoupled = c.clRetainMax > c.retainMax || c.clRetainMin > c.retainMin || c.clTimeRetained > c.timeRetained
	if cp, _ := opts.Get("changelog-producer"); cp != "" && !strings.EqualFold(cp, "none") {
		c.produceChangelog = true
	}
	switch {
	case c.retainMin < 1:
		return c, fmt.Errorf("snapshot.num-retained.min must be at least 1, is %d", c.retainMin)
	case c.retainMax < c.retainMin:
		return c, fmt.Errorf("snapshot.num-retained.max (%d) must not be less than snapshot.num-retained.min (%d)", c.retainMax, c.retainMin)
	case c.limit < 1:
		return c, fmt.Errorf("snapshot.expire.limit must be at least 1, is %d", c.limit)
	case c.clRetainMax < c.clRetainMin:
		return c, fmt.Errorf("changelog.num-retained.max (%d) must not be less than changelog.num-retained.min (%d)", c.clRetainMax, c.clRetainMin)
	}
	return c, nil
}

// ExpireSnapshots deletes old snapshots and the files only they referenced, as Paimon's
// snapshot expiration does: it keeps at least RetainMin snapshots, at most RetainMax, and
// every snapshot whose successor is younger than TimeRetained; it keeps every snapshot a
// registered consumer has not read yet (consumer/consumer-<id>, nextSnapshot and later);
// it never deletes a file that a retained snapshot, a tag, a branch or a long-lived
// changelog still references. Snapshot files are deleted first (oldest first), then data
// files, changelog files, manifests and manifest lists, index files, index manifests and
// statistics; the EARLIEST hint is updated.
//
// When the changelog's retention (changelog.num-retained.*, changelog.time-retained) is
// longer than the snapshots', the lifecycles are decoupled as in Paimon: each expired
// snapshot is first written as the long-lived changelog changelog/changelog-N, which
// keeps what a streaming read of it needs, and the long-lived changelogs are then
// expired by the changelog's retention (expireChangelogs). Long-lived changelogs the
// options no longer retain (the changelog's retention was lowered) are retired with the
// files only they use (retireChangelogs).
//
// It is safe to run while other processes commit, read, tag and register consumers, and
// idempotent: an interrupted run leaves only unreferenced files (see CleanOrphans).
func (t *Table) ExpireSnapshots(ctx context.Context, o ExpireOptions) (*ExpireResult, error) {
	cfg, err := t.expireConfig(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("expire %s: %w", t.path, err)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	res := &ExpireResult{DryRun: o.DryRun}
	// Consumers first, so that expired ones stop holding snapshots back (Paimon's order).
	consumers, err := t.Consumers(ctx)
	if err != nil {
		return res, err
	}
	if cfg.consumerExpiration > 0 {
		cutoff := now.Add(-cfg.consumerExpiration)
		kept := consumers[:0]
		for _, c := range consumers {
			if c.ModTime.Before(cutoff) {
				res.ExpiredConsumers = append(res.ExpiredConsumers, c.ID)
				if !o.DryRun {
					if err := t.fio.Delete(ctx, t.consumerFile(c.ID)); err != nil {
						return res, fmt.Errorf("expire consumer %q: %w", c.ID, err)
					}
				}
				continue
			}
			kept = append(kept, c)
		}
		consumers = kept
	}
	latest, ok, err := t.LatestSnapshotID(ctx)
	if err != nil || !ok {
		return res, err
	}
	earliest, ok, err := t.earliestSnapshotStrict(ctx)
	if err != nil || !ok {
		return res, err
	}
	res.EarliestRetained = earliest
	// The oldest snapshot snapshot.num-retained.max keeps, and the end (exclusive) of what
	// snapshot.num-retained.min, the consumers and snapshot.expire.limit allow to expire.
	minID := max(latest-int64(cfg.retainMax)+1, earliest)
	maxExclusive := latest - int64(cfg.retainMin) + 1
	if !cfg.consumerChangelogOnly {
		if next, ok := minNextSnapshot(consumers); ok {
			maxExclusive = min(maxExclusive, next)
		}
	}
	maxExclusive = min(maxExclusive, earliest+int64(cfg.limit))
	olderThan := now.Add(-cfg.timeRetained).UnixMilli()
	end := maxExclusive
	for id := minID; id < maxExclusive; id++ {
		// A snapshot expires only once its successor is older than snapshot.time-retained.
		next, err := t.Snapshot(ctx, id+1)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return res, err
		}
		if olderThan <= next.TimeMillis {
			end = id
			break
		}
	}
	err = t.expireUntil(ctx, earliest, end, cfg, o.DryRun, res)
	slog.Debug("expired snapshots", "table", t.path, "expired", len(res.Expired), "files", res.Deleted.Files(), "bytes", res.Deleted.Bytes, "dry-run", o.DryRun)
	if err == nil {
		if cfg.decoupled {
			err = t.expireChangelogs(ctx, cfg, consumers, now, o.DryRun, res)
		} else {
			err = t.retireChangelogs(ctx, cfg, consumers, o.DryRun, res)
		}
	}
	return res, err
}

// earliestSnapshotStrict is the oldest snapshot. The EARLIEST hint is trusted only when
// the snapshot before it is gone, so that snapshots an interrupted expiry left behind the
// hint are found again.
func (t *Table) earliestSnapshotStrict(ctx context.Context) (int64, bool, error) {
	if id, ok := t.readHint(ctx, format.EarliestHint); ok && id > 0 {
		here, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id)))
		if err != nil {
			return 0, false, err
		}
		before, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id-1)))
		if err != nil {
			return 0, false, err
		}
		if here && !before {
			return id, true, nil
		}
	}
	ids, err := t.SnapshotIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	return ids[0], true, nil
}

func (t *Table) writeEarliestHint(ctx context.Context, id int64) error {
	return t.writeHintIn(ctx, format.SnapshotDir, format.EarliestHint, id)
}

func (t *Table) writeChangelogHint(ctx context.Context, name string, id int64) error {
	return t.writeHintIn(ctx, format.ChangelogDir, name, id)
}

// writeHintIn writes the hint file name of a directory of the table.
func (t *Table) writeHintIn(ctx context.Context, dir, name string, id int64) error {
	if err := t.fio.WriteFile(ctx, t.Join(dir, name), []byte(strconv.FormatInt(id, 10))); err != nil {
		return fmt.Errorf("%s/%s hint of %s: %w", dir, name, t.path, err)
	}
	return nil
}

// expireUntil expires the snapshots from earliest to end (exclusive).
func (t *Table) expireUntil(ctx context.Context, earliest, end int64, cfg expireConfig, dryRun bool, res *ExpireResult) error {
	if end <= earliest {
		// Nothing to expire. Write the hint if it is missing, or wrong (an interrupted
		// expiry's intent), so that readers and consumers see the real earliest snapshot.
		if !dryRun {
			if h, ok := t.readHint(ctx, format.EarliestHint); !ok || h != earliest {
				return t.writeEarliestHint(ctx, earliest)
			}
		}
		return nil
	}
	snaps, err := t.readSnapshotRange(ctx, earliest, end)
	if err != nil {
		return err
	}
	if len(snaps) == 0 || snaps[len(snaps)-1].snap.ID != end {
		// The end snapshot is gone: another expiry or a rollback is at work.
		return nil
	}
	begin := snaps[0].snap.ID
	if !dryRun {
		// The intent, before the last look at the consumers: a consumer registering an
		// older snapshot from now on sees it and refuses.
		if err := t.writeEarliestHint(ctx, end); err != nil {
			return err
		}
		consumers, err := t.Consumers(ctx)
		if err != nil {
			return err
		}
		if next, ok := minNextSnapshot(consumers); ok && next < end && !cfg.consumerChangelogOnly {
			end = max(next, begin)
			if err := t.writeEarliestHint(ctx, end); err != nil {
				return err
			}
			if end == begin {
				return nil
			}
			for len(snaps) > 0 && snaps[len(snaps)-1].snap.ID > end {
				snaps = snaps[:len(snaps)-1]
			}
		}
	}
	var expired []sizedSnapshot
	for _, s := range snaps {
		if s.snap.ID < end {
			expired = append(expired, s)
		}
	}
	endSnap := snaps[len(snaps)-1].snap
	if endSnap.ID != end {
		return nil // a gap in the snapshot ids; expire nothing rather than guess
	}
	d := newDeleter(t, dryRun)
	if cfg.decoupled {
		// Each snapshot lives on as a long-lived changelog (Paimon's Changelog: the
		// snapshot's JSON) before its snapshot file goes, so a streaming read finds one.
		for _, s := range expired {
			res.Changelogs = append(res.Changelogs, s.snap.ID)
			if dryRun {
				continue
			}
			if err := t.fio.WriteFile(ctx, t.Join(format.ChangelogPath(s.snap.ID)), s.data); err != nil {
				return fmt.Errorf("expire %s: long-lived changelog %d: %w", t.path, s.snap.ID, err)
			}
		}
		if !dryRun && len(expired) > 0 {
			if err := t.writeChangelogHint(ctx, format.LatestHint, expired[len(expired)-1].snap.ID); err != nil {
				return err
			}
		}
	}
	// Snapshot files first, oldest first, so the remaining ones stay contiguous.
	for _, s := range expired {
		if err := d.deleteOne(ctx, t.Join(format.SnapshotPath(s.snap.ID)), s.size); err != nil {
			res.Deleted.add(d.done)
			return err
		}
		res.Expired = append(res.Expired, s.snap.ID)
	}
	res.EarliestRetained = end
	// What still protects files is read after the snapshot files are gone: a tag created
	// meanwhile either is seen here or finds its snapshot missing and is withdrawn.
	plan, err := t.planExpiry(ctx, snaps, begin, end, cfg)
	if err != nil {
		// The snapshots are expired; their files become orphans (CleanOrphans).
		res.Deleted.add(d.done)
		return fmt.Errorf("expire %s: snapshots %d..%d expired but their files were kept: %w", t.path, begin, end-1, err)
	}
	err = d.runPhases(ctx, plan.phases())
	if cfg.cleanEmptyDirs && !dryRun {
		d.cleanEmptyDirs(ctx, plan.bucketDirs)
	}
	res.Deleted.add(d.done)
	return err
}

// sizedSnapshot is a snapshot read from its file, with the file's size.
type sizedSnapshot struct {
	snap *format.Snapshot
	size int64
	data []byte // the file's bytes
	// longLived: a long-lived changelog (changelog/changelog-N), not a snapshot file.
	longLived bool
}

// readSnapshotRange reads snapshots from..to (inclusive) in parallel, skipping missing ones.
func (t *Table) readSnapshotRange(ctx context.Context, from, to int64) ([]sizedSnapshot, error) {
	n := int(to - from + 1)
	out := make([]sizedSnapshot, n)
	errs := make([]error, n)
	parallel(n, 8, func(i int) {
		p := t.Join(format.SnapshotPath(from + int64(i)))
		data, err := t.fio.ReadFile(ctx, p)
		if errors.Is(err, fileio.ErrNotExist) {
			return
		}
		if err != nil {
			errs[i] = err
			return
		}
		s, err := format.ParseSnapshot(data)
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", p, err)
			return
		}
		out[i] = sizedSnapshot{snap: s, size: int64(len(data)), data: data}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res := out[:0]
	for _, s := range out {
		if s.snap != nil {
			res = append(res, s)
		}
	}
	return res, nil
}

// expiryPlan lists the files an expiry deletes, by phase.
type expiryPlan struct {
	data, changelog, meta, indexFiles, indexManifests, statistics []fileRef
	bucketDirs                                                    []string
}

func (p *expiryPlan) phases() [][]fileRef {
	return [][]fileRef{p.data, p.changelog, p.meta, p.indexFiles, p.indexManifests, p.statistics}
}

// addFile adds the file of a manifest entry and its extra files to dst, one of p's lists,
// and its bucket directory to those looked at for emptiness.
func (p *expiryPlan) addFile(ctx context.Context, r *resolver, dst *[]fileRef, schemaID int64, e *manifest.ManifestEntry) error {
	path, extras, err := r.dataFile(ctx, schemaID, e)
	if err != nil {
		return err
	}
	*dst = append(*dst, fileRef{path, e.File.FileSize})
	for _, x := range extras {
		*dst = append(*dst, fileRef{x, -1})
	}
	p.bucketDirs = append(p.bucketDirs, parentDir(path))
	return nil
}

// addChangelogFiles adds the changelog files of s (every file its changelog manifests
// add; none if it has no changelog or its list is gone) that no branch or long-lived
// changelog of foreign holds.
func (p *expiryPlan) addChangelogFiles(ctx context.Context, t *Table, r *resolver, s *format.Snapshot, foreign *refSet) error {
	if s.ChangelogManifestList == nil {
		return nil
	}
	entries, err := t.readManifestListEntries(ctx, *s.ChangelogManifestList)
	if err != nil && !errors.Is(err, fileio.ErrNotExist) {
		return err
	}
	for i := range entries {
		if e := &entries[i]; e.Kind == manifest.FileKindAdd && !foreign.data[keyOf(e)] {
			if err := p.addFile(ctx, r, &p.changelog, s.SchemaID, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// addedKeys are the files a delta's entries add.
func addedKeys(entries []manifest.ManifestEntry) map[dataKey]bool {
	added := map[dataKey]bool{}
	for i := range entries {
		if entries[i].Kind == manifest.FileKindAdd {
			added[keyOf(&entries[i])] = true
		}
	}
	return added
}

// planExpiry finds the files of the snapshots begin..end-1 that nothing kept needs: data
// files deleted by the snapshots begin+1..end (and not re-added), unless the tag before
// that snapshot, a branch or a long-lived changelog holds them; the changelog files of
// the expired snapshots; and their manifests, manifest lists, index and statistics files
// that neither the end snapshot nor a tag in the range (nor a branch) uses.
//
// With a decoupled changelog lifecycle the expired snapshots live on as long-lived
// changelogs, so, as Paimon's SnapshotDeletion, it keeps their changelog files and
// changelog manifest lists; without a changelog producer, a snapshot's new data files
// are its changelog, so it also keeps the data files written from input
// (FileSource APPEND) and the expired snapshots' base and delta manifest lists. Changelog
// expiry deletes them later (expireChangelogs); the long-lived changelogs themselves
// protect nothing else here.
func (t *Table) planExpiry(ctx context.Context, snaps []sizedSnapshot, begin, end int64, cfg expireConfig) (*expiryPlan, error) {
	byID := map[int64]*format.Snapshot{}
	for _, s := range snaps {
		byID[s.snap.ID] = s.snap
	}
	tags, err := t.taggedSnapshots(ctx, t.path)
	if err != nil {
		return nil, err
	}
	foreign, err := t.foreignRefs(ctx, !cfg.decoupled)
	if err != nil {
		return nil, err
	}
	r := newResolver(t)
	plan := &expiryPlan{}
	keepInput := cfg.decoupled && !cfg.produceChangelog

	// Data files.
	type cand struct {
		ref   fileRef
		extra []string
	}
	cands := map[dataKey]cand{}
	var prevTags []*format.Snapshot
	seenTag := map[int64]bool{}
	for id := begin + 1; id <= end; id++ {
		s := byID[id]
		if s == nil {
			continue
		}
		if tag := previousTag(tags, id); tag != nil && !seenTag[tag.snap.ID] {
			seenTag[tag.snap.ID] = true
			prevTags = append(prevTags, tag.snap)
		}
		entries, err := t.readManifestListEntries(ctx, s.DeltaManifestList)
		if errors.Is(err, fileio.ErrNotExist) {
			slog.Warn("expire: delta manifests of a snapshot are missing; its deleted files are left to orphan cleaning", "table", t.path, "snapshot", id, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		added := addedKeys(entries)
		for i := range entries {
			e := &entries[i]
			k := keyOf(e)
			if e.Kind == manifest.FileKindDelete && !added[k] {
				if keepInput && (e.File.FileSource == nil || *e.File.FileSource == manifest.FileSourceAppend) {
					continue
				}
				p, extras, err := r.dataFile(ctx, s.SchemaID, e)
				if err != nil {
					return nil, err
				}
				cands[k] = cand{fileRef{p, e.File.FileSize}, extras}
				plan.bucketDirs = append(plan.bucketDirs, parentDir(p))
			}
		}
		for k := range added {
			delete(cands, k) // re-added (an upgrade): still live
		}
	}
	keep := map[dataKey]bool{}
	for k := range foreign.data {
		keep[k] = true
	}
	for _, tag := range prevTags {
		if err := t.addLiveDataKeys(ctx, tag, keep); err != nil {
			return nil, fmt.Errorf("files of the tag on snapshot %d: %w", tag.ID, err)
		}
	}
	for k, c := range cands {
		if keep[k] {
			continue
		}
		plan.data = append(plan.data, c.ref)
		for _, x := range c.extra {
			plan.data = append(plan.data, fileRef{x, -1})
		}
	}

	// Changelog files of the expired snapshots, unless a branch or a long-lived changelog
	// shares them. A tag keeps its snapshot's data, not its changelog
	// (ExpireSnapshotsImpl deletes the changelog of every expired snapshot).
	for id := begin; id < end; id++ {
		if s := byID[id]; !cfg.decoupled && s != nil && s.ChangelogManifestList != nil && !foreign.meta[*s.ChangelogManifestList] {
			if err := plan.addChangelogFiles(ctx, t, r, s, foreign); err != nil {
				return nil, err
			}
		}
	}

	// Metadata: skip what the end snapshot and the tags overlapping the range use.
	skip, err := t.skippingSet(ctx, r, foreign, append([]*format.Snapshot{byID[end]}, tagSnaps(skippingTags(tags, begin, end))...), false)
	if err != nil {
		return nil, err
	}
	for id := begin; id < end; id++ {
		s := byID[id]
		if s == nil {
			continue
		}
		if cfg.decoupled {
			s = withoutChangelog(s)
			if keepInput {
				s.BaseManifestList, s.DeltaManifestList = "", ""
			}
		}
		refs, err := t.snapshotMeta(ctx, s, r, true)
		if err != nil {
			return nil, fmt.Errorf("files of snapshot %d: %w", id, err)
		}
		refs.collect(skip, plan)
	}
	return plan, nil
}

// skippingSet names the metadata files an expiry keeps: what the branches and long-lived
// changelogs of foreign use, and what the snapshots skipping use apart from their
// changelogs (FileDeletionBase.manifestSkippingSet); tolerant leaves out their files
// that are already gone instead of failing.
func (t *Table) skippingSet(ctx context.Context, r *resolver, foreign *refSet, skipping []*format.Snapshot, tolerant bool) (map[string]bool, error) {
	skip := map[string]bool{}
	for n := range foreign.meta {
		skip[n] = true
	}
	for _, s := range skipping {
		refs, err := t.snapshotMeta(ctx, withoutChangelog(s), r, tolerant)
		if err != nil {
			return nil, fmt.Errorf("files of snapshot %d: %w", s.ID, err)
		}
		for _, m := range refs.all() {
			skip[m.name] = true
		}
	}
	return skip, nil
}

func tagSnaps(tags []taggedSnapshot) []*format.Snapshot {
	out := make([]*format.Snapshot, len(tags))
	for i := range tags {
		out[i] = tags[i].snap
	}
	return out
}

// previousTag is the tag with the largest snapshot id below id (nil if none).
func previousTag(tags []taggedSnapshot, id int64) *taggedSnapshot {
	i := sort.Search(len(tags), func(i int) bool { return tags[i].snap.ID >= id })
	if i == 0 {
		return nil
	}
	return &tags[i-1]
}

// skippingTags are the tags whose manifests an expiry of begin..end-1 must keep: from the
// last tag at or before begin to the last tag before end (Paimon's findSkippingTags).
func skippingTags(tags []taggedSnapshot, begin, end int64) []taggedSnapshot {
	right := sort.Search(len(tags), func(i int) bool { return tags[i].snap.ID >= end }) - 1
	if right < 0 {
		return nil
	}
	left := sort.Search(len(tags), func(i int) bool { return tags[i].snap.ID > begin }) - 1
	left = max(left, 0)
	if left > right {
		return nil
	}
	return tags[left : right+1]
}

// dataKey identifies a data file as Paimon's skippers do: partition, bucket, file name.
type dataKey struct {
	partition string
	bucket    int32
	name      string
}

func keyOf(e *manifest.ManifestEntry) dataKey {
	return dataKey{string(e.Partition), e.Bucket, e.File.FileName}
}

// fileRef is a file to delete and its size (-1: unknown).
type fileRef struct {
	path string
	size int64
}

// metaRef is a metadata file a snapshot references: its name (unique across the
// manifest, index and statistics directories) and location.
type metaRef struct {
	name string
	ref  fileRef
}

// snapshotRefs are the metadata files one snapshot references, by kind.
type snapshotRefs struct {
	manifests      []metaRef // manifest lists and manifests
	indexFiles     []metaRef
	indexManifests []metaRef
	statistics     []metaRef
}

func (s *snapshotRefs) all() []metaRef {
	var out []metaRef
	for _, l := range [][]metaRef{s.manifests, s.indexFiles, s.indexManifests, s.statistics} {
		out = append(out, l...)
	}
	return out
}

// collect adds the files not in skip to the plan, and marks them in skip (so that a file
// shared by several expired snapshots is planned once).
func (s *snapshotRefs) collect(skip map[string]bool, plan *expiryPlan) {
	add := func(dst *[]fileRef, refs []metaRef) {
		for _, m := range refs {
			if !skip[m.name] {
				skip[m.name] = true
				*dst = append(*dst, m.ref)
			}
		}
	}
	add(&plan.meta, s.manifests)
	add(&plan.indexFiles, s.indexFiles)
	add(&plan.indexManifests, s.indexManifests)
	add(&plan.statistics, s.statistics)
}

// withoutChangelog is s without its changelog manifest list: the snapshot as the files
// an expiry, a tag deletion or a rollback must keep for it see it. Those keep a
// snapshot's data and index files and their manifests, never its changelog
// (FileDeletionBase.manifestSkippingSet), which Paimon's expiry deletes even for tagged
// snapshots: a tag may name a changelog manifest list that is gone.
func withoutChangelog(s *format.Snapshot) *format.Snapshot {
	c := *s
	c.ChangelogManifestList, c.ChangelogManifestListSize = nil, nil
	return &c
}

// snapshotMeta lists the metadata files of a snapshot: its manifest lists (base, delta,
// changelog) and their manifests, its index manifest and index files, its statistics
// file. With tolerant set, files already missing are left out (they may have been deleted
// by an earlier, interrupted run); otherwise a missing file is an error.
func (t *Table) snapshotMeta(ctx context.Context, s *format.Snapshot, r *resolver, tolerant bool) (*snapshotRefs, error) {
	refs := &snapshotRefs{}
	lists := []struct {
		name string
		size *int64
	}{{s.BaseManifestList, s.BaseManifestListSize}, {s.DeltaManifestList, s.DeltaManifestListSize}}
	if s.ChangelogManifestList != nil {
		lists = append(lists, struct {
			name string
			size *int64
		}{*s.ChangelogManifestList, s.ChangelogManifestListSize})
	}
	for _, l := range lists {
		if l.name == "" {
			continue
		}
		metas, err := t.ReadManifestList(ctx, l.name)
		if err != nil && !(tolerant && errors.Is(err, fileio.ErrNotExist)) {
			return nil, err
		}
		for _, m := range metas {
			refs.manifests = append(refs.manifests, metaRef{m.FileName, fileRef{t.Join(format.ManifestPath(m.FileName)), m.FileSize}})
		}
		size := int64(-1)
		if l.size != nil {
			size = *l.size
		}
		refs.manifests = append(refs.manifests, metaRef{l.name, fileRef{t.Join(format.ManifestPath(l.name)), size}})
	}
	if s.IndexManifest != nil && *s.IndexManifest != "" {
		entries, err := t.ReadIndexManifest(ctx, *s.IndexManifest)
		if err != nil && !(tolerant && errors.Is(err, fileio.ErrNotExist)) {
			return nil, err
		}
		for i := range entries {
			e := &entries[i]
			p, err := r.indexFile(ctx, s.SchemaID, e)
			if err != nil {
				return nil, err
			}
			refs.indexFiles = append(refs.indexFiles, metaRef{e.IndexFile.FileName, fileRef{p, e.IndexFile.FileSize}})
		}
		refs.indexManifests = append(refs.indexManifests, metaRef{*s.IndexManifest, fileRef{t.Join(format.ManifestPath(*s.IndexManifest)), -1}})
	}
	if s.Statistics != nil && *s.Statistics != "" {
		refs.statistics = append(refs.statistics, metaRef{*s.Statistics, fileRef{t.Join(format.StatisticsDir, *s.Statistics), -1}})
	}
	return refs, nil
}

// readManifestListEntries reads every entry of the manifests a manifest list names.
func (t *Table) readManifestListEntries(ctx context.Context, list string) ([]manifest.ManifestEntry, error) {
	metas, err := t.ReadManifestList(ctx, list)
	if err != nil {
		return nil, err
	}
	results := make([][]manifest.ManifestEntry, len(metas))
	errs := make([]error, len(metas))
	parallel(len(metas), 8, func(i int) {
		results[i], errs[i] = t.ReadManifest(ctx, metas[i].FileName)
	})
	var out []manifest.ManifestEntry
	for i := range metas {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// addLiveDataKeys adds the live data files of a snapshot (or tag) to keys.
func (t *Table) addLiveDataKeys(ctx context.Context, s *format.Snapshot, keys map[dataKey]bool) error {
	schema, err := t.Schema(ctx, s.SchemaID)
	if err != nil {
		if schema, err = t.LatestSchema(ctx); err != nil {
			return err
		}
	}
	entries, err := t.liveEntries(ctx, s, schema, ScanOptions{})
	if err != nil {
		return err
	}
	for i := range entries {
		keys[keyOf(&entries[i])] = true
	}
	return nil
}

// refSet are files that something other than the main branch's snapshots and tags
// references: metadata file names and data files.
type refSet struct {
	meta map[string]bool
	data map[dataKey]bool
}

// foreignRefs collects what the table's branches (their snapshots, tags and changelogs)
// and, with mainChangelogs, the main branch's long-lived changelogs (changelog/changelog-N,
// written by a decoupled changelog expiry) reference: every manifest list, manifest,
// index and statistics file, and every data and changelog file any of their manifests
// adds.
func (t *Table) foreignRefs(ctx context.Context, mainChangelogs bool) (*refSet, error) {
	rs := &refSet{meta: map[string]bool{}, data: map[dataKey]bool{}}
	var snaps []*format.Snapshot
	if mainChangelogs {
		changelogs, err := t.snapshotsIn(ctx, t.Join(format.ChangelogDir), format.ChangelogPrefix)
		if err != nil {
			return nil, err
		}
		snaps = append(snaps, changelogs...)
	}
	branches, err := t.branchRoots(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range branches {
		for _, d := range []struct{ dir, prefix string }{
			{format.SnapshotDir, format.SnapshotPrefix}, {format.TagDir, format.TagPrefix}, {format.ChangelogDir, format.ChangelogPrefix},
		} {
			s, err := t.snapshotsIn(ctx, fileio.Join(b, d.dir), d.prefix)
			if err != nil {
				return nil, err
			}
			snaps = append(snaps, s...)
		}
	}
	if len(snaps) == 0 {
		return rs, nil
	}
	r := newResolver(t)
	manifests := map[string]bool{}
	for _, s := range snaps {
		refs, err := t.snapshotMeta(ctx, s, r, true)
		if err != nil {
			return nil, err
		}
		for _, m := range refs.all() {
			rs.meta[m.name] = true
		}
		for _, m := range refs.manifests {
			if !strings.HasPrefix(m.name, format.ManifestListPrefix) {
				manifests[m.name] = true
			}
		}
	}
	for name := range manifests {
		entries, err := t.ReadManifest(ctx, name)
		if errors.Is(err, fileio.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for i := range entries {
			if entries[i].Kind == manifest.FileKindAdd {
				rs.data[keyOf(&entries[i])] = true
			}
		}
	}
	return rs, nil
}

// branchRoots lists the directories of the table's branches (branch/branch-<name>).
func (t *Table) branchRoots(ctx context.Context) ([]string, error) {
	entries, err := t.fio.List(ctx, t.Join(format.BranchDir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir && strings.HasPrefix(e.Name(), format.BranchPrefix) {
			out = append(out, e.Path)
		}
	}
	return out, nil
}

// snapshotsIn reads every <prefix>N (or, for tags, <prefix>NAME) file of dir as a snapshot;
// files deleted while listing are skipped.
func (t *Table) snapshotsIn(ctx context.Context, dir, prefix string) ([]*format.Snapshot, error) {
	entries, err := t.fio.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []*format.Snapshot
	for _, e := range entries {
		if e.IsDir || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if prefix != format.TagPrefix {
			if _, ok := format.ParseIDSuffix(e.Name(), prefix); !ok {
				continue
			}
		}
		data, err := t.fio.ReadFile(ctx, e.Path)
		if errors.Is(err, fileio.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s, err := format.ParseSnapshot(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// resolver computes the locations of data and index files.
type resolver struct {
	t    *Table
	mu   sync.Mutex
	dirs map[resolverKey]string
	opts *CoreOptions // the latest schema's, read once: index-file-in-data-file-dir
}

type resolverKey struct {
	schemaID  int64
	partition string
	bucket    int32
}

func newResolver(t *Table) *resolver { return &resolver{t: t, dirs: map[resolverKey]string{}} }

// bucketDir is the directory of a partition's bucket, named as the schema (that of the
// snapshot referencing the file, else the latest) names partitions.
func (r *resolver) bucketDir(ctx context.Context, schemaID int64, partition []byte, bucket int32) (string, error) {
	k := resolverKey{schemaID, string(partition), bucket}
	r.mu.Lock()
	d, ok := r.dirs[k]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	schema, err := r.t.Schema(ctx, schemaID)
	if errors.Is(err, ErrNotFound) {
		schema, err = r.t.LatestSchema(ctx)
	}
	if err != nil {
		return "", err
	}
	if d, err = r.t.bucketDirOf(schema, ParseCoreOptions(schema.Options), partition, int(bucket)); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.dirs[k] = d
	r.mu.Unlock()
	return d, nil
}

// dataFile is the location of a manifest entry's data file and of its extra files.
func (r *resolver) dataFile(ctx context.Context, schemaID int64, e *manifest.ManifestEntry) (string, []string, error) {
	var dir, p string
	if e.File.ExternalPath != nil && *e.File.ExternalPath != "" {
		p = *e.File.ExternalPath
		dir = parentDir(p)
	} else {
		var err error
		if dir, err = r.bucketDir(ctx, schemaID, e.Partition, e.Bucket); err != nil {
			return "", nil, fmt.Errorf("location of %s: %w", e.File.FileName, err)
		}
		p = fileio.Join(dir, e.File.FileName)
	}
	var extras []string
	for _, x := range e.File.ExtraFiles {
		extras = append(extras, fileio.Join(dir, x))
	}
	return p, extras, nil
}

// indexFile is the location of an index file (Table.indexFilePath).
func (r *resolver) indexFile(ctx context.Context, schemaID int64, e *manifest.IndexManifestEntry) (string, error) {
	r.mu.Lock()
	opts := r.opts
	r.mu.Unlock()
	if opts == nil {
		schema, err := r.t.LatestSchema(ctx)
		if err != nil {
			return "", err
		}
		o := ParseCoreOptions(schema.Options)
		opts = &o
		r.mu.Lock()
		r.opts = opts
		r.mu.Unlock()
	}
	dir := ""
	if opts.IndexInDataDir {
		var err error
		if dir, err = r.bucketDir(ctx, schemaID, e.Partition, e.Bucket); err != nil {
			return "", err
		}
	}
	return r.t.indexFilePath(*opts, dir, &e.IndexFile), nil
}

func parentDir(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return p
}

// deleter deletes files in parallel, once each, and records what it deleted.
type deleter struct {
	t      *Table
	dryRun bool
	mu     sync.Mutex
	seen   map[string]bool
	done   Deleted
}

func newDeleter(t *Table, dryRun bool) *deleter {
	return &deleter{t: t, dryRun: dryRun, seen: map[string]bool{}}
}

// deleteOne deletes one file if it exists. size is used when known (>= 0), else the
// file is looked up.
func (d *deleter) deleteOne(ctx context.Context, p string, size int64) error {
	d.mu.Lock()
	if d.seen[p] {
		d.mu.Unlock()
		return nil
	}
	d.seen[p] = true
	d.mu.Unlock()
	st, err := d.t.fio.Stat(ctx, p)
	if errors.Is(err, fileio.ErrNotExist) {
		return nil // already gone: an earlier, interrupted run
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	if size < 0 || st.Size != size {
		size = st.Size
	}
	if !d.dryRun {
		if err := d.t.fio.Delete(ctx, p); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	d.mu.Lock()
	d.done.Paths = append(d.done.Paths, p)
	d.done.Bytes += size
	d.mu.Unlock()
	return nil
}

// runPhases deletes the files of each phase in parallel, phase after phase. A failed
// deletion does not stop the others (the file stays, an orphan); the errors are returned.
func (d *deleter) runPhases(ctx context.Context, phases [][]fileRef) error {
	var errs []error
	for _, files := range phases {
		perr := make([]error, len(files))
		parallel(len(files), 16, func(i int) {
			perr[i] = d.deleteOne(ctx, files[i].path, files[i].size)
		})
		for _, err := range perr {
			if err != nil {
				errs = append(errs, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more deletions failed", len(errs)-5))
	}
	return errors.Join(errs...)
}

// cleanEmptyDirs tries to remove bucket directories and then their partition directories
// that have become empty (only the local filesystem has directories to remove).
func (d *deleter) cleanEmptyDirs(ctx context.Context, dirs []string) {
	seen := map[string]bool{}
	root := strings.TrimRight(d.t.path, "/")
	for len(dirs) > 0 {
		var parents []string
		for _, dir := range dirs {
			if seen[dir] || dir == root || !strings.HasPrefix(dir, root+"/") {
				continue
			}
			seen[dir] = true
			if entries, err := d.t.fio.List(ctx, dir); err != nil || len(entries) > 0 {
				continue
			}
			if err := d.t.fio.Delete(ctx, dir); err == nil {
				parents = append(parents, parentDir(dir))
			}
		}
		dirs = parents
	}
}

// parallel runs f(0..n-1) on up to workers goroutines.
func parallel(n, workers int, f func(i int)) {
	if n == 0 {
		return
	}
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ParseDuration parses a duration as Paimon's TimeUtils.parseDuration does: a whole
// number and a unit ("d"/"day", "h"/"hour", "min"/"m"/"minute", "s"/"sec"/"second",
// "ms"/"milli"/"millisecond", "µs"/"micro"/"microsecond", "ns"/"nano"/"nanosecond", plurals
// too), milliseconds without a unit. Go's forms ("1h30m") are accepted as well.
func ParseDuration(s string) (time.Duration, error) {
	trimmed := strings.TrimSpace(s)
	i := 0
	for i < len(trimmed) && trimmed[i] >= '0' && trimmed[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("duration %q does not start with a number", s)
	}
	n, err := strconv.ParseInt(trimmed[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	unit := strings.ToLower(strings.TrimSpace(trimmed[i:]))
	var mult time.Duration
	switch unit {
	case "", "ms", "milli", "millis", "millisecond", "milliseconds":
		mult = time.Millisecond
	case "d", "day", "days":
		mult = 24 * time.Hour
	case "h", "hour", "hours":
		mult = time.Hour
	case "min", "m", "minute", "minutes":
		mult = time.Minute
	case "s", "sec", "secs", "second", "seconds":
		mult = time.Second
	case "µs", "us", "micro", "micros", "microsecond", "microseconds":
		mult = time.Microsecond
	case "ns", "nano", "nanos", "nanosecond", "nanoseconds":
		mult = time.Nanosecond
	default:
		if d, err := time.ParseDuration(trimmed); err == nil {
			return d, nil
		}
		return 0, fmt.Errorf("duration %q: unknown unit %q (use d, h, min, s, ms, µs or ns)", s, unit)
	}
	if n > int64(math.MaxInt64/mult) {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(n) * mult, nil
}

package table

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// expireChangelogs expires long-lived changelogs (changelog/changelog-N) as Paimon's
// ExpireChangelogImpl does with a decoupled changelog lifecycle: it keeps at least
// changelog.num-retained.min changes (counted back from the latest snapshot), at most
// changelog.num-retained.max, every changelog younger than changelog.time-retained, what
// a registered consumer has not read and always the newest long-lived changelog; at most
// snapshot.expire.limit per run.
//
// An expired changelog's files go as ChangelogDeletion deletes them: its changelog files
// (every file its changelog manifests add), or without a changelog producer the data
// files its delta deleted (the input files snapshot expiry kept for it), unless the tag
// before it holds them; then its manifest lists and manifests that neither the changelog
// kept next, the earliest snapshot nor a tag in the range use. Like snapshot expiry it
// deletes the changelog files first, oldest first, and their data after.
func (t *Table) expireChangelogs(ctx context.Context, cfg expireConfig, consumers []Consumer, now time.Time, dryRun bool, res *ExpireResult) error {
	latest, ok, err := t.LatestSnapshotID(ctx)
	if err != nil || !ok {
		return err
	}
	earliestSnap, ok, err := t.earliestSnapshotStrict(ctx)
	if err != nil || !ok {
		return err
	}
	byID, earliest, newest, err := t.longLivedChangelogs(ctx)
	if err != nil || len(byID) == 0 {
		return err
	}

	minID := max(latest-int64(cfg.clRetainMax)+1, earliest)
	end := latest - int64(cfg.clRetainMin) + 1
	if next, ok := minNextSnapshot(consumers); ok {
		end = min(end, next)
	}
	// Never past the earliest snapshot: an expiry interrupted after writing changelogs
	// leaves changelogs of snapshots that still exist, and their files are the snapshots'.
	end = min(end, earliest+int64(cfg.limit), newest, earliestSnap)
	olderThan := now.Add(-cfg.clTimeRetained).UnixMilli()
	for id := minID; id <= end; id++ {
		if c := byID[id]; c != nil && olderThan <= c.TimeMillis {
			end = id
			break
		}
	}
	if end < earliest || byID[end] == nil {
		return nil
	}
	if end > earliest && !dryRun {
		if end, err = t.announceChangelogExpiry(ctx, earliest, end); err != nil || byID[end] == nil {
			return err
		}
	}

	plan, err := t.planChangelogExpiry(ctx, byID, earliest, end, earliestSnap, cfg.produceChangelog)
	if err != nil {
		return fmt.Errorf("expire changelogs of %s: %w", t.path, err)
	}
	d := newDeleter(t, dryRun)
	if err := d.deleteChangelogs(ctx, byID, earliest, end, res); err != nil {
		return err
	}
	err = d.runPhases(ctx, plan.phases())
	if cfg.cleanEmptyDirs && !dryRun {
		d.cleanEmptyDirs(ctx, plan.bucketDirs)
	}
	res.Deleted.add(d.done)
	if err == nil && end == earliest && !dryRun {
		if h, ok := t.readHintIn(ctx, format.ChangelogDir, format.EarliestHint); !ok || h != end {
			err = t.writeChangelogHint(ctx, format.EarliestHint, end)
		}
	}
	return err
}

// deleteChangelogs deletes the long-lived changelog files earliest..end-1, oldest first.
func (d *deleter) deleteChangelogs(ctx context.Context, byID map[int64]*format.Snapshot, earliest, end int64, res *ExpireResult) error {
	for id := earliest; id < end; id++ {
		if byID[id] == nil {
			continue
		}
		if err := d.deleteOne(ctx, d.t.Join(format.ChangelogPath(id)), -1); err != nil {
			res.Deleted.add(d.done)
			return err
		}
		res.ExpiredChangelogs = append(res.ExpiredChangelogs, id)
	}
	return nil
}

// longLivedChangelogs reads the long-lived changelogs of the table, by id, and their
// smallest and largest ids.
func (t *Table) longLivedChangelogs(ctx context.Context) (map[int64]*format.Snapshot, int64, int64, error) {
	changelogs, err := t.snapshotsIn(ctx, t.Join(format.ChangelogDir), format.ChangelogPrefix)
	if err != nil || len(changelogs) == 0 {
		return nil, 0, 0, err
	}
	byID := map[int64]*format.Snapshot{}
	ids := make([]int64, 0, len(changelogs))
	for _, c := range changelogs {
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	return byID, slices.Min(ids), slices.Max(ids), nil
}

// announceChangelogExpiry writes the intent to expire the long-lived changelogs before
// end (the changelog EARLIEST hint), then looks at the consumers a last time, as snapshot
// expiry does: a consumer registering an older changelog from now on sees the intent and
// refuses, and one registered before holds its changelog back. It returns the end left.
func (t *Table) announceChangelogExpiry(ctx context.Context, earliest, end int64) (int64, error) {
	if err := t.writeChangelogHint(ctx, format.EarliestHint, end); err != nil {
		return end, err
	}
	consumers, err := t.Consumers(ctx)
	if err != nil {
		return end, err
	}
	if next, ok := minNextSnapshot(consumers); ok && next < end {
		end = max(next, earliest)
		if err := t.writeChangelogHint(ctx, format.EarliestHint, end); err != nil {
			return end, err
		}
	}
	return end, nil
}

// retireChangelogs deletes the long-lived changelogs a table keeps although its changelog
// retention no longer exceeds its snapshots' (the options changed since an expiry kept
// them): all those before the earliest snapshot that no consumer still reads, at most
// snapshot.expire.limit per run. Paimon's expiry leaves such changelogs for ever while
// it deletes files they name; Tarn's snapshot expiry kept every file they name, and
// here deletes those that nothing else (snapshots, tags, the changelogs left, branches)
// uses, as orphan-file cleaning decides it.
func (t *Table) retireChangelogs(ctx context.Context, cfg expireConfig, consumers []Consumer, dryRun bool, res *ExpireResult) error {
	byID, earliest, newest, err := t.longLivedChangelogs(ctx)
	if err != nil || len(byID) == 0 {
		return err
	}
	earliestSnap, ok, err := t.earliestSnapshotStrict(ctx)
	if err != nil || !ok {
		return err
	}
	end := min(newest+1, earliestSnap, earliest+int64(cfg.limit))
	if next, ok := minNextSnapshot(consumers); ok {
		end = min(end, next)
	}
	if end <= earliest {
		return nil
	}
	if !dryRun {
		if end, err = t.announceChangelogExpiry(ctx, earliest, end); err != nil || end <= earliest {
			return err
		}
	}
	// Candidates: every file the retired changelogs name.
	r := newResolver(t)
	candidates := map[string][]fileRef{}
	add := func(name string, ref fileRef) {
		if !slices.Contains(candidates[name], ref) {
			candidates[name] = append(candidates[name], ref)
		}
	}
	for id := earliest; id < end; id++ {
		c := byID[id]
		if c == nil {
			continue
		}
		refs, err := t.snapshotMeta(ctx, c, r, true)
		if err != nil {
			return fmt.Errorf("retire changelog %d of %s: %w", id, t.path, err)
		}
		for _, m := range refs.all() {
			add(m.name, m.ref)
		}
		lists := []string{c.BaseManifestList, c.DeltaManifestList}
		if c.ChangelogManifestList != nil {
			lists = append(lists, *c.ChangelogManifestList)
		}
		for _, list := range lists {
			entries, err := t.readManifestListEntries(ctx, list)
			if errors.Is(err, fileio.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("retire changelog %d of %s: %w", id, t.path, err)
			}
			for i := range entries {
				e := &entries[i]
				if e.Kind != manifest.FileKindAdd {
					continue
				}
				p, extras, err := r.dataFile(ctx, c.SchemaID, e)
				if err != nil {
					return err
				}
				add(e.File.FileName, fileRef{p, e.File.FileSize})
				for _, x := range extras {
					add(path.Base(x), fileRef{x, -1})
				}
			}
		}
	}
	d := newDeleter(t, dryRun)
	if err := d.deleteChangelogs(ctx, byID, earliest, end, res); err != nil {
		return err
	}
	// What is used is read after the changelog files are gone.
	branches, err := t.branchRoots(ctx)
	if err != nil {
		res.Deleted.add(d.done)
		return err
	}
	used, err := t.usedFiles(ctx, append([]string{t.path}, branches...), candidates)
	if err != nil {
		res.Deleted.add(d.done)
		return fmt.Errorf("retire changelogs of %s: changelogs %d..%d deleted, their files kept: %w", t.path, earliest, end-1, err)
	}
	var unused, direct []fileRef
	var dirs []string
	for name, refs := range candidates {
		if !used[name] {
			unused = append(unused, refs...)
			for _, ref := range refs {
				dirs = append(dirs, parentDir(ref.path))
			}
		}
	}
	if end > newest {
		// None is left: their hints go too (Paimon's ExpireChangelogImpl.expireAll).
		for _, h := range []string{format.EarliestHint, format.LatestHint} {
			if ok, _ := fileio.Exists(ctx, t.fio, t.Join(format.ChangelogDir, h)); ok {
				direct = append(direct, fileRef{t.Join(format.ChangelogDir, h), -1})
			}
		}
	}
	err = d.runPhases(ctx, [][]fileRef{unused, direct})
	if cfg.cleanEmptyDirs && !dryRun {
		d.cleanEmptyDirs(ctx, dirs)
	}
	res.Deleted.add(d.done)
	return err
}

// planChangelogExpiry lists the files of the long-lived changelogs earliest..end-1 that
// nothing kept needs (see expireChangelogs).
func (t *Table) planChangelogExpiry(ctx context.Context, byID map[int64]*format.Snapshot, earliest, end, earliestSnap int64, produceChangelog bool) (*expiryPlan, error) {
	tags, err := t.taggedSnapshots(ctx, t.path)
	if err != nil {
		return nil, err
	}
	foreign, err := t.foreignRefs(ctx, false)
	if err != nil {
		return nil, err
	}
	first, err := t.Snapshot(ctx, earliestSnap)
	if err != nil {
		return nil, err
	}
	r := newResolver(t)
	plan := &expiryPlan{}

	// Metadata the changelog kept next, the earliest snapshot and the tags overlapping
	// the range use (ChangelogDeletion.manifestSkippingSet: their base and delta lists,
	// index and statistics files, whichever still exist).
	skip, err := t.skippingSet(ctx, r, foreign, append([]*format.Snapshot{byID[end], first}, tagSnaps(skippingTags(tags, earliest, end))...), true)
	if err != nil {
		return nil, err
	}

	tagKeep := map[int64]map[dataKey]bool{}
	for id := earliest; id < end; id++ {
		c := byID[id]
		if c == nil {
			continue
		}
		// Its changelog files: every file its changelog manifests add.
		if err := plan.addChangelogFiles(ctx, t, r, c, foreign); err != nil {
			return nil, err
		}
		view := &format.Snapshot{ID: c.ID, SchemaID: c.SchemaID, ChangelogManifestList: c.ChangelogManifestList, ChangelogManifestListSize: c.ChangelogManifestListSize}
		// Without a changelog list, or without a changelog producer (whose snapshot expiry
		// kept the input files and the base and delta lists for the changelog, even when
		// the snapshot also had changelog files: Paimon's ChangelogDeletion then leaves
		// them behind), the input files its delta deleted, unless the tag before it holds
		// them, and its delta and base lists.
		if c.ChangelogManifestList == nil || !produceChangelog {
			entries, err := t.readManifestListEntries(ctx, c.DeltaManifestList)
			if err != nil && !errors.Is(err, fileio.ErrNotExist) {
				return nil, err
			}
			var keep map[dataKey]bool
			if tag := previousTag(tags, id); tag != nil {
				if keep = tagKeep[tag.snap.ID]; keep == nil {
					keep = map[dataKey]bool{}
					if err := t.addLiveDataKeys(ctx, tag.snap, keep); err != nil {
						return nil, fmt.Errorf("files of the tag on snapshot %d: %w", tag.snap.ID, err)
					}
					tagKeep[tag.snap.ID] = keep
				}
			}
			added := addedKeys(entries)
			for i := range entries {
				e := &entries[i]
				if k := keyOf(e); e.Kind == manifest.FileKindDelete && !added[k] && !keep[k] && !foreign.data[k] {
					if err := plan.addFile(ctx, r, &plan.data, c.SchemaID, e); err != nil {
						return nil, err
					}
				}
			}
			view.BaseManifestList, view.BaseManifestListSize = c.BaseManifestList, c.BaseManifestListSize
			view.DeltaManifestList, view.DeltaManifestListSize = c.DeltaManifestList, c.DeltaManifestListSize
		}
		// Its manifest lists and their manifests (index and statistics files went with
		// the snapshot).
		refs, err := t.snapshotMeta(ctx, view, r, true)
		if err != nil {
			return nil, fmt.Errorf("files of changelog %d: %w", id, err)
		}
		refs.collect(skip, plan)
	}
	return plan, nil
}

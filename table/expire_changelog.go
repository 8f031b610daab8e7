package table

import (
	"context"
	"errors"
	"fmt"
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
	changelogs, err := t.snapshotsIn(ctx, t.Join(format.ChangelogDir), format.ChangelogPrefix)
	if err != nil || len(changelogs) == 0 {
		return err
	}
	byID := map[int64]*format.Snapshot{}
	var ids []int64
	for _, c := range changelogs {
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	earliest, newest := ids[0], ids[len(ids)-1]

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
		// The intent, before the last look at the consumers, as for snapshots: a consumer
		// registering an older changelog from now on sees it and refuses.
		if err := t.writeChangelogHint(ctx, format.EarliestHint, end); err != nil {
			return err
		}
		consumers, err := t.Consumers(ctx)
		if err != nil {
			return err
		}
		if next, ok := minNextSnapshot(consumers); ok && next < end {
			end = max(next, earliest)
			if err := t.writeChangelogHint(ctx, format.EarliestHint, end); err != nil {
				return err
			}
			if byID[end] == nil {
				return nil
			}
		}
	}

	plan, err := t.planChangelogExpiry(ctx, byID, earliest, end, earliestSnap)
	if err != nil {
		return fmt.Errorf("expire changelogs of %s: %w", t.path, err)
	}
	d := newDeleter(t, dryRun)
	for id := earliest; id < end; id++ {
		if byID[id] == nil {
			continue
		}
		if err := d.deleteOne(ctx, t.Join(format.ChangelogPath(id)), -1); err != nil {
			res.Deleted.add(d.done)
			return err
		}
		res.ExpiredChangelogs = append(res.ExpiredChangelogs, id)
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

// planChangelogExpiry lists the files of the long-lived changelogs earliest..end-1 that
// nothing kept needs.
func (t *Table) planChangelogExpiry(ctx context.Context, byID map[int64]*format.Snapshot, earliest, end, earliestSnap int64) (*expiryPlan, error) {
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
	skip := map[string]bool{}
	for n := range foreign.meta {
		skip[n] = true
	}
	skipping := []*format.Snapshot{byID[end], first}
	for _, tag := range skippingTags(tags, earliest, end) {
		skipping = append(skipping, tag.snap)
	}
	for _, s := range skipping {
		refs, err := t.snapshotMeta(ctx, withoutChangelog(s), r, true)
		if err != nil {
			return nil, fmt.Errorf("files of snapshot %d: %w", s.ID, err)
		}
		for _, m := range refs.all() {
			skip[m.name] = true
		}
	}

	tagKeep := map[int64]map[dataKey]bool{}
	for id := earliest; id < end; id++ {
		c := byID[id]
		if c == nil {
			continue
		}
		// Data: the changelog files, or the input files the delta deleted.
		list, changelogFiles := c.DeltaManifestList, c.ChangelogManifestList != nil
		if changelogFiles {
			list = *c.ChangelogManifestList
		}
		entries, err := t.readManifestListEntries(ctx, list)
		if err != nil && !errors.Is(err, fileio.ErrNotExist) {
			return nil, err
		}
		var keep map[dataKey]bool
		if tag := previousTag(tags, id); tag != nil && !changelogFiles {
			if keep = tagKeep[tag.snap.ID]; keep == nil {
				keep = map[dataKey]bool{}
				if err := t.addLiveDataKeys(ctx, tag.snap, keep); err != nil {
					return nil, fmt.Errorf("files of the tag on snapshot %d: %w", tag.snap.ID, err)
				}
				tagKeep[tag.snap.ID] = keep
			}
		}
		added := map[dataKey]bool{}
		for i := range entries {
			if entries[i].Kind == manifest.FileKindAdd {
				added[keyOf(&entries[i])] = true
			}
		}
		dst := &plan.data
		if changelogFiles {
			dst = &plan.changelog
		}
		for i := range entries {
			e := &entries[i]
			k := keyOf(e)
			if changelogFiles != (e.Kind == manifest.FileKindAdd) || (!changelogFiles && added[k]) || keep[k] || foreign.data[k] {
				continue
			}
			p, extras, err := r.dataFile(ctx, c.SchemaID, e)
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, fileRef{p, e.File.FileSize})
			for _, x := range extras {
				*dst = append(*dst, fileRef{x, -1})
			}
			plan.bucketDirs = append(plan.bucketDirs, parentDir(p))
		}

		// Metadata: the changelog manifest list, or the delta and base lists, with their
		// manifests (index and statistics files went with the snapshot).
		view := &format.Snapshot{ID: c.ID, SchemaID: c.SchemaID}
		if changelogFiles {
			view.DeltaManifestList, view.DeltaManifestListSize = list, c.ChangelogManifestListSize
		} else {
			view.BaseManifestList, view.BaseManifestListSize = c.BaseManifestList, c.BaseManifestListSize
			view.DeltaManifestList, view.DeltaManifestListSize = c.DeltaManifestList, c.DeltaManifestListSize
		}
		refs, err := t.snapshotMeta(ctx, view, r, true)
		if err != nil {
			return nil, fmt.Errorf("files of changelog %d: %w", id, err)
		}
		refs.collect(skip, plan)
	}
	return plan, nil
}

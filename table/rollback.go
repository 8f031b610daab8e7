package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// RollbackResult tells what a rollback did.
type RollbackResult struct {
	// Target is the snapshot the table now ends at.
	Target int64
	// DeletedSnapshots lists the deleted snapshots, newest first.
	DeletedSnapshots []int64
	// DeletedTags lists the tags of deleted snapshots (tags newer than the target).
	DeletedTags []string
	// DeletedChangelogs lists the long-lived changelogs (changelog/changelog-N) newer than
	// the target that were deleted, newest first: after a rollback to a tag older than
	// the earliest snapshot, they describe changes that no longer happened.
	DeletedChangelogs []int64
	// Recreated is set when the target snapshot had expired and was written again from
	// the tag.
	Recreated bool
	// Deleted are the files deleted: snapshot and tag files, and the data, changelog,
	// manifest and index files only the deleted snapshots referenced.
	Deleted Deleted
}

// RollbackTo makes snapshot snapshotID the table's latest, as Paimon's rollback_to: the
// newer snapshots are deleted, newest first, with the tags on them and the files only
// they referenced, and the LATEST hint is updated. (Paimon since 1.2 deletes only the
// snapshot and tag files and leaves the rest to orphan-file cleaning; Tarn deletes
// exactly those orphans at once, as Paimon before 1.2 did: compat's TestExpireAsPaimon
// checks that both end with the same files.) A snapshot id that only a tag still holds
// rolls back to that tag. Rollback must not run while other processes commit.
func (t *Table) RollbackTo(ctx context.Context, snapshotID int64) (*RollbackResult, error) {
	s, err := t.Snapshot(ctx, snapshotID)
	if errors.Is(err, ErrNotFound) {
		tags, terr := t.taggedSnapshots(ctx, t.path)
		if terr != nil {
			return nil, terr
		}
		for _, tag := range tags {
			if tag.snap.ID == snapshotID {
				return t.rollback(ctx, trimTag(tag.snap))
			}
		}
		return nil, fmt.Errorf("rollback %s: snapshot %d neither exists nor is tagged: %w", t.path, snapshotID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return t.rollback(ctx, s)
}

// RollbackToTag rolls back to a tag's snapshot (see RollbackTo); when that snapshot has
// expired, its file is written again from the tag and the EARLIEST hint points at it.
func (t *Table) RollbackToTag(ctx context.Context, name string) (*RollbackResult, error) {
	if err := checkTagName(name); err != nil {
		return nil, err
	}
	tag, err := t.Tag(ctx, name)
	if err != nil {
		return nil, err
	}
	return t.rollback(ctx, trimTag(tag))
}

func (t *Table) rollback(ctx context.Context, target *format.Snapshot) (*RollbackResult, error) {
	res := &RollbackResult{Target: target.ID}
	autoTagProgress.Lock()
	delete(autoTagProgress.m, t.progressKey())
	autoTagProgress.Unlock()
	latest, hasLatest, err := t.LatestSnapshotID(ctx)
	if err != nil {
		return nil, err
	}
	var doomed []sizedSnapshot
	if hasLatest && latest > target.ID {
		earliest, _, err := t.earliestSnapshotStrict(ctx)
		if err != nil {
			return nil, err
		}
		if doomed, err = t.readSnapshotRange(ctx, max(earliest, target.ID+1), latest); err != nil {
			return nil, err
		}
	}
	d := newDeleter(t, false)
	fail := func(err error) (*RollbackResult, error) {
		res.Deleted.add(d.done)
		return res, fmt.Errorf("rollback %s to snapshot %d: %w", t.path, target.ID, err)
	}
	if err := t.fio.WriteFile(ctx, t.Join(format.SnapshotDir, format.LatestHint), []byte(strconv.FormatInt(target.ID, 10))); err != nil {
		return fail(err)
	}
	for i := len(doomed) - 1; i >= 0; i-- {
		id := doomed[i].snap.ID
		if err := d.deleteOne(ctx, t.Join(format.SnapshotPath(id)), doomed[i].size); err != nil {
			return fail(err)
		}
		res.DeletedSnapshots = append(res.DeletedSnapshots, id)
	}
	// Long-lived changelogs after the target, newest first, as Paimon's
	// RollbackHelper.cleanLongLivedChangelogs (which also moves the changelog LATEST hint
	// below them, to -1 when none is left); they join the deleted snapshots, so their
	// files go too.
	changelogs, earliestCl, newestCl, err := t.longLivedChangelogs(ctx)
	if err != nil {
		return fail(err)
	}
	var gone []sizedSnapshot // the changelogs deleted, oldest first
	if len(changelogs) > 0 && newestCl > target.ID {
		from, latest := max(earliestCl, target.ID+1), target.ID
		if from == earliestCl {
			latest = -1
		}
		if err := t.writeChangelogHint(ctx, format.LatestHint, latest); err != nil {
			return fail(err)
		}
		for id := from; id <= newestCl; id++ {
			if c := changelogs[id]; c != nil {
				gone = append(gone, sizedSnapshot{snap: c, size: -1, longLived: true})
			}
		}
	}
	for i := len(gone) - 1; i >= 0; i-- {
		id := gone[i].snap.ID
		if err := d.deleteOne(ctx, t.Join(format.ChangelogPath(id)), -1); err != nil {
			return fail(err)
		}
		res.DeletedChangelogs = append(res.DeletedChangelogs, id)
	}
	tags, err := t.readTags(ctx, t.path)
	if err != nil {
		return fail(err)
	}
	var doomedTags []*format.Snapshot
	for i := len(tags) - 1; i >= 0 && tags[i].SnapshotID > target.ID; i-- {
		if err := d.deleteOne(ctx, t.Join(format.TagPath(tags[i].Name)), -1); err != nil {
			return fail(err)
		}
		res.DeletedTags = append(res.DeletedTags, tags[i].Name)
		doomedTags = append(doomedTags, trimTag(tags[i].Snapshot))
	}
	exists, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(target.ID)))
	if err != nil {
		return fail(err)
	}
	if !exists {
		// The expiry of a tagged snapshot deletes its changelog, which the tag still names:
		// the snapshot written again has none rather than a dangling one.
		if cl := target.ChangelogManifestList; cl != nil {
			ok, err := fileio.Exists(ctx, t.fio, t.Join(format.ManifestPath(*cl)))
			if err != nil {
				return fail(err)
			}
			if !ok {
				c := *target
				c.ChangelogManifestList, c.ChangelogManifestListSize, c.ChangelogRecordCount = nil, nil, nil
				target = &c
			}
		}
		if err := t.fio.CreateIfAbsent(ctx, t.Join(format.SnapshotPath(target.ID)), target.Marshal()); err != nil && !errors.Is(err, fileio.ErrExist) {
			return fail(err)
		}
		if err := t.writeEarliestHint(ctx, target.ID); err != nil {
			return fail(err)
		}
		res.Recreated = true
	}
	plan, err := t.planRollback(ctx, target, append(gone, doomed...), doomedTags)
	if err != nil {
		return fail(fmt.Errorf("snapshots deleted, their files kept: %w", err))
	}
	err = d.runPhases(ctx, plan.phases())
	res.Deleted.add(d.done)
	if err != nil {
		return res, fmt.Errorf("rollback %s to snapshot %d: %w", t.path, target.ID, err)
	}
	return res, nil
}

// planRollback lists the files only the deleted snapshots and tags referenced: data
// files added after the target (a file whose first appearance in the deleted snapshots'
// deltas is a deletion predates them and is kept; when the deleted snapshots do not follow
// the target directly, or a deleted tag's snapshot had expired, their live files, and
// the files their deltas deleted, are compared with the target's), their changelog
// files, and their manifests, manifest
// lists and index files that the target does not use. Branches and the long-lived
// changelogs kept keep theirs; doomed may begin with the long-lived changelogs deleted.
func (t *Table) planRollback(ctx context.Context, target *format.Snapshot, doomed []sizedSnapshot, doomedTags []*format.Snapshot) (*expiryPlan, error) {
	plan := &expiryPlan{}
	inDoomed := map[int64]bool{}
	for _, ds := range doomed {
		inDoomed[ds.snap.ID] = true
	}
	var orphanTags []*format.Snapshot
	for _, s := range doomedTags {
		if !inDoomed[s.ID] {
			orphanTags = append(orphanTags, s)
		}
	}
	if len(doomed) == 0 && len(orphanTags) == 0 {
		return plan, nil
	}
	foreign, err := t.foreignRefs(ctx, true)
	if err != nil {
		return nil, err
	}
	r := newResolver(t)
	seen := map[dataKey]bool{}
	addData := func(s *format.Snapshot, e *manifest.ManifestEntry) error {
		return plan.addFile(ctx, r, &plan.data, s.SchemaID, e)
	}
	// Whole states not reached from the target through deltas: compare live files. The
	// deleted tags on expired snapshots are such states, and so is a deleted snapshot when
	// the chain of deltas from the target is broken before it: it does not follow the
	// target, or the delta before it is gone (a long-lived changelog whose snapshot's
	// manifests expiry deleted, which cannot be compared whole either; the files only
	// such changelogs added are left to orphan-file cleaning).
	var keep map[dataKey]bool
	compareWhole := func(s *format.Snapshot) error {
		if keep == nil {
			keep = map[dataKey]bool{}
			if err := t.addLiveDataKeys(ctx, target, keep); err != nil {
				return fmt.Errorf("files of snapshot %d: %w", target.ID, err)
			}
			for k := range keep {
				seen[k] = true
			}
		}
		schema, err := t.Schema(ctx, s.SchemaID)
		if err != nil {
			if schema, err = t.LatestSchema(ctx); err != nil {
				return err
			}
		}
		live, err := t.liveEntries(ctx, s, schema, ScanOptions{})
		if err != nil {
			return err
		}
		for i := range live {
			e := &live[i]
			if k := keyOf(e); !seen[k] && !foreign.data[k] {
				seen[k] = true
				if err := addData(s, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, s := range orphanTags {
		if err := compareWhole(s); err != nil {
			return nil, fmt.Errorf("files of snapshot %d: %w", s.ID, err)
		}
	}
	chained := len(doomed) > 0 && doomed[0].snap.ID == target.ID+1
	for _, ds := range doomed {
		s := ds.snap
		wasWhole := false
		if !chained {
			err := compareWhole(s)
			if errors.Is(err, fileio.ErrNotExist) && ds.longLived {
				continue // a long-lived changelog without its snapshot's manifests
			}
			if err != nil {
				return nil, fmt.Errorf("files of snapshot %d: %w", s.ID, err)
			}
			chained, wasWhole = true, true
		}
		entries, err := t.readManifestListEntries(ctx, s.DeltaManifestList)
		if errors.Is(err, fileio.ErrNotExist) {
			chained = false
			continue
		}
		if err != nil {
			return nil, err
		}
		deleted := map[dataKey]bool{}
		for i := range entries {
			if entries[i].Kind == manifest.FileKindDelete {
				deleted[keyOf(&entries[i])] = true
			}
		}
		for i := range entries {
			e := &entries[i]
			k := keyOf(e)
			if seen[k] {
				continue
			}
			seen[k] = true
			switch {
			case foreign.data[k]:
				continue // a branch or a kept long-lived changelog holds it
			case wasWhole && !deleted[k]:
				continue // live in s: compared as a whole above
			case !wasWhole && deleted[k]:
				continue // predates the deleted snapshots
			}
			// An addition after the target, or (s compared whole) a file s deleted that
			// the target does not hold: snapshots expired since added it, and only s's
			// delta still names it.
			if err := addData(s, e); err != nil {
				return nil, err
			}
		}
	}
	// Changelog files of the deleted snapshots and tags (each has its own changelog list).
	states := append([]*format.Snapshot(nil), orphanTags...)
	for _, ds := range doomed {
		states = append(states, ds.snap)
	}
	for _, s := range states {
		if s.ChangelogManifestList == nil || foreign.meta[*s.ChangelogManifestList] || (target.ChangelogManifestList != nil && *target.ChangelogManifestList == *s.ChangelogManifestList) {
			continue
		}
		if err := plan.addChangelogFiles(ctx, t, r, s, foreign); err != nil {
			return nil, err
		}
	}
	skip, err := t.skippingSet(ctx, r, foreign, []*format.Snapshot{target}, false)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		refs, err := t.snapshotMeta(ctx, s, r, true)
		if err != nil {
			return nil, fmt.Errorf("files of snapshot %d: %w", s.ID, err)
		}
		refs.collect(skip, plan)
	}
	return plan, nil
}

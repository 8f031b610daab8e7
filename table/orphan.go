package table

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// DefaultOrphanAge is how old an unreferenced file must be before CleanOrphans deletes it
// (Paimon's OrphanFilesClean default): younger files may belong to a commit in flight.
const DefaultOrphanAge = 24 * time.Hour

// OrphanResult tells what CleanOrphans did.
type OrphanResult struct {
	Deleted Deleted
	DryRun  bool
}

// tarnTempMarker is part of the names of the temporary files fileio.Local writes next to
// their targets (hidden from FileIO.List).
const tarnTempMarker = ".tarn-tmp-"

// CleanOrphans deletes the files under the table that nothing references and that were
// last modified more than olderThan ago (DefaultOrphanAge when 0), as Paimon's
// OrphanFilesClean: data, changelog, index, manifest, manifest list and statistics files
// that no snapshot, tag or long-lived changelog of any branch references; files in
// snapshot/ and changelog/ that are not snapshots, changelogs or hints; and temporary
// files of interrupted writes. Files written by commits in flight are younger than the
// safety age and are kept. Data files at external paths are not looked at.
func (t *Table) CleanOrphans(ctx context.Context, olderThan time.Duration, dryRun bool) (*OrphanResult, error) {
	if olderThan <= 0 {
		olderThan = DefaultOrphanAge
	}
	cutoff := time.Now().Add(-olderThan)
	old := func(fi fileio.FileInfo) bool { return !fi.IsDir && fi.ModTime.Before(cutoff) }
	res := &OrphanResult{DryRun: dryRun}
	branches, err := t.branchRoots(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range branches {
		ids, err := t.listIDsIn(ctx, fileio.Join(b, format.SchemaDir), format.SchemaPrefix)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("clean orphans of %s: branch %s has no schema; check it by hand", t.path, b)
		}
	}
	roots := append([]string{t.path}, branches...)
	d := newDeleter(t, dryRun)
	var direct []fileRef

	// Snapshot and changelog directories: whatever is not a snapshot, changelog or hint.
	// Tag, consumer and schema directories: temporary files only.
	for _, root := range roots {
		for _, dir := range []struct{ name, keep string }{{format.SnapshotDir, format.SnapshotPrefix}, {format.ChangelogDir, format.ChangelogPrefix}} {
			files, err := t.listWithTemps(ctx, fileio.Join(root, dir.name))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				n := f.Name()
				if old(f) && !strings.HasPrefix(n, dir.keep) && n != format.EarliestHint && n != format.LatestHint {
					direct = append(direct, fileRef{f.Path, f.Size})
				}
			}
		}
		for _, dir := range []string{format.TagDir, format.ConsumerDir, format.SchemaDir} {
			files, err := t.listWithTemps(ctx, fileio.Join(root, dir))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				if old(f) && isTempName(f.Name()) {
					direct = append(direct, fileRef{f.Path, f.Size})
				}
			}
		}
	}

	// Candidates: old files of the manifest, index, statistics and bucket directories.
	dirs := []string{t.Join(format.ManifestDir), t.Join(format.IndexDir), t.Join(format.StatisticsDir)}
	schema, err := t.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	dataRoot := t.path
	if d := ParseCoreOptions(schema.Options).DataFileDir; d != "" {
		dataRoot = t.Join(d)
	}
	buckets, err := t.bucketDirs(ctx, dataRoot, len(schema.PartitionKeys))
	if err != nil {
		return nil, err
	}
	dirs = append(dirs, buckets...)
	candidates := map[string][]fileRef{}
	for _, dir := range dirs {
		files, err := t.listWithTemps(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if !old(f) {
				continue
			}
			if isTempName(f.Name()) {
				direct = append(direct, fileRef{f.Path, f.Size})
				continue
			}
			candidates[f.Name()] = append(candidates[f.Name()], fileRef{f.Path, f.Size})
		}
	}

	// Used files, read after the candidates were listed: snapshots, then tags, then
	// changelogs of each branch, so that a reference moved from one to the next meanwhile
	// is seen.
	used, err := t.usedFiles(ctx, roots, candidates)
	if err != nil {
		return nil, fmt.Errorf("clean orphans of %s: %w", t.path, err)
	}
	var orphans []fileRef
	var touched []string
	for name, refs := range candidates {
		if used[name] {
			continue
		}
		orphans = append(orphans, refs...)
		for _, r := range refs {
			touched = append(touched, parentDir(r.path))
		}
	}
	err = d.runPhases(ctx, [][]fileRef{direct, orphans})
	if !dryRun {
		d.cleanEmptyDirs(ctx, touched)
	}
	res.Deleted = d.done
	slog.Debug("cleaned orphan files", "table", t.path, "files", d.done.Files(), "bytes", d.done.Bytes, "dry-run", dryRun)
	return res, err
}

func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && (strings.Contains(name, tarnTempMarker) || strings.HasSuffix(name, ".tmp"))
}

func (t *Table) listIDsIn(ctx context.Context, dir, prefix string) ([]int64, error) {
	entries, err := t.fio.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := format.ParseIDSuffix(e.Name(), prefix); ok && !e.IsDir {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// listWithTemps lists a directory's files, including, on the local filesystem, the
// temporary files fileio.Local hides (left by interrupted writes).
func (t *Table) listWithTemps(ctx context.Context, dir string) ([]fileio.FileInfo, error) {
	entries, err := t.fio.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []fileio.FileInfo
	for _, e := range entries {
		if !e.IsDir {
			out = append(out, e)
		}
	}
	if _, ok := t.fio.(*fileio.Local); ok {
		out = append(out, hiddenLocalTemps(dir)...)
	}
	return out, nil
}

// hiddenLocalTemps lists fileio.Local's temporary files in a local directory.
func hiddenLocalTemps(dir string) []fileio.FileInfo {
	p := dir
	if rest, ok := strings.CutPrefix(p, "file:"); ok {
		p = rest
		if after, ok := strings.CutPrefix(p, "//"); ok {
			host, path, _ := strings.Cut(after, "/")
			if host != "" && host != "localhost" {
				return nil
			}
			p = "/" + path
		}
	}
	entries, err := os.ReadDir(filepath.FromSlash(p))
	if err != nil {
		return nil
	}
	var out []fileio.FileInfo
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), tarnTempMarker) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileio.FileInfo{Path: fileio.Join(dir, e.Name()), Size: info.Size(), ModTime: info.ModTime()})
	}
	return out
}

// bucketDirs lists the bucket directories under root: partition directories ("k=v") down
// to the partition depth, then bucket-* directories (Paimon's listFileDirs). An empty
// partition directory is listed itself.
func (t *Table) bucketDirs(ctx context.Context, root string, depth int) ([]string, error) {
	entries, err := t.fio.List(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		switch {
		case depth == 0 && strings.HasPrefix(e.Name(), format.BucketPrefix):
			out = append(out, e.Path)
		case depth > 0 && strings.Contains(e.Name(), "="):
			sub, err := t.bucketDirs(ctx, e.Path, depth-1)
			if err != nil {
				return nil, err
			}
			if len(sub) == 0 {
				out = append(out, e.Path)
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// usedFiles collects the names of the files that the snapshots, tags and long-lived
// changelogs under roots need: their manifest lists, manifests, index and statistics
// files, the data files live in any of them (and their extra files), and their changelog
// files. Data files are collected only when they are candidates. Unlike Paimon, which
// keeps every file any referenced manifest names, a file that was added and deleted again
// before the oldest kept snapshot is not used: it is what an interrupted expiry leaves.
// A snapshot or file deleted meanwhile is skipped; any other read error stops the
// cleaning (deleting a used file that could not be read is worse than keeping an orphan).
func (t *Table) usedFiles(ctx context.Context, roots []string, candidates map[string][]fileRef) (map[string]bool, error) {
	used := map[string]bool{}
	mark := func(e *slimEntry) {
		if _, ok := candidates[e.id.FileName]; ok {
			used[e.id.FileName] = true
		}
		for _, x := range e.extras {
			if _, ok := candidates[x]; ok {
				used[x] = true
			}
		}
	}
	r := newResolver(t)
	c := &manifestCache{t: t, m: map[string][]slimEntry{}}
	notFound := func(err error) bool { return errors.Is(err, fileio.ErrNotExist) }
	for _, root := range roots {
		kinds := []struct{ dir, prefix string }{
			{format.SnapshotDir, format.SnapshotPrefix}, {format.TagDir, format.TagPrefix}, {format.ChangelogDir, format.ChangelogPrefix},
		}
		for k, d := range kinds {
			snaps, err := t.snapshotsIn(ctx, fileio.Join(root, d.dir), d.prefix)
			if err != nil {
				return nil, err
			}
			sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].ID < snaps[j].ID })
			var prevID int64
			prevOK := false
			for _, s := range snaps {
				refs, err := t.snapshotMeta(ctx, s, r, true)
				if err != nil {
					return nil, err
				}
				for _, m := range refs.all() {
					used[m.name] = true
				}
				if s.ChangelogManifestList != nil {
					es, err := c.listEntries(ctx, *s.ChangelogManifestList)
					if err != nil && !notFound(err) {
						return nil, err
					}
					for i := range es {
						mark(&es[i])
					}
				}
				switch {
				case k == 2:
					// Long-lived changelogs: every file their manifests name.
					for _, list := range []string{s.BaseManifestList, s.DeltaManifestList} {
						es, err := c.listEntries(ctx, list)
						if err != nil && !notFound(err) {
							return nil, err
						}
						for i := range es {
							mark(&es[i])
						}
					}
				case k == 0 && prevOK && s.ID == prevID+1:
					// The next snapshot's files are its predecessor's plus what its delta adds.
					es, err := c.listEntries(ctx, s.DeltaManifestList)
					if notFound(err) {
						prevOK = false
						continue
					}
					if err != nil {
						return nil, err
					}
					for i := range es {
						if es[i].add {
							mark(&es[i])
						}
					}
					prevID = s.ID
				default:
					live, err := c.live(ctx, s)
					if notFound(err) {
						prevOK = false
						continue
					}
					if err != nil {
						return nil, err
					}
					for i := range live {
						mark(&live[i])
					}
					prevID, prevOK = s.ID, k == 0
				}
			}
		}
	}
	return used, nil
}

// slimEntry is what orphan cleaning keeps of a manifest entry.
type slimEntry struct {
	id     manifest.Identifier
	add    bool
	extras []string
}

// manifestCache reads each manifest once.
type manifestCache struct {
	t  *Table
	mu sync.Mutex
	m  map[string][]slimEntry
}

func (c *manifestCache) get(ctx context.Context, name string) ([]slimEntry, error) {
	c.mu.Lock()
	es, ok := c.m[name]
	c.mu.Unlock()
	if ok {
		return es, nil
	}
	entries, err := c.t.ReadManifest(ctx, name)
	if err != nil {
		return nil, err
	}
	es = make([]slimEntry, len(entries))
	for i := range entries {
		e := &entries[i]
		es[i] = slimEntry{id: e.Identifier(), add: e.Kind == manifest.FileKindAdd, extras: e.File.ExtraFiles}
	}
	c.mu.Lock()
	c.m[name] = es
	c.mu.Unlock()
	return es, nil
}

// listEntries reads the entries of a manifest list's manifests, in order.
func (c *manifestCache) listEntries(ctx context.Context, list string) ([]slimEntry, error) {
	metas, err := c.t.ReadManifestList(ctx, list)
	if err != nil {
		return nil, err
	}
	parts := make([][]slimEntry, len(metas))
	errs := make([]error, len(metas))
	parallel(len(metas), 8, func(i int) { parts[i], errs[i] = c.get(ctx, metas[i].FileName) })
	var out []slimEntry
	for i := range metas {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, parts[i]...)
	}
	return out, nil
}

// live merges a snapshot's base and delta entries into its live files.
func (c *manifestCache) live(ctx context.Context, s *format.Snapshot) ([]slimEntry, error) {
	var all []slimEntry
	for _, list := range []string{s.BaseManifestList, s.DeltaManifestList} {
		es, err := c.listEntries(ctx, list)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	idx := map[manifest.Identifier]int{}
	for i := range all {
		if all[i].add {
			idx[all[i].id] = i
		} else {
			delete(idx, all[i].id)
		}
	}
	out := make([]slimEntry, 0, len(idx))
	for _, i := range idx {
		out = append(out, all[i])
	}
	return out, nil
}

package table

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// ErrConflict is wrapped when a commit cannot be applied on the latest snapshot: files
// it deletes are gone, or its compaction output overlaps files written meanwhile.
var ErrConflict = errors.New("commit conflict")

// Commit describes one atomic change to a table.
type Commit struct {
	// User identifies the committer; with Identifier it makes commits idempotent: a
	// commit whose user already committed an identifier >= this one is skipped.
	User       string
	Identifier int64
	Kind       format.CommitKind // APPEND, COMPACT or OVERWRITE; derived when empty
	Messages   []CommitMessage
	// Overwrite replaces the rows of the partitions OverwritePartitions select (all
	// partitions when nil) with the messages' new files.
	Overwrite           bool
	OverwritePartitions func(partition []any) bool
	// Properties are stored in the snapshot (Paimon readers ignore them).
	Properties map[string]string
	// SchemaID is the schema the files were written with; the commit is refused if the
	// table's latest schema differs (0 checks nothing... use CheckSchema).
	SchemaID    int64
	CheckSchema bool
}

// CommitResult tells what a commit did.
type CommitResult struct {
	SnapshotID int64
	// Skipped is set when an earlier commit of the same user and identifier was found.
	Skipped bool
	// Retries is the number of times the commit lost a race and was re-applied.
	Retries int
	// AppendSnapshotID is the APPEND snapshot when the commit also held a compaction,
	// committed after it as SnapshotID (a COMPACT snapshot).
	AppendSnapshotID int64
	// CompactionErr is set when the append part was committed but its compaction could
	// not be (e.g. a concurrent compaction of the same bucket); the compaction's files are
	// then unreferenced and the data stays correct.
	CompactionErr error
}

// Commit applies c atomically: it writes manifests and a manifest list, then creates
// snapshot-N+1 if absent. On losing a race with another committer it reloads the latest
// snapshot, checks for conflicts and retries with backoff. Files are never deleted here.
// Messages holding new files and compaction results become two snapshots, APPEND then
// COMPACT, as Paimon commits them.
func (t *Table) Commit(ctx context.Context, c Commit) (CommitResult, error) {
	if c.Overwrite || c.Kind != "" {
		return t.commitOnce(ctx, c, true)
	}
	var appends, compacts []CommitMessage
	for i := range c.Messages {
		a, cp := c.Messages[i].split()
		if a != nil {
			appends = append(appends, *a)
		}
		if cp != nil {
			compacts = append(compacts, *cp)
		}
	}
	switch {
	case len(appends) == 0 && len(compacts) == 0:
		return t.commitOnce(ctx, c, true)
	case len(compacts) == 0:
		c.Messages = appends
		return t.commitOnce(ctx, c, true)
	case len(appends) == 0:
		// A compaction alone: its changelog and index files are in the compaction
		// increment's fields.
		c.Messages = compacts
		return t.commitOnce(ctx, c, true)
	}
	ac := c
	ac.Messages, ac.Kind = appends, format.CommitAppend
	res, err := t.commitOnce(ctx, ac, true)
	if err != nil || res.Skipped {
		return res, err
	}
	cc := c
	cc.Messages, cc.Kind, cc.CheckSchema = compacts, format.CommitCompact, false
	cres, err := t.commitOnce(ctx, cc, false)
	if err != nil {
		res.CompactionErr = err
		return res, nil
	}
	cres.AppendSnapshotID = res.SnapshotID
	cres.Retries += res.Retries
	return cres, nil
}

// commitOnce commits c as one snapshot; checkDone enables the idempotency check.
func (t *Table) commitOnce(ctx context.Context, c Commit, checkDone bool) (CommitResult, error) {
	if c.User == "" {
		return CommitResult{}, errors.New("commit: no commit user")
	}
	schema, schemaCheck, err := t.commitSchema(ctx, c)
	if err != nil {
		return CommitResult{}, err
	}
	opts := ParseCoreOptions(schema.Options)
	if err := ValidateManifestFormat(schema.Options); err != nil {
		return CommitResult{}, fmt.Errorf("commit: %w", err)
	}
	kind := c.Kind
	if kind == "" {
		kind = format.CommitAppend
		if c.Overwrite {
			kind = format.CommitOverwrite
		} else {
			for _, m := range c.Messages {
				if len(m.CompactBefore)+len(m.CompactAfter) > 0 && len(m.NewFiles) == 0 {
					kind = format.CommitCompact
				}
			}
		}
	}
	// Entries this commit adds and deletes (overwrite deletions are computed per attempt).
	var changes []manifest.ManifestEntry
	for _, m := range c.Messages {
		for _, f := range m.CompactBefore {
			changes = append(changes, manifest.ManifestEntry{Kind: manifest.FileKindDelete, Partition: m.Partition, Bucket: int32(m.Bucket), TotalBuckets: int32(m.TotalBuckets), File: f})
		}
		for _, f := range append(append([]manifest.DataFileMeta(nil), m.NewFiles...), m.CompactAfter...) {
			changes = append(changes, manifest.ManifestEntry{Kind: manifest.FileKindAdd, Partition: m.Partition, Bucket: int32(m.Bucket), TotalBuckets: int32(m.TotalBuckets), File: f})
		}
	}
	var changelog []manifest.ManifestEntry
	for _, m := range c.Messages {
		for _, f := range m.ChangelogFiles {
			changelog = append(changelog, manifest.ManifestEntry{Kind: manifest.FileKindAdd, Partition: m.Partition, Bucket: int32(m.Bucket), TotalBuckets: int32(m.TotalBuckets), File: f})
		}
	}
	mw := t.manifestWriter(schema, opts)
	defer mw.wait() // no upload outlives the commit
	var changelogMetas []manifest.ManifestFileMeta
	if len(changelog) > 0 {
		if changelogMetas, err = mw.writeManifests(ctx, changelog, schema.ID); err != nil {
			return CommitResult{}, err
		}
	}
	var deltaMetas []manifest.ManifestFileMeta
	// Row ids depend on the snapshot the commit follows: those delta manifests are written
	// per attempt.
	if !c.Overwrite && !opts.RowTracking {
		if deltaMetas, err = mw.writeManifests(ctx, changes, schema.ID); err != nil {
			return CommitResult{}, err
		}
	}
	started := time.Now()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return CommitResult{}, err
		}
		latest, err := t.LatestSnapshot(ctx)
		if err != nil {
			return CommitResult{}, err
		}
		if checkDone && latest != nil && c.Identifier != format.BatchCommitIdentifier {
			if id, ok, err := t.findCommitted(ctx, latest, c.User, c.Identifier); err != nil {
				return CommitResult{}, err
			} else if ok {
				return CommitResult{SnapshotID: id, Skipped: true, Retries: attempt}, nil
			}
		}
		switch {
		case attempt == 0 && schemaCheck != nil:
			if err := <-schemaCheck; err != nil {
				return CommitResult{}, err
			}
		case attempt > 0 && c.CheckSchema:
			// Again on every retry: an alter may have written a new schema meanwhile.
			if s, err := t.LatestSchema(ctx); err != nil {
				return CommitResult{}, err
			} else if s.ID != c.SchemaID {
				return CommitResult{}, schemaChanged(c.SchemaID, s.ID)
			}
		}
		delta := deltaMetas
		deltaEntries := changes
		// Deleted data files and deletion vectors are checked against concurrent commits
		// (Paimon's ConflictDetection.shouldBeOverwriteCommit); additions alone are not.
		if c.Overwrite || hasDeletes(changes) || len(deletionVectorBuckets(c.Messages)) > 0 {
			live, err := t.liveEntriesOf(ctx, latest, schema)
			if err != nil {
				return CommitResult{}, err
			}
			if c.Overwrite {
				deltaEntries, err = t.overwriteEntries(live, schema, c, changes)
				if err != nil {
					return CommitResult{}, err
				}
				if delta, err = mw.writeManifests(ctx, deltaEntries, schema.ID); err != nil {
					return CommitResult{}, err
				}
			} else if err := checkConflicts(live, changes, schema.KeyFields()); err != nil {
				return CommitResult{}, err
			} else if err := t.checkDeletionVectorConflicts(ctx, latest, live, changes, c.Messages, opts.Bucket < 0 && len(schema.PrimaryKeys) == 0); err != nil {
				return CommitResult{}, err
			}
		}
		var nextRowID *int64
		if opts.RowTracking {
			var next int64
			deltaEntries, next = assignRowIDs(latest, deltaEntries)
			nextRowID = &next
			if delta, err = mw.writeManifests(ctx, deltaEntries, schema.ID); err != nil {
				return CommitResult{}, err
			}
		}
		id, err := t.tryCommit(ctx, mw, latest, schema, c, kind, delta, changelogMetas, deltaEntries, changelog, nextRowID)
		if err == nil {
			t.sawSnapshot(id)
			t.NotifyCommit()
			return CommitResult{SnapshotID: id, Retries: attempt}, nil
		}
		if !errors.Is(err, fileio.ErrExist) {
			return CommitResult{}, err
		}
		if attempt >= opts.CommitMaxRetries || (opts.CommitTimeout > 0 && time.Since(started) > opts.CommitTimeout) {
			return CommitResult{}, fmt.Errorf("commit: gave up after %d attempts in %v, each time another commit took the snapshot first (the last: %d); commit.max-retries is %d, commit.timeout %v: %w",
				attempt+1, time.Since(started).Round(time.Millisecond), id, opts.CommitMaxRetries, opts.CommitTimeout, ErrConflict)
		}
		slog.Debug("commit lost a race, retrying", "table", t.path, "snapshot", id, "attempt", attempt+1)
		select {
		case <-time.After(opts.retryWait(attempt)):
		case <-ctx.Done():
			return CommitResult{}, ctx.Err()
		}
	}
}

// inheritedStatistics is the statistics file a new snapshot keeps from the latest one, as
// Paimon's commit does: the same file while it describes the table's current schema, none
// once the schema changed (FileStoreCommitImpl.tryCommitOnce). The statistics themselves
// are written by Paimon's ANALYZE (an ANALYZE snapshot).
func (t *Table) inheritedStatistics(ctx context.Context, latest *format.Snapshot, schemaID int64) (*string, error) {
	if latest.Statistics == nil || *latest.Statistics == "" {
		return nil, nil
	}
	name := *latest.Statistics
	t.mu.Lock()
	id, ok := t.statsSchemas[name]
	t.mu.Unlock()
	if !ok {
		data, err := t.fio.ReadFile(ctx, t.Join(format.StatisticsDir, name))
		if errors.Is(err, fileio.ErrNotExist) {
			slog.Warn("the latest snapshot's statistics file is missing: the new snapshot has none", "table", t.path, "snapshot", latest.ID, "statistics", name)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("statistics of snapshot %d: %w", latest.ID, err)
		}
		var st struct {
			SchemaID *int64 `json:"schemaId"`
		}
		if err := json.Unmarshal(data, &st); err != nil || st.SchemaID == nil {
			return nil, fmt.Errorf("statistics file %s of snapshot %d has no schemaId (%v)", name, latest.ID, err)
		}
		id = *st.SchemaID
		t.mu.Lock()
		if t.statsSchemas == nil {
			t.statsSchemas = map[string]int64{}
		}
		t.statsSchemas[name] = id
		t.mu.Unlock()
	}
	if id != schemaID {
		slog.Info("the table's schema changed: its statistics are not kept", "table", t.path, "statistics", name, "statistics schema", id, "schema", schemaID)
		return nil, nil
	}
	return &name, nil
}

// assignRowIDs gives the files a commit appends to a row tracking table their row ids and
// sequence numbers, as Paimon's commit does (RowTrackingCommitUtils.assignRowTracking):
// an added file with sequence number 0 takes the new snapshot's id; an added file of new
// rows (source APPEND) without a first row id takes the next free one, in commit order,
// from the previous snapshot's nextRowId (0 for the first). Compaction output keeps no row
// ids. It returns copies of the entries and the snapshot's next free row id.
func assignRowIDs(latest *format.Snapshot, entries []manifest.ManifestEntry) ([]manifest.ManifestEntry, int64) {
	id, next := int64(1), int64(0)
	if latest != nil {
		id = latest.ID + 1
		if latest.NextRowID != nil {
			next = *latest.NextRowID
		}
	}
	out := make([]manifest.ManifestEntry, len(entries))
	for i, e := range entries {
		if e.Kind == manifest.FileKindAdd {
			if e.File.MinSequenceNumber == 0 {
				e.File.MinSequenceNumber, e.File.MaxSequenceNumber = id, id
			}
			appended := e.File.FileSource != nil && *e.File.FileSource == manifest.FileSourceAppend
			if appended && e.File.FirstRowID == nil && !slices.Contains(e.File.WriteCols, "_ROW_ID") {
				e.File.FirstRowID = ptrTo(next)
				next += e.File.RowCount
			}
		}
		out[i] = e
	}
	return out, next
}

// retryWait is how long a commit waits before its retry number n+1 (RetryWaiter): the
// minimum wait doubled n times, at most the maximum, plus up to a fifth of it at random.
func (o CoreOptions) retryWait(n int) time.Duration {
	w := max(o.CommitMinRetryWait, time.Millisecond)
	for i := 0; i < n && w < o.CommitMaxRetryWait; i++ {
		w *= 2
	}
	w = max(min(w, o.CommitMaxRetryWait), time.Millisecond)
	return w + time.Duration(rand.Int64N(max(int64(w)/5, 1)))
}

func schemaChanged(written, now int64) error {
	return fmt.Errorf("commit: the files were written with schema %d but the table's schema is now %d; rewrite them with the new schema: %w", written, now, ErrConflict)
}

// commitSchema returns the schema a commit writes its manifests with: the latest. For
// files written with a known schema (Commit.CheckSchema) that schema is used at once and
// the check that it is still the latest (schema ids are contiguous: no schema-(id+1))
// runs beside the commit's first steps, its result sent on check.
func (t *Table) commitSchema(ctx context.Context, c Commit) (schema *format.TableSchema, check <-chan error, err error) {
	if c.CheckSchema {
		t.mu.Lock()
		s := t.schemas[c.SchemaID]
		t.mu.Unlock()
		if s != nil {
			ch := make(chan error, 1)
			go func() {
				newer, err := fileio.Exists(ctx, t.fio, t.Join(format.SchemaPath(c.SchemaID+1)))
				if err == nil && newer {
					err = schemaChanged(c.SchemaID, c.SchemaID+1)
					if latest, lerr := t.LatestSchema(ctx); lerr == nil {
						err = schemaChanged(c.SchemaID, latest.ID)
					}
				}
				ch <- err
			}()
			return s, ch, nil
		}
	}
	if schema, err = t.LatestSchema(ctx); err != nil {
		return nil, nil, err
	}
	if c.CheckSchema && schema.ID != c.SchemaID {
		return nil, nil, schemaChanged(c.SchemaID, schema.ID)
	}
	return schema, nil, nil
}

// bucketKey is a bucket of a partition (a serialized BinaryRow).
type bucketKey struct {
	part   string
	bucket int32
}

// deletionVectorBuckets are the buckets whose deletion-vector index files messages add
// or delete.
func deletionVectorBuckets(msgs []CommitMessage) map[bucketKey]bool {
	touched := map[bucketKey]bool{}
	for _, m := range msgs {
		for _, f := range append(slices.Clip(m.NewIndexFiles), m.DeletedIndexFiles...) {
			if f.IndexType == manifest.IndexTypeDeletionVectors {
				touched[bucketKey{string(m.Partition), int32(m.Bucket)}] = true
			}
		}
	}
	return touched
}

func hasDeletes(es []manifest.ManifestEntry) bool {
	for _, e := range es {
		if e.Kind == manifest.FileKindDelete {
			return true
		}
	}
	return false
}

// tryCommit writes the manifest lists and creates the next snapshot; it returns an error
// matching fileio.ErrExist (and the id it tried) when another commit took that id.
func (t *Table) tryCommit(ctx context.Context, mw *manifestWriter, latest *format.Snapshot, schema *format.TableSchema, c Commit, kind format.CommitKind,
	delta, changelogMetas []manifest.ManifestFileMeta, deltaEntries, changelog []manifest.ManifestEntry, nextRowID *int64) (int64, error) {
	id := int64(1)
	var base []manifest.ManifestFileMeta
	var total int64
	var indexManifest, statistics *string
	if latest != nil {
		id = latest.ID + 1
		for _, list := range []string{latest.BaseManifestList, latest.DeltaManifestList} {
			m, err := t.ReadManifestList(ctx, list)
			if err != nil {
				return id, err
			}
			base = append(base, m...)
		}
		if latest.TotalRecordCount != nil {
			total = *latest.TotalRecordCount
		}
		indexManifest = latest.IndexManifest
		if nextRowID == nil && latest.NextRowID != nil {
			nextRowID = ptrTo(*latest.NextRowID) // kept, as Paimon does, without row tracking too
		}
		var err error
		if statistics, err = t.inheritedStatistics(ctx, latest, schema.ID); err != nil {
			return id, err
		}
	}
	if name, changed, err := t.writeIndexManifest(ctx, mw, latest, c.Messages); err != nil {
		return id, err
	} else if changed {
		indexManifest = name
	}
	base, err := mw.mergeManifests(ctx, base, schema.ID)
	if err != nil {
		return id, err
	}
	var deltaCount int64
	for _, e := range deltaEntries {
		if e.Kind == manifest.FileKindAdd {
			deltaCount += e.File.RowCount
		} else {
			deltaCount -= e.File.RowCount
		}
	}
	baseName, baseSize, err := mw.writeList(ctx, base)
	if err != nil {
		return id, err
	}
	deltaName, deltaSize, err := mw.writeList(ctx, delta)
	if err != nil {
		return id, err
	}
	snap := &format.Snapshot{
		Version:               format.CurrentSnapshotVersion,
		ID:                    id,
		SchemaID:              schema.ID,
		BaseManifestList:      baseName,
		BaseManifestListSize:  &baseSize,
		DeltaManifestList:     deltaName,
		DeltaManifestListSize: &deltaSize,
		IndexManifest:         indexManifest,
		CommitUser:            c.User,
		CommitIdentifier:      c.Identifier,
		CommitKind:            kind,
		TimeMillis:            time.Now().UnixMilli(),
		TotalRecordCount:      ptrTo(total + deltaCount),
		DeltaRecordCount:      ptrTo(deltaCount),
		NextRowID:             nextRowID,
		Statistics:            statistics,
	}
	if len(changelogMetas) > 0 {
		name, size, err := mw.writeList(ctx, changelogMetas)
		if err != nil {
			return id, err
		}
		snap.ChangelogManifestList, snap.ChangelogManifestListSize = &name, &size
		var n int64
		for _, e := range changelog {
			n += e.File.RowCount
		}
		snap.ChangelogRecordCount = &n
	}
	if len(c.Properties) > 0 {
		p := format.NewOptions(c.Properties)
		snap.Properties = &p
	}
	// Every manifest and list the snapshot references is in place before it is.
	if err := mw.wait(); err != nil {
		return id, err
	}
	if err := t.fio.CreateIfAbsent(ctx, t.Join(format.SnapshotPath(id)), snap.Marshal()); err != nil {
		// Lost the race: the manifest lists are unreferenced; remove them.
		_ = t.fio.Delete(ctx, t.Join(format.ManifestPath(baseName)))
		_ = t.fio.Delete(ctx, t.Join(format.ManifestPath(deltaName)))
		if snap.ChangelogManifestList != nil {
			_ = t.fio.Delete(ctx, t.Join(format.ManifestPath(*snap.ChangelogManifestList)))
		}
		return id, err
	}
	// Hints are best effort: readers never trust them blindly.
	if err := t.fio.WriteFile(ctx, t.Join(format.SnapshotDir, format.LatestHint), []byte(fmt.Sprint(id))); err != nil {
		slog.Warn("cannot update LATEST hint", "table", t.path, "err", err)
	}
	if id == 1 {
		if err := t.fio.WriteFile(ctx, t.Join(format.SnapshotDir, format.EarliestHint), []byte("1")); err != nil {
			slog.Warn("cannot update EARLIEST hint", "table", t.path, "err", err)
		}
	}
	return id, nil
}

// writeIndexManifest writes the index manifest of the next snapshot when messages change
// index files: the previous snapshot's live entries with the replaced files swapped.
func (t *Table) writeIndexManifest(ctx context.Context, mw *manifestWriter, latest *format.Snapshot, msgs []CommitMessage) (*string, bool, error) {
	changed := false
	for _, m := range msgs {
		if len(m.NewIndexFiles)+len(m.DeletedIndexFiles) > 0 {
			changed = true
		}
	}
	if !changed {
		return nil, false, nil
	}
	var prev []manifest.IndexManifestEntry
	if latest != nil && latest.IndexManifest != nil {
		var err error
		if prev, err = t.ReadIndexManifest(ctx, *latest.IndexManifest); err != nil {
			return nil, false, err
		}
	}
	entries := applyIndexChanges(prev, msgs)
	name := format.MetaFileName(format.IndexManifestPfx, mw.uuid, mw.n)
	mw.n++
	p := t.Join(format.ManifestPath(name))
	var buf bytes.Buffer
	if _, err := manifest.WriteIndexManifest(&buf, p, entries, mw.options()); err != nil {
		return nil, false, err
	}
	if err := mw.put(ctx, p, buf.Bytes()); err != nil {
		return nil, false, err
	}
	return &name, true, nil
}

// findCommitted looks back from latest for a snapshot of user with an identifier >= id.
func (t *Table) findCommitted(ctx context.Context, latest *format.Snapshot, user string, id int64) (int64, bool, error) {
	if latest.CommitUser == user { // the common case: one writer per commit user
		return latest.ID, latest.CommitIdentifier >= id, nil
	}
	earliest, ok, err := t.EarliestSnapshotID(ctx)
	if err != nil || !ok {
		return 0, false, err
	}
	for s := latest; ; {
		if s.CommitUser == user {
			return s.ID, s.CommitIdentifier >= id, nil
		}
		if s.ID <= earliest {
			return 0, false, nil
		}
		prev, err := t.Snapshot(ctx, s.ID-1)
		if errors.Is(err, ErrNotFound) {
			return 0, false, nil // expired meanwhile
		}
		if err != nil {
			return 0, false, err
		}
		s = prev
	}
}

// liveEntriesOf returns the live files of a snapshot (none for nil).
func (t *Table) liveEntriesOf(ctx context.Context, s *format.Snapshot, schema *format.TableSchema) ([]manifest.ManifestEntry, error) {
	if s == nil {
		return nil, nil
	}
	return t.liveEntries(ctx, s, schema, ScanOptions{})
}

// checkConflicts verifies that every file the commit deletes is still live, and that no
// file it adds above level 0 overlaps, by key range, a live file of the same level and
// bucket that it does not delete.
func checkConflicts(live, changes []manifest.ManifestEntry, keys []types.DataField) error {
	encode, err := newKeyEncoder(keys)
	if err != nil {
		return err
	}
	// A file is identified by its level too (Paimon's FileEntry.Identifier): a file a
	// concurrent compaction moved to another level is gone from the level it was on.
	type id struct {
		part   string
		bucket int32
		level  int32
		name   string
	}
	liveSet := map[id]manifest.ManifestEntry{}
	for _, e := range live {
		liveSet[id{string(e.Partition), e.Bucket, e.File.Level, e.File.FileName}] = e
	}
	deleted := map[id]bool{}
	for _, e := range changes {
		if e.Kind != manifest.FileKindDelete {
			continue
		}
		k := id{string(e.Partition), e.Bucket, e.File.Level, e.File.FileName}
		if _, ok := liveSet[k]; !ok {
			return fmt.Errorf("file %s of bucket %d was removed by another commit: %w", e.File.FileName, e.Bucket, ErrConflict)
		}
		deleted[k] = true
	}
	for _, a := range changes {
		if a.Kind != manifest.FileKindAdd || a.File.Level == 0 {
			continue
		}
		for _, l := range live {
			if l.File.Level != a.File.Level || l.Bucket != a.Bucket || !bytes.Equal(l.Partition, a.Partition) ||
				deleted[id{string(l.Partition), l.Bucket, l.File.Level, l.File.FileName}] {
				continue
			}
			overlap, err := rangesOverlap(encode, a.File, l.File)
			if err != nil {
				return err
			}
			if overlap {
				return fmt.Errorf("compacted file %s overlaps %s on level %d: %w", a.File.FileName, l.File.FileName, a.File.Level, ErrConflict)
			}
		}
	}
	return nil
}

// rangesOverlap reports whether two files' key ranges intersect.
func rangesOverlap(encode func([]byte) ([]byte, error), a, b manifest.DataFileMeta) (bool, error) {
	var ks [4][]byte
	for i, k := range [][]byte{a.MinKey, a.MaxKey, b.MinKey, b.MaxKey} {
		e, err := encode(k)
		if err != nil {
			return false, fmt.Errorf("key range of %s or %s: %w", a.FileName, b.FileName, err)
		}
		ks[i] = e
	}
	return bytes.Compare(ks[0], ks[3]) <= 0 && bytes.Compare(ks[2], ks[1]) <= 0, nil
}

// overwriteEntries turns an overwrite into entries: delete every live file of the selected
// partitions, add the new files.
func (t *Table) overwriteEntries(live []manifest.ManifestEntry, schema *format.TableSchema, c Commit, changes []manifest.ManifestEntry) ([]manifest.ManifestEntry, error) {
	var out []manifest.ManifestEntry
	partFields := schema.PartitionType()
	for _, e := range live {
		if c.OverwritePartitions != nil {
			row, err := binaryrow.Deserialize(e.Partition)
			if err != nil {
				return nil, err
			}
			vals, err := row.Values(partFields)
			if err != nil {
				return nil, err
			}
			if !c.OverwritePartitions(vals) {
				continue
			}
		}
		e.Kind = manifest.FileKindDelete
		out = append(out, e)
	}
	return append(out, changes...), nil
}

// checkDeletionVectorConflicts verifies a commit's changes of deletion-vectors index
// files against the latest snapshot: the index files it replaces must be the bucket's
// live ones (a concurrent compaction may have replaced them, or written the bucket's
// first), and every data file its new vectors delete rows of must be live after the
// commit (a concurrent compaction may have rewritten it, keeping the rows the vector
// deletes). A partition of an unaware-bucket append table (unaware) may hold several
// index files, each data file's vector in one of them: there each data file a new vector
// is for must have had no vector, or one in an index file the commit replaces, as
// Paimon's ConflictDetection checks them (buildDeltaEntriesWithDV).
func (t *Table) checkDeletionVectorConflicts(ctx context.Context, latest *format.Snapshot, live, changes []manifest.ManifestEntry, msgs []CommitMessage, unaware bool) error {
	touched := deletionVectorBuckets(msgs)
	if len(touched) == 0 {
		return nil
	}
	liveIndex := map[bucketKey]map[string]bool{}
	vectorIn := map[string]string{} // unaware: data file name -> its live index file
	entries, err := t.dvIndexEntries(ctx, latest)
	if err != nil {
		return err
	}
	for _, e := range entries {
		k := bucketKey{string(e.Partition), e.Bucket}
		if !touched[k] {
			continue
		}
		if liveIndex[k] == nil {
			liveIndex[k] = map[string]bool{}
		}
		liveIndex[k][e.IndexFile.FileName] = true
		if unaware {
			for _, r := range e.IndexFile.DeletionVectorRanges {
				vectorIn[r.DataFileName] = e.IndexFile.FileName
			}
		}
	}
	deleted := map[bucketKey]map[string]bool{}
	for _, m := range msgs {
		k := bucketKey{string(m.Partition), int32(m.Bucket)}
		for _, f := range m.DeletedIndexFiles {
			if f.IndexType != manifest.IndexTypeDeletionVectors {
				continue
			}
			if !liveIndex[k][f.FileName] {
				return fmt.Errorf("deletion vectors %s of bucket %d were replaced by another commit: %w", f.FileName, m.Bucket, ErrConflict)
			}
			if deleted[k] == nil {
				deleted[k] = map[string]bool{}
			}
			deleted[k][f.FileName] = true
		}
	}
	if !unaware {
		for k, names := range liveIndex {
			for name := range names {
				if !deleted[k][name] {
					return fmt.Errorf("bucket %d got deletion vectors %s from another commit: %w", k.bucket, name, ErrConflict)
				}
			}
		}
	}
	// The data files live after the commit.
	type fileKey struct {
		bucketKey
		name string
	}
	after := map[fileKey]bool{}
	for _, e := range live {
		after[fileKey{bucketKey{string(e.Partition), e.Bucket}, e.File.FileName}] = true
	}
	for _, e := range changes {
		after[fileKey{bucketKey{string(e.Partition), e.Bucket}, e.File.FileName}] = e.Kind == manifest.FileKindAdd
	}
	for _, m := range msgs {
		k := bucketKey{string(m.Partition), int32(m.Bucket)}
		for _, f := range m.NewIndexFiles {
			if f.IndexType != manifest.IndexTypeDeletionVectors {
				continue
			}
			for _, r := range f.DeletionVectorRanges {
				if !after[fileKey{k, r.DataFileName}] {
					return fmt.Errorf("deletion vector of %s in bucket %d: the file was rewritten by another commit: %w", r.DataFileName, m.Bucket, ErrConflict)
				}
				if in, ok := vectorIn[r.DataFileName]; ok && !deleted[k][in] { // unaware
					return fmt.Errorf("deletion vector of %s: another commit gave the file one (%s): %w", r.DataFileName, in, ErrConflict)
				}
			}
		}
	}
	return nil
}

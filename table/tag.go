package table

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// TagInfo describes a tag: tag/tag-<name>, a copy of a snapshot's file, with the tag's
// creation time and retention when it was created with one (Paimon's Tag).
type TagInfo struct {
	Name       string
	SnapshotID int64
	Snapshot   *format.Snapshot
	// CreateTime is the tag's tagCreateTime, a wall-clock time of the creating machine's
	// zone (as Java's LocalDateTime), expressed in UTC; zero when the tag has none.
	CreateTime time.Time
	// TimeRetained is the tag's tagTimeRetained (0: kept until deleted).
	TimeRetained time.Duration
}

// taggedSnapshot is a snapshot and the names of the tags holding it.
type taggedSnapshot struct {
	names []string
	snap  *format.Snapshot
}

// taggedSnapshots reads the tags under root (the table or a branch directory), grouped by
// snapshot id, ascending (Paimon's TagManager.tags). Tags deleted while listing are skipped.
func (t *Table) taggedSnapshots(ctx context.Context, root string) ([]taggedSnapshot, error) {
	infos, err := t.readTags(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []taggedSnapshot
	for _, ti := range infos {
		if n := len(out); n > 0 && out[n-1].snap.ID == ti.SnapshotID {
			out[n-1].names = append(out[n-1].names, ti.Name)
			continue
		}
		out = append(out, taggedSnapshot{names: []string{ti.Name}, snap: ti.Snapshot})
	}
	return out, nil
}

// ListTags lists the table's tags, ordered by snapshot id and name.
func (t *Table) ListTags(ctx context.Context) ([]TagInfo, error) {
	return t.readTags(ctx, t.path)
}

func (t *Table) readTags(ctx context.Context, root string) ([]TagInfo, error) {
	dir := fileio.Join(root, format.TagDir)
	entries, err := t.fio.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", root, err)
	}
	var out []TagInfo
	for _, e := range entries {
		if e.IsDir || !strings.HasPrefix(e.Name(), format.TagPrefix) {
			continue
		}
		data, err := t.fio.ReadFile(ctx, e.Path)
		if errors.Is(err, fileio.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ti, err := tagInfo(strings.TrimPrefix(e.Name(), format.TagPrefix), data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		out = append(out, *ti)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SnapshotID != out[j].SnapshotID {
			return out[i].SnapshotID < out[j].SnapshotID
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func tagInfo(name string, data []byte) (*TagInfo, error) {
	s, err := format.ParseSnapshot(data)
	if err != nil {
		return nil, err
	}
	ti := &TagInfo{Name: name, SnapshotID: s.ID, Snapshot: s}
	if len(s.TagCreateTime) > 0 && string(bytes.TrimSpace(s.TagCreateTime)) != "null" {
		if ti.CreateTime, err = parseJavaLocalDateTime(s.TagCreateTime); err != nil {
			return nil, fmt.Errorf("tagCreateTime: %w", err)
		}
	}
	if len(s.TagTimeRetained) > 0 && string(bytes.TrimSpace(s.TagTimeRetained)) != "null" {
		if ti.TimeRetained, err = parseJavaDuration(s.TagTimeRetained); err != nil {
			return nil, fmt.Errorf("tagTimeRetained: %w", err)
		}
	}
	return ti, nil
}

func checkTagName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("tag name must not be blank")
	}
	if strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("tag name %q: must not contain '/' or '\\'", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("tag name %q: control characters are not allowed", name)
		}
	}
	return nil
}

// CreateTag tags a snapshot (the latest when snapshotID is 0; a snapshot that expired
// but is still held by another tag may be tagged again). With timeRetained > 0 (or the
// table option tag.default-time-retained) the tag records its creation time and retention,
// and AutoTag deletes it once that time has passed. Creating a tag that exists fails.
func (t *Table) CreateTag(ctx context.Context, name string, snapshotID int64, timeRetained time.Duration) (*TagInfo, error) {
	if err := checkTagName(name); err != nil {
		return nil, err
	}
	src, err := t.tagSource(ctx, snapshotID)
	if err != nil {
		return nil, err
	}
	if timeRetained <= 0 {
		ac, err := t.autoTagConfig(ctx)
		if err != nil {
			return nil, err
		}
		timeRetained = ac.defaultRetained
	}
	ti, _, err := t.createTag(ctx, src, name, timeRetained, false, time.Now())
	return ti, err
}

// tagSource finds the snapshot to tag: the latest, a snapshot, or a tag of that id.
func (t *Table) tagSource(ctx context.Context, id int64) (*format.Snapshot, error) {
	if id == 0 {
		s, err := t.LatestSnapshot(ctx)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return nil, fmt.Errorf("table %s has no snapshot to tag: %w", t.path, ErrNotFound)
		}
		return s, nil
	}
	s, err := t.Snapshot(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return s, err
	}
	tags, terr := t.taggedSnapshots(ctx, t.path)
	if terr != nil {
		return nil, terr
	}
	for _, tag := range tags {
		if tag.snap.ID == id {
			return trimTag(tag.snap), nil
		}
	}
	return nil, err
}

// trimTag returns a copy of a snapshot without tag metadata.
func trimTag(s *format.Snapshot) *format.Snapshot {
	c := *s
	c.TagCreateTime, c.TagTimeRetained = nil, nil
	return &c
}

// createTag writes tag-<name> for src. With ignoreIfExists an existing tag is left alone
// (created is false). After writing, the tagged snapshot must still exist (or another tag
// of it): otherwise an expiry may be deleting its files, and the tag is withdrawn.
func (t *Table) createTag(ctx context.Context, src *format.Snapshot, name string, retained time.Duration, ignoreIfExists bool, now time.Time) (*TagInfo, bool, error) {
	if err := checkTagName(name); err != nil {
		return nil, false, err
	}
	p := t.Join(format.TagPath(name))
	exists, err := fileio.Exists(ctx, t.fio, p)
	if err != nil {
		return nil, false, fmt.Errorf("create tag %q of %s: %w", name, t.path, err)
	}
	if exists && ignoreIfExists {
		return nil, false, nil
	}
	if exists {
		return nil, false, fmt.Errorf("tag %q of %s already exists", name, t.path)
	}
	if err := t.validateNoAutoTag(ctx, name, src.ID); err != nil {
		return nil, false, err
	}
	tag := trimTag(src)
	if retained > 0 {
		// Paimon writes the tag fields only with a retention: readers of Paimon 0.7 and
		// older cannot read tags with tagCreateTime.
		tag.TagCreateTime = javaLocalDateTimeJSON(localWallClock(now))
		tag.TagTimeRetained = javaDurationJSON(retained)
	}
	data := tag.Marshal()
	if err := t.fio.CreateIfAbsent(ctx, p, data); err != nil {
		if errors.Is(err, fileio.ErrExist) {
			if ignoreIfExists {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("tag %q of %s already exists", name, t.path)
		}
		return nil, false, fmt.Errorf("create tag %q of %s: %w", name, t.path, err)
	}
	ok, err := t.snapshotOrTagExists(ctx, src.ID, name)
	if err == nil && !ok {
		err = fmt.Errorf("snapshot %d expired while it was being tagged: %w", src.ID, ErrNotFound)
	}
	if err != nil {
		_ = t.fio.Delete(ctx, p)
		return nil, false, fmt.Errorf("create tag %q of %s: %w", name, t.path, err)
	}
	ti, err := tagInfo(name, data)
	return ti, err == nil, err
}

// snapshotOrTagExists reports whether snapshot id exists, or a tag other than except
// holds it.
func (t *Table) snapshotOrTagExists(ctx context.Context, id int64, except string) (bool, error) {
	ok, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(id)))
	if err != nil || ok {
		return ok, err
	}
	tags, err := t.readTags(ctx, t.path)
	if err != nil {
		return false, err
	}
	for _, tag := range tags {
		if tag.Name != except && tag.SnapshotID == id {
			return true, nil
		}
	}
	return false, nil
}

// validateNoAutoTag refuses a second auto-created tag (tag.automatic-creation) for one
// snapshot, as Paimon's TagManager does.
func (t *Table) validateNoAutoTag(ctx context.Context, name string, snapshotID int64) error {
	ac, err := t.autoTagConfig(ctx)
	if err != nil || ac.period == nil || !ac.period.isAutoTag(name) {
		return err
	}
	tags, err := t.readTags(ctx, t.path)
	if err != nil {
		return err
	}
	var auto []string
	for _, tag := range tags {
		if tag.SnapshotID == snapshotID && ac.period.isAutoTag(tag.Name) {
			auto = append(auto, tag.Name)
		}
	}
	if len(auto) > 0 {
		return fmt.Errorf("snapshot %d is already auto-tagged with %v", snapshotID, auto)
	}
	return nil
}

// DeleteTag deletes a tag and the files only it referenced: when its snapshot is expired,
// the data, changelog, manifest and index files that neither the neighbouring tags nor
// the earliest snapshot (nor a branch) use, as Paimon's TagManager.deleteTag does.
func (t *Table) DeleteTag(ctx context.Context, name string) (*Deleted, error) {
	if err := checkTagName(name); err != nil {
		return nil, err
	}
	tag, err := t.Tag(ctx, name)
	if err != nil {
		return nil, err
	}
	return t.deleteTag(ctx, name, trimTag(tag))
}

func (t *Table) deleteTag(ctx context.Context, name string, tagged *format.Snapshot) (*Deleted, error) {
	d := newDeleter(t, false)
	p := t.Join(format.TagPath(name))
	exists, err := fileio.Exists(ctx, t.fio, t.Join(format.SnapshotPath(tagged.ID)))
	if err != nil {
		return nil, err
	}
	if err := d.deleteOne(ctx, p, -1); err != nil {
		return &d.done, err
	}
	if exists {
		return &d.done, nil // the snapshot still holds the files
	}
	// Read the other tags after the tag file is gone, so that a tag copied from this one
	// meanwhile is seen.
	tags, err := t.taggedSnapshots(ctx, t.path)
	if err != nil {
		return &d.done, err
	}
	var left, right *format.Snapshot
	for i := range tags {
		switch id := tags[i].snap.ID; {
		case id == tagged.ID:
			return &d.done, nil // another tag holds the same snapshot
		case id < tagged.ID:
			left = tags[i].snap
		case right == nil:
			right = tags[i].snap
		}
	}
	if earliest, ok, err := t.earliestSnapshotStrict(ctx); err != nil {
		return &d.done, err
	} else if ok && (right == nil || earliest < right.ID) {
		s, err := t.Snapshot(ctx, earliest)
		if err != nil {
			return &d.done, fmt.Errorf("delete tag %q: files of the earliest snapshot: %w", name, err)
		}
		right = s
	}
	foreign, err := t.foreignRefs(ctx, true)
	if err != nil {
		return &d.done, err
	}
	plan, err := t.planTagDeletion(ctx, tagged, []*format.Snapshot{left, right}, foreign)
	if err != nil {
		return &d.done, fmt.Errorf("delete tag %q: tag file deleted, its files kept: %w", name, err)
	}
	err = d.runPhases(ctx, plan.phases())
	return &d.done, err
}

// planTagDeletion lists the files of tagged that none of the neighbours (nil ones are
// skipped) nor the foreign references use.
func (t *Table) planTagDeletion(ctx context.Context, tagged *format.Snapshot, neighbours []*format.Snapshot, foreign *refSet) (*expiryPlan, error) {
	r := newResolver(t)
	keepData := map[dataKey]bool{}
	for k := range foreign.data {
		keepData[k] = true
	}
	skip := map[string]bool{}
	for n := range foreign.meta {
		skip[n] = true
	}
	for _, s := range neighbours {
		if s == nil {
			continue
		}
		if err := t.addLiveDataKeys(ctx, s, keepData); err != nil {
			return nil, err
		}
		refs, err := t.snapshotMeta(ctx, withoutChangelog(s), r, false)
		if err != nil {
			return nil, err
		}
		for _, m := range refs.all() {
			skip[m.name] = true
		}
	}
	plan := &expiryPlan{}
	schema, err := t.Schema(ctx, tagged.SchemaID)
	if err != nil {
		if schema, err = t.LatestSchema(ctx); err != nil {
			return nil, err
		}
	}
	live, err := t.liveEntries(ctx, tagged, schema, ScanOptions{})
	if err != nil {
		return nil, err
	}
	for i := range live {
		e := &live[i]
		if keepData[keyOf(e)] {
			continue
		}
		p, extras, err := r.dataFile(ctx, tagged.SchemaID, e)
		if err != nil {
			return nil, err
		}
		plan.data = append(plan.data, fileRef{p, e.File.FileSize})
		for _, x := range extras {
			plan.data = append(plan.data, fileRef{x, -1})
		}
	}
	if cl := tagged.ChangelogManifestList; cl != nil && !skip[*cl] {
		entries, err := t.readManifestListEntries(ctx, *cl)
		if err != nil && !errors.Is(err, fileio.ErrNotExist) {
			return nil, err
		}
		for i := range entries {
			e := &entries[i]
			if e.Kind != manifest.FileKindAdd || keepData[keyOf(e)] {
				continue
			}
			p, extras, err := r.dataFile(ctx, tagged.SchemaID, e)
			if err != nil {
				return nil, err
			}
			plan.changelog = append(plan.changelog, fileRef{p, e.File.FileSize})
			for _, x := range extras {
				plan.changelog = append(plan.changelog, fileRef{x, -1})
			}
		}
	}
	refs, err := t.snapshotMeta(ctx, tagged, r, true)
	if err != nil {
		return nil, err
	}
	refs.collect(skip, plan)
	return plan, nil
}

// AutoTagResult tells what AutoTag did.
type AutoTagResult struct {
	// Created and DeletedTags list tag names.
	Created     []string
	DeletedTags []string
	// Deleted are the files of deleted tags that nothing else referenced.
	Deleted Deleted
}

// AutoTag runs Paimon's automatic tag maintenance once; the server and the CLI call it
// after commits. With tag.automatic-creation = process-time or watermark it creates a tag
// per tag.creation-period (daily, hourly, two-hours, or tag.creation-period-duration)
// once a snapshot's commit time or watermark passes the end of the period plus
// tag.creation-delay, named by tag.period-formatter, and keeps at most
// tag.num-retained-max auto-created tags. With batch it tags the latest snapshot
// (tag.batch.customized-name, else batch-write-<date>). With tag.time-expire-enabled (the
// default) it deletes every tag whose tagTimeRetained has passed at now.
func (t *Table) AutoTag(ctx context.Context, now time.Time) (*AutoTagResult, error) {
	if now.IsZero() {
		now = time.Now()
	}
	ac, err := t.autoTagConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("auto tag %s: %w", t.path, err)
	}
	res := &AutoTagResult{}
	switch ac.mode {
	case "process-time", "watermark":
		err = t.autoCreateTags(ctx, ac, now, res)
	case "batch":
		err = t.batchTag(ctx, ac, now, res)
	}
	if err != nil {
		return res, fmt.Errorf("auto tag %s: %w", t.path, err)
	}
	if ac.timeExpire {
		if err := t.expireTagsByTime(ctx, now, res); err != nil {
			return res, fmt.Errorf("auto tag %s: %w", t.path, err)
		}
	}
	return res, nil
}

type autoTagConfig struct {
	mode            string // none, process-time, watermark, batch
	period          *tagPeriod
	delay           time.Duration
	numRetainedMax  int // -1: unbounded
	defaultRetained time.Duration
	completion      bool
	timeExpire      bool
	processZone     *time.Location
	watermarkZone   *time.Location
	batchName       string
}

func (t *Table) autoTagConfig(ctx context.Context) (*autoTagConfig, error) {
	opts, err := t.Options(ctx)
	if err != nil {
		return nil, err
	}
	get := func(k string) (string, bool) {
		v, ok := opts.Get(k)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	ac := &autoTagConfig{mode: "none", numRetainedMax: -1, timeExpire: true, processZone: time.Local, watermarkZone: time.UTC}
	if v, ok := get("tag.automatic-creation"); ok {
		ac.mode = strings.ToLower(v)
	}
	switch ac.mode {
	case "none", "process-time", "watermark", "batch":
	default:
		return nil, fmt.Errorf("tag.automatic-creation %q: use none, process-time, watermark or batch", ac.mode)
	}
	var errs []error
	dur := func(k string, dst *time.Duration) {
		if v, ok := get(k); ok {
			d, err := ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
			*dst = d
		}
	}
	boolean := func(k string, dst *bool) {
		if v, ok := get(k); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", k, v, err))
			}
			*dst = b
		}
	}
	dur("tag.creation-delay", &ac.delay)
	dur("tag.default-time-retained", &ac.defaultRetained)
	boolean("tag.automatic-completion", &ac.completion)
	boolean("tag.time-expire-enabled", &ac.timeExpire)
	if v, ok := get("tag.num-retained-max"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("tag.num-retained-max %q: not a count", v))
		}
		ac.numRetainedMax = n
	}
	if v, ok := get("sink.process-time-zone"); ok {
		z, err := loadZone(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink.process-time-zone: %w", err))
		}
		ac.processZone = z
	}
	if v, ok := get("sink.watermark-time-zone"); ok {
		z, err := loadZone(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink.watermark-time-zone: %w", err))
		}
		ac.watermarkZone = z
	}
	ac.batchName, _ = get("tag.batch.customized-name")
	if ac.mode == "process-time" || ac.mode == "watermark" {
		p, err := newTagPeriod(get)
		if err != nil {
			errs = append(errs, err)
		} else if p.period <= ac.delay {
			errs = append(errs, fmt.Errorf("tag.creation-delay %s must be shorter than the tag period %s", ac.delay, p.period))
		}
		ac.period = p
	}
	return ac, errors.Join(errs...)
}

// loadZone resolves a Java zone id: a region ("Asia/Shanghai") or an offset ("GMT+08:00",
// "UTC-8", "+05:30").
func loadZone(id string) (*time.Location, error) {
	if z, err := time.LoadLocation(id); err == nil {
		return z, nil
	}
	m := zoneOffset.FindStringSubmatch(id)
	if m == nil {
		return nil, fmt.Errorf("unknown time zone %q", id)
	}
	h, _ := strconv.Atoi(m[3])
	mins := 0
	if m[4] != "" {
		mins, _ = strconv.Atoi(m[4])
	}
	off := h*3600 + mins*60
	if m[2] == "-" {
		off = -off
	}
	return time.FixedZone(id, off), nil
}

var zoneOffset = regexp.MustCompile(`^(GMT|UTC|UT)?([+-])(\d{1,2})(?::?(\d{2}))?$`)

// tagPeriod is Paimon's TagPeriodHandler: tag times are wall-clock times (Java's
// LocalDateTime), held here as UTC times.
type tagPeriod struct {
	period time.Duration
	layout string
	daily  bool
}

func newTagPeriod(get func(string) (string, bool)) (*tagPeriod, error) {
	formatter := "with_dashes"
	if v, ok := get("tag.period-formatter"); ok {
		formatter = strings.ToLower(v)
	}
	switch formatter {
	case "with_dashes", "without_dashes", "without_dashes_and_spaces":
	default:
		return nil, fmt.Errorf("tag.period-formatter %q: use with_dashes, without_dashes or without_dashes_and_spaces", formatter)
	}
	if v, ok := get("tag.creation-period-duration"); ok {
		d, err := ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("tag.creation-period-duration %q: not a duration", v)
		}
		return &tagPeriod{period: d, layout: "200601021504"}, nil
	}
	period := "daily"
	if v, ok := get("tag.creation-period"); ok {
		period = strings.ToLower(v)
	}
	switch period {
	case "daily":
		layout := "2006-01-02"
		if formatter != "with_dashes" {
			layout = "20060102"
		}
		return &tagPeriod{period: 24 * time.Hour, layout: layout, daily: true}, nil
	case "hourly":
		layout := map[string]string{"with_dashes": "2006-01-02 15", "without_dashes": "20060102 15", "without_dashes_and_spaces": "2006010215"}[formatter]
		return &tagPeriod{period: time.Hour, layout: layout}, nil
	case "two-hours":
		return &tagPeriod{period: 2 * time.Hour, layout: "2006-01-02 15"}, nil
	}
	return nil, fmt.Errorf("tag.creation-period %q: use daily, hourly or two-hours", period)
}

// tagToTime parses an auto-created tag's name; ok is false for other names. Parsing is
// strict, as Java's formatters are: the name must be exactly what timeToTag would write.
func (p *tagPeriod) tagToTime(name string) (time.Time, bool) {
	s := name
	if p.daily {
		s, _, _ = strings.Cut(name, " ")
	}
	tm, err := time.Parse(p.layout, s)
	if err != nil || tm.Format(p.layout) != s {
		return time.Time{}, false
	}
	return tm, true
}

func (p *tagPeriod) isAutoTag(name string) bool { _, ok := p.tagToTime(name); return ok }

func (p *tagPeriod) timeToTag(tm time.Time) string { return tm.Format(p.layout) }

func (p *tagPeriod) next(tm time.Time) time.Time { return tm.Add(p.period) }

// normalizeToPreviousTag is the start of the period before the one holding tm.
func (p *tagPeriod) normalizeToPreviousTag(tm time.Time) time.Time {
	ms := tm.UnixMilli()
	pm := p.period.Milliseconds()
	return time.UnixMilli((ms / pm) * pm).UTC().Add(-p.period)
}

// wallClock is the wall-clock time of instant ms in zone, as a UTC time.
func wallClock(ms int64, zone *time.Location) time.Time {
	z := time.UnixMilli(ms).In(zone)
	return time.Date(z.Year(), z.Month(), z.Day(), z.Hour(), z.Minute(), z.Second(), z.Nanosecond(), time.UTC)
}

func localWallClock(now time.Time) time.Time {
	z := now.In(time.Local)
	return time.Date(z.Year(), z.Month(), z.Day(), z.Hour(), z.Minute(), z.Second(), z.Nanosecond(), time.UTC)
}

// autoTagProgress remembers, per table, how far AutoTag has looked, so that each call
// reads only the new snapshots (Paimon's TagAutoCreation keeps this in memory too).
var autoTagProgress = struct {
	sync.Mutex
	m map[string]autoTagState
}{m: map[string]autoTagState{}}

type autoTagState struct {
	lastTag      string // the newest auto-created tag when the state was saved
	nextSnapshot int64
	seenTime     int64 // timeMillis of snapshot nextSnapshot-1, to notice a rollback
}

func (t *Table) progressKey() string { return fmt.Sprintf("%p|%s", t.fio, t.path) }

// autoCreateTags is Paimon's TagAutoCreation.run.
func (t *Table) autoCreateTags(ctx context.Context, ac *autoTagConfig, now time.Time, res *AutoTagResult) error {
	names, err := t.TagNames(ctx)
	if err != nil {
		return err
	}
	var lastTag string
	var lastTime time.Time
	for _, n := range names {
		if tm, ok := ac.period.tagToTime(n); ok && (lastTag == "" || tm.After(lastTime)) {
			lastTag, lastTime = n, tm
		}
	}
	var nextSnapshot int64 = 1
	var nextTag *time.Time
	if lastTag == "" {
		if e, ok, err := t.EarliestSnapshotID(ctx); err != nil {
			return err
		} else if ok {
			nextSnapshot = e
		}
	} else {
		tag, err := t.Tag(ctx, lastTag)
		if err != nil {
			return err
		}
		nextSnapshot = tag.ID + 1
		nt := ac.period.next(lastTime)
		nextTag = &nt
	}
	key := t.progressKey()
	autoTagProgress.Lock()
	st, ok := autoTagProgress.m[key]
	autoTagProgress.Unlock()
	if ok && st.lastTag == lastTag && st.nextSnapshot > nextSnapshot {
		s, err := t.Snapshot(ctx, st.nextSnapshot-1)
		switch {
		case err == nil && s.TimeMillis == st.seenTime:
			nextSnapshot = st.nextSnapshot
		case errors.Is(err, ErrNotFound):
			if e, ok, err := t.EarliestSnapshotID(ctx); err == nil && ok && e >= st.nextSnapshot {
				nextSnapshot = st.nextSnapshot
			}
		}
	}
	var seenTime int64
	for {
		s, err := t.Snapshot(ctx, nextSnapshot)
		if errors.Is(err, ErrNotFound) {
			e, ok, err := t.EarliestSnapshotID(ctx)
			if err != nil {
				return err
			}
			if ok && e > nextSnapshot {
				nextSnapshot = e // expired meanwhile
				continue
			}
			break
		}
		if err != nil {
			return err
		}
		created, err := t.tryAutoTag(ctx, ac, s, &nextTag, now, res)
		if err != nil {
			return err
		}
		if created != "" {
			lastTag = created
		}
		seenTime = s.TimeMillis
		nextSnapshot++
	}
	autoTagProgress.Lock()
	if seenTime != 0 {
		autoTagProgress.m[key] = autoTagState{lastTag: lastTag, nextSnapshot: nextSnapshot, seenTime: seenTime}
	}
	autoTagProgress.Unlock()
	return nil
}

// tryAutoTag is Paimon's TagAutoCreation.tryToCreateTags for one snapshot; it returns the
// name of the tag it made the newest auto-created one ("" if none).
func (t *Table) tryAutoTag(ctx context.Context, ac *autoTagConfig, s *format.Snapshot, nextTag **time.Time, now time.Time, res *AutoTagResult) (string, error) {
	var tm time.Time
	if ac.mode == "watermark" {
		if s.Watermark == nil || *s.Watermark == math.MinInt64 {
			return "", nil
		}
		tm = wallClock(*s.Watermark, ac.watermarkZone)
	} else {
		tm = wallClock(s.TimeMillis, ac.processZone)
	}
	if *nextTag != nil && tm.Add(-ac.delay).Before(ac.period.next(**nextTag)) {
		return "", nil
	}
	thisTag := ac.period.normalizeToPreviousTag(tm)
	if ac.completion && *nextTag != nil {
		thisTag = **nextTag
	}
	name := ac.period.timeToTag(thisTag)
	_, created, err := t.createTag(ctx, s, name, ac.defaultRetained, true, now)
	if err != nil {
		return "", err
	}
	if created {
		res.Created = append(res.Created, name)
	}
	nt := ac.period.next(thisTag)
	*nextTag = &nt
	if ac.numRetainedMax >= 0 {
		tags, err := t.taggedSnapshots(ctx, t.path)
		if err != nil {
			return "", err
		}
		type auto struct {
			name string
			snap *format.Snapshot
		}
		var autos []auto
		for _, tag := range tags {
			var names []string
			for _, n := range tag.names {
				if ac.period.isAutoTag(n) {
					names = append(names, n)
				}
			}
			if len(names) > 1 {
				return "", fmt.Errorf("snapshot %d has more than one auto-created tag: %v", tag.snap.ID, names)
			}
			if len(names) == 1 {
				autos = append(autos, auto{names[0], tag.snap})
			}
		}
		for i := 0; i < len(autos)-ac.numRetainedMax; i++ {
			del, err := t.deleteTag(ctx, autos[i].name, trimTag(autos[i].snap))
			if del != nil {
				res.Deleted.add(*del)
			}
			if err != nil {
				return "", err
			}
			res.DeletedTags = append(res.DeletedTags, autos[i].name)
		}
	}
	return name, nil
}

// batchTag is Paimon's TagBatchCreation: tag the latest snapshot, replacing a tag of the
// same name, then keep at most tag.num-retained-max tags.
func (t *Table) batchTag(ctx context.Context, ac *autoTagConfig, now time.Time, res *AutoTagResult) error {
	latest, err := t.LatestSnapshot(ctx)
	if err != nil || latest == nil {
		return err
	}
	name := ac.batchName
	if name == "" {
		name = "batch-write-" + wallClock(latest.TimeMillis, ac.processZone).Format("2006-01-02")
	}
	if old, err := t.Tag(ctx, name); err == nil {
		del, err := t.deleteTag(ctx, name, trimTag(old))
		if del != nil {
			res.Deleted.add(*del)
		}
		if err != nil {
			return err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, created, err := t.createTag(ctx, latest, name, ac.defaultRetained, false, now); err != nil {
		return err
	} else if created {
		res.Created = append(res.Created, name)
	}
	if ac.numRetainedMax < 0 {
		return nil
	}
	tags, err := t.readTags(ctx, t.path)
	if err != nil {
		return err
	}
	if len(tags) <= ac.numRetainedMax {
		return nil
	}
	// Oldest snapshot first; tags of one snapshot by the age of their files.
	mod := map[string]time.Time{}
	for _, tag := range tags {
		if st, err := t.fio.Stat(ctx, t.Join(format.TagPath(tag.Name))); err == nil {
			mod[tag.Name] = st.ModTime
		}
	}
	sort.SliceStable(tags, func(i, j int) bool {
		if tags[i].SnapshotID != tags[j].SnapshotID {
			return tags[i].SnapshotID < tags[j].SnapshotID
		}
		return mod[tags[i].Name].Before(mod[tags[j].Name])
	})
	for _, tag := range tags[:len(tags)-ac.numRetainedMax] {
		del, err := t.deleteTag(ctx, tag.Name, trimTag(tag.Snapshot))
		if del != nil {
			res.Deleted.add(*del)
		}
		if err != nil {
			return err
		}
		res.DeletedTags = append(res.DeletedTags, tag.Name)
	}
	return nil
}

// expireTagsByTime is Paimon's TagTimeExpire: delete tags whose tagCreateTime plus
// tagTimeRetained is before now (both wall-clock times of the local zone).
func (t *Table) expireTagsByTime(ctx context.Context, now time.Time, res *AutoTagResult) error {
	tags, err := t.readTags(ctx, t.path)
	if err != nil {
		return err
	}
	wall := localWallClock(now)
	for _, tag := range tags {
		if tag.CreateTime.IsZero() || tag.TimeRetained <= 0 || !wall.After(tag.CreateTime.Add(tag.TimeRetained)) {
			continue
		}
		del, err := t.deleteTag(ctx, tag.Name, trimTag(tag.Snapshot))
		if del != nil {
			res.Deleted.add(*del)
		}
		if err != nil {
			return err
		}
		res.DeletedTags = append(res.DeletedTags, tag.Name)
	}
	return nil
}

// javaLocalDateTimeJSON writes a wall-clock time as Jackson writes a LocalDateTime:
// [year, month, day, hour, minute(, second(, nanos))], pretty printed.
func javaLocalDateTimeJSON(tm time.Time) json.RawMessage {
	parts := []int{tm.Year(), int(tm.Month()), tm.Day(), tm.Hour(), tm.Minute()}
	if tm.Second() > 0 || tm.Nanosecond() > 0 {
		parts = append(parts, tm.Second())
		if tm.Nanosecond() > 0 {
			parts = append(parts, tm.Nanosecond())
		}
	}
	var b strings.Builder
	b.WriteString("[ ")
	for i, p := range parts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p))
	}
	b.WriteString(" ]")
	return json.RawMessage(b.String())
}

// javaDurationJSON writes a duration as Jackson writes a java.time.Duration: seconds with
// nine decimals.
func javaDurationJSON(d time.Duration) json.RawMessage {
	return json.RawMessage(fmt.Sprintf("%d.%09d", int64(d/time.Second), int64(d%time.Second)))
}

func parseJavaLocalDateTime(raw json.RawMessage) (time.Time, error) {
	var parts []int
	if err := json.Unmarshal(raw, &parts); err == nil {
		if len(parts) < 5 || len(parts) > 7 {
			return time.Time{}, fmt.Errorf("%s: want [year, month, day, hour, minute, second, nanos]", raw)
		}
		parts = append(parts, 0, 0)
		return time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], parts[6], time.UTC), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("%s: not a date-time", raw)
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: not a date-time", s)
}

func parseJavaDuration(raw json.RawMessage) (time.Duration, error) {
	var num json.Number
	if err := json.Unmarshal(raw, &num); err == nil {
		secs, frac, _ := strings.Cut(num.String(), ".")
		s, err := strconv.ParseInt(secs, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: not a duration", raw)
		}
		var ns int64
		if frac != "" {
			frac = (frac + "000000000")[:9]
			if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
				return 0, fmt.Errorf("%s: not a duration", raw)
			}
		}
		return time.Duration(s)*time.Second + time.Duration(ns), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s: not a duration", raw)
	}
	return parseISODuration(s)
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration parses the ISO-8601 form Java's Duration.toString writes ("PT1H30M").
func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || s == "PT" {
		return 0, fmt.Errorf("%q: not a duration", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, _ := strconv.ParseInt(m[i+1], 10, 64)
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		f, _ := strconv.ParseFloat(m[4], 64)
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}

package table_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// Helpers shared by the snapshot lifecycle tests (expiry, tags, rollback, consumers,
// orphan files).

// lcEnv is a storage the lifecycle tests run on.
type lcEnv struct {
	name string
	open func(t *testing.T) (fileio.FileIO, string)
}

var lcEnvs = []lcEnv{
	{"local", func(t *testing.T) (fileio.FileIO, string) { return fileio.NewLocal(), t.TempDir() }},
	{"memory", func(t *testing.T) (fileio.FileIO, string) { return fileio.NewMemory(), "/warehouse" }},
}

func lcColumns(t testing.TB, cols string) []types.DataField {
	t.Helper()
	f, err := types.ParseColumns(cols)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// lcCreatePK creates a primary-key table (id, dt) partitioned by dt with 2 buckets.
func lcCreatePK(t testing.TB, fio fileio.FileIO, wh string, opts map[string]string) *table.Table {
	t.Helper()
	o := map[string]string{"bucket": "2"}
	for k, v := range opts {
		o[k] = v
	}
	tbl, err := catalog.New(fio, wh).CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: "t"}, catalog.TableSpec{
		Fields: lcColumns(t, "id INT NOT NULL, v STRING, dt STRING NOT NULL"), PrimaryKeys: []string{"id", "dt"}, PartitionKeys: []string{"dt"}, Options: o,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// lcWrite writes rows and commits them; with changelog, each new data file is also
// committed as a changelog file (a copy named changelog-...).
func lcWrite(t testing.TB, tbl *table.Table, rows string, changelog, overwrite bool) int64 {
	t.Helper()
	id, err := lcTryWrite(t, tbl, rows, changelog, overwrite)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func lcTryWrite(t testing.TB, tbl *table.Table, rows string, changelog, overwrite bool) (int64, error) {
	ctx := context.Background()
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		return 0, err
	}
	defer w.Close()
	schema := w.Schema()
	b := arrowtest.Batch(t, schema.Fields, false, rows)
	defer b.Release()
	if err := w.Write(ctx, b); err != nil {
		return 0, err
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		return 0, err
	}
	if changelog {
		for i := range msgs {
			dir := lcBucketDir(t, tbl, schema, msgs[i].Partition, int32(msgs[i].Bucket))
			for _, f := range msgs[i].NewFiles {
				data, err := tbl.FileIO().ReadFile(ctx, fileio.Join(dir, f.FileName))
				if err != nil {
					return 0, err
				}
				cf := f
				cf.FileName = "changelog-" + strings.TrimPrefix(f.FileName, "data-")
				if err := tbl.FileIO().WriteFile(ctx, fileio.Join(dir, cf.FileName), data); err != nil {
					return 0, err
				}
				msgs[i].ChangelogFiles = append(msgs[i].ChangelogFiles, cf)
			}
		}
	}
	res, err := tbl.Commit(ctx, table.Commit{User: "lifecycle-test", Identifier: format.BatchCommitIdentifier, Messages: msgs, Overwrite: overwrite})
	if err != nil {
		return 0, err
	}
	return res.SnapshotID, nil
}

func lcCompact(t testing.TB, tbl *table.Table) int64 {
	t.Helper()
	sum, err := tbl.Compact(context.Background(), table.CompactOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.SnapshotID == 0 {
		t.Fatal("compaction committed nothing")
	}
	return sum.SnapshotID
}

func lcBucketDir(t testing.TB, tbl *table.Table, schema *format.TableSchema, partition []byte, bucket int32) string {
	t.Helper()
	var values []any
	if fields := schema.PartitionType(); len(fields) > 0 {
		row, err := binaryrow.Deserialize(partition)
		if err != nil {
			t.Fatal(err)
		}
		if values, err = row.Values(fields); err != nil {
			t.Fatal(err)
		}
	}
	opts := table.ParseCoreOptions(schema.Options)
	return tbl.Join(table.PartitionDir(schema, values, opts.PartitionDefaultName, opts.PartitionLegacyName), format.BucketDir(int(bucket)))
}

// lcScan reads a snapshot (or tag) as sorted JSON Lines.
func lcScan(t testing.TB, tbl *table.Table, o table.ScanOptions) string {
	t.Helper()
	s, err := lcTryScan(tbl, o)
	if err != nil {
		t.Fatalf("read %+v: %v", o, err)
	}
	return s
}

func lcTryScan(tbl *table.Table, o table.ScanOptions) (string, error) {
	ctx := context.Background()
	plan, err := tbl.Plan(ctx, o)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w, err := render.NewWriter(&buf, render.JSONL, plan.Schema.Fields, true, nil)
	if err != nil {
		return "", err
	}
	for i := range plan.Splits {
		r, err := tbl.ReadSplit(ctx, plan, &plan.Splits[i], table.ReadOptions{})
		if err != nil {
			return "", err
		}
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return "", err
			}
			err = w.Write(b)
			b.Release()
			if err != nil {
				r.Close()
				return "", err
			}
		}
		if err := r.Close(); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// lcFiles lists every file under the table, relative to its root.
func lcFiles(t testing.TB, tbl *table.Table) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := tbl.FileIO().List(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir {
				walk(e.Path)
				continue
			}
			out[strings.TrimPrefix(e.Path, tbl.Path()+"/")] = true
		}
	}
	walk(tbl.Path())
	return out
}

// lcReferenced computes, independently of the code under test, the files the table's
// snapshots, tags and consumers need (relative to the table root), plus schemas and hints.
func lcReferenced(t testing.TB, tbl *table.Table) map[string]bool {
	t.Helper()
	ctx := context.Background()
	out := map[string]bool{}
	ids, err := tbl.SchemaIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		out[format.SchemaPath(id)] = true
	}
	for _, h := range []string{format.EarliestHint, format.LatestHint} {
		if ok, _ := fileio.Exists(ctx, tbl.FileIO(), tbl.Join(format.SnapshotDir, h)); ok {
			out[format.SnapshotDir+"/"+h] = true
		}
	}
	consumers, err := tbl.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		out[format.ConsumerPath(c.ID)] = true
	}
	type held struct {
		file string
		snap *format.Snapshot
		tag  bool // a tag holds its snapshot's data, not its changelog (which expiry deletes)
	}
	var all []held
	snapIDs, err := tbl.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range snapIDs {
		s, err := tbl.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, held{format.SnapshotPath(id), s, false})
	}
	tags, err := tbl.ListTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		all = append(all, held{format.TagPath(tag.Name), tag.Snapshot, true})
	}
	for _, h := range all {
		out[h.file] = true
		schema, err := tbl.Schema(ctx, h.snap.SchemaID)
		if err != nil {
			t.Fatal(err)
		}
		readList := func(name string) []manifest.ManifestEntry {
			out[format.ManifestPath(name)] = true
			metas, err := tbl.ReadManifestList(ctx, name)
			if err != nil {
				t.Fatalf("%s: %v", h.file, err)
			}
			var es []manifest.ManifestEntry
			for _, m := range metas {
				out[format.ManifestPath(m.FileName)] = true
				e, err := tbl.ReadManifest(ctx, m.FileName)
				if err != nil {
					t.Fatalf("%s: %v", h.file, err)
				}
				es = append(es, e...)
			}
			return es
		}
		rel := func(e *manifest.ManifestEntry) string {
			return strings.TrimPrefix(fileio.Join(lcBucketDir(t, tbl, schema, e.Partition, e.Bucket), e.File.FileName), tbl.Path()+"/")
		}
		entries := append(readList(h.snap.BaseManifestList), readList(h.snap.DeltaManifestList)...)
		live, err := manifest.MergeEntries(entries)
		if err != nil {
			t.Fatal(err)
		}
		for i := range live {
			if live[i].Kind == manifest.FileKindAdd {
				out[rel(&live[i])] = true
			}
		}
		if h.snap.ChangelogManifestList != nil && !h.tag {
			cl := readList(*h.snap.ChangelogManifestList)
			for i := range cl {
				out[rel(&cl[i])] = true
			}
		}
		if h.snap.IndexManifest != nil {
			out[format.ManifestPath(*h.snap.IndexManifest)] = true
			es, err := tbl.ReadIndexManifest(ctx, *h.snap.IndexManifest)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				out[format.IndexPath(e.IndexFile.FileName)] = true
			}
		}
	}
	return out
}

// lcAssertExact checks that the table holds exactly the files its snapshots, tags and
// consumers need.
func lcAssertExact(t testing.TB, tbl *table.Table) {
	t.Helper()
	have, want := lcFiles(t, tbl), lcReferenced(t, tbl)
	var extra, missing []string
	for f := range have {
		if !want[f] {
			extra = append(extra, f)
		}
	}
	for f := range want {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(extra)+len(missing) > 0 {
		t.Fatalf("files not exactly those needed:\nunreferenced: %v\nmissing: %v", extra, missing)
	}
}

func lcSnapshotIDs(t testing.TB, tbl *table.Table) []int64 {
	t.Helper()
	ids, err := tbl.SnapshotIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func lcRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func lcEqualIDs(a, b []int64) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// lcHistory builds the standard history and returns what each snapshot holds:
//
//	1 append (with changelog)   2 append   3 overwrite (deletes every file)   4 append
//	5 update (with changelog)   6 full compaction   7 append   8 append
func lcHistory(t testing.TB, tbl *table.Table) map[int64]string {
	t.Helper()
	content := map[int64]string{}
	record := func(id int64) { content[id] = lcScan(t, tbl, table.ScanOptions{SnapshotID: id}) }
	record(lcWrite(t, tbl, `[{"id":1,"v":"a","dt":"x"},{"id":2,"v":"b","dt":"x"},{"id":3,"v":"c","dt":"y"}]`, true, false))
	record(lcWrite(t, tbl, `[{"id":4,"v":"d","dt":"y"},{"id":5,"v":"e","dt":"z"}]`, false, false))
	record(lcWrite(t, tbl, `[{"id":1,"v":"A","dt":"x"},{"id":6,"v":"f","dt":"y"}]`, false, true))
	record(lcWrite(t, tbl, `[{"id":7,"v":"g","dt":"x"}]`, false, false))
	record(lcWrite(t, tbl, `[{"id":1,"v":"AA","dt":"x"},{"id":8,"v":"h","dt":"z"}]`, true, false))
	record(lcCompact(t, tbl))
	record(lcWrite(t, tbl, `[{"id":9,"v":"i","dt":"y"}]`, false, false))
	record(lcWrite(t, tbl, `[{"id":7,"v":"G","dt":"x"}]`, false, false))
	if len(content) != 8 {
		t.Fatalf("history made %d snapshots", len(content))
	}
	return content
}

// lcAssertReadable reads every snapshot and tag and compares with the content recorded
// when it was committed.
func lcAssertReadable(t testing.TB, tbl *table.Table, content map[int64]string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range lcSnapshotIDs(t, tbl) {
		if got := lcScan(t, tbl, table.ScanOptions{SnapshotID: id}); got != content[id] {
			t.Fatalf("snapshot %d reads\n%s\nwant\n%s", id, got, content[id])
		}
	}
	tags, err := tbl.ListTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if got := lcScan(t, tbl, table.ScanOptions{Tag: tag.Name}); got != content[tag.SnapshotID] {
			t.Fatalf("tag %s (snapshot %d) reads\n%s\nwant\n%s", tag.Name, tag.SnapshotID, got, content[tag.SnapshotID])
		}
	}
}

var lcFuture = time.Now().Add(24 * time.Hour) // every snapshot is older than any time-retained

func TestExpireSnapshots(t *testing.T) {
	tests := []struct {
		name      string
		tags      map[string]int64
		consumers map[string]int64
		opts      table.ExpireOptions
		want      []int64 // snapshots left
		expired   int
	}{
		{name: "retain-min", opts: table.ExpireOptions{RetainMin: 3, Now: lcFuture}, want: lcRange(6, 8), expired: 5},
		{name: "defaults keep young snapshots", opts: table.ExpireOptions{RetainMin: 1}, want: lcRange(1, 8)},
		{name: "retain-max overrides time", opts: table.ExpireOptions{RetainMin: 1, RetainMax: 4}, want: lcRange(5, 8), expired: 4},
		{name: "limit", opts: table.ExpireOptions{RetainMin: 1, Limit: 2, Now: lcFuture}, want: lcRange(3, 8), expired: 2},
		{name: "tags keep their files", tags: map[string]int64{"t1": 1, "t3": 3, "t5": 5}, opts: table.ExpireOptions{RetainMin: 2, Now: lcFuture}, want: lcRange(7, 8), expired: 6},
		{name: "consumer keeps its snapshots", consumers: map[string]int64{"reader": 4, "late": 7}, opts: table.ExpireOptions{RetainMin: 1, Now: lcFuture}, want: lcRange(4, 8), expired: 3},
		{name: "dry run deletes nothing", opts: table.ExpireOptions{RetainMin: 2, Now: lcFuture, DryRun: true}, want: lcRange(1, 8), expired: 6},
		{name: "everything but the latest", tags: map[string]int64{"t6": 6}, opts: table.ExpireOptions{RetainMin: 1, Now: lcFuture}, want: []int64{8}, expired: 7},
	}
	for _, env := range lcEnvs {
		for _, tt := range tests {
			t.Run(env.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				fio, wh := env.open(t)
				tbl := lcCreatePK(t, fio, wh, nil)
				content := lcHistory(t, tbl)
				for name, id := range tt.tags {
					if _, err := tbl.CreateTag(ctx, name, id, 0); err != nil {
						t.Fatal(err)
					}
				}
				for id, next := range tt.consumers {
					if _, err := tbl.RegisterConsumer(ctx, id, next); err != nil {
						t.Fatal(err)
					}
				}
				before := lcFiles(t, tbl)
				res, err := tbl.ExpireSnapshots(ctx, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Expired) != tt.expired {
					t.Errorf("expired %v, want %d snapshots", res.Expired, tt.expired)
				}
				if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, tt.want) {
					t.Fatalf("snapshots left %v, want %v", got, tt.want)
				}
				lcAssertReadable(t, tbl, content)
				if tt.opts.DryRun {
					if after := lcFiles(t, tbl); len(after) != len(before) {
						t.Fatalf("dry run deleted files: %d -> %d", len(before), len(after))
					}
					if res.Deleted.Files() == 0 {
						t.Fatal("dry run reported nothing to delete")
					}
					// What the dry run reported is what a real run deletes.
					real, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 2, Now: lcFuture})
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(sorted(real.Deleted.Paths)) != fmt.Sprint(sorted(res.Deleted.Paths)) || real.Deleted.Bytes != res.Deleted.Bytes {
						t.Fatalf("dry run reported %d files (%d bytes), the real run deleted %d (%d bytes)",
							res.Deleted.Files(), res.Deleted.Bytes, real.Deleted.Files(), real.Deleted.Bytes)
					}
				}
				lcAssertExact(t, tbl)
				for _, p := range res.Deleted.Paths {
					if !strings.HasPrefix(p, tbl.Path()+"/") {
						t.Fatalf("deleted %s outside the table", p)
					}
				}
				earliest := lcSnapshotIDs(t, tbl)[0]
				if hint, err := fio.ReadFile(ctx, tbl.Join("snapshot", "EARLIEST")); err != nil || string(hint) != fmt.Sprint(earliest) {
					t.Errorf("EARLIEST hint %q (%v), want %d", hint, err, earliest)
				}
				// Expiring again changes nothing (but the limit lets the next run go on).
				again, err := tbl.ExpireSnapshots(ctx, tt.opts)
				if err != nil || (!tt.opts.DryRun && tt.opts.Limit == 0 && (len(again.Expired) != 0 || again.Deleted.Files() != 0)) {
					t.Fatalf("second expiry: %+v %v", again, err)
				}
			})
		}
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func TestExpireOptionsFromTable(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]string
		want    []int64
		wantErr string
	}{
		{name: "table retention", opts: map[string]string{"snapshot.num-retained.min": "2", "snapshot.time-retained": "1 ms"}, want: lcRange(7, 8)},
		{name: "changelog min above max", opts: map[string]string{"snapshot.num-retained.min": "2", "snapshot.num-retained.max": "3", "changelog.num-retained.min": "4"}, wantErr: "changelog.num-retained.max (3) must not be less than"},
		{name: "expire limit", opts: map[string]string{"snapshot.num-retained.min": "1", "snapshot.time-retained": "1ms", "snapshot.expire.limit": "3"}, want: lcRange(4, 8)},
		{name: "min above max", opts: map[string]string{"snapshot.num-retained.min": "5", "snapshot.num-retained.max": "3"}, wantErr: "must not be less than"},
		{name: "bad duration", opts: map[string]string{"snapshot.time-retained": "soon"}, wantErr: "snapshot.time-retained"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := lcCreatePK(t, fileio.NewMemory(), "/wh", tt.opts)
			lcHistory(t, tbl)
			time.Sleep(5 * time.Millisecond)
			_, err := tbl.ExpireSnapshots(context.Background(), table.ExpireOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, tt.want) {
				t.Fatalf("snapshots left %v, want %v", got, tt.want)
			}
			lcAssertExact(t, tbl)
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"1 h", time.Hour, false}, {"30min", 30 * time.Minute, false}, {"2 d", 48 * time.Hour, false},
		{"1000", time.Second, false}, {"5 s", 5 * time.Second, false}, {"3 m", 3 * time.Minute, false},
		{"7 days", 7 * 24 * time.Hour, false}, {"1h30m", 90 * time.Minute, false}, {"10 ms", 10 * time.Millisecond, false},
		{"", 0, true}, {"h", 0, true}, {"3 fortnights", 0, true},
	}
	for _, tt := range tests {
		got, err := table.ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// failingFS fails every deletion after the first n, simulating a crash mid-operation.
type failingFS struct {
	fileio.FileIO
	left atomic.Int64
}

var errCrash = errors.New("simulated crash")

func (f *failingFS) Delete(ctx context.Context, p string) error {
	if f.left.Add(-1) < 0 {
		return errCrash
	}
	return f.FileIO.Delete(ctx, p)
}

// An expiry interrupted after any number of deletions leaves every remaining snapshot and
// tag readable; running it again finishes the job, and orphan cleaning removes what the
// interruption left, so that the table ends with exactly the files it needs.
func TestExpireInterrupted(t *testing.T) {
	for _, env := range lcEnvs {
		for _, after := range []int64{0, 1, 2, 4, 8, 16, 32} {
			t.Run(fmt.Sprintf("%s/after-%d-deletions", env.name, after), func(t *testing.T) {
				ctx := context.Background()
				fio, wh := env.open(t)
				tbl := lcCreatePK(t, fio, wh, nil)
				content := lcHistory(t, tbl)
				if _, err := tbl.CreateTag(ctx, "keep", 3, 0); err != nil {
					t.Fatal(err)
				}
				ffs := &failingFS{FileIO: fio}
				ffs.left.Store(after)
				crashing, err := table.Open(ctx, ffs, tbl.Path())
				if err != nil {
					t.Fatal(err)
				}
				opts := table.ExpireOptions{RetainMin: 2, Now: lcFuture}
				if _, err := crashing.ExpireSnapshots(ctx, opts); err != nil && !errors.Is(err, errCrash) {
					t.Fatal(err)
				}
				lcAssertReadable(t, tbl, content)
				if _, err := tbl.ExpireSnapshots(ctx, opts); err != nil {
					t.Fatal(err)
				}
				lcAssertReadable(t, tbl, content)
				if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, lcRange(7, 8)) {
					t.Fatalf("snapshots left %v", got)
				}
				if _, err := tbl.CleanOrphans(ctx, time.Nanosecond, false); err != nil {
					t.Fatal(err)
				}
				lcAssertExact(t, tbl)
				lcAssertReadable(t, tbl, content)
			})
		}
	}
}

// Readers that register a consumer on the snapshot they read never miss a file while
// commits and expiry run concurrently.
func TestExpireConcurrentWithCommitsAndReaders(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl, err := catalog.New(fio, wh).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "a"}, catalog.TableSpec{
				Fields: lcColumns(t, "k INT, g INT"),
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			// Snapshot i holds the rows of commits since the last overwrite (every 4th).
			const commits = 40
			want := func(id int64) int {
				if id < 4 {
					return int(id)
				}
				return int(id - (id/4)*4 + 1)
			}
			var done atomic.Bool
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			report := func(err error) {
				select {
				case errs <- err:
				default:
				}
			}
			wg.Add(1)
			go func() { // committer
				defer wg.Done()
				defer done.Store(true)
				for i := int64(1); i <= commits; i++ {
					id, err := lcTryWrite(t, tbl, fmt.Sprintf(`[{"k":%d,"g":1}]`, i), false, i%4 == 0)
					if err != nil {
						report(fmt.Errorf("commit %d: %w", i, err))
						return
					}
					if id != i {
						report(fmt.Errorf("commit %d made snapshot %d", i, id))
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
			var expired atomic.Int64
			wg.Add(1)
			go func() { // expirer
				defer wg.Done()
				for !done.Load() {
					res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture})
					if err != nil {
						report(fmt.Errorf("expire: %w", err))
						return
					}
					expired.Add(int64(len(res.Expired)))
				}
			}()
			var reads atomic.Int64
			for r := 0; r < 3; r++ {
				wg.Add(1)
				go func(r int) { // readers
					defer wg.Done()
					id := fmt.Sprintf("reader-%d", r)
					defer tbl.DeleteConsumer(ctx, id)
					for !done.Load() {
						latest, ok, err := tbl.LatestSnapshotID(ctx)
						if err != nil || !ok {
							continue
						}
						n := max(latest-int64(r), 1) // some readers lag behind
						snap, err := tbl.RegisterConsumer(ctx, id, n)
						if errors.Is(err, table.ErrNotFound) {
							continue // expired before we got it: take a newer one
						}
						if err != nil || snap == nil {
							report(fmt.Errorf("%s: register %d: %v", id, n, err))
							return
						}
						for pass := 0; pass < 2; pass++ {
							got, err := lcTryScan(tbl, table.ScanOptions{SnapshotID: n})
							if err != nil {
								report(fmt.Errorf("%s: read snapshot %d: %w", id, n, err))
								return
							}
							if rows := strings.Count(got, "\n"); rows != want(n) {
								report(fmt.Errorf("%s: snapshot %d has %d rows, want %d", id, n, rows, want(n)))
								return
							}
							reads.Add(1)
							time.Sleep(5 * time.Millisecond) // hold it while commits and expiry go on
						}
					}
				}(r)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if expired.Load() == 0 || reads.Load() == 0 {
				t.Fatalf("nothing happened: %d snapshots expired, %d reads", expired.Load(), reads.Load())
			}
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, []int64{commits}) {
				t.Fatalf("snapshots left %v", got)
			}
			lcAssertExact(t, tbl)
			t.Logf("%d snapshots expired while readers read %d times", expired.Load(), reads.Load())
		})
	}
}

// oracleCheck runs Apache Paimon's library on a table (compat/oracle check --all); it
// skips when the oracle cannot run here.
func oracleCheck(t *testing.T, path string) {
	t.Helper()
	if testing.Short() {
		t.Skip("the oracle runs Apache Paimon's Java library; skipped in -short mode")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(filepath.Dir(file)), "compat", "oracle")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("compat/oracle is not there: %v", err)
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "the oracle needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "check", path, "--all")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("compat/oracle check %s: %v\n%s\n%s", path, err, out.String(), errb.String())
	}
	t.Logf("oracle: %s", strings.TrimSpace(out.String()))
}

// Tables with deletion vectors (index manifests and index files): expiry, tag deletion
// and rollback keep exactly what the kept snapshots and tags need.
func TestLifecycleWithDeletionVectors(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, map[string]string{"deletion-vectors.enabled": "true"})
			content := map[int64]string{}
			record := func() {
				for _, id := range lcSnapshotIDs(t, tbl) {
					if _, ok := content[id]; !ok {
						content[id] = lcScan(t, tbl, table.ScanOptions{SnapshotID: id})
					}
				}
			}
			for i := 0; i < 6; i++ {
				lcWrite(t, tbl, fmt.Sprintf(`[{"id":1,"v":"v%d","dt":"x"},{"id":%d,"v":"n","dt":"x"},{"id":2,"v":"w%d","dt":"y"}]`, i, 10+i, i), false, false)
				record()
			}
			index := false
			for id := range content {
				s, err := tbl.Snapshot(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				index = index || s.IndexManifest != nil
			}
			if !index {
				t.Fatal("no snapshot has deletion vectors")
			}
			ids := lcSnapshotIDs(t, tbl)
			mid := ids[len(ids)/2]
			if _, err := tbl.CreateTag(ctx, "mid", mid, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 2, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			lcAssertReadable(t, tbl, content)
			lcAssertExact(t, tbl)
			if _, err := tbl.RollbackToTag(ctx, "mid"); err != nil {
				t.Fatal(err)
			}
			for id := range content {
				if id > mid {
					delete(content, id) // these ids are taken again by new commits
				}
			}
			lcAssertReadable(t, tbl, content)
			lcAssertExact(t, tbl)
			lcWrite(t, tbl, `[{"id":1,"v":"after","dt":"x"}]`, false, false)
			record()
			if _, err := tbl.DeleteTag(ctx, "mid"); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			lcAssertReadable(t, tbl, content)
			lcAssertExact(t, tbl)
		})
	}
}

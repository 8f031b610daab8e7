package table_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	pathpkg "path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/arrowtest"
	"github.com/tarnlake/tarn/table"
)

// TestCommitBuildsOnOtherHandles alternates commits between two handles of one table.
// A handle remembers the snapshot and manifest lists it committed last and builds on
// them without reading them back; each commit must still build on the other handle's
// newer snapshot, so that no commit loses the rows of another.
func TestCommitBuildsOnOtherHandles(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			a := lcCreatePK(t, fio, wh, nil)
			b, err := table.Open(ctx, fio, a.Path())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 6 {
				h := []*table.Table{a, a, b, a, b, b}[i]
				row := fmt.Sprintf(`{"id":%d,"v":"r%d","dt":"x"}`, i, i)
				if id := lcWrite(t, h, "["+row+"]", false, false); id != int64(i+1) {
					t.Fatalf("commit %d made snapshot %d", i, id)
				}
				want = append(want, fmt.Sprintf("%d", i))
				for _, r := range []*table.Table{a, b} {
					latest, err := r.LatestSnapshot(ctx)
					if err != nil || latest == nil || latest.ID != int64(i+1) {
						t.Fatalf("after commit %d the latest snapshot is %+v, %v", i, latest, err)
					}
					got := lcScan(t, r, table.ScanOptions{})
					for _, id := range want {
						if !strings.Contains(got, `"id":`+id+`,`) {
							t.Fatalf("after commit %d the table lacks id %s:\n%s", i, id, got)
						}
					}
				}
			}
		})
	}
}

// countingFS records the storage requests made while on.
type countingFS struct {
	fileio.FileIO
	mu  sync.Mutex
	on  bool
	ops []string
}

func (c *countingFS) rec(op, p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.ops = append(c.ops, op+" "+pathpkg.Base(pathpkg.Dir(p))+"/"+pathpkg.Base(p))
	}
}

func (c *countingFS) Open(ctx context.Context, p string) (fileio.File, error) {
	c.rec("open", p)
	return c.FileIO.Open(ctx, p)
}

func (c *countingFS) ReadFile(ctx context.Context, p string) ([]byte, error) {
	c.rec("read", p)
	return c.FileIO.ReadFile(ctx, p)
}

func (c *countingFS) Create(ctx context.Context, p string) (fileio.Writer, error) {
	c.rec("create", p)
	return c.FileIO.Create(ctx, p)
}

func (c *countingFS) WriteFile(ctx context.Context, p string, data []byte) error {
	c.rec("write", p)
	return c.FileIO.WriteFile(ctx, p, data)
}

func (c *countingFS) CreateIfAbsent(ctx context.Context, p string, data []byte) error {
	c.rec("create-if-absent", p)
	return c.FileIO.CreateIfAbsent(ctx, p, data)
}

func (c *countingFS) Delete(ctx context.Context, p string) error {
	c.rec("delete", p)
	return c.FileIO.Delete(ctx, p)
}

func (c *countingFS) Stat(ctx context.Context, p string) (fileio.FileInfo, error) {
	c.rec("stat", p)
	return c.FileIO.Stat(ctx, p)
}

func (c *countingFS) List(ctx context.Context, p string) ([]fileio.FileInfo, error) {
	c.rec("list", p)
	return c.FileIO.List(ctx, p)
}

// TestCommitStorageRequests pins what a commit that nothing races asks of storage, since
// on S3 every request is a round trip: the manifest, two manifest lists, the snapshot
// and the LATEST hint written; the previous snapshot read and the next one and the next
// schema looked for; nothing listed, no manifest list read back.
func TestCommitStorageRequests(t *testing.T) {
	ctx := context.Background()
	fs := &countingFS{FileIO: fileio.NewMemory()}
	tbl := lcCreatePK(t, fs, "/warehouse", nil)
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 3 {
		msgs := writeOne(t, w, fmt.Sprintf(`[{"id":%d,"v":"a","dt":"x"}]`, i))
		fs.mu.Lock()
		fs.on, fs.ops = i == 2, nil
		fs.mu.Unlock()
		if _, err := tbl.Commit(ctx, table.Commit{User: "u", Identifier: int64(i + 1), Messages: msgs, SchemaID: w.Schema().ID, CheckSchema: true}); err != nil {
			t.Fatal(err)
		}
	}
	fs.mu.Lock()
	ops := slices.Clone(fs.ops)
	fs.mu.Unlock()
	count := map[string]int{}
	for _, op := range ops {
		kind, name, _ := strings.Cut(op, " ")
		switch {
		case kind == "list":
			t.Errorf("the commit listed %s", name)
		case strings.Contains(name, "manifest-list-") && kind != "write":
			t.Errorf("the commit read back a manifest list: %s", op)
		}
		count[kind]++
	}
	want := map[string]int{"write": 4, "create-if-absent": 1, "read": 1, "stat": 2}
	if !maps.Equal(count, want) {
		t.Errorf("storage requests %v, want %v:\n%s", count, want, strings.Join(ops, "\n"))
	}
}

// writeOne writes rows (JSON) with w and prepares their commit.
func writeOne(t *testing.T, w *table.Writer, rows string) []table.CommitMessage {
	t.Helper()
	ctx := context.Background()
	b := arrowtest.Batch(t, w.Schema().Fields, false, rows)
	err := w.Write(ctx, b)
	b.Release()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// losingFS makes every commit lose the race for its snapshot: creating a snapshot file
// fails as if another commit had taken the id.
type losingFS struct {
	fileio.FileIO
	mu       sync.Mutex
	lose     bool
	attempts int
}

func (l *losingFS) CreateIfAbsent(ctx context.Context, p string, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lose && strings.Contains(p, "/snapshot/snapshot-") {
		l.attempts++
		return fmt.Errorf("%s: %w", p, fileio.ErrExist)
	}
	return l.FileIO.CreateIfAbsent(ctx, p, data)
}

// A commit that keeps losing the race gives up after commit.max-retries retries, or once
// commit.timeout has passed, with ErrConflict naming the options (FileStoreCommitImpl).
func TestCommitRetryOptions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		options     map[string]string
		minAttempts int
		maxAttempts int
		maxDuration time.Duration
	}{
		{"max retries", map[string]string{"commit.max-retries": "2", "commit.min-retry-wait": "1 ms", "commit.max-retry-wait": "2 ms"}, 3, 3, 5 * time.Second},
		{"no retry", map[string]string{"commit.max-retries": "0"}, 1, 1, 5 * time.Second},
		{"timeout", map[string]string{"commit.max-retries": "100000", "commit.min-retry-wait": "5 ms", "commit.max-retry-wait": "5 ms", "commit.timeout": "100 ms"}, 2, 30, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &losingFS{FileIO: fileio.NewMemory()}
			tbl := lcCreatePK(t, fs, "/warehouse", tc.options)
			w, err := tbl.NewWriter(ctx, table.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			msgs := writeOne(t, w, `[{"id":1,"v":"a","dt":"x"}]`)
			fs.mu.Lock()
			fs.lose = true
			fs.mu.Unlock()
			start := time.Now()
			_, err = tbl.Commit(ctx, table.Commit{User: "u", Identifier: 1, Messages: msgs})
			took := time.Since(start)
			if !errors.Is(err, table.ErrConflict) || !strings.Contains(err.Error(), "commit.max-retries") {
				t.Fatalf("error %v, want ErrConflict naming the retry options", err)
			}
			if fs.attempts < tc.minAttempts || fs.attempts > tc.maxAttempts || took > tc.maxDuration {
				t.Errorf("%d attempts in %v, want %d to %d within %v", fs.attempts, took, tc.minAttempts, tc.maxAttempts, tc.maxDuration)
			}
		})
	}
}

package table_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// The writer process: when TARN_TEST_WRITER is set, the test binary runs writerMain
// instead of the tests. It commits batches of rows with unique ids to a table and prints
// "ack <snapshot> <first id> <count>" after each acknowledged commit, forever or until
// killed. TARN_TEST_OVERWRITE makes every commit an overwrite of the whole table.
func TestMain(m *testing.M) {
	if os.Getenv("TARN_TEST_WRITER") != "" {
		os.Exit(writerMain())
	}
	os.Exit(m.Run())
}

var concFields = []types.DataField{
	{ID: 0, Name: "id", Type: types.BigIntType().NotNull()},
	{ID: 1, Name: "writer", Type: types.IntType()},
	{ID: 2, Name: "payload", Type: types.StringType()},
}

func writerMain() int {
	ctx := context.Background()
	uri := os.Getenv("TARN_TEST_TABLE")
	wid, _ := strconv.Atoi(os.Getenv("TARN_TEST_WRITER"))
	overwrite := os.Getenv("TARN_TEST_OVERWRITE") != ""
	commits, _ := strconv.Atoi(os.Getenv("TARN_TEST_COMMITS"))
	fio, err := fileio.New(ctx, uri, fileio.Options{MaxRetries: 3})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tbl, err := table.Open(ctx, fio, uri)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	user := fmt.Sprintf("writer-%d-%d", wid, os.Getpid())
	next := int64(wid) * 1_000_000_000
	rng := rand.New(rand.NewPCG(uint64(wid), uint64(os.Getpid())))
	for c := 1; commits == 0 || c <= commits; c++ {
		n := 1 + rng.IntN(50)
		rows := make([]string, n)
		for i := range rows {
			rows[i] = fmt.Sprintf(`{"id":%d,"writer":%d,"payload":"w%d-c%d-%s"}`, next+int64(i), wid, wid, c, strings.Repeat("x", rng.IntN(100)))
		}
		w, err := tbl.NewWriter(ctx, table.WriterOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := writeRows(ctx, w, rows); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		msgs, err := w.PrepareCommit(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("begin %d %d\n", next, n)
		res, err := tbl.Commit(ctx, table.Commit{User: user, Identifier: int64(c), Messages: msgs, Overwrite: overwrite})
		w.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "commit:", err)
			return 1
		}
		fmt.Printf("ack %d %d %d\n", res.SnapshotID, next, n)
		next += int64(n)
	}
	return 0
}

type ack struct {
	snapshot, first, count int64
	overwrite              bool
	unacked                bool // begun, then the writer died before acknowledging it
}

// runWriters starts writer processes and collects their acknowledgements until they end
// or the deadline passes (then they are killed).
func startWriter(t *testing.T, uri string, id int, overwrite bool, commits int, env []string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "TARN_TEST_WRITER="+strconv.Itoa(id), "TARN_TEST_TABLE="+uri, "TARN_TEST_COMMITS="+strconv.Itoa(commits))
	if overwrite {
		cmd.Env = append(cmd.Env, "TARN_TEST_OVERWRITE=1")
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out)
}

func collect(sc *bufio.Scanner, overwrite bool, into *[]ack, mu *sync.Mutex) {
	var begun *ack
	for sc.Scan() {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "begin %d %d", &a.first, &a.count); err == nil {
			a.overwrite, a.unacked = overwrite, true
			begun = &a
			continue
		}
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d", &a.snapshot, &a.first, &a.count); err == nil {
			a.overwrite = overwrite
			begun = nil
			mu.Lock()
			*into = append(*into, a)
			mu.Unlock()
		}
	}
	if begun != nil {
		mu.Lock()
		*into = append(*into, *begun)
		mu.Unlock()
	}
}

// checkModel verifies the table against the acknowledged commits: snapshot ids are gapless,
// and the rows are exactly those of the last acknowledged overwrite and of every
// acknowledged append after it — no commit lost or applied twice. A commit a writer began
// but was killed before acknowledging (append-only models) is either wholly present or
// wholly absent.
func checkModel(t *testing.T, ctx context.Context, tbl *table.Table, all []ack) {
	t.Helper()
	var acks, inflight []ack
	for _, a := range all {
		if a.unacked {
			inflight = append(inflight, a)
		} else {
			acks = append(acks, a)
		}
	}
	ids, err := tbl.SnapshotIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("snapshot ids not gapless: %v", ids)
		}
	}
	slices.SortFunc(acks, func(a, b ack) int { return int(a.snapshot - b.snapshot) })
	for i := 1; i < len(acks); i++ {
		if acks[i].snapshot == acks[i-1].snapshot {
			t.Fatalf("two commits acknowledged with snapshot %d", acks[i].snapshot)
		}
	}
	var want []int64
	for _, a := range acks {
		if a.overwrite {
			want = want[:0]
		}
		for i := int64(0); i < a.count; i++ {
			want = append(want, a.first+i)
		}
	}
	got := tableIDs(t, ctx, tbl)
	visibleInflight := 0
	present := map[int64]bool{}
	for _, id := range got {
		present[id] = true
	}
	for _, a := range inflight {
		n := 0
		for i := int64(0); i < a.count; i++ {
			if present[a.first+i] {
				n++
			}
		}
		switch n {
		case 0:
		case int(a.count):
			for i := int64(0); i < a.count; i++ {
				want = append(want, a.first+i)
			}
		default:
			t.Fatalf("a killed writer's commit is partly visible: %d of %d rows", n, a.count)
		}
		visibleInflight += min(n, 1)
	}
	// No commit is applied twice: each (commit user, identifier) names one snapshot, and
	// the snapshots that are not compactions are exactly the commits that landed.
	commits := map[string]int64{}
	for _, id := range ids {
		snap, err := tbl.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.CommitKind == "COMPACT" {
			continue
		}
		key := fmt.Sprintf("%s/%d", snap.CommitUser, snap.CommitIdentifier)
		if first, dup := commits[key]; dup {
			t.Fatalf("commit %s applied twice: snapshots %d and %d", key, first, id)
		}
		commits[key] = id
	}
	if len(commits) != len(acks)+visibleInflight {
		t.Fatalf("%d snapshots of commits, but %d commits acknowledged and %d in flight landed", len(commits), len(acks), visibleInflight)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("table holds %d rows, the acknowledged commits %d (first difference near %v)", len(got), len(want), firstDiff(got, want))
	}
	if len(acks) > 0 && len(ids) > 0 && ids[len(ids)-1] < acks[len(acks)-1].snapshot {
		t.Fatalf("latest snapshot %d older than an acknowledged one %d", ids[len(ids)-1], acks[len(acks)-1].snapshot)
	}
}

func firstDiff(a, b []int64) any {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return [2]int64{a[i], b[i]}
		}
	}
	return "the end"
}

func tableIDs(t *testing.T, ctx context.Context, tbl *table.Table) []int64 {
	t.Helper()
	out := scanJSONL(t, tbl, table.ScanOptions{})
	var ids []int64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var id int64
		if _, err := fmt.Sscanf(l, `{"id":%d,`, &id); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func concurrencyTable(t *testing.T, fio fileio.FileIO, warehouse string) (*table.Table, string) {
	t.Helper()
	cat := catalog.New(fio, warehouse)
	tbl, err := cat.CreateTable(context.Background(), catalog.Identifier{Database: "db", Table: "conc"}, catalog.TableSpec{
		Fields: concFields, PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "3"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, tbl.Path()
}

// Four writer processes and one overwriting process commit to the same table for a
// bounded time: snapshot ids are gapless, no commit is lost or applied twice, and the
// table equals the model of all acknowledged commits. On local disk and on MinIO.
func TestConcurrentWriterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes for several seconds")
	}
	for _, backend := range []string{"local", "minio"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var fio fileio.FileIO = fileio.NewLocal()
			warehouse := t.TempDir()
			var env []string
			if backend == "minio" {
				s3 := testenv.MinIO(t)
				var err error
				if fio, err = s3.FileIO(ctx); err != nil {
					t.Fatal(err)
				}
				warehouse = s3.URI("warehouse")
				env = []string{"TARN_S3_ENDPOINT=" + s3.URL, "AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey}
			}
			tbl, uri := concurrencyTable(t, fio, warehouse)
			var mu sync.Mutex
			var acks []ack
			var wg sync.WaitGroup
			var cmds []*exec.Cmd
			for i := 1; i <= 5; i++ {
				overwrite := i == 5
				commits := 25
				if overwrite {
					commits = 4
				}
				cmd, sc := startWriter(t, uri, i, overwrite, commits, env)
				cmds = append(cmds, cmd)
				wg.Add(1)
				go func() { defer wg.Done(); collect(sc, overwrite, &acks, &mu) }()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(3 * time.Minute):
				t.Error("writers did not finish in 3 minutes")
			}
			for _, c := range cmds {
				_ = c.Process.Kill()
				if err := c.Wait(); err != nil && !strings.Contains(err.Error(), "killed") {
					t.Errorf("writer process: %v", err)
				}
			}
			if len(acks) != 4*25+4 {
				t.Errorf("%d acknowledged commits, want %d", len(acks), 4*25+4)
			}
			checkModel(t, ctx, tbl, acks)
		})
	}
}

// A writer killed with SIGKILL at random moments, many times, leaves a table that reads
// exactly the acknowledged commits; files left behind are only unreferenced ones.
func TestWriterKilledRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writer processes repeatedly")
	}
	ctx := context.Background()
	tbl, uri := concurrencyTable(t, fileio.NewLocal(), t.TempDir())
	var acks []ack
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 15; round++ {
		cmd, sc := startWriter(t, uri, round+1, false, 0, nil)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); collect(sc, false, &acks, &mu) }()
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		wg.Wait()
		checkModel(t, ctx, tbl, slices.Clone(acks))
	}
	if len(acks) == 0 {
		t.Fatal("no commit was acknowledged before the kills")
	}
	// Every file the latest snapshot references exists; unreferenced leftovers may.
	plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			if _, err := os.Stat(filepath.Join(strings.TrimPrefix(s.BucketPath, "file:"), f.FileName)); err != nil {
				t.Errorf("referenced file missing: %v", err)
			}
		}
	}
	t.Logf("%d commits acknowledged across 15 killed writers", len(acks))
}

func writeRows(ctx context.Context, w *table.Writer, rows []string) error {
	r, err := render.NewJSONLReader(strings.NewReader(strings.Join(rows, "\n")), concFields, 0)
	if err != nil {
		return err
	}
	b, err := r.Next()
	if err != nil {
		return err
	}
	defer b.Release()
	return w.Write(ctx, b)
}

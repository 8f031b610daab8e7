package table_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

var (
	lsmSeeds = flag.Int("lsm.seeds", 20, "TestLSMModel: number of seeds (or TARN_LSM_SEEDS)")
	lsmSteps = flag.Int("lsm.steps", 40, "TestLSMModel: steps per seed (or TARN_LSM_STEPS)")
	lsmSeed  = flag.Int64("lsm.seed", -1, "TestLSMModel: run only this seed (or TARN_LSM_SEED)")
)

func lsmFlag(flagValue int64, env string) int64 {
	if v := os.Getenv(env); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return flagValue
}

// lsmShape is a table shape of the model test: a merge engine, a changelog producer and
// deletion vectors.
type lsmShape struct {
	engine, producer string
	dv               bool
}

func (s lsmShape) String() string {
	dv := ""
	if s.dv {
		dv = "+dv"
	}
	return s.engine + "/" + s.producer + dv
}

func (s lsmShape) lookupTable() bool {
	return s.dv || s.engine == "first-row" || s.producer == "lookup"
}

var lsmShapes = []lsmShape{
	{"deduplicate", "none", false}, {"deduplicate", "input", false}, {"deduplicate", "lookup", false},
	{"deduplicate", "full-compaction", false}, {"deduplicate", "none", true}, {"deduplicate", "input", true},
	{"deduplicate", "lookup", true},
	{"partial-update", "none", false}, {"partial-update", "lookup", false}, {"partial-update", "full-compaction", false},
	{"partial-update", "lookup", true}, {"partial-update", "input", false},
	{"aggregation", "none", false}, {"aggregation", "lookup", false}, {"aggregation", "full-compaction", false},
	{"aggregation", "lookup", true}, {"aggregation", "none", true},
	{"first-row", "none", false}, {"first-row", "lookup", false},
}

// A model-based test of the LSM (issue 4). Each seed picks a table shape (merge engine
// deduplicate, partial-update, aggregation or first-row; changelog producer none, input,
// lookup or full-compaction; deletion vectors) and random options (1-4 buckets, a
// partition column, compaction trigger, file size, row-deduplicate, ignore-delete,
// lookup-wait false, full-compaction.delta-commits, write-only), then runs random steps:
// upserts, deletes, partial updates and aggregations; commits; compactions all three
// ways (inside the writer, in the background or on commit; one bucket at a time as the
// server's scheduler does, Table.Compact of a bucket; the whole table, Table.Compact and
// the job of `tarn compact`, compaction.Run); snapshot expiry; rollbacks; writer restarts
// and process restarts (the table reopened from storage, the streaming reader resumed).
// After every step:
//   - the table reads exactly the in-memory model of its merge engine (readers of
//     deletion-vector and first-row tables once level 0 is compacted);
//   - a streaming read (Table.Follow) and an incremental read (ReadChanges) of the new
//     snapshots are equal, and each snapshot's changes are the model's changelog of the
//     producer (checkSnapshotChanges): input the operations committed, lookup and
//     full-compaction for every key the compaction merged the change from its previous
//     changelog value to the merged one, as -U/+U, +I or -D;
//   - the changelog applied in order equals the levels above 0 (lookup), the top level
//     (full-compaction) or the table (deduplicate with input or none).
//
// The default (20 seeds of 40 steps, each shape at least once) takes well under a minute
// on two cores; -lsm.seeds, -lsm.steps and -lsm.seed (or TARN_LSM_SEEDS, TARN_LSM_STEPS,
// TARN_LSM_SEED) run more, longer, or one seed; a failure names its seed and the command
// that reruns it.
func TestLSMModel(t *testing.T) {
	seeds := lsmFlag(int64(*lsmSeeds), "TARN_LSM_SEEDS")
	steps := int(lsmFlag(int64(*lsmSteps), "TARN_LSM_STEPS"))
	only := lsmFlag(*lsmSeed, "TARN_LSM_SEED")
	if testing.Short() {
		seeds, steps = min(seeds, 6), min(steps, 20)
	}
	var list []int64
	if only >= 0 {
		list = []int64{only}
	} else {
		for s := int64(0); s < seeds; s++ {
			list = append(list, s)
		}
	}
	for _, seed := range list {
		shape := lsmShapes[int(seed)%len(lsmShapes)]
		t.Run(fmt.Sprintf("seed=%d/%s", seed, strings.ReplaceAll(shape.String(), "/", "_")), func(t *testing.T) {
			t.Parallel()
			r := newLSMRun(t, seed, shape)
			r.nSteps = steps
			defer r.close()
			for i := 0; i < steps; i++ {
				r.step(i)
				if t.Failed() {
					return
				}
			}
			r.finish()
		})
	}
}

type mkey struct {
	p string
	k int
}

type mrow struct {
	v     int64
	vNull bool
	s     string
	sNull bool
}

func (r mrow) String() string {
	v, s := strconv.FormatInt(r.v, 10), strconv.Quote(r.s)
	if r.vNull {
		v = "null"
	}
	if r.sNull {
		s = "null"
	}
	return "v=" + v + " s=" + s
}

type lsmOp struct {
	kind string
	key  mkey
	row  mrow
}

type lsmSnap struct{ state, view map[mkey]mrow }

// lsmExpect is what the step that made a snapshot knows of its changes: the operations an
// APPEND snapshot commits, and for a COMPACT snapshot the table state its compaction
// planned on (nil when unknown: a writer's background compaction planned on an earlier
// state).
type lsmExpect struct {
	ops  []lsmOp
	plan map[mkey]mrow
}

type lsmChange struct {
	snapshot int64
	kind     string
	key      mkey
	row      mrow
}

func (c lsmChange) String() string {
	return fmt.Sprintf("%d %s %s/%d %s", c.snapshot, c.kind, c.key.p, c.key.k, c.row)
}

type lsmRun struct {
	t           *testing.T
	ctx         context.Context
	seed        int64
	rng         *rand.Rand
	shape       lsmShape
	cat         *catalog.Catalog
	id          catalog.Identifier
	tbl         *table.Table
	fields      []types.DataField
	partitioned bool
	rowDedup    bool
	removeOnDel bool          // partial-update.remove-record-on-delete
	ignoreDel   bool          // ignore-delete: -D and -U rows are dropped when written
	deleted     map[mkey]bool // keys deleted (partial-update), never written again
	maxLevel    int
	// lookupNoWait: lookup compactions run in the background (lookup-wait false), so
	// level 0 may hold committed data that readers skipping it do not see yet.
	lookupNoWait bool
	// writeOnly: the writer never compacts (write-only); compactions are Table.Compact's
	// and the job's.
	writeOnly bool
	w         *table.Writer
	writerBG  bool // the writer compacts in the background (WriterOptions.Compact)
	dir       string
	ident     int64
	// expect holds, by snapshot, what the step that committed it knows of its changes.
	expect     map[int64]*lsmExpect
	state      map[mkey]mrow // committed rows
	pending    []lsmOp       // written, not committed
	view       map[mkey]mrow // the changelog applied
	history    map[int64]lsmSnap
	follower   *table.Follower
	followFrom int64
	checked    int64
	steps      []string
	// counts of what was checked: change records, keys of compactions whose changes were
	// predicted exactly or only by shape, snapshots of each kind
	nChanges, nExact, nShape int
	nSnaps                   map[string]int
	nSteps                   int
}

func newLSMRun(t *testing.T, seed int64, shape lsmShape) *lsmRun {
	r := &lsmRun{t: t, ctx: context.Background(), seed: seed, rng: rand.New(rand.NewPCG(uint64(seed), 0x15e)), shape: shape,
		state: map[mkey]mrow{}, view: map[mkey]mrow{}, deleted: map[mkey]bool{}, history: map[int64]lsmSnap{}, expect: map[int64]*lsmExpect{}, nSnaps: map[string]int{}, followFrom: 1}
	r.partitioned = r.rng.IntN(3) == 0
	trigger := 2 + r.rng.IntN(3)
	opts := map[string]string{
		"bucket":                            fmt.Sprint(1 + r.rng.IntN(4)),
		"merge-engine":                      shape.engine,
		"changelog-producer":                shape.producer,
		"num-sorted-run.compaction-trigger": fmt.Sprint(trigger),
		"target-file-size":                  fmt.Sprintf("%dkb", 2+r.rng.IntN(8)),
	}
	if shape.dv {
		opts["deletion-vectors.enabled"] = "true"
	}
	switch shape.engine {
	case "aggregation":
		opts["fields.v.aggregate-function"] = "sum"
		opts["fields.s.aggregate-function"] = "last_non_null_value"
		opts["fields.s.ignore-retract"] = "true"
	case "partial-update":
		if r.rng.IntN(2) == 0 {
			r.removeOnDel = true
			opts["partial-update.remove-record-on-delete"] = "true"
		}
	}
	if (shape.engine == "deduplicate" || shape.engine == "aggregation") && r.rng.IntN(4) == 0 {
		r.ignoreDel = true
		opts["ignore-delete"] = "true"
	}
	if shape.producer == "lookup" || shape.producer == "full-compaction" {
		if r.rng.IntN(2) == 0 {
			r.rowDedup = true
			opts["changelog-producer.row-deduplicate"] = "true"
		}
	}
	if shape.lookupTable() && r.rng.IntN(3) == 0 {
		r.lookupNoWait = true
		opts["lookup-wait"] = "false"
	}
	if shape.producer == "full-compaction" && r.rng.IntN(2) == 0 {
		opts["full-compaction.delta-commits"] = fmt.Sprint(1 + r.rng.IntN(3))
	}
	if r.rng.IntN(8) == 0 {
		r.writeOnly = true
		opts["write-only"] = "true"
	}
	r.maxLevel = trigger // num-levels defaults to trigger + 1
	columns := "k INT NOT NULL, v BIGINT, s STRING"
	pk := []string{"k"}
	var parts []string
	if r.partitioned {
		columns = "p STRING NOT NULL, " + columns
		pk = []string{"p", "k"}
		parts = []string{"p"}
	}
	var err error
	if r.fields, err = types.ParseColumns(columns); err != nil {
		t.Fatal(err)
	}
	r.dir = t.TempDir()
	r.cat = catalog.New(fileio.NewLocal(), r.dir)
	r.id = catalog.Identifier{Database: "db", Table: "lsm"}
	if r.tbl, err = r.cat.CreateTable(r.ctx, r.id, catalog.TableSpec{Fields: r.fields, PrimaryKeys: pk, PartitionKeys: parts, Options: opts}, false); err != nil {
		t.Fatal(err)
	}
	r.logf("table %s options %v", shape, opts)
	r.openWriter()
	return r
}

func (r *lsmRun) logf(format string, args ...any) {
	r.steps = append(r.steps, fmt.Sprintf(format, args...))
}

// fatalf fails the run with its seed and the steps so far.
func (r *lsmRun) fatalf(format string, args ...any) {
	r.t.Helper()
	tail := r.steps
	if len(tail) > 41 {
		// The table's options, then the last steps.
		tail = append([]string{tail[0], "..."}, tail[len(tail)-40:]...)
	}
	r.t.Fatalf("seed %d (%s): %s\nsteps:\n  %s\n(rerun: go test ./table -run TestLSMModel -lsm.seed=%d -lsm.steps=%d)", r.seed, r.shape, fmt.Sprintf(format, args...), strings.Join(tail, "\n  "), r.seed, r.nSteps)
}

func (r *lsmRun) openWriter() {
	o := table.WriterOptions{Compact: r.rng.IntN(2) == 0, WriteBufferSize: int64(512 << r.rng.IntN(5))}
	w, err := r.tbl.NewWriter(r.ctx, o)
	if err != nil {
		r.fatalf("new writer: %v", err)
	}
	r.w, r.writerBG = w, o.Compact
	r.logf("writer: compact=%v buffer=%d", o.Compact, o.WriteBufferSize)
}

func (r *lsmRun) close() {
	if r.w != nil {
		r.w.Close()
	}
	if r.follower != nil {
		r.follower.Close()
	}
}

func (r *lsmRun) step(i int) {
	switch x := r.rng.IntN(100); {
	case x < 38:
		r.write()
		r.commit()
	case x < 48:
		r.write()
	case x < 53:
		r.compact(false)
	case x < 58:
		r.compact(true)
	case x < 64:
		r.bucketCompact()
	case x < 69:
		r.job()
	case x < 75:
		table.WaitCompactions(r.w)
		r.logf("wait for background compactions")
		r.commit()
	case x < 80:
		r.expire()
	case x < 86:
		r.rollback()
	case x < 90:
		r.restart()
	case x < 95:
		r.reopen()
	default:
		r.commit()
	}
	r.check(i)
}

// gen generates operations of the table's engine.
func (r *lsmRun) gen() []lsmOp {
	cur := r.current()
	n := 1 + r.rng.IntN(14)
	var ops []lsmOp
	for range n {
		key := mkey{k: r.rng.IntN(24)}
		if r.partitioned {
			key.p = []string{"a", "b"}[r.rng.IntN(2)]
		}
		if r.deleted[key] {
			continue
		}
		row := mrow{v: int64(r.rng.IntN(5)), s: []string{"x", "y", "z"}[r.rng.IntN(3)]}
		op := lsmOp{kind: "+I", key: key, row: row}
		switch r.shape.engine {
		case "deduplicate":
			switch x := r.rng.IntN(20); {
			case x < 4:
				op.kind = "-D"
			case x < 6:
				op.kind = "-U"
			case x < 10:
				op.kind = "+U"
			}
		case "partial-update":
			op.row.vNull = r.rng.IntN(5) < 2
			op.row.sNull = r.rng.IntN(5) < 2
			if r.rng.IntN(2) == 0 {
				op.kind = "+U"
			}
			if r.removeOnDel && r.rng.IntN(6) == 0 {
				// A deletion's values seed the row a later insert of the same merge
				// updates (PartialUpdateMergeFunction), unless a compaction dropped
				// the deletion first: null values make both the same.
				op.kind, op.row = "-D", mrow{vNull: true, sNull: true}
				// A later insert merged with the deletion before the older rows are
				// would bring them back (the merge of -D and +I is an insert): the
				// key stays deleted.
				r.deleted[key] = true
			}
		case "aggregation":
			op.row.sNull = r.rng.IntN(4) == 0
			if _, ok := cur[key]; ok && r.rng.IntN(4) == 0 {
				op.kind = []string{"-U", "-D"}[r.rng.IntN(2)]
			}
		}
		if op.row.vNull {
			op.row.v = 0
		}
		if op.row.sNull {
			op.row.s = ""
		}
		ops = append(ops, op)
		cur = r.apply(cur, op)
	}
	return ops
}

// current is the state with the pending operations applied.
func (r *lsmRun) current() map[mkey]mrow {
	cur := maps.Clone(r.state)
	for _, op := range r.pending {
		cur = r.apply(cur, op)
	}
	return cur
}

// apply is the merge engine's model.
func (r *lsmRun) apply(m map[mkey]mrow, op lsmOp) map[mkey]mrow {
	old, exists := m[op.key]
	retract := op.kind == "-U" || op.kind == "-D"
	if retract && r.ignoreDel {
		return m
	}
	switch r.shape.engine {
	case "deduplicate":
		if retract {
			delete(m, op.key)
		} else {
			m[op.key] = op.row
		}
	case "first-row":
		if !exists {
			m[op.key] = op.row
		}
	case "partial-update":
		if op.kind == "-D" {
			delete(m, op.key)
			break
		}
		if !exists {
			old = mrow{vNull: true, sNull: true}
		}
		if !op.row.vNull {
			old.v, old.vNull = op.row.v, false
		}
		if !op.row.sNull {
			old.s, old.sNull = op.row.s, false
		}
		m[op.key] = old
	case "aggregation":
		if !exists {
			old = mrow{vNull: true, sNull: true}
		}
		if retract {
			old.v -= op.row.v
		} else {
			old.v, old.vNull = old.v+op.row.v, false
			if !op.row.sNull {
				old.s, old.sNull = op.row.s, false
			}
		}
		m[op.key] = old
	}
	return m
}

func (r *lsmRun) write() {
	ops := r.gen()
	if len(ops) == 0 {
		return
	}
	var lines []string
	for _, op := range ops {
		v, s := strconv.FormatInt(op.row.v, 10), strconv.Quote(op.row.s)
		if op.row.vNull {
			v = "null"
		}
		if op.row.sNull {
			s = "null"
		}
		p := ""
		if r.partitioned {
			p = fmt.Sprintf(`"p":%q,`, op.key.p)
		}
		lines = append(lines, fmt.Sprintf(`{%s"k":%d,"v":%s,"s":%s,"_ROW_KIND":%q}`, p, op.key.k, v, s, op.kind))
	}
	rd, err := render.NewJSONLReader(strings.NewReader(strings.Join(lines, "\n")), r.fields, 0)
	if err != nil {
		r.fatalf("rows: %v", err)
	}
	b, err := rd.Next()
	if err != nil {
		r.fatalf("rows: %v", err)
	}
	defer b.Release()
	if err := r.w.Write(r.ctx, b); err != nil {
		r.fatalf("write: %v", err)
	}
	r.pending = append(r.pending, ops...)
	r.logf("write %d rows", len(ops))
}

func (r *lsmRun) commit() {
	msgs, err := r.w.PrepareCommit(r.ctx)
	if err != nil {
		r.fatalf("prepare commit: %v", err)
	}
	if len(msgs) == 0 {
		if slices.ContainsFunc(r.pending, func(op lsmOp) bool { return !r.ignoreDel || op.kind == "+I" || op.kind == "+U" }) {
			r.fatalf("prepare commit: no messages for %d pending rows", len(r.pending))
		}
		r.logf("commit: nothing")
		r.pending = nil
		return
	}
	r.ident++
	res, err := r.tbl.Commit(r.ctx, table.Commit{User: "lsm-model", Identifier: r.ident, Messages: msgs})
	if err != nil {
		if len(r.pending) == 0 && errors.Is(err, table.ErrConflict) {
			// Only a background compaction, which a concurrent one made obsolete.
			r.logf("commit of a compaction: %v", err)
			return
		}
		r.fatalf("commit: %v", err)
	}
	for _, op := range r.pending {
		r.state = r.apply(r.state, op)
	}
	e := &lsmExpect{}
	for _, op := range r.pending {
		if !(r.ignoreDel && (op.kind == "-U" || op.kind == "-D")) {
			e.ops = append(e.ops, op)
		}
	}
	if r.syncCompaction() {
		e.plan = maps.Clone(r.state)
	}
	r.expect[res.SnapshotID] = e
	if res.AppendSnapshotID != 0 {
		r.expect[res.AppendSnapshotID] = e
	}
	r.logf("commit %d rows: snapshot %d (append %d, compaction error %v)", len(r.pending), res.SnapshotID, res.AppendSnapshotID, res.CompactionErr)
	r.pending = nil
	if res.CompactionErr != nil && !errors.Is(res.CompactionErr, table.ErrConflict) {
		r.fatalf("commit's compaction: %v", res.CompactionErr)
	}
}

// syncCompaction reports whether the compactions of the writer's commits plan on the
// state the commit makes: lookup compactions with lookup-wait, and full compactions
// (full-compaction.delta-commits) of a writer that compacts nothing in the background.
func (r *lsmRun) syncCompaction() bool {
	if r.shape.lookupTable() {
		return !r.lookupNoWait
	}
	return !r.writerBG
}

// compacted records a compaction committed as snapshot id, planned on the latest state.
func (r *lsmRun) compacted(id int64) {
	if id != 0 {
		r.expect[id] = &lsmExpect{plan: maps.Clone(r.state)}
	}
}

// compact is Table.Compact of the whole table, with Paimon's picker or full.
func (r *lsmRun) compact(full bool) {
	sum, err := r.tbl.Compact(r.ctx, table.CompactOptions{Full: full})
	r.logf("Table.Compact full=%v: snapshot %d, %d files -> %d, err %v", full, sum.SnapshotID, sum.FilesIn, sum.FilesOut, err)
	if err != nil && !errors.Is(err, table.ErrConflict) {
		r.fatalf("compact: %v", err)
	}
	r.compacted(sum.SnapshotID)
}

// bucketCompact compacts one bucket of one partition as the server's background
// compaction scheduler does (compaction.Scheduler): Table.Compact of the bucket, on the
// table loaded from the catalog, by its own commit user.
func (r *lsmRun) bucketCompact() {
	plan, err := r.tbl.Plan(r.ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		r.fatalf("plan: %v", err)
	}
	if len(plan.Splits) == 0 {
		return
	}
	s := plan.Splits[r.rng.IntN(len(plan.Splits))]
	tbl, err := r.cat.LoadTable(r.ctx, r.id)
	if err != nil {
		r.fatalf("load table: %v", err)
	}
	full := r.rng.IntN(3) == 0
	bucket := s.Bucket
	sum, err := tbl.Compact(r.ctx, table.CompactOptions{
		Full: full, Bucket: &bucket, User: "tarn-compactor",
		Partition: func(v []any) bool { return fmt.Sprint(v) == fmt.Sprint(s.PartitionValues) },
	})
	r.logf("compact bucket %v/%d full=%v: snapshot %d, %d files -> %d, err %v", s.PartitionValues, bucket, full, sum.SnapshotID, sum.FilesIn, sum.FilesOut, err)
	if err != nil && !errors.Is(err, table.ErrConflict) {
		r.fatalf("compact bucket: %v", err)
	}
	r.compacted(sum.SnapshotID)
}

// job is the compaction job of `tarn compact`.
func (r *lsmRun) job() {
	full := r.rng.IntN(2) == 0
	res, err := compaction.Run(r.ctx, r.cat, compaction.JobOptions{Table: &r.id, Full: full})
	if err != nil {
		r.fatalf("compaction job: %v", err)
	}
	for _, tr := range res {
		r.logf("compaction job full=%v: snapshot %d, err %v", full, tr.Summary.SnapshotID, tr.Err)
		if tr.Err != nil && !errors.Is(tr.Err, table.ErrConflict) {
			r.fatalf("compaction job: %v", tr.Err)
		}
		r.compacted(tr.Summary.SnapshotID)
	}
}

func (r *lsmRun) expire() {
	res, err := r.tbl.ExpireSnapshots(r.ctx, table.ExpireOptions{RetainMin: 1 + r.rng.IntN(4), TimeRetained: time.Nanosecond})
	if err != nil {
		r.fatalf("expire: %v", err)
	}
	r.logf("expire: %v", res.Expired)
}

func (r *lsmRun) rollback() {
	if len(r.pending) > 0 {
		r.restart()
		return
	}
	earliest, ok, err := r.tbl.EarliestSnapshotID(r.ctx)
	if err != nil || !ok {
		return
	}
	var ids []int64
	for id := range r.history {
		if id >= earliest && id < r.checked {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	to := ids[r.rng.IntN(len(ids))]
	if _, err := r.tbl.RollbackTo(r.ctx, to); err != nil {
		r.fatalf("rollback to %d: %v", to, err)
	}
	h := r.history[to]
	r.state, r.view = maps.Clone(h.state), maps.Clone(h.view)
	for id := range r.history {
		if id > to {
			delete(r.history, id)
		}
	}
	for id := range r.expect {
		if id > to {
			delete(r.expect, id)
		}
	}
	r.checked = to
	if r.follower != nil {
		r.follower.Close()
		r.follower = nil
	}
	r.followFrom = to + 1
	r.logf("rollback to %d", to)
}

// restart replaces the writer (its buffered rows are lost).
func (r *lsmRun) restart() {
	r.w.Close()
	if len(r.pending) > 0 {
		r.logf("restart: %d pending rows dropped", len(r.pending))
	}
	r.pending = nil
	r.openWriter()
}

// reopen is a process restart: the writer and the streaming reader stop, the table is
// opened again from storage through a new catalog, and the streaming reader resumes after
// the last snapshot it had read.
func (r *lsmRun) reopen() {
	r.w.Close()
	r.w = nil
	if r.follower != nil {
		r.follower.Close()
		r.follower = nil
	}
	r.followFrom = r.checked + 1
	r.pending = nil
	r.cat = catalog.New(fileio.NewLocal(), r.dir)
	tbl, err := r.cat.LoadTable(r.ctx, r.id)
	if err != nil {
		r.fatalf("reopen: %v", err)
	}
	r.tbl = tbl
	r.logf("reopen the table from storage")
	r.openWriter()
}

// finish compacts everything and checks once more.
func (r *lsmRun) finish() {
	r.commit()
	table.WaitCompactions(r.w)
	r.commit()
	r.compact(true)
	r.check(-1)
	if got := r.readState(nil); !maps.Equal(got, r.state) {
		r.fatalf("after a final full compaction the table reads\n%s\nwant\n%s", renderState(got), renderState(r.state))
	}
	r.t.Logf("%d snapshots %v, %d change records; compacted keys' changes: %d predicted, %d checked by shape", r.checked, r.nSnaps, r.nChanges, r.nExact, r.nShape)
}

type keepFiles func(level int32) bool

// check compares the table with the model after step i.
func (r *lsmRun) check(i int) {
	ctx := r.ctx
	latest, ok, err := r.tbl.LatestSnapshotID(ctx)
	if err != nil {
		r.fatalf("latest snapshot: %v", err)
	}
	if !ok {
		return
	}
	plan, err := r.tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
	if err != nil {
		r.fatalf("plan: %v", err)
	}
	level0 := 0
	for _, s := range plan.Splits {
		for _, f := range s.Files {
			if f.Level == 0 {
				level0++
			}
		}
	}
	if r.shape.lookupTable() && level0 > 0 && !r.lookupNoWait && !r.writeOnly {
		r.fatalf("step %d: a lookup table keeps %d level-0 files", i, level0)
	}
	// Readers of deletion-vector and first-row tables skip level 0.
	if skips := r.shape.dv || r.shape.engine == "first-row"; !skips || level0 == 0 {
		if got := r.readState(nil); !maps.Equal(got, r.state) {
			r.fatalf("step %d: the table reads\n%s\nthe model\n%s", i, renderState(got), renderState(r.state))
		}
	}
	if latest > r.checked {
		r.checkChanges(i, latest)
	}
	switch {
	case r.shape.producer == "lookup":
		if upper := r.readState(func(l int32) bool { return l > 0 }); !maps.Equal(r.view, upper) {
			r.fatalf("step %d: the lookup changelog applied gives\n%s\nlevels above 0 hold\n%s", i, renderState(r.view), renderState(upper))
		}
	case r.shape.producer == "full-compaction":
		if top := r.readState(func(l int32) bool { return int(l) == r.maxLevel }); !maps.Equal(r.view, top) {
			r.fatalf("step %d: the full-compaction changelog applied gives\n%s\nthe top level holds\n%s", i, renderState(r.view), renderState(top))
		}
	case r.shape.engine == "deduplicate":
		if !maps.Equal(r.view, r.state) {
			r.fatalf("step %d: the %s changes applied give\n%s\nthe model\n%s", i, r.shape.producer, renderState(r.view), renderState(r.state))
		}
	}
	r.history[latest] = lsmSnap{maps.Clone(r.state), maps.Clone(r.view)}
}

// checkChanges reads the changes of snapshots (checked, latest] with an incremental read
// and with the tail, which must agree, and applies them to the view.
func (r *lsmRun) checkChanges(i int, latest int64) {
	ctx := r.ctx
	plan, err := r.tbl.PlanIncremental(ctx, table.IncrementalOptions{From: r.checked, To: latest})
	if err != nil {
		r.fatalf("plan changes (%d, %d]: %v", r.checked, latest, err)
	}
	rd, err := r.tbl.ReadChanges(ctx, plan.Schema, plan.Splits, table.ReadOptions{})
	if err != nil {
		r.fatalf("read changes: %v", err)
	}
	var inc []lsmChange
	for {
		b, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.fatalf("read changes: %v", err)
		}
		inc = append(inc, r.changes(b)...)
		b.Release()
	}
	rd.Close()
	if r.follower == nil && latest >= r.followFrom {
		f, err := r.tbl.Follow(ctx, table.FollowOptions{Start: table.StartFromSnapshot, SnapshotID: r.followFrom, Heartbeat: 5 * time.Millisecond, PollInterval: 5 * time.Millisecond})
		if err != nil {
			r.fatalf("follow from %d: %v", r.followFrom, err)
		}
		r.follower = f
	}
	var tail []lsmChange
	if r.follower != nil {
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		for r.follower.Position().Snapshot <= latest {
			b, err := r.follower.Next(fctx)
			if err != nil {
				cancel()
				r.fatalf("tail: %v (position %+v, latest %d)", err, r.follower.Position(), latest)
			}
			if b.Record != nil {
				tail = append(tail, r.changes(b.Record)...)
				b.Record.Release()
			}
		}
		cancel()
		// A tail started at a rollback point sees the changes before it in no read.
		if !slices.EqualFunc(tail, inc, func(a, b lsmChange) bool { return a == b }) {
			r.fatalf("step %d: the tail read\n%s\nthe incremental read\n%s", i, strs(tail), strs(inc))
		}
	}
	bySnap := map[int64][]lsmChange{}
	for _, c := range inc {
		if c.snapshot <= r.checked || c.snapshot > latest {
			r.fatalf("step %d: change %s outside the range (%d, %d] read", i, c, r.checked, latest)
		}
		bySnap[c.snapshot] = append(bySnap[c.snapshot], c)
	}
	for id := r.checked + 1; id <= latest; id++ {
		r.checkSnapshotChanges(i, id, bySnap[id])
	}
	r.logf("changes (%d, %d]: %d records", r.checked, latest, len(inc))
	r.checked = latest
}

// checkSnapshotChanges checks the changes a streaming reader sees of snapshot id against
// the model of the table's changelog producer, then applies them to the view:
//   - none: an APPEND snapshot's level-0 records, each the merge of the key's records of
//     one write-buffer flush: for the deduplicate engine a subsequence of the key's
//     operations ending with the last, for first-row one starting with the first;
//   - input: exactly the operations an APPEND snapshot commits (Paimon's input producer
//     writes every record it is given);
//   - lookup: a COMPACT snapshot whose compaction merged level-0 files upward has, for each
//     key of those level-0 records, the change from the key's value in the levels above
//     0 (the view) to the merged value: +I, -D, -U/+U (none when equal with
//     row-deduplicate; first-row: +I of a new key only);
//     (LookupChangelogMergeFunctionWrapper, FirstRowMergeFunctionWrapper)
//   - full-compaction: a COMPACT snapshot whose compaction wrote the top level has, for
//     each key of the files it merged from lower levels, the change from the key's value
//     on the top level (the view) to the merged one (FullChangelogMergeFunctionWrapper).
//
// The merged value is the state the compaction planned on; when that is unknown (a
// writer's background compaction), only the shape of each key's changes is checked.
// Every other snapshot has no changes.
func (r *lsmRun) checkSnapshotChanges(step int, id int64, got []lsmChange) {
	snap, err := r.tbl.Snapshot(r.ctx, id)
	if err != nil {
		r.fatalf("snapshot %d: %v", id, err)
	}
	e := r.expect[id]
	if e == nil {
		r.fatalf("step %d: snapshot %d (%s) was made by no step of the test", step, id, snap.CommitKind)
	}
	fail := func(format string, args ...any) {
		r.fatalf("step %d: snapshot %d (%s): %s\nchanges:\n%s", step, id, snap.CommitKind, fmt.Sprintf(format, args...), strs(got))
	}
	producer := r.shape.producer
	perKey := groupByKey(got)
	r.nChanges += len(got)
	r.nSnaps[string(snap.CommitKind)]++
	switch {
	case snap.CommitKind == "APPEND" && producer == "input":
		want := map[mkey][]lsmChange{}
		for _, op := range e.ops {
			want[op.key] = append(want[op.key], lsmChange{snapshot: id, kind: op.kind, key: op.key, row: op.row})
		}
		for k := range union(want, perKey) {
			if !slices.Equal(perKey[k], want[k]) {
				fail("key %v: the input changelog is\n%swant the operations\n%s", k, strs(perKey[k]), strs(want[k]))
			}
		}
	case snap.CommitKind == "APPEND" && producer == "none":
		ops := map[mkey][]lsmOp{}
		for _, op := range e.ops {
			ops[op.key] = append(ops[op.key], op)
		}
		for k := range union(ops, perKey) {
			if len(perKey[k]) == 0 || len(ops[k]) == 0 {
				fail("key %v: %d records for %d operations", k, len(perKey[k]), len(ops[k]))
			}
			switch r.shape.engine {
			case "deduplicate":
				if !subsequence(perKey[k], ops[k]) || !sameOp(perKey[k][len(perKey[k])-1], ops[k][len(ops[k])-1]) {
					fail("key %v: the records are no flushes of the operations %v", k, ops[k])
				}
			case "first-row":
				if !subsequence(perKey[k], ops[k]) || !sameOp(perKey[k][0], ops[k][0]) {
					fail("key %v: the records are no flushes of the operations %v", k, ops[k])
				}
			}
		}
	case snap.CommitKind == "COMPACT" && (producer == "lookup" || producer == "full-compaction"):
		merged := r.compactedKeys(id, snap.DeltaManifestList)
		for k := range perKey {
			if !merged[k] {
				fail("key %v: a change of a key the compaction did not merge (%s)", k, producer)
			}
		}
		for k := range merged {
			old, had := r.view[k]
			if e.plan != nil {
				if want := r.changeOf(id, k, e.plan); !slices.Equal(perKey[k], want) {
					fail("key %v: the %s changelog is\n%swant (from %s to %s)\n%s", k, producer, strs(perKey[k]), rowOrNone(old, had), rowOrNone(e.plan[k], hasKey(e.plan, k)), strs(want))
				}
				r.nExact++
				continue
			}
			// Planned on an unknown earlier state: the changes' shape.
			cs := perKey[k]
			kinds := make([]string, len(cs))
			for j, c := range cs {
				kinds[j] = c.kind
			}
			ok := false
			switch strings.Join(kinds, " ") {
			case "":
				ok = !had || r.rowDedup || r.shape.engine == "first-row"
			case "+I":
				ok = !had
			case "-D":
				ok = had && cs[0].row == old && r.shape.engine != "first-row"
			case "-U +U":
				ok = had && cs[0].row == old && r.shape.engine != "first-row" && !(r.rowDedup && cs[1].row == old)
			}
			if !ok {
				fail("key %v: no change from %s to any value", k, rowOrNone(old, had))
			}
			r.nShape++
		}
	case len(got) > 0:
		fail("a %s snapshot with changelog-producer %s has no changes", snap.CommitKind, producer)
	}
	// The view: the changelog applied (lookup, full-compaction), or the changes of a
	// deduplicate table.
	if producer == "lookup" || producer == "full-compaction" || r.shape.engine == "deduplicate" {
		for _, c := range got {
			switch c.kind {
			case "+I", "+U":
				r.view[c.key] = c.row
			default:
				delete(r.view, c.key)
			}
		}
	}
}

// changeOf is the model's change of key k from the view to the merged state plan.
func (r *lsmRun) changeOf(id int64, k mkey, plan map[mkey]mrow) []lsmChange {
	old, had := r.view[k]
	now, has := plan[k]
	switch {
	case r.shape.engine == "first-row":
		if !had && has {
			return []lsmChange{{id, "+I", k, now}}
		}
	case !had && has:
		return []lsmChange{{id, "+I", k, now}}
	case had && !has:
		return []lsmChange{{id, "-D", k, old}}
	case had && has && !(r.rowDedup && old == now):
		return []lsmChange{{id, "-U", k, old}, {id, "+U", k, now}}
	}
	return nil
}

// compactedKeys are the keys whose changes compaction snapshot id produces: the keys of
// the level-0 files it merged upward (lookup), or of the lower-level files it merged into
// the top level (full-compaction), read from the files the snapshot deletes.
func (r *lsmRun) compactedKeys(id int64, deltaList string) map[mkey]bool {
	ctx := r.ctx
	type bucketKey struct {
		part   string
		bucket int32
	}
	before := map[bucketKey][]manifest.DataFileMeta{}
	top := map[bucketKey]bool{}
	metas, err := r.tbl.ReadManifestList(ctx, deltaList)
	if err != nil {
		r.fatalf("snapshot %d: %v", id, err)
	}
	for _, m := range metas {
		entries, err := r.tbl.ReadManifest(ctx, m.FileName)
		if err != nil {
			r.fatalf("snapshot %d: %v", id, err)
		}
		for _, e := range entries {
			k := bucketKey{string(e.Partition), e.Bucket}
			switch {
			case e.Kind == manifest.FileKindDelete:
				before[k] = append(before[k], e.File)
			case int(e.File.Level) == r.maxLevel:
				top[k] = true
			}
		}
	}
	// The files are live in the snapshot before; its plan gives their directories.
	plan, err := r.tbl.Plan(ctx, table.ScanOptions{SnapshotID: id - 1, AllLevels: true})
	if err != nil {
		r.fatalf("plan of snapshot %d: %v", id-1, err)
	}
	schema, err := r.tbl.Schema(ctx, plan.Snapshot.SchemaID)
	if err != nil {
		r.fatalf("schema: %v", err)
	}
	var splits []table.ChangeSplit
	for _, s := range plan.Splits {
		k := bucketKey{string(s.Partition), int32(s.Bucket)}
		var files []manifest.DataFileMeta
		for _, f := range before[k] {
			switch {
			case r.shape.producer == "lookup" && f.Level == 0,
				r.shape.producer == "full-compaction" && top[k] && int(f.Level) < r.maxLevel:
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			splits = append(splits, table.ChangeSplit{SnapshotID: id, Partition: s.Partition, PartitionValues: s.PartitionValues,
				Bucket: s.Bucket, TotalBuckets: s.TotalBuckets, BucketPath: s.BucketPath, Files: files, KeyValue: true})
		}
	}
	keys := map[mkey]bool{}
	if len(splits) == 0 {
		return keys
	}
	rd, err := r.tbl.ReadChanges(ctx, schema, splits, table.ReadOptions{})
	if err != nil {
		r.fatalf("read the compacted files: %v", err)
	}
	defer rd.Close()
	for {
		b, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.fatalf("read the compacted files: %v", err)
		}
		for _, kr := range r.rows(b) {
			keys[kr.key] = true
		}
		b.Release()
	}
	return keys
}

func groupByKey(cs []lsmChange) map[mkey][]lsmChange {
	out := map[mkey][]lsmChange{}
	for _, c := range cs {
		out[c.key] = append(out[c.key], c)
	}
	return out
}

func union[V1, V2 any](a map[mkey]V1, b map[mkey]V2) map[mkey]bool {
	out := map[mkey]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func sameOp(c lsmChange, op lsmOp) bool { return c.kind == op.kind && c.row == op.row }

// subsequence reports whether cs are some of ops, in order.
func subsequence(cs []lsmChange, ops []lsmOp) bool {
	j := 0
	for _, c := range cs {
		for j < len(ops) && !sameOp(c, ops[j]) {
			j++
		}
		if j == len(ops) {
			return false
		}
		j++
	}
	return true
}

func hasKey(m map[mkey]mrow, k mkey) bool {
	_, ok := m[k]
	return ok
}

func rowOrNone(r mrow, ok bool) string {
	if !ok {
		return "(none)"
	}
	return r.String()
}

// changes converts a batch of change records (table columns, _ROW_KIND, _SNAPSHOT_ID).
func (r *lsmRun) changes(b arrow.RecordBatch) []lsmChange {
	rows := r.rows(b)
	idx := b.Schema().FieldIndices(table.RowKindColumn)
	kinds := b.Column(idx[0]).(*array.String)
	snaps := b.Column(b.Schema().FieldIndices(table.SnapshotIDColumn)[0]).(*array.Int64)
	out := make([]lsmChange, len(rows))
	for i, kr := range rows {
		out[i] = lsmChange{snapshot: snaps.Value(i), kind: kinds.Value(i), key: kr.key, row: kr.row}
	}
	return out
}

type keyRow struct {
	key mkey
	row mrow
}

func (r *lsmRun) rows(b arrow.RecordBatch) []keyRow {
	col := func(name string) arrow.Array { return b.Column(b.Schema().FieldIndices(name)[0]) }
	ks, vs, ss := col("k").(*array.Int32), col("v").(*array.Int64), col("s").(*array.String)
	var ps *array.String
	if r.partitioned {
		ps = col("p").(*array.String)
	}
	out := make([]keyRow, b.NumRows())
	for i := range out {
		kr := keyRow{key: mkey{k: int(ks.Value(i))}}
		if ps != nil {
			kr.key.p = ps.Value(i)
		}
		kr.row.vNull, kr.row.sNull = vs.IsNull(i), ss.IsNull(i)
		if !kr.row.vNull {
			kr.row.v = vs.Value(i)
		}
		if !kr.row.sNull {
			kr.row.s = ss.Value(i)
		}
		out[i] = kr
	}
	return out
}

// readState reads the table; with keep, only the files of the levels it keeps.
func (r *lsmRun) readState(keep keepFiles) map[mkey]mrow {
	ctx := r.ctx
	plan, err := r.tbl.Plan(ctx, table.ScanOptions{AllLevels: keep != nil})
	if err != nil {
		r.fatalf("plan: %v", err)
	}
	out := map[mkey]mrow{}
	for i := range plan.Splits {
		s := plan.Splits[i]
		if keep != nil {
			s.Files = slices.DeleteFunc(slices.Clone(s.Files), func(f manifest.DataFileMeta) bool { return !keep(f.Level) })
			if len(s.Files) == 0 {
				continue
			}
		}
		rd, err := r.tbl.ReadSplit(ctx, plan, &s, table.ReadOptions{})
		if err != nil {
			r.fatalf("read: %v", err)
		}
		for {
			b, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.fatalf("read: %v", err)
			}
			for _, kr := range r.rows(b) {
				if _, dup := out[kr.key]; dup {
					r.fatalf("read: key %v twice", kr.key)
				}
				out[kr.key] = kr.row
			}
			b.Release()
		}
		rd.Close()
	}
	return out
}

func renderState(m map[mkey]mrow) string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].p != keys[j].p {
			return keys[i].p < keys[j].p
		}
		return keys[i].k < keys[j].k
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s/%d %s\n", k.p, k.k, m[k])
	}
	return b.String()
}

func strs(cs []lsmChange) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + c.String() + "\n")
	}
	return b.String()
}

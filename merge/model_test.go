package merge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/format/datafile"
)

// The model: a row-at-a-time reference of Paimon's merge functions on Go values, written
// after the Java classes (add/getResult), to check SortMerge and MergeBuffer on random
// inputs. Fields: k BIGINT NOT NULL (key), a BIGINT, b BIGINT, s STRING, g BIGINT,
// t BOOLEAN, ts BIGINT.

const modelColumns = "k BIGINT NOT NULL, a BIGINT, b BIGINT, s STRING, g BIGINT, t BOOLEAN, ts BIGINT"

var modelFields = []string{"k", "a", "b", "s", "g", "t", "ts"}

type mrec struct {
	kind int8
	seq  int64
	vals map[string]any // int64, string, bool or nil
}

func (r mrec) String() string {
	b, _ := json.Marshal(r.vals)
	return fmt.Sprintf("%s %d %s", datafile.KindString(r.kind), r.seq, b)
}

func renderModel(vals map[string]any) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, f := range modelFields {
		if i > 0 {
			sb.WriteByte(',')
		}
		v, _ := json.Marshal(vals[f])
		fmt.Fprintf(&sb, "%q:%s", f, v)
	}
	sb.WriteByte('}')
	return sb.String()
}

type modelConfig struct {
	name string
	opts map[string]string
}

// modelMerge merges one key's records (already in merge order) as Paimon does; ok false
// means no result.
type modelMerger func(cfg map[string]string, g []mrec) (mrec, bool, error)

func isRetract(k int8) bool { return datafile.IsRetract(k) }

func modelDedup(cfg map[string]string, g []mrec) (mrec, bool, error) {
	var latest *mrec
	for i := range g {
		if cfg["ignore-delete"] == "true" && isRetract(g[i].kind) {
			continue
		}
		latest = &g[i]
	}
	if latest == nil {
		return mrec{}, false, nil
	}
	return *latest, true, nil
}

func modelFirstRow(cfg map[string]string, g []mrec) (mrec, bool, error) {
	var first *mrec
	for i := range g {
		if isRetract(g[i].kind) {
			if cfg["ignore-delete"] == "true" {
				continue
			}
			return mrec{}, false, errors.New("first-row retraction")
		}
		if first == nil {
			first = &g[i]
		}
	}
	if first == nil {
		return mrec{}, false, nil
	}
	return *first, true, nil
}

// modelAgg is a FieldAggregator on Go values.
type modelAgg struct {
	name        string
	initialized bool
	ignore      bool
}

func (a *modelAgg) agg(acc, in any) (any, error) {
	switch a.name {
	case "primary-key", "last_value":
		return in, nil
	case "last_non_null_value":
		if in == nil {
			return acc, nil
		}
		return in, nil
	case "first_value":
		if !a.initialized {
			a.initialized = true
			return in, nil
		}
		return acc, nil
	case "first_non_null_value":
		if !a.initialized && in != nil {
			a.initialized = true
			return in, nil
		}
		return acc, nil
	}
	if a.name == "listagg" {
		if in == nil || strings.TrimSpace(in.(string)) == "" {
			return acc, nil
		}
		if acc == nil || strings.TrimSpace(acc.(string)) == "" {
			return in, nil
		}
		return acc.(string) + "," + in.(string), nil
	}
	if acc == nil || in == nil {
		if acc == nil {
			return in, nil
		}
		return acc, nil
	}
	switch a.name {
	case "sum":
		return acc.(int64) + in.(int64), nil
	case "product":
		return acc.(int64) * in.(int64), nil
	case "max":
		if cmpAny(acc, in) < 0 {
			return in, nil
		}
		return acc, nil
	case "min":
		if cmpAny(acc, in) < 0 {
			return acc, nil
		}
		return in, nil
	case "bool_and":
		return acc.(bool) && in.(bool), nil
	case "bool_or":
		return acc.(bool) || in.(bool), nil
	}
	panic(a.name)
}

func (a *modelAgg) retract(acc, in any) (any, error) {
	if a.ignore {
		return acc, nil
	}
	switch a.name {
	case "primary-key":
		return in, nil
	case "last_value":
		return nil, nil
	case "last_non_null_value":
		if in != nil {
			return nil, nil
		}
		return acc, nil
	case "sum":
		if acc == nil || in == nil {
			if acc == nil && in != nil {
				return -in.(int64), nil
			}
			return acc, nil
		}
		return acc.(int64) - in.(int64), nil
	case "product":
		if acc == nil || in == nil {
			return acc, nil
		}
		if in.(int64) == 0 {
			return nil, errors.New("/ by zero")
		}
		return acc.(int64) / in.(int64), nil
	}
	return nil, fmt.Errorf("%s does not support retraction", a.name)
}

func cmpAny(x, y any) int {
	switch x := x.(type) {
	case int64:
		return cmpOrdered(x, y.(int64))
	case string:
		return strings.Compare(x, y.(string))
	case bool:
		switch {
		case x == y.(bool):
			return 0
		case x:
			return 1
		}
		return -1
	}
	panic(x)
}

func modelAggs(cfg map[string]string, pu bool) map[string]*modelAgg {
	aggs := map[string]*modelAgg{}
	var seq []string
	if v := cfg["sequence.field"]; v != "" && !pu {
		seq = strings.Split(v, ",")
	}
	var groupSeq []string
	for k := range cfg {
		if strings.HasSuffix(k, ".sequence-group") {
			groupSeq = append(groupSeq, strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, "fields."), ".sequence-group"), ",")...)
		}
	}
	for _, f := range modelFields {
		name := ""
		switch {
		case slices.Contains(seq, f):
			name = "last_value"
		case pu && slices.Contains(groupSeq, f):
			continue
		case f == "k":
			name = "primary-key"
		case cfg["fields."+f+".aggregate-function"] != "":
			name = cfg["fields."+f+".aggregate-function"]
		case cfg["fields.default-aggregate-function"] != "":
			name = cfg["fields.default-aggregate-function"]
		case !pu:
			name = "last_non_null_value"
		default:
			continue
		}
		aggs[f] = &modelAgg{name: name, ignore: cfg["fields."+f+".ignore-retract"] == "true"}
	}
	return aggs
}

func modelAggregation(cfg map[string]string, g []mrec) (mrec, bool, error) {
	aggs := modelAggs(cfg, false)
	row := map[string]any{}
	deleteRow := false
	for _, r := range g {
		deleteRow = cfg["aggregation.remove-record-on-delete"] == "true" && r.kind == datafile.KindDelete
		if deleteRow {
			row = maps(r.vals)
			continue
		}
		for _, f := range modelFields {
			var v any
			var err error
			if isRetract(r.kind) {
				v, err = aggs[f].retract(row[f], r.vals[f])
			} else {
				v, err = aggs[f].agg(row[f], r.vals[f])
			}
			if err != nil {
				return mrec{}, false, err
			}
			row[f] = v
		}
	}
	kind := datafile.KindInsert
	if deleteRow {
		kind = datafile.KindDelete
	}
	return mrec{kind: kind, seq: g[len(g)-1].seq, vals: row}, true, nil
}

func maps(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// modelGroup is one sequence group of the model's partial-update configurations.
type modelGroup struct {
	seq       string
	protected []string
}

func modelPartialUpdate(cfg map[string]string, g []mrec) (mrec, bool, error) {
	aggs := modelAggs(cfg, true)
	groupOf := map[string]*modelGroup{}
	var groups []*modelGroup
	for k, v := range cfg {
		if strings.HasSuffix(k, ".sequence-group") {
			grp := &modelGroup{seq: strings.TrimSuffix(strings.TrimPrefix(k, "fields."), ".sequence-group"), protected: strings.Split(v, ",")}
			groups = append(groups, grp)
			groupOf[grp.seq] = grp
			for _, p := range grp.protected {
				groupOf[p] = grp
			}
		}
	}
	removeGroup := cfg["partial-update.remove-record-on-sequence-group"]
	row := map[string]any{}
	var latest int64
	meetInsert, filled, deleteRow := false, false, false
	compare := func(grp *modelGroup, r mrec) int {
		x, y := r.vals[grp.seq], row[grp.seq]
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return -1
		case y == nil:
			return 1
		}
		return cmpAny(x, y)
	}
	for _, r := range g {
		deleteRow = false
		if isRetract(r.kind) {
			if !filled {
				row = maps(r.vals)
				filled = true
			}
			if cfg["ignore-delete"] == "true" {
				continue
			}
			latest = r.seq
			if len(groups) > 0 {
				processed := map[string]bool{}
			fields:
				for _, f := range modelFields {
					grp := groupOf[f]
					if grp == nil || processed[f] {
						continue
					}
					if r.vals[grp.seq] == nil {
						processed[grp.seq] = true
						continue
					}
					agg := aggs[f]
					if compare(grp, r) >= 0 {
						if f == grp.seq {
							if r.kind == datafile.KindDelete && removeGroup == grp.seq {
								deleteRow = true
								row = maps(r.vals)
								break fields
							}
							row[f] = r.vals[f]
							processed[f] = true
							continue
						}
						if agg == nil {
							row[f] = nil
						} else {
							v, err := agg.retract(row[f], r.vals[f])
							if err != nil {
								return mrec{}, false, err
							}
							row[f] = v
						}
					} else if agg != nil {
						v, err := agg.retract(row[f], r.vals[f])
						if err != nil {
							return mrec{}, false, err
						}
						row[f] = v
					}
				}
				continue
			}
			if cfg["partial-update.remove-record-on-delete"] == "true" {
				if r.kind == datafile.KindDelete {
					deleteRow = true
					row = maps(r.vals)
				}
				continue
			}
			return mrec{}, false, errors.New("partial-update retraction")
		}
		latest = r.seq
		if len(groups) == 0 {
			for _, f := range modelFields {
				if r.vals[f] != nil {
					row[f] = r.vals[f]
				}
			}
		} else {
			processed := map[string]bool{}
			for _, f := range modelFields {
				grp, agg := groupOf[f], aggs[f]
				if grp == nil {
					if agg != nil {
						v, err := agg.agg(row[f], r.vals[f])
						if err != nil {
							return mrec{}, false, err
						}
						row[f] = v
					} else if r.vals[f] != nil {
						row[f] = r.vals[f]
					}
					continue
				}
				if processed[f] {
					continue
				}
				if r.vals[grp.seq] == nil {
					processed[grp.seq] = true
					continue
				}
				if compare(grp, r) >= 0 {
					if f == grp.seq {
						row[f] = r.vals[f]
						processed[f] = true
						continue
					}
					if agg == nil {
						row[f] = r.vals[f]
					} else {
						v, err := agg.agg(row[f], r.vals[f])
						if err != nil {
							return mrec{}, false, err
						}
						row[f] = v
					}
				} else if agg != nil {
					// aggReversed: agg(input, accumulator)
					v, err := agg.agg(r.vals[f], row[f])
					if err != nil {
						return mrec{}, false, err
					}
					row[f] = v
				}
			}
		}
		meetInsert, filled = true, true
	}
	kind := datafile.KindInsert
	if deleteRow || !meetInsert {
		kind = datafile.KindDelete
	}
	return mrec{kind: kind, seq: latest, vals: row}, true, nil
}

// modelRun merges all records by key as a reader (keep false) or a writer/compaction
// (keep true) would, rendering the output like the helpers do.
func modelRun(cfg map[string]string, all []mrec, keep bool) ([]string, error) {
	var merge modelMerger
	switch cfg["merge-engine"] {
	case "", "deduplicate":
		merge = modelDedup
	case "first-row":
		merge = modelFirstRow
	case "partial-update":
		merge = modelPartialUpdate
	case "aggregation":
		merge = modelAggregation
	}
	byKey := map[int64][]mrec{}
	var keys []int64
	for _, r := range all {
		k := r.vals["k"].(int64)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	slices.Sort(keys)
	desc := cfg["sequence.field.sort-order"] == "descending"
	seqField := cfg["sequence.field"]
	var out []string
	for _, k := range keys {
		g := byKey[k]
		slices.SortStableFunc(g, func(x, y mrec) int {
			if seqField != "" {
				a, b := x.vals[seqField], y.vals[seqField]
				switch {
				case a == nil && b != nil:
					return -1
				case a != nil && b == nil:
					return 1
				case a != nil && b != nil:
					c := cmpAny(a, b)
					if desc {
						c = -c
					}
					if c != 0 {
						return c
					}
				}
			}
			if c := cmpOrdered(x.seq, y.seq); c != 0 {
				return c
			}
			switch {
			case isRetract(x.kind) == isRetract(y.kind):
				return 0
			case isRetract(x.kind):
				return -1
			}
			return 1
		})
		res, ok := g[0], true
		if len(g) > 1 {
			var err error
			if res, ok, err = merge(cfg, g); err != nil {
				return out, fmt.Errorf("key %d: %w", k, err)
			}
		}
		if !ok || (!keep && isRetract(res.kind)) {
			continue
		}
		line := renderModel(res.vals)
		if keep {
			line = fmt.Sprintf("%s %d %s", datafile.KindString(res.kind), res.seq, line)
		}
		out = append(out, line)
	}
	return out, nil
}

var modelConfigs = []modelConfig{
	{"deduplicate", map[string]string{}},
	{"deduplicate ignore-delete", map[string]string{"ignore-delete": "true"}},
	{"deduplicate sequence.field", map[string]string{"sequence.field": "ts"}},
	{"deduplicate sequence.field descending", map[string]string{"sequence.field": "ts", "sequence.field.sort-order": "descending"}},
	{"first-row", map[string]string{"merge-engine": "first-row"}},
	{"first-row ignore-delete", map[string]string{"merge-engine": "first-row", "ignore-delete": "true"}},
	{"partial-update", map[string]string{"merge-engine": "partial-update"}},
	{"partial-update ignore-delete", map[string]string{"merge-engine": "partial-update", "ignore-delete": "true"}},
	{"partial-update remove-record-on-delete", map[string]string{"merge-engine": "partial-update", "partial-update.remove-record-on-delete": "true"}},
	{"partial-update sequence.field", map[string]string{"merge-engine": "partial-update", "ignore-delete": "true", "sequence.field": "ts"}},
	{"partial-update sequence group", map[string]string{
		"merge-engine": "partial-update", "fields.g.sequence-group": "a,s,t", "fields.a.aggregate-function": "sum",
		"fields.t.aggregate-function": "last_value",
	}},
	{"partial-update sequence group first_value", map[string]string{
		"merge-engine": "partial-update", "fields.g.sequence-group": "a,s", "fields.a.aggregate-function": "first_value",
		"fields.a.ignore-retract": "true", "fields.b.aggregate-function": "last_non_null_value",
	}},
	{"partial-update remove-record-on-sequence-group", map[string]string{
		"merge-engine": "partial-update", "fields.g.sequence-group": "a,b", "partial-update.remove-record-on-sequence-group": "g",
	}},
	{"aggregation", map[string]string{
		"merge-engine": "aggregation", "fields.a.aggregate-function": "sum", "fields.b.aggregate-function": "max",
		"fields.s.aggregate-function": "last_value", "fields.t.aggregate-function": "last_non_null_value",
	}},
	{"aggregation ignore-retract", map[string]string{
		"merge-engine": "aggregation", "fields.a.aggregate-function": "product", "fields.b.aggregate-function": "min",
		"fields.b.ignore-retract": "true", "fields.s.aggregate-function": "listagg", "fields.s.ignore-retract": "true",
		"fields.t.aggregate-function": "bool_or", "fields.t.ignore-retract": "true", "fields.g.aggregate-function": "first_non_null_value",
		"fields.g.ignore-retract": "true", "fields.ts.aggregate-function": "first_value", "fields.ts.ignore-retract": "true",
	}},
	{"aggregation remove-record-on-delete", map[string]string{
		"merge-engine": "aggregation", "aggregation.remove-record-on-delete": "true", "fields.default-aggregate-function": "sum",
		"fields.s.aggregate-function": "last_value", "fields.t.aggregate-function": "bool_and", "fields.t.ignore-retract": "false",
	}},
	{"aggregation sequence.field", map[string]string{
		"merge-engine": "aggregation", "sequence.field": "ts", "fields.a.aggregate-function": "sum",
		"fields.s.aggregate-function": "last_non_null_value", "fields.t.aggregate-function": "last_value",
	}},
}

func randomValue(rng *rand.Rand, f string) any {
	if f == "k" {
		panic("key")
	}
	if rng.IntN(4) == 0 {
		return nil
	}
	switch f {
	case "s":
		return []string{"x", "y", "z", " ", "xy"}[rng.IntN(5)]
	case "t":
		return rng.IntN(2) == 0
	case "g", "ts":
		return int64(rng.IntN(4))
	}
	return int64(rng.IntN(7) - 2)
}

func randomRecords(rng *rand.Rand, nkeys, runs int, retract bool) ([][]mrec, []mrec) {
	var out [][]mrec
	var all []mrec
	for r := 0; r < runs; r++ {
		var run []mrec
		for k := 0; k < nkeys; k++ {
			if rng.IntN(3) == 0 {
				continue
			}
			kind := datafile.KindInsert
			if p := rng.IntN(20); retract && p < 3 {
				kind = datafile.KindDelete
			} else if retract && p < 5 {
				kind = datafile.KindUpdateBefore
			} else if p < 8 {
				kind = datafile.KindUpdateAfter
			}
			vals := map[string]any{"k": int64(k)}
			for _, f := range modelFields[1:] {
				vals[f] = randomValue(rng, f)
			}
			run = append(run, mrec{kind: kind, vals: vals})
		}
		out = append(out, run)
	}
	// Unique sequence numbers in random order.
	n := 0
	for _, run := range out {
		n += len(run)
	}
	perm := rng.Perm(n)
	i := 0
	for _, run := range out {
		for j := range run {
			run[j].seq = int64(perm[i])
			i++
			all = append(all, run[j])
		}
	}
	return out, all
}

// TestModel compares SortMerge (read and keep-deletes modes, random input and output
// batch sizes) and MergeBuffer with the reference on random inputs, per engine
// configuration.
func TestModel(t *testing.T) {
	iterations := 100
	if testing.Short() {
		iterations = 15
	}
	for ci, cfg := range modelConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			opts := map[string]string{}
			for k, v := range cfg.opts {
				opts[k] = v
			}
			tt := newTestTable(t, modelColumns, []string{"k"}, opts)
			for it := 0; it < iterations; it++ {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(it)))
				// Partial-update without a way to take retractions and first-row without
				// ignore-delete fail on them: mostly feed them inserts.
				retract := rng.IntN(4) != 0
				runs, all := randomRecords(rng, 1+rng.IntN(12), 1+rng.IntN(5), retract)
				checkModel(t, tt, opts, runs, all, rng)
			}
		})
	}
}

func checkModel(t *testing.T, tt testTable, cfg map[string]string, runs [][]mrec, all []mrec, rng *rand.Rand) {
	t.Helper()
	var sruns [][]string
	for _, run := range runs {
		var s []string
		for _, r := range run {
			s = append(s, r.String())
		}
		sruns = append(sruns, s)
	}
	for _, keep := range []bool{false, true} {
		want, wantErr := modelRun(cfg, slices.Clone(all), keep)
		got, err := tt.sortMerge(t, mergeCase{runs: sruns, keep: keep, batchRows: 1 + rng.IntN(4), batchSize: 1 + rng.IntN(5)})
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("keep=%v: error %v, model error %v\nruns %v", keep, err, wantErr, sruns)
		}
		if err == nil && !equalLines(got, want) {
			t.Fatalf("keep=%v: runs %v\ngot\n%s\nwant\n%s", keep, sruns, join(got), join(want))
		}
	}
	var records []string
	for _, r := range all {
		records = append(records, r.String())
	}
	rng.Shuffle(len(records), func(i, j int) { records[i], records[j] = records[j], records[i] })
	want, wantErr := modelRun(cfg, slices.Clone(all), true)
	got, err := tt.mergeBuffer(t, records, 1+rng.IntN(4))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("buffer: error %v, model error %v\nrecords %v", err, wantErr, records)
	}
	if err == nil && !equalLines(got, want) {
		t.Fatalf("buffer: records %v\ngot\n%s\nwant\n%s", records, join(got), join(want))
	}
}

// FuzzModel runs the model comparison on inputs drawn from a fuzzed seed, for a fuzzed
// engine configuration.
func FuzzModel(f *testing.F) {
	for i := range modelConfigs {
		f.Add(uint64(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, config uint8) {
		cfg := modelConfigs[int(config)%len(modelConfigs)]
		tt := newTestTable(t, modelColumns, []string{"k"}, cfg.opts)
		rng := rand.New(rand.NewPCG(seed, uint64(config)))
		runs, all := randomRecords(rng, 1+rng.IntN(12), 1+rng.IntN(5), rng.IntN(4) != 0)
		checkModel(t, tt, cfg.opts, runs, all, rng)
	})
}

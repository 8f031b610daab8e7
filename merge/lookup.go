package merge

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/datafile"
)

// Leveled is implemented by inputs whose batches come from data files of LSM levels:
// Level is the level of the file of the batch Next returned last. Records of other
// inputs are of level 0.
type Leveled interface {
	Level() int
}

// Lookup makes a merge follow Paimon's lookup tables (changelog-producer lookup,
// deletion vectors: LookupMergeFunction, LookupChangelogMergeFunctionWrapper, and for the
// first-row engine FirstRowMergeFunctionWrapper). A record above level 0 of such a table
// holds the merge of every older record of its key, so of a key's records above level 0
// only the one of the lowest level takes part in merging it (first-row merges as usual).
type Lookup struct {
	// Rewrite is set for a compaction that merges level-0 data with older values it
	// looks up (Paimon's lookup rewrite): every key is merged by the engine even when it
	// has one record, keys held only by Context inputs are skipped, and Find is asked
	// about keys none of whose records outside Context is above level 0. Without Rewrite
	// (reads, compactions without level 0) a key with one record keeps it as it is.
	Rewrite bool
	// Context marks, by input index, the inputs that hold the levels above the
	// compaction's output: read only for the older values of keys (Paimon's lookups),
	// their records take part in merging a key other inputs hold and are never output.
	Context []bool
	// Find, when set, is Paimon's lookup of a key (memcomparable bytes) in the levels
	// above the output, for a key none of whose records outside Context is above level 0.
	// It reports whether the key lives there, which makes the first-row engine drop the
	// key's new records; deletion vectors mark the older row deleted in it.
	Find func(key []byte) bool
}

// Changelog configures the changelog a SortMerge produces beside its output (Paimon's
// changelog producers lookup and full-compaction): records in the input's key-value
// layout, with the row kinds +I, -U, +U, -D and the sequence numbers of the records they
// show, taken with TakeChangelog.
type Changelog struct {
	// Full produces the changelog of a full compaction (FullChangelogMergeFunctionWrapper):
	// a key's before is its record of level MaxLevel, its after the merge of all its
	// records, and only results that add are output. Otherwise the changelog is that of
	// a lookup compaction (with Lookup.Rewrite): a key with a record of level 0 gets one,
	// its before being the key's record of the lowest level above 0 (in Context inputs
	// when no other input has one).
	Full     bool
	MaxLevel int
	// Deduplicate drops an update whose before and after have equal values
	// (changelog-producer.row-deduplicate); value fields named in IgnoreFields are not
	// compared (changelog-producer.row-deduplicate-ignore-fields).
	Deduplicate  bool
	IgnoreFields []string
}

// clogEntry is one changelog record: a row (an input row or an output row) shown with a
// row kind.
type clogEntry struct {
	ref  Ref
	kind int8
	// update marks a -U whose +U follows; Deduplicate drops both when their values are
	// equal.
	update bool
}

// mergeLookup merges a key's records (sorted) under Lookup and Changelog.
func (c *core) mergeLookup(g []Record) error {
	own, level0, ownHigh := 0, false, false
	high := -1 // the record of the lowest level above 0, looked-up values included
	for i := range g {
		r := &g[i]
		if !r.context {
			own++
			switch {
			case r.Level == 0:
				level0 = true
			case r.Level > 0:
				ownHigh = true
			}
		}
		if r.Level > 0 && (high < 0 || r.Level < g[high].Level) {
			high = i
		}
	}
	if own == 0 {
		return nil // only older values looked up: not part of the merge
	}
	lk, cl := c.lookup, c.clogOpts
	_, firstRow := c.picker.(FirstRow)
	switch {
	case cl != nil && cl.Full:
		return c.mergeFull(g, high)
	case lk != nil && lk.Rewrite && firstRow:
		return c.mergeFirstRowLookup(g)
	case lk != nil && lk.Rewrite:
		if !ownHigh && lk.Find != nil {
			lk.Find(c.groupKey)
		}
		m := c.lookupRecords(g, high)
		r, err := c.decide(m)
		if err != nil {
			return err
		}
		after, _ := c.emit(m, r, c.keep)
		if cl != nil && level0 && r.what != resNone {
			var before *Record
			if high >= 0 {
				before = &g[high]
			}
			c.changelogOf(before, resultKindOf(m, r), after)
		}
		return nil
	case lk != nil && !firstRow && len(g) > 1:
		// ReducerMergeFunctionWrapper over LookupMergeFunction.
		m := c.lookupRecords(g, high)
		r, err := c.decide(m)
		if err != nil {
			return err
		}
		c.emit(m, r, c.keep)
		return nil
	}
	if len(g) == 1 {
		c.emit(g, result{what: resRef}, c.keep)
		return nil
	}
	r, err := c.decide(g)
	if err != nil {
		return err
	}
	c.emit(g, r, c.keep)
	return nil
}

// mergeFull is FullChangelogMergeFunctionWrapper (over LookupMergeFunction when Lookup is
// set): only results that add are output.
func (c *core) mergeFull(g []Record, high int) error {
	top := -1
	for i := range g {
		if int(g[i].Level) == c.clogOpts.MaxLevel {
			if top >= 0 {
				return fmt.Errorf("merging the records of key %s: two records on the top level %d", c.describeKey(g[i].Ref), c.clogOpts.MaxLevel)
			}
			top = i
		}
	}
	if len(g) == 1 {
		r := g[0]
		if datafile.IsRetract(r.Kind) {
			return nil
		}
		after, _ := c.emit(g, result{what: resRef}, false)
		if top < 0 {
			c.clog = append(c.clog, clogEntry{ref: after, kind: datafile.KindInsert})
		}
		return nil
	}
	m := g
	if c.lookup != nil {
		m = c.lookupRecords(g, high)
	}
	r, err := c.decide(m)
	if err != nil {
		return err
	}
	if r.what == resNone {
		return nil
	}
	kind := resultKindOf(m, r)
	after, _ := c.emit(m, r, false)
	var before *Record
	if top >= 0 {
		before = &g[top]
	}
	c.changelogOf(before, kind, after)
	return nil
}

// mergeFirstRowLookup is FirstRowMergeFunctionWrapper: a key that exists above the
// output keeps its first row there; a new key's first row is output and is the changelog
// (with its row kind, +I or +U).
func (c *core) mergeFirstRowLookup(g []Record) error {
	own := c.scratch[:0]
	high, found := false, false
	for _, r := range g {
		retract := datafile.IsRetract(r.Kind)
		if r.context {
			found = found || !retract
			continue
		}
		own = append(own, r)
		high = high || (r.Level > 0 && !retract)
	}
	c.scratch = own
	r, err := c.decide(own)
	if err != nil || r.what == resNone {
		return err
	}
	if high {
		c.emit(own, r, c.keep)
		return nil
	}
	if !found && c.lookup.Find != nil {
		found = c.lookup.Find(c.groupKey)
	}
	if found {
		return nil
	}
	after, ok := c.emit(own, r, c.keep)
	if ok && c.clogOpts != nil {
		// The new row as it is, with its own row kind.
		c.clog = append(c.clog, clogEntry{ref: after, kind: resultKindOf(own, r)})
	}
	return nil
}

// lookupRecords is LookupMergeFunction's choice: the records of level 0 (or below) and
// the record of the lowest level above 0.
func (c *core) lookupRecords(g []Record, high int) []Record {
	m := c.scratch[:0]
	for i, r := range g {
		if r.Level <= 0 && !r.context || i == high {
			m = append(m, r)
		}
	}
	c.scratch = m
	return m
}

// decide merges a key's records with the engine, even a single one.
func (c *core) decide(g []Record) (result, error) {
	if len(g) == 0 {
		return result{}, nil
	}
	if c.eng == nil {
		if i := c.picker.Pick(g); i >= 0 {
			return result{what: resRef, rec: i}, nil
		}
		return result{}, nil
	}
	r, err := c.m.merge(g)
	if err != nil {
		return r, fmt.Errorf("merging the records of key %s: %w", c.describeKey(g[len(g)-1].Ref), err)
	}
	return r, nil
}

func resultKindOf(g []Record, r result) int8 {
	if r.what == resRef {
		return g[r.rec].Kind
	}
	return r.kind
}

// emit adds a result to the output unless it retracts and keep is false, returning the
// output row.
func (c *core) emit(g []Record, r result, keep bool) (Ref, bool) {
	switch r.what {
	case resRef:
		rec := g[r.rec]
		if !keep && datafile.IsRetract(rec.Kind) {
			return Ref{}, false
		}
		if c.copyRefs {
			c.rows.appendRecord(c, rec.Ref)
			ref := Ref{Batch: -1, Row: int32(c.nRows)}
			c.pending = append(c.pending, ref)
			c.nRows++
			return ref, true
		}
		c.pending = append(c.pending, rec.Ref)
		return rec.Ref, true
	case resRow:
		if !keep && datafile.IsRetract(r.kind) {
			return Ref{}, false
		}
		c.rows.append(c, g[r.rec].Ref, r.seq, r.kind)
		ref := Ref{Batch: -1, Row: int32(c.nRows)}
		c.pending = append(c.pending, ref)
		c.nRows++
		return ref, true
	}
	return Ref{}, false
}

// changelogOf records the change from before (nil: none) to a result of the given kind,
// output as after when it adds (setChangelog of Paimon's changelog wrappers).
func (c *core) changelogOf(before *Record, kind int8, after Ref) {
	switch {
	case before == nil || datafile.IsRetract(before.Kind):
		if !datafile.IsRetract(kind) {
			c.clog = append(c.clog, clogEntry{ref: after, kind: datafile.KindInsert})
		}
	case datafile.IsRetract(kind):
		c.clog = append(c.clog, clogEntry{ref: before.Ref, kind: datafile.KindDelete})
	default:
		c.clog = append(c.clog,
			clogEntry{ref: before.Ref, kind: datafile.KindUpdateBefore, update: true},
			clogEntry{ref: after, kind: datafile.KindUpdateAfter})
	}
}

// flushChangelog builds a batch of the pending changelog (its refs resolved against
// c.batches) and queues it for TakeChangelog.
func (c *core) flushChangelog() error {
	entries := c.clog
	c.clog = c.clog[:0]
	refs := make([]Ref, 0, len(entries))
	kinds := make([]int8, 0, len(entries))
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if e.update && c.clogOpts.Deduplicate && i+1 < len(entries) && c.equalValues(e.ref, entries[i+1].ref) {
			i++
			continue
		}
		refs = append(refs, e.ref)
		kinds = append(kinds, e.kind)
	}
	if len(refs) == 0 {
		return nil
	}
	cols := make([]arrow.Array, c.schema.NumFields())
	for col := range cols {
		if col == c.kindCol {
			b := array.NewInt8Builder(c.mem)
			b.AppendValues(kinds, nil)
			cols[col] = b.NewArray()
			b.Release()
			continue
		}
		a, err := Gather(c.mem, c.batches, col, refs)
		if err != nil {
			for _, x := range cols[:col] {
				if x != nil {
					x.Release()
				}
			}
			return err
		}
		cols[col] = a
	}
	c.clogOut = append(c.clogOut, newBatch(c.schema, cols, len(refs)))
	return nil
}

// equalValues reports whether two rows have equal values (RecordEqualiser of the value
// row, minus Changelog.IgnoreFields).
func (c *core) equalValues(a, b Ref) bool {
	if c.valueCols == nil {
		c.valueCols = []int{}
		for i, f := range c.schema.Fields() {
			if i == c.seqCol || i == c.kindCol || slices.Contains(c.keyCols, i) || slices.Contains(c.clogOpts.IgnoreFields, f.Name) {
				continue
			}
			c.valueCols = append(c.valueCols, i)
		}
	}
	ba, bb := c.batches[a.Batch], c.batches[b.Batch]
	for _, col := range c.valueCols {
		c.eqA = appendEqKey(c.eqA[:0], ba.Column(col), int(a.Row))
		c.eqB = appendEqKey(c.eqB[:0], bb.Column(col), int(b.Row))
		if !bytes.Equal(c.eqA, c.eqB) {
			return false
		}
	}
	return true
}

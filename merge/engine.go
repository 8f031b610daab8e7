package merge

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/datafile"
)

// Engine decides what each key becomes from all its records, in merge order (by user
// sequence fields, then sequence number, retractions before additions on ties).
//
// The engines of Paimon's merge-engine option come from NewEngine: Deduplicate, FirstRow,
// *PartialUpdate and *Aggregation. They follow Paimon's merge functions exactly, including
// its ReducerMergeFunctionWrapper: a key with one record keeps that record as it is.
//
// Any other type with a Pick method is a selecting engine: SortMerge and MergeBuffer
// output the record it picks as it is, whatever its kind.
type Engine interface {
	// Pick returns the index within group of the record to output, or -1 to output
	// nothing.
	Pick(group []Record) int
}

// Record is one key-value record seen by an Engine.
type Record struct {
	Ref
	Sequence int64
	Kind     int8
	// context marks a record of a Lookup.Context input.
	context bool
	// Level is the LSM level of the record's file (0 unless its input is Leveled).
	Level int32
}

// Sequence is a table's user-defined ordering of a key's records (sequence.field,
// sequence.field.sort-order): compared before the sequence number, nulls first in both
// directions (Paimon's UserDefinedSeqComparator).
type Sequence struct {
	Fields     []string
	Descending bool
}

// ExtraFields returns the table fields, beyond the fields read (by name), that merging
// with e needs in its input: the sequence fields and, for partial-update, the ordering
// fields of every sequence group.
func ExtraFields(e Engine, read []string) []string {
	re, ok := e.(rowEngine)
	if !ok {
		return nil
	}
	have := make(map[string]bool, len(read))
	for _, r := range read {
		have[r] = true
	}
	var out []string
	for _, f := range re.needs() {
		if !have[f] {
			have[f] = true
			out = append(out, f)
		}
	}
	return out
}

// rowEngine is an engine of this package: it binds to an input layout and may compute
// rows.
type rowEngine interface {
	Engine
	sequence() Sequence
	// needs lists the fields merging needs besides those read.
	needs() []string
	bind(c *core) (rowMerger, error)
}

// rowMerger merges the records of one key at a time.
type rowMerger interface {
	// merge decides the result of a key with at least two records.
	merge(g []Record) (result, error)
	// emit appends computed field f (a table field index) of the last result.
	emit(f int, b array.Builder)
}

type resultKind uint8

const (
	resNone resultKind = iota // nothing
	resRef                    // record rec as it is
	resRow                    // a computed row with the key of record rec
)

type result struct {
	what resultKind
	rec  int
	kind int8
	seq  int64
}

// Deduplicate keeps a key's latest record (DeduplicateMergeFunction); a key whose latest
// record retracts (-U, -D) is deleted. With IgnoreDelete, retractions are skipped.
type Deduplicate struct {
	IgnoreDelete bool
	Sequence     Sequence
}

// Pick implements Engine: the latest record, or -1 if it retracts.
func (d Deduplicate) Pick(group []Record) int {
	for i := len(group) - 1; i >= 0; i-- {
		if !datafile.IsRetract(group[i].Kind) {
			return i
		}
		if !d.IgnoreDelete {
			return -1
		}
	}
	return -1
}

func (d Deduplicate) sequence() Sequence { return d.Sequence }
func (d Deduplicate) needs() []string    { return d.Sequence.Fields }

func (d Deduplicate) bind(*core) (rowMerger, error) { return dedupMerger{d.IgnoreDelete}, nil }

type dedupMerger struct{ ignoreDelete bool }

func (d dedupMerger) merge(g []Record) (result, error) {
	latest := -1
	for i := range g {
		if d.ignoreDelete && datafile.IsRetract(g[i].Kind) {
			continue
		}
		latest = i
	}
	if latest < 0 {
		return result{}, nil
	}
	return result{what: resRef, rec: latest}, nil
}

func (dedupMerger) emit(int, array.Builder) {}
func (dedupMerger) selectsOnly()            {}

// FirstRow keeps the first record of a key (FirstRowMergeFunction). Retractions are
// errors unless IgnoreDelete, which skips them.
type FirstRow struct {
	IgnoreDelete bool
}

// Pick implements Engine: the first record that does not retract.
func (f FirstRow) Pick(group []Record) int {
	for i, r := range group {
		if !datafile.IsRetract(r.Kind) {
			return i
		}
	}
	return -1
}

func (FirstRow) sequence() Sequence { return Sequence{} }
func (FirstRow) needs() []string    { return nil }

func (f FirstRow) bind(*core) (rowMerger, error) { return firstRowMerger{f.IgnoreDelete}, nil }

type firstRowMerger struct{ ignoreDelete bool }

// errFirstRowRetract is FirstRowMergeFunction's refusal of retractions.
var errFirstRowRetract = fmt.Errorf("by default, the first-row merge engine can not accept DELETE/UPDATE_BEFORE records; " +
	"you can configure 'ignore-delete' to ignore the DELETE/UPDATE_BEFORE records")

func (f firstRowMerger) merge(g []Record) (result, error) {
	first := -1
	for i := range g {
		if datafile.IsRetract(g[i].Kind) {
			if f.ignoreDelete {
				continue
			}
			return result{}, errFirstRowRetract
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return result{}, nil
	}
	return result{what: resRef, rec: first}, nil
}

func (firstRowMerger) emit(int, array.Builder) {}
func (firstRowMerger) selectsOnly()            {}

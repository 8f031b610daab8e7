// Package lsm is the level layout of a primary-key bucket and Paimon's universal
// compaction picker (mergetree/Levels.java, mergetree/compact/UniversalCompaction.java):
// pure functions of the level state, with no I/O.
package lsm

import (
	"bytes"
	"sort"
	"time"

	"github.com/tarnlake/tarn/manifest"
)

// Run is a sorted run at a level: one level-0 file, or all files of a level above 0.
type Run struct {
	Level int
	Files []manifest.DataFileMeta
}

// Size is the run's total file size.
func (r Run) Size() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.FileSize
	}
	return n
}

// KeyEncoder turns a serialized key BinaryRow into bytes ordered like the keys.
type KeyEncoder func([]byte) ([]byte, error)

// Levels is the files of one bucket by level.
type Levels struct {
	NumLevels int
	// Level0 is ordered newest first (by max sequence number, descending).
	Level0 []manifest.DataFileMeta
	// Upper[i] holds level i+1, ordered by min key.
	Upper [][]manifest.DataFileMeta
}

// NewLevels arranges files into numLevels levels. Files above the top level are placed on
// the top level (Paimon raises numLevels instead; both keep every file).
func NewLevels(files []manifest.DataFileMeta, numLevels int, enc KeyEncoder) (*Levels, error) {
	maxLevel := 0
	for _, f := range files {
		maxLevel = max(maxLevel, int(f.Level))
	}
	numLevels = max(numLevels, maxLevel+1, 2)
	l := &Levels{NumLevels: numLevels, Upper: make([][]manifest.DataFileMeta, numLevels-1)}
	keys := map[string][]byte{}
	for _, f := range files {
		if f.Level == 0 {
			l.Level0 = append(l.Level0, f)
			continue
		}
		l.Upper[f.Level-1] = append(l.Upper[f.Level-1], f)
		if enc != nil {
			k, err := enc(f.MinKey)
			if err != nil {
				return nil, err
			}
			keys[f.FileName] = k
		}
	}
	sort.SliceStable(l.Level0, func(i, j int) bool {
		a, b := l.Level0[i], l.Level0[j]
		if a.MaxSequenceNumber != b.MaxSequenceNumber {
			return a.MaxSequenceNumber > b.MaxSequenceNumber
		}
		if a.MinSequenceNumber != b.MinSequenceNumber {
			return a.MinSequenceNumber < b.MinSequenceNumber
		}
		return a.FileName < b.FileName
	})
	for _, lvl := range l.Upper {
		sort.SliceStable(lvl, func(i, j int) bool {
			return bytes.Compare(keys[lvl[i].FileName], keys[lvl[j].FileName]) < 0
		})
	}
	return l, nil
}

// MaxLevel is the highest level number.
func (l *Levels) MaxLevel() int { return l.NumLevels - 1 }

// SortedRuns lists the runs: each level-0 file (newest first), then each non-empty level.
func (l *Levels) SortedRuns() []Run {
	var runs []Run
	for _, f := range l.Level0 {
		runs = append(runs, Run{Level: 0, Files: []manifest.DataFileMeta{f}})
	}
	for i, lvl := range l.Upper {
		if len(lvl) > 0 {
			runs = append(runs, Run{Level: i + 1, Files: lvl})
		}
	}
	return runs
}

// NumSortedRuns is the read amplification of the bucket.
func (l *Levels) NumSortedRuns() int { return len(l.SortedRuns()) }

// NonEmptyHighestLevel is the highest level holding files (-1 if none).
func (l *Levels) NonEmptyHighestLevel() int {
	for i := len(l.Upper) - 1; i >= 0; i-- {
		if len(l.Upper[i]) > 0 {
			return i + 1
		}
	}
	if len(l.Level0) > 0 {
		return 0
	}
	return -1
}

// Unit is a compaction to perform: the files of the picked runs, rewritten to OutputLevel.
type Unit struct {
	OutputLevel int
	Runs        []Run
	// Rewrite rewrites every file, even one alone in its section that would otherwise
	// only be moved (CompactUnit.fileRewrite).
	Rewrite bool
}

// Files lists the unit's files.
func (u Unit) Files() []manifest.DataFileMeta {
	var out []manifest.DataFileMeta
	for _, r := range u.Runs {
		out = append(out, r.Files...)
	}
	return out
}

// Universal is Paimon's universal compaction picker.
type Universal struct {
	MaxSizeAmp int // compaction.max-size-amplification-percent
	SizeRatio  int // compaction.size-ratio, plus compaction.offpeak-ratio in off-peak hours
	Trigger    int // num-sorted-run.compaction-trigger
	Early      EarlyFull
	// LastFull is when the bucket was last fully compacted (zero: unknown), Now the time
	// of the pick; Early's interval compares them.
	LastFull, Now time.Time
}

// EarlyFull is Paimon's EarlyFullCompaction (mergetree/compact/EarlyFullCompaction.java):
// full compactions picked before any other rule, by time or size. Zero fields are unset.
type EarlyFull struct {
	Interval                 time.Duration // compaction.optimization-interval
	TotalSizeThreshold       int64         // compaction.total-size-threshold: full below it
	IncrementalSizeThreshold int64         // compaction.incremental-size-threshold: full above it
}

// pick returns a full compaction when one of the rules asks for it.
func (e EarlyFull) pick(maxLevel int, runs []Run, lastFull, now time.Time) (Unit, bool) {
	if len(runs) <= 1 {
		return Unit{}, false
	}
	full := Unit{OutputLevel: maxLevel, Runs: runs}
	if e.Interval > 0 && (lastFull.IsZero() || now.Sub(lastFull) > e.Interval) {
		return full, true
	}
	var total, incremental int64
	for _, r := range runs {
		total += r.Size()
		if r.Level != maxLevel {
			incremental += r.Size()
		}
	}
	if e.TotalSizeThreshold > 0 && total < e.TotalSizeThreshold {
		return full, true
	}
	if e.IncrementalSizeThreshold > 0 && incremental > e.IncrementalSizeThreshold {
		return full, true
	}
	return Unit{}, false
}

// LastFullCompaction estimates when a bucket was last fully compacted, as Paimon does when
// a writer starts (MergeTreeCompactManagerFactory.estimateLastFullCompactionTime): the
// newest creation time of the files on the top level; zero if there are none.
func LastFullCompaction(runs []Run, maxLevel int) time.Time {
	var last time.Time
	for _, r := range runs {
		if r.Level != maxLevel {
			continue
		}
		for i := range r.Files {
			if t, ok := r.Files[i].CreatedAt(); ok && t.After(last) {
				last = t
			}
		}
	}
	return last
}

// OffPeakRatio is compaction.offpeak-ratio when hour is within the off-peak hours
// [start, end) (which may wrap past midnight), else 0 (OffPeakHours.java). A start or end
// of -1, or start == end, disables off-peak hours.
func OffPeakRatio(start, end, ratio, hour int) int {
	if start < 0 || end < 0 || start == end {
		return 0
	}
	var off bool
	if start < end {
		off = start <= hour && hour < end
	} else {
		off = hour < end || start <= hour
	}
	if off {
		return ratio
	}
	return 0
}

// Pick chooses a compaction for the runs, or none.
func (u Universal) Pick(numLevels int, runs []Run) (Unit, bool) {
	maxLevel := numLevels - 1
	if unit, ok := u.Early.pick(maxLevel, runs, u.LastFull, u.Now); ok {
		return unit, u.worthwhile(unit)
	}
	if unit, ok := u.pickForSizeAmp(maxLevel, runs); ok {
		return unit, u.worthwhile(unit)
	}
	if unit, ok := u.pickForSizeRatio(maxLevel, runs); ok {
		return unit, u.worthwhile(unit)
	}
	if len(runs) > u.Trigger {
		unit, ok := u.pickForSizeRatioCount(maxLevel, runs, len(runs)-u.Trigger+1, false)
		return unit, ok && u.worthwhile(unit)
	}
	return Unit{}, false
}

// worthwhile drops units that would only rewrite one file in place
// (MergeTreeCompactManager's filter).
func (u Universal) worthwhile(unit Unit) bool {
	files := unit.Files()
	return len(files) > 1 || (len(files) == 1 && int(files[0].Level) != unit.OutputLevel)
}

// Full picks every run for a full compaction to the top level.
func Full(numLevels int, runs []Run) (Unit, bool) {
	if len(runs) == 0 {
		return Unit{}, false
	}
	unit := Unit{OutputLevel: numLevels - 1, Runs: runs}
	if len(runs) == 1 && runs[0].Level == numLevels-1 {
		return unit, false // already one run on the top level
	}
	return unit, true
}

func (u Universal) pickForSizeAmp(maxLevel int, runs []Run) (Unit, bool) {
	if len(runs) < u.Trigger {
		return Unit{}, false
	}
	var candidate int64
	for _, r := range runs[:len(runs)-1] {
		candidate += r.Size()
	}
	earliest := runs[len(runs)-1].Size()
	if candidate*100 > int64(u.MaxSizeAmp)*earliest {
		return Unit{OutputLevel: maxLevel, Runs: runs}, true
	}
	return Unit{}, false
}

func (u Universal) pickForSizeRatio(maxLevel int, runs []Run) (Unit, bool) {
	if len(runs) < u.Trigger {
		return Unit{}, false
	}
	return u.pickForSizeRatioCount(maxLevel, runs, 1, false)
}

func (u Universal) pickForSizeRatioCount(maxLevel int, runs []Run, count int, force bool) (Unit, bool) {
	var size int64
	for _, r := range runs[:count] {
		size += r.Size()
	}
	for _, next := range runs[count:] {
		if float64(size)*(100.0+float64(u.SizeRatio))/100.0 < float64(next.Size()) {
			break
		}
		size += next.Size()
		count++
	}
	if !force && count <= 1 {
		return Unit{}, false
	}
	return createUnit(runs, maxLevel, count), true
}

// ForceLevel0 picks all level-0 runs (UniversalCompaction.forcePickL0), used when the
// stop trigger is reached or before a full read.
func (u Universal) ForceLevel0(numLevels int, runs []Run) (Unit, bool) {
	n := 0
	for _, r := range runs {
		if r.Level > 0 {
			break
		}
		n++
	}
	if n == 0 {
		return Unit{}, false
	}
	return u.pickForSizeRatioCount(numLevels-1, runs, n, true)
}

func createUnit(runs []Run, maxLevel, count int) Unit {
	var out int
	if count == len(runs) {
		out = maxLevel
	} else {
		out = max(0, runs[count].Level-1)
	}
	if out == 0 {
		for i := count; i < len(runs); i++ {
			count++
			if runs[i].Level != 0 {
				out = runs[i].Level
				break
			}
		}
	}
	if count == len(runs) {
		out = maxLevel
	}
	return Unit{OutputLevel: out, Runs: runs[:count]}
}

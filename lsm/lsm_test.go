package lsm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tarnlake/tarn/manifest"
)

// The cases below are those of Paimon's UniversalCompactionTest
// (paimon-core/src/test/java/org/apache/paimon/mergetree/compact/UniversalCompactionTest.java).

var nameSeq int

func run(level int, size int64) Run {
	nameSeq++
	return Run{Level: level, Files: []manifest.DataFileMeta{{FileName: fmt.Sprint("f", nameSeq), FileSize: size, Level: int32(level)}}}
}

func level0(sizes ...int64) []Run {
	var out []Run
	for _, s := range sizes {
		out = append(out, run(0, s))
	}
	return out
}

func sizesOf(u Unit) []int64 {
	var out []int64
	for _, f := range u.Files() {
		out = append(out, f.FileSize)
	}
	return out
}

func TestOutputLevel(t *testing.T) {
	levels := []int{0, 0, 1, 3, 4}
	var runs []Run
	for _, l := range levels {
		runs = append(runs, run(l, 1))
	}
	for count, want := range map[int]int{1: 1, 2: 1, 3: 2, 4: 3, 5: 5} {
		if got := createUnit(runs, 5, count).OutputLevel; got != want {
			t.Errorf("createUnit(count=%d).OutputLevel = %d, want %d", count, got, want)
		}
	}
}

func TestPick(t *testing.T) {
	u := Universal{MaxSizeAmp: 25, SizeRatio: 1, Trigger: 3}
	tests := []struct {
		name      string
		numLevels int
		runs      []Run
		want      []int64
	}{
		{"size amplification", 3, level0(1, 2, 3, 3), []int64{1, 2, 3, 3}},
		{"size ratio", 4, []Run{run(0, 1), run(1, 1), run(2, 1), run(3, 50)}, []int64{1, 1, 1}},
		{"file num", 4, []Run{run(0, 1), run(1, 2), run(2, 3), run(3, 50)}, []int64{1, 2, 3}},
		// The size ratio stops at the first run larger than those before it, even on
		// level 0 (UniversalCompaction.pickForSizeRatio); createUnit then takes the
		// level-0 runs up to the next level, here the top one.
		{"size ratio stops at a larger run", 4, []Run{run(0, 1), run(0, 1), run(0, 10), run(3, 50)}, []int64{1, 1, 10, 50}},
	}
	for _, tt := range tests {
		unit, ok := u.Pick(tt.numLevels, tt.runs)
		if !ok || !slices.Equal(sizesOf(unit), tt.want) {
			t.Errorf("%s: picked %v (%v), want %v", tt.name, sizesOf(unit), ok, tt.want)
		}
	}
}

// appendAndPick adds a new run of size 1 in front, picks, and collapses what was picked
// into one run of the summed size (as the Java test does).
func appendAndPick(pick func([]Run) (Unit, bool), sizes []int64, runsOf func([]int64) []Run) []int64 {
	sizes = append([]int64{1}, sizes...)
	unit, ok := pick(runsOf(sizes))
	if !ok {
		return sizes
	}
	picked := sizesOf(unit)
	var sum int64
	rest := slices.Clone(sizes)
	for _, p := range picked {
		sum += p
		i := slices.Index(rest, p)
		rest = slices.Delete(rest, i, i+1)
	}
	return append([]int64{sum}, rest...)
}

func TestSizeAmplification(t *testing.T) {
	u := Universal{MaxSizeAmp: 25, SizeRatio: 0, Trigger: 1}
	want := [][]int64{{2}, {3}, {4}, {1, 4}, {6}, {1, 6}, {8}, {1, 8}, {1, 1, 8}, {11}, {1, 11}, {1, 1, 11}, {14}, {1, 14}, {1, 1, 14}, {1, 1, 1, 14}, {18}}
	sizes := []int64{1}
	for i, w := range want {
		sizes = appendAndPick(func(r []Run) (Unit, bool) { return u.pickForSizeAmp(2, r) }, sizes, func(s []int64) []Run { return level0(s...) })
		if !slices.Equal(sizes, w) {
			t.Fatalf("step %d: %v, want %v", i, sizes, w)
		}
	}
}

func levelsBySize(sizes []int64) []Run {
	var out []Run
	for i, s := range sizes {
		out = append(out, run(i, s))
	}
	return out
}

func TestSizeRatio(t *testing.T) {
	u := Universal{MaxSizeAmp: 25, SizeRatio: 1, Trigger: 5}
	want := [][]int64{{5}, {1, 5}, {1, 1, 5}, {1, 1, 1, 5}, {4, 5}, {1, 4, 5}, {1, 1, 4, 5}, {3, 4, 5}, {1, 3, 4, 5}, {2, 3, 4, 5}, {1, 2, 3, 4, 5}, {16}, {1, 16}, {1, 1, 16}, {1, 1, 1, 16}, {4, 16}, {1, 4, 16}, {1, 1, 4, 16}, {3, 4, 16}, {1, 3, 4, 16}, {2, 3, 4, 16}, {1, 2, 3, 4, 16}, {11, 16}}
	sizes := []int64{1, 1, 1, 1}
	for i, w := range want {
		sizes = appendAndPick(func(r []Run) (Unit, bool) { return u.pickForSizeRatio(len(r), r) }, sizes, levelsBySize)
		if !slices.Equal(sizes, w) {
			t.Fatalf("step %d: %v, want %v", i, sizes, w)
		}
	}
}

func TestSizeRatioThreshold(t *testing.T) {
	sizes := []int64{8, 9, 10}
	for _, tt := range []struct {
		ratio int
		want  []int64
	}{{10, []int64{8, 9, 10}}, {20, []int64{27}}} {
		u := Universal{MaxSizeAmp: 25, SizeRatio: tt.ratio, Trigger: 2}
		got := sizes
		unit, ok := u.pickForSizeRatio(len(sizes), levelsBySize(sizes))
		if ok {
			var sum int64
			for _, s := range sizesOf(unit) {
				sum += s
			}
			got = append([]int64{sum}, sizes[len(sizesOf(unit)):]...)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ratio %d: %v, want %v", tt.ratio, got, tt.want)
		}
	}
}

func TestLevelsOrder(t *testing.T) {
	files := []manifest.DataFileMeta{
		{FileName: "old", Level: 0, MaxSequenceNumber: 5},
		{FileName: "new", Level: 0, MaxSequenceNumber: 9},
		{FileName: "l2", Level: 2},
	}
	l, err := NewLevels(files, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs := l.SortedRuns()
	if len(runs) != 3 || runs[0].Files[0].FileName != "new" || runs[1].Files[0].FileName != "old" || runs[2].Level != 2 {
		t.Fatalf("runs %+v", runs)
	}
	if l.NonEmptyHighestLevel() != 2 || l.NumSortedRuns() != 3 {
		t.Fatalf("highest %d runs %d", l.NonEmptyHighestLevel(), l.NumSortedRuns())
	}
}

// Early full compaction, after Paimon's EarlyFullCompactionTest
// (paimon-core/src/test/java/org/apache/paimon/mergetree/compact/EarlyFullCompactionTest.java):
// with numLevels 5 every early pick is a full compaction to level 4. The last full
// compaction is a parameter here (Paimon's trigger keeps it as state).
func TestEarlyFull(t *testing.T) {
	now := time.UnixMilli(10_000)
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name     string
		early    EarlyFull
		lastFull time.Time
		runs     []Run
		want     []int64 // nil: no early pick
	}{
		{"single run", EarlyFull{Interval: ms(1000), TotalSizeThreshold: 1000}, time.Time{}, level0(100), nil},
		{"no options", EarlyFull{}, time.Time{}, level0(100, 200), nil},
		{"interval, never compacted", EarlyFull{Interval: ms(1000)}, time.Time{}, level0(100, 200), []int64{100, 200}},
		{"interval, compacted recently", EarlyFull{Interval: ms(1000)}, now.Add(-ms(500)), level0(100, 200), nil},
		{"interval, compacted long ago", EarlyFull{Interval: ms(1000)}, now.Add(-ms(1001)), level0(100, 200), []int64{100, 200}},
		{"interval exactly elapsed", EarlyFull{Interval: ms(1000)}, now.Add(-ms(1000)), level0(100, 200), nil},
		{"total below threshold", EarlyFull{TotalSizeThreshold: 1000}, time.Time{}, level0(100, 200), []int64{100, 200}},
		{"total at threshold", EarlyFull{TotalSizeThreshold: 1000}, time.Time{}, level0(500, 500), nil},
		{"total above threshold", EarlyFull{TotalSizeThreshold: 1000}, time.Time{}, level0(500, 1000), nil},
		{"incremental above threshold", EarlyFull{IncrementalSizeThreshold: 500}, time.Time{}, level0(400, 200), []int64{400, 200}},
		{"incremental below threshold", EarlyFull{IncrementalSizeThreshold: 500}, time.Time{}, level0(100, 200), nil},
		{"incremental leaves out the top level", EarlyFull{IncrementalSizeThreshold: 500}, time.Time{}, []Run{run(0, 100), run(0, 300), run(4, 500)}, nil},
		{"incremental, with the top level", EarlyFull{IncrementalSizeThreshold: 500}, time.Time{}, []Run{run(0, 100), run(0, 300), run(0, 300), run(4, 500)}, []int64{100, 300, 300, 500}},
		{"interval first, size above threshold", EarlyFull{Interval: ms(1000), TotalSizeThreshold: 500}, time.Time{}, level0(300, 300), []int64{300, 300}},
		{"threshold when the interval has not passed", EarlyFull{Interval: ms(1000), TotalSizeThreshold: 500}, now.Add(-ms(500)), level0(30, 30), []int64{30, 30}},
		{"neither", EarlyFull{Interval: ms(1000), TotalSizeThreshold: 500}, now.Add(-ms(500)), level0(300, 300), nil},
	}
	for _, tc := range tests {
		unit, ok := tc.early.pick(4, tc.runs, tc.lastFull, now)
		if tc.want == nil {
			if ok {
				t.Errorf("%s: picked %v, want nothing", tc.name, sizesOf(unit))
			}
			continue
		}
		if !ok || unit.OutputLevel != 4 || !slices.Equal(sizesOf(unit), tc.want) {
			t.Errorf("%s: picked %v (%v) to level %d, want %v to level 4", tc.name, sizesOf(unit), ok, unit.OutputLevel, tc.want)
		}
		// The universal picker tries it before its other rules.
		u := Universal{MaxSizeAmp: 200, SizeRatio: 1, Trigger: 5, Early: tc.early, LastFull: tc.lastFull, Now: now}
		if unit, ok := u.Pick(5, tc.runs); !ok || unit.OutputLevel != 4 || !slices.Equal(sizesOf(unit), tc.want) {
			t.Errorf("%s: Universal.Pick picked %v (%v)", tc.name, sizesOf(unit), ok)
		}
	}
}

// LastFullCompaction is the newest creation time on the top level, as Paimon estimates it
// when a writer starts.
func TestLastFullCompaction(t *testing.T) {
	at := func(r Run, ms int64) Run {
		r.Files[0].CreationTime = &ms
		return r
	}
	created := func(ms int64) time.Time {
		m := manifest.DataFileMeta{CreationTime: &ms}
		tm, _ := m.CreatedAt()
		return tm
	}
	runs := []Run{at(run(0, 1), 9000), at(run(2, 1), 8000), {Level: 4, Files: append(at(run(4, 1), 5000).Files, at(run(4, 1), 7000).Files...)}}
	if got := LastFullCompaction(runs, 4); !got.Equal(created(7000)) {
		t.Errorf("last full compaction %v, want the newest top-level file's %v", got, created(7000))
	}
	if got := LastFullCompaction(runs[:2], 4); !got.IsZero() {
		t.Errorf("without top-level files: %v, want zero", got)
	}
}

// Off-peak hours, after Paimon's OffPeakHoursTest.
func TestOffPeakRatio(t *testing.T) {
	const ratio = 10
	tests := []struct {
		start, end int
		hours      map[int]int
	}{
		{-1, -1, map[int]int{0: 0, 12: 0}},
		{5, 5, map[int]int{5: 0}},
		{2, -1, map[int]int{2: 0}},
		{-1, 2, map[int]int{1: 0}},
		{2, 8, map[int]int{1: 0, 2: ratio, 5: ratio, 7: ratio, 8: 0, 9: 0}},
		{22, 6, map[int]int{21: 0, 22: ratio, 23: ratio, 0: ratio, 5: ratio, 6: 0, 10: 0}},
	}
	for _, tc := range tests {
		for hour, want := range tc.hours {
			if got := OffPeakRatio(tc.start, tc.end, ratio, hour); got != want {
				t.Errorf("off-peak %d..%d at hour %d: ratio %d, want %d", tc.start, tc.end, hour, got, want)
			}
		}
	}
}

package lsm

import (
	"fmt"
	"slices"
	"testing"

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

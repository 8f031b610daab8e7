package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tarnlake/tarn/lsm"
	"github.com/tarnlake/tarn/manifest"
)

// pickCase is one sorted-run layout and the picker's options, in the oracle's pick format.
type pickCase struct {
	MaxSizeAmp int        `json:"maxSizeAmp"`
	SizeRatio  int        `json:"sizeRatio"`
	Trigger    int        `json:"trigger"`
	NumLevels  int        `json:"numLevels"`
	Runs       [][2]int64 `json:"runs"` // [level, size], level-0 runs first, then levels ascending
	ForceL0    bool       `json:"forceL0,omitempty"`
}

type pickResult struct {
	Runs        int `json:"runs"`
	OutputLevel int `json:"outputLevel"`
}

// randomLayout draws a layout a bucket can have: any number of level-0 runs, then at
// most one run per level. Sizes are drawn to land on the rules' thresholds often: equal
// runs, runs growing by about the size ratio, and a top run that bounds the size
// amplification.
func randomLayout(r *rand.Rand) pickCase {
	c := pickCase{
		MaxSizeAmp: []int{25, 50, 100, 200, 400}[r.IntN(5)],
		SizeRatio:  []int{0, 1, 5, 10, 20}[r.IntN(5)],
		Trigger:    1 + r.IntN(8),
		NumLevels:  3 + r.IntN(5),
	}
	size := int64(1 + r.IntN(100))
	next := func() int64 {
		switch r.IntN(4) {
		case 0: // the same size
		case 1: // exactly at the size ratio
			size = size * int64(100+c.SizeRatio) / 100
		case 2: // a little above or below it
			size = size*int64(100+c.SizeRatio)/100 + int64(r.IntN(5)) - 2
		default: // a larger step
			size *= int64(2 + r.IntN(4))
		}
		size = max(size, 1)
		return size
	}
	for n := r.IntN(9); n > 0; n-- {
		c.Runs = append(c.Runs, [2]int64{0, next()})
	}
	for level := 1; level < c.NumLevels; level++ {
		if r.IntN(2) == 0 {
			c.Runs = append(c.Runs, [2]int64{int64(level), next()})
		}
	}
	if len(c.Runs) == 0 {
		c.Runs = append(c.Runs, [2]int64{0, next()})
	}
	c.ForceL0 = r.IntN(5) == 0 && c.Runs[0][0] == 0
	return c
}

// tarnPick is what Tarn's picker (package lsm) chooses for the layout: the runs of the
// unit, before MergeTreeCompactManager's filter of units that would rewrite one file in
// place (UniversalCompaction.pick answers those too).
func tarnPick(c pickCase) pickResult {
	runs := make([]lsm.Run, len(c.Runs))
	for i, r := range c.Runs {
		runs[i] = lsm.Run{Level: int(r[0]), Files: []manifest.DataFileMeta{{FileName: fmt.Sprintf("f%d", i), FileSize: r[1], Level: int32(r[0])}}}
	}
	u := lsm.Universal{MaxSizeAmp: c.MaxSizeAmp, SizeRatio: c.SizeRatio, Trigger: c.Trigger}
	var unit lsm.Unit
	if c.ForceL0 {
		unit, _ = u.ForceLevel0(c.NumLevels, runs)
	} else {
		unit, _ = u.Pick(c.NumLevels, runs)
	}
	if len(unit.Runs) == 0 {
		return pickResult{}
	}
	return pickResult{Runs: len(unit.Runs), OutputLevel: unit.OutputLevel}
}

// Tarn's universal compaction picker chooses what Paimon's chooses
// (paimon-core mergetree/compact/UniversalCompaction.java: pick, and forcePickL0 at the
// stop trigger): the same runs and the same output level, for thousands of random
// layouts and options, each asked of Paimon's class itself (compat/oracle pick).
func TestUniversalPickerAsPaimon(t *testing.T) {
	requireOracle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := seedFrom(t, "TARN_PICK_SEED")
	r := rand.New(rand.NewPCG(seed, 7))
	cases := make([]pickCase, 4000)
	var in bytes.Buffer
	for i := range cases {
		cases[i] = randomLayout(r)
		b, err := json.Marshal(cases[i])
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	out, err := oracleStdin(ctx, in.String(), "pick")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var i, bad, picked int
	for ; sc.Scan(); i++ {
		if i >= len(cases) {
			t.Fatalf("the oracle answered more than %d cases", len(cases))
		}
		var want pickResult
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("case %d: %q: %v", i, sc.Text(), err)
		}
		if want.Runs > 0 {
			picked++
		}
		if got := tarnPick(cases[i]); got != want {
			bad++
			if bad <= 10 {
				c, _ := json.Marshal(cases[i])
				t.Errorf("seed %d (TARN_PICK_SEED) case %d %s: Tarn picks %d runs to level %d, Paimon %d runs to level %d", seed, i, c, got.Runs, got.OutputLevel, want.Runs, want.OutputLevel)
			}
		}
	}
	if i != len(cases) {
		t.Fatalf("the oracle answered %d of %d cases", i, len(cases))
	}
	if bad > 0 {
		t.Fatalf("seed %d: %d of %d picks differ from Paimon's", seed, bad, len(cases))
	}
	// The layouts exercise the rules: most of them are picked, and some are not.
	if picked < len(cases)/4 || picked == len(cases) {
		t.Fatalf("seed %d: Paimon picked %d of %d layouts: the generator misses the rules", seed, picked, len(cases))
	}
	t.Logf("seed %d: %d layouts, %d picked, all as Paimon picks them", seed, len(cases), picked)
}

// seedFrom is the random seed of a randomized test: the environment variable env when set
// (to repeat a failure), else the clock's.
func seedFrom(t *testing.T, env string) uint64 {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", env, v, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// knownGaps are the table shapes Tarn cannot read yet, with the reason the matrix shows.
// A gap that starts passing fails the test until it is removed from this list.
var knownGaps = map[string]string{
	"ref.types_ts9_extremes": tsRange,
}

// tsRange: Arrow's nanosecond timestamps hold 1677-09-21..2262-04-11; Tarn reports
// TIMESTAMP(7..9) values outside that range as an error rather than wrapping them.
const tsRange = "TIMESTAMP(7..9) values outside 1677-09-21..2262-04-11 do not fit Arrow nanosecond timestamps (reported as an error, never wrapped)"

// gapFor returns the reason a reference table is expected to fail, if any.
func gapFor(rt refTable) string {
	if r, ok := knownGaps[rt.Name]; ok {
		return r
	}
	return ""
}

// Every snapshot and tag of every reference table written by Paimon reads through Tarn
// exactly as Paimon's own batch reader returns it, for each seed (compatSeeds).
func TestTarnReadsPaimonTables(t *testing.T) {
	requireOracle(t)
	ctx := context.Background()
	for _, sd := range compatSeeds() {
		dir := generatedSeed(t, paimonLatest, sd)
		main := sd == *seed
		t.Run(fmt.Sprintf("seed%d", sd), func(t *testing.T) {
			for _, rt := range loadManifest(t, dir) {
				t.Run(rt.Name, func(t *testing.T) {
					gap := gapFor(rt)
					var failures []string
					checked := 0
					for _, file := range rt.Files {
						if strings.HasPrefix(file, "changes-") {
							continue // changelog reads are checked by the streaming tests
						}
						want, err := os.ReadFile(filepath.Join(dir, rt.Expected, file))
						if err != nil {
							t.Fatal(err)
						}
						so := table.ScanOptions{}
						if id, ok := strings.CutPrefix(strings.TrimSuffix(file, ".jsonl"), "snapshot-"); ok {
							fmt.Sscan(id, &so.SnapshotID)
						} else if tag, ok := strings.CutPrefix(strings.TrimSuffix(file, ".jsonl"), "tag-"); ok {
							so.Tag = tag
						}
						got, err := scanJSONL(ctx, filepath.Join(dir, rt.Path), so)
						checked++
						switch {
						case err != nil:
							failures = append(failures, fmt.Sprintf("%s: %v", file, err))
						case !bytes.Equal(got, want):
							failures = append(failures, fmt.Sprintf("%s: rows differ\n%s", file, diff(string(want), string(got))))
						}
					}
					if main {
						record(rt, "tarn_reads", len(failures) == 0, firstLine(failures, gap))
					}
					switch {
					case gap != "" && len(failures) == 0 && main:
						t.Fatalf("%s now reads correctly: remove it from the known gaps (%q)", rt.Name, gap)
					case gap != "":
						t.Logf("known gap: %s", gap)
					case len(failures) > 0:
						t.Errorf("%d of %d reads differ from Paimon's:\n%s", len(failures), checked, strings.Join(failures, "\n"))
					}
				})
			}
		})
	}
}

func firstLine(fs []string, gap string) string {
	if gap != "" {
		return gap
	}
	if len(fs) == 0 {
		return ""
	}
	l, _, _ := strings.Cut(fs[0], "\n")
	return l
}

func scanJSONL(ctx context.Context, path string, so table.ScanOptions) ([]byte, error) {
	t, err := table.Open(ctx, fileio.NewLocal(), path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = export.Write(ctx, t, export.Options{Scan: so, Format: render.JSONL}, &buf)
	return buf.Bytes(), err
}

// diff shows the first differing lines.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 4; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "  line %d\n    paimon: %s\n    tarn:   %s\n", i+1, trunc(w), trunc(g))
			shown++
		}
	}
	fmt.Fprintf(&b, "  (%d lines from Paimon, %d from Tarn)", len(wl)-1, len(gl)-1)
	return b.String()
}

func trunc(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

package compat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The compatibility matrix: per table shape and direction, pass or the reason it fails.
// TestMain writes it to the cache (and, with -compat.update, into README.md).
var (
	matrixMu sync.Mutex
	matrix   = map[string]*matrixRow{}
	update   = flagBool("compat.update", "rewrite the Compatibility table in README.md from this run")
)

type matrixRow struct {
	shape   string
	results map[string]string // column -> "" (pass) or reason
}

var matrixColumns = []struct{ key, title string }{
	{"tarn_reads", "Tarn reads Paimon's"},
	{"paimon_reads", "Paimon " + paimonLatest + " reads Tarn's"},
	{"paimon_old_reads", "Paimon " + paimonOld + " reads Tarn's"},
	{"pypaimon_reads", "pypaimon reads Tarn's"},
	{"metadata", "byte-identical metadata"},
}

func record(rt refTable, column string, ok bool, reason string) {
	recordShape(rt.Name+" — "+rt.Description, column, ok, reason)
}

// passNote marks a passing result that carries a note (what the check left out).
const passNote = "\x00"

// recordPass records a pass with a note, shown beside its ✅ (what the check left out).
func recordPass(rt refTable, column, note string) {
	recordShape(rt.Name+" — "+rt.Description, column, true, "")
	matrixMu.Lock()
	defer matrixMu.Unlock()
	matrix[rt.Name+" — "+rt.Description].results[column] = passNote + note
}

func recordShape(shape, column string, ok bool, reason string) {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	r := matrix[shape]
	if r == nil {
		r = &matrixRow{shape: shape, results: map[string]string{}}
		matrix[shape] = r
	}
	if ok {
		r.results[column] = ""
	} else {
		if reason == "" {
			reason = "fails"
		}
		r.results[column] = reason
	}
}

func renderMatrix() string {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	var b strings.Builder
	b.WriteString("| table shape |")
	for _, c := range matrixColumns {
		b.WriteString(" " + c.title + " |")
	}
	b.WriteString("\n|---|")
	for range matrixColumns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	shapes := make([]string, 0, len(matrix))
	for s := range matrix {
		shapes = append(shapes, s)
	}
	sort.Strings(shapes)
	pass, total := 0, 0
	for _, s := range shapes {
		r := matrix[s]
		fmt.Fprintf(&b, "| %s |", s)
		for _, c := range matrixColumns {
			reason, ran := r.results[c.key]
			switch {
			case !ran:
				b.WriteString(" – |")
			case reason == "":
				b.WriteString(" ✅ |")
				pass++
				total++
			case strings.HasPrefix(reason, passNote):
				fmt.Fprintf(&b, " ✅ %s |", strings.ReplaceAll(strings.TrimPrefix(reason, passNote), "|", "/"))
				pass++
				total++
			default:
				fmt.Fprintf(&b, " ❌ %s |", strings.ReplaceAll(reason, "|", "/"))
				total++
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d shapes; %d of %d checks pass (– not checked).\n", len(shapes), pass, total)
	return b.String()
}

func TestMain(m *testing.M) {
	flagParse()
	code := m.Run()
	closeOraclePools()
	if n := oracleCalls.Load(); n > 0 {
		fmt.Printf("oracle: %d commands ran in %d server JVMs (and forked ones for the rest)\n", n, oracleStarts.Load())
	}
	if len(matrix) > 0 {
		table := renderMatrix()
		out := filepath.Join(cacheDirNoT(), "compat-matrix.md")
		_ = os.WriteFile(out, []byte(table), 0o644)
		fmt.Printf("compatibility matrix written to %s\n", out)
		if *update {
			if err := updateReadme(table); err != nil {
				fmt.Fprintln(os.Stderr, "update README:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

const (
	beginMarker = "<!-- compat-matrix:begin -->"
	endMarker   = "<!-- compat-matrix:end -->"
)

func updateReadme(table string) error {
	p := filepath.Join(repoRoot(), "README.md")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("README.md lacks the %s ... %s markers", beginMarker, endMarker)
	}
	s = s[:i+len(beginMarker)] + "\n" + table + s[j:]
	return os.WriteFile(p, []byte(s), 0o644)
}

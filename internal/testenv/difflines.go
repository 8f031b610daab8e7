package testenv

import (
	"fmt"
	"strings"
)

// DiffLines describes how the listing got differs from want, for a test failure that
// would otherwise print two long listings: their lengths, the first line where they part
// with a few lines of context from each, and the lines one holds more often than the
// other ("+" in got only, "-" in want only). It returns "" when they are equal.
func DiffLines(got, want []string) string {
	first := 0
	for first < len(got) && first < len(want) && got[first] == want[first] {
		first++
	}
	if first == len(got) && first == len(want) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "got %d lines, want %d; first difference at line %d\n", len(got), len(want), first)
	window := func(name string, lines []string) {
		lo, hi := max(first-3, 0), min(first+6, len(lines))
		fmt.Fprintf(&b, "%s lines %d..%d:\n", name, lo, hi-1)
		for i := lo; i < hi; i++ {
			mark := " "
			if i == first {
				mark = ">"
			}
			fmt.Fprintf(&b, "  %s %s\n", mark, lines[i])
		}
	}
	window("got", got)
	window("want", want)
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	var extra []string
	emit := func(lines []string, sign int, prefix string) {
		for _, l := range lines {
			if c := count[l]; c*sign > 0 {
				for ; c*sign > 0; c -= sign {
					extra = append(extra, prefix+l)
				}
				count[l] = 0
			}
		}
	}
	emit(got, 1, "+ ")
	emit(want, -1, "- ")
	if len(extra) == 0 {
		b.WriteString("same lines, in another order\n")
	} else {
		const most = 40
		if len(extra) > most {
			fmt.Fprintf(&b, "%d lines differ; the first %d:\n", len(extra), most)
			extra = extra[:most]
		}
		b.WriteString(strings.Join(extra, "\n"))
		b.WriteByte('\n')
	}
	return b.String()
}

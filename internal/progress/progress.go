// Package progress shows the progress of long command-line jobs on a terminal: a line
// rewritten in place at most a few times a second, and nothing when output is not a
// terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar reports counts of work done (and optionally the total to do).
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	unit    string
	total   int64
	done    int64
	bytes   int64
	start   time.Time
	last    time.Time
	enabled bool
	width   int
}

// New returns a bar writing to w (shown only when w is a terminal). total may be 0 when
// unknown.
func New(w io.Writer, label, unit string, total int64) *Bar {
	return &Bar{w: w, label: label, unit: unit, total: total, start: time.Now(), enabled: IsTerminal(w)}
}

// IsTerminal reports whether w is a character device.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add records n more units and b more bytes.
func (p *Bar) Add(n, b int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.bytes += b
	if p.enabled && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
}

func (p *Bar) draw() {
	el := time.Since(p.start).Seconds()
	rate := float64(p.done) / max(el, 1e-9)
	line := fmt.Sprintf("%s %d %s (%.0f %s/s", p.label, p.done, p.unit, rate, p.unit)
	if p.bytes > 0 {
		line += fmt.Sprintf(", %.1f MB/s", float64(p.bytes)/1e6/max(el, 1e-9))
	}
	line += ")"
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		const w = 24
		n := int(frac * w)
		line = fmt.Sprintf("[%s%s] %3.0f%% ", strings.Repeat("=", n), strings.Repeat(" ", w-n), frac*100) + line
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// Done clears the line.
func (p *Bar) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	}
}

// Elapsed is the time since the bar started.
func (p *Bar) Elapsed() time.Duration { return time.Since(p.start) }

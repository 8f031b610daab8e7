package datafile

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
)

// StatsTruncateLength is the length of Paimon's default metadata.stats-mode, truncate(16):
// string and binary bounds are cut to 16 characters (bytes), the maximum rounded up.
const StatsTruncateLength = 16

// StatsKind is what a column's statistics hold (Paimon's SimpleColStatsCollector kinds).
type StatsKind uint8

const (
	StatsTruncate StatsKind = iota // null count and bounds, strings and bytes cut to Length
	StatsFull                      // null count and bounds
	StatsCounts                    // null count only
	StatsNone                      // nothing: not even the null count
)

// StatsMode is the statistics mode of a column: metadata.stats-mode and its per-level,
// changelog and per-field forms. The zero value is Paimon's default, truncate(16).
type StatsMode struct {
	Kind   StatsKind
	Length int // StatsTruncate: the length (0: StatsTruncateLength)
}

// String is the mode as Paimon's options spell it.
func (m StatsMode) String() string {
	switch m.Kind {
	case StatsFull:
		return "full"
	case StatsCounts:
		return "counts"
	case StatsNone:
		return "none"
	}
	return fmt.Sprintf("truncate(%d)", m.length())
}

func (m StatsMode) length() int {
	if m.Length <= 0 {
		return StatsTruncateLength
	}
	return m.Length
}

var truncatePattern = regexp.MustCompile(`^TRUNCATE\((\d+)\)$`)

// ParseStatsMode reads a stats mode as SimpleColStatsCollector.from does: none, counts,
// full or truncate(N) with N > 0, in any letter case.
func ParseStatsMode(s string) (StatsMode, error) {
	upper := strings.ToUpper(s)
	switch upper {
	case "NONE":
		return StatsMode{Kind: StatsNone}, nil
	case "COUNTS":
		return StatsMode{Kind: StatsCounts}, nil
	case "FULL":
		return StatsMode{Kind: StatsFull}, nil
	}
	if m := truncatePattern.FindStringSubmatch(upper); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 32)
		if err == nil && n > 0 {
			return StatsMode{Kind: StatsTruncate, Length: int(n)}, nil
		}
	}
	return StatsMode{}, fmt.Errorf("stats mode %q: want none, counts, full or truncate(N) with N > 0", s)
}

// ColStats are one column's statistics: min and max as binaryrow values (nil when unknown
// or every value is null) and the null count. None marks a column without statistics
// (stats mode none): its null count is unknown too.
type ColStats struct {
	Min, Max  any
	NullCount int64
	None      bool
}

// StatsCollector gathers column statistics over batches.
type StatsCollector struct {
	types []types.DataType
	cols  []colStats
}

type colStats struct {
	mode      StatsMode
	nulls     int64
	has       bool
	strMin    string // strings, and bytes as strings
	strMax    string
	decMin    decimal128.Num
	decMax    decimal128.Num
	i64min    int64
	i64max    int64
	f64min    float64
	f64max    float64
	unordered bool
}

// NewStatsCollector collects stats of columns of the given types, each in its mode
// (modes nil: all truncate(16)).
func NewStatsCollector(ts []types.DataType, modes []StatsMode) *StatsCollector {
	c := &StatsCollector{types: ts, cols: make([]colStats, len(ts))}
	for i, t := range ts {
		c.cols[i].unordered = t.IsNested() || t.Root == types.Blob
		if modes != nil {
			c.cols[i].mode = modes[i]
		}
	}
	return c
}

// Update adds the rows of the given columns (one per collected type, in order).
func (c *StatsCollector) Update(cols []arrow.Array) {
	for i, a := range cols {
		c.cols[i].update(a)
	}
}

func (s *colStats) update(a arrow.Array) {
	if s.mode.Kind == StatsNone {
		return
	}
	s.nulls += int64(a.NullN())
	if s.unordered || s.mode.Kind == StatsCounts || a.NullN() == a.Len() {
		return
	}
	switch a := a.(type) {
	case *array.Boolean:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				v := int64(0)
				if a.Value(i) {
					v = 1
				}
				s.int(v)
			}
		}
	case *array.Int8:
		intRange(s, a, a.Int8Values())
	case *array.Int16:
		intRange(s, a, a.Int16Values())
	case *array.Int32:
		intRange(s, a, a.Int32Values())
	case *array.Int64:
		intRange(s, a, a.Int64Values())
	case *array.Date32:
		intRange(s, a, a.Date32Values())
	case *array.Time32:
		intRange(s, a, a.Time32Values())
	case *array.Timestamp:
		intRange(s, a, a.TimestampValues())
	case *array.Float32:
		for i, v := range a.Float32Values() {
			if a.IsValid(i) {
				s.float(float64(v))
			}
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if a.IsValid(i) {
				s.float(v)
			}
		}
	case *array.String:
		s.stringRange(a, a.Value)
	case *array.Binary:
		// Bytes compare as their strings do; ValueString does not copy.
		s.stringRange(a, a.ValueString)
	case *array.Decimal128:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) {
				v := a.Value(i)
				if !s.has {
					s.decMin, s.decMax, s.has = v, v, true
					continue
				}
				if v.Less(s.decMin) {
					s.decMin = v
				}
				if s.decMax.Less(v) {
					s.decMax = v
				}
			}
		}
	default:
		s.unordered = true
	}
}

// intRange folds a batch's integer values into the bounds: the batch's extremes first, in
// a tight loop, then two updates.
func intRange[T int8 | int16 | int32 | int64 | arrow.Date32 | arrow.Time32 | arrow.Timestamp](s *colStats, a arrow.Array, vals []T) {
	nulls := a.NullN() > 0
	var lo, hi T
	found := false
	for i, v := range vals {
		if nulls && a.IsNull(i) {
			continue
		}
		if !found {
			lo, hi, found = v, v, true
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if found {
		s.int(int64(lo))
		s.int(int64(hi))
	}
}

// stringRange folds a batch's strings (or bytes as strings) into the bounds. The batch's
// extremes point into its buffer; only they are copied, once.
func (s *colStats) stringRange(a arrow.Array, value func(int) string) {
	lo, hi, found := "", "", false
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) {
			v := value(i)
			switch {
			case !found:
				lo, hi, found = v, v, true
			case v < lo:
				lo = v
			case v > hi:
				hi = v
			}
		}
	}
	if found {
		if !s.has || lo < s.strMin {
			s.strMin = strings.Clone(lo)
		}
		if !s.has || hi > s.strMax {
			s.strMax = strings.Clone(hi)
		}
		s.has = true
	}
}

func (s *colStats) int(v int64) {
	if !s.has {
		s.i64min, s.i64max, s.has = v, v, true
		return
	}
	s.i64min = min(s.i64min, v)
	s.i64max = max(s.i64max, v)
}

// float follows Paimon: NaN values take part in min/max through Java's Double.compare,
// where NaN is the greatest value.
func (s *colStats) float(v float64) {
	if !s.has {
		s.f64min, s.f64max, s.has = v, v, true
		return
	}
	if javaLess(v, s.f64min) {
		s.f64min = v
	}
	if javaLess(s.f64max, v) {
		s.f64max = v
	}
}

func javaLess(a, b float64) bool {
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	}
	return a < b
}

// Result returns the statistics of every column.
func (c *StatsCollector) Result() []ColStats {
	out := make([]ColStats, len(c.cols))
	for i := range c.cols {
		out[i] = c.cols[i].result(c.types[i])
	}
	return out
}

func (s *colStats) result(t types.DataType) ColStats {
	if s.mode.Kind == StatsNone {
		return ColStats{None: true}
	}
	cs := ColStats{NullCount: s.nulls}
	if !s.has || s.unordered || s.mode.Kind == StatsCounts {
		return cs
	}
	switch t.Root {
	case types.Boolean:
		cs.Min, cs.Max = s.i64min != 0, s.i64max != 0
	case types.TinyInt:
		cs.Min, cs.Max = int8(s.i64min), int8(s.i64max)
	case types.SmallInt:
		cs.Min, cs.Max = int16(s.i64min), int16(s.i64max)
	case types.Int:
		cs.Min, cs.Max = int32(s.i64min), int32(s.i64max)
	case types.BigInt:
		cs.Min, cs.Max = s.i64min, s.i64max
	case types.Date:
		cs.Min, cs.Max = binaryrow.Date(s.i64min), binaryrow.Date(s.i64max)
	case types.Time:
		cs.Min, cs.Max = binaryrow.Time(s.i64min), binaryrow.Time(s.i64max)
	case types.Timestamp, types.LocalZonedTimestamp:
		unit := types.TimeUnit(t.Precision)
		cs.Min, cs.Max = TimestampOf(s.i64min, unit), TimestampOf(s.i64max, unit)
	case types.Float:
		cs.Min, cs.Max = float32(s.f64min), float32(s.f64max)
	case types.Double:
		cs.Min, cs.Max = s.f64min, s.f64max
	case types.Decimal:
		cs.Min = binaryrow.Decimal{Unscaled: s.decMin.BigInt(), Scale: t.Scale}
		cs.Max = binaryrow.Decimal{Unscaled: s.decMax.BigInt(), Scale: t.Scale}
	case types.Char, types.VarChar:
		lo, hi, ok := truncateString(s.strMin, s.strMax, s.mode)
		if ok {
			cs.Min, cs.Max = lo, hi
		}
	case types.Binary, types.VarBinary:
		lo, hi, ok := truncateBytes([]byte(s.strMin), []byte(s.strMax), s.mode)
		if ok {
			cs.Min, cs.Max = lo, hi
		}
	}
	return cs
}

// truncateString applies a truncate(N) mode to bounds (TruncateSimpleColStatsCollector):
// the min cut to N characters, the max cut and its last character incremented; if no
// character can be incremented both bounds are unknown. Other modes keep the bounds.
func truncateString(lo, hi string, m StatsMode) (string, string, bool) {
	if m.Kind != StatsTruncate {
		return lo, hi, true
	}
	n := m.length()
	if utf8.RuneCountInString(lo) > n {
		lo = string([]rune(lo)[:n])
	}
	if utf8.RuneCountInString(hi) <= n {
		return lo, hi, true
	}
	rs := []rune(hi)[:n]
	for i := n - 1; i >= 0; i-- {
		next := rs[i] + 1
		if next <= utf8.MaxRune && utf8.ValidRune(next) {
			rs = append(rs[:i], next)
			return lo, string(rs), true
		}
	}
	return "", "", false
}

func truncateBytes(lo, hi []byte, m StatsMode) ([]byte, []byte, bool) {
	if m.Kind != StatsTruncate {
		return lo, hi, true
	}
	n := m.length()
	if len(lo) > n {
		lo = lo[:n]
	}
	if len(hi) <= n {
		return lo, hi, true
	}
	b := append([]byte(nil), hi[:n]...)
	for i := n - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return lo, b[:i+1], true
		}
	}
	return nil, nil, false
}

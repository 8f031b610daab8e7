package catalog

import (
	"strings"
	"testing"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
)

// The compaction strategy options Paimon's CoreOptions defines (compaction.optimization-
// interval is a duration, the thresholds memory sizes, the off-peak hours 0..23 or -1,
// lookup-compact radical or gentle) are checked when a table is created or altered.
func TestValidateCompactionStrategyOptions(t *testing.T) {
	fields, err := types.ParseColumns("id INT NOT NULL, v STRING")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts    map[string]string
		refused string
	}{
		{opts: map[string]string{"compaction.optimization-interval": "1 h", "compaction.total-size-threshold": "256 mb", "compaction.incremental-size-threshold": "1 gb"}},
		{opts: map[string]string{"compaction.offpeak.start.hour": "22", "compaction.offpeak.end.hour": "6", "compaction.offpeak-ratio": "20"}},
		{opts: map[string]string{"compaction.offpeak.start.hour": "-1", "compaction.force-up-level-0": "true"}},
		{opts: map[string]string{"compaction.optimization-interval": "hourly"}, refused: "want a duration"},
		{opts: map[string]string{"compaction.total-size-threshold": "lots"}, refused: "want a size"},
		{opts: map[string]string{"compaction.offpeak.start.hour": "24"}, refused: "want an hour from 0 to 23"},
		{opts: map[string]string{"compaction.offpeak.end.hour": "-2"}, refused: "want an hour from 0 to 23"},
		{opts: map[string]string{"compaction.offpeak-ratio": "-5"}, refused: "want an integer >= 0"},
		{opts: map[string]string{"compaction.force-up-level-0": "sometimes"}, refused: "compaction.force-up-level-0"},
		{opts: map[string]string{"lookup-compact": "GENTLE", "lookup-compact.max-interval": "8"}},
		{opts: map[string]string{"lookup-compact": "lazy"}, refused: "want radical or gentle"},
		{opts: map[string]string{"lookup-compact.max-interval": "0"}, refused: "want an integer >= 1"},
	} {
		err := ValidateOptions(format.NewOptions(tc.opts), fields, []string{"id"}, nil)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.opts, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%v: error %v, want one saying %q", tc.opts, err, tc.refused)
		}
	}
}

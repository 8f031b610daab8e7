package logsystem

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// newConsumer returns a client consuming exactly the given partitions from the given
// offsets (no group), failing rather than resetting when an offset is out of range.
func newConsumer(cfg Config, parts map[string]map[int32]kgo.Offset, readCommitted bool, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := cfg.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ConsumePartitions(parts), kgo.ConsumeResetOffset(kgo.NoResetOffset()))
	if readCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("logsystem: %w", err)
	}
	return cl, nil
}

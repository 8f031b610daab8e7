package logsystem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// EnsureTopic creates the table's topic if it does not exist: one partition per bucket,
// the configured replication and retention, cleanup.policy=delete (commit markers have no
// key, and a reader needs every record). An existing topic must have at least as many
// partitions as the table has buckets.
func EnsureTopic(ctx context.Context, adm *kadm.Client, c TableConfig) error {
	details, err := adm.ListTopics(ctx, c.Topic)
	if err != nil {
		return fmt.Errorf("logsystem: list topic %s: %w", c.Topic, err)
	}
	if d, ok := details[c.Topic]; ok && d.Err == nil {
		if n := int32(len(d.Partitions)); n < c.Partitions {
			return fmt.Errorf("logsystem: topic %s has %d partitions but the table needs %d (one per bucket)", c.Topic, n, c.Partitions)
		}
		return nil
	}
	configs := map[string]*string{"cleanup.policy": ptr("delete")}
	if c.RetentionMs > 0 {
		configs["retention.ms"] = ptr(strconv.FormatInt(c.RetentionMs, 10))
	}
	resp, err := adm.CreateTopic(ctx, c.Partitions, c.Replication, configs, c.Topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logsystem: create topic %s (%d partitions, replication %d): %w", c.Topic, c.Partitions, c.Replication, err)
	}
	slog.Info("log topic created", "topic", c.Topic, "partitions", c.Partitions, "replication", c.Replication)
	// Metadata reaches every broker a moment later; wait until the partitions answer.
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		ends, err := adm.ListEndOffsets(ctx, c.Topic)
		if err == nil && ends.Error() == nil {
			n := 0
			ends.Each(func(kadm.ListedOffset) { n++ })
			if int32(n) >= c.Partitions {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("logsystem: topic %s created but not ready: %w", c.Topic, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func ptr[T any](v T) *T { return &v }

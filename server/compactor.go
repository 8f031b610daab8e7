package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/tarnlake/tarn/api/rest"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/compaction"
	"github.com/tarnlake/tarn/table"
)

// WithCompactionOptions adjusts the options of the built-in compaction scheduler before
// it starts (for example to observe it).
func WithCompactionOptions(f func(*compaction.SchedulerOptions)) Option {
	return func(s *Server) { s.compactionOpts = append(s.compactionOpts, f) }
}

// Scheduler is the built-in compaction scheduler (nil when compaction is off or a
// compactor of WithCompactor replaces it, and before Start).
func (s *Server) Scheduler() *compaction.Scheduler { return s.scheduler }

// compactorAPI serves the API's compaction routes from the scheduler, adding the table's
// maintenance state to its status.
type compactorAPI struct {
	sched *compaction.Scheduler
	maint *maintainer
}

var (
	_ rest.Compactor       = compactorAPI{}
	_ rest.CommitThrottler = compactorAPI{}
)

// compactionStatus is the answer of GET .../compaction.
type compactionStatus struct {
	*compaction.TableStatus
	Maintenance *MaintenanceStatus `json:"maintenance,omitempty"`
}

func (c compactorAPI) Status(ctx context.Context, id catalog.Identifier) (any, error) {
	st, err := c.sched.TableStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	out := compactionStatus{TableStatus: st}
	if c.maint != nil {
		out.Maintenance = c.maint.status(id)
	}
	return out, nil
}

func (c compactorAPI) Trigger(ctx context.Context, id catalog.Identifier, full bool) (any, error) {
	res, err := c.sched.TriggerTable(ctx, id, full)
	if errors.Is(err, compaction.ErrClosed) {
		return nil, fmt.Errorf("compaction: %w", rest.ErrShuttingDown)
	}
	return res, err
}

func (c compactorAPI) BeforeCommit(ctx context.Context, t *table.Table, id catalog.Identifier, msgs []table.CommitMessage) (func(int64), error) {
	return c.sched.BeforeCommit(ctx, t, id, msgs)
}

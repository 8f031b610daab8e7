package server

import (
	"context"
	"sync"

	"github.com/tarnlake/tarn/api/rest"
)

// CommitGate tracks commits in progress so that a shutdown can let them finish. Commits
// run under the gate's context, which is cancelled only when a shutdown gives up waiting
// (Abort); after that the gate takes no new commits.
type CommitGate struct {
	mu      sync.Mutex
	n       int
	closed  bool
	waiters []chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

// NewCommitGate returns an open gate.
func NewCommitGate() *CommitGate {
	ctx, cancel := context.WithCancel(context.Background())
	return &CommitGate{ctx: ctx, cancel: cancel}
}

var _ rest.CommitGate = (*CommitGate)(nil)

// Begin registers a commit; end must be called once it is over.
func (g *CommitGate) Begin() (context.Context, func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, rest.ErrShuttingDown
	}
	g.n++
	var once sync.Once
	return g.ctx, func() { once.Do(g.end) }, nil
}

func (g *CommitGate) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		for _, w := range g.waiters {
			close(w)
		}
		g.waiters = nil
	}
}

// Inflight is the number of commits in progress.
func (g *CommitGate) Inflight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Wait waits until no commit is in progress, or ctx ends.
func (g *CommitGate) Wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Abort refuses new commits and cancels the context of those in progress.
func (g *CommitGate) Abort() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
}

package table

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// ChangeFeed is a never-ending read of a table's changes: a Follower reading the table's
// files, or a log system's tail (package logsystem) reading its log. Batches and
// positions are the same for both, so a feed resumes from the other's position.
type ChangeFeed interface {
	// Schema is the schema of the feed's batches: the columns, _ROW_KIND, _SNAPSHOT_ID.
	Schema() *arrow.Schema
	// Position is where the feed stands: resuming there continues after the last batch.
	Position() Position
	// Next returns the next batch, waiting as long as it takes (until ctx ends).
	Next(ctx context.Context) (FollowBatch, error)
	Close() error
}

var _ ChangeFeed = (*Follower)(nil)

// WriteLog is a log written beside a table's files for one write session: it sees the
// session's rows as the table writer buffers them (through the WriterOptions it returns)
// and makes the session's commits, recording in each snapshot what the log holds.
// Without one, a session commits with Table.Commit.
type WriteLog interface {
	// WriterOptions adds the log's hooks to a table writer's options.
	WriterOptions(WriterOptions) WriterOptions
	// Commit commits the snapshot and then the log.
	Commit(ctx context.Context, c Commit) (CommitResult, error)
	// Release ends the session; records of an uncommitted commit are dropped.
	Release()
}

// WriteLogOpener opens the log of a table for one write session; it returns nil and no
// error when the table has no log.
type WriteLogOpener func(ctx context.Context, t *Table) (WriteLog, error)

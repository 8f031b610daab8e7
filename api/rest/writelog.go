package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tarnlake/tarn/table"
)

// SetWriteLog registers, before the API serves, the log that row uploads also write
// (the log system's Service.WriteLog); tables it returns no log for commit with
// Table.Commit.
func (a *API) SetWriteLog(open table.WriteLogOpener) { a.writeLog = open }

type commitFunc func(context.Context, table.Commit) (table.CommitResult, error)

// openWriteLog returns the writer options and the commit of an upload into t: through
// the table's log when it has one (release ends the log session), else Table.Commit.
func (a *API) openWriteLog(ctx context.Context, t *table.Table) (table.WriterOptions, commitFunc, func(), error) {
	if a.writeLog == nil {
		return table.WriterOptions{}, t.Commit, func() {}, nil
	}
	wl, err := a.writeLog(ctx, t)
	if err != nil {
		return table.WriterOptions{}, nil, nil, &apiError{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("the table's Kafka log is unavailable, so nothing was written (retry when Kafka is reachable): %v", err), Err: err}
	}
	if wl == nil {
		return table.WriterOptions{}, t.Commit, func() {}, nil
	}
	return wl.WriterOptions(table.WriterOptions{}), wl.Commit, wl.Release, nil
}

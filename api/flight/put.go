package flight

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// PutResult is the app_metadata of each PutResult a DoPut sends: one per commit.
// Snapshot is absent when the stream held no rows (nothing was committed).
type PutResult struct {
	Snapshot int64 `json:"snapshot,omitempty"`
	Rows     int64 `json:"rows"`
	// Skipped is set when an earlier commit with the same commit user and identifier was
	// found (a retried stream).
	Skipped bool `json:"skipped,omitempty"`
}

// doPut writes a DoPut stream into a table, committing at its end (or every
// CommitEvery rows) and acknowledging each commit.
func (s *Service) doPut(stream flight.FlightService_DoPutServer, desc *flight.FlightDescriptor) error {
	ctx := stream.Context()
	var cmd *PutCommand
	switch {
	case desc == nil:
		return invalidf("DoPut: the first message must carry a FlightDescriptor naming the table")
	case desc.Type == flight.DescriptorPATH:
		name, err := tableFromPath(desc.Path)
		if err != nil {
			return err
		}
		cmd = &PutCommand{Table: name}
	default:
		var err error
		if cmd, err = parsePutCommand(desc.Cmd); err != nil {
			return err
		}
	}
	tbl, _, err := s.loadTable(ctx, cmd.Table)
	if err != nil {
		return err
	}
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(s.o.Mem))
	if err != nil {
		return invalidf("DoPut: cannot read the Arrow stream: %v", err)
	}
	defer rdr.Release()
	wo := table.WriterOptions{Mem: s.o.Mem}
	commitFn := tbl.Commit
	if s.o.WriteLog != nil {
		wl, err := s.o.WriteLog(ctx, tbl)
		if err != nil {
			return status.Error(codes.Unavailable, fmt.Sprintf("DoPut into %s: the table's Kafka log: %v (retry when Kafka is reachable)", cmd.Table, err))
		}
		if wl != nil {
			defer wl.Release()
			wo, commitFn = wl.WriterOptions(wo), wl.Commit
		}
	}
	w, err := tbl.NewWriter(ctx, wo)
	if err != nil {
		return status.Error(codes.FailedPrecondition, fmt.Sprintf("DoPut into %s: %v", cmd.Table, err))
	}
	defer w.Close()
	user, ident := s.o.CommitUser, format.BatchCommitIdentifier
	if cmd.CommitUser != "" {
		user, ident = cmd.CommitUser, max(cmd.CommitIdentifier, 1)
	}
	var pending, total int64
	commits := 0
	commit := func() error {
		cctx := ctx
		if s.o.CommitGate != nil {
			gctx, end, err := s.o.CommitGate.Begin()
			if err != nil {
				return status.Errorf(codes.Unavailable, "DoPut into %s: not committing %d rows: %v", cmd.Table, pending, err)
			}
			defer end()
			cctx = gctx
		}
		msgs, err := w.PrepareCommit(cctx)
		if err != nil {
			return err
		}
		res, err := commitFn(cctx, table.Commit{User: user, Identifier: ident, Messages: msgs, SchemaID: w.Schema().ID, CheckSchema: true})
		if err != nil {
			result := "error"
			if errors.Is(err, table.ErrConflict) {
				result = "conflict"
			}
			metrics.CommitDone(cmd.Table, "flight", result, 0, 0)
			return fmt.Errorf("DoPut into %s: commit of %d rows: %w", cmd.Table, pending, err)
		}
		if res.Skipped {
			metrics.CommitDone(cmd.Table, "flight", "skipped", 0, 0)
		} else {
			var size int64
			for _, m := range msgs {
				for _, f := range m.NewFiles {
					size += f.FileSize
				}
			}
			metrics.CommitDone(cmd.Table, "flight", "ok", pending, size)
		}
		if ident != format.BatchCommitIdentifier {
			ident++
		}
		commits++
		meta, _ := json.Marshal(PutResult{Snapshot: res.SnapshotID, Rows: pending, Skipped: res.Skipped})
		s.log.Debug("DoPut committed", "table", cmd.Table, "snapshot", res.SnapshotID, "rows", pending, "skipped", res.Skipped)
		pending = 0
		return stream.Send(&flight.PutResult{AppMetadata: meta})
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := w.Write(ctx, rec); err != nil {
			return invalidf("DoPut into %s, batch after %d rows: %v", cmd.Table, total, err)
		}
		pending += rec.NumRows()
		total += rec.NumRows()
		if cmd.CommitEvery > 0 && pending >= cmd.CommitEvery {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return ctx.Err() // the client went away: nothing more is committed
		}
		return invalidf("DoPut into %s: reading the stream after %d rows: %v", cmd.Table, total, err)
	}
	if pending > 0 {
		return commit()
	}
	if commits == 0 {
		meta, _ := json.Marshal(PutResult{})
		return stream.Send(&flight.PutResult{AppMetadata: meta})
	}
	return nil
}

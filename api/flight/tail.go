package flight

import (
	"context"
	"encoding/json"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/tarnlake/tarn/table"
)

// TailMetadata is the app_metadata of every message of a tail: Resume continues exactly
// after this message. Heartbeat marks an empty batch sent while the table is idle (and
// the first message, sent at once so that clients get the schema).
type TailMetadata struct {
	Resume    string `json:"resume"`
	Snapshot  int64  `json:"snapshot"`
	Offset    int64  `json:"offset"`
	Full      bool   `json:"full,omitempty"`
	Heartbeat bool   `json:"heartbeat,omitempty"`
}

func tailMetadata(p table.Position, heartbeat bool) []byte {
	b, _ := json.Marshal(TailMetadata{Resume: p.Token(), Snapshot: p.Snapshot, Offset: p.Offset, Full: p.Full, Heartbeat: heartbeat})
	return b
}

// tailOptions checks a tail command against the table and builds its FollowOptions.
func (s *Service) tailOptions(ctx context.Context, tc *TailCommand) (*table.Table, table.FollowOptions, error) {
	tbl, _, err := s.loadTable(ctx, tc.Table)
	if err != nil {
		return nil, table.FollowOptions{}, err
	}
	fo, err := tailStart(tc)
	if err != nil {
		return nil, fo, err
	}
	if fo.Resume == nil && noStart(tc.Start) {
		// Where the table's scan options start Paimon's streaming reads, else the latest.
		if fo, err = tbl.WithTailDefaults(ctx, fo); err != nil {
			return nil, fo, invalidf("%v", err)
		}
	}
	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		return nil, fo, err
	}
	pred, _, err := bindRead(schema, tc.Columns, tc.Filter)
	if err != nil {
		return nil, fo, err
	}
	if _, err := table.ChangeSchema(schema, tc.Columns); err != nil {
		return nil, fo, invalidf("%v", err)
	}
	if pred != nil {
		fo.Filter = pred
	}
	fo.Columns = tc.Columns
	fo.ConsumerID = tc.Consumer
	fo.Heartbeat = s.o.Heartbeat
	fo.PollInterval = s.o.PollInterval
	fo.BatchSize = s.o.BatchSize
	fo.Mem = s.o.Mem
	return tbl, fo, nil
}

func (s *Service) tailSchema(ctx context.Context, tc *TailCommand) (*arrow.Schema, error) {
	tbl, fo, err := s.tailOptions(ctx, tc)
	if err != nil {
		return nil, err
	}
	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	return table.ChangeSchema(schema, fo.Columns)
}

// doGetTail streams a table's changes until the client cancels or the service stops.
func (s *Service) doGetTail(tc *TailCommand, stream flight.FlightService_DoGetServer) error {
	ctx := stream.Context()
	tbl, fo, err := s.tailOptions(ctx, tc)
	if err != nil {
		return err
	}
	var f table.ChangeFeed
	if s.o.Follow != nil {
		f, err = s.o.Follow(ctx, tbl, fo)
	} else {
		f, err = tbl.Follow(ctx, fo)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	tailsActive.Inc()
	defer tailsActive.Dec()
	s.log.Debug("tail started", "table", tc.Table, "position", f.Position(), "consumer", tc.Consumer)
	w := flight.NewRecordWriter(stream, ipc.WithSchema(f.Schema()), ipc.WithAllocator(s.o.Mem))
	defer w.Close()
	rb := array.NewRecordBuilder(s.o.Mem, f.Schema())
	empty := rb.NewRecordBatch()
	rb.Release()
	defer empty.Release()
	if err := w.WriteWithAppMetadata(empty, tailMetadata(f.Position(), true)); err != nil {
		return err
	}
	lat := latencyProbe{start: time.Now()}
	for {
		b, err := f.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				s.log.Debug("tail ended", "table", tc.Table, "position", f.Position())
				return ctx.Err()
			}
			return err
		}
		if b.Record == nil {
			if err := w.WriteWithAppMetadata(empty, tailMetadata(b.Position, true)); err != nil {
				return err
			}
			continue
		}
		lat.observe(ctx, tbl, b.Record)
		err = w.WriteWithAppMetadata(b.Record, tailMetadata(b.Position, false))
		rowsSent.WithLabelValues("tail").Add(float64(b.Record.NumRows()))
		b.Record.Release()
		if err != nil {
			return err
		}
	}
}

// latencyProbe measures, for each snapshot a tail sends, the time from its commit to its
// first rows leaving, once per snapshot. Snapshots committed before the tail started
// (catching up) are not measured.
type latencyProbe struct {
	start time.Time
	last  int64
}

func (p *latencyProbe) observe(ctx context.Context, tbl *table.Table, b arrow.RecordBatch) {
	if b.NumRows() == 0 || b.NumCols() == 0 {
		return
	}
	ids, ok := b.Column(int(b.NumCols()) - 1).(*array.Int64)
	if !ok || ids.IsNull(0) || ids.Value(0) == p.last {
		return
	}
	p.last = ids.Value(0)
	snap, err := tbl.Snapshot(ctx, p.last)
	if err != nil {
		return
	}
	committed := time.UnixMilli(snap.TimeMillis)
	if committed.Before(p.start) {
		return
	}
	tailLatency.Observe(time.Since(committed).Seconds())
}

package flight

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tarnlake/tarn/table"
)

// server routes Flight RPCs: JSON commands and tickets are Tarn's own, anything else
// (protobuf commands, Flight SQL tickets and actions) goes to the Flight SQL server.
type server struct {
	flight.BaseFlightServer
	s *Service
}

// Handshake answers with the client's payload; the bearer token was checked by the
// interceptor, so a handshake succeeds exactly when the token is right.
func (f *server) Handshake(stream flight.FlightService_HandshakeServer) error {
	req, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return stream.Send(&flight.HandshakeResponse{ProtocolVersion: req.GetProtocolVersion(), Payload: req.GetPayload()})
}

func (f *server) ListFlights(c *flight.Criteria, stream flight.FlightService_ListFlightsServer) error {
	return toStatus(f.s.listFlights(stream.Context(), c, stream.Send))
}

func (f *server) GetFlightInfo(ctx context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if desc == nil {
		return nil, status.Error(codes.InvalidArgument, "no flight descriptor")
	}
	if desc.Type == flight.DescriptorCMD && !isJSON(desc.Cmd) {
		return f.s.sql.GetFlightInfo(ctx, desc)
	}
	info, err := f.s.flightInfo(ctx, desc)
	return info, toStatus(err)
}

func (f *server) PollFlightInfo(ctx context.Context, desc *flight.FlightDescriptor) (*flight.PollInfo, error) {
	if desc == nil {
		return nil, status.Error(codes.InvalidArgument, "no flight descriptor")
	}
	if desc.Type == flight.DescriptorCMD && !isJSON(desc.Cmd) {
		return f.s.sql.PollFlightInfo(ctx, desc)
	}
	info, err := f.s.flightInfo(ctx, desc)
	if err != nil {
		return nil, toStatus(err)
	}
	return &flight.PollInfo{Info: info}, nil // planning is synchronous: always complete
}

func (f *server) GetSchema(ctx context.Context, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	if desc == nil {
		return nil, status.Error(codes.InvalidArgument, "no flight descriptor")
	}
	if desc.Type == flight.DescriptorCMD && !isJSON(desc.Cmd) {
		return f.s.sql.GetSchema(ctx, desc)
	}
	sc, err := f.s.schemaOf(ctx, desc)
	if err != nil {
		return nil, toStatus(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sc, f.s.o.Mem)}, nil
}

func (f *server) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	if t == nil || len(t.Ticket) == 0 {
		return status.Error(codes.InvalidArgument, "empty ticket")
	}
	if !isJSON(t.Ticket) {
		return f.s.sql.DoGet(t, stream)
	}
	tk, err := parseTicket(t.Ticket)
	if err != nil {
		return toStatus(err)
	}
	if tk.Tail != nil {
		return toStatus(f.s.doGetTail(tk.Tail, stream))
	}
	return toStatus(f.s.doGetScan(&tk.ScanTicket, stream))
}

func (f *server) DoPut(stream flight.FlightService_DoPutServer) error {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "empty DoPut stream: send a descriptor and the schema first")
	}
	if err != nil {
		return err
	}
	rs := &replayPut{FlightService_DoPutServer: stream, first: first}
	desc := first.FlightDescriptor
	if desc != nil && desc.Type == flight.DescriptorCMD && !isJSON(desc.Cmd) {
		return f.s.sql.DoPut(rs)
	}
	return toStatus(f.s.doPut(rs, desc))
}

func (f *server) DoAction(a *flight.Action, stream flight.FlightService_DoActionServer) error {
	return f.s.sql.DoAction(a, stream)
}

func (f *server) ListActions(e *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	return f.s.sql.ListActions(e, stream)
}

// replayPut hands the first message of a DoPut stream, already read to route the call,
// to the reader again.
type replayPut struct {
	flight.FlightService_DoPutServer
	first *flight.FlightData
}

func (r *replayPut) Recv() (*flight.FlightData, error) {
	if r.first != nil {
		m := r.first
		r.first = nil
		return m, nil
	}
	return r.FlightService_DoPutServer.Recv()
}

// planCache shares a snapshot's plan among the DoGets of its endpoints, which arrive
// together, for a short while.
type planCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*planEntry
}

type planEntry struct {
	done chan struct{}
	plan *table.Plan
	err  error
	at   time.Time
}

const planCacheMax = 32

func newPlanCache(ttl time.Duration) *planCache {
	return &planCache{ttl: ttl, m: map[string]*planEntry{}}
}

func (c *planCache) get(ctx context.Context, key string, fn func(context.Context) (*table.Plan, error)) (*table.Plan, error) {
	if c.ttl < 0 {
		return fn(ctx)
	}
	now := time.Now()
	c.mu.Lock()
	e := c.m[key]
	if e != nil && now.Sub(e.at) > c.ttl {
		delete(c.m, key)
		e = nil
	}
	if e == nil {
		if len(c.m) >= planCacheMax {
			for k, old := range c.m {
				if now.Sub(old.at) > c.ttl || len(c.m) >= planCacheMax {
					delete(c.m, k)
				}
			}
		}
		e = &planEntry{done: make(chan struct{}), at: now}
		c.m[key] = e
		c.mu.Unlock()
		e.plan, e.err = fn(ctx)
		if e.err != nil {
			c.mu.Lock()
			if c.m[key] == e {
				delete(c.m, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
		return e.plan, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return fn(ctx) // the planner's own call failed (perhaps cancelled): plan here
	}
	return e.plan, nil
}

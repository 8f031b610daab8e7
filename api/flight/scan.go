package flight

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/table"
)

func (s *Service) loadTable(ctx context.Context, name string) (*table.Table, catalog.Identifier, error) {
	id, err := parseIdentifier(name)
	if err != nil {
		return nil, id, err
	}
	t, err := s.cat.LoadTable(ctx, id)
	if err != nil {
		return nil, id, err
	}
	return t, id, nil
}

// scanSpec is a resolved batch scan or incremental read.
type scanSpec struct {
	tbl      *table.Table
	name     string
	snap     *format.Snapshot // nil: the table has no snapshot
	tag      string
	schema   *format.TableSchema
	columns  []string
	filter   string
	pred     *predicate.Predicate
	out      *arrow.Schema
	limit    int64
	incr     *Incremental
	incrPlan *table.IncrementalPlan
}

// bindRead checks columns and filter against a schema.
func bindRead(schema *format.TableSchema, columns []string, filter string) (*predicate.Predicate, []types.DataField, error) {
	fields, err := table.OutputFields(schema, columns)
	if err != nil {
		return nil, nil, invalidf("%v", err)
	}
	if len(columns) > 0 {
		seen := map[string]bool{}
		for _, c := range columns {
			if seen[c] {
				return nil, nil, invalidf("column %q is listed twice", c)
			}
			seen[c] = true
		}
	}
	var pred *predicate.Predicate
	if filter != "" {
		if pred, err = predicate.Bind(filter, schema.Fields, schema.PartitionKeys); err != nil {
			return nil, nil, invalidf("%v", err)
		}
	}
	return pred, fields, nil
}

// resolveScan resolves what a scan reads: the snapshot (by id, tag or time; latest
// otherwise), its schema, the projection and the filter.
func (s *Service) resolveScan(ctx context.Context, name string, snapshot int64, tag string, timestamp int64, incr *Incremental, columns []string, filter string, limit int64) (*scanSpec, error) {
	tbl, _, err := s.loadTable(ctx, name)
	if err != nil {
		return nil, err
	}
	sp := &scanSpec{tbl: tbl, name: name, tag: tag, columns: columns, filter: filter, limit: limit, incr: incr}
	if incr != nil {
		var schema *format.TableSchema
		if incr.To > 0 {
			snap, err := tbl.Snapshot(ctx, incr.To)
			if err != nil {
				return nil, err
			}
			schema, err = tbl.Schema(ctx, snap.SchemaID)
			if err != nil {
				return nil, err
			}
		} else if schema, err = tbl.LatestSchema(ctx); err != nil {
			return nil, err
		}
		sp.schema = schema
		if sp.pred, _, err = bindRead(schema, columns, filter); err != nil {
			return nil, err
		}
		if sp.out, err = table.ChangeSchema(schema, columns); err != nil {
			return nil, invalidf("%v", err)
		}
		o := table.IncrementalOptions{From: incr.From, To: incr.To}
		if sp.pred != nil {
			o.Filter = sp.pred
		}
		if sp.incrPlan, err = tbl.PlanIncremental(ctx, o); err != nil {
			return nil, err
		}
		return sp, nil
	}
	so, err := tbl.WithScanDefaults(ctx, table.ScanOptions{SnapshotID: snapshot, Tag: tag, TimestampMillis: timestamp})
	if err != nil {
		return nil, invalidf("%v", err)
	}
	sp.tag = so.Tag
	sp.snap, err = tbl.ResolveSnapshot(ctx, so)
	if err != nil {
		return nil, err
	}
	if sp.snap != nil {
		sp.schema, err = tbl.Schema(ctx, sp.snap.SchemaID)
	} else {
		sp.schema, err = tbl.LatestSchema(ctx)
	}
	if err != nil {
		return nil, err
	}
	pred, fields, err := bindRead(sp.schema, columns, filter)
	if err != nil {
		return nil, err
	}
	sp.pred = pred
	if sp.out, err = types.ArrowSchema(fields); err != nil {
		return nil, err
	}
	return sp, nil
}

// plan plans the scan's snapshot, shared with other DoGets of the same scan.
func (s *Service) plan(ctx context.Context, sp *scanSpec) (*table.Plan, error) {
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", sp.tbl.Path(), sp.snap.ID, sp.tag, sp.filter)
	return s.plans.get(ctx, key, func(ctx context.Context) (*table.Plan, error) {
		o := table.ScanOptions{SnapshotID: sp.snap.ID}
		if sp.tag != "" {
			o = table.ScanOptions{Tag: sp.tag}
		}
		if sp.pred != nil {
			o.Filter = sp.pred
		}
		return sp.tbl.Plan(ctx, o)
	})
}

func (s *Service) flightInfo(ctx context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	var c *ScanCommand
	switch desc.Type {
	case flight.DescriptorPATH:
		name, err := tableFromPath(desc.Path)
		if err != nil {
			return nil, err
		}
		c = &ScanCommand{Table: name}
	case flight.DescriptorCMD:
		var err error
		if c, err = parseScanCommand(desc.Cmd); err != nil {
			return nil, err
		}
	default:
		return nil, invalidf("descriptor type %v: use a JSON command or a table path", desc.Type)
	}
	if c.Tail != nil {
		sc, err := s.tailSchema(ctx, c.Tail)
		if err != nil {
			return nil, err
		}
		tk := marshalTicket(ticketEnvelope{Tail: c.Tail})
		return &flight.FlightInfo{
			Schema: flight.SerializeSchema(sc, s.o.Mem), FlightDescriptor: desc,
			Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tk}}}, TotalRecords: -1, TotalBytes: -1, Ordered: true,
		}, nil
	}
	sp, err := s.resolveScan(ctx, c.Table, c.Snapshot, c.Tag, c.Timestamp, c.Incremental, c.Columns, c.Filter, c.Limit)
	if err != nil {
		return nil, err
	}
	metrics.ScanPlanned(sp.name, "flight")
	return s.scanInfo(ctx, sp, desc)
}

// scanInfo plans a resolved scan into a FlightInfo: one endpoint per split (one in all
// with a limit), each with a self-contained ticket.
func (s *Service) scanInfo(ctx context.Context, sp *scanSpec, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	info := &flight.FlightInfo{Schema: flight.SerializeSchema(sp.out, s.o.Mem), FlightDescriptor: desc, TotalRecords: -1, TotalBytes: -1}
	base := ScanTicket{Table: sp.name, Tag: sp.tag, Columns: sp.columns, Filter: sp.filter, Limit: sp.limit, Incremental: sp.incr}
	type split struct {
		partition []byte
		bucket    int
		rows      int64
		bytes     int64
	}
	var splits []split
	var rows, size int64
	switch {
	case sp.incr != nil:
		index := map[string]int{}
		for _, cs := range sp.incrPlan.Splits {
			k := string(cs.Partition) + "\x00" + fmt.Sprint(cs.Bucket)
			i, ok := index[k]
			if !ok {
				i = len(splits)
				index[k] = i
				splits = append(splits, split{partition: cs.Partition, bucket: cs.Bucket})
			}
			for _, f := range cs.Files {
				splits[i].rows += f.RowCount
				splits[i].bytes += f.FileSize
			}
		}
	case sp.snap == nil:
		return info, nil // an empty table
	default:
		if sp.tag == "" {
			base.Snapshot = sp.snap.ID
		}
		plan, err := s.plan(ctx, sp)
		if err != nil {
			return nil, err
		}
		for i := range plan.Splits {
			ps := &plan.Splits[i]
			sz := int64(0)
			for _, f := range ps.Files {
				sz += f.FileSize
			}
			splits = append(splits, split{partition: ps.Partition, bucket: ps.Bucket, rows: ps.RowCount(), bytes: sz})
		}
	}
	for _, sl := range splits {
		rows += sl.rows
		size += sl.bytes
	}
	if len(splits) == 0 {
		return info, nil
	}
	if sp.limit > 0 {
		info.Endpoint = []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: marshalTicket(base)}}}
	} else {
		for _, sl := range splits {
			tk := base
			p := base64.StdEncoding.EncodeToString(sl.partition)
			b := sl.bucket
			tk.Partition, tk.Bucket = &p, &b
			info.Endpoint = append(info.Endpoint, &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: marshalTicket(tk)}})
		}
	}
	// Exact counts only where no merge or filter can change them.
	if sp.pred == nil && sp.limit == 0 && (len(sp.schema.PrimaryKeys) == 0 || sp.incr != nil) {
		info.TotalRecords = rows
	}
	info.TotalBytes = size
	return info, nil
}

func (s *Service) schemaOf(ctx context.Context, desc *flight.FlightDescriptor) (*arrow.Schema, error) {
	var c *ScanCommand
	switch desc.Type {
	case flight.DescriptorPATH:
		name, err := tableFromPath(desc.Path)
		if err != nil {
			return nil, err
		}
		c = &ScanCommand{Table: name}
	case flight.DescriptorCMD:
		var err error
		if c, err = parseScanCommand(desc.Cmd); err != nil {
			return nil, err
		}
	default:
		return nil, invalidf("descriptor type %v: use a JSON command or a table path", desc.Type)
	}
	if c.Tail != nil {
		return s.tailSchema(ctx, c.Tail)
	}
	if c.Incremental != nil {
		tbl, _, err := s.loadTable(ctx, c.Table)
		if err != nil {
			return nil, err
		}
		schema, err := tbl.LatestSchema(ctx)
		if c.Incremental.To > 0 {
			snap, err := tbl.Snapshot(ctx, c.Incremental.To)
			if err != nil {
				return nil, err
			}
			schema, err = tbl.Schema(ctx, snap.SchemaID)
		}
		if err != nil {
			return nil, err
		}
		if _, _, err := bindRead(schema, c.Columns, c.Filter); err != nil {
			return nil, err
		}
		sc, err := table.ChangeSchema(schema, c.Columns)
		if err != nil {
			return nil, invalidf("%v", err)
		}
		return sc, nil
	}
	sp, err := s.resolveScan(ctx, c.Table, c.Snapshot, c.Tag, c.Timestamp, nil, c.Columns, c.Filter, c.Limit)
	if err != nil {
		return nil, err
	}
	return sp.out, nil
}

func (s *Service) listFlights(ctx context.Context, c *flight.Criteria, send func(*flight.FlightInfo) error) error {
	dbs, err := s.cat.ListDatabases(ctx)
	if err != nil {
		return err
	}
	only := ""
	if c != nil && len(c.Expression) > 0 {
		only = string(c.Expression) // a database name
	}
	for _, db := range dbs {
		if only != "" && db != only {
			continue
		}
		tables, err := s.cat.ListTables(ctx, db)
		if err != nil {
			return err
		}
		for _, name := range tables {
			tbl, err := s.cat.LoadTable(ctx, catalog.Identifier{Database: db, Table: name})
			if errors.Is(err, table.ErrNotFound) {
				continue // dropped meanwhile
			}
			if err != nil {
				return err
			}
			schema, err := tbl.LatestSchema(ctx)
			if err != nil {
				return err
			}
			sc, err := types.ArrowSchema(schema.Fields)
			if err != nil {
				return err
			}
			info := &flight.FlightInfo{
				Schema:           flight.SerializeSchema(sc, s.o.Mem),
				FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{db, name}},
				TotalRecords:     -1, TotalBytes: -1,
			}
			if snap, err := tbl.LatestSnapshot(ctx); err == nil && snap != nil && snap.TotalRecordCount != nil && len(schema.PrimaryKeys) == 0 {
				info.TotalRecords = *snap.TotalRecordCount
			}
			if err := send(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// doGetScan streams one ticket's split (or all splits, with a limit).
func (s *Service) doGetScan(tk *ScanTicket, stream flight.FlightService_DoGetServer) error {
	ctx := stream.Context()
	sp, err := s.resolveScan(ctx, tk.Table, tk.Snapshot, tk.Tag, 0, tk.Incremental, tk.Columns, tk.Filter, tk.Limit)
	if err != nil {
		return err
	}
	var part []byte
	if tk.Partition != nil {
		part, _ = base64.StdEncoding.DecodeString(*tk.Partition)
	}
	keep := func(p []byte, bucket int) bool {
		return tk.Partition == nil || bucket == *tk.Bucket && bytes.Equal(p, part)
	}
	ro := table.ReadOptions{Columns: sp.columns, BatchSize: s.o.BatchSize, Mem: s.o.Mem}
	if sp.pred != nil {
		ro.Filter = sp.pred
	}
	var readers []func() (datafile.BatchReader, error)
	switch {
	case sp.incr != nil:
		var splits []table.ChangeSplit
		for _, cs := range sp.incrPlan.Splits {
			if keep(cs.Partition, cs.Bucket) {
				splits = append(splits, cs)
			}
		}
		readers = append(readers, func() (datafile.BatchReader, error) {
			return sp.tbl.ReadChanges(ctx, sp.incrPlan.Schema, splits, ro)
		})
	case sp.snap != nil:
		plan, err := s.plan(ctx, sp)
		if err != nil {
			return err
		}
		for i := range plan.Splits {
			split := &plan.Splits[i]
			if keep(split.Partition, split.Bucket) {
				readers = append(readers, func() (datafile.BatchReader, error) {
					return sp.tbl.ReadSplit(ctx, plan, split, ro)
				})
			}
		}
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sp.out), ipc.WithAllocator(s.o.Mem))
	defer w.Close()
	sent := int64(0)
	kind := "scan"
	if sp.incr != nil {
		kind = "incremental"
	}
	defer func() { rowsSent.WithLabelValues(kind).Add(float64(sent)) }()
	for _, open := range readers {
		if sp.limit > 0 && sent >= sp.limit {
			break
		}
		r, err := open()
		if err != nil {
			return err
		}
		err = s.stream(ctx, r, sp.out, w, sp.limit, &sent)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stream writes a reader's batches (as schema out), stopping at limit rows when limit > 0.
func (s *Service) stream(ctx context.Context, r datafile.BatchReader, out *arrow.Schema, w *flight.Writer, limit int64, sent *int64) error {
	for limit == 0 || *sent < limit {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		n := b.NumRows()
		if limit > 0 && *sent+n > limit {
			n = limit - *sent
		}
		rb := array.NewRecordBatch(out, b.Columns(), b.NumRows())
		b.Release()
		if n < rb.NumRows() {
			cut := rb.NewSlice(0, n)
			rb.Release()
			rb = cut
		}
		err = w.Write(rb)
		rb.Release()
		if err != nil {
			return err
		}
		*sent += n
	}
	return nil
}

package flight_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/predicate"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

const testToken = "s3cret-token"

type env struct {
	t      testing.TB
	cat    *catalog.Catalog
	svc    *tarnflight.Service
	addr   string
	client flight.Client
	ctx    context.Context // carries the bearer token
}

// newEnv starts a service on 127.0.0.1 over a fresh warehouse, and a client.
func newEnv(t testing.TB, opts tarnflight.Options) *env {
	t.Helper()
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	svc := tarnflight.NewService(cat, opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Serve(l) }()
	t.Cleanup(func() {
		svc.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	cl, err := flight.NewClientWithMiddleware(l.Addr().String(), nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+opts.Token)
	return &env{t: t, cat: cat, svc: svc, addr: l.Addr().String(), client: cl, ctx: ctx}
}

func (e *env) createTable(name, columns string, pk, partition []string, opts map[string]string) (*table.Table, []types.DataField) {
	e.t.Helper()
	fields, err := types.ParseColumns(columns)
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := catalog.ParseIdentifier(name)
	if err != nil {
		e.t.Fatal(err)
	}
	tbl, err := e.cat.CreateTable(context.Background(), id, catalog.TableSpec{Fields: fields, PrimaryKeys: pk, PartitionKeys: partition, Options: opts}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return tbl, fields
}

// write commits batches made by gen (called with a builder for the table's columns plus
// a _ROW_KIND string column) in one commit.
func write(t testing.TB, tbl *table.Table, fields []types.DataField, rows int, gen func(i int, b *array.RecordBuilder)) int64 {
	t.Helper()
	ctx := context.Background()
	af, err := types.ArrowFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	af = append(af, arrow.Field{Name: table.RowKindColumn, Type: arrow.BinaryTypes.String})
	sc := arrow.NewSchema(af, nil)
	w, err := tbl.NewWriter(ctx, table.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const chunk = 64 * 1024
	for start := 0; start < rows; start += chunk {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := start; i < min(start+chunk, rows); i++ {
			gen(i, b)
		}
		rec := b.NewRecordBatch()
		b.Release()
		err := w.Write(ctx, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := w.PrepareCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tbl.Commit(ctx, table.Commit{User: "test", Identifier: format.BatchCommitIdentifier, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

// rowsJSON renders batches as canonical JSON lines (all columns, by Arrow type).
func rowLines(t testing.TB, b arrow.RecordBatch) []string {
	t.Helper()
	out := make([]string, b.NumRows())
	for i := range out {
		line := []byte{'{'}
		for c, f := range b.Schema().Fields() {
			if c > 0 {
				line = append(line, ',')
			}
			name, _ := json.Marshal(f.Name)
			line = append(append(line, name...), ':')
			var err error
			line, err = render.AppendJSON(line, b.Column(c), i, typeOf(f))
			if err != nil {
				t.Fatal(err)
			}
		}
		out[i] = string(append(line, '}'))
	}
	return out
}

// typeOf is enough of a Paimon type for rendering test columns.
func typeOf(f arrow.Field) types.DataType {
	switch f.Type.ID() {
	case arrow.DECIMAL128:
		d := f.Type.(*arrow.Decimal128Type)
		return types.DataType{Root: types.Decimal, Precision: int(d.Precision), Scale: int(d.Scale), Nullable: true}
	case arrow.TIMESTAMP:
		return types.DataType{Root: types.Timestamp, Precision: 6, Nullable: true}
	}
	return types.DataType{Nullable: true}
}

// doGet reads one ticket to the end.
func (e *env) doGet(tk *flight.Ticket) ([]arrow.RecordBatch, error) {
	stream, err := e.client.DoGet(e.ctx, tk)
	if err != nil {
		return nil, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var out []arrow.RecordBatch
	for rdr.Next() {
		b := rdr.RecordBatch()
		b.Retain()
		out = append(out, b)
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return out, err
	}
	return out, nil
}

// scan plans a JSON command and reads every endpoint in parallel; it returns the rows as
// lines, in no particular order across endpoints.
func (e *env) scan(cmd string) ([]string, *flight.FlightInfo, error) {
	info, err := e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(cmd)})
	if err != nil {
		return nil, nil, err
	}
	lines := make([][]string, len(info.Endpoint))
	errs := make([]error, len(info.Endpoint))
	var wg sync.WaitGroup
	for i, ep := range info.Endpoint {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bs, err := e.doGet(ep.Ticket)
			errs[i] = err
			for _, b := range bs {
				lines[i] = append(lines[i], rowLines(e.t, b)...)
				b.Release()
			}
		}()
	}
	wg.Wait()
	var out []string
	for i := range lines {
		if errs[i] != nil {
			return nil, info, errs[i]
		}
		out = append(out, lines[i]...)
	}
	return out, info, nil
}

type scanned struct {
	digest
	endpoints int
}

// scanDigest plans a JSON command and reads every endpoint in parallel into a digest.
func (e *env) scanDigest(cmd string) (scanned, error) {
	info, err := e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(cmd)})
	if err != nil {
		return scanned{}, err
	}
	out := scanned{endpoints: len(info.Endpoint)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(info.Endpoint))
	for i, ep := range info.Endpoint {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := e.client.DoGet(e.ctx, ep.Ticket)
			if err != nil {
				errs[i] = err
				return
			}
			rdr, err := flight.NewRecordReader(stream)
			if err != nil {
				errs[i] = err
				return
			}
			defer rdr.Release()
			var d digest
			for rdr.Next() {
				d.add(e.t, rdr.RecordBatch())
			}
			if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
				errs[i] = err
			}
			mu.Lock()
			out.rows += d.rows
			out.sum += d.sum
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// digest is an order-independent summary of rows: count and a sum of row hashes.
type digest struct {
	rows int64
	sum  uint64
}

func (d *digest) add(t testing.TB, b arrow.RecordBatch) {
	t.Helper()
	n := int(b.NumRows())
	var buf []byte
	for i := 0; i < n; i++ {
		buf = buf[:0]
		for c := 0; c < int(b.NumCols()); c++ {
			col := b.Column(c)
			if col.IsNull(i) {
				buf = append(buf, 0xff, 0xfe)
				continue
			}
			switch a := col.(type) {
			case *array.Int64:
				buf = binary.LittleEndian.AppendUint64(buf, uint64(a.Value(i)))
			case *array.Int32:
				buf = binary.LittleEndian.AppendUint32(buf, uint32(a.Value(i)))
			case *array.Float64:
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(a.Value(i)))
			case *array.String:
				buf = append(append(buf, a.Value(i)...), 0)
			default:
				t.Fatalf("digest: column type %s", col.DataType())
			}
		}
		d.sum += maphash.Bytes(digestSeed, buf)
		d.rows++
	}
}

var digestSeed = maphash.MakeSeed()

func directDigest(t testing.TB, tbl *table.Table, o table.ScanOptions, ro table.ReadOptions) digest {
	t.Helper()
	ctx := context.Background()
	plan, err := tbl.Plan(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var d digest
	for i := range plan.Splits {
		r, err := tbl.ReadSplit(ctx, plan, &plan.Splits[i], ro)
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			d.add(t, b)
			b.Release()
		}
		r.Close()
	}
	return d
}

func cmdJSON(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func eventually(t testing.TB, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hashLine(l string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(l))
	return h.Sum64()
}

func bindFilter(t testing.TB, tbl *table.Table, expr string) *predicate.Predicate {
	t.Helper()
	s, err := tbl.LatestSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := predicate.Bind(expr, s.Fields, s.PartitionKeys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

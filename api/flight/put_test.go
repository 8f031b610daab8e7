package flight_test

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/metrics"
)

// put sends batches (JSON rows of schema sc) with a descriptor and returns the PutResults.
func (e *env) put(desc *flight.FlightDescriptor, sc *arrow.Schema, batches ...string) ([]tarnflight.PutResult, error) {
	stream, err := e.client.DoPut(e.ctx)
	if err != nil {
		return nil, err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sc))
	w.SetFlightDescriptor(desc)
	for _, rows := range batches {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(rows))
		if err != nil {
			e.t.Fatalf("rows %s: %v", rows, err)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			break // the server failed the call; Recv below tells why
		}
	}
	w.Close()
	stream.CloseSend()
	var out []tarnflight.PutResult
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var pr tarnflight.PutResult
		if err := json.Unmarshal(r.AppMetadata, &pr); err != nil {
			e.t.Fatalf("PutResult %q: %v", r.AppMetadata, err)
		}
		out = append(out, pr)
	}
}

func TestDoPutThenScan(t *testing.T) {
	e := newEnv(t, tarnflight.Options{})
	e.createTable("db.p", "id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2)", []string{"id"}, nil, map[string]string{"bucket": "2"})
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	path := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"db", "p"}}
	res, err := e.put(path, sc,
		`[{"id": 1, "name": "a", "amount": "1.50"}, {"id": 2, "name": "b", "amount": null}]`,
		`[{"id": 3, "name": "c", "amount": "3.00"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res, []tarnflight.PutResult{{Snapshot: 1, Rows: 3}}) {
		t.Fatalf("PutResults %+v", res)
	}
	// With row kinds and a commit every 2 rows; the columns come in another order, and
	// amount is left out (it is nullable).
	kinds := arrow.NewSchema([]arrow.Field{
		{Name: "_ROW_KIND", Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	cmd := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db.p","commit_every":2}`)}
	res, err = e.put(cmd, kinds,
		`[{"_ROW_KIND": "-D", "name": null, "id": 2}, {"_ROW_KIND": "+U", "name": "a2", "id": 1}]`,
		`[{"_ROW_KIND": "+I", "name": "d", "id": 4}, {"_ROW_KIND": "+I", "name": "e", "id": 5}]`,
		`[{"_ROW_KIND": "-D", "name": null, "id": 5}]`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res, []tarnflight.PutResult{{Snapshot: 2, Rows: 2}, {Snapshot: 3, Rows: 2}, {Snapshot: 4, Rows: 1}}) {
		t.Fatalf("PutResults %+v", res)
	}
	got, _, err := e.scan(`{"table":"db.p"}`)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{
		`{"id":1,"name":"a2","amount":null}`,
		`{"id":3,"name":"c","amount":"3.00"}`,
		`{"id":4,"name":"d","amount":null}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after DoPut:\n%s", strings.Join(got, "\n"))
	}
	var m dto.Metric
	if err := metrics.Commits.WithLabelValues("db.p", "flight", "ok").Write(&m); err != nil || m.GetCounter().GetValue() < 4 {
		n := m.GetCounter().GetValue()
		t.Errorf("tarn_commits_total{source=flight,result=ok} = %v, want >= 4", n)
	}
	// A retried stream with the same commit user and identifier commits once.
	retry := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db.p","commit_user":"job-7","commit_identifier":40}`)}
	for i, wantSkipped := range []bool{false, true} {
		res, err := e.put(retry, sc, `[{"id": 9, "name": "z", "amount": "9.99"}]`)
		if err != nil || len(res) != 1 || res[0].Skipped != wantSkipped || res[0].Snapshot != 5 {
			t.Fatalf("attempt %d: %+v, %v", i, res, err)
		}
	}
	// An empty stream commits nothing.
	res, err = e.put(path, sc)
	if err != nil || !slices.Equal(res, []tarnflight.PutResult{{}}) {
		t.Fatalf("empty stream: %+v, %v", res, err)
	}
	tests := []struct {
		name string
		desc *flight.FlightDescriptor
		sc   *arrow.Schema
		rows string
		code codes.Code
		msg  string
	}{
		{"no such table", &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"db", "nope"}}, sc, `[{"id": 1}]`, codes.NotFound, "does not exist"},
		{"bad path", &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"a", "b", "c"}}, sc, `[{"id": 1}]`, codes.InvalidArgument, "descriptor path"},
		{"bad command", &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db.p","commit_evry":1}`)}, sc, `[{"id": 1}]`, codes.InvalidArgument, "unknown field"},
		{"missing key column", path, arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}}, nil), `[{"name": "x"}]`, codes.InvalidArgument, `lacks column "id"`},
		{"extra column", path, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "zzz", Type: arrow.BinaryTypes.String}}, nil), `[{"id": 1, "zzz": "x"}]`, codes.InvalidArgument, "zzz"},
		{"bad row kind", path, kinds, `[{"_ROW_KIND": "+X", "name": null, "id": 1}]`, codes.InvalidArgument, "+X"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.put(tc.desc, tc.sc, tc.rows)
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tc.code, tc.msg)
			}
		})
	}
}

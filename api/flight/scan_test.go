package flight_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// writeMergedPK fills a primary-key table with n rows, then updates every 10th, deletes
// every 97th and adds n/20 more in a second commit, so that reads must merge two runs.
func writeMergedPK(t testing.TB, tbl *table.Table, fields []types.DataField, n int) {
	t.Helper()
	write(t, tbl, fields, n, func(i int, b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name-%07d", i))
		b.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		b.Field(3).(*array.Int32Builder).Append(int32(i % 7))
		b.Field(4).(*array.StringBuilder).Append("+I")
	})
	extra := n / 20
	write(t, tbl, fields, n/10+extra, func(i int, b *array.RecordBuilder) {
		id, kind := int64(i*10), "+U"
		if i >= n/10 {
			id, kind = int64(n+i-n/10), "+I"
		} else if id%97 == 0 {
			kind = "-D"
		}
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("upd-%07d", id))
		b.Field(2).(*array.Float64Builder).Append(float64(id) * 2)
		b.Field(3).(*array.Int32Builder).Append(int32(id % 5))
		b.Field(4).(*array.StringBuilder).Append(kind)
	})
}

const pkColumns = "id BIGINT NOT NULL, name STRING, v DOUBLE, c INT"

// TestScanMillionRows reads a merged primary-key table of a million rows over Flight, all
// endpoints in parallel, and compares it with reading the table directly.
func TestScanMillionRows(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	e := newEnv(t, tarnflight.Options{})
	tbl, fields := e.createTable("db.big", pkColumns, []string{"id"}, nil, map[string]string{"bucket": "4"})
	writeMergedPK(t, tbl, fields, n)
	want := directDigest(t, tbl, table.ScanOptions{}, table.ReadOptions{})
	wantRows := int64(n + n/20 - countDeleted(n))
	if want.rows != wantRows {
		t.Fatalf("direct read has %d rows, want %d", want.rows, wantRows)
	}
	got, err := e.scanDigest(`{"table":"db.big"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.endpoints != 4 {
		t.Fatalf("%d endpoints, want one per bucket (4)", got.endpoints)
	}
	if got.digest != want {
		t.Fatalf("Flight read %d rows (digest %x), direct %d rows (digest %x)", got.rows, got.sum, want.rows, want.sum)
	}
	// Projection and filter pushed down give the same as the direct read with them.
	pred := `{"table":"db.big","columns":["v","id"],"filter":"id >= 1000 AND id < 5000 OR c = 3 AND id < 200"}`
	fd, err := e.scanDigest(pred)
	if err != nil {
		t.Fatal(err)
	}
	p := bindFilter(t, tbl, "id >= 1000 AND id < 5000 OR c = 3 AND id < 200")
	want = directDigest(t, tbl, table.ScanOptions{Filter: p}, table.ReadOptions{Columns: []string{"v", "id"}, Filter: p})
	if fd.digest != want || want.rows == 0 {
		t.Fatalf("filtered: Flight %d rows, direct %d rows (digests %x, %x)", fd.rows, want.rows, fd.sum, want.sum)
	}
}

func countDeleted(n int) int {
	d := 0
	for id := 0; id < n; id += 10 {
		if id%97 == 0 {
			d++
		}
	}
	return d
}

func TestTimeTravelAndProjection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tarnflight.Options{})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, name STRING, dt STRING", []string{"id", "dt"}, []string{"dt"}, map[string]string{"bucket": "2"})
	row := func(id int64, name, dt, kind string) func(int, *array.RecordBuilder) {
		return func(_ int, b *array.RecordBuilder) {
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.StringBuilder).Append(name)
			b.Field(2).(*array.StringBuilder).Append(dt)
			b.Field(3).(*array.StringBuilder).Append(kind)
		}
	}
	rows := func(fs ...func(int, *array.RecordBuilder)) func(int, *array.RecordBuilder) {
		return func(i int, b *array.RecordBuilder) { fs[i](i, b) }
	}
	write(t, tbl, fields, 3, rows(row(1, "a", "d1", "+I"), row(2, "b", "d1", "+I"), row(3, "c", "d2", "+I")))
	write(t, tbl, fields, 2, rows(row(1, "a2", "d1", "+U"), row(3, "", "d2", "-D")))
	write(t, tbl, fields, 1, rows(row(4, "d", "d2", "+I")))
	s2, err := tbl.Snapshot(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// A tag on snapshot 1 (the tag file is the snapshot's JSON).
	s1, err := tbl.Snapshot(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.FileIO().WriteFile(ctx, tbl.Join(format.TagPath("first")), s1.Marshal()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cmd  string
		want []string
	}{
		{"latest", `{"table":"db.t"}`, []string{
			`{"id":1,"name":"a2","dt":"d1"}`, `{"id":2,"name":"b","dt":"d1"}`, `{"id":4,"name":"d","dt":"d2"}`}},
		{"latest flag", `{"table":"db.t","latest":true,"columns":["id"]}`, []string{`{"id":1}`, `{"id":2}`, `{"id":4}`}},
		{"snapshot 1", `{"table":"db.t","snapshot":1}`, []string{
			`{"id":1,"name":"a","dt":"d1"}`, `{"id":2,"name":"b","dt":"d1"}`, `{"id":3,"name":"c","dt":"d2"}`}},
		{"tag", `{"table":"db.t","tag":"first","columns":["name"]}`, []string{`{"name":"a"}`, `{"name":"b"}`, `{"name":"c"}`}},
		{"timestamp", fmt.Sprintf(`{"table":"db.t","timestamp":%d}`, s2.TimeMillis), []string{
			`{"id":1,"name":"a2","dt":"d1"}`, `{"id":2,"name":"b","dt":"d1"}`}},
		{"filter on partition", `{"table":"db.t","snapshot":1,"filter":"dt = 'd2'"}`, []string{`{"id":3,"name":"c","dt":"d2"}`}},
		{"filter on value", `{"table":"db.t","filter":"name >= 'b'","columns":["dt","id"]}`, []string{`{"dt":"d1","id":2}`, `{"dt":"d2","id":4}`}},
		{"incremental", `{"table":"db.t","incremental":{"from":1,"to":3}}`, []string{
			`{"id":1,"name":"a2","dt":"d1","_ROW_KIND":"+U","_SNAPSHOT_ID":2}`,
			`{"id":3,"name":"","dt":"d2","_ROW_KIND":"-D","_SNAPSHOT_ID":2}`,
			`{"id":4,"name":"d","dt":"d2","_ROW_KIND":"+I","_SNAPSHOT_ID":3}`}},
		{"incremental filtered", `{"table":"db.t","incremental":{"from":0,"to":2},"filter":"id = 1","columns":["name"]}`, []string{
			`{"name":"a","_ROW_KIND":"+I","_SNAPSHOT_ID":1}`, `{"name":"a2","_ROW_KIND":"+U","_SNAPSHOT_ID":2}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := e.scan(tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	// A limit gives one endpoint and at most that many rows.
	got, info, err := e.scan(`{"table":"db.t","limit":2}`)
	if err != nil || len(info.Endpoint) != 1 || len(got) != 2 {
		t.Fatalf("limit: %d endpoints, %d rows, %v", len(info.Endpoint), len(got), err)
	}
	// A path descriptor scans the latest snapshot; GetSchema gives the projected schema.
	info, err = e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"db", "t"}})
	if err != nil || len(info.Endpoint) != 3 { // (d1, 0), (d2, 0), (d2, 1)
		t.Fatalf("path descriptor: %v, %v", info, err)
	}
	sr, err := e.client.GetSchema(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db.t","columns":["dt","id"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := flight.DeserializeSchema(sr.Schema, nil)
	if err != nil || sc.NumFields() != 2 || sc.Field(0).Name != "dt" || sc.Field(1).Type.ID() != arrow.INT64 {
		t.Fatalf("schema %v, %v", sc, err)
	}
	// ListFlights lists the tables.
	e.createTable("db2.empty", "x INT", nil, nil, nil)
	lf, err := e.client.ListFlights(e.ctx, &flight.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		fi, err := lf.Recv()
		if err != nil {
			break
		}
		names = append(names, strings.Join(fi.FlightDescriptor.Path, "."))
	}
	if !slices.Equal(names, []string{"db.t", "db2.empty"}) {
		t.Fatalf("ListFlights: %v", names)
	}
	// An empty table has a schema and no endpoints.
	info, err = e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db2.empty"}`)})
	if err != nil || len(info.Endpoint) != 0 || len(info.Schema) == 0 {
		t.Fatalf("empty table: %v, %v", info, err)
	}
}

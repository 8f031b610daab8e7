package cdc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// TestIngestAddsColumns: a message carrying a column the table lacks adds it through the
// catalog and is itself ingested, also when it is the topic's last message (the commit
// made before the schema change must not count it as consumed).
func TestIngestAddsColumns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := newTopic(t, 1)
	types := `"mysqlType":{"id":"int(11)","name":"varchar(64)"},"pkNames":["id"],"database":"bank","table":"acct","isDdl":false`
	produce(t, topic, [][2][]byte{
		{nil, []byte(`{"data":[{"id":"1","name":"a"}],` + types + `,"old":null,"type":"INSERT"}`)},
		{nil, []byte(`{"data":[{"id":"2","name":"b","email":"b@x"}],"mysqlType":{"id":"int(11)","name":"varchar(64)","email":"varchar(64)"},` +
			`"pkNames":["id"],"database":"bank","table":"acct","isDdl":false,"old":null,"type":"INSERT"}`)},
	})
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "bank", Table: "acct"}
	st, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: cdc.CanalJSON, Catalog: cat, Table: id,
		Create: true, ExitAtEnd: true, CommitInterval: 100 * time.Millisecond, AddColumns: cdc.CatalogAddColumns(cat, id)})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"name":"a","email":null}` + "\n" + `{"id":2,"name":"b","email":"b@x"}` + "\n"
	if got := scan(t, tbl); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s\nstats %+v", got, want, st)
	}
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != 1 {
		t.Fatalf("schema id %d, want 1 (schema-0 from the first message, schema-1 adds email)", s.ID)
	}
}

// TestIngestWidensColumns: columns whose source type widens (Canal's mysqlType: int to
// bigint, a decimal of more digits, datetime(3) to datetime(6)) are widened through the
// catalog in one schema change, and the message that widened them is ingested; a message
// with the narrower types again changes nothing.
func TestIngestWidensColumns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := newTopic(t, 1)
	msg := func(mysqlTypes, data string) [2][]byte {
		return [2][]byte{nil, []byte(`{"data":[` + data + `],"mysqlType":{` + mysqlTypes + `},"pkNames":["id"],"database":"bank","table":"acct","isDdl":false,"old":null,"type":"INSERT"}`)}
	}
	narrow := `"id":"int(11)","n":"int(11)","amount":"decimal(10,2)","at":"datetime(3)"`
	wide := `"id":"int(11)","n":"bigint(20)","amount":"decimal(14,2)","at":"datetime(6)"`
	produce(t, topic, [][2][]byte{
		msg(narrow, `{"id":"1","n":"5","amount":"1.50","at":"2026-01-01 00:00:00.5"}`),
		msg(wide, `{"id":"2","n":"3000000000","amount":"123456789012.34","at":"2026-01-01 00:00:00.123456"}`),
		msg(narrow, `{"id":"3","n":"7","amount":"2.00","at":null}`),
	})
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	id := catalog.Identifier{Database: "bank", Table: "acct"}
	st, err := cdc.Ingest(ctx, cdc.Options{Source: broker, Topic: topic, Format: cdc.CanalJSON, Catalog: cat, Table: id,
		Create: true, ExitAtEnd: true, StopOnError: true, CommitInterval: 100 * time.Millisecond,
		AddColumns: cdc.CatalogAddColumns(cat, id), WidenColumns: cdc.CatalogWidenColumns(cat, id)})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"n":5,"amount":"1.50","at":"2026-01-01T00:00:00.500000"}
{"id":2,"n":3000000000,"amount":"123456789012.34","at":"2026-01-01T00:00:00.123456"}
{"id":3,"n":7,"amount":"2.00","at":null}
`
	if got := scan(t, tbl); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s\nstats %+v", got, want, st)
	}
	s, err := tbl.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range s.Fields {
		got = append(got, f.Name+" "+f.Type.String())
	}
	if s.ID != 1 || strings.Join(got, ", ") != "id INT NOT NULL, n BIGINT, amount DECIMAL(14, 2), at TIMESTAMP(6)" {
		t.Fatalf("schema %d: %s; want schema 1 with n, amount and at widened", s.ID, strings.Join(got, ", "))
	}
}

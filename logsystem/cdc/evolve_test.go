package cdc_test

import (
	"context"
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

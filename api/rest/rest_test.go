package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/export"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// testEnv is the API on a real listener over a local warehouse, with a client whose
// responses to REST-catalog requests are validated against the protocol's OpenAPI
// document.
type testEnv struct {
	t         *testing.T
	dir       string
	cat       *catalog.Catalog
	api       *API
	srv       *httptest.Server
	client    *http.Client
	transport *validatingTransport
	token     string
}

func newTestEnv(t *testing.T, token string, mod ...func(*Options)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	warehouse := filepath.Join(dir, "warehouse")
	if err := os.MkdirAll(warehouse, 0o755); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(fileio.NewLocal(), warehouse)
	o := Options{Catalog: cat, Token: token, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, m := range mod {
		m(&o)
	}
	api, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	vt := &validatingTransport{t: t, spec: loadOpenAPI(t), base: http.DefaultTransport}
	return &testEnv{t: t, dir: dir, cat: cat, api: api, srv: srv, client: &http.Client{Transport: vt}, transport: vt, token: token}
}

// do sends a request (body: nil, a string or bytes sent as is, or a value sent as JSON)
// with the environment's token and returns the status and body.
func (e *testEnv) do(method, path string, body any, header ...string) (int, []byte) {
	e.t.Helper()
	return e.doToken(e.token, method, path, body, header...)
}

func (e *testEnv) doToken(token, method, path string, body any, header ...string) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// must sends a request and fails the test unless the status is want.
func (e *testEnv) must(want int, method, path string, body any, header ...string) []byte {
	e.t.Helper()
	status, data := e.do(method, path, body, header...)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, data)
	}
	return data
}

// rows scans a table with the table package and returns its canonical JSON Lines.
func (e *testEnv) rows(db, tbl string) []string {
	e.t.Helper()
	t, err := e.cat.LoadTable(context.Background(), catalog.Identifier{Database: db, Table: tbl})
	if err != nil {
		e.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := export.Write(context.Background(), t, export.Options{Format: render.JSONL}, &buf); err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

const eventsTable = `{"name":"events","columns":"dt STRING NOT NULL, id BIGINT NOT NULL, v DOUBLE, note STRING",` +
	`"primaryKeys":["dt","id"],"partitionKeys":["dt"],"options":{"bucket":"2"}}`

const eventRows = `{"dt":"2026-01-01","id":1,"v":1.5,"note":"a"}
{"dt":"2026-01-01","id":2,"v":2.5,"note":null}
{"dt":"2026-01-02","id":3,"v":3.5,"note":"c"}
`

func TestWriteRowsThenScan(t *testing.T) {
	e := newTestEnv(t, "tok")
	e.must(201, "POST", "/api/v1/databases", `{"name":"db"}`)
	e.must(201, "POST", "/api/v1/databases/db/tables", eventsTable)
	res := decode[writeResult](t, e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", eventRows, "Content-Type", "application/x-ndjson"))
	if res.Rows != 3 || res.SnapshotID == nil || *res.SnapshotID != 1 || res.Files != 2 {
		t.Fatalf("write result %+v", res)
	}
	// An update of a key, and CSV input.
	res = decode[writeResult](t, e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", "dt,id,v,note\n2026-01-02,3,9.5,z\n", "Content-Type", "text/csv"))
	if res.Rows != 1 || *res.SnapshotID != 2 {
		t.Fatalf("write result %+v", res)
	}
	want := []string{
		`{"dt":"2026-01-01","id":1,"v":1.5,"note":"a"}`,
		`{"dt":"2026-01-01","id":2,"v":2.5,"note":null}`,
		`{"dt":"2026-01-02","id":3,"v":9.5,"note":"z"}`,
	}
	if got := e.rows("db", "events"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Idempotent retries: the same user and identifier commit once.
	q := "?commitUser=loader&commitIdentifier=7"
	first := decode[writeResult](t, e.must(200, "POST", "/api/v1/databases/db/tables/events/rows"+q, `{"dt":"2026-01-03","id":4}`+"\n"))
	again := decode[writeResult](t, e.must(200, "POST", "/api/v1/databases/db/tables/events/rows"+q, `{"dt":"2026-01-03","id":4}`+"\n"))
	if first.Skipped || !again.Skipped || *again.SnapshotID != *first.SnapshotID {
		t.Errorf("retry: first %+v, again %+v", first, again)
	}

	// Partitions and files of the latest snapshot.
	parts := decode[struct {
		SnapshotID int64           `json:"snapshotId"`
		Partitions []tarnPartition `json:"partitions"`
	}](t, e.must(200, "GET", "/api/v1/databases/db/tables/events/partitions", nil))
	if len(parts.Partitions) != 3 || parts.Partitions[0].Name != "dt=2026-01-01" || parts.Partitions[0].RowCount != 2 ||
		parts.Partitions[1].RowCount != 2 || parts.Partitions[1].FileCount != 2 {
		t.Errorf("partitions %+v", parts)
	}
	files := decode[struct {
		Files []tarnFile `json:"files"`
	}](t, e.must(200, "GET", "/api/v1/databases/db/tables/events/snapshots/latest/files", nil))
	if len(files.Files) != 4 {
		t.Errorf("files %+v", files)
	}
	for _, f := range files.Files {
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("file %s: %v", f.Path, err)
		}
	}
	snaps := decode[struct {
		Snapshots []tarnSnapshot `json:"snapshots"`
	}](t, e.must(200, "GET", "/api/v1/databases/db/tables/events/snapshots", nil))
	if len(snaps.Snapshots) != 3 || snaps.Snapshots[2].CommitUser != "loader" || snaps.Snapshots[2].CommitIdentifier != 7 {
		t.Errorf("snapshots %+v", snaps)
	}
}

// The file listing of a table with deletion vectors names each file's vector and the rows
// it deletes.
func TestFilesListDeletionVectors(t *testing.T) {
	e := newTestEnv(t, "")
	e.must(201, "POST", "/api/v1/databases", `{"name":"db"}`)
	e.must(201, "POST", "/api/v1/databases/db/tables", `{"name":"dv","columns":"id BIGINT NOT NULL, v STRING",`+
		`"primaryKeys":["id"],"options":{"bucket":"1","deletion-vectors.enabled":"true"}}`)
	e.must(200, "POST", "/api/v1/databases/db/tables/dv/rows", `{"id":1,"v":"a"}`+"\n"+`{"id":2,"v":"b"}`+"\n"+`{"id":3,"v":"c"}`+"\n")
	e.must(200, "POST", "/api/v1/databases/db/tables/dv/rows", `{"id":2,"v":"B"}`+"\n"+`{"id":3,"v":"C"}`+"\n")
	files := decode[struct {
		Files []tarnFile `json:"files"`
	}](t, e.must(200, "GET", "/api/v1/databases/db/tables/dv/snapshots/latest/files", nil))
	var deleted []int64
	for _, f := range files.Files {
		if dv := f.DeletionVector; dv != nil {
			if dv.DeletedRows == nil || dv.Length <= 0 {
				t.Fatalf("file %s: deletion vector %+v", f.FileName, dv)
			}
			deleted = append(deleted, *dv.DeletedRows)
		}
	}
	if len(deleted) != 1 || deleted[0] != 2 {
		t.Errorf("deleted rows per vector %v, want one vector deleting the 2 updated rows; files %+v", deleted, files.Files)
	}
}

func TestWriteRowsRefusesBadInput(t *testing.T) {
	e := newTestEnv(t, "", func(o *Options) { o.MaxWriteBytes = 1 << 10 })
	e.must(201, "POST", "/api/v1/databases", `{"name":"db"}`)
	e.must(201, "POST", "/api/v1/databases/db/tables", eventsTable)
	tests := []struct {
		name   string
		body   string
		header []string
		status int
	}{
		{"not JSON", "{\"dt\":\"x\",\"id\":1}\nnot json\n", nil, 400},
		{"unknown column", `{"dt":"x","id":1,"nope":2}` + "\n", nil, 400},
		{"null primary key", `{"dt":"x","id":null}` + "\n", nil, 400},
		{"wrong type", `{"dt":"x","id":"one"}` + "\n", nil, 400},
		{"too large", strings.Repeat(`{"dt":"x","id":1}`+"\n", 100), nil, 413},
		{"unsupported content type", `{}`, []string{"Content-Type", "application/xml"}, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do("POST", "/api/v1/databases/db/tables/events/rows", tt.body, tt.header...)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if r := decode[errorResponse](t, body); r.Code != tt.status || r.Message == "" {
				t.Errorf("error body %s", body)
			}
		})
	}
	if got := e.rows("db", "events"); len(got) != 1 || got[0] != "" {
		t.Errorf("rows after refused writes: %q", got)
	}
	// An empty body commits nothing.
	res := decode[writeResult](t, e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", ""))
	if res.SnapshotID != nil || res.Rows != 0 {
		t.Errorf("empty write %+v", res)
	}
}

// paimonEvents is the events table as Paimon's client creates it.
const paimonEvents = `{"identifier":{"database":"db","object":"events"},"schema":{"fields":[` +
	`{"id":0,"name":"dt","type":"STRING NOT NULL"},{"id":1,"name":"id","type":"BIGINT NOT NULL"},` +
	`{"id":2,"name":"v","type":"DOUBLE"},{"id":3,"name":"note","type":"STRING"},` +
	`{"id":4,"name":"tags","type":{"type":"ARRAY","element":"STRING"}}],` +
	`"partitionKeys":["dt"],"primaryKeys":["dt","id"],"options":{"bucket":"2"},"comment":"events"}}`

func TestPaimonCatalogProtocol(t *testing.T) {
	e := newTestEnv(t, "tok")
	p := "/v1/tarn"
	tbl := p + "/databases/db/tables/events"
	var tableID string
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		check  func(t *testing.T, body []byte)
	}{
		{"config", "GET", "/v1/config?warehouse=tarn", nil, 200, func(t *testing.T, b []byte) {
			if c := decode[configResponse](t, b); c.Overrides["prefix"] != "tarn" {
				t.Errorf("config %s", b)
			}
		}},
		{"config of the warehouse location", "GET", "/v1/config?warehouse=" + "file:" + filepath.ToSlash(e.cat.Warehouse()), nil, 200, nil},
		{"config of another warehouse", "GET", "/v1/config?warehouse=other", nil, 400, nil},
		{"unknown prefix", "GET", "/v1/other/databases", nil, 404, nil},
		{"no databases", "GET", p + "/databases", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"databases\":[]}\n" {
				t.Errorf("databases %s", b)
			}
		}},
		{"create database", "POST", p + "/databases", `{"name":"db","options":{}}`, 200, nil},
		{"create database again", "POST", p + "/databases", `{"name":"db"}`, 409, nil},
		{"create database db2", "POST", p + "/databases", `{"name":"db2"}`, 200, nil},
		{"list databases", "GET", p + "/databases", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"databases\":[\"db\",\"db2\"]}\n" {
				t.Errorf("databases %s", b)
			}
		}},
		{"page of databases", "GET", p + "/databases?maxResults=1", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"databases\":[\"db\"],\"nextPageToken\":\"db\"}\n" {
				t.Errorf("databases %s", b)
			}
		}},
		{"next page of databases", "GET", p + "/databases?maxResults=1&pageToken=db", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"databases\":[\"db2\"]}\n" {
				t.Errorf("databases %s", b)
			}
		}},
		{"databases by pattern", "GET", p + "/databases?databaseNamePattern=db2%25", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"databases\":[\"db2\"]}\n" {
				t.Errorf("databases %s", b)
			}
		}},
		{"get database", "GET", p + "/databases/db", nil, 200, nil},
		{"get missing database", "GET", p + "/databases/nope", nil, 404, nil},
		{"alter database", "POST", p + "/databases/db", `{"updates":{"a":"b"}}`, 501, nil},
		{"create table", "POST", p + "/databases/db/tables", paimonEvents, 200, nil},
		{"create table again", "POST", p + "/databases/db/tables", paimonEvents, 409, nil},
		{"create table in a missing database", "POST", p + "/databases/nope/tables", strings.Replace(paimonEvents, `"db"`, `"nope"`, 1), 404, nil},
		{"create table with a bad key", "POST", p + "/databases/db/tables", strings.Replace(paimonEvents, `"primaryKeys":["dt","id"]`, `"primaryKeys":["zz"]`, 1), 400, nil},
		{"create external table", "POST", p + "/databases/db/tables", strings.Replace(paimonEvents, `"bucket":"2"`, `"path":"/tmp/x"`, 1), 501, nil},
		{"list tables", "GET", p + "/databases/db/tables", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"tables\":[\"events\"]}\n" {
				t.Errorf("tables %s", b)
			}
		}},
		{"list tables of another type", "GET", p + "/databases/db/tables?tableType=view", nil, 200, nil},
		{"list tables of a missing database", "GET", p + "/databases/nope/tables", nil, 404, nil},
		{"table details", "GET", p + "/databases/db/table-details", nil, 200, nil},
		{"tables globally", "GET", p + "/tables?tableNamePattern=ev%25", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"tables\":[{\"database\":\"db\",\"object\":\"events\"}]}\n" {
				t.Errorf("tables %s", b)
			}
		}},
		{"bad pattern", "GET", p + "/tables?tableNamePattern=%25ev", nil, 400, nil},
		{"get table", "GET", tbl, nil, 200, func(t *testing.T, b []byte) {
			r := decode[getTableResponse](t, b)
			tableID = r.ID
			if r.Name != "events" || r.SchemaID != 0 || len(r.Schema.Fields) != 5 || !strings.HasPrefix(r.Path, "file:/") ||
				r.Schema.Comment == nil || *r.Schema.Comment != "events" || !strings.HasPrefix(r.ID, "db.events.") {
				t.Errorf("table %s", b)
			}
		}},
		{"get missing table", "GET", p + "/databases/db/tables/nope", nil, 404, nil},
		{"no snapshot yet", "GET", tbl + "/snapshot", nil, 404, func(t *testing.T, b []byte) {
			if r := decode[errorResponse](t, b); r.ResourceType == nil || *r.ResourceType != "SNAPSHOT" {
				t.Errorf("error %s", b)
			}
		}},
		{"write rows", "POST", "/api/v1/databases/db/tables/events/rows", eventRows, 200, nil},
		{"latest snapshot", "GET", tbl + "/snapshot", nil, 200, func(t *testing.T, b []byte) {
			r := decode[struct {
				Snapshot tableSnapshot `json:"snapshot"`
			}](t, b)
			if r.Snapshot.RecordCount != 3 || r.Snapshot.FileCount != 2 || r.Snapshot.FileSizeInBytes <= 0 {
				t.Errorf("snapshot %s", b)
			}
		}},
		{"snapshot 1", "GET", tbl + "/snapshots/1", nil, 200, nil},
		{"snapshot LATEST", "GET", tbl + "/snapshots/LATEST", nil, 200, nil},
		{"snapshot EARLIEST", "GET", tbl + "/snapshots/EARLIEST", nil, 200, nil},
		{"missing snapshot", "GET", tbl + "/snapshots/9", nil, 404, nil},
		{"missing tag as version", "GET", tbl + "/snapshots/t1", nil, 404, nil},
		{"list snapshots", "GET", tbl + "/snapshots", nil, 200, nil},
		{"partitions", "GET", tbl + "/partitions", nil, 200, func(t *testing.T, b []byte) {
			r := decode[struct {
				Partitions []paimonPartition `json:"partitions"`
			}](t, b)
			if len(r.Partitions) != 2 || r.Partitions[0].Spec["dt"] != "2026-01-01" || r.Partitions[0].RecordCount != 2 || r.Partitions[0].TotalBuckets != 2 {
				t.Errorf("partitions %s", b)
			}
		}},
		{"partitions by pattern", "GET", tbl + "/partitions?partitionNamePattern=dt%3D2026-01-02%25", nil, 200, func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), "2026-01-02") || strings.Contains(string(b), "2026-01-01") {
				t.Errorf("partitions %s", b)
			}
		}},
		{"partitions by names", "POST", tbl + "/partitions/list-by-names", `{"specs":[{"dt":"2026-01-02"}]}`, 200, func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"recordCount":1`) {
				t.Errorf("partitions %s", b)
			}
		}},
		{"mark partitions done", "POST", tbl + "/partitions/mark", `{"specs":[]}`, 501, nil},
		{"tags", "GET", tbl + "/tags", nil, 200, nil},
		{"missing tag", "GET", tbl + "/tags/t1", nil, 404, nil},
		{"branches", "GET", tbl + "/branches", nil, 200, nil},
		{"drop branch", "DELETE", tbl + "/branches/b1", nil, 404, nil},
		{"consumers", "GET", tbl + "/consumers", nil, 200, nil},
		{"reset consumer", "POST", tbl + "/consumers/reset", `{"consumerId":"c1","nextSnapshotId":1}`, 200, nil},
		{"consumers after reset", "GET", tbl + "/consumers", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"consumers\":[{\"consumerId\":\"c1\",\"nextSnapshot\":1}]}\n" {
				t.Errorf("consumers %s", b)
			}
		}},
		{"reset consumer to no snapshot", "POST", tbl + "/consumers/reset", `{"consumerId":"c1","nextSnapshotId":0}`, 400, nil},
		{"delete consumer", "POST", tbl + "/consumers/reset", `{"consumerId":"c1"}`, 200, nil},
		{"auth query", "POST", tbl + "/auth", `{"select":["id"]}`, 200, nil},
		{"data token", "GET", tbl + "/token", nil, 501, nil},
		{"alter table", "POST", tbl, `{"changes":[{"action":"setOption","key":"snapshot.num-retained.max","value":"50"}]}`, 200, nil},
		{"alter table refused", "POST", tbl, `{"changes":[{"action":"setOption","key":"a","value":"b"}]}`, 400, nil},
		{"write more rows", "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-03","id":4}` + "\n", 200, nil},
		{"create tag", "POST", tbl + "/tags", `{"tagName":"t1","snapshotId":1}`, 200, nil},
		{"create tag again", "POST", tbl + "/tags", `{"tagName":"t1"}`, 409, func(t *testing.T, b []byte) {
			if r := decode[errorResponse](t, b); r.ResourceType == nil || *r.ResourceType != "TAG" {
				t.Errorf("error %s", b)
			}
		}},
		{"create tag of a missing snapshot", "POST", tbl + "/tags", `{"tagName":"t2","snapshotId":99}`, 404, nil},
		{"create tag with a bad name", "POST", tbl + "/tags", `{"tagName":"../t2"}`, 400, nil},
		{"create tag with retention", "POST", tbl + "/tags", `{"tagName":"t3","timeRetained":"1d"}`, 200, nil},
		{"list tags", "GET", tbl + "/tags", nil, 200, func(t *testing.T, b []byte) {
			if string(b) != "{\"tags\":[\"t1\",\"t3\"]}\n" {
				t.Errorf("tags %s", b)
			}
		}},
		{"get tag", "GET", tbl + "/tags/t3", nil, 200, func(t *testing.T, b []byte) {
			r := decode[getTagResponse](t, b)
			if r.TagName != "t3" || r.TagCreateTime == nil || r.TagTimeRetained == nil || *r.TagTimeRetained != "PT24H" || !strings.Contains(string(r.Snapshot), `"id":2`) {
				t.Errorf("tag %s", b)
			}
		}},
		{"snapshot of a tag", "GET", tbl + "/snapshots/t1", nil, 200, func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"id":1`) {
				t.Errorf("snapshot %s", b)
			}
		}},
		{"delete tag", "DELETE", tbl + "/tags/t3", nil, 200, nil},
		{"delete tag again", "DELETE", tbl + "/tags/t3", nil, 404, nil},
		{"rollback from a snapshot that is not the latest", "POST", tbl + "/rollback", `{"instant":{"type":"snapshot","snapshotId":1},"fromSnapshot":5}`, 409, nil},
		{"rollback to a missing tag", "POST", tbl + "/rollback", `{"instant":{"type":"tag","tagName":"nope"}}`, 404, nil},
		{"rollback to a missing snapshot", "POST", tbl + "/rollback", `{"instant":{"type":"snapshot","snapshotId":42}}`, 404, nil},
		{"rollback", "POST", tbl + "/rollback", `{"instant":{"type":"snapshot","snapshotId":1},"fromSnapshot":2}`, 200, nil},
		{"latest snapshot after the rollback", "GET", tbl + "/snapshots/LATEST", nil, 200, func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"id":1,`) {
				t.Errorf("snapshot %s", b)
			}
		}},
		{"views", "GET", p + "/databases/db/views", nil, 200, nil},
		{"view details", "GET", p + "/databases/db/view-details", nil, 200, nil},
		{"missing view", "GET", p + "/databases/db/views/v", nil, 404, nil},
		{"functions", "GET", p + "/databases/db/functions", nil, 200, nil},
		{"missing function", "GET", p + "/databases/db/functions/f", nil, 404, nil},
		{"register table", "POST", p + "/databases/db/register", `{"identifier":{"database":"db","object":"x"},"path":"/tmp/x"}`, 501, nil},
		{"rename to an existing database", "POST", p + "/tables/rename", `{"source":{"database":"db","object":"events"},"destination":{"database":"db2","object":"moved"}}`, 200, nil},
		{"old name is gone", "GET", tbl, nil, 404, nil},
		{"rename a missing table", "POST", p + "/tables/rename", `{"source":{"database":"db","object":"events"},"destination":{"database":"db2","object":"x"}}`, 404, nil},
		{"drop table", "DELETE", p + "/databases/db2/tables/moved", nil, 200, nil},
		{"drop table again", "DELETE", p + "/databases/db2/tables/moved", nil, 404, nil},
		{"drop database", "DELETE", p + "/databases/db2", nil, 200, nil},
		{"drop missing database", "DELETE", p + "/databases/db2", nil, 404, nil},
	}
	for _, s := range steps {
		status, body := e.do(s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("%s: %s %s: status %d, want %d: %s", s.name, s.method, s.path, status, s.status, body)
		}
		if s.check != nil {
			s.check(t, body)
		}
	}
	if tableID == "" {
		t.Error("no table id")
	}
	if t.Failed() {
		return
	}
	// The moved table was readable under its new name before the drop: check a rename of
	// a table with data keeps its rows.
	e.must(200, "POST", p+"/databases/db/tables", paimonEvents)
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", eventRows)
	e.must(200, "POST", p+"/tables/rename", `{"source":{"database":"db","object":"events"},"destination":{"database":"db","object":"renamed"}}`)
	if got := e.rows("db", "renamed"); len(got) != 3 {
		t.Errorf("rows of the renamed table: %q", got)
	}
}

// TestPaimonCommit replays snapshots through the commit endpoint as Paimon's client sends
// them: the client wrote every file but the snapshot.
func TestPaimonCommit(t *testing.T) {
	e := newTestEnv(t, "tok")
	e.must(201, "POST", "/api/v1/databases", `{"name":"db"}`)
	e.must(201, "POST", "/api/v1/databases/db/tables", eventsTable)
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", eventRows)
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-09","id":9}`+"\n")
	ctx := context.Background()
	tb, err := e.cat.LoadTable(ctx, catalog.Identifier{Database: "db", Table: "events"})
	if err != nil {
		t.Fatal(err)
	}
	snapPath := tb.Join(format.SnapshotPath(2))
	snapJSON, err := os.ReadFile(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	// Take snapshot 2 back: the client's commit recreates it.
	if err := os.Remove(snapPath); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(tb.Join(format.SnapshotDir, format.LatestHint))
	tableID := decode[getTableResponse](t, e.must(200, "GET", "/v1/tarn/databases/db/tables/events", nil)).ID
	commit := func(snapshot []byte, id string) map[string]any {
		m := map[string]any{"snapshot": json.RawMessage(snapshot), "statistics": []any{}}
		if id != "" {
			m["tableId"] = id
		}
		return m
	}
	stale := bytes.Replace(snapJSON, []byte(`"id" : 2`), []byte(`"id" : 1`), 1)
	asString := bytes.Replace(snapJSON, []byte(`"commitIdentifier" : 9223372036854775807`), []byte(`"commitIdentifier" : "9223372036854775807"`), 1)
	badSchema := bytes.Replace(snapJSON, []byte(`"schemaId" : 0`), []byte(`"schemaId" : 5`), 1)
	var snap map[string]any
	if err := json.Unmarshal(snapJSON, &snap); err != nil {
		t.Fatal(err)
	}
	missingList := bytes.Replace(snapJSON, []byte(snap["deltaManifestList"].(string)), []byte("manifest-list-nope"), 1)
	traversal := bytes.Replace(snapJSON, []byte(snap["deltaManifestList"].(string)), []byte("../../x"), 1)
	if bytes.Equal(stale, snapJSON) || bytes.Equal(asString, snapJSON) || bytes.Equal(badSchema, snapJSON) {
		t.Fatalf("snapshot JSON changed shape: %s", snapJSON)
	}
	tests := []struct {
		name    string
		body    any
		status  int
		success bool
	}{
		{"bad schema", commit(badSchema, tableID), 400, false},
		{"missing manifest list", commit(missingList, tableID), 400, false},
		{"manifest name with a path", commit(traversal, tableID), 400, false},
		{"wrong table id", commit(snapJSON, "db.events.1"), 404, false},
		{"no snapshot", map[string]any{"tableId": tableID}, 400, false},
		{"stale snapshot id", commit(stale, tableID), 200, false},
		{"commit identifier as a string", commit(asString, tableID), 200, true},
		{"the same snapshot again", commit(snapJSON, ""), 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do("POST", "/v1/tarn/databases/db/tables/events/commit", tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status == 200 {
				if r := decode[commitTableResponse](t, body); r.Success != tt.success {
					t.Errorf("success %v, want %v", r.Success, tt.success)
				}
			}
		})
	}
	got, err := tb.LatestSnapshot(ctx)
	if err != nil || got == nil || got.ID != 2 {
		t.Fatalf("latest snapshot %v, %v", got, err)
	}
	if rows := e.rows("db", "events"); len(rows) != 4 {
		t.Errorf("rows %q", rows)
	}
	if hint, _ := os.ReadFile(tb.Join(format.SnapshotDir, format.LatestHint)); string(hint) != "2" {
		t.Errorf("LATEST hint %q", hint)
	}
	// A commit through the endpoint is followed by Tarn's own commits.
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-10","id":10}`+"\n")
	if s, _ := tb.LatestSnapshot(ctx); s == nil || s.ID != 3 {
		t.Errorf("latest after another write: %v", s)
	}
	_ = table.ErrNotFound
}

// TestSnapshotStatsFollowDeltas checks the summaries computed from the previous
// snapshot's and the delta manifests against full plans, across appends, updates,
// compactions and an overwrite.
func TestSnapshotStatsFollowDeltas(t *testing.T) {
	e := newTestEnv(t, "")
	e.must(201, "POST", "/api/v1/databases/db/tables", eventsTable)
	ctx := context.Background()
	tb, err := e.cat.LoadTable(ctx, catalog.Identifier{Database: "db", Table: "events"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"append", func(t *testing.T) { e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", eventRows) }},
		{"update", func(t *testing.T) {
			e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-01","id":1,"v":7}`+"\n")
		}},
		{"new partition", func(t *testing.T) {
			e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-05","id":5}`+"\n")
		}},
		{"full compaction", func(t *testing.T) {
			if _, err := tb.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{"overwrite of a partition", func(t *testing.T) {
			w, err := tb.NewWriter(ctx, table.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			msgs, err := w.PrepareCommit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tb.Commit(ctx, table.Commit{User: "ow", Identifier: format.BatchCommitIdentifier, Messages: msgs, Overwrite: true,
				OverwritePartitions: func(p []any) bool { return p[0] == "2026-01-05" }})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.run(t)
			snap, err := tb.LatestSnapshot(ctx)
			if err != nil || snap == nil {
				t.Fatal(snap, err)
			}
			incremental, err := e.api.snapshotStats(ctx, tb, snap)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := New(Options{Catalog: e.cat})
			if err != nil {
				t.Fatal(err)
			}
			full, err := fresh.snapshotStats(ctx, tb, snap)
			if err != nil {
				t.Fatal(err)
			}
			strip := func(s *snapshotStats) string {
				c := *s
				c.Partitions = nil
				for _, p := range s.Partitions {
					p.bucketFiles = nil
					p.LastFileTime = 0 // a maximum: deletions do not lower it
					c.Partitions = append(c.Partitions, p)
				}
				c.LastFileTime = 0
				b, _ := json.Marshal(c)
				return string(b)
			}
			if a, b := strip(incremental), strip(full); a != b {
				t.Errorf("snapshot %d (%s):\nincremental %s\nfull        %s", snap.ID, snap.CommitKind, a, b)
			}
		})
	}
}

func TestTarnTagsAndRollback(t *testing.T) {
	e := newTestEnv(t, "")
	e.must(201, "POST", "/api/v1/databases/db/tables", eventsTable)
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", eventRows)
	e.must(200, "POST", "/api/v1/databases/db/tables/events/rows", `{"dt":"2026-01-03","id":4}`+"\n")
	base := "/api/v1/databases/db/tables/events"
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		want   string
	}{
		{"create tag of the latest snapshot", "POST", base + "/tags", `{"name":"v2"}`, 201, `"snapshotId":2`},
		{"create tag of snapshot 1", "POST", base + "/tags", `{"name":"v1","snapshotId":1,"timeRetained":"12h"}`, 201, `"timeRetained":"PT12H"`},
		{"create an existing tag", "POST", base + "/tags", `{"name":"v1"}`, 409, ""},
		{"ignore an existing tag", "POST", base + "/tags", `{"name":"v1","ignoreIfExists":true}`, 201, `"snapshotId":1`},
		{"bad retention", "POST", base + "/tags", `{"name":"v9","timeRetained":"soon"}`, 400, ""},
		{"unknown field", "POST", base + "/tags", `{"name":"v9","snapshot":1}`, 400, ""},
		{"list tags", "GET", base + "/tags", "", 200, `"name":"v1"`},
		{"partitions of a tag", "GET", base + "/partitions?tag=v1", "", 200, `"snapshotId":1`},
		{"rollback needs one target", "POST", base + "/rollback", `{"snapshotId":1,"tag":"v1"}`, 400, ""},
		{"rollback to a tag", "POST", base + "/rollback", `{"tag":"v1","fromSnapshot":2}`, 200, `"deletedTags":["v2"]`},
		{"the newer tag is gone", "DELETE", base + "/tags/v2", "", 404, ""},
		{"delete tag", "DELETE", base + "/tags/v1", "", 204, ""},
		{"no tags left", "GET", base + "/tags", "", 200, `{"tags":[]}`},
	}
	for _, tt := range tests {
		var body any
		if tt.body != "" {
			body = tt.body
		}
		status, b := e.do(tt.method, tt.path, body)
		if status != tt.status || !strings.Contains(string(b), tt.want) {
			t.Fatalf("%s: %d %s, want %d containing %s", tt.name, status, b, tt.status, tt.want)
		}
	}
	if got := e.rows("db", "events"); len(got) != 3 {
		t.Errorf("rows after the rollback: %q", got)
	}
}

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1d", 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"30 min", 30 * time.Minute, true},
		{"90s", 90 * time.Second, true},
		{"PT1H30M", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"soon", 0, false},
		{"5 fortnights", 0, false},
		{"PT1X", 0, false},
	}
	for _, tt := range tests {
		got, err := parseRetention(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRetention(%q) = %v, %v", tt.in, got, err)
		}
	}
}

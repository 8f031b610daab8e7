package flight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/internal/testenv"
)

// TestJDBCDriver connects with Apache Arrow's Flight SQL JDBC driver: database metadata,
// statements and prepared statements.
func TestJDBCDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java is needed for the JDBC driver: %v", err)
	}
	jar := testenv.Jar(t, testenv.FlightSQLJDBCDriver)
	e := newEnv(t, tarnflight.Options{})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, name STRING", []string{"id"}, nil, map[string]string{"bucket": "2"})
	names := []string{"a", "b", "c"}
	write(t, tbl, fields, 3, func(i int, b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.StringBuilder).Append(names[i])
		b.Field(2).(*array.StringBuilder).Append("+I")
	})
	write(t, tbl, fields, 1, func(i int, b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(2)
		b.Field(1).(*array.StringBuilder).Append("b2")
		b.Field(2).(*array.StringBuilder).Append("+U")
	})
	url := fmt.Sprintf("jdbc:arrow-flight-sql://%s/?useEncryption=false&token=%s", e.addr, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, "testdata/jdbc/JdbcSmoke.java", url,
		"SELECT id, name FROM db.t WHERE id >= 2",
		"SELECT name FROM db.t FOR VERSION AS OF 1 WHERE id = 2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("JDBC: %v\n%s\n%s", err, out, stderr.String())
	}
	got := string(out)
	for _, want := range []string{
		"# catalogs\nTABLE_CAT=tarn\n",
		"TABLE_SCHEM=db\tTABLE_CATALOG=tarn",
		"TABLE_CAT=tarn\tTABLE_SCHEM=db\tTABLE_NAME=t\tTABLE_TYPE=TABLE",
		"t\tid\tBIGINT\nt\tname\tVARCHAR\n",
		"# primary keys\nid\t1\n",
		"# query SELECT id, name FROM db.t WHERE id >= 2\n",
		"id=2\tname=b2\n",
		"id=3\tname=c\n",
		"# prepared SELECT name FROM db.t FOR VERSION AS OF 1 WHERE id = 2\nname=b\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("JDBC output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("JDBC output:\n%s", got)
	}
	// A wrong token is refused.
	cmd = exec.CommandContext(ctx, java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, "testdata/jdbc/JdbcSmoke.java",
		strings.Replace(url, testToken, "wrong", 1))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "unauthenticated") {
		t.Fatalf("JDBC with a wrong token: %v\n%s", err, out)
	}
}

// TestPythonClients drives the service with pyarrow.flight: a scan of every endpoint, a
// path descriptor, GetSchema, DoPut with row kinds, a tail with its app_metadata, a wrong
// token; and Flight SQL through ADBC's Python driver (the test virtualenv's pinned
// versions, testenv.Python). compat/peers runs the same clients against `tarn serve`.
func TestPythonClients(t *testing.T) {
	py := testenv.Python(t)
	e := newEnv(t, tarnflight.Options{Heartbeat: 200 * time.Millisecond})
	tbl, fields := e.createTable("db.t", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "3"})
	write(t, tbl, fields, 10, func(i int, b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("v", i+1))
		b.Field(2).(*array.StringBuilder).Append("+I")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-W", "ignore", "testdata/python/clients.py", e.addr, testToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr.String())
	}
	var got struct {
		Endpoints  int                     `json:"endpoints"`
		Scan       []string                `json:"scan"`
		PathSchema []string                `json:"path_schema"`
		Schema     []string                `json:"schema"`
		Put        tarnflight.PutResult    `json:"put"`
		Tail       []string                `json:"tail"`
		TailLast   tarnflight.TailMetadata `json:"tail_last"`
		ADBC       []string                `json:"adbc"`
		Refused    bool                    `json:"refused"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Endpoints != 3 || len(got.Scan) != 10 || got.Scan[0] != `{"id": 1, "v": "v1"}` {
		t.Errorf("scan: %d endpoints, %q", got.Endpoints, got.Scan)
	}
	if strings.Join(got.PathSchema, ",") != "id,v" || strings.Join(got.Schema, ",") != "v" {
		t.Errorf("schemas %v %v", got.PathSchema, got.Schema)
	}
	if got.Put != (tarnflight.PutResult{Snapshot: 2, Rows: 2}) {
		t.Errorf("put %+v", got.Put)
	}
	if len(got.Tail) != 12 || !slices.Contains(got.Tail, `{"_ROW_KIND": "-D", "_SNAPSHOT_ID": 2, "id": 1, "v": "one"}`) ||
		!slices.Contains(got.Tail, `{"_ROW_KIND": "+I", "_SNAPSHOT_ID": 1, "id": 10, "v": "v10"}`) || got.TailLast.Snapshot != 3 || got.TailLast.Resume == "" {
		t.Errorf("tail %q, last %+v", got.Tail, got.TailLast)
	}
	if len(got.ADBC) != 10 || got.ADBC[0] != `{"id": 10, "v": "v10"}` {
		t.Errorf("ADBC (Python) %q", got.ADBC)
	}
	if !got.Refused {
		t.Error("a wrong token was accepted")
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/testenv"
)

// TestPaimonRESTCatalogAlterTable alters a table Tarn wrote through Apache Paimon's own
// RESTCatalog.alterTable (compat/oracle rest-alter: Paimon 1.4.2's client serializes the
// SchemaChanges and maps the server's errors to its exceptions). The request's changes
// make one new schema; Tarn reads the old rows through it, Paimon's client reads the
// altered table (rest-read) and commits rows of the new schema (rest-write); refused
// changes reach Paimon's client as ColumnNotExistException, ColumnAlreadyExistException,
// IllegalArgumentException and UnsupportedOperationException and write nothing.
func TestPaimonRESTCatalogAlterTable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or loads the Paimon oracle jar")
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "no %s", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	oracleScript := filepath.Join(filepath.Dir(filepath.Dir(file)), "compat", "oracle")
	const token = "s3cret"
	s := startServer(t, func(c *Config) { c.Token = token; c.Flight.Disabled = true })
	base := s.HTTPURL()
	// oracle runs a REST command of the oracle against the server.
	oracle := func(stdin, cmd string, args ...string) (string, error) {
		t.Helper()
		argv := append([]string{cmd, base, "db.t", "--token", token, "--warehouse", "tarn"}, args...)
		c := exec.CommandContext(ctx, oracleScript, argv...)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr, c.Stdin = &out, &errb, strings.NewReader(stdin)
		if err := c.Run(); err != nil {
			return out.String(), fmt.Errorf("compat/oracle %s: %v\n%s", strings.Join(argv, " "), err, tailString(errb.String(), 3000))
		}
		return out.String(), nil
	}

	for _, step := range []struct{ path, body string }{
		{"/api/v1/databases/db/tables", `{"name":"t","columns":"id BIGINT NOT NULL, a INT, d STRING, x INT, note STRING","primaryKeys":["id"],"options":{"bucket":"1"}}`},
		{"/api/v1/databases/db/tables/t/rows", `{"id":1,"a":10,"d":"gone","x":5,"note":"n1"}` + "\n" + `{"id":2,"a":null,"d":"y","x":-7,"note":null}` + "\n"},
	} {
		if st, b := call(t, http.DefaultClient, "POST", base+step.path, strings.NewReader(step.body), token); st/100 != 2 {
			t.Fatalf("POST %s: %d %s", step.path, st, b)
		}
	}

	// One alterTable call with every kind of change Tarn applies.
	out, err := oracle("", "rest-alter",
		"add:c:BIGINT AFTER id", "rename:a:b", "drop:d", "widen:x:BIGINT", "set:snapshot.num-retained.max=20",
		"colcomment:b:was a", "comment:altered", "move:note:FIRST", "nullable:b")
	if err != nil {
		t.Fatal(err)
	}
	// What Paimon's client loads after the alter (its TableSchema JSON).
	var paimon struct {
		ID     int64 `json:"id"`
		Fields []struct {
			ID          int             `json:"id"`
			Name        string          `json:"name"`
			Type        json.RawMessage `json:"type"`
			Description *string         `json:"description"`
		} `json:"fields"`
		HighestFieldID int               `json:"highestFieldId"`
		PrimaryKeys    []string          `json:"primaryKeys"`
		Options        map[string]string `json:"options"`
		Comment        *string           `json:"comment"`
	}
	if err := json.Unmarshal([]byte(out), &paimon); err != nil {
		t.Fatalf("rest-alter printed %q: %v", out, err)
	}
	var paimonFields []string
	for _, f := range paimon.Fields {
		var ty types.DataType
		if err := json.Unmarshal(f.Type, &ty); err != nil {
			t.Fatalf("field %s: type %s: %v", f.Name, f.Type, err)
		}
		paimonFields = append(paimonFields, fmt.Sprintf("%d:%s:%s", f.ID, f.Name, ty))
	}
	wantFields := "4:note:STRING 0:id:BIGINT NOT NULL 5:c:BIGINT 1:b:INT 3:x:BIGINT"
	if paimon.ID != 1 || strings.Join(paimonFields, " ") != wantFields || paimon.HighestFieldID != 5 ||
		paimon.Comment == nil || *paimon.Comment != "altered" || paimon.Options["snapshot.num-retained.max"] != "20" ||
		paimon.Fields[3].Description == nil || *paimon.Fields[3].Description != "was a" {
		t.Errorf("Paimon's client loads schema %d: %s (highest field id %d, comment %v, options %v)\n%s\nwant schema 1: %s",
			paimon.ID, strings.Join(paimonFields, " "), paimon.HighestFieldID, paimon.Comment, paimon.Options, out, wantFields)
	}

	// Tarn: the request is schema-1, the same schema Paimon's client loaded.
	tb, err := s.Catalog().LoadTable(ctx, catalog.Identifier{Database: "db", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	schemaIDs := func() []int64 {
		t.Helper()
		ids, err := tb.SchemaIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if ids := schemaIDs(); !slices.Equal(ids, []int64{0, 1}) {
		t.Errorf("schema files %v, want [0 1]", ids)
	}
	latest, err := tb.LatestSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tarnFields []string
	for _, f := range latest.Fields {
		tarnFields = append(tarnFields, fmt.Sprintf("%d:%s:%s", f.ID, f.Name, f.Type))
	}
	if strings.Join(tarnFields, " ") != wantFields {
		t.Errorf("Tarn's schema-1: %s, want %s", strings.Join(tarnFields, " "), wantFields)
	}

	// The rows written before the alter, read through the new schema: b is a's data (same
	// field id), x widened, c null, d gone.
	wantRows := `{"note":"n1","id":1,"c":null,"b":10,"x":5}` + "\n" + `{"note":null,"id":2,"c":null,"b":null,"x":-7}` + "\n"
	if rows := scanRows(t, s.Catalog(), "db", "t"); rows != wantRows {
		t.Errorf("Tarn reads after the alter:\n%s\nwant:\n%s", rows, wantRows)
	}
	restRead := func() string {
		t.Helper()
		out, err := oracle("", "rest-read")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := restRead(), scanRows(t, s.Catalog(), "db", "t"); got != want {
		t.Errorf("Paimon's REST client reads the altered table as:\n%s\nTarn reads:\n%s", got, want)
	}

	// Paimon's client commits rows of the new schema (x beyond INT); Tarn reads them.
	if _, err := oracle(`{"note":"paimon","id":3,"c":30,"b":3,"x":9000000000}`+"\n", "rest-write"); err != nil {
		t.Fatal(err)
	}
	wantRows += `{"note":"paimon","id":3,"c":30,"b":3,"x":9000000000}` + "\n"
	if rows := scanRows(t, s.Catalog(), "db", "t"); rows != wantRows {
		t.Errorf("Tarn reads after Paimon's commit:\n%s\nwant:\n%s", rows, wantRows)
	}
	if got := restRead(); got != wantRows {
		t.Errorf("Paimon's REST client reads after its commit:\n%s\nwant:\n%s", got, wantRows)
	}

	// Refusals, as Paimon's client reports them.
	for _, tt := range []struct {
		change string
		want   []string
	}{
		{"drop:nope", []string{"ColumnNotExistException", "nope"}},
		{"add:b:INT", []string{"ColumnAlreadyExistException", "b"}},
		{"widen:x:INT", []string{"IllegalArgumentException", "cannot be converted to INT"}},
		{"drop:id", []string{"IllegalArgumentException", "primary key"}},
		{"droppk", []string{"UnsupportedOperationException", "a primary key can be dropped only before the first commit"}},
	} {
		_, err := oracle("", "rest-alter", "add:e:INT", tt.change)
		if err == nil {
			t.Errorf("%s: Paimon's client reported no error", tt.change)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Paimon's client reported %v; want %q", tt.change, err, w)
			}
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			if strings.HasPrefix(l, "error: ") {
				t.Logf("%s: %s", tt.change, l)
			}
		}
	}
	if ids := schemaIDs(); !slices.Equal(ids, []int64{0, 1}) {
		t.Errorf("schema files after refused alters %v, want [0 1]", ids)
	}

	// A default value set by Paimon's client (updateColumnDefaultValue): Tarn's writers put
	// it in place of nulls as Paimon's own writer does (TableWriteImpl, DefaultValueRow).
	if _, err := oracle("", "rest-alter", "default:note:'none'"); err != nil {
		t.Fatal(err)
	}
	if st, b := call(t, http.DefaultClient, "POST", base+"/api/v1/databases/db/tables/t/rows", strings.NewReader(`{"note":null,"id":4,"c":40,"b":4,"x":4}`+"\n"), token); st/100 != 2 {
		t.Fatalf("rows after the default: %d %s", st, b)
	}
	if _, err := oracle(`{"note":null,"id":5,"c":50,"b":5,"x":5}`+"\n", "rest-write"); err != nil {
		t.Fatal(err)
	}
	wantRows += `{"note":"none","id":4,"c":40,"b":4,"x":4}` + "\n" + `{"note":"none","id":5,"c":50,"b":5,"x":5}` + "\n"
	if rows := scanRows(t, s.Catalog(), "db", "t"); rows != wantRows {
		t.Errorf("Tarn reads after the default:\n%s\nwant:\n%s", rows, wantRows)
	}
	if got := restRead(); got != wantRows {
		t.Errorf("Paimon's REST client reads after the default:\n%s\nwant:\n%s", got, wantRows)
	}

	// dropPrimaryKey before the first commit (Paimon allows it only then): Paimon's client
	// loads an append-only table, and its commit of two rows with one id keeps both.
	for _, step := range []struct{ method, path, body string }{
		{"DELETE", "/api/v1/databases/db/tables/t", ""},
		{"POST", "/api/v1/databases/db/tables", `{"name":"t","columns":"id BIGINT NOT NULL, v STRING","primaryKeys":["id"],"options":{"bucket":"-1"}}`},
	} {
		if st, b := call(t, http.DefaultClient, step.method, base+step.path, strings.NewReader(step.body), token); st/100 != 2 {
			t.Fatalf("%s %s: %d %s", step.method, step.path, st, b)
		}
	}
	out, err = oracle("", "rest-alter", "droppk")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &paimon); err != nil || len(paimon.PrimaryKeys) != 0 {
		t.Fatalf("after droppk Paimon's client loads %s (%v)", out, err)
	}
	if _, err := oracle(`{"id":1,"v":"a"}`+"\n"+`{"id":1,"v":"b"}`+"\n", "rest-write"); err != nil {
		t.Fatal(err)
	}
	if rows := scanRows(t, s.Catalog(), "db", "t"); strings.Count(rows, `"id":1`) != 2 {
		t.Errorf("Tarn reads the append-only table as:\n%s", rows)
	}
}

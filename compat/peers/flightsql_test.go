package peers_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/internal/testenv"
)

// sqlQuery is a documented SELECT form (README: Flight SQL) and the `tarn scan` that must
// give the same rows.
type sqlQuery struct {
	name, sql string
	scan      []string
	limit     int // LIMIT n: n of the scan's rows
}

// sqlQueries are the SELECT forms of the README run against db.orders.
func sqlQueries(o *orders) []sqlQuery {
	s1, s2 := o.snaps[0], o.snaps[1]
	at := time.UnixMilli(o.times[s2]).UTC().Format("2006-01-02 15:04:05.000")
	return []sqlQuery{
		{"star", "SELECT * FROM db.orders", nil, 0},
		{"columns_catalog_where", "SELECT id, name, amount FROM tarn.db.orders WHERE amount > 10 AND name IS NOT NULL",
			[]string{"--columns", "id,name,amount", "--where", "amount > 10 AND name IS NOT NULL"}, 0},
		{"version", fmt.Sprintf("SELECT * FROM db.orders FOR VERSION AS OF %d", s1), []string{"--snapshot", fmt.Sprint(s1)}, 0},
		{"tag", "SELECT dt, id, name FROM db.orders FOR VERSION AS OF 'v1' WHERE dt = '2026-01-01'",
			[]string{"--tag", "v1", "--columns", "dt,id,name", "--where", "dt = '2026-01-01'"}, 0},
		{"timestamp_millis", fmt.Sprintf("SELECT * FROM db.orders FOR TIMESTAMP AS OF %d", o.times[s2]), []string{"--timestamp", fmt.Sprint(o.times[s2])}, 0},
		{"system_time", fmt.Sprintf("SELECT * FROM db.orders FOR SYSTEM_TIME AS OF '%s'", at), []string{"--timestamp", fmt.Sprint(o.times[s2])}, 0},
		{"quoted_system_version", fmt.Sprintf("SELECT \"id\", `ok`, ts FROM `db`.\"orders\" FOR SYSTEM_VERSION AS OF %d WHERE id IN (1, 2, 3, 25) OR name IS NULL;", s2),
			[]string{"--snapshot", fmt.Sprint(s2), "--columns", "id,ok,ts", "--where", "id IN (1, 2, 3, 25) OR name IS NULL"}, 0},
		{"no_for", fmt.Sprintf("SELECT id, day FROM db.orders VERSION AS OF %d WHERE day BETWEEN DATE '2026-01-05' AND DATE '2026-01-20'", s1),
			[]string{"--snapshot", fmt.Sprint(s1), "--columns", "id,day", "--where", "day BETWEEN DATE '2026-01-05' AND DATE '2026-01-20'"}, 0},
		{"case_insensitive", "SELECT ID, Score FROM db.orders WHERE id NOT IN (1, 2) AND score >= 3", []string{"--columns", "id,score", "--where", "id NOT IN (1, 2) AND score >= 3"}, 0},
		{"limit", "SELECT * FROM db.orders WHERE dt = '2026-01-03' LIMIT 4", []string{"--where", "dt = '2026-01-03'"}, 4},
	}
}

// checkSQL compares a driver's rows of q with `tarn scan`.
func checkSQL(t *testing.T, o *orders, driver string, q sqlQuery, got []string) {
	t.Helper()
	want := o.scan(t, q.scan...)
	if q.limit == 0 {
		sameRows(t, driver+" "+q.sql, got, want)
		return
	}
	all := sortedLines(want)
	if len(got) != q.limit {
		t.Errorf("%s %s: %d rows, want %d", driver, q.sql, len(got), q.limit)
	}
	for _, l := range got {
		if !slices.Contains(all, l) {
			t.Errorf("%s %s: row %s is not one of `tarn scan`'s", driver, q.sql, l)
		}
	}
}

// TestFlightSQLADBC: the ADBC Flight SQL driver from Python lists the catalog, schemas and
// tables and runs each documented SELECT form, plain and prepared, getting exactly the rows
// `tarn scan` gives.
func TestFlightSQLADBC(t *testing.T) {
	py := python(t)
	o := newOrders(t)
	s := o.s
	queries := sqlQueries(o)
	var qs []map[string]string
	for _, q := range queries {
		qs = append(qs, map[string]string{"name": q.name, "sql": q.sql})
	}
	qJSON, _ := json.Marshal(qs)
	dir := t.TempDir()
	out := run(t, 3*time.Minute, py, clientsPy(), "sql", s.FlightAddr, s.Token, dir, string(qJSON))
	lines := jsonLines(t, out)
	if len(lines) != 1+len(queries) {
		t.Fatalf("ADBC printed:\n%s", out)
	}
	if got := fmt.Sprint(lines[0]["catalogs"], lines[0]["tables"]); got != "[tarn] [[tarn db orders TABLE]]" {
		t.Errorf("ADBC GetObjects: %s", got)
	}
	fields := tableFields(t, s, "orders")
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			checkSQL(t, o, "ADBC", q, arrowLines(t, filepath.Join(dir, q.name+".arrow"), fields))
			checkSQL(t, o, "ADBC (prepared)", q, arrowLines(t, filepath.Join(dir, q.name+".prepared.arrow"), fields))
		})
	}
}

// TestFlightSQLJDBC: Apache Arrow's Flight SQL JDBC driver lists the catalog, schemas and
// tables and runs each documented SELECT form as a statement and as a prepared statement,
// getting exactly the rows `tarn scan` gives; a wrong token is refused.
func TestFlightSQLJDBC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM; skipped under -short")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java is needed for the JDBC driver: %v", err)
	}
	jar := testenv.Jar(t, testenv.FlightSQLJDBCDriver)
	o := newOrders(t)
	s := o.s
	queries := sqlQueries(o)
	url := fmt.Sprintf("jdbc:arrow-flight-sql://%s/?useEncryption=false&token=%s", s.FlightAddr, s.Token)
	args := []string{"-Duser.timezone=UTC", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, filepath.Join("testdata", "JdbcClient.java"), url}
	for _, q := range queries {
		args = append(args, q.name, q.sql)
	}
	out := run(t, 5*time.Minute, java, args...)
	sections := map[string][]string{}
	var cur string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if name, ok := strings.CutPrefix(l, "# "); ok {
			cur = name
			sections[cur] = []string{}
			continue
		}
		sections[cur] = append(sections[cur], l)
	}
	if got := fmt.Sprint(sections["catalogs"]); got != "[tarn]" {
		t.Errorf("JDBC catalogs %s", got)
	}
	if !slices.Contains(sections["schemas"], "tarn\tdb") {
		t.Errorf("JDBC schemas %q", sections["schemas"])
	}
	if got := fmt.Sprint(sections["tables"]); got != "[tarn\tdb\torders\tTABLE]" {
		t.Errorf("JDBC tables %q", sections["tables"])
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			for _, name := range []string{q.name, q.name + ".prepared"} {
				rows, ok := sections[name]
				if !ok {
					t.Fatalf("JDBC printed no %s:\n%s", name, out)
				}
				slices.Sort(rows)
				checkSQL(t, o, "JDBC "+name, q, rows)
			}
		})
	}

	bad := strings.Replace(url, s.Token, "wrong", 1)
	cmd := exec.Command(java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, filepath.Join("testdata", "JdbcClient.java"), bad)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(b)), "unauthenticated") {
		t.Errorf("JDBC with a wrong token: %v\n%s", err, tailOf(string(b), 2000))
	}
}

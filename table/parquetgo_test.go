package table_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tarnlake/tarn/table"
)

// TestParquetGoReadsTarnDataFiles reads the data files Tarn writes (with arrow-go) with
// parquet-go, a Parquet implementation that shares no code with it. Every file has
// Paimon's system columns; the records it holds are exactly the rows written (row kinds
// as _VALUE_KIND, _KEY_id equal to id, each row in its partition's directory, sequence
// numbers unique per bucket), and merging
// them by key, latest sequence number first, gives what Tarn's own scan gives.
func TestParquetGoReadsTarnDataFiles(t *testing.T) {
	tt := newTestTable(t, "id BIGINT NOT NULL, name STRING, amount DOUBLE, dt STRING NOT NULL", []string{"id", "dt"}, []string{"dt"}, map[string]string{"bucket": "2"})
	var first, second []string
	for i := 1; i <= 100; i++ {
		first = append(first, fmt.Sprintf(`{"id":%d,"name":"n%d","amount":%d.5,"dt":"d%d"}`, i, i, i, i%3))
	}
	for i := 1; i <= 10; i++ {
		second = append(second, fmt.Sprintf(`{"id":%d,"name":null,"amount":-%d.25,"dt":"d%d","_ROW_KIND":"+U"}`, i, i, i%3))
	}
	second = append(second, `{"id":11,"name":"n11","amount":11.5,"dt":"d2","_ROW_KIND":"-D"}`)
	tt.commit(t, "["+strings.Join(first, ",")+"]", false)
	tt.commit(t, "["+strings.Join(second, ",")+"]", false)

	type record struct {
		id, seq int64
		kind    int32
		name    *string
		amount  float64
		dt      string
	}
	var records []record
	files, err := filepath.Glob(filepath.Join(tt.tbl.Path(), "dt=*", "bucket-*", "data-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no data files: %v", err)
	}
	seqs := map[string]map[int64]bool{} // bucket directory -> sequence numbers
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatalf("parquet-go opens %s: %v", path, err)
		}
		col := map[string]int{}
		for i, p := range pf.Schema().Columns() {
			col[strings.Join(p, ".")] = i
		}
		// The key columns are the primary key without the partition keys (Paimon's
		// trimmed primary key): _KEY_id, no _KEY_dt.
		want := []string{"_KEY_id", "_SEQUENCE_NUMBER", "_VALUE_KIND", "id", "name", "amount", "dt"}
		for _, c := range want {
			if _, ok := col[c]; !ok {
				t.Fatalf("%s: parquet-go finds columns %v, want %v", path, pf.Schema().Columns(), want)
			}
		}
		r := parquet.NewReader(pf)
		rows := make([]parquet.Row, 64)
		for {
			n, err := r.ReadRows(rows)
			for _, row := range rows[:n] {
				v := func(name string) parquet.Value { return row[col[name]] }
				rec := record{id: v("id").Int64(), seq: v("_SEQUENCE_NUMBER").Int64(), kind: v("_VALUE_KIND").Int32(),
					amount: v("amount").Double(), dt: string(v("dt").ByteArray())}
				if !v("name").IsNull() {
					s := string(v("name").ByteArray())
					rec.name = &s
				}
				if v("_KEY_id").Int64() != rec.id || "dt="+rec.dt != filepath.Base(filepath.Dir(filepath.Dir(path))) {
					t.Errorf("%s: key column %v for row id %d dt %s", path, v("_KEY_id"), rec.id, rec.dt)
				}
				dir := filepath.Dir(path)
				if seqs[dir] == nil {
					seqs[dir] = map[int64]bool{}
				}
				if seqs[dir][rec.seq] {
					t.Errorf("%s: sequence number %d twice in its bucket", path, rec.seq)
				}
				seqs[dir][rec.seq] = true
				records = append(records, rec)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("parquet-go reads %s: %v", path, err)
			}
		}
		r.Close()
		f.Close()
	}
	// Kinds as Paimon stores them: 0 +I, 2 +U, 3 -D.
	count := map[int32]int{}
	for _, r := range records {
		count[r.kind]++
	}
	if len(records) != 111 || count[0] != 100 || count[2] != 10 || count[3] != 1 {
		t.Fatalf("parquet-go read %d records, kinds %v; want 100 +I, 10 +U, 1 -D", len(records), count)
	}
	// Merge: per key the record of the highest sequence number; deletes drop the key.
	slices.SortFunc(records, func(a, b record) int { return int(b.seq - a.seq) })
	latest := map[string]record{}
	for _, r := range records {
		if _, ok := latest[fmt.Sprint(r.id, r.dt)]; !ok {
			latest[fmt.Sprint(r.id, r.dt)] = r
		}
	}
	var merged []string
	for _, r := range latest {
		if r.kind == 3 {
			continue
		}
		name := "null"
		if r.name != nil {
			name = fmt.Sprintf("%q", *r.name)
		}
		merged = append(merged, fmt.Sprintf(`{"id":%d,"name":%s,"amount":%g,"dt":%q}`, r.id, name, r.amount, r.dt))
	}
	got := strings.Split(strings.TrimSpace(scanJSONL(t, tt.tbl, table.ScanOptions{})), "\n")
	slices.Sort(got)
	slices.Sort(merged)
	if !slices.Equal(got, merged) {
		t.Errorf("merged from parquet-go (%d rows):\n%s\nTarn's scan (%d rows):\n%s", len(merged), strings.Join(merged, "\n"), len(got), strings.Join(got, "\n"))
	}
}

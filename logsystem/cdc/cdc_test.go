package cdc_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/logsystem/cdc"
)

// goldenRecord is a line of testdata/*.jsonl: a Kafka record's key and value. A JSON
// string value is sent as its raw text (so it can be invalid JSON), null as a tombstone.
type goldenRecord struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

func rawBytes(t testing.TB, m json.RawMessage) []byte {
	t.Helper()
	s := strings.TrimSpace(string(m))
	if s == "" || s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(m, &str); err != nil {
			t.Fatal(err)
		}
		return []byte(str)
	}
	return []byte(s)
}

func golden(t testing.TB, name string) [][2][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2][]byte{rawBytes(t, r.Key), rawBytes(t, r.Value)})
	}
	return out
}

// TestDecodeGolden decodes every golden message: the kinds of its rows, or what else it
// is (tombstone, DDL, skipped, malformed).
func TestDecodeGolden(t *testing.T) {
	tests := []struct {
		file   string
		format cdc.Format
		want   []string // per message: kinds "+I -U +U", or tombstone / ddl / skipped / malformed
		pk     []string
	}{
		{"debezium.jsonl", cdc.DebeziumJSON, []string{"+I", "+I", "+I", "-U +U", "-D", "tombstone", "malformed", "+I", "malformed", "skipped", "+I"}, []string{"id"}},
		{"canal.jsonl", cdc.CanalJSON, []string{"+I +I", "-U +U", "ddl", "+I +I", "-D", "+I", "malformed", "malformed"}, []string{"id"}},
		{"maxwell.jsonl", cdc.MaxwellJSON, []string{"skipped", "+I", "+I", "-U +U", "ddl", "-D", "+I", "+I", "malformed"}, []string{"id"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			recs := golden(t, tc.file)
			if len(recs) != len(tc.want) {
				t.Fatalf("%d messages, %d expectations", len(recs), len(tc.want))
			}
			d := cdc.NewDecoder(tc.format)
			for i, r := range recs {
				m, err := d.Decode(r[0], r[1])
				var got string
				switch {
				case err != nil:
					got = "malformed"
				case m.Tombstone:
					got = "tombstone"
				case m.DDL != "":
					got = "ddl"
				case m.Skipped != "":
					got = "skipped"
				default:
					var ks []string
					for _, row := range m.Rows {
						ks = append(ks, datafile.KindString(row.Kind))
					}
					got = strings.Join(ks, " ")
					if m.Database != "shop" || m.Table == "" {
						t.Errorf("message %d: source %s.%s", i+1, m.Database, m.Table)
					}
					if strings.Contains(got, "I") && len(m.PrimaryKeys) > 0 && strings.Join(m.PrimaryKeys, ",") != strings.Join(tc.pk, ",") {
						t.Errorf("message %d: primary key %v", i+1, m.PrimaryKeys)
					}
				}
				if got != tc.want[i] {
					t.Errorf("message %d: %s (err %v), want %s", i+1, got, err, tc.want[i])
				}
			}
		})
	}
}

func TestPaimonTypes(t *testing.T) {
	tests := []struct {
		src  cdc.SourceType
		want string
	}{
		{cdc.SourceType{Connect: "int32"}, "INT"},
		{cdc.SourceType{Connect: "int64", Name: "io.debezium.time.MicroTimestamp"}, "TIMESTAMP(6)"},
		{cdc.SourceType{Connect: "int32", Name: "io.debezium.time.Date"}, "DATE"},
		{cdc.SourceType{Connect: "string", Name: "io.debezium.time.ZonedTimestamp"}, "TIMESTAMP(6) WITH LOCAL TIME ZONE"},
		{cdc.SourceType{Connect: "bytes", Name: "org.apache.kafka.connect.data.Decimal", Precision: 12, Scale: 3}, "DECIMAL(12, 3)"},
		{cdc.SourceType{Connect: "bytes"}, "BYTES"},
		{cdc.SourceType{MySQL: "int(11)"}, "INT"},
		{cdc.SourceType{MySQL: "int(10) unsigned"}, "BIGINT"},
		{cdc.SourceType{MySQL: "tinyint(1)"}, "BOOLEAN"},
		{cdc.SourceType{MySQL: "decimal(10,2)"}, "DECIMAL(10, 2)"},
		{cdc.SourceType{MySQL: "datetime(3)"}, "TIMESTAMP(3)"},
		{cdc.SourceType{MySQL: "varchar(64)"}, "STRING"},
		{cdc.SourceType{MySQL: "bigint(20) unsigned"}, "DECIMAL(20, 0)"},
		{cdc.SourceType{MySQL: "longblob"}, "BYTES"},
	}
	for _, tc := range tests {
		got := cdc.PaimonType(tc.src, cdc.Value{})
		if got.String() != tc.want {
			t.Errorf("%+v: %s, want %s", tc.src, got, tc.want)
		}
	}
	if got := cdc.PaimonType(cdc.SourceType{}, cdc.Value{}); !got.Equal(types.StringType()) {
		t.Errorf("no type: %s", got)
	}
}

func TestParseDecimalFast(t *testing.T) {
	tests := []struct {
		in   string
		p, s int
		want int64
		ok   bool
	}{
		{"12.5", 10, 2, 1250, true},
		{"-0.01", 10, 2, -1, true},
		{"007", 5, 0, 7, true},
		{"+3", 5, 1, 30, true},
		{"1.234", 10, 2, 0, false}, // needs rounding
		{"1e3", 10, 2, 0, false},
		{"", 10, 2, 0, false},
		{"12345678901234567890", 38, 0, 0, false},
		{"123456", 5, 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := cdc.ParseDecimalFast(tc.in, tc.p, tc.s)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%q (%d,%d): %d %v, want %d %v", tc.in, tc.p, tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

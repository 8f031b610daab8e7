package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKafkaConfig(t *testing.T) {
	tests := []struct {
		name, yaml, env string
		want            string // Bootstrap after validation
		wantCDC         int
		err             string
	}{
		{name: "default embedded", want: "embedded"},
		{name: "off in the file", yaml: "kafka: {bootstrap: \"off\"}", want: ""},
		{name: "env overrides the file", yaml: "kafka: {bootstrap: \"off\"}", env: "b1:9092,b2:9092", want: "b1:9092,b2:9092"},
		{name: "cdc pipelines", yaml: `
kafka:
  bootstrap: broker1:9092,broker2:9092
  sasl_mechanism: SCRAM-SHA-512
  sasl_user: tarn
  tls: true
  cdc:
    - topic: oracle.bank.accounts
      format: debezium-json
      table: bank.accounts
      create: true
      options: {bucket: "8", tarn.log.system: kafka}
      dead_letter_topic: oracle.bank.accounts.dlq
    - topic: mysql.loans
      format: canal-json
      table: bank.loans
      commit_interval: 2s
      add_columns: false
`, want: "broker1:9092,broker2:9092", wantCDC: 2},
		{name: "cdc without a table", yaml: "kafka: {cdc: [{topic: t, format: debezium-json}]}", err: "topic and table are required"},
		{name: "cdc table without a database", yaml: "kafka: {cdc: [{topic: t, format: canal-json, table: t}]}", err: "want db.table"},
		{name: "cdc bad format", yaml: "kafka: {cdc: [{topic: t, format: avro, table: d.t}]}", err: "want debezium-json, canal-json or maxwell-json"},
		{name: "cdc with the log off", yaml: "kafka: {bootstrap: \"off\", cdc: [{topic: t, format: canal-json, table: d.t}]}", err: "no cluster"},
		{name: "cdc with the log off and its own cluster", yaml: "kafka: {bootstrap: \"off\", cdc: [{topic: t, format: canal-json, table: d.t, bootstrap: \"k:9092\"}]}", want: "", wantCDC: 1},
		{name: "unknown key", yaml: "kafka: {bootstrp: x}", err: "bootstrp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.yaml != "" {
				p := filepath.Join(t.TempDir(), "tarn.yaml")
				if err := os.WriteFile(p, []byte(tt.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				env["TARN_CONFIG"] = p
			}
			if tt.env != "" {
				env["TARN_KAFKA_BOOTSTRAP"] = tt.env
			}
			c, err := Load(nil, func(k string) string { return env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Kafka.Bootstrap != tt.want || c.Kafka.Enabled() != (tt.want != "") || len(c.Kafka.CDC) != tt.wantCDC {
				t.Fatalf("kafka %+v, want bootstrap %q and %d CDC topics", c.Kafka, tt.want, tt.wantCDC)
			}
		})
	}
}

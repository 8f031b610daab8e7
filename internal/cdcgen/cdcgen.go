// Package cdcgen generates change events as the CDC tools write them (Debezium, Canal and
// Maxwell JSON) for a customers table: the workload of the CDC ingestion benchmarks.
package cdcgen

import (
	"fmt"
	"strconv"
)

// Columns is the schema of the generated table; "id" is its primary key.
const Columns = "id INT NOT NULL, name STRING, email STRING, city STRING, balance DECIMAL(12,2), visits INT, active BOOLEAN, created TIMESTAMP(6)"

// Formats are the message formats Message writes, by their cdc format names.
var Formats = []string{"debezium-json", "canal-json", "maxwell-json"}

// Message returns the key and value of change event i: an insert, or (one in four) an
// update carrying the row's previous values, of key i%keys. A message is 250 to 400 bytes.
func Message(format string, i, keys int) (key, value []byte, err error) {
	id := i % keys
	update := i%4 == 3
	switch format {
	case "debezium-json":
		key = fmt.Appendf(nil, `{"id":%d}`, id)
		after := debeziumRow(i, id)
		if update {
			value = fmt.Appendf(nil, `{"before":%s,"after":%s,"source":{"db":"shop","table":"customers","ts_ms":%d},"op":"u","ts_ms":%d}`,
				debeziumRow(i-1, id), after, i, i)
		} else {
			value = fmt.Appendf(nil, `{"before":null,"after":%s,"source":{"db":"shop","table":"customers","ts_ms":%d},"op":"c","ts_ms":%d}`, after, i, i)
		}
	case "canal-json":
		key = strconv.AppendInt(nil, int64(id), 10)
		typ, old := "INSERT", "null"
		if update {
			typ, old = "UPDATE", fmt.Sprintf(`[{"name":"customer-%d","visits":"%d"}]`, i-1, (i-1)%977)
		}
		value = fmt.Appendf(nil, `{"data":[{"id":"%d","name":"customer-%d","email":"user%d@example.com","city":"Lyon","balance":"%d.%02d","visits":"%d","active":"1","created":"2023-11-14 22:13:%02d.%06d"}],`+
			`"database":"shop","table":"customers","isDdl":false,"mysqlType":{"id":"int(11)","name":"varchar(64)","email":"varchar(128)","city":"varchar(32)","balance":"decimal(12,2)","visits":"int(11)","active":"tinyint(1)","created":"datetime(6)"},`+
			`"old":%s,"pkNames":["id"],"ts":%d,"type":"%s"}`,
			id, i, i, i%10000, i%100, i%977, i%60, i%1000000, old, i, typ)
	case "maxwell-json":
		key = fmt.Appendf(nil, `{"database":"shop","table":"customers","pk.id":%d}`, id)
		row := fmt.Sprintf(`{"id":%d,"name":"customer-%d","email":"user%d@example.com","city":"Lyon","balance":"%d.%02d","visits":%d,"active":true,"created":"2023-11-14 22:13:%02d.%06d"}`,
			id, i, i, i%10000, i%100, i%977, i%60, i%1000000)
		if update {
			value = fmt.Appendf(nil, `{"database":"shop","table":"customers","type":"update","ts":%d,"xid":%d,"data":%s,"old":{"name":"customer-%d","visits":%d},"primary_key_columns":["id"]}`,
				i, i, row, i-1, (i-1)%977)
		} else {
			value = fmt.Appendf(nil, `{"database":"shop","table":"customers","type":"insert","ts":%d,"xid":%d,"data":%s,"primary_key_columns":["id"]}`, i, i, row)
		}
	default:
		return nil, nil, fmt.Errorf("cdcgen: unknown format %q (debezium-json, canal-json, maxwell-json)", format)
	}
	return key, value, nil
}

func debeziumRow(i, id int) string {
	return fmt.Sprintf(`{"id":%d,"name":"customer-%d","email":"user%d@example.com","city":"Lyon","balance":"%d.%02d","visits":%d,"active":true,"created":%d}`,
		id, i, i, i%10000, i%100, i%977, 1700000000000000+int64(i))
}

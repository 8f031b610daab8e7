// Package cdc ingests change-data-capture topics into primary-key tables: it parses
// Debezium, Canal and Maxwell JSON messages into rows with row kinds, maps source columns
// to the table's schema, and writes them with exactly-once commits that record the
// consumed offsets in the table's snapshots (Ingest).
package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tarnlake/tarn/format/datafile"
)

// Format is a CDC message format.
type Format string

// The formats Decode understands.
const (
	DebeziumJSON Format = "debezium-json"
	CanalJSON    Format = "canal-json"
	MaxwellJSON  Format = "maxwell-json"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case DebeziumJSON, CanalJSON, MaxwellJSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: use debezium-json, canal-json or maxwell-json", s)
}

// ErrMalformed is wrapped by errors about messages that cannot be ingested.
var ErrMalformed = errors.New("malformed CDC message")

// Row is one change of a message: a kind and the row's values (a JSON object of column
// name to value). For the before-image of an update in Canal and Maxwell, Old holds the
// changed columns' old values, which take precedence over Values.
type Row struct {
	Kind   int8
	Values Value
	Old    Value
}

// Column lookup: Old first (when it has the column), then Values.
func (r *Row) get(name string) Value {
	if r.Old.Exists() {
		if v := r.Old.Get(name); v.Exists() {
			return v
		}
	}
	return r.Values.Get(name)
}

// SourceType is what a message says about a column's type.
type SourceType struct {
	// Debezium (Kafka Connect) schema: type ("int32", "bytes", ...), semantic name
	// ("io.debezium.time.MicroTimestamp", "org.apache.kafka.connect.data.Decimal"), and
	// decimal parameters.
	Connect   string
	Name      string
	Precision int
	Scale     int
	// MySQL column type from Canal's mysqlType ("int(11)", "decimal(10,2)", "datetime(3)").
	MySQL string
	// Optional is set when the column may be null (Debezium's optional).
	Optional bool
}

// Message is a decoded CDC message. It is valid until the decoder decodes the next one.
type Message struct {
	Database, Table string
	Rows            []Row
	// PrimaryKeys are the key columns the message names (Debezium's record key, Canal's
	// pkNames, Maxwell's primary_key_columns), if any.
	PrimaryKeys []string
	// Types are the source column types the message carries (nil if none), and Columns
	// their order.
	Types   map[string]SourceType
	Columns []string
	// DDL is set for schema-change messages (which carry no rows).
	DDL string
	// Tombstone is set for a Kafka tombstone (a null value after a Debezium delete).
	Tombstone bool
	// Skipped names a message kind that carries no row changes (a Debezium truncate,
	// Maxwell bootstrap markers, heartbeats).
	Skipped string
}

// Decoder decodes messages of one format. It is not safe for concurrent use.
type Decoder struct {
	format  Format
	p       parser
	kp      parser
	msg     Message
	schemas map[string]*connectSchema // Debezium value schemas by their JSON text
}

// NewDecoder returns a decoder for a format.
func NewDecoder(f Format) *Decoder {
	return &Decoder{format: f, schemas: map[string]*connectSchema{}}
}

// Decode decodes a Kafka record's key and value.
func (d *Decoder) Decode(key, value []byte) (*Message, error) {
	d.msg = Message{Rows: d.msg.Rows[:0], PrimaryKeys: d.msg.PrimaryKeys[:0]}
	m := &d.msg
	if len(value) == 0 {
		m.Tombstone = true
		return m, nil
	}
	v, err := d.p.Parse(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if v.Kind() != Object {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	switch d.format {
	case DebeziumJSON:
		err = d.debezium(key, v)
	case CanalJSON:
		err = d.canal(v)
	case MaxwellJSON:
		err = d.maxwell(v)
	default:
		err = fmt.Errorf("unknown format %q", d.format)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Debezium: {"schema": ..., "payload": {"before", "after", "source", "op", "ts_ms"}} or the
// payload alone.
func (d *Decoder) debezium(key []byte, v Value) error {
	m := &d.msg
	payload := v
	var schema Value
	if p := v.Get("payload"); p.Exists() && v.Get("schema").Exists() {
		payload, schema = p, v.Get("schema")
		if payload.IsNull() {
			m.Tombstone = true
			return nil
		}
	}
	if payload.Kind() != Object {
		return malformed("debezium payload is not an object")
	}
	if src := payload.Get("source"); src.Kind() == Object {
		m.Database = src.Get("db").Str()
		m.Table = src.Get("table").Str()
		if m.Database == "" {
			m.Database = src.Get("schema").Str()
		}
	}
	op := payload.Get("op")
	if op.Kind() != String {
		if payload.Get("ddl").Exists() || payload.Get("tableChanges").Exists() {
			m.DDL = payload.Get("ddl").Str()
			return nil
		}
		return malformed(`debezium message without "op"`)
	}
	before, after := payload.Get("before"), payload.Get("after")
	obj := func(x Value, what string) error {
		if x.Kind() != Object {
			return malformed("debezium op %q without %q", op.Str(), what)
		}
		return nil
	}
	switch op.Str() {
	case "c", "r":
		if err := obj(after, "after"); err != nil {
			return err
		}
		m.Rows = append(m.Rows, Row{Kind: datafile.KindInsert, Values: after})
	case "u":
		if err := obj(after, "after"); err != nil {
			return err
		}
		if before.Kind() == Object {
			m.Rows = append(m.Rows, Row{Kind: datafile.KindUpdateBefore, Values: before})
		}
		m.Rows = append(m.Rows, Row{Kind: datafile.KindUpdateAfter, Values: after})
	case "d":
		if err := obj(before, "before"); err != nil {
			return err
		}
		m.Rows = append(m.Rows, Row{Kind: datafile.KindDelete, Values: before})
	case "t":
		m.Skipped = "truncate"
		return nil
	case "m":
		m.Skipped = "message"
		return nil
	default:
		return malformed("debezium op %q", op.Str())
	}
	if schema.Kind() == Object {
		cs, err := d.connectSchema(schema)
		if err != nil {
			return err
		}
		m.Types, m.Columns = cs.types, cs.columns
	}
	if len(key) > 0 {
		k, err := d.kp.Parse(key)
		if err == nil && k.Kind() == Object {
			if p := k.Get("payload"); p.Kind() == Object && k.Get("schema").Exists() {
				k = p
			}
			k.Each(func(name string, _ Value) { m.PrimaryKeys = append(m.PrimaryKeys, name) })
		}
	}
	return nil
}

// connectSchema is the column types of a Debezium value schema.
type connectSchema struct {
	types   map[string]SourceType
	columns []string
}

func (d *Decoder) connectSchema(schema Value) (*connectSchema, error) {
	raw := schema.Raw()
	if cs := d.schemas[string(raw)]; cs != nil {
		return cs, nil
	}
	cs := &connectSchema{types: map[string]SourceType{}}
	var row Value
	schema.Get("fields").Each(func(_ string, f Value) {
		if name := f.Get("field").Str(); (name == "after" || name == "before") && !row.Exists() {
			row = f
		}
	})
	if !row.Exists() {
		return nil, malformed("debezium schema has no before/after struct")
	}
	row.Get("fields").Each(func(_ string, f Value) {
		name := f.Get("field").Str()
		t := SourceType{Connect: f.Get("type").Str(), Name: f.Get("name").Str(), Optional: f.Get("optional").Str() == "true"}
		if params := f.Get("parameters"); params.Kind() == Object {
			t.Scale, _ = strconv.Atoi(params.Get("scale").Str())
			t.Precision, _ = strconv.Atoi(params.Get("connect.decimal.precision").Str())
		}
		cs.types[name] = t
		cs.columns = append(cs.columns, name)
	})
	if len(d.schemas) > 64 {
		clear(d.schemas)
	}
	d.schemas[string(raw)] = cs
	return cs, nil
}

// Canal: {"data": [...], "old": [...], "type": "INSERT|UPDATE|DELETE", "database", "table",
// "pkNames", "isDdl", "sql", "mysqlType": {...}}.
func (d *Decoder) canal(v Value) error {
	m := &d.msg
	m.Database, m.Table = v.Get("database").Str(), v.Get("table").Str()
	if v.Get("isDdl").Str() == "true" {
		m.DDL = v.Get("sql").Str()
		if m.DDL == "" {
			m.DDL = "(ddl)"
		}
		return nil
	}
	typ := strings.ToUpper(v.Get("type").Str())
	data, old := v.Get("data"), v.Get("old")
	if typ == "" {
		return malformed(`canal message without "type"`)
	}
	switch typ {
	case "INSERT", "UPDATE", "DELETE":
	case "CREATE", "ALTER", "ERASE", "RENAME", "TRUNCATE", "CINDEX", "DINDEX", "QUERY":
		m.DDL = v.Get("sql").Str()
		return nil
	default:
		return malformed("canal type %q", typ)
	}
	if data.Kind() != Array {
		return malformed(`canal %s without a "data" array`, typ)
	}
	var olds []Value
	if old.Kind() == Array {
		old.Each(func(_ string, o Value) { olds = append(olds, o) })
	}
	i := 0
	var bad error
	data.Each(func(_ string, row Value) {
		if row.Kind() != Object {
			bad = malformed("canal data row is not an object")
			return
		}
		switch typ {
		case "INSERT":
			m.Rows = append(m.Rows, Row{Kind: datafile.KindInsert, Values: row})
		case "DELETE":
			m.Rows = append(m.Rows, Row{Kind: datafile.KindDelete, Values: row})
		case "UPDATE":
			before := Row{Kind: datafile.KindUpdateBefore, Values: row}
			if i < len(olds) && olds[i].Kind() == Object {
				before.Old = olds[i]
			}
			m.Rows = append(m.Rows, before, Row{Kind: datafile.KindUpdateAfter, Values: row})
		}
		i++
	})
	if bad != nil {
		return bad
	}
	v.Get("pkNames").Each(func(_ string, n Value) { m.PrimaryKeys = append(m.PrimaryKeys, n.Str()) })
	if mt := v.Get("mysqlType"); mt.Kind() == Object {
		m.Types = make(map[string]SourceType, mt.Len())
		mt.Each(func(name string, t Value) {
			m.Types[name] = SourceType{MySQL: t.Str(), Optional: true}
			m.Columns = append(m.Columns, name)
		})
	}
	return nil
}

// Maxwell: {"database", "table", "type": "insert|update|delete|...", "data": {...},
// "old": {...}, "primary_key_columns": [...]}.
func (d *Decoder) maxwell(v Value) error {
	m := &d.msg
	m.Database, m.Table = v.Get("database").Str(), v.Get("table").Str()
	typ := v.Get("type").Str()
	data := v.Get("data")
	switch typ {
	case "insert", "bootstrap-insert", "update", "delete":
	case "table-create", "table-alter", "table-drop", "database-create", "database-alter", "database-drop":
		m.DDL = v.Get("sql").Str()
		if m.DDL == "" {
			m.DDL = typ
		}
		return nil
	case "bootstrap-start", "bootstrap-complete", "heartbeat":
		m.Skipped = typ
		return nil
	case "":
		return malformed(`maxwell message without "type"`)
	default:
		return malformed("maxwell type %q", typ)
	}
	if data.Kind() != Object {
		return malformed(`maxwell %s without a "data" object`, typ)
	}
	switch typ {
	case "insert", "bootstrap-insert":
		m.Rows = append(m.Rows, Row{Kind: datafile.KindInsert, Values: data})
	case "delete":
		m.Rows = append(m.Rows, Row{Kind: datafile.KindDelete, Values: data})
	case "update":
		before := Row{Kind: datafile.KindUpdateBefore, Values: data}
		if old := v.Get("old"); old.Kind() == Object {
			before.Old = old
		}
		m.Rows = append(m.Rows, before, Row{Kind: datafile.KindUpdateAfter, Values: data})
	}
	v.Get("primary_key_columns").Each(func(_ string, n Value) { m.PrimaryKeys = append(m.PrimaryKeys, n.Str()) })
	return nil
}

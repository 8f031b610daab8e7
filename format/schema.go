package format

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tarnlake/tarn/format/types"
)

// Schema file versions (TableSchema.PAIMON_07_VERSION, PAIMON_08_VERSION, CURRENT_VERSION).
const (
	SchemaVersion07      = 1
	SchemaVersion08      = 2
	CurrentSchemaVersion = 3
)

// TableSchema is the content of a schema-N file.
type TableSchema struct {
	Version        int
	ID             int64
	Fields         []types.DataField
	HighestFieldID int
	PartitionKeys  []string
	PrimaryKeys    []string
	Options        Options
	Comment        *string
	TimeMillis     int64
}

// ParseSchema decodes a schema-N file. It accepts every version Paimon has written and
// applies the defaults older versions implied (bucket 1 before 0.8, orc before 0.9).
func ParseSchema(data []byte) (*TableSchema, error) {
	var raw struct {
		Version        *int              `json:"version"`
		ID             *int64            `json:"id"`
		Fields         []types.DataField `json:"fields"`
		HighestFieldID *int              `json:"highestFieldId"`
		PartitionKeys  []string          `json:"partitionKeys"`
		PrimaryKeys    []string          `json:"primaryKeys"`
		Options        Options           `json:"options"`
		Comment        *string           `json:"comment"`
		TimeMillis     int64             `json:"timeMillis"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("schema json: %w", err)
	}
	if raw.ID == nil || raw.Fields == nil || raw.HighestFieldID == nil {
		return nil, fmt.Errorf("schema json: missing id, fields or highestFieldId")
	}
	s := &TableSchema{
		Version:        SchemaVersion07,
		ID:             *raw.ID,
		Fields:         raw.Fields,
		HighestFieldID: *raw.HighestFieldID,
		PartitionKeys:  nonNil(raw.PartitionKeys),
		PrimaryKeys:    nonNil(raw.PrimaryKeys),
		Options:        raw.Options,
		Comment:        raw.Comment,
		TimeMillis:     raw.TimeMillis,
	}
	if raw.Version != nil {
		s.Version = *raw.Version
	}
	if s.Version <= SchemaVersion07 {
		if _, ok := s.Options.Get("bucket"); !ok {
			s.Options.Set("bucket", "1")
		}
	}
	if s.Version <= SchemaVersion08 {
		if _, ok := s.Options.Get("file.format"); !ok {
			s.Options.Set("file.format", "orc")
		}
	}
	for i, f := range s.Fields {
		if f.ID < 0 {
			return nil, fmt.Errorf("schema json: field %q has no id", f.Name)
		}
		for _, g := range s.Fields[:i] {
			if g.Name == f.Name {
				return nil, fmt.Errorf("schema json: duplicate field name %q", f.Name)
			}
		}
	}
	for _, k := range append(append([]string(nil), s.PartitionKeys...), s.PrimaryKeys...) {
		if types.FieldByName(s.Fields, k) < 0 {
			return nil, fmt.Errorf("schema json: key %q is not a field", k)
		}
	}
	return s, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Marshal encodes the schema exactly as Paimon's SchemaSerializer and Jackson's pretty
// printer do.
func (s *TableSchema) Marshal() []byte {
	var b bytes.Buffer
	w := &types.JSONWriter{B: &b, Pretty: true}
	w.BeginObject()
	w.Key("version")
	w.Int(int64(s.Version))
	w.Key("id")
	w.Int(s.ID)
	w.Key("fields")
	types.WriteFieldsJSON(w, s.Fields)
	w.Key("highestFieldId")
	w.Int(int64(s.HighestFieldID))
	w.Key("partitionKeys")
	writeStrings(w, s.PartitionKeys)
	w.Key("primaryKeys")
	writeStrings(w, s.PrimaryKeys)
	w.Key("options")
	w.BeginObject()
	for _, k := range s.Options.keys {
		w.Key(k)
		w.String(s.Options.vals[k])
	}
	w.EndObject()
	if s.Comment != nil {
		w.Key("comment")
		w.String(*s.Comment)
	}
	w.Key("timeMillis")
	w.Int(s.TimeMillis)
	w.EndObject()
	return b.Bytes()
}

func writeStrings(w *types.JSONWriter, ss []string) {
	w.BeginArray()
	for _, s := range ss {
		w.Elem()
		w.String(s)
	}
	w.EndArray()
}

// RowType returns the schema's fields as a ROW type.
func (s *TableSchema) RowType() types.DataType {
	return types.DataType{Root: types.Row, Fields: s.Fields}
}

// Field returns the named field.
func (s *TableSchema) Field(name string) (types.DataField, bool) {
	i := types.FieldByName(s.Fields, name)
	if i < 0 {
		return types.DataField{}, false
	}
	return s.Fields[i], true
}

// FieldIndexes returns the positions of the named fields.
func (s *TableSchema) FieldIndexes(names []string) []int {
	out := make([]int, len(names))
	for i, n := range names {
		out[i] = types.FieldByName(s.Fields, n)
	}
	return out
}

// PartitionType is the ROW type of the partition keys.
func (s *TableSchema) PartitionType() []types.DataField { return s.project(s.PartitionKeys) }

// TrimmedPrimaryKeys are the primary keys without the partition keys (Paimon stores only
// these in _KEY_ columns), unless that leaves none.
func (s *TableSchema) TrimmedPrimaryKeys() []string {
	if len(s.PrimaryKeys) == 0 {
		return nil
	}
	var out []string
	for _, k := range s.PrimaryKeys {
		if !contains(s.PartitionKeys, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return append([]string(nil), s.PrimaryKeys...)
	}
	return out
}

// KeyFields are the fields of the trimmed primary key.
func (s *TableSchema) KeyFields() []types.DataField { return s.project(s.TrimmedPrimaryKeys()) }

func (s *TableSchema) project(names []string) []types.DataField {
	out := make([]types.DataField, 0, len(names))
	for _, n := range names {
		if f, ok := s.Field(n); ok {
			out = append(out, f)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

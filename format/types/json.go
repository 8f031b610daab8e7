package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MarshalJSON writes t in Paimon's JSON form: atomic types as their SQL string, nested
// types as objects ({"type":"ARRAY","element":...}, {"type":"MAP","key":...,"value":...},
// {"type":"ROW","fields":[...]}, {"type":"VECTOR","element":...,"length":n}).
func (t DataType) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	t.writeJSON(&JSONWriter{B: &b})
	return b.Bytes(), nil
}

// MarshalJSON writes f as Paimon's DataField JSON.
func (f DataField) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	f.writeJSON(&JSONWriter{B: &b})
	return b.Bytes(), nil
}

func (t DataType) writeJSON(w *JSONWriter) {
	if !t.IsNested() || t.Root == Variant {
		w.String(t.String())
		return
	}
	kind := t.Root.String()
	if !t.Nullable {
		kind += " NOT NULL"
	}
	w.BeginObject()
	w.Key("type")
	w.String(kind)
	switch t.Root {
	case Array, Multiset, Vector:
		w.Key("element")
		t.Elem.writeJSON(w)
		if t.Root == Vector {
			w.Key("length")
			w.Int(int64(t.Length))
		}
	case Map:
		w.Key("key")
		t.Key.writeJSON(w)
		w.Key("value")
		t.Value.writeJSON(w)
	case Row:
		w.Key("fields")
		WriteFieldsJSON(w, t.Fields)
	}
	w.EndObject()
}

// WriteFieldsJSON writes fields as a JSON array of Paimon DataField objects.
func WriteFieldsJSON(w *JSONWriter, fields []DataField) {
	w.BeginArray()
	for _, f := range fields {
		w.Elem()
		f.writeJSON(w)
	}
	w.EndArray()
}

func (f DataField) writeJSON(w *JSONWriter) {
	w.BeginObject()
	w.Key("id")
	w.Int(int64(f.ID))
	w.Key("name")
	w.String(f.Name)
	w.Key("type")
	f.Type.writeJSON(w)
	if f.Description != nil {
		w.Key("description")
		w.String(*f.Description)
	}
	if f.DefaultValue != nil {
		w.Key("defaultValue")
		w.String(*f.DefaultValue)
	}
	w.EndObject()
}

// UnmarshalJSON reads Paimon's JSON form of a type.
func (t *DataType) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		parsed, err := Parse(s)
		if err != nil {
			return err
		}
		if parsed.IsNested() && parsed.Root != Variant {
			// Paimon writes nested types as objects; accept the string form too.
			*t = parsed
			return nil
		}
		*t = parsed
		return nil
	}
	var obj struct {
		Type    string          `json:"type"`
		Element *DataType       `json:"element"`
		Key     *DataType       `json:"key"`
		Value   *DataType       `json:"value"`
		Fields  []DataField     `json:"fields"`
		Length  *int            `json:"length"`
		Extra   json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("data type %s: %w", truncate(data), err)
	}
	nullable := !strings.Contains(obj.Type, "NOT NULL")
	kind := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(obj.Type), "NOT NULL"))
	switch {
	case strings.HasPrefix(kind, "ARRAY"), strings.HasPrefix(kind, "MULTISET"):
		if obj.Element == nil {
			return fmt.Errorf("data type %s: %s without element", truncate(data), kind)
		}
		root := Array
		if strings.HasPrefix(kind, "MULTISET") {
			root = Multiset
		}
		*t = DataType{Root: root, Nullable: nullable, Elem: obj.Element}
	case strings.HasPrefix(kind, "VECTOR"):
		if obj.Element == nil || obj.Length == nil {
			return fmt.Errorf("data type %s: VECTOR needs element and length", truncate(data))
		}
		*t = DataType{Root: Vector, Nullable: nullable, Elem: obj.Element, Length: *obj.Length}
	case strings.HasPrefix(kind, "MAP"):
		if obj.Key == nil || obj.Value == nil {
			return fmt.Errorf("data type %s: MAP needs key and value", truncate(data))
		}
		*t = DataType{Root: Map, Nullable: nullable, Key: obj.Key, Value: obj.Value}
	case strings.HasPrefix(kind, "ROW"):
		*t = DataType{Root: Row, Nullable: nullable, Fields: obj.Fields}
	default:
		return fmt.Errorf("data type %s: unknown type %q", truncate(data), obj.Type)
	}
	return nil
}

// UnmarshalJSON reads Paimon's DataField JSON.
func (f *DataField) UnmarshalJSON(data []byte) error {
	var obj struct {
		ID           *int     `json:"id"`
		Name         *string  `json:"name"`
		Type         DataType `json:"type"`
		Description  *string  `json:"description"`
		DefaultValue *string  `json:"defaultValue"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("field %s: %w", truncate(data), err)
	}
	if obj.Name == nil {
		return fmt.Errorf("field %s: no name", truncate(data))
	}
	if obj.Type.Root == Invalid {
		return fmt.Errorf("field %q: no type", *obj.Name)
	}
	id := -1
	if obj.ID != nil {
		id = *obj.ID
	}
	*f = DataField{ID: id, Name: *obj.Name, Type: obj.Type, Description: obj.Description, DefaultValue: obj.DefaultValue}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

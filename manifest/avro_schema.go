package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// avroKind is the type of an Avro schema node.
type avroKind uint8

const (
	kindNull avroKind = iota
	kindBoolean
	kindInt
	kindLong
	kindFloat
	kindDouble
	kindBytes
	kindString
	kindRecord
	kindEnum
	kindArray
	kindMap
	kindUnion
	kindFixed
)

var primitiveKinds = map[string]avroKind{
	"null":    kindNull,
	"boolean": kindBoolean,
	"int":     kindInt,
	"long":    kindLong,
	"float":   kindFloat,
	"double":  kindDouble,
	"bytes":   kindBytes,
	"string":  kindString,
}

func (k avroKind) String() string {
	switch k {
	case kindRecord:
		return "record"
	case kindEnum:
		return "enum"
	case kindArray:
		return "array"
	case kindMap:
		return "map"
	case kindUnion:
		return "union"
	case kindFixed:
		return "fixed"
	}
	for name, pk := range primitiveKinds {
		if pk == k {
			return name
		}
	}
	return "unknown"
}

// avroSchema is a parsed Avro schema, or one Tarn builds to write.
type avroSchema struct {
	kind      avroKind
	name      string // simple name of a record, enum or fixed
	namespace string // namespace of a record, enum or fixed
	logical   string // logicalType of a primitive, e.g. timestamp-millis
	fields    []avroField
	items     *avroSchema   // array
	values    *avroSchema   // map
	branches  []*avroSchema // union
	symbols   int           // enum
	size      int           // fixed
}

type avroField struct {
	name        string
	typ         *avroSchema
	defaultNull bool // the field declares "default": null
}

// nullable reports whether s is the union ["null", x] and returns x.
func (s *avroSchema) nullable() (*avroSchema, bool) {
	if s.kind == kindUnion && len(s.branches) == 2 && s.branches[0].kind == kindNull {
		return s.branches[1], true
	}
	return s, false
}

func (s *avroSchema) field(name string) (int, *avroField) {
	for i := range s.fields {
		if s.fields[i].name == name {
			return i, &s.fields[i]
		}
	}
	return -1, nil
}

// maxSchemaDepth bounds the nesting of a writer schema. Paimon's manifest
// schemas nest four levels deep.
const maxSchemaDepth = 64

// parseSchema parses an Avro schema in its JSON form.
func parseSchema(text []byte) (*avroSchema, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: avro.schema is not JSON: %v", ErrCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: avro.schema has trailing data", ErrCorrupt)
	}
	p := schemaParser{named: map[string]*avroSchema{}, defining: map[string]bool{}}
	s, err := p.parse(v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("%w: avro.schema: %v", ErrCorrupt, err)
	}
	return s, nil
}

type schemaParser struct {
	named    map[string]*avroSchema // full name → defined type
	defining map[string]bool        // types whose definition is in progress
}

func fullName(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}

func splitName(full string) (name, namespace string) {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[i+1:], full[:i]
	}
	return full, ""
}

func (p *schemaParser) parse(v any, namespace string, depth int) (*avroSchema, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxSchemaDepth)
	}
	switch t := v.(type) {
	case string:
		return p.reference(t, namespace)
	case []any:
		u := &avroSchema{kind: kindUnion}
		for _, b := range t {
			bs, err := p.parse(b, namespace, depth+1)
			if err != nil {
				return nil, err
			}
			if bs.kind == kindUnion {
				return nil, fmt.Errorf("union directly inside a union")
			}
			u.branches = append(u.branches, bs)
		}
		if len(u.branches) == 0 {
			return nil, fmt.Errorf("empty union")
		}
		return u, nil
	case map[string]any:
		return p.parseObject(t, namespace, depth)
	default:
		return nil, fmt.Errorf("unexpected JSON value %T", v)
	}
}

func (p *schemaParser) reference(name, namespace string) (*avroSchema, error) {
	if k, ok := primitiveKinds[name]; ok {
		return &avroSchema{kind: k}, nil
	}
	for _, full := range []string{fullName(name, namespace), name} {
		if p.defining[full] {
			return nil, fmt.Errorf("recursive type %q is not supported", full)
		}
		if s, ok := p.named[full]; ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown type %q", name)
}

func stringProp(obj map[string]any, key string) (string, bool, error) {
	v, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	s, isString := v.(string)
	if !isString {
		return "", true, fmt.Errorf("%q must be a string", key)
	}
	return s, true, nil
}

func (p *schemaParser) parseObject(obj map[string]any, namespace string, depth int) (*avroSchema, error) {
	typ, ok := obj["type"]
	if !ok {
		return nil, fmt.Errorf("object without \"type\"")
	}
	typeName, isString := typ.(string)
	if !isString {
		// {"type": {...}} or {"type": [...]}: the type is nested.
		return p.parse(typ, namespace, depth+1)
	}
	switch typeName {
	case "record", "error", "enum", "fixed":
		return p.parseNamed(obj, typeName, namespace, depth)
	case "array":
		items, ok := obj["items"]
		if !ok {
			return nil, fmt.Errorf("array without \"items\"")
		}
		is, err := p.parse(items, namespace, depth+1)
		if err != nil {
			return nil, err
		}
		return &avroSchema{kind: kindArray, items: is}, nil
	case "map":
		values, ok := obj["values"]
		if !ok {
			return nil, fmt.Errorf("map without \"values\"")
		}
		vs, err := p.parse(values, namespace, depth+1)
		if err != nil {
			return nil, err
		}
		return &avroSchema{kind: kindMap, values: vs}, nil
	}
	s, err := p.reference(typeName, namespace)
	if err != nil {
		return nil, err
	}
	if lt, ok, err := stringProp(obj, "logicalType"); err != nil {
		return nil, err
	} else if ok && s.kind <= kindString {
		c := *s
		c.logical = lt
		return &c, nil
	}
	return s, nil
}

func (p *schemaParser) parseNamed(obj map[string]any, typeName, namespace string, depth int) (*avroSchema, error) {
	name, ok, err := stringProp(obj, "name")
	if err != nil {
		return nil, err
	}
	if !ok || name == "" {
		return nil, fmt.Errorf("%s without a name", typeName)
	}
	ns := namespace
	if explicit, ok, err := stringProp(obj, "namespace"); err != nil {
		return nil, err
	} else if ok {
		ns = explicit
	}
	full := fullName(name, ns)
	if p.named[full] != nil || p.defining[full] {
		return nil, fmt.Errorf("type %q defined twice", full)
	}
	simple, ns := splitName(full)
	s := &avroSchema{name: simple, namespace: ns}
	switch typeName {
	case "enum":
		syms, ok := obj["symbols"].([]any)
		if !ok || len(syms) == 0 {
			return nil, fmt.Errorf("enum %q without symbols", full)
		}
		s.kind, s.symbols = kindEnum, len(syms)
	case "fixed":
		n, ok := obj["size"].(json.Number)
		if !ok {
			return nil, fmt.Errorf("fixed %q without a size", full)
		}
		size, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || size < 0 || size > math.MaxInt32 {
			return nil, fmt.Errorf("fixed %q has invalid size %s", full, n)
		}
		s.kind, s.size = kindFixed, int(size)
	default:
		fields, ok := obj["fields"].([]any)
		if !ok {
			return nil, fmt.Errorf("record %q without fields", full)
		}
		s.kind = kindRecord
		p.defining[full] = true
		for _, f := range fields {
			fo, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("record %q has a field that is not an object", full)
			}
			fname, ok, err := stringProp(fo, "name")
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("record %q has a field without a name", full)
			}
			if _, dup := s.field(fname); dup != nil {
				return nil, fmt.Errorf("record %q has field %q twice", full, fname)
			}
			ftyp, ok := fo["type"]
			if !ok {
				return nil, fmt.Errorf("field %q of %q has no type", fname, full)
			}
			fs, err := p.parse(ftyp, ns, depth+1)
			if err != nil {
				return nil, err
			}
			def, hasDefault := fo["default"]
			s.fields = append(s.fields, avroField{name: fname, typ: fs, defaultNull: hasDefault && def == nil})
		}
		delete(p.defining, full)
	}
	p.named[full] = s
	return s, nil
}

// appendJSON appends s in the compact form Avro's Java library prints with
// Schema.toString(): that is the exact avro.schema string Paimon writes.
// enclosing is the namespace of the enclosing named type.
func (s *avroSchema) appendJSON(b []byte, enclosing string) []byte {
	switch s.kind {
	case kindUnion:
		b = append(b, '[')
		for i, br := range s.branches {
			if i > 0 {
				b = append(b, ',')
			}
			b = br.appendJSON(b, enclosing)
		}
		return append(b, ']')
	case kindRecord:
		b = append(b, `{"type":"record","name":`...)
		b = strconv.AppendQuote(b, s.name)
		ns := s.namespace
		if ns == "" {
			ns = enclosing // a nested record without a namespace inherits it
		} else if ns != enclosing {
			b = append(b, `,"namespace":`...)
			b = strconv.AppendQuote(b, ns)
		}
		b = append(b, `,"fields":[`...)
		for i, f := range s.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = strconv.AppendQuote(b, f.name)
			b = append(b, `,"type":`...)
			b = f.typ.appendJSON(b, ns)
			if f.defaultNull {
				b = append(b, `,"default":null`...)
			}
			b = append(b, '}')
		}
		return append(b, "]}"...)
	case kindArray:
		b = append(b, `{"type":"array","items":`...)
		b = s.items.appendJSON(b, enclosing)
		return append(b, '}')
	case kindMap:
		b = append(b, `{"type":"map","values":`...)
		b = s.values.appendJSON(b, enclosing)
		return append(b, '}')
	}
	name := strconv.Quote(s.kind.String())
	if s.logical == "" {
		return append(b, name...)
	}
	b = append(b, `{"type":`...)
	b = append(b, name...)
	b = append(b, `,"logicalType":`...)
	b = strconv.AppendQuote(b, s.logical)
	return append(b, '}')
}

// String returns the schema as Avro's Java library prints it.
func (s *avroSchema) String() string { return string(s.appendJSON(nil, "")) }

package types

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Parse parses a type in SQL form: Paimon's atomic forms ("INT NOT NULL", "VARCHAR(10)",
// "TIMESTAMP(3) WITH LOCAL TIME ZONE", "DOUBLE PRECISION", "INT ARRAY") and, beyond
// Paimon's atomic parser, the nested forms ARRAY<T>, MULTISET<T>, MAP<K, V>, VECTOR<T, n>
// and ROW<name T [, ...]>. Fields of nested ROW types get ids -1; AssignFieldIDs numbers them.
func Parse(s string) (DataType, error) {
	p := &parser{src: s}
	if err := p.tokenize(); err != nil {
		return DataType{}, err
	}
	t, err := p.parseType()
	if err != nil {
		return DataType{}, err
	}
	if p.pos < len(p.toks) {
		return DataType{}, p.errorf("unexpected %q", p.toks[p.pos].text)
	}
	return t, nil
}

// MustParse is Parse for literals known to be valid; it panics on error.
func MustParse(s string) DataType {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// ParseColumns parses a column list such as "id BIGINT NOT NULL, name STRING COMMENT 'x'".
// Field ids are assigned 0..n-1 in order; nested ROW fields continue the numbering.
func ParseColumns(s string) ([]DataField, error) {
	p := &parser{src: s}
	if err := p.tokenize(); err != nil {
		return nil, err
	}
	var fields []DataField
	for p.pos < len(p.toks) {
		f, err := p.parseField()
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		if p.pos < len(p.toks) {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no columns in %q", s)
	}
	next := 0
	AssignFieldIDs(fields, &next)
	return fields, nil
}

// AssignFieldIDs numbers top-level fields from *next as Paimon's Schema.Builder does: each
// column takes the next id, then the ROW fields nested in its type are numbered
// (ReassignFieldId: a nested field's own type is numbered before the field itself).
// *next ends one past the highest id used.
func AssignFieldIDs(fields []DataField, next *int) {
	for i := range fields {
		fields[i].ID = *next
		*next++
		reassign(&fields[i].Type, next)
	}
}

func reassign(t *DataType, next *int) {
	switch t.Root {
	case Row:
		for i := range t.Fields {
			reassign(&t.Fields[i].Type, next)
			t.Fields[i].ID = *next
			*next++
		}
	case Array, Multiset, Vector:
		reassign(t.Elem, next)
	case Map:
		reassign(t.Key, next)
		reassign(t.Value, next)
	}
}

// HighestFieldID is the largest field id in fields, nested ones included (-1 if none).
func HighestFieldID(fields []DataField) int {
	h := -1
	var walk func(t DataType)
	walk = func(t DataType) {
		switch t.Root {
		case Row:
			for _, f := range t.Fields {
				h = max(h, f.ID)
				walk(f.Type)
			}
		case Array, Multiset, Vector:
			walk(*t.Elem)
		case Map:
			walk(*t.Key)
			walk(*t.Value)
		}
	}
	walk(DataType{Root: Row, Fields: fields})
	return h
}

type token struct {
	kind byte // 'w' word, 'n' number, 's' string literal, 'q' quoted identifier, 'p' punctuation
	text string
	pos  int
}

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) errorf(format string, args ...any) error {
	at := len(p.src)
	if p.pos < len(p.toks) {
		at = p.toks[p.pos].pos
	}
	return fmt.Errorf("cannot parse type %q at position %d: %s", p.src, at, fmt.Sprintf(format, args...))
}

func (p *parser) tokenize() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("<>(),.", c) >= 0:
			p.toks = append(p.toks, token{'p', string(c), i})
			i++
		case c == '\'' || c == '`':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return fmt.Errorf("cannot parse type %q: unterminated %c at position %d", s, c, i)
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			kind := byte('s')
			if c == '`' {
				kind = 'q'
			}
			p.toks = append(p.toks, token{kind, b.String(), i})
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			p.toks = append(p.toks, token{'n', s[i:j], i})
			i = j
		default:
			j := i
			for j < len(s) {
				r := rune(s[j])
				if r == '_' || r == '$' || r >= 0x80 || unicode.IsLetter(r) || unicode.IsDigit(r) {
					j++
					continue
				}
				break
			}
			if j == i {
				return fmt.Errorf("cannot parse type %q: unexpected %q at position %d", s, c, i)
			}
			p.toks = append(p.toks, token{'w', s[i:j], i})
			i = j
		}
	}
	return nil
}

func (p *parser) peekWord(words ...string) bool {
	for k, w := range words {
		if p.pos+k >= len(p.toks) {
			return false
		}
		t := p.toks[p.pos+k]
		if t.kind != 'w' || !strings.EqualFold(t.text, w) {
			return false
		}
	}
	return true
}

func (p *parser) peekPunct(s string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'p' && p.toks[p.pos].text == s
}

func (p *parser) expect(s string) error {
	if !p.peekPunct(s) {
		if p.pos >= len(p.toks) {
			return p.errorf("expected %q but the text ended", s)
		}
		return p.errorf("expected %q but found %q", s, p.toks[p.pos].text)
	}
	p.pos++
	return nil
}

func (p *parser) expectWords(words ...string) error {
	if !p.peekWord(words...) {
		return p.errorf("expected %q", strings.Join(words, " "))
	}
	p.pos += len(words)
	return nil
}

func (p *parser) int() (int, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'n' {
		return 0, p.errorf("expected a number")
	}
	n, err := strconv.Atoi(p.toks[p.pos].text)
	if err != nil {
		return 0, p.errorf("bad number %q", p.toks[p.pos].text)
	}
	p.pos++
	return n, nil
}

// optParams parses an optional "(a[, b])".
func (p *parser) optParams(max int) ([]int, error) {
	if !p.peekPunct("(") {
		return nil, nil
	}
	p.pos++
	var out []int
	for {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.peekPunct(",") && len(out) < max {
			p.pos++
			continue
		}
		break
	}
	return out, p.expect(")")
}

func (p *parser) parseType() (DataType, error) {
	t, err := p.parseBase()
	if err != nil {
		return t, err
	}
	t.Nullable, err = p.nullability()
	if err != nil {
		return t, err
	}
	// Suffix notation: "INT ARRAY", "STRING MULTISET".
	for p.peekWord("ARRAY") || p.peekWord("MULTISET") {
		root := Array
		if p.peekWord("MULTISET") {
			root = Multiset
		}
		p.pos++
		elem := t
		t = DataType{Root: root, Elem: &elem}
		if t.Nullable, err = p.nullability(); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (p *parser) nullability() (bool, error) {
	if p.peekWord("NOT", "NULL") {
		p.pos += 2
		return false, nil
	}
	if p.peekWord("NULL") {
		p.pos++
	}
	return true, nil
}

func (p *parser) parseBase() (DataType, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'w' {
		return DataType{}, p.errorf("expected a type name")
	}
	word := strings.ToUpper(p.toks[p.pos].text)
	p.pos++
	param := func(max, def int) (int, error) {
		ps, err := p.optParams(max)
		if err != nil || len(ps) == 0 {
			return def, err
		}
		return ps[0], nil
	}
	switch word {
	case "BOOLEAN":
		return DataType{Root: Boolean}, nil
	case "TINYINT":
		return DataType{Root: TinyInt}, nil
	case "SMALLINT":
		return DataType{Root: SmallInt}, nil
	case "INT", "INTEGER":
		return DataType{Root: Int}, nil
	case "BIGINT":
		return DataType{Root: BigInt}, nil
	case "FLOAT":
		return DataType{Root: Float}, nil
	case "DOUBLE":
		if p.peekWord("PRECISION") {
			p.pos++
		}
		return DataType{Root: Double}, nil
	case "DATE":
		return DataType{Root: Date}, nil
	case "VARIANT":
		return DataType{Root: Variant}, nil
	case "BLOB":
		return DataType{Root: Blob}, nil
	case "STRING":
		return DataType{Root: VarChar, Length: MaxLength}, nil
	case "BYTES":
		return DataType{Root: VarBinary, Length: MaxLength}, nil
	case "CHAR", "VARCHAR", "BINARY", "VARBINARY":
		n, err := param(1, DefaultCharLength)
		if err != nil {
			return DataType{}, err
		}
		if n < 1 {
			return DataType{}, p.errorf("%s length must be at least 1", word)
		}
		root := map[string]Root{"CHAR": Char, "VARCHAR": VarChar, "BINARY": Binary, "VARBINARY": VarBinary}[word]
		return DataType{Root: root, Length: n}, nil
	case "DECIMAL", "NUMERIC", "DEC":
		ps, err := p.optParams(2)
		if err != nil {
			return DataType{}, err
		}
		t := DataType{Root: Decimal, Precision: DefaultDecimalPrec}
		if len(ps) > 0 {
			t.Precision = ps[0]
		}
		if len(ps) > 1 {
			t.Scale = ps[1]
		}
		if t.Precision < 1 || t.Precision > MaxDecimalPrecision || t.Scale < 0 || t.Scale > t.Precision {
			return DataType{}, p.errorf("DECIMAL(%d, %d): precision must be 1..38 and scale 0..precision", t.Precision, t.Scale)
		}
		return t, nil
	case "TIME":
		n, err := param(1, DefaultTimePrec)
		if err != nil {
			return DataType{}, err
		}
		if n < 0 || n > MaxTimestampPrec {
			return DataType{}, p.errorf("TIME precision %d must be 0..9", n)
		}
		if p.peekWord("WITHOUT", "TIME", "ZONE") {
			p.pos += 3
		}
		return DataType{Root: Time, Precision: n}, nil
	case "TIMESTAMP", "TIMESTAMP_LTZ":
		n, err := param(1, DefaultTimestampPrec)
		if err != nil {
			return DataType{}, err
		}
		if n < 0 || n > MaxTimestampPrec {
			return DataType{}, p.errorf("%s precision %d must be 0..9", word, n)
		}
		root := Timestamp
		if word == "TIMESTAMP_LTZ" {
			root = LocalZonedTimestamp
		} else if p.peekWord("WITHOUT", "TIME", "ZONE") {
			p.pos += 3
		} else if p.peekWord("WITH", "LOCAL", "TIME", "ZONE") {
			p.pos += 4
			root = LocalZonedTimestamp
		}
		return DataType{Root: root, Precision: n}, nil
	case "ARRAY", "MULTISET":
		if err := p.expect("<"); err != nil {
			return DataType{}, err
		}
		elem, err := p.parseType()
		if err != nil {
			return DataType{}, err
		}
		root := Array
		if word == "MULTISET" {
			root = Multiset
		}
		return DataType{Root: root, Elem: &elem}, p.expect(">")
	case "VECTOR":
		if err := p.expect("<"); err != nil {
			return DataType{}, err
		}
		elem, err := p.parseType()
		if err != nil {
			return DataType{}, err
		}
		if err := p.expect(","); err != nil {
			return DataType{}, err
		}
		n, err := p.int()
		if err != nil {
			return DataType{}, err
		}
		return DataType{Root: Vector, Elem: &elem, Length: n}, p.expect(">")
	case "MAP":
		if err := p.expect("<"); err != nil {
			return DataType{}, err
		}
		k, err := p.parseType()
		if err != nil {
			return DataType{}, err
		}
		if err := p.expect(","); err != nil {
			return DataType{}, err
		}
		v, err := p.parseType()
		if err != nil {
			return DataType{}, err
		}
		return DataType{Root: Map, Key: &k, Value: &v}, p.expect(">")
	case "ROW":
		closer := ">"
		if p.peekPunct("(") {
			closer = ")"
			p.pos++
		} else if err := p.expect("<"); err != nil {
			return DataType{}, err
		}
		var fields []DataField
		for !p.peekPunct(closer) {
			f, err := p.parseField()
			if err != nil {
				return DataType{}, err
			}
			f.ID = -1
			fields = append(fields, f)
			if !p.peekPunct(closer) {
				if err := p.expect(","); err != nil {
					return DataType{}, err
				}
			}
		}
		p.pos++
		return DataType{Root: Row, Fields: fields}, nil
	}
	return DataType{}, fmt.Errorf("cannot parse type %q: unknown type %q", p.src, p.toks[p.pos-1].text)
}

// parseField parses "name TYPE [COMMENT 'text' | 'text']".
func (p *parser) parseField() (DataField, error) {
	if p.pos >= len(p.toks) || (p.toks[p.pos].kind != 'w' && p.toks[p.pos].kind != 'q') {
		return DataField{}, p.errorf("expected a column name")
	}
	name := p.toks[p.pos].text
	p.pos++
	t, err := p.parseType()
	if err != nil {
		return DataField{}, err
	}
	f := DataField{Name: name, Type: t}
	if p.peekWord("COMMENT") {
		p.pos++
	}
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 's' {
		d := p.toks[p.pos].text
		f.Description = &d
		p.pos++
	}
	return f, nil
}

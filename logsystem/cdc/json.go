package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A small JSON parser for CDC messages: it parses into a reusable arena of nodes whose
// strings and numbers are slices of the input (unescaped only when asked), so that a
// message costs no allocations once the arena has grown. It checks the grammar of RFC
// 8259; escapes are decoded leniently (a bad \u escape becomes U+FFFD).

// Kind is a JSON value's kind.
type Kind uint8

// JSON value kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// node is one value. Objects and arrays list their children as a linked range in the
// arena: first child, and each child's next sibling.
// Nodes hold no pointers (spans are offsets into the input), so the arena costs the
// garbage collector nothing.
type node struct {
	kind    Kind
	escaped bool // a string holding backslash escapes
	keyEsc  bool
	hasKey  bool
	// raw: string contents without quotes, number text, "true"/"false", or an object's
	// or array's whole span; key: the member name when the node is an object member.
	rawStart, rawEnd int32
	keyStart, keyEnd int32
	first            int32 // first child, -1 if none
	next             int32 // next sibling, -1 if last
	n                int32 // number of children
}

func (p *parser) raw(n *node) []byte { return p.buf[n.rawStart:n.rawEnd] }
func (p *parser) key(n *node) []byte { return p.buf[n.keyStart:n.keyEnd] }

// Value is a parsed JSON value; it is valid until the parser parses the next document.
type Value struct {
	p *parser
	i int32
}

// parser parses documents into its arena.
type parser struct {
	nodes []node
	buf   []byte
	pos   int
	depth int
}

var errJSON = errors.New("invalid JSON")

// Parse parses one JSON document.
func (p *parser) Parse(b []byte) (Value, error) {
	p.nodes = p.nodes[:0]
	p.buf, p.pos, p.depth = b, 0, 0
	i, err := p.value()
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.buf) {
		return Value{}, p.fail("data after the top-level value")
	}
	return Value{p: p, i: i}, nil
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w at byte %d: %s", errJSON, p.pos, what)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.buf) {
		switch p.buf[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) add(n node) int32 {
	p.nodes = append(p.nodes, n)
	return int32(len(p.nodes) - 1)
}

func (p *parser) value() (int32, error) {
	p.skipSpace()
	if p.pos >= len(p.buf) {
		return 0, p.fail("unexpected end")
	}
	switch c := p.buf[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, e, esc, err := p.str()
		if err != nil {
			return 0, err
		}
		return p.add(node{kind: String, rawStart: s, rawEnd: e, escaped: esc, first: -1, next: -1}), nil
	case c == 't':
		return p.literal("true", Bool)
	case c == 'f':
		return p.literal("false", Bool)
	case c == 'n':
		return p.literal("null", Null)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return 0, p.fail(fmt.Sprintf("unexpected character %q", p.buf[p.pos]))
}

func (p *parser) literal(lit string, k Kind) (int32, error) {
	if len(p.buf)-p.pos < len(lit) || string(p.buf[p.pos:p.pos+len(lit)]) != lit {
		return 0, p.fail("bad literal")
	}
	start := int32(p.pos)
	p.pos += len(lit)
	return p.add(node{kind: k, rawStart: start, rawEnd: int32(p.pos), first: -1, next: -1}), nil
}

func (p *parser) number() (int32, error) {
	start := p.pos
	if p.buf[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.buf) && p.buf[p.pos] >= '0' && p.buf[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.buf) && p.buf[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return 0, p.fail("bad number")
	}
	if p.pos < len(p.buf) && p.buf[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return 0, p.fail("bad number")
		}
	}
	if p.pos < len(p.buf) && (p.buf[p.pos] == 'e' || p.buf[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.buf) && (p.buf[p.pos] == '+' || p.buf[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return 0, p.fail("bad number")
		}
	}
	return p.add(node{kind: Number, rawStart: int32(start), rawEnd: int32(p.pos), first: -1, next: -1}), nil
}

// str reads a string at pos (on its quote) and returns the span of its raw contents.
func (p *parser) str() (int32, int32, bool, error) {
	p.pos++
	start := p.pos
	esc := false
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		switch {
		case c == '"':
			end := p.pos
			p.pos++
			return int32(start), int32(end), esc, nil
		case c == '\\':
			esc = true
			p.pos += 2
		case c < 0x20:
			return 0, 0, false, p.fail("control character in string")
		default:
			p.pos++
		}
	}
	return 0, 0, false, p.fail("unterminated string")
}

func (p *parser) object() (int32, error) {
	p.depth++
	if p.depth > 200 {
		return 0, p.fail("nested too deep")
	}
	defer func() { p.depth-- }()
	self := p.add(node{kind: Object, first: -1, next: -1, rawStart: int32(p.pos)})
	defer func() { p.nodes[self].rawEnd = int32(p.pos) }()
	p.pos++
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == '}' {
		p.pos++
		return self, nil
	}
	last := int32(-1)
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) || p.buf[p.pos] != '"' {
			return 0, p.fail("expected a member name")
		}
		ks, ke, keyEsc, err := p.str()
		if err != nil {
			return 0, err
		}
		p.skipSpace()
		if p.pos >= len(p.buf) || p.buf[p.pos] != ':' {
			return 0, p.fail("expected ':'")
		}
		p.pos++
		child, err := p.value()
		if err != nil {
			return 0, err
		}
		c := &p.nodes[child]
		c.keyStart, c.keyEnd, c.keyEsc, c.hasKey = ks, ke, keyEsc, true
		p.appendChild(self, &last, child)
		done, err := p.next('}', "object")
		if err != nil {
			return 0, err
		}
		if done {
			return self, nil
		}
	}
}

func (p *parser) array() (int32, error) {
	p.depth++
	if p.depth > 200 {
		return 0, p.fail("nested too deep")
	}
	defer func() { p.depth-- }()
	self := p.add(node{kind: Array, first: -1, next: -1, rawStart: int32(p.pos)})
	defer func() { p.nodes[self].rawEnd = int32(p.pos) }()
	p.pos++
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == ']' {
		p.pos++
		return self, nil
	}
	last := int32(-1)
	for {
		child, err := p.value()
		if err != nil {
			return 0, err
		}
		p.appendChild(self, &last, child)
		done, err := p.next(']', "array")
		if err != nil {
			return 0, err
		}
		if done {
			return self, nil
		}
	}
}

// appendChild links child after last (-1: none yet) among the children of self.
func (p *parser) appendChild(self int32, last *int32, child int32) {
	if *last < 0 {
		p.nodes[self].first = child
	} else {
		p.nodes[*last].next = child
	}
	*last = child
	p.nodes[self].n++
}

// next reads what follows a member or an element: ',' (more follow) or the closing byte
// of the object or array (done).
func (p *parser) next(closing byte, what string) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.buf) {
		return false, p.fail("unterminated " + what)
	}
	switch p.buf[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.fail("expected ',' or '" + string(closing) + "'")
}

// Exists reports whether v is a value (not the zero Value of a missing member).
func (v Value) Exists() bool { return v.p != nil }

// Kind is the value's kind (Null for a missing value).
func (v Value) Kind() Kind {
	if v.p == nil {
		return Null
	}
	return v.p.nodes[v.i].kind
}

// IsNull reports whether the value is null or missing.
func (v Value) IsNull() bool { return v.Kind() == Null }

// Get returns an object's member (the zero Value if absent or v is no object).
func (v Value) Get(name string) Value {
	if v.Kind() != Object {
		return Value{}
	}
	for c := v.p.nodes[v.i].first; c >= 0; c = v.p.nodes[c].next {
		n := &v.p.nodes[c]
		if !n.keyEsc && string(v.p.key(n)) == name {
			return Value{p: v.p, i: c}
		}
		if n.keyEsc && unescape(v.p.key(n)) == name {
			return Value{p: v.p, i: c}
		}
	}
	return Value{}
}

// Len is the number of an array's elements or an object's members.
func (v Value) Len() int {
	if v.p == nil {
		return 0
	}
	return int(v.p.nodes[v.i].n)
}

// Each calls fn for an object's members (name, value) or an array's elements (name "").
func (v Value) Each(fn func(name string, e Value)) {
	if k := v.Kind(); k != Object && k != Array {
		return
	}
	for c := v.p.nodes[v.i].first; c >= 0; c = v.p.nodes[c].next {
		n := &v.p.nodes[c]
		name := ""
		if n.hasKey {
			if n.keyEsc {
				name = unescape(v.p.key(n))
			} else {
				name = unsafeString(v.p.key(n))
			}
		}
		fn(name, Value{p: v.p, i: c})
	}
}

// Str returns a string's contents, unescaped (valid until the next Parse unless it had
// escapes); for other kinds their JSON text.
func (v Value) Str() string {
	if v.p == nil {
		return ""
	}
	n := &v.p.nodes[v.i]
	if n.kind == String && n.escaped {
		return unescape(v.p.raw(n))
	}
	return unsafeString(v.p.raw(n))
}

// Raw is the raw text of a scalar (a string without quotes, escapes kept), or the input
// span of an object or array.
func (v Value) Raw() []byte {
	if v.p == nil {
		return nil
	}
	return v.p.raw(&v.p.nodes[v.i])
}

// Text returns the JSON text of any value, re-serialized for objects and arrays.
func (v Value) Text() string {
	switch v.Kind() {
	case Object, Array:
		return string(v.appendJSON(nil))
	case String:
		return strconv.Quote(v.Str())
	}
	if v.p == nil {
		return "null"
	}
	return string(v.Raw())
}

func (v Value) appendJSON(b []byte) []byte {
	switch v.Kind() {
	case Object:
		b = append(b, '{')
		first := true
		v.Each(func(name string, e Value) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendQuote(b, name)
			b = append(b, ':')
			b = e.appendJSON(b)
		})
		return append(b, '}')
	case Array:
		b = append(b, '[')
		first := true
		v.Each(func(_ string, e Value) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = e.appendJSON(b)
		})
		return append(b, ']')
	case String:
		return strconv.AppendQuote(b, v.Str())
	case Null:
		return append(b, "null"...)
	}
	return append(b, v.Raw()...)
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unescape decodes a JSON string's escapes (the input was validated by the parser except
// for the escape letters themselves; bad escapes decode as U+FFFD).
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(b[i+1:])
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(b)+0 && i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				r2 := hex4(b[i+3:])
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = utf8.AppendRune(out, utf8.RuneError)
		}
	}
	return string(out)
}

func hex4(b []byte) rune {
	if len(b) < 4 {
		return utf8.RuneError
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return utf8.RuneError
		}
	}
	return r
}

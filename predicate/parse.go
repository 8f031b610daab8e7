// Package predicate is Tarn's filter language: simple SQL predicates
// ("a > 10 AND b = 'x' OR c IS NULL", IN, BETWEEN, NOT, parentheses), bound to a table's
// schema, used to prune partitions, buckets, files and row groups and to filter rows.
package predicate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Op is a comparison operator.
type Op string

// Operators.
const (
	Eq        Op = "="
	NotEq     Op = "!="
	Lt        Op = "<"
	LtEq      Op = "<="
	Gt        Op = ">"
	GtEq      Op = ">="
	IsNull    Op = "IS NULL"
	IsNotNull Op = "IS NOT NULL"
	In        Op = "IN"
	NotIn     Op = "NOT IN"
)

// Expr is a parsed predicate tree.
type Expr interface{ String() string }

// And is a conjunction.
type And struct{ L, R Expr }

// Or is a disjunction.
type Or struct{ L, R Expr }

// Not negates.
type Not struct{ E Expr }

// Cmp compares a column with literals (none for IS [NOT] NULL, several for IN).
type Cmp struct {
	Column string
	Op     Op
	Values []Literal
}

// Literal is a constant as written: kind 'n' number, 's' string, 'b' boolean, 'z' null,
// 'd' DATE '...', 't' TIMESTAMP '...'.
type Literal struct {
	Kind byte
	Text string
}

func (e And) String() string { return "(" + e.L.String() + " AND " + e.R.String() + ")" }
func (e Or) String() string  { return "(" + e.L.String() + " OR " + e.R.String() + ")" }
func (e Not) String() string { return "NOT " + e.E.String() }
func (e Cmp) String() string {
	vals := make([]string, len(e.Values))
	for i, v := range e.Values {
		vals[i] = v.String()
	}
	switch e.Op {
	case IsNull, IsNotNull:
		return e.Column + " " + string(e.Op)
	case In, NotIn:
		return e.Column + " " + string(e.Op) + " (" + strings.Join(vals, ", ") + ")"
	}
	return e.Column + " " + string(e.Op) + " " + vals[0]
}

func (l Literal) String() string {
	switch l.Kind {
	case 's':
		return "'" + strings.ReplaceAll(l.Text, "'", "''") + "'"
	case 'd':
		return "DATE '" + l.Text + "'"
	case 't':
		return "TIMESTAMP '" + l.Text + "'"
	}
	return l.Text
}

// Parse parses a filter expression.
func Parse(s string) (Expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos].text)
	}
	return e, nil
}

type tok struct {
	kind byte // 'w' word, 'q' quoted identifier, 's' string, 'n' number, 'o' operator, 'p' punct
	text string
	pos  int
}

func lex(s string) ([]tok, error) {
	var out []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, tok{'p', string(c), i})
			i++
		case strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">=") ||
			strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<>") || strings.HasPrefix(s[i:], "=="):
			op := s[i : i+2]
			switch op {
			case "<>":
				op = "!="
			case "==":
				op = "="
			}
			out = append(out, tok{'o', op, i})
			i += 2
		case c == '<' || c == '>' || c == '=':
			out = append(out, tok{'o', string(c), i})
			i++
		case c == '\'' || c == '"' || c == '`':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("filter %q: unterminated quote at position %d", s, i)
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
			if c != '\'' {
				kind = 'q'
			}
			out = append(out, tok{kind, b.String(), i})
			i = j + 1
		case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, fmt.Errorf("filter %q: bad number %q at position %d", s, s[i:j], i)
			}
			out = append(out, tok{'n', s[i:j], i})
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
				return nil, fmt.Errorf("filter %q: unexpected %q at position %d", s, c, i)
			}
			out = append(out, tok{'w', s[i:j], i})
			i = j
		}
	}
	return out, nil
}

type parser struct {
	src  string
	toks []tok
	pos  int
}

func (p *parser) errorf(format string, args ...any) error {
	at := len(p.src)
	if p.pos < len(p.toks) {
		at = p.toks[p.pos].pos
	}
	return fmt.Errorf("filter %q at position %d: %s", p.src, at, fmt.Sprintf(format, args...))
}

func (p *parser) word(w string) bool {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'w' && strings.EqualFold(p.toks[p.pos].text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'p' && p.toks[p.pos].text == s {
		p.pos++
		return true
	}
	return false
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.word("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = Or{l, r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.word("AND") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = And{l, r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if p.word("NOT") {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return Not{e}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	if p.punct("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, p.errorf("expected ')'")
		}
		return e, nil
	}
	if p.pos >= len(p.toks) || (p.toks[p.pos].kind != 'w' && p.toks[p.pos].kind != 'q') {
		return nil, p.errorf("expected a column name")
	}
	col := p.toks[p.pos].text
	p.pos++
	switch {
	case p.word("IS"):
		op := IsNull
		if p.word("NOT") {
			op = IsNotNull
		}
		if !p.word("NULL") {
			return nil, p.errorf("expected NULL after IS")
		}
		return Cmp{Column: col, Op: op}, nil
	case p.word("BETWEEN"):
		lo, err := p.literal()
		if err != nil {
			return nil, err
		}
		if !p.word("AND") {
			return nil, p.errorf("expected AND in BETWEEN")
		}
		hi, err := p.literal()
		if err != nil {
			return nil, err
		}
		return And{Cmp{col, GtEq, []Literal{lo}}, Cmp{col, LtEq, []Literal{hi}}}, nil
	}
	negate := p.word("NOT")
	if p.word("IN") {
		if !p.punct("(") {
			return nil, p.errorf("expected '(' after IN")
		}
		var vals []Literal
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.punct(")") {
				break
			}
			if !p.punct(",") {
				return nil, p.errorf("expected ',' or ')' in IN list")
			}
		}
		op := In
		if negate {
			op = NotIn
		}
		return Cmp{Column: col, Op: op, Values: vals}, nil
	}
	if negate {
		return nil, p.errorf("expected IN after NOT")
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'o' {
		return nil, p.errorf("expected a comparison operator after %q", col)
	}
	op := Op(p.toks[p.pos].text)
	p.pos++
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	if v.Kind == 'z' {
		return nil, p.errorf("comparison with NULL is never true; use IS NULL")
	}
	return Cmp{Column: col, Op: op, Values: []Literal{v}}, nil
}

func (p *parser) literal() (Literal, error) {
	if p.pos >= len(p.toks) {
		return Literal{}, p.errorf("expected a value")
	}
	t := p.toks[p.pos]
	switch t.kind {
	case 'n':
		p.pos++
		return Literal{'n', t.text}, nil
	case 's':
		p.pos++
		return Literal{'s', t.text}, nil
	case 'w':
		switch strings.ToUpper(t.text) {
		case "TRUE", "FALSE":
			p.pos++
			return Literal{'b', strings.ToLower(t.text)}, nil
		case "NULL":
			p.pos++
			return Literal{'z', "NULL"}, nil
		case "DATE", "TIMESTAMP":
			if p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == 's' {
				p.pos += 2
				kind := byte('d')
				if strings.EqualFold(t.text, "TIMESTAMP") {
					kind = 't'
				}
				return Literal{kind, p.toks[p.pos-1].text}, nil
			}
		}
	}
	return Literal{}, p.errorf("expected a value, found %q", t.text)
}

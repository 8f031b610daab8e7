package flight

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tarnlake/tarn/predicate"
)

// selectStmt is the SQL subset Flight SQL clients may send:
//
//	SELECT * | col [, col ...] FROM [catalog.]db.table
//	  [FOR VERSION AS OF <snapshot id> | '<tag>']
//	  [FOR TIMESTAMP AS OF '<YYYY-MM-DD HH:MM:SS[.fff]>' | <epoch millis>]
//	  [WHERE <predicate>] [LIMIT n] [;]
//
// FOR SYSTEM_VERSION / FOR SYSTEM_TIME are accepted as synonyms, and FOR may be left out.
// The WHERE clause is package predicate's language.
type selectStmt struct {
	Columns   []string // nil: *
	Catalog   string
	Database  string
	Table     string
	Snapshot  int64
	Tag       string
	Timestamp int64 // epoch millis
	Where     string
	Limit     int64 // 0: none
}

const sqlSubset = "Tarn's Flight SQL takes SELECT * | col, ... FROM db.table [FOR VERSION AS OF n | FOR TIMESTAMP AS OF 'ts'] [WHERE predicate] [LIMIT n]"

type sqlTok struct {
	kind byte // 'w' word, 'q' quoted identifier, 's' string, 'n' number, 'p' punctuation or operator
	text string
	pos  int
	end  int
}

func lexSQL(s string) ([]sqlTok, error) {
	var out []sqlTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-': // comment to end of line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"' || c == '`':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, invalidf("SQL: unterminated quote at position %d", i)
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
			kind := byte('q')
			if c == '\'' {
				kind = 's'
			}
			out = append(out, sqlTok{kind, b.String(), i, j + 1})
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			out = append(out, sqlTok{'n', s[i:j], i, j})
			i = j
		case c == '_' || c >= 0x80 || unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= 0x80 || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			out = append(out, sqlTok{'w', s[i:j], i, j})
			i = j
		default:
			j := i + 1
			if j < len(s) && strings.Contains("<=>!", string(c)) && strings.Contains("=>", string(s[j])) {
				j++
			}
			out = append(out, sqlTok{'p', s[i:j], i, j})
			i = j
		}
	}
	return out, nil
}

type sqlParser struct {
	src  string
	toks []sqlTok
	pos  int
}

func (p *sqlParser) errorf(format string, args ...any) error {
	at := len(p.src)
	if p.pos < len(p.toks) {
		at = p.toks[p.pos].pos
	}
	return invalidf("SQL at position %d: %s (%s)", at, fmt.Sprintf(format, args...), sqlSubset)
}

func (p *sqlParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'w' && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *sqlParser) word(w string) bool {
	if p.peekWord(w) {
		p.pos++
		return true
	}
	return false
}

func (p *sqlParser) punct(s string) bool {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'p' && p.toks[p.pos].text == s {
		p.pos++
		return true
	}
	return false
}

// ident reads an identifier: a word (not a reserved one) or a quoted name.
func (p *sqlParser) ident(what string) (string, error) {
	if p.pos >= len(p.toks) {
		return "", p.errorf("expected %s", what)
	}
	t := p.toks[p.pos]
	switch {
	case t.kind == 'q' && t.text == "":
		return "", p.errorf("empty quoted name")
	case t.kind == 'q':
	case t.kind == 'w' && !reservedSQL[strings.ToUpper(t.text)]:
	default:
		return "", p.errorf("expected %s, found %q", what, t.text)
	}
	p.pos++
	return t.text, nil
}

var reservedSQL = map[string]bool{"SELECT": true, "FROM": true, "WHERE": true, "LIMIT": true, "FOR": true, "AS": true, "OF": true}

func parseSelect(sql string) (*selectStmt, error) {
	toks, err := lexSQL(sql)
	if err != nil {
		return nil, err
	}
	p := &sqlParser{src: sql, toks: toks}
	st := &selectStmt{}
	if !p.word("SELECT") {
		return nil, p.errorf("expected SELECT")
	}
	if !p.punct("*") {
		for {
			c, err := p.ident("a column name or *")
			if err != nil {
				return nil, err
			}
			st.Columns = append(st.Columns, c)
			if !p.punct(",") {
				break
			}
		}
	}
	if !p.word("FROM") {
		return nil, p.errorf("expected FROM")
	}
	var parts []string
	for {
		n, err := p.ident("a table name")
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
		if !p.punct(".") {
			break
		}
	}
	switch len(parts) {
	case 1:
		st.Database, st.Table = "default", parts[0]
	case 2:
		st.Database, st.Table = parts[0], parts[1]
	case 3:
		st.Catalog, st.Database, st.Table = parts[0], parts[1], parts[2]
	default:
		return nil, p.errorf("table name %q has too many parts; use db.table", strings.Join(parts, "."))
	}
	for p.peekWord("FOR") || p.peekWord("VERSION") || p.peekWord("SYSTEM_VERSION") || p.peekWord("TIMESTAMP") || p.peekWord("SYSTEM_TIME") {
		if err := p.travel(st); err != nil {
			return nil, err
		}
	}
	if p.word("WHERE") {
		start := p.pos
		depth := 0
		for p.pos < len(p.toks) {
			t := p.toks[p.pos]
			if t.kind == 'p' && t.text == "(" {
				depth++
			} else if t.kind == 'p' && t.text == ")" {
				depth--
			} else if depth == 0 && (t.kind == 'w' && strings.EqualFold(t.text, "LIMIT") || t.kind == 'p' && t.text == ";") {
				break
			}
			p.pos++
		}
		if p.pos == start {
			return nil, p.errorf("WHERE without a condition")
		}
		st.Where = strings.TrimSpace(sql[toks[start].pos:toks[p.pos-1].end])
		if _, err := predicate.Parse(st.Where); err != nil {
			return nil, invalidf("SQL WHERE: %v", err)
		}
	}
	if p.word("LIMIT") {
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'n' {
			return nil, p.errorf("expected a number after LIMIT")
		}
		n, err := strconv.ParseInt(p.toks[p.pos].text, 10, 64)
		if err != nil || n < 0 {
			return nil, p.errorf("LIMIT %q is not a non-negative integer", p.toks[p.pos].text)
		}
		p.pos++
		st.Limit = n
		if n == 0 {
			st.Limit = -1 // LIMIT 0: no rows
		}
	}
	p.punct(";")
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos].text)
	}
	return st, nil
}

// travel parses one time-travel clause.
func (p *sqlParser) travel(st *selectStmt) error {
	p.word("FOR")
	version := false
	switch {
	case p.word("VERSION"), p.word("SYSTEM_VERSION"):
		version = true
	case p.word("TIMESTAMP"), p.word("SYSTEM_TIME"):
	default:
		return p.errorf("expected VERSION or TIMESTAMP after FOR")
	}
	if !p.word("AS") || !p.word("OF") {
		return p.errorf("expected AS OF")
	}
	if st.Snapshot != 0 || st.Tag != "" || st.Timestamp != 0 {
		return p.errorf("give one time-travel clause")
	}
	if p.pos >= len(p.toks) {
		return p.errorf("expected a version or time after AS OF")
	}
	if !version && p.peekWord("TIMESTAMP") {
		p.pos++ // TIMESTAMP '...' literal
	}
	t := p.toks[p.pos]
	p.pos++
	switch {
	case version && t.kind == 'n':
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil || n < 1 {
			return invalidf("SQL: VERSION AS OF %s: snapshot ids are integers from 1", t.text)
		}
		st.Snapshot = n
	case version && t.kind == 's':
		st.Tag = t.text
	case !version && t.kind == 'n':
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return invalidf("SQL: TIMESTAMP AS OF %s: give epoch milliseconds or 'YYYY-MM-DD HH:MM:SS'", t.text)
		}
		st.Timestamp = n
	case !version && t.kind == 's':
		ms, err := parseSQLTime(t.text)
		if err != nil {
			return err
		}
		st.Timestamp = ms
	default:
		return invalidf("SQL: unexpected %q after AS OF", t.text)
	}
	return nil
}

func parseSQLTime(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if tm, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return tm.UnixMilli(), nil
		}
	}
	return 0, invalidf("SQL: time %q: use 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC)", s)
}

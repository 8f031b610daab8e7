package cdc

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParser checks the CDC JSON parser against encoding/json: the documents it accepts,
// the members and elements it links, and the errors of malformed input.
func TestParser(t *testing.T) {
	docs := []struct {
		in      string
		members int    // of the top-level value
		err     string // "" for a valid document
	}{
		{in: `{}`},
		{in: `[]`},
		{in: `{"a":1}`, members: 1},
		{in: ` { "a" : [1, 2, {"b": null}] , "c" : "x\"y" , "d": true } `, members: 3},
		{in: `[[], {}, [1, [2, [3]]], "s", -1.5e3, false]`, members: 6},
		{in: `{"a":1,}`, err: "expected a member name"},
		{in: `{"a":1 "b":2}`, err: "expected ',' or '}'"},
		{in: `[1 2]`, err: "expected ',' or ']'"},
		{in: `{"a":1`, err: "unterminated object"},
		{in: `[1,2`, err: "unterminated array"},
		{in: `{"a" 1}`, err: "expected ':'"},
	}
	var p parser
	for _, d := range docs {
		v, err := p.Parse([]byte(d.in))
		valid := json.Valid([]byte(d.in))
		if d.err != "" {
			if err == nil || !strings.Contains(err.Error(), d.err) {
				t.Errorf("%s: error %v, want %q", d.in, err, d.err)
			}
			if valid {
				t.Errorf("%s: encoding/json accepts it", d.in)
			}
			continue
		}
		if err != nil || !valid {
			t.Errorf("%s: %v (encoding/json valid: %v)", d.in, err, valid)
			continue
		}
		if v.Len() != d.members {
			t.Errorf("%s: %d members, want %d", d.in, v.Len(), d.members)
		}
		n := 0
		v.Each(func(string, Value) { n++ })
		if n != d.members {
			t.Errorf("%s: Each visits %d, want %d", d.in, n, d.members)
		}
	}
	v, err := p.Parse([]byte(`{"a":{"b":[10,20]},"c":"z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Get("a").Get("b").Raw(); string(got) != "[10,20]" || v.Get("c").Str() != "z" {
		t.Errorf("a.b = %s, c = %q", got, v.Get("c").Str())
	}
}

package types

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// JSONWriter writes JSON either compactly or in the layout of Jackson's default pretty
// printer, which is how Paimon writes schema-N and snapshot-N files:
//
//	{
//	  "key" : "value",
//	  "list" : [ {
//	    "a" : 1
//	  }, {
//	    "a" : 2
//	  } ],
//	  "empty" : [ ],
//	  "map" : { }
//	}
type JSONWriter struct {
	B      *bytes.Buffer
	Pretty bool
	depth  int
	counts []int // entries written in each open container
}

func (w *JSONWriter) sep() bool {
	n := len(w.counts) - 1
	first := w.counts[n] == 0
	w.counts[n]++
	return first
}

func (w *JSONWriter) newline() {
	w.B.WriteByte('\n')
	for i := 0; i < w.depth; i++ {
		w.B.WriteString("  ")
	}
}

// BeginObject opens an object.
func (w *JSONWriter) BeginObject() {
	w.B.WriteByte('{')
	w.depth++
	w.counts = append(w.counts, 0)
}

// EndObject closes an object.
func (w *JSONWriter) EndObject() {
	n := w.counts[len(w.counts)-1]
	w.counts = w.counts[:len(w.counts)-1]
	w.depth--
	if w.Pretty {
		if n == 0 {
			w.B.WriteString(" }")
			return
		}
		w.newline()
	}
	w.B.WriteByte('}')
}

// Key starts the next member of the open object.
func (w *JSONWriter) Key(k string) {
	if !w.sep() {
		w.B.WriteByte(',')
	}
	if w.Pretty {
		w.newline()
	}
	w.String(k)
	if w.Pretty {
		w.B.WriteString(" : ")
	} else {
		w.B.WriteByte(':')
	}
}

// BeginArray opens an array.
func (w *JSONWriter) BeginArray() {
	w.B.WriteByte('[')
	w.counts = append(w.counts, 0)
}

// Elem starts the next element of the open array.
func (w *JSONWriter) Elem() {
	first := w.sep()
	if !first {
		w.B.WriteByte(',')
	}
	if w.Pretty {
		w.B.WriteByte(' ')
	}
}

// EndArray closes an array.
func (w *JSONWriter) EndArray() {
	w.counts = w.counts[:len(w.counts)-1]
	if w.Pretty {
		w.B.WriteByte(' ')
	}
	w.B.WriteByte(']')
}

// String writes a JSON string (HTML characters are not escaped, as in Jackson).
func (w *JSONWriter) String(s string) {
	enc := json.NewEncoder(w.B)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	w.B.Truncate(w.B.Len() - 1) // Encode appends a newline
}

// Int writes an integer.
func (w *JSONWriter) Int(v int64) { w.B.WriteString(strconv.FormatInt(v, 10)) }

// Bool writes a boolean.
func (w *JSONWriter) Bool(v bool) { w.B.WriteString(strconv.FormatBool(v)) }

// Null writes null.
func (w *JSONWriter) Null() { w.B.WriteString("null") }

package render

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// TestParseDefault follows Paimon's DefaultValueUtils.convertDefaultValue: surrounding
// single quotes are removed, the rest is cast from a string to the column's type.
func TestParseDefault(t *testing.T) {
	cases := []struct {
		typ, in, want, err string
	}{
		{typ: "INT", in: "5", want: "5"},
		{typ: "BIGINT NOT NULL", in: "-7", want: "-7"},
		{typ: "STRING", in: "'my_value'", want: "my_value"},
		{typ: "STRING", in: "plain", want: "plain"},
		{typ: "BOOLEAN", in: "true", want: "true"},
		{typ: "DOUBLE", in: "1.5", want: "1.5"},
		{typ: "DECIMAL(10, 2)", in: "12.34", want: "12.34"},
		{typ: "DATE", in: "2024-01-05", want: "2024-01-05"},
		{typ: "INT", in: "five", err: "does not cast to INT"},
		{typ: "ARRAY<STRING>", in: "ARRAY('a')", err: "scalar, non-binary"},
		{typ: "BYTES", in: "ab", err: "scalar, non-binary"},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.in, func(t *testing.T) {
			typ, err := types.Parse(c.typ)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseDefault(memory.DefaultAllocator, typ, c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			if a.Len() != 1 || a.IsNull(0) || a.ValueStr(0) != c.want {
				t.Fatalf("got %v, want [%s]", a, c.want)
			}
		})
	}
}

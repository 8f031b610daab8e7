package render

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// ParseDefault parses a column's default value (Paimon's DataField defaultValue) into an
// array of one value of the column's type. As Paimon's DefaultValueUtils does, one pair
// of surrounding single quotes is removed and the rest is read as a string cast to the
// type; nested, binary, variant and blob columns have no default value here.
func ParseDefault(mem memory.Allocator, t types.DataType, s string) (arrow.Array, error) {
	if !DefaultSupported(t) {
		return nil, fmt.Errorf("default value %q: Tarn supports default values of scalar, non-binary columns, not %s", s, t)
	}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	f, err := types.ArrowField(types.DataField{Name: "default", Type: t.WithNullable(true)})
	if err != nil {
		return nil, err
	}
	b := array.NewBuilder(mem, f.Type)
	defer b.Release()
	v, err := cellValue(s, t)
	if err == nil {
		err = appendJSONValue(b, v, t)
	}
	if err != nil {
		return nil, fmt.Errorf("default value %q does not cast to %s: %w", s, t, err)
	}
	return b.NewArray(), nil
}

// ValidateDefault checks that s is a default value of type t (see ParseDefault).
func ValidateDefault(t types.DataType, s string) error {
	v, err := ParseDefault(memory.DefaultAllocator, t, s)
	if err != nil {
		return err
	}
	v.Release()
	return nil
}

// DefaultSupported reports whether ParseDefault reads default values of type t.
func DefaultSupported(t types.DataType) bool {
	switch t.Root {
	case types.Array, types.Map, types.Multiset, types.Row, types.Vector, types.Variant, types.Blob, types.Binary, types.VarBinary:
		return false
	}
	return true
}

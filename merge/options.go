package merge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
)

// Table option keys and values the merge engines read (paimon-api/.../CoreOptions.java).
const (
	OptMergeEngine                 = "merge-engine"
	OptIgnoreDelete                = "ignore-delete"
	OptSequenceField               = "sequence.field"
	OptSequenceFieldSortOrder      = "sequence.field.sort-order"
	OptPartialUpdateRemoveOnDelete = "partial-update.remove-record-on-delete"
	OptPartialUpdateRemoveOnSeqGrp = "partial-update.remove-record-on-sequence-group"
	OptAggregationRemoveOnDelete   = "aggregation.remove-record-on-delete"
	OptFieldsDefaultAggregateFunc  = "fields.default-aggregate-function"
)

const (
	fieldsPrefix                    = "fields."
	suffixAggregateFunction         = ".aggregate-function"
	suffixSequenceGroup             = "sequence-group"
	defaultAggregateFunctionSegment = "default-aggregate-function"
)

// NewEngine builds the merge engine a primary-key table's options choose (merge-engine,
// default deduplicate) for the table's fields, validating the options as Paimon does when
// it creates the table's merge function: an unknown engine or aggregate function, a
// function applied to a type it does not take, an option naming a missing field, and
// conflicting options are errors.
func NewEngine(fields []types.DataField, primaryKeys []string, options format.Options) (Engine, error) {
	o := opts{o: options}
	if err := o.validateFieldsPrefix(fields); err != nil {
		return nil, err
	}
	name := "deduplicate"
	if v, ok := options.Get(OptMergeEngine); ok {
		name = strings.ToLower(strings.TrimSpace(v))
	}
	ignoreDelete, err := o.ignoreDelete()
	if err != nil {
		return nil, err
	}
	seq, err := o.sequence(fields)
	if err != nil {
		return nil, err
	}
	switch name {
	case "deduplicate":
		return Deduplicate{IgnoreDelete: ignoreDelete, Sequence: seq}, nil
	case "first-row":
		if len(seq.Fields) > 0 {
			return nil, fmt.Errorf("do not support use sequence field on FIRST_ROW merge engine (%s = %s)", OptSequenceField, strings.Join(seq.Fields, ","))
		}
		return FirstRow{IgnoreDelete: ignoreDelete}, nil
	case "partial-update":
		if err := o.checkFunctionNames(fields); err != nil {
			return nil, err
		}
		return newPartialUpdate(o, fields, primaryKeys, seq, ignoreDelete)
	case "aggregation":
		if err := o.checkFunctionNames(fields); err != nil {
			return nil, err
		}
		return newAggregation(o, fields, primaryKeys, seq)
	}
	return nil, fmt.Errorf("unknown %s %q (Paimon's engines: deduplicate, partial-update, aggregation, first-row)", OptMergeEngine, name)
}

type opts struct{ o format.Options }

func (o opts) get(k string) (string, bool) { return o.o.Get(k) }

func (o opts) bool(k string, def bool) (bool, error) {
	v, ok := o.o.Get(k)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("option %s = %q is not a boolean (true or false)", k, v)
}

func (o opts) ignoreDelete() (bool, error) {
	if k, _, ok := o.o.Lookup(OptIgnoreDelete); ok {
		return o.bool(k, false)
	}
	return false, nil
}

// list splits a comma-separated option value, trimming each part.
func splitTrim(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

func (o opts) sequence(fields []types.DataField) (Sequence, error) {
	var s Sequence
	if v, ok := o.o.Get(OptSequenceField); ok && strings.TrimSpace(v) != "" {
		s.Fields = splitTrim(v)
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		i := types.FieldByName(fields, f)
		if i < 0 {
			return s, fmt.Errorf("sequence field: '%s' can not be found in table schema (columns: %s)", f, strings.Join(fieldNames(fields), ", "))
		}
		if _, ok := o.o.Get(fieldsPrefix + f + suffixAggregateFunction); ok {
			return s, fmt.Errorf("should not define aggregation on sequence field: '%s'", f)
		}
		if seen[f] {
			return s, fmt.Errorf("sequence field '%s' is defined repeatedly", f)
		}
		seen[f] = true
		if err := comparableType(fields[i].Type); err != nil {
			return s, fmt.Errorf("sequence field '%s': %w", f, err)
		}
	}
	if v, ok := o.o.Get(OptSequenceFieldSortOrder); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "ascending":
		case "descending":
			s.Descending = true
		default:
			return s, fmt.Errorf("option %s = %q: want ascending or descending", OptSequenceFieldSortOrder, v)
		}
	}
	return s, nil
}

// validateFieldsPrefix checks that every fields.<names>.<option> key names existing
// fields (SchemaValidation.validateFieldsPrefix).
func (o opts) validateFieldsPrefix(fields []types.DataField) error {
	for _, k := range o.o.Keys() {
		if !strings.HasPrefix(k, fieldsPrefix) {
			continue
		}
		segs := strings.Split(k, ".")
		if len(segs) < 2 {
			continue
		}
		for _, f := range strings.Split(segs[1], ",") {
			if f != defaultAggregateFunctionSegment && types.FieldByName(fields, f) < 0 {
				return fmt.Errorf("option %s: field %s can not be found in table schema (columns: %s)", k, f, strings.Join(fieldNames(fields), ", "))
			}
		}
	}
	return nil
}

// fieldFunc is fields.<f>.aggregate-function, else fields.default-aggregate-function.
func (o opts) fieldFunc(f string) (string, bool) {
	if v, ok := o.o.Get(fieldsPrefix + f + suffixAggregateFunction); ok {
		return v, true
	}
	return o.o.Get(OptFieldsDefaultAggregateFunc)
}

// checkFunctionNames refuses unknown aggregate functions on any field
// (SchemaValidation.validateMergeFunctionFactory).
func (o opts) checkFunctionNames(fields []types.DataField) error {
	for _, f := range fields {
		if name, ok := o.fieldFunc(f.Name); ok {
			if err := knownFunction(name); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
	}
	return nil
}

func fieldNames(fs []types.DataField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// comparableType reports whether values of a type can be ordered (sequence fields).
func comparableType(t types.DataType) error {
	switch t.Root {
	case types.Boolean, types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double,
		types.Decimal, types.Char, types.VarChar, types.Binary, types.VarBinary, types.Date, types.Time,
		types.Timestamp, types.LocalZonedTimestamp:
		return nil
	}
	return fmt.Errorf("type %s can not be ordered", t)
}

// fieldIndex returns the index of a field, or an error naming the option that refers to it.
func fieldIndex(fields []types.DataField, name, option string) (int, error) {
	i := types.FieldByName(fields, name)
	if i < 0 {
		return -1, fmt.Errorf("option %s: field %s can not be found in table schema (columns: %s)", option, name, strings.Join(fieldNames(fields), ", "))
	}
	return i, nil
}

func (o opts) int(k string, def int) (int, error) {
	v, ok := o.o.Get(k)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("option %s = %q is not an integer", k, v)
	}
	return n, nil
}

// keys returns the option keys, sorted.
func (o opts) keys() []string {
	k := o.o.Keys()
	slices.Sort(k)
	return k
}

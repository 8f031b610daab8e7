package table

import (
	"context"
	"fmt"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// maxBucketKeyValues caps the key combinations a filter may pin for bucket selection (as
// Paimon's BucketSelectConverter does); beyond it every bucket is read.
const maxBucketKeyValues = 1000

// bucketSelector keeps the manifest entries of the buckets a filter's bucket-key values
// hash to.
type bucketSelector struct {
	t       *Table
	keys    []binaryrow.Row
	bucket  func(binaryrow.Row, int) int
	kinds   string         // the bucket key's field ids and types, as the keys were encoded
	byTotal map[int][]bool // total buckets -> buckets kept
	schemas map[int64]bool // schema id -> its bucket key is encoded as kinds
}

// newBucketSelector returns nil when the scan reads every bucket: a table without fixed
// buckets, a filter that does not pin the whole bucket key, or a key type whose values a
// filter literal may not encode exactly as the writer did.
func (t *Table) newBucketSelector(ctx context.Context, schema *format.TableSchema, f Filter) (*bucketSelector, error) {
	vf, ok := f.(ValuesFilter)
	if !ok {
		return nil, nil
	}
	opts := ParseCoreOptions(schema.Options)
	if opts.Bucket <= 0 {
		return nil, nil
	}
	kf := bucketKeyFields(schema, opts)
	if len(kf) == 0 {
		return nil, nil
	}
	names := make([]string, len(kf))
	for i, k := range kf {
		if !exactKeyType(k.Type) {
			return nil, nil
		}
		names[i] = k.Name
	}
	combos, ok := vf.ColumnValues(names, maxBucketKeyValues)
	if !ok {
		return nil, nil
	}
	bucketOf, err := binaryrow.BucketFunc(opts.BucketFunction, kf)
	if err != nil {
		return nil, err
	}
	s := &bucketSelector{t: t, bucket: bucketOf, kinds: keyKinds(kf), byTotal: map[int][]bool{},
		schemas: map[int64]bool{schema.ID: true}}
	for _, c := range combos {
		row, err := binaryrow.Encode(kf, c)
		if err != nil {
			return nil, nil // a literal the key cannot hold: read every bucket
		}
		s.keys = append(s.keys, row)
	}
	return s, nil
}

// keep reports whether e's bucket may hold one of the keys. Files written with another
// encoding of the bucket key (an older schema, a bucket-key option since changed) and
// entries without a bucket count are kept.
func (s *bucketSelector) keep(ctx context.Context, e *manifest.ManifestEntry) (bool, error) {
	total := int(e.TotalBuckets)
	if total <= 0 || e.Bucket < 0 {
		return true, nil
	}
	same, ok := s.schemas[e.File.SchemaID]
	if !ok {
		fs, err := s.t.Schema(ctx, e.File.SchemaID)
		if err != nil {
			return false, fmt.Errorf("schema of %s: %w", e.File.FileName, err)
		}
		same = keyKinds(bucketKeyFields(fs, ParseCoreOptions(fs.Options))) == s.kinds
		s.schemas[e.File.SchemaID] = same
	}
	if !same {
		return true, nil
	}
	kept, ok := s.byTotal[total]
	if !ok {
		kept = make([]bool, total)
		for _, k := range s.keys {
			kept[s.bucket(k, total)] = true
		}
		s.byTotal[total] = kept
	}
	return int(e.Bucket) < total && kept[e.Bucket], nil
}

// bucketKeyNames names the columns rows are bucketed by: option bucket-key, else the trimmed
// primary key.
func bucketKeyNames(schema *format.TableSchema, opts CoreOptions) []string {
	if len(opts.BucketKey) > 0 {
		return opts.BucketKey
	}
	return schema.TrimmedPrimaryKeys()
}

// bucketKeyFields are the fields of bucketKeyNames (none if one is missing).
func bucketKeyFields(schema *format.TableSchema, opts CoreOptions) []types.DataField {
	var out []types.DataField
	for _, i := range schema.FieldIndexes(bucketKeyNames(schema, opts)) {
		if i < 0 {
			return nil
		}
		out = append(out, schema.Fields[i])
	}
	return out
}

func keyKinds(kf []types.DataField) string {
	s := ""
	for _, f := range kf {
		s += fmt.Sprintf("%d:%s;", f.ID, f.Type)
	}
	return s
}

// exactKeyType reports whether a filter literal of the type encodes as the writer encodes
// the equal column value. Not so for FLOAT/DOUBLE (-0.0 equals 0.0), CHAR/BINARY
// (padding), DECIMAL (scale), TIME/TIMESTAMP (precision).
func exactKeyType(t types.DataType) bool {
	switch t.Root {
	case types.Boolean, types.TinyInt, types.SmallInt, types.Int, types.BigInt,
		types.VarChar, types.VarBinary, types.Date:
		return true
	}
	return false
}

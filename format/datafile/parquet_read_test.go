package datafile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/internal/fixtures"
)

type osFile struct{ *os.File }

func (f osFile) Size() int64 {
	st, _ := f.Stat()
	return st.Size()
}

func openFixture(t *testing.T, path string) *ParquetFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	p, err := OpenParquet(osFile{f}, filepath.Base(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// The fixture's data files (written by Paimon 2.x) carry the key-value layout with
// Paimon's field ids; reading them by id yields the rows its PROVENANCE.md lists.
func TestReadFixtureDataFile(t *testing.T) {
	path := fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden", "bucket-0",
		"data-1204a156-ccd1-48bf-96e6-31ac2028e91a-0.parquet")
	p := openFixture(t, path)
	value := []types.DataField{
		{ID: 0, Name: "id", Type: types.IntType().NotNull()},
		{ID: 1, Name: "name", Type: types.StringType()},
		{ID: 2, Name: "category", Type: types.StringType()},
	}
	fields := KeyValueFields(value[:1], value)
	r, err := p.Read(context.Background(), fields, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batches, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || batches[0].NumRows() != 4 {
		t.Fatalf("batches %v", batches)
	}
	b := batches[0]
	defer b.Release()
	keys := b.Column(0).(*array.Int32)
	seq := b.Column(1).(*array.Int64)
	kind := b.Column(2).(*array.Int8)
	names := b.Column(4).(*array.String)
	for i := 0; i < 4; i++ {
		if keys.Value(i) != int32(i+1) || seq.Value(i) != int64(i) || kind.Value(i) != KindInsert ||
			names.Value(i) != "name-"+string(rune('1'+i)) {
			t.Errorf("row %d: key=%d seq=%d kind=%d name=%s", i, keys.Value(i), seq.Value(i), kind.Value(i), names.Value(i))
		}
	}
}

// Reading with a schema that has a column the file lacks (added later) gives nulls, and a
// widened column (INT -> BIGINT) is cast.
func TestReadEvolvedSchema(t *testing.T) {
	path := fixtures.Path(t, "paimon-java-pk-dv", "test_pk_global_index_golden", "bucket-0",
		"data-70baee15-65ce-4e4c-a961-faf94f0388cd-0.parquet")
	p := openFixture(t, path)
	fields := []types.DataField{
		{ID: 0, Name: "id", Type: types.BigIntType().NotNull()},
		{ID: 7, Name: "added", Type: types.StringType()},
		{ID: 2, Name: "renamed_category", Type: types.StringType()},
	}
	r, err := p.Read(context.Background(), fields, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batches, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	b := batches[0]
	defer b.Release()
	if got := b.Column(0).(*array.Int64).Value(1); got != 2 {
		t.Errorf("widened id = %d", got)
	}
	if b.Column(1).NullN() != 2 {
		t.Errorf("added column not null")
	}
	if got := b.Column(2).(*array.String).Value(0); got != "odd" {
		t.Errorf("renamed column = %q", got)
	}
}

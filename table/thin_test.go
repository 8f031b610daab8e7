package table_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/table"
)

// Thin data files (data-file.thin-mode) hold no _KEY_ columns; the key is read from its
// value columns, as Paimon's readers always do (FormatReaderMapping.trimKeyFields). Upserts
// and deletes over several commits, background compaction, lookups (lookup changelog,
// deletion vectors) and a full compaction read as the model, in every file format; the
// files written have no key column.
func TestThinDataFiles(t *testing.T) {
	ctx := context.Background()
	fields, _ := types.ParseColumns("id INT NOT NULL, v STRING")
	for _, tc := range []map[string]string{
		{},
		{"changelog-producer": "lookup"},
		{"deletion-vectors.enabled": "true"},
		{"file.format": "orc"},
		{"file.format": "avro"},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			opts := map[string]string{"bucket": "2", "data-file.thin-mode": "true", "num-sorted-run.compaction-trigger": "2"}
			for k, v := range tc {
				opts[k] = v
			}
			tbl, err := catalog.New(fileio.NewLocal(), t.TempDir()).CreateTable(ctx, catalog.Identifier{Database: "db", Table: "t"},
				catalog.TableSpec{Fields: fields, PrimaryKeys: []string{"id"}, Options: opts}, false)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			model := map[int]string{}
			for c := 1; c <= 6; c++ {
				var rows []string
				for i := 0; i < 10; i++ {
					id := rng.IntN(20)
					if c > 1 && rng.IntN(4) == 0 {
						rows = append(rows, fmt.Sprintf(`{"id":%d,"v":null,"_ROW_KIND":"-D"}`, id))
						delete(model, id)
						continue
					}
					v := fmt.Sprintf("c%d-%d", c, i)
					rows = append(rows, fmt.Sprintf(`{"id":%d,"v":%q,"_ROW_KIND":"+U"}`, id, v))
					model[id] = v
				}
				writeCommit(t, tbl, fields, true, "["+strings.Join(rows, ",")+"]", int64(c))
				if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
					t.Fatalf("after commit %d:\n%s\nwant\n%s", c, got, want)
				}
			}
			if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
			if got, want := scanJSONL(t, tbl, table.ScanOptions{}), modelJSONL(model); got != want {
				t.Fatalf("after a full compaction:\n%s\nwant\n%s", got, want)
			}
			plan, err := tbl.Plan(ctx, table.ScanOptions{AllLevels: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range plan.Splits {
				for _, f := range s.Files {
					if cols := fileColumns(t, s.BucketPath+"/"+f.FileName); !slices.Equal(cols, []string{"_SEQUENCE_NUMBER", "_VALUE_KIND", "id", "v"}) {
						t.Errorf("%s has columns %v, want no key column", f.FileName, cols)
					}
				}
			}
		})
	}
}

// fileColumns lists the top-level columns of a local data file, by its format.
func fileColumns(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	src := &sizedFile{File: f, size: st.Size()}
	format, _ := datafile.FormatOf(path)
	var cols []string
	switch format {
	case datafile.FormatParquet:
		p, err := datafile.OpenParquet(src, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for i := 0; i < p.Metadata().Schema.Root().NumFields(); i++ {
			cols = append(cols, p.Metadata().Schema.Root().Field(i).Name())
		}
	case datafile.FormatORC:
		o, err := datafile.OpenORC(src, path, datafile.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		cols = o.Reader().Types()[0].FieldNames
	case datafile.FormatAvro:
		a, err := datafile.OpenAvro(src, path, datafile.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for _, fl := range a.Schema().Fields() {
			cols = append(cols, fl.Name())
		}
	default:
		t.Fatalf("%s: unknown format", path)
	}
	return cols
}

type sizedFile struct {
	*os.File
	size int64
}

func (s *sizedFile) Size() int64 { return s.size }

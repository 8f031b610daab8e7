package table_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// parquet.page.size (bytes, as parquet-mr reads it) sets the data page size of the files a
// table writes; without it Tarn writes pages of datafile.DefaultPageSize.
func TestParquetPageSizeOption(t *testing.T) {
	rows := make([]string, 40000)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"k": %d, "v": %d}`, i, i*7919)
	}
	for _, tc := range []struct {
		opts     map[string]string
		min, max int // data pages of column k (320,000 bytes of values)
	}{
		{nil, 5, 6},
		{map[string]string{"parquet.page.size": "1048576"}, 1, 1},
		{map[string]string{"parquet.page.size": "16384"}, 19, 21},
	} {
		tt := newTestTable(t, "k BIGINT NOT NULL, v BIGINT", nil, nil, tc.opts)
		tt.commit(t, "["+strings.Join(rows, ",")+"]", false)
		files, _ := filepath.Glob(filepath.Join(tt.tbl.Path(), "bucket-*", "*.parquet"))
		if len(files) != 1 {
			t.Fatalf("%v: %d data files, want 1", tc.opts, len(files))
		}
		r, err := file.OpenParquetFile(files[0], false)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := r.RowGroup(0).GetColumnPageReader(0)
		if err != nil {
			t.Fatal(err)
		}
		pages := 0
		for rd.Next() {
			if _, ok := rd.Page().(file.DataPage); ok {
				pages++
			}
		}
		r.Close()
		if pages < tc.min || pages > tc.max {
			t.Errorf("%v: %d data pages of column k, want %d to %d", tc.opts, pages, tc.min, tc.max)
		}
	}
}

package datafile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/format/types"
)

// fuzzRead opens data as a file of the format and reads every batch of fields: it may
// fail, with an error naming the file, but must not panic.
func fuzzRead(t *testing.T, format string, data []byte, fields []types.DataField) {
	const name = "fuzz-data-file"
	check := func(err error) bool {
		if err == nil {
			return false
		}
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error does not name the file: %v", err)
		}
		return true
	}
	f, err := OpenDataFile(memSource{bytes.NewReader(data)}, name, format, OpenOptions{})
	if check(err) {
		return
	}
	defer f.Close()
	_ = f.NumRows()
	r, err := f.ReadFields(context.Background(), fields, 4096)
	if check(err) {
		return
	}
	defer r.Close()
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) || check(err) {
			return
		}
		b.Release()
	}
}

func fuzzSeeds(f *testing.F, format string) []types.DataField {
	fields := testFields(format)
	for i, c := range []string{"zstd", "snappy", "none"} {
		b := randomBatch(f, fields, 40, uint64(i))
		f.Add(writeFile(f, format, fields, WriterOptions{Compression: c}, b))
		b.Release()
	}
	small := fields[:3]
	b := randomBatch(f, small, 5, 9)
	f.Add(writeFile(f, format, small, WriterOptions{Compression: "none"}, b))
	b.Release()
	return fields
}

func FuzzReadORC(f *testing.F) {
	fields := fuzzSeeds(f, FormatORC)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, FormatORC, data, fields) })
}

func FuzzReadAvro(f *testing.F) {
	fields := fuzzSeeds(f, FormatAvro)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, FormatAvro, data, fields) })
}

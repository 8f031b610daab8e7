package manifest

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// Fuzz targets: reading arbitrary bytes never panics, fails with ErrCorrupt
// or ErrUnsupported naming the file, allocates a bounded amount, and rows
// that do decode re-encode and decode to the same rows.
//
//	go test ./manifest -run '^$' -fuzz FuzzReadManifestFile -fuzzminimizetime 5s
//	go test ./manifest -run '^$' -fuzz FuzzReadManifestList -fuzzminimizetime 5s
//	go test ./manifest -run '^$' -fuzz FuzzReadIndexManifest -fuzzminimizetime 5s
//
// (The seeds are kilobytes long; Go's default minimization of a new
// interesting input may then run for its full minute with no progress shown.)

func FuzzReadManifestFile(f *testing.F) {
	entries, _, _ := testLayouts[0].rows()
	fuzzRead(f, manifestFileType, "manifest", func(w *bytes.Buffer, opts WriterOptions) error {
		_, err := WriteManifestFile(w, "seed", entries[:5], opts)
		return err
	})
}

func FuzzReadManifestList(f *testing.F) {
	_, metas, _ := testLayouts[0].rows()
	fuzzRead(f, manifestListType, "manifest-list", func(w *bytes.Buffer, opts WriterOptions) error {
		_, err := WriteManifestList(w, "seed", metas[:5], opts)
		return err
	})
}

func FuzzReadIndexManifest(f *testing.F) {
	_, _, index := testLayouts[0].rows()
	fuzzRead(f, indexManifestType, "index-manifest", func(w *bytes.Buffer, opts WriterOptions) error {
		_, err := WriteIndexManifest(w, "seed", index[:5], opts)
		return err
	})
}

const fuzzFileName = "manifest-fuzz-input"

func fuzzRead[T any](f *testing.F, ft *fileType[T], kind string, sample func(*bytes.Buffer, WriterOptions) error) {
	// Seeds: the real files of this kind, as they are and rewritten without
	// compression (mutations then reach the records), and samples.
	for _, g := range goldenFiles {
		if g.kind() != kind {
			continue
		}
		b, err := os.ReadFile(g.path)
		if err != nil {
			continue
		}
		f.Add(b)
		var buf bytes.Buffer
		if rows, err := readAll(ft, bytes.NewReader(b), g.path); err == nil {
			r, _ := newReader(ft, bytes.NewReader(b), g.path)
			l, _ := r.Layout()
			if _, err := writeAll(ft, &buf, g.path, rows, WriterOptions{Codec: CodecNull, Layout: l}); err == nil {
				f.Add(buf.Bytes())
			}
		}
	}
	for _, codec := range []string{CodecNull, CodecDeflate, CodecSnappy, CodecZstandard} {
		var buf bytes.Buffer
		if err := sample(&buf, WriterOptions{Codec: codec}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("Obj\x01"))

	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := newReader(ft, bytes.NewReader(data), fuzzFileName)
		var rows []T
		if err == nil {
			for v, err2 := range r.All() {
				if err2 != nil {
					err = err2
					break
				}
				rows = append(rows, v)
			}
		}
		runtime.ReadMemStats(&after)
		if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(2*maxBlockSize+64*len(data)); alloc > limit {
			t.Fatalf("reading %d bytes allocated %d bytes", len(data), alloc)
		}
		if err != nil {
			if !strings.Contains(err.Error(), fuzzFileName) {
				t.Fatalf("error does not name the file: %v", err)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error is neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
			return
		}
		l, exact := r.Layout()
		if !exact {
			return
		}
		var buf bytes.Buffer
		if _, err := writeAll(ft, &buf, "again", rows, WriterOptions{Codec: CodecNull, Layout: l}); err != nil {
			t.Fatalf("rows read cannot be written: %v", err)
		}
		again, err := readAll(ft, &buf, "again")
		if err != nil {
			t.Fatalf("rows written cannot be read: %v", err)
		}
		if len(again) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(again, rows)) {
			t.Fatalf("rows changed when written and read again")
		}
	})
}

package manifest

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTripCodecsAndLayouts(t *testing.T) {
	for _, codec := range []string{CodecZstandard, CodecNull, CodecDeflate, CodecSnappy} {
		for _, lc := range testLayouts {
			t.Run(codec+"/"+lc.name, func(t *testing.T) {
				opts := WriterOptions{Codec: codec, Layout: lc.layout}

				entries, metas, index := lc.rows()
				var buf bytes.Buffer
				if _, err := WriteManifestFile(&buf, "m", entries, opts); err != nil {
					t.Fatal(err)
				}
				gotEntries, err := ReadManifestFile(&buf, "m")
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, "manifest", gotEntries, entries)

				buf.Reset()
				if _, err := WriteManifestList(&buf, "l", metas, opts); err != nil {
					t.Fatal(err)
				}
				gotMetas, err := ReadManifestList(&buf, "l")
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, "manifest list", gotMetas, metas)

				buf.Reset()
				if _, err := WriteIndexManifest(&buf, "i", index, opts); err != nil {
					t.Fatal(err)
				}
				r, err := NewIndexManifestReader(bytes.NewReader(buf.Bytes()), "i")
				if err != nil {
					t.Fatal(err)
				}
				if l, exact := r.Layout(); !exact || !reflect.DeepEqual(normalize(l, "index"), normalize(lc.layout, "index")) {
					t.Errorf("layout read back %+v (exact %v), wrote %+v", l, exact, lc.layout)
				}
				gotIndex, err := collect(r)
				if err != nil {
					t.Fatal(err)
				}
				compareRows(t, "index manifest", gotIndex, index)
			})
		}
	}
}

// normalize fills the defaults of the counts relevant to one file kind.
func normalize(l Layout, kind string) Layout {
	switch kind {
	case "index":
		return Layout{NullableRecords: l.NullableRecords, IndexManifestEntryFields: l.indexManifestEntryFields(),
			DeletionVectorMetaFields: l.deletionVectorMetaFields(), GlobalIndexMetaFields: l.globalIndexMetaFields()}
	}
	return l
}

func TestWriterRefusesWhatTheLayoutCannotHold(t *testing.T) {
	entries := sampleEntries(3)
	entries[1].File.WriteColsSequences = []int64{1} // not written by the default layout
	var buf bytes.Buffer
	w, err := NewManifestFileWriter(&buf, "manifest-x", WriterOptions{SyncMarker: &[16]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&entries[0]); err != nil {
		t.Fatal(err)
	}
	err = w.Write(&entries[1])
	if err == nil || !strings.Contains(err.Error(), "_WRITE_COLS_SEQUENCES") || !strings.Contains(err.Error(), "manifest-x") {
		t.Fatalf("Write = %v, want a refusal naming the field and the file", err)
	}
	bad := entries[2]
	bad.Kind = 7
	if err := w.Write(&bad); err == nil || !strings.Contains(err.Error(), "file kind") {
		t.Fatalf("Write(kind 7) = %v", err)
	}
	if err := w.Write(&entries[2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&entries[2]); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	got, err := ReadManifestFile(&buf, "manifest-x")
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, "manifest-x", got, []ManifestEntry{entries[0], entries[2]})

	old := sampleManifestFileMetas(1)
	old[0].MinRowID = i64(1)
	if _, err := WriteManifestList(&buf, "l", old, WriterOptions{Layout: Layout{ManifestFileMetaFields: 10}}); err == nil {
		t.Fatal("a set _MIN_ROW_ID was dropped silently")
	}
}

func TestWriterOptions(t *testing.T) {
	for _, bad := range []WriterOptions{
		{Codec: "bzip2"},
		{Layout: Layout{DataFileMetaFields: 11}},
		{Layout: Layout{DataFileMetaFields: 22}},
		{Layout: Layout{ManifestFileMetaFields: 13}},
		{Layout: Layout{GlobalIndexMetaFields: 2}},
	} {
		if _, err := NewManifestFileWriter(&bytes.Buffer{}, "m", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewManifestFileWriter(&bytes.Buffer{}, "m", WriterOptions{Codec: "bzip2"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown codec: %v", err)
	}
	// "zstd", Paimon's option value, means zstandard.
	var buf bytes.Buffer
	if _, err := WriteManifestList(&buf, "l", sampleManifestFileMetas(2), WriterOptions{Codec: "zstd"}); err != nil {
		t.Fatal(err)
	}
	r, err := NewManifestListReader(&buf, "l")
	if err != nil {
		t.Fatal(err)
	}
	if r.Codec() != CodecZstandard {
		t.Errorf("codec %q", r.Codec())
	}
}

func TestWriterIsDeterministic(t *testing.T) {
	sync := [16]byte{0xde, 0xad, 0xbe, 0xef}
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if _, err := WriteManifestFile(buf, "m", sampleEntries(500), WriterOptions{SyncMarker: &sync}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same rows and sync marker gave different bytes")
	}
}

// TestBlocksSplitLikeAvroJava checks the block boundaries of Avro's
// DataFileWriter: a block is written as soon as it holds 64000 bytes or more.
func TestBlocksSplitLikeAvroJava(t *testing.T) {
	entries := sampleEntries(3000)
	sizes := make([]int, len(entries))
	for i := range entries {
		e := encoder{}
		manifestEntryRecord.encode(&e, &entries[i], &Layout{})
		sizes[i] = len(e.buf)
	}
	var buf bytes.Buffer
	if _, err := WriteManifestFile(&buf, "m", entries, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	_, blocks := containerBlocks(t, buf.Bytes())
	if len(blocks) < 3 {
		t.Fatalf("%d blocks", len(blocks))
	}
	next := 0
	for bi, b := range blocks {
		size := 0
		for i := int64(0); i < b.count; i++ {
			size += sizes[next]
			next++
			last := bi == len(blocks)-1 && i == b.count-1
			if size >= syncInterval && i != b.count-1 && !last {
				t.Fatalf("block %d goes on after reaching %d bytes", bi, size)
			}
		}
		if size != len(b.payload) {
			t.Fatalf("block %d: %d bytes, records sum to %d", bi, len(b.payload), size)
		}
		if bi < len(blocks)-1 && size < syncInterval {
			t.Fatalf("block %d ends at %d bytes", bi, size)
		}
	}
	if next != len(entries) {
		t.Fatalf("%d records in blocks, wrote %d", next, len(entries))
	}
}

package manifest

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// Benchmarks of decoding and encoding manifest entries and manifest list
// rows; they report entries/s (rows per second).
//
//	go test ./manifest -run '^$' -bench . -benchmem

// wideEntries are entries of a 60-column table: value stats dominate.
func wideEntries(n int) []ManifestEntry {
	entries := sampleEntries(n)
	stats := sampleStats(60)
	stats.MinValues = bytes.Repeat([]byte{7}, 8+60*8+400)
	stats.MaxValues = bytes.Repeat([]byte{9}, 8+60*8+400)
	for i := range entries {
		entries[i].File.ValueStats = stats
	}
	return entries
}

func encodeEntries(b testing.TB, entries []ManifestEntry, codec string) []byte {
	var buf bytes.Buffer
	if _, err := WriteManifestFile(&buf, "bench", entries, WriterOptions{Codec: codec}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

var benchShapes = []struct {
	name    string
	entries func(int) []ManifestEntry
}{
	{"narrow", sampleEntries},
	{"wide60", wideEntries},
}

func BenchmarkDecodeManifest(b *testing.B) {
	const n = 10000
	for _, shape := range benchShapes {
		for _, codec := range []string{CodecZstandard, CodecNull} {
			file := encodeEntries(b, shape.entries(n), codec)
			b.Run(fmt.Sprintf("%s/%s", shape.name, codec), func(b *testing.B) {
				b.SetBytes(int64(len(file)))
				b.ReportAllocs()
				for b.Loop() {
					r, err := NewManifestFileReader(bytes.NewReader(file), "bench")
					if err != nil {
						b.Fatal(err)
					}
					count := 0
					for _, err := range r.All() {
						if err != nil {
							b.Fatal(err)
						}
						count++
					}
					if count != n {
						b.Fatalf("%d entries", count)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

func BenchmarkEncodeManifest(b *testing.B) {
	const n = 10000
	for _, shape := range benchShapes {
		entries := shape.entries(n)
		for _, codec := range []string{CodecZstandard, CodecNull} {
			b.Run(fmt.Sprintf("%s/%s", shape.name, codec), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w, err := NewManifestFileWriter(io.Discard, "bench", WriterOptions{Codec: codec})
					if err != nil {
						b.Fatal(err)
					}
					for i := range entries {
						if err := w.Write(&entries[i]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

func BenchmarkDecodeManifestList(b *testing.B) {
	const n = 10000
	var buf bytes.Buffer
	if _, err := WriteManifestList(&buf, "bench", sampleManifestFileMetas(n), WriterOptions{}); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		rows, err := ReadManifestList(bytes.NewReader(file), "bench")
		if err != nil || len(rows) != n {
			b.Fatal(err, len(rows))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func BenchmarkEncodeManifestList(b *testing.B) {
	const n = 10000
	metas := sampleManifestFileMetas(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteManifestList(io.Discard, "bench", metas, WriterOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// hambaEntry is a manifest row for hamba/avro's reflection-based decoder.
type hambaEntry struct {
	Version      int32     `avro:"_VERSION"`
	Kind         int32     `avro:"_KIND"`
	Partition    []byte    `avro:"_PARTITION"`
	Bucket       int32     `avro:"_BUCKET"`
	TotalBuckets int32     `avro:"_TOTAL_BUCKETS"`
	File         hambaFile `avro:"_FILE"`
}

type hambaStats struct {
	Min        []byte   `avro:"_MIN_VALUES"`
	Max        []byte   `avro:"_MAX_VALUES"`
	NullCounts []*int64 `avro:"_NULL_COUNTS"`
}

type hambaFile struct {
	FileName       string     `avro:"_FILE_NAME"`
	FileSize       int64      `avro:"_FILE_SIZE"`
	RowCount       int64      `avro:"_ROW_COUNT"`
	MinKey         []byte     `avro:"_MIN_KEY"`
	MaxKey         []byte     `avro:"_MAX_KEY"`
	KeyStats       hambaStats `avro:"_KEY_STATS"`
	ValueStats     hambaStats `avro:"_VALUE_STATS"`
	MinSeq         int64      `avro:"_MIN_SEQUENCE_NUMBER"`
	MaxSeq         int64      `avro:"_MAX_SEQUENCE_NUMBER"`
	SchemaID       int64      `avro:"_SCHEMA_ID"`
	Level          int32      `avro:"_LEVEL"`
	ExtraFiles     []string   `avro:"_EXTRA_FILES"`
	CreationTime   *time.Time `avro:"_CREATION_TIME"`
	DeleteRowCount *int64     `avro:"_DELETE_ROW_COUNT"`
	EmbeddedIndex  *[]byte    `avro:"_EMBEDDED_FILE_INDEX"`
	FileSource     *int32     `avro:"_FILE_SOURCE"`
	ValueStatsCols *[]string  `avro:"_VALUE_STATS_COLS"`
	ExternalPath   *string    `avro:"_EXTERNAL_PATH"`
	FirstRowID     *int64     `avro:"_FIRST_ROW_ID"`
	WriteCols      *[]string  `avro:"_WRITE_COLS"`
}

// BenchmarkDecodeManifestHamba decodes the same decompressed blocks with
// hamba/avro, generically into maps and by reflection into structs, for
// comparison with this package's compiled decoder (DecodeManifest/*/null).
func BenchmarkDecodeManifestHamba(b *testing.B) {
	const n = 10000
	for _, shape := range benchShapes {
		file := encodeEntries(b, shape.entries(n), CodecNull)
		c, err := newContainerReader(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		schema, err := avro.ParseWithCache(string(c.schema), "", &avro.SchemaCache{})
		if err != nil {
			b.Fatal(err)
		}
		var blocks []block
		for {
			count, data, err := c.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			blocks = append(blocks, block{count, data})
		}
		decode := func(b *testing.B, newValue func() any) {
			b.ReportAllocs()
			for b.Loop() {
				for _, blk := range blocks {
					dec := avro.NewDecoderForSchema(schema, bytes.NewReader(blk.payload))
					for i := int64(0); i < blk.count; i++ {
						if err := dec.Decode(newValue()); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		}
		b.Run(shape.name+"/generic", func(b *testing.B) {
			decode(b, func() any { var v map[string]any; return &v })
		})
		b.Run(shape.name+"/struct", func(b *testing.B) {
			decode(b, func() any { return new(hambaEntry) })
		})
	}
}

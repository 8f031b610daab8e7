package manifest

import (
	"fmt"
	"math"
)

// Rows with every field exercised: nulls, empty and non-empty arrays, empty
// and non-empty bytes, extreme numbers, non-ASCII strings.

func sampleStats(n int) SimpleStats {
	counts := make([]*int64, n)
	for i := range counts {
		if i%3 != 2 {
			counts[i] = i64(int64(i))
		}
	}
	return SimpleStats{
		MinValues:  []byte(fmt.Sprintf("\x00\x00\x00%cmin-%d", byte(n), n)),
		MaxValues:  []byte(fmt.Sprintf("\x00\x00\x00%cmax-\xff%d", byte(n), n)),
		NullCounts: counts,
	}
}

func sampleDataFile(i int) DataFileMeta {
	f := DataFileMeta{
		FileName:          fmt.Sprintf("data-%08d-aaaa-bbbb-cccc-dddddddddddd-%d.parquet", i, i%7),
		FileSize:          int64(1000 + i),
		RowCount:          int64(i * 3),
		MinKey:            []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i), 0, 0, 0, 0, 0, 0, 0},
		MaxKey:            []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i + 1), 0, 0, 0, 0, 0, 0, 0},
		KeyStats:          sampleStats(1),
		ValueStats:        sampleStats(5),
		MinSequenceNumber: int64(i),
		MaxSequenceNumber: math.MaxInt64 - int64(i),
		SchemaID:          int64(i % 3),
		Level:             int32(i % 6),
		ExtraFiles:        []string{},
		CreationTime:      i64(1784241819714 + int64(i)),
		DeleteRowCount:    i64(int64(i % 2)),
		FileSource:        fileSource(FileSource(i % 2)),
	}
	switch i % 4 {
	case 1:
		f.ExtraFiles = []string{"changelog-" + f.FileName, "ünïcødé-✓"}
		f.EmbeddedIndex = []byte{}
		f.ValueStatsCols = []string{}
		f.ExternalPath = str("s3://bucket/external/" + f.FileName)
		f.FirstRowID = i64(math.MinInt64 + int64(i))
		f.WriteCols = []string{"a", "b"}
	case 2:
		f.EmbeddedIndex = []byte("embedded\x00index")
		f.ValueStatsCols = []string{"a", "c", "e"}
		f.ExternalPath = str("")
		f.FirstRowID = i64(int64(i) * 1000)
		f.WriteCols = []string{}
		f.KeyStats.NullCounts = []*int64{}
		f.CreationTime = i64(-1)
	case 3:
		f.FileSource = nil
		f.DeleteRowCount = nil
		f.CreationTime = nil
		f.ValueStats = SimpleStats{MinValues: []byte{}, MaxValues: []byte{}, NullCounts: nil}
	}
	return f
}

func sampleEntries(n int) []ManifestEntry {
	out := make([]ManifestEntry, n)
	for i := range out {
		out[i] = ManifestEntry{
			Kind:         FileKind(i % 2),
			Partition:    []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i % 5), 0, 0, 0, 0, 0, 0, 0},
			Bucket:       int32(i % 4),
			TotalBuckets: 4,
			File:         sampleDataFile(i),
		}
		if i%5 == 4 {
			out[i].Partition = []byte{}
			out[i].Bucket = math.MinInt32
			out[i].TotalBuckets = -1
		}
	}
	return out
}

func sampleManifestFileMetas(n int) []ManifestFileMeta {
	out := make([]ManifestFileMeta, n)
	for i := range out {
		m := ManifestFileMeta{
			FileName:        fmt.Sprintf("manifest-%08d-aaaa-bbbb-cccc-dddddddddddd-%d", i, i),
			FileSize:        int64(2000 + i),
			NumAddedFiles:   int64(i),
			NumDeletedFiles: int64(i / 2),
			PartitionStats:  sampleStats(i % 3),
			SchemaID:        int64(i % 4),
		}
		if i%2 == 0 {
			m.MinBucket, m.MaxBucket = i32(0), i32(math.MaxInt32)
			m.MinLevel, m.MaxLevel = i32(0), i32(5)
		}
		if i%3 == 0 {
			m.MinRowID, m.MaxRowID = i64(0), i64(math.MaxInt64)
		}
		out[i] = m
	}
	return out
}

func sampleIndexEntries(n int) []IndexManifestEntry {
	out := make([]IndexManifestEntry, n)
	for i := range out {
		e := IndexManifestEntry{
			Kind:      FileKind((i + 1) % 2),
			Partition: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			Bucket:    int32(i),
			IndexFile: IndexFileMeta{
				IndexType: IndexTypeDeletionVectors,
				FileName:  fmt.Sprintf("index-%08d-aaaa-bbbb-cccc-dddddddddddd-%d", i, i),
				FileSize:  int64(31 * i),
				RowCount:  int64(i),
			},
		}
		switch i % 3 {
		case 0:
			e.IndexFile.DeletionVectorRanges = []DeletionVectorMeta{
				{DataFileName: "data-1.parquet", Offset: 1, Length: 22, Cardinality: i64(2)},
				{DataFileName: "data-2.parquet", Offset: 23, Length: 24},
			}
		case 1:
			e.IndexFile.DeletionVectorRanges = []DeletionVectorMeta{}
			e.IndexFile.ExternalPath = str("oss://bucket/index/" + e.IndexFile.FileName)
		case 2:
			e.IndexFile.IndexType = "btree"
			e.IndexFile.GlobalIndexMeta = &GlobalIndexMeta{
				RowRangeStart: 0,
				RowRangeEnd:   int64(i),
				IndexFieldID:  int32(i),
				ExtraFieldIDs: []int32{1, -2, math.MaxInt32},
				IndexMeta:     []byte("meta"),
			}
			if i%2 == 0 {
				e.IndexFile.GlobalIndexMeta.ExtraFieldIDs = nil
				e.IndexFile.GlobalIndexMeta.IndexMeta = nil
				e.IndexFile.GlobalIndexMeta.SourceMeta = []byte{}
			}
		}
		out[i] = e
	}
	return out
}

// testLayout is a layout to write with and how to fit the sample rows to it.
type testLayout struct {
	name       string
	layout     Layout
	clearEntry func(*ManifestEntry)
	clearMeta  func(*ManifestFileMeta)
	clearIndex func(*IndexManifestEntry)
}

var testLayouts = []testLayout{
	{name: "paimon2", layout: Layout{}},
	{name: "paimon2+write-cols-sequences", layout: Layout{DataFileMetaFields: 21}},
	{
		name:   "paimon1.1",
		layout: Layout{ManifestFileMetaFields: 10, DataFileMetaFields: 18, IndexManifestEntryFields: 8},
		clearEntry: func(e *ManifestEntry) {
			e.File.FirstRowID, e.File.WriteCols = nil, nil
		},
		clearMeta: func(m *ManifestFileMeta) { m.MinRowID, m.MaxRowID = nil, nil },
		clearIndex: func(e *IndexManifestEntry) {
			e.IndexFile.ExternalPath, e.IndexFile.GlobalIndexMeta = nil, nil
		},
	},
	{
		name: "paimon0.9",
		layout: Layout{NullableRecords: true, ManifestFileMetaFields: 6, DataFileMetaFields: 16,
			IndexManifestEntryFields: 8, DeletionVectorMetaFields: 3},
		clearEntry: func(e *ManifestEntry) {
			f := &e.File
			f.ValueStatsCols, f.ExternalPath, f.FirstRowID, f.WriteCols = nil, nil, nil, nil
		},
		clearMeta: func(m *ManifestFileMeta) {
			m.MinBucket, m.MaxBucket, m.MinLevel, m.MaxLevel, m.MinRowID, m.MaxRowID = nil, nil, nil, nil, nil, nil
		},
		clearIndex: func(e *IndexManifestEntry) {
			e.IndexFile.ExternalPath, e.IndexFile.GlobalIndexMeta = nil, nil
			for i := range e.IndexFile.DeletionVectorRanges {
				e.IndexFile.DeletionVectorRanges[i].Cardinality = nil
			}
		},
	},
}

// rows returns sample rows the layout can hold.
func (lc testLayout) rows() ([]ManifestEntry, []ManifestFileMeta, []IndexManifestEntry) {
	entries := sampleEntries(200)
	for i := range entries {
		if lc.clearEntry != nil {
			lc.clearEntry(&entries[i])
		}
		if lc.layout.DataFileMetaFields == 21 {
			entries[i].File.WriteColsSequences = []int64{int64(i), -1}
			if i%3 == 0 {
				entries[i].File.WriteColsSequences = []int64{}
			}
		}
	}
	metas := sampleManifestFileMetas(50)
	for i := range metas {
		if lc.clearMeta != nil {
			lc.clearMeta(&metas[i])
		}
	}
	index := sampleIndexEntries(30)
	for i := range index {
		if lc.clearIndex != nil {
			lc.clearIndex(&index[i])
		}
	}
	return entries, metas, index
}

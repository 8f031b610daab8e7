package table

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tarnlake/tarn/manifest"
)

// appendFile is a data file of sequence numbers minSeq..maxSeq whose size is its row
// count, as BucketedAppendCompactManagerTest's newFile.
func appendFile(minSeq, maxSeq int64) manifest.DataFileMeta {
	return manifest.DataFileMeta{FileName: fmt.Sprintf("f-%d", minSeq), FileSize: maxSeq - minSeq + 1, MinSequenceNumber: minSeq, MaxSequenceNumber: maxSeq}
}

func fileNames(files []manifest.DataFileMeta) []string {
	out := []string{}
	for _, f := range files {
		out = append(out, f.FileName)
	}
	return out
}

// The files a fixed-bucket append-only compaction rewrites are Paimon's
// (paimon-core append/BucketedAppendCompactManager.java). The best-effort cases are
// BucketedAppendCompactManagerTest.testPickEmptyAndRelease's (min file num 4, target
// 1024): nothing is picked until a window of four files stays under twice the target.
func TestPickBucketedAppend(t *testing.T) {
	f := appendFile
	tests := []struct {
		name  string
		files []manifest.DataFileMeta
		full  bool
		dvs   bool
		hasDV []string
		want  []string
	}{
		{name: "one small file", files: []manifest.DataFileMeta{f(1, 50)}},
		{name: "large file", files: []manifest.DataFileMeta{f(1, 2048)}},
		{name: "two large files", files: []manifest.DataFileMeta{f(1, 2048), f(2049, 4096), f(4097, 5000)}},
		{name: "wait for more files", files: []manifest.DataFileMeta{f(1, 500), f(501, 1000), f(1001, 2048)}},
		{name: "window of four", files: []manifest.DataFileMeta{f(1, 100), f(101, 200), f(201, 300), f(301, 400), f(401, 500)},
			want: []string{"f-1", "f-101", "f-201", "f-301"}},
		{name: "the window slides past large files", files: []manifest.DataFileMeta{f(1, 2048), f(2049, 2100), f(2101, 2110), f(2111, 2120), f(2121, 2130)},
			want: []string{"f-2049", "f-2101", "f-2111", "f-2121"}},
		{name: "a large file inside a window under twice the target", files: []manifest.DataFileMeta{f(1, 900), f(901, 910), f(911, 920), f(921, 930)},
			want: []string{"f-1", "f-901", "f-911", "f-921"}},
		// Full compaction (FullCompactTask).
		{name: "full: fewer than three files", full: true, files: []manifest.DataFileMeta{f(1, 10), f(11, 20)}},
		{name: "full: leading large files skipped", full: true, files: []manifest.DataFileMeta{f(1, 2048), f(2049, 2060), f(2061, 2070), f(2071, 2080)},
			want: []string{"f-2049", "f-2061", "f-2071"}},
		{name: "full: large files inside are rewritten", full: true, files: []manifest.DataFileMeta{f(1, 10), f(11, 2048), f(2049, 2060), f(2061, 2070)},
			want: []string{"f-1", "f-11", "f-2049", "f-2061"}},
		{name: "full: as many large as small files", full: true, files: []manifest.DataFileMeta{f(1, 10), f(11, 2048), f(2049, 2060), f(2061, 4096)}},
		{name: "full: deletion vectors, one file", full: true, dvs: true, files: []manifest.DataFileMeta{f(1, 10)}, want: []string{"f-1"}},
		{name: "full: deletion vectors, leading large file with a vector", full: true, dvs: true, hasDV: []string{"f-1"},
			files: []manifest.DataFileMeta{f(1, 2048), f(2049, 4096)}, want: []string{"f-1", "f-2049"}},
		{name: "full: deletion vectors, leading large files without", full: true, dvs: true,
			files: []manifest.DataFileMeta{f(1, 2048), f(2049, 4096)}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fileNames(pickBucketedAppend(tt.files, tt.full, 4, 1024, tt.dvs, func(name string) bool { return slices.Contains(tt.hasDV, name) }))
			if tt.want == nil {
				tt.want = []string{}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("picked %v, want %v", got, tt.want)
			}
		})
	}
}

// An unaware-bucket append table's compaction takes what Paimon's
// AppendCompactCoordinator packs (min file num 4, target 1024, so small files are those
// under 716 bytes): bins of small files, smallest first, that close at two files and
// 2048 bytes, and a last bin of at least four files.
func TestPickUnawareAppend(t *testing.T) {
	sized := func(sizes ...int64) []manifest.DataFileMeta {
		var out []manifest.DataFileMeta
		for i, s := range sizes {
			out = append(out, manifest.DataFileMeta{FileName: fmt.Sprintf("f%d", i), FileSize: s, RowCount: 1000, MinSequenceNumber: int64(i)})
		}
		return out
	}
	tests := []struct {
		name     string
		files    []manifest.DataFileMeta
		full     bool
		openCost int64
		dvs      map[string]DeletionFile // deletion vectors enabled when not nil
		want     []string
	}{
		{name: "too few small files", files: sized(10, 20, 30)},
		{name: "enough small files", files: sized(10, 20, 30, 40), want: []string{"f0", "f1", "f2", "f3"}},
		{name: "large files stay", files: sized(10, 2000, 20, 716, 30, 40), want: []string{"f0", "f2", "f4", "f5"}},
		{name: "a full bin, the rest too few", files: sized(700, 700, 700, 700, 700), want: []string{"f0", "f1", "f2"}},
		{name: "the open file cost fills bins", files: sized(10, 10, 10), openCost: 1024, want: []string{"f0", "f1"}},
		{name: "full: every small file", full: true, files: sized(10, 2000, 20), want: []string{"f0", "f2"}},
		{name: "full: one small file", full: true, files: sized(10, 2000)},
		// With deletion vectors (packInDeletionVectorVMode; compaction.delete-ratio-threshold 0.2).
		{name: "vectors: a small file with one is rewritten alone", files: sized(10, 2000), dvs: deleted("f0", 1), want: []string{"f0"}},
		{name: "vectors: a large file with too many rows deleted", files: sized(2000, 10), dvs: deleted("f0", 201), want: []string{"f0"}},
		{name: "vectors: a large file with few rows deleted", files: sized(2000, 10), dvs: deleted("f0", 200)},
		{name: "vectors: an unknown share deleted counts as too many", files: sized(2000, 10), dvs: map[string]DeletionFile{"f0": {}}, want: []string{"f0"}},
		{name: "vectors: the files without one pack as without vectors", files: sized(10, 20, 30, 40, 50), dvs: deleted("f0", 1),
			want: []string{"f0", "f1", "f2", "f3", "f4"}},
		{name: "vectors: too few files without one", files: sized(10, 20, 30, 40), dvs: deleted("f0", 1), want: []string{"f0"}},
		{name: "vectors: none", files: sized(10, 20, 30, 40), dvs: map[string]DeletionFile{}, want: []string{"f0", "f1", "f2", "f3"}},
		{name: "vectors, full: every small file and every file with too many rows deleted", full: true, files: sized(10, 2000, 20, 2000),
			dvs: deleted("f1", 300), want: []string{"f1", "f0", "f2"}},
		{name: "vectors, full: a large file with too many rows deleted alone", full: true, files: sized(2000, 2000), dvs: deleted("f1", 300), want: []string{"f1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fileNames(pickUnawareAppend(tt.files, tt.full, 4, 1024, tt.openCost, tt.dvs != nil, tt.dvs, 0.2))
			if tt.want == nil {
				tt.want = []string{}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("picked %v, want %v", got, tt.want)
			}
		})
	}
}

// deleted is one file's deletion vector deleting rows of its 1000.
func deleted(file string, rows int64) map[string]DeletionFile {
	return map[string]DeletionFile{file: {Path: "index-0", Cardinality: &rows}}
}

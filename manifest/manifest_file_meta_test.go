package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestNewManifestFileMetaMatchesPaimon recomputes every manifest list row of
// the real files from the entries of the manifest it names.
func TestNewManifestFileMetaMatchesPaimon(t *testing.T) {
	checked := 0
	for _, g := range goldenFiles {
		if g.kind() != "manifest-list" {
			continue
		}
		dir := filepath.Dir(g.path)
		for _, want := range g.list {
			b, err := os.ReadFile(filepath.Join(dir, want.FileName))
			if os.IsNotExist(err) {
				continue // the test data keeps only some manifests
			}
			if err != nil {
				t.Fatal(err)
			}
			entries, err := ReadManifestFile(bytes.NewReader(b), want.FileName)
			if err != nil {
				t.Fatal(err)
			}
			got := NewManifestFileMeta(want.FileName, int64(len(b)), entries, want.PartitionStats, -1)
			if want.MinBucket == nil { // written before Paimon 1.1
				got.MinBucket, got.MaxBucket, got.MinLevel, got.MaxLevel = nil, nil, nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %s\nwant %s", want.FileName, dump(got), dump(want))
			}
			checked++
		}
	}
	if checked < 10 {
		t.Skipf("only %d manifests found", checked)
	}
	t.Logf("%d manifest list rows recomputed", checked)
}

func TestNewManifestFileMetaRowIDs(t *testing.T) {
	entries := sampleEntries(3)
	for i := range entries {
		entries[i].File.FirstRowID = i64(int64(100 * i))
		entries[i].File.RowCount = 10
	}
	m := NewManifestFileMeta("m", 1, entries, SimpleStats{}, 0)
	if *m.MinRowID != 0 || *m.MaxRowID != 209 {
		t.Fatalf("row ids %d..%d", *m.MinRowID, *m.MaxRowID)
	}
	entries[1].File.FirstRowID = nil
	if m := NewManifestFileMeta("m", 1, entries, SimpleStats{}, 0); m.MinRowID != nil || m.MaxRowID != nil {
		t.Fatal("row id range despite a file without row ids")
	}
	if m := NewManifestFileMeta("m", 1, nil, SimpleStats{}, 7); m.SchemaID != 7 || m.MinBucket != nil {
		t.Fatalf("empty: %s", dump(m))
	}
}

package table

import (
	"context"
	"slices"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/manifest"
)

// foldNewFiles makes a writer's message a compaction's, as Paimon's BucketFiles does: new
// files become output; a new file the writer's own compaction rewrote is dropped from both
// sides and removed; one it upgraded to a higher level stays once, as upgraded.
func TestFoldNewFiles(t *testing.T) {
	ctx := context.Background()
	fio := fileio.NewMemory()
	tbl := &Table{fio: fio, path: "mem://t"}
	meta := func(name string, level int32) manifest.DataFileMeta {
		return manifest.DataFileMeta{FileName: name, Level: level}
	}
	for _, name := range []string{"new-kept", "new-rewritten", "new-upgraded", "old", "out"} {
		if err := fio.WriteFile(ctx, "mem://t/b/"+name, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	m := CommitMessage{
		NewFiles:      []manifest.DataFileMeta{meta("new-kept", 0), meta("new-rewritten", 0), meta("new-upgraded", 0)},
		CompactBefore: []manifest.DataFileMeta{meta("new-rewritten", 0), meta("new-upgraded", 0), meta("old", 3)},
		CompactAfter:  []manifest.DataFileMeta{meta("new-upgraded", 5), meta("out", 5)},
		// The compaction increment's changelog and deletion vectors join the message.
		CompactChangelogFiles:    []manifest.DataFileMeta{meta("changelog-1", 0)},
		CompactNewIndexFiles:     []manifest.IndexFileMeta{{FileName: "index-new"}},
		CompactDeletedIndexFiles: []manifest.IndexFileMeta{{FileName: "index-old"}},
	}
	tbl.foldNewFiles(ctx, &m, "mem://t/b")
	names := func(fs []manifest.DataFileMeta) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.FileName)
		}
		return out
	}
	if got, want := names(m.CompactBefore), []string{"old"}; !slices.Equal(got, want) {
		t.Errorf("compact before %v, want %v", got, want)
	}
	if got, want := names(m.CompactAfter), []string{"new-kept", "new-upgraded", "out"}; !slices.Equal(got, want) {
		t.Errorf("compact after %v, want %v", got, want)
	}
	if len(m.ChangelogFiles) != 1 || len(m.NewIndexFiles) != 1 || len(m.DeletedIndexFiles) != 1 || len(m.CompactChangelogFiles)+len(m.CompactNewIndexFiles)+len(m.CompactDeletedIndexFiles) != 0 {
		t.Errorf("changelog and index files not moved into one increment: %+v", m)
	}
	if m.CompactAfter[1].Level != 5 || len(m.NewFiles) != 0 {
		t.Errorf("upgraded file at level %d, new files %v", m.CompactAfter[1].Level, m.NewFiles)
	}
	for name, want := range map[string]bool{"new-kept": true, "new-rewritten": false, "new-upgraded": true, "old": true, "out": true} {
		_, err := fio.Stat(ctx, "mem://t/b/"+name)
		if exists := err == nil; exists != want {
			t.Errorf("file %s exists: %v, want %v", name, exists, want)
		}
	}
}

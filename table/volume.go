package table

import (
	"context"
	"fmt"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/manifest"
)

// CompactionVolume is what the compactions of a table's retained snapshots read and
// wrote: its write amplification. Files a compaction only moved to another level (Paimon's
// upgrade: deleted and added under the same name) were not rewritten and do not count.
type CompactionVolume struct {
	Compactions  int   `json:"compactions"`   // COMPACT snapshots
	InputFiles   int   `json:"input_files"`   // data files rewritten
	OutputFiles  int   `json:"output_files"`  // data files written
	InputRows    int64 `json:"input_rows"`    // rows of the files rewritten
	OutputRows   int64 `json:"output_rows"`   // rows written
	InputBytes   int64 `json:"input_bytes"`   // sizes of the files rewritten
	OutputBytes  int64 `json:"output_bytes"`  // sizes of the files written
	AppendedRows int64 `json:"appended_rows"` // rows the APPEND snapshots added (their delta record counts)
}

// RewrittenPerAppended is the rows compactions read per row appended: the write
// amplification of compaction (0 when nothing was appended).
func (v CompactionVolume) RewrittenPerAppended() float64 {
	if v.AppendedRows == 0 {
		return 0
	}
	return float64(v.InputRows) / float64(v.AppendedRows)
}

// CompactionVolume reads the delta manifests of the retained COMPACT snapshots.
func (t *Table) CompactionVolume(ctx context.Context) (CompactionVolume, error) {
	var v CompactionVolume
	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return v, err
	}
	for _, s := range snaps {
		if s.CommitKind == format.CommitAppend && s.DeltaRecordCount != nil {
			v.AppendedRows += *s.DeltaRecordCount
		}
		if s.CommitKind != format.CommitCompact {
			continue
		}
		entries, err := t.readManifestListEntries(ctx, s.DeltaManifestList)
		if err != nil {
			return v, fmt.Errorf("compaction volume: snapshot %d: %w", s.ID, err)
		}
		v.Compactions++
		added := map[string]bool{}
		for i := range entries {
			if entries[i].Kind == manifest.FileKindAdd {
				added[entries[i].File.FileName] = true
			}
		}
		deleted := map[string]bool{}
		for i := range entries {
			e := &entries[i]
			if e.Kind == manifest.FileKindDelete {
				deleted[e.File.FileName] = true
				if !added[e.File.FileName] {
					v.InputFiles++
					v.InputRows += e.File.RowCount
					v.InputBytes += e.File.FileSize
				}
			}
		}
		for i := range entries {
			e := &entries[i]
			if e.Kind == manifest.FileKindAdd && !deleted[e.File.FileName] {
				v.OutputFiles++
				v.OutputRows += e.File.RowCount
				v.OutputBytes += e.File.FileSize
			}
		}
	}
	return v, nil
}

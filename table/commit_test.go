package table_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tarnlake/tarn/table"
)

// TestCommitBuildsOnOtherHandles alternates commits between two handles of one table.
// A handle remembers the snapshot and manifest lists it committed last and builds on
// them without reading them back; each commit must still build on the other handle's
// newer snapshot, so that no commit loses the rows of another.
func TestCommitBuildsOnOtherHandles(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			a := lcCreatePK(t, fio, wh, nil)
			b, err := table.Open(ctx, fio, a.Path())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 6 {
				h := []*table.Table{a, a, b, a, b, b}[i]
				row := fmt.Sprintf(`{"id":%d,"v":"r%d","dt":"x"}`, i, i)
				if id := lcWrite(t, h, "["+row+"]", false, false); id != int64(i+1) {
					t.Fatalf("commit %d made snapshot %d", i, id)
				}
				want = append(want, fmt.Sprintf("%d", i))
				for _, r := range []*table.Table{a, b} {
					latest, err := r.LatestSnapshot(ctx)
					if err != nil || latest == nil || latest.ID != int64(i+1) {
						t.Fatalf("after commit %d the latest snapshot is %+v, %v", i, latest, err)
					}
					got := lcScan(t, r, table.ScanOptions{})
					for _, id := range want {
						if !strings.Contains(got, `"id":`+id+`,`) {
							t.Fatalf("after commit %d the table lacks id %s:\n%s", i, id, got)
						}
					}
				}
			}
		})
	}
}

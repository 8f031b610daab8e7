package logsystem_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tarnlake/tarn/logsystem"
	"github.com/tarnlake/tarn/table"
)

// BenchmarkCommitToVisible measures how long after a commit starts its rows reach a tail:
// the hybrid tail on the log (transactional mode: rows are visible once the snapshot and
// the Kafka transaction commit), and for comparison the file-based tail (table.Follow,
// polling every 100ms; commits made in the same process, as here, wake it at once). Each commit
// writes 10 rows. Set TARN_BENCH_KAFKA=1 to run against the real broker.
func BenchmarkCommitToVisible(b *testing.B) {
	for _, mode := range []string{"log-tail", "file-tail"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			tbl := newTable(b, "k INT NOT NULL, n BIGINT", "k", map[string]string{"bucket": "2"})
			w := openWriter(b, tbl, broker)
			defer w.close()
			w.write(b, `{"k":0,"n":-1}`)
			first := w.commit(b)
			var mu sync.Mutex
			started := map[int64]time.Time{}
			var lat []time.Duration
			got := make(chan int64, 1024)
			tctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var next func(context.Context) (*array.Int64, func(), error)
			if mode == "log-tail" {
				tl, err := logsystem.NewTail(ctx, tbl, broker, logsystem.TailOptions{Snapshot: first, PollInterval: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				defer tl.Close()
				next = func(ctx context.Context) (*array.Int64, func(), error) {
					tb, err := tl.Next(ctx)
					if err != nil || tb.Record == nil {
						return nil, func() {}, err
					}
					return tb.Record.Column(1).(*array.Int64), tb.Record.Release, nil
				}
			} else {
				f, err := tbl.Follow(ctx, table.FollowOptions{Start: table.StartFull, SnapshotID: first, PollInterval: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				next = func(ctx context.Context) (*array.Int64, func(), error) {
					fb, err := f.Next(ctx)
					if err != nil || fb.Record == nil {
						return nil, func() {}, err
					}
					return fb.Record.Column(1).(*array.Int64), fb.Record.Release, nil
				}
			}
			go func() {
				for {
					col, release, err := next(tctx)
					if err != nil {
						close(got)
						return
					}
					if col != nil {
						now := time.Now()
						seen := map[int64]bool{}
						for i := 0; i < col.Len(); i++ {
							n := col.Value(i)
							if n >= 0 && !seen[n] {
								seen[n] = true
								mu.Lock()
								lat = append(lat, now.Sub(started[n]))
								mu.Unlock()
								got <- n
							}
						}
					}
					release()
				}
			}()
			n := int64(0)
			for b.Loop() {
				var rows []string
				for k := 0; k < 10; k++ {
					rows = append(rows, fmt.Sprintf(`{"k":%d,"n":%d}`, int(n)*10+k, n))
				}
				w.write(b, rowsJSON(rows))
				mu.Lock()
				started[n] = time.Now()
				mu.Unlock()
				w.commit(b)
				select {
				case <-got:
				case <-time.After(30 * time.Second):
					b.Fatalf("commit %d not visible after 30s", n)
				}
				n++
			}
			cancel()
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func rowsJSON(rows []string) string {
	s := ""
	for _, r := range rows {
		s += r + "\n"
	}
	return s
}

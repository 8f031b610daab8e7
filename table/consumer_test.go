package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

func TestConsumers(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			ctx := context.Background()
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, nil)
			lcHistory(t, tbl)
			steps := []struct {
				name     string
				id       string
				next     int64
				wantSnap int64 // 0: nil
				wantErr  string
			}{
				{"an existing snapshot", "a", 3, 3, ""},
				{"the next snapshot", "b", 9, 0, ""},
				{"moving on", "a", 4, 4, ""},
				{"bad id", "x/y", 3, 0, "consumer id"},
				{"bad snapshot", "c", 0, 0, "at least 1"},
			}
			for _, s := range steps {
				snap, err := tbl.RegisterConsumer(ctx, s.id, s.next)
				switch {
				case s.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), s.wantErr) {
						t.Fatalf("%s: error %v, want %q", s.name, err, s.wantErr)
					}
				case err != nil:
					t.Fatalf("%s: %v", s.name, err)
				case s.wantSnap == 0 && snap != nil, s.wantSnap != 0 && (snap == nil || snap.ID != s.wantSnap):
					t.Fatalf("%s: snapshot %+v", s.name, snap)
				}
			}
			data, err := fio.ReadFile(ctx, tbl.Join("consumer", "consumer-a"))
			if err != nil || string(data) != "{\n  \"nextSnapshot\" : 4\n}" {
				t.Fatalf("consumer file %q %v", data, err)
			}
			cs, err := tbl.Consumers(ctx)
			if err != nil || len(cs) != 2 || cs[0].ID != "a" || cs[0].NextSnapshot != 4 || cs[1].ID != "b" || cs[1].NextSnapshot != 9 {
				t.Fatalf("consumers %+v %v", cs, err)
			}
			// Expiry keeps every snapshot from the smallest nextSnapshot on.
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, Now: lcFuture}); err != nil {
				t.Fatal(err)
			}
			if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, lcRange(4, 8)) {
				t.Fatalf("snapshots %v", got)
			}
			// An expired snapshot cannot be registered, and the consumer stays as it was.
			if _, err := tbl.RegisterConsumer(ctx, "a", 2); !errors.Is(err, table.ErrNotFound) {
				t.Fatalf("register an expired snapshot: %v", err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "new", 2); !errors.Is(err, table.ErrNotFound) {
				t.Fatalf("register an expired snapshot: %v", err)
			}
			// While an expiry announces (EARLIEST) that it deletes snapshots before 7, they
			// cannot be registered either.
			if err := fio.WriteFile(ctx, tbl.Join("snapshot", "EARLIEST"), []byte("7")); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "late", 5); !errors.Is(err, table.ErrNotFound) || !strings.Contains(err.Error(), "being expired") {
				t.Fatalf("register a snapshot being expired: %v", err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "late", 7); err != nil {
				t.Fatal(err)
			}
			// An expiry with nothing to do repairs a hint an interrupted expiry left.
			if _, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 8}); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.RegisterConsumer(ctx, "late", 5); err != nil {
				t.Fatal(err)
			}
			cs, _ = tbl.Consumers(ctx)
			if fmt.Sprintf("%s %d %d", cs[0].ID, cs[0].NextSnapshot, len(cs)) != "a 4 3" {
				t.Fatalf("consumers after refusals: %+v", cs)
			}
			if err := tbl.DeleteConsumer(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			if err := tbl.DeleteConsumer(ctx, "b"); !errors.Is(err, table.ErrNotFound) {
				t.Fatalf("delete a missing consumer: %v", err)
			}
			// Consumers not updated for consumer.expiration-time are deleted, first thing in
			// an expiry, and stop holding snapshots back.
			// Generous margins: a loaded machine may take long between the steps.
			time.Sleep(2 * time.Second)
			if _, err := tbl.RegisterConsumer(ctx, "late", 8); err != nil {
				t.Fatal(err)
			}
			res, err := tbl.ExpireSnapshots(ctx, table.ExpireOptions{RetainMin: 1, TimeRetained: time.Nanosecond, ConsumerExpiration: 1500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res.ExpiredConsumers) != "[a]" {
				t.Fatalf("expired consumers %v", res.ExpiredConsumers)
			}
			cs, _ = tbl.Consumers(ctx)
			if len(cs) != 1 || cs[0].ID != "late" {
				t.Fatalf("consumers after expiration: %+v", cs)
			}
			if got := lcSnapshotIDs(t, tbl); !lcEqualIDs(got, []int64{8}) {
				t.Fatalf("snapshots %v", got)
			}
			lcAssertExact(t, tbl)
		})
	}
}

func TestExpireConsumers(t *testing.T) {
	ctx := context.Background()
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			fio, wh := env.open(t)
			tbl := lcCreatePK(t, fio, wh, map[string]string{"consumer.expiration-time": "500 ms"})
			lcHistory(t, tbl)
			if _, err := tbl.RegisterConsumer(ctx, "old", 2); err != nil {
				t.Fatal(err)
			}
			// More than a second apart: object stores may keep modification times in
			// whole seconds.
			time.Sleep(1100 * time.Millisecond)
			if _, err := tbl.RegisterConsumer(ctx, "young", 5); err != nil {
				t.Fatal(err)
			}
			// "Now" is just after young was written, however long this machine takes.
			var now time.Time
			before, err := tbl.Consumers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range before {
				if c.ID == "young" {
					now = c.ModTime.Add(100 * time.Millisecond)
				}
			}
			tests := []struct {
				expiration time.Duration
				want       string
			}{
				{time.Hour, "[]"},
				{0, "[old]"}, // the table's consumer.expiration-time
			}
			for _, tt := range tests {
				got, err := tbl.ExpireConsumers(ctx, now, tt.expiration)
				if err != nil || fmt.Sprint(got) != tt.want {
					t.Fatalf("ExpireConsumers(%s) = %v %v, want %s", tt.expiration, got, err, tt.want)
				}
			}
			cs, _ := tbl.Consumers(ctx)
			if len(cs) != 1 || cs[0].ID != "young" {
				t.Fatalf("consumers %+v", cs)
			}
		})
	}
}

// commitOnMiss is storage that commits a snapshot the moment a reader misses it: the
// reader's next look finds it committed.
type commitOnMiss struct {
	fileio.FileIO
	path   string
	commit func()
}

func (c *commitOnMiss) ReadFile(ctx context.Context, p string) ([]byte, error) {
	data, err := c.FileIO.ReadFile(ctx, p)
	if errors.Is(err, fileio.ErrNotExist) && p == c.path && c.commit != nil {
		commit := c.commit
		c.commit = nil
		commit()
	}
	return data, err
}

// TestRegisterConsumerRacingCommit registers a consumer at the next snapshot while that
// snapshot is committed: the consumer holds the new snapshot rather than calling it
// expired (a tail moving to the next snapshot does exactly this).
func TestRegisterConsumerRacingCommit(t *testing.T) {
	for _, env := range lcEnvs {
		t.Run(env.name, func(t *testing.T) {
			fio, wh := env.open(t)
			hook := &commitOnMiss{FileIO: fio}
			tbl := lcCreatePK(t, hook, wh, nil)
			lcHistory(t, tbl)
			hook.path = tbl.Join("snapshot", "snapshot-9")
			hook.commit = func() { lcWrite(t, tbl, `[{"id":10,"v":"j","dt":"x"}]`, false, false) }
			snap, err := tbl.RegisterConsumer(context.Background(), "tail", 9)
			if err != nil {
				t.Fatal(err)
			}
			if hook.commit != nil {
				t.Fatal("the commit did not race the registration")
			}
			if snap == nil || snap.ID != 9 {
				t.Fatalf("registered snapshot %+v, want 9", snap)
			}
		})
	}
}
